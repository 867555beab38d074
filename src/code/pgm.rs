//! ISTA and FISTA: one proximal-gradient engine for the Lasso, batched over all signals.
//!
//! $$\min_X F(X) = \sum_j \tfrac12\|y_j - A x_j\|^2 + \lambda \|x_j\|_1 \quad(\text{optionally } X \ge 0)$$
//!
//! Iteration (step $1/L$, $L = \|A\|_2^2$ by power iteration on $G = A^\top A$):
//! $X^{+} = \mathrm{soft}(Z - (GZ - A^\top Y)/L,\ \lambda/L)$; ISTA takes $Z = X^+$, FISTA
//! $t^+ = (1 + \sqrt{1+4t^2})/2$, $Z = X^+ + \frac{t-1}{t^+}(X^+ - X)$ with the gradient-based adaptive
//! restart of O'Donoghue & Candès (reset $t = 1$ when $\langle Z - X^+, X^+ - X\rangle > 0$).
//! Cost per iteration: **one** m × m × N GEMM ($GX^+$; $GZ$ is a linear combination of $GX$ and
//! $GX^-$) plus O(mN) elementwise work. The iteration is *fused by column panels*: for each panel of
//! 256 signals (in parallel) it forms Z and GZ, the prox step, the restart inner product, the panel's
//! GEMM $GX^+$, then — while the panel is still in cache — the objective and the per-column duality
//! gap, so each iteration streams the m × N arrays through memory once. Optional backtracking
//! (Beck & Teboulle 2009, §4) doubles L until the quadratic upper bound holds.
//!
//! Objective and gap come from the same products, per column:
//! $F = \tfrac12\|y\|^2 - x^\top b + \tfrac12 x^\top Gx + \lambda\|x\|_1$ with $b = A^\top y$, and
//! $A^\top r = b - Gx$, $\|r\|^2 = \|y\|^2 - 2x^\top b + x^\top Gx$, $y^\top r = \|y\|^2 - x^\top b$ give
//! the duality gap of [`super::lasso_duality_gaps`] without forming the residual.
//! Stopping: that gap relative to $\tfrac12\|Y\|^2$ (every iteration), or the engine's generic rules.
//!
//! ## References
//! * Daubechies, Defrise, De Mol (2004), "An iterative thresholding algorithm for linear inverse
//!   problems with a sparsity constraint", CPAM 57(11) — ISTA.
//! * Beck, Teboulle (2009), "A fast iterative shrinkage-thresholding algorithm", SIAM J. Imaging Sci.
//!   2(1), eq. (4.1)–(4.3) — FISTA.
//! * O'Donoghue, Candès (2015), "Adaptive restart for accelerated gradient schemes", FoCM 15, §3.2.

use super::{
    CodeInfo, CoderSpec, Encoding, LAMBDA, Precomputed, SparseCoder, check_problem,
    lipschitz_from_gram, soft, soft_nonneg,
};

/// `fista`: FISTA with adaptive restart.
pub const FISTA_SPEC: CoderSpec = CoderSpec {
    name: "fista",
    family: crate::spec::Family::Coder,
    summary: "FISTA (Beck & Teboulle 2009) with adaptive restart, batched over signals",
    params: Pgm::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(Pgm::from_params(p, ctx)?)),
};

/// `ista`: ISTA (proximal gradient without momentum).
pub const ISTA_SPEC: CoderSpec = CoderSpec {
    name: "ista",
    family: crate::spec::Family::Coder,
    summary: "ISTA (Daubechies et al. 2004), batched over signals",
    params: Pgm::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(Pgm::from_params(p, ctx)?)),
};
use crate::error::Result;
use crate::iter::{self, Criterion, Iterative, NoObserver, Observer, Record, Schedule, Stop};
use crate::linalg;
use faer::Par;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

/// Momentum strategy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Momentum {
    /// None: ISTA.
    None,
    /// Nesterov/FISTA momentum.
    Nesterov {
        /// Gradient-based adaptive restart.
        restart: bool,
    },
}

crate::declare_method! {
    /// Proximal-gradient Lasso coder (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct Pgm {
        given {
            /// ℓ1 penalty λ
            lambda: f64 = [LAMBDA] => |p, _ctx| p.f64("lambda")?;
        }
        derived {
            /// acceleration: Nesterov with adaptive restart (`fista`) or none (`ista`)
            momentum: Momentum = [] => |p, _ctx| if p.method() == "fista" {
                Momentum::Nesterov { restart: true }
            } else {
                Momentum::None
            };
        }
        params {
            /// non-negative codes (x ≥ 0)
            nonneg: bool = param(Bool, false);
            /// iteration cap
            max_iters: usize = param(Count, 1000);
            /// stop when the duality gap ≤ tol · ½‖Y‖²
            tol: f64 = param(NonNegative, 1e-10);
            /// double L while the quadratic bound fails
            backtracking: bool = param(Bool, false);
        }
    }
}

impl Pgm {
    /// ISTA with penalty λ.
    pub fn ista(lambda: f64) -> Self {
        Self::new(lambda, Momentum::None)
    }
    /// FISTA with adaptive restart and penalty λ.
    pub fn fista(lambda: f64) -> Self {
        Self::new(lambda, Momentum::Nesterov { restart: true })
    }
    /// Validate.
    pub fn check(&self) -> Result<()> {
        self.check_params()
    }

    /// Code with an observer over the [`PgmState`] (e.g. a [`crate::iter::Trace`]).
    pub fn encode_observed(
        &self,
        dict: ArrayView2<'_, f64>,
        y: ArrayView2<'_, f64>,
        stop_extra: Option<&Stop>,
        schedule: Schedule,
        obs: &mut dyn Observer<PgmState>,
    ) -> Result<Encoding> {
        self.check()?;
        check_problem(dict, y)?;
        let t0 = std::time::Instant::now();
        let pre = Precomputed::new(dict, y);
        let mut alg = PgmAlg::new(self, y, pre);
        let state = alg.init_state();
        let stop = stop_extra
            .cloned()
            .unwrap_or_else(|| Stop::iters(self.max_iters));
        let (state, info) = iter::run(&mut alg, state, &stop, schedule, obs)?;
        Ok(Encoding {
            codes: state.x,
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

impl SparseCoder for Pgm {
    fn name(&self) -> String {
        let base = match self.momentum {
            Momentum::None => "ista",
            Momentum::Nesterov { .. } => "fista",
        };
        format!(
            "{base}{}[lambda={}]",
            if self.nonneg { "_nonneg" } else { "" },
            self.lambda
        )
    }
    fn encode(&self, dict: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Encoding> {
        self.encode_observed(dict, y, None, Schedule::Never, &mut NoObserver)
    }
}

/// State of the proximal-gradient iteration.
#[derive(Clone, Debug)]
pub struct PgmState {
    /// Current iterate X (m × N).
    pub x: Array2<f64>,
    /// G X.
    pub gx: Array2<f64>,
    /// Previous iterate (for the momentum term).
    x_prev: Array2<f64>,
    gx_prev: Array2<f64>,
    /// Output buffers of the next step (kept to avoid allocating m × N arrays per iteration).
    x_next: Array2<f64>,
    gx_next: Array2<f64>,
    /// Momentum weight of the next extrapolation Z = X + β(X − X⁻).
    pub beta: f64,
    /// Momentum parameter t.
    pub t: f64,
    /// Current Lipschitz estimate.
    pub lipschitz: f64,
    /// Iterations done.
    pub iter: usize,
    /// Restarts so far.
    pub restarts: usize,
    /// Relative duality gap at X (NaN before the first iteration).
    pub rel_gap: f64,
    /// Objective at X.
    pub objective: f64,
    /// Non-zeros of X.
    pub nnz: usize,
}

struct PgmAlg {
    p: Pgm,
    pre: Precomputed,
    yy: Vec<f64>,
    half_yy: f64,
}

/// Signals per fused panel.
const PANEL: usize = 128;

/// Reductions of one fused pass.
#[derive(Clone, Copy, Default)]
struct Sums {
    ip: f64,
    dd: f64,
    dgd: f64,
    obj: f64,
    gap: f64,
    nnz: usize,
    bad: f64, // Σ 0·v: NaN iff a non-finite value appeared
}

impl Sums {
    fn add(mut self, o: Sums) -> Sums {
        self.ip += o.ip;
        self.dd += o.dd;
        self.dgd += o.dgd;
        self.obj += o.obj;
        self.gap += o.gap;
        self.nnz += o.nnz;
        self.bad += o.bad;
        self
    }
}

impl PgmAlg {
    fn new(p: &Pgm, y: ArrayView2<'_, f64>, pre: Precomputed) -> Self {
        let mut yy = vec![0.0; y.ncols()];
        super::batch::column_sq_norms_into(y, &mut yy);
        let half_yy = 0.5 * yy.iter().sum::<f64>();
        PgmAlg {
            p: p.clone(),
            pre,
            yy,
            half_yy,
        }
    }
    fn init_state(&self) -> PgmState {
        let (m, nn) = self.pre.aty.dim();
        let l = lipschitz_from_gram(self.pre.gram.view(), 200);
        // fresh zeroed mappings (no copies of one zero matrix), faulted in by the parallel passes
        let zeros = || super::batch::zeros_hugepages(m, nn);
        PgmState {
            x: zeros(),
            gx: zeros(),
            x_prev: zeros(),
            gx_prev: zeros(),
            x_next: zeros(),
            gx_next: zeros(),
            beta: 0.0,
            t: 1.0,
            lipschitz: l.max(1e-300),
            iter: 0,
            restarts: 0,
            rel_gap: f64::NAN,
            objective: self.half_yy,
            nnz: 0,
        }
    }

    /// One fused pass: X⁺ = prox(Z − (GZ − B)/L) into `x_next`, G X⁺ into `gx_next`, and the sums.
    fn fused_pass(&self, s: &mut PgmState, l: f64) -> Sums {
        let ctx = Panel {
            lambda: self.p.lambda,
            nonneg: self.p.nonneg,
            backtrack: self.p.backtracking,
            l,
            beta: s.beta,
            gram: self.pre.gram.view(),
            x: s.x.view(),
            gx: s.gx.view(),
            xp: s.x_prev.view(),
            gxp: s.gx_prev.view(),
            b: self.pre.aty.view(),
            yy: &self.yy,
        };
        s.x_next
            .axis_chunks_iter_mut(Axis(1), PANEL)
            .into_par_iter()
            .zip(s.gx_next.axis_chunks_iter_mut(Axis(1), PANEL))
            .enumerate()
            .map(|(pi, (xn, gxn))| ctx.dispatch(pi, xn, gxn))
            .reduce(Sums::default, Sums::add)
    }
}

/// The shared inputs of one fused pass over panels of signals.
struct Panel<'a> {
    lambda: f64,
    nonneg: bool,
    backtrack: bool,
    l: f64,
    beta: f64,
    gram: ArrayView2<'a, f64>,
    x: ArrayView2<'a, f64>,
    gx: ArrayView2<'a, f64>,
    xp: ArrayView2<'a, f64>,
    gxp: ArrayView2<'a, f64>,
    b: ArrayView2<'a, f64>,
    yy: &'a [f64],
}

impl Panel<'_> {
    /// [`Panel::run`] compiled for AVX2 + FMA where the CPU has them (the element-wise passes are
    /// half of an iteration's memory traffic; the crate's baseline target has only SSE2).
    fn dispatch(&self, pi: usize, xn: ArrayViewMut2<'_, f64>, gxn: ArrayViewMut2<'_, f64>) -> Sums {
        #[cfg(target_arch = "x86_64")]
        if super::simd::avx2() {
            // SAFETY: the CPU supports the features the function was compiled for.
            return unsafe { self.run_avx2(pi, xn, gxn) };
        }
        self.run(pi, xn, gxn)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn run_avx2(&self, pi: usize, xn: ArrayViewMut2<'_, f64>, gxn: ArrayViewMut2<'_, f64>) -> Sums {
        self.run(pi, xn, gxn)
    }

    /// Panel `pi`: X⁺ (into `xn`), G X⁺ (into `gxn`) and the panel's sums.
    #[inline(always)]
    fn run(
        &self,
        pi: usize,
        mut xn: ArrayViewMut2<'_, f64>,
        mut gxn: ArrayViewMut2<'_, f64>,
    ) -> Sums {
        let (lambda, nonneg, backtrack, l, beta) =
            (self.lambda, self.nonneg, self.backtrack, self.l, self.beta);
        let thr = lambda / l;
        let m = self.x.nrows();
        let (gram, x, gx, xp, gxp, b, yy) = (
            self.gram, self.x, self.gx, self.xp, self.gxp, self.b, self.yy,
        );
        let j0 = pi * PANEL;
        let w = xn.ncols();
        let cols = s![.., j0..j0 + w];
        let (xk, gk, xq, gq, bb) = (
            x.slice(cols),
            gx.slice(cols),
            xp.slice(cols),
            gxp.slice(cols),
            b.slice(cols),
        );
        let mut sums = Sums::default();
        let inv_l = 1.0 / l;
        // pass 1: extrapolate, prox, restart inner product. Every reduction is kept per
        // column (`ipv`), so the inner loops have no serial floating-point chain and
        // vectorize; the panel's sums are taken once at the end.
        let mut ipv = [0.0; PANEL];
        for r in 0..m {
            let (xk, gk, xq, gq, bb) = (xk.row(r), gk.row(r), xq.row(r), gq.row(r), bb.row(r));
            let mut out = xn.row_mut(r);
            let (xk, gk, xq, gq, bb) = (
                xk.as_slice().expect("row-major"),
                gk.as_slice().expect("row-major"),
                xq.as_slice().expect("row-major"),
                gq.as_slice().expect("row-major"),
                bb.as_slice().expect("row-major"),
            );
            let out = &mut out.as_slice_mut().expect("row-major")[..w];
            let (xk, gk, xq, gq, bb) = (&xk[..w], &gk[..w], &xq[..w], &gq[..w], &bb[..w]);
            let ipw = &mut ipv[..w];
            for c in 0..w {
                let z = xk[c] + beta * (xk[c] - xq[c]);
                let gz = gk[c] + beta * (gk[c] - gq[c]);
                let u = z - (gz - bb[c]) * inv_l;
                let v = if nonneg {
                    soft_nonneg(u, thr)
                } else {
                    soft(u, thr)
                };
                out[c] = v;
                ipw[c] += (z - v) * (v - xk[c]);
            }
        }
        sums.ip = ipv[..w].iter().sum();
        // the panel's GEMM while X⁺ is in cache
        linalg::gemm_into(
            gxn.view_mut(),
            1.0,
            gram,
            false,
            xn.view(),
            false,
            0.0,
            Par::Seq,
        );
        // pass 2: objective, duality gap, backtracking sums (per column)
        let mut xb = [0.0; PANEL];
        let mut xgx = [0.0; PANEL];
        let mut l1 = [0.0; PANEL];
        let mut cmax = [0.0; PANEL];
        let mut nnzv = [0u64; PANEL];
        let mut badv = [0.0; PANEL];
        for r in 0..m {
            let (xr, gr, br) = (xn.row(r), gxn.row(r), bb.row(r));
            let (xr, gr, br) = (
                &xr.as_slice().expect("row-major")[..w],
                &gr.as_slice().expect("row-major")[..w],
                &br.as_slice().expect("row-major")[..w],
            );
            for c in 0..w {
                let (v, gv, bv) = (xr[c], gr[c], br[c]);
                xb[c] += v * bv;
                xgx[c] += v * gv;
                l1[c] += v.abs();
                let corr = if nonneg { bv - gv } else { (bv - gv).abs() };
                cmax[c] = if corr > cmax[c] { corr } else { cmax[c] };
                nnzv[c] += (v != 0.0) as u64;
                badv[c] += v * 0.0 + gv * 0.0;
            }
            if backtrack {
                let (xk, gk, xq, gq) = (xk.row(r), gk.row(r), xq.row(r), gq.row(r));
                for c in 0..w {
                    let z = xk[c] + beta * (xk[c] - xq[c]);
                    let gz = gk[c] + beta * (gk[c] - gq[c]);
                    let d = xr[c] - z;
                    sums.dd += d * d;
                    sums.dgd += d * (gr[c] - gz);
                }
            }
        }
        for c in 0..w {
            let yyc = yy[j0 + c];
            let rr = (yyc - 2.0 * xb[c] + xgx[c]).max(0.0);
            let primal = 0.5 * rr + lambda * l1[c];
            let yr = yyc - xb[c];
            let sc = if cmax[c] > lambda {
                lambda / cmax[c]
            } else {
                1.0
            };
            let dual = 0.5 * yyc - 0.5 * (yyc - 2.0 * sc * yr + sc * sc * rr).max(0.0);
            sums.obj += primal;
            sums.gap += (primal - dual).max(0.0);
        }
        sums.nnz = nnzv[..w].iter().sum::<u64>() as usize;
        sums.bad = badv[..w].iter().sum();
        sums
    }
}

impl Iterative for PgmAlg {
    type State = PgmState;
    fn step(&mut self, s: &mut PgmState) -> Result<()> {
        let mut l = s.lipschitz;
        let sums = loop {
            let sums = self.fused_pass(s, l);
            // quadratic upper bound at Z: f(X+) ≤ f(Z) + <∇f(Z), X+ − Z> + L/2 ‖X+ − Z‖²,
            // f(X) = ½<X, GX> − <X, B>: f(X+) − f(Z) − <GZ − B, D> = ½<D, G D> with D = X+ − Z
            if !self.p.backtracking
                || 0.5 * sums.dgd <= 0.5 * l * sums.dd * (1.0 + 1e-12)
                || l > 1e300
            {
                break sums;
            }
            l *= 2.0;
        };
        s.lipschitz = l;
        s.beta = match self.p.momentum {
            Momentum::None => 0.0,
            Momentum::Nesterov { restart } => {
                let mut t = s.t;
                // <Z − X+, X+ − X> > 0 → restart
                if restart && sums.ip > 0.0 {
                    t = 1.0;
                    s.restarts += 1;
                }
                let tn = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
                s.t = tn;
                (t - 1.0) / tn
            }
        };
        // rotate: X⁻ ← X, X ← X⁺ (the old X⁻ becomes the next output buffer)
        std::mem::swap(&mut s.x_prev, &mut s.x);
        std::mem::swap(&mut s.x, &mut s.x_next);
        std::mem::swap(&mut s.gx_prev, &mut s.gx);
        std::mem::swap(&mut s.gx, &mut s.gx_next);
        s.iter += 1;
        s.nnz = sums.nnz;
        s.objective = if sums.bad.is_finite() {
            sums.obj
        } else {
            f64::NAN
        };
        s.rel_gap = sums.gap / self.half_yy.max(1e-300);
        Ok(())
    }
    fn objective(&self, s: &PgmState) -> f64 {
        s.objective
    }
    fn record(&self, s: &PgmState, rec: &mut Record) {
        rec.set("lipschitz", s.lipschitz);
        rec.set("momentum_t", s.t);
        rec.set("restarts", s.restarts as f64);
        rec.set("n_active", s.nnz as f64 / s.x.ncols().max(1) as f64);
        rec.set("rel_gap", s.rel_gap);
    }
    fn converged(&self, s: &PgmState) -> Option<Criterion> {
        (s.rel_gap.is_finite() && s.rel_gap <= self.p.tol)
            .then_some(Criterion::Solver("duality_gap"))
    }
}

/// Flops of the one GEMM in a FISTA/ISTA iteration (G X: 2 m² N), for GFLOP/s reports.
pub fn iteration_flops(m: usize, n_samples: usize) -> f64 {
    2.0 * (m * m) as f64 * n_samples as f64
}
