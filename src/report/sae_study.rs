//! The analysis of notebook 13 (sparse autoencoders on a streamed SynthSAEBench-class model), as
//! named functions: one cell of the small study — a law at (dim, features), one learner trained on
//! the model's streamed batches with a given sample budget, evaluated on fresh batches — and the
//! committed large runs read back from `benches/sae/`.
//!
//! The learners: TopK, BatchTopK and Matryoshka SAEs (module [`crate::neural::sae`]: Gao et al.
//! 2024, Bussmann et al. 2024 and 2025) and online dictionary learning with an OMP coder
//! (Mairal et al. 2010, [`crate::learn::online`]). Each is told the data's k (the rounded mean L0
//! of batch 0, as `dictlab sae train` does), the batch and the number of steps; nothing is tuned.

use crate::error::{Error, Result, ensure};
use crate::generate::stream::{SynthModel, SynthSpec};
use crate::iter::{NoObserver, Schedule};
use crate::neural::sae::{
    EVAL_FIRST_BATCH, SaeKind, SaeTrainer, evaluate_stream, evaluate_stream_coder,
};
use crate::table::Row;

/// The learners of the study, by name.
pub const LEARNERS: [&str; 4] = ["topk", "batchtopk", "matryoshka", "online"];

/// One cell: the law [`SynthSpec::synth_sae_bench_at`]`(dim, features)` drawn from `seed`, `learner`
/// (one of [`LEARNERS`]) trained for `steps` batches of `batch` samples from the same seed, then
/// evaluated on `eval_batches` × `batch` fresh samples. The row holds the parameters (`dim`,
/// `features`, `superposition` = features / dim, `seed`, `k_told`) and the metrics of
/// [`crate::neural::sae::SaeEval`] with the hierarchy scores (`absorption`,
/// `parent_recall_with_child`) and the training seconds.
///
/// # Errors
/// An unknown learner, an invalid law or training parameters.
pub fn study_row(
    dim: usize,
    features: usize,
    learner: &str,
    seed: u64,
    steps: usize,
    batch: usize,
    eval_batches: usize,
) -> Result<Row> {
    ensure!(
        LEARNERS.contains(&learner),
        "learner",
        learner,
        format!("one of {}", LEARNERS.join(", "))
    );
    let model = SynthModel::new(SynthSpec::synth_sae_bench_at(dim, features), seed)?;
    let (k, _) = model.told_k()?;
    let t0 = std::time::Instant::now();
    let (ev, h) = if learner == "online" {
        use crate::learn::online::{OnlineDl, OnlineOptions};
        let mut opts = OnlineOptions::new();
        opts.batch = batch;
        let online = OnlineDl {
            coder: crate::code::omp::Omp::with_sparsity(k.min(dim)),
            opts,
        };
        let mut rng = crate::rng::rng_from_seed(crate::rng::derive_seed(seed, "start"));
        let start = crate::generate::dictionary::gaussian_matrix(dim, features, &mut rng);
        let s = online.fit_stream(&model, start, steps, seed, &mut |_, _| true)?;
        evaluate_stream_coder(
            s.dict.view(),
            &online.coder,
            &model,
            EVAL_FIRST_BATCH,
            eval_batches,
            batch,
        )?
    } else {
        let kind = match learner {
            "topk" => SaeKind::TopK { k },
            "batchtopk" => SaeKind::BatchTopK { k },
            _ => SaeKind::Matryoshka { k, levels: 3 },
        };
        let mut t = SaeTrainer::new(kind, features);
        t.steps = steps;
        t.batch = batch;
        let (s, _) = t.train_stream(&model, seed, Schedule::Never, &mut NoObserver)?;
        evaluate_stream(&s.sae, &model, EVAL_FIRST_BATCH, eval_batches, batch)?
    };
    let train_s = t0.elapsed().as_secs_f64();
    let mut row = Row::new(learner)
        .param("dim", dim)
        .param("features", features)
        .param("superposition", features as f64 / dim as f64)
        .param("seed", seed as i64)
        .param("k_told", k)
        .metric("mcc", ev.recovery_score)
        .metric("recovery_rate", ev.recovery_rate)
        .metric("dead_latents", ev.dead_latents as f64)
        .metric("fvu", ev.fvu)
        .metric("l0", ev.l0)
        .metric("true_l0", ev.true_l0)
        .metric("latent_f1", ev.latent_f1)
        .metric("seconds", train_s);
    if let Some(h) = h {
        row = row
            .metric("absorption", h.absorption())
            .metric("parent_recall_with_child", h.recall_with_child());
    }
    Ok(row)
}

/// A committed JSON file of `benches/sae/` (relative to the crate root), parsed.
///
/// # Errors
/// A missing or unreadable file (the error names it).
pub fn committed_json(name: &str) -> Result<serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/sae")
        .join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::invalid(
            "committed run",
            path.display(),
            format!("a readable file ({e})"),
        )
    })?;
    Ok(serde_json::from_str(&text)?)
}

/// The headline numbers of a committed large run (`benches/sae/run_*.json`, the JSON of
/// `dictlab sae train`).
#[derive(Clone, Debug, PartialEq)]
pub struct LargeRun {
    /// Dimensions of the planted model.
    pub dim: f64,
    /// Features of the planted model.
    pub features: f64,
    /// The k the SAE was told.
    pub k: f64,
    /// Samples trained on.
    pub samples: f64,
    /// MCC on the evaluation batches.
    pub mcc: f64,
    /// Features found at |cos| ≥ 0.99.
    pub found: f64,
    /// Dead latents.
    pub dead: f64,
    /// Peak resident memory of the process, evaluation included (bytes).
    pub peak_rss: f64,
}

/// [`LargeRun`] from a committed file of `benches/sae/`.
///
/// # Errors
/// A missing file or field.
pub fn large_run(name: &str) -> Result<LargeRun> {
    let v = committed_json(name)?;
    let num = |p: &str| {
        v.pointer(p)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| {
                Error::invalid(
                    "large run JSON",
                    p,
                    "the fields of dictlab sae train's JSON",
                )
            })
    };
    let features = num("/features")?;
    Ok(LargeRun {
        dim: num("/dim")?,
        features,
        k: num("/told/k_data")?,
        samples: num("/samples")?,
        mcc: num("/eval/recovery_score")?,
        found: num("/eval/recovery_rate")? * features,
        dead: num("/eval/dead_latents")?,
        peak_rss: num("/peak_rss_bytes")?,
    })
}

/// [`benchmark_table`] of a committed file of `benches/sae/`.
///
/// # Errors
/// As [`committed_json`] and [`benchmark_table`].
pub fn benchmark_file(name: &str) -> Result<polars::prelude::DataFrame> {
    benchmark_table(&committed_json(name)?)
}

/// Per learner and number of features: the number of seeds and, for each of `mcc`,
/// `recovery_rate`, `dead_latents` and `fvu`, the mean over seeds and the half-width of its 95 %
/// interval (Student t; NaN for one seed), from the frame of [`study_row`]s
/// ([`crate::table::frame_of_rows`]).
///
/// # Errors
/// A frame without the study's columns.
pub fn summary(df: &polars::prelude::DataFrame) -> Result<polars::prelude::DataFrame> {
    use crate::table::{column_nan, column_str, mean_ci95};
    let learner = column_str(df, "method")?;
    let features = column_nan(df, "p_method_features")?;
    let mut keys: Vec<(String, f64)> = Vec::new();
    for (l, f) in learner.iter().zip(&features) {
        if !keys.iter().any(|(a, b)| a == l && b.total_cmp(f).is_eq()) {
            keys.push((l.clone(), *f));
        }
    }
    let metrics = ["mcc", "recovery_rate", "dead_latents", "fvu"];
    let cols: Vec<Vec<f64>> = metrics
        .iter()
        .map(|m| column_nan(df, &format!("m_{m}")))
        .collect::<Result<_>>()?;
    let mut rows = Vec::new();
    for (l, f) in &keys {
        let at: Vec<usize> = (0..learner.len())
            .filter(|&i| &learner[i] == l && features[i].total_cmp(f).is_eq())
            .collect();
        let mut row = Row::new(l.as_str())
            .param("features", *f as usize)
            .param("seeds", at.len());
        for (m, c) in metrics.iter().zip(&cols) {
            let (mean, half) = mean_ci95(&at.iter().map(|&i| c[i]).collect::<Vec<_>>());
            row = row.metric(*m, mean).metric(format!("{m}_ci95"), half);
        }
        rows.push(row);
    }
    let out = crate::table::frame_of_rows(rows, 0)?;
    crate::table::select_as(
        &out,
        &[
            ("method", "learner"),
            ("p_method_features", "features"),
            ("p_method_seeds", "seeds"),
            ("m_mcc", "mcc"),
            ("m_mcc_ci95", "± (95 %)"),
            ("m_recovery_rate", "recovery_rate@0.99"),
            ("m_recovery_rate_ci95", "± (95 %) "),
            ("m_dead_latents", "dead latents"),
            ("m_fvu", "FVU"),
        ],
    )
}

/// The mean MCC against superposition (features / dim), one series per learner, from the frame
/// of [`study_row`]s.
///
/// # Errors
/// A frame without the study's columns.
pub fn mcc_series(df: &polars::prelude::DataFrame) -> Result<Vec<super::Series2>> {
    use crate::table::{column_nan, column_str};
    let learner = column_str(df, "method")?;
    let sup = column_nan(df, "p_method_superposition")?;
    let mcc = column_nan(df, "m_mcc")?;
    let mut out = Vec::new();
    for l in LEARNERS {
        let mut xs: Vec<f64> = (0..learner.len())
            .filter(|&i| learner[i] == l)
            .map(|i| sup[i])
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        if xs.is_empty() {
            continue;
        }
        let ys: Vec<f64> = xs
            .iter()
            .map(|x| {
                let v: Vec<f64> = (0..learner.len())
                    .filter(|&i| learner[i] == l && sup[i].total_cmp(x).is_eq())
                    .map(|i| mcc[i])
                    .collect();
                v.iter().sum::<f64>() / v.len() as f64
            })
            .collect();
        out.push(super::Series2::new(l, xs, ys));
    }
    Ok(out)
}

/// The same-run benchmark of `benches/sae/compare_*.json` as a table: per row, the tool, mode,
/// dtype, size, samples/s, dictlab's samples/s in the same dtype over the row's, and the peak
/// memory (MB).
///
/// # Errors
/// A file without the expected fields.
pub fn benchmark_table(v: &serde_json::Value) -> Result<polars::prelude::DataFrame> {
    let bad = |what: &str| Error::invalid("benchmark JSON", what, "the rows of compare.py's --out");
    let rows = v["rows"].as_array().ok_or_else(|| bad("no rows"))?;
    let num = |r: &serde_json::Value, k: &str| r[k].as_f64().ok_or_else(|| bad(k));
    let text =
        |r: &serde_json::Value, k: &str| r[k].as_str().map(str::to_string).ok_or_else(|| bad(k));
    let mut out = Vec::new();
    for r in rows {
        let (n, m, dtype) = (num(r, "n")?, num(r, "m")?, text(r, "dtype")?);
        let base = rows
            .iter()
            .find(|x| {
                x["tool"] == "dictlab"
                    && x["n"] == r["n"]
                    && x["m"] == r["m"]
                    && x["dtype"] == r["dtype"]
            })
            .ok_or_else(|| bad("no dictlab row of the same size and dtype"))?;
        let sps = num(r, "samples_per_second")?;
        out.push(
            Row::new(text(r, "tool")?)
                .param("size", format!("{n} × {m}"))
                .param("mode", text(r, "mode")?)
                .param("dtype", dtype)
                .param("k", num(r, "k")? as usize)
                .metric("samples_per_second", sps.round())
                .metric("ratio", num(base, "samples_per_second")? / sps)
                .metric("peak_mb", (num(r, "peak_rss_bytes")? / 1048576.0).round()),
        );
    }
    let df = crate::table::frame_of_rows(out, 0)?;
    crate::table::select_as(
        &df,
        &[
            ("method", "tool"),
            ("p_method_size", "dims × features"),
            ("p_method_k", "k"),
            ("p_method_mode", "mode"),
            ("p_method_dtype", "dtype"),
            ("m_samples_per_second", "samples/s"),
            ("m_ratio", "dictlab (same dtype) ÷ this"),
            ("m_peak_mb", "peak RSS (MB)"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_benchmark_table_divides_by_dictlab_of_the_same_dtype() {
        let v = serde_json::json!({"rows": [
            {"tool": "dictlab", "mode": "stream", "dtype": "float32", "n": 4, "m": 8, "k": 2,
             "samples_per_second": 300.0, "peak_rss_bytes": 2097152.0},
            {"tool": "dictlab", "mode": "stream", "dtype": "float64", "n": 4, "m": 8, "k": 2,
             "samples_per_second": 200.0, "peak_rss_bytes": 1048576.0},
            {"tool": "saelens", "mode": "pregen", "dtype": "float32", "n": 4, "m": 8, "k": 2,
             "samples_per_second": 120.0, "peak_rss_bytes": 1048576.0},
        ]});
        let t = benchmark_table(&v).unwrap();
        let ratio = crate::table::column_nan(&t, "dictlab (same dtype) ÷ this").unwrap();
        // 300 / 120 = 2.5 for the f32 SAELens row, not 200 / 120
        assert!((ratio[2] - 2.5).abs() < 1e-12 && (ratio[0] - 1.0).abs() < 1e-12);
        let mb = crate::table::column_nan(&t, "peak RSS (MB)").unwrap();
        assert!((mb[0] - 2.0).abs() < 1e-12);
        // a row without a dictlab partner of its dtype is an error, not a silent ratio
        let lone = serde_json::json!({"rows": [{"tool": "saelens", "mode": "pregen",
            "dtype": "float64", "n": 4, "m": 8, "k": 2, "samples_per_second": 1.0,
            "peak_rss_bytes": 1.0}]});
        assert!(benchmark_table(&lone).is_err());
    }

    #[test]
    fn the_summary_averages_over_seeds_with_a_t_interval() {
        let row = |l: &str, m: usize, mcc: f64| {
            Row::new(l)
                .param("features", m)
                .param("superposition", m as f64 / 4.0)
                .metric("mcc", mcc)
                .metric("recovery_rate", 0.0)
                .metric("dead_latents", 1.0)
                .metric("fvu", 0.5)
        };
        let df = crate::table::frame_of_rows(
            vec![
                row("topk", 8, 0.4),
                row("topk", 8, 0.6),
                row("online", 8, 0.9),
            ],
            0,
        )
        .unwrap();
        let s = summary(&df).unwrap();
        let mcc = crate::table::column_nan(&s, "mcc").unwrap();
        let half = crate::table::column_nan(&s, "± (95 %)").unwrap();
        // two values 0.4, 0.6: mean 0.5, sd √0.02, t(0.975, 1) = 12.706: half-width 12.706·0.1
        assert!((mcc[0] - 0.5).abs() < 1e-12);
        assert!((half[0] - 12.706 * 0.1).abs() < 1e-3, "{}", half[0]);
        assert!((mcc[1] - 0.9).abs() < 1e-12 && half[1].is_nan());
        let series = mcc_series(&df).unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].name, "topk");
        assert!((series[0].y[0] - 0.5).abs() < 1e-12 && (series[0].x[0] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn an_unknown_learner_is_refused_by_name() {
        let e = study_row(8, 16, "ksvd", 1, 10, 16, 1).unwrap_err();
        assert!(e.to_string().contains("topk"), "{e}");
    }
}
