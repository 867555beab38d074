//! Coordinate-descent Lasso on the Gram matrix ("covariance updates"), parallel over signals.
//!
//! Per signal: $\min_x \tfrac12\|y - Ax\|^2 + \lambda\|x\|_1$ (or with $x\ge0$). With the correlation
//! $c = A^\top y - Gx$ kept up to date, coordinate i moves to
//! $x_i^+ = \mathrm{soft}(x_i + c_i/G_{ii},\ \lambda/G_{ii})$ and $c \mathrel{-}= (x_i^+ - x_i)\,G_{i,:}$
//! — O(m) per *changed* coordinate, O(1) per unchanged one. Sweeps alternate between the full
//! coordinate set and the active set (Friedman, Hastie, Tibshirani 2010, §2.6 "active set
//! convergence"); the solver stops when a full sweep moves no coordinate by more than
//! `tol · max(1, ‖x‖_∞)`.
//!
//! ## References
//! * Friedman, Hastie, Höfling, Tibshirani (2007), "Pathwise coordinate optimization", Ann. Appl.
//!   Stat. 1(2), eq. (9).
//! * Friedman, Hastie, Tibshirani (2010), "Regularization paths for generalized linear models via
//!   coordinate descent", J. Stat. Softw. 33(1), §2.2 (covariance updates), §2.6.

use super::batch::{SignalOut, axpy_neg, lasso_objective_gram, per_signal};
use super::{CodeInfo, CoderSpec, Encoding, LAMBDA, SparseCoder, check_problem, soft, soft_nonneg};

/// `cd`: cyclic coordinate descent for the Lasso.
pub const SPEC: CoderSpec = CoderSpec {
    name: "cd",
    family: crate::spec::Family::Coder,
    summary: "cyclic coordinate descent for the Lasso (Friedman et al. 2007) on the Gram matrix",
    params: CoordinateDescent::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(CoordinateDescent::from_params(p, ctx)?)),
};
use crate::error::Result;
use crate::iter::{Criterion, Termination};
use crate::linalg;
use ndarray::ArrayView2;

crate::declare_method! {
    /// Coordinate-descent Lasso coder (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct CoordinateDescent {
        given {
            /// ℓ1 penalty λ
            lambda: f64 = [LAMBDA] => |p, _ctx| p.f64("lambda")?;
        }
        params {
            /// non-negative codes (x ≥ 0)
            nonneg: bool = param(Bool, false);
            /// cap on full + active-set sweeps per signal
            max_sweeps: usize = param(Count, 1000);
            /// largest coordinate move in a full sweep, relative to max(1, ‖x‖∞)
            tol: f64 = param(NonNegative, 1e-12);
        }
    }
}

impl CoordinateDescent {
    /// Validate.
    ///
    /// # Errors
    /// A parameter outside its declared range.
    pub fn check(&self) -> Result<()> {
        self.check_params()
    }
}

/// Per-worker scratch.
struct Scratch {
    x: Vec<f64>,
    c: Vec<f64>,
    active: Vec<usize>,
    vals: Vec<f64>,
}

/// One signal (b = Aᵀy): leaves x in `sc.x`; returns (sweeps, converged).
#[allow(clippy::too_many_arguments)]
fn cd_one(
    g: &[f64],
    diag: &[f64],
    b: &[f64],
    lambda: f64,
    nonneg: bool,
    tol: f64,
    max_sweeps: usize,
    sc: &mut Scratch,
) -> (usize, bool) {
    let m = diag.len();
    let Scratch { x, c, active, .. } = sc;
    x.iter_mut().for_each(|v| *v = 0.0);
    c.copy_from_slice(b);
    let mut sweeps = 0;
    let update = |i: usize, x: &mut [f64], c: &mut [f64]| -> f64 {
        let d = diag[i];
        let z = x[i] + c[i] / d;
        let new = if nonneg {
            soft_nonneg(z, lambda / d)
        } else {
            soft(z, lambda / d)
        };
        let delta = new - x[i];
        if delta != 0.0 {
            x[i] = new;
            axpy_neg(c, delta, &g[i * m..(i + 1) * m]);
        }
        delta.abs()
    };
    loop {
        // full sweep
        sweeps += 1;
        let mut maxd: f64 = 0.0;
        for i in 0..m {
            maxd = maxd.max(update(i, x, c));
        }
        let scale = x.iter().fold(1.0f64, |a, v| a.max(v.abs()));
        if maxd <= tol * scale || sweeps >= max_sweeps {
            return (sweeps, maxd <= tol * scale);
        }
        // active-set sweeps until they stall
        active.clear();
        active.extend((0..m).filter(|&i| x[i] != 0.0));
        while sweeps < max_sweeps {
            sweeps += 1;
            let mut md: f64 = 0.0;
            for &i in active.iter() {
                md = md.max(update(i, x, c));
            }
            let scale = x.iter().fold(1.0f64, |a, v| a.max(v.abs()));
            if md <= tol * scale {
                break;
            }
        }
    }
}

impl SparseCoder for CoordinateDescent {
    fn name(&self) -> String {
        format!(
            "cd{}[lambda={}]",
            if self.nonneg { "_nonneg" } else { "" },
            self.lambda
        )
    }
    fn encode(&self, dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Encoding> {
        let t0 = std::time::Instant::now();
        self.check()?;
        check_problem(dict, y)?;
        let m = dict.ncols();
        let gram = linalg::gram(dict, linalg::par());
        let g = gram.as_slice().expect("fresh Gram is contiguous");
        let diag: Vec<f64> = (0..m).map(|i| g[i * m + i]).collect();
        let batch = per_signal(
            dict,
            y,
            || Scratch {
                x: vec![0.0; m],
                c: vec![0.0; m],
                active: Vec::with_capacity(m),
                vals: Vec::with_capacity(m),
            },
            |sc, _, b, yy, sink| {
                let (sweeps, conv) = cd_one(
                    g,
                    &diag,
                    b,
                    self.lambda,
                    self.nonneg,
                    self.tol,
                    self.max_sweeps,
                    sc,
                );
                sc.active.clear();
                sc.vals.clear();
                for (i, &v) in sc.x.iter().enumerate() {
                    if v != 0.0 {
                        sc.active.push(i);
                        sc.vals.push(v);
                        sink.push(i, v);
                    }
                }
                let objective =
                    lasso_objective_gram(g, m, b, yy, &sc.active, &sc.vals, self.lambda);
                SignalOut {
                    steps: sweeps,
                    ok: conv,
                    objective,
                }
            },
        );
        let (x, iters, all_conv, objective) = (
            batch.codes,
            batch.steps_max,
            batch.not_ok == 0,
            batch.objective,
        );
        let termination = if !objective.is_finite() {
            Termination::NonFinite { iter: iters }
        } else if all_conv {
            Termination::Converged(Criterion::Solver("max_coordinate_change"))
        } else {
            Termination::MaxIters
        };
        Ok(Encoding {
            codes: x,
            info: CodeInfo {
                iters,
                termination,
                objective,
                elapsed: t0.elapsed().as_secs_f64(),
                premature: 0,
            },
        })
    }
}
