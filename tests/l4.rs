//! ℓ4 methods: MSP recovers an orthogonal dictionary, the sphere landscape's derivatives match
//! finite differences, critical points are classified as computed by hand, and the overcomplete
//! learner recovers every atom of an easy K = 2 tight frame.

use dictlab::iter::{Schedule, Trace};
use dictlab::learn::l4::{self, ClassifyTol, L4Objective, PointKind, SphereSolver, Whitener};
use dictlab::learn::{Init, L4Sphere, LearnState, Msp};
use dictlab::prelude::*;

fn bg(n: usize, m: usize, p: usize, theta: f64, dict: DictKind, seed: u64) -> Instance {
    InstanceSpec::new(n, m, p)
        .bernoulli(theta)
        .dictionary(dict)
        .sample(seed)
        .unwrap()
}

#[test]
fn msp_recovers_a_random_orthogonal_dictionary() {
    let inst = bg(20, 20, 5000, 0.3, DictKind::Orthobasis, 3);
    let mut trace = Trace::<LearnState>::new();
    let out = Msp::default()
        .learn_observed(
            inst.y.view(),
            20,
            &Init::Gaussian,
            7,
            Schedule::Every(1),
            &mut trace,
        )
        .unwrap();
    // plain MSP reaches the finite-sample floor of the ℓ4 maximizer (measured 5.7e-3 here) …
    let e = metrics::l4_error(inst.dict.view(), out.dict.view()).unwrap();
    assert!(e < 1e-2, "l4_error {e}");
    // … and 5 polishing rounds on the sparse codes go below 1e-3 (measured 5.7e-6)
    let polished = Msp {
        polish_iters: 5,
        ..Default::default()
    }
    .learn(inst.y.view(), 20, &Init::Gaussian, 7)
    .unwrap();
    let ep = metrics::l4_error(inst.dict.view(), polished.dict.view()).unwrap();
    assert!(ep < 1e-3 && ep < e / 10.0, "polished l4_error {ep}");
    // the iterate stays orthogonal
    let g = out.dict.t().dot(&out.dict);
    assert!(
        (&g - &Array2::<f64>::eye(20))
            .iter()
            .all(|v| v.abs() < 1e-10)
    );
    // ℓ4 value never decreases (MSP is a minorize–maximize iteration)
    let df = trace.to_frame().unwrap();
    let v: Vec<f64> = dictlab::table::column_f64(&df, "l4_value")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert!(v.len() > 100);
    assert!(v.windows(2).all(|w| w[1] >= w[0] * (1.0 - 1e-12)), "{v:?}");
    // codes are the exact analysis coefficients
    let recon = out.dict.dot(&out.codes);
    assert!((&recon - &inst.y).iter().all(|v| v.abs() < 1e-8));
}

#[test]
fn msp_bad_input_is_a_typed_error() {
    let inst = bg(10, 10, 200, 0.3, DictKind::Orthobasis, 1);
    let e = Msp::default()
        .learn(inst.y.view(), 20, &Init::Gaussian, 0)
        .unwrap_err();
    assert!(e.to_string().contains("m = n = 10"), "{e}");
    let few = inst.y.slice(s![.., ..15]).to_owned();
    let e = Msp::default()
        .learn(few.view(), 10, &Init::Gaussian, 0)
        .unwrap_err();
    assert!(e.to_string().contains("n_samples"), "{e}");
}

/// A small empirical objective and a random unit point / unit tangent vector.
fn setup() -> (L4Objective, Array1<f64>, Array1<f64>) {
    let inst = bg(6, 12, 400, 0.2, DictKind::TightFrame, 5);
    let obj = L4Objective::empirical(inst.y.view(), 0.2).unwrap();
    let mut rng = rng_from_seed(9);
    let q = l4::random_sphere(6, 1, &mut rng).column(0).to_owned();
    let mut v = l4::random_sphere(6, 1, &mut rng).column(0).to_owned();
    let d = v.dot(&q);
    v.scaled_add(-d, &q);
    let nv = v.dot(&v).sqrt();
    v /= nv;
    (obj, q, v)
}

#[test]
fn riemannian_gradient_matches_finite_differences_on_the_sphere() {
    let (obj, q, v) = setup();
    let g = obj.riemannian_grad(q.view()).unwrap();
    assert!(g.dot(&q).abs() < 1e-12, "the gradient is tangent");
    let h = 1e-5;
    let geo = |t: f64| &q * t.cos() + &v * t.sin();
    let fd = (obj.value(geo(h).view()) - obj.value(geo(-h).view())) / (2.0 * h);
    let an = g.dot(&v);
    assert!(
        (fd - an).abs() <= 1e-7 * an.abs().max(1.0),
        "fd {fd} vs {an}"
    );
    // Euclidean gradient against coordinate differences
    let eg = obj.euclidean_grad(q.view());
    for i in 0..6 {
        let mut e = Array1::<f64>::zeros(6);
        e[i] = h;
        let fd = (obj.value((&q + &e).view()) - obj.value((&q - &e).view())) / (2.0 * h);
        assert!((fd - eg[i]).abs() <= 1e-7 * eg[i].abs().max(1.0));
    }
}

#[test]
fn riemannian_hessian_matches_second_differences_along_geodesics() {
    let (obj, q, v) = setup();
    let hm = obj.riemannian_hessian(q.view()).unwrap();
    let h = 1e-4;
    let geo = |t: f64| &q * t.cos() + &v * t.sin();
    let fd = (obj.value(geo(h).view()) - 2.0 * obj.value(q.view()) + obj.value(geo(-h).view()))
        / (h * h);
    let an = v.dot(&hm.dot(&v));
    assert!(
        (fd - an).abs() <= 1e-5 * an.abs().max(1.0),
        "fd {fd} vs {an}"
    );
    assert!(
        hm.dot(&q).iter().all(|x| x.abs() < 1e-10),
        "q is in the null space"
    );
}

#[test]
fn critical_points_of_the_orthobasis_landscape_classified_by_hand() {
    // f̄ = −¼ Σ q_i⁴ for A = I₃ (K = 1, a tight frame).
    let obj = L4Objective::population(Array2::<f64>::eye(3).view()).unwrap();
    let atoms = Array2::<f64>::eye(3);
    let tol = ClassifyTol::default();
    let r = std::f64::consts::FRAC_1_SQRT_2;
    match obj
        .classify(array![0.0, -1.0, 0.0].view(), atoms.view(), &tol)
        .unwrap()
    {
        PointKind::NearAtom { atom, sign, cos } => {
            assert_eq!((atom, sign), (1, -1.0));
            assert!((cos - 1.0).abs() < 1e-15);
        }
        k => panic!("{k:?}"),
    }
    // (e1 + e2)/√2: ∇f = −q/2, curvatures −3/2 + 1/2 = −1 along (e1 − e2)/√2 and 1/2 along e3
    let q = array![r, r, 0.0];
    assert_eq!(
        obj.tangent_curvatures(q.view())
            .unwrap()
            .iter()
            .map(|x| (x * 1e9).round() / 1e9)
            .collect::<Vec<_>>(),
        vec![-1.0, 0.5]
    );
    match obj.classify(q.view(), atoms.view(), &tol).unwrap() {
        PointKind::NegativeCurvature { min_curvature, .. } => {
            assert!((min_curvature + 1.0).abs() < 1e-12)
        }
        k => panic!("{k:?}"),
    }
    // (1,1,1)/√3: ∇²f = −I, qᵀ∇f = −1/3 ⇒ both curvatures −2/3 (a maximum of f)
    let t = 1.0 / 3f64.sqrt();
    match obj
        .classify(array![t, t, t].view(), atoms.view(), &tol)
        .unwrap()
    {
        PointKind::NegativeCurvature { min_curvature, .. } => {
            assert!((min_curvature + 2.0 / 3.0).abs() < 1e-12)
        }
        k => panic!("{k:?}"),
    }
    let q = array![2.0, 1.0, 0.0] / 5f64.sqrt();
    assert_eq!(
        obj.classify(q.view(), atoms.view(), &tol).unwrap().name(),
        "not_critical"
    );
    // Newton from near the saddle lands on it
    let q0: Array1<f64> = array![0.75, 0.65, 0.05];
    let q0 = &q0 / q0.dot(&q0).sqrt();
    let (qs, ok) = obj.newton_critical_point(q0.view(), 50, 1e-12).unwrap();
    assert!(ok);
    assert!((qs[0].abs() - r).abs() < 1e-9 && (qs[1].abs() - r).abs() < 1e-9 && qs[2].abs() < 1e-9);
}

#[test]
fn metric_l4_single_hand_computed() {
    let a = array![[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]];
    let q = array![3.0, 4.0, 0.0];
    assert!((metrics::l4_single(a.view(), q.view()).unwrap() - 0.8).abs() < 1e-15);
    assert!(metrics::l4_single(a.view(), array![1.0, 0.0].view()).is_err());
}

#[test]
fn overcomplete_k2_recovers_every_atom_from_random_starts() {
    // n = 30, K = 2 (μ ≈ 0.45), θ = 0.05: the landscape's minimizers lie within |cos| ≈ 0.996 of
    // the atoms (n = 10, K = 2 is too coherent: the population minimizers sit at |cos| ≈ 0.97)
    let inst = bg(30, 60, 100_000, 0.05, DictKind::TightFrame, 11);
    for solver in [SphereSolver::Power, SphereSolver::Rgd { step: 1.0 }] {
        let mut learner = L4Sphere::new(0.1);
        learner.solver = solver;
        let out = learner
            .learn(inst.y.view(), 60, &Init::Gaussian, 2)
            .unwrap();
        let r = metrics::recovery_metrics(inst.dict.view(), out.dict.view(), 0.99).unwrap();
        assert_eq!(r.recovery_rate, 1.0, "{solver:?}: {r:?} {:?}", out.info);
        assert_eq!(r.spurious_atoms, 0);
    }
}

#[test]
fn sphere_runs_from_random_starts_end_near_atoms() {
    // QU-E1 at K = 2: most runs of the power method end within l4_single ≥ 0.99 of an atom
    let inst = bg(30, 60, 100_000, 0.05, DictKind::TightFrame, 12);
    let obj = L4Objective::empirical(inst.y.view(), 0.05).unwrap();
    let q0 = l4::random_sphere(30, 64, &mut rng_from_seed(1));
    let (runs, info) = l4::descend(
        &obj,
        q0.view(),
        SphereSolver::Power,
        1e-8,
        2000,
        Schedule::Never,
        &mut dictlab::iter::NoObserver,
    )
    .unwrap();
    assert!(info.termination.is_finite());
    let hits = (0..64)
        .filter(|&j| metrics::l4_single(inst.dict.view(), runs.q.column(j)).unwrap() >= 0.99)
        .count();
    assert!(hits >= 60, "{hits}/64 runs near an atom");
    assert!(runs.converged.iter().all(|c| *c));
}

#[test]
fn l4_bad_input_is_a_typed_error() {
    let inst = bg(6, 12, 400, 0.2, DictKind::TightFrame, 5);
    for theta in [0.0, 1.0, -0.1, f64::NAN] {
        let e = L4Objective::empirical(inst.y.view(), theta).unwrap_err();
        assert!(e.to_string().contains("theta"), "{e}");
        let e = L4Sphere::new(theta)
            .learn(inst.y.view(), 12, &Init::Gaussian, 0)
            .unwrap_err();
        assert!(e.to_string().contains("(0, 1)"), "{e}");
    }
    // p too small for the dimension
    let few = inst.y.slice(s![.., ..10]).to_owned();
    let e = L4Sphere::new(0.2)
        .learn(few.view(), 6, &Init::Gaussian, 0)
        .unwrap_err();
    assert!(e.to_string().contains("2n = 12"), "{e}");
    // non-normalized, rank-deficient, non-tight dictionaries for the population objective
    let mut a = inst.dict.clone();
    a *= 2.0;
    let e = L4Objective::population(a.view()).unwrap_err();
    assert!(e.to_string().contains("unit-norm"), "{e}");
    let r = std::f64::consts::FRAC_1_SQRT_2;
    let flat = array![[1.0, 0.0, r, -r], [0.0, 1.0, r, r], [0.0, 0.0, 0.0, 0.0]];
    let e = L4Objective::population(flat.view()).unwrap_err();
    assert!(e.to_string().contains("full row rank"), "{e}");
    let g = generate::gaussian_dictionary(6, 12, &mut rng_from_seed(3)).unwrap();
    let e = L4Objective::population(g.view()).unwrap_err();
    assert!(e.to_string().contains("tight frame"), "{e}");
    assert!(L4Objective::population_any(g.view()).is_ok());
    // signals confined to a subspace
    let mut y = inst.y.clone();
    y.row_mut(5).fill(0.0);
    assert!(Whitener::new(y.view()).is_err());
    let e = L4Sphere::new(0.2)
        .learn(y.view(), 12, &Init::Gaussian, 0)
        .unwrap_err();
    assert!(e.to_string().contains("rank-deficient"), "{e}");
    // an unnormalised q
    let obj = L4Objective::empirical(inst.y.view(), 0.2).unwrap();
    assert!(
        obj.riemannian_grad(array![1.0, 1.0, 0.0, 0.0, 0.0, 0.0].view())
            .is_err()
    );
}

#[test]
fn critical_points_of_an_orthobasis_are_its_signed_atoms_and_saddles_and_maxima() {
    // f̄(q) = −¼‖q‖₄⁴ for A = I₃: the critical points are the normalised sign vectors on each
    // support — 6 minima ±e_i (near the atoms), 12 saddles on pairs and 8 maxima on triples (both
    // with negative curvature), 26 in all; none spurious
    let a = Array2::<f64>::eye(3);
    let obj = L4Objective::population(a.view()).unwrap();
    let starts = dictlab::learn::l4::random_sphere(3, 400, &mut rng_from_seed(3));
    let pts = obj
        .critical_points(a.view(), starts.view(), 100, 1e-11, &ClassifyTol::default())
        .unwrap();
    let counts = dictlab::learn::l4::count_kinds(&pts);
    assert_eq!(counts[0], ("near_atom", 6), "{counts:?}");
    assert_eq!(counts[2], ("spurious_minimum", 0), "{counts:?}");
    assert_eq!(counts[3], ("not_critical", 0), "{counts:?}");
    assert!(counts[1].1 >= 12 && counts[1].1 <= 20, "{counts:?}");
}
