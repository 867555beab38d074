use dictlab::code::{Omp, SparseCoder};
use std::time::Instant;
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let reps: usize = std::env::args().nth(2).map_or(50, |s| s.parse().unwrap());
    let method = std::env::args().nth(3).unwrap_or("omp".into());
    let a: ndarray::Array2<f64> =
        dictlab::io::read_matrix(format!("{dir}/A_true.npy"), "A").unwrap();
    let y: ndarray::Array2<f64> = dictlab::io::read_matrix(format!("{dir}/Y.npy"), "Y").unwrap();
    let k: usize = if dir.contains("medium") { 10 } else { 5 };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        let coder: Box<dyn SparseCoder> = if method == "omp" {
            Box::new(Omp::with_sparsity(k))
        } else {
            dictlab::registry::build_coder(
                "lasso",
                &[("lambda".into(), dictlab::sweep::Value::Float(0.1))],
            )
            .unwrap()
        };
        let mut best = f64::INFINITY;
        for _ in 0..reps {
            let t = Instant::now();
            let e = coder.encode(a.view(), y.view()).unwrap();
            std::hint::black_box(&e);
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{method} best {:.4} ms", best * 1e3);
    });
}
