//! The driver shared by the per-signal coders (OMP, CD, LARS): signals are coded in blocks on the
//! rayon pool, each worker reusing one scratch state (no per-signal allocation), each block
//! returning its non-zeros as (column, row, value) triples that are scattered into the dense
//! m × N code matrix at the end. The per-signal objective is accumulated in the same pass, so no
//! coder recomputes `Y − AX` just to report it.

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

/// Where one signal writes its non-zeros.
pub(crate) struct Sink<'a> {
    col: u32,
    out: &'a mut Vec<(u32, u32, f64)>,
}

impl Sink<'_> {
    #[inline]
    pub fn push(&mut self, row: usize, v: f64) {
        if v != 0.0 {
            self.out.push((self.col, row as u32, v));
        }
    }
}

/// One block's non-zeros (column, row, value), max steps, count not ok, objective.
type BlockOut = (Vec<(u32, u32, f64)>, usize, usize, f64);

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
    let (m, nn) = (dict.ncols(), y.ncols());
    let blocks: Vec<BlockOut> = (0..nn.div_ceil(BLOCK))
        .into_par_iter()
        .map_init(
            || (init(), Array2::<f64>::zeros((BLOCK, m)), vec![0.0; BLOCK]),
            |(scratch, corr, yy), b| {
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
                let mut out = Vec::with_capacity(8 * (hi - lo));
                let (mut steps, mut not_ok, mut obj) = (0, 0, 0.0);
                for j in lo..hi {
                    let mut sink = Sink {
                        col: j as u32,
                        out: &mut out,
                    };
                    let row = cb.row(j - lo);
                    let bj = row
                        .as_slice()
                        .expect("rows of a fresh array are contiguous");
                    let o = f(scratch, j, bj, yy[j - lo], &mut sink);
                    steps = steps.max(o.steps);
                    not_ok += (!o.ok) as usize;
                    obj += o.objective;
                }
                (out, steps, not_ok, obj)
            },
        )
        .collect();
    // Scatter in parallel over row bands of X: each band's pages are first touched (faulted in)
    // by the thread that fills them, so page faults — costly here — run concurrently.
    let mut codes = Array2::zeros((m, nn));
    let band = m.div_ceil(4 * rayon::current_num_threads()).max(1);
    codes
        .axis_chunks_iter_mut(Axis(0), band)
        .into_par_iter()
        .enumerate()
        .for_each(|(c, mut rows)| {
            let lo = (c * band) as u32;
            let hi = lo + rows.nrows() as u32;
            for (out, ..) in &blocks {
                for &(j, i, v) in out {
                    if i >= lo && i < hi {
                        rows[((i - lo) as usize, j as usize)] = v;
                    }
                }
            }
        });
    let (mut steps_max, mut not_ok, mut objective) = (0, 0, 0.0);
    for (_, s, k, o) in blocks {
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

/// `out[j] = ‖y_j‖²` for the columns of `y` (n × w, w ≤ out.len()), one pass over the rows.
pub(crate) fn column_sq_norms_into(y: ArrayView2<'_, f64>, out: &mut [f64]) {
    out.iter_mut().for_each(|v| *v = 0.0);
    for row in y.rows() {
        for (o, v) in out.iter_mut().zip(row.iter()) {
            *o += v * v;
        }
    }
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

/// `out = b − Σ_t c_t G[rows_t, :]` for the rows of the row-major m × m matrix `g` (a GEMV with
/// the selected rows, accumulated in registers 32 entries at a time: one store per entry).
#[inline(always)]
pub(crate) fn gemv_rows_neg(
    out: &mut [f64],
    b: &[f64],
    g: &[f64],
    m: usize,
    rows: &[usize],
    c: &[f64],
) {
    // 32 lanes = 8 independent AVX accumulators: enough to hide the add latency
    const W: usize = 32;
    let full = m / W * W;
    for i0 in (0..full).step_by(W) {
        let mut acc = [0.0; W];
        acc.copy_from_slice(&b[i0..i0 + W]);
        for (&r, &ct) in rows.iter().zip(c) {
            let row = &g[r * m + i0..r * m + i0 + W];
            for l in 0..W {
                acc[l] -= ct * row[l];
            }
        }
        out[i0..i0 + W].copy_from_slice(&acc);
    }
    for i in full..m {
        let mut v = b[i];
        for (&r, &ct) in rows.iter().zip(c) {
            v -= ct * g[r * m + i];
        }
        out[i] = v;
    }
}

/// `out = Σ_t c_t G[rows_t, :]` (as [`gemv_rows_neg`], without the base vector).
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

/// Index of the largest `|v_i|·w_i` (`w` = 1 when `None`) above `floor`, skipping `excluded`
/// entries: a vectorisable max pass, then a search for the first index attaining it; falls back to
/// a masked scan only when the maximiser is excluded.
#[inline(always)]
#[allow(clippy::float_cmp, clippy::needless_range_loop)] // exact ties pick the first index
pub(crate) fn argmax_abs(
    v: &[f64],
    w: Option<&[f64]>,
    excluded: &[bool],
    floor: f64,
) -> Option<usize> {
    let score = |i: usize| match w {
        None => v[i].abs(),
        Some(w) => v[i].abs() * w[i],
    };
    // one pass, 4 lanes each tracking (value, first index): compiles to compare + blend
    const W: usize = 4;
    let mut lv = [-1.0f64; W];
    let mut li = [0usize; W];
    let full = v.len() / W * W;
    match w {
        None => {
            for (c, ch) in v[..full].chunks_exact(W).enumerate() {
                for l in 0..W {
                    let s = ch[l].abs();
                    let gt = s > lv[l];
                    lv[l] = if gt { s } else { lv[l] };
                    li[l] = if gt { c * W + l } else { li[l] };
                }
            }
        }
        Some(w) => {
            for (c, (ch, wh)) in v[..full]
                .chunks_exact(W)
                .zip(w[..full].chunks_exact(W))
                .enumerate()
            {
                for l in 0..W {
                    let s = ch[l].abs() * wh[l];
                    let gt = s > lv[l];
                    lv[l] = if gt { s } else { lv[l] };
                    li[l] = if gt { c * W + l } else { li[l] };
                }
            }
        }
    }
    let (mut best, mut i) = (lv[0], li[0]);
    for l in 1..W {
        if lv[l] > best || (lv[l] == best && li[l] < i) {
            best = lv[l];
            i = li[l];
        }
    }
    for t in full..v.len() {
        let s = score(t);
        if s > best {
            best = s;
            i = t;
        }
    }
    if best <= floor {
        return None;
    }
    if !excluded[i] {
        return Some(i);
    }
    let mut arg = None;
    let mut bv = floor;
    for i in 0..v.len() {
        let s = score(i);
        if s > bv && !excluded[i] {
            bv = s;
            arg = Some(i);
        }
    }
    arg
}
