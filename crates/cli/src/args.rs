//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Plans and hands out IPv4 addresses for AI/GPU clusters and edge fleets.
#[derive(Debug, Parser)]
#[command(name = "ipam", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Turn a cluster description into a VLAN-segmented address plan.
    ///
    /// With no SPEC, `--gpus N` plans the reference cluster (8 GPUs and 8 rails per node, 32 nodes
    /// per scalable unit) in 10.0.0.0/8 with 2x growth headroom.
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// The cluster spec (TOML); see examples/ for every key.
    pub(crate) spec: Option<PathBuf>,
    /// GPUs in the cluster (overrides the spec's `gpus`).
    #[arg(long, value_name = "N")]
    pub(crate) gpus: Option<u32>,
    /// Output format: a table for people, JSON (schema 1), NetBox CSV files, or an SVG map.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Write to this file instead of stdout (for csv: the directory to write the files into).
    #[arg(long, value_name = "PATH")]
    pub(crate) out: Option<PathBuf>,
    /// Add per-node addresses (every node's address on every segment; both ends of each /31).
    #[arg(long)]
    pub(crate) assign: bool,
    /// A plan written earlier with `--format json`: keep every segment's CIDR and VLAN, and grow.
    #[arg(long, value_name = "PLAN")]
    pub(crate) previous: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    Csv,
    Svg,
}
