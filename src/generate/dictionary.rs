//! Dictionary generators: Gaussian, orthobases, unions of orthobases, unit-norm tight frames,
//! Steiner equiangular tight frames, coherence-targeted dictionaries and planted near-duplicates.
//!
//! All return an `n × m` array with unit-norm columns (atoms in columns). Everything here runs
//! sequentially (`Par::Seq`) so a seed gives the same bits on any thread count.
//!
//! # Coherence-targeted dictionaries
//!
//! With the Gram matrix $G = A^\top A$ and $\mu(A) = \max_{i \ne j} |G_{ij}|$, the Welch bound
//! $\mu \ge \mu_W = \sqrt{(m-n)/(n(m-1))}$ holds, and for $m > n(n+1)/2$ the orthoplex bound
//! $\mu \ge 1/\sqrt{n}$ (real case). [`coherence_targeted`] lowers $\mu$ to a target in two stages:
//!
//! 1. *p-norm continuation* (ours, default): from a unit-norm tight frame, Riemannian gradient
//!    descent on $\sum_{i\ne j} (|G_{ij}|/\mu)^p$ for $p = 4, 8, \dots, 256$ (a smooth surrogate of
//!    the max that tends to it as $p\to\infty$), keeping the iterate of lowest μ and stopping as soon
//!    as $\mu \le \mu_{target}$.
//!    Alternatively, *alternating projection* (Tropp, Dhillon, Heath, Strohmer, "Designing
//!    structured tight frames via an alternating projection method", IEEE Trans. IT 51(1), 2005,
//!    §V): clip the off-diagonal Gram entries to $[-\mu, \mu]$, set the diagonal to one, project
//!    onto the PSD matrices of rank $n$ (keep the top $n$ eigenpairs), factor and renormalise.
//!    On our grid the p-norm stage reaches lower μ (e.g. 1.14 × Welch vs 1.22 × at n=16, m=48).
//! 2. *Hinge polish* (ours): Riemannian gradient descent on the unit sphere of each column for
//!    $f(A) = \tfrac14 \sum_{i\ne j} \max(|G_{ij}| - t, 0)^2$, $t = 0.995\,\mu_{target}$, with the
//!    gradient $\nabla_{a_i} f = \sum_j \operatorname{sign}(G_{ij})\max(|G_{ij}|-t,0)\, a_j$ (one GEMM),
//!    an adaptive step (grow on success, halve and retry on increase), stopped as soon as
//!    $\mu(A) \le \mu_{target}$ — so the achieved coherence sits just below the target, not far below.
//!
//! Above the coherence of a Gaussian draw, coherence is *raised* by planting near-duplicate atom
//! pairs at angle $\arccos \mu$ ([`plant_near_duplicates`]).
//!
//! # Steiner ETFs
//! Fickus, Mixon, Tremain, "Steiner equiangular tight frames", Linear Algebra Appl. 436 (2012),
//! Theorem 1, with the BIBD of all pairs of `v` points and a Sylvester Hadamard matrix of order `v`.

use crate::error::{Result, ensure};
use crate::linalg::{self, Par};
use crate::metrics::coherence::{coherence, welch_bound};
use ndarray::{Array2, ArrayView2, Axis, s};
use rand::Rng;
use rand::seq::index::sample;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Scale every non-zero column to unit ℓ2 norm, leaving zero columns as they are (for learned
/// dictionaries, where a dead atom is a result, not an error; [`normalize_columns`] refuses it).
pub fn normalize_nonzero_columns(a: &mut Array2<f64>) {
    for mut c in a.columns_mut() {
        let nc = c.dot(&c).sqrt();
        if nc > 0.0 {
            c /= nc;
        }
    }
}

/// Normalise every column to unit ℓ2 norm.
///
/// # Errors
/// [`crate::error::Error::InvalidParameter`] if a column has (near-)zero norm.
pub fn normalize_columns(a: &mut Array2<f64>) -> Result<()> {
    for (j, mut col) in a.axis_iter_mut(Axis(1)).enumerate() {
        let nrm = crate::linalg::norm2(col.view());
        ensure!(
            nrm > 0.0 && nrm.is_finite(),
            "dictionary",
            format!("column {j} has norm {nrm}"),
            "non-zero, finite atoms (remove or resample zero columns)"
        );
        col.mapv_inplace(|x| x / nrm);
    }
    Ok(())
}

fn check_dims(n: usize, m: usize) -> Result<()> {
    ensure!(n >= 1, "dim", n, "n ≥ 1");
    ensure!(m >= 1, "n_atoms", m, "m ≥ 1");
    Ok(())
}

/// A standard Gaussian `n × m` matrix (row-major, drawn column by column).
pub fn gaussian_matrix(n: usize, m: usize, rng: &mut impl Rng) -> Array2<f64> {
    let mut a = Array2::zeros((n, m));
    for j in 0..m {
        for i in 0..n {
            a[(i, j)] = rng.sample(StandardNormal);
        }
    }
    a
}

/// A known corruption of a dictionary, for watching the recovery metrics respond:
/// `D = normalize(A + ε·G)` with G standard Gaussian, then a uniformly random permutation of the
/// columns and a random sign per column. Permutation-and-sign-invariant metrics see only ε;
/// identity-matched ones (`fro_dist`) also see the scrambling.
///
/// # Errors
/// `eps` negative or not finite; a column of `A + ε·G` that is zero.
pub fn scrambled_perturbation(
    truth: ArrayView2<'_, f64>,
    eps: f64,
    rng: &mut impl Rng,
) -> Result<Array2<f64>> {
    ensure!(eps.is_finite() && eps >= 0.0, "eps", eps, "a finite ε ≥ 0");
    let (n, m) = truth.dim();
    let mut d = &truth + &(gaussian_matrix(n, m, rng) * eps);
    normalize_columns(&mut d)?;
    let perm = sample(rng, m, m).into_vec();
    let mut out = Array2::<f64>::zeros((n, m));
    for (j, &p) in perm.iter().enumerate() {
        let sign = if rng.random::<bool>() { -1.0 } else { 1.0 };
        out.column_mut(j).assign(&(&d.column(p) * sign));
    }
    Ok(out)
}

/// Gaussian dictionary with unit-norm columns (docs/protocols.md §1.8). `μ ≈ sqrt(4 log m / n)`.
pub fn gaussian_dictionary(n: usize, m: usize, rng: &mut impl Rng) -> Result<Array2<f64>> {
    check_dims(n, m)?;
    let mut a = gaussian_matrix(n, m, rng);
    normalize_columns(&mut a)?;
    Ok(a)
}

/// Haar-random orthonormal basis of R^n (modified Gram–Schmidt on a Gaussian matrix, which equals
/// QR with a positive diagonal of R and hence is Haar-distributed).
pub fn orthobasis(n: usize, rng: &mut impl Rng) -> Result<Array2<f64>> {
    check_dims(n, n)?;
    let mut q = gaussian_matrix(n, n, rng);
    for j in 0..n {
        for _pass in 0..2 {
            for i in 0..j {
                let (qi, mut qj) = q.multi_slice_mut((s![.., i], s![.., j]));
                let d = qi.dot(&qj);
                qj.scaled_add(-d, &qi);
            }
        }
        let mut qj = q.column_mut(j);
        let nrm = qj.dot(&qj).sqrt();
        qj.mapv_inplace(|x| x / nrm);
    }
    Ok(q)
}

/// Sylvester Hadamard matrix of order `n` (entries ±1, first row all ones).
///
/// # Errors
/// If `n` is not a power of two.
pub fn hadamard(n: usize) -> Result<Array2<f64>> {
    ensure!(
        n >= 1 && n.is_power_of_two(),
        "dim",
        n,
        "a power of two for a Sylvester Hadamard matrix (e.g. 64, 128)"
    );
    let mut h = Array2::from_elem((1, 1), 1.0);
    while h.nrows() < n {
        let k = h.nrows();
        let mut g = Array2::zeros((2 * k, 2 * k));
        g.slice_mut(s![..k, ..k]).assign(&h);
        g.slice_mut(s![..k, k..]).assign(&h);
        g.slice_mut(s![k.., ..k]).assign(&h);
        g.slice_mut(s![k.., k..]).assign(&(-&h));
        h = g;
    }
    Ok(h)
}

/// Orthonormal DCT-II basis: column `k` is the k-th cosine atom.
pub fn dct_ii(n: usize) -> Result<Array2<f64>> {
    check_dims(n, n)?;
    let nf = n as f64;
    Ok(Array2::from_shape_fn((n, n), |(i, k)| {
        let c = if k == 0 {
            (1.0 / nf).sqrt()
        } else {
            (2.0 / nf).sqrt()
        };
        c * (std::f64::consts::PI * (2.0 * i as f64 + 1.0) * k as f64 / (2.0 * nf)).cos()
    }))
}

/// `[I | H/√n]` (`n × 2n`), μ = 1/√n exactly. `n` must be a power of two.
pub fn identity_hadamard(n: usize) -> Result<Array2<f64>> {
    let h = hadamard(n)? / (n as f64).sqrt();
    Ok(ndarray::concatenate![Axis(1), Array2::eye(n), h])
}

/// `[I | DCT-II]` (`n × 2n`), μ = sqrt(2/n)·cos(π/(2n)) (not 1/√n).
pub fn identity_dct(n: usize) -> Result<Array2<f64>> {
    let d = dct_ii(n)?;
    Ok(ndarray::concatenate![Axis(1), Array2::eye(n), d])
}

/// Result of the tight-frame iteration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FrameReport {
    /// ‖AAᵀ − (m/n) I‖_F at exit.
    pub tightness_residual: f64,
    /// Iterations used.
    pub iters: usize,
}

/// Random unit-norm tight frame (docs/protocols.md §1.3): alternate the polar step `A ← √K·UVᵀ` with
/// column normalisation from a Gaussian start until ‖AAᵀ − K·I‖_F < `tol` (K = m/n).
///
/// # Errors
/// `m < n` (a tight frame needs at least `n` atoms).
pub fn unit_norm_tight_frame(
    n: usize,
    m: usize,
    tol: f64,
    max_iters: usize,
    rng: &mut impl Rng,
) -> Result<(Array2<f64>, FrameReport)> {
    check_dims(n, m)?;
    ensure!(
        m >= n,
        "n_atoms",
        m,
        format!("m ≥ n = {n} for a tight frame")
    );
    ensure!(tol > 0.0, "tol", tol, "tol > 0");
    let mut a = gaussian_dictionary(n, m, rng)?;
    let k = m as f64 / n as f64;
    let mut report = FrameReport {
        tightness_residual: f64::INFINITY,
        iters: 0,
    };
    for it in 0..=max_iters {
        let r = tightness_residual(a.view());
        report = FrameReport {
            tightness_residual: r,
            iters: it,
        };
        if r < tol || it == max_iters {
            break;
        }
        let mut p = linalg::polar(a.view(), Par::Seq)?;
        p *= k.sqrt();
        normalize_columns(&mut p)?;
        a = p;
    }
    Ok((a, report))
}

/// ‖AAᵀ − (m/n) I‖_F.
pub fn tightness_residual(a: ArrayView2<'_, f64>) -> f64 {
    let (n, m) = a.dim();
    let mut f = linalg::matmul_nt(a, a, Par::Seq);
    for i in 0..n {
        f[(i, i)] -= m as f64 / n as f64;
    }
    f.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Real Steiner ETF from the BIBD(v, 2, 1) of all pairs of `v` points and a Sylvester Hadamard
/// matrix of order `v` (docs/protocols.md §1.7): `n = v(v−1)/2`, `m = v²`, μ = 1/(v−1) = Welch bound.
/// Fixtures: v = 4 (6 × 16), v = 8 (28 × 64), v = 16 (120 × 256).
///
/// # Errors
/// If `v` is not a power of two ≥ 4 (no Sylvester Hadamard matrix of that order).
pub fn steiner_etf(v: usize) -> Result<Array2<f64>> {
    ensure!(
        v >= 4 && v.is_power_of_two(),
        "v",
        v,
        "a power of two ≥ 4 (4, 8, 16, …)"
    );
    let h = hadamard(v)?; // first row is all ones
    let h_tilde = h.slice(s![1.., ..]).to_owned(); // r × (r+1), r = v−1
    let r = v - 1;
    let blocks: Vec<(usize, usize)> = (0..v)
        .flat_map(|a| (a + 1..v).map(move |b| (a, b)))
        .collect();
    let n = blocks.len();
    let mut phi = Array2::zeros((n, v * v));
    let scale = 1.0 / (r as f64).sqrt();
    for point in 0..v {
        // blocks containing `point`, in increasing block order: the columns of E_j
        let containing: Vec<usize> = blocks
            .iter()
            .enumerate()
            .filter(|(_, (a, b))| *a == point || *b == point)
            .map(|(i, _)| i)
            .collect();
        debug_assert_eq!(containing.len(), r);
        for (l, &block) in containing.iter().enumerate() {
            for c in 0..v {
                phi[(block, point * v + c)] = h_tilde[(l, c)] * scale;
            }
        }
    }
    Ok(phi)
}

/// Lower bound on the coherence of `m` unit vectors in R^n and its name: the Welch bound, or the
/// orthoplex bound 1/√n when `m > n(n+1)/2` (no real ETF can exist there).
pub fn coherence_lower_bound(n: usize, m: usize) -> (f64, &'static str) {
    let w = welch_bound(n, m);
    if m > n * (n + 1) / 2 {
        let o = 1.0 / (n as f64).sqrt();
        if o > w {
            return (o, "orthoplex bound 1/√n");
        }
    }
    (w, "Welch bound")
}

/// How [`coherence_targeted`] lowers the coherence.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum CoherenceMethod {
    /// p-norm continuation then hinge polish (default).
    PNormThenHinge {
        /// Iterations per value of p (p = 4, 8, …, 256).
        iters_per_p: usize,
    },
    /// Tropp et al. alternating projection for `ap_iters` iterations, then hinge descent.
    ProjectionThenHinge {
        /// Alternating-projection iterations (each one m × m eigendecomposition).
        ap_iters: usize,
    },
    /// Tropp et al. alternating projection only.
    AlternatingProjection {
        /// Iterations.
        iters: usize,
    },
    /// Hinge descent only, from a unit-norm tight frame.
    Hinge,
}

impl Default for CoherenceMethod {
    fn default() -> Self {
        CoherenceMethod::PNormThenHinge { iters_per_p: 400 }
    }
}

/// What the coherence generator did. Always reported: a target is never assumed met.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoherenceReport {
    /// The requested μ.
    pub target: f64,
    /// The achieved μ(A).
    pub achieved: f64,
    /// The applicable lower bound (Welch or orthoplex).
    pub lower_bound: f64,
    /// Coherence of the Gaussian starting draw.
    pub initial: f64,
    /// "lowered" or "raised" (planted near-duplicates).
    pub direction: String,
    /// Alternating-projection or p-norm iterations run.
    pub ap_iters: usize,
    /// Hinge-descent iterations run.
    pub hinge_iters: usize,
    /// `achieved ≤ target · 1.02`.
    pub met: bool,
}

/// Options of [`coherence_targeted`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoherenceOptions {
    /// How to lower coherence.
    pub method: CoherenceMethod,
    /// Cap on hinge-descent iterations.
    pub max_hinge_iters: usize,
    /// Number of planted pairs when raising coherence.
    pub pairs: usize,
}

impl Default for CoherenceOptions {
    fn default() -> Self {
        CoherenceOptions {
            method: CoherenceMethod::default(),
            max_hinge_iters: 2000,
            pairs: 1,
        }
    }
}

/// A dictionary whose mutual coherence is close to `target` (from below, within 2 %).
///
/// Below the coherence of a Gaussian draw it lowers μ (alternating projection + hinge descent, see
/// the module doc); above it, it plants `opts.pairs` near-duplicate pairs with |cos| = `target`.
///
/// # Errors
/// `target` below the Welch (or orthoplex) bound — the message states the bound — or ≥ 1.
/// A target that the method could not reach is *not* an error here: check `report.met`
/// ([`crate::instance::InstanceSpec::sample`] turns an unmet target into an error).
pub fn coherence_targeted(
    n: usize,
    m: usize,
    target: f64,
    opts: &CoherenceOptions,
    rng: &mut impl Rng,
) -> Result<(Array2<f64>, CoherenceReport)> {
    check_dims(n, m)?;
    ensure!(m >= 2, "n_atoms", m, "m ≥ 2 (coherence needs two atoms)");
    let (lb, lb_name) = coherence_lower_bound(n, m);
    ensure!(
        target.is_finite() && target < 1.0,
        "coherence",
        target,
        "a target μ < 1"
    );
    ensure!(
        target >= lb,
        "coherence",
        target,
        format!(
            "a target μ ≥ the {lb_name} {lb:.5} for n={n}, m={m} (targets ≥ 1.1 × bound = {:.5} are reached within 2 %)",
            1.1 * lb
        )
    );
    let mut a = gaussian_dictionary(n, m, rng)?;
    let initial = coherence(a.view());
    let mut report = CoherenceReport {
        target,
        achieved: initial,
        lower_bound: lb,
        initial,
        direction: String::new(),
        ap_iters: 0,
        hinge_iters: 0,
        met: false,
    };
    if initial <= target {
        report.direction = "raised".into();
        a = plant_near_duplicates(a, opts.pairs.max(1), target, rng)?;
    } else {
        report.direction = "lowered".into();
        if m >= n {
            a = unit_norm_tight_frame(n, m, 1e-10, 200, rng)?.0;
        }
        let hinge = match opts.method {
            CoherenceMethod::PNormThenHinge { iters_per_p } => {
                let (b, it) = pnorm_continuation(a, target, iters_per_p)?;
                a = b;
                report.ap_iters = it;
                true
            }
            CoherenceMethod::ProjectionThenHinge { ap_iters } => {
                a = alternating_projection(a, target, ap_iters)?;
                report.ap_iters = ap_iters;
                true
            }
            CoherenceMethod::AlternatingProjection { iters } => {
                a = alternating_projection(a, target, iters)?;
                report.ap_iters = iters;
                false
            }
            CoherenceMethod::Hinge => true,
        };
        if hinge && coherence(a.view()) > target {
            let before = coherence(a.view());
            let (b, it) = hinge_descent(a.clone(), target, opts.max_hinge_iters)?;
            report.hinge_iters = it;
            if coherence(b.view()) < before {
                a = b; // the hinge sum can raise the max: keep whichever is lower
            }
        }
    }
    report.achieved = coherence(a.view());
    report.met = report.achieved <= target * 1.02;
    Ok((a, report))
}

/// Remove from each column of `grad` its component along the matching (unit) column of `a`: the
/// Riemannian gradient on the product of unit spheres.
fn project_to_tangent(a: &Array2<f64>, grad: &mut Array2<f64>) {
    for (aj, mut gj) in a.axis_iter(Axis(1)).zip(grad.axis_iter_mut(Axis(1))) {
        let d = aj.dot(&gj);
        gj.scaled_add(-d, &aj);
    }
}

/// Riemannian descent on Σ_{i≠j} (|G_ij|/μ)^p for p = 4, 8, …, 256 (`iters` steps each), keeping the
/// iterate of lowest coherence and returning as soon as μ ≤ `mu`. Returns the iterate and the total
/// number of steps.
pub fn pnorm_continuation(
    mut a: Array2<f64>,
    mu: f64,
    iters: usize,
) -> Result<(Array2<f64>, usize)> {
    let m = a.ncols();
    let mut best = a.clone();
    let mut best_mu = coherence(a.view());
    let mut total = 0;
    // p = 2^log2p: r^p by repeated squaring (much cheaper than powf in this O(m²) inner loop)
    let potential = |g: &Array2<f64>, log2p: u32, scale: f64, e: Option<&mut Array2<f64>>| -> f64 {
        let p = (1u32 << log2p) as f64;
        let mut f = 0.0;
        let mut e = e;
        for i in 0..m {
            for j in 0..m {
                if i != j {
                    let r = g[(i, j)].abs() / scale;
                    let mut rp = r;
                    for _ in 0..log2p {
                        rp *= rp;
                    }
                    f += rp;
                    if let Some(e) = e.as_deref_mut() {
                        e[(i, j)] = if r > 0.0 {
                            g[(i, j)].signum() * p * (rp / r) / scale
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
        f
    };
    for p in 2u32..=8 {
        let mut step = 1e-3;
        for _ in 0..iters {
            let g = linalg::gram(a.view(), Par::Seq);
            let cur = crate::metrics::coherence::max_offdiag_abs(g.view());
            if cur < best_mu {
                best_mu = cur;
                best = a.clone();
            }
            if cur <= mu {
                return Ok((a, total));
            }
            let mut e = Array2::zeros((m, m));
            let f = potential(&g, p, cur, Some(&mut e));
            let mut grad = linalg::matmul_nn(a.view(), e.view(), Par::Seq);
            project_to_tangent(&a, &mut grad);
            total += 1;
            loop {
                let mut cand = &a - &(&grad * step);
                normalize_columns(&mut cand)?;
                let gc = linalg::gram(cand.view(), Par::Seq);
                if potential(&gc, p, cur, None) <= f || step < 1e-14 {
                    a = cand;
                    step *= 1.5;
                    break;
                }
                step *= 0.5;
            }
        }
    }
    if coherence(a.view()) < best_mu {
        best = a;
    }
    Ok((best, total))
}

/// Tropp et al. alternating projection towards μ ≤ `mu` (docs/protocols.md §1.4).
pub fn alternating_projection(a: Array2<f64>, mu: f64, iters: usize) -> Result<Array2<f64>> {
    let (n, m) = a.dim();
    let mut g = linalg::gram(a.view(), Par::Seq);
    let mut best = a.clone();
    let mut best_mu = coherence(a.view());
    for _ in 0..iters {
        // structural projection: clip off-diagonals, unit diagonal
        for i in 0..m {
            for j in 0..m {
                g[(i, j)] = if i == j {
                    1.0
                } else {
                    g[(i, j)].clamp(-mu, mu)
                };
            }
        }
        // spectral projection: best rank-n PSD approximation
        let (w, v) = linalg::eigh(g.view())?;
        let mut f = Array2::zeros((n, m)); // A = sqrt(Λ_n) U_nᵀ
        for (r, k) in (m - n.min(m)..m).enumerate() {
            let lam = w[k].max(0.0).sqrt();
            for j in 0..m {
                f[(r, j)] = lam * v[(j, k)];
            }
        }
        if normalize_columns(&mut f).is_err() {
            break; // a column collapsed: keep the best iterate so far
        }
        let c = coherence(f.view());
        if c < best_mu {
            best_mu = c;
            best = f.clone();
        }
        if c <= mu {
            break;
        }
        g = linalg::gram(f.view(), Par::Seq);
    }
    Ok(best)
}

fn hinge_value(g: &Array2<f64>, t: f64) -> f64 {
    let m = g.nrows();
    let mut f = 0.0;
    for i in 0..m {
        for j in 0..m {
            if i != j {
                let e = (g[(i, j)].abs() - t).max(0.0);
                f += e * e;
            }
        }
    }
    0.25 * f
}

/// Riemannian hinge descent towards μ ≤ `mu` (module doc, stage 2). Returns the iterate and the
/// number of iterations.
pub fn hinge_descent(
    mut a: Array2<f64>,
    mu: f64,
    max_iters: usize,
) -> Result<(Array2<f64>, usize)> {
    let m = a.ncols();
    let t = 0.995 * mu;
    let mut step = 1.0;
    let mut g = linalg::gram(a.view(), Par::Seq);
    let mut f = hinge_value(&g, t);
    for it in 0..max_iters {
        if crate::metrics::coherence::max_offdiag_abs(g.view()) <= mu {
            return Ok((a, it));
        }
        let mut e = Array2::zeros((m, m));
        for i in 0..m {
            for j in 0..m {
                if i != j {
                    let v = g[(i, j)];
                    e[(i, j)] = v.signum() * (v.abs() - t).max(0.0);
                }
            }
        }
        let mut grad = linalg::matmul_nn(a.view(), e.view(), Par::Seq);
        project_to_tangent(&a, &mut grad);
        loop {
            let mut cand = &a - &(&grad * step);
            normalize_columns(&mut cand)?;
            let gc = linalg::gram(cand.view(), Par::Seq);
            let fc = hinge_value(&gc, t);
            if fc <= f || step < 1e-12 {
                a = cand;
                g = gc;
                f = fc;
                step *= 1.2;
                break;
            }
            step *= 0.5;
        }
    }
    Ok((a, max_iters))
}

/// Raise coherence: for `pairs` disjoint random pairs (i, j), replace atom j by
/// `cos θ · a_i + sin θ · v` with `v` a random unit vector orthogonal to `a_i` and `cos θ = cos`.
///
/// # Errors
/// `cos` outside (0, 1), or `2·pairs > m`.
pub fn plant_near_duplicates(
    mut a: Array2<f64>,
    pairs: usize,
    cos: f64,
    rng: &mut impl Rng,
) -> Result<Array2<f64>> {
    let (n, m) = a.dim();
    ensure!(
        cos > 0.0 && cos < 1.0,
        "coherence",
        cos,
        "a pair cosine in (0, 1)"
    );
    ensure!(
        2 * pairs <= m,
        "pairs",
        pairs,
        format!("at most m/2 = {} disjoint pairs", m / 2)
    );
    ensure!(n >= 2, "dim", n, "n ≥ 2 to plant a near-duplicate");
    let idx = sample(rng, m, 2 * pairs).into_vec();
    for p in 0..pairs {
        let (i, j) = (idx[2 * p], idx[2 * p + 1]);
        let ai = a.column(i).to_owned();
        let mut v;
        loop {
            v = ndarray::Array1::from_iter((0..n).map(|_| rng.sample::<f64, _>(StandardNormal)));
            let d = v.dot(&ai);
            v.scaled_add(-d, &ai);
            let nv = v.dot(&v).sqrt();
            if nv > 1e-8 {
                v /= nv;
                break;
            }
        }
        let sin = (1.0 - cos * cos).sqrt();
        let new = &ai * cos + &v * sin;
        a.column_mut(j).assign(&new);
    }
    normalize_columns(&mut a)?;
    Ok(a)
}
