//! The benchmark plans of issue 9: the small plan runs end to end at toy size with a row for every
//! (instance, method, repetition); every learner of the plan recovers the planted dictionary on
//! the plan's easiest instance; the headline table is computed as defined.

use dictlab::instance::InstanceSpec;
use dictlab::learn::Init;
use dictlab::metrics::recovery_metrics;
use dictlab::registry::{self, Built, Context};
use dictlab::report::dashboard;
use dictlab::sweep::{self, Plan, store};
use dictlab::table::{self, Value};
use std::collections::BTreeSet;

fn small_plan_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/plans/benchmark_small.toml"
    ))
    .unwrap()
}

/// The small plan shrunk to toy size: one repetition, 300 samples, k = 2, two dictionary tuples,
/// and the iterative methods cut to a few dozen steps — same methods, same code paths.
fn toy_plan() -> Plan {
    let mut t: toml::Table = toml::from_str(&small_plan_text()).unwrap();
    t.insert("reps".into(), 1.into());
    let inst = t["instance"].as_table().unwrap().clone();
    let mut inst = inst;
    inst.insert("n_samples".into(), 300.into());
    t.insert("instance".into(), inst.into());
    let mut grid = toml::Table::new();
    grid.insert("sparsity".into(), toml::Value::Array(vec![2.into()]));
    t.insert("grid".into(), grid.into());
    let coupled = t["coupled"].as_array().unwrap()[0]
        .as_table()
        .unwrap()
        .clone();
    let mut coupled = coupled;
    let values = coupled["values"].as_array().unwrap();
    let keep: Vec<toml::Value> = values
        .iter()
        .filter(|v| {
            let v = v.as_array().unwrap();
            (v[0].as_integer() == Some(24) && v[2].as_float() == Some(0.3))
                || v[1].as_str() == Some("identity_hadamard")
        })
        .cloned()
        .collect();
    assert_eq!(keep.len(), 2);
    coupled.insert("values".into(), keep.into());
    t.insert("coupled".into(), toml::Value::Array(vec![coupled.into()]));
    for m in t["method"].as_array().unwrap().clone().iter().enumerate() {
        let (i, m) = m;
        let mut m = m.as_table().unwrap().clone();
        for (key, v) in [("iters", 20), ("epochs", 3), ("steps", 30)] {
            if m.contains_key(key) || matches!((m["name"].as_str(), key), (Some("sae"), "steps")) {
                m.insert(key.into(), v.into());
            }
        }
        t["method"].as_array_mut().unwrap()[i] = m.into();
    }
    Plan::from_toml_str(&toml::to_string(&t).unwrap()).unwrap()
}

#[test]
fn the_small_plan_runs_at_toy_size_with_a_row_for_every_run() {
    let plan = toy_plan();
    let items = plan.items().unwrap();
    assert_eq!(items.len(), 2);
    assert!(plan.methods.len() >= 12, "{} methods", plan.methods.len());
    let dir = tempfile::tempdir().unwrap();
    sweep::run_plan(&plan, dir.path(), &store::RunOptions::default()).unwrap();
    let df = store::merge(dir.path()).unwrap();
    let fin = dashboard::final_rows(&df).unwrap();
    assert_eq!(fin.height(), plan.n_runs().unwrap());
    let pairs: BTreeSet<(String, String)> = table::column_str(&fin, "item")
        .unwrap()
        .into_iter()
        .zip(table::column_str(&fin, "method").unwrap())
        .collect();
    for it in &items {
        for m in plan.methods_for(it).map(|j| &plan.methods[j]) {
            assert!(
                pairs.contains(&(it.item.to_string(), m.id.clone())),
                "{} {}",
                it.item,
                m.id
            );
        }
    }
    for (m, t) in table::column_str(&fin, "method")
        .unwrap()
        .iter()
        .zip(table::column_str(&fin, "termination").unwrap())
    {
        assert!(!t.starts_with("error"), "{m}: {t}");
    }
    // every row carries its instance's measured coherence and RIP bounds
    let mu = table::column_f64(&df, "m_inst_mu").unwrap();
    assert!(mu.iter().all(|v| v.is_some_and(|x| x > 0.0 && x < 1.0)));
    let (lo, hi) = (
        table::column_f64(&df, "m_inst_rip_lower").unwrap(),
        table::column_f64(&df, "m_inst_rip_upper").unwrap(),
    );
    for (l, h) in lo.iter().zip(&hi) {
        let (l, h) = (l.unwrap(), h.unwrap());
        assert!(l >= 0.0 && l <= h + 1e-12, "δ_k bounds {l} ≤ {h}");
    }
    // the headline has one row per method with their run counts
    let head = dashboard::headline(&df).unwrap();
    assert_eq!(head.height(), plan.methods.len());
    assert!(
        table::column_f64(&head, "runs")
            .unwrap()
            .iter()
            .all(|r| *r == Some(items.len() as f64))
    );
}

#[test]
fn every_learner_of_the_small_plan_recovers_on_its_easiest_instance() {
    // the easiest instance of the plan: k = 1, μ = 0.3, m = 24; every learner from a start at
    // columnwise distance 0.25 (cos 0.969) must end closer to A* (recovery_score ≥ 0.98)
    let plan = Plan::from_toml_str(&small_plan_text()).unwrap();
    let spec = InstanceSpec::from_params(&[
        ("dim".into(), Value::Int(16)),
        ("n_samples".into(), Value::Int(1000)),
        ("values".into(), Value::from("nonneg_uniform")),
        ("value_low".into(), Value::Float(1.0)),
        ("value_high".into(), Value::Float(2.0)),
        ("noise_sigma".into(), Value::Float(0.01)),
        ("sparsity".into(), Value::Int(1)),
        ("n_atoms".into(), Value::Int(24)),
        ("dictionary".into(), Value::from("coherence")),
        ("coherence".into(), Value::Float(0.3)),
    ])
    .unwrap();
    let inst = spec.sample(5).unwrap();
    let ctx = Context::for_spec(&inst.spec, Some(&inst.dict));
    let mut seen = BTreeSet::new();
    let mut failed: Vec<String> = Vec::new();
    for m in &plan.methods {
        let params: Vec<(String, Value)> = m
            .params
            .iter()
            .filter(|(k, _)| k != "init" && k != "init_dist")
            .cloned()
            .collect();
        if !seen.insert(registry::method_id(&m.name, &params)) {
            continue; // the same method with another init
        }
        let Built::Learner(learner, _) = registry::build(&m.name, &params, &ctx).unwrap() else {
            continue; // coders are tested in tests/coders.rs
        };
        let init = Init::NearTruth {
            truth: inst.dict.clone(),
            dist: 0.25,
        };
        let out = learner.learn(inst.y.view(), 24, &init, 3).unwrap();
        let r = recovery_metrics(inst.dict.view(), out.dict.view(), 0.99).unwrap();
        eprintln!("{}: {} {}", m.id, r.recovery_score, r.recovery_rate);
        if r.recovery_score < 0.98 {
            failed.push(format!(
                "{}: recovery_score {} (start 0.969), rate {}",
                m.id, r.recovery_score, r.recovery_rate
            ));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn headline_and_markdown_by_hand() {
    use dictlab::polars::prelude::*;
    // two methods; method b has one error run; times 1, 3 (a) and 2 (b)
    let df = df!(
        "item" => [0i64, 0, 1, 1, 0, 1],
        "method" => ["a", "a", "a", "a", "b", "b"],
        "iter" => [0i64, 5, 0, 7, 4, 0],
        "time_s" => [0.0, 1.0, 0.0, 3.0, 2.0, 0.1],
        "termination" => ["running", "max_iters", "running", "max_iters", "converged", "error: bad"],
        "m_recovery_rate" => [Some(0.0), Some(1.0), Some(0.0), Some(0.5), Some(0.96), None],
        "m_recovery_score" => [Some(0.1), Some(1.0), Some(0.2), Some(0.8), Some(0.99), None],
        "m_time_to_95" => [None, Some(0.5), None, None, Some(1.5), None]
    )
    .unwrap();
    let h = dashboard::headline(&df).unwrap();
    let col = |c: &str| table::column_f64(&h, c).unwrap();
    assert_eq!(table::column_str(&h, "method").unwrap(), ["a", "b"]);
    assert_eq!(col("runs"), [Some(2.0), Some(2.0)]);
    assert_eq!(col("errors"), [Some(0.0), Some(1.0)]);
    assert_eq!(col("success"), [Some(0.5), Some(0.5)]);
    assert_eq!(col("recovery_rate"), [Some(0.75), Some(0.96)]);
    assert_eq!(col("median_time_s"), [Some(2.0), Some(1.05)]);
    assert_eq!(col("median_time_to_95"), [Some(0.5), Some(1.5)]);
    assert_eq!(col("total_time_s"), [Some(4.0), Some(2.1)]);
    let md =
        dashboard::markdown_table(&dictlab::table::select(&h, &["method", "success"]).unwrap())
            .unwrap();
    assert_eq!(
        md,
        "| method | success |\n| --- | ---: |\n| a | 0.5000 |\n| b | 0.5000 |\n"
    );
    let doc = "# T\n<!-- headline:begin -->\nold\n<!-- headline:end -->\ntail\n";
    let new = dashboard::replace_block(doc, "headline", "new table\n").unwrap();
    assert_eq!(
        new,
        "# T\n<!-- headline:begin -->\nnew table\n<!-- headline:end -->\ntail\n"
    );
    let e = dashboard::replace_block("no markers", "headline", "x").unwrap_err();
    assert!(e.to_string().contains("<!-- headline:begin -->"), "{e}");
}

#[test]
fn every_plan_in_plans_parses_and_msp_runs_only_on_square_instances() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/plans");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            Plan::from_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
    }
    assert!(n >= 2);
    let full = Plan::from_file(format!("{dir}/benchmark_full.toml")).unwrap();
    let items = full.items().unwrap();
    let square: Vec<_> = items
        .iter()
        .filter(|it| it.point.get("n_atoms").and_then(Value::as_usize) == Some(32))
        .collect();
    assert!(!square.is_empty() && square.len() < items.len());
    let msp: Vec<usize> = (0..full.methods.len())
        .filter(|&j| full.methods[j].name == "msp")
        .collect();
    assert_eq!(msp.len(), 3, "one MSP per initialization");
    for it in &items {
        let runs_msp = full.methods_for(it).any(|j| msp.contains(&j));
        assert_eq!(runs_msp, square.iter().any(|s| s.item == it.item));
    }
    assert_eq!(
        full.n_runs().unwrap(),
        items.len() * (full.methods.len() - 3) + square.len() * 3
    );
}
