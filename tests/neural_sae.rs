//! Sparse autoencoders: gradients = finite differences, JumpReLU's straight-through threshold,
//! TopK's exact k, dead latents, and recovery of a planted dictionary.

use dictlab::generate::Values;
use dictlab::instance::{DictKind, InstanceSpec};
use dictlab::iter::{NoObserver, Schedule};
use dictlab::neural::sae::{Sae, SaeKind, SaeTrainer, dead_latents, evaluate};
use dictlab::rng::rng_from_seed;
use ndarray::Array2;
mod common;
use common::gaussian;

fn model(kind: SaeKind) -> (Sae, Array2<f64>) {
    let (n, m) = (6, 10);
    let mut sae = Sae::init(n, m, kind, 0.3, &mut rng_from_seed(1)).unwrap();
    // break the tied start so every parameter matters
    sae.w_enc = gaussian(m, n, 2) * 0.7;
    sae.b_enc = gaussian(m, 1, 3).column(0).to_owned() * 0.2;
    sae.b_dec = gaussian(n, 1, 4).column(0).to_owned() * 0.1;
    sae.w_dec = gaussian(n, m, 5);
    (sae, gaussian(n, 30, 6))
}

/// Relative error of the analytic gradient against central differences over the first
/// `n_params` entries of the flat parameter vector (all but log θ).
fn fd_error(sae: &Sae, y: &Array2<f64>, n_params: usize) -> f64 {
    let (_, g) = sae.loss_grad(y.view()).unwrap();
    let g = g.to_flat();
    let x = sae.to_flat();
    let h = 1e-6;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..n_params {
        let (mut p, mut q) = (sae.clone(), sae.clone());
        let (mut xp, mut xq) = (x.clone(), x.clone());
        xp[i] += h;
        xq[i] -= h;
        p.set_flat(&xp).unwrap();
        q.set_flat(&xq).unwrap();
        // the Gated SAE's auxiliary term goes through the frozen (unperturbed) decoder
        let fd = (p.loss_frozen(y.view(), Some(sae)).unwrap()
            - q.loss_frozen(y.view(), Some(sae)).unwrap())
            / (2.0 * h);
        num += (fd - g[i]).powi(2);
        den += g[i].powi(2);
    }
    (num / den).sqrt()
}

#[test]
fn gradients_match_finite_differences_for_every_kind() {
    for kind in [
        SaeKind::ReluL1 { lambda: 0.3 },
        SaeKind::TopK { k: 3 },
        SaeKind::BatchTopK { k: 3 },
        SaeKind::Matryoshka { k: 3, levels: 3 },
        SaeKind::Gated { lambda: 0.3 },
        SaeKind::JumpRelu {
            lambda: 0.3,
            bandwidth: 0.05,
        },
    ] {
        let (mut sae, y) = model(kind);
        // a magnitude path that differs from the gate (Gated; the other kinds ignore it)
        sae.r_mag = gaussian(10, 1, 8).column(0).to_owned() * 0.3;
        sae.b_mag = gaussian(10, 1, 9).column(0).to_owned() * 0.2;
        let m = sae.n_latents();
        let n_params = sae.to_flat().len() - m; // every parameter but log θ
        let err = fd_error(&sae, &y, n_params);
        assert!(err < 1e-6, "{kind:?}: relative gradient error {err}");
        let f = sae.encode(y.view()).unwrap();
        let active = f.iter().filter(|v| **v != 0.0).count();
        assert!(active > 0 && active < f.len(), "{kind:?}: {active} active");
    }
}

/// BatchTopK keeps exactly k·B entries of a training batch (so samples may hold more or fewer than
/// k); after training batches its inference threshold is the running mean of their smallest selected
/// pre-activation, and inference keeps exactly the entries above it. Matryoshka's prefixes halve, and
/// its loss by hand is the sum of the nested reconstructions' errors.
#[test]
fn batchtopk_selects_over_the_batch_and_matryoshka_sums_nested_losses() {
    let (mut sae, y) = model(SaeKind::BatchTopK { k: 2 });
    sae.b_enc.fill(50.0); // every pre-activation positive
    let (_, g) = sae.loss_grad(y.view()).unwrap();
    let mut trained = sae.clone();
    let f_train = {
        // training selection: the loss's codes (k·B = 60 of the batch's 300 entries)
        let (loss, _) = sae.loss_grad(y.view()).unwrap();
        assert!(loss.is_finite());
        sae.encode(y.view()).unwrap() // no threshold yet: inference selects per batch too
    };
    assert_eq!(f_train.iter().filter(|v| **v != 0.0).count(), 2 * 30);
    let per_sample: Vec<usize> = f_train
        .columns()
        .into_iter()
        .map(|c| c.iter().filter(|v| **v != 0.0).count())
        .collect();
    assert!(per_sample.iter().any(|c| *c != 2), "{per_sample:?}");
    let min_sel = g.min_selected.unwrap();
    let smallest_kept = f_train
        .iter()
        .filter(|v| **v != 0.0)
        .fold(f64::INFINITY, |m, v| m.min(*v));
    assert_eq!(min_sel, smallest_kept);
    trained.update_batch_threshold(Some(min_sel));
    trained.update_batch_threshold(Some(min_sel + 1.0));
    let th = trained.batch_threshold.unwrap();
    assert!((th - (min_sel + 0.01)).abs() < 1e-12, "{th}");
    let z_pos = trained.encode(y.view()).unwrap();
    assert!(z_pos.iter().all(|v| *v == 0.0 || *v > th));
    // Matryoshka: m = 10, three levels → prefixes 2, 5, 10
    let (sae, y) = model(SaeKind::Matryoshka { k: 3, levels: 3 });
    assert_eq!(sae.prefixes(), vec![2, 5, 10]);
    let f = sae.encode(y.view()).unwrap();
    let mut want = 0.0;
    for p in [2usize, 5, 10] {
        let rec = sae
            .w_dec
            .slice(ndarray::s![.., ..p])
            .dot(&f.slice(ndarray::s![..p, ..]))
            + sae.b_dec.view().insert_axis(ndarray::Axis(1));
        want += (&rec - &y).iter().map(|v| v * v).sum::<f64>() / 30.0;
    }
    let got = sae.loss(y.view()).unwrap();
    assert!((got - want).abs() < 1e-10 * want, "{got} vs {want}");
    // the kinds' refusals
    let mut rng = rng_from_seed(0);
    assert!(Sae::init(6, 10, SaeKind::BatchTopK { k: 11 }, 0.1, &mut rng).is_err());
    assert!(
        Sae::init(
            6,
            10,
            SaeKind::Matryoshka { k: 2, levels: 5 },
            0.1,
            &mut rng
        )
        .is_err()
    );
    assert!(
        Sae::init(
            6,
            10,
            SaeKind::Matryoshka { k: 2, levels: 0 },
            0.1,
            &mut rng
        )
        .is_err()
    );
}

/// The auxiliary loss of dead latents: its gradient (residual held fixed, as in training) matches
/// finite differences of main loss + aux loss, and a dead latent that the main TopK does not select
/// gets an encoder gradient only through it.
#[test]
fn the_aux_k_loss_has_exact_gradients_and_feeds_dead_latents() {
    use dictlab::neural::sae::AuxK;
    let (sae, y) = model(SaeKind::TopK { k: 2 });
    let dead: Vec<bool> = (0..10).map(|i| i % 2 == 0).collect();
    let aux = AuxK {
        dead: &dead,
        k: 2,
        coef: 0.5,
    };
    let f = sae.encode(y.view()).unwrap();
    let residual = &y - &(sae.w_dec.dot(&f) + sae.b_dec.view().insert_axis(ndarray::Axis(1)));
    let total =
        |s: &Sae| s.loss(y.view()).unwrap() + s.aux_loss(y.view(), residual.view(), aux).unwrap();
    let (l, g) = sae.loss_grad_aux(y.view(), Some(aux)).unwrap();
    assert!((l - total(&sae)).abs() < 1e-12 * l);
    let (g, x) = (g.to_flat(), sae.to_flat());
    let n_params = x.len() - 10;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..n_params {
        let (mut p, mut q) = (sae.clone(), sae.clone());
        let (mut xp, mut xq) = (x.clone(), x.clone());
        xp[i] += 1e-6;
        xq[i] -= 1e-6;
        p.set_flat(&xp).unwrap();
        q.set_flat(&xq).unwrap();
        let fd = (total(&p) - total(&q)) / 2e-6;
        num += (fd - g[i]).powi(2);
        den += g[i].powi(2);
    }
    assert!(
        (num / den).sqrt() < 1e-6,
        "relative error {}",
        (num / den).sqrt()
    );
    // the latents that TopK (k = 1) never selects on this batch, declared dead: the encoder rows of
    // those with a positive pre-activation get a gradient only through the auxiliary loss
    let (sae1, _) = model(SaeKind::TopK { k: 1 });
    let f1 = sae1.encode(y.view()).unwrap();
    let dead1: Vec<bool> = f1
        .rows()
        .into_iter()
        .map(|r| r.iter().all(|v| *v == 0.0))
        .collect();
    assert!(dead1.iter().any(|d| *d), "every latent selected");
    let aux1 = AuxK {
        dead: &dead1,
        k: 2,
        coef: 0.5,
    };
    let (_, g0) = sae1.loss_grad(y.view()).unwrap();
    let (_, g1) = sae1.loss_grad_aux(y.view(), Some(aux1)).unwrap();
    let mut fed = 0;
    for i in (0..10).filter(|&i| dead1[i]) {
        assert!(g0.w_enc.row(i).iter().all(|v| *v == 0.0));
        fed += g1.w_enc.row(i).iter().any(|v| *v != 0.0) as usize;
    }
    assert!(fed >= 1, "no dead latent fed");
    assert!(
        sae.loss_grad_aux(
            y.view(),
            Some(AuxK {
                dead: &dead[..3],
                k: 2,
                coef: 0.5
            })
        )
        .is_err()
    );
}

#[test]
fn jumprelu_threshold_gradient_is_the_straight_through_estimate() {
    let (sae, y) = model(SaeKind::JumpRelu {
        lambda: 0.3,
        bandwidth: 0.5,
    });
    let (_, g) = sae.loss_grad(y.view()).unwrap();
    assert!(g.log_theta.iter().any(|v| *v != 0.0));
    let h = 1e-6;
    for i in 0..sae.n_latents() {
        let (mut p, mut q) = (sae.log_theta.clone(), sae.log_theta.clone());
        p[i] += h;
        q[i] -= h;
        let fd = (sae.jumprelu_theta_surrogate(y.view(), &p).unwrap()
            - sae.jumprelu_theta_surrogate(y.view(), &q).unwrap())
            / (2.0 * h);
        assert!(
            (fd - g.log_theta[i]).abs() <= 1e-6 * (1.0 + fd.abs()),
            "latent {i}: fd {fd} vs {}",
            g.log_theta[i]
        );
    }
    // the step itself: the true loss does not move with θ between data points
    let mut moved = sae.clone();
    moved.log_theta[0] += 1e-9;
    assert_eq!(moved.loss(y.view()).unwrap(), sae.loss(y.view()).unwrap());
}

#[test]
fn topk_keeps_exactly_k_latents_and_dead_latents_are_counted() {
    let (mut sae, y) = model(SaeKind::TopK { k: 4 });
    sae.b_enc.fill(50.0); // every pre-activation positive
    let f = sae.encode(y.view()).unwrap();
    for c in f.columns() {
        assert_eq!(c.iter().filter(|v| **v != 0.0).count(), 4);
    }
    let never = f
        .rows()
        .into_iter()
        .filter(|r| r.iter().all(|v| *v == 0.0))
        .count();
    assert_eq!(dead_latents(&sae, y.view()).unwrap(), never);
    assert!(never <= 10 - 4);
    sae.b_enc.fill(-50.0);
    assert_eq!(dead_latents(&sae, y.view()).unwrap(), 10);
}

/// Train `kind` (θ₀ = 0.5) for 5000 Adam steps on n = 16, k-sparse non-negative codes in [1, 2],
/// N = 8000; return (recovery_score, recovery_rate@0.99, dead latents).
fn train_planted(kind: SaeKind, dict: DictKind, m: usize, k: usize, lr: f64) -> (f64, f64, usize) {
    let inst = InstanceSpec::new(16, m, 8000)
        .sparsity(k)
        .dictionary(dict)
        .values(Values::NonNegUniform { a: 1.0, b: 2.0 })
        .sample(11)
        .unwrap();
    let mut t = SaeTrainer::new(kind, m);
    t.steps = 5000;
    t.lr = lr;
    t.theta0 = 0.5;
    let (s, info) = t
        .train(inst.y.view(), 5, Schedule::Never, &mut NoObserver)
        .unwrap();
    assert!(info.termination.is_finite());
    let r = dictlab::metrics::recovery_metrics(inst.dict.view(), s.sae.w_dec.view(), 0.99).unwrap();
    let dead = dead_latents(&s.sae, inst.y.view()).unwrap();
    let ev = evaluate(&s.sae, inst.dict.view(), inst.y.view(), inst.codes.view()).unwrap();
    assert_eq!(ev.dead_latents, dead);
    assert!((ev.recovery_score - r.recovery_score).abs() < 1e-12);
    assert!(ev.mmcs >= ev.recovery_score - 1e-12);
    assert!((ev.true_l0 - k as f64).abs() < 1e-12);
    if ev.recovery_rate == 1.0 {
        // every atom found: each matched latent fires exactly on its atom's support
        assert!(
            ev.latent_f1 > 0.99 && ev.fvu < 0.01 && (ev.l0 - ev.true_l0).abs() < 0.01,
            "{ev:?}"
        );
    }
    eprintln!("{ev:?}");
    eprintln!(
        "{kind:?}: recovery_score {:.4}, recovery_rate@0.99 {:.3}, dead {dead}",
        r.recovery_score, r.recovery_rate
    );
    (r.recovery_score, r.recovery_rate, dead)
}

#[test]
fn each_sae_recovers_a_planted_dictionary_on_an_easy_instance() {
    // TopK, one atom per signal of an orthobasis: every atom found (observed 1.0000 / 1.000)
    let (score, rate, dead) =
        train_planted(SaeKind::TopK { k: 1 }, DictKind::Orthobasis, 16, 1, 1e-3);
    assert!(
        score > 0.999 && rate == 1.0 && dead == 0,
        "{score} {rate} {dead}"
    );
    // ReLU + L1 on a 20-atom Gaussian dictionary (observed 0.9913 / 0.900)
    let (score, rate, _) = train_planted(
        SaeKind::ReluL1 { lambda: 0.1 },
        DictKind::Gaussian,
        20,
        1,
        3e-3,
    );
    assert!(score > 0.98 && rate >= 0.8, "{score} {rate}");
    // JumpReLU on the same instance recovers most atoms (observed 0.8958 / 0.700, one dead latent)
    let (score, rate, _) = train_planted(
        SaeKind::JumpRelu {
            lambda: 0.1,
            bandwidth: 0.05,
        },
        DictKind::Gaussian,
        20,
        1,
        1e-3,
    );
    assert!(score > 0.85 && rate >= 0.5, "{score} {rate}");
    // BatchTopK on the orthobasis instance of TopK: every atom found (observed 0.9999 / 1.000)
    let (score, rate, _) = train_planted(
        SaeKind::BatchTopK { k: 1 },
        DictKind::Orthobasis,
        16,
        1,
        1e-3,
    );
    assert!(score > 0.99 && rate == 1.0, "{score} {rate}");
    // Matryoshka on the same instance: the first prefix (8 latents) must reconstruct alone, which
    // pulls its latents toward mixtures of atoms on this flat (non-hierarchical) data — every atom
    // is approached but none reaches 0.99 (observed 0.9528 / 0.000), while the full reconstruction
    // is good (the FVU is checked inside train_planted's evaluation only when rate = 1)
    let (score, _, dead) = train_planted(
        SaeKind::Matryoshka { k: 1, levels: 2 },
        DictKind::Orthobasis,
        16,
        1,
        1e-3,
    );
    assert!(score > 0.93 && dead == 0, "{score} {dead}");
    // Gated on ReLU + L1's instance: it approaches every atom but reaches none at 0.99 in 5000
    // steps, and depends on λ more than ReLU + L1 (observed: λ = 1, lr 1e-3: 0.938, one dead
    // latent; λ = 0.1: 0.61–0.72; λ = 3: 0.83 with four dead latents)
    let (score, _, dead) = train_planted(
        SaeKind::Gated { lambda: 1.0 },
        DictKind::Gaussian,
        20,
        1,
        1e-3,
    );
    assert!(score > 0.9 && dead <= 2, "gated {score} {dead}");
}

#[test]
fn bad_input_is_an_error() {
    let mut rng = rng_from_seed(0);
    assert!(Sae::init(6, 10, SaeKind::TopK { k: 0 }, 0.1, &mut rng).is_err());
    assert!(Sae::init(6, 10, SaeKind::TopK { k: 11 }, 0.1, &mut rng).is_err());
    assert!(Sae::init(6, 10, SaeKind::ReluL1 { lambda: -1.0 }, 0.1, &mut rng).is_err());
    assert!(
        Sae::init(
            6,
            10,
            SaeKind::JumpRelu {
                lambda: 0.1,
                bandwidth: 0.0
            },
            0.1,
            &mut rng
        )
        .is_err()
    );
    let (sae, _) = model(SaeKind::TopK { k: 2 });
    assert!(sae.loss(gaussian(5, 3, 1).view()).is_err());
    let mut t = SaeTrainer::new(SaeKind::TopK { k: 2 }, 10);
    t.lr = 0.0;
    assert!(
        t.train(
            gaussian(6, 20, 1).view(),
            0,
            Schedule::Never,
            &mut NoObserver
        )
        .is_err()
    );
}

/// A TopK SAE trained on minibatches streamed from a planted model (no data set held: step t draws
/// batch t from (seed, t)): 48 random unit features in 32 dimensions, each firing with
/// probability 0.03 (mean L0 ≈ 1.4), magnitudes 1 ± 0.1; it recovers most features (observed
/// recovery_score 0.925, rate@0.99 0.771 after 4000 steps), and the run is the same when repeated
/// (the stream is reproducible).
#[test]
fn a_topk_sae_recovers_features_from_a_streamed_model() {
    use dictlab::generate::stream::{Firing, Magnitude, SynthModel, SynthSpec};
    let spec = SynthSpec {
        dim: 32,
        features: 48,
        firing: Firing::Constant { prob: 0.03 },
        hierarchy: None,
        correlation: None,
        magnitude: Magnitude {
            mean: 1.0,
            std: 0.1,
        },
        noise_sigma: 0.0,
    };
    let model = SynthModel::new(spec, 21).unwrap();
    let mut t = SaeTrainer::new(SaeKind::TopK { k: 3 }, 48);
    t.steps = 4000;
    t.lr = 1e-3;
    let run = || {
        t.train_stream(&model, 5, Schedule::Never, &mut NoObserver)
            .unwrap()
    };
    let (s, info) = run();
    assert!(info.termination.is_finite());
    let r =
        dictlab::metrics::recovery_metrics(model.dictionary(), s.sae.w_dec.view(), 0.99).unwrap();
    eprintln!(
        "streamed TopK: recovery_score {:.4}, rate {:.3}",
        r.recovery_score, r.recovery_rate
    );
    assert!(r.recovery_score > 0.9 && r.recovery_rate >= 0.7, "{r:?}");
    let (again, _) = run();
    assert_eq!(again.sae.w_dec, s.sae.w_dec);
    // the f32 path: the same recovery, reproducible, and its f64 model the widened f32 one
    // (observed: f64 0.9250 / 0.771, f32 0.9215 / 0.708)
    t.precision = dictlab::neural::sae::Precision::F32;
    let run = || {
        t.train_stream(&model, 5, Schedule::Never, &mut NoObserver)
            .unwrap()
    };
    let (s32, info) = run();
    assert!(info.termination.is_finite());
    let r32 =
        dictlab::metrics::recovery_metrics(model.dictionary(), s32.sae.w_dec.view(), 0.99).unwrap();
    eprintln!(
        "streamed TopK, f32: recovery_score {:.4}, rate {:.3}",
        r32.recovery_score, r32.recovery_rate
    );
    assert!(
        r32.recovery_score > 0.9 && r32.recovery_rate >= 0.7,
        "{r32:?}"
    );
    assert!(s32.sae.w_dec.iter().all(|v| f64::from(*v as f32) == *v));
    assert!(s32.sae.w_dec != s.sae.w_dec);
    let (again, _) = run();
    assert_eq!(again.sae.w_dec, s32.sae.w_dec);
}

/// Training with the auxiliary loss: on an instance where a TopK SAE leaves latents dead (24
/// latents for 24 Gaussian atoms, 1-sparse codes), AuxK (8 dead latents per sample, a latent dead
/// after 20 steps without firing) leaves fewer dead and recovers more (observed: 5 dead, score 0.791
/// without; 4 dead, 0.885 with).
#[test]
fn aux_k_training_revives_dead_latents() {
    let inst = InstanceSpec::new(16, 24, 4000)
        .sparsity(1)
        .dictionary(DictKind::Gaussian)
        .values(Values::NonNegUniform { a: 1.0, b: 2.0 })
        .sample(11)
        .unwrap();
    let run = |aux_k: Option<usize>| {
        let mut t = SaeTrainer::new(SaeKind::TopK { k: 1 }, 24);
        t.steps = 1500;
        t.aux_k = aux_k;
        t.dead_steps = 20;
        let (s, _) = t
            .train(inst.y.view(), 5, Schedule::Never, &mut NoObserver)
            .unwrap();
        assert_eq!(s.since_fired.len(), 24);
        let r =
            dictlab::metrics::recovery_metrics(inst.dict.view(), s.sae.w_dec.view(), 0.99).unwrap();
        (
            dead_latents(&s.sae, inst.y.view()).unwrap(),
            r.recovery_score,
        )
    };
    let ((dead0, score0), (dead1, score1)) = (run(None), run(Some(8)));
    eprintln!(
        "without AuxK: {dead0} dead, score {score0:.3}; with: {dead1} dead, score {score1:.3}"
    );
    assert!(
        dead1 < dead0 && score1 > score0 + 0.05,
        "{dead1} vs {dead0}, {score1} vs {score0}"
    );
}

/// Largest absolute difference between two arrays of the same shape (any memory layouts).
fn max_diff<D: ndarray::Dimension>(a: &ndarray::Array<f64, D>, b: &ndarray::Array<f64, D>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn sparse_kernel_equals_the_reference_gradients_for_every_kind() {
    use dictlab::neural::sae::AuxK;
    use dictlab::neural::sae_kernel::{SaeWork, loss_grad_into, prepare_decoder};
    let dead = [
        true, false, true, false, false, true, false, false, true, false,
    ];
    for kind in [
        SaeKind::ReluL1 { lambda: 0.3 },
        SaeKind::TopK { k: 3 },
        SaeKind::BatchTopK { k: 3 },
        SaeKind::Matryoshka { k: 3, levels: 3 },
        SaeKind::Gated { lambda: 0.3 },
        SaeKind::JumpRelu {
            lambda: 0.3,
            bandwidth: 0.5,
        },
    ] {
        for aux in [
            None,
            Some(AuxK {
                dead: &dead,
                k: 2,
                coef: 0.25,
            }),
        ] {
            let (mut sae, y) = model(kind);
            sae.r_mag = gaussian(10, 1, 8).column(0).to_owned() * 0.3;
            sae.b_mag = gaussian(10, 1, 9).column(0).to_owned() * 0.2;
            if let (SaeKind::Gated { .. }, Some(_)) = (kind, aux) {
                // the Gated SAE has its own auxiliary loss: AuxK is refused by both paths
                let err = sae.loss_grad_aux(y.view(), aux).unwrap_err();
                assert!(err.to_string().contains("aux"), "{err}");
                let mut fast = sae.clone();
                prepare_decoder(&mut fast);
                assert!(loss_grad_into(&fast, y.view(), aux, &mut SaeWork::default()).is_err());
                continue;
            }
            let (loss, g) = sae.loss_grad_aux(y.view(), aux).unwrap();
            let mut fast = sae.clone();
            prepare_decoder(&mut fast);
            assert!(fast.w_dec.t().is_standard_layout() && fast.w_enc.is_standard_layout());
            assert!(max_diff(&fast.w_dec, &sae.w_dec) == 0.0);
            let mut work = SaeWork::default();
            // twice: the second call reuses the buffers of the first
            for _ in 0..2 {
                let l = loss_grad_into(&fast, y.view(), aux, &mut work).unwrap();
                let h = work.grads().unwrap();
                let what = format!("{kind:?} aux {}", aux.is_some());
                assert!(
                    (l - loss).abs() < 1e-12 * loss.abs().max(1.0),
                    "{what}: {l} vs {loss}"
                );
                for (name, d) in [
                    ("w_enc", max_diff(&h.w_enc, &g.w_enc)),
                    ("w_dec", max_diff(&h.w_dec, &g.w_dec)),
                    ("b_enc", max_diff(&h.b_enc, &g.b_enc)),
                    ("b_dec", max_diff(&h.b_dec, &g.b_dec)),
                    ("log_theta", max_diff(&h.log_theta, &g.log_theta)),
                    ("r_mag", max_diff(&h.r_mag, &g.r_mag)),
                    ("b_mag", max_diff(&h.b_mag, &g.b_mag)),
                ] {
                    assert!(d < 1e-12, "{what}: {name} differs by {d}");
                }
                assert_eq!(h.fired, g.fired, "{kind:?}");
                assert_eq!(h.min_selected, g.min_selected, "{kind:?}");
            }
            // the same kernel in f32: equal to the f64 reference to single precision
            let single: dictlab::neural::sae::Sae<f32> = fast.to_precision();
            let y32 = y.mapv(|v| v as f32);
            let mut w32 = SaeWork::default();
            let l = loss_grad_into(&single, y32.view(), aux, &mut w32).unwrap();
            let h = w32.grads().unwrap();
            let what = format!("f32 {kind:?} aux {}", aux.is_some());
            assert!(
                (l - loss).abs() < 1e-5 * loss.abs().max(1.0),
                "{what}: {l} vs {loss}"
            );
            for (name, a, b) in [
                ("w_enc", h.w_enc.mapv(f64::from), &g.w_enc),
                ("w_dec", h.w_dec.mapv(f64::from), &g.w_dec),
            ] {
                let scale = b.iter().fold(1e-3f64, |a, v| a.max(v.abs()));
                let d = max_diff(&a, b);
                assert!(
                    d < 1e-4 * scale,
                    "{what}: {name} differs by {d} (scale {scale})"
                );
            }
            for (name, a, b) in [
                ("b_enc", h.b_enc.mapv(f64::from), &g.b_enc),
                ("b_dec", h.b_dec.mapv(f64::from), &g.b_dec),
                ("log_theta", h.log_theta.mapv(f64::from), &g.log_theta),
                ("r_mag", h.r_mag.mapv(f64::from), &g.r_mag),
                ("b_mag", h.b_mag.mapv(f64::from), &g.b_mag),
            ] {
                let scale = b.iter().fold(1e-3f64, |a, v| a.max(v.abs()));
                let d = max_diff(&a, b);
                assert!(
                    d < 1e-4 * scale,
                    "{what}: {name} differs by {d} (scale {scale})"
                );
            }
            assert_eq!(h.fired, g.fired, "{what}");
            // a JumpReLU window that holds entries, so the threshold gradient is exercised
            if let SaeKind::JumpRelu { .. } = kind {
                assert!(g.log_theta.iter().any(|v| *v != 0.0));
            }
        }
    }
    // a row-major decoder is refused, naming the fix
    let (sae, y) = model(SaeKind::TopK { k: 3 });
    let err = loss_grad_into(&sae, y.view(), None, &mut SaeWork::default()).unwrap_err();
    assert!(err.to_string().contains("prepare_decoder"), "{err}");
}

fn small_synth(
    hierarchy: Option<dictlab::generate::stream::Hierarchy>,
) -> dictlab::generate::stream::SynthSpec {
    use dictlab::generate::stream::{Firing, Magnitude, SynthSpec};
    SynthSpec {
        dim: 3,
        features: 3,
        firing: Firing::Constant { prob: 0.5 },
        hierarchy,
        correlation: None,
        magnitude: Magnitude {
            mean: 1.0,
            std: 0.1,
        },
        noise_sigma: 0.0,
    }
}

#[test]
fn streamed_evaluation_equals_the_dense_one_on_the_same_samples() {
    use dictlab::generate::stream::{SynthModel, SynthSpec};
    use dictlab::neural::sae::evaluate_stream;
    let mut spec = SynthSpec::synth_sae_bench();
    spec.dim = 12;
    spec.features = 20;
    spec.hierarchy = Some(dictlab::generate::stream::Hierarchy {
        roots: 4,
        branching: 3,
        depth: 1,
        exclusive: true,
    });
    let model = SynthModel::new(spec, 5).unwrap();
    let sae = Sae::init(12, 24, SaeKind::TopK { k: 4 }, 0.5, &mut rng_from_seed(2)).unwrap();
    let (ev, h) = evaluate_stream(&sae, &model, 7, 3, 50).unwrap();
    // the same 150 samples at once
    let parts: Vec<_> = (7..10).map(|b| model.batch(b, 50).unwrap()).collect();
    let y = ndarray::concatenate(
        ndarray::Axis(1),
        &parts.iter().map(|p| p.y.view()).collect::<Vec<_>>(),
    )
    .unwrap();
    let x = ndarray::concatenate(
        ndarray::Axis(1),
        &parts
            .iter()
            .map(|p| p.codes.to_dense())
            .collect::<Vec<_>>()
            .iter()
            .map(|a| a.view())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let dense = evaluate(&sae, model.dictionary(), y.view(), x.view()).unwrap();
    for (name, a, b) in [
        ("score", ev.recovery_score, dense.recovery_score),
        ("l0", ev.l0, dense.l0),
        ("true_l0", ev.true_l0, dense.true_l0),
        ("fvu", ev.fvu, dense.fvu),
        ("shrinkage", ev.shrinkage, dense.shrinkage),
        ("precision", ev.latent_precision, dense.latent_precision),
        ("recall", ev.latent_recall, dense.latent_recall),
        ("f1", ev.latent_f1, dense.latent_f1),
    ] {
        assert!((a - b).abs() < 1e-9, "{name}: {a} vs {b}");
    }
    assert_eq!(ev.dead_latents, dense.dead_latents);
    assert!(h.is_some());
    // no hierarchy, no hierarchy scores
    let flat = SynthModel::new(small_synth(None), 1).unwrap();
    let sae3 = Sae::init(3, 3, SaeKind::TopK { k: 1 }, 0.5, &mut rng_from_seed(2)).unwrap();
    assert!(evaluate_stream(&sae3, &flat, 0, 1, 10).unwrap().1.is_none());
    // a model of another dimension is refused
    assert!(evaluate_stream(&sae, &flat, 0, 1, 10).is_err());
}

#[test]
fn absorption_is_counted_by_hand_on_a_built_encoder() {
    use dictlab::generate::stream::{Hierarchy, SynthModel};
    use dictlab::neural::sae::evaluate_stream;
    // feature 0 is the parent of features 1 and 2 (exclusive); the dictionary is the identity
    let spec = small_synth(Some(Hierarchy {
        roots: 1,
        branching: 2,
        depth: 1,
        exclusive: true,
    }));
    let model = SynthModel::with_dictionary(spec, Array2::eye(3), 3).unwrap();
    // ReLU latents z0 = y0 − 2 y1 (silent when child 1 fires: absorbed), z1 = y1, z2 = y2
    let mut sae = Sae::init(
        3,
        3,
        SaeKind::ReluL1 { lambda: 0.0 },
        0.5,
        &mut rng_from_seed(1),
    )
    .unwrap();
    sae.w_dec = Array2::eye(3);
    sae.w_enc = ndarray::array![[1.0, -2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    sae.b_enc.fill(0.0);
    sae.b_dec.fill(0.0);
    let (_, h) = evaluate_stream(&sae, &model, 0, 4, 100).unwrap();
    let h = h.unwrap();
    // the same counts from the codes alone
    let (mut alone, mut with1, mut with2) = (0, 0, 0);
    for b in 0..4 {
        let codes = model.batch(b, 100).unwrap().codes;
        for s in 0..codes.samples() {
            let (idx, _) = codes.column(s);
            if idx.contains(&0) {
                match (idx.contains(&1), idx.contains(&2)) {
                    (true, _) => with1 += 1,
                    (_, true) => with2 += 1,
                    _ => alone += 1,
                }
            }
        }
    }
    assert!(
        alone > 0 && with1 > 0 && with2 > 0,
        "{alone} {with1} {with2}"
    );
    assert_eq!(h.alone, alone);
    assert_eq!(h.alone_fired, alone);
    assert_eq!(h.with_child, with1 + with2);
    assert_eq!(h.with_child_fired, with2);
    assert_eq!(h.absorbed, with1);
    assert!((h.absorption() - with1 as f64 / (with1 + with2) as f64).abs() < 1e-15);
}

#[test]
fn learning_rate_schedule_by_hand() {
    use dictlab::neural::sae::LrSchedule;
    let s = LrSchedule {
        lr: 1.0,
        steps: 10,
        warmup: 4,
        decay: 5,
    };
    for (t, want) in [
        (1, 0.25),
        (2, 0.5),
        (4, 1.0),
        (6, 1.0),
        (7, 0.8),
        (8, 0.6),
        (10, 0.2),
    ] {
        assert!(
            (s.at(t) - want).abs() < 1e-15,
            "step {t}: {} vs {want}",
            s.at(t)
        );
    }
    let flat = LrSchedule {
        lr: 0.3,
        steps: 10,
        warmup: 0,
        decay: 0,
    };
    assert!((1..=10).all(|t| (flat.at(t) - 0.3).abs() < 1e-15));
    // a run with warm-up and decay still finds the orthobasis (TopK, 1-sparse codes)
    let inst = InstanceSpec::new(16, 16, 4000)
        .sparsity(1)
        .dictionary(DictKind::Orthobasis)
        .values(Values::NonNegUniform { a: 1.0, b: 2.0 })
        .sample(11)
        .unwrap();
    let mut t = SaeTrainer::new(SaeKind::TopK { k: 1 }, 16);
    t.steps = 3000;
    t.warmup = 300;
    t.decay = 600;
    let (s, _) = t
        .train(inst.y.view(), 1, Schedule::Never, &mut NoObserver)
        .unwrap();
    let r = dictlab::metrics::recovery_metrics(inst.dict.view(), s.sae.w_dec.view(), 0.99).unwrap();
    assert!(r.recovery_score > 0.99, "{r:?}");
}

/// Resampling (Bricken et al. 2023): a dead latent takes the direction of a badly reconstructed
/// sample (decoder unit, encoder 0.2 × the live rows' mean norm, bias 0); in training it revives
/// latents that the plain run leaves dead.
#[test]
fn resampling_moves_dead_latents_to_badly_reconstructed_samples() {
    let (mut sae, y) = model(SaeKind::TopK { k: 2 });
    sae.normalize_decoder();
    let live_norm: f64 = (1..10)
        .map(|i| sae.w_enc.row(i).dot(&sae.w_enc.row(i)).sqrt())
        .sum::<f64>()
        / 9.0;
    let moved = sae
        .resample(&[0], y.view(), 0.2, &mut rng_from_seed(3))
        .unwrap();
    assert_eq!(moved, vec![0]);
    let d = sae.w_dec.column(0).to_owned();
    assert!((d.dot(&d) - 1.0).abs() < 1e-12);
    // the decoder column is one of the (centred, normalized) samples
    let hit = y.columns().into_iter().any(|c| {
        let v = &c - &sae.b_dec;
        (&v / v.dot(&v).sqrt() - &d).iter().all(|x| x.abs() < 1e-12)
    });
    assert!(hit);
    let e = sae.w_enc.row(0).to_owned();
    assert!((e.dot(&e).sqrt() - 0.2 * live_norm).abs() < 1e-12);
    assert!(sae.b_enc[0].abs() < 1e-15);
    assert!(
        sae.resample(&[10], y.view(), 0.2, &mut rng_from_seed(3))
            .is_err()
    );
    // training: the 24-latent instance of the AuxK test
    let inst = InstanceSpec::new(16, 24, 4000)
        .sparsity(1)
        .dictionary(DictKind::Gaussian)
        .values(Values::NonNegUniform { a: 1.0, b: 2.0 })
        .sample(11)
        .unwrap();
    let run = |every: Option<usize>, scale: f64| {
        let mut t = SaeTrainer::new(SaeKind::TopK { k: 1 }, 24);
        t.steps = 1500;
        t.resample_every = every;
        t.resample_scale = scale;
        let (s, _) = t
            .train(inst.y.view(), 5, Schedule::Never, &mut NoObserver)
            .unwrap();
        let dead = dead_latents(&s.sae, inst.y.view()).unwrap();
        (dead, s.resampled)
    };
    let (dead_plain, none) = run(None, 0.2);
    // observed (TopK k = 1): 5 dead latents without resampling; every 250 steps with encoder scale
    // 0.2 (Bricken et al.'s, for L1 SAEs) 6 dead after 30 resamplings — a TopK latent started that
    // small rarely wins a top-k slot — 0.5: 4, 1.0: 0 (8 resampled), 2.0: 2
    let (dead_res, resampled) = run(Some(250), 1.0);
    eprintln!("dead without resampling {dead_plain}, with {dead_res} ({resampled} resampled)");
    assert_eq!(none, 0);
    assert!(
        resampled > 0 && dead_res < dead_plain,
        "{dead_plain} {dead_res} {resampled}"
    );
}

/// TopK's two selections in the kernel — one pass for k ≤ 64, a partial sort above — both equal
/// the reference, at k on either side of the switch.
#[test]
fn the_kernel_selects_like_the_reference_on_both_sides_of_its_small_k_switch() {
    use dictlab::neural::sae_kernel::{SaeWork, loss_grad_into, prepare_decoder};
    let (n, m) = (6, 90);
    for k in [64, 65, 80] {
        let mut sae = Sae::init(n, m, SaeKind::TopK { k }, 0.3, &mut rng_from_seed(1)).unwrap();
        sae.w_enc = gaussian(m, n, 2) * 0.7;
        sae.b_enc = gaussian(m, 1, 3).column(0).to_owned() * 0.2;
        let y = gaussian(n, 20, 6);
        let (loss, g) = sae.loss_grad_aux(y.view(), None).unwrap();
        let mut fast = sae.clone();
        prepare_decoder(&mut fast);
        let mut work = SaeWork::default();
        let l = loss_grad_into(&fast, y.view(), None, &mut work).unwrap();
        let h = work.grads().unwrap();
        assert!(
            (l - loss).abs() < 1e-12 * loss.abs().max(1.0),
            "k {k}: {l} vs {loss}"
        );
        assert_eq!(h.fired, g.fired, "k {k}");
        assert!(max_diff(&h.w_enc, &g.w_enc) < 1e-12, "k {k}");
        assert!(max_diff(&h.w_dec, &g.w_dec) < 1e-12, "k {k}");
        // most latents fire at these k: the selection is not trivially empty
        assert!(h.fired.iter().filter(|f| **f).count() > m / 2, "k {k}");
    }
}
