//! ITKrM: iterative thresholding and K residual means (Schnass 2018).
//!
//! A dictionary learner with a local convergence guarantee from a start within radius
//! O(1/√S) of the truth and O(K log K) samples per iteration (Schnass 2018, main theorem), at the
//! cost of one correlation Ψᵀ Y and one small projection per signal. One iteration, from the
//! current dictionary Ψ (d × K, unit-norm atoms ψ_k), for every signal y_n:
//! 1. **thresholding**: $I_n$ = the S atoms with the largest $|\langle \psi_k, y_n\rangle|$;
//! 2. **residual**: $r_n = y_n - P(\Psi_{I_n})\,y_n$, the part of $y_n$ outside the span of the
//!    selected atoms ($P$ the orthogonal projection, by least squares on the S atoms);
//! 3. **residual means**: for every selected k, the signal's contribution to atom k is its residual
//!    with atom k's own component put back, signed:
//!    $$\bar\psi_k = \sum_{n:\,k \in I_n} \mathrm{sign}(\langle\psi_k, y_n\rangle)\,\big(r_n + \langle\psi_k, y_n\rangle\,\psi_k\big),
//!    \qquad \psi_k \leftarrow \bar\psi_k / \|\bar\psi_k\|_2.$$
//!
//! There is no global objective; the state's codes are the least-squares coefficients on $I_n$
//! (the codes of the thresholding step) and `data_fit` is ½‖Y − ΨX‖² with them, before the
//! update. An atom no signal selects (ψ̄_k = 0) is replaced by the `unused` policy (counted, as in
//! every learner of the crate). The sparsity S is what the learner is told: the instance's k on the
//! oracle track, k̂ on the blind one.
//!
//! Cost per iteration: Ψᵀ Y and the residual-mean product R Σᵀ (Σ the m × N signed selection) by
//! GEMM, plus O(N (S² d + S³)) for the projections; the per-signal work runs in parallel and every
//! reduction is a GEMM, so the result does not depend on the thread count.
//!
//! ## References
//! * Schnass (2018), "Convergence radius and sample complexity of ITKM algorithms for dictionary
//!   learning", Appl. Comput. Harmon. Anal. 45(1), 22–58: the ITKrM iteration (thresholding, then
//!   the residual means above) and its convergence theorem.
//! * Schnass (2015), "Local identification of overcomplete dictionaries", JMLR 16 (ITKsM, the
//!   signal-means predecessor).

use super::{DictionaryLearner, Init, LearnState, Learned, LearnerSpec, UnusedAtoms, replace_atoms};
use crate::code::{SPARSITY, check_problem};
use crate::error::{Result, ensure};
use crate::iter::{self, Iterative, Observer, Record, Schedule, Stop};
use crate::linalg;
use ndarray::{Array2, ArrayView2, Axis, Zip};

/// `itkrm`: iterative thresholding and K residual means.
pub const SPEC: LearnerSpec = LearnerSpec {
    name: "itkrm",
    family: crate::spec::Family::Classical,
    summary: "ITKrM (Schnass 2018): thresholding to S atoms, then each atom the signed mean of the residuals with its own component put back",
    params: Itkrm::PARAMS,
    budget: crate::spec::Budget::Iters("iters"),
    build: |p, ctx| Ok(Box::new(Itkrm::from_params(p, ctx)?)),
};

crate::declare_method! {
    /// ITKrM (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct Itkrm {
        given {
            /// atoms selected per signal S (true k or k̂ by track)
            sparsity: usize = [SPARSITY] => |p, ctx| p.sparsity(ctx)?;
        }
        params {
            /// iterations (one thresholding and one residual-means update each)
            max_iters as "iters": usize = param(Count, 50);
            /// an atom no signal selects: keep it, or replace it by the worst-coded or a random signal
            unused: UnusedAtoms = choice(["keep", "worst", "random"], "worst");
        }
    }
}

struct Alg<'a> {
    p: &'a Itkrm,
    y: ArrayView2<'a, f64>,
}

/// The thresholding step of every signal from the correlations `g` = Ψᵀ Y (m × N): the least-squares codes on the S atoms of largest
/// |⟨ψ_k, y⟩| (m × N, S non-zeros per column) and the signs of those correlations (m × N, ±1 on
/// the selected atoms, 0 elsewhere).
fn threshold_codes(
    dict: ArrayView2<'_, f64>,
    g: ArrayView2<'_, f64>,
    s: usize,
) -> (Array2<f64>, Array2<f64>) {
    let gram = linalg::gram(dict, linalg::par()); // m × m
    let (m, nn) = g.dim();
    let s = s.min(m);
    let mut codes = Array2::<f64>::zeros((m, nn));
    let mut signs = Array2::<f64>::zeros((m, nn));
    Zip::from(codes.axis_iter_mut(Axis(1)))
        .and(signs.axis_iter_mut(Axis(1)))
        .and(g.axis_iter(Axis(1)))
        .par_for_each(|mut x, mut sg, gc| {
            let mut idx: Vec<usize> = (0..m).collect();
            // the S largest |correlations|; ties broken by index so the choice is deterministic
            idx.select_nth_unstable_by(s - 1, |&a, &b| {
                gc[b].abs().total_cmp(&gc[a].abs()).then(a.cmp(&b))
            });
            let sel = &mut idx[..s];
            sel.sort_unstable();
            let mut a: Vec<f64> = sel
                .iter()
                .flat_map(|&i| sel.iter().map(move |&j| (i, j)))
                .map(|(i, j)| gram[(i, j)])
                .collect();
            let mut b: Vec<f64> = sel.iter().map(|&i| gc[i]).collect();
            linalg::small_spd_solve(&mut a, s, &mut b);
            for (t, &i) in sel.iter().enumerate() {
                x[i] = b[t];
                sg[i] = if gc[i] >= 0.0 { 1.0 } else { -1.0 };
            }
        });
    (codes, signs)
}

impl Iterative for Alg<'_> {
    type State = LearnState;
    fn step(&mut self, st: &mut LearnState) -> Result<()> {
        let par = linalg::par();
        let y = self.y;
        let g = linalg::matmul_tn(st.dict.view(), y, par); // m × N correlations
        let (codes, signs) = threshold_codes(st.dict.view(), g.view(), self.p.sparsity);
        // residuals r_n = y_n − Ψ x_n (x_n the projection's coefficients)
        let mut resid = y.to_owned();
        linalg::gemm_into(
            resid.view_mut(),
            -1.0,
            st.dict.view(),
            false,
            codes.view(),
            false,
            1.0,
            par,
        );
        st.data_fit = 0.5 * resid.iter().map(|v| v * v).sum::<f64>();
        // ψ̄_k = Σ_n σ_kn r_n + (Σ_n |⟨ψ_k, y_n⟩| over the signals selecting k) ψ_k
        let weight: Vec<f64> = (0..g.nrows())
            .map(|k| {
                g.row(k)
                    .iter()
                    .zip(signs.row(k))
                    .map(|(v, s)| v * s)
                    .sum::<f64>()
            })
            .collect();
        let mut new = linalg::matmul_nt(resid.view(), signs.view(), par); // d × m
        for (k, mut col) in new.axis_iter_mut(Axis(1)).enumerate() {
            col.scaled_add(weight[k], &st.dict.column(k));
        }
        let m = new.ncols();
        let mut unused = Vec::new();
        for k in 0..m {
            let nn = new.column(k).dot(&new.column(k)).sqrt();
            if nn > 0.0 && nn.is_finite() {
                new.column_mut(k).mapv_inplace(|v| v / nn);
            } else {
                // keep the old atom until the policy replaces it
                new.column_mut(k).assign(&st.dict.column(k));
                unused.push(k);
            }
        }
        st.dict = new;
        st.replaced_last = replace_atoms(&mut st.dict, y, &codes, &unused, self.p.unused, &mut st.rng);
        st.replaced_total += st.replaced_last;
        st.codes = codes;
        st.step += 1;
        st.samples_seen += y.ncols();
        Ok(())
    }
    fn objective(&self, s: &LearnState) -> f64 {
        s.objective_value()
    }
    fn record(&self, s: &LearnState, rec: &mut Record) {
        rec.set("data_fit", s.data_fit);
        rec.set("n_replaced_atoms", s.replaced_last as f64);
    }
}

impl DictionaryLearner for Itkrm {
    fn name(&self) -> String {
        format!("itkrm[sparsity={}]", self.sparsity)
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
        ensure!(
            self.sparsity <= m && self.sparsity <= y.nrows(),
            "sparsity",
            self.sparsity,
            format!(
                "S ≤ min(m, n) = {} atoms selected per signal",
                m.min(y.nrows())
            )
        );
        let (d0, rng) = crate::learn::start(y, m, init, seed)?;
        check_problem(d0.view(), y)?;
        let mut state = LearnState::new(d0, rng);
        state.data_fit = super::zero_code_fit(y);
        let mut alg = Alg { p: self, y };
        let (s, info) = iter::run(&mut alg, state, &Stop::iters(self.max_iters), schedule, obs)?;
        Ok(Learned::from_state(s, info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::InstanceSpec;
    use crate::metrics::recovery_metrics;

    /// One iteration by hand on an orthonormal dictionary with one-atom signals: thresholding
    /// picks the planted atom, the residual is zero, and the residual mean of atom k is the signed
    /// sum of |⟨e_k, y⟩| e_k — the atom itself.
    #[test]
    fn one_iteration_by_hand() {
        let dict = Array2::<f64>::eye(3);
        // y_1 = 2 e_0, y_2 = −3 e_2, y_3 = e_0 + 0.5 e_1 (S = 1: e_0 wins, residual 0.5 e_1)
        let y = ndarray::array![[2.0, 0.0, 1.0], [0.0, 0.0, 0.5], [0.0, -3.0, 0.0]];
        let (codes, signs) = threshold_codes(dict.view(), dict.t().dot(&y).view(), 1);
        assert_eq!(codes, ndarray::array![[2.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, -3.0, 0.0]]);
        assert_eq!(signs, ndarray::array![[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, -1.0, 0.0]]);
        let mut st = LearnState::new(dict.clone(), crate::rng::rng_from_seed(0));
        let p = Itkrm::new(1).unused(UnusedAtoms::Keep);
        let mut alg = Alg { p: &p, y: y.view() };
        alg.step(&mut st).unwrap();
        // ψ̄_0 = (0 + 2 e_0) + (0.5 e_1 + 1 e_0) = (3, 0.5, 0) → normalised; ψ̄_2 = −1·(−3 e_2) = 3 e_2;
        // atom 1 is selected by nobody: kept and counted as unused (policy keep replaces none)
        let n0 = (9.0f64 + 0.25).sqrt();
        let want0 = [3.0 / n0, 0.5 / n0, 0.0];
        for (a, b) in st.dict.column(0).iter().zip(want0) {
            assert!((a - b).abs() < 1e-12, "{:?}", st.dict.column(0));
        }
        assert_eq!(st.dict.column(1).to_vec(), vec![0.0, 1.0, 0.0]);
        assert_eq!(st.dict.column(2).to_vec(), vec![0.0, 0.0, 1.0]);
        assert!((st.data_fit - 0.125).abs() < 1e-12, "{}", st.data_fit);
    }

    /// Planted recovery from a start at columnwise distance 0.5: every atom at ≥ 0.99.
    #[test]
    fn recovers_a_planted_dictionary_from_a_perturbed_start() {
        let inst = InstanceSpec::new(16, 32, 2000)
            .sparsity(2)
            .values(crate::generate::Values::SignedUniform { a: 1.0, b: 2.0 })
            .sample(42)
            .unwrap();
        let init = Init::NearTruth {
            truth: inst.dict.clone(),
            dist: 0.5,
        };
        let start = recovery_metrics(inst.dict.view(), init.build(inst.y.view(), 32, &mut crate::rng::rng_from_seed(1)).unwrap().view(), 0.99).unwrap();
        assert!(start.recovery_rate < 0.5, "{start:?}");
        let out = Itkrm::new(2).max_iters(30).learn(inst.y.view(), 32, &init, 1).unwrap();
        let r = recovery_metrics(inst.dict.view(), out.dict.view(), 0.99).unwrap();
        assert!(r.recovery_rate >= 1.0, "{r:?}");
        for c in out.dict.columns() {
            assert!((c.dot(&c).sqrt() - 1.0).abs() < 1e-10);
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let inst = InstanceSpec::new(8, 12, 100).sparsity(2).sample(1).unwrap();
        let e = Itkrm::new(13)
            .learn(inst.y.view(), 12, &Init::RandomData, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("S ≤ min(m, n)"), "{e}");
        assert!(Itkrm::new(0).learn(inst.y.view(), 12, &Init::RandomData, 0).is_err());
    }
}
