//! The iteration engine shared by every iterative method: the iterative coders, the dictionary
//! learners and the neural trainers all run through [`run`].
//!
//! An algorithm implements [`Iterative`]: a `step` over its own state, an `objective`, a `record`
//! of per-iteration diagnostics and an optional solver-specific convergence test. [`run`] owns the
//! loop: max iterations, the generic stop rules of [`Stop`] (relative objective decrease, time
//! budget, no improvement), non-finite detection, timing that **excludes observer time** (as in
//! benchopt) and observers called on a [`Schedule`] (every k iterations or log-spaced).
//! Termination is data ([`Termination`]), never an error.

pub mod stall;
pub use stall::{Goal, Plateau, Stall};

use crate::error::Result;
#[cfg(feature = "lab")]
use polars::prelude::{Column, DataFrame};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum Termination {
    /// The iteration cap was reached.
    MaxIters,
    /// A convergence criterion was met.
    Converged(Criterion),
    /// An observer asked to stop.
    StoppedByObserver,
    /// The objective or the state became non-finite at this iteration.
    NonFinite {
        /// Iteration at which it was detected.
        iter: usize,
    },
    /// The time budget ran out.
    TimeBudget,
    /// An observer's plateau rule ([`Stall`]) saw no progress over its window.
    Stalled,
}

/// Which criterion declared convergence.
#[derive(Clone, Debug, PartialEq)]
pub enum Criterion {
    /// Relative objective decrease below [`Stop::rel_decrease`].
    RelativeDecrease,
    /// No improvement of the best objective for [`Stop::patience`] iterations.
    NoImprovement,
    /// The solver's own tolerance (e.g. a duality gap, a step size); the name says which.
    Solver(&'static str),
}

impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Termination::MaxIters => write!(f, "max_iters"),
            Termination::Converged(Criterion::RelativeDecrease) => {
                write!(f, "converged:rel_decrease")
            }
            Termination::Converged(Criterion::NoImprovement) => {
                write!(f, "converged:no_improvement")
            }
            Termination::Converged(Criterion::Solver(s)) => write!(f, "converged:{s}"),
            Termination::StoppedByObserver => write!(f, "stopped_by_observer"),
            Termination::NonFinite { iter } => write!(f, "non_finite@{iter}"),
            Termination::TimeBudget => write!(f, "time_budget"),
            Termination::Stalled => write!(f, "stalled"),
        }
    }
}

impl Termination {
    /// True unless the run hit a non-finite value.
    pub fn is_finite(&self) -> bool {
        !matches!(self, Termination::NonFinite { .. })
    }
}

/// Ordered `(name, value)` diagnostics of one iteration (becomes a DataFrame row).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record(pub Vec<(&'static str, f64)>);

impl Record {
    /// Add or overwrite a value.
    pub fn set(&mut self, name: &'static str, v: f64) {
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(e) => e.1 = v,
            None => self.0.push((name, v)),
        }
    }
    /// Read a value.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

/// An iterative algorithm over a state.
pub trait Iterative {
    /// The iterate and everything the step needs.
    type State;
    /// One iteration.
    fn step(&mut self, state: &mut Self::State) -> Result<()>;
    /// The objective at `state` (used by the generic stop rules and non-finite detection).
    fn objective(&self, state: &Self::State) -> f64;
    /// Per-iteration diagnostics (the engine adds `objective`).
    fn record(&self, _state: &Self::State, _rec: &mut Record) {}
    /// Solver-specific convergence test, evaluated after each step.
    fn converged(&self, _state: &Self::State) -> Option<Criterion> {
        None
    }
}

/// Generic stop rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    /// Iteration cap.
    pub max_iters: usize,
    /// Stop when `(f_prev − f) / max(|f_prev|, tiny) < rel_decrease` (and f did not increase).
    pub rel_decrease: Option<f64>,
    /// Stop after this wall time (observer time excluded).
    pub time_budget: Option<Duration>,
    /// Stop when the best objective has not improved for this many iterations.
    pub patience: Option<usize>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop {
            max_iters: 1000,
            rel_decrease: None,
            time_budget: None,
            patience: None,
        }
    }
}

impl Stop {
    /// Only an iteration cap.
    pub fn iters(max_iters: usize) -> Self {
        Stop {
            max_iters,
            ..Default::default()
        }
    }
}

/// When observers are called.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// Never (fastest).
    Never,
    /// Every k iterations (and at the last).
    Every(usize),
    /// About `per_decade` log-spaced iterations per decade (1, 2, 4, 6, 10, 18, … for 4), and the last.
    LogSpaced(usize),
}

impl Schedule {
    /// Whether iteration `it` (1-based) is observed.
    pub fn hits(&self, it: usize) -> bool {
        match *self {
            Schedule::Never => false,
            Schedule::Every(k) => k > 0 && it.is_multiple_of(k),
            Schedule::LogSpaced(p) => {
                if it <= 1 {
                    return true;
                }
                let p = p.max(1) as f64;
                let a = ((it as f64).log10() * p).floor();
                let b = (((it - 1) as f64).log10() * p).floor();
                a > b
            }
        }
    }
}

/// Called by [`run`]; ground-truth metrics live in observers, never in solvers.
pub trait Observer<S> {
    /// Before the first step (iteration 0).
    fn on_init(&mut self, _state: &S, _rec: &Record) {}
    /// At a scheduled iteration; `elapsed` excludes observer time. Return `Break` to stop.
    fn on_iter(
        &mut self,
        _iter: usize,
        _elapsed: f64,
        _state: &S,
        _rec: &Record,
    ) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// After the last step.
    fn on_finish(&mut self, _state: &S, _info: &SolveInfo) {}
    /// Why the observer stopped the run, asked after `on_iter` returned `Break`
    /// (`None`: [`Termination::StoppedByObserver`]).
    fn stop_reason(&self) -> Option<Termination> {
        None
    }
}

/// The do-nothing observer.
pub struct NoObserver;
impl<S> Observer<S> for NoObserver {}

/// Closures are observers of scheduled iterations.
impl<S, F: FnMut(usize, f64, &S, &Record) -> ControlFlow<()>> Observer<S> for F {
    fn on_iter(&mut self, iter: usize, elapsed: f64, state: &S, rec: &Record) -> ControlFlow<()> {
        self(iter, elapsed, state, rec)
    }
}

/// Records every observed iteration (iteration 0 included); extra metrics can be added by a
/// wrapped closure computing them from the state.
pub struct Trace<S> {
    rows: Vec<(usize, f64, Record)>,
    #[allow(clippy::type_complexity)]
    extra: Option<Box<dyn FnMut(&S, &mut Record) + Send>>,
}

impl<S> Default for Trace<S> {
    fn default() -> Self {
        Trace {
            rows: vec![],
            extra: None,
        }
    }
}

impl<S> Trace<S> {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }
    /// A trace that also evaluates `f` (e.g. a metric against the ground truth) at each row.
    pub fn with_metrics(f: impl FnMut(&S, &mut Record) + Send + 'static) -> Self {
        Trace {
            rows: vec![],
            extra: Some(Box::new(f)),
        }
    }
    /// The recorded rows `(iter, time_s, record)`.
    pub fn rows(&self) -> &[(usize, f64, Record)] {
        &self.rows
    }
    fn push(&mut self, iter: usize, t: f64, state: &S, rec: &Record) {
        let mut r = rec.clone();
        if let Some(f) = self.extra.as_mut() {
            f(state, &mut r);
        }
        self.rows.push((iter, t, r));
    }
    /// One row per recorded iteration: `iter`, `time_s`, then every record key (null where absent).
    #[cfg(feature = "lab")]
    pub fn to_frame(&self) -> Result<DataFrame> {
        let mut keys: Vec<&'static str> = vec![];
        for (_, _, r) in &self.rows {
            for (k, _) in &r.0 {
                if !keys.contains(k) {
                    keys.push(k);
                }
            }
        }
        let mut cols = vec![
            Column::new(
                "iter".into(),
                self.rows.iter().map(|r| r.0 as i64).collect::<Vec<_>>(),
            ),
            Column::new(
                "time_s".into(),
                self.rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
        ];
        for k in keys {
            cols.push(Column::new(
                k.into(),
                self.rows.iter().map(|r| r.2.get(k)).collect::<Vec<_>>(),
            ));
        }
        Ok(DataFrame::new(self.rows.len(), cols)?)
    }
}

impl<S> Observer<S> for Trace<S> {
    fn on_init(&mut self, state: &S, rec: &Record) {
        self.push(0, 0.0, state, rec);
    }
    fn on_iter(&mut self, iter: usize, elapsed: f64, state: &S, rec: &Record) -> ControlFlow<()> {
        self.push(iter, elapsed, state, rec);
        ControlFlow::Continue(())
    }
}

/// Outcome of [`run`].
#[derive(Clone, Debug, PartialEq)]
pub struct SolveInfo {
    /// Iterations performed.
    pub iters: usize,
    /// Why it stopped.
    pub termination: Termination,
    /// Final objective.
    pub objective: f64,
    /// Seconds spent in the algorithm (observer time excluded).
    pub elapsed: f64,
}

/// Run `alg` from `state` until a stop rule fires.
///
/// # Errors
/// Only errors returned by `alg.step` (invalid input detected late); numerical trouble is a
/// [`Termination::NonFinite`].
pub fn run<A: Iterative>(
    alg: &mut A,
    mut state: A::State,
    stop: &Stop,
    schedule: Schedule,
    obs: &mut dyn Observer<A::State>,
) -> Result<(A::State, SolveInfo)> {
    let mut rec = Record::default();
    let mut f = alg.objective(&state);
    rec.set("objective", f);
    alg.record(&state, &mut rec);
    obs.on_init(&state, &rec);
    let mut elapsed = Duration::ZERO;
    let mut best = f;
    let mut since_best = 0usize;
    let mut termination = Termination::MaxIters;
    let mut iters = 0;
    if !f.is_finite() {
        termination = Termination::NonFinite { iter: 0 };
    } else {
        for it in 1..=stop.max_iters {
            let t0 = Instant::now();
            alg.step(&mut state)?;
            let f_new = alg.objective(&state);
            let conv = alg.converged(&state);
            elapsed += t0.elapsed();
            iters = it;
            let observe = schedule.hits(it);
            let mut stop_now = None;
            if !f_new.is_finite() {
                stop_now = Some(Termination::NonFinite { iter: it });
            } else if let Some(c) = conv {
                stop_now = Some(Termination::Converged(c));
            } else if let Some(tol) = stop.rel_decrease
                && f_new <= f
                && (f - f_new) <= tol * f.abs().max(1e-300)
            {
                stop_now = Some(Termination::Converged(Criterion::RelativeDecrease));
            }
            if stop_now.is_none() {
                if f_new < best {
                    best = f_new;
                    since_best = 0;
                } else {
                    since_best += 1;
                    if stop.patience.is_some_and(|p| since_best >= p) {
                        stop_now = Some(Termination::Converged(Criterion::NoImprovement));
                    }
                }
                if stop.time_budget.is_some_and(|b| elapsed >= b) {
                    stop_now = Some(Termination::TimeBudget);
                }
            }
            f = f_new;
            let last = stop_now.is_some() || it == stop.max_iters;
            if (observe || (last && schedule != Schedule::Never)) && f.is_finite() {
                rec = Record::default();
                rec.set("objective", f);
                alg.record(&state, &mut rec);
                if obs
                    .on_iter(it, elapsed.as_secs_f64(), &state, &rec)
                    .is_break()
                    && stop_now.is_none()
                {
                    stop_now = Some(obs.stop_reason().unwrap_or(Termination::StoppedByObserver));
                }
            }
            if let Some(t) = stop_now {
                termination = t;
                break;
            }
        }
    }
    let info = SolveInfo {
        iters,
        termination,
        objective: f,
        elapsed: elapsed.as_secs_f64(),
    };
    obs.on_finish(&state, &info);
    Ok((state, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gradient descent on f(x) = ½(x − 3)² with step `h`.
    struct Quad {
        h: f64,
    }
    impl Iterative for Quad {
        type State = f64;
        fn step(&mut self, x: &mut f64) -> Result<()> {
            *x -= self.h * (*x - 3.0);
            Ok(())
        }
        fn objective(&self, x: &f64) -> f64 {
            0.5 * (x - 3.0).powi(2)
        }
        fn record(&self, x: &f64, rec: &mut Record) {
            rec.set("x", *x);
        }
    }

    #[test]
    fn stop_rules_and_termination_as_data() {
        let (x, info) = run(
            &mut Quad { h: 0.5 },
            0.0,
            &Stop::iters(10),
            Schedule::Never,
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!(info.termination, Termination::MaxIters);
        assert_eq!(info.iters, 10);
        assert!((x - 3.0 * (1.0 - 0.5f64.powi(10))).abs() < 1e-12);
        // f shrinks by (1 − h)² per step: a relative decrease of ≈ 2h
        let stop = Stop {
            max_iters: 1000,
            rel_decrease: Some(1e-2),
            ..Default::default()
        };
        let (_, info) = run(
            &mut Quad { h: 0.001 },
            0.0,
            &stop,
            Schedule::Never,
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!(
            (info.termination, info.iters),
            (Termination::Converged(Criterion::RelativeDecrease), 1)
        );
        let stop20 = Stop {
            max_iters: 20,
            ..stop.clone()
        };
        let (_, info) = run(
            &mut Quad { h: 0.1 },
            0.0,
            &stop20,
            Schedule::Never,
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!(info.termination, Termination::MaxIters);
        // a diverging step is a recorded termination, not NaN output
        let (_, info) = run(
            &mut Quad { h: 1e200 },
            0.0,
            &Stop::iters(100),
            Schedule::Never,
            &mut NoObserver,
        )
        .unwrap();
        assert!(
            matches!(info.termination, Termination::NonFinite { iter } if iter <= 3),
            "{:?}",
            info.termination
        );
        let mut count = 0;
        let mut obs = |it: usize, _t: f64, _x: &f64, _r: &Record| {
            count += 1;
            if it >= 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let (_, info) = run(
            &mut Quad { h: 0.1 },
            0.0,
            &Stop::iters(100),
            Schedule::Every(1),
            &mut obs,
        )
        .unwrap();
        assert_eq!(
            (info.termination, info.iters, count),
            (Termination::StoppedByObserver, 5, 5)
        );
    }

    #[cfg(feature = "lab")]
    #[test]
    fn trace_and_log_schedule() {
        let hits: Vec<usize> = (1..=100)
            .filter(|&i| Schedule::LogSpaced(4).hits(i))
            .collect();
        assert_eq!(hits, vec![1, 2, 4, 6, 10, 18, 32, 57, 100]);
        let mut tr = Trace::with_metrics(|x: &f64, r: &mut Record| r.set("err", (x - 3.0).abs()));
        run(
            &mut Quad { h: 0.5 },
            0.0,
            &Stop::iters(8),
            Schedule::Every(4),
            &mut tr,
        )
        .unwrap();
        let df = tr.to_frame().unwrap();
        assert_eq!(df.height(), 3); // 0, 4, 8
        let err = crate::table::column_f64(&df, "err").unwrap();
        assert!((err[2].unwrap() - 3.0 * 0.5f64.powi(8)).abs() < 1e-12);
    }
}
