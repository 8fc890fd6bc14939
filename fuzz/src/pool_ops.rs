//! An arbitrary sequence of operations on a pool of arbitrary prefix length, checked against the
//! model after every step, plus the pool's own invariant check (`Pool::validate`): after every step
//! on pools up to a /16, every 8th step on larger ones.

use std::net::Ipv4Addr;

use arbitrary::{Result, Unstructured};
use ipam_core::Policy;
use ipam_core::strategies::Op;
use ipnet::Ipv4Net;

use crate::differential::{Config, Ctx, TestOp, run};

/// Operations per input: enough for deep states, few enough for thousands of runs a second.
const MAX_OPS: usize = 64;

pub fn check(data: &[u8]) -> std::result::Result<(), String> {
    let mut u = Unstructured::new(data);
    let Ok(config) = config(&mut u) else { return Ok(()) };
    let net = Ctx::new(&config).net;
    let mut ops = Vec::new();
    while ops.len() < MAX_OPS {
        match op(&mut u, net) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    // `validate` rebuilds every summary from the bitmap; on large pools that dominates the run, so
    // there it runs every 8th step (and after the last). The model is compared after every step.
    let validate_every = if net.prefix_len() >= 16 { 1 } else { 8 };
    run(config, ops, validate_every)
}

fn config(u: &mut Unstructured<'_>) -> Result<Config> {
    // Weighted as in the proptest: mostly small pools (fast, dense states), some huge ones.
    let prefix_len = match u.int_in_range(0..=6)? {
        0..=3 => u.int_in_range(22..=32)?,
        4 | 5 => u.int_in_range(12..=21)?,
        _ => u.int_in_range(0..=11)?,
    };
    let base_seed = u.arbitrary()?;
    let network_broadcast = u.arbitrary()?;
    let gateway = u.arbitrary()?;
    let exclusions =
        (0..u.int_in_range(0..=2)?).map(|_| u.arbitrary()).collect::<Result<Vec<(u64, u8)>>>()?;
    let policy = *u.choose(&[Policy::FirstFit, Policy::BestFit, Policy::RoundRobin])?;
    Ok(Config { prefix_len, base_seed, network_broadcast, gateway, exclusions, policy })
}

/// An address inside the pool three times in four, anywhere otherwise.
fn addr(u: &mut Unstructured<'_>, net: Ipv4Net) -> Result<Ipv4Addr> {
    let raw: u32 = u.arbitrary()?;
    if u.ratio(3, 4)? {
        let size = 1u64 << (32 - u32::from(net.prefix_len()));
        Ok(Ipv4Addr::from((u64::from(u32::from(net.network())) + u64::from(raw) % size) as u32))
    } else {
        Ok(Ipv4Addr::from(raw))
    }
}

/// A prefix length the pool can serve most of the time, any byte sometimes.
fn prefix_len(u: &mut Unstructured<'_>, net: Ipv4Net) -> Result<u8> {
    let raw: u8 = u.arbitrary()?;
    if u.ratio(7, 8)? { Ok(net.prefix_len() + raw % (33 - net.prefix_len())) } else { Ok(raw) }
}

/// A block that is often aligned and inside the pool, and sometimes neither.
fn block(u: &mut Unstructured<'_>, net: Ipv4Net) -> Result<Ipv4Net> {
    let address = addr(u, net)?;
    let len = prefix_len(u, net)?.min(32);
    let block = Ipv4Net::new(address, len).expect("clamped to 32");
    Ok(if u.ratio(3, 4)? { block.trunc() } else { block })
}

fn op(u: &mut Unstructured<'_>, net: Ipv4Net) -> Result<TestOp> {
    Ok(match u.int_in_range(0..=10)? {
        0 | 1 => TestOp::Kit(Op::Allocate),
        2 => TestOp::Kit(Op::AllocateSpecific(addr(u, net)?)),
        3 => TestOp::Kit(Op::AllocateBlock(prefix_len(u, net)?)),
        4 => TestOp::Kit(Op::AllocateBlockSpecific(block(u, net)?)),
        // Mostly short ranges; now and then up to 2^20, enough to span the allocator's chunks.
        5 => {
            let limit = if u.ratio(1, 16)? { 1 << 20 } else { 4096 };
            TestOp::Kit(Op::AllocateRange(u.int_in_range(0..=limit)?))
        }
        6 => TestOp::Kit(Op::Release(addr(u, net)?)),
        7 => TestOp::Kit(Op::ReleaseBlock(block(u, net)?)),
        8 => {
            let first = addr(u, net)?;
            let last = if u.ratio(3, 4)? {
                Ipv4Addr::from(u32::from(first).saturating_add(u.int_in_range(0..=4096)?))
            } else {
                addr(u, net)?
            };
            TestOp::Kit(Op::ReleaseRange(first..=last))
        }
        9 => TestOp::ReleaseAllocated(u.arbitrary()?),
        _ => TestOp::ReleaseBlockAround(u.arbitrary()?, u.arbitrary()?),
    })
}
