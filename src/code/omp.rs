//! Orthogonal Matching Pursuit as Batch-OMP with progressive Cholesky updates.
//!
//! Per signal y: $\min_x \|y - Ax\|_2$ s.t. $\|x\|_0 \le k$ ([`OmpStop::Sparsity`]) or
//! $\min \|x\|_0$ s.t. $\|y - Ax\|_2 \le \varepsilon$ ([`OmpStop::Residual`]) — an enum, so the two
//! modes cannot be confused (scikit-learn lets `tol` silently override `n_nonzero_coefs`).
//!
//! Batch-OMP (Rubinstein, Zibulevsky, Elad 2008, Algorithm 3 / §4) works on $G = A^\top A$ and
//! $\alpha^0 = A^\top y$ only: select $i = \arg\max |\alpha_i|/\|a_i\|$; extend the Cholesky factor of
//! $G_{II}$ by one row ($w = L^{-1}G_{Ii}$, new diagonal $\sqrt{G_{ii} - \|w\|^2}$); solve
//! $LL^\top x_I = \alpha^0_I$; update $\alpha = \alpha^0 - G_{:,I}x_I$ and
//! $\|r\|^2 = \|y\|^2 - x_I^\top\alpha^0_I$. Cost per signal O(k m + k³) after the shared
//! $A^\top Y$ GEMM; signals run in parallel (rayon). A new diagonal below $10^{-12}G_{ii}$ means the
//! selected atom is linearly dependent on the support: the signal stops early and is counted in
//! [`super::CodeInfo::premature`] (scikit-learn only warns).
//!
//! ## References
//! * Pati, Rezaiifar, Krishnaprasad (1993), "Orthogonal matching pursuit", Asilomar.
//! * Rubinstein, Zibulevsky, Elad (2008), "Efficient implementation of the K-SVD algorithm using
//!   batch orthogonal matching pursuit", Technion CS-2008-08, Algorithm 3 (Batch-OMP).

use super::{CodeInfo, Encoding, SparseCoder, check_problem, per_signal_precompute};
use crate::error::{Result, ensure};
use crate::iter::{Criterion, Termination};
use ndarray::{Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;

/// When OMP stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OmpStop {
    /// After exactly k atoms (fewer only on linear dependence or a zero residual).
    Sparsity(usize),
    /// When ‖y − Ax‖₂ ≤ ε (at most min(n, m) atoms).
    Residual(f64),
}

/// Batch-OMP coder.
///
/// | Name | Default | Purpose | Range |
/// |---|---|---|---|
/// | `stop` | — | [`OmpStop`] | k ≤ min(n, m); ε ≥ 0 |
#[derive(Clone, Debug, PartialEq)]
pub struct Omp {
    /// Stop rule.
    pub stop: OmpStop,
}

impl Omp {
    /// k atoms per signal.
    pub fn with_sparsity(k: usize) -> Self {
        Omp {
            stop: OmpStop::Sparsity(k),
        }
    }
    /// Until the residual norm is ≤ ε.
    pub fn with_tolerance(eps: f64) -> Self {
        Omp {
            stop: OmpStop::Residual(eps),
        }
    }
    /// Validate against the dictionary shape.
    pub fn check(&self, n: usize, m: usize) -> Result<()> {
        match self.stop {
            OmpStop::Sparsity(k) => {
                ensure!(k >= 1, "sparsity", k, "k ≥ 1");
                ensure!(
                    k <= n && k <= m,
                    "sparsity",
                    k,
                    format!(
                        "k ≤ min(n, m) = {} (more atoms than dimensions are linearly dependent)",
                        n.min(m)
                    )
                );
            }
            OmpStop::Residual(eps) => {
                ensure!(eps.is_finite() && eps >= 0.0, "tolerance", eps, "ε ≥ 0")
            }
        }
        Ok(())
    }
}

/// Result for one signal.
struct One {
    support: Vec<usize>,
    values: Vec<f64>,
    premature: bool,
    residual2: f64,
}

fn omp_one(
    g: &Array2<f64>,
    alpha0: ArrayView1<'_, f64>,
    yy: f64,
    diag: &[f64],
    inv_norm: &[f64],
    stop: OmpStop,
    kmax: usize,
) -> One {
    let m = g.nrows();
    let mut alpha: Vec<f64> = alpha0.to_vec();
    let mut chol = vec![0.0; kmax * kmax]; // row-major lower triangle
    let mut support: Vec<usize> = Vec::with_capacity(kmax);
    let mut in_support = vec![false; m];
    let mut x: Vec<f64> = Vec::with_capacity(kmax);
    let mut tmp = vec![0.0; kmax];
    let mut err2 = yy;
    let mut premature = false;
    for s in 0..kmax {
        if let OmpStop::Residual(eps) = stop
            && err2 <= eps * eps
        {
            break;
        }
        let mut best = usize::MAX;
        let mut bv = 0.0;
        for i in 0..m {
            if !in_support[i] {
                let v = alpha[i].abs() * inv_norm[i];
                if v > bv {
                    bv = v;
                    best = i;
                }
            }
        }
        if best == usize::MAX || bv <= 1e-14 * yy.sqrt() {
            break; // residual orthogonal to every remaining atom
        }
        let i = best;
        if s == 0 {
            chol[0] = diag[i].sqrt();
        } else {
            // w = L⁻¹ G[I, i]
            let mut ww = 0.0;
            for r in 0..s {
                let mut v = g[(support[r], i)];
                for c in 0..r {
                    v -= chol[r * kmax + c] * tmp[c];
                }
                v /= chol[r * kmax + r];
                tmp[r] = v;
                ww += v * v;
            }
            let d = diag[i] - ww;
            if d <= 1e-12 * diag[i] {
                premature = true;
                break;
            }
            chol[s * kmax..s * kmax + s].copy_from_slice(&tmp[..s]);
            chol[s * kmax + s] = d.sqrt();
        }
        support.push(i);
        in_support[i] = true;
        let k = s + 1;
        // solve L z = α0_I, then Lᵀ x = z
        for r in 0..k {
            let mut v = alpha0[support[r]];
            for c in 0..r {
                v -= chol[r * kmax + c] * tmp[c];
            }
            tmp[r] = v / chol[r * kmax + r];
        }
        x.clear();
        x.resize(k, 0.0);
        for r in (0..k).rev() {
            let mut v = tmp[r];
            for c in r + 1..k {
                v -= chol[c * kmax + r] * x[c];
            }
            x[r] = v / chol[r * kmax + r];
        }
        // α = α0 − G[:, I] x_I (G symmetric: rows of G are contiguous)
        alpha.copy_from_slice(alpha0.as_slice().unwrap_or(&alpha0.to_vec()));
        for (t, &j) in support.iter().enumerate() {
            let row = g.row(j);
            let xt = x[t];
            for (a, gv) in alpha.iter_mut().zip(row.iter()) {
                *a -= xt * gv;
            }
        }
        err2 = yy
            - support
                .iter()
                .zip(&x)
                .map(|(&j, &v)| v * alpha0[j])
                .sum::<f64>();
    }
    One {
        support,
        values: x,
        premature,
        residual2: err2.max(0.0),
    }
}

impl SparseCoder for Omp {
    fn name(&self) -> String {
        match self.stop {
            OmpStop::Sparsity(k) => format!("omp[k={k}]"),
            OmpStop::Residual(e) => format!("omp[eps={e}]"),
        }
    }
    fn encode(&self, dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Encoding> {
        let t0 = std::time::Instant::now();
        let diag = check_problem(dict, y)?;
        let (n, m) = dict.dim();
        self.check(n, m)?;
        let kmax = match self.stop {
            OmpStop::Sparsity(k) => k,
            OmpStop::Residual(_) => n.min(m),
        };
        let (gram, at) = per_signal_precompute(dict, y);
        let yy = y.map(|v| v * v).sum_axis(ndarray::Axis(0));
        let inv_norm: Vec<f64> = diag.iter().map(|d| 1.0 / d.sqrt()).collect();
        let nn = y.ncols();
        let ones: Vec<One> = (0..nn)
            .into_par_iter()
            .map(|j| omp_one(&gram, at.row(j), yy[j], &diag, &inv_norm, self.stop, kmax))
            .collect();
        let mut x = Array2::zeros((m, nn));
        let mut premature = 0;
        let mut obj = 0.0;
        let mut iters = 0;
        for (j, o) in ones.iter().enumerate() {
            for (&i, &v) in o.support.iter().zip(&o.values) {
                x[(i, j)] = v;
            }
            premature += o.premature as usize;
            obj += 0.5 * o.residual2;
            iters = iters.max(o.support.len());
        }
        let termination = if x.iter().all(|v| v.is_finite()) {
            Termination::Converged(Criterion::Solver("omp_stop"))
        } else {
            Termination::NonFinite { iter: iters }
        };
        Ok(Encoding {
            codes: x,
            info: CodeInfo {
                iters,
                termination,
                objective: obj,
                elapsed: t0.elapsed().as_secs_f64(),
                premature,
            },
        })
    }
}
