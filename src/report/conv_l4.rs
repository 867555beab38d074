//! The analysis of notebook 12 (convolutional ℓ4 maximization, Qu et al. 2020, and CRsAE,
//! Tolooshams et al. 2018), as named functions: every start of a `conv_l4` run matched to a true
//! filter and its shift, and the per-filter sine distance √(1 − c²) of a convolutional learner
//! against its iterations (CRsAE's figure of merit).

use crate::conv::{ConvL4Result, ConvLearnState, ConvLearner, conv_recovery};
use crate::error::Result;
use crate::iter::{Observer, Record, Schedule};
use crate::table::{Row, frame_of_rows};
use ndarray::{Array3, ArrayView3, Axis};
use polars::prelude::DataFrame;
use std::ops::ControlFlow;

/// One row per start of `res`: `method` = "start", `p_method_start` (index), `p_method_round`,
/// `m_value` (f at the limit), `m_steps`, `m_converged` and `m_kept` (0/1), `m_filter` (the true
/// filter it is closest to, up to shift and sign), `m_score` (that best |correlation|) and `m_lag`
/// (the matched lag).
///
/// # Errors
/// `truth` with more than one channel or a zero filter.
pub fn starts_table(
    truth: ArrayView3<'_, f64>,
    res: &ConvL4Result,
    seed: u64,
) -> Result<DataFrame> {
    let mut rows = Vec::new();
    for (j, s) in res.starts.iter().enumerate() {
        let f = s.filter.clone().insert_axis(Axis(0));
        let rec = conv_recovery(truth, f.view())?;
        // the one estimate is matched to the true filter it scores best against
        let (k, score) = rec
            .score
            .column(0)
            .iter()
            .enumerate()
            .fold((0, -1.0), |b, (i, v)| if *v > b.1 { (i, *v) } else { b });
        let lag = rec.matched_lag[k];
        rows.push(
            Row::new("start")
                .param("start", j as f64)
                .param("round", s.round as f64)
                .metric("value", s.value)
                .metric("steps", s.steps as f64)
                .metric("converged", f64::from(u8::from(s.converged)))
                .metric("kept", f64::from(u8::from(s.kept)))
                .metric("filter", k as f64)
                .metric("score", score)
                .metric("lag", lag as f64),
        );
    }
    frame_of_rows(rows, seed)
}

/// From a [`starts_table`]: (starts, starts within `tau` of a true filter, distinct true filters
/// reached within `tau`).
///
/// # Errors
/// A table without the columns.
pub fn starts_summary(table: &DataFrame, tau: f64) -> Result<(usize, usize, usize)> {
    let score = crate::table::column_nan(table, "m_score")?;
    let filter = crate::table::column_nan(table, "m_filter")?;
    let near: Vec<usize> = (0..score.len()).filter(|&i| score[i] >= tau).collect();
    let mut hit: Vec<i64> = near.iter().map(|&i| filter[i] as i64).collect();
    hit.sort_unstable();
    hit.dedup();
    Ok((score.len(), near.len(), hit.len()))
}

/// Records, at the scheduled iterations, √(1 − c_k²) for each true filter k (c_k its matched
/// |correlation| up to shift, 0 when unmatched).
struct SineObserver<'a> {
    truth: ArrayView3<'a, f64>,
    label: String,
    rows: Vec<Row>,
}

impl SineObserver<'_> {
    fn push(&mut self, iter: usize, elapsed: f64, s: &ConvLearnState) {
        if let Ok(rec) = conv_recovery(self.truth, s.atoms.view()) {
            for (k, c) in rec.matched_score.iter().enumerate() {
                let mut row = Row::new(self.label.as_str())
                    .param("filter", k as f64)
                    .metric("sine", (1.0 - c * c).max(0.0).sqrt());
                row.iter = iter as i64;
                row.time_s = elapsed;
                self.rows.push(row);
            }
        }
    }
}

impl Observer<ConvLearnState> for SineObserver<'_> {
    fn on_init(&mut self, s: &ConvLearnState, _rec: &Record) {
        self.push(0, 0.0, s);
    }
    fn on_iter(
        &mut self,
        iter: usize,
        elapsed: f64,
        s: &ConvLearnState,
        _rec: &Record,
    ) -> ControlFlow<()> {
        self.push(iter, elapsed, s);
        ControlFlow::Continue(())
    }
}

/// Train `learner` on signals `y` (circular or valid as `boundary` says) from `start` (or its own
/// start), recording the per-filter sine distance to `truth` on `schedule`: one row per (recorded
/// iteration, filter) with `method` = `label`, `iter`, `time_s`, `p_method_filter`, `m_sine`.
///
/// # Errors
/// The learner's errors.
#[allow(clippy::too_many_arguments)]
pub fn sine_trace(
    learner: &dyn ConvLearner,
    label: &str,
    truth: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    boundary: crate::conv::Boundary,
    start: Option<&Array3<f64>>,
    seed: u64,
    schedule: Schedule,
) -> Result<DataFrame> {
    let (k, _, l) = truth.dim();
    let mut obs = SineObserver {
        truth,
        label: label.to_string(),
        rows: Vec::new(),
    };
    learner.learn_observed(
        y,
        k,
        l,
        boundary,
        start.map(|d| d.view()),
        seed,
        schedule,
        &mut obs,
    )?;
    frame_of_rows(obs.rows, seed)
}

/// Chart series of the true filters (channel 0) and, for each, its matched learned filter shifted
/// by the matched lag (learned position u drawn at u + lag), multiplied by its sign and normalized: two series per true filter.
///
/// # Errors
/// As [`conv_recovery`].
pub fn aligned_series(
    truth: ArrayView3<'_, f64>,
    learned: ArrayView3<'_, f64>,
) -> Result<Vec<super::Series2>> {
    let rec = conv_recovery(truth, learned)?;
    let (k, _, l) = truth.dim();
    let le = learned.dim().2;
    let mut series = Vec::new();
    for a in 0..k {
        let t: Vec<f64> = (0..l).map(|u| u as f64).collect();
        series.push(super::Series2::new(
            format!("planted {a}"),
            t,
            truth.slice(ndarray::s![a, 0, ..]).to_vec(),
        ));
        let Some(j) = rec.matching_index[a] else {
            continue;
        };
        let (lag, sign) = (rec.matched_lag[a], rec.signs[a]);
        let w = learned.slice(ndarray::s![j, 0, ..]);
        let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
        series.push(super::Series2::new(
            format!(
                "learned -> {a} (score {:.3}, lag {lag})",
                rec.matched_score[a]
            ),
            (0..le).map(|u| u as f64 + lag as f64).collect(),
            w.iter().map(|v| sign * v / norm).collect(),
        ));
    }
    Ok(series)
}

/// The convolutional ℓ4 landscape of a toy whose sphere can be drawn: signals of length T = 3,
/// so q ∈ S² (Qu et al. 2020's point: convolutional DL is overcomplete DL with the dictionary of
/// every shift of every filter, [C_{a_1} ⋯ C_{a_K}], made near-tight by P).
#[derive(Clone, Debug)]
pub struct ConvToyLandscape {
    /// −f (the ℓ4 value RGD maximizes) on the grid, `surface[z][lon]`.
    pub surface: Vec<Vec<f64>>,
    /// Every circular shift of every preconditioned filter P a_k, normalized (3 × 3K): the
    /// columns of PA, near which the maximizers of −f should lie.
    pub targets: ndarray::Array2<f64>,
    /// The grid's local maxima of −f (larger than their 8 neighbours, longitude wrapping, the two
    /// polar rows excluded): the point, −f there, and its best |cos| with a target (±).
    pub maxima: Vec<(ndarray::Array1<f64>, f64, f64)>,
}

/// [`ConvToyLandscape`] of the single-channel circular instance `inst` with T = 3 (its signals,
/// the empirical preconditioner), on the equal-area grid `lons` × `zs`
/// ([`crate::report::l4_landscape::equal_area_grid`]).
///
/// # Errors
/// An instance that is not single-channel with T = 3.
pub fn conv_landscape(
    inst: &crate::conv::ConvInstance,
    lons: &[f64],
    zs: &[f64],
) -> Result<ConvToyLandscape> {
    use crate::learn::l4::from_equal_area;
    use ndarray::{Array1, Array2};
    let (_, p, t) = inst.y.dim();
    crate::error::ensure!(
        p == 1 && t == 3,
        "instance",
        format!("{p} channels × {t} samples"),
        "one channel of T = 3 samples (q on the sphere S²)"
    );
    let k = inst.atoms.dim().0;
    let mut targets = Array2::zeros((3, 3 * k));
    for a in 0..k {
        let mut v = vec![0.0; 3];
        for (x, d) in v.iter_mut().zip(inst.atoms.slice(ndarray::s![a, 0, ..])) {
            *x = *d;
        }
        let pv = crate::conv::l4_precondition_vec(inst.y.view(), &v)?;
        let nrm = pv
            .iter()
            .map(|x| x * x)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        for sh in 0..3 {
            for r in 0..3 {
                targets[[(r + sh) % 3, a * 3 + sh]] = pv[r] / nrm;
            }
        }
    }
    let mut pts = Array2::zeros((3, lons.len() * zs.len()));
    for (j, &z) in zs.iter().enumerate() {
        for (i, &lon) in lons.iter().enumerate() {
            pts.column_mut(j * lons.len() + i)
                .assign(&from_equal_area(lon, z));
        }
    }
    let f = crate::conv::l4_objective_at(inst.y.view(), true, pts.view())?;
    let nl = lons.len();
    let surface: Vec<Vec<f64>> = (0..zs.len())
        .map(|j| (0..nl).map(|i| -f[j * nl + i]).collect())
        .collect();
    let mut maxima = Vec::new();
    for j in 1..zs.len().saturating_sub(1) {
        // the last longitude repeats the first (both ends of [−π, π] are on the grid)
        for i in 0..nl.saturating_sub(1) {
            let v = surface[j][i];
            let wrap = |d: isize| (i as isize + d).rem_euclid(nl as isize - 1) as usize;
            let higher = (-1..=1).all(|dj: isize| {
                (-1..=1).all(|di: isize| {
                    (dj == 0 && di == 0) || surface[(j as isize + dj) as usize][wrap(di)] < v
                })
            });
            if higher {
                let q: Array1<f64> = from_equal_area(lons[i], zs[j]);
                let best = targets
                    .columns()
                    .into_iter()
                    .map(|c| c.dot(&q).abs())
                    .fold(0.0, f64::max);
                maxima.push((q, v, best));
            }
        }
    }
    Ok(ConvToyLandscape {
        surface,
        targets,
        maxima,
    })
}

impl ConvToyLandscape {
    /// The number of grid maxima, the smallest best |cos| of a maximum with a target, and how
    /// many of the 2 · 3K signed targets have a grid maximum within |cos| ≥ `tau`.
    pub fn summary(&self, tau: f64) -> (usize, f64, usize) {
        let worst = self
            .maxima
            .iter()
            .map(|m| m.2)
            .fold(f64::INFINITY, f64::min);
        let mut reached = 0;
        for c in self.targets.columns() {
            for sign in [1.0, -1.0] {
                if self.maxima.iter().any(|(q, _, _)| sign * c.dot(q) >= tau) {
                    reached += 1;
                }
            }
        }
        (self.maxima.len(), worst, reached)
    }

    /// −f on the equal-area map (`lons` × `zs`, the grid it was computed on) with the signed
    /// targets (open circles) and the grid's maxima (crosses).
    ///
    /// # Errors
    /// A target or maximum that is not a unit vector of ℝ³ (not produced by [`conv_landscape`]).
    pub fn plot(&self, title: &str, lons: &[f64], zs: &[f64]) -> Result<plotly::Plot> {
        use crate::learn::l4::equal_area;
        use crate::report::{MarkerSymbol, add_markers, heatmap};
        let mut plot = heatmap(
            title,
            "longitude",
            "z = sin(latitude)",
            lons.to_vec(),
            zs.to_vec(),
            self.surface.clone(),
        );
        let mut tx = Vec::new();
        let mut tz = Vec::new();
        for c in self.targets.columns() {
            for sign in [1.0, -1.0] {
                let (x, z) = equal_area((&c * sign).view())?;
                tx.push(x);
                tz.push(z);
            }
        }
        add_markers(
            &mut plot,
            "shifts ±P a_k / ‖P a_k‖",
            tx,
            tz,
            MarkerSymbol::CircleOpen,
        );
        let (mx, mz): (Vec<f64>, Vec<f64>) = self
            .maxima
            .iter()
            .map(|m| equal_area(m.0.view()))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        add_markers(&mut plot, "grid maxima of −f", mx, mz, MarkerSymbol::Cross);
        Ok(plot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{Boundary, ConvL4, ConvSpec, Crsae};
    use crate::table::{column_nan, filter_eq};

    /// The start table of a small run: one row per start, every kept start matched to a distinct
    /// filter near it, and the summary counts by hand from the table.
    #[test]
    fn starts_are_matched_to_filters() {
        let inst = ConvSpec::new(300, 1, 48, 2, 10)
            .theta(0.04)
            .boundary(Boundary::Circular)
            .sample(8)
            .unwrap();
        let res = ConvL4::new().learn(inst.y.view(), 2, 10, 3).unwrap();
        let t = starts_table(inst.atoms.view(), &res, 1).unwrap();
        assert_eq!(t.height(), res.starts.len());
        let (n, near, hit) = starts_summary(&t, 0.95).unwrap();
        assert_eq!(n, res.starts.len());
        let score = column_nan(&t, "m_score").unwrap();
        assert_eq!(near, score.iter().filter(|s| **s >= 0.95).count());
        assert!((1..=2).contains(&hit));
        let kept = filter_eq(&t, &[("m_kept", 1.0.into())]).unwrap();
        assert!(kept.height() >= 1);
        // an impossible threshold reaches nothing
        assert_eq!(starts_summary(&t, 1.5).unwrap().1, 0);
    }

    /// One filter of length 3 in signals of length 3: PA is (nearly) orthogonal, so the grid's
    /// maxima of −f are the six signed shifts of P a (each within |cos| 0.95 of one, all six
    /// found); the targets are unit vectors; a longer signal is refused.
    #[test]
    fn the_toy_landscape_peaks_at_the_preconditioned_shifts() {
        let inst = ConvSpec::new(3000, 1, 3, 1, 3)
            .theta(0.1)
            .boundary(Boundary::Circular)
            .sample(4)
            .unwrap();
        let (lons, zs) = crate::report::l4_landscape::equal_area_grid(121, 61);
        let toy = conv_landscape(&inst, &lons, &zs).unwrap();
        assert_eq!(toy.targets.dim(), (3, 3));
        for c in toy.targets.columns() {
            assert!((c.dot(&c) - 1.0).abs() < 1e-12);
        }
        assert_eq!(toy.surface.len(), 61);
        assert!(!toy.maxima.is_empty());
        for (q, _, best) in &toy.maxima {
            assert!(
                *best >= 0.95,
                "a maximum at {q} is {best} from every target"
            );
        }
        // each signed target is near some maximum
        for c in toy.targets.columns() {
            for sign in [1.0, -1.0] {
                let near = toy
                    .maxima
                    .iter()
                    .map(|(q, _, _)| sign * c.dot(q))
                    .fold(f64::MIN, f64::max);
                assert!(
                    near >= 0.95,
                    "target {c} (sign {sign}) has no maximum near: {near}"
                );
            }
        }
        let (n_max, worst, reached) = toy.summary(0.95);
        assert_eq!(n_max, toy.maxima.len());
        assert!(worst >= 0.95);
        assert_eq!(reached, 6);
        assert!(toy.summary(1.5).2 == 0);
        let plot = toy.plot("toy", &lons, &zs).unwrap();
        assert!(plot.to_json().contains("grid maxima"));
        let long = ConvSpec::new(10, 1, 8, 1, 3)
            .boundary(Boundary::Circular)
            .sample(1)
            .unwrap();
        assert!(conv_landscape(&long, &lons, &zs).is_err());
    }

    /// A learned copy shifted by 2 and negated is drawn back on top of the planted filter.
    #[test]
    fn aligned_series_undo_shift_and_sign() {
        let truth = Array3::from_shape_vec((1, 1, 3), vec![1.0, 2.0, 3.0]).unwrap();
        let learned = Array3::from_shape_vec((1, 1, 5), vec![0.0, 0.0, -1.0, -2.0, -3.0]).unwrap();
        let s = aligned_series(truth.view(), learned.view()).unwrap();
        assert_eq!(s.len(), 2);
        let n = 14f64.sqrt();
        // the learned value at shifted position x equals the planted value / ‖·‖ at x
        for (x, y) in s[1].x.iter().zip(&s[1].y) {
            if (0.0..3.0).contains(x) {
                let v = s[0].y[*x as usize] / n;
                assert!((y - v).abs() < 1e-12, "{x}: {y} vs {v}");
            }
        }
    }

    /// The sine trace of a few CRsAE steps from the true filters starts at 0 for every filter.
    #[test]
    fn sine_trace_starts_at_zero_from_the_truth() {
        let inst = ConvSpec::new(20, 1, 40, 2, 6)
            .theta(0.05)
            .sample(2)
            .unwrap();
        let mut net = Crsae::new();
        net.steps = 3;
        let df = sine_trace(
            &net,
            "crsae",
            inst.atoms.view(),
            inst.y.view(),
            Boundary::Valid,
            Some(&inst.atoms),
            1,
            Schedule::Every(1),
        )
        .unwrap();
        assert_eq!(df.height(), 2 * 4);
        let first = filter_eq(&df, &[("iter", 0i64.into())]).unwrap();
        let s = column_nan(&first, "m_sine").unwrap();
        assert!(s.iter().all(|v| *v < 1e-6), "{s:?}");
    }
}
