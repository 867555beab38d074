//! The analysis of notebook 02 (sparse coding), as named functions: the Lasso solvers' convergence
//! curves against F*, and exact support recovery of OMP and the Lasso against k per dictionary
//! family with the coherence guarantee k < (1 + 1/μ)/2 (Tropp 2004, Thm A / Cor. 3.6).

use super::Series2;
use crate::code::{CoordinateDescent, LarsLasso, Omp, Pgm, SparseCoder};
use crate::error::{Error, Result};
use crate::generate::Values;
use crate::instance::{DictKind, InstanceSpec};
use crate::iter::{Schedule, Trace};
use crate::table::{Point, Row, Value, column_f64, column_nan, filter_eq};
use ndarray::ArrayView2;
use polars::prelude::DataFrame;

/// The Lasso's F − F* of four solvers, against iterations and against wall time.
#[derive(Clone, Debug)]
pub struct LassoCurves {
    /// ISTA, FISTA (restart), CD (sweeps), LARS (breakpoints): F − F* (floored at 1e-16) against
    /// iterations / sweeps / breakpoints.
    pub by_iter: Vec<Series2>,
    /// The same against seconds.
    pub by_time: Vec<Series2>,
}

/// ISTA and FISTA traced for `max_iters` iterations (log-spaced records), CD and LARS rerun with a
/// cap on their sweeps / breakpoints (each call timed), all at `lambda` on `dict`, `y`; the gap
/// to `f_star` (the best objective any solver reaches) floored at 1e-16.
///
/// # Errors
/// As the coders (shapes, non-finite input, λ ≤ 0).
pub fn lasso_curves(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    lambda: f64,
    f_star: f64,
    max_iters: usize,
) -> Result<LassoCurves> {
    let gap = |f: f64| (f - f_star).max(1e-16);
    let (mut by_iter, mut by_time) = (Vec::new(), Vec::new());
    for (name, coder) in [
        ("ISTA", Pgm::ista(lambda)),
        ("FISTA (restart)", Pgm::fista(lambda)),
    ] {
        let mut trace = Trace::new();
        coder.max_iters(max_iters).tol(0.0).encode_observed(
            dict,
            y,
            None,
            Schedule::LogSpaced(10),
            &mut trace,
        )?;
        let df = trace.to_frame()?;
        let col = |c: &str| -> Result<Vec<f64>> {
            Ok(column_f64(&df, c)?.into_iter().flatten().collect())
        };
        let (it, t) = (col("iter")?, col("time_s")?);
        let g: Vec<f64> = col("objective")?.into_iter().map(gap).collect();
        // the record at iteration 0 (the zero code) is left out of the log-log chart
        by_iter.push(Series2::new(name, it[1..].to_vec(), g[1..].to_vec()));
        by_time.push(Series2::new(name, t[1..].to_vec(), g[1..].to_vec()));
    }
    let caps: [(&str, Vec<usize>); 2] = [
        ("CD (sweeps)", vec![1, 2, 3, 4, 6, 8, 12, 16, 24, 32]),
        (
            "LARS (breakpoints)",
            vec![1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20],
        ),
    ];
    for (name, caps) in caps {
        let (mut xs, mut ts, mut gs) = (vec![], vec![], vec![]);
        for &c in &caps {
            let enc = if name.starts_with("CD") {
                CoordinateDescent {
                    max_sweeps: c,
                    ..CoordinateDescent::new(lambda)
                }
                .encode(dict, y)?
            } else {
                LarsLasso {
                    max_steps: c,
                    ..LarsLasso::new(lambda)
                }
                .encode(dict, y)?
            };
            xs.push(c as f64);
            ts.push(enc.info.elapsed);
            gs.push(gap(enc.info.objective));
        }
        by_iter.push(Series2::new(name, xs, gs.clone()));
        by_time.push(Series2::new(name, ts, gs));
    }
    Ok(LassoCurves { by_iter, by_time })
}

/// The first point of `c` with y ≤ `tol`, as (x, y).
pub fn first_below(c: &Series2, tol: f64) -> Option<(f64, f64)> {
    c.y.iter().position(|g| *g <= tol).map(|i| (c.x[i], c.y[i]))
}

/// The dictionary families of the support-recovery grid, by the word of its `dictionary` axis:
/// `gaussian`, `coherence_0.3` (target μ = 0.3), `identity_hadamard` ([I | H], μ = 1/√n).
///
/// # Errors
/// Another word.
pub fn family(word: &str) -> Result<DictKind> {
    match word {
        "gaussian" => Ok(DictKind::Gaussian),
        "coherence_0.3" => Ok(DictKind::Coherence { target: 0.3 }),
        "identity_hadamard" => Ok(DictKind::IdentityHadamard),
        other => Err(Error::invalid(
            "dictionary",
            other,
            "gaussian, coherence_0.3 or identity_hadamard",
        )),
    }
}

/// One item of the support-recovery grid (axes `dictionary`, `k`): an n × m dictionary of the
/// family, 100 noiseless signals with k non-zeros ±U[1, 2]; OMP with k atoms and the Lasso (LARS)
/// at λ = `lasso_lambda` with its non-zeros as the support. Two rows (`omp`,
/// `lasso_lars[lambda=…]`) with the dictionary's `coherence`, `exact_support` (the fraction of
/// signals whose support is recovered exactly) and `f1`.
///
/// # Errors
/// A point without the axes, an invalid instance, the coders' errors.
pub fn support_item(
    point: &Point,
    seed: u64,
    n: usize,
    m: usize,
    lasso_lambda: f64,
) -> Result<Vec<Row>> {
    let k = point.usize("k")?;
    let inst = InstanceSpec::new(n, m, 100)
        .sparsity(k)
        .dictionary(family(point.str("dictionary")?)?)
        .values(Values::SignedUniform { a: 1.0, b: 2.0 })
        .sample(seed)?;
    let mu = inst.coherence();
    let omp = Omp::with_sparsity(k).encode(inst.dict.view(), inst.y.view())?;
    let lasso = LarsLasso::new(lasso_lambda).encode(inst.dict.view(), inst.y.view())?;
    let mut rows = Vec::new();
    for (name, codes) in [
        ("omp".to_string(), omp.codes),
        (format!("lasso_lars[lambda={lasso_lambda}]"), lasso.codes),
    ] {
        let s = crate::metrics::support_recovery(inst.codes.view(), codes.view(), 1e-9)?;
        rows.push(
            Row::new(name)
                .metric("coherence", mu)
                .metric("exact_support", s.support_exact)
                .metric("f1", s.support_f1),
        );
    }
    Ok(rows)
}

/// Per family, the coherence guarantee of a support-recovery summary (one row per
/// (`p_inst_dictionary`, `method`, `p_inst_k`) with the mean `m_coherence` and `m_exact_support`):
/// (family, mean μ, k_bound = (1 + 1/μ)/2), in the order of `families`.
///
/// # Errors
/// Missing columns; a family without rows.
pub fn guarantees(summary: &DataFrame, families: &[&str]) -> Result<Vec<(String, f64, f64)>> {
    families
        .iter()
        .map(|fam| {
            let sub = filter_eq(summary, &[("p_inst_dictionary", Value::from(*fam))])?;
            let mu: Vec<f64> = column_nan(&sub, "m_coherence")?;
            if mu.is_empty() {
                return Err(Error::invalid(
                    "family",
                    *fam,
                    "a family with rows in the summary",
                ));
            }
            let mean = mu.iter().sum::<f64>() / mu.len() as f64;
            Ok((fam.to_string(), mean, 0.5 * (1.0 + 1.0 / mean)))
        })
        .collect()
}

/// The largest k at which the rows of `sub` (columns `p_inst_k`, `m_exact_support`) recover at
/// least `level` of the supports exactly (0 when none does).
///
/// # Errors
/// Missing columns.
pub fn largest_k_at(sub: &DataFrame, level: f64) -> Result<f64> {
    let (k, rate) = (
        column_nan(sub, "p_inst_k")?,
        column_nan(sub, "m_exact_support")?,
    );
    Ok(k.iter()
        .zip(&rate)
        .filter(|(_, r)| **r >= level)
        .map(|(k, _)| *k)
        .fold(0.0f64, f64::max))
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values by construction (record 0, k from a grid)
mod tests {
    use super::*;

    /// The four solvers' curves on a small problem: every gap non-negative, the last FISTA and LARS
    /// gaps at the floor (both solve the problem), ISTA's gap never below FISTA's final one before
    /// FISTA's iteration count.
    #[test]
    fn lasso_curves_reach_f_star() {
        let inst = InstanceSpec::new(16, 24, 40).sparsity(2).sample(3).unwrap();
        let lambda = 0.1 * crate::code::lambda_max(inst.dict.view(), inst.y.view()).unwrap();
        let f_star = LarsLasso::new(lambda)
            .encode(inst.dict.view(), inst.y.view())
            .unwrap()
            .info
            .objective;
        let c = lasso_curves(inst.dict.view(), inst.y.view(), lambda, f_star, 3000).unwrap();
        let names: Vec<&str> = c.by_iter.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ISTA",
                "FISTA (restart)",
                "CD (sweeps)",
                "LARS (breakpoints)"
            ]
        );
        assert!(c.by_iter.iter().all(|s| s.y.iter().all(|g| *g >= 1e-16)));
        let tol = 1e-9 * f_star;
        assert!(
            first_below(&c.by_iter[1], tol).is_some(),
            "FISTA: {:?}",
            c.by_iter[1].y
        );
        assert!(
            first_below(&c.by_iter[3], tol).is_some(),
            "LARS: {:?}",
            c.by_iter[3].y
        );
        // the time axis carries the same gaps as the iteration axis
        for (a, b) in c.by_iter.iter().zip(&c.by_time) {
            assert_eq!(a.y, b.y);
        }
    }

    /// The guarantee by hand: μ = 0.25 gives k < (1 + 4)/2 = 2.5; the largest k at ≥ 95 %.
    #[test]
    fn guarantee_and_transition_by_hand() {
        use polars::prelude::Column;
        let df = DataFrame::new(
            3,
            vec![
                Column::new("p_inst_dictionary".into(), ["gaussian"; 3]),
                Column::new("p_inst_k".into(), [1.0, 2.0, 3.0]),
                Column::new("m_coherence".into(), [0.25; 3]),
                Column::new("m_exact_support".into(), [1.0, 0.97, 0.5]),
            ],
        )
        .unwrap();
        let g = guarantees(&df, &["gaussian"]).unwrap();
        assert_eq!(g, vec![("gaussian".to_string(), 0.25, 2.5)]);
        assert_eq!(largest_k_at(&df, 0.95).unwrap(), 2.0);
        assert_eq!(largest_k_at(&df, 0.999).unwrap(), 1.0);
        assert!(guarantees(&df, &["tight"]).is_err());
        assert!(family("tight").is_err());
    }

    /// One grid item: two rows, OMP exact on an orthonormal-like easy case (k = 1).
    #[test]
    fn a_support_item_codes_with_omp_and_the_lasso() {
        let p = Point(vec![
            ("dictionary".into(), Value::from("gaussian")),
            ("k".into(), Value::from(1i64)),
        ]);
        let rows = support_item(&p, 5, 32, 48, 0.05).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].method, "lasso_lars[lambda=0.05]");
        let exact = rows[0]
            .metrics
            .iter()
            .find(|m| m.0 == "exact_support")
            .unwrap()
            .1;
        assert!(exact >= 0.95, "{exact}");
    }
}
