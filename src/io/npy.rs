//! The `.npy` format (numpy's `NEP 1`, versions 1.0, 2.0 and 3.0), read and written by the crate
//! itself so that every reader shares one header parser:
//!
//! ```text
//! \x93NUMPY  major minor  header_len (u16 LE in 1.0, u32 LE in 2.0/3.0)  header  data
//! ```
//! The header is a Python dict literal `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`
//! padded with spaces and a newline; it may be of any length, written with either quote style, with
//! Python 2's `3L` integers; 3.0 headers are UTF-8, older ones Latin-1. Data are read from any
//! stream (a file, a pipe, `/dev/stdin`): a header never sizes an allocation — the bytes are read
//! as they arrive, after the memory check ([`crate::mem`]), and a regular file's length is checked
//! first. Supported dtypes: float64 and float32 in either byte order (float32 widened exactly),
//! C or Fortran order; 2-D arrays only (the crate's matrices). Written files are version 1.0,
//! `<f8`, C order, header padded to 64 bytes as numpy does.

use crate::error::{Error, Result};
use ndarray::Array2;
use std::io::Read;
use std::path::Path;

/// The largest header accepted (numpy itself refuses more than 10 000 bytes by default).
pub const MAX_HEADER: usize = 1 << 24;

/// A Python literal of an `.npy` header.
#[derive(Clone, Debug, PartialEq)]
enum Lit {
    Str(String),
    Int(u128),
    Bool(bool),
    None,
    Seq(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

/// A recursive-descent parser of the literals a header holds.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn word(&mut self, w: &str) -> bool {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            true
        } else {
            false
        }
    }
    /// Items up to `close`, separated by commas (a trailing comma allowed).
    fn items<T>(
        &mut self,
        close: u8,
        mut one: impl FnMut(&mut Self) -> std::result::Result<T, String>,
    ) -> std::result::Result<Vec<T>, String> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(out);
            }
            out.push(one(self)?);
            if !self.eat(b',') {
                return if self.eat(close) {
                    Ok(out)
                } else {
                    Err(format!(
                        "expected ',' or '{}' at byte {}",
                        close as char, self.i
                    ))
                };
            }
        }
    }
    fn lit(&mut self) -> std::result::Result<Lit, String> {
        self.depth += 1;
        if self.depth > 32 {
            return Err("literal nested too deeply".into());
        }
        let c = self.peek().ok_or("header ends inside a literal")?;
        let v = match c {
            b'\'' | b'"' => {
                self.i += 1;
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != c {
                    if self.s[self.i] == b'\\' {
                        self.i += 1;
                    }
                    self.i += 1;
                }
                if self.i >= self.s.len() {
                    return Err("unterminated string".into());
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                Lit::Str(text)
            }
            b'(' | b'[' => {
                self.i += 1;
                Lit::Seq(self.items(if c == b'(' { b')' } else { b']' }, Self::lit)?)
            }
            b'{' => {
                self.i += 1;
                Lit::Dict(self.items(b'}', |p| {
                    let k = p.lit()?;
                    if !p.eat(b':') {
                        return Err(format!("expected ':' at byte {}", p.i));
                    }
                    Ok((k, p.lit()?))
                })?)
            }
            b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                let n = digits
                    .parse::<u128>()
                    .map_err(|_| format!("integer {digits} too large"))?;
                // Python 2 wrote long integers as `3L`
                if self.i < self.s.len() && matches!(self.s[self.i], b'L' | b'l') {
                    self.i += 1;
                }
                Lit::Int(n)
            }
            _ if self.word("True") => Lit::Bool(true),
            _ if self.word("False") => Lit::Bool(false),
            _ if self.word("None") => Lit::None,
            _ => return Err(format!("unexpected '{}' at byte {}", c as char, self.i)),
        };
        self.depth -= 1;
        Ok(v)
    }
}

/// The element type of an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// IEEE binary64; `big` = big-endian.
    F64 {
        /// Big-endian.
        big: bool,
    },
    /// IEEE binary32 (widened to f64 when read); `big` = big-endian.
    F32 {
        /// Big-endian.
        big: bool,
    },
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F64 { .. } => 8,
            Dtype::F32 { .. } => 4,
        }
    }
}

/// What an `.npy` header declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The element type (`descr`), or the unsupported descr as written.
    pub dtype: std::result::Result<Dtype, String>,
    /// Column-major data.
    pub fortran_order: bool,
    /// The shape.
    pub shape: Vec<usize>,
    /// Bytes before the data (magic, version, length, header).
    pub data_offset: usize,
}

impl Header {
    /// Number of entries (saturating).
    pub fn entries(&self) -> u128 {
        self.shape
            .iter()
            .fold(1u128, |a, &d| a.saturating_mul(d as u128))
    }
}

/// Parse the header text (the dict literal).
fn parse_dict(text: &[u8]) -> std::result::Result<(Lit, Lit, Lit), String> {
    let mut p = Parser {
        s: text,
        i: 0,
        depth: 0,
    };
    let Lit::Dict(entries) = p.lit()? else {
        return Err("the header is not a dict".into());
    };
    if p.peek().is_some() {
        return Err(format!("text after the dict at byte {}", p.i));
    }
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| *k == Lit::Str(key.into()))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("no '{key}' key"))
    };
    Ok((get("descr")?, get("fortran_order")?, get("shape")?))
}

/// Read and parse the header from the start of `r`.
///
/// # Errors
/// A text saying what is wrong (not an .npy stream, an unknown version, a malformed header).
pub fn read_header(r: &mut impl Read) -> std::result::Result<Header, String> {
    let mut pre = [0u8; 8];
    r.read_exact(&mut pre)
        .map_err(|e| format!("not an .npy file: fewer than 8 bytes ({e})"))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err("not an .npy file (no \\x93NUMPY magic)".into());
    }
    let (len, start) = match pre[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)
                .map_err(|e| format!("header cut ({e})"))?;
            (u16::from_le_bytes(b) as usize, 10)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)
                .map_err(|e| format!("header cut ({e})"))?;
            (u32::from_le_bytes(b) as usize, 12)
        }
        v => {
            return Err(format!(
                ".npy format version {v}.{} (1 to 3 are known)",
                pre[7]
            ));
        }
    };
    if len > MAX_HEADER {
        return Err(format!(
            "a header of {len} bytes (at most {MAX_HEADER} accepted)"
        ));
    }
    let mut text = Vec::new();
    r.take(len as u64)
        .read_to_end(&mut text)
        .map_err(|e| format!("header cut ({e})"))?;
    if text.len() < len {
        return Err(format!(
            "the header declares {len} bytes, the file ends after {}",
            text.len()
        ));
    }
    let (descr, fortran, shape) =
        parse_dict(&text).map_err(|e| format!("malformed header: {e}"))?;
    let dtype = match &descr {
        Lit::Str(d) => match d.as_str() {
            "<f8" | "=f8" | "f8" | "float64" => Ok(Dtype::F64 { big: false }),
            ">f8" => Ok(Dtype::F64 { big: true }),
            "<f4" | "=f4" | "f4" | "float32" => Ok(Dtype::F32 { big: false }),
            ">f4" => Ok(Dtype::F32 { big: true }),
            other => Err(other.to_string()),
        },
        other => Err(format!("{other:?} (a structured dtype)")),
    };
    let Lit::Bool(fortran_order) = fortran else {
        return Err("malformed header: 'fortran_order' is not True/False".into());
    };
    let Lit::Seq(dims) = shape else {
        return Err("malformed header: 'shape' is not a tuple".into());
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            Lit::Int(n) => usize::try_from(*n).map_err(|_| format!("dimension {n} too large")),
            _ => Err("malformed header: a dimension is not an integer".into()),
        })
        .collect::<std::result::Result<Vec<usize>, String>>()?;
    Ok(Header {
        dtype,
        fortran_order,
        shape,
        data_offset: start + len,
    })
}

/// Read a 2-D float array from `r` (a file, a pipe) named `path` in errors; `file_len`, when the
/// source is a regular file, is checked against the declared data before anything is allocated.
///
/// # Errors
/// [`Error::Format`] naming the path and the fix: not an .npy stream, an unsupported dtype or
/// rank, a stream shorter than its header declares; the memory check.
pub fn read_2d(
    r: &mut impl Read,
    path: &Path,
    what: &str,
    file_len: Option<u64>,
) -> Result<Array2<f64>> {
    read_nd(r, path, what, file_len, 2)?
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|e| Error::Format {
            path: path.to_path_buf(),
            expected: format!("a 2-D array for the {what}"),
            detail: e.to_string(),
        })
}

/// Read a 3-D float array (convolutional atoms K × P × L, signals N × P × T, activations
/// N × K × T_z), as [`read_2d`] does a 2-D one.
///
/// # Errors
/// As [`read_2d`], with rank 3.
pub fn read_3d(
    r: &mut impl Read,
    path: &Path,
    what: &str,
    file_len: Option<u64>,
) -> Result<ndarray::Array3<f64>> {
    read_nd(r, path, what, file_len, 3)?
        .into_dimensionality::<ndarray::Ix3>()
        .map_err(|_| Error::Format {
            path: path.to_path_buf(),
            expected: format!("a 3-D array for the {what} (1-D signals)"),
            detail: "a 4-D array (images): this command reads 1-D signals only".into(),
        })
}

/// Read a 3-D or a 4-D float array: convolutional arrays of 1-D signals (N × P × T) or of images
/// (N × P × H × W), as [`read_2d`] does a 2-D one.
///
/// # Errors
/// As [`read_2d`], with rank 3 or 4.
pub fn read_3d_or_4d(
    r: &mut impl Read,
    path: &Path,
    what: &str,
    file_len: Option<u64>,
) -> Result<ndarray::ArrayD<f64>> {
    read_nd(r, path, what, file_len, 3)
}

/// Read a float array of rank `rank` (see [`read_2d`]); rank 3 also takes a 4-D array (images).
fn read_nd(
    r: &mut impl Read,
    path: &Path,
    what: &str,
    file_len: Option<u64>,
    rank: usize,
) -> Result<ndarray::ArrayD<f64>> {
    let bad = |expected: String, detail: String| Error::Format {
        path: path.to_path_buf(),
        expected,
        detail,
    };
    let fix = "in numpy: np.save(path, a.astype(np.float64))";
    let h = read_header(r).map_err(|e| bad(format!("a {rank}-D float64 .npy array ({fix})"), e))?;
    let dtype = h.dtype.clone().map_err(|d| {
        bad(
            format!("float64 or float32 data for the {what} ({fix})"),
            format!("dtype {d}"),
        )
    })?;
    if h.shape.len() != rank && !(rank == 3 && h.shape.len() == 4) {
        let hint = if rank == 2 && h.shape.len() == 1 {
            "; for a vector save a[:, None] (a column) or a[None, :] (a row)"
        } else if rank == 3 && h.shape.len() == 2 {
            "; one channel: save a[:, None, :] (N × 1 × T signals, K × 1 × L atoms)"
        } else {
            ""
        };
        return Err(bad(
            format!(
                "a {rank}-D array for the {what}{hint}{}",
                if rank == 3 {
                    " (or 4-D for images)"
                } else {
                    ""
                }
            ),
            format!("shape {:?}", h.shape),
        ));
    }
    let entries = h.entries();
    let need = entries.saturating_mul(dtype.size() as u128);
    if h.shape
        .iter()
        .try_fold(8usize, |a, &d| a.checked_mul(d))
        .is_none()
    {
        return Err(bad(
            "a shape whose size fits in memory (write the file again with np.save)".into(),
            format!("shape {:?}", h.shape),
        ));
    }
    if let Some(len) = file_len {
        let have = (len as u128).saturating_sub(h.data_offset as u128);
        if need < have {
            return Err(bad(
                format!(
                    "exactly the {need} bytes of data its header declares for shape {:?} (np.save writes nothing after them: write it again)",
                    h.shape
                ),
                format!("{have} bytes after the header"),
            ));
        }
        if need > have {
            return Err(bad(
                format!(
                    "the {need} bytes of data its header declares for shape {:?}: the file is truncated or was not written by np.save (write it again)",
                    h.shape
                ),
                format!("{have} bytes after the header"),
            ));
        }
    }
    crate::mem::check(
        format!(
            "reading the {what} {} (shape {:?})",
            path.display(),
            h.shape
        ),
        entries.saturating_mul(8),
    )?;
    // read what arrives, never more than declared: a stream that ends early allocated only
    // what it sent
    let mut bytes = Vec::new();
    r.take(need as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::io::file_err("read", path, e))?;
    if (bytes.len() as u128) < need {
        return Err(bad(
            format!(
                "the {need} bytes of data its header declares for shape {:?} (the stream ended early: write it again with np.save)",
                h.shape
            ),
            format!("{} bytes after the header", bytes.len()),
        ));
    }
    let values: Vec<f64> = match dtype {
        Dtype::F64 { big } => bytes
            .chunks_exact(8)
            .map(|c| {
                let b: [u8; 8] = c.try_into().unwrap_or([0; 8]);
                if big {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }
            })
            .collect(),
        Dtype::F32 { big } => bytes
            .chunks_exact(4)
            .map(|c| {
                let b: [u8; 4] = c.try_into().unwrap_or([0; 4]);
                f64::from(if big {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                })
            })
            .collect(),
    };
    use ndarray::ShapeBuilder;
    let dims = ndarray::IxDyn(&h.shape);
    let a = if h.fortran_order {
        ndarray::ArrayD::from_shape_vec(dims.f(), values)
    } else {
        ndarray::ArrayD::from_shape_vec(dims, values)
    };
    a.map(|a| a.as_standard_layout().into_owned())
        .map_err(|e| bad(format!("data matching shape {:?}", h.shape), e.to_string()))
}

/// The bytes of a 2-D array as a version 1.0 `.npy` file (`<f8`, C order).
pub fn to_bytes(a: &Array2<f64>) -> Vec<u8> {
    to_bytes_nd(a.view().into_dyn())
}

/// The bytes of an array of any rank as a version 1.0 `.npy` file (`<f8`, C order).
pub fn to_bytes_nd(a: ndarray::ArrayViewD<'_, f64>) -> Vec<u8> {
    let dims: Vec<String> = a.shape().iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("{},", dims[0])
    } else {
        dims.join(", ")
    };
    let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({shape}), }}");
    // magic (6) + version (2) + length (2) + dict + padding + '\n' ≡ 0 mod 64
    let pad = (64 - (10 + dict.len() + 1) % 64) % 64;
    let header = format!("{dict}{}\n", " ".repeat(pad));
    let mut out = Vec::with_capacity(10 + header.len() + 8 * a.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in a.iter() {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: u8, dict: &str, pad_to: usize, data: &[u8]) -> Vec<u8> {
        let mut text = dict.to_string();
        while text.len() + 1 < pad_to {
            text.push(' ');
        }
        text.push('\n');
        let mut b = b"\x93NUMPY".to_vec();
        b.push(version);
        b.push(0);
        if version == 1 {
            b.extend_from_slice(&(text.len() as u16).to_le_bytes());
        } else {
            b.extend_from_slice(&(text.len() as u32).to_le_bytes());
        }
        b.extend_from_slice(text.as_bytes());
        b.extend_from_slice(data);
        b
    }

    fn f64s(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn read(bytes: &[u8]) -> Result<Array2<f64>> {
        read_2d(&mut &bytes[..], Path::new("t.npy"), "test", None)
    }

    #[test]
    fn headers_of_any_length_quote_style_and_version_read_the_same() {
        let data = f64s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let want = ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        for (v, dict, pad) in [
            (
                1,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                64,
            ),
            (
                1,
                r#"{"descr": "<f8", "fortran_order": False, "shape": (2, 3)}"#,
                0,
            ),
            (
                1,
                "{'shape': (2L, 3L), 'fortran_order': False, 'descr': '<f8'}",
                8000,
            ),
            (
                2,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                70_000,
            ),
            (
                3,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,3,), }",
                5000,
            ),
        ] {
            let b = file(v, dict, pad, &data);
            assert_eq!(
                read(&b).unwrap(),
                want,
                "version {v}, {dict}, padded to {pad}"
            );
        }
    }

    #[test]
    fn fortran_order_big_endian_and_float32_are_converted() {
        let want = ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let fortran = f64s(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let d = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
        assert_eq!(read(&file(1, d, 64, &fortran)).unwrap(), want);
        let big: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|x| x.to_be_bytes())
            .collect();
        let d = "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }";
        assert_eq!(read(&file(1, d, 64, &big)).unwrap(), want);
        let f32s: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        assert_eq!(read(&file(1, d, 64, &f32s)).unwrap(), want);
    }

    #[test]
    fn malformed_and_unsupported_headers_say_what_is_wrong() {
        let cases: [(&str, &[u8], &str); 7] = [
            ("magic", b"PK\x03\x04 not npy", "magic"),
            ("version", b"\x93NUMPY\x09\x00\x00\x00", "version 9"),
            (
                "dict",
                &file(1, "{'descr': '<f8', 'shape': (2, 3)", 0, &[]),
                "malformed",
            ),
            (
                "dtype",
                &file(
                    1,
                    "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1)}",
                    0,
                    &[0; 8],
                ),
                "dtype <i8",
            ),
            (
                "rank",
                &file(
                    1,
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
                    0,
                    &[0; 24],
                ),
                "a[:, None]",
            ),
            (
                "short",
                &file(
                    1,
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2)}",
                    0,
                    &[0; 8],
                ),
                "ended early",
            ),
            (
                "huge",
                &file(
                    1,
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000000000)}",
                    0,
                    &[],
                ),
                "fits in memory",
            ),
        ];
        for (name, bytes, want) in cases {
            let e = read(bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{name}: {e}");
        }
    }

    #[test]
    fn what_is_written_reads_back_bit_for_bit() {
        let a = ndarray::array![[1.5, -0.0, f64::MIN_POSITIVE], [1e300, 2.0, -3.25]];
        let b = to_bytes(&a);
        assert_eq!((b.len() - 48) % 64, 0, "header padded to 64 bytes");
        let back = read(&b).unwrap();
        assert!(
            a.iter()
                .zip(back.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }
}
