//! Planted convolutional problems: atoms, activations, signals, shift coherence (module doc of
//! [`crate::conv`] for the model).
//!
//! Arrays: atoms `d` are K × P × L, activations `z` are N × K × T_z (T_z = T − L + 1 for
//! [`Boundary::Valid`], T for [`Boundary::Circular`]), signals `y` are N × P × T — atoms, then
//! channels, then time, as alphacsc's `D` (n_atoms, n_channels, n_times_atom) and `X` (n_trials,
//! n_channels, n_times). sporco puts time first and channels last: transpose when exchanging.

use crate::error::{Error, Result, ensure};
use crate::rng::{Rng, Rng64, rng_from_seed};
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis, Zip, s};
use rand_distr::StandardNormal;

pub use super::fft::{Dims, Grid};

/// How the signal's edges are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// T_z = T − L + 1 activations; the full convolution has length T (alphacsc).
    Valid,
    /// T_z = T activations; indices wrap modulo T (sporco, Qu et al.).
    Circular,
}

impl Boundary {
    /// Activation length for signals of `t` samples and atoms of `l`.
    pub fn n_acts(self, t: usize, l: usize) -> usize {
        match self {
            Boundary::Valid => t + 1 - l,
            Boundary::Circular => t,
        }
    }
}

/// The law of a non-zero activation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConvValues {
    /// Standard Gaussian (Bernoulli–Gaussian activations).
    Gaussian,
    /// Uniform on [lo, hi], 0 < lo ≤ hi (non-negative activations).
    NonNeg {
        /// Lower end a > 0.
        lo: f64,
        /// Upper end b ≥ a.
        hi: f64,
    },
    /// ±U[lo, hi] with a random sign.
    Signed {
        /// Lower end a > 0.
        lo: f64,
        /// Upper end b ≥ a.
        hi: f64,
    },
}

/// How the planted atoms are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AtomFamily {
    /// I.i.d. Gaussian entries, normalized (rank-1: u and v Gaussian, normalized).
    Gaussian,
    /// Smooth Gabor-like waveforms: a Gaussian window of width L/6 centred in the atom times
    /// cos(2π f t + φ), f uniform in [0.02, 0.25] cycles per sample, φ uniform (per channel for
    /// full-rank atoms; one waveform v for rank-1 atoms).
    Gabor,
    /// Near-duplicates: atom 2j+1 is atom 2j shifted by `shift` samples (zeros shifted in) plus
    /// `perturb` × a Gaussian atom, normalized — a high shift coherence by construction.
    ShiftedPairs {
        /// Shift in samples (1 ≤ shift < L).
        shift: usize,
        /// Relative size of the perturbation (≥ 0).
        perturb: f64,
    },
    /// Gaussian atoms whose shift coherence is lowered to at most `target` by hinge descent over
    /// every pair and lag ([`lower_shift_coherence`]; full-rank atoms only). The achieved μ_conv
    /// is measured on the instance as always; a target it did not reach shows there.
    Coherence {
        /// Target μ_conv, in [the bound of [`shift_coherence_lower_bound`], 1].
        target: f64,
    },
}

/// A planted convolutional problem, as a builder (`ConvSpec::new(..).theta(..).sample(seed)`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvSpec {
    /// Signals N.
    pub n_signals: usize,
    /// Channels P.
    pub n_channels: usize,
    /// Samples per signal T (the width W of an image).
    pub n_times: usize,
    /// Rows H of an image (1: 1-D signals). Images are H × W = `rows` × `n_times` per channel,
    /// with square atoms of L × L pixels, all stored flattened row-major ([`Grid`]).
    pub rows: usize,
    /// Atoms K.
    pub n_atoms: usize,
    /// Atom length L.
    pub atom_len: usize,
    /// Activation rate θ ∈ (0, 1] per position.
    pub theta: f64,
    /// Law of the non-zero activations.
    pub values: ConvValues,
    /// Rank-1 atoms u vᵀ.
    pub rank1: bool,
    /// Atom family.
    pub family: AtomFamily,
    /// Edge convention.
    pub boundary: Boundary,
    /// Minimum distance between two activations of the same atom in a signal (0: none). Drawn
    /// Bernoulli(θ), then thinned left to right; the realized rate is recorded.
    pub min_spacing: usize,
    /// Noise standard deviation per entry (ignored when `snr_db` is set).
    pub noise_sigma: f64,
    /// Noise set by the signal-to-noise ratio in dB (mean power of the clean signals over σ²).
    pub snr_db: Option<f64>,
}

impl ConvSpec {
    /// N signals of P channels × T samples, K atoms of length L; θ = 0.01, Bernoulli–Gaussian
    /// activations, full-rank Gaussian atoms, valid boundary, no spacing, no noise.
    pub fn new(
        n_signals: usize,
        n_channels: usize,
        n_times: usize,
        n_atoms: usize,
        atom_len: usize,
    ) -> Self {
        ConvSpec {
            n_signals,
            n_channels,
            n_times,
            rows: 1,
            n_atoms,
            atom_len,
            theta: 0.01,
            values: ConvValues::Gaussian,
            rank1: false,
            family: AtomFamily::Gaussian,
            boundary: Boundary::Valid,
            min_spacing: 0,
            noise_sigma: 0.0,
            snr_db: None,
        }
    }
    /// Activation rate θ.
    #[must_use]
    pub fn theta(mut self, theta: f64) -> Self {
        self.theta = theta;
        self
    }
    /// Law of the non-zero activations.
    #[must_use]
    pub fn values(mut self, v: ConvValues) -> Self {
        self.values = v;
        self
    }
    /// Images of `rows` rows (H × T pixels per channel, L × L atoms); 1 for 1-D signals.
    #[must_use]
    pub fn rows(mut self, rows: usize) -> Self {
        self.rows = rows;
        self
    }
    /// Rank-1 atoms.
    #[must_use]
    pub fn rank1(mut self, b: bool) -> Self {
        self.rank1 = b;
        self
    }
    /// Atom family.
    #[must_use]
    pub fn family(mut self, f: AtomFamily) -> Self {
        self.family = f;
        self
    }
    /// Edge convention.
    #[must_use]
    pub fn boundary(mut self, b: Boundary) -> Self {
        self.boundary = b;
        self
    }
    /// Minimum spacing between activations of one atom.
    #[must_use]
    pub fn min_spacing(mut self, s: usize) -> Self {
        self.min_spacing = s;
        self
    }
    /// Noise by its standard deviation.
    #[must_use]
    pub fn noise_sigma(mut self, sigma: f64) -> Self {
        self.noise_sigma = sigma;
        self.snr_db = None;
        self
    }
    /// Noise by SNR in dB.
    #[must_use]
    pub fn snr_db(mut self, snr: f64) -> Self {
        self.snr_db = Some(snr);
        self
    }

    /// Whether the problem is one of images (more than one row).
    pub fn is_image(&self) -> bool {
        self.rows > 1
    }

    /// The layout of the flattened arrays: [`Grid::LINE`] or images with L × L atoms.
    pub fn grid(&self) -> Grid {
        if self.is_image() {
            Grid::image(self.rows, self.atom_len)
        } else {
            Grid::LINE
        }
    }

    /// Flattened samples per channel: T, or H · W for images.
    pub fn n_samples(&self) -> usize {
        self.rows.saturating_mul(self.n_times)
    }

    /// Flattened entries per atom channel: L, or L² for images.
    pub fn atom_size(&self) -> usize {
        if self.is_image() {
            self.atom_len.saturating_mul(self.atom_len)
        } else {
            self.atom_len
        }
    }

    /// Rows H_z of an activation map (1 for 1-D signals, whose grid has one-row atoms).
    pub fn act_rows(&self) -> usize {
        self.boundary.n_acts(self.rows, self.grid().atom_rows)
    }

    /// Activation length T_z (flattened: H_z · W_z for images).
    pub fn n_acts(&self) -> usize {
        self.act_rows() * self.boundary.n_acts(self.n_times, self.atom_len)
    }

    /// The instance keys of a convolutional sweep plan (`problem = "conv"`), with their types and
    /// defaults: what [`ConvSpec::from_params`] reads.
    pub const PARAMS: &'static [crate::spec::Param] = {
        use crate::spec::{Dflt, Param, Ty};
        &[
            Param::new("signals", Ty::Count, Dflt::Required, "signals N"),
            Param::new("channels", Ty::Count, Dflt::Int(1), "channels P"),
            Param::new(
                "times",
                Ty::Count,
                Dflt::Required,
                "samples per signal T (an image's width W)",
            ),
            Param::new(
                "rows",
                Ty::Count,
                Dflt::Int(1),
                "rows H of an image (1: 1-D signals; > 1: H × W images with L × L atoms)",
            ),
            Param::new("atoms", Ty::Count, Dflt::Required, "atoms K"),
            Param::new("atom_len", Ty::Count, Dflt::Required, "atom length L"),
            Param::new(
                "theta",
                Ty::Fraction,
                Dflt::Float(0.01),
                "activation rate θ per position",
            ),
            Param::new(
                "values",
                Ty::Choice(&["gaussian", "nonneg", "signed"]),
                Dflt::Str("gaussian"),
                "law of the non-zero activations: N(0,1), U[a,b], ±U[a,b]",
            ),
            Param::new("value_low", Ty::Positive, Dflt::Float(1.0), "a of U[a, b]"),
            Param::new("value_high", Ty::Positive, Dflt::Float(2.0), "b of U[a, b]"),
            Param::new("rank1", Ty::Bool, Dflt::Bool(false), "rank-1 atoms u vᵀ"),
            Param::new(
                "family",
                Ty::Choice(&["gaussian", "gabor", "shifted_pairs", "coherence"]),
                Dflt::Auto("gaussian (coherence with target_mu)"),
                "atom family",
            ),
            Param::new(
                "pair_shift",
                Ty::Count,
                Dflt::Int(1),
                "shifted_pairs: shift in samples",
            ),
            Param::new(
                "pair_perturb",
                Ty::NonNegative,
                Dflt::Float(0.1),
                "shifted_pairs: relative perturbation",
            ),
            Param::new(
                "target_mu",
                Ty::Fraction,
                Dflt::Auto("none"),
                "target shift coherence μ_conv (implies family = coherence)",
            ),
            Param::new(
                "boundary",
                Ty::Choice(&["valid", "circular"]),
                Dflt::Str("valid"),
                "edge convention",
            ),
            Param::new(
                "min_spacing",
                Ty::Natural,
                Dflt::Int(0),
                "least distance between two activations of one atom",
            ),
            Param::new(
                "noise_sigma",
                Ty::NonNegative,
                Dflt::Float(0.0),
                "noise σ per entry",
            ),
            Param::new(
                "snr_db",
                Ty::Number,
                Dflt::Auto("none"),
                "noise by SNR in dB (overrides noise_sigma)",
            ),
        ]
    };

    /// The keys of [`ConvSpec::PARAMS`].
    pub fn keys() -> Vec<&'static str> {
        Self::PARAMS.iter().map(|p| p.key).collect()
    }

    /// A checked spec from named parameters (a convolutional sweep plan's instance keys, spelled
    /// as `dictlab conv generate`'s flags with `_` for `-`; see [`ConvSpec::PARAMS`]).
    ///
    /// # Errors
    /// An unknown key (the error lists the known ones), a value of the wrong type, `target_mu`
    /// with another family, and everything [`ConvSpec::check`] rejects.
    pub fn from_params(kv: &[(String, crate::table::Value)]) -> Result<Self> {
        let p = crate::spec::Params::of("instance key", "", Self::PARAMS.iter().collect(), kv)?;
        let (lo, hi) = (p.f64("value_low")?, p.f64("value_high")?);
        let values = match p.choice("values")?.as_str() {
            "nonneg" => ConvValues::NonNeg { lo, hi },
            "signed" => ConvValues::Signed { lo, hi },
            _ => ConvValues::Gaussian,
        };
        let target = p.f64_opt("target_mu");
        let family = match (p.str_opt("family").as_deref(), target) {
            (None | Some("coherence"), Some(t)) => AtomFamily::Coherence { target: t },
            (Some("coherence"), None) => {
                return Err(Error::invalid(
                    "instance key",
                    "family = coherence",
                    "a target: add target_mu (e.g. target_mu = 0.4)",
                ));
            }
            (Some(f), Some(_)) => {
                return Err(Error::invalid(
                    "instance key",
                    format!("target_mu with family = {f}"),
                    "target_mu alone (it implies family = coherence), or another family without it",
                ));
            }
            (Some("gabor"), None) => AtomFamily::Gabor,
            (Some("shifted_pairs"), None) => AtomFamily::ShiftedPairs {
                shift: p.usize("pair_shift")?,
                perturb: p.f64("pair_perturb")?,
            },
            _ => AtomFamily::Gaussian,
        };
        let boundary = match p.choice("boundary")?.as_str() {
            "circular" => Boundary::Circular,
            _ => Boundary::Valid,
        };
        let mut s = ConvSpec::new(
            p.usize("signals")?,
            p.usize("channels")?,
            p.usize("times")?,
            p.usize("atoms")?,
            p.usize("atom_len")?,
        )
        .rows(p.usize("rows")?)
        .theta(p.f64("theta")?)
        .values(values)
        .rank1(p.bool("rank1"))
        .family(family)
        .boundary(boundary)
        .min_spacing(p.usize("min_spacing")?)
        .noise_sigma(p.f64("noise_sigma")?);
        if let Some(snr) = p.f64_opt("snr_db") {
            s = s.snr_db(snr);
        }
        s.check()?;
        Ok(s)
    }

    /// Every size and rate in range, and the arrays within the memory limit.
    ///
    /// # Errors
    /// A zero size, atoms longer than the signal, θ outside (0, 1], a bad activation law or
    /// family, a negative or non-finite noise level, arrays beyond the memory limit.
    pub fn check(&self) -> Result<()> {
        for (name, v) in [
            ("n_signals", self.n_signals),
            ("n_channels", self.n_channels),
            ("n_times", self.n_times),
            ("rows", self.rows),
            ("n_atoms", self.n_atoms),
            ("atom_len", self.atom_len),
        ] {
            ensure!(v >= 1, name, v, "≥ 1");
        }
        ensure!(
            self.atom_len <= self.n_times,
            "atom_len",
            self.atom_len,
            format!(
                "atoms no longer than the signals (L ≤ T = {}): shorten the atoms or lengthen the signals",
                self.n_times
            )
        );
        if self.is_image() {
            ensure!(
                self.atom_len <= self.rows,
                "atom_len",
                self.atom_len,
                format!(
                    "L × L atoms no taller than the images (L ≤ H = {}): shorten the atoms or add rows",
                    self.rows
                )
            );
            ensure!(
                self.min_spacing == 0,
                "min_spacing",
                self.min_spacing,
                "no minimum spacing on images (it is defined along a 1-D signal): drop min_spacing or use rows = 1"
            );
        }
        ensure!(
            self.theta > 0.0 && self.theta <= 1.0,
            "theta",
            self.theta,
            "an activation rate in (0, 1]"
        );
        match self.values {
            ConvValues::Gaussian => {}
            ConvValues::NonNeg { lo, hi } | ConvValues::Signed { lo, hi } => ensure!(
                lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi,
                "values",
                format!("U[{lo}, {hi}]"),
                "0 < a ≤ b, both finite"
            ),
        }
        if let AtomFamily::ShiftedPairs { shift, perturb } = self.family {
            ensure!(
                shift >= 1 && shift < self.atom_len,
                "shift",
                shift,
                format!("1 ≤ shift < L = {}", self.atom_len)
            );
            ensure!(
                perturb.is_finite() && perturb >= 0.0,
                "perturb",
                perturb,
                "a perturbation size ≥ 0"
            );
        }
        if let AtomFamily::Coherence { target } = self.family {
            let bound = if self.is_image() {
                shift_coherence_lower_bound_2d(self.n_atoms, self.n_channels, self.atom_len)
            } else {
                shift_coherence_lower_bound(self.n_atoms, self.n_channels, self.atom_len)
            };
            ensure!(
                target.is_finite() && target >= bound && target <= 1.0,
                "target_mu",
                target,
                format!(
                    "a shift coherence in [{bound:.4}, 1]: {} atoms of length {} on {} channel(s) cannot have μ_conv below {bound:.4} (the Welch bound of their K·L shifts in dimension P(2L − 1)); raise the target, shorten or remove atoms, or add channels",
                    self.n_atoms, self.atom_len, self.n_channels
                )
            );
            ensure!(
                !self.rank1,
                "rank1",
                true,
                "full-rank atoms with a coherence target (the descent does not keep atoms rank-1): drop --rank1"
            );
        }
        ensure!(
            self.noise_sigma.is_finite() && self.noise_sigma >= 0.0,
            "noise_sigma",
            self.noise_sigma,
            "σ ≥ 0"
        );
        if let Some(snr) = self.snr_db {
            ensure!(snr.is_finite(), "snr_db", snr, "a finite SNR in dB");
        }
        let (n, p, t, k, l) = (
            self.n_signals,
            self.n_channels,
            self.n_samples(),
            self.n_atoms,
            self.atom_size(),
        );
        let entries = |a: usize, b: usize, c: usize| {
            (a as u128)
                .saturating_mul(b as u128)
                .saturating_mul(c as u128)
        };
        let bytes = 8 * (2 * entries(n, p, t) + entries(n, k, self.n_acts()) + entries(k, p, l));
        crate::mem::check(
            format!(
                "a convolutional problem of {n} signals × {p} channels × {t} samples, {k} atoms"
            ),
            bytes,
        )
    }

    /// Draw the problem from `seed`: atoms, activations, clean signals, noise.
    ///
    /// # Errors
    /// As [`ConvSpec::check`].
    pub fn sample(&self, seed: u64) -> Result<ConvInstance> {
        self.check()?;
        let mut rng = rng_from_seed(seed);
        let atoms = self.draw_atoms(&mut rng);
        let acts = self.draw_acts(&mut rng);
        let clean = convolve_on(
            atoms.view(),
            acts.view(),
            self.boundary,
            self.n_samples(),
            self.grid(),
        )?;
        let power = clean.iter().map(|v| v * v).sum::<f64>() / clean.len().max(1) as f64;
        let sigma = match self.snr_db {
            Some(snr) => (power / 10f64.powf(snr / 10.0)).sqrt(),
            None => self.noise_sigma,
        };
        let mut y = clean;
        if sigma > 0.0 {
            y.mapv_inplace(|v| v + sigma * rng.sample::<f64, _>(StandardNormal));
        }
        let nnz = acts.iter().filter(|v| **v != 0.0).count();
        let realized_rate = nnz as f64 / acts.len().max(1) as f64;
        Ok(ConvInstance {
            shift_coherence: shift_coherence_2d(atoms.view(), self.grid().atom_rows)?,
            atoms,
            acts,
            y,
            sigma,
            realized_rate,
            spec: self.clone(),
            seed,
        })
    }

    fn draw_atoms(&self, rng: &mut Rng64) -> Array3<f64> {
        let (k, p, l) = (self.n_atoms, self.n_channels, self.atom_size());
        let (side, image) = (self.atom_len, self.is_image());
        let gauss = |rng: &mut Rng64, len: usize| -> Array1<f64> {
            Array1::from_shape_fn(len, |_| rng.sample(StandardNormal))
        };
        // 1-D: a Gaussian window times cos(2π f t + φ); images: a round Gaussian window times a plane
        // wave of frequency f in a uniform direction ψ (a Gabor patch)
        let gabor = |rng: &mut Rng64| -> Array1<f64> {
            let f = rng.random_range(0.02..=0.25);
            let phi = rng.random_range(0.0..std::f64::consts::TAU);
            let psi = if image {
                rng.random_range(0.0..std::f64::consts::PI)
            } else {
                0.0
            };
            let c = (side as f64 - 1.0) / 2.0;
            let w = (side as f64 / 6.0).max(0.5);
            Array1::from_shape_fn(l, |t| {
                let (r, x) = ((t / side) as f64, (t % side) as f64);
                let (r, x) = if image { (r - c, x - c) } else { (0.0, x - c) };
                let along = x * psi.cos() + r * psi.sin();
                (-(x * x + r * r) / (2.0 * w * w)).exp()
                    * (std::f64::consts::TAU * f * along + phi).cos()
            })
        };
        let mut d = Array3::zeros((k, p, l));
        for j in 0..k {
            let mut a = d.index_axis_mut(Axis(0), j);
            match (self.family, self.rank1) {
                (AtomFamily::Gabor, true) => {
                    let u = gauss(rng, p);
                    let v = gabor(rng);
                    for c in 0..p {
                        a.row_mut(c).assign(&(&v * u[c]));
                    }
                }
                (AtomFamily::Gabor, false) => {
                    for c in 0..p {
                        a.row_mut(c).assign(&gabor(rng));
                    }
                }
                (_, true) => {
                    let u = gauss(rng, p);
                    let v = gauss(rng, l);
                    for c in 0..p {
                        a.row_mut(c).assign(&(&v * u[c]));
                    }
                }
                (_, false) => {
                    for c in 0..p {
                        a.row_mut(c).assign(&gauss(rng, l));
                    }
                }
            }
            normalize(a);
        }
        if let AtomFamily::ShiftedPairs { shift, perturb } = self.family {
            for j in (1..k).step_by(2) {
                let src = d.index_axis(Axis(0), j - 1).to_owned();
                // the perturbation: Gaussian, or for rank-1 atoms u ⊗ g (g Gaussian over time), so
                // that a rank-1 pair stays rank-1
                let noise = if self.rank1 {
                    let best = (0..p)
                        .max_by(|&x, &y| {
                            let nx = src.row(x).dot(&src.row(x));
                            let ny = src.row(y).dot(&src.row(y));
                            nx.total_cmp(&ny)
                        })
                        .unwrap_or(0);
                    let v = src.row(best).to_owned();
                    let vv = v.dot(&v).max(f64::MIN_POSITIVE);
                    let g = gauss(rng, l);
                    Array2::from_shape_fn((p, l), |(c, t)| src.row(c).dot(&v) / vv * g[t])
                } else {
                    gauss(rng, p * l)
                        .into_shape_with_order((p, l))
                        .expect("p × l entries")
                };
                let mut a = d.index_axis_mut(Axis(0), j);
                a.fill(0.0);
                // a shift along the samples (along each row of an image atom: to the right)
                let w = if image { side } else { l };
                for r0 in (0..l).step_by(w) {
                    a.slice_mut(s![.., r0 + shift..r0 + w])
                        .assign(&src.slice(s![.., r0..r0 + w - shift]));
                }
                let nn = norm(noise.view()).max(f64::MIN_POSITIVE);
                a.scaled_add(perturb / nn, &noise);
                normalize(a);
            }
        }
        if let AtomFamily::Coherence { target } = self.family {
            lower_shift_coherence(&mut d, target, 3000, self.grid().atom_rows);
        }
        d
    }

    fn draw_acts(&self, rng: &mut Rng64) -> Array3<f64> {
        let (n, k, tz) = (self.n_signals, self.n_atoms, self.n_acts());
        let mut z = Array3::zeros((n, k, tz));
        for i in 0..n {
            for j in 0..k {
                let mut last: Option<usize> = None;
                for t in 0..tz {
                    if rng.random::<f64>() >= self.theta {
                        continue;
                    }
                    if self.min_spacing > 0
                        && let Some(prev) = last
                        && t - prev < self.min_spacing
                    {
                        continue;
                    }
                    last = Some(t);
                    z[(i, j, t)] = match self.values {
                        ConvValues::Gaussian => rng.sample(StandardNormal),
                        ConvValues::NonNeg { lo, hi } => rng.random_range(lo..=hi),
                        ConvValues::Signed { lo, hi } => {
                            let v = rng.random_range(lo..=hi);
                            if rng.random::<bool>() { v } else { -v }
                        }
                    };
                }
            }
        }
        z
    }
}

/// A sampled convolutional problem.
#[derive(Clone, Debug)]
pub struct ConvInstance {
    /// Planted atoms d (K × P × L), unit Frobenius norm each.
    pub atoms: Array3<f64>,
    /// Activations z (N × K × T_z).
    pub acts: Array3<f64>,
    /// Signals y (N × P × T).
    pub y: Array3<f64>,
    /// The noise's standard deviation σ (from `noise_sigma` or `snr_db`).
    pub sigma: f64,
    /// Fraction of non-zero activations (θ after the spacing's thinning).
    pub realized_rate: f64,
    /// Shift coherence μ_conv of the atoms.
    pub shift_coherence: f64,
    /// What was sampled.
    pub spec: ConvSpec,
    /// The seed.
    pub seed: u64,
}

fn norm(a: ArrayView2<'_, f64>) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// `a` divided by its Frobenius norm (a zero `a` as is when `allow_zero`).
///
/// # Errors
/// A non-finite norm, or a zero one unless `allow_zero`, naming atom `j` of `what`.
pub(super) fn unit(
    a: ArrayView2<'_, f64>,
    what: &'static str,
    j: usize,
    allow_zero: bool,
) -> Result<Array2<f64>> {
    let nn = norm(a);
    ensure!(
        nn.is_finite() && (nn > 0.0 || allow_zero),
        what,
        format!("atom {j} of norm {nn}"),
        "non-zero, finite atoms"
    );
    Ok(if nn > 0.0 {
        a.mapv(|v| v / nn)
    } else {
        a.to_owned()
    })
}

fn normalize(mut a: ndarray::ArrayViewMut2<'_, f64>) {
    let nn = norm(a.view());
    if nn > 0.0 {
        a.mapv_inplace(|v| v / nn);
    }
}

/// $\sum_k d_k * z_k$ for every signal: `d` K × P × L, `z` N × K × T_z, signals of `n_times` T
/// (T_z = T − L + 1 for [`Boundary::Valid`], T for [`Boundary::Circular`]). Direct summation over
/// the non-zero activations: O(nnz · P · L).
///
/// # Errors
/// Mismatched atom counts or activation lengths, non-finite entries.
pub fn convolve(
    d: ArrayView3<'_, f64>,
    z: ArrayView3<'_, f64>,
    boundary: Boundary,
    n_times: usize,
) -> Result<Array3<f64>> {
    convolve_on(d, z, boundary, n_times, Grid::LINE)
}

/// [`convolve`] on the layout `grid`: images of `n_samples` = H · W pixels per channel, atoms of
/// Lh · Lw, activation maps of H_z · W_z, all flattened row-major; 2-D valid or circular (wrapping
/// both axes) convolution.
///
/// # Errors
/// As [`convolve`], and lengths the grid does not divide.
pub fn convolve_on(
    d: ArrayView3<'_, f64>,
    z: ArrayView3<'_, f64>,
    boundary: Boundary,
    n_samples: usize,
    grid: Grid,
) -> Result<Array3<f64>> {
    let (k, p, l) = d.dim();
    let (n, kz, tz) = z.dim();
    if kz != k {
        return Err(Error::invalid(
            "activations",
            format!("{kz} atoms' activations"),
            format!("one activation row per atom (K = {k}): z is N × K × T_z"),
        ));
    }
    ensure!(
        l >= 1 && l <= n_samples,
        "atom_len",
        l,
        format!("1 ≤ L ≤ T = {n_samples}")
    );
    let dims = grid.dims(n_samples, l)?;
    let want = dims.n_acts(boundary);
    let (zh, zw) = dims.acts(boundary);
    ensure!(
        tz == want,
        "activation length",
        tz,
        format!("T_z = {want} for T = {n_samples}, L = {l} ({boundary:?} boundary)")
    );
    ensure!(
        d.iter().all(|v| v.is_finite()),
        "atoms",
        "non-finite entries",
        "finite atoms"
    );
    ensure!(
        z.iter().all(|v| v.is_finite()),
        "activations",
        "non-finite entries",
        "finite activations"
    );
    let Dims { h, w, lh, lw } = dims;
    let mut y = Array3::zeros((n, p, n_samples));
    Zip::from(y.axis_iter_mut(Axis(0)))
        .and(z.axis_iter(Axis(0)))
        .par_for_each(|mut yi, zi| {
            for j in 0..k {
                let dj = d.index_axis(Axis(0), j);
                for (t0, &a) in zi.row(j).iter().enumerate() {
                    if a == 0.0 {
                        continue;
                    }
                    let (r0, c0) = (t0 / zw, t0 % zw);
                    debug_assert!(r0 < zh);
                    for c in 0..p {
                        let dc = dj.row(c);
                        let mut yc = yi.row_mut(c);
                        for u in 0..lh {
                            let r = match boundary {
                                Boundary::Valid => r0 + u,
                                Boundary::Circular => (r0 + u) % h,
                            };
                            for v in 0..lw {
                                let col = match boundary {
                                    Boundary::Valid => c0 + v,
                                    Boundary::Circular => (c0 + v) % w,
                                };
                                yc[r * w + col] += a * dc[u * lw + v];
                            }
                        }
                    }
                }
            }
        });
    Ok(y)
}

/// A lower bound on the shift coherence of K atoms of length L on P channels: the K·L shifts
/// S_τ d_k, τ = 0 … L − 1, of the atoms fit whole in a window of 2L − 1 samples, so they are K·L unit
/// vectors of dimension P(2L − 1) whose inner products are the atoms' correlations at lags in
/// (−L, L); μ_conv is at least their Welch bound √((N − d)/(d(N − 1))), N = KL, d = P(2L − 1) (0 when
/// N ≤ d). Not tight in general.
pub fn shift_coherence_lower_bound(k: usize, p: usize, l: usize) -> f64 {
    let (nn, d) = ((k * l) as f64, (p * (2 * l).saturating_sub(1)) as f64);
    if nn <= d || nn < 2.0 || d < 1.0 {
        0.0
    } else {
        ((nn - d) / (d * (nn - 1.0))).sqrt()
    }
}

/// [`shift_coherence_lower_bound`] for L × L image atoms: their K·L² shifts within an L × L
/// window fit whole in (2L − 1)², so μ_conv is at least the Welch bound of K·L² unit vectors in
/// dimension P(2L − 1)².
pub fn shift_coherence_lower_bound_2d(k: usize, p: usize, l: usize) -> f64 {
    let side = (2 * l).saturating_sub(1);
    let (nn, d) = ((k * l * l) as f64, (p * side * side) as f64);
    if nn <= d || nn < 2.0 || d < 1.0 {
        0.0
    } else {
        ((nn - d) / (d * (nn - 1.0))).sqrt()
    }
}

/// Lower the shift coherence of unit-norm atoms `d` (K × P × L) to at most `target` (when it can):
/// gradient steps on Σ max(0, |⟨d_k, S_τ d_l⟩| − 0.98·target)² over every pair k < l at every lag
/// and every atom with itself at lags ≠ 0, each followed by renormalisation of the atoms, with a
/// step halved whenever the loss does not decrease; it stops at the first iterate with
/// μ_conv ≤ target, after `max_iters` steps, or when the step vanishes. Returns the μ_conv reached.
/// (The dense generator's hinge descent, [`crate::generate::hinge_descent`], over the
/// shift-augmented Gram; ours: the 0.98 margin and the step rule.)
pub fn lower_shift_coherence(
    d: &mut Array3<f64>,
    target: f64,
    max_iters: usize,
    atom_rows: usize,
) -> f64 {
    let k = d.len_of(Axis(0));
    let (h, w) = (atom_rows.max(1), d.len_of(Axis(2)) / atom_rows.max(1));
    let nc = 2 * w - 1;
    let t2 = 0.98 * target;
    // loss and gradient of the hinge over every counted (pair, lag)
    let eval = |d: &Array3<f64>, grad: Option<&mut Array3<f64>>| -> (f64, f64) {
        let (mut loss, mut mu) = (0.0f64, 0.0f64);
        let mut g = grad;
        for i in 0..k {
            for j in i..k {
                let (a, b) = (d.index_axis(Axis(0), i), d.index_axis(Axis(0), j));
                let c = shift_correlation_2d(a, b, h, h).unwrap_or_default();
                for (idx, &v) in c.iter().enumerate() {
                    let tau_r = (idx / nc) as isize - (h as isize - 1);
                    let tau_c = (idx % nc) as isize - (w as isize - 1);
                    if i == j && tau_r == 0 && tau_c == 0 {
                        continue;
                    }
                    mu = mu.max(v.abs());
                    let ex = v.abs() - t2;
                    if ex <= 0.0 {
                        continue;
                    }
                    loss += ex * ex;
                    if let Some(g) = g.as_deref_mut() {
                        let wt = 2.0 * ex * v.signum();
                        let p = a.nrows();
                        // ∂c/∂a[c, r, t] = b[c, r − τ_r, t − τ_c]; ∂c/∂b[c, u, v] = a[c, u + τ_r, v + τ_c]
                        for ch in 0..p {
                            for r in 0..h {
                                let u = r as isize - tau_r;
                                if u < 0 || u as usize >= h {
                                    continue;
                                }
                                for t in 0..w {
                                    let v = t as isize - tau_c;
                                    if v >= 0 && (v as usize) < w {
                                        let (ia, ib) = (r * w + t, u as usize * w + v as usize);
                                        let (av, bv) = (a[[ch, ia]], b[[ch, ib]]);
                                        g[[i, ch, ia]] += wt * bv;
                                        g[[j, ch, ib]] += wt * av;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (loss, mu)
    };
    let (mut loss, mut mu) = eval(d, None);
    let mut step = 0.5;
    let mut grad = Array3::zeros(d.dim());
    for _ in 0..max_iters {
        if mu <= target || step < 1e-12 {
            break;
        }
        grad.fill(0.0);
        eval(d, Some(&mut grad));
        loop {
            let mut cand = &*d - &(&grad * step);
            for a in cand.axis_iter_mut(Axis(0)) {
                normalize(a);
            }
            let (l2, m2) = eval(&cand, None);
            if l2 < loss {
                *d = cand;
                (loss, mu) = (l2, m2);
                step *= 1.5;
                break;
            }
            step *= 0.5;
            if step < 1e-12 {
                break;
            }
        }
    }
    mu
}

/// Cross-correlation of two atoms at every lag: entry `τ + (L_b − 1)` is
/// $\langle a, S_\tau b\rangle = \sum_{c,t} a[c, t]\, b[c, t - \tau]$ for τ ∈ [−(L_b − 1), L_a − 1]
/// (zeros shifted in). Both P × L; the lengths may differ.
///
/// # Errors
/// Different channel counts.
pub fn shift_correlation(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
    shift_correlation_2d(a, b, 1, 1)
}

/// [`shift_correlation`] of two image atoms (P × Lh·Lw each, flattened row-major, `a_rows` and
/// `b_rows` rows) at every 2-D lag (τ_r, τ_c): entry (τ_r + Lh_b − 1) · (Lw_a + Lw_b − 1) + τ_c +
/// Lw_b − 1 is Σ a[c, r, s] b[c, r − τ_r, s − τ_c]. One row each gives [`shift_correlation`].
///
/// # Errors
/// Different channel counts, lengths the rows do not divide.
pub fn shift_correlation_2d(
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
    a_rows: usize,
    b_rows: usize,
) -> Result<Vec<f64>> {
    let (p, la) = a.dim();
    let (pb, lb) = b.dim();
    if p != pb {
        return Err(Error::invalid(
            "atoms",
            format!("{p} and {pb} channels"),
            "atoms with the same number of channels P",
        ));
    }
    ensure!(
        a_rows >= 1 && b_rows >= 1 && la.is_multiple_of(a_rows) && lb.is_multiple_of(b_rows),
        "atoms",
        format!("{la} and {lb} entries in {a_rows} and {b_rows} rows"),
        "flattened image atoms of rows × columns entries"
    );
    let (ha, wa, hb, wb) = (a_rows, la / a_rows, b_rows, lb / b_rows);
    let (nr, nc) = (ha + hb - 1, wa + wb - 1);
    let mut out = vec![0.0; nr * nc];
    for tr in 0..nr {
        let tau_r = tr as isize - (hb as isize - 1);
        for tc in 0..nc {
            let tau_c = tc as isize - (wb as isize - 1);
            let mut acc = 0.0;
            for c in 0..p {
                let (ar, br) = (a.row(c), b.row(c));
                for r in 0..ha {
                    let u = r as isize - tau_r;
                    if u < 0 || u as usize >= hb {
                        continue;
                    }
                    for t in 0..wa {
                        let v = t as isize - tau_c;
                        if v >= 0 && (v as usize) < wb {
                            acc += ar[r * wa + t] * br[u as usize * wb + v as usize];
                        }
                    }
                }
            }
            out[tr * nc + tc] = acc;
        }
    }
    Ok(out)
}

/// Shift coherence μ_conv of atoms `d` (K × P × L; each normalized here): the largest
/// |⟨d_k, S_τ d_l⟩| over k ≠ l at every lag and over k = l at lags ≠ 0 (0 for one atom of length 1).
///
/// # Errors
/// A zero or non-finite atom.
pub fn shift_coherence(d: ArrayView3<'_, f64>) -> Result<f64> {
    shift_coherence_2d(d, 1)
}

/// [`shift_coherence`] of image atoms of `atom_rows` rows, over every 2-D lag.
///
/// # Errors
/// A zero or non-finite atom, a length the rows do not divide.
pub fn shift_coherence_2d(d: ArrayView3<'_, f64>, atom_rows: usize) -> Result<f64> {
    let k = d.len_of(Axis(0));
    let unit: Vec<Array2<f64>> = (0..k)
        .map(|j| unit(d.index_axis(Axis(0), j), "atom", j, false))
        .collect::<Result<_>>()?;
    let (h, w) = (atom_rows, d.len_of(Axis(2)) / atom_rows.max(1));
    let zero = (h - 1) * (2 * w - 1) + (w - 1);
    let mut mu: f64 = 0.0;
    for i in 0..k {
        for j in i..k {
            let c = shift_correlation_2d(unit[i].view(), unit[j].view(), h, h)?;
            for (lag, v) in c.iter().enumerate() {
                if i == j && lag == zero {
                    continue;
                }
                mu = mu.max(v.abs());
            }
        }
    }
    Ok(mu.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_shift_coherence_bound_by_hand_and_the_target_generator_meets_a_feasible_target() {
        // K = 4 atoms of length 2, one channel: 8 shifts in dimension 3, Welch √(5/21)
        assert!((shift_coherence_lower_bound(4, 1, 2) - (5.0f64 / 21.0).sqrt()).abs() < 1e-15);
        // two atoms of length 8: 16 shifts in dimension 15, √(1/225)
        assert!((shift_coherence_lower_bound(2, 1, 8) - 1.0 / 15.0).abs() < 1e-15);
        assert!(shift_coherence_lower_bound(3, 2, 8) <= 0.0);
        let inst = ConvSpec::new(2, 1, 200, 4, 16)
            .family(AtomFamily::Coherence { target: 0.35 })
            .sample(3)
            .unwrap();
        let gauss = ConvSpec::new(2, 1, 200, 4, 16).sample(3).unwrap();
        assert!(
            inst.shift_coherence <= 0.35 && gauss.shift_coherence > 0.35,
            "{} (Gaussian start {})",
            inst.shift_coherence,
            gauss.shift_coherence
        );
        for a in inst.atoms.axis_iter(Axis(0)) {
            assert!((norm(a) - 1.0).abs() < 1e-12);
        }
        // below the bound, above 1, and rank-1 atoms are refused, naming the fix
        let e = ConvSpec::new(1, 1, 50, 4, 2)
            .family(AtomFamily::Coherence { target: 0.2 })
            .sample(1)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("0.4880") && e.contains("raise the target"),
            "{e}"
        );
        assert!(
            ConvSpec::new(1, 1, 50, 2, 5)
                .family(AtomFamily::Coherence { target: 1.5 })
                .sample(1)
                .is_err()
        );
        let e = ConvSpec::new(1, 2, 50, 2, 5)
            .rank1(true)
            .family(AtomFamily::Coherence { target: 0.5 })
            .sample(1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("drop --rank1"), "{e}");
    }

    #[test]
    fn valid_and_circular_convolutions_by_hand() {
        // one atom [1, 2] on one channel, activations at 0 (value 1) and 2 (value 3)
        let d = array![[[1.0, 2.0]]];
        let z = array![[[1.0, 0.0, 3.0]]];
        let y = convolve(d.view(), z.view(), Boundary::Valid, 4).unwrap();
        assert_eq!(y, array![[[1.0, 2.0, 3.0, 6.0]]]);
        let zc = array![[[1.0, 0.0, 0.0, 3.0]]];
        let y = convolve(d.view(), zc.view(), Boundary::Circular, 4).unwrap();
        // 3 at t = 3 wraps its second tap to t = 0
        assert_eq!(y, array![[[1.0 + 6.0, 2.0, 0.0, 3.0]]]);
        assert!(convolve(d.view(), zc.view(), Boundary::Valid, 4).is_err());
    }

    #[test]
    fn shift_correlation_and_coherence_by_hand() {
        let a = array![[1.0, 0.0, 0.0]];
        let b = array![[0.0, 0.0, 1.0]];
        // ⟨a, S_τ b⟩ = Σ a[t] b[t − τ]: non-zero only at τ = −2
        let c = shift_correlation(a.view(), b.view()).unwrap();
        assert_eq!(c, vec![1.0, 0.0, 0.0, 0.0, 0.0]);
        // a shifted copy is fully coherent; an atom with itself at lag 1: [1,1]/√2 → 1/2
        let d = array![[[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]];
        assert!((shift_coherence(d.view()).unwrap() - 1.0).abs() < 1e-15);
        let d = array![[[1.0, 1.0]]];
        assert!((shift_coherence(d.view()).unwrap() - 0.5).abs() < 1e-15);
    }

    #[test]
    fn a_sampled_problem_has_unit_atoms_its_rate_and_its_noise() {
        let spec = ConvSpec::new(20, 2, 400, 3, 16)
            .theta(0.02)
            .values(ConvValues::NonNeg { lo: 1.0, hi: 2.0 })
            .noise_sigma(0.1);
        let inst = spec.sample(7).unwrap();
        assert_eq!(inst.atoms.dim(), (3, 2, 16));
        assert_eq!(inst.acts.dim(), (20, 3, 385));
        assert_eq!(inst.y.dim(), (20, 2, 400));
        for j in 0..3 {
            let nn = norm(inst.atoms.index_axis(Axis(0), j));
            assert!((nn - 1.0).abs() < 1e-12);
        }
        assert!(
            inst.acts
                .iter()
                .all(|v| *v == 0.0 || (1.0..=2.0).contains(v))
        );
        // 23 100 Bernoulli(0.02) draws: the rate within 5 standard errors
        let se = (0.02f64 * 0.98 / inst.acts.len() as f64).sqrt();
        assert!(
            (inst.realized_rate - 0.02).abs() < 5.0 * se,
            "{}",
            inst.realized_rate
        );
        let clean = convolve(inst.atoms.view(), inst.acts.view(), Boundary::Valid, 400).unwrap();
        let resid = &inst.y - &clean;
        let sd = (resid.iter().map(|v| v * v).sum::<f64>() / resid.len() as f64).sqrt();
        assert!((sd - 0.1).abs() < 0.005, "{sd}");
        // reproducible from the seed
        assert_eq!(spec.sample(7).unwrap().y, inst.y);
    }

    #[test]
    fn spacing_rank1_and_shifted_pairs() {
        let inst = ConvSpec::new(5, 1, 600, 2, 10)
            .theta(0.5)
            .min_spacing(10)
            .sample(1)
            .unwrap();
        for i in 0..5 {
            for j in 0..2 {
                let pos: Vec<usize> = (0..inst.acts.dim().2)
                    .filter(|&t| inst.acts[(i, j, t)] != 0.0)
                    .collect();
                assert!(pos.windows(2).all(|w| w[1] - w[0] >= 10), "{pos:?}");
            }
        }
        let r1 = ConvSpec::new(2, 4, 100, 3, 12)
            .rank1(true)
            .family(AtomFamily::Gabor)
            .sample(2)
            .unwrap();
        for j in 0..3 {
            let a = r1.atoms.index_axis(Axis(0), j).to_owned();
            let sv = crate::linalg::singular_values(a.view()).unwrap();
            assert!(sv[1] < 1e-10 * sv[0], "{sv:?}");
        }
        // a shifted copy keeps all but the samples pushed out of the atom: above 0.7 for Gaussian
        // atoms of 12 samples shifted by 3 (it keeps 9 of 12 samples' energy on average)
        let dup = ConvSpec::new(2, 1, 100, 2, 12)
            .family(AtomFamily::ShiftedPairs {
                shift: 3,
                perturb: 0.0,
            })
            .sample(3)
            .unwrap();
        let gauss = ConvSpec::new(2, 1, 100, 2, 12).sample(3).unwrap();
        assert!(dup.shift_coherence > 0.7, "{}", dup.shift_coherence);
        assert!(gauss.shift_coherence < dup.shift_coherence);
    }

    #[test]
    fn bad_specs_are_typed_errors_naming_the_fix() {
        for (spec, needle) in [
            (ConvSpec::new(1, 1, 10, 2, 11), "L ≤ T"),
            (ConvSpec::new(1, 1, 10, 0, 3), "n_atoms"),
            (ConvSpec::new(1, 1, 10, 2, 0), "atom_len"),
            (ConvSpec::new(1, 1, 10, 2, 3).theta(0.0), "(0, 1]"),
            (ConvSpec::new(1, 1, 10, 2, 3).theta(f64::NAN), "(0, 1]"),
            (ConvSpec::new(1, 1, 10, 2, 3).noise_sigma(-1.0), "σ ≥ 0"),
            (
                ConvSpec::new(1, 1, 10, 2, 3).values(ConvValues::NonNeg { lo: 2.0, hi: 1.0 }),
                "a ≤ b",
            ),
            (
                ConvSpec::new(1, 1, 10, 2, 3).family(AtomFamily::ShiftedPairs {
                    shift: 3,
                    perturb: 0.1,
                }),
                "shift < L",
            ),
            (ConvSpec::new(1 << 20, 64, 1 << 20, 2, 3), "memory"),
        ] {
            let e = spec.sample(0).unwrap_err().to_string();
            assert!(e.contains(needle), "{spec:?}: {e}");
        }
    }

    /// Images: the 2-D shift correlation by hand, the bound, a coherence target met over 2-D
    /// lags, shifted pairs along rows, Gabor patches, unit atoms, and the refusals.
    #[test]
    fn image_problems_by_hand_and_by_target() {
        // a = [[1, 2], [3, 4]], b = [[0, 1], [1, 0]]: lag (0, 0) gives 2 + 3, lag (1, 1) gives
        // a[1, 1] b[0, 0] = 0, lag (−1, 0) gives a[0, 0] b[1, 0] + a[0, 1] b[1, 1] = 1
        let a = ndarray::arr2(&[[1.0, 2.0, 3.0, 4.0]]);
        let b = ndarray::arr2(&[[0.0, 1.0, 1.0, 0.0]]);
        let c = shift_correlation_2d(a.view(), b.view(), 2, 2).unwrap();
        assert_eq!(c.len(), 9);
        let at = |tr: isize, tc: isize| c[((tr + 1) * 3 + tc + 1) as usize];
        assert!((at(0, 0) - 5.0).abs() < 1e-15);
        assert!(at(1, 1).abs() < 1e-15);
        assert!((at(-1, 0) - 1.0).abs() < 1e-15);
        assert!((at(1, 0) - 4.0).abs() < 1e-15); // a[1, 0] b[0, 0] + a[1, 1] b[0, 1]
        // the 2-D bound: K = 2 atoms of 3 × 3 → 18 shifts in dimension 25: none
        assert!(shift_coherence_lower_bound_2d(2, 1, 3) <= 0.0);
        // K = 4 of 2 × 2: 16 shifts in dimension 9 → √(7/135)
        assert!((shift_coherence_lower_bound_2d(4, 1, 2) - (7.0f64 / 135.0).sqrt()).abs() < 1e-15);
        let base = ConvSpec::new(2, 1, 20, 3, 5).rows(16);
        let g = base.clone().sample(4).unwrap();
        assert_eq!(g.atoms.dim(), (3, 1, 25));
        assert_eq!(g.acts.dim(), (2, 3, 12 * 16));
        let t = base
            .clone()
            .family(AtomFamily::Coherence { target: 0.3 })
            .sample(4)
            .unwrap();
        assert!(
            t.shift_coherence <= 0.3 && g.shift_coherence > 0.3,
            "{} (Gaussian {})",
            t.shift_coherence,
            g.shift_coherence
        );
        // a pair shifted one pixel to the right has μ_conv near 1, measured over 2-D lags
        let pairs = base
            .clone()
            .family(AtomFamily::ShiftedPairs {
                shift: 1,
                perturb: 0.0,
            })
            .sample(4)
            .unwrap();
        let (d0, d1) = (
            pairs.atoms.index_axis(Axis(0), 0),
            pairs.atoms.index_axis(Axis(0), 1),
        );
        for r in 0..5 {
            assert!(d1[(0, r * 5)].abs() < 1e-15);
            for c in 1..5 {
                let ratio = d1[(0, r * 5 + c)] / d0[(0, r * 5 + c - 1)];
                assert!((ratio - d1[(0, 6)] / d0[(0, 5)]).abs() < 1e-9);
            }
        }
        assert!(pairs.shift_coherence > 0.8, "{}", pairs.shift_coherence);
        let gabor = base.clone().family(AtomFamily::Gabor).sample(4).unwrap();
        for inst in [&g, &t, &pairs, &gabor] {
            for a in inst.atoms.axis_iter(Axis(0)) {
                assert!((norm(a) - 1.0).abs() < 1e-12);
            }
        }
        // refusals: atoms taller than the image, spacing on images, a 2-D target below its bound
        let e = ConvSpec::new(1, 1, 20, 2, 6)
            .rows(4)
            .sample(1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("add rows"), "{e}");
        let e = base
            .clone()
            .min_spacing(3)
            .sample(1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("drop min_spacing"), "{e}");
        let e = ConvSpec::new(1, 1, 20, 4, 2)
            .rows(8)
            .family(AtomFamily::Coherence { target: 0.1 })
            .sample(1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("0.2277"), "{e}");
    }
}
