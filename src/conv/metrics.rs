//! Recovery of convolutional atoms up to shift, sign and permutation, and of their activations.
//!
//! For true atoms $d_k$ and estimates $\hat d_l$ (P × L and P × L', any lengths), the score of a pair
//! is the best absolute normalized cross-correlation over lags,
//! $$C_{kl} = \max_\tau \frac{|\langle d_k, S_\tau \hat d_l\rangle|}{\|d_k\|\,\|\hat d_l\|},$$
//! (Malézieux et al.'s convolutional `recovery_score`); the matching maximizes $\sum_k C_{k\pi(k)}$
//! (Kuhn–Munkres, [`crate::metrics::recovery::match_scores`]); reported: each true atom's matched
//! estimate, score and lag τ, the argmax of $|\langle d_k, S_\tau \hat d_l\rangle|$ (an estimate that is the
//! truth delayed by δ samples has τ = −δ), `recovery_rate` = the fraction of
//! true atoms with score ≥ τ₀ (0.99 in the benchmark), `recovery_score` = the mean score. For rank-1 atoms
//! the spatial patterns u are compared by |cos| and the waveforms v up to shift, each on the matching
//! of the full atoms. Image atoms (flattened rows × columns, [`conv_recovery_2d`]) are compared
//! over every 2-D lag (τ_r, τ_c).

use super::problem::{shift_correlation, shift_correlation_2d, unit};
use crate::error::{Error, Result, ensure};
use ndarray::{Array2, ArrayView2, ArrayView3, Axis};

/// The matching of true atoms to estimates up to shift and sign.
#[derive(Clone, Debug)]
pub struct ConvRecovery {
    /// Scores C (K × K'): best |normalized correlation| over lags.
    pub score: Array2<f64>,
    /// For each true atom, its estimate (None when K' < K leaves it unmatched).
    pub matching_index: Vec<Option<usize>>,
    /// Its score (0 when unmatched).
    pub matched_score: Vec<f64>,
    /// The lag τ at which ⟨d_k, S_τ d̂⟩ is largest in absolute value (0 when unmatched); for
    /// images, its column part τ_c.
    pub matched_lag: Vec<isize>,
    /// For images, the row part τ_r of that lag (0 for 1-D atoms and when unmatched).
    pub matched_lag_row: Vec<isize>,
    /// The sign of that correlation (+1 when unmatched).
    pub signs: Vec<f64>,
}

impl ConvRecovery {
    /// Fraction of true atoms whose matched score is ≥ `tau`.
    pub fn recovery_rate(&self, tau: f64) -> f64 {
        let k = self.matched_score.len().max(1);
        self.matched_score.iter().filter(|c| **c >= tau).count() as f64 / k as f64
    }
    /// Mean matched score.
    pub fn recovery_score(&self) -> f64 {
        let k = self.matched_score.len().max(1);
        self.matched_score.iter().sum::<f64>() / k as f64
    }
}

/// Match estimated atoms `estimate` (K' × P × L') to the true `truth` (K × P × L) up to shift, sign
/// and permutation (module doc).
///
/// # Errors
/// Different channel counts; a zero or non-finite true atom; a non-finite estimate.
pub fn conv_recovery(
    truth: ArrayView3<'_, f64>,
    estimate: ArrayView3<'_, f64>,
) -> Result<ConvRecovery> {
    conv_recovery_2d(truth, estimate, 1, 1)
}

/// [`conv_recovery`] of image atoms: `truth` of `truth_rows` rows and `estimate` of
/// `estimate_rows` (flattened row-major), over every 2-D lag.
///
/// # Errors
/// As [`conv_recovery`], and lengths the rows do not divide.
pub fn conv_recovery_2d(
    truth: ArrayView3<'_, f64>,
    estimate: ArrayView3<'_, f64>,
    truth_rows: usize,
    estimate_rows: usize,
) -> Result<ConvRecovery> {
    let (k, p, _) = truth.dim();
    let (kp, pe, le) = estimate.dim();
    if p != pe {
        return Err(Error::invalid(
            "estimate",
            format!("{pe} channels"),
            format!("the true atoms' P = {p} channels (atoms are K × P × L)"),
        ));
    }
    let a: Vec<Array2<f64>> = (0..k)
        .map(|j| unit(truth.index_axis(Axis(0), j), "truth", j, false))
        .collect::<Result<_>>()?;
    let b: Vec<Array2<f64>> = (0..kp)
        .map(|j| unit(estimate.index_axis(Axis(0), j), "estimate", j, true))
        .collect::<Result<_>>()?;
    let mut score = Array2::zeros((k, kp));
    let mut best_lag = vec![vec![(0isize, 0isize, 1.0f64); kp]; k];
    // lag grid of the correlation (shift_correlation_2d's layout)
    let (hb, wb) = (estimate_rows.max(1), le / estimate_rows.max(1));
    let nc = truth.dim().2 / truth_rows.max(1) + wb - 1;
    for i in 0..k {
        for j in 0..kp {
            let c = shift_correlation_2d(a[i].view(), b[j].view(), truth_rows, estimate_rows)?;
            let (mut arg, mut val) = (0usize, 0.0f64);
            for (t, v) in c.iter().enumerate() {
                if v.abs() > val.abs() {
                    arg = t;
                    val = *v;
                }
            }
            score[(i, j)] = val.abs().min(1.0);
            best_lag[i][j] = (
                (arg / nc) as isize - (hb as isize - 1),
                (arg % nc) as isize - (wb as isize - 1),
                if val < 0.0 { -1.0 } else { 1.0 },
            );
        }
    }
    let (idx, _) = crate::metrics::recovery::match_scores(score.view());
    let matched_score = idx
        .iter()
        .enumerate()
        .map(|(i, j)| j.map_or(0.0, |j| score[(i, j)]))
        .collect();
    let matched_lag = idx
        .iter()
        .enumerate()
        .map(|(i, j)| j.map_or(0, |j| best_lag[i][j].1))
        .collect();
    let matched_lag_row = idx
        .iter()
        .enumerate()
        .map(|(i, j)| j.map_or(0, |j| best_lag[i][j].0))
        .collect();
    let signs = idx
        .iter()
        .enumerate()
        .map(|(i, j)| j.map_or(1.0, |j| best_lag[i][j].2))
        .collect();
    Ok(ConvRecovery {
        score,
        matching_index: idx,
        matched_score,
        matched_lag,
        matched_lag_row,
        signs,
    })
}

/// Rank-1 atoms' parts on a matching: for each true atom k matched to l, |cos(u_k, û_l)| of the
/// spatial patterns (P each) and the best |normalized correlation| over lags of the waveforms v
/// (L and L'). `u` is K × P, `v` K × L (rows are atoms); 0 for unmatched atoms.
///
/// # Errors
/// Mismatched shapes; zero or non-finite true parts.
pub fn rank1_scores(
    rec: &ConvRecovery,
    u: ArrayView2<'_, f64>,
    v: ArrayView2<'_, f64>,
    u_hat: ArrayView2<'_, f64>,
    v_hat: ArrayView2<'_, f64>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let k = rec.matching_index.len();
    ensure!(
        u.nrows() == k
            && v.nrows() == k
            && u_hat.nrows() == v_hat.nrows()
            && u.ncols() == u_hat.ncols(),
        "rank-1 parts",
        format!(
            "u {:?}, v {:?}, û {:?}, v̂ {:?}",
            u.dim(),
            v.dim(),
            u_hat.dim(),
            v_hat.dim()
        ),
        format!("u K × P, v K × L with K = {k} true atoms, and û, v̂ with one row per estimate")
    );
    let (mut su, mut sv) = (vec![0.0; k], vec![0.0; k]);
    for (i, j) in rec.matching_index.iter().enumerate() {
        let Some(j) = *j else { continue };
        let ua = unit(u.row(i).insert_axis(Axis(0)), "truth", i, false)?;
        let ub = unit(u_hat.row(j).insert_axis(Axis(0)), "estimate", j, true)?;
        su[i] = ua.row(0).dot(&ub.row(0)).abs().min(1.0);
        let va = unit(v.row(i).insert_axis(Axis(0)), "truth", i, false)?;
        let vb = unit(v_hat.row(j).insert_axis(Axis(0)), "estimate", j, true)?;
        sv[i] = shift_correlation(va.view(), vb.view())?
            .iter()
            .fold(0.0f64, |m, x| m.max(x.abs()))
            .min(1.0);
    }
    Ok((su, sv))
}

/// Support recovery of activations with a lag tolerance: true activations `z` (N × K × T_z) and
/// estimates `z_hat` (N × K' × T_z'), matched atom by atom by `rec` (an estimate's activation at
/// t stands for the true atom at t − τ, τ the matched lag: the true atom sits τ samples later
/// inside the estimate). A true event at t is found when an estimated non-zero (|ẑ| > `eps`) of
/// the matched atom lies within `tol` samples of t + τ; each estimated event is used once
/// (greedy, nearest first). Returns (precision, recall, F1) over all signals and matched atoms
/// (unmatched true atoms count their events as missed; F1 = 0 when nothing is found).
///
/// # Errors
/// Different signal counts or atom counts inconsistent with `rec`.
pub fn activation_f1(
    rec: &ConvRecovery,
    z: ArrayView3<'_, f64>,
    z_hat: ArrayView3<'_, f64>,
    tol: usize,
    eps: f64,
) -> Result<(f64, f64, f64)> {
    let (n, k, _) = z.dim();
    let (nh, kh, _) = z_hat.dim();
    ensure!(
        n == nh && k == rec.matching_index.len() && kh == rec.score.ncols(),
        "activations",
        format!("z {:?}, ẑ {:?}", z.dim(), z_hat.dim()),
        format!(
            "the same N signals, K = {} true and K' = {} estimated atoms as the matching",
            rec.matching_index.len(),
            rec.score.ncols()
        )
    );
    let (mut tp, mut n_true, mut n_est) = (0usize, 0usize, 0usize);
    for i in 0..n {
        for j in 0..kh {
            n_est += z_hat
                .index_axis(Axis(0), i)
                .row(j)
                .iter()
                .filter(|v| v.abs() > eps)
                .count();
        }
        for (a, m) in rec.matching_index.iter().enumerate() {
            let truth: Vec<isize> = z
                .index_axis(Axis(0), i)
                .row(a)
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(t, _)| t as isize)
                .collect();
            n_true += truth.len();
            let Some(b) = *m else { continue };
            let lag = rec.matched_lag[a];
            let mut est: Vec<(isize, bool)> = z_hat
                .index_axis(Axis(0), i)
                .row(b)
                .iter()
                .enumerate()
                .filter(|(_, v)| v.abs() > eps)
                .map(|(t, _)| (t as isize, false))
                .collect();
            for t in truth {
                let target = t + lag;
                let best = est
                    .iter()
                    .enumerate()
                    .filter(|(_, (s, used))| !used && (s - target).unsigned_abs() <= tol)
                    .min_by_key(|(_, (s, _))| (s - target).unsigned_abs())
                    .map(|(q, _)| q);
                if let Some(q) = best {
                    est[q].1 = true;
                    tp += 1;
                }
            }
        }
    }
    let precision = if n_est > 0 {
        tp as f64 / n_est as f64
    } else {
        0.0
    };
    let recall = if n_true > 0 {
        tp as f64 / n_true as f64
    } else {
        0.0
    };
    let f1 = if tp > 0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Ok((precision, recall, f1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, array};

    #[test]
    fn a_shifted_negated_copy_scores_one_at_its_lag() {
        // true atom [1, 2, 0, 0] / √5; estimate = −[0, 0, 1, 2] / √5 (delayed by 2 samples, negated)
        let truth = array![[[1.0, 2.0, 0.0, 0.0]], [[0.0, 1.0, 0.0, -1.0]]];
        let est = array![[[0.0, 1.0, 0.0, -1.0]], [[0.0, 0.0, -1.0, -2.0]]];
        let rec = conv_recovery(truth.view(), est.view()).unwrap();
        assert_eq!(rec.matching_index, vec![Some(1), Some(0)]);
        assert!((rec.matched_score[0] - 1.0).abs() < 1e-12);
        assert!((rec.matched_score[1] - 1.0).abs() < 1e-12);
        // ⟨d, S_τ d̂⟩ = Σ d[t] d̂[t − τ] is largest where d̂[t − τ] = d[t]: d̂[u] = d[u − 2], τ = −2
        assert_eq!(rec.matched_lag[0], -2);
        assert!((rec.signs[0] - -1.0).abs() < 1e-15);
        assert_eq!(rec.matched_lag[1], 0);
        assert!((rec.recovery_rate(0.99) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn scores_by_hand_for_a_partial_overlap() {
        // d = [1, 1]/√2, d̂ = [1, 0]: best lag gives 1/√2
        let truth = array![[[1.0, 1.0]]];
        let est = array![[[1.0, 0.0]]];
        let rec = conv_recovery(truth.view(), est.view()).unwrap();
        assert!((rec.matched_score[0] - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((rec.recovery_rate(0.99) - 0.0).abs() < 1e-15);
        assert!((rec.recovery_score() - 0.5f64.sqrt()).abs() < 1e-12);
        // fewer estimates than atoms: the unmatched atom scores 0
        let truth = array![[[1.0, 0.0]], [[0.0, 1.0]]];
        let rec = conv_recovery(truth.view(), est.view()).unwrap();
        assert_eq!(rec.matched_score.iter().filter(|c| **c == 0.0).count(), 1);
        assert!(conv_recovery(truth.view(), Array3::zeros((1, 2, 2)).view()).is_err());
    }

    #[test]
    fn rank1_parts_score_separately() {
        let u = array![[1.0, 0.0]];
        let v = array![[1.0, 2.0, 0.0]];
        let d = array![[[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]]];
        // estimate: u right, v shifted by one sample
        let uh = array![[2.0, 0.0]];
        let vh = array![[0.0, 1.0, 2.0]];
        let dh = array![[[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]];
        let rec = conv_recovery(d.view(), dh.view()).unwrap();
        let (su, sv) = rank1_scores(&rec, u.view(), v.view(), uh.view(), vh.view()).unwrap();
        assert!((su[0] - 1.0).abs() < 1e-12 && (sv[0] - 1.0).abs() < 1e-12);
        assert_eq!(rec.matched_lag[0], -1);
    }

    #[test]
    fn activation_f1_by_hand_with_a_lag_and_a_tolerance() {
        // one signal, one atom; true events at 2 and 10; the estimate (delayed by 1 sample, as its
        // atom is the truth advanced by one) fires at 3 (hit), 12 (hit within tol 1 of 11) and 20
        let rec = ConvRecovery {
            score: array![[1.0]],
            matching_index: vec![Some(0)],
            matched_score: vec![1.0],
            matched_lag: vec![1],
            matched_lag_row: vec![0],
            signs: vec![1.0],
        };
        let mut z = Array3::zeros((1, 1, 25));
        z[(0, 0, 2)] = 1.0;
        z[(0, 0, 10)] = 1.0;
        let mut zh = Array3::zeros((1, 1, 25));
        for t in [3, 12, 20] {
            zh[(0, 0, t)] = 0.5;
        }
        let (p, r, f1) = activation_f1(&rec, z.view(), zh.view(), 1, 0.0).unwrap();
        assert!((p - 2.0 / 3.0).abs() < 1e-12 && (r - 1.0).abs() < 1e-12);
        assert!((f1 - 0.8).abs() < 1e-12);
        // tolerance 0: only the event at 3 is found
        let (_, r, _) = activation_f1(&rec, z.view(), zh.view(), 0, 0.0).unwrap();
        assert!((r - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_planted_problem_matches_itself_and_its_shifted_atoms() {
        let inst = super::super::ConvSpec::new(3, 2, 200, 4, 12)
            .sample(5)
            .unwrap();
        let rec = conv_recovery(inst.atoms.view(), inst.atoms.view()).unwrap();
        assert!((rec.recovery_rate(0.999_999) - 1.0).abs() < 1e-15);
        assert!(rec.matched_lag.iter().all(|l| *l == 0));
        // atoms zero-padded by 3 samples in front (longer estimates) are the truth delayed by 3
        let (k, p, l) = inst.atoms.dim();
        let mut padded = Array3::zeros((k, p, l + 3));
        padded
            .slice_mut(ndarray::s![.., .., 3..])
            .assign(&inst.atoms);
        let rec = conv_recovery(inst.atoms.view(), padded.view()).unwrap();
        assert!((rec.recovery_rate(0.999_999) - 1.0).abs() < 1e-15);
        assert!(
            rec.matched_lag.iter().all(|l| *l == -3),
            "{:?}",
            rec.matched_lag
        );
    }

    /// An image atom shifted by (1, −2) pixels and negated scores 1 at that 2-D lag; a transposed
    /// atom scores less; the Hungarian matching pairs them.
    #[test]
    fn a_shifted_image_atom_scores_one_at_its_2d_lag() {
        // truth: two 3 × 3 atoms; estimate: 4 × 4 atoms holding −truth[1] at offset (1, 0) and
        // truth[0] at offset (0, 1)
        let t0 = [1.0, 0.5, 0.0, -0.3, 2.0, 0.1, 0.0, 0.4, -1.0];
        let t1 = [0.2, 0.0, 1.0, 1.5, -0.7, 0.0, 0.3, 0.9, 0.0];
        let mut truth = ndarray::Array3::zeros((2, 1, 9));
        for i in 0..9 {
            truth[(0, 0, i)] = t0[i];
            truth[(1, 0, i)] = t1[i];
        }
        let mut est = ndarray::Array3::zeros((2, 1, 16));
        for r in 0..3 {
            for c in 0..3 {
                est[(0, 0, (r + 1) * 4 + c)] = -t1[r * 3 + c];
                est[(1, 0, r * 4 + c + 1)] = t0[r * 3 + c];
            }
        }
        let rec = conv_recovery_2d(truth.view(), est.view(), 3, 4).unwrap();
        assert_eq!(rec.matching_index, vec![Some(1), Some(0)]);
        for s in &rec.matched_score {
            assert!((s - 1.0).abs() < 1e-12, "{s}");
        }
        // ⟨d_k, S_τ d̂⟩ peaks where the estimate's copy starts at −τ
        assert_eq!(rec.matched_lag_row, vec![0, -1]);
        assert_eq!(rec.matched_lag, vec![-1, 0]);
        assert_eq!(rec.signs, vec![1.0, -1.0]);
        assert!(rec.score[(0, 0)] < 0.99);
        assert!(rec.recovery_rate(0.99) >= 1.0);
    }
}
