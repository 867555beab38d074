//! Planted problems `Y = A* X* + E`: [`InstanceSpec`] (a validated description) and [`Instance`]
//! (owned data + ground truth + spec + seed).
//!
//! `Y` is n × N (signals in columns), `A*` is n × m with unit-norm columns, `X*` is m × N.
//! [`InstanceSpec::sample`] draws everything from one ChaCha8 stream seeded by `seed`, in a fixed
//! order (dictionary, codes, noise), and computes `A X` column by column, so the result is
//! bit-identical for a given seed on any thread count.

use crate::error::{Error, Result, ensure};
use crate::generate::{self, CodeLaw, CoherenceOptions, CoherenceReport, Noise, Support, Values};
use crate::rng::rng_from_seed;
use crate::spec::{Context, Dflt, Param, Params, Ty};
use crate::table::Value;
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Which dictionary to plant.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DictKind {
    /// Gaussian with unit-norm columns.
    Gaussian,
    /// Haar-random orthonormal basis (m = n).
    Orthobasis,
    /// [I | H/√n] (m = 2n, n a power of two), μ = 1/√n.
    IdentityHadamard,
    /// [I | DCT-II] (m = 2n), μ = sqrt(2/n) cos(π/2n).
    IdentityDct,
    /// Random unit-norm tight frame (m ≥ n).
    TightFrame,
    /// Mutual coherence close to `target` (lowered or raised, see [`generate::coherence_targeted`]).
    Coherence {
        /// Target μ.
        target: f64,
    },
    /// Gaussian with `pairs` planted near-duplicate pairs at |cos| = `cos`.
    NearDuplicates {
        /// |cos| of each planted pair.
        cos: f64,
        /// Number of disjoint pairs.
        pairs: usize,
    },
    /// Real Steiner ETF: (n, m) ∈ {(6, 16), (28, 64), (120, 256), …} = (v(v−1)/2, v²).
    SteinerEtf,
}

impl DictKind {
    /// Short name used in tables (`p_inst_dictionary`).
    pub fn name(&self) -> String {
        match self {
            DictKind::Gaussian => "gaussian".into(),
            DictKind::Orthobasis => "orthobasis".into(),
            DictKind::IdentityHadamard => "identity_hadamard".into(),
            DictKind::IdentityDct => "identity_dct".into(),
            DictKind::TightFrame => "tight_frame".into(),
            DictKind::Coherence { .. } => "coherence".into(),
            DictKind::NearDuplicates { .. } => "near_duplicates".into(),
            DictKind::SteinerEtf => "steiner_etf".into(),
        }
    }
}

/// A validated description of a planted problem (builder).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// Signal dimension n.
    pub dim: usize,
    /// Number of atoms m.
    pub n_atoms: usize,
    /// Number of samples N.
    pub n_samples: usize,
    /// Dictionary law.
    pub dictionary: DictKind,
    /// Code law.
    pub codes: CodeLaw,
    /// Noise law.
    pub noise: Noise,
}

/// How many times a sweep draws an instance again when its dictionary missed the target μ
/// ([`InstanceSpec::sample_redrawing`]).
pub const REDRAWS: usize = 5;

impl InstanceSpec {
    /// Gaussian dictionary, exact-k supports with k = min(3, m), Gaussian values, no noise.
    pub fn new(dim: usize, n_atoms: usize, n_samples: usize) -> Self {
        InstanceSpec {
            dim,
            n_atoms,
            n_samples,
            dictionary: DictKind::Gaussian,
            codes: CodeLaw {
                support: Support::ExactK {
                    k: n_atoms.clamp(1, 3),
                },
                values: Values::Gaussian,
            },
            noise: Noise::None,
        }
    }
    /// Exactly `k` non-zeros per code.
    pub fn sparsity(mut self, k: usize) -> Self {
        self.codes.support = Support::ExactK { k };
        self
    }
    /// Bernoulli(θ) supports.
    pub fn bernoulli(mut self, theta: f64) -> Self {
        self.codes.support = Support::Bernoulli { theta };
        self
    }
    /// Any support law.
    pub fn support(mut self, s: Support) -> Self {
        self.codes.support = s;
        self
    }
    /// Value law.
    pub fn values(mut self, v: Values) -> Self {
        self.codes.values = v;
        self
    }
    /// Dictionary law.
    pub fn dictionary(mut self, d: DictKind) -> Self {
        self.dictionary = d;
        self
    }
    /// Noise law.
    pub fn noise(mut self, n: Noise) -> Self {
        self.noise = n;
        self
    }

    /// The keys [`InstanceSpec::from_params`] accepts (sweep plans' instance keys), typed and
    /// documented like a method's parameters (and checked by the same parser, [`Params`]).
    pub const PARAMS: &'static [Param] = &[
        Param::new("dim", Ty::Count, Dflt::Required, "signal dimension n"),
        Param::new("n_atoms", Ty::Count, Dflt::Required, "atoms m"),
        Param::new("n_samples", Ty::Count, Dflt::Required, "samples N"),
        Param::new(
            "dictionary",
            Ty::Choice(DICTIONARIES),
            Dflt::Auto("gaussian (coherence with a target)"),
            "dictionary family",
        ),
        Param::new(
            "coherence",
            Ty::Number,
            Dflt::Auto("none"),
            "target μ (implies dictionary = coherence; NaN: no target, beside another kind)",
        ),
        Param::new(
            "pair_cos",
            Ty::Number,
            Dflt::Float(0.9),
            "cosine of the near-duplicate pairs",
        ),
        Param::new("pairs", Ty::Natural, Dflt::Int(1), "near-duplicate pairs"),
        Param::new(
            "sparsity",
            Ty::Natural,
            Dflt::Auto("3"),
            "exact-k supports: k",
        ),
        Param::new(
            "theta",
            Ty::Number,
            Dflt::Auto("none"),
            "Bernoulli(θ) supports",
        ),
        Param::new(
            "zipf_exponent",
            Ty::Number,
            Dflt::Auto("none"),
            "Zipf atom frequencies for exact-k supports",
        ),
        Param::new(
            "firing_group",
            Ty::Natural,
            Dflt::Auto("none"),
            "correlated firing: group size g",
        ),
        Param::new(
            "firing_corr",
            Ty::Number,
            Dflt::Auto("none"),
            "correlated firing: ρ",
        ),
        Param::new(
            "values",
            Ty::Choice(VALUES),
            Dflt::Str("gaussian"),
            "law of the non-zero values",
        ),
        Param::new(
            "value_low",
            Ty::Number,
            Dflt::Float(1.0),
            "lower bound of the uniform laws",
        ),
        Param::new(
            "value_high",
            Ty::Number,
            Dflt::Float(2.0),
            "upper bound of the uniform laws",
        ),
        Param::new(
            "noise_sigma",
            Ty::Number,
            Dflt::Auto("none"),
            "Gaussian noise σ",
        ),
        Param::new(
            "snr_db",
            Ty::Number,
            Dflt::Auto("none"),
            "Gaussian noise by SNR in dB",
        ),
    ];

    /// The keys of [`InstanceSpec::PARAMS`].
    pub fn keys() -> Vec<&'static str> {
        Self::PARAMS.iter().map(|p| p.key).collect()
    }

    /// A checked spec from named parameters (a sweep plan's instance keys; `dictlab generate`'s
    /// flags map onto the same keys):
    ///
    /// | key | meaning (default) |
    /// |---|---|
    /// | `dim`, `n_atoms`, `n_samples` | n, m, N (required) |
    /// | `dictionary` | `gaussian` (default), `orthobasis`, `identity_hadamard`, `identity_dct`, `tight_frame`, `coherence`, `near_duplicates`, `steiner_etf` |
    /// | `coherence` | target μ (implies `dictionary = "coherence"`); `nan` means no target, so a plan can couple `dictionary` and `coherence` across kinds |
    /// | `pair_cos`, `pairs` | near-duplicate pairs (0.9, 1) |
    /// | `sparsity` / `theta` | exact-k supports (k = 3) / Bernoulli(θ) supports |
    /// | `zipf_exponent` | Zipf atom frequencies for exact-k supports |
    /// | `firing_group`, `firing_corr` | correlated firing for exact-k supports: groups of g atoms, ρ (both required together) |
    /// | `values`, `value_low`, `value_high` | `gaussian` (default), `rademacher`, `signed_uniform`, `nonneg_uniform`, `shared_sign_uniform`; bounds (1, 2) |
    /// | `noise_sigma` / `snr_db` | Gaussian noise by σ / by SNR in dB (none) |
    ///
    /// # Errors
    /// An unknown key (the error lists the known ones), a value of the wrong type, conflicting
    /// keys, and everything [`InstanceSpec::check`] rejects.
    pub fn from_params(kv: &[(String, Value)]) -> Result<Self> {
        // `coherence = nan` is "no target": plans couple it with other dictionary kinds; it must
        // come with such a kind (alone it silently meant a Gaussian dictionary)
        let nan_coherence = kv
            .iter()
            .any(|(k, v)| k == "coherence" && v.as_f64().is_some_and(f64::is_nan));
        let kv: Vec<(String, Value)> = kv
            .iter()
            .filter(|(k, v)| !(k == "coherence" && v.as_f64().is_some_and(f64::is_nan)))
            .cloned()
            .collect();
        let p = Params::of("instance key", "", Self::PARAMS.iter().collect(), &kv)?;
        if nan_coherence && matches!(p.str_opt("dictionary").as_deref(), None | Some("coherence")) {
            return Err(Error::invalid(
                "instance key",
                "coherence = NaN",
                "a finite target μ (NaN means \"no target\" only beside another dictionary kind)",
            ));
        }
        let spec = InstanceSpec::new(p.usize("dim")?, p.usize("n_atoms")?, p.usize("n_samples")?)
            .support(support_of(&p)?)
            .dictionary(dict_kind_of(&p)?)
            .values(values_of(&p)?)
            .noise(noise_of(p.f64_opt("noise_sigma"), p.f64_opt("snr_db"))?);
        spec.check()?;
        Ok(spec)
    }

    /// Validate every field; errors name the fix.
    pub fn check(&self) -> Result<()> {
        let (n, m) = (self.dim, self.n_atoms);
        ensure!(n >= 1, "dim", n, "n ≥ 1");
        ensure!(m >= 1, "n_atoms", m, "m ≥ 1");
        ensure!(self.n_samples >= 1, "n_samples", self.n_samples, "N ≥ 1");
        crate::mem::check(
            format!(
                "an instance with dim {n}, {m} atoms and {} samples",
                self.n_samples
            ),
            self.bytes(),
        )?;
        self.codes.check(m)?;
        self.noise.check()?;
        match self.dictionary {
            DictKind::Orthobasis => ensure!(
                m == n,
                "n_atoms",
                m,
                format!("m = n = {n} for an orthobasis")
            ),
            DictKind::IdentityHadamard => {
                ensure!(
                    m == 2 * n,
                    "n_atoms",
                    m,
                    format!("m = 2n = {} for [I | H]", 2 * n)
                );
                ensure!(
                    n.is_power_of_two(),
                    "dim",
                    n,
                    "a power of two for [I | H] (Sylvester Hadamard)"
                );
            }
            DictKind::IdentityDct => ensure!(
                m == 2 * n,
                "n_atoms",
                m,
                format!("m = 2n = {} for [I | DCT]", 2 * n)
            ),
            DictKind::TightFrame => ensure!(
                m >= n,
                "n_atoms",
                m,
                format!("m ≥ n = {n} for a tight frame")
            ),
            DictKind::Coherence { target } => {
                let (lb, name) = generate::coherence_lower_bound(n, m);
                ensure!(
                    target.is_finite() && target < 1.0,
                    "coherence",
                    target,
                    "a target μ < 1"
                );
                ensure!(
                    target >= lb,
                    "coherence",
                    target,
                    format!("a target μ ≥ the {name} {lb:.5} for n={n}, m={m}")
                );
            }
            DictKind::NearDuplicates { cos, pairs } => {
                ensure!(
                    cos > 0.0 && cos < 1.0,
                    "pair_cos",
                    cos,
                    "a pair |cos| in (0, 1)"
                );
                ensure!(
                    pairs >= 1 && 2 * pairs <= m,
                    "pairs",
                    pairs,
                    format!("1 ≤ pairs ≤ m/2 = {}", m / 2)
                );
            }
            DictKind::SteinerEtf => {
                let v = (m as f64).sqrt().round() as usize;
                ensure!(
                    v * v == m && v >= 4 && v.is_power_of_two() && n == v * (v - 1) / 2,
                    "n_atoms",
                    format!("(n, m) = ({n}, {m})"),
                    "(n, m) = (v(v−1)/2, v²) with v a power of two ≥ 4: (6, 16), (28, 64), (120, 256), (496, 1024)"
                );
            }
            DictKind::Gaussian => {}
        }
        Ok(())
    }

    /// Bytes held while sampling: A (n × m), X (m × N), the clean product, the noise and Y
    /// (n × N each), and the m × m Gram matrices of the coherence generators.
    pub fn bytes(&self) -> u128 {
        let (n, m, nn) = (self.dim, self.n_atoms, self.n_samples);
        let gram = match self.dictionary {
            DictKind::Coherence { .. } | DictKind::TightFrame | DictKind::NearDuplicates { .. } => {
                3
            }
            _ => 0,
        };
        crate::mem::f64_bytes(&[(n, m), (m, nn), (n, nn), (n, nn), (n, nn), (m, m * gram)])
    }

    /// Draw the dictionary alone (with the coherence report where relevant).
    pub fn sample_dictionary(
        &self,
        rng: &mut impl rand::Rng,
    ) -> Result<(Array2<f64>, Option<CoherenceReport>)> {
        let (n, m) = (self.dim, self.n_atoms);
        Ok(match self.dictionary {
            DictKind::Gaussian => (generate::gaussian_dictionary(n, m, rng)?, None),
            DictKind::Orthobasis => (generate::orthobasis(n, rng)?, None),
            DictKind::IdentityHadamard => (generate::identity_hadamard(n)?, None),
            DictKind::IdentityDct => (generate::identity_dct(n)?, None),
            DictKind::TightFrame => (
                generate::unit_norm_tight_frame(n, m, 1e-10, 500, rng)?.0,
                None,
            ),
            DictKind::Coherence { target } => {
                let (a, rep) =
                    generate::coherence_targeted(n, m, target, &CoherenceOptions::default(), rng)?;
                if !rep.met {
                    return Err(Error::invalid(
                        "coherence",
                        target,
                        format!(
                            "a reachable target: the generator reached μ = {:.5} > 1.02 × target (n={n}, m={m}, lower bound {:.5}); raise the target or lower m/n",
                            rep.achieved, rep.lower_bound
                        ),
                    ));
                }
                (a, Some(rep))
            }
            DictKind::NearDuplicates { cos, pairs } => {
                let a = generate::gaussian_dictionary(n, m, rng)?;
                (generate::plant_near_duplicates(a, pairs, cos, rng)?, None)
            }
            DictKind::SteinerEtf => (
                generate::steiner_etf((m as f64).sqrt().round() as usize)?,
                None,
            ),
        })
    }

    /// Draw an instance from `seed` (ChaCha8; bit-identical on any thread count). A dictionary
    /// that misses its coherence target is an error here; sweeps draw again
    /// ([`InstanceSpec::sample_redrawing`]).
    pub fn sample(&self, seed: u64) -> Result<Instance> {
        self.check()?;
        let mut rng = rng_from_seed(seed);
        let (dict, dict_report) = self.sample_dictionary(&mut rng)?;
        let codes = self.codes.sample(self.n_atoms, self.n_samples, &mut rng)?;
        let clean = sparse_product(dict.view(), codes.view());
        let (noise, sigma) = self.noise.sample(clean.view(), &mut rng)?;
        let y = &clean + &noise;
        Ok(Instance {
            y,
            dict,
            codes,
            noise,
            spec: self.clone(),
            seed,
            sigma,
            dict_report,
        })
    }

    /// As [`InstanceSpec::sample`], but an instance whose coherence-targeted dictionary missed
    /// its target μ is drawn again from the next derived seed (`derive_seed(seed, "redraw{r}")`,
    /// r = 1 … [`REDRAWS`]): a generator failure is not a method failure, and every method of an
    /// item gets the same redrawn instance. Returns the instance and r (0: the first draw).
    ///
    /// # Errors
    /// As [`InstanceSpec::sample`]; the target missed on every draw.
    pub fn sample_redrawing(&self, seed: u64) -> Result<(Instance, usize)> {
        self.check()?;
        let mut missed = String::new();
        for r in 0..=REDRAWS {
            let s = if r == 0 {
                seed
            } else {
                crate::rng::derive_seed(seed, &format!("redraw{r}"))
            };
            match self.sample(s) {
                Ok(inst) => return Ok((inst, r)),
                // the only `coherence` error a checked spec can meet: the target was missed
                Err(
                    e @ Error::InvalidParameter {
                        name: "coherence", ..
                    },
                ) => missed = e.to_string(),
                Err(e) => return Err(e),
            }
        }
        Err(Error::invalid(
            "coherence",
            format!("missed on {} draws ({missed})", REDRAWS + 1),
            "a reachable target: raise the coherence target or lower m/n",
        ))
    }

    /// Ordered `(name, value)` parameters; sweeps turn them into `p_inst_*` columns.
    pub fn params(&self) -> Vec<(String, Value)> {
        let mut p = vec![
            ("dim".to_string(), Value::Int(self.dim as i64)),
            ("n_atoms".into(), Value::Int(self.n_atoms as i64)),
            ("n_samples".into(), Value::Int(self.n_samples as i64)),
            ("dictionary".into(), Value::Str(self.dictionary.name())),
        ];
        match self.dictionary {
            DictKind::Coherence { target } => {
                p.push(("coherence_target".into(), Value::Float(target)))
            }
            DictKind::NearDuplicates { cos, pairs } => {
                p.push(("pair_cos".into(), Value::Float(cos)));
                p.push(("pairs".into(), Value::Int(pairs as i64)));
            }
            _ => {}
        }
        match self.codes.support {
            Support::ExactK { k } => p.push(("sparsity".into(), Value::Int(k as i64))),
            Support::Bernoulli { theta } => p.push(("theta".into(), Value::Float(theta))),
            Support::Zipf { k, exponent } => {
                p.push(("sparsity".into(), Value::Int(k as i64)));
                p.push(("zipf_exponent".into(), Value::Float(exponent)));
            }
            Support::Correlated { k, group, rho } => {
                p.push(("sparsity".into(), Value::Int(k as i64)));
                p.push(("firing_group".into(), Value::Int(group as i64)));
                p.push(("firing_corr".into(), Value::Float(rho)));
            }
        }
        let values = serde_json::to_value(self.codes.values)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(String::from))
            .unwrap_or_default();
        p.push(("values".into(), Value::Str(values)));
        match self.noise {
            Noise::None => {}
            Noise::Sigma { sigma } => p.push(("noise_sigma".into(), Value::Float(sigma))),
            Noise::SnrDb { snr_db } => p.push(("snr_db".into(), Value::Float(snr_db))),
        }
        p
    }
}

/// The noise law from `noise_sigma` / `snr_db` (at most one).
fn noise_of(sigma: Option<f64>, snr_db: Option<f64>) -> Result<Noise> {
    match (sigma, snr_db) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "noise_sigma",
            "with snr_db",
            "either `noise_sigma` or `snr_db`, not both",
        )),
        (Some(sigma), None) => Ok(Noise::Sigma { sigma }),
        (None, Some(snr_db)) => Ok(Noise::SnrDb { snr_db }),
        (None, None) => Ok(Noise::None),
    }
}

/// `spec` with its dictionary, value and noise laws, checked.
const DICTIONARIES: &[&str] = &[
    "gaussian",
    "orthobasis",
    "identity_hadamard",
    "identity_dct",
    "tight_frame",
    "coherence",
    "near_duplicates",
    "steiner_etf",
];

const VALUES: &[&str] = &[
    "gaussian",
    "rademacher",
    "signed_uniform",
    "nonneg_uniform",
    "shared_sign_uniform",
];

/// The dictionary family of instance keys `dictionary` / `coherence` (`pair_cos`, `pairs`).
fn dict_kind_of(p: &Params<'_>) -> Result<DictKind> {
    Ok(
        match (p.str_opt("dictionary").as_deref(), p.f64_opt("coherence")) {
            (None | Some("coherence"), Some(target)) => DictKind::Coherence { target },
            (Some("coherence"), None) => {
                return Err(Error::invalid(
                    "dictionary",
                    "coherence",
                    "a target `coherence` (--coherence) with dictionary = coherence",
                ));
            }
            (Some(d), Some(_)) => {
                return Err(Error::invalid(
                    "coherence",
                    d,
                    "`coherence` only with dictionary = coherence (or no dictionary key)",
                ));
            }
            (Some("orthobasis"), None) => DictKind::Orthobasis,
            (Some("identity_hadamard"), None) => DictKind::IdentityHadamard,
            (Some("identity_dct"), None) => DictKind::IdentityDct,
            (Some("tight_frame"), None) => DictKind::TightFrame,
            (Some("near_duplicates"), None) => DictKind::NearDuplicates {
                cos: p.f64("pair_cos")?,
                pairs: p.usize("pairs")?,
            },
            (Some("steiner_etf"), None) => DictKind::SteinerEtf,
            _ => DictKind::Gaussian,
        },
    )
}

/// The law of the non-zero values (`values`, `value_low`, `value_high`).
fn values_of(p: &Params<'_>) -> Result<Values> {
    let (a, b) = (p.f64("value_low")?, p.f64("value_high")?);
    Ok(match p.choice("values")?.as_str() {
        "rademacher" => Values::Rademacher,
        "signed_uniform" => Values::SignedUniform { a, b },
        "nonneg_uniform" => Values::NonNegUniform { a, b },
        "shared_sign_uniform" => Values::SharedSignUniform { a, b },
        _ => Values::Gaussian,
    })
}

/// The support law (`sparsity`, `theta`, `zipf_exponent`, `firing_group`, `firing_corr`).
fn support_of(p: &Params<'_>) -> Result<Support> {
    let k = p.usize_opt("sparsity");
    let (theta, zipf) = (p.f64_opt("theta"), p.f64_opt("zipf_exponent"));
    match (p.usize_opt("firing_group"), p.f64_opt("firing_corr")) {
        (Some(group), Some(rho)) => {
            if theta.is_some() || zipf.is_some() {
                return Err(Error::invalid(
                    "firing_corr",
                    "with theta or zipf_exponent",
                    "correlated firing only with exact-k supports (`sparsity`), without `theta` or `zipf_exponent`",
                ));
            }
            return Ok(Support::Correlated {
                k: k.unwrap_or(3),
                group,
                rho,
            });
        }
        (None, None) => {}
        (g, _) => {
            return Err(Error::invalid(
                if g.is_some() {
                    "firing_group"
                } else {
                    "firing_corr"
                },
                "alone",
                "both `firing_group` (group size) and `firing_corr` (ρ) for correlated firing",
            ));
        }
    }
    Ok(match (theta, k, zipf) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(Error::invalid(
                "theta",
                "with sparsity or zipf_exponent",
                "either `theta` (Bernoulli supports) or `sparsity` (exact-k, optionally Zipf), not both",
            ));
        }
        (Some(theta), None, None) => Support::Bernoulli { theta },
        (None, k, Some(exponent)) => Support::Zipf {
            k: k.unwrap_or(3),
            exponent,
        },
        (None, k, None) => Support::ExactK { k: k.unwrap_or(3) },
    })
}

/// `A X` computed column by column from the non-zeros of `X` (parallel over columns, each column
/// summed in a fixed order: deterministic whatever the thread count).
pub fn sparse_product(a: ArrayView2<'_, f64>, x: ArrayView2<'_, f64>) -> Array2<f64> {
    let (n, _) = a.dim();
    let nn = x.ncols();
    let at = a.t().as_standard_layout().into_owned(); // m × n, atoms contiguous
    let mut yt = Array2::zeros((nn, n));
    yt.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(j, mut yj)| {
            for (i, &v) in x.column(j).iter().enumerate() {
                if v != 0.0 {
                    yj.scaled_add(v, &at.row(i));
                }
            }
        });
    yt.reversed_axes().as_standard_layout().into_owned()
}

/// A planted problem: owned data + ground truth + spec + seed.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Signals Y (n × N).
    pub y: Array2<f64>,
    /// True dictionary A* (n × m), unit-norm columns.
    pub dict: Array2<f64>,
    /// True codes X* (m × N).
    pub codes: Array2<f64>,
    /// Noise E (n × N).
    pub noise: Array2<f64>,
    /// The spec it was drawn from.
    pub spec: InstanceSpec,
    /// The seed it was drawn with.
    pub seed: u64,
    /// Noise standard deviation actually used.
    pub sigma: f64,
    /// Coherence generator report (coherence-targeted dictionaries only).
    pub dict_report: Option<CoherenceReport>,
}

impl Instance {
    /// Achieved mutual coherence of A*.
    pub fn coherence(&self) -> f64 {
        crate::metrics::coherence(self.dict.view())
    }
    /// Clean signals A* X*.
    pub fn clean(&self) -> Array2<f64> {
        &self.y - &self.noise
    }
    /// Dictionary view.
    pub fn dict_view(&self) -> ArrayView2<'_, f64> {
        self.dict.view()
    }
}

impl<'a> Context<'a> {
    /// The context of a planted instance described by `spec` (k from exact-k or Zipf supports).
    pub fn for_spec(spec: &InstanceSpec, truth: Option<&'a Array2<f64>>) -> Self {
        Context {
            n_atoms: spec.n_atoms,
            dim: Some(spec.dim),
            sparsity: spec.codes.exact_sparsity(),
            truth,
            ..Context::default()
        }
    }
}
