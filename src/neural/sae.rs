//! Untied sparse autoencoders (SAEs) as trained today to find dictionaries in neural activations,
//! run here on planted dictionaries (docs/protocols.md §15).
//!
//! # Model
//! Encoder `W_e` (m × n), `b_e` (m), decoder `W_d` (n × m, unit columns), `b_d` (n); for a batch
//! `Y` (n × B): `Z = W_e (Y − b_d) + b_e`, codes `F = σ(Z)`, `Ŷ = W_d F + b_d`, and
//! ```text
//! ReLU + L1 : F = ReLU(Z),                        L = (1/B) Σ ‖y − ŷ‖² + λ (1/B) Σ ‖f‖₁
//! TopK      : F = ReLU(Z) on the k largest Z of each column, 0 elsewhere,   L = (1/B) Σ ‖y − ŷ‖²
//! JumpReLU  : F_i = Z_i · H(Z_i − θ_i),  θ = exp(log θ) learned,          L = (1/B) Σ ‖y − ŷ‖² + λ (1/B) Σ ‖f‖₀
//! BatchTopK : F = ReLU(Z) on the k·B largest Z of the whole batch (training); Z · H(Z − θ) at
//!             inference, θ the running mean of the smallest selected Z,  L = (1/B) Σ ‖y − ŷ‖²
//! Matryoshka: TopK codes; prefixes p_1 < … < p_J = m of the latents (p_j = m / 2^{J−j}),
//!             ŷ_j = W_d[:, :p_j] F[:p_j] + b_d,                           L = (1/B) Σ_j Σ ‖y − ŷ_j‖²
//! Gated     : gate Z = W_e (Y − b_d) + b_e, magnitudes Z_mag = e^{r} ⊙ (Z − b_e) + b_mag,
//!             F = 1[Z > 0] ⊙ ReLU(Z_mag),
//!             L = (1/B) Σ ‖y − ŷ‖² + λ (1/B) Σ ‖ReLU(z)‖₁ + (1/B) Σ ‖y − (W_d' ReLU(z) + b_d')‖²
//! ```
//! (Gated: Rajamanoharan, Conmy, Smith, Lieberum, Varma, Kramár, Shah, Nanda 2024a, "Improving
//! dictionary learning with gated sparse autoencoders", §3 — the magnitude path shares the gate's
//! weights up to a per-latent scale e^{r}; (W_d', b_d') is a frozen copy of the decoder, so the
//! auxiliary term trains the gate only; with unit decoder columns their norm-weighted L1 is the
//! plain L1. [`Sae::loss_frozen`] is the function the gradient differentiates.)
//! (Bricken et al. 2023 / Cunningham et al. 2023 for ReLU + L1; Gao et al. 2024, "Scaling and
//! evaluating sparse autoencoders", for TopK, without their auxiliary dead-latent loss;
//! Rajamanoharan et al. 2024, "Jumping ahead", for JumpReLU; Bussmann, Leask, Nanda 2024,
//! "BatchTopK sparse autoencoders", §3 (batch selection, the inference threshold θ as the mean over
//! training batches of the smallest selected activation — here an exponential mean with weight 0.01,
//! ours); Bussmann, Nabeshima, Karvonen, Nanda 2025, "Learning multi-level features with Matryoshka
//! sparse autoencoders", eq. (2) (the loss summed over nested prefixes; they draw the prefix sizes,
//! here they are fixed halvings, ours, with TopK rather than BatchTopK codes).)
//!
//! # Gradients
//! With `E = Ŷ − Y`, `D = 2E/B`: `∂W_d = D Fᵀ`, `∂b_d = Σ_cols D − W_eᵀ Σ_cols ∂Z`,
//! `∂F = W_dᵀ D (+ λ/B where F > 0 for L1)` (Matryoshka: with `S_j = Σ_{j' ≥ j} 2E_{j'}/B`, the latents
//! of block j = [p_{j−1}, p_j) get `∂W_d = S_j Fᵀ` and `∂F = W_dᵀ S_j`, and `∂b_d` sums every level's D), `∂Z = ∂F ⊙ mask` (mask: Z > 0; the selected entries
//! for TopK; Z > θ for JumpReLU), `∂W_e = ∂Z (Y − b_d)ᵀ`, `∂b_e = Σ_cols ∂Z`. These are exact
//! (almost everywhere) and checked against finite differences. JumpReLU's threshold gets the
//! straight-through estimate of Rajamanoharan et al. (their eqs. 11–12) with the rectangle kernel
//! `K(u) = 1[|u| < ½]` of bandwidth ε: `∂θ_i = Σ_b [∂F_ib · (−Z_ib/ε) + λ/B · (−1/ε)] K((Z_ib − θ_i)/ε)`
//! — the log-θ gradient of [`Sae::jumprelu_theta_surrogate`] (the step replaced by its
//! kernel-smoothed ramp, the reconstruction's gradient held at the hard codes); the tests check it.
//!
//! # Training
//! Adam (Kingma & Ba 2015, Alg. 1) on minibatches drawn uniformly from the signals, the decoder
//! bias started at the data mean, decoder columns renormalized after every step, on the crate's iteration engine (one step per minibatch).
//! [`dead_latents`] counts latents never active on an evaluation set.

pub use super::optim::{Adam, Precision};
use crate::error::{Error, Result, ensure};
use crate::iter::{self, Iterative, Observer, Schedule, SolveInfo, Stop};
use crate::linalg::{Real, gemm_into, par};
use crate::rng::{Rng64, rng_from_seed};
use crate::spec::{Context, Dflt, Param, Params, Ty};
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use rand::Rng;

/// Which sparse autoencoder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SaeKind {
    /// ReLU codes with an L1 penalty λ.
    ReluL1 {
        /// λ.
        lambda: f64,
    },
    /// The k largest pre-activations per sample (after ReLU).
    TopK {
        /// Active latents per sample.
        k: usize,
    },
    /// The k·B largest pre-activations of a training batch (after ReLU): k active latents per
    /// sample on average; a global threshold at inference.
    BatchTopK {
        /// Mean active latents per sample.
        k: usize,
    },
    /// TopK codes trained to reconstruct from `levels` nested prefixes of the latents.
    Matryoshka {
        /// Active latents per sample.
        k: usize,
        /// Nested prefixes (m/2^{levels−1}, …, m/2, m).
        levels: usize,
    },
    /// A gate (the encoder's sign) times a magnitude path sharing its weights up to a per-latent
    /// scale e^{r}, an L1 penalty λ on the gate's ReLU and an auxiliary reconstruction from it
    /// through the frozen decoder (Rajamanoharan et al. 2024a).
    Gated {
        /// λ.
        lambda: f64,
    },
    /// A learned threshold per latent, L0 penalty λ, straight-through bandwidth ε.
    JumpRelu {
        /// λ.
        lambda: f64,
        /// Kernel bandwidth ε.
        bandwidth: f64,
    },
}

impl SaeKind {
    fn check(&self, m: usize) -> Result<()> {
        match *self {
            SaeKind::ReluL1 { lambda } | SaeKind::Gated { lambda } => {
                ensure!(
                    lambda.is_finite() && lambda >= 0.0,
                    "lambda",
                    lambda,
                    "λ ≥ 0"
                )
            }
            SaeKind::TopK { k } | SaeKind::BatchTopK { k } => {
                ensure!(k >= 1 && k <= m, "k", k, format!("1 ≤ k ≤ m = {m}"))
            }
            SaeKind::Matryoshka { k, levels } => {
                ensure!(k >= 1 && k <= m, "k", k, format!("1 ≤ k ≤ m = {m}"));
                ensure!(
                    levels >= 1 && m >> (levels - 1).min(63) >= 1,
                    "levels",
                    levels,
                    format!(
                        "1 ≤ levels with m / 2^(levels − 1) ≥ 1 latent in the smallest prefix (m = {m})"
                    )
                );
            }
            SaeKind::JumpRelu { lambda, bandwidth } => {
                ensure!(
                    lambda.is_finite() && lambda >= 0.0,
                    "lambda",
                    lambda,
                    "λ ≥ 0"
                );
                ensure!(
                    bandwidth.is_finite() && bandwidth > 0.0,
                    "bandwidth",
                    bandwidth,
                    "a kernel bandwidth ε > 0"
                );
            }
        }
        Ok(())
    }
}

/// A sparse autoencoder's parameters, in `f64` (every API but the training kernel's `f32` path,
/// [`super::sae_kernel`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Sae<T = f64> {
    /// Which model.
    pub kind: SaeKind,
    /// Encoder W_e (m × n).
    pub w_enc: Array2<T>,
    /// Encoder bias b_e (m).
    pub b_enc: Array1<T>,
    /// Decoder W_d (n × m), unit columns: the learned dictionary.
    pub w_dec: Array2<T>,
    /// Decoder bias b_d (n).
    pub b_dec: Array1<T>,
    /// The magnitude path's log-scales r (m), Gated only: W_mag = diag(e^r) W_e.
    pub r_mag: Array1<T>,
    /// The magnitude path's bias b_mag (m), Gated only.
    pub b_mag: Array1<T>,
    /// log θ (m), JumpReLU only (ignored otherwise).
    pub log_theta: Array1<T>,
    /// BatchTopK's inference threshold θ (the running mean of the smallest selected
    /// pre-activation; `None` before the first training batch, when inference selects per batch).
    pub batch_threshold: Option<f64>,
}

/// Gradients, shaped like the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SaeGrads<T = f64> {
    /// ∂W_e.
    pub w_enc: Array2<T>,
    /// ∂b_e.
    pub b_enc: Array1<T>,
    /// ∂W_d.
    pub w_dec: Array2<T>,
    /// ∂b_d.
    pub b_dec: Array1<T>,
    /// ∂r (Gated; zero otherwise).
    pub r_mag: Array1<T>,
    /// ∂b_mag (Gated; zero otherwise).
    pub b_mag: Array1<T>,
    /// ∂ log θ (straight-through for JumpReLU, zero otherwise).
    pub log_theta: Array1<T>,
    /// BatchTopK: the smallest selected pre-activation of this batch (the threshold's sample).
    pub min_selected: Option<f64>,
    /// Which latents fired on this batch (the dead-latent clock's input).
    pub fired: Vec<bool>,
}

/// The auxiliary loss of dead latents (Gao et al. 2024, §A.2): which latents are dead, how many of
/// them reconstruct the residual per sample, and its weight (theirs: k_aux = 512 of 16M latents,
/// coefficient 1/32).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuxK<'a> {
    /// One flag per latent: dead (not fired for the trainer's `dead_steps` steps).
    pub dead: &'a [bool],
    /// Dead latents per sample that reconstruct the residual.
    pub k: usize,
    /// Weight of the auxiliary loss.
    pub coef: f64,
}

/// The mask of the `aux.k` largest positive pre-activations among the dead latents of each column.
fn aux_mask(z: &Array2<f64>, aux: AuxK<'_>) -> Array2<f64> {
    let mut m = Array2::zeros(z.dim());
    let dead: Vec<usize> = (0..z.nrows()).filter(|&i| aux.dead[i]).collect();
    let k = aux.k.min(dead.len());
    if k == 0 {
        return m;
    }
    let mut idx = dead.clone();
    for (zc, mut mc) in z.columns().into_iter().zip(m.columns_mut()) {
        idx.copy_from_slice(&dead);
        idx.select_nth_unstable_by(k - 1, |&a, &b| zc[b].total_cmp(&zc[a]));
        for &i in &idx[..k] {
            if zc[i] > 0.0 {
                mc[i] = 1.0;
            }
        }
    }
    m
}

fn rect(u: f64) -> f64 {
    if u.abs() < 0.5 { 1.0 } else { 0.0 }
}

impl<T: crate::linalg::Real> Sae<T> {
    /// The model in another floating-point type (`f32` for the single-precision kernels, back to
    /// `f64`), each array in its own memory layout.
    pub fn to_precision<B: Real>(&self) -> Sae<B> {
        let c2 = |a: &Array2<T>| a.mapv(|v| B::of(v.widen()));
        let c1 = |a: &Array1<T>| a.mapv(|v| B::of(v.widen()));
        Sae {
            kind: self.kind,
            w_enc: c2(&self.w_enc),
            b_enc: c1(&self.b_enc),
            w_dec: c2(&self.w_dec),
            b_dec: c1(&self.b_dec),
            r_mag: c1(&self.r_mag),
            b_mag: c1(&self.b_mag),
            log_theta: c1(&self.log_theta),
            batch_threshold: self.batch_threshold,
        }
    }
    /// Fold a training batch's smallest selected pre-activation into BatchTopK's inference
    /// threshold (exponential mean, weight 0.01; the first batch sets it).
    pub fn update_batch_threshold(&mut self, min_selected: Option<f64>) {
        if let Some(v) = min_selected.filter(|v| v.is_finite()) {
            self.batch_threshold = Some(match self.batch_threshold {
                Some(t) => 0.99 * t + 0.01 * v,
                None => v,
            });
        }
    }
    /// Latents m.
    pub fn n_latents(&self) -> usize {
        self.w_enc.nrows()
    }
    /// Scale the decoder's columns to unit norm (zero columns are left as they are).
    pub fn normalize_decoder(&mut self) {
        for mut c in self.w_dec.columns_mut() {
            let nc = c.dot(&c).sqrt();
            if nc > T::zero() {
                c.mapv_inplace(|v| v / nc);
            }
        }
    }
    /// The Matryoshka prefix sizes p_1 < … < p_J = m (one prefix, m, for the other kinds).
    pub fn prefixes(&self) -> Vec<usize> {
        let m = self.n_latents();
        match self.kind {
            SaeKind::Matryoshka { levels, .. } => {
                let mut p: Vec<usize> =
                    (0..levels).rev().map(|j| (m >> j.min(63)).max(1)).collect();
                p.dedup();
                p
            }
            _ => vec![m],
        }
    }
}

impl Sae {
    /// A fresh model for n-dimensional signals and m latents: Gaussian decoder with unit columns,
    /// encoder its transpose, zero biases, θ = `theta0` (JumpReLU).
    ///
    /// # Errors
    /// m or n zero, invalid kind.
    pub fn init(
        n: usize,
        m: usize,
        kind: SaeKind,
        theta0: f64,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        ensure!(n >= 1 && m >= 1, "n_atoms", m, "n ≥ 1 and m ≥ 1");
        kind.check(m)?;
        ensure!(
            theta0.is_finite() && theta0 > 0.0,
            "theta0",
            theta0,
            "an initial threshold > 0"
        );
        let w_dec = crate::generate::dictionary::gaussian_matrix(n, m, rng);
        let mut s = Sae {
            kind,
            w_enc: w_dec.t().to_owned(),
            b_enc: Array1::zeros(m),
            w_dec,
            b_dec: Array1::zeros(n),
            r_mag: Array1::zeros(m),
            b_mag: Array1::zeros(m),
            log_theta: Array1::from_elem(m, theta0.ln()),
            batch_threshold: None,
        };
        s.normalize_decoder();
        s.w_enc = s.w_dec.t().to_owned();
        Ok(s)
    }
    /// Resample the latents `dead` from the batch `y` (n × B) as Bricken et al. (2023, "Towards
    /// monosemanticity", appendix on neuron resampling): each takes a sample drawn with
    /// probability ∝ its squared reconstruction error; its decoder column becomes that sample
    /// minus b_d, normalized; its encoder row the same direction times `scale` (theirs: 0.2) × the
    /// mean encoder-row norm of the other latents; its encoder bias 0 (and, Gated, r = 0,
    /// b_mag = 0). Returns the
    /// latents changed (none when every sample is reconstructed exactly).
    ///
    /// # Errors
    /// Signals of the wrong dimension; a latent index out of range.
    pub fn resample(
        &mut self,
        dead: &[usize],
        y: ArrayView2<'_, f64>,
        scale: f64,
        rng: &mut impl Rng,
    ) -> Result<Vec<usize>> {
        self.check_signals(y)?;
        let m = self.n_latents();
        if let Some(&i) = dead.iter().find(|&&i| i >= m) {
            return Err(Error::invalid(
                "latent",
                i,
                format!("an index below m = {m}"),
            ));
        }
        let f = self.forward_mode(y, false).2;
        let e = self.reconstruction_error(y, &f);
        let w: Vec<f64> = e.columns().into_iter().map(|c| c.dot(&c).powi(2)).collect();
        let total: f64 = w.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return Ok(vec![]);
        }
        let is_dead = {
            let mut d = vec![false; m];
            dead.iter().for_each(|&i| d[i] = true);
            d
        };
        let alive: Vec<f64> = (0..m)
            .filter(|&i| !is_dead[i])
            .map(|i| self.w_enc.row(i).dot(&self.w_enc.row(i)).sqrt())
            .collect();
        let enc_norm = if alive.is_empty() {
            1.0
        } else {
            alive.iter().sum::<f64>() / alive.len() as f64
        };
        let mut moved = Vec::with_capacity(dead.len());
        for &i in dead {
            let mut u = rng.random::<f64>() * total;
            let mut b = w.len() - 1;
            for (j, wj) in w.iter().enumerate() {
                if u < *wj {
                    b = j;
                    break;
                }
                u -= wj;
            }
            let v = &y.column(b) - &self.b_dec;
            let nv = v.dot(&v).sqrt();
            if nv.is_nan() || nv <= 0.0 {
                continue;
            }
            let dir = v / nv;
            self.w_dec.column_mut(i).assign(&dir);
            self.w_enc.row_mut(i).assign(&(&dir * (scale * enc_norm)));
            self.b_enc[i] = 0.0;
            self.r_mag[i] = 0.0;
            self.b_mag[i] = 0.0;
            moved.push(i);
        }
        Ok(moved)
    }
    /// Number of latents m.
    /// Start the decoder bias at the mean of the signals `y` (n × N), as the trainers do (Bricken
    /// et al. use the geometric median).
    pub fn center_decoder_bias(&mut self, y: ArrayView2<'_, f64>) {
        if let Some(mean) = y.mean_axis(Axis(1)) {
            self.b_dec = mean;
        }
    }
    fn check_signals(&self, y: ArrayView2<'_, f64>) -> Result<()> {
        if y.nrows() != self.w_dec.nrows() {
            return Err(Error::shape(
                "signals (n × B)",
                (self.w_dec.nrows(), y.ncols()),
                y.dim(),
            ));
        }
        ensure!(y.ncols() >= 1, "batch", 0, "at least one signal");
        Ok(())
    }
    /// `(Y − b_d, Z, F, mask)` for a training batch (BatchTopK selects over the batch).
    fn forward(
        &self,
        y: ArrayView2<'_, f64>,
    ) -> (Array2<f64>, Array2<f64>, Array2<f64>, Array2<f64>) {
        self.forward_mode(y, true)
    }
    /// [`Sae::forward`]; at inference (`train` false) BatchTopK applies its threshold.
    fn forward_mode(
        &self,
        y: ArrayView2<'_, f64>,
        train: bool,
    ) -> (Array2<f64>, Array2<f64>, Array2<f64>, Array2<f64>) {
        let yc = &y - &self.b_dec.view().insert_axis(Axis(1));
        let mut z = Array2::zeros((self.n_latents(), y.ncols()));
        gemm_into(
            z.view_mut(),
            1.0,
            self.w_enc.view(),
            false,
            yc.view(),
            false,
            0.0,
            par(),
        );
        z += &self.b_enc.view().insert_axis(Axis(1));
        let mut mask = Array2::zeros(z.dim());
        match self.kind {
            SaeKind::ReluL1 { .. } => Zip::from(&mut mask)
                .and(&z)
                .for_each(|m, &v| *m = (v > 0.0) as u8 as f64),
            SaeKind::BatchTopK { k } => match (train, self.batch_threshold) {
                (false, Some(th)) => Zip::from(&mut mask)
                    .and(&z)
                    .for_each(|m, &v| *m = (v > th.max(0.0)) as u8 as f64),
                _ => {
                    // the k·B largest entries of the batch (ties at the cut-off broken by index)
                    let total = (k * z.ncols()).min(z.len());
                    let mut idx: Vec<usize> = (0..z.len()).collect();
                    // z and mask are both fresh standard-layout arrays: one flat index for both
                    let flat = z.as_slice_memory_order().expect("a fresh standard array");
                    if total < flat.len() {
                        idx.select_nth_unstable_by(total - 1, |&a, &b| flat[b].total_cmp(&flat[a]));
                    }
                    let mflat = mask
                        .as_slice_memory_order_mut()
                        .expect("a fresh standard array");
                    for &i in &idx[..total] {
                        if flat[i] > 0.0 {
                            mflat[i] = 1.0;
                        }
                    }
                }
            },
            SaeKind::TopK { k } | SaeKind::Matryoshka { k, .. } => {
                let mut idx: Vec<usize> = Vec::with_capacity(z.nrows());
                for (zc, mut mc) in z.columns().into_iter().zip(mask.columns_mut()) {
                    idx.clear();
                    idx.extend(0..zc.len());
                    idx.select_nth_unstable_by(k - 1, |&a, &b| zc[b].total_cmp(&zc[a]));
                    for &i in &idx[..k] {
                        if zc[i] > 0.0 {
                            mc[i] = 1.0;
                        }
                    }
                }
            }
            SaeKind::JumpRelu { .. } => {
                for (mut mr, (zr, lt)) in mask
                    .rows_mut()
                    .into_iter()
                    .zip(z.rows().into_iter().zip(&self.log_theta))
                {
                    let th = lt.exp();
                    Zip::from(&mut mr)
                        .and(&zr)
                        .for_each(|m, &v| *m = (v > th) as u8 as f64);
                }
            }
            SaeKind::Gated { .. } => {
                let zm = self.magnitudes(&z);
                Zip::from(&mut mask)
                    .and(&z)
                    .and(&zm)
                    .for_each(|m, &g, &v| *m = (g > 0.0 && v > 0.0) as u8 as f64);
                let f = &zm * &mask;
                return (yc, z, f, mask);
            }
        }
        let f = &z * &mask;
        (yc, z, f, mask)
    }
    /// Gated: the magnitude path's pre-activations e^{r} ⊙ (Z − b_e) + b_mag from the gate's Z.
    fn magnitudes(&self, z: &Array2<f64>) -> Array2<f64> {
        let mut zm = z - &self.b_enc.view().insert_axis(Axis(1));
        for ((mut row, r), bm) in zm.rows_mut().into_iter().zip(&self.r_mag).zip(&self.b_mag) {
            let e = r.exp();
            row.mapv_inplace(|u| e * u + bm);
        }
        zm
    }
    /// Gated: the auxiliary reconstruction's error W_d ReLU(Z) − (Y − b_d) (the decoder frozen in
    /// training) and ReLU(Z).
    fn gate_aux(&self, yc: &Array2<f64>, z: &Array2<f64>) -> (Array2<f64>, Array2<f64>) {
        let g = z.mapv(|v| v.max(0.0));
        let mut e = -yc;
        gemm_into(
            e.view_mut(),
            1.0,
            self.w_dec.view(),
            false,
            g.view(),
            false,
            1.0,
            par(),
        );
        (e, g)
    }
    /// Codes F (m × B) of a batch.
    ///
    /// # Errors
    /// Signals of the wrong dimension.
    pub fn encode(&self, y: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.check_signals(y)?;
        Ok(self.forward_mode(y, false).2)
    }
    /// Σ_j ‖E_j‖² / B and the decoder gradient and ∂F of the nested reconstructions (module doc);
    /// one level gives the plain reconstruction. Returns (loss, ∂W_d, ∂F, Σ_j D_j summed over
    /// columns — the decoder bias's direct part, E of the full reconstruction).
    fn nested_backward(
        &self,
        y: ArrayView2<'_, f64>,
        f: &Array2<f64>,
    ) -> (f64, Array2<f64>, Array2<f64>, Array1<f64>, Array2<f64>) {
        let b = y.ncols() as f64;
        let pre = self.prefixes();
        // E_j, built up block by block
        let mut e = &self.b_dec.view().insert_axis(Axis(1)) - &y;
        let mut ds: Vec<Array2<f64>> = Vec::with_capacity(pre.len());
        let mut loss = 0.0;
        let mut lo = 0;
        for &hi in &pre {
            gemm_into(
                e.view_mut(),
                1.0,
                self.w_dec.slice(ndarray::s![.., lo..hi]),
                false,
                f.slice(ndarray::s![lo..hi, ..]),
                false,
                1.0,
                par(),
            );
            loss += e.iter().map(|v| v * v).sum::<f64>() / b;
            ds.push(&e * (2.0 / b));
            lo = hi;
        }
        // S_j = Σ_{j' ≥ j} D_j', from the last level down
        let mut w_dec = Array2::zeros(self.w_dec.dim());
        let mut df = Array2::zeros(f.dim());
        let mut acc = Array2::<f64>::zeros(y.dim());
        let mut bias = Array1::zeros(y.nrows());
        for (j, d) in ds.iter().enumerate().rev() {
            acc += d;
            bias += &d.sum_axis(Axis(1));
            let lo = if j == 0 { 0 } else { pre[j - 1] };
            let hi = pre[j];
            gemm_into(
                w_dec.slice_mut(ndarray::s![.., lo..hi]),
                1.0,
                acc.view(),
                false,
                f.slice(ndarray::s![lo..hi, ..]),
                true,
                0.0,
                par(),
            );
            gemm_into(
                df.slice_mut(ndarray::s![lo..hi, ..]),
                1.0,
                self.w_dec.slice(ndarray::s![.., lo..hi]),
                true,
                acc.view(),
                false,
                0.0,
                par(),
            );
        }
        (loss, w_dec, df, bias, e)
    }
    fn reconstruction_error(&self, y: ArrayView2<'_, f64>, f: &Array2<f64>) -> Array2<f64> {
        let mut e = &self.b_dec.view().insert_axis(Axis(1)) - &y;
        gemm_into(
            e.view_mut(),
            1.0,
            self.w_dec.view(),
            false,
            f.view(),
            false,
            1.0,
            par(),
        );
        e
    }
    /// `(E, D = 2E/B, ∂F = W_dᵀ D)` for codes `f` of batch `y`: the reconstruction's backward pass.
    fn reconstruction_backward(
        &self,
        y: ArrayView2<'_, f64>,
        f: &Array2<f64>,
    ) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
        let e = self.reconstruction_error(y, f);
        let d = &e * (2.0 / y.ncols() as f64);
        let mut df = Array2::zeros(f.dim());
        gemm_into(
            df.view_mut(),
            1.0,
            self.w_dec.view(),
            true,
            d.view(),
            false,
            0.0,
            par(),
        );
        (e, d, df)
    }
    /// The loss of the model's kind on a batch.
    ///
    /// # Errors
    /// Signals of the wrong dimension.
    pub fn loss(&self, y: ArrayView2<'_, f64>) -> Result<f64> {
        self.loss_frozen(y, None)
    }
    /// [`Sae::loss`] with the Gated SAE's auxiliary reconstruction through the decoder (W_d, b_d)
    /// of `frozen` instead of this model's own — what the training gradient differentiates, the
    /// frozen copy being held fixed (Rajamanoharan et al. 2024a); the same as [`Sae::loss`] for
    /// the other kinds, or when `frozen` is `None` or this model.
    ///
    /// # Errors
    /// Signals of the wrong dimension; a frozen decoder of another shape.
    pub fn loss_frozen(&self, y: ArrayView2<'_, f64>, frozen: Option<&Sae>) -> Result<f64> {
        self.check_signals(y)?;
        if let Some(fz) = frozen {
            ensure!(
                fz.w_dec.dim() == self.w_dec.dim(),
                "frozen decoder",
                format!("{:?}", fz.w_dec.dim()),
                format!("the model's decoder shape {:?}", self.w_dec.dim())
            );
        }
        let (yc, z, f, mask) = self.forward(y);
        let b = y.ncols() as f64;
        let rec = if let SaeKind::Matryoshka { .. } = self.kind {
            self.nested_backward(y, &f).0
        } else {
            let e = self.reconstruction_error(y, &f);
            e.iter().map(|v| v * v).sum::<f64>() / b
        };
        Ok(rec
            + match self.kind {
                SaeKind::ReluL1 { lambda } => lambda * f.iter().map(|v| v.abs()).sum::<f64>() / b,
                SaeKind::TopK { .. } | SaeKind::BatchTopK { .. } | SaeKind::Matryoshka { .. } => {
                    0.0
                }
                SaeKind::JumpRelu { lambda, .. } => lambda * mask.sum() / b,
                SaeKind::Gated { lambda } => {
                    // W_d' ReLU(Z) + b_d' − Y, with (W_d', b_d') the frozen copy
                    let fz = frozen.unwrap_or(self);
                    let shift = &(&fz.b_dec - &self.b_dec).insert_axis(Axis(1));
                    let (e, g) = fz.gate_aux(&(&yc - shift), &z);
                    (e.iter().map(|v| v * v).sum::<f64>() + lambda * g.sum()) / b
                }
            })
    }
    /// The function whose gradient in log θ is JumpReLU's straight-through estimate: with
    /// `G = ∂(reconstruction)/∂F` at the hard codes (held fixed) and the kernel-smoothed step
    /// `R(θ) = clamp((Z − θ)/ε + ½, 0, 1)`, `S(θ) = Σ G ⊙ Z ⊙ R(θ) + (λ/B) Σ R(θ)`. The step
    /// itself has zero derivative almost everywhere; this is what the estimator differentiates
    /// instead (Rajamanoharan et al. 2024), and the tests check [`Sae::loss_grad`] against it.
    ///
    /// # Errors
    /// Not a JumpReLU model; signals of the wrong dimension.
    pub fn jumprelu_theta_surrogate(
        &self,
        y: ArrayView2<'_, f64>,
        log_theta: &Array1<f64>,
    ) -> Result<f64> {
        let SaeKind::JumpRelu { lambda, bandwidth } = self.kind else {
            return Err(Error::invalid(
                "kind",
                format!("{:?}", self.kind),
                "a JumpReLU model",
            ));
        };
        self.check_signals(y)?;
        let (_, z, f, _) = self.forward(y);
        let b = y.ncols() as f64;
        let (_, _, g) = self.reconstruction_backward(y, &f);
        let mut total = 0.0;
        for (i, lt) in log_theta.iter().enumerate() {
            let th = lt.exp();
            for (&zv, &gv) in z.row(i).iter().zip(g.row(i)) {
                let r = ((zv - th) / bandwidth + 0.5).clamp(0.0, 1.0);
                total += gv * zv * r + lambda / b * r;
            }
        }
        Ok(total)
    }
    /// Loss and gradients on a batch (see the module doc).
    ///
    /// # Errors
    /// Signals of the wrong dimension.
    pub fn loss_grad(&self, y: ArrayView2<'_, f64>) -> Result<(f64, SaeGrads)> {
        self.loss_grad_aux(y, None)
    }
    /// The auxiliary loss of dead latents (Gao et al. 2024, §A.2, "AuxK") at codes of this model:
    /// with the residual `r = Y − Ŷ` held fixed (it is detached in training), the k largest positive
    /// pre-activations among the `dead` latents of each sample, `F_aux`, reconstruct it:
    /// `coef · (1/B) Σ ‖W_d F_aux − r‖²`. The tests differentiate this with `r` fixed.
    ///
    /// # Errors
    /// Signals or residual of the wrong shape, a dead mask of the wrong length.
    pub fn aux_loss(
        &self,
        y: ArrayView2<'_, f64>,
        residual: ArrayView2<'_, f64>,
        aux: AuxK<'_>,
    ) -> Result<f64> {
        self.check_signals(y)?;
        ensure!(
            residual.dim() == y.dim() && aux.dead.len() == self.n_latents(),
            "auxiliary loss",
            format!(
                "residual {:?}, dead mask of {}",
                residual.dim(),
                aux.dead.len()
            ),
            format!(
                "a residual shaped as the signals {:?} and one flag per latent ({})",
                y.dim(),
                self.n_latents()
            )
        );
        let (_, z, _, _) = self.forward(y);
        let m_aux = aux_mask(&z, aux);
        let f_aux = &z * &m_aux;
        let e = self.w_dec.dot(&f_aux) - residual;
        Ok(aux.coef * e.iter().map(|v| v * v).sum::<f64>() / y.ncols() as f64)
    }
    /// [`Sae::loss_grad`] plus, when `aux` is given, the auxiliary loss of dead latents
    /// ([`Sae::aux_loss`] at the batch's own residual, detached).
    ///
    /// # Errors
    /// Signals of the wrong dimension, a dead mask of the wrong length.
    pub fn loss_grad_aux(
        &self,
        y: ArrayView2<'_, f64>,
        aux: Option<AuxK<'_>>,
    ) -> Result<(f64, SaeGrads)> {
        self.check_signals(y)?;
        if let (Some(_), SaeKind::Gated { .. }) = (aux, self.kind) {
            return Err(Error::invalid(
                "aux_k",
                "a Gated SAE",
                "no auxiliary dead-latent loss with the Gated SAE (it has its own auxiliary loss)",
            ));
        }
        if let Some(a) = aux {
            ensure!(
                a.dead.len() == self.n_latents(),
                "dead latents",
                a.dead.len(),
                format!("one flag per latent ({})", self.n_latents())
            );
        }
        let b = y.ncols() as f64;
        let (yc, z, f, mask) = self.forward(y);
        // the loss's gradients, and E = Ŷ − Y of the full reconstruction (the auxiliary loss's target)
        let (mut loss, w_dec, mut df, d_bias, e_full) =
            if let SaeKind::Matryoshka { .. } = self.kind {
                self.nested_backward(y, &f)
            } else {
                let (e, d, df) = self.reconstruction_backward(y, &f);
                let loss = e.iter().map(|v| v * v).sum::<f64>() / b;
                let mut w_dec = Array2::zeros(self.w_dec.dim());
                gemm_into(
                    w_dec.view_mut(),
                    1.0,
                    d.view(),
                    false,
                    f.view(),
                    true,
                    0.0,
                    par(),
                );
                (loss, w_dec, df, d.sum_axis(Axis(1)), e)
            };
        let min_selected = if let SaeKind::BatchTopK { .. } = self.kind {
            Zip::from(&z)
                .and(&mask)
                .fold(None, |m: Option<f64>, &zv, &mv| {
                    if mv > 0.0 {
                        Some(m.map_or(zv, |x| x.min(zv)))
                    } else {
                        m
                    }
                })
        } else {
            None
        };
        let mut log_theta = Array1::zeros(self.n_latents());
        let mut gate_dz: Option<Array2<f64>> = None;
        match self.kind {
            SaeKind::ReluL1 { lambda } => {
                loss += lambda * f.sum() / b;
                Zip::from(&mut df).and(&f).for_each(|g, &fv| {
                    if fv > 0.0 {
                        *g += lambda / b;
                    }
                });
            }
            SaeKind::TopK { .. } | SaeKind::BatchTopK { .. } | SaeKind::Matryoshka { .. } => {}
            SaeKind::JumpRelu { lambda, bandwidth } => {
                loss += lambda * mask.sum() / b;
                for (i, lt) in self.log_theta.iter().enumerate() {
                    let th = lt.exp();
                    let mut g = 0.0;
                    for (&zv, &dfv) in z.row(i).iter().zip(df.row(i)) {
                        let k = rect((zv - th) / bandwidth);
                        if k != 0.0 {
                            g -= (dfv * zv + lambda / b) / bandwidth;
                        }
                    }
                    log_theta[i] = g * th; // d/d log θ = θ d/dθ
                }
            }
            SaeKind::Gated { lambda } => {
                // the gate's L1 and its reconstruction through the frozen decoder
                let (e, g) = self.gate_aux(&yc, &z);
                loss += (e.iter().map(|v| v * v).sum::<f64>() + lambda * g.sum()) / b;
                let mut dg = Array2::zeros(z.dim());
                gemm_into(
                    dg.view_mut(),
                    2.0 / b,
                    self.w_dec.view(),
                    true,
                    e.view(),
                    false,
                    0.0,
                    par(),
                );
                Zip::from(&mut dg)
                    .and(&z)
                    .for_each(|d, &zv| *d = if zv > 0.0 { *d + lambda / b } else { 0.0 });
                gate_dz = Some(dg);
            }
        }
        let mut dz = &df * &mask;
        let fired: Vec<bool> = mask
            .rows()
            .into_iter()
            .map(|r| r.iter().any(|v| *v > 0.0))
            .collect();
        let mut w_dec = w_dec;
        if let Some(a) = aux.filter(|a| a.k >= 1 && a.dead.iter().any(|d| *d)) {
            // ê − r with r = Y − Ŷ (detached) of the full reconstruction: W_d F_aux + E
            let m_aux = aux_mask(&z, a);
            let f_aux = &z * &m_aux;
            let mut e = e_full;
            gemm_into(
                e.view_mut(),
                1.0,
                self.w_dec.view(),
                false,
                f_aux.view(),
                false,
                1.0,
                par(),
            );
            loss += a.coef * e.iter().map(|v| v * v).sum::<f64>() / b;
            let d_aux = e * (2.0 * a.coef / b);
            gemm_into(
                w_dec.view_mut(),
                1.0,
                d_aux.view(),
                false,
                f_aux.view(),
                true,
                1.0,
                par(),
            );
            let mut df_aux = Array2::zeros(f.dim());
            gemm_into(
                df_aux.view_mut(),
                1.0,
                self.w_dec.view(),
                true,
                d_aux.view(),
                false,
                0.0,
                par(),
            );
            dz += &(df_aux * &m_aux);
        }
        // ∂U for U = W_e (Y − b_d): the gate's ∂Z plus, for Gated, the magnitude path's e^r ⊙ ∂Z_mag
        let m = self.n_latents();
        let (mut r_mag, mut b_mag) = (Array1::zeros(m), Array1::zeros(m));
        let (du, b_enc) = match gate_dz {
            Some(dg) => {
                // dz is ∂Z_mag here; U = Z − b_e
                let mut du = dg.clone();
                for i in 0..m {
                    let e = self.r_mag[i].exp();
                    let (mut acc_r, mut acc_b) = (0.0, 0.0);
                    for ((&d, &zv), o) in dz.row(i).iter().zip(z.row(i)).zip(du.row_mut(i)) {
                        acc_r += d * e * (zv - self.b_enc[i]);
                        acc_b += d;
                        *o += e * d;
                    }
                    r_mag[i] = acc_r;
                    b_mag[i] = acc_b;
                }
                let b_enc = dg.sum_axis(Axis(1));
                (du, b_enc)
            }
            None => {
                let b_enc = dz.sum_axis(Axis(1));
                (dz, b_enc)
            }
        };
        let mut w_enc = Array2::zeros(self.w_enc.dim());
        gemm_into(
            w_enc.view_mut(),
            1.0,
            du.view(),
            false,
            yc.view(),
            true,
            0.0,
            par(),
        );
        let b_dec = d_bias - self.w_enc.t().dot(&du.sum_axis(Axis(1)));
        Ok((
            loss,
            SaeGrads {
                w_enc,
                b_enc,
                w_dec,
                b_dec,
                r_mag,
                b_mag,
                log_theta,
                min_selected,
                fired,
            },
        ))
    }
    /// All parameters as one vector (W_e, b_e, r, b_mag, W_d, b_d, log θ), e.g. for finite
    /// differences.
    pub fn to_flat(&self) -> Vec<f64> {
        flatten(
            &self.w_enc,
            &self.b_enc,
            &self.r_mag,
            &self.b_mag,
            &self.w_dec,
            &self.b_dec,
            &self.log_theta,
        )
    }
    /// Set all parameters from a vector laid out as [`Sae::to_flat`].
    ///
    /// # Errors
    /// A vector of the wrong length.
    pub fn set_flat(&mut self, v: &[f64]) -> Result<()> {
        let want = self.w_enc.len()
            + self.b_enc.len()
            + self.r_mag.len()
            + self.b_mag.len()
            + self.w_dec.len()
            + self.b_dec.len()
            + self.log_theta.len();
        ensure!(
            v.len() == want,
            "flat parameters",
            v.len(),
            format!("{want} values")
        );
        let mut it = v.iter().copied();
        for x in self
            .w_enc
            .iter_mut()
            .chain(self.b_enc.iter_mut())
            .chain(self.r_mag.iter_mut())
            .chain(self.b_mag.iter_mut())
            .chain(self.w_dec.iter_mut())
            .chain(self.b_dec.iter_mut())
            .chain(self.log_theta.iter_mut())
        {
            *x = it.next().unwrap_or(0.0);
        }
        Ok(())
    }
}

/// W_e, b_e, r, b_mag, W_d, b_d, log θ in one vector (the layout of [`Sae::to_flat`]).
#[allow(clippy::too_many_arguments)]
fn flatten(
    w_enc: &Array2<f64>,
    b_enc: &Array1<f64>,
    r_mag: &Array1<f64>,
    b_mag: &Array1<f64>,
    w_dec: &Array2<f64>,
    b_dec: &Array1<f64>,
    log_theta: &Array1<f64>,
) -> Vec<f64> {
    w_enc
        .iter()
        .chain(b_enc)
        .chain(r_mag)
        .chain(b_mag)
        .chain(w_dec)
        .chain(b_dec)
        .chain(log_theta)
        .copied()
        .collect()
}

impl SaeGrads {
    /// The gradient as one vector, laid out as [`Sae::to_flat`].
    pub fn to_flat(&self) -> Vec<f64> {
        flatten(
            &self.w_enc,
            &self.b_enc,
            &self.r_mag,
            &self.b_mag,
            &self.w_dec,
            &self.b_dec,
            &self.log_theta,
        )
    }
}

/// Latents never active on `y` (n × N).
///
/// # Errors
/// Signals of the wrong dimension.
pub fn dead_latents(sae: &Sae, y: ArrayView2<'_, f64>) -> Result<usize> {
    let f = sae.encode(y)?;
    Ok(f.rows()
        .into_iter()
        .filter(|r| r.iter().all(|v| *v == 0.0))
        .count())
}

/// A sparse autoencoder measured against a planted dictionary and codes (docs/protocols.md §15's metrics
/// under this crate's names).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SaeEval {
    /// Hungarian-matched mean |cos| between decoder columns and true atoms ("MCC" there).
    pub recovery_score: f64,
    /// Mean over true atoms of the best |cos| over decoder columns, unmatched ("MMCS").
    pub mmcs: f64,
    /// recovery_rate@0.99.
    pub recovery_rate: f64,
    /// Mean active latents per signal.
    pub l0: f64,
    /// Mean non-zeros per true code.
    pub true_l0: f64,
    /// Fraction of variance unexplained.
    pub fvu: f64,
    /// Mean ‖ŷ‖/‖y‖.
    pub shrinkage: f64,
    /// Latents never active on the evaluation signals.
    pub dead_latents: usize,
    /// Mean over true atoms of the precision of their matched latent's firing vs the atom's support.
    pub latent_precision: f64,
    /// Same, recall.
    pub latent_recall: f64,
    /// Same, F1.
    pub latent_f1: f64,
}

/// Evaluate `sae` on signals `y` (n × N) generated by `truth` (n × m) with codes `x_true` (m × N).
///
/// # Errors
/// Shapes that do not conform; non-finite input.
pub fn evaluate(
    sae: &Sae,
    truth: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    x_true: ArrayView2<'_, f64>,
) -> Result<SaeEval> {
    sae.check_signals(y)?;
    if x_true.dim() != (truth.ncols(), y.ncols()) {
        return Err(Error::shape(
            "true codes (m × N)",
            (truth.ncols(), y.ncols()),
            x_true.dim(),
        ));
    }
    let rc = crate::metrics::dictionary_recovery(truth, sae.w_dec.view())?;
    let (_, _, f, _) = sae.forward(y);
    let mut y_hat = Array2::zeros(y.dim());
    y_hat += &sae.b_dec.view().insert_axis(Axis(1));
    gemm_into(
        y_hat.view_mut(),
        1.0,
        sae.w_dec.view(),
        false,
        f.view(),
        false,
        1.0,
        par(),
    );
    let nn = y.ncols() as f64;
    let (mut p, mut r, mut f1) = (0.0, 0.0, 0.0);
    for (i, j) in rc.matching_index.iter().enumerate() {
        let Some(j) = *j else { continue };
        let (mut tp, mut fp, mut fneg) = (0.0, 0.0, 0.0);
        for (&xv, &fv) in x_true.row(i).iter().zip(f.row(j)) {
            match (xv != 0.0, fv != 0.0) {
                (true, true) => tp += 1.0,
                (false, true) => fp += 1.0,
                (true, false) => fneg += 1.0,
                _ => {}
            }
        }
        let pi = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        let ri = if tp + fneg > 0.0 {
            tp / (tp + fneg)
        } else {
            0.0
        };
        p += pi;
        r += ri;
        f1 += if pi + ri > 0.0 {
            2.0 * pi * ri / (pi + ri)
        } else {
            0.0
        };
    }
    let mm = truth.ncols().max(1) as f64; // unmatched atoms count as 0
    Ok(SaeEval {
        recovery_score: rc.recovery_score(),
        mmcs: rc.mmcs(),
        recovery_rate: rc.recovery_rate(0.99),
        l0: f.iter().filter(|v| **v != 0.0).count() as f64 / nn,
        true_l0: x_true.iter().filter(|v| **v != 0.0).count() as f64 / nn,
        fvu: crate::metrics::fvu(y, y_hat.view())?,
        shrinkage: crate::metrics::shrinkage(y, y_hat.view())?,
        dead_latents: f
            .rows()
            .into_iter()
            .filter(|row| row.iter().all(|v| *v == 0.0))
            .count(),
        latent_precision: p / mm,
        latent_recall: r / mm,
        latent_f1: f1 / mm,
    })
}

/// Scores of a hierarchy's parents (docs/protocols.md §15, "absorption"): on samples where a
/// parent feature fires, does its matched latent fire too — alone and when one of its children
/// fires — and when it stays silent while an active child's latent fires, the child's latent has
/// *absorbed* the parent (Chanin et al. 2024, "A is for absorption"; the counting is ours).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HierarchyEval {
    /// Parents (features with children) that fired with no child firing, counted per sample.
    pub alone: u64,
    /// Of those, the samples where the parent's matched latent fired.
    pub alone_fired: u64,
    /// Samples where a parent fired together with at least one of its children (per parent).
    pub with_child: u64,
    /// Of those, the samples where the parent's matched latent fired.
    pub with_child_fired: u64,
    /// Of those, the samples where the parent's latent stayed silent while the matched latent of
    /// an active child fired.
    pub absorbed: u64,
}

impl HierarchyEval {
    /// P(parent latent fires | parent fires, no child fires) (NaN without such samples).
    pub fn recall_alone(&self) -> f64 {
        self.alone_fired as f64 / self.alone as f64
    }
    /// P(parent latent fires | parent and a child fire).
    pub fn recall_with_child(&self) -> f64 {
        self.with_child_fired as f64 / self.with_child as f64
    }
    /// P(parent latent silent, an active child's latent fires | parent and a child fire).
    pub fn absorption(&self) -> f64 {
        self.absorbed as f64 / self.with_child as f64
    }
}

/// [`evaluate`] on `batches` minibatches of `batch` samples streamed from `model`, starting at
/// batch index `first` (take indices the training did not use: training draws 0, 1, …, steps),
/// accumulated batch by batch so memory does not grow with the samples; plus the hierarchy's
/// [`HierarchyEval`] when the model has one. The fraction of variance unexplained uses the
/// evaluation samples' own mean.
///
/// # Errors
/// A model of another dimension than the SAE; zero batches or a batch of zero samples; constant
/// signals (no variance to explain).
pub fn evaluate_stream(
    sae: &Sae,
    model: &crate::generate::stream::SynthModel,
    first: u64,
    batches: usize,
    batch: usize,
) -> Result<(SaeEval, Option<HierarchyEval>)> {
    let encode =
        |y: ArrayView2<'_, f64>| -> Result<Array2<f64>> { Ok(sae.forward_mode(y, false).2) };
    evaluate_stream_with(
        sae.w_dec.view(),
        Some(sae.b_dec.view()),
        &encode,
        model,
        first,
        batches,
        batch,
    )
}

/// First batch index of the evaluation stream: far past any training run's batches (training
/// draws batches 0, 1, …, steps).
pub const EVAL_FIRST_BATCH: u64 = 1 << 40;

/// [`evaluate_stream_with`] for a classical learner: dictionary `dict` (n × m') with `coder` as its
/// encoder and no bias.
///
/// # Errors
/// As [`evaluate_stream_with`].
pub fn evaluate_stream_coder(
    dict: ArrayView2<'_, f64>,
    coder: &dyn crate::code::SparseCoder,
    model: &crate::generate::stream::SynthModel,
    first: u64,
    batches: usize,
    batch: usize,
) -> Result<(SaeEval, Option<HierarchyEval>)> {
    let encode =
        |y: ArrayView2<'_, f64>| -> Result<Array2<f64>> { Ok(coder.encode(dict, y)?.codes) };
    evaluate_stream_with(dict, None, &encode, model, first, batches, batch)
}

/// [`evaluate_stream`] for any dictionary `decoder` (n × m') with its encoder `encode` (signals
/// n × B → codes m' × B) and reconstruction ŷ = decoder · codes (+ `bias`): a classical learner's
/// dictionary with its sparse coder is measured exactly as an SAE.
///
/// # Errors
/// As [`evaluate_stream`]; an encoder error or codes of the wrong shape.
pub fn evaluate_stream_with(
    decoder: ArrayView2<'_, f64>,
    bias: Option<ndarray::ArrayView1<'_, f64>>,
    encode: &dyn Fn(ArrayView2<'_, f64>) -> Result<Array2<f64>>,
    model: &crate::generate::stream::SynthModel,
    first: u64,
    batches: usize,
    batch: usize,
) -> Result<(SaeEval, Option<HierarchyEval>)> {
    ensure!(batches >= 1, "eval_batches", batches, "at least one batch");
    let n = decoder.nrows();
    ensure!(
        model.spec.dim == n,
        "model",
        model.spec.dim,
        format!("a planted model of the dictionary's dimension {n}")
    );
    let truth = model.dictionary();
    let rc = crate::metrics::dictionary_recovery(truth, decoder)?;
    let (m, mp) = (truth.ncols(), decoder.ncols());
    let pi = &rc.matching_index;
    let has_children = {
        let mut h = vec![false; m];
        for p in model.parent.iter().flatten() {
            h[*p as usize] = true;
        }
        h
    };
    let (mut both, mut fires_true) = (vec![0u64; m], vec![0u64; m]);
    let mut fires_latent = vec![0u64; mp];
    let (mut res2, mut y2, mut ysum) = (0.0, 0.0, Array1::<f64>::zeros(n));
    let (mut shrink, mut shrink_n) = (0.0, 0usize);
    let (mut active, mut true_active, mut samples) = (0u64, 0u64, 0usize);
    let mut h = HierarchyEval {
        alone: 0,
        alone_fired: 0,
        with_child: 0,
        with_child_fired: 0,
        absorbed: 0,
    };
    let mut child_of: Vec<Vec<u32>> = vec![Vec::new(); m];
    for t in 0..batches {
        let bt = model.batch(first + t as u64, batch)?;
        let f = encode(bt.y.view())?;
        if f.dim() != (mp, bt.y.ncols()) {
            return Err(Error::shape("codes (m' × B)", (mp, bt.y.ncols()), f.dim()));
        }
        let mut y_hat = Array2::zeros(bt.y.dim());
        if let Some(b) = bias {
            y_hat += &b.insert_axis(Axis(1));
        }
        gemm_into(
            y_hat.view_mut(),
            1.0,
            decoder,
            false,
            f.view(),
            false,
            1.0,
            par(),
        );
        for (yc, hc) in bt.y.columns().into_iter().zip(y_hat.columns()) {
            let ny = yc.dot(&yc);
            res2 += yc
                .iter()
                .zip(hc)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>();
            y2 += ny;
            ysum += &yc;
            if ny > 0.0 {
                shrink += (hc.dot(&hc) / ny).sqrt();
                shrink_n += 1;
            }
        }
        for (j, row) in f.rows().into_iter().enumerate() {
            let c = row.iter().filter(|v| **v != 0.0).count() as u64;
            fires_latent[j] += c;
            active += c;
        }
        let fires = |i: usize, b: usize| pi[i].is_some_and(|j| f[(j, b)] != 0.0);
        for b in 0..bt.codes.samples() {
            let (idx, _) = bt.codes.column(b);
            true_active += idx.len() as u64;
            for &i in idx {
                let i = i as usize;
                fires_true[i] += 1;
                if fires(i, b) {
                    both[i] += 1;
                }
                if let Some(p) = model.parent[i] {
                    child_of[p as usize].push(i as u32);
                }
            }
            for &p in idx {
                let p = p as usize;
                if !has_children[p] {
                    continue;
                }
                let kids = std::mem::take(&mut child_of[p]);
                let fired = fires(p, b);
                if kids.is_empty() {
                    h.alone += 1;
                    h.alone_fired += fired as u64;
                } else {
                    h.with_child += 1;
                    h.with_child_fired += fired as u64;
                    if !fired && kids.iter().any(|&c| fires(c as usize, b)) {
                        h.absorbed += 1;
                    }
                }
                child_of[p] = kids;
                child_of[p].clear();
            }
            // children whose parent did not fire (not drawn by the model; cleared all the same)
            for &i in idx {
                if let Some(p) = model.parent[i as usize] {
                    child_of[p as usize].clear();
                }
            }
        }
        samples += bt.codes.samples();
    }
    let nn = samples as f64;
    let var = y2 - ysum.dot(&ysum) / nn;
    ensure!(
        var > 0.0,
        "signals",
        "constant signals",
        "signals with non-zero variance"
    );
    let (mut p, mut r, mut f1) = (0.0, 0.0, 0.0);
    for (i, j) in pi.iter().enumerate() {
        let Some(j) = *j else { continue };
        let tp = both[i] as f64;
        let pi_ = if fires_latent[j] > 0 {
            tp / fires_latent[j] as f64
        } else {
            0.0
        };
        let ri = if fires_true[i] > 0 {
            tp / fires_true[i] as f64
        } else {
            0.0
        };
        p += pi_;
        r += ri;
        f1 += if pi_ + ri > 0.0 {
            2.0 * pi_ * ri / (pi_ + ri)
        } else {
            0.0
        };
    }
    let mm = m.max(1) as f64;
    let eval = SaeEval {
        recovery_score: rc.recovery_score(),
        mmcs: rc.mmcs(),
        recovery_rate: rc.recovery_rate(0.99),
        l0: active as f64 / nn,
        true_l0: true_active as f64 / nn,
        fvu: res2 / var,
        shrinkage: if shrink_n > 0 {
            shrink / shrink_n as f64
        } else {
            f64::NAN
        },
        dead_latents: fires_latent.iter().filter(|c| **c == 0).count(),
        latent_precision: p / mm,
        latent_recall: r / mm,
        latent_f1: f1 / mm,
    };
    Ok((eval, model.spec.hierarchy.map(|_| h)))
}

/// Default bandwidth of the JumpReLU straight-through estimator (the registry's `sae`).
pub const BANDWIDTH: f64 = 0.05;

/// The parameters from which the registry's `sae` builds its [`SaeKind`].
pub const KIND_PARAMS: [Param; 7] = [
    Param::new(
        "kind",
        Ty::Choice(&[
            "topk",
            "relu_l1",
            "jumprelu",
            "batchtopk",
            "matryoshka",
            "gated",
        ]),
        Dflt::Str("topk"),
        "model",
    ),
    Param::new(
        "k",
        Ty::Count,
        Dflt::Auto("instance k"),
        "active latents (topk)",
    ),
    Param::new(
        "sparsity",
        Ty::Count,
        Dflt::Auto("instance k"),
        "the data's k (default of k)",
    ),
    Param::new(
        "lambda",
        Ty::Positive,
        Dflt::Auto("required for relu_l1, gated, jumprelu (or lambda_scale)"),
        "L1 / L0 weight",
    ),
    crate::spec::LAMBDA_SCALE,
    Param::new(
        "bandwidth",
        Ty::Positive,
        Dflt::Float(BANDWIDTH),
        "JumpReLU straight-through bandwidth",
    ),
    Param::new(
        "levels",
        Ty::Count,
        Dflt::Int(3),
        "matryoshka: nested prefixes m/2^(levels−1), …, m/2, m",
    ),
];

/// The [`SaeKind`] that validated parameters describe (the `kind`, `k`/`sparsity`, `lambda` or
/// `lambda_scale`, `bandwidth` of the registry's `sae`).
///
/// # Errors
/// λ with TopK; no λ for the ReLU + L1 or JumpReLU SAE; no k known for TopK.
pub fn kind_from_params(p: &Params<'_>, ctx: &Context<'_>) -> Result<SaeKind> {
    let kind_name = p.choice("kind")?;
    let given = p.is_given("lambda") || p.is_given("lambda_scale");
    let need_lambda = || {
        p.lambda(ctx)?.ok_or_else(|| {
            p.conflict(
                format!("lambda unset with kind = {kind_name}"),
                "a value for `lambda` (the L1 / L0 weight), e.g. lambda = 0.1, or `lambda_scale` for the k-matched rule",
            )
        })
    };
    Ok(match kind_name.as_str() {
        "topk" | "batchtopk" | "matryoshka" if given => {
            return Err(p.conflict(
                format!("lambda with kind = {kind_name}"),
                format!("no `lambda` or `lambda_scale` with kind = \"{kind_name}\" (it has no penalty; set `k`)"),
            ));
        }
        "topk" | "batchtopk" | "matryoshka" => {
            let k = match p.usize_opt("k") {
                Some(k) => k,
                None => p.sparsity(ctx)?,
            };
            match kind_name.as_str() {
                "topk" => SaeKind::TopK { k },
                "batchtopk" => SaeKind::BatchTopK { k },
                _ => SaeKind::Matryoshka {
                    k,
                    levels: p.usize("levels")?,
                },
            }
        }
        "relu_l1" => SaeKind::ReluL1 {
            lambda: need_lambda()?,
        },
        "gated" => SaeKind::Gated {
            lambda: need_lambda()?,
        },
        _ => SaeKind::JumpRelu {
            lambda: need_lambda()?,
            bandwidth: p.f64("bandwidth")?,
        },
    })
}

crate::declare_method! {
    /// Minibatch Adam training of a sparse autoencoder. `new(kind, n_latents)` gives the defaults
    /// of the registry's `sae` (which builds through `from_params`), so a library user and a plan
    /// user get the same model.
    #[derive(Clone, Debug, PartialEq)]
    pub struct SaeTrainer {
        given {}
        derived {
            /// the model: TopK (k), BatchTopK (k), Matryoshka (k, levels), ReLU + L1 (λ), Gated (λ) or JumpReLU (λ, bandwidth)
            kind: SaeKind = [
                KIND_PARAMS[0],
                KIND_PARAMS[1],
                KIND_PARAMS[2],
                KIND_PARAMS[3],
                KIND_PARAMS[4],
                KIND_PARAMS[5],
                KIND_PARAMS[6]
            ] => |p, ctx| kind_from_params(p, ctx)?;
            /// latents m (the instance's number of atoms)
            n_latents: usize = [] => |_p, ctx| ctx.n_atoms;
        }
        params {
            /// Adam steps
            steps: usize = param(Count, 3000);
            /// signals per minibatch
            batch: usize = param(Count, 256);
            /// Adam step size
            lr: f64 = param(Positive, 1e-3);
            /// initial JumpReLU threshold
            theta0: f64 = param(Positive, 0.5);
            /// dead latents per sample in the auxiliary loss (Gao et al.'s AuxK; none: no auxiliary loss)
            aux_k: Option<usize> = auto(Count, "none (no auxiliary loss)");
            /// weight of the auxiliary loss
            aux_coef: f64 = param(NonNegative, 1.0 / 32.0);
            /// a latent is dead after this many steps without firing
            dead_steps: usize = param(Count, 100);
            /// resample dead latents every this many steps (Bricken et al. 2023; none: never)
            resample_every: Option<usize> = auto(Count, "none (no resampling)");
            /// a resampled latent's encoder norm, as a multiple of the live latents' mean (Bricken et al.: 0.2)
            resample_scale: f64 = param(Positive, 0.2);
            /// learning-rate warm-up: linear from lr/warmup to lr over the first steps (0: none)
            warmup: usize = param(Natural, 0);
            /// learning-rate decay: linear down to lr/decay over the last steps (0: none)
            decay: usize = param(Natural, 0);
            /// the steps' floating-point type (f32: single-precision kernels, as PyTorch trains; the model stays f64 outside them)
            precision: Precision = choice(["f64", "f32"], "f64");
        }
    }
}

impl SaeTrainer {
    /// Train on the columns of `y` (n × N) from a model initialized with `seed`.
    ///
    /// # Errors
    /// Invalid parameters, non-finite signals. Divergence is a termination.
    pub fn train(
        &self,
        y: ArrayView2<'_, f64>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<SaeState>,
    ) -> Result<(SaeState, SolveInfo)> {
        self.check_inputs(y)?;
        let mut rng = rng_from_seed(seed);
        let mut sae = Sae::init(y.nrows(), self.n_latents, self.kind, self.theta0, &mut rng)?;
        sae.center_decoder_bias(y);
        self.run(sae, y, rng, schedule, obs)
    }

    /// Train the given model `sae` (e.g. a decoder set to a chosen initial dictionary) on the
    /// columns of `y`; `seed` drives the minibatch order.
    ///
    /// # Errors
    /// Invalid parameters, a model whose shape does not fit `y` or this trainer's latents,
    /// non-finite signals. Divergence is a termination.
    pub fn train_from(
        &self,
        sae: Sae,
        y: ArrayView2<'_, f64>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<SaeState>,
    ) -> Result<(SaeState, SolveInfo)> {
        self.check_inputs(y)?;
        let rng = rng_from_seed(crate::rng::derive_seed(seed, "minibatches"));
        self.run(sae, y, rng, schedule, obs)
    }

    /// Train on minibatches streamed from a planted model ([`crate::generate::stream`]): step t
    /// draws batch t (of `batch` samples) from `model`, so no data set is held and memory does not
    /// grow with the samples seen; the decoder bias starts at batch 0's mean. The model is
    /// initialized with `seed`.
    ///
    /// # Errors
    /// Invalid parameters, a trainer whose latents are fewer than the TopK k.
    pub fn train_stream(
        &self,
        model: &crate::generate::stream::SynthModel,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<SaeState>,
    ) -> Result<(SaeState, SolveInfo)> {
        self.check_params()?;
        super::optim::check_minibatch(self.batch, self.lr)?;
        let first = model.batch(0, self.batch)?;
        let mut rng = rng_from_seed(seed);
        let mut sae = Sae::init(
            model.spec.dim,
            self.n_latents,
            self.kind,
            self.theta0,
            &mut rng,
        )?;
        sae.center_decoder_bias(first.y.view());
        self.run_on(
            sae,
            Source::Stream { model, next: 1 },
            first.y.view(),
            rng,
            schedule,
            obs,
        )
    }

    /// The checks both entry points make before building or touching a model.
    fn check_inputs(&self, y: ArrayView2<'_, f64>) -> Result<()> {
        self.check_params()?;
        super::optim::check_minibatch(self.batch, self.lr)?;
        crate::error::check_finite("signals", y)?;
        ensure!(y.ncols() >= 1, "n_samples", 0, "at least one signal");
        Ok(())
    }

    fn run(
        &self,
        sae: Sae,
        y: ArrayView2<'_, f64>,
        rng: Rng64,
        schedule: Schedule,
        obs: &mut dyn Observer<SaeState>,
    ) -> Result<(SaeState, SolveInfo)> {
        sae.check_signals(y)?;
        let first = y.slice(ndarray::s![.., ..self.batch.min(y.ncols())]);
        self.run_on(sae, Source::Fixed(y.to_owned()), first, rng, schedule, obs)
    }

    /// Both sources' training loop: the model's checks, the start loss on `first` (a first
    /// minibatch), then `steps` Adam steps on the minibatches of `source`.
    fn run_on(
        &self,
        sae: Sae,
        source: Source<'_>,
        first: ArrayView2<'_, f64>,
        rng: Rng64,
        schedule: Schedule,
        obs: &mut dyn Observer<SaeState>,
    ) -> Result<(SaeState, SolveInfo)> {
        self.kind.check(sae.n_latents())?;
        if let (Some(_), SaeKind::Gated { .. }) = (self.aux_k, self.kind) {
            return Err(Error::invalid(
                "aux_k",
                "set with kind = gated",
                "no aux_k with the Gated SAE (it has its own auxiliary loss)",
            ));
        }
        ensure!(
            sae.n_latents() == self.n_latents,
            "n_latents",
            sae.n_latents(),
            format!("a model with the trainer's {} latents", self.n_latents)
        );
        let mut sae = sae;
        super::sae_kernel::prepare_decoder(&mut sae);
        let state = SaeState {
            loss: sae.loss(first)?,
            rng,
            since_fired: vec![0; sae.n_latents()],
            resampled: 0,
            sae,
            adam: Adam::new(self.lr),
        };
        let mut alg = SaeIter {
            source,
            batch: self.batch,
            aux: self.aux_k.map(|k| (k, self.aux_coef)),
            dead_steps: self.dead_steps,
            work: Default::default(),
            lr: LrSchedule {
                lr: self.lr,
                steps: self.steps,
                warmup: self.warmup,
                decay: self.decay,
            },
            step: 0,
            resample_every: self.resample_every,
            resample_scale: self.resample_scale,
            resampled: 0,
            single: match self.precision {
                Precision::F64 => None,
                Precision::F32 => Some(Single::from_model(&state.sae)),
            },
            observe: schedule,
        };
        iter::run(&mut alg, state, &Stop::iters(self.steps), schedule, obs)
    }
}

/// Training state.
#[derive(Clone, Debug)]
pub struct SaeState {
    /// The model.
    pub sae: Sae,
    /// The optimizer.
    pub adam: Adam,
    /// Loss on the last minibatch.
    pub loss: f64,
    /// Minibatch sampler.
    pub rng: Rng64,
    /// Steps since each latent last fired (the dead-latent clock).
    pub since_fired: Vec<usize>,
    /// Dead latents resampled so far (`resample_every`).
    pub resampled: usize,
}

/// Where the minibatches come from.
enum Source<'a> {
    /// Columns drawn uniformly from a fixed signal matrix.
    Fixed(Array2<f64>),
    /// The next batch of a streamed planted model.
    Stream {
        model: &'a crate::generate::stream::SynthModel,
        next: u64,
    },
}

struct SaeIter<'a> {
    source: Source<'a>,
    batch: usize,
    /// (k_aux, coefficient) of the auxiliary loss.
    aux: Option<(usize, f64)>,
    dead_steps: usize,
    /// The training kernel's buffers.
    work: super::sae_kernel::SaeWork,
    lr: LrSchedule,
    /// Steps taken.
    step: usize,
    resample_every: Option<usize>,
    resample_scale: f64,
    /// Latents resampled so far.
    resampled: usize,
    /// The `f32` path's model, optimizer and buffers (`precision = f32`).
    single: Option<Single>,
    /// The observer's schedule (the `f32` path widens its model to the state's on these steps).
    observe: Schedule,
}

/// The `f32` training path: the steps run on this copy of the model; after each step the state's
/// `f64` model is set from it (2mn conversions, against the step's 2mnB flops).
struct Single {
    sae: Sae<f32>,
    adam: Adam<f32>,
    work: super::sae_kernel::SaeWork<f32>,
}

impl Single {
    fn from_model(sae: &Sae) -> Self {
        let mut s = Single {
            sae: sae.to_precision(),
            adam: Adam::new(0.0),
            work: Default::default(),
        };
        super::sae_kernel::prepare_decoder(&mut s.sae);
        s
    }
}

/// Set `dst` (f64) from `src` (f32), parameter by parameter.
fn widen_into(dst: &mut Sae, src: &Sae<f32>) {
    fn w2(d: &mut Array2<f64>, s: &Array2<f32>) {
        ndarray::Zip::from(d)
            .and(s)
            .par_for_each(|d, s| *d = f64::from(*s));
    }
    fn w1(d: &mut Array1<f64>, s: &Array1<f32>) {
        d.zip_mut_with(s, |d, s| *d = f64::from(*s));
    }
    w2(&mut dst.w_enc, &src.w_enc);
    w1(&mut dst.b_enc, &src.b_enc);
    w2(&mut dst.w_dec, &src.w_dec);
    w1(&mut dst.b_dec, &src.b_dec);
    w1(&mut dst.r_mag, &src.r_mag);
    w1(&mut dst.b_mag, &src.b_mag);
    w1(&mut dst.log_theta, &src.log_theta);
    dst.batch_threshold = src.batch_threshold;
}

/// One Adam update of every parameter tensor of `sae` from `g`, followed by BatchTopK's threshold
/// and the decoder's unit norms: the part of a training step after the gradients, in either type.
/// The moments are laid out as W_e, b_e, W_d, b_d, r, b_mag, log θ in memory order
/// ([`moment_offsets`]).
fn apply_step<T: Real>(sae: &mut Sae<T>, g: &SaeGrads<T>, adam: &mut Adam<T>) -> Result<()> {
    let layout = || Error::invalid("parameter layout", "strided", "contiguous parameters");
    // Adam pairs parameters and gradients in memory order: the layouts must agree
    ensure!(
        sae.w_enc.strides() == g.w_enc.strides() && sae.w_dec.strides() == g.w_dec.strides(),
        "parameter layout",
        format!("{:?} / {:?}", sae.w_enc.strides(), sae.w_dec.strides()),
        "a row-major encoder and a column-major decoder (sae_kernel::prepare_decoder)"
    );
    let mut parts = [
        (
            sae.w_enc.as_slice_memory_order_mut().ok_or_else(layout)?,
            g.w_enc.as_slice_memory_order().ok_or_else(layout)?,
        ),
        (
            sae.b_enc.as_slice_memory_order_mut().ok_or_else(layout)?,
            g.b_enc.as_slice_memory_order().ok_or_else(layout)?,
        ),
        (
            sae.w_dec.as_slice_memory_order_mut().ok_or_else(layout)?,
            g.w_dec.as_slice_memory_order().ok_or_else(layout)?,
        ),
        (
            sae.b_dec.as_slice_memory_order_mut().ok_or_else(layout)?,
            g.b_dec.as_slice_memory_order().ok_or_else(layout)?,
        ),
        (
            sae.r_mag.as_slice_memory_order_mut().ok_or_else(layout)?,
            g.r_mag.as_slice_memory_order().ok_or_else(layout)?,
        ),
        (
            sae.b_mag.as_slice_memory_order_mut().ok_or_else(layout)?,
            g.b_mag.as_slice_memory_order().ok_or_else(layout)?,
        ),
        (
            sae.log_theta
                .as_slice_memory_order_mut()
                .ok_or_else(layout)?,
            g.log_theta.as_slice_memory_order().ok_or_else(layout)?,
        ),
    ];
    adam.step_parts(&mut parts);
    sae.update_batch_threshold(g.min_selected);
    sae.normalize_decoder();
    Ok(())
}

/// Reset Adam's moments of the resampled latents `moved` (their encoder row, encoder bias and
/// decoder column), in the layout of [`apply_step`] for an m × n encoder.
fn reset_latent_moments<T: Real>(adam: &mut Adam<T>, moved: &[usize], m: usize, n: usize) {
    let w_dec_at = m * n + m; // after W_e and b_e
    for &i in moved {
        adam.reset_moments(i * n, n);
        adam.reset_moments(m * n + i, 1);
        adam.reset_moments(w_dec_at + i * n, n);
    }
}

/// The learning rate of step t = 1 … steps: `lr` times a linear warm-up factor min(1, t / warmup)
/// and a linear decay factor min(1, (steps − t + 1) / decay) (SAELens's `lr_warm_up_steps` and
/// `lr_decay_steps` with a linear schedule; 0 turns either off).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule {
    /// Base rate.
    pub lr: f64,
    /// Steps of the run.
    pub steps: usize,
    /// Warm-up steps.
    pub warmup: usize,
    /// Decay steps.
    pub decay: usize,
}

impl LrSchedule {
    /// The rate of step `t` (1-based).
    pub fn at(&self, t: usize) -> f64 {
        let up = if self.warmup > 0 {
            (t as f64 / self.warmup as f64).min(1.0)
        } else {
            1.0
        };
        let down = if self.decay > 0 {
            ((self.steps.saturating_sub(t) + 1) as f64 / self.decay as f64).min(1.0)
        } else {
            1.0
        };
        self.lr * up * down
    }
}

impl Iterative for SaeIter<'_> {
    type State = SaeState;
    fn step(&mut self, s: &mut SaeState) -> Result<()> {
        let yb = match &mut self.source {
            Source::Fixed(y) => super::optim::sample_columns(y.view(), self.batch, &mut s.rng),
            Source::Stream { model, next } => {
                let b = model.batch(*next, self.batch)?;
                *next += 1;
                b.y
            }
        };
        let dead: Vec<bool> = s
            .since_fired
            .iter()
            .map(|t| *t >= self.dead_steps)
            .collect();
        let aux = self.aux.map(|(k, coef)| AuxK {
            dead: &dead,
            k,
            coef,
        });
        let (loss, fired) = match &mut self.single {
            None => {
                let loss =
                    super::sae_kernel::loss_grad_into(&s.sae, yb.view(), aux, &mut self.work)?;
                (loss, &self.work.grads()?.fired)
            }
            Some(one) => {
                let y32 = yb.mapv(|v| v as f32);
                let loss =
                    super::sae_kernel::loss_grad_into(&one.sae, y32.view(), aux, &mut one.work)?;
                (loss, &one.work.grads()?.fired)
            }
        };
        for (t, f) in s.since_fired.iter_mut().zip(fired) {
            *t = if *f { 0 } else { *t + 1 };
        }
        self.step += 1;
        let lr = self.lr.at(self.step);
        // not in the last dead_steps steps: a resampled latent needs that long to be judged
        let resample = self
            .resample_every
            .is_some_and(|r| self.step.is_multiple_of(r))
            && self.step + self.dead_steps <= self.lr.steps;
        match &mut self.single {
            None => {
                s.adam.lr = lr;
                apply_step(&mut s.sae, self.work.grads()?, &mut s.adam)?;
            }
            Some(one) => {
                one.adam.lr = lr;
                apply_step(&mut one.sae, one.work.grads()?, &mut one.adam)?;
                // the f64 model is set where anyone reads it: an observed step, the last, a
                // non-finite loss (the engine stops there) and before resampling
                if resample
                    || self.step >= self.lr.steps
                    || self.observe.hits(self.step)
                    || !loss.is_finite()
                {
                    widen_into(&mut s.sae, &one.sae);
                }
            }
        }
        if resample {
            let dead: Vec<usize> = (0..s.since_fired.len())
                .filter(|&i| s.since_fired[i] >= self.dead_steps)
                .collect();
            if !dead.is_empty() {
                let moved = s
                    .sae
                    .resample(&dead, yb.view(), self.resample_scale, &mut s.rng)?;
                let (m, n) = s.sae.w_enc.dim();
                match &mut self.single {
                    None => reset_latent_moments(&mut s.adam, &moved, m, n),
                    Some(one) => {
                        one.sae = s.sae.to_precision();
                        reset_latent_moments(&mut one.adam, &moved, m, n);
                    }
                }
                for &i in &moved {
                    s.since_fired[i] = 0;
                }
                self.resampled += moved.len();
                s.resampled = self.resampled;
            }
        }
        s.loss = loss;
        Ok(())
    }
    fn objective(&self, s: &SaeState) -> f64 {
        s.loss
    }
}
