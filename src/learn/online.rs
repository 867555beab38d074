//! Online / minibatch dictionary learning (Mairal, Bach, Ponce, Sapiro).
//!
//! Minimises the expected cost $\mathbb E_y\big[\min_x \tfrac12\|y - Dx\|^2 + \psi(x)\big]$ over
//! dictionaries with unit-norm columns, one minibatch $Y_t$ (η signals) at a time
//! (JMLR 2010, Algorithm 1 with the minibatch extension of §3.4.3):
//! 1. code the minibatch with the current dictionary, $X_t = \mathrm{coder}(D_{t-1}, Y_t)$ (any
//!    [`SparseCoder`]: LARS-Lasso as in the paper, or OMP);
//! 2. update the sufficient statistics
//!    $A_t = \beta_t A_{t-1} + \tfrac1\eta X_tX_t^\top$, $B_t = \beta_t B_{t-1} + \tfrac1\eta Y_tX_t^\top$;
//! 3. block-coordinate descent on the surrogate $\tfrac12\mathrm{tr}(D^\top DA_t) - \mathrm{tr}(D^\top B_t)$
//!    (Algorithm 2, warm-started):
//!    $u_j = (b_j - Da_j)/A_{jj} + d_j$, $d_j = u_j/\max(\|u_j\|, 1)$ — here $d_j = u_j/\|u_j\|$ so
//!    that atoms stay unit-norm like every other learner of the crate.
//!
//! Forgetting ([`Forgetting`]): `Mairal` is the paper's §3.4.3 weighting
//! $\beta_t = (\theta + 1 - \eta)/(\theta + 1)$ with $\theta = t\eta$ for $t < \eta$ and
//! $\theta = \eta^2 + t - \eta$ afterwards (scikit-learn's `MiniBatchDictionaryLearning` uses the same);
//! `Constant(β)` is a fixed factor (β = 1: plain accumulation, the "batch" fixed point).
//! An atom whose statistic $A_{jj}$ falls below $10^{-6}$ of the mean diagonal, or the less used
//! atom of a pair with |cos| > `dup_cos` (K-SVD's "dictionary clearing"), is dead: it is
//! replaced by a minibatch signal under the [`UnusedAtoms`] policy and its statistics are reset —
//! counted in `n_replaced_atoms`, never silent.
//!
//! [`OnlineDl::partial_fit`] consumes one caller-supplied minibatch (streams larger than memory);
//! [`LearnState::save`]/[`LearnState::load`] checkpoint the full state (dictionary, statistics,
//! epoch order, RNG position), and a resumed run is bit-identical to an uninterrupted one.
//!
//! ## References
//! * Mairal, Bach, Ponce, Sapiro (2009), "Online dictionary learning for sparse coding", ICML.
//! * Mairal, Bach, Ponce, Sapiro (2010), "Online learning for matrix factorization and sparse
//!   coding", JMLR 11:19–60, Algorithms 1–2, §3.4.3 (mini-batch extension, down-weighting).

use super::update::bcd_sweeps;
use super::{CODER_LAMBDA, LearnerSpec, coder_from_params};
use super::{
    DictionaryLearner, Init, LearnState, Learned, UnusedAtoms, mark_duplicates, replace_atoms,
};
use crate::code::SPARSITY;
use crate::code::{SparseCoder, check_problem};
use crate::error::{Error, Result, ensure};
use crate::iter::{self, Iterative, Observer, Record, Schedule, Stop};
use crate::linalg;
use crate::rng::rng_from_seed;
use crate::spec::{Param, concat_params, params_len};
use ndarray::{Array2, ArrayView2};

/// Sufficient statistics of the online learner: $A = \sum \beta\,xx^\top$ (m × m) and
/// $B = \sum \beta\,yx^\top$ (n × m).
#[derive(Clone, Debug, PartialEq)]
pub struct Sufficient {
    /// m × m.
    pub a: Array2<f64>,
    /// n × m.
    pub b: Array2<f64>,
}

/// Down-weighting of past minibatches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Forgetting {
    /// JMLR 2010 §3.4.3 (default).
    Mairal,
    /// A fixed factor β ∈ (0, 1] per minibatch (1 = no forgetting).
    Constant(f64),
}

crate::declare_method! {
    /// The parameters of [`OnlineDl`] other than its coder.
    #[derive(Clone, Debug, PartialEq)]
    pub struct OnlineOptions {
        given {}
        params {
            /// signals per minibatch (η)
            batch: usize = param(Count, 256);
            /// passes over the data in `learn`
            epochs: f64 = param(Positive, 30.0);
            /// block-coordinate sweeps over the atoms per minibatch
            sweeps: usize = param(Count, 1);
            /// dead-atom policy: keep, the worst-coded signal of the minibatch, or a random one of it
            unused: UnusedAtoms = choice(["keep", "worst", "random"], "worst");
            /// absolute cosine above which the less-used atom of a pair is replaced (1 disables)
            dup_cos: f64 = param(Fraction, 0.99);
        }
        other {
            /// down-weighting of past minibatches (the paper's rule unless set)
            forgetting: Forgetting = Forgetting::Mairal;
        }
    }
}

impl Default for OnlineOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Online dictionary learner: a coder and its [`OnlineOptions`].
#[derive(Clone, Debug)]
pub struct OnlineDl<C> {
    /// Coder.
    pub coder: C,
    /// Everything else (declared parameters).
    pub opts: OnlineOptions,
}

impl<C: SparseCoder> OnlineDl<C> {
    /// The coder, everything else at its declared default.
    pub fn new(coder: C) -> Self {
        OnlineDl {
            coder,
            opts: OnlineOptions::new(),
        }
    }
    /// Minibatch size.
    #[must_use]
    pub fn batch(mut self, b: usize) -> Self {
        self.opts.batch = b;
        self
    }
    /// Epochs.
    #[must_use]
    pub fn epochs(mut self, e: f64) -> Self {
        self.opts.epochs = e;
        self
    }
    /// Forgetting.
    #[must_use]
    pub fn forgetting(mut self, f: Forgetting) -> Self {
        self.opts.forgetting = f;
        self
    }
    /// Validate.
    pub fn check(&self) -> Result<()> {
        self.opts.check_params()?;
        if let Forgetting::Constant(b) = self.opts.forgetting {
            ensure!(b > 0.0 && b <= 1.0, "forgetting", b, "β ∈ (0, 1]");
        }
        Ok(())
    }

    /// A fresh online state around `dict` (unit-norm columns), statistics zero.
    ///
    /// # Errors
    /// Zero or non-finite atoms.
    pub fn start(&self, dict: Array2<f64>, seed: u64) -> Result<LearnState> {
        let mut d = dict;
        crate::generate::normalize_columns(&mut d)?;
        crate::error::check_finite("initial dictionary", d.view())?;
        let (n, m) = d.dim();
        let mut s = LearnState::new(d, rng_from_seed(seed));
        s.stats = Some(Sufficient {
            a: Array2::zeros((m, m)),
            b: Array2::zeros((n, m)),
        });
        Ok(s)
    }

    /// Weight of the past at step t (0-based) for minibatches of η signals.
    fn beta(&self, t: usize, eta: usize) -> f64 {
        match self.opts.forgetting {
            Forgetting::Constant(b) => b,
            Forgetting::Mairal => {
                let (t, eta) = (t as f64, eta as f64);
                let theta = if t < eta {
                    t * eta
                } else {
                    eta * eta + t - eta
                };
                ((theta + 1.0 - eta) / (theta + 1.0)).max(0.0)
            }
        }
    }

    /// One minibatch step on `batch` (n × η): code, update (A, B), replace dead atoms, BCD.
    ///
    /// # Errors
    /// Shape mismatch with the state's dictionary, non-finite signals, coder errors; a state
    /// without statistics (not made by [`OnlineDl::start`]).
    pub fn partial_fit(&self, s: &mut LearnState, batch: ArrayView2<'_, f64>) -> Result<()> {
        self.check()?;
        check_problem(s.dict.view(), batch)?;
        let eta = batch.ncols();
        ensure!(eta >= 1, "minibatch", eta, "at least one signal");
        let beta = self.beta(s.step, eta);
        let enc = self.coder.encode(s.dict.view(), batch)?;
        let x = enc.codes;
        let st = s.stats.as_mut().ok_or_else(|| {
            Error::invalid(
                "state",
                "no sufficient statistics",
                "start the online learner with OnlineDl::start (or load its checkpoint)",
            )
        })?;
        let par = linalg::par();
        let w = 1.0 / eta as f64;
        linalg::gemm_into(
            st.a.view_mut(),
            w,
            x.view(),
            false,
            x.view(),
            true,
            beta,
            par,
        );
        linalg::gemm_into(st.b.view_mut(), w, batch, false, x.view(), true, beta, par);
        // dead atoms
        let m = s.dict.ncols();
        let mean_diag = st.a.diag().sum() / m as f64;
        let usage: Vec<f64> = st.a.diag().to_vec();
        let mut bad: Vec<bool> = usage
            .iter()
            .map(|&u| u <= 1e-6 * mean_diag.max(1e-300))
            .collect();
        // duplicates: the atom with the smaller statistic A_jj of a pair with |cos| > dup_cos
        mark_duplicates(s.dict.view(), &usage, &mut bad, self.opts.dup_cos);
        let dead: Vec<usize> = (0..m).filter(|&j| bad[j]).collect();
        s.replaced_last =
            replace_atoms(&mut s.dict, batch, &x, &dead, self.opts.unused, &mut s.rng);
        for &j in &dead[..s.replaced_last] {
            st.a.row_mut(j).fill(0.0);
            st.a.column_mut(j).fill(0.0);
            st.b.column_mut(j).fill(0.0);
        }
        s.replaced_total += s.replaced_last;
        bcd_sweeps(&mut s.dict, st.a.view(), st.b.view(), self.opts.sweeps);
        s.data_fit = enc.info.objective * w;
        s.codes = x;
        s.step += 1;
        s.samples_seen += eta;
        Ok(())
    }

    /// Learn from a streamed planted model ([`crate::generate::stream`]): step t = 1 … `steps`
    /// feeds batch t (of the learner's `batch` samples) to [`OnlineDl::partial_fit`], from the
    /// dictionary `start`; memory does not grow with the samples. `on_step(t, state)` sees every
    /// step (a trace, a stop rule: return `false` to stop).
    ///
    /// # Errors
    /// As [`OnlineDl::start`] and [`OnlineDl::partial_fit`]; zero steps.
    pub fn fit_stream(
        &self,
        model: &crate::generate::stream::SynthModel,
        start: Array2<f64>,
        steps: usize,
        seed: u64,
        on_step: &mut dyn FnMut(usize, &LearnState) -> bool,
    ) -> Result<LearnState> {
        ensure!(steps >= 1, "steps", steps, "at least one minibatch step");
        let mut s = self.start(start, seed)?;
        for t in 1..=steps {
            let b = model.batch(t as u64, self.opts.batch)?;
            self.partial_fit(&mut s, b.y.view())?;
            if !on_step(t, &s) {
                break;
            }
        }
        Ok(s)
    }

    /// Steps per [`DictionaryLearner::learn`] call for N signals.
    pub fn total_steps(&self, nn: usize) -> usize {
        super::minibatch_steps(self.opts.epochs, nn, self.opts.batch)
    }
}

struct OnlineAlg<'a, C> {
    p: &'a OnlineDl<C>,
    y: ArrayView2<'a, f64>,
}

impl<C: SparseCoder> Iterative for OnlineAlg<'_, C> {
    type State = LearnState;
    fn step(&mut self, s: &mut LearnState) -> Result<()> {
        let batch = s.next_minibatch(self.y, self.p.opts.batch);
        self.p.partial_fit(s, batch.view())
    }
    fn objective(&self, s: &LearnState) -> f64 {
        s.objective_value()
    }
    fn record(&self, s: &LearnState, rec: &mut Record) {
        rec.set("data_fit", s.data_fit);
        rec.set("n_replaced_atoms", s.replaced_last as f64);
        rec.set("n_replaced_total", s.replaced_total as f64);
        rec.set("samples_seen", s.samples_seen as f64);
    }
}

impl<C: SparseCoder> OnlineDl<C> {
    /// Continue a state (fresh from [`OnlineDl::start`] or loaded from a checkpoint) for `steps`
    /// minibatches drawn from `y` (epoch-wise permutations from the state's RNG), observed on
    /// `schedule`; returns the state (to checkpoint or continue) and the engine diagnostics.
    ///
    /// # Errors
    /// As [`OnlineDl::partial_fit`].
    pub fn advance(
        &self,
        y: ArrayView2<'_, f64>,
        state: LearnState,
        steps: usize,
        schedule: Schedule,
        obs: &mut dyn Observer<LearnState>,
    ) -> Result<(LearnState, iter::SolveInfo)> {
        self.check()?;
        check_problem(state.dict.view(), y)?;
        let mut alg = OnlineAlg { p: self, y };
        iter::run(&mut alg, state, &Stop::iters(steps.max(1)), schedule, obs)
    }
}

impl<C: SparseCoder> DictionaryLearner for OnlineDl<C> {
    fn name(&self) -> String {
        format!("online[batch={}]+{}", self.opts.batch, self.coder.name())
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
        let mut state = self.start(d0, seed)?;
        state.rng = rng;
        // objective before the first step: mean ½‖y‖² (the data fit of the zero code)
        state.data_fit = super::zero_code_fit(y) / y.ncols() as f64;
        let (s, info) = self.advance(y, state, self.total_steps(y.ncols()), schedule, obs)?;
        Ok(Learned::from_state(s, info))
    }
}

/// The coding step ([`coder_from_params`]) and the declared options.
const PARTS: &[&[Param]] = &[
    &[SPARSITY, CODER_LAMBDA, crate::spec::LAMBDA_SCALE],
    OnlineOptions::PARAMS,
];
const PARAMS: [Param; params_len(PARTS)] = concat_params(PARTS);

/// `online`: Mairal et al.'s online dictionary learning.
pub const SPEC: LearnerSpec = LearnerSpec {
    name: "online",
    family: crate::spec::Family::Classical,
    summary: "online dictionary learning (Mairal et al. 2010, Alg. 1–2), minibatches",
    params: &PARAMS,
    budget: crate::spec::Budget::Epochs {
        epochs: "epochs",
        batch: "batch",
    },
    build: |p, ctx| {
        Ok(Box::new(OnlineDl {
            coder: coder_from_params(p, ctx)?,
            opts: OnlineOptions::from_params(p, ctx)?,
        }))
    },
};
