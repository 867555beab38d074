//! Overcomplete dictionary learning by ℓ4-norm optimization over the sphere (Qu, Zhai, Li, Zhang,
//! Zhu 2020), and the landscape tools to study it.
//!
//! For $Y = AX \in \mathbb R^{n\times p}$ with $A$ a unit-norm tight frame ($AA^\top = K I_n$,
//! $K = m/n$) and Bernoulli(θ)–Gaussian codes, Qu et al. find one atom at a time from
//! $$\min_{q \in \mathbb S^{n-1}} f(q) = -\frac{c}{p}\,\|Y^\top q\|_4^4,\qquad c = \frac{1}{12\,\theta(1-\theta)},$$
//! whose expectation is $\bar f(q) = -\tfrac14\|A^\top q\|_4^4 + \text{const}$ (docs/protocols.md §4a; the
//! constant needs $\|A^\top q\|_2^2 = K$, i.e. a tight frame). With $f = -w\|M^\top q\|_4^4$
//! ($M = Y, w = c/p$ empirically; $M = A, w = \tfrac14$ in expectation) every routine here uses
//! $$\nabla f = -4w\,M (M^\top q)^{\circ3},\quad \nabla^2 f = -12w\,M\,\mathrm{diag}\big((M^\top q)^{\circ2}\big)M^\top,$$
//! $$\mathrm{grad}\,f = P_q\nabla f,\quad \mathrm{Hess}\,f = P_q\nabla^2 f P_q - (q^\top\nabla f)\,P_q,\quad P_q = I - qq^\top .$$
//!
//! **Solvers** ([`SphereSolver`]), batched over many starts so that each iteration is two GEMMs:
//! Riemannian gradient descent $q \leftarrow \mathrm{normalize}(q - \eta\,\mathrm{grad} f)$ with
//! Armijo backtracking per start (η ours: doubled after each accepted step, halved on rejection),
//! and the fixed-point / power iteration $q \leftarrow \mathrm{normalize}(M (M^\top q)^{\circ3})$
//! (the sphere analogue of MSP). Both stop a start when $\|\mathrm{grad} f\| \le \text{tol}\cdot|q^\top\nabla f|$.
//!
//! **Whole dictionary** ([`L4Sphere`]): rounds of random starts (uniform on the sphere), converged
//! limits ranked by ℓ4 value and de-duplicated up to sign (|cos| > 0.99), until m atoms are found
//! or the rounds run out. Deflation is not exact for overcomplete A (docs/protocols.md §4a) and is not
//! offered. **Preconditioning** ([`Precondition::Whiten`]): $\bar Y = PY$ with
//! $P = (\tfrac1p YY^\top / s)^{-1/2}$, $s$ the mean eigenvalue, which makes the effective dictionary
//! $PA$ a tight frame in expectation (for a UNTF, $P \to I$); atoms map back as $a \propto P^{-1}q$.
//! This is the preconditioning of Qu et al.'s convolutional section (§4a) applied to the plain
//! model, so that non-tight (e.g. coherence-targeted) dictionaries can be tried.
//!
//! **Landscape tools**: [`L4Objective`] (value, gradients, Hessian, batched values),
//! [`L4Objective::classify`] (near ±a_i / negative curvature / spurious minimum / not critical),
//! [`L4Objective::newton_critical_point`] (Riemannian Newton, which converges to saddles and maxima
//! as well as minima — used to map every critical point in n = 3) and equal-area coordinates.
//!
//! The convolutional variant is [`crate::conv::ConvL4`] (`conv_l4`).
//!
//! ## References
//! * Qu, Zhai, Li, Zhang, Zhu (2020), "Analysis of the optimization landscapes for overcomplete
//!   representation learning", ICLR (arXiv 1912.02427): the objective and Riemannian gradient
//!   descent from random initializations as docs/protocols.md §4a states them (equation numbers not
//!   checked against the PDF).
//! * Absil, Mahony, Sepulchre (2008), *Optimization Algorithms on Matrix Manifolds*, §4.1
//!   (retractions), §5.5 (Riemannian Hessian on a submanifold such as the sphere), ch. 6
//!   (Riemannian Newton method).

use super::LearnerSpec;
use super::{DictionaryLearner, Init, LearnState, Learned, check_signals};
use crate::error::{Error, Result, ensure};
use crate::generate::normalize_columns;
use crate::iter::{self, Criterion, Iterative, Observer, Record, Schedule, SolveInfo, Stop};
use crate::linalg::{self, Par};
use crate::rng::rng_from_seed;
use crate::spec::{Dflt, Param, Ty};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::Rng;

/// The ℓ4 objective on the sphere, $f(q) = -w\|M^\top q\|_4^4$ (see the module docs).
#[derive(Clone, Debug)]
pub struct L4Objective {
    m: Array2<f64>,
    w: f64,
}

/// What a point of the sphere is, for the ℓ4 landscape ([`L4Objective::classify`]).
#[derive(Clone, Debug, PartialEq)]
pub enum PointKind {
    /// Within the atom tolerance of ±a_atom: max |⟨a_i, q⟩| ≥ 1 − ε.
    NearAtom {
        /// Index of the closest atom.
        atom: usize,
        /// Sign of ⟨a_atom, q⟩.
        sign: f64,
        /// |⟨a_atom, q⟩|.
        cos: f64,
    },
    /// A critical point with a direction of negative curvature (a saddle or a maximum of f).
    NegativeCurvature {
        /// Smallest eigenvalue of the Riemannian Hessian on the tangent space.
        min_curvature: f64,
        /// ‖grad f‖ relative to |qᵀ∇f|.
        grad_norm: f64,
    },
    /// A critical point with no negative curvature that is not near an atom.
    SpuriousMinimum {
        /// Smallest eigenvalue of the Riemannian Hessian on the tangent space.
        min_curvature: f64,
        /// ‖grad f‖ relative to |qᵀ∇f|.
        grad_norm: f64,
    },
    /// Not a critical point at the gradient tolerance.
    NotCritical {
        /// ‖grad f‖ relative to |qᵀ∇f|.
        grad_norm: f64,
    },
}

impl PointKind {
    /// Short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            PointKind::NearAtom { .. } => "near_atom",
            PointKind::NegativeCurvature { .. } => "negative_curvature",
            PointKind::SpuriousMinimum { .. } => "spurious_minimum",
            PointKind::NotCritical { .. } => "not_critical",
        }
    }
}

/// Tolerances of [`L4Objective::classify`]. Gradient and curvature are measured relative to
/// |qᵀ∇f(q)| = 4|f(q)|, so they do not depend on the scale of the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassifyTol {
    /// Near an atom if max |⟨a_i, q⟩| ≥ 1 − `atom_eps` (docs/protocols.md §0 `l4_single`, ε = 0.01).
    pub atom_eps: f64,
    /// Critical if ‖grad f‖ ≤ `grad` · |qᵀ∇f|.
    pub grad: f64,
    /// Negative curvature if λ_min(Hess f) < −`curvature` · |qᵀ∇f|.
    pub curvature: f64,
}

impl Default for ClassifyTol {
    fn default() -> Self {
        ClassifyTol {
            atom_eps: 0.01,
            grad: 1e-5,
            curvature: 1e-6,
        }
    }
}

fn check_unit(q: ArrayView1<'_, f64>, n: usize) -> Result<()> {
    ensure!(
        q.len() == n,
        "q",
        format!("a vector of length {}", q.len()),
        format!("a point of the sphere in R^{n}")
    );
    let nq = q.dot(&q).sqrt();
    ensure!(
        (nq - 1.0).abs() < 1e-8,
        "q",
        format!("‖q‖ = {nq}"),
        "a unit vector (divide q by its norm)"
    );
    Ok(())
}

impl L4Objective {
    /// Qu et al.'s empirical objective $-\frac{c}{p}\|Y^\top q\|_4^4$ with $c = 1/(12\theta(1-\theta))$.
    ///
    /// # Errors
    /// θ outside (0, 1), non-finite or all-zero signals, fewer signals than the dimension, or
    /// signals that do not span R^n (then some direction sees no data: reduce n or pass more
    /// signals).
    pub fn empirical(y: ArrayView2<'_, f64>, theta: f64) -> Result<Self> {
        check_theta(theta)?;
        let (n, p) = y.dim();
        crate::error::check_finite("signals", y)?;
        ensure!(
            p >= n,
            "n_samples",
            p,
            format!("at least n = {n} signals (p ≫ n for the landscape to be benign)")
        );
        let ratio = eig_ratio_rows(y)?;
        ensure!(
            ratio > 1e-12,
            "signals",
            format!("rank-deficient (λ_min/λ_max = {ratio:.2e})"),
            "signals spanning R^n: pass more signals, or a full-row-rank dictionary"
        );
        Ok(Self::empirical_checked(y.to_owned(), theta))
    }

    /// The empirical objective of signals already known to be finite and to span R^n (e.g. the
    /// output of a [`Whitener`], whose construction checked the rank), taking ownership.
    fn empirical_checked(y: Array2<f64>, theta: f64) -> Self {
        let p = y.ncols() as f64;
        let c = 1.0 / (12.0 * theta * (1.0 - theta));
        L4Objective { m: y, w: c / p }
    }

    /// The expected objective $-\tfrac14\|A^\top q\|_4^4$ of a **unit-norm tight frame** A
    /// (‖AAᵀ − (m/n)I‖_F ≤ 1e-6·√n), for which it equals E f up to a constant.
    ///
    /// # Errors
    /// Columns not unit-norm, A not full row rank, or not a tight frame (use
    /// [`Self::population_any`] to study ‖Aᵀq‖₄⁴ of any full-rank A).
    pub fn population(a: ArrayView2<'_, f64>) -> Result<Self> {
        let o = Self::population_any(a)?;
        let (n, m) = a.dim();
        let r = crate::generate::dictionary::tightness_residual(a);
        ensure!(
            r <= 1e-6 * (n as f64).sqrt(),
            "dictionary",
            format!("‖AAᵀ − (m/n)I‖_F = {r:.2e}"),
            format!(
                "a unit-norm tight frame (AAᵀ = {:.3}·I): make one with \
                 generate::unit_norm_tight_frame, or use L4Objective::population_any",
                m as f64 / n as f64
            )
        );
        Ok(o)
    }

    /// $-\tfrac14\|A^\top q\|_4^4$ for any full-row-rank A with unit-norm columns (not the
    /// expectation of the empirical objective unless A is tight).
    ///
    /// # Errors
    /// Columns not unit-norm, or A not full row rank.
    pub fn population_any(a: ArrayView2<'_, f64>) -> Result<Self> {
        let (n, m) = a.dim();
        crate::error::check_finite("dictionary", a)?;
        ensure!(m >= n, "n_atoms", m, format!("m ≥ n = {n} atoms"));
        for (j, c) in a.axis_iter(Axis(1)).enumerate() {
            let nc = c.dot(&c).sqrt();
            ensure!(
                (nc - 1.0).abs() < 1e-8,
                "dictionary",
                format!("‖a_{j}‖ = {nc}"),
                "unit-norm columns (generate::normalize_columns)"
            );
        }
        let ratio = eig_ratio_rows(a)?;
        ensure!(
            ratio > 1e-10,
            "dictionary",
            format!("rank-deficient (λ_min/λ_max of AAᵀ = {ratio:.2e})"),
            "a dictionary of full row rank n"
        );
        Ok(L4Objective {
            m: a.to_owned(),
            w: 0.25,
        })
    }

    /// Dimension n.
    pub fn dim(&self) -> usize {
        self.m.nrows()
    }

    /// f(q) (q need not be unit-norm here).
    pub fn value(&self, q: ArrayView1<'_, f64>) -> f64 {
        self.f_of(self.m.t().dot(&q).view())
    }

    /// f from z = Mᵀq: −w Σ z⁴.
    fn f_of(&self, z: ArrayView1<'_, f64>) -> f64 {
        -self.w * z.iter().map(|v| (v * v) * (v * v)).sum::<f64>()
    }

    /// The Riemannian gradient (I − qqᵀ)∇f, its norm relative to |qᵀ∇f|, and |qᵀ∇f| (the scale of
    /// every tolerance here); no check on q.
    fn grad_parts(&self, q: ArrayView1<'_, f64>) -> (Array1<f64>, f64, f64) {
        let g = self.euclidean_grad(q);
        let c = q.dot(&g);
        let rg = &g - &(&q * c);
        let scale = c.abs().max(1e-300);
        let rel = rg.dot(&rg).sqrt() / scale;
        (rg, rel, scale)
    }

    /// Euclidean gradient ∇f(q) = −4w M (Mᵀq)^∘3.
    pub fn euclidean_grad(&self, q: ArrayView1<'_, f64>) -> Array1<f64> {
        let z = self.m.t().dot(&q).mapv(|v| v * v * v);
        self.m.dot(&z) * (-4.0 * self.w)
    }

    /// Riemannian gradient (I − qqᵀ)∇f(q).
    ///
    /// # Errors
    /// `q` not a unit vector of R^n.
    pub fn riemannian_grad(&self, q: ArrayView1<'_, f64>) -> Result<Array1<f64>> {
        check_unit(q, self.dim())?;
        Ok(self.grad_parts(q).0)
    }

    /// Riemannian Hessian as an n × n matrix, P(∇²f)P − (qᵀ∇f)P with P = I − qqᵀ (q is in its null
    /// space; its other eigenvalues are the curvatures on the tangent space).
    ///
    /// # Errors
    /// `q` not a unit vector of R^n.
    pub fn riemannian_hessian(&self, q: ArrayView1<'_, f64>) -> Result<Array2<f64>> {
        check_unit(q, self.dim())?;
        let n = self.dim();
        let z = self.m.t().dot(&q);
        let mut ms = self.m.clone();
        for (mut c, zi) in ms.axis_iter_mut(Axis(1)).zip(z.iter()) {
            c *= *zi;
        }
        let mut h = linalg::matmul_nt(ms.view(), ms.view(), linalg::par());
        h *= -12.0 * self.w;
        let c = q.dot(&self.euclidean_grad(q));
        let mut p = Array2::<f64>::eye(n);
        for i in 0..n {
            for j in 0..n {
                p[(i, j)] -= q[i] * q[j];
            }
        }
        let mut hr = p.dot(&h).dot(&p);
        hr.scaled_add(-c, &p);
        // symmetrize rounding
        let hr2 = (&hr + &hr.t()) * 0.5;
        Ok(hr2)
    }

    /// Curvatures on the tangent space: the eigenvalues of [`Self::riemannian_hessian`] without
    /// the one along q, non-decreasing.
    ///
    /// # Errors
    /// `q` not a unit vector of R^n; eigendecomposition failure.
    pub fn tangent_curvatures(&self, q: ArrayView1<'_, f64>) -> Result<Vec<f64>> {
        let h = self.riemannian_hessian(q)?;
        let (w, u) = linalg::eigh(h.view())?;
        let drop = (0..w.len())
            .max_by(|&a, &b| {
                u.column(a)
                    .dot(&q)
                    .abs()
                    .total_cmp(&u.column(b).dot(&q).abs())
            })
            .unwrap_or(0);
        Ok((0..w.len()).filter(|&i| i != drop).map(|i| w[i]).collect())
    }

    /// Values and Euclidean gradients of the columns of `q` (n × B): two GEMMs.
    pub fn values_grads(&self, q: ArrayView2<'_, f64>) -> (Array1<f64>, Array2<f64>) {
        let par = linalg::par();
        let mut z = linalg::matmul_tn(self.m.view(), q, par);
        let vals = z.axis_iter(Axis(1)).map(|c| self.f_of(c)).collect();
        z.mapv_inplace(|v| v * v * v);
        let mut g = linalg::matmul_nn(self.m.view(), z.view(), par);
        g *= -4.0 * self.w;
        (vals, g)
    }

    /// Values of the columns of `q` (n × B): one GEMM.
    pub fn values(&self, q: ArrayView2<'_, f64>) -> Array1<f64> {
        let z = linalg::matmul_tn(self.m.view(), q, linalg::par());
        z.axis_iter(Axis(1)).map(|c| self.f_of(c)).collect()
    }

    /// Classify a unit vector q against the atoms (columns of `atoms`, normalised here): near an
    /// atom, else by the Riemannian gradient and the smallest tangent curvature.
    ///
    /// # Errors
    /// `q` not a unit vector, `atoms` of the wrong height or with a zero column.
    pub fn classify(
        &self,
        q: ArrayView1<'_, f64>,
        atoms: ArrayView2<'_, f64>,
        tol: &ClassifyTol,
    ) -> Result<PointKind> {
        let n = self.dim();
        check_unit(q, n)?;
        if atoms.nrows() != n {
            return Err(Error::shape(
                "atoms (n × m)",
                (n, atoms.ncols()),
                atoms.dim(),
            ));
        }
        let mut a = atoms.to_owned();
        normalize_columns(&mut a)?;
        let cos = a.t().dot(&q);
        if let Some((i, c)) = cos
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.abs().total_cmp(&y.1.abs()))
            && c.abs() >= 1.0 - tol.atom_eps
        {
            return Ok(PointKind::NearAtom {
                atom: i,
                sign: c.signum(),
                cos: c.abs(),
            });
        }
        let (_, gn, scale) = self.grad_parts(q);
        if gn > tol.grad {
            return Ok(PointKind::NotCritical { grad_norm: gn });
        }
        let lmin = self
            .tangent_curvatures(q)?
            .first()
            .copied()
            .unwrap_or(f64::NAN);
        Ok(if lmin < -tol.curvature * scale {
            PointKind::NegativeCurvature {
                min_curvature: lmin,
                grad_norm: gn,
            }
        } else {
            PointKind::SpuriousMinimum {
                min_curvature: lmin,
                grad_norm: gn,
            }
        })
    }

    /// Riemannian Newton iteration from `q0` (unit): q ← normalize(q − Hess⁺ grad) on the tangent
    /// space, until ‖grad f‖ ≤ `tol`·|qᵀ∇f| or `max_iters`. Converges to the nearby critical point
    /// whatever its index, so many random starts map saddles and maxima as well as minima.
    /// Returns the last point and whether it met the tolerance.
    ///
    /// # Errors
    /// `q0` not a unit vector; eigendecomposition failure.
    pub fn newton_critical_point(
        &self,
        q0: ArrayView1<'_, f64>,
        max_iters: usize,
        tol: f64,
    ) -> Result<(Array1<f64>, bool)> {
        check_unit(q0, self.dim())?;
        let mut q = q0.to_owned();
        for _ in 0..max_iters {
            let (rg, rel, _) = self.grad_parts(q.view());
            if rel <= tol {
                return Ok((q, true));
            }
            let h = self.riemannian_hessian(q.view())?;
            let (w, u) = linalg::eigh(h.view())?;
            let mut step = Array1::<f64>::zeros(q.len());
            let wmax = w.iter().fold(0.0f64, |a, b| a.max(b.abs()));
            for i in 0..w.len() {
                let ui = u.column(i);
                if ui.dot(&q).abs() > 0.5 || w[i].abs() <= 1e-12 * wmax {
                    continue;
                }
                step.scaled_add(-ui.dot(&rg) / w[i], &ui);
            }
            // keep steps on the sphere's scale (a full Newton step of length > 1 leaves the chart)
            let sn = step.dot(&step).sqrt();
            if sn > 0.5 {
                step *= 0.5 / sn;
            }
            q += &step;
            let nq = q.dot(&q).sqrt();
            q /= nq;
        }
        let ok = self.grad_parts(q.view()).1 <= tol;
        Ok((q, ok))
    }
}

impl L4Objective {
    /// The critical points that Riemannian Newton ([`L4Objective::newton_critical_point`], at
    /// most `iters` steps to a gradient below `tol`) reaches from the columns of `starts`,
    /// deduplicated (two limits closer than 1e-6 are one point; q and −q are two), each with its
    /// [`L4Objective::classify`] against `atoms`. Newton converges to the nearby critical point
    /// whatever its index, so minima, saddles and maxima of f are all found.
    ///
    /// # Errors
    /// A start that is not a unit vector of the objective's dimension; `atoms` of another height.
    pub fn critical_points(
        &self,
        atoms: ArrayView2<'_, f64>,
        starts: ArrayView2<'_, f64>,
        iters: usize,
        tol: f64,
        ctol: &ClassifyTol,
    ) -> Result<Vec<(Array1<f64>, PointKind)>> {
        let mut found: Vec<Array1<f64>> = Vec::new();
        for q0 in starts.columns() {
            let (q, ok) = self.newton_critical_point(q0, iters, tol)?;
            if ok && found.iter().all(|c| (c - &q).dot(&(c - &q)).sqrt() > 1e-6) {
                found.push(q);
            }
        }
        found
            .into_iter()
            .map(|q| {
                let k = self.classify(q.view(), atoms, ctol)?;
                Ok((q, k))
            })
            .collect()
    }
}

/// How many points of each kind (by [`PointKind::name`]), in a fixed order: near_atom,
/// negative_curvature, spurious_minimum, not_critical.
pub fn count_kinds(points: &[(Array1<f64>, PointKind)]) -> [(&'static str, usize); 4] {
    let mut out = [
        ("near_atom", 0),
        ("negative_curvature", 0),
        ("spurious_minimum", 0),
        ("not_critical", 0),
    ];
    for (_, k) in points {
        if let Some(e) = out.iter_mut().find(|e| e.0 == k.name()) {
            e.1 += 1;
        }
    }
    out
}

/// The sample-size floor of the ℓ4 learners: p ≥ 2n signals (ℓ4 recovery needs p ≫ n; MSP's
/// experiments use p = 400n).
///
/// # Errors
/// `p < 2n`.
pub fn check_sample_size(n: usize, p: usize) -> Result<()> {
    ensure!(
        p >= 2 * n,
        "n_samples",
        p,
        format!(
            "at least 2n = {} signals for n = {n} (ℓ4 recovery needs p ≫ n; the MSP paper uses p = 400n)",
            2 * n
        )
    );
    Ok(())
}

/// λ_min/λ_max of a aᵀ (how far the rows of `a` are from spanning R^n; 0 if they do not).
fn eig_ratio_rows(a: ArrayView2<'_, f64>) -> Result<f64> {
    let s = linalg::matmul_nt(a, a, linalg::par());
    let ev = linalg::eigvalsh(s.view())?;
    let hi = ev[ev.len() - 1];
    Ok(if hi > 0.0 { ev[0] / hi } else { 0.0 })
}

fn check_theta(theta: f64) -> Result<()> {
    ensure!(
        theta.is_finite() && theta > 0.0 && theta < 1.0,
        "theta",
        theta,
        "a Bernoulli rate θ in (0, 1) (the fraction of active atoms per signal, ≈ k/m)"
    );
    Ok(())
}

/// Equal-area (Lambert cylindrical) coordinates of a unit vector of R³: (longitude in [−π, π],
/// z = sin(latitude) in [−1, 1]). Equal areas on the sphere are equal areas on the map.
///
/// # Errors
/// `q` not a unit vector of R³.
pub fn equal_area(q: ArrayView1<'_, f64>) -> Result<(f64, f64)> {
    check_unit(q, 3)?;
    Ok((q[1].atan2(q[0]), q[2].clamp(-1.0, 1.0)))
}

/// The unit vector of R³ at equal-area coordinates (longitude, z).
pub fn from_equal_area(lon: f64, z: f64) -> Array1<f64> {
    let z = z.clamp(-1.0, 1.0);
    let r = (1.0 - z * z).max(0.0).sqrt();
    ndarray::array![r * lon.cos(), r * lon.sin(), z]
}

/// `b` points uniform on the sphere of R^n (normalised Gaussians), as columns.
pub fn random_sphere(n: usize, b: usize, rng: &mut impl Rng) -> Array2<f64> {
    let mut q = crate::generate::dictionary::gaussian_matrix(n, b, rng);
    normalize_cols(&mut q);
    q
}

/// Solver on the sphere.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SphereSolver {
    /// Fixed-point / power iteration q ← normalize(M (Mᵀq)^∘3).
    Power,
    /// Riemannian gradient descent with Armijo backtracking, from step `step`.
    Rgd {
        /// Initial step η.
        step: f64,
    },
}

impl SphereSolver {
    fn name(&self) -> &'static str {
        match self {
            SphereSolver::Power => "power",
            SphereSolver::Rgd { .. } => "rgd",
        }
    }
}

/// Many runs on the sphere at once (columns of `q`), the state of [`descend`].
#[derive(Clone, Debug)]
pub struct SphereRuns {
    /// Current points (n × B, unit columns).
    pub q: Array2<f64>,
    /// f at the last evaluated point of each run: the current point for converged runs and for
    /// RGD; the point before the last move for active power-iteration runs (saves a GEMM per
    /// iteration).
    pub value: Array1<f64>,
    /// ‖grad f‖ / |qᵀ∇f| at each point (at the last evaluation).
    pub grad_norm: Array1<f64>,
    /// Whether each run met the tolerance.
    pub converged: Vec<bool>,
    /// Iterations of each run.
    pub iters: Vec<usize>,
    step: Vec<f64>,
    active: Vec<usize>,
}

struct Descent<'a> {
    obj: &'a L4Objective,
    solver: SphereSolver,
    tol: f64,
}

fn normalize_cols(q: &mut Array2<f64>) {
    for mut c in q.axis_iter_mut(Axis(1)) {
        let nc = c.dot(&c).sqrt();
        if nc > 1e-300 {
            c /= nc;
        }
    }
}

impl Iterative for Descent<'_> {
    type State = SphereRuns;
    fn step(&mut self, s: &mut SphereRuns) -> Result<()> {
        let act = std::mem::take(&mut s.active);
        let qa = s.q.select(Axis(1), &act);
        let (vals, g) = self.obj.values_grads(qa.view());
        // Riemannian gradients and their relative norms
        let mut rg = g.clone();
        let mut rel = vec![0.0; act.len()];
        for (j, mut c) in rg.axis_iter_mut(Axis(1)).enumerate() {
            let qj = qa.column(j);
            let d = qj.dot(&g.column(j));
            c.scaled_add(-d, &qj);
            rel[j] = c.dot(&c).sqrt() / d.abs().max(1e-300);
        }
        // bookkeeping shared by both solvers; `pending` = local indices of runs still moving
        let mut pending: Vec<usize> = vec![];
        for (j, &k) in act.iter().enumerate() {
            s.value[k] = vals[j];
            s.grad_norm[k] = rel[j];
            s.iters[k] += 1;
            if rel[j] <= self.tol {
                s.converged[k] = true;
            } else {
                pending.push(j);
            }
        }
        let mut still = Vec::with_capacity(pending.len());
        match self.solver {
            SphereSolver::Power => {
                let mut qn = -g;
                normalize_cols(&mut qn);
                for &j in &pending {
                    s.q.column_mut(act[j]).assign(&qn.column(j));
                    still.push(act[j]);
                }
            }
            SphereSolver::Rgd { .. } => {
                let gsq: Vec<f64> = (0..act.len())
                    .map(|j| rg.column(j).dot(&rg.column(j)))
                    .collect();
                for _ in 0..60 {
                    if pending.is_empty() {
                        break;
                    }
                    let mut cand = Array2::zeros((qa.nrows(), pending.len()));
                    for (i, &j) in pending.iter().enumerate() {
                        let k = act[j];
                        let mut c = cand.column_mut(i);
                        c.assign(&qa.column(j));
                        c.scaled_add(-s.step[k], &rg.column(j));
                    }
                    normalize_cols(&mut cand);
                    let v = self.obj.values(cand.view());
                    let mut next = vec![];
                    for (i, &j) in pending.iter().enumerate() {
                        let k = act[j];
                        if v[i] <= vals[j] - 1e-4 * s.step[k] * gsq[j] {
                            s.q.column_mut(k).assign(&cand.column(i));
                            s.value[k] = v[i];
                            s.step[k] *= 2.0;
                            still.push(k);
                        } else {
                            s.step[k] *= 0.5;
                            next.push(j);
                        }
                    }
                    pending = next;
                }
                still.extend(pending.iter().map(|&j| act[j]));
                still.sort_unstable();
            }
        }
        s.active = still;
        Ok(())
    }
    fn objective(&self, s: &SphereRuns) -> f64 {
        s.value.mean().unwrap_or(f64::NAN)
    }
    fn record(&self, s: &SphereRuns, rec: &mut Record) {
        rec.set("n_active", s.active.len() as f64);
        rec.set(
            "min_value",
            s.value.iter().copied().fold(f64::INFINITY, f64::min),
        );
    }
    fn converged(&self, s: &SphereRuns) -> Option<Criterion> {
        s.active
            .is_empty()
            .then_some(Criterion::Solver("all_runs_converged"))
    }
}

/// Run `solver` on `obj` from every column of `q0` (unit columns), at most `max_iters` iterations,
/// each run stopping when ‖grad f‖ ≤ `tol`·|qᵀ∇f|.
///
/// # Errors
/// `q0` of the wrong height or with a zero column, non-finite input, invalid tolerance or step.
pub fn descend(
    obj: &L4Objective,
    q0: ArrayView2<'_, f64>,
    solver: SphereSolver,
    tol: f64,
    max_iters: usize,
    schedule: Schedule,
    observer: &mut dyn Observer<SphereRuns>,
) -> Result<(SphereRuns, SolveInfo)> {
    let n = obj.dim();
    if q0.nrows() != n {
        return Err(Error::shape(
            "starting points (n × B)",
            (n, q0.ncols()),
            q0.dim(),
        ));
    }
    crate::error::check_finite("starting points", q0)?;
    ensure!(tol.is_finite() && tol > 0.0, "tol", tol, "a tolerance > 0");
    let step0 = match solver {
        SphereSolver::Rgd { step } => {
            ensure!(step.is_finite() && step > 0.0, "step", step, "a step > 0");
            step
        }
        SphereSolver::Power => 1.0,
    };
    let mut q = q0.to_owned();
    normalize_columns(&mut q)?;
    let b = q.ncols();
    let value = obj.values(q.view());
    let state = SphereRuns {
        q,
        value,
        grad_norm: Array1::from_elem(b, f64::NAN),
        converged: vec![false; b],
        iters: vec![0; b],
        step: vec![step0; b],
        active: (0..b).collect(),
    };
    let mut alg = Descent { obj, solver, tol };
    iter::run(&mut alg, state, &Stop::iters(max_iters), schedule, observer)
}

/// Optional preconditioning of the signals before the sphere problem.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Precondition {
    /// Use Y as is (Qu et al.'s model: A a unit-norm tight frame).
    None,
    /// Whiten: $\bar Y = (\frac1p YY^\top/s)^{-1/2} Y$, s the mean eigenvalue.
    Whiten,
}

/// A whitening map and its inverse.
#[derive(Clone, Debug)]
pub struct Whitener {
    /// P (n × n, symmetric).
    pub p: Array2<f64>,
    /// P⁻¹.
    pub p_inv: Array2<f64>,
}

impl Whitener {
    /// P = (YYᵀ/p / s)^{−1/2}.
    ///
    /// # Errors
    /// Signals that do not span R^n.
    pub fn new(y: ArrayView2<'_, f64>) -> Result<Self> {
        let (n, p) = y.dim();
        let mut s = linalg::matmul_nt(y, y, linalg::par());
        s /= p as f64;
        let (w, u) = linalg::eigh(s.view())?;
        let mean = w.sum() / n as f64;
        ensure!(
            mean > 0.0 && w[0] > 1e-12 * w[n - 1],
            "signals",
            format!(
                "rank-deficient covariance (λ_min/λ_max = {:.2e})",
                w[0] / w[n - 1].max(1e-300)
            ),
            "signals spanning R^n (p ≥ n and a full-row-rank dictionary), or Precondition::None"
        );
        let f = |e: f64| {
            let mut d = u.clone();
            for (mut c, wi) in d.axis_iter_mut(Axis(1)).zip(w.iter()) {
                c *= (wi / mean).powf(e);
            }
            linalg::matmul_nt(d.view(), u.view(), Par::Seq)
        };
        Ok(Whitener {
            p: f(-0.5),
            p_inv: f(0.5),
        })
    }
}

impl crate::spec::Choice for SphereSolver {
    fn from_word(w: &str) -> Option<Self> {
        match w {
            "power" => Some(SphereSolver::Power),
            "rgd" => Some(SphereSolver::Rgd { step: 1.0 }),
            _ => None,
        }
    }
    fn word(&self) -> &'static str {
        self.name()
    }
}

impl crate::spec::ParamValue for Precondition {
    fn to_value(&self) -> Option<crate::table::Value> {
        Some(crate::table::Value::Bool(*self == Precondition::Whiten))
    }
    fn read(p: &crate::spec::Params<'_>, key: &str) -> Result<Self> {
        Ok(if p.bool(key) {
            Precondition::Whiten
        } else {
            Precondition::None
        })
    }
}

/// The parameter `theta` of `l4`.
pub const THETA: Param = Param::new(
    "theta",
    Ty::Fraction,
    Dflt::Auto("k/m, else 0.1"),
    "Bernoulli rate θ of the codes",
);

/// The parameter `sparsity` of `l4` (only a default for θ).
pub const L4_SPARSITY: Param = Param::new(
    "sparsity",
    Ty::Count,
    Dflt::Auto("instance k"),
    "k (sets θ = k/m when theta is unset)",
);

crate::declare_method! {
    /// Overcomplete (or complete) dictionary learning by ℓ4 minimization over the sphere from random
    /// starts (Qu et al.), rounds of [`descend`] + de-duplication (see the module docs).
    ///
    /// The first round starts from the columns of `init` (mapped through the preconditioner),
    /// completed by uniform random points; later rounds start uniform at random. Atoms not yet
    /// found keep their `init` column in the state's dictionary (records count `n_found`). The
    /// codes of the result are empty (m × 0): ℓ4 recovery produces no codes; code with any
    /// [`crate::code::SparseCoder`] afterwards.
    #[derive(Clone, Debug, PartialEq)]
    pub struct L4Sphere {
        given {}
        derived {
            /// Bernoulli rate θ in c = 1/(12θ(1−θ)), in (0, 1) (scales f only)
            theta: f64 = [THETA, L4_SPARSITY] => |p, ctx| match p.f64_opt("theta") {
                Some(t) => t,
                None => p
                    .sparsity_opt(ctx)
                    .map_or(0.1, |k| k as f64 / ctx.n_atoms.max(1) as f64),
            };
        }
        params {
            /// iterations per run
            iters: usize = param(Count, 500);
            /// random starts per round (unset: max(2m, 16))
            starts: Option<usize> = auto(Count, "max(2m, 16)");
            /// rounds of starts
            rounds: usize = param(Count, 8);
            /// fixed-point (power) iteration or Riemannian gradient descent (initial step 1)
            solver as "sphere_solver": SphereSolver = choice(["power", "rgd"], "power");
            /// whiten the signals first (the model assumes a tight frame)
            precondition as "whiten": Precondition = param_as(Bool, true, Precondition::Whiten);
            /// ‖grad f‖/‖qᵀ∇f‖ at convergence
            tol: f64 = param(Positive, 1e-6);
            /// limits with |cos| above this are one atom
            dedup_cos: f64 = param(Between(0.0, 1.0), 0.99);
        }
    }
}

impl L4Sphere {
    /// Validate.
    ///
    /// # Errors
    /// A parameter outside its range.
    pub fn check(&self) -> Result<()> {
        check_theta(self.theta)?;
        self.check_params()?;
        if let SphereSolver::Rgd { step } = self.solver {
            ensure!(step.is_finite() && step > 0.0, "step", step, "a step > 0");
        }
        Ok(())
    }
}

/// The outer rounds on the engine.
struct Rounds<'a> {
    cfg: &'a L4Sphere,
    obj: L4Objective,
    white: Option<Whitener>,
    init: Array2<f64>,
    /// Found atoms (original space, unit) with their ℓ4 value (f, lower is better).
    found: Vec<(Array1<f64>, f64)>,
    starts: usize,
    last_converged: usize,
    last_runs: usize,
}

impl Rounds<'_> {
    fn to_atom(&self, q: ArrayView1<'_, f64>) -> Array1<f64> {
        let mut a = match &self.white {
            Some(w) => w.p_inv.dot(&q),
            None => q.to_owned(),
        };
        let na = a.dot(&a).sqrt().max(1e-300);
        a /= na;
        a
    }
}

impl Iterative for Rounds<'_> {
    type State = LearnState;
    fn step(&mut self, s: &mut LearnState) -> Result<()> {
        let (n, m) = s.dict.dim();
        let b = self.starts;
        let mut q0 = random_sphere(n, b, &mut s.rng);
        if s.step == 0 {
            let mapped = match &self.white {
                Some(w) => w.p.dot(&self.init),
                None => self.init.clone(),
            };
            let k = m.min(b);
            q0.slice_mut(ndarray::s![.., ..k])
                .assign(&mapped.slice(ndarray::s![.., ..k]));
        }
        let (runs, _) = descend(
            &self.obj,
            q0.view(),
            self.cfg.solver,
            self.cfg.tol,
            self.cfg.iters,
            Schedule::Never,
            &mut iter::NoObserver,
        )?;
        let mut cands: Vec<(Array1<f64>, f64)> = std::mem::take(&mut self.found);
        let mut conv = 0;
        for j in 0..b {
            if runs.converged[j] {
                conv += 1;
                cands.push((self.to_atom(runs.q.column(j)), runs.value[j]));
            }
        }
        cands.sort_by(|x, y| x.1.total_cmp(&y.1));
        let mut kept: Vec<(Array1<f64>, f64)> = vec![];
        for (a, v) in cands {
            if kept.len() >= m {
                break;
            }
            if kept
                .iter()
                .all(|(k, _)| k.dot(&a).abs() <= self.cfg.dedup_cos)
            {
                kept.push((a, v));
            }
        }
        for j in 0..m {
            match kept.get(j) {
                Some((a, _)) => s.dict.column_mut(j).assign(a),
                None => s.dict.column_mut(j).assign(&self.init.column(j)),
            }
        }
        self.found = kept;
        self.last_converged = conv;
        self.last_runs = b;
        s.step += 1;
        s.samples_seen += b;
        Ok(())
    }
    fn objective(&self, s: &LearnState) -> f64 {
        if s.dict.iter().any(|v| !v.is_finite()) {
            return f64::NAN;
        }
        -(self.found.len() as f64)
    }
    fn record(&self, _s: &LearnState, rec: &mut Record) {
        rec.set("n_found", self.found.len() as f64);
        rec.set("starts_converged", self.last_converged as f64);
        rec.set("starts", self.last_runs as f64);
        if let Some(v) = self.found.last() {
            rec.set("weakest_l4_value", -v.1);
        }
    }
    fn converged(&self, s: &LearnState) -> Option<Criterion> {
        (self.found.len() >= s.dict.ncols()).then_some(Criterion::Solver("all_atoms_found"))
    }
}

impl DictionaryLearner for L4Sphere {
    fn name(&self) -> String {
        format!(
            "l4[theta={},solver={},precondition={}]",
            self.theta,
            self.solver.name(),
            match self.precondition {
                Precondition::None => "none",
                Precondition::Whiten => "whiten",
            }
        )
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
        self.check()?;
        let (n, p) = y.dim();
        check_signals(y, m)?;
        ensure!(
            m >= n,
            "n_atoms",
            m,
            format!(
                "m ≥ n = {n} (complete or overcomplete); for m < n project the signals onto their \
                 top-m principal subspace first"
            )
        );
        check_sample_size(n, p)?;
        let mut rng = rng_from_seed(seed);
        let d0 = init.build(y, m, &mut rng)?;
        let (white, obj) = match self.precondition {
            Precondition::None => (None, L4Objective::empirical(y, self.theta)?),
            Precondition::Whiten => {
                let w = Whitener::new(y)?;
                let yb = linalg::matmul_nn(w.p.view(), y, linalg::par());
                (Some(w), L4Objective::empirical_checked(yb, self.theta))
            }
        };
        let starts = self.starts.unwrap_or((2 * m).max(16));
        let mut alg = Rounds {
            cfg: self,
            obj,
            white,
            init: d0.clone(),
            found: vec![],
            starts,
            last_converged: 0,
            last_runs: 0,
        };
        let state = LearnState::new(d0, rng);
        let (s, info) = iter::run(&mut alg, state, &Stop::iters(self.rounds), schedule, obs)?;
        Ok(Learned::from_state(s, info))
    }
}

/// `l4`: overcomplete ℓ4 maximization on the sphere.
pub const SPEC: LearnerSpec = LearnerSpec {
    name: "l4",
    family: crate::spec::Family::Classical,
    summary: "ℓ4 maximization on the sphere from random starts (Qu et al. 2019), m ≥ n",
    params: L4Sphere::PARAMS,
    budget: crate::spec::Budget::None,
    build: |p, ctx| Ok(Box::new(L4Sphere::from_params(p, ctx)?)),
};
