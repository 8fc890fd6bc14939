//! What a GPU count implies: nodes, scalable units, switches, and the addresses each role needs.
//!
//! The figures follow the reference clusters (NVIDIA DGX SuperPOD and BasePOD, Juniper's AI
//! data-center design), and are spelled out here because every plan stands on them:
//! - per node: one backend NIC per GPU, 1 frontend (in-band) address, 2 storage ports, 1 BMC;
//! - per scalable unit (SU): 8 leaf and 4 spine switches, 2 head nodes on the frontend, 4 storage
//!   server ports, and on OOB the SU's fabric switches, 8 more switches (storage, in-band and OOB
//!   networks) and 16 PDUs;
//! - switches have 64 ports, half of them uplinks, so a two-tier fabric stops at 64 leaves (8 SUs);
//!   larger fabrics are three-tier fat trees with one spine per leaf and one core per two leaves
//!   (64 SUs: 512 leaves, 512 spines, 256 cores, as in the SuperPOD reference);
//! - per 1,000 GPUs: 100 monitoring and 20 load-balancer/gateway addresses (the upper bounds of the
//!   generic budget).

use crate::spec::Spec;

const LEAVES_PER_SU: u64 = 8;
const SPINES_PER_SU: u64 = 4;
const UPLINKS_PER_SWITCH: u64 = 32;
const TWO_TIER_MAX_LEAVES: u64 = 64;
const HEAD_NODES_PER_SU: u64 = 2;
const STORAGE_SERVER_PORTS_PER_SU: u64 = 4;
const OTHER_SWITCHES_PER_SU: u64 = 8;
const PDUS_PER_SU: u64 = 16;
const MONITORING_PER_1000_GPUS: u64 = 100;
const LB_PER_1000_GPUS: u64 = 20;

/// Addresses each role needs now, before growth headroom and reservations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Backend NICs on each rail.
    pub(crate) rails: Vec<u64>,
    pub(crate) frontend: u64,
    pub(crate) storage: u64,
    pub(crate) oob: u64,
    pub(crate) monitoring: u64,
    pub(crate) lb: u64,
    /// Switches (a loopback each).
    pub(crate) loopback: u64,
    /// Numbered fabric links (a /31 each), whether or not the spec numbers them.
    pub(crate) fabric_links: u64,
    pub(crate) nodes: u64,
}

impl Counts {
    /// The counts for `spec` as if it had `gpus` GPUs; explicit `count`s do not scale.
    pub(crate) fn new(spec: &Spec, gpus: u64) -> Counts {
        let per_node = u64::from(spec.gpus_per_node.max(1));
        let nodes = gpus.div_ceil(per_node);
        let sus = nodes.div_ceil(u64::from(spec.nodes_per_su.max(1)));
        let leaves = sus * LEAVES_PER_SU;
        let (spines, cores) = if leaves <= TWO_TIER_MAX_LEAVES {
            (sus * SPINES_PER_SU, 0)
        } else {
            (leaves, leaves.div_ceil(2))
        };
        let switches = leaves + spines + cores;
        let fabric_links =
            leaves * UPLINKS_PER_SWITCH + if cores > 0 { spines * UPLINKS_PER_SWITCH } else { 0 };
        let rails = u64::from(spec.rails().max(1));
        let roles = &spec.roles;
        let rail_counts = match roles.backend.count {
            Some(total) => (0..rails).map(|r| total / rails + u64::from(r < total % rails)).collect(),
            // NIC k of every node sits on rail k mod rails.
            None => (0..rails).map(|r| nodes * (per_node.saturating_sub(r)).div_ceil(rails)).collect(),
        };
        Counts {
            rails: rail_counts,
            frontend: roles.frontend.count.unwrap_or(nodes + sus * HEAD_NODES_PER_SU),
            storage: roles.storage.count.unwrap_or(2 * nodes + sus * STORAGE_SERVER_PORTS_PER_SU),
            oob: roles.oob.count.unwrap_or(nodes + switches + sus * (OTHER_SWITCHES_PER_SU + PDUS_PER_SU)),
            monitoring: roles.monitoring.count.unwrap_or((gpus * MONITORING_PER_1000_GPUS).div_ceil(1000)),
            lb: roles.lb.count.unwrap_or((gpus * LB_PER_1000_GPUS).div_ceil(1000)),
            loopback: roles.loopback.count.unwrap_or(switches),
            fabric_links: roles.fabric.count.unwrap_or(fabric_links),
            nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_superpod_switch_counts() {
        let spec = Spec::default();
        // 4 SU: 32 leaves, 16 spines; 64 SU: 512 leaves, 512 spines, 256 cores.
        assert_eq!(Counts::new(&spec, 1024).loopback, 48);
        assert_eq!(Counts::new(&spec, 16_384).loopback, 1_280);
        // Numbered, the 16k fabric needs a /16: 32,768 links.
        assert_eq!(Counts::new(&spec, 16_384).fabric_links, 32_768);
    }

    #[test]
    fn nics_spread_over_rails() {
        let mut spec = Spec { rails: Some(3), ..Spec::default() };
        // 2 nodes of 8 NICs on 3 rails: NICs 0,3,6 / 1,4,7 / 2,5.
        assert_eq!(Counts::new(&spec, 16).rails, vec![6, 6, 4]);
        spec.roles.backend.count = Some(10);
        assert_eq!(Counts::new(&spec, 16).rails, vec![4, 3, 3]);
    }
}
