//! LARS-Lasso homotopy (the path algorithm SPAMS uses), per signal on the Gram matrix.
//!
//! Follows the piecewise-linear Lasso path $x(\lambda)$ of
//! $\min_x \tfrac12\|y - Ax\|^2 + \lambda\|x\|_1$ from $\lambda_{\max} = \|A^\top y\|_\infty$ down to
//! the target λ. With active set I, signs $s_I$ and correlations $c = A^\top y - Gx$ (so that
//! $c_I = \lambda s_I$), the direction is $d_I = G_{II}^{-1}s_I$, $a = G_{:,I}d_I$, and the step γ is
//! the smallest of: an inactive $j$ reaching $|c_j - \gamma a_j| = \lambda - \gamma$ (join); an active
//! coefficient crossing zero, $\gamma = -x_i/d_i$ (the Lasso modification: drop); or
//! $\lambda - \gamma = \lambda_{target}$ (stop). $G_{II}$'s Cholesky factor grows by one row on a join
//! and is refactored on a drop. With `nonneg`, only positive correlations join.
//! Cost per signal: O(m |I|) per breakpoint plus O(|I|²) solves. The O(m) work of a breakpoint
//! (c's update by the last step, `a`, the join steps with one division per atom, their minimum)
//! runs as one fused AVX-512 pass where the CPU has it (`avx512` below), as one fused AVX2 + FMA
//! pass where it has only those (`avx2`), each checked against the portable passes by a unit test;
//! elsewhere as separate auto-vectorized passes.
//!
//! ## References
//! * Efron, Hastie, Johnstone, Tibshirani (2004), "Least angle regression", Ann. Stat. 32(2),
//!   §3.1 (LARS), eq. (3.5)–(3.6) (the Lasso modification).
//! * Osborne, Presnell, Turlach (2000), "A new approach to variable selection in least squares
//!   problems", IMA J. Numer. Anal. 20 (homotopy).
//! * Mairal, Bach, Ponce, Sapiro (2010), JMLR 11 — SPAMS' `lasso` uses this homotopy with a Gram.

use super::batch::{SignalOut, axpy_neg, gemv_rows, lasso_objective_gram, per_signal};
use super::{CodeInfo, CoderSpec, Encoding, LAMBDA, SparseCoder, check_problem};

/// `lasso`: the Lasso with the fastest exact solver (the LARS homotopy).
pub const LASSO_SPEC: CoderSpec = CoderSpec {
    name: "lasso",
    family: crate::spec::Family::Coder,
    summary: "the Lasso, solved exactly by the LARS homotopy (the fastest exact solver here)",
    params: LarsLasso::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(LarsLasso::from_params(p, ctx)?)),
};

/// `lars`: LARS-Lasso homotopy (Efron et al. 2004).
pub const SPEC: CoderSpec = CoderSpec {
    name: "lars",
    family: crate::spec::Family::Coder,
    summary: "LARS-Lasso homotopy (Efron et al. 2004), per signal on the Gram matrix",
    params: LarsLasso::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(LarsLasso::from_params(p, ctx)?)),
};
use crate::error::{Result, ensure};
use crate::iter::{Criterion, Termination};
use crate::linalg;
use ndarray::ArrayView2;

crate::declare_method! {
    /// LARS-Lasso coder (see the module doc).
    ///
    /// With `residual: Some(ε)` the coder solves the constrained problem
    /// $\min \|x\|_1$ s.t. $\|y - Ax\|_2 \le \varepsilon$ (the λ where the path meets the constraint;
    /// `lambda` is then a floor): along a segment $\|r(\gamma)\|^2 = \|r\|^2 - 2\gamma\lambda q + \gamma^2 q$
    /// with $q = s_I^\top d_I$, so the crossing point is exact.
    #[derive(Clone, Debug, PartialEq)]
    pub struct LarsLasso {
        given {
            /// ℓ1 penalty λ (a floor in the constrained form)
            lambda: f64 = [LAMBDA] => |p, _ctx| p.f64("lambda")?;
        }
        params {
            /// non-negative codes (x ≥ 0)
            nonneg: bool = param(Bool, false);
            /// breakpoints per signal (0: 4·min(n, m) + 10)
            max_steps: usize = param(Natural, 0);
            /// stop the path where ‖y − Ax‖₂ = ε (the constrained form; unset: at λ)
            residual: Option<f64> = auto(NonNegative, "off");
        }
    }
}

impl LarsLasso {
    /// Constrained form: min ‖x‖₁ s.t. ‖y − Ax‖₂ ≤ ε (λ = 1e-12·λ_max-free floor).
    pub fn constrained(eps: f64) -> Self {
        LarsLasso {
            residual: Some(eps),
            ..Self::new(1e-12)
        }
    }
}

/// The Cholesky factor `L` of `G_II` (row-major, row stride `cap`) with its diagonal stored
/// inverted, `1/L_rr`: the triangular solves of every breakpoint then multiply instead of
/// dividing (a division's latency sat on their serial chains). False if `G_II` is singular.
fn cholesky(g: &[f64], m: usize, idx: &[usize], l: &mut [f64], cap: usize) -> bool {
    let k = idx.len();
    for r in 0..k {
        for c in 0..=r {
            let mut v = g[idx[r] * m + idx[c]];
            for t in 0..c {
                v -= l[r * cap + t] * l[c * cap + t];
            }
            if r == c {
                if v <= 1e-14 * g[idx[r] * m + idx[r]] {
                    return false;
                }
                l[r * cap + r] = 1.0 / v.sqrt();
            } else {
                l[r * cap + c] = v * l[c * cap + c];
            }
        }
    }
    true
}

/// Extend the Cholesky factor of G_II by the last index of `idx` (O(k²)); false if dependent.
fn chol_append(g: &[f64], m: usize, idx: &[usize], l: &mut [f64], cap: usize) -> bool {
    let k = idx.len() - 1;
    let j = idx[k];
    let gj = &g[j * m..(j + 1) * m];
    let mut ww = 0.0;
    for r in 0..k {
        let mut v = gj[idx[r]];
        for c in 0..r {
            v -= l[r * cap + c] * l[k * cap + c];
        }
        v *= l[r * cap + r];
        l[k * cap + r] = v;
        ww += v * v;
    }
    let d = gj[j] - ww;
    if d <= 1e-14 * gj[j] {
        return false;
    }
    l[k * cap + k] = 1.0 / d.sqrt();
    true
}

/// Forward substitution `L u = rhs` for rows `from..k`, rows `..from` of `u` already solved (the
/// solution is prefix-stable: an appended atom adds one row).
fn forward(l: &[f64], cap: usize, from: usize, k: usize, rhs: &[f64], u: &mut [f64]) {
    for r in from..k {
        let mut v = rhs[r];
        for c in 0..r {
            v -= l[r * cap + c] * u[c];
        }
        u[r] = v * l[r * cap + r];
    }
}

/// Back substitution `Lᵀ out = u` (inverted diagonal, see [`cholesky`]) in its column form: once
/// `out_r` is known, subtract it times column r of `Lᵀ` — row r of `L`, contiguous — from the
/// rows above (an AXPY per row instead of a dot product per row: the serial chain is one
/// multiply-add long per row).
fn back(l: &[f64], cap: usize, k: usize, u: &[f64], out: &mut [f64]) {
    out[..k].copy_from_slice(&u[..k]);
    for r in (0..k).rev() {
        let xr = out[r] * l[r * cap + r];
        out[r] = xr;
        for (o, &lv) in out[..r].iter_mut().zip(&l[r * cap..r * cap + r]) {
            *o -= lv * xr;
        }
    }
}

/// `λ_max = max_j |c_j|` (`max_j c_j` for non-negative codes; 0 when no entry is positive) and
/// its first index: a lane-wise maximum (16 independent lanes, so it compiles to vector max
/// instructions), then a search for the first entry holding it.
#[inline(always)]
#[allow(clippy::needless_range_loop, clippy::float_cmp)] // fixed-width lanes; `best` is an entry
fn lambda_max(c: &[f64], nonneg: bool) -> (f64, usize) {
    const W: usize = 16;
    let score = |v: f64| if nonneg { v } else { v.abs() };
    let mut lv = [0.0f64; W];
    let full = c.len() / W * W;
    for ch in c[..full].chunks_exact(W) {
        for l in 0..W {
            let s = score(ch[l]);
            lv[l] = if s > lv[l] { s } else { lv[l] };
        }
    }
    let mut best = lv.iter().fold(0.0f64, |a, &b| if b > a { b } else { a });
    for &v in &c[full..] {
        let s = score(v);
        best = if s > best { s } else { best };
    }
    if best <= 0.0 {
        return (0.0, 0);
    }
    let at = c.iter().position(|&v| score(v) == best).unwrap_or(0);
    (best, at)
}

/// Per-worker scratch (allocated once per worker, reset per signal in O(m)).
struct Scratch {
    c: Vec<f64>,
    x: Vec<f64>,
    active: Vec<usize>,
    is_active: Vec<bool>,
    l: Vec<f64>,
    signs: Vec<f64>,
    u: Vec<f64>, // L⁻¹ s_I, extended row by row while atoms only join
    d: Vec<f64>,
    a: Vec<f64>,
    vals: Vec<f64>,
    steps: Vec<f64>, // join step of every atom at this breakpoint (first_join's buffer)
}

impl Scratch {
    fn new(m: usize, cap: usize) -> Self {
        Scratch {
            c: vec![0.0; m],
            x: vec![0.0; m],
            active: Vec::with_capacity(cap),
            is_active: vec![false; m],
            l: vec![0.0; cap * cap],
            signs: Vec::with_capacity(cap),
            u: vec![0.0; cap],
            d: vec![0.0; cap],
            a: vec![0.0; m],
            vals: Vec::with_capacity(cap),
            steps: vec![0.0; m],
        }
    }
}

/// Shared inputs.
struct Problem<'a> {
    g: &'a [f64],
    m: usize,
    lambda: f64,
    nonneg: bool,
    max_steps: usize,
    cap: usize,
    residual2: Option<f64>,
}

/// One signal (b = Aᵀy): leaves the code on `sc.active`/`sc.x`; returns (breakpoints, reached λ).
#[inline(always)]
fn lars_one<K: JoinKernel>(p: &Problem<'_>, sc: &mut Scratch, b: &[f64], yy: f64) -> (usize, bool) {
    let (g, m, lambda, nonneg, cap) = (p.g, p.m, p.lambda, p.nonneg, p.cap);
    let Scratch {
        c,
        x,
        active,
        is_active,
        l,
        signs,
        u,
        d,
        a,
        steps: jstep,
        ..
    } = sc;
    for &j in active.iter() {
        x[j] = 0.0;
        is_active[j] = false;
    }
    active.clear();
    signs.clear();
    c.copy_from_slice(b);
    // c's update by the last step, c −= γ a, is applied by the next pass (γ = 0 at the start)
    a.fill(0.0);
    let mut pending = 0.0;
    // λ_max and the first atom
    let (mut lam, j0) = lambda_max(c, nonneg);
    let mut rr = yy; // ‖r‖², tracked for the residual target
    if lam <= lambda || p.residual2.is_some_and(|e2| rr <= e2) {
        return (0, true);
    }
    let mut hit_residual = false;
    let mut join = Some(j0);
    let mut steps = 0;
    let mut u_len = 0; // rows of u valid for the current factor
    loop {
        if let Some(j) = join.take() {
            if active.len() >= cap {
                break;
            }
            active.push(j);
            is_active[j] = true;
            // c_j after the pending update (|c_j| = λ > 0 for a joining atom)
            let cj = c[j] - pending * a[j];
            signs.push(if cj >= 0.0 { 1.0 } else { -1.0 });
            if !chol_append(g, m, active, l, cap) {
                // dependent atom: undo and stop at the current breakpoint
                active.pop();
                is_active[j] = false;
                signs.pop();
                cholesky(g, m, active, l, cap);
                break;
            }
        }
        let k = active.len();
        // d = G_II⁻¹ s_I: only the new rows of u = L⁻¹ s_I, then the back substitution
        forward(l, cap, u_len, k, signs, u);
        u_len = k;
        back(l, cap, k, u, d);
        // step lengths
        let mut gamma = lam - lambda;
        let mut event: Option<(bool, usize)> = None; // (is_join, index)
        let found = K::pass(
            JoinPass {
                c,
                a,
                pending,
                g,
                active,
                d: &d[..k],
                is_active,
                lam,
                nonneg,
                cap: gamma,
            },
            jstep,
        );
        if let Some((g, jj)) = found {
            gamma = g;
            event = Some((true, jj));
        }
        for t in 0..k {
            // a coefficient moving against its sign reaches zero at γ = |x|/|d| (γ = 0 for an atom
            // that joined with a direction of the wrong sign: it is dropped at once)
            if d[t] * signs[t] < 0.0 {
                let gcand: f64 = x[active[t]].abs() / d[t].abs();
                if gcand < gamma {
                    gamma = gcand;
                    event = Some((false, t));
                }
            }
        }
        let q: f64 = (0..k).map(|t| signs[t] * d[t]).sum();
        if let Some(e2) = p.residual2 {
            // smallest γ with rr − 2γλq + γ²q = ε²
            let disc = lam * lam - (rr - e2) / q.max(1e-300);
            if disc >= 0.0 {
                let ge = lam - disc.sqrt();
                if ge <= gamma {
                    gamma = ge.max(0.0);
                    event = None;
                    hit_residual = true;
                }
            }
        }
        rr = (rr - 2.0 * gamma * lam * q + gamma * gamma * q).max(0.0);
        for t in 0..k {
            x[active[t]] += gamma * d[t];
        }
        pending = gamma;
        lam -= gamma;
        steps += 1;
        match event {
            None => break, // reached the target λ
            Some((true, jj)) => join = Some(jj),
            Some((false, t)) => {
                let j = active.remove(t);
                signs.remove(t);
                is_active[j] = false;
                x[j] = 0.0;
                cholesky(g, m, active, l, cap);
                u_len = 0;
            }
        }
        if steps >= p.max_steps {
            return (steps, false);
        }
    }
    let reached = hit_residual || (lam - lambda).abs() <= 1e-12 * lambda.max(1.0);
    // Remove the drift accumulated by the rank-one updates of c: at the final λ the path solution
    // is x_I = G_II⁻¹(b_I − λ s_I) exactly; keep it when the signs agree with the path's.
    let k = active.len();
    if reached && k > 0 {
        // d is free now: rhs in a, solution in d
        for t in 0..k {
            a[t] = b[active[t]] - lam * signs[t];
        }
        forward(l, cap, 0, k, &a[..k], u);
        back(l, cap, k, u, d);
        if (0..k).all(|t| d[t] * signs[t] > 0.0) {
            for t in 0..k {
                x[active[t]] = d[t];
            }
        }
    }
    (steps, reached)
}

/// The join step of one inactive atom: the smallest admissible of (λ − c)/(1 − a) and
/// (λ + c)/(1 + a) (only the first for `nonneg`; ∞ when none is), with one division for both.
#[inline(always)]
fn join_step(a: f64, c: f64, lam: f64, nonneg: bool) -> f64 {
    let (d1, d2) = (1.0 - a, 1.0 + a);
    // 1/(d1 d2) serves both (d1 or d2 near 0 is rejected below)
    let r = 1.0 / (d1 * d2);
    let g1 = (lam - c) * d2 * r;
    let g2 = (lam + c) * d1 * r;
    let g1 = if d1.abs() > 1e-15 && g1 > 1e-15 {
        g1
    } else {
        f64::INFINITY
    };
    let g2 = if !nonneg && d2.abs() > 1e-15 && g2 > 1e-15 {
        g2
    } else {
        f64::INFINITY
    };
    if g2 < g1 { g2 } else { g1 }
}

/// Smallest join step over inactive atoms: γ_j = min over the admissible of (λ − c_j)/(1 − a_j) and
/// (λ + c_j)/(1 + a_j) (only the first for `nonneg`), below `cap`; ties go to the first index.
/// Three simple passes so each vectorizes (the divisions and selects, a lane-wise minimum, the
/// first index attaining it), with `buf` (length m) holding the candidates.
#[inline(always)]
#[allow(clippy::float_cmp)] // the minimum is one of the candidates, compared exactly
fn first_join(
    a: &[f64],
    c: &[f64],
    is_active: &[bool],
    lam: f64,
    nonneg: bool,
    cap: f64,
    buf: &mut [f64],
) -> Option<(f64, usize)> {
    let m = a.len();
    let (a, c, is_active, buf) = (&a[..m], &c[..m], &is_active[..m], &mut buf[..m]);
    for j in 0..m {
        let g = join_step(a[j], c[j], lam, nonneg);
        buf[j] = if is_active[j] { f64::INFINITY } else { g };
    }
    const W: usize = 8;
    let mut lv = [f64::INFINITY; W];
    let mut chunks = buf.chunks_exact(W);
    for ch in &mut chunks {
        for l in 0..W {
            lv[l] = if ch[l] < lv[l] { ch[l] } else { lv[l] };
        }
    }
    let mut best = lv
        .iter()
        .fold(f64::INFINITY, |x, &y| if y < x { y } else { x });
    for &g in chunks.remainder() {
        if g < best {
            best = g;
        }
    }
    if best >= cap {
        return None;
    }
    buf.iter().position(|&g| g == best).map(|j| (best, j))
}

/// The inputs of one breakpoint's O(m) pass (see [`JoinKernel::pass`]).
struct JoinPass<'a> {
    c: &'a mut [f64],
    a: &'a mut [f64],
    /// The previous step γ, whose update `c −= γ a` (with the old `a`) is still to be applied.
    pending: f64,
    g: &'a [f64],
    active: &'a [usize],
    d: &'a [f64],
    is_active: &'a [bool],
    lam: f64,
    nonneg: bool,
    /// Join steps at or above this are not events.
    cap: f64,
}

/// The O(m) work of one LARS breakpoint.
trait JoinKernel {
    /// `c −= pending·a` (the last step's update), then `a = G[:, I] d_I`, then
    /// [`first_join`]'s smallest admissible join step and its first index, if below `cap`.
    fn pass(p: JoinPass<'_>, buf: &mut [f64]) -> Option<(f64, usize)>;
}

/// Portable kernels: separate auto-vectorized passes.
struct Portable;

impl JoinKernel for Portable {
    #[inline(always)]
    fn pass(p: JoinPass<'_>, buf: &mut [f64]) -> Option<(f64, usize)> {
        let m = p.c.len();
        axpy_neg(p.c, p.pending, p.a);
        gemv_rows(p.a, p.g, m, p.active, p.d);
        first_join(p.a, p.c, p.is_active, p.lam, p.nonneg, p.cap, buf)
    }
}

/// [`lars_one`] with the AVX2 + FMA kernel (selected at run time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn lars_one_avx2(p: &Problem<'_>, sc: &mut Scratch, b: &[f64], yy: f64) -> (usize, bool) {
    lars_one::<avx2::Kernel>(p, sc, b, yy)
}

/// [`lars_one`] with the AVX-512 kernel (selected at run time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn lars_one_avx512(p: &Problem<'_>, sc: &mut Scratch, b: &[f64], yy: f64) -> (usize, bool) {
    lars_one::<avx512::Kernel>(p, sc, b, yy)
}

fn lars_dispatch(p: &Problem<'_>, sc: &mut Scratch, b: &[f64], yy: f64) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx512() {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { lars_one_avx512(p, sc, b, yy) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx2() {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { lars_one_avx2(p, sc, b, yy) };
    }
    lars_one::<Portable>(p, sc, b, yy)
}

/// The fused pass of [`avx512`] on 4-lane AVX2 + FMA registers (16 atoms per iteration, four
/// FMA chains), keeping the running minimum and the candidates, whose first minimum is then
/// found in a second, cache-hot pass; each entry sees the operations of the AVX-512 and portable
/// kernels in the same order.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{JoinKernel, JoinPass};
    use std::arch::x86_64::*;

    /// The AVX2 kernel. Only [`super::lars_one_avx2`] uses it, and it runs only where AVX2 and
    /// FMA were detected: that is the safety argument of the `unsafe` call below.
    pub(super) struct Kernel;

    impl JoinKernel for Kernel {
        #[inline(always)]
        fn pass(p: JoinPass<'_>, buf: &mut [f64]) -> Option<(f64, usize)> {
            // SAFETY: see `Kernel`
            unsafe { pass(p, buf) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn abs(x: __m256d) -> __m256d {
        _mm256_andnot_pd(_mm256_set1_pd(-0.0), x)
    }

    /// 4 atoms starting at `i`: apply the pending update to c, store a (`acc` = G[:, I] d_I),
    /// store the admissible join steps (∞ for active atoms) to `buf` and fold them into `t`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn lanes4(p: &mut JoinPass<'_>, buf: &mut [f64], i: usize, acc: __m256d, t: &mut __m256d) {
        let (cp, ap) = (p.c.as_mut_ptr(), p.a.as_mut_ptr());
        // SAFETY: i + 4 ≤ m = c.len() = a.len() = is_active.len() ≤ buf.len() (the caller)
        let (cv, act) = unsafe {
            let cv = _mm256_fnmadd_pd(
                _mm256_set1_pd(p.pending),
                _mm256_loadu_pd(ap.add(i)),
                _mm256_loadu_pd(cp.add(i)),
            );
            _mm256_storeu_pd(cp.add(i), cv);
            _mm256_storeu_pd(ap.add(i), acc);
            let bytes = (p.is_active.as_ptr().add(i) as *const i32).read_unaligned();
            let wide = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(bytes));
            let act = _mm256_castsi256_pd(_mm256_cmpgt_epi64(wide, _mm256_setzero_si256()));
            (cv, act)
        };
        let (one, lam, tiny) = (
            _mm256_set1_pd(1.0),
            _mm256_set1_pd(p.lam),
            _mm256_set1_pd(1e-15),
        );
        let inf = _mm256_set1_pd(f64::INFINITY);
        let d1 = _mm256_sub_pd(one, acc);
        let d2 = _mm256_add_pd(one, acc);
        let r = _mm256_div_pd(one, _mm256_mul_pd(d1, d2));
        let g1 = _mm256_mul_pd(_mm256_mul_pd(_mm256_sub_pd(lam, cv), d2), r);
        let ok1 = _mm256_and_pd(
            _mm256_cmp_pd::<_CMP_GT_OQ>(abs(d1), tiny),
            _mm256_cmp_pd::<_CMP_GT_OQ>(g1, tiny),
        );
        let g1 = _mm256_blendv_pd(inf, g1, ok1);
        let g = if p.nonneg {
            g1
        } else {
            let g2 = _mm256_mul_pd(_mm256_mul_pd(_mm256_add_pd(lam, cv), d1), r);
            let ok2 = _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GT_OQ>(abs(d2), tiny),
                _mm256_cmp_pd::<_CMP_GT_OQ>(g2, tiny),
            );
            let g2 = _mm256_blendv_pd(inf, g2, ok2);
            _mm256_blendv_pd(g1, g2, _mm256_cmp_pd::<_CMP_LT_OQ>(g2, g1))
        };
        let g = _mm256_blendv_pd(g, inf, act);
        // SAFETY: as above
        unsafe { _mm256_storeu_pd(buf.as_mut_ptr().add(i), g) };
        *t = _mm256_min_pd(g, *t);
    }

    /// The fused pass keeping only the running minimum (one instruction per 4 atoms, where
    /// tracking indices costs a compare and two blends) and the candidates in `buf`; the first
    /// index of the minimum is then read from `buf`, which is cache-hot.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn pass(mut p: JoinPass<'_>, buf: &mut [f64]) -> Option<(f64, usize)> {
        let m = p.c.len();
        assert!(p.a.len() == m && p.is_active.len() == m && buf.len() >= m);
        assert!(p.d.len() == p.active.len());
        assert!(p.active.iter().all(|&r| (r + 1) * m <= p.g.len()));
        let gp = p.g.as_ptr();
        let full = m / 4 * 4;
        let full16 = m / 16 * 16;
        let mut t = [_mm256_set1_pd(f64::INFINITY); 4];
        for i0 in (0..full16).step_by(16) {
            let mut acc = [_mm256_setzero_pd(); 4];
            for (&r, &dt) in p.active.iter().zip(p.d) {
                let vd = _mm256_set1_pd(dt);
                for (u, a) in acc.iter_mut().enumerate() {
                    // SAFETY: row r of G has m entries (asserted), i0 + 4u + 4 ≤ m
                    let gv = unsafe { _mm256_loadu_pd(gp.add(r * m + i0 + 4 * u)) };
                    *a = _mm256_fmadd_pd(vd, gv, *a);
                }
            }
            for (u, a) in acc.into_iter().enumerate() {
                lanes4(&mut p, buf, i0 + 4 * u, a, &mut t[u]);
            }
        }
        for i0 in (full16..full).step_by(4) {
            let mut a = _mm256_setzero_pd();
            for (&r, &dt) in p.active.iter().zip(p.d) {
                // SAFETY: as above
                let gv = unsafe { _mm256_loadu_pd(gp.add(r * m + i0)) };
                a = _mm256_fmadd_pd(_mm256_set1_pd(dt), gv, a);
            }
            lanes4(&mut p, buf, i0, a, &mut t[0]);
        }
        let t = _mm256_min_pd(_mm256_min_pd(t[0], t[1]), _mm256_min_pd(t[2], t[3]));
        let mut lanes = [0.0f64; 4];
        // SAFETY: a 4-element array
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), t) };
        let mut best = lanes.iter().copied().fold(f64::INFINITY, f64::min);
        // the scalar tail, as the portable kernel
        #[allow(clippy::needless_range_loop)] // c, a, is_active and buf in step
        for j in full..m {
            p.c[j] = (-p.pending).mul_add(p.a[j], p.c[j]);
            let mut aj = 0.0;
            for (&r, &dt) in p.active.iter().zip(p.d) {
                aj = dt.mul_add(p.g[r * m + j], aj);
            }
            p.a[j] = aj;
            let g = super::join_step(aj, p.c[j], p.lam, p.nonneg);
            let g = if p.is_active[j] { f64::INFINITY } else { g };
            buf[j] = g;
            if g < best {
                best = g;
            }
        }
        if best >= p.cap {
            return None;
        }
        #[allow(clippy::float_cmp)] // the minimum is one of the stored candidates
        buf[..m].iter().position(|&g| g == best).map(|j| (best, j))
    }
}

/// One fused AVX-512 pass per breakpoint, 8 atoms at a time in registers: the deferred update of
/// c, the new `a = G[:, I] d_I` (four independent FMA chains, 32 atoms per iteration), both join
/// candidates with one division, and the running minimum with its index (four trackers).
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{JoinKernel, JoinPass};
    use std::arch::x86_64::*;

    /// The AVX-512 kernel. Only [`super::lars_one_avx512`] uses it, and it runs only where
    /// AVX-512F was detected: that is the safety argument of the `unsafe` call below.
    pub(super) struct Kernel;

    impl JoinKernel for Kernel {
        #[inline(always)]
        fn pass(p: JoinPass<'_>, _buf: &mut [f64]) -> Option<(f64, usize)> {
            // SAFETY: see `Kernel`
            unsafe { pass(p) }
        }
    }

    /// Running minima with their indices, per lane.
    #[derive(Clone, Copy)]
    struct Track {
        val: __m512d,
        idx: __m512d,
    }

    /// 8 atoms starting at `i`: apply the pending update to c, form a (from `acc` = G[:, I] d_I),
    /// store both, feed the admissible join steps to `t`.
    #[inline]
    #[target_feature(enable = "avx512f,fma")]
    fn lanes8(p: &mut JoinPass<'_>, i: usize, acc: __m512d, t: &mut Track, at: __m512d) {
        let (cp, ap) = (p.c.as_mut_ptr(), p.a.as_mut_ptr());
        // SAFETY: i + 8 ≤ m = c.len() = a.len() = is_active.len() (the caller's loop bounds)
        let (cv, act) = unsafe {
            let cv = _mm512_fnmadd_pd(
                _mm512_set1_pd(p.pending),
                _mm512_loadu_pd(ap.add(i)),
                _mm512_loadu_pd(cp.add(i)),
            );
            _mm512_storeu_pd(cp.add(i), cv);
            _mm512_storeu_pd(ap.add(i), acc);
            let bytes = _mm_loadl_epi64(p.is_active.as_ptr().add(i) as *const __m128i);
            let act = _mm512_cmpneq_epi64_mask(_mm512_cvtepu8_epi64(bytes), _mm512_setzero_si512());
            (cv, act)
        };
        let (one, lam, tiny) = (
            _mm512_set1_pd(1.0),
            _mm512_set1_pd(p.lam),
            _mm512_set1_pd(1e-15),
        );
        let inf = _mm512_set1_pd(f64::INFINITY);
        let d1 = _mm512_sub_pd(one, acc);
        let d2 = _mm512_add_pd(one, acc);
        let r = _mm512_div_pd(one, _mm512_mul_pd(d1, d2));
        let g1 = _mm512_mul_pd(_mm512_mul_pd(_mm512_sub_pd(lam, cv), d2), r);
        let g2 = _mm512_mul_pd(_mm512_mul_pd(_mm512_add_pd(lam, cv), d1), r);
        let ok1 = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(_mm512_abs_pd(d1), tiny)
            & _mm512_cmp_pd_mask::<_CMP_GT_OQ>(g1, tiny);
        let ok2 = if p.nonneg {
            0
        } else {
            _mm512_cmp_pd_mask::<_CMP_GT_OQ>(_mm512_abs_pd(d2), tiny)
                & _mm512_cmp_pd_mask::<_CMP_GT_OQ>(g2, tiny)
        };
        let g1 = _mm512_mask_blend_pd(ok1, inf, g1);
        let g2 = _mm512_mask_blend_pd(ok2, inf, g2);
        let g = _mm512_mask_blend_pd(_mm512_cmp_pd_mask::<_CMP_LT_OQ>(g2, g1), g1, g2);
        let g = _mm512_mask_blend_pd(act, g, inf);
        let lt = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(g, t.val);
        t.val = _mm512_mask_blend_pd(lt, t.val, g);
        t.idx = _mm512_mask_blend_pd(lt, t.idx, at);
    }

    #[inline]
    #[target_feature(enable = "avx512f,fma")]
    fn pass(mut p: JoinPass<'_>) -> Option<(f64, usize)> {
        let m = p.c.len();
        assert!(p.a.len() == m && p.is_active.len() == m);
        assert!(p.d.len() == p.active.len());
        assert!(p.active.iter().all(|&r| (r + 1) * m <= p.g.len()));
        let gp = p.g.as_ptr();
        let full = m / 8 * 8;
        let full32 = m / 32 * 32;
        let fresh = Track {
            val: _mm512_set1_pd(f64::INFINITY),
            idx: _mm512_setzero_pd(),
        };
        let mut t = [fresh; 4];
        let eight = _mm512_set1_pd(8.0);
        let mut at = _mm512_setr_pd(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
        for i0 in (0..full32).step_by(32) {
            let mut acc = [_mm512_setzero_pd(); 4];
            for (&r, &dt) in p.active.iter().zip(p.d) {
                let vd = _mm512_set1_pd(dt);
                for (u, a) in acc.iter_mut().enumerate() {
                    // SAFETY: row r of G has m entries (asserted), i0 + 8u + 8 ≤ m
                    let gv = unsafe { _mm512_loadu_pd(gp.add(r * m + i0 + 8 * u)) };
                    *a = _mm512_fmadd_pd(vd, gv, *a);
                }
            }
            for (u, a) in acc.into_iter().enumerate() {
                lanes8(&mut p, i0 + 8 * u, a, &mut t[u], at);
                at = _mm512_add_pd(at, eight);
            }
        }
        for i0 in (full32..full).step_by(8) {
            let mut a = _mm512_setzero_pd();
            for (&r, &dt) in p.active.iter().zip(p.d) {
                // SAFETY: as above
                let gv = unsafe { _mm512_loadu_pd(gp.add(r * m + i0)) };
                a = _mm512_fmadd_pd(_mm512_set1_pd(dt), gv, a);
            }
            lanes8(&mut p, i0, a, &mut t[0], at);
            at = _mm512_add_pd(at, eight);
        }
        // merge the trackers (smaller step, then smaller index), then reduce
        let merge = |x: Track, y: Track| {
            let lt = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(y.val, x.val);
            let eq = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(y.val, x.val);
            let first = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(y.idx, x.idx);
            let take = lt | (eq & first);
            Track {
                val: _mm512_mask_blend_pd(take, x.val, y.val),
                idx: _mm512_mask_blend_pd(take, x.idx, y.idx),
            }
        };
        let t = merge(merge(t[0], t[1]), merge(t[2], t[3]));
        let mut best = _mm512_reduce_min_pd(t.val);
        let eq = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(t.val, _mm512_set1_pd(best));
        let first = _mm512_reduce_min_pd(_mm512_mask_blend_pd(
            eq,
            _mm512_set1_pd(f64::INFINITY),
            t.idx,
        ));
        let mut at = if first.is_finite() { first as usize } else { 0 };
        // the scalar tail, as the portable kernel
        for j in full..m {
            p.c[j] = (-p.pending).mul_add(p.a[j], p.c[j]);
            let mut aj = 0.0;
            for (&r, &dt) in p.active.iter().zip(p.d) {
                aj = dt.mul_add(p.g[r * m + j], aj);
            }
            p.a[j] = aj;
            let g = super::join_step(aj, p.c[j], p.lam, p.nonneg);
            if !p.is_active[j] && g < best {
                (best, at) = (g, j);
            }
        }
        (best < p.cap).then_some((best, at))
    }
}

impl SparseCoder for LarsLasso {
    fn name(&self) -> String {
        let nn = if self.nonneg { "_nonneg" } else { "" };
        match self.residual {
            Some(e) => format!("lars{nn}[eps={e}]"),
            None => format!("lars{nn}[lambda={}]", self.lambda),
        }
    }
    fn encode(&self, dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Encoding> {
        let t0 = std::time::Instant::now();
        self.check_params()?;
        check_problem(dict, y)?;
        let (n, m) = dict.dim();
        let max_steps = if self.max_steps == 0 {
            4 * n.min(m) + 10
        } else {
            self.max_steps
        };
        ensure!(max_steps >= 1, "max_steps", max_steps, "≥ 1");
        let gram = linalg::gram(dict, linalg::par());
        let p = Problem {
            g: gram.as_slice().expect("fresh Gram is contiguous"),
            m,
            lambda: self.lambda,
            nonneg: self.nonneg,
            max_steps,
            cap: m.min(n).min(max_steps + 1),
            residual2: self.residual.map(|e| e * e),
        };
        let batch = per_signal(
            dict,
            y,
            || Scratch::new(m, p.cap),
            |sc, _, b, yy, sink| {
                let (steps, ok) = lars_dispatch(&p, sc, b, yy);
                // the code lives on the active set, except for the dropped ones (x = 0 there)
                sc.vals.clear();
                for &i in &sc.active {
                    sc.vals.push(sc.x[i]);
                    sink.push(i, sc.x[i]);
                }
                let objective = lasso_objective_gram(p.g, m, b, yy, &sc.active, &sc.vals, p.lambda);
                SignalOut {
                    steps,
                    ok,
                    objective,
                }
            },
        );
        let (x, iters, all, objective) = (
            batch.codes,
            batch.steps_max,
            batch.not_ok == 0,
            batch.objective,
        );
        let termination = if !objective.is_finite() {
            Termination::NonFinite { iter: iters }
        } else if all {
            Termination::Converged(Criterion::Solver("path_end"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The factor with its inverted diagonal, grown atom by atom, solves `G_II d = s` (checked by
    /// multiplying back), the prefix-stable forward rows equal a fresh forward solve, and a
    /// hand-computed 2 × 2 case: G = [[4, 2], [2, 5]] → L = [[2, 0], [1, 2]], stored diagonal 1/2.
    #[test]
    fn inverted_diagonal_factor_solves_the_gram_system() {
        let g2 = [4.0, 2.0, 2.0, 5.0];
        let mut l2 = [0.0; 4];
        assert!(cholesky(&g2, 2, &[0, 1], &mut l2, 2));
        // exact in binary: √4 = 2, 2/2 = 1, √(5 − 1) = 2
        #[allow(clippy::float_cmp)]
        let exact = l2 == [0.5, 0.0, 1.0, 0.5];
        assert!(exact, "{l2:?}");
        let (mut u2, mut d2) = ([0.0; 2], [0.0; 2]);
        forward(&l2, 2, 0, 2, &[1.0, 1.0], &mut u2);
        back(&l2, 2, 2, &u2, &mut d2);
        // G⁻¹ (1, 1) = (3, 2) / 16
        assert!((d2[0] - 3.0 / 16.0).abs() < 1e-15 && (d2[1] - 2.0 / 16.0).abs() < 1e-15);

        let mut rng = StdRng::seed_from_u64(5);
        let (n, m, cap) = (12, 9, 9);
        let a: Vec<f64> = (0..n * m).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut g = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                g[i * m + j] = (0..n).map(|r| a[r * m + i] * a[r * m + j]).sum();
            }
        }
        let idx = [4, 0, 7, 2, 8, 1];
        let s: Vec<f64> = (0..idx.len())
            .map(|t| if t % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let (mut l, mut u, mut d) = (vec![0.0; cap * cap], vec![0.0; cap], vec![0.0; cap]);
        let mut fresh = vec![0.0; cap];
        for k in 1..=idx.len() {
            assert!(chol_append(&g, m, &idx[..k], &mut l, cap));
            forward(&l, cap, k - 1, k, &s, &mut u);
            forward(&l, cap, 0, k, &s, &mut fresh);
            assert_eq!(u[..k], fresh[..k]);
            back(&l, cap, k, &u, &mut d);
            for r in 0..k {
                let gd: f64 = (0..k).map(|c| g[idx[r] * m + idx[c]] * d[c]).sum();
                assert!(
                    (gd - s[r]).abs() < 1e-9,
                    "k = {k}, row {r}: {gd} vs {}",
                    s[r]
                );
            }
        }
        // the incremental factor equals the one computed at once
        let mut l_once = vec![0.0; cap * cap];
        assert!(cholesky(&g, m, &idx, &mut l_once, cap));
        for (x, y) in l.iter().zip(&l_once) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    /// `λ_max` by hand: the largest |c| (the largest c for non-negative codes), first index on
    /// ties, across the 16-lane body and the tail; 0 when nothing is positive.
    #[test]
    fn lambda_max_takes_the_first_largest_entry() {
        let mut c = vec![0.1; 37];
        c[5] = -3.0;
        c[20] = 3.0;
        c[36] = 2.5;
        assert_eq!(lambda_max(&c, false), (3.0, 5));
        assert_eq!(lambda_max(&c, true), (3.0, 20));
        c[36] = 4.0; // in the tail
        assert_eq!(lambda_max(&c, false), (4.0, 36));
        assert_eq!(lambda_max(&[-1.0, -2.0], true), (0.0, 0));
        assert_eq!(lambda_max(&[], false), (0.0, 0));
    }

    /// The AVX-512 pass against the portable passes: same c, a, join step and index, on lengths
    /// with and without a vector tail, signed and non-negative, with active atoms excluded.
    /// Ignored (with the reason) where the build machine's CPU has no AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[cfg_attr(
        not(dictlab_avx512),
        ignore = "this CPU has no AVX-512: the AVX-512 LARS pass cannot run here"
    )]
    fn avx512_pass_agrees_with_the_portable_one() {
        assert!(
            crate::code::simd::detected() >= crate::code::simd::Level::Avx512,
            "built on a CPU with AVX-512, run on one without: rebuild the tests here"
        );
        pass_agrees_with_the_portable_one::<avx512::Kernel>();
    }

    /// Ignored (with the reason) where the build machine's CPU has no AVX2 + FMA.
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[cfg_attr(
        not(dictlab_avx2),
        ignore = "this CPU has no AVX2 + FMA: the AVX2 LARS kernel cannot run here"
    )]
    fn avx2_pass_agrees_with_the_portable_one() {
        assert!(
            crate::code::simd::detected() >= crate::code::simd::Level::Avx2,
            "built on a CPU with AVX2, run on one without: rebuild the tests here"
        );
        pass_agrees_with_the_portable_one::<avx2::Kernel>();
    }

    /// The fused kernel `K` against the portable passes on random breakpoints, signed and
    /// non-negative, over sizes with and without vector tails.
    #[cfg(target_arch = "x86_64")]
    fn pass_agrees_with_the_portable_one<K: JoinKernel>() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut joins = 0;
        for m in [3, 8, 13, 32, 40, 64, 100, 256] {
            for nonneg in [false, true] {
                let g: Vec<f64> = (0..m * m).map(|_| rng.random_range(-0.3..0.3)).collect();
                let k = (m / 4).clamp(1, 6);
                let active: Vec<usize> = (0..k).map(|t| (t * 7) % m).collect::<Vec<_>>();
                let mut active = active;
                active.dedup();
                let mut is_active = vec![false; m];
                active.iter().for_each(|&j| is_active[j] = true);
                let d: Vec<f64> = (0..active.len())
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect();
                let c0: Vec<f64> = (0..m).map(|_| rng.random_range(-0.5..0.5)).collect();
                let a0: Vec<f64> = (0..m).map(|_| rng.random_range(-0.5..0.5)).collect();
                let mut out = Vec::new();
                for fused in [false, true] {
                    let (mut c, mut a, mut buf) = (c0.clone(), a0.clone(), vec![0.0; m]);
                    let p = JoinPass {
                        c: &mut c,
                        a: &mut a,
                        pending: 0.3,
                        g: &g,
                        active: &active,
                        d: &d,
                        is_active: &is_active,
                        lam: 0.8,
                        nonneg,
                        cap: 10.0,
                    };
                    let r = if fused {
                        K::pass(p, &mut buf)
                    } else {
                        Portable::pass(p, &mut buf)
                    };
                    out.push((c, a, r));
                }
                let ((c1, a1, r1), (c2, a2, r2)) = (&out[0], &out[1]);
                for (x, y) in c1.iter().zip(c2).chain(a1.iter().zip(a2)) {
                    assert!((x - y).abs() <= 1e-12, "m = {m}: {x} vs {y}");
                }
                match (r1, r2) {
                    (Some((g1, j1)), Some((g2, j2))) => {
                        assert_eq!(j1, j2, "m = {m}, nonneg = {nonneg}");
                        assert!((g1 - g2).abs() <= 1e-12 * g1.abs().max(1.0));
                        assert!(!is_active[*j1]);
                        joins += 1;
                    }
                    (None, None) => {}
                    _ => panic!("m = {m}: {r1:?} vs {r2:?}"),
                }
            }
        }
        assert!(joins >= 10, "only {joins} cases had a join");
    }
}
