//! Notebook display and chart builders.
//!
//! `evcxr_display()` output of plotly is dropped by nbconvert's HTML export and CDN scripts do not
//! load offline, so every helper here prints `EVCXR_BEGIN_CONTENT text/html … EVCXR_END_CONTENT`
//! and [`show_plot`] inlines plotly.js (3.0.1, bundled by the `plotly_embed_js` feature) the first
//! time it is called in a process — once per notebook kernel. Exported reports render with no
//! network.
//!
//! Chart builders take plain vectors or a tidy [`DataFrame`] and return a [`plotly::Plot`]:
//! [`curves`], [`curves_from_frame`], [`heatmap`], [`heatmap_from_frame`], [`histogram`],
//! [`atom_grid`]. [`Report`] assembles markdown, tables and plots into one standalone HTML file.

use crate::error::Result;
use crate::sweep::{column_f64, column_str};
use ndarray::ArrayView2;
pub use plotly::common::MarkerSymbol;
use plotly::common::{ColorScale, ColorScalePalette, Marker, Mode, Title};
use plotly::layout::{Axis, AxisType, BarMode, Layout};
use plotly::{Bar, HeatMap, Histogram, Plot, Scatter};
use polars::prelude::{AnyValue, DataFrame};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static JS_LOADED: AtomicBool = AtomicBool::new(false);
static DISPLAY: AtomicBool = AtomicBool::new(true);

/// Turn notebook display on or off (off: every `show_*` is a no-op; the smoke tests use this).
pub fn set_display(on: bool) {
    DISPLAY.store(on, Ordering::SeqCst);
}
static DIV_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Print raw HTML as a `text/html` output of the current evcxr cell.
pub fn show_html(html: &str) {
    if !DISPLAY.load(Ordering::SeqCst) {
        return;
    }
    println!("EVCXR_BEGIN_CONTENT text/html\n{html}\nEVCXR_END_CONTENT");
}

/// Inline plotly.js into the notebook output (no-op after the first call).
pub fn load_plotly_js() {
    if !JS_LOADED.swap(true, Ordering::SeqCst) {
        show_html(&Plot::offline_js_sources());
    }
}

/// HTML fragment of a plot (needs plotly.js on the page).
pub fn plot_html(plot: &Plot) -> String {
    let id = format!(
        "dictlab-plot-{}-{}",
        std::process::id(),
        DIV_COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    plot.to_inline_html(Some(&id))
}

/// Show a plot in a notebook (loads plotly.js on first use).
pub fn show_plot(plot: &Plot) {
    load_plotly_js();
    show_html(&plot_html(plot));
}

/// Show markdown-ish text as an HTML paragraph (escaped).
pub fn show_text(text: &str) {
    show_html(&format!("<pre>{}</pre>", escape(text)));
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A table cell: floats by [`fmt_f64`], strings unquoted, nulls empty.
pub(crate) fn fmt_any(v: &AnyValue<'_>) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::Float64(x) => fmt_f64(*x),
        AnyValue::Float32(x) => fmt_f64(*x as f64),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// Format a float with 4 significant digits (scientific outside [1e-3, 1e5)).
pub fn fmt_f64(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if (1e-3..1e5).contains(&a) {
        let digits = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
    } else {
        format!("{x:.3e}")
    }
}

/// An HTML table of the first `max_rows` rows of `df`.
pub fn frame_html(df: &DataFrame, max_rows: usize) -> String {
    let mut s = String::from(
        "<table class=\"dictlab-table\" style=\"border-collapse:collapse;font-size:12px\"><thead><tr>",
    );
    for c in df.columns() {
        let _ = write!(
            s,
            "<th style=\"border-bottom:1px solid #888;padding:2px 6px\">{}</th>",
            escape(c.name())
        );
    }
    s.push_str("</tr></thead><tbody>");
    let h = df.height().min(max_rows);
    for i in 0..h {
        s.push_str("<tr>");
        for c in df.columns() {
            let v = c.get(i).map(|v| fmt_any(&v)).unwrap_or_default();
            let _ = write!(
                s,
                "<td style=\"padding:2px 6px;text-align:right\">{}</td>",
                escape(&v)
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    if df.height() > max_rows {
        let _ = write!(
            s,
            "<p><i>{} of {} rows shown</i></p>",
            max_rows,
            df.height()
        );
    }
    s
}

/// Show a DataFrame as an HTML table (first 50 rows).
pub fn show_df(df: &DataFrame) {
    show_html(&frame_html(df, 50));
}

/// Show a DataFrame as an HTML table with a row cap.
pub fn show_df_rows(df: &DataFrame, max_rows: usize) {
    show_html(&frame_html(df, max_rows));
}

fn layout(title: &str, x: &str, y: &str) -> Layout {
    Layout::new()
        .title(Title::with_text(title))
        .x_axis(Axis::new().title(Title::with_text(x)))
        .y_axis(Axis::new().title(Title::with_text(y)))
}

/// One named series for [`curves`].
#[derive(Clone, Debug)]
pub struct Series2 {
    /// Legend name.
    pub name: String,
    /// x values.
    pub x: Vec<f64>,
    /// y values.
    pub y: Vec<f64>,
}

impl Series2 {
    /// A series.
    pub fn new(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Series2 {
            name: name.into(),
            x,
            y,
        }
    }
}

/// Options for [`curves`].
#[derive(Clone, Debug, Default)]
pub struct CurveOpts {
    /// Log-scale x axis.
    pub log_x: bool,
    /// Log-scale y axis.
    pub log_y: bool,
    /// Markers as well as lines.
    pub markers: bool,
}

/// Line chart of several series.
pub fn curves(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series2],
    opts: &CurveOpts,
) -> Plot {
    let mut p = Plot::new();
    for s in series {
        let mode = if opts.markers {
            Mode::LinesMarkers
        } else {
            Mode::Lines
        };
        p.add_trace(
            Scatter::new(s.x.clone(), s.y.clone())
                .name(&s.name)
                .mode(mode),
        );
    }
    let mut l = layout(title, x_label, y_label);
    if opts.log_x {
        l = l.x_axis(
            Axis::new()
                .title(Title::with_text(x_label))
                .type_(AxisType::Log),
        );
    }
    if opts.log_y {
        l = l.y_axis(
            Axis::new()
                .title(Title::with_text(y_label))
                .type_(AxisType::Log),
        );
    }
    p.set_layout(l);
    p
}

/// Curves from a tidy frame: one series per distinct value of `group` (rows with a null x or y
/// are skipped; rows keep their frame order).
pub fn curves_from_frame(
    df: &DataFrame,
    x: &str,
    y: &str,
    group: &str,
    title: &str,
    opts: &CurveOpts,
) -> Result<Plot> {
    let xs = column_f64(df, x)?;
    let ys = column_f64(df, y)?;
    let gs = column_str(df, group)?;
    let mut series: Vec<Series2> = Vec::new();
    for i in 0..xs.len() {
        if let (Some(xv), Some(yv)) = (xs[i], ys[i]) {
            match series.iter_mut().find(|s| s.name == gs[i]) {
                Some(s) => {
                    s.x.push(xv);
                    s.y.push(yv);
                }
                None => series.push(Series2::new(gs[i].clone(), vec![xv], vec![yv])),
            }
        }
    }
    Ok(curves(title, x, y, &series, opts))
}

/// Heatmap (phase transition): `z[i][j]` at (x_j, y_i).
pub fn heatmap(
    title: &str,
    x_label: &str,
    y_label: &str,
    x: Vec<f64>,
    y: Vec<f64>,
    z: Vec<Vec<f64>>,
) -> Plot {
    let mut p = Plot::new();
    p.add_trace(HeatMap::new(x, y, z).color_scale(ColorScale::Palette(ColorScalePalette::Viridis)));
    p.set_layout(layout(title, x_label, y_label));
    p
}

/// Overlay a named set of markers (e.g. critical points on a landscape heatmap) on `plot`.
pub fn add_markers(plot: &mut Plot, name: &str, x: Vec<f64>, y: Vec<f64>, symbol: MarkerSymbol) {
    plot.add_trace(
        Scatter::new(x, y)
            .mode(Mode::Markers)
            .name(name)
            .marker(Marker::new().symbol(symbol).size(10)),
    );
}

/// Heatmap of the mean of `z` over rows sharing each (x, y) pair of a tidy frame.
pub fn heatmap_from_frame(df: &DataFrame, x: &str, y: &str, z: &str, title: &str) -> Result<Plot> {
    let xs = column_f64(df, x)?;
    let ys = column_f64(df, y)?;
    let zs = column_f64(df, z)?;
    let mut ux: Vec<f64> = xs.iter().flatten().copied().collect();
    let mut uy: Vec<f64> = ys.iter().flatten().copied().collect();
    for u in [&mut ux, &mut uy] {
        u.sort_by(f64::total_cmp);
        u.dedup();
    }
    let mut sum = vec![vec![0.0; ux.len()]; uy.len()];
    let mut cnt = vec![vec![0usize; ux.len()]; uy.len()];
    for i in 0..xs.len() {
        if let (Some(a), Some(b), Some(c)) = (xs[i], ys[i], zs[i]) {
            let j = ux.iter().position(|v| v.total_cmp(&a).is_eq()).unwrap_or(0);
            let k = uy.iter().position(|v| v.total_cmp(&b).is_eq()).unwrap_or(0);
            sum[k][j] += c;
            cnt[k][j] += 1;
        }
    }
    let z: Vec<Vec<f64>> = sum
        .iter()
        .zip(&cnt)
        .map(|(s, c)| {
            s.iter()
                .zip(c)
                .map(|(s, c)| if *c > 0 { s / *c as f64 } else { f64::NAN })
                .collect()
        })
        .collect();
    Ok(heatmap(title, x, y, ux, uy, z))
}

/// Stacked bars: one bar per category, one stacked segment per series (`values[i]` for
/// `categories[i]`), e.g. counts of row classes per setting.
pub fn stacked_bars(
    title: &str,
    y_label: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
) -> Plot {
    let mut p = Plot::new();
    for (name, v) in series {
        p.add_trace(Bar::new(categories.to_vec(), v.clone()).name(name));
    }
    p.set_layout(layout(title, "", y_label).bar_mode(BarMode::Stack));
    p
}

/// Overlaid normalised histograms of several samples.
pub fn histogram(title: &str, x_label: &str, samples: &[(String, Vec<f64>)]) -> Plot {
    let mut p = Plot::new();
    for (name, v) in samples {
        p.add_trace(
            Histogram::new(v.clone())
                .name(name)
                .opacity(0.6)
                .hist_norm(plotly::histogram::HistNorm::ProbabilityDensity),
        );
    }
    p.set_layout(layout(title, x_label, "density").bar_mode(BarMode::Overlay));
    p
}

/// The first `max_atoms` atoms of an n × m dictionary with n = side², each shown as a side × side
/// image, tiled `cols` per row (1-pixel gaps). Atoms are scaled to [−1, 1] by their max |entry|.
pub fn atom_grid(
    title: &str,
    dict: ArrayView2<'_, f64>,
    cols: usize,
    max_atoms: usize,
) -> Result<Plot> {
    let (n, m) = dict.dim();
    let side = (n as f64).sqrt().round() as usize;
    crate::error::ensure!(
        side * side == n,
        "dim",
        n,
        "a square signal dimension (n = side²) to show atoms as images"
    );
    crate::error::ensure!(cols >= 1, "cols", cols, "cols ≥ 1");
    let k = m.min(max_atoms);
    let rows = k.div_ceil(cols);
    let (hh, ww) = (rows * (side + 1), cols * (side + 1));
    let mut z = vec![vec![f64::NAN; ww]; hh];
    for a in 0..k {
        let col = dict.column(a);
        let mx = col.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(1e-300);
        let (r0, c0) = ((a / cols) * (side + 1), (a % cols) * (side + 1));
        for i in 0..side {
            for j in 0..side {
                z[r0 + i][c0 + j] = col[i * side + j] / mx;
            }
        }
    }
    z.reverse(); // heatmaps draw row 0 at the bottom: flip so images are upright
    let mut p = Plot::new();
    p.add_trace(
        HeatMap::new_z(z)
            .color_scale(ColorScale::Palette(ColorScalePalette::Greys))
            .zmin(-1.0)
            .zmax(1.0)
            .show_scale(false),
    );
    p.set_layout(
        Layout::new()
            .title(Title::with_text(title))
            .x_axis(Axis::new().show_tick_labels(false))
            .y_axis(Axis::new().show_tick_labels(false).scale_anchor("x")),
    );
    Ok(p)
}

/// A standalone offline HTML report: markdown-ish text, tables and plots, plotly.js inlined once.
#[derive(Clone, Debug, Default)]
pub struct Report {
    title: String,
    body: Vec<String>,
}

impl Report {
    /// New report.
    pub fn new(title: impl Into<String>) -> Self {
        Report {
            title: title.into(),
            body: vec![],
        }
    }
    /// Add a heading.
    pub fn heading(mut self, text: &str) -> Self {
        self.body.push(format!("<h2>{}</h2>", escape(text)));
        self
    }
    /// Add a paragraph of text.
    pub fn text(mut self, text: &str) -> Self {
        self.body.push(format!("<p>{}</p>", escape(text)));
        self
    }
    /// Add a plot.
    pub fn plot(mut self, plot: &Plot) -> Self {
        self.body.push(plot_html(plot));
        self
    }
    /// Add a table.
    pub fn table(mut self, df: &DataFrame, max_rows: usize) -> Self {
        self.body.push(frame_html(df, max_rows));
        self
    }
    /// Show the report in a notebook cell (plotly.js loaded once per notebook, as [`show_plot`]).
    pub fn show(&self) {
        load_plotly_js();
        show_html(&self.body.join("\n"));
    }
    /// The HTML document.
    pub fn to_html(&self) -> String {
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body style=\"font-family:sans-serif\"><h1>{t}</h1>{js}{body}</body></html>",
            t = escape(&self.title),
            js = Plot::offline_js_sources(),
            body = self.body.join("\n")
        )
    }
    /// Write the HTML document.
    pub fn write_html(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_html()).map_err(|e| crate::error::Error::File {
            action: "write",
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }
}
