//! Observers for learners: recovery of the planted dictionary against time.
//!
//! [`RecoveryObserver`] records, at every scheduled iteration, the recovery metrics of
//! [`crate::metrics::recovery`] (`recovery_score`, `recovery_rate@τ`, `columnwise_dist`,
//! `max_sine_dist`, and `l4_error` for square dictionaries) next to the engine's record, and can stop the run once a target rate is
//! reached — which is how "time until 95 % of atoms have |cos| > 0.99" is measured. Time excludes
//! the observer's own work (the engine's clock is paused while observers run).

use super::LearnState;
use crate::iter::{Observer, Record, Trace};
use crate::metrics::recovery::{dictionary_recovery, l4_error};
use ndarray::{Array2, ArrayView2};
#[cfg(feature = "lab")]
use polars::prelude::DataFrame;
use std::ops::ControlFlow;

/// Records recovery metrics against `truth`; optionally stops at a target `recovery_rate@τ`.
pub struct RecoveryObserver {
    truth: Array2<f64>,
    tau: f64,
    target: Option<f64>,
    trace: Trace<LearnState>,
    reached: Option<(usize, f64)>,
    last_rate: f64,
}

impl RecoveryObserver {
    /// Record against `truth` with τ = 0.99 and no stop.
    pub fn new(truth: ArrayView2<'_, f64>) -> Self {
        RecoveryObserver {
            truth: truth.to_owned(),
            tau: 0.99,
            target: None,
            trace: Trace::new(),
            reached: None,
            last_rate: f64::NAN,
        }
    }
    /// Threshold τ on |cos| for `recovery_rate`.
    pub fn tau(mut self, tau: f64) -> Self {
        self.tau = tau;
        self
    }
    /// Stop the run at the first observed iteration where `recovery_rate@τ ≥ rate`.
    pub fn stop_at(mut self, rate: f64) -> Self {
        self.target = Some(rate);
        self
    }
    /// `(iteration, seconds)` at which the target rate was first observed.
    pub fn reached(&self) -> Option<(usize, f64)> {
        self.reached
    }
    /// Last observed recovery rate.
    pub fn last_rate(&self) -> f64 {
        self.last_rate
    }
    /// The trace: `iter`, `time_s`, the learner's record and the recovery metrics.
    ///
    /// # Errors
    /// Polars errors.
    #[cfg(feature = "lab")]
    pub fn to_frame(&self) -> crate::error::Result<DataFrame> {
        self.trace.to_frame()
    }
    fn measure(&mut self, iter: usize, t: f64, state: &LearnState, rec: &Record) -> bool {
        let mut r = rec.clone();
        if let Ok(rc) = dictionary_recovery(self.truth.view(), state.dict.view()) {
            for (k, v) in rc.summary(self.tau) {
                r.set(k, v);
            }
            let rate = rc.recovery_rate(self.tau);
            if self.truth.is_square()
                && let Ok(e) = l4_error(self.truth.view(), state.dict.view())
            {
                r.set("l4_error", e);
            }
            self.last_rate = rate;
        } else {
            // a non-finite dictionary: recorded as NaN (the engine records the termination)
            r.set("recovery_rate", f64::NAN);
            self.last_rate = f64::NAN;
        }
        if iter == 0 {
            self.trace.on_init(state, &r);
        } else {
            let _ = self.trace.on_iter(iter, t, state, &r);
        }
        match self.target {
            Some(target) if self.last_rate >= target => {
                if self.reached.is_none() {
                    self.reached = Some((iter, t));
                }
                true
            }
            _ => false,
        }
    }
}

impl Observer<LearnState> for RecoveryObserver {
    fn on_init(&mut self, state: &LearnState, rec: &Record) {
        self.measure(0, 0.0, state, rec);
    }
    fn on_iter(
        &mut self,
        iter: usize,
        elapsed: f64,
        state: &LearnState,
        rec: &Record,
    ) -> ControlFlow<()> {
        if self.measure(iter, elapsed, state, rec) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}
