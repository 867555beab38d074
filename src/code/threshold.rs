//! One-step encoders (the encoders neural models use) and the thresholding operators.
//!
//! * [`soft_encode`]: $X = \mathrm{soft}(A^\top Y, \lambda)$ (one ISTA step from 0 with unit step)
//! * [`hard_k_encode`]: keep the k largest $|A^\top y|$ entries per column
//! * [`relu_encode`]: $X = \max(A^\top Y - b, 0)$ (Rangamani et al.'s hidden layer, bias b ≥ 0)
//!
//! With an orthonormal A the soft encoder *is* the Lasso solution.

use super::{check_lambda, check_problem, soft};
use crate::error::{Result, ensure};
use crate::linalg;
use ndarray::{Array2, ArrayView2, ArrayViewMut1, Axis};
use rayon::prelude::*;

/// Keep the `k` largest-magnitude entries of `v` (ties broken by index), zero the rest.
pub fn hard_threshold_k(mut v: ArrayViewMut1<'_, f64>, k: usize, scratch: &mut Vec<(f64, usize)>) {
    let m = v.len();
    if k >= m {
        return;
    }
    scratch.clear();
    scratch.extend(v.iter().enumerate().map(|(i, x)| (x.abs(), i)));
    scratch.select_nth_unstable_by(k, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in &scratch[k..] {
        v[i] = 0.0;
    }
}

/// `soft(AᵀY, λ)`.
pub fn soft_encode(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    lambda: f64,
) -> Result<Array2<f64>> {
    check_problem(dict, y)?;
    check_lambda(lambda)?;
    Ok(linalg::matmul_tn(dict, y, linalg::par()).mapv(|z| soft(z, lambda)))
}

/// Top-k of |AᵀY| per column.
pub fn hard_k_encode(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    k: usize,
) -> Result<Array2<f64>> {
    check_problem(dict, y)?;
    ensure!(
        k >= 1 && k <= dict.ncols(),
        "sparsity",
        k,
        format!("1 ≤ k ≤ m = {}", dict.ncols())
    );
    let mut x = linalg::matmul_tn(dict, y, linalg::par());
    x.axis_iter_mut(Axis(1))
        .into_par_iter()
        .for_each_init(Vec::new, |s, col| hard_threshold_k(col, k, s));
    Ok(x)
}

/// `max(AᵀY − bias, 0)` with one bias per atom (`bias.len() == m`) or a single shared bias.
pub fn relu_encode(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    bias: &[f64],
) -> Result<Array2<f64>> {
    check_problem(dict, y)?;
    let m = dict.ncols();
    ensure!(
        bias.len() == 1 || bias.len() == m,
        "bias",
        bias.len(),
        format!("one bias or m = {m} biases")
    );
    ensure!(
        bias.iter().all(|b| b.is_finite()),
        "bias",
        "non-finite",
        "finite biases"
    );
    let mut x = linalg::matmul_tn(dict, y, linalg::par());
    for (i, mut row) in x.axis_iter_mut(Axis(0)).enumerate() {
        let b = if bias.len() == 1 { bias[0] } else { bias[i] };
        row.mapv_inplace(|z| (z - b).max(0.0));
    }
    Ok(x)
}
