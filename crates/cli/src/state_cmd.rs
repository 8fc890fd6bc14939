//! The commands on the state file: pools, alloc, release, list, apply, export, import, reconcile.

use std::fmt::Write;
use std::path::Path;

use ipam_store::{Allocation, Export, PoolDef, PoolInfo, Release, Request, Store};

use crate::args::{AllocArgs, Command, ExportFormat, PoolCommand, ReleaseArgs, Target};
use crate::failure::Failure;
use crate::output::{emit, note, read};

/// The largest free blocks `pool show` lists in its table (JSON lists them all).
const FREE_BLOCKS_SHOWN: usize = 32;

pub(crate) fn run(state: &Path, command: Command) -> Result<(), Failure> {
    let mut store = Store::open(state).map_err(|e| Failure::from_store(e, Some(state)))?;
    let store = &mut store;
    match command {
        Command::Plan(_) => unreachable!("`plan` does not open the state file"),
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
                "{} pools created, {} already there",
                applied.created.len(),
                applied.unchanged.len()
            ));
            emit(None, &out)
        }
        Command::Export { format } => {
            let export = store.export()?;
            emit(None, &if format == ExportFormat::Json { export.to_json() } else { export.to_csv() })
        }
        Command::Import { file } => {
            let export = Export::from_json(&read(&file)?)
                .map_err(|e| Failure::Input(format!("{}: {e}", file.display())))?;
            store.import(&export)?;
            note(&format!("imported {} pools", export.pools.len()));
            Ok(())
        }
        Command::Reconcile { pool, seen, json } => {
            let addresses = ipam_store::parse_seen(&read(&seen)?)
                .map_err(|e| Failure::Input(format!("{}: {e}", seen.display())))?;
            let report = store.reconcile(&pool, &addresses)?;
            if json {
                return emit(None, &to_json(&report));
            }
            let mut out = format!(
                "seen {} in {pool}, recorded {}, seen outside the pool {}\n",
                report.seen, report.recorded, report.outside
            );
            for (title, ranges) in [
                ("in use but not recorded (conflicts waiting to happen)", &report.unrecorded),
                ("recorded but not seen (possible leaks; nothing was freed)", &report.unseen),
            ] {
                let _ = writeln!(out, "\n{title}: {}", ranges.len());
                for r in ranges {
                    let _ = if r.start() == r.end() {
                        writeln!(out, "  {}", r.start())
                    } else {
                        writeln!(out, "  {}-{}", r.start(), r.end())
                    };
                }
            }
            emit(None, &out)
        }
    }
}

fn pool(store: &mut Store, command: PoolCommand) -> Result<(), Failure> {
    match command {
        PoolCommand::Add { name, cidr, gateway, no_network_broadcast, exclude, policy, parent } => {
            let def = PoolDef {
                gateway,
                network_broadcast: !no_network_broadcast,
                exclusions: exclude,
                policy,
                parent,
                ..PoolDef::new(&name, cidr)
            };
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
                    p.def.policy.to_string(),
                    p.def.parent.as_deref().unwrap_or("-"),
                    p.stats.allocated,
                    p.stats.capacity,
                    p.stats.utilization() * 100.0,
                    p.stats.largest_free_block.map_or("-".to_owned(), |l| format!("/{l}"))
                );
            }
            emit(None, &out)
        }
        PoolCommand::Show { name, json } => {
            let info = store.pool(&name)?;
            let free = store.free_blocks(&name)?;
            if json {
                let value = serde_json::json!({ "pool": info, "free_blocks": free });
                return emit(
                    None,
                    &format!("{}\n", serde_json::to_string_pretty(&value).expect("serializable")),
                );
            }
            emit(None, &show(&info, &free))
        }
        PoolCommand::Remove { name, force } => {
            store.remove_pool(&name, force)?;
            note(&format!("pool {name} removed"));
            Ok(())
        }
    }
}

fn show(info: &PoolInfo, free: &[ipnet::Ipv4Net]) -> String {
    let (d, s) = (&info.def, &info.stats);
    let mut out = String::new();
    let _ = writeln!(out, "pool        {}\nnetwork     {}\npolicy      {}", d.name, d.cidr, d.policy);
    let _ = writeln!(out, "parent      {}", d.parent.as_deref().unwrap_or("-"));
    let reserved: Vec<String> = [(d.network_broadcast, "network+broadcast"), (d.gateway, "gateway")]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, what)| what.to_owned())
        .chain(d.exclusions.iter().map(|e| e.to_string()))
        .collect();
    let _ = writeln!(
        out,
        "reserved    {}",
        if reserved.is_empty() { "-".to_owned() } else { reserved.join(", ") }
    );
    let _ = writeln!(
        out,
        "allocated   {} of {} ({:.1}%) in {} allocations",
        s.allocated,
        s.capacity,
        s.utilization() * 100.0,
        info.allocations
    );
    let _ = writeln!(
        out,
        "free        {} in {} blocks (fragmentation {:.2})",
        s.free,
        s.free_cidrs,
        s.fragmentation()
    );
    let _ = writeln!(out, "largest     {}", s.largest_free_block.map_or("-".to_owned(), |l| format!("/{l}")));
    let _ = writeln!(out, "cursor      {}", info.cursor);
    let _ = writeln!(
        out,
        "\nfree blocks{}",
        if free.len() > FREE_BLOCKS_SHOWN {
            format!(" (first {FREE_BLOCKS_SHOWN} of {}; --json lists all)", free.len())
        } else {
            String::new()
        }
    );
    for block in free.iter().take(FREE_BLOCKS_SHOWN) {
        let _ = writeln!(out, "  {block}");
    }
    out
}

fn alloc(store: &mut Store, args: &AllocArgs) -> Result<(), Failure> {
    let request = match (args.addr, args.block, args.range) {
        (Some(a), _, _) => Request::Addr(a),
        (_, Some(len), _) => Request::Block(len),
        (_, _, Some(n)) => Request::Range(n),
        _ => Request::Next,
    };
    let allocation: Allocation = store.allocate(&args.pool, request, args.owner.as_deref())?;
    emit(None, &format!("{allocation}\n"))
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
