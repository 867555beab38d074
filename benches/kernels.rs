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

criterion_group!(benches, bench, bench_msp, bench_tied_ae);
criterion_main!(benches);
