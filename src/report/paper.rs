//! Published numbers beside dictlab's: the side-by-side tables of the reproduction notebooks.
//!
//! The papers' numbers live in `data/papers/*.csv` (one tidy row per table cell, with its source
//! in `data/papers/README.md`); dictlab's come from the committed full-size results and from the
//! notebook's own default-size run. [`paper_vs_ours`] joins them on the table's keys and adds the
//! difference; [`Agreement`] summarises it for the verdict line a notebook writes from the data.

use crate::error::{Error, Result};
use crate::table::{col, column_f64, column_str};
use polars::prelude::{Column, DataFrame, NamedFrom, Series};

/// A key cell as text, numbers normalised (`25`, `25.0` and `2.5e1` all read `25`), so that a
/// paper's integer column joins dictlab's float column.
fn key_text(s: &str) -> String {
    match s.trim().parse::<f64>() {
        Ok(x) => format!("{x}"),
        Err(_) => s.trim().to_string(),
    }
}

fn keys_of(df: &DataFrame, keys: &[&str]) -> Result<Vec<String>> {
    let cols: Vec<Vec<String>> = keys
        .iter()
        .map(|k| column_str(df, k))
        .collect::<Result<_>>()?;
    Ok((0..df.height())
        .map(|i| {
            cols.iter()
                .map(|c| key_text(&c[i]))
                .collect::<Vec<_>>()
                .join("\u{1f}")
        })
        .collect())
}

/// One source of dictlab numbers for [`paper_vs_ours`]: a label for the column header, the
/// table, and the column of that table holding the value the paper reports.
pub struct Ours<'a> {
    /// Column header, e.g. "dictlab (full size)".
    pub label: &'a str,
    /// dictlab's table: it must have the key columns of the paper's table.
    pub frame: &'a DataFrame,
    /// The value column in `frame`.
    pub value: &'a str,
}

/// The paper's table with, for each source of dictlab numbers, dictlab's value and
/// `dictlab − paper` in two more columns. One row per row of `paper` (its order kept); a key that
/// a source did not run is left empty (null), never dropped.
///
/// # Errors
/// A key or value column is missing from a table, or a source has two rows for one key.
pub fn paper_vs_ours(
    paper: &DataFrame,
    keys: &[&str],
    paper_value: &str,
    ours: &[Ours<'_>],
) -> Result<DataFrame> {
    let pk = keys_of(paper, keys)?;
    let pv = column_f64(paper, paper_value)?;
    let mut cols: Vec<Column> = keys
        .iter()
        .map(|k| col(paper, k).cloned())
        .collect::<Result<_>>()?;
    cols.push(Series::new("paper".into(), &pv).into());
    for o in ours {
        let ok = keys_of(o.frame, keys)?;
        let ov = column_f64(o.frame, o.value)?;
        let mut vals = Vec::with_capacity(pk.len());
        for k in &pk {
            let hits: Vec<usize> = (0..ok.len()).filter(|&i| &ok[i] == k).collect();
            if hits.len() > 1 {
                return Err(Error::invalid(
                    "comparison table",
                    format!(
                        "{} rows of `{}` for key {}",
                        hits.len(),
                        o.label,
                        k.replace('\u{1f}', ", ")
                    ),
                    "one row per key (filter the table to one method/bias first)",
                ));
            }
            vals.push(hits.first().and_then(|&i| ov[i]));
        }
        let diff: Vec<Option<f64>> = vals
            .iter()
            .zip(&pv)
            .map(|(a, b)| Some((*a)? - (*b)?))
            .collect();
        cols.push(Series::new(o.label.into(), &vals).into());
        cols.push(Series::new(format!("{} − paper", o.label).into(), &diff).into());
    }
    Ok(DataFrame::new(pk.len(), cols)?)
}

/// How a column of dictlab numbers compares with the paper's, cell by cell: the facts a
/// verdict line is written from.
#[derive(Clone, Debug, PartialEq)]
pub struct Agreement {
    /// Cells where both numbers exist.
    pub compared: usize,
    /// Cells of the paper with no dictlab number.
    pub missing: usize,
    /// Cells where dictlab's number is within the relative tolerance of the paper's.
    pub within: usize,
    /// Cells where dictlab's number is above the paper's (beyond the tolerance).
    pub above: usize,
    /// Cells where dictlab's number is below the paper's (beyond the tolerance).
    pub below: usize,
    /// Median of dictlab / paper over the compared cells with a non-zero paper value.
    pub median_ratio: f64,
}

/// Compare `ours` with `paper` cell by cell: within `rel_tol` (relative to |paper|), above, or
/// below.
pub fn agreement(paper: &[Option<f64>], ours: &[Option<f64>], rel_tol: f64) -> Agreement {
    let (mut compared, mut missing, mut within, mut above, mut below) = (0, 0, 0, 0, 0);
    let mut ratios = Vec::new();
    for (p, o) in paper.iter().zip(ours) {
        match (p, o) {
            (Some(p), Some(o)) if p.is_finite() && o.is_finite() => {
                compared += 1;
                if (o - p).abs() <= rel_tol * p.abs() {
                    within += 1;
                } else if o > p {
                    above += 1;
                } else {
                    below += 1;
                }
                if *p != 0.0 {
                    ratios.push(o / p);
                }
            }
            (Some(_), _) => missing += 1,
            _ => {}
        }
    }
    ratios.sort_by(f64::total_cmp);
    let median_ratio = match ratios.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => ratios[n / 2],
        n => 0.5 * (ratios[n / 2 - 1] + ratios[n / 2]),
    };
    Agreement {
        compared,
        missing,
        within,
        above,
        below,
        median_ratio,
    }
}

impl std::fmt::Display for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cells compared: {} within tolerance, {} above, {} below the paper (median ratio {:.3}){}",
            self.compared,
            self.within,
            self.above,
            self.below,
            self.median_ratio,
            if self.missing > 0 {
                format!("; {} cells not run at this size", self.missing)
            } else {
                String::new()
            }
        )
    }
}

/// Show a verdict line under a comparison table (a highlighted paragraph).
pub fn show_verdict(text: &str) {
    super::show_html(&format!(
        "<p class=\"dictlab-verdict\" style=\"background:#f4f4f8;border-left:4px solid #888;padding:4px 10px\"><b>Verdict.</b> {}</p>",
        super::escape(text)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(cols: Vec<Column>) -> DataFrame {
        let h = cols[0].len();
        DataFrame::new(h, cols).unwrap()
    }

    #[test]
    fn joins_on_numeric_keys_whatever_their_type_and_keeps_every_paper_row() {
        let paper = frame(vec![
            Series::new("T".into(), &[25i64, 25, 50]).into(),
            Series::new("gradient".into(), &["g_dec", "g_ae_ls", "g_dec"]).into(),
            Series::new("fro".into(), &[2.42, 0.80, 1.36]).into(),
        ]);
        let ours = frame(vec![
            Series::new("T".into(), &[25.0, 25.0]).into(),
            Series::new("gradient".into(), &["g_ae_ls", "g_dec"]).into(),
            Series::new("v".into(), &[0.5, 2.5]).into(),
        ]);
        let t = paper_vs_ours(
            &paper,
            &["T", "gradient"],
            "fro",
            &[Ours {
                label: "dictlab",
                frame: &ours,
                value: "v",
            }],
        )
        .unwrap();
        assert_eq!(t.height(), 3);
        assert_eq!(
            column_f64(&t, "dictlab").unwrap(),
            vec![Some(2.5), Some(0.5), None]
        );
        let d = column_f64(&t, "dictlab − paper").unwrap();
        assert!((d[0].unwrap() - 0.08).abs() < 1e-12);
        assert!((d[1].unwrap() + 0.30).abs() < 1e-12);
        assert_eq!(d[2], None);
    }

    #[test]
    fn two_rows_for_one_key_is_an_error_not_a_silent_pick() {
        let paper = frame(vec![
            Series::new("h".into(), &[256i64]).into(),
            Series::new("x".into(), &[1.0]).into(),
        ]);
        let ours = frame(vec![
            Series::new("h".into(), &[256i64, 256]).into(),
            Series::new("x".into(), &[1.0, 2.0]).into(),
        ]);
        let e = paper_vs_ours(
            &paper,
            &["h"],
            "x",
            &[Ours {
                label: "o",
                frame: &ours,
                value: "x",
            }],
        );
        assert!(e.is_err());
    }

    #[test]
    fn agreement_counts_by_hand() {
        // paper 1, 2, 4, 10 (one missing in ours); ours 1.05 (within 10 %), 3 (above), 1 (below)
        let a = agreement(
            &[Some(1.0), Some(2.0), Some(4.0), Some(10.0)],
            &[Some(1.05), Some(3.0), Some(1.0), None],
            0.1,
        );
        assert_eq!(
            (a.compared, a.missing, a.within, a.above, a.below),
            (3, 1, 1, 1, 1)
        );
        // ratios 1.05, 1.5, 0.25 → median 1.05
        assert!((a.median_ratio - 1.05).abs() < 1e-12);
    }
}
