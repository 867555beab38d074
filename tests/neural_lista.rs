//! LISTA / ALISTA / SLISTA: gradients against finite differences, ALISTA's analytic weight,
//! training beats ISTA at equal depth on held-out signals, bad input.

use dictlab::generate::normalize_columns;
use dictlab::iter::{NoObserver, Schedule, Termination};
use dictlab::neural::lista::{ListaDl, ListaKind, ListaNet, ListaTrainer, alista_weight};
use dictlab::neural::unrolled::{Gradient, Threshold, Unrolled};
use ndarray::Array2;
mod common;
use common::gaussian;

fn unit_dict(n: usize, m: usize, seed: u64) -> Array2<f64> {
    let mut d = gaussian(n, m, seed);
    normalize_columns(&mut d).unwrap();
    d
}

#[test]
fn parameter_gradients_match_finite_differences() {
    let d = unit_dict(5, 8, 1);
    let x = gaussian(5, 9, 2);
    for kind in [ListaKind::Slista, ListaKind::Alista, ListaKind::Lista] {
        let mut net = ListaNet::new(kind, d.view(), 0.3, 3).unwrap();
        // move off the ISTA initialization so every layer differs
        let mut p = net.to_flat();
        for (i, v) in p.iter_mut().enumerate() {
            *v *= 1.0 + 0.05 * ((i % 7) as f64 - 3.0) / 3.0;
        }
        net.set_flat(&p).unwrap();
        let (_, g) = net.loss_grad(x.view()).unwrap();
        let h = 1e-6;
        let mut err = 0.0;
        let mut scale = 0.0;
        for i in 0..p.len() {
            let (mut a, mut b) = (p.clone(), p.clone());
            a[i] += h;
            b[i] -= h;
            let mut na = net.clone();
            na.set_flat(&a).unwrap();
            let mut nb = net.clone();
            nb.set_flat(&b).unwrap();
            let num =
                (na.loss_grad(x.view()).unwrap().0 - nb.loss_grad(x.view()).unwrap().0) / (2.0 * h);
            err += (num - g[i]).powi(2);
            scale += num * num;
        }
        let rel = (err / scale).sqrt();
        assert!(rel < 1e-6, "{kind}: relative error {rel:e}");
        assert!(net.encode(x.view()).unwrap().iter().any(|v| *v != 0.0));
    }
}

#[test]
fn dictionary_gradients_match_finite_differences() {
    let d = unit_dict(5, 8, 11);
    let x = gaussian(5, 9, 12);
    for kind in [ListaKind::Ista, ListaKind::Slista, ListaKind::Lista] {
        let mut net = ListaNet::new(kind, d.view(), 0.3, 3).unwrap();
        let mut p = net.to_flat();
        for (i, v) in p.iter_mut().enumerate() {
            *v *= 1.0 + 0.05 * ((i % 5) as f64 - 2.0) / 2.0;
        }
        net.set_flat(&p).unwrap();
        let (f, _, g) = net.loss_grad_dict(x.view()).unwrap();
        assert_eq!(f, net.loss_grad(x.view()).unwrap().0);
        let h = 1e-6;
        let loss_at = |dd: &Array2<f64>| {
            let mut n2 = net.clone();
            n2.set_dict(dd.clone()).unwrap();
            n2.loss_grad(x.view()).unwrap().0
        };
        let mut err = 0.0;
        let mut scale = 0.0;
        for i in 0..5 {
            for j in 0..8 {
                let (mut a, mut b) = (d.clone(), d.clone());
                a[(i, j)] += h;
                b[(i, j)] -= h;
                let num = (loss_at(&a) - loss_at(&b)) / (2.0 * h);
                err += (num - g[(i, j)]).powi(2);
                scale += num * num;
            }
        }
        let rel = (err / scale).sqrt();
        assert!(rel < 1e-6, "{kind}: relative error {rel:e}");
    }
    // ALISTA's W depends on D: no dictionary gradient, a typed error naming the alternatives
    let net = ListaNet::new(ListaKind::Alista, d.view(), 0.3, 3).unwrap();
    let e = net.loss_grad_dict(x.view()).unwrap_err().to_string();
    assert!(e.contains("SLISTA or LISTA"), "{e}");
}

#[test]
fn ista_network_dictionary_gradient_is_unrolled_g_ae_lasso() {
    // two independent reverse passes of the same network: ListaNet (dense, per layer) and
    // neural::unrolled (sparse layers, accumulated P and q)
    let d = unit_dict(6, 10, 13);
    let x = gaussian(6, 40, 14);
    let (lambda, layers) = (0.2, 5);
    let mut net = ListaNet::new(ListaKind::Ista, d.view(), lambda, layers).unwrap();
    let alpha = 0.9 * net.layers[0].step;
    for l in &mut net.layers {
        l.step = alpha;
    }
    let (f, _, g) = net.loss_grad_dict(x.view()).unwrap();
    let un = Unrolled::new(layers, alpha, Threshold::Soft { lambda });
    let ev = un
        .gradient(d.view(), x.view(), None, Gradient::AE_LASSO)
        .unwrap();
    assert!(
        (ev.lasso - f).abs() < 1e-12 * f.abs().max(1.0),
        "{} vs {f}",
        ev.lasso
    );
    let diff = (&ev.grad - &g).iter().map(|v| v * v).sum::<f64>().sqrt();
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(diff < 1e-10 * norm, "{diff:e} vs {norm:e}");
}

#[test]
fn lista_dictionary_learning_recovers_a_planted_dictionary_from_a_near_start() {
    use dictlab::generate::Values;
    use dictlab::instance::InstanceSpec;
    use dictlab::metrics::recovery_metrics;
    let inst = InstanceSpec::new(12, 16, 3000)
        .sparsity(2)
        .values(Values::SignedUniform { a: 1.0, b: 2.0 })
        .sample(21)
        .unwrap();
    let d0 = dictlab::neural::unrolled::init_near(
        inst.dict.view(),
        0.15,
        &mut dictlab::rng::rng_from_seed(22),
    )
    .unwrap();
    let score = |d: &Array2<f64>| {
        recovery_metrics(inst.dict.view(), d.view(), 0.99)
            .unwrap()
            .recovery_score
    };
    let start = score(&d0);
    for kind in [ListaKind::Slista, ListaKind::Lista] {
        let net = ListaNet::new(kind, d0.view(), 0.2, 10).unwrap();
        let dl = ListaDl {
            steps: 1000,
            batch: 256,
            lr: 1e-3,
            lr_dict: 1e-3,
        };
        let (s, info) = dl
            .train(net, inst.y.view(), 3, Schedule::Never, &mut NoObserver)
            .unwrap();
        assert_eq!(info.termination, Termination::MaxIters);
        let end = score(&s.net.dict);
        assert!(end > 0.99 && end > start, "{kind}: {start} → {end}");
    }
}

#[test]
fn alista_weight_has_unit_diagonal_and_low_cross_correlation() {
    let d = unit_dict(10, 20, 3);
    let w = alista_weight(d.view()).unwrap();
    let k = w.t().dot(&d);
    for i in 0..20 {
        assert!((k[(i, i)] - 1.0).abs() < 1e-10);
    }
    // W minimizes ‖WᵀD‖_F under the diagonal constraint: below D itself (W = D is feasible)
    let fro = |a: &Array2<f64>| a.iter().map(|v| v * v).sum::<f64>();
    assert!(fro(&k) <= fro(&d.t().dot(&d)) + 1e-9);
}

#[test]
fn trained_networks_beat_ista_at_equal_depth_on_held_out_signals() {
    let d = unit_dict(10, 20, 4);
    let train = gaussian(10, 2000, 5);
    let test = gaussian(10, 500, 6);
    let lambda = 0.3;
    let layers = 4;
    let ista = ListaNet::new(ListaKind::Ista, d.view(), lambda, layers).unwrap();
    let f_ista = *ista.layer_objectives(test.view()).unwrap().last().unwrap();
    for kind in [ListaKind::Slista, ListaKind::Alista, ListaKind::Lista] {
        let net = ListaNet::new(kind, d.view(), lambda, layers).unwrap();
        let tr = ListaTrainer {
            steps: 400,
            batch: 128,
            lr: 3e-3,
        };
        let (s, info) = tr
            .train(net, train.view(), 7, Schedule::Never, &mut NoObserver)
            .unwrap();
        assert_eq!(info.termination, Termination::MaxIters);
        let f = *s.net.layer_objectives(test.view()).unwrap().last().unwrap();
        assert!(f < f_ista, "{kind}: {f} vs ISTA {f_ista}");
    }
}

#[test]
fn bad_input() {
    let d = unit_dict(5, 8, 1);
    let e = |r: dictlab::Result<ListaNet>| r.unwrap_err().to_string();
    assert!(e(ListaNet::new(ListaKind::Lista, d.view(), 0.0, 3)).contains("λ > 0"));
    assert!(e(ListaNet::new(ListaKind::Lista, d.view(), 0.1, 0)).contains("layers"));
    let mut z = d.clone();
    z.column_mut(2).fill(0.0);
    assert!(e(ListaNet::new(ListaKind::Slista, z.view(), 0.1, 2)).contains("zero norm"));
    let net = ListaNet::new(ListaKind::Slista, d.view(), 0.1, 2).unwrap();
    assert!(
        net.encode(gaussian(4, 3, 1).view())
            .unwrap_err()
            .to_string()
            .contains("shape")
    );
    assert_eq!(net.to_flat().len(), 2);
    assert!(net.clone().set_flat(&[1.0]).is_err());
    let tr = ListaTrainer {
        lr: -1.0,
        ..Default::default()
    };
    assert!(
        tr.train(
            net,
            gaussian(5, 10, 1).view(),
            0,
            Schedule::Never,
            &mut NoObserver
        )
        .unwrap_err()
        .to_string()
        .contains("lr")
    );
}
