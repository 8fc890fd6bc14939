//! `ipam check`: the deep check, O(file), for when damage is suspected or on a schedule.

use roaring::RoaringBitmap;

use crate::Error;
use crate::model::CHILD_PREFIX;
use crate::ops::counted_allocations;
use crate::rows::{self, Rows};
use crate::state::PoolState;
use crate::store::Store;

impl Store {
    /// Checks everything: the database's own check of its storage (SQLite's `integrity_check`), every row against its
    /// checksum, every pool's chunks against its summary and counters, every allocation against
    /// the allocator's bitmap, and every child pool against its block in the parent. Returns what
    /// is wrong; empty means the state is sound.
    ///
    /// ```
    /// use ipam_store::{PoolDef, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// store.allocate("lab", Request::Range(5), Some("rack-7"))?;
    /// assert!(store.check()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self) -> Result<Vec<String>, Error> {
        self.read(|conn| {
            let mut problems = conn.integrity()?;
            let pools = match rows::all_pools(conn) {
                Ok(pools) => pools,
                Err(e) => {
                    problems.push(e.to_string());
                    return Ok(problems);
                }
            };
            for row in pools {
                if let Err(e) = check_pool(conn, row) {
                    problems.push(e.to_string());
                }
            }
            Ok(problems)
        })
    }
}

fn check_pool(conn: &dyn Rows, row: rows::PoolRow) -> Result<(), Error> {
    let name = row.def.name.clone();
    let bad = |what: String| crate::damaged(format!("pool `{name}`: {what}"));
    let allocations = counted_allocations(conn, &row)?;
    let mut state = PoolState::from_row(conn, row)?;
    let pool = state.whole(conn)?;
    let mut recorded = RoaringBitmap::new();
    for a in &allocations {
        let range = u32::from(a.first)..=u32::from(a.last);
        if recorded.range_cardinality(range.clone()) > 0 {
            return Err(bad(format!("{a} overlaps another allocation")));
        }
        recorded.insert_range(range);
        if let Some(child) = a.owner.as_deref().and_then(|o| o.strip_prefix(CHILD_PREFIX)) {
            let held = rows::pool_by_name(conn, child)?;
            if held.is_none_or(|c| c.def.cidr.network() != a.first || c.def.cidr.broadcast() != a.last) {
                return Err(bad(format!("{a} is recorded for child pool `{child}`, which does not hold it")));
            }
        }
    }
    if recorded != pool.allocated() {
        return Err(bad("its allocations and its bitmap differ".into()));
    }
    if pool.allocated_count() != state.row.allocated {
        return Err(bad("its address count and its bitmap differ".into()));
    }
    Ok(())
}
