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

use super::batch::{SignalOut, argmax_abs, gemv_rows_neg, per_signal};
use super::{CodeInfo, Encoding, SparseCoder, check_problem};
use crate::error::{Result, ensure};
use crate::iter::{Criterion, Termination};
use crate::linalg;
use ndarray::ArrayView2;

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

/// Per-worker scratch (no allocation per signal).
struct Scratch {
    alpha: Vec<f64>,
    chol: Vec<f64>, // row-major lower triangle, kmax × kmax
    tmp: Vec<f64>,
    x: Vec<f64>,
    support: Vec<usize>,
    in_support: Vec<bool>,
}

impl Scratch {
    fn new(m: usize, kmax: usize) -> Self {
        Scratch {
            alpha: vec![0.0; m],
            chol: vec![0.0; kmax * kmax],
            tmp: vec![0.0; kmax],
            x: Vec::with_capacity(kmax),
            support: Vec::with_capacity(kmax),
            in_support: vec![false; m],
        }
    }
}

/// Shared read-only inputs.
struct Problem<'a> {
    g: &'a [f64], // m × m row-major
    m: usize,
    diag: &'a [f64],
    inv_norm: Option<&'a [f64]>, // None when every atom has unit norm
    stop: OmpStop,
    kmax: usize,
}

/// One signal: fills `sc.support`/`sc.x`; returns (premature, ‖r‖²).
#[inline(always)]
fn omp_one(p: &Problem<'_>, sc: &mut Scratch, alpha0: &[f64], yy: f64) -> (bool, f64) {
    let (m, kmax, g) = (p.m, p.kmax, p.g);
    let Scratch {
        alpha,
        chol,
        tmp,
        x,
        support,
        in_support,
    } = sc;
    alpha.copy_from_slice(alpha0);
    support.clear();
    x.clear();
    let mut err2 = yy;
    let mut premature = false;
    let floor = 1e-14 * yy.sqrt();
    for s in 0..kmax {
        if let OmpStop::Residual(eps) = p.stop
            && err2 <= eps * eps
        {
            break;
        }
        // argmax over atoms not in the support (their α is ~0 anyway; excluded for robustness)
        let Some(best) = argmax_abs(alpha, p.inv_norm, in_support, floor) else {
            break; // residual orthogonal to every remaining atom
        };
        let i = best;
        if s == 0 {
            chol[0] = p.diag[i].sqrt();
        } else {
            // w = L⁻¹ G[I, i]
            let gi = &g[i * m..(i + 1) * m];
            let mut ww = 0.0;
            for r in 0..s {
                let lr = &chol[r * kmax..r * kmax + r + 1];
                let mut v = gi[support[r]];
                for c in 0..r {
                    v -= lr[c] * tmp[c];
                }
                v /= lr[r];
                tmp[r] = v;
                ww += v * v;
            }
            let d = p.diag[i] - ww;
            if d <= 1e-12 * p.diag[i] {
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
            let lr = &chol[r * kmax..r * kmax + r + 1];
            let mut v = alpha0[support[r]];
            for c in 0..r {
                v -= lr[c] * tmp[c];
            }
            tmp[r] = v / lr[r];
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
        gemv_rows_neg(alpha, alpha0, g, m, support, x);
        err2 = yy
            - support
                .iter()
                .zip(x.iter())
                .map(|(&j, &v)| v * alpha0[j])
                .sum::<f64>();
    }
    for &j in support.iter() {
        in_support[j] = false;
    }
    (premature, err2.max(0.0))
}

/// [`omp_one`] compiled for AVX2 + FMA (selected at run time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn omp_one_avx2(p: &Problem<'_>, sc: &mut Scratch, alpha0: &[f64], yy: f64) -> (bool, f64) {
    omp_one(p, sc, alpha0, yy)
}

fn omp_dispatch(p: &Problem<'_>, sc: &mut Scratch, alpha0: &[f64], yy: f64) -> (bool, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { omp_one_avx2(p, sc, alpha0, yy) };
    }
    omp_one(p, sc, alpha0, yy)
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
        let gram = linalg::gram(dict, linalg::par());
        let unit = diag.iter().all(|d| (d - 1.0).abs() <= 1e-12);
        let inv_norm: Vec<f64> = diag.iter().map(|d| 1.0 / d.sqrt()).collect();
        let gs = gram.as_slice().expect("fresh Gram is contiguous");
        let p = Problem {
            g: gs,
            m,
            diag: &diag,
            inv_norm: (!unit).then_some(&inv_norm[..]),
            stop: self.stop,
            kmax,
        };
        let batch = per_signal(
            dict,
            y,
            || Scratch::new(m, kmax),
            |sc, _, b, yy, sink| {
                let (premature, r2) = omp_dispatch(&p, sc, b, yy);
                for (&i, &v) in sc.support.iter().zip(&sc.x) {
                    sink.push(i, v);
                }
                SignalOut {
                    steps: sc.support.len(),
                    ok: !premature,
                    objective: 0.5 * r2,
                }
            },
        );
        let (x, iters, premature, obj) =
            (batch.codes, batch.steps_max, batch.not_ok, batch.objective);
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
