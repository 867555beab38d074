//! Coherence, Babel function, Welch bound and RIP bounds (docs/protocols.md §1.1, §1.9, §1.10).
//!
//! Every function normalises the columns first (on a copy): coherence is a property of the atoms'
//! directions. RIP constants are NP-hard to compute, so this module only returns **bounds**, named
//! as such: a Monte-Carlo *lower* bound over random supports (with greedy one-index swaps) and the
//! Gershgorin / Babel *upper* bounds.
//!
//! * $\mu(A) = \max_{i\ne j} |\langle a_i, a_j\rangle|$
//! * Babel: $\mu_1(s) = \max_i \max_{|\Lambda| = s, i\notin\Lambda} \sum_{j\in\Lambda} |G_{ij}|$
//! * Welch: $\mu \ge \sqrt{(m-n)/(n(m-1))}$
//! * $\delta_s = \max_{|S|=s} \|A_S^\top A_S - I\|_2 \le \mu_1(s-1) \le (s-1)\mu$

use crate::error::{Result, ensure};
use crate::linalg::{self, Par};
use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};

fn normalized(a: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut b = a.to_owned();
    for mut c in b.axis_iter_mut(Axis(1)) {
        let n = c.dot(&c).sqrt();
        if n > 0.0 {
            c.mapv_inplace(|x| x / n);
        }
    }
    b
}

/// Gram matrix of the column-normalised dictionary.
pub fn normalized_gram(a: ArrayView2<'_, f64>) -> Array2<f64> {
    let b = normalized(a);
    linalg::gram(b.view(), Par::Seq)
}

/// max_{i≠j} |g_ij| of a square matrix.
pub fn max_offdiag_abs(g: ArrayView2<'_, f64>) -> f64 {
    let m = g.nrows();
    let mut mx: f64 = 0.0;
    for i in 0..m {
        for j in 0..m {
            if i != j {
                mx = mx.max(g[(i, j)].abs());
            }
        }
    }
    mx
}

/// Mutual coherence μ(A) (0 for a single atom).
pub fn coherence(a: ArrayView2<'_, f64>) -> f64 {
    max_offdiag_abs(normalized_gram(a).view())
}

/// The |G_ij|, i < j, of the normalised dictionary (for histograms).
pub fn gram_offdiag_abs(a: ArrayView2<'_, f64>) -> Vec<f64> {
    let g = normalized_gram(a);
    let m = g.nrows();
    let mut v = Vec::with_capacity(m * (m.saturating_sub(1)) / 2);
    for i in 0..m {
        for j in i + 1..m {
            v.push(g[(i, j)].abs());
        }
    }
    v
}

/// Welch bound sqrt((m−n)/(n(m−1))) (0 when m ≤ n).
pub fn welch_bound(n: usize, m: usize) -> f64 {
    if m <= n || m < 2 {
        return 0.0;
    }
    ((m - n) as f64 / (n as f64 * (m - 1) as f64)).sqrt()
}

/// Babel function μ₁(s) for s = 0..=s_max (entry 0 is 0).
///
/// # Errors
/// `s_max ≥ m`.
pub fn babel(a: ArrayView2<'_, f64>, s_max: usize) -> Result<Vec<f64>> {
    let m = a.ncols();
    ensure!(s_max < m, "s_max", s_max, format!("s_max < m = {m}"));
    let g = normalized_gram(a);
    let mut out = vec![0.0f64; s_max + 1];
    let mut row = Vec::with_capacity(m);
    for i in 0..m {
        row.clear();
        row.extend((0..m).filter(|&j| j != i).map(|j| g[(i, j)].abs()));
        row.sort_unstable_by(|x, y| y.total_cmp(x));
        let mut acc = 0.0;
        for s in 1..=s_max {
            acc += row[s - 1];
            out[s] = out[s].max(acc);
        }
    }
    Ok(out)
}

/// A RIP bound at support size s, with the asymmetric constants (Blanchard–Cartis–Tanner).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RipBound {
    /// Support size s.
    pub s: usize,
    /// Bound on δ_s = max(lower_asym, upper_asym).
    pub delta: f64,
    /// 1 − σ_min² over the supports examined (lower bound on the lower asymmetric constant).
    pub lower_asym: f64,
    /// σ_max² − 1 over the supports examined.
    pub upper_asym: f64,
    /// The worst support found (for Monte-Carlo bounds).
    pub support: Vec<usize>,
    /// Supports evaluated.
    pub evaluated: usize,
}

fn support_extremes(g: &Array2<f64>, supp: &[usize]) -> Result<(f64, f64)> {
    let s = supp.len();
    let sub = Array2::from_shape_fn((s, s), |(i, j)| g[(supp[i], supp[j])]);
    let w = linalg::eigvalsh(sub.view())?;
    Ok((1.0 - w[0], w[s - 1] - 1.0))
}

/// Certified **lower** bound on δ_s: the worst of `trials` uniformly random supports, plus, with
/// `local_search`, greedy one-index swaps from the best supports (seeded also by the top-s
/// entries of each row of |G|) until no swap improves.
///
/// # Errors
/// `s = 0` or `s > m`, `trials = 0`.
pub fn rip_lower_bound_mc(
    a: ArrayView2<'_, f64>,
    s: usize,
    trials: usize,
    local_search: bool,
    rng: &mut impl Rng,
) -> Result<RipBound> {
    let m = a.ncols();
    ensure!(s >= 1 && s <= m, "s", s, format!("1 ≤ s ≤ m = {m}"));
    ensure!(trials >= 1, "trials", trials, "at least one trial");
    let g = normalized_gram(a);
    let mut best = RipBound {
        s,
        delta: f64::NEG_INFINITY,
        lower_asym: f64::NEG_INFINITY,
        upper_asym: f64::NEG_INFINITY,
        support: vec![],
        evaluated: 0,
    };
    let update = |supp: &[usize], best: &mut RipBound| -> Result<f64> {
        let (lo, hi) = support_extremes(&g, supp)?;
        best.evaluated += 1;
        best.lower_asym = best.lower_asym.max(lo);
        best.upper_asym = best.upper_asym.max(hi);
        let d = lo.max(hi);
        if d > best.delta {
            best.delta = d;
            best.support = supp.to_vec();
        }
        Ok(d)
    };
    for _ in 0..trials {
        let mut supp = sample(rng, m, s).into_vec();
        supp.sort_unstable();
        update(&supp, &mut best)?;
    }
    if local_search && s >= 2 && s < m {
        let mut starts = vec![best.support.clone()];
        // rows of |G|: atom i with its s−1 most correlated atoms
        let mut by_row: Vec<(f64, Vec<usize>)> = (0..m)
            .map(|i| {
                let mut idx: Vec<usize> = (0..m).filter(|&j| j != i).collect();
                idx.sort_unstable_by(|&x, &y| g[(i, y)].abs().total_cmp(&g[(i, x)].abs()));
                let mut supp: Vec<usize> = std::iter::once(i)
                    .chain(idx.into_iter().take(s - 1))
                    .collect();
                supp.sort_unstable();
                let score: f64 = supp
                    .iter()
                    .filter(|&&j| j != i)
                    .map(|&j| g[(i, j)].abs())
                    .sum();
                (score, supp)
            })
            .collect();
        by_row.sort_unstable_by(|x, y| y.0.total_cmp(&x.0));
        starts.extend(by_row.into_iter().take(4).map(|x| x.1));
        for mut supp in starts {
            let mut cur = update(&supp, &mut best)?;
            let mut improved = true;
            let mut rounds = 0;
            while improved && rounds < 50 {
                improved = false;
                rounds += 1;
                'outer: for pos in 0..s {
                    for cand in 0..m {
                        if supp.contains(&cand) {
                            continue;
                        }
                        let old = supp[pos];
                        supp[pos] = cand;
                        let d = update(&supp, &mut best)?;
                        if d > cur + 1e-12 {
                            cur = d;
                            improved = true;
                            break 'outer;
                        }
                        supp[pos] = old;
                    }
                }
            }
        }
    }
    best.support.sort_unstable();
    Ok(best)
}

/// Gershgorin **upper** bound on δ_s: (s−1)·μ.
pub fn rip_upper_bound_gershgorin(a: ArrayView2<'_, f64>, s: usize) -> f64 {
    s.saturating_sub(1) as f64 * coherence(a)
}

/// Babel **upper** bound on δ_s: μ₁(s−1).
///
/// # Errors
/// `s > m`.
pub fn rip_upper_bound_babel(a: ArrayView2<'_, f64>, s: usize) -> Result<f64> {
    let m = a.ncols();
    ensure!(s >= 1 && s <= m, "s", s, format!("1 ≤ s ≤ m = {m}"));
    Ok(babel(a, s - 1)?[s - 1])
}

/// The RIP bounds of a dictionary for each support size s = 2..=`s_max`: the certified
/// Monte-Carlo lower bound ([`rip_lower_bound_mc`], `trials` random supports plus greedy swaps)
/// and the Babel and Gershgorin upper bounds. δ_s lies between `lower[i]` and
/// `min(babel[i], gershgorin[i])` at `s[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RipBounds {
    /// Support sizes.
    pub s: Vec<usize>,
    /// Lower bounds on δ_s.
    pub lower: Vec<f64>,
    /// Babel upper bounds μ₁(s−1).
    pub babel: Vec<f64>,
    /// Gershgorin upper bounds (s−1)·μ.
    pub gershgorin: Vec<f64>,
}

impl RipBounds {
    /// Whether the lower bound stays at or under both upper bounds at every s (it must: a
    /// failure is a bug in one of the bounds).
    pub fn bracketed(&self) -> bool {
        (0..self.s.len()).all(|i| self.lower[i] <= self.babel[i].min(self.gershgorin[i]) + 1e-12)
    }
}

/// [`RipBounds`] of `a` for s = 2..=`s_max`.
///
/// # Errors
/// `s_max < 2` or `s_max > m`, `trials = 0`.
pub fn rip_bounds(
    a: ArrayView2<'_, f64>,
    s_max: usize,
    trials: usize,
    rng: &mut impl Rng,
) -> Result<RipBounds> {
    let m = a.ncols();
    ensure!(
        s_max >= 2 && s_max <= m,
        "s_max",
        s_max,
        format!("2 ≤ s_max ≤ m = {m}")
    );
    let mut out = RipBounds {
        s: (2..=s_max).collect(),
        lower: Vec::new(),
        babel: Vec::new(),
        gershgorin: Vec::new(),
    };
    for s in 2..=s_max {
        out.lower
            .push(rip_lower_bound_mc(a, s, trials, true, rng)?.delta);
        out.babel.push(rip_upper_bound_babel(a, s)?);
        out.gershgorin.push(rip_upper_bound_gershgorin(a, s));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hand_computed_coherence_babel_welch() {
        // atoms e1, (e1+e2)/√2, e2 (unnormalised input on purpose)
        let a = array![[1.0, 1.0, 0.0], [0.0, 1.0, 2.0]];
        let r = 1.0 / 2f64.sqrt();
        assert!((coherence(a.view()) - r).abs() < 1e-15);
        let b = babel(a.view(), 2).unwrap();
        // row of atom 2 (middle): |g| = r, r -> μ1(2) = 2r; μ1(1) = r
        assert!((b[1] - r).abs() < 1e-15 && (b[2] - 2.0 * r).abs() < 1e-15);
        assert!((welch_bound(2, 3) - (1.0f64 / 4.0).sqrt()).abs() < 1e-15);
        assert!(welch_bound(3, 3) <= 0.0);
        assert!((rip_upper_bound_gershgorin(a.view(), 2) - r).abs() < 1e-15);
        assert!((rip_upper_bound_babel(a.view(), 3).unwrap() - 2.0 * r).abs() < 1e-15);
        // s = 2 on these three atoms: the worst pair is at |cos| = r, so δ₂ = r exactly, and the
        // exhaustive search of 2-supports finds it; Babel = Gershgorin = r
        let mut rng = crate::rng::rng_from_seed(1);
        let b = rip_bounds(a.view(), 3, 50, &mut rng).unwrap();
        assert_eq!(b.s, vec![2, 3]);
        assert!((b.lower[0] - r).abs() < 1e-12, "{b:?}");
        assert!((b.babel[0] - r).abs() < 1e-15 && (b.gershgorin[0] - r).abs() < 1e-15);
        assert!((b.gershgorin[1] - 2.0 * r).abs() < 1e-15 && b.bracketed());
        assert!(rip_bounds(a.view(), 4, 5, &mut rng).is_err());
        assert!(rip_bounds(a.view(), 1, 5, &mut rng).is_err());
    }

    #[test]
    fn rip_lower_bound_exhaustive_tiny() {
        let a = array![[1.0, 1.0, 0.0], [0.0, 1.0, 2.0]];
        // s = 2: supports {0,1} and {1,2} have |g| = r -> δ = r; {0,2} orthogonal -> 0
        let mut rng = crate::rng::rng_from_seed(1);
        let rb = rip_lower_bound_mc(a.view(), 2, 1, true, &mut rng).unwrap();
        let r = 1.0 / 2f64.sqrt();
        assert!((rb.delta - r).abs() < 1e-12);
        assert!((rb.lower_asym - r).abs() < 1e-12 && (rb.upper_asym - r).abs() < 1e-12);
    }
}
