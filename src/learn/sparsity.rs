//! k̂: the sparsity estimated from the signals alone — what the benchmark's **blind track** gives
//! every method that uses a sparsity (docs/protocols.md §6). The rule is ours; no paper fixes one.
//!
//! For each candidate k in [`CANDIDATES`] (increasing, up to ⌊n/2⌋), a pilot run of MOD (Engan,
//! Aase, Husøy 1999, eq. (5)) with OMP at k atoms (Pati et al. 1993) from m random signals, for
//! [`PILOT_ITERS`] alternations, gives the median relative residual
//! $\rho(k) = \operatorname{median}_i \|y_i - D_k x_i\|_2 / \|y_i\|_2$ ($\rho(0) = 1$). Where the
//! pilot learns the planted atoms, ρ drops sharply at the true k — the residual falls from the
//! energy of a missing atom to the noise — and decays smoothly elsewhere:
//!
//! * k̂ = the candidate with the smallest ratio $\rho(k) / \rho(k^-)$ (k⁻ the previous
//!   candidate), when that ratio is at most [`ELBOW`]: the sharpest elbow;
//! * with no elbow, the first candidate with $\rho(k) \le$ [`REL_TOL`] (96 % of the energy
//!   explained), else the largest candidate.
//!
//! Neither k nor the noise level σ enters. Where no pilot learns the dictionary (large k, high
//! coherence) ρ carries little information about k and k̂ is off; every row of the blind track
//! records k̂ (`m_k_hat`) next to the true k, so its error is measured, not assumed.

use super::{AlternatingMinimization, DictionaryLearner, Init, update::Mod};
use crate::code::{Omp, SparseCoder};
use crate::error::{Error, Result};
use ndarray::ArrayView2;

/// Alternations of each pilot run.
pub const PILOT_ITERS: usize = 20;
/// Candidate sparsities, tried in increasing order (those above ⌊n/2⌋ are skipped).
pub const CANDIDATES: &[usize] = &[1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32];
/// An elbow: the residual falls to at most this fraction of the previous candidate's.
pub const ELBOW: f64 = 0.5;
/// Without an elbow: the relative residual that counts as explained.
pub const REL_TOL: f64 = 0.2;

/// k̂ of the signals `y` (n × N) for a dictionary of `m` atoms (module doc); `seed` draws the
/// pilots' start.
///
/// # Errors
/// No non-zero finite signal; fewer signals than atoms; the pilot's errors.
pub fn estimate_sparsity(y: ArrayView2<'_, f64>, m: usize, seed: u64) -> Result<usize> {
    let n = y.nrows();
    let kept: Vec<usize> = (0..y.ncols())
        .filter(|&j| {
            let c = y.column(j);
            c.iter().all(|v| v.is_finite()) && c.iter().any(|v| *v != 0.0)
        })
        .collect();
    if kept.len() < m.max(1) {
        return Err(Error::invalid(
            "signals",
            format!("{} non-zero finite signals for {m} atoms", kept.len()),
            "at least as many non-zero signals as atoms to estimate the sparsity k̂",
        ));
    }
    let y = y.select(ndarray::Axis(1), &kept);
    let cands: Vec<usize> = CANDIDATES
        .iter()
        .copied()
        .filter(|&k| k <= (n / 2).max(1) && k <= m)
        .collect();
    let (mut prev, mut sharpest) = (1.0, (f64::INFINITY, 0));
    let mut explained = None;
    for &k in &cands {
        let r = residual(y.view(), m, k, seed)?;
        // a residual already at round-off explains nothing more
        let ratio = if prev > 1e-9 { r / prev } else { 1.0 };
        if ratio < sharpest.0 {
            sharpest = (ratio, k);
        }
        if r <= REL_TOL && explained.is_none() {
            explained = Some(k);
        }
        prev = r;
    }
    if sharpest.0 <= ELBOW {
        return Ok(sharpest.1);
    }
    Ok(explained.unwrap_or(cands.last().copied().unwrap_or(1)))
}

/// ρ(k): the median relative residual of OMP at k atoms with a pilot MOD dictionary.
fn residual(y: ArrayView2<'_, f64>, m: usize, k: usize, seed: u64) -> Result<f64> {
    let pilot =
        AlternatingMinimization::new(Omp::with_sparsity(k), Mod::default()).max_iters(PILOT_ITERS);
    let learned = pilot.learn(y, m, &Init::RandomData, seed)?;
    let codes = Omp::with_sparsity(k).encode(learned.dict.view(), y)?.codes;
    let r =
        &y - &crate::linalg::matmul_nn(learned.dict.view(), codes.view(), crate::linalg::Par::Seq);
    let rel: Vec<f64> = (0..y.ncols())
        .map(|j| {
            let (a, b) = (r.column(j), y.column(j));
            (a.dot(&a) / b.dot(&b)).sqrt()
        })
        .collect();
    Ok(crate::table::median(&rel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::DictKind;
    use crate::instance::InstanceSpec;

    /// On easy planted instances (incoherent dictionary, enough signals, no noise) the pilot
    /// finds the planted k.
    #[test]
    fn recovers_the_planted_sparsity_on_easy_instances() {
        for (k, snr) in [(1, 40.0), (2, 30.0), (3, 40.0)] {
            let inst = InstanceSpec::new(32, 48, 2000)
                .sparsity(k)
                .dictionary(DictKind::Coherence { target: 0.3 })
                .noise(crate::generate::Noise::SnrDb { snr_db: snr })
                .sample(11 + k as u64)
                .unwrap();
            let k_hat = estimate_sparsity(inst.y.view(), 48, 3).unwrap();
            assert_eq!(k_hat, k, "k = {k}, k̂ = {k_hat}");
        }
    }

    #[test]
    fn refuses_too_few_signals() {
        let y = ndarray::Array2::<f64>::zeros((8, 40));
        let e = estimate_sparsity(y.view(), 10, 0).unwrap_err().to_string();
        assert!(e.contains("non-zero signals"), "{e}");
    }
}
