//! Standalone guides.

pub mod for_sklearn_users {
    //! # dictlab for scikit-learn users
    //!
    //! **The layout is transposed.** dictlab follows the papers: signals, atoms and codes are
    //! *columns* — `Y` is n × N, `A` is n × m, `X` is m × N, and `Y ≈ A X`. scikit-learn stores
    //! *rows*: data `X_skl` is N × n, `components_` is m × n, codes are N × m, and
    //! `X_skl ≈ code @ components_`. Convert with a transpose in numpy before `np.save`
    //! (`np.save("Y.npy", X_skl.T)`, `np.save("A.npy", est.components_.T)`) or after loading.
    //! dictlab's shape errors mention the transpose when the shapes look swapped.
    //!
    //! | scikit-learn | dictlab |
    //! |---|---|
    //! | `sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=k)` | `code::Omp::with_sparsity(k).encode(A, Y)` |
    //! | `sparse_encode(..., algorithm="omp", tol=eps)` (overrides `n_nonzero_coefs`) | `code::Omp::with_tolerance(eps)` — an enum, no override rule |
    //! | `sparse_encode(..., algorithm="lasso_lars", alpha=λ)` | `code::LarsLasso::new(λ)` |
    //! | `sparse_encode(..., algorithm="lasso_cd", alpha=λ)` | `code::CoordinateDescent::new(λ)` |
    //! | `sparse_encode(..., algorithm="threshold", alpha=λ)` | `code::threshold::soft_encode(A, Y, λ)` |
    //! | `positive=True` | `.nonneg(true)` |
    //! | `make_sparse_coded_signal` | `InstanceSpec::new(n, m, N).sparsity(k).sample(seed)` |
    //!
    //! The Lasso objective is the same as scikit-learn's `sparse_encode` and SPAMS' `mode=2`:
    //! ½‖y − Ax‖² + λ‖x‖₁ per signal (scikit-learn's `Lasso` *estimator* divides the data term
    //! by the number of samples; `sparse_encode` compensates for it).
}
