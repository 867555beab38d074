//! Convolutional dictionary learning by alternating minimization (alphacsc's `learn_d_z`).
//!
//! For N signals $y_i$ (P × T), K atoms $d_k$ (P × L) and activations $z_{ik}$:
//! $$\min_{D,\,Z}\ \Phi(D, Z) = \sum_i \tfrac12\Big\|y_i - \sum_{k} d_k * z_{ik}\Big\|_F^2 + \lambda \sum_{i,k} \|z_{ik}\|_1
//!   \quad\text{s.t. } \|d_k\|_F \le 1\ (\text{and optionally } z \ge 0),$$
//! alternating
//! 1. the **Z-step**: the convolutional Lasso in Z with D fixed, warm-started at the previous
//!    activations, by [`super::ConvLgcd`] (alphacsc's choice, the default) or [`ConvFista`]
//!    (`csc`); both reach the same minimiser, only the time differs;
//! 2. the **D-step**: the least-squares problem in D with Z fixed, under the unit-ball
//!    constraints, by accelerated projected gradient (FISTA with projection onto $\|d_k\|_F \le 1$;
//!    alphacsc's `update_d` uses projected gradient with a line search).
//!
//! The D-step only needs the lagged statistics (Dupré la Tour et al. 2018, §3, "the D-step";
//! alphacsc's `compute_ztz` and `compute_ztX`):
//! $$\Phi_{\text{fit}}(D) = \tfrac12\|Y\|^2 - \sum_{k,p,u} d_k[p,u]\,(Z^\top Y)_k[p,u] + \tfrac12 \sum_{p}\sum_{k,l}\sum_{u,v} d_k[p,u]\, d_l[p,v]\,(Z^\top Z)_{kl}[u - v],$$
//! with $(Z^\top Z)_{kl}[\tau] = \sum_{i,t} z_{ik}[t]\, z_{il}[t + \tau]$ (|τ| < L) and
//! $(Z^\top Y)_k[p, u] = \sum_{i,t} z_{ik}[t]\, y_i[p, t + u]$, so one gradient costs O(K²PL²)
//! whatever N and T; the statistics are computed once per outer iteration from the non-zero
//! activations in O(nnz · K · L).
//!
//! **Rank-1 atoms** (`rank1`, alphacsc's `learn_d_z_multi` with `rank1=True`,
//! `uv_constraint="separate"`): $d_k = u_k v_k^\top$ with $\|u_k\|_2 \le 1$, $\|v_k\|_2 \le 1$;
//! the D-step alternates projected accelerated gradient on the patterns U (a K × K quadratic per
//! channel, Hessian $V^\top M V$) and on the waveforms V (Hessian $M \circ (UU^\top \otimes
//! \mathbb 1_{L\times L})$), from the same statistics ([`d_step_rank1`]; Dupré la Tour et al.
//! 2018, §3, the D-step of the rank-1 model; they use projected gradient with a line search, we use
//! FISTA with the exact Lipschitz constant). A start atom is replaced by its best rank-1
//! approximation.
//!
//! **Online variant** (`batch`, alphacsc's `algorithm="online"`; Mairal et al. 2010, Alg. 1–2 for
//! the idea): each outer iteration codes a random minibatch of `batch` signals (warm-started at
//! their last activations) and updates the accumulated statistics
//! $A \leftarrow \alpha A + (Z_b^\top Z_b)$, $B \leftarrow \alpha B + (Z_b^\top Y_b)$ with
//! α = `forget` (alphacsc's `alpha`), then runs the D-step on (A, B). The recorded objective is
//! Φ over all signals, each with its most recent activations (signals not yet visited have zero
//! activations).
//!
//! λ is `reg` · λ_max with λ_max = max |Dᵀy| at the initial dictionary (alphacsc's
//! `lmbd_max = "fixed"`). The start (`init`) is K random windows of the signals, normalised
//! (alphacsc's `"chunk"`), or Gaussian atoms. An atom no activation uses after a Z-step is
//! replaced by a random window (ours: alphacsc leaves it; replacements are counted in every
//! record as `n_replaced_atoms`). The run stops when the objective's relative decrease over one
//! outer iteration falls below `tol`, or after `max_iters`.
//!
//! ## References
//! * Dupré la Tour, Moreau, Jas, Gramfort (2018), "Multivariate convolutional sparse coding for
//!   electromagnetic brain signals", NeurIPS, eq. (2) (objective), §3 (alternating minimization,
//!   Z-step and D-step). alphacsc's `learn_d_z` is the univariate (full-rank) case.
//! * Jas, Dupré la Tour, Şimşekli, Gramfort (2017), "Learning the morphology of brain signals using
//!   alpha-stable convolutional sparse coding", NeurIPS, §2 (the same alternating scheme).
//! * Beck, Teboulle (2009), SIAM J. Imaging Sci. 2(1), eq. (4.1)–(4.3) (FISTA, used in both steps).
//! * Mairal, Bach, Ponce, Sapiro (2010), "Online learning for matrix factorization and sparse
//!   coding", JMLR 11, Alg. 1 (accumulated statistics) — the online variant's scheme, with
//!   alphacsc's forgetting factor in place of Mairal's β_t weights.

use super::ConvLearnerSpec;
use super::csc::{ConvFista, ConvOp};
use super::problem::{Boundary, Dims, Grid, unit};
use crate::error::{Result, ensure};
use crate::iter::{self, Iterative, Observer, Record, Schedule, SolveInfo, Stop};
use crate::rng::{Rng64, rng_from_seed};
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis, s};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// The start of a convolutional learner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvInit {
    /// K random windows of length L of the signals, normalised (alphacsc's `"chunk"`).
    Chunk,
    /// Gaussian atoms, normalised.
    Gaussian,
}

impl crate::spec::Choice for ConvInit {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "chunk" => Some(ConvInit::Chunk),
            "gaussian" => Some(ConvInit::Gaussian),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            ConvInit::Chunk => "chunk",
            ConvInit::Gaussian => "gaussian",
        }
    }
}

crate::declare_method! {
    /// Alternating convolutional dictionary learning (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ConvAltMin {
        given {}
        params {
            /// λ = reg · λ_max, λ_max = max|Dᵀy| at the initial atoms
            reg: f64 = param(Between(0.0, 1.0), 0.1);
            /// non-negative activations (z ≥ 0)
            nonneg: bool = param(Bool, false);
            /// outer iterations (one Z-step and one D-step each)
            max_iters as "iters": usize = param(Count, 100);
            /// stop when the objective's relative decrease over one outer iteration < tol
            tol: f64 = param(NonNegative, 1e-6);
            /// Z-step solver: FFT FISTA, locally greedy coordinate descent, or DFT-domain ADMM (circular boundary only)
            csc: CscSolver = choice(["fista", "lgcd", "admm"], "lgcd");
            /// Z-step stop: FISTA and ADMM at duality gap ≤ csc_tol · ½‖Y‖², LGCD when no coordinate moves by more than csc_tol
            csc_tol: f64 = param(Positive, 1e-6);
            /// Z-step: iteration cap (FISTA steps, or LGCD passes over the segments)
            csc_iters: usize = param(Count, 1000);
            /// D-step: iteration cap (projected FISTA steps, or CCMOD's ADMM iterations)
            d_iters: usize = param(Count, 100);
            /// D-step solver: projected accelerated gradient on the lag statistics, or CCMOD (ADMM in the DFT domain, sporco's ConvCnstrMOD; full-rank batch only)
            d_solver: DSolver = choice(["pgd", "ccmod"], "pgd");
            /// start: random signal windows or Gaussian atoms
            init: ConvInit = choice(["chunk", "gaussian"], "chunk");
            /// rank-1 atoms d_k = u_k v_kᵀ (alphacsc's learn_d_z_multi): the D-step alternates projected gradient on u and on v
            rank1: bool = param(Bool, false);
            /// signals per outer iteration: the online variant (alphacsc's online mode) codes a random minibatch and accumulates the lag statistics with forgetting
            batch: Option<usize> = auto(Count, "all signals (batch)");
            /// online variant: the accumulated statistics are multiplied by forget before a minibatch's are added
            forget: f64 = param(Fraction, 0.8);
        }
    }
}

impl Default for ConvAltMin {
    fn default() -> Self {
        Self::new()
    }
}

/// The registry entry of [`ConvAltMin`].
pub const SPEC: ConvLearnerSpec = ConvLearnerSpec {
    name: "conv_altmin",
    family: crate::spec::Family::Classical,
    summary: "Convolutional dictionary learning by alternating minimization (Dupré la Tour et al. 2018, alphacsc's learn_d_z): FFT FISTA Z-step, projected accelerated gradient D-step on the lagged statistics",
    params: ConvAltMin::PARAMS,
    budget: crate::spec::Budget::Iters("iters"),
    build: |p, ctx| Ok(Box::new(ConvAltMin::from_params(p, ctx)?)),
};

impl super::ConvLearner for ConvAltMin {
    fn name(&self) -> String {
        let mut s = format!("conv_altmin[reg={}", self.reg);
        if self.rank1 {
            s.push_str(",rank1=true");
        }
        if let Some(b) = self.batch {
            s.push_str(&format!(",batch={b}"));
        }
        if self.d_solver == DSolver::Ccmod {
            s.push_str(",d_solver=ccmod");
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
        ConvAltMin::learn_observed(
            self, y, n_atoms, atom_len, boundary, init_atoms, seed, schedule, obs,
        )
    }
    fn learn_on(
        &self,
        y: ArrayView3<'_, f64>,
        n_atoms: usize,
        atom_len: usize,
        grid: Grid,
        boundary: Boundary,
        init_atoms: Option<ArrayView3<'_, f64>>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<ConvLearnState>,
    ) -> Result<ConvLearned> {
        ConvAltMin::learn_on(
            self, y, n_atoms, atom_len, grid, boundary, init_atoms, seed, schedule, obs,
        )
    }
}

/// The Z-step solver of [`ConvAltMin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CscSolver {
    /// [`ConvFista`].
    Fista,
    /// [`super::ConvLgcd`].
    Lgcd,
    /// [`super::ConvAdmm`] (circular boundary only).
    Admm,
}

impl crate::spec::Choice for CscSolver {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "fista" => Some(CscSolver::Fista),
            "lgcd" => Some(CscSolver::Lgcd),
            "admm" => Some(CscSolver::Admm),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            CscSolver::Fista => "fista",
            CscSolver::Lgcd => "lgcd",
            CscSolver::Admm => "admm",
        }
    }
}

/// The D-step solver of [`ConvAltMin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DSolver {
    /// Accelerated projected gradient on the lag statistics ([`d_step`], [`d_step_rank1`]).
    Pgd,
    /// CCMOD: ADMM in the DFT domain ([`super::ccmod::ccmod_step`]).
    Ccmod,
}

impl crate::spec::Choice for DSolver {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "pgd" => Some(DSolver::Pgd),
            "ccmod" => Some(DSolver::Ccmod),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        match self {
            DSolver::Pgd => "pgd",
            DSolver::Ccmod => "ccmod",
        }
    }
}

/// The state of a convolutional learner (what observers see).
#[derive(Clone, Debug)]
pub struct ConvLearnState {
    /// Atoms (K × P × L), ‖d_k‖_F ≤ 1.
    pub atoms: Array3<f64>,
    /// Activations (N × K × T_z).
    pub acts: Array3<f64>,
    /// Φ(D, Z).
    pub objective: f64,
    /// λ in use.
    pub lambda: f64,
    /// Z-step iterations of the last outer iteration.
    pub csc_iters: usize,
    /// Z-step relative duality gap at its end.
    pub csc_gap: f64,
    /// D-step iterations of the last outer iteration.
    pub d_iters: usize,
    /// Atoms replaced in the last outer iteration / in all.
    pub replaced_last: usize,
    /// Atoms replaced since the start.
    pub replaced_total: usize,
    /// For rank-1 atoms, the spatial patterns u (K × P) and waveforms v (K × L), unit-norm or
    /// shorter, with `atoms[k] = u_k v_kᵀ`.
    pub uv: Option<(Array2<f64>, Array2<f64>)>,
    /// The online variant's accumulated lag statistics.
    stats: Option<LagStats>,
    rng: Rng64,
}

impl ConvLearnState {
    /// The state of a learner that produces atoms but no activations or lag statistics (the
    /// convolutional ℓ4 learner): `atoms`, activations N × K × 0, objective 0.
    pub(crate) fn without_acts(atoms: Array3<f64>, n_signals: usize, rng: Rng64) -> Self {
        let k = atoms.dim().0;
        ConvLearnState {
            atoms,
            acts: Array3::zeros((n_signals, k, 0)),
            objective: 0.0,
            lambda: f64::NAN,
            csc_iters: 0,
            csc_gap: f64::NAN,
            d_iters: 0,
            replaced_last: 0,
            replaced_total: 0,
            uv: None,
            stats: None,
            rng,
        }
    }
}

/// What a convolutional learner returns.
#[derive(Clone, Debug)]
pub struct ConvLearned {
    /// The final state.
    pub state: ConvLearnState,
    /// Iterations, termination, final objective, time.
    pub info: SolveInfo,
}

/// Lagged statistics of activations Z against themselves and the signals (module doc).
#[derive(Clone, Debug)]
pub struct LagStats {
    /// (ZᵀZ)_{kl}[τ] at index (k · K + l) · (2L − 1) + τ + L − 1.
    pub ztz: Vec<f64>,
    /// (ZᵀY)_k[p, u] (K × P × L).
    pub zty: Array3<f64>,
    /// ½‖Y‖².
    pub half_yy: f64,
    k: usize,
    l: usize,
}

impl LagStats {
    /// The statistics of activations `z` (N × K × T_z) and signals `y` (N × P × T) for atoms of
    /// length `l`, from the non-zero activations.
    pub fn new(
        z: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        l: usize,
        boundary: Boundary,
    ) -> LagStats {
        use rayon::prelude::*;
        let (_, k, tz) = z.dim();
        let (n, p, t) = y.dim();
        let nl = 2 * l - 1;
        let circular = boundary == Boundary::Circular;
        let (ztz, zty, yy) = (0..n)
            .into_par_iter()
            .fold(
                || (vec![0.0; k * k * nl], Array3::<f64>::zeros((k, p, l)), 0.0),
                |(mut ztz, mut zty, mut yy), i| {
                    let zi = z.index_axis(Axis(0), i);
                    let yi = y.index_axis(Axis(0), i);
                    yy += yi.iter().map(|v| v * v).sum::<f64>();
                    for a in 0..k {
                        for (t0, &v) in zi.row(a).iter().enumerate() {
                            if v == 0.0 {
                                continue;
                            }
                            for b in 0..k {
                                let zb = zi.row(b);
                                let base = (a * k + b) * nl;
                                for (j, tau) in (-(l as isize - 1)..=(l as isize - 1)).enumerate() {
                                    let s = t0 as isize + tau;
                                    let s = if circular {
                                        s.rem_euclid(tz as isize) as usize
                                    } else if s < 0 || s >= tz as isize {
                                        continue;
                                    } else {
                                        s as usize
                                    };
                                    ztz[base + j] += v * zb[s];
                                }
                            }
                            for c in 0..p {
                                let yc = yi.row(c);
                                for u in 0..l {
                                    let s = if circular { (t0 + u) % t } else { t0 + u };
                                    zty[(a, c, u)] += v * yc[s];
                                }
                            }
                        }
                    }
                    (ztz, zty, yy)
                },
            )
            .reduce(
                || (vec![0.0; k * k * nl], Array3::<f64>::zeros((k, p, l)), 0.0),
                |(mut a1, mut b1, c1), (a2, b2, c2)| {
                    a1.iter_mut().zip(&a2).for_each(|(x, y)| *x += y);
                    b1 += &b2;
                    (a1, b1, c1 + c2)
                },
            );
        LagStats {
            ztz,
            zty,
            half_yy: 0.5 * yy,
            k,
            l,
        }
    }

    /// `self ← forget · self + other` (the online variant's accumulation).
    pub fn forget_add(&mut self, forget: f64, other: &LagStats) {
        self.ztz
            .iter_mut()
            .zip(&other.ztz)
            .for_each(|(a, b)| *a = forget * *a + b);
        self.zty *= forget;
        self.zty += &other.zty;
        self.half_yy = forget * self.half_yy + other.half_yy;
    }

    /// The (K·L) × (K·L) matrix M[(k,u),(l,v)] = (ZᵀZ)_{kl}[u − v]: the data term is
    /// ½‖Y‖² − ⟨D, ZᵀY⟩ + ½ Σ_p d_pᵀ M d_p with d_p the stacked channel p of the atoms.
    pub fn gram(&self) -> Array2<f64> {
        let (k, l) = (self.k, self.l);
        let nl = 2 * l - 1;
        Array2::from_shape_fn((k * l, k * l), |(r, c)| {
            let (a, u) = (r / l, r % l);
            let (b, v) = (c / l, c % l);
            self.ztz[(a * k + b) * nl + (u + l - 1 - v)]
        })
    }

    /// ½‖Y − D * Z‖² from the statistics (`m` = [`LagStats::gram`]).
    pub fn fit(&self, m: &Array2<f64>, d: ArrayView3<'_, f64>) -> f64 {
        let dm = stacked(d);
        let md = m.dot(&dm);
        let quad: f64 = (&dm * &md).sum();
        let lin: f64 = (&d * &self.zty).sum();
        (self.half_yy - lin + 0.5 * quad).max(0.0)
    }
}

/// Atoms K × P × L as the (K·L) × P matrix of stacked channels.
fn stacked(d: ArrayView3<'_, f64>) -> Array2<f64> {
    let (k, p, l) = d.dim();
    Array2::from_shape_fn((k * l, p), |(r, c)| d[(r / l, c, r % l)])
}

fn unstack(m: &Array2<f64>, k: usize, p: usize, l: usize) -> Array3<f64> {
    Array3::from_shape_fn((k, p, l), |(a, c, u)| m[(a * l + u, c)])
}

/// Largest eigenvalue of a symmetric PSD matrix by power iteration (2 % margin).
fn top_eig(m: &Array2<f64>) -> f64 {
    let n = m.nrows();
    let mut v = ndarray::Array1::from_elem(n, 1.0 / (n as f64).sqrt());
    let mut lam = 0.0;
    for _ in 0..200 {
        let w = m.dot(&v);
        let nw = w.dot(&w).sqrt();
        if nw == 0.0 || !nw.is_finite() {
            return 0.0;
        }
        let prev = lam;
        lam = nw;
        v = w / nw;
        if (lam - prev).abs() <= 1e-6 * lam {
            break;
        }
    }
    lam * 1.02
}

/// Project every block of `rows` consecutive rows of `x` (all columns) onto the unit Frobenius
/// ball: the atoms of a stacked dictionary (`rows` = L), the rows u_k (`rows` = 1), the stacked
/// waveforms v (`rows` = L, one column).
fn project_blocks(x: &mut Array2<f64>, rows: usize) {
    for mut b in x.axis_chunks_iter_mut(Axis(0), rows) {
        let nn = b.iter().map(|v| v * v).sum::<f64>().sqrt();
        if nn > 1.0 {
            b.mapv_inplace(|v| v / nn);
        }
    }
}

/// Accelerated projected gradient (FISTA, step 1/L with L the top eigenvalue of `h`) on
/// ½ tr(Xᵀ H X) − ⟨B, X⟩ under the block constraints of [`project_blocks`], from `x`, at most
/// `iters` iterations; stops when the relative change of X < 1e-8. Returns the iterations done.
fn proj_fista(
    h: &Array2<f64>,
    b: &Array2<f64>,
    x: &mut Array2<f64>,
    rows: usize,
    iters: usize,
) -> usize {
    let lip = top_eig(h);
    if lip <= 0.0 {
        return 0;
    }
    let mut w = x.clone();
    let mut t = 1.0f64;
    let mut done = 0;
    for it in 1..=iters {
        done = it;
        let g = h.dot(&w) - b;
        let mut xn = &w - &(g / lip);
        project_blocks(&mut xn, rows);
        let diff = (&xn - &*x).mapv(|v| v * v).sum().sqrt();
        let scale = xn.mapv(|v| v * v).sum().sqrt().max(f64::MIN_POSITIVE);
        let tn = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
        w = &xn + &((&xn - &*x) * ((t - 1.0) / tn));
        t = tn;
        *x = xn;
        if diff <= 1e-8 * scale {
            break;
        }
    }
    done
}

/// The D-step: accelerated projected gradient on ½ Σ_p d_pᵀ M d_p − ⟨D, ZᵀY⟩ under ‖d_k‖_F ≤ 1,
/// from `d`, at most `iters` iterations; stops when the relative change of D < 1e-8. Returns the
/// iterations done.
pub fn d_step(st: &LagStats, m: &Array2<f64>, d: &mut Array3<f64>, iters: usize) -> usize {
    let (k, p, l) = d.dim();
    let b = stacked(st.zty.view());
    let mut x = stacked(d.view());
    let done = proj_fista(m, &b, &mut x, l, iters);
    *d = unstack(&x, k, p, l);
    done
}

/// The rank-1 D-step (Dupré la Tour et al. 2018, §3, "alternate" u/v updates with
/// `uv_constraint = "separate"`): with `d_k = u_k v_kᵀ`, alternately minimise the fit over the
/// patterns u (K × P, each ‖u_k‖ ≤ 1) with v fixed — Hessian VᵀMV (K × K), linear term Vᵀ(ZᵀY) —
/// and over the waveforms v (K × L, each ‖v_k‖ ≤ 1) with u fixed — Hessian M ∘ (UUᵀ ⊗ 𝟙_{L×L}),
/// linear term Σ_p u_k[p] (ZᵀY)_k[p, ·] — each by [`proj_fista`] with at most `iters` steps,
/// until a round lowers the fit by less than 1e-10 relative (at most 20 rounds). Returns the
/// inner iterations done; `d` is set to the products.
pub fn d_step_rank1(
    st: &LagStats,
    m: &Array2<f64>,
    u: &mut Array2<f64>,
    v: &mut Array2<f64>,
    d: &mut Array3<f64>,
    iters: usize,
) -> usize {
    let (k, _, l) = d.dim();
    let b = stacked(st.zty.view());
    let mut done = 0;
    let mut last = st.fit(m, d.view());
    for _ in 0..20 {
        let (h_u, b_u) = u_system(m, &b, v.view());
        done += proj_fista(&h_u, &b_u, u, 1, iters);
        let (h_v, b_v) = v_system(m, &b, u.view());
        let mut x = Array2::from_shape_fn((k * l, 1), |(r, _)| v[(r / l, r % l)]);
        done += proj_fista(&h_v, &b_v, &mut x, l, iters);
        *v = Array2::from_shape_fn((k, l), |(a, i)| x[(a * l + i, 0)]);
        *d = outer_atoms(u.view(), v.view());
        let fit = st.fit(m, d.view());
        let gain = last - fit;
        last = fit;
        if gain <= 1e-10 * fit.abs().max(f64::MIN_POSITIVE) {
            break;
        }
    }
    done
}

/// The u-step's quadratic ½ tr(Uᵀ H U) − ⟨B, U⟩ (U = K × P, rows u_k) with the waveforms `v`
/// (K × L) fixed: d_p = V u_p with V (K·L × K) block-diagonal in the v_k, so H = VᵀMV (K × K) and
/// B = Vᵀ(ZᵀY) (K × P); `b` is the stacked ZᵀY (K·L × P).
fn u_system(
    m: &Array2<f64>,
    b: &Array2<f64>,
    v: ArrayView2<'_, f64>,
) -> (Array2<f64>, Array2<f64>) {
    let (k, l) = v.dim();
    let p = b.ncols();
    let h = Array2::from_shape_fn((k, k), |(a, c)| {
        let mut s = 0.0;
        for i in 0..l {
            for j in 0..l {
                s += v[(a, i)] * m[(a * l + i, c * l + j)] * v[(c, j)];
            }
        }
        s
    });
    let bu = Array2::from_shape_fn((k, p), |(a, c)| {
        (0..l).map(|i| v[(a, i)] * b[(a * l + i, c)]).sum::<f64>()
    });
    (h, bu)
}

/// The v-step's quadratic ½ xᵀ H x − ⟨B, x⟩ in the stacked waveforms x (K·L × 1) with the
/// patterns `u` (K × P) fixed: d_p = U_p x with U_p = diag(u_k[p]) ⊗ I_L, so
/// H = Σ_p U_p M U_p = M ∘ (UUᵀ ⊗ 𝟙_{L×L}) and B[(k, i)] = Σ_p u_k[p] (ZᵀY)_k[p, i].
fn v_system(
    m: &Array2<f64>,
    b: &Array2<f64>,
    u: ArrayView2<'_, f64>,
) -> (Array2<f64>, Array2<f64>) {
    let (k, p) = u.dim();
    let l = m.nrows() / k.max(1);
    let g = u.dot(&u.t());
    let h = Array2::from_shape_fn((k * l, k * l), |(r, c)| m[(r, c)] * g[(r / l, c / l)]);
    let bv = Array2::from_shape_fn((k * l, 1), |(r, _)| {
        (0..p).map(|c| u[(r / l, c)] * b[(r, c)]).sum::<f64>()
    });
    (h, bv)
}

/// The atoms u_k v_kᵀ (K × P × L) of patterns `u` (K × P) and waveforms `v` (K × L).
pub fn outer_atoms(u: ArrayView2<'_, f64>, v: ArrayView2<'_, f64>) -> Array3<f64> {
    let (k, p) = u.dim();
    let l = v.ncols();
    Array3::from_shape_fn((k, p, l), |(a, c, i)| u[(a, c)] * v[(a, i)])
}

/// The rank-1 parts (u unit, v carrying the norm) of every atom of `d` (K × P × L): patterns
/// K × P and waveforms K × L, by [`rank1_approx`].
pub fn rank1_parts(d: ArrayView3<'_, f64>) -> (Array2<f64>, Array2<f64>) {
    let (k, p, l) = d.dim();
    let (mut u, mut v) = (Array2::zeros((k, p)), Array2::zeros((k, l)));
    for a in 0..k {
        let (ua, va) = rank1_approx(d.index_axis(Axis(0), a));
        u.row_mut(a).assign(&ua);
        v.row_mut(a).assign(&va);
    }
    (u, v)
}

/// The best rank-1 approximation σ u vᵀ of a P × L atom, as unit u and v with the norm σ put
/// on v (so u vᵀ keeps the atom's scale), by power iteration on WᵀW from the row of largest
/// norm (a start that cannot be orthogonal to the top right singular vector unless W = 0).
pub fn rank1_approx(w: ArrayView2<'_, f64>) -> (Array1<f64>, Array1<f64>) {
    let (p, l) = w.dim();
    let best = (0..p)
        .max_by(|&a, &b| {
            let na = w.row(a).dot(&w.row(a));
            let nb = w.row(b).dot(&w.row(b));
            na.total_cmp(&nb)
        })
        .unwrap_or(0);
    let mut v = w.row(best).to_owned();
    let nv = v.dot(&v).sqrt();
    if nv == 0.0 || !nv.is_finite() {
        let mut u = Array1::zeros(p);
        u[0] = 1.0;
        return (u, Array1::zeros(l));
    }
    v /= nv;
    for _ in 0..500 {
        let wv = w.dot(&v);
        let mut vn = w.t().dot(&wv);
        let nn = vn.dot(&vn).sqrt();
        if nn == 0.0 {
            break;
        }
        vn /= nn;
        let change = (&vn - &v).mapv(|x| x * x).sum().sqrt();
        v = vn;
        if change <= 1e-12 {
            break;
        }
    }
    let mut u = w.dot(&v);
    let sigma = u.dot(&u).sqrt();
    if sigma > 0.0 {
        u /= sigma;
    } else {
        u = Array1::zeros(p);
        u[0] = 1.0;
    }
    (u, v * sigma)
}

/// max over signals, atoms and positions of |Dᵀy| (for z ≥ 0, of the positive part): the
/// smallest λ at which the zero activation is optimal.
///
/// # Errors
/// As [`ConvOp::new`].
pub fn lambda_max(
    d: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    boundary: Boundary,
    nonneg: bool,
) -> Result<f64> {
    lambda_max_on(d, y, Grid::LINE, boundary, nonneg)
}

/// [`lambda_max`] on the layout `grid` (images).
///
/// # Errors
/// As [`ConvOp::on_grid`].
pub fn lambda_max_on(
    d: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    grid: Grid,
    boundary: Boundary,
    nonneg: bool,
) -> Result<f64> {
    use rayon::prelude::*;
    let op = ConvOp::on_grid(d, y.dim().2, grid, boundary)?;
    let (k, tz) = (d.dim().0, op.n_acts());
    Ok((0..y.dim().0)
        .into_par_iter()
        .map_init(
            || (op.scratch(), Array2::zeros((k, tz))),
            |(sc, g), i| {
                let spec = op.signal_spectrum(y.index_axis(Axis(0), i), sc);
                op.adjoint(&spec, &mut g.view_mut(), sc);
                g.iter()
                    .fold(0.0f64, |m, v| m.max(if nonneg { *v } else { v.abs() }))
            },
        )
        .reduce(|| 0.0, f64::max))
}

/// The checks every convolutional learner makes on its signals (N × P × T) and sizes.
///
/// # Errors
/// Empty signals, K = 0, L = 0, L > T, non-finite or all-zero signals.
pub(super) fn check_learner_input(
    y: ArrayView3<'_, f64>,
    n_atoms: usize,
    atom_len: usize,
) -> Result<()> {
    let (n, p, t) = y.dim();
    ensure!(
        n >= 1 && p >= 1 && t >= 1,
        "signals",
        format!("{n} × {p} × {t}"),
        "N, P, T ≥ 1 (signals are N × P × T)"
    );
    ensure!(n_atoms >= 1, "n_atoms", n_atoms, "K ≥ 1 atoms");
    ensure!(atom_len >= 1, "atom_len", atom_len, "L ≥ 1 samples");
    ensure!(
        atom_len <= t,
        "atom_len",
        atom_len,
        format!("atoms no longer than the signals (L ≤ T = {t})")
    );
    ensure!(
        y.iter().all(|v| v.is_finite()),
        "signals",
        "non-finite entries",
        "finite signals"
    );
    ensure!(
        y.iter().any(|v| *v != 0.0),
        "signals",
        "all zero",
        "signals with some energy"
    );
    Ok(())
}

/// The start of a convolutional learner: `given` (K × P × L, each atom normalized) or, without it,
/// K atoms drawn by `init` from `y`.
///
/// # Errors
/// `given` of the wrong shape or with a zero or non-finite atom.
pub(super) fn start_atoms(
    y: ArrayView3<'_, f64>,
    n_atoms: usize,
    atom_len: usize,
    init: ConvInit,
    given: Option<ArrayView3<'_, f64>>,
    rng: &mut Rng64,
) -> Result<Array3<f64>> {
    let dims = Dims::line(y.dim().2, atom_len);
    start_atoms_on(y, n_atoms, dims, init, given, rng)
}

/// [`start_atoms`] for signals and atoms of shapes `dims` (image windows are Lh × Lw patches).
///
/// # Errors
/// As [`start_atoms`].
pub(super) fn start_atoms_on(
    y: ArrayView3<'_, f64>,
    n_atoms: usize,
    dims: Dims,
    init: ConvInit,
    given: Option<ArrayView3<'_, f64>>,
    rng: &mut Rng64,
) -> Result<Array3<f64>> {
    let p = y.dim().1;
    let atom_len = dims.l();
    let mut atoms = Array3::zeros((n_atoms, p, atom_len));
    match given {
        Some(d0) => {
            ensure!(
                d0.dim() == (n_atoms, p, atom_len),
                "initial atoms",
                format!("{:?}", d0.dim()),
                format!("K × P × L = ({n_atoms}, {p}, {atom_len})")
            );
            for a in 0..n_atoms {
                let u = unit(d0.index_axis(Axis(0), a), "initial atoms", a, false)?;
                atoms.index_axis_mut(Axis(0), a).assign(&u);
            }
        }
        None => {
            for a in 0..n_atoms {
                let w = match init {
                    ConvInit::Chunk => window(y, dims, rng),
                    ConvInit::Gaussian => gaussian_atom(p, atom_len, rng),
                };
                atoms.index_axis_mut(Axis(0), a).assign(&w);
            }
        }
    }
    Ok(atoms)
}

/// The random-window start of the convolutional learners (alphacsc's "chunk"): `n_atoms` windows
/// of length `atom_len` of the signals, normalized, drawn from `seed` — to give several learners
/// the same start.
///
/// # Errors
/// As [`check_learner_input`].
pub fn chunk_start(
    y: ArrayView3<'_, f64>,
    n_atoms: usize,
    atom_len: usize,
    seed: u64,
) -> Result<Array3<f64>> {
    check_learner_input(y, n_atoms, atom_len)?;
    start_atoms(
        y,
        n_atoms,
        atom_len,
        ConvInit::Chunk,
        None,
        &mut rng_from_seed(seed),
    )
}

/// A random window (an Lh × Lw patch of an image) of a random signal, normalized (Gaussian if it
/// is zero).
fn window(y: ArrayView3<'_, f64>, dims: Dims, rng: &mut Rng64) -> Array2<f64> {
    let (n, p, _) = y.dim();
    let l = dims.l();
    let i = rng.random_range(0..n);
    // the row offset is drawn only when there is a choice, so 1-D windows draw (i, column) as
    // they always did
    let r0 = if dims.h > dims.lh {
        rng.random_range(0..=dims.h - dims.lh)
    } else {
        0
    };
    let c0 = rng.random_range(0..=dims.w - dims.lw);
    let w = Array2::from_shape_fn((p, l), |(c, s)| {
        y[(i, c, (r0 + s / dims.lw) * dims.w + c0 + s % dims.lw)]
    });
    match unit(w.view(), "window", 0, false) {
        Ok(u) => u,
        Err(_) => gaussian_atom(p, l, rng),
    }
}

fn gaussian_atom(p: usize, l: usize, rng: &mut Rng64) -> Array2<f64> {
    let g = Array2::from_shape_fn((p, l), |_| StandardNormal.sample(rng));
    let nn = g.iter().map(|v: &f64| v * v).sum::<f64>().sqrt();
    g / nn
}

/// Relative tolerance of the CCMOD D-step's residuals.
const CCMOD_TOL: f64 = 1e-6;

struct Alg<'a> {
    p: &'a ConvAltMin,
    y: ArrayView3<'a, f64>,
    grid: Grid,
    dims: Dims,
    boundary: Boundary,
}

impl Iterative for Alg<'_> {
    type State = ConvLearnState;
    fn step(&mut self, s: &mut ConvLearnState) -> Result<()> {
        let (p, lambda) = (self.p, s.lambda);
        let coder: Box<dyn super::ConvCoder> = match p.csc {
            CscSolver::Fista => Box::new(
                ConvFista::new(lambda)
                    .nonneg(p.nonneg)
                    .tol(p.csc_tol)
                    .max_iters(p.csc_iters),
            ),
            CscSolver::Lgcd => Box::new(
                super::ConvLgcd::new(lambda)
                    .nonneg(p.nonneg)
                    .tol(p.csc_tol)
                    .max_iters(p.csc_iters),
            ),
            CscSolver::Admm => {
                crate::error::ensure!(
                    self.boundary == Boundary::Circular,
                    "csc",
                    "admm",
                    "csc = lgcd or fista for the valid boundary (ADMM solves the circular problem only)"
                );
                Box::new(
                    super::ConvAdmm::new(lambda)
                        .nonneg(p.nonneg)
                        .tol(p.csc_tol)
                        .max_iters(p.csc_iters),
                )
            }
        };
        let n = self.y.dim().0;
        let batch = p.batch.map_or(n, |b| b.min(n));
        let online = batch < n;
        // the signals of this outer iteration: all, or a random minibatch (sorted, so that the
        // statistics are summed in the same order on any thread count)
        let idx: Vec<usize> = if online {
            let mut v = rand::seq::index::sample(&mut s.rng, n, batch).into_vec();
            v.sort_unstable();
            v
        } else {
            (0..n).collect()
        };
        let y_b = if online {
            Some(self.y.select(Axis(0), &idx))
        } else {
            None
        };
        let enc = match &y_b {
            Some(yb) => {
                let warm = s.acts.select(Axis(0), &idx);
                let enc = coder.encode_on(
                    s.atoms.view(),
                    yb.view(),
                    self.grid,
                    self.boundary,
                    Some(warm.view()),
                )?;
                for (j, &i) in idx.iter().enumerate() {
                    s.acts
                        .index_axis_mut(Axis(0), i)
                        .assign(&enc.acts.index_axis(Axis(0), j));
                }
                enc
            }
            None => {
                let enc = coder.encode_on(
                    s.atoms.view(),
                    self.y,
                    self.grid,
                    self.boundary,
                    Some(s.acts.view()),
                )?;
                s.acts.assign(&enc.acts);
                enc
            }
        };
        s.csc_iters = enc.iters;
        s.csc_gap = enc.rel_gap;
        let (k, _, l) = s.atoms.dim();
        let mut replaced = 0;
        for a in 0..k {
            if s.acts.index_axis(Axis(1), a).iter().all(|v| *v == 0.0) {
                let w = window(self.y, self.dims, &mut s.rng);
                set_atom(s, a, w.view());
                replaced += 1;
            }
        }
        if self.grid.is_image() {
            // images: CCMOD on the 2-D transform, the objective by direct 2-D convolution
            s.d_iters = super::ccmod::ccmod_step_on(
                s.acts.view(),
                self.y,
                &mut s.atoms,
                self.grid,
                self.boundary,
                p.d_iters,
                CCMOD_TOL,
            )?;
            s.replaced_last = replaced;
            s.replaced_total += replaced;
            s.objective = super::csc::objective_on(
                s.atoms.view(),
                s.acts.view(),
                self.y,
                self.grid,
                self.boundary,
                s.lambda,
            )?;
            return Ok(());
        }
        // the statistics the D-step minimises: this iteration's (batch), or the forgetful sum of
        // the minibatches' (online)
        let st_b = LagStats::new(
            enc.acts.view(),
            y_b.as_ref().map_or(self.y, |yb| yb.view()),
            l,
            self.boundary,
        );
        let st = if online {
            let acc = match s.stats.take() {
                Some(mut acc) => {
                    acc.forget_add(p.forget, &st_b);
                    acc
                }
                None => st_b,
            };
            s.stats.insert(acc).clone()
        } else {
            st_b
        };
        let m = st.gram();
        s.d_iters = match (s.uv.as_mut(), p.d_solver) {
            (Some((u, v)), _) => d_step_rank1(&st, &m, u, v, &mut s.atoms, p.d_iters),
            (None, DSolver::Pgd) => d_step(&st, &m, &mut s.atoms, p.d_iters),
            (None, DSolver::Ccmod) => super::ccmod::ccmod_step(
                s.acts.view(),
                self.y,
                &mut s.atoms,
                self.boundary,
                p.d_iters,
                CCMOD_TOL,
            )?,
        };
        s.replaced_last = replaced;
        s.replaced_total += replaced;
        // Φ over all signals, each with its most recent activations
        s.objective = if online {
            let all = LagStats::new(s.acts.view(), self.y, l, self.boundary);
            all.fit(&all.gram(), s.atoms.view())
        } else {
            st.fit(&m, s.atoms.view())
        } + s.lambda * l1(&s.acts);
        Ok(())
    }
    fn objective(&self, s: &ConvLearnState) -> f64 {
        s.objective
    }
    fn record(&self, s: &ConvLearnState, rec: &mut Record) {
        rec.set("lambda", s.lambda);
        rec.set("csc_iters", s.csc_iters as f64);
        rec.set("csc_gap", s.csc_gap);
        rec.set("d_iters", s.d_iters as f64);
        rec.set("n_replaced_atoms", s.replaced_last as f64);
        let n = s.acts.dim().0.max(1);
        rec.set(
            "n_active",
            s.acts.iter().filter(|v| **v != 0.0).count() as f64 / n as f64,
        );
    }
}

/// The rank-1 part of an atom as a start: [`rank1_approx`] with v normalized too (u vᵀ of unit
/// norm; v stays zero for a zero atom).
fn rank1_unit(w: ArrayView2<'_, f64>) -> (Array1<f64>, Array1<f64>) {
    let (u, v) = rank1_approx(w);
    let nv = v.dot(&v).sqrt();
    (u, if nv > 0.0 { v / nv } else { v })
}

/// Set atom `a` to the window `w` (P × L, unit norm): as is, or for rank-1 atoms its best rank-1
/// approximation with unit u and v.
fn set_atom(s: &mut ConvLearnState, a: usize, w: ArrayView2<'_, f64>) {
    match s.uv.as_mut() {
        Some((u, v)) => {
            let (ua, va) = rank1_unit(w);
            u.row_mut(a).assign(&ua);
            v.row_mut(a).assign(&va);
            let d = outer_atoms(u.slice(s![a..=a, ..]), v.slice(s![a..=a, ..]));
            s.atoms
                .index_axis_mut(Axis(0), a)
                .assign(&d.index_axis(Axis(0), 0));
        }
        None => s.atoms.index_axis_mut(Axis(0), a).assign(&w),
    }
}

fn l1(z: &Array3<f64>) -> f64 {
    z.iter().map(|v| v.abs()).sum()
}

impl ConvAltMin {
    /// Learn `n_atoms` atoms of length `atom_len` from signals `y` (N × P × T), observing the state
    /// on `schedule`. `init_atoms` (K × P × L) overrides `init` when given.
    ///
    /// # Errors
    /// Parameters out of range, atoms longer than the signals, K = 0 or L = 0, non-finite or
    /// all-zero signals, a start of the wrong shape.
    #[allow(clippy::too_many_arguments)]
    pub fn learn_observed(
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
        self.learn_on(
            y,
            n_atoms,
            atom_len,
            Grid::LINE,
            boundary,
            init_atoms,
            seed,
            schedule,
            obs,
        )
    }

    /// [`ConvAltMin::learn_observed`] on the layout `grid`. Images (N × P × H·W flattened) learn
    /// `n_atoms` atoms of `grid.atom_rows` × `atom_len` pixels with the DFT-domain pair: a FISTA
    /// (either boundary) or ADMM (circular) Z-step and the CCMOD D-step (`d_solver = ccmod`), full
    /// rank, all signals per iteration.
    ///
    /// # Errors
    /// As [`ConvAltMin::learn_observed`]; for images, another Z- or D-step solver, rank-1 atoms or
    /// minibatches, naming the settings that learn images.
    #[allow(clippy::too_many_arguments)]
    pub fn learn_on(
        &self,
        y: ArrayView3<'_, f64>,
        n_atoms: usize,
        atom_len: usize,
        grid: Grid,
        boundary: Boundary,
        init_atoms: Option<ArrayView3<'_, f64>>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<ConvLearnState>,
    ) -> Result<ConvLearned> {
        self.check_params()?;
        let atom_size = grid.atom_rows.saturating_mul(atom_len);
        check_learner_input(y, n_atoms, atom_size)?;
        let dims = grid.dims(y.dim().2, atom_size)?;
        if grid.is_image() {
            ensure!(
                self.d_solver == DSolver::Ccmod
                    && self.csc != CscSolver::Lgcd
                    && !self.rank1
                    && self.batch.is_none(),
                "conv_altmin",
                format!(
                    "images with csc = {}, d_solver = {}{}{}",
                    crate::spec::Choice::word(&self.csc),
                    crate::spec::Choice::word(&self.d_solver),
                    if self.rank1 { ", rank1" } else { "" },
                    if self.batch.is_some() { ", batch" } else { "" }
                ),
                "d_solver = ccmod with csc = fista (or admm, circular), full-rank atoms, no batch: the images' solvers work in the 2-D DFT domain (-p d_solver=ccmod -p csc=fista)"
            );
        }
        let atom_len = atom_size;
        if self.d_solver == DSolver::Ccmod {
            ensure!(
                !self.rank1 && self.batch.is_none(),
                "d_solver",
                "ccmod with rank1 or batch",
                "d_solver = pgd for rank-1 atoms or the online variant (CCMOD updates full-rank atoms from all signals' activations)"
            );
        }
        let (n, p, t) = y.dim();
        let tz = dims.n_acts(boundary);
        // activations (state, warm start, coder buffers) and the D-step's lag statistics and
        // (K·L)² Gram matrix
        let (k128, l128) = (n_atoms as u128, atom_len as u128);
        crate::mem::check(
            format!(
                "convolutional learning of {n_atoms} atoms of length {atom_len} on {n} signals × {tz} activations"
            ),
            8 * (5 * (n as u128) * k128 * (tz as u128)
                + if grid.is_image() {
                    // CCMOD: the activations' spectra (2 f64 each) and the ADMM arrays
                    2 * (n as u128) * k128 * (tz as u128) * 2 + 6 * k128 * (p as u128) * (t as u128) * 4
                } else {
                    k128 * k128 * (2 * l128) + 3 * (k128 * l128) * (k128 * l128)
                }),
        )?;
        let mut rng = rng_from_seed(seed);
        let mut atoms = start_atoms_on(y, n_atoms, dims, self.init, init_atoms, &mut rng)?;
        // rank-1 atoms: every start atom replaced by its best rank-1 approximation, unit u and v
        let uv = self.rank1.then(|| {
            let mut u = Array2::zeros((n_atoms, p));
            let mut v = Array2::zeros((n_atoms, atom_len));
            for a in 0..n_atoms {
                let (ua, va) = rank1_unit(atoms.index_axis(Axis(0), a));
                u.row_mut(a).assign(&ua);
                v.row_mut(a).assign(&va);
            }
            atoms = outer_atoms(u.view(), v.view());
            (u, v)
        });
        let lambda = self.reg * lambda_max_on(atoms.view(), y, grid, boundary, self.nonneg)?;
        let half_yy = 0.5 * y.iter().map(|v| v * v).sum::<f64>();
        let state = ConvLearnState {
            atoms,
            acts: Array3::zeros((n, n_atoms, tz)),
            objective: half_yy,
            lambda,
            csc_iters: 0,
            csc_gap: f64::NAN,
            d_iters: 0,
            replaced_last: 0,
            replaced_total: 0,
            uv,
            stats: None,
            rng,
        };
        let stop = Stop {
            max_iters: self.max_iters,
            rel_decrease: (self.tol > 0.0).then_some(self.tol),
            ..Stop::default()
        };
        let mut alg = Alg {
            p: self,
            y,
            grid,
            dims,
            boundary,
        };
        let (state, info) = iter::run(&mut alg, state, &stop, schedule, obs)?;
        Ok(ConvLearned { state, info })
    }

    /// [`ConvAltMin::learn_observed`] without an observer.
    ///
    /// # Errors
    /// As [`ConvAltMin::learn_observed`].
    pub fn learn(
        &self,
        y: ArrayView3<'_, f64>,
        n_atoms: usize,
        atom_len: usize,
        boundary: Boundary,
        seed: u64,
    ) -> Result<ConvLearned> {
        self.learn_observed(
            y,
            n_atoms,
            atom_len,
            boundary,
            None,
            seed,
            Schedule::Never,
            &mut iter::NoObserver,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{ConvInstance, ConvSpec, ConvValues, conv_recovery, convolve};

    /// The statistics give the same ½‖Y − D*Z‖² as direct convolution, both boundaries.
    #[test]
    fn lag_statistics_give_the_exact_fit() {
        for boundary in [Boundary::Valid, Boundary::Circular] {
            let inst = ConvSpec::new(3, 2, 80, 3, 7)
                .theta(0.1)
                .noise_sigma(0.1)
                .boundary(boundary)
                .sample(5)
                .unwrap();
            let st = LagStats::new(inst.acts.view(), inst.y.view(), 7, boundary);
            let m = st.gram();
            // another dictionary than the planted one, to test more than the planted fit
            let d = inst.atoms.mapv(|v| v.sin() * 0.7);
            let fit = st.fit(&m, d.view());
            let dz = convolve(d.view(), inst.acts.view(), boundary, 80).unwrap();
            let direct = 0.5 * (&dz - &inst.y).mapv(|v| v * v).sum();
            assert!(
                (fit - direct).abs() <= 1e-10 * direct,
                "{boundary:?}: {fit} vs {direct}"
            );
        }
    }

    /// The gradient M d_p − (ZᵀY)_p of the fit matches central finite differences.
    #[test]
    fn d_gradient_matches_finite_differences() {
        let inst = ConvSpec::new(2, 2, 50, 2, 5)
            .theta(0.2)
            .noise_sigma(0.1)
            .sample(3)
            .unwrap();
        let st = LagStats::new(inst.acts.view(), inst.y.view(), 5, Boundary::Valid);
        let m = st.gram();
        let d = inst.atoms.mapv(|v| v * 0.8 + 0.01);
        let g = unstack(
            &(m.dot(&stacked(d.view())) - stacked(st.zty.view())),
            2,
            2,
            5,
        );
        let h = 1e-6;
        for idx in [(0, 0, 0), (1, 1, 4), (0, 1, 2)] {
            let (mut dp, mut dm) = (d.clone(), d.clone());
            dp[idx] += h;
            dm[idx] -= h;
            let fd = (st.fit(&m, dp.view()) - st.fit(&m, dm.view())) / (2.0 * h);
            assert!(
                (fd - g[idx]).abs() <= 1e-6 * g[idx].abs().max(1.0),
                "{idx:?}: {fd} vs {}",
                g[idx]
            );
        }
    }

    /// With the planted activations, the D-step from a perturbed start finds the planted atoms.
    #[test]
    fn the_d_step_recovers_the_atoms_given_the_activations() {
        let inst = ConvSpec::new(6, 1, 200, 3, 12)
            .theta(0.03)
            .sample(9)
            .unwrap();
        let st = LagStats::new(inst.acts.view(), inst.y.view(), 12, Boundary::Valid);
        let m = st.gram();
        let mut d = inst.atoms.mapv(|v| v + 0.1);
        d_step(&st, &m, &mut d, 2000);
        let err = (&d - &inst.atoms).mapv(|v| v * v).sum().sqrt();
        assert!(err < 1e-4, "{err}");
    }

    /// Planted recovery on an easy instance: 3 atoms of length 16, sparse non-negative
    /// activations, little noise, a start whose atoms score ≈ 0.75–0.9 against the planted ones
    /// (local convergence; from random windows the alternating scheme often stops at a shifted
    /// local minimum, as alphacsc's does); every atom found at ≥ 0.99 up to shift and sign, and
    /// the objective ends below the planted atoms' with the planted activations.
    /// The easy planted problem of the recovery tests (3 atoms of length 16, sparse non-negative
    /// activations, σ = 0.01) and a start perturbed by 0.25 per entry from its atoms.
    fn easy_problem(boundary: Boundary) -> (ConvInstance, Array3<f64>) {
        perturbed(ConvSpec::new(10, 1, 400, 3, 16).boundary(boundary), 21, 0.25, 7)
    }

    impl ConvAltMin {
        /// Learn the 3 atoms of length 16 of a recovery test's problem from `d0` (seed 1,
        /// unobserved).
        fn learn_easy(
            &self,
            inst: &ConvInstance,
            boundary: Boundary,
            d0: Option<ArrayView3<'_, f64>>,
        ) -> Result<ConvLearned> {
            self.learn_observed(
                inst.y.view(),
                3,
                16,
                boundary,
                d0,
                1,
                Schedule::Never,
                &mut iter::NoObserver,
            )
        }
    }

    /// The recovery tests' planted problem on `spec` (θ = 0.01, spacing 16, activations U[1, 2],
    /// σ = 0.01) drawn at `seed`, and its atoms plus Gaussian noise of `scale` per entry (seeded
    /// from `rng_seed`).
    fn perturbed(spec: ConvSpec, seed: u64, scale: f64, rng_seed: u64) -> (ConvInstance, Array3<f64>) {
        let inst = spec
            .theta(0.01)
            .min_spacing(16)
            .values(ConvValues::NonNeg { lo: 1.0, hi: 2.0 })
            .noise_sigma(0.01)
            .sample(seed)
            .unwrap();
        let mut rng = rng_from_seed(rng_seed);
        let d0 = inst.atoms.mapv(|v| {
            let g: f64 = StandardNormal.sample(&mut rng);
            v + scale * g
        });
        (inst, d0)
    }

    #[test]
    fn recovers_planted_atoms_from_a_perturbed_start() {
        let (inst, d0) = easy_problem(Boundary::Valid);
        let start = conv_recovery(inst.atoms.view(), d0.view()).unwrap();
        assert!(start.recovery_score() < 0.9, "{:?}", start.matched_score);
        let out = ConvAltMin::new()
            .reg(0.05)
            .nonneg(true)
            .max_iters(100)
            .learn_easy(&inst, Boundary::Valid, Some(d0.view()))
            .unwrap();
        let rec = conv_recovery(inst.atoms.view(), out.state.atoms.view()).unwrap();
        assert!(
            rec.recovery_rate(0.99) >= 1.0,
            "scores {:?} after {} iterations",
            rec.matched_score,
            out.info.iters
        );
        let planted = super::super::csc::objective(
            inst.atoms.view(),
            inst.acts.view(),
            inst.y.view(),
            Boundary::Valid,
            out.state.lambda,
        )
        .unwrap();
        assert!(
            out.info.objective <= planted,
            "{} vs {planted}",
            out.info.objective
        );
    }

    /// Images: the DFT-domain pairs (FISTA or ADMM Z-step, CCMOD D-step) recover planted image
    /// atoms from a perturbed start; other settings and other learners refuse images, naming the fix.
    #[test]
    fn image_learner_recovers_planted_image_atoms() {
        // circular 24 × 24 images, three 5 × 5 atoms, sparse non-negative activations, from a
        // perturbed start: FISTA or ADMM with CCMOD recover every atom
        let spec = ConvSpec::new(6, 1, 24, 3, 5)
            .rows(24)
            .boundary(Boundary::Circular);
        let (inst, d0) = {
            let inst = spec
                .clone()
                .theta(0.01)
                .values(ConvValues::NonNeg { lo: 1.0, hi: 2.0 })
                .noise_sigma(0.01)
                .sample(21)
                .unwrap();
            let mut rng = rng_from_seed(5);
            let d0 = inst.atoms.mapv(|v| {
                let g: f64 = StandardNormal.sample(&mut rng);
                v + 0.1 * g
            });
            (inst, d0)
        };
        let start = crate::conv::conv_recovery_2d(inst.atoms.view(), d0.view(), 5, 5).unwrap();
        assert!(start.recovery_rate(0.99) < 1.0);
        for csc in [CscSolver::Fista, CscSolver::Admm] {
            let out = ConvAltMin::new()
                .reg(0.05)
                .nonneg(true)
                .max_iters(60)
                .csc(csc)
                .d_solver(DSolver::Ccmod)
                .learn_on(
                    inst.y.view(),
                    3,
                    5,
                    spec.grid(),
                    Boundary::Circular,
                    Some(d0.view()),
                    1,
                    Schedule::Never,
                    &mut iter::NoObserver,
                )
                .unwrap();
            assert_eq!(out.state.atoms.dim(), (3, 1, 25));
            let rec =
                crate::conv::conv_recovery_2d(inst.atoms.view(), out.state.atoms.view(), 5, 5)
                    .unwrap();
            assert!(
                rec.recovery_rate(0.99) >= 1.0,
                "{csc:?}: scores {:?} (start {:?})",
                rec.matched_score,
                start.matched_score
            );
        }
        // the settings that do not learn images are refused, naming those that do, and another
        // learner refuses images through the trait's default
        use crate::conv::ConvLearner;
        let refusal = |l: &dyn ConvLearner| {
            l.learn_on(
                inst.y.view(),
                3,
                5,
                spec.grid(),
                Boundary::Circular,
                None,
                1,
                Schedule::Never,
                &mut iter::NoObserver,
            )
            .unwrap_err()
            .to_string()
        };
        for l in [
            ConvAltMin::new(),
            ConvAltMin::new().d_solver(DSolver::Ccmod),
            ConvAltMin::new()
                .d_solver(DSolver::Ccmod)
                .csc(CscSolver::Fista)
                .batch(Some(2)),
        ] {
            let e = refusal(&l);
            assert!(e.contains("d_solver = ccmod with csc = fista"), "{e}");
        }
        let e = refusal(&crate::conv::ConvL4::new());
        assert!(e.contains("conv_altmin with d_solver = ccmod"), "{e}");
    }

    /// sporco's ConvBPDNDictLearn pairing (ADMM Z-step, CCMOD D-step) on the circular problem and
    /// CCMOD with LGCD on the valid one recover the planted atoms from the perturbed start; CCMOD
    /// with rank-1 atoms or minibatches is refused naming the fix.
    #[test]
    fn ccmod_d_step_learner_recovers_planted_atoms() {
        for (boundary, csc) in [
            (Boundary::Circular, CscSolver::Admm),
            (Boundary::Valid, CscSolver::Lgcd),
        ] {
            let (inst, d0) = easy_problem(boundary);
            let out = ConvAltMin::new()
                .reg(0.05)
                .nonneg(true)
                .max_iters(100)
                .csc(csc)
                .d_solver(DSolver::Ccmod)
                .learn_easy(&inst, boundary, Some(d0.view()))
                .unwrap();
            let rec = conv_recovery(inst.atoms.view(), out.state.atoms.view()).unwrap();
            assert!(
                rec.recovery_rate(0.99) >= 1.0,
                "{boundary:?}: scores {:?}",
                rec.matched_score
            );
        }
        let (inst, _) = easy_problem(Boundary::Valid);
        for l in [
            ConvAltMin::new().d_solver(DSolver::Ccmod).rank1(true),
            ConvAltMin::new().d_solver(DSolver::Ccmod).batch(Some(2)),
        ] {
            let e = l
                .learn_easy(&inst, Boundary::Valid, None)
                .unwrap_err();
            assert!(e.to_string().contains("d_solver = pgd"), "{e}");
        }
    }

    /// The circular problem with every Z-step solver: each recovers the planted atoms from the same
    /// perturbed start, and ADMM on the valid boundary is refused naming the fix.
    #[test]
    fn every_z_step_solver_recovers_a_circular_problem() {
        let (inst, d0) = easy_problem(Boundary::Circular);
        for csc in [CscSolver::Lgcd, CscSolver::Fista, CscSolver::Admm] {
            let out = ConvAltMin::new()
                .reg(0.05)
                .nonneg(true)
                .max_iters(100)
                .csc(csc)
                .learn_easy(&inst, Boundary::Circular, Some(d0.view()))
                .unwrap();
            let rec = conv_recovery(inst.atoms.view(), out.state.atoms.view()).unwrap();
            assert!(
                rec.recovery_rate(0.99) >= 1.0,
                "{csc:?}: scores {:?}",
                rec.matched_score
            );
        }
        let e = ConvAltMin::new()
            .csc(CscSolver::Admm)
            .learn(inst.y.view(), 3, 16, Boundary::Valid, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("csc = lgcd or fista"), "{e}");
    }

    #[test]
    fn the_objective_decreases_monotonically() {
        let inst = ConvSpec::new(4, 2, 120, 2, 10)
            .theta(0.05)
            .noise_sigma(0.05)
            .sample(2)
            .unwrap();
        let mut last = f64::INFINITY;
        let mut ok = true;
        let mut obs = |_: usize, _: f64, s: &ConvLearnState, _: &Record| {
            ok &= s.objective <= last * (1.0 + 1e-9);
            last = s.objective;
            std::ops::ControlFlow::Continue(())
        };
        ConvAltMin::new()
            .max_iters(15)
            .tol(0.0)
            .learn_observed(
                inst.y.view(),
                2,
                10,
                Boundary::Valid,
                None,
                4,
                Schedule::Every(1),
                &mut obs,
            )
            .unwrap();
        assert!(ok);
    }

    /// The best rank-1 approximation of a hand-made rank-1 atom, and of a rank-2 one.
    #[test]
    fn rank1_approximation_by_hand() {
        // [[1, 2], [2, 4]] = 5 · (1, 2)/√5 ⊗ (1, 2)/√5
        let (u, v) = rank1_approx(ndarray::array![[1.0, 2.0], [2.0, 4.0]].view());
        let r5 = 5f64.sqrt();
        let s = u[0].signum();
        assert!((u[0] - s / r5).abs() < 1e-12 && (u[1] - s * 2.0 / r5).abs() < 1e-12);
        assert!((v[0] - s * r5).abs() < 1e-10 && (v[1] - s * 2.0 * r5).abs() < 1e-10);
        // diag(3, 1): the top singular pair is e1 ⊗ 3 e1
        let (u, v) = rank1_approx(ndarray::array![[3.0, 0.0], [0.0, 1.0]].view());
        assert!((u[0].abs() - 1.0).abs() < 1e-12 && u[1].abs() < 1e-12);
        assert!((v[0].abs() - 3.0).abs() < 1e-10 && v[1].abs() < 1e-10);
    }

    /// The statistics of two halves of the signals, summed with forget = 1, are those of all of
    /// them; with forget = 0.5 the first half is halved.
    #[test]
    fn online_statistics_accumulate_with_forgetting() {
        let inst = ConvSpec::new(4, 2, 60, 2, 5)
            .theta(0.1)
            .noise_sigma(0.1)
            .sample(8)
            .unwrap();
        let part = |r: std::ops::Range<usize>| {
            LagStats::new(
                inst.acts.slice(s![r.clone(), .., ..]),
                inst.y.slice(s![r, .., ..]),
                5,
                Boundary::Valid,
            )
        };
        let all = part(0..4);
        let (a, b) = (part(0..2), part(2..4));
        let mut acc = a.clone();
        acc.forget_add(1.0, &b);
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(1.0);
        assert!(acc.ztz.iter().zip(&all.ztz).all(|(x, y)| close(*x, *y)));
        assert!(
            acc.zty
                .iter()
                .zip(all.zty.iter())
                .all(|(x, y)| close(*x, *y))
        );
        assert!(close(acc.half_yy, all.half_yy));
        let mut half = a.clone();
        half.forget_add(0.5, &b);
        assert!(close(half.half_yy, 0.5 * a.half_yy + b.half_yy));
        assert!(close(
            half.zty[(1, 1, 3)],
            0.5 * a.zty[(1, 1, 3)] + b.zty[(1, 1, 3)]
        ));
    }

    /// A rank-1 planted problem (4 channels) and a rank-1 start: every atom's product u vᵀ scored
    /// by [`conv_recovery`], and its parts by [`super::super::metrics::rank1_scores`].
    fn rank1_problem() -> (ConvInstance, Array3<f64>) {
        perturbed(ConvSpec::new(10, 4, 400, 3, 16).rank1(true), 33, 0.15, 5)
    }

    /// The u- and v-step gradients H u − B and H x − B match central finite differences of the
    /// fit ½‖Y − (u vᵀ) * Z‖² (from the statistics) in u and in v.
    #[test]
    fn rank1_gradients_match_finite_differences() {
        let (inst, d0) = rank1_problem();
        let st = LagStats::new(inst.acts.view(), inst.y.view(), 16, Boundary::Valid);
        let m = st.gram();
        let b = stacked(st.zty.view());
        let (u, v) = rank1_parts(d0.view());
        let fit =
            |u: &Array2<f64>, v: &Array2<f64>| st.fit(&m, outer_atoms(u.view(), v.view()).view());
        let (hu, bu) = u_system(&m, &b, v.view());
        let gu = hu.dot(&u) - &bu;
        let (hv, bv) = v_system(&m, &b, u.view());
        let x = Array2::from_shape_fn((3 * 16, 1), |(r, _)| v[(r / 16, r % 16)]);
        let gv = hv.dot(&x) - &bv;
        let h = 1e-6;
        for (a, c) in [(0, 0), (1, 3), (2, 1)] {
            let (mut up, mut um) = (u.clone(), u.clone());
            up[(a, c)] += h;
            um[(a, c)] -= h;
            let fd = (fit(&up, &v) - fit(&um, &v)) / (2.0 * h);
            assert!(
                (fd - gu[(a, c)]).abs() <= 1e-5 * fd.abs().max(1.0),
                "u{a},{c}: {fd} vs {}",
                gu[(a, c)]
            );
        }
        for (a, i) in [(0, 0), (1, 7), (2, 15)] {
            let (mut vp, mut vm) = (v.clone(), v.clone());
            vp[(a, i)] += h;
            vm[(a, i)] -= h;
            let fd = (fit(&u, &vp) - fit(&u, &vm)) / (2.0 * h);
            let g = gv[(a * 16 + i, 0)];
            assert!(
                (fd - g).abs() <= 1e-5 * fd.abs().max(1.0),
                "v{a},{i}: {fd} vs {g}"
            );
        }
    }

    /// With the planted activations, the alternating u/v D-step from a perturbed rank-1 start
    /// finds the planted rank-1 atoms, and every round lowers the fit.
    #[test]
    fn the_rank1_d_step_recovers_the_atoms_given_the_activations() {
        let (inst, d0) = rank1_problem();
        let st = LagStats::new(inst.acts.view(), inst.y.view(), 16, Boundary::Valid);
        let m = st.gram();
        let (mut u, mut v) = rank1_parts(d0.view());
        v.outer_iter_mut().for_each(|mut r| {
            let n = r.dot(&r).sqrt();
            r /= n;
        });
        let mut d = outer_atoms(u.view(), v.view());
        let before = st.fit(&m, d.view());
        d_step_rank1(&st, &m, &mut u, &mut v, &mut d, 2000);
        let after = st.fit(&m, d.view());
        assert!(after < before, "{after} vs {before}");
        let err = (&d - &inst.atoms).mapv(|x| x * x).sum().sqrt();
        assert!(err < 1e-2, "{err}");
        // the parts stay in their balls and their product is the state's atoms
        assert!(u.outer_iter().all(|r| r.dot(&r) <= 1.0 + 1e-12));
        assert!(v.outer_iter().all(|r| r.dot(&r) <= 1.0 + 1e-12));
    }

    /// Planted recovery with rank-1 atoms (alphacsc's learn_d_z_multi): every product u vᵀ at
    /// ≥ 0.99 up to shift and sign, and every pattern u and waveform v at ≥ 0.99; the learned
    /// atoms are rank-1 by construction.
    #[test]
    fn rank1_learner_recovers_planted_rank1_atoms() {
        let (inst, d0) = rank1_problem();
        let start = conv_recovery(inst.atoms.view(), d0.view()).unwrap();
        assert!(start.recovery_score() < 0.95, "{:?}", start.matched_score);
        let out = ConvAltMin::new()
            .reg(0.05)
            .nonneg(true)
            .rank1(true)
            .max_iters(100)
            .learn_easy(&inst, Boundary::Valid, Some(d0.view()))
            .unwrap();
        let (u_hat, v_hat) = out.state.uv.clone().expect("rank-1 state");
        let prod = outer_atoms(u_hat.view(), v_hat.view());
        assert!((&prod - &out.state.atoms).iter().all(|x| x.abs() < 1e-12));
        let rec = conv_recovery(inst.atoms.view(), out.state.atoms.view()).unwrap();
        assert!(rec.recovery_rate(0.99) >= 1.0, "{:?}", rec.matched_score);
        let (u, v) = rank1_parts(inst.atoms.view());
        let (su, sv) = super::super::metrics::rank1_scores(
            &rec,
            u.view(),
            v.view(),
            u_hat.view(),
            v_hat.view(),
        )
        .unwrap();
        assert!(
            su.iter().chain(&sv).all(|x| *x >= 0.99),
            "u {su:?} v {sv:?}"
        );
    }

    /// The online variant (minibatches of 3 of the 10 signals, forgetting 0.8) recovers the
    /// planted atoms from the same perturbed start as the batch learner, and the recorded
    /// objective is Φ over all signals.
    #[test]
    fn online_learner_recovers_planted_atoms() {
        let (inst, d0) = easy_problem(Boundary::Valid);
        let out = ConvAltMin::new()
            .reg(0.05)
            .nonneg(true)
            .batch(Some(3))
            .tol(0.0)
            .max_iters(60)
            .learn_easy(&inst, Boundary::Valid, Some(d0.view()))
            .unwrap();
        let rec = conv_recovery(inst.atoms.view(), out.state.atoms.view()).unwrap();
        assert!(rec.recovery_rate(0.99) >= 1.0, "{:?}", rec.matched_score);
        let phi = super::super::csc::objective(
            out.state.atoms.view(),
            out.state.acts.view(),
            inst.y.view(),
            Boundary::Valid,
            out.state.lambda,
        )
        .unwrap();
        assert!(
            (phi - out.info.objective).abs() <= 1e-9 * phi,
            "{phi} vs {}",
            out.info.objective
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let inst = ConvSpec::new(2, 1, 50, 2, 5).sample(1).unwrap();
        let y = inst.y.view();
        let l = ConvAltMin::new();
        assert!(l.learn(y, 0, 5, Boundary::Valid, 0).is_err());
        assert!(l.learn(y, 2, 0, Boundary::Valid, 0).is_err());
        assert!(l.learn(y, 2, 51, Boundary::Valid, 0).is_err());
        assert!(
            ConvAltMin::new()
                .reg(1.5)
                .learn(y, 2, 5, Boundary::Valid, 0)
                .is_err()
        );
        let mut nan = inst.y.clone();
        nan[(0, 0, 3)] = f64::NAN;
        assert!(l.learn(nan.view(), 2, 5, Boundary::Valid, 0).is_err());
        let zero = Array3::zeros((2, 1, 50));
        assert!(l.learn(zero.view(), 2, 5, Boundary::Valid, 0).is_err());
        let d0 = Array3::ones((3, 1, 5));
        assert!(
            l.learn_observed(
                y,
                2,
                5,
                Boundary::Valid,
                Some(d0.view()),
                0,
                Schedule::Never,
                &mut iter::NoObserver
            )
            .is_err()
        );
    }
}
