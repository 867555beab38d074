//! Probes of the unrolled encoder's dictionary gradients against the Lasso gradient at the same
//! dictionary ([`DlProbe`], [`lasso_gradient`], [`grad_err_cos`]).

use super::*;
use crate::code::{Pgm, SparseCoder};
use crate::error::Result;
use crate::iter::{Record, Trace};
use crate::linalg::{gemm_into, par};
use crate::metrics;
use ndarray::{Array2, ArrayView2, Zip};

/// Ground-truth metrics of a training run, recorded by [`DlProbe::trace`].
///
/// Per recorded step: `fro_dist` and `fro_dist_rel` (identity matching: PUDLE starts near D*),
/// `recovery_score`, `columnwise_dist` (Hungarian); with codes, `code_err` = mean ‖z_T − z*‖ of the
/// encoder at the current D on the probe's signals; with `grad_ref`, `grad_err`/`grad_cos` of the
/// configured gradient on the probe's signals against the converged-Lasso gradient `(D ẑ − x)ẑᵀ/N`
/// (ẑ by FISTA to a relative duality gap of 10⁻¹²).
#[derive(Clone, Debug)]
pub struct DlProbe {
    /// D* (n × m).
    pub truth: Array2<f64>,
    /// Signals the code/gradient metrics use (n × N').
    pub y: Array2<f64>,
    /// Their true codes (m × N'), for `code_err`.
    pub codes: Option<Array2<f64>>,
    /// Compare the gradient with the converged-Lasso gradient (one FISTA solve per record).
    pub grad_ref: Option<Gradient>,
}

impl DlProbe {
    /// Metrics of `s` into `rec`.
    pub fn record(&self, s: &DlState, rec: &mut Record) {
        if let Ok(f) = metrics::fro_dist(self.truth.view(), s.dict.view()) {
            rec.set("fro_dist", f);
            rec.set("fro_dist_rel", f / (self.truth.ncols() as f64).sqrt());
        }
        if let Ok(r) = metrics::dictionary_recovery(self.truth.view(), s.dict.view()) {
            rec.set("recovery_score", r.recovery_score());
            rec.set("columnwise_dist", r.columnwise_dist());
            rec.set("recovery_rate", r.recovery_rate(0.99));
        }
        if let Some(x) = &self.codes
            && let Ok(z) = s.model.encode(s.dict.view(), self.y.view())
            && let Ok(e) = metrics::code_err(x.view(), z.view())
        {
            rec.set("code_err", e);
        }
        if let Some(g) = self.grad_ref
            && let Some(lambda) = s.model.threshold.lasso_lambda()
            && let Ok((gref, _)) = lasso_gradient(s.dict.view(), self.y.view(), lambda)
            && let Ok(ev) = s.model.gradient(s.dict.view(), self.y.view(), None, g)
        {
            let (e, c) = grad_err_cos(ev.grad.view(), gref.view());
            rec.set("grad_err", e);
            rec.set("grad_cos", c);
        }
    }
    /// A [`Trace`] that adds these metrics to every recorded row.
    pub fn trace(self) -> Trace<DlState> {
        Trace::with_metrics(move |s: &DlState, rec: &mut Record| self.record(s, rec))
    }
}

/// The converged-Lasso dictionary gradient `(1/N)(D ẑ − x) ẑᵀ` with ẑ the Lasso solution (FISTA to
/// a relative duality gap of 10⁻¹², at most 10⁵ iterations); returns it with ẑ.
///
/// # Errors
/// Invalid λ, shapes, non-finite input.
pub fn lasso_gradient(
    d: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
    lambda: f64,
) -> Result<(Array2<f64>, Array2<f64>)> {
    let z = Pgm::fista(lambda)
        .tol(1e-12)
        .max_iters(100_000)
        .encode(d, x)?
        .codes;
    let mut r = x.to_owned();
    gemm_into(r.view_mut(), 1.0, d, false, z.view(), false, -1.0, par());
    let mut g = Array2::zeros(d.raw_dim());
    gemm_into(
        g.view_mut(),
        1.0 / x.ncols() as f64,
        r.view(),
        false,
        z.view(),
        true,
        0.0,
        par(),
    );
    Ok((g, z))
}

/// `(‖g − g_ref‖_F, ⟨g, g_ref⟩/(‖g‖‖g_ref‖))` (docs/protocols.md §0 `grad_err`, `grad_cos`).
pub fn grad_err_cos(g: ArrayView2<'_, f64>, g_ref: ArrayView2<'_, f64>) -> (f64, f64) {
    let e = Zip::from(&g)
        .and(&g_ref)
        .fold(0.0, |a, x, y| a + (x - y) * (x - y))
        .sqrt();
    let dot = Zip::from(&g).and(&g_ref).fold(0.0, |a, x, y| a + x * y);
    let ng = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let nr = g_ref.iter().map(|v| v * v).sum::<f64>().sqrt();
    (e, dot / (ng * nr).max(1e-300))
}
