//! The runner of [`crate::sweep::run_plan`]: workers that draw items and append finished runs to the journal,
//! and the writer that rotates the journal into chunks.

use super::journal::*;
use super::*;
use crate::sweep::adaptive::{self, Adaptive, Curve};

/// Run (or resume) `plan` into `dir` with `exec` computing the runs: every unfinished run of the
/// shard, in parallel, with durable chunks (see the module doc). `crate::sweep::run_plan` is this
/// with the sweep's executor.
///
/// # Errors
/// The directory checks of [`prepare_dir`]; a chunk that cannot be written (the runs done so far
/// stay on disk). Failing runs are rows, not errors.
pub fn run_plan_with<E: Execute>(
    plan: &Plan,
    dir: &Path,
    opts: &RunOptions,
    exec: &E,
) -> Result<RunSummary> {
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
    let shard_tag = (opts.shard.count > 1).then_some(tag.as_str());
    // one writer per (directory, shard), for the sweep's whole life (see `crate::sweep::lock`)
    let _lock = crate::sweep::lock::lock_for_sweep(dir, shard_tag)?;
    let tmp_removed = clean_tmp(dir, shard_tag)?;
    let mut done = finished_runs(dir, true)?;
    let recovered = recover_journals(dir, plan, &tag, &mut done)?;
    let (runs_in_shard, todo, n_todo) = match &plan.adaptive {
        None => {
            let (runs, todo) = pending_runs(plan, opts, &done)?;
            let n: usize = todo.iter().map(|(_, p)| p.len()).sum();
            (runs, Work::Grid(todo), n)
        }
        Some(ad) => pending_curves(plan, ad, opts, dir)?,
    };
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
    let items = plan.items()?;
    let bar = progress_bar(opts.progress, n_todo)?;
    let shared = Shared {
        exec,
        plan,
        todo: &todo,
        items: &items,
        threads_per_run,
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        journal: std::sync::Mutex::new(open_journal(dir, &tag, 0)?),
        error: std::sync::Mutex::new(None),
    };
    let (tx, rx) = mpsc::channel::<(usize, Item, Vec<Row>)>();
    let mut writer = Writer {
        dir,
        plan,
        tag: &tag,
        bar: &bar,
        pending: Vec::new(),
        carry: Vec::new(),
        seq: 1,
        chunks_written: 0,
        runs_done: 0,
        errors: HashMap::new(),
    };
    let write_result: Result<()> = std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let shared = &shared;
            scope.spawn(move || shared.work(tx));
        }
        drop(tx);
        writer.drain(&shared, &rx, opts.chunk_every_s)
    });
    bar.finish_and_clear();
    write_result?;
    if let Some(e) = shared.error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut errors: Vec<(String, usize)> = writer.errors.into_iter().collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(RunSummary {
        plan_hash: plan.hash.clone(),
        runs_in_shard,
        runs_skipped: runs_in_shard - n_todo,
        runs_recovered: recovered,
        runs_done: writer.runs_done,
        chunks_written: writer.chunks_written,
        workers,
        runs_failed: errors.iter().map(|e| e.1).sum(),
        errors,
        tmp_removed,
        elapsed_s: t0.elapsed().as_secs_f64(),
    })
}

/// Items with the indices of their methods still to run.
type Todo = Vec<(Item, Vec<usize>)>;

/// What the workers draw from: items (a grid plan), or curves with their known outcomes (an
/// adaptive plan, see [`crate::sweep::adaptive`]).
enum Work {
    Grid(Todo),
    Curves(Vec<(Curve, Vec<Vec<bool>>)>),
}

impl Work {
    fn len(&self) -> usize {
        match self {
            Work::Grid(t) => t.len(),
            Work::Curves(c) => c.len(),
        }
    }
}

/// The shard's unfinished curves of an adaptive plan, with their outcomes on disk: (runs on disk
/// plus an estimate of the runs to go, the curves, that estimate).
fn pending_curves(
    plan: &Plan,
    ad: &Adaptive,
    opts: &RunOptions,
    dir: &Path,
) -> Result<(usize, Work, usize)> {
    let outcomes = finished_outcomes(dir)?;
    let mut on_disk = 0;
    let mut to_go = 0;
    let mut todo = Vec::new();
    for (ci, c) in adaptive::curves(plan)?.into_iter().enumerate() {
        if !opts.shard.owns(ci) {
            continue;
        }
        let known = adaptive::known(plan, ad, &c, &outcomes);
        let done: usize = known.iter().map(Vec::len).sum();
        on_disk += done;
        if ad.next(&known).is_some() {
            let expected = adaptive::expected_runs(c.points.len(), ad.reps);
            to_go += expected.saturating_sub(done).max(1);
            todo.push((c, known));
        }
    }
    Ok((on_disk + to_go, Work::Curves(todo), to_go))
}

/// The shard's runs: how many it has, and its items with the methods not finished yet.
fn pending_runs(
    plan: &Plan,
    opts: &RunOptions,
    done: &HashSet<(i64, String)>,
) -> Result<(usize, Todo)> {
    let items: Vec<Item> = plan
        .items()?
        .into_iter()
        .filter(|it| opts.shard.owns(it.item))
        .collect();
    let runs_in_shard: usize = items.iter().map(|it| plan.methods_for(it).count()).sum();
    let todo = items
        .into_iter()
        .filter_map(|it| {
            let pending: Vec<usize> = plan
                .methods_for(&it)
                .filter(|&j| !done.contains(&(it.item as i64, plan.methods[j].id.clone())))
                .collect();
            (!pending.is_empty()).then_some((it, pending))
        })
        .collect();
    Ok((runs_in_shard, todo))
}

fn progress_bar(show: bool, n: usize) -> Result<indicatif::ProgressBar> {
    if !show {
        return Ok(indicatif::ProgressBar::hidden());
    }
    let b = indicatif::ProgressBar::new(n as u64);
    b.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} runs  {per_sec}  ETA {eta}  {msg}",
        )
        .map_err(|e| Error::invalid("progress template", e.to_string(), "a valid template"))?
        .progress_chars("=> "),
    );
    Ok(b)
}

/// What the workers share: the work list, the journal, the stop flag and the first error.
struct Shared<'a, E> {
    exec: &'a E,
    plan: &'a Plan,
    todo: &'a Work,
    items: &'a [Item],
    threads_per_run: usize,
    next: AtomicUsize,
    stop: AtomicBool,
    journal: std::sync::Mutex<Journal>,
    error: std::sync::Mutex<Option<Error>>,
}

impl<E: Execute> Shared<'_, E> {
    fn fail(&self, e: Error) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        self.stop.store(true, Ordering::SeqCst);
    }

    /// One worker: its own rayon pool; draws items until none is left (or the sweep stops), runs
    /// each pending method of the item in the pool, journals and sends each finished run.
    fn work(&self, tx: mpsc::Sender<(usize, Item, Vec<Row>)>) {
        let pool = match rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads_per_run)
            .build()
        {
            Ok(p) => p,
            Err(e) => {
                return self.fail(Error::invalid(
                    "threads_per_run",
                    self.threads_per_run,
                    format!("a thread count the system can start ({e})"),
                ));
            }
        };
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let k = self.next.fetch_add(1, Ordering::SeqCst);
            let more = match self.todo {
                Work::Grid(todo) => todo
                    .get(k)
                    .map(|(item, pending)| self.run_item(&pool, item, pending, &tx)),
                Work::Curves(curves) => curves
                    .get(k)
                    .map(|(curve, known)| self.run_curve(&pool, curve, known.clone(), &tx)),
            };
            if more != Some(true) {
                return;
            }
        }
    }

    /// The pending methods of one item, on one drawn instance; `false` when the sweep must stop.
    fn run_item(
        &self,
        pool: &rayon::ThreadPool,
        item: &Item,
        pending: &[usize],
        tx: &mpsc::Sender<(usize, Item, Vec<Row>)>,
    ) -> bool {
        let drawn = self.exec.draw(pool, item);
        pending.iter().all(|&j| {
            let rows = self.exec.run(&drawn, pool, self.plan, item, j);
            self.journal_and_send(item, rows, tx)
        })
    }

    /// One curve of an adaptive plan: the runs its rule asks for, one after the other, each on
    /// its item's instance; `false` when the sweep must stop.
    fn run_curve(
        &self,
        pool: &rayon::ThreadPool,
        curve: &Curve,
        mut known: Vec<Vec<bool>>,
        tx: &mpsc::Sender<(usize, Item, Vec<Row>)>,
    ) -> bool {
        let Some(ad) = &self.plan.adaptive else {
            return false;
        };
        while let Some((i, rep)) = ad.next(&known) {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            let Some(item) = adaptive::item_by_id(self.items, curve.item(self.plan, i, rep)) else {
                self.fail(Error::invalid(
                    "adaptive run",
                    format!("{} at index {i}, rep {rep}", curve.setting),
                    "an item of the plan (a bug: the curve and the grid disagree)",
                ));
                return false;
            };
            let drawn = self.exec.draw(pool, item);
            let rows = self.exec.run(&drawn, pool, self.plan, item, curve.method);
            let ok = ad.succeeded(adaptive::outcome_of_rows(&rows));
            if !self.journal_and_send(item, rows, tx) {
                return false;
            }
            known[i].push(ok);
        }
        true
    }

    /// Append one finished run to the journal and send it to the writer; `false` when the sweep
    /// must stop (a journal write failed, or the writer is gone).
    fn journal_and_send(
        &self,
        item: &Item,
        rows: Vec<Row>,
        tx: &mpsc::Sender<(usize, Item, Vec<Row>)>,
    ) -> bool {
        // one line per finished run, appended under the lock that also orders the channel, so a
        // rotation splits runs exactly between journals; `json \t checksum`: a line torn by a
        // kill or damaged on disk is recognised and its run redone, never read as a finished run
        let line = serde_json::to_string(&JRun::new(&self.plan.hash, item.item, &rows))
            .map(|l| format!("{l}\t{}\n", checksum(l.as_bytes())));
        let j = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        let written = line.map_err(Error::from).and_then(|l| {
            use std::io::Write;
            crate::io::fault::check(crate::io::fault::Op::Append, &j.path)?;
            (&j.file)
                .write_all(l.as_bytes())
                .map_err(|e| file_err("write", &j.path, e))
        });
        if let Err(e) = written {
            drop(j);
            self.fail(e);
            return false;
        }
        tx.send((j.index, item.clone(), rows)).is_ok()
    }
}

/// The writer: collects finished runs and, every `chunk_every_s` and at the end, rotates the
/// journal and writes the runs of the old one to a chunk (the old journal is deleted once the
/// chunk is on disk).
struct Writer<'a> {
    dir: &'a Path,
    plan: &'a Plan,
    tag: &'a str,
    bar: &'a indicatif::ProgressBar,
    pending: Vec<(Item, Vec<Row>)>,
    carry: Vec<(Item, Vec<Row>)>,
    seq: usize,
    chunks_written: usize,
    runs_done: usize,
    errors: HashMap<String, usize>,
}

impl Writer<'_> {
    /// Receive until every worker is done, compacting on the clock.
    fn drain(
        &mut self,
        shared: &Shared<'_, impl Execute>,
        rx: &mpsc::Receiver<(usize, Item, Vec<Row>)>,
        chunk_every_s: f64,
    ) -> Result<()> {
        let mut last = Instant::now();
        loop {
            let wait = (chunk_every_s - last.elapsed().as_secs_f64()).max(0.0);
            match rx.recv_timeout(std::time::Duration::from_secs_f64(wait)) {
                Ok((_, it, rows)) => {
                    self.bar.inc(1);
                    self.pending.push((it, rows));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return self.compact(true, shared, rx);
                }
            }
            if last.elapsed().as_secs_f64() >= chunk_every_s {
                if let Err(e) = self.compact(false, shared, rx) {
                    shared.stop.store(true, Ordering::SeqCst);
                    return Err(e);
                }
                last = Instant::now();
            }
        }
    }

    /// Rotate the journal (unless `final_`), write the runs of the old one to a chunk, delete it.
    fn compact(
        &mut self,
        final_: bool,
        shared: &Shared<'_, impl Execute>,
        rx: &mpsc::Receiver<(usize, Item, Vec<Row>)>,
    ) -> Result<()> {
        let (old_path, old_index) = {
            let mut j = shared.journal.lock().unwrap_or_else(|p| p.into_inner());
            let old = (j.path.clone(), j.index);
            if !final_ {
                *j = open_journal(self.dir, self.tag, j.index + 1)?;
            }
            old
        };
        while let Ok((k, it, rows)) = rx.try_recv() {
            self.bar.inc(1);
            if k <= old_index {
                self.pending.push((it, rows));
            } else {
                self.carry.push((it, rows));
            }
        }
        if !self.pending.is_empty() {
            write_chunk(self.dir, self.plan, self.tag, self.seq, &self.pending)?;
            self.seq += 1;
            self.chunks_written += 1;
            self.runs_done += self.pending.len();
            for (_, rows) in &self.pending {
                if let Some(msg) = rows
                    .iter()
                    .find_map(|r| r.termination.strip_prefix("error: ").map(error_kind))
                {
                    *self.errors.entry(msg).or_default() += 1;
                }
            }
        }
        crate::io::fault::check(crate::io::fault::Op::Remove, &old_path)?;
        std::fs::remove_file(&old_path).map_err(|e| file_err("remove", &old_path, e))?;
        self.pending.clear();
        self.pending.append(&mut self.carry);
        Ok(())
    }
}

/// The kind of an error message, for counting a sweep's failures: numbers (which differ per run)
/// become `#`.
pub(super) fn error_kind(msg: &str) -> String {
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
