//! The plateau rule: stop an iterative method once the quantities it is judged on have stopped
//! moving.
//!
//! A [`Stall`] rule watches named metrics at observed iterations (each with its direction of
//! progress). At an observed iteration t ≥ `min_iter` it compares the mean of each metric over the
//! observations in the window (t/w, t] with its mean over the window before, (t/w², t/w]
//! (w = `window`, 2 by default: the last doubling of the iteration count against the one before).
//! The run has **stalled** when no metric progressed by more than its tolerance between the two
//! windows:
//!
//! * a metric that should grow ([`Goal::Up`], e.g. a recovery score in [0, 1]) progresses when
//!   `mean_now − mean_before > tol` (absolute);
//! * a metric that should shrink ([`Goal::Down`], e.g. a loss) progresses when
//!   `mean_before − mean_now > tol · |mean_before|` (relative).
//!
//! Windows in log-iterations make the rule scale-free: a method that needs a thousand iterations
//! to move is not stopped at iteration ten because its first steps were small, and a method that
//! stops moving after ten iterations is not run for a thousand. Window means make it robust to
//! minibatch noise: a noisy loss that no longer trends down compares equal on average. Non-finite
//! values never count as a plateau (the engine records those runs as `non_finite`).
//!
//! The rule is an observer's decision (it needs metrics the solver does not compute, such as
//! recovery against a planted dictionary); the observer reports it through
//! [`super::Observer::stop_reason`] and the run's termination reads `stalled`.

use crate::error::{Result, ensure};
use serde::{Deserialize, Serialize};

/// The plateau rule's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    /// Ratio between the ends of a window (> 1): windows are (t/w, t] and (t/w², t/w].
    pub window: f64,
    /// Tolerance: absolute for [`Goal::Up`] metrics, relative for [`Goal::Down`] ones.
    pub tol: f64,
    /// The rule never fires before this iteration.
    pub min_iter: usize,
    /// Nor before this many passes over the data: a caller that knows how many signals an
    /// iteration touches (a sweep) raises `min_iter` to match — so a minibatch learner is not
    /// judged on its first few steps. [`Plateau`] itself reads only `min_iter`.
    pub min_passes: f64,
}

impl Default for Stall {
    fn default() -> Self {
        Stall {
            window: 2.0,
            tol: 1e-3,
            min_iter: 10,
            min_passes: 1.0,
        }
    }
}

impl Stall {
    /// This rule with `min_iter` raised to `min_passes` passes when an iteration touches
    /// `per_iter` of `n_samples` signals.
    pub fn for_passes(&self, per_iter: usize, n_samples: usize) -> Stall {
        let iters = (self.min_passes * n_samples as f64 / per_iter.max(1) as f64).ceil();
        Stall {
            min_iter: self.min_iter.max(iters as usize),
            ..*self
        }
    }

    /// Check the settings.
    ///
    /// # Errors
    /// `window ≤ 1` or not finite, `tol < 0` or not finite, `min_passes < 0`.
    pub fn check(&self) -> Result<()> {
        ensure!(
            self.window.is_finite() && self.window > 1.0,
            "stall.window",
            self.window,
            "a ratio > 1 (2: compare the last doubling of iterations with the one before)"
        );
        ensure!(
            self.tol.is_finite() && self.tol >= 0.0,
            "stall.tol",
            self.tol,
            "a tolerance ≥ 0"
        );
        ensure!(
            self.min_passes.is_finite() && self.min_passes >= 0.0,
            "stall.min_passes",
            self.min_passes,
            "passes ≥ 0"
        );
        Ok(())
    }
}

/// The direction in which a watched metric progresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// Larger is better (absolute tolerance).
    Up,
    /// Smaller is better (relative tolerance).
    Down,
}

/// A [`Stall`] rule fed with observations.
#[derive(Clone, Debug)]
pub struct Plateau {
    rule: Stall,
    goals: Vec<Goal>,
    seen: Vec<(usize, Vec<f64>)>,
}

impl Plateau {
    /// Watch metrics with these goals (values are passed to [`Plateau::observe`] in this order).
    pub fn new(rule: Stall, goals: &[Goal]) -> Self {
        Plateau {
            rule,
            goals: goals.to_vec(),
            seen: Vec::new(),
        }
    }

    /// Record the metrics observed at iteration `iter` (increasing); true when the run has
    /// stalled at this iteration.
    pub fn observe(&mut self, iter: usize, values: &[f64]) -> bool {
        debug_assert_eq!(values.len(), self.goals.len());
        self.seen.push((iter, values.to_vec()));
        if iter < self.rule.min_iter.max(1) {
            return false;
        }
        let t = iter as f64;
        let (mid, low) = (
            t / self.rule.window,
            t / (self.rule.window * self.rule.window),
        );
        let now = self.mean_in(mid, t);
        let before = self.mean_in(low, mid);
        let (Some(now), Some(before)) = (now, before) else {
            return false;
        };
        self.goals
            .iter()
            .zip(now.iter().zip(&before))
            .all(|(g, (&a, &b))| {
                a.is_finite()
                    && b.is_finite()
                    && match g {
                        Goal::Up => a - b <= self.rule.tol,
                        Goal::Down => b - a <= self.rule.tol * b.abs(),
                    }
            })
    }

    /// Mean of each metric over the observations with iteration in (lo, hi]; `None` if there is
    /// none.
    fn mean_in(&self, lo: f64, hi: f64) -> Option<Vec<f64>> {
        let mut sum = vec![0.0; self.goals.len()];
        let mut n = 0usize;
        for (it, v) in &self.seen {
            let it = *it as f64;
            if it > lo && it <= hi {
                for (s, x) in sum.iter_mut().zip(v) {
                    *s += x;
                }
                n += 1;
            }
        }
        (n > 0).then(|| sum.into_iter().map(|s| s / n as f64).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_on_the_first_flat_doubling_and_not_before() {
        // a metric rising until iteration 40, flat afterwards; observed at every iteration
        let rule = Stall {
            window: 2.0,
            tol: 0.0,
            min_iter: 4,
            min_passes: 0.0,
        };
        let mut p = Plateau::new(rule, &[Goal::Up]);
        let first = (1..=1000)
            .find(|&t| p.observe(t, &[(t.min(40) as f64) / 40.0]))
            .unwrap();
        // with tol = 0 both windows must be exactly flat: (t/4, t/2] holds only iterations ≥ 40
        // once ⌊t/4⌋ ≥ 39, i.e. t = 156 (at t = 155 it still holds iteration 39, at 39/40)
        assert_eq!(first, 156);
    }

    #[test]
    fn each_metric_must_stall_and_the_loss_is_relative() {
        let rule = Stall::default();
        // the score is flat but the loss still halves every doubling: not a plateau
        let mut p = Plateau::new(rule, &[Goal::Up, Goal::Down]);
        assert!((1..=2000).all(|t| !p.observe(t, &[0.5, 1.0 / t as f64])));
        // a loss falling by 0.05 % per doubling (below tol = 0.1 %) is flat
        let mut p = Plateau::new(rule, &[Goal::Down]);
        let hit = (1..=100).find(|&t| p.observe(t, &[1e6 * (1.0 - 5e-4 * (t as f64).log2())]));
        assert_eq!(hit, Some(10), "fires at min_iter");
        // noise around a constant stalls; a NaN never does
        let mut p = Plateau::new(rule, &[Goal::Down]);
        assert!(
            (1..=200).any(|t| p.observe(t, &[1.0 + 1e-4 * if t % 2 == 0 { 1.0 } else { -1.0 }]))
        );
        let mut p = Plateau::new(rule, &[Goal::Up]);
        assert!((1..=200).all(|t| !p.observe(t, &[f64::NAN])));
    }

    #[test]
    fn bad_settings_are_refused() {
        for s in [
            Stall {
                window: 1.0,
                ..Stall::default()
            },
            Stall {
                tol: -1.0,
                ..Stall::default()
            },
            Stall {
                window: f64::NAN,
                ..Stall::default()
            },
        ] {
            assert!(s.check().is_err(), "{s:?}");
        }
        assert!(Stall::default().check().is_ok());
        // one pass of minibatches of 256 over 5000 signals is ⌈5000/256⌉ = 20 steps
        assert_eq!(Stall::default().for_passes(256, 5000).min_iter, 20);
        assert_eq!(Stall::default().for_passes(5000, 5000).min_iter, 10);
    }
}
