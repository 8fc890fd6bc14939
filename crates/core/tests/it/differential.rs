//! The differential check of a pool against [`Model`]: shared by the proptest in
//! `against_model.rs` and by the `pool_ops` fuzz target (which includes this file by path), so
//! both hold the pool to exactly the same rules.

use std::net::Ipv4Addr;

use ipam_core::strategies::{Op, Outcome};
use ipam_core::{Error, Policy, Pool, PoolBuilder};
use ipnet::Ipv4Net;

use crate::model::{Model, cover};

/// `assert!` that returns the failure instead of panicking.
macro_rules! ensure {
    ($cond:expr $(,)?) => {
        ensure!($cond, "{}", stringify!($cond))
    };
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// `assert_eq!` that returns the failure instead of panicking.
macro_rules! ensure_eq {
    ($left:expr, $right:expr $(,)?) => {
        ensure_eq!($left, $right, "")
    };
    ($left:expr, $right:expr, $($fmt:tt)+) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err(format!("{:?} != {:?}: {}", left, right, format!($($fmt)+)));
                }
            }
        }
    };
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) prefix_len: u8,
    pub(crate) base_seed: u32,
    pub(crate) network_broadcast: bool,
    pub(crate) gateway: bool,
    /// (offset seed, prefix seed) of each exclusion.
    pub(crate) exclusions: Vec<(u64, u8)>,
    pub(crate) policy: Policy,
}

/// An operation of the shipped kit, or a release of an address the model knows is allocated (so
/// that releases mostly succeed even in large pools).
#[derive(Clone, Debug)]
pub(crate) enum TestOp {
    Kit(Op),
    ReleaseAllocated(usize),
    /// A release of the aligned block of order `seed % 13` around an address the model knows is
    /// allocated: whole blocks handed out earlier come back this way, not only by chance.
    ReleaseBlockAround(usize, u8),
}

/// Everything a test needs to turn seeds into addresses of one pool.
pub(crate) struct Ctx {
    pub(crate) net: Ipv4Net,
    base: u64,
    size: u64,
}

impl Ctx {
    pub(crate) fn new(config: &Config) -> Ctx {
        let net = Ipv4Net::new(Ipv4Addr::from_bits(config.base_seed), config.prefix_len).unwrap().trunc();
        Ctx { net, base: u64::from(net.network().to_bits()), size: 1 << (32 - u32::from(config.prefix_len)) }
    }

    fn addr(&self, pos: u64) -> Ipv4Addr {
        Ipv4Addr::from_bits((self.base + pos) as u32)
    }

    fn offset(&self, addr: Ipv4Addr) -> Option<u64> {
        let value = u64::from(addr.to_bits());
        (value >= self.base && value < self.base + self.size).then(|| value - self.base)
    }

    fn out_of_pool(&self, addr: Ipv4Addr) -> Error {
        Error::OutOfPool { addr, pool: self.net }
    }

    fn exhausted(&self, wanted: u64) -> Error {
        Error::Exhausted { wanted, pool: self.net }
    }

    /// Offsets of a block, or the error the pool must give before looking at its contents.
    fn block_span(&self, block: Ipv4Net) -> Result<(u64, u64), Error> {
        if block.addr() != block.network() {
            return Err(Error::Misaligned { block });
        }
        self.span(block.network(), block.broadcast())
    }

    fn span(&self, first: Ipv4Addr, last: Ipv4Addr) -> Result<(u64, u64), Error> {
        match (self.offset(first), self.offset(last)) {
            (Some(start), Some(end)) => Ok((start, end + 1)),
            (None, _) if u64::from(first.to_bits()) < self.base => Err(self.out_of_pool(first)),
            (None, _) => Err(self.out_of_pool(first)),
            (Some(_), None) => Err(self.out_of_pool(self.addr(self.size))),
        }
    }
}

fn builder(config: &Config, ctx: &Ctx) -> PoolBuilder {
    let mut builder = Pool::builder(ctx.net)
        .reserve_network_broadcast(config.network_broadcast)
        .reserve_gateway(config.gateway)
        .policy(config.policy);
    for &(seed, prefix_seed) in &config.exclusions {
        let prefix_len = ctx.net.prefix_len() + prefix_seed % (33 - ctx.net.prefix_len());
        // Keep exclusions small next to the pool so there is room left to allocate.
        let prefix_len = prefix_len.max(ctx.net.prefix_len() + 2).min(32);
        builder = builder.exclude(Ipv4Net::new(ctx.addr(seed % ctx.size), prefix_len).unwrap().trunc());
    }
    builder
}

/// The reservations the builder was asked for, worked out independently of the pool.
fn reservations(config: &Config, ctx: &Ctx) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let split = config.network_broadcast && config.prefix_len <= 30;
    if split {
        out.push((0, 1));
        out.push((ctx.size - 1, ctx.size));
    }
    if config.gateway {
        let gateway = u64::from(split);
        out.push((gateway, gateway + 1));
    }
    for &(seed, prefix_seed) in &config.exclusions {
        let prefix_len = ctx.net.prefix_len() + prefix_seed % (33 - ctx.net.prefix_len());
        let order = 32 - u32::from(prefix_len.max(ctx.net.prefix_len() + 2).min(32));
        let start = (seed % ctx.size) >> order << order;
        out.push((start, start + (1 << order)));
    }
    out
}

/// Runs `ops` on a pool built from `config` and on the model; the first disagreement, or broken
/// pool invariant, is the error. Results and counts are compared after every step; the pool's full
/// self-check (`validate`, which rebuilds every summary) runs every `validate_every` steps and after
/// the last.
pub(crate) fn run(config: Config, ops: Vec<TestOp>, validate_every: usize) -> Result<(), String> {
    let ctx = Ctx::new(&config);
    let mut pool = builder(&config, &ctx).build().map_err(|e| e.to_string())?;
    let mut model = Model::new(ctx.size, &reservations(&config, &ctx));
    let steps = ops.len();
    for (step, op) in ops.into_iter().enumerate() {
        let (expected, got) = apply(&config, &ctx, &mut pool, &mut model, &op);
        ensure_eq!(&expected, &got, "step {} {:?}", step, op);
        if step % validate_every.max(1) == 0 || step + 1 == steps {
            pool.validate().map_err(|e| format!("step {step} {op:?}: {e}"))?;
        }
        check_state(&pool, &model, &ctx)?;
    }
    check_free_space(&pool, &model, &ctx)?;
    check_round_trip(&pool, &config, &ctx)?;
    Ok(())
}

/// Applies `op` to both; returns (what the model predicts, what the pool did). Where the policy leaves
/// a choice (best fit), the pool's answer is checked for validity and becomes the prediction.
fn apply(
    config: &Config,
    ctx: &Ctx,
    pool: &mut Pool,
    model: &mut Model,
    op: &TestOp,
) -> (Result<Outcome, Error>, Result<Outcome, Error>) {
    let around;
    let op = match op {
        TestOp::Kit(op) => op,
        TestOp::ReleaseBlockAround(n, seed) => {
            let allocated: Vec<u64> = allocated_positions(model, 4096);
            let Some(&pos) = allocated.get(n % allocated.len().max(1)) else {
                return (Ok(Outcome::Done), Ok(Outcome::Done));
            };
            let order = (u32::from(*seed) % 13).min(32 - u32::from(ctx.net.prefix_len()));
            let start = pos >> order << order;
            around = Op::ReleaseBlock(Ipv4Net::new_assert(ctx.addr(start), (32 - order) as u8));
            &around
        }
        TestOp::ReleaseAllocated(n) => {
            let allocated: Vec<u64> = allocated_positions(model, 4096);
            let Some(&pos) = allocated.get(n % allocated.len().max(1)) else {
                return (Ok(Outcome::Done), Ok(Outcome::Done));
            };
            let got = pool.release(ctx.addr(pos)).map(|()| Outcome::Done);
            return (give_back(model, ctx, pos, pos + 1, true), got);
        }
    };
    let got = op.apply(pool);
    let expected = match op {
        Op::Allocate => choose(config, model, 0, pool.policy(), &got, ctx).map(|pos| {
            model.insert(pos, pos + 1);
            model.allocated += 1;
            model.cursor = (pos + 1) % ctx.size;
            Outcome::Addr(ctx.addr(pos))
        }),
        &Op::AllocateBlock(prefix_len) => {
            if prefix_len < ctx.net.prefix_len() || prefix_len > 32 {
                Err(Error::InvalidPrefixLength { prefix_len, min: ctx.net.prefix_len() })
            } else {
                let order = 32 - u32::from(prefix_len);
                choose(config, model, order, pool.policy(), &got, ctx).map(|pos| {
                    model.insert(pos, pos + (1 << order));
                    model.allocated += 1 << order;
                    model.cursor = (pos + (1 << order)) % ctx.size;
                    Outcome::Block(Ipv4Net::new(ctx.addr(pos), prefix_len).unwrap())
                })
            }
        }
        &Op::AllocateSpecific(addr) => {
            ctx.span(addr, addr).and_then(|(start, end)| take(model, ctx, start, end))
        }
        &Op::AllocateBlockSpecific(block) => {
            ctx.block_span(block).and_then(|(start, end)| take(model, ctx, start, end))
        }
        &Op::AllocateRange(count) => {
            let count = u64::from(count);
            if count == 0 {
                Err(Error::InvalidCount { count: 0, reason: "a range holds at least one address" })
            } else {
                match model.best_range(count) {
                    Some(start) => {
                        model.insert(start, start + count);
                        model.allocated += count;
                        Ok(Outcome::Range(ctx.addr(start)..=ctx.addr(start + count - 1)))
                    }
                    None => Err(ctx.exhausted(count)),
                }
            }
        }
        &Op::Release(addr) => {
            ctx.span(addr, addr).and_then(|(start, end)| give_back(model, ctx, start, end, true))
        }
        &Op::ReleaseBlock(block) => {
            ctx.block_span(block).and_then(|(start, end)| give_back(model, ctx, start, end, false))
        }
        Op::ReleaseRange(range) => {
            let (first, last) = (*range.start(), *range.end());
            if first > last {
                Err(Error::InvalidRange { first, last })
            } else {
                ctx.span(first, last).and_then(|(start, end)| give_back(model, ctx, start, end, false))
            }
        }
        other => panic!("the model does not know {other:?} yet"),
    };
    (expected, got)
}

/// The position the policy must choose, or for best fit a check that the pool's choice is valid.
fn choose(
    config: &Config,
    model: &Model,
    order: u32,
    policy: Policy,
    got: &Result<Outcome, Error>,
    ctx: &Ctx,
) -> Result<u64, Error> {
    let wanted = 1u64 << order;
    let pos = match policy {
        Policy::FirstFit => model.first_fit(order, 0),
        Policy::RoundRobin => model.first_fit(order, model.cursor).or_else(|| model.first_fit(order, 0)),
        _ => {
            let any = model.first_fit(order, 0);
            match (got, any) {
                (Ok(Outcome::Addr(addr)), Some(_)) => ctx.offset(*addr),
                (Ok(Outcome::Block(block)), Some(_)) => ctx.offset(block.network()),
                _ => any,
            }
            .inspect(|&pos| {
                assert_eq!(pos % wanted, 0, "{config:?}: best fit gave a misaligned block");
                assert!(model.first_used_in(pos, pos + wanted).is_none(), "best fit gave a used block");
            })
        }
    };
    pos.ok_or_else(|| ctx.exhausted(wanted))
}

/// Specific allocation of `start..end`, as the model sees it.
fn take(model: &mut Model, ctx: &Ctx, start: u64, end: u64) -> Result<Outcome, Error> {
    if let Some(pos) = model.first_reserved_in(start, end) {
        return Err(Error::Reserved { addr: ctx.addr(pos) });
    }
    if let Some(pos) = model.first_used_in(start, end) {
        return Err(Error::AlreadyAllocated { addr: ctx.addr(pos) });
    }
    model.insert(start, end);
    model.allocated += end - start;
    Ok(Outcome::Done)
}

/// Release of `start..end`, as the model sees it. A single address is checked for "not allocated"
/// before "reserved" (a reserved address is used); spans check reservations first.
fn give_back(model: &mut Model, ctx: &Ctx, start: u64, end: u64, single: bool) -> Result<Outcome, Error> {
    let reserved = model.first_reserved_in(start, end);
    let free = model.first_free_in(start, end);
    if single {
        if free.is_some() {
            return Err(Error::NotAllocated { addr: ctx.addr(start) });
        }
        if reserved.is_some() {
            return Err(Error::Reserved { addr: ctx.addr(start) });
        }
    }
    if let Some(pos) = reserved {
        return Err(Error::Reserved { addr: ctx.addr(pos) });
    }
    if let Some(pos) = free {
        return Err(Error::NotAllocated { addr: ctx.addr(pos) });
    }
    model.remove(start, end);
    model.allocated -= end - start;
    Ok(Outcome::Done)
}

/// Up to `limit` allocated (not reserved) positions of the model, ascending.
fn allocated_positions(model: &Model, limit: usize) -> Vec<u64> {
    let mut out = Vec::new();
    let mut pos = 0;
    while out.len() < limit {
        let Some(used) = model.first_used_in(pos, model.size) else {
            break;
        };
        match model.reserved.iter().find(|&&(s, e)| s <= used && used < e) {
            Some(&(_, end)) => pos = end,
            None => {
                out.push(used);
                pos = used + 1;
            }
        }
    }
    out
}

fn check_state(pool: &Pool, model: &Model, ctx: &Ctx) -> Result<(), String> {
    ensure_eq!(pool.allocated_count(), model.allocated);
    ensure_eq!(pool.capacity(), model.capacity());
    ensure_eq!(pool.free_count(), model.capacity() - model.allocated);
    let largest = model.max_free_order().map(|order| (32 - order) as u8);
    ensure_eq!(pool.largest_free_block(), largest);
    if pool.policy() == Policy::RoundRobin {
        ensure_eq!(pool.cursor(), ctx.addr(model.cursor));
    }
    // The free space read through `&self` (where the pool must see its latest single-address change)
    // at every step, not only at the end: its first few blocks.
    let got: Vec<Ipv4Net> = pool.free_blocks().take(3).collect();
    let expected: Vec<Ipv4Net> = model
        .gaps()
        .flat_map(|(s, e)| cover(s, e))
        .take(3)
        .map(|(pos, order)| Ipv4Net::new(ctx.addr(pos), (32 - order) as u8).unwrap())
        .collect();
    ensure_eq!(got, expected);
    Ok(())
}

fn check_free_space(pool: &Pool, model: &Model, ctx: &Ctx) -> Result<(), String> {
    let got: Vec<Ipv4Net> = pool.free_blocks().collect();
    let expected: Vec<Ipv4Net> = model
        .free_cover()
        .into_iter()
        .map(|(pos, order)| Ipv4Net::new(ctx.addr(pos), (32 - order) as u8).unwrap())
        .collect();
    // Minimal: no two neighbours are buddies that would merge into one aligned block.
    for pair in got.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let merged = Ipv4Net::new(a.network(), a.prefix_len().saturating_sub(1)).unwrap().trunc();
        let buddies = a.prefix_len() == b.prefix_len()
            && a.prefix_len() > ctx.net.prefix_len()
            && merged.network() == a.network()
            && merged.broadcast() == b.broadcast();
        ensure!(!buddies, "{} and {} should be one block", a, b);
        ensure!(a.broadcast() < b.network(), "not ascending and disjoint: {} {}", a, b);
    }
    ensure_eq!(got, expected);
    let stats = pool.stats();
    let cover_total: u64 = model.gaps().flat_map(|(s, e)| cover(s, e)).map(|(_, order)| 1u64 << order).sum();
    ensure_eq!(stats.free_blocks_by_prefix[32], cover_total);
    ensure_eq!(stats.free, pool.free_count());
    Ok(())
}

fn check_round_trip(pool: &Pool, config: &Config, ctx: &Ctx) -> Result<(), String> {
    let allocated = pool.allocated();
    ensure_eq!(allocated.len(), pool.allocated_count());
    let copy = builder(config, ctx)
        .allocated(&allocated)
        .cursor(pool.cursor())
        .build()
        .map_err(|e| format!("restore failed: {e}"))?;
    copy.validate()?;
    ensure_eq!(copy.allocated(), allocated);
    ensure!(copy.free_blocks().eq(pool.free_blocks()));
    ensure_eq!(copy.cursor(), pool.cursor());
    Ok(())
}
