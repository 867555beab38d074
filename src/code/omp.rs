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

use super::batch::{SignalOut, argmax_at, axpy_neg, gemv_rows_neg, max_score, per_signal};
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
    z: Vec<f64>,    // z = L⁻¹ α⁰_I
    w: Vec<f64>,    // W = G[:, I] L⁻ᵀ, column j at w[j m..(j + 1) m]
    x: Vec<f64>,
    support: Vec<usize>,
    in_support: Vec<bool>,
    cols: Vec<usize>, // 0..kmax (the column indices of W for the row kernel)
}

impl Scratch {
    fn new(m: usize, kmax: usize) -> Self {
        Scratch {
            alpha: vec![0.0; m],
            chol: vec![0.0; kmax * kmax],
            z: vec![0.0; kmax],
            w: vec![0.0; m * kmax],
            x: Vec::with_capacity(kmax),
            support: Vec::with_capacity(kmax),
            in_support: vec![false; m],
            cols: (0..kmax).collect(),
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
///
/// Batch-OMP in its Gram–Schmidt form: with `L` the Cholesky factor of `G_II`, keep
/// `W = G[:, I] L⁻ᵀ` (the correlations of the atoms with the orthonormalized support) and
/// `z = L⁻¹ α⁰_I`. Adding atom i: the new row of L is `W[i, :]` (so no triangular solve), its
/// diagonal `d = √(G_ii − ‖W[i, :]‖²)`, `z_s = α[i] / d` (forward substitution is prefix-stable),
/// the new column `W[:, s] = (G[:, i] − W w) / d`, and `α ← α − z_s W[:, s]`,
/// `‖r‖² ← ‖r‖² − z_s²` — the same O(k m) per step as recomputing `α⁰ − G[:, I] x_I`, but reading
/// the small, cache-resident W instead of k rows of G, and nothing after the last atom. `x` comes
/// from one back substitution `Lᵀ x = z` at the end.
#[inline(always)]
fn omp_one(p: &Problem<'_>, sc: &mut Scratch, alpha0: &[f64], yy: f64) -> (bool, f64) {
    let (m, kmax, g) = (p.m, p.kmax, p.g);
    let Scratch {
        alpha,
        chol,
        z,
        w,
        x,
        support,
        in_support,
        cols,
    } = sc;
    alpha.copy_from_slice(alpha0);
    support.clear();
    x.clear();
    let mut err2 = yy;
    let mut premature = false;
    let floor = 1e-14 * yy.sqrt();
    let mut best = max_score(alpha, p.inv_norm);
    for s in 0..kmax {
        if let OmpStop::Residual(eps) = p.stop
            && err2 <= eps * eps
        {
            break;
        }
        // argmax over atoms not in the support (their α is ~0 anyway; excluded for robustness)
        let Some(i) = argmax_at(alpha, p.inv_norm, best, in_support, floor) else {
            break; // residual orthogonal to every remaining atom
        };
        // the new row of L: W[i, 0..s]
        let row = &mut chol[s * kmax..s * kmax + s + 1];
        let mut ww = 0.0;
        for j in 0..s {
            let v = w[j * m + i];
            row[j] = v;
            ww += v * v;
        }
        let d2 = p.diag[i] - ww;
        if d2 <= 1e-12 * p.diag[i] {
            premature = true;
            break;
        }
        let d = d2.sqrt();
        row[s] = d;
        let zs = alpha[i] / d;
        z[s] = zs;
        err2 -= zs * zs;
        support.push(i);
        in_support[i] = true;
        if s + 1 == kmax {
            break; // α is not needed after the last atom
        }
        // W[:, s] = (G[i, :] − Σ_j W[:, j] L[s, j]) / d;  α −= z_s W[:, s]
        let (prev, rest) = w.split_at_mut(s * m);
        let col = &mut rest[..m];
        gemv_rows_neg(col, &g[i * m..(i + 1) * m], prev, m, &cols[..s], &row[..s]);
        let inv_d = 1.0 / d;
        col.iter_mut().for_each(|c| *c *= inv_d);
        axpy_neg(alpha, zs, col);
        best = max_score(alpha, p.inv_norm);
    }
    // Lᵀ x = z
    let k = support.len();
    x.resize(k, 0.0);
    for r in (0..k).rev() {
        let mut v = z[r];
        for c in r + 1..k {
            v -= chol[c * kmax + r] * x[c];
        }
        x[r] = v / chol[r * kmax + r];
    }
    for &j in support.iter() {
        in_support[j] = false;
    }
    // the error by the running update (‖y‖² − ‖z‖²), as the Cholesky form's ‖y‖² − x_Iᵀα⁰_I
    (premature, err2.max(0.0))
}

/// [`omp_one`] compiled for AVX2 + FMA (selected at run time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn omp_one_avx2(p: &Problem<'_>, sc: &mut Scratch, alpha0: &[f64], yy: f64) -> (bool, f64) {
    omp_one(p, sc, alpha0, yy)
}

/// [`omp_one`] compiled for AVX-512 (selected at run time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn omp_one_avx512(p: &Problem<'_>, sc: &mut Scratch, alpha0: &[f64], yy: f64) -> (bool, f64) {
    omp_one(p, sc, alpha0, yy)
}

fn omp_dispatch(p: &Problem<'_>, sc: &mut Scratch, alpha0: &[f64], yy: f64) -> (bool, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { omp_one_avx512(p, sc, alpha0, yy) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::batch::has_avx2_fma() {
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
                let mut finite = true;
                for (&i, &v) in sc.support.iter().zip(&sc.x) {
                    finite &= v.is_finite();
                    sink.push(i, v);
                }
                SignalOut {
                    steps: sc.support.len(),
                    ok: !premature,
                    // non-finite codes make the objective NaN (checked once below, not by a pass
                    // over the whole m × N matrix)
                    objective: if finite { 0.5 * r2 } else { f64::NAN },
                }
            },
        );
        let (x, iters, premature, obj) =
            (batch.codes, batch.steps_max, batch.not_ok, batch.objective);
        let termination = if obj.is_finite() {
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
