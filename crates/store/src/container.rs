//! Containers: pools that hand out nothing themselves, whose use is the sum of their children's.

use std::collections::HashMap;

use crate::model::PoolUse;

/// Replaces each container's capacity, allocated and free counts by the sums of its children's
/// (a child container counting its own children), so that a container is full only when every
/// pool under it is. `uses` holds every pool.
pub(crate) fn sum_children(uses: &mut [PoolUse]) {
    let index: HashMap<&str, usize> =
        uses.iter().enumerate().map(|(i, u)| (u.def.name.as_str(), i)).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); uses.len()];
    for (i, u) in uses.iter().enumerate() {
        if let Some(&parent) = u.def.parent.as_deref().and_then(|p| index.get(p)) {
            children[parent].push(i);
        }
    }
    let mut sums: Vec<Option<(u64, u64)>> = vec![None; uses.len()];
    for i in 0..uses.len() {
        sum(i, uses, &children, &mut sums);
    }
    for (u, s) in uses.iter_mut().zip(sums) {
        if u.def.container
            && let Some((capacity, allocated)) = s
        {
            u.capacity = capacity;
            u.allocated = allocated;
            u.free = capacity.saturating_sub(allocated);
        }
    }
}

/// Capacity and allocated addresses of pool `i` as its parent counts them, memoised in `sums`.
/// Depth is the nesting of the plan's aggregates (a handful); a cycle cannot be stored, since a
/// parent exists before its child.
fn sum(i: usize, uses: &[PoolUse], children: &[Vec<usize>], sums: &mut [Option<(u64, u64)>]) -> (u64, u64) {
    if let Some(s) = sums[i] {
        return s;
    }
    let s = if uses[i].def.container {
        children[i].iter().fold((0, 0), |(c, a), &k| {
            let (kc, ka) = sum(k, uses, children, sums);
            (c + kc, a + ka)
        })
    } else {
        (uses[i].capacity, uses[i].allocated)
    };
    sums[i] = Some(s);
    s
}
