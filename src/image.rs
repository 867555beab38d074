//! Grayscale images for denoising experiments: a binary PGM reader, patch extraction and
//! reassembly, additive white Gaussian noise, and patch-based denoising with any patch coder.
//!
//! Images are `rows × cols` arrays in [0, 1]. Patches are columns (p² × K, row-major inside the
//! patch), as signals everywhere in the crate. Denoising follows the classical patch pipeline
//! (Elad & Aharon 2006, §III without the global term): every p × p patch at the given stride is
//! mean-removed, coded and decoded, its mean added back, and overlapping estimates are averaged;
//! the result is clamped to [0, 1] (PUDLE clamps its output too).

use crate::error::{Error, Result, ensure};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::Rng;
use rand_distr::StandardNormal;
use std::path::Path;

/// Read an 8- or 16-bit binary PGM (`P5`) file into [0, 1].
///
/// # Errors
/// [`Error::Format`] naming the expected format for anything else (ASCII `P2`, PNG, truncated
/// data), [`Error::File`] when the file cannot be read.
pub fn read_pgm(path: impl AsRef<Path>) -> Result<Array2<f64>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::File {
        action: "read",
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let bad = |detail: String| {
        Error::Format {
        path: path.to_path_buf(),
        expected: "a binary PGM image (P5); convert with e.g. `convert in.png -colorspace Gray out.pgm` or PIL `Image.open(f).convert(\"L\").save(\"out.pgm\")`".into(),
        detail,
    }
    };
    if bytes.len() < 2 || &bytes[..2] != b"P5" {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(8)]).into_owned();
        return Err(bad(format!(
            "the file starts with {head:?}, not the P5 magic number"
        )));
    }
    // header: magic, width, height, maxval, separated by whitespace, comments start with '#'
    let mut pos = 2;
    let mut fields = Vec::new();
    while fields.len() < 3 {
        while pos < bytes.len() && (bytes[pos].is_ascii_whitespace() || bytes[pos] == b'#') {
            if bytes[pos] == b'#' {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                pos += 1;
            }
        }
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if start == pos {
            return Err(bad("a truncated or malformed header".into()));
        }
        let v: usize = std::str::from_utf8(&bytes[start..pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("a malformed header number".into()))?;
        fields.push(v);
    }
    pos += 1; // the single whitespace byte after maxval
    let (w, h, maxval) = (fields[0], fields[1], fields[2]);
    if w == 0 || h == 0 || maxval == 0 || maxval > 65535 {
        return Err(bad(format!("width {w}, height {h}, maxval {maxval}")));
    }
    let bps = if maxval < 256 { 1 } else { 2 };
    let need = w * h * bps;
    if bytes.len() < pos + need {
        return Err(bad(format!(
            "{} bytes of pixel data for a {w} × {h} image that needs {need}",
            bytes.len().saturating_sub(pos)
        )));
    }
    let data = &bytes[pos..pos + need];
    let mx = maxval as f64;
    Ok(Array2::from_shape_fn((h, w), |(r, c)| {
        let i = r * w + c;
        let v = if bps == 1 {
            f64::from(data[i])
        } else {
            f64::from(u16::from_be_bytes([data[2 * i], data[2 * i + 1]]))
        };
        v / mx
    }))
}

/// Every image in `dir` whose file name starts with `prefix` and ends in `.pgm`, sorted by name.
///
/// # Errors
/// The directory cannot be read, no image matches, or an image cannot be read.
pub fn read_pgm_dir(dir: impl AsRef<Path>, prefix: &str) -> Result<Vec<(String, Array2<f64>)>> {
    let dir = dir.as_ref();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::File {
            action: "read",
            path: dir.to_path_buf(),
            source: Box::new(e),
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".pgm"))
        .collect();
    names.sort();
    ensure!(
        !names.is_empty(),
        "images",
        format!("none matching {prefix}*.pgm in {}", dir.display()),
        "at least one binary PGM image there"
    );
    names
        .into_iter()
        .map(|n| read_pgm(dir.join(&n)).map(|im| (n, im)))
        .collect()
}

fn check_patch(img: ArrayView2<'_, f64>, p: usize, stride: usize) -> Result<()> {
    ensure!(p >= 1, "patch", p, "a patch side ≥ 1");
    ensure!(stride >= 1, "stride", stride, "a stride ≥ 1");
    ensure!(
        img.nrows() >= p && img.ncols() >= p,
        "patch",
        p,
        format!("a patch side ≤ the image size {:?}", img.dim())
    );
    Ok(())
}

/// Top-left corners of the p × p patches at `stride`, the last row/column always included so the
/// whole image is covered.
fn corners(len: usize, p: usize, stride: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..=len - p).step_by(stride).collect();
    if *v.last().unwrap_or(&0) != len - p {
        v.push(len - p);
    }
    v
}

/// Patches as columns (p² × K) and their top-left corners (row, column).
pub type Patches = (Array2<f64>, Vec<(usize, usize)>);

/// All p × p patches at `stride` as columns (p² × K), with their corners.
///
/// # Errors
/// p or stride 0, p larger than the image.
pub fn patches(img: ArrayView2<'_, f64>, p: usize, stride: usize) -> Result<Patches> {
    check_patch(img, p, stride)?;
    let pos: Vec<(usize, usize)> = corners(img.nrows(), p, stride)
        .into_iter()
        .flat_map(|r| {
            corners(img.ncols(), p, stride)
                .into_iter()
                .map(move |c| (r, c))
        })
        .collect();
    let mut out = Array2::zeros((p * p, pos.len()));
    for (k, &(r, c)) in pos.iter().enumerate() {
        for i in 0..p {
            for j in 0..p {
                out[[i * p + j, k]] = img[[r + i, c + j]];
            }
        }
    }
    Ok((out, pos))
}

/// `count` p × p patches at uniformly random positions of random images of `imgs`, the same
/// positions cut from `imgs` and from `other` (e.g. noisy and clean versions): (p² × count) each.
///
/// # Errors
/// No image, images of different sizes in the two lists, p larger than an image.
pub fn random_patch_pairs(
    imgs: &[Array2<f64>],
    other: &[Array2<f64>],
    p: usize,
    count: usize,
    rng: &mut impl Rng,
) -> Result<(Array2<f64>, Array2<f64>)> {
    ensure!(!imgs.is_empty(), "images", 0, "at least one image");
    ensure!(
        imgs.len() == other.len(),
        "images",
        format!("{} and {}", imgs.len(), other.len()),
        "as many images in both lists"
    );
    for (a, b) in imgs.iter().zip(other) {
        if a.dim() != b.dim() {
            return Err(Error::shape("paired image", a.dim(), b.dim()));
        }
        check_patch(a.view(), p, 1)?;
    }
    let mut xa = Array2::zeros((p * p, count));
    let mut xb = Array2::zeros((p * p, count));
    for k in 0..count {
        let i = rng.random_range(0..imgs.len());
        let (h, w) = imgs[i].dim();
        let r = rng.random_range(0..=h - p);
        let c = rng.random_range(0..=w - p);
        for a in 0..p {
            for b in 0..p {
                xa[[a * p + b, k]] = imgs[i][[r + a, c + b]];
                xb[[a * p + b, k]] = other[i][[r + a, c + b]];
            }
        }
    }
    Ok((xa, xb))
}

/// Average overlapping p × p patch estimates (columns of `est`, at `pos`) into a `shape` image.
///
/// # Errors
/// `est` not p² × |pos|, a pixel no patch covers.
pub fn reassemble(
    est: ArrayView2<'_, f64>,
    pos: &[(usize, usize)],
    p: usize,
    shape: (usize, usize),
) -> Result<Array2<f64>> {
    if est.dim() != (p * p, pos.len()) {
        return Err(Error::shape(
            "patch estimates (p² × K)",
            (p * p, pos.len()),
            est.dim(),
        ));
    }
    let mut acc = Array2::<f64>::zeros(shape);
    let mut cnt = Array2::<f64>::zeros(shape);
    for (k, &(r, c)) in pos.iter().enumerate() {
        for i in 0..p {
            for j in 0..p {
                acc[[r + i, c + j]] += est[[i * p + j, k]];
                cnt[[r + i, c + j]] += 1.0;
            }
        }
    }
    ensure!(
        cnt.iter().all(|&c| c > 0.0),
        "patches",
        "an uncovered pixel",
        "patches covering the whole image"
    );
    Ok(acc / cnt)
}

/// Subtract each column's mean; returns the centred columns and the means.
pub fn remove_mean(x: ArrayView2<'_, f64>) -> (Array2<f64>, Array1<f64>) {
    let means = x
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(x.ncols()));
    let mut c = x.to_owned();
    for (mut col, &m) in c.columns_mut().into_iter().zip(means.iter()) {
        col -= m;
    }
    (c, means)
}

/// `img + σ·N(0, 1)` (not clamped, as in PUDLE's AWGN).
pub fn add_noise(img: ArrayView2<'_, f64>, sigma: f64, rng: &mut impl Rng) -> Array2<f64> {
    img.mapv(|v| v + sigma * rng.sample::<f64, _>(StandardNormal))
}

/// Denoise `noisy` patch by patch: centre each p × p patch (stride `stride`), map the centred
/// patches (p² × K) through `f` (code and decode), add the means back, average the overlaps and
/// clamp to [0, 1].
///
/// # Errors
/// Invalid p or stride, an error from `f`, `f` returning the wrong shape.
pub fn denoise_patches(
    noisy: ArrayView2<'_, f64>,
    p: usize,
    stride: usize,
    f: impl FnOnce(ArrayView2<'_, f64>) -> Result<Array2<f64>>,
) -> Result<Array2<f64>> {
    let (x, pos) = patches(noisy, p, stride)?;
    let (xc, means) = remove_mean(x.view());
    let mut est = f(xc.view())?;
    if est.dim() != xc.dim() {
        return Err(Error::shape("decoded patches", xc.dim(), est.dim()));
    }
    for (mut col, &m) in est.columns_mut().into_iter().zip(means.iter()) {
        col += m;
    }
    let img = reassemble(est.view(), &pos, p, noisy.dim())?;
    Ok(img.mapv(|v| v.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn pgm_round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("dictlab-pgm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.pgm");
        let mut bytes = b"P5\n# a comment\n3 2\n255\n".to_vec();
        bytes.extend([0u8, 51, 255, 102, 153, 204]);
        std::fs::write(&f, &bytes).unwrap();
        let img = read_pgm(&f).unwrap();
        assert_eq!(img, array![[0.0, 0.2, 1.0], [0.4, 0.6, 0.8]]);
        // ASCII PGM, PNG, truncated data: typed errors naming the format
        std::fs::write(&f, b"P2\n3 2\n255\n0 1 2 3 4 5\n").unwrap();
        let e = read_pgm(&f).unwrap_err().to_string();
        assert!(e.contains("P5") && e.contains("convert"), "{e}");
        std::fs::write(&f, b"\x89PNG\r\n\x1a\n").unwrap();
        assert!(read_pgm(&f).unwrap_err().to_string().contains("P5"));
        std::fs::write(&f, b"P5 3 2 255\n\x00\x01").unwrap();
        assert!(read_pgm(&f).unwrap_err().to_string().contains("needs 6"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn patches_reassemble_to_the_image() {
        let img = Array2::from_shape_fn((7, 9), |(r, c)| (r * 9 + c) as f64 / 63.0);
        for (p, stride) in [(3, 1), (3, 2), (4, 3), (7, 5)] {
            let (x, pos) = patches(img.view(), p, stride).unwrap();
            let back = reassemble(x.view(), &pos, p, img.dim()).unwrap();
            assert!(
                (&back - &img).iter().all(|v| v.abs() < 1e-15),
                "p {p} stride {stride}"
            );
        }
        // hand-computed: the 2 × 2 patch at (1, 1) of a 3 × 3 image, row-major inside the patch
        let small = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]];
        let (x, pos) = patches(small.view(), 2, 1).unwrap();
        assert_eq!(pos[3], (1, 1));
        assert_eq!(x.column(3).to_vec(), vec![5.0, 6.0, 8.0, 9.0]);
        // the identity map denoises nothing: output = clamped input
        let out = denoise_patches(small.view(), 2, 1, |c| Ok(c.to_owned())).unwrap();
        assert!(out.iter().all(|&v| (v - 1.0).abs() < 1e-15));
        assert!(patches(small.view(), 4, 1).is_err());
        assert!(patches(small.view(), 2, 0).is_err());
    }
}
