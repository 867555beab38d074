//! Approximate gradient descent with neurally plausible updates: Arora, Ge, Ma, Moitra (2015) and
//! NOODL (Rambhatla, Li, Haupt 2019).
//!
//! Each step draws a minibatch $Y$ (p signals), decodes it with the current dictionary $A$, and takes
//! a step along the approximate gradient of $\tfrac12\|Y - AX\|_F^2$ in which the code enters only by
//! its sign pattern (AGMM 2015, Algorithm 2 / eq. (3); NOODL eq. (4)):
//! $$A \leftarrow A - \eta\,\tfrac1p (AX - Y)\,\mathrm{sign}(X)^\top,\qquad a_j \leftarrow a_j/\|a_j\|.$$
//! Decoders ([`Decoder`]):
//! * `Threshold { tau }` — AGMM 2015's decode $x = \mathrm{HT}_\tau(A^\top y)$ (keep entries with
//!   $|\cdot| \ge \tau$; the paper takes τ = C/2 for non-zeros bounded below by C);
//! * `Iht { tau0, tau, step, iters }` — NOODL: $x^0 = \mathrm{HT}_{\tau_0}(A^\top y)$, then
//!   `iters` steps $x \leftarrow \mathrm{HT}_\tau(x - \text{step}\cdot A^\top(Ax - y))$; PUDLE's
//!   implementation uses step 0.2, τ = 0.1, 100 iterations (docs/protocols.md §11).
//!
//! The theory assumes an initialization (δ, 2)-near the truth with δ = O*(1/log n), e.g. from the
//! pairwise-reweighting spectral method ([`super::PairwiseSpectral`]) and a step η = Θ(m/k), for
//! non-zeros normalised to $\mathbb E[x_i^2 \mid i \in S] = 1$ (AGMM 2015, §1.1; NOODL, A.3).
//!
//! **The automatic step** (`eta = None`, the registry's default) applies that normalisation to the
//! data: $\eta = m / \overline{\|y\|^2}$, the mean squared norm of the signals. With near-orthogonal
//! atoms $\overline{\|y\|^2} \approx k\,\mathbb E[x_i^2 \mid i \in S] + n\sigma^2$, so this is the papers'
//! m/k when the non-zeros have unit second moment. Taken literally on other magnitudes, m/k
//! overshoots: near the truth each atom moves by ≈ η (k/m) E|x_i| of its error per step, 1.5× for
//! U[1, 2] non-zeros (the iterates oscillate and NOODL's decode diverges); the scaled step moves it by
//! E|x_i| / E\[x_i²\] ≤ 1 of it.
//! The column normalisation keeps atoms unit-norm like every other learner of the crate.
//!
//! ## References
//! * Arora, Ge, Ma, Moitra (2015), "Simple, efficient, and neural algorithms for sparse coding",
//!   COLT, Algorithm 2 (update), Algorithm 3 (initialization).
//! * Rambhatla, Li, Haupt (2019), "NOODL: Provable online dictionary learning and sparse coding",
//!   ICLR, Algorithm 1.

use super::LearnerSpec;
use super::{DictionaryLearner, Init, LearnState, Learned};
use crate::code::check_problem;
use crate::error::{Result, ensure};
use crate::iter::{self, Iterative, Observer, Record, Schedule, Stop};
use crate::linalg;
use crate::spec::{Context, Dflt, Param, Params, Ty};
use ndarray::{Array2, ArrayView2, Axis, Zip};

/// How a minibatch is decoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decoder {
    /// One hard threshold of the correlations (AGMM 2015).
    Threshold {
        /// Keep |(Aᵀy)_i| ≥ τ.
        tau: f64,
    },
    /// Iterative hard thresholding with a fixed threshold (NOODL).
    Iht {
        /// Threshold of the initial decode.
        tau0: f64,
        /// Threshold of the IHT steps.
        tau: f64,
        /// Gradient step of the IHT steps.
        step: f64,
        /// IHT steps.
        iters: usize,
    },
}

/// Default decode threshold τ (arora; noodl's initial threshold) of the registry's `arora`/`noodl`.
pub const TAU: f64 = 0.5;

/// The parameter `tau`: the decode threshold (NOODL's initial one), from which the [`Decoder`] of
/// the registry's `arora` and `noodl` is built.
pub const TAU_PARAM: Param = Param::new(
    "tau",
    Ty::Positive,
    Dflt::Float(TAU),
    "decode threshold τ (noodl: initial threshold)",
);

crate::declare_method! {
    /// Approximate-gradient dictionary learner (AGMM 2015 / NOODL; see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ApproxGradient {
        given {}
        derived {
            /// how a minibatch is decoded (τ ≥ 0; IHT step > 0)
            decoder: Decoder = [TAU_PARAM] => |p, _ctx| {
                let tau = p.f64("tau")?;
                if p.method() == "arora" {
                    Decoder::Threshold { tau }
                } else {
                    Decoder::noodl(tau)
                }
            };
        }
        params {
            /// dictionary step η (= m/k for unit-second-moment non-zeros; unset: m / mean‖y‖²)
            eta: Option<f64> = auto(Positive, "m/mean‖y‖²");
            /// passes over the data
            epochs: f64 = param(Positive, 20.0);
            /// signals per minibatch (p)
            batch: usize = param(Count, 256);
        }
    }
}

impl Decoder {
    /// NOODL's decode with PUDLE's coding parameters (IHT step 0.2, τ = 0.1, 100 steps) and initial
    /// threshold `tau0`.
    pub fn noodl(tau0: f64) -> Self {
        Decoder::Iht {
            tau0,
            tau: 0.1,
            step: 0.2,
            iters: 100,
        }
    }
}

impl ApproxGradient {
    /// AGMM 2015: threshold decode at τ (= C/2), step η.
    pub fn arora(tau: f64, eta: f64) -> Self {
        Self::new(Decoder::Threshold { tau }).eta(Some(eta))
    }
    /// NOODL with PUDLE's coding parameters (IHT step 0.2, τ = 0.1, 100 steps; initial threshold
    /// `tau0`), step η.
    pub fn noodl(tau0: f64, eta: f64) -> Self {
        Self::new(Decoder::noodl(tau0)).eta(Some(eta))
    }
    /// The automatic step m / mean‖y‖² instead of a fixed η.
    pub fn auto_step(mut self) -> Self {
        self.eta = None;
        self
    }
    /// The step on `m` atoms for signals `y`: η if set, else m / mean‖y‖² (0 for all-zero `y`,
    /// which [`check_problem`] refuses before any step).
    pub fn step_size(&self, m: usize, y: ArrayView2<'_, f64>) -> f64 {
        self.eta.unwrap_or_else(|| {
            // mean ‖y‖² = 2 · (the zero code's data fit) / N
            let ms = 2.0 * super::zero_code_fit(y) / y.ncols().max(1) as f64;
            if ms > 0.0 { m as f64 / ms } else { 0.0 }
        })
    }
    /// Validate.
    pub fn check(&self) -> Result<()> {
        self.check_params()?;
        match self.decoder {
            Decoder::Threshold { tau } => ensure!(tau >= 0.0, "tau", tau, "τ ≥ 0"),
            Decoder::Iht {
                tau0,
                tau,
                step,
                iters,
            } => {
                ensure!(tau0 >= 0.0 && tau >= 0.0, "tau", tau, "τ ≥ 0");
                ensure!(step > 0.0, "iht step", step, "> 0");
                ensure!(iters >= 1, "iht iters", iters, "≥ 1");
            }
        }
        Ok(())
    }

    /// Decode a minibatch (n × p) with dictionary `a`: X (m × p).
    pub fn decode(&self, a: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Array2<f64> {
        let par = linalg::par();
        let aty = linalg::matmul_tn(a, y, par);
        let ht = |x: &mut Array2<f64>, tau: f64| {
            x.mapv_inplace(|v| if v.abs() >= tau { v } else { 0.0 });
        };
        match self.decoder {
            Decoder::Threshold { tau } => {
                let mut x = aty;
                ht(&mut x, tau);
                x
            }
            Decoder::Iht {
                tau0,
                tau,
                step,
                iters,
            } => {
                let g = linalg::gram(a, par);
                let mut x = aty.clone();
                ht(&mut x, tau0);
                let mut gx = Array2::zeros(x.dim());
                for _ in 0..iters {
                    linalg::gemm_into(
                        gx.view_mut(),
                        1.0,
                        g.view(),
                        false,
                        x.view(),
                        false,
                        0.0,
                        par,
                    );
                    Zip::from(&mut x).and(&gx).and(&aty).for_each(|v, &gv, &b| {
                        let u = *v - step * (gv - b);
                        *v = if u.abs() >= tau { u } else { 0.0 };
                    });
                }
                x
            }
        }
    }

    /// One step on minibatch `y`: decode, approximate-gradient update, renormalise. Returns
    /// ½‖Y − AX‖²/p before the update. Without a fixed η the step is m / mean‖y‖² of this
    /// minibatch (a whole run fixes it once from all its signals).
    ///
    /// # Errors
    /// Shape mismatch, non-finite input.
    pub fn partial_fit(&self, s: &mut LearnState, y: ArrayView2<'_, f64>) -> Result<f64> {
        check_problem(s.dict.view(), y)?;
        let p = y.ncols() as f64;
        let x = self.decode(s.dict.view(), y);
        let par = linalg::par();
        // R = A X − Y
        let mut r = y.to_owned();
        linalg::gemm_into(
            r.view_mut(),
            1.0,
            s.dict.view(),
            false,
            x.view(),
            false,
            -1.0,
            par,
        );
        let fit = 0.5 * r.iter().map(|v| v * v).sum::<f64>() / p;
        let eta = self.step_size(s.dict.ncols(), y);
        let sx = x.mapv(|v| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                0.0
            }
        });
        linalg::gemm_into(
            s.dict.view_mut(),
            -eta / p,
            r.view(),
            false,
            sx.view(),
            true,
            1.0,
            par,
        );
        for mut c in s.dict.axis_iter_mut(Axis(1)) {
            let nc = c.dot(&c).sqrt();
            if nc > 1e-300 {
                c /= nc;
            }
        }
        s.data_fit = fit;
        s.codes = x;
        s.step += 1;
        s.samples_seen += y.ncols();
        Ok(fit)
    }
}

struct AgdAlg<'a> {
    p: &'a ApproxGradient,
    y: ArrayView2<'a, f64>,
}

impl Iterative for AgdAlg<'_> {
    type State = LearnState;
    fn step(&mut self, s: &mut LearnState) -> Result<()> {
        let batch = s.next_minibatch(self.y, self.p.batch);
        self.p.partial_fit(s, batch.view())?;
        Ok(())
    }
    fn objective(&self, s: &LearnState) -> f64 {
        s.objective_value()
    }
    fn record(&self, s: &LearnState, rec: &mut Record) {
        rec.set("data_fit", s.data_fit);
        rec.set(
            "code_density",
            s.codes.iter().filter(|v| **v != 0.0).count() as f64 / s.codes.len().max(1) as f64,
        );
        rec.set("samples_seen", s.samples_seen as f64);
    }
}

impl DictionaryLearner for ApproxGradient {
    fn name(&self) -> String {
        let eta = self.eta.map_or("auto".to_string(), |e| e.to_string());
        match self.decoder {
            Decoder::Threshold { tau } => format!("arora[tau={tau},eta={eta}]"),
            Decoder::Iht { tau0, .. } => format!("noodl[tau0={tau0},eta={eta}]"),
        }
    }
    fn learn_observed(
        &self,
        y: ArrayView2<'_, f64>,
        m: usize,
        init: &Init,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<LearnState>,
    ) -> Result<Learned> {
        self.check()?;
        let (d0, rng) = crate::learn::start(y, m, init, seed)?;
        let mut state = LearnState::new(d0, rng);
        // objective before the first step: mean ½‖y‖² (the data fit of the zero code)
        state.data_fit = super::zero_code_fit(y) / y.ncols() as f64;
        let steps = super::minibatch_steps(self.epochs, y.ncols(), self.batch);
        let fixed = ApproxGradient {
            eta: Some(self.step_size(m, y)),
            ..self.clone()
        };
        let mut alg = AgdAlg { p: &fixed, y };
        let (s, info) = iter::run(&mut alg, state, &Stop::iters(steps), schedule, obs)?;
        Ok(Learned::from_state(s, info))
    }
}

fn build_agd(p: &Params<'_>, ctx: &Context<'_>) -> Result<Box<dyn DictionaryLearner>> {
    Ok(Box::new(ApproxGradient::from_params(p, ctx)?))
}

/// `arora`: Arora et al.'s neurally plausible alternating minimization.
pub const ARORA_SPEC: LearnerSpec = LearnerSpec {
    name: "arora",
    family: crate::spec::Family::Classical,
    summary: "Arora et al. 2015: threshold decode + approximate gradient step",
    params: ApproxGradient::PARAMS,
    budget: crate::spec::Budget::Epochs {
        epochs: "epochs",
        batch: "batch",
    },
    build: build_agd,
};

/// `noodl`: NOODL.
pub const NOODL_SPEC: LearnerSpec = LearnerSpec {
    name: "noodl",
    family: crate::spec::Family::Classical,
    summary: "NOODL (Rambhatla et al. 2019): IHT decode + approximate gradient step",
    params: ApproxGradient::PARAMS,
    budget: crate::spec::Budget::Epochs {
        epochs: "epochs",
        batch: "batch",
    },
    build: build_agd,
};
