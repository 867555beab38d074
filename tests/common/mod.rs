//! Shared by the integration tests: a small sweep plan, a bit-for-bit table comparison, a
//! seeded Gaussian matrix.
#![allow(dead_code)]

use dictlab::polars::prelude::*;
use ndarray::Array2;
use rand_distr::{Distribution, StandardNormal};

/// An r × c standard-normal matrix from `seed`.
pub fn gaussian(r: usize, c: usize, seed: u64) -> Array2<f64> {
    let mut rng = dictlab::rng::rng_from_seed(seed);
    Array2::from_shape_fn((r, c), |_| StandardNormal.sample(&mut rng))
}

/// 2 coherences × 2 sparsities × 2 repetitions; OMP, FISTA at two λ, MOD recorded at log-spaced
/// iterations: 32 runs, a fraction of a second.
pub const PLAN: &str = r#"
name = "test"
base_seed = 11
reps = 2

[record]
mode = "log"
per_decade = 3

[instance]
dim = 12
n_atoms = 16
n_samples = 200

[grid]
sparsity = [2, 3]
coherence = [0.5, 0.7]

[[method]]
name = "omp"

[[method]]
name = "fista"
lambda = [0.05, 0.2]

[[method]]
name = "mod"
iters = 8
"#;

/// Equal in every column but the timing ones, compared bit for bit (floats by their bits).
pub fn assert_same_results(a: &DataFrame, b: &DataFrame) {
    let names = |d: &DataFrame| -> Vec<String> {
        d.columns()
            .iter()
            .map(|c| c.name().to_string())
            .filter(|n| n != "time_s" && n != "m_time_to_95")
            .collect()
    };
    assert_eq!(names(a), names(b));
    assert_eq!(a.height(), b.height());
    for n in names(a) {
        let (ca, cb) = (
            dictlab::sweep::col(a, &n).unwrap(),
            dictlab::sweep::col(b, &n).unwrap(),
        );
        assert_eq!(ca.dtype(), cb.dtype(), "{n}");
        if ca.dtype() == &DataType::Float64 {
            let bits = |c: &Column| -> Vec<Option<u64>> {
                c.f64()
                    .unwrap()
                    .iter()
                    .map(|v| v.map(f64::to_bits))
                    .collect()
            };
            assert_eq!(bits(ca), bits(cb), "column {n}");
        } else {
            assert_eq!(
                dictlab::sweep::column_str(a, &n).unwrap(),
                dictlab::sweep::column_str(b, &n).unwrap(),
                "column {n}"
            );
        }
    }
}
