//! Pairwise-reweighting spectral initialization (Arora, Ge, Ma, Moitra 2015, Algorithm 3).
//!
//! For a pair of samples (u, v), the reweighted covariance
//! $$M_{u,v} = \tfrac1{p}\sum_{i=1}^{p} \langle y_i,u\rangle\langle y_i,v\rangle\, y_iy_i^\top$$
//! over p fresh samples has, when u and v share exactly one atom $a_j$, a dominant eigenvector close
//! to $\pm a_j$ (top eigenvalue $\gtrsim k/m$, second one much smaller). The method scans pairs,
//! keeps the top eigenvector when $|\sigma_2| \le$ `max_ratio`·$|\sigma_1|$ (the paper's spectral-gap
//! test, with a ratio instead of its asymptotic thresholds), drops duplicates up to sign
//! (|cos| ≥ `dedup`), and
//! stops at m atoms. If the pair budget runs out first, the remaining atoms are random data columns
//! — counted in [`SpectralInit::filled`], never silent. The paper's constants (Ω(k/m), O*(k/(m log m)))
//! are asymptotic; the defaults below are ours.
//!
//! [`ClusteringInit`] is AltMinDict's initialization (Agarwal et al. 2014, Algorithm 1 "InitDictionary"):
//! build the correlation graph on samples, an edge where $|\langle y_i, y_j\rangle| \ge \rho$; for an
//! edge (i, j) the common neighbourhood $S = N(i)\cap N(j)$ of two signals that share one atom is
//! made mostly of signals using that atom, so the top eigenvector of $\sum_{l\in S} y_ly_l^\top$
//! estimates it. Same acceptance, de-duplication and filling as above.
//!
//! Both reuse one fixed subsample of the signals for every pair (the papers draw fresh samples per
//! pair; with a finite N we cannot).
//!
//! ## References
//! * Arora, Ge, Ma, Moitra (2015), "Simple, efficient, and neural algorithms for sparse coding",
//!   COLT, Algorithm 3 (pairwise reweighting), Lemma 5.2 (the spectral gap).
//! * Agarwal, Anandkumar, Jain, Netrapalli, Tandon (2014), "Learning sparsely used overcomplete
//!   dictionaries via alternating minimization", COLT; SIAM J. Optim. 26(4) 2016, Algorithm 1.

use crate::error::{Result, ensure};
use crate::linalg;
use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand::seq::index::sample;

crate::declare_method! {
    /// Parameters of the spectral initialization (Arora et al. 2014, Algorithm 3).
    #[derive(Clone, Debug, PartialEq)]
    pub struct PairwiseSpectral {
        given {}
        params {
            /// p, samples averaged in each M_{u,v} (at most N)
            samples: usize = param(Count, 4000);
            /// pairs scanned before filling with data columns
            max_pairs: Option<usize> = auto(Count, "40·m");
            /// accept a pair when σ₂ ≤ max_ratio·σ₁
            max_ratio: f64 = param(Between(0.0, 1.0), 0.5);
            /// absolute cosine above which two candidates are the same atom
            dedup: f64 = param(Fraction, 0.9);
        }
    }
}

impl Default for PairwiseSpectral {
    fn default() -> Self {
        Self::new()
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
        self.check_params()?;
        let p = self.samples.min(nn).max(1);
        let budget = self.max_pairs.unwrap_or(40 * m);
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
            push_distinct(&mut found, vecs.column(order[0]).to_owned(), self.dedup);
        }
        let (dict, nfound, filled) = assemble(y, m, &found, rng);
        Ok(SpectralInit {
            dict,
            found: nfound,
            filled,
            pairs,
        })
    }
}

/// Append `cand` unless it is within |cos| ≥ `dedup` of an atom already found.
fn push_distinct(found: &mut Vec<ndarray::Array1<f64>>, cand: ndarray::Array1<f64>, dedup: f64) {
    if !found.iter().any(|f| f.dot(&cand).abs() >= dedup) {
        found.push(cand);
    }
}

/// The n × m dictionary from the atoms found, completed with random (normalised) data columns.
fn assemble(
    y: ArrayView2<'_, f64>,
    m: usize,
    found: &[ndarray::Array1<f64>],
    rng: &mut impl Rng,
) -> (Array2<f64>, usize, usize) {
    let (n, nn) = y.dim();
    let nfound = found.len().min(m);
    let mut dict = Array2::zeros((n, m));
    for (j, f) in found.iter().take(m).enumerate() {
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
    (dict, nfound, filled)
}

crate::declare_method! {
    /// Correlation-graph clustering initialization of AltMinDict (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ClusteringInit {
        given {}
        params {
            /// ρ, the edge threshold on |⟨y_i, y_j⟩| (≈ C²/2 for non-zeros ≥ C)
            rho: f64 = param(Positive, 0.5);
            /// signals in the graph (at most N)
            samples: usize = param(Count, 2000);
            /// smallest common neighbourhood used
            min_common: usize = param(Count, 4);
            /// edges tried
            max_pairs: Option<usize> = auto(Count, "40·m");
            /// accept when σ₂ ≤ max_ratio·σ₁
            max_ratio: f64 = param(Between(0.0, 1.0), 0.5);
            /// absolute cosine above which two candidates are the same atom
            dedup: f64 = param(Fraction, 0.9);
        }
    }
}

impl Default for ClusteringInit {
    fn default() -> Self {
        Self::new()
    }
}

impl ClusteringInit {
    /// Run on `y` (n × N) for `m` atoms.
    ///
    /// # Errors
    /// Fewer than 2 samples, ρ ≤ 0, an eigendecomposition failure.
    pub fn build(
        &self,
        y: ArrayView2<'_, f64>,
        m: usize,
        rng: &mut impl Rng,
    ) -> Result<SpectralInit> {
        let (n, nn) = y.dim();
        ensure!(nn >= 2, "n_samples", nn, "at least 2 signals");
        self.check_params()?;
        let p = self.samples.min(nn).max(2);
        let budget = self.max_pairs.unwrap_or(40 * m);
        let idx = sample(rng, nn, p).into_vec();
        let ys = y.select(Axis(1), &idx);
        let g = linalg::gram(ys.view(), linalg::par());
        let nbrs: Vec<Vec<usize>> = (0..p)
            .map(|i| {
                (0..p)
                    .filter(|&j| j != i && g[(i, j)].abs() >= self.rho)
                    .collect()
            })
            .collect();
        let with_edges: Vec<usize> = (0..p).filter(|&i| !nbrs[i].is_empty()).collect();
        let mut found: Vec<ndarray::Array1<f64>> = Vec::with_capacity(m);
        let mut pairs = 0;
        let mut mark = vec![false; p];
        while found.len() < m && pairs < budget && !with_edges.is_empty() {
            pairs += 1;
            let i = with_edges[rng.random_range(0..with_edges.len())];
            let j = nbrs[i][rng.random_range(0..nbrs[i].len())];
            for &l in &nbrs[i] {
                mark[l] = true;
            }
            let common: Vec<usize> = nbrs[j].iter().copied().filter(|&l| mark[l]).collect();
            for &l in &nbrs[i] {
                mark[l] = false;
            }
            if common.len() < self.min_common {
                continue;
            }
            let yc = ys.select(Axis(1), &common);
            let mat = linalg::matmul_nt(yc.view(), yc.view(), linalg::par());
            let (w, vecs) = linalg::eigh(mat.view())?;
            // eigh sorts ascending: the last two are the largest (the matrix is PSD)
            let (s1, s2) = (w[n - 1], if n >= 2 { w[n - 2] } else { 0.0 });
            if s1 <= 0.0 || s2 > self.max_ratio * s1 {
                continue;
            }
            push_distinct(&mut found, vecs.column(n - 1).to_owned(), self.dedup);
        }
        let (dict, nfound, filled) = assemble(y, m, &found, rng);
        Ok(SpectralInit {
            dict,
            found: nfound,
            filled,
            pairs,
        })
    }
}
