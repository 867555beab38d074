//! The analysis of notebook 07 (Tolooshams & Ba, "Stable and interpretable unrolled dictionary
//! learning", TMLR 2022: experiments E1–E4), as named functions: the planted problem, the E1 runs
//! and their table, the E2 gradient-accuracy table, the E3 networks against NOODL and the E4
//! patch-denoising runs. The notebook keeps the prose, the charts and the claims.
//!
//! Letters: PUDLE writes x ∈ ℝ^m, D ∈ ℝ^{m×p}, s-sparse z; the crate writes n (signal), m (atoms),
//! k (sparsity).

use super::Series2;
use crate::error::{Error, Result};
use crate::generate::Values;
use crate::image;
use crate::instance::{Instance, InstanceSpec};
use crate::iter::{NoObserver, Schedule};
use crate::neural::optim::Optimizer;
use crate::neural::unrolled::grad_err_cos;
use crate::neural::unrolled::{DlProbe, Gradient, Threshold, Unrolled, UnrolledDl, init_near};
use crate::rng::{derive_seed, rng_from_seed};
use crate::table::{Row, column_f64, column_nan, column_str, filter_eq, fit_line, frame_of_rows};
use ndarray::{Array2, ArrayView2};
use polars::prelude::DataFrame;
use std::path::Path;

/// PUDLE's planted problem: D* = randn/√n with normalized columns, k-sparse codes whose magnitudes
/// are U[1, 2] with one random sign per sample (the authors' generator), no noise.
///
/// # Errors
/// As the generator.
pub fn instance(n: usize, m: usize, k: usize, n_samples: usize, seed: u64) -> Result<Instance> {
    InstanceSpec::new(n, m, n_samples)
        .sparsity(k)
        .values(Values::SharedSignUniform { a: 1.0, b: 2.0 })
        .sample(seed)
}

/// One E1 training run: depth `t`, the gradient's name, the recorded trace (`iter`, `fro_dist`,
/// `code_err`, …), the wall time, the steps taken, α·L at D₀ and the termination.
pub struct E1Run {
    /// Encoder depth T.
    pub t: usize,
    /// Gradient name (`g_dec`, `g_ae_lasso`, `g_ae_ls`).
    pub gradient: String,
    /// The trace, one row per recorded step.
    pub trace: DataFrame,
    /// Wall time of the training, seconds.
    pub seconds: f64,
    /// Steps taken.
    pub steps: usize,
    /// α·L at D₀.
    pub alpha_l: f64,
    /// Why training stopped.
    pub termination: String,
}

impl std::fmt::Display for E1Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "T = {:3}, {:10}: {} steps in {:.1} s ({:.1} steps/s), α·L = {:.2}, termination {}",
            self.t,
            self.gradient,
            self.steps,
            self.seconds,
            self.steps as f64 / self.seconds.max(1e-12),
            self.alpha_l,
            self.termination
        )
    }
}

/// E1: for each depth of `ts` and each of PUDLE's three gradients (g_dec, g_ae_lasso, g_ae_ls), the
/// unrolled network (α = 0.2, two-sided soft threshold λ = 0.2) trained from `d0` on `inst` by
/// full-batch Adam for `steps` steps, `fro_dist` and `code_err` recorded every `every` steps.
///
/// # Errors
/// The trainer's errors (α·L ≥ 2 at `d0` among them).
pub fn e1_runs(
    inst: &Instance,
    d0: ArrayView2<'_, f64>,
    ts: &[usize],
    steps: usize,
    every: usize,
    seed: u64,
) -> Result<Vec<E1Run>> {
    let mut out = Vec::new();
    for &t in ts {
        for g in [Gradient::Dec, Gradient::AE_LASSO, Gradient::AE_LS] {
            let dl = UnrolledDl::new(
                Unrolled::new(t, 0.2, Threshold::Soft { lambda: 0.2 }),
                g,
                steps,
            );
            let probe = DlProbe {
                truth: inst.dict.clone(),
                y: inst.y.clone(),
                codes: Some(inst.codes.clone()),
                grad_ref: None,
            };
            let mut trace = probe.trace();
            let (st, info) = dl.train(
                d0,
                inst.y.view(),
                None,
                seed,
                Schedule::Every(every),
                &mut trace,
            )?;
            out.push(E1Run {
                t,
                gradient: g.to_string(),
                trace: trace.to_frame()?,
                seconds: info.elapsed,
                steps: info.iters,
                alpha_l: st.alpha_l,
                termination: info.termination.to_string(),
            });
        }
    }
    Ok(out)
}

/// The last finite value of a column (NaN when none).
fn last_finite(v: &[Option<f64>]) -> f64 {
    v.iter().rev().flatten().next().copied().unwrap_or(f64::NAN)
}

/// The E1 table: one row per run (`method` = gradient, `p_method_T`), `m_fro_dist@s` at each
/// recorded step of `marks`, `m_fro_dist_min`, `m_fro_dist_final`, `m_code_err_final`,
/// `m_seconds`.
///
/// # Errors
/// A trace without the columns.
pub fn e1_table(runs: &[E1Run], marks: &[usize], seed: u64) -> Result<DataFrame> {
    let mut rows: Vec<Row> = Vec::new();
    for r in runs {
        let it = column_f64(&r.trace, "iter")?;
        let fd = column_f64(&r.trace, "fro_dist")?;
        let ce = column_f64(&r.trace, "code_err")?;
        let mut row = Row::new(r.gradient.as_str()).param("T", r.t as f64);
        for mk in marks {
            if let Some(i) = it.iter().position(|v| *v == Some(*mk as f64)) {
                row = row.metric(format!("fro_dist@{mk}"), fd[i].unwrap_or(f64::NAN));
            }
        }
        let min = fd.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        rows.push(
            row.metric("fro_dist_min", min)
                .metric("fro_dist_final", last_finite(&fd))
                .metric("code_err_final", last_finite(&ce))
                .metric("seconds", r.seconds),
        );
    }
    frame_of_rows(rows, seed)
}

/// The E1 table in the paper's shape: columns `T`, `gradient`, `fro_dist_final`.
///
/// # Errors
/// A table that is not an [`e1_table`].
pub fn e1_final(e1: &DataFrame) -> Result<DataFrame> {
    crate::table::select_as(
        e1,
        &[
            ("p_method_T", "T"),
            ("method", "gradient"),
            ("m_fro_dist_final", "fro_dist_final"),
        ],
    )
}

/// The gradients at depth `t` of a table with a depth column `tc`, a gradient column `gc` and a
/// value column `vc`, closest first (smallest value first; rows without a value left out).
///
/// # Errors
/// A table without the columns.
pub fn closest_at(
    df: &DataFrame,
    tc: &str,
    gc: &str,
    vc: &str,
    t: f64,
) -> Result<Vec<(String, f64)>> {
    let (ts, gs, vs) = (
        column_f64(df, tc)?,
        column_str(df, gc)?,
        column_f64(df, vc)?,
    );
    let mut r: Vec<(String, f64)> = (0..ts.len())
        .filter(|&i| ts[i] == Some(t))
        .filter_map(|i| Some((gs[i].clone(), vs[i]?)))
        .collect();
    r.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(r)
}

/// Whether the gradient closest to D* at each of `ts` is the same in columns `a` and `b` of a
/// paper-vs-ours table (columns `T`, `gradient`, `a`, `b`), and the winners of `b` as text
/// ("T = 25: g_ae_ls, …").
///
/// # Errors
/// A table without the columns.
pub fn same_winners(df: &DataFrame, a: &str, b: &str, ts: &[f64]) -> Result<(bool, String)> {
    let mut same = true;
    let mut text = Vec::new();
    for &t in ts {
        let wa = closest_at(df, "T", "gradient", a, t)?
            .first()
            .map(|w| w.0.clone());
        let wb = closest_at(df, "T", "gradient", b, t)?
            .first()
            .map(|w| w.0.clone());
        same &= wa.is_some() && wa == wb;
        text.push(format!("T = {t}: {}", wb.unwrap_or_else(|| "—".into())));
    }
    Ok((same, text.join(", ")))
}

/// Chart series of `metric` (`fro_dist` or `code_err`) against the step, one per E1 run.
///
/// # Errors
/// A trace without the columns.
pub fn e1_series(runs: &[E1Run], metric: &str) -> Result<Vec<Series2>> {
    runs.iter()
        .map(|r| {
            Ok(Series2::new(
                format!("{}, T = {}", r.gradient, r.t),
                column_nan(&r.trace, "iter")?,
                column_nan(&r.trace, metric)?,
            ))
        })
        .collect()
}

/// E2: on PUDLE's problem at n = 100, m = 150, k = 5, N = 1000 (seeded from `seed`), at
/// D₀ = D* + 0.02·N(0, 1) normalized, the error of each gradient (g_dec, g_ae_lasso, g_ae_ls,
/// g_implicit) of the T-layer network (α = λ = 0.2) against ĝ (the g_dec gradient of a 1000-layer
/// encoder) and g* = (D₀z* − x)z*ᵀ/N, and the distance of its codes to the 1000-layer codes. One
/// row per (gradient, T of `ts`): `p_method_T`, `m_err_to_g_hat`, `m_err_to_g_star`,
/// `m_zT_zhat_err`. Also returns ‖ĝ − g*‖_F.
///
/// # Errors
/// The solvers' errors.
pub fn e2_table(ts: &[usize], seed: u64) -> Result<(DataFrame, f64)> {
    e2_table_at(100, 150, 1000, ts, seed)
}

fn e2_table_at(
    n: usize,
    m: usize,
    n_samples: usize,
    ts: &[usize],
    seed: u64,
) -> Result<(DataFrame, f64)> {
    let inst = instance(n, m, 5, n_samples, seed.wrapping_add(2))?;
    let d0 = init_near(
        inst.dict.view(),
        0.02,
        &mut rng_from_seed(derive_seed(seed, "E2 init")),
    )?;
    let th = Threshold::Soft { lambda: 0.2 };
    let deep =
        Unrolled::new(1000, 0.2, th).gradient(d0.view(), inst.y.view(), None, Gradient::Dec)?;
    let (g_hat, z_hat) = (deep.grad, deep.codes);
    let r = d0.dot(&inst.codes) - &inst.y;
    let g_star = r.dot(&inst.codes.t()) / inst.y.ncols() as f64;
    let mut rows: Vec<Row> = Vec::new();
    for &t in ts {
        for g in [
            Gradient::Dec,
            Gradient::AE_LASSO,
            Gradient::AE_LS,
            Gradient::Implicit,
        ] {
            let ev = Unrolled::new(t, 0.2, th).gradient(d0.view(), inst.y.view(), None, g)?;
            rows.push(
                Row::new(g.to_string())
                    .param("T", t as f64)
                    .metric("err_to_g_hat", grad_err_cos(ev.grad.view(), g_hat.view()).0)
                    .metric(
                        "err_to_g_star",
                        grad_err_cos(ev.grad.view(), g_star.view()).0,
                    )
                    .metric(
                        "zT_zhat_err",
                        crate::metrics::code_err(z_hat.view(), ev.codes.view())?,
                    ),
            );
        }
    }
    let hat_star = grad_err_cos(g_hat.view(), g_star.view()).0;
    Ok((frame_of_rows(rows, seed)?, hat_star))
}

/// The E2 summary as text: per gradient, ‖g − ĝ‖_F at T ∈ {1, 26, 51, 100} (NaN where not run)
/// and the least-squares slope of log10 ‖g − ĝ‖_F per layer over T ≥ 10.
///
/// # Errors
/// A table that is not an [`e2_table`].
pub fn e2_summary(e2: &DataFrame) -> Result<String> {
    let mut text = format!(
        "{:>12} | {:>10} {:>10} {:>10} {:>10} | slope of log10‖g−ĝ‖ per layer (T ≥ 10)",
        "gradient", "T=1", "T=26", "T=51", "T=100"
    );
    for g in ["g_dec", "g_ae_lasso", "g_ae_ls", "g_implicit"] {
        let sub = filter_eq(e2, &[("method", g.into())])?;
        let tv = column_f64(&sub, "p_method_T")?;
        let ev = column_f64(&sub, "m_err_to_g_hat")?;
        text.push_str(&format!("\n{g:>12} |"));
        for t in [1.0, 26.0, 51.0, 100.0] {
            let v = tv
                .iter()
                .position(|x| *x == Some(t))
                .and_then(|i| ev[i])
                .unwrap_or(f64::NAN);
            text.push_str(&format!(" {v:>10.3e}"));
        }
        text.push_str(&format!(" | {:.4}", e2_slope(&tv, &ev)));
    }
    Ok(text)
}

/// Least-squares slope of log10 e against T over the points with T ≥ 10 and e > 0.
fn e2_slope(tv: &[Option<f64>], ev: &[Option<f64>]) -> f64 {
    let (x, y): (Vec<f64>, Vec<f64>) = tv
        .iter()
        .zip(ev)
        .filter_map(|(t, e)| Some(((*t)?, (*e)?)))
        .filter(|(t, e)| *t >= 10.0 && *e > 0.0)
        .map(|(t, e)| (t, e.log10()))
        .unzip();
    fit_line(&x, &y).map_or(f64::NAN, |l| l.0)
}

/// E3's sizes: PUDLE's (`full`) or the default scaled-down ones.
#[derive(Clone, Debug)]
pub struct E3Setup {
    /// Signal dimension.
    pub n: usize,
    /// Atoms.
    pub m: usize,
    /// Signals.
    pub n_samples: usize,
    /// Sparsities, one problem each.
    pub ks: Vec<usize>,
    /// Encoder depth.
    pub t: usize,
    /// Training steps (minibatches of 50).
    pub steps: usize,
}

impl E3Setup {
    /// PUDLE's size: n = 1000, m = 1500, N = 50 000, k ∈ {10, 20, 40}, T = 100, 1000 steps.
    pub fn paper() -> Self {
        E3Setup {
            n: 1000,
            m: 1500,
            n_samples: 50_000,
            ks: vec![10, 20, 40],
            t: 100,
            steps: 1000,
        }
    }

    /// The default: n = 100, m = 150, N = 5000, k ∈ {3, 6}, T = 50, 300 steps.
    pub fn small() -> Self {
        E3Setup {
            n: 100,
            m: 150,
            n_samples: 5000,
            ks: vec![3, 6],
            t: 50,
            steps: 300,
        }
    }
}

/// An E3 network: name, threshold, gradient, optimizer, and the β decay (step, every) if any.
type Net = (
    &'static str,
    Threshold,
    Gradient,
    Optimizer,
    Option<(f64, usize)>,
);

/// E3's charts: per sparsity, one series per network.
pub type E3Charts = Vec<(usize, Vec<Series2>)>;

/// One E3 run: sparsity, network name, trace (`iter`, `fro_dist_rel`, …) and a one-line summary.
pub struct E3Run {
    /// Sparsity of the problem.
    pub k: usize,
    /// Network name (`AE`, `AEdecay`, `AEhard`, `NOODL`, `NOODL lr=2`).
    pub name: String,
    /// The trace.
    pub trace: DataFrame,
    /// "k = 3, AE: 300 steps in 1.2 s, termination max_iters".
    pub summary: String,
}

/// E3: per sparsity of `setup`, PUDLE's problem and a start at per-entry std 0.005·√(1000/n)
/// (the per-column perturbation of the paper's size), then five networks with minibatches of 50:
/// AE (soft λ = 0.2, g_ae_ls), AEdecay (λ_t = λβᵗ, β lowered by 0.005 every 100 steps), AEhard
/// (τ = 0.1, g_ae_ls) — Adam lr 10⁻³, ε 10⁻³ — and NOODL (the AEhard encoder, the g_noodl update,
/// SGD lr 20), plus NOODL at lr 2 (ours). `fro_dist_rel` = ‖D* − D‖_F/√m is recorded about 30
/// times per run.
///
/// # Errors
/// The trainer's errors.
pub fn e3_runs(setup: &E3Setup, seed: u64) -> Result<Vec<E3Run>> {
    let init_std = 0.005 * (1000.0f64 / setup.n as f64).sqrt();
    let adam = Optimizer::Adam {
        lr: 1e-3,
        eps: 1e-3,
    };
    let hard = Threshold::Hard { tau: 0.1 };
    let mut out = Vec::new();
    for &k in &setup.ks {
        let inst = instance(
            setup.n,
            setup.m,
            k,
            setup.n_samples,
            derive_seed(seed, &format!("E3 k={k}")),
        )?;
        let d0 = init_near(
            inst.dict.view(),
            init_std,
            &mut rng_from_seed(derive_seed(seed, &format!("E3 init k={k}"))),
        )?;
        let nets: [Net; 5] = [
            (
                "AE",
                Threshold::Soft { lambda: 0.2 },
                Gradient::AE_LS,
                adam,
                None,
            ),
            (
                "AEdecay",
                Threshold::SoftDecay {
                    lambda: 0.2,
                    beta: 1.0,
                },
                Gradient::AE_LS,
                adam,
                Some((0.005, 100)),
            ),
            ("AEhard", hard, Gradient::AE_LS, adam, None),
            (
                "NOODL",
                hard,
                Gradient::Noodl,
                Optimizer::Sgd { lr: 20.0 },
                None,
            ),
            (
                "NOODL lr=2",
                hard,
                Gradient::Noodl,
                Optimizer::Sgd { lr: 2.0 },
                None,
            ),
        ];
        for (name, th, g, opt, decay) in nets {
            let mut dl = UnrolledDl::new(Unrolled::new(setup.t, 0.2, th), g, setup.steps);
            dl.optimizer = opt;
            dl.batch = Some(50.min(setup.n_samples));
            dl.beta_decay = decay;
            let probe = DlProbe {
                truth: inst.dict.clone(),
                y: inst.y.clone(),
                codes: None,
                grad_ref: None,
            };
            let mut trace = probe.trace();
            let every = (setup.steps / 30).max(1);
            let (_, info) = dl.train(
                d0.view(),
                inst.y.view(),
                None,
                seed,
                Schedule::Every(every),
                &mut trace,
            )?;
            out.push(E3Run {
                k,
                name: name.to_string(),
                trace: trace.to_frame()?,
                summary: format!(
                    "k = {k}, {name:8}: {} steps in {:.1} s, termination {}",
                    info.iters, info.elapsed, info.termination
                ),
            });
        }
    }
    Ok(out)
}

/// The E3 runs as (sparsity, chart series of `fro_dist_rel` per network) and a text table of
/// `fro_dist_rel` at 0, 10 %, 20 %, 50 % and 100 % of the recorded steps.
///
/// # Errors
/// A trace without the columns.
pub fn e3_summary(runs: &[E3Run]) -> Result<(E3Charts, String)> {
    let mut text = String::from("E3: fro_dist_rel at steps (0, 10 %, 20 %, 50 %, last)\n");
    let mut charts: E3Charts = Vec::new();
    for r in runs {
        let x = column_nan(&r.trace, "iter")?;
        let y = column_nan(&r.trace, "fro_dist_rel")?;
        if y.is_empty() {
            return Err(Error::invalid(
                "steps",
                0,
                format!("a schedule that records at least one step (run {})", r.name),
            ));
        }
        let pick = |f: f64| y[((y.len() - 1) as f64 * f).round() as usize];
        text.push_str(&format!(
            "k = {:2} {:8}: {:.4} {:.4} {:.4} {:.4} {:.4}\n",
            r.k,
            r.name,
            pick(0.0),
            pick(0.1),
            pick(0.2),
            pick(0.5),
            pick(1.0)
        ));
        match charts.last_mut() {
            Some((k, s)) if *k == r.k => s.push(Series2::new(r.name.clone(), x, y)),
            _ => charts.push((r.k, vec![Series2::new(r.name.clone(), x, y)])),
        }
    }
    Ok((charts, text))
}

/// (sparsity, network, first, last) `fro_dist_rel` of each E3 run.
///
/// # Errors
/// A trace without the column.
pub fn e3_ends(runs: &[E3Run]) -> Result<Vec<(usize, String, f64, f64)>> {
    runs.iter()
        .map(|r| {
            let v = column_nan(&r.trace, "fro_dist_rel")?;
            Ok((
                r.k,
                r.name.clone(),
                v.first().copied().unwrap_or(f64::NAN),
                v.last().copied().unwrap_or(f64::NAN),
            ))
        })
        .collect()
}

/// E4's sizes and grids (the patch-based analogue of PUDLE-E4).
#[derive(Clone, Debug)]
pub struct E4Setup {
    /// Training steps (minibatches of 256 patch pairs).
    pub steps: usize,
    /// Stride of the overlapping test patches.
    pub stride: usize,
    /// Training patch pairs drawn.
    pub n_pairs: usize,
    /// Soft-threshold levels λ (each with g_dec and g_ae_ls).
    pub lambdas: Vec<f64>,
    /// Hard-threshold levels τ (g_ae_ls).
    pub taus: Vec<f64>,
}

impl E4Setup {
    /// The notebook's grids: λ ∈ {0.08, …, 0.24}, τ ∈ {0.02, 0.05, 0.08, 0.1}, 20 000 pairs;
    /// 3000 steps at stride 1 (`full`) or 300 at stride 4.
    pub fn new(full: bool) -> Self {
        E4Setup {
            steps: if full { 3000 } else { 300 },
            stride: if full { 1 } else { 4 },
            n_pairs: 20_000,
            lambdas: vec![0.08, 0.12, 0.16, 0.20, 0.24],
            taus: vec![0.02, 0.05, 0.08, 0.1],
        }
    }
}

/// E4's results: one row per run (`method` = gradient, `p_method_threshold` soft/hard,
/// `p_method_lambda` the level, `m_psnr`, `m_psnr_gain`, `m_train_seconds`, termination), the
/// mean PSNR of the noisy test images, and the dictionaries learned at λ = `keep` (soft).
pub struct E4Out {
    /// The table.
    pub table: DataFrame,
    /// Mean PSNR of the noisy (clamped) test images, dB.
    pub input_psnr: f64,
    /// (gradient, learned dictionary) at the soft level `keep`.
    pub learned: Vec<(String, Array2<f64>)>,
    /// Training patch pairs.
    pub n_pairs: usize,
}

/// E4 on the images of `dir` (`train_*.pgm`, `test_*.pgm`) at σ = 25/255: 8 × 8 patches centred
/// by the noisy patch's mean, m = 128 Gaussian atoms, T = 15, α = 0.1, supervised training (noisy
/// in, clean target) by Adam lr 10⁻³ on minibatches of 256, overlapping-patch denoising of the
/// test images, PSNR by PUDLE's definition averaged over them.
///
/// # Errors
/// Missing or unreadable images; the trainer's errors.
pub fn e4_runs(dir: &Path, setup: &E4Setup, keep: f64, seed: u64) -> Result<E4Out> {
    let train: Vec<Array2<f64>> = image::read_pgm_dir(dir, "train_")?
        .into_iter()
        .map(|x| x.1)
        .collect();
    let test = image::read_pgm_dir(dir, "test_")?;
    if train.is_empty() || test.is_empty() {
        return Err(Error::Format {
            path: dir.to_path_buf(),
            expected: "a directory with train_*.pgm and test_*.pgm images".into(),
            detail: format!("{} training and {} test images", train.len(), test.len()),
        });
    }
    let sigma = 25.0 / 255.0;
    let p = 8usize;
    let mut rng = rng_from_seed(derive_seed(seed, "E4 noise"));
    let noisy_train: Vec<Array2<f64>> = train
        .iter()
        .map(|im| image::add_noise(im.view(), sigma, &mut rng))
        .collect();
    let noisy_test: Vec<Array2<f64>> = test
        .iter()
        .map(|(_, im)| image::add_noise(im.view(), sigma, &mut rng))
        .collect();
    let (xn, xc) = image::random_patch_pairs(
        &noisy_train,
        &train,
        p,
        setup.n_pairs,
        &mut rng_from_seed(derive_seed(seed, "E4 patches")),
    )?;
    // centre both by the noisy patch's mean (the only mean known at test time)
    let (xn_c, means) = image::remove_mean(xn.view());
    let mut xc_c = xc;
    for (mut col, &mu) in xc_c.columns_mut().into_iter().zip(means.iter()) {
        col -= mu;
    }
    let d0 = crate::generate::dictionary::gaussian_dictionary(
        p * p,
        128,
        &mut rng_from_seed(derive_seed(seed, "E4 init")),
    )?;
    let mut input = 0.0;
    for ((_, c), nz) in test.iter().zip(&noisy_test) {
        input += crate::metrics::psnr_pudle(c.view(), nz.mapv(|v| v.clamp(0.0, 1.0)).view())?;
    }
    let input_psnr = input / test.len() as f64;
    let mut runs: Vec<(&str, f64, Threshold, Gradient)> = Vec::new();
    for &lam in &setup.lambdas {
        for g in [Gradient::Dec, Gradient::AE_LS] {
            runs.push(("soft", lam, Threshold::Soft { lambda: lam }, g));
        }
    }
    for &tau in &setup.taus {
        runs.push(("hard", tau, Threshold::Hard { tau }, Gradient::AE_LS));
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut learned = Vec::new();
    for (kind, level, th, g) in runs {
        let model = Unrolled::new(15, 0.1, th);
        let mut dl = UnrolledDl::new(model.clone(), g, setup.steps);
        dl.batch = Some(256.min(xn_c.ncols()));
        let (st, info) = dl.train(
            d0.view(),
            xn_c.view(),
            Some(xc_c.view()),
            seed,
            Schedule::Never,
            &mut NoObserver,
        )?;
        let mut sum = 0.0;
        for ((_, clean), nz) in test.iter().zip(&noisy_test) {
            let den = image::denoise_patches(nz.view(), p, setup.stride, |c| {
                Ok(st.dict.dot(&model.encode(st.dict.view(), c)?))
            })?;
            sum += crate::metrics::psnr_pudle(clean.view(), den.view())?;
        }
        let mean = sum / test.len() as f64;
        let mut row = Row::new(g.to_string())
            .param("threshold", kind)
            .param("lambda", level);
        row.termination = info.termination.to_string();
        rows.push(
            row.metric("psnr", mean)
                .metric("psnr_gain", mean - input_psnr)
                .metric("train_seconds", info.elapsed),
        );
        if (level - keep).abs() < 1e-12 && kind == "soft" {
            learned.push((g.to_string(), st.dict));
        }
    }
    Ok(E4Out {
        table: frame_of_rows(rows, seed)?,
        input_psnr,
        learned,
        n_pairs: xn.ncols(),
    })
}

/// The soft-threshold level with the best PSNR for gradient `g` in a table with columns `gc`
/// (gradient), `lc` (level) and `pc` (PSNR): (level, PSNR).
///
/// # Errors
/// A table without the columns or without a row for `g`.
pub fn best_level(df: &DataFrame, gc: &str, g: &str, lc: &str, pc: &str) -> Result<(f64, f64)> {
    let sub = filter_eq(df, &[(gc, g.into())])?;
    let (l, p) = (column_nan(&sub, lc)?, column_nan(&sub, pc)?);
    l.into_iter()
        .zip(p)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .ok_or_else(|| Error::invalid("gradient", g, "a gradient that has rows in the table"))
}

/// D₀ for E1: D* + 0.1·N(0, 1), columns normalized (PUDLE's start).
///
/// # Errors
/// As [`init_near`].
pub fn e1_start(inst: &Instance, seed: u64) -> Result<Array2<f64>> {
    init_near(
        inst.dict.view(),
        0.1,
        &mut rng_from_seed(derive_seed(seed, "E1 init")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two E1 runs at a tiny size: the table has one row per run, the final distance is the last
    /// trace value, and the start's distance is where every gradient begins.
    #[test]
    fn e1_runs_and_their_table() {
        let inst = instance(10, 16, 2, 60, 1).unwrap();
        let d0 = e1_start(&inst, 1).unwrap();
        let runs = e1_runs(&inst, d0.view(), &[3], 4, 2, 1).unwrap();
        assert_eq!(runs.len(), 3);
        assert!(runs[0].to_string().starts_with("T =   3, g_dec"));
        let t = e1_table(&runs, &[0, 4], 1).unwrap();
        assert_eq!(t.height(), 3);
        let start = column_nan(&t, "m_fro_dist@0").unwrap();
        let d = &inst.dict - &d0;
        let fro = d.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(
            start.iter().all(|s| (s - fro).abs() < 1e-9),
            "{start:?} vs {fro}"
        );
        let fin = column_nan(&t, "m_fro_dist_final").unwrap();
        let last = *column_nan(&runs[2].trace, "fro_dist")
            .unwrap()
            .last()
            .unwrap();
        assert_eq!(fin[2].to_bits(), last.to_bits());
        let f = e1_final(&t).unwrap();
        assert_eq!(
            f.get_column_names()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            ["T", "gradient", "fro_dist_final"]
        );
        assert_eq!(e1_series(&runs, "fro_dist").unwrap().len(), 3);
    }

    /// Winners per depth, by hand: at T = 25 "b" is smallest in both columns, at T = 50 the
    /// columns disagree.
    #[test]
    fn closest_and_same_winners_by_hand() {
        let df = polars::df!(
            "T" => [25.0, 25.0, 50.0, 50.0],
            "gradient" => ["a", "b", "a", "b"],
            "paper" => [2.0, 1.0, 1.0, 2.0],
            "ours" => [3.0, 0.5, 4.0, 3.0]
        )
        .unwrap();
        let c = closest_at(&df, "T", "gradient", "ours", 25.0).unwrap();
        assert_eq!(c, vec![("b".to_string(), 0.5), ("a".to_string(), 3.0)]);
        let (same, text) = same_winners(&df, "paper", "ours", &[25.0]).unwrap();
        assert!(same);
        assert_eq!(text, "T = 25: b");
        let (same, text) = same_winners(&df, "paper", "ours", &[25.0, 50.0]).unwrap();
        assert!(!same);
        assert_eq!(text, "T = 25: b, T = 50: b");
    }

    /// E2 at a small size: g_dec of a deep network approaches ĝ (by construction it is ĝ's own
    /// recursion), and the slope of a geometric error sequence is its log ratio.
    #[test]
    fn e2_small_and_the_slope() {
        let (e2, hs) = e2_table_at(20, 30, 100, &[1, 200], 3).unwrap();
        assert_eq!(e2.height(), 8);
        assert!(hs.is_finite() && hs > 0.0);
        let dec = filter_eq(&e2, &[("method", "g_dec".into())]).unwrap();
        let err = column_nan(&dec, "m_err_to_g_hat").unwrap();
        assert!(err[1] < 0.1 * err[0], "{err:?}");
        let tv: Vec<Option<f64>> = (10..20).map(|t| Some(t as f64)).collect();
        let ev: Vec<Option<f64>> = (10..20).map(|t| Some(0.5f64.powi(t))).collect();
        assert!((e2_slope(&tv, &ev) - 0.5f64.log10()).abs() < 1e-12);
        let text = e2_summary(&e2).unwrap();
        assert_eq!(text.lines().count(), 5);
    }

    /// E3 at a tiny size: five runs per sparsity, summaries and chart groups by sparsity.
    #[test]
    fn e3_tiny() {
        let setup = E3Setup {
            n: 12,
            m: 16,
            n_samples: 80,
            ks: vec![2],
            t: 5,
            steps: 6,
        };
        let runs = e3_runs(&setup, 2).unwrap();
        assert_eq!(runs.len(), 5);
        let (charts, text) = e3_summary(&runs).unwrap();
        assert_eq!(charts.len(), 1);
        assert_eq!(charts[0].1.len(), 5);
        assert_eq!(text.lines().count(), 6);
        let ends = e3_ends(&runs).unwrap();
        assert!(ends.iter().all(|e| e.2.is_finite()));
    }

    /// E4 on the committed images at a tiny budget: one soft level (two gradients) and one hard
    /// level give three rows, the kept dictionaries, and a positive input PSNR; the best level is
    /// read back by hand from a two-row table.
    #[test]
    fn e4_tiny_and_best_level() {
        let setup = E4Setup {
            steps: 2,
            stride: 8,
            n_pairs: 300,
            lambdas: vec![0.12],
            taus: vec![0.05],
        };
        let dir = crate::io::project_path("data/images");
        let out = e4_runs(&dir, &setup, 0.12, 4).unwrap();
        assert_eq!(out.table.height(), 3);
        assert_eq!(out.learned.len(), 2);
        assert!(
            out.input_psnr > 10.0 && out.input_psnr < 40.0,
            "{}",
            out.input_psnr
        );
        let df =
            polars::df!("g" => ["x", "x", "y"], "l" => [0.1, 0.2, 0.3], "p" => [20.0, 21.0, 30.0])
                .unwrap();
        assert_eq!(best_level(&df, "g", "x", "l", "p").unwrap(), (0.2, 21.0));
        assert!(best_level(&df, "g", "z", "l", "p").is_err());
        let missing = e4_runs(Path::new("/nonexistent-dir"), &setup, 0.12, 4);
        assert!(missing.is_err());
    }
}
