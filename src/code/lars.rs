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
//! Cost per signal: O(m |I|) per breakpoint plus O(|I|²) solves.
//!
//! ## References
//! * Efron, Hastie, Johnstone, Tibshirani (2004), "Least angle regression", Ann. Stat. 32(2),
//!   §3.1 (LARS), eq. (3.5)–(3.6) (the Lasso modification).
//! * Osborne, Presnell, Turlach (2000), "A new approach to variable selection in least squares
//!   problems", IMA J. Numer. Anal. 20 (homotopy).
//! * Mairal, Bach, Ponce, Sapiro (2010), JMLR 11 — SPAMS' `lasso` uses this homotopy with a Gram.

use super::batch::{SignalOut, axpy_neg, gemv_rows, lasso_objective_gram, per_signal};
use super::{CodeInfo, Encoding, SparseCoder, check_lambda, check_problem};
use crate::error::{Result, ensure};
use crate::iter::{Criterion, Termination};
use crate::linalg;
use ndarray::ArrayView2;

/// LARS-Lasso coder.
///
/// | Name | Default | Purpose | Range |
/// |---|---|---|---|
/// | `lambda` | — | target ℓ1 penalty | > 0 |
/// | `max_steps` | 4·min(n, m) + 10 (if 0) | breakpoints per signal | ≥ 0 |
/// | `nonneg` | false | x ≥ 0 | |
/// | `residual` | None | stop the path earlier, where ‖y − Ax‖₂ = ε (constrained form) | ε ≥ 0 |
///
/// With `residual: Some(ε)` the coder solves the constrained problem
/// $\min \|x\|_1$ s.t. $\|y - Ax\|_2 \le \varepsilon$ (the λ where the path meets the constraint;
/// `lambda` is then a floor): along a segment $\|r(\gamma)\|^2 = \|r\|^2 - 2\gamma\lambda q + \gamma^2 q$
/// with $q = s_I^\top d_I$, so the crossing point is exact.
#[derive(Clone, Debug, PartialEq)]
pub struct LarsLasso {
    /// λ.
    pub lambda: f64,
    /// Breakpoint cap (0 = automatic).
    pub max_steps: usize,
    /// x ≥ 0.
    pub nonneg: bool,
    /// Residual-norm target ε (constrained form), if any.
    pub residual: Option<f64>,
}

impl LarsLasso {
    /// LARS-Lasso to penalty λ.
    pub fn new(lambda: f64) -> Self {
        LarsLasso {
            lambda,
            max_steps: 0,
            nonneg: false,
            residual: None,
        }
    }
    /// Constrained form: min ‖x‖₁ s.t. ‖y − Ax‖₂ ≤ ε (λ = 1e-12·λ_max-free floor).
    pub fn constrained(eps: f64) -> Self {
        LarsLasso {
            residual: Some(eps),
            ..Self::new(1e-12)
        }
    }
    /// Non-negative codes.
    pub fn nonneg(mut self, b: bool) -> Self {
        self.nonneg = b;
        self
    }
}

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
                l[r * cap + r] = v.sqrt();
            } else {
                l[r * cap + c] = v / l[c * cap + c];
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
        v /= l[r * cap + r];
        l[k * cap + r] = v;
        ww += v * v;
    }
    let d = gj[j] - ww;
    if d <= 1e-14 * gj[j] {
        return false;
    }
    l[k * cap + k] = d.sqrt();
    true
}

fn solve(l: &[f64], cap: usize, k: usize, rhs: &[f64], out: &mut [f64]) {
    for r in 0..k {
        let mut v = rhs[r];
        for c in 0..r {
            v -= l[r * cap + c] * out[c];
        }
        out[r] = v / l[r * cap + r];
    }
    for r in (0..k).rev() {
        let mut v = out[r];
        for c in r + 1..k {
            v -= l[c * cap + r] * out[c];
        }
        out[r] = v / l[r * cap + r];
    }
}

/// Per-worker scratch (allocated once per worker, reset per signal in O(m)).
struct Scratch {
    c: Vec<f64>,
    x: Vec<f64>,
    active: Vec<usize>,
    is_active: Vec<bool>,
    l: Vec<f64>,
    signs: Vec<f64>,
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
fn lars_one(p: &Problem<'_>, sc: &mut Scratch, b: &[f64], yy: f64) -> (usize, bool) {
    let (g, m, lambda, nonneg, cap) = (p.g, p.m, p.lambda, p.nonneg, p.cap);
    let Scratch {
        c,
        x,
        active,
        is_active,
        l,
        signs,
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
    // λ_max and the first atom
    let (mut j0, mut lam) = (usize::MAX, 0.0);
    for (j, &cj) in c.iter().enumerate() {
        let v = if nonneg { cj } else { cj.abs() };
        if v > lam {
            lam = v;
            j0 = j;
        }
    }
    let mut rr = yy; // ‖r‖², tracked for the residual target
    if lam <= lambda || j0 == usize::MAX || p.residual2.is_some_and(|e2| rr <= e2) {
        return (0, true);
    }
    let mut hit_residual = false;
    let mut join = Some(j0);
    let mut steps = 0;
    loop {
        if let Some(j) = join.take() {
            if active.len() >= cap {
                break;
            }
            active.push(j);
            is_active[j] = true;
            signs.push(if c[j] >= 0.0 { 1.0 } else { -1.0 });
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
        solve(l, cap, k, signs, d);
        gemv_rows(a, g, m, active, &d[..k]);
        // step lengths
        let mut gamma = lam - lambda;
        let mut event: Option<(bool, usize)> = None; // (is_join, index)
        if let Some((g, jj)) = first_join(a, c, is_active, lam, nonneg, gamma, jstep) {
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
        axpy_neg(c, gamma, a);
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
        solve(l, cap, k, &a[..k], d);
        if (0..k).all(|t| d[t] * signs[t] > 0.0) {
            for t in 0..k {
                x[active[t]] = d[t];
            }
        }
    }
    (steps, reached)
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
        let (aj, cj) = (a[j], c[j]);
        let (d1, d2) = (1.0 - aj, 1.0 + aj);
        let g1 = (lam - cj) / d1;
        let g2 = (lam + cj) / d2;
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
        let g = if g2 < g1 { g2 } else { g1 };
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

/// [`lars_one`] compiled for AVX2 + FMA (selected at run time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn lars_one_avx2(p: &Problem<'_>, sc: &mut Scratch, b: &[f64], yy: f64) -> (usize, bool) {
    lars_one(p, sc, b, yy)
}

fn lars_dispatch(p: &Problem<'_>, sc: &mut Scratch, b: &[f64], yy: f64) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if super::batch::has_avx2_fma() {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { lars_one_avx2(p, sc, b, yy) };
    }
    lars_one(p, sc, b, yy)
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
        check_lambda(self.lambda)?;
        if let Some(e) = self.residual {
            ensure!(e.is_finite() && e >= 0.0, "residual", e, "ε ≥ 0");
        }
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
