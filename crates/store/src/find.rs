//! Lookups across pools: who holds an address, what an owner holds.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::Error;
use crate::model::Allocation;
use crate::rows;
use crate::store::Store;

/// A pool that contains an address, and the allocation holding it there, if any.
///
/// ```
/// use ipam_store::{PoolDef, Request, Store};
///
/// let mut store = Store::open_in_memory()?;
/// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
/// store.allocate("lab", Request::Block(30), Some("switch-1"))?;
/// let found = store.find("10.9.0.6".parse()?)?;
/// assert_eq!(found[0].pool, "lab");
/// assert_eq!(found[0].allocation.as_ref().unwrap().owner.as_deref(), Some("switch-1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The pool's name.
    pub pool: String,
    /// The pool's network.
    pub cidr: Ipv4Net,
    /// The allocation holding the address (`None`: free or reserved in this pool).
    pub allocation: Option<Allocation>,
}

/// An allocation and the pool it is in.
///
/// ```
/// use ipam_store::{PoolDef, Request, Store};
///
/// let mut store = Store::open_in_memory()?;
/// store.add_pool(&PoolDef::new("a", "10.1.0.0/24".parse()?))?;
/// store.add_pool(&PoolDef::new("b", "10.2.0.0/24".parse()?))?;
/// store.allocate("a", Request::Next, Some("gpu-node-001"))?;
/// store.allocate("b", Request::Next, Some("gpu-node-001"))?;
/// let held = store.find_owner("gpu-node-001")?;
/// assert_eq!(held.iter().map(|h| h.pool.as_str()).collect::<Vec<_>>(), ["a", "b"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Held {
    /// The pool's name.
    pub pool: String,
    /// The allocation.
    pub allocation: Allocation,
}

impl Store {
    /// Every pool containing `addr`, widest first (a parent before its child pools), each with
    /// the allocation holding `addr` there. Empty when no pool contains it.
    ///
    /// ```
    /// # let store = ipam_store::Store::open_in_memory()?;
    /// assert!(store.find("192.0.2.1".parse()?)?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find(&self, addr: Ipv4Addr) -> Result<Vec<Found>, Error> {
        self.read(|conn| {
            rows::pools_containing(conn, addr)?
                .into_iter()
                .map(|row| {
                    let allocation = rows::holding(conn, row.id, addr)?;
                    Ok(Found { pool: row.def.name, cidr: row.def.cidr, allocation })
                })
                .collect()
        })
    }

    /// What `owner` holds in every pool, by pool name.
    ///
    /// ```
    /// # let store = ipam_store::Store::open_in_memory()?;
    /// assert!(store.find_owner("nobody")?.is_empty());
    /// # Ok::<(), ipam_store::Error>(())
    /// ```
    pub fn find_owner(&self, owner: &str) -> Result<Vec<Held>, Error> {
        self.read(|conn| {
            let mut held = rows::everywhere_by_owner(conn, owner)?
                .into_iter()
                .map(|(id, allocation)| Ok(Held { pool: rows::pool_name(conn, id)?, allocation }))
                .collect::<Result<Vec<_>, Error>>()?;
            held.sort_by(|a, b| a.pool.cmp(&b.pool).then(a.allocation.first.cmp(&b.allocation.first)));
            Ok(held)
        })
    }
}
