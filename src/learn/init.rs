//! Pairwise-reweighting spectral initialization (Arora, Ge, Ma, Moitra 2015, Algorithm 3).
//!
//! For a pair of samples (u, v), the reweighted covariance
//! $$M_{u,v} = \tfrac1{p}\sum_{i=1}^{p} \langle y_i,u\rangle\langle y_i,v\rangle\, y_iy_i^\top$$
//! over p fresh samples has, when u and v share exactly one atom $a_j$, a dominant eigenvector close
//! to $\pm a_j$ (top eigenvalue $\gtrsim k/m$, second one much smaller). The method scans pairs,
//! keeps the top eigenvector when $|\sigma_1|$ clears `min_top` × the median of the accepted ones
//! and $|\sigma_2| \le$ `max_ratio`·$|\sigma_1|$, drops duplicates up to sign (|cos| ≥ `dedup`), and
//! stops at m atoms. If the pair budget runs out first, the remaining atoms are random data columns
//! — counted in [`SpectralInit::filled`], never silent. The paper's constants (Ω(k/m), O*(k/(m log m)))
//! are asymptotic; the defaults below are ours.

use crate::error::{Result, ensure};
use crate::linalg;
use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand::seq::index::sample;

/// Parameters of the spectral initialization.
///
/// | Name | Default | Purpose |
/// |---|---|---|
/// | `samples` | 4000 (≤ N) | p, samples averaged in each M_{u,v} |
/// | `max_pairs` | 40·m | pairs scanned before filling with data columns |
/// | `max_ratio` | 0.5 | accept when σ₂ ≤ ratio·σ₁ |
/// | `dedup` | 0.9 | |cos| above which two candidates are the same atom |
#[derive(Clone, Debug, PartialEq)]
pub struct PairwiseSpectral {
    /// p.
    pub samples: usize,
    /// Pair budget (0 = 40·m).
    pub max_pairs: usize,
    /// σ₂/σ₁ bound.
    pub max_ratio: f64,
    /// Duplicate threshold.
    pub dedup: f64,
}

impl Default for PairwiseSpectral {
    fn default() -> Self {
        PairwiseSpectral {
            samples: 4000,
            max_pairs: 0,
            max_ratio: 0.5,
            dedup: 0.9,
        }
    }
}

/// Output of [`PairwiseSpectral::build`].
#[derive(Clone, Debug)]
pub struct SpectralInit {
    /// n × m, unit-norm columns.
    pub dict: Array2<f64>,
    /// Atoms found spectrally.
    pub found: usize,
    /// Atoms filled with random data columns.
    pub filled: usize,
    /// Pairs scanned.
    pub pairs: usize,
}

impl PairwiseSpectral {
    /// Run on `y` (n × N) for `m` atoms.
    ///
    /// # Errors
    /// Fewer than 2 samples, an eigendecomposition failure.
    pub fn build(
        &self,
        y: ArrayView2<'_, f64>,
        m: usize,
        rng: &mut impl Rng,
    ) -> Result<SpectralInit> {
        let (n, nn) = y.dim();
        ensure!(nn >= 2, "n_samples", nn, "at least 2 signals");
        ensure!(
            self.max_ratio > 0.0 && self.max_ratio < 1.0,
            "max_ratio",
            self.max_ratio,
            "in (0, 1)"
        );
        let p = self.samples.min(nn).max(1);
        let budget = if self.max_pairs == 0 {
            40 * m
        } else {
            self.max_pairs
        };
        let par = linalg::par();
        // the averaging samples: fixed once (the paper draws fresh ones; with finite N we reuse)
        let idx = sample(rng, nn, p).into_vec();
        let ys = y.select(Axis(1), &idx);
        let mut found: Vec<ndarray::Array1<f64>> = Vec::with_capacity(m);
        let mut pairs = 0;
        let mut weighted = ys.clone();
        while found.len() < m && pairs < budget {
            pairs += 1;
            let uv = sample(rng, nn, 2).into_vec();
            let (u, v) = (y.column(uv[0]), y.column(uv[1]));
            let wu = ys.t().dot(&u);
            let wv = ys.t().dot(&v);
            for (i, mut c) in weighted.axis_iter_mut(Axis(1)).enumerate() {
                c.assign(&ys.column(i));
                c *= wu[i] * wv[i] / p as f64;
            }
            let mat = linalg::matmul_nt(weighted.view(), ys.view(), par);
            let (w, vecs) = linalg::eigh(mat.view())?;
            // largest |eigenvalue| and the next one
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()));
            let (s1, s2) = (
                w[order[0]].abs(),
                w[order.get(1).copied().unwrap_or(order[0])].abs(),
            );
            if s1 <= 0.0 || s2 > self.max_ratio * s1 {
                continue;
            }
            let cand = vecs.column(order[0]).to_owned();
            if found.iter().any(|f| f.dot(&cand).abs() >= self.dedup) {
                continue;
            }
            found.push(cand);
        }
        let nfound = found.len();
        let mut dict = Array2::zeros((n, m));
        for (j, f) in found.iter().enumerate() {
            dict.column_mut(j).assign(f);
        }
        let mut filled = 0;
        if nfound < m {
            let extra = sample(rng, nn, (m - nfound).min(nn)).into_vec();
            for (t, &i) in extra.iter().enumerate() {
                let c = y.column(i);
                let nc = c.dot(&c).sqrt();
                if nc > 0.0 {
                    dict.column_mut(nfound + t).assign(&(&c / nc));
                } else {
                    dict[(t % n, nfound + t)] = 1.0;
                }
                filled += 1;
            }
        }
        Ok(SpectralInit {
            dict,
            found: nfound,
            filled,
            pairs,
        })
    }
}
