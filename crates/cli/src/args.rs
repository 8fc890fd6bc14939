//! The command line, as clap reads it.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use ipam_core::Policy;
use ipnet::Ipv4Net;

/// Plans and hands out IPv4 addresses for AI/GPU clusters and edge fleets.
#[derive(Debug, Parser)]
#[command(name = "ipam", version, propagate_version = true)]
pub(crate) struct Cli {
    /// The state: a file (write commands create it if missing; read commands never do), or a
    /// PostgreSQL URL (`postgresql://user@host/db`, `postgresql:///db?host=/run/postgresql`).
    #[arg(long, global = true, env = "IPAM_STATE", default_value = "ipam.db", value_name = "PATH|URL")]
    pub(crate) state: PathBuf,
    /// Refuse spec, plan, import and owner files larger than this, before parsing them.
    #[arg(long, global = true, env = "IPAM_MAX_INPUT_BYTES", default_value_t = 1 << 30, value_name = "BYTES")]
    pub(crate) max_input_bytes: u64,
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
    /// Create, list, inspect and remove pools.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Allocate from a pool; prints only what was allocated (an address, a CIDR or FIRST-LAST).
    ///
    /// With --owners FILE, allocates for every owner in the file (one per line) in one
    /// transaction, all or nothing, and prints `ALLOCATION OWNER` per owner in input order.
    Alloc(AllocArgs),
    /// Release an address, block or range as it was allocated, or everything an owner holds.
    Release(ReleaseArgs),
    /// List a pool's allocations, one per line: the allocation, then the owner.
    List {
        /// The pool.
        pool: String,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Make the state hold a plan written by `ipam plan --format json`: its aggregates as
    /// container pools, its segments as their child pools, and every address it assigns recorded
    /// for its owner (`gpu-node-001/rail0`). Idempotent; a plan that moved something is refused.
    Apply {
        /// The plan.
        plan: PathBuf,
    },
    /// Print the whole state (JSON, which `ipam import` reads back, or CSV).
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
    },
    /// Add the pools and allocations of an export to the state file (all or nothing).
    Import {
        /// The export file.
        file: PathBuf,
        /// Add allocations to pools that exist with the same definition (skipping ones recorded
        /// already) instead of refusing them.
        #[arg(long)]
        merge: bool,
    },
    /// Which pool and allocation hold an address (exit 1 if none), or what an owner holds.
    Find {
        /// The address.
        #[arg(value_parser = parse_addr, required_unless_present = "owner", conflicts_with = "owner")]
        addr: Option<Ipv4Addr>,
        /// List what this owner holds in every pool instead.
        #[arg(long, value_name = "ID")]
        owner: Option<String>,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Every pool's use in the Prometheus text format: capacity, allocated, free and largest free
    /// block, in addresses, labelled `pool` and `network`.
    Metrics {
        /// Write to this file atomically (node_exporter's textfile collector) instead of stdout.
        #[arg(long, value_name = "PATH")]
        textfile: Option<PathBuf>,
    },
    /// Print a shell completion script: `source <(ipam completions bash)`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) of ipam and every subcommand: `ipam man | man -l -`.
    Man {
        /// Write one page per command (`ipam.1`, `ipam-pool-add.1`, ...) into this directory instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Check the whole state file deeply (pages, checksums, counts, every allocation); prints `ok`
    /// or what is wrong (exit 1).
    Check,
    /// Compare addresses seen in use (one per line, `#` comments) with a pool's records, or with
    /// every pool's (--all); names the owner of every recorded address that was not seen.
    Reconcile {
        /// POOL and SEEN (the list of addresses seen, from an ARP table or a ping sweep); with
        /// --all, SEEN only.
        #[arg(value_name = "POOL SEEN", num_args = 1..=2, required = true)]
        targets: Vec<String>,
        /// Check every pool, and list the seen addresses outside every pool.
        #[arg(long)]
        all: bool,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PoolCommand {
    /// Create a pool.
    Add {
        /// Its name (letters, digits, `-`, `_`, `.`).
        name: String,
        /// Its network, like 10.1.0.0/16.
        #[arg(value_parser = parse_net)]
        cidr: Ipv4Net,
        /// Reserve the gateway (the first usable address).
        #[arg(long)]
        gateway: bool,
        /// Hand out the network and broadcast addresses too.
        #[arg(long)]
        no_network_broadcast: bool,
        /// Never hand out this network (repeatable).
        #[arg(long, value_name = "CIDR", value_parser = parse_net)]
        exclude: Vec<Ipv4Net>,
        /// first-fit, best-fit or round-robin.
        #[arg(long, default_value = "first-fit")]
        policy: Policy,
        /// Carve this pool's network out of another pool.
        #[arg(long, value_name = "POOL")]
        parent: Option<String>,
        /// A container: it holds child pools (`--parent NAME`) and hands out nothing itself.
        #[arg(long)]
        container: bool,
    },
    /// Grow a pool in place to a network that contains it, or shrink it to one inside it when
    /// nothing it holds lies outside; nothing moves.
    Resize {
        /// The pool.
        name: String,
        /// The new network.
        #[arg(value_parser = parse_net)]
        cidr: Ipv4Net,
    },
    /// List the pools with their use.
    List {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// A pool's settings, use, largest free block and free blocks.
    Show {
        /// The pool.
        name: String,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Remove a pool (refused while it holds allocations, unless --force).
    Remove {
        /// The pool.
        name: String,
        /// Remove it with its allocations.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct AllocArgs {
    /// The pool.
    pub(crate) pool: String,
    /// Who holds it (hostname, MAC, pod id); asking again for the same owner returns the same.
    #[arg(long, value_name = "ID", conflicts_with = "owners")]
    pub(crate) owner: Option<String>,
    /// Allocate for every owner in FILE (one per line; `-` reads stdin), all or nothing.
    #[arg(long, value_name = "FILE", conflicts_with = "addr")]
    pub(crate) owners: Option<PathBuf>,
    /// This address.
    #[arg(long, value_name = "A", value_parser = parse_addr, group = "what")]
    pub(crate) addr: Option<Ipv4Addr>,
    /// An aligned block of this prefix length.
    #[arg(long, value_name = "LEN", value_parser = clap::value_parser!(u8).range(0..=32), group = "what")]
    pub(crate) block: Option<u8>,
    /// This many contiguous addresses.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), group = "what")]
    pub(crate) range: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReleaseArgs {
    /// The pool.
    pub(crate) pool: String,
    /// ADDR, CIDR or FIRST-LAST, exactly as allocated.
    #[arg(required_unless_present = "owner", conflicts_with = "owner", value_parser = parse_target)]
    pub(crate) what: Option<Target>,
    /// Release everything this owner holds in the pool.
    #[arg(long, value_name = "ID")]
    pub(crate) owner: Option<String>,
}

/// What `ipam release` was given.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Addr(Ipv4Addr),
    Block(Ipv4Net),
    Range(Ipv4Addr, Ipv4Addr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    Json,
    Csv,
}

fn parse_net(text: &str) -> Result<Ipv4Net, String> {
    ipam_core::parse::net(text).map_err(|e| e.to_string())
}

fn parse_addr(text: &str) -> Result<Ipv4Addr, String> {
    ipam_core::parse::addr(text).map_err(|e| e.to_string())
}

fn parse_target(text: &str) -> Result<Target, String> {
    if text.contains('/') {
        return parse_net(text).map(Target::Block);
    }
    match text.split_once('-') {
        Some((first, last)) => Ok(Target::Range(parse_addr(first)?, parse_addr(last)?)),
        None => parse_addr(text).map(Target::Addr),
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// The cluster spec (TOML); see examples/ for every key.
    pub(crate) spec: Option<PathBuf>,
    /// `plan` reads no state: this hides the global `--state` from its help (clap propagates a
    /// global argument only to subcommands that do not define it), and still accepts it.
    #[arg(long, hide = true, env = "IPAM_STATE", default_value = "ipam.db")]
    pub(crate) state: PathBuf,
    /// GPUs in the cluster (overrides the spec's `gpus`).
    #[arg(long, value_name = "N")]
    pub(crate) gpus: Option<u32>,
    /// Output format: a table for people, JSON (schema 2), NetBox CSV files, DNS zone files, or an
    /// SVG map (csv and dns write several files into --out DIR).
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
    /// With --previous: drop what the spec no longer has (sites, roles, SUs) instead of keeping it.
    #[arg(long, requires = "previous")]
    pub(crate) prune: bool,
    /// Table: list every segment, aggregate, switch, link and assignment; SVG: name every segment.
    #[arg(long)]
    pub(crate) detail: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    Csv,
    Dns,
    Svg,
}
