//! Findings of a phase-transition benchmark, computed from the per-curve transitions of
//! [`crate::sweep::adaptive::transitions`] (docs/protocols.md §6; BENCHMARK.md).
//!
//! A *curve* is a method × a setting of every instance key but the sparsity k; its transition k*
//! is the largest k at which at least half of the runs succeed (final recovery_rate ≥ 0.95, a
//! coder's exact supports ≥ 0.95). The tables here compare transitions across curves:
//!
//! * [`paired`]: the change of k* when one instance key moves from `a` to `b` with everything else
//!   fixed (N = 1000 → 5000, σ = 0 → 0.05, non-negative → signed codes), per method: the mean
//!   difference over the matched curves with its 95 % t-interval, and how many rose, fell, or
//!   stayed;
//! * [`paired_start`]: the same for the learner's start (data columns → Gaussian or near A*),
//!   matching curves of the same learner with the same settings;
//! * [`neural_vs_classical`]: per setting, the largest k* among classical learners against the
//!   largest among neural ones, and which;
//! * [`time_to_95`]: per method, the time and passes of the runs that reached 95 % of the atoms;
//! * [`across_dims`]: k* at two dimensions n on settings with the same m/n, dictionary family,
//!   coherence, N, noise and code law.
//!
//! A curve whose every value failed has k* = 0 (the transition lies below the list), as in
//! [`crate::sweep::adaptive::summarize_transitions`]; a curve that succeeded to the end of the list
//! counts at its last value, so means over such curves are lower bounds.

use crate::error::Result;
use crate::table::{column_f64, column_str, mean_ci95, median};
use polars::prelude::{Column, DataFrame, NamedFrom};
use std::collections::{BTreeMap, HashMap};

pub use crate::spec::Family;

/// The family of a method id (`unrolled[gradient=ae_ls,…]` → neural), read from the method's spec
/// ([`crate::registry::family_of`]); a name the registry does not know counts as classical.
pub fn family(method: &str) -> Family {
    crate::registry::family_of(method).unwrap_or(Family::Classical)
}

/// The tracks a curve of `method` counts in: its own ([`track_of`]), and also `blind` for an
/// oracle-track method that reads nothing about the instance (its runs would be the same in
/// either track, so plans run it once) when `blind` is among the table's tracks.
pub(crate) fn tracks_of(method: &str, blind_present: bool) -> Vec<&'static str> {
    let own = track_of(method);
    if own == "oracle"
        && blind_present
        && crate::registry::told_of_id(method) == Some(crate::spec::Told::Nothing)
    {
        vec!["oracle", "blind"]
    } else {
        vec![own]
    }
}

/// The information track of a method id: `blind` when its parameters say `track=blind`, else
/// `oracle` (the default of every method; see [`crate::spec::Track`]).
pub fn track_of(method: &str) -> &'static str {
    let params = method
        .split_once('[')
        .map_or("", |(_, r)| r.strip_suffix(']').unwrap_or(r));
    if params.split(',').any(|kv| kv == "track=blind") {
        "blind"
    } else {
        "oracle"
    }
}

/// A method id split into the method without its start and the start: `mod[init=near,init_dist=0.3]`
/// → (`mod`, `near`); `unrolled[gradient=dec,init=data]` → (`unrolled[gradient=dec]`, `data`);
/// a learner whose id sets no `init` started from the default, data columns (`ksvd[track=blind]` →
/// (`ksvd[track=blind]`, `data`)); a coder or an unknown name (`omp`) → (`omp`, `""`).
pub fn split_start(method: &str) -> (String, String) {
    // a learner whose id names no start ran from the default one: data columns
    let default_start = |name: &str| match crate::registry::lookup(name) {
        Ok(m) if m.kind() == crate::registry::Kind::Learner => "data".to_string(),
        _ => String::new(),
    };
    let Some((name, rest)) = method.split_once('[') else {
        return (method.to_string(), default_start(method));
    };
    let params = rest.strip_suffix(']').unwrap_or(rest);
    let mut start = default_start(name);
    let kept: Vec<&str> = params
        .split(',')
        .filter(|kv| match kv.split_once('=') {
            Some(("init", v)) => {
                start = v.to_string();
                false
            }
            Some(("init_dist", _)) => false,
            _ => true,
        })
        .collect();
    let base = if kept.is_empty() || kept == [""] {
        name.to_string()
    } else {
        format!("{name}[{}]", kept.join(","))
    };
    (base, start)
}

/// k* of every row of a transitions table, with no transition counted as 0.
fn k_stars(t: &DataFrame) -> Result<Vec<f64>> {
    Ok(column_f64(t, "k_star")?
        .into_iter()
        .map(|k| k.filter(|x| x.is_finite()).unwrap_or(0.0))
        .collect())
}

/// A transitions row's setting without the parts for `keys` (instance keys without `p_inst_`).
fn setting_without(setting: &str, keys: &[&str]) -> String {
    setting
        .split(',')
        .filter(|part| {
            !keys
                .iter()
                .any(|k| part.strip_prefix(k).is_some_and(|r| r.starts_with('=')))
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Settings without the `key=value` parts that every one of them shares (`dim=32`, …), which
/// keeps the tables readable (fewer than two settings stay whole).
fn without_constant_parts(settings: &[String]) -> Vec<String> {
    let [first, _, ..] = settings else {
        return settings.to_vec();
    };
    let shared: Vec<&str> = first
        .split(',')
        .filter(|p| settings.iter().all(|s| s.split(',').any(|q| q == *p)))
        .collect();
    settings
        .iter()
        .map(|s| {
            s.split(',')
                .filter(|p| !shared.contains(p))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

/// k* at the two sides (a, b) of each (method, matched setting).
type Sides = HashMap<(String, String), [Option<f64>; 2]>;

/// Differences b − a per method over the settings that have both sides, as a table: `method`,
/// `pairs`, `mean_a`, `mean_b`, `mean_diff`, `ci95` (half-width of the 95 % t-interval), `rose`,
/// `fell`, `same`. Pairs are sorted, so sums run in one order.
fn diff_table(sides: Sides) -> Result<DataFrame> {
    let mut pairs: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for ((m, _), v) in sides {
        if let [Some(x), Some(y)] = v {
            pairs.entry(m).or_default().push((x, y));
        }
    }
    for v in pairs.values_mut() {
        v.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.total_cmp(&q.1)));
    }
    let mut g = Vec::new();
    let mut counts: [Vec<u32>; 4] = Default::default();
    let mut num: [Vec<f64>; 4] = Default::default();
    for (name, ps) in pairs {
        let d: Vec<f64> = ps.iter().map(|(a, b)| b - a).collect();
        let (mean, half) = mean_ci95(&d);
        let a: Vec<f64> = ps.iter().map(|p| p.0).collect();
        let b: Vec<f64> = ps.iter().map(|p| p.1).collect();
        g.push(name);
        for (c, v) in counts.iter_mut().zip([
            d.len(),
            d.iter().filter(|x| **x > 0.0).count(),
            d.iter().filter(|x| **x < 0.0).count(),
            d.iter().filter(|x| **x == 0.0).count(),
        ]) {
            c.push(v as u32);
        }
        for (c, v) in num
            .iter_mut()
            .zip([mean_ci95(&a).0, mean_ci95(&b).0, mean, half])
        {
            c.push(v);
        }
    }
    let n = g.len();
    let [pairs, rose, fell, same] = counts;
    let [mean_a, mean_b, mean_diff, ci95] = num;
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("method".into(), g),
            Column::new("pairs".into(), pairs),
            Column::new("mean_a".into(), mean_a),
            Column::new("mean_b".into(), mean_b),
            Column::new("mean_diff".into(), mean_diff),
            Column::new("ci95".into(), ci95),
            Column::new("rose".into(), rose),
            Column::new("fell".into(), fell),
            Column::new("same".into(), same),
        ],
    )?)
}

/// How k* changes per method when the instance key `key` (without `p_inst_`, e.g. `n_samples`)
/// goes from `a` to `b` with every other key and the method fixed: one row per method with the
/// matched curves (`pairs`), the mean k* at `a` and at `b`, the mean difference b − a with the
/// half-width of its 95 % t-interval, and the counts of curves whose k* rose, fell or stayed.
/// Values compare as text, as in the setting (`n_samples=1000`, `noise_sigma=0.05`).
///
/// # Errors
/// A table without `method`, `setting` or `k_star`.
pub fn paired(t: &DataFrame, key: &str, a: &str, b: &str) -> Result<DataFrame> {
    let (method, setting, ks) = (
        column_str(t, "method")?,
        column_str(t, "setting")?,
        k_stars(t)?,
    );
    let (pa, pb) = (format!("{key}={a}"), format!("{key}={b}"));
    let mut sides = Sides::new();
    for i in 0..t.height() {
        let side = setting[i].split(',').find_map(|p| {
            if p == pa {
                Some(0)
            } else if p == pb {
                Some(1)
            } else {
                None
            }
        });
        if let Some(side) = side {
            let rest = setting_without(&setting[i], &[key]);
            sides.entry((method[i].clone(), rest)).or_default()[side] = Some(ks[i]);
        }
    }
    diff_table(sides)
}

/// How k* changes per learner when its start goes from `a` to `b` (`data`, `gaussian`, `near`),
/// with the learner's other parameters and the setting fixed; columns as in [`paired`], grouped
/// by the method without its start ([`split_start`]).
///
/// # Errors
/// A table without `method`, `setting` or `k_star`.
pub fn paired_start(t: &DataFrame, a: &str, b: &str) -> Result<DataFrame> {
    let (method, setting, ks) = (
        column_str(t, "method")?,
        column_str(t, "setting")?,
        k_stars(t)?,
    );
    let mut sides = Sides::new();
    for i in 0..t.height() {
        let (base, start) = split_start(&method[i]);
        let side = if start == a {
            0
        } else if start == b {
            1
        } else {
            continue;
        };
        sides.entry((base, setting[i].clone())).or_default()[side] = Some(ks[i]);
    }
    diff_table(sides)
}

/// Per track and setting (curves with data-column starts and coders; see `tracks_of`), the best classical
/// learner's k* and the best neural learner's, with their names (ties: every tied name, joined by
/// ` = `), and the coder's k* (OMP on the planted dictionary, when present in that track):
/// columns `track` ([`track_of`]), `setting` (without the parts every setting shares),
/// `classical`, `k_classical`, `neural`, `k_neural`, `k_coder`, `winner` (`neural`, `classical`
/// or `tie`) and `steps`: how many values of the axis grid (the sorted evaluated values, with
/// 0 for "no success") lie between the two k*, so that a win by one grid step reads as such.
/// Settings missing either side are skipped. Methods are compared only within a track.
///
/// # Errors
/// A table without `method`, `setting` or `k_star`.
pub fn neural_vs_classical(t: &DataFrame) -> Result<DataFrame> {
    neural_vs_classical_where(t, &|_| true)
}

/// As [`neural_vs_classical`] over the curves whose method id `keep` accepts (e.g. only the
/// learners told nothing about the instance).
///
/// # Errors
/// As [`neural_vs_classical`].
pub fn neural_vs_classical_where(t: &DataFrame, keep: &dyn Fn(&str) -> bool) -> Result<DataFrame> {
    let (method, setting, ks) = (
        column_str(t, "method")?,
        column_str(t, "setting")?,
        k_stars(t)?,
    );
    let grid = axis_grid(&ks);
    let blind = method.iter().any(|m| track_of(m) == "blind");
    let mut by: BTreeMap<(String, String), Best> = BTreeMap::new();
    for i in 0..t.height() {
        if !keep(&method[i]) {
            continue;
        }
        for track in tracks_of(&method[i], blind) {
            by.entry((track.to_string(), setting[i].clone()))
                .or_insert_with(Best::new)
                .add(&method[i], ks[i]);
        }
    }
    let (mut tracks, mut settings, mut coder, mut winner, mut steps) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut who: [Vec<String>; 2] = Default::default();
    let mut best: [Vec<f64>; 2] = Default::default();
    for ((track, s), b) in by {
        let Some(w) = b.winner() else { continue };
        tracks.push(track);
        settings.push(s);
        for side in 0..2 {
            let mut names = b.who[side].clone();
            names.sort();
            who[side].push(names.join(" = "));
            best[side].push(b.k[side]);
        }
        coder.push(b.coder.unwrap_or(f64::NAN));
        winner.push(w);
        steps.push(grid_steps(&grid, b.k[0], b.k[1]) as u32);
    }
    let settings = without_constant_parts(&settings);
    let n = settings.len();
    let [cn, nn] = who;
    let [ck, nk] = best;
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("track".into(), tracks),
            Column::new("setting".into(), settings),
            Column::new("classical".into(), cn),
            Column::new("k_classical".into(), ck),
            Column::new("neural".into(), nn),
            Column::new("k_neural".into(), nk),
            Column::new("k_coder".into(), coder),
            Column::new("winner".into(), winner),
            Column::new("steps".into(), steps),
        ],
    )?)
}

/// The side a curve of `method` counts on in the neural-against-classical comparison: 0 for a
/// classical learner, 1 for a neural one, `None` for the coder and for starts other than data
/// columns.
pub(crate) fn side_of(method: &str) -> Option<usize> {
    match family(method) {
        Family::Coder => None,
        _ if split_start(method).1 != "data" => None,
        Family::Classical => Some(0),
        Family::Neural => Some(1),
    }
}

/// The best classical and neural k* of one setting (data starts), and the coder's.
pub(crate) struct Best {
    /// Best k* per side (classical, neural); −1 while the side has no curve.
    pub(crate) k: [f64; 2],
    /// Who reached it.
    pub(crate) who: [Vec<String>; 2],
    /// The coder's k*.
    pub(crate) coder: Option<f64>,
}

impl Best {
    pub(crate) fn new() -> Self {
        Best {
            k: [-1.0; 2],
            who: Default::default(),
            coder: None,
        }
    }

    /// Count curve `method` with transition `k` (learners from starts other than data columns
    /// are left out).
    pub(crate) fn add(&mut self, method: &str, k: f64) {
        if family(method) == Family::Coder {
            self.coder = Some(k);
            return;
        }
        let Some(side) = side_of(method) else { return };
        match k.total_cmp(&self.k[side]) {
            std::cmp::Ordering::Greater => {
                self.k[side] = k;
                self.who[side] = vec![method.to_string()];
            }
            std::cmp::Ordering::Equal => self.who[side].push(method.to_string()),
            std::cmp::Ordering::Less => {}
        }
    }

    /// `neural`, `classical` or `tie`; `None` while a side has no curve.
    pub(crate) fn winner(&self) -> Option<&'static str> {
        if self.k.iter().any(|k| *k < 0.0) {
            return None;
        }
        Some(match self.k[1].total_cmp(&self.k[0]) {
            std::cmp::Ordering::Greater => "neural",
            std::cmp::Ordering::Less => "classical",
            std::cmp::Ordering::Equal => "tie",
        })
    }
}

/// The sorted distinct k* values with 0 ("no success") first: the grid [`grid_steps`] counts on.
pub(crate) fn axis_grid(ks: &[f64]) -> Vec<f64> {
    let mut g: Vec<f64> = std::iter::once(0.0)
        .chain(ks.iter().copied().filter(|k| k.is_finite()))
        .collect();
    g.sort_by(f64::total_cmp);
    g.dedup();
    g
}

/// Grid positions between two values (both on or between the grid's values).
pub(crate) fn grid_steps(grid: &[f64], a: f64, b: f64) -> usize {
    let pos = |x: f64| grid.iter().filter(|g| **g <= x).count();
    pos(a).abs_diff(pos(b))
}

/// Per method over the final rows of a results table: `runs`, `reached` (runs whose recovery
/// rate reached 0.95 at some recorded iteration: finite `m_time_to_95`), and over those the
/// median, first and third quartile of `m_time_to_95` (seconds, one thread per run) and the
/// median passes over the data at the end of the run (`m_passes`). Sorted by family, then method.
///
/// # Errors
/// A table without `method`, `termination` or `m_time_to_95`.
pub fn time_to_95(df: &DataFrame) -> Result<DataFrame> {
    let fin = super::dashboard::final_rows(df)?;
    let method = column_str(&fin, "method")?;
    let t95 = column_f64(&fin, "m_time_to_95")?;
    let passes = crate::table::column_f64_or_none(&fin, "m_passes")?;
    /// Runs of one method, and the times and passes of those that reached 95 %.
    #[derive(Default)]
    struct Acc {
        runs: u32,
        t95: Vec<f64>,
        passes: Vec<f64>,
    }
    let mut by: BTreeMap<(Family, String), Acc> = BTreeMap::new();
    for i in 0..fin.height() {
        let e = by
            .entry((family(&method[i]), method[i].clone()))
            .or_default();
        e.runs += 1;
        if let Some(t) = t95[i].filter(|x| x.is_finite()) {
            e.t95.push(t);
            e.passes.extend(passes[i]);
        }
    }
    let (mut fam, mut names) = (Vec::new(), Vec::new());
    let mut counts: [Vec<u32>; 2] = Default::default();
    let mut num: [Vec<f64>; 4] = Default::default();
    for ((f, m), acc) in by {
        fam.push(f.as_str());
        names.push(m);
        counts[0].push(acc.runs);
        counts[1].push(acc.t95.len() as u32);
        let (q1, q3) = quartiles(&acc.t95);
        for (c, v) in num
            .iter_mut()
            .zip([median(&acc.t95), q1, q3, median(&acc.passes)])
        {
            c.push(v);
        }
    }
    let n = fam.len();
    let [runs, reached] = counts;
    let [med, q1, q3, pm] = num;
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("family".into(), fam),
            Column::new("method".into(), names),
            Column::new("runs".into(), runs),
            Column::new("reached".into(), reached),
            Column::new("t95_median_s".into(), med),
            Column::new("t95_q1_s".into(), q1),
            Column::new("t95_q3_s".into(), q3),
            Column::new("passes_median".into(), pm),
        ],
    )?)
}

/// First and third quartiles (medians of the lower and upper halves; NaN when empty).
fn quartiles(values: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let h = v.len() / 2;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    if v.len() == 1 {
        return (v[0], v[0]);
    }
    (median(&v[..h]), median(&v[v.len() - h..]))
}

/// k* of the same method on matching settings of two transitions tables at different dimensions
/// (e.g. n = 32 and n = 64): settings match on m/n, dictionary, coherence, N, noise and code law.
/// One row per matched (method, setting): `method`, `setting` (of `a`, without `dim`,
/// `n_atoms` and the parts every matched setting shares), `m_over_n`, `k_a`, `k_b`, `mu_a`, `mu_b`.
///
/// # Errors
/// A table without `method`, `setting`, `k_star`, `p_inst_dim` or `p_inst_n_atoms`.
pub fn across_dims(a: &DataFrame, b: &DataFrame) -> Result<DataFrame> {
    type Key = (String, String, String);
    /// The setting without n and m, k*, and the measured μ of a curve.
    type Val = (String, f64, f64);
    let index = |t: &DataFrame| -> Result<HashMap<Key, Val>> {
        let (method, setting, ks) = (
            column_str(t, "method")?,
            column_str(t, "setting")?,
            k_stars(t)?,
        );
        let (n, m) = (
            column_f64(t, "p_inst_dim")?,
            column_f64(t, "p_inst_n_atoms")?,
        );
        let mu = crate::table::column_f64_or_none(t, "mu")?;
        let mut out = HashMap::new();
        for i in 0..t.height() {
            let (Some(n), Some(m)) = (n[i], m[i]) else {
                continue;
            };
            let ratio = format!("{}", m / n);
            let rest = setting_without(&setting[i], &["dim", "n_atoms"]);
            out.insert(
                (method[i].clone(), ratio, rest.clone()),
                (rest, ks[i], mu[i].unwrap_or(f64::NAN)),
            );
        }
        Ok(out)
    };
    let (ia, ib) = (index(a)?, index(b)?);
    let mut rows: Vec<(&Key, &Val, &Val)> = ia
        .iter()
        .filter_map(|(k, va)| ib.get(k).map(|vb| (k, va, vb)))
        .collect();
    rows.sort_by(|x, y| x.0.cmp(y.0));
    let n = rows.len();
    let settings = without_constant_parts(&rows.iter().map(|r| r.1.0.clone()).collect::<Vec<_>>());
    Ok(DataFrame::new(
        n,
        vec![
            Column::new(
                "method".into(),
                rows.iter().map(|r| r.0.0.clone()).collect::<Vec<_>>(),
            ),
            Column::new("setting".into(), settings),
            Column::new(
                "m_over_n".into(),
                rows.iter()
                    .map(|r| r.0.1.parse::<f64>().unwrap_or(f64::NAN))
                    .collect::<Vec<_>>(),
            ),
            Column::new("k_a".into(), rows.iter().map(|r| r.1.1).collect::<Vec<_>>()),
            Column::new("k_b".into(), rows.iter().map(|r| r.2.1).collect::<Vec<_>>()),
            Column::new(
                "mu_a".into(),
                rows.iter().map(|r| r.1.2).collect::<Vec<_>>(),
            ),
            Column::new(
                "mu_b".into(),
                rows.iter().map(|r| r.2.2).collect::<Vec<_>>(),
            ),
        ],
    )?)
}

/// The rows of a transitions table whose method starts from one of `starts` (`""` keeps coders).
///
/// # Errors
/// A table without `method`.
pub fn with_starts(t: &DataFrame, starts: &[&str]) -> Result<DataFrame> {
    let method = column_str(t, "method")?;
    let keep: Vec<bool> = method
        .iter()
        .map(|m| starts.contains(&split_start(m).1.as_str()))
        .collect();
    Ok(t.filter(&polars::prelude::BooleanChunked::new("keep".into(), &keep))?)
}

/// "mean [lo, hi] (curves)" of k* with its bootstrap interval (no interval for one curve), or "–".
fn cell(mean: Option<f64>, lo: Option<f64>, hi: Option<f64>, n: Option<f64>) -> String {
    match (mean, lo, hi, n) {
        (Some(m), Some(l), Some(h), Some(n)) if m.is_finite() && n > 1.0 && l.is_finite() => {
            format!("{m:.1} [{l:.1}, {h:.1}] ({n})")
        }
        (Some(m), _, _, Some(n)) if m.is_finite() => format!("{m:.1} ({n})"),
        _ => "–".into(),
    }
}

/// The k*(family) pivot of a transitions table (text cells): one row per method (data starts and coders), one
/// column per dictionary family (orthobasis, coherence-targeted at each μ, Gaussian, [I | H]),
/// cells "mean k* [95 % bootstrap interval] (curves)" over every other setting; then rows with the mean
/// measured μ, the guarantee (1 + 1/μ)/2 at that μ, and the mean certified δ_k lower bound at OMP's
/// k* of each column.
///
/// # Errors
/// A transitions table without its columns.
pub fn kstar_by_family(t: &DataFrame) -> Result<DataFrame> {
    let t = with_starts(t, &["data", ""])?;
    let s = crate::sweep::adaptive::summarize_transitions(
        &t,
        &["p_inst_dictionary", "p_inst_coherence"],
    )?;
    let (method, dict, coh) = (
        column_str(&s, "method")?,
        column_str(&s, "p_inst_dictionary")?,
        column_f64(&s, "p_inst_coherence")?,
    );
    let (mean, lo, hi, n) = (
        column_f64(&s, "k_star_mean")?,
        column_f64(&s, "k_star_lo")?,
        column_f64(&s, "k_star_hi")?,
        column_f64(&s, "curves")?,
    );
    let (mu, bound, rip) = (
        column_f64(&s, "mu")?,
        column_f64(&s, "k_mu_bound")?,
        column_f64(&s, "rip_lo_star")?,
    );
    let col_of = |i: usize| match coh[i].filter(|c| c.is_finite()) {
        Some(c) => format!("μ = {c}"),
        None => dict[i].clone(),
    };
    // column order: orthobasis, coherence targets ascending, gaussian, others
    let rank = |i: usize| -> (u8, f64) {
        match (dict[i].as_str(), coh[i].filter(|c| c.is_finite())) {
            ("orthobasis", _) => (0, 0.0),
            (_, Some(c)) => (1, c),
            ("gaussian", _) => (2, 0.0),
            _ => (3, 0.0),
        }
    };
    let mut cols: Vec<(u8, f64, String)> = (0..s.height())
        .map(|i| {
            let (a, b) = rank(i);
            (a, b, col_of(i))
        })
        .collect();
    cols.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)).then(x.2.cmp(&y.2)));
    cols.dedup_by(|x, y| x.2 == y.2);
    let names: Vec<String> = cols.into_iter().map(|c| c.2).collect();
    let mut rows: BTreeMap<(Family, String), Vec<String>> = BTreeMap::new();
    let mut extra: [Vec<String>; 3] = std::array::from_fn(|_| vec!["–".to_string(); names.len()]);
    for i in 0..s.height() {
        let j = names.iter().position(|c| *c == col_of(i)).unwrap_or(0);
        rows.entry((family(&method[i]), method[i].clone()))
            .or_insert_with(|| vec!["–".to_string(); names.len()])[j] =
            cell(mean[i], lo[i], hi[i], n[i]);
        if family(&method[i]) == Family::Coder {
            for (e, v) in extra.iter_mut().zip([mu[i], bound[i], rip[i]]) {
                e[j] = match v.filter(|x| !x.is_nan()) {
                    Some(x) if x > 1e6 => "∞".into(),
                    Some(x) => format!("{x:.2}"),
                    None => "–".into(),
                };
            }
        }
    }
    let mut fam: Vec<String> = Vec::new();
    let mut meth: Vec<String> = Vec::new();
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    for ((f, m), row) in rows {
        fam.push(f.as_str().into());
        meth.push(m);
        for (c, v) in cells.iter_mut().zip(row) {
            c.push(v);
        }
    }
    for (label, e) in [
        "measured μ (mean)",
        "guarantee (1 + 1/μ)/2",
        "δ_k lower bound at OMP's k*",
    ]
    .into_iter()
    .zip(extra)
    {
        fam.push(String::new());
        meth.push(format!("*{label}*"));
        for (c, v) in cells.iter_mut().zip(e) {
            c.push(v);
        }
    }
    let n = fam.len();
    let mut cols = vec![
        Column::new("family".into(), fam),
        Column::new("method".into(), meth),
    ];
    cols.extend(
        names
            .iter()
            .zip(cells)
            .map(|(name, v)| Column::new(name.as_str().into(), v)),
    );
    Ok(DataFrame::new(n, cols)?)
}

/// `results` with every row of the methods that `rerun` holds replaced by `rerun`'s rows: a method
/// rerun after a fix (same method ids, same instance keys, e.g. NOODL on
/// `plans/benchmark_adaptive_noodl.toml`) supersedes its old runs, including on settings the rerun
/// did not cover (those rows come from the code that was fixed). Columns are unioned.
///
/// # Errors
/// Tables without a `method` column.
pub fn replace_methods(results: &DataFrame, rerun: &DataFrame) -> Result<DataFrame> {
    let mut ids = column_str(rerun, "method")?;
    ids.sort();
    ids.dedup();
    let keep: Vec<bool> = column_str(results, "method")?
        .iter()
        .map(|m| ids.binary_search(m).is_err())
        .collect();
    let mask = polars::prelude::BooleanChunked::new("keep".into(), keep);
    let kept = results.filter(&mask)?;
    crate::sweep::store::union_concat(&[kept, rerun.clone()])
}

/// The rows of a results table whose instance keys take the given values (`("noise_sigma",
/// "0.05")` keeps `p_inst_noise_sigma = 0.05`; numbers compare by value, words as text).
///
/// # Errors
/// A key that is not an instance column of the table (naming the columns there are).
pub fn only_settings(df: &DataFrame, only: &[(String, String)]) -> Result<DataFrame> {
    let mut conds = Vec::new();
    for (k, v) in only {
        let col = format!("p_inst_{k}");
        if df.column(&col).is_err() {
            let keys: Vec<String> = df
                .get_column_names()
                .iter()
                .filter_map(|c| c.strip_prefix("p_inst_").map(str::to_string))
                .collect();
            return Err(crate::error::Error::invalid(
                "--only",
                format!("{k}={v}"),
                format!("an instance key of the table: {}", keys.join(", ")),
            ));
        }
        let value = v.parse::<f64>().map_or_else(
            |_| crate::table::Value::from(v.as_str()),
            crate::table::Value::Float,
        );
        conds.push((col, value));
    }
    let conds: Vec<(&str, crate::table::Value)> =
        conds.iter().map(|(c, v)| (c.as_str(), v.clone())).collect();
    crate::table::filter_eq(df, &conds)
}

/// Replicates of the bootstrap of the neural-against-classical counts in [`markdown`].
pub const BOOTSTRAP_REPS: usize = 1000;
/// Their seed (fixed: the same results give the same intervals).
pub const BOOTSTRAP_SEED: u64 = 0x6661_6972;

/// The told table of [`super::contest::told_table`] condensed: per track and what the methods
/// read, the classical and the neural learners' names (without parameters).
fn told_summary(a: &DataFrame) -> Result<DataFrame> {
    let t = super::contest::told_table(a)?;
    let (track, fam, method, told) = (
        column_str(&t, "track")?,
        column_str(&t, "family")?,
        column_str(&t, "method")?,
        column_str(&t, "told")?,
    );
    let mut by: BTreeMap<(String, String), [Vec<String>; 3]> = BTreeMap::new();
    for i in 0..t.height() {
        let side = match fam[i].as_str() {
            "coder" => 0,
            "classical" => 1,
            _ => 2,
        };
        let name = method[i]
            .split('[')
            .next()
            .unwrap_or(&method[i])
            .to_string();
        let e = by.entry((track[i].clone(), told[i].clone())).or_default();
        if !e[side].contains(&name) {
            e[side].push(name);
        }
    }
    let mut cols: [Vec<String>; 5] = Default::default();
    for ((tr, to), names) in by {
        cols[0].push(tr);
        cols[1].push(to);
        for (c, n) in cols[2..].iter_mut().zip(names) {
            c.push(n.join(", "));
        }
    }
    let n = cols[0].len();
    let [a, b, c, d, e] = cols;
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("track".into(), a),
            Column::new("told".into(), b),
            Column::new("coders".into(), c),
            Column::new("classical".into(), d),
            Column::new("neural".into(), e),
        ],
    )?)
}

/// One sentence per track of a [`super::contest::bootstrap_counts`] table, every number read
/// from it.
///
/// # Errors
/// A table without the columns of [`super::contest::bootstrap_counts`].
pub fn count_sentences(b: &DataFrame) -> Result<String> {
    let track = column_str(b, "track")?;
    let col = |c: &str| column_f64(b, c);
    let (st, n, nl, nh, ti, tl, th, c, cl, ch) = (
        col("settings")?,
        col("neural")?,
        col("neural_lo")?,
        col("neural_hi")?,
        col("tie")?,
        col("tie_lo")?,
        col("tie_hi")?,
        col("classical")?,
        col("classical_lo")?,
        col("classical_hi")?,
    );
    let f = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.0}"));
    let mut out = String::from("\n");
    for i in 0..b.height() {
        out.push_str(&format!(
            "- {} track, {} settings: neural ahead on {} [{}, {}], tied on {} [{}, {}], behind on {} [{}, {}].\n",
            track[i],
            f(st[i]),
            f(n[i]),
            f(nl[i]),
            f(nh[i]),
            f(ti[i]),
            f(tl[i]),
            f(th[i]),
            f(c[i]),
            f(cl[i]),
            f(ch[i])
        ));
    }
    Ok(out)
}

/// Every findings table of a benchmark as Markdown: k* per family and dictionary, neural against
/// classical, the sensitivity to start, N, noise and code law, time to 95 %, and (with `b`, a
/// second dimension's results) k* across n. `a`/`b` are merged results tables, `ad` the rule.
///
/// # Errors
/// Tables without the columns of a sweep's results.
pub fn markdown(
    a: &DataFrame,
    ad: &crate::sweep::adaptive::Adaptive,
    b: Option<&DataFrame>,
) -> Result<String> {
    markdown_with(a, ad, b, false)
}

/// As [`markdown`]; with `brief`, only the contest's tables: what each method was told, the
/// budget's caps, k* per family and neural against classical (no sensitivity, time or second
/// dimension).
///
/// # Errors
/// As [`markdown`].
pub fn markdown_with(
    a: &DataFrame,
    ad: &crate::sweep::adaptive::Adaptive,
    b: Option<&DataFrame>,
    brief: bool,
) -> Result<String> {
    use super::dashboard::markdown_table;
    let t = crate::sweep::adaptive::transitions(a, ad)?;
    let runs = super::dashboard::final_rows(a)?.height();
    let mut md = format!(
        "{} curves, {runs} runs. k* = the largest sparsity with ≥ {:.0} % success (final recovery_rate ≥ \
         {}; OMP: exact supports); a curve with no success counts as 0. Means over curves carry a 95 % \
         percentile bootstrap interval in brackets, then the number of curves. A method id with \
         `track=blind` ran in the blind track (told nothing; k̂ from the signals); every other id ran in \
         the oracle track.\n\n### What each method was told\n\n",
        t.height(),
        100.0 * ad.level,
        ad.success
    );
    md.push_str(&markdown_table(&told_summary(a)?)?);
    md.push_str(
        "\n### How often the budget ended a run (data starts, final rows; 95 % Wilson interval)\n\n",
    );
    let caps = super::contest::cap_fractions(a)?;
    md.push_str(&markdown_table(&with_starts(&caps, &["data"])?)?);
    md.push_str("\n### k* per dictionary family (data-column starts)\n\n");
    md.push_str(&markdown_table(&kstar_by_family(&t)?)?);
    md.push_str(&format!(
        "\n### Neural against classical learners (data starts, per track and setting)\n\nCounts of \
         settings where the best neural learner's k* is above (`neural`), equal to (`tie`) or below \
         (`classical`) the best classical learner's, compared within a track only, with 95 % intervals \
         from a two-level bootstrap ({BOOTSTRAP_REPS} replicates: runs at each evaluated k, then \
         settings); `*_by_one`: wins by one grid step.\n\n**All learners of each track**\n\n"
    ));
    let all = super::contest::bootstrap_counts(a, ad, &|_| true, BOOTSTRAP_REPS, BOOTSTRAP_SEED)?;
    md.push_str(&markdown_table(&all)?);
    md.push_str(&count_sentences(&all)?);
    md.push_str("\n**Only learners told nothing about the instance** (`told = nothing`)\n\n");
    let nothing = |m: &str| {
        family(m) == Family::Coder
            || crate::registry::told_of_id(m) == Some(crate::spec::Told::Nothing)
    };
    let blind_free =
        super::contest::bootstrap_counts(a, ad, &nothing, BOOTSTRAP_REPS, BOOTSTRAP_SEED)?;
    md.push_str(&markdown_table(&blind_free)?);
    md.push_str(&count_sentences(&blind_free)?);
    let w = neural_vs_classical(&t)?;
    let beat = crate::table::filter_eq(&w, &[("winner", crate::table::Value::from("neural"))])?;
    if beat.height() > 0 {
        md.push_str("\n**Settings the best neural learner wins** (`steps`: grid steps between the two k*)\n\n");
        md.push_str(&markdown_table(&beat)?);
    }
    if brief {
        return Ok(md);
    }
    md.push_str("\n### Sensitivity (matched curves; difference of k*, b − a)\n\n");
    let pairs: [(&str, &str, &str); 3] = [
        ("n_samples", "1000", "5000"),
        ("noise_sigma", "0", "0.05"),
        ("values", "nonneg_uniform", "signed_uniform"),
    ];
    for (start_a, start_b) in [("data", "gaussian"), ("data", "near")] {
        md.push_str(&format!("**start: a = {start_a}, b = {start_b}**\n\n"));
        md.push_str(&markdown_table(&paired_start(&t, start_a, start_b)?)?);
        md.push('\n');
    }
    let data_only = with_starts(&t, &["data", ""])?;
    for (k, x, y) in pairs {
        md.push_str(&format!("**{k}: a = {x}, b = {y}** (data starts)\n\n"));
        md.push_str(&markdown_table(&paired(&data_only, k, x, y)?)?);
        md.push('\n');
    }
    md.push_str("\n### Time to 95 % of the atoms (runs that got there)\n\n");
    md.push_str(&markdown_table(&time_to_95(a)?)?);
    if let Some(b) = b {
        let tb = crate::sweep::adaptive::transitions(b, ad)?;
        md.push_str("\n### k* across dimensions (same m/n, family, μ, N, σ, law)\n\n");
        md.push_str(&markdown_table(&across_dims(&t, &tb)?)?);
    }
    Ok(md)
}

/// The finite `m_time_to_95` of each of `methods` over the final rows `fin`, as log10 seconds
/// (floored at 1e-5 s): the samples of a histogram of times to 95 % recovery. Methods without a
/// run that reached 95 % are left out.
///
/// # Errors
/// A table without `method` or `m_time_to_95`.
pub fn time_to_95_log10(fin: &DataFrame, methods: &[String]) -> Result<Vec<(String, Vec<f64>)>> {
    let method = column_str(fin, "method")?;
    let t95 = column_f64(fin, "m_time_to_95")?;
    Ok(methods
        .iter()
        .filter_map(|m| {
            let s: Vec<f64> = (0..fin.height())
                .filter(|&i| &method[i] == m)
                .filter_map(|i| t95[i].filter(|t| t.is_finite()))
                .map(|t| t.max(1e-5).log10())
                .collect();
            (!s.is_empty()).then(|| (m.clone(), s))
        })
        .collect())
}

/// Per method of `methods`, the mean of column `y` over the final rows `fin` binned by column `x`
/// in bins of `width` (x in [b·width, (b+1)·width) → bin centre (b + ½)·width); rows with either
/// value missing are skipped. One series per method, bins in increasing order.
///
/// # Errors
/// A table without `method`, `x` or `y`; `width` ≤ 0.
pub fn binned_means(
    fin: &DataFrame,
    methods: &[String],
    x: &str,
    y: &str,
    width: f64,
) -> Result<Vec<super::Series2>> {
    if !(width > 0.0 && width.is_finite()) {
        return Err(crate::error::Error::invalid(
            "bin width",
            width,
            "a width > 0",
        ));
    }
    let (method, xs, ys) = (
        column_str(fin, "method")?,
        column_f64(fin, x)?,
        column_f64(fin, y)?,
    );
    Ok(methods
        .iter()
        .map(|m| {
            let mut bins: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
            for i in 0..fin.height() {
                if &method[i] != m {
                    continue;
                }
                if let (Some(a), Some(b)) = (xs[i], ys[i]) {
                    let e = bins.entry((a / width).floor() as i64).or_insert((0.0, 0));
                    e.0 += b;
                    e.1 += 1;
                }
            }
            super::Series2::new(
                m.clone(),
                bins.keys().map(|b| (*b as f64 + 0.5) * width).collect(),
                bins.values().map(|(s, c)| s / *c as f64).collect(),
            )
        })
        .collect())
}

/// Mean k* against the measured coherence per method, from a transitions summary (columns
/// `method`, `mu`, `k_star_mean`, e.g. [`crate::sweep::adaptive::summarize_transitions`] by
/// coherence): one series per method with a k* > 0 somewhere, in method order.
///
/// # Errors
/// A table without the columns.
pub fn kstar_vs_mu(s: &DataFrame) -> Result<Vec<super::Series2>> {
    let (m, mu, k) = (
        column_str(s, "method")?,
        column_f64(s, "mu")?,
        column_f64(s, "k_star_mean")?,
    );
    let mut by: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for i in 0..s.height() {
        let e = by.entry(m[i].clone()).or_default();
        e.0.push(mu[i].unwrap_or(f64::NAN));
        e.1.push(k[i].unwrap_or(f64::NAN));
    }
    Ok(by
        .into_iter()
        .filter(|(_, (_, ks))| ks.iter().any(|k| *k > 0.0))
        .map(|(name, (x, y))| super::Series2::new(name, x, y))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(method: &[&str], setting: &[&str], k: &[f64]) -> DataFrame {
        DataFrame::new(
            method.len(),
            vec![
                Column::new("method".into(), method),
                Column::new("setting".into(), setting),
                Column::new("k_star".into(), k),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_rerun_replaces_its_methods_everywhere() {
        // old table: noodl on settings x, y and mod on x; the rerun has noodl on x only, with an
        // extra column
        let old = frame(
            &["noodl", "noodl", "mod"],
            &["x", "y", "x"],
            &[0.0, 0.0, 3.0],
        );
        let mut new = frame(&["noodl"], &["x"], &[2.0]);
        new.with_column(Column::new("extra".into(), &[1.0]))
            .unwrap();
        let r = replace_methods(&old, &new).unwrap();
        assert_eq!(column_str(&r, "method").unwrap(), ["mod", "noodl"]);
        assert_eq!(column_str(&r, "setting").unwrap(), ["x", "x"]);
        assert_eq!(column_f64(&r, "k_star").unwrap(), [Some(3.0), Some(2.0)]);
        assert_eq!(column_f64(&r, "extra").unwrap(), [None, Some(1.0)]);
    }

    #[test]
    fn starts_split_off_method_ids() {
        assert_eq!(split_start("omp"), ("omp".into(), String::new()));
        assert_eq!(split_start("mod[init=data]"), ("mod".into(), "data".into()));
        // a learner without `init` started from data columns, the default
        assert_eq!(split_start("mod"), ("mod".into(), "data".into()));
        assert_eq!(
            split_start("ksvd[track=blind]"),
            ("ksvd[track=blind]".into(), "data".into())
        );
        assert_eq!(
            split_start("unrolled[gradient=dec,layers=25,init=near,init_dist=0.3]"),
            ("unrolled[gradient=dec,layers=25]".into(), "near".into())
        );
        assert_eq!(family("omp"), Family::Coder);
        assert_eq!(family("ksvd[init=data]"), Family::Classical);
        assert_eq!(family("lista_dl[network=lista]"), Family::Neural);
    }

    #[test]
    fn paired_differences_by_hand() {
        // method a: N = 1000 → 5000 on two settings: k* 2 → 4 and 3 → 3; a third setting has
        // only N = 1000 (no pair). Method b: 0 (no transition) → 1.
        let t = frame(
            &["a", "a", "a", "a", "a", "b", "b"],
            &[
                "n_samples=1000,dictionary=x",
                "n_samples=5000,dictionary=x",
                "n_samples=1000,dictionary=y",
                "n_samples=5000,dictionary=y",
                "n_samples=1000,dictionary=z",
                "n_samples=1000,dictionary=x",
                "n_samples=5000,dictionary=x",
            ],
            &[2.0, 4.0, 3.0, 3.0, 6.0, f64::NAN, 1.0],
        );
        let d = paired(&t, "n_samples", "1000", "5000").unwrap();
        assert_eq!(column_str(&d, "method").unwrap(), ["a", "b"]);
        let f = |c: &str| column_f64(&d, c).unwrap();
        assert_eq!(f("pairs"), [Some(2.0), Some(1.0)]);
        assert_eq!(f("mean_a"), [Some(2.5), Some(0.0)]);
        assert_eq!(f("mean_b"), [Some(3.5), Some(1.0)]);
        // differences {2, 0}: mean 1, s = √2, half-width 12.706 · √2/√2 = 12.706
        assert_eq!(f("mean_diff"), [Some(1.0), Some(1.0)]);
        assert!((f("ci95")[0].unwrap() - 12.706).abs() < 1e-2);
        assert_eq!(f("rose"), [Some(1.0), Some(1.0)]);
        assert_eq!(f("same"), [Some(1.0), Some(0.0)]);
    }

    #[test]
    fn start_pairs_and_winners_by_hand() {
        let t = frame(
            &[
                "mod[init=data]",
                "mod[init=near,init_dist=0.3]",
                "sae[kind=topk,init=data]",
                "sae[kind=topk,init=near,init_dist=0.3]",
                "omp",
                "mod[init=data]",
                "sae[kind=topk,init=data]",
                "lista_dl[init=data]",
            ],
            &["s1", "s1", "s1", "s1", "s1", "s2", "s2", "s2"],
            &[2.0, 5.0, 1.0, 3.0, 6.0, 3.0, 4.0, 4.0],
        );
        let d = paired_start(&t, "data", "near").unwrap();
        assert_eq!(column_str(&d, "method").unwrap(), ["mod", "sae[kind=topk]"]);
        assert_eq!(column_f64(&d, "mean_diff").unwrap(), [Some(3.0), Some(2.0)]);
        // s1: classical 2 (mod) beats neural 1 (the near start does not count); s2: 3 < 4 (tie
        // of two neural learners)
        let w = neural_vs_classical(&t).unwrap();
        assert_eq!(column_str(&w, "winner").unwrap(), ["classical", "neural"]);
        assert_eq!(
            column_str(&w, "neural").unwrap()[1],
            "lista_dl[init=data] = sae[kind=topk,init=data]"
        );
        assert_eq!(column_f64(&w, "k_coder").unwrap()[0], Some(6.0));
        assert!(column_f64(&w, "k_coder").unwrap()[1].unwrap().is_nan());
    }

    #[test]
    fn shared_setting_parts_are_dropped() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            without_constant_parts(&s(&["dim=32,n=1,k=2", "dim=32,n=5,k=2"])),
            s(&["n=1", "n=5"])
        );
        assert_eq!(without_constant_parts(&s(&["dim=32"])), s(&["dim=32"]));
    }

    #[test]
    fn quartiles_by_hand() {
        assert_eq!(quartiles(&[4.0, 1.0, 3.0, 2.0]), (1.5, 3.5));
        assert_eq!(quartiles(&[5.0, 1.0, 3.0, 2.0, 4.0]), (1.5, 4.5));
        assert!(quartiles(&[]).0.is_nan());
    }

    #[test]
    fn dims_match_on_m_over_n() {
        let mut a = frame(
            &["mod[init=data]", "mod[init=data]"],
            &[
                "dim=32,n_atoms=64,dictionary=gaussian",
                "dim=32,n_atoms=48,dictionary=gaussian",
            ],
            &[4.0, 5.0],
        );
        a.with_column(Column::new("p_inst_dim".into(), [32.0, 32.0]))
            .unwrap();
        a.with_column(Column::new("p_inst_n_atoms".into(), [64.0, 48.0]))
            .unwrap();
        let mut b = frame(
            &["mod[init=data]"],
            &["dim=64,n_atoms=128,dictionary=gaussian"],
            &[9.0],
        );
        b.with_column(Column::new("p_inst_dim".into(), [64.0]))
            .unwrap();
        b.with_column(Column::new("p_inst_n_atoms".into(), [128.0]))
            .unwrap();
        let d = across_dims(&a, &b).unwrap();
        assert_eq!(d.height(), 1);
        assert_eq!(column_f64(&d, "m_over_n").unwrap(), [Some(2.0)]);
        assert_eq!(column_f64(&d, "k_a").unwrap(), [Some(4.0)]);
        assert_eq!(column_f64(&d, "k_b").unwrap(), [Some(9.0)]);
        assert_eq!(column_str(&d, "setting").unwrap(), ["dictionary=gaussian"]);
    }

    /// The helpers of notebook 09 by hand: log10 times of the runs that reached 95 %, binned
    /// means, and k* against μ without the methods that never have a k* > 0.
    #[test]
    fn notebook_helpers_by_hand() {
        let fin = DataFrame::new(
            4,
            vec![
                Column::new("method".into(), ["a", "a", "b", "b"]),
                Column::new(
                    "m_time_to_95".into(),
                    [Some(0.1), Some(f64::NAN), None, Some(10.0)],
                ),
                Column::new("x".into(), [0.05, 0.12, 0.18, 0.31]),
                Column::new("y".into(), [1.0, 0.5, 0.25, 0.75]),
            ],
        )
        .unwrap();
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let t = time_to_95_log10(&fin, &names).unwrap();
        assert_eq!(t.len(), 2);
        assert!((t[0].1[0] + 1.0).abs() < 1e-12 && t[0].1.len() == 1);
        assert!((t[1].1[0] - 1.0).abs() < 1e-12);
        let b = binned_means(&fin, &names[..2], "x", "y", 0.1).unwrap();
        assert!((b[0].x[0] - 0.05).abs() < 1e-12 && (b[0].x[1] - 0.15).abs() < 1e-12);
        assert_eq!(b[0].y, vec![1.0, 0.5]);
        assert!((b[1].x[0] - 0.15).abs() < 1e-12 && (b[1].x[1] - 0.35).abs() < 1e-12);
        assert_eq!(b[1].y, vec![0.25, 0.75]);
        assert!(binned_means(&fin, &names, "x", "y", 0.0).is_err());
        let s = DataFrame::new(
            3,
            vec![
                Column::new("method".into(), ["a", "a", "z"]),
                Column::new("mu".into(), [0.3, 0.5, 0.3]),
                Column::new("k_star_mean".into(), [4.0, 2.0, 0.0]),
            ],
        )
        .unwrap();
        let k = kstar_vs_mu(&s).unwrap();
        assert_eq!(k.len(), 1);
        assert_eq!(
            (k[0].x.clone(), k[0].y.clone()),
            (vec![0.3, 0.5], vec![4.0, 2.0])
        );
    }
}
