//! What the spec's topology implies: nodes, scalable units (SUs), racks, pods, switches, and the
//! devices each L2 role holds per SU.
//!
//! The figures follow the reference clusters (NVIDIA DGX SuperPOD and BasePOD, Juniper's AI
//! data-center design), and are spelled out here because every plan stands on them:
//! - per node: one backend NIC per GPU, 1 frontend (in-band) address, 2 storage ports, 1 BMC;
//! - per SU: one leaf per rail, 2 head nodes on the frontend, 4 storage server ports, and on OOB
//!   the SU's leaves, 8 more switches (storage, in-band and OOB networks) and 16 PDUs;
//! - switches have 64 ports, half of them uplinks (32 per leaf), so one spine layer serves a pod
//!   of 64 leaves (8 SUs of 8 rails). A single-pod fabric has 4 spines per SU (SuperPOD: 4 SUs,
//!   16 spines); a multi-pod fabric is a three-tier fat tree with one spine per leaf and one
//!   super-spine per two leaves (64 SUs: 512 leaves, 512 spines, 256 super-spines);
//! - per 1,000 GPUs: 100 monitoring and 20 load-balancer/gateway addresses (the upper bounds of the
//!   generic budget).

use crate::Role;
use crate::spec::Spec;

pub(crate) const HEAD_NODES_PER_SU: u32 = 2;
pub(crate) const STORAGE_SERVER_PORTS_PER_SU: u32 = 4;
pub(crate) const OTHER_SWITCHES_PER_SU: u32 = 8;
pub(crate) const PDUS_PER_SU: u32 = 16;
pub(crate) const SPINES_PER_SU_ONE_POD: u32 = 4;
pub(crate) const UPLINKS_PER_SWITCH: u32 = 32;
pub(crate) const MONITORING_PER_1000_GPUS: u64 = 100;
pub(crate) const LB_PER_1000_GPUS: u64 = 20;

/// The topology of a spec: counts that do not depend on where anything is placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Figures {
    pub(crate) gpus: u64,
    pub(crate) per_node: u32,
    pub(crate) rails: u32,
    /// NICs of one node on its busiest rail (`gpus_per_node / rails`, rounded up).
    pub(crate) lanes: u32,
    pub(crate) nodes_per_su: u32,
    pub(crate) sus_per_pod: u32,
    pub(crate) nodes_per_rack: u32,
    pub(crate) racks_per_su: u32,
    pub(crate) nodes: u64,
    /// SUs in use.
    pub(crate) sus: u32,
}

/// One L2 role's share of an SU: devices per node and per SU besides the nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct L2Role {
    pub(crate) role: Role,
    /// `storage-port0` when the storage ports have separate subnets, else the role's name.
    pub(crate) name: String,
    pub(crate) per_node: u32,
    pub(crate) extras: u32,
}

impl L2Role {
    /// The storage port this role carries alone (`storage_port_subnets`).
    pub(crate) fn port(&self) -> Option<u32> {
        self.name.strip_prefix("storage-port").and_then(|p| p.parse().ok())
    }

    /// The segment of SU `su` (and rack `rack`), or of the whole generation without an SU:
    /// `storage-su03`, `storage-su03-rack2`, `storage-su03-port1`, `storage-2`.
    pub(crate) fn segment_name(&self, g: &crate::layout::Gen, su: Option<u32>, rack: Option<u32>) -> String {
        let Some(su) = su else { return format!("{}{}", self.name, g.suffix()) };
        let role = self.role.as_str();
        let mut name = format!("{role}-su{su:02}");
        if let Some(rack) = rack {
            name.push_str(&format!("-rack{rack}"));
        }
        if let Some(port) = self.port() {
            name.push_str(&format!("-port{port}"));
        }
        name
    }

    /// Devices of one full SU.
    pub(crate) fn per_su(&self, f: &Figures) -> u64 {
        u64::from(self.per_node) * u64::from(f.nodes_per_su) + u64::from(self.extras)
    }

    /// Devices of one full rack: its nodes' and its share of the SU's extras (extra `j` sits in
    /// rack `j mod racks`).
    pub(crate) fn per_rack(&self, f: &Figures) -> u64 {
        u64::from(self.per_node) * u64::from(f.nodes_per_rack)
            + u64::from(self.extras.div_ceil(f.racks_per_su))
    }

    /// Devices present in SU `su` (its nodes so far, and all of its extras).
    pub(crate) fn in_su(&self, f: &Figures, su: u32) -> u64 {
        u64::from(self.per_node) * u64::from(f.nodes_in_su(su)) + u64::from(self.extras)
    }

    /// Devices present in rack `rack` of SU `su`.
    pub(crate) fn in_rack(&self, f: &Figures, su: u32, rack: u32) -> u64 {
        let nodes = f.nodes_in_su(su).saturating_sub(rack * f.nodes_per_rack).min(f.nodes_per_rack);
        let extras = (0..self.extras).filter(|j| j % f.racks_per_su == rack).count() as u64;
        u64::from(self.per_node) * u64::from(nodes) + extras
    }
}

impl Figures {
    pub(crate) fn new(spec: &Spec) -> Figures {
        let per_node = spec.gpus_per_node.max(1);
        let rails = spec.rails().max(1);
        let nodes_per_su = spec.nodes_per_su.max(1);
        let nodes_per_rack = spec.nodes_per_rack.clamp(1, nodes_per_su);
        let gpus = u64::from(spec.gpus);
        let nodes = gpus.div_ceil(u64::from(per_node));
        Figures {
            gpus,
            per_node,
            rails,
            lanes: per_node.div_ceil(rails),
            nodes_per_su,
            sus_per_pod: spec.sus_per_pod.max(1),
            nodes_per_rack,
            racks_per_su: nodes_per_su.div_ceil(nodes_per_rack),
            nodes,
            sus: u32::try_from(nodes.div_ceil(u64::from(nodes_per_su))).unwrap_or(u32::MAX),
        }
    }

    /// Nodes of SU `su` so far (0 past the last).
    pub(crate) fn nodes_in_su(&self, su: u32) -> u32 {
        let first = u64::from(su) * u64::from(self.nodes_per_su);
        u32::try_from(self.nodes.saturating_sub(first).min(self.nodes_per_su.into())).unwrap_or(0)
    }

    /// GPUs a full SU holds.
    pub(crate) fn gpus_per_su(&self) -> u64 {
        u64::from(self.nodes_per_su) * u64::from(self.per_node)
    }

    /// NICs of one node on rail `rail` (NIC `k` sits on rail `k mod rails`).
    pub(crate) fn nics_on_rail(&self, rail: u32) -> u32 {
        (self.per_node + self.rails - 1 - rail) / self.rails
    }

    /// Spines per SU: 4 in a single-pod fabric, one per leaf in a multi-pod one.
    pub(crate) fn spines_per_su(&self, pods: bool) -> u32 {
        if pods { self.rails } else { SPINES_PER_SU_ONE_POD }
    }

    /// Super-spines per SU: one per two leaves in a multi-pod fabric, none otherwise.
    pub(crate) fn superspines_per_su(&self, pods: bool) -> u32 {
        if pods { self.rails.div_ceil(2) } else { 0 }
    }

    /// The L2 roles laid out per SU (frontend, storage, oob), unless an explicit `count` makes
    /// one of them a single cluster-wide segment.
    pub(crate) fn l2_roles(&self, spec: &Spec) -> Vec<L2Role> {
        let roles = &spec.roles;
        let mut out = Vec::new();
        if roles.frontend.count.is_none() {
            out.push(L2Role {
                role: Role::Frontend,
                name: "frontend".into(),
                per_node: 1,
                extras: HEAD_NODES_PER_SU,
            });
        }
        if roles.storage.count.is_none() {
            if spec.storage_port_subnets {
                for port in 0..2 {
                    out.push(L2Role {
                        role: Role::Storage,
                        name: format!("storage-port{port}"),
                        per_node: 1,
                        extras: STORAGE_SERVER_PORTS_PER_SU / 2,
                    });
                }
            } else {
                out.push(L2Role {
                    role: Role::Storage,
                    name: "storage".into(),
                    per_node: 2,
                    extras: STORAGE_SERVER_PORTS_PER_SU,
                });
            }
        }
        if roles.oob.count.is_none() {
            out.push(L2Role {
                role: Role::Oob,
                name: "oob".into(),
                per_node: 1,
                extras: self.rails + OTHER_SWITCHES_PER_SU + PDUS_PER_SU,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nics_spread_over_rails() {
        let spec = Spec { rails: Some(3), ..Spec::for_gpus(16) };
        let f = Figures::new(&spec);
        // 8 NICs on 3 rails: NICs 0,3,6 / 1,4,7 / 2,5.
        assert_eq!((0..3).map(|r| f.nics_on_rail(r)).collect::<Vec<_>>(), vec![3, 3, 2]);
        assert_eq!(f.lanes, 3);
    }

    #[test]
    fn a_partial_su_holds_what_is_left() {
        let f = Figures::new(&Spec::for_gpus(300));
        assert_eq!((f.nodes, f.sus), (38, 2));
        assert_eq!((f.nodes_in_su(0), f.nodes_in_su(1), f.nodes_in_su(2)), (32, 6, 0));
    }

    #[test]
    fn extras_spread_over_racks() {
        let f = Figures::new(&Spec::for_gpus(256));
        let oob = f.l2_roles(&Spec::for_gpus(256)).pop().unwrap();
        assert_eq!(oob.extras, 32);
        let total: u64 = (0..f.racks_per_su).map(|q| oob.in_rack(&f, 0, q)).sum();
        assert_eq!(total, oob.in_su(&f, 0));
        assert!((0..f.racks_per_su).all(|q| oob.in_rack(&f, 0, q) <= oob.per_rack(&f)));
    }
}
