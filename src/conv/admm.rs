//! Convolutional sparse coding by ADMM in the DFT domain (Wohlberg 2016; sporco's `ConvBPDN`).
//!
//! For each signal $s$ (P × T) and fixed atoms $d_k$ (P × L), the convolutional Lasso with the
//! circular boundary
//! $$\min_{z}\ \tfrac12\Big\|\sum_{k=1}^K d_k * z_k - s\Big\|_F^2 + \lambda \|z\|_1
//!   \qquad(\text{optionally } z \ge 0),$$
//! split as $z = u$ with the ℓ1 term on $u$ (Wohlberg 2016, eq. (10)–(12)), scaled dual $v$,
//! penalty ρ and over-relaxation α (Boyd et al. 2011, §3.4.3):
//! 1. **z-step**, per frequency ω of the DFT (eq. (16)):
//!    $(\hat D^H \hat D + \rho I)\,\hat z = \hat D^H \hat s + \rho(\hat u - \hat v)$, with
//!    $\hat D(\omega)$ the P × K matrix of the atoms' spectra. It is solved in closed form:
//!    Sherman–Morrison for one channel (eq. (22)–(24)),
//!    $\hat z = \big(b - \hat a^H \tfrac{\hat a b}{\rho + \hat a \hat a^H}\big)/\rho$, and its Woodbury
//!    form for P channels, $\hat z = \big(b - \hat D^H(\rho I_P + \hat D\hat D^H)^{-1}\hat D b\big)/\rho$,
//!    one P × P inverse per frequency, computed once per value of ρ;
//! 2. **u-step**: $u = \mathcal S_{\lambda/\rho}(\alpha z + (1 - \alpha)u + v)$ (soft threshold; for
//!    z ≥ 0 its one-sided form);
//! 3. **v-step**: $v \leftarrow v + \alpha z + (1 - \alpha) u_{\text{old}} - u$.
//!
//! ρ starts at sporco's default 50λ + 1 unless set, and is rebalanced every 10 iterations by the
//! residual rule of Boyd et al. §3.4.1 (×2 when the primal residual ‖z − u‖ exceeds 10× the dual
//! residual ρ‖u − u_old‖, ÷2 in the opposite case; v rescaled with it), one ρ for all signals so that
//! the per-frequency inverses are shared.
//!
//! Stopping: the Lasso duality gap at the sparse iterate u, as the FISTA coder computes it
//! ([`super::csc`]): the run stops when the gap ≤ `tol` · ½‖Y‖². sporco stops on relative primal
//! and dual residuals instead; the gap makes the three coders of the crate stop on one criterion.
//!
//! Only the circular boundary: the DFT-domain solve is exact for circular convolution, which is
//! sporco's model. For the valid boundary use `conv_fista` or `conv_lgcd`.
//!
//! ## References
//! * Wohlberg (2016), "Efficient algorithms for convolutional sparse representations", IEEE TIP
//!   25(1):301–315, eq. (10)–(16), (22)–(24) (Sherman–Morrison), §IV-B (multichannel).
//! * Boyd, Parikh, Chu, Peleato, Eckstein (2011), "Distributed optimization and statistical learning
//!   via the alternating direction method of multipliers", Found. Trends ML 3(1), §3.3–§3.4.

use super::ConvCoderSpec;
use super::csc::{
    C64, CONV_LAMBDA, ConvEncoding, ConvOp, Scratch, checked_op, objective_and_gap, primal_dual,
};
use super::problem::{Boundary, Grid};
use crate::error::{Result, ensure};
use crate::iter::{self, Criterion, Iterative, NoObserver, Record, Schedule, Stop, Termination};
use ndarray::{Array2, Array3, ArrayView3, Axis, Zip};
use rayon::prelude::*;

crate::declare_method! {
    /// Convolutional ADMM in the DFT domain (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ConvAdmm {
        given {
            /// ℓ1 penalty λ
            lambda: f64 = [CONV_LAMBDA] => |p, _ctx| p.f64("lambda")?;
        }
        params {
            /// non-negative activations (z ≥ 0)
            nonneg: bool = param(Bool, false);
            /// iteration cap
            max_iters: usize = param(Count, 1000);
            /// stop when the duality gap at u ≤ tol · ½‖Y‖²
            tol: f64 = param(NonNegative, 1e-8);
            /// iterations between two duality-gap evaluations
            check_every: usize = param(Count, 10);
            /// initial penalty ρ
            rho: Option<f64> = auto(Positive, "50λ + 1 (sporco's default)");
            /// over-relaxation α (1: none; sporco's default 1.8)
            relax: f64 = param(Between(0.0, 2.0), 1.8);
            /// rebalance ρ from the residuals every 10 iterations
            auto_rho: bool = param(Bool, true);
        }
    }
}

/// The registry entry of [`ConvAdmm`].
pub const SPEC: ConvCoderSpec = ConvCoderSpec {
    name: "conv_admm",
    family: crate::spec::Family::Coder,
    summary: "Convolutional ADMM in the DFT domain with the Sherman–Morrison solve (Wohlberg 2016, sporco's ConvBPDN); circular boundary; stops on the Lasso duality gap",
    params: ConvAdmm::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(ConvAdmm::from_params(p, ctx)?)),
};

impl super::ConvCoder for ConvAdmm {
    fn name(&self) -> String {
        format!("conv_admm[lambda={}]", self.lambda)
    }
    fn encode(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        ConvAdmm::encode_on(self, d, y, Grid::LINE, boundary, warm)
    }
    fn encode_on(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        grid: Grid,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        ConvAdmm::encode_on(self, d, y, grid, boundary, warm)
    }
}

/// The z-step's solver at one ρ: per frequency, (ρI_P + D̂D̂ᴴ)⁻¹ (P × P, row-major).
struct ZSolve {
    rho: f64,
    p: usize,
    k: usize,
    inv: Vec<C64>,
}

/// The inverse of the Hermitian positive definite P × P matrix `a` (row-major) by Gauss–Jordan
/// elimination with partial pivoting; `None` when a pivot vanishes.
fn invert(mut a: Vec<C64>, p: usize) -> Option<Vec<C64>> {
    let mut inv = vec![C64::new(0.0, 0.0); p * p];
    for i in 0..p {
        inv[i * p + i] = C64::new(1.0, 0.0);
    }
    for col in 0..p {
        let piv =
            (col..p).max_by(|&x, &y| a[x * p + col].norm().total_cmp(&a[y * p + col].norm()))?;
        if a[piv * p + col].norm() < 1e-300 {
            return None;
        }
        if piv != col {
            for j in 0..p {
                a.swap(piv * p + j, col * p + j);
                inv.swap(piv * p + j, col * p + j);
            }
        }
        let d = a[col * p + col];
        for j in 0..p {
            a[col * p + j] /= d;
            inv[col * p + j] /= d;
        }
        for r in 0..p {
            if r != col {
                let f = a[r * p + col];
                if f != C64::new(0.0, 0.0) {
                    for j in 0..p {
                        let (ac, ic) = (a[col * p + j], inv[col * p + j]);
                        a[r * p + j] -= f * ac;
                        inv[r * p + j] -= f * ic;
                    }
                }
            }
        }
    }
    Some(inv)
}

impl ZSolve {
    fn new(op: &ConvOp, rho: f64) -> Self {
        let (k, p, _, nf) = op.dims();
        let mut inv = Vec::with_capacity(nf * p * p);
        for j in 0..nf {
            let mut g = vec![C64::new(0.0, 0.0); p * p];
            for c in 0..p {
                for e in 0..p {
                    let s: C64 = (0..k)
                        .map(|a| op.spectrum_at(a, c, j) * op.spectrum_at(a, e, j).conj())
                        .sum();
                    g[c * p + e] = s;
                }
                g[c * p + c] += rho;
            }
            // ρ > 0 keeps ρI + D̂D̂ᴴ positive definite
            inv.extend(invert(g, p).unwrap_or_else(|| vec![C64::new(1.0 / rho, 0.0); p * p]));
        }
        ZSolve { rho, p, k, inv }
    }

    /// x ← (D̂ᴴD̂ + ρI)⁻¹ b at frequency `j` (b and x: K entries).
    fn solve(&self, op: &ConvOp, j: usize, b: &[C64], x: &mut [C64]) {
        let (p, k) = (self.p, self.k);
        // q = M (D̂ b), then x = (b − D̂ᴴ q)/ρ
        let mut db = [C64::new(0.0, 0.0); 8];
        let mut db_heap;
        let db: &mut [C64] = if p <= 8 {
            &mut db[..p]
        } else {
            db_heap = vec![C64::new(0.0, 0.0); p];
            &mut db_heap
        };
        for (c, v) in db.iter_mut().enumerate() {
            *v = (0..k).map(|a| op.spectrum_at(a, c, j) * b[a]).sum();
        }
        let m = &self.inv[j * p * p..(j + 1) * p * p];
        for a in 0..k {
            let mut s = C64::new(0.0, 0.0);
            for c in 0..p {
                let q: C64 = (0..p).map(|e| m[c * p + e] * db[e]).sum();
                s += op.spectrum_at(a, c, j).conj() * q;
            }
            x[a] = (b[a] - s) / self.rho;
        }
    }
}

/// One signal's ADMM iterates (K × T each) and its constant D̂ᴴŝ (K · nf, frequency-major).
struct Signal {
    yspec: Vec<C64>,
    dts: Vec<C64>,
    z: Array2<f64>,
    u: Array2<f64>,
    v: Array2<f64>,
}

struct AdmmState {
    sig: Vec<Signal>,
    solve: ZSolve,
    objective: f64,
    gap: f64,
    half_yy: f64,
    iter: usize,
    primal_res: f64,
    dual_res: f64,
}

struct AdmmAlg<'a> {
    op: ConvOp,
    p: &'a ConvAdmm,
}

impl AdmmAlg<'_> {
    fn evaluate(&self, st: &mut AdmmState) {
        let (op, sig) = (&self.op, &st.sig);
        let (lambda, nonneg) = (self.p.lambda, self.p.nonneg);
        (st.objective, st.gap) = objective_and_gap(op, sig.len(), st.half_yy, |i, sc, g| {
            primal_dual(op, lambda, nonneg, &sig[i].yspec, sig[i].u.view(), sc, g)
        });
    }

    /// One ADMM iteration of one signal; returns (‖z − u‖², ‖u − u_old‖²).
    fn step_signal(
        &self,
        s: &mut Signal,
        solve: &ZSolve,
        sc: &mut Scratch,
        buf: &mut Bufs,
    ) -> (f64, f64) {
        let (k, _, _, nf) = self.op.dims();
        let rho = solve.rho;
        // ŵ = FFT(u − v), row by row, frequency-major into buf.rhs
        for a in 0..k {
            Zip::from(&mut buf.row)
                .and(s.u.row(a))
                .and(s.v.row(a))
                .for_each(|w, &u, &v| *w = u - v);
            self.op.rfft_row(buf.row.view(), &mut buf.spec, sc);
            for j in 0..nf {
                buf.rhs[j * k + a] = s.dts[j * k + a] + buf.spec[j] * rho;
            }
        }
        // ẑ per frequency, then back to time row by row
        for j in 0..nf {
            let (b, x) = (
                &buf.rhs[j * k..(j + 1) * k],
                &mut buf.sol[j * k..(j + 1) * k],
            );
            solve.solve(&self.op, j, b, x);
        }
        for a in 0..k {
            for j in 0..nf {
                buf.spec[j] = buf.sol[j * k + a];
            }
            self.op.irfft_row(&mut buf.spec, s.z.row_mut(a), sc);
        }
        // relaxed z, u-step, v-step
        let (alpha, thr, nonneg) = (self.p.relax, self.p.lambda / rho, self.p.nonneg);
        let (mut rr, mut ss) = (0.0, 0.0);
        Zip::from(&s.z)
            .and(&mut s.u)
            .and(&mut s.v)
            .for_each(|&z, u, v| {
                let zr = alpha * z + (1.0 - alpha) * *u;
                let w = zr + *v;
                let un = if nonneg {
                    (w - thr).max(0.0)
                } else {
                    w.signum() * (w.abs() - thr).max(0.0)
                };
                *v = w - un;
                rr += (z - un) * (z - un);
                ss += (un - *u) * (un - *u);
                *u = un;
            });
        (rr, ss)
    }
}

/// Per-thread buffers of one ADMM step.
struct Bufs {
    row: ndarray::Array1<f64>,
    spec: Vec<C64>,
    rhs: Vec<C64>,
    sol: Vec<C64>,
}

impl Iterative for AdmmAlg<'_> {
    type State = AdmmState;
    fn step(&mut self, st: &mut AdmmState) -> Result<()> {
        let (k, _, _, nf) = self.op.dims();
        let tz = self.op.n_acts();
        let solve = &st.solve;
        let this = &*self;
        let res: Vec<(f64, f64)> = st
            .sig
            .par_iter_mut()
            .map_init(
                || {
                    (
                        this.op.scratch(),
                        Bufs {
                            row: ndarray::Array1::zeros(tz),
                            spec: vec![C64::new(0.0, 0.0); nf],
                            rhs: vec![C64::new(0.0, 0.0); nf * k],
                            sol: vec![C64::new(0.0, 0.0); nf * k],
                        },
                    )
                },
                |(sc, buf), s| this.step_signal(s, solve, sc, buf),
            )
            .collect();
        // summed in signal order: the same ρ decisions on any thread count
        let (rr, ss) = res.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        st.primal_res = rr.sqrt();
        st.dual_res = st.solve.rho * ss.sqrt();
        st.iter += 1;
        if self.p.auto_rho && st.iter.is_multiple_of(10) {
            let (mu, tau) = (10.0, 2.0);
            let factor = if st.primal_res > mu * st.dual_res {
                Some(tau)
            } else if st.dual_res > mu * st.primal_res {
                Some(1.0 / tau)
            } else {
                None
            };
            if let Some(factor) = factor {
                // the scaled dual v = y/ρ follows ρ
                for s in &mut st.sig {
                    s.v.mapv_inplace(|x| x / factor);
                }
                st.solve = ZSolve::new(&self.op, st.solve.rho * factor);
            }
        }
        if st.iter.is_multiple_of(self.p.check_every) {
            self.evaluate(st);
        }
        Ok(())
    }
    fn objective(&self, st: &AdmmState) -> f64 {
        st.objective
    }
    fn record(&self, st: &AdmmState, rec: &mut Record) {
        rec.set("rel_gap", st.gap);
        rec.set("rho", st.solve.rho);
        rec.set("primal_residual", st.primal_res);
        rec.set("dual_residual", st.dual_res);
    }
    fn converged(&self, st: &AdmmState) -> Option<Criterion> {
        (st.gap.is_finite() && st.gap <= self.p.tol).then_some(Criterion::Solver("duality_gap"))
    }
}

impl ConvAdmm {
    /// Code signals `y` (N × P × T) on atoms `d` (K × P × L), circular boundary, from zero or
    /// from `warm` (N × K × T). The activations returned are the sparse iterate u.
    ///
    /// # Errors
    /// The valid boundary, parameters out of range, mismatched shapes, non-finite inputs.
    pub fn encode(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        self.encode_on(d, y, Grid::LINE, boundary, warm)
    }

    /// [`ConvAdmm::encode`] on the layout `grid` (images wrap on both axes).
    ///
    /// # Errors
    /// As [`ConvAdmm::encode`], and lengths the grid does not divide.
    pub fn encode_on(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        grid: Grid,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        self.check_params()?;
        ensure!(
            boundary == Boundary::Circular,
            "boundary",
            "valid",
            "the circular boundary: conv_admm solves in the DFT domain, exact for circular convolution (sporco's model); for the valid boundary use conv_fista or conv_lgcd"
        );
        let t0 = std::time::Instant::now();
        let n = y.dim().0;
        let op = checked_op(d, y, grid, boundary, warm, "convolutional ADMM", 5)?;
        let (k, p, _, nf) = op.dims();
        let tz = op.n_acts();
        let mut sc = op.scratch();
        let mut sig = Vec::with_capacity(n);
        let mut half_yy = 0.0;
        for i in 0..n {
            let yi = y.index_axis(Axis(0), i);
            half_yy += 0.5 * yi.iter().map(|v| v * v).sum::<f64>();
            let yspec = op.signal_spectrum(yi, &mut sc);
            // D̂ᴴŝ, frequency-major
            let mut dts = vec![C64::new(0.0, 0.0); nf * k];
            for j in 0..nf {
                for a in 0..k {
                    dts[j * k + a] = (0..p)
                        .map(|c| op.spectrum_at(a, c, j).conj() * yspec[c * nf + j])
                        .sum();
                }
            }
            let u = match warm {
                Some(w) => w.index_axis(Axis(0), i).to_owned(),
                None => Array2::zeros((k, tz)),
            };
            sig.push(Signal {
                yspec,
                dts,
                z: u.clone(),
                v: Array2::zeros((k, tz)),
                u,
            });
        }
        let rho = self.rho.unwrap_or(50.0 * self.lambda + 1.0);
        let mut alg = AdmmAlg { op, p: self };
        let mut state = AdmmState {
            solve: ZSolve::new(&alg.op, rho),
            sig,
            objective: f64::NAN,
            gap: f64::INFINITY,
            half_yy,
            iter: 0,
            primal_res: f64::NAN,
            dual_res: f64::NAN,
        };
        alg.evaluate(&mut state);
        let (mut state, info) = if alg.converged(&state).is_some() {
            // a warm start already at the tolerance: no step
            let info = iter::SolveInfo {
                iters: 0,
                termination: Termination::Converged(Criterion::Solver("duality_gap")),
                objective: state.objective,
                elapsed: 0.0,
            };
            (state, info)
        } else {
            iter::run(
                &mut alg,
                state,
                &Stop::iters(self.max_iters),
                Schedule::Never,
                &mut NoObserver,
            )?
        };
        if !state.iter.is_multiple_of(self.check_every) {
            alg.evaluate(&mut state);
        }
        let mut acts = Array3::zeros((n, k, tz));
        for (i, s) in state.sig.into_iter().enumerate() {
            acts.index_axis_mut(Axis(0), i).assign(&s.u);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{ConvFista, ConvLgcd, ConvSpec, ConvValues};

    /// (D̂ᴴD̂ + ρI) x = b at every frequency, one and three channels: the Sherman–Morrison /
    /// Woodbury solve against the matrix it inverts.
    #[test]
    fn the_z_step_solves_its_normal_equations() {
        for p in [1usize, 3] {
            let inst = ConvSpec::new(1, p, 40, 4, 7)
                .boundary(Boundary::Circular)
                .sample(2)
                .unwrap();
            let op = ConvOp::new(inst.atoms.view(), 40, Boundary::Circular).unwrap();
            let (k, p, _, nf) = op.dims();
            let zs = ZSolve::new(&op, 0.7);
            for j in 0..nf {
                let b: Vec<C64> = (0..k)
                    .map(|a| C64::new(a as f64 + 0.5, j as f64 * 0.1 - 1.0))
                    .collect();
                let mut x = vec![C64::new(0.0, 0.0); k];
                zs.solve(&op, j, &b, &mut x);
                for a in 0..k {
                    // (D̂ᴴD̂x)_a + ρ x_a
                    let mut lhs = x[a] * 0.7;
                    for c in 0..p {
                        let dx: C64 = (0..k).map(|e| op.spectrum_at(e, c, j) * x[e]).sum();
                        lhs += op.spectrum_at(a, c, j).conj() * dx;
                    }
                    assert!(
                        (lhs - b[a]).norm() < 1e-10,
                        "p = {p}, j = {j}: {lhs} vs {}",
                        b[a]
                    );
                }
            }
        }
    }

    /// The three coders reach one optimum of the circular problem: ADMM, FISTA and LGCD within
    /// 1e-6 relative of each other, signed and non-negative, one and two channels.
    #[test]
    fn three_solvers_agree() {
        for (p, nonneg) in [(1usize, false), (1, true), (2, false)] {
            let inst = ConvSpec::new(3, p, 120, 3, 9)
                .theta(0.03)
                .noise_sigma(0.05)
                .boundary(Boundary::Circular)
                .sample(11)
                .unwrap();
            let lambda = 0.05;
            let (d, y) = (inst.atoms.view(), inst.y.view());
            let a = ConvAdmm::new(lambda)
                .nonneg(nonneg)
                .tol(1e-12)
                .max_iters(20000)
                .encode(d, y, Boundary::Circular, None)
                .unwrap();
            let f = ConvFista::new(lambda)
                .nonneg(nonneg)
                .tol(1e-13)
                .max_iters(50000)
                .encode(d, y, Boundary::Circular, None)
                .unwrap();
            let g = ConvLgcd::new(lambda)
                .nonneg(nonneg)
                .tol(1e-12)
                .encode(d, y, Boundary::Circular, None)
                .unwrap();
            let direct =
                crate::conv::csc::objective(d, a.acts.view(), y, Boundary::Circular, lambda)
                    .unwrap();
            assert!(
                (direct - a.objective).abs() <= 1e-9 * direct,
                "{direct} vs {}",
                a.objective
            );
            for (name, other) in [("fista", f.objective), ("lgcd", g.objective)] {
                assert!(
                    (a.objective - other).abs() <= 1e-6 * other,
                    "p = {p}, nonneg = {nonneg}: admm {} vs {name} {other} ({:?}, gap {:.1e})",
                    a.objective,
                    a.termination,
                    a.rel_gap
                );
            }
            if nonneg {
                assert!(a.acts.iter().all(|v| *v >= 0.0));
            }
        }
    }

    #[test]
    fn recovers_planted_activations_and_warm_starts() {
        let inst = ConvSpec::new(4, 1, 300, 2, 16)
            .theta(0.01)
            .min_spacing(20)
            .values(ConvValues::NonNeg { lo: 1.0, hi: 2.0 })
            .boundary(Boundary::Circular)
            .sample(8)
            .unwrap();
        let enc = ConvAdmm::new(0.01)
            .nonneg(true)
            .encode(inst.atoms.view(), inst.y.view(), Boundary::Circular, None)
            .unwrap();
        let rec = crate::conv::conv_recovery(inst.atoms.view(), inst.atoms.view()).unwrap();
        let (prec, recall, _) =
            crate::conv::activation_f1(&rec, inst.acts.view(), enc.acts.view(), 0, 0.1).unwrap();
        assert!(
            recall >= 0.99 && prec >= 0.9,
            "precision {prec}, recall {recall}"
        );
        let again = ConvAdmm::new(0.01)
            .nonneg(true)
            .encode(
                inst.atoms.view(),
                inst.y.view(),
                Boundary::Circular,
                Some(enc.acts.view()),
            )
            .unwrap();
        assert!(
            again.iters <= enc.iters / 2,
            "{} vs {}",
            again.iters,
            enc.iters
        );
    }

    #[test]
    fn the_valid_boundary_and_bad_parameters_are_refused() {
        let inst = ConvSpec::new(2, 1, 50, 2, 5).sample(1).unwrap();
        let e = ConvAdmm::new(0.1)
            .encode(inst.atoms.view(), inst.y.view(), Boundary::Valid, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("conv_fista or conv_lgcd"), "{e}");
        let e = ConvAdmm::new(0.1)
            .relax(2.5)
            .encode(inst.atoms.view(), inst.y.view(), Boundary::Circular, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("relax"), "{e}");
        assert!(
            ConvAdmm::new(f64::NAN)
                .encode(inst.atoms.view(), inst.y.view(), Boundary::Circular, None)
                .is_err()
        );
    }
}
