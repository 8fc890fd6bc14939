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
