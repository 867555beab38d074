//! The analysis of notebook 05 (Rangamani et al. 2018, "Sparse coding and autoencoders", ISIT:
//! Theorem 3.1 and Table 1), as named functions: the support recovery of the hidden layer near
//! A*ᵀ, one (h, p) item of Table 1, and Table 1 as text and chart series per bias rule.

use super::Series2;
use crate::error::Result;
use crate::instance::Instance;
use crate::iter::{NoObserver, Schedule};
use crate::neural::probe::{
    along_direction, gradient_probe, mean_row_distance, random_direction, rows_at_distance,
};
use crate::neural::rangamani::{RangamaniSetup, xi};
use crate::neural::relu_ae::{Bias, TiedAeGd, loss_grad, support_recovery_rate};
use crate::rng::{derive_seed, rng_from_seed};
use crate::table::{Point, Row, column_f64, filter_eq, frame_of_rows};
use polars::prelude::DataFrame;

/// The paper's setup at hidden size `h` and sparsity exponent `p`, with `n_samples` signals.
pub fn setup(h: usize, p: f64, n_samples: usize) -> RangamaniSetup {
    RangamaniSetup {
        n_samples,
        ..RangamaniSetup::paper(h, p)
    }
}

/// Theorem 3.1 checked on instances: for each case (name, instance, m₁k) and each δ of `deltas`,
/// rows at columnwise distance δ from the atoms (seeded from `seed`), ε = 2 m₁k (δ + μ/√n) (the
/// theorem's bias), and the fraction of signals whose active hidden units are exactly their true
/// support. One row per (case, δ): `method` = the case, `p_method_delta`, `m_mu_over_sqrt_n`,
/// `m_eps`, `m_support_recovery`, `m_active_fraction`.
///
/// # Errors
/// As the probes.
pub fn theorem_rows(
    cases: &[(&str, Instance, f64)],
    deltas: &[f64],
    seed: u64,
) -> Result<DataFrame> {
    let mut rows: Vec<Row> = Vec::new();
    for (name, inst, m1k) in cases {
        let mu = inst.coherence();
        let truth = inst.dict.t().to_owned();
        for &delta in deltas {
            let w = rows_at_distance(
                truth.view(),
                delta,
                &mut rng_from_seed(derive_seed(seed, "theorem rows")),
            )?;
            let eps = 2.0 * m1k * (delta + mu);
            let rate = support_recovery_rate(w.view(), inst.y.view(), eps, inst.codes.view())?;
            let active = loss_grad(w.view(), inst.y.view(), eps)?.active_fraction;
            rows.push(
                Row::new(*name)
                    .param("delta", delta)
                    .metric("mu_over_sqrt_n", mu)
                    .metric("eps", eps)
                    .metric("support_recovery", rate)
                    .metric("active_fraction", active),
            );
        }
    }
    frame_of_rows(rows, seed)
}

/// One item of Table 1 (axes `h`, `p`): the setup's instance, then for three biases — the
/// theorem's, the v1 preprint's half of it, and the (1 − k/h) quantile of the pre-activations —
/// the averaged gradient at `points` random points at distance δ/2 of A*ᵀ (seeded from the
/// item). One row per bias with `k`, `k_floor`, `mu_over_sqrt_n`, `xi`, `delta`, `eps`,
/// `grad_norm` (row norm of the mean gradient), `grad_norm_b` (mean row norm), `active_fraction`
/// and `h_pow` = h^(p−1), the paper's reference.
///
/// # Errors
/// A point without the axes; the probes' errors.
pub fn table1_item(point: &Point, seed: u64, n_samples: usize, points: usize) -> Result<Vec<Row>> {
    let (h, p) = (point.usize("h")?, point.f64("p")?);
    let su = setup(h, p, n_samples);
    let inst = su.sample(seed)?;
    let (mu, delta) = (inst.coherence(), su.delta());
    let truth = inst.dict.t().to_owned();
    let k_frac = su.k() as f64 / h as f64;
    let rules: [(&str, Bias); 3] = [
        ("theorem", su.theorem_bias(delta, mu)),
        ("v1_half", su.v1_half_bias(delta, mu)),
        ("quantile_k_over_h", Bias::Quantile(1.0 - k_frac)),
    ];
    let mut rows = Vec::new();
    for (name, bias) in rules {
        let eps = bias.value(truth.view(), inst.y.view())?;
        let pr = gradient_probe(
            truth.view(),
            inst.y.view(),
            eps,
            delta / 2.0,
            points,
            &mut rng_from_seed(derive_seed(seed, "probe points")),
        )?;
        rows.push(
            Row::new(name)
                .metric("k", su.k() as f64)
                .metric("k_floor", su.k_floor() as f64)
                .metric("mu_over_sqrt_n", mu)
                .metric("xi", xi(mu, h))
                .metric("delta", delta)
                .metric("eps", eps)
                .metric("grad_norm", pr.mean_row_norm_of_mean)
                .metric("grad_norm_b", pr.mean_of_mean_row_norm)
                .metric("active_fraction", pr.active_fraction)
                .metric("h_pow", su.h_pow()),
        );
    }
    Ok(rows)
}

/// The learning rates Table 2's descent tries, largest first.
pub const TABLE2_LRS: [f64; 15] = [
    1.0, 0.3, 0.1, 0.03, 0.01, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7,
];

/// One item of Table 2 (axes `h`, `p`): gradient descent on the tied ReLU autoencoder from rows at
/// distance h/5 · δ of A*ᵀ (seeded from the item). The bias is the theorem's ε, or — where no hidden
/// unit fires at the start with it — the (1 − k/h) quantile of the pre-activations (the row's
/// `method` says which). The step is the largest of [`TABLE2_LRS`] whose 20 steps lower the loss
/// (1e-8 if none does; ours: the paper gives no step). Then `max_iters` steps. One row with `lr`,
/// `eps`, `iters`, the % decrease of the mean row distance raw (`percent_decrease`) and with the
/// rows normalized after descent (`percent_decrease_normalized`), the % that normalizing the start
/// alone gives (`baseline_normalize_init_percent`), `dist_init`, `dist_final`,
/// `dist_final_normalized`, `recovery_score`, `recovery_rate` (at 0.99), `active_fraction_final`
/// and `grad_ratio` = ‖∇‖/‖∇₀‖.
///
/// # Errors
/// A point without the axes; the descent's errors.
pub fn table2_item(
    point: &Point,
    seed: u64,
    n_samples: usize,
    max_iters: usize,
) -> Result<Vec<Row>> {
    let (h, p) = (point.usize("h")?, point.f64("p")?);
    let su = setup(h, p, n_samples);
    let inst = su.sample(seed)?;
    let truth = inst.dict.t().to_owned();
    let y = inst.y.view();
    let w0 = rows_at_distance(
        truth.view(),
        h as f64 / 5.0 * su.delta(),
        &mut rng_from_seed(derive_seed(seed, "far start")),
    )?;
    let mut rule = "theorem";
    let mut eps = su
        .theorem_bias(su.delta(), inst.coherence())
        .value(w0.view(), y)?;
    if loss_grad(w0.view(), y, eps)?.active_fraction == 0.0 {
        rule = "quantile_k_over_h";
        eps = Bias::Quantile(1.0 - su.k() as f64 / h as f64).value(w0.view(), y)?;
    }
    let l0 = loss_grad(w0.view(), y, eps)?.loss;
    let mut lr = 1e-8;
    for cand in TABLE2_LRS {
        let mut gd = TiedAeGd::new(cand, eps);
        gd.max_iters = 20;
        let (s, info) = gd.run(w0.view(), y, Schedule::Never, &mut NoObserver)?;
        if info.termination.is_finite() && s.eval.loss < l0 {
            lr = cand;
            break;
        }
    }
    let mut gd = TiedAeGd::new(lr, eps);
    gd.max_iters = max_iters;
    let (s, info) = gd.run(w0.view(), y, Schedule::Never, &mut NoObserver)?;
    let d0 = mean_row_distance(w0.view(), truth.view(), false)?;
    let d1 = mean_row_distance(s.w.view(), truth.view(), false)?;
    let n0 = mean_row_distance(w0.view(), truth.view(), true)?;
    let n1 = mean_row_distance(s.w.view(), truth.view(), true)?;
    let rm = crate::metrics::recovery_metrics(inst.dict.view(), s.w.t(), 0.99)?;
    let mut row = Row::new(rule);
    row.termination = info.termination.to_string();
    Ok(vec![
        row.metric("lr", lr)
            .metric("eps", eps)
            .metric("iters", info.iters as f64)
            .metric("percent_decrease", 100.0 * (1.0 - d1 / d0))
            .metric("dist_init", d0)
            .metric("dist_final", d1)
            .metric("dist_final_normalized", n1)
            .metric("percent_decrease_normalized", 100.0 * (1.0 - n1 / d0))
            .metric("baseline_normalize_init_percent", 100.0 * (1.0 - n0 / d0))
            .metric("recovery_score", rm.recovery_score)
            .metric("recovery_rate", rm.recovery_rate)
            .metric("active_fraction_final", s.eval.active_fraction)
            .metric("grad_ratio", s.grad_norm / s.grad_norm0),
    ])
}

/// Figure 1 at hidden size `h` for one bias `rule` (`theorem` or `quantile_k_over_h`): for each p
/// of `ps` (instance seeded from `seed`) and three random unit-row directions ΔW (seeded from
/// `dir_seed`), the loss and the mean row norm of the gradient at A*ᵀ + tΔW for each t of `ts`.
/// Returns (loss series, gradient series), one per (p, direction).
///
/// # Errors
/// An unknown rule; the probes' errors.
pub fn figure1_lines(
    h: usize,
    rule: &str,
    ps: &[f64],
    ts: &[f64],
    n_samples: usize,
    seed: u64,
    dir_seed: u64,
) -> Result<(Vec<Series2>, Vec<Series2>)> {
    let (mut loss, mut grad) = (Vec::new(), Vec::new());
    for &p in ps {
        let su = setup(h, p, n_samples);
        let inst = su.sample(seed)?;
        let truth = inst.dict.t().to_owned();
        let bias = match rule {
            "theorem" => su.theorem_bias(su.delta(), inst.coherence()),
            "quantile_k_over_h" => Bias::Quantile(1.0 - su.k() as f64 / h as f64),
            other => {
                return Err(crate::error::Error::invalid(
                    "rule",
                    other,
                    "`theorem` or `quantile_k_over_h`",
                ));
            }
        };
        let eps = bias.value(truth.view(), inst.y.view())?;
        for d in 0..3u64 {
            let dir = random_direction(
                h,
                su.dim,
                &mut rng_from_seed(derive_seed(dir_seed, &format!("direction {d}"))),
            );
            let line = along_direction(truth.view(), dir.view(), ts, inst.y.view(), eps)?;
            let name = format!("p = {p}, direction {d}");
            loss.push(Series2::new(
                name.clone(),
                ts.to_vec(),
                line.iter().map(|l| l.1).collect(),
            ));
            grad.push(Series2::new(
                name,
                ts.to_vec(),
                line.iter().map(|l| l.2).collect(),
            ));
        }
    }
    Ok((loss, grad))
}

/// Table 1 for one bias `rule`: a text grid of (grad_norm, h^(p−1)) over `hs` × `ps`, and the chart
/// series — per p, grad_norm against h (zero norms drawn at 1e-300 on the log axis) and the
/// reference h^(p−1). A missing (h, p) cell reads NaN.
///
/// # Errors
/// A table without the columns.
pub fn table1_view(
    table1: &DataFrame,
    rule: &str,
    hs: &[usize],
    ps: &[f64],
) -> Result<(String, Vec<Series2>)> {
    let sub = filter_eq(table1, &[("method", rule.into())])?;
    let (hv, pv) = (column_f64(&sub, "p_inst_h")?, column_f64(&sub, "p_inst_p")?);
    let (gv, rv) = (
        column_f64(&sub, "m_grad_norm")?,
        column_f64(&sub, "m_h_pow")?,
    );
    let cell = |h: usize, p: f64, v: &[Option<f64>]| {
        (0..hv.len())
            .find(|&i| hv[i] == Some(h as f64) && pv[i] == Some(p))
            .and_then(|i| v[i])
            .unwrap_or(f64::NAN)
    };
    let mut text = format!("ε = {rule}: (grad_norm, h^(p-1))\n{:>6}", "h \\ p");
    for p in ps {
        text.push_str(&format!(" | {p:>22}"));
    }
    for &h in hs {
        text.push_str(&format!("\n{h:>6}"));
        for &p in ps {
            text.push_str(&format!(
                " | {:>10.3e}, {:>9.3e}",
                cell(h, p, &gv),
                cell(h, p, &rv)
            ));
        }
    }
    let xs: Vec<f64> = hs.iter().map(|h| *h as f64).collect();
    let mut series = Vec::new();
    for &p in ps {
        let ys = hs.iter().map(|&h| cell(h, p, &gv).max(1e-300)).collect();
        series.push(Series2::new(format!("p = {p}"), xs.clone(), ys));
        let refs = hs.iter().map(|&h| (h as f64).powf(p - 1.0)).collect();
        series.push(Series2::new(format!("h^(p-1), p = {p}"), xs.clone(), refs));
    }
    Ok((text, series))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;

    /// One Table 1 item: three biases, the theorem's ε and the quantile's; the view reads the
    /// cell back and draws 2 series per p.
    #[test]
    fn a_table1_item_and_its_view() {
        let p = Point(vec![
            ("h".into(), Value::from(64i64)),
            ("p".into(), Value::from(0.2)),
        ]);
        let rows = table1_item(&p, 3, 200, 2).unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.method.as_str()).collect();
        assert_eq!(names, ["theorem", "v1_half", "quantile_k_over_h"]);
        let df = crate::sweep::Sweep::new(
            crate::sweep::Grid::new()
                .axis("h", [64i64])
                .axis("p", [0.2]),
        )
        .run(|it| table1_item(&it.point, it.seed, 200, 2))
        .unwrap();
        let (text, series) = table1_view(&df, "theorem", &[64], &[0.2, 0.3]).unwrap();
        assert!(
            text.contains("ε = theorem") && text.contains("NaN"),
            "{text}"
        );
        assert_eq!(series.len(), 4);
        // the reference h^(p−1) by hand
        assert!((series[1].y[0] - 64f64.powf(-0.8)).abs() < 1e-15);
        assert!(series[0].y[0].is_finite());
    }

    /// One Table 2 item at a small size: one row, the step taken from the list, a decrease that is
    /// what the two distances say, and the start's distance equal to h/5 · δ by construction.
    #[test]
    fn a_table2_item() {
        let p = Point(vec![
            ("h".into(), Value::from(64i64)),
            ("p".into(), Value::from(0.1)),
        ]);
        let rows = table2_item(&p, 5, 200, 30).unwrap();
        assert_eq!(rows.len(), 1);
        let m = |k: &str| rows[0].metrics.iter().find(|x| x.0 == k).unwrap().1;
        assert!(TABLE2_LRS.contains(&m("lr")) || (m("lr") - 1e-8).abs() < 1e-20);
        let (d0, d1) = (m("dist_init"), m("dist_final"));
        assert!((m("percent_decrease") - 100.0 * (1.0 - d1 / d0)).abs() < 1e-9);
        let su = setup(64, 0.1, 200);
        assert!(
            (d0 - 64.0 / 5.0 * su.delta()).abs() < 1e-9 * d0.max(1.0),
            "{d0}"
        );
        assert!((0.0..=1.0).contains(&m("recovery_rate")));
    }

    /// Figure 1's lines: 3 directions per p; at t = 0 every direction gives the same loss (the
    /// point A*ᵀ itself), elsewhere they differ; an unknown rule is refused.
    #[test]
    fn figure1_lines_meet_at_zero() {
        let ts = [-0.5, 0.0, 0.5];
        let (loss, grad) = figure1_lines(64, "quantile_k_over_h", &[0.1], &ts, 100, 1, 2).unwrap();
        assert_eq!((loss.len(), grad.len()), (3, 3));
        assert!((loss[0].y[1] - loss[2].y[1]).abs() < 1e-12);
        // with the data-driven bias units fire, so two directions see different losses
        assert!((loss[0].y[0] - loss[1].y[0]).abs() > 1e-12);
        assert!(figure1_lines(64, "theorem", &[0.1], &ts, 100, 1, 2).is_ok());
        assert!(figure1_lines(64, "median", &[0.1], &ts, 100, 1, 2).is_err());
    }

    /// Theorem rows: one per (case, δ), rates in [0, 1].
    #[test]
    fn theorem_rows_per_case_and_delta() {
        let su = setup(64, 0.1, 200);
        let inst = su.sample(1).unwrap();
        let m1k = su.m1() * su.k() as f64;
        let df = theorem_rows(&[("small", inst, m1k)], &[0.0, 0.1], 2).unwrap();
        assert_eq!(df.height(), 2);
        let r = crate::table::column_nan(&df, "m_support_recovery").unwrap();
        assert!(r.iter().all(|v| (0.0..=1.0).contains(v)), "{r:?}");
    }
}
