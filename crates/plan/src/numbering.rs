//! VLAN ids: explicit ones checked, the rest numbered from `vlan_range`, per `vlan_scope`.

use std::collections::{BTreeSet, HashMap};

use crate::model::Segment;
use crate::spec::{Spec, VlanScope};
use crate::{Error, VlanId};

/// Numbers every VLAN segment that has no id yet. `keys[i]` is segment `i`'s template key: under
/// `vlan_scope = "template"` segments with one key share one id, and different keys never do;
/// under `"unique"` every segment has its own id, an explicit role id being where its segments
/// start counting. `kept[i]` marks a segment of the previous plan: its id stands as it is (the
/// previous plan's ids were checked when it was made and read).
pub(crate) fn number(
    spec: &Spec,
    segments: &mut [Segment],
    keys: &[Option<String>],
    kept: &[bool],
) -> Result<(), Error> {
    let [first, last] = spec.vlan_range;
    let mut holder: HashMap<VlanId, (String, Option<&str>)> = HashMap::new();
    let mut key_ids: HashMap<&str, VlanId> = HashMap::new();
    let template = spec.vlan_scope == VlanScope::Template;
    // Under "unique", the further segments of a role with an explicit id count upwards from it.
    let mut upward: Vec<(usize, u16)> = Vec::new();
    // Ids already decided (kept from the previous plan, or explicit in the spec) come first.
    for (i, (s, key)) in segments.iter().zip(keys).enumerate() {
        let Some(vlan) = s.vlan else { continue };
        let key = key.as_deref();
        if kept[i] {
            holder.entry(vlan).or_insert((s.name.clone(), key));
            if let (true, Some(key)) = (template, key) {
                key_ids.entry(key).or_insert(vlan);
            }
            continue;
        }
        if let Some((first, other)) = holder.get(&vlan) {
            if !template && key.is_some() && *other == key {
                upward.push((i, vlan.get()));
                continue;
            }
            if !template || *other != key || key.is_none() {
                return Err(Error::VlanTaken { vlan, first: first.clone(), second: s.name.clone() });
            }
        }
        holder.entry(vlan).or_insert((s.name.clone(), key));
        if let (true, Some(key)) = (template, key) {
            key_ids.entry(key).or_insert(vlan);
        }
    }
    let mut used: BTreeSet<u16> = holder.keys().map(|v| v.get()).collect();
    let next_free = |from: u16, used: &mut BTreeSet<u16>, name: &str| -> Result<VlanId, Error> {
        // An explicit id may sit above the range: counting up from it may go to 4094.
        let end = if from > last.get() { VlanId::MAX.get() } else { last.get() };
        let id = (from..=end).find(|v| !used.contains(v));
        let id = id.ok_or_else(|| Error::VlansExhausted { first, last, segment: name.to_owned() })?;
        used.insert(id);
        VlanId::new(id.into())
    };
    for (i, from) in upward {
        let id = next_free(from, &mut used, &segments[i].name)?;
        segments[i].vlan = Some(id);
    }
    for (s, key) in segments.iter_mut().zip(keys) {
        if !s.kind.has_vlan() || s.vlan.is_some() {
            continue;
        }
        let key = key.as_deref();
        if template && let Some(id) = key.and_then(|k| key_ids.get(k)) {
            s.vlan = Some(*id);
            continue;
        }
        let id = next_free(first.get(), &mut used, &s.name)?;
        s.vlan = Some(id);
        if let (true, Some(key)) = (template, key) {
            key_ids.insert(key, id);
        }
    }
    Ok(())
}
