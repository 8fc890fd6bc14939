//! Apply: create the pools of an address plan, idempotently.

use std::net::Ipv4Addr;

use ipam_plan::{Kind, Plan};
use ipnet::Ipv4Net;
use serde::Serialize;

use crate::Error;
use crate::model::PoolDef;
use crate::rows;
use crate::store::{Store, add_pool_in};

/// What [`Store::apply`] did.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(64))?;
/// let mut store = ipam_store::Store::open_in_memory()?;
/// let first = store.apply(&plan)?;
/// let again = store.apply(&plan)?;
/// assert!(again.created.is_empty() && again.unchanged.len() == first.created.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Pools created now.
    pub created: Vec<String>,
    /// Pools that existed already, exactly as the plan has them.
    pub unchanged: Vec<String>,
}

impl Store {
    /// Creates a pool for every aggregate and segment of `plan` (in one transaction). Aggregates nest
    /// (pods in rails in the backend): each becomes a child pool of the one around it, and each
    /// segment a child pool of the smallest aggregate holding it. A VLAN segment reserves its network, gateway, the switches'
    /// VRR pair and broadcast, as the planner counts them; /31 links and /32 hosts reserve nothing.
    /// Pools that exist with the same definition are left alone; one that exists differently is an
    /// error, and nothing is created.
    ///
    /// ```
    /// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.apply(&plan)?;
    /// let storage = store.pool("storage-su00")?;
    /// assert_eq!(storage.def.parent.as_deref(), Some("storage"));
    /// assert_eq!(storage.stats.capacity, plan.segments.iter().find(|s| s.name == "storage-su00").unwrap().usable);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(&mut self, plan: &Plan) -> Result<Applied, Error> {
        plan.check().map_err(|v| Error::Apply { reason: format!("the plan breaks an invariant: {v}") })?;
        // The smallest aggregate of the same role strictly holding `net`: aggregates nest (a pod
        // in a rail in the backend), and each becomes a child pool of the one around it.
        let parent_of = |net: Ipv4Net, role| {
            plan.aggregates
                .iter()
                .filter(|a| a.role == role && a.cidr != net && a.cidr.contains(&net))
                .max_by_key(|a| a.cidr.prefix_len())
                .map(|a| a.name.clone())
        };
        let mut aggregates: Vec<&ipam_plan::Aggregate> = plan.aggregates.iter().collect();
        aggregates.sort_by_key(|a| a.cidr.prefix_len());
        let mut defs: Vec<PoolDef> = aggregates
            .iter()
            .map(|a| PoolDef {
                network_broadcast: false,
                parent: parent_of(a.cidr, a.role),
                ..PoolDef::new(&a.name, a.cidr)
            })
            .collect();
        for s in &plan.segments {
            let parent = plan
                .aggregates
                .iter()
                .filter(|a| a.cidr.contains(&s.cidr) && a.role == s.role)
                .max_by_key(|a| a.cidr.prefix_len())
                .map(|a| a.name.clone());
            let mut def = PoolDef { parent, ..PoolDef::new(&s.name, s.cidr) };
            def.network_broadcast = s.kind == Kind::Subnet;
            if let Some(gateway) = s.gateway {
                def.exclusions = (0..3)
                    .map(|k| Ipv4Addr::from(u32::from(gateway).saturating_add(k)))
                    .filter(|a| s.cidr.contains(a))
                    .map(Ipv4Net::from)
                    .collect();
            }
            defs.push(def);
        }
        let now = self.now();
        self.write(|tx, touched| {
            let mut applied = Applied::default();
            for def in &defs {
                match rows::pool_by_name(tx, &def.name)? {
                    Some(existing) if existing.def == *def => applied.unchanged.push(def.name.clone()),
                    Some(existing) => {
                        return Err(Error::Apply {
                            reason: format!(
                                "pool `{}` exists as {} with other settings; remove it or rename the segment",
                                def.name, existing.def.cidr
                            ),
                        });
                    }
                    None => {
                        add_pool_in(tx, touched, def, now)?;
                        applied.created.push(def.name.clone());
                    }
                }
            }
            Ok(applied)
        })
    }
}
