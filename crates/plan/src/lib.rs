//! Turns an AI/GPU cluster description into a topology-true IPv4 address plan.
//!
//! Give it a GPU count, or a [`Spec`] in TOML, and it lays the cluster out top-down from its
//! topology in a private block (`10.0.0.0/8` by default): pods, scalable units (SUs) and racks,
//! each level reserved for growth and one aligned route. The backend gets a /31 per GPU NIC by
//! topology position in a block per (SU, rail) leaf; frontend, storage and out-of-band get an L2
//! segment per SU with VLAN ids reused per SU; every switch gets a loopback, an ASN and a
//! management address; monitoring, load balancers, anycast endpoints and edge sites complete it.
//! Blocks are placed by [`ipam_core`]'s allocator, so they are aligned and never overlap, and
//! growing within the headroom ([`replan`]) never renumbers anything.
//!
//! ```
//! use ipam_plan::{plan, Spec};
//!
//! let spec = Spec::from_toml(r#"
//!     gpus = 1024
//!     growth = 1.5
//!     [roles.frontend]
//!     vlan = 121
//!     [[anycast]]
//!     name = "llm-chat"
//!     [[site]]
//!     name = "store-001"
//!     devices = 250
//! "#)?;
//! let plan = plan(&spec)?;
//! plan.check()?;
//! for s in &plan.segments {
//!     println!("{:<16} {:<18} vlan {:?} mtu {}", s.name, s.cidr, s.vlan.map(|v| v.get()), s.mtu);
//! }
//! println!("{}", plan.to_json());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Organization
//! - [`Spec`] (with [`Roles`], [`RoleSpec`], [`Site`], [`Anycast`], [`LeafEnd`], [`Numbering`],
//!   [`L2Scope`], [`VlanScope`]): the cluster description; [`Spec::from_toml`] reads one,
//!   [`Spec::for_gpus`] makes one from a GPU count.
//! - [`plan`], [`replan`] and [`replan_pruning`] (growth on top of a previous plan, which never
//!   moves a segment); [`assign`] adds per-node addresses by position.
//! - [`Plan`], [`Segment`], [`Aggregate`], [`Switch`], [`Link`], [`Scope`], [`Topology`],
//!   [`Summary`]: the result; [`Plan::to_json`] / [`Plan::from_json`] (schema [`SCHEMA`], and 1)
//!   and [`Plan::check`], every plan invariant as one call.
//! - [`render`]: the table (compact and detailed), NetBox CSV files, DNS zones and the
//!   Hilbert-curve SVG map; [`switches`]: the ASN plan.
//! - [`VlanId`], [`Role`], [`Kind`]: checked VLAN ids, segment roles and how each kind of segment
//!   reserves addresses.
//!
//! # Features
//! - `proptest`: [`strategies`] with a strategy for valid cluster specs, for users' own property
//!   tests.

mod assign;
mod check;
mod edge;
mod error;
mod layout;
mod model;
mod numbering;
mod planner;
mod position;
pub mod render;
mod role;
mod scope;
mod settings;
mod sizing;
mod space;
mod spec;
#[cfg(feature = "proptest")]
pub mod strategies;
mod summary;
pub mod switches;
mod topology;
mod validate;
mod vlan;

pub use assign::assign;
pub use check::Violation;
pub use error::Error;
pub use model::{
    Aggregate, AnycastAddress, BudgetLine, Generation, Interface, Link, NodeAssignment, Plan, RoleTotal,
    SCHEMA, Segment, Summary, Switch, Topology,
};
pub use planner::{plan, replan, replan_pruning};
pub use role::{Role, UnknownRole};
pub use scope::Scope;
pub use sizing::Kind;
pub use spec::{
    Anycast, BackendAddressing, FabricLinks, L2Scope, LeafEnd, Numbering, RoleSpec, Roles, Site, Spec,
    Uplink, VlanScope,
};
pub use vlan::VlanId;

/// The README's examples (planner and allocator), run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
