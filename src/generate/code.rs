//! Sparse code generators: a support law × a value law, giving an `m × N` code matrix (one code
//! vector per column).
//!
//! | support law | meaning |
//! |---|---|
//! | [`Support::ExactK`] | exactly k atoms per sample, uniform without replacement |
//! | [`Support::Bernoulli`] | each atom active independently with probability θ (Qu et al., MSP, Malézieux) |
//! | [`Support::Zipf`] | exactly k atoms per sample, atom i drawn with weight 1/(i+1)^s without replacement |
//! | [`Support::Correlated`] | exactly k atoms per sample; atoms in groups of g consecutive indices fire together: after the first atom, each next one comes with probability ρ from the groups already active (SAE-style correlated firing, docs/protocols.md §15) |
//!
//! | value law | meaning |
//! |---|---|
//! | [`Values::Gaussian`] | N(0, 1) |
//! | [`Values::Rademacher`] | ±1 |
//! | [`Values::SignedUniform`] | ±U[a, b], independent signs |
//! | [`Values::NonNegUniform`] | U[a, b], a ≥ 0 (Rangamani et al.: nonzeros U[1, 10]) |
//! | [`Values::SharedSignUniform`] | U[a, b] with one random sign for the whole code vector (PUDLE) |

use crate::error::{Result, ensure};
use ndarray::Array2;
use rand::Rng;
use rand::seq::index::sample;
use rand_distr::{Distribution, StandardNormal, Uniform};
use serde::{Deserialize, Serialize};

/// How the support of each code vector is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Support {
    /// Exactly `k` atoms, uniformly at random.
    ExactK {
        /// Sparsity k.
        k: usize,
    },
    /// Each atom independently with probability `theta`.
    Bernoulli {
        /// Activation probability θ ∈ [0, 1].
        theta: f64,
    },
    /// Exactly `k` atoms, atom `i` with weight `1/(i+1)^exponent`, without replacement.
    Zipf {
        /// Sparsity k.
        k: usize,
        /// Zipf exponent s ≥ 0 (0 is uniform).
        exponent: f64,
    },
    /// Exactly `k` atoms with correlated firing: atoms `0..g`, `g..2g`, … form groups; the first
    /// atom of a sample is uniform, and each next one is drawn, with probability `rho`, uniformly
    /// from the unused atoms of the groups already active (uniformly from all unused atoms
    /// otherwise, or when those groups are used up). `rho = 0` is [`Support::ExactK`]; when `g`
    /// divides `m`, every atom keeps the marginal frequency k/m (the law is invariant under
    /// permutations that keep the groups).
    Correlated {
        /// Sparsity k.
        k: usize,
        /// Group size g ≥ 1 (atoms `i` and `j` share a group when `i / g == j / g`).
        group: usize,
        /// Probability ρ ∈ [0, 1] of drawing the next atom inside the active groups.
        rho: f64,
    },
}

/// How the non-zero values are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Values {
    /// Standard normal.
    Gaussian,
    /// ±1 with equal probability.
    Rademacher,
    /// ±U[a, b], independent signs; 0 ≤ a < b.
    SignedUniform {
        /// Lower magnitude.
        a: f64,
        /// Upper magnitude.
        b: f64,
    },
    /// U[a, b] with 0 ≤ a < b (non-negative codes).
    NonNegUniform {
        /// Lower bound.
        a: f64,
        /// Upper bound.
        b: f64,
    },
    /// U[a, b] magnitudes with one random sign per code vector (PUDLE's generator).
    SharedSignUniform {
        /// Lower magnitude.
        a: f64,
        /// Upper magnitude.
        b: f64,
    },
}

/// Law of the code matrix.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeLaw {
    /// Support law.
    pub support: Support,
    /// Value law.
    pub values: Values,
}

impl CodeLaw {
    /// Validate against the number of atoms `m`.
    pub fn check(&self, m: usize) -> Result<()> {
        match self.support {
            Support::ExactK { k } | Support::Zipf { k, .. } | Support::Correlated { k, .. } => {
                ensure!(k >= 1, "sparsity", k, "k ≥ 1");
                ensure!(
                    k <= m,
                    "sparsity",
                    k,
                    format!("k ≤ the number of atoms m = {m} (lower k or add atoms)")
                );
            }
            Support::Bernoulli { theta } => {
                ensure!((0.0..=1.0).contains(&theta), "theta", theta, "θ in [0, 1]");
            }
        }
        if let Support::Correlated { group, rho, .. } = self.support {
            ensure!(
                group >= 1 && group <= m,
                "firing_group",
                group,
                format!("a group size in 1..={m} (the number of atoms)")
            );
            ensure!(
                (0.0..=1.0).contains(&rho),
                "firing_corr",
                rho,
                "a probability ρ in [0, 1]"
            );
        }
        if let Support::Zipf { exponent, .. } = self.support {
            ensure!(
                exponent.is_finite() && exponent >= 0.0,
                "zipf_exponent",
                exponent,
                "a finite exponent ≥ 0"
            );
        }
        match self.values {
            Values::SignedUniform { a, b } | Values::SharedSignUniform { a, b } => {
                ensure!(
                    a.is_finite() && b.is_finite() && 0.0 <= a && a < b,
                    "value_range",
                    format!("[{a}, {b}]"),
                    "0 ≤ a < b"
                );
            }
            Values::NonNegUniform { a, b } => {
                ensure!(
                    a >= 0.0,
                    "value_low",
                    a,
                    "a ≥ 0 for non-negative codes (use signed_uniform for signed values)"
                );
                ensure!(
                    a.is_finite() && b.is_finite() && a < b,
                    "value_range",
                    format!("[{a}, {b}]"),
                    "a < b"
                );
            }
            Values::Gaussian | Values::Rademacher => {}
        }
        Ok(())
    }

    /// The exact number of non-zeros per code vector, for exact-k and Zipf supports.
    pub fn exact_sparsity(&self) -> Option<usize> {
        match self.support {
            Support::ExactK { k } | Support::Zipf { k, .. } | Support::Correlated { k, .. } => {
                Some(k)
            }
            Support::Bernoulli { .. } => None,
        }
    }

    /// Expected number of non-zeros per code vector.
    pub fn expected_sparsity(&self, m: usize) -> f64 {
        match self.support {
            Support::ExactK { k } | Support::Zipf { k, .. } | Support::Correlated { k, .. } => {
                k as f64
            }
            Support::Bernoulli { theta } => theta * m as f64,
        }
    }

    /// Draw an `m × n_samples` code matrix.
    pub fn sample(&self, m: usize, n_samples: usize, rng: &mut impl Rng) -> Result<Array2<f64>> {
        self.check(m)?;
        let mut x = Array2::zeros((m, n_samples));
        let mut support = Vec::with_capacity(m);
        let zipf_w: Vec<f64> = match self.support {
            // floored at the smallest normal f64: for a large exponent 1/(i+1)^s underflows to 0,
            // and a zero weight can never be drawn, which left fewer than k atoms per sample
            // (--zipf 1000 gave 2 of k = 4); floored atoms tie among themselves
            Support::Zipf { exponent, .. } => (0..m)
                .map(|i| {
                    (-exponent * ((i + 1) as f64).ln())
                        .exp()
                        .max(f64::MIN_POSITIVE)
                })
                .collect(),
            _ => Vec::new(),
        };
        for j in 0..n_samples {
            support.clear();
            match self.support {
                Support::ExactK { k } => support.extend(sample(rng, m, k)),
                Support::Bernoulli { theta } => {
                    support.extend((0..m).filter(|_| rng.random::<f64>() < theta))
                }
                Support::Zipf { k, .. } => {
                    let idx = rand::seq::index::sample_weighted(rng, m, |i| zipf_w[i], k).map_err(
                        |e| {
                            crate::error::Error::invalid(
                                "zipf_exponent",
                                e,
                                "weights that can be drawn",
                            )
                        },
                    )?;
                    support.extend(idx);
                    if support.len() != k {
                        return Err(crate::error::Error::invalid(
                            "zipf_exponent",
                            format!("{} atoms drawn of k = {k}", support.len()),
                            "a smaller Zipf exponent (the weights underflow)",
                        ));
                    }
                }
                Support::Correlated { k, group, rho } => {
                    correlated_support(m, k, group, rho, &mut support, rng)
                }
            }
            support.sort_unstable();
            let shared = if rng.random::<bool>() { 1.0 } else { -1.0 };
            for &i in &support {
                x[(i, j)] = match self.values {
                    Values::Gaussian => rng.sample(StandardNormal),
                    Values::Rademacher => {
                        if rng.random::<bool>() {
                            1.0
                        } else {
                            -1.0
                        }
                    }
                    Values::SignedUniform { a, b } => {
                        let v = Uniform::new(a, b).expect("checked").sample(rng);
                        if rng.random::<bool>() { v } else { -v }
                    }
                    Values::NonNegUniform { a, b } => {
                        Uniform::new(a, b).expect("checked").sample(rng)
                    }
                    Values::SharedSignUniform { a, b } => {
                        shared * Uniform::new(a, b).expect("checked").sample(rng)
                    }
                };
            }
        }
        Ok(x)
    }
}

/// Draw `k` distinct atoms of `0..m` into `out` by [`Support::Correlated`]'s law.
fn correlated_support(
    m: usize,
    k: usize,
    group: usize,
    rho: f64,
    out: &mut Vec<usize>,
    rng: &mut impl Rng,
) {
    let mut used = vec![false; m];
    let mut inside: Vec<usize> = Vec::new();
    for _ in 0..k {
        // unused atoms of the active groups
        inside.clear();
        if !out.is_empty() && rng.random::<f64>() < rho {
            let mut groups: Vec<usize> = out.iter().map(|&i| i / group).collect();
            groups.sort_unstable();
            groups.dedup();
            for g in groups {
                inside.extend((g * group..((g + 1) * group).min(m)).filter(|&i| !used[i]));
            }
        }
        let i = if inside.is_empty() {
            // uniform over the unused atoms: the r-th unused index
            let r = rng.random_range(0..m - out.len());
            (0..m)
                .filter(|&i| !used[i])
                .nth(r)
                .expect("r < number of unused atoms")
        } else {
            inside[rng.random_range(0..inside.len())]
        };
        used[i] = true;
        out.push(i);
    }
}
