//! Methods by name: the one place where a method's name and its parameters become a sparse coder
//! or a dictionary learner. The command line (`dictlab encode`, `dictlab learn`) and sweep plans
//! (`[[method]]` entries) both go through [`build`], so a method behaves the same everywhere.
//!
//! | name | kind | parameters (default) |
//! |---|---|---|
//! | `omp` | coder | `sparsity` (instance k) or `tol` |
//! | `lasso`, `lars` | coder (LARS homotopy) | `lambda`, `nonneg` (false) |
//! | `fista`, `ista`, `cd` | coder | `lambda`, `nonneg` (false) |
//! | `iht` | coder | `sparsity` (instance k) |
//! | `mod`, `bcd` | learner | `sparsity` (instance k) or `lambda`, `iters` (50) |
//! | `ksvd`, `aksvd` | learner | `sparsity` (instance k), `iters` (50) |
//! | `online` | learner | `sparsity` or `lambda`, `epochs` (30), `batch` (256) |
//! | `altmin` | learner | `iters` (30), `eps0` (1), `eps_min` (0) |
//! | `arora`, `noodl` | learner | `sparsity`, `eta` (m/k), `tau` (0.5), `epochs` (20), `batch` (256) |
//! | `msp` | learner (m = n) | `iters` (200), `polish` (0) |
//! | `l4` | learner (m ≥ n) | `theta` (k/m), `iters` (500), `starts`, `rounds` (8), `sphere_solver` (`power`/`rgd`), `whiten` (true) |
//! | `relu_ae` | neural learner (tied ReLU AE) | `iters` (300), `lr` (0.05), `quantile` (1 − k/m), `unit` (`relu`/`sign`: the 1-bit unit at level s = 1), `untied` (false) |
//! | `sae` | neural learner (sparse AE) | `kind` (`topk`/`relu_l1`/`jumprelu`), `k` (instance k, TopK), `lambda` (L1/L0), `bandwidth` (0.05), `steps` (3000), `batch` (256), `lr` (10⁻³), `theta0` (0.5) |
//! | `unrolled` | neural learner (unrolled ISTA) | `gradient` (`dec`/`ae_lasso`/`ae_ls`/`noodl`/`implicit`), `layers` (25), `lambda`, `alpha_l` (1), `nonneg` (false), `steps` (300), `lr` (10⁻²), `batch` (full) |
//! | `lista_dl` | neural learner (LISTA-type encoder + D) | `network` (`slista`/`lista`), `layers` (10), `lambda`, `steps` (1000), `batch` (256), `lr` (10⁻³), `lr_dict` (10⁻³) |
//!
//! Every learner also takes `init` (`data` (default), `gaussian`, `spectral`, `clustering`,
//! `near`) and, with `init = "near"`, `init_dist` (columnwise distance from the true dictionary,
//! default 0.5). Adding a method: implement [`crate::code::SparseCoder`] or
//! [`crate::learn::DictionaryLearner`], add one row to [`METHODS`] and one arm to [`build`].

use crate::code::SparseCoder;
use crate::error::{Error, Result};
use crate::learn::{DictionaryLearner, Init};
use crate::table::Value;
use ndarray::Array2;

/// Whether a method codes signals against a known dictionary or learns one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A sparse coder (run on the planted dictionary; measured by support recovery).
    Coder,
    /// A dictionary learner (measured by dictionary recovery).
    Learner,
}

/// One registered method: name, kind and the parameters it accepts.
#[derive(Clone, Copy, Debug)]
pub struct MethodDef {
    /// Name as written in plans and on the command line.
    pub name: &'static str,
    /// Coder or learner.
    pub kind: Kind,
    /// Accepted parameter keys.
    pub keys: &'static [&'static str],
}

const LASSO: &[&str] = &["lambda", "nonneg"];
/// Counts that must be ≥ 1 wherever they appear (`epochs` is a number of passes, in [`POSITIVE`]).
const COUNTS: &[&str] = &[
    "iters", "starts", "rounds", "batch", "steps", "layers", "sparsity",
];
/// Parameters that must be > 0 wherever they appear.
const POSITIVE: &[&str] = &["lambda", "eta", "lr", "tau", "epochs"];
const ALT: &[&str] = &["sparsity", "lambda", "iters", "init", "init_dist"];
const KSVD: &[&str] = &["sparsity", "iters", "init", "init_dist"];
const ONLINE: &[&str] = &["sparsity", "lambda", "epochs", "batch", "init", "init_dist"];
const ALTMIN: &[&str] = &["iters", "eps0", "eps_min", "init", "init_dist"];
const AGD: &[&str] = &[
    "sparsity",
    "eta",
    "tau",
    "epochs",
    "batch",
    "init",
    "init_dist",
];
const MSP: &[&str] = &["iters", "polish", "init", "init_dist"];
const L4: &[&str] = &[
    "theta",
    "sparsity",
    "iters",
    "starts",
    "rounds",
    "sphere_solver",
    "whiten",
    "init",
    "init_dist",
];

const RELU_AE: &[&str] = &[
    "iters",
    "lr",
    "quantile",
    "unit",
    "untied",
    "init",
    "init_dist",
];
const SAE: &[&str] = &[
    "kind",
    "k",
    "lambda",
    "bandwidth",
    "steps",
    "batch",
    "lr",
    "theta0",
    "init",
    "init_dist",
];
const UNROLLED: &[&str] = &[
    "gradient",
    "layers",
    "lambda",
    "alpha_l",
    "nonneg",
    "steps",
    "lr",
    "batch",
    "init",
    "init_dist",
];
const LISTA_DL: &[&str] = &[
    "network",
    "layers",
    "lambda",
    "steps",
    "batch",
    "lr",
    "lr_dict",
    "init",
    "init_dist",
];

/// Every method [`build`] knows.
pub const METHODS: &[MethodDef] = &[
    MethodDef {
        name: "omp",
        kind: Kind::Coder,
        keys: &["sparsity", "tol"],
    },
    MethodDef {
        name: "lasso",
        kind: Kind::Coder,
        keys: LASSO,
    },
    MethodDef {
        name: "lars",
        kind: Kind::Coder,
        keys: LASSO,
    },
    MethodDef {
        name: "fista",
        kind: Kind::Coder,
        keys: LASSO,
    },
    MethodDef {
        name: "ista",
        kind: Kind::Coder,
        keys: LASSO,
    },
    MethodDef {
        name: "cd",
        kind: Kind::Coder,
        keys: LASSO,
    },
    MethodDef {
        name: "iht",
        kind: Kind::Coder,
        keys: &["sparsity"],
    },
    MethodDef {
        name: "mod",
        kind: Kind::Learner,
        keys: ALT,
    },
    MethodDef {
        name: "bcd",
        kind: Kind::Learner,
        keys: ALT,
    },
    MethodDef {
        name: "ksvd",
        kind: Kind::Learner,
        keys: KSVD,
    },
    MethodDef {
        name: "aksvd",
        kind: Kind::Learner,
        keys: KSVD,
    },
    MethodDef {
        name: "online",
        kind: Kind::Learner,
        keys: ONLINE,
    },
    MethodDef {
        name: "altmin",
        kind: Kind::Learner,
        keys: ALTMIN,
    },
    MethodDef {
        name: "arora",
        kind: Kind::Learner,
        keys: AGD,
    },
    MethodDef {
        name: "noodl",
        kind: Kind::Learner,
        keys: AGD,
    },
    MethodDef {
        name: "msp",
        kind: Kind::Learner,
        keys: MSP,
    },
    MethodDef {
        name: "l4",
        kind: Kind::Learner,
        keys: L4,
    },
    MethodDef {
        name: "relu_ae",
        kind: Kind::Learner,
        keys: RELU_AE,
    },
    MethodDef {
        name: "sae",
        kind: Kind::Learner,
        keys: SAE,
    },
    MethodDef {
        name: "unrolled",
        kind: Kind::Learner,
        keys: UNROLLED,
    },
    MethodDef {
        name: "lista_dl",
        kind: Kind::Learner,
        keys: LISTA_DL,
    },
];

/// The definition of `name`, or an error listing the known names.
///
/// # Errors
/// An unknown name.
pub fn lookup(name: &str) -> Result<&'static MethodDef> {
    METHODS.iter().find(|d| d.name == name).ok_or_else(|| {
        Error::invalid(
            "method",
            name,
            format!(
                "one of {}",
                METHODS
                    .iter()
                    .map(|d| d.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// Check that every key of `params` is accepted by `name` (without building anything).
///
/// # Errors
/// An unknown method or an unknown parameter key (the error names it and the accepted keys).
pub fn check_keys(name: &str, params: &[(String, Value)]) -> Result<&'static MethodDef> {
    let def = lookup(name)?;
    for (k, _) in params {
        if !def.keys.contains(&k.as_str()) {
            return Err(Error::invalid(
                "method parameter",
                format!("{name}.{k}"),
                format!("one of the parameters of `{name}`: {}", def.keys.join(", ")),
            ));
        }
    }
    Ok(def)
}

/// What the instance tells a method that is not in its parameters.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    /// Atoms to learn (m).
    pub n_atoms: usize,
    /// The signal dimension n, if known (checks methods that need m = n before they run).
    pub dim: Option<usize>,
    /// The instance's exact sparsity k, if its supports have one (default for `sparsity`).
    pub sparsity: Option<usize>,
    /// The planted dictionary (for `init = "near"`), if known.
    pub truth: Option<&'a Array2<f64>>,
}

impl<'a> Context<'a> {
    /// The context of a planted instance described by `spec` (k from exact-k or Zipf supports).
    pub fn for_spec(spec: &crate::instance::InstanceSpec, truth: Option<&'a Array2<f64>>) -> Self {
        Context {
            n_atoms: spec.n_atoms,
            dim: Some(spec.dim),
            sparsity: spec.codes.exact_sparsity(),
            truth,
        }
    }
}

/// The parameters set on a command line, in registry spelling: unset flags (`None`) are dropped;
/// a flag (or `-p` key) that `name` does not take, or a key set twice, is refused (dropping it
/// silently ran another model than the user asked for: `--nonneg` with omp wrote negative codes).
///
/// # Errors
/// An unknown method; a flag the method does not take.
pub fn params_from_flags(
    name: &str,
    flags: Vec<(&str, Option<Value>)>,
) -> Result<Vec<(String, Value)>> {
    let keys = lookup(name)?.keys;
    let mut out: Vec<(String, Value)> = Vec::new();
    for (k, v) in flags {
        let Some(v) = v else { continue };
        if out.iter().any(|(x, _)| x == k) {
            return Err(Error::invalid(
                "flag",
                format!("{k} given twice for method `{name}`"),
                "each parameter once (as a flag or as -p key=value, not both)",
            ));
        }
        if !keys.contains(&k) {
            // refuse, don't drop: `--nonneg` with omp silently wrote negative codes
            return Err(Error::invalid(
                "flag",
                format!("--{} with method `{name}`", k.replace('_', "-")),
                format!(
                    "only parameters that apply to `{name}` (as flags, or -p key=value): {}",
                    if keys.is_empty() {
                        "none of the method flags".to_string()
                    } else {
                        keys.iter()
                            .map(|k| format!("--{}", k.replace('_', "-")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ));
        }
        out.push((k.to_string(), v));
    }
    Ok(out)
}

/// [`build`] for a method that must be a coder.
///
/// # Errors
/// As [`build`]; a learner's name.
pub fn build_coder(name: &str, params: &[(String, Value)]) -> Result<Box<dyn SparseCoder>> {
    let ctx = Context {
        n_atoms: 0,
        dim: None,
        sparsity: None,
        truth: None,
    };
    match build(name, params, &ctx)? {
        Built::Coder(c) => Ok(c),
        Built::Learner(..) => Err(Error::invalid("method", name, "a sparse coder")),
    }
}

/// [`build`] for a method that must be a learner of `n_atoms` atoms (its initialization dropped);
/// `sparsity` is the data's k where the user knows it (`--sparsity` for methods that take k from
/// the instance, as the neural learners do).
///
/// # Errors
/// As [`build`]; a coder's name.
pub fn build_learner(
    name: &str,
    params: &[(String, Value)],
    n_atoms: usize,
    sparsity: Option<usize>,
) -> Result<Box<dyn DictionaryLearner>> {
    let ctx = Context {
        n_atoms,
        dim: None,
        sparsity,
        truth: None,
    };
    match build(name, params, &ctx)? {
        Built::Learner(l, _) => Ok(l),
        Built::Coder(_) => Err(Error::invalid("method", name, "a dictionary learner")),
    }
}

/// A built method.
pub enum Built {
    /// A sparse coder.
    Coder(Box<dyn SparseCoder>),
    /// A learner and its initialization.
    Learner(Box<dyn DictionaryLearner>, Init),
}

/// Typed access to a method's parameters; errors name `method.key`.
struct P<'a> {
    method: &'a str,
    kv: &'a [(String, Value)],
}

impl P<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.kv.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn bad(&self, key: &str, v: &Value, expected: &str) -> Error {
        Error::invalid(
            "method parameter",
            format!("{}.{key} = {v}", self.method),
            expected.to_string(),
        )
    }
    fn f64(&self, key: &str) -> Result<Option<f64>> {
        let x = self
            .get(key)
            .map(|v| {
                v.as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| self.bad(key, v, "a finite number"))
            })
            .transpose()?;
        // penalties and step sizes: refused here, by the plan check, not as error rows at run time
        if let (Some(x), true) = (x, POSITIVE.contains(&key))
            && x <= 0.0
        {
            let expected = match key {
                "lambda" => "λ > 0",
                "eta" => "a step η > 0",
                "tau" => "a threshold τ > 0",
                "lr" => "a learning rate > 0",
                _ => "a number > 0",
            };
            return Err(self.bad(key, &Value::Float(x), expected));
        }
        Ok(x)
    }
    fn usize(&self, key: &str) -> Result<Option<usize>> {
        let n = self
            .get(key)
            .map(|v| {
                v.as_usize()
                    .ok_or_else(|| self.bad(key, v, "a non-negative integer"))
            })
            .transpose()?;
        // zero iterations / starts would return the start unoptimised, reported as a result
        if n == Some(0) && COUNTS.contains(&key) {
            return Err(self.bad(key, &Value::Int(0), "at least 1"));
        }
        Ok(n)
    }
    fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(key)
            .map(|v| match v {
                Value::Bool(b) => Ok(*b),
                _ => Err(self.bad(key, v, "true or false")),
            })
            .transpose()
    }
    fn str(&self, key: &str) -> Result<Option<&str>> {
        self.get(key)
            .map(|v| v.as_str().ok_or_else(|| self.bad(key, v, "a string")))
            .transpose()
    }
    fn required_f64(&self, key: &str) -> Result<f64> {
        self.f64(key)?.ok_or_else(|| {
            Error::invalid(
                "method parameter",
                format!("{}.{key}", self.method),
                format!(
                    "a value for `{key}` (method `{}` needs it: `--{}` on the command line, `{key} = …` in a plan)",
                    self.method,
                    key.replace('_', "-")
                ),
            )
        })
    }
    fn sparsity(&self, ctx: &Context<'_>) -> Result<usize> {
        match self.usize("sparsity")? {
            Some(k) => Ok(k),
            None => ctx.sparsity.ok_or_else(|| {
                Error::invalid(
                    "method parameter",
                    format!("{}.sparsity", self.method),
                    format!(
                        "a value for `sparsity` (method `{}` needs it: `--sparsity <k>` on the command line, `sparsity = k` in a plan when the instance has no exact sparsity)",
                        self.method
                    ),
                )
            }),
        }
    }
}

/// Build method `name` with `params` for an instance described by `ctx`.
///
/// # Errors
/// An unknown method or parameter, a parameter of the wrong type, a required parameter missing.
/// Parameter ranges are checked by the method itself when it runs.
pub fn build(name: &str, params: &[(String, Value)], ctx: &Context<'_>) -> Result<Built> {
    use crate::code::*;
    use crate::learn::*;
    let def = check_keys(name, params)?;
    let p = P {
        method: name,
        kv: params,
    };
    let m = ctx.n_atoms;
    if def.kind == Kind::Coder {
        let nonneg = p.bool("nonneg")?.unwrap_or(false);
        let coder: Box<dyn SparseCoder> = match name {
            "omp" => match p.f64("tol")? {
                Some(eps) => Box::new(Omp::with_tolerance(eps)),
                None => Box::new(Omp::with_sparsity(p.sparsity(ctx)?)),
            },
            "lasso" | "lars" => Box::new(LarsLasso::new(p.required_f64("lambda")?).nonneg(nonneg)),
            "fista" => Box::new(Pgm::fista(p.required_f64("lambda")?).nonneg(nonneg)),
            "ista" => Box::new(Pgm::ista(p.required_f64("lambda")?).nonneg(nonneg)),
            "cd" => Box::new(CoordinateDescent::new(p.required_f64("lambda")?).nonneg(nonneg)),
            "iht" => Box::new(Iht::new(p.sparsity(ctx)?)),
            _ => unreachable!("every coder in METHODS has an arm"),
        };
        return Ok(Built::Coder(coder));
    }
    let coder = || -> Result<Box<dyn SparseCoder>> {
        Ok(match p.f64("lambda")? {
            Some(l) => Box::new(LarsLasso::new(l)),
            None => Box::new(Omp::with_sparsity(p.sparsity(ctx)?)),
        })
    };
    let iters = |d: usize| -> Result<usize> { Ok(p.usize("iters")?.unwrap_or(d)) };
    let learner: Box<dyn DictionaryLearner> = match name {
        "mod" => {
            Box::new(AlternatingMinimization::new(coder()?, Mod::default()).max_iters(iters(50)?))
        }
        "bcd" => {
            Box::new(AlternatingMinimization::new(coder()?, Bcd::default()).max_iters(iters(50)?))
        }
        "ksvd" => Box::new(
            AlternatingMinimization::new(Omp::with_sparsity(p.sparsity(ctx)?), Ksvd::exact())
                .max_iters(iters(50)?),
        ),
        "aksvd" => Box::new(
            AlternatingMinimization::new(Omp::with_sparsity(p.sparsity(ctx)?), Ksvd::approximate())
                .max_iters(iters(50)?),
        ),
        "online" => {
            let mut o = OnlineDl::new(coder()?);
            if let Some(b) = p.usize("batch")? {
                o.batch = b;
            }
            if let Some(e) = p.f64("epochs")? {
                o.epochs = e;
            }
            Box::new(o)
        }
        "altmin" => {
            let mut a = AltMinDict {
                max_iters: iters(30)?,
                ..Default::default()
            };
            if let Some(e) = p.f64("eps0")? {
                a.eps0 = e;
            }
            if let Some(e) = p.f64("eps_min")? {
                a.eps_min = e;
            }
            Box::new(a)
        }
        "arora" | "noodl" => {
            let tau = p.f64("tau")?.unwrap_or(0.5);
            let eta = match p.f64("eta")? {
                Some(e) => e,
                None => m as f64 / p.sparsity(ctx)? as f64,
            };
            let mut a = if name == "arora" {
                ApproxGradient::arora(tau, eta)
            } else {
                ApproxGradient::noodl(tau, eta)
            };
            if let Some(b) = p.usize("batch")? {
                a.batch = b;
            }
            if let Some(e) = p.f64("epochs")? {
                a.epochs = e;
            }
            Box::new(a)
        }
        "msp" if ctx.dim.is_some_and(|n| n != m) => {
            return Err(Error::invalid(
                "method",
                format!(
                    "msp on m = {m} atoms, n = {} dimensions",
                    ctx.dim.unwrap_or(0)
                ),
                "a complete dictionary (m = n): in a plan, restrict it with `when = { n_atoms = n }`; for m > n use `l4`",
            ));
        }
        "msp" => Box::new(Msp {
            max_iters: iters(200)?,
            polish_iters: p.usize("polish")?.unwrap_or(0),
            ..Default::default()
        }),
        "l4" => {
            let theta = match (p.f64("theta")?, p.usize("sparsity")?.or(ctx.sparsity)) {
                (Some(t), _) => t,
                (None, Some(k)) => k as f64 / m as f64,
                (None, None) => 0.1,
            };
            let mut l = L4Sphere::new(theta);
            if let Some(i) = p.usize("iters")? {
                l.iters = i;
            }
            if let Some(s) = p.usize("starts")? {
                l.starts = s;
            }
            if let Some(r) = p.usize("rounds")? {
                l.rounds = r;
            }
            if !p.bool("whiten")?.unwrap_or(true) {
                l.precondition = Precondition::None;
            }
            match p.str("sphere_solver")? {
                None | Some("power") => {}
                Some("rgd") => l.solver = SphereSolver::Rgd { step: 1.0 },
                Some(other) => {
                    return Err(p.bad(
                        "sphere_solver",
                        &Value::from(other),
                        "\"power\" or \"rgd\"",
                    ));
                }
            }
            Box::new(l)
        }
        "relu_ae" | "sae" | "unrolled" | "lista_dl" => neural(&p, ctx)?,
        _ => unreachable!("every learner in METHODS has an arm"),
    };
    let init = match p.str("init")?.unwrap_or("data") {
        "data" => Init::RandomData,
        "gaussian" => Init::Gaussian,
        "spectral" => Init::Spectral(Default::default()),
        "clustering" => Init::Clustering(Default::default()),
        "near" => Init::NearTruth {
            truth: ctx.truth.cloned().ok_or_else(|| {
                Error::invalid(
                    "method parameter",
                    format!("{name}.init = near"),
                    "a planted dictionary (init = \"near\" works in sweeps over planted instances)",
                )
            })?,
            dist: p.f64("init_dist")?.unwrap_or(0.5),
        },
        other => {
            return Err(p.bad(
                "init",
                &Value::from(other),
                "one of \"data\", \"gaussian\", \"spectral\", \"clustering\", \"near\"",
            ));
        }
    };
    Ok(Built::Learner(learner, init))
}

/// The neural learners of [`crate::neural::learners`].
fn neural(p: &P<'_>, ctx: &Context<'_>) -> Result<Box<dyn DictionaryLearner>> {
    use crate::neural::learners::{ListaLearner, ReluAeLearner, SaeLearner, UnrolledLearner};
    use crate::neural::lista::ListaKind;
    use crate::neural::relu_ae::Unit;
    use crate::neural::sae::{SaeKind, SaeTrainer};
    use crate::neural::unrolled::Gradient;
    let m = ctx.n_atoms;
    Ok(match p.method {
        "relu_ae" => {
            let quantile = match p.f64("quantile")? {
                Some(q) => q,
                None => 1.0 - p.sparsity(ctx)? as f64 / m.max(1) as f64,
            };
            let mut l = ReluAeLearner::new(p.usize("iters")?.unwrap_or(300), quantile);
            if let Some(lr) = p.f64("lr")? {
                l.lr = lr;
            }
            l.unit = match p.str("unit")?.unwrap_or("relu") {
                "relu" => Unit::Relu,
                "sign" => Unit::Sign {
                    scale: 1.0,
                    bandwidth: 0.5,
                },
                other => return Err(p.bad("unit", &Value::from(other), "\"relu\" or \"sign\"")),
            };
            l.untied = p.bool("untied")?.unwrap_or(false);
            Box::new(l)
        }
        "sae" => {
            let kind_name = p.str("kind")?.unwrap_or("topk");
            let lambda = p.f64("lambda")?;
            if kind_name == "topk" && lambda.is_some() {
                return Err(Error::invalid(
                    "method parameter",
                    "sae.lambda",
                    "no `lambda` with kind = \"topk\" (TopK has no penalty; set `k`)",
                ));
            }
            let need_lambda = || {
                lambda.ok_or_else(|| {
                    Error::invalid(
                        "method parameter",
                        format!("sae.lambda (kind = {kind_name})"),
                        "a value for `lambda` (the L1 / L0 weight), e.g. lambda = 0.1",
                    )
                })
            };
            let kind = match kind_name {
                "topk" => SaeKind::TopK {
                    k: match p.usize("k")? {
                        Some(k) => k,
                        None => p.sparsity(ctx)?,
                    },
                },
                "relu_l1" => SaeKind::ReluL1 {
                    lambda: need_lambda()?,
                },
                "jumprelu" => SaeKind::JumpRelu {
                    lambda: need_lambda()?,
                    bandwidth: p.f64("bandwidth")?.unwrap_or(0.05),
                },
                other => {
                    return Err(p.bad(
                        "kind",
                        &Value::from(other),
                        "one of \"topk\", \"relu_l1\", \"jumprelu\"",
                    ));
                }
            };
            let mut t = SaeTrainer::new(kind, m);
            // defaults: SaeTrainer::new's (one place; tests/registry_defaults.rs)
            if let Some(s) = p.usize("steps")? {
                t.steps = s;
            }
            if let Some(th) = p.f64("theta0")? {
                t.theta0 = th;
            }
            if let Some(b) = p.usize("batch")? {
                t.batch = b;
            }
            if let Some(lr) = p.f64("lr")? {
                t.lr = lr;
            }
            Box::new(SaeLearner { trainer: t })
        }
        "lista_dl" => {
            let network = match p.str("network")?.unwrap_or("slista") {
                "slista" => ListaKind::Slista,
                "lista" => ListaKind::Lista,
                other => {
                    return Err(p.bad(
                        "network",
                        &Value::from(other),
                        "\"slista\" (encoder tied to D, learned steps) or \"lista\" (free encoder weights); ALISTA's W depends on D and cannot be trained with it",
                    ));
                }
            };
            let mut l = ListaLearner::new(
                network,
                p.usize("layers")?.unwrap_or(10),
                p.required_f64("lambda")?,
            );
            if let Some(s) = p.usize("steps")? {
                l.trainer.steps = s;
            }
            if let Some(b) = p.usize("batch")? {
                l.trainer.batch = b;
            }
            if let Some(lr) = p.f64("lr")? {
                l.trainer.lr = lr;
            }
            if let Some(lr) = p.f64("lr_dict")? {
                l.trainer.lr_dict = lr;
            }
            Box::new(l)
        }
        _ => {
            let gradient = match p.str("gradient")?.unwrap_or("dec") {
                "dec" => Gradient::Dec,
                "ae_lasso" => Gradient::AE_LASSO,
                "ae_ls" => Gradient::AE_LS,
                "noodl" => Gradient::Noodl,
                "implicit" => Gradient::Implicit,
                other => {
                    return Err(p.bad(
                        "gradient",
                        &Value::from(other),
                        "one of \"dec\", \"ae_lasso\", \"ae_ls\", \"noodl\", \"implicit\"",
                    ));
                }
            };
            let mut l = UnrolledLearner::new(
                gradient,
                p.usize("layers")?.unwrap_or(25),
                p.required_f64("lambda")?,
            );
            if let Some(a) = p.f64("alpha_l")? {
                l.alpha_l = a;
            }
            l.nonneg = p.bool("nonneg")?.unwrap_or(false);
            l.steps = p.usize("steps")?.unwrap_or(300);
            if let Some(lr) = p.f64("lr")? {
                l.lr = lr;
            }
            l.batch = p.usize("batch")?;
            Box::new(l)
        }
    })
}

/// The parametrised identity of a method: `name` alone, or `name[k1=v1,k2=v2]` in parameter order
/// (what the `method` column of a sweep holds, e.g. `fista[lambda=0.1]`).
pub fn method_id(name: &str, params: &[(String, Value)]) -> String {
    if params.is_empty() {
        name.to_string()
    } else {
        let kv: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{name}[{}]", kv.join(","))
    }
}
