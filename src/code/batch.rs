//! The driver shared by the per-signal coders (OMP, CD, LARS): signals are coded in blocks on the
//! rayon pool, each worker reusing one scratch state (no per-signal allocation), each block
//! writing its non-zeros straight into its own columns of the dense m × N code matrix. The
//! per-signal objective is accumulated in the same pass, so no coder recomputes `Y − AX` just to
//! report it.
//!

use crate::linalg;
use faer::Par;
use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

/// Signals per parallel task.
const BLOCK: usize = 128;

/// What a per-signal coder reports for one signal.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SignalOut {
    /// Iterations / breakpoints / sweeps.
    pub steps: usize,
    /// Reached its own stop rule (false: step cap, or stopped early on dependence).
    pub ok: bool,
    /// This signal's objective.
    pub objective: f64,
}

/// Where one signal writes its non-zeros: its column of the (zero-initialized) code matrix.
pub(crate) struct Sink<'a> {
    col: ndarray::ArrayViewMut1<'a, f64>,
}

impl Sink<'_> {
    #[inline]
    pub fn push(&mut self, row: usize, v: f64) {
        self.col[row] = v;
    }
}

/// One block's max steps, count not ok, objective.
type BlockOut = (usize, usize, f64);

/// Outcome of a batch.
pub(crate) struct Batch {
    pub codes: Array2<f64>,
    pub steps_max: usize,
    /// Signals whose `ok` was false.
    pub not_ok: usize,
    pub objective: f64,
}

/// Run `f(scratch, j, b_j, ‖y_j‖², sink)` for every signal j (column of `y`), where `b_j = Aᵀy_j` is
/// computed block by block (one cache-resident `Y_blockᵀ A` GEMM per block of signals, so the
/// N × m correlation matrix is never materialised); `init` builds one scratch per worker.
pub(crate) fn per_signal<S, FI, F>(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    init: FI,
    f: F,
) -> Batch
where
    FI: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize, &[f64], f64, &mut Sink<'_>) -> SignalOut + Sync + Send,
{
    per_signal_pairs(dict, y, init, &f, |sc, j, b, yy, [sa, sb]| {
        [f(sc, j, b[0], yy[0], sa), f(sc, j + 1, b[1], yy[1], sb)]
    })
}

/// [`per_signal`] that hands the signals to `two(scratch, j, [b_j, b_j+1], [‖y_j‖², ‖y_j+1‖²],
/// [sink_j, sink_j+1])` two at a time (a coder interleaves their serial chains), and the last
/// one of an odd block to `one`.
pub(crate) fn per_signal_pairs<S, FI, F1, F2>(
    dict: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    init: FI,
    one: F1,
    two: F2,
) -> Batch
where
    FI: Fn() -> S + Sync + Send,
    F1: Fn(&mut S, usize, &[f64], f64, &mut Sink<'_>) -> SignalOut + Sync + Send,
    F2: Fn(&mut S, usize, [&[f64]; 2], [f64; 2], [&mut Sink<'_>; 2]) -> [SignalOut; 2]
        + Sync
        + Send,
{
    let (m, nn) = (dict.ncols(), y.ncols());
    // each block of signals writes its own columns of X directly (disjoint mutable views), so
    // no triples are collected and scattered afterwards
    let mut codes = zeros_hugepages(m, nn);
    let blocks: Vec<BlockOut> = codes
        .axis_chunks_iter_mut(Axis(1), BLOCK)
        .into_par_iter()
        .enumerate()
        .map_init(
            || (init(), Array2::<f64>::zeros((BLOCK, m)), vec![0.0; BLOCK]),
            |(scratch, corr, yy), (b, mut xb)| {
                let (lo, hi) = (b * BLOCK, ((b + 1) * BLOCK).min(nn));
                let mut cb = corr.slice_mut(s![..hi - lo, ..]);
                linalg::gemm_into(
                    cb.view_mut(),
                    1.0,
                    y.slice(s![.., lo..hi]),
                    true,
                    dict,
                    false,
                    0.0,
                    Par::Seq,
                );
                column_sq_norms_into(y.slice(s![.., lo..hi]), yy);
                let row = |r: usize| {
                    cb.row(r)
                        .to_slice()
                        .expect("rows of a fresh array are contiguous")
                };
                let (mut steps, mut not_ok, mut obj) = (0, 0, 0.0);
                let mut tally = |o: SignalOut| {
                    steps = steps.max(o.steps);
                    not_ok += (!o.ok) as usize;
                    obj += o.objective;
                };
                for (c, mut cols) in xb.axis_chunks_iter_mut(Axis(1), 2).enumerate() {
                    let r = 2 * c; // signal lo + r
                    if cols.ncols() == 2 {
                        let (a, b) = cols.view_mut().split_at(Axis(1), 1);
                        let mut sa = Sink {
                            col: a.index_axis_move(Axis(1), 0),
                        };
                        let mut sb = Sink {
                            col: b.index_axis_move(Axis(1), 0),
                        };
                        let outs = two(
                            scratch,
                            lo + r,
                            [row(r), row(r + 1)],
                            [yy[r], yy[r + 1]],
                            [&mut sa, &mut sb],
                        );
                        outs.into_iter().for_each(&mut tally);
                    } else {
                        let mut sink = Sink {
                            col: cols.index_axis_move(Axis(1), 0),
                        };
                        tally(one(scratch, lo + r, row(r), yy[r], &mut sink));
                    }
                }
                (steps, not_ok, obj)
            },
        )
        .collect();
    let (mut steps_max, mut not_ok, mut objective) = (0, 0, 0.0);
    for (s, k, o) in blocks {
        steps_max = steps_max.max(s);
        not_ok += k;
        objective += o;
    }
    Batch {
        codes,
        steps_max,
        not_ok,
        objective,
    }
}

/// A zeroed `rows × cols` array. Large ones come from a fresh anonymous mapping (the allocator's
/// zeroed allocation) that is not touched yet; on Linux it is marked `MADV_HUGEPAGE`, so the
/// workers that fill it fault in 2 MiB pages instead of 4 KiB ones — at N = 50 000 and m = 256 the
/// 4 KiB faults of the 100 MB code matrix were ≈ 15 % of Batch-OMP's time. Elsewhere (or when the
/// kernel refuses) it is an ordinary zeroed array.
pub(crate) fn zeros_hugepages(rows: usize, cols: usize) -> Array2<f64> {
    let len = rows * cols;
    let v = vec![0.0f64; len];
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let (p, bytes) = (v.as_ptr() as usize, len * std::mem::size_of::<f64>());
        let (start, end) = ((p + HUGE - 1) & !(HUGE - 1), (p + bytes) & !(HUGE - 1));
        if bytes >= 4 * HUGE && end > start {
            // SAFETY: [start, end) lies inside the live allocation `v`; MADV_HUGEPAGE only
            // changes how its pages are backed, never their contents. The result is ignored
            // (an advice the kernel may decline).
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    Array2::from_shape_vec((rows, cols), v).expect("rows × cols entries")
}

/// `out[j] = ‖y_j‖²` for the columns of `y` (n × w, w ≤ out.len()), one pass over the rows.
pub(crate) fn column_sq_norms_into(y: ArrayView2<'_, f64>, out: &mut [f64]) {
    if y.nrows() > 1 && y.strides()[0] == 1 {
        // column-major signals (numpy's Fortran order): one contiguous pass per column
        for (o, c) in out.iter_mut().zip(y.columns()) {
            *o = sq_norm(c.as_slice().expect("unit row stride"));
        }
        return;
    }
    out.iter_mut().for_each(|v| *v = 0.0);
    for row in y.rows() {
        for (o, v) in out.iter_mut().zip(row.iter()) {
            *o += v * v;
        }
    }
}

/// `‖v‖²` with 8 independent accumulators (a vectorized reduction, not one serial chain).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // fixed-width lanes
pub(crate) fn sq_norm(v: &[f64]) -> f64 {
    const W: usize = 8;
    let mut acc = [0.0f64; W];
    let mut chunks = v.chunks_exact(W);
    for ch in &mut chunks {
        for l in 0..W {
            acc[l] += ch[l] * ch[l];
        }
    }
    acc.iter().sum::<f64>() + chunks.remainder().iter().map(|x| x * x).sum::<f64>()
}

/// `½‖y − Ax‖² + λ‖x‖₁` from the Gram: ½(‖y‖² − 2xᵀb + xᵀGx) + λ‖x‖₁ over the support `idx`
/// (b = Aᵀy). Cancellation is bounded by ε‖y‖², far below any tolerance used on objectives.
pub(crate) fn lasso_objective_gram(
    g: &[f64],
    m: usize,
    b: &[f64],
    yy: f64,
    idx: &[usize],
    val: &[f64],
    lambda: f64,
) -> f64 {
    let mut xb = 0.0;
    let mut xgx = 0.0;
    let mut l1 = 0.0;
    for (s, (&i, &vi)) in idx.iter().zip(val).enumerate() {
        xb += vi * b[i];
        l1 += vi.abs();
        let row = &g[i * m..(i + 1) * m];
        let mut acc = 0.5 * vi * row[i];
        for (&j, &vj) in idx[..s].iter().zip(&val[..s]) {
            acc += vj * row[j];
        }
        xgx += 2.0 * vi * acc;
    }
    (0.5 * (yy - 2.0 * xb + xgx)).max(0.0) + lambda * l1
}

/// `y -= a·x` on slices (the inner kernel of every Gram-row update).
#[inline(always)]
pub(crate) fn axpy_neg(y: &mut [f64], a: f64, x: &[f64]) {
    for (yv, xv) in y.iter_mut().zip(x) {
        *yv -= a * xv;
    }
}

/// `out = Σ_t c_t G[rows_t, :]` for the rows of the row-major m × m matrix `g` (a GEMV with the
/// selected rows, accumulated in registers 32 entries at a time: one store per entry).
#[inline(always)]
pub(crate) fn gemv_rows(out: &mut [f64], g: &[f64], m: usize, rows: &[usize], c: &[f64]) {
    const W: usize = 32;
    let full = m / W * W;
    for i0 in (0..full).step_by(W) {
        let mut acc = [0.0; W];
        for (&r, &ct) in rows.iter().zip(c) {
            let row = &g[r * m + i0..r * m + i0 + W];
            for l in 0..W {
                acc[l] += ct * row[l];
            }
        }
        out[i0..i0 + W].copy_from_slice(&acc);
    }
    for i in full..m {
        let mut v = 0.0;
        for (&r, &ct) in rows.iter().zip(c) {
            v += ct * g[r * m + i];
        }
        out[i] = v;
    }
}
