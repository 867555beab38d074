//! Criterion benchmarks of the coding kernels on the anchor sizes ("small": n=64, m=128, k=5,
//! N=10 000; "medium": n=128, m=256, k=10, N=50 000 with `DICTLAB_BENCH_MEDIUM=1`), generated
//! in-process with the same law as ../shared/bench/anchors (Gaussian unit-norm atoms, exact-k
//! supports, ±U[1,2] values, σ = 0.01). Run: `cargo bench --bench kernels`.
//! Reports the GEMM rate of one FISTA iteration (2 m² N flops) next to the raw faer GEMM, and the
//! MSP iteration rate at n = 100, p = 40 000 next to its two GEMMs.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dictlab::code::{CoordinateDescent, LarsLasso, Omp, Pgm, SparseCoder};
use dictlab::prelude::*;
use std::hint::black_box;

fn problems() -> Vec<(&'static str, Instance)> {
    let mut v = vec![("small", (64, 128, 5, 10_000))];
    if std::env::var("DICTLAB_BENCH_MEDIUM").is_ok() {
        v.push(("medium", (128, 256, 10, 50_000)));
    }
    v.into_iter()
        .map(|(name, (n, m, k, nn))| {
            let inst = InstanceSpec::new(n, m, nn)
                .sparsity(k)
                .values(Values::SignedUniform { a: 1.0, b: 2.0 })
                .noise(Noise::Sigma { sigma: 0.01 })
                .sample(20240601)
                .expect("valid spec");
            (name, inst)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for (name, inst) in problems() {
        let (a, y) = (inst.dict.view(), inst.y.view());
        let k = inst.codes.column(0).iter().filter(|v| **v != 0.0).count();
        let mut g = c.benchmark_group(format!("encode_{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(y.ncols() as u64));
        g.bench_function(BenchmarkId::new("omp", k), |b| {
            b.iter(|| black_box(Omp::with_sparsity(k).encode(a, y).unwrap()))
        });
        g.bench_function(BenchmarkId::new("lars", "0.1"), |b| {
            b.iter(|| black_box(LarsLasso::new(0.1).encode(a, y).unwrap()))
        });
        g.bench_function(BenchmarkId::new("cd", "0.1"), |b| {
            b.iter(|| black_box(CoordinateDescent::new(0.1).encode(a, y).unwrap()))
        });
        g.finish();
        // GEMM-bound FISTA iteration: G (m×m) times X (m×N)
        let m = a.ncols();
        let gram = linalg::gram(a, linalg::par());
        let x = inst.codes.clone();
        let mut g = c.benchmark_group(format!("gemm_{name}"));
        g.throughput(Throughput::Elements(
            dictlab::code::pgm::iteration_flops(m, y.ncols()) as u64,
        ));
        g.bench_function("gram_times_codes", |b| {
            b.iter(|| black_box(linalg::matmul_nn(gram.view(), x.view(), linalg::par())))
        });
        g.bench_function("fista_10_iters", |b| {
            b.iter(|| black_box(Pgm::fista(0.1).max_iters(10).tol(0.0).encode(a, y).unwrap()))
        });
        g.finish();
    }
}

/// MSP at the size of Zhai et al.'s Table 2 (n = 100, p = 40 000, θ = 0.3): 10 iterations
/// (4 n² p flops each: DᵀY and Y(X∘³)ᵀ) next to the two raw GEMMs of the same shapes. The
/// throughput is in flop/s.
fn bench_msp(c: &mut Criterion) {
    use dictlab::learn::{DictionaryLearner, Init, Msp};
    let (n, p) = (100usize, 40_000usize);
    let inst = InstanceSpec::new(n, n, p)
        .bernoulli(0.3)
        .dictionary(DictKind::Orthobasis)
        .sample(7)
        .expect("valid spec");
    let y = inst.y.view();
    let mut g = c.benchmark_group("msp_n100_p40000");
    g.sample_size(10);
    g.throughput(Throughput::Elements((10 * 4 * n * n * p) as u64));
    g.bench_function("msp_10_iters", |b| {
        let msp = Msp {
            max_iters: 10,
            ..Default::default()
        };
        b.iter(|| black_box(msp.learn(y, n, &Init::Gaussian, 1).unwrap()))
    });
    g.throughput(Throughput::Elements((2 * n * n * p) as u64));
    let d = inst.dict.clone();
    let x = inst.codes.clone();
    g.bench_function("gemm_dT_y", |b| {
        b.iter(|| black_box(linalg::matmul_tn(d.view(), y, linalg::par())))
    });
    g.bench_function("gemm_y_xT", |b| {
        b.iter(|| black_box(linalg::matmul_nt(y, x.view(), linalg::par())))
    });
    g.finish();
}

/// Rangamani et al.'s tied ReLU autoencoder at Table 1's largest size (n = 50, h = 4096,
/// N = 5000): one loss + gradient evaluation is five GEMMs of 2hnN flops each, next to one raw
/// GEMM of the same shape. The throughput is in flop/s.
fn bench_tied_ae(c: &mut Criterion) {
    use dictlab::generate::Values;
    use dictlab::neural::relu_ae::loss_grad;
    let (n, h, nn) = (50usize, 4096usize, 5000usize);
    let inst = InstanceSpec::new(n, h, nn)
        .sparsity(5)
        .values(Values::NonNegUniform { a: 1.0, b: 10.0 })
        .sample(3)
        .expect("valid spec");
    let w = inst.dict.t().to_owned();
    let mut g = c.benchmark_group("tied_ae_n50_h4096_N5000");
    g.sample_size(10);
    g.throughput(Throughput::Elements((5 * 2 * h * n * nn) as u64));
    g.bench_function("loss_grad", |b| {
        b.iter(|| black_box(loss_grad(w.view(), inst.y.view(), 2.0).unwrap()))
    });
    g.throughput(Throughput::Elements((2 * h * n * nn) as u64));
    g.bench_function("gemm_w_y", |b| {
        b.iter(|| black_box(linalg::matmul_nn(w.view(), inst.y.view(), linalg::par())))
    });
    g.finish();
}

/// PUDLE-E1's training step (n = 50, m = 100, k = 5, N = 10⁴ full batch, λ = 0.2, α = 0.2):
/// the forward pass alone (g_dec) and forward + reverse (g_ae_ls) at T = 25 and 100, next to one
/// dense layer GEMM (N × m × m). Throughput is the dense-equivalent flop count of
/// `Unrolled::flops` (2m²N per forward layer, 4m²N per reverse layer); the sparse reverse pass does
/// fewer.
fn bench_unrolled(c: &mut Criterion) {
    use dictlab::generate::Values;
    use dictlab::neural::unrolled::{Gradient, Threshold, Unrolled};
    let (n, m, nn) = (50usize, 100usize, 10_000usize);
    let inst = InstanceSpec::new(n, m, nn)
        .sparsity(5)
        .values(Values::SharedSignUniform { a: 1.0, b: 2.0 })
        .sample(39)
        .expect("valid spec");
    let mut g = c.benchmark_group("unrolled_pudle_e1");
    g.sample_size(10);
    for t in [25usize, 100] {
        let model = Unrolled::new(t, 0.2, Threshold::Soft { lambda: 0.2 });
        for (name, grad) in [("g_dec", Gradient::Dec), ("g_ae_ls", Gradient::AE_LS)] {
            g.throughput(Throughput::Elements(
                model.flops(m, nn, grad != Gradient::Dec) as u64,
            ));
            g.bench_function(BenchmarkId::new(name, t), |b| {
                b.iter(|| {
                    black_box(
                        model
                            .gradient(inst.dict.view(), inst.y.view(), None, grad)
                            .unwrap(),
                    )
                })
            });
        }
    }
    let z = inst.codes.t().to_owned();
    let gm = linalg::gram(inst.dict.view(), linalg::par());
    g.throughput(Throughput::Elements((2 * m * m * nn) as u64));
    g.bench_function("gemm_layer_N_m_m", |b| {
        b.iter(|| black_box(linalg::matmul_nn(z.view(), gm.view(), linalg::par())))
    });
    g.finish();
}

/// One Adam step of a 16-layer LISTA (n = 64, m = 256, batch 256) on the Lasso objective.
fn bench_lista(c: &mut Criterion) {
    use dictlab::neural::lista::{ListaKind, ListaNet};
    let mut rng = dictlab::rng::rng_from_seed(5);
    let d = dictlab::generate::gaussian_dictionary(64, 256, &mut rng).expect("valid");
    let x = dictlab::generate::gaussian_matrix(64, 256, &mut rng);
    let mut g = c.benchmark_group("lista_n64_m256_b256");
    g.sample_size(10);
    for kind in [ListaKind::Slista, ListaKind::Lista] {
        let net = ListaNet::new(kind, d.view(), 0.1, 16).expect("valid");
        g.bench_function(BenchmarkId::new("loss_grad", kind.to_string()), |b| {
            b.iter(|| black_box(net.loss_grad(x.view()).unwrap()))
        });
    }
    g.finish();
}

/// Convolutional FISTA at the size the convolutional issue quotes alphacsc at: 10 signals × 5000
/// samples, 3 atoms of length 64, one channel, θ = 0.005, λ = 0.1 · max|Dᵀy|, to a relative duality
/// gap of 1e-6 (a side-by-side run against alphacsc and sporco is not yet in benches/compare).
fn bench_conv_fista(c: &mut Criterion) {
    use dictlab::conv::{Boundary, ConvFista, ConvSpec};
    let inst = ConvSpec::new(10, 1, 5000, 3, 64)
        .theta(0.005)
        .noise_sigma(0.01)
        .sample(3)
        .expect("valid spec");
    // λ_max ≈ max|Dᵀy| by direct correlation (all lags, edges included)
    let mut lmax: f64 = 0.0;
    for i in 0..10 {
        for k in 0..3 {
            let a = inst.atoms.index_axis(ndarray::Axis(0), k);
            let y = inst.y.index_axis(ndarray::Axis(0), i);
            let c = dictlab::conv::shift_correlation(y, a).expect("same channels");
            lmax = c.iter().fold(lmax, |m, v| m.max(v.abs()));
        }
    }
    let mut g = c.benchmark_group("conv_fista_10x5000_k3_l64");
    g.sample_size(10);
    g.bench_function("gap_1e-6", |b| {
        let coder = ConvFista::new(0.1 * lmax).tol(1e-6).max_iters(5000);
        b.iter(|| {
            black_box(
                coder
                    .encode(inst.atoms.view(), inst.y.view(), Boundary::Valid, None)
                    .unwrap(),
            )
        })
    });
    g.finish();
}

/// The streamed SAE-scale generator at SynthSAEBench's size and shape (16 384 features in 768
/// dimensions, linear firing 0.16–0.01, 128 roots with exclusive children): one minibatch of 1024 samples, codes and signals, independent firing
/// and with a rank-8 copula (issue 35's data path; samples/s = 1024 / time).
fn bench_synth_stream(c: &mut Criterion) {
    use dictlab::generate::stream::{Correlation, SynthModel, SynthSpec};
    let plain = SynthModel::new(SynthSpec::synth_sae_bench(), 1).expect("valid spec");
    let mut spec = SynthSpec::synth_sae_bench();
    spec.correlation = Some(Correlation {
        rank: 8,
        strength: 0.5,
    });
    let copula = SynthModel::new(spec, 1).expect("valid spec");
    let mut g = c.benchmark_group("synth_stream_16384x768");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1024));
    for (name, model) in [("independent", &plain), ("copula_rank8", &copula)] {
        let mut index = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                index += 1;
                black_box(model.batch(index, 1024).unwrap())
            })
        });
    }
    g.finish();
}

/// One SAE step's loss and gradients at issue 35's compute-bound size (4096 latents, 256
/// dimensions, batch 1024, TopK k = 10, on a streamed SynthSAEBench-class batch): the dense
/// reference (`Sae::loss_grad_aux`, five dense products) against the sparse kernel
/// (`sae_kernel::loss_grad_into`, one dense product, reused buffers).
fn bench_sae_step(c: &mut Criterion) {
    use dictlab::generate::stream::{SynthModel, SynthSpec};
    use dictlab::neural::sae::{Sae, SaeKind};
    use dictlab::neural::sae_kernel::{SaeWork, loss_grad_into, prepare_decoder};
    let model = SynthModel::new(SynthSpec::synth_sae_bench_at(256, 4096), 1).expect("valid spec");
    let y = model.batch(1, 1024).expect("a batch").y;
    let mut sae = Sae::init(
        256,
        4096,
        SaeKind::TopK { k: 10 },
        0.5,
        &mut dictlab::rng::rng_from_seed(2),
    )
    .expect("valid model");
    prepare_decoder(&mut sae);
    let mut g = c.benchmark_group("sae_step_4096x256_b1024");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1024));
    g.bench_function("dense_reference", |b| {
        b.iter(|| black_box(sae.loss_grad_aux(y.view(), None).unwrap()))
    });
    let mut work = SaeWork::default();
    g.bench_function("sparse_kernel", |b| {
        b.iter(|| black_box(loss_grad_into(&sae, y.view(), None, &mut work).unwrap()))
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_sae_step,
    bench_synth_stream,
    bench,
    bench_msp,
    bench_tied_ae,
    bench_unrolled,
    bench_lista,
    bench_conv_fista
);
criterion_main!(benches);
