//! Learned ISTA networks trained on the Lasso objective: LISTA, ALISTA, SLISTA (and ISTA as the
//! untrained reference).
//!
//! **Papers.** K. Gregor & Y. LeCun, "Learning fast approximations of sparse coding" (ICML 2010,
//! §2, eq. (3): LISTA); J. Liu, X. Chen, Z. Wang, W. Yin, "ALISTA: analytic weights are as good
//! as learned weights in LISTA" (ICLR 2019, eqs. (14)–(16)); P. Ablin, T. Moreau, M. Massias,
//! A. Gramfort, "Learning step sizes for unfolded sparse coding" (NeurIPS 2019, §3 SLISTA, and the
//! unsupervised training of §4 / Fig. 6). docs/protocols.md §8.
//!
//! # Networks (z₀ = 0, t = 1..T, S_θ the soft threshold)
//! ```text
//! ISTA   : z_t = S_{λ/L}(z_{t−1} − (1/L) Dᵀ(D z_{t−1} − x))                    (nothing learned)
//! SLISTA : z_t = S_{λα_t}(z_{t−1} − α_t Dᵀ(D z_{t−1} − x))                      (α_t learned)
//! ALISTA : z_t = S_{θ_t}(z_{t−1} − γ_t Wᵀ(D z_{t−1} − x))                       (γ_t, θ_t learned)
//! LISTA  : z_t = S_{θ_t}(W_e^t x + S^t z_{t−1})                                 (W_e^t, S^t, θ_t learned)
//! ```
//! LISTA starts at ISTA (`W_e = Dᵀ/L`, `S = I − DᵀD/L`, `θ = λ/L`), SLISTA and ALISTA at step
//! 1/L. ALISTA's analytic W minimizes ‖WᵀD‖_F subject to diag(WᵀD) = 1, in closed form
//! `w_i = (DDᵀ)⁻¹d_i / (d_iᵀ(DDᵀ)⁻¹d_i)` (the Frobenius variant of Liu et al.'s eq. (16); they
//! solve the ℓ∞ version by projected gradient — recorded as a deviation).
//!
//! # Training (unsupervised, as Ablin et al.)
//! Loss `F(z_T) = (1/N) Σ ½‖x − D z_T‖² + λ‖z_T‖₁` over minibatches, Adam on the learned
//! parameters, thresholds and steps clipped at 0. Reverse pass: `ḡ_T = Dᵀ(D z_T − x) + λ sign z_T`,
//! `ū_t = ḡ_t ⊙ 1[z_t ≠ 0]`, `∂θ_t = −Σ ū_t ⊙ sign z_t`, and per network
//! SLISTA `∂α_t = −Σ ū_t ⊙ (DᵀD z_{t−1} − Dᵀx) + λ ∂θ_t`, `ḡ_{t−1} = ū_t − α_t DᵀD ū_t`;
//! ALISTA `∂γ_t = −Σ ū_t ⊙ (WᵀD z_{t−1} − Wᵀx)`, `ḡ_{t−1} = ū_t − γ_t DᵀW ū_t`;
//! LISTA `∂W_e^t = ū_t xᵀ`, `∂S^t = ū_t z_{t−1}ᵀ`, `ḡ_{t−1} = S^{tᵀ} ū_t` — all checked against
//! finite differences.
//!
//! # Dictionary learning with a LISTA-type encoder ([`ListaDl`])
//! ```text
//! min_{D, Θ}  (1/N) Σ_j ½‖y_j − D z_T(y_j; D, Θ)‖² + λ‖z_T(y_j; D, Θ)‖₁,   ‖d_i‖ = 1
//! ```
//! SLISTA's layers apply D (tied encoder/decoder as CRsAE: B. Tolooshams, S. Dey, D. Ba, "Deep
//! residual autoencoders for expectation maximization-inspired dictionary learning", IEEE TNNLS
//! 2020, §III — with ISTA layers and fixed λ here; the unrolled gradient is PUDLE's g_ae_lasso,
//! Malézieux et al. 2022 eq. (7), with learned steps); LISTA's encoder is free (amortized sparse
//! coding: K. Kavukcuoglu, M. Ranzato, Y. LeCun, "Fast inference in sparse coding algorithms with
//! applications to object recognition", 2008 — PSD — with a LISTA encoder). The dictionary
//! gradient: the decoder's `(D z_T − y) z_Tᵀ / N` plus, for layers that apply D, with
//! `u_t = z_{t−1} − α_t Dᵀ(D z_{t−1} − y)`, `Σ_t ∂⟨ū_t, u_t⟩/∂D = −D(P + Pᵀ) + Y Qᵀ`,
//! `P = Σ_t α_t z_{t−1} ū_tᵀ`, `Q = Σ_t α_t ū_t` (checked against finite differences and against
//! the sparse reverse pass of [`crate::neural::unrolled`]). docs/protocols.md §6 ("LISTA-based learners").

use crate::code::soft;
use crate::error::{Error, Result, check_finite, ensure};
use crate::iter::{self, Iterative, Observer, Record, Schedule, SolveInfo, Stop};
use crate::linalg::{gemm_into, gram, par};
use crate::neural::optim::Adam;
use crate::rng::{Rng64, rng_from_seed};
use ndarray::{Array2, ArrayView2, Zip};

/// Which network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListaKind {
    /// ISTA at step 1/L (the untrained reference).
    Ista,
    /// Learned step sizes only.
    Slista,
    /// Analytic weight, learned steps and thresholds.
    Alista,
    /// Untied per-layer matrices and thresholds.
    Lista,
}

impl std::fmt::Display for ListaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ListaKind::Ista => "ISTA",
            ListaKind::Slista => "SLISTA",
            ListaKind::Alista => "ALISTA",
            ListaKind::Lista => "LISTA",
        })
    }
}

/// One layer's parameters (unused ones are empty).
#[derive(Clone, Debug, PartialEq)]
pub struct ListaLayer {
    /// LISTA's W_e (m × n).
    pub we: Array2<f64>,
    /// LISTA's S (m × m).
    pub s: Array2<f64>,
    /// Step (α_t for ISTA/SLISTA, γ_t for ALISTA).
    pub step: f64,
    /// Threshold θ_t (ALISTA, LISTA).
    pub theta: f64,
}

/// A T-layer learned-ISTA network for the Lasso with dictionary `dict` and penalty λ.
#[derive(Clone, Debug, PartialEq)]
pub struct ListaNet {
    /// Which network.
    pub kind: ListaKind,
    /// D (n × m).
    pub dict: Array2<f64>,
    /// λ.
    pub lambda: f64,
    /// Layers.
    pub layers: Vec<ListaLayer>,
    /// ALISTA's analytic W (n × m); empty otherwise.
    pub w: Array2<f64>,
    gram: Array2<f64>,
    /// ALISTA's WᵀD (m × m).
    wtd: Array2<f64>,
}

/// ALISTA's analytic weight: `w_i = (DDᵀ)⁻¹d_i / (d_iᵀ(DDᵀ)⁻¹d_i)`.
///
/// # Errors
/// DDᵀ singular (D does not span ℝⁿ).
pub fn alista_weight(d: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
    let mut ddt = Array2::zeros((d.nrows(), d.nrows()));
    gemm_into(ddt.view_mut(), 1.0, d, false, d, true, 0.0, par());
    let sol = crate::linalg::spd_solve(ddt.view(), d).map_err(|_| {
        Error::invalid(
            "dictionary",
            "rank-deficient",
            "a dictionary whose atoms span ℝⁿ (ALISTA's W needs DDᵀ invertible)",
        )
    })?;
    let mut w = sol;
    for (mut wc, dc) in w.columns_mut().into_iter().zip(d.columns()) {
        let s = wc.dot(&dc);
        wc /= s;
    }
    Ok(w)
}

impl ListaNet {
    /// A `layers`-deep network of `kind` initialized at ISTA (step 1/L, L = ‖D‖₂²).
    ///
    /// # Errors
    /// T = 0, λ ≤ 0, a dictionary with non-finite entries, zero atoms, or (ALISTA) not spanning ℝⁿ.
    pub fn new(
        kind: ListaKind,
        dict: ArrayView2<'_, f64>,
        lambda: f64,
        layers: usize,
    ) -> Result<Self> {
        ensure!(layers >= 1, "layers", layers, "at least one layer (T ≥ 1)");
        ensure!(
            lambda.is_finite() && lambda > 0.0,
            "lambda",
            lambda,
            "λ > 0"
        );
        crate::code::check_problem(dict, Array2::zeros((dict.nrows(), 1)).view())?;
        let m = dict.ncols();
        let g = gram(dict, par());
        let l = crate::code::lipschitz_from_gram(g.view(), 200);
        let (w, wtd) = if kind == ListaKind::Alista {
            let w = alista_weight(dict)?;
            let mut k = Array2::zeros((m, m));
            gemm_into(k.view_mut(), 1.0, w.view(), true, dict, false, 0.0, par());
            (w, k)
        } else {
            (Array2::zeros((0, 0)), Array2::zeros((0, 0)))
        };
        let layer = match kind {
            ListaKind::Lista => ListaLayer {
                we: dict.t().to_owned() / l,
                s: Array2::<f64>::eye(m) - &g / l,
                step: 0.0,
                theta: lambda / l,
            },
            _ => ListaLayer {
                we: Array2::zeros((0, 0)),
                s: Array2::zeros((0, 0)),
                step: 1.0 / l,
                theta: lambda / l,
            },
        };
        Ok(ListaNet {
            kind,
            dict: dict.to_owned(),
            lambda,
            layers: vec![layer; layers],
            w,
            gram: g,
            wtd,
        })
    }

    fn check_x(&self, x: ArrayView2<'_, f64>) -> Result<()> {
        if x.nrows() != self.dict.nrows() {
            return Err(Error::ShapeMismatch {
                what: "signals (n × N) against the dictionary (n × m)",
                expected: (self.dict.nrows(), x.ncols()),
                found: x.dim(),
                hint: " (columns are signals; scikit-learn stores the transpose)".into(),
            });
        }
        ensure!(x.ncols() >= 1, "n_samples", 0, "at least one signal");
        check_finite("signals", x)
    }

    /// (B, c) of the gradient-step networks: u = z − step (B z − c).
    fn bc(&self, x: ArrayView2<'_, f64>) -> (&Array2<f64>, Array2<f64>) {
        let m = self.dict.ncols();
        let mut c = Array2::zeros((m, x.ncols()));
        match self.kind {
            ListaKind::Alista => {
                gemm_into(c.view_mut(), 1.0, self.w.view(), true, x, false, 0.0, par());
                (&self.wtd, c)
            }
            _ => {
                gemm_into(
                    c.view_mut(),
                    1.0,
                    self.dict.view(),
                    true,
                    x,
                    false,
                    0.0,
                    par(),
                );
                (&self.gram, c)
            }
        }
    }

    fn thr(&self, l: &ListaLayer) -> f64 {
        match self.kind {
            ListaKind::Ista | ListaKind::Slista => self.lambda * l.step,
            ListaKind::Alista | ListaKind::Lista => l.theta,
        }
    }

    /// The codes after every layer: `[z_1, …, z_T]`.
    fn forward(
        &self,
        x: ArrayView2<'_, f64>,
        c: &Array2<f64>,
        b: &Array2<f64>,
    ) -> Vec<Array2<f64>> {
        let m = self.dict.ncols();
        let mut zs: Vec<Array2<f64>> = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let mut u = Array2::zeros((m, x.ncols()));
            match self.kind {
                ListaKind::Lista => {
                    gemm_into(u.view_mut(), 1.0, l.we.view(), false, x, false, 0.0, par());
                    if let Some(z) = zs.last() {
                        gemm_into(
                            u.view_mut(),
                            1.0,
                            l.s.view(),
                            false,
                            z.view(),
                            false,
                            1.0,
                            par(),
                        );
                    }
                }
                _ => {
                    // u = z − step (B z − c)
                    u.assign(c);
                    u *= l.step;
                    if let Some(z) = zs.last() {
                        u += z;
                        gemm_into(
                            u.view_mut(),
                            -l.step,
                            b.view(),
                            false,
                            z.view(),
                            false,
                            1.0,
                            par(),
                        );
                    }
                }
            }
            let t = self.thr(l);
            u.par_mapv_inplace(|v| soft(v, t));
            zs.push(u);
        }
        zs
    }

    /// The codes z_T (m × N).
    ///
    /// # Errors
    /// Shapes, non-finite signals.
    pub fn encode(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.check_x(x)?;
        let (b, c) = self.bc(x);
        let b = b.clone();
        Ok(self.forward(x, &c, &b).pop().unwrap_or_default())
    }

    /// Mean Lasso objective `(1/N) Σ ½‖x − Dz‖² + λ‖z‖₁` of codes `z`.
    fn objective_of(&self, x: ArrayView2<'_, f64>, z: &Array2<f64>) -> (f64, Array2<f64>) {
        let mut r = x.to_owned();
        gemm_into(
            r.view_mut(),
            1.0,
            self.dict.view(),
            false,
            z.view(),
            false,
            -1.0,
            par(),
        );
        let nn = x.ncols() as f64;
        let f = 0.5 * r.iter().map(|v| v * v).sum::<f64>() / nn
            + self.lambda * z.iter().map(|v| v.abs()).sum::<f64>() / nn;
        (f, r)
    }

    /// The mean Lasso objective F(z_t) after every layer t = 1..T.
    ///
    /// # Errors
    /// Shapes, non-finite signals.
    pub fn layer_objectives(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        self.check_x(x)?;
        let (b, c) = self.bc(x);
        let b = b.clone();
        Ok(self
            .forward(x, &c, &b)
            .iter()
            .map(|z| self.objective_of(x, z).0)
            .collect())
    }

    /// The mean Lasso objective of z_T and its gradient with respect to the learned parameters, in
    /// the order of [`ListaNet::to_flat`].
    ///
    /// # Errors
    /// Shapes, non-finite signals.
    pub fn loss_grad(&self, x: ArrayView2<'_, f64>) -> Result<(f64, Vec<f64>)> {
        let (f, g, _) = self.loss_grads(x, false)?;
        Ok((f, g))
    }

    /// [`ListaNet::loss_grad`] and also the gradient of the loss with respect to the dictionary
    /// `D` (n × m): through the decoder `½‖x − Dz_T‖²` for every network and, for ISTA and SLISTA
    /// (whose layers apply `D`), through every layer as well.
    ///
    /// # Errors
    /// Shapes, non-finite signals; ALISTA (its W is a function of D whose derivative is not
    /// implemented: use SLISTA or LISTA to learn a dictionary).
    pub fn loss_grad_dict(&self, x: ArrayView2<'_, f64>) -> Result<(f64, Vec<f64>, Array2<f64>)> {
        if self.kind == ListaKind::Alista {
            return Err(Error::invalid(
                "network",
                "ALISTA",
                "SLISTA or LISTA to learn a dictionary (ALISTA's analytic W depends on D; its derivative is not implemented)",
            ));
        }
        let (f, g, d) = self.loss_grads(x, true)?;
        Ok((f, g, d.expect("requested")))
    }

    fn loss_grads(
        &self,
        x: ArrayView2<'_, f64>,
        with_dict: bool,
    ) -> Result<(f64, Vec<f64>, Option<Array2<f64>>)> {
        self.check_x(x)?;
        let (b, c) = self.bc(x);
        let b = b.clone();
        let zs = self.forward(x, &c, &b);
        let nn = x.ncols() as f64;
        let z_t = zs.last().expect("T ≥ 1");
        let (f, r) = self.objective_of(x, z_t);
        let m = self.dict.ncols();
        // ḡ_T = Dᵀ r + λ sign z_T  (sample means: divide by N)
        let mut gbar = Array2::zeros((m, x.ncols()));
        gemm_into(
            gbar.view_mut(),
            1.0 / nn,
            self.dict.view(),
            true,
            r.view(),
            false,
            0.0,
            par(),
        );
        let l_over_n = self.lambda / nn;
        Zip::from(&mut gbar).and(z_t).par_for_each(|g, &z| {
            if z != 0.0 {
                *g += l_over_n * z.signum();
            }
        });
        // dictionary: decoder path r z_Tᵀ / N; the layers' path −D(P + Pᵀ) + X Qᵀ with
        // P = Σ_t α_t z_{t−1} ū_tᵀ and Q = Σ_t α_t ū_t (ū already carries 1/N)
        let through_layers = with_dict && matches!(self.kind, ListaKind::Ista | ListaKind::Slista);
        let mut dd = with_dict.then(|| {
            let mut g = Array2::zeros(self.dict.raw_dim());
            gemm_into(
                g.view_mut(),
                1.0 / nn,
                r.view(),
                false,
                z_t.view(),
                true,
                0.0,
                par(),
            );
            g
        });
        let mut p_acc = Array2::<f64>::zeros(if through_layers { (m, m) } else { (0, 0) });
        let mut q_acc = Array2::<f64>::zeros(if through_layers {
            (m, x.ncols())
        } else {
            (0, 0)
        });
        let mut grads: Vec<LayerGrad> = Vec::with_capacity(self.layers.len());
        for t in (0..self.layers.len()).rev() {
            let l = &self.layers[t];
            let zt = &zs[t];
            let zprev = if t > 0 { Some(&zs[t - 1]) } else { None };
            Zip::from(&mut gbar).and(zt).par_for_each(|g, &z| {
                if z == 0.0 {
                    *g = 0.0;
                }
            });
            let ubar = &gbar;
            let dthr = -Zip::from(ubar)
                .and(zt)
                .fold(0.0, |a, &u, &z| a + u * z.signum());
            let mut lg = LayerGrad {
                dthr,
                ..Default::default()
            };
            match self.kind {
                ListaKind::Lista => {
                    let mut dwe = Array2::zeros(l.we.raw_dim());
                    gemm_into(dwe.view_mut(), 1.0, ubar.view(), false, x, true, 0.0, par());
                    let mut ds = Array2::zeros(l.s.raw_dim());
                    if let Some(zp) = zprev {
                        gemm_into(
                            ds.view_mut(),
                            1.0,
                            ubar.view(),
                            false,
                            zp.view(),
                            true,
                            0.0,
                            par(),
                        );
                    }
                    lg.dwe = dwe;
                    lg.ds = ds;
                    if t > 0 {
                        let mut next = Array2::zeros(gbar.raw_dim());
                        gemm_into(
                            next.view_mut(),
                            1.0,
                            l.s.view(),
                            true,
                            ubar.view(),
                            false,
                            0.0,
                            par(),
                        );
                        gbar = next;
                    }
                }
                _ => {
                    if through_layers {
                        q_acc.scaled_add(l.step, ubar);
                        if let Some(zp) = zprev {
                            gemm_into(
                                p_acc.view_mut(),
                                l.step,
                                zp.view(),
                                false,
                                ubar.view(),
                                true,
                                1.0,
                                par(),
                            );
                        }
                    }
                    // the step's own derivative: −Σ ū ⊙ (B z_{t−1} − c)
                    let mut bz = c.clone();
                    bz *= -1.0;
                    if let Some(zp) = zprev {
                        gemm_into(
                            bz.view_mut(),
                            1.0,
                            b.view(),
                            false,
                            zp.view(),
                            false,
                            1.0,
                            par(),
                        );
                    }
                    lg.dstep = -Zip::from(ubar).and(&bz).fold(0.0, |a, &u, &v| a + u * v);
                    if t > 0 {
                        // ḡ_{t−1} = ū − step Bᵀ ū
                        let mut next = ubar.clone();
                        gemm_into(
                            next.view_mut(),
                            -l.step,
                            b.view(),
                            true,
                            ubar.view(),
                            false,
                            1.0,
                            par(),
                        );
                        gbar = next;
                    }
                }
            }
            grads.push(lg);
        }
        grads.reverse();
        if let (true, Some(g)) = (through_layers, dd.as_mut()) {
            let sym = &p_acc + &p_acc.t();
            gemm_into(
                g.view_mut(),
                -1.0,
                self.dict.view(),
                false,
                sym.view(),
                false,
                1.0,
                par(),
            );
            gemm_into(g.view_mut(), 1.0, x, false, q_acc.view(), true, 1.0, par());
        }
        let mut flat = Vec::new();
        for g in grads {
            match self.kind {
                ListaKind::Ista => {}
                ListaKind::Slista => flat.push(g.dstep + self.lambda * g.dthr),
                ListaKind::Alista => {
                    flat.push(g.dstep);
                    flat.push(g.dthr);
                }
                ListaKind::Lista => {
                    flat.extend(g.dwe.iter());
                    flat.extend(g.ds.iter());
                    flat.push(g.dthr);
                }
            }
        }
        Ok((f, flat, dd))
    }

    /// Replace the dictionary (same shape), recomputing what the layers derive from it (DᵀD; ALISTA's
    /// W and WᵀD). LISTA's learned matrices are left as they are.
    ///
    /// # Errors
    /// A different shape, non-finite entries, zero atoms; (ALISTA) D not spanning ℝⁿ.
    pub fn set_dict(&mut self, d: Array2<f64>) -> Result<()> {
        if d.dim() != self.dict.dim() {
            return Err(Error::shape("dictionary", self.dict.dim(), d.dim()));
        }
        crate::code::check_problem(d.view(), Array2::zeros((d.nrows(), 1)).view())?;
        self.gram = gram(d.view(), par());
        if self.kind == ListaKind::Alista {
            self.w = alista_weight(d.view())?;
            gemm_into(
                self.wtd.view_mut(),
                1.0,
                self.w.view(),
                true,
                d.view(),
                false,
                0.0,
                par(),
            );
        }
        self.dict = d;
        Ok(())
    }

    /// The learned parameters, layer by layer: SLISTA `[α_t]`, ALISTA `[γ_t, θ_t]`, LISTA
    /// `[W_e^t (row-major), S^t (row-major), θ_t]`; ISTA has none.
    pub fn to_flat(&self) -> Vec<f64> {
        let mut v = Vec::new();
        for l in &self.layers {
            match self.kind {
                ListaKind::Ista => {}
                ListaKind::Slista => v.push(l.step),
                ListaKind::Alista => {
                    v.push(l.step);
                    v.push(l.theta);
                }
                ListaKind::Lista => {
                    v.extend(l.we.iter());
                    v.extend(l.s.iter());
                    v.push(l.theta);
                }
            }
        }
        v
    }

    /// The number of learned parameters (the length of [`ListaNet::to_flat`]).
    pub fn n_params(&self) -> usize {
        self.layers
            .iter()
            .map(|l| match self.kind {
                ListaKind::Ista => 0,
                ListaKind::Slista => 1,
                ListaKind::Alista => 2,
                ListaKind::Lista => l.we.len() + l.s.len() + 1,
            })
            .sum()
    }

    /// Set the learned parameters from [`ListaNet::to_flat`]'s layout.
    ///
    /// # Errors
    /// A vector of the wrong length.
    pub fn set_flat(&mut self, v: &[f64]) -> Result<()> {
        let want = self.n_params();
        if v.len() != want {
            return Err(Error::shape("flat parameters", (want, 1), (v.len(), 1)));
        }
        let mut i = 0;
        let kind = self.kind;
        for l in &mut self.layers {
            match kind {
                ListaKind::Ista => {}
                ListaKind::Slista => {
                    l.step = v[i];
                    i += 1;
                }
                ListaKind::Alista => {
                    l.step = v[i];
                    l.theta = v[i + 1];
                    i += 2;
                }
                ListaKind::Lista => {
                    for x in l.we.iter_mut().chain(l.s.iter_mut()) {
                        *x = v[i];
                        i += 1;
                    }
                    l.theta = v[i];
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// One Adam update of the learned parameters with gradient `g` ([`ListaNet::to_flat`]'s
    /// layout), steps and thresholds clipped at 0 afterwards.
    fn adam_step(&mut self, adam: &mut Adam, g: &[f64]) -> Result<()> {
        let mut p = self.to_flat();
        adam.step(&mut p, g);
        self.set_flat(&p)?;
        self.clip();
        Ok(())
    }

    /// Clip steps and thresholds at 0 (after an optimizer step).
    fn clip(&mut self) {
        for l in &mut self.layers {
            l.step = l.step.max(0.0);
            l.theta = l.theta.max(0.0);
        }
    }

    /// SLISTA-E2: per layer, the relative distance of LISTA's W_e^t to its best multiple of Dᵀ,
    /// `min_a ‖W_e^t − a Dᵀ‖_F / ‖W_e^t‖_F` (empty for the other networks).
    pub fn we_distance_to_dt(&self) -> Vec<f64> {
        if self.kind != ListaKind::Lista {
            return vec![];
        }
        let dt = self.dict.t();
        let dd = dt.iter().map(|v| v * v).sum::<f64>();
        self.layers
            .iter()
            .map(|l| {
                let a = Zip::from(&l.we).and(&dt).fold(0.0, |s, &w, &d| s + w * d) / dd;
                let e = Zip::from(&l.we)
                    .and(&dt)
                    .fold(0.0, |s, &w, &d| s + (w - a * d).powi(2));
                let n = l.we.iter().map(|v| v * v).sum::<f64>();
                (e / n.max(1e-300)).sqrt()
            })
            .collect()
    }
}

#[derive(Default)]
struct LayerGrad {
    dwe: Array2<f64>,
    ds: Array2<f64>,
    dstep: f64,
    dthr: f64,
}

/// Unsupervised Adam training of a [`ListaNet`] on the Lasso objective.
#[derive(Clone, Debug, PartialEq)]
pub struct ListaTrainer {
    /// Adam steps.
    pub steps: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Adam step size.
    pub lr: f64,
}

impl Default for ListaTrainer {
    /// 3000 steps (Ablin et al.'s count), batches of 256, lr 10⁻³.
    fn default() -> Self {
        ListaTrainer {
            steps: 3000,
            batch: 256,
            lr: 1e-3,
        }
    }
}

/// Training state.
#[derive(Clone, Debug)]
pub struct ListaState {
    /// The network.
    pub net: ListaNet,
    /// Loss of the last minibatch.
    pub loss: f64,
    adam: Adam,
    rng: Rng64,
}

impl ListaTrainer {
    /// Train `net` on the columns of `x` (n × N); `seed` draws the minibatches.
    ///
    /// # Errors
    /// Invalid parameters, shapes, non-finite signals. Divergence is a `NonFinite` termination.
    pub fn train(
        &self,
        net: ListaNet,
        x: ArrayView2<'_, f64>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<ListaState>,
    ) -> Result<(ListaState, SolveInfo)> {
        crate::neural::optim::check_minibatch(self.batch, self.lr)?;
        net.check_x(x)?;
        let loss = net
            .loss_grad(x.slice(ndarray::s![.., ..self.batch.min(x.ncols())]))?
            .0;
        let state = ListaState {
            net,
            loss,
            adam: Adam::new(self.lr),
            rng: rng_from_seed(seed),
        };
        let mut alg = ListaIter {
            x: x.to_owned(),
            batch: self.batch.min(x.ncols()),
        };
        iter::run(&mut alg, state, &Stop::iters(self.steps), schedule, obs)
    }
}

struct ListaIter {
    x: Array2<f64>,
    batch: usize,
}

impl Iterative for ListaIter {
    type State = ListaState;
    fn step(&mut self, s: &mut ListaState) -> Result<()> {
        if s.net.kind == ListaKind::Ista {
            return Ok(());
        }
        let xb = crate::neural::optim::sample_columns(self.x.view(), self.batch, &mut s.rng);
        let (f, g) = s.net.loss_grad(xb.view())?;
        s.loss = f;
        if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
            s.loss = f64::NAN;
            return Ok(());
        }
        s.net.adam_step(&mut s.adam, &g)
    }
    fn objective(&self, s: &ListaState) -> f64 {
        s.loss
    }
    fn record(&self, s: &ListaState, rec: &mut Record) {
        rec.set("batch_loss", s.loss);
    }
}

crate::declare_method! {
    /// Dictionary learning with a LISTA-type encoder (the "LISTA-based learners" of docs/protocols.md §6):
    /// the network's learned parameters and the dictionary `D` are trained jointly by Adam on the
    /// Lasso objective of the network's codes, `(1/N) Σ ½‖y − D z_T(y; D, Θ)‖² + λ‖z_T‖₁`.
    ///
    /// * SLISTA: the encoder is tied to `D` (layers `z_t = S_{λα_t}(z_{t−1} − α_tDᵀ(Dz_{t−1} − y))`),
    ///   so the dictionary gradient flows through the decoder and every layer — PUDLE's `g_ae_lasso`
    ///   with learned steps; CRsAE's tied encoder/decoder with ISTA layers.
    /// * LISTA: the encoder's `W_e^t, S^t, θ_t` are free (amortized sparse coding, as in predictive
    ///   sparse decomposition); `D` gets the decoder gradient with the encoder's codes.
    ///
    /// After each step the columns of `D` are renormalized to unit norm and what the layers derive
    /// from `D` is recomputed ([`ListaNet::set_dict`]).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ListaDl {
        given {}
        params {
            /// Adam steps
            steps: usize = param(Count, 1000);
            /// signals per minibatch
            batch: usize = param(Count, 256);
            /// Adam step size of the network
            lr: f64 = param(Positive, 1e-3);
            /// Adam step size of D
            lr_dict: f64 = param(Positive, 1e-3);
        }
    }
}

impl Default for ListaDl {
    /// 1000 steps, batches of 256, lr 10⁻³ for the network and for the dictionary.
    fn default() -> Self {
        Self::new()
    }
}

/// Training state of [`ListaDl`].
#[derive(Clone, Debug)]
pub struct ListaDlState {
    /// The network (its `dict` is the learned dictionary).
    pub net: ListaNet,
    /// Loss of the last minibatch.
    pub loss: f64,
    adam: Adam,
    adam_dict: Adam,
    rng: Rng64,
}

impl ListaDl {
    /// Train `net` (its dictionary is the start) on the columns of `y`; `seed` draws the
    /// minibatches.
    ///
    /// # Errors
    /// Invalid parameters, shapes, non-finite signals, ALISTA. Divergence is a `NonFinite`
    /// termination with the last finite state kept.
    pub fn train(
        &self,
        net: ListaNet,
        y: ArrayView2<'_, f64>,
        seed: u64,
        schedule: Schedule,
        obs: &mut dyn Observer<ListaDlState>,
    ) -> Result<(ListaDlState, SolveInfo)> {
        self.check_params()?;
        crate::neural::optim::check_minibatch(self.batch, self.lr)?;
        let batch = self.batch.min(y.ncols().max(1));
        net.check_x(y)?;
        let loss = net.loss_grad_dict(y.slice(ndarray::s![.., ..batch]))?.0;
        let state = ListaDlState {
            net,
            loss,
            adam: Adam::new(self.lr),
            adam_dict: Adam::new(self.lr_dict),
            rng: rng_from_seed(seed),
        };
        let mut alg = ListaDlIter {
            y: y.to_owned(),
            batch,
        };
        iter::run(&mut alg, state, &Stop::iters(self.steps), schedule, obs)
    }
}

struct ListaDlIter {
    y: Array2<f64>,
    batch: usize,
}

impl Iterative for ListaDlIter {
    type State = ListaDlState;
    fn step(&mut self, s: &mut ListaDlState) -> Result<()> {
        let yb = crate::neural::optim::sample_columns(self.y.view(), self.batch, &mut s.rng);
        let (f, g, gd) = s.net.loss_grad_dict(yb.view())?;
        if !f.is_finite() || g.iter().chain(gd.iter()).any(|v| !v.is_finite()) {
            s.loss = f64::NAN;
            return Ok(());
        }
        s.loss = f;
        if !g.is_empty() {
            s.net.adam_step(&mut s.adam, &g)?;
        }
        let mut d = s.net.dict.clone();
        let flat = d.as_slice_mut().expect("owned standard layout");
        s.adam_dict
            .step(flat, gd.as_slice().expect("owned standard layout"));
        crate::generate::dictionary::normalize_nonzero_columns(&mut d);
        if d.columns().into_iter().any(|c| c.iter().all(|v| *v == 0.0)) {
            // an atom collapsed to zero: keep the previous dictionary, report divergence
            s.loss = f64::NAN;
            return Ok(());
        }
        s.net.set_dict(d)
    }
    fn objective(&self, s: &ListaDlState) -> f64 {
        s.loss
    }
    fn record(&self, s: &ListaDlState, rec: &mut Record) {
        rec.set("batch_loss", s.loss);
    }
}
