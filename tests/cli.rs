//! The `dictlab` binary: generate → metrics round trip and every error path.

mod common;

use common::dictlab;
use dictlab::io;
use ndarray::Array2;
use std::path::Path;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn generate_writes_arrays_and_spec_and_metrics_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("inst");
    let (rc, stdout, stderr) = dictlab(&[
        "generate",
        "--dim",
        "16",
        "--atoms",
        "32",
        "--sparsity",
        "3",
        "--samples",
        "100",
        "--coherence",
        "0.5",
        "--seed",
        "3",
        "--out",
        p(&out),
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let a = io::read_matrix(out.join("A.npy"), "A").unwrap();
    let x = io::read_matrix(out.join("X.npy"), "X").unwrap();
    let y = io::read_matrix(out.join("Y.npy"), "Y").unwrap();
    assert_eq!(
        (a.dim(), x.dim(), y.dim()),
        ((16, 32), (32, 100), (16, 100))
    );
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("spec.json")).unwrap()).unwrap();
    assert!(spec["coherence"].as_f64().unwrap() <= 0.5 * 1.02);
    assert_eq!(spec["seed"], 3);
    assert!(stdout.contains("\"coherence\""));
    // same seed → same bytes
    let out2 = dir.path().join("inst2");
    dictlab(&[
        "generate",
        "--dim",
        "16",
        "--atoms",
        "32",
        "--sparsity",
        "3",
        "--samples",
        "100",
        "--coherence",
        "0.5",
        "--seed",
        "3",
        "--out",
        p(&out2),
    ]);
    assert_eq!(
        std::fs::read(out.join("Y.npy")).unwrap(),
        std::fs::read(out2.join("Y.npy")).unwrap()
    );

    let (rc, stdout, stderr) = dictlab(&[
        "metrics",
        "--truth",
        p(&out.join("A.npy")),
        "--estimate",
        p(&out.join("A.npy")),
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let m: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    for key in [
        "recovery_score",
        "recovery_rate",
        "max_sine_dist",
        "columnwise_dist",
        "fro_dist_perm",
        "fro_dist",
        "amari_index",
        "l4_error",
    ] {
        assert!(m.get(key).is_some(), "missing {key} in {stdout}");
    }
    assert!((m["recovery_score"].as_f64().unwrap() - 1.0).abs() < 1e-12);
}

#[test]
fn other_generator_flags() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec![
            "--dictionary",
            "identity-hadamard",
            "--dim",
            "8",
            "--atoms",
            "16",
            "--theta",
            "0.2",
            "--values",
            "rademacher",
        ],
        vec![
            "--dictionary",
            "steiner-etf",
            "--dim",
            "6",
            "--atoms",
            "16",
            "--values",
            "shared-sign-uniform",
            "--snr-db",
            "20",
        ],
        vec![
            "--dictionary",
            "near-duplicates",
            "--pair-cos",
            "0.95",
            "--dim",
            "8",
            "--atoms",
            "16",
            "--zipf",
            "1.0",
            "--noise-sigma",
            "0.1",
        ],
    ] {
        let out = dir.path().join(args[1]);
        let mut all = vec!["generate", "--samples", "20", "--out", p(&out)];
        all.extend(args.iter());
        let (rc, _, stderr) = dictlab(&all);
        assert_eq!(rc, 0, "{args:?}: {stderr}");
        assert!(out.join("Y.npy").exists());
    }
}

#[test]
fn error_paths_exit_2_with_a_message_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("o");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "generate",
                "--dim",
                "8",
                "--atoms",
                "16",
                "--sparsity",
                "20",
                "--samples",
                "5",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            "k ≤ the number of atoms",
        ),
        (
            vec!["generate", "--dim", "0", "--atoms", "16", "--samples", "5"]
                .into_iter()
                .map(String::from)
                .collect(),
            "dim = 0: expected an integer ≥ 1",
        ),
        (
            vec![
                "generate",
                "--dim",
                "16",
                "--atoms",
                "64",
                "--coherence",
                "0.05",
                "--samples",
                "5",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            "Welch bound",
        ),
        (
            vec![
                "generate",
                "--dim",
                "8",
                "--atoms",
                "16",
                "--theta",
                "1.5",
                "--samples",
                "5",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            "θ in [0, 1]",
        ),
        (
            vec![
                "generate",
                "--dim",
                "8",
                "--atoms",
                "16",
                "--values",
                "nonneg-uniform",
                "--value-low",
                "-1",
                "--samples",
                "5",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            "a ≥ 0",
        ),
    ];
    for (mut args, needle) in cases {
        args.extend(["--out".to_string(), p(&out).to_string()]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (rc, _, stderr) = dictlab(&a);
        assert_eq!(rc, 2, "{args:?}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // metrics: unreadable file, NaN, wrong shape (sklearn transpose), wrong dtype
    let a = Array2::<f64>::eye(4);
    io::write_matrix(d.join("a.npy"), &a).unwrap();
    let mut nan = a.clone();
    nan[(2, 3)] = f64::NAN;
    io::write_matrix(d.join("nan.npy"), &nan).unwrap();
    io::write_matrix(d.join("t.npy"), &Array2::<f64>::ones((5, 4))).unwrap();
    std::fs::write(
        d.join("i8.npy"),
        common::npy_bytes("<i8", "(4, 4)", false, 128, 0),
    )
    .unwrap();
    std::fs::write(d.join("junk.npy"), b"not an npy file").unwrap();
    for (est, needle) in [
        ("missing.npy", "cannot read"),
        ("nan.npy", "non-finite"),
        ("t.npy", "transpose"),
        ("i8.npy", "float64"),
        ("junk.npy", "cannot read"),
    ] {
        let (rc, _, stderr) = dictlab(&[
            "metrics",
            "--truth",
            p(&d.join("a.npy")),
            "--estimate",
            p(&d.join(est)),
        ]);
        assert_eq!(rc, 2, "{est}");
        assert!(stderr.contains(needle), "{est}: {stderr}");
    }
}

#[test]
fn encode_round_trip_with_truth_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inst = dictlab::InstanceSpec::new(64, 128, 50)
        .sparsity(3)
        .dictionary(dictlab::DictKind::IdentityHadamard)
        .values(dictlab::generate::Values::SignedUniform { a: 1.0, b: 2.0 })
        .sample(1)
        .unwrap();
    io::write_matrix(d.join("A.npy"), &inst.dict).unwrap();
    io::write_matrix(d.join("Y.npy"), &inst.y).unwrap();
    io::write_matrix(d.join("X.npy"), &inst.codes).unwrap();
    let (a, y, x, out) = (
        d.join("A.npy"),
        d.join("Y.npy"),
        d.join("X.npy"),
        d.join("out.npy"),
    );
    let (rc, stdout, stderr) = dictlab(&[
        "encode",
        "--dict",
        p(&a),
        "--signals",
        p(&y),
        "--method",
        "omp",
        "--sparsity",
        "3",
        "--out",
        p(&out),
        "--truth",
        p(&x),
        "--threads",
        "2",
        "--repeat",
        "3",
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let m: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(m["support_exact"].as_f64(), Some(1.0), "{stdout}");
    assert_eq!(m["repeat"].as_u64(), Some(3), "{stdout}");
    assert_eq!(io::read_matrix(&out, "X").unwrap().dim(), (128, 50));
    for method in ["lasso", "fista", "ista", "cd", "lars"] {
        let (rc, stdout, stderr) = dictlab(&[
            "encode",
            "--dict",
            p(&a),
            "--signals",
            p(&y),
            "--method",
            method,
            "--lambda",
            "0.05",
            "--out",
            p(&out),
            "--truth",
            p(&x),
        ]);
        assert_eq!(rc, 0, "{method}: {stderr}");
        let m: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(
            m["support_recall"].as_f64().unwrap() > 0.99,
            "{method}: {stdout}"
        );
    }
    for (args, needle) in [
        (vec!["--method", "lasso"], "--lambda"),
        (vec!["--method", "omp"], "--sparsity"),
        (
            vec!["--method", "omp", "--sparsity", "200"],
            "k ≤ min(n, m)",
        ),
        (
            vec!["--method", "fista", "--lambda", "0"],
            "fista.lambda = 0: expected a finite number > 0",
        ),
        (
            vec!["--method", "omp", "--sparsity", "3", "--repeat", "0"],
            "--repeat ≥ 1",
        ),
    ] {
        let mut all = vec![
            "encode",
            "--dict",
            p(&a),
            "--signals",
            p(&y),
            "--out",
            p(&out),
        ];
        all.extend(args.iter());
        let (rc, _, stderr) = dictlab(&all);
        assert_eq!(rc, 2, "{args:?}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // signals in scikit-learn's layout (N × n) are refused with a hint
    io::write_matrix(d.join("Yt.npy"), &inst.y.t().to_owned()).unwrap();
    let (rc, _, stderr) = dictlab(&[
        "encode",
        "--dict",
        p(&a),
        "--signals",
        p(&d.join("Yt.npy")),
        "--method",
        "omp",
        "--sparsity",
        "3",
        "--out",
        p(&out),
    ]);
    assert_eq!(rc, 2);
    assert!(stderr.contains("shape mismatch"), "{stderr}");
}

#[test]
fn learn_every_method_writes_a_dictionary_and_reports_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inst = dictlab::InstanceSpec::new(16, 32, 2000)
        .sparsity(2)
        .values(dictlab::generate::Values::SignedUniform { a: 1.0, b: 2.0 })
        .sample(4)
        .unwrap();
    io::write_matrix(d.join("A.npy"), &inst.dict).unwrap();
    io::write_matrix(d.join("Y.npy"), &inst.y).unwrap();
    // start at columnwise distance 0.5 from the truth (local convergence, as in the paper tests)
    let d0 = dictlab::learn::Init::NearTruth {
        truth: inst.dict.clone(),
        dist: 0.5,
    }
    .build(inst.y.view(), 32, &mut dictlab::rng::rng_from_seed(2))
    .unwrap();
    io::write_matrix(d.join("D0.npy"), &d0).unwrap();
    let (a, y, out, trace, d0) = (
        d.join("A.npy"),
        d.join("Y.npy"),
        d.join("D.npy"),
        d.join("trace.csv"),
        d.join("D0.npy"),
    );
    for method in ["mod", "ksvd", "aksvd", "bcd", "online"] {
        let (rc, stdout, stderr) = dictlab(&[
            "learn",
            "--signals",
            p(&y),
            "--atoms",
            "32",
            "--method",
            method,
            "--sparsity",
            "2",
            "--out",
            p(&out),
            "--truth",
            p(&a),
            "--seed",
            "3",
            "--threads",
            "2",
            "--target-rate",
            "0.95",
            "--trace",
            p(&trace),
            "--init-dict",
            p(&d0),
        ]);
        assert_eq!(rc, 0, "{method}: {stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let rate = v["recovery"]["recovery_rate"].as_f64().unwrap();
        assert!(rate >= 0.95, "{method}: {stdout}");
        assert!(
            v["time_to_target_s"].as_f64().is_some(),
            "{method}: {stdout}"
        );
        let dict: Array2<f64> = io::read_matrix(&out, "D").unwrap();
        assert_eq!(dict.dim(), (16, 32));
        assert!(
            std::fs::read_to_string(&trace)
                .unwrap()
                .contains("recovery_rate")
        );
        assert!(
            stderr.contains("recovery_rate@0.99"),
            "progress lines: {stderr}"
        );
    }
    // the theory-driven methods run and report (recovery is tested in tests/learners_online.rs)
    // (only the flags each method takes: a flag that does not apply is refused)
    for (method, flags) in [
        ("altmin", vec!["--iters", "2"]),
        ("arora", vec!["--epochs", "1"]),
        ("noodl", vec!["--epochs", "1"]),
    ] {
        let mut args = vec![
            "learn",
            "--signals",
            p(&y),
            "--atoms",
            "32",
            "--method",
            method,
            "--out",
            p(&out),
            "--truth",
            p(&a),
        ];
        args.extend(flags);
        let (rc, stdout, stderr) = dictlab(&args);
        assert_eq!(rc, 0, "{method}: {stderr}");
        assert!(stdout.contains("\"recovery\""), "{method}: {stdout}");
    }
    // errors name the fix
    let (rc, _, stderr) = dictlab(&[
        "learn",
        "--signals",
        p(&y),
        "--atoms",
        "32",
        "--method",
        "online",
        "--out",
        p(&out),
    ]);
    assert_eq!(rc, 2);
    assert!(stderr.contains("--sparsity"), "{stderr}");
    let (rc, _, stderr) = dictlab(&[
        "learn",
        "--signals",
        p(&y),
        "--atoms",
        "5000",
        "--method",
        "mod",
        "--sparsity",
        "2",
        "--out",
        p(&out),
    ]);
    assert_eq!(rc, 2);
    assert!(stderr.contains("samples"), "{stderr}");
}

#[test]
fn learn_msp_and_l4() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, y, out) = (d.join("A.npy"), d.join("Y.npy"), d.join("D.npy"));
    // square: MSP recovers an orthobasis
    let inst = dictlab::InstanceSpec::new(12, 12, 4000)
        .bernoulli(0.3)
        .dictionary(dictlab::DictKind::Orthobasis)
        .sample(5)
        .unwrap();
    io::write_matrix(&a, &inst.dict).unwrap();
    io::write_matrix(&y, &inst.y).unwrap();
    let args = |method: &'static str, atoms: &'static str| {
        vec![
            "learn".to_string(),
            "--signals".into(),
            p(&y).into(),
            "--atoms".into(),
            atoms.into(),
            "--method".into(),
            method.into(),
            "--out".into(),
            p(&out).into(),
            "--truth".into(),
            p(&a).into(),
        ]
    };
    let run = |v: &[String]| dictlab(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let (rc, stdout, stderr) = run(&args("msp", "12"));
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        v["recovery"]["l4_error"].as_f64().unwrap() < 2e-2,
        "{stdout}"
    );
    assert_eq!(
        v["recovery"]["recovery_rate"].as_f64().unwrap(),
        1.0,
        "{stdout}"
    );
    // MSP refuses m ≠ n and names the overcomplete method
    let (rc, _, stderr) = run(&args("msp", "24"));
    assert_eq!(rc, 2);
    assert!(stderr.contains("--method l4"), "{stderr}");
    // l4 on the same square problem (K = 1): every atom from random starts
    let mut l4 = args("l4", "12");
    l4.extend([
        "--theta".into(),
        "0.3".into(),
        "--sphere-solver".into(),
        "rgd".into(),
    ]);
    let (rc, stdout, stderr) = run(&l4);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["recovery"]["recovery_rate"].as_f64().unwrap(),
        1.0,
        "{stdout}"
    );
    assert!(v["method"].as_str().unwrap().starts_with("l4["), "{stdout}");
    let mut bad = args("l4", "12");
    bad.extend(["--theta".into(), "1.5".into()]);
    let (rc, _, stderr) = run(&bad);
    assert_eq!(rc, 2);
    assert!(stderr.contains("theta"), "{stderr}");
}

/// Every learner of the registry runs from the command line (tiny budgets, from near the truth),
/// with its parameters as flags or `-p KEY=VALUE`, and reports its recovery.
#[test]
fn every_registry_learner_runs_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inst = dictlab::InstanceSpec::new(8, 8, 400)
        .sparsity(2)
        .values(dictlab::generate::Values::NonNegUniform { a: 1.0, b: 2.0 })
        .sample(5)
        .unwrap();
    io::write_matrix(d.join("A.npy"), &inst.dict).unwrap();
    io::write_matrix(d.join("Y.npy"), &inst.y).unwrap();
    let (a, y, out) = (d.join("A.npy"), d.join("Y.npy"), d.join("D.npy"));
    let budget: &[(&str, &[&str])] = &[
        ("mod", &["--sparsity", "2", "--iters", "3"]),
        ("bcd", &["--sparsity", "2", "--iters", "3"]),
        ("ksvd", &["--sparsity", "2", "--iters", "3"]),
        ("aksvd", &["--sparsity", "2", "--iters", "3"]),
        ("online", &["--sparsity", "2", "--epochs", "1"]),
        ("altmin", &["--iters", "3"]),
        ("arora", &["--epochs", "1"]),
        ("noodl", &["--epochs", "1"]),
        ("msp", &["--iters", "5"]),
        (
            "l4",
            &[
                "--theta", "0.25", "--iters", "5", "--starts", "4", "--rounds", "1",
            ],
        ),
        ("relu_ae", &["--sparsity", "2", "-p", "iters=5"]),
        (
            "sae",
            &["--sparsity", "2", "-p", "steps=5", "-p", "kind=topk"],
        ),
        (
            "unrolled",
            &["-p", "steps=3", "-p", "lambda=0.1", "-p", "layers=3"],
        ),
        (
            "lista_dl",
            &["-p", "steps=3", "-p", "lambda=0.1", "-p", "layers=3"],
        ),
    ];
    // the learners above run with hand-picked flags (the common flags are aliases of -p); any
    // other registry learner runs with a small budget read from its spec, so a new learner is
    // covered without a line here
    let learners: Vec<&dictlab::registry::Method> = dictlab::registry::METHODS
        .iter()
        .filter(|m| matches!(m.kind(), dictlab::registry::Kind::Learner))
        .collect();
    assert!(learners.len() >= budget.len());
    let generic: Vec<(&str, Vec<String>)> = learners
        .iter()
        .filter(|m| !budget.iter().any(|b| b.0 == m.name()))
        .map(|m| {
            let mut flags = vec![];
            for p in m.params() {
                let small = match p.key {
                    "iters" | "steps" | "layers" | "rounds" | "starts" => Some("3".to_string()),
                    "epochs" => Some("1".to_string()),
                    "sparsity" => Some("2".to_string()),
                    _ if p.default == dictlab::spec::Dflt::Required => Some("0.1".to_string()),
                    _ => None,
                };
                if let Some(v) = small {
                    flags.push("-p".to_string());
                    flags.push(format!("{}={v}", p.key));
                }
            }
            (m.name(), flags)
        })
        .collect();
    let generic_refs: Vec<(&str, Vec<&str>)> = generic
        .iter()
        .map(|(n, f)| (*n, f.iter().map(String::as_str).collect()))
        .collect();
    let all = budget
        .iter()
        .map(|(n, f)| (*n, f.to_vec()))
        .chain(generic_refs);
    let mut ran = 0;
    for (name, flags) in all {
        ran += 1;
        let method = name.replace('_', "-");
        let mut args = vec![
            "learn",
            "--signals",
            p(&y),
            "--atoms",
            "8",
            "--method",
            &method,
            "--out",
            p(&out),
            "--truth",
            p(&a),
            "--init",
            "near",
            "--init-dist",
            "0.2",
        ];
        args.extend(flags.iter());
        let (rc, stdout, stderr) = dictlab(&args);
        assert_eq!(rc, 0, "{name}: {stderr}");
        assert!(stdout.contains("\"recovery\""), "{name}: {stdout}");
    }
    assert_eq!(ran, learners.len(), "every registry learner ran");
    let (rc, stdout, _) = dictlab(&["methods", "sae"]);
    assert_eq!(rc, 0);
    assert!(
        stdout.contains("steps") && stdout.contains("theta0"),
        "{stdout}"
    );
}

/// `dictlab conv learn -p rank1=true` on a rank-1 multichannel problem: the learner started near
/// the planted atoms recovers them, writes the patterns u and waveforms v beside the atoms
/// (`Dh_u.npy`, `Dh_v.npy`) and scores them separately; `-p batch=` runs the online variant.
#[test]
fn conv_learn_rank1_and_online() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("r1");
    let (rc, _, stderr) = dictlab(&[
        "conv",
        "generate",
        "--signals",
        "8",
        "--channels",
        "3",
        "--rank1",
        "--times",
        "300",
        "--atoms",
        "2",
        "--atom-len",
        "12",
        "--theta",
        "0.01",
        "--values",
        "nonneg",
        "--min-spacing",
        "12",
        "--noise-sigma",
        "0.01",
        "--seed",
        "6",
        "--out",
        p(&inst),
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let d = dictlab::io::read_array3(inst.join("D.npy"), "atoms").unwrap();
    let mut d0 = d.clone();
    d0.iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v += 0.1 * ((i * 7919 % 13) as f64 / 6.0 - 1.0));
    dictlab::io::write_array3(dir.path().join("D0.npy"), &d0).unwrap();
    let (yp, d0p, dp) = (
        inst.join("Y.npy"),
        dir.path().join("D0.npy"),
        inst.join("D.npy"),
    );
    let dh = dir.path().join("Dh.npy");
    let common = [
        "conv",
        "learn",
        "--signals",
        p(&yp),
        "--atoms",
        "2",
        "--atom-len",
        "12",
        "--init-dict",
        p(&d0p),
        "--truth",
        p(&dp),
        "-p",
        "reg=0.05",
        "-p",
        "nonneg=true",
    ];
    let mut args = common.to_vec();
    args.extend(["-p", "rank1=true", "--out", p(&dh)]);
    let (rc, stdout, stderr) = dictlab(&args);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        v["method"].as_str().unwrap().contains("rank1=true"),
        "{stdout}"
    );
    assert!(
        v["recovery"]["recovery_rate"].as_f64().unwrap() >= 1.0,
        "{stdout}"
    );
    for part in ["u_score", "v_score"] {
        let s = v["recovery"][part].as_array().unwrap();
        assert!(
            s.iter().all(|x| x.as_f64().unwrap() >= 0.99),
            "{part}: {stdout}"
        );
    }
    let u = dictlab::io::read_matrix(dir.path().join("Dh_u.npy"), "u").unwrap();
    let vv = dictlab::io::read_matrix(dir.path().join("Dh_v.npy"), "v").unwrap();
    assert_eq!((u.dim(), vv.dim()), ((2, 3), (2, 12)));
    // the online variant: minibatches of 3 of the 8 signals
    let mut args = common.to_vec();
    let dho = dir.path().join("Dho.npy");
    args.extend([
        "-p",
        "batch=3",
        "-p",
        "tol=0",
        "-p",
        "iters=60",
        "--out",
        p(&dho),
    ]);
    let (rc, stdout, stderr) = dictlab(&args);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        v["method"].as_str().unwrap().contains("batch=3"),
        "{stdout}"
    );
    assert!(
        v["recovery"]["recovery_rate"].as_f64().unwrap() >= 1.0,
        "{stdout}"
    );
}

/// `dictlab conv generate | encode | learn` end to end on 3-D .npy files: the coder finds the
/// planted events, the learner started near the planted atoms recovers them up to shift, and
/// careless input gets an error that names the fix.
#[test]
fn conv_generate_encode_learn_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("conv");
    let (rc, stdout, stderr) = dictlab(&[
        "conv",
        "generate",
        "--signals",
        "6",
        "--times",
        "300",
        "--atoms",
        "2",
        "--atom-len",
        "12",
        "--theta",
        "0.01",
        "--values",
        "nonneg",
        "--min-spacing",
        "12",
        "--noise-sigma",
        "0.01",
        "--seed",
        "4",
        "--out",
        p(&inst),
    ]);
    assert_eq!(rc, 0, "{stderr}");
    assert!(stdout.contains("shift_coherence"), "{stdout}");
    let d = dictlab::io::read_array3(inst.join("D.npy"), "atoms").unwrap();
    let z = dictlab::io::read_array3(inst.join("Z.npy"), "acts").unwrap();
    let y = dictlab::io::read_array3(inst.join("Y.npy"), "signals").unwrap();
    assert_eq!(
        (d.dim(), z.dim(), y.dim()),
        ((2, 1, 12), (6, 2, 289), (6, 1, 300))
    );
    for method in ["conv_fista", "conv_lgcd"] {
        let zh = dir.path().join(format!("{method}.npy"));
        let (rc, stdout, stderr) = dictlab(&[
            "conv",
            "encode",
            "--method",
            method,
            "--dict",
            p(&inst.join("D.npy")),
            "--signals",
            p(&inst.join("Y.npy")),
            "--reg",
            "0.05",
            "-p",
            "nonneg=true",
            "--truth",
            p(&inst.join("Z.npy")),
            "--out",
            p(&zh),
        ]);
        assert_eq!(rc, 0, "{method}: {stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert!(
            v["activations"]["recall"].as_f64().unwrap() >= 0.95,
            "{method}: {stdout}"
        );
    }
    // ADMM solves the circular problem only, and says so on the valid one
    let za = dir.path().join("conv_admm.npy");
    let (dpath, ypath) = (inst.join("D.npy"), inst.join("Y.npy"));
    let mut args = vec![
        "conv",
        "encode",
        "--method",
        "conv_admm",
        "--dict",
        p(&dpath),
        "--signals",
        p(&ypath),
        "--reg",
        "0.05",
        "-p",
        "nonneg=true",
        "--out",
        p(&za),
    ];
    let (rc, _, stderr) = dictlab(&args);
    assert_ne!(rc, 0);
    assert!(stderr.contains("conv_fista or conv_lgcd"), "{stderr}");
    args.extend(["--boundary", "circular"]);
    let (rc, stdout, stderr) = dictlab(&args);
    assert_eq!(rc, 0, "{stderr}");
    assert!(stdout.contains("objective"), "{stdout}");
    let zh = dictlab::io::read_array3(&za, "acts").unwrap();
    assert_eq!(zh.dim(), (6, 2, 300));
    // a start near the planted atoms
    let mut d0 = d.clone();
    d0.iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v += 0.15 * ((i * 7919 % 13) as f64 / 6.0 - 1.0));
    dictlab::io::write_array3(dir.path().join("D0.npy"), &d0).unwrap();
    let (rc, stdout, stderr) = dictlab(&[
        "conv",
        "learn",
        "--signals",
        p(&inst.join("Y.npy")),
        "--atoms",
        "2",
        "--atom-len",
        "12",
        "--init-dict",
        p(&dir.path().join("D0.npy")),
        "--truth",
        p(&inst.join("D.npy")),
        "-p",
        "reg=0.05",
        "-p",
        "nonneg=true",
        "--out",
        p(&dir.path().join("Dh.npy")),
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        v["recovery"]["recovery_rate"].as_f64().unwrap() >= 1.0,
        "{stdout}"
    );
    // careless input
    let (yp, dp, bad) = (
        inst.join("Y.npy"),
        inst.join("D.npy"),
        dir.path().join("bad"),
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "conv",
                "learn",
                "--signals",
                p(&yp),
                "--atoms",
                "2",
                "--atom-len",
                "400",
                "--out",
                "x.npy",
            ],
            "L ≤ T",
        ),
        (
            vec![
                "conv",
                "learn",
                "--signals",
                p(&yp),
                "--atoms",
                "2",
                "--atom-len",
                "12",
                "-p",
                "reg=2",
                "--out",
                "x.npy",
            ],
            "(0, 1)",
        ),
        (
            vec![
                "conv",
                "encode",
                "--dict",
                p(&dp),
                "--signals",
                p(&yp),
                "--out",
                "x.npy",
            ],
            "--reg",
        ),
        (
            vec![
                "conv",
                "generate",
                "--signals",
                "2",
                "--times",
                "50",
                "--atoms",
                "2",
                "--atom-len",
                "5",
                "--theta",
                "1.5",
                "--out",
                p(&bad),
            ],
            "(0, 1]",
        ),
    ];
    for (args, needle) in cases {
        let (rc, _, stderr) = dictlab(&args);
        assert_ne!(rc, 0, "{args:?}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // a 2-D array where a 3-D one is expected: the error says how to add the channel axis
    let flat = dir.path().join("flat.npy");
    dictlab::io::write_matrix(&flat, &Array2::zeros((3, 50))).unwrap();
    let (rc, _, stderr) = dictlab(&[
        "conv",
        "encode",
        "--dict",
        p(&inst.join("D.npy")),
        "--signals",
        p(&flat),
        "--reg",
        "0.1",
        "--out",
        p(&dir.path().join("x.npy")),
    ]);
    assert_ne!(rc, 0);
    assert!(stderr.contains("a[:, None, :]"), "{stderr}");
}

/// `--family coherence` plants atoms at a target shift coherence, and a target below what the
/// atoms can reach is refused with the bound and the fix.
#[test]
fn conv_generate_hits_a_target_shift_coherence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let base = [
        "conv",
        "generate",
        "--signals",
        "2",
        "--times",
        "200",
        "--atoms",
        "4",
        "--atom-len",
        "16",
        "--family",
        "coherence",
        "--seed",
        "2",
        "--out",
        p(&out),
    ];
    let (rc, stdout, stderr) = dictlab(&[&base[..], &["--target-mu", "0.35"]].concat());
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mu = v["shift_coherence"].as_f64().unwrap();
    assert!(mu <= 0.35, "{stdout}");
    let (rc, _, stderr) = dictlab(&[&base[..], &["--target-mu", "0.01"]].concat());
    assert_ne!(rc, 0);
    assert!(stderr.contains("raise the target"), "{stderr}");
}

/// Images end to end: `conv generate --rows` writes 4-D arrays, `conv encode` codes them with
/// FISTA and finds the planted activations, `conv learn` (FISTA + CCMOD) recovers planted atoms
/// from a perturbed start written as 4-D, and the 1-D-only settings are refused naming the fix.
#[test]
fn conv_images_generate_encode_learn() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("img");
    let f = |name: &str| out.join(name).display().to_string();
    let (fd, fy, fz, fzh, fd0, fdh, fd3, fz3) = (
        f("D.npy"),
        f("Y.npy"),
        f("Z.npy"),
        f("Zhat.npy"),
        f("D0.npy"),
        f("Dhat.npy"),
        f("D3.npy"),
        f("Z3.npy"),
    );
    let (rc, stdout, stderr) = dictlab(&[
        "conv",
        "generate",
        "--signals",
        "6",
        "--times",
        "24",
        "--rows",
        "24",
        "--atoms",
        "3",
        "--atom-len",
        "5",
        "--theta",
        "0.01",
        "--values",
        "nonneg",
        "--boundary",
        "circular",
        "--noise-sigma",
        "0.01",
        "--seed",
        "21",
        "--out",
        p(&out),
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["shapes"]["D"], serde_json::json!([3, 1, 5, 5]));
    assert_eq!(v["shapes"]["Y"], serde_json::json!([6, 1, 24, 24]));
    let d = dictlab::io::read_conv_array(out.join("D.npy"), "atoms").unwrap();
    assert_eq!((d.0.dim(), d.1), ((3, 1, 25), Some((5, 5))));
    let (rc, stdout, stderr) = dictlab(&[
        "conv",
        "encode",
        "--dict",
        &fd,
        "--signals",
        &fy,
        "--boundary",
        "circular",
        "--reg",
        "0.05",
        "-p",
        "nonneg=true",
        "--truth",
        &fz,
        "--out",
        &fzh,
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        v["activations"]["recall"].as_f64().unwrap() >= 0.95,
        "{stdout}"
    );
    let z = dictlab::io::read_conv_array(out.join("Zhat.npy"), "activations").unwrap();
    assert_eq!(z.1, Some((24, 24)));
    // a perturbed start, written as 4-D
    let mut d0 = d.0.clone();
    for (i, x) in d0.iter_mut().enumerate() {
        *x += 0.1 * ((i * 7919) % 13) as f64 / 13.0 - 0.05;
    }
    dictlab::io::write_conv_array(out.join("D0.npy"), &d0, Some(5)).unwrap();
    let learn = |extra: &[&str]| {
        let mut args = vec![
            "conv",
            "learn",
            "--signals",
            &fy,
            "--atoms",
            "3",
            "--atom-len",
            "5",
            "--boundary",
            "circular",
            "--init-dict",
            &fd0,
            "--truth",
            &fd,
            "--out",
            &fdh,
        ];
        args.extend_from_slice(extra);
        dictlab(&args)
    };
    let (rc, stdout, stderr) = learn(&[
        "-p",
        "d_solver=ccmod",
        "-p",
        "csc=fista",
        "-p",
        "nonneg=true",
        "-p",
        "reg=0.05",
        "-p",
        "iters=60",
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["recovery"]["recovery_rate"].as_f64(),
        Some(1.0),
        "{stdout}"
    );
    assert!(v["recovery"]["matched_lag_row"].is_array(), "{stdout}");
    let dh = dictlab::io::read_conv_array(out.join("Dhat.npy"), "atoms").unwrap();
    assert_eq!(dh.1, Some((5, 5)));
    std::fs::remove_file(out.join("Dhat.npy")).unwrap();
    let (rc, _, stderr) = learn(&[]);
    assert_ne!(rc, 0);
    assert!(
        stderr.contains("-p d_solver=ccmod -p csc=fista"),
        "{stderr}"
    );
    // atoms 3-D with images 4-D: refused
    dictlab::io::write_array3(out.join("D3.npy"), &d.0).unwrap();
    let (rc, _, stderr) = dictlab(&[
        "conv",
        "encode",
        "--dict",
        &fd3,
        "--signals",
        &fy,
        "--lambda",
        "0.1",
        "--out",
        &fz3,
    ]);
    assert_ne!(rc, 0);
    assert!(stderr.contains("both 4-D"), "{stderr}");
}

/// `dictlab sae synth | train`: a small streamed model, a TopK SAE and the online learner trained
/// on its batches and evaluated on fresh ones (metrics, hierarchy scores, throughput, memory as
/// JSON; the decoder as .npy), and careless inputs refused naming the fix.
#[test]
fn sae_synth_and_train_on_a_streamed_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let m = model.display().to_string();
    let (rc, stdout, stderr) = dictlab(&[
        "sae",
        "synth",
        "--out",
        &m,
        "--dim",
        "16",
        "--features",
        "256",
        "--seed",
        "3",
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // the rescaled hierarchy: 2 roots with 127 children each
    assert_eq!(v["spec"]["hierarchy"]["roots"], 2, "{stdout}");
    assert!(model.join("dictionary.npy").exists() && model.join("model.json").exists());
    let d = dir.path().join("D.npy").display().to_string();
    let (rc, stdout, stderr) = dictlab(&[
        "sae",
        "train",
        "--model",
        &m,
        "-p",
        "steps=30",
        "-p",
        "batch=64",
        "-p",
        "aux_k=4",
        "--eval-batches",
        "2",
        "--eval-batch",
        "64",
        "--out",
        &d,
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["steps"], 30, "{stdout}");
    let score = v["eval"]["recovery_score"].as_f64().unwrap();
    assert!(score > 0.0 && score <= 1.0, "{stdout}");
    assert!(v["samples_per_second"].as_f64().unwrap() > 0.0);
    assert!(
        v["hierarchy"]["counts"]["with_child"].as_u64().unwrap() > 0,
        "{stdout}"
    );
    assert_eq!(v["trace"].as_array().unwrap().len(), 30, "{stdout}"); // every max(30 / 20, 1) = 1 step
    let a = dictlab::io::read_matrix(dir.path().join("D.npy"), "decoder").unwrap();
    assert_eq!(a.dim(), (16, 256));
    // the online learner on the same stream
    let (rc, stdout, stderr) = dictlab(&[
        "sae",
        "train",
        "--model",
        &m,
        "--learner",
        "online",
        "--steps",
        "5",
        "-p",
        "batch=64",
        "--eval-batches",
        "1",
        "--eval-batch",
        "64",
    ]);
    assert_eq!(rc, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        v["learner"].as_str().unwrap().starts_with("online[omp"),
        "{stdout}"
    );
    // careless inputs
    for (args, needle) in [
        (
            vec!["sae", "train", "--model", "/nonexistent"],
            "SynthModel::save",
        ),
        (vec!["sae", "train", "--model", &m, "-p", "k=300"], "k"),
        (
            vec!["sae", "train", "--model", &m, "-p", "kind=nonsense"],
            "kind",
        ),
        (
            vec!["sae", "train", "--model", &m, "--latents", "0"],
            "latent",
        ),
        (
            vec!["sae", "train", "--model", &m, "--eval-batches", "0"],
            "evaluation batch",
        ),
        (
            vec![
                "sae",
                "train",
                "--model",
                &m,
                "--learner",
                "online",
                "--steps",
                "0",
            ],
            "steps",
        ),
        (
            vec!["sae", "synth", "--out", &m, "--features", "0"],
            "features",
        ),
    ] {
        let (rc, _, stderr) = dictlab(&args);
        assert_eq!(rc, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // a refused law writes nothing: no directory is left behind
    let fresh = dir.path().join("refused");
    let f = fresh.display().to_string();
    let (rc, _, stderr) = dictlab(&["sae", "synth", "--out", &f, "--features", "0"]);
    assert_eq!(rc, 2, "{stderr}");
    assert!(!fresh.exists());
}
