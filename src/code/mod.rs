//! Sparse coders: every coder codes all N columns of `Y` (n × N) against `A` (n × m) at once and
//! returns `X` (m × N) with a [`CodeInfo`].
//!
//! | coder | problem | method |
//! |---|---|---|
//! | [`Pgm`] (`Pgm::ista`, `Pgm::fista`) | Lasso | proximal gradient, batched (one m×m×N GEMM per iteration) |
//! | [`CoordinateDescent`] | Lasso | cyclic CD on the Gram matrix, active sets, parallel over signals |
//! | [`LarsLasso`] | Lasso (exact) | LARS homotopy on the Gram matrix, per signal (the path SPAMS follows) |
//! | [`Omp`] | ℓ0 (k atoms or residual tolerance) | Batch-OMP with progressive Cholesky, parallel over signals |
//! | [`Iht`] | ℓ0 (exactly k) | iterative hard thresholding, batched |
//! | [`threshold`] | one step | soft / hard-k / ReLU encoders used by neural models |
//!
//! The Lasso objective and its duality gap ([`lasso_objective`], [`lasso_duality_gap`]) are shared,
//! so every Lasso coder can be stopped on the same gap.
//!
//! The Lasso, per column: $\min_x \tfrac12\|y - Ax\|_2^2 + \lambda\|x\|_1$ (with $x \ge 0$ for the
//! non-negative variants). Dual point $\theta = r \cdot \min(1, \lambda/\|A^\top r\|_\infty)$,
//! $r = y - Ax$; dual objective $D(\theta) = \tfrac12\|y\|^2 - \tfrac12\|y-\theta\|^2$;
//! gap $= P(x) - D(\theta) \ge 0$ (for $x \ge 0$ the dual constraint is $\max_i (A^\top\theta)_i \le \lambda$).

mod batch;
pub mod simd;
pub mod threshold;

crate::method_modules! {
    /// The sparse coders of this module, in the order `dictlab methods` lists them.
    CODER_SPECS: CoderSpec {
        mod omp: SPEC;
        mod lars: LASSO_SPEC, SPEC;
        mod pgm: FISTA_SPEC, ISTA_SPEC;
        mod cd: SPEC;
        mod iht: SPEC;
    }
}

pub use cd::CoordinateDescent;
pub use iht::Iht;
pub use lars::LarsLasso;
pub use omp::{Omp, OmpStop};
pub use pgm::{Momentum, Pgm};

use crate::error::{Error, Result, check_finite, ensure};
use crate::iter::Termination;
use crate::linalg;
use crate::spec::{Dflt, MethodSpec, Param, Ty};
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// The spec of a sparse coder (see [`crate::spec`]): what [`crate::registry`] lists.
pub type CoderSpec = MethodSpec<Box<dyn SparseCoder>>;

/// The parameter `lambda` of the Lasso coders: the ℓ1 penalty, required.
pub const LAMBDA: Param = Param::new(
    "lambda",
    Ty::Positive,
    Dflt::Required,
    "ℓ1 penalty λ (λ ≥ max|Aᵀy| gives the all-zero code)",
);

/// The parameter `sparsity` of the ℓ0 coders and learners: k non-zeros per code.
pub const SPARSITY: Param = Param::new(
    "sparsity",
    Ty::Count,
    Dflt::Auto("instance k"),
    "non-zeros per code k",
);

/// Codes and diagnostics.
#[derive(Clone, Debug)]
pub struct Encoding {
    /// X (m × N).
    pub codes: Array2<f64>,
    /// Diagnostics.
    pub info: CodeInfo,
}

/// Diagnostics of one coding call.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeInfo {
    /// Iterations (for per-signal coders: the maximum over signals).
    pub iters: usize,
    /// Why it stopped.
    pub termination: Termination,
    /// Final objective (Lasso objective summed over columns, or ½‖Y − AX‖² for ℓ0 coders).
    pub objective: f64,
    /// Seconds.
    pub elapsed: f64,
    /// Signals whose OMP stopped early because of linear dependence (0 for other coders).
    pub premature: usize,
}

/// A sparse coder.
pub trait SparseCoder: Send + Sync {
    /// Parametrised name, e.g. `fista[lambda=0.1]`.
    fn name(&self) -> String;
    /// Code every column of `y` (n × N) against `dict` (n × m).
    ///
    /// # Errors
    /// Invalid parameters, shape mismatch, zero-norm atoms, non-finite input.
    fn encode(&self, dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Encoding>;
}

impl SparseCoder for Box<dyn SparseCoder> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn encode(&self, dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Encoding> {
        (**self).encode(dict, y)
    }
}

/// Validate a coding problem: shapes, finiteness, non-zero atoms. Returns the atoms' squared norms.
pub fn check_problem(dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
    let (n, m) = dict.dim();
    ensure!(
        n >= 1 && m >= 1,
        "dictionary",
        format!("{n}×{m}"),
        "a non-empty n × m dictionary"
    );
    if y.nrows() != n {
        return Err(Error::ShapeMismatch {
            what: "signals (n × N: one signal per column)",
            expected: (n, y.ncols()),
            found: y.dim(),
            // which input looks like scikit-learn's layout (its transpose of ours)
            hint: if m == y.nrows() {
                "; the dictionary looks transposed (scikit-learn's components_ is m × n): save `components_.T`".into()
            } else if y.ncols() == n {
                "; the signals look transposed (scikit-learn's X is N × n): save `X.T`".into()
            } else if m == y.ncols() {
                "; both look transposed (scikit-learn's layout): save `components_.T` and `X.T`"
                    .into()
            } else {
                String::new()
            },
        });
    }
    check_finite("dictionary", dict)?;
    check_finite("signals", y)?;
    let norms: Vec<f64> = dict.axis_iter(Axis(1)).map(|c| c.dot(&c)).collect();
    // squares that overflow make every correlation and the Gram matrix infinite: the coders would
    // return zeros "converged" (a dictionary scaled by 1e200)
    if let Some(j) = norms.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "dictionary",
            format!(
                "atom {j} has norm {:.3e}, whose square overflows",
                crate::linalg::norm2(dict.column(j))
            ),
            "a dictionary with a sane scale: normalize its columns (unit-norm atoms) first",
        ));
    }
    if let Some(i) = y.axis_iter(Axis(1)).position(|c| !c.dot(&c).is_finite()) {
        return Err(Error::invalid(
            "signals",
            format!(
                "signal {i} has norm {:.3e}, whose square overflows",
                crate::linalg::norm2(y.column(i))
            ),
            "signals with a sane scale: divide them by their largest norm first",
        ));
    }
    // the mirror image: signals so small that their squares underflow (1e-170 × a unit signal)
    // make every correlation 0 and the coders return zeros "converged"
    let largest = y
        .axis_iter(Axis(1))
        .map(|c| crate::linalg::norm2(c))
        .fold(0.0f64, f64::max);
    if largest > 0.0 && largest < TINY_SIGNAL {
        return Err(Error::invalid(
            "signals",
            format!("largest signal norm {largest:.3e}, whose square underflows"),
            "signals with a sane scale: divide them by their largest norm first",
        ));
    }
    if let Some(j) = norms.iter().position(|&v| v <= 1e-300) {
        let norm = crate::linalg::norm2(dict.column(j));
        return Err(Error::invalid(
            "dictionary",
            if norm == 0.0 {
                format!("atom {j} has zero norm")
            } else {
                format!("atom {j} has norm {norm:.3e}, too small to square in floating point")
            },
            "non-zero atoms of a sane scale: remove or resample zero atoms, normalize the columns (unit-norm atoms) first",
        ));
    }
    Ok(norms)
}

/// Signals whose largest norm is below this are refused: their squares (≈ 1e-280 and less) lose
/// all precision in the correlations and Gram matrices of every coder.
pub const TINY_SIGNAL: f64 = 1e-140;

pub(crate) fn check_lambda(lambda: f64) -> Result<()> {
    ensure!(
        lambda.is_finite() && lambda > 0.0,
        "lambda",
        lambda,
        "λ > 0 (λ_max = max|Aᵀy| gives the all-zero solution)"
    );
    Ok(())
}

/// Soft threshold `sign(z)·max(|z| − t, 0)`.
#[inline]
pub fn soft(z: f64, t: f64) -> f64 {
    if z > t {
        z - t
    } else if z < -t {
        z + t
    } else {
        0.0
    }
}

/// Non-negative soft threshold `max(z − t, 0)`.
#[inline]
pub fn soft_nonneg(z: f64, t: f64) -> f64 {
    (z - t).max(0.0)
}

/// Shared precomputations: Gram `AᵀA` (m × m) and correlations `AᵀY` (m × N).
#[derive(Clone, Debug)]
pub struct Precomputed {
    /// AᵀA.
    pub gram: Array2<f64>,
    /// AᵀY.
    pub aty: Array2<f64>,
}

impl Precomputed {
    /// Compute both with faer on all threads.
    pub fn new(dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Self {
        Precomputed {
            gram: linalg::gram(dict, linalg::par()),
            aty: linalg::matmul_tn(dict, y, linalg::par()),
        }
    }
}

/// λ_max = max_j ‖Aᵀy_j‖_∞: the smallest λ for which every code is zero (columnwise max).
pub fn lambda_max(dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<f64> {
    check_problem(dict, y)?;
    let aty = linalg::matmul_tn(dict, y, linalg::par());
    Ok(aty.iter().fold(0.0f64, |a, v| a.max(v.abs())))
}

/// Lasso objective Σ_j ½‖y_j − A x_j‖² + λ‖x_j‖₁.
pub fn lasso_objective(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
    lambda: f64,
) -> f64 {
    let r = residual(dict, y, x);
    0.5 * r.iter().map(|v| v * v).sum::<f64>() + lambda * x.iter().map(|v| v.abs()).sum::<f64>()
}

/// `Y − A X`.
pub fn residual(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
) -> Array2<f64> {
    let mut r = y.to_owned();
    linalg::gemm_into(
        r.view_mut(),
        -1.0,
        dict,
        false,
        x,
        false,
        1.0,
        linalg::par(),
    );
    r
}

/// Per-column duality gaps of the Lasso at `x` (see the module doc); `nonneg` for x ≥ 0.
pub fn lasso_duality_gaps(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
    lambda: f64,
    nonneg: bool,
) -> Vec<f64> {
    let r = residual(dict, y, x);
    let atr = linalg::matmul_tn(dict, r.view(), linalg::par());
    (0..y.ncols())
        .into_par_iter()
        .map(|j| {
            let rj = r.column(j);
            let yj = y.column(j);
            let c = atr.column(j);
            let cmax = if nonneg {
                c.iter().fold(0.0f64, |a, v| a.max(*v))
            } else {
                c.iter().fold(0.0f64, |a, v| a.max(v.abs()))
            };
            let s = if cmax > lambda { lambda / cmax } else { 1.0 };
            let rr = rj.dot(&rj);
            let primal = 0.5 * rr + lambda * x.column(j).iter().map(|v| v.abs()).sum::<f64>();
            // ‖y − θ‖² with θ = s r
            let yy = yj.dot(&yj);
            let yr = yj.dot(&rj);
            let y_theta = yy - 2.0 * s * yr + s * s * rr;
            let dual = 0.5 * yy - 0.5 * y_theta;
            (primal - dual).max(0.0)
        })
        .collect()
}

/// Summed duality gap.
pub fn lasso_duality_gap(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
    lambda: f64,
    nonneg: bool,
) -> f64 {
    lasso_duality_gaps(dict, y, x, lambda, nonneg).iter().sum()
}

/// Largest eigenvalue of a symmetric PSD matrix by power iteration (‖A‖₂² from the Gram), run until
/// the Rayleigh quotient changes by < 1e-12 relatively (at most `iters` steps), times 1 + 1e-6 as a
/// safety margin (the quotient approaches λ_max from below; with a tiny eigengap the neighbouring
/// eigenvalues are as large, so the error stays small). Deterministic start (ones + index ramp).
pub fn lipschitz_from_gram(gram: ArrayView2<'_, f64>, iters: usize) -> f64 {
    let m = gram.nrows();
    let mut v = ndarray::Array1::from_iter((0..m).map(|i| 1.0 + (i as f64) / (m as f64)));
    let mut lam = 0.0;
    for _ in 0..iters.max(1) {
        let w = gram.dot(&v);
        let nw = w.dot(&w).sqrt();
        if nw <= 0.0 {
            return 0.0;
        }
        let new = v.dot(&w) / v.dot(&v);
        v = w / nw;
        if (new - lam).abs() <= 1e-12 * new.abs() {
            lam = new;
            break;
        }
        lam = new;
    }
    lam * (1.0 + 1e-6)
}
