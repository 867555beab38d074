//! Convolutional sweep plans (`problem = "conv"`): instances from convolutional keys, conv coders
//! and learners run by the same store and executor as dense plans, rows with recovery up to
//! shift; careless plans refused naming the fix.

use dictlab::sweep::{Plan, RunOptions, Shard, merge, run_plan};

mod common;
use common::plan_error;

const CONV_PLAN: &str = r#"
name = "conv smoke"
problem = "conv"
base_seed = 11
reps = 2

[record]
mode = "every"
every = 5

[instance]
signals = 6
times = 300
atoms = 2
atom_len = 12
values = "nonneg"
min_spacing = 12
noise_sigma = 0.01

[grid]
theta = [0.005, 0.01]

[[method]]
name = "conv_fista"
lambda = 0.05
nonneg = true

[[method]]
name = "conv_lgcd"
lambda = 0.05
nonneg = true

[[method]]
name = "conv_altmin"
reg = 0.05
nonneg = true
iters = 20
"#;

fn col(df: &dictlab::polars::prelude::DataFrame, name: &str) -> Vec<Option<f64>> {
    dictlab::table::column_f64(df, name).unwrap()
}

#[test]
fn a_conv_plan_runs_every_method_on_shared_instances() {
    let plan = Plan::from_toml_str(CONV_PLAN).unwrap();
    assert_eq!(plan.n_runs().unwrap(), 2 * 2 * 3);
    let dir = tempfile::tempdir().unwrap();
    let s = run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    assert_eq!((s.runs_in_shard, s.runs_done), (12, 12));
    let df = merge(dir.path()).unwrap();
    let terms = dictlab::table::column_str(&df, "termination").unwrap();
    assert!(terms.iter().all(|t| !t.starts_with("error")), "{terms:?}");
    let methods = dictlab::table::column_str(&df, "method").unwrap();
    let items = col(&df, "item");
    let mu = col(&df, "m_inst_mu_conv");
    let f1 = col(&df, "m_act_f1");
    let rate = col(&df, "m_recovery_rate");
    // every method of an item sees the same instance: one shift coherence per item
    for i in 0..4 {
        let mus: Vec<f64> = (0..df.height())
            .filter(|&r| items[r] == Some(i as f64))
            .map(|r| mu[r].unwrap())
            .collect();
        assert!(
            !mus.is_empty() && mus.iter().all(|m| *m == mus[0] && *m > 0.0),
            "{mus:?}"
        );
    }
    for r in 0..df.height() {
        if methods[r].starts_with("conv_fista") || methods[r].starts_with("conv_lgcd") {
            // the coders find the planted events with the planted atoms
            assert!(f1[r].unwrap() >= 0.9, "{}: f1 {:?}", methods[r], f1[r]);
        } else {
            assert!(methods[r].starts_with("conv_altmin"), "{}", methods[r]);
            assert!(rate[r].is_some(), "a learner row without recovery_rate");
        }
    }
    // the learner records its iterations (every 5) besides the final row
    let learner_rows = methods
        .iter()
        .filter(|m| m.starts_with("conv_altmin"))
        .count();
    assert!(learner_rows > 4, "{learner_rows}");
    // a shard of two reproduces its half of the rows exactly
    let sharded = tempfile::tempdir().unwrap();
    for i in 0..2 {
        let opts = RunOptions {
            shard: Shard { index: i, count: 2 },
            ..Default::default()
        };
        run_plan(&plan, sharded.path(), &opts).unwrap();
    }
    let df2 = merge(sharded.path()).unwrap();
    assert_eq!(df2.height(), df.height());
    let (a, b) = (col(&df, "m_act_f1"), col(&df2, "m_act_f1"));
    let (ka, kb) = (col(&df, "m_inst_mu_conv"), col(&df2, "m_inst_mu_conv"));
    let mut x: Vec<(u64, u64)> = a
        .iter()
        .zip(&ka)
        .map(|(f, m)| (f.unwrap_or(-1.0).to_bits(), m.unwrap().to_bits()))
        .collect();
    let mut y: Vec<(u64, u64)> = b
        .iter()
        .zip(&kb)
        .map(|(f, m)| (f.unwrap_or(-1.0).to_bits(), m.unwrap().to_bits()))
        .collect();
    x.sort_unstable();
    y.sort_unstable();
    assert_eq!(x, y);
}

/// Qu et al.'s phase-transition shape as a plan: conv_l4 (raw and refined) and CRsAE over θ × K on
/// circular single-channel signals; every run ends with a recovery row, the raw ℓ4 filters are close to the
/// planted ones at low θ, and a valid-boundary plan gets error rows naming the fix.
#[test]
fn conv_l4_runs_from_a_plan_over_theta_and_k() {
    let plan = Plan::from_toml_str(
        r#"
name = "conv l4 phase"
problem = "conv"
base_seed = 5
reps = 1

[record]
mode = "final"

[instance]
signals = 200
times = 48
atom_len = 12
boundary = "circular"

[grid]
theta = [0.03, 0.06]
atoms = [1, 2]

[[method]]
name = "conv_l4"

[[method]]
name = "conv_l4"
refine = 10

[[method]]
name = "crsae"
steps = 30
batch = 50
"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    assert_eq!(s.runs_done, 12);
    let df = merge(dir.path()).unwrap();
    let terms = dictlab::table::column_str(&df, "termination").unwrap();
    assert!(terms.iter().all(|t| !t.starts_with("error")), "{terms:?}");
    let score = col(&df, "m_recovery_score");
    assert_eq!(score.len(), 12);
    // one filter: the raw ℓ4 maximizer is close to it; refined, every run at θ = 0.03 is close to
    // every filter (the raw method may find one filter of two; docs/protocols.md §17)
    let (theta, k) = (col(&df, "p_inst_theta"), col(&df, "p_inst_atoms"));
    let refine = col(&df, "p_method_refine");
    let methods = dictlab::table::column_str(&df, "method").unwrap();
    // final rows carry the learner's own last records: conv_l4's count of distinct filters kept
    let found = col(&df, "m_n_found");
    for r in 0..score.len() {
        if methods[r].starts_with("conv_l4") {
            let k_r = k[r].unwrap();
            assert!(
                found[r].is_some_and(|f| f >= 1.0 && f <= k_r),
                "row {r}: n_found {:?} with K = {k_r}",
                found[r]
            );
        }
    }
    for r in 0..score.len() {
        assert!(
            score[r].is_some_and(|v| (0.0..=1.0).contains(&v)),
            "{score:?}"
        );
        if methods[r].starts_with("crsae") {
            continue;
        }
        if k[r] == Some(1.0) || (refine[r].is_some() && theta[r] == Some(0.03)) {
            assert!(score[r].unwrap() > 0.95, "row {r}: {score:?}");
        }
    }
    let bad = Plan::from_toml_str(
        r#"
name = "conv l4 on valid signals"
problem = "conv"
base_seed = 5
[record]
mode = "final"
[instance]
signals = 20
times = 48
atom_len = 12
atoms = 1
[[method]]
name = "conv_l4"
"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let _ = run_plan(&bad, dir.path(), &RunOptions::default());
    let df = merge(dir.path()).unwrap();
    let terms = dictlab::table::column_str(&df, "termination").unwrap();
    assert!(
        !terms.is_empty()
            && terms
                .iter()
                .all(|t| t.starts_with("error") && t.contains("--boundary circular")),
        "{terms:?}"
    );
}

/// The convolutional plan's careless variants: each refused with the key and the fix.
#[test]
fn careless_conv_plans_are_refused_naming_the_fix() {
    // a dense instance key in a conv plan
    let (_, key, exp) = plan_error(&CONV_PLAN.replace("atom_len = 12", "atom_len = 12\ndim = 8"));
    assert_eq!(key, "dim");
    assert!(exp.contains("atom_len"), "{exp}");
    // a dense method in a conv plan
    let (_, _, exp) = plan_error(&format!("{CONV_PLAN}\n[[method]]\nname = \"omp\"\n"));
    assert!(exp.contains("convolutional coder or learner"), "{exp}");
    // a conv key or method without problem = "conv"
    let dense = CONV_PLAN.replace("problem = \"conv\"", "");
    let (_, key, exp) = plan_error(&dense);
    assert_eq!(key, "signals");
    assert!(exp.contains("problem = \"conv\""), "{exp}");
    // an unknown problem kind
    let (_, key, exp) =
        plan_error(&CONV_PLAN.replace("problem = \"conv\"", "problem = \"convolutional\""));
    assert_eq!(key, "problem");
    assert!(exp.contains("\"conv\""), "{exp}");
    // a value of the wrong type, typed by the declared key
    let (_, key, exp) =
        plan_error(&CONV_PLAN.replace("theta = [0.005, 0.01]", "theta = [0.005, 2.0]"));
    assert_eq!(key, "theta");
    assert!(exp.contains("(0, 1]"), "{exp}");
    // a required key missing
    let (_, key, _) = plan_error(&CONV_PLAN.replace("atoms = 2\n", ""));
    assert_eq!(key, "atoms");
    // atoms longer than the signals, named by the instance
    let (_, key, exp) = plan_error(&CONV_PLAN.replace("atom_len = 12", "atom_len = 400"));
    assert!(key.contains("atom_len=400"), "{key}");
    assert!(exp.contains("valid convolutional instance"), "{exp}");
    // a coherence family without its target, and a target with another family
    let (_, _, exp) = plan_error(&CONV_PLAN.replace(
        "noise_sigma = 0.01",
        "noise_sigma = 0.01\nfamily = \"coherence\"",
    ));
    assert!(exp.contains("target_mu"), "{exp}");
    let (_, _, exp) = plan_error(&CONV_PLAN.replace(
        "noise_sigma = 0.01",
        "noise_sigma = 0.01\nfamily = \"gabor\"\ntarget_mu = 0.5",
    ));
    assert!(exp.contains("target_mu alone"), "{exp}");
    // a coder without its λ
    let (_, key, exp) = plan_error(&CONV_PLAN.replacen("lambda = 0.05\n", "", 1));
    assert!(key.starts_with("conv_fista"), "{key}");
    assert!(exp.contains("lambda"), "{exp}");
}

/// A convolutional plan's hash covers `problem`; a dense plan's hash is what it was before the key
/// existed (committed results stay valid).
#[test]
fn the_problem_kind_is_part_of_the_hash_of_conv_plans_only() {
    let dense = Plan::from_toml_str(common::PLAN).unwrap();
    let explicit = Plan::from_toml_str(&format!("problem = \"dense\"\n{}", common::PLAN)).unwrap();
    assert_eq!(dense.hash, explicit.hash);
    let conv = Plan::from_toml_str(CONV_PLAN).unwrap();
    assert_eq!(conv.problem, dictlab::sweep::plan::Problem::Conv);
}

/// An adaptive conv plan searches the activation rate θ (a float axis) by bisection: every curve
/// runs only values of the grid, its transition θ* is one of them (or NaN: none held), and a
/// non-numeric adaptive axis is refused.
#[test]
fn an_adaptive_conv_plan_bisects_theta() {
    let text = r#"
name = "conv adaptive theta"
problem = "conv"
base_seed = 3
reps = 2

[record]
mode = "final"

[adaptive]
axis = "theta"
level = 0.5
success = 0.95
reps = 2

[instance]
signals = 100
times = 48
atom_len = 12
atoms = 1
boundary = "circular"

[grid]
theta = [0.01, 0.02, 0.04, 0.08, 0.16]

[[method]]
name = "conv_l4"
refine = 5
"#;
    let plan = Plan::from_toml_str(text).unwrap();
    let ad = plan.adaptive.clone().unwrap();
    let curves = dictlab::sweep::adaptive::curves(&plan).unwrap();
    assert_eq!(curves.len(), 1);
    assert_eq!(curves[0].values, vec![0.01, 0.02, 0.04, 0.08, 0.16]);
    let dir = tempfile::tempdir().unwrap();
    let s = run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    // fewer runs than the full grid's 5 × 2
    assert!(s.runs_done >= 2 && s.runs_done < 10, "{}", s.runs_done);
    let df = merge(dir.path()).unwrap();
    let theta = col(&df, "p_inst_theta");
    assert!(
        theta
            .iter()
            .all(|t| t.is_some_and(|t| curves[0].values.contains(&t)))
    );
    let tr = dictlab::sweep::adaptive::transitions(&df, &ad).unwrap();
    assert_eq!(tr.height(), 1);
    let star = col(&tr, "k_star")[0];
    assert!(
        star.is_none_or(|v| v.is_nan() || curves[0].values.contains(&v)),
        "{star:?}"
    );
    // the slice's findings read the same table: one learner, one setting, its runs and θ*
    let md = dictlab::report::conv_bench::markdown(&df, &ad).unwrap();
    assert!(md.contains("| conv_l4[refine=5] | classical | "), "{md}");
    let cell = match star {
        Some(v) if v.is_finite() => format!("{v} ("),
        _ => "< 0.01".to_string(),
    };
    assert!(md.contains(&cell), "{cell} not in {md}");
    assert!(md.contains("Machine time of the slice"), "{md}");
    let bad = text.replace(
        "theta = [0.01, 0.02, 0.04, 0.08, 0.16]",
        "theta = [0.01, 0.02]\nvalues = [\"gaussian\", \"nonneg\"]",
    );
    let bad = bad.replace("axis = \"theta\"", "axis = \"values\"");
    let (_, key, expected) = plan_error(&bad);
    assert!(expected.contains("finite numbers"), "{key}: {expected}");
}

/// Images in a plan (`rows` > 1): the coder finds the planted activations, conv_altmin with the
/// DFT-domain pair recovers atoms (rows with recovery over 2-D lags), a 1-D-only learner gets an
/// error row naming the fix, and no row is lost.
#[test]
fn an_image_plan_runs_the_image_methods_and_refuses_the_others() {
    let plan = Plan::from_toml_str(
        r#"
name = "conv images"
problem = "conv"
base_seed = 5
reps = 1

[instance]
signals = 6
times = 24
rows = 24
atoms = 2
atom_len = 5
values = "nonneg"
boundary = "circular"
noise_sigma = 0.01

[grid]
theta = [0.005]

[[method]]
name = "conv_fista"
lambda = 0.05
nonneg = true

[[method]]
name = "conv_altmin"
reg = 0.05
nonneg = true
iters = 40
csc = "fista"
d_solver = "ccmod"

[[method]]
name = "conv_l4"
"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = run_plan(&plan, dir.path(), &RunOptions::default()).unwrap();
    assert_eq!(s.runs_done, 3);
    let df = merge(dir.path()).unwrap();
    let methods = dictlab::table::column_str(&df, "method").unwrap();
    let terms = dictlab::table::column_str(&df, "termination").unwrap();
    let f1 = col(&df, "m_act_f1");
    let score = col(&df, "m_recovery_score");
    let mut seen = [false; 3];
    for r in 0..df.height() {
        if methods[r].starts_with("conv_fista") {
            seen[0] = true;
            assert!(f1[r].unwrap() >= 0.9, "f1 {:?}", f1[r]);
        } else if methods[r].starts_with("conv_altmin") && terms[r] != "running" {
            seen[1] = true;
            assert!(!terms[r].starts_with("error"), "{}", terms[r]);
            assert!(score[r].unwrap() > 0.8, "score {:?}", score[r]);
        } else if methods[r].starts_with("conv_l4") {
            seen[2] = true;
            assert!(
                terms[r].starts_with("error")
                    && terms[r].contains("conv_altmin with d_solver = ccmod"),
                "{}",
                terms[r]
            );
        }
    }
    assert_eq!(seen, [true; 3]);
}
