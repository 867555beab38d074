//! Landscape probes for the autoencoders (Rangamani et al. Table 1 and Figure 1): points at a
//! prescribed columnwise distance from the truth, the gradient averaged over such points, and the
//! loss and gradient norm along a line.
//!
//! Rows are atoms here (the autoencoder's `W` is h × n, `W ≈ A*ᵀ`).

use super::relu_ae::loss_grad;
use crate::error::{Error, Result, ensure};
use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use rand_distr::StandardNormal;

/// `W_i = a_i + dist · u_i` with `u_i` uniform on the unit sphere, for every row `a_i` of `rows`
/// (h × n): each row exactly `dist` away from its atom.
///
/// # Errors
/// A negative or non-finite distance.
pub fn rows_at_distance(
    rows: ArrayView2<'_, f64>,
    dist: f64,
    rng: &mut impl Rng,
) -> Result<Array2<f64>> {
    ensure!(
        dist.is_finite() && dist >= 0.0,
        "dist",
        dist,
        "a distance ≥ 0"
    );
    let mut w = rows.to_owned();
    for mut row in w.rows_mut() {
        let u = unit_vector(row.len(), rng);
        row.scaled_add(dist, &u);
    }
    Ok(w)
}

fn unit_vector(n: usize, rng: &mut impl Rng) -> Array1<f64> {
    loop {
        let v = Array1::from_iter((0..n).map(|_| rng.sample::<f64, _>(StandardNormal)));
        let nv = v.dot(&v).sqrt();
        if nv > 1e-12 {
            return v / nv;
        }
    }
}

/// Gradient statistics over `points` probes at distance `dist` from `truth_rows` (h × n).
#[derive(Clone, Debug, PartialEq)]
pub struct GradientProbe {
    /// Reading (a) of PAPERS.md: mean over rows of ‖(1/P) Σ_j G_j[i, :]‖ (the averaged gradient).
    pub mean_row_norm_of_mean: f64,
    /// Reading (b): mean over points of the mean row norm of G_j.
    pub mean_of_mean_row_norm: f64,
    /// Mean fraction of active (unit, sample) pairs.
    pub active_fraction: f64,
    /// Mean loss.
    pub loss: f64,
}

/// Average the tied autoencoder's gradient over `points` random points at columnwise distance
/// `dist` from `truth_rows`, with bias `eps`, on signals `y`.
///
/// # Errors
/// `points = 0`, bad shapes or distance.
pub fn gradient_probe(
    truth_rows: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    eps: f64,
    dist: f64,
    points: usize,
    rng: &mut impl Rng,
) -> Result<GradientProbe> {
    ensure!(points >= 1, "points", points, "at least one probe point");
    let mut mean = Array2::<f64>::zeros(truth_rows.dim());
    let (mut b, mut act, mut loss) = (0.0, 0.0, 0.0);
    for _ in 0..points {
        let w = rows_at_distance(truth_rows, dist, rng)?;
        let ev = loss_grad(w.view(), y, eps)?;
        b += mean_row_norm(ev.grad.view());
        act += ev.active_fraction;
        loss += ev.loss;
        mean += &ev.grad;
    }
    let p = points as f64;
    mean /= p;
    Ok(GradientProbe {
        mean_row_norm_of_mean: mean_row_norm(mean.view()),
        mean_of_mean_row_norm: b / p,
        active_fraction: act / p,
        loss: loss / p,
    })
}

/// Mean of the rows' Euclidean norms.
pub fn mean_row_norm(g: ArrayView2<'_, f64>) -> f64 {
    g.rows().into_iter().map(|r| r.dot(&r).sqrt()).sum::<f64>() / g.nrows().max(1) as f64
}

/// `(t, loss, mean row norm of the gradient)` at `w0 + t · dir` for each `t`.
///
/// # Errors
/// `dir` shaped unlike `w0`; bad shapes.
pub fn along_direction(
    w0: ArrayView2<'_, f64>,
    dir: ArrayView2<'_, f64>,
    ts: &[f64],
    y: ArrayView2<'_, f64>,
    eps: f64,
) -> Result<Vec<(f64, f64, f64)>> {
    if dir.dim() != w0.dim() {
        return Err(Error::shape("direction (h × n)", w0.dim(), dir.dim()));
    }
    ts.iter()
        .map(|&t| {
            let w = &w0 + &(&dir * t);
            let ev = loss_grad(w.view(), y, eps)?;
            Ok((t, ev.loss, mean_row_norm(ev.grad.view())))
        })
        .collect()
}

/// A standard-normal h × n direction whose rows have unit norm (Figure 1's ΔW, transposed to rows).
pub fn random_direction(h: usize, n: usize, rng: &mut impl Rng) -> Array2<f64> {
    let mut d = Array2::zeros((h, n));
    for mut r in d.rows_mut() {
        r.assign(&unit_vector(n, rng));
    }
    d
}
