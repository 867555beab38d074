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

pub mod classical;
pub mod contest;
pub mod conv_bench;
pub mod conv_l4;
pub mod dashboard;
pub mod findings;
pub mod l4_landscape;
pub mod nn_dictionaries;
pub mod observed;
pub mod paper;
pub mod pudle;
pub mod rangamani;
pub mod sae_study;
pub mod sparse_coding;
pub mod unrolled;

use crate::error::Result;
use crate::table::{column_f64, column_str};
use ndarray::ArrayView2;
pub use plotly::common::MarkerSymbol;
use plotly::common::{ColorScale, ColorScalePalette, Marker, Mode, Title};
use plotly::layout::{Axis, AxisType, BarMode, Layout};
use plotly::{Bar, HeatMap, Histogram, Plot, Scatter};
use polars::prelude::{AnyValue, DataFrame};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static DISPLAY: AtomicBool = AtomicBool::new(true);

/// Turn notebook display on or off (off: every `show_*` is a no-op; the smoke tests use this).
pub fn set_display(on: bool) {
    DISPLAY.store(on, Ordering::SeqCst);
}
static DIV_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// What one evcxr cell shows: evcxr keeps **one value per MIME type per cell** — of several
/// `EVCXR_BEGIN_CONTENT text/html` blocks printed by one cell only the last reaches the notebook
/// (evcxr 0.22, `EvalOutputs::content_by_mime_type` is a map). Printing plotly.js and then a
/// chart therefore lost plotly.js, and a cell with two charts kept one. So every `show_*` call
/// appends its HTML to the running cell's record and prints the whole record: the last block of a
/// cell carries everything the cell showed, in order.
///
/// The record is a small file per kernel process (`$TMPDIR/dictlab-display-<pid>-<start>`), not a
/// `static`: evcxr links this crate into every cell's library, so each cell — and each function
/// defined in an earlier cell — has its own copy of every static. The file is shared by all of
/// them. Its first line is the cell's key; plotly.js is stored as [`JS_PLACEHOLDER`] and put in
/// its place when printed, so the file stays small.
fn record_path() -> Option<std::path::PathBuf> {
    // the process start time (field 22 of /proc/self/stat) tells a reused pid apart
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let start = stat
        .rsplit(')')
        .next()?
        .split_whitespace()
        .nth(19)?
        .to_string();
    Some(std::env::temp_dir().join(format!("dictlab-display-{}-{start}", std::process::id())))
}

/// Stands for plotly.js in a cell's record (and is what [`load_plotly_js`] shows).
const JS_PLACEHOLDER: &str = "<!--dictlab:plotly.js-->";

/// The evcxr cell now running, if any: evcxr compiles every cell into `libcode_<N>.so` and loads it
/// just before running it (and keeps earlier ones loaded), so the highest `N` mapped into this
/// process names the running cell. `None` outside evcxr (or where `/proc/self/maps` is missing).
fn evcxr_cell() -> Option<u64> {
    cell_in_maps(&std::fs::read_to_string("/proc/self/maps").ok()?)
}

/// The highest `N` of a `libcode_<N>.so` mapping in a `/proc/<pid>/maps` text.
fn cell_in_maps(maps: &str) -> Option<u64> {
    maps.lines()
        .filter_map(|l| {
            let name = l.rsplit('/').next()?;
            name.strip_prefix("libcode_")?
                .strip_suffix(".so")?
                .parse::<u64>()
                .ok()
        })
        .max()
}

/// The record after cell `cell` shows `html`, given the record so far (`None`: no record yet);
/// a record of another cell is started afresh. Returns the new record (first line: the key).
fn accumulate(record: Option<&str>, cell: u64, html: &str) -> String {
    let key = cell.to_string();
    let body = record
        .and_then(|r| r.split_once('\n'))
        .filter(|(k, _)| *k == key)
        .map(|(_, b)| b);
    match body {
        Some(b) if !b.is_empty() => format!("{key}\n{b}\n{html}"),
        _ => format!("{key}\n{html}"),
    }
}

/// Print raw HTML as a `text/html` output of the current evcxr cell.
///
/// Several calls in one cell all show, in order (each call prints everything the cell has shown
/// so far: evcxr keeps only the last block); outside evcxr each call
/// prints its own block.
pub fn show_html(html: &str) {
    if !DISPLAY.load(Ordering::SeqCst) {
        return;
    }
    let record;
    let shown = match (evcxr_cell(), record_path()) {
        (Some(cell), Some(path)) => {
            let prev = std::fs::read_to_string(&path).ok();
            record = accumulate(prev.as_deref(), cell, html);
            // a record that cannot be written only costs the earlier outputs of this cell
            let _ = crate::io::write_bytes(&path, record.as_bytes());
            record.split_once('\n').map_or("", |(_, b)| b)
        }
        _ => html,
    };
    let shown = shown.replace(JS_PLACEHOLDER, plotly_js_script());
    println!("EVCXR_BEGIN_CONTENT text/html\n{shown}\nEVCXR_END_CONTENT");
}

/// plotly.js (3.0.1, bundled by plotly's `plotly_embed_js` feature) as one `<script>` element,
/// without the MathJax bundle that `Plot::offline_js_sources` appends (2 MB; no chart here uses
/// LaTeX).
pub fn plotly_js_script() -> &'static str {
    static JS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JS.get_or_init(|| {
        let all = Plot::offline_js_sources();
        match all.find("</script>") {
            Some(end) => all[..end + "</script>".len()].to_string(),
            None => all,
        }
    })
}

/// Set in the environment of a kernel whose notebook output already holds plotly.js.
///
/// Not a `static`: evcxr links this crate into every cell's library, so each cell has its own
/// copy of every static (a static flag re-inlined the 4.6 MB of plotly.js in every chart cell,
/// and a static counter gave two cells' charts the same div id). The environment is one per
/// process, shared by all cells.
const JS_LOADED_VAR: &str = "DICTLAB_PLOTLY_JS_LOADED";

/// Inline plotly.js into the notebook output (no-op after the first call in this kernel).
pub fn load_plotly_js() {
    if !DISPLAY.load(Ordering::SeqCst) {
        return;
    }
    let pid = std::process::id().to_string();
    if std::env::var(JS_LOADED_VAR).is_ok_and(|v| v == pid) {
        return;
    }
    // the placeholder is what a cell's record keeps; show_html puts plotly.js in its place
    show_html(JS_PLACEHOLDER);
    // SAFETY: `set_var` races only with a concurrent read of the environment by another thread;
    // notebook display runs on the kernel's main thread between cells' computations, when no
    // thread of this crate reads the environment.
    unsafe { std::env::set_var(JS_LOADED_VAR, pid) };
}

/// HTML fragment of a plot (needs plotly.js on the page).
pub fn plot_html(plot: &Plot) -> String {
    // each copy of this crate in a kernel (one per evcxr cell, see `record_path`) counts from 0:
    // the copy's address keeps the ids apart
    let id = format!(
        "dictlab-plot-{}-{:x}-{}",
        std::process::id(),
        &DIV_COUNTER as *const AtomicUsize as usize,
        DIV_COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    plot.to_inline_html(Some(&id))
}

/// Show a plot in a notebook (loads plotly.js on first use).
pub fn show_plot(plot: &Plot) {
    load_plotly_js();
    show_html(&plot_html(plot));
}

/// A `<script>` for the `<head>` of a standalone page: records script errors (a chart that fails to
/// draw) on `<html data-js-errors>`, where the browser check of `make test` reads them, and shows
/// them in a red banner for the reader. One file, also included by the notebook template.
pub const ERROR_HOOK: &str = include_str!("../../scripts/nbtemplate/dictlab/error_hook.html");

/// Show a notebook's one-line headline finding, written from what the run measured. The report
/// runner reads it (the `dictlab-headline` element) into the card of `reports/index.html`.
pub fn show_headline(text: &str) {
    show_html(&format!(
        "<div class=\"dictlab-headline\" style=\"border-left:4px solid #1f77b4;padding:4px 10px;margin:6px 0;font-size:15px\"><b>Headline.</b> {}</div>",
        escape(text)
    ));
}

/// Mean of `value` per distinct `key` (NaN and missing values skipped), best (largest) first: the
/// ranking a headline is written from, e.g. `ranking(&final_rows, "method", "m_recovery_rate")`.
///
/// # Errors
/// A column is missing or `value` is not numeric.
pub fn ranking(df: &DataFrame, key: &str, value: &str) -> Result<Vec<(String, f64)>> {
    let keys = column_str(df, key)?;
    let vals = column_f64(df, value)?;
    let mut acc: Vec<(String, f64, usize)> = Vec::new();
    for (k, v) in keys.into_iter().zip(vals) {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            continue;
        };
        match acc.iter_mut().find(|a| a.0 == k) {
            Some(a) => {
                a.1 += v;
                a.2 += 1;
            }
            None => acc.push((k, v, 1)),
        }
    }
    let mut out: Vec<(String, f64)> = acc.into_iter().map(|(k, s, n)| (k, s / n as f64)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(out)
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
    Ok(curves(title, &axis_title(x), &axis_title(y), &series, opts))
}

/// A readable axis title for a results-table column: the `p_inst_` / `p_method_` / `m_` prefixes
/// dropped, units named for the columns that have one (`time_s` → "time (s)").
pub fn axis_title(column: &str) -> String {
    let bare = column
        .strip_prefix("p_inst_")
        .or_else(|| column.strip_prefix("p_method_"))
        .or_else(|| column.strip_prefix("m_"))
        .unwrap_or(column);
    match bare {
        "time_s" | "seconds" => "time (s)".into(),
        "time_to_95" => "time to 95 % recovery (s)".into(),
        "iter" => "iteration".into(),
        "n_atoms" => "atoms m".into(),
        "dim" => "dimension n".into(),
        "n_samples" => "samples N".into(),
        "sparsity" => "sparsity k".into(),
        "coherence" => "target coherence μ".into(),
        "mu" => "coherence μ".into(),
        "recovery_rate" => "recovery_rate (share of atoms with |cos| > 0.99)".into(),
        "recovery_score" => "recovery_score (mean matched |cos|)".into(),
        "n_unrolled" => "unrolled iterations".into(),
        other => other.replace('_', " "),
    }
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
    Ok(heatmap(title, &axis_title(x), &axis_title(y), ux, uy, z))
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
    /// The HTML document: plotly.js inlined once (only when there is a chart), no network access,
    /// script errors recorded on `<html data-js-errors>` and shown in a banner.
    pub fn to_html(&self) -> String {
        let body = self.body.join("\n");
        let js = if body.contains("Plotly.newPlot(\"") {
            plotly_js_script()
        } else {
            ""
        };
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title>{hook}</head><body style=\"font-family:sans-serif\"><h1>{t}</h1>{js}{body}</body></html>",
            t = escape(&self.title),
            hook = ERROR_HOOK,
        )
    }
    /// Write the HTML document.
    pub fn write_html(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        crate::io::write_bytes(path, self.to_html().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_cell_is_the_highest_loaded_libcode() {
        let maps = "\
7f00-7f01 r-xp 00000000 08:01 1 /var/tmp/x/target/debug/deps/libcode_3.so
7f02-7f03 r-xp 00000000 08:01 2 /var/tmp/x/target/debug/deps/libdictlab-abc.so
7f04-7f05 r-xp 00000000 08:01 3 /var/tmp/x/target/debug/deps/libcode_12.so
7f06-7f07 r--p 00000000 08:01 3 /var/tmp/x/target/debug/deps/libcode_12.so
7f08-7f09 r-xp 00000000 08:01 4 /usr/lib/libcode_x.so
7f0a-7f0b rw-p 00000000 00:00 0 [heap]";
        assert_eq!(cell_in_maps(maps), Some(12));
        assert_eq!(cell_in_maps("7f0a-7f0b rw-p 00000000 00:00 0 [heap]"), None);
    }

    #[test]
    fn one_cell_shows_everything_it_printed_and_a_new_cell_starts_afresh() {
        // evcxr keeps only a cell's last text/html block, so that block must hold all of them
        let r = accumulate(None, 4, "<script>js</script>");
        assert_eq!(r, "4\n<script>js</script>");
        let r = accumulate(Some(&r), 4, "<div>chart 1</div>");
        let r = accumulate(Some(&r), 4, "<div>chart 2</div>");
        assert_eq!(
            r,
            "4\n<script>js</script>\n<div>chart 1</div>\n<div>chart 2</div>"
        );
        // the next cell starts afresh, also after a record of a cell with the same digits
        assert_eq!(accumulate(Some(&r), 5, "<p>t</p>"), "5\n<p>t</p>");
        assert_eq!(
            accumulate(Some("44\n<p>x</p>"), 4, "<p>y</p>"),
            "4\n<p>y</p>"
        );
        assert_eq!(accumulate(Some("garbage"), 4, "<p>y</p>"), "4\n<p>y</p>");
    }

    #[test]
    fn ranking_means_per_key_best_first_by_hand() {
        use polars::prelude::{NamedFrom, Series};
        let df = DataFrame::new(
            5,
            vec![
                Series::new("method".into(), &["a", "b", "a", "b", "c"]).into(),
                Series::new(
                    "v".into(),
                    &[Some(1.0), Some(0.9), Some(0.0), None, Some(f64::NAN)],
                )
                .into(),
            ],
        )
        .unwrap();
        // a: (1 + 0)/2 = 0.5; b: 0.9 (the null skipped); c has no finite value
        let r = ranking(&df, "method", "v").unwrap();
        assert_eq!(r, vec![("b".to_string(), 0.9), ("a".to_string(), 0.5)]);
    }

    #[test]
    fn axis_titles_drop_prefixes_and_name_units() {
        assert_eq!(axis_title("m_time_s"), "time (s)");
        assert_eq!(axis_title("p_inst_sparsity"), "sparsity k");
        assert_eq!(axis_title("m_grad_err"), "grad err");
        assert_eq!(axis_title("iter"), "iteration");
    }

    #[test]
    fn plotly_js_alone_is_one_script_element() {
        let js = plotly_js_script();
        assert!(js.starts_with("<script"));
        assert!(js.trim_end().ends_with("</script>"));
        assert_eq!(js.matches("</script>").count(), 1);
        assert!(
            js.contains("plotly.js v"),
            "the bundle's banner names plotly.js"
        );
        assert!(
            js.len() < 5_000_000,
            "the MathJax bundle (2 MB) is left out"
        );
        assert!(js.len() > 1_000_000, "plotly.js is inlined, not linked");
    }

    #[test]
    fn report_inlines_plotly_once_and_only_with_charts() {
        let p = curves(
            "t",
            "x",
            "y",
            &[Series2::new("a", vec![1.0, 2.0], vec![3.0, 4.0])],
            &CurveOpts::default(),
        );
        let html = Report::new("r").plot(&p).plot(&p).to_html();
        assert_eq!(html.matches("plotly.js v").count(), 1);
        assert_eq!(html.matches("Plotly.newPlot(\"").count(), 2);
        assert!(html.contains("data-js-errors"));
        let plain = Report::new("r").text("no chart").to_html();
        assert!(!plain.contains("plotly.js v"));
    }
}
