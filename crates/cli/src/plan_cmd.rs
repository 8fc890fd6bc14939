//! `ipam plan`.

use std::fs;

use ipam_plan::{Plan, Spec, render};

use crate::args::{Format, PlanArgs};
use crate::failure::Failure;
use crate::output::{emit, read};

pub(crate) fn run(args: &PlanArgs) -> Result<(), Failure> {
    let mut spec = match &args.spec {
        Some(path) => {
            let text = read(path)?;
            Spec::from_toml(&text).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?
        }
        None if args.gpus.is_some() => Spec::default(),
        None => {
            return Err(Failure::Input(
                "give a cluster spec file or --gpus N (see `ipam plan --help`)".into(),
            ));
        }
    };
    if let Some(gpus) = args.gpus {
        spec.gpus = gpus;
    }
    let mut plan = match &args.previous {
        Some(path) => {
            let previous = Plan::from_json(&read(path)?)
                .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
            if args.prune {
                ipam_plan::replan_pruning(&spec, &previous)?
            } else {
                ipam_plan::replan(&spec, &previous)?
            }
        }
        None => ipam_plan::plan(&spec)?,
    };
    if args.assign {
        ipam_plan::assign(&mut plan)?;
    }
    for warning in &plan.summary.warnings {
        eprintln!("warning: {warning}");
    }
    match args.format {
        Format::Table if args.detail => emit(args.out.as_deref(), &render::table_detail(&plan)),
        Format::Table => emit(args.out.as_deref(), &render::table(&plan)),
        Format::Json => emit(args.out.as_deref(), &plan.to_json()),
        Format::Svg if args.detail => emit(args.out.as_deref(), &render::svg_detail(&plan)),
        Format::Svg => emit(args.out.as_deref(), &render::svg(&plan)),
        Format::Dns => {
            let zones = render::dns_zones(&plan)?;
            let dir = out_dir(args, "dns")?;
            for (name, text) in zones {
                emit(Some(&dir.join(name)), &text)?;
            }
            Ok(())
        }
        Format::Csv => {
            let dir = out_dir(args, "csv")?;
            let mut files = vec![
                ("vlan-groups.csv", render::vlan_groups_csv(&plan)),
                ("vlans.csv", render::vlans_csv(&plan)),
                ("prefixes.csv", render::prefixes_csv(&plan)),
            ];
            files.push(("ip-addresses.csv", render::ip_addresses_csv(&plan)));
            for (name, text) in files {
                emit(Some(&dir.join(name)), &text)?;
            }
            Ok(())
        }
    }
}

/// The `--out` directory of a format that writes several files, created if missing.
fn out_dir<'a>(args: &'a PlanArgs, format: &str) -> Result<&'a std::path::Path, Failure> {
    let dir = args
        .out
        .as_deref()
        .ok_or_else(|| Failure::Input(format!("--format {format} writes several files: give --out DIR")))?;
    fs::create_dir_all(dir).map_err(|e| Failure::Input(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}
