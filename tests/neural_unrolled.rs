//! Unrolled ISTA dictionary learning (PUDLE, Malézieux et al., Ablin et al.): every gradient
//! against finite differences or a hand-computed case, the limits in T, the implicit estimator at
//! the Lasso solution, checkpointed = stored reverse pass, training from a near init, bad input.

use dictlab::generate::{Values, normalize_columns};
use dictlab::instance::InstanceSpec;
use dictlab::iter::{NoObserver, Schedule, Termination};
use dictlab::neural::optim::Optimizer;
use dictlab::neural::unrolled::{
    DlProbe, Gradient, Memory, Threshold, Unrolled, UnrolledDl, grad_err_cos, init_near,
    lasso_gradient,
};
use dictlab::rng::rng_from_seed;
use ndarray::{Array2, array};
mod common;
use common::gaussian;

fn unit_dict(n: usize, m: usize, seed: u64) -> Array2<f64> {
    let mut d = gaussian(n, m, seed);
    normalize_columns(&mut d).unwrap();
    d
}

fn rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let e = (a - b).iter().map(|v| v * v).sum::<f64>().sqrt();
    e / b.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300)
}

/// Central differences of `f` at `d`.
fn fd(d: &Array2<f64>, f: impl Fn(&Array2<f64>) -> f64) -> Array2<f64> {
    let h = 1e-6;
    Array2::from_shape_fn(d.dim(), |(i, j)| {
        let (mut p, mut m) = (d.clone(), d.clone());
        p[(i, j)] += h;
        m[(i, j)] -= h;
        (f(&p) - f(&m)) / (2.0 * h)
    })
}

#[test]
fn backprop_gradients_match_finite_differences() {
    let (n, m, nn) = (6, 9, 12);
    let d = unit_dict(n, m, 1);
    let x = gaussian(n, nn, 2);
    let thresholds = [
        Threshold::Soft { lambda: 0.3 },
        Threshold::SoftNonNeg { lambda: 0.3 },
        Threshold::Hard { tau: 0.1 },
        Threshold::SoftDecay {
            lambda: 0.3,
            beta: 0.8,
        },
    ];
    for th in thresholds {
        let model = Unrolled::new(3, 0.2, th);
        let mut grads = vec![Gradient::AE_LS];
        if th.lasso_lambda().is_some() {
            grads.push(Gradient::AE_LASSO);
        }
        for g in grads {
            let ev = model.gradient(d.view(), x.view(), None, g).unwrap();
            let num = fd(&d, |dd| {
                model
                    .gradient(dd.view(), x.view(), None, Gradient::Dec)
                    .unwrap()
                    .loss(g)
            });
            let e = rel(&ev.grad, &num);
            assert!(e < 1e-6, "{th:?} {g}: relative error {e:e}");
            // codes are not trivially zero (the test would pass vacuously)
            assert!(ev.codes.iter().filter(|v| **v != 0.0).count() > nn);
        }
    }
}

#[test]
fn supervised_target_and_checkpointing() {
    let (n, m, nn) = (5, 8, 10);
    let d = unit_dict(n, m, 3);
    let clean = gaussian(n, nn, 4);
    let noisy = &clean + &(gaussian(n, nn, 5) * 0.3);
    let mut model = Unrolled::new(7, 0.15, Threshold::Soft { lambda: 0.2 });
    model.memory = Memory::StoreAll;
    let ev = model
        .gradient(d.view(), noisy.view(), Some(clean.view()), Gradient::AE_LS)
        .unwrap();
    let num = fd(&d, |dd| {
        model
            .gradient(dd.view(), noisy.view(), Some(clean.view()), Gradient::Dec)
            .unwrap()
            .rec
    });
    assert!(rel(&ev.grad, &num) < 1e-6, "{:e}", rel(&ev.grad, &num));
    // checkpointing every 1, 2, 3 layers recomputes segments: same gradient
    for c in [1, 2, 3] {
        model.memory = Memory::Checkpoint(c);
        let evc = model
            .gradient(d.view(), noisy.view(), Some(clean.view()), Gradient::AE_LS)
            .unwrap();
        assert!(rel(&evc.grad, &ev.grad) < 1e-13, "checkpoint {c}");
    }
}

#[test]
fn dec_gradient_is_the_derivative_with_codes_detached() {
    let (n, m, nn) = (6, 9, 12);
    let d = unit_dict(n, m, 6);
    let x = gaussian(n, nn, 7);
    let model = Unrolled::new(4, 0.2, Threshold::Soft { lambda: 0.2 });
    let ev = model
        .gradient(d.view(), x.view(), None, Gradient::Dec)
        .unwrap();
    let z = ev.codes.clone();
    let num = fd(&d, |dd| {
        let r = &x - &dd.dot(&z);
        0.5 * r.iter().map(|v| v * v).sum::<f64>() / nn as f64
    });
    assert!(rel(&ev.grad, &num) < 1e-6);
    // truncation: depth T is the full backprop, depth 0 the detached gradient
    let full = model
        .gradient(d.view(), x.view(), None, Gradient::AE_LASSO)
        .unwrap();
    let t4 = model
        .gradient(
            d.view(),
            x.view(),
            None,
            Gradient::AeLasso { depth: Some(4) },
        )
        .unwrap();
    let t0 = model
        .gradient(
            d.view(),
            x.view(),
            None,
            Gradient::AeLasso { depth: Some(0) },
        )
        .unwrap();
    assert!(rel(&t4.grad, &full.grad) < 1e-14);
    assert!(rel(&t0.grad, &ev.grad) < 1e-14);
    let t2 = model
        .gradient(
            d.view(),
            x.view(),
            None,
            Gradient::AeLasso { depth: Some(2) },
        )
        .unwrap();
    assert!(rel(&t2.grad, &full.grad) > 1e-6 && rel(&t2.grad, &ev.grad) > 1e-6);
}

#[test]
fn noodl_update_hand_computed() {
    // D = I, one layer, α = 1, τ = 0.5: z = HT(x) = (1, 0); r = Dz − x = (0, −0.2);
    // g = r sign(z)ᵀ = [[0, 0], [−0.2, 0]]
    let d = Array2::<f64>::eye(2);
    let x = array![[1.0], [0.2]];
    let model = Unrolled::new(1, 1.0, Threshold::Hard { tau: 0.5 });
    let ev = model
        .gradient(d.view(), x.view(), None, Gradient::Noodl)
        .unwrap();
    assert_eq!(ev.codes, array![[1.0], [0.0]]);
    assert!((ev.grad[(1, 0)] + 0.2).abs() < 1e-15);
    assert_eq!(ev.grad[(0, 0)], 0.0);
    assert_eq!(ev.grad[(0, 1)], 0.0);
    assert_eq!(ev.grad[(1, 1)], 0.0);
    // a negative code flips the sign column: x = (−1, 0.2) → g[1][0] = −0.2·(−1) = 0.2
    let x = array![[-1.0], [0.2]];
    let ev = model
        .gradient(d.view(), x.view(), None, Gradient::Noodl)
        .unwrap();
    assert!((ev.grad[(1, 0)] - 0.2).abs() < 1e-15);
}

/// PUDLE's generator: k-sparse codes, magnitudes U[1, 2] with one sign per sample.
fn pudle(n: usize, m: usize, k: usize, n_samples: usize, seed: u64) -> dictlab::Instance {
    InstanceSpec::new(n, m, n_samples)
        .sparsity(k)
        .values(Values::SharedSignUniform { a: 1.0, b: 2.0 })
        .sample(seed)
        .unwrap()
}

/// A planted instance with a clear Lasso solution: n = 20, m = 30, 3-sparse codes.
fn easy() -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    let inst = pudle(20, 30, 3, 200, 8);
    (inst.dict, inst.codes, inst.y)
}

#[test]
fn deep_encoders_approach_the_lasso_gradient_and_implicit_is_exact_at_the_solution() {
    let (d, _, y) = easy();
    let lambda = 0.2;
    let (g_star, _) = lasso_gradient(d.view(), y.view(), lambda).unwrap();
    let l = {
        let g = d.t().dot(&d);
        dictlab::code::lipschitz_from_gram(g.view(), 200)
    };
    let err = |t: usize, g: Gradient| {
        let model = Unrolled::new(t, 1.0 / l, Threshold::Soft { lambda });
        let ev = model.gradient(d.view(), y.view(), None, g).unwrap();
        grad_err_cos(ev.grad.view(), g_star.view()).0
    };
    let scale = g_star.iter().map(|v| v * v).sum::<f64>().sqrt();
    let (e10, e100, e3000) = (
        err(10, Gradient::AE_LASSO),
        err(100, Gradient::AE_LASSO),
        err(3000, Gradient::AE_LASSO),
    );
    assert!(e100 < e10 && e3000 < e100, "{e10:e} {e100:e} {e3000:e}");
    assert!(e3000 < 1e-6 * scale.max(1.0), "{e3000:e} (scale {scale:e})");
    // at the Lasso solution the implicit estimator is the analytic gradient
    let ei = err(3000, Gradient::Implicit);
    assert!(ei < 1e-8 * scale.max(1.0), "implicit {ei:e}");
    // once the support is identified, g₃'s error is far below g₁'s (Ablin et al. 2020, Prop. 3–4)
    let (e1, e3) = (err(150, Gradient::Dec), err(150, Gradient::Implicit));
    assert!(e3 < 0.1 * e1, "g1 {e1:e} vs g3 {e3:e}");
}

#[test]
fn training_from_a_near_init_improves_recovery() {
    let inst = pudle(20, 40, 3, 2000, 9);
    let d0 = init_near(inst.dict.view(), 0.1, &mut rng_from_seed(10)).unwrap();
    let f0 = dictlab::metrics::fro_dist(inst.dict.view(), d0.view()).unwrap();
    let cases = [
        (
            Gradient::Dec,
            Threshold::Soft { lambda: 0.2 },
            Optimizer::adam(3e-3),
        ),
        (
            Gradient::AE_LS,
            Threshold::Soft { lambda: 0.2 },
            Optimizer::adam(3e-3),
        ),
        (
            Gradient::AE_LASSO,
            Threshold::Soft { lambda: 0.2 },
            Optimizer::adam(3e-3),
        ),
        (
            Gradient::Noodl,
            Threshold::Hard { tau: 0.3 },
            Optimizer::Sgd { lr: 2.0 },
        ),
    ];
    for (g, th, opt) in cases {
        let mut dl = UnrolledDl::new(Unrolled::new(30, 0.2, th), g, 150);
        dl.optimizer = opt;
        dl.batch = Some(500);
        let probe = DlProbe {
            truth: inst.dict.clone(),
            y: inst.y.clone(),
            codes: Some(inst.codes.clone()),
            grad_ref: None,
        };
        let mut trace = probe.trace();
        let (s, info) = dl
            .train(
                d0.view(),
                inst.y.view(),
                None,
                11,
                Schedule::Every(50),
                &mut trace,
            )
            .unwrap();
        assert_eq!(info.termination, Termination::MaxIters, "{g}");
        let f1 = dictlab::metrics::fro_dist(inst.dict.view(), s.dict.view()).unwrap();
        let r0 = dictlab::metrics::dictionary_recovery(inst.dict.view(), d0.view())
            .unwrap()
            .recovery_score();
        let r1 = dictlab::metrics::dictionary_recovery(inst.dict.view(), s.dict.view())
            .unwrap()
            .recovery_score();
        assert!(f1 < 0.75 * f0, "{g}: fro_dist {f0} -> {f1}");
        eprintln!("{g}: fro_dist {f0} -> {f1}, recovery_score {r0} -> {r1}");
        assert!(f1 < 0.75 * f0, "{g}: fro_dist {f0} -> {f1}");
        assert!(r1 > r0, "{g}: recovery_score {r0} -> {r1}");
        let df = trace.to_frame().unwrap();
        assert_eq!(df.height(), 4);
        for c in ["fro_dist", "recovery_score", "code_err"] {
            assert!(df.column(c).is_ok(), "{c}");
        }
    }
}

#[test]
fn bad_input_and_divergence() {
    let d = unit_dict(6, 9, 12);
    let x = gaussian(6, 10, 13);
    let e = |m: Unrolled| {
        m.gradient(d.view(), x.view(), None, Gradient::Dec)
            .unwrap_err()
            .to_string()
    };
    assert!(e(Unrolled::new(0, 0.2, Threshold::Soft { lambda: 0.1 })).contains("layers"));
    assert!(e(Unrolled::new(3, 0.2, Threshold::Soft { lambda: 0.0 })).contains("λ > 0"));
    assert!(e(Unrolled::new(3, -1.0, Threshold::Soft { lambda: 0.1 })).contains("alpha"));
    assert!(e(Unrolled::new(3, 0.2, Threshold::Hard { tau: f64::NAN })).contains("tau"));
    let hard = Unrolled::new(3, 0.2, Threshold::Hard { tau: 0.1 });
    let err = hard
        .gradient(d.view(), x.view(), None, Gradient::AE_LASSO)
        .unwrap_err();
    assert!(err.to_string().contains("g_ae_ls"), "{err}");
    let wrong = gaussian(5, 10, 1);
    let err = hard
        .gradient(d.view(), wrong.view(), None, Gradient::Dec)
        .unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");
    let mut nan = x.clone();
    nan[(2, 3)] = f64::NAN;
    assert!(
        hard.gradient(d.view(), nan.view(), None, Gradient::Dec)
            .is_err()
    );
    // α·L ≥ 2 is refused, naming 2/L
    let big = Unrolled::new(3, 5.0, Threshold::Soft { lambda: 0.1 });
    let err = big.check_step(d.view()).unwrap_err().to_string();
    assert!(err.contains("2/L"), "{err}");
    // diverging training is a termination with its step, not NaN output
    let mut dl = UnrolledDl::new(
        Unrolled::new(5, 0.1, Threshold::Soft { lambda: 0.1 }),
        Gradient::AE_LS,
        50,
    );
    dl.optimizer = Optimizer::Sgd { lr: 1e4 };
    dl.normalize = false;
    let (s, info) = dl
        .train(
            d.view(),
            x.view(),
            None,
            0,
            Schedule::Never,
            &mut NoObserver,
        )
        .unwrap();
    assert!(
        matches!(info.termination, Termination::NonFinite { .. }),
        "{:?}",
        info.termination
    );
    assert!(s.dict.iter().all(|v| v.is_finite()));
}

#[test]
fn shipped_images_load() {
    let dir = dictlab::io::project_path("data/images");
    let train = dictlab::image::read_pgm_dir(&dir, "train_").unwrap();
    let test = dictlab::image::read_pgm_dir(&dir, "test_").unwrap();
    assert_eq!((train.len(), test.len()), (4, 3));
    for (name, im) in train.iter().chain(&test) {
        assert_eq!(im.dim(), (256, 256), "{name}");
        let (lo, hi) = im
            .iter()
            .fold((1.0f64, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(
            lo >= 0.0 && hi <= 1.0 && hi - lo > 0.3,
            "{name}: range [{lo}, {hi}]"
        );
    }
}

#[test]
fn backtracking_descent_decreases_the_loss_monotonically() {
    use dictlab::neural::unrolled::Backtracking;
    let inst = pudle(15, 25, 2, 500, 21);
    let d0 = init_near(inst.dict.view(), 0.15, &mut rng_from_seed(22)).unwrap();
    for g in [Gradient::Dec, Gradient::AE_LASSO] {
        let mut dl = UnrolledDl::new(
            Unrolled::new(20, 0.2, Threshold::Soft { lambda: 0.1 }),
            g,
            60,
        );
        dl.line_search = Some(Backtracking::default());
        dl.rel_tol = Some(1e-9);
        let mut trace = dictlab::iter::Trace::new();
        let (s, _) = dl
            .train(
                d0.view(),
                inst.y.view(),
                None,
                0,
                Schedule::Every(1),
                &mut trace,
            )
            .unwrap();
        let df = trace.to_frame().unwrap();
        let f = dictlab::table::column_f64(&df, "objective").unwrap();
        // the recorded loss after step 1 is the accepted Lasso loss: non-increasing from there
        for w in f[1..].windows(2) {
            assert!(w[1].unwrap() <= w[0].unwrap() + 1e-12, "{g}: {w:?}");
        }
        let r0 = dictlab::metrics::dictionary_recovery(inst.dict.view(), d0.view())
            .unwrap()
            .recovery_score();
        let r1 = dictlab::metrics::dictionary_recovery(inst.dict.view(), s.dict.view())
            .unwrap()
            .recovery_score();
        assert!(r1 > r0, "{g}: {r0} -> {r1}");
        assert!(s.ls_step.is_finite());
    }
}
