//! First-order optimizers on flat parameter vectors, shared by every trained model of the crate
//! (sparse autoencoders, unrolled dictionary learning, LISTA-type networks).
//!
//! Also the minibatch plumbing of the minibatch trainers (sparse autoencoders, LISTA networks):
//! [`check_minibatch`] and [`sample_columns`] (uniform, with replacement).
//!
//! * SGD: `x ← x − η g`.
//! * Adam (Kingma & Ba 2015, Algorithm 1): `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
//!   `x ← x − α (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)`.

use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;

/// Validate a minibatch size and a step size.
///
/// # Errors
/// A batch of 0, a step size that is not finite and positive.
pub fn check_minibatch(batch: usize, lr: f64) -> crate::error::Result<()> {
    crate::error::ensure!(
        batch >= 1,
        "batch",
        batch,
        "a minibatch of at least 1 signal"
    );
    crate::error::ensure!(lr.is_finite() && lr > 0.0, "lr", lr, "a step size > 0");
    Ok(())
}

/// `batch` columns of `y` drawn uniformly with replacement.
pub fn sample_columns(y: ArrayView2<'_, f64>, batch: usize, rng: &mut impl Rng) -> Array2<f64> {
    let nn = y.ncols();
    let idx: Vec<usize> = (0..batch).map(|_| rng.random_range(0..nn)).collect();
    y.select(Axis(1), &idx)
}

/// The floating-point type a neural trainer computes its steps in. `f64` is the default and the
/// reference (every gradient check runs in it); `f32` halves the memory traffic and doubles the
/// SIMD width of the kernels, as PyTorch trains, at single precision's rounding (about 1e-7
/// relative per operation). Either way the model handed to observers and returned is `f64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    /// Double precision.
    #[default]
    F64,
    /// Single precision.
    F32,
}

impl crate::spec::Choice for Precision {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "f64" => Some(Precision::F64),
            "f32" => Some(Precision::F32),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            Precision::F64 => "f64",
            Precision::F32 => "f32",
        }
    }
}

/// Adam on a flat parameter vector (Kingma & Ba 2015, Algorithm 1), its moments in `T` (`f64`, or
/// `f32` for the `f32` training path; the hyper-parameters are `f64` either way).
#[derive(Clone, Debug)]
pub struct Adam<T = f64> {
    /// Step size α.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    t: i32,
    m: Vec<T>,
    v: Vec<T>,
}

impl<T: crate::linalg::Real> Adam<T> {
    /// α with β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m: vec![],
            v: vec![],
        }
    }
    /// One update of several parameter tensors at once, each `(x, g)` in any memory order shared
    /// by x and g: the same arithmetic as [`Adam::step`] on their concatenation, without building
    /// it, in parallel. The moments are laid out as that concatenation.
    ///
    /// # Panics
    /// Never on user input: a pair whose slices differ in length is a bug of the caller (debug
    /// assertion); the shorter length is used.
    pub fn step_parts(&mut self, parts: &mut [(&mut [T], &[T])]) {
        use rayon::prelude::*;
        let total: usize = parts.iter().map(|(x, _)| x.len()).sum();
        if self.m.len() != total {
            self.m = vec![T::zero(); total];
            self.v = vec![T::zero(); total];
            self.t = 0;
        }
        self.t += 1;
        let c1 = T::of(1.0 - self.beta1.powi(self.t));
        let c2 = T::of(1.0 - self.beta2.powi(self.t));
        let (b1, b2, lr, eps) = (
            T::of(self.beta1),
            T::of(self.beta2),
            T::of(self.lr),
            T::of(self.eps),
        );
        let one = T::one();
        let (mut ms, mut vs) = (&mut self.m[..], &mut self.v[..]);
        for (x, g) in parts.iter_mut() {
            debug_assert_eq!(x.len(), g.len());
            let (m, mr) = std::mem::take(&mut ms).split_at_mut(x.len());
            let (v, vr) = std::mem::take(&mut vs).split_at_mut(x.len());
            ms = mr;
            vs = vr;
            const CH: usize = 1 << 14;
            x.par_chunks_mut(CH)
                .zip(g.par_chunks(CH))
                .zip(m.par_chunks_mut(CH).zip(v.par_chunks_mut(CH)))
                .for_each(|((x, g), (m, v))| {
                    for (((xi, gi), mi), vi) in x.iter_mut().zip(g).zip(m).zip(v) {
                        *mi = b1 * *mi + (one - b1) * *gi;
                        *vi = b2 * *vi + (one - b2) * *gi * *gi;
                        *xi -= lr * (*mi / c1) / ((*vi / c2).sqrt() + eps);
                    }
                });
        }
    }
    /// Zero both moments of the parameters `start..start + len` of the flat layout (a parameter
    /// that was reset, e.g. a resampled latent); positions past the state are ignored.
    pub fn reset_moments(&mut self, start: usize, len: usize) {
        let end = (start + len).min(self.m.len());
        if start < end {
            self.m[start..end].fill(T::zero());
            self.v[start..end].fill(T::zero());
        }
    }
}

impl Adam {
    /// One update of `x` with gradient `g`.
    pub fn step(&mut self, x: &mut [f64], g: &[f64]) {
        if self.m.len() != x.len() {
            self.m = vec![0.0; x.len()];
            self.v = vec![0.0; x.len()];
            self.t = 0;
        }
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        for i in 0..x.len() {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            x[i] -= self.lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + self.eps);
        }
    }
}

/// Which optimizer a trainer uses (the state is created at the start of training).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// Plain gradient descent with step `lr`.
    Sgd {
        /// Step size η.
        lr: f64,
    },
    /// Adam with step `lr` and denominator constant `eps` (β₁ = 0.9, β₂ = 0.999).
    Adam {
        /// Step size α.
        lr: f64,
        /// ε (PUDLE uses 10⁻⁸ in its theory runs and 10⁻³ in its baseline runs).
        eps: f64,
    },
}

impl Optimizer {
    /// Adam with ε = 10⁻⁸.
    pub fn adam(lr: f64) -> Self {
        Optimizer::Adam { lr, eps: 1e-8 }
    }
    /// Validate.
    ///
    /// # Errors
    /// A step size or ε that is not finite and positive.
    pub fn check(&self) -> crate::error::Result<()> {
        let (lr, eps) = match *self {
            Optimizer::Sgd { lr } => (lr, 1.0),
            Optimizer::Adam { lr, eps } => (lr, eps),
        };
        crate::error::ensure!(lr.is_finite() && lr > 0.0, "lr", lr, "a learning rate > 0");
        crate::error::ensure!(eps.is_finite() && eps > 0.0, "adam_eps", eps, "ε > 0");
        Ok(())
    }
    /// A fresh optimizer state.
    pub fn start(&self) -> OptState {
        match *self {
            Optimizer::Sgd { lr } => OptState::Sgd { lr },
            Optimizer::Adam { lr, eps } => {
                let mut a = Adam::new(lr);
                a.eps = eps;
                OptState::Adam(a)
            }
        }
    }
}

/// The running state of an [`Optimizer`].
#[derive(Clone, Debug)]
pub enum OptState {
    /// SGD (stateless).
    Sgd {
        /// Step size.
        lr: f64,
    },
    /// Adam's moments.
    Adam(Adam),
}

impl OptState {
    /// One update of `x` with gradient `g`.
    pub fn step(&mut self, x: &mut [f64], g: &[f64]) {
        match self {
            OptState::Sgd { lr } => x.iter_mut().zip(g).for_each(|(xi, gi)| *xi -= *lr * gi),
            OptState::Adam(a) => a.step(x, g),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_on_parts_equals_adam_on_the_concatenation() {
        // sizes past one parallel chunk (2^14)
        let (na, nb) = (40_000, 3);
        let whole0: Vec<f64> = (0..na + nb)
            .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let g: Vec<f64> = (0..na + nb)
            .map(|i| ((i * 104_729) % 97) as f64 / 40.0 - 1.2)
            .collect();
        let mut whole = whole0.clone();
        let (mut a, mut b) = (whole0[..na].to_vec(), whole0[na..].to_vec());
        let (mut p, mut q) = (Adam::new(0.1), Adam::new(0.1));
        for _ in 0..3 {
            p.step(&mut whole, &g);
            q.step_parts(&mut [(&mut a[..], &g[..na]), (&mut b[..], &g[na..])]);
        }
        let joined: Vec<f64> = a.iter().chain(&b).copied().collect();
        for (x, y) in whole.iter().zip(&joined) {
            assert!((x - y).abs() < 1e-15, "{x} vs {y}");
        }
    }

    #[test]
    fn hand_computed_steps() {
        let mut x = vec![1.0, -2.0];
        Optimizer::Sgd { lr: 0.5 }
            .start()
            .step(&mut x, &[2.0, -4.0]);
        assert_eq!(x, vec![0.0, 0.0]);
        // Adam's first step moves every coordinate by ≈ lr·sign(g) (bias-corrected m/√v = ±1)
        let mut x = vec![1.0, -2.0];
        let mut st = Optimizer::Adam { lr: 0.1, eps: 0.0 }.start();
        st.step(&mut x, &[3.0, -0.5]);
        assert!(
            (x[0] - 0.9).abs() < 1e-12 && (x[1] + 1.9).abs() < 1e-12,
            "{x:?}"
        );
    }
}
