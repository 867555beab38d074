//! The CCMOD dictionary update: ADMM in the DFT domain (sporco's `ConvCnstrMOD`).
//!
//! With the activations Z fixed, the D-step of convolutional dictionary learning is
//! $$\min_{D}\ \tfrac12 \sum_i \Big\|\sum_k d_k * z_{ik} - y_i\Big\|_F^2 \quad\text{s.t. } d_k \in C
//!   = \{\, d : \operatorname{supp} d \subseteq [0, L),\ \|d\|_F \le 1 \,\},$$
//! the atoms living in signals of the FFT length F (zero outside their first L samples). CCMOD
//! (Wohlberg 2016, §V, eq. (21)–(24) and the "constrained MOD" of §V.B; Garcia-Cardona, Wohlberg 2018,
//! §IV.A) splits it as $\min \tfrac12\|\hat Z \hat d - \hat y\|^2 + \iota_C(g)$ s.t. $d = g$ and runs ADMM
//! with penalty σ and over-relaxation α:
//! 1. $\hat d \leftarrow (\hat Z^{\mathsf H}\hat Z + \sigma I)^{-1} (\hat Z^{\mathsf H}\hat y + \sigma(\hat g - \hat h))$,
//!    independently at every frequency ω and channel c: $\hat Z(\omega)$ is the N × K matrix of the
//!    activations' spectra, so the system is K × K and Hermitian positive definite — factored once
//!    per D-step by Cholesky (sporco solves it by iterated Sherman–Morrison, Garcia-Cardona & Wohlberg
//!    2018, §IV.A.3; for the K ≤ a few dozen atoms used here a K × K factorization per frequency is the
//!    same solve);
//! 2. $d_r = \alpha d + (1 - \alpha) g$, then $g \leftarrow \Pi_C(d_r + h)$: keep the first L samples of
//!    each atom and scale it into the unit ball;
//! 3. $h \leftarrow h + d_r - g$.
//!
//! It stops when the primal residual ‖d − g‖ ≤ tol · max(‖d‖, ‖g‖) and the dual residual
//! σ‖g − g_prev‖ ≤ tol · σ‖h‖, or after `iters` iterations, and returns g (which is in C).
//!
//! **Ours** (not sporco's defaults): the constraint is the unit *ball* (sporco normalizes onto the
//! sphere, a non-convex set), so that this D-step and the projected-gradient one minimise the same
//! problem; σ is fixed per D-step at the mean diagonal of $\hat Z^{\mathsf H}\hat Z$ over frequencies (a
//! scale-free choice); the dual variable h starts at zero in every D-step and g at the current
//! atoms. With the valid boundary the DFT length F ≥ T makes the products linear convolutions; the
//! unconstrained d may fit the zero padding beyond T, which the constraint removes at consensus.
//! Images ([`Grid`]) use the 2-D transform of [`super::fft`] and keep the top-left Lh × Lw block.
//!
//! ## References
//! * Wohlberg (2016), "Efficient algorithms for convolutional sparse representations", IEEE TIP
//!   25(1), §V (dictionary update, eq. (21)–(24)).
//! * Garcia-Cardona, Wohlberg (2018), "Convolutional dictionary learning: a comparative review and
//!   new algorithms", IEEE TCI 4(3), §IV.A (CCMOD by ADMM, the Sherman–Morrison solves).

use super::csc::{C64, dft_len};
use super::fft::{Fft2, Grid};
use super::problem::Boundary;
use crate::error::{Error, Result};
use ndarray::{Array3, ArrayView3, Axis};

/// Over-relaxation α of the CCMOD iteration (sporco's default for its dictionary updates).
pub const RELAX: f64 = 1.8;

/// Complex Cholesky factor (lower, row-major K × K) of a Hermitian positive-definite matrix,
/// in place; `false` when a pivot is not positive.
fn cholesky(a: &mut [C64], k: usize) -> bool {
    for j in 0..k {
        let mut d = a[j * k + j].re;
        for s in 0..j {
            d -= a[j * k + s].norm_sqr();
        }
        if d.is_nan() || d <= 0.0 {
            return false;
        }
        let d = d.sqrt();
        a[j * k + j] = C64::new(d, 0.0);
        for i in j + 1..k {
            let mut v = a[i * k + j];
            for s in 0..j {
                v -= a[i * k + s] * a[j * k + s].conj();
            }
            a[i * k + j] = v / d;
        }
        for s in j + 1..k {
            a[j * k + s] = C64::new(0.0, 0.0);
        }
    }
    true
}

/// Solve L Lᴴ x = b in place for the factor of [`cholesky`].
fn chol_solve(l: &[C64], k: usize, b: &mut [C64]) {
    for i in 0..k {
        let mut v = b[i];
        for s in 0..i {
            v -= l[i * k + s] * b[s];
        }
        b[i] = v / l[i * k + i].re;
    }
    for i in (0..k).rev() {
        let mut v = b[i];
        for s in i + 1..k {
            v -= l[s * k + i].conj() * b[s];
        }
        b[i] = v / l[i * k + i].re;
    }
}

/// One CCMOD D-step (module doc): the atoms `d` (K × P × L) minimise the fit of `y` (N × P × T)
/// by the activations `z` (N × K × T_z) under the unit-ball constraint, from `d` as the start, in
/// at most `iters` ADMM iterations with relative tolerance `tol`. Returns the iterations done.
///
/// # Errors
/// Mismatched shapes (activations of another length than the boundary gives, other signal or atom
/// counts), a failed FFT, or a system that is not positive definite (non-finite activations).
pub fn ccmod_step(
    z: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    d: &mut Array3<f64>,
    boundary: Boundary,
    iters: usize,
    tol: f64,
) -> Result<usize> {
    ccmod_step_on(z, y, d, Grid::LINE, boundary, iters, tol)
}

/// [`ccmod_step`] on the layout `grid` (images: flattened H·W signals, Lh·Lw atoms, H_z·W_z
/// activation maps).
///
/// # Errors
/// As [`ccmod_step`], and lengths the grid does not divide.
pub fn ccmod_step_on(
    z: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    d: &mut Array3<f64>,
    grid: Grid,
    boundary: Boundary,
    iters: usize,
    tol: f64,
) -> Result<usize> {
    let (n, k, tz) = z.dim();
    let (n2, p, t) = y.dim();
    let (k2, p2, l) = d.dim();
    let dims = grid.dims(t, l)?;
    if n != n2 || k != k2 || p != p2 || tz != dims.n_acts(boundary) {
        return Err(Error::invalid(
            "ccmod",
            format!("activations {n}×{k}×{tz}, signals {n2}×{p}×{t}, atoms {k2}×{p2}×{l}"),
            "activations N × K × T_z with T_z given by the boundary, signals N × P × T, atoms K × P × L",
        ));
    }
    let fft = Fft2::new(dft_len(dims.h, boundary), dft_len(dims.w, boundary))?;
    let (f1, f2) = fft.size();
    let (f, nf) = (fft.len(), fft.n_freq());
    let (zh, zw) = dims.acts(boundary);
    let mut sc = fft.scratch();
    // activation spectra, (i · K + a) · nf + j, and the right-hand side Ẑᴴŷ, (a · P + c) · nf + j
    let mut zhat = vec![C64::new(0.0, 0.0); n * k * nf];
    let mut yh = vec![C64::new(0.0, 0.0); p * nf];
    let mut zty = vec![C64::new(0.0, 0.0); k * p * nf];
    for i in 0..n {
        for a in 0..k {
            let row = z.index_axis(Axis(0), i);
            let row = row.row(a);
            let o = &mut zhat[(i * k + a) * nf..(i * k + a + 1) * nf];
            fft.forward(zh, zw, |r, s| row[r * zw + s], o, &mut sc);
        }
        for c in 0..p {
            let sig = y.index_axis(Axis(0), i);
            let row = sig.row(c);
            let w = dims.w;
            let o = &mut yh[c * nf..(c + 1) * nf];
            fft.forward(dims.h, w, |r, s| row[r * w + s], o, &mut sc);
        }
        for a in 0..k {
            let za = &zhat[(i * k + a) * nf..(i * k + a + 1) * nf];
            for c in 0..p {
                let o = &mut zty[(a * p + c) * nf..(a * p + c + 1) * nf];
                for j in 0..nf {
                    o[j] += za[j].conj() * yh[c * nf + j];
                }
            }
        }
    }
    // ẐᴴẐ per frequency (K × K at j · K² ), σ = its mean diagonal
    let mut gram = vec![C64::new(0.0, 0.0); nf * k * k];
    for i in 0..n {
        for j in 0..nf {
            for a in 0..k {
                let za = zhat[(i * k + a) * nf + j].conj();
                for b in 0..k {
                    gram[(j * k + a) * k + b] += za * zhat[(i * k + b) * nf + j];
                }
            }
        }
    }
    let sigma = (0..nf)
        .flat_map(|j| (0..k).map(move |a| (j, a)))
        .map(|(j, a)| gram[(j * k + a) * k + a].re)
        .sum::<f64>()
        / (nf * k) as f64;
    if !(sigma > 0.0 && sigma.is_finite()) {
        // no activation at all (or a non-finite one): the fit does not depend on D
        return Ok(0);
    }
    for j in 0..nf {
        for a in 0..k {
            gram[(j * k + a) * k + a] += C64::new(sigma, 0.0);
        }
        if !cholesky(&mut gram[j * k * k..(j + 1) * k * k], k) {
            return Err(Error::invalid(
                "ccmod",
                "a system that is not positive definite",
                "finite activations",
            ));
        }
    }
    drop(zhat);
    // the support of an atom inside the F₁ × F₂ array: its top-left Lh × Lw block
    let (lh, lw) = (dims.lh, dims.lw);
    let at = |s: usize| (s / lw) * f2 + s % lw;
    let in_support = |q: usize| q / f2 < lh && q % f2 < lw;
    // ADMM variables in the time domain, (a · P + c) · F + s
    let m = k * p * f;
    let mut g = vec![0.0; m];
    for a in 0..k {
        for c in 0..p {
            for s in 0..l {
                g[(a * p + c) * f + at(s)] = d[[a, c, s]];
            }
        }
    }
    let mut h = vec![0.0; m];
    let mut dt = vec![0.0; m];
    let mut rhs = vec![C64::new(0.0, 0.0); k * p * nf];
    let mut b = vec![C64::new(0.0, 0.0); k];
    let scale = 1.0 / f as f64;
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut done = 0;
    for it in 0..iters {
        done = it + 1;
        // d̂ ← (ẐᴴẐ + σI)⁻¹ (Ẑᴴŷ + σ(ĝ − ĥ))
        for a in 0..k {
            for c in 0..p {
                let o = (a * p + c) * f;
                let x = |r: usize, s: usize| sigma * (g[o + r * f2 + s] - h[o + r * f2 + s]);
                fft.forward(
                    f1,
                    f2,
                    x,
                    &mut rhs[(a * p + c) * nf..(a * p + c + 1) * nf],
                    &mut sc,
                );
            }
        }
        for (r, zy) in rhs.iter_mut().zip(&zty) {
            *r += zy;
        }
        for j in 0..nf {
            let lj = &gram[j * k * k..(j + 1) * k * k];
            for c in 0..p {
                for a in 0..k {
                    b[a] = rhs[(a * p + c) * nf + j];
                }
                chol_solve(lj, k, &mut b);
                for a in 0..k {
                    rhs[(a * p + c) * nf + j] = b[a];
                }
            }
        }
        for a in 0..k {
            for c in 0..p {
                let spec = &mut rhs[(a * p + c) * nf..(a * p + c + 1) * nf];
                let o = (a * p + c) * f;
                let out = &mut dt[o..o + f];
                fft.inverse(spec, f1, f2, |r, s, v| out[r * f2 + s] = v * scale, &mut sc);
            }
        }
        // relaxation, projection onto C, dual update
        let g_prev = g.clone();
        for a in 0..k {
            let o = a * p * f;
            let blk = o..o + p * f;
            let mut nrm = 0.0;
            for c in 0..p {
                for s in 0..f {
                    let q = o + c * f + s;
                    let dr = RELAX * dt[q] + (1.0 - RELAX) * g_prev[q];
                    let v = if in_support(s) { dr + h[q] } else { 0.0 };
                    g[q] = v;
                    nrm += v * v;
                }
            }
            let nrm = nrm.sqrt();
            if nrm > 1.0 {
                g[blk.clone()].iter_mut().for_each(|v| *v /= nrm);
            }
            for q in blk {
                let dr = RELAX * dt[q] + (1.0 - RELAX) * g_prev[q];
                h[q] += dr - g[q];
            }
        }
        let r = dt
            .iter()
            .zip(&g)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt();
        let s = sigma
            * g.iter()
                .zip(&g_prev)
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
                .sqrt();
        let (nd, ng, nh) = (norm(&dt), norm(&g), sigma * norm(&h));
        if r <= tol * nd.max(ng).max(f64::MIN_POSITIVE) && s <= tol * nh.max(f64::MIN_POSITIVE) {
            break;
        }
    }
    for a in 0..k {
        for c in 0..p {
            for s in 0..l {
                d[[a, c, s]] = g[(a * p + c) * f + at(s)];
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::ConvSpec;
    use crate::conv::cdl::{LagStats, d_step};

    #[test]
    fn cholesky_solves_a_hermitian_system() {
        // A = [[4, 1 + i], [1 − i, 3]]; x = (1, i) gives b = A x = (4 + i − 1, 1 − i + 3i) = (3 + i, 1 + 2i)
        let c = |r, i| C64::new(r, i);
        let mut a = vec![c(4.0, 0.0), c(1.0, 1.0), c(1.0, -1.0), c(3.0, 0.0)];
        assert!(cholesky(&mut a, 2));
        let mut b = vec![c(3.0, 1.0), c(1.0, 2.0)];
        chol_solve(&a, 2, &mut b);
        assert!((b[0] - c(1.0, 0.0)).norm() < 1e-12, "{b:?}");
        assert!((b[1] - c(0.0, 1.0)).norm() < 1e-12, "{b:?}");
        let mut not_pd = vec![c(1.0, 0.0), c(2.0, 0.0), c(2.0, 0.0), c(1.0, 0.0)];
        assert!(!cholesky(&mut not_pd, 2));
    }

    /// Given the planted activations, CCMOD and the projected-gradient D-step reach one fit, and
    /// both recover the planted atoms (both boundaries, two channels).
    #[test]
    fn ccmod_matches_the_gradient_d_step_and_recovers_the_atoms() {
        for boundary in [Boundary::Valid, Boundary::Circular] {
            let inst = ConvSpec::new(8, 2, 128, 3, 12)
                .theta(0.05)
                .boundary(boundary)
                .noise_sigma(0.01)
                .sample(17)
                .unwrap();
            let mut start = inst.atoms.clone();
            start.mapv_inplace(|v| 0.7 * v + 0.05);
            let mut cc = start.clone();
            let it = ccmod_step(
                inst.acts.view(),
                inst.y.view(),
                &mut cc,
                boundary,
                500,
                1e-8,
            )
            .unwrap();
            assert!(it > 1 && it < 500, "{boundary:?}: {it} iterations");
            let st = LagStats::new(inst.acts.view(), inst.y.view(), 12, boundary);
            let m = st.gram();
            let mut pg = start.clone();
            d_step(&st, &m, &mut pg, 2000);
            let (f_cc, f_pg) = (st.fit(&m, cc.view()), st.fit(&m, pg.view()));
            assert!(
                (f_cc - f_pg).abs() <= 1e-5 * f_pg.abs().max(1.0),
                "{boundary:?}: fit {f_cc} (ccmod) vs {f_pg} (gradient)"
            );
            for a in 0..3 {
                let (x, t) = (cc.index_axis(Axis(0), a), inst.atoms.index_axis(Axis(0), a));
                let nx = x.iter().map(|v| v * v).sum::<f64>().sqrt();
                assert!(nx <= 1.0 + 1e-9, "{boundary:?}: atom {a} norm {nx}");
                let c = x.iter().zip(t.iter()).map(|(u, v)| u * v).sum::<f64>() / nx;
                assert!(c > 0.999, "{boundary:?}: atom {a} correlation {c}");
            }
        }
    }

    #[test]
    fn mismatched_shapes_are_refused() {
        let inst = ConvSpec::new(4, 1, 64, 2, 8).sample(3).unwrap();
        let mut d = Array3::zeros((3, 1, 8));
        let e = ccmod_step(
            inst.acts.view(),
            inst.y.view(),
            &mut d,
            Boundary::Valid,
            10,
            1e-6,
        )
        .unwrap_err();
        assert!(e.to_string().contains("activations N × K × T_z"), "{e}");
    }
}
