//! Dictionary recovery up to permutation and sign (docs/protocols.md §0).
//!
//! Both dictionaries are column-normalised first. With $C_{ij} = |\langle a_i, \hat a_j\rangle|$
//! (true atoms in rows, estimates in columns), the Hungarian matching
//! $\pi^* = \arg\max_\pi \sum_i C_{i,\pi(i)}$ (Kuhn–Munkres from the `pathfinding` crate; greedy
//! above 2000 atoms, recorded in [`Recovery::matching`]) gives $c_i = C_{i,\pi^*(i)}$ and:
//!
//! | name | definition |
//! |---|---|
//! | `recovery_score` | $\frac1m\sum_i c_i$ |
//! | `max_sine_dist` | $\max_i \sqrt{1 - c_i^2}$ |
//! | `recovery_rate@τ` | fraction of i with $\max_j C_{ij} > τ$ (unmatched); `recovery_rate_matched`: $c_i > τ$ |
//! | `columnwise_dist` | $\max_i \min_{\sigma=\pm1}\|\sigma \hat a_{\pi(i)} - a_i\| = \max_i\sqrt{2-2c_i}$ |
//! | `fro_dist_perm` | $\sqrt{\sum_i \min_\sigma \|a_i - \sigma\hat a_{\pi(i)}\|^2}$ (same matching: the cost is $2 - 2C_{ij}$) |
//! | `fro_dist` | $\|A^* - \hat A\|_F$, identity matching, no sign fix |
//! | `l4_error` | square orthogonal case: $1 - \|\hat A^\top A^*\|_4^4 / n$ |
//! | `amari_index` | square case, $P = \hat A^+ A^*$ (see [`amari_index`]) |

use crate::error::{Error, Result, check_finite, ensure};
use crate::linalg::{self, Par};
use ndarray::{Array2, ArrayView2, Axis};
use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;
use serde::{Deserialize, Serialize};

/// Above this many atoms the matching is the auction algorithm ([`auction_match`]) instead of the
/// Hungarian one (whose O(m³) is hours at SAE sizes).
pub const HUNGARIAN_MAX_ATOMS: usize = 2000;

/// The final ε of [`auction_match`]: its matching's summed score is within max(m, m') · ε of the
/// optimum, so a mean over the m true atoms is within ε · max(m, m') / m.
pub const AUCTION_EPS: f64 = 1e-9;

/// Default recovery threshold τ (K-SVD's "1 − |cos| < 0.01").
pub const DEFAULT_TAU: f64 = 0.99;

fn unit_columns(
    a: ArrayView2<'_, f64>,
    allow_zero: bool,
    what: &'static str,
) -> Result<Array2<f64>> {
    let mut b = a.to_owned();
    for (j, mut c) in b.axis_iter_mut(Axis(1)).enumerate() {
        let n = crate::linalg::norm2(c.view());
        if n > 0.0 {
            c.mapv_inplace(|x| x / n);
        } else if !allow_zero {
            return Err(Error::invalid(
                what,
                format!("column {j} is zero"),
                "non-zero atoms in the true dictionary",
            ));
        }
    }
    Ok(b)
}

fn check_pair(truth: ArrayView2<'_, f64>, estimate: ArrayView2<'_, f64>) -> Result<()> {
    check_finite("true dictionary", truth)?;
    check_finite("estimated dictionary", estimate)?;
    ensure!(truth.ncols() >= 1, "truth", "0 atoms", "at least one atom");
    if truth.nrows() != estimate.nrows() {
        return Err(Error::ShapeMismatch {
            what: "estimate rows (signal dimension n)",
            expected: (truth.nrows(), estimate.ncols()),
            found: estimate.dim(),
            hint:
                " — atoms are columns (n × m); a scikit-learn `components_` array is the transpose"
                    .into(),
        });
    }
    Ok(())
}

/// Result of matching a true dictionary against an estimate.
#[derive(Clone, Debug)]
pub struct Recovery {
    /// |cos| matrix, true atoms in rows (m × m').
    pub cos: Array2<f64>,
    /// For each true atom, the matched estimate column (None if m' < m left it unmatched).
    pub matching_index: Vec<Option<usize>>,
    /// c_i (0 for unmatched atoms).
    pub matched_cos: Vec<f64>,
    /// Sign of ⟨a_i, â_π(i)⟩ (+1 for unmatched atoms).
    pub signs: Vec<f64>,
    /// "hungarian", "auction" or "greedy".
    pub matching: &'static str,
}

/// The auction algorithm with ε-scaling (Bertsekas 1988, "The auction algorithm: a distributed
/// relaxation method for the assignment problem", Ann. Oper. Res. 14; ε-scaling as in his §4) for
/// the matching of rows to columns of `score` (m × m', entries ≥ 0) that maximizes the summed
/// score: the problem is padded to a square one of side max(m, m') with zero scores; every
/// unassigned row bids for its best column at price + (best − second best) + ε; ε goes from
/// max score / 4 down by a factor 5 per phase to [`AUCTION_EPS`], prices kept between phases. At
/// the end every assignment is ε-optimal, so the summed score is within max(m, m') · ε of the
/// optimum (Bertsekas, Prop. 1). Returns, per row, its column (`None`: a padding column), or `None`
/// overall when the bids exceed 10⁴ · side per phase (a price war; the caller falls back).
pub fn auction_match(score: ArrayView2<'_, f64>) -> Option<Vec<Option<usize>>> {
    let (m, mp) = score.dim();
    let n = m.max(mp);
    if n == 0 {
        return Some(Vec::new());
    }
    let benefit = |i: usize, j: usize| if i < m && j < mp { score[(i, j)] } else { 0.0 };
    let top = score.iter().fold(0.0f64, |a, &v| a.max(v));
    let mut price = vec![0.0f64; n];
    let mut eps = (top / 4.0).max(AUCTION_EPS);
    let mut owner: Vec<Option<usize>> = vec![None; n];
    let mut assigned: Vec<Option<usize>> = vec![None; n];
    loop {
        owner.iter_mut().for_each(|o| *o = None);
        assigned.iter_mut().for_each(|a| *a = None);
        let mut queue: std::collections::VecDeque<usize> = (0..n).collect();
        let mut bids = 0usize;
        while let Some(i) = queue.pop_front() {
            bids += 1;
            if bids > 10_000 * n {
                return None;
            }
            let (mut best, mut second, mut jbest) = (f64::NEG_INFINITY, f64::NEG_INFINITY, 0);
            for (j, &pj) in price.iter().enumerate() {
                let v = benefit(i, j) - pj;
                if v > best {
                    second = best;
                    best = v;
                    jbest = j;
                } else if v > second {
                    second = v;
                }
            }
            let incr = if second.is_finite() {
                best - second
            } else {
                0.0
            };
            price[jbest] += incr + eps;
            if let Some(prev) = owner[jbest].replace(i) {
                assigned[prev] = None;
                queue.push_back(prev);
            }
            assigned[i] = Some(jbest);
        }
        if eps <= AUCTION_EPS {
            break;
        }
        eps = (eps / 5.0).max(AUCTION_EPS);
    }
    Some((0..m).map(|i| assigned[i].filter(|&j| j < mp)).collect())
}

/// The matching that maximizes the summed score: for each row (true atom) of `score` (m × m', all
/// entries ≥ 0), its column (`None` when m' < m leaves it unmatched), and "hungarian" (Kuhn–Munkres
/// on scores quantized to 2⁻⁴⁰), "auction" (above [`HUNGARIAN_MAX_ATOMS`]: [`auction_match`],
/// within [`AUCTION_EPS`] per atom of the optimum) or "greedy" (an auction that ran into a price
/// war). Shared by the dense metrics and the convolutional ones (`crate::conv`), whose score is the
/// best over lags.
pub fn match_scores(score: ArrayView2<'_, f64>) -> (Vec<Option<usize>>, &'static str) {
    let cos = score;
    let (m, mp) = cos.dim();
    if m.max(mp) > HUNGARIAN_MAX_ATOMS
        && mp > 0
        && let Some(idx) = auction_match(cos)
    {
        return (idx, "auction");
    }
    let matching = if m.max(mp) > HUNGARIAN_MAX_ATOMS {
        "greedy"
    } else {
        "hungarian"
    };
    let mut idx: Vec<Option<usize>> = vec![None; m];
    if mp > 0 {
        if matching == "greedy" {
            let mut pairs: Vec<(f64, usize, usize)> = Vec::with_capacity(m * mp);
            for i in 0..m {
                for j in 0..mp {
                    pairs.push((cos[(i, j)], i, j));
                }
            }
            pairs.sort_unstable_by(|x, y| y.0.total_cmp(&x.0));
            let mut used = vec![false; mp];
            for (_, i, j) in pairs {
                if idx[i].is_none() && !used[j] {
                    idx[i] = Some(j);
                    used[j] = true;
                }
            }
        } else {
            let scale = (1u64 << 40) as f64;
            let q = |x: f64| (x * scale).round() as i64;
            if m <= mp {
                let w = Matrix::from_fn(m, mp, |(i, j)| q(cos[(i, j)]));
                let (_, assign) = kuhn_munkres(&w);
                for (i, j) in assign.into_iter().enumerate() {
                    idx[i] = Some(j);
                }
            } else {
                let w = Matrix::from_fn(mp, m, |(j, i)| q(cos[(i, j)]));
                let (_, assign) = kuhn_munkres(&w);
                for (j, i) in assign.into_iter().enumerate() {
                    idx[i] = Some(j);
                }
            }
        }
    }
    (idx, matching)
}

/// Match `estimate` (n × m') to `truth` (n × m) up to permutation and sign.
///
/// # Errors
/// Mismatched row counts, non-finite entries, a zero atom in `truth`.
pub fn dictionary_recovery(
    truth: ArrayView2<'_, f64>,
    estimate: ArrayView2<'_, f64>,
) -> Result<Recovery> {
    check_pair(truth, estimate)?;
    let a = unit_columns(truth, false, "truth")?;
    let b = unit_columns(estimate, true, "estimate")?;
    let signed = linalg::matmul_tn(a.view(), b.view(), Par::Seq);
    let cos = signed.mapv(f64::abs);
    let (idx, matching) = match_scores(cos.view());
    let matched_cos = idx
        .iter()
        .enumerate()
        .map(|(i, j)| j.map_or(0.0, |j| cos[(i, j)].min(1.0)))
        .collect();
    let signs = idx
        .iter()
        .enumerate()
        .map(|(i, j)| j.map_or(1.0, |j| if signed[(i, j)] < 0.0 { -1.0 } else { 1.0 }))
        .collect();
    Ok(Recovery {
        cos,
        matching_index: idx,
        matched_cos,
        signs,
        matching,
    })
}

impl Recovery {
    /// Number of true atoms m.
    pub fn n_atoms(&self) -> usize {
        self.matched_cos.len()
    }
    /// `recovery_score` = mean c_i.
    pub fn recovery_score(&self) -> f64 {
        self.matched_cos.iter().sum::<f64>() / self.n_atoms() as f64
    }
    /// `max_sine_dist` = max_i sqrt(1 − c_i²).
    pub fn max_sine_dist(&self) -> f64 {
        self.matched_cos
            .iter()
            .map(|c| (1.0 - c * c).max(0.0).sqrt())
            .fold(0.0, f64::max)
    }
    /// PUDLE code's variant: (max_i sqrt(1 − c_i² + 1e-10))^{1/2} (extra square root kept on purpose).
    pub fn max_sine_dist_pudle_quirk(&self) -> f64 {
        self.matched_cos
            .iter()
            .map(|c| (1.0 - c * c + 1e-10).max(0.0).sqrt())
            .fold(0.0, f64::max)
            .sqrt()
    }
    /// MMCS, the sparse-autoencoder community's "mean max cosine similarity": mean over true atoms
    /// of max_j C_ij — no one-to-one matching, so one estimate may serve several atoms (compare
    /// [`Recovery::recovery_score`], the matched mean, called MCC there).
    pub fn mmcs(&self) -> f64 {
        let m = self.n_atoms();
        (0..m)
            .map(|i| self.cos.row(i).iter().copied().fold(0.0, f64::max))
            .sum::<f64>()
            / m.max(1) as f64
    }
    /// The per-iteration summary recorded against time: `recovery_score`, `recovery_rate` (at τ),
    /// `columnwise_dist`, `max_sine_dist`.
    pub fn summary(&self, tau: f64) -> [(&'static str, f64); 4] {
        [
            ("recovery_score", self.recovery_score()),
            ("recovery_rate", self.recovery_rate(tau)),
            ("columnwise_dist", self.columnwise_dist()),
            ("max_sine_dist", self.max_sine_dist()),
        ]
    }
    /// `recovery_rate@τ`: fraction of true atoms with max_j C_ij > τ.
    pub fn recovery_rate(&self, tau: f64) -> f64 {
        let m = self.n_atoms();
        let hit = (0..m)
            .filter(|&i| self.cos.row(i).iter().any(|&c| c > tau))
            .count();
        hit as f64 / m as f64
    }
    /// Matched variant: fraction with c_i > τ.
    pub fn recovery_rate_matched(&self, tau: f64) -> f64 {
        self.matched_cos.iter().filter(|&&c| c > tau).count() as f64 / self.n_atoms() as f64
    }
    /// `columnwise_dist` = max_i sqrt(2 − 2 c_i).
    pub fn columnwise_dist(&self) -> f64 {
        self.matched_cos
            .iter()
            .map(|c| (2.0 - 2.0 * c).max(0.0).sqrt())
            .fold(0.0, f64::max)
    }
    /// `columnwise_dist_mean` = mean_i sqrt(2 − 2 c_i).
    pub fn columnwise_dist_mean(&self) -> f64 {
        self.matched_cos
            .iter()
            .map(|c| (2.0 - 2.0 * c).max(0.0).sqrt())
            .sum::<f64>()
            / self.n_atoms() as f64
    }
    /// `fro_dist_perm` = sqrt(Σ_i (2 − 2 c_i)).
    pub fn fro_dist_perm(&self) -> f64 {
        self.matched_cos
            .iter()
            .map(|c| (2.0 - 2.0 * c).max(0.0))
            .sum::<f64>()
            .sqrt()
    }
    /// Estimated atoms that match no true atom: estimate columns j with max_i C_ij ≤ τ.
    pub fn spurious_atoms(&self, tau: f64) -> usize {
        (0..self.cos.ncols())
            .filter(|&j| self.cos.column(j).iter().all(|&c| c <= tau))
            .count()
    }
    /// The estimate permuted and sign-flipped onto the truth's order (zero columns where unmatched).
    pub fn align(&self, estimate: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut out = Array2::zeros((estimate.nrows(), self.n_atoms()));
        for (i, j) in self.matching_index.iter().enumerate() {
            if let Some(j) = *j {
                out.column_mut(i)
                    .assign(&(&estimate.column(j) * self.signs[i]));
            }
        }
        out
    }
    /// Codes of the estimate (m' × N) re-indexed and sign-fixed onto the truth's atom order (m × N).
    pub fn align_codes(&self, codes: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut out = Array2::zeros((self.n_atoms(), codes.ncols()));
        for (i, j) in self.matching_index.iter().enumerate() {
            if let Some(j) = *j {
                out.row_mut(i).assign(&(&codes.row(j) * self.signs[i]));
            }
        }
        out
    }
}

/// `fro_dist` = ‖A* − Â‖_F after column normalisation, identity matching, no sign fix.
///
/// # Errors
/// Shapes differ.
pub fn fro_dist(truth: ArrayView2<'_, f64>, estimate: ArrayView2<'_, f64>) -> Result<f64> {
    check_pair(truth, estimate)?;
    if truth.dim() != estimate.dim() {
        return Err(Error::shape(
            "estimate (identity matching needs the same shape)",
            truth.dim(),
            estimate.dim(),
        ));
    }
    let a = unit_columns(truth, false, "truth")?;
    let b = unit_columns(estimate, true, "estimate")?;
    Ok((&a - &b).iter().map(|x| x * x).sum::<f64>().sqrt())
}

/// `fro_dist_rel` = `fro_dist` / √m.
pub fn fro_dist_rel(truth: ArrayView2<'_, f64>, estimate: ArrayView2<'_, f64>) -> Result<f64> {
    Ok(fro_dist(truth, estimate)? / (truth.ncols() as f64).sqrt())
}

fn check_square(
    truth: ArrayView2<'_, f64>,
    estimate: ArrayView2<'_, f64>,
    what: &'static str,
) -> Result<()> {
    check_pair(truth, estimate)?;
    let (n, m) = truth.dim();
    ensure!(
        n == m && estimate.dim() == (n, m),
        what,
        format!("truth {n}×{m}, estimate {:?}", estimate.dim()),
        "square dictionaries of equal size (complete case only)"
    );
    Ok(())
}

/// `l4_error` = 1 − ‖ÂᵀA*‖₄⁴/n (orthogonal square case); 0 iff Â is a signed permutation of A*.
///
/// # Errors
/// Non-square or unequal shapes.
pub fn l4_error(truth: ArrayView2<'_, f64>, estimate: ArrayView2<'_, f64>) -> Result<f64> {
    check_square(truth, estimate, "l4_error")?;
    let a = unit_columns(truth, false, "truth")?;
    let b = unit_columns(estimate, true, "estimate")?;
    let p = linalg::matmul_tn(b.view(), a.view(), Par::Seq);
    Ok(1.0 - p.iter().map(|x| x.powi(4)).sum::<f64>() / truth.nrows() as f64)
}

/// `l4_single` (docs/protocols.md §0, Qu et al.): for one vector q (normalised here), max_i |⟨a_i, q⟩| over
/// the unit-normalised true atoms; a run "succeeds" if it is ≥ 1 − ε (ε = 0.01 by default).
///
/// # Errors
/// `q` of the wrong length or zero; a zero or non-finite true atom.
pub fn l4_single(truth: ArrayView2<'_, f64>, q: ndarray::ArrayView1<'_, f64>) -> Result<f64> {
    let n = truth.nrows();
    if q.len() != n {
        return Err(Error::shape("q (n × 1)", (n, 1), (q.len(), 1)));
    }
    crate::error::check_finite("truth", truth)?;
    let a = unit_columns(truth, false, "truth")?;
    let nq = q.dot(&q).sqrt();
    ensure!(
        nq > 0.0 && nq.is_finite(),
        "q",
        nq,
        "a non-zero, finite vector"
    );
    Ok(a.t()
        .dot(&q)
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs() / nq)))
}

/// Amari index of `P = Â⁺ A*` (square case), in [0, 1]; 0 iff P is a scaled permutation:
/// (1/(2m(m−1)))·[Σ_i(Σ_j|p_ij|/max_k|p_ik| − 1) + Σ_j(Σ_i|p_ij|/max_k|p_kj| − 1)].
///
/// # Errors
/// Non-square shapes; a singular estimate (zero row in P).
pub fn amari_index(truth: ArrayView2<'_, f64>, estimate: ArrayView2<'_, f64>) -> Result<f64> {
    check_square(truth, estimate, "amari_index")?;
    let m = truth.ncols();
    if m < 2 {
        return Ok(0.0);
    }
    let (u, s, v) = linalg::thin_svd(estimate)?;
    let tol = s[0] * 1e-12 * m as f64;
    let mut vs = v.clone();
    for (k, &sk) in s.iter().enumerate() {
        let inv = if sk > tol { 1.0 / sk } else { 0.0 };
        vs.column_mut(k).mapv_inplace(|x| x * inv);
    }
    let pinv = linalg::matmul_nt(vs.view(), u.view(), Par::Seq);
    let p = linalg::matmul_nn(pinv.view(), truth, Par::Seq).mapv(f64::abs);
    let mut total = 0.0;
    for i in 0..m {
        let mx = p.row(i).fold(0.0f64, |a, &b| a.max(b));
        ensure!(
            mx > 0.0,
            "estimate",
            "rank deficient",
            "an invertible estimate for the Amari index"
        );
        total += p.row(i).sum() / mx - 1.0;
    }
    for j in 0..m {
        let mx = p.column(j).fold(0.0f64, |a, &b| a.max(b));
        ensure!(
            mx > 0.0,
            "estimate",
            "rank deficient",
            "an invertible estimate for the Amari index"
        );
        total += p.column(j).sum() / mx - 1.0;
    }
    Ok(total / (2.0 * m as f64 * (m as f64 - 1.0)))
}

/// Every recovery metric, keyed by its name in docs/protocols.md §0 (what `dictlab metrics` prints).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecoveryMetrics {
    /// Mean matched |cos|.
    pub recovery_score: f64,
    /// Fraction of true atoms with max |cos| > τ.
    pub recovery_rate: f64,
    /// Fraction with matched |cos| > τ.
    pub recovery_rate_matched: f64,
    /// The τ used.
    pub recovery_threshold: f64,
    /// max_i sqrt(1 − c_i²).
    pub max_sine_dist: f64,
    /// PUDLE's extra-sqrt variant.
    pub max_sine_dist_pudle_quirk: f64,
    /// max_i sqrt(2 − 2c_i).
    pub columnwise_dist: f64,
    /// mean_i sqrt(2 − 2c_i).
    pub columnwise_dist_mean: f64,
    /// Frobenius distance after matching and sign fix.
    pub fro_dist_perm: f64,
    /// Identity-matching Frobenius distance (None if shapes differ).
    pub fro_dist: Option<f64>,
    /// fro_dist / √m.
    pub fro_dist_rel: Option<f64>,
    /// Square case only.
    pub l4_error: Option<f64>,
    /// Square case only.
    pub amari_index: Option<f64>,
    /// Estimated atoms matching no true atom at τ.
    pub spurious_atoms: usize,
    /// m.
    pub n_atoms_true: usize,
    /// m'.
    pub n_atoms_estimate: usize,
    /// "hungarian", "auction" or "greedy".
    pub matching: String,
}

/// Compute every recovery metric at threshold `tau`.
///
/// # Errors
/// As [`dictionary_recovery`].
pub fn recovery_metrics(
    truth: ArrayView2<'_, f64>,
    estimate: ArrayView2<'_, f64>,
    tau: f64,
) -> Result<RecoveryMetrics> {
    ensure!(
        (0.0..=1.0).contains(&tau),
        "tau",
        tau,
        "a threshold in [0, 1]"
    );
    let r = dictionary_recovery(truth, estimate)?;
    let same = truth.dim() == estimate.dim();
    let square = same && truth.nrows() == truth.ncols();
    Ok(RecoveryMetrics {
        recovery_score: r.recovery_score(),
        recovery_rate: r.recovery_rate(tau),
        recovery_rate_matched: r.recovery_rate_matched(tau),
        recovery_threshold: tau,
        max_sine_dist: r.max_sine_dist(),
        max_sine_dist_pudle_quirk: r.max_sine_dist_pudle_quirk(),
        columnwise_dist: r.columnwise_dist(),
        columnwise_dist_mean: r.columnwise_dist_mean(),
        fro_dist_perm: r.fro_dist_perm(),
        fro_dist: if same {
            Some(fro_dist(truth, estimate)?)
        } else {
            None
        },
        fro_dist_rel: if same {
            Some(fro_dist_rel(truth, estimate)?)
        } else {
            None
        },
        l4_error: if square {
            Some(l4_error(truth, estimate)?)
        } else {
            None
        },
        amari_index: if square {
            amari_index(truth, estimate).ok()
        } else {
            None
        },
        spurious_atoms: r.spurious_atoms(tau),
        n_atoms_true: truth.ncols(),
        n_atoms_estimate: estimate.ncols(),
        matching: r.matching.to_string(),
    })
}

impl RecoveryMetrics {
    /// `(name, value)` pairs of the scalar metrics (for sweep rows); absent ones are skipped.
    pub fn pairs(&self) -> Vec<(&'static str, f64)> {
        let mut v = vec![
            ("recovery_score", self.recovery_score),
            ("recovery_rate", self.recovery_rate),
            ("recovery_rate_matched", self.recovery_rate_matched),
            ("max_sine_dist", self.max_sine_dist),
            ("columnwise_dist", self.columnwise_dist),
            ("columnwise_dist_mean", self.columnwise_dist_mean),
            ("fro_dist_perm", self.fro_dist_perm),
            ("spurious_atoms", self.spurious_atoms as f64),
        ];
        for (k, o) in [
            ("fro_dist", self.fro_dist),
            ("fro_dist_rel", self.fro_dist_rel),
            ("l4_error", self.l4_error),
            ("amari_index", self.amari_index),
        ] {
            if let Some(x) = o {
                v.push((k, x));
            }
        }
        v
    }
}

#[cfg(test)]
mod auction_tests {
    use super::*;
    use crate::rng::rng_from_seed;
    use ndarray::Array2;
    use rand::Rng;

    /// By hand: greedy takes 0.9 then 0.1 (sum 1.0); the optimum pairs 0.8 and 0.85 (1.65).
    #[test]
    fn auction_finds_the_optimum_greedy_misses() {
        let s = ndarray::array![[0.9, 0.8], [0.85, 0.1]];
        let idx = auction_match(s.view()).unwrap();
        assert_eq!(idx, vec![Some(1), Some(0)]);
    }

    /// On random score matrices (square, more columns, more rows) the auction's summed score equals
    /// the Hungarian optimum within max(m, m') · ε, and its matching is one-to-one.
    #[test]
    fn auction_matches_the_hungarian_optimum() {
        let mut rng = rng_from_seed(4);
        for (m, mp) in [(40, 40), (30, 45), (45, 30), (1, 5), (60, 60)] {
            let s = Array2::from_shape_fn((m, mp), |_| rng.random::<f64>());
            let (h, label) = match_scores(s.view());
            assert_eq!(label, "hungarian");
            let a = auction_match(s.view()).unwrap();
            let total = |idx: &[Option<usize>]| {
                idx.iter()
                    .enumerate()
                    .filter_map(|(i, j)| j.map(|j| s[(i, j)]))
                    .sum::<f64>()
            };
            let (th, ta) = (total(&h), total(&a));
            assert!(
                (th - ta).abs() <= m.max(mp) as f64 * AUCTION_EPS + 1e-9,
                "{m}×{mp}: hungarian {th}, auction {ta}"
            );
            let mut cols: Vec<usize> = a.iter().flatten().copied().collect();
            let k = cols.len();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), k, "{m}×{mp}: a column used twice");
            assert_eq!(k, m.min(mp));
        }
    }

    /// Above the Hungarian's size the dense metric uses the auction: a planted 2100-atom
    /// dictionary against a permuted copy with one column sign-flipped scores 1.
    #[test]
    fn large_dictionaries_are_matched_by_auction() {
        let mut rng = rng_from_seed(2);
        let (n, m) = (64, 2100);
        let mut a =
            Array2::from_shape_fn((n, m), |_| rng.sample::<f64, _>(rand_distr::StandardNormal));
        for mut c in a.columns_mut() {
            let nn = c.dot(&c).sqrt();
            c /= nn;
        }
        let perm: Vec<usize> = (0..m).map(|j| (j * 11 + 3) % m).collect();
        let mut b = a.select(ndarray::Axis(1), &perm);
        b.column_mut(5).mapv_inplace(|v| -v);
        let r = dictionary_recovery(a.view(), b.view()).unwrap();
        assert_eq!(r.matching, "auction");
        assert!(
            (r.recovery_score() - 1.0).abs() < 1e-6,
            "{}",
            r.recovery_score()
        );
        for (i, j) in r.matching_index.iter().enumerate() {
            assert_eq!(perm[j.unwrap()], i);
        }
    }
}
