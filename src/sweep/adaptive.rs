//! Adaptive designs: spend runs where the answer changes.
//!
//! A phase-transition study asks, for each method and each setting of the other instance keys,
//! where along one numeric axis (the sparsity k, or a convolutional activation rate θ) success falls
//! through a level (50 %).
//! A full grid spends most of its runs far from that point, where every run succeeds or every run
//! fails. An `[adaptive]` plan section instead runs, for each **curve** — a method × a setting of
//! every instance key but the axis — a bisection over the axis values listed in `[grid]`:
//!
//! 1. a value is *above the level* when the fraction of its runs that succeeded is ≥ `level`;
//! 2. `a` = the largest evaluated value above the level, `b` = the smallest evaluated value past
//!    `a` below it (the ends of the list stand in when none);
//! 3. while a value lies strictly between `a` and `b`, run one repetition at the middle one;
//! 4. then bring `a` and `b` up to `reps` repetitions each (one at a time, `a` first); if that
//!    moves the boundary, bisection resumes between the new `a` and `b`.
//!
//! The curve is finished when `a` and `b` are adjacent and both have `reps` runs (or lie off the
//! list) — and, with `max_reps`, when neither has runs that disagree (some succeeded, some not)
//! and fewer than `max_reps` of them: an ambiguous bracket gets more repetitions, one at a time,
//! and bisection resumes if they move the boundary. Its transition k* is the axis value at `a` (the largest value where success held; "below
//! the list" when none, "beyond" when the last holds). A curve of L values costs about
//! ⌈log₂ L⌉ + 2(reps − 1) runs instead of L · reps.
//!
//! **Success** of a run: a learner's final `recovery_rate ≥ success` (dense or convolutional); a
//! coder's `support_exact ≥ success` (the fraction of signals whose support it recovers
//! exactly); a convolutional coder's `act_f1 ≥ success` (the F1 of its activations' support). A
//! run that failed with an error counts as no success.
//!
//! Runs are the grid's own items (same item ids, seeds and instances), so every row of an
//! adaptive sweep is a row the full grid would have produced; the rule only chooses which. The
//! rule is deterministic given the outcomes, so a killed sweep resumes by replaying it over the
//! runs on disk. The `[adaptive]` settings are part of the plan hash. Shards own whole curves
//! (curve index mod N), so each curve's runs are sequential within one process.

use super::plan::Plan;
use super::{Item, Row};
use crate::error::{Error, Result};
use crate::table::Value;
use std::collections::HashMap;

pub use super::rule::{Adaptive, expected_runs};

/// One curve: a method on every axis value of one setting of the other instance keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// Index of the method in the plan.
    pub method: usize,
    /// The instance id without the axis key.
    pub setting: String,
    /// Axis values in increasing order.
    pub values: Vec<f64>,
    /// The grid point index of each axis value (same order).
    pub points: Vec<usize>,
}

impl Curve {
    /// The item id of repetition `rep` at axis index `i` (items are `point · reps + rep`).
    pub fn item(&self, plan: &Plan, i: usize, rep: usize) -> usize {
        self.points[i] * plan.sweep.reps + rep
    }
}

/// The curves of an adaptive plan, in a fixed order (settings in grid order, then methods in
/// plan order); a method whose `when` filter rejects a setting has no curve there. Shard `i/N`
/// owns the curves whose index is `i` mod N.
///
/// # Errors
/// A plan without `[adaptive]`; an axis value that is not a number.
pub fn curves(plan: &Plan) -> Result<Vec<Curve>> {
    let ad = plan
        .adaptive
        .as_ref()
        .ok_or_else(|| Error::invalid("plan", "no [adaptive] section", "an adaptive plan"))?;
    let points = plan.sweep.grid.points()?;
    // settings in first-seen order, each with its (value, point index) list
    let mut order: Vec<String> = Vec::new();
    let mut by: HashMap<String, Vec<(f64, usize)>> = HashMap::new();
    for (pi, p) in points.iter().enumerate() {
        let v = p
            .get(&ad.axis)
            .and_then(Value::as_f64)
            .ok_or_else(|| Error::invalid("adaptive.axis", &ad.axis, "a numeric [grid] axis"))?;
        let rest =
            crate::table::Point(p.0.iter().filter(|(k, _)| *k != ad.axis).cloned().collect());
        let id = rest.id();
        if !by.contains_key(&id) {
            order.push(id.clone());
        }
        by.entry(id).or_default().push((v, pi));
    }
    let mut out = Vec::new();
    for setting in order {
        let mut vals = by.remove(&setting).unwrap_or_default();
        vals.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (j, m) in plan.methods.iter().enumerate() {
            let pts: Vec<(f64, usize)> = vals
                .iter()
                .copied()
                .filter(|&(_, pi)| m.applies(&points[pi]))
                .collect();
            if pts.is_empty() {
                continue;
            }
            out.push(Curve {
                method: j,
                setting: setting.clone(),
                values: pts.iter().map(|p| p.0).collect(),
                points: pts.iter().map(|p| p.1).collect(),
            });
        }
    }
    Ok(out)
}

/// A run's success value from its rows: the final row's `recovery_rate` (learners), else its
/// `support_exact` (coders), else its `act_f1` (convolutional coders); NaN for a failed run or a
/// run without any.
pub fn outcome_of_rows(rows: &[Row]) -> f64 {
    let Some(last) = rows.iter().rev().find(|r| r.termination != "running") else {
        return f64::NAN;
    };
    let get = |k: &str| last.metrics.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    get("recovery_rate")
        .or_else(|| get("support_exact"))
        .or_else(|| get("act_f1"))
        .unwrap_or(f64::NAN)
}

/// Each row's success value in a results table, as [`outcome_of_rows`] reads it from a run's
/// final row: `m_recovery_rate`, else `m_support_exact`, else `m_act_f1` (`None` where none; a
/// table may lack any of the columns).
///
/// # Errors
/// Polars errors reading the columns.
pub fn outcome_column(df: &polars::prelude::DataFrame) -> Result<Vec<Option<f64>>> {
    let (rate, exact, f1) = (
        crate::table::column_f64_or_none(df, "m_recovery_rate")?,
        crate::table::column_f64_or_none(df, "m_support_exact")?,
        crate::table::column_f64_or_none(df, "m_act_f1")?,
    );
    Ok(rate
        .into_iter()
        .zip(exact)
        .zip(f1)
        .map(|((r, e), f)| r.or(e).or(f))
        .collect())
}

/// The outcomes known for `curve`, per axis index, from finished runs' success values
/// (`outcomes[(item, method id)]`), in repetition order.
pub fn known(
    plan: &Plan,
    ad: &Adaptive,
    curve: &Curve,
    outcomes: &HashMap<(i64, String), f64>,
) -> Vec<Vec<bool>> {
    let id = &plan.methods[curve.method].id;
    (0..curve.points.len())
        .map(|i| {
            (0..plan.sweep.reps)
                .map_while(|r| {
                    outcomes
                        .get(&(curve.item(plan, i, r) as i64, id.clone()))
                        .map(|v| ad.succeeded(*v))
                })
                .collect()
        })
        .collect()
}

/// The rows of an adaptive results table on the settings whose every curve of `plan` is in the
/// table (a partial merge holds finished curves only, and a setting compared before its best
/// methods finished would be read wrongly), and the number of such settings.
///
/// # Errors
/// A plan without `[adaptive]`; a table without `instance`, `method`, `termination` or the axis.
pub fn complete_settings(
    df: &polars::prelude::DataFrame,
    plan: &Plan,
) -> Result<(polars::prelude::DataFrame, usize)> {
    let ad = plan
        .adaptive
        .as_ref()
        .ok_or_else(|| Error::invalid("plan", "no [adaptive] section", "an adaptive plan"))?;
    let mut expected: HashMap<String, usize> = HashMap::new();
    for c in curves(plan)? {
        *expected.entry(c.setting).or_default() += 1;
    }
    let mut found: HashMap<String, usize> = HashMap::new();
    for c in curve_points(df, ad)? {
        *found.entry(c.setting).or_default() += 1;
    }
    let complete: std::collections::HashSet<&String> = expected
        .iter()
        .filter(|(s, n)| found.get(*s) == Some(*n))
        .map(|(s, _)| s)
        .collect();
    let n = complete.len();
    Ok((
        on_settings(df, ad, &|s| complete.contains(&s.to_string()))?,
        n,
    ))
}

/// The rows of `df` whose setting (instance id without the axis) `keep` accepts.
fn on_settings(
    df: &polars::prelude::DataFrame,
    ad: &Adaptive,
    keep: &dyn Fn(&str) -> bool,
) -> Result<polars::prelude::DataFrame> {
    let mask: Vec<bool> = crate::table::column_str(df, "instance")?
        .iter()
        .map(|inst| keep(&ad.setting_of(inst)))
        .collect();
    let mask = <polars::prelude::BooleanChunked as polars::prelude::NamedFrom<_, [bool]>>::new(
        "keep".into(),
        &mask,
    );
    Ok(df.filter(&mask)?)
}

/// The rows of `df` on the settings that `other` has (e.g. an earlier run restricted to the
/// settings a rerun completed, for a before/after comparison on the same settings).
///
/// # Errors
/// Tables without `instance`.
pub fn on_settings_of(
    df: &polars::prelude::DataFrame,
    other: &polars::prelude::DataFrame,
    ad: &Adaptive,
) -> Result<polars::prelude::DataFrame> {
    let settings: std::collections::HashSet<String> = crate::table::column_str(other, "instance")?
        .iter()
        .map(|inst| ad.setting_of(inst))
        .collect();
    on_settings(df, ad, &|s| settings.contains(s))
}

/// Runs, successes and the δ_k lower bounds seen at one axis value of a curve.
#[derive(Clone, Debug, Default)]
pub struct CurvePoint {
    /// The axis value.
    pub v: f64,
    /// Runs there.
    pub n: usize,
    /// Successful runs there.
    pub s: usize,
    /// The certified δ_k lower bounds of its instances.
    pub rip: Vec<f64>,
}

/// One curve's evaluated axis values (sorted), as [`transitions`] and the bootstrap of
/// `report::findings` read them.
#[derive(Clone, Debug, Default)]
pub struct CurvePoints {
    /// Method id.
    pub method: String,
    /// The instance id without the axis key.
    pub setting: String,
    /// The curve's first row in the table.
    pub first_row: usize,
    /// Evaluated axis values in increasing order.
    pub points: Vec<CurvePoint>,
    /// The measured μ of its runs.
    pub mu: Vec<f64>,
}

/// Success pattern of sorted points, as [`Adaptive::boundary`] reads it.
pub fn known_of(points: &[CurvePoint]) -> Vec<Vec<bool>> {
    points
        .iter()
        .map(|p| (0..p.n).map(|r| r < p.s).collect())
        .collect()
}

/// Every curve of a results table with its evaluated points, sorted by method and setting
/// (rows still `running` are skipped; a run that failed with an error counts as no success).
///
/// # Errors
/// A table without `instance`, `method`, `termination` or the axis column `p_inst_{axis}`.
pub fn curve_points(df: &polars::prelude::DataFrame, ad: &Adaptive) -> Result<Vec<CurvePoints>> {
    use crate::table::{column_f64, column_str};
    let axis_col = format!("p_inst_{}", ad.axis);
    let inst = column_str(df, "instance")?;
    let method = column_str(df, "method")?;
    let term = column_str(df, "termination")?;
    let axis = column_f64(df, &axis_col)?;
    let mu = crate::table::column_f64_or_none(df, "m_inst_mu")?;
    let rip = crate::table::column_f64_or_none(df, "m_inst_rip_lower")?;
    let outcome = outcome_column(df)?;
    let mut curves: HashMap<(String, String), CurvePoints> = HashMap::new();
    for i in 0..df.height() {
        if term[i] == "running" {
            continue;
        }
        let Some(v) = axis[i] else { continue };
        let key = (method[i].clone(), ad.setting_of(&inst[i]));
        let ok = outcome[i].is_some_and(|x| ad.succeeded(x));
        let entry = curves.entry(key).or_insert_with_key(|k| CurvePoints {
            method: k.0.clone(),
            setting: k.1.clone(),
            first_row: i,
            ..CurvePoints::default()
        });
        entry.mu.extend(mu[i]);
        let p = match entry.points.iter().position(|c| c.v.total_cmp(&v).is_eq()) {
            Some(j) => &mut entry.points[j],
            None => {
                entry.points.push(CurvePoint {
                    v,
                    ..CurvePoint::default()
                });
                entry.points.last_mut().expect("just pushed")
            }
        };
        p.n += 1;
        p.s += usize::from(ok);
        p.rip.extend(rip[i]);
    }
    let mut out: Vec<CurvePoints> = curves.into_values().collect();
    for c in &mut out {
        c.points.sort_by(|a, b| a.v.total_cmp(&b.v));
    }
    out.sort_by(|a, b| (&a.method, &a.setting).cmp(&(&b.method, &b.setting)));
    Ok(out)
}

/// The transition of every curve found in a results table (an adaptive sweep's, or a full
/// grid's: the rule's definition applies to any set of runs): one row per (method, setting) with
///
/// * `k_star`: the largest axis value whose success fraction is ≥ `level` (NaN: none is);
/// * `k_fail`: the smallest evaluated value above `k_star` (NaN: none — success held to the end);
/// * `n_star`, `p_star`, `p_star_lo`, `p_star_hi`: runs, success fraction and its 95 % Wilson
///   interval at `k_star`; `n_fail`, `p_fail`, `p_fail_lo`, `p_fail_hi` at `k_fail`;
/// * `runs`: the curve's runs;
/// * `mu`: the mean measured mutual coherence of the curve's instances (`m_inst_mu`);
/// * `rip_lo_star`, `rip_lo_fail`: the mean certified lower bound on δ_k (`m_inst_rip_lower`) of
///   the instances at `k_star` and at `k_fail`, where δ_k is measured at that k;
///
/// then the setting's instance columns (`p_inst_*`, axis excluded). Rows are sorted by method and
/// setting. A table without the `m_inst_*` columns gets NaN there.
///
/// # Errors
/// A table without `instance`, `method`, `termination` or the axis column `p_inst_{axis}`.
pub fn transitions(
    df: &polars::prelude::DataFrame,
    ad: &Adaptive,
) -> Result<polars::prelude::DataFrame> {
    use crate::table::{column_f64, wilson};
    use polars::prelude::{Column, DataFrame};
    let axis_col = format!("p_inst_{}", ad.axis);
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let setting_cols: Vec<&String> = names
        .iter()
        .filter(|c| c.starts_with("p_inst_") && **c != axis_col)
        .collect();
    column_f64(df, &axis_col)?;
    let all = curve_points(df, ad)?;
    let order: Vec<(String, String)> = all
        .iter()
        .map(|c| (c.method.clone(), c.setting.clone()))
        .collect();
    let names_num = [
        "k_star",
        "k_fail",
        "n_star",
        "p_star",
        "p_star_lo",
        "p_star_hi",
        "n_fail",
        "p_fail",
        "p_fail_lo",
        "p_fail_hi",
        "runs",
        "mu",
        "rip_lo_star",
        "rip_lo_fail",
    ];
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); names_num.len()];
    let mut first_rows = Vec::new();
    for CurvePoints {
        first_row: first,
        points,
        mu: mus,
        ..
    } in all
    {
        let star = ad.boundary(&known_of(&points));
        let fail = (0..points.len()).find(|&i| star.is_none_or(|s| i > s));
        let at = |i: Option<usize>| -> [f64; 6] {
            match i {
                Some(i) => {
                    let p = &points[i];
                    let (lo, hi) = wilson(p.s, p.n, 1.96);
                    [
                        p.v,
                        p.n as f64,
                        p.s as f64 / p.n as f64,
                        lo,
                        hi,
                        crate::table::mean_ci95(&p.rip).0,
                    ]
                }
                None => [f64::NAN; 6],
            }
        };
        let (a, b) = (at(star), at(fail));
        let runs = points.iter().map(|p| p.n).sum::<usize>() as f64;
        let mu_mean = crate::table::mean_ci95(&mus).0;
        for (c, v) in cols.iter_mut().zip([
            a[0], b[0], a[1], a[2], a[3], a[4], b[1], b[2], b[3], b[4], runs, mu_mean, a[5], b[5],
        ]) {
            c.push(v);
        }
        first_rows.push(first as i64);
    }
    let mut out = vec![
        Column::new(
            "method".into(),
            order.iter().map(|k| k.0.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "setting".into(),
            order.iter().map(|k| k.1.clone()).collect::<Vec<_>>(),
        ),
    ];
    out.extend(
        names_num
            .iter()
            .zip(cols)
            .map(|(n, v)| Column::new((*n).into(), v)),
    );
    let idx = polars::prelude::IdxCa::from_vec(
        "idx".into(),
        first_rows
            .iter()
            .map(|&i| i as polars::prelude::IdxSize)
            .collect(),
    );
    for c in setting_cols {
        out.push(df.column(c)?.take(&idx)?);
    }
    Ok(DataFrame::new(order.len(), out)?)
}

/// Bootstrap resamples of the k* interval of [`summarize_transitions`].
pub const BOOTSTRAP_REPS: usize = 2000;
/// Their seed (fixed: the same table gives the same interval).
pub const BOOTSTRAP_SEED: u64 = 0x6b73;

/// The transitions of [`transitions`] summarised per (method, `by` keys), e.g. per method ×
/// dictionary family × coherence over every other setting, sorted by method then keys (numbers
/// in numeric order): `curves`, `found` (curves whose k* is on the list), `k_star_median`,
/// `k_star_mean` and `k_star_ci95` (the half-width of the 95 % t-interval of the mean over
/// curves), `k_star_lo`, `k_star_hi` (the 95 % percentile bootstrap interval of the mean over
/// curves, which stays within the listed values), `beyond` (curves where success held at the largest value); `mu`, the mean measured
/// coherence of the curves' instances, `k_mu_bound` = (1 + 1/μ)/2 at that μ (the exact-recovery
/// guarantee of OMP/BP on a known dictionary: k < (1 + 1/μ)/2; +∞ for μ < 10⁻⁹), and `rip_lo_star`, the mean
/// certified lower bound on δ_k at k* (curves with a k* on the list).
/// A curve where no value succeeded counts as k* = 0 in the statistics (its transition lies below
/// the list); a curve beyond the list counts at its largest value (so the mean is a lower bound).
///
/// # Errors
/// A `by` column missing from `t`.
pub fn summarize_transitions(
    t: &polars::prelude::DataFrame,
    by: &[&str],
) -> Result<polars::prelude::DataFrame> {
    use crate::table::{column_f64, column_str, mean_ci95};
    use polars::prelude::{Column, DataFrame};
    let method = column_str(t, "method")?;
    let keys: Vec<Vec<String>> = by.iter().map(|k| column_str(t, k)).collect::<Result<_>>()?;
    let (star, fail) = (column_f64(t, "k_star")?, column_f64(t, "k_fail")?);
    let (mu, rip) = (
        crate::table::column_f64_or_none(t, "mu")?,
        crate::table::column_f64_or_none(t, "rip_lo_star")?,
    );
    let mut groups: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
    for i in 0..t.height() {
        let mut key = vec![method[i].clone()];
        key.extend(keys.iter().map(|c| c[i].clone()));
        groups.entry(key).or_default().push(i);
    }
    let mut order: Vec<Vec<String>> = groups.keys().cloned().collect();
    order.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => p.total_cmp(&q),
                _ => x.cmp(y),
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut text: Vec<Vec<String>> = vec![Vec::new(); by.len() + 1];
    let mut counts: Vec<Vec<u32>> = vec![Vec::new(); 3];
    let mut num: Vec<Vec<f64>> = vec![Vec::new(); 8];
    for key in &order {
        let rows = &groups[key];
        let ks: Vec<f64> = rows
            .iter()
            .map(|&i| star[i].filter(|x| x.is_finite()).unwrap_or(0.0))
            .collect();
        let median = crate::table::median(&ks);
        let (mean, half) = mean_ci95(&ks);
        let (lo, hi) = crate::table::mean_bootstrap95(&ks, BOOTSTRAP_REPS, BOOTSTRAP_SEED);
        let found = ks.iter().filter(|k| **k > 0.0).count();
        let beyond = rows
            .iter()
            .filter(|&&i| {
                star[i].is_some_and(f64::is_finite) && !fail[i].is_some_and(f64::is_finite)
            })
            .count();
        let of = |c: &[Option<f64>]| -> Vec<f64> { rows.iter().filter_map(|&i| c[i]).collect() };
        let mu_mean = mean_ci95(&of(&mu)).0;
        for (c, v) in text.iter_mut().zip(key) {
            c.push(v.clone());
        }
        for (c, v) in counts.iter_mut().zip([ks.len(), found, beyond]) {
            c.push(v as u32);
        }
        for (c, v) in num.iter_mut().zip([
            median,
            mean,
            half,
            lo,
            hi,
            mu_mean,
            // an orthobasis (μ = 0 up to rounding) has no coherence limit
            if mu_mean < 1e-9 {
                f64::INFINITY
            } else {
                (1.0 + 1.0 / mu_mean) / 2.0
            },
            mean_ci95(&of(&rip)).0,
        ]) {
            c.push(v);
        }
    }
    let mut cols: Vec<Column> = std::iter::once("method")
        .chain(by.iter().copied())
        .zip(text)
        .map(|(name, v)| Column::new(name.into(), v))
        .collect();
    let mut counts = counts.into_iter();
    let mut num = num.into_iter();
    let mut next_u = |name: &str| Column::new(name.into(), counts.next().unwrap_or_default());
    let (c_curves, c_found, c_beyond) = (next_u("curves"), next_u("found"), next_u("beyond"));
    let mut next_f = |name: &str| Column::new(name.into(), num.next().unwrap_or_default());
    cols.extend([c_curves, c_found]);
    cols.extend(
        [
            "k_star_median",
            "k_star_mean",
            "k_star_ci95",
            "k_star_lo",
            "k_star_hi",
        ]
        .map(&mut next_f),
    );
    cols.push(c_beyond);
    cols.extend(["mu", "k_mu_bound", "rip_lo_star"].map(&mut next_f));
    Ok(DataFrame::new(order.len(), cols)?)
}

/// An item by id.
pub(crate) fn item_by_id(items: &[Item], id: usize) -> Option<&Item> {
    items.get(id).filter(|it| it.item == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(reps: usize) -> Adaptive {
        Adaptive {
            axis: "sparsity".into(),
            level: 0.5,
            success: 0.95,
            reps,
            max_reps: None,
        }
    }

    #[test]
    fn an_ambiguous_bracket_gets_more_repetitions() {
        // index 6 succeeds on even repetitions only: 2 of 3 at reps = 3, ambiguous, so it gets up
        // to max_reps = 5 (3 of 5); index 7 always fails (not ambiguous: no more runs)
        let ad = Adaptive {
            max_reps: Some(5),
            ..rule(3)
        };
        let runs = drive(&ad, 10, |i, r| i < 6 || (i == 6 && r % 2 == 0));
        let at = |j: usize| runs.iter().filter(|(i, _)| *i == j).count();
        assert_eq!((at(6), at(7)), (5, 3), "{runs:?}");
        // without max_reps the same oracle stops at 3 runs each
        let runs = drive(&rule(3), 10, |i, r| i < 6 || (i == 6 && r % 2 == 0));
        assert_eq!(runs.iter().filter(|(i, _)| *i == 6).count(), 3);
        let bad = Adaptive {
            max_reps: Some(2),
            ..rule(3)
        };
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("≥ adaptive.reps")
        );
    }

    /// Run the rule against a deterministic oracle (`ok(i, rep)`), returning the runs made.
    fn drive(ad: &Adaptive, len: usize, ok: impl Fn(usize, usize) -> bool) -> Vec<(usize, usize)> {
        let mut known = vec![Vec::new(); len];
        let mut runs = Vec::new();
        while let Some((i, r)) = ad.next(&known) {
            assert_eq!(r, known[i].len(), "repetitions in order");
            known[i].push(ok(i, r));
            runs.push((i, r));
            assert!(
                runs.len() <= len * ad.max_reps.unwrap_or(ad.reps),
                "terminates"
            );
        }
        runs
    }

    #[test]
    fn bisection_by_hand() {
        // 10 values, success up to index 6: 4 (idx 4 ok) → 7 (fail) → 5 (ok) → 6 (ok), then
        // reps at a = 6 and b = 7: (6,1), (6,2), (7,1), (7,2)
        let ad = rule(3);
        let runs = drive(&ad, 10, |i, _| i <= 6);
        assert_eq!(
            runs,
            vec![
                (4, 0),
                (7, 0),
                (5, 0),
                (6, 0),
                (6, 1),
                (6, 2),
                (7, 1),
                (7, 2)
            ]
        );
        let mut known = vec![Vec::new(); 10];
        for (i, _) in &runs {
            known[*i].push(*i <= 6);
        }
        assert_eq!(ad.boundary(&known), Some(6));
        // everything fails: bisection walks down to index 0, which gets its reps
        let runs = drive(&ad, 10, |_, _| false);
        assert_eq!(runs, vec![(4, 0), (1, 0), (0, 0), (0, 1), (0, 2)]);
        // everything succeeds: up to the last value
        let runs = drive(&rule(1), 10, |_, _| true);
        assert_eq!(runs, vec![(4, 0), (7, 0), (8, 0), (9, 0)]);
    }

    #[test]
    fn a_boundary_that_moves_under_repetitions_resumes_the_bisection() {
        // index 5 succeeds once, then fails twice: p(5) = 1/3 < 0.5, so the boundary moves down
        let ad = rule(3);
        let runs = drive(&ad, 8, |i, r| i < 5 || (i == 5 && r == 0));
        let mut known = vec![Vec::new(); 8];
        for &(i, r) in &runs {
            known[i].push(i < 5 || (i == 5 && r == 0));
        }
        assert_eq!(ad.boundary(&known), Some(4));
        assert!(known[4].len() == 3 && known[5].len() == 3, "{runs:?}");
        assert!(runs.len() < 8 * 3);
    }

    #[test]
    fn transition_summaries_by_hand() {
        use polars::prelude::{Column, DataFrame};
        // method a, family f: k* = 2, 4, none (0) and 6 with success to the end; family g: 3
        // (listed first: the summary sorts by method, then key)
        let t = DataFrame::new(
            5,
            vec![
                Column::new("method".into(), ["a", "a", "a", "a", "a"]),
                Column::new("fam".into(), ["g", "f", "f", "f", "f"]),
                Column::new("k_star".into(), [3.0, 2.0, 4.0, f64::NAN, 6.0]),
                Column::new("k_fail".into(), [4.0, 3.0, 5.0, 1.0, f64::NAN]),
                Column::new("mu".into(), [0.2, 0.4, 0.6, 0.5, 0.5]),
                Column::new("rip_lo_star".into(), [0.1, 0.2, 0.4, f64::NAN, 0.6]),
            ],
        )
        .unwrap();
        let s = summarize_transitions(&t, &["fam"]).unwrap();
        assert_eq!(crate::table::column_str(&s, "fam").unwrap(), ["f", "g"]);
        let mu = crate::table::column_f64(&s, "mu").unwrap();
        // f: μ = (0.4 + 0.6 + 0.5 + 0.5)/4 = 0.5 → (1 + 2)/2 = 1.5; g: 0.2 → (1 + 5)/2 = 3
        assert!((mu[0].unwrap() - 0.5).abs() < 1e-12);
        let bound = crate::table::column_f64(&s, "k_mu_bound").unwrap();
        assert!((bound[0].unwrap() - 1.5).abs() < 1e-12 && (bound[1].unwrap() - 3.0).abs() < 1e-12);
        // δ lower bound at k*: mean of 0.2, 0.4, 0.6 (the curve without k* has none)
        let rip = crate::table::column_f64(&s, "rip_lo_star").unwrap();
        assert!((rip[0].unwrap() - 0.4).abs() < 1e-12);
        let col = |n: &str| crate::table::column_f64(&s, n).unwrap();
        assert_eq!(col("curves"), [Some(4.0), Some(1.0)]);
        assert_eq!(col("found"), [Some(3.0), Some(1.0)]);
        // {0, 2, 4, 6}: median 3, mean 3, s = √(20/3), half-width 3.182·s/2 = 4.1082
        assert_eq!(col("k_star_median"), [Some(3.0), Some(3.0)]);
        assert_eq!(col("k_star_mean")[0], Some(3.0));
        assert!((col("k_star_ci95")[0].unwrap() - 4.1082).abs() < 1e-3);
        assert_eq!(col("beyond"), [Some(1.0), Some(0.0)]);
    }

    #[test]
    fn settings_are_refused_outside_their_range() {
        for bad in [
            Adaptive {
                level: 0.0,
                ..rule(1)
            },
            Adaptive {
                success: 1.5,
                ..rule(1)
            },
            rule(0),
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
