//! The analysis of notebook 03 (classical dictionary learning), as named functions: one learner's
//! recovery of the planted dictionary against time and iterations, and the MOD / online success
//! of one (μ, k) instance.

use super::Series2;
use crate::code::Omp;
use crate::error::Result;
use crate::instance::InstanceSpec;
use crate::iter::Schedule;
use crate::learn::{
    AlternatingMinimization, DictionaryLearner, Init, Mod, OnlineDl, RecoveryObserver,
};
use crate::table::{column_f64, column_nan};
use ndarray::ArrayView2;

/// A learner's run observed against the planted dictionary.
#[derive(Clone, Debug)]
pub struct RecoveryRun {
    /// The learner's parametrised name.
    pub name: String,
    /// Recorded iterations (the first is 0, the start).
    pub iter: Vec<f64>,
    /// Seconds at each record (the observers' work excluded).
    pub time: Vec<f64>,
    /// recovery_score (mean matched |cos|) at each record.
    pub score: Vec<f64>,
    /// recovery_rate@0.99 at each record.
    pub rate: Vec<f64>,
    /// Atoms replaced in the run.
    pub replaced: usize,
    /// Why the run stopped.
    pub termination: String,
}

impl RecoveryRun {
    /// The last recorded recovery_rate@0.99 (NaN for no record).
    pub fn final_rate(&self) -> f64 {
        self.rate.last().copied().unwrap_or(f64::NAN)
    }
    /// The last record's time in seconds (NaN for no record).
    pub fn final_time(&self) -> f64 {
        self.time.last().copied().unwrap_or(f64::NAN)
    }
    /// The score (`rate` false) or rate (`rate` true) against time (`by_time`, without the record
    /// at time 0, for a log-time axis) or against iterations (every record), named by the learner.
    pub fn series(&self, by_time: bool, rate: bool) -> Series2 {
        let y = if rate { &self.rate } else { &self.score };
        let (x, skip) = if by_time {
            (&self.time, 1)
        } else {
            (&self.iter, 0)
        };
        let skip = skip.min(x.len());
        Series2::new(self.name.clone(), x[skip..].to_vec(), y[skip..].to_vec())
    }
}

/// Run `learner` on signals `y` (m atoms, start `init`, seed) with a [`RecoveryObserver`]
/// against `truth` on `schedule`.
///
/// # Errors
/// As the learner; polars errors reading its trace.
pub fn recovery_run(
    learner: &dyn DictionaryLearner,
    truth: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    m: usize,
    init: &Init,
    seed: u64,
    schedule: Schedule,
) -> Result<RecoveryRun> {
    let mut obs = RecoveryObserver::new(truth);
    let out = learner.learn_observed(y, m, init, seed, schedule, &mut obs)?;
    let df = obs.to_frame()?;
    Ok(RecoveryRun {
        name: learner.name(),
        iter: column_f64(&df, "iter")?.into_iter().flatten().collect(),
        time: column_f64(&df, "time_s")?.into_iter().flatten().collect(),
        score: column_nan(&df, "recovery_score")?,
        rate: column_nan(&df, "recovery_rate")?,
        replaced: out.replaced_atoms,
        termination: out.info.termination.to_string(),
    })
}

/// One (μ, k) cell of notebook 03's success grid: an instance of `spec` drawn at `seed`, MOD + OMP
/// (`mod_iters` iterations) and online DL + OMP (`online_epochs` passes), both told `k` and started
/// from random data columns with `seed`; their final recovery_rate@0.99 (MOD, online).
///
/// # Errors
/// An invalid spec; the learners' errors.
pub fn mod_online_rates(
    spec: &InstanceSpec,
    k: usize,
    seed: u64,
    mod_iters: usize,
    online_epochs: f64,
) -> Result<(f64, f64)> {
    let inst = spec.sample(seed)?;
    let m = spec.n_atoms;
    let a = AlternatingMinimization::new(Omp::with_sparsity(k), Mod::default())
        .max_iters(mod_iters)
        .learn(inst.y.view(), m, &Init::RandomData, seed)?;
    let b = OnlineDl::new(Omp::with_sparsity(k))
        .epochs(online_epochs)
        .learn(inst.y.view(), m, &Init::RandomData, seed)?;
    let rate = |d: ArrayView2<'_, f64>| -> Result<f64> {
        Ok(crate::metrics::dictionary_recovery(inst.dict.view(), d)?.recovery_rate(0.99))
    };
    Ok((rate(a.dict.view())?, rate(b.dict.view())?))
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values by construction (record 0, k from a grid)
mod tests {
    use super::*;
    use crate::generate::Values;

    fn easy() -> crate::instance::Instance {
        InstanceSpec::new(16, 32, 2000)
            .sparsity(2)
            .values(Values::SignedUniform { a: 1.0, b: 2.0 })
            .sample(42)
            .unwrap()
    }

    /// MOD from a start at distance 0.5 recovers the planted atoms; the run's records line up and
    /// the series leave out the time-0 record only on the time axis.
    #[test]
    fn a_recovery_run_records_and_recovers() {
        let inst = easy();
        let learner =
            AlternatingMinimization::new(Omp::with_sparsity(2), Mod::default()).max_iters(30);
        let init = Init::NearTruth {
            truth: inst.dict.clone(),
            dist: 0.5,
        };
        let run = recovery_run(
            &learner,
            inst.dict.view(),
            inst.y.view(),
            32,
            &init,
            1,
            Schedule::Every(1),
        )
        .unwrap();
        assert_eq!(run.iter[0], 0.0);
        assert!(
            run.rate[0] < 0.5 && run.final_rate() >= 0.95,
            "{:?}",
            run.rate
        );
        let n = run.iter.len();
        assert!(run.time.len() == n && run.score.len() == n && run.rate.len() == n);
        assert_eq!(run.series(false, true).x.len(), n);
        assert_eq!(run.series(true, false).x.len(), n - 1);
        assert_eq!(run.series(true, true).y, run.rate[1..].to_vec());
        assert!(run.final_time() >= 0.0);
    }

    /// The grid cell: rates in [0, 1], the same for the same seed.
    #[test]
    fn mod_online_rates_are_rates_and_reproducible() {
        let spec = InstanceSpec::new(16, 32, 1000)
            .sparsity(2)
            .values(Values::SignedUniform { a: 1.0, b: 2.0 });
        let a = mod_online_rates(&spec, 2, 3, 20, 5.0).unwrap();
        let b = mod_online_rates(&spec, 2, 3, 20, 5.0).unwrap();
        assert_eq!(a, b);
        assert!(
            (0.0..=1.0).contains(&a.0) && (0.0..=1.0).contains(&a.1),
            "{a:?}"
        );
    }
}
