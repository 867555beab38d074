//! Convolutional sparse coding: FISTA with FFT-based convolutions.
//!
//! For each signal $y_i$ (P × T) and fixed atoms $d_k$ (P × L), the convolutional Lasso
//! $$\min_{z}\ F(z) = \tfrac12\Big\|y_i - \sum_{k=1}^K d_k * z_k\Big\|_F^2 + \lambda \|z\|_1
//!   \qquad(\text{optionally } z \ge 0),$$
//! solved by FISTA (Beck & Teboulle 2009, eq. (4.1)–(4.3)) with O'Donoghue & Candès' (2015)
//! gradient-based adaptive restart, per signal, all signals in parallel. The operator
//! $z \mapsto \sum_k d_k * z_k$ and its adjoint $r \mapsto (\sum_c d_{kc} \star r_c)_k$ are products in the
//! DFT domain (real FFTs of a length F ≥ T with only factors 2, 3, 5): with the valid boundary
//! the linear convolution has length T ≤ F, so zero-padding makes the circular products exact; with
//! the circular boundary F = T. The step is 1/L with $L = \max_\omega \sigma_{\max}(\hat D(\omega))^2$, $\hat D(\omega)$
//! the P × K matrix of the atoms' spectra at frequency ω (exact for P = 1 or K = 1; power iteration
//! with a 1 % margin otherwise).
//!
//! Stopping: the duality gap of the Lasso (as sporco's and alphacsc's solvers report it) —
//! $\theta = s\,(y - Dz)$ with $s = \min(1, \lambda / \|D^\top(y - Dz)\|_\infty)$ (for z ≥ 0, the largest
//! positive entry), $G = F(z) - (\tfrac12\|y\|^2 - \tfrac12\|y - \theta\|^2)$, summed over signals and
//! computed every `check_every` iterations; the run stops when $G \le$ `tol` · ½‖Y‖².
//!
//! ## References
//! * Beck, Teboulle (2009), "A fast iterative shrinkage-thresholding algorithm for linear inverse
//!   problems", SIAM J. Imaging Sci. 2(1), eq. (4.1)–(4.3).
//! * O'Donoghue, Candès (2015), "Adaptive restart for accelerated gradient schemes", FoCM 15, §3.2.
//! * Wohlberg (2016), "Efficient algorithms for convolutional sparse representations", IEEE TIP
//!   25(1), eq. (2) (the problem; sporco's `ConvBPDN`).

use super::ConvCoderSpec;
use super::problem::Boundary;
use crate::error::{Result, ensure};
use crate::iter::{self, Criterion, Iterative, NoObserver, Record, Schedule, Stop, Termination};
use crate::spec::{Dflt, Param, Ty};
use ndarray::{Array2, Array3, ArrayView3, Axis, Zip};
use super::fft::{Dims, Fft2, FftScratch, Grid};
use realfft::num_complex::Complex;

pub(super) type C64 = Complex<f64>;

/// The smallest n' ≥ n whose only prime factors are 2, 3 and 5 (fast FFT lengths).
pub fn fast_len(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut r = m;
        for f in [2, 3, 5] {
            while r.is_multiple_of(f) {
                r /= f;
            }
        }
        if r == 1 {
            return m;
        }
        m += 1;
    }
}

/// The DFT length of the products with signals of `n_times` samples: T itself for the circular
/// boundary; for the valid one the smallest 2·3·5-smooth length ≥ T, where the zero-padded circular
/// products are the linear convolutions (which have exactly T samples).
pub fn dft_len(n_times: usize, boundary: Boundary) -> usize {
    match boundary {
        Boundary::Valid => fast_len(n_times),
        Boundary::Circular => n_times,
    }
}

/// The convolution operator of fixed atoms in the DFT domain (1-D signals or images, [`Grid`]).
pub struct ConvOp {
    k: usize,
    p: usize,
    tz: usize,
    /// Activation map rows × columns (1 × T_z for 1-D signals).
    zshape: (usize, usize),
    dims: Dims,
    f: usize,
    nf: usize,
    /// Atom spectra, index (k · P + c) · nf + j.
    dhat: Vec<C64>,
    fft: Fft2,
    /// L = max_ω σ_max(D̂(ω))².
    pub lipschitz: f64,
}

/// Per-thread buffers of [`ConvOp`].
pub struct Scratch {
    spec: Vec<C64>,
    fft: FftScratch,
    /// Σ_k D̂_kc Ẑ_k for every channel, P · nf.
    sum: Vec<C64>,
}

impl ConvOp {
    /// The operator of atoms `d` (K × P × L) on 1-D signals of `n_times` samples.
    ///
    /// # Errors
    /// Atoms longer than the signal, empty or non-finite atoms.
    pub fn new(d: ArrayView3<'_, f64>, n_times: usize, boundary: Boundary) -> Result<Self> {
        Self::on_grid(d, n_times, Grid::LINE, boundary)
    }

    /// The operator of atoms `d` (K × P × L, L = Lh · Lw flattened) on signals of `n_samples`
    /// (H · W flattened) laid out by `grid`.
    ///
    /// # Errors
    /// Atoms larger than the signals, lengths the grid does not divide, empty or non-finite atoms.
    pub fn on_grid(
        d: ArrayView3<'_, f64>,
        n_samples: usize,
        grid: Grid,
        boundary: Boundary,
    ) -> Result<Self> {
        let (k, p, l) = d.dim();
        ensure!(
            k >= 1 && p >= 1 && l >= 1,
            "atoms",
            format!("{k} × {p} × {l}"),
            "K, P, L ≥ 1 (atoms are K × P × L)"
        );
        ensure!(
            l <= n_samples,
            "atom_len",
            l,
            format!("atoms no longer than the signals (L ≤ T = {n_samples})")
        );
        let dims = grid.dims(n_samples, l)?;
        ensure!(
            d.iter().all(|v| v.is_finite()),
            "atoms",
            "non-finite entries",
            "finite atoms"
        );
        let fft = Fft2::new(dft_len(dims.h, boundary), dft_len(dims.w, boundary))?;
        let (f, nf) = (fft.len(), fft.n_freq());
        let mut dhat = vec![C64::new(0.0, 0.0); k * p * nf];
        let mut sc = fft.scratch();
        for j in 0..k {
            for c in 0..p {
                let row = d.slice(ndarray::s![j, c, ..]);
                let out = &mut dhat[(j * p + c) * nf..(j * p + c + 1) * nf];
                fft.forward(dims.lh, dims.lw, |r, s| row[r * dims.lw + s], out, &mut sc);
            }
        }
        let zshape = dims.acts(boundary);
        let mut op = ConvOp {
            k,
            p,
            tz: zshape.0 * zshape.1,
            zshape,
            dims,
            f,
            nf,
            dhat,
            fft,
            lipschitz: 0.0,
        };
        op.lipschitz = op.spectral_norm2();
        Ok(op)
    }

    /// Activation length T_z (flattened: rows × columns of the activation map for images).
    pub fn n_acts(&self) -> usize {
        self.tz
    }

    /// The shapes of signals and atoms.
    pub fn shape(&self) -> Dims {
        self.dims
    }

    fn at(&self, k: usize, c: usize, j: usize) -> C64 {
        self.dhat[(k * self.p + c) * self.nf + j]
    }

    /// max_ω σ_max(D̂(ω))².
    fn spectral_norm2(&self) -> f64 {
        let (k, p) = (self.k, self.p);
        let mut best: f64 = 0.0;
        for j in 0..self.nf {
            let s = if p == 1 || k == 1 {
                (0..k)
                    .flat_map(|a| (0..p).map(move |c| (a, c)))
                    .map(|(a, c)| self.at(a, c, j).norm_sqr())
                    .sum::<f64>()
            } else {
                // power iteration on D̂ᴴD̂ (K × K)
                let mut v = vec![C64::new(1.0, 0.0); k];
                let mut lam = 0.0;
                for _ in 0..100 {
                    let u: Vec<C64> = (0..p)
                        .map(|c| (0..k).map(|a| self.at(a, c, j) * v[a]).sum())
                        .collect();
                    let w: Vec<C64> = (0..k)
                        .map(|a| (0..p).map(|c| self.at(a, c, j).conj() * u[c]).sum())
                        .collect();
                    let nw = w.iter().map(|x| x.norm_sqr()).sum::<f64>().sqrt();
                    let nv = v.iter().map(|x| x.norm_sqr()).sum::<f64>().sqrt();
                    if nw == 0.0 {
                        lam = 0.0;
                        break;
                    }
                    lam = nw / nv.max(f64::MIN_POSITIVE);
                    v = w.into_iter().map(|x| x / nw).collect();
                }
                lam * 1.01
            };
            best = best.max(s);
        }
        best
    }

    /// Buffers for one thread.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            spec: vec![C64::new(0.0, 0.0); self.nf],
            fft: self.fft.scratch(),
            sum: vec![C64::new(0.0, 0.0); self.p * self.nf],
        }
    }

    /// Spectra of the channels of `y` (P × T), zero-padded: P · nf.
    pub fn signal_spectrum(&self, y: ndarray::ArrayView2<'_, f64>, sc: &mut Scratch) -> Vec<C64> {
        let mut out = vec![C64::new(0.0, 0.0); self.p * self.nf];
        let (h, w) = (self.dims.h, self.dims.w);
        for c in 0..self.p {
            let row = y.row(c);
            let o = &mut out[c * self.nf..(c + 1) * self.nf];
            self.fft.forward(h, w, |r, s| row[r * w + s], o, &mut sc.fft);
        }
        out
    }

    /// sc.sum ← spectrum of Σ_k d_k * z_k for activations `z` (K × T_z).
    pub fn forward(&self, z: ndarray::ArrayView2<'_, f64>, sc: &mut Scratch) {
        sc.sum.iter_mut().for_each(|v| *v = C64::new(0.0, 0.0));
        let (zh, zw) = self.zshape;
        for a in 0..self.k {
            let row = z.row(a);
            if row.iter().all(|v| *v == 0.0) {
                continue;
            }
            self.fft
                .forward(zh, zw, |r, s| row[r * zw + s], &mut sc.spec, &mut sc.fft);
            for c in 0..self.p {
                let d = &self.dhat[(a * self.p + c) * self.nf..(a * self.p + c + 1) * self.nf];
                let s = &mut sc.sum[c * self.nf..(c + 1) * self.nf];
                for j in 0..self.nf {
                    s[j] += d[j] * sc.spec[j];
                }
            }
        }
    }

    /// `g` (K × T_z) ← Dᵀ r for the residual spectrum `r` (P · nf).
    pub fn adjoint(&self, r: &[C64], g: &mut ndarray::ArrayViewMut2<'_, f64>, sc: &mut Scratch) {
        let Scratch { spec, fft, .. } = sc;
        self.adjoint_with(r, g, spec, fft);
    }

    /// `g` ← Dᵀ r with r the spectrum held in `sc.sum` (what [`ConvOp::forward`] filled, turned into
    /// a residual in place): no copy of the residual.
    pub(super) fn adjoint_of_sum(&self, g: &mut ndarray::ArrayViewMut2<'_, f64>, sc: &mut Scratch) {
        let Scratch { spec, fft, sum } = sc;
        self.adjoint_with(sum, g, spec, fft);
    }

    fn adjoint_with(
        &self,
        r: &[C64],
        g: &mut ndarray::ArrayViewMut2<'_, f64>,
        spec: &mut [C64],
        fft: &mut FftScratch,
    ) {
        let scale = 1.0 / self.f as f64;
        let (zh, zw) = self.zshape;
        for a in 0..self.k {
            spec.iter_mut().for_each(|v| *v = C64::new(0.0, 0.0));
            for c in 0..self.p {
                let d = &self.dhat[(a * self.p + c) * self.nf..(a * self.p + c + 1) * self.nf];
                let rc = &r[c * self.nf..(c + 1) * self.nf];
                for j in 0..self.nf {
                    spec[j] += d[j].conj() * rc[j];
                }
            }
            let mut row = g.row_mut(a);
            self.fft
                .inverse(spec, zh, zw, |i, s, v| row[i * zw + s] = v * scale, fft);
        }
    }

    /// (K, P, F, number of frequencies).
    pub(super) fn dims(&self) -> (usize, usize, usize, usize) {
        (self.k, self.p, self.f, self.nf)
    }

    /// The atom spectrum D̂_kc at frequency `j`.
    pub(super) fn spectrum_at(&self, k: usize, c: usize, j: usize) -> C64 {
        self.at(k, c, j)
    }

    /// Half spectrum of one activation row (T_z, zero-padded) into `out` (nf).
    pub(super) fn rfft_row(
        &self,
        x: ndarray::ArrayView1<'_, f64>,
        out: &mut [C64],
        sc: &mut Scratch,
    ) {
        let (zh, zw) = self.zshape;
        self.fft
            .forward(zh, zw, |r, s| x[r * zw + s], out, &mut sc.fft);
    }

    /// The activation row (T_z) of half spectrum `spec` (nf; overwritten) into `out`, scaled so
    /// that `irfft_row(rfft_row(x)) = x`.
    pub(super) fn irfft_row(
        &self,
        spec: &mut [C64],
        mut out: ndarray::ArrayViewMut1<'_, f64>,
        sc: &mut Scratch,
    ) {
        let scale = 1.0 / self.f as f64;
        let (zh, zw) = self.zshape;
        self.fft
            .inverse(spec, zh, zw, |r, s, v| out[r * zw + s] = v * scale, &mut sc.fft);
    }

    /// ⟨a, b⟩ of two real signals from their half spectra (Parseval).
    pub fn inner(&self, a: &[C64], b: &[C64]) -> f64 {
        let mut s = 0.0;
        for c in 0..self.p {
            for j in 0..self.nf {
                let (x, y) = (a[c * self.nf + j], b[c * self.nf + j]);
                s += self.fft.weight(j) * (x.re * y.re + x.im * y.im);
            }
        }
        s / self.f as f64
    }
}

/// The parameter `lambda` of the convolutional coders.
pub const CONV_LAMBDA: Param = Param::new(
    "lambda",
    Ty::Positive,
    Dflt::Required,
    "ℓ1 penalty λ (λ ≥ max|Dᵀy| gives the all-zero code)",
);

crate::declare_method! {
    /// Convolutional FISTA with FFT products (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ConvFista {
        given {
            /// ℓ1 penalty λ
            lambda: f64 = [CONV_LAMBDA] => |p, _ctx| p.f64("lambda")?;
        }
        params {
            /// non-negative activations (z ≥ 0)
            nonneg: bool = param(Bool, false);
            /// iteration cap
            max_iters: usize = param(Count, 1000);
            /// stop when the duality gap ≤ tol · ½‖Y‖²
            tol: f64 = param(NonNegative, 1e-8);
            /// iterations between two duality-gap evaluations
            check_every: usize = param(Count, 10);
        }
    }
}

/// The registry entry of [`ConvFista`].
pub const SPEC: ConvCoderSpec = ConvCoderSpec {
    name: "conv_fista",
    family: crate::spec::Family::Coder,
    summary: "Convolutional FISTA (Beck & Teboulle 2009) with FFT products and gradient restart; stops on the Lasso duality gap",
    params: ConvFista::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(ConvFista::from_params(p, ctx)?)),
};

impl super::ConvCoder for ConvFista {
    fn name(&self) -> String {
        format!("conv_fista[lambda={}]", self.lambda)
    }
    fn encode(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        ConvFista::encode_on(self, d, y, Grid::LINE, boundary, warm)
    }
    fn encode_on(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        grid: Grid,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        ConvFista::encode_on(self, d, y, grid, boundary, warm)
    }
}

/// Activations and diagnostics of a convolutional coder.
#[derive(Clone, Debug)]
pub struct ConvEncoding {
    /// z (N × K × T_z).
    pub acts: Array3<f64>,
    /// Iterations.
    pub iters: usize,
    /// Why it stopped.
    pub termination: Termination,
    /// F(z) summed over signals.
    pub objective: f64,
    /// Duality gap / (½‖Y‖²) at the end.
    pub rel_gap: f64,
    /// Seconds.
    pub elapsed: f64,
}

/// One signal's FISTA iterate.
struct Signal {
    yspec: Vec<C64>,
    z: Array2<f64>,
    w: Array2<f64>,
    /// The next iterate, written each step and swapped with `z` (no allocation per step).
    next: Array2<f64>,
    t: f64,
}

struct FistaState {
    sig: Vec<Signal>,
    objective: f64,
    gap: f64,
    half_yy: f64,
    iter: usize,
}

struct FistaAlg {
    op: ConvOp,
    lambda: f64,
    nonneg: bool,
    check_every: usize,
    tol: f64,
}

/// The operator of atoms `d` on signals `y` after the checks every convolutional coder makes:
/// the same channel count, finite signals, a warm start of shape N × K × T_z, and the memory of
/// `arrays` activation-sized f64 arrays (the error names `what`).
///
/// # Errors
/// As listed, and as [`ConvOp::new`].
pub(super) fn checked_op(
    d: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    grid: Grid,
    boundary: Boundary,
    warm: Option<ArrayView3<'_, f64>>,
    what: &str,
    arrays: u128,
) -> Result<ConvOp> {
    let (n, p, t) = y.dim();
    ensure!(
        d.dim().1 == p,
        "atoms",
        format!("{} channels", d.dim().1),
        format!("the signals' P = {p} channels (atoms K × P × L, signals N × P × T)")
    );
    ensure!(
        y.iter().all(|v| v.is_finite()),
        "signals",
        "non-finite entries",
        "finite signals"
    );
    let op = ConvOp::on_grid(d, t, grid, boundary)?;
    let (k, tz) = (op.k, op.tz);
    if let Some(w) = warm {
        ensure!(
            w.dim() == (n, k, tz),
            "warm start",
            format!("{:?}", w.dim()),
            format!("activations N × K × T_z = ({n}, {k}, {tz})")
        );
    }
    crate::mem::check(
        format!("{what} on {n} signals × {k} atoms × {tz} activations"),
        8 * arrays * (n as u128) * (k as u128) * (tz as u128),
    )?;
    Ok(op)
}

/// (F(z), the Lasso dual objective at the scaled residual) of one signal with spectrum `yspec`
/// and activations `z` (K × T_z): the duality gap is their difference (module doc). `g` (K × T_z)
/// is scratch.
pub(super) fn primal_dual(
    op: &ConvOp,
    lambda: f64,
    nonneg: bool,
    yspec: &[C64],
    z: ndarray::ArrayView2<'_, f64>,
    sc: &mut Scratch,
    g: &mut Array2<f64>,
) -> (f64, f64) {
    op.forward(z, sc);
    // r' = y − Dz in the DFT domain, in place of Dz
    sc.sum.iter_mut().zip(yspec).for_each(|(v, y)| *v = y - *v);
    let rr = op.inner(&sc.sum, &sc.sum);
    let l1: f64 = z.iter().map(|v| v.abs()).sum();
    let primal = 0.5 * rr + lambda * l1;
    let yr = op.inner(yspec, &sc.sum);
    op.adjoint_of_sum(&mut g.view_mut(), sc);
    let top = if nonneg {
        g.iter().fold(0.0f64, |m, v| m.max(*v))
    } else {
        g.iter().fold(0.0f64, |m, v| m.max(v.abs()))
    };
    let scale = if top > lambda { lambda / top } else { 1.0 };
    // ½‖y‖² − ½‖y − s r'‖² = s⟨y, r'⟩ − ½ s²‖r'‖²
    let dual = scale * yr - 0.5 * scale * scale * rr;
    (primal, dual)
}

/// F summed over `n` signals and the duality gap relative to ½‖Y‖² (`half_yy`), from `one(i, …)`
/// = [`primal_dual`] of signal i, evaluated in parallel with per-thread scratch (`g`: K × T_z).
/// The one gap evaluation of the convolutional coders.
pub(super) fn objective_and_gap<F>(op: &ConvOp, n: usize, half_yy: f64, one: F) -> (f64, f64)
where
    F: Fn(usize, &mut Scratch, &mut Array2<f64>) -> (f64, f64) + Sync,
{
    use rayon::prelude::*;
    let (k, tz) = (op.k, op.tz);
    // collected, then summed in signal order: the same bits on any thread count
    let pd: Vec<(f64, f64)> = (0..n)
        .into_par_iter()
        .map_init(
            || (op.scratch(), Array2::zeros((k, tz))),
            |(sc, g), i| one(i, sc, g),
        )
        .collect();
    let objective: f64 = pd.iter().map(|x| x.0).sum();
    let dual: f64 = pd.iter().map(|x| x.1).sum();
    let gap = (objective - dual).max(0.0) / half_yy.max(f64::MIN_POSITIVE);
    (objective, gap)
}

impl FistaAlg {
    fn evaluate(&self, st: &mut FistaState) {
        let (op, sig) = (&self.op, &st.sig);
        (st.objective, st.gap) = objective_and_gap(op, sig.len(), st.half_yy, |i, sc, g| {
            primal_dual(
                op,
                self.lambda,
                self.nonneg,
                &sig[i].yspec,
                sig[i].z.view(),
                sc,
                g,
            )
        });
    }
}

impl Iterative for FistaAlg {
    type State = FistaState;
    fn step(&mut self, st: &mut FistaState) -> Result<()> {
        use rayon::prelude::*;
        let (k, tz) = (self.op.k, self.op.tz);
        let step = 1.0 / self.op.lipschitz.max(f64::MIN_POSITIVE);
        let thr = self.lambda * step;
        let nonneg = self.nonneg;
        let op = &self.op;
        st.sig.par_iter_mut().for_each_init(
            || (op.scratch(), Array2::zeros((k, tz))),
            |(sc, g), s| {
                op.forward(s.w.view(), sc);
                // r = Dw − y in place of Dw
                sc.sum.iter_mut().zip(&s.yspec).for_each(|(v, y)| *v -= y);
                op.adjoint_of_sum(&mut g.view_mut(), sc);
                // z⁺ = prox(w − g/L) into the signal's spare buffer, then momentum with gradient
                // restart
                let Signal { z, w, next, t, .. } = s;
                Zip::from(&mut *next)
                    .and(&*w)
                    .and(&*g)
                    .for_each(|x, &wi, &gi| {
                        let v = wi - step * gi;
                        *x = if nonneg {
                            (v - thr).max(0.0)
                        } else {
                            v.signum() * (v.abs() - thr).max(0.0)
                        };
                    });
                let mut restart = 0.0;
                Zip::from(&*next)
                    .and(&*z)
                    .and(&*w)
                    .for_each(|&zn, &zo, &wi| restart += (zn - zo) * (wi - zn));
                if restart > 0.0 {
                    *t = 1.0;
                    w.assign(next);
                } else {
                    let tn = 0.5 * (1.0 + (1.0 + 4.0 * *t * *t).sqrt());
                    let beta = (*t - 1.0) / tn;
                    Zip::from(&mut *w)
                        .and(&*next)
                        .and(&*z)
                        .for_each(|wi, &zn, &zo| *wi = zn + beta * (zn - zo));
                    *t = tn;
                }
                std::mem::swap(z, next);
            },
        );
        st.iter += 1;
        if st.iter.is_multiple_of(self.check_every) {
            self.evaluate(st);
        }
        Ok(())
    }
    fn objective(&self, st: &FistaState) -> f64 {
        st.objective
    }
    fn record(&self, st: &FistaState, rec: &mut Record) {
        rec.set("rel_gap", st.gap);
        rec.set("lipschitz", self.op.lipschitz);
        let nnz = st
            .sig
            .iter()
            .map(|s| s.z.iter().filter(|v| **v != 0.0).count())
            .sum::<usize>();
        rec.set("n_active", nnz as f64 / st.sig.len().max(1) as f64);
    }
    fn converged(&self, st: &FistaState) -> Option<Criterion> {
        (st.gap.is_finite() && st.gap <= self.tol).then_some(Criterion::Solver("duality_gap"))
    }
}

impl ConvFista {
    /// Code signals `y` (N × P × T) on atoms `d` (K × P × L) with the given boundary, from zero
    /// or from `warm` (N × K × T_z).
    ///
    /// # Errors
    /// Parameters out of range, mismatched shapes, non-finite inputs.
    pub fn encode(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        self.encode_on(d, y, Grid::LINE, boundary, warm)
    }

    /// [`ConvFista::encode`] on the layout `grid` (images: N × P × H·W on K × P × Lh·Lw,
    /// activations N × K × H_z·W_z, all flattened row-major).
    ///
    /// # Errors
    /// As [`ConvFista::encode`], and lengths the grid does not divide.
    pub fn encode_on(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        grid: Grid,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        self.check_params()?;
        let t0 = std::time::Instant::now();
        let n = y.dim().0;
        let op = checked_op(d, y, grid, boundary, warm, "convolutional FISTA", 3)?;
        let (k, tz) = (op.k, op.tz);
        let mut sc = op.scratch();
        let mut sig = Vec::with_capacity(n);
        let mut half_yy = 0.0;
        for i in 0..n {
            let yi = y.index_axis(Axis(0), i);
            let yy = yi.iter().map(|v| v * v).sum::<f64>();
            half_yy += 0.5 * yy;
            let z = match warm {
                Some(w) => w.index_axis(Axis(0), i).to_owned(),
                None => Array2::zeros((k, tz)),
            };
            sig.push(Signal {
                yspec: op.signal_spectrum(yi, &mut sc),
                w: z.clone(),
                next: Array2::zeros((k, tz)),
                z,
                t: 1.0,
            });
        }
        let mut alg = FistaAlg {
            op,
            lambda: self.lambda,
            nonneg: self.nonneg,
            check_every: self.check_every,
            tol: self.tol,
        };
        let mut state = FistaState {
            sig,
            objective: f64::NAN,
            gap: f64::INFINITY,
            half_yy,
            iter: 0,
        };
        alg.evaluate(&mut state);
        let stop = Stop::iters(self.max_iters);
        let (mut state, info) =
            iter::run(&mut alg, state, &stop, Schedule::Never, &mut NoObserver)?;
        // the gap at the final iterate (already current when the last step evaluated it)
        if !state.iter.is_multiple_of(alg.check_every) {
            alg.evaluate(&mut state);
        }
        let mut acts = Array3::zeros((n, k, tz));
        for (i, s) in state.sig.into_iter().enumerate() {
            acts.index_axis_mut(Axis(0), i).assign(&s.z);
        }
        Ok(ConvEncoding {
            acts,
            iters: info.iters,
            termination: info.termination,
            objective: state.objective,
            rel_gap: state.gap,
            elapsed: t0.elapsed().as_secs_f64(),
        })
    }
}

/// F(z) = ½‖y − Σ d_k * z_k‖² + λ‖z‖₁ summed over signals, by direct convolution (the reference
/// the FFT path is tested against).
///
/// # Errors
/// As [`super::convolve`].
pub fn objective(
    d: ArrayView3<'_, f64>,
    z: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    boundary: Boundary,
    lambda: f64,
) -> Result<f64> {
    objective_on(d, z, y, Grid::LINE, boundary, lambda)
}

/// [`objective`] on the layout `grid` (images).
///
/// # Errors
/// As [`super::convolve_on`].
pub fn objective_on(
    d: ArrayView3<'_, f64>,
    z: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    grid: Grid,
    boundary: Boundary,
    lambda: f64,
) -> Result<f64> {
    let dz = super::convolve_on(d, z, boundary, y.dim().2, grid)?;
    let rr: f64 = Zip::from(&dz)
        .and(&y)
        .fold(0.0, |a, &u, &v| a + (u - v) * (u - v));
    Ok(0.5 * rr + lambda * z.iter().map(|v| v.abs()).sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{ConvSpec, ConvValues};
    use ndarray::Array3;

    #[test]
    fn fast_lengths() {
        assert_eq!(fast_len(7), 8);
        assert_eq!(fast_len(97), 100);
        assert_eq!(fast_len(1), 1);
        assert_eq!(fast_len(121), 125);
    }

    /// ⟨Dz, r⟩ = ⟨z, Dᵀr⟩ for the FFT operator, both boundaries, several channels and atoms, and
    /// D z equals the direct convolution.
    #[test]
    fn the_fft_operator_and_its_adjoint_match_direct_convolution() {
        for boundary in [Boundary::Valid, Boundary::Circular] {
            let inst = ConvSpec::new(1, 3, 97, 4, 9)
                .theta(0.2)
                .boundary(boundary)
                .sample(11)
                .unwrap();
            let op = ConvOp::new(inst.atoms.view(), 97, boundary).unwrap();
            let mut sc = op.scratch();
            let z = inst.acts.index_axis(Axis(0), 0);
            op.forward(z, &mut sc);
            let direct =
                crate::conv::convolve(inst.atoms.view(), inst.acts.view(), boundary, 97).unwrap();
            let r = inst.y.index_axis(Axis(0), 0).mapv(|v| v.sin() + 0.3);
            let rspec = op.signal_spectrum(r.view(), &mut sc);
            let dspec = op.signal_spectrum(direct.index_axis(Axis(0), 0), &mut sc);
            // ⟨Dz, r⟩ through the FFT path and directly
            let lhs = op.inner(&sc.sum, &rspec);
            let direct_lhs: f64 = Zip::from(direct.index_axis(Axis(0), 0))
                .and(&r)
                .fold(0.0, |a, &u, &v| a + u * v);
            assert!(
                (lhs - direct_lhs).abs() < 1e-10 * direct_lhs.abs().max(1.0),
                "{boundary:?}: {lhs} vs {direct_lhs}"
            );
            assert!(
                (op.inner(&dspec, &rspec) - direct_lhs).abs() < 1e-10 * direct_lhs.abs().max(1.0)
            );
            let mut g = Array2::zeros((4, op.n_acts()));
            op.adjoint(&rspec, &mut g.view_mut(), &mut sc);
            let rhs: f64 = Zip::from(&z).and(&g).fold(0.0, |a, &u, &v| a + u * v);
            assert!(
                (lhs - rhs).abs() < 1e-10 * lhs.abs().max(1.0),
                "{boundary:?}: {lhs} vs {rhs}"
            );
        }
    }

    /// The same identities on images (2-D FFTs, both boundaries, two channels, rectangular images).
    #[test]
    fn the_image_operator_and_its_adjoint_match_direct_2d_convolution() {
        for boundary in [Boundary::Valid, Boundary::Circular] {
            let spec = ConvSpec::new(1, 2, 13, 3, 4)
                .rows(10)
                .theta(0.2)
                .boundary(boundary);
            let inst = spec.sample(5).unwrap();
            let (grid, t) = (spec.grid(), spec.n_samples());
            assert_eq!(inst.atoms.dim(), (3, 2, 16));
            assert_eq!(inst.y.dim(), (1, 2, 130));
            let op = ConvOp::on_grid(inst.atoms.view(), t, grid, boundary).unwrap();
            assert_eq!(op.n_acts(), spec.n_acts());
            let mut sc = op.scratch();
            let z = inst.acts.index_axis(Axis(0), 0);
            op.forward(z, &mut sc);
            let direct = &inst.y;
            let r = direct.index_axis(Axis(0), 0).mapv(|v| (3.0 * v).sin() + 0.3);
            let rspec = op.signal_spectrum(r.view(), &mut sc);
            let lhs = op.inner(&sc.sum, &rspec);
            let direct_lhs: f64 = Zip::from(direct.index_axis(Axis(0), 0))
                .and(&r)
                .fold(0.0, |a, &u, &v| a + u * v);
            assert!(
                (lhs - direct_lhs).abs() < 1e-10 * direct_lhs.abs().max(1.0),
                "{boundary:?}: {lhs} vs {direct_lhs}"
            );
            let mut g = Array2::zeros((3, op.n_acts()));
            op.adjoint(&rspec, &mut g.view_mut(), &mut sc);
            let rhs: f64 = Zip::from(&z).and(&g).fold(0.0, |a, &u, &v| a + u * v);
            assert!((lhs - rhs).abs() < 1e-10 * lhs.abs().max(1.0));
            // one pixel of the adjoint by hand: Σ_c Σ_(u,v) d[c, u, v] r[c, r0 + u, c0 + v]
            let (zw, w) = (spec.boundary.n_acts(13, 4), 13);
            let (r0, c0) = (2, 5);
            let mut want = 0.0;
            for c in 0..2 {
                for u in 0..4 {
                    for v in 0..4 {
                        let (rr, cc) = ((r0 + u) % 10, (c0 + v) % 13);
                        want += inst.atoms[(1, c, u * 4 + v)] * r[(c, rr * w + cc)];
                    }
                }
            }
            assert!((g[(1, r0 * zw + c0)] - want).abs() < 1e-10, "{boundary:?}");
        }
    }

    /// On images, FISTA and ADMM (circular) reach one objective, which the direct 2-D
    /// convolution confirms, and FISTA finds the planted activations of a sparse image.
    #[test]
    fn images_fista_and_admm_agree_and_recover_planted_activations() {
        let spec = ConvSpec::new(2, 1, 24, 2, 5)
            .rows(20)
            .theta(0.01)
            .values(ConvValues::NonNeg { lo: 1.0, hi: 2.0 })
            .boundary(Boundary::Circular);
        let inst = spec.sample(3).unwrap();
        let (d, y, grid) = (inst.atoms.view(), inst.y.view(), spec.grid());
        let lambda = 0.02;
        let f = ConvFista::new(lambda)
            .nonneg(true)
            .tol(1e-13)
            .max_iters(20000)
            .encode_on(d, y, grid, Boundary::Circular, None)
            .unwrap();
        let a = crate::conv::ConvAdmm::new(lambda)
            .nonneg(true)
            .tol(1e-12)
            .max_iters(20000)
            .encode_on(d, y, grid, Boundary::Circular, None)
            .unwrap();
        let direct = objective_on(d, f.acts.view(), y, grid, Boundary::Circular, lambda).unwrap();
        assert!((direct - f.objective).abs() <= 1e-9 * direct);
        assert!(
            (a.objective - f.objective).abs() <= 1e-6 * f.objective,
            "admm {} vs fista {}",
            a.objective,
            f.objective
        );
        // every planted activation is found where it was planted, and nothing large elsewhere
        let n_true = inst.acts.iter().filter(|v| **v != 0.0).count();
        assert!(n_true >= 4, "{n_true} activations");
        for (t, e) in inst.acts.iter().zip(&f.acts) {
            if *t != 0.0 {
                assert!(*e > 0.5 * t, "planted {t}, found {e}");
            } else {
                assert!(*e < 0.1, "spurious {e}");
            }
        }
        // LGCD refuses images, naming the coders that take them
        use crate::conv::ConvCoder;
        let err = crate::conv::ConvLgcd::new(lambda)
            .encode_on(d, y, grid, Boundary::Circular, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("conv_fista"), "{err}");
    }

    /// On one signal, the FFT FISTA reaches the objective of the dense Lasso solver (FISTA on the
    /// explicit T × K·T_z convolution matrix) to 1e-7 relative.
    #[test]
    fn agrees_with_the_dense_lasso_on_the_explicit_convolution_matrix() {
        let inst = ConvSpec::new(1, 2, 60, 3, 8)
            .theta(0.05)
            .noise_sigma(0.05)
            .sample(4)
            .unwrap();
        let (k, p, l) = inst.atoms.dim();
        let (t, tz) = (60, 60 - l + 1);
        // the dense matrix: column (a, s) is d_a placed at s, channels stacked
        let mut a = Array2::zeros((p * t, k * tz));
        for j in 0..k {
            for s0 in 0..tz {
                for c in 0..p {
                    for u in 0..l {
                        a[(c * t + s0 + u, j * tz + s0)] = inst.atoms[(j, c, u)];
                    }
                }
            }
        }
        let yv = inst
            .y
            .index_axis(Axis(0), 0)
            .to_owned()
            .into_shape_with_order((p * t, 1))
            .unwrap();
        let lambda = 0.1;
        // the dense coders take unit-norm atoms: scale columns (all have norm 1 already: a shifted
        // unit atom inside the signal keeps its norm in the valid convention)
        use crate::code::SparseCoder;
        let dense = crate::code::Pgm::fista(lambda)
            .tol(1e-13)
            .max_iters(20000)
            .encode(a.view(), yv.view())
            .unwrap();
        let f_dense = {
            let r = &a.dot(&dense.codes) - &yv;
            0.5 * r.iter().map(|v| v * v).sum::<f64>()
                + lambda * dense.codes.iter().map(|v| v.abs()).sum::<f64>()
        };
        let enc = ConvFista::new(lambda)
            .tol(1e-12)
            .max_iters(20000)
            .encode(inst.atoms.view(), inst.y.view(), Boundary::Valid, None)
            .unwrap();
        let f_conv = objective(
            inst.atoms.view(),
            enc.acts.view(),
            inst.y.view(),
            Boundary::Valid,
            lambda,
        )
        .unwrap();
        assert!(
            (f_conv - enc.objective).abs() < 1e-9 * f_conv,
            "{f_conv} vs reported {}",
            enc.objective
        );
        assert!(
            (f_conv - f_dense).abs() < 1e-7 * f_dense,
            "{f_conv} vs dense {f_dense}"
        );
        assert!(enc.rel_gap <= 1e-12, "{}", enc.rel_gap);
    }

    /// Planted support recovery: non-negative activations, small λ, no noise; every planted event
    /// is found at its position and the spurious mass is small.
    #[test]
    fn recovers_planted_activations() {
        let inst = ConvSpec::new(4, 1, 300, 2, 16)
            .theta(0.01)
            .min_spacing(20)
            .values(ConvValues::NonNeg { lo: 1.0, hi: 2.0 })
            .sample(8)
            .unwrap();
        let enc = ConvFista::new(0.01)
            .nonneg(true)
            .tol(1e-10)
            .max_iters(5000)
            .encode(inst.atoms.view(), inst.y.view(), Boundary::Valid, None)
            .unwrap();
        let rec = crate::conv::conv_recovery(inst.atoms.view(), inst.atoms.view()).unwrap();
        let (prec, recall, _) =
            crate::conv::activation_f1(&rec, inst.acts.view(), enc.acts.view(), 0, 0.1).unwrap();
        assert!(
            recall >= 0.99 && prec >= 0.9,
            "precision {prec}, recall {recall}"
        );
        assert!(enc.acts.iter().all(|v| *v >= 0.0));
        // a warm start at the solution stops at once
        let again = ConvFista::new(0.01)
            .nonneg(true)
            .tol(1e-10)
            .encode(
                inst.atoms.view(),
                inst.y.view(),
                Boundary::Valid,
                Some(enc.acts.view()),
            )
            .unwrap();
        assert!(again.iters <= 10, "{}", again.iters);
    }

    #[test]
    fn bad_input_is_refused() {
        let inst = ConvSpec::new(2, 2, 50, 2, 5).sample(1).unwrap();
        let bad_ch = Array3::zeros((2, 3, 5));
        assert!(
            ConvFista::new(0.1)
                .encode(bad_ch.view(), inst.y.view(), Boundary::Valid, None)
                .is_err()
        );
        assert!(
            ConvFista::new(-1.0)
                .encode(inst.atoms.view(), inst.y.view(), Boundary::Valid, None)
                .is_err()
        );
        let long = Array3::zeros((2, 2, 51));
        assert!(
            ConvFista::new(0.1)
                .encode(long.view(), inst.y.view(), Boundary::Valid, None)
                .is_err()
        );
        let mut nan = inst.y.clone();
        nan[(0, 0, 0)] = f64::NAN;
        assert!(
            ConvFista::new(0.1)
                .encode(inst.atoms.view(), nan.view(), Boundary::Valid, None)
                .is_err()
        );
        let warm = Array3::zeros((2, 2, 10));
        assert!(
            ConvFista::new(0.1)
                .encode(
                    inst.atoms.view(),
                    inst.y.view(),
                    Boundary::Valid,
                    Some(warm.view())
                )
                .is_err()
        );
    }
}
