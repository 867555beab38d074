//! paper: Qu, Zhai, Li, Zhang, Zhu, ICLR 2020; Zhai, Mehta, Zhou, Ma, ICLR 2020 (MSP, Table 2)
// %% [markdown]
// # 04 — ℓ4-norm dictionary learning: the landscape on the sphere, MSP's robustness table, overcomplete recovery
//
// **Claim card.**
// - Qu, Zhai, Li, Zhang, Zhu (ICLR 2020): for `Y = A X` with `A` a unit-norm tight frame (UNTF, `AAᵀ = K·I`, `K = m/n`)
//   and Bernoulli(θ)–Gaussian codes, `min_{q ∈ S^{n−1}} −(c/p)‖Yᵀq‖₄⁴` has a benign landscape for overcompleteness up to
//   `K ≈ 3` in a large region: its local minimizers are near ±a_i and the other critical points have negative curvature, so
//   Riemannian gradient descent from random initializations recovers atoms one at a time.
// - Zhai, Yang, Liao, Wright, Ma (JMLR 2020) / Zhai, Mehta, Zhou, Ma (ICLR 2020): for an orthogonal dictionary, MSP
//   (`A ← P_O(n)[(AY)^{∘3}Yᵀ]`, one SVD per iteration) recovers it, and is robust to Gaussian noise, outliers and sparse
//   corruption (Table 2 of the ICLR paper).
//
// Protocols: docs/protocols.md §4a (QU-E1/E2) and §4b (MSP-E1). Sizes marked "ours" are not from the papers (no official code
// for Qu et al.). Default sizes are small; `DICTLAB_FULL=1` runs the paper's MSP size (n = 100, p = 40 000, 5 trials)
// and a larger phase-transition grid.
// %%
:dep dictlab = { path = ".." }
// %%
use dictlab::prelude::*;
use dictlab::learn::{DictionaryLearner, Init, L4Sphere, Msp, Precondition, SphereSolver};
use dictlab::learn::l4::{self, ClassifyTol, L4Objective};
use dictlab::iter::{NoObserver, Schedule};
// %% [markdown]
// ## Configuration
// %%
let full = std::env::var("DICTLAB_FULL").is_ok();
let seed: u64 = 4;
println!("full size: {full}");
// %% [markdown]
// ## 1. The landscape in n = 3, K = 2
// Two unit-norm tight frames with m = 6 atoms in R³: a random UNTF (docs/protocols.md §1.3) and the six diagonals of the
// icosahedron, an equiangular tight frame at the Welch bound μ = 1/√5 ≈ 0.447; and, outside the theory, a
// coherence-targeted dictionary (μ = 0.55, not tight: its map is `¼‖Aᵀq‖₄⁴` alone, not an expectation of the empirical
// objective, since ‖Aᵀq‖₂ varies over the sphere). For a tight frame the expected objective is
// `f̄(q) = −¼‖Aᵀq‖₄⁴ + const`. Each map shows `¼‖Aᵀq‖₄⁴` (the quantity maximized) on a Lambert cylindrical equal-area
// projection of the whole sphere: x = longitude, y = z = sin(latitude), so equal areas of the sphere are equal areas of
// the map. Critical points are found by Riemannian Newton iterations (which converge to the nearby critical point
// whatever its index: minima, saddles and maxima of f̄) from 600 random starts, deduplicated, then classified from the
// Riemannian gradient and Hessian: near ±a_i (|cos| ≥ 0.99), negative curvature (saddle or maximum of f̄), spurious
// minimum (a local minimizer of f̄ that is not near an atom).
// %%
let (a_rand, frame) = generate::unit_norm_tight_frame(3usize, 6usize, 1e-12, 1000usize, &mut rng_from_seed(seed))?;
let a_ico = {
    let g = (1.0 + 5f64.sqrt()) / 2.0;
    let mut a = Array2::from_shape_vec((6, 3), vec![0.0, 1.0, g, 0.0, 1.0, -g, 1.0, g, 0.0, 1.0, -g, 0.0, g, 0.0, 1.0, -g, 0.0, 1.0])
        .map_err(|e| Error::invalid("icosahedron", e, "6 × 3"))?.reversed_axes().as_standard_layout().to_owned();
    generate::normalize_columns(&mut a)?;
    a
};
println!("random UNTF: tightness residual {:.1e}, μ = {:.3}; icosahedral ETF: μ = {:.3}, tightness {:.1e}",
    frame.tightness_residual, metrics::coherence(a_rand.view()), metrics::coherence(a_ico.view()),
    generate::dictionary::tightness_residual(a_ico.view()));
let (nlon, nz) = (181usize, 91usize);
let lons: Vec<f64> = (0..nlon).map(|i| -std::f64::consts::PI + 2.0 * std::f64::consts::PI * i as f64 / (nlon - 1) as f64).collect();
let zs: Vec<f64> = (0..nz).map(|j| -1.0 + 2.0 * j as f64 / (nz - 1) as f64).collect();
let starts3 = l4::random_sphere(3usize, 600usize, &mut rng_from_seed(seed + 1));
let (a_coh, _) = generate::coherence_targeted(3usize, 6usize, 0.55, &CoherenceOptions::default(), &mut rng_from_seed(seed))?;
println!("coherence-targeted (not tight): μ = {:.3}, ‖AAᵀ − 2I‖_F = {:.3}", metrics::coherence(a_coh.view()), generate::dictionary::tightness_residual(a_coh.view()));
for (fname, a3) in [("random UNTF", &a_rand), ("icosahedral ETF", &a_ico), ("coherence-targeted μ=0.55", &a_coh)] {
    let pop = if fname.starts_with("coherence") { L4Objective::population_any(a3.view())? } else { L4Objective::population(a3.view())? };
    let surface: Vec<Vec<f64>> = zs.iter().map(|&z| lons.iter().map(|&lon| -pop.value(l4::from_equal_area(lon, z).view())).collect()).collect();
    let mut crit: Vec<Array1<f64>> = Vec::new();
    for j in 0..starts3.ncols() {
        let (q, ok) = pop.newton_critical_point(starts3.column(j), 100usize, 1e-11)?;
        if ok && crit.iter().all(|c| (c - &q).dot(&(c - &q)).sqrt() > 1e-6) { crit.push(q); }
    }
    let mut kinds: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for q in &crit {
        let k = pop.classify(q.view(), a3.view(), &ClassifyTol::default())?;
        let name = k.name().to_string();
        *counts.entry(name.clone()).or_insert(0) += 1;
        let (lon, z) = l4::equal_area(q.view())?;
        match kinds.iter_mut().find(|e| e.0 == name) {
            Some(e) => { e.1.push(lon); e.2.push(z); }
            None => kinds.push((name, vec![lon], vec![z])),
        }
    }
    println!("{fname}: critical points found (both signs): {counts:?}");
    let mut plot = report::heatmap(&format!("¼‖Aᵀq‖₄⁴ on the sphere (equal-area map), {fname}, n = 3, m = 6"), "longitude", "z = sin(latitude)", lons.clone(), zs.clone(), surface);
    let (mut ax, mut az) = (Vec::new(), Vec::new());
    for j in 0..6usize {
        for sg in [1.0, -1.0] {
            let a = a3.column(j).to_owned() * sg;
            let (lon, z) = l4::equal_area(a.view())?;
            ax.push(lon); az.push(z);
        }
    }
    report::add_markers(&mut plot, "atoms ±a_i", ax, az, report::MarkerSymbol::CircleOpen);
    for (name, x, y) in &kinds {
        let sym = match name.as_str() { "near_atom" => report::MarkerSymbol::Cross, "negative_curvature" => report::MarkerSymbol::TriangleUp, _ => report::MarkerSymbol::Square };
        report::add_markers(&mut plot, &format!("critical: {name}"), x.clone(), y.clone(), sym);
    }
    show_plot(&plot);
}
// %% [markdown]
// Where does descent go? Riemannian gradient descent (Armijo) and the power iteration from 100 random starts, on the
// population objective and on the empirical one (p = 5000 samples, θ = 0.1): fraction of runs whose limit has
// `l4_single ≥ 0.99` (docs/protocols.md §0).
// %%
let q0 = l4::random_sphere(3usize, 100usize, &mut rng_from_seed(seed + 3));
for (fname, a3) in [("random UNTF", &a_rand), ("icosahedral ETF", &a_ico)] {
    let pop = L4Objective::population(a3.view())?;
    let y3 = {
        let x = CodeLaw { support: Support::Bernoulli { theta: 0.1 }, values: Values::Gaussian }.sample(6usize, 5000usize, &mut rng_from_seed(seed + 2))?;
        dictlab::instance::sparse_product(a3.view(), x.view())
    };
    let emp = L4Objective::empirical(y3.view(), 0.1)?;
    for (oname, obj) in [("population", &pop), ("empirical p=5000", &emp)] {
        for solver in [SphereSolver::Rgd { step: 1.0 }, SphereSolver::Power] {
            let (runs, info) = l4::descend(obj, q0.view(), solver, 1e-6, 500usize, Schedule::Never, &mut NoObserver)?;
            let near = (0..runs.q.ncols()).filter(|&j| metrics::l4_single(a3.view(), runs.q.column(j)).unwrap_or(0.0) >= 0.99).count();
            println!("{fname:<16} {oname:<17} {:<5}: {near}/100 limits near an atom, {} converged, {} iterations, {:.3}s",
                if matches!(solver, SphereSolver::Power) { "power" } else { "rgd" }, runs.converged.iter().filter(|c| **c).count(), info.iters, info.elapsed);
        }
    }
}
// %% [markdown]
// ## 2. MSP robustness (Zhai, Mehta, Zhou, Ma, ICLR 2020, Table 2; docs/protocols.md §4b)
// `Y = D_o X`, `D_o` Haar-orthogonal, `X` Bernoulli(0.3)–Gaussian, 200 MSP iterations from a Haar-random start. Conditions:
// clean; Gaussian noise σ ∈ {0.2, 0.4} added to every entry; outliers (0.2p or 0.4p extra columns of N(0, 1) appended);
// sparse corruption (±1 added to a random 20 % or 40 % of the entries). `l4_error = 1 − ‖ÂᵀD_o‖₄⁴/n` in %, mean over
// trials, and the mean wall time of the 200 iterations. The last column is ours: MSP followed by 5 rounds of orthogonal
// Procrustes on hard-thresholded codes (`Msp::polish`), to separate the finite-sample floor of the ℓ4 maximizer from the
// effect of the corruption.
// %%
let (n_msp, p_msp, trials) = if full { (100usize, 40000usize, 5usize) } else { (25usize, 10000usize, 2usize) };
let conditions = ["clean", "noise_0.2", "noise_0.4", "outliers_0.2", "outliers_0.4", "corruption_0.2", "corruption_0.4"];
let grid = Grid::new().axis("condition", conditions);
let msp_rows = Sweep::new(grid).reps(trials).base_seed(seed).run(|it| {
    let cond = it.point.str("condition")?.to_string();
    let mut rng = rng_from_seed(it.seed);
    let d_o = generate::orthobasis(n_msp, &mut rng)?;
    let x = CodeLaw { support: Support::Bernoulli { theta: 0.3 }, values: Values::Gaussian }.sample(n_msp, p_msp, &mut rng)?;
    let mut y = dictlab::instance::sparse_product(d_o.view(), x.view());
    let level: f64 = cond.rsplit('_').next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    if cond.starts_with("noise") {
        y += &(generate::dictionary::gaussian_matrix(n_msp, p_msp, &mut rng) * level);
    } else if cond.starts_with("outliers") {
        let extra = generate::dictionary::gaussian_matrix(n_msp, (level * p_msp as f64) as usize, &mut rng);
        y = ndarray::concatenate(Axis(1), &[y.view(), extra.view()]).map_err(|e| Error::invalid("outliers", e, "matching heights"))?;
    } else if cond.starts_with("corruption") {
        for v in y.iter_mut() {
            if rng.random::<f64>() < level { *v += if rng.random::<bool>() { 1.0 } else { -1.0 }; }
        }
    }
    let plain = Msp::default().learn(y.view(), n_msp, &Init::Gaussian, it.seed)?;
    let polished = Msp { polish_iters: 5, ..Default::default() }.learn(y.view(), n_msp, &Init::Gaussian, it.seed)?;
    let mut row = Row::new("msp");
    row.time_s = plain.info.elapsed;
    Ok(vec![row
        .metric("l4_error_pct", 100.0 * metrics::l4_error(d_o.view(), plain.dict.view())?)
        .metric("l4_error_polished_pct", 100.0 * metrics::l4_error(d_o.view(), polished.dict.view())?)
        .metric("recovery_rate", metrics::dictionary_recovery(d_o.view(), plain.dict.view())?.recovery_rate(0.99))])
})?;
let msp_table = dictlab::table::select(&dictlab::table::mean_by(&msp_rows, &["p_inst_condition"])?,
    &["p_inst_condition", "m_l4_error_pct", "m_l4_error_polished_pct", "m_recovery_rate", "time_s"])?;
println!("n = {n_msp}, p = {p_msp}, θ = 0.3, {trials} trials, 200 iterations");
report::show_df_rows(&msp_table, 20);
// %% [markdown]
// ## 3. Overcomplete recovery over K = m/n: single runs (QU-E1) and the whole dictionary over K × θ (QU-E2)
// **QU-E1** — for a random UNTF at θ = 0.1, the fraction of 64 power-iteration runs from uniform random starts whose limit
// has `l4_single ≥ 0.99`, vs K.
//
// **QU-E2** — for each (K, θ) cell, one dictionary, `Y = AX` with Bernoulli(θ)–Gaussian codes (no noise), and the
// fraction of atoms recovered (`recovery_rate@0.99`) by `L4Sphere` (rounds of 2m random starts, limits ranked by ℓ4
// value and deduplicated up to sign; at most 3 rounds of 150 power iterations). Dictionaries: random UNTFs (Qu et al.'s
// model) and coherence-targeted dictionaries at μ = 0.4 from the foundation's generator, which are *not* tight frames
// (new: outside the theory). The data are whitened (`Precondition::Whiten`, `Ȳ = (YYᵀ/p/s)^{−1/2} Y`), which leaves a
// UNTF essentially unchanged and makes the effective dictionary of the others tight in expectation; the
// coherence-targeted dictionaries are also run without whitening. Sizes are ours (the paper's n, p are uncertain).
// %%
let (n_pt, p_pt, reps_pt) = if full { (32usize, 50000usize, 3usize) } else { (16usize, 10000usize, 1usize) };
let thetas: Vec<f64> = if full { vec![0.05, 0.1, 0.15, 0.2, 0.25, 0.3] } else { vec![0.05, 0.15, 0.3] };
let ks: Vec<f64> = vec![1.0, 1.5, 2.0, 2.5, 3.0];
for &kk in &ks {
    let m = (kk * n_pt as f64).round() as usize;
    let inst = InstanceSpec::new(n_pt, m, p_pt).bernoulli(0.1).dictionary(DictKind::TightFrame).sample(seed)?;
    let obj = L4Objective::empirical(inst.y.view(), 0.1)?;
    let q0 = l4::random_sphere(n_pt, 64usize, &mut rng_from_seed(seed + 1));
    let (runs, _) = l4::descend(&obj, q0.view(), SphereSolver::Power, 1e-6, 300usize, Schedule::Never, &mut NoObserver)?;
    let near = (0..64usize).filter(|&j| metrics::l4_single(inst.dict.view(), runs.q.column(j)).unwrap_or(0.0) >= 0.99).count();
    let best = (0..64usize).map(|j| metrics::l4_single(inst.dict.view(), runs.q.column(j)).unwrap_or(0.0)).fold(0.0f64, f64::max);
    println!("QU-E1 K = {kk}: m = {m}, μ = {:.3}, {near}/64 runs end near an atom (best l4_single {best:.4})", inst.coherence());
}
// %%
let grid = Grid::new()
    .axis("dictionary", ["untf", "coherence_0.4", "coherence_0.4_nowhiten"])
    .axis("K", ks.clone())
    .axis("theta", thetas.clone());
let pt = Sweep::new(grid).reps(reps_pt).base_seed(seed).run(|it| {
    let kk = it.point.f64("K")?;
    let theta = it.point.f64("theta")?;
    let dname = it.point.str("dictionary")?.to_string();
    let m = (kk * n_pt as f64).round() as usize;
    let kind = if dname == "untf" { DictKind::TightFrame } else { DictKind::Coherence { target: 0.4 } };
    let inst = InstanceSpec::new(n_pt, m, p_pt).bernoulli(theta).dictionary(kind).sample(it.seed)?;
    let mut learner = L4Sphere::new(theta);
    learner.rounds = 3;
    learner.iters = 150;
    if dname.ends_with("nowhiten") { learner.precondition = Precondition::None; }
    let out = learner.learn(inst.y.view(), m, &Init::Gaussian, it.seed)?;
    let rc = metrics::dictionary_recovery(inst.dict.view(), out.dict.view())?;
    let mut row = Row::new(learner.name());
    row.time_s = out.info.elapsed;
    Ok(vec![row
        .metric("coherence", inst.coherence())
        .metric("recovery_rate", rc.recovery_rate(0.99))
        .metric("recovery_score", rc.recovery_score())
        .metric("success", (rc.recovery_rate(0.99) == 1.0) as u8 as f64)
        .metric("rounds", out.info.iters as f64)])
})?;
for d in ["untf", "coherence_0.4", "coherence_0.4_nowhiten"] {
    let sub = dictlab::table::filter_eq(&pt, &[("p_inst_dictionary", d.into())])?;
    show_plot(&report::heatmap_from_frame(&sub, "p_inst_K", "p_inst_theta", "m_recovery_rate", &format!("{d}: fraction of atoms recovered (|cos| > 0.99), n = {n_pt}, p = {p_pt}"))?);
}
let pt_table = dictlab::table::select(&dictlab::table::mean_by(&pt, &["p_inst_dictionary", "p_inst_K", "p_inst_theta"])?,
    &["p_inst_dictionary", "p_inst_K", "p_inst_theta", "m_coherence", "m_recovery_rate", "m_recovery_score", "m_success", "m_rounds", "time_s"])?;
report::show_df_rows(&pt_table, 200);
// %% [markdown]
// ## Headline
// The one-line finding of this run, written from the numbers above (it also heads this notebook's card in the reports' index).
// %%
{
    let cond = dictlab::table::column_str(&msp_table, "p_inst_condition")?;
    let err = dictlab::table::column_f64(&msp_table, "m_l4_error_pct")?;
    let at = |c: &str| cond.iter().position(|x| x == c).and_then(|i| err[i]).unwrap_or(f64::NAN);
    let untf = dictlab::table::filter_eq(&pt, &[("p_inst_dictionary", "untf".into())])?;
    let by_k = report::ranking(&untf, "p_inst_K", "m_recovery_rate")?;
    let rate_at = |k: &str| by_k.iter().find(|r| r.0 == k).map(|r| r.1).unwrap_or(f64::NAN);
    report::show_headline(&format!(
        "MSP recovers an orthogonal dictionary (n = {n_msp}) with ℓ4 error {:.2} % on clean data and {:.2} % with 40 % of \
         entries corrupted; ℓ4 maximization over the sphere on random tight frames (n = {n_pt}) finds {:.0} % of the atoms at \
         K = 1.5 but {:.0} % at K = 2.5.",
        at("clean"), at("corruption_0.4"), 100.0 * rate_at("1.5"), 100.0 * rate_at("2.5")));
}
// %% [markdown]
// ## Observed
// Read from a run at the default size (numbers printed above; single repetitions, so cell values are noisy).
// - **Landscape, n = 3, m = 6.** The random UNTF is very coherent (μ ≈ 0.81): *no* critical point lies near an atom —
//   the minimizers of f̄ (6 points, 3 ± pairs) are spurious, the other 20 critical points found have negative
//   curvature, and all 100 descent runs (RGD and power, population and p = 5000 samples) end at the spurious minima.
//   The icosahedral ETF is degenerate: its six diagonals form a spherical 4-design, so `‖Aᵀq‖₄⁴` is *constant* on the
//   sphere — every point is critical with zero curvature (classified "spurious minimum"), the map is flat, and the
//   empirical runs are driven by finite-sample fluctuations only (0/100 near an atom). The coherence-targeted
//   dictionary (μ ≈ 0.52, not tight) has critical points near the atoms (10 of the 12 ±a_i) next to 8 spurious minima.
//   At n = 3 none of these frames is in the theory's regime (low coherence, large n).
// - **MSP (n = 25, p = 10 000, 2 trials).** Clean data: l4_error 0.37 %, the finite-sample floor of the ℓ4 maximizer
//   (it falls with p; 5 Procrustes polishing rounds bring it to 3e-4 %). Gaussian noise σ = 0.2 / 0.4: 0.52 % / 1.05 %;
//   outliers 0.2p / 0.4p: 1.20 % / 2.01 % (polishing removes almost all of it: 0.008 % / 0.07 %); sparse corruption
//   20 % / 40 %: 1.43 % / 2.86 % (at 40 %, 86 % of atoms above |cos| 0.99). 200 iterations take 0.4–0.7 s here.
// - **QU-E1 (n = 16, p = 10 000, θ = 0.1, random UNTFs).** Runs ending near an atom: 64/64 at K = 1, 61/64 at K = 1.5,
//   35/64 at K = 2, 12/64 at K = 2.5, 0/64 at K = 3 (best `l4_single` 0.9995 → 0.9876): at this small n the limits
//   drift away from the atoms as K (and the UNTF's coherence, 0.45 → 0.67) grows.
// - **QU-E2 (n = 16, p = 10 000).** Every atom is recovered only at K = 1. Random UNTFs: 88–92 % of atoms at K = 1.5,
//   22–44 % at K = 2, ≤ 35 % beyond, 0 at K ≥ 2.5 with θ = 0.3. Coherence-targeted dictionaries (μ ≈ 0.35–0.40, whitened)
//   do as well or better than the UNTFs at K = 2 (34–59 %), which at this size are *more* coherent (μ 0.46–0.57); without
//   whitening they lose atoms as θ grows (K = 2: 56 / 31 / 0 % vs 56 / 59 / 34 % whitened). At K = 1 the generator
//   returns an orthobasis (μ ≈ 0: a target above what m = n needs is not raised). The default size is far from the
//   theory's large-n regime: the test instance n = 30, K = 2, θ = 0.05, p = 10⁵ recovers all 60 atoms;
//   `DICTLAB_FULL=1` runs n = 32, p = 50 000 with 3 repetitions.
