//! `dictlab report`: a merged sweep table → one standalone, offline HTML page (plotly.js inlined).
//!
//! * **Phase transitions**: per method, the mean success metric at the final iteration over the
//!   first two instance axes that vary (a heatmap; averaged over repetitions and the other axes),
//!   or a curve over the one axis that varies. The success metric is `m_recovery_rate` (learners,
//!   τ = 0.99) or `m_support_exact` (coders).
//! * **Recovery vs time**: per learner, mean `m_recovery_score` against mean `time_s` at each
//!   recorded iteration, with a band from the minimum to the maximum over repetitions and
//!   instances.
//! * **Results**: mean final metrics per (method, instance), and the count of each termination
//!   per method.

use super::{CurveOpts, Report, Series2, curves, heatmap_from_frame};
use crate::error::Result;
use crate::table::{column_f64, column_str, mean_by, select};
use plotly::common::{Fill, Line, Mode};
use plotly::{Plot, Scatter};
use polars::prelude::*;
use std::collections::BTreeMap;

fn has(df: &DataFrame, name: &str) -> bool {
    crate::table::col(df, name).is_ok()
}

/// The final row of every (item, method) run.
///
/// # Errors
/// Missing `item`, `method` or `iter` columns.
pub fn final_rows(df: &DataFrame) -> Result<DataFrame> {
    let items = column_str(df, "item")?;
    let methods = column_str(df, "method")?;
    let iters = column_f64(df, "iter")?;
    let mut last: BTreeMap<(String, String), (f64, usize)> = BTreeMap::new();
    for r in 0..df.height() {
        let it = iters[r].unwrap_or(f64::NEG_INFINITY);
        let e = last
            .entry((items[r].clone(), methods[r].clone()))
            .or_insert((it, r));
        if it >= e.0 {
            *e = (it, r);
        }
    }
    let mut rows: Vec<IdxSize> = last.values().map(|(_, r)| *r as IdxSize).collect();
    rows.sort_unstable();
    Ok(df.take(&IdxCa::from_vec("idx".into(), rows))?)
}

fn varying_axes(df: &DataFrame) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for c in df.columns() {
        let name = c.name().as_str();
        if !name.starts_with("p_inst_") || !c.dtype().is_primitive_numeric() {
            continue;
        }
        let mut vals: Vec<String> = column_str(df, name)?;
        vals.sort();
        vals.dedup();
        if vals.len() > 1 {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

fn success_metric(df: &DataFrame) -> Result<Option<&'static str>> {
    for m in ["m_recovery_rate", "m_support_exact"] {
        if has(df, m) && column_f64(df, m)?.iter().any(|v| v.is_some()) {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// Times and scores observed at one recorded iteration.
type TimesScores = (Vec<f64>, Vec<f64>);

fn band_plot(df: &DataFrame, title: &str) -> Result<Option<Plot>> {
    if !has(df, "m_recovery_score") {
        return Ok(None);
    }
    let methods = column_str(df, "method")?;
    let iters = column_f64(df, "iter")?;
    let times = column_f64(df, "time_s")?;
    let score = column_f64(df, "m_recovery_score")?;
    // method → iter → (times, scores)
    let mut g: BTreeMap<&str, BTreeMap<i64, TimesScores>> = BTreeMap::new();
    for r in 0..df.height() {
        if let (Some(i), Some(t), Some(s)) = (iters[r], times[r], score[r]) {
            let e = g
                .entry(&methods[r])
                .or_default()
                .entry(i as i64)
                .or_default();
            e.0.push(t);
            e.1.push(s);
        }
    }
    if g.is_empty() {
        return Ok(None);
    }
    let mut plot = curves(
        title,
        "time_s (mean over runs)",
        "recovery_score",
        &[],
        &CurveOpts::default(),
    );
    for (m, by_iter) in &g {
        let (mut t, mut lo, mut hi, mut mean) = (vec![], vec![], vec![], vec![]);
        for (ts, ss) in by_iter.values() {
            t.push(ts.iter().sum::<f64>() / ts.len() as f64);
            lo.push(ss.iter().copied().fold(f64::INFINITY, f64::min));
            hi.push(ss.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            mean.push(ss.iter().sum::<f64>() / ss.len() as f64);
        }
        plot.add_trace(
            Scatter::new(t.clone(), lo)
                .mode(Mode::Lines)
                .line(Line::new().width(0.0))
                .show_legend(false)
                .name(format!("{m} min")),
        );
        plot.add_trace(
            Scatter::new(t.clone(), hi)
                .mode(Mode::Lines)
                .line(Line::new().width(0.0))
                .fill(Fill::ToNextY)
                .show_legend(false)
                .name(format!("{m} max")),
        );
        plot.add_trace(Scatter::new(t, mean).mode(Mode::LinesMarkers).name(*m));
    }
    Ok(Some(plot))
}

/// The dashboard of a merged sweep table.
///
/// # Errors
/// A table without the core columns (`item`, `method`, `iter`, `time_s`).
pub fn dashboard(df: &DataFrame, title: &str) -> Result<Report> {
    let fin = final_rows(df)?;
    let hashes = if has(df, "plan_hash") {
        let mut h = column_str(df, "plan_hash")?;
        h.sort();
        h.dedup();
        h.join(", ")
    } else {
        "unknown".into()
    };
    let methods = {
        let mut m = column_str(&fin, "method")?;
        let mut seen = Vec::new();
        m.retain(|x| {
            let new = !seen.contains(x);
            if new {
                seen.push(x.clone());
            }
            new
        });
        m
    };
    let mut rep = Report::new(title).text(&format!(
        "{} rows, {} runs, {} methods; plan hash {hashes}.",
        df.height(),
        fin.height(),
        methods.len()
    ));
    let axes = varying_axes(&fin)?;
    rep = rep.heading("Phase transitions (final iteration, mean over repetitions)");
    for m in &methods {
        let sub = crate::table::filter_eq(&fin, &[("method", m.as_str().into())])?;
        let Some(metric) = success_metric(&sub)? else {
            rep = rep.text(&format!("{m}: no success metric (every run failed?)"));
            continue;
        };
        let chart = format!("{m}: {}", metric.trim_start_matches("m_"));
        match axes.as_slice() {
            [] => {}
            [x] => {
                let g = mean_by(&sub, &[x.as_str()])?;
                let xs: Vec<f64> = column_f64(&g, x)?.into_iter().flatten().collect();
                let ys = crate::table::column_nan(&g, metric)?;
                rep = rep.plot(&curves(
                    &chart,
                    x,
                    metric,
                    &[Series2::new(m.clone(), xs, ys)],
                    &CurveOpts {
                        markers: true,
                        ..Default::default()
                    },
                ));
            }
            [x, y, ..] => rep = rep.plot(&heatmap_from_frame(&sub, x, y, metric, &chart)?),
        }
    }
    if axes.is_empty() {
        rep = rep.text("No instance axis varies: see the table below.");
    }
    if let Some(p) = band_plot(df, "Recovery vs time (band: min–max over runs)")? {
        rep = rep.heading("Recovery vs time").plot(&p);
    }
    let wanted = [
        "m_recovery_rate",
        "m_recovery_score",
        "m_max_sine_dist",
        "m_spurious_atoms",
        "m_support_f1",
        "m_support_exact",
        "m_time_to_95",
        "time_s",
    ];
    let mut cols = vec!["method", "instance"];
    cols.extend(wanted.iter().copied().filter(|c| has(&fin, c)));
    let table = mean_by(&select(&fin, &cols)?, &["method", "instance"])?;
    rep = rep
        .heading("Results (final iteration, mean over repetitions)")
        .table(&table, 500);
    Ok(rep
        .heading("Terminations")
        .table(&termination_counts(&fin)?, 500))
}

/// Runs per (method, termination) of the final rows, errors counted together.
fn termination_counts(fin: &DataFrame) -> Result<DataFrame> {
    let terms = column_str(fin, "termination")?;
    let meths = column_str(fin, "method")?;
    let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (m, t) in meths.into_iter().zip(terms) {
        let t = if t.starts_with("error") {
            "error".into()
        } else {
            t
        };
        *counts.entry((m, t)).or_default() += 1;
    }
    let (mut cm, mut ct, mut cn) = (vec![], vec![], vec![]);
    for ((m, t), n) in counts {
        cm.push(m);
        ct.push(t);
        cn.push(n);
    }
    let tdf = DataFrame::new(
        cm.len(),
        vec![
            Column::new("method".into(), cm),
            Column::new("termination".into(), ct),
            Column::new("runs".into(), cn),
        ],
    )?;
    Ok(tdf)
}

/// The benchmark's headline: one row per method (plan order of first appearance) over the final
/// rows of every run — `runs`, `errors` (runs whose termination starts with `error`),
/// `success` (fraction of runs with `recovery_rate@0.99 ≥ 0.95`; coders: exact support
/// recovery ≥ 0.95), mean `recovery_rate` and `recovery_score`, mean `spurious_atoms`, mean
/// `support_f1`, median `time_s`, median `time_to_95` over the runs that reached it, and the
/// total `time_s` of the method's runs (where a plan's CPU time goes). Error
/// runs count in `runs` and as failures in `success`; the means skip missing values.
///
/// # Errors
/// Missing `item`, `method`, `iter` or `termination` columns.
pub fn headline(df: &DataFrame) -> Result<DataFrame> {
    let fin = final_rows(df)?;
    let methods = column_str(&fin, "method")?;
    let term = column_str(&fin, "termination")?;
    let num = |name: &str| -> Result<Vec<f64>> {
        Ok(if has(&fin, name) {
            crate::table::column_nan(&fin, name)?
        } else {
            vec![f64::NAN; fin.height()]
        })
    };
    let (rate, score, spur, f1, exact, time, t95) = (
        num("m_recovery_rate")?,
        num("m_recovery_score")?,
        num("m_spurious_atoms")?,
        num("m_support_f1")?,
        num("m_support_exact")?,
        num("time_s")?,
        num("m_time_to_95")?,
    );
    let mut order: Vec<String> = Vec::new();
    for m in &methods {
        if !order.contains(m) {
            order.push(m.clone());
        }
    }
    const STATS: [&str; 8] = [
        "success",
        "recovery_rate",
        "recovery_score",
        "spurious_atoms",
        "support_f1",
        "median_time_s",
        "median_time_to_95",
        "total_time_s",
    ];
    let (mut runs, mut errors) = (Vec::new(), Vec::new());
    let mut stats: Vec<[f64; STATS.len()]> = Vec::new();
    for m in &order {
        let idx: Vec<usize> = (0..fin.height()).filter(|&i| &methods[i] == m).collect();
        runs.push(idx.len() as u32);
        errors.push(
            idx.iter()
                .filter(|&&i| term[i].starts_with("error"))
                .count() as u32,
        );
        let ok = idx
            .iter()
            .filter(|&&i| {
                let r = if rate[i].is_finite() {
                    rate[i]
                } else {
                    exact[i]
                };
                !term[i].starts_with("error") && r >= 0.95
            })
            .count();
        stats.push([
            ok as f64 / idx.len().max(1) as f64,
            mean_at(&rate, &idx),
            mean_at(&score, &idx),
            mean_at(&spur, &idx),
            mean_at(&f1, &idx),
            median_at(&time, &idx),
            median_at(&t95, &idx),
            idx.iter().map(|&i| time[i]).filter(|x| x.is_finite()).sum(),
        ]);
    }
    let mut out: Vec<Column> = vec![
        Column::new("method".into(), order),
        Column::new("runs".into(), runs),
        Column::new("errors".into(), errors),
    ];
    for (c, name) in STATS.iter().enumerate() {
        let col: Vec<f64> = stats.iter().map(|row| row[c]).collect();
        out.push(Column::new((*name).into(), col));
    }
    let h = out[0].len();
    Ok(DataFrame::new(h, out)?)
}

/// Mean of the finite `v[i]`, i in `idx` (NaN when none).
fn mean_at(v: &[f64], idx: &[usize]) -> f64 {
    let xs: Vec<f64> = idx
        .iter()
        .map(|&i| v[i])
        .filter(|x| x.is_finite())
        .collect();
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Median of the finite `v[i]`, i in `idx` (NaN when none).
fn median_at(v: &[f64], idx: &[usize]) -> f64 {
    crate::table::median(&idx.iter().map(|&i| v[i]).collect::<Vec<_>>())
}

/// A frame as a GitHub-flavoured Markdown table (floats with 4 significant digits, NaN as `–`).
///
/// # Errors
/// None in practice (columns are read as text or numbers).
pub fn markdown_table(df: &DataFrame) -> Result<String> {
    let names: Vec<String> = df.columns().iter().map(|c| c.name().to_string()).collect();
    let mut s = format!("| {} |\n|", names.join(" | "));
    for c in df.columns() {
        s.push_str(if c.dtype().is_primitive_numeric() {
            " ---: |"
        } else {
            " --- |"
        });
    }
    s.push('\n');
    for r in 0..df.height() {
        let row: Vec<String> = df
            .columns()
            .iter()
            .map(|c| match c.get(r)? {
                AnyValue::Float64(x) if x.is_nan() => Ok("–".to_string()),
                AnyValue::Float64(x) if x.is_infinite() => {
                    Ok(if x > 0.0 { "∞" } else { "−∞" }.to_string())
                }
                AnyValue::Float32(x) if !x.is_finite() => Ok("–".to_string()),
                AnyValue::Null if c.dtype().is_float() => Ok("–".to_string()),
                v => Ok(super::fmt_any(&v)),
            })
            .collect::<Result<_>>()?;
        s.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    Ok(s)
}

/// Replace the text between the lines `<!-- {tag}:begin -->` and `<!-- {tag}:end -->` of `doc`
/// with `body` (the markers stay).
///
/// # Errors
/// A marker missing or out of order (the error names both markers).
pub fn replace_block(doc: &str, tag: &str, body: &str) -> Result<String> {
    let (b, e) = (
        format!("<!-- {tag}:begin -->"),
        format!("<!-- {tag}:end -->"),
    );
    match (doc.find(&b), doc.find(&e)) {
        (Some(i), Some(j)) if i < j => {
            let start = i + b.len();
            Ok(format!(
                "{}\n{}{}",
                &doc[..start],
                body.trim_end_matches('\n').to_string() + "\n",
                &doc[j..]
            ))
        }
        _ => Err(crate::error::Error::invalid(
            "document",
            format!("markers for `{tag}`"),
            format!("the lines `{b}` and then `{e}` in the file to update"),
        )),
    }
}
