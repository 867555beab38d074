#![doc = include_str!("../README.md")]
//!
//! # Notation
//!
//! | symbol | code | meaning |
//! |---|---|---|
//! | n | `dim` | signal dimension |
//! | m | `n_atoms` | number of atoms |
//! | N | `n_samples` | number of samples |
//! | k (s) | `sparsity` | non-zeros per code vector |
//! | θ | `theta` | Bernoulli activation rate |
//! | λ | `lambda` | ℓ1 penalty |
//! | μ(A) | `coherence` | max_{i≠j} \|⟨a_i, a_j⟩\| |
//! | δ_s | `rip_*_bound_*` | restricted isometry constant (bounds only) |
//! | L = ‖A‖₂² | `lipschitz` | Lipschitz constant of the least-squares gradient |
//!
//! # Conventions
//!
//! * **Columns are atoms and samples**, as in the papers: `Y ≈ A X`, `Y: (n, N)`, `A: (n, m)`,
//!   `X: (m, N)`. **scikit-learn uses the transpose** (`X ≈ code @ dictionary`, `components_` is
//!   `(m, n)`); transpose when exchanging arrays.
//! * `f64` only. Every random function takes an explicit RNG; sweeps derive seeds by hashing
//!   `(base_seed, item id)` ([`rng::derive_seed`]).
//! * Invalid input is a typed [`Error`] whose message names the fix; bad luck during a run is data.
//!
//! # Tour
//!
//! ```
//! use dictlab::prelude::*;
//! // 1. a planted problem with a coherence-targeted dictionary
//! let spec = InstanceSpec::new(16, 32, 200).sparsity(2).dictionary(DictKind::Coherence { target: 0.4 });
//! let inst = spec.sample(7)?;
//! assert!(inst.coherence() <= 0.4 * 1.02);
//! // 2. recovery metrics of a corrupted estimate
//! let mut est = inst.dict.clone();
//! est.column_mut(0).mapv_inplace(|x| -x); // a sign flip is not an error
//! let r = metrics::recovery_metrics(inst.dict.view(), est.view(), 0.99)?;
//! assert!((r.recovery_score - 1.0).abs() < 1e-12);
//! // 3. a sweep → tidy DataFrame
//! let df = Sweep::new(Grid::new().axis("k", [1, 2])).reps(2).run(|it| {
//!     let k = it.point.usize("k")?;
//!     let inst = InstanceSpec::new(8, 16, 50).sparsity(k).sample(it.seed)?;
//!     Ok(vec![Row::new("none").metric("coherence", inst.coherence())])
//! })?;
//! assert_eq!(df.height(), 4);
//! # Ok::<(), dictlab::Error>(())
//! ```

#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]
#![deny(clippy::float_cmp)]

#[cfg(feature = "lab")]
pub mod cli;
pub mod code;
pub mod conv;
pub mod doc;
pub mod error;
pub mod generate;
pub mod image;
pub mod instance;
pub mod io;
pub mod iter;
pub mod learn;
pub mod linalg;
pub mod mem;
pub mod metrics;
pub mod neural;
pub mod prelude;
pub mod registry;
#[cfg(feature = "lab")]
pub mod report;
pub mod rng;
pub mod spec;
#[cfg(feature = "lab")]
pub mod sweep;
pub mod table;

pub use error::{Error, Result};
pub use instance::{DictKind, Instance, InstanceSpec};

pub use faer;
pub use ndarray;
#[cfg(feature = "lab")]
pub use plotly;
#[cfg(feature = "lab")]
pub use polars;
pub use rand;
pub use rand_chacha;
