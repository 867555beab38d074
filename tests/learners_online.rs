//! Online, AltMinDict, Arora/NOODL learners: planted recovery, the online/batch fixed point,
//! bit-identical resume, spectral initialization, bad input.

use dictlab::code::{Omp, SparseCoder};
use dictlab::learn::{
    AltMinDict, ApproxGradient, Bcd, DictionaryLearner, Forgetting, Init, LearnState, OnlineDl,
    PairwiseSpectral, RecoveryObserver,
};
use dictlab::prelude::*;

fn easy() -> Instance {
    InstanceSpec::new(16, 32, 2000)
        .sparsity(2)
        .values(Values::SignedUniform { a: 1.0, b: 2.0 })
        .sample(42)
        .unwrap()
}

fn near(inst: &Instance, dist: f64) -> Init {
    Init::NearTruth {
        truth: inst.dict.clone(),
        dist,
    }
}

fn assert_recovers(name: &str, inst: &Instance, dict: &Array2<f64>) {
    let r = metrics::recovery_metrics(inst.dict.view(), dict.view(), 0.99).unwrap();
    assert!(r.recovery_rate >= 0.95, "{name}: {r:?}");
    for c in dict.columns() {
        assert!(
            (c.dot(&c).sqrt() - 1.0).abs() < 1e-10,
            "{name}: unit-norm atoms"
        );
    }
}

#[test]
fn online_recovers_planted_dictionary() {
    let inst = easy();
    let learner = OnlineDl::new(Omp::with_sparsity(2)).batch(128).epochs(20.0);
    let mut obs = RecoveryObserver::new(inst.dict.view());
    let out = learner
        .learn_observed(
            inst.y.view(),
            32,
            &near(&inst, 0.5),
            3,
            dictlab::iter::Schedule::Every(10),
            &mut obs,
        )
        .unwrap();
    assert_recovers("online", &inst, &out.dict);
    // the observer saw the start far from the truth and the end at it
    let df = obs.to_frame().unwrap();
    let rates: Vec<f64> = dictlab::table::column_f64(&df, "recovery_rate")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert!(
        rates[0] < 0.5 && *rates.last().unwrap() >= 0.95,
        "{rates:?}"
    );
}

#[test]
fn online_with_full_batches_matches_batch_bcd_fixed_point() {
    // With η = N and statistics starting at zero, one online step is one batch iteration of
    // AltMin(OMP, BCD): the same codes, the same (A, B) up to the 1/η scale, the same BCD sweep.
    let inst = easy();
    let d0 = Init::NearTruth {
        truth: inst.dict.clone(),
        dist: 0.3,
    }
    .build(inst.y.view(), 32, &mut dictlab::rng::rng_from_seed(5))
    .unwrap();
    let online = OnlineDl::new(Omp::with_sparsity(2))
        .batch(2000)
        .forgetting(Forgetting::Constant(1.0));
    let mut s = online.start(d0.clone(), 0).unwrap();
    online.partial_fit(&mut s, inst.y.view()).unwrap();
    let batch = dictlab::learn::AlternatingMinimization::new(Omp::with_sparsity(2), Bcd::default())
        .max_iters(1)
        .unused(dictlab::learn::UnusedAtoms::Keep);
    let out = batch.learn(inst.y.view(), 32, &Init::Given(d0), 0).unwrap();
    let diff = (&s.dict - &out.dict)
        .mapv(f64::abs)
        .fold(0.0f64, |a, &b| a.max(b));
    assert!(
        diff < 1e-12,
        "one full-batch online step = one batch BCD step: {diff}"
    );
    // run to convergence: online with full batches and (almost) complete forgetting is batch BCD,
    // and both reach the same fixed point (the planted dictionary)
    let long_online = OnlineDl::new(Omp::with_sparsity(2))
        .batch(2000)
        .forgetting(Forgetting::Constant(1e-9))
        .epochs(30.0);
    let a = long_online
        .learn(inst.y.view(), 32, &near(&inst, 0.3), 0)
        .unwrap();
    let b = dictlab::learn::AlternatingMinimization::new(Omp::with_sparsity(2), Bcd { sweeps: 5 })
        .max_iters(30)
        .learn(inst.y.view(), 32, &near(&inst, 0.3), 0)
        .unwrap();
    let ra = metrics::dictionary_recovery(inst.dict.view(), a.dict.view()).unwrap();
    let rb = metrics::dictionary_recovery(inst.dict.view(), b.dict.view()).unwrap();
    assert!(ra.recovery_rate(0.99) >= 0.95 && rb.recovery_rate(0.99) >= 0.95);
    let fd = metrics::dictionary_recovery(a.dict.view(), b.dict.view()).unwrap();
    assert!(
        fd.recovery_rate(0.999) >= 0.95,
        "same fixed point: {:?}",
        fd.columnwise_dist()
    );
}

#[test]
fn resumed_online_run_is_bit_identical() {
    let inst = easy();
    let learner = OnlineDl::new(Omp::with_sparsity(2)).batch(64);
    let d0 = Init::RandomData
        .build(inst.y.view(), 32, &mut dictlab::rng::rng_from_seed(9))
        .unwrap();
    let none = &mut dictlab::iter::NoObserver;
    let sched = dictlab::iter::Schedule::Never;
    let s0 = learner.start(d0.clone(), 11).unwrap();
    let (full, _) = learner.advance(inst.y.view(), s0, 70, sched, none).unwrap();
    let s0 = learner.start(d0, 11).unwrap();
    let (half, _) = learner.advance(inst.y.view(), s0, 40, sched, none).unwrap();
    let dir = tempfile::tempdir().unwrap();
    half.save(dir.path()).unwrap();
    let loaded = LearnState::load(dir.path()).unwrap();
    let (resumed, _) = learner
        .advance(inst.y.view(), loaded, 30, sched, none)
        .unwrap();
    assert_eq!(full.step, 70);
    assert_eq!(resumed.step, 70);
    assert_eq!(full.dict, resumed.dict, "bit-identical dictionary");
    assert_eq!(full.stats, resumed.stats, "bit-identical statistics");
    assert_eq!(full.replaced_total, resumed.replaced_total);
}

#[test]
fn altmindict_recovers_from_near_init() {
    let inst = easy();
    let learner = AltMinDict {
        eps0: 1.0,
        eps_min: 1e-3,
        max_iters: 15,
        ..Default::default()
    };
    let out = learner
        .learn(inst.y.view(), 32, &near(&inst, 0.2), 0)
        .unwrap();
    assert_recovers("altmindict", &inst, &out.dict);
}

#[test]
fn constrained_lars_meets_the_residual_exactly() {
    let inst = easy();
    let eps = 0.5;
    let enc = dictlab::code::LarsLasso::constrained(eps)
        .encode(inst.dict.view(), inst.y.view())
        .unwrap();
    let r = dictlab::code::residual(inst.dict.view(), inst.y.view(), enc.codes.view());
    for (j, c) in r.columns().into_iter().enumerate().take(200) {
        let nr = c.dot(&c).sqrt();
        let ny = inst.y.column(j).dot(&inst.y.column(j)).sqrt();
        if ny > eps {
            assert!((nr - eps).abs() < 1e-8, "column {j}: ‖r‖ = {nr}");
        }
    }
}

/// The theory regime of AGMM 2015 / NOODL: incoherent (orthonormal-like) dictionary, k ≪ √n,
/// magnitudes ≥ C = 1 (threshold C/2), initialization close to the truth.
fn theory_regime() -> Instance {
    InstanceSpec::new(32, 32, 8000)
        .dictionary(dictlab::instance::DictKind::Orthobasis)
        .sparsity(2)
        .values(Values::SignedUniform { a: 1.0, b: 2.0 })
        .sample(7)
        .unwrap()
}

#[test]
fn arora_and_noodl_recover_in_their_regime() {
    let inst = theory_regime();
    for learner in [
        ApproxGradient::arora(0.5, 8.0).batch(256).epochs(10.0),
        ApproxGradient::noodl(0.5, 8.0).batch(256).epochs(5.0),
    ] {
        let out = learner
            .learn(inst.y.view(), 32, &near(&inst, 0.2), 0)
            .unwrap();
        assert_recovers(&learner.name(), &inst, &out.dict);
    }
}

#[test]
fn spectral_init_finds_atoms() {
    let inst = theory_regime();
    let init = PairwiseSpectral::default()
        .build(inst.y.view(), 32, &mut dictlab::rng::rng_from_seed(1))
        .unwrap();
    let r = metrics::dictionary_recovery(inst.dict.view(), init.dict.view()).unwrap();
    assert!(init.found >= 16, "found {} atoms spectrally", init.found);
    assert!(r.recovery_rate(0.9) >= 0.5, "score {}", r.recovery_score());
}

#[test]
fn clustering_init_finds_atoms() {
    let inst = theory_regime();
    let init = dictlab::learn::ClusteringInit::default()
        .build(inst.y.view(), 32, &mut dictlab::rng::rng_from_seed(2))
        .unwrap();
    let r = metrics::dictionary_recovery(inst.dict.view(), init.dict.view()).unwrap();
    assert!(init.found >= 16, "found {} atoms by clustering", init.found);
    assert!(r.recovery_rate(0.9) >= 0.5, "score {}", r.recovery_score());
    // and AltMinDict from it recovers the dictionary
    let out = AltMinDict {
        eps_min: 1e-3,
        ..Default::default()
    }
    .learn(inst.y.view(), 32, &Init::Clustering(Default::default()), 2)
    .unwrap();
    assert_recovers("altmindict from clustering init", &inst, &out.dict);
}

#[test]
fn bad_input_is_a_typed_error() {
    let inst = easy();
    let few = inst.y.slice(ndarray::s![.., ..10]).to_owned();
    let online = OnlineDl::new(Omp::with_sparsity(2));
    assert!(online.learn(few.view(), 32, &Init::RandomData, 0).is_err());
    let mut nan = inst.y.clone();
    nan[(0, 0)] = f64::NAN;
    for l in [
        Box::new(online.clone()) as Box<dyn DictionaryLearner>,
        Box::new(AltMinDict::default()),
        Box::new(ApproxGradient::arora(0.5, 1.0)),
    ] {
        let e = l.learn(nan.view(), 32, &Init::RandomData, 0).unwrap_err();
        assert!(e.to_string().contains("signals"), "{e}");
        let z = Array2::<f64>::zeros((16, 100));
        assert!(l.learn(z.view(), 32, &Init::RandomData, 0).is_err());
    }
    assert!(ApproxGradient::arora(0.5, -1.0).check().is_err());
    // k ≥ n for the OMP coder
    let e = OnlineDl::new(Omp::with_sparsity(17))
        .learn(inst.y.view(), 32, &Init::RandomData, 0)
        .unwrap_err();
    assert!(e.to_string().contains("sparsity"), "{e}");
}

/// The registry's default step on a benchmark-sized instance whose non-zeros do not have unit second
/// moment (U[1, 2]): the papers' η = m/k taken literally moves each atom by ≈ η (k/m) E|x| = 1.5 of
/// its error per step and NOODL's decode blew up (objective ≈ 1e189); the default m / mean‖y‖²
/// recovers every atom.
#[test]
fn noodl_default_step_recovers_with_large_nonzeros() {
    use dictlab::instance::DictKind;
    use dictlab::registry::{self, Context};
    let (n, m, k) = (32, 48, 4);
    let inst = InstanceSpec::new(n, m, 5000)
        .dictionary(DictKind::Coherence { target: 0.3 })
        .sparsity(k)
        .values(Values::NonNegUniform { a: 1.0, b: 2.0 })
        .noise(Noise::Sigma { sigma: 0.05 })
        .sample(3)
        .unwrap();
    let ctx = Context {
        n_atoms: m,
        dim: Some(n),
        sparsity: Some(k),
        truth: Some(&inst.dict),
        ..Context::default()
    };
    let epochs = [("epochs".to_string(), dictlab::table::Value::from(30.0))];
    let (l, _) = registry::build_learner("noodl", &epochs, &ctx).unwrap();
    let start = near(&inst, 0.3);
    let out = l.learn(inst.y.view(), m, &start, 0).unwrap();
    assert_recovers("noodl, default step", &inst, &out.dict);
    // the step it took: m / mean‖y‖², here ≈ m / (k E[x²] + nσ²) = 48 / 9.4
    let ms = inst.y.iter().map(|v| v * v).sum::<f64>() / 5000.0;
    let auto = ApproxGradient::noodl(0.5, 1.0).auto_step();
    assert_eq!(auto.step_size(m, inst.y.view()), m as f64 / ms);
    assert!(
        (ms - (k as f64 * 7.0 / 3.0 + n as f64 * 0.0025)).abs() < 0.5,
        "{ms}"
    );
    // the literal m/k overshoots on the same start
    let literal = ApproxGradient::noodl(0.5, (m / k) as f64).epochs(30.0);
    let r = literal.learn(inst.y.view(), m, &start, 0).unwrap();
    let rec = metrics::recovery_metrics(inst.dict.view(), r.dict.view(), 0.99).unwrap();
    assert!(rec.recovery_rate < 0.5, "m/k: {rec:?}");
}

#[test]
fn automatic_step_hand_computed() {
    // two signals with ‖y‖² = 4 and 2: mean 3, η = m / 3
    let y = ndarray::array![[2.0, 1.0], [0.0, 1.0]];
    let a = ApproxGradient::arora(0.5, 7.0);
    assert_eq!(a.step_size(6, y.view()), 7.0);
    assert_eq!(a.clone().auto_step().step_size(6, y.view()), 2.0);
    assert!(a.auto_step().name().contains("eta=auto"));
}

/// Online DL on a streamed planted model (issue 35's classical baseline): 32 features in 24
/// dimensions firing independently (mean L0 1.5), OMP with the data's k, batches drawn on the fly,
/// started from signals (at 16 dimensions from a Gaussian start it stalled at 25 of 32 features).
#[test]
fn online_dl_recovers_a_streamed_planted_model() {
    use dictlab::generate::stream::{Firing, Magnitude, SynthModel, SynthSpec};
    let spec = SynthSpec {
        dim: 24,
        features: 32,
        firing: Firing::Constant { prob: 1.5 / 32.0 },
        hierarchy: None,
        correlation: None,
        magnitude: Magnitude {
            mean: 1.0,
            std: 0.2,
        },
        noise_sigma: 0.0,
    };
    let model = SynthModel::new(spec, 4).unwrap();
    let online =
        dictlab::learn::online::OnlineDl::new(dictlab::code::Omp::with_sparsity(2)).batch(256);
    // the usual start: signals of a batch the run does not train on (batch 0)
    let b0 = model.batch(0, 256).unwrap().y;
    let cols: Vec<usize> = (0..256)
        .filter(|&j| b0.column(j).iter().any(|v| *v != 0.0))
        .take(32)
        .collect();
    let start = b0.select(ndarray::Axis(1), &cols);
    let mut seen = 0;
    let s = online
        .fit_stream(&model, start, 1500, 2, &mut |t, _| {
            seen = t;
            true
        })
        .unwrap();
    assert_eq!(seen, 1500);
    assert_eq!(s.samples_seen, 1500 * 256);
    let r = dictlab::metrics::recovery_metrics(model.dictionary(), s.dict.view(), 0.99).unwrap();
    eprintln!("{r:?}");
    // observed: 28 of 32 features at |cos| ≥ 0.99, mean matched |cos| 0.957 (the other four are
    // not reached in this budget; not investigated)
    assert!(r.recovery_rate >= 0.8 && r.recovery_score > 0.94, "{r:?}");
    // the stop rule ends the run
    let s = online
        .fit_stream(&model, s.dict.clone(), 50, 2, &mut |t, _| t < 10)
        .unwrap();
    assert_eq!(s.step, 10);
}
