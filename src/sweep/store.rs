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

use super::exec::{error_row, instance_metrics, run_method};
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

/// How [`run_plan`] runs.
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

/// What [`run_plan`] did.
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

pub(crate) fn file_err(
    action: &'static str,
    path: &Path,
    e: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::File {
        action,
        path: path.to_path_buf(),
        source: Box::new(e),
    }
}

/// Write `bytes` to `path` through a temporary file, `fsync`, rename.
fn write_atomic(path: &Path, write: impl FnOnce(&mut std::fs::File) -> Result<()>) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| file_err("write", &tmp, e))?;
    write(&mut f)?;
    f.flush().map_err(|e| file_err("write", &tmp, e))?;
    f.sync_data().map_err(|e| file_err("write", &tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| file_err("write", path, e))
}

/// Write `bytes` to `path` atomically.
fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |f| {
        use std::io::Write;
        f.write_all(bytes).map_err(|e| file_err("write", path, e))
    })
}

/// Write a frame as parquet, atomically.
///
/// # Errors
/// I/O and polars errors (naming the path).
pub fn write_parquet(df: &DataFrame, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let mut df = df.clone();
    write_atomic(path, |f| {
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
    if let Some(old) = read_meta(dir)? {
        if old.plan_hash != plan.hash {
            return Err(Error::Results(format!(
                "{} holds results of plan hash {}, this plan has hash {}: use another --out directory (or delete that one to start over)",
                dir.display(),
                old.plan_hash,
                plan.hash
            )));
        }
        return Ok(());
    }
    let meta = Meta {
        plan_hash: plan.hash.clone(),
        plan_name: plan.name.clone(),
        items: plan.items()?.len(),
        methods: plan.methods.iter().map(|m| m.id.clone()).collect(),
        crate_version: env!("CARGO_PKG_VERSION").into(),
    };
    write_bytes_atomic(&dir.join("plan.toml"), plan.source.as_bytes())?;
    write_bytes_atomic(&dir.join("meta.json"), &serde_json::to_vec_pretty(&meta)?)
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
    let items = super::column_f64(df, "item")?;
    let methods = super::column_str(df, "method")?;
    Ok(items
        .into_iter()
        .zip(methods)
        .map(|(i, m)| (i.map_or(-1, |v| v as i64), m))
        .collect())
}

/// Finished runs `(item, method id)` found in the chunks. A corrupt chunk (checksum or parquet)
/// is an error naming it, unless `move_bad` (a sweep or `dictlab repair`, holding the lock): then
/// it is moved to `chunks/corrupt/` and its runs count as not done.
fn finished_runs(dir: &Path, move_bad: bool) -> Result<HashSet<(i64, String)>> {
    let mut done = HashSet::new();
    for path in chunk_files(dir)? {
        let cols = vec!["item".to_string(), "method".to_string()];
        match read_chunk(&path, Some(cols)) {
            Ok(df) => done.extend(run_keys(&df)?),
            Err(e) if !move_bad => return Err(e),
            Err(e) => {
                let bad = chunk_dir(dir).join("corrupt");
                std::fs::create_dir_all(&bad).map_err(|e| file_err("write", &bad, e))?;
                let to = bad.join(path.file_name().unwrap_or_default());
                eprintln!(
                    "warning: unreadable chunk {} ({e}); moved to {} and its runs will be redone",
                    path.display(),
                    to.display()
                );
                std::fs::rename(&path, &to).map_err(|e| file_err("write", &to, e))?;
            }
        }
    }
    Ok(done)
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

/// A parameter value in a journal line (floats as their bits: exact, NaN-safe).
#[derive(serde::Serialize, serde::Deserialize)]
enum JVal {
    B(bool),
    I(i64),
    F(u64),
    S(String),
}

/// One row in a journal line.
#[derive(serde::Serialize, serde::Deserialize)]
struct JRow {
    method: String,
    iter: i64,
    time: u64,
    params: Vec<(String, JVal)>,
    metrics: Vec<(String, u64)>,
    termination: String,
}

/// One finished run as one journal line; the item is looked up in the plan by its index.
#[derive(serde::Serialize, serde::Deserialize)]
struct JRun {
    item: usize,
    rows: Vec<JRow>,
}

impl JRun {
    fn new(item: usize, rows: &[Row]) -> Self {
        let rows = rows
            .iter()
            .map(|r| JRow {
                method: r.method.clone(),
                iter: r.iter,
                time: r.time_s.to_bits(),
                params: r
                    .params
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::Bool(b) => JVal::B(*b),
                            Value::Int(i) => JVal::I(*i),
                            Value::Float(x) => JVal::F(x.to_bits()),
                            Value::Str(s) => JVal::S(s.clone()),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
                metrics: r
                    .metrics
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_bits()))
                    .collect(),
                termination: r.termination.clone(),
            })
            .collect();
        JRun { item, rows }
    }
    fn rows(self) -> Vec<Row> {
        self.rows
            .into_iter()
            .map(|r| Row {
                method: r.method,
                iter: r.iter,
                time_s: f64::from_bits(r.time),
                params: r
                    .params
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            JVal::B(b) => Value::Bool(b),
                            JVal::I(i) => Value::Int(i),
                            JVal::F(x) => Value::Float(f64::from_bits(x)),
                            JVal::S(s) => Value::Str(s),
                        };
                        (k, v)
                    })
                    .collect(),
                metrics: r
                    .metrics
                    .into_iter()
                    .map(|(k, v)| (k, f64::from_bits(v)))
                    .collect(),
                termination: r.termination,
            })
            .collect()
    }
}

fn journal_dir(dir: &Path) -> PathBuf {
    dir.join("journal")
}

/// Journal files, optionally only those of shard `tag`, sorted by name.
fn journal_files(dir: &Path, tag: Option<&str>) -> Result<Vec<PathBuf>> {
    let prefix = tag.map(|t| format!("{t}-")).unwrap_or_default();
    list_files(&journal_dir(dir), "jsonl", &prefix)
}

/// The complete lines of a journal (a line cut by a crash is ignored).
fn read_journal(path: &Path, items: &[Item]) -> Result<Vec<(Item, Vec<Row>)>> {
    let text = std::fs::read_to_string(path).map_err(|e| file_err("read", path, e))?;
    let complete = match text.rfind('\n') {
        Some(i) => &text[..i],
        None => "",
    };
    let mut out = Vec::new();
    for line in complete.lines().filter(|l| !l.trim().is_empty()) {
        // `json \t checksum` (lines written before checksums have no tab; JSON escapes tabs)
        let line = match line.rsplit_once('\t') {
            Some((json, sum)) if sum == checksum(json.as_bytes()) => json,
            Some(_) => {
                eprintln!(
                    "warning: {}: a line fails its checksum; ignored (its run will be redone)",
                    path.display()
                );
                continue;
            }
            None => line,
        };
        match serde_json::from_str::<JRun>(line) {
            Ok(j) => match items.get(j.item) {
                Some(it) => out.push((it.clone(), j.rows())),
                None => eprintln!(
                    "warning: {}: item {} is not in the plan; line ignored",
                    path.display(),
                    j.item
                ),
            },
            Err(e) => eprintln!("warning: {}: unreadable line ignored ({e})", path.display()),
        }
    }
    Ok(out)
}

/// Runs found in journals (any shard) and not yet in a chunk.
fn journal_runs(
    dir: &Path,
    plan: &Plan,
    done: &HashSet<(i64, String)>,
) -> Result<HashSet<(i64, String)>> {
    let items = plan.items()?;
    let mut out = HashSet::new();
    for p in journal_files(dir, None)? {
        for (it, rows) in read_journal(&p, &items)? {
            if let Some(r) = rows.first() {
                let key = (it.item as i64, r.method.clone());
                if !done.contains(&key) {
                    out.insert(key);
                }
            }
        }
    }
    Ok(out)
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

/// The kind of an error message, for counting a sweep's failures: numbers (which differ per run)
/// become `#`.
fn error_kind(msg: &str) -> String {
    let mut key = String::with_capacity(msg.len());
    for c in msg.chars() {
        if c.is_ascii_digit() || c == '.' && key.ends_with('#') {
            if !key.ends_with('#') {
                key.push('#');
            }
        } else {
            key.push(c);
        }
    }
    key
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

/// Move the runs left in this shard's journals by an interrupted process into a chunk (skipping
/// runs already in chunks), then delete those journals. Returns the runs recovered.
fn recover_journals(
    dir: &Path,
    plan: &Plan,
    tag: &str,
    done: &mut HashSet<(i64, String)>,
) -> Result<usize> {
    let files = journal_files(dir, Some(tag))?;
    if files.is_empty() {
        return Ok(0);
    }
    let items = plan.items()?;
    let mut runs = Vec::new();
    for p in &files {
        for (it, rows) in read_journal(p, &items)? {
            let Some(m) = rows.first().map(|r| r.method.clone()) else {
                continue;
            };
            if done.insert((it.item as i64, m)) {
                runs.push((it, rows));
            }
        }
    }
    if !runs.is_empty() {
        write_chunk(dir, plan, tag, 0, &runs)?;
    }
    for p in &files {
        std::fs::remove_file(p).map_err(|e| file_err("remove", p, e))?;
    }
    Ok(runs.len())
}

/// The journal the workers append to; `index` counts rotations.
struct Journal {
    file: std::fs::File,
    path: PathBuf,
    index: usize,
}

fn open_journal(dir: &Path, tag: &str, index: usize) -> Result<Journal> {
    let path = journal_dir(dir).join(format!("{tag}-{}-{index:06}.jsonl", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| file_err("write", &path, e))?;
    Ok(Journal { file, path, index })
}

/// Run (or resume) `plan` into `dir`: every unfinished run of the shard, in parallel, with durable
/// chunks (see the module doc).
///
/// # Errors
/// The directory checks of [`prepare_dir`]; a chunk that cannot be written (the runs done so far
/// stay on disk). Failing runs are rows, not errors.
pub fn run_plan(plan: &Plan, dir: &Path, opts: &RunOptions) -> Result<RunSummary> {
    let t0 = Instant::now();
    crate::error::ensure!(
        opts.chunk_every_s > 0.0,
        "chunk_every_s",
        opts.chunk_every_s,
        "seconds > 0"
    );
    prepare_dir(plan, dir)?;
    std::fs::create_dir_all(journal_dir(dir))
        .map_err(|e| file_err("write", &journal_dir(dir), e))?;
    let tag = opts.shard.tag();
    // one writer per (directory, shard), for the sweep's whole life (see `super::lock`)
    let _lock = super::lock::lock_for_sweep(dir, (opts.shard.count > 1).then_some(tag.as_str()))?;
    let tmp_removed = clean_tmp(dir, (opts.shard.count > 1).then_some(tag.as_str()))?;
    let mut done = finished_runs(dir, true)?;
    let recovered = recover_journals(dir, plan, &tag, &mut done)?;
    let items: Vec<Item> = plan
        .items()?
        .into_iter()
        .filter(|it| opts.shard.owns(it.item))
        .collect();
    let runs_in_shard: usize = items.iter().map(|it| plan.methods_for(it).count()).sum();
    let todo: Vec<(Item, Vec<usize>)> = items
        .into_iter()
        .filter_map(|it| {
            let pending: Vec<usize> = plan
                .methods_for(&it)
                .filter(|&j| !done.contains(&(it.item as i64, plan.methods[j].id.clone())))
                .collect();
            (!pending.is_empty()).then_some((it, pending))
        })
        .collect();
    let n_todo: usize = todo.iter().map(|(_, p)| p.len()).sum();
    let threads_per_run = crate::mem::cap_threads(plan.threads_per_run, "threads_per_run")?;
    if let Some(b) = plan.max_memory {
        crate::mem::set_limit(b.max(1));
    }
    let workers = if opts.workers > 0 {
        crate::mem::cap_threads(opts.workers, "--workers")?
    } else {
        (rayon::current_num_threads() / threads_per_run).max(1)
    }
    .min(todo.len().max(1));
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(n_todo as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} runs  {per_sec}  ETA {eta}  {msg}",
            )
            .map_err(|e| Error::invalid("progress template", e.to_string(), "a valid template"))?
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let journal = std::sync::Mutex::new(open_journal(dir, &tag, 0)?);
    let journal_error: std::sync::Mutex<Option<Error>> = std::sync::Mutex::new(None);
    let (tx, rx) = mpsc::channel::<(usize, Item, Vec<Row>)>();
    let mut chunks_written = 0usize;
    let mut runs_done = 0usize;
    let mut errors: HashMap<String, usize> = HashMap::new();
    let write_result: Result<()> = std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (todo, next, stop, journal, journal_error) =
                (&todo, &next, &stop, &journal, &journal_error);
            scope.spawn(move || {
                let pool = match rayon::ThreadPoolBuilder::new()
                    .num_threads(threads_per_run)
                    .build()
                {
                    Ok(p) => p,
                    Err(e) => {
                        *journal_error.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(Error::invalid(
                                "threads_per_run",
                                threads_per_run,
                                format!("a thread count the system can start ({e})"),
                            ));
                        stop.store(true, Ordering::SeqCst);
                        return;
                    }
                };
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some((item, pending)) = todo.get(k) else {
                        return;
                    };
                    let spec = crate::instance::InstanceSpec::from_params(&item.point.0);
                    let inst = spec.and_then(|s| pool.install(|| s.sample(item.seed)));
                    let inst_metrics = inst
                        .as_ref()
                        .map(|i| pool.install(|| instance_metrics(i, item.seed)))
                        .unwrap_or_default();
                    for &j in pending {
                        let m = &plan.methods[j];
                        let mut rows = match &inst {
                            Ok(inst) => pool.install(|| run_method(plan, m, item, inst)),
                            Err(e) => vec![error_row(m, format!("error: instance: {e}"), 0.0)],
                        };
                        for r in &mut rows {
                            r.metrics.extend(inst_metrics.iter().cloned());
                        }
                        // one line per finished run, appended under the lock that also orders
                        // the channel, so a rotation splits runs exactly between journals
                        // `json \t checksum`: a line torn by a kill or damaged on disk is
                        // recognised and its run redone, never read as a finished run
                        let line = serde_json::to_string(&JRun::new(item.item, &rows))
                            .map(|l| format!("{l}\t{}\n", checksum(l.as_bytes())));
                        let mut j = journal.lock().unwrap_or_else(|p| p.into_inner());
                        let written = line.map_err(Error::from).and_then(|l| {
                            use std::io::Write;
                            j.file
                                .write_all(l.as_bytes())
                                .map_err(|e| file_err("write", &j.path, e))
                        });
                        if let Err(e) = written {
                            *journal_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            stop.store(true, Ordering::SeqCst);
                            return;
                        }
                        if tx.send((j.index, item.clone(), rows)).is_err() {
                            return;
                        }
                    }
                }
            });
        }
        drop(tx);
        // compaction: every `chunk_every_s` the journal rotates and the runs of the old one go to
        // a chunk; the old journal is deleted once the chunk is on disk
        let mut pending: Vec<(Item, Vec<Row>)> = Vec::new();
        let mut carry: Vec<(Item, Vec<Row>)> = Vec::new();
        let mut last = Instant::now();
        let mut seq = 1usize;
        let mut compact = |final_: bool,
                           pending: &mut Vec<(Item, Vec<Row>)>,
                           carry: &mut Vec<(Item, Vec<Row>)>|
         -> Result<()> {
            let (old_path, old_index) = {
                let mut j = journal.lock().unwrap_or_else(|p| p.into_inner());
                let old = (j.path.clone(), j.index);
                if !final_ {
                    *j = open_journal(dir, &tag, j.index + 1)?;
                }
                old
            };
            while let Ok((k, it, rows)) = rx.try_recv() {
                bar.inc(1);
                if k <= old_index {
                    pending.push((it, rows));
                } else {
                    carry.push((it, rows));
                }
            }
            if !pending.is_empty() {
                write_chunk(dir, plan, &tag, seq, pending)?;
                seq += 1;
                chunks_written += 1;
                runs_done += pending.len();
                for (_, rows) in pending.iter() {
                    if let Some(msg) = rows
                        .iter()
                        .find_map(|r| r.termination.strip_prefix("error: ").map(error_kind))
                    {
                        *errors.entry(msg).or_default() += 1;
                    }
                }
            }
            std::fs::remove_file(&old_path).map_err(|e| file_err("remove", &old_path, e))?;
            pending.clear();
            pending.append(carry);
            Ok(())
        };
        loop {
            let wait = (opts.chunk_every_s - last.elapsed().as_secs_f64()).max(0.0);
            match rx.recv_timeout(std::time::Duration::from_secs_f64(wait)) {
                Ok((_, it, rows)) => {
                    bar.inc(1);
                    pending.push((it, rows));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    compact(true, &mut pending, &mut carry)?;
                    break;
                }
            }
            if last.elapsed().as_secs_f64() >= opts.chunk_every_s {
                if let Err(e) = compact(false, &mut pending, &mut carry) {
                    stop.store(true, Ordering::SeqCst);
                    return Err(e);
                }
                last = Instant::now();
            }
        }
        Ok(())
    });
    bar.finish_and_clear();
    write_result?;
    if let Some(e) = journal_error
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(e);
    }
    let mut errors: Vec<(String, usize)> = errors.into_iter().collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(RunSummary {
        plan_hash: plan.hash.clone(),
        runs_in_shard,
        runs_skipped: runs_in_shard - n_todo,
        runs_recovered: recovered,
        runs_done,
        chunks_written,
        workers,
        runs_failed: errors.iter().map(|e| e.1).sum(),
        errors,
        tmp_removed,
        elapsed_s: t0.elapsed().as_secs_f64(),
    })
}

/// What [`repair`] did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Repair {
    /// Corrupt chunks moved to `chunks/corrupt/` (their runs will be redone).
    pub corrupt_moved: usize,
    /// Chunks whose every run is also in an earlier chunk, moved to `chunks/duplicate/`.
    pub duplicate_chunks_moved: usize,
    /// Chunks rewritten without the runs an earlier chunk already holds.
    pub chunks_rewritten: usize,
    /// Runs dropped as duplicates.
    pub duplicate_runs_dropped: usize,
}

/// Repair a results directory (`dictlab repair`): corrupt chunks (checksum or parquet) are
/// moved to `chunks/corrupt/`, and a run found in two chunks is kept in the first (by name)
/// only. Holds the directory's exclusive lock, so it never runs beside a sweep.
///
/// # Errors
/// [`Error::Locked`] while a sweep writes the directory; I/O errors naming the path.
pub fn repair(dir: &Path) -> Result<Repair> {
    let _lock = super::lock::lock_exclusive(dir)?;
    let mut out = Repair::default();
    let before = chunk_files(dir)?.len();
    finished_runs(dir, true)?;
    out.corrupt_moved = before - chunk_files(dir)?.len();
    let mut seen: HashSet<(i64, String)> = HashSet::new();
    for path in chunk_files(dir)? {
        let df = read_chunk(&path, None)?;
        let keys = run_keys(&df)?;
        let run_set: HashSet<&(i64, String)> = keys.iter().collect();
        let dup: HashSet<(i64, String)> = run_set
            .iter()
            .filter(|k| seen.contains(**k))
            .map(|k| (*k).clone())
            .collect();
        if dup.is_empty() {
            seen.extend(keys);
            continue;
        }
        out.duplicate_runs_dropped += dup.len();
        if dup.len() == run_set.len() {
            let aside = chunk_dir(dir).join("duplicate");
            std::fs::create_dir_all(&aside).map_err(|e| file_err("write", &aside, e))?;
            let to = aside.join(path.file_name().unwrap_or_default());
            std::fs::rename(&path, &to).map_err(|e| file_err("write", &to, e))?;
            out.duplicate_chunks_moved += 1;
            continue;
        }
        let mask: Vec<bool> = keys.iter().map(|k| !dup.contains(k)).collect();
        let mut kept = df.filter(&BooleanChunked::new("keep".into(), &mask))?;
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes).finish(&mut kept)?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = match stem.rsplit_once('-') {
            Some((b, h)) if h.len() == 16 && h.bytes().all(|c| c.is_ascii_hexdigit()) => {
                b.to_string()
            }
            _ => stem.clone(),
        };
        let new = chunk_dir(dir).join(format!("{base}-{}.parquet", checksum(&bytes)));
        write_bytes_atomic(&new, &bytes)?;
        if new != path {
            std::fs::remove_file(&path).map_err(|e| file_err("remove", &path, e))?;
        }
        seen.extend(run_keys(&kept)?);
        out.chunks_rewritten += 1;
    }
    Ok(out)
}

/// Where a results directory stands.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Status {
    /// Plan hash.
    pub plan_hash: String,
    /// Runs in the plan.
    pub runs_total: usize,
    /// Finished runs on disk.
    pub runs_done: usize,
    /// Shard count used to name missing shards.
    pub shards: usize,
    /// Shards with at least one unfinished run.
    pub missing_shards: Vec<usize>,
    /// Chunk files.
    pub chunks: usize,
    /// Finished runs still only in journals: a sweep is running, or was killed (rerunning its
    /// command moves them to a chunk).
    pub journaled: usize,
}

impl Status {
    /// The missing shards as a Slurm `--array=` list (`1,3-5,9`); empty when complete.
    pub fn array_list(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let s = &self.missing_shards;
        let mut i = 0;
        while i < s.len() {
            let mut j = i;
            while j + 1 < s.len() && s[j + 1] == s[j] + 1 {
                j += 1;
            }
            parts.push(if j > i {
                format!("{}-{}", s[i], s[j])
            } else {
                s[i].to_string()
            });
            i = j + 1;
        }
        parts.join(",")
    }
    /// Whether every run is on disk.
    pub fn complete(&self) -> bool {
        self.runs_done == self.runs_total
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "plan hash {}", self.plan_hash)?;
        writeln!(
            f,
            "runs {}/{} finished in {} chunks",
            self.runs_done, self.runs_total, self.chunks
        )?;
        if self.journaled > 0 {
            writeln!(
                f,
                "{} of them only in journals (a sweep is running, or was killed: rerun it to compact them)",
                self.journaled
            )?;
        }
        if self.complete() {
            write!(f, "complete: merge with `dictlab merge DIR -o all.parquet`")
        } else {
            writeln!(
                f,
                "unfinished shards ({} of {}): {:?}",
                self.missing_shards.len(),
                self.shards,
                self.missing_shards
            )?;
            write!(f, "resubmit with --array={}", self.array_list())
        }
    }
}

/// The shard count recorded for a directory: `slurm/shards` (written by `emit-slurm`), else the
/// largest N among chunk names `s{i}of{N}-…`, else 1.
fn recorded_shards(dir: &Path) -> Result<usize> {
    if let Ok(s) = std::fs::read_to_string(dir.join("slurm").join("shards"))
        && let Ok(n) = s.trim().parse::<usize>()
        && n >= 1
    {
        return Ok(n);
    }
    let mut n = 1;
    for p in chunk_files(dir)? {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if let Some(rest) = name.split('-').next().and_then(|t| t.split_once("of"))
            && let Ok(c) = rest.1.parse::<usize>()
        {
            n = n.max(c);
        }
    }
    Ok(n)
}

/// Which runs of the directory's plan are finished, and which shards (of `shards`, or of the
/// recorded count) still have work.
///
/// # Errors
/// Not a results directory; unreadable files.
pub fn status(dir: &Path, shards: Option<usize>) -> Result<Status> {
    status_of(dir, &stored_plan(dir)?, finished_runs(dir, false)?, shards)
}

/// [`status`] given the directory's plan and the runs found in its chunks.
fn status_of(
    dir: &Path,
    plan: &Plan,
    mut done: HashSet<(i64, String)>,
    shards: Option<usize>,
) -> Result<Status> {
    let shards = match shards {
        Some(0) => return Err(Error::invalid("shards", 0, "N ≥ 1")),
        Some(n) => n,
        None => recorded_shards(dir)?,
    };
    let journaled = journal_runs(dir, plan, &done)?;
    done.extend(journaled.iter().cloned());
    let items = plan.items()?;
    let mut missing = std::collections::BTreeSet::new();
    let mut runs_done = 0;
    let mut runs_total = 0;
    for it in &items {
        for m in plan.methods_for(it).map(|j| &plan.methods[j]) {
            runs_total += 1;
            if done.contains(&(it.item as i64, m.id.clone())) {
                runs_done += 1;
            } else {
                missing.insert(it.item % shards);
            }
        }
    }
    Ok(Status {
        plan_hash: plan.hash.clone(),
        runs_total,
        runs_done,
        shards,
        missing_shards: missing.into_iter().collect(),
        chunks: chunk_files(dir)?.len(),
        journaled: journaled.len(),
    })
}

/// Vertical concatenation of frames with different columns: the union of the columns, missing
/// ones null; a column that is integer in one frame and float in another becomes float, any other
/// disagreement text. Columns keep their first-seen order.
///
/// # Errors
/// Polars errors.
pub fn union_concat(frames: &[DataFrame]) -> Result<DataFrame> {
    let mut order: Vec<String> = Vec::new();
    let mut types: HashMap<String, DataType> = HashMap::new();
    for df in frames {
        for c in df.columns() {
            let name = c.name().to_string();
            let dt = c.dtype().clone();
            match types.get(&name) {
                None => {
                    order.push(name.clone());
                    types.insert(name, dt);
                }
                Some(t) if *t == dt => {}
                Some(t) => {
                    let merged = match (t, &dt) {
                        (DataType::Null, d) | (d, DataType::Null) => d.clone(),
                        (
                            DataType::Int64 | DataType::Float64,
                            DataType::Int64 | DataType::Float64,
                        ) => DataType::Float64,
                        _ => DataType::String,
                    };
                    types.insert(name, merged);
                }
            }
        }
    }
    let mut out: Option<DataFrame> = None;
    for df in frames {
        let cols: Vec<Column> = order
            .iter()
            .map(|name| {
                let dt = &types[name];
                match super::col(df, name) {
                    Ok(c) if c.dtype() == dt => Ok(c.clone()),
                    Ok(c) => Ok(c.cast(dt)?),
                    Err(_) => Ok(Column::full_null(name.as_str().into(), df.height(), dt)),
                }
            })
            .collect::<Result<_>>()?;
        let part = DataFrame::new(df.height(), cols)?;
        match &mut out {
            None => out = Some(part),
            Some(o) => {
                o.vstack_mut(&part)?;
            }
        }
    }
    let mut df = out.unwrap_or_default();
    df.rechunk_mut();
    Ok(df)
}

/// Merge a results directory into one table, sorted by (item, method in plan order, iter), with
/// the columns in schema order (see `data/README.md`).
///
/// # Errors
/// A chunk written by another plan (both hashes named), a run present in two chunks, unfinished
/// runs (with the shards to resubmit), unreadable files.
pub fn merge(dir: &Path) -> Result<DataFrame> {
    let plan = stored_plan(dir)?;
    if let Some(meta) = read_meta(dir)?
        && meta.plan_hash != plan.hash
    {
        return Err(Error::Results(format!(
            "plan hash mismatch: meta.json says {}, plan.toml hashes to {} — the plan was edited after the sweep started; refusing to merge",
            meta.plan_hash, plan.hash
        )));
    }
    let mut frames = Vec::new();
    let mut owner: HashMap<(i64, String), PathBuf> = HashMap::new();
    let mut dups: Vec<String> = Vec::new();
    for path in chunk_files(dir)? {
        let df = read_chunk(&path, None)?;
        for h in super::column_str(&df, "plan_hash")? {
            if h != plan.hash {
                return Err(Error::Results(format!(
                    "plan hash mismatch: chunk {} was written by plan {h}, the directory's plan is {} — refusing to merge results of different plans",
                    path.display(),
                    plan.hash
                )));
            }
        }
        let mut seen_here = HashSet::new();
        for key in run_keys(&df)? {
            if seen_here.insert(key.clone())
                && let Some(prev) = owner.insert(key.clone(), path.clone())
            {
                dups.push(format!(
                    "item {} method {} in {} and {}",
                    key.0,
                    key.1,
                    prev.display(),
                    path.display()
                ));
            }
        }
        frames.push(df);
    }
    if !dups.is_empty() {
        return Err(Error::Results(format!(
            "{} runs appear in two chunks (two processes ran the same shard?): {}",
            dups.len(),
            dups.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
        )));
    }
    // the runs of the chunks just read: no second pass over the files
    let st = status_of(dir, &plan, owner.into_keys().collect(), None)?;
    if st.journaled > 0 {
        return Err(Error::Results(format!(
            "{} finished runs are still only in journals under {}: a sweep is running there, or was killed — wait for it, or rerun its `dictlab sweep` command, which moves them to chunks",
            st.journaled,
            journal_dir(dir).display()
        )));
    }
    if !st.complete() {
        return Err(Error::Results(format!(
            "{} of {} runs are not finished; shards to run: --array={} (see `dictlab status {}`)",
            st.runs_total - st.runs_done,
            st.runs_total,
            st.array_list(),
            dir.display()
        )));
    }
    let df = union_concat(&frames)?;
    canonical_order(&df, &plan)
}

/// Rows sorted by (item, method's position in the plan, iter); columns in schema order.
fn canonical_order(df: &DataFrame, plan: &Plan) -> Result<DataFrame> {
    let pos: HashMap<&str, usize> = plan
        .methods
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i))
        .collect();
    let keys = run_keys(df)?;
    let iters: Vec<i64> = super::column_f64(df, "iter")?
        .into_iter()
        .map(|v| v.map_or(0, |x| x as i64))
        .collect();
    let mut idx: Vec<usize> = (0..df.height()).collect();
    idx.sort_by_key(|&r| {
        (
            keys[r].0,
            pos.get(keys[r].1.as_str()).copied().unwrap_or(usize::MAX),
            iters[r],
        )
    });
    let take = IdxCa::from_vec(
        "idx".into(),
        idx.into_iter().map(|i| i as IdxSize).collect(),
    );
    let sorted = df.take(&take)?;
    let names: Vec<String> = sorted
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let core = [
        "item", "instance", "rep", "seed", "method", "iter", "time_s",
    ];
    let tail = ["termination", "plan_hash", "crate_version", "git_rev"];
    let mut order: Vec<String> = core.iter().map(|s| s.to_string()).collect();
    for k in &plan.instance_keys {
        let n = format!("p_inst_{k}");
        if names.contains(&n) {
            order.push(n);
        }
    }
    let mut rest: Vec<&String> = names
        .iter()
        .filter(|n| !order.contains(n) && !tail.contains(&n.as_str()))
        .collect();
    rest.sort_by_key(|n| {
        (
            if n.starts_with("p_method_") {
                0
            } else if n.starts_with("m_") {
                1
            } else {
                2
            },
            n.to_string(),
        )
    });
    order.extend(rest.into_iter().cloned());
    order.extend(tail.iter().map(|s| s.to_string()));
    let order: Vec<&str> = order
        .iter()
        .map(|s| s.as_str())
        .filter(|n| names.iter().any(|q| q == n))
        .collect();
    super::select(&sorted, &order)
}

/// `data/sweeps/{name}` in this project (the ignored cache directory of [`run_cached`]), or
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
        let hashes = super::column_str(&df, "plan_hash")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_line_that_fails_its_checksum_is_ignored_and_legacy_lines_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let items: Vec<Item> = (0..3)
            .map(|i| Item {
                item: i,
                point: super::super::Point(vec![]),
                instance: String::new(),
                rep: 0,
                seed: i as u64,
            })
            .collect();
        let line = |i: usize| {
            let json =
                serde_json::to_string(&JRun::new(i, &[Row::new("omp").metric("x", 0.5)])).unwrap();
            (
                json.clone(),
                format!("{json}\t{}\n", checksum(json.as_bytes())),
            )
        };
        let (_, good) = line(0);
        let (_, bad) = line(1);
        let bad = bad.replacen("0.5", "0.7", 1).replacen("\"x\"", "\"y\"", 1);
        let (legacy, _) = line(2);
        let path = dir.path().join("s0of1-1-000000.jsonl");
        std::fs::write(&path, format!("{good}{bad}{legacy}\n")).unwrap();
        let runs = read_journal(&path, &items).unwrap();
        let got: Vec<usize> = runs.iter().map(|(it, _)| it.item).collect();
        assert_eq!(
            got,
            vec![0, 2],
            "the damaged line is dropped, the legacy one kept"
        );
    }
}
