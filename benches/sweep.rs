//! Sweep throughput and per-run overhead of the durable runner (issue 8's performance figures).
//!
//! `cargo bench --bench sweep` runs a plan of many small runs (OMP and FISTA on 16 × 32
//! instances, 64 samples) four ways: plain loops over the runs in one and in two threads (the
//! compute alone, and the machine's own 1 → 2 scaling), `run_plan` with 1 worker and with 2
//! workers (chunks written to a temporary directory).
//! It prints runs/s, the 1 → 2 worker scaling and the runner's overhead per run:
//! (1-worker wall − plain loop) / runs. Under `cargo test` (no `--bench` flag) it runs a tiny
//! version once, as a smoke test.

use dictlab::sweep::exec::run_method;
use dictlab::sweep::{Plan, RunOptions, Shard, run_plan};
use std::time::Instant;

fn plan(reps: usize) -> Plan {
    Plan::from_toml_str(&format!(
        r#"
base_seed = 1
reps = {reps}
[instance]
dim = 16
n_atoms = 32
n_samples = 64
[grid]
sparsity = [2, 3, 4, 5]
[[method]]
name = "omp"
[[method]]
name = "fista"
lambda = 0.1
"#
    ))
    .expect("plan")
}

/// The runs alone, no runner: items dealt round-robin to `threads` threads, each with its own
/// one-thread rayon pool (the machine's ceiling for the runner's scaling).
fn plain_loop(plan: &Plan, threads: usize) -> f64 {
    let items = plan.items().expect("items");
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..threads {
            let items = &items;
            s.spawn(move || {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .expect("pool");
                let mut rows = 0usize;
                for item in items.iter().skip(w).step_by(threads) {
                    let spec =
                        dictlab::instance::InstanceSpec::from_params(&item.point.0).expect("spec");
                    let inst = pool.install(|| spec.sample(item.seed)).expect("instance");
                    for m in &plan.methods {
                        rows += pool.install(|| run_method(plan, m, item, &inst)).len();
                    }
                }
                assert!(rows > 0);
            });
        }
    });
    t.elapsed().as_secs_f64()
}

fn sweep(plan: &Plan, workers: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = RunOptions {
        shard: Shard::all(),
        workers,
        ..Default::default()
    };
    let s = run_plan(plan, dir.path(), &opts).expect("sweep");
    assert_eq!(s.runs_done, plan.n_runs().expect("runs"));
    s.elapsed_s
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (reps, trials) = if bench { (100, 5) } else { (2, 1) };
    let plan = plan(reps);
    let runs = plan.n_runs().expect("runs") as f64;
    let best = |f: &dyn Fn() -> f64| (0..trials).map(|_| f()).fold(f64::INFINITY, f64::min);
    let t0 = best(&|| plain_loop(&plan, 1));
    let t0b = best(&|| plain_loop(&plan, 2));
    let t1 = best(&|| sweep(&plan, 1));
    let t2 = best(&|| sweep(&plan, 2));
    println!("sweep throughput, {runs} runs (OMP + FISTA, n=16, m=32, N=64), best of {trials}:");
    println!(
        "  plain loop, 1 thread : {:8.3} s  {:8.0} runs/s",
        t0,
        runs / t0
    );
    println!(
        "  plain loop, 2 threads: {:8.3} s  {:8.0} runs/s",
        t0b,
        runs / t0b
    );
    println!(
        "  run_plan, 1 worker   : {:8.3} s  {:8.0} runs/s",
        t1,
        runs / t1
    );
    println!(
        "  run_plan, 2 workers  : {:8.3} s  {:8.0} runs/s",
        t2,
        runs / t2
    );
    println!(
        "  scaling 1 → 2 workers: {:.2}x (the runs alone, no runner: {:.2}x)",
        t1 / t2,
        t0 / t0b
    );
    println!(
        "  runner overhead/run  : {:.3} ms (1 worker − plain loop, per run)",
        (t1 - t0) / runs * 1e3
    );
}
