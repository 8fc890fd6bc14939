//! ipam-core's `Pool` behind the bench interface.

use std::net::Ipv4Addr;

use ipam_core::{Policy, Pool};
use ipnet::Ipv4Net;

use crate::{Allocator, BlockAllocator, Dataset};

/// `ipam_core::Pool` with the policy `P` (0 first fit, 1 best fit, 2 round robin).
pub struct Ours<const P: u8 = 0> {
    /// The pool.
    pub pool: Pool,
    base: u32,
}

/// First fit, the default.
pub type OursFirstFit = Ours<0>;
/// Best fit.
pub type OursBestFit = Ours<1>;
/// Round robin.
pub type OursRoundRobin = Ours<2>;

impl<const P: u8> Ours<P> {
    fn policy() -> Policy {
        match P {
            0 => Policy::FirstFit,
            1 => Policy::BestFit,
            _ => Policy::RoundRobin,
        }
    }

    /// The pool's network for a dataset.
    pub fn network(data: &Dataset) -> Ipv4Net {
        Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), (32 - data.order) as u8).expect("order <= 32")
    }

    fn addr(&self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.base + offset)
    }
}

impl<const P: u8> Allocator for Ours<P> {
    const NAME: &'static str = match P {
        0 => "ours",
        1 => "ours_best_fit",
        _ => "ours_round_robin",
    };

    fn build(data: &Dataset) -> Self {
        let net = Self::network(data);
        let base = net.network().to_bits();
        // Datasets are offsets; the pool speaks addresses. Shift run by run: datasets are dense.
        let mut used = roaring::RoaringBitmap::new();
        let mut runs = data.used.iter();
        while let Some(run) = runs.next_range() {
            used.insert_range(base + run.start()..=base + run.end());
        }
        let pool = Pool::builder(net).policy(Self::policy()).allocated(&used).build().expect("dataset fits");
        Ours { pool, base }
    }

    #[inline]
    fn allocate(&mut self) -> Option<u32> {
        self.pool.allocate().ok().map(|addr| addr.to_bits() - self.base)
    }

    #[inline]
    fn allocate_specific(&mut self, offset: u32) -> bool {
        self.pool.allocate_specific(self.addr(offset)).is_ok()
    }

    #[inline]
    fn release(&mut self, offset: u32) -> bool {
        self.pool.release(self.addr(offset)).is_ok()
    }

    fn heap_bytes(&self) -> usize {
        self.pool.heap_bytes()
    }
}

impl<const P: u8> BlockAllocator for Ours<P> {
    #[inline]
    fn allocate_block(&mut self, order: u32) -> Option<u32> {
        let block = self.pool.allocate_block((32 - order) as u8).ok()?;
        Some(block.network().to_bits() - self.base)
    }

    #[inline]
    fn release_block(&mut self, start: u32, order: u32) {
        let net = Ipv4Net::new(self.addr(start), (32 - order) as u8).expect("order <= 32");
        self.pool.release_block(net).expect("block was allocated");
    }
}
