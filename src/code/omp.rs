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
//! The O(m) work of a step (new W column, α update, next arg-max) runs in one fused pass with
//! AVX-512 intrinsics where the CPU has them (`avx512` below), with AVX2 + FMA intrinsics where it
//! has those only (`avx2`; each checked against the portable kernels by a unit test), else in
//! separate auto-vectorized passes (aarch64, x86-64 without AVX2). Each worker codes two signals
//! in lock step (`omp_pair`): both scalar chains of a step (arg-max reduction, square root,
//! division) come before both O(m) passes, so one signal's chain overlaps the other's vector work;
//! the results equal one-at-a-time coding bit for bit.
//!
//! ## References
//! * Pati, Rezaiifar, Krishnaprasad (1993), "Orthogonal matching pursuit", Asilomar.
//! * Rubinstein, Zibulevsky, Elad (2008), "Efficient implementation of the K-SVD algorithm using
//!   batch orthogonal matching pursuit", Technion CS-2008-08, Algorithm 3 (Batch-OMP).

use super::batch::{SignalOut, Sink, axpy_neg, per_signal_pairs};
use super::{CodeInfo, CoderSpec, Encoding, SPARSITY, SparseCoder, check_problem};
use crate::spec::{Dflt, Param, Ty};

/// `omp`: Batch-OMP with k atoms per signal, or until the residual norm is at most `tol`.
pub const SPEC: CoderSpec = CoderSpec {
    name: "omp",
    family: crate::spec::Family::Coder,
    summary: "Batch-OMP (Rubinstein et al. 2008): k atoms per signal, or a residual target",
    params: Omp::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(Omp::from_params(p, ctx)?)),
};
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

/// The parameter `tol` of `omp`: a residual target instead of k atoms.
pub const TOL: Param = Param::new(
    "tol",
    Ty::Positive,
    Dflt::Auto("off (k atoms)"),
    "stop once ‖y − Ax‖₂ ≤ tol instead of at k atoms",
);

crate::declare_method! {
    /// Batch-OMP coder (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct Omp {
        given {}
        derived {
            /// when to stop: k atoms (k ≤ min(n, m)) or a residual target ε ≥ 0
            stop: OmpStop = [SPARSITY, TOL] => |p, ctx| match p.f64_opt("tol") {
                Some(eps) => OmpStop::Residual(eps),
                None => OmpStop::Sparsity(p.sparsity(ctx)?),
            };
        }
        params {}
    }
}

impl Omp {
    /// k atoms per signal.
    pub fn with_sparsity(k: usize) -> Self {
        Omp::new(OmpStop::Sparsity(k))
    }
    /// Until the residual norm is ≤ ε.
    pub fn with_tolerance(eps: f64) -> Self {
        Omp::new(OmpStop::Residual(eps))
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
    chol: Vec<f64>, // row-major lower triangle, kmax × kmax, diagonal stored as 1/L_ss
    z: Vec<f64>,    // z = L⁻¹ α⁰_I
    w: Vec<f64>,    // W = G[:, I] L⁻ᵀ, column j at w[j m..(j + 1) m]
    x: Vec<f64>,
    support: Vec<usize>,
    in_support: Vec<bool>,
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
        }
    }
}

/// Shared read-only inputs.
struct Problem<'a> {
    g: &'a [f64], // m × m row-major
    m: usize,
    diag: &'a [f64],
    weights: &'a [f64], // 1/‖a_i‖: atoms are selected by |α_i|/‖a_i‖
    stop: OmpStop,
    kmax: usize,
}

/// The running state of one signal's Batch-OMP loop (see [`omp_one`]).
#[derive(Clone, Copy)]
struct Run {
    err2: f64,
    premature: bool,
    floor: f64,
    /// The next atom and its score.
    best: f64,
    i: usize,
    /// False once the signal has stopped (or taken its last atom).
    live: bool,
}

/// Reset the scratch for a new signal and find its first atom.
#[inline(always)]
fn begin<K: StepKernel>(p: &Problem<'_>, sc: &mut Scratch, alpha0: &[f64], yy: f64) -> Run {
    sc.support.clear();
    sc.x.clear();
    let (best, i) = K::start(&mut sc.alpha, alpha0, p.weights);
    Run {
        err2: yy,
        premature: false,
        floor: 1e-14 * yy.sqrt(),
        best,
        i,
        live: true,
    }
}

/// The scalar part of step `s`: the stop tests, the new row of L, `z_s`, the support. Returns
/// `(1/L_ss, z_s)` when the step's O(m) pass must follow ([`pass`]); `None` when the signal has
/// stopped or just took its last atom (then `run.live` is false).
#[inline(always)]
fn head(p: &Problem<'_>, sc: &mut Scratch, run: &mut Run, s: usize) -> Option<(f64, f64)> {
    let (m, kmax) = (p.m, p.kmax);
    run.live = false;
    if let OmpStop::Residual(eps) = p.stop
        && run.err2 <= eps * eps
    {
        return None;
    }
    if run.best <= run.floor {
        return None; // residual orthogonal to every remaining atom
    }
    if sc.in_support[run.i] {
        // a selected atom's α is ~0 in exact arithmetic: never select it twice
        run.i = masked_argmax(&sc.alpha, p.weights, &sc.in_support, run.floor)?;
    }
    let i = run.i;
    // the new row of L: W[i, 0..s]
    let row = &mut sc.chol[s * kmax..s * kmax + s + 1];
    let mut ww = 0.0;
    for (j, r) in row[..s].iter_mut().enumerate() {
        let v = sc.w[j * m + i];
        *r = v;
        ww += v * v;
    }
    let d2 = p.diag[i] - ww;
    if d2 <= 1e-12 * p.diag[i] {
        run.premature = true;
        return None;
    }
    // L's diagonal is kept inverted (one division per step, none in the back substitution)
    let inv_d = 1.0 / d2.sqrt();
    row[s] = inv_d;
    let zs = sc.alpha[i] * inv_d;
    sc.z[s] = zs;
    run.err2 -= zs * zs;
    sc.support.push(i);
    sc.in_support[i] = true;
    if s + 1 == kmax {
        return None; // α is not needed after the last atom
    }
    run.live = true;
    Some((inv_d, zs))
}

/// The O(m) pass of step `s`: `W[:, s] = (G[i, :] − Σ_j W[:, j] L[s, j]) / L_ss`,
/// `α −= z_s W[:, s]`, and the next arg-max.
#[inline(always)]
fn pass<K: StepKernel>(
    p: &Problem<'_>,
    sc: &mut Scratch,
    run: &mut Run,
    s: usize,
    inv_d: f64,
    zs: f64,
) {
    let (m, kmax) = (p.m, p.kmax);
    let i = run.i;
    let (prev, rest) = sc.w.split_at_mut(s * m);
    (run.best, run.i) = K::step(
        &mut sc.alpha,
        &mut rest[..m],
        &p.g[i * m..(i + 1) * m],
        prev,
        &sc.chol[s * kmax..s * kmax + s],
        inv_d,
        zs,
        p.weights,
    );
}

/// `x` from `Lᵀ x = z`; clears the support marks; returns (premature, ‖r‖²).
#[inline(always)]
fn end(p: &Problem<'_>, sc: &mut Scratch, run: &Run) -> (bool, f64) {
    let kmax = p.kmax;
    let Scratch {
        chol,
        z,
        x,
        support,
        in_support,
        ..
    } = sc;
    let k = support.len();
    x.resize(k, 0.0);
    for r in (0..k).rev() {
        let mut v = z[r];
        for c in r + 1..k {
            v -= chol[c * kmax + r] * x[c];
        }
        x[r] = v * chol[r * kmax + r]; // the inverted diagonal
    }
    for &j in support.iter() {
        in_support[j] = false;
    }
    // the error by the running update (‖y‖² − ‖z‖²), as the Cholesky form's ‖y‖² − x_Iᵀα⁰_I
    (run.premature, run.err2.max(0.0))
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
fn omp_one<K: StepKernel>(
    p: &Problem<'_>,
    sc: &mut Scratch,
    alpha0: &[f64],
    yy: f64,
) -> (bool, f64) {
    let mut run = begin::<K>(p, sc, alpha0, yy);
    for s in 0..p.kmax {
        match head(p, sc, &mut run, s) {
            Some((inv_d, zs)) => pass::<K>(p, sc, &mut run, s, inv_d, zs),
            None => break,
        }
    }
    end(p, sc, &run)
}

/// Two signals in lock step: each step's scalar parts (arg-max reduction → √ → division, a
/// serial chain) of both signals come before their O(m) passes, so the out-of-order core runs
/// one signal's chain beside the other's vector work. Same results as two [`omp_one`] calls.
#[inline(always)]
fn omp_pair<K: StepKernel>(
    p: &Problem<'_>,
    sc: &mut [Scratch; 2],
    alpha0: [&[f64]; 2],
    yy: [f64; 2],
) -> [(bool, f64); 2] {
    let [sa, sb] = sc;
    let mut ra = begin::<K>(p, sa, alpha0[0], yy[0]);
    let mut rb = begin::<K>(p, sb, alpha0[1], yy[1]);
    for s in 0..p.kmax {
        let ha = if ra.live {
            head(p, sa, &mut ra, s)
        } else {
            None
        };
        let hb = if rb.live {
            head(p, sb, &mut rb, s)
        } else {
            None
        };
        if ha.is_none() && hb.is_none() {
            break;
        }
        if let Some((inv_d, zs)) = ha {
            pass::<K>(p, sa, &mut ra, s, inv_d, zs);
        }
        if let Some((inv_d, zs)) = hb {
            pass::<K>(p, sb, &mut rb, s, inv_d, zs);
        }
    }
    [end(p, sa, &ra), end(p, sb, &rb)]
}

/// The best index outside the support with a score above `floor` (rarely needed: see
/// [`omp_one`]).
fn masked_argmax(v: &[f64], w: &[f64], excluded: &[bool], floor: f64) -> Option<usize> {
    let mut arg = None;
    let mut bv = floor;
    for (i, ((&vi, &wi), &ex)) in v.iter().zip(w).zip(excluded).enumerate() {
        let s = vi.abs() * wi;
        if s > bv && !ex {
            bv = s;
            arg = Some(i);
        }
    }
    arg
}

/// The O(m) kernels of one Batch-OMP step. Scores are `|α_i|·w_i`; ties pick the first index.
trait StepKernel {
    /// `(max_i |v_i|·w_i, its first index)`.
    fn argmax(v: &[f64], w: &[f64]) -> (f64, usize);
    /// `alpha = alpha0`, then [`StepKernel::argmax`] of it (one pass where the kernel fuses them).
    #[inline(always)]
    fn start(alpha: &mut [f64], alpha0: &[f64], w: &[f64]) -> (f64, usize) {
        alpha.copy_from_slice(alpha0);
        Self::argmax(alpha, w)
    }
    /// `col = (g_row − Σ_j c_j prev[:, j]) · inv_d` (`prev` holds `c.len()` columns of length m),
    /// `α ← α − zs·col`, and then [`StepKernel::argmax`] of the updated α.
    #[allow(clippy::too_many_arguments)]
    fn step(
        alpha: &mut [f64],
        col: &mut [f64],
        g_row: &[f64],
        prev: &[f64],
        c: &[f64],
        inv_d: f64,
        zs: f64,
        w: &[f64],
    ) -> (f64, usize);
}

/// Portable kernels: separate passes (GEMV, scale, AXPY, max, first index) that the compiler
/// vectorizes for the target it is compiled for. `FMA`: the GEMV fuses multiply and add
/// (`mul_add`), which is one instruction where the code is compiled with FMA (the AVX2 path,
/// aarch64) but a libm call on x86-64 without it — 200× slower, measured — so the portable
/// path of x86-64 uses the unfused form.
struct PortableK<const FMA: bool>;

/// The portable kernels with fused multiply-add (non-x86 targets; on x86-64 the reference the
/// AVX2 and AVX-512 kernels are tested against).
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
type Portable = PortableK<true>;

/// The portable kernels without fused multiply-add (x86-64 without AVX2 + FMA).
#[cfg(target_arch = "x86_64")]
type PortableNoFma = PortableK<false>;

impl<const FMA: bool> StepKernel for PortableK<FMA> {
    #[inline(always)]
    fn argmax(v: &[f64], w: &[f64]) -> (f64, usize) {
        let best = max_score(v, w);
        (best, first_at(v, w, best).unwrap_or(0))
    }
    #[inline(always)]
    fn step(
        alpha: &mut [f64],
        col: &mut [f64],
        g_row: &[f64],
        prev: &[f64],
        c: &[f64],
        inv_d: f64,
        zs: f64,
        w: &[f64],
    ) -> (f64, usize) {
        let m = alpha.len();
        gemv_cols_neg::<FMA>(col, g_row, prev, m, c);
        col.iter_mut().for_each(|v| *v *= inv_d);
        axpy_neg(alpha, zs, col);
        Self::argmax(alpha, w)
    }
}

/// `out = b − Σ_t c_t W[:, t]` for the columns of `w` (column t at `w[t m..(t + 1) m]`): a GEMV
/// accumulated in registers 32 entries at a time (one store per entry).
#[inline(always)]
fn gemv_cols_neg<const FMA: bool>(out: &mut [f64], b: &[f64], w: &[f64], m: usize, c: &[f64]) {
    // 32 lanes = 8 independent AVX accumulators: enough to hide the add latency
    const W: usize = 32;
    let full = m / W * W;
    for i0 in (0..full).step_by(W) {
        let mut acc = [0.0; W];
        acc.copy_from_slice(&b[i0..i0 + W]);
        for (t, &ct) in c.iter().enumerate() {
            let col = &w[t * m + i0..t * m + i0 + W];
            if FMA {
                for l in 0..W {
                    acc[l] = (-ct).mul_add(col[l], acc[l]);
                }
            } else {
                for l in 0..W {
                    acc[l] -= ct * col[l];
                }
            }
        }
        out[i0..i0 + W].copy_from_slice(&acc);
    }
    for i in full..m {
        let mut v = b[i];
        for (t, &ct) in c.iter().enumerate() {
            v -= ct * w[t * m + i];
        }
        out[i] = v;
    }
}

/// `max_i |v_i|·w_i` (−1 for an empty `v`): 16 independent lanes, so the pass compiles to vector
/// max instructions.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // fixed-width lanes
fn max_score(v: &[f64], w: &[f64]) -> f64 {
    const W: usize = 16; // two vector accumulators: the max chain is latency-bound
    let mut lv = [-1.0f64; W];
    let full = v.len() / W * W;
    for (ch, wh) in v[..full].chunks_exact(W).zip(w[..full].chunks_exact(W)) {
        for l in 0..W {
            let s = ch[l].abs() * wh[l];
            lv[l] = if s > lv[l] { s } else { lv[l] };
        }
    }
    let mut best = lv.iter().fold(-1.0f64, |a, &b| if b > a { b } else { a });
    for (&x, &wt) in v[full..].iter().zip(&w[full..]) {
        let s = x.abs() * wt;
        if s > best {
            best = s;
        }
    }
    best
}

/// The first index whose score `|v_i|·w_i` equals `best` (the value [`max_score`] returned): the
/// first chunk holding it (a vector compare per chunk), then the index in it.
#[inline(always)]
#[allow(clippy::float_cmp)] // `best` is one of the scores
fn first_at(v: &[f64], w: &[f64], best: f64) -> Option<usize> {
    const W: usize = 8;
    let full = v.len() / W * W;
    let chunk = v[..full]
        .chunks_exact(W)
        .zip(w[..full].chunks_exact(W))
        .position(|(ch, wh)| {
            ch.iter()
                .zip(wh)
                .fold(false, |h, (x, wi)| h | (x.abs() * wi == best))
        });
    let range = match chunk {
        Some(c) => c * W..(c + 1) * W,
        None => full..v.len(),
    };
    range.into_iter().find(|&i| v[i].abs() * w[i] == best)
}

/// A unit of Batch-OMP work, generic over the step kernels: [`dispatch`] runs it with the best
/// kernels this CPU has.
trait Job {
    type Out;
    fn run<K: StepKernel>(self) -> Self::Out;
}

/// One signal ([`omp_one`]).
struct One<'a, 'p> {
    p: &'a Problem<'p>,
    sc: &'a mut Scratch,
    alpha0: &'a [f64],
    yy: f64,
}

impl Job for One<'_, '_> {
    type Out = (bool, f64);
    #[inline(always)]
    fn run<K: StepKernel>(self) -> Self::Out {
        omp_one::<K>(self.p, self.sc, self.alpha0, self.yy)
    }
}

/// Two signals in lock step ([`omp_pair`]).
struct Pair<'a, 'p> {
    p: &'a Problem<'p>,
    sc: &'a mut [Scratch; 2],
    alpha0: [&'a [f64]; 2],
    yy: [f64; 2],
}

impl Job for Pair<'_, '_> {
    type Out = [(bool, f64); 2];
    #[inline(always)]
    fn run<K: StepKernel>(self) -> Self::Out {
        omp_pair::<K>(self.p, self.sc, self.alpha0, self.yy)
    }
}

/// `job` with the AVX2 + FMA kernels.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2<J: Job>(job: J) -> J::Out {
    job.run::<avx2::Kernel>()
}

/// `job` with the AVX-512 kernels.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn run_avx512<J: Job>(job: J) -> J::Out {
    job.run::<avx512::Kernel>()
}

/// Run `job` with the best kernels the CPU has (checked at run time).
fn dispatch<J: Job>(job: J) -> J::Out {
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx512() {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { run_avx512(job) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx2() {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { run_avx2(job) };
    }
    #[cfg(target_arch = "x86_64")]
    return job.run::<PortableNoFma>();
    #[cfg(not(target_arch = "x86_64"))]
    job.run::<Portable>()
}

/// The fused step of [`avx512`] on 4-lane AVX2 + FMA registers (most laptops and many cluster
/// nodes have AVX2 but not AVX-512): GEMV, scaling, α update and the running maximum of the
/// scores in one pass, 16 atoms per iteration, then the first index of the maximum found in a short
/// second pass (see `finish`). Each entry sees the same operations in the same order as in the
/// AVX-512 and portable FMA kernels.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::StepKernel;
    use std::arch::x86_64::*;

    /// |x|: the sign bit cleared.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn abs(x: __m256d) -> __m256d {
        _mm256_andnot_pd(_mm256_set1_pd(-0.0), x)
    }

    /// `max(acc, s)` lane-wise; a NaN score never wins (MAXPD returns its second operand when
    /// either is NaN).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn feed(acc: &mut __m256d, s: __m256d) {
        *acc = _mm256_max_pd(s, *acc);
    }

    /// The best score over the lanes of `acc` and the scalar tail `v[from..]`, then the first
    /// index attaining it: the fused pass keeps only maxima (one instruction per 4 atoms, where
    /// tracking indices cost a compare and two blends), and this second pass over the (cache-hot)
    /// scores stops at the first hit. Scores are recomputed with the same two roundings, so the
    /// comparison is exact.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn finish(acc: __m256d, v: &[f64], w: &[f64], from: usize) -> (f64, usize) {
        let mut lanes = [0.0f64; 4];
        // SAFETY: a 4-element array
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), acc) };
        let mut best = lanes.iter().copied().fold(-1.0, f64::max);
        for i in from..v.len() {
            let s = v[i].abs() * w[i];
            if s > best {
                best = s;
            }
        }
        let m = v.len();
        let full = m / 4 * 4;
        let vb = _mm256_set1_pd(best);
        for i0 in (0..full).step_by(4) {
            // SAFETY: i0 + 4 ≤ m ≤ w.len() (asserted by the callers)
            let hit = unsafe {
                let s = _mm256_mul_pd(
                    abs(_mm256_loadu_pd(v.as_ptr().add(i0))),
                    _mm256_loadu_pd(w.as_ptr().add(i0)),
                );
                _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(s, vb))
            };
            if hit != 0 {
                return (best, i0 + hit.trailing_zeros() as usize);
            }
        }
        #[allow(clippy::float_cmp)] // the maximum is one of these products, recomputed exactly
        let at = (full..m).find(|&i| v[i].abs() * w[i] == best).unwrap_or(0);
        (best, at)
    }

    /// The AVX2 kernels. Only [`super::run_avx2`] uses them, and it runs only where
    /// [`crate::code::simd::avx2`] said yes (AVX2 and FMA): the safety argument of the `unsafe`
    /// calls below.
    pub(super) struct Kernel;

    impl StepKernel for Kernel {
        #[inline(always)]
        fn argmax(v: &[f64], w: &[f64]) -> (f64, usize) {
            // SAFETY: see `Kernel`
            unsafe { scan(v, std::ptr::null_mut(), w) }
        }
        #[inline(always)]
        fn start(alpha: &mut [f64], alpha0: &[f64], w: &[f64]) -> (f64, usize) {
            assert!(alpha.len() == alpha0.len());
            // SAFETY: see `Kernel`; `alpha` has the length of `alpha0` and does not overlap it
            unsafe { scan(alpha0, alpha.as_mut_ptr(), w) }
        }
        #[inline(always)]
        fn step(
            alpha: &mut [f64],
            col: &mut [f64],
            g_row: &[f64],
            prev: &[f64],
            c: &[f64],
            inv_d: f64,
            zs: f64,
            w: &[f64],
        ) -> (f64, usize) {
            // SAFETY: see `Kernel`
            unsafe { step(alpha, col, g_row, prev, c, inv_d, zs, w) }
        }
    }

    /// The arg-max of `|v|·w`, copying `v` to `dst` on the way unless `dst` is null.
    ///
    /// # Safety
    /// The CPU has AVX2; `dst` is null or valid for `v.len()` writes and overlaps neither `v`
    /// nor `w`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn scan(v: &[f64], dst: *mut f64, w: &[f64]) -> (f64, usize) {
        let m = v.len();
        assert!(w.len() >= m);
        let full = m / 8 * 8;
        let (vp, wp) = (v.as_ptr(), w.as_ptr());
        let (mut t0, mut t1) = (_mm256_set1_pd(-1.0), _mm256_set1_pd(-1.0));
        for i0 in (0..full).step_by(8) {
            // SAFETY: i0 + 8 ≤ m ≤ w.len(); `dst` by the caller's contract
            unsafe {
                let (a0, a1) = (_mm256_loadu_pd(vp.add(i0)), _mm256_loadu_pd(vp.add(i0 + 4)));
                if !dst.is_null() {
                    _mm256_storeu_pd(dst.add(i0), a0);
                    _mm256_storeu_pd(dst.add(i0 + 4), a1);
                }
                feed(&mut t0, _mm256_mul_pd(abs(a0), _mm256_loadu_pd(wp.add(i0))));
                feed(
                    &mut t1,
                    _mm256_mul_pd(abs(a1), _mm256_loadu_pd(wp.add(i0 + 4))),
                );
            }
        }
        if !dst.is_null() {
            for (i, &vi) in v.iter().enumerate().skip(full) {
                // SAFETY: i < m
                unsafe { *dst.add(i) = vi };
            }
        }
        finish(_mm256_max_pd(t0, t1), v, w, full)
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn step(
        alpha: &mut [f64],
        col: &mut [f64],
        g_row: &[f64],
        prev: &[f64],
        c: &[f64],
        inv_d: f64,
        zs: f64,
        w: &[f64],
    ) -> (f64, usize) {
        let m = alpha.len();
        assert!(col.len() >= m && g_row.len() >= m && w.len() >= m);
        assert!(prev.len() >= c.len() * m);
        let full = m / 4 * 4;
        let full16 = m / 16 * 16;
        let (ap, cp, gp, pp, wp) = (
            alpha.as_mut_ptr(),
            col.as_mut_ptr(),
            g_row.as_ptr(),
            prev.as_ptr(),
            w.as_ptr(),
        );
        let (vinv, vzs) = (_mm256_set1_pd(inv_d), _mm256_set1_pd(zs));
        let mut t = [_mm256_set1_pd(-1.0); 4];
        // 16 atoms per iteration: four independent FMA chains over the support
        for i0 in (0..full16).step_by(16) {
            // SAFETY: i0 + 16 ≤ m, column j of `prev` is prev[j m..(j + 1) m] (lengths asserted
            // above); `alpha` and `col` are distinct slices
            unsafe {
                let mut acc = [
                    _mm256_loadu_pd(gp.add(i0)),
                    _mm256_loadu_pd(gp.add(i0 + 4)),
                    _mm256_loadu_pd(gp.add(i0 + 8)),
                    _mm256_loadu_pd(gp.add(i0 + 12)),
                ];
                for (j, &cj) in c.iter().enumerate() {
                    let (q, vc) = (pp.add(j * m + i0), _mm256_set1_pd(cj));
                    for (u, a) in acc.iter_mut().enumerate() {
                        *a = _mm256_fnmadd_pd(vc, _mm256_loadu_pd(q.add(4 * u)), *a);
                    }
                }
                for (u, a) in acc.into_iter().enumerate() {
                    let a = _mm256_mul_pd(a, vinv);
                    _mm256_storeu_pd(cp.add(i0 + 4 * u), a);
                    let na = _mm256_fnmadd_pd(vzs, a, _mm256_loadu_pd(ap.add(i0 + 4 * u)));
                    _mm256_storeu_pd(ap.add(i0 + 4 * u), na);
                    feed(
                        &mut t[u],
                        _mm256_mul_pd(abs(na), _mm256_loadu_pd(wp.add(i0 + 4 * u))),
                    );
                }
            }
        }
        for i0 in (full16..full).step_by(4) {
            // SAFETY: as above, i0 + 4 ≤ m
            let s = unsafe {
                let mut acc = _mm256_loadu_pd(gp.add(i0));
                for (j, &cj) in c.iter().enumerate() {
                    let pc = _mm256_loadu_pd(pp.add(j * m + i0));
                    acc = _mm256_fnmadd_pd(_mm256_set1_pd(cj), pc, acc);
                }
                acc = _mm256_mul_pd(acc, vinv);
                _mm256_storeu_pd(cp.add(i0), acc);
                let a = _mm256_fnmadd_pd(vzs, acc, _mm256_loadu_pd(ap.add(i0)));
                _mm256_storeu_pd(ap.add(i0), a);
                _mm256_mul_pd(abs(a), _mm256_loadu_pd(wp.add(i0)))
            };
            feed(&mut t[0], s);
        }
        for i in full..m {
            let mut v = g_row[i];
            for (j, &cj) in c.iter().enumerate() {
                v = (-cj).mul_add(prev[j * m + i], v);
            }
            v *= inv_d;
            col[i] = v;
            alpha[i] = (-zs).mul_add(v, alpha[i]);
        }
        let acc = _mm256_max_pd(_mm256_max_pd(t[0], t[1]), _mm256_max_pd(t[2], t[3]));
        finish(acc, alpha, w, full)
    }
}

/// One fused AVX-512 pass per step: the GEMV, the scaling, the α update and the arg-max of the
/// updated scores run 8 atoms at a time in registers (α and the new W column are written once,
/// nothing is re-read), with four independent arg-max trackers (blend on a compare mask, the
/// index kept as a vector of `f64`), so the pass is neither branchy nor one serial chain.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::StepKernel;
    use std::arch::x86_64::*;

    /// Running maxima with their indices, per lane.
    #[derive(Clone, Copy)]
    struct Track {
        val: __m512d,
        idx: __m512d,
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn track_new() -> Track {
        Track {
            val: _mm512_set1_pd(-1.0),
            idx: _mm512_setzero_pd(),
        }
    }

    /// Feed scores `s` at indices `at` (strictly greater wins: the first index is kept).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn feed(t: &mut Track, s: __m512d, at: __m512d) {
        let gt = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(s, t.val);
        t.val = _mm512_mask_blend_pd(gt, t.val, s);
        t.idx = _mm512_mask_blend_pd(gt, t.idx, at);
    }

    /// Merge two trackers lane by lane (larger score, then smaller index).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn merge(a: Track, b: Track) -> Track {
        let gt = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(b.val, a.val);
        let eq = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(b.val, a.val);
        let lt = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(b.idx, a.idx);
        let take = gt | (eq & lt);
        Track {
            val: _mm512_mask_blend_pd(take, a.val, b.val),
            idx: _mm512_mask_blend_pd(take, a.idx, b.idx),
        }
    }

    /// The best score and its first index over the lanes, then the scalar tail `v[from..]`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn finish(t: Track, v: &[f64], w: &[f64], from: usize) -> (f64, usize) {
        let mut best = _mm512_reduce_max_pd(t.val);
        let eq = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(t.val, _mm512_set1_pd(best));
        let idx = _mm512_mask_blend_pd(eq, _mm512_set1_pd(f64::INFINITY), t.idx);
        let first = _mm512_reduce_min_pd(idx);
        let mut at = if first.is_finite() { first as usize } else { 0 };
        for i in from..v.len() {
            let s = v[i].abs() * w[i];
            if s > best {
                (best, at) = (s, i);
            }
        }
        (best, at)
    }

    /// Lane offsets 0..8 as `f64`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn lanes() -> __m512d {
        _mm512_setr_pd(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)
    }

    /// The AVX-512 kernels. Only [`super::run_avx512`] uses them, and it runs only where
    /// [`crate::code::simd::avx512`] said yes: that is the safety argument of the `unsafe` calls below.
    pub(super) struct Kernel;

    impl StepKernel for Kernel {
        #[inline(always)]
        fn argmax(v: &[f64], w: &[f64]) -> (f64, usize) {
            // SAFETY: see `Kernel`
            unsafe { argmax(v, w) }
        }
        #[inline(always)]
        fn start(alpha: &mut [f64], alpha0: &[f64], w: &[f64]) -> (f64, usize) {
            // SAFETY: see `Kernel`
            unsafe { start(alpha, alpha0, w) }
        }
        #[inline(always)]
        fn step(
            alpha: &mut [f64],
            col: &mut [f64],
            g_row: &[f64],
            prev: &[f64],
            c: &[f64],
            inv_d: f64,
            zs: f64,
            w: &[f64],
        ) -> (f64, usize) {
            // SAFETY: see `Kernel`
            unsafe { step(alpha, col, g_row, prev, c, inv_d, zs, w) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn argmax(v: &[f64], w: &[f64]) -> (f64, usize) {
        // SAFETY: no destination
        unsafe { scan(v, std::ptr::null_mut(), w) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn start(alpha: &mut [f64], alpha0: &[f64], w: &[f64]) -> (f64, usize) {
        assert!(alpha.len() == alpha0.len());
        // SAFETY: `alpha` has the length of `alpha0` and does not overlap it (`&mut`)
        unsafe { scan(alpha0, alpha.as_mut_ptr(), w) }
    }

    /// The arg-max of `|v|·w`, copying `v` to `dst` on the way unless `dst` is null: 16 entries
    /// per iteration into two named trackers (an array of trackers indexed by the loop
    /// counter was spilled to the stack, and the masked stores into it stalled the loads).
    ///
    /// # Safety
    /// `dst` is null or valid for `v.len()` writes and does not overlap `v` or `w`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn scan(v: &[f64], dst: *mut f64, w: &[f64]) -> (f64, usize) {
        let m = v.len();
        assert!(w.len() >= m);
        let (full16, full) = (m / 16 * 16, m / 8 * 8);
        let (vp, wp) = (v.as_ptr(), w.as_ptr());
        let (mut t0, mut t1) = (track_new(), track_new());
        let (eight, sixteen) = (_mm512_set1_pd(8.0), _mm512_set1_pd(16.0));
        let mut at = lanes();
        for i0 in (0..full16).step_by(16) {
            // SAFETY: i0 + 16 ≤ m ≤ w.len(); `dst` by the caller's contract
            unsafe {
                let (a0, a1) = (_mm512_loadu_pd(vp.add(i0)), _mm512_loadu_pd(vp.add(i0 + 8)));
                if !dst.is_null() {
                    _mm512_storeu_pd(dst.add(i0), a0);
                    _mm512_storeu_pd(dst.add(i0 + 8), a1);
                }
                let s0 = _mm512_mul_pd(_mm512_abs_pd(a0), _mm512_loadu_pd(wp.add(i0)));
                let s1 = _mm512_mul_pd(_mm512_abs_pd(a1), _mm512_loadu_pd(wp.add(i0 + 8)));
                feed(&mut t0, s0, at);
                feed(&mut t1, s1, _mm512_add_pd(at, eight));
            }
            at = _mm512_add_pd(at, sixteen);
        }
        if full16 < full {
            // SAFETY: full16 + 8 = full ≤ m
            unsafe {
                let a0 = _mm512_loadu_pd(vp.add(full16));
                if !dst.is_null() {
                    _mm512_storeu_pd(dst.add(full16), a0);
                }
                feed(
                    &mut t0,
                    _mm512_mul_pd(_mm512_abs_pd(a0), _mm512_loadu_pd(wp.add(full16))),
                    at,
                );
            }
        }
        if !dst.is_null() {
            for (i, &vi) in v.iter().enumerate().skip(full) {
                // SAFETY: i < m
                unsafe { *dst.add(i) = vi };
            }
        }
        finish(merge(t0, t1), v, w, full)
    }

    #[inline]
    #[target_feature(enable = "avx512f,fma")]
    #[allow(clippy::too_many_arguments)]
    fn step(
        alpha: &mut [f64],
        col: &mut [f64],
        g_row: &[f64],
        prev: &[f64],
        c: &[f64],
        inv_d: f64,
        zs: f64,
        w: &[f64],
    ) -> (f64, usize) {
        let m = alpha.len();
        assert!(col.len() >= m && g_row.len() >= m && w.len() >= m);
        assert!(prev.len() >= c.len() * m);
        let full = m / 8 * 8;
        let (ap, cp, gp, pp, wp) = (
            alpha.as_mut_ptr(),
            col.as_mut_ptr(),
            g_row.as_ptr(),
            prev.as_ptr(),
            w.as_ptr(),
        );
        let (vinv, vzs, eight) = (
            _mm512_set1_pd(inv_d),
            _mm512_set1_pd(zs),
            _mm512_set1_pd(8.0),
        );
        let mut t = [track_new(); 4];
        let mut at = lanes();
        // 32 atoms per iteration: four independent FMA chains over the support
        let full32 = m / 32 * 32;
        for i0 in (0..full32).step_by(32) {
            // SAFETY: i0 + 32 ≤ m, and column j of `prev` is prev[j m..(j + 1) m] (lengths
            // asserted above); `alpha` and `col` are distinct slices
            unsafe {
                let mut acc = [
                    _mm512_loadu_pd(gp.add(i0)),
                    _mm512_loadu_pd(gp.add(i0 + 8)),
                    _mm512_loadu_pd(gp.add(i0 + 16)),
                    _mm512_loadu_pd(gp.add(i0 + 24)),
                ];
                for (j, &cj) in c.iter().enumerate() {
                    let (q, vc) = (pp.add(j * m + i0), _mm512_set1_pd(cj));
                    for (u, a) in acc.iter_mut().enumerate() {
                        *a = _mm512_fnmadd_pd(vc, _mm512_loadu_pd(q.add(8 * u)), *a);
                    }
                }
                for (u, a) in acc.into_iter().enumerate() {
                    let a = _mm512_mul_pd(a, vinv);
                    _mm512_storeu_pd(cp.add(i0 + 8 * u), a);
                    let na = _mm512_fnmadd_pd(vzs, a, _mm512_loadu_pd(ap.add(i0 + 8 * u)));
                    _mm512_storeu_pd(ap.add(i0 + 8 * u), na);
                    let sc = _mm512_mul_pd(_mm512_abs_pd(na), _mm512_loadu_pd(wp.add(i0 + 8 * u)));
                    feed(&mut t[u], sc, at);
                    at = _mm512_add_pd(at, eight);
                }
            }
        }
        for i0 in (full32..full).step_by(8) {
            // SAFETY: as above, i0 + 8 ≤ m
            let s = unsafe {
                let mut acc = _mm512_loadu_pd(gp.add(i0));
                for (j, &cj) in c.iter().enumerate() {
                    let pc = _mm512_loadu_pd(pp.add(j * m + i0));
                    acc = _mm512_fnmadd_pd(_mm512_set1_pd(cj), pc, acc);
                }
                acc = _mm512_mul_pd(acc, vinv);
                _mm512_storeu_pd(cp.add(i0), acc);
                let a = _mm512_fnmadd_pd(vzs, acc, _mm512_loadu_pd(ap.add(i0)));
                _mm512_storeu_pd(ap.add(i0), a);
                _mm512_mul_pd(_mm512_abs_pd(a), _mm512_loadu_pd(wp.add(i0)))
            };
            feed(&mut t[0], s, at);
            at = _mm512_add_pd(at, eight);
        }
        for i in full..m {
            let mut v = g_row[i];
            for (j, &cj) in c.iter().enumerate() {
                v = (-cj).mul_add(prev[j * m + i], v);
            }
            v *= inv_d;
            col[i] = v;
            alpha[i] = (-zs).mul_add(v, alpha[i]);
        }
        let t = merge(merge(t[0], t[1]), merge(t[2], t[3]));
        finish(t, alpha, w, full)
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
        let gram = linalg::gram(dict, linalg::par());
        let weights: Vec<f64> = diag.iter().map(|d| 1.0 / d.sqrt()).collect();
        let gs = gram.as_slice().expect("fresh Gram is contiguous");
        let p = Problem {
            g: gs,
            m,
            diag: &diag,
            weights: &weights,
            stop: self.stop,
            kmax,
        };
        // a signal's codes into its sink; its report
        let emit = |sc: &Scratch, (premature, r2): (bool, f64), sink: &mut Sink<'_>| {
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
        };
        let batch = per_signal_pairs(
            dict,
            y,
            || [Scratch::new(m, kmax), Scratch::new(m, kmax)],
            |sc, _, b, yy, sink| {
                let r = dispatch(One {
                    p: &p,
                    sc: &mut sc[0],
                    alpha0: b,
                    yy,
                });
                emit(&sc[0], r, sink)
            },
            |sc, _, b, yy, [sa, sb]| {
                let [ra, rb] = dispatch(Pair {
                    p: &p,
                    sc,
                    alpha0: b,
                    yy,
                });
                [emit(&sc[0], ra, sa), emit(&sc[1], rb, sb)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn random(rng: &mut StdRng, len: usize) -> Vec<f64> {
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    /// Two signals in lock step give exactly what two separate runs give — supports, codes,
    /// residuals — also when the signals stop at different steps (residual targets reached at
    /// different k, a signal with y = 0, one exactly on two atoms), with the kernels the dispatch
    /// picks on this CPU and with the portable ones.
    #[test]
    fn pairs_agree_with_single_signals() {
        let mut rng = StdRng::seed_from_u64(3);
        let (n, m) = (10, 23);
        let mut a = random(&mut rng, n * m); // row-major n × m
        for r in 0..n {
            a[r * m + 7] = a[r * m + 2]; // atoms 2 and 7 equal: a dependent pair
        }
        let mut g = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                g[i * m + j] = (0..n).map(|r| a[r * m + i] * a[r * m + j]).sum();
            }
        }
        let diag: Vec<f64> = (0..m).map(|i| g[i * m + i]).collect();
        let weights: Vec<f64> = diag.iter().map(|d| 1.0 / d.sqrt()).collect();
        let signals: Vec<Vec<f64>> = (0..8)
            .map(|t| match t {
                0 => vec![0.0; n],
                1 => (0..n).map(|r| a[r * m + 2] - 0.5 * a[r * m + 11]).collect(),
                _ => random(&mut rng, n),
            })
            .collect();
        let corr = |y: &[f64]| -> Vec<f64> {
            (0..m)
                .map(|i| (0..n).map(|r| a[r * m + i] * y[r]).sum())
                .collect()
        };
        let mut uneven = false;
        for stop in [
            OmpStop::Sparsity(4),
            OmpStop::Sparsity(n),
            OmpStop::Residual(0.3),
        ] {
            let kmax = match stop {
                OmpStop::Sparsity(k) => k,
                OmpStop::Residual(_) => n,
            };
            let p = Problem {
                g: &g,
                m,
                diag: &diag,
                weights: &weights,
                stop,
                kmax,
            };
            for pair in signals.chunks(2).chain([&signals[1..3], &signals[0..1]]) {
                let (b0, b1) = (corr(&pair[0]), corr(&pair[pair.len() - 1]));
                let yy = [sq(&pair[0]), sq(&pair[pair.len() - 1])];
                let mut single = [Scratch::new(m, kmax), Scratch::new(m, kmax)];
                let [s0, s1] = &mut single;
                let r0 = dispatch(One {
                    p: &p,
                    sc: s0,
                    alpha0: &b0,
                    yy: yy[0],
                });
                let r1 = dispatch(One {
                    p: &p,
                    sc: s1,
                    alpha0: &b1,
                    yy: yy[1],
                });
                let mut both = [Scratch::new(m, kmax), Scratch::new(m, kmax)];
                let rp = dispatch(Pair {
                    p: &p,
                    sc: &mut both,
                    alpha0: [&b0, &b1],
                    yy,
                });
                assert_eq!([r0, r1], rp, "{stop:?}");
                uneven |= single[0].support.len() != single[1].support.len();
                let mut portable = [Scratch::new(m, kmax), Scratch::new(m, kmax)];
                let rq = omp_pair::<Portable>(&p, &mut portable, [&b0, &b1], yy);
                for (t, sc) in single.iter().enumerate() {
                    assert_eq!(sc.support, both[t].support, "{stop:?}");
                    assert_eq!(sc.x, both[t].x, "{stop:?}");
                    assert_eq!(sc.support, portable[t].support, "{stop:?}");
                    for (u, v) in sc.x.iter().zip(&portable[t].x) {
                        assert!((u - v).abs() <= 1e-10 * (1.0 + u.abs()));
                    }
                    assert!((rq[t].1 - rp[t].1).abs() <= 1e-10 * (1.0 + rp[t].1));
                }
            }
        }
        assert!(
            uneven,
            "no pair stopped at different steps: the test lost its point"
        );
    }

    fn sq(v: &[f64]) -> f64 {
        v.iter().map(|x| x * x).sum()
    }

    /// Every kernel this CPU can run against the portable one, on lengths with and without a
    /// vector tail, with exact ties (the first index must win) and non-unit weights.
    fn kernels_agree<K: StepKernel>() {
        let mut rng = StdRng::seed_from_u64(7);
        for m in [1, 5, 8, 13, 31, 32, 40, 64, 100, 128, 257] {
            for s in 0..4 {
                let w = if s % 2 == 0 {
                    vec![1.0; m]
                } else {
                    (0..m).map(|_| rng.random_range(0.5..2.0)).collect()
                };
                let mut v = random(&mut rng, m);
                if m > 3 {
                    // an exact tie at the top, the later index in a lower lane
                    let (hi, lo) = (m - 1, m / 3);
                    v[hi] = 5.0 / w[hi];
                    v[lo] = -5.0 / w[lo];
                    let p = Portable::argmax(&v, &w);
                    assert_eq!(K::argmax(&v, &w).1, p.1, "tie, m = {m}");
                }
                assert_eq!(K::argmax(&v, &w), Portable::argmax(&v, &w), "m = {m}");
                let mut copy = vec![f64::NAN; m];
                assert_eq!(
                    K::start(&mut copy, &v, &w),
                    Portable::argmax(&v, &w),
                    "m = {m}"
                );
                assert_eq!(copy, v, "start copies α⁰, m = {m}");

                let (g, prev, c) = (
                    random(&mut rng, m),
                    random(&mut rng, s * m),
                    random(&mut rng, s),
                );
                let (mut a1, mut a2) = (v.clone(), v.clone());
                let (mut c1, mut c2) = (vec![0.0; m], vec![0.0; m]);
                let r1 = Portable::step(&mut a1, &mut c1, &g, &prev, &c, 1.3, 0.7, &w);
                let r2 = K::step(&mut a2, &mut c2, &g, &prev, &c, 1.3, 0.7, &w);
                for (x, y) in a1.iter().zip(&a2).chain(c1.iter().zip(&c2)) {
                    assert!((x - y).abs() <= 1e-12, "m = {m}, s = {s}: {x} vs {y}");
                }
                assert_eq!(r1.1, r2.1, "m = {m}, s = {s}");
                assert!((r1.0 - r2.0).abs() <= 1e-12);
            }
        }
    }

    /// The unfused portable kernels (x86-64 without FMA) against the fused ones.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn unfused_portable_kernels_agree_with_the_fused_ones() {
        kernels_agree::<PortableNoFma>();
    }

    #[test]
    fn portable_kernel_finds_the_first_maximum() {
        let w = [1.0, 2.0, 1.0, 0.5, 1.0];
        // scores 1, 4, 4, 1.5, 3: the first of the tied maxima
        assert_eq!(Portable::argmax(&[1.0, -2.0, 4.0, 3.0, 3.0], &w), (4.0, 1));
    }

    /// Ignored (with the reason) where the build machine's CPU has no AVX-512: the kernels cannot
    /// run there, and a test that printed and passed would claim a check that never ran.
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[cfg_attr(
        not(dictlab_avx512),
        ignore = "this CPU has no AVX-512: the AVX-512 OMP kernels cannot run here"
    )]
    fn avx512_kernels_agree_with_the_portable_ones() {
        assert!(
            crate::code::simd::detected() >= crate::code::simd::Level::Avx512,
            "built on a CPU with AVX-512, run on one without: rebuild the tests here"
        );
        kernels_agree::<avx512::Kernel>();
    }

    /// Ignored (with the reason) where the build machine's CPU has no AVX2 + FMA.
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[cfg_attr(
        not(dictlab_avx2),
        ignore = "this CPU has no AVX2 + FMA: the AVX2 OMP kernels cannot run here"
    )]
    fn avx2_kernels_agree_with_the_portable_ones() {
        assert!(
            crate::code::simd::detected() >= crate::code::simd::Level::Avx2,
            "built on a CPU with AVX2, run on one without: rebuild the tests here"
        );
        kernels_agree::<avx2::Kernel>();
    }
}
