//! The convolutional slice of the benchmark (BENCHMARK.md "The convolutional slice";
//! plans/benchmark_conv.toml): per learner and setting (K filters, target shift coherence), the
//! activation rate θ* up to which recovery holds, found by the adaptive design over θ; per learner
//! the success counts, scores and machine time; and the neural learner against the best classical
//! one, setting by setting. Every number is computed from a results table, with its interval.

use crate::error::Result;
use crate::sweep::adaptive::{Adaptive, transitions};
use crate::table::{column_f64, column_nan, column_str, mean_ci95, median, wilson};
use polars::prelude::DataFrame;
use std::collections::BTreeMap;

/// The family of a conv learner's row label (`conv_altmin[reg=0.1]` → the registry's family of
/// `conv_altmin`): "neural" or "classical" ("?" for a name the registry does not know).
pub fn family_of(method: &str) -> &'static str {
    let base = method.split('[').next().unwrap_or(method);
    crate::conv::LEARNER_SPECS
        .iter()
        .find(|s| s.name == base)
        .map_or("?", |s| s.family.as_str())
}

/// One curve's transition: θ* (NaN: recovery held at no θ of the grid), whether it held to the
/// grid's end, and the successes / runs at θ*.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The learner's row label.
    pub method: String,
    /// The setting (instance id without θ).
    pub setting: String,
    /// The number of filters K.
    pub atoms: f64,
    /// The target shift coherence of the setting.
    pub target_mu: f64,
    /// θ*: the largest θ where at least `level` of the runs recovered every filter.
    pub theta_star: f64,
    /// True when no θ above θ* was run with a failure (held to the end of the grid).
    pub held_to_end: bool,
    /// Successes and runs at θ*.
    pub at_star: (usize, usize),
    /// Runs on the curve.
    pub runs: usize,
}

/// The transitions of every (learner, setting) curve of `df` (an adaptive conv sweep over θ).
///
/// # Errors
/// A table without the adaptive design's columns (`p_inst_atoms` and `p_inst_target_mu` read NaN
/// when the plan does not vary them).
pub fn conv_transitions(df: &DataFrame, ad: &Adaptive) -> Result<Vec<Transition>> {
    let tr = transitions(df, ad)?;
    let method = column_str(&tr, "method")?;
    let setting = column_str(&tr, "setting")?;
    let (star, fail) = (column_nan(&tr, "k_star")?, column_nan(&tr, "k_fail")?);
    let (n_star, p_star) = (column_nan(&tr, "n_star")?, column_nan(&tr, "p_star")?);
    let runs = column_nan(&tr, "runs")?;
    // settings without a K or a target on the grid (a fixed key, or none) read NaN there
    let nan_or = |c: &str| -> Result<Vec<f64>> {
        Ok(crate::table::column_f64_or_none(&tr, c)?
            .into_iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    };
    let (atoms, mu) = (nan_or("p_inst_atoms")?, nan_or("p_inst_target_mu")?);
    Ok((0..tr.height())
        .map(|i| {
            let n = if n_star[i].is_finite() {
                n_star[i] as usize
            } else {
                0
            };
            Transition {
                method: method[i].clone(),
                setting: setting[i].clone(),
                atoms: atoms[i],
                target_mu: mu[i],
                theta_star: star[i],
                held_to_end: fail[i].is_nan() && star[i].is_finite(),
                at_star: ((p_star[i] * n as f64).round() as usize, n),
                runs: runs[i] as usize,
            }
        })
        .collect())
}

/// The transitions as a table: `method`, `family`, `K`, `target_mu`, `theta_star` (0 when recovery
/// held at no θ of the grid), `held_to_end` (0/1), `successes` and `runs_at_star` at θ*, `runs`.
///
/// # Errors
/// A failed frame construction (not expected).
pub fn transitions_frame(tr: &[Transition]) -> Result<DataFrame> {
    use polars::prelude::Column;
    let f = |g: &dyn Fn(&Transition) -> f64| tr.iter().map(g).collect::<Vec<f64>>();
    Ok(DataFrame::new(
        tr.len(),
        vec![
            Column::new(
                "method".into(),
                tr.iter().map(|t| t.method.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "family".into(),
                tr.iter().map(|t| family_of(&t.method)).collect::<Vec<_>>(),
            ),
            Column::new("K".into(), f(&|t| t.atoms)),
            Column::new("target_mu".into(), f(&|t| t.target_mu)),
            Column::new(
                "theta_star".into(),
                f(&|t| {
                    if t.theta_star.is_nan() {
                        0.0
                    } else {
                        t.theta_star
                    }
                }),
            ),
            Column::new(
                "held_to_end".into(),
                f(&|t| f64::from(u8::from(t.held_to_end))),
            ),
            Column::new("successes".into(), f(&|t| t.at_star.0 as f64)),
            Column::new("runs_at_star".into(), f(&|t| t.at_star.1 as f64)),
            Column::new("runs".into(), f(&|t| t.runs as f64)),
        ],
    )?)
}

/// θ* as a table cell: the value with its successes at θ*, "< θ_min" when none held, "≥ θ" when
/// recovery held to the grid's end.
fn cell(t: &Transition, theta_min: f64) -> String {
    if t.theta_star.is_nan() {
        format!("< {theta_min}")
    } else if t.held_to_end {
        format!("≥ {} ({}/{})", t.theta_star, t.at_star.0, t.at_star.1)
    } else {
        format!("{} ({}/{})", t.theta_star, t.at_star.0, t.at_star.1)
    }
}

/// Per setting, the neural learners' best θ* against the classical learners' best (θ* below the
/// grid counts as 0, held to the end as above every value): (ahead, tied, behind, settings).
pub fn neural_vs_classical(tr: &[Transition]) -> (usize, usize, usize, usize) {
    let mut best: BTreeMap<&str, [f64; 2]> = BTreeMap::new();
    for t in tr {
        let v = if t.theta_star.is_nan() {
            0.0
        } else if t.held_to_end {
            t.theta_star * 1.5
        } else {
            t.theta_star
        };
        let slot = usize::from(family_of(&t.method) == "neural");
        let e = best.entry(&t.setting).or_insert([f64::NAN, f64::NAN]);
        e[slot] = if e[slot].is_nan() { v } else { e[slot].max(v) };
    }
    let (mut a, mut tie, mut b, mut n) = (0, 0, 0, 0);
    for [classical, neural] in best.values() {
        if classical.is_nan() || neural.is_nan() {
            continue;
        }
        n += 1;
        match neural.total_cmp(classical) {
            std::cmp::Ordering::Greater => a += 1,
            std::cmp::Ordering::Equal => tie += 1,
            std::cmp::Ordering::Less => b += 1,
        }
    }
    (a, tie, b, n)
}

/// The slice's findings as Markdown (module doc): the θ* table, the per-learner summary and the
/// neural-vs-classical count, all from `df` (the merged results of plans/benchmark_conv.toml).
///
/// # Errors
/// As [`conv_transitions`]; a table without `method`, `instance`, `time_s`, `m_recovery_rate` or
/// `m_recovery_score`.
pub fn markdown(df: &DataFrame, ad: &Adaptive) -> Result<String> {
    let tr = conv_transitions(df, ad)?;
    let theta = column_nan(df, &format!("p_inst_{}", ad.axis))?;
    let theta_min = theta.iter().copied().fold(f64::INFINITY, f64::min);
    let mut methods: Vec<String> = Vec::new();
    for t in &tr {
        if !methods.contains(&t.method) {
            methods.push(t.method.clone());
        }
    }
    // measured shift coherence per setting (mean over the setting's runs)
    let method_col = column_str(df, "method")?;
    let inst = column_str(df, "instance")?;
    let mu_conv: Vec<f64> = crate::table::column_f64_or_none(df, "m_inst_mu_conv")?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect();
    let mut mu_of: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for i in 0..df.height() {
        mu_of
            .entry(ad.setting_of(&inst[i]))
            .or_default()
            .push(mu_conv[i]);
    }
    let mut out = String::new();
    out.push_str(&format!(
        "#### θ* per learner and setting\n\nθ* is the largest activation rate at which at least {:.0} % of the runs recovered every \
         planted filter (Hungarian matching on the best |corr| over lags ≥ 0.99, `recovery_rate` ≥ {}); in brackets, the runs \
         that did at θ* (adaptive design, {} repetitions at the bracketing values). \"< {theta_min}\": at no θ of the grid; \
         \"≥\": recovery held at the grid's last value run.\n\n",
        100.0 * ad.level,
        ad.success,
        ad.reps
    ));
    out.push_str("| K | target μ_conv | measured μ_conv (mean) |");
    for m in &methods {
        out.push_str(&format!(" {m} |"));
    }
    out.push_str("\n|---:|---:|---:|");
    out.push_str(&"---|".repeat(methods.len()));
    out.push('\n');
    let mut settings: Vec<(f64, f64, String)> = Vec::new();
    for t in &tr {
        if !settings.iter().any(|s| s.2 == t.setting) {
            settings.push((t.atoms, t.target_mu, t.setting.clone()));
        }
    }
    settings.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for (k, mu, s) in &settings {
        let measured = mu_of.get(s).map_or(f64::NAN, |v| mean_ci95(v).0);
        out.push_str(&format!("| {k} | {mu} | {measured:.3} |"));
        for m in &methods {
            let c = tr
                .iter()
                .find(|t| &t.setting == s && &t.method == m)
                .map_or_else(|| "—".to_string(), |t| cell(t, theta_min));
            out.push_str(&format!(" {c} |"));
        }
        out.push('\n');
    }
    // per learner: over all of its runs
    let rate = column_nan(df, "m_recovery_rate")?;
    let score = column_nan(df, "m_recovery_score")?;
    let time = column_f64(df, "time_s")?;
    out.push_str(
        "\n#### Per learner, over all of its runs\n\nThe runs are those the adaptive design chose (more of them near each \
         learner's own transition), so the shares are descriptive, not rates over a fixed grid.\n\n| learner | family | runs | runs recovering every filter (95 % Wilson) \
         | mean final best \\|corr\\| (95 % t) | median θ* over settings (below the grid = 0) | machine time (s) |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    let mut total_time = 0.0;
    for m in &methods {
        let rows: Vec<usize> = (0..df.height()).filter(|&i| &method_col[i] == m).collect();
        let ok = rows
            .iter()
            .filter(|&&i| rate[i].is_finite() && rate[i] >= ad.success)
            .count();
        let (lo, hi) = wilson(ok, rows.len(), 1.96);
        let (ms, hs) = mean_ci95(&rows.iter().map(|&i| score[i]).collect::<Vec<_>>());
        let stars: Vec<f64> = tr
            .iter()
            .filter(|t| &t.method == m)
            .map(|t| {
                if t.theta_star.is_nan() {
                    0.0
                } else {
                    t.theta_star
                }
            })
            .collect();
        let secs: f64 = rows.iter().filter_map(|&i| time[i]).sum();
        total_time += secs;
        out.push_str(&format!(
            "| {m} | {} | {} | {ok} ({:.2}–{:.2}) | {ms:.3} ± {hs:.3} | {} | {secs:.0} |\n",
            family_of(m),
            rows.len(),
            lo,
            hi,
            median(&stars)
        ));
    }
    let (a, tie, b, n) = neural_vs_classical(&tr);
    let share = |x: usize| {
        let (lo, hi) = wilson(x, n, 1.96);
        format!("{x} of {n} ({lo:.2}–{hi:.2})")
    };
    out.push_str(&format!(
        "\n#### Neural against classical, setting by setting\n\nCRsAE's θ* against the best classical learner's \
         (conv_altmin batch or online, conv_l4 alone or refined), θ* below the grid counted as 0 and \"held to the \
         end\" as above every value: **ahead in {}, tied in {}, behind in {}** (95 % Wilson intervals on the share \
         of settings).\n\nMachine time of the slice: {:.0} s of run time in all (one thread per run; the sum of the \
         runs' own wall times).\n",
        share(a),
        share(tie),
        share(b),
        total_time
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(method: &str, setting: &str, star: f64, end: bool) -> Transition {
        Transition {
            method: method.into(),
            setting: setting.into(),
            atoms: 2.0,
            target_mu: 0.3,
            theta_star: star,
            held_to_end: end,
            at_star: (3, 3),
            runs: 6,
        }
    }

    #[test]
    fn families_come_from_the_registry() {
        assert_eq!(family_of("crsae[reg=0.1]"), "neural");
        assert_eq!(family_of("conv_altmin[reg=0.2,batch=10]"), "classical");
        assert_eq!(family_of("conv_l4"), "classical");
        assert_eq!(family_of("nope"), "?");
    }

    /// By hand: setting a — CRsAE 0.04 vs best classical 0.02 (ahead); b — none held anywhere
    /// (0 vs 0: tied); c — CRsAE held to the end at 0.32 vs a classical 0.32 that failed above
    /// (ahead); d — CRsAE 0.01 vs 0.08 (behind); e — no neural curve (not counted).
    #[test]
    fn neural_vs_classical_by_hand() {
        let t = vec![
            tr("crsae", "a", 0.04, false),
            tr("conv_altmin", "a", 0.02, false),
            tr("conv_l4", "a", 0.01, false),
            tr("crsae", "b", f64::NAN, false),
            tr("conv_l4", "b", f64::NAN, false),
            tr("crsae", "c", 0.32, true),
            tr("conv_altmin", "c", 0.32, false),
            tr("crsae", "d", 0.01, false),
            tr("conv_altmin", "d", 0.08, false),
            tr("conv_altmin", "e", 0.08, false),
        ];
        assert_eq!(neural_vs_classical(&t), (2, 1, 1, 4));
        let f = transitions_frame(&t).unwrap();
        assert_eq!(f.height(), 10);
        let star = column_nan(&f, "theta_star").unwrap();
        assert_eq!((star[0], star[3], star[5]), (0.04, 0.0, 0.32));
        assert_eq!(column_str(&f, "family").unwrap()[0], "neural");
        assert_eq!(cell(&t[0], 0.005), "0.04 (3/3)");
        assert_eq!(cell(&t[3], 0.005), "< 0.005");
        assert_eq!(cell(&t[5], 0.005), "≥ 0.32 (3/3)");
    }
}
