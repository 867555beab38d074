//! The analysis of notebook 04 (the ℓ4 landscape), as named functions: the small dictionaries whose
//! landscapes are drawn, the objective on an equal-area map of the sphere with its classified
//! critical points, the corrupted signals of the MSP robustness table (Zhai et al. 2020, §5) and
//! one item of the MSP and the overcomplete ℓ4 sweeps (Qu et al. 2020, §4).

use crate::error::{Error, Result};
use crate::generate::{self, CodeLaw, Support, Values};
use crate::instance::{DictKind, InstanceSpec};
use crate::learn::l4::{self, ClassifyTol, L4Objective, PointKind};
use crate::learn::{DictionaryLearner, Init, L4Sphere, Msp, Precondition};
use crate::rng::{Rng, rng_from_seed};
use crate::table::{Point, Row};
use ndarray::{Array1, Array2, ArrayView2, Axis};

/// The icosahedral equiangular tight frame: 6 unit atoms in ℝ³ (the icosahedron's axes), every
/// pair at |cos| = 1/√5, A Aᵀ = 2 I.
pub fn icosahedral_etf() -> Array2<f64> {
    let g = (1.0 + 5f64.sqrt()) / 2.0;
    let axes = [
        [0.0, 1.0, g],
        [0.0, 1.0, -g],
        [1.0, g, 0.0],
        [1.0, -g, 0.0],
        [g, 0.0, 1.0],
        [-g, 0.0, 1.0],
    ];
    let norm = (1.0 + g * g).sqrt();
    Array2::from_shape_fn((3, 6), |(i, j)| axes[j][i] / norm)
}

/// The classified critical points of a landscape and −f on the grid (`surface[z][lon]`).
pub type Landscape = (Vec<(Array1<f64>, PointKind)>, Vec<Vec<f64>>);

/// An equal-area grid of the sphere: `nlon` longitudes in [−π, π] and `nz` heights in [−1, 1],
/// both end points included (see [`l4::from_equal_area`]).
pub fn equal_area_grid(nlon: usize, nz: usize) -> (Vec<f64>, Vec<f64>) {
    let step = |i: usize, n: usize| i as f64 / (n.max(2) - 1) as f64;
    let pi = std::f64::consts::PI;
    (
        (0..nlon).map(|i| -pi + 2.0 * pi * step(i, nlon)).collect(),
        (0..nz).map(|j| -1.0 + 2.0 * step(j, nz)).collect(),
    )
}

/// The landscape of one 3 × m dictionary: the critical points that `starts` (3 × b unit vectors)
/// converge to (100 iterations, tolerance 1e-11, classified with the default tolerances) and
/// −f(q) of the population objective on the grid (`surface[z][lon]`). `tight`: the objective of a
/// unit-norm tight frame ([`L4Objective::population`]); otherwise [`L4Objective::population_any`].
///
/// # Errors
/// A dictionary that is not 3 × m with unit atoms, or not tight when `tight`.
pub fn landscape(
    a: ArrayView2<'_, f64>,
    starts: ArrayView2<'_, f64>,
    tight: bool,
    lons: &[f64],
    zs: &[f64],
) -> Result<Landscape> {
    let pop = if tight {
        L4Objective::population(a)?
    } else {
        L4Objective::population_any(a)?
    };
    let crit = pop.critical_points(a, starts, 100, 1e-11, &ClassifyTol::default())?;
    let surface = zs
        .iter()
        .map(|&z| {
            lons.iter()
                .map(|&lon| -pop.value(l4::from_equal_area(lon, z).view()))
                .collect()
        })
        .collect();
    Ok((crit, surface))
}

/// How many of the columns of `q` (unit vectors) lie near an atom of `a`: `l4_single ≥ level`.
pub fn near_atoms(a: ArrayView2<'_, f64>, q: ArrayView2<'_, f64>, level: f64) -> usize {
    q.columns()
        .into_iter()
        .filter(|c| crate::metrics::l4_single(a, *c).unwrap_or(0.0) >= level)
        .count()
}

/// Signals `y` (n × p) under one condition of the MSP robustness table: `clean`; `noise_L`
/// (Gaussian noise of standard deviation L per entry); `outliers_L` (⌊L·p⌋ Gaussian columns
/// appended); `corruption_L` (each entry, with probability L, gets ±1 added).
///
/// # Errors
/// A condition not of these forms.
pub fn corrupt(mut y: Array2<f64>, condition: &str, rng: &mut impl Rng) -> Result<Array2<f64>> {
    let bad = || {
        Error::invalid(
            "condition",
            condition,
            "clean, noise_L, outliers_L or corruption_L with a level L ≥ 0",
        )
    };
    if condition == "clean" {
        return Ok(y);
    }
    let (kind, level) = condition.rsplit_once('_').ok_or_else(bad)?;
    let level: f64 = level.parse().map_err(|_| bad())?;
    if !(level >= 0.0 && level.is_finite()) {
        return Err(bad());
    }
    let (n, p) = y.dim();
    match kind {
        "noise" => {
            y += &(generate::gaussian_matrix(n, p, rng) * level);
            Ok(y)
        }
        "outliers" => {
            let extra = generate::gaussian_matrix(n, (level * p as f64) as usize, rng);
            ndarray::concatenate(Axis(1), &[y.view(), extra.view()])
                .map_err(|e| Error::invalid("outliers", e, "matching heights"))
        }
        "corruption" => {
            for v in y.iter_mut() {
                if rng.random::<f64>() < level {
                    *v += if rng.random::<bool>() { 1.0 } else { -1.0 };
                }
            }
            Ok(y)
        }
        _ => Err(bad()),
    }
}

/// One item of the MSP robustness table (axis `condition`): an n × n orthobasis, p Bernoulli(0.3)
/// Gaussian codes, the signals under the condition ([`corrupt`]); MSP from a Gaussian start, plain
/// and with 5 polishing iterations. One row `msp` with `l4_error_pct`, `l4_error_polished_pct`,
/// `recovery_rate` (of the plain run) and its time.
///
/// # Errors
/// A point without `condition`, an unknown condition, MSP's errors.
pub fn msp_item(point: &Point, seed: u64, n: usize, p: usize) -> Result<Vec<Row>> {
    let cond = point.str("condition")?;
    let mut rng = rng_from_seed(seed);
    let d_o = generate::orthobasis(n, &mut rng)?;
    let x = CodeLaw {
        support: Support::Bernoulli { theta: 0.3 },
        values: Values::Gaussian,
    }
    .sample(n, p, &mut rng)?;
    let y = corrupt(
        crate::instance::sparse_product(d_o.view(), x.view()),
        cond,
        &mut rng,
    )?;
    let plain = Msp::default().learn(y.view(), n, &Init::Gaussian, seed)?;
    let polished = Msp {
        polish_iters: 5,
        ..Default::default()
    }
    .learn(y.view(), n, &Init::Gaussian, seed)?;
    let mut row = Row::new("msp");
    row.time_s = plain.info.elapsed;
    let err = |d: ArrayView2<'_, f64>| crate::metrics::l4_error(d_o.view(), d).map(|e| 100.0 * e);
    Ok(vec![
        row.metric("l4_error_pct", err(plain.dict.view())?)
            .metric("l4_error_polished_pct", err(polished.dict.view())?)
            .metric(
                "recovery_rate",
                crate::metrics::dictionary_recovery(d_o.view(), plain.dict.view())?
                    .recovery_rate(0.99),
            ),
    ])
}

/// One item of the overcomplete ℓ4 phase transition (axes `dictionary` ∈ {`untf`,
/// `coherence_0.4`, `coherence_0.4_nowhiten`}, `K` = m/n, `theta`): an n × ⌊K n⌉ dictionary (a
/// unit-norm tight frame, or coherence-targeted at μ = 0.4), p Bernoulli(θ) signals, `l4` told θ
/// (3 rounds of 150 iterations; preconditioned unless `nowhiten`). One row with the dictionary's
/// `coherence`, `recovery_rate`, `recovery_score`, `success` (every atom found) and `rounds`.
///
/// # Errors
/// A point without the axes, an unknown dictionary, an invalid instance, the learner's errors.
pub fn l4_phase_item(point: &Point, seed: u64, n: usize, p: usize) -> Result<Vec<Row>> {
    let (kk, theta) = (point.f64("K")?, point.f64("theta")?);
    let dname = point.str("dictionary")?;
    let kind = match dname {
        "untf" => DictKind::TightFrame,
        "coherence_0.4" | "coherence_0.4_nowhiten" => DictKind::Coherence { target: 0.4 },
        other => {
            return Err(Error::invalid(
                "dictionary",
                other,
                "untf, coherence_0.4 or coherence_0.4_nowhiten",
            ));
        }
    };
    let m = (kk * n as f64).round() as usize;
    let inst = InstanceSpec::new(n, m, p)
        .bernoulli(theta)
        .dictionary(kind)
        .sample(seed)?;
    let mut learner = L4Sphere::new(theta);
    learner.rounds = 3;
    learner.iters = 150;
    if dname.ends_with("nowhiten") {
        learner.precondition = Precondition::None;
    }
    let out = learner.learn(inst.y.view(), m, &Init::Gaussian, seed)?;
    let rc = crate::metrics::dictionary_recovery(inst.dict.view(), out.dict.view())?;
    let mut row = Row::new(learner.name());
    row.time_s = out.info.elapsed;
    let rate = rc.recovery_rate(0.99);
    Ok(vec![
        row.metric("coherence", inst.coherence())
            .metric("recovery_rate", rate)
            .metric("recovery_score", rc.recovery_score())
            .metric("success", if rate >= 1.0 { 1.0 } else { 0.0 })
            .metric("rounds", out.info.iters as f64),
    ])
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // corruption adds exactly ±1 to exact zeros
mod tests {
    use super::*;
    use crate::table::Value;

    /// The icosahedral ETF by hand: unit atoms, every pair at |cos| = 1/√5, A Aᵀ = 2 I.
    #[test]
    fn the_icosahedral_frame_is_an_equiangular_tight_frame() {
        let a = icosahedral_etf();
        let g = a.t().dot(&a);
        let c = 1.0 / 5f64.sqrt();
        for i in 0..6 {
            assert!((g[(i, i)] - 1.0).abs() < 1e-12);
            for j in 0..6 {
                if i != j {
                    assert!(
                        (g[(i, j)].abs() - c).abs() < 1e-12,
                        "{i},{j}: {}",
                        g[(i, j)]
                    );
                }
            }
        }
        let t = a.dot(&a.t());
        assert!(
            (&t - &(Array2::<f64>::eye(3) * 2.0))
                .iter()
                .all(|v| v.abs() < 1e-12)
        );
    }

    #[test]
    fn the_grid_spans_the_sphere() {
        let (lons, zs) = equal_area_grid(5, 3);
        let pi = std::f64::consts::PI;
        assert_eq!(lons.len(), 5);
        assert!(
            (lons[0] + pi).abs() < 1e-15 && (lons[4] - pi).abs() < 1e-15 && lons[2].abs() < 1e-15
        );
        assert_eq!(zs, vec![-1.0, 0.0, 1.0]);
    }

    /// On the icosahedral ETF (a spherical 4-design) ‖Aᵀq‖₄⁴ is the same at every q: the surface is
    /// flat, at ¼ · Σ_i ⟨a_i, q⟩⁴ = ¼ · 6 · 3/(3·5) = 0.3 (the 4th moment of a unit vector's coordinate
    /// in ℝ³ is 3/15); on the random UNTF it is not, and every start is classified.
    #[test]
    fn the_landscape_of_the_etf_is_flat() {
        let a = icosahedral_etf();
        let starts = l4::random_sphere(3, 20, &mut rng_from_seed(1));
        let (lons, zs) = equal_area_grid(19, 9);
        let (crit, surface) = landscape(a.view(), starts.view(), true, &lons, &zs).unwrap();
        assert_eq!(surface.len(), 9);
        assert!(surface.iter().all(|r| r.len() == 19));
        let flat: Vec<f64> = surface.iter().flatten().copied().collect();
        let (lo, hi) = flat
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        assert!(hi - lo < 1e-9, "{lo} .. {hi}");
        assert!(!crit.is_empty());
        let direct = 0.25
            * a.t()
                .dot(&l4::from_equal_area(0.3, 0.2))
                .mapv(|v| v.powi(4))
                .sum();
        assert!((direct - 0.3).abs() < 1e-12, "{direct}");
        let (untf, _) =
            generate::unit_norm_tight_frame(3, 6, 1e-12, 1000, &mut rng_from_seed(2)).unwrap();
        let (_, s2) = landscape(untf.view(), starts.view(), true, &lons, &zs).unwrap();
        let v: Vec<f64> = s2.iter().flatten().copied().collect();
        assert!(
            v.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                - v.iter().cloned().fold(f64::INFINITY, f64::min)
                > 1e-3
        );
        // the atoms themselves are near atoms
        assert_eq!(near_atoms(a.view(), a.view(), 0.99), 6);
    }

    /// Each condition by its definition: outliers append ⌊L p⌋ columns, corruption moves about L
    /// of the entries by ±1, noise moves every entry; clean leaves the signals; a bad name errs.
    #[test]
    fn corrupted_signals_by_definition() {
        let y = Array2::<f64>::zeros((4, 1000));
        let mut rng = rng_from_seed(3);
        assert_eq!(corrupt(y.clone(), "clean", &mut rng).unwrap(), y);
        assert_eq!(
            corrupt(y.clone(), "outliers_0.2", &mut rng)
                .unwrap()
                .ncols(),
            1200
        );
        let c = corrupt(y.clone(), "corruption_0.4", &mut rng).unwrap();
        let moved = c.iter().filter(|v| **v != 0.0).count() as f64 / 4000.0;
        assert!((moved - 0.4).abs() < 0.05, "{moved}");
        assert!(c.iter().all(|v| *v == 0.0 || v.abs() == 1.0));
        let nz = corrupt(y.clone(), "noise_0.2", &mut rng).unwrap();
        assert!(nz.iter().all(|v| *v != 0.0));
        for bad in ["dirty", "noise_x", "noise_-1", "blur_0.2"] {
            assert!(corrupt(y.clone(), bad, &mut rng).is_err(), "{bad}");
        }
    }

    /// One MSP item on clean data recovers the orthobasis; one ℓ4 item returns its row.
    #[test]
    fn sweep_items_run() {
        let p = Point(vec![("condition".into(), Value::from("clean"))]);
        let rows = msp_item(&p, 2, 8, 3000).unwrap();
        let rate = rows[0]
            .metrics
            .iter()
            .find(|m| m.0 == "recovery_rate")
            .unwrap()
            .1;
        assert!(rate >= 1.0, "{rate}");
        let p = Point(vec![
            ("dictionary".into(), Value::from("untf")),
            ("K".into(), Value::from(1.5)),
            ("theta".into(), Value::from(0.1)),
        ]);
        let rows = l4_phase_item(&p, 2, 8, 3000).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].metrics.iter().any(|m| m.0 == "success"));
        let bad = Point(vec![
            ("dictionary".into(), Value::from("gaussian")),
            ("K".into(), Value::from(1.5)),
            ("theta".into(), Value::from(0.1)),
        ]);
        assert!(l4_phase_item(&bad, 2, 8, 300).is_err());
    }
}
