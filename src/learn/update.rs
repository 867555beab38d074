//! Dictionary updates (A given X) for [`super::AlternatingMinimization`].
//!
//! * [`Mod`]: $A = Y X^\top (XX^\top + \epsilon I)^{-1}$ (Engan et al. 1999, eq. (5)), one m × m
//!   Cholesky solve (faer); then unit-norm columns with the codes rescaled so that AX is unchanged.
//! * [`Ksvd`]: atom by atom on the signals ω_j that use atom j, with $E = Y_\omega - AX_\omega +
//!   a_j x_{j,\omega}$: exact — the top singular pair of E (Aharon et al. 2006, Alg. 1 stage 2);
//!   approximate — one step $a = Eg/\|Eg\|$, $g = E^\top a$ (Rubinstein et al. 2008, Alg. 5). The
//!   residual $R = Y - AX$ is kept up to date, so each atom costs O(n |ω_j|).
//! * [`Bcd`]: Mairal et al. 2010, Alg. 2, with $\mathcal A = XX^\top$, $\mathcal B = YX^\top$:
//!   $u_j = (b_j - A\alpha_j)/\mathcal A_{jj} + a_j$, $a_j = u_j/\|u_j\|$.

use super::{AltMinOptions, AlternatingMinimization, CODER_LAMBDA, LearnerSpec, coder_from_params};
use crate::code::{Omp, SPARSITY};
use crate::error::{Error, Result};
use crate::linalg;
use crate::spec::{LAMBDA_SCALE, Param, concat_params, params_len};
use ndarray::{Array1, Array2, ArrayView2, Axis};

/// The coding step of `mod` and `bcd` ([`coder_from_params`]), the outer loop, the update.
const MOD_PARTS: &[&[Param]] = &[
    &[SPARSITY, CODER_LAMBDA, LAMBDA_SCALE],
    AltMinOptions::PARAMS,
    Mod::PARAMS,
];
const MOD_PARAMS: [Param; params_len(MOD_PARTS)] = concat_params(MOD_PARTS);
const BCD_PARTS: &[&[Param]] = &[
    &[SPARSITY, CODER_LAMBDA, LAMBDA_SCALE],
    AltMinOptions::PARAMS,
    Bcd::PARAMS,
];
const BCD_PARAMS: [Param; params_len(BCD_PARTS)] = concat_params(BCD_PARTS);
/// K-SVD codes with OMP at k only.
const KSVD_PARTS: &[&[Param]] = &[&[SPARSITY], AltMinOptions::PARAMS];
const KSVD_PARAMS: [Param; params_len(KSVD_PARTS)] = concat_params(KSVD_PARTS);

/// `mod`: alternating minimization, MOD update.
pub const MOD_SPEC: LearnerSpec = LearnerSpec {
    name: "mod",
    family: crate::spec::Family::Classical,
    summary: "alternating minimization: OMP (or LARS with lambda) + MOD (Engan et al. 1999)",
    params: &MOD_PARAMS,
    budget: crate::spec::Budget::Iters("iters"),
    build: |p, ctx| {
        Ok(Box::new(AlternatingMinimization {
            coder: coder_from_params(p, ctx)?,
            update: Mod::from_params(p, ctx)?,
            opts: AltMinOptions::from_params(p, ctx)?,
        }))
    },
};

/// `bcd`: alternating minimization, Mairal's block-coordinate update.
pub const BCD_SPEC: LearnerSpec = LearnerSpec {
    name: "bcd",
    family: crate::spec::Family::Classical,
    summary: "alternating minimization: OMP (or LARS) + block-coordinate update (Mairal et al. 2010, Alg. 2)",
    params: &BCD_PARAMS,
    budget: crate::spec::Budget::Iters("iters"),
    build: |p, ctx| {
        Ok(Box::new(AlternatingMinimization {
            coder: coder_from_params(p, ctx)?,
            update: Bcd::from_params(p, ctx)?,
            opts: AltMinOptions::from_params(p, ctx)?,
        }))
    },
};

/// `ksvd`: K-SVD with the exact rank-1 update.
pub const KSVD_SPEC: LearnerSpec = LearnerSpec {
    name: "ksvd",
    family: crate::spec::Family::Classical,
    summary: "K-SVD (Aharon et al. 2006): OMP + exact rank-1 SVD per atom",
    params: &KSVD_PARAMS,
    budget: crate::spec::Budget::Iters("iters"),
    build: |p, ctx| {
        Ok(Box::new(AlternatingMinimization {
            coder: Omp::with_sparsity(p.sparsity(ctx)?),
            update: Ksvd::exact(),
            opts: AltMinOptions::from_params(p, ctx)?,
        }))
    },
};

/// `aksvd`: approximate K-SVD.
pub const AKSVD_SPEC: LearnerSpec = LearnerSpec {
    name: "aksvd",
    family: crate::spec::Family::Classical,
    summary: "approximate K-SVD (Rubinstein et al. 2008, Alg. 5): OMP + one power step per atom",
    params: &KSVD_PARAMS,
    budget: crate::spec::Budget::Iters("iters"),
    build: |p, ctx| {
        Ok(Box::new(AlternatingMinimization {
            coder: Omp::with_sparsity(p.sparsity(ctx)?),
            update: Ksvd::approximate(),
            opts: AltMinOptions::from_params(p, ctx)?,
        }))
    },
};

/// A dictionary update: modifies `dict` (n × m, kept unit-norm) and may modify `codes` (m × N)
/// consistently (K-SVD updates the coefficients of each atom it changes).
pub trait DictUpdate: Send + Sync {
    /// Name used in parametrised method names.
    fn name(&self) -> String;
    /// One update.
    fn update(
        &self,
        dict: &mut Array2<f64>,
        y: ArrayView2<'_, f64>,
        codes: &mut Array2<f64>,
    ) -> Result<()>;
}

crate::declare_method! {
    /// Method of optimal directions: the least-squares dictionary given the codes (Engan et al.
    /// 1999, eq. (5)).
    #[derive(Clone, Debug, PartialEq)]
    pub struct Mod {
        given {}
        params {
            /// ridge ε of XXᵀ + ε·I, relative to trace(XXᵀ)/m (guards unused atoms)
            ridge: f64 = param(NonNegative, 1e-10);
        }
    }
}

impl Default for Mod {
    fn default() -> Self {
        Self::new()
    }
}

fn renormalize(dict: &mut Array2<f64>, codes: &mut Array2<f64>) {
    for (j, mut c) in dict.axis_iter_mut(Axis(1)).enumerate() {
        let nrm = c.dot(&c).sqrt();
        if nrm > 1e-300 {
            c.mapv_inplace(|v| v / nrm);
            codes.row_mut(j).mapv_inplace(|v| v * nrm);
        }
    }
}

impl DictUpdate for Mod {
    fn name(&self) -> String {
        "mod".into()
    }
    fn update(
        &self,
        dict: &mut Array2<f64>,
        y: ArrayView2<'_, f64>,
        codes: &mut Array2<f64>,
    ) -> Result<()> {
        self.check_params()?;
        let par = linalg::par();
        let m = codes.nrows();
        let mut xxt = linalg::matmul_nt(codes.view(), codes.view(), par);
        let tr = (0..m).map(|i| xxt[(i, i)]).sum::<f64>() / m as f64;
        let eps = self.ridge * tr.max(1e-300);
        for i in 0..m {
            xxt[(i, i)] += eps;
        }
        let xyt = linalg::matmul_nt(codes.view(), y, par); // m × n
        let at = linalg::spd_solve(xxt.view(), xyt.view())?; // m × n = Aᵀ
        let old = dict.clone();
        *dict = at.reversed_axes().as_standard_layout().into_owned();
        // atoms with no usage come out ~0: keep the previous atom there
        for j in 0..m {
            let c = dict.column(j);
            if c.dot(&c).sqrt() < 1e-12 {
                dict.column_mut(j).assign(&old.column(j));
            }
        }
        renormalize(dict, codes);
        Ok(())
    }
}

/// K-SVD (exact) or approximate K-SVD.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Ksvd {
    /// Rubinstein et al.'s one-step approximation instead of the exact rank-1 SVD.
    pub approximate: bool,
}

impl Ksvd {
    /// Exact K-SVD.
    pub fn exact() -> Self {
        Ksvd { approximate: false }
    }
    /// Approximate K-SVD.
    pub fn approximate() -> Self {
        Ksvd { approximate: true }
    }
}

impl DictUpdate for Ksvd {
    fn name(&self) -> String {
        if self.approximate {
            "aksvd".into()
        } else {
            "ksvd".into()
        }
    }
    fn update(
        &self,
        dict: &mut Array2<f64>,
        y: ArrayView2<'_, f64>,
        codes: &mut Array2<f64>,
    ) -> Result<()> {
        let (n, m) = dict.dim();
        let mut r = crate::code::residual(dict.view(), y, codes.view()); // n × N
        for j in 0..m {
            let omega: Vec<usize> = codes
                .row(j)
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(i, _)| i)
                .collect();
            if omega.is_empty() {
                continue;
            }
            let aj = dict.column(j).to_owned();
            let g: Array1<f64> = omega.iter().map(|&i| codes[(j, i)]).collect();
            // E = R_ω + a_j g
            let mut e = Array2::zeros((n, omega.len()));
            for (t, &i) in omega.iter().enumerate() {
                let mut col = e.column_mut(t);
                col.assign(&r.column(i));
                col.scaled_add(g[t], &aj);
            }
            let (a_new, g_new) = if self.approximate {
                let mut a = e.dot(&g);
                let na = a.dot(&a).sqrt();
                if na <= 1e-300 {
                    continue;
                }
                a /= na;
                let gn = e.t().dot(&a);
                (a, gn)
            } else {
                let (u, s, v) = linalg::thin_svd(e.view())?;
                let mut a = u.column(0).to_owned();
                let mut gn = v.column(0).to_owned() * s[0];
                if a.dot(&aj) < 0.0 {
                    a.mapv_inplace(|x| -x);
                    gn.mapv_inplace(|x| -x);
                }
                (a, gn)
            };
            if a_new.iter().any(|v| !v.is_finite()) {
                return Err(Error::Linalg {
                    op: "K-SVD atom update",
                    detail: format!("non-finite atom {j}"),
                });
            }
            dict.column_mut(j).assign(&a_new);
            for (t, &i) in omega.iter().enumerate() {
                codes[(j, i)] = g_new[t];
                let mut rc = r.column_mut(i);
                rc.assign(&e.column(t));
                rc.scaled_add(-g_new[t], &a_new);
            }
        }
        Ok(())
    }
}

crate::declare_method! {
    /// Mairal's block-coordinate dictionary update (JMLR 2010, Alg. 2) on the statistics of the
    /// whole data set.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Bcd {
        given {}
        params {
            /// block-coordinate sweeps over the atoms per update
            sweeps: usize = param(Count, 1);
        }
    }
}

impl Default for Bcd {
    fn default() -> Self {
        Self::new()
    }
}

/// One BCD pass on sufficient statistics `a_stat = XXᵀ` (m × m) and `b_stat = YXᵀ` (n × m).
pub fn bcd_sweeps(
    dict: &mut Array2<f64>,
    a_stat: ArrayView2<'_, f64>,
    b_stat: ArrayView2<'_, f64>,
    sweeps: usize,
) {
    let (n, m) = dict.dim();
    let mut u = vec![0.0; n];
    // an unused atom has a (relatively) zero diagonal: relative, so that signals at any scale
    // (A scales as the square of the signals) are learned alike
    let max_diag = (0..m).map(|j| a_stat[(j, j)]).fold(0.0f64, f64::max);
    for _ in 0..sweeps {
        for j in 0..m {
            let ajj = a_stat[(j, j)];
            if ajj <= 1e-12 * max_diag || ajj <= 0.0 {
                continue;
            }
            // A is symmetric: its row j is contiguous (the column is strided)
            let arow = a_stat.row(j);
            for (r, ur) in u.iter_mut().enumerate() {
                let drow = dict.row(r);
                let da = match (drow.as_slice(), arow.as_slice()) {
                    (Some(d), Some(a)) => d.iter().zip(a).map(|(x, y)| x * y).sum::<f64>(),
                    _ => drow.dot(&arow),
                };
                *ur = (b_stat[(r, j)] - da) / ajj + dict[(r, j)];
            }
            let nu = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            if nu > 1e-300 {
                for (r, ur) in u.iter().enumerate() {
                    dict[(r, j)] = ur / nu;
                }
            }
        }
    }
}

impl DictUpdate for Bcd {
    fn name(&self) -> String {
        "bcd".into()
    }
    fn update(
        &self,
        dict: &mut Array2<f64>,
        y: ArrayView2<'_, f64>,
        codes: &mut Array2<f64>,
    ) -> Result<()> {
        self.check_params()?;
        let par = linalg::par();
        let a_stat = linalg::matmul_nt(codes.view(), codes.view(), par);
        let b_stat = linalg::matmul_nt(y, codes.view(), par);
        bcd_sweeps(dict, a_stat.view(), b_stat.view(), self.sweeps);
        Ok(())
    }
}
