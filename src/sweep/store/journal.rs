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

/// One finished run as one journal line; the item is looked up in the plan by its index, and the
/// line is read only by a sweep of the plan whose hash it carries.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct JRun {
    plan: String,
    item: usize,
    rows: Vec<JRow>,
}

impl JRun {
    pub(super) fn new(plan: &str, item: usize, rows: &[Row]) -> Self {
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
        JRun {
            plan: plan.to_string(),
            item,
            rows,
        }
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

/// The runs in the complete lines of a journal of `plan`. A line cut by a crash (the last,
/// without its newline), a line without its checksum or failing it, a line that is not UTF-8 or
/// not a run, and a line of another plan are damaged: ignored with a warning (their runs are
/// redone), never read as finished runs.
pub(super) fn read_journal(
    path: &Path,
    plan: &str,
    items: &[Item],
) -> Result<Vec<(Item, Vec<Row>)>> {
    let bytes = std::fs::read(path).map_err(|e| file_err("read", path, e))?;
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..i],
        None => &[][..],
    };
    let warn = |what: String| {
        crate::error::warn(&format!(
            "{}: {what}; line ignored (its run will be redone)",
            path.display()
        ))
    };
    let mut out = Vec::new();
    for (no, raw) in complete.split(|&b| b == b'\n').enumerate() {
        let Ok(line) = std::str::from_utf8(raw) else {
            warn(format!("line {} is not UTF-8 text", no + 1));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        // `json \t checksum` (JSON escapes tabs, so the last tab separates them)
        let json = match line.rsplit_once('\t') {
            Some((json, sum)) if sum == checksum(json.as_bytes()) => json,
            Some(_) => {
                warn(format!("line {} fails its checksum", no + 1));
                continue;
            }
            None => {
                warn(format!("line {} has no checksum", no + 1));
                continue;
            }
        };
        match serde_json::from_str::<JRun>(json) {
            Ok(j) if j.plan != plan => warn(format!(
                "line {} is a run of plan {}, not of this plan {plan}",
                no + 1,
                j.plan
            )),
            Ok(j) => match items.get(j.item) {
                Some(it) => out.push((it.clone(), j.rows())),
                None => warn(format!("item {} is not in the plan", j.item)),
            },
            Err(e) => warn(format!("line {} is not a run ({e})", no + 1)),
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
        for (it, rows) in read_journal(&p, &plan.hash, &items)? {
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
        for (it, rows) in read_journal(p, &plan.hash, &items)? {
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
        crate::io::fault::check(crate::io::fault::Op::Remove, p)?;
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
