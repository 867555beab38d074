//! Metrics: coherence and RIP bounds, dictionary recovery up to permutation and sign, support
//! recovery, signal quality. Free functions with a fixed `(truth, estimate)` argument order; names
//! follow docs/protocols.md §0.

pub mod coherence;
pub mod recovery;
pub mod signal;
pub mod support;

pub use coherence::{
    RipBound, RipBounds, babel, coherence, gram_offdiag_abs, rip_bounds, rip_lower_bound_mc,
    rip_upper_bound_babel, rip_upper_bound_gershgorin, welch_bound,
};
pub use recovery::{
    DEFAULT_TAU, Recovery, RecoveryMetrics, amari_index, dictionary_recovery, fro_dist,
    fro_dist_rel, l4_error, l4_single, recovery_metrics,
};
pub use signal::{fvu, psnr, psnr_pudle, shrinkage, snr_db};
pub use support::{SupportStats, code_err, support_recovery};
