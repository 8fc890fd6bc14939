//! Where a device sits inside its L2 segment: fixed by its position in the topology, so that
//! growth never moves it. Offsets 0-3 of every VLAN segment are the network address, the
//! gateway and the switches' VRR pair.

use crate::layout::Gen;
use crate::spec::{L2Scope, Spec};
use crate::topology::{Figures, L2Role};

/// The first host offset of a VLAN segment (after network, gateway and the VRR pair).
pub(crate) const FIRST_HOST: u64 = 4;

/// A device on an L2 role in one SU.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Device {
    /// Port `port` of the SU's node `index` (0-based inside the SU).
    Node { index: u32, port: u32 },
    /// The SU's `j`-th device besides the nodes (head nodes, storage servers, leaves, PDUs...).
    Extra(u32),
}

/// The segment name and offset of `device` of SU `su` on `l2`.
pub(crate) fn l2_place(
    spec: &Spec,
    f: &Figures,
    g: &Gen,
    l2: &L2Role,
    su: u32,
    device: Device,
) -> (String, u64) {
    let per_node = u64::from(l2.per_node);
    let in_su = match device {
        Device::Node { index, port } => u64::from(index) * per_node + u64::from(port),
        Device::Extra(j) => per_node * u64::from(f.nodes_per_su) + u64::from(j),
    };
    match spec.l2_scope {
        L2Scope::Su => (l2.segment_name(g, Some(su), None), FIRST_HOST + in_su),
        L2Scope::Cluster => (l2.segment_name(g, None, None), FIRST_HOST + g.slot(su) * l2.per_su(f) + in_su),
        L2Scope::Rack => {
            let racks = f.racks_per_su;
            let (rack, offset) = match device {
                Device::Node { index, port } => (
                    index / f.nodes_per_rack,
                    u64::from(index % f.nodes_per_rack) * per_node + u64::from(port),
                ),
                Device::Extra(j) => {
                    (j % racks, per_node * u64::from(f.nodes_per_rack) + u64::from(j / racks))
                }
            };
            (l2.segment_name(g, Some(su), Some(rack)), FIRST_HOST + offset)
        }
    }
}
