//! The runner of [`run_plan`]: workers that draw items and append finished runs to the journal,
//! and the writer that rotates the journal into chunks.

use super::journal::*;
use super::*;
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
    let shard_tag = (opts.shard.count > 1).then_some(tag.as_str());
    // one writer per (directory, shard), for the sweep's whole life (see `crate::sweep::lock`)
    let _lock = crate::sweep::lock::lock_for_sweep(dir, shard_tag)?;
    let tmp_removed = clean_tmp(dir, shard_tag)?;
    let mut done = finished_runs(dir, true)?;
    let recovered = recover_journals(dir, plan, &tag, &mut done)?;
    let (runs_in_shard, todo) = pending_runs(plan, opts, &done)?;
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
    let bar = progress_bar(opts.progress, n_todo)?;
    let shared = Shared {
        plan,
        todo: &todo,
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
struct Shared<'a> {
    plan: &'a Plan,
    todo: &'a [(Item, Vec<usize>)],
    threads_per_run: usize,
    next: AtomicUsize,
    stop: AtomicBool,
    journal: std::sync::Mutex<Journal>,
    error: std::sync::Mutex<Option<Error>>,
}

impl Shared<'_> {
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
            let Some((item, pending)) = self.todo.get(k) else {
                return;
            };
            let spec = crate::instance::InstanceSpec::from_params(&item.point.0);
            let inst = spec.and_then(|s| pool.install(|| s.sample(item.seed)));
            let inst_metrics = inst
                .as_ref()
                .map(|i| pool.install(|| instance_metrics(i, item.seed)))
                .unwrap_or_default();
            for &j in pending {
                let m = &self.plan.methods[j];
                let mut rows = match &inst {
                    Ok(inst) => pool.install(|| run_method(self.plan, m, item, inst)),
                    Err(e) => vec![error_row(m, format!("error: instance: {e}"), 0.0)],
                };
                for r in &mut rows {
                    r.metrics.extend(inst_metrics.iter().cloned());
                }
                if !self.journal_and_send(item, rows, &tx) {
                    return;
                }
            }
        }
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
        let line = serde_json::to_string(&JRun::new(item.item, &rows))
            .map(|l| format!("{l}\t{}\n", checksum(l.as_bytes())));
        let j = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        let written = line.map_err(Error::from).and_then(|l| {
            use std::io::Write;
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
        shared: &Shared<'_>,
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
        shared: &Shared<'_>,
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
