//! The experimental setup of Rangamani et al. (ISIT 2018, Sec. 4; docs/protocols.md §2): a Gaussian
//! dictionary A* (n × h, unit columns), non-negative codes with k = h^p non-zeros drawn from
//! U[a, b] on uniform supports, N signals, the columnwise radius δ = h^{−2p} and the bias rules
//! evaluated at the measured coherence.
//!
//! The paper does not say how h^p is rounded: [`RangamaniSetup::k`] uses `max(1, round(h^p))` and
//! [`RangamaniSetup::k_floor`] gives the floor, so a notebook can record both (h^p < 2 for small p,
//! where the two differ most).

use super::relu_ae::Bias;
use crate::error::{Result, ensure};
use crate::generate::Values;
use crate::instance::{DictKind, Instance, InstanceSpec};

/// One (n, h, p) configuration of the paper.
#[derive(Clone, Debug, PartialEq)]
pub struct RangamaniSetup {
    /// Signal dimension n (50 in the paper).
    pub dim: usize,
    /// Hidden units h = number of atoms (256 … 4096).
    pub hidden: usize,
    /// Sparsity exponent p: k = h^p.
    pub p: f64,
    /// Signals N (5000).
    pub n_samples: usize,
    /// Lower bound a of the non-zero values (1).
    pub a: f64,
    /// Upper bound b (10).
    pub b: f64,
}

impl RangamaniSetup {
    /// The paper's n = 50, N = 5000, values U[1, 10] at (h, p).
    pub fn paper(hidden: usize, p: f64) -> Self {
        RangamaniSetup {
            dim: 50,
            hidden,
            p,
            n_samples: 5000,
            a: 1.0,
            b: 10.0,
        }
    }
    /// Validate: h ≥ n (an overcomplete hidden layer), p ∈ (0, 1), 0 < a < b, N ≥ 1.
    ///
    /// # Errors
    /// The first violated condition, named.
    pub fn check(&self) -> Result<()> {
        ensure!(self.dim >= 1, "dim", self.dim, "n ≥ 1");
        ensure!(
            self.hidden >= self.dim,
            "hidden",
            self.hidden,
            format!(
                "h ≥ n = {} hidden units (the model is overcomplete)",
                self.dim
            )
        );
        ensure!(
            self.p > 0.0 && self.p < 1.0,
            "p",
            self.p,
            "a sparsity exponent p in (0, 1)"
        );
        ensure!(
            self.a > 0.0 && self.a.is_finite(),
            "a",
            self.a,
            "a lower value bound a > 0"
        );
        ensure!(
            self.b > self.a && self.b.is_finite(),
            "b",
            self.b,
            format!("an upper value bound b > a = {}", self.a)
        );
        ensure!(self.n_samples >= 1, "n_samples", self.n_samples, "N ≥ 1");
        Ok(())
    }
    /// k = max(1, round(h^p)), at most h.
    pub fn k(&self) -> usize {
        ((self.hidden as f64).powf(self.p).round() as usize).clamp(1, self.hidden)
    }
    /// max(1, floor(h^p)).
    pub fn k_floor(&self) -> usize {
        ((self.hidden as f64).powf(self.p).floor() as usize).clamp(1, self.hidden)
    }
    /// m₁ = (a + b)/2, the mean of a non-zero.
    pub fn m1(&self) -> f64 {
        0.5 * (self.a + self.b)
    }
    /// δ = h^{−2p}.
    pub fn delta(&self) -> f64 {
        (self.hidden as f64).powf(-2.0 * self.p)
    }
    /// The gradient-bound scale h^{p−1} printed next to Table 1.
    pub fn h_pow(&self) -> f64 {
        (self.hidden as f64).powf(self.p - 1.0)
    }
    /// Draw A* (n × h), X* (h × N, ≥ 0), Y = A* X* with `seed`.
    ///
    /// # Errors
    /// [`RangamaniSetup::check`].
    pub fn sample(&self, seed: u64) -> Result<Instance> {
        self.check()?;
        InstanceSpec::new(self.dim, self.hidden, self.n_samples)
            .dictionary(DictKind::Gaussian)
            .sparsity(self.k())
            .values(Values::NonNegUniform {
                a: self.a,
                b: self.b,
            })
            .sample(seed)
    }
    /// Theorem 3.1's bias at radius `delta` for an instance of coherence `mu` (= μ/√n).
    pub fn theorem_bias(&self, delta: f64, mu: f64) -> Bias {
        Bias::Theorem {
            m1: self.m1(),
            k: self.k() as f64,
            delta,
            mu_over_sqrt_n: mu,
        }
    }
    /// The v1 code's ½ m₁ k (δ + μ/√n).
    pub fn v1_half_bias(&self, delta: f64, mu: f64) -> Bias {
        Bias::V1Half {
            m1: self.m1(),
            k: self.k() as f64,
            delta,
            mu_over_sqrt_n: mu,
        }
    }
}

/// ξ with μ/√n = h^{−ξ}: `−ln(μ/√n) / ln h`.
pub fn xi(mu_over_sqrt_n: f64, hidden: usize) -> f64 {
    -mu_over_sqrt_n.ln() / (hidden as f64).ln()
}
