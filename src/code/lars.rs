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

use super::{CodeInfo, Encoding, SparseCoder, check_lambda, check_problem, lasso_objective};
use crate::error::{Result, ensure};
use crate::iter::{Criterion, Termination};
use ndarray::{Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;

/// LARS-Lasso coder.
///
/// | Name | Default | Purpose | Range |
/// |---|---|---|---|
/// | `lambda` | — | target ℓ1 penalty | > 0 |
/// | `max_steps` | 4·min(n, m) + 10 (if 0) | breakpoints per signal | ≥ 0 |
/// | `nonneg` | false | x ≥ 0 | |
#[derive(Clone, Debug, PartialEq)]
pub struct LarsLasso {
    /// λ.
    pub lambda: f64,
    /// Breakpoint cap (0 = automatic).
    pub max_steps: usize,
    /// x ≥ 0.
    pub nonneg: bool,
}

impl LarsLasso {
    /// LARS-Lasso to penalty λ.
    pub fn new(lambda: f64) -> Self {
        LarsLasso {
            lambda,
            max_steps: 0,
            nonneg: false,
        }
    }
    /// Non-negative codes.
    pub fn nonneg(mut self, b: bool) -> Self {
        self.nonneg = b;
        self
    }
}

fn cholesky(g: &Array2<f64>, idx: &[usize], l: &mut [f64], cap: usize) -> bool {
    let k = idx.len();
    l.iter_mut().for_each(|v| *v = 0.0);
    for r in 0..k {
        for c in 0..=r {
            let mut v = g[(idx[r], idx[c])];
            for t in 0..c {
                v -= l[r * cap + t] * l[c * cap + t];
            }
            if r == c {
                if v <= 1e-14 * g[(idx[r], idx[r])] {
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
fn chol_append(g: &Array2<f64>, idx: &[usize], l: &mut [f64], cap: usize) -> bool {
    let k = idx.len() - 1;
    let j = idx[k];
    let mut ww = 0.0;
    for r in 0..k {
        let mut v = g[(idx[r], j)];
        for c in 0..r {
            v -= l[r * cap + c] * l[k * cap + c];
        }
        v /= l[r * cap + r];
        l[k * cap + r] = v;
        ww += v * v;
    }
    let d = g[(j, j)] - ww;
    if d <= 1e-14 * g[(j, j)] {
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

/// One signal: returns (sparse code, breakpoints, reached target λ).
fn lars_one(
    g: &Array2<f64>,
    b: ArrayView1<'_, f64>,
    lambda: f64,
    nonneg: bool,
    max_steps: usize,
) -> (Vec<(usize, f64)>, usize, bool) {
    let m = g.nrows();
    let cap = m.min(max_steps + 1);
    let mut c: Vec<f64> = b.to_vec();
    let mut x = vec![0.0f64; m];
    let mut active: Vec<usize> = Vec::new();
    let mut is_active = vec![false; m];
    let mut l = vec![0.0; cap * cap];
    let mut signs: Vec<f64> = Vec::new();
    let mut d = vec![0.0f64; cap];
    let mut a = vec![0.0; m];
    // λ_max and the first atom
    let (mut j0, mut lam) = (usize::MAX, 0.0);
    for (j, &cj) in c.iter().enumerate() {
        let v = if nonneg { cj } else { cj.abs() };
        if v > lam {
            lam = v;
            j0 = j;
        }
    }
    if lam <= lambda || j0 == usize::MAX {
        return (vec![], 0, true);
    }
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
            if !chol_append(g, &active, &mut l, cap) {
                // dependent atom: undo and stop at the current breakpoint
                active.pop();
                is_active[j] = false;
                signs.pop();
                cholesky(g, &active, &mut l, cap);
                break;
            }
        }
        let k = active.len();
        solve(&l, cap, k, &signs, &mut d);
        for (jj, av) in a.iter_mut().enumerate() {
            let mut s = 0.0;
            for t in 0..k {
                s += g[(jj, active[t])] * d[t];
            }
            *av = s;
        }
        // step lengths
        let mut gamma = lam - lambda;
        let mut event: Option<(bool, usize)> = None; // (is_join, index)
        for jj in 0..m {
            if is_active[jj] {
                continue;
            }
            let g1 = if (1.0 - a[jj]).abs() > 1e-15 {
                (lam - c[jj]) / (1.0 - a[jj])
            } else {
                f64::INFINITY
            };
            let g2 = if nonneg {
                f64::INFINITY
            } else if (1.0 + a[jj]).abs() > 1e-15 {
                (lam + c[jj]) / (1.0 + a[jj])
            } else {
                f64::INFINITY
            };
            for gcand in [g1, g2] {
                if gcand > 1e-15 && gcand < gamma {
                    gamma = gcand;
                    event = Some((true, jj));
                }
            }
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
        for t in 0..k {
            x[active[t]] += gamma * d[t];
        }
        for (cv, av) in c.iter_mut().zip(&a) {
            *cv -= gamma * av;
        }
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
                cholesky(g, &active, &mut l, cap);
            }
        }
        if steps >= max_steps {
            return (
                x.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(i, v)| (i, *v))
                    .collect(),
                steps,
                false,
            );
        }
    }
    let reached = (lam - lambda).abs() <= 1e-12 * lambda.max(1.0);
    // Remove the drift accumulated by the rank-one updates of c: at the target λ the path solution
    // is x_I = G_II⁻¹(b_I − λ s_I) exactly; keep it when the signs agree with the path's.
    let k = active.len();
    if reached && k > 0 {
        let rhs: Vec<f64> = (0..k).map(|t| b[active[t]] - lambda * signs[t]).collect();
        let mut xi = vec![0.0; k];
        solve(&l, cap, k, &rhs, &mut xi);
        if (0..k).all(|t| xi[t] * signs[t] > 0.0) {
            for t in 0..k {
                x[active[t]] = xi[t];
            }
        }
    }
    (
        x.iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(i, v)| (i, *v))
            .collect(),
        steps,
        reached,
    )
}

impl SparseCoder for LarsLasso {
    fn name(&self) -> String {
        format!(
            "lars{}[lambda={}]",
            if self.nonneg { "_nonneg" } else { "" },
            self.lambda
        )
    }
    fn encode(&self, dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Encoding> {
        let t0 = std::time::Instant::now();
        check_lambda(self.lambda)?;
        check_problem(dict, y)?;
        let (n, m) = dict.dim();
        let max_steps = if self.max_steps == 0 {
            4 * n.min(m) + 10
        } else {
            self.max_steps
        };
        ensure!(max_steps >= 1, "max_steps", max_steps, "≥ 1");
        let (gram, at) = super::per_signal_precompute(dict, y);
        let nn = y.ncols();
        let res: Vec<_> = (0..nn)
            .into_par_iter()
            .map(|j| lars_one(&gram, at.row(j), self.lambda, self.nonneg, max_steps))
            .collect();
        let mut x = Array2::zeros((m, nn));
        let (mut iters, mut all) = (0, true);
        for (j, (code, steps, ok)) in res.iter().enumerate() {
            for &(i, v) in code {
                x[(i, j)] = v;
            }
            iters = iters.max(*steps);
            all &= ok;
        }
        let objective = lasso_objective(dict, y, x.view(), self.lambda);
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
