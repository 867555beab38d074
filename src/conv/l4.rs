//! Convolutional dictionary learning by ℓ4-norm maximization over the sphere (Qu, Zhai, Li, Zhang,
//! Zhu 2020, the convolutional section).
//!
//! **Model** (circular, one channel): $y_i = \sum_{k=1}^K a_k \circledast x_{ik}$, $y_i \in \mathbb R^T$,
//! filters $a_k$ of length L ≤ T (zero-padded to T), Bernoulli(θ)–Gaussian $x_{ik}$. With $C_v$ the
//! T × T circulant matrix of v, $C_{y_i} = [C_{a_1} \cdots C_{a_K}]\,[C_{x_{i1}}; \dots; C_{x_{iK}}]$: an
//! overcomplete dictionary learning problem whose dictionary $A = [C_{a_1} \cdots C_{a_K}]$
//! (T × KT) holds every circular shift of every filter.
//!
//! **Preconditioning.** $P = \big(\tfrac{1}{\theta T N}\sum_i C_{y_i} C_{y_i}^\top\big)^{-1/2}$ — a
//! circulant matrix, diagonal in the DFT basis with entries $(s(\omega)/(\theta T))^{-1/2}$,
//! $s(\omega) = \tfrac1N\sum_i |\hat y_i(\omega)|^2$ — makes $PA$ close to a tight frame. The scale θT
//! does not change the maximizers on the sphere, so we use $(s(\omega)/\bar s)^{-1/2}$ with $\bar s$
//! the mean of s (ours: the method is not told θ), and floor s at $10^{-12}\max s$ (ours).
//!
//! **Objective** on the preconditioned signals $\bar y_i = P y_i$:
//! $$\min_{q \in \mathbb S^{T-1}} f(q) = -\frac{1}{4NT}\sum_{i=1}^N \big\|C_{\bar y_i}^\top q\big\|_4^4,
//!   \qquad \nabla f = -\frac{1}{NT}\sum_i C_{\bar y_i}\big(C_{\bar y_i}^\top q\big)^{\circ 3}.$$
//! $C_{\bar y}^\top q$ is the circular cross-correlation $c[t] = \sum_s \bar y[s + t]\, q[s]$, whose DFT is
//! $\hat c = \hat{\bar y}\,\overline{\hat q}$; $C_{\bar y} r$ is the same sum with the roles of s and t
//! swapped, $g[s] = \sum_t \bar y[s+t]\, r[t]$, whose DFT is $\hat{\bar y}\,\overline{\hat r}$. Each power
//! step costs two real FFTs of length T per signal.
//!
//! **Solvers**, from uniform random starts, each start stopping when
//! $\|P_q\nabla f\| \le \text{tol}\cdot|q^\top\nabla f|$ or after `iters` steps:
//! - `rgd` (default; the paper's): Riemannian gradient descent
//!   $q \leftarrow \mathrm{normalize}(q - \eta\,P_q\nabla f)$ with Armijo backtracking; η is relative
//!   to $1/|q^\top\nabla f|$ (ours: starts at 1/16, ×1.5 after an accepted step up to ¼, halved on
//!   a rejection). At η = 1 the step is exactly the power step ($q - P_q\nabla f/|q^\top\nabla f| =
//!   -\nabla f/|q^\top\nabla f|$ for f < 0), so the cap keeps steps local;
//! - `power`: the fixed-point iteration $q \leftarrow -\nabla f/\|\nabla f\|$ (the sphere analogue of
//!   MSP, as `l4`'s `power` solver). Its steps are long: measured here, on two filters of length
//!   12 in 200 signals of length 48 at θ = 0.03, all 16 power starts ended on the same filter in 4
//!   of 6 instances, so it finds one filter, not all.
//!
//! **All K filters** (ours where the paper is silent): rounds of `starts` random starts; every limit
//! q is mapped back to a filter $\hat a = P^{-1} q$ (length T), cut to the circular window of
//! length L with the most energy, and normalized. The candidates of all rounds are ranked by their
//! ℓ4 value and kept greedily when their best |normalized correlation| over lags with every kept
//! filter is ≤ `dup` (a start that lands on a shift of a kept filter is a duplicate). Rounds stop
//! when K filters are kept. Deflation is not used (not exact for overcomplete A).
//!
//! **Refinement** (ours, off by default): the maximizers of the ℓ4 objective sit O(coherence)
//! away from the filters' shifts, so the raw filters reach |corr| ≈ 0.98–0.995 on easy problems
//! rather than 1. `refine` > 0 runs that many outer iterations of [`super::ConvAltMin`] from the ℓ4
//! filters (slots not filled by distinct filters take the next-best starts' filters); its
//! iterations are not observed, and its activations become the state's.
//!
//! Each start's outcome — its ℓ4 value, its steps, whether it converged and whether it was kept —
//! is returned in [`ConvL4Start`], so a notebook can match every start to a true filter and its
//! shift with [`crate::conv::conv_recovery`].
//!
//! ## References
//! * Qu, Zhai, Li, Zhang, Zhu (2020), "Analysis of the optimization landscapes for overcomplete
//!   representation learning", ICLR (arXiv 1912.02427), the convolutional section: the model, the
//!   preconditioning P and the objective as docs/protocols.md §4a and §17 state them (equation
//!   numbers not checked against the PDF).
//! * Zhai, Yang, Liao, Wright, Ma (2020), "Complete dictionary learning via ℓ4-norm maximization
//!   over the orthogonal group", JMLR 21 (the fixed-point iteration, MSP).

use super::ConvLearnerSpec;
use super::problem::Boundary;
use super::{ConvLearnState, ConvLearned};
use crate::error::{Error, Result, ensure};
use crate::iter::{self, Criterion, Iterative, Observer, Record, Schedule, Stop};
use crate::rng::{Rng64, derive_seed, rng_from_seed};
use ndarray::{Array2, Array3, ArrayView3, Axis};
use rand::Rng;
use rand_distr::StandardNormal;
use realfft::RealFftPlanner;
use realfft::num_complex::Complex;
use std::sync::Arc;

type C64 = Complex<f64>;

crate::declare_method! {
    /// Convolutional ℓ4 maximization over the sphere from random starts (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ConvL4 {
        given {}
        params {
            /// random starts per round (unset: max(2K, 4))
            starts: Option<usize> = auto(Count, "max(2K, 4)");
            /// rounds of starts (stop early once K distinct filters are kept)
            rounds: usize = param(Count, 4);
            /// Riemannian gradient descent with Armijo backtracking, or the power (fixed-point) iteration
            solver: L4Solver = choice(["rgd", "power"], "rgd");
            /// steps per start
            iters: usize = param(Count, 300);
            /// a start stops when the Riemannian gradient norm ≤ tol times the absolute value of qᵀ∇f
            tol: f64 = param(Positive, 1e-6);
            /// two filters are one when their best absolute normalized correlation over lags exceeds dup
            dup: f64 = param(Between(0.0, 1.0), 0.9);
            /// precondition the signals by P (the paper's whitening of the circulant system)
            precondition: bool = param(Bool, true);
            /// ours: outer iterations of conv_altmin (LGCD codes, λ = 0.1 λ_max, projected-gradient atoms) started from the ℓ4 filters; 0 = the paper's method alone
            refine: usize = param(Natural, 0);
        }
    }
}

/// The sphere solver of [`ConvL4`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4Solver {
    /// Riemannian gradient descent, q ← normalize(q − η P_q∇f), Armijo backtracking.
    Rgd,
    /// q ← −∇f/‖∇f‖.
    Power,
}

impl crate::spec::Choice for L4Solver {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "rgd" => Some(L4Solver::Rgd),
            "power" => Some(L4Solver::Power),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            L4Solver::Rgd => "rgd",
            L4Solver::Power => "power",
        }
    }
}

impl Default for ConvL4 {
    fn default() -> Self {
        Self::new()
    }
}

/// The registry entry of [`ConvL4`].
pub const SPEC: ConvLearnerSpec = ConvLearnerSpec {
    name: "conv_l4",
    family: crate::spec::Family::Classical,
    summary: "Convolutional ℓ4 maximization over the sphere (Qu et al. 2020, convolutional section): preconditioned circular signals, Riemannian gradient descent (or power iterations) from random starts, filters de-duplicated up to shift",
    params: ConvL4::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(ConvL4::from_params(p, ctx)?)),
};

impl super::ConvLearner for ConvL4 {
    fn name(&self) -> String {
        let mut s = format!(
            "conv_l4[solver={},precondition={}",
            crate::spec::Choice::word(&self.solver),
            if self.precondition { "true" } else { "false" }
        );
        if self.refine > 0 {
            s.push_str(&format!(",refine={}", self.refine));
        }
        s + "]"
    }
    fn learn_observed(
        &self,
        y: ArrayView3<'_, f64>,
        n_atoms: usize,
        atom_len: usize,
        boundary: Boundary,
        init_atoms: Option<ArrayView3<'_, f64>>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<ConvLearnState>,
    ) -> Result<ConvLearned> {
        if init_atoms.is_some() {
            return Err(Error::invalid(
                "init_atoms",
                "given",
                "no start atoms: conv_l4 starts uniformly on the sphere (drop --init-dict)",
            ));
        }
        self.learn_detailed(y, n_atoms, atom_len, boundary, seed, schedule, obs)
            .map(|r| r.learned)
    }
}

/// The outcome of one random start.
#[derive(Clone, Debug)]
pub struct ConvL4Start {
    /// Round (0-based).
    pub round: usize,
    /// f(q) at the limit (negative; smaller is a larger ℓ4 norm).
    pub value: f64,
    /// Power steps taken.
    pub steps: usize,
    /// Whether the start met the tolerance.
    pub converged: bool,
    /// The filter it found: P⁻¹q cut to its best length-L circular window, unit norm (1 × L).
    pub filter: Array2<f64>,
    /// Whether it is among the kept filters at the end.
    pub kept: bool,
}

/// [`ConvL4::learn_detailed`]'s result: the learned atoms and every start's outcome.
#[derive(Clone, Debug)]
pub struct ConvL4Result {
    /// The atoms, iterations (rounds) and termination.
    pub learned: ConvLearned,
    /// One entry per start, in order.
    pub starts: Vec<ConvL4Start>,
}

/// The preconditioned signals' spectra and the FFT plans.
struct Spectra {
    /// Half spectra of the preconditioned signals (N × (T/2 + 1)).
    yh: Vec<Vec<C64>>,
    /// The preconditioner's diagonal in the DFT basis (T/2 + 1).
    p: Vec<f64>,
    t: usize,
    fwd: Arc<dyn realfft::RealToComplex<f64>>,
    inv: Arc<dyn realfft::ComplexToReal<f64>>,
}

fn fft_err(e: impl std::fmt::Display) -> Error {
    Error::Linalg {
        op: "real FFT",
        detail: e.to_string(),
    }
}

impl Spectra {
    fn new(y: ArrayView3<'_, f64>, precondition: bool) -> Result<Self> {
        let (n, _, t) = y.dim();
        let mut planner = RealFftPlanner::<f64>::new();
        let fwd = planner.plan_fft_forward(t);
        let inv = planner.plan_fft_inverse(t);
        let mut yh = Vec::with_capacity(n);
        let mut buf = vec![0.0; t];
        for i in 0..n {
            buf.iter_mut()
                .zip(y.index_axis(Axis(0), i).row(0))
                .for_each(|(b, v)| *b = *v);
            let mut out = fwd.make_output_vec();
            fwd.process(&mut buf, &mut out).map_err(fft_err)?;
            yh.push(out);
        }
        let nf = t / 2 + 1;
        let mut p = vec![1.0; nf];
        if precondition {
            let mut s = vec![0.0; nf];
            for spec in &yh {
                for (sw, v) in s.iter_mut().zip(spec) {
                    *sw += v.norm_sqr() / n as f64;
                }
            }
            let top = s.iter().fold(0.0f64, |a, v| a.max(*v));
            let floor = 1e-12 * top;
            let mean = s.iter().map(|v| v.max(floor)).sum::<f64>() / nf as f64;
            for (pw, sw) in p.iter_mut().zip(&s) {
                *pw = (sw.max(floor) / mean).powf(-0.5);
            }
            for spec in &mut yh {
                for (v, pw) in spec.iter_mut().zip(&p) {
                    *v *= *pw;
                }
            }
        }
        Ok(Spectra {
            yh,
            p,
            t,
            fwd,
            inv,
        })
    }

    fn rfft(&self, x: &[f64]) -> Result<Vec<C64>> {
        let mut buf = x.to_vec();
        let mut out = self.fwd.make_output_vec();
        self.fwd.process(&mut buf, &mut out).map_err(fft_err)?;
        Ok(out)
    }

    /// The inverse real FFT, normalized (x = irfft(rfft(x))).
    fn irfft(&self, spec: &mut [C64]) -> Result<Vec<f64>> {
        spec[0].im = 0.0;
        if self.t.is_multiple_of(2) {
            let last = spec.len() - 1;
            spec[last].im = 0.0;
        }
        let mut out = vec![0.0; self.t];
        self.inv.process(spec, &mut out).map_err(fft_err)?;
        let s = 1.0 / self.t as f64;
        out.iter_mut().for_each(|v| *v *= s);
        Ok(out)
    }

    /// f(q) and ∇f(q) (module doc).
    fn value_grad(&self, q: &[f64]) -> Result<(f64, Vec<f64>)> {
        let qh = self.rfft(q)?;
        let nf = qh.len();
        let mut acc = vec![C64::new(0.0, 0.0); nf];
        let mut quart = 0.0;
        let mut ch = vec![C64::new(0.0, 0.0); nf];
        for yh in &self.yh {
            for w in 0..nf {
                ch[w] = yh[w] * qh[w].conj();
            }
            let c = self.irfft(&mut ch)?;
            quart += c.iter().map(|v| v * v * v * v).sum::<f64>();
            let r: Vec<f64> = c.iter().map(|v| v * v * v).collect();
            let rh = self.rfft(&r)?;
            for w in 0..nf {
                acc[w] += yh[w] * rh[w].conj();
            }
        }
        let scale = (self.yh.len() * self.t) as f64;
        let g = self.irfft(&mut acc)?;
        Ok((
            -quart / (4.0 * scale),
            g.into_iter().map(|v| -v / scale).collect(),
        ))
    }

    /// P⁻¹q.
    fn unprecondition(&self, q: &[f64]) -> Result<Vec<f64>> {
        let mut qh = self.rfft(q)?;
        for (v, pw) in qh.iter_mut().zip(&self.p) {
            *v /= *pw;
        }
        self.irfft(&mut qh)
    }
}

/// The circular window of length `l` of `a` with the most energy, unit norm (1 × l).
fn best_window(a: &[f64], l: usize) -> Array2<f64> {
    let t = a.len();
    let sq: Vec<f64> = a.iter().map(|v| v * v).collect();
    let mut e: f64 = (0..l).map(|j| sq[j % t]).sum();
    let (mut best, mut best_e) = (0usize, e);
    for s in 1..t {
        e += sq[(s + l - 1) % t] - sq[s - 1];
        if e > best_e {
            best = s;
            best_e = e;
        }
    }
    let mut w = Array2::from_shape_fn((1, l), |(_, j)| a[(best + j) % t]);
    let nrm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    if nrm > 0.0 {
        w /= nrm;
    }
    w
}

/// RGD's largest step relative to 1/|qᵀ∇f|; at 1 the step is the power step (module doc).
const ETA_MAX: f64 = 0.25;

fn unit_vec(mut v: Vec<f64>) -> Vec<f64> {
    let nrm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
    v.iter_mut().for_each(|x| *x /= nrm);
    v
}

/// A start's limit: (q, f, steps, converged).
type Limit = (Vec<f64>, f64, usize, bool);

/// One start from `q` (unit): `solver` steps until ‖P_q∇f‖ ≤ tol·|qᵀ∇f| or `iters` steps,
/// returning (q, f, steps, converged).
fn sphere_run(
    sp: &Spectra,
    mut q: Vec<f64>,
    solver: L4Solver,
    iters: usize,
    tol: f64,
) -> Result<Limit> {
    let (mut value, mut g) = sp.value_grad(&q)?;
    // RGD's step, relative to 1/|qᵀ∇f| (the scale at which a step is as long as the power step)
    let mut eta = ETA_MAX / 4.0;
    for step in 0..iters {
        let d: f64 = q.iter().zip(&g).map(|(a, b)| a * b).sum();
        let rg: Vec<f64> = q.iter().zip(&g).map(|(a, b)| b - d * a).collect();
        let rg2: f64 = rg.iter().map(|v| v * v).sum();
        if !(rg2.is_finite() && d.is_finite()) {
            return Err(Error::NonFinite {
                what: "ℓ4 gradient",
                row: 0,
                col: step,
            });
        }
        if rg2.sqrt() <= tol * d.abs() {
            return Ok((q, value, step, true));
        }
        match solver {
            L4Solver::Power => {
                q = unit_vec(g.iter().map(|v| -v).collect());
                (value, g) = sp.value_grad(&q)?;
            }
            L4Solver::Rgd => {
                let scale = 1.0 / d.abs().max(1e-300);
                let mut accepted = false;
                for _ in 0..40 {
                    let h = eta * scale;
                    let cand = unit_vec(q.iter().zip(&rg).map(|(a, r)| a - h * r).collect());
                    let (fc, gc) = sp.value_grad(&cand)?;
                    if fc <= value - 1e-4 * h * rg2 {
                        q = cand;
                        (value, g) = (fc, gc);
                        eta = (eta * 1.5).min(ETA_MAX);
                        accepted = true;
                        break;
                    }
                    eta *= 0.5;
                }
                if !accepted {
                    // no decrease at any step: a critical point to working precision
                    return Ok((q, value, step + 1, true));
                }
            }
        }
    }
    Ok((q, value, iters, false))
}

struct Rounds<'a> {
    sp: &'a Spectra,
    cfg: &'a ConvL4,
    starts: usize,
    k: usize,
    l: usize,
    seed: u64,
    all: Vec<ConvL4Start>,
    kept: Vec<usize>,
}

impl Rounds<'_> {
    /// Rank every start by value and keep distinct filters greedily (module doc).
    fn select(&mut self) -> Result<()> {
        let mut order: Vec<usize> = (0..self.all.len()).collect();
        order.sort_by(|&a, &b| self.all[a].value.total_cmp(&self.all[b].value));
        let mut kept: Vec<usize> = Vec::new();
        for j in order {
            if kept.len() == self.k {
                break;
            }
            let mut dup = false;
            for &i in &kept {
                let c = super::shift_correlation(self.all[i].filter.view(), self.all[j].filter.view())?;
                if c.iter().any(|v| v.abs() > self.cfg.dup) {
                    dup = true;
                    break;
                }
            }
            if !dup {
                kept.push(j);
            }
        }
        for s in &mut self.all {
            s.kept = false;
        }
        for &i in &kept {
            self.all[i].kept = true;
        }
        self.kept = kept;
        Ok(())
    }
}

impl Iterative for Rounds<'_> {
    type State = ConvLearnState;
    fn step(&mut self, s: &mut ConvLearnState) -> Result<()> {
        use rayon::prelude::*;
        let round = self.all.last().map_or(0, |s| s.round + 1);
        let t = self.sp.t;
        // each start's random point from (seed, round, start): the same at any thread count
        let q0: Vec<Vec<f64>> = (0..self.starts)
            .map(|j| {
                let mut rng: Rng64 =
                    rng_from_seed(derive_seed(self.seed, &format!("conv_l4 start {round}.{j}")));
                let mut q: Vec<f64> = (0..t).map(|_| rng.sample(StandardNormal)).collect();
                let nrm = q.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
                q.iter_mut().for_each(|v| *v /= nrm);
                q
            })
            .collect();
        let runs: Vec<Result<Limit>> = q0
            .into_par_iter()
            .map(|q| sphere_run(self.sp, q, self.cfg.solver, self.cfg.iters, self.cfg.tol))
            .collect();
        let mut steps = 0;
        for r in runs {
            let (q, value, st, converged) = r?;
            steps += st;
            let a = self.sp.unprecondition(&q)?;
            self.all.push(ConvL4Start {
                round,
                value,
                steps: st,
                converged,
                filter: best_window(&a, self.l),
                kept: false,
            });
        }
        self.select()?;
        let mut atoms = Array3::zeros((self.k, 1, self.l));
        for (slot, &i) in self.kept.iter().enumerate() {
            atoms
                .index_axis_mut(Axis(0), slot)
                .assign(&self.all[i].filter);
        }
        s.atoms = atoms;
        s.objective = self.objective_of_kept();
        s.csc_iters = steps;
        Ok(())
    }
    fn objective(&self, _s: &ConvLearnState) -> f64 {
        self.objective_of_kept()
    }
    fn record(&self, _s: &ConvLearnState, rec: &mut Record) {
        rec.set("n_found", self.kept.len() as f64);
        rec.set("starts_total", self.all.len() as f64);
        rec.set(
            "starts_converged",
            self.all.iter().filter(|s| s.converged).count() as f64,
        );
    }
    fn converged(&self, _s: &ConvLearnState) -> Option<Criterion> {
        (self.kept.len() >= self.k).then_some(Criterion::Solver("all_filters_found"))
    }
}

impl Rounds<'_> {
    /// Mean f of the kept filters (0 before any is kept).
    fn objective_of_kept(&self) -> f64 {
        if self.kept.is_empty() {
            return 0.0;
        }
        self.kept.iter().map(|&i| self.all[i].value).sum::<f64>() / self.kept.len() as f64
    }
}

impl ConvL4 {
    /// Learn `n_atoms` filters of length `atom_len` from circular single-channel signals `y`
    /// (N × 1 × T), observing the state after every round on `schedule`; every start's outcome is
    /// returned beside the atoms. The state's activations are empty (N × K × 0): ℓ4 recovery
    /// produces no codes; code with any [`super::ConvCoder`] afterwards.
    ///
    /// # Errors
    /// Parameters out of range; a valid-boundary problem or P ≠ 1 channels (the paper's model is
    /// circular and single-channel); K = 0, L = 0 or L > T; non-finite or all-zero signals.
    #[allow(clippy::too_many_arguments)]
    pub fn learn_detailed(
        &self,
        y: ArrayView3<'_, f64>,
        n_atoms: usize,
        atom_len: usize,
        boundary: Boundary,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<ConvLearnState>,
    ) -> Result<ConvL4Result> {
        self.check_params()?;
        let (n, p, t) = y.dim();
        ensure!(
            boundary == Boundary::Circular,
            "boundary",
            "valid",
            "circular signals (regenerate with --boundary circular): the convolutional ℓ4 model is circular"
        );
        ensure!(
            p == 1,
            "signals",
            format!("{p} channels"),
            "single-channel signals (P = 1), as in Qu et al.; use conv_altmin for multichannel signals"
        );
        super::cdl::check_learner_input(y, n_atoms, atom_len)?;
        let starts = self.starts.unwrap_or((2 * n_atoms).max(4));
        // the preconditioned half spectra, plus per start: q, the gradient and FFT buffers
        crate::mem::check(
            format!("convolutional ℓ4 on {n} signals of {t} samples"),
            16 * (n as u128 + 4) * (t as u128 / 2 + 1) + 8 * 6 * (starts as u128) * (t as u128),
        )?;
        let sp = Spectra::new(y, self.precondition)?;
        let state = ConvLearnState::without_acts(
            Array3::zeros((n_atoms, 1, atom_len)),
            n,
            rng_from_seed(seed),
        );
        let mut alg = Rounds {
            sp: &sp,
            cfg: self,
            starts,
            k: n_atoms,
            l: atom_len,
            seed,
            all: Vec::new(),
            kept: Vec::new(),
        };
        let stop = Stop {
            max_iters: self.rounds,
            ..Stop::default()
        };
        let (mut state, mut info) = iter::run(&mut alg, state, &stop, schedule, obs)?;
        if self.refine > 0 {
            // empty slots take the next-best starts' filters (module doc)
            let mut order: Vec<usize> = (0..alg.all.len()).filter(|&i| !alg.all[i].kept).collect();
            order.sort_by(|&a, &b| alg.all[a].value.total_cmp(&alg.all[b].value));
            let mut fill = order.into_iter();
            for slot in alg.kept.len()..n_atoms {
                if let Some(i) = fill.next() {
                    state
                        .atoms
                        .index_axis_mut(Axis(0), slot)
                        .assign(&alg.all[i].filter);
                }
            }
            let mut am = super::ConvAltMin::new();
            am.max_iters = self.refine;
            let r = am.learn_observed(
                y,
                n_atoms,
                atom_len,
                boundary,
                Some(state.atoms.view()),
                derive_seed(seed, "conv_l4 refine"),
                Schedule::Never,
                &mut iter::NoObserver,
            )?;
            info.iters += r.info.iters;
            info.elapsed += r.info.elapsed;
            info.termination = r.info.termination;
            info.objective = r.info.objective;
            state = r.state;
        }
        Ok(ConvL4Result {
            learned: ConvLearned { state, info },
            starts: alg.all,
        })
    }

    /// [`ConvL4::learn_detailed`] without an observer.
    ///
    /// # Errors
    /// As [`ConvL4::learn_detailed`].
    pub fn learn(
        &self,
        y: ArrayView3<'_, f64>,
        n_atoms: usize,
        atom_len: usize,
        seed: u64,
    ) -> Result<ConvL4Result> {
        self.learn_detailed(
            y,
            n_atoms,
            atom_len,
            Boundary::Circular,
            seed,
            Schedule::Never,
            &mut iter::NoObserver,
        )
    }
}

/// The objective f of the module doc at every column of `q` (T × b, unit columns), on the
/// single-channel signals `y` (N × 1 × T), preconditioned by P when `precondition` — what RGD
/// descends, for pictures of the landscape.
///
/// # Errors
/// Signals that are not single-channel, columns of another length than T, a failed FFT.
pub fn objective_at(
    y: ArrayView3<'_, f64>,
    precondition: bool,
    q: ndarray::ArrayView2<'_, f64>,
) -> Result<Vec<f64>> {
    let (_, p, t) = y.dim();
    ensure!(p == 1, "channels", p, "single-channel signals (P = 1)");
    ensure!(
        q.nrows() == t,
        "points",
        q.nrows(),
        format!("points of the sphere in R^T, T = {t}")
    );
    let sp = Spectra::new(y, precondition)?;
    q.columns()
        .into_iter()
        .map(|c| Ok(sp.value_grad(&c.to_vec())?.0))
        .collect()
}

/// P v for the preconditioner P of the signals `y` (N × 1 × T; module doc) and v ∈ ℝ^T: where a
/// filter a lies in the preconditioned problem (its shifts are the columns of PA).
///
/// # Errors
/// As [`objective_at`].
pub fn precondition_vec(y: ArrayView3<'_, f64>, v: &[f64]) -> Result<Vec<f64>> {
    let (_, p, t) = y.dim();
    ensure!(p == 1, "channels", p, "single-channel signals (P = 1)");
    ensure!(v.len() == t, "vector", v.len(), format!("a vector of length T = {t}"));
    let sp = Spectra::new(y, true)?;
    let mut vh = sp.rfft(v)?;
    for (x, pw) in vh.iter_mut().zip(&sp.p) {
        *x *= *pw;
    }
    sp.irfft(&mut vh)
}

/// f and ∇f of the module doc by direct sums (no FFT), for the tests: the preconditioned signals
/// are `yb` (N × T).
#[cfg(test)]
fn value_grad_direct(yb: &Array2<f64>, q: &[f64]) -> (f64, Vec<f64>) {
    use ndarray::Array1;
    let (n, t) = yb.dim();
    let mut f = 0.0;
    let mut g = vec![0.0; t];
    for i in 0..n {
        let c: Array1<f64> = Array1::from_shape_fn(t, |tt| {
            (0..t).map(|s| yb[(i, (s + tt) % t)] * q[s]).sum::<f64>()
        });
        f += c.iter().map(|v| v.powi(4)).sum::<f64>();
        for (s, gs) in g.iter_mut().enumerate() {
            *gs += (0..t).map(|tt| yb[(i, (s + tt) % t)] * c[tt].powi(3)).sum::<f64>();
        }
    }
    let scale = (n * t) as f64;
    (-f / (4.0 * scale), g.into_iter().map(|v| -v / scale).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{ConvSpec, ConvValues, conv_recovery};
    use ndarray::Array1;

    fn signals(n: usize, t: usize, seed: u64) -> Array3<f64> {
        let mut rng = rng_from_seed(seed);
        Array3::from_shape_fn((n, 1, t), |_| rng.sample::<f64, _>(StandardNormal))
    }

    /// The FFT value and gradient equal the direct sums, with and without preconditioning (the
    /// direct sums on the preconditioned signals P y computed independently of the solver).
    #[test]
    fn fft_value_and_gradient_match_direct_sums() {
        let (n, t) = (3, 9);
        let y = signals(n, t, 1);
        let q: Vec<f64> = {
            let v: Vec<f64> = (0..t).map(|j| (j as f64 * 0.7).sin() + 0.2).collect();
            let nr = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter().map(|x| x / nr).collect()
        };
        for pre in [false, true] {
            let sp = Spectra::new(y.view(), pre).unwrap();
            let mut yb = Array2::zeros((n, t));
            for i in 0..n {
                let mut spec = sp.yh[i].clone();
                let row = sp.irfft(&mut spec).unwrap();
                yb.row_mut(i).assign(&Array1::from(row));
            }
            if !pre {
                for i in 0..n {
                    for j in 0..t {
                        assert!((yb[(i, j)] - y[(i, 0, j)]).abs() < 1e-12);
                    }
                }
            }
            let (f, g) = sp.value_grad(&q).unwrap();
            let (fd, gd) = value_grad_direct(&yb, &q);
            assert!((f - fd).abs() < 1e-12 * fd.abs().max(1.0), "{f} vs {fd}");
            for (a, b) in g.iter().zip(&gd) {
                assert!((a - b).abs() < 1e-11, "{a} vs {b}");
            }
        }
    }

    /// The gradient against central finite differences of f.
    #[test]
    fn gradient_matches_finite_differences() {
        let y = signals(4, 12, 2);
        let sp = Spectra::new(y.view(), true).unwrap();
        let q: Vec<f64> = (0..12).map(|j| ((j * j) as f64 * 0.3).cos()).collect();
        let (_, g) = sp.value_grad(&q).unwrap();
        let h = 1e-6;
        for j in 0..12 {
            let (mut a, mut b) = (q.clone(), q.clone());
            a[j] += h;
            b[j] -= h;
            let fd = (sp.value_grad(&a).unwrap().0 - sp.value_grad(&b).unwrap().0) / (2.0 * h);
            assert!((fd - g[j]).abs() < 1e-6 * g[j].abs().max(1.0), "{j}: {fd} vs {}", g[j]);
        }
    }

    /// The preconditioner whitens: the preconditioned signals' mean power spectrum is flat (every
    /// bin equal to the mean); P⁻¹ undoes it.
    #[test]
    fn preconditioning_flattens_the_spectrum() {
        let y = signals(20, 16, 3);
        let sp = Spectra::new(y.view(), true).unwrap();
        let nf = sp.yh[0].len();
        let s: Vec<f64> = (0..nf)
            .map(|w| sp.yh.iter().map(|v| v[w].norm_sqr()).sum::<f64>() / 20.0)
            .collect();
        for v in &s {
            assert!((v - s[0]).abs() < 1e-9 * s[0], "{s:?}");
        }
        let q: Vec<f64> = (0..16).map(|j| j as f64).collect();
        let mut qh = sp.rfft(&q).unwrap();
        for (v, pw) in qh.iter_mut().zip(&sp.p) {
            *v *= *pw;
        }
        let pq = sp.irfft(&mut qh).unwrap();
        let back = sp.unprecondition(&pq).unwrap();
        for (a, b) in back.iter().zip(&q) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    /// The best window by hand: the energy sits at indices 6, 7, 0 of a circular length-8 signal.
    #[test]
    fn best_window_wraps_around() {
        let a = [3.0, 0.0, 0.0, 0.0, 0.0, 0.1, 1.0, 2.0];
        let w = best_window(&a, 3);
        let n = (1.0f64 + 4.0 + 9.0).sqrt();
        let expect = [1.0 / n, 2.0 / n, 3.0 / n];
        for (x, e) in w.iter().zip(expect) {
            assert!((x - e).abs() < 1e-12, "{w:?}");
        }
    }

    /// Planted recovery: three random filters of length 16 in circular signals of length 64,
    /// Bernoulli(0.05)–Gaussian activations, no noise; every filter found at 0.99 up to shift and
    /// sign, and every start's filter is one of them or rejected as weaker.
    #[test]
    fn recovers_planted_filters() {
        let inst = ConvSpec::new(400, 1, 64, 3, 16)
            .theta(0.05)
            .values(ConvValues::Gaussian)
            .boundary(Boundary::Circular)
            .sample(5)
            .unwrap();
        let res = ConvL4::new().learn(inst.y.view(), 3, 16, 7).unwrap();
        let rec = conv_recovery(inst.atoms.view(), res.learned.state.atoms.view()).unwrap();
        // the ℓ4 maximizers alone: close to every filter, not exact (module doc)
        assert!(rec.recovery_rate(0.98) >= 1.0, "{:?}", rec.matched_score);
        assert_eq!(res.starts.iter().filter(|s| s.kept).count(), 3);
        assert!(res.starts.iter().filter(|s| s.converged).count() >= res.starts.len() / 2);
        assert_eq!(res.learned.state.acts.dim(), (400, 3, 0));
        // every kept start's filter is a shift of a distinct true filter
        let kept: Vec<&ConvL4Start> = res.starts.iter().filter(|s| s.kept).collect();
        let mut hit = vec![false; 3];
        for s in kept {
            let f = s.filter.clone().insert_axis(Axis(0));
            let r = conv_recovery(inst.atoms.view(), f.view()).unwrap();
            let k = r.matching_index.iter().position(|m| m.is_some()).unwrap();
            assert!(r.matched_score[k] > 0.98);
            hit[k] = true;
        }
        assert_eq!(hit, [true; 3]);
        // with the refinement every filter is recovered at 0.99
        let mut refined = ConvL4::new();
        refined.refine = 20;
        let res = refined.learn(inst.y.view(), 3, 16, 7).unwrap();
        let rec = conv_recovery(inst.atoms.view(), res.learned.state.atoms.view()).unwrap();
        assert!(rec.recovery_rate(0.99) >= 1.0, "{:?}", rec.matched_score);
        assert!(super::super::ConvLearner::name(&refined).contains("refine=20"));
        // the power solver converges to a filter too (one at least: its steps are long)
        let mut power = ConvL4::new();
        power.solver = L4Solver::Power;
        let res = power.learn(inst.y.view(), 3, 16, 7).unwrap();
        let rec = conv_recovery(inst.atoms.view(), res.learned.state.atoms.view()).unwrap();
        assert!(rec.matched_score.iter().any(|c| *c > 0.98), "{:?}", rec.matched_score);
        assert!(res.starts.iter().all(|s| s.value < 0.0));
    }

    /// Bad input: valid boundary, several channels, L > T, K = 0, start atoms, dup out of range.
    #[test]
    fn bad_input_is_refused_with_the_fix() {
        let y = signals(5, 20, 4);
        let l4 = ConvL4::new();
        let e = l4
            .learn_detailed(y.view(), 2, 5, Boundary::Valid, 1, Schedule::Never, &mut iter::NoObserver)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--boundary circular"), "{e}");
        let y2 = Array3::<f64>::ones((5, 2, 20));
        let e = l4.learn(y2.view(), 2, 5, 1).unwrap_err().to_string();
        assert!(e.contains("conv_altmin"), "{e}");
        assert!(l4.learn(y.view(), 2, 21, 1).is_err());
        assert!(l4.learn(y.view(), 0, 5, 1).is_err());
        let mut obs = iter::NoObserver;
        let d0 = Array3::<f64>::ones((2, 1, 5));
        let e = super::super::ConvLearner::learn_observed(
            &l4,
            y.view(),
            2,
            5,
            Boundary::Circular,
            Some(d0.view()),
            1,
            Schedule::Never,
            &mut obs,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--init-dict"), "{e}");
        let mut bad = ConvL4::new();
        bad.dup = 1.5;
        assert!(bad.learn(y.view(), 2, 5, 1).is_err());
    }
}
