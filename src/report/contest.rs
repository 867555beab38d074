//! The benchmark's fair contest (docs/protocols.md §6, "Tracks, tuning and budgets"): what each
//! method was told, how often its compute budget decided the run, the neural-against-classical
//! count per information track with bootstrap intervals, and the one tuning rule.
//!
//! * [`told_table`]: per method id, its family, track and what it read about the instance
//!   (`k`, `k_hat`, `nothing`) — from the rows' `p_method_told` where they record it, else found by
//!   building the method ([`crate::registry::told_of_id`]);
//! * [`cap_fractions`]: per method, the fraction of runs that ended at the iteration cap
//!   (`max_iters`) rather than at the plateau rule, with a 95 % Wilson interval;
//! * [`bootstrap_counts`]: per track, how many settings the best neural learner wins, ties and
//!   loses, with 95 % percentile intervals of a two-level bootstrap — the runs at each evaluated
//!   sparsity of every curve, then the settings — and the wins by one grid step;
//! * [`tuning_choice`]: per method, the candidate values of its tuned parameters ranked by the
//!   median final recovery rate over tuning runs, the best one marked — the same rule for every
//!   method.

use super::findings::{axis_grid, family, grid_steps, side_of, track_of, tracks_of};
use crate::error::Result;
use crate::sweep::adaptive::{Adaptive, CurvePoints, curve_points, known_of};
use crate::table::{column_f64, column_str, median, wilson};
use polars::prelude::{Column, DataFrame};
use rand::Rng;
use std::collections::BTreeMap;

/// What a row's method read about its instance: `p_method_told` where the table records it, else
/// what building the method id reads (`?` when it does not build).
fn told_column(df: &DataFrame) -> Result<Vec<String>> {
    let method = column_str(df, "method")?;
    let recorded: Vec<Option<String>> = if df.column("p_method_told").is_ok() {
        column_str(df, "p_method_told")?
            .into_iter()
            .map(|s| Some(s).filter(|s| !s.is_empty()))
            .collect()
    } else {
        vec![None; df.height()]
    };
    let mut cache: BTreeMap<String, String> = BTreeMap::new();
    Ok(method
        .iter()
        .zip(recorded)
        .map(|(m, r)| {
            r.unwrap_or_else(|| {
                cache
                    .entry(m.clone())
                    .or_insert_with(|| {
                        crate::registry::told_of_id(m)
                            .map_or("?".to_string(), |t| t.as_str().to_string())
                    })
                    .clone()
            })
        })
        .collect())
}

/// Per method id over the final rows: `family`, `track`, `told` (what its runs read: `k`,
/// `k_hat`, `nothing`; several joined by `/`) and `runs`. Sorted by track, family, method.
///
/// # Errors
/// A table without `method` or `termination`.
pub fn told_table(df: &DataFrame) -> Result<DataFrame> {
    let fin = super::dashboard::final_rows(df)?;
    let method = column_str(&fin, "method")?;
    let told = told_column(&fin)?;
    let mut by: BTreeMap<(&'static str, crate::spec::Family, String), (Vec<String>, u32)> =
        BTreeMap::new();
    for (m, t) in method.iter().zip(told) {
        let e = by.entry((track_of(m), family(m), m.clone())).or_default();
        if !e.0.contains(&t) {
            e.0.push(t);
        }
        e.1 += 1;
    }
    let (mut tr, mut fam, mut me, mut to, mut runs) = (vec![], vec![], vec![], vec![], vec![]);
    for ((t, f, m), (mut told, n)) in by {
        told.sort();
        tr.push(t);
        fam.push(f.as_str());
        me.push(m);
        to.push(told.join("/"));
        runs.push(n);
    }
    Ok(DataFrame::new(
        me.len(),
        vec![
            Column::new("track".into(), tr),
            Column::new("family".into(), fam),
            Column::new("method".into(), me),
            Column::new("told".into(), to),
            Column::new("runs".into(), runs),
        ],
    )?)
}

/// Per method id over the final rows of learners: `runs`, `at_cap` (runs whose termination is
/// `max_iters`: the budget in passes, or its step floor, ended them), `cap_frac` with its 95 %
/// Wilson interval `cap_lo`, `cap_hi`, `stalled` (stopped by the plateau rule) and `errors`.
/// Coders (single calls) are left out. Sorted by family, then method.
///
/// # Errors
/// A table without `method` or `termination`.
pub fn cap_fractions(df: &DataFrame) -> Result<DataFrame> {
    let fin = super::dashboard::final_rows(df)?;
    let method = column_str(&fin, "method")?;
    let term = column_str(&fin, "termination")?;
    let mut by: BTreeMap<(crate::spec::Family, String), [usize; 4]> = BTreeMap::new();
    for (m, t) in method.iter().zip(&term) {
        let f = family(m);
        if f == crate::spec::Family::Coder {
            continue;
        }
        let e = by.entry((f, m.clone())).or_default();
        e[0] += 1;
        e[1] += usize::from(t == "max_iters");
        e[2] += usize::from(t == "stalled");
        e[3] += usize::from(t.starts_with("error"));
    }
    let (mut fam, mut me) = (vec![], vec![]);
    let mut counts: [Vec<u32>; 4] = Default::default();
    let mut frac: [Vec<f64>; 3] = Default::default();
    for ((f, m), c) in by {
        fam.push(f.as_str());
        me.push(m);
        for (v, x) in counts.iter_mut().zip(c) {
            v.push(x as u32);
        }
        let (lo, hi) = wilson(c[1], c[0], 1.96);
        // three decimals: a Wilson bound of 1e-18 reads as 0
        for (v, x) in frac
            .iter_mut()
            .zip([c[1] as f64 / c[0].max(1) as f64, lo, hi])
        {
            v.push((x * 1000.0).round() / 1000.0);
        }
    }
    let [runs, at_cap, stalled, errors] = counts;
    let [cap, lo, hi] = frac;
    Ok(DataFrame::new(
        me.len(),
        vec![
            Column::new("family".into(), fam),
            Column::new("method".into(), me),
            Column::new("runs".into(), runs),
            Column::new("at_cap".into(), at_cap),
            Column::new("cap_frac".into(), cap),
            Column::new("cap_lo".into(), lo),
            Column::new("cap_hi".into(), hi),
            Column::new("stalled".into(), stalled),
            Column::new("errors".into(), errors),
        ],
    )?)
}

/// k* of a curve from its points: the largest value above the level, 0 when none is.
fn k_star(ad: &Adaptive, points: &[crate::sweep::adaptive::CurvePoint]) -> f64 {
    ad.boundary(&known_of(points)).map_or(0.0, |i| points[i].v)
}

/// The curve with every point's runs drawn again with replacement (each run a success with the
/// point's observed success fraction).
fn resampled(c: &CurvePoints, rng: &mut impl Rng) -> Vec<crate::sweep::adaptive::CurvePoint> {
    c.points
        .iter()
        .map(|p| {
            let frac = p.s as f64 / p.n.max(1) as f64;
            let s = (0..p.n).filter(|_| rng.random::<f64>() < frac).count();
            crate::sweep::adaptive::CurvePoint {
                v: p.v,
                n: p.n,
                s,
                rip: Vec::new(),
            }
        })
        .collect()
}

/// The (track, setting) groups of a set of curves and, per curve, the groups it counts in and
/// its side (0 classical, 1 neural; `None` for the coder and for starts other than data columns),
/// computed once so that a bootstrap replicate compares numbers only.
struct Groups {
    /// (track, setting) of each group with both sides.
    keys: Vec<(String, String)>,
    /// Per curve: (side, the groups it counts in).
    member: Vec<Option<(usize, Vec<usize>)>>,
}

impl Groups {
    fn new(curves: &[&CurvePoints]) -> Self {
        let blind = curves.iter().any(|c| track_of(&c.method) == "blind");
        let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut sides: Vec<[bool; 2]> = Vec::new();
        let mut member = Vec::with_capacity(curves.len());
        for c in curves {
            let Some(side) = side_of(&c.method) else {
                member.push(None);
                continue;
            };
            let gs: Vec<usize> = tracks_of(&c.method, blind)
                .into_iter()
                .map(|t| {
                    let n = index.len();
                    let g = *index.entry((t.to_string(), c.setting.clone())).or_insert(n);
                    if g == sides.len() {
                        sides.push([false; 2]);
                    }
                    sides[g][side] = true;
                    g
                })
                .collect();
            member.push(Some((side, gs)));
        }
        // keep the groups with both sides, renumbered in (track, setting) order
        let mut keep: Vec<((String, String), usize)> = index
            .into_iter()
            .filter(|(_, g)| sides[*g] == [true, true])
            .collect();
        keep.sort();
        let renum: BTreeMap<usize, usize> = keep
            .iter()
            .enumerate()
            .map(|(new, (_, old))| (*old, new))
            .collect();
        let member = member
            .into_iter()
            .map(|m| {
                m.map(|(side, gs)| {
                    (
                        side,
                        gs.into_iter()
                            .filter_map(|g| renum.get(&g).copied())
                            .collect(),
                    )
                })
            })
            .collect();
        Groups {
            keys: keep.into_iter().map(|(k, _)| k).collect(),
            member,
        }
    }

    /// Per group: the best classical and neural k* from one k* per curve.
    fn best(&self, ks: &[f64]) -> Vec<[f64; 2]> {
        let mut best = vec![[f64::NEG_INFINITY; 2]; self.keys.len()];
        for (m, k) in self.member.iter().zip(ks) {
            if let Some((side, gs)) = m {
                for &g in gs {
                    best[g][*side] = best[g][*side].max(*k);
                }
            }
        }
        best
    }
}

/// 0 neural ahead, 1 tie, 2 classical ahead.
fn winner(b: [f64; 2]) -> usize {
    match b[1].total_cmp(&b[0]) {
        std::cmp::Ordering::Greater => 0,
        std::cmp::Ordering::Equal => 1,
        std::cmp::Ordering::Less => 2,
    }
}

/// Neural against classical per track (data starts; curves whose method id `keep` accepts): the
/// number of settings, and for `neural`, `tie`, `classical` the observed count with a 95 %
/// percentile interval (`*_lo`, `*_hi`) over `reps` bootstrap replicates seeded by `seed` — each
/// replicate redraws the runs at every evaluated sparsity of every curve (k* recomputed by the
/// adaptive rule's level) and then the settings of the track with replacement — and
/// `neural_by_one`, `classical_by_one`: the observed wins by one grid step. Points the design
/// never evaluated stay unevaluated in a replicate, so the intervals cover the noise of the
/// success fractions, not that of the design's path.
///
/// # Errors
/// A results table without the columns of an adaptive sweep.
pub fn bootstrap_counts(
    df: &DataFrame,
    ad: &Adaptive,
    keep: &dyn Fn(&str) -> bool,
    reps: usize,
    seed: u64,
) -> Result<DataFrame> {
    let all = curve_points(df, ad)?;
    let curves: Vec<&CurvePoints> = all.iter().filter(|c| keep(&c.method)).collect();
    let observed: Vec<f64> = curves.iter().map(|c| k_star(ad, &c.points)).collect();
    let grid = axis_grid(&observed);
    let groups = Groups::new(&curves);
    let obs = groups.best(&observed);
    let mut tracks: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (g, (track, _)) in groups.keys.iter().enumerate() {
        tracks.entry(track.as_str()).or_default().push(g);
    }
    let mut rng = crate::rng::rng_from_seed(seed);
    // per track, per side: the count in each replicate
    let mut boot: BTreeMap<&str, [Vec<f64>; 3]> = BTreeMap::new();
    for _ in 0..reps {
        let ks: Vec<f64> = curves
            .iter()
            .map(|c| k_star(ad, &resampled(c, &mut rng)))
            .collect();
        let best = groups.best(&ks);
        for (track, gs) in &tracks {
            let mut count = [0.0; 3];
            for _ in 0..gs.len() {
                count[winner(best[gs[rng.random_range(0..gs.len())]])] += 1.0;
            }
            let e = boot.entry(track).or_default();
            for (v, c) in e.iter_mut().zip(count) {
                v.push(c);
            }
        }
    }
    let mut out_track = Vec::new();
    let mut settings = Vec::new();
    let mut cols: [Vec<u32>; 9] = Default::default();
    let mut by_one: [Vec<u32>; 2] = Default::default();
    for (track, gs) in &tracks {
        out_track.push(track.to_string());
        settings.push(gs.len() as u32);
        let e = boot.entry(track).or_default();
        for j in 0..3 {
            let n = gs.iter().filter(|g| winner(obs[**g]) == j).count();
            let (lo, hi) = crate::table::percentiles95(&mut e[j]);
            cols[3 * j].push(n as u32);
            // counts: the percentiles of whole numbers are whole
            cols[3 * j + 1].push(lo.max(0.0) as u32);
            cols[3 * j + 2].push(hi.max(0.0) as u32);
        }
        for (v, side) in by_one.iter_mut().zip([0, 2]) {
            v.push(
                gs.iter()
                    .filter(|g| {
                        let b = obs[**g];
                        winner(b) == side && grid_steps(&grid, b[0], b[1]) == 1
                    })
                    .count() as u32,
            );
        }
    }
    let names = [
        "neural",
        "neural_lo",
        "neural_hi",
        "tie",
        "tie_lo",
        "tie_hi",
        "classical",
        "classical_lo",
        "classical_hi",
    ];
    let mut columns = vec![
        Column::new("track".into(), out_track),
        Column::new("settings".into(), settings),
    ];
    columns.extend(
        names
            .iter()
            .zip(cols)
            .map(|(n, v)| Column::new((*n).into(), v)),
    );
    let [n1, c1] = by_one;
    columns.push(Column::new("neural_by_one".into(), n1));
    columns.push(Column::new("classical_by_one".into(), c1));
    Ok(DataFrame::new(tracks.len(), columns)?)
}

/// The tuning rule, the same for every method: over the final rows of a tuning sweep (instances
/// drawn with other seeds than the benchmark's), group each method id by its values of the tuned
/// parameters `keys` (the rest of the id is the `method`), and rank the candidates by the median
/// final recovery rate over their runs (an error or a missing value counts as 0), ties broken by
/// the mean and then by the order of the text. Columns: `method`, `candidate` (`key=value,…`),
/// `runs`, `median_rate`, `mean_rate`, `chosen` (the best candidate of each method; none where
/// every candidate's mean rate is 0 — the method keeps its default, as no candidate is better).
///
/// # Errors
/// A table without `method`, `termination` or `m_recovery_rate`.
pub fn tuning_choice(df: &DataFrame, keys: &[&str]) -> Result<DataFrame> {
    let fin = super::dashboard::final_rows(df)?;
    let method = column_str(&fin, "method")?;
    let rate = column_f64(&fin, "m_recovery_rate")?;
    let mut by: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for (m, r) in method.iter().zip(rate) {
        let (name, params) = crate::registry::parse_method_id(m);
        let (tuned, rest): (Vec<_>, Vec<_>) = params
            .into_iter()
            .partition(|(k, _)| keys.contains(&k.as_str()));
        if tuned.is_empty() {
            continue;
        }
        let cand: Vec<String> = tuned.iter().map(|(k, v)| format!("{k}={v}")).collect();
        by.entry((crate::registry::method_id(&name, &rest), cand.join(",")))
            .or_default()
            .push(r.filter(|x| x.is_finite()).unwrap_or(0.0));
    }
    let mut best: BTreeMap<String, (f64, f64, String)> = BTreeMap::new();
    let mut rows = Vec::new();
    for ((m, c), v) in &by {
        let (med, mean) = (median(v), v.iter().sum::<f64>() / v.len().max(1) as f64);
        let e =
            best.entry(m.clone())
                .or_insert((f64::NEG_INFINITY, f64::NEG_INFINITY, String::new()));
        if (med, mean) > (e.0, e.1) {
            *e = (med, mean, c.clone());
        }
        rows.push((m.clone(), c.clone(), v.len() as u32, med, mean));
    }
    // a method none of whose candidates recovered anything keeps its default: no candidate is chosen
    let chosen: Vec<bool> = rows
        .iter()
        .map(|r| {
            let b = &best[&r.0];
            b.2 == r.1 && b.1 > 0.0
        })
        .collect();
    Ok(DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "method".into(),
                rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "candidate".into(),
                rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
            ),
            Column::new("runs".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
            Column::new(
                "median_rate".into(),
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            ),
            Column::new(
                "mean_rate".into(),
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            ),
            Column::new("chosen".into(), chosen),
        ],
    )?)
}

/// Which side solves each instance: per `item` of a final-rows table, the best classical
/// learner's and the best neural learner's final `m_recovery_rate` (coders — OMP on the planted
/// dictionary — are left out; [`family`] decides the side), and the counts of items solved
/// (rate ≥ 0.95) by both sides, by the classical side only, by the neural side only and by neither.
#[derive(Clone, Debug, PartialEq)]
pub struct Sides {
    /// Items solved by both sides.
    pub both: usize,
    /// Items solved by a classical learner and by no neural one.
    pub classical_only: usize,
    /// Items solved by a neural learner and by no classical one.
    pub neural_only: usize,
    /// Items solved by neither.
    pub neither: usize,
    /// Per item (in item order): `(item, best classical rate, its method, best neural rate, its
    /// method)`; a side with no learner on the item reads rate 0 and an empty name.
    pub best: Vec<(String, f64, String, f64, String)>,
}

impl Sides {
    /// The items solved by exactly one side, as in [`Sides::best`].
    pub fn one_side(&self) -> Vec<&(String, f64, String, f64, String)> {
        self.best
            .iter()
            .filter(|b| (b.1 >= 0.95) != (b.3 >= 0.95))
            .collect()
    }
}

/// [`Sides`] of a final-rows table (columns `item`, `method`, `m_recovery_rate`; a missing rate
/// counts as 0, ties go to the later row).
///
/// # Errors
/// A missing column.
pub fn sides_per_item(fin: &DataFrame) -> Result<Sides> {
    let items = column_str(fin, "item")?;
    let methods = column_str(fin, "method")?;
    let rate = column_f64(fin, "m_recovery_rate")?;
    let mut best: BTreeMap<String, (f64, String, f64, String)> = BTreeMap::new();
    for i in 0..fin.height() {
        let fam = family(&methods[i]);
        if fam == crate::spec::Family::Coder {
            continue;
        }
        let r = rate[i].unwrap_or(0.0);
        let e = best.entry(items[i].clone()).or_default();
        if fam == crate::spec::Family::Neural {
            if r >= e.2 || e.3.is_empty() {
                (e.2, e.3) = (r, methods[i].clone());
            }
        } else if r >= e.0 || e.1.is_empty() {
            (e.0, e.1) = (r, methods[i].clone());
        }
    }
    let mut s = Sides {
        both: 0,
        classical_only: 0,
        neural_only: 0,
        neither: 0,
        best: Vec::new(),
    };
    let mut keyed: Vec<(String, (f64, String, f64, String))> = best.into_iter().collect();
    keyed.sort_by(|a, b| {
        let num = |x: &str| x.parse::<f64>().ok();
        match (num(&a.0), num(&b.0)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => a.0.cmp(&b.0),
        }
    });
    for (item, (c, cm, n, nm)) in keyed {
        match (c >= 0.95, n >= 0.95) {
            (true, true) => s.both += 1,
            (true, false) => s.classical_only += 1,
            (false, true) => s.neural_only += 1,
            (false, false) => s.neither += 1,
        }
        s.best.push((item, c, cm, n, nm));
    }
    Ok(s)
}
