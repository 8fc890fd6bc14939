//! Other ways of doing the same job, each a faithful copy of how an allocator in use today works,
//! run in the same criterion groups as ours. One file per peer, each saying what it stands for.

mod flat;
pub mod go_ipam;
pub mod iprange_free;
pub mod k8s_bitmap;
pub mod next_fit;
pub mod roaring_free;
pub mod word_scan;

pub use go_ipam::GoIpam;
pub use iprange_free::IpRangeFree;
pub use k8s_bitmap::K8sBitmap;
pub use next_fit::NextFit;
pub use roaring_free::RoaringFree;
pub use word_scan::WordScan;

#[cfg(test)]
mod tests {
    //! The peers must be right, or the comparison means nothing: each one hands out every free
    //! address exactly once, and takes back what it handed out.

    use roaring::RoaringBitmap;

    use super::*;
    use crate::ours::{OursBestFit, OursFirstFit, OursRoundRobin};
    use crate::{Allocator, BlockAllocator, Dataset};

    /// A /22 with every third address used.
    fn small() -> Dataset {
        let used: RoaringBitmap = (0..1024).step_by(3).collect();
        Dataset { name: "small", used, order: 10 }
    }

    fn hands_out_each_free_address_once<A: Allocator>() {
        let data = small();
        let mut pool = A::build(&data);
        let mut seen = data.used.clone();
        let free = 1024 - data.used.len();
        for _ in 0..free {
            let offset = pool.allocate().unwrap_or_else(|| panic!("{} ran out early", A::NAME));
            assert!(offset < 1024, "{}: {offset} is outside the pool", A::NAME);
            assert!(seen.insert(offset), "{}: {offset} handed out twice", A::NAME);
        }
        assert_eq!(pool.allocate(), None, "{}: allocated past exhaustion", A::NAME);
        assert!(pool.release(5), "{}: release of a used address", A::NAME);
        assert!(!pool.release(5), "{}: double release", A::NAME);
        assert_eq!(pool.allocate(), Some(5), "{}: the only free address", A::NAME);
        assert!(pool.release(5) && pool.allocate_specific(5) && !pool.allocate_specific(5));
    }

    fn blocks_are_aligned_and_free<A: BlockAllocator>() {
        let mut data = small();
        data.used.remove_range(256..512);
        let mut pool = A::build(&data);
        assert_eq!(pool.allocate_block(8), Some(256), "{}", A::NAME);
        assert_eq!(pool.allocate_block(8), None, "{}", A::NAME);
        pool.release_block(256, 8);
        assert_eq!(pool.allocate_block(7), Some(256), "{}", A::NAME);
        assert_eq!(pool.allocate_block(7), Some(384), "{}", A::NAME);
        // Under 64: no aligned four free below 256, where every third address is used.
        pool.release_block(256, 7);
        assert_eq!(pool.allocate_block(2), Some(256), "{}", A::NAME);
    }

    #[test]
    fn single_address_peers_are_correct() {
        hands_out_each_free_address_once::<K8sBitmap>();
        hands_out_each_free_address_once::<WordScan>();
        hands_out_each_free_address_once::<NextFit>();
        hands_out_each_free_address_once::<GoIpam>();
        hands_out_each_free_address_once::<RoaringFree>();
        hands_out_each_free_address_once::<IpRangeFree>();
        hands_out_each_free_address_once::<OursFirstFit>();
        hands_out_each_free_address_once::<OursBestFit>();
        hands_out_each_free_address_once::<OursRoundRobin>();
    }

    #[test]
    fn block_peers_are_correct() {
        blocks_are_aligned_and_free::<RoaringFree>();
        blocks_are_aligned_and_free::<WordScan>();
        blocks_are_aligned_and_free::<IpRangeFree>();
        blocks_are_aligned_and_free::<OursFirstFit>();
    }
}
