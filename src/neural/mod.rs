//! Neural methods that learn dictionaries: the weight-tied ReLU autoencoder of Rangamani et al.
//! ([`relu_ae`], [`rangamani`]) and landscape probes around a planted dictionary ([`probe`]);
//! sparse autoencoders ([`sae`]); unrolled ISTA trained by backpropagation — PUDLE's gradients,
//! truncated and implicit estimators ([`unrolled`]); LISTA, ALISTA and SLISTA ([`lista`]); the
//! shared optimizers ([`optim`]); all of them as dictionary learners for sweeps ([`learners`]).
//!
//! **Layouts differ by model; say which at every boundary.** The tied ReLU autoencoder
//! ([`relu_ae`], [`rangamani`], [`probe`]) keeps the paper's `W` (h × n), whose *rows* estimate the
//! atoms (`A*ᵀ`; compare through `W.t()`). The sparse autoencoders ([`sae`]: decoder n × m),
//! unrolled ISTA ([`unrolled`]) and the LISTA family ([`lista`]) keep dictionaries with atoms in
//! *columns*, as the rest of the crate; [`learners`] returns every model's dictionary n × m.

crate::method_modules! {
    /// The neural learners, in the order `dictlab methods` lists them.
    LEARNER_SPECS: crate::learn::LearnerSpec {
        mod learners: RELU_AE_SPEC, SAE_SPEC, UNROLLED_SPEC, LISTA_DL_SPEC;
    }
}
pub mod lista;
pub mod optim;
pub mod probe;
pub mod rangamani;
pub mod relu_ae;
pub mod sae;
pub mod sae_kernel;
pub mod unrolled;
