//! A standalone `Report` is a page a person can open offline: this test writes one to
//! `target/report-check/report.html`, checks its HTML here, and `make test`'s browser check
//! (scripts/check_reports.py, run by scripts/notebooks.sh after the notebooks) opens it in
//! headless Chromium with the network off and counts its rendered charts.

use dictlab::polars::prelude::{DataFrame, NamedFrom, Series};
use dictlab::report::{self, CurveOpts, Report, Series2};

fn report() -> Report {
    let x: Vec<f64> = (1..=20).map(f64::from).collect();
    let ista: Vec<f64> = x.iter().map(|t| 1.0 / t).collect();
    let fista: Vec<f64> = x.iter().map(|t| 1.0 / (t * t)).collect();
    let conv = report::curves(
        "Objective gap against iterations",
        "iteration",
        "F(x_t) − F* (log)",
        &[
            Series2::new("ISTA", x.clone(), ista),
            Series2::new("FISTA", x.clone(), fista),
        ],
        &CurveOpts {
            log_y: true,
            markers: true,
            ..Default::default()
        },
    );
    let heat = report::heatmap(
        "Success rate",
        "k",
        "μ",
        vec![1.0, 2.0, 3.0],
        vec![0.1, 0.2],
        vec![vec![1.0, 0.5, 0.0], vec![1.0, 0.9, 0.2]],
    );
    let df = DataFrame::new(
        3,
        vec![
            Series::new("method".into(), &["mod", "ksvd", "online"]).into(),
            Series::new("recovery".into(), &[0.98123, 0.97, 0.5]).into(),
        ],
    )
    .unwrap();
    Report::new("dictlab report check")
        .heading("Convergence")
        .text("Two charts and one table.")
        .plot(&conv)
        .plot(&heat)
        .table(&df, 10)
}

#[test]
fn standalone_report_is_written_for_the_browser_check() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/report-check");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.html");
    report().write_html(&path).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        html.matches("plotly.js v").count(),
        1,
        "plotly.js inlined once"
    );
    assert_eq!(
        html.matches("Plotly.newPlot(\"").count(),
        2,
        "one chart per plot"
    );
    // every script is inline: none has a src (plotly.js's own code mentions URLs in strings)
    for tag in html
        .match_indices("<script")
        .map(|(i, _)| &html[i..i + html[i..].find('>').unwrap()])
    {
        assert!(!tag.contains("src="), "a script from the network: {tag}");
    }
    assert!(!html.contains("<link"), "no stylesheet from the network");
    assert!(html.contains("<td style=\"padding:2px 6px;text-align:right\">0.9812</td>"));
}
