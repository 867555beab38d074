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
    check_npy_size(path, what)?;
    let a: Array2<f64> = ndarray_npy::read_npy(path).map_err(|e| Error::File {
        action: "read",
        path: path.to_path_buf(),
        source: format!("{e} (expected a 2-D float64 .npy array for the {what}; in numpy: np.save(path, a.astype(np.float64)))").into(),
    })?;
    check_finite(what, a.view())?;
    Ok(a)
}

/// The shape and item size an `.npy` header declares, and where the data starts; `None` when
/// the bytes are not an `.npy` header (the reader then says what is wrong).
pub(crate) fn npy_header(bytes: &[u8]) -> Option<(Vec<usize>, usize, usize)> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return None;
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return None,
    };
    let text = std::str::from_utf8(bytes.get(start..start.checked_add(len)?)?).ok()?;
    let after = &text[text.find("'shape'")? + 7..];
    let inner = &after[after.find('(')? + 1..after.find(')')?];
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    // the item size, when the dtype is one numpy writes (`<f8`, `|u1`, …); 0 when unreadable
    let item = text
        .find("'descr'")
        .and_then(|i| {
            let d = &text[i + 7..];
            let d = &d[d.find('\'')? + 1..];
            let d = &d[..d.find('\'')?];
            d.trim_start_matches(['<', '>', '|', '='])
                .get(1..)?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    Some((shape, item, start + len))
}

/// Before reading an `.npy` file: the data its header declares must be in the file (a header
/// is not trusted to size an allocation) and must fit in memory ([`crate::mem`]).
fn check_npy_size(path: &Path, what: &'static str) -> Result<()> {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(path) else {
        return Ok(()); // the reader names the missing file
    };
    let mut head = vec![0u8; 4096];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    let Some((shape, item, data_start)) = npy_header(&head[..got]) else {
        return Ok(());
    };
    let entries = shape
        .iter()
        .fold(1u128, |a, &d| a.saturating_mul(d as u128));
    // the reader allocates the declared entries as f64 before it looks at the dtype: the file must
    // hold the declared item size per entry, 8 bytes when the dtype is unreadable (a fuzz case:
    // dtype 'zz' with shape (100000, 100000) aborted on an 80 GB allocation); a readable dtype
    // other than float64 then gets the reader's own dtype message
    let item = if item == 0 { 8 } else { item };
    let need = entries.saturating_mul(item as u128);
    // a shape whose non-zero dimensions multiply past the address space (with a zero somewhere,
    // so that no data is declared) panics inside the reader's shape arithmetic
    let sizes_fit = shape
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(8usize, |a, &d| a.checked_mul(d))
        .is_some_and(|b| b <= isize::MAX as usize);
    if !sizes_fit {
        return Err(Error::Format {
            path: path.to_path_buf(),
            expected: "a shape whose sizes fit in memory (write the file again with np.save)"
                .into(),
            detail: format!("shape {shape:?}"),
        });
    }
    let file_len = f.metadata().map(|m| m.len() as u128).unwrap_or(u128::MAX);
    let have = file_len.saturating_sub(data_start as u128);
    if need > have {
        return Err(Error::Format {
            path: path.to_path_buf(),
            expected: format!(
                "the {need} bytes of data its header declares for shape {shape:?}: the file is truncated or was not written by np.save (write it again)"
            ),
            detail: format!("{have} bytes after the header"),
        });
    }
    crate::mem::check(
        format!("reading the {what} {} (shape {shape:?})", path.display()),
        entries.saturating_mul(8),
    )
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

/// Read a CSV table with a header row (as written by [`write_csv`]; the committed results and the
/// papers' published numbers under `data/`).
///
/// # Errors
/// The file cannot be read, or it is not a CSV table.
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

    fn header(descr: &str, shape: &str) -> Vec<u8> {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        let pad = (64 - (10 + dict.len() + 1) % 64) % 64;
        let text = format!("{dict}{}\n", " ".repeat(pad));
        h.extend_from_slice(&(text.len() as u16).to_le_bytes());
        h.extend_from_slice(text.as_bytes());
        h
    }

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
    fn npy_header_gives_shape_item_size_and_data_offset() {
        let h = header("<f8", "(3, 4)");
        let (shape, item, start) = npy_header(&h).unwrap();
        assert_eq!((shape, item, start), (vec![3, 4], 8, h.len()));
        assert_eq!(npy_header(&header("<f4", "(7,)")).unwrap().0, vec![7]);
        assert!(npy_header(b"not an npy file at all").is_none());
    }

    #[test]
    fn a_header_claiming_more_data_than_the_file_holds_is_refused_before_allocating() {
        // 193 bytes whose header claims (100000, 100000) float64 = 80 GB
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("liar.npy");
        let mut bytes = header("<f8", "(100000, 100000)");
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
