//! Landscape probes for the autoencoders (Rangamani et al. Table 1 and Figure 1): points at a
//! prescribed columnwise distance from the truth, the gradient averaged over such points, and the
//! loss and gradient norm along a line.
//!
//! Rows are atoms here (the autoencoder's `W` is h × n, `W ≈ A*ᵀ`).

use super::relu_ae::{AeState, TiedAeGd, Unit, loss_grad};
use crate::error::{Error, Result, ensure};
use crate::instance::Instance;
use crate::iter::{Record, Schedule};
use crate::rng::{derive_seed, rng_from_seed};
use crate::table::Row;
use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use rand_distr::StandardNormal;
use std::ops::ControlFlow;

/// `W_i = a_i + dist · u_i` with `u_i` uniform on the unit sphere, for every row `a_i` of `rows`
/// (h × n): each row exactly `dist` away from its atom.
///
/// # Errors
/// A negative or non-finite distance.
pub fn rows_at_distance(
    rows: ArrayView2<'_, f64>,
    dist: f64,
    rng: &mut impl Rng,
) -> Result<Array2<f64>> {
    ensure!(
        dist.is_finite() && dist >= 0.0,
        "dist",
        dist,
        "a distance ≥ 0"
    );
    let mut w = rows.to_owned();
    for mut row in w.rows_mut() {
        let u = unit_vector(row.len(), rng);
        row.scaled_add(dist, &u);
    }
    Ok(w)
}

fn unit_vector(n: usize, rng: &mut impl Rng) -> Array1<f64> {
    loop {
        let v = Array1::from_iter((0..n).map(|_| rng.sample::<f64, _>(StandardNormal)));
        let nv = v.dot(&v).sqrt();
        if nv > 1e-12 {
            return v / nv;
        }
    }
}

/// Gradient statistics over `points` probes at distance `dist` from `truth_rows` (h × n).
#[derive(Clone, Debug, PartialEq)]
pub struct GradientProbe {
    /// Reading (a) of docs/protocols.md §2: mean over rows of ‖(1/P) Σ_j G_j[i, :]‖ (the averaged gradient).
    pub mean_row_norm_of_mean: f64,
    /// Reading (b): mean over points of the mean row norm of G_j.
    pub mean_of_mean_row_norm: f64,
    /// Mean fraction of active (unit, sample) pairs.
    pub active_fraction: f64,
    /// Mean loss.
    pub loss: f64,
}

/// Average the tied autoencoder's gradient over `points` random points at columnwise distance
/// `dist` from `truth_rows`, with bias `eps`, on signals `y`.
///
/// # Errors
/// `points = 0`, bad shapes or distance.
pub fn gradient_probe(
    truth_rows: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    eps: f64,
    dist: f64,
    points: usize,
    rng: &mut impl Rng,
) -> Result<GradientProbe> {
    ensure!(points >= 1, "points", points, "at least one probe point");
    let mut mean = Array2::<f64>::zeros(truth_rows.dim());
    let (mut b, mut act, mut loss) = (0.0, 0.0, 0.0);
    for _ in 0..points {
        let w = rows_at_distance(truth_rows, dist, rng)?;
        let ev = loss_grad(w.view(), y, eps)?;
        b += mean_row_norm(ev.grad.view());
        act += ev.active_fraction;
        loss += ev.loss;
        mean += &ev.grad;
    }
    let p = points as f64;
    mean /= p;
    Ok(GradientProbe {
        mean_row_norm_of_mean: mean_row_norm(mean.view()),
        mean_of_mean_row_norm: b / p,
        active_fraction: act / p,
        loss: loss / p,
    })
}

/// ‖w_i − a_i‖ for each row of `w` against the row `a_i` of `truth_rows` (identity matching),
/// with `w_i` scaled to unit norm first when `normalized` (a zero row then counts as distance ‖a_i‖).
///
/// # Errors
/// Shapes differ.
pub fn row_distances(
    w: ArrayView2<'_, f64>,
    truth_rows: ArrayView2<'_, f64>,
    normalized: bool,
) -> Result<Vec<f64>> {
    if w.dim() != truth_rows.dim() {
        return Err(Error::shape("rows (h × n)", truth_rows.dim(), w.dim()));
    }
    Ok(w.rows()
        .into_iter()
        .zip(truth_rows.rows())
        .map(|(r, a)| {
            let r = if normalized {
                &r / r.dot(&r).sqrt().max(1e-300)
            } else {
                r.to_owned()
            };
            let d = &r - &a;
            d.dot(&d).sqrt()
        })
        .collect())
}

/// Mean of [`row_distances`] (the columnwise distance averaged over atoms, identity matching).
///
/// # Errors
/// Shapes differ.
pub fn mean_row_distance(
    w: ArrayView2<'_, f64>,
    truth_rows: ArrayView2<'_, f64>,
    normalized: bool,
) -> Result<f64> {
    let d = row_distances(w, truth_rows, normalized)?;
    Ok(d.iter().sum::<f64>() / d.len().max(1) as f64)
}

/// Per hidden unit, the precision and recall of its firing (`w_i · y > eps`) against the support
/// of its atom (`x_true[i, ·] ≠ 0`) on signals `y` (n × N) with codes `x_true` (h × N); returns
/// the means over units (a unit that never fires has precision 0, an atom never used recall 0).
///
/// # Errors
/// Shapes that do not conform.
pub fn unit_support_precision_recall(
    w: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    eps: f64,
    x_true: ArrayView2<'_, f64>,
) -> Result<(f64, f64)> {
    let (h, n) = w.dim();
    if y.nrows() != n || x_true.dim() != (h, y.ncols()) {
        return Err(Error::shape(
            "signals (n × N) and codes (h × N)",
            (h, y.ncols()),
            x_true.dim(),
        ));
    }
    let z = w.dot(&y);
    let (mut p, mut r) = (0.0, 0.0);
    for (zr, xr) in z.rows().into_iter().zip(x_true.rows()) {
        let (mut tp, mut fired, mut used) = (0usize, 0usize, 0usize);
        for (&zv, &xv) in zr.iter().zip(xr.iter()) {
            let (f, u) = (zv > eps, xv != 0.0);
            tp += (f && u) as usize;
            fired += f as usize;
            used += u as usize;
        }
        p += if fired > 0 {
            tp as f64 / fired as f64
        } else {
            0.0
        };
        r += if used > 0 {
            tp as f64 / used as f64
        } else {
            0.0
        };
    }
    Ok((p / h.max(1) as f64, r / h.max(1) as f64))
}

/// Mean of the rows' Euclidean norms.
pub fn mean_row_norm(g: ArrayView2<'_, f64>) -> f64 {
    g.rows().into_iter().map(|r| r.dot(&r).sqrt()).sum::<f64>() / g.nrows().max(1) as f64
}

/// `(t, loss, mean row norm of the gradient)` at `w0 + t · dir` for each `t`.
///
/// # Errors
/// `dir` shaped unlike `w0`; bad shapes.
pub fn along_direction(
    w0: ArrayView2<'_, f64>,
    dir: ArrayView2<'_, f64>,
    ts: &[f64],
    y: ArrayView2<'_, f64>,
    eps: f64,
) -> Result<Vec<(f64, f64, f64)>> {
    if dir.dim() != w0.dim() {
        return Err(Error::shape("direction (h × n)", w0.dim(), dir.dim()));
    }
    ts.iter()
        .map(|&t| {
            let w = &w0 + &(&dir * t);
            let ev = loss_grad(w.view(), y, eps)?;
            Ok((t, ev.loss, mean_row_norm(ev.grad.view())))
        })
        .collect()
}

/// A standard-normal h × n direction whose rows have unit norm (Figure 1's ΔW, transposed to rows).
pub fn random_direction(h: usize, n: usize, rng: &mut impl Rng) -> Array2<f64> {
    let mut d = Array2::zeros((h, n));
    for mut r in d.rows_mut() {
        r.assign(&unit_vector(n, rng));
    }
    d
}

/// What a learned row has become (the blog note's classes; docs/protocols.md §5, BLOG-E3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowClass {
    /// |cos| ≥ 0.99 with this atom, and the closest such row to it.
    Atom(usize),
    /// |cos| ≥ 0.99 with an atom another row already represents better, or with another row.
    Duplicate,
    /// Not an atom, but its projection onto the span of its 3 closest atoms keeps ≥ 0.99 of its norm.
    Combination,
    /// Never active on the signals, or none of the above.
    Useless,
}

impl RowClass {
    /// `atom`, `duplicate`, `combination` or `useless`.
    pub fn name(&self) -> &'static str {
        match self {
            RowClass::Atom(_) => "atom",
            RowClass::Duplicate => "duplicate",
            RowClass::Combination => "combination",
            RowClass::Useless => "useless",
        }
    }
}

/// Norm of the projection of unit vector `r` onto the span of `atoms` (unit columns, full rank).
fn projection_norm(r: ndarray::ArrayView1<'_, f64>, atoms: &[ndarray::ArrayView1<'_, f64>]) -> f64 {
    // Gram–Schmidt on the (few) atoms, then ‖Σ ⟨r, q_k⟩ q_k‖
    let mut basis: Vec<Array1<f64>> = Vec::new();
    for a in atoms {
        let mut q = a.to_owned();
        for b in &basis {
            let c = q.dot(b);
            q.scaled_add(-c, b);
        }
        let nq = q.dot(&q).sqrt();
        if nq > 1e-10 {
            basis.push(q / nq);
        }
    }
    basis.iter().map(|q| r.dot(q).powi(2)).sum::<f64>().sqrt()
}

/// Classify each row of `rows` (h × n) against the atoms of `truth` (n × m): see [`RowClass`].
/// A row is *active* when `rows · y − eps > 0` for some signal of `y` (n × N).
///
/// # Errors
/// Shapes that do not conform; a zero atom.
pub fn classify_rows(
    rows: ArrayView2<'_, f64>,
    truth: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    eps: f64,
) -> Result<Vec<RowClass>> {
    let (h, n) = rows.dim();
    if truth.nrows() != n || y.nrows() != n {
        return Err(Error::shape(
            "truth and signals (n rows)",
            (n, truth.ncols()),
            truth.dim(),
        ));
    }
    let mut atoms = truth.to_owned();
    for mut c in atoms.columns_mut() {
        let nc = c.dot(&c).sqrt();
        ensure!(nc > 0.0, "truth", "a zero atom", "non-zero atoms");
        c /= nc;
    }
    let z = rows.dot(&y);
    let active: Vec<bool> = z
        .rows()
        .into_iter()
        .map(|r| r.iter().any(|v| *v > eps))
        .collect();
    let unit: Vec<Option<Array1<f64>>> = rows
        .rows()
        .into_iter()
        .map(|r| {
            let nr = r.dot(&r).sqrt();
            (nr > 0.0).then(|| &r / nr)
        })
        .collect();
    let mut best_for_atom: Vec<Option<(usize, f64)>> = vec![None; atoms.ncols()];
    let mut top: Vec<(usize, f64)> = vec![(0, 0.0); h];
    for i in 0..h {
        if let (true, Some(u)) = (active[i], &unit[i]) {
            let cos = atoms.t().dot(u).mapv(f64::abs);
            let (j, c) =
                cos.iter().enumerate().fold(
                    (0, 0.0),
                    |acc, (j, &c)| if c > acc.1 { (j, c) } else { acc },
                );
            top[i] = (j, c);
            if c >= 0.99 && best_for_atom[j].is_none_or(|(_, b)| c > b) {
                best_for_atom[j] = Some((i, c));
            }
        }
    }
    let mut out = Vec::with_capacity(h);
    for i in 0..h {
        let Some(u) = (active[i]).then_some(()).and(unit[i].as_ref()) else {
            out.push(RowClass::Useless);
            continue;
        };
        let (j, c) = top[i];
        if c >= 0.99 {
            out.push(if best_for_atom[j].is_some_and(|(b, _)| b == i) {
                RowClass::Atom(j)
            } else {
                RowClass::Duplicate
            });
            continue;
        }
        let dup = (0..h).any(|k| {
            k != i && active[k] && unit[k].as_ref().is_some_and(|v| u.dot(v).abs() >= 0.99)
        });
        if dup {
            out.push(RowClass::Duplicate);
            continue;
        }
        let cos = atoms.t().dot(u).mapv(f64::abs);
        let mut order: Vec<usize> = (0..cos.len()).collect();
        order.sort_by(|&a, &b| cos[b].total_cmp(&cos[a]));
        let near: Vec<ndarray::ArrayView1<'_, f64>> =
            order.iter().take(3).map(|&k| atoms.column(k)).collect();
        out.push(if projection_norm(u.view(), &near) >= 0.99 {
            RowClass::Combination
        } else {
            RowClass::Useless
        });
    }
    Ok(out)
}

/// One local-convergence run of the tied ReLU autoencoder ([`TiedAeGd`]) from `w0` (the note's
/// BLOG-E1/E2/E4 protocol, docs/protocols.md §5): what [`track_tied_ae`] runs.
#[derive(Clone, Debug)]
pub struct TrackRun {
    /// The `method` of the rows.
    pub label: String,
    /// Starting row distance r₀ (recorded as the parameter `r0`).
    pub r0: f64,
    /// Bias ε.
    pub eps: f64,
    /// Hidden unit.
    pub unit: Unit,
    /// Learn an untied decoder.
    pub untied: bool,
    /// Gradient-descent iterations (η = 0.05).
    pub iters: usize,
    /// Seed of the fresh samples that score the units' firing.
    pub seed: u64,
}

/// What [`track_tied_ae`] recorded.
#[derive(Clone, Debug)]
pub struct Tracked {
    /// One row per 10th iteration: `fro_dist` ‖B − Aᵀ‖_F, `mean_row_dist`, `cos_whole` (the cosine
    /// of −∇L and Aᵀ − B), `cos_rows_mean` (the same per row, averaged), `rows_farther` (rows
    /// farther from their atom than at the start), `loss`; the last row adds `unit_precision`,
    /// `unit_recall` (firing b_iᵀy > ε against the atom's support on 2000 fresh samples),
    /// `mean_row_dist_normalized`, `decoder_dist_normalized` (NaN when tied).
    pub rows: Vec<Row>,
    /// Row × recorded iteration: each row's distance to its atom.
    pub heat: Vec<Vec<f64>>,
    /// The final per-row cosines cos(−∇_{b_i}L, a_i − b_i).
    pub last_cos: Vec<f64>,
}

/// Run the tied autoencoder from `w0` (rows b_i) on `inst` and track every row against its atom
/// (rows of Aᵀ) — the per-row gradient tracking of the note's experiments.
///
/// # Errors
/// `w0` not m × n; what [`TiedAeGd::run`] rejects.
pub fn track_tied_ae(run: &TrackRun, w0: ArrayView2<'_, f64>, inst: &Instance) -> Result<Tracked> {
    let truth_rows = inst.dict.t().to_owned();
    let m = truth_rows.nrows();
    let d0 = row_distances(w0, truth_rows.view(), false)?;
    let mut gd = TiedAeGd::new(0.05, run.eps);
    gd.max_iters = run.iters;
    gd.unit = run.unit;
    gd.untied = run.untied;
    let mut rows: Vec<Row> = Vec::new();
    let mut heat: Vec<Vec<f64>> = vec![Vec::new(); m];
    let mut last_cos: Vec<f64> = vec![0.0; m];
    let norm = |a: &Array2<f64>| a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let (s, _) = {
        let mut obs = |it: usize, _t: f64, s: &AeState, _r: &Record| -> ControlFlow<()> {
            let diff = &truth_rows - &s.w; // Aᵀ − B
            let g = &s.eval.grad;
            let whole = -(g * &diff).sum() / (norm(g) * norm(&diff)).max(1e-300);
            let (mut per_row, mut farther, mut mean_d) = (0.0, 0usize, 0.0);
            for i in 0..m {
                let (gi, di) = (g.row(i), diff.row(i));
                let dn = di.dot(&di).sqrt();
                last_cos[i] = -gi.dot(&di) / (gi.dot(&gi).sqrt() * dn).max(1e-300);
                per_row += last_cos[i];
                if dn > d0[i] {
                    farther += 1;
                }
                mean_d += dn;
                heat[i].push(dn);
            }
            let mut row = Row::new(run.label.clone());
            row.iter = it as i64;
            rows.push(
                row.param("r0", run.r0)
                    .metric("fro_dist", norm(&diff))
                    .metric("mean_row_dist", mean_d / m as f64)
                    .metric("cos_whole", whole)
                    .metric("cos_rows_mean", per_row / m as f64)
                    .metric("rows_farther", farther as f64)
                    .metric("loss", s.eval.loss),
            );
            ControlFlow::Continue(())
        };
        gd.run(w0, inst.y.view(), Schedule::Every(10), &mut obs)?
    };
    // unit firing vs the true supports on fresh samples from the same dictionary and code law
    let mut rng = rng_from_seed(derive_seed(run.seed, "fresh"));
    let x_fresh = inst.spec.codes.sample(m, 2000, &mut rng)?;
    let y_fresh = crate::instance::sparse_product(inst.dict.view(), x_fresh.view());
    let (p, r) =
        unit_support_precision_recall(s.w.view(), y_fresh.view(), run.eps, x_fresh.view())?;
    let dec_dist = match &s.dec {
        Some(d) => mean_row_distance(d.t().to_owned().view(), truth_rows.view(), true)?,
        None => f64::NAN,
    };
    let normalized = mean_row_distance(s.w.view(), truth_rows.view(), true)?;
    if let Some(last) = rows.last_mut() {
        *last = last
            .clone()
            .metric("unit_precision", p)
            .metric("unit_recall", r)
            .metric("mean_row_dist_normalized", normalized)
            .metric("decoder_dist_normalized", dec_dist);
    }
    Ok(Tracked {
        rows,
        heat,
        last_cos,
    })
}
