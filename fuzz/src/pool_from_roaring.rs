//! Arbitrary bytes as a serialized `RoaringBitmap` of allocated addresses: an error or a pool
//! holding exactly those addresses, never a panic.

use std::net::Ipv4Addr;

use ipam_core::Pool;
use ipnet::Ipv4Net;
use roaring::RoaringBitmap;

/// Bitmaps larger than this are skipped: filling them proves nothing new and costs seconds.
const MAX_ADDRESSES: u64 = 1 << 22;

pub fn check(data: &[u8]) -> Result<(), String> {
    let Some((head, rest)) = data.split_first_chunk::<5>() else { return Ok(()) };
    let prefix_len = head[0] % 33;
    let net =
        Ipv4Net::new(Ipv4Addr::from(u32::from_be_bytes([head[1], head[2], head[3], head[4]])), prefix_len)
            .expect("below 33")
            .trunc();
    let Ok(bitmap) = RoaringBitmap::deserialize_from(rest) else { return Ok(()) };
    if bitmap.len() > MAX_ADDRESSES {
        return Ok(());
    }
    let outside = bitmap.iter().find(|&a| !net.contains(&Ipv4Addr::from(a)));
    match Pool::from_allocated(net, &bitmap) {
        Ok(pool) => {
            if let Some(a) = outside {
                return Err(format!("{} outside {net} was accepted", Ipv4Addr::from(a)));
            }
            pool.validate()?;
            if pool.allocated() != bitmap || pool.allocated_count() != bitmap.len() {
                return Err("the pool does not hold exactly the bitmap".into());
            }
            let free: u64 = pool.free_blocks().map(|b| 1u64 << (32 - u32::from(b.prefix_len()))).sum();
            if free != pool.free_count() {
                return Err(format!("free blocks hold {free}, free_count says {}", pool.free_count()));
            }
            Ok(())
        }
        Err(ipam_core::Error::OutOfPool { .. }) if outside.is_some() => Ok(()),
        Err(e) => Err(format!("refused a valid bitmap: {e}")),
    }
}
