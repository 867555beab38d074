//! Reading a results directory: [`status`], [`merge`] into one table, [`repair`].

use super::journal::*;
use super::*;
/// What [`repair`] did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Repair {
    /// Corrupt chunks and chunks of another plan moved to `chunks/corrupt/` and `chunks/foreign/`
    /// (their runs will be redone).
    pub corrupt_moved: usize,
    /// Chunks whose every run is also in an earlier chunk, moved to `chunks/duplicate/`.
    pub duplicate_chunks_moved: usize,
    /// Chunks rewritten without the runs an earlier chunk already holds.
    pub chunks_rewritten: usize,
    /// Runs dropped as duplicates.
    pub duplicate_runs_dropped: usize,
}

/// Repair a results directory (`dictlab repair`): corrupt chunks (checksum or parquet) are
/// moved to `chunks/corrupt/`, chunks of another plan to `chunks/foreign/`, and a run found in
/// two chunks is kept in the first (by name) only — the chunk that held the copy is moved to
/// `chunks/duplicate/`. Nothing is deleted. Holds the directory's exclusive lock, so it never runs beside a sweep.
///
/// # Errors
/// [`Error::Locked`] while a sweep writes the directory; I/O errors naming the path.
pub fn repair(dir: &Path) -> Result<Repair> {
    // a results directory, not any path (the lock would create it)
    stored_plan(dir)?;
    let _lock = crate::sweep::lock::lock_exclusive(dir)?;
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
            move_aside(dir, &path, "duplicate")?;
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
        // the rewritten chunk first, then the original (with the duplicate runs) aside, never
        // deleted: a crash in between leaves the duplicates, which the next repair handles
        write_bytes_atomic(&new, &bytes)?;
        move_aside(dir, &path, "duplicate")?;
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
    /// An adaptive plan's `(finished, total)` curves (its run count is only known at the end:
    /// `runs_total` then counts the runs done plus one per unfinished curve).
    pub curves: Option<(usize, usize)>,
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
        match self.curves {
            Some((done, total)) => writeln!(
                f,
                "adaptive plan: curves {done}/{total} finished; {} runs in {} chunks",
                self.runs_done, self.chunks
            )?,
            None => writeln!(
                f,
                "runs {}/{} finished in {} chunks",
                self.runs_done, self.runs_total, self.chunks
            )?,
        }
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
pub(super) fn recorded_shards(dir: &Path) -> Result<usize> {
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
    let plan = stored_plan(dir)?;
    match &plan.adaptive {
        Some(ad) => adaptive_status(dir, &plan, ad, shards, finished_outcomes(dir)?),
        None => status_of(dir, &plan, finished_runs(dir, false)?, shards),
    }
}

/// The shard count to name missing shards by: the one asked for, else the recorded one.
fn shard_count(dir: &Path, shards: Option<usize>) -> Result<usize> {
    match shards {
        Some(0) => Err(Error::invalid("shards", 0, "N ≥ 1")),
        Some(n) => Ok(n),
        None => recorded_shards(dir),
    }
}

/// [`status`] given the directory's plan and the runs found in its chunks.
pub(super) fn status_of(
    dir: &Path,
    plan: &Plan,
    mut done: HashSet<(i64, String)>,
    shards: Option<usize>,
) -> Result<Status> {
    let shards = shard_count(dir, shards)?;
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
        curves: None,
    })
}

/// [`status`] of an adaptive plan, given the outcomes of the runs in its chunks: the journals
/// add theirs (read once), and a curve is finished when its rule asks for no more runs.
fn adaptive_status(
    dir: &Path,
    plan: &Plan,
    ad: &crate::sweep::adaptive::Adaptive,
    shards: Option<usize>,
    mut outcomes: HashMap<(i64, String), f64>,
) -> Result<Status> {
    use crate::sweep::adaptive;
    let shards = shard_count(dir, shards)?;
    let items = plan.items()?;
    let mut journaled = 0;
    for p in journal_files(dir, None)? {
        for (it, rows) in read_journal(&p, &plan.hash, &items)? {
            if let Some(r) = rows.first()
                && let std::collections::hash_map::Entry::Vacant(e) =
                    outcomes.entry((it.item as i64, r.method.clone()))
            {
                e.insert(adaptive::outcome_of_rows(&rows));
                journaled += 1;
            }
        }
    }
    let curves = adaptive::curves(plan)?;
    let mut missing = std::collections::BTreeSet::new();
    let (mut runs_done, mut unfinished) = (0, 0);
    for (ci, c) in curves.iter().enumerate() {
        let known = adaptive::known(plan, ad, c, &outcomes);
        runs_done += known.iter().map(Vec::len).sum::<usize>();
        if ad.next(&known).is_some() {
            missing.insert(ci % shards);
            unfinished += 1;
        }
    }
    Ok(Status {
        plan_hash: plan.hash.clone(),
        runs_total: runs_done + unfinished,
        runs_done,
        shards,
        missing_shards: missing.into_iter().collect(),
        chunks: chunk_files(dir)?.len(),
        journaled,
        curves: Some((curves.len() - unfinished, curves.len())),
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
                match crate::table::col(df, name) {
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
    merge_with(dir, false)
}

/// [`merge`] without the completeness checks: the runs finished so far (chunks only), to look
/// at a sweep in progress. Plan and duplicate checks still apply. For an adaptive plan, only the
/// runs of **finished curves** are kept: an unfinished curve's transition is not settled, and
/// since shards own curves by index mod N, the finished curves of whole shards are a uniform
/// sample of the plan's curves. A grid's partial table is whatever runs finished.
///
/// # Errors
/// As [`merge`], less the unfinished runs.
pub fn merge_partial(dir: &Path) -> Result<DataFrame> {
    merge_with(dir, true)
}

fn merge_with(dir: &Path, partial: bool) -> Result<DataFrame> {
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
    // an adaptive plan's status needs the runs' outcomes: taken from the chunks read here
    let mut outcomes = HashMap::new();
    for path in chunk_files(dir)? {
        let df = read_chunk(&path, None)?;
        for h in crate::table::column_str(&df, "plan_hash")? {
            if h != plan.hash {
                return Err(Error::Results(format!(
                    "plan hash mismatch: chunk {} was written by plan {h}, the directory's plan is {} — refusing to merge results of different plans: run `dictlab repair {}` to move it aside",
                    path.display(),
                    plan.hash,
                    dir.display()
                )));
            }
        }
        if plan.adaptive.is_some() {
            frame_outcomes(&df, &mut outcomes)?;
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
    if partial {
        if frames.is_empty() {
            return Err(Error::Results(format!(
                "{} holds no finished runs yet (no chunk in {}): wait for the sweep's first chunk (every few seconds), or see `dictlab status {}`",
                dir.display(),
                chunk_dir(dir).display(),
                dir.display()
            )));
        }
        let df = union_concat(&frames)?;
        let df = match &plan.adaptive {
            Some(ad) => finished_curves_only(&df, &plan, ad, &outcomes)?,
            None => df,
        };
        return canonical_order(&df, &plan);
    }
    // the runs of the chunks just read: no second pass over the files
    let st = match &plan.adaptive {
        Some(ad) => adaptive_status(dir, &plan, ad, None, outcomes)?,
        None => status_of(dir, &plan, owner.into_keys().collect(), None)?,
    };
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

/// The rows of `df` that belong to finished curves of the adaptive plan (outcomes from chunks).
fn finished_curves_only(
    df: &DataFrame,
    plan: &Plan,
    ad: &crate::sweep::adaptive::Adaptive,
    outcomes: &HashMap<(i64, String), f64>,
) -> Result<DataFrame> {
    use crate::sweep::adaptive;
    let mut keep_runs: HashSet<(i64, String)> = HashSet::new();
    for c in adaptive::curves(plan)? {
        let known = adaptive::known(plan, ad, &c, outcomes);
        if ad.next(&known).is_none() {
            let id = &plan.methods[c.method].id;
            for (i, runs) in known.iter().enumerate() {
                for r in 0..runs.len() {
                    keep_runs.insert((c.item(plan, i, r) as i64, id.clone()));
                }
            }
        }
    }
    let mask: Vec<bool> = run_keys(df)?
        .into_iter()
        .map(|k| keep_runs.contains(&k))
        .collect();
    Ok(df.filter(&BooleanChunked::new("keep".into(), &mask))?)
}

/// Rows sorted by (item, method's position in the plan, iter); columns in schema order.
pub(super) fn canonical_order(df: &DataFrame, plan: &Plan) -> Result<DataFrame> {
    let pos: HashMap<&str, usize> = plan
        .methods
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i))
        .collect();
    let keys = run_keys(df)?;
    let iters: Vec<i64> = crate::table::column_f64(df, "iter")?
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
    crate::table::select(&sorted, &order)
}
