//! Complete dictionary learning by ℓ4-norm maximization over the orthogonal group: MSP
//! ("matching, stretching and projection").
//!
//! For signals $Y = D_o X$ with $D_o \in O(n)$ and sparse $X$ (Bernoulli–Gaussian), the sparsest
//! rotation of the data maximizes the ℓ4 norm:
//! $$\max_{A \in O(n)} \tfrac14\|AY\|_4^4,\qquad \|M\|_4^4 = \textstyle\sum_{ij} M_{ij}^4 .$$
//! MSP is the projected fixed point of this problem (Zhai, Yang, Liao, Wright, Ma 2020, Algorithm 1):
//! $$A_{t+1} = \mathcal P_{O(n)}\big[(A_tY)^{\circ 3}Y^\top\big],\qquad \mathcal P_{O(n)}(U\Sigma V^\top) = UV^\top,$$
//! one polar decomposition (an n × n SVD through faer) per iteration. The iteration increases
//! $\|AY\|_4^4$ monotonically: the objective is convex, so its linearization at $A_t$ minorizes it
//! and $A_{t+1}$ maximizes that linearization over O(n).
//!
//! In this crate's convention the *dictionary* is $D = A^\top$ (atoms are columns, the codes are
//! $X = D^\top Y$), so the iteration is written $D \leftarrow \mathcal P_{O(n)}\big[Y (D^\top Y)^{\circ3\top}\big]$
//! — the transpose of the paper's, same iterates. Each iteration costs two n × n × p GEMMs
//! ($4n^2p$ flops) and one n × n SVD.
//!
//! The learner keeps the codes $X = D^\top Y$ of its current dictionary (exact reconstruction:
//! `data_fit` is 0 for an orthogonal $D$); the engine objective is $-\|D^\top Y\|_4^4 / p$ and
//! every record carries `l4_value` $= \|D^\top Y\|_4^4/p$.
//!
//! ## References
//! * Zhai, Yang, Liao, Wright, Ma (2020), "Complete dictionary learning via ℓ4-norm maximization
//!   over the orthogonal group", JMLR 21(165), Algorithm 1 (MSP); the code of docs/protocols.md §4b
//!   (hermish/ZMZM-ICLR-2020, `msp-comparison/main.m`) for the protocol.
//! * Zhai, Mehta, Zhou, Ma (2020), "Understanding ℓ4-based dictionary learning: interpretation,
//!   stability, and robustness", ICLR, Table 2 (robustness protocol, docs/protocols.md §4b).

use super::LearnerSpec;
use super::{DictionaryLearner, Init, LearnState, Learned, check_signals};
use crate::error::{Error, Result};
use crate::iter::{self, Iterative, Observer, Record, Schedule, Stop};
use crate::linalg::{self, Par};
use crate::rng::rng_from_seed;
use ndarray::{Array2, ArrayView2, Zip, s};

crate::declare_method! {
    /// MSP: ℓ4 maximization over O(n) (square dictionaries only).
    ///
    /// Measured (n = 20, p = 5000, θ = 0.3): plain MSP stops at its statistical floor, `l4_error`
    /// 5.7e-3 (1.0e-3 at p = 20 000); 5 polishing rounds bring it to 5.7e-6.
    ///
    /// The initial dictionary is the polar factor of `init` (a Gaussian init gives a Haar-random
    /// orthogonal matrix, as the paper's QR-based start).
    #[derive(Clone, Debug, PartialEq)]
    pub struct Msp {
        given {}
        params {
            /// iteration cap (the paper's scripts run 200)
            max_iters as "iters": usize = param(Count, 200);
            /// stop when the ℓ4 value grows by less than this, relative (unset: run to the cap)
            rel_tol: Option<f64> = auto(Positive, "off");
            /// Procrustes polishing rounds after MSP (ours, see `Msp::polish`)
            polish_iters as "polish": usize = param(Natural, 0);
            /// polishing threshold, relative to each code row's RMS
            polish_threshold: f64 = param(NonNegative, 0.25);
        }
    }
}

impl Default for Msp {
    fn default() -> Self {
        Self::new()
    }
}

impl Msp {
    /// Polishing (ours, not in Zhai et al.): `polish_iters` rounds of orthogonal Procrustes on
    /// hard-thresholded codes, $\hat X = \mathrm{HT}_{t\,r_i}(D^\top Y)$ row-wise ($r_i$ the RMS of
    /// row i, t = `polish_threshold`), $D \leftarrow \mathcal P_{O(n)}(Y\hat X^\top)$. The ℓ4
    /// maximizer of a finite sample sits at a statistical distance O(√(n/p)) from the truth; with
    /// the true support and values, $\mathcal P_{O(n)}(D_oXX^\top) = D_o$ exactly, so fitting
    /// the sparse codes removes most of that error.
    ///
    /// # Errors
    /// Shape mismatch; SVD failure.
    pub fn polish(&self, y: ArrayView2<'_, f64>, dict: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let n = dict.nrows();
        if dict.dim() != (n, n) || y.nrows() != n {
            return Err(Error::shape(
                "dictionary (n × n)",
                (y.nrows(), y.nrows()),
                dict.dim(),
            ));
        }
        self.check_params()?;
        let mut d = dict.to_owned();
        for _ in 0..self.polish_iters {
            let x = linalg::matmul_tn(d.view(), y, linalg::par());
            let t: Vec<f64> = x
                .rows()
                .into_iter()
                .map(|row| {
                    let ms = row.iter().map(|v| v * v).sum::<f64>() / row.len() as f64;
                    self.polish_threshold * ms.sqrt()
                })
                .collect();
            let m = y_times_mapped_t(y, x.view(), |i, v| if v.abs() > t[i] { v } else { 0.0 });
            d = linalg::polar(m.view(), Par::Seq)?;
        }
        Ok(d)
    }
}

/// The MSP iteration on the engine.
struct MspAlg<'a> {
    y: ArrayView2<'a, f64>,
}

/// `Y g(X)ᵀ` (n × m) for Y n × p, X m × p, with g applied entrywise as `g(row, x_ij)` (MSP's
/// stretch `x³`, the polishing threshold). The product has a long inner dimension p and a small
/// output, which a GEMM does not parallelise well; here p is cut into a fixed number of blocks
/// (not a function of the thread count, so the result is bit-identical for any number of
/// threads), each block maps 512-column panels into a cache-resident buffer and accumulates its
/// own n × m product, and the partial products are summed in block order.
fn y_times_mapped_t(
    y: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
    g: impl Fn(usize, f64) -> f64 + Sync,
) -> Array2<f64> {
    use rayon::prelude::*;
    const PANEL: usize = 512;
    const BLOCKS: usize = 16;
    let (n, p) = y.dim();
    let m = x.nrows();
    let per = p.div_ceil(BLOCKS).max(1);
    let parts: Vec<Array2<f64>> = (0..p.div_ceil(per))
        .into_par_iter()
        .map(|b| {
            let (b0, b1) = (b * per, ((b + 1) * per).min(p));
            let mut acc = Array2::zeros((n, m));
            let mut buf = Array2::zeros((m, PANEL));
            let mut c0 = b0;
            while c0 < b1 {
                let c1 = (c0 + PANEL).min(b1);
                let mut mapped = buf.slice_mut(s![.., ..c1 - c0]);
                Zip::indexed(&mut mapped)
                    .and(x.slice(s![.., c0..c1]))
                    .for_each(|(i, _), c, &v| *c = g(i, v));
                linalg::gemm_into(
                    acc.view_mut(),
                    1.0,
                    y.slice(s![.., c0..c1]),
                    false,
                    mapped.view(),
                    true,
                    1.0,
                    Par::Seq,
                );
                c0 = c1;
            }
            acc
        })
        .collect();
    let mut out = Array2::zeros((n, m));
    for part in &parts {
        out += part;
    }
    out
}

/// `‖X‖₄⁴ / p`.
fn l4_value(x: ArrayView2<'_, f64>) -> f64 {
    let p = x.ncols().max(1) as f64;
    x.iter().map(|v| (v * v) * (v * v)).sum::<f64>() / p
}

/// `codes ← dictᵀ Y`.
fn recode(s: &mut LearnState, y: ArrayView2<'_, f64>) {
    linalg::gemm_into(
        s.codes.view_mut(),
        1.0,
        s.dict.view(),
        true,
        y,
        false,
        0.0,
        linalg::par(),
    );
}

impl Iterative for MspAlg<'_> {
    type State = LearnState;
    fn step(&mut self, s: &mut LearnState) -> Result<()> {
        // matching + stretching: Y (DᵀY)^{∘3 ᵀ}
        let m = y_times_mapped_t(self.y, s.codes.view(), |_, x| x * x * x);
        // projection onto O(n)
        s.dict = linalg::polar(m.view(), linalg::Par::Seq)?;
        recode(s, self.y);
        s.step += 1;
        s.samples_seen += self.y.ncols();
        Ok(())
    }
    fn objective(&self, s: &LearnState) -> f64 {
        if s.dict.iter().any(|v| !v.is_finite()) {
            return f64::NAN;
        }
        -l4_value(s.codes.view())
    }
    fn record(&self, s: &LearnState, rec: &mut Record) {
        rec.set("l4_value", l4_value(s.codes.view()));
    }
}

impl DictionaryLearner for Msp {
    fn name(&self) -> String {
        format!("msp[iters={}]", self.max_iters)
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
        let (n, p) = y.dim();
        if m != n {
            return Err(Error::invalid(
                "n_atoms",
                m,
                format!(
                    "m = n = {n}: MSP learns a complete (orthogonal) dictionary; for m > n use the \
                     overcomplete ℓ4 learner (learn::L4Sphere, `--method l4`)"
                ),
            ));
        }
        check_signals(y, m)?;
        super::l4::check_sample_size(n, p)?;
        let mut rng = rng_from_seed(seed);
        let d0 = init.build(y, m, &mut rng)?;
        let d0 = linalg::polar(d0.view(), linalg::Par::Seq)?;
        let mut state = LearnState::new(d0, rng);
        state.codes = Array2::zeros((m, p));
        recode(&mut state, y);
        let mut alg = MspAlg { y };
        let stop = Stop {
            max_iters: self.max_iters,
            rel_decrease: self.rel_tol,
            ..Default::default()
        };
        let (mut s, info) = iter::run(&mut alg, state, &stop, schedule, obs)?;
        if self.polish_iters > 0 {
            s.dict = self.polish(y, s.dict.view())?;
            recode(&mut s, y);
        }
        Ok(Learned::from_state(s, info))
    }
}

/// `msp`: ℓ4 maximization over the orthogonal group (complete dictionaries).
pub const SPEC: LearnerSpec = LearnerSpec {
    name: "msp",
    family: crate::spec::Family::Classical,
    summary: "MSP (Zhai et al. 2020): ℓ4 maximization over the orthogonal group, m = n only",
    params: Msp::PARAMS,
    budget: crate::spec::Budget::Iters("iters"),
    build: |p, ctx| {
        let m = ctx.n_atoms;
        if let Some(n) = ctx.dim.filter(|&n| n != m) {
            return Err(Error::invalid(
                "method",
                format!("msp on m = {m} atoms, n = {n} dimensions"),
                "a complete dictionary (m = n): in a plan, restrict it with `when = { n_atoms = n }`; for m > n use `l4` (`--method l4` on the command line)",
            ));
        }
        Ok(Box::new(Msp::from_params(p, ctx)?))
    },
};
