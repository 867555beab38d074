//! The in-process sweep core: grids, seeds, tidy frames, error rows.

use dictlab::prelude::*;
use dictlab::table::column_str;

#[test]
fn grid_crosses_axes_and_couples_keys() {
    let g = Grid::new().axis("k", [1, 2, 3]).coupled(
        &["n", "m"],
        vec![vec![8.into(), 16.into()], vec![16.into(), 32.into()]],
    );
    let pts = g.points().unwrap();
    assert_eq!(pts.len(), 6);
    assert_eq!(pts[0].id(), "k=1,n=8,m=16");
    assert_eq!(pts[5].id(), "k=3,n=16,m=32");
    assert!(Grid::new().axis::<i64>("k", []).points().is_err());
    assert!(
        Grid::new()
            .coupled(&["a", "b"], vec![vec![1.into()]])
            .points()
            .is_err()
    );
    assert!(Grid::new().axis("a", [1]).axis("a", [2]).points().is_err());
}

#[test]
fn sweep_rows_are_tidy_seeded_by_identity_and_thread_independent() {
    let sweep = Sweep::new(
        Grid::new()
            .axis("k", [1, 2])
            .axis("dict", ["gaussian", "hadamard"]),
    )
    .reps(3)
    .base_seed(5);
    let f = |it: &Item| -> Result<Vec<Row>> {
        let k = it.point.usize("k")?;
        let kind = if it.point.str("dict")? == "gaussian" {
            DictKind::Gaussian
        } else {
            DictKind::IdentityHadamard
        };
        let inst = InstanceSpec::new(8, 16, 20)
            .sparsity(k)
            .dictionary(kind)
            .sample(it.seed)?;
        Ok(vec![
            Row::new("a")
                .metric("mu", inst.coherence())
                .metric("y00", inst.y[(0, 0)]),
            Row::new("b")
                .param("lambda", 0.1)
                .metric("y00", inst.y[(0, 0)]),
        ])
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| sweep.run(f).unwrap());
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| sweep.run(f).unwrap());
    assert_eq!(one.height(), 2 * 2 * 3 * 2);
    let names: Vec<String> = one
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for c in [
        "item",
        "instance",
        "rep",
        "seed",
        "method",
        "iter",
        "time_s",
        "p_inst_k",
        "p_inst_dict",
        "p_method_lambda",
        "m_mu",
        "m_y00",
        "termination",
    ] {
        assert!(names.contains(&c.to_string()), "missing {c} in {names:?}");
    }
    // identical data whatever the thread count (time_s aside)
    for c in ["item", "seed", "m_y00", "m_mu", "instance"] {
        assert!(
            one.column(c)
                .unwrap()
                .equals_missing(two.column(c).unwrap()),
            "{c}"
        );
    }
    // methods on the same item see the same instance
    let y = dictlab::table::column_f64(&one, "m_y00").unwrap();
    assert_eq!(y[0], y[1]);
    // seeds depend on (base seed, instance, rep) only
    let items = sweep.items().unwrap();
    assert_eq!(
        items[4].seed,
        derive_seed(5, &format!("{}/rep={}", items[4].instance, items[4].rep))
    );
    assert_ne!(items[0].seed, items[1].seed);
}

#[test]
fn failing_items_become_error_rows() {
    let sweep = Sweep::new(Grid::new().axis("k", [2, 40]));
    let df = sweep
        .run(|it| {
            let inst = InstanceSpec::new(8, 16, 5)
                .sparsity(it.point.usize("k")?)
                .sample(it.seed)?;
            Ok(vec![Row::new("x").metric("mu", inst.coherence())])
        })
        .unwrap();
    assert_eq!(df.height(), 2);
    let term = column_str(&df, "termination").unwrap();
    assert_eq!(term[0], "");
    assert!(
        term[1].starts_with("error: ") && term[1].contains("sparsity"),
        "{}",
        term[1]
    );
    assert!(Sweep::new(Grid::new()).reps(0).run(|_| Ok(vec![])).is_err());
}

#[test]
fn filter_eq_matches_integral_floats_and_ints_numerically() {
    use dictlab::polars::prelude::*;
    let df = df!("x" => [1.0, 2.0, 2.5], "k" => [1i64, 2, 3], "s" => ["a", "b", "c"]).unwrap();
    let h = |c: &[(&str, Value)]| dictlab::table::filter_eq(&df, c).unwrap().height();
    assert_eq!(h(&[("x", Value::Float(2.0))]), 1);
    assert_eq!(h(&[("x", Value::Int(2))]), 1);
    assert_eq!(h(&[("x", Value::Float(2.5))]), 1);
    assert_eq!(h(&[("k", Value::Float(3.0))]), 1);
    assert_eq!(h(&[("s", Value::from("b"))]), 1);
    assert_eq!(h(&[("x", Value::Float(7.0))]), 0);
}
