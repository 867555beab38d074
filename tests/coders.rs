//! Sparse coders: agreement on the Lasso, oracles, OMP guarantees, duality gaps, bad input.

use dictlab::code::{self, CoordinateDescent, Iht, LarsLasso, Omp, Pgm, SparseCoder};
use dictlab::generate;
use dictlab::prelude::*;
use proptest::prelude::*;

fn kkt_violation(a: &Array2<f64>, y: &Array2<f64>, x: &Array2<f64>, lambda: f64) -> f64 {
    // Lasso optimality: Aᵀ(y − Ax) = λ sign(x) on the support, |·| ≤ λ off it
    let c = a.t().dot(&(y - &a.dot(x)));
    let mut worst: f64 = 0.0;
    for ((i, j), &v) in x.indexed_iter() {
        let ci = c[(i, j)];
        worst = worst.max(if v != 0.0 {
            (ci - lambda * v.signum()).abs()
        } else {
            (ci.abs() - lambda).max(0.0)
        });
    }
    worst
}

#[test]
fn ista_fista_cd_lars_agree_on_the_lasso() {
    for seed in 0..3u64 {
        let inst = InstanceSpec::new(20, 40, 30)
            .sparsity(3)
            .noise(Noise::Sigma { sigma: 0.05 })
            .sample(seed)
            .unwrap();
        let (a, y) = (inst.dict.view(), inst.y.view());
        let lambda = 0.1 * code::lambda_max(a, y).unwrap();
        let fista = Pgm::fista(lambda)
            .max_iters(20_000)
            .tol(1e-14)
            .encode(a, y)
            .unwrap();
        let ista = Pgm::ista(lambda)
            .max_iters(100_000)
            .tol(1e-13)
            .encode(a, y)
            .unwrap();
        let cd = CoordinateDescent::new(lambda).encode(a, y).unwrap();
        let lars = LarsLasso::new(lambda).encode(a, y).unwrap();
        for (name, e) in [
            ("fista", &fista),
            ("ista", &ista),
            ("cd", &cd),
            ("lars", &lars),
        ] {
            assert!(e.info.termination.is_finite(), "{name}");
            let kkt = kkt_violation(&inst.dict, &inst.y, &e.codes, lambda);
            assert!(
                kkt < 1e-6,
                "seed {seed} {name}: KKT violation {kkt} ({:?})",
                e.info
            );
        }
        for (name, e) in [("ista", &ista), ("cd", &cd), ("lars", &lars)] {
            let d = (&e.codes - &fista.codes)
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(d < 1e-6, "seed {seed}: {name} differs from fista by {d}");
        }
        let gap = code::lasso_duality_gap(a, y, cd.codes.view(), lambda, false);
        assert!(
            gap < 1e-10 * 0.5 * inst.y.iter().map(|v| v * v).sum::<f64>(),
            "gap {gap}"
        );
    }
}

#[test]
fn orthonormal_dictionary_oracles() {
    let mut rng = rng_from_seed(1);
    let q = generate::orthobasis(16, &mut rng).unwrap();
    let y = generate::dictionary::gaussian_matrix(16, 10, &mut rng);
    let lambda = 0.3;
    let closed = q.t().dot(&y).mapv(|z| code::soft(z, lambda));
    // one ISTA step from 0 with step 1/L (L = 1 up to the 1e-6 safety margin) is soft(Aᵀy, λ)
    let one = Pgm::ista(lambda)
        .max_iters(1)
        .encode(q.view(), y.view())
        .unwrap();
    assert!((&one.codes - &closed).iter().all(|v| v.abs() < 1e-5));
    // and the Lasso solution is exactly that (closed form)
    for e in [
        Pgm::fista(lambda).encode(q.view(), y.view()).unwrap(),
        CoordinateDescent::new(lambda)
            .encode(q.view(), y.view())
            .unwrap(),
        LarsLasso::new(lambda).encode(q.view(), y.view()).unwrap(),
    ] {
        assert!((&e.codes - &closed).iter().all(|v| v.abs() < 1e-9));
    }
    let soft1 = code::threshold::soft_encode(q.view(), y.view(), lambda).unwrap();
    assert!((&soft1 - &closed).iter().all(|v| v.abs() < 1e-12));
}

#[test]
fn duality_gap_goes_to_zero_and_objective_decreases() {
    let inst = InstanceSpec::new(24, 48, 50)
        .sparsity(4)
        .noise(Noise::Sigma { sigma: 0.02 })
        .sample(5)
        .unwrap();
    let (a, y) = (inst.dict.view(), inst.y.view());
    let lambda = 0.05 * code::lambda_max(a, y).unwrap();
    let mut trace = dictlab::iter::Trace::new();
    let e = Pgm::ista(lambda)
        .max_iters(3000)
        .tol(0.0)
        .encode_observed(a, y, None, dictlab::iter::Schedule::Every(1), &mut trace)
        .unwrap();
    let df = trace.to_frame().unwrap();
    let obj: Vec<f64> = dictlab::table::column_f64(&df, "objective")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert!(
        obj.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-12)),
        "ISTA objective must not increase with step 1/L"
    );
    let gaps: Vec<f64> = dictlab::table::column_f64(&df, "rel_gap")
        .unwrap()
        .into_iter()
        .flatten()
        .filter(|g| g.is_finite())
        .collect();
    assert!(
        gaps.first().unwrap() > &1e-3 && *gaps.last().unwrap() < 1e-9,
        "{:?} … {:?}",
        gaps.first(),
        gaps.last()
    );
    assert!(
        (e.info.objective - code::lasso_objective(a, y, e.codes.view(), lambda)).abs()
            < 1e-8 * e.info.objective
    );
}

#[test]
fn nonnegative_variants_satisfy_their_kkt_conditions() {
    let inst = InstanceSpec::new(20, 30, 20)
        .sparsity(3)
        .values(Values::NonNegUniform { a: 1.0, b: 2.0 })
        .sample(2)
        .unwrap();
    let (a, y) = (inst.dict.view(), inst.y.view());
    let lambda = 0.1;
    for e in [
        Pgm::fista(lambda)
            .nonneg(true)
            .max_iters(20_000)
            .tol(1e-14)
            .encode(a, y)
            .unwrap(),
        CoordinateDescent::new(lambda)
            .nonneg(true)
            .encode(a, y)
            .unwrap(),
        LarsLasso::new(lambda).nonneg(true).encode(a, y).unwrap(),
    ] {
        assert!(e.codes.iter().all(|v| *v >= 0.0));
        let c = inst.dict.t().dot(&(&inst.y - &inst.dict.dot(&e.codes)));
        for ((i, j), &v) in e.codes.indexed_iter() {
            let ci = c[(i, j)];
            let viol = if v > 0.0 {
                (ci - lambda).abs()
            } else {
                (ci - lambda).max(0.0)
            };
            assert!(viol < 1e-6, "{i},{j}: {viol}");
        }
    }
}

#[test]
fn omp_values_are_least_squares_on_its_support_and_match_brute_force() {
    // tiny noiseless problems: the best 2-atom least-squares fit by brute force is the planted one,
    // and OMP finds it with coefficients equal to the LS solution (residual ⟂ chosen atoms)
    let inst = InstanceSpec::new(8, 16, 40)
        .sparsity(2)
        .dictionary(DictKind::IdentityHadamard)
        .values(Values::SignedUniform { a: 1.0, b: 2.0 })
        .sample(3)
        .unwrap();
    let a = &inst.dict;
    let e = Omp::with_sparsity(2)
        .encode(a.view(), inst.y.view())
        .unwrap();
    for j in 0..40 {
        let y = inst.y.column(j);
        let mut best = (f64::INFINITY, (0, 0));
        for p in 0..16 {
            for q in p + 1..16 {
                let sub = ndarray::stack![Axis(1), a.column(p), a.column(q)];
                let g = sub.t().dot(&sub);
                let det = g[(0, 0)] * g[(1, 1)] - g[(0, 1)] * g[(1, 0)];
                if det.abs() < 1e-12 {
                    continue;
                }
                let b = sub.t().dot(&y);
                let x = [
                    (g[(1, 1)] * b[0] - g[(0, 1)] * b[1]) / det,
                    (g[(0, 0)] * b[1] - g[(1, 0)] * b[0]) / det,
                ];
                let r = &y - &(&sub.column(0) * x[0] + &sub.column(1) * x[1]);
                let rr = r.dot(&r);
                if rr < best.0 {
                    best = (rr, (p, q));
                }
            }
        }
        let x = e.codes.column(j);
        let supp: Vec<usize> = (0..16).filter(|&i| x[i] != 0.0).collect();
        let planted: Vec<usize> = (0..16).filter(|&i| inst.codes[(i, j)] != 0.0).collect();
        if supp == vec![best.1.0, best.1.1] {
            let r = &y - &a.dot(&x);
            for &i in &supp {
                assert!(a.column(i).dot(&r).abs() < 1e-10);
            }
        }
        // on this incoherent union of bases with exact 2-sparse signals, brute force = planted
        assert_eq!(vec![best.1.0, best.1.1], planted);
    }
}

#[test]
fn omp_residual_mode_and_premature_stop_are_reported() {
    let inst = InstanceSpec::new(16, 32, 20).sparsity(3).sample(9).unwrap();
    let e = Omp::with_tolerance(1e-8)
        .encode(inst.dict.view(), inst.y.view())
        .unwrap();
    let r = &inst.y - &inst.dict.dot(&e.codes);
    assert!(
        r.columns()
            .into_iter()
            .all(|c| c.dot(&c).sqrt() <= 1e-8 + 1e-12)
    );
    // a dictionary with a repeated atom: selecting it twice is linear dependence
    let mut a = inst.dict.clone();
    let c0 = a.column(0).to_owned();
    a.column_mut(1).assign(&c0);
    let y = a.column(0).to_owned().insert_axis(Axis(1)) * 2.0
        + a.column(5).to_owned().insert_axis(Axis(1)) * 1e-9;
    let e = Omp::with_sparsity(3).encode(a.view(), y.view()).unwrap();
    assert!(e.codes.iter().all(|v| v.is_finite()));
    assert!(e.info.premature <= 1);
}

#[test]
fn iht_recovers_planted_codes_on_an_easy_instance() {
    let inst = InstanceSpec::new(64, 128, 200)
        .sparsity(3)
        .dictionary(DictKind::IdentityHadamard)
        .values(Values::SignedUniform { a: 1.0, b: 2.0 })
        .sample(4)
        .unwrap();
    let e = Iht::new(3).encode(inst.dict.view(), inst.y.view()).unwrap();
    let s = metrics::support_recovery(inst.codes.view(), e.codes.view(), 1e-8).unwrap();
    assert!(s.support_exact > 0.99, "{s:?}");
    let k2 = code::threshold::hard_k_encode(inst.dict.view(), inst.y.view(), 3).unwrap();
    assert!(
        k2.columns()
            .into_iter()
            .all(|c| c.iter().filter(|v| **v != 0.0).count() == 3)
    );
    let relu = code::threshold::relu_encode(inst.dict.view(), inst.y.view(), &[0.5]).unwrap();
    assert!(relu.iter().all(|v| *v >= 0.0));
}

#[test]
fn bad_input_is_a_typed_error() {
    let a = Array2::<f64>::eye(4);
    let y = Array2::<f64>::ones((4, 3));
    let coders: Vec<Box<dyn SparseCoder>> = vec![
        Box::new(Pgm::fista(0.1)),
        Box::new(CoordinateDescent::new(0.1)),
        Box::new(LarsLasso::new(0.1)),
        Box::new(Omp::with_sparsity(2)),
        Box::new(Iht::new(2)),
    ];
    for c in &coders {
        // shape mismatch (scikit-learn layout)
        let e = c
            .encode(a.view(), Array2::<f64>::ones((3, 4)).view())
            .unwrap_err();
        assert!(
            matches!(e, Error::ShapeMismatch { .. }),
            "{}: {e}",
            c.name()
        );
        // NaN / Inf
        let mut bad = y.clone();
        bad[(0, 1)] = f64::INFINITY;
        assert!(
            matches!(c.encode(a.view(), bad.view()), Err(Error::NonFinite { .. })),
            "{}",
            c.name()
        );
        // zero-norm atom
        let mut z = a.clone();
        z.column_mut(2).fill(0.0);
        let e = c.encode(z.view(), y.view()).unwrap_err();
        assert!(e.to_string().contains("zero norm"), "{}: {e}", c.name());
    }
    for lam in [0.0, -1.0, f64::NAN] {
        for e in [
            Pgm::fista(lam).encode(a.view(), y.view()).unwrap_err(),
            CoordinateDescent::new(lam)
                .encode(a.view(), y.view())
                .unwrap_err(),
            LarsLasso::new(lam).encode(a.view(), y.view()).unwrap_err(),
        ] {
            let e = e.to_string();
            assert!(
                e.contains("lambda") && e.contains("> 0") && e.contains("max|Aᵀy|"),
                "{e}"
            );
        }
    }
    assert!(
        Omp::with_sparsity(5)
            .encode(a.view(), y.view())
            .unwrap_err()
            .to_string()
            .contains("k ≤ min(n, m)")
    );
    assert!(Omp::with_sparsity(0).encode(a.view(), y.view()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// Tropp's exact-recovery condition via coherence: OMP recovers every k-sparse signal when
    /// k < (1 + 1/μ)/2. [I | H] at n = 64 has μ = 1/8, so k ≤ 4 is guaranteed.
    #[test]
    fn omp_recovers_exact_supports_below_the_coherence_bound(seed in 0u64..10_000, k in 1usize..5) {
        let inst = InstanceSpec::new(64, 128, 100).sparsity(k).dictionary(DictKind::IdentityHadamard).sample(seed).unwrap();
        let mu = inst.coherence();
        prop_assert!((k as f64) < 0.5 * (1.0 + 1.0 / mu));
        let e = Omp::with_sparsity(k).encode(inst.dict.view(), inst.y.view()).unwrap();
        let s = metrics::support_recovery(inst.codes.view(), e.codes.view(), 0.0).unwrap();
        prop_assert_eq!(s.support_exact, 1.0);
        prop_assert!((&e.codes - &inst.codes).iter().all(|v| v.abs() < 1e-9));
    }
}
