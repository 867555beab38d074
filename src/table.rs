//! The tidy-table layer: parameter [`Value`]s, grid [`Point`]s, work [`Item`]s, result [`Row`]s,
//! and the one way they become a polars [`DataFrame`] ([`to_frame`]), with the column readers every
//! layer above uses ([`col`], [`column_f64`], [`column_str`], [`filter_eq`], [`mean_by`]).
//!
//! This module is at the bottom of the crate (it uses only [`crate::error`]): instances, the method
//! registry, sweeps and reports all speak in its types. The columns of a table are described in
//! [`crate::sweep`]'s module doc.

use crate::error::{Error, Result};
#[cfg(feature = "lab")]
use polars::prelude::{Column, DataFrame, DataType, NamedFrom, Series};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A parameter value in a grid or a row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// Boolean.
    Bool(bool),
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// String.
    Str(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s}"),
        }
    }
}

impl Value {
    /// As f64 (ints and bools convert).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(x) => Some(x),
            Value::Bool(b) => Some(b as u8 as f64),
            Value::Str(_) => None,
        }
    }
    /// As a non-negative integer.
    pub fn as_usize(&self) -> Option<usize> {
        match *self {
            Value::Int(i) if i >= 0 => Some(i as usize),
            _ => None,
        }
    }
    /// As a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident as $c:ty),*) => {$(impl From<$t> for Value { fn from(x: $t) -> Self { Value::$v(x as $c) } })*};
}
value_from!(i32 => Int as i64, i64 => Int as i64, usize => Int as i64, u32 => Int as i64, f64 => Float as f64, f32 => Float as f64);
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

/// One grid point: ordered `(key, value)` pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point(pub Vec<(String, Value)>);

impl Point {
    /// Value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn missing(key: &str, what: &'static str) -> Error {
        Error::InvalidParameter {
            name: "grid",
            value: key.to_string(),
            expected: format!("the grid to define `{key}` as {what}"),
        }
    }
    /// `key` as f64, or an error naming the key.
    pub fn f64(&self, key: &str) -> Result<f64> {
        self.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| Self::missing(key, "a number"))
    }
    /// `key` as usize, or an error naming the key.
    pub fn usize(&self, key: &str) -> Result<usize> {
        self.get(key)
            .and_then(Value::as_usize)
            .ok_or_else(|| Self::missing(key, "a non-negative integer"))
    }
    /// `key` as &str, or an error naming the key.
    pub fn str(&self, key: &str) -> Result<&str> {
        self.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| Self::missing(key, "a string"))
    }
    /// Canonical identity `k1=v1,k2=v2,…` in axis order.
    pub fn id(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One work item of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Dense index `point * reps + rep`.
    pub item: usize,
    /// The grid point.
    pub point: Point,
    /// Canonical instance id (`point.id()`).
    pub instance: String,
    /// Repetition.
    pub rep: usize,
    /// `derive_seed(base_seed, "{instance}/rep={rep}")`.
    pub seed: u64,
}

/// One result row produced by a method on an item.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Parametrised method name (e.g. `fista[lambda=0.1]`); empty for instance-only sweeps.
    pub method: String,
    /// Recorded iteration (0 for final-only records).
    pub iter: i64,
    /// Seconds (excluding metric evaluation where the method measures it).
    pub time_s: f64,
    /// Method parameters → `p_method_*`.
    pub params: Vec<(String, Value)>,
    /// Metrics → `m_*`.
    pub metrics: Vec<(String, f64)>,
    /// Termination as text ("" if not applicable).
    pub termination: String,
}

impl Row {
    /// A row for `method` with metrics.
    pub fn new(method: impl Into<String>) -> Self {
        Row {
            method: method.into(),
            ..Default::default()
        }
    }
    /// Add a metric.
    pub fn metric(mut self, name: impl Into<String>, v: f64) -> Self {
        self.metrics.push((name.into(), v));
        self
    }
    /// Add a method parameter.
    pub fn param(mut self, name: impl Into<String>, v: impl Into<Value>) -> Self {
        self.params.push((name.into(), v.into()));
        self
    }
}

#[cfg(feature = "lab")]
fn value_column(name: String, vals: Vec<Option<Value>>) -> Column {
    let all = |f: fn(&Value) -> bool| vals.iter().flatten().all(f);
    if all(|v| matches!(v, Value::Int(_))) {
        Column::new(
            name.into(),
            vals.iter()
                .map(|v| {
                    v.as_ref()
                        .map(|v| if let Value::Int(i) = v { *i } else { 0 })
                })
                .collect::<Vec<_>>(),
        )
    } else if all(|v| matches!(v, Value::Int(_) | Value::Float(_))) {
        Column::new(
            name.into(),
            vals.iter()
                .map(|v| v.as_ref().and_then(Value::as_f64))
                .collect::<Vec<_>>(),
        )
    } else if all(|v| matches!(v, Value::Bool(_))) {
        Column::new(
            name.into(),
            vals.iter()
                .map(|v| v.as_ref().map(|v| matches!(v, Value::Bool(true))))
                .collect::<Vec<_>>(),
        )
    } else {
        Column::new(
            name.into(),
            vals.iter()
                .map(|v| v.as_ref().map(|v| v.to_string()))
                .collect::<Vec<_>>(),
        )
    }
}

#[cfg(feature = "lab")]
fn ordered_union<'a>(lists: impl Iterator<Item = Vec<&'a str>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in lists {
        for k in l {
            if !out.iter().any(|o| o == k) {
                out.push(k.to_string());
            }
        }
    }
    out
}

/// Assemble `(item, rows)` pairs into the tidy table (see the module doc for the columns).
#[cfg(feature = "lab")]
pub fn to_frame(results: &[(Item, Vec<Row>)]) -> Result<DataFrame> {
    let flat: Vec<(&Item, &Row)> = results
        .iter()
        .flat_map(|(it, rows)| rows.iter().map(move |r| (it, r)))
        .collect();
    let h = flat.len();
    let mut cols = vec![
        Column::new(
            "item".into(),
            flat.iter().map(|(i, _)| i.item as i64).collect::<Vec<_>>(),
        ),
        Column::new(
            "instance".into(),
            flat.iter()
                .map(|(i, _)| i.instance.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "rep".into(),
            flat.iter().map(|(i, _)| i.rep as i64).collect::<Vec<_>>(),
        ),
        Column::new(
            "seed".into(),
            flat.iter().map(|(i, _)| i.seed).collect::<Vec<_>>(),
        ),
        Column::new(
            "method".into(),
            flat.iter()
                .map(|(_, r)| r.method.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "iter".into(),
            flat.iter().map(|(_, r)| r.iter).collect::<Vec<_>>(),
        ),
        Column::new(
            "time_s".into(),
            flat.iter().map(|(_, r)| r.time_s).collect::<Vec<_>>(),
        ),
    ];
    let pkeys = ordered_union(
        results
            .iter()
            .map(|(i, _)| i.point.0.iter().map(|(k, _)| k.as_str()).collect()),
    );
    for k in pkeys {
        cols.push(value_column(
            format!("p_inst_{k}"),
            flat.iter().map(|(i, _)| i.point.get(&k).cloned()).collect(),
        ));
    }
    let mkeys = ordered_union(
        flat.iter()
            .map(|(_, r)| r.params.iter().map(|(k, _)| k.as_str()).collect()),
    );
    for k in mkeys {
        cols.push(value_column(
            format!("p_method_{k}"),
            flat.iter()
                .map(|(_, r)| {
                    r.params
                        .iter()
                        .find(|(q, _)| *q == k)
                        .map(|(_, v)| v.clone())
                })
                .collect(),
        ));
    }
    let metrics = ordered_union(
        flat.iter()
            .map(|(_, r)| r.metrics.iter().map(|(k, _)| k.as_str()).collect()),
    );
    for k in metrics {
        let v: Vec<Option<f64>> = flat
            .iter()
            .map(|(_, r)| r.metrics.iter().find(|(q, _)| *q == k).map(|(_, v)| *v))
            .collect();
        cols.push(Column::new(format!("m_{k}").into(), v));
    }
    cols.push(Column::new(
        "termination".into(),
        flat.iter()
            .map(|(_, r)| r.termination.clone())
            .collect::<Vec<_>>(),
    ));
    Ok(DataFrame::new(h, cols)?)
}

/// The tidy table of rows that belong to no sweep item (one experiment run in a notebook or a
/// test): [`to_frame`] with item 0, no grid point, repetition 0 and `seed`.
#[cfg(feature = "lab")]
pub fn frame_of_rows(rows: Vec<Row>, seed: u64) -> Result<DataFrame> {
    let item = Item {
        item: 0,
        point: Point(vec![]),
        instance: String::new(),
        rep: 0,
        seed,
    };
    to_frame(&[(item, rows)])
}

/// A numeric column as `Vec<f64>` with nulls as NaN (what charts and arithmetic want).
#[cfg(feature = "lab")]
pub fn column_nan(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    Ok(column_f64(df, name)?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

/// The Wilson score interval of a binomial proportion: `successes` of `n` trials at `z` normal
/// quantiles (1.96: 95 %). `(NaN, NaN)` for n = 0.
pub fn wilson(successes: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (k, n) = (successes.min(n) as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The median of the finite values (NaN when there is none).
pub fn median(values: &[f64]) -> f64 {
    let mut xs: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        l if l % 2 == 1 => xs[l / 2],
        l => 0.5 * (xs[l / 2 - 1] + xs[l / 2]),
    }
}

/// The 2.5 % and 97.5 % percentiles of the mean of the finite values over `reps` bootstrap
/// resamples (drawn with replacement, seeded by `seed`): an interval for the mean that stays
/// within the range of the values (a k* interval cannot leave [0, k_max]). NaN for no values.
pub fn mean_bootstrap95(values: &[f64], reps: usize, seed: u64) -> (f64, f64) {
    use rand::Rng;
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || reps == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = crate::rng::rng_from_seed(seed);
    let mut means: Vec<f64> = (0..reps)
        .map(|_| {
            (0..v.len())
                .map(|_| v[rng.random_range(0..v.len())])
                .sum::<f64>()
                / v.len() as f64
        })
        .collect();
    percentiles95(&mut means)
}

/// The 2.5 % and 97.5 % points of `v` (sorted in place; the nearest order statistics; NaN for
/// no values): the interval of a percentile bootstrap.
pub fn percentiles95(v: &mut [f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    (at(0.025), at(0.975))
}

/// The mean of the finite values and the half-width of its 95 % confidence interval
/// (Student t with n − 1 degrees of freedom; NaN half-width for fewer than two values).
pub fn mean_ci95(values: &[f64]) -> (f64, f64) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, f64::NAN);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    // two-sided 97.5 % quantiles of Student's t for 1..=30 degrees of freedom, then the normal
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    let t = T.get(n - 2).copied().unwrap_or(1.96);
    (mean, t * (var / n as f64).sqrt())
}

/// The least-squares line `y ≈ slope·x + intercept` through the pairs where both are finite;
/// `None` with fewer than two such pairs or all x equal.
pub fn fit_line(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx;
    Some((slope, my - slope * mx))
}

/// Columns that differ between two runs of the same work by design: wall times and the build's
/// provenance. [`differences`] skips them unless asked otherwise.
pub const VOLATILE: &[&str] = &["time_s", "m_time_to_95", "git_rev", "crate_version"];

/// Where two tables differ, compared bit for bit (floats by their bits, NaN = NaN of the same
/// bits), skipping the columns in `ignore`: different column lists, heights, types, or the first
/// differing row of each column. Empty when they agree — the check that a change left the results
/// unchanged (`dictlab compare`).
///
/// # Errors
/// A column that cannot be read.
#[cfg(feature = "lab")]
pub fn differences(a: &DataFrame, b: &DataFrame, ignore: &[&str]) -> Result<Vec<String>> {
    let names = |d: &DataFrame| -> Vec<String> {
        d.columns()
            .iter()
            .map(|c| c.name().to_string())
            .filter(|n| !ignore.contains(&n.as_str()))
            .collect()
    };
    let (na, nb) = (names(a), names(b));
    let mut out = Vec::new();
    if na != nb {
        let only = |x: &[String], y: &[String]| {
            x.iter()
                .filter(|n| !y.contains(n))
                .cloned()
                .collect::<Vec<_>>()
        };
        out.push(format!(
            "columns differ: only in the first {:?}, only in the second {:?}",
            only(&na, &nb),
            only(&nb, &na)
        ));
    }
    if a.height() != b.height() {
        out.push(format!("heights differ: {} vs {}", a.height(), b.height()));
        return Ok(out);
    }
    for n in na.iter().filter(|n| nb.contains(n)) {
        let (ca, cb) = (col(a, n)?, col(b, n)?);
        if ca.dtype() != cb.dtype() {
            out.push(format!("column {n}: type {} vs {}", ca.dtype(), cb.dtype()));
            continue;
        }
        let first = if ca.dtype() == &DataType::Float64 {
            let bits = |c: &Column| -> Result<Vec<Option<u64>>> {
                Ok(c.f64()?.iter().map(|v| v.map(f64::to_bits)).collect())
            };
            let (x, y) = (bits(ca)?, bits(cb)?);
            (0..x.len()).find(|&i| x[i] != y[i]).map(|i| {
                let f = |v: Option<u64>| {
                    v.map_or("null".to_string(), |b| format!("{:e}", f64::from_bits(b)))
                };
                (i, f(x[i]), f(y[i]))
            })
        } else {
            let (x, y) = (column_str(a, n)?, column_str(b, n)?);
            (0..x.len())
                .find(|&i| x[i] != y[i])
                .map(|i| (i, x[i].clone(), y[i].clone()))
        };
        if let Some((i, x, y)) = first {
            out.push(format!("column {n}: row {i}: {x} vs {y}"));
        }
    }
    Ok(out)
}

/// A column by name, found by a linear scan of the names.
///
/// Under evcxr, polars is linked into several dylibs (the crate and each cell), each with its own
/// hashing seed, so a DataFrame whose name→index cache was filled by one copy can fail a
/// `df.column(name)` lookup made by another ("not found" for a column that exists — observed in
/// notebooks). Every dictlab helper therefore looks columns up with this function; notebooks
/// should use [`select`] / [`col`] rather than polars' name-based methods across cells.
#[cfg(feature = "lab")]
pub fn col<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column> {
    df.columns()
        .iter()
        .find(|c| c.name().as_str() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = df.columns().iter().map(|c| c.name().as_str()).collect();
            Error::invalid("column", name.to_string(), format!("one of {names:?}"))
        })
}

/// The named columns, in order (see [`col`] for why this avoids polars' `select`).
#[cfg(feature = "lab")]
pub fn select(df: &DataFrame, names: &[&str]) -> Result<DataFrame> {
    let cols: Vec<Column> = names
        .iter()
        .map(|n| col(df, n).cloned())
        .collect::<Result<_>>()?;
    Ok(DataFrame::new(df.height(), cols)?)
}

/// The columns `from` of `df`, renamed `to`, in the order of `cols` (a table shaped for
/// [`crate::report::paper::paper_vs_ours`], e.g. `[("p_inst_h", "h"), ("m_grad_norm", "grad_norm")]`).
///
/// # Errors
/// A missing column; two columns renamed alike.
#[cfg(feature = "lab")]
pub fn select_as(df: &DataFrame, cols: &[(&str, &str)]) -> Result<DataFrame> {
    let from: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let mut t = select(df, &from)?;
    let to: Vec<&str> = cols.iter().map(|c| c.1).collect();
    t.set_column_names(&to)?;
    Ok(t)
}

/// A column as `Vec<Option<f64>>` (ints and floats), for notebook analysis and charts.
#[cfg(feature = "lab")]
pub fn column_f64(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = col(df, name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}

/// [`column_f64`], or `None` in every row where the table lacks the column (an optional metric).
///
/// # Errors
/// Polars errors reading a column that exists.
#[cfg(feature = "lab")]
pub fn column_f64_or_none(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    if col(df, name).is_ok() {
        column_f64(df, name)
    } else {
        Ok(vec![None; df.height()])
    }
}

/// A column as strings (any type, nulls as "").
#[cfg(feature = "lab")]
pub fn column_str(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let c = col(df, name)?;
    let s: Series = c.as_materialized_series().clone();
    Ok((0..s.len())
        .map(|i| {
            s.get(i)
                .map(|v| v.to_string().trim_matches('"').to_string())
                .unwrap_or_default()
        })
        .collect())
}

/// Rows of `df` whose columns equal the given values: numbers compared as numbers (`Int(3)`,
/// `Float(3.0)` match an integer or float column holding 3 — as text, `Float(2.0)` printed "2"
/// against polars' "2.0" and matched nothing), other values as text.
#[cfg(feature = "lab")]
pub fn filter_eq(df: &DataFrame, conds: &[(&str, Value)]) -> Result<DataFrame> {
    let mut mask = vec![true; df.height()];
    for (name, v) in conds {
        let numeric = col(df, name)?.dtype().is_primitive_numeric();
        match (
            v.as_f64()
                .filter(|_| numeric && !matches!(v, Value::Bool(_))),
            v,
        ) {
            (Some(want), _) => {
                for (m, c) in mask.iter_mut().zip(column_f64(df, name)?) {
                    *m &= c == Some(want);
                }
            }
            _ => {
                let want = v.to_string();
                for (m, c) in mask.iter_mut().zip(column_str(df, name)?) {
                    *m &= c == want;
                }
            }
        }
    }
    let mask = polars::prelude::BooleanChunked::new("mask".into(), &mask);
    Ok(df.filter(&mask)?)
}

/// Mean of every numeric column over groups of `keys` (nulls ignored), sorted by the keys; the key
/// columns keep their types and every other non-numeric column is dropped.
#[cfg(feature = "lab")]
pub fn mean_by(df: &DataFrame, keys: &[&str]) -> Result<DataFrame> {
    let numeric: Vec<String> = df
        .columns()
        .iter()
        .filter(|c| !keys.contains(&c.name().as_str()) && c.dtype().is_primitive_numeric())
        .map(|c| c.name().to_string())
        .collect();
    let key_text: Vec<Vec<String>> = keys
        .iter()
        .map(|k| column_str(df, k))
        .collect::<Result<_>>()?;
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for row in 0..df.height() {
        let id = key_text
            .iter()
            .map(|c| c[row].as_str())
            .collect::<Vec<_>>()
            .join("\x1f");
        let g = *index.entry(id.clone()).or_insert_with(|| {
            groups.push((id, vec![]));
            groups.len() - 1
        });
        groups[g].1.push(row);
    }
    let first: Vec<polars::prelude::IdxSize> = groups
        .iter()
        .map(|g| g.1[0] as polars::prelude::IdxSize)
        .collect();
    let idx = polars::prelude::IdxCa::from_vec("idx".into(), first);
    let mut cols: Vec<Column> = select(df, keys)?.take(&idx)?.columns().to_vec();
    for name in &numeric {
        let v = column_f64(df, name)?;
        let means: Vec<Option<f64>> = groups
            .iter()
            .map(|(_, rows)| {
                let vals: Vec<f64> = rows.iter().filter_map(|&r| v[r]).collect();
                (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
            })
            .collect();
        cols.push(Column::new(name.as_str().into(), means));
    }
    Ok(DataFrame::new(groups.len(), cols)?.sort(keys.iter().copied(), Default::default())?)
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "lab")]
    #[test]
    fn a_missing_optional_column_reads_as_none() {
        let df = polars::prelude::df!("a" => [1.0, 2.0]).unwrap();
        assert_eq!(
            super::column_f64_or_none(&df, "a").unwrap(),
            [Some(1.0), Some(2.0)]
        );
        assert_eq!(super::column_f64_or_none(&df, "b").unwrap(), [None, None]);
    }

    #[test]
    #[allow(clippy::float_cmp)] // medians of small integers are exact
    fn median_of_the_finite_values() {
        assert_eq!(super::median(&[3.0, f64::NAN, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(&[4.0, 1.0, f64::INFINITY, 2.0, 3.0]), 2.5);
        assert!(super::median(&[f64::NAN]).is_nan());
    }

    #[test]
    fn wilson_and_t_intervals_by_hand() {
        // 8 of 10 at z = 1.96: centre (0.8 + 0.19208)/1.38416 = 0.71674, half-width
        // 1.96/1.38416 · √(0.016 + 0.009604) = 0.22658 → (0.4902, 0.9433)
        let (lo, hi) = super::wilson(8, 10, 1.96);
        assert!(
            (lo - 0.4902).abs() < 1e-4 && (hi - 0.9433).abs() < 1e-4,
            "{lo} {hi}"
        );
        // 0 of 3: lower end 0, upper z²/(n + z²) = 3.8416/6.8416 = 0.5615
        let (lo, hi) = super::wilson(0, 3, 1.96);
        assert!(lo == 0.0 && (hi - 0.5615).abs() < 1e-4, "{hi}");
        assert!(super::wilson(0, 0, 1.96).0.is_nan());
        // 1, 2, 3: mean 2, s = 1, t(2) = 4.303 → half-width 4.303/√3 = 2.4843; NaN ignored
        let (m, h) = super::mean_ci95(&[1.0, f64::NAN, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-12 && (h - 2.4843).abs() < 1e-4, "{h}");
        assert!(super::mean_ci95(&[5.0]).1.is_nan());
    }

    use super::*;

    #[test]
    fn a_line_through_known_points() {
        // y = 2x − 1 exactly, plus a NaN pair that is skipped
        let (s, b) = fit_line(&[0.0, 1.0, 2.0, f64::NAN], &[-1.0, 1.0, 3.0, 5.0]).unwrap();
        assert!((s - 2.0).abs() < 1e-12 && (b + 1.0).abs() < 1e-12);
        // (0,0), (1,1), (2,1): slope 1/2, intercept 1/6 by hand
        let (s, b) = fit_line(&[0.0, 1.0, 2.0], &[0.0, 1.0, 1.0]).unwrap();
        assert!((s - 0.5).abs() < 1e-12 && (b - 1.0 / 6.0).abs() < 1e-12);
        assert!(fit_line(&[1.0, 1.0], &[0.0, 2.0]).is_none());
        assert!(fit_line(&[1.0], &[0.0]).is_none());
    }

    #[cfg(feature = "lab")]
    #[test]
    fn differences_name_the_first_differing_row_and_skip_volatile_columns() {
        let mk = |x: f64, t: f64| {
            let mut r = Row::new("a").metric("x", x).metric("y", 1.0);
            r.time_s = t;
            frame_of_rows(vec![Row::new("a").metric("x", 0.5).metric("y", 1.0), r], 1).unwrap()
        };
        assert!(
            differences(&mk(2.0, 1.0), &mk(2.0, 9.0), VOLATILE)
                .unwrap()
                .is_empty()
        );
        let d = differences(&mk(2.0, 1.0), &mk(2.0 + 1e-15, 1.0), VOLATILE).unwrap();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].starts_with("column m_x: row 1: 2e0 vs 2.000000000000001e0"),
            "{d:?}"
        );
        // the time column counts when not skipped
        assert_eq!(
            differences(&mk(2.0, 1.0), &mk(2.0, 9.0), &[])
                .unwrap()
                .len(),
            1
        );
        let short = frame_of_rows(vec![Row::new("a")], 1).unwrap();
        let d = differences(&mk(2.0, 1.0), &short, VOLATILE).unwrap();
        assert!(
            d.iter().any(|s| s.contains("heights differ: 2 vs 1")),
            "{d:?}"
        );
    }

    #[cfg(feature = "lab")]
    #[test]
    fn rows_become_a_table_with_nan_for_missing_metrics() {
        let rows = vec![
            Row::new("a").metric("x", 1.0),
            Row::new("b").metric("y", 2.0),
        ];
        let df = frame_of_rows(rows, 7).unwrap();
        assert_eq!(df.height(), 2);
        let x = column_nan(&df, "m_x").unwrap();
        assert!((x[0] - 1.0).abs() < 1e-15);
        assert!(x[1].is_nan());
        assert_eq!(column_str(&df, "method").unwrap(), vec!["a", "b"]);
    }

    /// Columns picked and renamed by hand; a missing column and a repeated name are errors.
    #[cfg(feature = "lab")]
    #[test]
    fn select_as_picks_and_renames() {
        let df = DataFrame::new(
            2,
            vec![
                Column::new("p_inst_h".into(), [256.0, 512.0]),
                Column::new("m_grad_norm".into(), [0.5, 0.25]),
                Column::new("other".into(), [1.0, 2.0]),
            ],
        )
        .unwrap();
        let t = select_as(&df, &[("m_grad_norm", "grad_norm"), ("p_inst_h", "h")]).unwrap();
        let names: Vec<String> = t.get_column_names().iter().map(|c| c.to_string()).collect();
        assert_eq!(names, ["grad_norm", "h"]);
        assert_eq!(column_f64(&t, "h").unwrap(), vec![Some(256.0), Some(512.0)]);
        assert!(select_as(&df, &[("missing", "x")]).is_err());
        assert!(select_as(&df, &[("p_inst_h", "x"), ("other", "x")]).is_err());
    }
}
