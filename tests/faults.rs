//! Fault injection over every write point (the `DICTLAB_FAULT` seam of `dictlab::io::fault`): for
//! a small sweep, a merge, a repair and a document update, the Nth fault point — create, first
//! write, fsync, rename, journal append, removal — fails (an I/O error) or kills the process
//! (exit 137 with half a buffer written), for every N the command passes; then the command is
//! rerun without faults and its result must equal the uninterrupted run's, bit for bit (wall times
//! aside), with no temporary file left where a reader looks and no file deleted by repair.
//!
//! The counts of fault points walked are printed (`cargo test --test faults -- --nocapture`).

mod common;

use common::assert_same_results;
use std::path::{Path, PathBuf};
use std::process::Command;

const PLAN: &str = r#"
name = "faults"
base_seed = 5
reps = 2
[instance]
dim = 12
n_atoms = 16
n_samples = 120
[grid]
sparsity = [2, 3]
[[method]]
name = "omp"
[[method]]
name = "mod"
iters = 4
"#;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Run the binary with `DICTLAB_FAULT` set to `fault` (or unset): (exit code, stderr).
fn run(fault: Option<&str>, args: &[&str]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dictlab"));
    c.args(args).env_remove("DICTLAB_FAULT");
    if let Some(f) = fault {
        c.env("DICTLAB_FAULT", f);
    }
    let out = c.output().expect("run dictlab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The fault points `args` passes when nothing fails.
fn count_points(args: &[&str]) -> usize {
    let (rc, err) = run(Some("count"), args);
    assert_eq!(rc, 0, "{err}");
    err.lines()
        .find_map(|l| l.strip_prefix("dictlab-fault-points: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {err}"))
}

/// Files whose name starts with `.tmp-` anywhere under `dir`.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    walkdir(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        })
        .collect()
}

fn read(path: &Path) -> dictlab::polars::prelude::DataFrame {
    dictlab::sweep::store::read_parquet(path).unwrap()
}

/// Every N over a command's fault points, failing and dying: `setup` prepares a fresh directory,
/// `cmd` is the command (given that directory), `check` judges the state after the faulty run and
/// a clean rerun. Returns the number of (N, mode) cases walked.
fn walk(
    name: &str,
    setup: impl Fn(&Path),
    cmd: impl Fn(&Path) -> Vec<String>,
    check: impl Fn(&Path, &str),
) -> usize {
    let probe = tempfile::tempdir().unwrap();
    setup(probe.path());
    let args = cmd(probe.path());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let points = count_points(&argv);
    assert!(points > 0, "{name}: no fault point");
    let mut cases = 0;
    for n in 1..=points {
        for mode in ["fail", "die"] {
            let dir = tempfile::tempdir().unwrap();
            setup(dir.path());
            let args = cmd(dir.path());
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let fault = format!("{mode}:{n}");
            let (rc, err) = run(Some(&fault), &argv);
            let want = if mode == "fail" { 2 } else { 137 };
            assert_eq!(rc, want, "{name} {fault}: {err}");
            if mode == "fail" {
                assert!(err.contains("injected fault"), "{name} {fault}: {err}");
            }
            let (rc, err) = run(None, &argv);
            assert_eq!(rc, 0, "{name} {fault}, rerun: {err}");
            check(dir.path(), &fault);
            cases += 1;
        }
    }
    println!("{name}: {points} fault points, {cases} cases");
    cases
}

fn write_plan(dir: &Path) -> PathBuf {
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    plan
}

/// The merged table of an uninterrupted sweep of [`PLAN`].
fn reference() -> dictlab::polars::prelude::DataFrame {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path());
    let out = dir.path().join("r");
    let (rc, err) = run(None, &["sweep", p(&plan), "--out", p(&out), "--quiet"]);
    assert_eq!(rc, 0, "{err}");
    let merged = dir.path().join("all.parquet");
    let (rc, err) = run(None, &["merge", p(&out), "-o", p(&merged)]);
    assert_eq!(rc, 0, "{err}");
    read(&merged)
}

#[test]
fn a_sweep_killed_or_failing_at_any_write_resumes_to_the_uninterrupted_result() {
    let want = reference();
    let cases = walk(
        "sweep",
        |d| {
            write_plan(d);
        },
        |d| {
            vec![
                "sweep".into(),
                p(&d.join("plan.toml")).into(),
                "--out".into(),
                p(&d.join("r")).into(),
                "--quiet".into(),
                "--workers".into(),
                "1".into(),
            ]
        },
        |d, fault| {
            let merged = d.join("all.parquet");
            let (rc, err) = run(None, &["merge", p(&d.join("r")), "-o", p(&merged)]);
            assert_eq!(rc, 0, "{fault}: merge after resume: {err}");
            assert_same_results(&read(&merged), &want);
            assert!(
                temporaries(&d.join("r").join("chunks")).is_empty(),
                "{fault}: temporaries left in chunks/"
            );
        },
    );
    assert!(cases >= 20, "{cases}");
}

#[test]
fn merge_repair_and_document_updates_leave_old_or_new_never_a_part() {
    let want = reference();
    // a finished results directory, set up once and copied for every case
    let base = tempfile::tempdir().unwrap();
    let plan = write_plan(base.path());
    let r = base.path().join("r");
    let (rc, err) = run(None, &["sweep", p(&plan), "--out", p(&r), "--quiet"]);
    assert_eq!(rc, 0, "{err}");
    let copy = |to: &Path| {
        let (rc, err) = (
            Command::new("cp")
                .args(["-a", p(&r), p(&to.join("r"))])
                .status()
                .unwrap()
                .code()
                .unwrap(),
            "",
        );
        assert_eq!(rc, 0, "{err}");
    };
    // merge: the output appears whole or not at all
    walk(
        "merge",
        |d| copy(d),
        |d| {
            vec![
                "merge".into(),
                p(&d.join("r")).into(),
                "-o".into(),
                p(&d.join("all.parquet")).into(),
            ]
        },
        |d, fault| {
            assert_same_results(&read(&d.join("all.parquet")), &want);
            assert!(temporaries(d).is_empty(), "{fault}: temporaries left");
        },
    );
    // repair: a chunk duplicated under another name and a flipped chunk; nothing is deleted
    let damaged = |d: &Path| {
        copy(d);
        let chunks = d.join("r").join("chunks");
        let first = std::fs::read_dir(&chunks)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .min()
            .unwrap();
        let name = first.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::copy(&first, chunks.join(format!("z{name}"))).unwrap();
        let mut bytes = std::fs::read(&first).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x5a;
        std::fs::write(chunks.join(format!("y{name}")), &bytes).unwrap();
        // a chunk sorted first that holds the runs of item 0: the original chunk then holds
        // copies of them and is rewritten without them
        let df = read(&first);
        let half =
            dictlab::table::filter_eq(&df, &[("item", dictlab::table::Value::Int(0))]).unwrap();
        assert!(half.height() > 0 && half.height() < df.height());
        dictlab::sweep::store::write_parquet(&half, chunks.join("a-half.parquet")).unwrap();
    };
    let files_under = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = walkdir(d)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .filter(|p| {
                !p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    walk(
        "repair",
        damaged,
        |d| vec!["repair".into(), p(&d.join("r")).into()],
        |d, fault| {
            let fresh = tempfile::tempdir().unwrap();
            damaged(fresh.path());
            let before = files_under(&fresh.path().join("r").join("chunks"));
            let after = files_under(&d.join("r").join("chunks"));
            for f in &before {
                assert!(after.contains(f), "{fault}: repair lost {f}");
            }
            // the sweep redoes what the corrupt chunk held; then everything merges
            let plan = d.join("plan.toml");
            std::fs::write(&plan, PLAN).unwrap();
            let (rc, err) = run(
                None,
                &["sweep", p(&plan), "--out", p(&d.join("r")), "--quiet"],
            );
            assert_eq!(rc, 0, "{fault}: {err}");
            let merged = d.join("all.parquet");
            let (rc, err) = run(None, &["merge", p(&d.join("r")), "-o", p(&merged)]);
            assert_eq!(rc, 0, "{fault}: {err}");
            assert_same_results(&read(&merged), &want);
        },
    );
    // --update: the document is the old one or the new one
    let merged = base.path().join("all.parquet");
    let (rc, err) = run(None, &["merge", p(&r), "-o", p(&merged)]);
    assert_eq!(rc, 0, "{err}");
    let old = "# Bench\n<!-- headline:begin -->\nold\n<!-- headline:end -->\ntail\n";
    let doc_setup = |d: &Path| std::fs::write(d.join("BENCH.md"), old).unwrap();
    let (rc, err) = {
        let d = tempfile::tempdir().unwrap();
        doc_setup(d.path());
        let doc = d.path().join("BENCH.md");
        let rc = run(None, &["headline", p(&merged), "--update", p(&doc)]);
        let new = std::fs::read_to_string(&doc).unwrap();
        assert_ne!(new, old);
        std::fs::write(base.path().join("new.md"), &new).unwrap();
        rc
    };
    assert_eq!(rc, 0, "{err}");
    let new = std::fs::read_to_string(base.path().join("new.md")).unwrap();
    walk(
        "headline --update",
        doc_setup,
        |d| {
            vec![
                "headline".into(),
                p(&merged).into(),
                "--update".into(),
                p(&d.join("BENCH.md")).into(),
            ]
        },
        |d, fault| {
            assert_eq!(
                std::fs::read_to_string(d.join("BENCH.md")).unwrap(),
                new,
                "{fault}"
            );
            assert!(temporaries(d).is_empty(), "{fault}: temporaries left");
        },
    );
}

/// Every file under `dir`.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}
