//! Unrolled ISTA with a tied dictionary, and dictionary learning by (back)propagating through it.
//!
//! **Papers.** B. Tolooshams & D. Ba, "Stable and interpretable unrolled dictionary learning"
//! (PUDLE, TMLR 2022, arXiv 2106.00058; §3 "model", eqs. (3)–(5) for the encoder and the three
//! gradients, the NOODL baseline of Rambhatla et al. ICLR 2019, Alg. 1); B. Malézieux, T. Moreau,
//! M. Kowalski, "Understanding approximate and unrolled dictionary learning for pattern recovery"
//! (ICLR 2022, §3: g₁ = AM, g₂ = DDL, truncated backpropagation); P. Ablin, G. Peyré, T. Moreau,
//! "Super-efficiency of automatic differentiation for functions defined as a minimum" (ICML 2020,
//! §2 estimators g₁, g₂, g₃; g₃ for the Lasso restricted to the support). docs/protocols.md §3, §7, §9.
//!
//! # Model
//! With `D` (n × m, unit columns) and signals `X` (n × N), `T` layers of ISTA with step α:
//! ```text
//! z₀ = 0,   u_t = z_{t−1} − α Dᵀ(D z_{t−1} − x) = (I − α DᵀD) z_{t−1} + α Dᵀx,   z_t = S_t(u_t)
//! ```
//! `S_t` is the two-sided soft threshold at αλ, the one-sided one (codes ≥ 0), the hard threshold at
//! τ (keep |u| > τ: PUDLE's AEhard and the IHT encoder of NOODL) or the soft threshold at αλβᵗ
//! (AEdecay). The decoder is `x̂ = D z_T`. Losses are sample means:
//! `rec(D) = (1/N) Σ ½‖x − D z_T‖²`, `lasso(D) = rec + λ (1/N) Σ ‖z_T‖₁`.
//!
//! # Gradients with respect to D ([`Gradient`])
//! * `g_dec` (z_T detached; Malézieux's g₁, Ablin's analytic estimator): `(1/N)(D z_T − x) z_Tᵀ`.
//! * `g_ae_lasso`, `g_ae_ls` (Malézieux's g₂): the exact derivative of `lasso(D)` / `rec(D)`
//!   through all T layers. Reverse pass: with `r = D z_T − x`, `ḡ_T = Dᵀr (+ λ sign z_T)`, and for
//!   t = T, …, 1: `ū_t = ḡ_t ⊙ 1[z_t ≠ 0]`, `ḡ_{t−1} = (I − αDᵀD) ū_t`. The layers' share of the
//!   gradient sums to `−α D (P + Pᵀ) + α x qᵀ` with `P = Σ_t z_{t−1} ū_tᵀ` (m × m) and
//!   `q = Σ_t ū_t`, so the whole reverse pass is two m × m × N GEMMs per layer (one forward):
//!   `∇ = (1/N)[r z_Tᵀ − α D (P + Pᵀ) + α x qᵀ]`. Backpropagating only through the last K layers
//!   (`depth = K`, z_{T−K} detached) gives the truncated estimator; K = 0 is `g_dec`.
//! * `g_noodl`: `(1/N)(D z_T − x) sign(z_T)ᵀ` (Rambhatla et al., Alg. 1 step; PUDLE's baseline).
//! * `g_implicit` (Ablin et al.'s g₃): `∇₂L − ∇₂₁L (∇₁₁L)⁻¹ ∇₁L` at (z_T, D) for
//!   `L(z, D) = ½‖x − Dz‖² + λ‖z‖₁` restricted to S = supp(z_T): per sample
//!   `v_S = (D_SᵀD_S)⁻¹ (D_Sᵀ r + λ sign z_S)` and `g = r (z − v)ᵀ − D v zᵀ`. At the exact Lasso
//!   solution `v = 0` and it equals `g_dec` there. Samples whose support is larger than n (early
//!   iterates; D_SᵀD_S is singular) get `v = 0`, i.e. g₁.
//!
//! # Memory
//! The reverse pass needs every `z_t`. [`Memory::StoreAll`] keeps them (T·m·N floats);
//! [`Memory::Checkpoint`] keeps one every c layers and recomputes each segment once during the
//! reverse pass (one extra forward, (T/c + c)·m·N floats); [`Memory::Auto`] stores all under
//! 256 MiB and checkpoints every ⌈√T⌉ layers above.
//!
//! # Training ([`UnrolledDl`])
//! SGD or Adam on D over full batches or shuffled minibatches, columns renormalized after each
//! step as in PUDLE, on the crate's iteration engine (one step per batch). A diverging run ends with
//! `Termination::NonFinite { iter }`. [`DlProbe`] records ground-truth metrics.

use crate::error::{Error, Result, check_finite, ensure};
use crate::linalg::{gemm_into, par};
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// The non-linearity of every layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// Two-sided soft threshold at αλ.
    Soft {
        /// λ > 0.
        lambda: f64,
    },
    /// One-sided soft threshold at αλ (codes ≥ 0: `max(u − αλ, 0)`).
    SoftNonNeg {
        /// λ > 0.
        lambda: f64,
    },
    /// Hard threshold: keep `u` where `|u| > τ`.
    Hard {
        /// τ > 0.
        tau: f64,
    },
    /// Soft threshold at αλβᵗ in layer t (PUDLE's AEdecay).
    SoftDecay {
        /// λ > 0.
        lambda: f64,
        /// β ∈ (0, 1].
        beta: f64,
    },
}

impl Threshold {
    /// The λ of the Lasso this encoder approximates (none for the hard threshold).
    pub fn lasso_lambda(&self) -> Option<f64> {
        match *self {
            Threshold::Soft { lambda }
            | Threshold::SoftNonNeg { lambda }
            | Threshold::SoftDecay { lambda, .. } => Some(lambda),
            Threshold::Hard { .. } => None,
        }
    }
    fn check(&self) -> Result<()> {
        match *self {
            Threshold::Soft { lambda }
            | Threshold::SoftNonNeg { lambda }
            | Threshold::SoftDecay { lambda, .. } => {
                ensure!(
                    lambda.is_finite() && lambda > 0.0,
                    "lambda",
                    lambda,
                    "λ > 0"
                );
            }
            Threshold::Hard { tau } => {
                ensure!(
                    tau.is_finite() && tau > 0.0,
                    "tau",
                    tau,
                    "a hard threshold τ > 0"
                );
            }
        }
        if let Threshold::SoftDecay { beta, .. } = *self {
            ensure!(
                beta > 0.0 && beta <= 1.0,
                "beta",
                beta,
                "a decay factor β in (0, 1]"
            );
        }
        Ok(())
    }
    /// Threshold level of layer `t` (1-based) at step α.
    fn level(&self, alpha: f64, t: usize) -> f64 {
        match *self {
            Threshold::Soft { lambda } | Threshold::SoftNonNeg { lambda } => alpha * lambda,
            Threshold::Hard { tau } => tau,
            Threshold::SoftDecay { lambda, beta } => {
                alpha * lambda * beta.powi(i32::try_from(t).unwrap_or(i32::MAX))
            }
        }
    }
}

/// How the forward pass keeps what the reverse pass needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// Store every layer under 256 MiB, otherwise checkpoint every ⌈√T⌉ layers.
    Auto,
    /// Store every layer's codes.
    StoreAll,
    /// Store every c-th layer and recompute the segments during the reverse pass.
    Checkpoint(usize),
}

/// Which dictionary gradient (see the module docs for the formulas).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gradient {
    /// z_T detached: `(D z_T − x) z_Tᵀ` (alternating minimization; g₁).
    Dec,
    /// Backpropagation of the Lasso loss through the last `depth` layers (all when `None`).
    AeLasso {
        /// Truncation depth K (None: all T layers).
        depth: Option<usize>,
    },
    /// Backpropagation of the least-squares loss through the last `depth` layers.
    AeLs {
        /// Truncation depth K (None: all T layers).
        depth: Option<usize>,
    },
    /// NOODL's `(D z_T − x) sign(z_T)ᵀ`.
    Noodl,
    /// The implicit (Jacobian-free) estimator g₃ restricted to the support.
    Implicit,
}

impl Gradient {
    /// `g_ae_lasso` through all layers.
    pub const AE_LASSO: Gradient = Gradient::AeLasso { depth: None };
    /// `g_ae_ls` through all layers.
    pub const AE_LS: Gradient = Gradient::AeLs { depth: None };
}

impl std::fmt::Display for Gradient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gradient::Dec => write!(f, "g_dec"),
            Gradient::AeLasso { depth: None } => write!(f, "g_ae_lasso"),
            Gradient::AeLasso { depth: Some(k) } => write!(f, "g_ae_lasso[depth={k}]"),
            Gradient::AeLs { depth: None } => write!(f, "g_ae_ls"),
            Gradient::AeLs { depth: Some(k) } => write!(f, "g_ae_ls[depth={k}]"),
            Gradient::Noodl => write!(f, "g_noodl"),
            Gradient::Implicit => write!(f, "g_implicit"),
        }
    }
}

/// A T-layer unrolled ISTA encoder with a tied dictionary.
#[derive(Clone, Debug, PartialEq)]
pub struct Unrolled {
    /// Number of layers T ≥ 1.
    pub layers: usize,
    /// Step α.
    pub alpha: f64,
    /// Non-linearity.
    pub threshold: Threshold,
    /// Storage policy of the reverse pass.
    pub memory: Memory,
}

/// A dictionary gradient and the quantities computed on the way.
#[derive(Clone, Debug)]
pub struct GradEval {
    /// The gradient (n × m).
    pub grad: Array2<f64>,
    /// The codes z_T (m × N).
    pub codes: Array2<f64>,
    /// `(1/N) Σ ½‖x − D z_T‖²` (against the target).
    pub rec: f64,
    /// `rec + λ (1/N) Σ ‖z_T‖₁` (NaN for the hard threshold).
    pub lasso: f64,
}

impl GradEval {
    /// The loss the gradient descends: the Lasso loss for `g_ae_lasso`, the reconstruction
    /// otherwise (and for the hard threshold).
    pub fn loss(&self, g: Gradient) -> f64 {
        match g {
            Gradient::AeLasso { .. } if self.lasso.is_finite() => self.lasso,
            _ => self.rec,
        }
    }
}

/// Precomputed operators of one forward pass.
struct Ops {
    /// I − α DᵀD (m × m, symmetric: row i is column i).
    mmat: Array2<f64>,
    /// α xᵀD (N × m: one row per sample).
    bt: Array2<f64>,
}

/// Codes of one layer, sample-major compressed rows: sample j's non-zeros are
/// `idx[ptr[j]..ptr[j+1]]` (atom indices, increasing) with values `val[..]`.
#[derive(Clone, Debug, Default)]
struct Csr {
    ptr: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<f64>,
}

impl Csr {
    fn row(&self, j: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.ptr[j], self.ptr[j + 1]);
        (&self.idx[a..b], &self.val[a..b])
    }
    /// The non-zeros of sample-major codes (N × m). Rows are compressed in a few contiguous
    /// chunks (one pair of buffers each, sized by a counting pass), not one allocation per row.
    fn from_dense(z: &Array2<f64>) -> Csr {
        let n_rows = z.nrows();
        let chunk = n_rows.div_ceil(4 * rayon::current_num_threads()).max(256);
        let parts: Vec<(Vec<usize>, Vec<u32>, Vec<f64>)> = z
            .axis_chunks_iter(Axis(0), chunk)
            .into_par_iter()
            .map(|block| {
                let nnz = block.iter().filter(|v| **v != 0.0).count();
                let (mut ix, mut vs) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
                let mut counts = Vec::with_capacity(block.nrows());
                for r in block.rows() {
                    for (i, &v) in r.iter().enumerate() {
                        if v != 0.0 {
                            ix.push(i as u32);
                            vs.push(v);
                        }
                    }
                    counts.push(ix.len());
                }
                (counts, ix, vs)
            })
            .collect();
        let total = parts.iter().map(|p| p.1.len()).sum();
        let mut out = Csr {
            ptr: Vec::with_capacity(n_rows + 1),
            idx: Vec::with_capacity(total),
            val: Vec::with_capacity(total),
        };
        out.ptr.push(0);
        for (counts, ix, vs) in parts {
            let base = out.idx.len();
            out.ptr.extend(counts.iter().map(|c| base + c));
            out.idx.extend(ix);
            out.val.extend(vs);
        }
        out
    }
}

impl Unrolled {
    /// T layers of ISTA with step α and the given threshold; [`Memory::Auto`].
    pub fn new(layers: usize, alpha: f64, threshold: Threshold) -> Self {
        Unrolled {
            layers,
            alpha,
            threshold,
            memory: Memory::Auto,
        }
    }

    /// Validate the parameters (not the dictionary).
    ///
    /// # Errors
    /// T = 0, α ≤ 0 or not finite, an invalid threshold, a checkpoint interval of 0.
    pub fn check(&self) -> Result<()> {
        ensure!(
            self.layers >= 1,
            "layers",
            self.layers,
            "at least one unrolled layer (T ≥ 1)"
        );
        ensure!(
            self.alpha.is_finite() && self.alpha > 0.0,
            "alpha",
            self.alpha,
            "a step α > 0 (ISTA's usual step is 1/L, L = ‖D‖₂²)"
        );
        if let Memory::Checkpoint(c) = self.memory {
            ensure!(c >= 1, "checkpoint", c, "a checkpoint interval ≥ 1");
        }
        self.threshold.check()
    }

    /// α·L for `d` (L = ‖D‖₂², by power iteration). ISTA is a descent method for α ≤ 1/L and
    /// converges for α < 2/L; PUDLE's own settings have α·L ≈ 1.2 (α = 0.2 on a 50 × 100
    /// Gaussian dictionary), so values in (1, 2) are allowed and reported, not refused.
    ///
    /// # Errors
    /// α·L ≥ 2 (the iteration diverges), naming the largest admissible α.
    pub fn check_step(&self, d: ArrayView2<'_, f64>) -> Result<f64> {
        let g = crate::linalg::gram(d, par());
        let l = crate::code::lipschitz_from_gram(g.view(), 100);
        let al = self.alpha * l;
        ensure!(
            al < 2.0,
            "alpha",
            self.alpha,
            format!(
                "α < 2/L = {:.4} for this dictionary (L = ‖D‖₂² = {l:.4}; ISTA's usual step is 1/L = {:.4})",
                2.0 / l,
                1.0 / l
            )
        );
        Ok(al)
    }

    fn ops(&self, d: ArrayView2<'_, f64>, x: ArrayView2<'_, f64>) -> Ops {
        let m = d.ncols();
        let mut mmat = Array2::<f64>::eye(m);
        gemm_into(mmat.view_mut(), -self.alpha, d, true, d, false, 1.0, par());
        let mut bt = Array2::zeros((x.ncols(), m));
        gemm_into(bt.view_mut(), self.alpha, x, true, d, false, 0.0, par());
        Ops { mmat, bt }
    }

    /// Layer t (1-based) from z_{t−1} (`None` for z₀ = 0), codes sample-major (N × m):
    /// `u = α xᵀD + z (I − αDᵀD)` (one GEMM), then the threshold.
    fn layer(&self, ops: &Ops, z: Option<&Array2<f64>>, t: usize) -> Array2<f64> {
        let mut u = ops.bt.clone();
        if let Some(z) = z
            && sparse_enough(z)
        {
            sparse_times_sym(&mut u, z, &ops.mmat);
        } else if let Some(z) = z {
            gemm_into(
                u.view_mut(),
                1.0,
                z.view(),
                false,
                ops.mmat.view(),
                false,
                1.0,
                par(),
            );
        }
        let thr = self.threshold.level(self.alpha, t);
        // branch-free element loops over large contiguous chunks (vectorized; one rayon task per
        // 16 Ki values): soft(v, τ) = v − clamp(v, −τ, τ)
        let data = u.as_slice_mut().expect("bt is in standard layout");
        let chunks = data.par_chunks_mut(1 << 14);
        match self.threshold {
            Threshold::Soft { .. } | Threshold::SoftDecay { .. } => chunks.for_each(|c| {
                c.iter_mut().for_each(|v| *v -= v.clamp(-thr, thr));
            }),
            Threshold::SoftNonNeg { .. } => chunks.for_each(|c| {
                c.iter_mut().for_each(|v| *v = (*v - thr).max(0.0));
            }),
            Threshold::Hard { .. } => chunks.for_each(|c| {
                c.iter_mut()
                    .for_each(|v| *v = if v.abs() > thr { *v } else { 0.0 });
            }),
        }
        u
    }

    fn check_inputs(&self, d: ArrayView2<'_, f64>, x: ArrayView2<'_, f64>) -> Result<()> {
        self.check()?;
        if d.nrows() != x.nrows() {
            return Err(Error::ShapeMismatch {
                what: "signals (n × N) against the dictionary (n × m)",
                expected: (d.nrows(), x.ncols()),
                found: x.dim(),
                hint: " (columns are signals; scikit-learn stores the transpose)".into(),
            });
        }
        ensure!(x.ncols() >= 1, "n_samples", 0, "at least one signal");
        check_finite("dictionary", d)?;
        check_finite("signals", x)
    }

    /// The codes z_T (m × N) of the columns of `x`.
    ///
    /// # Errors
    /// Invalid parameters, shapes, non-finite input.
    pub fn encode(&self, d: ArrayView2<'_, f64>, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.check_inputs(d, x)?;
        let ops = self.ops(d, x);
        Ok(self.forward_plain(&ops).t().as_standard_layout().to_owned())
    }

    fn forward_plain(&self, ops: &Ops) -> Array2<f64> {
        let mut z = self.layer(ops, None, 1);
        for t in 2..=self.layers {
            z = self.layer(ops, Some(&z), t);
        }
        z
    }

    /// Layers per stored segment.
    fn segment(&self, m: usize, n_samples: usize) -> usize {
        let t = self.layers;
        match self.memory {
            Memory::StoreAll => t,
            Memory::Checkpoint(c) => c.min(t),
            Memory::Auto => {
                // dense-equivalent bound (codes are stored sparse, so the real use is lower)
                let bytes = (t + 1) as f64 * m as f64 * n_samples as f64 * 12.0;
                if bytes <= 512.0 * 1024.0 * 1024.0 {
                    t
                } else {
                    (t as f64).sqrt().ceil() as usize
                }
            }
        }
    }

    /// The dictionary gradient `g` of `d` on signals `x` (encoder input); the loss compares the
    /// decoding with `target` (default: `x`; a clean image for supervised denoising).
    ///
    /// # Errors
    /// Invalid parameters or shapes, non-finite input, `g_ae_lasso`/`g_implicit` with the hard
    /// threshold (no Lasso), a truncation depth above T.
    pub fn gradient(
        &self,
        d: ArrayView2<'_, f64>,
        x: ArrayView2<'_, f64>,
        target: Option<ArrayView2<'_, f64>>,
        g: Gradient,
    ) -> Result<GradEval> {
        self.check_inputs(d, x)?;
        let tgt = target.unwrap_or(x);
        if tgt.dim() != x.dim() {
            return Err(Error::shape("target signals", x.dim(), tgt.dim()));
        }
        let lambda = self.threshold.lasso_lambda();
        if matches!(g, Gradient::AeLasso { .. } | Gradient::Implicit) && lambda.is_none() {
            return Err(Error::invalid(
                "gradient",
                g,
                "g_ae_ls, g_dec or g_noodl with the hard threshold (it approximates no Lasso); or a soft threshold",
            ));
        }
        if let Gradient::AeLasso { depth: Some(k) } | Gradient::AeLs { depth: Some(k) } = g {
            ensure!(
                k <= self.layers,
                "depth",
                k,
                format!("a backpropagation depth ≤ T = {}", self.layers)
            );
        }
        let nn = x.ncols() as f64;
        let (n, m) = d.dim();
        let ops = self.ops(d, x);
        let depth = match g {
            Gradient::AeLasso { depth } | Gradient::AeLs { depth } => depth.unwrap_or(self.layers),
            _ => 0,
        };
        let (z_s, stored) = if depth == 0 {
            (self.forward_plain(&ops), None)
        } else {
            let (z, st) = self.forward_stored(&ops, x.ncols());
            (z, Some(st))
        };
        let z_t = z_s.t().as_standard_layout().to_owned();
        // r = D z_T − target
        let mut r = tgt.to_owned();
        gemm_into(r.view_mut(), 1.0, d, false, z_t.view(), false, -1.0, par());
        let rec = 0.5 * r.iter().map(|v| v * v).sum::<f64>() / nn;
        let l1 = z_s.iter().map(|v| v.abs()).sum::<f64>() / nn;
        let lasso = lambda.map_or(f64::NAN, |l| rec + l * l1);
        // every variant starts from r · Rᵀ / N: R = sign z_T (NOODL), z_T − v (implicit), z_T otherwise
        let implicit_v = match g {
            Gradient::Implicit => Some(implicit_correction(d, &z_t, &r, lambda.unwrap_or(0.0))?),
            _ => None,
        };
        let right = match (g, &implicit_v) {
            (Gradient::Noodl, _) => {
                std::borrow::Cow::Owned(z_t.mapv(|v| if v == 0.0 { 0.0 } else { v.signum() }))
            }
            (_, Some(v)) => std::borrow::Cow::Owned(&z_t - v),
            _ => std::borrow::Cow::Borrowed(&z_t),
        };
        let mut grad = Array2::zeros((n, m));
        gemm_into(
            grad.view_mut(),
            1.0 / nn,
            r.view(),
            false,
            right.view(),
            true,
            0.0,
            par(),
        );
        if let Some(v) = &implicit_v {
            // g₃ = r (z − v)ᵀ − D v zᵀ
            let mut dv = Array2::zeros((n, x.ncols()));
            gemm_into(dv.view_mut(), 1.0, d, false, v.view(), false, 0.0, par());
            gemm_into(
                grad.view_mut(),
                -1.0 / nn,
                dv.view(),
                false,
                z_t.view(),
                true,
                1.0,
                par(),
            );
        }
        // backpropagation through `depth` ≥ 1 layers adds −α D (P + Pᵀ) + α x q
        if let Some(st) = stored {
            // ḡ_T = Dᵀ r (+ λ sign z_T), needed only on supp z_T (the first mask)
            let mut gbar = Array2::zeros((x.ncols(), m));
            gemm_into(gbar.view_mut(), 1.0, r.view(), true, d, false, 0.0, par());
            let lam = match g {
                Gradient::AeLasso { .. } => lambda.unwrap_or(0.0),
                _ => 0.0,
            };
            let z_sp = Csr::from_dense(&z_s);
            let ubar: Vec<f64> = (0..x.ncols())
                .flat_map(|j| {
                    let (ix, vs) = z_sp.row(j);
                    let gb = gbar.row(j);
                    ix.iter()
                        .zip(vs)
                        .map(move |(&i, &v)| gb[i as usize] + lam * v.signum())
                        .collect::<Vec<_>>()
                })
                .collect();
            let (p, q) = self.reverse(&ops, ubar, depth, st);
            let psym = &p + &p.t();
            gemm_into(
                grad.view_mut(),
                -self.alpha / nn,
                d,
                false,
                psym.view(),
                false,
                1.0,
                par(),
            );
            gemm_into(
                grad.view_mut(),
                self.alpha / nn,
                x,
                false,
                q.view(),
                false,
                1.0,
                par(),
            );
        }
        Ok(GradEval {
            grad,
            codes: z_t,
            rec,
            lasso,
        })
    }

    /// Forward pass keeping checkpoints (sparse): returns z_T (N × m) and the stored layers.
    fn forward_stored(&self, ops: &Ops, n_samples: usize) -> (Array2<f64>, Stored) {
        let t_max = self.layers;
        let c = self.segment(ops.mmat.nrows(), n_samples);
        let nseg = t_max.div_ceil(c);
        let last_start = (nseg - 1) * c;
        let mut st = Stored {
            every: c,
            checkpoints: vec![None],
            last: vec![],
        };
        if last_start == 0 {
            st.last.push(None);
        }
        let mut z: Option<Array2<f64>> = None;
        for t in 1..=t_max {
            let zn = self.layer(ops, z.as_ref(), t);
            if t > last_start {
                st.last.push(Some(Csr::from_dense(&zn)));
            } else if t % c == 0 {
                st.checkpoints.push(Some(zn.clone()));
                if t == last_start {
                    st.last.push(Some(Csr::from_dense(&zn)));
                }
            }
            z = Some(zn);
        }
        (z.unwrap_or_else(|| ops.bt.clone()), st)
    }

    /// Reverse pass through the last `depth` layers from `ū_T` (ḡ_T on supp z_T, aligned with
    /// z_T's entries): returns `P = Σ_t z_{t−1} ū_tᵀ` (m × m) and `q = Σ_t ū_t` (N × m).
    ///
    /// Per sample, `ū_{t−1} = ((I − αDᵀD) ū_t) ⊙ 1[z_{t−1} ≠ 0]` is only needed on supp z_{t−1},
    /// so a layer costs `4 m · |supp z_{t−1,j}|` flops per sample (contiguous rows), not a dense
    /// `4 m² N` GEMM pair.
    fn reverse(
        &self,
        ops: &Ops,
        mut ubar: Vec<f64>,
        depth: usize,
        st: Stored,
    ) -> (Array2<f64>, Array2<f64>) {
        let m = ops.mmat.nrows();
        let n_samples = ops.bt.nrows();
        let t_max = self.layers;
        let t_lo = t_max + 1 - depth.max(1);
        let mut p = Array2::zeros((m, m));
        let mut q = Array2::<f64>::zeros((n_samples, m));
        let c = st.every;
        let nseg = t_max.div_ceil(c);
        let Stored {
            checkpoints, last, ..
        } = st;
        let mut last = Some(last);
        let empty = Csr {
            ptr: vec![0; n_samples + 1],
            ..Default::default()
        };
        for k in (0..nseg).rev() {
            let start = k * c;
            let end = ((k + 1) * c).min(t_max);
            if end < t_lo {
                break;
            }
            // seg[i] = z_{start + i}, None for z₀
            let seg: Vec<Option<Csr>> = if k == nseg - 1 {
                last.take().unwrap_or_default()
            } else {
                let mut prev = checkpoints[k].clone();
                let mut s = vec![prev.as_ref().map(Csr::from_dense)];
                for t in start + 1..=end {
                    let zn = self.layer(ops, prev.as_ref(), t);
                    s.push(Some(Csr::from_dense(&zn)));
                    prev = Some(zn);
                }
                s
            };
            for t in (start + 1..=end).rev() {
                if t < t_lo {
                    break;
                }
                let zt = seg[t - start].as_ref().expect("layer t ≥ 1 is stored");
                let zprev = seg[t - start - 1].as_ref().unwrap_or(&empty);
                let need_next = t > t_lo;
                // dense layers (early ISTA iterates are far from sparse) go through GEMMs, sparse
                // ones through per-sample row operations: the crossover is at ≈ 15 % density
                let density = zprev.val.len() as f64 / (n_samples * m) as f64;
                if density > 0.15 {
                    ubar =
                        self.reverse_layer_dense(ops, zt, zprev, &ubar, &mut p, &mut q, need_next);
                    continue;
                }
                // P += z_{t−1} ū_tᵀ (per-chunk accumulators), q += ū_t, ū_{t−1} on supp z_{t−1}
                // few chunks (one m × m accumulator each): twice the thread count
                let chunk = n_samples.div_ceil(2 * rayon::current_num_threads()).max(64);
                let parts: Vec<(Array2<f64>, Vec<f64>)> = q
                    .axis_chunks_iter_mut(Axis(0), chunk)
                    .into_par_iter()
                    .enumerate()
                    .map(|(ci, mut qc)| {
                        let mut pl = vec![0.0f64; m * m];
                        let mut next = Vec::new();
                        let mm = ops.mmat.as_slice().expect("standard layout");
                        // ū_t of one sample scattered into a dense m-vector, so the per-atom work
                        // is two contiguous length-m loops (vectorized) instead of scattered ones
                        let mut ud = vec![0.0f64; m];
                        for (r, mut qrow) in qc.rows_mut().into_iter().enumerate() {
                            let j = ci * chunk + r;
                            let (ix, _) = zt.row(j);
                            let ub = &ubar[zt.ptr[j]..zt.ptr[j + 1]];
                            for (&b, &u) in ix.iter().zip(ub) {
                                qrow[b as usize] += u;
                                ud[b as usize] = u;
                            }
                            let (px, pv) = zprev.row(j);
                            for (&a, &za) in px.iter().zip(pv) {
                                let a = a as usize;
                                let prow = &mut pl[a * m..(a + 1) * m];
                                prow.iter_mut().zip(&ud).for_each(|(pp, &u)| *pp += za * u);
                                if need_next {
                                    let mrow = &mm[a * m..(a + 1) * m];
                                    next.push(
                                        mrow.iter().zip(&ud).map(|(&x, &u)| x * u).sum::<f64>(),
                                    );
                                }
                            }
                            for &b in ix {
                                ud[b as usize] = 0.0;
                            }
                        }
                        let pl = Array2::from_shape_vec((m, m), pl).expect("m × m");
                        (pl, next)
                    })
                    .collect();
                let mut next_ubar = Vec::with_capacity(zprev.val.len());
                for (pl, nx) in parts {
                    p += &pl;
                    next_ubar.extend(nx);
                }
                if need_next {
                    ubar = next_ubar;
                }
            }
        }
        (p, q)
    }

    /// One reverse layer with dense GEMMs: `Ū` (N × m) scattered from ū_t on supp z_t,
    /// `q += Ū`, `P += Z_{t−1}ᵀ Ū`, and ū_{t−1} = (Ū M) gathered on supp z_{t−1}.
    #[allow(clippy::too_many_arguments)]
    fn reverse_layer_dense(
        &self,
        ops: &Ops,
        zt: &Csr,
        zprev: &Csr,
        ubar: &[f64],
        p: &mut Array2<f64>,
        q: &mut Array2<f64>,
        need_next: bool,
    ) -> Vec<f64> {
        let (n_samples, m) = q.dim();
        let scatter = |c: &Csr, vals: &[f64]| {
            let mut d = Array2::<f64>::zeros((n_samples, m));
            d.axis_iter_mut(Axis(0))
                .into_par_iter()
                .enumerate()
                .for_each(|(j, mut row)| {
                    let (a, b) = (c.ptr[j], c.ptr[j + 1]);
                    for (&i, &v) in c.idx[a..b].iter().zip(&vals[a..b]) {
                        row[i as usize] = v;
                    }
                });
            d
        };
        let u = scatter(zt, ubar);
        *q += &u;
        let zp = scatter(zprev, &zprev.val);
        gemm_into(
            p.view_mut(),
            1.0,
            zp.view(),
            true,
            u.view(),
            false,
            1.0,
            par(),
        );
        if !need_next {
            return vec![];
        }
        let mut g = Array2::<f64>::zeros((n_samples, m));
        gemm_into(
            g.view_mut(),
            1.0,
            u.view(),
            false,
            ops.mmat.view(),
            false,
            0.0,
            par(),
        );
        let mut next = Vec::with_capacity(zprev.val.len());
        for j in 0..n_samples {
            let (ix, _) = zprev.row(j);
            let gr = g.row(j);
            next.extend(ix.iter().map(|&i| gr[i as usize]));
        }
        next
    }

    /// FLOPs of one step if the layers were dense GEMMs: a forward `2 m² N` per layer, a reverse
    /// `4 m² N` per layer (the sparse kernels do fewer; rates quoted against this count are
    /// "dense-equivalent").
    pub fn flops(&self, m: usize, n_samples: usize, backprop: bool) -> f64 {
        let per = 2.0 * (m * m) as f64 * n_samples as f64 * self.layers as f64;
        if backprop { 3.0 * per } else { per }
    }
}

/// Whether sample-major codes are sparse enough (≤ 15 % non-zeros, the crossover measured for
/// the reverse pass) for [`sparse_times_sym`] to beat a dense GEMM.
fn sparse_enough(z: &Array2<f64>) -> bool {
    let nnz: usize = z
        .axis_chunks_iter(Axis(0), 1024)
        .into_par_iter()
        .map(|c| c.iter().filter(|v| **v != 0.0).count())
        .sum();
    (nnz as f64) <= 0.15 * z.len() as f64
}

/// `u += z M` for sample-major codes `z` (N × m, mostly zeros) and a symmetric `M` (m × m):
/// per sample, one contiguous length-m update per non-zero (row a of M is column a), so a
/// layer costs `2 m · nnz` flops instead of the dense `2 m² N` — the forward pass's sparse path.
/// The sum over a sample's non-zeros runs in increasing atom order, so the result does not
/// depend on the thread count.
fn sparse_times_sym(u: &mut Array2<f64>, z: &Array2<f64>, mmat: &Array2<f64>) {
    let m = mmat.nrows();
    let mm = mmat.as_slice().expect("M is in standard layout");
    let chunk = z.nrows().div_ceil(4 * rayon::current_num_threads()).max(64);
    u.axis_chunks_iter_mut(Axis(0), chunk)
        .into_par_iter()
        .zip(z.axis_chunks_iter(Axis(0), chunk))
        .for_each(|(mut uc, zc)| {
            for (mut ur, zr) in uc.rows_mut().into_iter().zip(zc.rows()) {
                let ur = ur.as_slice_mut().expect("u is in standard layout");
                for (a, &za) in zr.iter().enumerate() {
                    if za != 0.0 {
                        let row = &mm[a * m..(a + 1) * m];
                        ur.iter_mut().zip(row).for_each(|(x, &y)| *x += za * y);
                    }
                }
            }
        });
}

/// What the forward pass kept for the reverse pass.
#[derive(Default)]
struct Stored {
    every: usize,
    /// z_0 (None), z_c, z_2c, … up to the last segment's start (dense, N × m).
    checkpoints: Vec<Option<Array2<f64>>>,
    /// z_{last_start}, …, z_T.
    last: Vec<Option<Csr>>,
}

/// Per sample, `v_S = (D_SᵀD_S)⁻¹ (D_Sᵀ r + λ sign z_S)` embedded in m dimensions (zero off S).
fn implicit_correction(
    d: ArrayView2<'_, f64>,
    z: &Array2<f64>,
    r: &Array2<f64>,
    lambda: f64,
) -> Result<Array2<f64>> {
    let (n, m) = d.dim();
    let gram = crate::linalg::gram(d, par());
    let mut dtr = Array2::zeros((m, r.ncols()));
    gemm_into(dtr.view_mut(), 1.0, d, true, r.view(), false, 0.0, par());
    let mut v = Array2::zeros(z.raw_dim());
    let cols: Vec<Vec<f64>> = (0..z.ncols())
        .into_par_iter()
        .map(|j| {
            let zc = z.column(j);
            let s: Vec<usize> = (0..m).filter(|&i| zc[i] != 0.0).collect();
            let k = s.len();
            let mut out = vec![0.0; m];
            // no support, or one larger than n (D_SᵀD_S singular: early iterates, not a Lasso
            // solution) — g₃ is undefined there and the sample contributes g₁ (v = 0)
            if k == 0 || k > n {
                return out;
            }
            let mut a: Vec<f64> = Vec::with_capacity(k * k);
            for &i in &s {
                for &l in &s {
                    a.push(gram[[i, l]]);
                }
            }
            let mut b: Vec<f64> = s
                .iter()
                .map(|&i| dtr[[i, j]] + lambda * zc[i].signum())
                .collect();
            crate::linalg::small_spd_solve(&mut a, k, &mut b);
            for (t, &i) in s.iter().enumerate() {
                out[i] = b[t];
            }
            out
        })
        .collect();
    for (j, c) in cols.into_iter().enumerate() {
        v.column_mut(j).assign(&ndarray::Array1::from(c));
    }
    Ok(v)
}

mod probe;
mod train;

pub use probe::{DlProbe, grad_err_cos, lasso_gradient};
pub use train::{Backtracking, DlState, UnrolledDl, init_near};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sparse_forward_product_equals_the_dense_one() {
        // z: 7 samples × 5 atoms with 1–2 non-zeros each (and an all-zero sample); M symmetric
        let m = 5;
        let mmat = Array2::from_shape_fn((m, m), |(i, j)| 1.0 / (1.0 + (i + j) as f64));
        let mut z = Array2::<f64>::zeros((7, m));
        for (j, (a, v)) in [
            (0, 1.5),
            (3, -2.0),
            (4, 0.25),
            (1, 3.0),
            (2, -1.0),
            (0, 0.5),
        ]
        .into_iter()
        .enumerate()
        {
            z[(j, a)] = v;
            z[(j, (a + 2) % m)] = 0.5 * v;
        }
        assert!(sparse_enough(&Array2::<f64>::zeros((10, 10))));
        assert!(!sparse_enough(&Array2::<f64>::ones((10, 10))));
        let bt = Array2::from_shape_fn((7, m), |(i, j)| (i * m + j) as f64 * 0.1);
        let mut u = bt.clone();
        sparse_times_sym(&mut u, &z, &mmat);
        let dense = &bt + &z.dot(&mmat);
        for (a, b) in u.iter().zip(dense.iter()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
