//! The neural methods as [`DictionaryLearner`]s, so that sweep plans, `dictlab learn` and the
//! benchmark (issue 9, docs/protocols.md §6) run them next to the classical learners, from the same
//! initializations, measured by the same observer.
//!
//! | learner | model and objective | learned dictionary | final codes |
//! |---|---|---|---|
//! | [`ReluAeLearner`] | Rangamani et al.'s tied ReLU autoencoder (or the blog note's variants), full-batch GD on `(1/2N)‖Wᵀ ReLU(WY − ε) − Y‖²` ([`super::relu_ae`]) | rows of `W`, normalized | `ReLU(WY − ε)` |
//! | [`SaeLearner`] | an untied sparse autoencoder (TopK, ReLU + L1, JumpReLU) trained by Adam ([`super::sae`]) | decoder columns | encoder codes |
//! | [`UnrolledLearner`] | T-layer unrolled ISTA with a tied dictionary, trained by Adam on one of PUDLE's gradients ([`super::unrolled`]) | `D` | `z_T` |
//! | [`ListaLearner`] | a SLISTA (tied, learned steps) or LISTA (free weights) encoder and `D` trained jointly by Adam on the Lasso objective of the network's codes ([`super::lista::ListaDl`]) | `D` | `z_T` |
//!
//! Each starts from the [`Init`] of the plan (the autoencoders' encoders start at `D₀ᵀ`), runs on
//! the crate's iteration engine, and shows the sweep's observer a [`LearnState`] view of its
//! state at every step (dictionary, and the training loss as `data_fit`), so recorded iterations,
//! `time_to_95` and the time budget work as for every other learner.

use super::lista::{ListaDl, ListaDlState, ListaKind, ListaNet};
use super::relu_ae::{AeState, Bias, TiedAeGd, Unit};
use super::sae::{Sae, SaeKind, SaeState, SaeTrainer};
use super::unrolled::{DlState, Gradient, Threshold, Unrolled, UnrolledDl};
use crate::error::Result;
use crate::generate::dictionary::normalize_nonzero_columns;
use crate::iter::{Observer, Record, Schedule, SolveInfo};
use crate::learn::LearnerSpec;
use crate::learn::{DictionaryLearner, Init, LearnState, Learned, check_signals};
use crate::rng::rng_from_seed;
use crate::spec::{Dflt, Param, Ty};
use ndarray::{Array2, ArrayView2};
use std::ops::ControlFlow;

/// Shows an observer of [`LearnState`] the state `S` of a neural trainer through `view`.
struct AsLearnState<'a, F> {
    inner: &'a mut dyn Observer<LearnState>,
    view: F,
}

impl<S, F: Fn(&S) -> LearnState> Observer<S> for AsLearnState<'_, F> {
    fn on_init(&mut self, s: &S, rec: &Record) {
        self.inner.on_init(&(self.view)(s), rec);
    }
    fn on_iter(&mut self, iter: usize, elapsed: f64, s: &S, rec: &Record) -> ControlFlow<()> {
        self.inner.on_iter(iter, elapsed, &(self.view)(s), rec)
    }
    fn on_finish(&mut self, s: &S, info: &SolveInfo) {
        self.inner.on_finish(&(self.view)(s), info);
    }
    fn stop_reason(&self) -> Option<crate::iter::Termination> {
        self.inner.stop_reason()
    }
}

/// A [`LearnState`] holding `dict` (columns normalized) and `loss` as its data fit.
fn learn_view(dict: Array2<f64>, loss: f64) -> LearnState {
    let mut s = LearnState::new(normalized(dict), rng_from_seed(0));
    s.data_fit = loss;
    s
}

fn normalized(mut d: Array2<f64>) -> Array2<f64> {
    normalize_nonzero_columns(&mut d);
    d
}

/// The parameter `quantile` of `relu_ae`.
pub const QUANTILE: Param = Param::new(
    "quantile",
    Ty::Fraction,
    Dflt::Auto("1 − k/m"),
    "quantile of W₀Y that sets the bias ε",
);

/// The parameter `sparsity` of `relu_ae` (only a default for `quantile`).
pub const RELU_AE_SPARSITY: Param = Param::new(
    "sparsity",
    Ty::Count,
    Dflt::Auto("instance k"),
    "k (sets quantile = 1 − k/m when unset)",
);

impl crate::spec::Choice for Unit {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "relu" => Some(Unit::Relu),
            "sign" => Some(Unit::Sign {
                scale: 1.0,
                bandwidth: 0.5,
            }),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            Unit::Relu => "relu",
            Unit::Sign { .. } => "sign",
        }
    }
}

crate::declare_method! {
    /// The tied ReLU autoencoder (Rangamani et al.; [`super::relu_ae`]) as a dictionary learner:
    /// `W₀ = D₀ᵀ`, the bias ε set once at `W₀` as the `quantile` of `W₀ Y` (the data-driven rule of
    /// notebook 05/06: `1 − k/m` keeps about k of m units active), full-batch gradient descent.
    #[derive(Clone, Debug, PartialEq)]
    pub struct ReluAeLearner {
        given {}
        derived {
            /// quantile of W₀Y that sets the bias ε (unset: 1 − k/m)
            quantile: f64 = [QUANTILE, RELU_AE_SPARSITY] => |p, ctx| match p.f64_opt("quantile") {
                Some(q) => q,
                None => 1.0 - p.sparsity(ctx)? as f64 / ctx.n_atoms.max(1) as f64,
            };
        }
        params {
            /// gradient steps
            iters: usize = param(Count, 300);
            /// learning rate η
            lr: f64 = param(Positive, 0.05);
            /// hidden unit: ReLU, or the 1-bit unit at level s = 1 (bandwidth 0.5)
            unit: Unit = choice(["relu", "sign"], "relu");
            /// learn an untied decoder (the dictionary is then the decoder's columns)
            untied: bool = param(Bool, false);
        }
    }
}

impl DictionaryLearner for ReluAeLearner {
    fn name(&self) -> String {
        format!(
            "relu_ae[iters={},lr={},q={}{}{}]",
            self.iters,
            self.lr,
            self.quantile,
            if matches!(self.unit, Unit::Sign { .. }) {
                ",sign"
            } else {
                ""
            },
            if self.untied { ",untied" } else { "" }
        )
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
        self.check_params()?;
        let (w0, _rng) = crate::learn::start(y, m, init, seed)?;
        let w0 = w0.t().to_owned();
        let eps = Bias::Quantile(self.quantile).value(w0.view(), y)?;
        let mut gd = TiedAeGd::new(self.lr, eps);
        gd.max_iters = self.iters;
        gd.unit = self.unit;
        gd.untied = self.untied;
        let dict_of = |s: &AeState| match &s.dec {
            Some(d) => d.clone(),
            None => s.w.t().to_owned(),
        };
        let mut view = AsLearnState {
            inner: obs,
            view: |s: &AeState| learn_view(dict_of(s), s.eval.loss),
        };
        let (s, info) = gd.run(w0.view(), y, schedule, &mut view)?;
        let mut codes = s.w.dot(&y);
        codes.mapv_inplace(|v| if v > eps { v - eps } else { 0.0 });
        Ok(Learned {
            dict: normalized(dict_of(&s)),
            codes,
            info,
            replaced_atoms: 0,
        })
    }
}

/// An untied sparse autoencoder ([`super::sae`]) as a dictionary learner: decoder `D₀`, encoder
/// `D₀ᵀ`, Adam on minibatches.
#[derive(Clone, Debug, PartialEq)]
pub struct SaeLearner {
    /// The trainer (model kind, steps, batch, learning rate, JumpReLU's θ₀).
    pub trainer: SaeTrainer,
}

impl DictionaryLearner for SaeLearner {
    fn name(&self) -> String {
        let t = &self.trainer;
        let kind = match t.kind {
            SaeKind::TopK { k } => format!("topk,k={k}"),
            SaeKind::BatchTopK { k } => format!("batchtopk,k={k}"),
            SaeKind::Matryoshka { k, levels } => format!("matryoshka,k={k},levels={levels}"),
            SaeKind::ReluL1 { lambda } => format!("relu_l1,lambda={lambda}"),
            SaeKind::Gated { lambda } => format!("gated,lambda={lambda}"),
            SaeKind::JumpRelu { lambda, bandwidth } => {
                format!("jumprelu,lambda={lambda},bandwidth={bandwidth}")
            }
        };
        // AuxK shows only when on, so names of runs without it are unchanged
        let aux = t.aux_k.map_or(String::new(), |k| {
            format!(",aux_k={k},aux_coef={},dead_steps={}", t.aux_coef, t.dead_steps)
        });
        format!(
            "sae[{kind},steps={},batch={},lr={}{aux}]",
            t.steps, t.batch, t.lr
        )
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
        let (d0, mut rng) = crate::learn::start(y, m, init, seed)?;
        let mut sae = Sae::init(
            y.nrows(),
            m,
            self.trainer.kind,
            self.trainer.theta0,
            &mut rng,
        )?;
        // Init::build returns unit columns
        sae.w_enc = d0.t().to_owned();
        sae.w_dec = d0;
        sae.center_decoder_bias(y);
        let mut view = AsLearnState {
            inner: obs,
            view: |s: &SaeState| learn_view(s.sae.w_dec.clone(), s.loss),
        };
        let (s, info) = self.trainer.train_from(sae, y, seed, schedule, &mut view)?;
        Ok(Learned {
            codes: s.sae.encode(y)?,
            dict: s.sae.w_dec,
            info,
            replaced_atoms: 0,
        })
    }
}

impl crate::spec::Choice for Gradient {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "dec" => Some(Gradient::Dec),
            "ae_lasso" => Some(Gradient::AE_LASSO),
            "ae_ls" => Some(Gradient::AE_LS),
            "noodl" => Some(Gradient::Noodl),
            "implicit" => Some(Gradient::Implicit),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            Gradient::Dec => "dec",
            Gradient::AeLasso { .. } => "ae_lasso",
            Gradient::AeLs { .. } => "ae_ls",
            Gradient::Noodl => "noodl",
            Gradient::Implicit => "implicit",
        }
    }
}

/// The parameter `lambda` of `unrolled`.
pub const UNROLLED_LAMBDA: Param = Param::new(
    "lambda",
    Ty::Positive,
    Dflt::Required,
    "λ of the Lasso the encoder approximates (or lambda_scale)",
);

crate::declare_method! {
    /// Unrolled ISTA trained by backpropagation ([`super::unrolled`], PUDLE) as a dictionary learner:
    /// `T` layers, soft threshold at αλ (one-sided for non-negative codes), step α = `alpha_l`/L with
    /// L = ‖D₀‖₂² (the check α·L < 2 happens at `D₀`), Adam, columns renormalized after each step.
    #[derive(Clone, Debug, PartialEq)]
    pub struct UnrolledLearner {
        given {
            /// λ of the Lasso the encoder approximates (or lambda_scale)
            lambda: f64 = [UNROLLED_LAMBDA, crate::spec::LAMBDA_SCALE] => |p, ctx| required_lambda(p, ctx)?;
        }
        params {
            /// dictionary gradient
            gradient: Gradient = choice(["dec", "ae_lasso", "ae_ls", "noodl", "implicit"], "dec");
            /// layers T
            layers: usize = param(Count, 25);
            /// α·L at D₀ (ISTA step α = alpha_l / L; ≤ 1 is ISTA's classical step, PUDLE runs 1.1–1.2)
            alpha_l: f64 = param(Between(0.0, 2.0), 1.0);
            /// one-sided threshold (non-negative codes)
            nonneg: bool = param(Bool, false);
            /// Adam steps
            steps: usize = param(Count, 300);
            /// Adam step size
            lr: f64 = param(Positive, 1e-2);
            /// signals per minibatch (unset: the full batch)
            batch: Option<usize> = auto(Count, "full batch");
        }
    }
}

impl DictionaryLearner for UnrolledLearner {
    fn name(&self) -> String {
        format!(
            "unrolled[{},T={},lambda={},steps={},lr={}]",
            self.gradient, self.layers, self.lambda, self.steps, self.lr
        )
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
        check_signals(y, m)?;
        self.check_params()?;
        let mut rng = rng_from_seed(seed);
        let d0 = init.build(y, m, &mut rng)?; // unit columns
        let l = crate::linalg::singular_values(d0.view())?
            .first()
            .map_or(1.0, |s| s * s);
        let threshold = if self.nonneg {
            Threshold::SoftNonNeg {
                lambda: self.lambda,
            }
        } else {
            Threshold::Soft {
                lambda: self.lambda,
            }
        };
        let model = Unrolled::new(self.layers, self.alpha_l / l, threshold);
        let mut dl = UnrolledDl::new(model, self.gradient, self.steps);
        dl.optimizer = super::optim::Optimizer::adam(self.lr);
        dl.batch = self.batch;
        let mut view = AsLearnState {
            inner: obs,
            view: |s: &DlState| learn_view(s.dict.clone(), s.loss),
        };
        let (s, info) = dl.train(d0.view(), y, None, seed, schedule, &mut view)?;
        Ok(Learned {
            codes: s.model.encode(s.dict.view(), y)?,
            dict: s.dict,
            info,
            replaced_atoms: 0,
        })
    }
}

impl crate::spec::Choice for ListaKind {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "slista" => Some(ListaKind::Slista),
            "lista" => Some(ListaKind::Lista),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            ListaKind::Slista => "slista",
            ListaKind::Lista => "lista",
            ListaKind::Ista => "ista",
            ListaKind::Alista => "alista",
        }
    }
}

/// The parameter `lambda` of `lista_dl`.
pub const LISTA_LAMBDA: Param = Param::new(
    "lambda",
    Ty::Positive,
    Dflt::Required,
    "λ of the Lasso objective (or lambda_scale)",
);

crate::declare_method! {
    /// A LISTA-type encoder trained jointly with the dictionary ([`ListaDl`]) as a dictionary
    /// learner: the network starts at ISTA for `D₀` (step 1/L, threshold λ/L; LISTA's
    /// `W_e = D₀ᵀ/L`, `S = I − D₀ᵀD₀/L`), minibatch Adam on the network and on `D`, columns
    /// renormalized.
    #[derive(Clone, Debug, PartialEq)]
    pub struct ListaLearner {
        given {
            /// λ of the Lasso objective (or lambda_scale)
            lambda: f64 = [LISTA_LAMBDA, crate::spec::LAMBDA_SCALE] => |p, ctx| required_lambda(p, ctx)?;
        }
        derived {
            /// the training (steps, minibatch, the two Adam step sizes)
            trainer: ListaDl = [
                ListaDl::PARAMS[0],
                ListaDl::PARAMS[1],
                ListaDl::PARAMS[2],
                ListaDl::PARAMS[3]
            ] => |p, ctx| ListaDl::from_params(p, ctx)?;
        }
        params {
            /// encoder tied to D with learned steps (slista) or free weights (lista)
            network: ListaKind = choice(["slista", "lista"], "slista");
            /// layers T
            layers: usize = param(Count, 10);
        }
    }
}

impl DictionaryLearner for ListaLearner {
    fn name(&self) -> String {
        let t = &self.trainer;
        format!(
            "lista_dl[{},T={},lambda={},steps={},batch={},lr={},lr_dict={}]",
            self.network, self.layers, self.lambda, t.steps, t.batch, t.lr, t.lr_dict
        )
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
        let (d0, _rng) = crate::learn::start(y, m, init, seed)?; // unit columns
        let net = ListaNet::new(self.network, d0.view(), self.lambda, self.layers)?;
        let mut view = AsLearnState {
            inner: obs,
            view: |s: &ListaDlState| learn_view(s.net.dict.clone(), s.loss),
        };
        let (s, info) = self.trainer.train(net, y, seed, schedule, &mut view)?;
        Ok(Learned {
            codes: s.net.encode(y)?,
            dict: s.net.dict,
            info,
            replaced_atoms: 0,
        })
    }
}

/// `relu_ae`: the tied ReLU autoencoder.
pub const RELU_AE_SPEC: LearnerSpec = LearnerSpec {
    name: "relu_ae",
    family: crate::spec::Family::Neural,
    summary: "tied ReLU autoencoder (Rangamani et al. 2018) trained by full-batch gradient descent",
    params: ReluAeLearner::PARAMS,
    budget: crate::spec::Budget::Iters("iters"),
    build: |p, ctx| Ok(Box::new(ReluAeLearner::from_params(p, ctx)?)),
};

/// `sae`: sparse autoencoders.
pub const SAE_SPEC: LearnerSpec = LearnerSpec {
    name: "sae",
    family: crate::spec::Family::Neural,
    summary: "sparse autoencoder (TopK, BatchTopK, Matryoshka, ReLU + L1, Gated, JumpReLU) trained by minibatch Adam",
    params: SaeTrainer::PARAMS,
    budget: crate::spec::Budget::Steps {
        steps: "steps",
        batch: "batch",
    },
    build: |p, ctx| {
        Ok(Box::new(SaeLearner {
            trainer: SaeTrainer::from_params(p, ctx)?,
        }))
    },
};

/// λ of a learner that needs one: `lambda`, or the k-matched rule with `lambda_scale`.
fn required_lambda(p: &crate::spec::Params<'_>, ctx: &crate::spec::Context<'_>) -> Result<f64> {
    p.lambda(ctx)?.ok_or_else(|| p.missing("lambda"))
}

/// `unrolled`: unrolled ISTA trained by backpropagation.
pub const UNROLLED_SPEC: LearnerSpec = LearnerSpec {
    name: "unrolled",
    family: crate::spec::Family::Neural,
    summary: "unrolled ISTA with a tied dictionary trained by Adam on one of PUDLE's gradients (Malézieux et al. 2022)",
    params: UnrolledLearner::PARAMS,
    budget: crate::spec::Budget::Steps {
        steps: "steps",
        batch: "batch",
    },
    build: |p, ctx| Ok(Box::new(UnrolledLearner::from_params(p, ctx)?)),
};

/// `lista_dl`: a LISTA-type encoder trained jointly with the dictionary.
pub const LISTA_DL_SPEC: LearnerSpec = LearnerSpec {
    name: "lista_dl",
    family: crate::spec::Family::Neural,
    summary: "SLISTA / LISTA encoder trained jointly with D by Adam on the Lasso objective",
    params: ListaLearner::PARAMS,
    budget: crate::spec::Budget::Steps {
        steps: "steps",
        batch: "batch",
    },
    build: |p, ctx| Ok(Box::new(ListaLearner::from_params(p, ctx)?)),
};
