//! The rule of an adaptive plan (its `[adaptive]` section): which run of a curve comes next,
//! where a curve's transition lies. Part of the plan ([`super::plan`] parses it); running the
//! curves is [`super::adaptive`]'s, which reads the plan — so the plan does not depend on it.

use crate::error::{Result, ensure};
use serde::{Deserialize, Serialize};

/// The `[adaptive]` section of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adaptive {
    /// The numeric instance key searched (a `[grid]` axis: the sparsity k, a rate θ, …).
    pub axis: String,
    /// The success fraction whose crossing is located (0.5: the 50 % transition).
    pub level: f64,
    /// A run succeeds when its success metric is ≥ this.
    pub success: f64,
    /// Repetitions at the two values bracketing the transition.
    pub reps: usize,
    /// More repetitions, up to this many, at a bracketing value whose runs disagree (some
    /// succeeded, some not): where the boundary is ambiguous (`None`: `reps` everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reps: Option<usize>,
}

impl Adaptive {
    /// Check the settings.
    ///
    /// # Errors
    /// `level` or `success` outside (0, 1], `reps` = 0.
    pub fn check(&self) -> Result<()> {
        ensure!(
            self.level > 0.0 && self.level <= 1.0,
            "adaptive.level",
            self.level,
            "a fraction in (0, 1] (0.5: where half the runs succeed)"
        );
        ensure!(
            self.success > 0.0 && self.success <= 1.0,
            "adaptive.success",
            self.success,
            "a fraction in (0, 1] (0.95: 95 % of atoms recovered)"
        );
        ensure!(self.reps >= 1, "adaptive.reps", self.reps, "≥ 1");
        if let Some(m) = self.max_reps {
            ensure!(
                m >= self.reps,
                "adaptive.max_reps",
                m,
                format!("≥ adaptive.reps = {}", self.reps)
            );
        }
        Ok(())
    }

    /// The next run of a curve given its outcomes so far (`known[i]`: successes at the i-th
    /// axis value, in run order): `(axis index, repetition)`, or `None` when the curve is done.
    pub fn next(&self, known: &[Vec<bool>]) -> Option<(usize, usize)> {
        let len = known.len() as isize;
        let a = self.boundary(known).map_or(-1, |i| i as isize);
        let b = ((a + 1) as usize..known.len())
            .find(|&i| !known[i].is_empty())
            .map_or(len, |i| i as isize);
        if b - a > 1 {
            let mid = ((a + b) / 2) as usize;
            return Some((mid, known[mid].len()));
        }
        let bracket = || {
            [a, b]
                .into_iter()
                .filter(|&i| i >= 0 && i < len)
                .map(|i| i as usize)
        };
        if let Some(i) = bracket().find(|&i| known[i].len() < self.reps) {
            return Some((i, known[i].len()));
        }
        // an ambiguous bracket: its runs disagree, so more of them
        let max = self.max_reps?;
        bracket()
            .find(|&i| {
                let v = &known[i];
                v.len() < max && v.iter().any(|s| *s) && v.iter().any(|s| !*s)
            })
            .map(|i| (i, known[i].len()))
    }

    /// The transition of a finished (or partial) curve: the index of the largest axis value
    /// above the level (`None`: none is).
    pub fn boundary(&self, known: &[Vec<bool>]) -> Option<usize> {
        (0..known.len()).rev().find(|&i| {
            let v = &known[i];
            !v.is_empty() && v.iter().filter(|s| **s).count() as f64 >= self.level * v.len() as f64
        })
    }

    /// A curve's setting: the instance id `inst` without the axis key's part (`sparsity=…`).
    pub fn setting_of(&self, inst: &str) -> String {
        let prefix = format!("{}=", self.axis);
        inst.split(',')
            .filter(|part| !part.starts_with(&prefix))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether a run with success value `v` (see [`super::adaptive::outcome_of_rows`]) succeeded; NaN (an error
    /// row, a run without the metric) never does.
    pub fn succeeded(&self, v: f64) -> bool {
        v >= self.success
    }
}

/// The runs a curve of `len` axis values is expected to take: ⌈log₂(len + 1)⌉ bisection probes
/// plus the repetitions at both ends of the bracket (an estimate: repetitions that move the
/// boundary add probes, a boundary at an end of the list saves some).
pub fn expected_runs(len: usize, reps: usize) -> usize {
    ((len + 1) as f64).log2().ceil() as usize + 2 * reps.saturating_sub(1)
}
