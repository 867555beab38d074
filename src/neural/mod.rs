//! Neural methods that learn dictionaries: the weight-tied ReLU autoencoder of Rangamani et al.
//! ([`relu_ae`], [`rangamani`]) and landscape probes around a planted dictionary ([`probe`]);
//! sparse autoencoders ([`sae`]); unrolled ISTA trained by backpropagation — PUDLE's gradients,
//! truncated and implicit estimators ([`unrolled`]); LISTA, ALISTA and SLISTA ([`lista`]); the
//! shared optimizers ([`optim`]); all of them as dictionary learners for sweeps ([`learners`]).
//!
//! Rows are atoms in this module: an autoencoder's encoder `W` is h × n and estimates `A*ᵀ`
//! (compare with the crate's metrics through `W.t()`).

pub mod learners;
pub mod lista;
pub mod optim;
pub mod probe;
pub mod rangamani;
pub mod relu_ae;
pub mod sae;
pub mod unrolled;
