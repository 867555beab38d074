//! Issue 23's sweep features end to end: the compute budget in passes, the plateau rule, and
//! adaptive designs (bisection over k per curve) — rows equal to the grid's, resumable, sharded.

use dictlab::Error;
use dictlab::polars::prelude::*;
use dictlab::sweep::adaptive::{self, Adaptive};
use dictlab::sweep::{Plan, RunOptions, Shard, merge, run_plan, status};
use dictlab::table::{Value, column_f64, column_str, filter_eq, select};

mod common;
use common::{assert_same_results, plan_error};

/// A small phase-transition plan: OMP and MOD over k on two coherence levels.
const GRID: &str = r#"
name = "adaptive test"
base_seed = 23
reps = 2
[instance]
dim = 12
n_atoms = 16
n_samples = 400
noise_sigma = 0.01
[grid]
sparsity = [1, 2, 3, 4, 5, 6, 7, 8]
[[coupled]]
keys = ["dictionary", "coherence"]
values = [["coherence", 0.3], ["coherence", 0.7]]
[[method]]
name = "omp"
[[method]]
name = "mod"
iters = 15
"#;

fn adaptive_plan() -> Plan {
    let text = GRID.replace(
        "[instance]",
        "[adaptive]\naxis = \"sparsity\"\nlevel = 0.5\nsuccess = 0.95\n\n[instance]",
    );
    Plan::from_toml_str(&text).unwrap()
}

/// The columns a run's result is judged on.
const RESULT: [&str; 8] = [
    "item",
    "method",
    "iter",
    "termination",
    "m_recovery_rate",
    "m_support_exact",
    "m_support_f1",
    "m_inst_mu",
];

fn final_rows(df: &DataFrame) -> DataFrame {
    let f = dictlab::report::dashboard::final_rows(df).unwrap();
    let present: Vec<&str> = RESULT
        .iter()
        .copied()
        .filter(|c| f.get_column_names().iter().any(|n| n.as_str() == *c))
        .collect();
    select(&f, &present).unwrap()
}

#[test]
fn adaptive_runs_are_grid_runs_and_locate_the_transition_with_fewer_runs() {
    let grid = Plan::from_toml_str(GRID).unwrap();
    let ad = adaptive_plan();
    assert_ne!(grid.hash, ad.hash, "the adaptive rule is part of the hash");
    let (gd, adir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_plan(&grid, gd.path(), &RunOptions::default()).unwrap();
    run_plan(&ad, adir.path(), &RunOptions::default()).unwrap();
    let st = status(adir.path(), None).unwrap();
    assert!(st.complete(), "{st}");
    assert_eq!(st.curves, Some((4, 4)));
    let (g, a) = (merge(gd.path()).unwrap(), merge(adir.path()).unwrap());
    let (gf, af) = (final_rows(&g), final_rows(&a));
    assert!(
        af.height() < gf.height() / 2,
        "adaptive {} runs vs grid {}",
        af.height(),
        gf.height()
    );
    // every adaptive run is the grid's run of the same item, bit for bit
    let items = column_f64(&af, "item").unwrap();
    let methods = column_str(&af, "method").unwrap();
    for (it, m) in items.iter().zip(&methods) {
        let key = [
            ("item", Value::Int(it.unwrap() as i64)),
            ("method", Value::from(m.as_str())),
        ];
        assert_same_results(
            &filter_eq(&af, &key).unwrap(),
            &filter_eq(&gf, &key).unwrap(),
        );
    }
    // and the transition it finds is the grid's wherever the grid's success is monotone in k
    let rule = ad.adaptive.clone().unwrap();
    let (tg, ta) = (
        adaptive::transitions(&g, &rule).unwrap(),
        adaptive::transitions(&a, &rule).unwrap(),
    );
    assert_eq!(ta.height(), 4);
    let key = |t: &DataFrame| {
        let (m, s, k) = (
            column_str(t, "method").unwrap(),
            column_str(t, "setting").unwrap(),
            column_f64(t, "k_star").unwrap(),
        );
        let mut v: Vec<(String, String, Option<f64>)> = m
            .into_iter()
            .zip(s)
            .zip(k)
            .map(|((a, b), c)| (a, b, c.filter(|x| x.is_finite())))
            .collect();
        v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        v
    };
    let (kg, ka) = (key(&tg), key(&ta));
    let omp: Vec<_> = ka.iter().filter(|r| r.0 == "omp").collect();
    assert!(
        omp.iter().all(|r| r.2.is_some_and(|k| k >= 1.0)),
        "OMP on the planted dictionary succeeds at k = 1: {omp:?}"
    );
    let agree = kg.iter().zip(&ka).filter(|(x, y)| x == y).count();
    assert!(agree >= 3, "grid {kg:?}\nadaptive {ka:?}");
    // the findings tables read the adaptive table (here against itself as the second dimension)
    let md = dictlab::report::findings::markdown(&a, &rule, Some(&a)).unwrap();
    for section in [
        "### k* per dictionary family",
        "| coder | omp |",
        "### Neural against classical",
        "### Sensitivity",
        "### Time to 95 %",
        "### k* across dimensions",
    ] {
        assert!(md.contains(section), "{section} missing from\n{md}");
    }
    // and so does the command line, into a document's findings block; a plan without [adaptive]
    // is refused with the fix
    let dir = tempfile::tempdir().unwrap();
    let (table, plan, grid, doc) = (
        dir.path().join("a.parquet"),
        dir.path().join("a.toml"),
        dir.path().join("g.toml"),
        dir.path().join("B.md"),
    );
    dictlab::sweep::store::write_parquet(&a, &table).unwrap();
    std::fs::write(
        &plan,
        GRID.replace(
            "[instance]",
            "[adaptive]\naxis = \"sparsity\"\nlevel = 0.5\nsuccess = 0.95\n\n[instance]",
        ),
    )
    .unwrap();
    std::fs::write(&grid, GRID).unwrap();
    std::fs::write(
        &doc,
        "x\n<!-- findings:begin -->\nold\n<!-- findings:end -->\ny\n",
    )
    .unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (rc, _, err) = common::dictlab(&[
        "findings",
        &s(&table),
        "--plan",
        &s(&plan),
        "--update",
        &s(&doc),
    ]);
    assert_eq!(rc, 0, "{err}");
    let text = std::fs::read_to_string(&doc).unwrap();
    assert!(
        text.contains("### k* per dictionary family")
            && !text.contains("\nold\n")
            && text.ends_with("y\n"),
        "{text}"
    );
    // a rerun's methods replace the input's (here the table itself: the same tables come out)
    let (rc, out, err) = common::dictlab(&[
        "findings",
        &s(&table),
        "--plan",
        &s(&plan),
        "--replace",
        &s(&table),
    ]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("--replace"), "{out}");
    let body = |t: &str| {
        let end = t.find("<!-- findings:end").unwrap_or(t.len());
        t[t.find("### k* per").unwrap()..end].trim_end().to_string()
    };
    assert_eq!(body(&out), body(&text));
    let (rc, _, err) = common::dictlab(&["findings", &s(&table), "--plan", &s(&grid)]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("[adaptive] section"), "{err}");
}

#[test]
fn adaptive_sweeps_resume_and_shard_to_the_same_rows() {
    let ad = adaptive_plan();
    let whole = tempfile::tempdir().unwrap();
    run_plan(&ad, whole.path(), &RunOptions::default()).unwrap();
    let reference = merge(whole.path()).unwrap();
    // two shards own whole curves; before the second one runs, the directory is incomplete
    let dir = tempfile::tempdir().unwrap();
    let shard = |i| RunOptions {
        shard: Shard { index: i, count: 2 },
        ..RunOptions::default()
    };
    run_plan(&ad, dir.path(), &shard(0)).unwrap();
    let st = status(dir.path(), Some(2)).unwrap();
    assert!(!st.complete() && st.missing_shards == vec![1], "{st}");
    assert!(matches!(merge(dir.path()), Err(Error::Results(_))));
    // a partial merge holds exactly shard 0's finished runs
    let part = dictlab::sweep::store::merge_partial(dir.path()).unwrap();
    assert!(part.height() > 0 && part.height() < reference.height());
    run_plan(&ad, dir.path(), &shard(1)).unwrap();
    assert_same_results(&merge(dir.path()).unwrap(), &reference);
    // a sweep that lost its later chunks replays the rule over what is left and ends the same
    let cut = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        chunk_every_s: 1e-9,
        ..RunOptions::default()
    };
    run_plan(&ad, cut.path(), &opts).unwrap();
    let mut chunks: Vec<_> = std::fs::read_dir(cut.path().join("chunks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    chunks.sort();
    assert!(chunks.len() > 2, "{} chunks", chunks.len());
    // without its last chunk (a run or two), a partial merge keeps only the finished curves —
    // most of them — each with the reference's runs and k*
    std::fs::remove_file(chunks.last().unwrap()).unwrap();
    let rule = ad.adaptive.clone().unwrap();
    let part = dictlab::sweep::store::merge_partial(cut.path()).unwrap();
    let (tp, tr) = (
        adaptive::transitions(&part, &rule).unwrap(),
        adaptive::transitions(&reference, &rule).unwrap(),
    );
    assert!(
        tp.height() > 0 && tp.height() < tr.height(),
        "{} of {} curves",
        tp.height(),
        tr.height()
    );
    let rows = |t: &DataFrame| -> Vec<(String, String, Option<f64>, Option<f64>)> {
        let (m, s) = (
            column_str(t, "method").unwrap(),
            column_str(t, "setting").unwrap(),
        );
        let (k, r) = (
            column_f64(t, "k_star").unwrap(),
            column_f64(t, "runs").unwrap(),
        );
        m.into_iter()
            .zip(s)
            .zip(k.into_iter().zip(r))
            .map(|((m, s), (k, r))| (m, s, k.filter(|x| x.is_finite()), r))
            .collect()
    };
    let reference_rows = rows(&tr);
    for r in rows(&tp) {
        assert!(reference_rows.contains(&r), "{r:?} not in the reference");
    }
    for p in &chunks[chunks.len() / 2..chunks.len() - 1] {
        std::fs::remove_file(p).unwrap();
    }
    assert!(!status(cut.path(), None).unwrap().complete());
    let s = run_plan(&ad, cut.path(), &RunOptions::default()).unwrap();
    assert!(s.runs_skipped > 0 && s.runs_done > 0, "{s:?}");
    assert_same_results(&merge(cut.path()).unwrap(), &reference);
}

#[test]
fn the_plateau_rule_saves_iterations_without_changing_an_easy_answer() {
    let base = r#"
base_seed = 4
[instance]
dim = 12
n_atoms = 16
n_samples = 600
sparsity = 2
noise_sigma = 0.01
dictionary = "coherence"
coherence = 0.3
[[method]]
name = "mod"
iters = 400
init = "near"
init_dist = 0.3
"#;
    let stalled = base.replace("[instance]", "[stall]\n\n[instance]");
    let run = |text: &str| {
        let plan = Plan::from_toml_str(text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
        let df = merge(dir.path()).unwrap();
        let f = dictlab::report::dashboard::final_rows(&df).unwrap();
        (
            column_f64(&f, "iter").unwrap()[0].unwrap(),
            column_str(&f, "termination").unwrap()[0].clone(),
            column_f64(&f, "m_recovery_rate").unwrap()[0].unwrap(),
        )
    };
    let (it_full, term_full, rate_full) = run(base);
    let (it_stall, term_stall, rate_stall) = run(&stalled);
    assert_eq!((it_full, term_full.as_str()), (400.0, "max_iters"));
    assert_eq!(term_stall, "stalled");
    assert!(it_stall < 100.0, "stalled at {it_stall}");
    assert_eq!(rate_full, 1.0);
    assert_eq!(rate_stall, rate_full);
}

#[test]
fn one_budget_in_passes_sets_every_unset_cap() {
    let text = r#"
base_seed = 8
passes = 3
[instance]
dim = 12
n_atoms = 16
n_samples = 500
sparsity = 2
[[method]]
name = "mod"
[[method]]
name = "mod"
iters = 5
[[method]]
name = "online"
batch = 100
[[method]]
name = "sae"
batch = 64
[[method]]
name = "unrolled"
lambda = 0.1
layers = 3
[[method]]
name = "omp"
"#;
    let plan = Plan::from_toml_str(text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    let f = dictlab::report::dashboard::final_rows(&merge(dir.path()).unwrap()).unwrap();
    let got = |id: &str| {
        let r = filter_eq(&f, &[("method", Value::from(id))]).unwrap();
        (
            column_f64(&r, "iter").unwrap()[0].unwrap(),
            column_f64(&r, "m_passes").unwrap()[0],
        )
    };
    // full-batch iterations: one pass each; an explicit cap wins over the budget
    assert_eq!(got("mod"), (3.0, Some(3.0)));
    assert_eq!(got("mod[iters=5]"), (5.0, Some(5.0)));
    // epochs of minibatches of 100: 3 · 500 / 100 = 15 steps
    assert_eq!(got("online[batch=100]"), (15.0, Some(3.0)));
    // steps of 64: ⌈3 · 500 / 64⌉ = 24 steps = 3.072 passes
    assert_eq!(got("sae[batch=64]"), (24.0, Some(24.0 * 64.0 / 500.0)));
    // unrolled with no batch: full batch, one pass per step
    assert_eq!(got("unrolled[lambda=0.1,layers=3]"), (3.0, Some(3.0)));
    // coders are not budgeted
    assert_eq!(got("omp").1, None);
}

#[test]
fn bad_budget_stall_and_adaptive_settings_name_the_fix() {
    let (_, k, e) = plan_error(&GRID.replace("reps = 2", "reps = 2\npasses = 0"));
    assert_eq!(k, "passes");
    assert!(e.contains("> 0"), "{e}");
    let (_, k, e) = plan_error(&GRID.replace("[instance]", "[stall]\nwindow = 1.0\n[instance]"));
    assert_eq!(k, "stall.window");
    assert!(e.contains("> 1"), "{e}");
    let (_, k, e) =
        plan_error(&GRID.replace("[instance]", "[adaptive]\naxis = \"dim\"\n[instance]"));
    assert_eq!(k, "adaptive.axis");
    assert!(e.contains("[grid]"), "{e}");
    let (_, k, e) = plan_error(&GRID.replace(
        "[instance]",
        "[adaptive]\naxis = \"sparsity\"\nreps = 3\n[instance]",
    ));
    assert_eq!(k, "adaptive.reps");
    assert!(e.contains("reps = 2"), "{e}");
    let (_, k, e) = plan_error(&GRID.replace(
        "[instance]",
        "[adaptive]\naxis = \"sparsity\"\nlevel = 1.5\n[instance]",
    ));
    assert_eq!(k, "adaptive.level");
    assert!(e.contains("(0, 1]"), "{e}");
    // a float axis is searched like an integer one (the convolutional slice searches θ) …
    let float_axis = GRID
        .replace(
            "[instance]",
            "[adaptive]\naxis = \"noise_sigma\"\n[instance]",
        )
        .replace("noise_sigma = 0.01\n", "")
        .replace("[grid]", "[grid]\nnoise_sigma = [0.0, 0.5]");
    assert!(Plan::from_toml_str(&float_axis).is_ok());
    // … a non-numeric one is refused
    let (_, k, e) = plan_error(
        &GRID
            .replace("[instance]", "[adaptive]\naxis = \"values\"\n[instance]")
            .replace("[grid]", "[grid]\nvalues = [\"gaussian\", \"rademacher\"]"),
    );
    assert_eq!(k, "values");
    assert!(e.contains("finite numbers"), "{e}");
    // plans without the new sections keep their hashes (results on disk stay valid)
    let small = Plan::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/plans/benchmark_small.toml"
    ))
    .unwrap();
    assert_eq!(small.hash, "5eff9bec4424f560");
    let _: Option<Adaptive> = small.adaptive;
}
