//! Durable, resumable, shardable execution of a [`Plan`] into a results directory.
//!
//! # Layout of a results directory
//! ```text
//! DIR/meta.json        plan hash, plan name, counts, crate version (written once; a different plan is refused)
//! DIR/plan.toml        the plan's text
//! DIR/chunks/*.parquet the rows, in chunks; every run's rows are in exactly one chunk
//! DIR/journal/*.jsonl  runs finished since the last chunk of a running (or killed) sweep
//! DIR/locks/*.lock     advisory locks of the running sweeps, with their PIDs (`super::lock`)
//! DIR/slurm/…          scripts written by `dictlab emit-slurm` (optional)
//! DIR/all.parquet      the merged table (`dictlab merge DIR -o DIR/all.parquet`)
//! ```
//!
//! # Durability
//! A run (one method on one item) is finished when its rows are on disk. Each worker appends a
//! finished run to the process's journal (`DIR/journal/*.jsonl`, one line per run, floats as their
//! bits so nothing is rounded) in one `write` — a `kill -9` cannot take back what the kernel has
//! received, so a crash loses only the runs in flight (and a line cut mid-write is ignored).
//! Every few seconds, and at the end, the writer rotates the journal and turns the runs of the old
//! one into a parquet chunk — written to a temporary name, `fsync`ed, renamed, so a chunk is whole
//! or absent — then deletes the old journal. Rerunning the same command first moves the runs left
//! in its shard's journals into a chunk (skipping any already in a chunk), then skips every
//! finished run, redoes the others, and never writes a run twice. Journals are cheap (a JSON line
//! per run) where a chunk per run would cost a parquet encode and an `fsync` each.
//!
//! # Integrity
//! A chunk's name ends with the first 16 hex digits of the SHA-256 of its bytes, so the checksum
//! is written atomically with the file; every journal line ends with the checksum of its JSON, and
//! a line that fails it is ignored (its run redone). `merge` and `status` verify it and name a corrupt chunk
//! with the fix; they never move files. A sweep (holding its lock) and `dictlab repair` move
//! corrupt chunks to `chunks/corrupt/` (their runs are redone by the next sweep); `repair` also
//! keeps a run found in two chunks in the first only. One process writes a directory's shard at a
//! time ([`super::lock`]); the temporary files a killed writer left are removed by the next run of
//! that shard.
//!
//! # Sharding
//! `--shard i/N` runs the items whose id satisfies `item % N == i` (all methods of an item stay in
//! one shard, so its instance is drawn once); `--shard auto` reads `SLURM_ARRAY_TASK_ID` and
//! `SLURM_ARRAY_TASK_COUNT`. Seeds never depend on the shard, so merged shards equal a single run.
//!
//! # Threads
//! `W` workers (default: rayon's thread count ÷ `threads_per_run`) each own a rayon pool of
//! `threads_per_run` threads, and each run executes inside its worker's pool: runs never share a
//! pool, so a run computes the same bits whatever else runs beside it.

mod journal;
mod runner;
mod status;

pub use runner::run_plan_with;
pub use status::{Repair, Status, merge, merge_partial, repair, status, union_concat};

use super::plan::Plan;
use crate::error::{Error, Result};
use crate::table::{Item, Row, Value, to_frame};
use polars::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// Git revision the binary was built from (`unknown` outside a git checkout).
pub const GIT_REV: &str = env!("DICTLAB_GIT_REV");

/// Which items a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard's index i (0-based).
    pub index: usize,
    /// Number of shards N.
    pub count: usize,
}

impl Shard {
    /// The whole plan (shard 0/1).
    pub fn all() -> Self {
        Shard { index: 0, count: 1 }
    }
    /// Parse `i/N` (0 ≤ i < N) or `auto` (SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT).
    ///
    /// # Errors
    /// A malformed spec, or `auto` outside a Slurm array job.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("shard", s, why.to_string());
        if s == "auto" {
            let var = |k: &str| {
                std::env::var(k)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
            };
            let (Some(i), Some(n)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT"))
            else {
                return Err(bad(
                    "`auto` inside a Slurm array job (SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT set); elsewhere give i/N",
                ));
            };
            return Self::parse(&format!("{i}/{n}"));
        }
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| bad("i/N, e.g. 3/64, or auto"))?;
        let i: usize = i.trim().parse().map_err(|_| bad("i/N with integers"))?;
        let n: usize = n.trim().parse().map_err(|_| bad("i/N with integers"))?;
        if n == 0 || i >= n {
            return Err(bad("0 ≤ i < N"));
        }
        Ok(Shard { index: i, count: n })
    }
    /// Whether `item` belongs to this shard.
    pub fn owns(&self, item: usize) -> bool {
        item % self.count == self.index
    }
    fn tag(&self) -> String {
        format!("s{}of{}", self.index, self.count)
    }
}

/// How [`crate::sweep::run_plan`] runs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Items to run.
    pub shard: Shard,
    /// Concurrent runs (0: rayon's thread count ÷ `threads_per_run`).
    pub workers: usize,
    /// Draw a progress bar on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// Seconds between two chunk writes (finished runs reach the journal at once; default 5).
    pub chunk_every_s: f64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            shard: Shard::all(),
            workers: 0,
            progress: false,
            chunk_every_s: 5.0,
        }
    }
}

/// What [`crate::sweep::run_plan`] did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RunSummary {
    /// Plan hash.
    pub plan_hash: String,
    /// Runs in this shard.
    pub runs_in_shard: usize,
    /// Runs found finished on disk and skipped (recovered ones included).
    pub runs_skipped: usize,
    /// Runs an interrupted process had journaled but not yet put in a chunk, moved to a chunk now.
    pub runs_recovered: usize,
    /// Runs executed now.
    pub runs_done: usize,
    /// Chunks written now.
    pub chunks_written: usize,
    /// Concurrent runs used.
    pub workers: usize,
    /// Runs executed now that ended in an error row, by message (most frequent first).
    pub runs_failed: usize,
    /// `(message, count)` of the failed runs, most frequent first.
    pub errors: Vec<(String, usize)>,
    /// Stale temporary files of this shard removed at start (left by a killed writer).
    pub tmp_removed: usize,
    /// Wall time (s).
    pub elapsed_s: f64,
}

pub(crate) use crate::io::{create_if_absent, file_err, write_bytes as write_bytes_atomic};

/// What a sweep computes, given to the store by its caller (`sweep::exec`): the store schedules,
/// journals and writes runs but never runs a method itself.
pub trait Execute: Sync {
    /// An item's instance, drawn once for all its methods.
    type Drawn;
    /// Draw `item`'s instance (inside the run's thread pool).
    fn draw(&self, pool: &rayon::ThreadPool, item: &Item) -> Self::Drawn;
    /// The rows of method `j` of `plan` on the drawn instance (error rows, never a panic).
    fn run(
        &self,
        drawn: &Self::Drawn,
        pool: &rayon::ThreadPool,
        plan: &Plan,
        item: &Item,
        j: usize,
    ) -> Vec<Row>;
}

/// Write a frame as parquet, atomically.
///
/// # Errors
/// I/O and polars errors (naming the path).
pub fn write_parquet(df: &DataFrame, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let mut df = df.clone();
    crate::io::write_with(path, |f| {
        ParquetWriter::new(f).finish(&mut df)?;
        Ok(())
    })
}

/// Read a parquet file.
///
/// # Errors
/// I/O and polars errors (naming the path).
pub fn read_parquet(path: impl AsRef<Path>) -> Result<DataFrame> {
    let path = path.as_ref();
    let f = std::fs::File::open(path).map_err(|e| file_err("read", path, e))?;
    ParquetReader::new(f)
        .finish()
        .map_err(|e| file_err("read", path, e))
}

/// Read a merged results table (`dictlab merge`'s output) and check that it is one: the columns
/// every dictlab results table has, and at least one row.
///
/// # Errors
/// Unreadable file; [`Error::Format`] "not a dictlab results table" (naming the missing columns)
/// or an empty table.
pub fn read_results(path: impl AsRef<Path>) -> Result<DataFrame> {
    let path = path.as_ref();
    let df = read_parquet(path)?;
    let names: Vec<String> = df.columns().iter().map(|c| c.name().to_string()).collect();
    let missing: Vec<&str> = ["item", "method", "iter", "termination", "plan_hash"]
        .into_iter()
        .filter(|c| !names.iter().any(|n| n == c))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            expected: "a dictlab results table (the output of `dictlab merge`)".into(),
            detail: format!("a parquet table without the columns {missing:?}"),
        });
    }
    if df.height() == 0 {
        return Err(Error::Format {
            path: path.to_path_buf(),
            expected: "a results table with at least one run".into(),
            detail: "an empty table".into(),
        });
    }
    Ok(df)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    plan_hash: String,
    plan_name: String,
    items: usize,
    methods: Vec<String>,
    crate_version: String,
}

fn chunk_dir(dir: &Path) -> PathBuf {
    dir.join("chunks")
}

/// Create (or reopen) a results directory for `plan`: checks it is writable and that it holds no
/// other plan's results, before any work starts.
///
/// # Errors
/// An unwritable directory (with the path and the OS error), a directory holding another plan
/// (with both hashes).
pub fn prepare_dir(plan: &Plan, dir: &Path) -> Result<()> {
    let hint = |e: std::io::Error| Error::File {
        action: "create the results directory",
        path: dir.to_path_buf(),
        source: format!("{e} — choose a writable --out directory").into(),
    };
    std::fs::create_dir_all(chunk_dir(dir)).map_err(hint)?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(hint)?;
    let _ = std::fs::remove_file(&probe);
    let check = |old: Meta| {
        if old.plan_hash != plan.hash {
            return Err(Error::Results(format!(
                "{} holds results of plan hash {}, this plan has hash {}: use another --out directory (or delete that one to start over)",
                dir.display(),
                old.plan_hash,
                plan.hash
            )));
        }
        Ok(())
    };
    if let Some(old) = read_meta(dir)? {
        check(old)?;
    } else {
        let meta = Meta {
            plan_hash: plan.hash.clone(),
            plan_name: plan.name.clone(),
            items: plan.items()?.len(),
            methods: plan.methods.iter().map(|m| m.id.clone()).collect(),
            crate_version: env!("CARGO_PKG_VERSION").into(),
        };
        // claim the directory: meta.json is created only where none exists, so of two sweeps of
        // different plans started at once into one new directory exactly one wins and the other
        // is refused before it writes anything else
        if !create_if_absent(&dir.join("meta.json"), &serde_json::to_vec_pretty(&meta)?)? {
            let old = read_meta(dir)?.ok_or_else(|| {
                Error::Results(format!(
                    "{}: meta.json vanished while claimed",
                    dir.display()
                ))
            })?;
            check(old)?;
        }
    }
    // the plan of the claimed directory (also after a crash between the two writes)
    if !dir.join("plan.toml").exists() {
        write_bytes_atomic(&dir.join("plan.toml"), plan.source.as_bytes())?;
    }
    Ok(())
}

/// `DIR/meta.json`, if the directory has one.
fn read_meta(dir: &Path) -> Result<Option<Meta>> {
    let path = dir.join("meta.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Format {
                path: path.clone(),
                expected:
                    "the meta.json a sweep writes (delete it: the next `dictlab sweep` rewrites it)"
                        .into(),
                detail: format!("invalid JSON ({e})"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(file_err("read", &path, e)),
    }
}

/// The plan stored in a results directory.
///
/// # Errors
/// No `plan.toml` there, or a plan that no longer parses.
pub fn stored_plan(dir: &Path) -> Result<Plan> {
    let p = dir.join("plan.toml");
    if !p.exists() {
        return Err(Error::Results(format!(
            "{} is not a sweep results directory (no plan.toml): run `dictlab sweep PLAN --out {}` first",
            dir.display(),
            dir.display()
        )));
    }
    Plan::from_file(p)
}

/// Files `*.{ext}` of `dir` whose name starts with `prefix` (temporary `.tmp-*` files excluded),
/// sorted by name; none when `dir` does not exist.
fn list_files(dir: &Path, ext: &str, prefix: &str) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                p.extension().is_some_and(|e| e == ext)
                    && name.is_some_and(|n| n.starts_with(prefix) && !n.starts_with(".tmp-"))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(file_err("read", dir, e)),
    };
    v.sort();
    Ok(v)
}

/// Chunk files of a directory, sorted by name.
fn chunk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    list_files(&chunk_dir(dir), "parquet", "")
}

fn run_keys(df: &DataFrame) -> Result<Vec<(i64, String)>> {
    let items = crate::table::column_f64(df, "item")?;
    let methods = crate::table::column_str(df, "method")?;
    Ok(items
        .into_iter()
        .zip(methods)
        .map(|(i, m)| (i.map_or(-1, |v| v as i64), m))
        .collect())
}

/// Finished runs `(item, method id)` found in the chunks. A corrupt chunk (checksum or parquet)
/// or a chunk of another plan than the directory's is an error naming it, unless `move_bad` (a
/// sweep or `dictlab repair`, holding the lock): then it is moved to `chunks/corrupt/` or
/// `chunks/foreign/` and its runs count as not done.
fn finished_runs(dir: &Path, move_bad: bool) -> Result<HashSet<(i64, String)>> {
    let want = read_meta(dir)?.map(|m| m.plan_hash);
    let mut done = HashSet::new();
    for path in chunk_files(dir)? {
        let cols = vec!["item".into(), "method".into(), "plan_hash".into()];
        let read = read_chunk(&path, Some(cols)).and_then(|df| {
            let hashes = crate::table::column_str(&df, "plan_hash")?;
            match (&want, hashes.iter().find(|h| Some(*h) != want.as_ref())) {
                (Some(w), Some(other)) => Err(Error::Results(format!(
                    "chunk {} holds runs of plan {other}, the directory's plan is {w}: run `dictlab repair {}` to move it aside (its runs are not this plan's)",
                    path.display(),
                    dir.display()
                ))),
                _ => Ok(df),
            }
        });
        match read {
            Ok(df) => done.extend(run_keys(&df)?),
            Err(e) if !move_bad => return Err(e),
            Err(e) => {
                let foreign = e.to_string().contains("the directory's plan is");
                let to = move_aside(dir, &path, if foreign { "foreign" } else { "corrupt" })?;
                crate::error::warn(&format!(
                    "{e}; moved to {} and its runs will be redone",
                    to.display()
                ));
            }
        }
    }
    Ok(done)
}

/// Move a chunk into `chunks/{sub}/` (never delete a file a user may want back); returns where.
fn move_aside(dir: &Path, path: &Path, sub: &str) -> Result<PathBuf> {
    let aside = chunk_dir(dir).join(sub);
    std::fs::create_dir_all(&aside).map_err(|e| file_err("write", &aside, e))?;
    let to = aside.join(path.file_name().unwrap_or_default());
    crate::io::fault::check(crate::io::fault::Op::Remove, path)?;
    std::fs::rename(path, &to).map_err(|e| file_err("write", &to, e))?;
    Ok(to)
}

/// The success value ([`crate::sweep::adaptive::outcome_of_rows`]) of every finished run in the
/// chunks: its final row's `m_recovery_rate`, else `m_support_exact`, else NaN.
pub(super) fn finished_outcomes(dir: &Path) -> Result<HashMap<(i64, String), f64>> {
    let mut out = HashMap::new();
    for path in chunk_files(dir)? {
        frame_outcomes(&read_chunk(&path, None)?, &mut out)?;
    }
    Ok(out)
}

/// Add the success values of the finished runs in `df` (one chunk's rows) to `out`.
pub(super) fn frame_outcomes(df: &DataFrame, out: &mut HashMap<(i64, String), f64>) -> Result<()> {
    let term = crate::table::column_str(df, "termination")?;
    let value = crate::sweep::adaptive::outcome_column(df)?;
    for (i, key) in run_keys(df)?.into_iter().enumerate() {
        if term[i] != "running" {
            out.insert(key, value[i].unwrap_or(f64::NAN));
        }
    }
    Ok(())
}

/// Import the runs of a merged table of `plan` into the results directory `dir` as one
/// checksummed chunk, so that a sweep resumes from them — e.g. a run continued elsewhere, whose
/// work directory was lost but whose (partial) merge was kept. Runs already in `dir` are left out.
/// Takes the directory's lock: no sweep may write there meanwhile. Returns the runs imported.
///
/// # Errors
/// Rows of another plan (naming both hashes), a directory of another plan, a sweep running
/// there, I/O errors.
pub fn import_runs(plan: &Plan, dir: &Path, table: &DataFrame) -> Result<usize> {
    prepare_dir(plan, dir)?;
    let _lock = crate::sweep::lock::lock_for_sweep(dir, None)?;
    if let Some(other) = crate::table::column_str(table, "plan_hash")?
        .into_iter()
        .find(|h| *h != plan.hash)
    {
        return Err(Error::Results(format!(
            "the table holds runs of plan hash {other}, the plan has hash {}: import a merge of this plan",
            plan.hash
        )));
    }
    let done = finished_runs(dir, false)?;
    let keys = run_keys(table)?;
    let keep: Vec<bool> = keys.iter().map(|k| !done.contains(k)).collect();
    let new: HashSet<&(i64, String)> = keys
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(x, _)| x)
        .collect();
    if new.is_empty() {
        return Ok(0);
    }
    let mut df = table.filter(&BooleanChunked::new("keep".into(), &keep))?;
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut df)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = chunk_dir(dir).join(format!(
        "import-{nanos:020}-{}-000000-{}.parquet",
        std::process::id(),
        checksum(&bytes)
    ));
    write_bytes_atomic(&path, &bytes)?;
    Ok(new.len())
}

/// Add the provenance columns to a chunk.
fn with_provenance(mut df: DataFrame, plan_hash: &str) -> Result<DataFrame> {
    let h = df.height();
    for (name, v) in [
        ("plan_hash", plan_hash),
        ("crate_version", env!("CARGO_PKG_VERSION")),
        ("git_rev", GIT_REV),
    ] {
        df.with_column(Column::new(name.into(), vec![v; h]))?;
    }
    Ok(df)
}

/// Write one chunk (group of finished runs) atomically.
fn write_chunk(
    dir: &Path,
    plan: &Plan,
    tag: &str,
    seq: usize,
    runs: &[(Item, Vec<Row>)],
) -> Result<()> {
    let df = with_provenance(to_frame(runs)?, &plan.hash)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut df.clone())?;
    let path = chunk_dir(dir).join(format!(
        "{tag}-{nanos:020}-{}-{seq:06}-{}.parquet",
        std::process::id(),
        checksum(&bytes)
    ));
    write_bytes_atomic(&path, &bytes)
}

/// The first 16 hex digits of the SHA-256 of a chunk's bytes: the last field of its file name,
/// written atomically with the file (see [`read_chunk`]).
fn checksum(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Read a chunk, once from disk: its bytes checked against the checksum in its name (chunks
/// named before checksums were added carry none and are checked by parquet alone), then decoded
/// (only `columns`, when given).
///
/// # Errors
/// [`Error::Results`] naming the corrupt or unreadable chunk and the fix; I/O errors.
pub(crate) fn read_chunk(path: &Path, columns: Option<Vec<String>>) -> Result<DataFrame> {
    let bytes = std::fs::read(path).map_err(|e| file_err("read", path, e))?;
    let results_dir = path
        .parent()
        .and_then(Path::parent)
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(want) = stem
        .rsplit('-')
        .next()
        .filter(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        let got = checksum(&bytes);
        if got != want {
            return Err(Error::Results(format!(
                "chunk {} is corrupt (checksum {got}, its name says {want}): run `dictlab repair {results_dir}` to move it aside; the next sweep redoes its runs",
                path.display(),
            )));
        }
    }
    ParquetReader::new(std::io::Cursor::new(bytes))
        .with_columns(columns)
        .finish()
        .map_err(|e| {
            Error::Results(format!(
                "chunk {} is unreadable ({e}): run `dictlab repair {results_dir}` to move it aside; the next sweep redoes its runs",
                path.display(),
            ))
        })
}

/// Remove the temporary files a killed writer of shard `tag` (or of any shard, for `None`) left
/// in `dir`'s chunk directory; the caller holds the lock that makes them stale.
fn clean_tmp(dir: &Path, tag: Option<&str>) -> Result<usize> {
    let cdir = chunk_dir(dir);
    let Ok(rd) = std::fs::read_dir(&cdir) else {
        return Ok(0);
    };
    let mut n = 0;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(".tmp-") else {
            continue;
        };
        // .tmp-{pid}-{tag}-…
        let mine = match tag {
            None => true,
            Some(t) => rest
                .split_once('-')
                .is_some_and(|(_, after)| after.starts_with(&format!("{t}-"))),
        };
        if mine {
            std::fs::remove_file(e.path()).map_err(|err| file_err("remove", &e.path(), err))?;
            n += 1;
        }
    }
    Ok(n)
}

/// `data/sweeps/{name}` in this project (the ignored cache directory of [`crate::sweep::run_cached`]), or
/// `$DICTLAB_SWEEP_CACHE/{name}` when that variable is set. Notebooks and tests resolve the same
/// file whatever their working directory.
pub fn cache_path(name: &str) -> PathBuf {
    match std::env::var_os("DICTLAB_SWEEP_CACHE") {
        Some(d) => PathBuf::from(d).join(name),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join("sweeps")
            .join(name),
    }
}

/// `plans/{name}` in this project (the benchmark plans), whatever the working directory.
pub fn plan_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plans")
        .join(name)
}

#[cfg(test)]
mod tests {
    use super::journal::*;
    use super::*;

    #[test]
    fn damaged_journal_lines_are_ignored_and_never_read_as_runs() {
        let dir = tempfile::tempdir().unwrap();
        let items: Vec<Item> = (0..5)
            .map(|i| Item {
                item: i,
                point: super::super::Point(vec![]),
                instance: String::new(),
                rep: 0,
                seed: i as u64,
            })
            .collect();
        let line = |plan: &str, i: usize| {
            let json =
                serde_json::to_string(&JRun::new(plan, i, &[Row::new("omp").metric("x", 0.5)]))
                    .unwrap();
            (
                json.clone(),
                format!("{json}\t{}\n", checksum(json.as_bytes())),
            )
        };
        let (_, good) = line("p1", 0);
        let (_, bad) = line("p1", 1);
        let bad = bad.replacen("0.5", "0.7", 1).replacen("\"x\"", "\"y\"", 1);
        let (no_sum, _) = line("p1", 2);
        let (_, foreign) = line("p2", 3);
        let (_, torn) = line("p1", 4);
        let mut bytes = format!("{good}{bad}{no_sum}\n{foreign}").into_bytes();
        bytes.extend_from_slice(b"\xff\xfe not utf-8\n");
        bytes.extend_from_slice(&torn.as_bytes()[..torn.len() - 1]);
        let path = dir.path().join("s0of1-1-000000.jsonl");
        std::fs::write(&path, bytes).unwrap();
        let runs = read_journal(&path, "p1", &items).unwrap();
        let got: Vec<usize> = runs.iter().map(|(it, _)| it.item).collect();
        assert_eq!(
            got,
            vec![0],
            "only the whole, checksummed line of this plan is a run"
        );
    }
}
