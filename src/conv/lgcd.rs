//! Convolutional sparse coding by locally greedy coordinate descent (LGCD).
//!
//! The same problem as [`super::ConvFista`]: for each signal,
//! $$\min_{z}\ F(z) = \tfrac12\Big\|y - \sum_{k} d_k * z_k\Big\|_F^2 + \lambda \|z\|_1 \qquad(\text{optionally } z \ge 0).$$
//! With $n_k = \|d_k\|_F^2$ and $\beta_k[t] = (D^\top(y - Dz))_k[t] + n_k z_k[t]$, the minimiser in the
//! single coordinate $z_k[t]$ is $z^\star = \mathrm{ST}(\beta_k[t], \lambda)/n_k$ (for z ≥ 0,
//! $\max(\beta_k[t] - \lambda, 0)/n_k$), and changing $z_k[t]$ by Δ changes
//! $\beta_l[s]$ by $-\Delta\, C_{lk}[s - t]$ for $|s - t| < L$, $(l, s) \ne (k, t)$, with the atoms'
//! cross-correlations $C_{lk}[\delta] = \sum_{p,v} d_l[p, v]\, d_k[p, v + \delta]$ (Moreau, Oudre,
//! Vayatis 2018, eq. (7)–(9)). LGCD splits the activation axis into segments of 2L − 1 positions
//! (at least one segment) and visits them in turn; in a segment it updates the one coordinate
//! with the largest |z* − z| (the greedy choice, restricted to the segment: Algorithm 2 of the
//! paper). A segment whose largest update is ≤ `tol` is marked inactive until an update within
//! L − 1 positions of it changes its β; the run stops when every segment is inactive
//! (alphacsc's stopping rule: `tol` bounds the largest coordinate update). The objective is
//! tracked exactly through each update's change
//! $\tfrac12 n_k(z_1^2 - z_0^2) - \beta(z_1 - z_0) + \lambda(|z_1| - |z_0|)$; the Lasso duality
//! gap is computed at the end as [`super::ConvFista`] reports it.
//!
//! One engine iteration is one pass over the segments (each active segment visited once). The
//! circular boundary needs T ≥ 2L − 1, so that a shifted atom does not overlap itself.
//!
//! ## References
//! * Moreau, Oudre, Vayatis (2018), "DICOD: Distributed Convolutional Coordinate Descent for
//!   Convolutional Sparse Coding", ICML, eq. (7)–(9), Algorithm 2 (LGCD).
//! * Dupré la Tour, Moreau, Jas, Gramfort (2018), NeurIPS, §3 (LGCD as alphacsc's Z-step).
//! * Nutini, Schmidt, Laradji, Friedlander, Koepke (2015), "Coordinate descent converges faster
//!   with the Gauss-Southwell rule than random selection", ICML (the greedy rule).

use super::ConvCoderSpec;
use super::csc::{C64, ConvEncoding, objective_and_gap, primal_dual};
use super::problem::Boundary;
use crate::error::{Result, ensure};
use crate::iter::{self, Criterion, Iterative, NoObserver, Record, Schedule, Stop};
use ndarray::{Array2, Array3, ArrayView3, Axis};

crate::declare_method! {
    /// Convolutional LGCD (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ConvLgcd {
        given {
            /// ℓ1 penalty λ
            lambda: f64 = [super::csc::CONV_LAMBDA] => |p, _ctx| p.f64("lambda")?;
        }
        params {
            /// non-negative activations (z ≥ 0)
            nonneg: bool = param(Bool, false);
            /// passes over the segments (cap)
            max_iters: usize = param(Count, 10000);
            /// stop when no coordinate update exceeds tol (alphacsc's rule)
            tol: f64 = param(NonNegative, 1e-8);
        }
    }
}

/// The registry entry of [`ConvLgcd`].
pub const SPEC: ConvCoderSpec = ConvCoderSpec {
    name: "conv_lgcd",
    family: crate::spec::Family::Coder,
    summary: "Convolutional locally greedy coordinate descent (Moreau et al. 2018, alphacsc's and dicodile's solver)",
    params: ConvLgcd::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(ConvLgcd::from_params(p, ctx)?)),
};

impl super::ConvCoder for ConvLgcd {
    fn name(&self) -> String {
        format!("conv_lgcd[lambda={}]", self.lambda)
    }
    fn encode(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        ConvLgcd::encode(self, d, y, boundary, warm)
    }
}

/// One signal's coordinate-descent state.
struct Sig {
    z: Array2<f64>,
    beta: Array2<f64>,
    active: Vec<bool>,
    objective: f64,
    /// Largest update of the last pass.
    last_max: f64,
}

struct Alg {
    k: usize,
    l: usize,
    tz: usize,
    seg: usize,
    circular: bool,
    /// n_k = ‖d_k‖².
    norms: Vec<f64>,
    /// C_{lk}[δ] at (l · K + k) · (2L − 1) + δ + L − 1.
    cross: Vec<f64>,
    lambda: f64,
    nonneg: bool,
    tol: f64,
}

struct State {
    sig: Vec<Sig>,
    iter: usize,
}

impl Alg {
    fn target(&self, b: f64, n: f64) -> f64 {
        if self.nonneg {
            (b - self.lambda).max(0.0) / n
        } else {
            b.signum() * (b.abs() - self.lambda).max(0.0) / n
        }
    }

    /// Visit every active segment of one signal once; returns the largest update made.
    fn pass(&self, s: &mut Sig) -> f64 {
        let n_seg = s.active.len();
        let nl = 2 * self.l - 1;
        let mut largest = 0.0f64;
        for g in 0..n_seg {
            if !s.active[g] {
                continue;
            }
            let lo = g * self.seg;
            let hi = ((g + 1) * self.seg).min(self.tz);
            // the greedy coordinate of the segment
            let (mut best, mut bk, mut bt, mut bz) = (0.0f64, 0, 0, 0.0);
            for a in 0..self.k {
                let (zr, br) = (s.z.row(a), s.beta.row(a));
                let n = self.norms[a];
                for t in lo..hi {
                    let zs = self.target(br[t], n);
                    let dz = (zs - zr[t]).abs();
                    if dz > best {
                        (best, bk, bt, bz) = (dz, a, t, zs);
                    }
                }
            }
            if best <= self.tol {
                s.active[g] = false;
                continue;
            }
            largest = largest.max(best);
            let z0 = s.z[(bk, bt)];
            let b0 = s.beta[(bk, bt)];
            let delta = bz - z0;
            let n = self.norms[bk];
            s.objective +=
                0.5 * n * (bz * bz - z0 * z0) - b0 * delta + self.lambda * (bz.abs() - z0.abs());
            s.z[(bk, bt)] = bz;
            // β_l[s] −= Δ C_{lk}[s − t] over |s − t| < L, then restore β_k[t]
            let l1 = self.l as isize - 1;
            for a in 0..self.k {
                let c = &self.cross[(a * self.k + bk) * nl..(a * self.k + bk + 1) * nl];
                let mut row = s.beta.row_mut(a);
                for (j, cv) in c.iter().enumerate() {
                    let pos = bt as isize + j as isize - l1;
                    let pos = if self.circular {
                        pos.rem_euclid(self.tz as isize) as usize
                    } else if pos < 0 || pos >= self.tz as isize {
                        continue;
                    } else {
                        pos as usize
                    };
                    row[pos] -= delta * cv;
                }
            }
            s.beta[(bk, bt)] = b0;
            // the segments whose β changed are visited again
            let (first, last) = (bt as isize - l1, bt as isize + l1);
            for pos in [first, last] {
                let pos = if self.circular {
                    pos.rem_euclid(self.tz as isize)
                } else {
                    pos.clamp(0, self.tz as isize - 1)
                } as usize;
                s.active[pos / self.seg] = true;
            }
            s.active[g] = true;
        }
        largest
    }
}

impl Iterative for Alg {
    type State = State;
    fn step(&mut self, st: &mut State) -> Result<()> {
        use rayon::prelude::*;
        st.sig.par_iter_mut().for_each(|s| {
            s.last_max = self.pass(s);
        });
        st.iter += 1;
        Ok(())
    }
    fn objective(&self, st: &State) -> f64 {
        st.sig.iter().map(|s| s.objective).sum()
    }
    fn record(&self, st: &State, rec: &mut Record) {
        let m = st.sig.iter().fold(0.0f64, |m, s| m.max(s.last_max));
        rec.set("max_update", m);
    }
    fn converged(&self, st: &State) -> Option<Criterion> {
        st.sig
            .iter()
            .all(|s| s.active.iter().all(|a| !a))
            .then_some(Criterion::Solver("max_update"))
    }
}

impl ConvLgcd {
    /// Code signals `y` (N × P × T) on atoms `d` (K × P × L), from zero or from `warm`
    /// (N × K × T_z).
    ///
    /// # Errors
    /// Parameters out of range, mismatched shapes, a zero or non-finite atom, non-finite
    /// signals, a circular problem with T < 2L − 1.
    pub fn encode(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        use rayon::prelude::*;
        self.check_params()?;
        let t0 = std::time::Instant::now();
        let (n, t) = (y.dim().0, y.dim().2);
        let (k, l) = (d.dim().0, d.dim().2);
        let op = super::csc::checked_op(d, y, super::Grid::LINE, boundary, warm, "convolutional LGCD", 2)?;
        let circular = boundary == Boundary::Circular;
        ensure!(
            !circular || t + 1 >= 2 * l,
            "atom_len",
            l,
            format!("T ≥ 2L − 1 for circular coordinate descent (T = {t}; use conv_fista)")
        );
        let tz = op.n_acts();
        let norms: Vec<f64> = (0..k)
            .map(|a| d.index_axis(Axis(0), a).iter().map(|v| v * v).sum())
            .collect();
        ensure!(
            norms.iter().all(|v| *v > 0.0),
            "atoms",
            "a zero atom",
            "non-zero atoms (a zero atom's coordinates have no minimiser)"
        );
        // C_ab[δ] = Σ_v d_a[v] d_b[v + δ] is the lag-δ correlation of d_b against d_a
        let nl = 2 * l - 1;
        let mut cross = Vec::with_capacity(k * k * nl);
        for a in 0..k {
            for b in 0..k {
                cross.extend(super::shift_correlation(
                    d.index_axis(Axis(0), b),
                    d.index_axis(Axis(0), a),
                )?);
            }
        }
        let seg = nl.min(tz).max(1);
        let n_seg = tz.div_ceil(seg);
        // β = Dᵀ(y − Dz) + n z and the exact objective at the start, per signal
        let sig: Vec<Sig> = (0..n)
            .into_par_iter()
            .map_init(
                || (op.scratch(), Array2::zeros((k, tz))),
                |(sc, g), i| {
                    let z = match warm {
                        Some(w) => w.index_axis(Axis(0), i).to_owned(),
                        None => Array2::zeros((k, tz)),
                    };
                    let yspec: Vec<C64> = op.signal_spectrum(y.index_axis(Axis(0), i), sc);
                    let (objective, _) =
                        primal_dual(&op, self.lambda, self.nonneg, &yspec, z.view(), sc, g);
                    // g = Dᵀ(y − Dz) after primal_dual
                    let mut beta = g.clone();
                    for (a, na) in norms.iter().enumerate() {
                        let mut row = beta.row_mut(a);
                        row.zip_mut_with(&z.row(a), |b, zv| *b += na * zv);
                    }
                    Sig {
                        z,
                        beta,
                        active: vec![true; n_seg],
                        objective,
                        last_max: f64::INFINITY,
                    }
                },
            )
            .collect();
        let mut alg = Alg {
            k,
            l,
            tz,
            seg,
            circular,
            norms,
            cross,
            lambda: self.lambda,
            nonneg: self.nonneg,
            tol: self.tol,
        };
        let stop = Stop::iters(self.max_iters);
        let (state, info) = iter::run(
            &mut alg,
            State { sig, iter: 0 },
            &stop,
            Schedule::Never,
            &mut NoObserver,
        )?;
        // the exact objective and duality gap at the end
        let half_yy = 0.5 * y.iter().map(|v| v * v).sum::<f64>();
        let (objective, rel_gap) = objective_and_gap(&op, n, half_yy, |i, sc, g| {
            let yspec = op.signal_spectrum(y.index_axis(Axis(0), i), sc);
            primal_dual(
                &op,
                self.lambda,
                self.nonneg,
                &yspec,
                state.sig[i].z.view(),
                sc,
                g,
            )
        });
        let mut acts = Array3::zeros((n, k, tz));
        for (i, s) in state.sig.into_iter().enumerate() {
            acts.index_axis_mut(Axis(0), i).assign(&s.z);
        }
        Ok(ConvEncoding {
            acts,
            iters: info.iters,
            termination: info.termination,
            objective,
            rel_gap,
            elapsed: t0.elapsed().as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{ConvFista, ConvSpec, ConvValues};

    /// LGCD and FISTA reach the same objective (1e-9 relative) on both boundaries, signed and
    /// non-negative, several channels; the tracked objective equals the recomputed one.
    #[test]
    fn agrees_with_fista() {
        for (boundary, nonneg) in [
            (Boundary::Valid, false),
            (Boundary::Valid, true),
            (Boundary::Circular, false),
        ] {
            let inst = ConvSpec::new(3, 2, 150, 3, 9)
                .theta(0.03)
                .noise_sigma(0.05)
                .boundary(boundary)
                .sample(6)
                .unwrap();
            let lambda = 0.05;
            let f = ConvFista::new(lambda)
                .nonneg(nonneg)
                .tol(1e-14)
                .max_iters(50000)
                .encode(inst.atoms.view(), inst.y.view(), boundary, None)
                .unwrap();
            let g = ConvLgcd::new(lambda)
                .nonneg(nonneg)
                .tol(1e-12)
                .encode(inst.atoms.view(), inst.y.view(), boundary, None)
                .unwrap();
            let direct = super::super::csc::objective(
                inst.atoms.view(),
                g.acts.view(),
                inst.y.view(),
                boundary,
                lambda,
            )
            .unwrap();
            assert!(
                (direct - g.objective).abs() <= 1e-9 * direct,
                "{boundary:?}: {direct} vs {}",
                g.objective
            );
            assert!(
                (g.objective - f.objective).abs() <= 1e-9 * f.objective,
                "{boundary:?} nonneg={nonneg}: LGCD {} vs FISTA {}",
                g.objective,
                f.objective
            );
            assert!(g.rel_gap <= 1e-10, "{}", g.rel_gap);
            if nonneg {
                assert!(g.acts.iter().all(|v| *v >= 0.0));
            }
        }
    }

    /// Planted support recovery, and a warm start at the solution stops after one pass.
    #[test]
    fn recovers_planted_activations_and_warm_starts() {
        let inst = ConvSpec::new(4, 1, 300, 2, 16)
            .theta(0.01)
            .min_spacing(20)
            .values(ConvValues::NonNeg { lo: 1.0, hi: 2.0 })
            .sample(8)
            .unwrap();
        let enc = ConvLgcd::new(0.01)
            .nonneg(true)
            .encode(inst.atoms.view(), inst.y.view(), Boundary::Valid, None)
            .unwrap();
        let rec = crate::conv::conv_recovery(inst.atoms.view(), inst.atoms.view()).unwrap();
        let (prec, recall, _) =
            crate::conv::activation_f1(&rec, inst.acts.view(), enc.acts.view(), 0, 0.1).unwrap();
        assert!(
            recall >= 0.99 && prec >= 0.9,
            "precision {prec}, recall {recall}"
        );
        let again = ConvLgcd::new(0.01)
            .nonneg(true)
            .encode(
                inst.atoms.view(),
                inst.y.view(),
                Boundary::Valid,
                Some(enc.acts.view()),
            )
            .unwrap();
        assert!(again.iters <= 1, "{}", again.iters);
    }

    #[test]
    fn bad_input_is_refused() {
        let inst = ConvSpec::new(2, 1, 50, 2, 5).sample(1).unwrap();
        let mut zero = inst.atoms.clone();
        zero.index_axis_mut(Axis(0), 1).fill(0.0);
        assert!(
            ConvLgcd::new(0.1)
                .encode(zero.view(), inst.y.view(), Boundary::Valid, None)
                .is_err()
        );
        let long = ConvSpec::new(1, 1, 50, 1, 30)
            .boundary(Boundary::Circular)
            .sample(1)
            .unwrap();
        assert!(
            ConvLgcd::new(0.1)
                .encode(long.atoms.view(), long.y.view(), Boundary::Circular, None)
                .is_err()
        );
        assert!(
            ConvLgcd::new(f64::NAN)
                .encode(inst.atoms.view(), inst.y.view(), Boundary::Valid, None)
                .is_err()
        );
    }
}
