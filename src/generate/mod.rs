//! Problem generators: dictionaries, codes and noise for `Y = A* X* + E`.
//!
//! The pieces are free functions taking an explicit RNG; [`crate::instance::InstanceSpec`]
//! composes them into an [`crate::instance::Instance`].

pub mod code;
pub mod dictionary;
pub mod noise;
pub mod stream;

pub use code::{CodeLaw, Support, Values};
pub use dictionary::*;
pub use noise::Noise;
