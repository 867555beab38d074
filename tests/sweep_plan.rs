//! Sweep plans, durable runs, shards, resume after SIGKILL, merge checks, status, report.

use dictlab::polars::prelude::*;
use dictlab::sweep::store::{read_parquet, write_parquet};
use dictlab::sweep::{Plan, RunOptions, Shard, merge, run_cached, run_plan, status};
use std::path::Path;
use std::process::Command;

mod common;
use common::{PLAN, assert_same_results, plan_error};

#[test]
fn plan_expands_methods_and_instances() {
    let p = Plan::from_toml_str(PLAN).unwrap();
    let ids: Vec<&str> = p.methods.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "omp",
            "fista[lambda=0.05]",
            "fista[lambda=0.2]",
            "mod[iters=8]"
        ]
    );
    let items = p.items().unwrap();
    assert_eq!(items.len(), 2 * 2 * 2);
    assert_eq!(
        items[0].instance,
        "dim=12,n_atoms=16,n_samples=200,sparsity=2,coherence=0.5"
    );
    assert_eq!(p.n_runs().unwrap(), 32);
    assert_eq!(
        p.instance_keys,
        ["dim", "n_atoms", "n_samples", "sparsity", "coherence"]
    );
}

#[test]
fn plan_hash_follows_meaning_not_text() {
    let a = Plan::from_toml_str(PLAN).unwrap();
    let reformatted = PLAN
        .replace("name = \"test\"", "name = \"renamed\"  # a comment")
        .replace("reps = 2", "reps   =   2\nthreads_per_run = 2");
    let b = Plan::from_toml_str(&reformatted).unwrap();
    assert_eq!(a.hash, b.hash);
    let c = Plan::from_toml_str(&PLAN.replace("0.2]", "0.3]")).unwrap();
    assert_ne!(a.hash, c.hash);
    let d = Plan::from_toml_str(&PLAN.replace("base_seed = 11", "base_seed = 12")).unwrap();
    assert_ne!(a.hash, d.hash);
    assert_eq!(a.hash.len(), 16);
}

#[test]
fn malformed_plans_name_key_and_line() {
    // unknown method: line of the value
    let (line, key, exp) = plan_error(&PLAN.replace("name = \"omp\"", "name = \"ompp\""));
    assert_eq!((line, key.as_str()), (20, "method.name"));
    assert!(exp.contains("omp") && exp.contains("fista"), "{exp}");
    // unknown method parameter
    let (line, key, exp) = plan_error(&PLAN.replace("iters = 8", "iterations = 8"));
    assert_eq!((line, key.as_str()), (28, "mod.iterations"));
    assert!(exp.contains("iters"), "{exp}");
    // unknown instance key
    let (line, key, exp) = plan_error(&PLAN.replace("n_samples = 200", "samples = 200"));
    assert_eq!((line, key.as_str()), (13, "samples"));
    assert!(exp.contains("n_samples"), "{exp}");
    // unknown top-level key (TOML layer, still with the line)
    let (line, _, exp) = plan_error(&PLAN.replace("reps = 2", "repetitions = 2"));
    assert_eq!(line, 4);
    assert!(exp.contains("repetitions"), "{exp}");
    // empty axis
    let (line, key, exp) = plan_error(&PLAN.replace("sparsity = [2, 3]", "sparsity = []"));
    assert_eq!((line, key.as_str()), (16, "sparsity"));
    assert!(exp.contains("empty"), "{exp}");
    // wrong types
    let (line, _, exp) = plan_error(&PLAN.replace("reps = 2", "reps = \"two\""));
    assert_eq!(line, 4);
    assert!(exp.contains("\"two\"") && exp.contains("i64"), "{exp}");
    let (line, key, _) = plan_error(&PLAN.replace("dim = 12", "dim = [12, 16]"));
    assert_eq!((line, key.as_str()), (11, "dim"));
    let (line, key, exp) = plan_error(&PLAN.replace("n_atoms = 16", "n_atoms = 16.5"));
    assert_eq!((line, key.as_str()), (12, "n_atoms"));
    assert!(exp.contains("non-negative integer"), "{exp}");
    let (line, key, exp) =
        plan_error(&PLAN.replace("coherence = [0.5, 0.7]", "coherence = [0.5, \"high\"]"));
    assert_eq!((line, key.as_str()), (17, "coherence"));
    assert!(exp.contains("a number"), "{exp}");
    let (line, key, exp) = plan_error(&PLAN.replace("iters = 8", "iters = \"eight\""));
    assert_eq!(line, 27);
    assert_eq!(key, "mod[iters=eight]");
    assert!(exp.contains("integer ≥ 1"), "{exp}");
    // a key both fixed and swept
    let (line, key, _) = plan_error(&PLAN.replace("[grid]\n", "[grid]\ndim = [12]\n"));
    assert_eq!((line, key.as_str()), (16, "dim"));
    // no method, reps 0, invalid instance
    let no_method = PLAN.split("[[method]]").next().unwrap();
    assert_eq!(plan_error(no_method).1, "method");
    assert_eq!(plan_error(&PLAN.replace("reps = 2", "reps = 0")).1, "reps");
    let (_, key, exp) = plan_error(&PLAN.replace("coherence = [0.5, 0.7]", "coherence = [1.5]"));
    assert!(key.contains("coherence=1.5"), "{key}");
    assert!(exp.contains("μ < 1"), "{exp}");
    // TOML syntax
    let (line, _, _) = plan_error("reps = 2\n[grid\n");
    assert_eq!(line, 2);
}

#[test]
fn when_filters_limit_a_method_to_some_instances() {
    // MSP needs m = n: with a `when` filter it runs on the square instances only, and the plan
    // check does not build it for the others
    let text = r#"
base_seed = 3
[instance]
dim = 8
n_samples = 300
sparsity = 1
[grid]
n_atoms = [8, 12]
[[method]]
name = "msp"
iters = 20
when = { n_atoms = 8 }
[[method]]
name = "mod"
iters = 3
when = { n_atoms = [8, 12], sparsity = 1.0 }
"#;
    let plan = Plan::from_toml_str(text).unwrap();
    assert_eq!(plan.n_runs().unwrap(), 3);
    let unfiltered = Plan::from_toml_str(&text.replace("when = { n_atoms = 8 }", "")).unwrap_err();
    assert!(unfiltered.to_string().contains("msp"), "{unfiltered}");
    // a filter that admits every instance changes nothing but the plan hash
    let a = Plan::from_toml_str(&text.replace(", sparsity = 1.0 }", " }")).unwrap();
    assert_eq!(a.n_runs().unwrap(), 3);
    let b = Plan::from_toml_str(&text.replace("when = { n_atoms = [8, 12], sparsity = 1.0 }", ""))
        .unwrap();
    assert_eq!(b.n_runs().unwrap(), 3);
    assert_ne!(a.hash, b.hash);
    let dir = tempfile::tempdir().unwrap();
    let s = run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    assert_eq!((s.runs_in_shard, s.runs_done), (3, 3));
    let df = merge(dir.path()).unwrap();
    let methods = dictlab::table::column_str(&df, "method").unwrap();
    let atoms = dictlab::table::column_f64(&df, "p_inst_n_atoms").unwrap();
    for (m, a) in methods.iter().zip(&atoms) {
        if m.starts_with("msp") {
            assert_eq!(*a, Some(8.0));
        }
    }
    let st = status(dir.path(), None).unwrap();
    assert_eq!((st.runs_total, st.runs_done), (3, 3));
    // bad filters: an unknown key, an empty list, not a table
    let (_, key, exp) = plan_error(&text.replace("when = { n_atoms = 8 }", "when = { atoms = 8 }"));
    assert!(
        key.ends_with("when.atoms") && exp.contains("n_atoms"),
        "{key}: {exp}"
    );
    let (_, key, _) =
        plan_error(&text.replace("when = { n_atoms = 8 }", "when = { n_atoms = [] }"));
    assert!(key.ends_with("when.n_atoms"), "{key}");
    let (_, _, exp) = plan_error(&text.replace("when = { n_atoms = 8 }", "when = 8"));
    assert!(exp.contains("a table of instance keys"), "{exp}");
}

#[test]
fn four_shards_merged_equal_the_single_run() {
    let plan = Plan::from_toml_str(PLAN).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    let sharded = dir.path().join("sharded");
    let s = run_plan(&plan, &single, &RunOptions::default()).unwrap();
    assert_eq!((s.runs_in_shard, s.runs_done, s.runs_skipped), (32, 32, 0));
    for i in 0..4 {
        // chunks every 1 ms: the journal rotates many times while workers append (runs take ms)
        let opts = RunOptions {
            shard: Shard { index: i, count: 4 },
            workers: 1 + i % 2,
            chunk_every_s: 0.001,
            ..Default::default()
        };
        let s = run_plan(&plan, &sharded, &opts).unwrap();
        assert_eq!(s.runs_done, 8);
        assert!(s.chunks_written >= 1);
    }
    assert!(
        std::fs::read_dir(sharded.join("chunks")).unwrap().count() > 4,
        "rotations wrote several chunks per shard"
    );
    assert_eq!(
        std::fs::read_dir(sharded.join("journal")).unwrap().count(),
        0,
        "journals are deleted once their runs are in chunks"
    );
    let a = merge(&single).unwrap();
    let b = merge(&sharded).unwrap();
    assert_same_results(&a, &b);
    // a row per recorded iteration: coders one, MOD one per log-spaced iteration (0,1,2,4,8)
    let methods = dictlab::table::column_str(&a, "method").unwrap();
    assert_eq!(methods.iter().filter(|m| *m == "omp").count(), 8);
    assert_eq!(
        methods.iter().filter(|m| *m == "mod[iters=8]").count(),
        8 * 5
    );
    // every method saw the same instance (same seed per item)
    let seeds = dictlab::table::column_str(&a, "seed").unwrap();
    let items = dictlab::table::column_str(&a, "item").unwrap();
    for (i, s) in items.iter().zip(&seeds) {
        let first = items.iter().position(|j| j == i).unwrap();
        assert_eq!(&seeds[first], s);
    }
    let terms = dictlab::table::column_str(&a, "termination").unwrap();
    assert!(terms.iter().all(|t| !t.starts_with("error")), "{terms:?}");
}

#[test]
fn rerun_resumes_and_status_names_missing_shards() {
    let plan = Plan::from_toml_str(PLAN).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    for i in [0, 1, 3] {
        let opts = RunOptions {
            shard: Shard { index: i, count: 4 },
            ..Default::default()
        };
        run_plan(&plan, &out, &opts).unwrap();
    }
    let st = status(&out, None).unwrap();
    assert_eq!((st.runs_done, st.runs_total, st.shards), (24, 32, 4));
    assert_eq!(st.missing_shards, vec![2]);
    assert_eq!(st.array_list(), "2");
    let err = merge(&out).unwrap_err().to_string();
    assert!(err.contains("--array=2"), "{err}");
    // the full rerun skips what is done and does the rest
    let s = run_plan(&plan, &out, &RunOptions::default()).unwrap();
    assert_eq!((s.runs_skipped, s.runs_done), (24, 8));
    let s = run_plan(&plan, &out, &RunOptions::default()).unwrap();
    assert_eq!((s.runs_skipped, s.runs_done, s.chunks_written), (32, 0, 0));
    assert!(status(&out, None).unwrap().complete());
    let df = merge(&out).unwrap();
    let reference = tempfile::tempdir().unwrap();
    run_plan(&plan, reference.path(), &RunOptions::default()).unwrap();
    assert_same_results(&df, &merge(reference.path()).unwrap());
}

#[test]
fn array_list_compresses_ranges() {
    let st = dictlab::sweep::Status {
        plan_hash: "x".into(),
        runs_total: 10,
        runs_done: 0,
        shards: 12,
        missing_shards: vec![0, 1, 2, 5, 7, 8, 11],
        chunks: 0,
        journaled: 0,
        curves: None,
    };
    assert_eq!(st.array_list(), "0-2,5,7-8,11");
}

#[test]
fn other_plans_results_are_refused_with_both_hashes() {
    let a = Plan::from_toml_str(PLAN).unwrap();
    let b = Plan::from_toml_str(&PLAN.replace("base_seed = 11", "base_seed = 12")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (da, db) = (dir.path().join("a"), dir.path().join("b"));
    run_plan(&a, &da, &RunOptions::default()).unwrap();
    // sweeping another plan into the same directory
    let err = run_plan(&b, &da, &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains(&a.hash) && err.contains(&b.hash), "{err}");
    // a foreign chunk at merge
    run_plan(&b, &db, &RunOptions::default()).unwrap();
    let foreign = std::fs::read_dir(db.join("chunks"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    std::fs::copy(&foreign, da.join("chunks").join("zz-foreign.parquet")).unwrap();
    let err = merge(&da).unwrap_err().to_string();
    assert!(
        err.contains("plan hash mismatch") && err.contains(&a.hash) && err.contains(&b.hash),
        "{err}"
    );
}

#[test]
fn duplicate_runs_are_refused_at_merge() {
    let plan = Plan::from_toml_str(PLAN).unwrap();
    let dir = tempfile::tempdir().unwrap();
    run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    let chunk = std::fs::read_dir(dir.path().join("chunks"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let df = read_parquet(&chunk).unwrap();
    write_parquet(&df, dir.path().join("chunks").join("zz-copy.parquet")).unwrap();
    let err = merge(dir.path()).unwrap_err().to_string();
    assert!(err.contains("two chunks"), "{err}");
}

#[test]
fn unwritable_output_is_an_error_before_any_work() {
    let plan = Plan::from_toml_str(PLAN).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = run_plan(&plan, &file.join("out"), &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("writable --out"), "{err}");
}

#[test]
fn failing_runs_become_error_rows() {
    // OMP asked for more atoms than the dictionary has: a run-time error, recorded as a row
    let text = PLAN.replace("name = \"omp\"", "name = \"omp\"\nsparsity = 40");
    let plan = Plan::from_toml_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    let df = merge(dir.path()).unwrap();
    let methods = dictlab::table::column_str(&df, "method").unwrap();
    let terms = dictlab::table::column_str(&df, "termination").unwrap();
    let omp: Vec<&String> = methods
        .iter()
        .zip(&terms)
        .filter(|(m, _)| m.starts_with("omp"))
        .map(|(_, t)| t)
        .collect();
    assert_eq!(omp.len(), 8);
    assert!(omp.iter().all(|t| t.starts_with("error:")), "{omp:?}");
}

fn dictlab_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dictlab"))
}

#[test]
fn sigkill_at_a_random_moment_then_rerun_loses_and_duplicates_nothing() {
    // enough runs that the sweep takes a few seconds (≈ 4 s at the dev profile's opt-level 2 on
    // 2 cores), so the kill (50–750 ms) lands mid-sweep and before the first 5 s chunk
    let text = PLAN
        .replace("reps = 2", "reps = 48")
        .replace("iters = 8", "iters = 60");
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.toml");
    std::fs::write(&plan_path, &text).unwrap();
    let out = dir.path().join("out");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let delay = std::time::Duration::from_millis(50 + (nanos % 700) as u64);
    let sweep_args = [
        "sweep",
        plan_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    let mut child = dictlab_cmd().args(sweep_args).spawn().unwrap();
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    let status_killed = child.wait().unwrap();
    let plan = Plan::from_toml_str(&text).unwrap();
    let before = status(&out, None).map(|s| s.runs_done).unwrap_or(0);
    eprintln!(
        "killed after {delay:?} ({status_killed}); {before} of {} runs were on disk",
        plan.n_runs().unwrap()
    );
    let rerun = dictlab_cmd().args(sweep_args).output().unwrap();
    // exit 3: finished, with the error rows this plan plants on purpose (an unreachable coherence)
    assert!(
        matches!(rerun.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&rerun.stdout).unwrap();
    assert_eq!(summary["runs_skipped"].as_u64().unwrap() as usize, before);
    if status_killed.success() {
        // the sweep finished before the kill (a very fast machine): its final compaction chunked
        // everything, so nothing is left to recover from a journal
        assert_eq!(before, plan.n_runs().unwrap());
        assert_eq!(summary["runs_recovered"].as_u64().unwrap(), 0);
    } else {
        // killed well before the first chunk (every 5 s): everything it finished came from its
        // journal
        assert_eq!(summary["runs_recovered"].as_u64().unwrap() as usize, before);
    }
    eprintln!("rerun: {summary}");
    let merged = merge(&out).unwrap(); // refuses gaps and duplicates
    let reference = dir.path().join("reference");
    run_plan(&plan, &reference, &RunOptions::default()).unwrap();
    assert_same_results(&merged, &merge(&reference).unwrap());
}

#[test]
fn run_cached_reuses_results_on_disk() {
    let plan = Plan::from_toml_str(PLAN).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sweeps").join("t.parquet");
    let a = run_cached(&plan, &path).unwrap();
    assert!(path.exists());
    // remove the work directory: a second call must read the parquet, not rerun
    for e in std::fs::read_dir(path.parent().unwrap()).unwrap().flatten() {
        if e.path().is_dir() {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    let b = run_cached(&plan, &path).unwrap();
    assert!(a.equals_missing(&b));
    let times = |d: &DataFrame| dictlab::table::column_f64(d, "time_s").unwrap();
    assert_eq!(times(&a), times(&b), "the cached table, timings included");
    // another plan at the same path is run, not mistaken for the cached one
    let other = Plan::from_toml_str(&PLAN.replace("reps = 2", "reps = 1")).unwrap();
    let c = run_cached(&other, &path).unwrap();
    assert_eq!(c.height() * 2, a.height());
}

fn run_cli(args: &[&str]) -> (bool, String, String) {
    let o = dictlab_cmd().args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn cli_sweep_status_merge_report_and_emit_slurm() {
    let dir = tempfile::tempdir().unwrap();
    let p = |x: &Path| x.to_str().unwrap().to_string();
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let out = dir.path().join("out");
    let (ok, _, err) = run_cli(&[
        "sweep",
        &p(&plan),
        "--out",
        &p(&out),
        "--shard",
        "1/2",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let (ok, text, _) = run_cli(&["status", &p(&out)]);
    assert!(ok);
    assert!(
        text.contains("runs 16/32") && text.contains("--array=0"),
        "{text}"
    );
    let (ok, list, _) = run_cli(&["status", &p(&out), "--array-list"]);
    assert!(ok);
    assert_eq!(list.trim(), "0");
    let (ok, _, err) = run_cli(&["merge", &p(&out), "-o", &p(&dir.path().join("x.parquet"))]);
    assert!(!ok && err.contains("not finished"), "{err}");
    let (ok, _, err) = run_cli(&[
        "sweep",
        &p(&plan),
        "--out",
        &p(&out),
        "--shard",
        "0/2",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let all = dir.path().join("all.parquet");
    let (ok, _, err) = run_cli(&["merge", &p(&out), "-o", &p(&all)]);
    assert!(ok, "{err}");
    let html = dir.path().join("report.html");
    let (ok, _, err) = run_cli(&["report", &p(&all), "-o", &p(&html)]);
    assert!(ok, "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Phase transitions") && page.contains("Recovery vs time"));
    assert!(page.contains("fista[lambda=0.05]") && page.contains("mod[iters=8]"));
    assert!(page.contains("Plotly.newPlot") && !page.contains("<script src=\"http"));
    // bad shard specs
    let (ok, _, err) = run_cli(&["sweep", &p(&plan), "--out", &p(&out), "--shard", "2/2"]);
    assert!(!ok && err.contains("0 ≤ i < N"), "{err}");
    let (ok, _, err) = run_cli(&["sweep", &p(&plan), "--out", &p(&out), "--shard", "auto"]);
    assert!(!ok && err.contains("SLURM_ARRAY_TASK_ID"), "{err}");
    // emit-slurm
    let sl = dir.path().join("sl");
    let (ok, _, err) = run_cli(&[
        "emit-slurm",
        &p(&plan),
        "--out",
        &p(&sl),
        "--shards",
        "64",
        "--cpus-per-shard",
        "8",
        "--time",
        "02:00:00",
    ]);
    assert!(ok, "{err}");
    let sbatch = std::fs::read_to_string(sl.join("slurm/sweep.sbatch")).unwrap();
    for needle in [
        "#SBATCH --array=0-63",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --time=02:00:00",
        "--shard \"${SLURM_ARRAY_TASK_ID}/64\"",
    ] {
        assert!(sbatch.contains(needle), "{needle} missing in\n{sbatch}");
    }
    let submit = std::fs::read_to_string(sl.join("slurm/submit.sh")).unwrap();
    assert!(
        submit.contains("--dependency=afterok:$A merge.sbatch"),
        "{submit}"
    );
    assert!(sl.join("plan.toml").exists() && sl.join("slurm/resubmit.sh").exists());
    let (ok, _, err) = run_cli(&["emit-slurm", &p(&plan), "--out", &p(&sl), "--shards", "0"]);
    assert!(!ok && err.contains("--shards ≥ 1"), "{err}");
    // nothing from a plan or a flag becomes a line of the scripts: a name with a newline stays in
    // its comment, escaped; --mem, --partition and an output path with spaces are refused
    let text = std::fs::read_to_string(&plan).unwrap();
    let evil = dir.path().join("evil.toml");
    let named = regex_free_rename(&text, r"x\ntouch owned #");
    std::fs::write(&evil, named).unwrap();
    let ev = dir.path().join("ev");
    let (ok, _, err) = run_cli(&["emit-slurm", &p(&evil), "--out", &p(&ev), "--shards", "2"]);
    assert!(ok, "{err}");
    let sbatch = std::fs::read_to_string(ev.join("slurm/sweep.sbatch")).unwrap();
    assert!(
        !sbatch.lines().any(|l| l.starts_with("touch")) && sbatch.contains("x\\ntouch owned #"),
        "{sbatch}"
    );
    for (flag, value) in [("--mem", "4G\n#SBATCH --x"), ("--partition", "a b")] {
        let (ok, _, err) = run_cli(&[
            "emit-slurm",
            &p(&plan),
            "--out",
            &p(&ev),
            "--shards",
            "2",
            flag,
            value,
        ]);
        assert!(!ok && err.contains("without spaces"), "{flag}: {err}");
    }
    let spaced = dir.path().join("with space");
    let (ok, _, err) = run_cli(&[
        "emit-slurm",
        &p(&plan),
        "--out",
        &p(&spaced),
        "--shards",
        "2",
    ]);
    assert!(!ok && err.contains("without spaces"), "{err}");
}

/// The plan text with its first `name = "…"` line (the plan's) replaced by `name = "<new>"`
/// (`new` as TOML escapes).
fn regex_free_rename(text: &str, new: &str) -> String {
    text.replacen("name = \"test\"", &format!("name = \"{new}\""), 1)
}
