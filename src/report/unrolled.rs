//! The analysis of notebook 08 (unrolled ISTA against alternating minimization; Malézieux, Moreau,
//! Kowalski, ICLR 2022, and the gradient estimators of PUDLE), as named functions: the planted
//! problem and start of their setup, one item of the recovery-against-depth sweep (MMK-E3), and the
//! gradient-error table (MMK-E2).

use crate::code::SparseCoder;
use crate::error::Result;
use crate::generate::{Noise, Support, Values};
use crate::instance::{Instance, InstanceSpec};
use crate::iter::{NoObserver, Schedule};
use crate::neural::lista::{ListaKind, ListaNet, ListaTrainer};
use crate::neural::unrolled::{
    Backtracking, Gradient, Threshold, Unrolled, UnrolledDl, grad_err_cos, init_near,
    lasso_gradient,
};
use crate::rng::{derive_seed, rng_from_seed};
use crate::table::{Point, Row, column_f64, filter_eq, frame_of_rows};
use ndarray::{Array2, ArrayView2};
use polars::prelude::DataFrame;

/// The setup's planted problem drawn at `seed`: n = 30, m = 50, `n_samples` signals,
/// Bernoulli(0.3)–Gaussian codes, noise σ = 0.1; the start D₀ = A + N(0, σ_D²) with σ_D = ½ · the
/// standard deviation of A's entries, normalized (seeded from `seed`); and the ISTA step 1/L,
/// L = ‖AᵀA‖₂ by 50 power iterations (as the setup's code: an estimate from below, 0.4 % low on
/// problem 0, so the step is that much above 1/‖AᵀA‖₂).
///
/// # Errors
/// As the generator.
pub fn mmk_problem(seed: u64, n_samples: usize) -> Result<(Instance, Array2<f64>, f64)> {
    let inst = InstanceSpec::new(30, 50, n_samples)
        .support(Support::Bernoulli { theta: 0.3 })
        .values(Values::Gaussian)
        .noise(Noise::Sigma { sigma: 0.1 })
        .sample(seed)?;
    let a = &inst.dict;
    let mean = a.mean().unwrap_or(0.0);
    let std = a.mapv(|v| (v - mean).powi(2)).mean().unwrap_or(0.0).sqrt();
    let d0 = init_near(
        a.view(),
        0.5 * std,
        &mut rng_from_seed(derive_seed(seed, "D0")),
    )?;
    let g = a.t().dot(a);
    let step = 1.0 / crate::code::lipschitz_from_gram(g.view(), 50);
    Ok((inst, d0, step))
}

/// The seed of problem `i` of the recovery-against-depth sweep.
pub fn mmk_seed(i: usize) -> u64 {
    derive_seed(2022, &format!("MMK problem {i}"))
}

/// One item of MMK-E3 (axes `n_unrolled` = T, `problem` = i): on problem i ([`mmk_problem`] at
/// [`mmk_seed`], N = 1000), unrolled ISTA with T soft-threshold layers at λ = 0.1 trained from D₀ by
/// three gradients — AM (g1, the decoder's), DDL (g2, through all layers), DDL through the last 20
/// layers — with a backtracking line search, at most `max_steps` steps, relative tolerance 1e-6.
/// One row per gradient with `recovery_score`, `loss`, `seconds`, `steps` and the termination.
///
/// # Errors
/// A point without the axes; the trainer's errors.
pub fn e3_item(point: &Point, seed: u64, max_steps: usize) -> Result<Vec<Row>> {
    let t = point.usize("n_unrolled")?;
    let (inst, d0, step) = mmk_problem(mmk_seed(point.usize("problem")?), 1000)?;
    let mut rows = Vec::new();
    for (name, g) in [
        ("AM (g1)", Gradient::Dec),
        ("DDL (g2)", Gradient::AE_LASSO),
        (
            "DDL depth 20",
            Gradient::AeLasso {
                depth: Some(20.min(t)),
            },
        ),
    ] {
        let mut dl = UnrolledDl::new(
            Unrolled::new(t, step, Threshold::Soft { lambda: 0.1 }),
            g,
            max_steps,
        );
        dl.line_search = Some(Backtracking::default());
        dl.rel_tol = Some(1e-6);
        let (s, info) = dl.train(
            d0.view(),
            inst.y.view(),
            None,
            seed,
            Schedule::Never,
            &mut NoObserver,
        )?;
        let rs =
            crate::metrics::dictionary_recovery(inst.dict.view(), s.dict.view())?.recovery_score();
        let mut row = Row::new(name);
        row.termination = info.termination.to_string();
        rows.push(
            row.metric("recovery_score", rs)
                .metric("loss", s.loss)
                .metric("seconds", info.elapsed)
                .metric("steps", info.iters as f64),
        );
    }
    Ok(rows)
}

/// MMK-E2: at D₀, the error of each gradient estimator of the unrolled network against the true
/// gradient g* of the Lasso-composed loss (at its exact minimizer), for every depth t of `ts`:
/// g1 (depth 0), g2 (all layers), g3 (implicit), and g2 through the last 20 / 50 layers where t
/// exceeds them. One row per (estimator, t): `method`, `p_method_t`, `m_grad_err` (‖g − g*‖_F),
/// `m_grad_cos` (cos(g, g*)), `m_e_t` (mean ‖z_t − ẑ‖ of the codes).
///
/// # Errors
/// The solvers' errors.
pub fn gradient_errors(
    d0: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    lambda: f64,
    step: f64,
    ts: &[usize],
    seed: u64,
) -> Result<DataFrame> {
    let (g_star, z_star) = lasso_gradient(d0, y, lambda)?;
    let mut rows: Vec<Row> = Vec::new();
    for &t in ts {
        let model = Unrolled::new(t, step, Threshold::Soft { lambda });
        let mut grads = vec![
            ("g1 (depth 0)", Gradient::Dec),
            ("g2 (all layers)", Gradient::AE_LASSO),
            ("g3 (implicit)", Gradient::Implicit),
        ];
        for depth in [20, 50] {
            if t > depth {
                grads.push((
                    if depth == 20 {
                        "g2 depth 20"
                    } else {
                        "g2 depth 50"
                    },
                    Gradient::AeLasso { depth: Some(depth) },
                ));
            }
        }
        for (name, g) in grads {
            let ev = model.gradient(d0, y, None, g)?;
            let (e, c) = grad_err_cos(ev.grad.view(), g_star.view());
            rows.push(
                Row::new(name)
                    .param("t", t as f64)
                    .metric("grad_err", e)
                    .metric("grad_cos", c)
                    .metric(
                        "e_t",
                        crate::metrics::code_err(z_star.view(), ev.codes.view())?,
                    ),
            );
        }
    }
    frame_of_rows(rows, seed)
}

/// The value of column `c` for estimator `method` at depth `t` of a [`gradient_errors`] table
/// (NaN where that depth was not run).
///
/// # Errors
/// A table without the columns.
pub fn at(e2: &DataFrame, method: &str, t: f64, c: &str) -> Result<f64> {
    let sub = filter_eq(e2, &[("method", method.into())])?;
    let (tv, v) = (column_f64(&sub, "p_method_t")?, column_f64(&sub, c)?);
    Ok(tv
        .iter()
        .position(|x| *x == Some(t))
        .and_then(|i| v[i])
        .unwrap_or(f64::NAN))
}

/// SLISTA-E1's simulated data (Ablin et al. 2019, §5): `count` signals x = D z with Gaussian z,
/// each divided by ‖Dᵀx‖_∞ (so λ_max = 1 and λ is a fraction of it).
pub fn slista_signals(
    d: ArrayView2<'_, f64>,
    count: usize,
    rng: &mut crate::rng::Rng64,
) -> Array2<f64> {
    let z = crate::generate::gaussian_matrix(d.ncols(), count, rng);
    let mut x = d.dot(&z);
    let c = d.t().dot(&x);
    for (j, mut col) in x.columns_mut().into_iter().enumerate() {
        let s = c.column(j).iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if s > 0.0 {
            col /= s;
        }
    }
    x
}

/// The settings of SLISTA-E1: dictionary n × m, training and test signals, Adam steps of the
/// trained networks, depths T.
#[derive(Clone, Debug)]
pub struct SlistaSetup {
    /// Signal dimension n.
    pub n: usize,
    /// Atoms m.
    pub m: usize,
    /// Training signals.
    pub n_train: usize,
    /// Test signals.
    pub n_test: usize,
    /// Adam steps (ISTA is not trained).
    pub steps: usize,
    /// Depths T.
    pub depths: Vec<usize>,
}

/// SLISTA-E1 (Ablin, Moreau, Massias, Gramfort 2019, Fig. 3): a Gaussian n × m dictionary, the
/// simulated signals of [`slista_signals`]; for λ ∈ {0.1, 0.8} · λ_max and every depth T, ISTA
/// (T iterations, untrained) and SLISTA, ALISTA and LISTA networks of T layers trained by Adam
/// (batches of 256, lr 10⁻³); the test objective gap F(z_T) − F* (F* by FISTA to 10⁻¹²). One row per
/// (network, λ, T) with `f_minus_f_star` (floored at 1e-16) and `train_seconds`; and the deepest
/// LISTA network at λ = 0.1 (for SLISTA-E2's weights).
///
/// # Errors
/// The solvers' and trainers' errors.
pub fn slista_e1(setup: &SlistaSetup, seed: u64) -> Result<(DataFrame, Option<ListaNet>)> {
    let mut rng = rng_from_seed(derive_seed(seed, "SLISTA data"));
    let d = crate::generate::dictionary::gaussian_dictionary(setup.n, setup.m, &mut rng)?;
    let train = slista_signals(d.view(), setup.n_train, &mut rng);
    let test = slista_signals(d.view(), setup.n_test, &mut rng);
    let n_test = setup.n_test.max(1) as f64;
    let mut rows: Vec<Row> = Vec::new();
    let mut deep: Option<ListaNet> = None;
    for (fi, frac) in [0.1, 0.8].into_iter().enumerate() {
        let z_star = crate::code::Pgm::fista(frac)
            .tol(1e-12)
            .max_iters(100_000)
            .encode(d.view(), test.view())?
            .codes;
        let r = &test - &d.dot(&z_star);
        let f_star = 0.5 * r.iter().map(|v| v * v).sum::<f64>() / n_test
            + frac * z_star.iter().map(|v| v.abs()).sum::<f64>() / n_test;
        for &t in &setup.depths {
            for kind in [
                ListaKind::Ista,
                ListaKind::Slista,
                ListaKind::Alista,
                ListaKind::Lista,
            ] {
                let net = ListaNet::new(kind, d.view(), frac, t)?;
                let tr = ListaTrainer {
                    steps: if kind == ListaKind::Ista {
                        0
                    } else {
                        setup.steps
                    },
                    batch: 256,
                    lr: 1e-3,
                };
                let (st, info) = tr.train(
                    net,
                    train.view(),
                    derive_seed(seed, &format!("{kind} {t} {frac}")),
                    Schedule::Never,
                    &mut NoObserver,
                )?;
                let f = *st
                    .net
                    .layer_objectives(test.view())?
                    .last()
                    .unwrap_or(&f64::NAN);
                let mut row = Row::new(kind.to_string())
                    .param("lambda_frac", format!("{frac}"))
                    .param("T", t as f64);
                row.termination = info.termination.to_string();
                rows.push(
                    row.metric("f_minus_f_star", (f - f_star).max(1e-16))
                        .metric("train_seconds", info.elapsed),
                );
                if kind == ListaKind::Lista && fi == 0 && Some(&t) == setup.depths.last() {
                    deep = Some(st.net.clone());
                }
            }
        }
    }
    Ok((frame_of_rows(rows, seed)?, deep))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problem: 30 × 50 unit atoms, D₀ unit-norm and away from A, 1/L with L the largest
    /// eigenvalue of AᵀA.
    #[test]
    fn the_mmk_problem_and_its_step() {
        let (inst, d0, step) = mmk_problem(mmk_seed(0), 200).unwrap();
        assert_eq!(
            (inst.dict.dim(), inst.y.dim(), d0.dim()),
            ((30, 50), (30, 200), (30, 50))
        );
        assert!(
            d0.columns()
                .into_iter()
                .all(|c| (c.dot(&c).sqrt() - 1.0).abs() < 1e-10)
        );
        let score = crate::metrics::dictionary_recovery(inst.dict.view(), d0.view())
            .unwrap()
            .recovery_score();
        assert!(score > 0.5 && score < 0.99, "{score}");
        let g = inst.dict.t().dot(&inst.dict);
        let top = crate::linalg::eigvalsh(g.view())
            .unwrap()
            .into_iter()
            .fold(0.0f64, f64::max);
        // 50 power iterations approach L from below (within 1 % here)
        let l = 1.0 / step;
        assert!(l <= top * (1.0 + 1e-12) && l >= 0.99 * top, "{l} vs {top}");
    }

    /// The gradient table: estimators truncated at depth 20 / 50 appear only past those depths,
    /// g1's error falls as the codes converge, and [`at`] reads a cell (NaN where absent).
    #[test]
    fn gradient_errors_by_depth() {
        let (inst, d0, step) = mmk_problem(mmk_seed(1), 200).unwrap();
        let e2 = gradient_errors(d0.view(), inst.y.view(), 0.1, step, &[1, 30, 300], 0).unwrap();
        assert_eq!(e2.height(), 3 + 4 + 5);
        assert!(at(&e2, "g2 depth 20", 1.0, "m_grad_err").unwrap().is_nan());
        assert!(
            at(&e2, "g2 depth 20", 30.0, "m_grad_err")
                .unwrap()
                .is_finite()
        );
        assert!(at(&e2, "g2 depth 50", 30.0, "m_grad_err").unwrap().is_nan());
        let (g1_1, g1_300) = (
            at(&e2, "g1 (depth 0)", 1.0, "m_grad_err").unwrap(),
            at(&e2, "g1 (depth 0)", 300.0, "m_grad_err").unwrap(),
        );
        assert!(g1_300 < 0.5 * g1_1, "{g1_1} → {g1_300}");
        let cos = at(&e2, "g1 (depth 0)", 300.0, "m_grad_cos").unwrap();
        assert!(cos > 0.9 && cos <= 1.0 + 1e-12, "{cos}");
    }

    /// One sweep item: three rows, one per gradient, with finite metrics.
    #[test]
    fn an_e3_item_trains_three_gradients() {
        let p = Point(vec![
            ("n_unrolled".into(), crate::table::Value::from(5i64)),
            ("problem".into(), crate::table::Value::from(0i64)),
        ]);
        let rows = e3_item(&p, 1, 3).unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.method.as_str()).collect();
        assert_eq!(names, ["AM (g1)", "DDL (g2)", "DDL depth 20"]);
        assert!(
            rows.iter()
                .all(|r| r.metrics.iter().all(|m| m.1.is_finite()))
        );
    }

    /// The simulated signals have ‖Dᵀx‖_∞ = 1; a tiny SLISTA-E1 run gives one row per (network,
    /// λ, T), the untrained ISTA with no training time to speak of, and the deepest LISTA.
    #[test]
    fn slista_signals_and_a_small_e1() {
        let mut rng = rng_from_seed(3);
        let d = crate::generate::dictionary::gaussian_dictionary(8, 16, &mut rng).unwrap();
        let x = slista_signals(d.view(), 5, &mut rng);
        let c = d.t().dot(&x);
        for j in 0..5 {
            let s = c.column(j).iter().fold(0.0f64, |a, v| a.max(v.abs()));
            assert!((s - 1.0).abs() < 1e-12, "{s}");
        }
        let setup = SlistaSetup {
            n: 8,
            m: 16,
            n_train: 300,
            n_test: 50,
            steps: 5,
            depths: vec![1, 3],
        };
        let (df, deep) = slista_e1(&setup, 1).unwrap();
        assert_eq!(df.height(), 2 * 2 * 4);
        assert!(deep.is_some());
        let gaps = crate::table::column_nan(&df, "m_f_minus_f_star").unwrap();
        assert!(gaps.iter().all(|g| *g >= 1e-16 && g.is_finite()));
    }
}
