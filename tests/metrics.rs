//! Metrics on hand-computed cases, invariance under permutation and sign, RIP bounds.

use dictlab::metrics::{self, recovery_metrics};
use dictlab::prelude::*;
use proptest::prelude::*;
use rand::Rng;

fn rot(theta: f64) -> Array2<f64> {
    array![[theta.cos(), -theta.sin()], [theta.sin(), theta.cos()]]
}

#[test]
fn recovery_metrics_hand_computed_rotation() {
    // truth = I₂, estimate = rotation by θ: every |cos| = cos θ (c_i = cos θ after matching).
    let theta: f64 = 0.1;
    let a = Array2::<f64>::eye(2);
    let d = rot(theta);
    let r = recovery_metrics(a.view(), d.view(), 0.99).unwrap();
    let c = theta.cos();
    assert!((r.recovery_score - c).abs() < 1e-12);
    assert!((r.max_sine_dist - theta.sin()).abs() < 1e-12);
    assert!((r.columnwise_dist - (2.0 - 2.0 * c).sqrt()).abs() < 1e-12);
    assert!((r.fro_dist_perm - (2.0 * (2.0 - 2.0 * c)).sqrt()).abs() < 1e-12);
    assert!((r.fro_dist.unwrap() - (2.0 * (2.0 - 2.0 * c)).sqrt()).abs() < 1e-12);
    assert!((r.fro_dist_rel.unwrap() - (2.0 - 2.0 * c).sqrt()).abs() < 1e-12);
    assert_eq!(r.recovery_rate, 1.0); // cos 0.1 = 0.995 > 0.99
    let r2 = recovery_metrics(a.view(), rot(0.2).view(), 0.99).unwrap(); // cos 0.2 = 0.980
    assert_eq!(r2.recovery_rate, 0.0);
    // l4_error: 1 − (2 cos⁴ + 2 sin⁴)/2
    let l4 = 1.0 - (c.powi(4) + theta.sin().powi(4));
    assert!((r.l4_error.unwrap() - l4).abs() < 1e-12);
    assert_eq!(r.spurious_atoms, 0);
}

#[test]
fn recovery_uses_the_optimal_not_greedy_matching() {
    // |cos| = [[0.6, 0.5], [0.55, 0.1]] (rows truth): greedy takes 0.6 then 0.1 (sum 0.7);
    // Hungarian takes 0.5 + 0.55 = 1.05.
    let c = [[0.6f64, 0.5], [0.55, 0.1]];
    // Build unit vectors in R^4 with exactly these inner products: truth = e1, e2; estimates have
    // components on e1, e2 and a private direction to stay unit-norm.
    let mut a = Array2::<f64>::zeros((4, 2));
    a[(0, 0)] = 1.0;
    a[(1, 1)] = 1.0;
    let mut d = Array2::<f64>::zeros((4, 2));
    for j in 0..2 {
        d[(0, j)] = c[0][j];
        d[(1, j)] = c[1][j];
        d[(2 + j, j)] = (1.0 - c[0][j].powi(2) - c[1][j].powi(2)).sqrt();
    }
    let rec = metrics::dictionary_recovery(a.view(), d.view()).unwrap();
    assert_eq!(rec.matching_index, vec![Some(1), Some(0)]);
    assert!((rec.recovery_score() - 1.05 / 2.0).abs() < 1e-12);
    // unmatched rate uses the best column per row: 0.6 and 0.55
    assert_eq!(rec.recovery_rate(0.95), 0.0);
    assert_eq!(rec.recovery_rate(0.58), 0.5);
    // matched: c = (0.5, 0.55)
    assert_eq!(rec.recovery_rate_matched(0.52), 0.5);
}

#[test]
fn amari_index_hand_computed() {
    // P = Â⁺ A* with A* = I and Â = inverse of [[1, 0.5], [0, 1]] -> P = [[1, 0.5], [0, 1]]
    let a = Array2::<f64>::eye(2);
    let d = array![[1.0, -0.5], [0.0, 1.0]];
    // rows: (1.5/1 − 1) + (1/1 − 1) = 0.5; cols: (1/1 − 1) + (1.5/1 − 1) = 0.5; /(2·2·1) = 0.25
    let ai = metrics::amari_index(a.view(), d.view()).unwrap();
    assert!((ai - 0.25).abs() < 1e-12, "{ai}");
    let p = array![[0.0, 2.0], [-3.0, 0.0]];
    assert!(metrics::amari_index(a.view(), p.view()).unwrap().abs() < 1e-12);
}

#[test]
fn pudle_quirk_and_spurious_atoms() {
    let a = Array2::<f64>::eye(3);
    let mut d = Array2::<f64>::eye(3);
    d.column_mut(2).assign(&array![1.0, 1.0, 0.0]); // duplicate-ish of atoms 0/1, atom 2 missed
    let rec = metrics::dictionary_recovery(a.view(), d.view()).unwrap();
    // atom 2 is matched to column 2 with c = 0 -> max sine dist 1
    assert!((rec.max_sine_dist() - 1.0).abs() < 1e-12);
    assert!((rec.max_sine_dist_pudle_quirk() - (1.0f64 + 1e-10).sqrt().sqrt()).abs() < 1e-12);
    assert_eq!(rec.spurious_atoms(0.99), 1);
}

#[test]
fn support_metrics_hand_computed() {
    // sample 0: S = {0,1}, Ŝ = {0,2} -> P = R = F1 = 1/2, hamming 2
    // sample 1: S = {1},   Ŝ = {1}   -> exact
    let xt = array![[1.0, 0.0], [2.0, 3.0], [0.0, 0.0]];
    let xh = array![[0.5, 0.0], [0.0, 1.0], [0.7, 1e-9]];
    let s = metrics::support_recovery(xt.view(), xh.view(), 1e-6).unwrap();
    assert!((s.support_precision - 0.75).abs() < 1e-12);
    assert!((s.support_recall - 0.75).abs() < 1e-12);
    assert!((s.support_f1 - 0.75).abs() < 1e-12);
    assert!((s.support_exact - 0.5).abs() < 1e-12);
    assert!((s.support_hamming - 1.0).abs() < 1e-12);
    // code_err: sample 0: ‖(0.5, 2, −0.7)‖, sample 1: ‖(0, 2, −1e-9)‖
    let e0 = (0.25f64 + 4.0 + 0.49).sqrt();
    let e1 = (4.0f64 + 1e-18).sqrt();
    assert!((metrics::code_err(xt.view(), xh.view()).unwrap() - (e0 + e1) / 2.0).abs() < 1e-12);
}

#[test]
fn metric_errors_are_typed() {
    let a = Array2::<f64>::eye(3);
    let d = Array2::<f64>::eye(4);
    let e = metrics::dictionary_recovery(a.view(), d.view()).unwrap_err();
    assert!(
        matches!(e, Error::ShapeMismatch { .. }) && e.to_string().contains("transpose"),
        "{e}"
    );
    let mut bad = Array2::<f64>::eye(3);
    bad[(1, 1)] = f64::NAN;
    assert!(matches!(
        metrics::dictionary_recovery(a.view(), bad.view()),
        Err(Error::NonFinite { row: 1, col: 1, .. })
    ));
    assert!(metrics::l4_error(a.view(), Array2::<f64>::zeros((3, 5)).view()).is_err());
    assert!(metrics::support_recovery(a.view(), d.view(), 0.0).is_err());
}

#[test]
fn rip_bounds_bracket_the_exhaustive_constant() {
    let inst = InstanceSpec::new(6, 12, 1).sample(4).unwrap();
    let a = inst.dict;
    let s = 3;
    // exhaustive δ_3 over all C(12,3) = 220 supports
    let g = a.t().dot(&a);
    let mut exact: f64 = 0.0;
    for i in 0..12 {
        for j in i + 1..12 {
            for k in j + 1..12 {
                let idx = [i, j, k];
                let sub = Array2::from_shape_fn((3, 3), |(p, q)| g[(idx[p], idx[q])]);
                let w = linalg::eigvalsh(sub.view()).unwrap();
                exact = exact.max((1.0 - w[0]).max(w[2] - 1.0));
            }
        }
    }
    let mut rng = rng_from_seed(0);
    let lo = metrics::rip_lower_bound_mc(a.view(), s, 20, true, &mut rng).unwrap();
    let up_b = metrics::rip_upper_bound_babel(a.view(), s).unwrap();
    let up_g = metrics::rip_upper_bound_gershgorin(a.view(), s);
    assert!(
        lo.delta <= exact + 1e-12 && exact <= up_b + 1e-12 && up_b <= up_g + 1e-12,
        "{} ≤ {exact} ≤ {up_b} ≤ {up_g}",
        lo.delta
    );
    // the local search finds the exhaustive maximum on this tiny case
    assert!(
        (lo.delta - exact).abs() < 1e-9,
        "local search {} vs exhaustive {exact}",
        lo.delta
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn recovery_is_invariant_under_permutation_and_sign(seed in 0u64..10_000, m in 2usize..24) {
        let mut rng = rng_from_seed(seed);
        let a = dictlab::generate::gaussian_dictionary(8, m, &mut rng).unwrap();
        let noisy = &a + &(dictlab::generate::dictionary::gaussian_matrix(8, m, &mut rng) * 0.05);
        let base = recovery_metrics(a.view(), noisy.view(), 0.99).unwrap();
        // random permutation and signs
        let perm = rand::seq::index::sample(&mut rng, m, m).into_vec();
        let mut pd = Array2::<f64>::zeros((8, m));
        for (j, &p) in perm.iter().enumerate() {
            let s = if rng.random::<bool>() { -1.0 } else { 1.0 };
            pd.column_mut(j).assign(&(&noisy.column(p) * s));
        }
        let r = recovery_metrics(a.view(), pd.view(), 0.99).unwrap();
        prop_assert!((r.recovery_score - base.recovery_score).abs() < 1e-9);
        prop_assert!((r.max_sine_dist - base.max_sine_dist).abs() < 1e-9);
        prop_assert!((r.fro_dist_perm - base.fro_dist_perm).abs() < 1e-9);
        prop_assert!((r.columnwise_dist - base.columnwise_dist).abs() < 1e-9);
        prop_assert_eq!(r.recovery_rate, base.recovery_rate);
        // a perfect signed permutation of the truth is perfect recovery
        let mut pa = Array2::<f64>::zeros((8, m));
        for (j, &p) in perm.iter().enumerate() {
            pa.column_mut(j).assign(&(&a.column(p) * if j % 2 == 0 { -1.0 } else { 1.0 }));
        }
        let r = recovery_metrics(a.view(), pa.view(), 0.99).unwrap();
        prop_assert!((r.recovery_score - 1.0).abs() < 1e-12 && r.columnwise_dist < 1e-6 && r.recovery_rate == 1.0);
    }
}

#[test]
fn mmcs_fvu_and_shrinkage_hand_computed() {
    use dictlab::metrics::{dictionary_recovery, fvu, shrinkage};
    use ndarray::array;
    // truth I₂, one estimate u = (1, 1)/√2: MMCS = (0.7071 + 0.7071)/2; the matched score leaves
    // one atom unmatched: (0.7071 + 0)/2
    let truth = array![[1.0, 0.0], [0.0, 1.0]];
    let est = array![[1.0], [1.0]];
    let r = dictionary_recovery(truth.view(), est.view()).unwrap();
    let c = std::f64::consts::FRAC_1_SQRT_2;
    assert!((r.mmcs() - c).abs() < 1e-12);
    assert!((r.recovery_score() - c / 2.0).abs() < 1e-12);
    // y = [1, −1], ŷ = [0.5, −0.5]: residual 0.5, variance about the mean 0 is 2 → 0.25; ‖ŷ‖/‖y‖ = 0.5
    let y = array![[1.0, -1.0]];
    let yh = array![[0.5, -0.5]];
    assert!((fvu(y.view(), yh.view()).unwrap() - 0.25).abs() < 1e-12);
    assert!((shrinkage(y.view(), yh.view()).unwrap() - 0.5).abs() < 1e-12);
    assert!(fvu(array![[1.0, 1.0]].view(), yh.view()).is_err());
}
