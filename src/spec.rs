//! Method specifications: each method's name, parameters (type, default, range, one line of doc)
//! and constructor, written once next to the method's struct and read by everything else — the
//! registry ([`crate::registry`]), the plan check, the command line (`dictlab learn --method NAME
//! -p key=value`, `dictlab methods NAME`) and the generated parameter table (docs/methods.md).
//!
//! A spec is a `const` [`MethodSpec`]; its `build` function receives validated [`Params`]: every
//! key is one the method declares, every value has the declared type and lies in the declared range
//! (counts ≥ 1, step sizes > 0, choices from the list), and a parameter that is not set reads as
//! its declared default. So a default lives in exactly one place — the spec — and the struct's
//! `Default` uses the same constant (checked for every method by `tests/method_specs.rs`).

use crate::error::{Error, Result};
use crate::table::Value;
use ndarray::Array2;

/// The type and range of a parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ty {
    /// An integer ≥ 1 (iterations, batch sizes, sparsity).
    Count,
    /// An integer ≥ 0.
    Natural,
    /// A finite number > 0 (penalties, step sizes, passes over the data).
    Positive,
    /// A finite number ≥ 0.
    NonNegative,
    /// A finite number in (0, 1].
    Fraction,
    /// A finite number in the open interval (lo, hi).
    Between(f64, f64),
    /// A finite number.
    Number,
    /// `true` or `false`.
    Bool,
    /// One of the listed words.
    Choice(&'static [&'static str]),
}

impl Ty {
    /// How the type reads in a table ("integer ≥ 1", "one of a, b").
    pub fn describe(&self) -> String {
        match self {
            Ty::Count => "integer ≥ 1".into(),
            Ty::Natural => "integer ≥ 0".into(),
            Ty::Positive => "number > 0".into(),
            Ty::NonNegative => "number ≥ 0".into(),
            Ty::Fraction => "number in (0, 1]".into(),
            Ty::Between(lo, hi) => format!("number in ({lo}, {hi})"),
            Ty::Number => "number".into(),
            Ty::Bool => "true/false".into(),
            Ty::Choice(c) => format!("one of {}", c.join(", ")),
        }
    }
    /// `v` checked against the type: `Ok(value)` as stored, else what would be valid.
    fn check(&self, v: &Value) -> std::result::Result<(), String> {
        let num = |v: &Value| match v {
            Value::Int(_) | Value::Float(_) => v.as_f64().filter(|x| x.is_finite()),
            _ => None,
        };
        let ok = match self {
            Ty::Count => matches!(v, Value::Int(i) if *i >= 1),
            Ty::Natural => matches!(v, Value::Int(i) if *i >= 0),
            Ty::Positive => num(v).is_some_and(|x| x > 0.0),
            Ty::NonNegative => num(v).is_some_and(|x| x >= 0.0),
            Ty::Fraction => num(v).is_some_and(|x| x > 0.0 && x <= 1.0),
            Ty::Between(lo, hi) => num(v).is_some_and(|x| x > *lo && x < *hi),
            Ty::Number => num(v).is_some(),
            Ty::Bool => matches!(v, Value::Bool(_)),
            Ty::Choice(c) => v.as_str().is_some_and(|s| c.contains(&s)),
        };
        if ok {
            Ok(())
        } else {
            Err(match self {
                Ty::Count => "an integer ≥ 1".to_string(),
                Ty::Natural => "an integer ≥ 0".to_string(),
                Ty::Positive => "a finite number > 0".to_string(),
                Ty::NonNegative => "a finite number ≥ 0".to_string(),
                Ty::Fraction => "a number in (0, 1]".to_string(),
                Ty::Between(lo, hi) => format!("a number in ({lo}, {hi})"),
                Ty::Number => "a finite number".to_string(),
                Ty::Bool => "true or false".to_string(),
                Ty::Choice(c) => format!(
                    "one of {}",
                    c.iter()
                        .map(|s| format!("\"{s}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
    }
}

/// A parameter's default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dflt {
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A word (of a [`Ty::Choice`]).
    Str(&'static str),
    /// Derived from the instance or from other parameters when unset; the text says how
    /// (e.g. "instance k", "m/k", "off").
    Auto(&'static str),
    /// No default: the method needs a value.
    Required,
}

impl Dflt {
    /// The default as a value (`None` for [`Dflt::Auto`] and [`Dflt::Required`]).
    pub fn value(&self) -> Option<Value> {
        match *self {
            Dflt::Int(i) => Some(Value::Int(i)),
            Dflt::Float(x) => Some(Value::Float(x)),
            Dflt::Bool(b) => Some(Value::Bool(b)),
            Dflt::Str(s) => Some(Value::from(s)),
            Dflt::Auto(_) | Dflt::Required => None,
        }
    }
    /// How the default reads in a table.
    pub fn describe(&self) -> String {
        match self {
            Dflt::Auto(t) => (*t).to_string(),
            Dflt::Required => "required".to_string(),
            // 1e-10, not 0.0000000001
            &Dflt::Float(x) if x != 0.0 && x.abs() < 1e-4 => format!("{x:e}"),
            other => other.value().map(|v| v.to_string()).unwrap_or_default(),
        }
    }
}

/// One parameter of a method.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Key as written in plans and after `-p` on the command line.
    pub key: &'static str,
    /// Type and range.
    pub ty: Ty,
    /// Default.
    pub default: Dflt,
    /// One line of doc.
    pub doc: &'static str,
}

impl Param {
    /// A parameter.
    pub const fn new(key: &'static str, ty: Ty, default: Dflt, doc: &'static str) -> Self {
        Param {
            key,
            ty,
            default,
            doc,
        }
    }
}

/// Which side of the benchmark a method belongs to (read by findings, reports and notebooks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// A sparse coder run on the planted dictionary (the reference: what coding alone can do).
    Coder,
    /// A classical dictionary learner (alternating minimization, moments, ℓ4, …).
    Classical,
    /// A neural learner trained by gradient on a reconstruction loss (`crate::neural`).
    Neural,
}

impl Family {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Coder => "coder",
            Family::Classical => "classical",
            Family::Neural => "neural",
        }
    }
}

/// The information track a method runs in (the `track` parameter every method takes; the
/// benchmark's fair contest, docs/protocols.md §6): what it may be told about the instance
/// beyond its signals and the number of atoms m.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Track {
    /// The instance's true sparsity k is given to every method that uses a sparsity (OMP coding
    /// steps, TopK, the bias of the ReLU autoencoder, the λ rule of Lasso-type learners).
    Oracle,
    /// Nothing is given: every method that uses a sparsity gets the one k̂ estimated from the
    /// signals ([`Context::sparsity_estimate`], `learn::estimate_sparsity`); σ is never given.
    Blind,
}

impl Track {
    /// The word in plans and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Track::Oracle => "oracle",
            Track::Blind => "blind",
        }
    }
    /// The track of a method's parameters (`track`, default oracle).
    pub fn of(params: &[(String, Value)]) -> Track {
        match params.iter().find(|(k, _)| k == "track") {
            Some((_, v)) if v.as_str() == Some("blind") => Track::Blind,
            _ => Track::Oracle,
        }
    }
}

/// What a run of a method actually read about the instance (recorded per row as `told`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Told {
    /// No fact about the instance beyond its signals and m.
    #[default]
    Nothing,
    /// The true sparsity k (from the instance or set by hand).
    Sparsity,
    /// The sparsity k̂ estimated from the signals (blind track).
    Estimate,
}

impl Told {
    /// `nothing`, `k` or `k_hat`.
    pub fn as_str(self) -> &'static str {
        match self {
            Told::Nothing => "nothing",
            Told::Sparsity => "k",
            Told::Estimate => "k_hat",
        }
    }
}

/// The parameter every method takes: its information track.
pub const TRACK: Param = Param::new(
    "track",
    Ty::Choice(&["oracle", "blind"]),
    Dflt::Str("oracle"),
    "what it is told: oracle = the instance's true k where it uses one; blind = nothing (k̂ estimated from the signals)",
);

/// The parameter of Lasso-type methods that sets λ by the k-matched rule.
pub const LAMBDA_SCALE: Param = Param::new(
    "lambda_scale",
    Ty::Positive,
    Dflt::Auto("unset: λ as given"),
    "λ = c·√(mean‖y‖² / k) with this c (k: true k or k̂ by track; instead of `lambda`)",
);

/// What the instance tells a method that is not in its parameters.
#[derive(Clone, Debug, Default)]
pub struct Context<'a> {
    /// Atoms to learn (m); 0 for coders.
    pub n_atoms: usize,
    /// The signal dimension n, if known (checks methods that need m = n before they run).
    pub dim: Option<usize>,
    /// The instance's exact sparsity k, if its supports have one (default for `sparsity` in the
    /// oracle track).
    pub sparsity: Option<usize>,
    /// The sparsity k̂ estimated from the signals (`learn::estimate_sparsity`): what the blind
    /// track uses where the oracle track uses k.
    pub sparsity_estimate: Option<usize>,
    /// mean ‖y‖² of the training signals (the λ rule of [`LAMBDA_SCALE`]).
    pub signal_power: Option<f64>,
    /// The planted dictionary (for `init = "near"`), if known.
    pub truth: Option<&'a Array2<f64>>,
    /// What the method read while it was built ([`Params::sparsity`] records it).
    pub told: std::cell::Cell<Told>,
}

/// A method: name, one-line summary, parameters and constructor. `B` is what it builds (a boxed
/// coder or learner).
pub struct MethodSpec<B: 'static> {
    /// Name as written in plans and on the command line.
    pub name: &'static str,
    /// One line: what the method is (and its paper).
    pub summary: &'static str,
    /// Which side of the benchmark it is on.
    pub family: Family,
    /// Parameters, in the order they are listed.
    pub params: &'static [Param],
    /// Which parameter caps the work, in passes over the data (a plan's `passes` budget).
    pub budget: Budget,
    /// Constructor from validated parameters.
    pub build: fn(&Params<'_>, &Context<'_>) -> Result<B>,
}

/// A learner's compute allowance: passes over its signals, and the least number of optimizer
/// steps of a minibatch learner.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Allowance {
    /// Passes over the training signals (`passes`).
    pub passes: Option<f64>,
    /// Minimum optimizer steps of a minibatch learner (`min_steps`).
    pub min_steps: Option<usize>,
}

/// How a method's iteration cap translates into passes over the N training signals, so that one
/// compute budget (`passes` in a plan) means the same for every method: each signal seen that
/// many times. An engine iteration touches [`Budget::signals_per_iter`] signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Not capped by passes: coders (one call), and learners whose work is not a number of
    /// passes (ℓ4's rounds of restarts).
    None,
    /// Full-batch iterations counted by this key: one pass each.
    Iters(&'static str),
    /// Passes counted by `epochs`, made of minibatch steps of `batch` signals (an engine
    /// iteration is one step).
    Epochs {
        /// The key counting passes.
        epochs: &'static str,
        /// The key of the minibatch size.
        batch: &'static str,
    },
    /// Minibatch steps counted by `steps`, of `batch` signals each (an unset `batch` whose
    /// default is not a number means the full batch).
    Steps {
        /// The key counting steps.
        steps: &'static str,
        /// The key of the minibatch size.
        batch: &'static str,
    },
}

impl Budget {
    /// Signals one engine iteration touches with these parameters on `n_samples` signals
    /// (`None` for [`Budget::None`]).
    pub fn signals_per_iter(&self, p: &Params<'_>, n_samples: usize) -> Option<usize> {
        let batch = |key: &str| p.usize_opt(key).unwrap_or(n_samples).min(n_samples).max(1);
        match *self {
            Budget::None => None,
            Budget::Iters(_) => Some(n_samples.max(1)),
            Budget::Epochs { batch: b, .. } | Budget::Steps { batch: b, .. } => Some(batch(b)),
        }
    }

    /// The iteration cap that `passes` passes over `n_samples` signals allow, as the
    /// `(key, value)` to add to the parameters — `None` for [`Budget::None`] and when the
    /// parameters already set the key (an explicit cap wins over the plan's budget). A minibatch
    /// budget ([`Budget::Steps`], [`Budget::Epochs`]) is raised to at least `min_steps` optimizer
    /// steps where given; a full-batch one ([`Budget::Iters`]) is not (each of its iterations is
    /// a whole pass).
    pub fn cap(
        &self,
        p: &Params<'_>,
        passes: f64,
        min_steps: Option<usize>,
        n_samples: usize,
    ) -> Option<(String, Value)> {
        let key = match *self {
            Budget::None => return None,
            Budget::Iters(k)
            | Budget::Epochs { epochs: k, .. }
            | Budget::Steps { steps: k, .. } => k,
        };
        if p.is_given(key) {
            return None;
        }
        let per = self.signals_per_iter(p, n_samples)? as f64;
        let nn = n_samples.max(1) as f64;
        let floor = match *self {
            Budget::Iters(_) => 0.0,
            _ => min_steps.unwrap_or(0) as f64,
        };
        let value = match *self {
            // epochs whose ⌈epochs·N/b⌉ steps reach the floor
            Budget::Epochs { .. } => Value::Float(passes.max(floor * per / nn)),
            _ => Value::Int((passes * nn / per).ceil().max(floor).max(1.0) as i64),
        };
        Some((key.to_string(), value))
    }
}

/// A method's parameters, validated against its declared [`Param`]s; unset keys read as their
/// defaults. Errors name `method.key`.
pub struct Params<'a> {
    what: &'static str,
    method: &'a str,
    decl: Vec<&'static Param>,
    kv: &'a [(String, Value)],
}

impl<'a> Params<'a> {
    /// Check `kv` against the declared parameters `decl` of `method`: every key declared, given
    /// once, of its type and in its range.
    ///
    /// # Errors
    /// An unknown key (naming the accepted ones), a repeated key, a value of the wrong type or out
    /// of range (naming the valid ones).
    pub fn new(
        method: &'a str,
        decl: Vec<&'static Param>,
        kv: &'a [(String, Value)],
    ) -> Result<Self> {
        Self::of("method parameter", method, decl, kv)
    }

    /// As [`Params::new`] for the parameters of something other than a method: errors say
    /// `what` (e.g. "instance key") and name the key alone when `method` is empty.
    ///
    /// # Errors
    /// As [`Params::new`].
    pub fn of(
        what: &'static str,
        method: &'a str,
        decl: Vec<&'static Param>,
        kv: &'a [(String, Value)],
    ) -> Result<Self> {
        let name = |k: &str| {
            if method.is_empty() {
                k.to_string()
            } else {
                format!("{method}.{k}")
            }
        };
        for (i, (k, v)) in kv.iter().enumerate() {
            let Some(p) = decl.iter().find(|p| p.key == k) else {
                let keys = decl.iter().map(|p| p.key).collect::<Vec<_>>().join(", ");
                return Err(Error::invalid(
                    what,
                    name(k),
                    if method.is_empty() {
                        format!("one of {keys}")
                    } else {
                        format!("one of the parameters of `{method}`: {keys}")
                    },
                ));
            };
            if kv[..i].iter().any(|(q, _)| q == k) {
                return Err(Error::invalid(
                    what,
                    format!("{} given twice", name(k)),
                    "each parameter once",
                ));
            }
            p.ty.check(v)
                .map_err(|expected| Error::invalid(what, format!("{} = {v}", name(k)), expected))?;
        }
        Ok(Params {
            what,
            method,
            decl,
            kv,
        })
    }

    /// The method's name.
    pub fn method(&self) -> &str {
        self.method
    }

    fn decl(&self, key: &str) -> Option<&'static Param> {
        self.decl.iter().find(|p| p.key == key).copied()
    }

    /// The value of `key`: given, else the declared default (`None` for an unset `Auto` or
    /// `Required` parameter, and for a key the spec does not declare — which the typed readers
    /// turn into an error naming the bug, never a panic).
    pub fn value(&self, key: &str) -> Option<Value> {
        let decl = self.decl(key)?;
        self.kv
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .or_else(|| decl.default.value())
    }

    /// Whether `key` was given (rather than read as its default).
    pub fn is_given(&self, key: &str) -> bool {
        self.kv.iter().any(|(k, _)| k == key)
    }

    /// A number (given or default).
    pub fn f64_opt(&self, key: &str) -> Option<f64> {
        self.value(key).and_then(|v| v.as_f64())
    }

    /// An integer (given or default).
    pub fn usize_opt(&self, key: &str) -> Option<usize> {
        self.value(key).and_then(|v| v.as_usize())
    }

    /// A number that has a value (given or a fixed default).
    ///
    /// # Errors
    /// A required parameter not given (naming the flag and the plan key).
    pub fn f64(&self, key: &str) -> Result<f64> {
        self.f64_opt(key).ok_or_else(|| self.missing(key))
    }

    /// An integer that has a value (given or a fixed default).
    ///
    /// # Errors
    /// A required parameter not given.
    pub fn usize(&self, key: &str) -> Result<usize> {
        self.usize_opt(key).ok_or_else(|| self.missing(key))
    }

    /// A boolean (given or default; `false` where the spec has none).
    pub fn bool(&self, key: &str) -> bool {
        matches!(self.value(key), Some(Value::Bool(true)))
    }

    /// A word of a [`Ty::Choice`] (given or default).
    ///
    /// # Errors
    /// A required parameter not given.
    pub fn choice(&self, key: &str) -> Result<String> {
        self.str_opt(key).ok_or_else(|| self.missing(key))
    }

    /// Text (given or default; `None` when unset without a default).
    pub fn str_opt(&self, key: &str) -> Option<String> {
        match self.value(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// `sparsity` when the method declares it and it is set.
    fn given_sparsity(&self) -> Option<usize> {
        self.decl
            .iter()
            .any(|p| p.key == "sparsity")
            .then(|| self.usize_opt("sparsity"))
            .flatten()
    }

    /// The method's information track (`track`; oracle when it takes none).
    pub fn track(&self) -> Track {
        Track::of(self.kv)
    }

    /// The sparsity the method may use: in the oracle track `sparsity` if given, else the
    /// instance's k; in the blind track the k̂ estimated from the signals (a given `sparsity` is
    /// refused there: a blind method is told nothing). Records what was read in `ctx.told`.
    ///
    /// # Errors
    /// None is known; `sparsity` given in the blind track.
    pub fn sparsity(&self, ctx: &Context<'_>) -> Result<usize> {
        if self.track() == Track::Blind {
            if self.is_given("sparsity") {
                return Err(self.conflict(
                    "sparsity with track = blind",
                    "no `sparsity` in the blind track (it is told nothing; k̂ is estimated from the signals), or track = \"oracle\"",
                ));
            }
            let k = ctx.sparsity_estimate.ok_or_else(|| {
                self.conflict(
                    "track = blind without an estimated sparsity",
                    "a k̂ estimated from the signals in the context (sweeps and `dictlab learn` compute it; in the library set Context::sparsity_estimate, e.g. with learn::estimate_sparsity)",
                )
            })?;
            ctx.told.set(Told::Estimate);
            return Ok(k);
        }
        let k = self.given_sparsity().or(ctx.sparsity).ok_or_else(|| {
            Error::invalid(
                "method parameter",
                format!("{}.sparsity", self.method),
                format!(
                    "a value for `sparsity` (method `{}` needs it: `--sparsity <k>` on the command line, `sparsity = k` in a plan when the instance has no exact sparsity, or track = \"blind\" to estimate it from the signals)",
                    self.method
                ),
            )
        })?;
        ctx.told.set(Told::Sparsity);
        Ok(k)
    }

    /// As [`Params::sparsity`], `None` where no sparsity is known (methods for which k only
    /// refines a default).
    pub fn sparsity_opt(&self, ctx: &Context<'_>) -> Option<usize> {
        self.sparsity(ctx).ok()
    }

    /// λ of a Lasso-type method that declares `lambda` and [`LAMBDA_SCALE`]: `lambda` if given;
    /// with `lambda_scale = c`, the k-matched rule λ = c·√(mean‖y‖² / k) — c times the RMS
    /// magnitude of a non-zero when k unit-norm atoms of little coherence carry the signal
    /// energy — with k from [`Params::sparsity`] (true k or k̂ by track); `None` when neither is set.
    ///
    /// # Errors
    /// Both given; the rule without a known sparsity or signal power.
    pub fn lambda(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let (lambda, scale) = (self.f64_opt("lambda"), self.f64_opt("lambda_scale"));
        match (lambda, scale) {
            (Some(_), Some(_)) => Err(self.conflict(
                "lambda and lambda_scale both set",
                "one of them: `lambda` fixes λ, `lambda_scale` sets it by the k-matched rule",
            )),
            (Some(l), None) => Ok(Some(l)),
            (None, Some(c)) => {
                let k = self.sparsity(ctx)?;
                let power = ctx.signal_power.ok_or_else(|| {
                    self.conflict(
                        "lambda_scale without the signals' power",
                        "Context::signal_power = mean ‖y‖² (sweeps and `dictlab learn` set it), or a fixed `lambda`",
                    )
                })?;
                let l = c * (power / k as f64).sqrt();
                if l.is_finite() && l > 0.0 {
                    Ok(Some(l))
                } else {
                    Err(self.conflict(
                        format!("lambda_scale = {c} gives λ = {l} (mean ‖y‖² = {power}, k = {k})"),
                        "signals with finite, non-zero energy, or a fixed `lambda`",
                    ))
                }
            }
            (None, None) => Ok(None),
        }
    }

    /// The error for a parameter that needs a value.
    pub fn missing(&self, key: &str) -> Error {
        if !self.decl.is_empty() && self.decl(key).is_none() {
            return Error::invalid(
                self.what,
                format!("{}.{key}", self.method),
                format!(
                    "a parameter `{}` declares: its builder reads `{key}`, which its spec does not declare (a bug in the method's spec: add the parameter to its table)",
                    self.method
                ),
            );
        }
        if self.method.is_empty() {
            return Error::invalid(self.what, key, format!("a value for `{key}` (required)"));
        }
        Error::invalid(
            self.what,
            format!("{}.{key}", self.method),
            format!(
                "a value for `{key}` (method `{}` needs it: `--{}` or `-p {key}=…` on the command line, `{key} = …` in a plan)",
                self.method,
                key.replace('_', "-")
            ),
        )
    }

    /// An error for a combination of values the types cannot express.
    pub fn conflict(&self, what: impl Into<String>, expected: impl Into<String>) -> Error {
        Error::invalid(
            self.what,
            format!("{}: {}", self.method, what.into()),
            expected.into(),
        )
    }
}

/// A field type a declared parameter can have ([`crate::declare_method!`]): how a value of it reads
/// as a [`Value`] (for the one validation against the declared [`Ty`]) and how it is read from
/// validated [`Params`].
pub trait ParamValue: Sized {
    /// The value to check (`None`: unset, nothing to check).
    fn to_value(&self) -> Option<Value>;
    /// The value of `key` (given or its declared default).
    ///
    /// # Errors
    /// A parameter without a value that needs one.
    fn read(p: &Params<'_>, key: &str) -> Result<Self>;
}

impl ParamValue for usize {
    fn to_value(&self) -> Option<Value> {
        Some(Value::Int(i64::try_from(*self).unwrap_or(i64::MAX)))
    }
    fn read(p: &Params<'_>, key: &str) -> Result<Self> {
        p.usize(key)
    }
}

impl ParamValue for f64 {
    fn to_value(&self) -> Option<Value> {
        Some(Value::Float(*self))
    }
    fn read(p: &Params<'_>, key: &str) -> Result<Self> {
        p.f64(key)
    }
}

impl ParamValue for bool {
    fn to_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
    fn read(p: &Params<'_>, key: &str) -> Result<Self> {
        Ok(p.bool(key))
    }
}

impl ParamValue for Option<usize> {
    fn to_value(&self) -> Option<Value> {
        self.as_ref().and_then(ParamValue::to_value)
    }
    fn read(p: &Params<'_>, key: &str) -> Result<Self> {
        Ok(p.usize_opt(key))
    }
}

impl ParamValue for Option<f64> {
    fn to_value(&self) -> Option<Value> {
        self.map(Value::Float)
    }
    fn read(p: &Params<'_>, key: &str) -> Result<Self> {
        Ok(p.f64_opt(key))
    }
}

/// A parameter that is one of a list of words (an enum): the words of a `choice(..)` field of
/// [`crate::declare_method!`].
pub trait Choice: Sized {
    /// The value a word names (`None` for a word not in the list).
    fn from_word(w: &str) -> Option<Self>;
    /// The word of this value.
    fn word(&self) -> &'static str;
}

impl<T: Choice> ParamValue for T {
    fn to_value(&self) -> Option<Value> {
        Some(Value::from(self.word()))
    }
    fn read(p: &Params<'_>, key: &str) -> Result<Self> {
        let w = p.choice(key)?;
        T::from_word(&w)
            .ok_or_else(|| p.conflict(format!("{key} = {w}"), "one of its declared words"))
    }
}

/// The one validation of a declared field: its value against the type and range its declaration
/// gives (`key` found in `params`). Used by the `check_params` that [`crate::declare_method!`]
/// generates; the error names the field, the value and what is valid.
///
/// # Errors
/// The value out of its declared range.
pub fn check_field<T: ParamValue>(params: &[Param], key: &'static str, v: &T) -> Result<()> {
    let Some(value) = v.to_value() else {
        return Ok(());
    };
    let Some(decl) = params.iter().find(|p| p.key == key) else {
        return Ok(());
    };
    decl.ty
        .check(&value)
        .map_err(|expected| Error::invalid(key, value, format!("{expected}: {}", decl.doc.trim())))
}

/// A declared default as a [`Dflt`], by the declared [`Ty`] (the expansion of
/// [`crate::declare_method!`]'s `param(Ty, default)`).
#[doc(hidden)]
#[macro_export]
macro_rules! __declared_default {
    (Count, $d:expr) => {
        $crate::spec::Dflt::Int($d as i64)
    };
    (Natural, $d:expr) => {
        $crate::spec::Dflt::Int($d as i64)
    };
    (Bool, $d:expr) => {
        $crate::spec::Dflt::Bool($d)
    };
    ($ty:ident, $d:expr) => {
        $crate::spec::Dflt::Float($d as f64)
    };
}

/// One declared parameter as a [`Param`] and as a field default (the expansion of
/// [`crate::declare_method!`]'s field kinds).
#[doc(hidden)]
#[macro_export]
macro_rules! __declared_param {
    (param ($ty:ident $(($($targ:expr),*))?, $d:expr) $key:expr, $doc:expr) => {
        $crate::spec::Param::new(
            $key,
            $crate::spec::Ty::$ty $(($($targ),*))?,
            $crate::__declared_default!($ty, $d),
            $doc,
        )
    };
    (param_as ($ty:ident, $d:expr, $f:expr) $key:expr, $doc:expr) => {
        $crate::spec::Param::new(
            $key,
            $crate::spec::Ty::$ty,
            $crate::__declared_default!($ty, $d),
            $doc,
        )
    };
    (auto ($ty:ident, $text:expr) $key:expr, $doc:expr) => {
        $crate::spec::Param::new(
            $key,
            $crate::spec::Ty::$ty,
            $crate::spec::Dflt::Auto($text),
            $doc,
        )
    };
    (choice ([$($c:expr),* $(,)?], $d:expr) $key:expr, $doc:expr) => {
        $crate::spec::Param::new(
            $key,
            $crate::spec::Ty::Choice(&[$($c),*]),
            $crate::spec::Dflt::Str($d),
            $doc,
        )
    };
    (@field param ($ty:ident $(($($targ:expr),*))?, $d:expr)) => {
        $d
    };
    (@field param_as ($ty:ident, $d:expr, $f:expr)) => {
        $f
    };
    (@field auto ($ty:ident, $text:expr)) => {
        None
    };
    (@field choice ([$($c:expr),* $(,)?], $d:expr)) => {
        $crate::spec::Choice::from_word($d).expect("the declared default is one of the choices")
    };
    (@key $field:ident) => {
        stringify!($field)
    };
    (@key $field:ident $key:literal) => {
        $key
    };
    (@doc param ($ty:ident $(($($targ:expr),*))?, $d:expr)) => {
        stringify!($d)
    };
    (@doc param_as ($ty:ident, $d:expr, $f:expr)) => {
        stringify!($d)
    };
    (@doc auto ($ty:ident, $text:expr)) => {
        $text
    };
    (@doc choice ([$($c:expr),* $(,)?], $d:expr)) => {
        $d
    };
}

/// A method's struct declared once: each parameter's field, type, range, default and one line of
/// doc written in one place, and from it
/// - the struct and its field docs, with a generated table of the parameters in the struct's doc;
/// - `PARAMS`, the spec's parameter table (the registry, `dictlab methods`, docs/methods.md and
///   the command line's help read it);
/// - `new(given…)`: the given fields as arguments, every other field at its declared default;
/// - a builder setter per parameter (`.lr(0.1)`);
/// - `check_params()`, the one validation of every parameter against its declared range;
/// - `from_params(&Params, &Context)`, the constructor the spec's `build` calls.
///
/// ```text
/// declare_method! {
///     /// What the method is.
///     #[derive(Clone, Debug, PartialEq)]
///     pub struct SgdDl {
///         given {
///             /// Non-zeros per code k.
///             sparsity: usize = [SPARSITY] => |p, ctx| p.sparsity(ctx)?;
///         }
///         params {
///             /// Step size η.
///             lr: f64 = param(Positive, 0.5);
///             /// Which rule.
///             rule: Rule = choice(["a", "b"], "a");   // Rule: ParamValue
///             /// A cap; derived when unset.
///             cap: Option<usize> = auto(Count, "m/k");
///             /// Outer iterations (the key differs from the field's name).
///             max_iters as "iters": usize = param(Count, 30);
///         }
///         other {
///             /// A field that is not a parameter.
///             cache: Vec<f64> = Vec::new();
///         }
///     }
/// }
/// ```
/// `given` fields (no fixed default: the instance or the caller supplies them) take the shared
/// [`Param`]s they are read from (`[LAMBDA, LAMBDA_SCALE]`; the first one's key is the field's, for
/// the validation) and how the spec reads them; `derived { field: T = [PARAMS..] => |p, ctx| … ; }`
/// fields are built from the listed parameters (e.g. an enum from a threshold and the method's
/// name), are arguments of `new` like given ones, and are validated by their own type; `param(Ty, default)` fields a [`Ty`] variant and a
/// literal default of the field's type; `param_as(Ty, default, field_default)` fields a type whose
/// [`ParamValue`] maps it to the parameter's value (a `whiten = true` flag held as an enum);
/// `auto(Ty, "text")` fields are `Option`s, `None` until
/// derived; `choice([..], default)` fields a type implementing [`ParamValue`] over the words.
#[macro_export]
macro_rules! declare_method {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            given {
                $(
                    $(#[doc = $gdoc:literal])*
                    $gfield:ident : $gty:ty = [$($gparam:expr),+] => |$gp:ident, $gc:ident| $gread:expr ;
                )*
            }
            $(derived {
                $(
                    $(#[doc = $ddoc:literal])*
                    $dfield:ident : $dty:ty = [$($dparam:expr),*] => |$dp:ident, $dc:ident| $dread:expr ;
                )*
            })?
            params {
                $(
                    $(#[doc = $doc:literal])*
                    $field:ident $(as $key:literal)? : $fty:ty = $kind:ident ( $($arg:tt)* ) ;
                )*
            }
            $(other {
                $(
                    $(#[doc = $odoc:literal])*
                    $ofield:ident : $oty:ty = $odef:expr ;
                )*
            })?
        }
    ) => {
        $(#[$meta])*
        ///
        /// | parameter | default | meaning |
        /// |---|---|---|
        $(
            #[doc = concat!("| `", stringify!($gfield), "` | given |", $($gdoc,)* " |")]
        )*
        $($(
            #[doc = concat!("| `", stringify!($dfield), "` | derived |", $($ddoc,)* " |")]
        )*)?
        $(
            #[doc = concat!(
                "| `", $crate::__declared_param!(@key $field $($key)?), "` | ",
                $crate::__declared_param!(@doc $kind ($($arg)*)),
                " |", $($doc,)* " |"
            )]
        )*
        ///
        /// (Declared once with [`crate::declare_method!`]: the table above, the spec's parameter
        /// table, the defaults, the setters and the validation are generated from it.)
        $vis struct $name {
            $( $(#[doc = $gdoc])* pub $gfield: $gty, )*
            $($( $(#[doc = $ddoc])* pub $dfield: $dty, )*)?
            $( $(#[doc = $doc])* pub $field: $fty, )*
            $($( $(#[doc = $odoc])* pub $ofield: $oty, )*)?
        }

        #[allow(clippy::new_without_default, dead_code)]
        impl $name {
            /// The declared parameters, in order (the given ones first).
            pub const PARAMS: &'static [$crate::spec::Param] = &[
                $( $($gparam,)+ )*
                $($( $($dparam,)* )*)?
                $( $crate::__declared_param!(
                    $kind ($($arg)*)
                    $crate::__declared_param!(@key $field $($key)?),
                    concat!($($doc),*)
                ), )*
            ];

            /// The given and derived fields as passed, every other field at its declared default.
            pub fn new($($gfield: $gty,)* $($($dfield: $dty),*)?) -> Self {
                $name {
                    $( $gfield, )*
                    $($( $dfield, )*)?
                    $( $field: $crate::__declared_param!(@field $kind ($($arg)*)), )*
                    $($( $ofield: $odef, )*)?
                }
            }

            $(
                #[doc = concat!("Sets `", stringify!($field), "`:", $($doc,)*)]
                #[must_use]
                pub fn $field(mut self, v: $fty) -> Self {
                    self.$field = v;
                    self
                }
            )*

            /// Every parameter against its declared type and range.
            ///
            /// # Errors
            /// The first value out of range, naming it and what is valid.
            pub fn check_params(&self) -> $crate::error::Result<()> {
                $( $crate::spec::check_field(Self::PARAMS, stringify!($gfield), &self.$gfield)?; )*
                $( $crate::spec::check_field(
                    Self::PARAMS,
                    $crate::__declared_param!(@key $field $($key)?),
                    &self.$field,
                )?; )*
                Ok(())
            }

            /// The method from validated parameters and the instance's context (what its
            /// spec's `build` calls).
            ///
            /// # Errors
            /// A given field that cannot be read (e.g. no sparsity known).
            pub fn from_params(
                p: &$crate::spec::Params<'_>,
                ctx: &$crate::spec::Context<'_>,
            ) -> $crate::error::Result<Self> {
                let _ = ctx;
                #[allow(unused_mut)]
                let mut s = Self::new(
                    $({
                        let ($gp, $gc) = (p, ctx);
                        let v: $gty = $gread;
                        v
                    },)*
                    $($({
                        let ($dp, $dc) = (p, ctx);
                        let v: $dty = $dread;
                        v
                    }),*)?
                );
                $( s.$field = <$fty as $crate::spec::ParamValue>::read(
                    p,
                    $crate::__declared_param!(@key $field $($key)?),
                )?; )*
                Ok(s)
            }
        }
    };
}

/// The number of parameters in `parts` (the length of [`concat_params`]'s table).
pub const fn params_len(parts: &[&[Param]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// One spec's parameter table from declared parts, at compile time: a method whose struct
/// composes declared structs (the outer loop of alternating minimization and its update) lists
/// each part's `PARAMS` once instead of copying its entries.
///
/// ```
/// use dictlab::spec::{Dflt, Param, Ty, concat_params, params_len};
/// const A: &[Param] = &[Param::new("a", Ty::Count, Dflt::Int(1), "a")];
/// const B: &[Param] = &[Param::new("b", Ty::Bool, Dflt::Bool(true), "b")];
/// const PARTS: &[&[Param]] = &[A, B];
/// const ALL: [Param; params_len(PARTS)] = concat_params(PARTS);
/// assert_eq!(ALL.map(|p| p.key), ["a", "b"]);
/// ```
///
/// # Panics
/// At compile time, when `N` is not [`params_len`]`(parts)`.
pub const fn concat_params<const N: usize>(parts: &[&[Param]]) -> [Param; N] {
    assert!(params_len(parts) == N, "N must be params_len(parts)");
    let mut out = [Param::new("", Ty::Bool, Dflt::Required, ""); N];
    let (mut k, mut i) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[k] = parts[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// The parameters as a Markdown table (key, type, default, doc).
pub fn params_markdown(params: &[&Param]) -> String {
    let mut s = String::from("| parameter | type | default | meaning |\n|---|---|---|---|\n");
    for p in params {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            p.key,
            p.ty.describe(),
            p.default.describe(),
            p.doc.trim()
        ));
    }
    s
}

/// Declare a directory's method modules and the list of the specs they hold, in one place: each
/// line `mod NAME: SPEC, …;` declares `pub mod NAME;` and puts `&NAME::SPEC` (in order) into the
/// list `LIST`, which [`crate::registry::METHODS`] concatenates. **Adding a method is its file and
/// one line here** (in `code/`, `learn/`, `neural/` or `conv/`'s `mod.rs`).
///
/// ```ignore
/// crate::method_modules! {
///     /// The learners of this module, in the order `dictlab methods` lists them.
///     SPECS: LearnerSpec {
///         mod update: MOD_SPEC, BCD_SPEC;
///         mod online: SPEC;
///     }
/// }
/// ```
#[macro_export]
macro_rules! method_modules {
    ($(#[$doc:meta])* $list:ident: $ty:ty { $( $(#[$m:meta])* mod $module:ident: $($spec:ident),+ ; )* }) => {
        $( $(#[$m])* pub mod $module; )*
        $(#[$doc])*
        pub const $list: &[&$ty] = &[ $( $( &$module::$spec, )+ )* ];
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECL: &[Param] = &[
        Param::new("iters", Ty::Count, Dflt::Int(50), "iterations"),
        Param::new("lambda", Ty::Positive, Dflt::Required, "penalty"),
        Param::new("kind", Ty::Choice(&["a", "b"]), Dflt::Str("a"), "kind"),
        Param::new("k", Ty::Count, Dflt::Auto("instance k"), "sparsity"),
    ];

    fn kv(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn reading_an_undeclared_key_is_an_error_naming_the_bug_not_a_panic() {
        let given = kv(&[]);
        let p = Params::new("m", DECL.iter().collect(), &given).unwrap();
        assert_eq!(p.value("batch"), None);
        let e = p.usize("batch").unwrap_err().to_string();
        assert!(
            e.contains("does not declare") && e.contains("m.batch"),
            "{e}"
        );
        // a declared Required parameter still says how to give it
        let e = p.f64("lambda").unwrap_err().to_string();
        assert!(e.contains("-p lambda="), "{e}");
    }

    #[test]
    fn defaults_fill_unset_keys_and_given_values_win() {
        let given = kv(&[("iters", Value::Int(7))]);
        let p = Params::new("m", DECL.iter().collect(), &given).unwrap();
        assert_eq!(p.usize("iters").unwrap(), 7);
        assert_eq!(p.choice("kind").unwrap(), "a");
        assert_eq!(p.usize_opt("k"), None);
        let e = p.f64("lambda").unwrap_err().to_string();
        assert!(e.contains("m.lambda") && e.contains("-p lambda="), "{e}");
        let empty = kv(&[]);
        let p = Params::new("m", DECL.iter().collect(), &empty).unwrap();
        assert_eq!(p.usize("iters").unwrap(), 50);
    }

    #[test]
    fn types_ranges_unknown_and_repeated_keys_are_refused() {
        for (pairs, needle) in [
            (vec![("iters", Value::Int(0))], "integer ≥ 1"),
            (vec![("iters", Value::Float(2.0))], "integer ≥ 1"),
            (vec![("lambda", Value::Float(-1.0))], "> 0"),
            (vec![("lambda", Value::Float(f64::NAN))], "> 0"),
            (vec![("lambda", Value::Bool(true))], "> 0"),
            (vec![("kind", Value::from("c"))], "\"a\", \"b\""),
            (vec![("nope", Value::Int(1))], "iters, lambda, kind, k"),
            (
                vec![("iters", Value::Int(1)), ("iters", Value::Int(2))],
                "once",
            ),
        ] {
            let given = kv(&pairs);
            let e = Params::new("m", DECL.iter().collect(), &given)
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains(needle), "{pairs:?}: {e}");
        }
        assert!(Ty::Fraction.check(&Value::Float(1.0)).is_ok());
        assert!(Ty::Fraction.check(&Value::Float(0.0)).is_err());
        assert!(Ty::Natural.check(&Value::Int(0)).is_ok());
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    pub enum Rule {
        Plain,
        Fancy,
    }
    impl Choice for Rule {
        fn from_word(w: &str) -> Option<Self> {
            match w {
                "plain" => Some(Rule::Plain),
                "fancy" => Some(Rule::Fancy),
                _ => None,
            }
        }
        fn word(&self) -> &'static str {
            match self {
                Rule::Plain => "plain",
                Rule::Fancy => "fancy",
            }
        }
    }

    const K: Param = Param::new("k", Ty::Count, Dflt::Auto("instance k"), "sparsity");

    crate::declare_method! {
        /// A method declared once.
        #[derive(Clone, Debug, PartialEq)]
        pub struct Declared {
            given {
                /// sparsity
                k: usize = [K] => |p, ctx| p.usize_opt("k").or(ctx.sparsity).unwrap_or(1);
            }
            params {
                /// step size
                lr: f64 = param(Positive, 0.5);
                /// outer iterations
                max_iters as "iters": usize = param(Count, 30);
                /// which rule
                rule: Rule = choice(["plain", "fancy"], "fancy");
                /// a cap derived when unset
                cap: Option<usize> = auto(Count, "m/k");
                /// polish at the end
                polish: bool = param(Bool, true);
            }
            other {
                /// not a parameter
                scratch: Vec<f64> = Vec::new();
            }
        }
    }

    #[test]
    fn a_declaration_gives_fields_defaults_table_setters_and_one_validation() {
        let keys: Vec<_> = Declared::PARAMS.iter().map(|p| p.key).collect();
        assert_eq!(keys, ["k", "lr", "iters", "rule", "cap", "polish"]);
        assert_eq!(Declared::PARAMS[1].default, Dflt::Float(0.5));
        assert_eq!(Declared::PARAMS[2].default, Dflt::Int(30));
        assert_eq!(Declared::PARAMS[3].ty, Ty::Choice(&["plain", "fancy"]));
        assert_eq!(Declared::PARAMS[3].default, Dflt::Str("fancy"));
        assert_eq!(Declared::PARAMS[4].default, Dflt::Auto("m/k"));
        assert_eq!(Declared::PARAMS[5].default, Dflt::Bool(true));
        assert_eq!(Declared::PARAMS[1].doc.trim(), "step size");
        let d = Declared::new(3);
        assert_eq!(
            (d.k, d.lr, d.max_iters, d.rule, d.cap, d.polish),
            (3, 0.5, 30, Rule::Fancy, None, true)
        );
        assert!(d.scratch.is_empty());
        assert!(d.check_params().is_ok());
        let d = d.lr(0.25).max_iters(7).rule(Rule::Plain).cap(Some(4));
        assert_eq!(
            (d.lr, d.max_iters, d.rule, d.cap),
            (0.25, 7, Rule::Plain, Some(4))
        );
        for (bad, needle) in [
            (Declared::new(0), "k"),
            (Declared::new(2).lr(f64::NAN), "lr"),
            (Declared::new(2).lr(-1.0), "lr"),
            (Declared::new(2).max_iters(0), "iters"),
            (Declared::new(2).cap(Some(0)), "cap"),
        ] {
            let e = bad.check_params().unwrap_err().to_string();
            assert!(
                e.contains(needle) && (e.contains('≥') || e.contains('>')),
                "{e}"
            );
        }
    }

    #[test]
    fn from_params_reads_every_declared_key_and_the_given_fields() {
        let given = kv(&[
            ("iters", Value::Int(9)),
            ("rule", Value::from("plain")),
            ("cap", Value::Int(2)),
            ("polish", Value::Bool(false)),
        ]);
        let p = Params::new("declared", Declared::PARAMS.iter().collect(), &given).unwrap();
        let ctx = Context {
            sparsity: Some(5),
            ..Default::default()
        };
        let d = Declared::from_params(&p, &ctx).unwrap();
        assert_eq!(
            (d.k, d.lr, d.max_iters, d.rule, d.cap, d.polish),
            (5, 0.5, 9, Rule::Plain, Some(2), false)
        );
        let none = kv(&[]);
        let p = Params::new("declared", Declared::PARAMS.iter().collect(), &none).unwrap();
        let d = Declared::from_params(&p, &Context::default()).unwrap();
        assert_eq!(d, Declared::new(1));
    }
}
