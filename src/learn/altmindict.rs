//! AltMinDict: alternating minimization with a shrinking residual constraint (Agarwal,
//! Anandkumar, Jain, Netrapalli, Tandon).
//!
//! From an initial dictionary $A^0$ close to $A^*$ (columnwise distance $\varepsilon_0 \le c/s^2$ in
//! the analysis), iterate (docs/protocols.md §10; SIOPT 2016, Algorithm 2):
//! $$X^t_i = \arg\min_x \|x\|_1 \ \text{s.t.}\ \|y_i - A^t x\|_2 \le \varepsilon_t
//!   \quad\text{(then zero the entries with } |x| < \text{threshold}\cdot\varepsilon_t),$$
//! $$A^{t+1} = YX^{t\top}(X^tX^{t\top})^{-1},\ \text{columns normalised},\qquad
//!   \varepsilon_{t+1} = \max(\varepsilon_t/2,\ \varepsilon_{\min}).$$
//! The constrained ℓ1 step is the LARS path stopped exactly where the residual meets ε
//! ([`LarsLasso::constrained`]); the least-squares step is [`Mod`]. `eps_min` should sit at the
//! noise level ($\approx \sigma\sqrt n$): below it the constraint makes codes dense. The
//! small-entry threshold is unspecified in the abstract; `threshold` = 1 (zero |x| < ε_t) is ours.
//!
//! ## References
//! * Agarwal, Anandkumar, Jain, Netrapalli, Tandon (2014), "Learning sparsely used overcomplete
//!   dictionaries via alternating minimization", COLT; SIAM J. Optim. 26(4) (2016), Algorithm 2.

use super::LearnerSpec;
use super::update::{DictUpdate, Mod};
use super::{DictionaryLearner, Init, LearnState, Learned, UnusedAtoms, data_fit, replace_atoms};
use crate::code::{LarsLasso, SparseCoder, check_problem};
use crate::error::Result;
use crate::iter::{self, Iterative, Observer, Record, Schedule, Stop};
use ndarray::ArrayView2;

crate::declare_method! {
    /// AltMinDict (see the module doc).
    #[derive(Clone, Debug, PartialEq)]
    pub struct AltMinDict {
        given {}
        params {
            /// outer iterations
            max_iters as "iters": usize = param(Count, 30);
            /// initial residual bound ε₀
            eps0: f64 = param(Positive, 1.0);
            /// floor of ε (≈ noise σ√n)
            eps_min: f64 = param(NonNegative, 0.0);
            /// zero code entries with |x| < threshold·ε_t (ours: the paper leaves it open)
            threshold: f64 = param(NonNegative, 1.0);
            /// an atom no signal uses: keep it, or replace it by the worst-coded or a random signal
            unused: UnusedAtoms = choice(["keep", "worst", "random"], "worst");
        }
    }
}

impl Default for AltMinDict {
    fn default() -> Self {
        Self::new()
    }
}

struct Alg<'a> {
    p: &'a AltMinDict,
    y: ArrayView2<'a, f64>,
    eps: f64,
}

impl Iterative for Alg<'_> {
    type State = LearnState;
    fn step(&mut self, s: &mut LearnState) -> Result<()> {
        let enc = LarsLasso::constrained(self.eps).encode(s.dict.view(), self.y)?;
        let mut x = enc.codes;
        let thr = self.p.threshold * self.eps;
        x.mapv_inplace(|v| if v.abs() < thr { 0.0 } else { v });
        let m = s.dict.ncols();
        let unused: Vec<usize> = (0..m)
            .filter(|&j| x.row(j).iter().all(|v| *v == 0.0))
            .collect();
        s.replaced_last =
            replace_atoms(&mut s.dict, self.y, &x, &unused, self.p.unused, &mut s.rng);
        s.replaced_total += s.replaced_last;
        Mod::default().update(&mut s.dict, self.y, &mut x)?;
        s.data_fit = data_fit(s.dict.view(), self.y, x.view());
        s.codes = x;
        s.step += 1;
        s.samples_seen += self.y.ncols();
        self.eps = (self.eps / 2.0).max(self.p.eps_min);
        Ok(())
    }
    fn objective(&self, s: &LearnState) -> f64 {
        s.objective_value()
    }
    fn record(&self, s: &LearnState, rec: &mut Record) {
        rec.set("data_fit", s.data_fit);
        rec.set("eps", self.eps);
        rec.set("n_replaced_atoms", s.replaced_last as f64);
    }
}

impl DictionaryLearner for AltMinDict {
    fn name(&self) -> String {
        format!("altmindict[eps0={},eps_min={}]", self.eps0, self.eps_min)
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
        let (d0, rng) = crate::learn::start(y, m, init, seed)?;
        check_problem(d0.view(), y)?;
        let mut state = LearnState::new(d0, rng);
        state.data_fit = super::zero_code_fit(y);
        let mut alg = Alg {
            p: self,
            y,
            eps: self.eps0,
        };
        let (s, info) = iter::run(&mut alg, state, &Stop::iters(self.max_iters), schedule, obs)?;
        Ok(Learned::from_state(s, info))
    }
}

/// `altmin`: AltMinDict.
pub const SPEC: LearnerSpec = LearnerSpec {
    name: "altmin",
    family: crate::spec::Family::Classical,
    summary: "AltMinDict (Agarwal et al. 2014): constrained ℓ1 + least squares, ε halved each iteration",
    params: AltMinDict::PARAMS,
    budget: crate::spec::Budget::Iters("iters"),
    build: |p, ctx| Ok(Box::new(AltMinDict::from_params(p, ctx)?)),
};
