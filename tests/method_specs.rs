//! One spec per method: the library's constructors, the registry (plans) and the command line
//! give the same model for every method, and the generated parameter table is current.

mod common;

use common::dictlab;
use dictlab::code::{Omp, SparseCoder};
use dictlab::conv::Boundary;
use dictlab::learn::{self as dl, DictionaryLearner, Init};
use dictlab::neural::learners::{ListaLearner, ReluAeLearner, SaeLearner, UnrolledLearner};
use dictlab::registry::{self, Built, Context, Kind, METHODS, Method};
use dictlab::spec::Dflt;
use dictlab::table::Value;
use dictlab::{Instance, InstanceSpec};
use ndarray::Array2;

const LAMBDA: f64 = 0.2;
const K: usize = 2;
const SEED: u64 = 5;

fn instance() -> Instance {
    // m = n so that every learner (msp needs a square dictionary) runs on it
    InstanceSpec::new(6, 6, 48).sparsity(K).sample(3).unwrap()
}

/// The parameters a method needs without a default (λ of the unrolled and LISTA learners, of
/// the Lasso coders).
fn required(m: &Method) -> Vec<(String, Value)> {
    m.params()
        .iter()
        .filter(|p| p.default == Dflt::Required)
        .map(|p| (p.key.to_string(), Value::Float(LAMBDA)))
        .collect()
}

fn run(built: Built, inst: &Instance) -> (String, Array2<f64>) {
    match built {
        Built::Coder(c) => (
            c.name(),
            c.encode(inst.dict.view(), inst.y.view()).unwrap().codes,
        ),
        Built::Learner(l, init) => (
            l.name(),
            l.learn(inst.y.view(), 6, &init, SEED).unwrap().dict,
        ),
        Built::ConvCoder(c) => {
            let ci = conv_instance();
            // the circular boundary: every convolutional coder solves it (conv_admm only it)
            let z = c
                .encode(ci.atoms.view(), ci.y.view(), Boundary::Circular, None)
                .unwrap()
                .acts;
            let (n, k, t) = z.dim();
            (c.name(), z.into_shape_with_order((n, k * t)).unwrap())
        }
        Built::ConvLearner(l) => {
            let ci = conv_instance();
            let d = l
                .learn_observed(
                    ci.y.view(),
                    2,
                    5,
                    // circular: every convolutional learner takes it (conv_l4 only it)
                    Boundary::Circular,
                    None,
                    SEED,
                    dictlab::iter::Schedule::Never,
                    &mut dictlab::iter::NoObserver,
                )
                .unwrap()
                .state
                .atoms;
            (l.name(), d.into_shape_with_order((2, 5)).unwrap())
        }
    }
}

fn conv_instance() -> dictlab::conv::ConvInstance {
    dictlab::conv::ConvSpec::new(3, 1, 60, 2, 5)
        .theta(0.05)
        .boundary(Boundary::Circular)
        .sample(3)
        .unwrap()
}

fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|x| x.to_bits()).collect()
}

/// For every method: nothing set = every declared default written out (so `build` reads each
/// default from the spec and nowhere else).
#[test]
fn unset_parameters_are_the_declared_defaults() {
    let inst = instance();
    let ctx = Context::for_spec(&inst.spec, Some(&inst.dict));
    for m in METHODS {
        let bare = required(m);
        let mut full = bare.clone();
        for p in m.params() {
            if let Some(v) = p.default.value() {
                full.push((p.key.to_string(), v));
            }
        }
        let a = run(registry::build(m.name(), &bare, &ctx).unwrap(), &inst);
        let b = run(registry::build(m.name(), &full, &ctx).unwrap(), &inst);
        assert_eq!(
            a.0,
            b.0,
            "{}: name differs with explicit defaults",
            m.name()
        );
        assert_eq!(
            bits(&a.1),
            bits(&b.1),
            "{}: result differs with explicit defaults",
            m.name()
        );
    }
}

/// The library user's constructor for every learner, at its defaults (`None` for a learner added
/// after this test: registry and command line are still compared for it).
fn library_default(name: &str) -> Option<Box<dyn DictionaryLearner>> {
    let m = 6;
    let omp = || Omp::with_sparsity(K);
    Some(match name {
        "mod" => Box::new(dl::AlternatingMinimization::new(omp(), dl::Mod::default())),
        "bcd" => Box::new(dl::AlternatingMinimization::new(omp(), dl::Bcd::default())),
        "ksvd" => Box::new(dl::AlternatingMinimization::new(omp(), dl::Ksvd::exact())),
        "aksvd" => Box::new(dl::AlternatingMinimization::new(
            omp(),
            dl::Ksvd::approximate(),
        )),
        "online" => Box::new(dl::OnlineDl::new(omp())),
        "altmin" => Box::new(dl::AltMinDict::default()),
        "arora" => Box::new(dl::ApproxGradient::arora(dl::agd::TAU, 1.0).auto_step()),
        "noodl" => Box::new(dl::ApproxGradient::noodl(dl::agd::TAU, 1.0).auto_step()),
        "msp" => Box::new(dl::Msp::default()),
        "l4" => Box::new(dl::L4Sphere::new(K as f64 / m as f64)),
        "relu_ae" => Box::new(ReluAeLearner::new(1.0 - K as f64 / m as f64)),
        "sae" => Box::new(SaeLearner {
            trainer: dictlab::neural::sae::SaeTrainer::new(
                dictlab::neural::sae::SaeKind::TopK { k: K },
                m,
            ),
        }),
        "unrolled" => Box::new(UnrolledLearner::new(LAMBDA)),
        "lista_dl" => Box::new(ListaLearner::new(
            LAMBDA,
            dictlab::neural::lista::ListaDl::default(),
        )),
        "sgd" => Box::new(dictlab::learn::sgd::SgdDl::new(K)),
        _ => return None,
    })
}

/// `Default`/`new` of every learner's struct, the registry with no parameters, and `dictlab learn
/// --method NAME` with no parameters learn the same dictionary, bit for bit.
#[test]
fn library_registry_and_command_line_defaults_agree_for_every_learner() {
    let inst = instance();
    let ctx = Context::for_spec(&inst.spec, Some(&inst.dict));
    let dir = tempfile::tempdir().unwrap();
    let y = dir.path().join("Y.npy");
    dictlab::io::write_matrix(&y, &inst.y).unwrap();
    let (mut checked, mut with_library) = (0, 0);
    for m in METHODS.iter().filter(|m| m.kind() == Kind::Learner) {
        let name = m.name();
        let (reg_name, reg) = run(registry::build(name, &required(m), &ctx).unwrap(), &inst);
        if let Some(lib) = library_default(name) {
            let out = lib
                .learn(inst.y.view(), 6, &Init::RandomData, SEED)
                .unwrap();
            assert_eq!(
                lib.name(),
                reg_name,
                "{name}: library and registry models differ"
            );
            assert_eq!(
                bits(&out.dict),
                bits(&reg),
                "{name}: library and registry dictionaries differ"
            );
            with_library += 1;
        }

        let out = dir.path().join(format!("{name}.npy"));
        let mut args: Vec<String> = [
            "learn",
            "--signals",
            y.to_str().unwrap(),
            "--atoms",
            "6",
            "--method",
            name,
            "--sparsity",
            "2",
            "--seed",
            "5",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (k, v) in required(m) {
            args.push("-p".into());
            args.push(format!("{k}={v}"));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = dictlab(&argv);
        assert_eq!(code, 0, "{name}: {err}");
        let cli = dictlab::io::read_matrix(&out, "D").unwrap();
        assert_eq!(
            bits(&cli),
            bits(&reg),
            "{name}: command line and registry dictionaries differ"
        );
        checked += 1;
    }
    assert!(
        checked >= 15 && with_library >= 15,
        "{checked} learners, {with_library} with a library constructor"
    );
}

/// docs/methods.md (included in the registry's rustdoc) is what the specs generate.
/// `DICTLAB_BLESS=1 cargo test --test method_specs` rewrites it.
#[test]
fn the_parameter_table_is_generated_from_the_specs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/methods.md");
    let want = registry::methods_markdown();
    if std::env::var_os("DICTLAB_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap();
    assert!(
        have.trim_end() == want.trim_end(),
        "docs/methods.md is stale: run `dictlab methods --markdown > docs/methods.md` (or DICTLAB_BLESS=1 cargo test --test method_specs)"
    );
    for m in METHODS {
        assert!(
            have.contains(&format!("### `{}`", m.name())),
            "{}",
            m.name()
        );
    }
}

/// Every declared default satisfies its own type and range, and every key is documented.
#[test]
fn every_declared_default_is_valid() {
    for m in METHODS {
        let defaults: Vec<(String, Value)> = m
            .params()
            .iter()
            .filter_map(|p| p.default.value().map(|v| (p.key.to_string(), v)))
            .collect();
        m.validate(&defaults)
            .unwrap_or_else(|e| panic!("{}: {e}", m.name()));
        for p in m.params() {
            assert!(!p.doc.is_empty(), "{}.{} has no doc", m.name(), p.key);
        }
    }
}

/// Every word a method's spec lists for a choice builds that method (a word the spec declares
/// but its enum does not know would be an error at run time).
#[test]
fn every_declared_choice_word_builds() {
    let inst = instance();
    let mut ctx = Context::for_spec(&inst.spec, Some(&inst.dict));
    ctx.sparsity_estimate = Some(K);
    let mut words = 0;
    for m in METHODS {
        for p in m.params() {
            let dictlab::spec::Ty::Choice(list) = p.ty else {
                continue;
            };
            for w in list {
                let mut kv = required(m);
                kv.push((p.key.to_string(), Value::from(*w)));
                // a word that needs a penalty (the ReLU + L1 SAE) gets one
                if registry::build(m.name(), &kv, &ctx).is_err()
                    && m.params().iter().any(|q| q.key == "lambda")
                    && !kv.iter().any(|(k, _)| k == "lambda")
                {
                    kv.push(("lambda".into(), Value::Float(LAMBDA)));
                }
                if let Err(e) = registry::build(m.name(), &kv, &ctx) {
                    panic!("{}.{} = {w}: {e}", m.name(), p.key);
                }
                words += 1;
            }
        }
    }
    assert!(words >= 10, "{words} choice words checked");
}
