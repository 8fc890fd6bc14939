//! The commands on the state file: pools, alloc, release, list, apply, export, import, reconcile.

use std::fmt::Write;
use std::path::Path;

use ipam_store::{Allocation, Claim, Export, PoolDef, Release, Request, Shape, Store};

use crate::args::{AllocArgs, Command, ExportFormat, PoolCommand, ReleaseArgs, Target};
use crate::failure::Failure;
use crate::output::{deliver, emit, note, read};

/// Whether a command only reads: it then opens the file read-only (never waiting for a writer,
/// never creating a file, working on a read-only mount).
fn reads_only(command: &Command) -> bool {
    matches!(
        command,
        Command::List { .. }
            | Command::Export { .. }
            | Command::Reconcile { .. }
            | Command::Find { .. }
            | Command::Check
            | Command::Metrics { .. }
            | Command::Pool(PoolCommand::List { .. } | PoolCommand::Show { .. })
    )
}

pub(crate) fn run(state: &Path, command: Command) -> Result<(), Failure> {
    let opened = if reads_only(&command) { Store::open_read_only(state) } else { Store::open(state) };
    let mut store = opened.map_err(|e| Failure::from_store(e, Some(state)))?;
    let store = &mut store;
    match command {
        Command::Plan(_) | Command::Completions { .. } | Command::Man { .. } => {
            unreachable!("`plan`, `completions` and `man` do not open the state file")
        }
        Command::Pool(command) => pool(store, command),
        Command::Alloc(args) => alloc(store, &args),
        Command::Release(args) => release(store, &args),
        Command::List { pool, json } => {
            let all = store.allocations(&pool)?;
            if json {
                return emit(None, &to_json(&all));
            }
            let mut out = String::new();
            for a in &all {
                let _ = match &a.owner {
                    Some(owner) => writeln!(out, "{a} {owner}"),
                    None => writeln!(out, "{a}"),
                };
            }
            emit(None, &out)
        }
        Command::Apply { plan } => {
            let plan = ipam_plan::Plan::from_json(&read(&plan)?)
                .map_err(|e| Failure::Input(format!("{}: {e}", plan.display())))?;
            let applied = store.apply(&plan)?;
            let mut out = String::new();
            for name in &applied.created {
                let _ = writeln!(out, "created {name}");
            }
            note(&format!(
                "{} pools created, {} already there; {} addresses recorded for their owners, {} already held",
                applied.created.len(),
                applied.unchanged.len(),
                applied.recorded,
                applied.kept
            ));
            emit(None, &out)
        }
        Command::Export { format } => {
            let export = store.export()?;
            emit(None, &if format == ExportFormat::Json { export.to_json() } else { export.to_csv() })
        }
        Command::Import { file, merge } => {
            let export = Export::from_json(&read(&file)?)
                .map_err(|e| Failure::Input(format!("{}: {e}", file.display())))?;
            if merge {
                store.import_merging(&export)?
            } else {
                store.import(&export)?
            }
            note(&format!("imported {} pools", export.pools.len()));
            Ok(())
        }
        Command::Find { addr, owner, json } => find(store, addr, owner.as_deref(), json),
        Command::Metrics { textfile } => {
            let text = crate::metrics::exposition(&store.pools()?);
            match textfile {
                Some(path) => crate::metrics::write_atomically(&path, &text),
                None => emit(None, &text),
            }
        }
        Command::Check => {
            let problems = store.check()?;
            if problems.is_empty() {
                return emit(None, "ok\n");
            }
            emit(None, &problems.iter().map(|p| format!("{p}\n")).collect::<String>())?;
            Err(Failure::Input(format!("{} problems found", problems.len())))
        }
        Command::Reconcile { targets, all, json } => {
            let (pool, seen) = match (all, targets.as_slice()) {
                (false, [pool, seen]) => (Some(pool.as_str()), Path::new(seen)),
                (true, [seen]) => (None, Path::new(seen)),
                (false, _) => return Err(Failure::Input("reconcile takes POOL SEEN (or --all SEEN)".into())),
                (true, _) => return Err(Failure::Input("reconcile --all takes SEEN only".into())),
            };
            let addresses = ipam_store::parse_seen(&read(seen)?)
                .map_err(|e| Failure::Input(format!("{}: {e}", seen.display())))?;
            let Some(pool) = pool else {
                let report = store.reconcile_all(&addresses)?;
                if json {
                    return emit(None, &to_json(&report));
                }
                let mut out = String::new();
                for (pool, r) in &report.pools {
                    if !(r.unrecorded.is_empty() && r.unseen_held.is_empty()) {
                        out.push_str(&reconcile_text(pool, r));
                        out.push('\n');
                    }
                }
                let _ = writeln!(out, "seen outside every pool: {}", report.outside.len());
                out.push_str(&range_lines(&report.outside));
                return emit(None, &out);
            };
            let report = store.reconcile(pool, &addresses)?;
            if json {
                return emit(None, &to_json(&report));
            }
            emit(None, &reconcile_text(pool, &report))
        }
    }
}

/// A pool's reconcile report for people: counts, the conflicts, and each allocation not seen
/// with its owner.
fn reconcile_text(pool: &str, report: &ipam_store::Reconcile) -> String {
    let mut out = format!(
        "seen {} in {pool}, recorded {}, seen outside the pool {}\n",
        report.seen, report.recorded, report.outside
    );
    let _ =
        writeln!(out, "\nin use but not recorded (conflicts waiting to happen): {}", report.unrecorded.len());
    out.push_str(&range_lines(&report.unrecorded));
    let _ = writeln!(
        out,
        "\nrecorded but not seen (possible leaks; nothing was freed): {}",
        report.unseen_held.len()
    );
    for a in &report.unseen_held {
        let _ = writeln!(out, "  {a} {}", a.owner.as_deref().unwrap_or("(no owner)"));
    }
    out
}

/// Ranges of addresses, one per line: `A` or `A-B`.
fn range_lines(ranges: &[std::ops::RangeInclusive<std::net::Ipv4Addr>]) -> String {
    let mut out = String::new();
    for r in ranges {
        let _ = if r.start() == r.end() {
            writeln!(out, "  {}", r.start())
        } else {
            writeln!(out, "  {}-{}", r.start(), r.end())
        };
    }
    out
}

fn pool(store: &mut Store, command: PoolCommand) -> Result<(), Failure> {
    match command {
        PoolCommand::Add {
            name,
            cidr,
            gateway,
            no_network_broadcast,
            exclude,
            policy,
            parent,
            container,
        } => {
            let def = PoolDef {
                gateway,
                network_broadcast: !no_network_broadcast,
                exclusions: exclude,
                policy,
                parent,
                ..PoolDef::new(&name, cidr)
            }
            .container(container);
            store.add_pool(&def)?;
            note(&format!("pool {name} {cidr}: {} addresses to hand out", store.pool(&name)?.stats.capacity));
            Ok(())
        }
        PoolCommand::List { json } => {
            let pools = store.pools()?;
            if json {
                return emit(None, &to_json(&pools));
            }
            let mut out = format!(
                "{:<20}  {:<18}  {:<12}  {:<12}  {:>12}  {:>12}  {:>6}  {}\n",
                "POOL", "CIDR", "POLICY", "PARENT", "ALLOCATED", "CAPACITY", "USED", "LARGEST FREE"
            );
            for p in &pools {
                let _ = writeln!(
                    out,
                    "{:<20}  {:<18}  {:<12}  {:<12}  {:>12}  {:>12}  {:>5.1}%  {}",
                    p.def.name,
                    p.def.cidr.to_string(),
                    crate::pool_show::policy(&p.def),
                    p.def.parent.as_deref().unwrap_or("-"),
                    p.allocated,
                    p.capacity,
                    p.utilization() * 100.0,
                    p.largest_free_block.map_or("-".to_owned(), |l| format!("/{l}"))
                );
            }
            emit(None, &out)
        }
        PoolCommand::Show { name, json } => {
            let (info, free) = store.pool_and_free_blocks(&name)?;
            if json {
                return emit(None, &to_json(&crate::pool_show::json(&info, &free)));
            }
            emit(None, &crate::pool_show::text(&info, &free))
        }
        PoolCommand::Resize { name, cidr } => {
            store.resize_pool(&name, cidr)?;
            note(&format!("pool {name} {cidr}: {} addresses to hand out", store.pool(&name)?.stats.capacity));
            Ok(())
        }
        PoolCommand::Remove { name, force } => {
            store.remove_pool(&name, force)?;
            note(&format!("pool {name} removed"));
            Ok(())
        }
    }
}

fn alloc(store: &mut Store, args: &AllocArgs) -> Result<(), Failure> {
    let request = match (args.addr, args.block, args.range) {
        (Some(a), _, _) => Request::Addr(a),
        (_, Some(len), _) => Request::Block(len),
        (_, _, Some(n)) => Request::Range(n),
        _ => Request::Next,
    };
    let (claims, text) = match (&args.owners, &args.owner) {
        (Some(file), _) => {
            let text = read(file)?;
            let owners: Vec<&str> = text.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
            let claims = store.allocate_many(&args.pool, request, &owners)?;
            let out = claims
                .iter()
                .zip(&owners)
                .map(|(c, owner)| format!("{} {owner}\n", c.allocation))
                .collect::<String>();
            (claims, out)
        }
        (None, Some(owner)) => {
            let claims = store.allocate_many(&args.pool, request, &[owner.as_str()])?;
            let out = format!("{}\n", claims[0].allocation);
            (claims, out)
        }
        (None, None) => {
            let allocation = store.allocate(&args.pool, request, None)?;
            let out = format!("{allocation}\n");
            (vec![Claim { allocation, fresh: true }], out)
        }
    };
    deliver(&text).or_else(|e| undeliverable(store, &args.pool, &claims, &e))
}

/// The result could not be written: what this command allocated was never delivered, so it
/// goes back (what owners held before stays theirs), and the command fails.
fn undeliverable(store: &mut Store, pool: &str, claims: &[Claim], e: &std::io::Error) -> Result<(), Failure> {
    let targets: Vec<Release> = claims
        .iter()
        .filter(|c| c.fresh)
        .map(|c| {
            let a = &c.allocation;
            match (a.shape, ipnet::Ipv4Net::new(a.first, block_len(a))) {
                (Shape::Block, Ok(block)) => Release::Block(block),
                (Shape::Addr, _) => Release::Addr(a.first),
                _ => Release::Range(a.first, a.last),
            }
        })
        .collect();
    // One transaction: all of them go back, or (if that fails too) all stay, and we say which.
    store.release_all(pool, &targets).map_err(|r| {
        Failure::Internal(format!("stdout: {e}; releasing what was not delivered failed too: {r}"))
    })?;
    Err(Failure::Internal(format!(
        "stdout: {e}; the {} allocation(s) this command made were released again, as they were never delivered",
        targets.len()
    )))
}

fn block_len(a: &Allocation) -> u8 {
    (32 - a.size().trailing_zeros()) as u8
}

fn find(
    store: &Store,
    addr: Option<std::net::Ipv4Addr>,
    owner: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    if let Some(owner) = owner {
        let held = store.find_owner(owner)?;
        if json {
            return emit(None, &to_json(&held));
        }
        let out: String = held.iter().map(|h| format!("{} {}\n", h.pool, h.allocation)).collect();
        emit(None, &out)?;
        return if held.is_empty() {
            Err(Failure::Input(format!("owner `{}` holds nothing", short(owner))))
        } else {
            Ok(())
        };
    }
    let addr = addr.ok_or_else(|| Failure::Input("give ADDR or --owner ID".into()))?;
    let found = store.find(addr)?;
    if json {
        emit(None, &to_json(&found))?;
    } else {
        let mut out = String::new();
        for f in &found {
            let _ = match &f.allocation {
                Some(a) => writeln!(out, "{} {} {}", f.pool, a, a.owner.as_deref().unwrap_or("-")),
                None => writeln!(out, "{} {} free", f.pool, f.cidr),
            };
        }
        emit(None, &out)?;
    }
    match found.last() {
        None => Err(Failure::Input(format!("{addr} is in no pool"))),
        Some(f) if f.allocation.is_none() => {
            Err(Failure::Input(format!("{addr} is not allocated in pool `{}`", f.pool)))
        }
        Some(_) => Ok(()),
    }
}

/// Owners echoed in messages are cut short (the terminal sanitising does the rest).
fn short(text: &str) -> String {
    text.chars().take(80).collect()
}

fn release(store: &mut Store, args: &ReleaseArgs) -> Result<(), Failure> {
    let target = match (&args.what, &args.owner) {
        (_, Some(owner)) => Release::Owner(owner.clone()),
        (Some(Target::Addr(a)), None) => Release::Addr(*a),
        (Some(Target::Block(b)), None) => Release::Block(*b),
        (Some(Target::Range(f, l)), None) => Release::Range(*f, *l),
        (None, None) => return Err(Failure::Input("give ADDR, CIDR, FIRST-LAST or --owner ID".into())),
    };
    for a in store.release(&args.pool, &target)? {
        note(&format!("released {a}"));
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("serializable");
    text.push('\n');
    text
}
