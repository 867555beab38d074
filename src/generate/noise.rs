//! Additive noise `E` for `Y = A X + E`.
//!
//! [`Noise::Sigma`] draws i.i.d. N(0, σ²) entries; [`Noise::SnrDb`] picks σ so that
//! `10 log10(‖AX‖_F² / (nN σ²)) = snr_db`, i.e. the expected SNR of the clean signals.

use crate::error::{Result, ensure};
use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Noise law.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Noise {
    /// Noiseless.
    #[default]
    None,
    /// Gaussian with standard deviation σ ≥ 0.
    Sigma {
        /// σ.
        sigma: f64,
    },
    /// Gaussian with σ set from a target SNR in dB.
    SnrDb {
        /// Target SNR (dB).
        snr_db: f64,
    },
}

impl Noise {
    /// Validate.
    pub fn check(&self) -> Result<()> {
        match *self {
            Noise::None => {}
            Noise::Sigma { sigma } => ensure!(
                sigma.is_finite() && sigma >= 0.0,
                "noise_sigma",
                sigma,
                "σ ≥ 0 and finite"
            ),
            Noise::SnrDb { snr_db } => {
                ensure!(snr_db.is_finite(), "snr_db", snr_db, "a finite SNR in dB")
            }
        }
        Ok(())
    }

    /// σ that this law uses for clean signals `clean`.
    pub fn sigma_for(&self, clean: ArrayView2<'_, f64>) -> f64 {
        match *self {
            Noise::None => 0.0,
            Noise::Sigma { sigma } => sigma,
            Noise::SnrDb { snr_db } => {
                let p = clean.iter().map(|v| v * v).sum::<f64>() / clean.len().max(1) as f64;
                (p / 10f64.powf(snr_db / 10.0)).sqrt()
            }
        }
    }

    /// Draw the noise matrix for `clean` (same shape). Returns `(E, σ)`.
    pub fn sample(
        &self,
        clean: ArrayView2<'_, f64>,
        rng: &mut impl Rng,
    ) -> Result<(Array2<f64>, f64)> {
        self.check()?;
        let sigma = self.sigma_for(clean);
        let (n, nn) = clean.dim();
        let mut e = Array2::zeros((n, nn));
        if sigma > 0.0 {
            for j in 0..nn {
                for i in 0..n {
                    e[(i, j)] = sigma * rng.sample::<f64, _>(StandardNormal);
                }
            }
        }
        Ok((e, sigma))
    }
}
