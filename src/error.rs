//! The crate's one error type.
//!
//! Invalid inputs are errors; bad luck during a run (divergence, non-finite values, resampled atoms)
//! is data recorded in the run's termination and records, never an error.

use std::path::PathBuf;

/// Every error dictlab returns. Messages name the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is outside its valid range.
    #[error("invalid parameter `{name}` = {value}: expected {expected}")]
    InvalidParameter {
        /// Parameter name as the user spells it.
        name: &'static str,
        /// The value that was given.
        value: String,
        /// What would have been valid, phrased as the fix.
        expected: String,
    },
    /// Two arrays that must agree in shape do not.
    #[error("shape mismatch for {what}: expected {expected:?}, found {found:?}{hint}")]
    ShapeMismatch {
        /// What was being compared.
        what: &'static str,
        /// Expected shape (rows, cols).
        expected: (usize, usize),
        /// Found shape (rows, cols).
        found: (usize, usize),
        /// An optional hint (e.g. "scikit-learn stores the transpose").
        hint: String,
    },
    /// An input array holds NaN or ±Inf.
    #[error(
        "{what} contains a non-finite value (NaN or Inf) at ({row}, {col}); clean the input first"
    )]
    NonFinite {
        /// Which array.
        what: &'static str,
        /// Row of the first bad entry.
        row: usize,
        /// Column of the first bad entry.
        col: usize,
    },
    /// A dense decomposition failed (faer reported non-convergence).
    #[error("linear algebra failure in {op}: {detail}")]
    Linalg {
        /// Which decomposition.
        op: &'static str,
        /// Detail from the backend.
        detail: String,
    },
    /// Reading or writing a file failed.
    #[error("cannot {action} `{path}`: {source}")]
    File {
        /// "read" or "write".
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An allocation would not fit in memory (checked before allocating; see [`crate::mem`]).
    #[error(
        "{what} needs {needed}, more than the {limit}: use smaller sizes, or raise the limit with --max-memory (or DICTLAB_MAX_MEMORY) if the machine really has the memory"
    )]
    TooLarge {
        /// What was about to be allocated.
        what: String,
        /// Its size, human-readable.
        needed: String,
        /// The limit and where it comes from.
        limit: String,
    },
    /// A file exists but is not in the expected format.
    #[error("cannot read `{path}`: found {detail}; expected {expected}")]
    Format {
        /// The path.
        path: PathBuf,
        /// The format that would work, phrased as the fix.
        expected: String,
        /// What was found instead.
        detail: String,
    },
    /// A sweep plan is malformed (line 0: the plan as a whole).
    #[error("sweep plan, line {line}: `{key}`: expected {expected}")]
    Plan {
        /// 1-based line in the TOML file (0 when the error is about the plan as a whole).
        line: usize,
        /// The key (or method id, or instance id) at fault.
        key: String,
        /// What would be valid, phrased as the fix.
        expected: String,
    },
    /// Another process is writing the same results directory (and shard).
    #[error(
        "`{dir}` ({shard}) is being written by process {pid}: wait for it to finish or stop it, then rerun (two writers would run the same items twice)"
    )]
    Locked {
        /// The results directory.
        dir: PathBuf,
        /// Which shard ("all shards" for an unsharded run).
        shard: String,
        /// The holder's PID as it wrote it in the lock file ("unknown" if unreadable).
        pid: String,
    },
    /// A sweep finished, but some of its runs are error rows (they are in the results).
    #[error("{failed} of {total} runs failed (error rows kept in the results): {by_message}")]
    RunsFailed {
        /// Runs with an error row.
        failed: usize,
        /// Runs executed.
        total: usize,
        /// Counts by message, most frequent first.
        by_message: String,
        /// The run summary (JSON), printed on stdout.
        summary: String,
    },
    /// A sweep's results directory or results do not belong together (plan hash mismatch, gaps,
    /// duplicates).
    #[error("sweep results: {0}")]
    Results(String),
    /// A statement of a notebook's prose that this run's data no longer support
    /// ([`crate::report::observed::Observed`]).
    #[error(
        "the notebook says \"{claim}\", and this run's data do not ({measured}): rewrite the prose from the data shown"
    )]
    Claim {
        /// The statement as the prose words it.
        claim: String,
        /// What was measured.
        measured: String,
    },
    /// An I/O error without a path.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A polars error.
    #[cfg(feature = "lab")]
    #[error(transparent)]
    Polars(#[from] polars::error::PolarsError),
    /// A JSON (de)serialisation error.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn invalid(
        name: &'static str,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            name,
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// Shorthand for [`Error::ShapeMismatch`] without a hint.
    pub fn shape(what: &'static str, expected: (usize, usize), found: (usize, usize)) -> Self {
        Error::ShapeMismatch {
            what,
            expected,
            found,
            hint: String::new(),
        }
    }
}

/// Return `Err(Error::invalid(..))` unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $name:expr, $value:expr, $expected:expr) => {{
        #[allow(clippy::neg_cmp_op_on_partial_ord, clippy::nonminimal_bool)]
        let failed = !($cond);
        if failed {
            return Err($crate::error::Error::invalid($name, $value, $expected));
        }
    }};
}
pub(crate) use ensure;

/// Whether every entry is finite: `0·x` is NaN iff x is not, and a sum with a NaN is NaN — summed in
/// 8 independent lanes (one serial chain of additions would not vectorize).
#[allow(clippy::needless_range_loop)] // fixed-width lanes
fn all_finite(s: &[f64]) -> bool {
    const W: usize = 8;
    let mut acc = [0.0f64; W];
    let mut chunks = s.chunks_exact(W);
    for ch in &mut chunks {
        for l in 0..W {
            acc[l] += ch[l] * 0.0;
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|v| v * 0.0).sum();
    (acc.iter().sum::<f64>() + tail).is_finite()
}

/// Check that every entry of `a` is finite.
pub fn check_finite(what: &'static str, a: ndarray::ArrayView2<'_, f64>) -> Result<()> {
    // fast path: one vectorized pass (parallel for large arrays); locate the culprit only on failure
    let ok = match a.as_slice_memory_order() {
        Some(s) if s.len() >= 1 << 16 => {
            use rayon::prelude::*;
            s.par_chunks(1 << 14).all(all_finite)
        }
        Some(s) => all_finite(s),
        None => a.iter().all(|v| v.is_finite()),
    };
    if ok {
        return Ok(());
    }
    for ((row, col), v) in a.indexed_iter() {
        if !v.is_finite() {
            return Err(Error::NonFinite { what, row, col });
        }
    }
    Ok(())
}

/// Print a warning line on stderr (`warning: …`). A stderr that cannot be written (a full device,
/// a closed pipe) loses the warning, never the work: the error that matters is reported by the
/// exit status.
pub fn warn(msg: &str) {
    note(&format!("warning: {msg}"));
}

/// Print a line on stderr (progress, warnings); a stderr that cannot be written loses the line,
/// not the work.
pub fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
