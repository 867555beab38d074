//! Methods by name: the one list of every method ([`METHODS`]) and the one place where a method's
//! name and parameters become a sparse coder or a dictionary learner ([`build`]). The command line
//! (`dictlab encode`, `dictlab learn`, `dictlab methods`) and sweep plans (`[[method]]` entries)
//! all go through it, so a method behaves the same everywhere.
//!
//! Each method is described by a [`crate::spec::MethodSpec`] written next to its struct (name,
//! summary, parameters with type, default, range and doc, constructor); this module only lists
//! them. Every learner also takes `init` and `init_dist` ([`crate::learn::INIT_PARAMS`]).
//!
//! **Adding a method**: write it in its own file with its `SPEC` constant, then add one line
//! `mod FILE: SPEC;` to the [`crate::method_modules!`] list of its directory's `mod.rs` (which
//! declares the module and registers the spec; [`METHODS`] concatenates the lists). The table below is generated from the specs (`dictlab methods --markdown`;
//! `tests/method_specs.rs` fails when it is stale).
//!
#![doc = include_str!("../docs/methods.md")]

use crate::code::{CoderSpec, SparseCoder};
use crate::conv::{ConvCoder, ConvCoderSpec, ConvLearner, ConvLearnerSpec};
use crate::error::{Error, Result};
use crate::learn::{DictionaryLearner, Init, LearnerSpec};
pub use crate::spec::Context;
use crate::spec::{Param, Params};
use crate::table::Value;

/// Whether a method codes signals against a known dictionary or learns one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A sparse coder (run on the planted dictionary; measured by support recovery).
    Coder,
    /// A dictionary learner (measured by dictionary recovery).
    Learner,
    /// A convolutional sparse coder (`dictlab conv encode`).
    ConvCoder,
    /// A convolutional dictionary learner (`dictlab conv learn`).
    ConvLearner,
}

impl Kind {
    /// Whether the method works on convolutional problems (3-D arrays; `dictlab conv`), which
    /// dense sweep plans do not hold.
    pub fn is_conv(self) -> bool {
        matches!(self, Kind::ConvCoder | Kind::ConvLearner)
    }
    /// Lower-case name, as `dictlab methods` and docs/methods.md write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Coder => "coder",
            Kind::Learner => "learner",
            Kind::ConvCoder => "convolutional coder",
            Kind::ConvLearner => "convolutional learner",
        }
    }
}

/// One registered method: a coder's or a learner's spec.
#[derive(Clone, Copy)]
pub enum Method {
    /// A sparse coder.
    Coder(&'static CoderSpec),
    /// A dictionary learner.
    Learner(&'static LearnerSpec),
    /// A convolutional sparse coder.
    ConvCoder(&'static ConvCoderSpec),
    /// A convolutional dictionary learner.
    ConvLearner(&'static ConvLearnerSpec),
}

/// The number of methods: the lengths of the modules' lists.
const N_METHODS: usize = crate::code::CODER_SPECS.len()
    + crate::learn::LEARNER_SPECS.len()
    + crate::neural::LEARNER_SPECS.len()
    + crate::conv::CODER_SPECS.len()
    + crate::conv::LEARNER_SPECS.len();

/// The modules' lists ([`crate::method_modules!`]) concatenated at compile time.
const METHOD_ARRAY: [Method; N_METHODS] = {
    let mut out = [Method::Coder(crate::code::CODER_SPECS[0]); N_METHODS];
    let mut i = 0;
    let mut j = 0;
    while j < crate::code::CODER_SPECS.len() {
        out[i] = Method::Coder(crate::code::CODER_SPECS[j]);
        i += 1;
        j += 1;
    }
    j = 0;
    while j < crate::learn::LEARNER_SPECS.len() {
        out[i] = Method::Learner(crate::learn::LEARNER_SPECS[j]);
        i += 1;
        j += 1;
    }
    j = 0;
    while j < crate::neural::LEARNER_SPECS.len() {
        out[i] = Method::Learner(crate::neural::LEARNER_SPECS[j]);
        i += 1;
        j += 1;
    }
    j = 0;
    while j < crate::conv::CODER_SPECS.len() {
        out[i] = Method::ConvCoder(crate::conv::CODER_SPECS[j]);
        i += 1;
        j += 1;
    }
    j = 0;
    while j < crate::conv::LEARNER_SPECS.len() {
        out[i] = Method::ConvLearner(crate::conv::LEARNER_SPECS[j]);
        i += 1;
        j += 1;
    }
    out
};

/// Every method, in the order `dictlab methods` lists them: the coders of `code/`, the learners
/// of `learn/` and `neural/`, the convolutional coders and learners of `conv/` — each directory's
/// list written once, by [`crate::method_modules!`] in its `mod.rs`. **Adding a method is its
/// file and one line there.**
pub const METHODS: &[Method] = &METHOD_ARRAY;

impl Method {
    /// Name as written in plans and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Coder(s) => s.name,
            Method::Learner(s) => s.name,
            Method::ConvCoder(s) => s.name,
            Method::ConvLearner(s) => s.name,
        }
    }
    /// Coder or learner.
    pub fn kind(&self) -> Kind {
        match self {
            Method::Coder(_) => Kind::Coder,
            Method::Learner(_) => Kind::Learner,
            Method::ConvCoder(_) => Kind::ConvCoder,
            Method::ConvLearner(_) => Kind::ConvLearner,
        }
    }
    /// One line: what the method is.
    pub fn summary(&self) -> &'static str {
        match self {
            Method::Coder(s) => s.summary,
            Method::Learner(s) => s.summary,
            Method::ConvCoder(s) => s.summary,
            Method::ConvLearner(s) => s.summary,
        }
    }
    /// Which side of the benchmark it is on.
    pub fn family(&self) -> crate::spec::Family {
        match self {
            Method::Coder(s) => s.family,
            Method::Learner(s) => s.family,
            Method::ConvCoder(s) => s.family,
            Method::ConvLearner(s) => s.family,
        }
    }
    /// Every parameter it takes (a learner's own, then `init`, `init_dist`; every method's last
    /// is `track`).
    pub fn params(&self) -> Vec<&'static Param> {
        let track = std::iter::once(&crate::spec::TRACK);
        match self {
            Method::Coder(s) => s.params.iter().chain(track).collect(),
            Method::Learner(s) => s
                .params
                .iter()
                .chain(crate::learn::INIT_PARAMS.iter())
                .chain(track)
                .collect(),
            // no sweep plan holds them yet, so no `track` either
            Method::ConvCoder(s) => s.params.iter().collect(),
            Method::ConvLearner(s) => s.params.iter().collect(),
        }
    }
    /// The parameter `key`, if the method takes it.
    pub fn param(&self, key: &str) -> Option<&'static Param> {
        self.params().into_iter().find(|p| p.key == key)
    }
    /// Accepted parameter keys.
    pub fn keys(&self) -> Vec<&'static str> {
        self.params().iter().map(|p| p.key).collect()
    }
    /// How its iteration cap counts passes over the data.
    pub fn budget(&self) -> crate::spec::Budget {
        match self {
            Method::Coder(s) => s.budget,
            Method::Learner(s) => s.budget,
            Method::ConvCoder(s) => s.budget,
            Method::ConvLearner(s) => s.budget,
        }
    }
    /// `params` validated against this method's declared parameters.
    ///
    /// # Errors
    /// An unknown or repeated key, a value of the wrong type or out of range.
    pub fn validate<'a>(&self, params: &'a [(String, Value)]) -> Result<Params<'a>> {
        Params::new(self.name(), self.params(), params)
    }
}

/// The family of a method id (`unrolled[gradient=ae_ls,…]` → neural), read from its spec; `None`
/// for a name the registry does not know.
pub fn family_of(method_id: &str) -> Option<crate::spec::Family> {
    let name = method_id.split('[').next().unwrap_or(method_id);
    lookup(name).ok().map(|m| m.family())
}

/// A method id (`name` or `name[k1=v1,…]`, as [`method_id`] writes it) read back into its name
/// and parameters (numbers as numbers, `true`/`false` as booleans, other values as words).
pub fn parse_method_id(id: &str) -> (String, Vec<(String, Value)>) {
    let Some((name, rest)) = id.split_once('[') else {
        return (id.to_string(), Vec::new());
    };
    let rest = rest.strip_suffix(']').unwrap_or(rest);
    let params = rest
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let value = if let Ok(i) = v.parse::<i64>() {
                Value::Int(i)
            } else if let Ok(x) = v.parse::<f64>() {
                Value::Float(x)
            } else if v == "true" || v == "false" {
                Value::Bool(v == "true")
            } else {
                Value::from(v)
            };
            (k.to_string(), value)
        })
        .collect();
    (name.to_string(), params)
}

/// What a method id reads about an instance with an exact sparsity, found by building it
/// (its start left out) against a small context in which every fact is known: the
/// [`crate::spec::Told`] of results written before rows recorded it. `None` when the id does not
/// build.
pub fn told_of_id(id: &str) -> Option<crate::spec::Told> {
    let (name, params) = parse_method_id(id);
    let params: Vec<(String, Value)> = params
        .into_iter()
        .filter(|(k, _)| k != "init" && k != "init_dist")
        .collect();
    let ctx = Context {
        n_atoms: 4,
        dim: Some(4),
        sparsity: Some(1),
        sparsity_estimate: Some(1),
        signal_power: Some(1.0),
        ..Context::default()
    };
    build(&name, &params, &ctx).ok()?;
    Some(ctx.told.get())
}

/// The method called `name`, or an error listing the known names.
///
/// # Errors
/// An unknown name.
pub fn lookup(name: &str) -> Result<&'static Method> {
    METHODS.iter().find(|d| d.name() == name).ok_or_else(|| {
        Error::invalid(
            "method",
            name,
            format!(
                "one of {}",
                METHODS
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
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
    let keys = lookup(name)?.keys();
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
            return Err(Error::invalid(
                "flag",
                format!("--{} with method `{name}`", k.replace('_', "-")),
                format!(
                    "only parameters that apply to `{name}` (as flags, or -p key=value): {}",
                    keys.iter()
                        .map(|k| format!("--{}", k.replace('_', "-")))
                        .collect::<Vec<_>>()
                        .join(", ")
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
    match build(name, params, &Context::default())? {
        Built::Coder(c) => Ok(c),
        _ => Err(Error::invalid("method", name, "a sparse coder")),
    }
}

/// [`build`] for a method that must be a learner, with its start.
///
/// # Errors
/// As [`build`]; a coder's name.
pub fn build_learner(
    name: &str,
    params: &[(String, Value)],
    ctx: &Context<'_>,
) -> Result<(Box<dyn DictionaryLearner>, Init)> {
    match build(name, params, ctx)? {
        Built::Learner(l, init) => Ok((l, init)),
        _ => Err(Error::invalid("method", name, "a dictionary learner")),
    }
}

/// A built method.
pub enum Built {
    /// A sparse coder.
    Coder(Box<dyn SparseCoder>),
    /// A learner and its initialization.
    Learner(Box<dyn DictionaryLearner>, Init),
    /// A convolutional sparse coder.
    ConvCoder(Box<dyn ConvCoder>),
    /// A convolutional dictionary learner (its start is in its parameters).
    ConvLearner(Box<dyn ConvLearner>),
}

/// [`build`] for a method that must be a convolutional coder.
///
/// # Errors
/// As [`build`]; another kind's name.
pub fn build_conv_coder(name: &str, params: &[(String, Value)]) -> Result<Box<dyn ConvCoder>> {
    match build(name, params, &Context::default())? {
        Built::ConvCoder(c) => Ok(c),
        _ => Err(Error::invalid(
            "method",
            name,
            "a convolutional coder (`dictlab methods` lists them)",
        )),
    }
}

/// [`build`] for a method that must be a convolutional learner.
///
/// # Errors
/// As [`build`]; another kind's name.
pub fn build_conv_learner(name: &str, params: &[(String, Value)]) -> Result<Box<dyn ConvLearner>> {
    match build(name, params, &Context::default())? {
        Built::ConvLearner(l) => Ok(l),
        _ => Err(Error::invalid(
            "method",
            name,
            "a convolutional learner (`dictlab methods` lists them)",
        )),
    }
}

/// Build method `name` with `params` for an instance described by `ctx`.
///
/// # Errors
/// An unknown method or parameter, a parameter of the wrong type or out of range, a required
/// parameter missing, a combination the method refuses.
pub fn build(name: &str, params: &[(String, Value)], ctx: &Context<'_>) -> Result<Built> {
    let def = lookup(name)?;
    let p = def.validate(params)?;
    Ok(match def {
        Method::Coder(s) => Built::Coder((s.build)(&p, ctx)?),
        Method::Learner(s) => Built::Learner(
            (s.build)(&p, ctx)?,
            crate::learn::init_from_params(&p, ctx)?,
        ),
        Method::ConvCoder(s) => Built::ConvCoder((s.build)(&p, ctx)?),
        Method::ConvLearner(s) => Built::ConvLearner((s.build)(&p, ctx)?),
    })
}

/// Parameters with the budget's cap added, and the signals one engine iteration touches.
pub type Budgeted = (Vec<(String, Value)>, Option<usize>);

/// The parameters of `name` under a budget of `passes` passes over `n_samples` signals: its
/// iteration cap set from the budget unless `params` set it (see [`crate::spec::Budget`]), and
/// the signals one engine iteration touches (`None` for methods not capped by passes).
///
/// # Errors
/// As [`lookup`] and [`Method::validate`].
pub fn budgeted(
    name: &str,
    params: &[(String, Value)],
    passes: Option<f64>,
    n_samples: usize,
) -> Result<Budgeted> {
    let allowance = crate::spec::Allowance {
        passes,
        min_steps: None,
    };
    budgeted_with(name, params, allowance, n_samples)
}

/// As [`budgeted`] with a whole allowance: passes, and the least number of optimizer steps of a
/// minibatch learner.
///
/// # Errors
/// As [`budgeted`].
pub fn budgeted_with(
    name: &str,
    params: &[(String, Value)],
    allowance: crate::spec::Allowance,
    n_samples: usize,
) -> Result<Budgeted> {
    let def = lookup(name)?;
    let p = def.validate(params)?;
    // the cap sets the steps/epochs/iters key, never the batch size the count reads
    let per = def.budget().signals_per_iter(&p, n_samples);
    let cap = allowance
        .passes
        .and_then(|b| def.budget().cap(&p, b, allowance.min_steps, n_samples));
    let mut out = params.to_vec();
    out.extend(cap);
    Ok((out, per))
}

/// The parameter table of every method (Markdown), as in docs/methods.md.
pub fn methods_markdown() -> String {
    let mut s = String::from(
        "<!-- generated by `dictlab methods --markdown` from the specs (src/spec.rs); do not edit -->\n\n",
    );
    for m in METHODS {
        let kind = m.kind().as_str();
        s.push_str(&format!(
            "### `{}` ({kind})\n\n{}\n\n",
            m.name(),
            m.summary()
        ));
        s.push_str(&crate::spec::params_markdown(&m.params()));
        s.push('\n');
    }
    s
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
