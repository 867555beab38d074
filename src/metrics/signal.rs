//! Signal-quality metrics (sporco `metric.py` order: reference first).
//!
//! * `snr_db(ref, est)` = $10\log_{10}(\|r\|^2 / \|r - e\|^2)$
//! * `psnr(ref, est, peak)` = $10\log_{10}(\text{peak}^2 / \mathrm{MSE})$ (peak = 1 for images in [0, 1])
//! * `psnr_pudle`: $20\log_{10}\max(\text{ref}) - 10\log_{10}\mathrm{MSE}$ (PUDLE's code: the clean image's max)

use crate::error::{Error, Result, check_finite, ensure};
use ndarray::ArrayView2;

/// Fraction of variance unexplained: `Σ‖y − ŷ‖² / Σ‖y − ȳ‖²`, ȳ the mean signal (columns are
/// signals).
///
/// # Errors
/// Shapes differ, non-finite or empty input, signals with no variance.
pub fn fvu(reference: ArrayView2<'_, f64>, estimate: ArrayView2<'_, f64>) -> Result<f64> {
    let res = mse(reference, estimate)? * reference.len() as f64;
    let mean = reference
        .mean_axis(ndarray::Axis(1))
        .ok_or_else(|| Error::invalid("reference", "empty", "a non-empty array"))?;
    let var: f64 = reference
        .columns()
        .into_iter()
        .map(|c| (&c - &mean).mapv(|v| v * v).sum())
        .sum();
    ensure!(
        var > 0.0,
        "reference",
        "constant signals",
        "signals with non-zero variance"
    );
    Ok(res / var)
}

/// Shrinkage: mean over signals with `y ≠ 0` of `‖ŷ‖ / ‖y‖` (1 = no shrinkage; L1 penalties push
/// it below 1).
///
/// # Errors
/// Shapes differ, non-finite or empty input, all signals zero.
pub fn shrinkage(reference: ArrayView2<'_, f64>, estimate: ArrayView2<'_, f64>) -> Result<f64> {
    mse(reference, estimate)?;
    let ratios: Vec<f64> = reference
        .columns()
        .into_iter()
        .zip(estimate.columns())
        .filter_map(|(r, e)| {
            let nr = r.dot(&r).sqrt();
            (nr > 0.0).then(|| e.dot(&e).sqrt() / nr)
        })
        .collect();
    ensure!(
        !ratios.is_empty(),
        "reference",
        "all zero",
        "at least one non-zero signal"
    );
    Ok(ratios.iter().sum::<f64>() / ratios.len() as f64)
}

fn mse(r: ArrayView2<'_, f64>, e: ArrayView2<'_, f64>) -> Result<f64> {
    check_finite("reference", r)?;
    check_finite("estimate", e)?;
    if r.dim() != e.dim() {
        return Err(Error::shape("estimate", r.dim(), e.dim()));
    }
    ensure!(!r.is_empty(), "reference", "empty", "a non-empty array");
    Ok(r.iter()
        .zip(e.iter())
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / r.len() as f64)
}

/// SNR in dB of `estimate` against `reference` (+∞ for an exact estimate).
pub fn snr_db(reference: ArrayView2<'_, f64>, estimate: ArrayView2<'_, f64>) -> Result<f64> {
    let m = mse(reference, estimate)?;
    let p = reference.iter().map(|x| x * x).sum::<f64>() / reference.len() as f64;
    Ok(10.0 * (p / m).log10())
}

/// PSNR in dB with the given peak value.
pub fn psnr(
    reference: ArrayView2<'_, f64>,
    estimate: ArrayView2<'_, f64>,
    peak: f64,
) -> Result<f64> {
    ensure!(
        peak > 0.0,
        "peak",
        peak,
        "peak > 0 (1 for images in [0, 1], 255 for 8-bit)"
    );
    let m = mse(reference, estimate)?;
    Ok(10.0 * (peak * peak / m).log10())
}

/// PUDLE's PSNR: peak = max of the clean image.
pub fn psnr_pudle(reference: ArrayView2<'_, f64>, estimate: ArrayView2<'_, f64>) -> Result<f64> {
    let m = mse(reference, estimate)?;
    let mx = reference.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    Ok(20.0 * mx.log10() - 10.0 * m.log10())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hand_computed_snr_psnr() {
        let r = array![[1.0, 0.0], [0.0, 1.0]];
        let e = array![[0.9, 0.0], [0.0, 1.1]];
        // mse = (0.01 + 0.01)/4 = 0.005; power = 0.5 -> snr = 10 log10(100) = 20
        assert!((snr_db(r.view(), e.view()).unwrap() - 20.0).abs() < 1e-12);
        assert!((psnr(r.view(), e.view(), 1.0).unwrap() - 10.0 * (200.0f64).log10()).abs() < 1e-12);
        assert!(
            (psnr_pudle(r.view(), e.view()).unwrap() - 10.0 * (200.0f64).log10()).abs() < 1e-12
        );
        assert!(psnr(r.view(), e.view(), 0.0).is_err());
    }
}
