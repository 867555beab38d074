//! `use dictlab::prelude::*;` — the first line of every notebook.

pub use crate::code::SparseCoder;
pub use crate::error::{Error, Result};
pub use crate::generate::{
    self, CodeLaw, CoherenceMethod, CoherenceOptions, Noise, Support, Values,
};
pub use crate::instance::{DictKind, Instance, InstanceSpec};
pub use crate::learn::DictionaryLearner;
pub use crate::linalg::{self, Par};
pub use crate::metrics::{self, Recovery, RecoveryMetrics, SupportStats};
#[cfg(feature = "lab")]
pub use crate::report::{
    self, CurveOpts, Report, Series2, show_df, show_headline, show_html, show_plot, show_text,
};
pub use crate::rng::{Rng, Rng64, SeedableRng, derive_seed, rng_from_seed};
#[cfg(feature = "lab")]
pub use crate::sweep::{Grid, Sweep};
pub use crate::table::{Item, Point, Row, Value};
pub use crate::{io, ndarray, table};
#[cfg(feature = "lab")]
pub use crate::{plotly, polars};
pub use ndarray::{Array1, Array2, ArrayView2, Axis, array, s};
#[cfg(feature = "lab")]
pub use polars::prelude::DataFrame;
