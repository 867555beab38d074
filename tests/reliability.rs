//! Hostile and careless use of the real `dictlab` binary: sizes that cannot fit, lying `.npy`
//! headers, absurd thread counts, two writers on one results directory, flipped bytes in a chunk,
//! flags that do not apply, NaN parameters, runs that fail inside a sweep. Each case was a crash,
//! a silent wrong result or an exit code of 0 before; each must now be a clear error (exit 2), or
//! exit 3 for a sweep that finished with error rows.

mod common;

use common::{dictlab, npy_bytes};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn small_instance(dir: &Path) -> PathBuf {
    let out = dir.join("inst");
    let (rc, _, err) = dictlab(&[
        "generate",
        "--dim",
        "16",
        "--atoms",
        "32",
        "--sparsity",
        "3",
        "--samples",
        "200",
        "--out",
        p(&out),
    ]);
    assert_eq!(rc, 0, "{err}");
    out
}

#[test]
fn sizes_that_cannot_fit_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--dim", "100000", "--atoms", "100000", "--samples", "1000"],
        vec!["--dim", "16", "--atoms", "32", "--samples", "1000000000"],
    ] {
        let mut a = vec!["generate", "--sparsity", "5", "--out", p(dir.path())];
        a.extend(args);
        let (rc, _, err) = dictlab(&a);
        assert_eq!(rc, 2, "{err}");
        assert!(err.contains("GiB") && err.contains("--max-memory"), "{err}");
    }
    // the override refuses what the machine could hold
    let (rc, _, err) = dictlab(&[
        "--max-memory",
        "1K",
        "generate",
        "--dim",
        "16",
        "--atoms",
        "32",
        "--samples",
        "200",
        "--out",
        p(dir.path()),
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("max_memory limit"), "{err}");
    let (rc, _, err) = dictlab(&[
        "--max-memory",
        "lots",
        "metrics",
        "--truth",
        "a",
        "--estimate",
        "b",
    ]);
    assert_eq!(rc, 2);
    assert!(err.contains("K/M/G/T"), "{err}");
    // a limit in the environment that does not parse is an error, not silently no limit
    let out = Command::new(env!("CARGO_BIN_EXE_dictlab"))
        .env("DICTLAB_MAX_MEMORY", "12Q")
        .args(["info"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("DICTLAB_MAX_MEMORY") && err.contains("8G"),
        "{err}"
    );
}

#[test]
fn an_npy_header_is_checked_against_the_file_length() {
    let dir = tempfile::tempdir().unwrap();
    let inst = small_instance(dir.path());
    // a 193-byte file whose header claims (100000, 100000) float64
    let mut bytes = npy_bytes("<f8", "(100000, 100000)", false, 0, 0);
    bytes.resize(193, 0);
    let liar = dir.path().join("liar.npy");
    std::fs::write(&liar, &bytes).unwrap();
    for args in [
        vec!["metrics", "--truth", p(&liar), "--estimate", p(&liar)],
        vec![
            "encode",
            "--dict",
            p(&liar),
            "--signals",
            p(&inst.join("Y.npy")),
            "--method",
            "omp",
            "--sparsity",
            "3",
            "--out",
            p(&dir.path().join("x.npy")),
        ],
    ] {
        let (rc, _, err) = dictlab(&args);
        assert_eq!(rc, 2, "{err}");
        assert!(
            err.contains("truncated") && err.contains("liar.npy"),
            "{err}"
        );
    }
}

#[test]
fn thread_counts_are_capped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let inst = small_instance(dir.path());
    let t = std::time::Instant::now();
    let (rc, _, err) = dictlab(&[
        "--threads",
        "10000",
        "encode",
        "--dict",
        p(&inst.join("A.npy")),
        "--signals",
        p(&inst.join("Y.npy")),
        "--method",
        "omp",
        "--sparsity",
        "3",
        "--out",
        p(&dir.path().join("x.npy")),
    ]);
    assert_eq!(rc, 0, "{err}");
    assert!(err.contains("capped at"), "{err}");
    // not a timing assertion of speed: 10 000 threads took 39 s; the cap makes it an ordinary run
    assert!(t.elapsed().as_secs() < 30);
}

#[test]
fn flags_that_do_not_apply_and_bad_outputs_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let inst = small_instance(dir.path());
    let (a, y) = (inst.join("A.npy"), inst.join("Y.npy"));
    let x = dir.path().join("x.npy");
    for (flag, val) in [("--nonneg", None), ("--lambda", Some("0.1"))] {
        let mut args = vec![
            "encode",
            "--dict",
            p(&a),
            "--signals",
            p(&y),
            "--method",
            "omp",
            "--sparsity",
            "3",
            "--out",
            p(&x),
            flag,
        ];
        args.extend(val);
        let (rc, _, err) = dictlab(&args);
        assert_eq!(rc, 2, "{flag}: {err}");
        assert!(err.contains(flag) && err.contains("omp"), "{err}");
    }
    assert!(!x.exists(), "nothing written");
    // a missing output directory is named before any work
    let (rc, _, err) = dictlab(&[
        "learn",
        "--signals",
        p(&y),
        "--atoms",
        "32",
        "--method",
        "mod",
        "--sparsity",
        "3",
        "--out",
        p(&dir.path().join("d.npy")),
        "--truth",
        p(&a),
        "--trace",
        p(&dir.path().join("nodir/t.csv")),
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("does not exist"), "{err}");
    // the scikit-learn layout: a transposed dictionary gets the hint
    let at = dir.path().join("At.npy");
    let d = dictlab::io::read_matrix(&a, "d").unwrap();
    dictlab::io::write_matrix(&at, &d.t().to_owned()).unwrap();
    let (rc, _, err) = dictlab(&[
        "encode",
        "--dict",
        p(&at),
        "--signals",
        p(&y),
        "--method",
        "omp",
        "--sparsity",
        "3",
        "--out",
        p(&x),
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("dictionary looks transposed"), "{err}");
}

#[test]
fn nan_and_underflow_in_generator_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let (rc, _, err) = dictlab(&[
        "generate",
        "--dim",
        "16",
        "--atoms",
        "32",
        "--samples",
        "100",
        "--coherence",
        "NaN",
        "--out",
        p(dir.path()),
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("finite"), "{err}");
    // Zipf weights that underflow still give exactly k atoms per sample
    let out = dir.path().join("z");
    let (rc, _, err) = dictlab(&[
        "generate",
        "--dim",
        "16",
        "--atoms",
        "32",
        "--sparsity",
        "4",
        "--zipf",
        "1000",
        "--samples",
        "100",
        "--out",
        p(&out),
    ]);
    assert_eq!(rc, 0, "{err}");
    let x = dictlab::io::read_matrix(out.join("X.npy"), "codes").unwrap();
    for c in x.columns() {
        assert_eq!(c.iter().filter(|v| **v != 0.0).count(), 4);
    }
}

const PLAN: &str = r#"
name = "reliability"
base_seed = 1
reps = 2
[instance]
dim = 16
n_atoms = 32
n_samples = 300
[grid]
sparsity = [2, 3, 4]
[[method]]
name = "omp"
[[method]]
name = "mod"
iters = 5
"#;

/// A chunk file of the results directory `dir`.
fn first_chunk(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("chunks"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap()
}

fn write_plan(dir: &Path, text: &str) -> PathBuf {
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, text).unwrap();
    plan
}

#[test]
fn plan_values_that_cannot_run_are_refused_by_the_plan_check() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["lambda = nan", "lambda = -1.0", "epochs = -5", "epochs = 0"] {
        let text = format!("{PLAN}\n[[method]]\nname = \"online\"\n{bad}\n");
        let plan = write_plan(dir.path(), &text);
        let (rc, _, err) = dictlab(&[
            "sweep",
            p(&plan),
            "--out",
            p(&dir.path().join("r")),
            "--quiet",
        ]);
        assert_eq!(rc, 2, "{bad}: {err}");
        assert!(err.contains("online"), "{bad}: {err}");
    }
}

#[test]
fn a_sweep_with_failing_runs_finishes_the_others_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    // m = 3n: the coherence generator cannot reach 1.07 × the Welch bound (0.206) — it stops
    // near 1.14 × — so those instances become error rows; the μ = 0.5 ones run normally
    let text = r#"
name = "failing runs"
base_seed = 1
reps = 2
[instance]
dim = 16
n_atoms = 48
n_samples = 200
[grid]
coherence = [0.5, 0.22]
[[method]]
name = "omp"
[[method]]
name = "mod"
iters = 3
"#;
    let plan = write_plan(dir.path(), text);
    let out = dir.path().join("r");
    let (rc, stdout, err) = dictlab(&["sweep", p(&plan), "--out", p(&out), "--quiet"]);
    if rc == 0 {
        // every target reachable on this machine's draw: nothing to check
        return;
    }
    assert_eq!(rc, 3, "{err}");
    assert!(err.contains("runs failed"), "{err}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(summary["runs_failed"].as_u64().unwrap() >= 1);
    assert_eq!(
        summary["runs_done"].as_u64().unwrap(),
        8,
        "every run has a row"
    );
}

#[test]
fn a_second_writer_is_refused_naming_the_first_and_nothing_is_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let text = PLAN
        .replace("iters = 5", "iters = 400")
        .replace("reps = 2", "reps = 6");
    let plan = write_plan(dir.path(), &text);
    let out = dir.path().join("r");
    let mut first = Command::new(env!("CARGO_BIN_EXE_dictlab"))
        .args([
            "--threads",
            "1",
            "sweep",
            p(&plan),
            "--out",
            p(&out),
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = out.join("locks/dir.lock");
    let t = std::time::Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|s| !s.trim().is_empty()) {
        assert!(
            t.elapsed().as_secs() < 60,
            "the first sweep never took its lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (rc, _, err) = dictlab(&["sweep", p(&plan), "--out", p(&out), "--quiet"]);
    let still_running = first.try_wait().unwrap().is_none();
    if still_running {
        assert_eq!(rc, 2, "{err}");
        assert!(err.contains(&first.id().to_string()), "{err}");
        let (rc, _, err) = dictlab(&[
            "sweep",
            p(&plan),
            "--out",
            p(&out),
            "--shard",
            "1/4",
            "--quiet",
        ]);
        assert_eq!(rc, 2, "a shard beside an unsharded run: {err}");
    }
    assert!(first.wait().unwrap().success());
    let (rc, _, err) = dictlab(&["merge", p(&out), "-o", p(&dir.path().join("all.parquet"))]);
    assert_eq!(rc, 0, "merge after the refused second writer: {err}");
    // and after it, a rerun skips everything
    let (rc, stdout, err) = dictlab(&["sweep", p(&plan), "--out", p(&out), "--quiet"]);
    assert_eq!(rc, 0, "{err}");
    let s: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(s["runs_done"], 0);
}

#[test]
fn a_flipped_chunk_is_named_by_merge_and_status_and_repair_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), PLAN);
    let out = dir.path().join("r");
    let (rc, _, err) = dictlab(&["sweep", p(&plan), "--out", p(&out), "--quiet"]);
    assert_eq!(rc, 0, "{err}");
    let chunk = first_chunk(&out);
    let mut bytes = std::fs::read(&chunk).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&chunk, &bytes).unwrap();
    let merged = dir.path().join("all.parquet");
    for args in [
        vec!["merge", p(&out), "-o", p(&merged)],
        vec!["status", p(&out)],
    ] {
        let (rc, _, err) = dictlab(&args);
        assert_eq!(rc, 2, "{args:?}: {err}");
        assert!(
            err.contains("corrupt") && err.contains("dictlab repair"),
            "{err}"
        );
    }
    assert!(chunk.exists(), "status moves nothing");
    let (rc, stdout, err) = dictlab(&["repair", p(&out)]);
    assert_eq!(rc, 0, "{err}");
    assert!(stdout.contains("\"corrupt_moved\":1"), "{stdout}");
    // the next sweep redoes the lost runs, then everything merges
    let (rc, _, err) = dictlab(&["sweep", p(&plan), "--out", p(&out), "--quiet"]);
    assert_eq!(rc, 0, "{err}");
    let (rc, _, err) = dictlab(&["merge", p(&out), "-o", p(&merged)]);
    assert_eq!(rc, 0, "{err}");
    // a foreign or empty table is not a results table
    let empty = dir.path().join("empty.parquet");
    let none: [&str; 0] = [];
    let df = dictlab::polars::prelude::df!(
        "item" => none, "method" => none, "iter" => none, "termination" => none, "plan_hash" => none
    )
    .unwrap();
    dictlab::sweep::store::write_parquet(&df, &empty).unwrap();
    let doc = dir.path().join("BENCH.md");
    std::fs::write(
        &doc,
        "x\n<!-- headline:begin -->\nold\n<!-- headline:end -->\n",
    )
    .unwrap();
    let (rc, _, err) = dictlab(&["headline", p(&empty), "--update", p(&doc)]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("empty table"), "{err}");
    assert!(
        std::fs::read_to_string(&doc).unwrap().contains("old"),
        "the document is untouched"
    );
    let foreign = dir.path().join("foreign.parquet");
    let df = dictlab::polars::prelude::df!("a" => [1.0, 2.0]).unwrap();
    dictlab::sweep::store::write_parquet(&df, &foreign).unwrap();
    let (rc, _, err) = dictlab(&["headline", p(&foreign)]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("dictlab results table"), "{err}");
}

#[test]
fn a_dictionary_at_a_huge_scale_is_measured_right_and_refused_by_the_coders() {
    let dir = tempfile::tempdir().unwrap();
    let inst = small_instance(dir.path());
    let a = dictlab::io::read_matrix(inst.join("A.npy"), "d").unwrap();
    let big = dir.path().join("big.npy");
    dictlab::io::write_matrix(&big, &(&a * 1e200)).unwrap();
    // the metrics normalize with a scale-robust norm: a scaled copy is a perfect recovery
    let (rc, out, err) = dictlab(&[
        "metrics",
        "--truth",
        p(&inst.join("A.npy")),
        "--estimate",
        p(&big),
    ]);
    assert_eq!(rc, 0, "{err}");
    let m: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        (m["recovery_score"].as_f64().unwrap() - 1.0).abs() < 1e-12,
        "{out}"
    );
    // the coders would square 1e200: refused with the fix instead of all-zero codes "converged"
    let (rc, _, err) = dictlab(&[
        "encode",
        "--dict",
        p(&big),
        "--signals",
        p(&inst.join("Y.npy")),
        "--method",
        "omp",
        "--sparsity",
        "3",
        "--out",
        p(&dir.path().join("x.npy")),
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("normalize its columns"), "{err}");
}

#[test]
fn a_plan_max_memory_limit_turns_oversized_instances_into_error_rows() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), &format!("max_memory = \"1K\"\n{PLAN}"));
    let (rc, _, err) = dictlab(&[
        "sweep",
        p(&plan),
        "--out",
        p(&dir.path().join("r")),
        "--quiet",
    ]);
    assert_eq!(rc, 3, "{err}");
    assert!(err.contains("needs") && err.contains("max_memory"), "{err}");
    let bad = write_plan(dir.path(), &format!("max_memory = \"lots\"\n{PLAN}"));
    let (rc, _, err) = dictlab(&[
        "sweep",
        p(&bad),
        "--out",
        p(&dir.path().join("s")),
        "--quiet",
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("max_memory"), "{err}");
}

#[test]
fn oversized_plans_thread_counts_corrupt_meta_and_bad_outputs_in_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    // a plan whose instances cannot fit is refused by the plan check (it aborted every rerun)
    let big = write_plan(
        dir.path(),
        &PLAN
            .replace("dim = 16", "dim = 100000")
            .replace("n_atoms = 32", "n_atoms = 100000"),
    );
    let (rc, _, err) = dictlab(&[
        "sweep",
        p(&big),
        "--out",
        p(&dir.path().join("b")),
        "--quiet",
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("GiB"), "{err}");
    // threads_per_run = 100000 is capped and the runs are done (it exited 0 with no run done)
    let thr = write_plan(
        dir.path(),
        &PLAN.replace("reps = 2", "reps = 2\nthreads_per_run = 100000"),
    );
    let out = dir.path().join("t");
    let (rc, stdout, err) = dictlab(&["sweep", p(&thr), "--out", p(&out), "--quiet"]);
    assert_eq!(rc, 0, "{err}");
    assert!(err.contains("capped"), "{err}");
    let s: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(s["runs_done"], 12);
    // a missing output directory is named before merging
    let (rc, _, err) = dictlab(&[
        "merge",
        p(&out),
        "-o",
        p(&dir.path().join("nodir/x.parquet")),
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("does not exist"), "{err}");
    // a corrupt meta.json is named with the fix
    std::fs::write(out.join("meta.json"), "{").unwrap();
    let (rc, _, err) = dictlab(&["merge", p(&out), "-o", p(&dir.path().join("x.parquet"))]);
    assert_eq!(rc, 2, "{err}");
    assert!(
        err.contains("meta.json") && err.contains("delete it"),
        "{err}"
    );
    // l4 with no starts would return an unoptimised dictionary
    let inst = small_instance(dir.path());
    let (rc, _, err) = dictlab(&[
        "learn",
        "--signals",
        p(&inst.join("Y.npy")),
        "--atoms",
        "32",
        "--method",
        "l4",
        "--starts",
        "0",
        "--out",
        p(&dir.path().join("d.npy")),
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("starts"), "{err}");
}

#[test]
fn two_plans_started_at_once_into_one_new_directory_one_wins_whole() {
    use dictlab::sweep::Plan;
    let a = Plan::from_toml_str(common::PLAN).unwrap();
    let b = Plan::from_toml_str(&common::PLAN.replace("base_seed = 11", "base_seed = 12")).unwrap();
    for trial in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join(format!("r{trial}"));
        let barrier = std::sync::Barrier::new(2);
        let (ra, rb) = std::thread::scope(|s| {
            let ta = s.spawn(|| {
                barrier.wait();
                dictlab::sweep::store::prepare_dir(&a, &d)
            });
            let tb = s.spawn(|| {
                barrier.wait();
                dictlab::sweep::store::prepare_dir(&b, &d)
            });
            (ta.join().unwrap(), tb.join().unwrap())
        });
        assert!(
            ra.is_ok() != rb.is_ok(),
            "trial {trial}: exactly one wins ({ra:?}, {rb:?})"
        );
        // the directory holds the winner's plan and meta, nothing of the loser's
        let stored = dictlab::sweep::store::stored_plan(&d).unwrap();
        let winner = if ra.is_ok() { &a } else { &b };
        assert_eq!(stored.hash, winner.hash, "trial {trial}");
        let meta = std::fs::read_to_string(d.join("meta.json")).unwrap();
        assert!(meta.contains(&winner.hash), "trial {trial}: {meta}");
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "trial {trial}: temporary files left");
    }
}

#[test]
fn learners_at_tiny_and_huge_scales_learn_the_same_or_are_refused() {
    // MOD, K-SVD and online DL are scale-equivariant: the same recovery at 1e-40 and 1e40 as at
    // 1 (their dead-atom tests are relative); 1e-120 (squares underflow) is refused with the fix
    let dir = tempfile::tempdir().unwrap();
    let inst = small_instance(dir.path());
    let y = dictlab::io::read_matrix(inst.join("Y.npy"), "Y").unwrap();
    let rate = |scale: f64, method: &str| -> Result<String, String> {
        let path = dir.path().join(format!("y{scale:e}.npy"));
        dictlab::io::write_matrix(&path, &(&y * scale)).unwrap();
        let (rc, out, err) = dictlab(&[
            "learn",
            "--signals",
            p(&path),
            "--atoms",
            "32",
            "--method",
            method,
            "--sparsity",
            "3",
            "--truth",
            p(&inst.join("A.npy")),
            "--out",
            p(&dir.path().join("d.npy")),
        ]);
        if rc != 0 {
            return Err(err);
        }
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        Ok(v["recovery"]["recovery_rate"].to_string())
    };
    for method in ["mod", "ksvd", "online"] {
        let at_one = rate(1.0, method).unwrap();
        for scale in [1e-40, 1e40] {
            assert_eq!(
                rate(scale, method).unwrap(),
                at_one,
                "{method} at {scale:e}"
            );
        }
        let e = rate(1e-120, method).unwrap_err();
        assert!(
            e.contains("divide them by their largest norm"),
            "{method}: {e}"
        );
    }
}

#[test]
fn round_two_edges_are_clear_errors_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // a full stdout is an error exit, not a silent 0
    if Path::new("/dev/full").exists() {
        let full = std::fs::File::create("/dev/full").unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_dictlab"))
            .arg("methods")
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("writing standard output"));
    }
    // negative values reach the range checks
    let (rc, _, err) = dictlab(&[
        "generate",
        "--dim",
        "-1",
        "--atoms",
        "8",
        "--samples",
        "10",
        "--out",
        p(d),
    ]);
    assert_eq!(rc, 2);
    assert!(err.contains("an integer ≥ 0"), "{err}");
    let (rc, _, err) = dictlab(&[
        "generate",
        "--dim",
        "8",
        "--atoms",
        "8",
        "--samples",
        "10",
        "--noise-sigma",
        "-0.1",
        "--out",
        p(d),
    ]);
    assert_eq!(rc, 2);
    assert!(err.contains("σ ≥ 0"), "{err}");
    // outputs are checked before the work: a directory as --out, a missing directory
    let inst = small_instance(d);
    for out in [d.to_path_buf(), d.join("missing").join("d.npy")] {
        let (rc, _, err) = dictlab(&[
            "learn",
            "--signals",
            p(&inst.join("Y.npy")),
            "--atoms",
            "32",
            "--method",
            "mod",
            "--sparsity",
            "3",
            "--out",
            p(&out),
        ]);
        assert_eq!(rc, 2, "{err}");
        assert!(err.contains("output path"), "{err}");
    }
    // .npy from standard input
    let out = Command::new(env!("CARGO_BIN_EXE_dictlab"))
        .args([
            "metrics",
            "--truth",
            p(&inst.join("A.npy")),
            "--estimate",
            "-",
        ])
        .stdin(std::fs::File::open(inst.join("A.npy")).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"recovery_rate\":1.0"));
    // repair of a path that is not a results directory creates nothing
    let nowhere = d.join("nowhere");
    let (rc, _, err) = dictlab(&["repair", p(&nowhere)]);
    assert_eq!(rc, 2);
    assert!(
        err.contains("not a sweep results directory") && !nowhere.exists(),
        "{err}"
    );
    // merge --partial before the first chunk
    let r = d.join("r");
    std::fs::create_dir_all(r.join("chunks")).unwrap();
    std::fs::write(r.join("plan.toml"), PLAN).unwrap();
    let (rc, _, err) = dictlab(&["merge", "--partial", p(&r), "-o", p(&d.join("x.parquet"))]);
    assert_eq!(rc, 2);
    assert!(err.contains("no finished runs yet"), "{err}");
    // counts that cannot be expanded are refused before they are
    for reps in ["4611686018427387904", "1000000000000"] {
        let plan = write_plan(d, &PLAN.replace("reps = 2", &format!("reps = {reps}")));
        let (rc, _, err) = dictlab(&["plan", p(&plan)]);
        assert_eq!(rc, 2, "{err}");
        assert!(err.contains("at most 100000000 items"), "{err}");
    }
    // the memory check reads ulimit -v (what a scheduler sets), not only the machine's memory
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -v 700000; exec '{}' generate --dim 64 --atoms 128 --samples 2000000 --sparsity 3 --out '{}'",
            env!("CARGO_BIN_EXE_dictlab"),
            p(&d.join("g"))
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ulimit -v") || err.contains("available on this machine"),
        "{err}"
    );
}

#[test]
fn a_chunk_of_another_plan_is_named_and_moved_aside_never_counted_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |name: &str, text: &str| -> PathBuf {
        let sub = d.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let plan = write_plan(&sub, text);
        let out = sub.join("r");
        let (rc, _, err) = dictlab(&["sweep", p(&plan), "--out", p(&out), "--quiet"]);
        assert_eq!(rc, 0, "{err}");
        out
    };
    let a = run("a", PLAN);
    let b = run("b", &PLAN.replace("base_seed = 1", "base_seed = 2"));
    let reference = d.join("ref.parquet");
    let (rc, _, err) = dictlab(&["merge", p(&a), "-o", p(&reference)]);
    assert_eq!(rc, 0, "{err}");
    // plan B's chunk (same items and methods, other seeds) dropped into A's directory
    let foreign = first_chunk(&b);
    let name = foreign.file_name().unwrap().to_owned();
    std::fs::copy(&foreign, a.join("chunks").join(&name)).unwrap();
    for args in [
        vec!["status", p(&a)],
        vec!["merge", p(&a), "-o", p(&d.join("x.parquet"))],
    ] {
        let (rc, _, err) = dictlab(&args);
        assert_eq!(rc, 2, "{args:?}: {err}");
        assert!(
            err.contains("plan") && err.contains("dictlab repair"),
            "{err}"
        );
    }
    let (rc, out, err) = dictlab(&["repair", p(&a)]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("\"corrupt_moved\":1"), "{out}");
    assert!(
        a.join("chunks").join("foreign").join(&name).exists(),
        "moved, not deleted"
    );
    // A's own runs are all there: nothing to redo, and the merge is the reference
    let (rc, out, err) = dictlab(&["sweep", p(&d.join("a").join("plan.toml")), "--out", p(&a)]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("\"runs_done\":0"), "{out}");
    let merged = d.join("merged.parquet");
    let (rc, _, err) = dictlab(&["merge", p(&a), "-o", p(&merged)]);
    assert_eq!(rc, 0, "{err}");
    common::assert_same_results(
        &dictlab::sweep::store::read_parquet(&merged).unwrap(),
        &dictlab::sweep::store::read_parquet(&reference).unwrap(),
    );
}
