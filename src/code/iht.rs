//! Iterative hard thresholding, batched over signals.
//!
//! $$\min_X \tfrac12\|Y - AX\|_F^2 \ \text{s.t. each column is } k\text{-sparse}$$
//! Iteration: $X^+ = H_k\big(X - (GX - A^\top Y)/L\big)$ with $L = \|A\|_2^2$ (power iteration) and
//! $H_k$ keeping the k largest magnitudes per column; one m × m × N GEMM per iteration. Stops when
//! the relative objective decrease falls below `tol` (the engine's rule) or at `max_iters`.
//!
//! ## References
//! * Blumensath, Davies (2009), "Iterative hard thresholding for compressed sensing", ACHA 27(3),
//!   eq. (1.3). NOODL (Rambhatla, Li, Haupt, ICLR 2019) codes with this iteration.

use super::threshold::hard_threshold_k;
use super::{
    CodeInfo, CoderSpec, Encoding, Precomputed, SPARSITY, SparseCoder, check_problem,
    lipschitz_from_gram,
};

/// `iht`: iterative hard thresholding with exactly k non-zeros.
pub const SPEC: CoderSpec = CoderSpec {
    name: "iht",
    family: crate::spec::Family::Coder,
    summary: "iterative hard thresholding (Blumensath & Davies 2009), exactly k non-zeros",
    params: Iht::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(Iht::from_params(p, ctx)?)),
};
use crate::error::{Result, ensure};
use crate::iter::{self, Iterative, NoObserver, Schedule, Stop};
use crate::linalg;
use ndarray::{Array2, ArrayView2, Axis, Zip};
use rayon::prelude::*;

crate::declare_method! {
    /// IHT coder (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct Iht {
        given {
            /// non-zeros per code k (1 ≤ k ≤ m)
            sparsity: usize = [SPARSITY] => |p, ctx| p.sparsity(ctx)?;
        }
        params {
            /// iteration cap
            max_iters: usize = param(Count, 500);
            /// stop when the objective decreases by less than this, relative
            tol: f64 = param(NonNegative, 1e-12);
            /// step = step_scale / L, L = ‖A‖₂²
            step_scale: f64 = param(Between(0.0, 2.0), 1.0);
        }
    }
}

struct IhtAlg {
    pre: Precomputed,
    half_yy: f64,
    step: f64,
    k: usize,
}

/// IHT state: X and G X.
pub struct IhtState {
    x: Array2<f64>,
    gx: Array2<f64>,
}

impl Iterative for IhtAlg {
    type State = IhtState;
    fn step(&mut self, s: &mut IhtState) -> Result<()> {
        let mut xn = s.x.clone();
        let step = self.step;
        Zip::from(&mut xn)
            .and(&s.gx)
            .and(&self.pre.aty)
            .par_for_each(|x, &g, &b| *x -= step * (g - b));
        let k = self.k;
        xn.axis_iter_mut(Axis(1))
            .into_par_iter()
            .for_each_init(Vec::new, |sc, col| hard_threshold_k(col, k, sc));
        s.gx = linalg::matmul_nn(self.pre.gram.view(), xn.view(), linalg::par());
        s.x = xn;
        Ok(())
    }
    fn objective(&self, s: &IhtState) -> f64 {
        let mut lin = 0.0;
        let mut quad = 0.0;
        Zip::from(&s.x)
            .and(&s.gx)
            .and(&self.pre.aty)
            .for_each(|&x, &g, &b| {
                lin += x * b;
                quad += x * g;
            });
        (self.half_yy - lin + 0.5 * quad).max(0.0)
    }
}

impl SparseCoder for Iht {
    fn name(&self) -> String {
        format!("iht[k={}]", self.sparsity)
    }
    fn encode(&self, dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Encoding> {
        let t0 = std::time::Instant::now();
        check_problem(dict, y)?;
        let m = dict.ncols();
        ensure!(
            self.sparsity >= 1 && self.sparsity <= m,
            "sparsity",
            self.sparsity,
            format!("1 ≤ k ≤ m = {m}")
        );
        self.check_params()?;
        let pre = Precomputed::new(dict, y);
        let l = lipschitz_from_gram(pre.gram.view(), 200).max(1e-300);
        let half_yy = 0.5 * y.iter().map(|v| v * v).sum::<f64>();
        let zeros = Array2::zeros(pre.aty.dim());
        let mut alg = IhtAlg {
            pre,
            half_yy,
            step: self.step_scale / l,
            k: self.sparsity,
        };
        let stop = Stop {
            max_iters: self.max_iters,
            rel_decrease: Some(self.tol),
            ..Default::default()
        };
        let (s, info) = iter::run(
            &mut alg,
            IhtState {
                x: zeros.clone(),
                gx: zeros,
            },
            &stop,
            Schedule::Never,
            &mut NoObserver,
        )?;
        Ok(Encoding {
            codes: s.x,
            info: CodeInfo {
                iters: info.iters,
                termination: info.termination,
                objective: info.objective,
                elapsed: t0.elapsed().as_secs_f64(),
                premature: 0,
            },
        })
    }
}
