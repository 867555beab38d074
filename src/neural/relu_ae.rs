//! The weight-tied ReLU autoencoder of Rangamani, Mukherjee, Basu, Arora, Ganapathy, Ganguly
//! ("Sparse coding and autoencoders", ISIT 2018; arXiv 1708.03735), its analytic gradient, the
//! bias rules, and full-batch gradient descent with the paper's stopping rule.
//!
//! # Model
//! With `W ∈ ℝ^{h×n}` (row `W_i` estimates atom `a*_i`), a bias `ε` shared by every hidden unit and
//! signals `Y ∈ ℝ^{n×N}`:
//! ```text
//! Z = W Y − ε,   R = ReLU(Z),   Ŷ = Wᵀ R,   L(W) = (1/2N) ‖Ŷ − Y‖_F²
//! ```
//! # Gradient (both paths through W)
//! With `G = (Ŷ − Y)/N` (n × N) and `M = 1[Z > 0]`:
//! ```text
//! ∇_W L = R Gᵀ  +  ((W G) ⊙ M) Yᵀ
//!          decoder    encoder
//! ```
//! five GEMMs of `2hnN` flops each per evaluation (`W Y`, `Wᵀ R`, `R Gᵀ`, `W G`, `(·) Yᵀ`); the loss
//! alone costs the first two. Checked against central finite differences in the tests.
//!
//! # Bias rules ([`Bias`])
//! Theorem 3.1 sets `ε = 2 m₁ k (δ + μ/√n)` (m₁ the mean of a non-zero, k the sparsity, δ the
//! columnwise radius, μ/√n the coherence); the v1 code (aarora8/Autoencoder) uses
//! `½ m₁ k (δ + μ/√n)` (`Simulation_3413.m`) and `m₁ k (δ + μ/√n)` (`simu5.m`); ours adds a data-driven
//! rule, a quantile of the pre-activations `W Y`. Where ε exceeds every pre-activation no unit is
//! active and the gradient is exactly zero — [`AeEval::active_fraction`] reports it.
//!
//! # Gradient descent ([`TiedAeGd`])
//! `W ← W − η ∇L` on the full batch until `‖∇L‖_F < τ ‖∇L₀‖_F` (τ = 2·10⁻⁵ in the paper's Table 2),
//! on the crate's iteration engine; a learning rate that diverges ends as
//! [`crate::iter::Termination::NonFinite`] with its iteration, never as NaN output. No row
//! normalization during descent (as in the paper).
//!
//! ## References
//! - A. Rangamani et al., "Sparse coding and autoencoders", ISIT 2018 (arXiv 1708.03735): the model
//!   (Sec. 2), Theorem 3.1 (support recovery and the bias), Tables 1–2 and Figure 1 (Sec. 4).
//! - PAPERS.md §2 for the protocol and the v1 code's variants.

use crate::error::{Error, Result, ensure};
use crate::iter::{self, Criterion, Iterative, Observer, Schedule, SolveInfo, Stop};
use crate::linalg::{gemm_into, par};
use ndarray::{Array2, ArrayView2, Zip};

/// The shared hidden bias ε.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bias {
    /// A given ε.
    Value(f64),
    /// Theorem 3.1: ε = 2 m₁ k (δ + μ/√n).
    Theorem {
        /// Mean of a non-zero code value.
        m1: f64,
        /// Sparsity.
        k: f64,
        /// Columnwise radius δ.
        delta: f64,
        /// Coherence μ/√n (the max |⟨a_i, a_j⟩|).
        mu_over_sqrt_n: f64,
    },
    /// The v1 code's `Simulation_3413.m`: ε = ½ m₁ k (δ + μ/√n).
    V1Half {
        /// Mean of a non-zero code value.
        m1: f64,
        /// Sparsity.
        k: f64,
        /// Columnwise radius δ.
        delta: f64,
        /// Coherence μ/√n.
        mu_over_sqrt_n: f64,
    },
    /// Ours: the q-quantile of the entries of `W Y` at the point where ε is set (q ∈ [0, 1)).
    Quantile(f64),
}

impl Bias {
    /// The value of ε for weights `w` (h × n) and signals `y` (n × N).
    ///
    /// # Errors
    /// Negative or non-finite parameters, a quantile outside [0, 1).
    pub fn value(&self, w: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<f64> {
        let rule = |m1: f64, k: f64, delta: f64, mu: f64, c: f64| -> Result<f64> {
            for (name, v) in [
                ("m1", m1),
                ("k", k),
                ("delta", delta),
                ("mu_over_sqrt_n", mu),
            ] {
                ensure!(v.is_finite() && v >= 0.0, name, v, "a finite value ≥ 0");
            }
            Ok(c * m1 * k * (delta + mu))
        };
        match *self {
            Bias::Value(e) => {
                ensure!(e.is_finite(), "bias", e, "a finite ε");
                Ok(e)
            }
            Bias::Theorem {
                m1,
                k,
                delta,
                mu_over_sqrt_n,
            } => rule(m1, k, delta, mu_over_sqrt_n, 2.0),
            Bias::V1Half {
                m1,
                k,
                delta,
                mu_over_sqrt_n,
            } => rule(m1, k, delta, mu_over_sqrt_n, 0.5),
            Bias::Quantile(q) => {
                ensure!((0.0..1.0).contains(&q), "quantile", q, "q in [0, 1)");
                check(w, y)?;
                let mut z = pre_activations(w, y).into_raw_vec_and_offset().0;
                let i = ((q * z.len() as f64).floor() as usize).min(z.len() - 1);
                let (_, v, _) = z.select_nth_unstable_by(i, f64::total_cmp);
                Ok(*v)
            }
        }
    }
}

fn check(w: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<()> {
    let (h, n) = w.dim();
    ensure!(
        h >= 1 && n >= 1,
        "weights",
        format!("{h}×{n}"),
        "a non-empty h × n matrix"
    );
    if y.nrows() != n {
        return Err(Error::shape("signals (n × N)", (n, y.ncols()), y.dim()));
    }
    ensure!(y.ncols() >= 1, "n_samples", 0, "at least one signal");
    Ok(())
}

fn pre_activations(w: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut z = Array2::zeros((w.nrows(), y.ncols()));
    gemm_into(z.view_mut(), 1.0, w, false, y, false, 0.0, par());
    z
}

/// Loss, gradient and hidden-layer activity at one point.
#[derive(Clone, Debug)]
pub struct AeEval {
    /// L = ‖Ŷ − Y‖²/(2N).
    pub loss: f64,
    /// ∇_W L (h × n).
    pub grad: Array2<f64>,
    /// Fraction of (unit, sample) pairs with Z > 0.
    pub active_fraction: f64,
}

/// `(R, Ŷ − Y, active fraction)` at `w` with bias `eps`.
fn forward(
    w: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    eps: f64,
) -> (Array2<f64>, Array2<f64>, f64) {
    let mut r = pre_activations(w, y);
    let mut active = 0usize;
    r.mapv_inplace(|z| {
        let v = z - eps;
        if v > 0.0 {
            active += 1;
            v
        } else {
            0.0
        }
    });
    let mut e = y.to_owned();
    gemm_into(e.view_mut(), 1.0, w, true, r.view(), false, -1.0, par());
    let frac = active as f64 / r.len() as f64;
    (r, e, frac)
}

/// The loss alone (two GEMMs).
///
/// # Errors
/// Shapes that do not conform.
pub fn loss(w: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>, eps: f64) -> Result<f64> {
    check(w, y)?;
    let (_, e, _) = forward(w, y, eps);
    Ok(e.iter().map(|v| v * v).sum::<f64>() / (2.0 * y.ncols() as f64))
}

/// Loss and analytic gradient (five GEMMs, see the module doc).
///
/// # Errors
/// Shapes that do not conform.
pub fn loss_grad(w: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>, eps: f64) -> Result<AeEval> {
    check(w, y)?;
    let nn = y.ncols() as f64;
    let (r, mut e, active_fraction) = forward(w, y, eps);
    let loss = e.iter().map(|v| v * v).sum::<f64>() / (2.0 * nn);
    e.mapv_inplace(|v| v / nn); // G
    // decoder path: R Gᵀ
    let mut grad = Array2::zeros(w.dim());
    gemm_into(
        grad.view_mut(),
        1.0,
        r.view(),
        false,
        e.view(),
        true,
        0.0,
        par(),
    );
    // encoder path: ((W G) ⊙ 1[Z > 0]) Yᵀ; R > 0 exactly where Z > ε
    let mut back = pre_activations(w, e.view());
    Zip::from(&mut back).and(&r).for_each(|b, &rv| {
        if rv <= 0.0 {
            *b = 0.0;
        }
    });
    gemm_into(
        grad.view_mut(),
        1.0,
        back.view(),
        false,
        y,
        true,
        1.0,
        par(),
    );
    Ok(AeEval {
        loss,
        grad,
        active_fraction,
    })
}

/// Per sample, whether the set of active hidden units equals the true support (Theorem 3.1's
/// claim at `W = A*ᵀ`); returns the fraction of samples where it does.
///
/// # Errors
/// Shapes that do not conform (`x_true` must be h × N).
pub fn support_recovery_rate(
    w: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    eps: f64,
    x_true: ArrayView2<'_, f64>,
) -> Result<f64> {
    check(w, y)?;
    if x_true.dim() != (w.nrows(), y.ncols()) {
        return Err(Error::shape(
            "true codes (h × N)",
            (w.nrows(), y.ncols()),
            x_true.dim(),
        ));
    }
    let z = pre_activations(w, y);
    let ok = z
        .columns()
        .into_iter()
        .zip(x_true.columns())
        .filter(|(zc, xc)| {
            zc.iter()
                .zip(xc.iter())
                .all(|(&zv, &xv)| (zv > eps) == (xv != 0.0))
        })
        .count();
    Ok(ok as f64 / y.ncols() as f64)
}

/// Full-batch gradient descent on the tied autoencoder.
#[derive(Clone, Debug, PartialEq)]
pub struct TiedAeGd {
    /// Learning rate η.
    pub lr: f64,
    /// Stop when ‖∇L‖ < `rel_grad_tol` · ‖∇L₀‖ (2·10⁻⁵ in the paper).
    pub rel_grad_tol: f64,
    /// Iteration cap.
    pub max_iters: usize,
    /// The bias ε (fixed during descent).
    pub eps: f64,
}

impl TiedAeGd {
    /// η and ε, the paper's tolerance 2·10⁻⁵ and 10 000 iterations.
    pub fn new(lr: f64, eps: f64) -> Self {
        TiedAeGd {
            lr,
            rel_grad_tol: 2e-5,
            max_iters: 10_000,
            eps,
        }
    }
    fn check(&self) -> Result<()> {
        ensure!(
            self.lr.is_finite() && self.lr > 0.0,
            "lr",
            self.lr,
            "a learning rate > 0"
        );
        ensure!(
            self.rel_grad_tol.is_finite() && self.rel_grad_tol >= 0.0,
            "rel_grad_tol",
            self.rel_grad_tol,
            "a tolerance ≥ 0"
        );
        ensure!(self.eps.is_finite(), "eps", self.eps, "a finite bias");
        Ok(())
    }
    /// Descend from `w0` (h × n) on `y` (n × N), observing [`AeState`] on `schedule`.
    ///
    /// # Errors
    /// Invalid parameters or shapes, non-finite input. Divergence is a termination, not an error.
    pub fn run(
        &self,
        w0: ArrayView2<'_, f64>,
        y: ArrayView2<'_, f64>,
        schedule: Schedule,
        obs: &mut dyn Observer<AeState>,
    ) -> Result<(AeState, SolveInfo)> {
        self.check()?;
        check(w0, y)?;
        crate::error::check_finite("signals", y)?;
        crate::error::check_finite("initial weights", w0)?;
        let ev = loss_grad(w0, y, self.eps)?;
        let g0 = ev.grad.iter().map(|v| v * v).sum::<f64>().sqrt();
        let state = AeState {
            w: w0.to_owned(),
            grad_norm: g0,
            grad_norm0: g0,
            eval: ev,
        };
        let mut alg = GdIter {
            params: self.clone(),
            y: y.to_owned(),
        };
        iter::run(&mut alg, state, &Stop::iters(self.max_iters), schedule, obs)
    }
}

/// State of [`TiedAeGd`].
#[derive(Clone, Debug)]
pub struct AeState {
    /// Current weights (h × n).
    pub w: Array2<f64>,
    /// Loss, gradient and activity at `w`.
    pub eval: AeEval,
    /// ‖∇L‖_F at `w`.
    pub grad_norm: f64,
    /// ‖∇L‖_F at the start.
    pub grad_norm0: f64,
}

struct GdIter {
    params: TiedAeGd,
    y: Array2<f64>,
}

impl Iterative for GdIter {
    type State = AeState;
    fn step(&mut self, s: &mut AeState) -> Result<()> {
        s.w.scaled_add(-self.params.lr, &s.eval.grad);
        s.eval = loss_grad(s.w.view(), self.y.view(), self.params.eps)?;
        s.grad_norm = s.eval.grad.iter().map(|v| v * v).sum::<f64>().sqrt();
        Ok(())
    }
    fn objective(&self, s: &AeState) -> f64 {
        if s.grad_norm.is_finite() {
            s.eval.loss
        } else {
            f64::NAN
        }
    }
    fn record(&self, s: &AeState, rec: &mut iter::Record) {
        rec.set("grad_norm", s.grad_norm);
        rec.set("active_fraction", s.eval.active_fraction);
    }
    fn converged(&self, s: &AeState) -> Option<Criterion> {
        (s.grad_norm < self.params.rel_grad_tol * s.grad_norm0)
            .then_some(Criterion::Solver("grad_norm"))
    }
}
