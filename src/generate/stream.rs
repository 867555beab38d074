//! A streamed generator of sparse-autoencoder-scale planted data (the SynthSAEBench class of
//! SAELens's synthetic toolkit): m features in n dimensions, each firing with its own probability,
//! optionally in a hierarchy and with correlated firing, drawn in minibatches on the fly from
//! (seed, batch index) with sparse codes — never an m × N matrix.
//!
//! **Model.** A planted dictionary A (n × m, unit columns: random unit vectors, or any dictionary
//! of [`crate::generate::dictionary`] given to [`SynthModel::with_dictionary`]) and, per sample,
//! $y = A x + e$ with $x \ge 0$ sparse:
//! 1. **Firing.** Feature i fires with probability $p_i$. Laws ([`Firing`]): *Zipf*,
//!    $p_i = p_{\min} + (p_{\max} - p_{\min})\,\frac{r_i - r_m}{r_1 - r_m}$ with $r_i = i^{-s}$ (the
//!    power law rescaled to $[p_{\min}, p_{\max}]$, as SAELens's `zipfian_firing_probabilities`);
//!    *linear* from $p_{\max}$ down to $p_{\min}$; *constant*. Feature 0 fires most.
//! 2. **Correlated firing** (optional, [`Correlation`]): a low-rank Gaussian copula — with unit
//!    loadings $f_i \in \mathbb R^r$ (random, drawn once) and strength ρ ∈ [0, 1), the latent
//!    $u_i = \sqrt\rho\, f_i^\top g + \sqrt{1-\rho}\,\varepsilon_i$ ($g \sim N(0, I_r)$ per sample,
//!    $\varepsilon_i \sim N(0, 1)$) is standard normal with $\operatorname{corr}(u_i, u_j) = \rho\,
//!    f_i^\top f_j$, and feature i fires when $u_i > \Phi^{-1}(1 - p_i)$, so its marginal stays $p_i$.
//!    Without it, features fire independently.
//! 3. **Hierarchy** (optional, [`Hierarchy`]): `roots` trees of `branching` children per node down
//!    to `depth` levels below the roots, numbered breadth first (the roots are features
//!    0..roots, the most frequent); features past the trees have no parent. A child keeps its
//!    firing only when its parent fires; with `exclusive`, at most one child of a parent fires (one
//!    of those that drew a firing, uniformly). The children's marginals are then below their $p_i$
//!    (ours, as SAELens without `compensate_probabilities`); [`SynthModel::batch`]'s codes are
//!    the truth either way.
//! 4. **Magnitudes** ([`Magnitude`]): a firing feature takes $\max(0, \mu + \sigma\,\xi)$, ξ ~ N(0, 1)
//!    (SAELens's `mean_firing_magnitudes` / `std_firing_magnitudes`; a zero draw counts as not firing).
//! 5. **Noise**: $e \sim N(0, \sigma_e^2 I_n)$.
//!
//! **Streaming and reproducibility.** Batch b of size B is split into chunks of [`CHUNK`] samples;
//! chunk c is drawn from its own generator seeded by hashing (model seed, b, c), and the chunks are
//! drawn in parallel and concatenated in order — so a batch is the same whatever the thread count,
//! and any batch can be drawn without the ones before it. Without correlation, firing is drawn per
//! feature by geometric skips over the chunk's samples (cost O(nnz + m) per chunk rather than
//! O(m · B)); with it, every latent is drawn (O(m · (r + 1)) per sample).
//!
//! ## References
//! * SAELens (Bloom, Tigges, Chanin et al.), `sae_lens.synthetic`: firing probabilities,
//!   Gaussian-copula correlated firing, hierarchy modifiers, firing magnitudes — the model family
//!   (SynthSAEBench: 16 384 features in 768 dimensions). Our formulas are written above; the
//!   choices that differ are marked "ours".
//! * Acklam (2003), "An algorithm for computing the inverse normal cumulative distribution
//!   function" (rational approximation, relative error < 1.2 · 10⁻⁹): [`inverse_normal_cdf`].

use crate::error::{Error, Result, ensure};
use crate::rng::{derive_seed, rng_from_seed};
use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Samples per independently seeded chunk of a batch.
pub const CHUNK: usize = 256;

/// The law of the firing probabilities (module doc, step 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Firing {
    /// $r_i = i^{-s}$ rescaled linearly to [min_prob, max_prob].
    Zipf {
        /// Exponent s > 0.
        exponent: f64,
        /// Probability of feature 0.
        max_prob: f64,
        /// Probability of the last feature.
        min_prob: f64,
    },
    /// Linear from max_prob (feature 0) to min_prob (the last).
    Linear {
        /// Probability of feature 0.
        max_prob: f64,
        /// Probability of the last feature.
        min_prob: f64,
    },
    /// Every feature fires with probability `prob`.
    Constant {
        /// The probability.
        prob: f64,
    },
}

/// The trees of the hierarchy (module doc, step 3).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// Root features (0..roots).
    pub roots: usize,
    /// Children per node.
    pub branching: usize,
    /// Levels below the roots (1: roots and their children).
    pub depth: usize,
    /// At most one child of a parent fires.
    pub exclusive: bool,
}

/// The low-rank Gaussian copula (module doc, step 2).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// Rank r of the shared factors.
    pub rank: usize,
    /// Strength ρ ∈ [0, 1): corr(u_i, u_j) = ρ f_iᵀf_j.
    pub strength: f64,
}

/// Firing magnitudes max(0, mean + std · ξ) (module doc, step 4).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Magnitude {
    /// μ.
    pub mean: f64,
    /// σ ≥ 0.
    pub std: f64,
}

/// Everything that defines a planted model (with the seed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SynthSpec {
    /// Dimension n.
    pub dim: usize,
    /// Features m.
    pub features: usize,
    /// Firing probabilities.
    pub firing: Firing,
    /// Optional hierarchy.
    pub hierarchy: Option<Hierarchy>,
    /// Optional correlated firing.
    pub correlation: Option<Correlation>,
    /// Magnitudes.
    pub magnitude: Magnitude,
    /// Noise σ_e per entry.
    pub noise_sigma: f64,
}

impl SynthSpec {
    /// SynthSAEBench's size (16 384 features in 768 dimensions) with its firing law (linear from 0.16
    /// down to 0.01, as SAELens's published configuration) and its hierarchy's shape: 128 root features with mutually exclusive
    /// children — 127 each here, so that roots and children fill the 16 384 features exactly (the
    /// published configuration names 128 roots × 128 children); unit magnitudes of spread 0.1
    /// (ours), no correlation, no noise.
    pub fn synth_sae_bench() -> Self {
        SynthSpec {
            dim: 768,
            features: 16_384,
            firing: Firing::Linear {
                max_prob: 0.16,
                min_prob: 0.01,
            },
            hierarchy: Some(Hierarchy {
                roots: 128,
                branching: 127,
                depth: 1,
                exclusive: true,
            }),
            correlation: None,
            magnitude: Magnitude {
                mean: 1.0,
                std: 0.1,
            },
            noise_sigma: 0.0,
        }
    }

    /// [`SynthSpec::synth_sae_bench`]'s law at another size: `features` in `dim` dimensions, the
    /// hierarchy rescaled to keep its shape — ⌊features / 128⌋ roots (at least one) with up to 127
    /// exclusive children each, as many as fit (none below two features).
    pub fn synth_sae_bench_at(dim: usize, features: usize) -> Self {
        let mut s = Self::synth_sae_bench();
        s.dim = dim;
        s.features = features;
        let roots = (features / 128).max(1);
        let branching = (features / roots).saturating_sub(1).min(127);
        s.hierarchy = (features >= 2 && branching >= 1).then_some(Hierarchy {
            roots,
            branching,
            depth: 1,
            exclusive: true,
        });
        s
    }

    /// Every field in range.
    ///
    /// # Errors
    /// A zero size; probabilities outside (0, 1] or min > max; a Zipf exponent ≤ 0; a hierarchy
    /// with zero roots, branching or depth, or more tree nodes than features; a correlation of rank
    /// 0 or strength outside [0, 1); a negative or non-finite magnitude spread or noise.
    pub fn check(&self) -> Result<()> {
        ensure!(self.dim >= 1, "dim", self.dim, "n ≥ 1");
        ensure!(self.features >= 1, "features", self.features, "m ≥ 1");
        let prob = |p: f64| p > 0.0 && p <= 1.0;
        match self.firing {
            Firing::Zipf {
                exponent,
                max_prob,
                min_prob,
            } => {
                ensure!(
                    exponent > 0.0 && exponent.is_finite(),
                    "exponent",
                    exponent,
                    "a Zipf exponent s > 0"
                );
                ensure!(
                    prob(max_prob) && prob(min_prob) && min_prob <= max_prob,
                    "firing",
                    format!("min_prob {min_prob}, max_prob {max_prob}"),
                    "0 < min_prob ≤ max_prob ≤ 1"
                );
            }
            Firing::Linear { max_prob, min_prob } => ensure!(
                prob(max_prob) && prob(min_prob) && min_prob <= max_prob,
                "firing",
                format!("min_prob {min_prob}, max_prob {max_prob}"),
                "0 < min_prob ≤ max_prob ≤ 1"
            ),
            Firing::Constant { prob: p } => {
                ensure!(prob(p), "prob", p, "a firing probability in (0, 1]")
            }
        }
        if let Some(h) = self.hierarchy {
            ensure!(
                h.roots >= 1 && h.branching >= 1 && h.depth >= 1,
                "hierarchy",
                format!(
                    "roots {}, branching {}, depth {}",
                    h.roots, h.branching, h.depth
                ),
                "roots, branching and depth ≥ 1"
            );
            let nodes = tree_size(h);
            ensure!(
                nodes.is_some_and(|n| n <= self.features),
                "hierarchy",
                format!(
                    "{} tree nodes for {} features",
                    nodes.map_or("more than 2^64".to_string(), |n| n.to_string()),
                    self.features
                ),
                "at most as many tree nodes (roots · (1 + b + … + b^depth)) as features: fewer roots, a smaller branching or depth, or more features"
            );
        }
        if let Some(c) = self.correlation {
            ensure!(c.rank >= 1, "rank", c.rank, "a copula rank r ≥ 1");
            ensure!(
                (0.0..1.0).contains(&c.strength),
                "strength",
                c.strength,
                "a correlation strength ρ in [0, 1)"
            );
        }
        ensure!(
            self.magnitude.mean.is_finite()
                && self.magnitude.std >= 0.0
                && self.magnitude.std.is_finite(),
            "magnitude",
            format!("mean {}, std {}", self.magnitude.mean, self.magnitude.std),
            "a finite mean and a finite std ≥ 0"
        );
        ensure!(
            self.noise_sigma >= 0.0 && self.noise_sigma.is_finite(),
            "noise_sigma",
            self.noise_sigma,
            "σ ≥ 0"
        );
        Ok(())
    }

    /// The firing probabilities p_0 ≥ p_1 ≥ … (module doc, step 1).
    pub fn probabilities(&self) -> Vec<f64> {
        let m = self.features;
        match self.firing {
            Firing::Constant { prob } => vec![prob; m],
            Firing::Linear { max_prob, min_prob } => (0..m)
                .map(|i| {
                    if m == 1 {
                        max_prob
                    } else {
                        max_prob + (min_prob - max_prob) * i as f64 / (m - 1) as f64
                    }
                })
                .collect(),
            Firing::Zipf {
                exponent,
                max_prob,
                min_prob,
            } => {
                if m == 1 {
                    return vec![max_prob];
                }
                let r = |i: usize| ((i + 1) as f64).powf(-exponent);
                let (hi, lo) = (r(0), r(m - 1));
                (0..m)
                    .map(|i| min_prob + (max_prob - min_prob) * (r(i) - lo) / (hi - lo))
                    .collect()
            }
        }
    }
}

/// Nodes of the hierarchy's trees: roots · (1 + b + … + b^depth); `None` on overflow.
fn tree_size(h: Hierarchy) -> Option<usize> {
    let mut level = h.roots;
    let mut total = h.roots;
    for _ in 0..h.depth {
        level = level.checked_mul(h.branching)?;
        total = total.checked_add(level)?;
    }
    Some(total)
}

/// Φ⁻¹(p), the standard normal quantile, by Acklam's rational approximation (relative error
/// < 1.2 · 10⁻⁹); ±∞ at 0 and 1, NaN outside [0, 1].
pub fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.02425;
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Sparse codes of a batch, one column per sample (compressed sparse columns): the non-zeros of
/// sample j are `indices[indptr[j]..indptr[j + 1]]` (increasing) with `values[..]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseCodes {
    /// Features m (rows).
    pub features: usize,
    /// Column pointers, B + 1 entries.
    pub indptr: Vec<usize>,
    /// Feature indices of the non-zeros.
    pub indices: Vec<u32>,
    /// Their values (> 0).
    pub values: Vec<f64>,
}

impl SparseCodes {
    /// Samples B.
    pub fn samples(&self) -> usize {
        self.indptr.len() - 1
    }
    /// The non-zeros of sample `j`: (feature indices, values).
    pub fn column(&self, j: usize) -> (&[u32], &[f64]) {
        let r = self.indptr[j]..self.indptr[j + 1];
        (&self.indices[r.clone()], &self.values[r])
    }
    /// The mean number of non-zeros per sample (the true L0).
    pub fn mean_l0(&self) -> f64 {
        self.indices.len() as f64 / self.samples().max(1) as f64
    }
    /// The dense m × B matrix (for small checks only).
    pub fn to_dense(&self) -> Array2<f64> {
        let mut x = Array2::zeros((self.features, self.samples()));
        for j in 0..self.samples() {
            let (idx, val) = self.column(j);
            for (&i, &v) in idx.iter().zip(val) {
                x[(i as usize, j)] = v;
            }
        }
        x
    }
}

/// One minibatch: signals y (n × B) and their sparse codes.
#[derive(Clone, Debug)]
pub struct SynthBatch {
    /// Signals, one column per sample.
    pub y: Array2<f64>,
    /// The planted codes.
    pub codes: SparseCodes,
}

/// A planted model: the spec, its seed, the dictionary and what is drawn once (probabilities,
/// thresholds, parents, copula loadings).
#[derive(Clone, Debug)]
pub struct SynthModel {
    /// The spec.
    pub spec: SynthSpec,
    /// The model's seed (batches hash it with their index).
    pub seed: u64,
    /// The planted features as rows (m × n, unit rows): Aᵀ, stored so that each feature is
    /// contiguous when the signals are summed ([`SynthModel::dictionary`] is A itself).
    features: Array2<f64>,
    /// Firing probabilities p_i.
    pub probs: Vec<f64>,
    /// Parent of each feature (`None`: a root or a feature outside the trees).
    pub parent: Vec<Option<u32>>,
    /// Copula loadings (m × r, unit rows), when correlated.
    pub loadings: Option<Array2<f64>>,
    thresholds: Vec<f64>,
}

impl SynthModel {
    /// The model of `spec` with random unit-vector features, drawn from `seed`.
    ///
    /// # Errors
    /// As [`SynthSpec::check`]; a dictionary beyond the memory limit.
    pub fn new(spec: SynthSpec, seed: u64) -> Result<Self> {
        spec.check()?;
        crate::mem::check(
            format!("a {} × {} planted dictionary", spec.dim, spec.features),
            8 * spec.dim as u128 * spec.features as u128,
        )?;
        let mut rng = rng_from_seed(derive_seed(seed, "dictionary"));
        let mut a = crate::generate::dictionary::gaussian_matrix(spec.dim, spec.features, &mut rng);
        for mut c in a.axis_iter_mut(Axis(1)) {
            let n = c.dot(&c).sqrt();
            if n > 0.0 {
                c /= n;
            }
        }
        Self::with_dictionary(spec, a, seed)
    }

    /// The model of `spec` with the given dictionary (n × m; columns are normalized, unit ones left
    /// as they are).
    ///
    /// # Errors
    /// As [`SynthSpec::check`]; a dictionary of another shape than n × m, with a zero or
    /// non-finite column.
    pub fn with_dictionary(
        spec: SynthSpec,
        mut dictionary: Array2<f64>,
        seed: u64,
    ) -> Result<Self> {
        spec.check()?;
        ensure!(
            dictionary.dim() == (spec.dim, spec.features),
            "dictionary",
            format!("{:?}", dictionary.dim()),
            format!("an n × m = {} × {} dictionary", spec.dim, spec.features)
        );
        for mut c in dictionary.axis_iter_mut(Axis(1)) {
            let n = c.dot(&c).sqrt();
            ensure!(
                n > 0.0 && n.is_finite(),
                "dictionary",
                "a zero or non-finite column",
                "non-zero finite features"
            );
            // a unit column stays bit for bit (a saved model loads to the same batches)
            if (n - 1.0).abs() > 1e-12 {
                c /= n;
            }
        }
        let probs = spec.probabilities();
        let thresholds = probs.iter().map(|p| inverse_normal_cdf(1.0 - p)).collect();
        let m = spec.features;
        let mut parent = vec![None; m];
        if let Some(h) = spec.hierarchy {
            // breadth first: level 0 = 0..roots, each level's nodes have `branching` children
            let (mut start, mut len, mut next) = (0usize, h.roots, h.roots);
            for _ in 0..h.depth {
                for node in start..start + len {
                    for c in 0..h.branching {
                        parent[next + (node - start) * h.branching + c] = Some(node as u32);
                    }
                }
                start = next;
                len *= h.branching;
                next += len;
            }
        }
        let loadings = spec.correlation.map(|c| {
            let mut rng = rng_from_seed(derive_seed(seed, "loadings"));
            let mut f = crate::generate::dictionary::gaussian_matrix(m, c.rank, &mut rng);
            for mut row in f.axis_iter_mut(Axis(0)) {
                let n = row.dot(&row).sqrt();
                if n > 0.0 {
                    row /= n;
                }
            }
            f
        });
        Ok(SynthModel {
            spec,
            seed,
            features: dictionary.reversed_axes().as_standard_layout().into_owned(),
            probs,
            parent,
            loadings,
            thresholds,
        })
    }

    /// The data's sparsity as a learner is told it (the plans' "instance k"): the rounded mean L0
    /// of batch 0's 1024 samples, at least 1, with that mean L0.
    ///
    /// # Errors
    /// As [`SynthModel::batch`].
    pub fn told_k(&self) -> Result<(usize, f64)> {
        let l0 = self.batch(0, 1024)?.codes.mean_l0();
        Ok(((l0.round() as usize).max(1), l0))
    }

    /// Minibatch `index` of `size` samples (module doc: reproducible from (seed, index), the same
    /// on any thread count).
    ///
    /// # Errors
    /// A zero size.
    pub fn batch(&self, index: u64, size: usize) -> Result<SynthBatch> {
        use rayon::prelude::*;
        ensure!(size >= 1, "batch", size, "a batch of at least one sample");
        let chunks: Vec<(usize, usize)> = (0..size)
            .step_by(CHUNK)
            .map(|s| (s, CHUNK.min(size - s)))
            .collect();
        let parts: Vec<Vec<(Vec<u32>, Vec<f64>)>> = chunks
            .par_iter()
            .enumerate()
            .map(|(c, &(_, len))| {
                let mut rng =
                    rng_from_seed(derive_seed(self.seed, &format!("batch {index} chunk {c}")));
                self.draw_chunk(len, &mut rng)
            })
            .collect();
        let m = self.spec.features;
        let mut codes = SparseCodes {
            features: m,
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
        };
        for col in parts.into_iter().flatten() {
            codes.indices.extend(col.0);
            codes.values.extend(col.1);
            codes.indptr.push(codes.indices.len());
        }
        let y = self.signals(&codes, index)?;
        Ok(SynthBatch { y, codes })
    }

    /// y = A x + e for the codes of batch `index` (noise seeded by (seed, index)).
    fn signals(&self, codes: &SparseCodes, index: u64) -> Result<Array2<f64>> {
        use rayon::prelude::*;
        let n = self.spec.dim;
        let b = codes.samples();
        let mut y = Array2::<f64>::zeros((b, n));
        y.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(j, mut row)| {
                let (idx, val) = codes.column(j);
                for (&i, &v) in idx.iter().zip(val) {
                    row.scaled_add(v, &self.features.row(i as usize));
                }
            });
        let sigma = self.spec.noise_sigma;
        if sigma > 0.0 {
            let mut rng = rng_from_seed(derive_seed(self.seed, &format!("batch {index} noise")));
            y.iter_mut()
                .for_each(|v| *v += sigma * rng.sample::<f64, _>(StandardNormal));
        }
        Ok(y.reversed_axes().as_standard_layout().into_owned())
    }

    /// The codes of `len` samples, each as (increasing features, values).
    fn draw_chunk(&self, len: usize, rng: &mut impl Rng) -> Vec<(Vec<u32>, Vec<f64>)> {
        let m = self.spec.features;
        let mut fired: Vec<Vec<u32>> = vec![Vec::new(); len];
        match (&self.loadings, self.spec.correlation) {
            (Some(f), Some(c)) => {
                let (a, b) = (c.strength.sqrt(), (1.0 - c.strength).sqrt());
                let mut g = vec![0.0; c.rank];
                for list in fired.iter_mut() {
                    g.iter_mut().for_each(|v| *v = rng.sample(StandardNormal));
                    for i in 0..m {
                        let shared: f64 = f.row(i).iter().zip(&g).map(|(x, y)| x * y).sum();
                        let e: f64 = rng.sample(StandardNormal);
                        if a * shared + b * e > self.thresholds[i] {
                            list.push(i as u32);
                        }
                    }
                }
            }
            _ => {
                // per feature, geometric skips over the chunk's samples
                for (i, &p) in self.probs.iter().enumerate() {
                    if p >= 1.0 {
                        fired.iter_mut().for_each(|l| l.push(i as u32));
                        continue;
                    }
                    let log_q = (1.0 - p).ln();
                    let mut j = 0usize;
                    loop {
                        let u: f64 = rng.random();
                        // the number of failures before the next success: ⌊ln(1 − u) / ln(1 − p)⌋
                        let skip = ((1.0 - u).ln() / log_q).floor();
                        if !skip.is_finite() || skip >= (len - j) as f64 {
                            break;
                        }
                        j += skip as usize;
                        fired[j].push(i as u32);
                        j += 1;
                        if j >= len {
                            break;
                        }
                    }
                }
            }
        }
        let mut on = vec![false; m];
        fired
            .into_iter()
            .map(|list| self.finish_sample(list, &mut on, rng))
            .collect()
    }

    /// The hierarchy's rules and the magnitudes for one sample's drawn features (increasing).
    fn finish_sample(
        &self,
        list: Vec<u32>,
        on: &mut [bool],
        rng: &mut impl Rng,
    ) -> (Vec<u32>, Vec<f64>) {
        let mut kept: Vec<u32> = Vec::with_capacity(list.len());
        if let Some(h) = self.spec.hierarchy {
            // parents precede their children (breadth-first numbering), so one increasing pass
            // sees each parent's final state before its children
            let mut i = 0;
            while i < list.len() {
                let f = list[i];
                match self.parent[f as usize] {
                    Some(par) if !on[par as usize] => i += 1,
                    Some(par) if h.exclusive => {
                        // the run of this parent's drawn children (contiguous in the numbering):
                        // keep one, uniformly
                        let mut end = i + 1;
                        while end < list.len() && self.parent[list[end] as usize] == Some(par) {
                            end += 1;
                        }
                        let pick = list[rng.random_range(i..end)];
                        on[pick as usize] = true;
                        kept.push(pick);
                        i = end;
                    }
                    _ => {
                        on[f as usize] = true;
                        kept.push(f);
                        i += 1;
                    }
                }
            }
            for &f in &kept {
                on[f as usize] = false;
            }
        } else {
            kept = list;
        }
        let Magnitude { mean, std } = self.spec.magnitude;
        let mut idx = Vec::with_capacity(kept.len());
        let mut val = Vec::with_capacity(kept.len());
        for f in kept {
            let v = if std > 0.0 {
                mean + std * rng.sample::<f64, _>(StandardNormal)
            } else {
                mean
            };
            if v > 0.0 {
                idx.push(f);
                val.push(v);
            }
        }
        (idx, val)
    }

    /// Write the model to `dir`: `dictionary.npy` (n × m) and `model.json` (spec, seed,
    /// probabilities, parents; the loadings are redrawn from the seed).
    ///
    /// # Errors
    /// A directory or file that cannot be written.
    pub fn save(&self, dir: impl AsRef<std::path::Path>) -> Result<()> {
        let dir = dir.as_ref();
        crate::io::create_dir(dir)?;
        let a = self.dictionary().as_standard_layout().into_owned();
        crate::io::write_matrix(dir.join("dictionary.npy"), &a)?;
        crate::io::write_json(
            dir.join("model.json"),
            &SavedModel {
                spec: self.spec.clone(),
                seed: self.seed,
                probs: self.probs.clone(),
            },
        )
    }

    /// Read a model written by [`SynthModel::save`].
    ///
    /// # Errors
    /// Missing or unreadable files, a spec out of range, a dictionary of the wrong shape, or
    /// probabilities that do not match the spec (a file edited by hand).
    pub fn load(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let path = dir.join("model.json");
        ensure!(
            path.is_file() && dir.join("dictionary.npy").is_file(),
            "model",
            dir.display(),
            "a directory written by SynthModel::save or `dictlab sae synth` (dictionary.npy and model.json)"
        );
        let a = crate::io::read_matrix(dir.join("dictionary.npy"), "planted dictionary")?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::invalid(
                "model",
                format!("{}: {e}", path.display()),
                "a directory written by SynthModel::save (dictionary.npy and model.json)",
            )
        })?;
        let saved: SavedModel = serde_json::from_str(&text).map_err(|e| {
            Error::invalid(
                "model.json",
                e.to_string(),
                "the JSON that SynthModel::save writes",
            )
        })?;
        let model = Self::with_dictionary(saved.spec, a, saved.seed)?;
        ensure!(
            model.probs.len() == saved.probs.len()
                && model
                    .probs
                    .iter()
                    .zip(&saved.probs)
                    .all(|(x, y)| (x - y).abs() <= 1e-12),
            "model.json",
            "probabilities that differ from the spec's",
            "an unedited model.json (the probabilities follow from the spec)"
        );
        Ok(model)
    }

    /// The planted dictionary A (n × m, unit columns), a view of the stored rows.
    pub fn dictionary(&self) -> ArrayView2<'_, f64> {
        self.features.t()
    }
}

#[derive(Serialize, Deserialize)]
struct SavedModel {
    spec: SynthSpec,
    seed: u64,
    probs: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SynthSpec {
        SynthSpec {
            dim: 16,
            features: 40,
            firing: Firing::Zipf {
                exponent: 1.0,
                max_prob: 0.3,
                min_prob: 0.02,
            },
            hierarchy: None,
            correlation: None,
            magnitude: Magnitude {
                mean: 1.0,
                std: 0.2,
            },
            noise_sigma: 0.0,
        }
    }

    #[test]
    fn inverse_normal_cdf_by_known_quantiles() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.01, -2.326_347_874_040_841),
            (0.999, 3.090_232_306_167_813),
            (0.2, -0.841_621_233_572_914_3),
        ] {
            let got = inverse_normal_cdf(p);
            assert!(
                (got - z).abs() < 5e-9 * z.abs().max(1.0),
                "Φ⁻¹({p}) = {got}, not {z}"
            );
            assert!((inverse_normal_cdf(1.0 - p) + z).abs() < 5e-9 * z.abs().max(1.0));
        }
        let at0 = inverse_normal_cdf(0.0);
        assert!(at0.is_infinite() && at0 < 0.0);
        assert!(inverse_normal_cdf(1.5).is_nan());
    }

    /// By hand: Zipf with s = 1 on m = 3 gives r = 1, 1/2, 1/3, rescaled to [0.1, 0.4]: 0.4, 0.175,
    /// 0.1; linear on m = 3 from 0.4 to 0.1: 0.4, 0.25, 0.1.
    #[test]
    fn firing_probabilities_by_hand() {
        let mut s = small();
        s.features = 3;
        s.firing = Firing::Zipf {
            exponent: 1.0,
            max_prob: 0.4,
            min_prob: 0.1,
        };
        let p = s.probabilities();
        for (a, b) in p.iter().zip([0.4, 0.175, 0.1]) {
            assert!((a - b).abs() < 1e-12, "{p:?}");
        }
        s.firing = Firing::Linear {
            max_prob: 0.4,
            min_prob: 0.1,
        };
        let p = s.probabilities();
        for (a, b) in p.iter().zip([0.4, 0.25, 0.1]) {
            assert!((a - b).abs() < 1e-12, "{p:?}");
        }
    }

    /// Same (seed, index) → the same batch, on 1 and 4 threads; another index → another batch;
    /// y = A x exactly without noise.
    #[test]
    fn batches_are_reproducible_and_planted() {
        let model = SynthModel::new(small(), 7).unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let b1 = one.install(|| model.batch(3, 600).unwrap());
        let b4 = four.install(|| model.batch(3, 600).unwrap());
        assert_eq!(b1.codes, b4.codes);
        assert_eq!(b1.y, b4.y);
        let other = model.batch(4, 600).unwrap();
        assert_ne!(b1.codes, other.codes);
        let x = b1.codes.to_dense();
        let resid = &b1.y - &model.dictionary().dot(&x);
        assert!(resid.iter().all(|v| v.abs() < 1e-12));
        assert_eq!(b1.y.dim(), (16, 600));
        for j in 0..600 {
            let (idx, val) = b1.codes.column(j);
            assert!(idx.windows(2).all(|w| w[0] < w[1]));
            assert!(val.iter().all(|v| *v > 0.0));
        }
    }

    /// Independent firing: each feature's count over 20 000 samples is within 4.5 binomial
    /// standard deviations of p_i · N, and the mean L0 within 1 % of Σ p_i (magnitudes > 0 here).
    #[test]
    fn marginals_match_the_probabilities() {
        let mut s = small();
        s.magnitude.std = 0.0;
        let model = SynthModel::new(s, 11).unwrap();
        let b = model.batch(0, 20_000).unwrap();
        let mut counts = vec![0usize; 40];
        for &i in &b.codes.indices {
            counts[i as usize] += 1;
        }
        for (i, (&c, &p)) in counts.iter().zip(&model.probs).enumerate() {
            let (mean, sd) = (p * 20_000.0, (20_000.0 * p * (1.0 - p)).sqrt());
            assert!(
                (c as f64 - mean).abs() < 4.5 * sd,
                "feature {i}: {c} vs {mean} ± {sd}"
            );
        }
        let l0: f64 = model.probs.iter().sum();
        assert!(
            (b.codes.mean_l0() - l0).abs() < 0.01 * l0,
            "{} vs {l0}",
            b.codes.mean_l0()
        );
    }

    /// The copula keeps the marginals and correlates features that share loadings: with rank 1 and
    /// strength 0.8, features whose loadings have the same sign co-fire more often than
    /// independence predicts, and opposite signs less.
    #[test]
    fn the_copula_correlates_firing_and_keeps_marginals() {
        let mut s = small();
        s.firing = Firing::Constant { prob: 0.2 };
        s.correlation = Some(Correlation {
            rank: 1,
            strength: 0.8,
        });
        let model = SynthModel::new(s, 5).unwrap();
        let b = model.batch(0, 20_000).unwrap();
        let x = b.codes.to_dense().mapv(|v| f64::from(u8::from(v > 0.0)));
        let f = model.loadings.as_ref().unwrap();
        let (mut same, mut opp) = (Vec::new(), Vec::new());
        for i in 0..10 {
            let pi = x.row(i).mean().unwrap();
            assert!((pi - 0.2).abs() < 0.02, "feature {i}: {pi}");
            for j in i + 1..10 {
                let both = (&x.row(i) * &x.row(j)).mean().unwrap();
                if f[(i, 0)] * f[(j, 0)] > 0.0 {
                    same.push(both);
                } else {
                    opp.push(both);
                }
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(!same.is_empty() && !opp.is_empty());
        assert!(mean(&same) > 0.06, "same-sign co-firing {}", mean(&same));
        assert!(mean(&opp) < 0.03, "opposite-sign co-firing {}", mean(&opp));
    }

    /// The hierarchy: 2 roots × 3 children × depth 1 (features 0–1 roots, 2–7 children, 8– free):
    /// a child never fires without its parent; exclusive: at most one child per parent.
    #[test]
    fn children_fire_only_with_their_parent() {
        for exclusive in [false, true] {
            let mut s = small();
            s.firing = Firing::Constant { prob: 0.5 };
            s.hierarchy = Some(Hierarchy {
                roots: 2,
                branching: 3,
                depth: 1,
                exclusive,
            });
            let model = SynthModel::new(s, 9).unwrap();
            assert_eq!(model.parent[0], None);
            assert_eq!(model.parent[2], Some(0));
            assert_eq!(model.parent[5], Some(1));
            assert_eq!(model.parent[8], None);
            let b = model.batch(1, 3000).unwrap();
            let mut child_fired = 0;
            let mut two_siblings = 0;
            for j in 0..3000 {
                let (idx, _) = b.codes.column(j);
                for &f in idx {
                    if let Some(p) = model.parent[f as usize] {
                        child_fired += 1;
                        assert!(idx.contains(&p), "sample {j}: child {f} without parent {p}");
                    }
                }
                for p in 0..2u32 {
                    let n = idx
                        .iter()
                        .filter(|&&f| model.parent[f as usize] == Some(p))
                        .count();
                    if n > 1 {
                        two_siblings += 1;
                    }
                }
            }
            assert!(child_fired > 500, "{child_fired}");
            if exclusive {
                assert_eq!(two_siblings, 0);
            } else {
                assert!(two_siblings > 100, "{two_siblings}");
            }
        }
    }

    #[test]
    fn save_and_load_give_the_same_batches() {
        let mut s = small();
        s.correlation = Some(Correlation {
            rank: 2,
            strength: 0.5,
        });
        s.noise_sigma = 0.05;
        let model = SynthModel::new(s, 3).unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let back = SynthModel::load(dir.path()).unwrap();
        let (a, b) = (model.batch(2, 300).unwrap(), back.batch(2, 300).unwrap());
        assert_eq!(a.codes, b.codes);
        assert_eq!(a.y, b.y);
        let json = dir.path().join("model.json");
        let text = std::fs::read_to_string(&json)
            .unwrap()
            .replace("0.3", "0.35");
        std::fs::write(&json, text).unwrap();
        assert!(SynthModel::load(dir.path()).is_err());
    }

    #[test]
    fn bad_specs_are_refused_naming_the_fix() {
        let mut s = small();
        s.hierarchy = Some(Hierarchy {
            roots: 4,
            branching: 4,
            depth: 2,
            exclusive: false,
        });
        let e = SynthModel::new(s, 1).unwrap_err().to_string();
        assert!(e.contains("84 tree nodes for 40 features"), "{e}");
        let mut s = small();
        s.firing = Firing::Zipf {
            exponent: 1.0,
            max_prob: 0.1,
            min_prob: 0.2,
        };
        assert!(
            SynthModel::new(s, 1)
                .unwrap_err()
                .to_string()
                .contains("min_prob ≤ max_prob")
        );
        let mut s = small();
        s.correlation = Some(Correlation {
            rank: 2,
            strength: 1.0,
        });
        assert!(
            SynthModel::new(s, 1)
                .unwrap_err()
                .to_string()
                .contains("[0, 1)")
        );
        let model = SynthModel::new(small(), 1).unwrap();
        assert!(model.batch(0, 0).is_err());
        let wrong = Array2::ones((3, 3));
        assert!(SynthModel::with_dictionary(small(), wrong, 1).is_err());
    }

    /// SynthSAEBench's spec is valid, its probabilities span [0.01, 0.16], its trees fill the
    /// features, and a batch of it has a mean L0 between the roots' expected firing and that plus one
    /// child per root (observed: printed).
    #[test]
    fn the_synth_sae_bench_spec() {
        let s = SynthSpec::synth_sae_bench();
        s.check().unwrap();
        let p = s.probabilities();
        assert_eq!(p.len(), 16_384);
        assert!((p[0] - 0.16).abs() < 1e-12 && (p[16_383] - 0.01).abs() < 1e-12);
        assert_eq!(tree_size(s.hierarchy.unwrap()), Some(16_384));
        let model = SynthModel::new(s, 1).unwrap();
        assert!(model.parent[127].is_none() && model.parent[128] == Some(0));
        assert_eq!(model.parent[16_383], Some(127));
        let b = model.batch(0, 1024).unwrap();
        let roots: f64 = p[..128].iter().sum();
        let l0 = b.codes.mean_l0();
        eprintln!("SynthSAEBench-shaped batch: mean L0 {l0:.2} (roots alone {roots:.2})");
        assert!(
            l0 > 0.8 * roots && l0 < 2.0 * roots + 1.0,
            "{l0} vs {roots}"
        );
    }
}
