//! The convolutional half: planted shift-invariant problems and recovery up to shift.
//!
//! Model (1-D, multichannel; alphacsc's and sporco's notation with our letters): N signals
//! $y_i \in \mathbb R^{P \times T}$ (P channels, T samples), K atoms $d_k \in \mathbb R^{P \times L}$
//! of unit Frobenius norm, activations $z_{ik}$, noise $e_i$:
//! $$y_i = \sum_{k=1}^K d_k * z_{ik} + e_i,\qquad (d_k * z)[p, t] = \sum_{s} d_k[p, s]\, z[t - s].$$
//! Two boundary conventions ([`Boundary`]):
//! - **valid** (alphacsc's): $z_{ik} \in \mathbb R^{T - L + 1}$ and the full convolution has length
//!   exactly T — no activation is cut by the signal's edge;
//! - **circular** (sporco's DFT-domain solvers, Qu et al.'s convolutional ℓ4): $z_{ik} \in \mathbb R^T$ and
//!   indices wrap modulo T.
//!
//! Rank-1 atoms (alphacsc's multivariate model, Dupré la Tour et al. 2018, eq. (1)): $d_k = u_k v_k^\top$
//! with $u_k \in \mathbb R^P$ (a spatial pattern) and $v_k \in \mathbb R^L$ (a waveform), both unit-norm.
//!
//! **Shift coherence** (the convolutional analogue of mutual coherence):
//! $$\mu_{\mathrm{conv}} = \max\Big(\max_{k \ne l,\ \tau} |\langle d_k, S_\tau d_l\rangle|,\ \max_{k,\ \tau \ne 0} |\langle d_k, S_\tau d_k\rangle|\Big),$$
//! $S_\tau$ the shift by τ samples with zeros shifted in (|τ| ≤ L − 1; for a circular problem with
//! T ≥ 2L − 1 the circular shifts give the same inner products). It is measured on every instance.
//!
//! Recovery ([`metrics`]): atoms are matched up to shift and sign by the Hungarian algorithm on the
//! best absolute normalized cross-correlation over lags (the convolutional `recovery_score` of
//! Malézieux et al.'s code), with the matched lag reported.
//!
//! ## References
//! * Dupré la Tour, Moreau, Jas, Gramfort (2018), "Multivariate convolutional sparse coding for
//!   electromagnetic brain signals", NeurIPS (alphacsc), eq. (1)–(2).
//! * Wohlberg (2016), "Efficient algorithms for convolutional sparse representations", IEEE TIP 25(1)
//!   (sporco), eq. (2).
//! * Qu, Zhai, Li, Zhang, Zhu, Wright (2020), "Geometric analysis of nonconvex optimization landscapes
//!   for overcomplete learning", arXiv 1912.02427, §convolutional (circular model).

pub mod ccmod;
pub mod fft;
pub mod metrics;
pub mod problem;

crate::method_modules! {
    /// The convolutional coders, in the order `dictlab methods` lists them.
    CODER_SPECS: ConvCoderSpec {
        mod csc: SPEC;
        mod lgcd: SPEC;
        mod admm: SPEC;
    }
}

crate::method_modules! {
    /// The convolutional learners, in the order `dictlab methods` lists them.
    LEARNER_SPECS: ConvLearnerSpec {
        mod cdl: SPEC;
        mod l4: SPEC;
        mod crsae: SPEC;
    }
}

use crate::error::Result;
use crate::iter::{Observer, Schedule};
use ndarray::ArrayView3;

/// A convolutional sparse coder: activations of signals on fixed atoms.
pub trait ConvCoder: Send + Sync {
    /// Parametrised name, e.g. `conv_fista[lambda=0.1]`.
    fn name(&self) -> String;
    /// Code `y` (N × P × T) on atoms `d` (K × P × L) from zero or from `warm` (N × K × T_z).
    ///
    /// # Errors
    /// Parameters out of range, mismatched shapes, non-finite inputs.
    fn encode(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding>;

    /// [`ConvCoder::encode`] on the layout `grid`: images (N × P × H·W, flattened row-major) on
    /// image atoms (K × P × Lh·Lw). The default codes 1-D signals and refuses images.
    ///
    /// # Errors
    /// As [`ConvCoder::encode`]; images, for a coder that codes 1-D signals only.
    fn encode_on(
        &self,
        d: ArrayView3<'_, f64>,
        y: ArrayView3<'_, f64>,
        grid: Grid,
        boundary: Boundary,
        warm: Option<ArrayView3<'_, f64>>,
    ) -> Result<ConvEncoding> {
        if grid.is_image() {
            return Err(crate::error::Error::invalid(
                "coder",
                format!("{} on images", self.name()),
                "conv_fista (either boundary) or conv_admm (circular) for images: this coder works along 1-D signals",
            ));
        }
        self.encode(d, y, boundary, warm)
    }
}

/// A convolutional dictionary learner.
pub trait ConvLearner: Send + Sync {
    /// Parametrised name.
    fn name(&self) -> String;
    /// Learn `n_atoms` atoms of length `atom_len` from `y` (N × P × T), from `init_atoms`
    /// (K × P × L) when given, observing the state on `schedule`.
    ///
    /// # Errors
    /// Parameters out of range, atoms longer than the signals, bad signals or start.
    #[allow(clippy::too_many_arguments)]
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
    ) -> Result<ConvLearned>;

    /// [`ConvLearner::learn_observed`] on the layout `grid`: for images (N × P × H·W, flattened
    /// row-major) `atom_len` is the atoms' width and `grid.atom_rows` their height, and the atoms
    /// are K × P × (atom_rows · atom_len). The default learns from 1-D signals and refuses images.
    ///
    /// # Errors
    /// As [`ConvLearner::learn_observed`]; images, for a learner of 1-D signals only.
    #[allow(clippy::too_many_arguments)]
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
        if grid.is_image() {
            return Err(crate::error::Error::invalid(
                "learner",
                format!("{} on images", self.name()),
                "conv_altmin with d_solver = ccmod and csc = fista (or admm, circular) for images: this learner works along 1-D signals",
            ));
        }
        self.learn_observed(
            y, n_atoms, atom_len, boundary, init_atoms, seed, schedule, obs,
        )
    }
}

/// The registry entry of a convolutional coder.
pub type ConvCoderSpec = crate::spec::MethodSpec<Box<dyn ConvCoder>>;
/// The registry entry of a convolutional learner.
pub type ConvLearnerSpec = crate::spec::MethodSpec<Box<dyn ConvLearner>>;

pub use admm::ConvAdmm;
pub use cdl::{ConvAltMin, ConvInit, ConvLearnState, ConvLearned, LagStats, chunk_start};
pub use crsae::{Crsae, CrsaeGradient};
pub use csc::{ConvEncoding, ConvFista, ConvOp};
pub use l4::{
    ConvL4, ConvL4Result, ConvL4Start, objective_at as l4_objective_at,
    precondition_vec as l4_precondition_vec,
};
pub use lgcd::ConvLgcd;

pub use fft::{Dims, Grid};
pub use metrics::{ConvRecovery, activation_f1, conv_recovery, conv_recovery_2d};
pub use problem::{
    AtomFamily, Boundary, ConvInstance, ConvSpec, ConvValues, convolve, convolve_on,
    shift_coherence, shift_coherence_2d, shift_correlation, shift_correlation_2d,
};
