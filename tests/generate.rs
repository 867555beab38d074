//! Generators: unit norms, exact sparsity, value ranges, determinism, coherence targets, ETFs,
//! and the error paths.

use dictlab::generate::{self, CodeLaw, CoherenceOptions, Noise, Support, Values};
use dictlab::metrics::{coherence, welch_bound};
use dictlab::prelude::*;
use proptest::prelude::*;

fn assert_unit_columns(a: &Array2<f64>) {
    for (j, c) in a.columns().into_iter().enumerate() {
        let n = c.dot(&c).sqrt();
        assert!((n - 1.0).abs() < 1e-12, "column {j} has norm {n}");
    }
}

#[test]
fn every_dictionary_kind_has_unit_columns_and_the_right_shape() {
    let kinds = [
        (16, 40, DictKind::Gaussian),
        (16, 16, DictKind::Orthobasis),
        (16, 32, DictKind::IdentityHadamard),
        (16, 32, DictKind::IdentityDct),
        (16, 40, DictKind::TightFrame),
        (16, 40, DictKind::Coherence { target: 0.45 }),
        (16, 40, DictKind::Coherence { target: 0.95 }),
        (
            16,
            40,
            DictKind::NearDuplicates {
                cos: 0.97,
                pairs: 3,
            },
        ),
        (28, 64, DictKind::SteinerEtf),
    ];
    for (n, m, k) in kinds {
        let inst = InstanceSpec::new(n, m, 10).dictionary(k).sample(1).unwrap();
        assert_eq!(inst.dict.dim(), (n, m), "{k:?}");
        assert_unit_columns(&inst.dict);
    }
}

#[test]
fn orthobasis_is_orthonormal_and_tight_frame_is_tight() {
    let mut rng = rng_from_seed(3);
    let q = generate::orthobasis(12, &mut rng).unwrap();
    let i = q.t().dot(&q) - Array2::<f64>::eye(12);
    assert!(i.iter().all(|x| x.abs() < 1e-12));
    let (f, rep) = generate::unit_norm_tight_frame(8, 20, 1e-10, 2000, &mut rng).unwrap();
    assert!(rep.tightness_residual < 1e-10, "{rep:?}");
    let ff = f.dot(&f.t()) - Array2::<f64>::eye(8) * 2.5;
    assert!(ff.iter().all(|x| x.abs() < 1e-9));
    assert_unit_columns(&f);
}

#[test]
fn unions_of_bases_have_their_exact_coherence() {
    for n in [8usize, 16, 64] {
        let h = generate::identity_hadamard(n).unwrap();
        assert!((coherence(h.view()) - 1.0 / (n as f64).sqrt()).abs() < 1e-12);
        let d = generate::identity_dct(n).unwrap();
        let expect = (2.0 / n as f64).sqrt() * (std::f64::consts::PI / (2.0 * n as f64)).cos();
        assert!((coherence(d.view()) - expect).abs() < 1e-12, "n={n}");
    }
}

#[test]
fn steiner_etfs_are_equiangular_tight_frames() {
    for v in [4usize, 8, 16] {
        let a = generate::steiner_etf(v).unwrap();
        let (n, m) = a.dim();
        assert_eq!((n, m), (v * (v - 1) / 2, v * v));
        let mu_w = welch_bound(n, m);
        assert!((mu_w - 1.0 / (v as f64 - 1.0)).abs() < 1e-12);
        let g = a.t().dot(&a);
        for i in 0..m {
            for j in 0..m {
                let expect = if i == j { 1.0 } else { mu_w };
                assert!(
                    (g[(i, j)].abs() - expect).abs() < 1e-12,
                    "v={v} G[{i},{j}]={}",
                    g[(i, j)]
                );
            }
        }
        let t = a.dot(&a.t()) - Array2::<f64>::eye(n) * (m as f64 / n as f64);
        assert!(t.iter().all(|x| x.abs() < 1e-12));
    }
}

#[test]
fn coherence_target_met_on_a_grid() {
    // targets from 1.1 × the Welch bound upwards, for several (n, m): achieved ≤ 1.02 target,
    // and not far below it (the generator stops as soon as it is under the target). At m = 3n the
    // lowest μ reached is ≈ 1.14 × Welch (no real ETF is known there), so that row starts at 1.2.
    for (n, m, lowest) in [
        (8usize, 16usize, 1.1),
        (16, 32, 1.1),
        (32, 64, 1.1),
        (16, 48, 1.2),
    ] {
        let w = welch_bound(n, m);
        for factor in [lowest, 1.5, 2.5] {
            let target = factor * w;
            let mut rng = rng_from_seed(11);
            let (a, rep) =
                generate::coherence_targeted(n, m, target, &CoherenceOptions::default(), &mut rng)
                    .unwrap();
            let mu = coherence(a.view());
            assert!(
                mu <= target * 1.02,
                "n={n} m={m} target={target:.4} achieved={mu:.4} ({rep:?})"
            );
            assert!(
                mu >= target * 0.9,
                "n={n} m={m} target={target:.4} achieved={mu:.4}: far below target"
            );
            assert!(rep.met);
        }
    }
}

#[test]
fn coherence_can_be_raised_by_planted_pairs() {
    let mut rng = rng_from_seed(5);
    let (a, rep) =
        generate::coherence_targeted(32, 64, 0.9, &CoherenceOptions::default(), &mut rng).unwrap();
    assert_eq!(rep.direction, "raised");
    assert!((coherence(a.view()) - 0.9).abs() < 1e-9);
}

#[test]
fn coherence_below_welch_is_an_error_naming_the_bound() {
    let err = InstanceSpec::new(16, 64, 10)
        .dictionary(DictKind::Coherence { target: 0.1 })
        .check()
        .unwrap_err()
        .to_string();
    let w = welch_bound(16, 64);
    assert!(
        err.contains("Welch bound") && err.contains(&format!("{w:.5}")),
        "{err}"
    );
}

#[test]
fn code_laws_respect_sparsity_and_ranges() {
    let mut rng = rng_from_seed(9);
    let m = 30;
    let law = |support, values| CodeLaw { support, values };
    // exact k
    let x = law(Support::ExactK { k: 4 }, Values::Gaussian)
        .sample(m, 500, &mut rng)
        .unwrap();
    assert!(
        x.columns()
            .into_iter()
            .all(|c| c.iter().filter(|v| **v != 0.0).count() == 4)
    );
    // zipf: exact k, and atom 0 used more often than atom m-1
    let x = law(
        Support::Zipf {
            k: 3,
            exponent: 1.2,
        },
        Values::Rademacher,
    )
    .sample(m, 2000, &mut rng)
    .unwrap();
    assert!(
        x.columns()
            .into_iter()
            .all(|c| c.iter().filter(|v| **v != 0.0).count() == 3)
    );
    assert!(x.iter().all(|v| *v == 0.0 || v.abs() == 1.0));
    let use0 = x.row(0).iter().filter(|v| **v != 0.0).count();
    let use_last = x.row(m - 1).iter().filter(|v| **v != 0.0).count();
    assert!(use0 > 3 * use_last, "{use0} vs {use_last}");
    // bernoulli: mean count ≈ θ m
    let x = law(
        Support::Bernoulli { theta: 0.2 },
        Values::SignedUniform { a: 1.0, b: 2.0 },
    )
    .sample(m, 2000, &mut rng)
    .unwrap();
    let nnz = x.iter().filter(|v| **v != 0.0).count() as f64 / 2000.0;
    assert!((nnz - 6.0).abs() < 0.3, "{nnz}");
    assert!(x.iter().all(|v| *v == 0.0 || (1.0..2.0).contains(&v.abs())));
    assert!(x.iter().any(|v| *v < 0.0) && x.iter().any(|v| *v > 0.0));
    // non-negative uniform
    let x = law(
        Support::ExactK { k: 2 },
        Values::NonNegUniform { a: 1.0, b: 10.0 },
    )
    .sample(m, 300, &mut rng)
    .unwrap();
    assert!(x.iter().all(|v| *v == 0.0 || (1.0..10.0).contains(v)));
    // shared sign: every code vector is all-positive or all-negative
    let x = law(
        Support::ExactK { k: 5 },
        Values::SharedSignUniform { a: 1.0, b: 2.0 },
    )
    .sample(m, 300, &mut rng)
    .unwrap();
    let mut signs = [0, 0];
    for c in x.columns() {
        let pos = c.iter().filter(|v| **v > 0.0).count();
        let neg = c.iter().filter(|v| **v < 0.0).count();
        assert!(pos == 0 || neg == 0);
        signs[(pos > 0) as usize] += 1;
    }
    assert!(signs[0] > 50 && signs[1] > 50);
}

#[test]
fn correlated_firing_keeps_k_and_the_marginals_and_raises_co_firing() {
    let (m, k, g, nn) = (24usize, 3usize, 4usize, 6000usize);
    let law = |rho| CodeLaw {
        support: Support::Correlated { k, group: g, rho },
        values: Values::Rademacher,
    };
    // fraction of samples whose k atoms lie in one group; counted by hand from the supports
    let stats = |rho: f64, seed: u64| {
        let x = law(rho).sample(m, nn, &mut rng_from_seed(seed)).unwrap();
        let mut one_group = 0usize;
        for c in x.columns() {
            let s: Vec<usize> = (0..m).filter(|&i| c[i] != 0.0).collect();
            assert_eq!(s.len(), k, "exactly k atoms");
            one_group += s.iter().all(|&i| i / g == s[0] / g) as usize;
        }
        let freq: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| r.iter().filter(|v| **v != 0.0).count() as f64 / nn as f64)
            .collect();
        (one_group as f64 / nn as f64, freq)
    };
    // ρ = 0: the uniform law; P(3 atoms in one group) = 6 · C(4,3) / C(24,3) = 24/2024
    let (p0, f0) = stats(0.0, 1);
    assert!((p0 - 24.0 / 2024.0).abs() < 0.01, "{p0}");
    // ρ = 1 with g = 4 > k: every sample inside one group
    let (p1, f1) = stats(1.0, 2);
    assert_eq!(p1, 1.0);
    // ρ = 0.5: second atom in the group w.p. ½ + ½·3/23, third likewise given that
    let (ph, _) = stats(0.5, 3);
    assert!(ph > 0.2 && ph < 0.45, "{ph}");
    // marginals stay k/m = 0.125 (g divides m)
    for f in f0.iter().chain(&f1) {
        assert!((f - 0.125).abs() < 0.03, "{f}");
    }
    // the plan keys build the same law, and a lone key is an error naming its partner
    let kv = |pairs: &[(&str, Value)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<Vec<_>>()
    };
    let base = [
        ("dim", Value::Int(8)),
        ("n_atoms", Value::Int(24)),
        ("n_samples", Value::Int(10)),
        ("sparsity", Value::Int(3)),
    ];
    let mut with = base.to_vec();
    with.push(("firing_group", Value::Int(4)));
    with.push(("firing_corr", Value::Float(0.5)));
    let spec = InstanceSpec::from_params(&kv(&with)).unwrap();
    assert_eq!(
        spec.codes.support,
        Support::Correlated {
            k: 3,
            group: 4,
            rho: 0.5
        }
    );
    assert!(spec.params().iter().any(|(k, _)| k == "firing_corr"));
    let mut lone = base.to_vec();
    lone.push(("firing_group", Value::Int(4)));
    let e = InstanceSpec::from_params(&kv(&lone)).unwrap_err();
    assert!(e.to_string().contains("firing_corr"), "{e}");
    let bad = InstanceSpec::new(8, 24, 10).support(Support::Correlated {
        k: 3,
        group: 4,
        rho: 1.5,
    });
    assert!(
        bad.sample(0)
            .unwrap_err()
            .to_string()
            .contains("ρ in [0, 1]")
    );
}

#[test]
fn noise_hits_the_requested_snr() {
    let inst = InstanceSpec::new(32, 64, 4000)
        .sparsity(4)
        .noise(Noise::SnrDb { snr_db: 10.0 })
        .sample(2)
        .unwrap();
    let snr = dictlab::metrics::snr_db(inst.clean().view(), inst.y.view()).unwrap();
    assert!((snr - 10.0).abs() < 0.1, "{snr}");
    let inst = InstanceSpec::new(32, 64, 4000)
        .noise(Noise::Sigma { sigma: 0.5 })
        .sample(2)
        .unwrap();
    let sd = (inst.noise.iter().map(|e| e * e).sum::<f64>() / inst.noise.len() as f64).sqrt();
    assert!((sd - 0.5).abs() < 0.01, "{sd}");
    // y = A x + e exactly
    let r = &inst.y - &(inst.dict.dot(&inst.codes) + &inst.noise);
    assert!(r.iter().all(|v| v.abs() < 1e-12));
}

#[test]
fn same_seed_same_bits_on_one_and_two_threads() {
    let spec = InstanceSpec::new(16, 40, 300)
        .sparsity(3)
        .dictionary(DictKind::Coherence { target: 0.4 })
        .noise(Noise::SnrDb { snr_db: 20.0 });
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| spec.sample(77).unwrap())
    };
    let (a, b) = (run(1), run(2));
    for (x, y) in [(&a.dict, &b.dict), (&a.codes, &b.codes), (&a.y, &b.y)] {
        assert!(
            x.iter()
                .zip(y.iter())
                .all(|(p, q)| p.to_bits() == q.to_bits())
        );
    }
    let c = spec.sample(78).unwrap();
    assert_ne!(a.y, c.y);
}

#[test]
fn invalid_parameters_are_typed_errors_naming_the_fix() {
    let cases: Vec<(InstanceSpec, &str)> = vec![
        (
            InstanceSpec::new(8, 16, 10).sparsity(17),
            "k ≤ the number of atoms",
        ),
        (InstanceSpec::new(0, 16, 10), "n ≥ 1"),
        (InstanceSpec::new(8, 16, 10).bernoulli(1.5), "θ in [0, 1]"),
        (
            InstanceSpec::new(8, 16, 10).values(Values::NonNegUniform { a: -1.0, b: 2.0 }),
            "a ≥ 0",
        ),
        (
            InstanceSpec::new(8, 16, 10).values(Values::SignedUniform { a: 2.0, b: 1.0 }),
            "0 ≤ a < b",
        ),
        (
            InstanceSpec::new(8, 16, 10).dictionary(DictKind::Orthobasis),
            "orthobasis",
        ),
        (
            InstanceSpec::new(6, 12, 10).dictionary(DictKind::IdentityHadamard),
            "power of two",
        ),
        (
            InstanceSpec::new(8, 16, 10).dictionary(DictKind::SteinerEtf),
            "(6, 16)",
        ),
        (
            InstanceSpec::new(8, 16, 10).noise(Noise::Sigma { sigma: f64::NAN }),
            "σ ≥ 0",
        ),
    ];
    for (spec, needle) in cases {
        match spec.sample(0) {
            Err(e @ Error::InvalidParameter { .. }) => {
                assert!(e.to_string().contains(needle), "{e} lacks {needle:?}")
            }
            other => panic!("expected InvalidParameter for {spec:?}, got {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn sampled_instances_respect_shape_and_sparsity(n in 2usize..20, extra in 0usize..20, k in 1usize..5, nn in 1usize..50, seed in 0u64..1000) {
        let m = n + extra;
        let k = k.min(m);
        let inst = InstanceSpec::new(n, m, nn).sparsity(k).sample(seed).unwrap();
        prop_assert_eq!(inst.y.dim(), (n, nn));
        prop_assert_eq!(inst.codes.dim(), (m, nn));
        for c in inst.codes.columns() {
            prop_assert_eq!(c.iter().filter(|v| **v != 0.0).count(), k);
        }
        let again = InstanceSpec::new(n, m, nn).sparsity(k).sample(seed).unwrap();
        prop_assert!(inst.y.iter().zip(again.y.iter()).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn scrambled_perturbation_is_a_signed_permutation_at_zero_and_moves_atoms_by_eps() {
    let mut rng = rng_from_seed(5);
    let a = dictlab::generate::gaussian_dictionary(8, 12, &mut rng).unwrap();
    let d = dictlab::generate::scrambled_perturbation(a.view(), 0.0, &mut rng).unwrap();
    // every column of d is ±(one column of a), each column of a used once
    let mut used = [false; 12];
    for j in 0..12 {
        let hit = (0..12)
            .find(|&i| {
                let c = a.column(i).dot(&d.column(j));
                !used[i] && (c.abs() - 1.0).abs() < 1e-12
            })
            .expect("a signed copy of an unused atom");
        used[hit] = true;
    }
    let r = dictlab::metrics::dictionary_recovery(a.view(), d.view()).unwrap();
    assert_eq!(r.recovery_rate(0.99), 1.0);
    // ε > 0: unit-norm columns, matched atoms no longer exact
    let d = dictlab::generate::scrambled_perturbation(a.view(), 0.3, &mut rng).unwrap();
    for c in d.columns() {
        assert!((c.dot(&c) - 1.0).abs() < 1e-12);
    }
    let r = dictlab::metrics::dictionary_recovery(a.view(), d.view()).unwrap();
    assert!(r.recovery_rate(0.999) < 1.0);
    assert!(dictlab::generate::scrambled_perturbation(a.view(), -1.0, &mut rng).is_err());
}
