//! Property-test your own allocator against `ipam_core::Pool` with the `Op` strategy.
//!
//! `MyAllocator` stands for your code: here a first-fit single-address allocator over a `BTreeSet`.
//! Each generated operation goes to both; whatever yours supports must agree with the pool, and a
//! failure shrinks to a few operations on a small network.
//!
//! Run: `cargo run -p ipam-core --features proptest --example fuzz_own_allocator`
//! (its `#[test]` runs with `cargo test -p ipam-core --features proptest --examples`).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipam_core::Pool;
use ipam_core::strategies::{Op, Outcome, aligned_net, ops};
use ipnet::Ipv4Net;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Your allocator: first free address, lowest first.
struct MyAllocator {
    net: Ipv4Net,
    used: BTreeSet<Ipv4Addr>,
}

impl MyAllocator {
    fn allocate(&mut self) -> Option<Ipv4Addr> {
        let free = (self.net.network().to_bits()..=self.net.broadcast().to_bits())
            .map(Ipv4Addr::from_bits)
            .find(|addr| !self.used.contains(addr))?;
        self.used.insert(free);
        Some(free)
    }

    fn release(&mut self, addr: Ipv4Addr) -> bool {
        self.used.remove(&addr)
    }
}

/// One case: the same operations on both; the ones `MyAllocator` knows must agree.
fn agrees(net: Ipv4Net, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut pool = Pool::new(net).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut mine = MyAllocator { net, used: BTreeSet::new() };
    for op in ops {
        match op {
            Op::Allocate => {
                let theirs = op.apply(&mut pool).ok();
                prop_assert_eq!(theirs, mine.allocate().map(Outcome::Addr), "{:?}", op);
            }
            Op::Release(addr) => {
                prop_assert_eq!(op.apply(&mut pool).is_ok(), mine.release(*addr), "{:?}", op);
            }
            // Operations your allocator does not have: skip them, or map them onto your API.
            _ => {}
        }
    }
    Ok(())
}

fn strategy() -> impl Strategy<Value = (Ipv4Net, Vec<Op>)> {
    aligned_net(24..=30).prop_flat_map(|net| (Just(net), ops(net, 1..64)))
}

fn main() {
    let mut runner = TestRunner::new(Config { cases: 512, failure_persistence: None, ..Config::default() });
    match runner.run(&strategy(), |(net, ops)| agrees(net, &ops)) {
        Ok(()) => println!("MyAllocator agrees with ipam_core::Pool on 512 random operation sequences"),
        Err(e) => {
            eprintln!("disagreement: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest! {
        #[test]
        fn my_allocator_agrees_with_pool((net, ops) in strategy()) {
            agrees(net, &ops)?;
        }
    }
}
