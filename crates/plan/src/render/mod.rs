//! Plans for people and for other tools: a text table, NetBox CSV files, DNS zones, an SVG map.
//!
//! ```
//! use ipam_plan::{plan, render, Spec};
//!
//! let plan = plan(&Spec::for_gpus(256))?;
//! assert!(render::table_detail(&plan).contains("backend-su00-rail0"));
//! assert!(render::prefixes_csv(&plan).starts_with("prefix,status,vlan_group,vlan,role,is_pool,description\n"));
//! assert!(render::svg(&plan).starts_with("<svg"));
//! # Ok::<(), ipam_plan::Error>(())
//! ```

mod csv;
mod dns;
mod names;
mod svg;
mod svg_panel;
mod table;

pub use csv::{ip_addresses_csv, prefixes_csv, vlan_groups_csv, vlans_csv};
pub use dns::dns_zones;
pub use names::{NamedAddress, named_addresses};
pub use svg::{svg, svg_detail};
pub use table::{table, table_detail};

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The blocks of `set` that strictly contain `net`, innermost first: a walk up its supernets,
/// 32 lookups at most (where testing every block would cost the plan's size per call).
pub(crate) fn enclosing<'a>(
    set: &'a std::collections::HashMap<ipnet::Ipv4Net, usize>,
    net: ipnet::Ipv4Net,
) -> impl Iterator<Item = usize> + 'a {
    (0..net.prefix_len()).rev().filter_map(move |len| {
        let supernet = ipnet::Ipv4Net::new(net.network(), len).ok()?.trunc();
        set.get(&supernet).copied()
    })
}

/// Each aggregate's index by its CIDR, for [`enclosing`].
pub(crate) fn aggregate_index(plan: &crate::Plan) -> std::collections::HashMap<ipnet::Ipv4Net, usize> {
    plan.aggregates.iter().enumerate().map(|(i, a)| (a.cidr, i)).collect()
}

/// The aggregates no other aggregate holds, in plan order.
pub(crate) fn outer_aggregates<'a>(
    plan: &'a crate::Plan,
    index: &std::collections::HashMap<ipnet::Ipv4Net, usize>,
) -> Vec<&'a crate::Aggregate> {
    plan.aggregates.iter().filter(|a| enclosing(index, a.cidr).next().is_none()).collect()
}
