//! Dense kernels through faer, with zero-copy views between ndarray and faer.
//!
//! ndarray is the public array type; every GEMM, SVD, eigendecomposition, QR and Cholesky goes
//! through faer (pure Rust, about 4x Debian OpenBLAS on these machines, see TOOLCHAIN.md).
//! [`as_faer`] / [`as_faer_mut`] reinterpret an ndarray view as a faer view with the same strides:
//! no copy is made.
//!
//! Every function takes a [`Par`]: use [`Par::Seq`] where results must be bit-identical whatever
//! the thread count (the generators do), and [`par`] (all threads of the current rayon pool)
//! elsewhere.

use crate::error::{Error, Result};
use faer::linalg::matmul::matmul;
use faer::reborrow::ReborrowMut;
use faer::{Accum, MatMut, MatRef, Side};
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, ShapeBuilder};

pub use faer::Par;

/// The floating-point types the training kernels run in: `f64` (the crate's default, and every
/// check) and `f32` (the neural trainers' fast path, as PyTorch trains). Conversions to and from
/// `f64` are the only extra operations the kernels need beyond faer's and num-traits'.
pub trait Real:
    faer::traits::RealField
    + num_traits::Float
    + num_traits::float::TotalOrder
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + std::iter::Sum
    + std::fmt::Debug
    + Default
    + Send
    + Sync
    + 'static
{
    /// `x` rounded to this type.
    fn of(x: f64) -> Self;
    /// This value as an `f64` (exact).
    fn widen(self) -> f64;
}

impl Real for f64 {
    #[inline]
    fn of(x: f64) -> Self {
        x
    }
    #[inline]
    fn widen(self) -> f64 {
        self
    }
}

impl Real for f32 {
    #[inline]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn widen(self) -> f64 {
        f64::from(self)
    }
}

/// The ℓ2 norm of a vector, robust to scale: entries of 1e200 (whose squares overflow) or
/// 1e-200 (whose squares underflow) give their true norm, not ∞ or 0.
pub fn norm2(v: ndarray::ArrayView1<'_, f64>) -> f64 {
    let sq = v.dot(&v);
    if sq.is_finite() && sq > 1e-280 {
        return sq.sqrt(); // the common case, bit-identical to `v.dot(&v).sqrt()`
    }
    // squares overflowed (entries near 1e154 and above) or underflowed: scale before squaring
    let big = v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    if big == 0.0 || !big.is_finite() {
        return big;
    }
    big * v.iter().map(|x| (x / big) * (x / big)).sum::<f64>().sqrt()
}

/// Parallelism over the current rayon pool (`Par::Seq` when it has one thread).
pub fn par() -> Par {
    let n = rayon::current_num_threads();
    if n <= 1 { Par::Seq } else { Par::rayon(n) }
}

/// Zero-copy faer view of an ndarray view.
pub fn as_faer<'a, T: Real>(a: ArrayView2<'a, T>) -> MatRef<'a, T> {
    let (r, c) = a.dim();
    let s = a.strides();
    // SAFETY: the pointer, shape and strides come from a live ndarray view with lifetime 'a.
    unsafe { MatRef::from_raw_parts(a.as_ptr(), r, c, s[0], s[1]) }
}

/// Zero-copy mutable faer view of an ndarray view.
pub fn as_faer_mut<'a, T: Real>(mut a: ArrayViewMut2<'a, T>) -> MatMut<'a, T> {
    let (r, c) = a.dim();
    let s = [a.strides()[0], a.strides()[1]];
    // SAFETY: as for `as_faer`; the view is unique for 'a.
    unsafe { MatMut::from_raw_parts_mut(a.as_mut_ptr(), r, c, s[0], s[1]) }
}

/// Copy a faer matrix into a new row-major ndarray.
pub fn to_ndarray(m: MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// `out = alpha * op(a) op(b) + beta * out` where `op` transposes when the flag is set.
///
/// # Panics
/// If the shapes do not conform (callers check shapes at the API boundary).
#[allow(clippy::too_many_arguments, clippy::float_cmp)] // BLAS-style signature; β = 0 / 1 are exact sentinels
pub fn gemm_into<T: Real>(
    out: ArrayViewMut2<'_, T>,
    alpha: T,
    a: ArrayView2<'_, T>,
    trans_a: bool,
    b: ArrayView2<'_, T>,
    trans_b: bool,
    beta: T,
    par: Par,
) {
    let mut o = as_faer_mut(out);
    let fa = if trans_a {
        as_faer(a).transpose()
    } else {
        as_faer(a)
    };
    let fb = if trans_b {
        as_faer(b).transpose()
    } else {
        as_faer(b)
    };
    if beta == T::zero() {
        matmul(o.rb_mut(), Accum::Replace, fa, fb, alpha, par);
    } else {
        if beta != T::one() {
            o.rb_mut()
                .col_iter_mut()
                .for_each(|c| c.iter_mut().for_each(|x| *x *= beta));
        }
        matmul(o.rb_mut(), Accum::Add, fa, fb, alpha, par);
    }
}

/// `a b` as a new array.
pub fn matmul_nn(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, par: Par) -> Array2<f64> {
    let mut out = Array2::zeros((a.nrows(), b.ncols()));
    gemm_into(out.view_mut(), 1.0, a, false, b, false, 0.0, par);
    out
}

/// `aᵀ b` as a new array.
pub fn matmul_tn(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, par: Par) -> Array2<f64> {
    let mut out = Array2::zeros((a.ncols(), b.ncols()));
    gemm_into(out.view_mut(), 1.0, a, true, b, false, 0.0, par);
    out
}

/// `a bᵀ` as a new array.
pub fn matmul_nt(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, par: Par) -> Array2<f64> {
    let mut out = Array2::zeros((a.nrows(), b.nrows()));
    gemm_into(out.view_mut(), 1.0, a, false, b, true, 0.0, par);
    out
}

/// Gram matrix `aᵀ a` (m × m for an n × m dictionary).
pub fn gram(a: ArrayView2<'_, f64>, par: Par) -> Array2<f64> {
    matmul_tn(a, a, par)
}

/// Thin SVD `a = U diag(s) Vᵀ`, singular values non-increasing. Returns `(U, s, V)`.
pub fn thin_svd(a: ArrayView2<'_, f64>) -> Result<(Array2<f64>, Array1<f64>, Array2<f64>)> {
    let svd = as_faer(a).thin_svd().map_err(|e| Error::Linalg {
        op: "thin SVD",
        detail: format!("{e:?}"),
    })?;
    let s = svd.S().column_vector();
    let s = Array1::from_iter((0..s.nrows()).map(|i| s[i]));
    Ok((to_ndarray(svd.U()), s, to_ndarray(svd.V())))
}

/// Singular values, non-increasing.
pub fn singular_values(a: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
    as_faer(a).singular_values().map_err(|e| Error::Linalg {
        op: "singular values",
        detail: format!("{e:?}"),
    })
}

/// Symmetric eigendecomposition `a = V diag(w) Vᵀ`, eigenvalues non-decreasing. Returns `(w, V)`.
/// Only the lower triangle of `a` is read.
pub fn eigh(a: ArrayView2<'_, f64>) -> Result<(Array1<f64>, Array2<f64>)> {
    let e = as_faer(a)
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| Error::Linalg {
            op: "symmetric eigendecomposition",
            detail: format!("{e:?}"),
        })?;
    let s = e.S().column_vector();
    let w = Array1::from_iter((0..s.nrows()).map(|i| s[i]));
    Ok((w, to_ndarray(e.U())))
}

/// Symmetric eigenvalues, non-decreasing.
pub fn eigvalsh(a: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
    as_faer(a)
        .self_adjoint_eigenvalues(Side::Lower)
        .map_err(|e| Error::Linalg {
            op: "symmetric eigenvalues",
            detail: format!("{e:?}"),
        })
}

/// Orthonormal factor `Q` (n × min(n, m)) of the thin QR decomposition of `a`.
pub fn qr_q(a: ArrayView2<'_, f64>) -> Array2<f64> {
    let q = as_faer(a).qr().compute_thin_Q();
    to_ndarray(q.as_ref())
}

/// Polar factor `U Vᵀ` of `a = U Σ Vᵀ`: the nearest matrix with orthonormal columns (rows if wide).
pub fn polar(a: ArrayView2<'_, f64>, par: Par) -> Result<Array2<f64>> {
    let (u, _, v) = thin_svd(a)?;
    Ok(matmul_nt(u.view(), v.view(), par))
}

/// Solve `a x = b` for symmetric positive definite `a` (m × m) by Cholesky; `b` is m × r.
///
/// # Errors
/// [`Error::Linalg`] if `a` is not numerically positive definite.
pub fn spd_solve(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
    use faer::linalg::solvers::Solve;
    let llt = as_faer(a).llt(Side::Lower).map_err(|e| Error::Linalg {
        op: "Cholesky",
        detail: format!("{e:?} (matrix not positive definite)"),
    })?;
    let x = llt.solve(as_faer(b));
    Ok(to_ndarray(x.as_ref()))
}

/// A column-major (Fortran-order) zero matrix, for kernels that write columns.
pub fn zeros_f(rows: usize, cols: usize) -> Array2<f64> {
    Array2::zeros((rows, cols).f())
}

/// Solve `A x = b` in place for a small symmetric positive semi-definite `A` (k × k, row-major) by
/// Cholesky with a relative jitter when a pivot vanishes (supports larger than n make D_SᵀD_S
/// singular: the minimum-norm-like solution of the jittered system is used). The one small
/// dense solver of the crate for k × k systems inside per-signal loops (a faer call costs more
/// than the solve there); m × m systems go through [`spd_solve`]. LARS and OMP keep their own
/// progressive factors (one row appended per step), which are kernels, not general solvers.
pub fn small_spd_solve(a: &mut [f64], k: usize, b: &mut [f64]) {
    let scale = (0..k)
        .map(|i| a[i * k + i])
        .fold(0.0f64, f64::max)
        .max(1e-300);
    for i in 0..k {
        for j in 0..=i {
            let mut s = a[i * k + j];
            for l in 0..j {
                s -= a[i * k + l] * a[j * k + l];
            }
            if i == j {
                a[i * k + i] = s.max(1e-12 * scale).sqrt();
            } else {
                a[i * k + j] = s / a[j * k + j];
            }
        }
    }
    for i in 0..k {
        let mut s = b[i];
        for l in 0..i {
            s -= a[i * k + l] * b[l];
        }
        b[i] = s / a[i * k + i];
    }
    for i in (0..k).rev() {
        let mut s = b[i];
        for l in i + 1..k {
            s -= a[l * k + i] * b[l];
        }
        b[i] = s / a[i * k + i];
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(clippy::float_cmp)] // bit-identity with the plain formula is the point
    fn norm2_is_exact_at_any_scale_and_unchanged_at_ordinary_ones() {
        use ndarray::array;
        assert!((super::norm2(array![3e200, 4e200].view()) / 5e200 - 1.0).abs() < 1e-15);
        assert!((super::norm2(array![3e-200, -4e-200].view()) / 5e-200 - 1.0).abs() < 1e-15);
        assert_eq!(super::norm2(array![0.0, 0.0].view()), 0.0);
        let v = array![0.3, -1.7, 2.5, 1e-3];
        assert_eq!(super::norm2(v.view()), v.dot(&v).sqrt());
    }

    use super::*;
    use ndarray::array;

    #[test]
    fn gemm_variants_match_hand_products() {
        let a = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let b = array![[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]];
        assert_eq!(matmul_nn(a.view(), b.view(), Par::Seq), a.dot(&b));
        assert_eq!(matmul_tn(a.view(), a.view(), Par::Seq), a.t().dot(&a));
        assert_eq!(matmul_nt(b.view(), b.view(), Par::Seq), b.dot(&b.t()));
        // transposed (non-contiguous) views are read without copying
        assert_eq!(matmul_nn(b.t(), a.t(), Par::Seq), b.t().dot(&a.t()));
        let mut out = Array2::ones((3, 3));
        gemm_into(
            out.view_mut(),
            2.0,
            a.view(),
            false,
            b.view(),
            false,
            0.5,
            Par::Seq,
        );
        let expect = a.dot(&b) * 2.0 + 0.5;
        assert_eq!(out, expect);
    }

    #[test]
    fn svd_and_eigh_reconstruct() {
        let a = array![
            [2.0, 1.0, 0.0],
            [1.0, 3.0, 1.0],
            [0.0, 1.0, 4.0],
            [1.0, 0.0, 1.0]
        ];
        let (u, s, v) = thin_svd(a.view()).unwrap();
        let rec = (&u * &s).dot(&v.t());
        assert!((rec - &a).iter().all(|x| x.abs() < 1e-12));
        let g = a.t().dot(&a);
        let (w, q) = eigh(g.view()).unwrap();
        assert!(w[0] <= w[1] && w[1] <= w[2]);
        let rec = (&q * &w).dot(&q.t());
        assert!((rec - &g).iter().all(|x| x.abs() < 1e-10));
        let p = polar(a.view(), Par::Seq).unwrap();
        let i = p.t().dot(&p);
        assert!((i - Array2::<f64>::eye(3)).iter().all(|x| x.abs() < 1e-12));
    }

    #[test]
    fn small_spd_solve_by_hand_and_on_a_singular_system() {
        // [[4, 2], [2, 3]] x = [2, 1]: x = [0.5, 0] by hand
        let (mut a, mut b) = (vec![4.0, 2.0, 2.0, 3.0], vec![2.0, 1.0]);
        small_spd_solve(&mut a, 2, &mut b);
        assert!((b[0] - 0.5).abs() < 1e-15 && b[1].abs() < 1e-15, "{b:?}");
        // a rank-1 system stays finite (the jittered pivot)
        let (mut a, mut b) = (vec![1.0, 1.0, 1.0, 1.0], vec![1.0, 1.0]);
        small_spd_solve(&mut a, 2, &mut b);
        assert!(b.iter().all(|v| v.is_finite()), "{b:?}");
    }
}
