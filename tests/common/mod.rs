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
    let d = dictlab::table::differences(a, b, &["time_s", "m_time_to_95"]).unwrap();
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// Run the `dictlab` binary of this build: (exit code, stdout, stderr).
pub fn dictlab(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dictlab"))
        .args(args)
        .output()
        .expect("run dictlab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The bytes of a version-1 `.npy` file with this header (`shape` as written in it, e.g.
/// `(3, 4)`) followed by `data_len` bytes `fill`: the hostile files of the reliability and fuzz
/// tests.
pub fn npy_bytes(descr: &str, shape: &str, fortran: bool, data_len: usize, fill: u8) -> Vec<u8> {
    let mut text = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(text.len() as u16).to_le_bytes());
    b.extend_from_slice(text.as_bytes());
    b.extend(std::iter::repeat_n(fill, data_len));
    b
}

/// The `(line, key, expected)` of the plan error `text` must raise (panics if it parses or fails
/// otherwise).
pub fn plan_error(text: &str) -> (usize, String, String) {
    match dictlab::sweep::Plan::from_toml_str(text) {
        Err(dictlab::Error::Plan {
            line,
            key,
            expected,
        }) => (line, key, expected),
        Err(e) => panic!("expected a plan error, got {e}"),
        Ok(_) => panic!("expected a plan error, the plan parsed"),
    }
}
