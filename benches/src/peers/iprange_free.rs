//! The `iprange` crate's `IpRange<Ipv4Net>` (a prefix trie of networks) as the free set: a block of
//! length `p` is cut from the first free network (in address order) of length `<= p`, and given back
//! by adding it (the trie merges buddies). How prefix-set libraries hand out subnets.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use iprange::IpRange;

use crate::{Allocator, BlockAllocator, Dataset};

/// The free space as a trie of networks.
pub struct IpRangeFree {
    free: IpRange<Ipv4Net>,
    order: u32,
}

impl IpRangeFree {
    fn net(start: u32, order: u32) -> Ipv4Net {
        Ipv4Net::new(Ipv4Addr::from_bits(start), (32 - order) as u8).expect("order <= 32")
    }
}

impl Allocator for IpRangeFree {
    const NAME: &'static str = "iprange";

    fn build(data: &Dataset) -> Self {
        let mut free = IpRange::new();
        let mut pos = 0u64;
        let size = 1u64 << data.order;
        let mut used = data.used.iter().map(u64::from).chain(std::iter::once(size));
        // Add the free runs as their minimal CIDR cover.
        while pos < size {
            let next_used = used.by_ref().find(|&u| u >= pos).unwrap_or(size);
            while pos < next_used {
                let order = pos.trailing_zeros().min(data.order).min((next_used - pos).ilog2());
                free.add(IpRangeFree::net(pos as u32, order));
                pos += 1 << order;
            }
            pos = next_used + 1;
        }
        IpRangeFree { free, order: data.order }
    }

    fn allocate(&mut self) -> Option<u32> {
        self.allocate_block(0)
    }

    fn allocate_specific(&mut self, offset: u32) -> bool {
        let net = IpRangeFree::net(offset, 0);
        let free = self.free.contains(&net);
        if free {
            self.free.remove(net);
        }
        free
    }

    fn release(&mut self, offset: u32) -> bool {
        let net = IpRangeFree::net(offset, 0);
        if u64::from(offset) >= 1u64 << self.order || self.free.contains(&net) {
            return false;
        }
        self.free.add(net);
        true
    }

    fn heap_bytes(&self) -> usize {
        // The trie does not report its size; count one 24-byte node per network as a floor.
        self.free.iter().count() * 24
    }
}

impl BlockAllocator for IpRangeFree {
    fn allocate_block(&mut self, order: u32) -> Option<u32> {
        let prefix_len = (32 - order) as u8;
        let holder = self.free.iter().find(|net| net.prefix_len() <= prefix_len)?;
        let block = Ipv4Net::new(holder.network(), prefix_len).expect("valid");
        self.free.remove(block);
        debug_assert!(order <= self.order);
        Some(block.network().to_bits())
    }

    fn release_block(&mut self, start: u32, order: u32) {
        self.free.add(IpRangeFree::net(start, order));
    }
}
