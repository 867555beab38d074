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
//! ## References
//! * Engan, Aase, Husøy (1999), "Method of optimal directions for frame design", ICASSP, eq. (5).
//! * Aharon, Elad, Bruckstein (2006), "K-SVD", IEEE TSP 54(11), Algorithm 1 (fig. 2).
//! * Rubinstein, Zibulevsky, Elad (2008), Technion CS-2008-08, Algorithm 5 (approximate K-SVD).
//! * Mairal, Bach, Ponce, Sapiro (2010), "Online learning for matrix factorization and sparse
//!   coding", JMLR 11, Algorithm 2 (block-coordinate dictionary update).

pub mod update;

pub use update::{Bcd, DictUpdate, Ksvd, Mod};

use crate::code::{SparseCoder, check_problem};
use crate::error::{Error, Result, ensure};
use crate::generate::normalize_columns;
use crate::iter::{self, Iterative, Observer, Record, Schedule, SolveInfo, Stop};
use crate::rng::{Rng64, rng_from_seed};
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

/// Alternating minimization: `coder` for X, `update` for A.
///
/// | Name | Default | Purpose | Range |
/// |---|---|---|---|
/// | `coder` | — | any [`SparseCoder`] | |
/// | `update` | — | any [`DictUpdate`] | |
/// | `unused` | WorstReconstructed | unused-atom policy | |
/// | `max_iters` | 50 | outer iterations | ≥ 1 |
/// | `rel_tol` | 0 (off) | stop on relative decrease of ½‖Y − AX‖² | ≥ 0 |
pub struct AlternatingMinimization<C, U> {
    /// Coder.
    pub coder: C,
    /// Dictionary update.
    pub update: U,
    /// Unused-atom policy.
    pub unused: UnusedAtoms,
    /// Outer iterations.
    pub max_iters: usize,
    /// Relative-decrease tolerance.
    pub rel_tol: f64,
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
    /// ½‖Y − AX‖² after the last update.
    pub data_fit: f64,
    rng: Rng64,
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

impl<C: SparseCoder, U: DictUpdate> AlternatingMinimization<C, U> {
    /// Compose a coder and an update (50 iterations, worst-reconstructed replacement).
    pub fn new(coder: C, update: U) -> Self {
        AlternatingMinimization {
            coder,
            update,
            unused: UnusedAtoms::WorstReconstructed,
            max_iters: 50,
            rel_tol: 0.0,
        }
    }
    /// Outer iterations.
    pub fn max_iters(mut self, n: usize) -> Self {
        self.max_iters = n;
        self
    }
    /// Unused-atom policy.
    pub fn unused(mut self, p: UnusedAtoms) -> Self {
        self.unused = p;
        self
    }
    /// Parametrised name, e.g. `mod+omp[k=5]`.
    pub fn name(&self) -> String {
        format!("{}+{}", self.update.name(), self.coder.name())
    }

    /// Learn `m` atoms from `y` (n × N), observing the state on `schedule`.
    ///
    /// # Errors
    /// Fewer samples than atoms, non-finite or all-zero signals, invalid coder parameters.
    pub fn learn_observed(
        &self,
        y: ArrayView2<'_, f64>,
        m: usize,
        init: &Init,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<LearnState>,
    ) -> Result<Learned> {
        let nn = y.ncols();
        ensure!(m >= 1, "n_atoms", m, "m ≥ 1");
        ensure!(
            nn >= m,
            "n_samples",
            nn,
            format!("at least as many samples as atoms (m = {m})")
        );
        ensure!(self.max_iters >= 1, "max_iters", self.max_iters, "≥ 1");
        crate::error::check_finite("signals", y)?;
        let zero = y
            .axis_iter(Axis(1))
            .filter(|c| c.iter().all(|v| *v == 0.0))
            .count();
        ensure!(zero < nn, "signals", "all zero", "signals with some energy");
        let mut rng = rng_from_seed(seed);
        let dict = init.build(y, m, &mut rng)?;
        check_problem(dict.view(), y)?;
        let mut alg = AltMinAlg { p: self, y };
        let state = LearnState {
            codes: Array2::zeros((m, nn)),
            dict,
            replaced_total: 0,
            replaced_last: 0,
            data_fit: 0.5 * y.iter().map(|v| v * v).sum::<f64>(),
            rng,
        };
        let stop = Stop {
            max_iters: self.max_iters,
            rel_decrease: (self.rel_tol > 0.0).then_some(self.rel_tol),
            ..Default::default()
        };
        let (s, info) = iter::run(&mut alg, state, &stop, schedule, obs)?;
        Ok(Learned {
            dict: s.dict,
            codes: s.codes,
            info,
            replaced_atoms: s.replaced_total,
        })
    }

    /// Learn without an observer.
    pub fn learn(
        &self,
        y: ArrayView2<'_, f64>,
        m: usize,
        init: &Init,
        seed: u64,
    ) -> Result<Learned> {
        self.learn_observed(y, m, init, seed, Schedule::Never, &mut iter::NoObserver)
    }
}

struct AltMinAlg<'a, C, U> {
    p: &'a AlternatingMinimization<C, U>,
    y: ArrayView2<'a, f64>,
}

fn data_fit(d: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>, x: ArrayView2<'_, f64>) -> f64 {
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
        let m = s.dict.ncols();
        let unused: Vec<usize> = (0..m)
            .filter(|&j| s.codes.row(j).iter().all(|v| *v == 0.0))
            .collect();
        s.replaced_last = 0;
        if !unused.is_empty() && self.p.unused != UnusedAtoms::Keep {
            let nn = self.y.ncols();
            let order: Vec<usize> = match self.p.unused {
                UnusedAtoms::WorstReconstructed => {
                    let r = crate::code::residual(s.dict.view(), self.y, s.codes.view());
                    let mut idx: Vec<(f64, usize)> = r
                        .axis_iter(Axis(1))
                        .enumerate()
                        .map(|(j, c)| (c.dot(&c), j))
                        .collect();
                    idx.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
                    idx.into_iter().map(|x| x.1).collect()
                }
                _ => sample(&mut s.rng, nn, nn.min(4 * unused.len() + 8)).into_vec(),
            };
            let mut it = order
                .into_iter()
                .filter(|&j| self.y.column(j).iter().any(|v| *v != 0.0));
            for &a in &unused {
                if let Some(j) = it.next() {
                    let c = self.y.column(j);
                    let nc = c.dot(&c).sqrt();
                    s.dict.column_mut(a).assign(&(&c / nc));
                    s.codes.row_mut(a).fill(0.0);
                    s.replaced_last += 1;
                }
            }
            s.replaced_total += s.replaced_last;
        }
        self.p.update.update(&mut s.dict, self.y, &mut s.codes)?;
        s.data_fit = data_fit(s.dict.view(), self.y, s.codes.view());
        Ok(())
    }
    fn objective(&self, s: &LearnState) -> f64 {
        if s.dict.iter().any(|v| !v.is_finite()) {
            f64::NAN
        } else {
            s.data_fit
        }
    }
    fn record(&self, s: &LearnState, rec: &mut Record) {
        rec.set("data_fit", s.data_fit);
        rec.set("n_replaced_atoms", s.replaced_last as f64);
        rec.set("n_replaced_total", s.replaced_total as f64);
    }
}
