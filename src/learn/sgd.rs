//! Dictionary learning by projected stochastic gradient on the reconstruction loss, with OMP codes.
//!
//! Objective, over dictionaries with unit-norm columns:
//! $$\min_{A:\ \|a_j\|_2 = 1}\ F(A) = \frac{1}{2N}\sum_{i=1}^N \|y_i - A\,x_i(A)\|_2^2,\qquad
//! x_i(A) = \mathrm{OMP}_k(A, y_i).$$
//! Step t, on a minibatch $Y_B$ of b signals (epoch-wise permutations):
//! 1. code it with the current dictionary, $X_B = \mathrm{OMP}_k(A_{t-1}, Y_B)$;
//! 2. take the gradient of the minibatch loss with the codes held fixed,
//!    $G = \tfrac1b (A_{t-1}X_B - Y_B)X_B^\top$;
//! 3. step and project onto the unit sphere column by column,
//!    $A_t = \Pi(A_{t-1} - \eta_t G)$, $\eta_t = \eta\, t_0/(t + t_0)$ with $t_0$ one epoch of
//!    minibatches (a column that the step sends to zero keeps its previous value).
//!
//! This is the "first-order stochastic gradient descent with projections on the constraint set"
//! that Mairal, Bach, Ponce, Sapiro (2010), "Online learning for matrix factorization and sparse
//! coding", JMLR 11:19–60, §1 and §3, name as the classical online baseline of their Algorithm 1
//! (with the ℓ1 coder; here the ℓ0 coder OMP, as in K-SVD, Aharon et al. 2006). The step schedule
//! $\eta\,t_0/(t+t_0)$ follows their experiments' $\rho/(t + t_0)$ form; $t_0$ = one epoch is ours.
//!
//! Cost per step: OMP on b signals plus two n × m × b products.
//!
//! It is also the crate's worked example of "adding a method is one file plus one line": this
//! file (the struct and its parameters declared once with [`crate::declare_method!`], the
//! algorithm, the spec, the tests) and the line `Method::Learner(&crate::learn::sgd::SPEC)` in
//! [`crate::registry::METHODS`].

use super::{DictionaryLearner, Init, LearnState, Learned, LearnerSpec};
use crate::code::{Omp, SPARSITY, SparseCoder};
use crate::error::Result;
use crate::iter::{self, Iterative, Observer, Record, Schedule, Stop};
use crate::linalg;
use ndarray::{Array2, ArrayView2, Axis, Zip};

/// `sgd`: projected stochastic gradient with OMP codes.
pub const SPEC: LearnerSpec = LearnerSpec {
    name: "sgd",
    family: crate::spec::Family::Classical,
    summary: "projected stochastic gradient on the reconstruction loss with OMP codes (the online baseline of Mairal et al. 2010)",
    params: SgdDl::PARAMS,
    budget: crate::spec::Budget::Epochs {
        epochs: "epochs",
        batch: "batch",
    },
    build: |p, ctx| Ok(Box::new(SgdDl::from_params(p, ctx)?)),
};

crate::declare_method! {
    /// Projected minibatch SGD on the reconstruction loss with OMP codes (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct SgdDl {
        given {
            /// non-zeros per OMP code k (true k or k̂ by track)
            sparsity: usize = [SPARSITY] => |p, ctx| p.sparsity(ctx)?;
        }
        params {
            /// step size η (decays as η·t₀/(t + t₀), t₀ = one epoch)
            lr: f64 = param(Positive, 0.5);
            /// passes over the data
            epochs: f64 = param(Positive, 20.0);
            /// signals per minibatch
            batch: usize = param(Count, 64);
        }
    }
}

struct SgdAlg<'a> {
    p: &'a SgdDl,
    y: ArrayView2<'a, f64>,
    coder: Omp,
    /// Minibatches per epoch (t₀ of the step schedule).
    t0: f64,
}

impl Iterative for SgdAlg<'_> {
    type State = LearnState;
    fn step(&mut self, s: &mut LearnState) -> Result<()> {
        let yb = s.next_minibatch(self.y, self.p.batch);
        let b = yb.ncols() as f64;
        let x = self.coder.encode(s.dict.view(), yb.view())?.codes;
        // residual R = A X − Y (n × b), gradient G = R Xᵀ / b (n × m)
        let mut r = yb.mapv(|v| -v);
        linalg::gemm_into(
            r.view_mut(),
            1.0,
            s.dict.view(),
            false,
            x.view(),
            false,
            1.0,
            linalg::par(),
        );
        s.data_fit = 0.5 * r.iter().map(|v| v * v).sum::<f64>() / b;
        let mut g = Array2::zeros(s.dict.dim());
        linalg::gemm_into(
            g.view_mut(),
            1.0 / b,
            r.view(),
            false,
            x.view(),
            true,
            0.0,
            linalg::par(),
        );
        s.step += 1;
        let eta = self.p.lr * self.t0 / (s.step as f64 + self.t0);
        Zip::from(s.dict.axis_iter_mut(Axis(1)))
            .and(g.axis_iter(Axis(1)))
            .for_each(|mut a, gj| {
                let new = &a - &(&gj * eta);
                let norm = linalg::norm2(new.view());
                if norm > 0.0 && norm.is_finite() {
                    a.assign(&(new / norm));
                }
            });
        s.samples_seen += yb.ncols();
        s.codes = x;
        Ok(())
    }
    fn objective(&self, s: &LearnState) -> f64 {
        s.objective_value()
    }
    fn record(&self, s: &LearnState, rec: &mut Record) {
        rec.set("data_fit", s.data_fit);
        rec.set("samples_seen", s.samples_seen as f64);
    }
}

impl DictionaryLearner for SgdDl {
    fn name(&self) -> String {
        format!(
            "sgd[k={},lr={},batch={},epochs={}]",
            self.sparsity, self.lr, self.batch, self.epochs
        )
    }
    fn learn_observed(
        &self,
        y: ArrayView2<'_, f64>,
        m: usize,
        init: &Init,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<LearnState>,
    ) -> Result<Learned> {
        self.check_params()?;
        let (d0, rng) = super::start(y, m, init, seed)?;
        crate::code::check_problem(d0.view(), y)?;
        let nn = y.ncols();
        let per_epoch = (nn as f64 / self.batch.min(nn) as f64).ceil();
        let steps = super::minibatch_steps(self.epochs, nn, self.batch.min(nn));
        let mut state = LearnState::new(d0, rng);
        state.data_fit = super::zero_code_fit(y) / nn as f64;
        let mut alg = SgdAlg {
            p: self,
            y,
            coder: Omp::with_sparsity(self.sparsity),
            t0: per_epoch,
        };
        let (s, info) = iter::run(&mut alg, state, &Stop::iters(steps), schedule, obs)?;
        Ok(Learned::from_state(s, info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InstanceSpec;

    /// The planted dictionary is recovered from a start near it on an easy instance (n = 16,
    /// m = 24, k = 2, N = 2000, μ(A*) ≤ 0.5, no noise).
    #[test]
    fn recovers_a_planted_dictionary_from_a_near_start() {
        let inst = InstanceSpec::new(16, 24, 2000)
            .sparsity(2)
            .sample(4)
            .unwrap();
        let init = Init::NearTruth {
            truth: inst.dict.clone(),
            dist: 0.5,
        };
        let start = init
            .build(inst.y.view(), 24, &mut crate::rng::rng_from_seed(0))
            .unwrap();
        let before =
            crate::metrics::recovery_metrics(inst.dict.view(), start.view(), 0.99).unwrap();
        let out = SgdDl::new(2).learn(inst.y.view(), 24, &init, 1).unwrap();
        let after =
            crate::metrics::recovery_metrics(inst.dict.view(), out.dict.view(), 0.99).unwrap();
        assert!(before.recovery_rate < 1e-12, "{before:?}");
        assert!(after.recovery_rate >= 0.95, "{after:?}");
        assert!(out.info.termination.is_finite());
    }

    /// Each step lowers the minibatch loss on average: the final data fit is far below ½‖y‖².
    #[test]
    fn the_data_fit_falls_from_a_random_start() {
        let inst = InstanceSpec::new(12, 16, 1500)
            .sparsity(2)
            .sample(9)
            .unwrap();
        let mut trace = crate::iter::Trace::new();
        let out = SgdDl::new(2)
            .learn_observed(
                inst.y.view(),
                16,
                &Init::RandomData,
                2,
                Schedule::Every(1),
                &mut trace,
            )
            .unwrap();
        let fits: Vec<f64> = trace
            .rows()
            .iter()
            .filter_map(|r| r.2.get("data_fit"))
            .collect();
        let (first, last) = (fits[0], *fits.last().unwrap());
        assert!(last < 0.2 * first, "data fit {first} → {last}");
        assert_eq!(out.dict.dim(), (12, 16));
    }

    #[test]
    fn bad_parameters_are_refused() {
        let inst = InstanceSpec::new(6, 8, 50).sparsity(2).sample(1).unwrap();
        for bad in [
            SgdDl {
                lr: 0.0,
                ..SgdDl::new(2)
            },
            SgdDl {
                batch: 0,
                ..SgdDl::new(2)
            },
            SgdDl {
                epochs: f64::NAN,
                ..SgdDl::new(2)
            },
        ] {
            assert!(bad.learn(inst.y.view(), 8, &Init::RandomData, 0).is_err());
        }
    }
}
