//! In-process sweeps: a [`Grid`] of instance parameters (crossed axes and coupled keys) ×
//! repetitions, run in parallel with rayon, returning one tidy polars [`DataFrame`].
//!
//! # Row identity (designed for persistence and sharding)
//! Each work item is one (grid point, repetition). Its identity is `item` (a dense index
//! `point * reps + rep`, stable for a given grid), `instance` (the canonical string of the point,
//! e.g. `dim=64,sparsity=5`) and `rep`. Its seed is
//! [`derive_seed`]`(base_seed, "{instance}/rep={rep}")` — never a thread, shard or method — so every
//! method sees the same instance and a shard `i/N` (items with `item % N == i`) reproduces the same
//! rows as the full run. Within an item, rows are identified by (`method`, `iter`).
//!
//! # Columns
//! `item`, `instance`, `rep`, `seed`, `method`, `iter`, `time_s`, `p_inst_*` (grid values),
//! `p_method_*` (method parameters), `m_*` (metrics, null where a method does not report one),
//! `termination`. An item whose closure returns `Err` yields one row with `termination =
//! "error: …"`: a sweep never loses rows.

pub mod adaptive;
pub mod exec;
pub mod lock;
pub mod plan;
pub mod rule;
pub mod run;
pub mod slurm;
pub mod store;

pub use plan::{Plan, PlanMethod, RecordMode};
pub use run::{run_cached, run_plan};
pub use store::{RunOptions, RunSummary, Shard, Status, cache_path, merge, plan_path, status};

use crate::table::{Item, Point, Row, Value, to_frame};

use crate::error::{Error, Result};
use crate::rng::derive_seed;
use polars::prelude::DataFrame;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct GridAxis {
    keys: Vec<String>,
    tuples: Vec<Vec<Value>>,
}

/// The most work items (grid points × repetitions) a sweep may have: far beyond what a machine
/// runs (10⁸ runs of a millisecond each are 28 hours), and small enough that expanding the list
/// is never the failure.
pub const MAX_ITEMS: usize = 100_000_000;

/// Grids and item lists up to this length are expanded without a memory check (a few MB at most).
const SMALL_LIST: usize = 100_000;

/// Cross-product of axes; a coupled axis sweeps several keys jointly (benchopt's
/// `'n_samples, n_features': [(100, 10), …]`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Grid {
    axes: Vec<GridAxis>,
}

impl Grid {
    /// Empty grid (one point with no keys).
    pub fn new() -> Self {
        Self::default()
    }
    /// Add a crossed axis.
    pub fn axis<V: Into<Value>>(mut self, key: &str, values: impl IntoIterator<Item = V>) -> Self {
        self.axes.push(GridAxis {
            keys: vec![key.to_string()],
            tuples: values.into_iter().map(|v| vec![v.into()]).collect(),
        });
        self
    }
    /// Add a coupled axis: `keys` take the values of each tuple jointly.
    pub fn coupled(mut self, keys: &[&str], tuples: Vec<Vec<Value>>) -> Self {
        self.axes.push(GridAxis {
            keys: keys.iter().map(|s| s.to_string()).collect(),
            tuples,
        });
        self
    }
    /// The number of points, counted before anything is expanded.
    ///
    /// # Errors
    /// More than [`MAX_ITEMS`] points.
    pub fn size(&self) -> Result<usize> {
        self.axes
            .iter()
            .try_fold(1usize, |a, ax| a.checked_mul(ax.tuples.len()))
            .filter(|&n| n <= MAX_ITEMS)
            .ok_or_else(|| {
                Error::invalid(
                    "grid",
                    self.axes
                        .iter()
                        .map(|a| format!("{} × {}", a.keys.join(","), a.tuples.len()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    format!("at most {MAX_ITEMS} points: split the plan into several"),
                )
            })
    }
    /// All points, first axis slowest.
    ///
    /// # Errors
    /// An empty axis, a tuple whose length differs from its keys, a key defined twice.
    pub fn points(&self) -> Result<Vec<Point>> {
        let mut seen = std::collections::HashSet::new();
        for ax in &self.axes {
            for k in &ax.keys {
                if !seen.insert(k.clone()) {
                    return Err(Error::invalid("grid", k, "each key on one axis only"));
                }
            }
            if ax.tuples.is_empty() {
                return Err(Error::invalid(
                    "grid",
                    ax.keys.join(","),
                    "at least one value per axis",
                ));
            }
            if let Some(t) = ax.tuples.iter().find(|t| t.len() != ax.keys.len()) {
                return Err(Error::invalid(
                    "grid",
                    format!("{:?} for keys {:?}", t, ax.keys),
                    "tuples as long as the coupled keys",
                ));
            }
        }
        let n = self.size()?;
        let keys: usize = self.axes.iter().map(|a| a.keys.len()).sum();
        let per_point = 64 + keys as u128 * (std::mem::size_of::<(String, Value)>() as u128 + 32);
        // the list is the sweep's bookkeeping, not a run's allocation: checked only where it
        // could matter (a small grid passes even a plan's tiny `max_memory` meant for its runs)
        if n > SMALL_LIST {
            crate::mem::check(
                format!("expanding a grid of {n} points"),
                (n as u128).saturating_mul(per_point),
            )?;
        }
        let mut pts = vec![Point(vec![])];
        for ax in &self.axes {
            let mut next = Vec::with_capacity(pts.len() * ax.tuples.len());
            for p in &pts {
                for t in &ax.tuples {
                    let mut q = p.clone();
                    q.0.extend(ax.keys.iter().cloned().zip(t.iter().cloned()));
                    next.push(q);
                }
            }
            pts = next;
        }
        Ok(pts)
    }
}

/// A sweep over a grid × repetitions.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sweep {
    /// Instance grid.
    pub grid: Grid,
    /// Repetitions per grid point.
    pub reps: usize,
    /// Base seed.
    pub base_seed: u64,
}

impl Sweep {
    /// A sweep with one repetition and base seed 0.
    pub fn new(grid: Grid) -> Self {
        Sweep {
            grid,
            reps: 1,
            base_seed: 0,
        }
    }
    /// Repetitions.
    pub fn reps(mut self, r: usize) -> Self {
        self.reps = r;
        self
    }
    /// Base seed.
    pub fn base_seed(mut self, s: u64) -> Self {
        self.base_seed = s;
        self
    }
    /// The work items, in `item` order.
    pub fn items(&self) -> Result<Vec<Item>> {
        if self.reps == 0 {
            return Err(Error::invalid("reps", 0, "at least one repetition"));
        }
        let n = self
            .grid
            .size()?
            .checked_mul(self.reps)
            .filter(|&n| n <= MAX_ITEMS)
            .ok_or_else(|| {
                Error::invalid(
                    "reps",
                    self.reps,
                    format!(
                        "at most {MAX_ITEMS} items (grid points × reps): lower reps or split the plan"
                    ),
                )
            })?;
        if n > SMALL_LIST {
            crate::mem::check(
                format!("a sweep's list of {n} work items"),
                (n as u128).saturating_mul(std::mem::size_of::<Item>() as u128 + 64),
            )?;
        }
        let pts = self.grid.points()?;
        let mut out = Vec::with_capacity(n);
        for (pi, p) in pts.into_iter().enumerate() {
            let instance = p.id();
            for rep in 0..self.reps {
                let seed = derive_seed(self.base_seed, &format!("{instance}/rep={rep}"));
                out.push(Item {
                    item: pi * self.reps + rep,
                    point: p.clone(),
                    instance: instance.clone(),
                    rep,
                    seed,
                });
            }
        }
        Ok(out)
    }

    /// Run `f` on every item in parallel (rayon) and assemble the tidy table. Items that fail
    /// become `termination = "error: …"` rows. Rows are ordered by item, then as `f` returned them.
    pub fn run<F>(&self, f: F) -> Result<DataFrame>
    where
        F: Fn(&Item) -> Result<Vec<Row>> + Sync,
    {
        let items = self.items()?;
        let results: Vec<(Item, Vec<Row>)> = items
            .into_par_iter()
            .map(|it| {
                let t = Instant::now();
                let rows = match f(&it) {
                    Ok(r) if !r.is_empty() => r,
                    Ok(_) => vec![Row {
                        termination: "error: the item produced no rows".into(),
                        time_s: t.elapsed().as_secs_f64(),
                        ..Row::default()
                    }],
                    Err(e) => vec![Row {
                        termination: format!("error: {e}"),
                        time_s: t.elapsed().as_secs_f64(),
                        ..Row::default()
                    }],
                };
                (it, rows)
            })
            .collect();
        to_frame(&results)
    }
}
