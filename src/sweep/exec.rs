//! One run of a plan: a method on a drawn instance → rows of the tidy table.
//!
//! * **Coders** code the planted signals with the planted dictionary: one row at the final
//!   iteration with `support_precision/recall/f1/exact/hamming`, `code_err`, `objective`.
//! * **Learners** start from their `init` with seed `derive_seed(item seed, "learner")` (the same
//!   for every method of the item). Recorded iterations (the plan's `[record]`) get
//!   `recovery_score`, `recovery_rate` (τ = 0.99), `columnwise_dist`, `max_sine_dist`, `data_fit`;
//!   the final row gets every recovery metric of [`crate::metrics::recovery_metrics`], the support
//!   statistics of the final codes (aligned to the true atoms; for learners that keep no codes,
//!   Batch-OMP codes at the instance's k with the learned dictionary, marked `codes_by_omp = 1`),
//!   `replaced_atoms` and `time_to_95` — the first observed time at which
//!   `recovery_rate ≥ 0.95` (NaN if never; observed on the record schedule, or on a log-spaced
//!   one with 10 points per decade when only the final row is recorded).
//!
//! A run that fails (invalid parameter for this instance, a panic) becomes one row whose
//! `termination` starts with `error:` — a sweep never loses rows. The time budget stops a learner
//! at the first iteration past it (`termination = time_budget`); coders are single calls and are
//! not interrupted.

use super::plan::{Plan, PlanMethod, RecordMode};
use crate::code::SparseCoder;
use crate::conv::{ConvInstance, ConvLearnState};
use crate::error::Result;
use crate::instance::Instance;
use crate::iter::{Goal, Observer, Record, Schedule, Termination};
use crate::learn::LearnState;
use crate::metrics::{dictionary_recovery, recovery_metrics, support_recovery};
use crate::registry::{self, Built, Context};
use crate::table::{Item, Row};
use std::ops::ControlFlow;
use std::time::Instant;

/// Recovery-rate level for `time_to_95`.
const TARGET: f64 = 0.95;

/// The blind track's k̂ of each item, estimated once per item and shared by every method and
/// every draw of it (an adaptive plan draws an item's instance once per run): k̂ is a
/// deterministic function of the item's signals and seed, so the cache changes no result.
#[derive(Default)]
pub struct KHatCache(std::sync::Mutex<std::collections::HashMap<usize, usize>>);

impl KHatCache {
    /// k̂ of `item` on its instance: cached, else estimated (from the seed derived from the
    /// item's, as every run of the item would).
    ///
    /// # Errors
    /// As [`crate::learn::sparsity::estimate_sparsity`].
    pub fn get(&self, item: &Item, inst: &Instance) -> Result<usize> {
        let cached = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&item.item)
            .copied();
        if let Some(k) = cached {
            return Ok(k);
        }
        let seed = crate::rng::derive_seed(item.seed, "k_hat");
        let k = crate::learn::sparsity::estimate_sparsity(
            inst.y.view(),
            inst.dict.ncols().max(1),
            seed,
        )?;
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(item.item, k);
        Ok(k)
    }
}

/// The rows of `method` on `inst` (the instance of `item`); never fails: errors become a row.
pub fn run_method(plan: &Plan, method: &PlanMethod, item: &Item, inst: &Instance) -> Vec<Row> {
    run_method_with(plan, method, item, inst, &KHatCache::default())
}

/// [`run_method`] with a k̂ cache shared across the runs of a sweep.
pub fn run_method_with(
    plan: &Plan,
    method: &PlanMethod,
    item: &Item,
    inst: &Instance,
    k_hats: &KHatCache,
) -> Vec<Row> {
    rows_or_error_row(method, || run_checked(plan, method, item, inst, k_hats))
}

/// The rows `run` returns; an error, a panic or no rows become one error row for `method` (a sweep
/// never loses a run).
fn rows_or_error_row(method: &PlanMethod, run: impl FnOnce() -> Result<Vec<Row>>) -> Vec<Row> {
    let t0 = Instant::now();
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
    let err = match out {
        Ok(Ok(rows)) if !rows.is_empty() => return rows,
        Ok(Ok(_)) => "error: the run produced no rows".to_string(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            format!("error: panic: {msg}")
        }
    };
    vec![error_row(method, err, t0.elapsed().as_secs_f64())]
}

/// The instance's exact sparsity k (its expected sparsity, rounded, for Bernoulli supports), in
/// 1..=m.
fn instance_k(inst: &Instance) -> usize {
    let m = inst.dict.ncols();
    inst.spec
        .codes
        .exact_sparsity()
        .unwrap_or_else(|| inst.spec.codes.expected_sparsity(m).round() as usize)
        .clamp(1, m.max(1))
}

/// What every row of an item records about its drawn instance (`m_inst_*`), so success can be
/// read against the dictionary's measured properties: `inst_mu` (mutual coherence),
/// `inst_rip_upper` (the Babel bound μ₁(k − 1) ≥ δ_k), `inst_rip_lower` (the worst of 200 random
/// supports of size k: a certified lower bound on δ_k; seeded from the item), with k the
/// instance's exact sparsity (its expected sparsity, rounded, for Bernoulli supports). A value
/// that cannot be computed is NaN.
pub fn instance_metrics(inst: &Instance, item_seed: u64) -> Vec<(String, f64)> {
    use crate::metrics::{coherence, rip_lower_bound_mc, rip_upper_bound_babel};
    let k = instance_k(inst);
    let mut rng = crate::rng::rng_from_seed(crate::rng::derive_seed(item_seed, "rip"));
    vec![
        ("inst_mu".into(), coherence(inst.dict.view())),
        (
            "inst_rip_upper".into(),
            rip_upper_bound_babel(inst.dict.view(), k).unwrap_or(f64::NAN),
        ),
        (
            "inst_rip_lower".into(),
            rip_lower_bound_mc(inst.dict.view(), k, 200, false, &mut rng)
                .map_or(f64::NAN, |b| b.delta),
        ),
    ]
}

/// The row recording a failed run.
pub fn error_row(method: &PlanMethod, termination: String, time_s: f64) -> Row {
    Row {
        method: method.id.clone(),
        params: method.params.clone(),
        termination,
        time_s,
        ..Row::default()
    }
}

fn support_metrics(
    row: &mut Row,
    x_true: ndarray::ArrayView2<'_, f64>,
    x_hat: ndarray::ArrayView2<'_, f64>,
) -> Result<()> {
    for (k, v) in support_recovery(x_true, x_hat, 0.0)?.pairs() {
        row.metrics.push((k.into(), v));
    }
    row.metrics
        .push(("code_err".into(), crate::metrics::code_err(x_true, x_hat)?));
    Ok(())
}

fn run_checked(
    plan: &Plan,
    method: &PlanMethod,
    item: &Item,
    inst: &Instance,
    k_hats: &KHatCache,
) -> Result<Vec<Row>> {
    // the method's working state, checked before it allocates
    let (n, m, nn) = (inst.dict.nrows(), inst.dict.ncols(), inst.y.ncols());
    crate::mem::check(
        format!(
            "`{}` on an instance with dim {n}, {m} atoms and {nn} samples",
            method.id
        ),
        crate::mem::learner_bytes(n, m, nn),
    )?;
    let mut ctx = Context::for_spec(&inst.spec, Some(&inst.dict));
    ctx.signal_power = Some(crate::learn::signal_power(inst.y.view()));
    // the blind track: k̂ from the signals, the same for every method of the item
    let k_hat = if crate::spec::Track::of(&method.params) == crate::spec::Track::Blind {
        let k = k_hats.get(item, inst)?;
        ctx.sparsity_estimate = Some(k);
        Some(k)
    } else {
        None
    };
    // the plan's compute budget sets the iteration cap the method leaves unset
    let (params, per_iter) =
        registry::budgeted_with(&method.name, &method.params, plan.budget(), nn)?;
    let built = registry::build(&method.name, &params, &ctx)?;
    // what the method read about the instance, on every row of the run
    let mut base = Row {
        method: method.id.clone(),
        params: method.params.clone(),
        ..Row::default()
    };
    base.params.push((
        "told".into(),
        crate::table::Value::from(ctx.told.get().as_str()),
    ));
    base.metrics
        .push(("k_hat".into(), k_hat.map_or(f64::NAN, |k| k as f64)));
    match built {
        // refused when the plan is read; kept for plans built in code
        Built::ConvCoder(_) | Built::ConvLearner(_) => Err(crate::error::Error::invalid(
            "method",
            method.name.clone(),
            "a method for dense problems (convolutional methods run in a problem = \"conv\" plan)",
        )),
        Built::Coder(coder) => {
            let t = Instant::now();
            let enc = coder.encode(inst.dict.view(), inst.y.view())?;
            let mut row = base;
            row.time_s = t.elapsed().as_secs_f64();
            row.iter = enc.info.iters as i64;
            row.termination = enc.info.termination.to_string();
            support_metrics(&mut row, inst.codes.view(), enc.codes.view())?;
            row.metrics.push(("objective".into(), enc.info.objective));
            Ok(vec![row])
        }
        Built::Learner(learner, init) => {
            let mut obs = SweepObserver {
                truth: &inst.dict,
                record: plan.record,
                probe: match plan.record {
                    RecordMode::Final => Schedule::LogSpaced(10),
                    r => r.schedule(),
                },
                budget: plan.time_budget_s,
                plateau: plan.stall.map(|rule| {
                    let rule = match per_iter {
                        Some(per) => rule.for_passes(per, nn),
                        None => rule,
                    };
                    crate::iter::Plateau::new(rule, &[Goal::Up, Goal::Up, Goal::Down])
                }),
                base: &base,
                rows: Vec::new(),
                time_to_target: None,
                stop: None,
            };
            let seed = crate::rng::derive_seed(item.seed, "learner");
            let learned = learner.learn_observed(
                inst.y.view(),
                inst.spec.n_atoms,
                &init,
                seed,
                Schedule::Every(1),
                &mut obs,
            )?;
            let (mut rows, t95) = (obs.rows, obs.time_to_target);
            let mut row = final_row(&base, &mut rows, &learned.info);
            if let Some(per) = per_iter {
                // the work done, in passes over the training signals
                let passes = learned.info.iters as f64 * per as f64 / nn.max(1) as f64;
                row.metrics.push(("passes".into(), passes));
            }
            if learned.dict.iter().all(|v| v.is_finite()) {
                let r = recovery_metrics(inst.dict.view(), learned.dict.view(), 0.99)?;
                for (k, v) in r.pairs() {
                    row.metrics.push((k.into(), v));
                }
                // the learner's own codes; for learners that keep none (online, ℓ4, Arora/NOODL),
                // Batch-OMP at the instance's k with the learned dictionary (`codes_by_omp` = 1)
                let own = learned.codes.dim() == inst.codes.dim();
                let codes = if own {
                    Some(learned.codes)
                } else {
                    let k = instance_k(inst).min(inst.spec.dim);
                    crate::code::Omp::with_sparsity(k)
                        .encode(learned.dict.view(), inst.y.view())
                        .ok()
                        .map(|e| e.codes)
                };
                if let Some(codes) = codes {
                    let rc = dictionary_recovery(inst.dict.view(), learned.dict.view())?;
                    let aligned = rc.align_codes(codes.view());
                    support_metrics(&mut row, inst.codes.view(), aligned.view())?;
                    row.metrics
                        .push(("codes_by_omp".into(), if own { 0.0 } else { 1.0 }));
                }
                let t95 = t95.or_else(|| (r.recovery_rate >= TARGET).then_some(row.time_s));
                row.metrics
                    .push(("time_to_95".into(), t95.unwrap_or(f64::NAN)));
            }
            row.metrics
                .push(("replaced_atoms".into(), learned.replaced_atoms as f64));
            rows.push(row);
            Ok(rows)
        }
    }
}

/// The final row of a learner's run from `base`: its iteration, time, termination and final
/// objective (`data_fit`); a recorded row at that iteration is dropped from `rows` (the final row
/// replaces it).
fn final_row(base: &Row, rows: &mut Vec<Row>, info: &crate::iter::SolveInfo) -> Row {
    let iters = info.iters as i64;
    rows.retain(|r| r.iter != iters);
    let mut row = base.clone();
    row.iter = iters;
    row.time_s = info.elapsed;
    row.termination = info.termination.to_string();
    row.metrics.push(("data_fit".into(), info.objective));
    row
}

/// Records the plan's iterations, measures time to 95 % recovery and enforces the time budget
/// and the plateau rule.
struct SweepObserver<'a> {
    truth: &'a ndarray::Array2<f64>,
    record: RecordMode,
    probe: Schedule,
    budget: Option<f64>,
    /// The plan's `[stall]` rule on (recovery_score ↑, recovery_rate ↑, data_fit ↓), fed on the
    /// probe schedule and on [`STALL_PROBE`].
    plateau: Option<crate::iter::Plateau>,
    base: &'a Row,
    rows: Vec<Row>,
    time_to_target: Option<f64>,
    /// Why this observer stopped the run.
    stop: Option<Termination>,
}

/// Where the plateau rule looks (10 log-spaced iterations per decade: ≈ 3 per doubling).
const STALL_PROBE: Schedule = Schedule::LogSpaced(10);

impl SweepObserver<'_> {
    /// Measure recovery at `iter`, record the row the plan asks for; true when the run stalled.
    fn observe(&mut self, iter: usize, elapsed: f64, s: &LearnState, rec: &Record) -> bool {
        let rc = dictionary_recovery(self.truth.view(), s.dict.view()).ok();
        let rate = rc
            .as_ref()
            .map(|r| r.recovery_rate(0.99))
            .unwrap_or(f64::NAN);
        if self.time_to_target.is_none() && rate >= TARGET {
            self.time_to_target = Some(elapsed);
        }
        let score = rc.as_ref().map_or(f64::NAN, |r| r.recovery_score());
        let stalled = self
            .plateau
            .as_mut()
            .is_some_and(|p| p.observe(iter, &[score, rate, s.objective_value()]));
        let recorded = iter == 0 || self.probe.hits(iter);
        if self.record != RecordMode::Final && recorded {
            let mut row = self.base.clone();
            row.iter = iter as i64;
            row.time_s = elapsed;
            row.termination = "running".into();
            row.metrics.push(("data_fit".into(), s.objective_value()));
            if let Some(r) = rc {
                for (k, v) in r.summary(0.99) {
                    row.metrics.push((k.into(), v));
                }
            }
            for (k, v) in &rec.0 {
                if *k != "objective" && *k != "data_fit" {
                    row.metrics.push(((*k).to_string(), *v));
                }
            }
            self.rows.push(row);
        }
        stalled
    }
}

impl Observer<LearnState> for SweepObserver<'_> {
    fn on_init(&mut self, s: &LearnState, rec: &Record) {
        self.observe(0, 0.0, s, rec);
    }
    fn on_iter(
        &mut self,
        iter: usize,
        elapsed: f64,
        s: &LearnState,
        rec: &Record,
    ) -> ControlFlow<()> {
        let watch = self.plateau.is_some() && STALL_PROBE.hits(iter);
        if (self.probe.hits(iter) || watch) && self.observe(iter, elapsed, s, rec) {
            self.stop = Some(Termination::Stalled);
            return ControlFlow::Break(());
        }
        match self.budget {
            Some(b) if elapsed > b => {
                self.stop = Some(Termination::TimeBudget);
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        }
    }
    fn stop_reason(&self) -> Option<Termination> {
        self.stop.clone()
    }
}

/// The executor of every sweep: an item's instance drawn once (regenerated up to
/// [`crate::instance::REDRAWS`] times where its target μ was missed), then each method run on it
/// in its worker's pool, every row carrying the instance's metrics; the blind track's k̂ estimated
/// once per item ([`KHatCache`]).
#[derive(Default)]
pub struct PlanExecutor {
    k_hats: KHatCache,
    /// The plan draws convolutional instances.
    conv: bool,
}

impl PlanExecutor {
    /// The executor of `plan` (dense or convolutional instances).
    pub fn for_plan(plan: &Plan) -> Self {
        PlanExecutor {
            k_hats: KHatCache::default(),
            conv: plan.problem == super::plan::Problem::Conv,
        }
    }
}

/// A convolutional item's instance, with what every row records about it: `inst_mu_conv` (the
/// measured shift coherence) and `inst_rate` (the realized activation rate).
fn draw_conv(pool: &rayon::ThreadPool, item: &Item) -> Drawn {
    let inst = crate::conv::ConvSpec::from_params(&item.point.0)
        .and_then(|s| pool.install(|| s.sample(item.seed)));
    let metrics = inst
        .as_ref()
        .map(|i| {
            vec![
                ("inst_mu_conv".to_string(), i.shift_coherence),
                ("inst_rate".to_string(), i.realized_rate),
            ]
        })
        .unwrap_or_default();
    Drawn {
        inst: inst.map(Problem::Conv),
        metrics,
    }
}

/// The rows of a convolutional `method` on `inst`; never fails: errors become a row.
pub fn run_conv_method(
    plan: &Plan,
    method: &PlanMethod,
    item: &Item,
    inst: &ConvInstance,
) -> Vec<Row> {
    rows_or_error_row(method, || run_conv_checked(plan, method, item, inst))
}

/// One convolutional run.
///
/// * A **coder** codes the signals with the planted atoms from zero: one row with `objective`,
///   `rel_gap` and the activations' `act_precision/recall/f1` (lag tolerance 0, non-zero above
///   10⁻³ of the largest |ẑ|).
/// * A **learner** starts from its `init` with seed `derive_seed(item seed, "learner")`; recorded
///   iterations get `recovery_score`, `recovery_rate` (max-over-lags |corr| ≥ 0.99, Hungarian
///   matching) and `data_fit` (Φ); the final row adds `mean_abs_lag` (the matched lags' mean
///   |τ|; for images the mean length of (τ_r, τ_c)), for rank-1 learners `u_score` and `v_score` (means over true atoms), `replaced_atoms`
///   and `time_to_95`. The plan's time budget stops a learner; the `[stall]` rule is not applied
///   to convolutional learners.
///
/// Images (`rows` > 1) run through the coders' and learners' grid entry points
/// ([`crate::conv::ConvCoder::encode_on`], [`crate::conv::ConvLearner::learn_on`]); recovery is over
/// 2-D lags. The methods that work along 1-D signals return an error row naming the ones that take
/// images.
fn run_conv_checked(
    plan: &Plan,
    method: &PlanMethod,
    item: &Item,
    inst: &ConvInstance,
) -> Result<Vec<Row>> {
    let n_signals = inst.y.dim().0;
    let grid = inst.spec.grid();
    let r = grid.atom_rows;
    let conv_recovery = |t: ndarray::ArrayView3<'_, f64>, e: ndarray::ArrayView3<'_, f64>| {
        crate::conv::conv_recovery_2d(t, e, r, r)
    };
    let (params, _) =
        registry::budgeted_with(&method.name, &method.params, plan.budget(), n_signals)?;
    let built = registry::build(&method.name, &params, &Context::default())?;
    let base = Row {
        method: method.id.clone(),
        params: method.params.clone(),
        ..Row::default()
    };
    let boundary = inst.spec.boundary;
    match built {
        Built::ConvCoder(coder) => {
            let enc = coder.encode_on(inst.atoms.view(), inst.y.view(), grid, boundary, None)?;
            let mut row = base;
            row.time_s = enc.elapsed;
            row.iter = enc.iters as i64;
            row.termination = enc.termination.to_string();
            let rec = conv_recovery(inst.atoms.view(), inst.atoms.view())?;
            let top = enc.acts.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let (prec, recall, f1) =
                crate::conv::activation_f1(&rec, inst.acts.view(), enc.acts.view(), 0, 1e-3 * top)?;
            row.metrics.extend([
                ("objective".to_string(), enc.objective),
                ("rel_gap".to_string(), enc.rel_gap),
                ("act_precision".to_string(), prec),
                ("act_recall".to_string(), recall),
                ("act_f1".to_string(), f1),
            ]);
            Ok(vec![row])
        }
        Built::ConvLearner(learner) => {
            let mut obs = ConvSweepObserver {
                truth: &inst.atoms,
                atom_rows: r,
                record: plan.record,
                probe: match plan.record {
                    RecordMode::Final => Schedule::LogSpaced(10),
                    r => r.schedule(),
                },
                budget: plan.time_budget_s,
                base: &base,
                rows: Vec::new(),
                time_to_target: None,
                stop: None,
                last: Record::default(),
            };
            let seed = crate::rng::derive_seed(item.seed, "learner");
            let (k, l) = (inst.spec.n_atoms, inst.spec.atom_len);
            let learned = learner.learn_on(
                inst.y.view(),
                k,
                l,
                grid,
                boundary,
                None,
                seed,
                Schedule::Every(1),
                &mut obs,
            )?;
            let (mut rows, t95, last) = (obs.rows, obs.time_to_target, obs.last);
            let mut row = final_row(&base, &mut rows, &learned.info);
            // the learner's own records of its last iteration (n_found, lambda, csc_iters, …), not
            // the objective, which the final row has as data_fit
            for (k, v) in last.0 {
                if k != "objective" && k != "data_fit" && !row.metrics.iter().any(|(m, _)| m == k) {
                    row.metrics.push((k.to_string(), v));
                }
            }
            let st = &learned.state;
            if st.atoms.iter().all(|v| v.is_finite()) {
                let rec = conv_recovery(inst.atoms.view(), st.atoms.view())?;
                let rate = rec.recovery_rate(0.99);
                // |τ| of a 1-D lag; the length of (τ_r, τ_c) for images
                let lags = &rec.matched_lag;
                let mean_lag = lags
                    .iter()
                    .zip(&rec.matched_lag_row)
                    .map(|(t, u)| ((t * t + u * u) as f64).sqrt())
                    .sum::<f64>()
                    / lags.len().max(1) as f64;
                row.metrics.extend([
                    ("recovery_rate".to_string(), rate),
                    ("recovery_score".to_string(), rec.recovery_score()),
                    ("mean_abs_lag".to_string(), mean_lag),
                ]);
                if let Some((u_hat, v_hat)) = &st.uv {
                    let (u, v) = crate::conv::cdl::rank1_parts(inst.atoms.view());
                    let (su, sv) = crate::conv::metrics::rank1_scores(
                        &rec,
                        u.view(),
                        v.view(),
                        u_hat.view(),
                        v_hat.view(),
                    )?;
                    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len().max(1) as f64;
                    row.metrics.extend([
                        ("u_score".to_string(), mean(&su)),
                        ("v_score".to_string(), mean(&sv)),
                    ]);
                }
                let t95 = t95.or_else(|| (rate >= TARGET).then_some(row.time_s));
                row.metrics
                    .push(("time_to_95".into(), t95.unwrap_or(f64::NAN)));
            }
            row.metrics
                .push(("replaced_atoms".into(), st.replaced_total as f64));
            rows.push(row);
            Ok(rows)
        }
        Built::Coder(_) | Built::Learner(..) => Err(crate::error::Error::invalid(
            "method",
            method.name.clone(),
            "a convolutional coder or learner in a problem = \"conv\" plan",
        )),
    }
}

/// [`SweepObserver`] for convolutional learners: records the plan's iterations with recovery up to
/// shift, measures time to 95 % recovery and enforces the time budget.
struct ConvSweepObserver<'a> {
    truth: &'a ndarray::Array3<f64>,
    /// Rows of an atom (1 for 1-D atoms).
    atom_rows: usize,
    record: RecordMode,
    probe: Schedule,
    budget: Option<f64>,
    base: &'a Row,
    rows: Vec<Row>,
    time_to_target: Option<f64>,
    stop: Option<Termination>,
    /// The learner's latest record (e.g. conv_l4's `n_found`), whose own entries the final row
    /// carries.
    last: Record,
}

impl ConvSweepObserver<'_> {
    /// Keep the latest record (its keys are static: no allocation per iteration but the copy).
    fn keep_last(&mut self, rec: &Record) {
        self.last.0.clone_from(&rec.0);
    }
    fn observe(&mut self, iter: usize, elapsed: f64, s: &ConvLearnState, rec: &Record) {
        let r = self.atom_rows;
        let rc = crate::conv::conv_recovery_2d(self.truth.view(), s.atoms.view(), r, r).ok();
        let rate = rc.as_ref().map_or(f64::NAN, |r| r.recovery_rate(0.99));
        if self.time_to_target.is_none() && rate >= TARGET {
            self.time_to_target = Some(elapsed);
        }
        if self.record != RecordMode::Final && (iter == 0 || self.probe.hits(iter)) {
            let mut row = self.base.clone();
            row.iter = iter as i64;
            row.time_s = elapsed;
            row.termination = "running".into();
            row.metrics.push(("data_fit".into(), s.objective));
            row.metrics.push(("recovery_rate".into(), rate));
            row.metrics.push((
                "recovery_score".into(),
                rc.as_ref().map_or(f64::NAN, |r| r.recovery_score()),
            ));
            for (k, v) in &rec.0 {
                if *k != "objective" && *k != "data_fit" {
                    row.metrics.push(((*k).to_string(), *v));
                }
            }
            self.rows.push(row);
        }
    }
}

impl Observer<ConvLearnState> for ConvSweepObserver<'_> {
    fn on_init(&mut self, s: &ConvLearnState, rec: &Record) {
        self.keep_last(rec);
        self.observe(0, 0.0, s, rec);
    }
    fn on_iter(
        &mut self,
        iter: usize,
        elapsed: f64,
        s: &ConvLearnState,
        rec: &Record,
    ) -> ControlFlow<()> {
        self.keep_last(rec);
        if self.probe.hits(iter) {
            self.observe(iter, elapsed, s, rec);
        }
        match self.budget {
            Some(b) if elapsed > b => {
                self.stop = Some(Termination::TimeBudget);
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        }
    }
    fn stop_reason(&self) -> Option<Termination> {
        self.stop.clone()
    }
}

/// An item's instance, drawn once for all its runs, with the metrics every row records about it.
pub struct Drawn {
    inst: Result<Problem>,
    metrics: Vec<(String, f64)>,
}

/// A drawn instance of either kind of plan.
enum Problem {
    Dense(Instance),
    Conv(ConvInstance),
}

impl super::store::Execute for PlanExecutor {
    type Drawn = Drawn;

    fn draw(&self, pool: &rayon::ThreadPool, item: &Item) -> Drawn {
        if self.conv {
            return draw_conv(pool, item);
        }
        let spec = crate::instance::InstanceSpec::from_params(&item.point.0);
        // a dictionary that missed its target μ is drawn again (recorded as `m_inst_redraws`)
        let drawn = spec.and_then(|s| pool.install(|| s.sample_redrawing(item.seed)));
        let (inst, redraws) = match drawn {
            Ok((i, r)) => (Ok(i), Some(r)),
            Err(e) => (Err(e), None),
        };
        let mut metrics = inst
            .as_ref()
            .map(|i| pool.install(|| instance_metrics(i, item.seed)))
            .unwrap_or_default();
        if let Some(r) = redraws {
            metrics.push(("inst_redraws".into(), r as f64));
        }
        Drawn {
            inst: inst.map(Problem::Dense),
            metrics,
        }
    }

    fn run(
        &self,
        drawn: &Drawn,
        pool: &rayon::ThreadPool,
        plan: &Plan,
        item: &Item,
        j: usize,
    ) -> Vec<Row> {
        let m = &plan.methods[j];
        let mut rows = match &drawn.inst {
            Ok(Problem::Dense(inst)) => {
                pool.install(|| run_method_with(plan, m, item, inst, &self.k_hats))
            }
            Ok(Problem::Conv(inst)) => pool.install(|| run_conv_method(plan, m, item, inst)),
            Err(e) => vec![error_row(m, format!("error: instance: {e}"), 0.0)],
        };
        for r in &mut rows {
            r.metrics.extend(drawn.metrics.iter().cloned());
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_k_hat_is_the_estimate_every_run_would_make() {
        let spec = crate::instance::InstanceSpec::new(16, 24, 300).sparsity(2);
        let inst = spec.sample(3).unwrap();
        let item = Item {
            item: 7,
            point: crate::table::Point(vec![]),
            instance: String::new(),
            rep: 0,
            seed: 11,
        };
        let direct = crate::learn::sparsity::estimate_sparsity(
            inst.y.view(),
            24,
            crate::rng::derive_seed(11, "k_hat"),
        )
        .unwrap();
        let cache = KHatCache::default();
        assert_eq!(cache.get(&item, &inst).unwrap(), direct);
        assert_eq!(cache.get(&item, &inst).unwrap(), direct);
        assert_eq!(cache.0.lock().unwrap().len(), 1);
    }
}
