//! Dictionary learning by alternating minimization: any coder × any dictionary update.
//!
//! $$\min_{A,\,X} \tfrac12\|Y - AX\|_F^2 + \text{(sparsity of } X\text{)}\quad\text{s.t. } \|a_j\|_2 = 1$$
//!
//! [`AlternatingMinimization`] alternates a [`SparseCoder`] step (X given A) with a [`DictUpdate`]
//! (A given X): [`Mod`] (method of optimal directions), [`Ksvd`] (exact or approximate K-SVD) and
//! [`Bcd`] (Mairal's block-coordinate update). It runs on the shared iteration engine
//! ([`crate::iter::run`]), so observers record recovery metrics against the ground truth and the
//! elapsed time every iteration. Unused atoms (a zero row of X) are handled by a chosen
//! [`UnusedAtoms`] policy and **counted** in every record (`n_replaced_atoms`), never silently.
//!
//! The other learners of the module share the [`DictionaryLearner`] trait and the engine:
//! [`OnlineDl`], [`AltMinDict`], [`ApproxGradient`] (Arora et al. / NOODL), [`Msp`] (ℓ4 over the
//! orthogonal group) and [`L4Sphere`] (overcomplete ℓ4 over the sphere, with the landscape tools
//! of [`l4`]).
//!
//! ## References
//! * Engan, Aase, Husøy (1999), "Method of optimal directions for frame design", ICASSP, eq. (5).
//! * Aharon, Elad, Bruckstein (2006), "K-SVD", IEEE TSP 54(11), Algorithm 1 (fig. 2).
//! * Rubinstein, Zibulevsky, Elad (2008), Technion CS-2008-08, Algorithm 5 (approximate K-SVD).
//! * Mairal, Bach, Ponce, Sapiro (2010), "Online learning for matrix factorization and sparse
//!   coding", JMLR 11, Algorithm 2 (block-coordinate dictionary update).

pub mod init;
pub mod observe;
pub mod sparsity;

crate::method_modules! {
    /// The classical learners of this module, in the order `dictlab methods` lists them.
    LEARNER_SPECS: LearnerSpec {
        mod update: MOD_SPEC, BCD_SPEC, KSVD_SPEC, AKSVD_SPEC;
        mod online: SPEC;
        mod altmindict: SPEC;
        mod agd: ARORA_SPEC, NOODL_SPEC;
        mod msp: SPEC;
        mod l4: SPEC;
        mod sgd: SPEC;
        mod itkrm: SPEC;
    }
}

pub use agd::{ApproxGradient, Decoder};
pub use altmindict::AltMinDict;
pub use init::{ClusteringInit, PairwiseSpectral, SpectralInit};
pub use l4::{L4Objective, L4Sphere, PointKind, Precondition, SphereSolver};
pub use msp::Msp;
pub use observe::RecoveryObserver;
pub use online::{Forgetting, OnlineDl, Sufficient};
pub use update::{Bcd, DictUpdate, Ksvd, Mod};

use crate::code::{SparseCoder, check_problem};
use crate::error::{Error, Result, ensure};
use crate::generate::normalize_columns;
use crate::iter::{self, Iterative, Observer, Record, Schedule, SolveInfo, Stop};
use crate::rng::{Rng64, rng_from_seed};
use crate::spec::{Context, Dflt, MethodSpec, Param, Params, Ty};
use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand::seq::index::sample;

/// Initial dictionary.
#[derive(Clone, Debug)]
pub enum Init {
    /// A given n × m dictionary (normalised on use).
    Given(Array2<f64>),
    /// m distinct random columns of Y, normalised.
    RandomData,
    /// Gaussian with unit-norm columns.
    Gaussian,
    /// Arora et al. 2015's pairwise-reweighting spectral initialization ([`PairwiseSpectral`]).
    Spectral(PairwiseSpectral),
    /// Agarwal et al. 2014's correlation-graph clustering initialization ([`ClusteringInit`]).
    Clustering(ClusteringInit),
    /// `truth` with every column moved to columnwise distance `dist` along a random orthogonal
    /// direction (for local-convergence experiments): ‖a_i − a*_i‖ = dist exactly.
    NearTruth {
        /// The true dictionary.
        truth: Array2<f64>,
        /// Columnwise distance in (0, √2].
        dist: f64,
    },
}

impl Init {
    /// Build the initial n × m dictionary.
    pub fn build(
        &self,
        y: ArrayView2<'_, f64>,
        m: usize,
        rng: &mut impl Rng,
    ) -> Result<Array2<f64>> {
        let (n, nn) = y.dim();
        let mut d = match self {
            Init::Given(d) => {
                if d.dim() != (n, m) {
                    return Err(Error::shape("initial dictionary (n × m)", (n, m), d.dim()));
                }
                d.clone()
            }
            Init::RandomData => {
                ensure!(
                    nn >= m,
                    "n_samples",
                    nn,
                    format!("at least m = {m} samples to initialise from data columns")
                );
                let idx = sample(rng, nn, m).into_vec();
                let mut d = Array2::zeros((n, m));
                for (j, &i) in idx.iter().enumerate() {
                    d.column_mut(j).assign(&y.column(i));
                }
                d
            }
            Init::Gaussian => crate::generate::dictionary::gaussian_matrix(n, m, rng),
            Init::Spectral(p) => p.build(y, m, rng)?.dict,
            Init::Clustering(c) => c.build(y, m, rng)?.dict,
            Init::NearTruth { truth, dist } => {
                ensure!(
                    truth.dim() == (n, m),
                    "truth",
                    format!("{:?}", truth.dim()),
                    format!("an n × m = {n} × {m} dictionary")
                );
                ensure!(
                    *dist > 0.0 && *dist <= std::f64::consts::SQRT_2,
                    "dist",
                    dist,
                    "a columnwise distance in (0, √2]"
                );
                let mut t = truth.clone();
                normalize_columns(&mut t)?;
                // ‖cos θ a + sin θ v − a‖² = 2 − 2 cos θ = dist²
                let cos = 1.0 - dist * dist / 2.0;
                let sin = (1.0 - cos * cos).max(0.0).sqrt();
                let mut d = Array2::zeros((n, m));
                for j in 0..m {
                    let a = t.column(j);
                    let mut v = ndarray::Array1::from_iter(
                        (0..n).map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal)),
                    );
                    let p = v.dot(&a);
                    v.scaled_add(-p, &a);
                    let nv = v.dot(&v).sqrt().max(1e-300);
                    d.column_mut(j).assign(&(&a * cos + &(v / nv) * sin));
                }
                d
            }
        };
        normalize_columns(&mut d).map_err(|_| {
            Error::invalid(
                "init",
                "a zero column",
                "non-zero initial atoms (zero signals cannot initialise atoms; drop them)",
            )
        })?;
        Ok(d)
    }
}

/// What to do with an atom no signal uses after the coding step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnusedAtoms {
    /// Leave it (it stays unit-norm, unchanged).
    Keep,
    /// Replace it by the (normalised) worst-reconstructed signal (K-SVD's rule).
    WorstReconstructed,
    /// Replace it by a random (normalised) signal.
    RandomSample,
}

impl crate::spec::Choice for UnusedAtoms {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "keep" => Some(UnusedAtoms::Keep),
            "worst" => Some(UnusedAtoms::WorstReconstructed),
            "random" => Some(UnusedAtoms::RandomSample),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            UnusedAtoms::Keep => "keep",
            UnusedAtoms::WorstReconstructed => "worst",
            UnusedAtoms::RandomSample => "random",
        }
    }
}

crate::declare_method! {
    /// The outer loop of [`AlternatingMinimization`], shared by `mod`, `bcd`, `ksvd` and
    /// `aksvd`: how many iterations, when to stop early, and the "dictionary clearing" of
    /// Rubinstein et al.'s K-SVD box (their defaults: absolute cosine 0.99 and 4 signals; here 1
    /// signal).
    /// Without the clearing, two atoms converging to the same true atom stay stuck there and
    /// the run stalls short of full recovery.
    #[derive(Clone, Debug, PartialEq)]
    pub struct AltMinOptions {
        given {}
        params {
            /// outer iterations (code all signals, update all atoms)
            max_iters as "iters": usize = param(Count, 50);
            /// stop when ½‖Y − AX‖² decreases by less than this fraction in an iteration (0: off)
            rel_tol: f64 = param(NonNegative, 0.0);
            /// unused-atom policy: keep, the worst-reconstructed signal, or a random signal
            unused: UnusedAtoms = choice(["keep", "worst", "random"], "worst");
            /// an atom whose absolute cosine with another one exceeds this is a duplicate, replaced like an unused atom (1 disables)
            dup_cos: f64 = param(Fraction, 0.99);
            /// atoms used by fewer signals count as unused
            min_usage: usize = param(Natural, 1);
        }
    }
}

impl Default for AltMinOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Alternating minimization: `coder` for X, `update` for A, the outer loop's [`AltMinOptions`].
#[derive(Clone, Debug)]
pub struct AlternatingMinimization<C, U> {
    /// Coder.
    pub coder: C,
    /// Dictionary update.
    pub update: U,
    /// The outer loop (declared parameters).
    pub opts: AltMinOptions,
}

/// State of a learner: the dictionary, the last codes and counters.
#[derive(Clone, Debug)]
pub struct LearnState {
    /// Current dictionary (n × m, unit-norm columns).
    pub dict: Array2<f64>,
    /// Codes from the last coding step (m × N).
    pub codes: Array2<f64>,
    /// Atoms replaced so far.
    pub replaced_total: usize,
    /// Atoms replaced at the last iteration.
    pub replaced_last: usize,
    /// ½‖Y − AX‖² after the last update (online and stochastic learners: on the last minibatch).
    pub data_fit: f64,
    /// Minibatch steps / outer iterations done.
    pub step: usize,
    /// Signals coded so far (counts repeats over epochs).
    pub samples_seen: usize,
    /// Sufficient statistics of the online learner (None for batch learners).
    pub stats: Option<Sufficient>,
    /// Sample order of the current epoch and the position in it (stochastic learners).
    pub order: Vec<usize>,
    /// Position in `order`.
    pub cursor: usize,
    /// The learner's random stream (replacement of unused atoms, minibatch order).
    pub rng: Rng64,
}

impl LearnState {
    /// A fresh state around an initial dictionary (codes m × 0 and `data_fit` 0 until the first
    /// step, unless the learner sets them).
    pub fn new(dict: Array2<f64>, rng: Rng64) -> Self {
        let m = dict.ncols();
        LearnState {
            dict,
            codes: Array2::zeros((m, 0)),
            replaced_total: 0,
            replaced_last: 0,
            data_fit: 0.0,
            step: 0,
            samples_seen: 0,
            stats: None,
            order: vec![],
            cursor: 0,
            rng,
        }
    }
}

impl LearnState {
    /// The next minibatch of `b` signals of `y` (n × N): consecutive slices of an epoch-wise
    /// permutation drawn from the state's RNG (a new permutation when the epoch is used up).
    pub fn next_minibatch(&mut self, y: ArrayView2<'_, f64>, b: usize) -> Array2<f64> {
        let idx = next_epoch_batch(
            &mut self.order,
            &mut self.cursor,
            y.ncols(),
            b,
            &mut self.rng,
        );
        y.select(Axis(1), idx)
    }
    /// The engine objective of every learner: `data_fit`, or NaN once the dictionary is non-finite
    /// (the engine then records `NonFinite`).
    pub fn objective_value(&self) -> f64 {
        if self.dict.iter().any(|v| !v.is_finite()) {
            f64::NAN
        } else {
            self.data_fit
        }
    }
}

/// The next `b` (at most `nn`) sample indices of an epoch-wise permutation of `0..nn` drawn from
/// `rng`: consecutive slices of `order` from `cursor`, with a new permutation when the epoch is
/// used up (or `nn` changed). Shared by every minibatch learner and trainer.
pub fn next_epoch_batch<'a>(
    order: &'a mut Vec<usize>,
    cursor: &mut usize,
    nn: usize,
    b: usize,
    rng: &mut Rng64,
) -> &'a [usize] {
    use rand::seq::SliceRandom;
    let b = b.min(nn);
    if order.len() != nn || *cursor + b > nn {
        *order = (0..nn).collect();
        order.shuffle(rng);
        *cursor = 0;
    }
    let start = *cursor;
    *cursor += b;
    &order[start..start + b]
}

/// The spec of a dictionary learner (see [`crate::spec`]): what [`crate::registry`] lists.
/// Every learner also takes [`INIT_PARAMS`] (read by the registry into an [`Init`]).
pub type LearnerSpec = MethodSpec<Box<dyn DictionaryLearner>>;

/// The parameters every learner takes: its start.
pub const INIT_PARAMS: &[Param] = &[
    Param::new(
        "init",
        Ty::Choice(&["data", "gaussian", "spectral", "clustering", "near"]),
        Dflt::Str("data"),
        "start: random signals, Gaussian, Arora's spectral, Agarwal's clustering, or A* perturbed",
    ),
    Param::new(
        "init_dist",
        Ty::Positive,
        Dflt::Float(0.5),
        "with init = near: columnwise distance of the start from A*",
    ),
];

/// The start that `init` / `init_dist` describe (`near` needs the planted dictionary).
///
/// # Errors
/// `init = near` without a planted dictionary in `ctx`.
pub fn init_from_params(p: &Params<'_>, ctx: &Context<'_>) -> Result<Init> {
    Ok(match p.choice("init")?.as_str() {
        "gaussian" => Init::Gaussian,
        "spectral" => Init::Spectral(Default::default()),
        "clustering" => Init::Clustering(Default::default()),
        "near" => Init::NearTruth {
            truth: ctx.truth.cloned().ok_or_else(|| {
                p.conflict(
                    "init = near",
                    "a planted dictionary (init = \"near\" works in sweeps over planted instances, and with --truth on the command line)",
                )
            })?,
            dist: p.f64("init_dist")?,
        },
        _ => Init::RandomData,
    })
}

/// The parameter `epochs` (passes over the data) with its default.
pub const fn epochs_param(default: f64) -> Param {
    Param::new(
        "epochs",
        Ty::Positive,
        Dflt::Float(default),
        "passes over the data",
    )
}

/// The parameter `batch` (signals per minibatch) with its default.
pub const fn batch_param(default: usize) -> Param {
    Param::new(
        "batch",
        Ty::Count,
        Dflt::Int(default as i64),
        "signals per minibatch",
    )
}

/// The parameter `lambda` of learners whose coding step is OMP unless a penalty is given.
pub const CODER_LAMBDA: Param = Param::new(
    "lambda",
    Ty::Positive,
    Dflt::Auto("unset: OMP with k atoms"),
    "code with the Lasso (LARS) at this λ instead of OMP",
);

/// The coding step of `mod`, `bcd` and `online`: the Lasso (LARS) at `lambda` (or at the λ of the
/// k-matched rule with `lambda_scale`, [`Params::lambda`]) if given, else OMP with `sparsity` (or
/// the instance's k, or k̂ in the blind track) atoms.
///
/// # Errors
/// Neither `lambda` nor a sparsity known.
pub fn coder_from_params(p: &Params<'_>, ctx: &Context<'_>) -> Result<Box<dyn SparseCoder>> {
    Ok(match p.lambda(ctx)? {
        Some(l) => Box::new(crate::code::LarsLasso::new(l)),
        None => Box::new(crate::code::Omp::with_sparsity(p.sparsity(ctx)?)),
    })
}

/// A dictionary learner: learns `m` atoms from `y` (n × N) from an [`Init`], on the shared
/// iteration engine, reporting to an observer of [`LearnState`] (e.g. [`RecoveryObserver`]).
pub trait DictionaryLearner: Send + Sync {
    /// Parametrised name, e.g. `mod+omp[k=5]`.
    fn name(&self) -> String;
    /// Learn, observing the state on `schedule`.
    ///
    /// # Errors
    /// Bad input (fewer samples than atoms, non-finite or all-zero signals, invalid parameters).
    fn learn_observed(
        &self,
        y: ArrayView2<'_, f64>,
        m: usize,
        init: &Init,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<LearnState>,
    ) -> Result<Learned>;
    /// Learn without an observer.
    fn learn(&self, y: ArrayView2<'_, f64>, m: usize, init: &Init, seed: u64) -> Result<Learned> {
        self.learn_observed(y, m, init, seed, Schedule::Never, &mut iter::NoObserver)
    }
}

/// The prologue every learner's `learn_observed` shares: [`check_signals`], the learner's random
/// stream from `seed`, and the start `init` builds from it. Returns the start (n × m, unit-norm
/// columns) and the stream, positioned after the start was drawn.
///
/// # Errors
/// As [`check_signals`] and [`Init::build`].
pub fn start(
    y: ArrayView2<'_, f64>,
    m: usize,
    init: &Init,
    seed: u64,
) -> Result<(Array2<f64>, Rng64)> {
    check_signals(y, m)?;
    let mut rng = rng_from_seed(seed);
    let d0 = init.build(y, m, &mut rng)?;
    Ok((d0, rng))
}

/// mean ‖y‖² over the columns of `y` (0 for no columns): the signal power the λ rule of
/// [`crate::spec::LAMBDA_SCALE`] reads.
pub fn signal_power(y: ArrayView2<'_, f64>) -> f64 {
    2.0 * zero_code_fit(y) / y.ncols().max(1) as f64
}

/// ½‖Y‖²_F: the data fit of the zero code, what a learner reports before its first step (divided
/// by N where its data fit is a mean over signals).
pub(crate) fn zero_code_fit(y: ArrayView2<'_, f64>) -> f64 {
    0.5 * y.iter().map(|v| v * v).sum::<f64>()
}

/// Minibatch steps for `epochs` passes over `nn` signals in batches of `batch`: ⌈epochs·N / b⌉,
/// at least 1 — what "passes over the data" means for every minibatch learner.
pub(crate) fn minibatch_steps(epochs: f64, nn: usize, batch: usize) -> usize {
    ((epochs * nn as f64) / batch as f64).ceil().max(1.0) as usize
}

/// The checks every learner makes on its training signals: `m ≥ 1`, at least m samples, finite
/// values, not all zero.
pub fn check_signals(y: ArrayView2<'_, f64>, m: usize) -> Result<()> {
    let nn = y.ncols();
    ensure!(m >= 1, "n_atoms", m, "m ≥ 1");
    ensure!(
        nn >= m,
        "n_samples",
        nn,
        format!("at least as many samples as atoms (m = {m}); pass more signals or fewer atoms")
    );
    crate::error::check_finite("signals", y)?;
    ensure!(
        y.iter().any(|v| *v != 0.0),
        "signals",
        "all zero",
        "signals with some energy"
    );
    // squares (Gram matrices, statistics) and fourth powers (ℓ4) of signals far from unit scale
    // underflow or overflow: refused with the fix rather than learned wrong
    let rms = signal_power(y).sqrt();
    if !(SIGNAL_SCALE.0..=SIGNAL_SCALE.1).contains(&rms) {
        return Err(Error::invalid(
            "signals",
            format!("root-mean-square signal norm {rms:.3e}"),
            format!(
                "signals at a scale in [{:.0e}, {:.0e}], where the learners' squares and fourth powers keep their precision: divide them by their largest norm first",
                SIGNAL_SCALE.0, SIGNAL_SCALE.1
            ),
        ));
    }
    Ok(())
}

/// The range of root-mean-square signal norms every learner accepts ([`check_signals`]).
pub const SIGNAL_SCALE: (f64, f64) = (1e-50, 1e50);

/// Atoms to replace: used by fewer than `min_usage` signals (a zero row of `codes` always counts),
/// or within |cos| > `dup_cos` of another atom (the less used of the pair).
pub(crate) fn clearing_candidates(
    dict: ArrayView2<'_, f64>,
    codes: ArrayView2<'_, f64>,
    min_usage: usize,
    dup_cos: f64,
) -> Vec<usize> {
    let m = dict.ncols();
    let usage: Vec<usize> = codes
        .rows()
        .into_iter()
        .map(|r| r.iter().filter(|v| **v != 0.0).count())
        .collect();
    let mut bad: Vec<bool> = usage.iter().map(|&u| u == 0 || u < min_usage).collect();
    let weight: Vec<f64> = usage.iter().map(|&u| u as f64).collect();
    mark_duplicates(dict, &weight, &mut bad, dup_cos);
    (0..m).filter(|&j| bad[j]).collect()
}

/// Mark as `bad` the less used atom (by `usage`) of every pair of atoms not yet bad with
/// |cos| > `dup_cos` (no-op for `dup_cos ≥ 1`); `dict` has unit-norm columns.
pub(crate) fn mark_duplicates(
    dict: ArrayView2<'_, f64>,
    usage: &[f64],
    bad: &mut [bool],
    dup_cos: f64,
) {
    if dup_cos >= 1.0 {
        return;
    }
    let m = dict.ncols();
    let g = crate::linalg::gram(dict, crate::linalg::par());
    for i in 0..m {
        if bad[i] {
            continue;
        }
        for j in i + 1..m {
            if !bad[j] && g[(i, j)].abs() > dup_cos {
                let drop = if usage[j] <= usage[i] { j } else { i };
                bad[drop] = true;
                if drop == i {
                    break;
                }
            }
        }
    }
}

/// Replace the atoms listed in `unused` by signals chosen by `policy` among the columns of `y`
/// (`codes` aligned with `y`: the worst-reconstructed ones, or random ones); returns how many were
/// replaced. Zero signals are never used.
pub(crate) fn replace_atoms(
    dict: &mut Array2<f64>,
    y: ArrayView2<'_, f64>,
    codes: &Array2<f64>,
    unused: &[usize],
    policy: UnusedAtoms,
    rng: &mut Rng64,
) -> usize {
    if unused.is_empty() || policy == UnusedAtoms::Keep {
        return 0;
    }
    let nn = y.ncols();
    let order: Vec<usize> = match policy {
        UnusedAtoms::WorstReconstructed => {
            let r = crate::code::residual(dict.view(), y, codes.view());
            let mut idx: Vec<(f64, usize)> = r
                .axis_iter(Axis(1))
                .enumerate()
                .map(|(j, c)| (c.dot(&c), j))
                .collect();
            idx.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
            idx.into_iter().map(|x| x.1).collect()
        }
        _ => sample(rng, nn, nn.min(4 * unused.len() + 8)).into_vec(),
    };
    let mut it = order
        .into_iter()
        .filter(|&j| y.column(j).iter().any(|v| *v != 0.0));
    let mut replaced = 0;
    for &a in unused {
        if let Some(j) = it.next() {
            let c = y.column(j);
            let nc = c.dot(&c).sqrt();
            dict.column_mut(a).assign(&(&c / nc));
            replaced += 1;
        }
    }
    replaced
}

/// Result of learning.
#[derive(Clone, Debug)]
pub struct Learned {
    /// Learned dictionary.
    pub dict: Array2<f64>,
    /// Last codes.
    pub codes: Array2<f64>,
    /// Engine diagnostics.
    pub info: SolveInfo,
    /// Atoms replaced in total.
    pub replaced_atoms: usize,
}

impl Learned {
    /// The result of a run that ended in state `s`.
    pub fn from_state(s: LearnState, info: SolveInfo) -> Self {
        Learned {
            dict: s.dict,
            codes: s.codes,
            info,
            replaced_atoms: s.replaced_total,
        }
    }
}

impl<C: SparseCoder, U: DictUpdate> AlternatingMinimization<C, U> {
    /// Compose a coder and an update, the outer loop at its declared defaults.
    pub fn new(coder: C, update: U) -> Self {
        AlternatingMinimization {
            coder,
            update,
            opts: AltMinOptions::new(),
        }
    }
    /// Outer iterations.
    #[must_use]
    pub fn max_iters(mut self, n: usize) -> Self {
        self.opts.max_iters = n;
        self
    }
    /// Unused-atom policy.
    #[must_use]
    pub fn unused(mut self, p: UnusedAtoms) -> Self {
        self.opts.unused = p;
        self
    }
    /// The whole outer loop.
    #[must_use]
    pub fn opts(mut self, opts: AltMinOptions) -> Self {
        self.opts = opts;
        self
    }
}

impl<C: SparseCoder, U: DictUpdate> DictionaryLearner for AlternatingMinimization<C, U> {
    fn name(&self) -> String {
        format!("{}+{}", self.update.name(), self.coder.name())
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
        self.opts.check_params()?;
        let (dict, rng) = crate::learn::start(y, m, init, seed)?;
        check_problem(dict.view(), y)?;
        let mut alg = AltMinAlg { p: self, y };
        let mut state = LearnState::new(dict, rng);
        state.data_fit = zero_code_fit(y);
        let stop = Stop {
            max_iters: self.opts.max_iters,
            rel_decrease: (self.opts.rel_tol > 0.0).then_some(self.opts.rel_tol),
            ..Default::default()
        };
        let (s, info) = iter::run(&mut alg, state, &stop, schedule, obs)?;
        Ok(Learned::from_state(s, info))
    }
}

struct AltMinAlg<'a, C, U> {
    p: &'a AlternatingMinimization<C, U>,
    y: ArrayView2<'a, f64>,
}

/// ½‖Y − AX‖².
pub(crate) fn data_fit(
    d: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
) -> f64 {
    0.5 * crate::code::residual(d, y, x)
        .iter()
        .map(|v| v * v)
        .sum::<f64>()
}

impl<C: SparseCoder, U: DictUpdate> Iterative for AltMinAlg<'_, C, U> {
    type State = LearnState;
    fn step(&mut self, s: &mut LearnState) -> Result<()> {
        let enc = self.p.coder.encode(s.dict.view(), self.y)?;
        s.codes = enc.codes;
        // unused atoms
        let unused = clearing_candidates(
            s.dict.view(),
            s.codes.view(),
            self.p.opts.min_usage,
            self.p.opts.dup_cos,
        );
        for &j in &unused {
            s.codes.row_mut(j).fill(0.0);
        }
        s.replaced_last = replace_atoms(
            &mut s.dict,
            self.y,
            &s.codes,
            &unused,
            self.p.opts.unused,
            &mut s.rng,
        );
        s.replaced_total += s.replaced_last;
        self.p.update.update(&mut s.dict, self.y, &mut s.codes)?;
        s.data_fit = data_fit(s.dict.view(), self.y, s.codes.view());
        s.step += 1;
        s.samples_seen += self.y.ncols();
        Ok(())
    }
    fn objective(&self, s: &LearnState) -> f64 {
        s.objective_value()
    }
    fn record(&self, s: &LearnState, rec: &mut Record) {
        rec.set("data_fit", s.data_fit);
        rec.set("n_replaced_atoms", s.replaced_last as f64);
        rec.set("n_replaced_total", s.replaced_total as f64);
    }
}

/// Checkpoint format version written by [`LearnState::save`].
const CHECKPOINT_VERSION: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct CheckpointMeta {
    version: u32,
    replaced_total: usize,
    replaced_last: usize,
    data_fit_bits: u64,
    step: usize,
    samples_seen: usize,
    has_stats: bool,
    order: Vec<usize>,
    cursor: usize,
    rng_seed: [u8; 32],
    rng_stream: u64,
    rng_word_pos: u128,
}

impl LearnState {
    /// Write the whole state to directory `dir` (`dict.npy`, `codes.npy`, `stat_a.npy`,
    /// `stat_b.npy`, `state.json` with the counters and the RNG position), so that
    /// [`LearnState::load`] + continuing gives a run **bit-identical** to an uninterrupted one.
    ///
    /// # Errors
    /// I/O errors, named with the path.
    pub fn save(&self, dir: impl AsRef<std::path::Path>) -> Result<()> {
        let dir = dir.as_ref();
        crate::io::create_dir(dir)?;
        crate::io::write_matrix(dir.join("dict.npy"), &self.dict)?;
        crate::io::write_matrix(dir.join("codes.npy"), &self.codes)?;
        if let Some(st) = &self.stats {
            crate::io::write_matrix(dir.join("stat_a.npy"), &st.a)?;
            crate::io::write_matrix(dir.join("stat_b.npy"), &st.b)?;
        }
        let meta = CheckpointMeta {
            version: CHECKPOINT_VERSION,
            replaced_total: self.replaced_total,
            replaced_last: self.replaced_last,
            data_fit_bits: self.data_fit.to_bits(),
            step: self.step,
            samples_seen: self.samples_seen,
            has_stats: self.stats.is_some(),
            order: self.order.clone(),
            cursor: self.cursor,
            rng_seed: self.rng.get_seed(),
            rng_stream: self.rng.get_stream(),
            rng_word_pos: self.rng.get_word_pos(),
        };
        crate::io::write_json(dir.join("state.json"), &meta)
    }

    /// Read a state written by [`LearnState::save`].
    ///
    /// # Errors
    /// Missing files, a different checkpoint version, inconsistent shapes.
    pub fn load(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        use rand::SeedableRng;
        let dir = dir.as_ref();
        let path = dir.join("state.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::File {
            action: "read",
            path: path.clone(),
            source: Box::new(e),
        })?;
        let meta: CheckpointMeta = serde_json::from_str(&text)?;
        ensure!(
            meta.version == CHECKPOINT_VERSION,
            "checkpoint version",
            meta.version,
            format!("a checkpoint written by this dictlab (version {CHECKPOINT_VERSION})")
        );
        let dict = crate::io::read_matrix(dir.join("dict.npy"), "checkpoint dictionary")?;
        let codes = crate::io::read_matrix(dir.join("codes.npy"), "checkpoint codes")?;
        let stats = if meta.has_stats {
            let a = crate::io::read_matrix(dir.join("stat_a.npy"), "checkpoint statistic A")?;
            let b = crate::io::read_matrix(dir.join("stat_b.npy"), "checkpoint statistic B")?;
            let m = dict.ncols();
            if a.dim() != (m, m) || b.dim() != dict.dim() {
                return Err(Error::shape("checkpoint statistics", (m, m), a.dim()));
            }
            Some(Sufficient { a, b })
        } else {
            None
        };
        let mut rng = Rng64::from_seed(meta.rng_seed);
        rng.set_stream(meta.rng_stream);
        rng.set_word_pos(meta.rng_word_pos);
        Ok(LearnState {
            dict,
            codes,
            replaced_total: meta.replaced_total,
            replaced_last: meta.replaced_last,
            data_fit: f64::from_bits(meta.data_fit_bits),
            step: meta.step,
            samples_seen: meta.samples_seen,
            stats,
            order: meta.order,
            cursor: meta.cursor,
            rng,
        })
    }
}
