//! Running a plan: the store ([`super::store`]: scheduling, journals, chunks) driven with the
//! executor ([`super::exec`]: instances and methods). The store never runs a method itself.

use super::exec::PlanExecutor;
use super::plan::Plan;
use super::store::{self, RunOptions, RunSummary, file_err, merge, read_parquet, write_parquet};
use crate::error::Result;
use polars::prelude::DataFrame;
use std::path::{Path, PathBuf};

/// Run (or resume) `plan` into `dir`: every unfinished run of the shard, in parallel, with durable
/// chunks (see [`super::store`]).
///
/// # Errors
/// The directory checks of [`store::prepare_dir`]; a chunk that cannot be written (the runs done
/// so far stay on disk). Failing runs are rows, not errors.
pub fn run_plan(plan: &Plan, dir: &Path, opts: &RunOptions) -> Result<RunSummary> {
    store::run_plan_with(plan, dir, opts, &PlanExecutor::for_plan(plan))
}

/// Run `plan` unless `path` already holds its merged results (same plan hash), then return the
/// table. The work directory `{path}.runs/` keeps the chunks, so an interrupted call resumes.
/// The notebook pattern: `let df = run_cached(&Plan::from_toml_str(PLAN)?, cache_path("x.parquet"))?;`
///
/// # Errors
/// As [`run_plan`] and [`merge`].
pub fn run_cached(plan: &Plan, path: impl AsRef<Path>) -> Result<DataFrame> {
    let path = path.as_ref();
    if path.exists() {
        let df = read_parquet(path)?;
        let hashes = crate::table::column_str(&df, "plan_hash")?;
        if hashes.first().is_some_and(|h| *h == plan.hash) {
            return Ok(df);
        }
        // stdout: a notice, not a failure (notebook runners treat stderr as an error)
        println!(
            "{} holds another plan's results; running plan {}",
            path.display(),
            plan.hash
        );
    }
    let mut work = path.as_os_str().to_owned();
    work.push(format!(".runs-{}", plan.hash));
    let work = PathBuf::from(work);
    run_plan(plan, &work, &RunOptions::default())?;
    let df = merge(&work)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| file_err("write", parent, e))?;
    }
    write_parquet(&df, path)?;
    Ok(df)
}
