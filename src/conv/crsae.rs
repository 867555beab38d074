//! CRsAE: the constrained recurrent sparse autoencoder (Tolooshams, Dey, Ba 2018/2020) — unrolled
//! FISTA for convolutional sparse coding, tied to the decoder's filters, trained by
//! backpropagation.
//!
//! **Network.** For a signal y (P × T) and filters D = (d_k) (K × P × L), with $Dz = \sum_k d_k * z_k$
//! and $D^\top r$ its adjoint (the boundary's, [`Boundary`]), the encoder runs T layers of FISTA on
//! $\tfrac12\|y - Dz\|^2 + \lambda\|z\|_1$ from $z_0 = w_0 = 0$, $s_0 = 1$:
//! $$r_t = y - D w_{t-1},\quad u_t = w_{t-1} + \alpha D^\top r_t,\quad z_t = \mathcal S_{\alpha\lambda}(u_t),$$
//! $$s_t = \tfrac12\big(1 + \sqrt{1 + 4 s_{t-1}^2}\big),\quad w_t = z_t + \tfrac{s_{t-1} - 1}{s_t}(z_t - z_{t-1}),$$
//! ($\mathcal S$ the soft threshold, or $\max(u - \alpha\lambda, 0)$ for non-negative codes) and the decoder
//! returns $\hat y = D z_T$. Training minimizes the reconstruction loss
//! $$\mathcal L(D) = \frac{1}{2B}\sum_{i \in \text{batch}} \|y_i - D\,z_T(y_i; D)\|_F^2$$
//! over minibatches of B signals by Adam, each filter renormalized to unit Frobenius norm after each
//! step (as PUDLE's networks do; ours for CRsAE, whose code we have not checked on this point).
//!
//! **Gradients** (hand-written reverse pass, checked by finite differences in the tests):
//! `gradient = "full"` backpropagates through all T layers (CRsAE's training); `"dec"` treats
//! $z_T$ as constant, $\nabla_D = (Dz_T - y) \star z_T$ (alternating minimization's gradient, PUDLE's
//! $g_{dec}$). The step α = 1/L, L the largest squared singular value of D's DFT-domain operator
//! ([`super::ConvOp`]), is recomputed at each step and held constant in the reverse pass (ours).
//!
//! **λ** = reg · λ_max at the start filters on all signals, then fixed (ours; CRsAE's later
//! version learns λ by an EM step, not implemented).
//!
//! Convolutions are computed in the time domain, O(K·P·L) per activation: the filters of CRsAE's
//! experiments are short (L ≈ 20).
//!
//! ## References
//! * Tolooshams, Dey, Ba (2018), "Scalable convolutional dictionary learning with constrained
//!   recurrent sparse auto-encoders", IEEE MLSP; (2020) "Deep residual autoencoders for expectation
//!   maximization-inspired dictionary learning", IEEE TNNLS: the network and its training (section
//!   numbers not checked against the PDFs).
//! * Beck, Teboulle (2009), SIAM J. Imaging Sci. 2(1), eq. (4.1)–(4.3): FISTA.
//! * Tolooshams, Ba (2022), "Stable and interpretable unrolled dictionary learning", TMLR: the
//!   g_dec / full-backpropagation gradients (docs/protocols.md §3).

use super::cdl::{ConvInit, check_learner_input, lambda_max, start_atoms};
use super::problem::Boundary;
use super::{ConvLearnState, ConvLearned, ConvLearnerSpec, ConvOp};
use crate::error::{Result, ensure};
use crate::iter::{self, Iterative, Observer, Record, Schedule, Stop};
use crate::neural::optim::Adam;
use crate::rng::{Rng64, rng_from_seed};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};
use rand::Rng;

crate::declare_method! {
    /// CRsAE: unrolled convolutional FISTA tied to the decoder, trained by backpropagation (see the
    /// module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct Crsae {
        given {}
        params {
            /// λ = reg · λ_max at the start filters (then fixed)
            reg: f64 = param(Between(0.0, 1.0), 0.1);
            /// non-negative codes (the threshold is max(u − αλ, 0))
            nonneg: bool = param(Bool, false);
            /// FISTA layers T of the encoder
            layers: usize = param(Count, 20);
            /// Adam steps
            steps: usize = param(Count, 500);
            /// signals per minibatch
            batch: Option<usize> = auto(Count, "all signals");
            /// Adam's step size
            lr: f64 = param(Positive, 1e-2);
            /// backpropagation through every layer (full) or through the decoder only (dec)
            gradient: CrsaeGradient = choice(["full", "dec"], "full");
            /// start: random signal windows or Gaussian filters
            init: ConvInit = choice(["chunk", "gaussian"], "chunk");
        }
    }
}

impl Default for Crsae {
    fn default() -> Self {
        Self::new()
    }
}

/// Which gradient trains [`Crsae`]'s filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrsaeGradient {
    /// Through all layers.
    Full,
    /// Through the decoder only (z_T held constant).
    Dec,
}

impl crate::spec::Choice for CrsaeGradient {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "full" => Some(CrsaeGradient::Full),
            "dec" => Some(CrsaeGradient::Dec),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            CrsaeGradient::Full => "full",
            CrsaeGradient::Dec => "dec",
        }
    }
}

/// The registry entry of [`Crsae`].
pub const SPEC: ConvLearnerSpec = ConvLearnerSpec {
    name: "crsae",
    family: crate::spec::Family::Neural,
    summary: "CRsAE (Tolooshams, Dey, Ba 2018): T unrolled FISTA layers of convolutional sparse coding tied to the decoder filters, trained by backpropagation on the reconstruction loss with Adam",
    params: Crsae::PARAMS,
    budget: crate::spec::Budget::Steps {
        steps: "steps",
        batch: "batch",
    },
    build: |p, ctx| Ok(Box::new(Crsae::from_params(p, ctx)?)),
};

impl super::ConvLearner for Crsae {
    fn name(&self) -> String {
        format!(
            "crsae[layers={},reg={},gradient={}]",
            self.layers,
            self.reg,
            crate::spec::Choice::word(&self.gradient)
        )
    }
    fn learn_observed(
        &self,
        y: ArrayView3<'_, f64>,
        n_atoms: usize,
        atom_len: usize,
        boundary: Boundary,
        init_atoms: Option<ArrayView3<'_, f64>>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<ConvLearnState>,
    ) -> Result<ConvLearned> {
        Crsae::learn_observed(
            self, y, n_atoms, atom_len, boundary, init_atoms, seed, schedule, obs,
        )
    }
}

/// Time-domain convolutions of one signal with filters `d` (K × P × L), activations K × T_z.
struct Conv<'a> {
    d: ArrayView3<'a, f64>,
    t: usize,
    tz: usize,
    circular: bool,
}

impl Conv<'_> {
    /// The one or two contiguous index ranges of `row` covered by positions τ..τ + L (wrapping
    /// modulo T when circular): `(start, len)` pairs.
    fn spans(&self, tau: usize, l: usize) -> [(usize, usize); 2] {
        if self.circular && tau + l > self.t {
            let first = self.t - tau;
            [(tau, first), (0, l - first)]
        } else {
            [(tau, l), (0, 0)]
        }
    }
    /// D z (P × T).
    fn fwd(&self, z: ArrayView2<'_, f64>) -> Array2<f64> {
        let (k, p, l) = self.d.dim();
        let d = self.d.as_standard_layout();
        let d = d.as_slice().expect("standard layout");
        let z = z.as_standard_layout();
        let z = z.as_slice().expect("standard layout");
        let mut x = vec![0.0; p * self.t];
        for a in 0..k {
            for tau in 0..self.tz {
                let v = z[a * self.tz + tau];
                if v == 0.0 {
                    continue;
                }
                for c in 0..p {
                    let da = &d[(a * p + c) * l..(a * p + c + 1) * l];
                    let xc = &mut x[c * self.t..(c + 1) * self.t];
                    let mut s0 = 0;
                    for (start, len) in self.spans(tau, l) {
                        for (xv, dv) in xc[start..start + len].iter_mut().zip(&da[s0..s0 + len]) {
                            *xv += dv * v;
                        }
                        s0 += len;
                    }
                }
            }
        }
        Array2::from_shape_vec((p, self.t), x).expect("P × T values")
    }
    /// Dᵀ r (K × T_z).
    fn adj(&self, r: ArrayView2<'_, f64>) -> Array2<f64> {
        let (k, p, l) = self.d.dim();
        let d = self.d.as_standard_layout();
        let d = d.as_slice().expect("standard layout");
        let r = r.as_standard_layout();
        let r = r.as_slice().expect("standard layout");
        let mut g = vec![0.0; k * self.tz];
        for a in 0..k {
            for tau in 0..self.tz {
                let mut acc = 0.0;
                for c in 0..p {
                    let da = &d[(a * p + c) * l..(a * p + c + 1) * l];
                    let rc = &r[c * self.t..(c + 1) * self.t];
                    let mut s0 = 0;
                    for (start, len) in self.spans(tau, l) {
                        acc += rc[start..start + len]
                            .iter()
                            .zip(&da[s0..s0 + len])
                            .map(|(x, y)| x * y)
                            .sum::<f64>();
                        s0 += len;
                    }
                }
                g[a * self.tz + tau] = acc;
            }
        }
        Array2::from_shape_vec((k, self.tz), g).expect("K × T_z values")
    }
    /// Adds u ⋆ w to `gd`: gd[k, p, s] += Σ_τ u[p, τ + s] w[k, τ] (the filters' gradient of both
    /// D z, with u the upstream gradient and w = z, and of Dᵀ r, with u = r and w the upstream
    /// gradient).
    fn add_filter_grad(&self, u: ArrayView2<'_, f64>, w: ArrayView2<'_, f64>, scale: f64, gd: &mut Array3<f64>) {
        let (k, p, l) = self.d.dim();
        let u = u.as_standard_layout();
        let u = u.as_slice().expect("standard layout");
        let w = w.as_standard_layout();
        let w = w.as_slice().expect("standard layout");
        let g = gd.as_slice_mut().expect("the gradient is a standard-layout array");
        for a in 0..k {
            for tau in 0..self.tz {
                let v = w[a * self.tz + tau] * scale;
                if v == 0.0 {
                    continue;
                }
                for c in 0..p {
                    let ga = &mut g[(a * p + c) * l..(a * p + c + 1) * l];
                    let uc = &u[c * self.t..(c + 1) * self.t];
                    let mut s0 = 0;
                    for (start, len) in self.spans(tau, l) {
                        for (gv, uv) in ga[s0..s0 + len].iter_mut().zip(&uc[start..start + len]) {
                            *gv += uv * v;
                        }
                        s0 += len;
                    }
                }
            }
        }
    }
}

/// The FISTA momentum coefficients β_t = (s_{t−1} − 1)/s_t, t = 1..=layers.
fn momenta(layers: usize) -> Vec<f64> {
    let mut s = 1.0f64;
    (0..layers)
        .map(|_| {
            let next = 0.5 * (1.0 + (1.0 + 4.0 * s * s).sqrt());
            let b = (s - 1.0) / next;
            s = next;
            b
        })
        .collect()
}

/// One signal through the network: ½‖y − D z_T‖², and its gradient with respect to D added to `gd`.
#[allow(clippy::too_many_arguments)]
fn signal_loss_grad(
    cv: &Conv<'_>,
    y: ArrayView2<'_, f64>,
    alpha: f64,
    lambda: f64,
    nonneg: bool,
    betas: &[f64],
    gradient: CrsaeGradient,
    gd: &mut Array3<f64>,
) -> f64 {
    let k = cv.d.dim().0;
    let layers = betas.len();
    let thr = alpha * lambda;
    let mut w = Array2::<f64>::zeros((k, cv.tz));
    let mut z = Array2::<f64>::zeros((k, cv.tz));
    // per layer: w_{t−1}, r_t and the threshold's mask (1 where u_t passed)
    let mut tape: Vec<(Array2<f64>, Array2<f64>, Array2<f64>)> = Vec::with_capacity(layers);
    for &beta in betas {
        let r = &y - &cv.fwd(w.view());
        let u = &w + &(cv.adj(r.view()) * alpha);
        let mut mask = Array2::zeros(u.dim());
        let zt = ndarray::Zip::from(&u).and(&mut mask).map_collect(|&v, m| {
            let out = if nonneg {
                (v - thr).max(0.0)
            } else {
                v.signum() * (v.abs() - thr).max(0.0)
            };
            *m = if out != 0.0 { 1.0 } else { 0.0 };
            out
        });
        let wn = &zt + &((&zt - &z) * beta);
        if gradient == CrsaeGradient::Full {
            tape.push((w, r, mask));
        }
        z = zt;
        w = wn;
    }
    let resid = cv.fwd(z.view()) - y;
    let loss = 0.5 * resid.iter().map(|v| v * v).sum::<f64>();
    cv.add_filter_grad(resid.view(), z.view(), 1.0, gd);
    if gradient == CrsaeGradient::Dec {
        return loss;
    }
    // reverse pass (module doc): gw = ∂L/∂w_t, gw_next = ∂L/∂w_{t+1}, beta_next = β_{t+1};
    // z_t feeds w_t = (1 + β_t) z_t − β_t z_{t−1} and w_{t+1} (coefficient −β_{t+1}); the decoder
    // reads z_T only, and w_T feeds nothing
    let mut gz_dec = Some(cv.adj(resid.view()));
    let mut gw = Array2::<f64>::zeros((k, cv.tz));
    let mut gw_next = Array2::<f64>::zeros((k, cv.tz));
    let mut beta_next = 0.0;
    for t in (0..layers).rev() {
        let beta = betas[t];
        let (w_prev, r, mask) = &tape[t];
        let mut gz = &gw * (1.0 + beta) - &gw_next * beta_next;
        if let Some(g) = gz_dec.take() {
            gz += &g;
        }
        let gu = gz * mask;
        // u_t = w_{t−1} + α Dᵀ r_t with r_t = y − D w_{t−1}
        cv.add_filter_grad(r.view(), gu.view(), alpha, gd);
        let gr = cv.fwd(gu.view()) * alpha;
        cv.add_filter_grad(gr.view(), w_prev.view(), -1.0, gd);
        let gw_prev = &gu - &cv.adj(gr.view());
        gw_next = std::mem::replace(&mut gw, gw_prev);
        beta_next = beta;
    }
    loss
}

/// The mean loss ½‖y − Dz_T‖² over the signals `idx` of `y` and its gradient with respect to D.
///
/// # Errors
/// As [`ConvOp::new`] (the step α = 1/L).
#[allow(clippy::too_many_arguments)]
fn batch_loss_grad(
    d: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    idx: &[usize],
    boundary: Boundary,
    lambda: f64,
    nonneg: bool,
    betas: &[f64],
    gradient: CrsaeGradient,
) -> Result<(f64, Array3<f64>)> {
    use rayon::prelude::*;
    let t = y.dim().2;
    let l = d.dim().2;
    let alpha = 1.0 / ConvOp::new(d, t, boundary)?.lipschitz.max(f64::MIN_POSITIVE);
    let cv = Conv {
        d,
        t,
        tz: boundary.n_acts(t, l),
        circular: boundary == Boundary::Circular,
    };
    let (loss, gd) = idx
        .par_iter()
        .fold(
            || (0.0, Array3::zeros(d.dim())),
            |(acc, mut g), &i| {
                let li = signal_loss_grad(
                    &cv,
                    y.index_axis(Axis(0), i),
                    alpha,
                    lambda,
                    nonneg,
                    betas,
                    gradient,
                    &mut g,
                );
                (acc + li, g)
            },
        )
        .reduce(|| (0.0, Array3::zeros(d.dim())), |a, b| (a.0 + b.0, a.1 + b.1));
    let b = idx.len().max(1) as f64;
    Ok((loss / b, gd / b))
}

struct Train<'a> {
    p: &'a Crsae,
    y: ArrayView3<'a, f64>,
    boundary: Boundary,
    lambda: f64,
    betas: Vec<f64>,
    batch: usize,
    adam: Adam,
    rng: Rng64,
}

impl Iterative for Train<'_> {
    type State = ConvLearnState;
    fn step(&mut self, s: &mut ConvLearnState) -> Result<()> {
        let n = self.y.dim().0;
        let idx: Vec<usize> = if self.batch >= n {
            (0..n).collect()
        } else {
            (0..self.batch).map(|_| self.rng.random_range(0..n)).collect()
        };
        let (loss, g) = batch_loss_grad(
            s.atoms.view(),
            self.y,
            &idx,
            self.boundary,
            self.lambda,
            self.p.nonneg,
            &self.betas,
            self.p.gradient,
        )?;
        let flat = s
            .atoms
            .as_slice_mut()
            .expect("the atoms are a standard-layout array");
        self.adam.step(flat, g.as_slice().expect("standard layout"));
        for mut a in s.atoms.axis_iter_mut(Axis(0)) {
            let nrm = a.iter().map(|v| v * v).sum::<f64>().sqrt();
            if nrm > 0.0 {
                a /= nrm;
            }
        }
        s.objective = loss;
        s.d_iters += 1;
        Ok(())
    }
    fn objective(&self, s: &ConvLearnState) -> f64 {
        s.objective
    }
    fn record(&self, s: &ConvLearnState, rec: &mut Record) {
        rec.set("batch_loss", s.objective);
        rec.set("lambda", self.lambda);
    }
}

impl Crsae {
    /// Train the network's `n_atoms` filters of length `atom_len` on signals `y` (N × P × T) from
    /// `init_atoms` (K × P × L) or the `init` start, observing the state on `schedule`. The state's
    /// objective is the last minibatch's loss; its activations are empty (N × K × 0): encode with
    /// any [`super::ConvCoder`] afterwards.
    ///
    /// # Errors
    /// Parameters out of range; K = 0, L = 0, L > T; non-finite or all-zero signals; a start of
    /// the wrong shape; a batch larger than N.
    #[allow(clippy::too_many_arguments)]
    pub fn learn_observed(
        &self,
        y: ArrayView3<'_, f64>,
        n_atoms: usize,
        atom_len: usize,
        boundary: Boundary,
        init_atoms: Option<ArrayView3<'_, f64>>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<ConvLearnState>,
    ) -> Result<ConvLearned> {
        self.check_params()?;
        check_learner_input(y, n_atoms, atom_len)?;
        let n = y.dim().0;
        let batch = self.batch.unwrap_or(n);
        ensure!(
            batch <= n,
            "batch",
            batch,
            format!("a minibatch of at most N = {n} signals")
        );
        let tz = boundary.n_acts(y.dim().2, atom_len) as u128;
        // per signal in flight: the tape of T layers (w, r, mask) and the reverse pass's buffers
        crate::mem::check(
            format!(
                "CRsAE with {} layers on minibatches of {batch} signals",
                self.layers
            ),
            8 * (batch as u128)
                * (self.layers as u128 + 4)
                * (2 * n_atoms as u128 * tz + y.dim().1 as u128 * y.dim().2 as u128),
        )?;
        let mut rng = rng_from_seed(seed);
        let atoms = start_atoms(y, n_atoms, atom_len, self.init, init_atoms, &mut rng)?;
        let lambda = self.reg * lambda_max(atoms.view(), y, boundary, self.nonneg)?;
        let mut state = ConvLearnState::without_acts(atoms, n, rng_from_seed(seed ^ 1));
        state.lambda = lambda;
        let mut alg = Train {
            p: self,
            y,
            boundary,
            lambda,
            betas: momenta(self.layers),
            batch,
            adam: Adam::new(self.lr),
            rng,
        };
        let stop = Stop {
            max_iters: self.steps,
            ..Stop::default()
        };
        let (state, info) = iter::run(&mut alg, state, &stop, schedule, obs)?;
        Ok(ConvLearned { state, info })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{ConvSpec, conv_recovery};
    use rand_distr::StandardNormal;

    fn random3(shape: (usize, usize, usize), seed: u64) -> Array3<f64> {
        let mut rng = rng_from_seed(seed);
        Array3::from_shape_fn(shape, |_| rng.sample::<f64, _>(StandardNormal))
    }

    /// The time-domain convolutions agree with the crate's FFT operator ([`ConvOp`]) and are
    /// adjoint to each other, on both boundaries.
    #[test]
    fn convolutions_match_the_fft_operator_and_are_adjoint() {
        let d = random3((2, 2, 4), 1);
        for b in [Boundary::Valid, Boundary::Circular] {
            let t = 11;
            let tz = b.n_acts(t, 4);
            let cv = Conv {
                d: d.view(),
                t,
                tz,
                circular: b == Boundary::Circular,
            };
            let z = random3((1, 2, tz), 2).index_axis(Axis(0), 0).to_owned();
            let r = random3((1, 2, t), 3).index_axis(Axis(0), 0).to_owned();
            let x = cv.fwd(z.view());
            let x_fft = crate::conv::convolve(d.view(), z.clone().insert_axis(Axis(0)).view(), b, t)
                .unwrap();
            for (a, c) in x.iter().zip(x_fft.iter()) {
                assert!((a - c).abs() < 1e-10, "{a} vs {c}");
            }
            let lhs: f64 = (&x * &r).sum();
            let rhs: f64 = (&z * &cv.adj(r.view())).sum();
            assert!((lhs - rhs).abs() < 1e-10, "{lhs} vs {rhs}");
        }
    }

    /// The momentum coefficients by hand: β₁ = 0, β₂ = (s₁ − 1)/s₂ with s₁ = (1 + √5)/2.
    #[test]
    fn fista_momenta_by_hand() {
        let b = momenta(3);
        let s1 = 0.5 * (1.0 + 5f64.sqrt());
        let s2 = 0.5 * (1.0 + (1.0 + 4.0 * s1 * s1).sqrt());
        assert!(b[0].abs() < 1e-300);
        assert!((b[1] - (s1 - 1.0) / s2).abs() < 1e-15);
    }

    /// Both gradients against central finite differences of the loss at a fixed α (the reverse
    /// pass holds α constant), both boundaries, soft and non-negative thresholds.
    #[test]
    fn gradients_match_finite_differences() {
        let d0 = random3((2, 1, 3), 4);
        let y = random3((1, 1, 9), 5);
        for (b, nonneg, grad) in [
            (Boundary::Valid, false, CrsaeGradient::Full),
            (Boundary::Circular, true, CrsaeGradient::Full),
            (Boundary::Valid, false, CrsaeGradient::Dec),
        ] {
            let betas = momenta(6);
            let (t, l) = (9, 3);
            let loss_at = |d: &Array3<f64>, g: &mut Array3<f64>, gr: CrsaeGradient| {
                let cv = Conv {
                    d: d.view(),
                    t,
                    tz: b.n_acts(t, l),
                    circular: b == Boundary::Circular,
                };
                signal_loss_grad(&cv, y.index_axis(Axis(0), 0), 0.05, 0.3, nonneg, &betas, gr, g)
            };
            let mut g = Array3::zeros(d0.dim());
            loss_at(&d0, &mut g, grad);
            let h = 1e-6;
            for i in 0..d0.len() {
                let (mut dp, mut dm) = (d0.clone(), d0.clone());
                dp.as_slice_mut().unwrap()[i] += h;
                dm.as_slice_mut().unwrap()[i] -= h;
                let mut scratch = Array3::zeros(d0.dim());
                let fd = match grad {
                    CrsaeGradient::Full => {
                        (loss_at(&dp, &mut scratch, grad) - loss_at(&dm, &mut scratch, grad))
                            / (2.0 * h)
                    }
                    // g_dec: the derivative of ½‖y − D z_T‖² at fixed z_T
                    CrsaeGradient::Dec => {
                        let z = encode_for_test(&d0, &y, b, 0.05, 0.3, nonneg, &betas);
                        let f = |d: &Array3<f64>| {
                            let cv = Conv {
                                d: d.view(),
                                t,
                                tz: b.n_acts(t, l),
                                circular: b == Boundary::Circular,
                            };
                            let r = cv.fwd(z.view()) - y.index_axis(Axis(0), 0);
                            0.5 * r.iter().map(|v| v * v).sum::<f64>()
                        };
                        (f(&dp) - f(&dm)) / (2.0 * h)
                    }
                };
                let gi = g.as_slice().unwrap()[i];
                assert!((fd - gi).abs() < 1e-5 * gi.abs().max(1.0), "{b:?} {grad:?} {i}: {fd} vs {gi}");
            }
        }
    }

    /// z_T of the encoder (the forward pass of the module doc), for the g_dec check.
    fn encode_for_test(
        d: &Array3<f64>,
        y: &Array3<f64>,
        b: Boundary,
        alpha: f64,
        lambda: f64,
        nonneg: bool,
        betas: &[f64],
    ) -> Array2<f64> {
        let (t, l, k) = (y.dim().2, d.dim().2, d.dim().0);
        let cv = Conv { d: d.view(), t, tz: b.n_acts(t, l), circular: b == Boundary::Circular };
        let yy = y.index_axis(Axis(0), 0);
        let (mut w, mut z) = (Array2::zeros((k, cv.tz)), Array2::zeros((k, cv.tz)));
        for &beta in betas {
            let u = &w + &(cv.adj((&yy - &cv.fwd(w.view())).view()) * alpha);
            let thr = alpha * lambda;
            let zt = u.mapv(|v: f64| if nonneg { (v - thr).max(0.0) } else { v.signum() * (v.abs() - thr).max(0.0) });
            w = &zt + &((&zt - &z) * beta);
            z = zt;
        }
        z
    }

    /// Planted recovery: from filters at distance ≈ 0.5 of two planted ones, training by full
    /// backpropagation recovers both at 0.99 up to shift and sign.
    #[test]
    fn recovers_planted_filters_from_a_nearby_start() {
        let inst = ConvSpec::new(100, 1, 64, 2, 8)
            .theta(0.04)
            .sample(3)
            .unwrap();
        let mut d0 = inst.atoms.clone() + &(random3(inst.atoms.dim(), 9) * 0.15);
        for mut a in d0.axis_iter_mut(Axis(0)) {
            let n = a.iter().map(|v| v * v).sum::<f64>().sqrt();
            a /= n;
        }
        let before = conv_recovery(inst.atoms.view(), d0.view()).unwrap();
        let mut net = Crsae::new();
        net.reg = 0.05;
        net.layers = 30;
        net.steps = 300;
        net.batch = Some(20);
        let out = net
            .learn_observed(
                inst.y.view(),
                2,
                8,
                Boundary::Valid,
                Some(d0.view()),
                1,
                Schedule::Never,
                &mut iter::NoObserver,
            )
            .unwrap();
        let after = conv_recovery(inst.atoms.view(), out.state.atoms.view()).unwrap();
        assert!(before.recovery_rate(0.99) < 1.0, "{:?}", before.matched_score);
        assert!(after.recovery_rate(0.99) >= 1.0, "{:?} → {:?}", before.matched_score, after.matched_score);
        assert!(out.state.objective.is_finite());
    }

    /// Bad input: a batch larger than N, L > T, a start of the wrong shape.
    #[test]
    fn bad_input_is_refused_with_the_fix() {
        let y = random3((4, 1, 20), 6);
        let mut net = Crsae::new();
        net.batch = Some(5);
        let run = |net: &Crsae, l: usize, d0: Option<&Array3<f64>>| {
            net.learn_observed(
                y.view(),
                2,
                l,
                Boundary::Valid,
                d0.map(|d| d.view()),
                1,
                Schedule::Never,
                &mut iter::NoObserver,
            )
        };
        let e = run(&net, 5, None).unwrap_err().to_string();
        assert!(e.contains("at most N = 4"), "{e}");
        net.batch = None;
        net.steps = 2;
        assert!(run(&net, 21, None).is_err());
        let bad = Array3::ones((3, 1, 5));
        assert!(run(&net, 5, Some(&bad)).is_err());
        assert!(run(&net, 5, None).is_ok());
    }
}
