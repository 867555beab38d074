//! `.npy` exchange with numpy (float64, 2-D) and JSON specs.
//!
//! Shapes follow the crate convention: dictionaries n × m (atoms in columns), signals n × N, codes
//! m × N. **scikit-learn stores the transpose** (`components_` is m × n, `X` is N × n): transpose
//! with `.T` in numpy before writing, or after reading.

use crate::error::{Error, Result, check_finite};
use ndarray::Array2;
use std::path::Path;

pub mod fault;
pub mod npy;
mod write;

pub use write::{create_if_absent, file_err, write_bytes, write_with};

/// Read a 2-D `.npy` file (float64, or float32 widened; any header numpy writes — see [`npy`]),
/// rejecting NaN/Inf. `-` reads standard input; pipes and `/dev/stdin` work too.
///
/// # Errors
/// [`Error::File`] if the file cannot be opened; [`Error::Format`] if it is not a 2-D float
/// `.npy` array (the message says which and how to write one, e.g.
/// "np.save(path, a.astype(np.float64))"); [`Error::NonFinite`] for NaN/Inf.
pub fn read_matrix(path: impl AsRef<Path>, what: &'static str) -> Result<Array2<f64>> {
    let a = read_npy(path.as_ref(), |mut r, p, len| {
        npy::read_2d(&mut r, p, what, len)
    })?;
    check_finite(what, a.view())?;
    Ok(a)
}

/// Run an `.npy` reader on `path` (`-` for standard input), with the file's length when it is a
/// regular file (the reader checks the declared data against it before allocating).
fn read_npy<T>(
    path: &Path,
    read: impl FnOnce(&mut dyn std::io::Read, &Path, Option<u64>) -> Result<T>,
) -> Result<T> {
    if path.as_os_str() == "-" {
        return read(&mut std::io::stdin().lock(), Path::new("<stdin>"), None);
    }
    let f = std::fs::File::open(path).map_err(|e| file_err("read", path, e))?;
    // a regular file's length bounds what its header may declare; a pipe's is unknown
    let len = f
        .metadata()
        .ok()
        .filter(|m| m.file_type().is_file())
        .map(|m| m.len());
    read(&mut std::io::BufReader::new(f), path, len)
}

/// Read a 3-D `.npy` file (convolutional atoms K × P × L, signals N × P × T, activations
/// N × K × T_z), as [`read_matrix`] reads a 2-D one.
///
/// # Errors
/// As [`read_matrix`], for rank 3 (a 2-D array's error says how to add the channel axis).
pub fn read_array3(path: impl AsRef<Path>, what: &'static str) -> Result<ndarray::Array3<f64>> {
    let a = read_npy(path.as_ref(), |mut r, p, len| {
        npy::read_3d(&mut r, p, what, len)
    })?;
    // as a 2-D view: row = first index, col = flat index over the last two
    let (d0, d1, d2) = a.dim();
    if let Ok(flat) = a.view().into_shape_with_order((d0, d1 * d2)) {
        check_finite(what, flat)?;
    }
    Ok(a)
}

/// A convolutional array read by [`read_conv_array`]: the array (last axes flattened) and an image's
/// (rows, columns) when it is one.
pub type ConvArray = (ndarray::Array3<f64>, Option<(usize, usize)>);

/// Read a convolutional array of 1-D signals (3-D: atoms K × P × L, signals N × P × T,
/// activations N × K × T_z) or of images (4-D: K × P × L × L, N × P × H × W, N × K × H_z × W_z):
/// the array with the last two axes of an image flattened row-major, and the image's (rows,
/// columns) when it is one.
///
/// # Errors
/// As [`read_array3`], for rank 3 or 4.
pub fn read_conv_array(path: impl AsRef<Path>, what: &'static str) -> Result<ConvArray> {
    let a = read_npy(path.as_ref(), |mut r, p, len| {
        npy::read_3d_or_4d(&mut r, p, what, len)
    })?;
    let shape = a.shape().to_vec();
    let image = (shape.len() == 4).then(|| (shape[2], shape[3]));
    let last = shape[2..].iter().product();
    let a = a
        .into_shape_with_order((shape[0], shape[1], last))
        .map_err(|e| Error::invalid(what, e.to_string(), "a C-ordered array"))?;
    if let Ok(flat) = a.view().into_shape_with_order((shape[0], shape[1] * last)) {
        check_finite(what, flat)?;
    }
    Ok((a, image))
}

/// Write a convolutional array (N × P × T flattened), as 4-D N × P × `rows` × (T / rows) when
/// `rows` is given (images).
///
/// # Errors
/// I/O errors, naming the path; a length the rows do not divide.
pub fn write_conv_array(
    path: impl AsRef<Path>,
    a: &ndarray::Array3<f64>,
    rows: Option<usize>,
) -> Result<()> {
    match rows {
        None => write_array3(path, a),
        Some(h) => {
            let (d0, d1, t) = a.dim();
            let v = a
                .view()
                .into_shape_with_order((d0, d1, h, t / h.max(1)))
                .map_err(|e| Error::invalid("image", e.to_string(), "H · W entries per channel"))?;
            write_bytes(path.as_ref(), &npy::to_bytes_nd(v.into_dyn()))
        }
    }
}

/// Write a 3-D float64 `.npy` file (version 1.0, C order), atomically.
///
/// # Errors
/// I/O errors, naming the path.
pub fn write_array3(path: impl AsRef<Path>, a: &ndarray::Array3<f64>) -> Result<()> {
    write_bytes(path.as_ref(), &npy::to_bytes_nd(a.view().into_dyn()))
}

/// Write a 2-D float64 `.npy` file (version 1.0, C order), atomically.
///
/// # Errors
/// I/O errors, naming the path.
pub fn write_matrix(path: impl AsRef<Path>, a: &Array2<f64>) -> Result<()> {
    write_bytes(path.as_ref(), &npy::to_bytes(a))
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
    write_bytes(path, s.as_bytes())
}

/// Write a table as CSV (header row, `,` separator), creating the parent directory.
///
/// # Errors
/// The file or its directory cannot be written.
#[cfg(feature = "lab")]
pub fn write_csv(path: impl AsRef<Path>, df: &polars::prelude::DataFrame) -> Result<()> {
    use polars::prelude::SerWriter;
    let path = path.as_ref();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    write_with(path, |w| {
        polars::prelude::CsvWriter::new(w).finish(&mut df.clone())?;
        Ok(())
    })
}

/// `{project}/{rel}`: a path inside this project (where notebooks write `data/results/…`),
/// whatever the working directory.
pub fn project_path(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Read a CSV table with a header row (as written by [`write_csv`]; the committed results and the
/// papers' published numbers under `data/`).
///
/// # Errors
/// The file cannot be read, or it is not a CSV table.
#[cfg(feature = "lab")]
pub fn read_csv(path: impl AsRef<Path>) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::{Column, CsvReadOptions, DataFrame, DataType, SerReader};
    let path = path.as_ref();
    let f = std::fs::File::open(path).map_err(|e| Error::File {
        action: "read",
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let bad = |e: polars::prelude::PolarsError| Error::Format {
        path: path.to_path_buf(),
        expected: "a CSV table with a header row".into(),
        detail: e.to_string(),
    };
    // every column read as text, then typed by what all its values parse as (integer, unsigned
    // — sweep seeds exceed i64 — float, else text): polars' inference from the first rows fails
    // on a later value that does not fit the inferred type
    let raw = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(f)
        .finish()
        .map_err(bad)?;
    let cols: Vec<Column> = raw
        .columns()
        .iter()
        .map(|c| {
            [DataType::Int64, DataType::UInt64, DataType::Float64]
                .iter()
                .find_map(|t| c.strict_cast(t).ok())
                .unwrap_or_else(|| c.clone())
        })
        .collect();
    DataFrame::new(raw.height(), cols).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "lab")]
    #[test]
    fn csv_columns_are_typed_by_all_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(
            &p,
            "h,seed,x,name\n256,1,0.5,a\n512,12847928747649119026,2,b\n",
        )
        .unwrap();
        let df = read_csv(&p).unwrap();
        use polars::prelude::DataType;
        let types: Vec<DataType> = df.columns().iter().map(|c| c.dtype().clone()).collect();
        assert_eq!(
            types,
            vec![
                DataType::Int64,
                DataType::UInt64,
                DataType::Float64,
                DataType::String
            ]
        );
        assert!(read_csv(dir.path().join("missing.csv")).is_err());
    }

    #[test]
    fn a_header_claiming_more_data_than_the_file_holds_is_refused_before_allocating() {
        // 193 bytes whose header claims (100000, 100000) float64 = 80 GB
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("liar.npy");
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u16 + 1).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(&[0u8; 65]);
        std::fs::write(&p, &bytes).unwrap();
        let e = read_matrix(&p, "dictionary").unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        assert!(e.contains("80000000000 bytes"), "{e}");
        // a genuine file still reads
        let a = ndarray::array![[1.0, 2.0], [3.0, 4.0]];
        let q = dir.path().join("ok.npy");
        write_matrix(&q, &a).unwrap();
        assert_eq!(read_matrix(&q, "dictionary").unwrap(), a);
    }
}
