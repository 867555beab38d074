//! `.npy` exchange with numpy (float64, 2-D) and JSON specs.
//!
//! Shapes follow the crate convention: dictionaries n × m (atoms in columns), signals n × N, codes
//! m × N. **scikit-learn stores the transpose** (`components_` is m × n, `X` is N × n): transpose
//! with `.T` in numpy before writing, or after reading.

use crate::error::{Error, Result, check_finite};
use ndarray::Array2;
use std::path::Path;

/// Read a 2-D float64 `.npy` file, rejecting NaN/Inf.
///
/// # Errors
/// [`Error::File`] if the file cannot be read or is not a 2-D float64 array (the message says
/// which, e.g. "use `np.save(path, a.astype(np.float64))`"); [`Error::NonFinite`] for NaN/Inf.
pub fn read_matrix(path: impl AsRef<Path>, what: &'static str) -> Result<Array2<f64>> {
    let path = path.as_ref();
    let a: Array2<f64> = ndarray_npy::read_npy(path).map_err(|e| Error::File {
        action: "read",
        path: path.to_path_buf(),
        source: format!("{e} (expected a 2-D float64 .npy array for the {what}; in numpy: np.save(path, a.astype(np.float64)))").into(),
    })?;
    check_finite(what, a.view())?;
    Ok(a)
}

/// Write a 2-D float64 `.npy` file (C order).
pub fn write_matrix(path: impl AsRef<Path>, a: &Array2<f64>) -> Result<()> {
    let path = path.as_ref();
    let a = a.as_standard_layout();
    ndarray_npy::write_npy(path, &a).map_err(|e| Error::File {
        action: "write",
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Create a directory (and parents), with a clear error.
pub fn create_dir(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    std::fs::create_dir_all(path).map_err(|e| Error::File {
        action: "create directory",
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Write pretty JSON.
pub fn write_json<T: serde::Serialize>(path: impl AsRef<Path>, v: &T) -> Result<()> {
    let path = path.as_ref();
    let s = serde_json::to_string_pretty(v)?;
    std::fs::write(path, s).map_err(|e| Error::File {
        action: "write",
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Write a table as CSV (header row, `,` separator), creating the parent directory.
///
/// # Errors
/// The file or its directory cannot be written.
pub fn write_csv(path: impl AsRef<Path>, df: &polars::prelude::DataFrame) -> Result<()> {
    use polars::prelude::SerWriter;
    let path = path.as_ref();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    let f = std::fs::File::create(path).map_err(|e| Error::File {
        action: "write",
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    polars::prelude::CsvWriter::new(f).finish(&mut df.clone())?;
    Ok(())
}

/// `{project}/{rel}`: a path inside this project (where notebooks write `data/results/…`),
/// whatever the working directory.
pub fn project_path(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}
