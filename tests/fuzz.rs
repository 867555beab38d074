//! The fuzz campaign: property tests that drive every parser and every registry method on tiny,
//! random and hostile inputs, and require that nothing panics (an abort or a panic is a crash for
//! a user; a typed error is the right answer to nonsense). 76 100 cases in all, in about 2 minutes
//! with `cargo test` on 2 cores (the profile the README's test command uses):
//!
//! | target | cases | inputs |
//! |---|---:|---|
//! | `.npy` reader | 20 000 | valid headers with random shapes and dtypes, truncated and padded files, random bytes |
//! | `.npy` header parser | 6000 | header dicts from valid and hostile fragments (either quote, `3L`, nesting, junk), versions 1–4, headers up to 69 kB |
//! | Slurm scripts | 100 | plan names of newlines, quotes, `$(`, `;`, `#SBATCH`, control characters: every non-comment line unchanged |
//! | plan parser | 20 000 + 2000 | plans assembled from valid and hostile fragments (NaN, negatives, huge sizes, wrong types, unknown keys); valid plans with hostile values |
//! | command line | 20 000 | argument lists drawn from every subcommand's flags with hostile values, parsed and turned into specs/methods |
//! | instance specs | 5000 | random (n, m, N, k, θ, μ, dictionary, values, noise) drawn and, when valid and tiny, sampled |
//! | registry methods | 3000 | every method with random hostile parameters, built and, when valid, run on a 4 × 6 × 12 instance |
//!
//! Run longer with `PROPTEST_CASES=100000 cargo test --release --test fuzz`.

mod common;

use common::npy_bytes;
use dictlab::registry::{self, Built, Context, METHODS};
use dictlab::table::Value;
use proptest::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what} panicked: {msg}")
        }
    }
}

// ---------------------------------------------------------------- .npy

proptest! {
    #![proptest_config(cases(20000))]
    #[test]
    fn npy_reader_never_panics(
        descr in prop::sample::select(vec!["<f8", "<f4", "<i8", "|u1", ">f8", "<c16", "zz"]),
        shape in prop::collection::vec(prop::sample::select(vec![0u64, 1, 2, 3, 7, 100_000, u64::MAX / 2]), 0..4),
        fortran in any::<bool>(),
        data_len in 0usize..200,
        garbage in any::<u8>(),
        raw in prop::collection::vec(any::<u8>(), 0..64),
        use_raw in prop::bool::weighted(0.2),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let shape = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        let bytes = if use_raw { raw } else { npy_bytes(descr, &shape, fortran, data_len, garbage) };
        std::fs::write(&path, &bytes).unwrap();
        let r = no_panic("read_matrix", || dictlab::io::read_matrix(&path, "fuzz"));
        if let Ok(a) = r {
            // what is read is what the header declared, and finite
            let item = if descr == "<f4" { 4 } else { 8 };
            prop_assert_eq!(a.len() * item, data_len);
            prop_assert!(a.iter().all(|v| v.is_finite()));
        }
    }
}

/// A header dict assembled from valid and hostile fragments: either quote style, Python 2 longs,
/// spacing, missing or repeated keys, junk.
fn header_dict() -> impl Strategy<Value = String> {
    let frag = prop::sample::select(vec![
        "'descr': '<f8'",
        "\"descr\": \"<f8\"",
        "'descr': '>f4'",
        "'descr': [('a', '<f8')]",
        "'fortran_order': False",
        "\"fortran_order\": True",
        "'fortran_order': 0",
        "'shape': (2, 3)",
        "'shape': (2L, 3L)",
        "\"shape\": (3,)",
        "'shape': ()",
        "'shape': (99999999999999999999999999999999999999999, 2)",
        "'shape': (2, (3,))",
        "'shape': [2, 3]",
        "'extra': None",
        "'",
        "\"",
        "(",
        ")",
        ":",
        "{",
        "}",
        "\\",
        "é",
    ]);
    (prop::collection::vec(frag, 0..6), any::<bool>(), 0usize..3).prop_map(
        |(parts, braces, spaces)| {
            let body = parts.join(&format!(",{}", " ".repeat(spaces)));
            if braces { format!("{{{body}}}") } else { body }
        },
    )
}

proptest! {
    #![proptest_config(cases(6000))]
    #[test]
    fn npy_header_parser_never_panics_on_any_header(
        dict in header_dict(),
        version in prop::sample::select(vec![1u8, 2, 3, 4]),
        pad in 0usize..70_000,
        data in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut text = dict.into_bytes();
        text.extend(std::iter::repeat_n(b' ', pad % 9000 + if pad > 66_000 { 60_000 } else { 0 }));
        text.push(b'\n');
        let mut b = b"\x93NUMPY".to_vec();
        b.push(version);
        b.push(0);
        if version == 1 {
            let len = u16::try_from(text.len()).unwrap_or(u16::MAX);
            b.extend_from_slice(&len.to_le_bytes());
        } else {
            b.extend_from_slice(&(text.len() as u32).to_le_bytes());
        }
        b.extend_from_slice(&text);
        b.extend_from_slice(&data);
        let r = no_panic("npy::read_2d", || {
            dictlab::io::npy::read_2d(&mut &b[..], std::path::Path::new("fuzz.npy"), "fuzz", None)
        });
        // a version-1 length field caps at u16::MAX: past it the declared header ends inside
        // the padding, whose bytes are then (correctly) read as data
        let declared_whole = version != 1 || text.len() <= usize::from(u16::MAX);
        if let Ok(a) = r
            && declared_whole
        {
            prop_assert!(a.len() * 4 <= data.len());
        }
    }
}

proptest! {
    #![proptest_config(cases(100))]
    /// A plan's free-text name never changes a line that Slurm or the shell reads: every
    /// `#SBATCH` line and every command line of the emitted scripts is the same as for a plain
    /// name (the name only appears, escaped, in a comment).
    #[test]
    fn no_plan_name_reaches_the_shell_or_sbatch(
        name in prop::collection::vec(
            prop::sample::select(vec![
                "x", " ", "\n", "\r", "'", "\"", "`", "$(", ")", ";", "&&", "|", "#", "\\", "\t",
                "#SBATCH --mem=1", "touch owned", "é", "\u{0}", "\u{1b}[2J",
            ]),
            0..10,
        )
    ) {
        let name: String = name.concat();
        let dir = tempfile::tempdir().unwrap();
        let scripts = |plan_name: &str, sub: &str| -> Vec<String> {
            let plan = dir.path().join(format!("{sub}.toml"));
            let mut text = format!("name = {}\n", toml_string(plan_name));
            text.push_str("[instance]\ndim = 4\nn_atoms = 4\nn_samples = 8\nsparsity = 1\n[[method]]\nname = \"omp\"\n");
            std::fs::write(&plan, text).unwrap();
            let out = dir.path().join("r");
            dictlab::sweep::slurm::emit(&dictlab::sweep::slurm::SlurmOptions {
                plan,
                out: out.clone(),
                shards: 2,
                cpus_per_shard: 1,
                time: "01:00:00".into(),
                mem: None,
                partition: None,
                dictlab: Some("/bin/true".into()),
            })
            .unwrap();
            ["sweep.sbatch", "merge.sbatch"]
                .iter()
                .flat_map(|f| {
                    std::fs::read_to_string(out.join("slurm").join(f))
                        .unwrap()
                        .lines()
                        .filter(|l| !l.starts_with("# ") || l.starts_with("#SBATCH"))
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let plain = scripts("plain", "a");
        let hostile = scripts(&name, "b");
        prop_assert_eq!(plain, hostile);
    }
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------- plans

fn plan_text(parts: &[String]) -> String {
    parts.join("\n")
}

fn plan_fragment() -> impl Strategy<Value = String> {
    let num = prop::sample::select(vec![
        "1", "0", "-5", "2", "16", "32", "1e9", "nan", "inf", "-0.5", "0.3", "\"text\"", "true",
        "[1, 2]", "[]", "100000",
    ]);
    let key = prop::sample::select(vec![
        "dim",
        "n_atoms",
        "n_samples",
        "sparsity",
        "theta",
        "coherence",
        "noise_sigma",
        "snr_db",
        "values",
        "dictionary",
        "zipf_exponent",
        "unknown_key",
        "reps",
        "base_seed",
        "time_budget_s",
        "threads_per_run",
        "lambda",
        "iters",
        "epochs",
        "k",
        "steps",
        "batch",
    ]);
    let section = prop::sample::select(vec![
        "[instance]",
        "[grid]",
        "[[method]]",
        "[record]",
        "",
        "[bogus]",
    ]);
    let method = prop::sample::select(vec![
        "omp", "lasso", "fista", "mod", "ksvd", "online", "altmin", "arora", "noodl", "msp", "l4",
        "relu_ae", "sae", "unrolled", "lista_dl", "nope",
    ]);
    prop_oneof![
        (key, num).prop_map(|(k, v)| format!("{k} = {v}")),
        section.prop_map(|s| s.to_string()),
        method.prop_map(|m| format!("[[method]]\nname = \"{m}\"")),
        Just("mode = \"log\"\nper_decade = 2".to_string()),
        Just("name = \"fuzz\"".to_string()),
        Just("= broken toml [".to_string()),
    ]
}

proptest! {
    #![proptest_config(cases(20000))]
    #[test]
    fn plan_parser_never_panics(parts in prop::collection::vec(plan_fragment(), 0..14)) {
        let text = plan_text(&parts);
        let _ = no_panic("Plan::from_toml_str", || dictlab::sweep::Plan::from_toml_str(&text));
    }
}

proptest! {
    #![proptest_config(cases(2000))]
    #[test]
    fn valid_plans_with_hostile_values_never_panic(
        dim in prop::sample::select(vec!["4", "0", "-1", "1e9", "100000", "nan"]),
        atoms in prop::sample::select(vec!["6", "8", "0", "100000", "3"]),
        samples in prop::sample::select(vec!["12", "0", "1000000000000"]),
        sparsity in prop::sample::select(vec!["[1, 2]", "[0]", "[100]", "[-1]"]),
        method in prop::sample::select(vec!["omp", "fista", "mod", "online", "sae", "l4"]),
        param in prop::sample::select(vec!["", "lambda = 0.1", "lambda = nan", "lambda = -1", "iters = 0", "epochs = -5", "steps = 2", "k = 0"]),
    ) {
        let text = format!(
            "name = \"f\"\nreps = 1\n[instance]\ndim = {dim}\nn_atoms = {atoms}\nn_samples = {samples}\n[grid]\nsparsity = {sparsity}\n[[method]]\nname = \"{method}\"\n{param}\n"
        );
        let _ = no_panic("Plan::from_toml_str", || dictlab::sweep::Plan::from_toml_str(&text));
    }
}

// ---------------------------------------------------------------- command line

fn cli_args() -> impl Strategy<Value = Vec<String>> {
    let cmd = prop::sample::select(vec![
        "generate",
        "encode",
        "learn",
        "metrics",
        "sweep",
        "status",
        "merge",
        "report",
        "headline",
        "findings",
        "transitions",
        "repair",
        "emit-slurm",
        "bogus",
    ]);
    let flag = prop::sample::select(vec![
        "--dim",
        "--atoms",
        "--samples",
        "--sparsity",
        "--theta",
        "--coherence",
        "--zipf",
        "--dictionary",
        "--values",
        "--value-low",
        "--value-high",
        "--noise-sigma",
        "--snr-db",
        "--pair-cos",
        "--pairs",
        "--firing-group",
        "--firing-corr",
        "--seed",
        "--method",
        "--lambda",
        "--tol",
        "--nonneg",
        "--threads",
        "--max-memory",
        "--iters",
        "--epochs",
        "--batch",
        "--eta",
        "--tau",
        "--starts",
        "--rounds",
        "--init",
        "--shard",
        "--shards",
    ]);
    let val = prop::sample::select(vec![
        "0",
        "1",
        "3",
        "16",
        "32",
        "-1",
        "nan",
        "inf",
        "1e308",
        "0.5",
        "gaussian",
        "omp",
        "lasso",
        "mod",
        "l4",
        "coherence",
        "steiner-etf",
        "1/0",
        "3/2",
        "auto",
        "8G",
        "",
        "x",
    ]);
    (
        cmd,
        prop::collection::vec((flag, prop::option::of(val)), 0..10),
    )
        .prop_map(|(c, fs)| {
            let mut v = vec!["dictlab".to_string(), c.to_string()];
            for (f, x) in fs {
                v.push(f.to_string());
                if let Some(x) = x {
                    v.push(x.to_string());
                }
            }
            v
        })
}

proptest! {
    #![proptest_config(cases(20000))]
    #[test]
    fn command_line_parsing_never_panics(args in cli_args()) {
        let parsed = no_panic("Cli::parse_args", || dictlab::cli::Cli::parse_args(&args));
        if let Ok(cli) = parsed {
            // what the flags describe, without running anything big
            match &cli.command {
                dictlab::cli::Command::Generate(g) => {
                    let _ = no_panic("GenerateArgs::spec", || g.spec().map(|s| s.check()));
                }
                dictlab::cli::Command::Encode(e) => {
                    let _ = no_panic("EncodeArgs::coder", || e.coder().map(|_| ()));
                }
                dictlab::cli::Command::Learn(l) => {
                    let _ = no_panic("LearnArgs::learner", || l.learner(6, None, None).map(|_| ()));
                }
                _ => {}
            }
            if let Some(m) = &cli.max_memory {
                let _ = no_panic("parse_size", || dictlab::mem::parse_size(m));
            }
        }
    }
}

// ---------------------------------------------------------------- instance specs

proptest! {
    #![proptest_config(cases(5000))]
    #[test]
    fn instance_specs_never_panic(
        n in prop::sample::select(vec![0usize, 1, 2, 4, 6, 8, 1 << 40]),
        m in prop::sample::select(vec![0usize, 1, 4, 6, 8, 16, 1 << 40]),
        nn in prop::sample::select(vec![0usize, 1, 12, 1 << 45]),
        k in prop::option::of(prop::sample::select(vec![0usize, 1, 2, 5, 100])),
        theta in prop::option::of(prop::sample::select(vec![-0.1f64, 0.0, 0.3, 1.0, 2.0, f64::NAN])),
        coherence in prop::option::of(prop::sample::select(vec![f64::NAN, -1.0, 0.0, 0.5, 0.99, 1.0, 7.0])),
        dict in prop::option::of(prop::sample::select(vec!["gaussian", "orthobasis", "identity_hadamard", "identity_dct", "tight_frame", "near_duplicates", "steiner_etf", "coherence", "nope"])),
        values in prop::option::of(prop::sample::select(vec!["gaussian", "rademacher", "signed_uniform", "nonneg_uniform", "shared_sign_uniform", "x"])),
        noise in prop::option::of(prop::sample::select(vec![-1.0f64, 0.0, 0.01, f64::INFINITY, f64::NAN])),
        zipf in prop::option::of(prop::sample::select(vec![0.0f64, 1.0, 1000.0, -2.0, f64::NAN])),
        seed in any::<u64>(),
    ) {
        let mut kv: Vec<(String, Value)> = vec![
            ("dim".into(), Value::from(n)),
            ("n_atoms".into(), Value::from(m)),
            ("n_samples".into(), Value::from(nn)),
        ];
        if let Some(k) = k { kv.push(("sparsity".into(), Value::from(k))); }
        if let Some(t) = theta { kv.push(("theta".into(), Value::Float(t))); }
        if let Some(c) = coherence { kv.push(("coherence".into(), Value::Float(c))); }
        if let Some(d) = dict { kv.push(("dictionary".into(), Value::from(d))); }
        if let Some(v) = values { kv.push(("values".into(), Value::from(v))); }
        if let Some(s) = noise { kv.push(("noise_sigma".into(), Value::Float(s))); }
        if let Some(z) = zipf { kv.push(("zipf_exponent".into(), Value::Float(z))); }
        let spec = no_panic("from_params", || dictlab::instance::InstanceSpec::from_params(&kv));
        if let Ok(spec) = spec
            && spec.check().is_ok()
            && spec.dim * spec.n_atoms.max(spec.n_samples) <= 4096
        {
            let inst = no_panic("sample", || spec.sample(seed));
            if let Ok(inst) = inst {
                prop_assert_eq!(inst.y.dim(), (spec.dim, spec.n_samples));
                if let Some(k) = spec.codes.exact_sparsity() {
                    for c in inst.codes.columns() {
                        prop_assert!(c.iter().filter(|v| **v != 0.0).count() <= k);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- registry methods

fn hostile_value(key: &str) -> BoxedStrategy<Value> {
    match key {
        "init" => prop::sample::select(vec![
            "data",
            "gaussian",
            "spectral",
            "clustering",
            "near",
            "bogus",
        ])
        .prop_map(Value::from)
        .boxed(),
        "kind" => prop::sample::select(vec!["topk", "relu_l1", "jumprelu", "x"])
            .prop_map(Value::from)
            .boxed(),
        "gradient" => prop::sample::select(vec!["g_dec", "g_ae_lasso", "g_ae_ls", "g_noodl", "x"])
            .prop_map(Value::from)
            .boxed(),
        "network" => prop::sample::select(vec!["slista", "lista", "x"])
            .prop_map(Value::from)
            .boxed(),
        "csc" => prop::sample::select(vec!["fista", "lgcd", "x"])
            .prop_map(Value::from)
            .boxed(),
        "sphere_solver" => prop::sample::select(vec!["power", "rgd", "x"])
            .prop_map(Value::from)
            .boxed(),
        "unit" => prop::sample::select(vec!["relu", "sign", "x"])
            .prop_map(Value::from)
            .boxed(),
        "nonneg" | "whiten" | "untied" => {
            prop_oneof![any::<bool>().prop_map(Value::Bool), Just(Value::Int(3))].boxed()
        }
        "iters" | "epochs" | "steps" | "layers" | "starts" | "rounds" | "batch" | "k"
        | "sparsity" | "polish" => prop::sample::select(vec![
            Value::Int(0),
            Value::Int(1),
            Value::Int(2),
            Value::Int(3),
            Value::Int(-4),
            Value::Float(0.5),
            Value::from("two"),
        ])
        .boxed(),
        _ => prop::sample::select(vec![
            Value::Float(f64::NAN),
            Value::Float(-1.0),
            Value::Float(0.0),
            Value::Float(1e-300),
            Value::Float(0.05),
            Value::Float(0.5),
            Value::Float(1.0),
            Value::Float(3.0),
            Value::Float(1e300),
            Value::Float(f64::INFINITY),
            Value::Int(2),
            Value::from("x"),
        ])
        .boxed(),
    }
}

fn method_case() -> impl Strategy<Value = (usize, Vec<(String, Value)>)> {
    (0..METHODS.len()).prop_flat_map(|i| {
        let keys: Vec<&'static str> = METHODS[i].keys();
        let per_key: Vec<BoxedStrategy<Option<(String, Value)>>> = keys
            .iter()
            .map(|k| {
                let k = k.to_string();
                prop::option::weighted(0.5, hostile_value(&k))
                    .prop_map(move |v| v.map(|v| (k.clone(), v)))
                    .boxed()
            })
            .collect();
        (Just(i), per_key).prop_map(|(i, kv)| {
            let mut kv: Vec<(String, Value)> = kv.into_iter().flatten().collect();
            // keep every run tiny: counts that the case did not set are small
            for (k, v) in [
                ("iters", 3),
                ("epochs", 1),
                ("steps", 3),
                ("starts", 2),
                ("rounds", 1),
                ("layers", 2),
            ] {
                if METHODS[i].keys().contains(&k) && !kv.iter().any(|(x, _)| x == k) {
                    kv.push((k.to_string(), Value::Int(v)));
                }
            }
            (i, kv)
        })
    })
}

proptest! {
    #![proptest_config(cases(3000))]
    #[test]
    fn every_registry_method_on_hostile_parameters_never_panics((i, params) in method_case(), seed in 0u64..1000) {
        let name = METHODS[i].name();
        let spec = dictlab::instance::InstanceSpec::new(4, 6, 12).sparsity(2);
        let inst = spec.sample(seed).unwrap();
        let ctx = Context::for_spec(&spec, Some(&inst.dict));
        let built = no_panic(name, || registry::build(name, &params, &ctx));
        match built {
            Ok(Built::Coder(c)) => {
                let _ = no_panic(name, || c.encode(inst.dict.view(), inst.y.view()));
            }
            Ok(Built::Learner(l, init)) => {
                if let Ok(out) = no_panic(name, || l.learn(inst.y.view(), 6, &init, seed)) {
                    prop_assert_eq!(out.dict.dim(), (4, 6));
                }
            }
            Ok(Built::ConvCoder(c)) => {
                let ci = dictlab::conv::ConvSpec::new(2, 1, 30, 2, 5).theta(0.1).sample(seed).unwrap();
                for b in [dictlab::conv::Boundary::Valid, dictlab::conv::Boundary::Circular] {
                    let _ = no_panic(name, || c.encode(ci.atoms.view(), ci.y.view(), b, None));
                }
                // images: coded by the DFT-domain coders, refused by the others, never a panic
                let is = dictlab::conv::ConvSpec::new(2, 1, 9, 2, 3).rows(8).theta(0.1);
                let ii = is.sample(seed).unwrap();
                for b in [dictlab::conv::Boundary::Valid, dictlab::conv::Boundary::Circular] {
                    let _ = no_panic(name, || c.encode_on(ii.atoms.view(), ii.y.view(), is.grid(), b, None));
                }
            }
            Ok(Built::ConvLearner(l)) => {
                let ci = dictlab::conv::ConvSpec::new(2, 1, 30, 2, 5).theta(0.1).sample(seed).unwrap();
                // both boundaries: conv_l4 takes only the circular one
                for b in [dictlab::conv::Boundary::Valid, dictlab::conv::Boundary::Circular] {
                    if let Ok(out) = no_panic(name, || l.learn_observed(ci.y.view(), 2, 5, b, None, seed, dictlab::iter::Schedule::Never, &mut dictlab::iter::NoObserver)) {
                        prop_assert_eq!(out.state.atoms.dim(), (2, 1, 5));
                    }
                }
                let is = dictlab::conv::ConvSpec::new(2, 1, 9, 2, 3).rows(8).theta(0.1);
                let ii = is.sample(seed).unwrap();
                for b in [dictlab::conv::Boundary::Valid, dictlab::conv::Boundary::Circular] {
                    if let Ok(out) = no_panic(name, || l.learn_on(ii.y.view(), 2, 3, is.grid(), b, None, seed, dictlab::iter::Schedule::Never, &mut dictlab::iter::NoObserver)) {
                        prop_assert_eq!(out.state.atoms.dim(), (2, 1, 9));
                    }
                }
            }
            Err(e) => {
                // a refusal names the method or the parameter
                let msg = e.to_string();
                prop_assert!(!msg.is_empty());
            }
        }
    }
}
