//! Support recovery and code error (docs/protocols.md §0).
//!
//! Per sample j, $S = \operatorname{supp}(x^*_j)$ and $\hat S = \{i : |\hat x_{ij}| > \mathrm{tol}\}$;
//! $P = |S\cap\hat S|/|\hat S|$, $R = |S\cap\hat S|/|S|$, $F_1 = 2PR/(P+R)$, averaged over samples.
//! Conventions for empty sets: an empty $\hat S$ has precision 1 if $S$ is empty too, else 0; an empty
//! $S$ has recall 1; $F_1 = 0$ when $P + R = 0$. When the estimate's atoms are not in the truth's
//! order, re-index the codes first with [`crate::metrics::Recovery::align_codes`].

use crate::error::{Error, Result, check_finite, ensure};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// Averaged support statistics.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SupportStats {
    /// Mean precision.
    pub support_precision: f64,
    /// Mean recall.
    pub support_recall: f64,
    /// Mean F1.
    pub support_f1: f64,
    /// Fraction of samples with Ŝ = S.
    pub support_exact: f64,
    /// Mean |S Δ Ŝ|.
    pub support_hamming: f64,
    /// Threshold used.
    pub tol: f64,
}

impl SupportStats {
    /// `(name, value)` pairs of the five statistics (for sweep rows and JSON output).
    pub fn pairs(&self) -> [(&'static str, f64); 5] {
        [
            ("support_precision", self.support_precision),
            ("support_recall", self.support_recall),
            ("support_f1", self.support_f1),
            ("support_exact", self.support_exact),
            ("support_hamming", self.support_hamming),
        ]
    }
}

fn check_codes(x_true: ArrayView2<'_, f64>, x_hat: ArrayView2<'_, f64>) -> Result<()> {
    check_finite("true codes", x_true)?;
    check_finite("estimated codes", x_hat)?;
    if x_true.dim() != x_hat.dim() {
        return Err(Error::ShapeMismatch {
            what: "estimated codes (m × N)",
            expected: x_true.dim(),
            found: x_hat.dim(),
            hint: " — codes are columns (one per sample)".into(),
        });
    }
    ensure!(
        x_true.ncols() >= 1,
        "codes",
        "0 samples",
        "at least one sample"
    );
    Ok(())
}

/// Support precision / recall / F1 / exact / Hamming, averaged over samples.
///
/// # Errors
/// Shapes differ, non-finite entries, `tol < 0`.
pub fn support_recovery(
    x_true: ArrayView2<'_, f64>,
    x_hat: ArrayView2<'_, f64>,
    tol: f64,
) -> Result<SupportStats> {
    check_codes(x_true, x_hat)?;
    ensure!(tol >= 0.0, "tol", tol, "tol ≥ 0");
    let (m, nn) = x_true.dim();
    let (mut p, mut r, mut f, mut ex, mut ham) = (0.0, 0.0, 0.0, 0usize, 0usize);
    for j in 0..nn {
        let (mut s, mut sh, mut both) = (0usize, 0usize, 0usize);
        for i in 0..m {
            let a = x_true[(i, j)] != 0.0;
            let b = x_hat[(i, j)].abs() > tol;
            s += a as usize;
            sh += b as usize;
            both += (a && b) as usize;
        }
        let pj = if sh == 0 {
            if s == 0 { 1.0 } else { 0.0 }
        } else {
            both as f64 / sh as f64
        };
        let rj = if s == 0 { 1.0 } else { both as f64 / s as f64 };
        let fj = if pj + rj > 0.0 {
            2.0 * pj * rj / (pj + rj)
        } else {
            0.0
        };
        let hj = s + sh - 2 * both;
        p += pj;
        r += rj;
        f += fj;
        ham += hj;
        ex += (hj == 0) as usize;
    }
    let n = nn as f64;
    Ok(SupportStats {
        support_precision: p / n,
        support_recall: r / n,
        support_f1: f / n,
        support_exact: ex as f64 / n,
        support_hamming: ham as f64 / n,
        tol,
    })
}

/// `code_err`: mean over samples of ‖x̂_j − x*_j‖₂.
pub fn code_err(x_true: ArrayView2<'_, f64>, x_hat: ArrayView2<'_, f64>) -> Result<f64> {
    check_codes(x_true, x_hat)?;
    let nn = x_true.ncols();
    let total: f64 = (0..nn)
        .map(|j| {
            let d = &x_true.column(j) - &x_hat.column(j);
            d.dot(&d).sqrt()
        })
        .sum();
    Ok(total / nn as f64)
}
