//! Dictionary learning through the unrolled encoder: [`UnrolledDl`] (SGD or Adam on one of the
//! gradients of [`super::Gradient`], columns renormalized), its state and PUDLE's start near the
//! truth ([`init_near`]).

use super::*;
use crate::error::{Error, Result, ensure};
use crate::generate::normalize_columns;
use crate::iter::{self, Iterative, Observer, Record, Schedule, SolveInfo, Stop};
use crate::neural::optim::{OptState, Optimizer};
use crate::rng::{Rng64, rng_from_seed};
use ndarray::{Array2, ArrayView2, Axis};

/// PUDLE's initialization near the truth: `D* + std · N(0, 1)` entrywise, columns normalized
/// (`std` is per entry, so the column perturbation is ≈ std·√n).
///
/// # Errors
/// `std` negative or not finite; a zero column after perturbation.
pub fn init_near(truth: ArrayView2<'_, f64>, std: f64, rng: &mut Rng64) -> Result<Array2<f64>> {
    ensure!(
        std.is_finite() && std >= 0.0,
        "dict_init",
        std,
        "a per-entry std ≥ 0"
    );
    let noise = crate::generate::dictionary::gaussian_matrix(truth.nrows(), truth.ncols(), rng);
    let mut d = &truth + &(noise * std);
    normalize_columns(&mut d)?;
    Ok(d)
}

/// Dictionary learning through an unrolled encoder.
#[derive(Clone, Debug, PartialEq)]
pub struct UnrolledDl {
    /// The encoder.
    pub model: Unrolled,
    /// Which gradient drives D.
    pub gradient: Gradient,
    /// SGD or Adam.
    pub optimizer: Optimizer,
    /// Optimizer steps.
    pub steps: usize,
    /// Minibatch size (None: full batch).
    pub batch: Option<usize>,
    /// Renormalize D's columns after every step (PUDLE: yes).
    pub normalize: bool,
    /// AEdecay's schedule: β decreases by `.0` every `.1` steps (PUDLE: 0.005 every 100), floored
    /// at 0.01.
    pub beta_decay: Option<(f64, usize)>,
    /// Stop after this wall time.
    pub time_budget: Option<std::time::Duration>,
    /// Stop when the loss decreases by less than this relative amount in one step.
    pub rel_tol: Option<f64>,
    /// Full-batch gradient descent with backtracking instead of `optimizer` (Malézieux et al.'s
    /// protocol, MMK-E3).
    pub line_search: Option<Backtracking>,
}

/// Backtracking line search on D: from step `t`, halve (×β) until the normalized
/// `D − t∇` has a lower loss; the next search starts at `min(grow · t, t_max)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backtracking {
    /// Shrink factor β ∈ (0, 1) (0.5).
    pub beta: f64,
    /// First trial step (1).
    pub t0: f64,
    /// Growth of the next start (10).
    pub grow: f64,
    /// Cap on the start (10⁴).
    pub t_max: f64,
    /// Give up after this many halvings (the step is then not taken: converged).
    pub max_halvings: usize,
}

impl Default for Backtracking {
    /// β = 0.5, t₀ = 1, growth 10, cap 10⁴, 40 halvings (Malézieux et al.'s values).
    fn default() -> Self {
        Backtracking {
            beta: 0.5,
            t0: 1.0,
            grow: 10.0,
            t_max: 1e4,
            max_halvings: 40,
        }
    }
}

/// Adam's step size of [`UnrolledDl::new`]: PUDLE's (its reproductions, notebook 07). The
/// registry's `unrolled` learner starts at its own tuned `lr` (declared on `crate::neural::learners::UnrolledLearner`).
pub const PUDLE_LR: f64 = 1e-3;

impl UnrolledDl {
    /// Full-batch Adam (lr `PUDLE_LR` = 10⁻³, ε 10⁻⁸) for `steps` steps, renormalizing.
    pub fn new(model: Unrolled, gradient: Gradient, steps: usize) -> Self {
        UnrolledDl {
            model,
            gradient,
            optimizer: Optimizer::adam(PUDLE_LR),
            steps,
            batch: None,
            normalize: true,
            beta_decay: None,
            time_budget: None,
            rel_tol: None,
            line_search: None,
        }
    }

    /// Train from `d0` (n × m) on the columns of `y` (n × N), the loss against `target` when given
    /// (supervised denoising: `y` noisy, `target` clean). `seed` drives the minibatch order.
    ///
    /// # Errors
    /// Invalid parameters or shapes, non-finite input, α·L ≥ 2 at `d0`. Divergence during training
    /// is a `NonFinite` termination.
    pub fn train(
        &self,
        d0: ArrayView2<'_, f64>,
        y: ArrayView2<'_, f64>,
        target: Option<ArrayView2<'_, f64>>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<DlState>,
    ) -> Result<(DlState, SolveInfo)> {
        self.optimizer.check()?;
        self.model.check_inputs(d0, y)?;
        if let Some(t) = target
            && t.dim() != y.dim()
        {
            return Err(Error::shape("target signals", y.dim(), t.dim()));
        }
        if let Some(b) = self.batch {
            ensure!(
                b >= 1 && b <= y.ncols(),
                "batch",
                b,
                format!("a minibatch size in [1, N = {}]", y.ncols())
            );
        }
        if let Some((db, every)) = self.beta_decay {
            ensure!(
                db.is_finite() && db >= 0.0 && every >= 1,
                "beta_decay",
                format!("({db}, {every})"),
                "a decrement ≥ 0 applied every ≥ 1 steps"
            );
        }
        let alpha_l = self.model.check_step(d0)?;
        let mut d = d0.to_owned();
        normalize_columns(&mut d)?;
        let first = self.model.gradient(d.view(), y, target, self.gradient)?;
        let state = DlState {
            loss: first.loss(self.gradient),
            grad_norm: first.grad.iter().map(|v| v * v).sum::<f64>().sqrt(),
            dict: d,
            model: self.model.clone(),
            opt: self.optimizer.start(),
            rng: rng_from_seed(seed),
            order: vec![],
            cursor: 0,
            step: 0,
            alpha_l,
            ls_step: self.line_search.map_or(f64::NAN, |b| b.t0),
        };
        let mut alg = DlIter {
            cfg: self.clone(),
            y: y.to_owned(),
            target: target.map(|t| t.to_owned()),
        };
        let stop = Stop {
            max_iters: self.steps,
            time_budget: self.time_budget,
            rel_decrease: self.rel_tol,
            ..Stop::default()
        };
        iter::run(&mut alg, state, &stop, schedule, obs)
    }
}

/// Training state of [`UnrolledDl`].
#[derive(Clone, Debug)]
pub struct DlState {
    /// The dictionary (n × m).
    pub dict: Array2<f64>,
    /// The encoder (β changes under a decay schedule).
    pub model: Unrolled,
    /// Loss of the last batch, before its step.
    pub loss: f64,
    /// ‖g‖_F of the last batch's gradient.
    pub grad_norm: f64,
    /// Steps taken.
    pub step: usize,
    /// α·L at the initial dictionary.
    pub alpha_l: f64,
    /// The last accepted line-search step (NaN without a line search).
    pub ls_step: f64,
    opt: OptState,
    rng: Rng64,
    order: Vec<usize>,
    cursor: usize,
}

pub(super) struct DlIter {
    cfg: UnrolledDl,
    y: Array2<f64>,
    target: Option<Array2<f64>>,
}

impl DlIter {
    fn batch(&self, s: &mut DlState) -> Option<Vec<usize>> {
        let b = self.cfg.batch?;
        let idx = crate::learn::next_epoch_batch(
            &mut s.order,
            &mut s.cursor,
            self.y.ncols(),
            b,
            &mut s.rng,
        );
        Some(idx.to_vec())
    }
}

impl DlIter {
    /// The loss a line search compares: the Lasso loss when the encoder has one, else `rec`.
    fn ls_loss(&self, s: &DlState, d: &Array2<f64>) -> Result<f64> {
        let ev = s.model.gradient(
            d.view(),
            self.y.view(),
            self.target.as_ref().map(|t| t.view()),
            Gradient::Dec,
        )?;
        Ok(if ev.lasso.is_finite() {
            ev.lasso
        } else {
            ev.rec
        })
    }
    fn line_search_step(&self, s: &mut DlState, ev: &GradEval, ls: Backtracking) -> Result<()> {
        let f0 = if ev.lasso.is_finite() {
            ev.lasso
        } else {
            ev.rec
        };
        let mut t = s.ls_step.min(ls.t_max);
        for _ in 0..ls.max_halvings {
            let mut d = &s.dict - &(&ev.grad * t);
            if d.columns().into_iter().all(|c| c.dot(&c) > 0.0) {
                normalize_columns(&mut d)?;
                let f = self.ls_loss(s, &d)?;
                if f < f0 {
                    s.dict = d;
                    s.loss = f;
                    s.step += 1;
                    s.ls_step = (t * ls.grow).min(ls.t_max);
                    return Ok(());
                }
            }
            t *= ls.beta;
        }
        // no decrease along −∇ at any tried step: the loss stays (rel_tol then stops the run)
        s.loss = f0;
        s.step += 1;
        Ok(())
    }
}

impl Iterative for DlIter {
    type State = DlState;
    fn step(&mut self, s: &mut DlState) -> Result<()> {
        let ev = match self.batch(s) {
            None => s.model.gradient(
                s.dict.view(),
                self.y.view(),
                self.target.as_ref().map(|t| t.view()),
                self.cfg.gradient,
            )?,
            Some(idx) => {
                let yb = self.y.select(Axis(1), &idx);
                let tb = self.target.as_ref().map(|t| t.select(Axis(1), &idx));
                s.model.gradient(
                    s.dict.view(),
                    yb.view(),
                    tb.as_ref().map(|t| t.view()),
                    self.cfg.gradient,
                )?
            }
        };
        s.loss = ev.loss(self.cfg.gradient);
        s.grad_norm = ev.grad.iter().map(|v| v * v).sum::<f64>().sqrt();
        if !s.loss.is_finite() || !s.grad_norm.is_finite() {
            s.loss = f64::NAN;
            return Ok(());
        }
        if let Some(ls) = self.cfg.line_search {
            return self.line_search_step(s, &ev, ls);
        }
        let g = ev.grad.as_standard_layout().to_owned();
        let mut x = s.dict.as_standard_layout().to_owned();
        s.opt.step(
            x.as_slice_mut().expect("standard layout"),
            g.as_slice().expect("standard layout"),
        );
        if self.cfg.normalize {
            // a column driven to zero is a divergence, not an input error
            if x.columns().into_iter().any(|c| c.dot(&c) == 0.0) {
                s.loss = f64::NAN;
                return Ok(());
            }
            normalize_columns(&mut x)?;
        }
        s.dict = x;
        s.step += 1;
        if let (Some((db, every)), Threshold::SoftDecay { lambda, beta }) =
            (self.cfg.beta_decay, s.model.threshold)
            && s.step.is_multiple_of(every)
        {
            s.model.threshold = Threshold::SoftDecay {
                lambda,
                beta: (beta - db).max(0.01),
            };
        }
        if s.dict.iter().any(|v| !v.is_finite()) {
            s.loss = f64::NAN;
        }
        Ok(())
    }
    fn objective(&self, s: &DlState) -> f64 {
        s.loss
    }
    fn record(&self, s: &DlState, rec: &mut Record) {
        rec.set("grad_norm", s.grad_norm);
    }
}
