//! paper: Qu, Zhai, Li, Zhang, Zhu, ICLR 2020 (arXiv 1912.02427), convolutional section; Tolooshams, Dey, Ba, IEEE MLSP 2018 (CRsAE)
// %% [markdown]
// # 12 — Convolutional ℓ4 maximization and CRsAE on planted convolutional problems
//
// **Papers.** Q. Qu, Y. Zhai, X. Li, Y. Zhang, Z. Zhu, "Analysis of the optimization landscapes for overcomplete
// representation learning" (ICLR 2020, arXiv 1912.02427), its convolutional section: circular signals
// y_i = Σ_k a_k ⊛ x_ik are an overcomplete dictionary problem whose dictionary holds every shift of every filter;
// after preconditioning, f(q) = −(1/4NT) Σ_i ‖C_{Py_i}ᵀ q‖₄⁴ has a benign landscape on the sphere and Riemannian gradient
// descent from a random start finds a shifted filter. B. Tolooshams, A. Dey, D. Ba, "Scalable convolutional dictionary
// learning with constrained recurrent sparse auto-encoders" (MLSP 2018): CRsAE, unrolled FISTA tied to the decoder.
// The method, its objective and every choice the paper leaves open (marked "ours") are in docs/protocols.md §17.
//
// **What each method is told.** K and L (number and length of the filters), nothing about θ or the noise. conv_l4 uses
// its defaults (max(2K, 4) starts per round, at most 4 rounds, RGD); "refined" adds 10 iterations of conv_altmin. CRsAE:
// λ = 0.05 λ_max, 30 layers, Adam lr 10⁻², minibatches of 20 — set once here, not tuned per problem.
//
// **Sizes.** The paper's exact sizes are not in the text we have (docs/protocols.md §4a); the default is small (T = 64,
// N = 300, 3 repetitions per cell); `DICTLAB_FULL=1` runs T = 128, N = 1000 and 10 repetitions.
// %%
:dep dictlab = { path = ".." }
// %%
use dictlab::prelude::*;
use dictlab::conv::{self, Boundary, ConvAltMin, ConvL4, ConvSpec, Crsae};
use dictlab::iter::Schedule;
use dictlab::report::conv_l4 as cl4;
use dictlab::sweep::{Plan, cache_path, run_cached};
// %% [markdown]
// ## Configuration
// %%
let full = std::env::var("DICTLAB_FULL").is_ok();
let (t_len, n_sig, reps) = if full { (128usize, 1000usize, 10usize) } else { (64, 300, 3) };
let (k_f, l_f) = (3usize, 16usize);
let seed: u64 = 2020;
println!("T = {t_len}, N = {n_sig}, K = {k_f} filters of L = {l_f}, {reps} repetitions per cell");
// %% [markdown]
// ## 1. A planted circular problem
// Bernoulli(θ = 0.05)–Gaussian activations, Gaussian filters, circular boundary, no noise.
// %%
let inst = ConvSpec::new(n_sig, 1, t_len, k_f, l_f).theta(0.05).boundary(Boundary::Circular).sample(seed)?;
show_text(&format!("shift coherence mu_conv = {:.3}; realized activation rate {:.4}", inst.shift_coherence, inst.realized_rate));
// %% [markdown]
// ## 2. The landscape where it can be drawn: signals of length T = 3
// With T = 3 the unknown q lies on the sphere S² and the dictionary PA = P[C_{a_1} ⋯ C_{a_K}] has 3K columns: K = 1
// filter gives a 3 × 3 (near-orthogonal) problem, K = 2 filters a 3 × 6 overcomplete one — notebook 04's n = 3, m = 6
// case, now made of shifts. Each map shows −f(q) = (1/4NT) Σ_i ‖C_{Py_i}ᵀq‖₄⁴ (what RGD maximizes) computed from
// planted signals (θ = 0.1, filters of length 3, P estimated from the signals), the signed normalized shifts
// ±P a_k/‖P a_k‖ as circles and the grid's local maxima as crosses (the map's two polar rows are not searched for
// maxima, so a shift that sits at a pole is counted as not reached).
// %%
let (lons, zs) = report::l4_landscape::equal_area_grid(121, 61);
let mut toys: Vec<(usize, usize, f64, usize)> = Vec::new();
for k in [1usize, 2] {
    let toy_inst = ConvSpec::new(if full { 20000 } else { 3000 }, 1, 3, k, 3).theta(0.1).boundary(Boundary::Circular).sample(seed + 10 + k as u64)?;
    let toy = cl4::conv_landscape(&toy_inst, &lons, &zs)?;
    let (n_max, worst, reached) = toy.summary(0.95);
    show_text(&format!("K = {k} ({} signals): {n_max} grid maxima; the one farthest from a target has |cos| {worst:.3} with it; {reached} of {} signed targets have a maximum within |cos| 0.95", toy_inst.y.dim().0, 6 * k));
    show_plot(&toy.plot(&format!("−f on the sphere (equal-area map), T = 3, K = {k}"), &lons, &zs)?);
    toys.push((k, n_max, worst, reached));
}
// %% [markdown]
// ## 3. Every random start, matched to a filter and its shift
// conv_l4 from its random starts; each start's limit P⁻¹q, cut to its best length-L window, is matched to the true
// filter it correlates with best (up to shift and sign). `kept` marks the K filters the method returns.
// %%
let res = ConvL4::new().learn(inst.y.view(), k_f, l_f, seed)?;
let starts = cl4::starts_table(inst.atoms.view(), &res, seed)?;
report::show_df_rows(&table::select(&starts, &["p_method_round", "p_method_start", "m_value", "m_steps", "m_converged", "m_kept", "m_filter", "m_score", "m_lag"])?, 40);
let (n_starts, near, hit) = cl4::starts_summary(&starts, 0.95)?;
show_text(&format!("{near} of {n_starts} starts end within 0.95 of a true filter; they reach {hit} of the {k_f} filters"));
// %%
show_plot(&report::curves("conv_l4 (raw): learned filters at their matched lag", "lag (samples)", "value",
    &cl4::aligned_series(inst.atoms.view(), res.learned.state.atoms.view())?, &CurveOpts::default()));
// %% [markdown]
// Why a filter can be missed: started *exactly at* a preconditioned planted filter, RGD may leave it for another one
// (docs/protocols.md §17 gives a measured case) — at these sizes some planted filters are not local minimizers of f,
// so the landscape is not the benign one of the paper's theory, whatever the number of starts.
//
// ## 4. Phase transition over θ and K
// A sweep plan of convolutional problems (the same TOML runs with `dictlab sweep`): conv_l4 alone and refined, over the
// activation rate θ and the number of filters K; the cell colour is the mean fraction of filters recovered at
// |corr| ≥ 0.99 (recovery_rate), and the table gives the mean best |corr| (recovery_score).
// %%
let plan = Plan::from_toml_str(&format!(r#"problem = "conv"
base_seed = {}
reps = {reps}
instance = {{ signals = {n_sig}, times = {t_len}, atom_len = {l_f}, boundary = "circular" }}
grid = {{ theta = [0.02, 0.05, 0.1, 0.2], atoms = [1, 2, 3, 4] }}
record = {{ mode = "final" }}
method = [{{ name = "conv_l4" }}, {{ name = "conv_l4", refine = 10 }}]
"#, seed + 1))?;
let phase = run_cached(&plan, cache_path("12_conv_l4_phase.parquet"))?;
// %%
let raw = table::filter_eq(&phase, &[("method", "conv_l4".into())])?;
let refined = table::filter_eq(&phase, &[("method", "conv_l4[refine=10]".into())])?;
show_plot(&report::heatmap_from_frame(&raw, "p_inst_atoms", "p_inst_theta", "m_recovery_score", "conv_l4 (raw): mean best |corr| over (θ, K)")?);
show_plot(&report::heatmap_from_frame(&refined, "p_inst_atoms", "p_inst_theta", "m_recovery_rate", "conv_l4 + 10 conv_altmin iterations: fraction of filters at 0.99 over (θ, K)")?);
show_df(&table::select(&table::mean_by(&phase, &["method", "p_inst_theta"])?, &["method", "p_inst_theta", "m_recovery_score", "m_recovery_rate"])?);
// %% [markdown]
// ## 5. CRsAE against alternating minimization
// CRsAE's figure of merit: per filter, the sine distance √(1 − c²) to the planted filter (c its best |corr| up to
// shift) against the training step, for CRsAE (backpropagation through all layers), the same network with the
// decoder-only gradient (g_dec) and conv_altmin (one outer iteration per step), all from the same random-window start.
// %%
let start = conv::chunk_start(inst.y.view(), k_f, l_f, seed + 3)?;
let mut net = Crsae::new();
(net.reg, net.layers, net.steps, net.batch) = (0.05, 30, if full { 1000 } else { 300 }, Some(20));
let mut dec = net.clone();
dec.gradient = conv::CrsaeGradient::Dec;
let mut am = ConvAltMin::new();
am.max_iters = 30;
let every = Schedule::Every(10);
let traces = [("crsae", &net as &dyn conv::ConvLearner), ("crsae g_dec", &dec), ("conv_altmin", &am)].iter()
    .map(|(label, l)| cl4::sine_trace(*l, label, inst.atoms.view(), inst.y.view(), Boundary::Circular, Some(&start), seed, every))
    .collect::<Result<Vec<_>>>()?;
// %%
for tr in &traces {
    let label = table::column_str(tr, "method")?[0].clone();
    let mut series = Vec::new();
    for k in 0..k_f {
        let one = table::filter_eq(tr, &[("p_method_filter", Value::Float(k as f64))])?;
        series.push(Series2::new(format!("filter {k}"), table::column_nan(&one, "iter")?, table::column_nan(&one, "m_sine")?));
    }
    show_plot(&report::curves(&format!("{label}: sine distance to each planted filter"), "step", "sqrt(1 - c²)", &series, &CurveOpts { log_y: true, ..Default::default() }));
}
// %% [markdown]
// ## 6. The convolutional slice of the benchmark (committed results)
// `plans/benchmark_conv.toml` (BENCHMARK.md "The convolutional slice", docs/protocols.md §18): conv_altmin (batch and
// online), conv_l4 (alone and refined) and CRsAE on circular problems over K × target μ_conv, each told K and L only and
// tuned by the dense benchmark's rule, with an adaptive search of θ* — the largest activation rate at which at least
// half of the runs recover every filter at 0.99. It ran once on this machine and is committed (its machine time is in
// BENCHMARK.md's generated block); this
// section reads its table (θ* = 0: recovery held at no θ of the grid).
// %%
use dictlab::report::conv_bench;
let slice_plan = Plan::from_file(io::project_path("plans/benchmark_conv.toml"))?;
let slice_ad = slice_plan.adaptive.clone().ok_or_else(|| Error::invalid("plan", "no [adaptive] section", "the slice's adaptive plan"))?;
let slice = dictlab::sweep::store::read_results(io::project_path("data/results/13_conv_benchmark/conv.parquet"))?;
let slice_tr = conv_bench::conv_transitions(&slice, &slice_ad)?;
let slice_frame = conv_bench::transitions_frame(&slice_tr)?;
show_df(&slice_frame);
// %%
let mut slice_methods: Vec<String> = Vec::new();
for t in &slice_tr { if !slice_methods.contains(&t.method) { slice_methods.push(t.method.clone()); } }
for m in &slice_methods {
    let one = table::filter_eq(&slice_frame, &[("method", m.as_str().into())])?;
    show_plot(&report::heatmap_from_frame(&one, "K", "target_mu", "theta_star", &format!("{m}: θ* over (K, target μ_conv)"))?);
}
let (nv_a, nv_t, nv_b, nv_n) = conv_bench::neural_vs_classical(&slice_tr);
/// "x of n (95 % Wilson interval)".
fn share_of(x: usize, n: usize) -> String { let (lo, hi) = table::wilson(x, n, 1.96); format!("{x} of {n} (95 % {lo:.2}–{hi:.2})") }
show_text(&format!("CRsAE against the best classical learner, per setting: ahead in {}, tied in {}, behind in {}", share_of(nv_a, nv_n), share_of(nv_t, nv_n), share_of(nv_b, nv_n)));
// %% [markdown]
// ## Headline
// The one-line finding of this run, written from the numbers above (it also heads this notebook's card in the reports' index).
// %%
fn mean_of(df: &DataFrame, c: &str) -> Result<f64> { let v = table::column_nan(df, c)?; Ok(v.iter().sum::<f64>() / v.len().max(1) as f64) }
/// "mean ± half-width" of a column over runs (Student t, 95 %).
fn mean_pm(df: &DataFrame, c: &str) -> Result<String> { let (m, h) = table::mean_ci95(&table::column_nan(df, c)?); Ok(format!("{m:.3} ± {h:.3}")) }
let (w_lo, w_hi) = table::wilson(near, n_starts, 1.96);
fn by_theta(df: &DataFrame, th: f64) -> Result<f64> { mean_of(&table::filter_eq(df, &[("p_inst_theta", Value::Float(th))])?, "m_recovery_score") }
fn final_sine(tr: &DataFrame) -> Result<f64> {
    let it = table::column_nan(tr, "iter")?;
    let last = it.iter().cloned().fold(f64::MIN, f64::max);
    mean_of(&table::filter_eq(tr, &[("iter", Value::Int(last as i64))])?, "m_sine")
}
report::show_headline(&format!(
    "Convolutional ℓ4 from random starts: {near} of {n_starts} starts end within 0.95 of a planted filter (K = {k_f}, θ = 0.05; 95 % interval {w_lo:.2}–{w_hi:.2}). Over the {} runs of the (θ, K) grid the raw filters' mean best |corr| is {} and the mean fraction recovered at 0.99 goes from {} (raw) to {} (refined; 95 % intervals over runs). From one random-window start (one run each), the final mean sine distance is {:.3} for CRsAE (full backpropagation), {:.3} for its g_dec variant and {:.3} for conv_altmin.",
    raw.height(), mean_pm(&raw, "m_recovery_score")?, mean_pm(&raw, "m_recovery_rate")?, mean_pm(&refined, "m_recovery_rate")?, final_sine(&traces[0])?, final_sine(&traces[1])?, final_sine(&traces[2])?));
// %% [markdown]
// ## The papers' claims beside this run
// The papers' own numbers for these experiments are not in our sources (docs/protocols.md §4a, §13), so each verdict is
// on the direction of a claim, computed from this run's data.
// %%
use dictlab::report::paper::show_verdict;
for (k, n_max, worst, reached) in &toys {
    show_verdict(&format!("Qu et al., benign landscape after preconditioning — every local maximizer of −f is near a signed shift of a filter: at T = 3, K = {k} it {} on the grid (the farthest of its {n_max} maxima has |cos| {worst:.3} with a shift; {reached} of {} signed shifts have a maximum within 0.95).",
        if *worst >= 0.95 { "holds" } else { "does not hold" }, 6 * k));
}
show_verdict(&format!("Qu et al., RGD from a random start finds a shifted filter: {near} of {n_starts} starts end within |corr| 0.95 of one (95 % interval {w_lo:.2}–{w_hi:.2}) at T = {t_len}, K = {k_f}, θ = 0.05 — {}.",
    if 2 * near > n_starts { "holds for most starts" } else { "does not hold for most starts" }));
show_verdict(&format!("Qu et al., sparser activations are easier: raw conv_l4's mean best |corr| is {:.3} at θ = 0.02 and {:.3} at θ = 0.2 — {} at this size (the per-θ intervals are in Observed).",
    by_theta(&raw, 0.02)?, by_theta(&raw, 0.2)?, if by_theta(&raw, 0.02)? > by_theta(&raw, 0.2)? { "holds" } else { "does not hold" }));
let (s_net, s_am) = (final_sine(&traces[0])?, final_sine(&traces[2])?);
show_verdict(&format!("Tolooshams et al., CRsAE learns the filters as well as alternating minimization: final mean sine distance {s_net:.3} (CRsAE) vs {s_am:.3} (conv_altmin), one run each from the same start — {}.",
    if s_net <= s_am { "holds on this run" } else { "does not hold on this run" }));
// %% [markdown]
// ## Observed
// Written from this run's numbers; a claim the data stop supporting fails the notebook (and `make test`).
// %%
let mut obs = report::observed::Observed::new();
let (lo_t, hi_t) = (by_theta(&raw, 0.02)?, by_theta(&raw, 0.2)?);
fn theta_pm(df: &DataFrame, th: f64) -> Result<String> { mean_pm(&table::filter_eq(df, &[("p_inst_theta", Value::Float(th))])?, "m_recovery_score") }
obs.line(format!("Qu et al.'s theory expects recovery to be easier at sparser activations; raw conv_l4's mean best |corr| is {} at θ = 0.02 and {} at θ = 0.2 (95 % intervals over runs): the point estimates {} the expectation at this size",
    theta_pm(&raw, 0.02)?, theta_pm(&raw, 0.2)?, if lo_t > hi_t { "follow" } else { "do not follow" }));
obs.claim("Qu et al.: a random start finds a shifted filter (most starts end within 0.95 of one)", 2 * near > n_starts, format!("{near} of {n_starts}"));
let (r_raw, r_ref) = (mean_of(&raw, "m_recovery_rate")?, mean_of(&refined, "m_recovery_rate")?);
obs.claim("ours: the conv_altmin refinement raises the fraction of filters recovered at 0.99", r_ref > r_raw,
    format!("{} → {} (95 % intervals over runs)", mean_pm(&raw, "m_recovery_rate")?, mean_pm(&refined, "m_recovery_rate")?));
let (s0, s1) = (mean_of(&table::filter_eq(&traces[0], &[("iter", Value::Int(0))])?, "m_sine")?, final_sine(&traces[0])?);
obs.claim("CRsAE training moves the filters toward the planted ones (mean sine distance decreases)", s1 < s0, format!("{s0:.3} → {s1:.3}"));
obs.line(format!("final mean sine distance (one run each, over the {k_f} filters): CRsAE {:.3}, g_dec {:.3}, conv_altmin {:.3}", final_sine(&traces[0])?, final_sine(&traces[1])?, final_sine(&traces[2])?));
obs.line(format!("benchmark slice (committed): CRsAE's θ* against the best classical learner's — ahead in {}, tied in {}, behind in {} settings", share_of(nv_a, nv_n), share_of(nv_t, nv_n), share_of(nv_b, nv_n)));
obs.show()?;
