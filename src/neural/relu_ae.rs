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
//! # The blog note's variants ([`Unit`], untied decoder)
//! docs/protocols.md §5 (BLOG-E4) asks for the 1-bit unit `r = s·H(bᵀy − ε)` (the decoder sees only the
//! sign of the biased response) with a straight-through surrogate gradient, and an untied
//! decoder `Ŷ = D R` as an option; [`loss_grad_with`] and [`TiedAeGd`] take both. With an untied
//! decoder, `∇_W` is the encoder path alone and `∇_D = G Rᵀ`.
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
//! - docs/protocols.md §2 for the protocol and the v1 code's variants.

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

/// The hidden unit σ of `R = σ(W Y − ε)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Unit {
    /// `r = ReLU(z − ε)` (Rangamani et al.).
    #[default]
    Relu,
    /// The blog note's 1-bit unit (BLOG-E4): `r = s · H(z − ε) = (s/2)(1 + sgn(bᵀy − ε))`, so
    /// the decoder sees only the sign of the biased response. The step has zero derivative almost
    /// everywhere; the encoder gets a **straight-through** surrogate (ours, as JumpReLU's
    /// estimator): `∂r/∂z ≈ (s/β) 1[|z − ε| < β/2]`, the derivative of the ramp
    /// `s · clamp((z − ε)/β + ½, 0, 1)`. The decoder's gradient is exact.
    Sign {
        /// Output level s > 0 of an active unit (the mean non-zero code value is the natural
        /// choice for a tied decoder; an untied decoder absorbs it).
        scale: f64,
        /// Kernel bandwidth β > 0.
        bandwidth: f64,
    },
}

impl Unit {
    fn check(&self) -> Result<()> {
        if let Unit::Sign { scale, bandwidth } = *self {
            ensure!(
                scale.is_finite() && scale > 0.0,
                "scale",
                scale,
                "an output level s > 0"
            );
            ensure!(
                bandwidth.is_finite() && bandwidth > 0.0,
                "bandwidth",
                bandwidth,
                "a surrogate bandwidth β > 0"
            );
        }
        Ok(())
    }
}

/// Loss, gradient and hidden-layer activity at one point.
#[derive(Clone, Debug)]
pub struct AeEval {
    /// L = ‖Ŷ − Y‖²/(2N).
    pub loss: f64,
    /// ∇_W L (h × n): both paths for a tied decoder, the encoder path for an untied one.
    pub grad: Array2<f64>,
    /// ∇_D L (n × h) of an untied decoder `D`; `None` when tied.
    pub grad_dec: Option<Array2<f64>>,
    /// Fraction of (unit, sample) pairs with Z > ε.
    pub active_fraction: f64,
}

/// The forward pass: hidden codes, `Ŷ − Y`, the biased pre-activations where the unit's
/// derivative needs them, the loss and the active fraction.
struct Forward {
    r: Array2<f64>,
    e: Array2<f64>,
    z: Option<Array2<f64>>,
    loss: f64,
    active_fraction: f64,
}

fn forward(
    w: ArrayView2<'_, f64>,
    dec: Option<ArrayView2<'_, f64>>,
    y: ArrayView2<'_, f64>,
    eps: f64,
    unit: Unit,
) -> Forward {
    let mut z = pre_activations(w, y);
    let mut active = 0usize;
    let (r, z) = match unit {
        Unit::Relu => {
            z.mapv_inplace(|v| {
                let v = v - eps;
                if v > 0.0 {
                    active += 1;
                    v
                } else {
                    0.0
                }
            });
            (z, None)
        }
        Unit::Sign { scale, .. } => {
            z.mapv_inplace(|v| v - eps);
            let r = z.mapv(|v| {
                if v > 0.0 {
                    active += 1;
                    scale
                } else {
                    0.0
                }
            });
            (r, Some(z))
        }
    };
    let mut e = y.to_owned();
    gemm_into(
        e.view_mut(),
        1.0,
        decoder(w, dec),
        false,
        r.view(),
        false,
        -1.0,
        par(),
    );
    let active_fraction = active as f64 / r.len() as f64;
    let loss = e.iter().map(|v| v * v).sum::<f64>() / (2.0 * y.ncols() as f64);
    Forward {
        r,
        e,
        z,
        loss,
        active_fraction,
    }
}

/// The decoder `V` (n × h): the untied `D`, or `Wᵀ` (a transposed view, no copy).
fn decoder<'a>(w: ArrayView2<'a, f64>, dec: Option<ArrayView2<'a, f64>>) -> ArrayView2<'a, f64> {
    dec.unwrap_or_else(|| w.reversed_axes())
}

fn check_model(
    w: ArrayView2<'_, f64>,
    dec: Option<ArrayView2<'_, f64>>,
    y: ArrayView2<'_, f64>,
    unit: Unit,
) -> Result<()> {
    check(w, y)?;
    unit.check()?;
    if let Some(d) = dec {
        let want = (w.ncols(), w.nrows());
        if d.dim() != want {
            return Err(Error::shape("untied decoder (n × h)", want, d.dim()));
        }
    }
    Ok(())
}

/// The tied ReLU autoencoder's loss alone (two GEMMs).
///
/// # Errors
/// Shapes that do not conform.
pub fn loss(w: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>, eps: f64) -> Result<f64> {
    loss_with(w, None, y, eps, Unit::Relu)
}

/// The loss of the autoencoder with unit `unit` and decoder `dec` (`None`: tied, `Ŷ = Wᵀ R`).
///
/// # Errors
/// Shapes that do not conform, invalid unit parameters.
pub fn loss_with(
    w: ArrayView2<'_, f64>,
    dec: Option<ArrayView2<'_, f64>>,
    y: ArrayView2<'_, f64>,
    eps: f64,
    unit: Unit,
) -> Result<f64> {
    check_model(w, dec, y, unit)?;
    Ok(forward(w, dec, y, eps, unit).loss)
}

/// The tied ReLU autoencoder's loss and analytic gradient (five GEMMs, see the module doc).
///
/// # Errors
/// Shapes that do not conform.
pub fn loss_grad(w: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>, eps: f64) -> Result<AeEval> {
    loss_grad_with(w, None, y, eps, Unit::Relu)
}

/// Loss and gradient of the autoencoder with unit `unit` and decoder `dec` (`None`: tied).
/// With `V` the decoder (`Wᵀ` or `D`), `G = (Ŷ − Y)/N` and `σ'` the unit's (surrogate)
/// derivative: `∇_D = G Rᵀ` (untied) or its transpose `R Gᵀ` added to `∇_W` (tied), and
/// `∇_W += ((Vᵀ G) ⊙ σ'(Z − ε)) Yᵀ`.
///
/// # Errors
/// Shapes that do not conform, invalid unit parameters.
pub fn loss_grad_with(
    w: ArrayView2<'_, f64>,
    dec: Option<ArrayView2<'_, f64>>,
    y: ArrayView2<'_, f64>,
    eps: f64,
    unit: Unit,
) -> Result<AeEval> {
    check_model(w, dec, y, unit)?;
    let nn = y.ncols() as f64;
    let Forward {
        r,
        mut e,
        z,
        loss,
        active_fraction,
    } = forward(w, dec, y, eps, unit);
    e.mapv_inplace(|v| v / nn); // G
    let mut grad = Array2::zeros(w.dim());
    // decoder path
    let grad_dec = match dec {
        None => {
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
            None
        }
        Some(_) => {
            let mut gd = Array2::zeros((w.ncols(), w.nrows()));
            gemm_into(
                gd.view_mut(),
                1.0,
                e.view(),
                false,
                r.view(),
                true,
                0.0,
                par(),
            );
            Some(gd)
        }
    };
    // encoder path: ((Vᵀ G) ⊙ σ') Yᵀ
    let mut back = Array2::zeros(r.dim());
    gemm_into(
        back.view_mut(),
        1.0,
        decoder(w, dec),
        true,
        e.view(),
        false,
        0.0,
        par(),
    );
    match (unit, &z) {
        (Unit::Sign { scale, bandwidth }, Some(z)) => {
            Zip::from(&mut back).and(z).for_each(|b, &zv| {
                *b *= if (zv / bandwidth).abs() < 0.5 {
                    scale / bandwidth
                } else {
                    0.0
                };
            })
        }
        // ReLU: R > 0 exactly where Z > ε
        _ => Zip::from(&mut back).and(&r).for_each(|b, &rv| {
            if rv <= 0.0 {
                *b = 0.0;
            }
        }),
    }
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
        grad_dec,
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

/// Full-batch gradient descent on the autoencoder: tied ReLU by default (the paper's model);
/// [`TiedAeGd::unit`] and [`TiedAeGd::untied`] select the blog note's variants.
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
    /// Hidden unit (ReLU by default).
    pub unit: Unit,
    /// Learn a separate decoder `D` (n × h), started at `W₀ᵀ`, instead of tying it to `Wᵀ`.
    pub untied: bool,
}

impl TiedAeGd {
    /// η and ε, the paper's tolerance 2·10⁻⁵ and 10 000 iterations.
    pub fn new(lr: f64, eps: f64) -> Self {
        TiedAeGd {
            lr,
            rel_grad_tol: 2e-5,
            max_iters: 10_000,
            eps,
            unit: Unit::Relu,
            untied: false,
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
        self.unit.check()
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
        let dec = self.untied.then(|| w0.t().to_owned());
        let ev = loss_grad_with(w0, dec.as_ref().map(|d| d.view()), y, self.eps, self.unit)?;
        let g0 = grad_norm(&ev);
        let state = AeState {
            w: w0.to_owned(),
            dec,
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
    /// The untied decoder (n × h), if any.
    pub dec: Option<Array2<f64>>,
    /// Loss, gradient and activity at `w`.
    pub eval: AeEval,
    /// ‖∇L‖_F at `w` (both matrices for an untied decoder).
    pub grad_norm: f64,
    /// ‖∇L‖_F at the start.
    pub grad_norm0: f64,
}

fn grad_norm(ev: &AeEval) -> f64 {
    ev.grad
        .iter()
        .chain(ev.grad_dec.iter().flatten())
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt()
}

struct GdIter {
    params: TiedAeGd,
    y: Array2<f64>,
}

impl Iterative for GdIter {
    type State = AeState;
    fn step(&mut self, s: &mut AeState) -> Result<()> {
        s.w.scaled_add(-self.params.lr, &s.eval.grad);
        if let (Some(d), Some(gd)) = (s.dec.as_mut(), s.eval.grad_dec.as_ref()) {
            d.scaled_add(-self.params.lr, gd);
        }
        s.eval = loss_grad_with(
            s.w.view(),
            s.dec.as_ref().map(|d| d.view()),
            self.y.view(),
            self.params.eps,
            self.params.unit,
        )?;
        s.grad_norm = grad_norm(&s.eval);
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
