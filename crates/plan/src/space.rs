//! The base block as an `ipam_core::Pool`: every segment is placed by the allocator, which is
//! what guarantees that no two segments overlap.

use ipam_core::{Policy, Pool};
use ipnet::Ipv4Net;

use crate::Error;

/// Free space in a block, and who holds each placed block (for error messages).
pub(crate) struct Space {
    pool: Pool,
    held: Vec<(Ipv4Net, String)>,
}

impl Space {
    pub(crate) fn new(net: Ipv4Net) -> Result<Space, Error> {
        // Every address of the base is placeable: reservations belong to the segments.
        let pool = Pool::builder(net).reserve_network_broadcast(false).policy(Policy::FirstFit).build()?;
        Ok(Space { pool, held: Vec::new() })
    }

    /// Takes exactly `block` for `owner`.
    pub(crate) fn claim(&mut self, owner: &str, block: Ipv4Net) -> Result<(), Error> {
        let base = self.pool.network();
        if !base.contains(&block) {
            return Err(Error::OutsideBase { segment: owner.to_owned(), prefix: block, base });
        }
        match self.pool.allocate_block_specific(block) {
            Ok(()) => {
                self.held.push((block, owner.to_owned()));
                Ok(())
            }
            Err(ipam_core::Error::AlreadyAllocated { .. }) => {
                let (held, holder) = self
                    .held
                    .iter()
                    .find(|(net, _)| net.contains(&block) || block.contains(net))
                    .cloned()
                    .unwrap_or((block, "an earlier segment".to_owned()));
                Err(Error::Overlap {
                    first: holder,
                    first_prefix: held,
                    second: owner.to_owned(),
                    second_prefix: block,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Places a block of `prefix_len` for `owner`: the lowest free aligned one.
    pub(crate) fn place(&mut self, owner: &str, prefix_len: u8) -> Result<Ipv4Net, Error> {
        let does_not_fit = |pool: &Pool| Error::DoesNotFit {
            segment: owner.to_owned(),
            prefix_len,
            largest_free: pool.largest_free_block(),
            base: pool.network(),
        };
        if prefix_len < self.pool.network().prefix_len() {
            return Err(does_not_fit(&self.pool));
        }
        match self.pool.allocate_block(prefix_len) {
            Ok(block) => {
                self.held.push((block, owner.to_owned()));
                Ok(block)
            }
            Err(ipam_core::Error::Exhausted { .. }) => Err(does_not_fit(&self.pool)),
            Err(e) => Err(e.into()),
        }
    }

    /// Addresses placed so far.
    pub(crate) fn used(&self) -> u64 {
        self.pool.allocated_count()
    }
}
