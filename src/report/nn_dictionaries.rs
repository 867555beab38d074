//! The analysis of notebook 06 ("neural nets learn dictionaries?", the 2016 blog note, and the
//! sparse autoencoders against MOD), as named functions: the row classes of a trained tied
//! autoencoder with its recovery metrics, one item of the row-class sweep (E3), the stacked bars of
//! the classes, and one item of the SAE-against-MOD comparison.

use crate::error::Result;
use crate::generate::{Support, Values};
use crate::instance::{DictKind, Instance, InstanceSpec};
use crate::iter::{NoObserver, Schedule, SolveInfo};
use crate::learn::{DictionaryLearner, Init};
use crate::neural::probe::classify_rows;
use crate::neural::relu_ae::{AeState, Bias, TiedAeGd, Unit};
use crate::neural::sae::{SaeKind, SaeTrainer, evaluate};
use crate::rng::{derive_seed, rng_from_seed};
use crate::table::{Point, Row, column_f64, column_str, filter_eq};
use polars::prelude::DataFrame;

/// The row classes of a trained tied autoencoder (`atom`, `combination`, `duplicate`, `useless`
/// counts, [`classify_rows`] at bias `eps`), the recovery of the planted dictionary by its encoder
/// rows (`recovery_rate`, `recovery_score`) and by its decoder where untied (`dec_recovery_rate`,
/// NaN when tied), and the rows' coherence; the termination of the run.
///
/// # Errors
/// Shapes that do not match the instance.
pub fn class_row(
    name: &str,
    s: &AeState,
    data: &Instance,
    eps: f64,
    info: &SolveInfo,
) -> Result<Row> {
    let classes = classify_rows(s.w.view(), data.dict.view(), data.y.view(), eps)?;
    let count = |c: &str| classes.iter().filter(|x| x.name() == c).count() as f64;
    let rm = crate::metrics::recovery_metrics(data.dict.view(), s.w.t(), 0.99)?;
    let dec_rate = match &s.dec {
        Some(d) => {
            crate::metrics::recovery_metrics(data.dict.view(), d.view(), 0.99)?.recovery_rate
        }
        None => f64::NAN,
    };
    let mut row = Row::new(name)
        .metric("atom", count("atom"))
        .metric("combination", count("combination"))
        .metric("duplicate", count("duplicate"))
        .metric("useless", count("useless"))
        .metric("recovery_rate", rm.recovery_rate)
        .metric("recovery_score", rm.recovery_score)
        .metric("row_coherence", crate::metrics::coherence(s.w.t()))
        .metric("dec_recovery_rate", dec_rate);
    row.termination = info.termination.to_string();
    Ok(row)
}

/// One item of E3 (axes `n`, `ratio` = m/n, `k`, `init` ∈ {`gaussian`, `data`}): a Gaussian
/// n × m dictionary, `n_samples` signals with k non-zeros U[1, 2]; from one start (seeded from the
/// item), the bias at the (1 − k/m) quantile of the start's pre-activations, `gd_iters` steps of
/// gradient descent at rate 0.05 for the tied ReLU, the tied sign-like unit and the untied one.
/// One [`class_row`] per model.
///
/// # Errors
/// A point without the axes; the generator's and the models' errors.
pub fn class_item(point: &Point, seed: u64, n_samples: usize, gd_iters: usize) -> Result<Vec<Row>> {
    let (nn, kk) = (point.usize("n")?, point.usize("k")?);
    let mm = (point.f64("ratio")? * nn as f64).round() as usize;
    let data = InstanceSpec::new(nn, mm, n_samples)
        .sparsity(kk)
        .dictionary(DictKind::Gaussian)
        .values(Values::NonNegUniform { a: 1.0, b: 2.0 })
        .sample(seed)?;
    let mut rng = rng_from_seed(derive_seed(seed, "init"));
    let start = if point.str("init")? == "gaussian" {
        Init::Gaussian
    } else {
        Init::RandomData
    };
    let w0 = start.build(data.y.view(), mm, &mut rng)?.t().to_owned();
    let eps = Bias::Quantile(1.0 - kk as f64 / mm as f64).value(w0.view(), data.y.view())?;
    let sign = Unit::Sign {
        scale: 1.5,
        bandwidth: 0.5,
    };
    let mut rows = Vec::new();
    for (name, unit, untied) in [
        ("relu_tied", Unit::Relu, false),
        ("sign_tied", sign, false),
        ("sign_untied", sign, true),
    ] {
        let mut gd = TiedAeGd::new(0.05, eps);
        gd.max_iters = gd_iters;
        gd.unit = unit;
        gd.untied = untied;
        let (s, info) = gd.run(w0.view(), data.y.view(), Schedule::Never, &mut NoObserver)?;
        rows.push(class_row(name, &s, &data, eps, &info)?);
    }
    Ok(rows)
}

/// Categories and named series of a stacked bar chart ([`super::stacked_bars`]).
pub type Bars = (Vec<String>, Vec<(String, Vec<f64>)>);

/// The stacked bars of the row classes of `model` in an E3 table: one category per item
/// (`n… m/n… k… init`), one series per class.
///
/// # Errors
/// A table without the columns.
pub fn class_bars(e3: &DataFrame, model: &str) -> Result<Bars> {
    let sub = filter_eq(e3, &[("method", model.into())])?;
    let (n, r, k, i) = (
        column_f64(&sub, "p_inst_n")?,
        column_f64(&sub, "p_inst_ratio")?,
        column_f64(&sub, "p_inst_k")?,
        column_str(&sub, "p_inst_init")?,
    );
    let cats = (0..sub.height())
        .map(|j| {
            format!(
                "n{} m/n{} k{} {}",
                n[j].unwrap_or(0.0),
                r[j].unwrap_or(0.0),
                k[j].unwrap_or(0.0),
                i[j]
            )
        })
        .collect();
    let series = ["atom", "duplicate", "combination", "useless"]
        .iter()
        .map(|c| {
            Ok((
                c.to_string(),
                column_f64(&sub, &format!("m_{c}"))?
                    .into_iter()
                    .map(|v| v.unwrap_or(0.0))
                    .collect(),
            ))
        })
        .collect::<Result<_>>()?;
    Ok((cats, series))
}

/// One item of the SAE-against-MOD comparison (axes `coherence` = target μ, `firing` ∈
/// {`independent`, `correlated`}): an n × m coherence-targeted dictionary, `n_samples` signals with
/// two non-zeros U[1, 2] (independent, or correlated in groups of 4 with ρ = 0.8); TopK (k = 2),
/// ReLU + L1 and JumpReLU SAEs (λ = 0.1, `sae_steps` steps, θ₀ = 0.5) with SAELens's metrics, and
/// MOD + OMP (k = 2, 30 iterations) from data columns. One row per method with its wall time.
///
/// # Errors
/// A point without the axes; the generator's and the learners' errors.
pub fn sae_item(
    point: &Point,
    seed: u64,
    n: usize,
    m: usize,
    n_samples: usize,
    sae_steps: usize,
) -> Result<Vec<Row>> {
    let mu = point.f64("coherence")?;
    let support = if point.str("firing")? == "correlated" {
        Support::Correlated {
            k: 2,
            group: 4,
            rho: 0.8,
        }
    } else {
        Support::ExactK { k: 2 }
    };
    let data = InstanceSpec::new(n, m, n_samples)
        .support(support)
        .dictionary(DictKind::Coherence { target: mu })
        .values(Values::NonNegUniform { a: 1.0, b: 2.0 })
        .sample(seed)?;
    let mut rows = Vec::new();
    for (name, kind) in [
        ("topk[k=2]", SaeKind::TopK { k: 2 }),
        ("relu_l1[lambda=0.1]", SaeKind::ReluL1 { lambda: 0.1 }),
        (
            "jumprelu[lambda=0.1]",
            SaeKind::JumpRelu {
                lambda: 0.1,
                bandwidth: 0.05,
            },
        ),
    ] {
        let mut t = SaeTrainer::new(kind, m);
        t.steps = sae_steps;
        t.theta0 = 0.5;
        let tm = std::time::Instant::now();
        let (s, _) = t.train(
            data.y.view(),
            derive_seed(seed, name),
            Schedule::Never,
            &mut NoObserver,
        )?;
        let secs = tm.elapsed().as_secs_f64();
        let ev = evaluate(&s.sae, data.dict.view(), data.y.view(), data.codes.view())?;
        let mut row = Row::new(name)
            .metric("recovery_score", ev.recovery_score)
            .metric("mmcs", ev.mmcs)
            .metric("recovery_rate", ev.recovery_rate)
            .metric("l0", ev.l0)
            .metric("fvu", ev.fvu)
            .metric("shrinkage", ev.shrinkage)
            .metric("dead_latents", ev.dead_latents as f64)
            .metric("latent_f1", ev.latent_f1);
        row.time_s = secs;
        rows.push(row);
    }
    let tm = std::time::Instant::now();
    let mod_dl = crate::learn::AlternatingMinimization::new(
        crate::code::Omp::with_sparsity(2),
        crate::learn::Mod::default(),
    )
    .max_iters(30);
    let learned = mod_dl.learn(
        data.y.view(),
        m,
        &Init::RandomData,
        derive_seed(seed, "mod"),
    )?;
    let secs = tm.elapsed().as_secs_f64();
    let rm = crate::metrics::recovery_metrics(data.dict.view(), learned.dict.view(), 0.99)?;
    let rc = crate::metrics::dictionary_recovery(data.dict.view(), learned.dict.view())?;
    let mut row = Row::new("mod+omp[k=2]")
        .metric("recovery_score", rm.recovery_score)
        .metric("mmcs", rc.mmcs())
        .metric("recovery_rate", rm.recovery_rate);
    row.time_s = secs;
    rows.push(row);
    Ok(rows)
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // counts of rows, exact
mod tests {
    use super::*;
    use crate::table::Value;

    fn point(kv: &[(&str, Value)]) -> Point {
        Point(kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    /// One E3 item on a small problem: three models, their class counts add up to the rows (m),
    /// and the bars read them back per model.
    #[test]
    fn a_class_item_counts_every_row() {
        let p = point(&[
            ("n", Value::from(8i64)),
            ("ratio", Value::from(1.5)),
            ("k", Value::from(1i64)),
            ("init", Value::from("data")),
        ]);
        let rows = class_item(&p, 3, 400, 20).unwrap();
        assert_eq!(rows.len(), 3);
        for r in &rows {
            let get = |k: &str| r.metrics.iter().find(|m| m.0 == k).unwrap().1;
            let total = get("atom") + get("combination") + get("duplicate") + get("useless");
            assert_eq!(total, 12.0, "{}", r.method);
            assert_eq!(
                get("dec_recovery_rate").is_nan(),
                r.method != "sign_untied",
                "{}",
                r.method
            );
        }
        let df = crate::sweep::Sweep::new(
            crate::sweep::Grid::new()
                .axis("n", [8i64])
                .axis("ratio", [1.5])
                .axis("k", [1i64])
                .axis("init", ["data"]),
        )
        .run(|it| class_item(&it.point, it.seed, 400, 20))
        .unwrap();
        let (cats, series) = class_bars(&df, "relu_tied").unwrap();
        assert_eq!(cats, vec!["n8 m/n1.5 k1 data".to_string()]);
        assert_eq!(series.len(), 4);
        assert_eq!(series.iter().map(|s| s.1[0]).sum::<f64>(), 12.0);
    }

    /// One comparison item: four rows (three SAEs and MOD), every recovery score in [0, 1].
    #[test]
    fn an_sae_item_compares_four_methods() {
        let p = point(&[
            ("coherence", Value::from(0.5)),
            ("firing", Value::from("independent")),
        ]);
        let rows = sae_item(&p, 4, 12, 18, 600, 50).unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.method.as_str()).collect();
        assert_eq!(
            names,
            [
                "topk[k=2]",
                "relu_l1[lambda=0.1]",
                "jumprelu[lambda=0.1]",
                "mod+omp[k=2]"
            ]
        );
        for r in &rows {
            let s = r
                .metrics
                .iter()
                .find(|m| m.0 == "recovery_score")
                .unwrap()
                .1;
            assert!((0.0..=1.0 + 1e-12).contains(&s), "{}: {s}", r.method);
        }
    }
}
