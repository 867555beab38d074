//! Sweep plans: a TOML file that says which planted instances to draw, which methods to run on
//! each, how many repetitions, what to record, and how long a run may take.
//!
//! ```toml
//! name = "coders-vs-coherence"   # free text, not part of the hash
//! problem = "dense"              # "dense" (default: InstanceSpec keys, Y = AX + E) or "conv"
//!                                # (ConvSpec::PARAMS keys: signals, times, atoms, atom_len, theta,
//!                                # target_mu, …; conv coders and learners; plans/conv_example.toml)
//! base_seed = 7                  # seeds: derive_seed(base_seed, "{instance}/rep={rep}")
//! reps = 3
//! time_budget_s = 60.0           # per run (learners stop at the first observed iteration past it)
//! passes = 50                    # learners' iteration caps, in passes over the data (unset caps only)
//! threads_per_run = 1            # rayon threads inside one run (not part of the hash)
//! max_memory = "8G"              # refuse allocations above this (default: available memory; not hashed)
//!
//! [record]                       # mode = "final" (default) | "every" (+ every = k) | "log" (+ per_decade = p)
//! mode = "log"
//! per_decade = 4
//!
//! [stall]                        # stop a learner once recovery and loss plateau (iter::stall)
//! window = 2.0                   # compare the last doubling of iterations with the one before
//! tol = 1e-3                     # absolute on recovery_score/rate, relative on the loss
//! min_iter = 10                  # and never before min_passes = 1.0 passes over the data
//!
//! [adaptive]                     # optional: per curve, bisect `axis` for the 50 % transition
//! axis = "sparsity"              # a [grid] axis (its listed values are the candidates)
//! level = 0.5                    # success fraction located
//! success = 0.95                 # a run succeeds at recovery_rate (coders: support_exact) ≥ this
//! reps = 3                       # repetitions at the bracketing values (≤ reps; default reps)
//!
//! [instance]                     # fixed instance keys (see InstanceSpec::from_params)
//! dim = 16
//! n_atoms = 32
//! n_samples = 400
//!
//! [grid]                         # crossed axes, first slowest
//! sparsity = [2, 3, 4]
//! coherence = [0.3, 0.5]
//!
//! [[coupled]]                    # keys that move together
//! keys = ["noise_sigma", "value_low"]
//! values = [[0.0, 1.0], [0.1, 0.5]]
//!
//! [[method]]
//! name = "omp"                   # sparsity defaults to the instance's k
//!
//! [[method]]
//! name = "fista"
//! lambda = [0.05, 0.1]           # a list crosses: fista[lambda=0.05] and fista[lambda=0.1]
//!
//! [[method]]
//! name = "ista"
//! lambda = 0.1
//! when = { sparsity = [2, 3] }   # only on these instances (any instance key; a value or a list)
//! ```
//!
//! A method's identity in the results is its parametrised name (`fista[lambda=0.05]`, see
//! [`crate::registry::method_id`]); instance keys are the fixed keys followed by the axes, so an
//! instance id reads `dim=16,n_atoms=32,n_samples=400,sparsity=2,coherence=0.3`.
//!
//! The **plan hash** is the SHA-256 (first 16 hex digits) of the plan's meaning — base seed,
//! repetitions, record mode, time budget, instance keys and axes in order, methods and their
//! parameters in order — not of its text: comments, layout, `name` and `threads_per_run` do not
//! change it; anything that changes a result does.
//!
//! Errors name the key and the line: unknown keys, unknown methods or method parameters, empty
//! axes, values of the wrong type, a key both fixed and swept.

use super::{Grid, Sweep};
use crate::error::{Error, Result};
use crate::instance::InstanceSpec;
use crate::iter::Schedule;
use crate::registry;
use crate::table::Value;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use toml::Spanned;

/// The kind of planted problem a plan draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Problem {
    /// `Y = A X + E` ([`InstanceSpec`] keys; dense coders and learners).
    #[default]
    Dense,
    /// Shift-invariant signals `y_i = Σ_k d_k * z_ik + e_i` ([`crate::conv::ConvSpec::PARAMS`]
    /// keys; convolutional coders and learners).
    Conv,
}

impl Problem {
    fn is_dense(&self) -> bool {
        *self == Problem::Dense
    }
    /// The instance keys of this kind of problem.
    pub fn keys(&self) -> Vec<&'static str> {
        match self {
            Problem::Dense => InstanceSpec::keys(),
            Problem::Conv => crate::conv::ConvSpec::keys(),
        }
    }
    /// The keys every plan of this kind must set.
    fn required(&self) -> &'static [&'static str] {
        match self {
            Problem::Dense => &["dim", "n_atoms", "n_samples"],
            Problem::Conv => &["signals", "times", "atoms", "atom_len"],
        }
    }
}

/// What a run records besides its final row.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum RecordMode {
    /// Only the final row.
    Final,
    /// Every k-th iteration and the final one.
    Every(usize),
    /// About `p` log-spaced iterations per decade and the final one.
    LogSpaced(usize),
}

impl RecordMode {
    /// The engine schedule of the recorded iterations.
    pub fn schedule(&self) -> Schedule {
        match *self {
            RecordMode::Final => Schedule::Never,
            RecordMode::Every(k) => Schedule::Every(k),
            RecordMode::LogSpaced(p) => Schedule::LogSpaced(p),
        }
    }
}

/// One method of a plan, after list parameters were crossed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanMethod {
    /// Registry name (`fista`).
    pub name: String,
    /// Parameters in plan order.
    pub params: Vec<(String, Value)>,
    /// Parametrised identity (`fista[lambda=0.1]`).
    pub id: String,
    /// Instance filter (`when = { n_atoms = 32 }`): the method runs only on instances whose
    /// keys take one of the listed values; empty: every instance.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<(String, Vec<Value>)>,
}

impl PlanMethod {
    /// Whether this method runs on the instance at `point` (its `when` filter; numbers compare
    /// by value, so `32` matches `32.0`).
    pub fn applies(&self, point: &super::Point) -> bool {
        self.when.iter().all(|(k, allowed)| {
            point.get(k).is_some_and(|v| {
                allowed.iter().any(|a| match (a.as_f64(), v.as_f64()) {
                    (Some(x), Some(y)) => x.total_cmp(&y).is_eq(),
                    _ => a == v,
                })
            })
        })
    }
}

/// A parsed and checked sweep plan.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Free-text name.
    pub name: String,
    /// Dense or convolutional instances (`problem = "conv"`; default dense).
    pub problem: Problem,
    /// Instances × repetitions × base seed (fixed instance keys are single-valued leading axes).
    pub sweep: Sweep,
    /// Instance keys in column order (fixed, then axes, then coupled keys).
    pub instance_keys: Vec<String>,
    /// Methods, in plan order.
    pub methods: Vec<PlanMethod>,
    /// Recording strategy.
    pub record: RecordMode,
    /// Per-run time budget in seconds.
    pub time_budget_s: Option<f64>,
    /// Compute budget of every learner in passes over its training signals: sets the
    /// iteration cap each method's [`crate::spec::Budget`] names, where the method does not.
    pub passes: Option<f64>,
    /// The least number of optimizer steps a minibatch learner gets whatever `passes` allows
    /// (`min_steps`): with few signals, a budget in passes gives a minibatch learner few steps.
    pub min_steps: Option<usize>,
    /// The plateau rule that stops learners (`[stall]`; see [`crate::iter::stall`]).
    pub stall: Option<crate::iter::Stall>,
    /// The adaptive design (`[adaptive]`; see [`super::adaptive`]): which runs of the grid to
    /// make. `None`: all of them.
    pub adaptive: Option<super::rule::Adaptive>,
    /// Rayon threads inside one run.
    pub threads_per_run: usize,
    /// Memory limit for the sweep's allocations in bytes (`max_memory`; see [`crate::mem`]).
    pub max_memory: Option<u64>,
    /// The plan hash (see the module doc).
    pub hash: String,
    /// The TOML text the plan was read from.
    pub source: String,
}

impl Plan {
    /// The compute allowance of every learner of the plan.
    pub fn budget(&self) -> crate::spec::Allowance {
        crate::spec::Allowance {
            passes: self.passes,
            min_steps: self.min_steps,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    name: Option<String>,
    problem: Option<Spanned<String>>,
    base_seed: Option<u64>,
    reps: Option<Spanned<i64>>,
    time_budget_s: Option<Spanned<f64>>,
    passes: Option<Spanned<f64>>,
    min_steps: Option<Spanned<i64>>,
    stall: Option<Spanned<RawStall>>,
    adaptive: Option<Spanned<RawAdaptive>>,
    threads_per_run: Option<Spanned<i64>>,
    max_memory: Option<Spanned<String>>,
    record: Option<Spanned<RawRecord>>,
    #[serde(default)]
    instance: IndexMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    grid: IndexMap<Spanned<String>, Spanned<Vec<Spanned<toml::Value>>>>,
    #[serde(default)]
    coupled: Vec<Spanned<RawCoupled>>,
    #[serde(default)]
    method: Vec<Spanned<IndexMap<Spanned<String>, Spanned<toml::Value>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    mode: Spanned<String>,
    every: Option<Spanned<i64>>,
    per_decade: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStall {
    window: Option<f64>,
    tol: Option<f64>,
    min_iter: Option<Spanned<i64>>,
    min_passes: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdaptive {
    axis: Spanned<String>,
    level: Option<f64>,
    success: Option<f64>,
    reps: Option<Spanned<i64>>,
    max_reps: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoupled {
    keys: Vec<Spanned<String>>,
    values: Spanned<Vec<Spanned<Vec<Spanned<toml::Value>>>>>,
}

type RawMethod = Spanned<IndexMap<Spanned<String>, Spanned<toml::Value>>>;

impl Src<'_> {
    /// The `[adaptive]` section: its axis must be a numeric `[grid]` axis.
    fn adaptive(
        &self,
        a: &Spanned<RawAdaptive>,
        raw: &RawPlan,
        plan_reps: usize,
    ) -> Result<super::rule::Adaptive> {
        let r = a.get_ref();
        let axis = r.axis.get_ref();
        let values = raw
            .grid
            .iter()
            .find(|(k, _)| k.get_ref() == axis)
            .map(|(_, v)| v.get_ref())
            .ok_or_else(|| {
                self.err(
                    r.axis.span(),
                    "adaptive.axis",
                    format!("a key swept in [grid] (`{axis}` is not)"),
                )
            })?;
        if let Some(v) = values.iter().find(|v| {
            !(v.get_ref().is_integer() || v.get_ref().as_float().is_some_and(f64::is_finite))
        }) {
            return Err(self.err(
                v.span(),
                axis,
                "finite numbers: the adaptive axis is searched by bisection over its sorted values",
            ));
        }
        let reps = match &r.reps {
            Some(n) => self.count("adaptive.reps", n, 1)?,
            None => plan_reps,
        };
        if reps > plan_reps {
            return Err(self.err(
                r.reps.as_ref().map_or(a.span(), |n| n.span()),
                "adaptive.reps",
                format!("at most the plan's reps = {plan_reps} (raise `reps`)"),
            ));
        }
        let max_reps = match &r.max_reps {
            Some(n) => {
                let m = self.count("adaptive.max_reps", n, 1)?;
                if m > plan_reps {
                    return Err(self.err(
                        n.span(),
                        "adaptive.max_reps",
                        format!("at most the plan's reps = {plan_reps} (raise `reps`)"),
                    ));
                }
                Some(m)
            }
            None => None,
        };
        let ad = super::rule::Adaptive {
            axis: axis.clone(),
            level: r.level.unwrap_or(0.5),
            success: r.success.unwrap_or(0.95),
            reps,
            max_reps,
        };
        ad.check().map_err(|e| self.at(a.span(), e))?;
        Ok(ad)
    }

    /// The `[stall]` section.
    fn stall(&self, st: &Spanned<RawStall>) -> Result<crate::iter::Stall> {
        let r = st.get_ref();
        let d = crate::iter::Stall::default();
        let rule = crate::iter::Stall {
            window: r.window.unwrap_or(d.window),
            tol: r.tol.unwrap_or(d.tol),
            min_iter: match &r.min_iter {
                Some(m) => self.count("stall.min_iter", m, 1)?,
                None => d.min_iter,
            },
            min_passes: r.min_passes.unwrap_or(d.min_passes),
        };
        rule.check().map_err(|e| self.at(st.span(), e))?;
        Ok(rule)
    }

    /// The `[record]` section.
    fn record_mode(&self, record: Option<&Spanned<RawRecord>>) -> Result<RecordMode> {
        let src = self;
        Ok(match record {
            None => RecordMode::Final,
            Some(r) => {
                let r = r.get_ref();
                match r.mode.get_ref().as_str() {
                    "final" => RecordMode::Final,
                    "every" => RecordMode::Every(match &r.every {
                        Some(k) => src.count("record.every", k, 1)?,
                        None => {
                            return Err(src.err(
                                r.mode.span(),
                                "record.every",
                                "`every = k` with mode = \"every\"",
                            ));
                        }
                    }),
                    "log" => RecordMode::LogSpaced(match &r.per_decade {
                        Some(p) => src.count("record.per_decade", p, 1)?,
                        None => 4,
                    }),
                    other => {
                        return Err(src.err(
                            r.mode.span(),
                            "record.mode",
                            format!("\"final\", \"every\" or \"log\" (found \"{other}\")"),
                        ));
                    }
                }
            }
        })
    }

    /// The instance keys and the grid: `[instance]` (fixed), `[grid]` (crossed), `[[coupled]]`.
    fn instance_grid(&self, raw: &RawPlan, problem: Problem) -> Result<(Grid, Vec<String>)> {
        let src = self;
        // instance keys: fixed, then crossed axes, then coupled axes
        let mut grid = Grid::new();
        let mut keys: Vec<String> = Vec::new();
        let seen = |k: &Spanned<String>, keys: &mut Vec<String>| -> Result<()> {
            let name = k.get_ref();
            if !problem.keys().contains(&name.as_str()) {
                let hint = if problem.is_dense()
                    && crate::conv::ConvSpec::keys().contains(&name.as_str())
                {
                    " (a convolutional key: set problem = \"conv\" at the top of the plan)"
                } else {
                    ""
                };
                return Err(src.err(
                    k.span(),
                    name,
                    format!(
                        "an instance key: one of {}{hint}",
                        problem.keys().join(", ")
                    ),
                ));
            }
            if keys.contains(name) {
                return Err(src.err(
                    k.span(),
                    name,
                    "each instance key once (fixed in [instance] or swept in [grid]/[[coupled]])",
                ));
            }
            keys.push(name.clone());
            Ok(())
        };
        for (k, v) in &raw.instance {
            seen(k, &mut keys)?;
            if v.get_ref().is_array() {
                return Err(src.err(
                    v.span(),
                    k.get_ref(),
                    "a single value in [instance] (put lists of values under [grid])",
                ));
            }
            grid = grid.axis(k.get_ref(), [src.instance_value(k.get_ref(), v, problem)?]);
        }
        for (k, vs) in &raw.grid {
            seen(k, &mut keys)?;
            if vs.get_ref().is_empty() {
                return Err(src.err(
                    vs.span(),
                    k.get_ref(),
                    "at least one value (an empty axis makes an empty grid)",
                ));
            }
            let vals: Vec<Value> = vs
                .get_ref()
                .iter()
                .map(|v| src.instance_value(k.get_ref(), v, problem))
                .collect::<Result<_>>()?;
            grid = grid.axis(k.get_ref(), vals);
        }
        for c in &raw.coupled {
            let c = c.get_ref();
            for k in &c.keys {
                seen(k, &mut keys)?;
            }
            let names: Vec<&str> = c.keys.iter().map(|k| k.get_ref().as_str()).collect();
            let label = names.join(",");
            if c.values.get_ref().is_empty() || names.is_empty() {
                return Err(src.err(
                    c.values.span(),
                    &label,
                    "at least one key and one tuple of values",
                ));
            }
            let mut tuples = Vec::new();
            for t in c.values.get_ref() {
                if t.get_ref().len() != names.len() {
                    return Err(src.err(
                        t.span(),
                        &label,
                        format!("tuples of {} values, one per key", names.len()),
                    ));
                }
                tuples.push(
                    t.get_ref()
                        .iter()
                        .zip(&names)
                        .map(|(v, k)| src.instance_value(k, v, problem))
                        .collect::<Result<Vec<_>>>()?,
                );
            }
            grid = grid.coupled(&names, tuples);
        }
        for &k in problem.required() {
            if !keys.iter().any(|q| q == k) {
                return Err(Error::Plan {
                    line: 0,
                    key: k.to_string(),
                    expected: format!("`{k}` in [instance] or [grid] (required)"),
                });
            }
        }
        Ok((grid, keys))
    }

    /// The `[[method]]` tables: one [`PlanMethod`] per combination of list values, with the line
    /// of its table.
    fn methods(
        &self,
        raw: &[RawMethod],
        keys: &[String],
        problem: Problem,
    ) -> Result<(Vec<PlanMethod>, Vec<usize>)> {
        let src = self;
        // methods: list values cross
        if raw.is_empty() {
            return Err(Error::Plan {
                line: 0,
                key: "method".into(),
                expected: "at least one [[method]] table with a `name`".into(),
            });
        }
        let mut methods: Vec<PlanMethod> = Vec::new();
        let mut method_lines: Vec<usize> = Vec::new();
        for table in raw {
            let t = table.get_ref();
            let name = t
                .iter()
                .find(|(k, _)| k.get_ref() == "name")
                .ok_or_else(|| {
                    src.err(table.span(), "method.name", "a `name` in every [[method]]")
                })?;
            let name_str = match name.1.get_ref() {
                toml::Value::String(s) => s.clone(),
                _ => return Err(src.err(name.1.span(), "method.name", "a string")),
            };
            let m = registry::lookup(&name_str)
                .map_err(|e| src.err(name.1.span(), "method.name", e.to_string()))?;
            if m.kind().is_conv() != (problem == Problem::Conv) {
                let expected = if problem == Problem::Conv {
                    format!(
                        "a convolutional coder or learner in a problem = \"conv\" plan: `{name_str}` is a {} for dense problems",
                        m.kind().as_str()
                    )
                } else {
                    format!(
                        "a method for dense problems: `{name_str}` is a {} (set problem = \"conv\" at the top of the plan, with convolutional instance keys)",
                        m.kind().as_str()
                    )
                };
                return Err(src.err(name.1.span(), "method.name", expected));
            }
            let when = src.method_when(t, &name_str, keys)?;
            let variants = src.method_variants(t, &name_str)?;
            for params in variants {
                let id = registry::method_id(&name_str, &params);
                if methods.iter().any(|m| m.id == id) {
                    return Err(src.err(
                        table.span(),
                        &id,
                        "each method (name and parameters) once",
                    ));
                }
                methods.push(PlanMethod {
                    name: name_str.clone(),
                    params,
                    id,
                    when: when.clone(),
                });
                method_lines.push(src.line(name.1.span().start));
            }
        }
        Ok((methods, method_lines))
    }

    /// A method's `when = { key = value(s) }`: the instances it runs on.
    fn method_when(
        &self,
        t: &IndexMap<Spanned<String>, Spanned<toml::Value>>,
        name_str: &str,
        keys: &[String],
    ) -> Result<Vec<(String, Vec<Value>)>> {
        let src = self;
        let mut when: Vec<(String, Vec<Value>)> = Vec::new();
        if let Some((k, v)) = t.iter().find(|(k, _)| k.get_ref() == "when") {
            let toml::Value::Table(tab) = v.get_ref() else {
                return Err(src.err(
                    v.span(),
                    &format!("{name_str}.when"),
                    "a table of instance keys, e.g. when = { n_atoms = 32 } or when = { dictionary = [\"orthobasis\", \"coherence\"] }",
                ));
            };
            for (wk, wv) in tab {
                if !keys.iter().any(|x| x == wk) {
                    return Err(src.err(
                        k.span(),
                        &format!("{name_str}.when.{wk}"),
                        format!("an instance key of this plan (one of {})", keys.join(", ")),
                    ));
                }
                let vals = match wv {
                    toml::Value::Array(a) if !a.is_empty() => a.clone(),
                    toml::Value::Array(_) => {
                        return Err(src.err(
                            v.span(),
                            &format!("{name_str}.when.{wk}"),
                            "at least one value",
                        ));
                    }
                    x => vec![x.clone()],
                };
                let vals = vals
                    .into_iter()
                    .map(|x| src.scalar(wk, &Spanned::new(v.span(), x)))
                    .collect::<Result<Vec<_>>>()?;
                when.push((wk.clone(), vals));
            }
        }
        Ok(when)
    }

    /// A method's parameters: every combination of its list values (crossed, in table order).
    fn method_variants(
        &self,
        t: &IndexMap<Spanned<String>, Spanned<toml::Value>>,
        name_str: &str,
    ) -> Result<Vec<Vec<(String, Value)>>> {
        let src = self;
        let mut variants: Vec<Vec<(String, Value)>> = vec![vec![]];
        for (k, v) in t
            .iter()
            .filter(|(k, _)| k.get_ref() != "name" && k.get_ref() != "when")
        {
            let key = k.get_ref();
            let method = registry::lookup(name_str)
                .map_err(|e| src.err(k.span(), &format!("{name_str}.{key}"), e.to_string()))?;
            if method.param(key).is_none() {
                return Err(src.err(
                    k.span(),
                    &format!("{name_str}.{key}"),
                    format!(
                        "one of the parameters of `{name_str}`: {} (`dictlab methods {name_str}` lists them)",
                        method.keys().join(", ")
                    ),
                ));
            }
            let vals: Vec<Value> = match v.get_ref() {
                toml::Value::Array(a) => {
                    if a.is_empty() {
                        return Err(src.err(
                            v.span(),
                            &format!("{name_str}.{key}"),
                            "at least one value",
                        ));
                    }
                    a.iter()
                        .map(|x| src.scalar(key, &Spanned::new(v.span(), x.clone())))
                        .collect::<Result<_>>()?
                }
                _ => vec![src.scalar(key, v)?],
            };
            variants = variants
                .into_iter()
                .flat_map(|base| {
                    vals.iter().map(move |x| {
                        let mut b = base.clone();
                        b.push((key.clone(), x.clone()));
                        b
                    })
                })
                .collect();
        }
        Ok(variants)
    }
}

/// Every instance of the grid is valid and every method can be built for every instance it
/// applies to (parameter types, ranges, required values), before any work.
fn check_runnable(
    sweep: &Sweep,
    methods: &[PlanMethod],
    method_lines: &[usize],
    problem: Problem,
) -> Result<()> {
    // every instance spec and every method's parameter types, checked before any work
    let points = sweep.grid.points()?;
    if problem == Problem::Conv {
        return check_runnable_conv(&points, methods, method_lines);
    }
    for p in &points {
        let spec = InstanceSpec::from_params(&p.0).map_err(|e| Error::Plan {
            line: 0,
            key: p.id(),
            expected: format!("a valid instance: {e}"),
        })?;
        let mut ctx = registry::Context::for_spec(&spec, None);
        // what a run computes from its signals, stood in for by values that check the types:
        // the blind track's k̂ and the λ rule's mean ‖y‖²
        ctx.sparsity_estimate = Some(ctx.sparsity.unwrap_or(1));
        ctx.signal_power = Some(1.0);
        for (m, &line) in methods.iter().zip(method_lines) {
            let near = m
                .params
                .iter()
                .any(|(k, v)| k == "init" && v.as_str() == Some("near"));
            if near || !m.applies(p) {
                continue; // near: needs the drawn instance; checked when it runs
            }
            registry::build(&m.name, &m.params, &ctx).map_err(|e| Error::Plan {
                line,
                key: m.id.clone(),
                expected: format!("a method that can run on {}: {e}", p.id()),
            })?;
        }
    }
    Ok(())
}

/// [`check_runnable`] for a convolutional plan: every instance a valid [`crate::conv::ConvSpec`],
/// every method a convolutional coder or learner that builds with its parameters.
fn check_runnable_conv(
    points: &[super::Point],
    methods: &[PlanMethod],
    method_lines: &[usize],
) -> Result<()> {
    for p in points {
        crate::conv::ConvSpec::from_params(&p.0).map_err(|e| Error::Plan {
            line: 0,
            key: p.id(),
            expected: format!("a valid convolutional instance: {e}"),
        })?;
    }
    // a conv method is built without the instance (its kind was checked when the plan was read),
    // so once, on the first instance it applies to
    for (m, &line) in methods.iter().zip(method_lines) {
        if let Some(p) = points.iter().find(|p| m.applies(p)) {
            registry::build(&m.name, &m.params, &registry::Context::default()).map_err(|e| {
                Error::Plan {
                    line,
                    key: m.id.clone(),
                    expected: format!("a method that can run on {}: {e}", p.id()),
                }
            })?;
        }
    }
    Ok(())
}

/// The meaning of a plan, serialised to compute its hash.
#[derive(Serialize)]
struct Canonical<'a> {
    format: u32,
    #[serde(skip_serializing_if = "Problem::is_dense")]
    problem: Problem,
    base_seed: u64,
    reps: usize,
    record: RecordMode,
    time_budget_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passes: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_steps: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stall: Option<crate::iter::Stall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    adaptive: Option<&'a super::rule::Adaptive>,
    grid: &'a Grid,
    methods: &'a [PlanMethod],
}

struct Src<'a>(&'a str);

impl Src<'_> {
    fn line(&self, offset: usize) -> usize {
        self.0[..offset.min(self.0.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1
    }
    fn err(&self, span: std::ops::Range<usize>, key: &str, expected: impl Into<String>) -> Error {
        Error::Plan {
            line: self.line(span.start),
            key: key.to_string(),
            expected: expected.into(),
        }
    }
    /// A section's range error (`Error::InvalidParameter` of its `check`) as a plan error at
    /// `span`, so it names the line; other errors pass through.
    fn at(&self, span: std::ops::Range<usize>, e: Error) -> Error {
        match e {
            Error::InvalidParameter {
                name,
                value,
                expected,
            } => self.err(span, name, format!("{expected} (found {value})")),
            other => other,
        }
    }
    fn scalar(&self, key: &str, v: &Spanned<toml::Value>) -> Result<Value> {
        Ok(match v.get_ref() {
            toml::Value::Integer(i) => Value::Int(*i),
            toml::Value::Float(x) => Value::Float(*x),
            toml::Value::Boolean(b) => Value::Bool(*b),
            toml::Value::String(s) => Value::Str(s.clone()),
            other => {
                return Err(self.err(
                    v.span(),
                    key,
                    format!("a number, string or boolean (found {})", other.type_str()),
                ));
            }
        })
    }
    /// A scalar instance value, type-checked against its key.
    fn instance_value(
        &self,
        key: &str,
        v: &Spanned<toml::Value>,
        problem: Problem,
    ) -> Result<Value> {
        let x = self.scalar(key, v)?;
        if problem == Problem::Conv {
            // typed by the declared instance keys (a value checked alone)
            let one = [(key.to_string(), x.clone())];
            let decl = crate::conv::ConvSpec::PARAMS.iter().collect();
            return match crate::spec::Params::of("instance key", "", decl, &one) {
                Ok(_) => Ok(x),
                Err(Error::InvalidParameter { expected, .. }) => {
                    Err(self.err(v.span(), key, format!("{expected} (found {x})")))
                }
                Err(e) => Err(e),
            };
        }
        let ok = match key {
            "dim" | "n_atoms" | "n_samples" | "sparsity" | "pairs" => x.as_usize().is_some(),
            "dictionary" | "values" => x.as_str().is_some(),
            _ => matches!(x, Value::Int(_) | Value::Float(_)),
        };
        if !ok {
            let what = match key {
                "dim" | "n_atoms" | "n_samples" | "sparsity" | "pairs" => "a non-negative integer",
                "dictionary" | "values" => "a string",
                _ => "a number",
            };
            return Err(self.err(v.span(), key, format!("{what} (found {x})")));
        }
        Ok(x)
    }
    fn count(&self, key: &str, v: &Spanned<i64>, min: i64) -> Result<usize> {
        if *v.get_ref() < min {
            return Err(self.err(
                v.span(),
                key,
                format!("an integer ≥ {min} (found {})", v.get_ref()),
            ));
        }
        Ok(*v.get_ref() as usize)
    }
}

impl Plan {
    /// Read and check a plan file.
    ///
    /// # Errors
    /// The file cannot be read; everything [`Plan::from_toml_str`] rejects.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::File {
            action: "read",
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        Self::from_toml_str(&text)
    }

    /// Parse and check a plan from TOML text (see the module doc for the format).
    ///
    /// # Errors
    /// [`Error::Plan`] naming the key and line: TOML syntax, unknown keys, values of the wrong
    /// type, unknown instance keys, methods or method parameters, empty axes or no method, a
    /// key both fixed and swept; an instance of the grid that [`InstanceSpec::from_params`]
    /// rejects (named by its instance id).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let src = Src(text);
        let raw: RawPlan = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| src.line(s.start)).unwrap_or(0);
            Error::Plan {
                line,
                key: String::new(),
                expected: e.message().trim().to_string(),
            }
        })?;
        let reps = match &raw.reps {
            Some(r) => src.count("reps", r, 1)?,
            None => 1,
        };
        let threads_per_run = match &raw.threads_per_run {
            Some(t) => src.count("threads_per_run", t, 1)?,
            None => 1,
        };
        let max_memory = match &raw.max_memory {
            Some(m) => Some(crate::mem::parse_size(m.get_ref()).map_err(|_| {
                src.err(m.span(), "max_memory", "a size such as \"8G\" or \"512M\"")
            })?),
            None => None,
        };
        let time_budget_s = match &raw.time_budget_s {
            Some(t) if !(*t.get_ref() > 0.0 && t.get_ref().is_finite()) => {
                return Err(src.err(t.span(), "time_budget_s", "seconds > 0"));
            }
            Some(t) => Some(*t.get_ref()),
            None => None,
        };
        let passes = match &raw.passes {
            Some(t) if !(*t.get_ref() > 0.0 && t.get_ref().is_finite()) => {
                return Err(src.err(t.span(), "passes", "passes over the data > 0"));
            }
            Some(t) => Some(*t.get_ref()),
            None => None,
        };
        let min_steps = match &raw.min_steps {
            Some(t) if !(1..=1_000_000_000).contains(t.get_ref()) => {
                return Err(src.err(
                    t.span(),
                    "min_steps",
                    "an integer in 1..=1000000000 (optimizer steps)",
                ));
            }
            Some(t) => Some(*t.get_ref() as usize),
            None => None,
        };
        let stall = match &raw.stall {
            Some(st) => Some(src.stall(st)?),
            None => None,
        };
        let record = src.record_mode(raw.record.as_ref())?;
        let problem = match &raw.problem {
            None => Problem::Dense,
            Some(pr) => match pr.get_ref().as_str() {
                "dense" => Problem::Dense,
                "conv" => Problem::Conv,
                _ => {
                    return Err(src.err(
                        pr.span(),
                        "problem",
                        "\"dense\" (Y = AX + E, the default) or \"conv\" (shift-invariant signals)",
                    ));
                }
            },
        };
        let (grid, keys) = src.instance_grid(&raw, problem)?;
        let (methods, method_lines) = src.methods(&raw.method, &keys, problem)?;
        let sweep = Sweep::new(grid)
            .reps(reps)
            .base_seed(raw.base_seed.unwrap_or(0));
        check_runnable(&sweep, &methods, &method_lines, problem)?;
        let adaptive = match &raw.adaptive {
            Some(a) => Some(src.adaptive(a, &raw, reps)?),
            None => None,
        };
        let canon = Canonical {
            format: 1,
            problem,
            base_seed: sweep.base_seed,
            reps,
            record,
            time_budget_s,
            passes,
            min_steps,
            stall,
            adaptive: adaptive.as_ref(),
            grid: &sweep.grid,
            methods: &methods,
        };
        let digest = Sha256::digest(serde_json::to_vec(&canon)?);
        let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Ok(Plan {
            name: raw.name.unwrap_or_default(),
            problem,
            sweep,
            instance_keys: keys,
            methods,
            record,
            time_budget_s,
            passes,
            min_steps,
            stall,
            adaptive,
            threads_per_run,
            max_memory,
            hash,
            source: text.to_string(),
        })
    }

    /// Work items (instance × repetition), in item order.
    ///
    /// # Errors
    /// None for a checked plan.
    pub fn items(&self) -> Result<Vec<super::Item>> {
        self.sweep.items()
    }

    /// Number of runs (items × the methods whose `when` filter admits them).
    ///
    /// # Errors
    /// None for a checked plan.
    pub fn n_runs(&self) -> Result<usize> {
        Ok(self
            .items()?
            .iter()
            .map(|it| self.methods_for(it).count())
            .sum())
    }

    /// The indices of the methods that run on `item` (plan order).
    pub fn methods_for<'a>(&'a self, item: &'a super::Item) -> impl Iterator<Item = usize> + 'a {
        (0..self.methods.len()).filter(move |&j| self.methods[j].applies(&item.point))
    }
}
