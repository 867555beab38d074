//! The journal of a running sweep: one checksummed JSON line per finished run, appended by the
//! workers; rotated into chunks by the runner; recovered into a chunk by the next run after a kill.

use super::*;
/// A parameter value in a journal line (floats as their bits: exact, NaN-safe).
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) enum JVal {
    B(bool),
    I(i64),
    F(u64),
    S(String),
}

/// One row in a journal line.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct JRow {
    method: String,
    iter: i64,
    time: u64,
    params: Vec<(String, JVal)>,
    metrics: Vec<(String, u64)>,
    termination: String,
}

/// One finished run as one journal line; the item is looked up in the plan by its index.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct JRun {
    item: usize,
    rows: Vec<JRow>,
}

impl JRun {
    pub(super) fn new(item: usize, rows: &[Row]) -> Self {
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
    pub(super) fn rows(self) -> Vec<Row> {
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

pub(super) fn journal_dir(dir: &Path) -> PathBuf {
    dir.join("journal")
}

/// Journal files, optionally only those of shard `tag`, sorted by name.
pub(super) fn journal_files(dir: &Path, tag: Option<&str>) -> Result<Vec<PathBuf>> {
    let prefix = tag.map(|t| format!("{t}-")).unwrap_or_default();
    list_files(&journal_dir(dir), "jsonl", &prefix)
}

/// The complete lines of a journal (a line cut by a crash is ignored).
pub(super) fn read_journal(path: &Path, items: &[Item]) -> Result<Vec<(Item, Vec<Row>)>> {
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
pub(super) fn journal_runs(
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

/// Move the runs left in this shard's journals by an interrupted process into a chunk (skipping
/// runs already in chunks), then delete those journals. Returns the runs recovered.
pub(super) fn recover_journals(
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
pub(super) struct Journal {
    pub(super) file: std::fs::File,
    pub(super) path: PathBuf,
    pub(super) index: usize,
}

pub(super) fn open_journal(dir: &Path, tag: &str, index: usize) -> Result<Journal> {
    let path = journal_dir(dir).join(format!("{tag}-{}-{index:06}.jsonl", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| file_err("write", &path, e))?;
    Ok(Journal { file, path, index })
}
