//! Real 2-D FFTs of flattened arrays: the one transform of the convolutional operators.
//!
//! A channel of a signal, an atom or an activation map is stored flattened row-major: `rows × cols`
//! entries, 1-D signals being the case `rows = 1` ([`Grid`]). The transform of size F₁ × F₂ (F₁ ≥ rows,
//! F₂ ≥ cols, zero-padded) is a real FFT along each row (F₂/2 + 1 frequencies, realfft) followed by a
//! complex FFT along each of those columns (rustfft; skipped when F₁ = 1), so the half spectrum holds
//! F₁ · (F₂/2 + 1) values, row-major. Products in this domain are 2-D circular convolutions of period
//! F₁ × F₂ (Wohlberg 2016 §III; sporco's `fftn` over the spatial axes). The inverse is unscaled: divide
//! by F₁F₂ ([`Fft2::len`]).

use super::csc::C64;
use crate::error::{Error, Result, ensure};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// How the flattened arrays of a convolutional problem are laid out: signals of `rows` rows
/// (1 for 1-D signals) and atoms of `atom_rows` rows; the widths follow from the flattened lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Grid {
    /// Rows H of a signal (1: 1-D signals).
    pub rows: usize,
    /// Rows of an atom (1 for 1-D atoms; L for L × L image atoms).
    pub atom_rows: usize,
}

impl Grid {
    /// 1-D signals and atoms.
    pub const LINE: Grid = Grid {
        rows: 1,
        atom_rows: 1,
    };

    /// Images of `rows` rows with square atoms of side `atom_side` (stored L² long).
    pub fn image(rows: usize, atom_side: usize) -> Grid {
        Grid {
            rows,
            atom_rows: atom_side,
        }
    }

    /// Whether the arrays are images (more than one row in the signals or the atoms).
    pub fn is_image(&self) -> bool {
        self.rows > 1 || self.atom_rows > 1
    }

    /// The 2-D shapes of signals of `t` flattened samples and atoms of `l` flattened entries.
    ///
    /// # Errors
    /// Zero rows, lengths that the rows do not divide, atoms taller or wider than the signals.
    pub fn dims(&self, t: usize, l: usize) -> Result<Dims> {
        ensure!(
            self.rows >= 1 && self.atom_rows >= 1,
            "grid",
            format!("{} × {} rows", self.rows, self.atom_rows),
            "at least one row in signals and atoms"
        );
        ensure!(
            t.is_multiple_of(self.rows) && l.is_multiple_of(self.atom_rows),
            "grid",
            format!(
                "{t} samples in {} rows, {l} atom entries in {} rows",
                self.rows, self.atom_rows
            ),
            "flattened images: H · W samples per channel and Lh · Lw per atom channel"
        );
        let d = Dims {
            h: self.rows,
            w: t / self.rows,
            lh: self.atom_rows,
            lw: l / self.atom_rows,
        };
        ensure!(
            d.lh <= d.h && d.lw <= d.w,
            "atom_len",
            format!("{} × {}", d.lh, d.lw),
            format!(
                "atoms no larger than the signals ({} × {}): shrink the atoms or enlarge the signals",
                d.h, d.w
            )
        );
        Ok(d)
    }
}

/// The 2-D shapes of one problem: signals H × W, atoms Lh × Lw (1-D: H = Lh = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    /// Signal rows H.
    pub h: usize,
    /// Signal columns W (T for 1-D signals).
    pub w: usize,
    /// Atom rows.
    pub lh: usize,
    /// Atom columns (L for 1-D atoms).
    pub lw: usize,
}

impl Dims {
    /// 1-D signals of `t` samples, atoms of `l`.
    pub fn line(t: usize, l: usize) -> Dims {
        Dims {
            h: 1,
            w: t,
            lh: 1,
            lw: l,
        }
    }
    /// The activation map's shape (rows, columns) under `boundary`.
    pub fn acts(&self, boundary: super::Boundary) -> (usize, usize) {
        (
            boundary.n_acts(self.h, self.lh),
            boundary.n_acts(self.w, self.lw),
        )
    }
    /// Activations per atom (flattened).
    pub fn n_acts(&self, boundary: super::Boundary) -> usize {
        let (a, b) = self.acts(boundary);
        a * b
    }
    /// Samples per channel (flattened).
    pub fn t(&self) -> usize {
        self.h * self.w
    }
    /// Entries per atom channel (flattened).
    pub fn l(&self) -> usize {
        self.lh * self.lw
    }
}

/// A real 2-D FFT of size F₁ × F₂ with its plans (module doc).
pub struct Fft2 {
    f1: usize,
    f2: usize,
    nc: usize,
    rfwd: Arc<dyn RealToComplex<f64>>,
    rinv: Arc<dyn ComplexToReal<f64>>,
    cfwd: Arc<dyn Fft<f64>>,
    cinv: Arc<dyn Fft<f64>>,
}

/// Per-thread buffers of [`Fft2`].
pub struct FftScratch {
    row: Vec<f64>,
    rsc: Vec<C64>,
    col: Vec<C64>,
    csc: Vec<C64>,
}

impl Fft2 {
    /// Plans for F₁ × F₂.
    ///
    /// # Errors
    /// A zero size.
    pub fn new(f1: usize, f2: usize) -> Result<Self> {
        if f1 == 0 || f2 == 0 {
            return Err(Error::invalid(
                "fft",
                format!("{f1} × {f2}"),
                "a non-empty transform",
            ));
        }
        let mut rp = RealFftPlanner::<f64>::new();
        let mut cp = FftPlanner::<f64>::new();
        Ok(Fft2 {
            f1,
            f2,
            nc: f2 / 2 + 1,
            rfwd: rp.plan_fft_forward(f2),
            rinv: rp.plan_fft_inverse(f2),
            cfwd: cp.plan_fft_forward(f1),
            cinv: cp.plan_fft_inverse(f1),
        })
    }

    /// F₁F₂, the scale of the inverse.
    pub fn len(&self) -> usize {
        self.f1 * self.f2
    }

    /// Always false (a transform has at least one sample).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// (F₁, F₂).
    pub fn size(&self) -> (usize, usize) {
        (self.f1, self.f2)
    }

    /// Values of the half spectrum, F₁ (F₂/2 + 1).
    pub fn n_freq(&self) -> usize {
        self.f1 * self.nc
    }

    /// The Parseval weight of half-spectrum entry `j`: 1 for the columns of frequency 0 and F₂/2
    /// (F₂ even), 2 for the others, whose conjugates are not stored.
    pub fn weight(&self, j: usize) -> f64 {
        let c = j % self.nc;
        if c == 0 || (self.f2.is_multiple_of(2) && c == self.nc - 1) {
            1.0
        } else {
            2.0
        }
    }

    /// Buffers for one thread.
    pub fn scratch(&self) -> FftScratch {
        FftScratch {
            row: vec![0.0; self.f2],
            rsc: vec![
                C64::new(0.0, 0.0);
                self.rfwd.get_scratch_len().max(self.rinv.get_scratch_len())
            ],
            col: vec![C64::new(0.0, 0.0); self.f1],
            csc: vec![
                C64::new(0.0, 0.0);
                self.cfwd
                    .get_inplace_scratch_len()
                    .max(self.cinv.get_inplace_scratch_len())
            ],
        }
    }

    /// The half spectrum (`out`, [`Fft2::n_freq`]) of the real array `x(r, c)`, r < `rows`,
    /// c < `cols`, zero-padded to F₁ × F₂.
    pub fn forward(
        &self,
        rows: usize,
        cols: usize,
        x: impl Fn(usize, usize) -> f64,
        out: &mut [C64],
        sc: &mut FftScratch,
    ) {
        let nc = self.nc;
        for r in 0..self.f1 {
            let o = &mut out[r * nc..(r + 1) * nc];
            if r >= rows {
                o.iter_mut().for_each(|v| *v = C64::new(0.0, 0.0));
                continue;
            }
            sc.row.iter_mut().for_each(|v| *v = 0.0);
            for (c, v) in sc.row.iter_mut().take(cols).enumerate() {
                *v = x(r, c);
            }
            // lengths match by construction
            let _ = self.rfwd.process_with_scratch(&mut sc.row, o, &mut sc.rsc);
        }
        if self.f1 > 1 {
            self.columns(out, sc, true);
        }
    }

    /// The real array of half spectrum `spec` (overwritten), unscaled (× F₁F₂), entry (r, c) given
    /// to `put(r, c, value)` for r < `rows`, c < `cols`.
    pub fn inverse(
        &self,
        spec: &mut [C64],
        rows: usize,
        cols: usize,
        mut put: impl FnMut(usize, usize, f64),
        sc: &mut FftScratch,
    ) {
        let nc = self.nc;
        if self.f1 > 1 {
            self.columns(spec, sc, false);
        }
        for r in 0..rows.min(self.f1) {
            let s = &mut spec[r * nc..(r + 1) * nc];
            s[0].im = 0.0;
            if self.f2.is_multiple_of(2) {
                s[nc - 1].im = 0.0;
            }
            let _ = self.rinv.process_with_scratch(s, &mut sc.row, &mut sc.rsc);
            for c in 0..cols.min(self.f2) {
                put(r, c, sc.row[c]);
            }
        }
    }

    fn columns(&self, spec: &mut [C64], sc: &mut FftScratch, forward: bool) {
        let (nc, f1) = (self.nc, self.f1);
        let plan = if forward { &self.cfwd } else { &self.cinv };
        for j in 0..nc {
            for r in 0..f1 {
                sc.col[r] = spec[r * nc + j];
            }
            plan.process_with_scratch(&mut sc.col, &mut sc.csc);
            for r in 0..f1 {
                spec[r * nc + j] = sc.col[r];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_circular_convolution_by_hand() {
        let fft = Fft2::new(3, 4).unwrap();
        let mut sc = fft.scratch();
        let x = [
            [1.0, 2.0, 0.0, -1.0],
            [0.5, 0.0, 3.0, 1.0],
            [0.0, -2.0, 1.0, 0.0],
        ];
        let mut spec = vec![C64::new(0.0, 0.0); fft.n_freq()];
        fft.forward(3, 4, |r, c| x[r][c], &mut spec, &mut sc);
        // Parseval with the half-spectrum weights
        let e: f64 = (0..spec.len())
            .map(|j| fft.weight(j) * spec[j].norm_sqr())
            .sum::<f64>()
            / fft.len() as f64;
        let ee: f64 = x.iter().flatten().map(|v| v * v).sum();
        assert!((e - ee).abs() < 1e-12, "{e} vs {ee}");
        let mut back = [[0.0; 4]; 3];
        fft.inverse(
            &mut spec.clone(),
            3,
            4,
            |r, c, v| back[r][c] = v / 12.0,
            &mut sc,
        );
        for r in 0..3 {
            for c in 0..4 {
                assert!((back[r][c] - x[r][c]).abs() < 1e-12);
            }
        }
        // the product of spectra is the 2-D circular convolution with a kernel δ(1, 2) + 2δ(0, 0)
        let mut kspec = vec![C64::new(0.0, 0.0); fft.n_freq()];
        let kern = |r: usize, c: usize| match (r, c) {
            (1, 2) => 1.0,
            (0, 0) => 2.0,
            _ => 0.0,
        };
        fft.forward(3, 4, kern, &mut kspec, &mut sc);
        let mut prod: Vec<C64> = spec.iter().zip(&kspec).map(|(a, b)| a * b).collect();
        let mut conv = [[0.0; 4]; 3];
        fft.inverse(&mut prod, 3, 4, |r, c, v| conv[r][c] = v / 12.0, &mut sc);
        for r in 0..3 {
            for c in 0..4 {
                let want = 2.0 * x[r][c] + x[(r + 2) % 3][(c + 2) % 4];
                assert!((conv[r][c] - want).abs() < 1e-12, "({r}, {c})");
            }
        }
    }

    #[test]
    fn grid_shapes_and_refusals() {
        let d = Grid::image(4, 2).dims(24, 4).unwrap();
        assert_eq!((d.h, d.w, d.lh, d.lw), (4, 6, 2, 2));
        assert_eq!(d.acts(super::super::Boundary::Valid), (3, 5));
        assert_eq!(Grid::LINE.dims(10, 3).unwrap(), Dims::line(10, 3));
        assert!(Grid::image(4, 2).dims(25, 4).is_err());
        assert!(Grid::image(2, 3).dims(12, 9).is_err());
        assert!(!Grid::LINE.is_image() && Grid::image(4, 2).is_image());
    }
}
