//! The benchmark's fair contest (issue 30): the information tracks, the λ rule, the step floor of
//! the budget, what each run was told, redrawn instances, and the contest's tables — each with a
//! hand-computed case.

use dictlab::polars::prelude::*;
use dictlab::registry::{self, Context};
use dictlab::report::contest::{bootstrap_counts, cap_fractions, told_table, tuning_choice};
use dictlab::report::findings::{neural_vs_classical, track_of};
use dictlab::spec::{Budget, Told};
use dictlab::sweep::adaptive::Adaptive;
use dictlab::sweep::{Plan, RunOptions, run_plan};
use dictlab::table::{Value, column_f64, column_str};

fn kv(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn ctx() -> Context<'static> {
    Context {
        n_atoms: 8,
        dim: Some(8),
        sparsity: Some(3),
        sparsity_estimate: Some(5),
        signal_power: Some(18.0),
        ..Context::default()
    }
}

#[test]
fn the_track_decides_which_sparsity_a_method_reads() {
    let params = kv(&[]);
    let p = registry::lookup("mod").unwrap().validate(&params).unwrap();
    let c = ctx();
    assert_eq!(p.sparsity(&c).unwrap(), 3);
    assert_eq!(c.told.get(), Told::Sparsity);

    let blind = kv(&[("track", Value::from("blind"))]);
    let p = registry::lookup("mod").unwrap().validate(&blind).unwrap();
    let c = ctx();
    assert_eq!(p.sparsity(&c).unwrap(), 5);
    assert_eq!(c.told.get(), Told::Estimate);

    // a blind method is told nothing: a given sparsity is refused, and so is a missing k̂
    let both = kv(&[("track", Value::from("blind")), ("sparsity", Value::Int(3))]);
    let p = registry::lookup("mod").unwrap().validate(&both).unwrap();
    let e = p.sparsity(&ctx()).unwrap_err().to_string();
    assert!(e.contains("no `sparsity` in the blind track"), "{e}");
    let p = registry::lookup("mod").unwrap().validate(&blind).unwrap();
    let e = p.sparsity(&Context::default()).unwrap_err().to_string();
    assert!(e.contains("estimate_sparsity"), "{e}");
}

#[test]
fn the_lambda_rule_is_c_times_the_rms_nonzero() {
    let c = ctx();
    // λ = c·√(mean‖y‖² / k) = 0.1 · √(18 / 3) = 0.1 · √6
    let params = kv(&[("lambda_scale", Value::Float(0.1))]);
    let p = registry::lookup("unrolled")
        .unwrap()
        .validate(&params)
        .unwrap();
    let l = p.lambda(&c).unwrap().unwrap();
    assert!((l - 0.1 * 6f64.sqrt()).abs() < 1e-15, "{l}");
    assert_eq!(c.told.get(), Told::Sparsity);
    // blind: k̂ = 5 → 0.1 · √(18 / 5)
    let params = kv(&[
        ("lambda_scale", Value::Float(0.1)),
        ("track", Value::from("blind")),
    ]);
    let p = registry::lookup("unrolled")
        .unwrap()
        .validate(&params)
        .unwrap();
    let l = p.lambda(&ctx()).unwrap().unwrap();
    assert!((l - 0.1 * 3.6f64.sqrt()).abs() < 1e-15, "{l}");
    // a fixed λ reads nothing; both at once are refused
    let params = kv(&[("lambda", Value::Float(0.2))]);
    let p = registry::lookup("unrolled")
        .unwrap()
        .validate(&params)
        .unwrap();
    let c = ctx();
    assert_eq!(p.lambda(&c).unwrap(), Some(0.2));
    assert_eq!(c.told.get(), Told::Nothing);
    let params = kv(&[
        ("lambda", Value::Float(0.2)),
        ("lambda_scale", Value::Float(0.1)),
    ]);
    let p = registry::lookup("unrolled")
        .unwrap()
        .validate(&params)
        .unwrap();
    assert!(
        p.lambda(&ctx())
            .unwrap_err()
            .to_string()
            .contains("one of them")
    );
}

#[test]
fn what_a_method_id_reads_is_found_by_building_it() {
    for (id, told) in [
        ("mod[init=data]", Some(Told::Sparsity)),
        ("mod[init=data,track=blind]", Some(Told::Estimate)),
        ("mod[lambda=0.1]", Some(Told::Nothing)),
        (
            "altmin[eps0=0.5,eps_min=0.05,init=data]",
            Some(Told::Nothing),
        ),
        (
            "unrolled[gradient=dec,layers=25,lambda=0.2,batch=256,init=data]",
            Some(Told::Nothing),
        ),
        (
            "unrolled[gradient=dec,lambda_scale=0.1]",
            Some(Told::Sparsity),
        ),
        (
            "sae[kind=topk,init=near,init_dist=0.3]",
            Some(Told::Sparsity),
        ),
        ("sae[kind=relu_l1,lambda=0.1]", Some(Told::Nothing)),
        ("omp", Some(Told::Sparsity)),
        ("nosuchmethod[a=1]", None),
    ] {
        assert_eq!(registry::told_of_id(id), told, "{id}");
    }
    assert_eq!(track_of("mod[init=data,track=blind]"), "blind");
    assert_eq!(track_of("mod[init=data]"), "oracle");
    assert_eq!(track_of("omp"), "oracle");
}

#[test]
fn min_steps_floors_minibatch_budgets_only() {
    let steps = Budget::Steps {
        steps: "steps",
        batch: "batch",
    };
    let params = kv(&[("batch", Value::Int(256))]);
    let p = registry::lookup("unrolled")
        .unwrap()
        .validate(&params)
        .unwrap();
    // 100 passes over 1000 signals in batches of 256: ⌈100 000 / 256⌉ = 391 steps, raised to 2000
    assert_eq!(
        steps.cap(&p, 100.0, None, 1000),
        Some(("steps".to_string(), Value::Int(391)))
    );
    assert_eq!(
        steps.cap(&p, 100.0, Some(2000), 1000),
        Some(("steps".to_string(), Value::Int(2000)))
    );
    // at N = 10 000 the passes give more than the floor
    assert_eq!(
        steps.cap(&p, 100.0, Some(2000), 10_000),
        Some(("steps".to_string(), Value::Int(3907)))
    );
    // epochs: ⌈epochs·N/b⌉ ≥ 2000 → epochs = 2000·256/1000 = 512
    let online = kv(&[]);
    let p = registry::lookup("online")
        .unwrap()
        .validate(&online)
        .unwrap();
    let epochs = registry::lookup("online").unwrap().budget();
    assert_eq!(
        epochs.cap(&p, 100.0, Some(2000), 1000),
        Some(("epochs".to_string(), Value::Float(512.0)))
    );
    // a full-batch learner's iteration is a pass: no floor
    let p = registry::lookup("mod").unwrap().validate(&online).unwrap();
    assert_eq!(
        Budget::Iters("iters").cap(&p, 100.0, Some(2000), 1000),
        Some(("iters".to_string(), Value::Int(100)))
    );
}

#[test]
fn sweep_rows_record_the_track_what_was_told_and_k_hat() {
    let plan = Plan::from_toml_str(
        r#"
name = "tracks"
base_seed = 5
reps = 1
passes = 5
min_steps = 30
[record]
mode = "final"
[instance]
dim = 16
n_atoms = 24
n_samples = 600
sparsity = 2
dictionary = "coherence"
coherence = 0.3
[[method]]
name = "mod"
track = ["oracle", "blind"]
[[method]]
name = "altmin"
[[method]]
name = "unrolled"
lambda_scale = 0.1
track = ["oracle", "blind"]
layers = 5
"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    let df = dictlab::sweep::merge(dir.path()).unwrap();
    let fin = dictlab::report::dashboard::final_rows(&df).unwrap();
    let (method, told) = (
        column_str(&fin, "method").unwrap(),
        column_str(&fin, "p_method_told").unwrap(),
    );
    let k_hat = column_f64(&fin, "m_k_hat").unwrap();
    let term = column_str(&fin, "termination").unwrap();
    for i in 0..fin.height() {
        assert!(!term[i].starts_with("error"), "{}: {}", method[i], term[i]);
        let expected = match method[i].as_str() {
            m if m.contains("track=blind") => "k_hat",
            m if m.starts_with("altmin") => "nothing",
            _ => "k",
        };
        assert_eq!(told[i], expected, "{}", method[i]);
        // k̂ is estimated in the blind track only, and is the planted k on this easy instance
        match expected {
            "k_hat" => assert_eq!(k_hat[i], Some(2.0), "{}", method[i]),
            _ => assert!(k_hat[i].is_none_or(f64::is_nan), "{}", method[i]),
        }
    }
    // the step floor: the unrolled learner (full batches) made 30 steps where 5 passes allow 5;
    // MOD, a full-batch learner with no floor, made at most 5 iterations
    let iters = column_f64(&fin, "iter").unwrap();
    for i in 0..fin.height() {
        if method[i].starts_with("unrolled") {
            assert_eq!(iters[i], Some(30.0), "{}", method[i]);
        } else if method[i].starts_with("mod") {
            assert!(iters[i].is_some_and(|x| x <= 5.0), "{}", method[i]);
        }
    }
    let t = told_table(&df).unwrap();
    assert_eq!(t.height(), 5);
    let redraws = column_f64(&fin, "m_inst_redraws").unwrap();
    assert!(redraws.iter().all(|r| *r == Some(0.0)));
}

/// A transitions-ready results table: per row `method`, `instance` (with the axis), `termination`,
/// `p_inst_sparsity` and `m_recovery_rate`.
fn results(rows: &[(&str, &str, i64, f64)]) -> DataFrame {
    let n = rows.len();
    DataFrame::new(
        n,
        vec![
            Column::new(
                "method".into(),
                rows.iter().map(|r| r.0.to_string()).collect::<Vec<_>>(),
            ),
            Column::new(
                "instance".into(),
                rows.iter()
                    .map(|r| format!("{},sparsity={}", r.1, r.2))
                    .collect::<Vec<_>>(),
            ),
            Column::new("iter".into(), vec![1i64; n]),
            Column::new("item".into(), (0..n as i64).collect::<Vec<_>>()),
            Column::new("termination".into(), vec!["stalled".to_string(); n]),
            Column::new(
                "p_inst_sparsity".into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
            Column::new(
                "m_recovery_rate".into(),
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            ),
        ],
    )
    .unwrap()
}

#[test]
fn neural_against_classical_counts_within_each_track_with_intervals() {
    let ad = Adaptive {
        axis: "sparsity".into(),
        level: 0.5,
        success: 0.95,
        reps: 1,
        max_reps: None,
    };
    // two settings, each with certain outcomes (every run succeeds or fails), so resampling runs
    // changes nothing and the interval comes from resampling the settings alone.
    // s1 oracle: mod k* = 2, unrolled k* = 3 → neural by one step; s2 oracle: mod 3, unrolled 1 →
    // classical by two steps. blind track on s1: mod 1, unrolled 1 → tie; altmin (reads nothing,
    // oracle only) counts in both tracks with k* = 0.
    let mut rows = Vec::new();
    for (m, s, kstar) in [
        ("mod[init=data]", "s=1", 2),
        ("unrolled[lambda_scale=0.1,init=data]", "s=1", 3),
        ("mod[init=data]", "s=2", 3),
        ("unrolled[lambda_scale=0.1,init=data]", "s=2", 1),
        ("mod[init=data,track=blind]", "s=1", 1),
        ("unrolled[lambda_scale=0.1,init=data,track=blind]", "s=1", 1),
        ("altmin[init=data]", "s=1", 0),
    ] {
        for k in 1..=4 {
            rows.push((m, s, k, if k <= kstar { 1.0 } else { 0.0 }));
        }
    }
    let df = results(&rows);
    let t = dictlab::sweep::adaptive::transitions(&df, &ad).unwrap();
    let w = neural_vs_classical(&t).unwrap();
    assert_eq!(
        column_str(&w, "track").unwrap(),
        ["blind", "oracle", "oracle"]
    );
    assert_eq!(
        column_str(&w, "winner").unwrap(),
        ["tie", "neural", "classical"]
    );
    assert_eq!(
        column_f64(&w, "steps").unwrap(),
        [Some(0.0), Some(1.0), Some(2.0)]
    );
    let b = bootstrap_counts(&df, &ad, &|_| true, 400, 7).unwrap();
    assert_eq!(column_str(&b, "track").unwrap(), ["blind", "oracle"]);
    let col = |c: &str| column_f64(&b, c).unwrap();
    assert_eq!(col("settings"), [Some(1.0), Some(2.0)]);
    assert_eq!(col("neural"), [Some(0.0), Some(1.0)]);
    assert_eq!(col("tie"), [Some(1.0), Some(0.0)]);
    // oracle: 2 settings drawn with replacement, each neural or classical with probability ½:
    // the neural count is 0, 1 or 2 (¼, ½, ¼), so its 95 % interval is [0, 2]
    assert_eq!(col("neural_lo"), [Some(0.0), Some(0.0)]);
    assert_eq!(col("neural_hi"), [Some(0.0), Some(2.0)]);
    assert_eq!(col("tie_lo"), [Some(1.0), Some(0.0)]);
    assert_eq!(col("neural_by_one"), [Some(0.0), Some(1.0)]);
    assert_eq!(col("classical_by_one"), [Some(0.0), Some(0.0)]);
}

#[test]
fn cap_fractions_and_tuning_choice_by_hand() {
    let df = DataFrame::new(
        7,
        vec![
            Column::new(
                "method".into(),
                [
                    "mod[init=data]",
                    "mod[init=data]",
                    "mod[init=data]",
                    "sae[kind=topk,lr=0.001]",
                    "sae[kind=topk,lr=0.003]",
                    "relu_ae[lr=0.01]",
                    "relu_ae[lr=0.05]",
                ],
            ),
            Column::new("iter".into(), [5i64, 9, 3, 10, 10, 4, 4]),
            Column::new("item".into(), [0i64, 1, 2, 0, 0, 0, 0]),
            Column::new(
                "termination".into(),
                [
                    "max_iters",
                    "stalled",
                    "error: x",
                    "max_iters",
                    "max_iters",
                    "max_iters",
                    "max_iters",
                ],
            ),
            Column::new(
                "m_recovery_rate".into(),
                [1.0, 0.5, f64::NAN, 0.25, 0.75, 0.0, 0.0],
            ),
        ],
    )
    .unwrap();
    let c = cap_fractions(&df).unwrap();
    assert_eq!(column_str(&c, "method").unwrap()[0], "mod[init=data]");
    let frac = column_f64(&c, "cap_frac").unwrap();
    assert_eq!(frac[0], Some(0.333));
    assert_eq!(column_f64(&c, "errors").unwrap()[0], Some(1.0));
    let t = tuning_choice(&df, &["lr"]).unwrap();
    assert_eq!(
        column_str(&t, "method").unwrap(),
        ["relu_ae", "relu_ae", "sae[kind=topk]", "sae[kind=topk]"]
    );
    assert_eq!(
        column_str(&t, "candidate").unwrap(),
        ["lr=0.01", "lr=0.05", "lr=0.001", "lr=0.003"]
    );
    // relu_ae recovers nothing with either step: no choice, it keeps its default
    let chosen: Vec<Option<bool>> = t.column("chosen").unwrap().bool().unwrap().iter().collect();
    assert_eq!(chosen, [Some(false), Some(false), Some(false), Some(true)]);
}

#[test]
fn bootstrap_mean_interval_stays_in_range() {
    let (lo, hi) = dictlab::table::mean_bootstrap95(&[2.0; 5], 100, 1);
    assert_eq!((lo, hi), (2.0, 2.0));
    let v = [0.0, 0.0, 0.0, 16.0];
    let (lo, hi) = dictlab::table::mean_bootstrap95(&v, 2000, 1);
    assert!((0.0..=16.0).contains(&lo) && (0.0..=16.0).contains(&hi) && lo <= 4.0 && hi >= 4.0);
    assert!(lo >= 0.0, "a t-interval would give {}", 4.0 - 3.182 * 4.0);
}

#[test]
fn only_settings_keeps_the_rows_of_a_slice() {
    let df = DataFrame::new(
        3,
        vec![
            Column::new("method".into(), ["a", "b", "c"]),
            Column::new("p_inst_noise_sigma".into(), [0.05, 0.0, 0.05]),
            Column::new(
                "p_inst_values".into(),
                ["nonneg_uniform", "nonneg_uniform", "signed_uniform"],
            ),
        ],
    )
    .unwrap();
    let only = |pairs: &[(&str, &str)]| {
        let p: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        dictlab::report::findings::only_settings(&df, &p)
    };
    let kept = only(&[("noise_sigma", "0.050"), ("values", "nonneg_uniform")]).unwrap();
    assert_eq!(column_str(&kept, "method").unwrap(), ["a"]);
    let e = only(&[("noise", "1")]).unwrap_err().to_string();
    assert!(e.contains("noise_sigma, values"), "{e}");
}

#[test]
fn max_reps_is_read_from_the_plan_and_bounded_by_its_reps() {
    let text = |max: usize| {
        format!(
            r#"
name = "m"
reps = 5
[adaptive]
axis = "sparsity"
reps = 3
max_reps = {max}
[instance]
dim = 8
n_atoms = 8
n_samples = 50
[grid]
sparsity = [1, 2, 3]
[[method]]
name = "omp"
"#
        )
    };
    let plan = Plan::from_toml_str(&text(5)).unwrap();
    assert_eq!(plan.adaptive.unwrap().max_reps, Some(5));
    let e = Plan::from_toml_str(&text(6)).unwrap_err().to_string();
    assert!(e.contains("at most the plan's reps = 5"), "{e}");
    let e = Plan::from_toml_str(&text(2)).unwrap_err().to_string();
    assert!(e.contains("≥ adaptive.reps = 3"), "{e}");
    // a plan without max_reps keeps its hash (the key is left out of the canonical form)
    let without = text(5).replace("max_reps = 5\n", "");
    let a = Plan::from_toml_str(&without).unwrap();
    assert!(a.adaptive.unwrap().max_reps.is_none());
}

/// An adaptive plan of OMP and MOD on 8 × 8 orthobases, noiseless and at σ = 0.1, over the
/// sparsities `ks` (a TOML list).
fn small_adaptive_plan(base_seed: u64, reps: usize, ks: &str) -> Plan {
    Plan::from_toml_str(&format!(
        r#"
name = "small adaptive"
base_seed = {base_seed}
reps = {reps}
[adaptive]
axis = "sparsity"
[instance]
dim = 8
n_atoms = 8
n_samples = 60
dictionary = "orthobasis"
[grid]
sparsity = {ks}
noise_sigma = [0.0, 0.1]
[[method]]
name = "omp"
[[method]]
name = "mod"
iters = 3
"#
    ))
    .unwrap()
}

#[test]
fn complete_settings_keeps_settings_whose_every_curve_finished() {
    let plan = small_adaptive_plan(3, 1, "[1, 2, 3]");
    let dir = tempfile::tempdir().unwrap();
    run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    let df = dictlab::sweep::merge(dir.path()).unwrap();
    let (all, n) = dictlab::sweep::adaptive::complete_settings(&df, &plan).unwrap();
    assert_eq!((n, all.height()), (2, df.height()));
    // drop MOD's rows on σ = 0.1: that setting is incomplete, the other stays whole
    let method = column_str(&df, "method").unwrap();
    let noise = column_f64(&df, "p_inst_noise_sigma").unwrap();
    let keep: Vec<bool> = (0..df.height())
        .map(|i| !(method[i].starts_with("mod") && noise[i] == Some(0.1)))
        .collect();
    let part = df.filter(&BooleanChunked::new("k".into(), &keep)).unwrap();
    let (kept, n) = dictlab::sweep::adaptive::complete_settings(&part, &plan).unwrap();
    assert_eq!(n, 1);
    assert!(
        column_f64(&kept, "p_inst_noise_sigma")
            .unwrap()
            .iter()
            .all(|v| *v == Some(0.0))
    );
    assert!(kept.height() > 0);
}

#[test]
fn a_partial_merge_imported_into_a_new_directory_resumes_to_the_same_results() {
    let plan = small_adaptive_plan(9, 2, "[1, 2, 3, 4]");
    let whole = tempfile::tempdir().unwrap();
    run_plan(&plan, whole.path(), &RunOptions::default()).unwrap();
    let reference = dictlab::sweep::merge(whole.path()).unwrap();
    // a run that stopped after its first shard of two: its partial merge is what was kept
    let first = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        shard: dictlab::sweep::Shard { index: 0, count: 2 },
        ..RunOptions::default()
    };
    run_plan(&plan, first.path(), &opts).unwrap();
    let kept = dictlab::sweep::store::merge_partial(first.path()).unwrap();
    assert!(kept.height() > 0 && kept.height() < reference.height());
    // imported elsewhere, the sweep redoes only the rest and ends where the whole run ended
    let moved = tempfile::tempdir().unwrap();
    let n = dictlab::sweep::store::import_runs(&plan, moved.path(), &kept).unwrap();
    assert!(n > 0);
    assert_eq!(
        dictlab::sweep::store::import_runs(&plan, moved.path(), &kept).unwrap(),
        0,
        "a second import adds nothing"
    );
    let out = run_plan(&plan, moved.path(), &RunOptions::default()).unwrap();
    assert!(out.runs_done > 0);
    let resumed = dictlab::sweep::merge(moved.path()).unwrap();
    let ignore: Vec<&str> = dictlab::table::VOLATILE.to_vec();
    let d = dictlab::table::differences(&reference, &resumed, &ignore).unwrap();
    assert!(d.is_empty(), "{d:?}");
    // rows of another plan are refused
    let other =
        Plan::from_toml_str(&plan.source.replace("base_seed = 9", "base_seed = 10")).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let e = dictlab::sweep::store::import_runs(&other, fresh.path(), &kept)
        .unwrap_err()
        .to_string();
    assert!(e.contains("import a merge of this plan"), "{e}");
}

#[test]
fn sides_per_item_counts_who_solves_each_instance_hand_computed() {
    // item 0: classical 1.0 (mod), neural 0.96 (sae) → both; item 1: classical 0.97, neural 0.5 →
    // classical only; item 2: classical 0.2, neural 0.99 → neural only; item 3: 0.1 / 0.3 → neither.
    // OMP (a coder on the planted dictionary) solves everything and is not a side.
    let rows: [(&str, &str, f64); 10] = [
        ("0", "mod", 1.0),
        ("0", "sae", 0.96),
        ("0", "omp", 1.0),
        ("1", "ksvd", 0.97),
        ("1", "mod", 0.4),
        ("1", "sae", 0.5),
        ("2", "mod", 0.2),
        ("2", "sae", 0.99),
        ("3", "mod", 0.1),
        ("3", "sae", 0.3),
    ];
    let df = df!(
        "item" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "method" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "m_recovery_rate" => rows.iter().map(|r| r.2).collect::<Vec<_>>()
    )
    .unwrap();
    let s = dictlab::report::contest::sides_per_item(&df).unwrap();
    assert_eq!(
        (s.both, s.classical_only, s.neural_only, s.neither),
        (1, 1, 1, 1)
    );
    assert_eq!(
        s.best[1],
        ("1".into(), 0.97, "ksvd".into(), 0.5, "sae".into())
    );
    let one: Vec<&str> = s.one_side().iter().map(|b| b.0.as_str()).collect();
    assert_eq!(one, ["1", "2"]);
}
