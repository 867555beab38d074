//! The `dictlab` command line (kept in the library so tests can call it in-process).
//!
//! ```text
//! dictlab generate --dim 64 --atoms 256 --sparsity 5 --samples 1000 --coherence 0.2 --seed 3 --out DIR
//! dictlab metrics --truth A.npy --estimate D.npy [--tau 0.99]
//! dictlab encode --dict A.npy --signals Y.npy --method omp --sparsity 5 --out X.npy [--truth X.npy]
//! dictlab encode --dict A.npy --signals Y.npy --method lasso --lambda 0.1 --out X.npy [--threads 2]
//! dictlab learn --signals Y.npy --atoms 128 --method online --sparsity 5 --out D.npy [--truth A.npy] [--seed S]
//! dictlab learn --signals Y.npy --atoms 128 --method l4 --theta 0.1 --out D.npy
//! ```

use crate::error::{Error, Result};
use crate::instance::InstanceSpec;
use crate::io;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub mod conv;
pub mod sae;

/// dictlab: planted dictionary-recovery problems, methods and metrics.
#[derive(Debug, Parser)]
#[command(name = "dictlab", version, about)]
pub struct Cli {
    /// Thread count (default: all cores; at most 4 × the cores, more is capped with a warning).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Refuse any single allocation above this size (bytes, or with a K/M/G/T suffix: 8G).
    /// Default: the memory available on the machine (or DICTLAB_MAX_MEMORY).
    #[arg(long, global = true, value_name = "SIZE")]
    pub max_memory: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse `args` (the program name first): every option that takes a value accepts a
    /// negative number as its value (`--noise-sigma -0.1` reaches the range check, which names
    /// the range, instead of being read as an unknown flag), and a count (a `usize` option) given
    /// a negative or fractional number says which integers it takes.
    ///
    /// # Errors
    /// clap's error (usage, unknown flags, values out of their type).
    pub fn parse_args<I, T>(args: I) -> std::result::Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        fn count(s: &str) -> std::result::Result<usize, String> {
            let t = s.trim();
            match t.parse::<usize>() {
                Ok(n) => Ok(n),
                Err(_) if t.parse::<f64>().is_ok() => {
                    Err(format!("an integer ≥ 0 is expected (found {t})"))
                }
                Err(_) => Err(format!("an integer ≥ 0 is expected (found \"{t}\")")),
            }
        }
        fn widen(a: clap::Arg) -> clap::Arg {
            if !a.get_action().takes_values() {
                return a;
            }
            let is_count = a.get_value_parser().type_id() == std::any::TypeId::of::<usize>();
            let a = a.allow_negative_numbers(true);
            if is_count {
                a.value_parser(count as fn(&str) -> std::result::Result<usize, String>)
            } else {
                a
            }
        }
        let cmd = Cli::command()
            .mut_args(widen)
            .mut_subcommands(|sub| sub.mut_args(widen))
            .mut_subcommand("learn", |sub| sub.mut_args(with_spec_defaults));
        let m = cmd.try_get_matches_from(args)?;
        Cli::from_arg_matches(&m)
    }
}

/// A `learn` flag that sets a method parameter (`--batch` sets `batch`) gets the defaults of every
/// learner that declares it, read from the specs: the help never repeats a default by hand.
fn with_spec_defaults(a: clap::Arg) -> clap::Arg {
    let Some(key) = a.get_long().map(|l| l.replace('-', "_")) else {
        return a;
    };
    // (default, the learners that have it), in registry order
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for m in crate::registry::METHODS
        .iter()
        .filter(|m| m.kind() == crate::registry::Kind::Learner)
    {
        let Some(p) = m.params().into_iter().find(|p| p.key == key) else {
            continue;
        };
        let d = p.default.describe();
        match groups.iter_mut().find(|(g, _)| *g == d) {
            Some((_, names)) => names.push(m.name()),
            None => groups.push((d, vec![m.name()])),
        }
    }
    if groups.is_empty() {
        return a;
    }
    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    let help = help.trim_end_matches('.');
    let defaults: Vec<String> = groups
        .iter()
        .map(|(d, names)| format!("{d} ({})", names.join(", ")))
        .collect();
    a.help(format!("{help}. Default: {}.", defaults.join("; ")))
}

/// Dictionary kinds on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DictArg {
    /// Gaussian, unit-norm columns.
    Gaussian,
    /// Haar orthobasis (atoms = dim).
    Orthobasis,
    /// [I | Hadamard] (atoms = 2·dim, dim a power of two).
    IdentityHadamard,
    /// [I | DCT] (atoms = 2·dim).
    IdentityDct,
    /// Unit-norm tight frame.
    TightFrame,
    /// Coherence-targeted (needs --coherence).
    Coherence,
    /// Gaussian with planted near-duplicate pairs (--pair-cos, --pairs).
    NearDuplicates,
    /// Steiner ETF: (dim, atoms) ∈ {(6,16), (28,64), (120,256), (496,1024)}.
    SteinerEtf,
}

/// Value laws on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ValuesArg {
    /// N(0,1).
    Gaussian,
    /// ±1.
    Rademacher,
    /// ±U[low, high].
    SignedUniform,
    /// U[low, high], low ≥ 0.
    NonnegUniform,
    /// U[low, high] with one sign per code vector (PUDLE).
    SharedSignUniform,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing would only obscure clap's derive
pub enum Command {
    /// Draw a planted instance and write A.npy, X.npy, Y.npy and spec.json to --out.
    Generate(GenerateArgs),
    /// Compare an estimated dictionary with the truth; print every recovery metric as JSON.
    Metrics(MetricsArgs),
    /// Sparse-code signals against a dictionary; write X.npy (m × N).
    Encode(EncodeArgs),
    /// Learn a dictionary from signals; write D.npy (n × m); with --truth print recovery metrics.
    Learn(LearnArgs),
    /// Convolutional problems: `dictlab conv generate | encode | learn` (3-D .npy arrays).
    #[command(subcommand)]
    Conv(conv::ConvCommand),
    /// Sparse autoencoders at scale: `dictlab sae synth | train` (a streamed planted model, an SAE
    /// trained on its batches, metrics, throughput and peak memory as JSON).
    #[command(subcommand)]
    Sae(sae::SaeCommand),
    /// Run (or resume) a sweep plan into a results directory, in durable chunks.
    Sweep(SweepArgs),
    /// Finished runs of a results directory and the shards still to run (as an --array= list).
    Status(StatusArgs),
    /// Repair a results directory: move corrupt chunks aside and drop runs duplicated across
    /// chunks (the only command that moves files; refused while a sweep writes the directory).
    Repair(RepairArgs),
    /// List the methods of plans and the command line, or one method's parameters.
    Methods(MethodsArgs),
    /// Merge a complete results directory into one parquet table.
    Merge(MergeArgs),
    /// Write a Slurm job-array script for a plan, the dependent merge job, and submit helpers.
    EmitSlurm(EmitSlurmArgs),
    /// Render a merged results table as a standalone offline HTML dashboard.
    Report(ReportArgs),
    /// Compare two results tables bit for bit, skipping wall times and build provenance; exit 2
    /// naming the first differing row of each column when they differ.
    Compare(CompareArgs),
    /// Print this build and machine: version, git revision, SIMD path of the coders (detected and
    /// in use, see DICTLAB_SIMD), threads, memory limit — as JSON, for bug reports and CI logs.
    Info,
    /// Print the per-method headline table of a merged results table (Markdown), or write it into
    /// a document between `<!-- headline:begin -->` and `<!-- headline:end -->` (BENCHMARK.md).
    Headline(HeadlineArgs),
    /// Print each curve's phase transition (largest sparsity with ≥ 50 % success, the first
    /// failing one, success fractions with 95 % Wilson intervals) of a merged results table, from
    /// an adaptive sweep or a full grid (Markdown, or CSV with --csv).
    Transitions(TransitionsArgs),
    /// Print the findings tables of a phase-transition benchmark (k* per family and dictionary,
    /// neural against classical, sensitivity to start / N / noise / code law, time to 95 %, k*
    /// across n) as Markdown, or write them into a document between `<!-- findings:begin -->` and
    /// `<!-- findings:end -->` (BENCHMARK.md).
    Findings(FindingsArgs),
    /// The tuning rule of the fair contest: per method, rank the candidate values of the tuned
    /// parameters by the median final recovery rate of a tuning sweep and mark the best
    /// (Markdown, or CSV with --csv).
    Tune(TuneArgs),
    /// Import the runs of a merged table of PLAN into a results directory (one checksummed chunk),
    /// so that `dictlab sweep PLAN --out DIR` resumes from them: a run continued on another machine
    /// from its committed (partial) merge.
    Import(ImportArgs),
    /// Print columns of a results table as CSV (every row, or each run's final row with
    /// --final): a look at the data without Python.
    Show(ShowArgs),
    /// Check a plan and print what it would run (hash, items, methods, runs; an adaptive plan's
    /// curves and the runs its bisection is expected to make) as JSON, without running anything.
    Plan(PlanArgs),
}

/// `dictlab plan` flags.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Plan file (TOML).
    pub plan: PathBuf,
}

/// `dictlab show` flags.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Results (parquet).
    pub input: PathBuf,
    /// Comma-separated columns (default: all).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Only each run's final row.
    #[arg(long = "final")]
    pub final_only: bool,
}

/// `dictlab findings` flags.
#[derive(Debug, clap::Args)]
pub struct FindingsArgs {
    /// Merged results of the benchmark (parquet).
    pub input: PathBuf,
    /// The plan whose `[adaptive]` section defines success and the level (its axis must be the
    /// sparsity).
    #[arg(long)]
    pub plan: PathBuf,
    /// Merged results at a second dimension n (e.g. the n = 64 slice), compared on matching m/n.
    #[arg(long)]
    pub second: Option<PathBuf>,
    /// Merged results of a rerun (same axes, e.g. a method rerun after a fix): every row of its
    /// methods in INPUT is dropped and its rows are used instead.
    #[arg(long)]
    pub replace: Option<PathBuf>,
    /// Rewrite the block between the findings markers of this Markdown file instead of printing.
    #[arg(long)]
    pub update: Option<PathBuf>,
    /// The block's markers with --update: `<!-- NAME:begin -->` … `<!-- NAME:end -->`.
    #[arg(long, default_value = "findings")]
    pub block: String,
    /// Keep only the rows whose instance key has this value (`noise_sigma=0.05`; repeatable, all
    /// must hold): the findings of a slice, e.g. an earlier run on a rerun's settings.
    #[arg(long, value_parser = parse_only)]
    pub only: Vec<(String, String)>,
    /// Only the contest's tables: what each method was told, the budget's caps, k* per family,
    /// neural against classical.
    #[arg(long)]
    pub brief: bool,
    /// Keep only the settings whose every curve of the plan is in INPUT (a partial merge of a run
    /// in progress: a setting is compared only once all of its methods finished).
    #[arg(long)]
    pub complete_settings: bool,
    /// Keep only the settings that this other results table has (with --settings-plan: those
    /// whose every curve of that plan it has): a before/after comparison on the same settings.
    #[arg(long)]
    pub settings_of: Option<PathBuf>,
    /// The plan of --settings-of, whose complete settings are kept.
    #[arg(long, requires = "settings_of")]
    pub settings_plan: Option<PathBuf>,
}

/// `KEY=VALUE` of `dictlab findings --only`.
fn parse_only(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "`{s}`: expected KEY=VALUE with an instance key, e.g. noise_sigma=0.05"
        )),
    }
}

/// `dictlab transitions` flags.
#[derive(Debug, clap::Args)]
pub struct TransitionsArgs {
    /// Merged results (parquet).
    pub input: PathBuf,
    /// Read axis, level and success from this plan's `[adaptive]` section (else the flags).
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// The integer instance key along which success falls.
    #[arg(long, default_value = "sparsity")]
    pub axis: String,
    /// Success fraction located.
    #[arg(long, default_value_t = 0.5)]
    pub level: f64,
    /// A run succeeds at recovery_rate (coders: support_exact) ≥ this.
    #[arg(long, default_value_t = 0.95)]
    pub success: f64,
    /// Write the table as CSV here instead of printing Markdown.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Summarise the curves per method and these instance columns (comma-separated, e.g.
    /// `p_inst_dictionary,p_inst_coherence`): curves, median and mean k* with a 95 % interval.
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
}

/// `dictlab import` flags.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The plan the table's runs belong to.
    pub plan: PathBuf,
    /// Results directory (created and claimed for PLAN if new).
    #[arg(long)]
    pub out: PathBuf,
    /// A merged table of PLAN (parquet), e.g. from `dictlab merge --partial`.
    #[arg(long)]
    pub from: PathBuf,
}

/// `dictlab tune` flags.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// Merged results of a tuning sweep (parquet).
    pub input: PathBuf,
    /// The tuned parameters (comma-separated plan keys, e.g. `lambda_scale,lr,batch`).
    #[arg(long, value_delimiter = ',', required = true)]
    pub keys: Vec<String>,
    /// Write the table as CSV here instead of printing Markdown.
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

/// `-p KEY=VALUE` arguments as registry parameters, typed as in a plan (true/false, integers,
/// numbers, else text); [`crate::registry::params_from_flags`] then refuses a key the method does
/// not take or one given twice, as for every flag.
///
/// # Errors
/// A malformed argument; `init`/`init_dist` (the start has its own flags).
pub fn param_flags(raw: &[String]) -> Result<Vec<(&str, Option<crate::table::Value>)>> {
    use crate::table::Value;
    raw.iter()
        .map(|kv| {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(Error::invalid("param", kv, "KEY=VALUE, e.g. -p steps=2000"));
            };
            let (k, v) = (k.trim(), v.trim());
            if k == "init" || k == "init_dist" {
                return Err(Error::invalid(
                    "param",
                    k,
                    "--init / --init-dist / --init-dict for the start (not -p)",
                ));
            }
            let value = if let Ok(b) = v.parse::<bool>() {
                Value::Bool(b)
            } else if let Ok(i) = v.parse::<i64>() {
                Value::Int(i)
            } else if let Ok(x) = v.parse::<f64>() {
                Value::Float(x)
            } else {
                Value::from(v)
            };
            Ok((k, Some(value)))
        })
        .collect()
}

/// `dictlab methods` flags.
#[derive(Debug, clap::Args)]
pub struct MethodsArgs {
    /// One method: its parameters with type, default and meaning.
    pub name: Option<String>,
    /// Every method's parameter table as Markdown (docs/methods.md).
    #[arg(long)]
    pub markdown: bool,
}

/// `dictlab repair` flags.
#[derive(Debug, clap::Args)]
pub struct RepairArgs {
    /// Results directory.
    pub dir: PathBuf,
}

/// `dictlab headline` flags.
#[derive(Debug, clap::Args)]
pub struct HeadlineArgs {
    /// Merged results (parquet, from `dictlab merge` or `run_cached`).
    pub input: PathBuf,
    /// Rewrite the block between the headline markers of this Markdown file instead of printing.
    #[arg(long)]
    pub update: Option<PathBuf>,
    /// Write the table as CSV here instead (full precision, for scripts).
    #[arg(long, conflicts_with = "update")]
    pub csv: Option<PathBuf>,
}

/// `dictlab sweep` flags.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Plan file (TOML; see `dictlab::sweep::plan`).
    pub plan: PathBuf,
    /// Results directory (created; rerunning resumes).
    #[arg(long)]
    pub out: PathBuf,
    /// Run only items with id mod N = i: `i/N`, or `auto` under a Slurm array job.
    #[arg(long)]
    pub shard: Option<String>,
    /// Concurrent runs (default: --threads ÷ the plan's threads_per_run).
    #[arg(long)]
    pub workers: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `dictlab status` flags.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Results directory.
    pub dir: PathBuf,
    /// Shard count to name unfinished shards by (default: the one emit-slurm recorded, else the
    /// one in the chunk names).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Print only the unfinished shards as an --array= list (empty when complete).
    #[arg(long)]
    pub array_list: bool,
    /// Print the status as JSON.
    #[arg(long, conflicts_with = "array_list")]
    pub json: bool,
}

/// `dictlab merge` flags.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Results directory.
    pub dir: PathBuf,
    /// Output parquet file.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Merge the runs finished so far of an unfinished directory (to look at a sweep in progress;
    /// not the plan's result). An adaptive plan keeps only its finished curves.
    #[arg(long)]
    pub partial: bool,
}

/// `dictlab emit-slurm` flags.
#[derive(Debug, clap::Args)]
pub struct EmitSlurmArgs {
    /// Plan file.
    pub plan: PathBuf,
    /// Results directory the jobs write (scripts go to DIR/slurm/).
    #[arg(long)]
    pub out: PathBuf,
    /// Array size N (shard i runs items with id mod N = i).
    #[arg(long)]
    pub shards: usize,
    /// CPUs per array task (the sweep's thread count).
    #[arg(long, default_value_t = 1)]
    pub cpus_per_shard: usize,
    /// Wall-time limit per task (Slurm syntax, e.g. 02:00:00).
    #[arg(long, default_value = "01:00:00")]
    pub time: String,
    /// Memory per task (Slurm syntax, e.g. 4G); default: the partition's.
    #[arg(long)]
    pub mem: Option<String>,
    /// Partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// The dictlab executable the jobs call (default: this one).
    #[arg(long)]
    pub dictlab: Option<PathBuf>,
}

impl From<EmitSlurmArgs> for crate::sweep::slurm::SlurmOptions {
    fn from(a: EmitSlurmArgs) -> Self {
        crate::sweep::slurm::SlurmOptions {
            plan: a.plan,
            out: a.out,
            shards: a.shards,
            cpus_per_shard: a.cpus_per_shard,
            time: a.time,
            mem: a.mem,
            partition: a.partition,
            dictlab: a.dictlab,
        }
    }
}

/// `dictlab compare` flags.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// First table (parquet).
    pub a: PathBuf,
    /// Second table (parquet).
    pub b: PathBuf,
    /// Also skip this column (repeatable); time_s, m_time_to_95, git_rev and crate_version are
    /// always skipped.
    #[arg(long)]
    pub ignore: Vec<String>,
}

/// `dictlab report` flags.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Merged results (parquet, from `dictlab merge`).
    pub input: PathBuf,
    /// Output HTML file.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Title (default: from the file name).
    #[arg(long)]
    pub title: Option<String>,
}

/// The methods of `kind` as command-line values: registry names (also accepted with `-` for
/// `_`), each with its summary as help — generated from the registry, so a new method needs no
/// change here.
fn method_values(kind: crate::registry::Kind) -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        crate::registry::METHODS
            .iter()
            .filter(|m| m.kind() == kind)
            .map(|m| {
                let v = clap::builder::PossibleValue::new(m.name()).help(m.summary());
                if m.name().contains('_') {
                    // a few bytes, once per process: clap's names are &'static str
                    v.alias(&*Box::leak(m.name().replace('_', "-").into_boxed_str()))
                } else {
                    v
                }
            }),
    )
}

fn learner_values() -> clap::builder::PossibleValuesParser {
    method_values(crate::registry::Kind::Learner)
}

fn coder_values() -> clap::builder::PossibleValuesParser {
    method_values(crate::registry::Kind::Coder)
}

/// Initializations on the command line.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum InitArg {
    /// m random signals, normalised (default).
    Data,
    /// Gaussian, unit-norm columns.
    Gaussian,
    /// Arora et al.'s pairwise-reweighting spectral method.
    Spectral,
    /// Agarwal et al.'s correlation-graph clustering (AltMinDict's initialization).
    Clustering,
    /// The true dictionary (--truth) perturbed to columnwise distance --init-dist (local
    /// convergence experiments).
    Near,
}

/// Solvers on the sphere (`--method l4`).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum SphereSolverArg {
    /// Fixed-point / power iteration.
    Power,
    /// Riemannian gradient descent with Armijo backtracking.
    Rgd,
}

/// `dictlab learn` flags.
#[derive(Debug, clap::Args)]
pub struct LearnArgs {
    /// Signals (n × N .npy, one signal per column).
    #[arg(long)]
    pub signals: PathBuf,
    /// Number of atoms m.
    #[arg(long)]
    pub atoms: usize,
    /// Learner (`dictlab methods NAME` lists its parameters).
    #[arg(long, value_parser = learner_values())]
    pub method: String,
    /// Non-zeros per code (OMP coder).
    #[arg(long)]
    pub sparsity: Option<usize>,
    /// Use the Lasso (LARS) coder with this λ instead of OMP (mod, bcd, online).
    #[arg(long = "lambda")]
    pub lambda: Option<f64>,
    /// Output dictionary (n × m .npy).
    #[arg(long)]
    pub out: PathBuf,
    /// True dictionary (n × m .npy): record recovery vs time, print the metrics as JSON.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Seed of the learner's random stream (init, minibatch order, atom replacement).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Initialization (ignored with --init-dict).
    #[arg(long, value_enum, default_value = "data")]
    pub init: InitArg,
    /// Initial dictionary (n × m .npy).
    #[arg(long)]
    pub init_dict: Option<PathBuf>,
    /// Columnwise distance of the start from the truth with --init near — default 0.5.
    #[arg(long, requires = "truth")]
    pub init_dist: Option<f64>,
    /// Any parameter of the method, in plan spelling (repeatable): `-p steps=2000 -p kind=topk`.
    /// `dictlab methods NAME` lists them; a key the method does not take is refused.
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Outer iterations (batch learners).
    #[arg(long)]
    pub iters: Option<usize>,
    /// Passes over the data (minibatch learners).
    #[arg(long)]
    pub epochs: Option<f64>,
    /// Minibatch size (minibatch learners).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Dictionary step η (arora, noodl).
    #[arg(long)]
    pub eta: Option<f64>,
    /// Decode threshold τ (arora; noodl's initial threshold).
    #[arg(long)]
    pub tau: Option<f64>,
    /// Initial residual bound ε₀ (altmin).
    #[arg(long)]
    pub eps0: Option<f64>,
    /// Floor of ε (altmin; ≈ noise σ√n).
    #[arg(long)]
    pub eps_min: Option<f64>,
    /// With --truth: stop once recovery_rate@0.99 reaches this fraction (e.g. 0.95).
    #[arg(long, requires = "truth")]
    pub target_rate: Option<f64>,
    /// Bernoulli rate θ of the codes (l4).
    #[arg(long)]
    pub theta: Option<f64>,
    /// Random starts per round (l4).
    #[arg(long)]
    pub starts: Option<usize>,
    /// Rounds of starts (l4).
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Solver on the sphere (l4).
    #[arg(long, value_enum, default_value = "power")]
    pub sphere_solver: SphereSolverArg,
    /// Do not whiten the signals (l4): Qu et al.'s model assumes a tight frame.
    #[arg(long)]
    pub no_whiten: bool,
    /// Procrustes polishing rounds after MSP (msp; ours).
    #[arg(long)]
    pub polish: Option<usize>,
    /// Record every k-th iteration (default: log-spaced, 10 per decade).
    #[arg(long)]
    pub every: Option<usize>,
    /// With --truth: write the trace (iter, time_s, data_fit, recovery metrics…) as CSV.
    #[arg(long, requires = "truth")]
    pub trace: Option<PathBuf>,
}

/// A value-enum's command-line name in registry / plan spelling (`identity-hadamard` →
/// `identity_hadamard`, `Mod` → `mod`).
fn registry_name(v: &impl ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().replace('-', "_"))
        .unwrap_or_default()
}

impl LearnArgs {
    /// The learner these flags describe (n × m dictionary from n-dimensional signals) and its
    /// start; `truth` is the planted dictionary (`--truth`, needed by `--init near`); `y` the
    /// training signals, which give the λ rule its mean ‖y‖² and the blind track its k̂.
    ///
    /// # Errors
    /// A flag the method does not take, a bad value, `--init near` without `--truth`.
    pub fn learner(
        &self,
        m: usize,
        truth: Option<&ndarray::Array2<f64>>,
        y: Option<ndarray::ArrayView2<'_, f64>>,
    ) -> Result<(Box<dyn crate::learn::DictionaryLearner>, crate::learn::Init)> {
        use crate::table::Value;
        let name = self.method.replace('-', "_");
        // --sparsity is a parameter of the methods that take it, and the data's k (the
        // instance's, in a plan) for the others
        let takes_k = crate::registry::lookup(&name)?.param("sparsity").is_some();
        let mut flags = vec![
            (
                "sparsity",
                self.sparsity.filter(|_| takes_k).map(Value::from),
            ),
            ("lambda", self.lambda.map(Value::from)),
            ("iters", self.iters.map(Value::from)),
            ("epochs", self.epochs.map(Value::from)),
            ("batch", self.batch.map(Value::from)),
            ("eta", self.eta.map(Value::from)),
            ("tau", self.tau.map(Value::from)),
            ("eps0", self.eps0.map(Value::from)),
            ("eps_min", self.eps_min.map(Value::from)),
            ("theta", self.theta.map(Value::from)),
            ("starts", self.starts.map(Value::from)),
            ("rounds", self.rounds.map(Value::from)),
            ("polish", self.polish.map(Value::from)),
            ("whiten", self.no_whiten.then_some(Value::Bool(false))),
            (
                "sphere_solver",
                (self.sphere_solver != SphereSolverArg::Power)
                    .then(|| Value::from(registry_name(&self.sphere_solver))),
            ),
            (
                "init",
                (self.init != InitArg::Data && self.init_dict.is_none())
                    .then(|| Value::from(registry_name(&self.init))),
            ),
            ("init_dist", self.init_dist.map(Value::from)),
        ];
        flags.extend(param_flags(&self.params)?);
        let params = crate::registry::params_from_flags(&name, flags)?;
        let blind = crate::spec::Track::of(&params) == crate::spec::Track::Blind;
        let ctx = crate::spec::Context {
            n_atoms: m,
            dim: truth.map(|a| a.nrows()),
            sparsity: self.sparsity,
            sparsity_estimate: match y {
                Some(y) if blind => Some(crate::learn::sparsity::estimate_sparsity(
                    y,
                    m,
                    crate::rng::derive_seed(self.seed, "k_hat"),
                )?),
                _ => None,
            },
            signal_power: y.map(crate::learn::signal_power),
            truth,
            ..Default::default()
        };
        let (learner, init) = crate::registry::build_learner(&name, &params, &ctx)?;
        let init = match &self.init_dict {
            Some(p) => crate::learn::Init::Given(io::read_matrix(p, "initial dictionary")?),
            None => init,
        };
        Ok((learner, init))
    }
}

/// Prints a progress line to stderr at each observed iteration, forwarding to an inner observer.
struct Progress<'a> {
    inner: Option<&'a mut crate::learn::RecoveryObserver>,
}

impl crate::iter::Observer<crate::learn::LearnState> for Progress<'_> {
    fn on_init(&mut self, s: &crate::learn::LearnState, rec: &crate::iter::Record) {
        if let Some(o) = self.inner.as_mut() {
            o.on_init(s, rec);
        }
    }
    fn on_iter(
        &mut self,
        iter: usize,
        elapsed: f64,
        s: &crate::learn::LearnState,
        rec: &crate::iter::Record,
    ) -> std::ops::ControlFlow<()> {
        let flow = match self.inner.as_mut() {
            Some(o) => o.on_iter(iter, elapsed, s, rec),
            None => std::ops::ControlFlow::Continue(()),
        };
        let rate = self
            .inner
            .as_ref()
            .map(|o| format!(" recovery_rate@0.99 {:.4}", o.last_rate()))
            .unwrap_or_default();
        // progress lines: a stderr that cannot be written loses them, not the run
        crate::error::note(&format!(
            "iter {iter:>6}  time {elapsed:>9.3}s  data_fit {:.6e}{rate}",
            s.data_fit
        ));
        flow
    }
}

/// `dictlab encode` flags.
#[derive(Debug, clap::Args)]
pub struct EncodeArgs {
    /// Dictionary (n × m .npy, atoms in columns).
    #[arg(long = "dict")]
    pub dict: PathBuf,
    /// Signals (n × N .npy, one signal per column).
    #[arg(long)]
    pub signals: PathBuf,
    /// Coder (`dictlab methods NAME` lists its parameters).
    #[arg(long, value_parser = coder_values())]
    pub method: String,
    /// Non-zeros per signal (omp, iht).
    #[arg(long)]
    pub sparsity: Option<usize>,
    /// Residual-norm target for omp (instead of --sparsity).
    #[arg(long, conflicts_with = "sparsity")]
    pub tol: Option<f64>,
    /// ℓ1 penalty λ (lasso, fista, ista, cd, lars).
    #[arg(long = "lambda")]
    pub lambda: Option<f64>,
    /// Non-negative codes (lasso family).
    #[arg(long)]
    pub nonneg: bool,
    /// Output codes (m × N .npy).
    #[arg(long)]
    pub out: PathBuf,
    /// True codes (m × N .npy): print support-recovery metrics.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Any parameter of the coder, in plan spelling (repeatable): `-p lambda=0.1`.
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Encode this many times in this process and report the fastest as `elapsed_s` (warm
    /// timing for benchmarks; the codes are those of the last run).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
}

impl EncodeArgs {
    /// The coder these flags describe.
    pub fn coder(&self) -> Result<Box<dyn crate::code::SparseCoder>> {
        use crate::table::Value;
        let name = self.method.replace('-', "_");
        let mut flags = vec![
            ("sparsity", self.sparsity.map(Value::from)),
            ("tol", self.tol.map(Value::from)),
            ("lambda", self.lambda.map(Value::from)),
            ("nonneg", self.nonneg.then_some(Value::Bool(true))),
        ];
        flags.extend(param_flags(&self.params)?);
        let params = crate::registry::params_from_flags(&name, flags)?;
        crate::registry::build_coder(&name, &params)
    }
}

/// `dictlab generate` flags.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Signal dimension n.
    #[arg(long)]
    pub dim: usize,
    /// Number of atoms m.
    #[arg(long)]
    pub atoms: usize,
    /// Exactly k non-zeros per code (default 3 unless --theta is given).
    #[arg(long)]
    pub sparsity: Option<usize>,
    /// Bernoulli(θ) supports instead of exact-k.
    #[arg(long, conflicts_with = "sparsity")]
    pub theta: Option<f64>,
    /// Zipf exponent for atom frequencies (exact-k supports).
    #[arg(long, conflicts_with = "theta")]
    pub zipf: Option<f64>,
    /// Correlated firing: atoms in groups of this size fire together (with --firing-corr).
    #[arg(long, requires = "firing_corr", conflicts_with_all = ["theta", "zipf"])]
    pub firing_group: Option<usize>,
    /// Correlated firing: probability ρ that the next atom comes from an active group.
    #[arg(long, requires = "firing_group")]
    pub firing_corr: Option<f64>,
    /// Number of samples N.
    #[arg(long)]
    pub samples: usize,
    /// Target mutual coherence (implies --dictionary coherence unless another kind is given).
    #[arg(long)]
    pub coherence: Option<f64>,
    /// Dictionary kind.
    #[arg(long, value_enum)]
    pub dictionary: Option<DictArg>,
    /// |cos| of planted pairs (near-duplicates).
    #[arg(long, default_value_t = 0.9)]
    pub pair_cos: f64,
    /// Number of planted pairs (near-duplicates).
    #[arg(long, default_value_t = 1)]
    pub pairs: usize,
    /// Value law of the non-zeros.
    #[arg(long, value_enum, default_value = "gaussian")]
    pub values: ValuesArg,
    /// Lower bound of uniform value laws.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub value_low: f64,
    /// Upper bound of uniform value laws.
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
    pub value_high: f64,
    /// Gaussian noise standard deviation.
    #[arg(long, conflicts_with = "snr_db")]
    pub noise_sigma: Option<f64>,
    /// Gaussian noise at this SNR (dB).
    #[arg(long, allow_negative_numbers = true)]
    pub snr_db: Option<f64>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// `dictlab metrics` flags.
#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// True dictionary (n × m .npy).
    #[arg(long)]
    pub truth: PathBuf,
    /// Estimated dictionary (n × m' .npy).
    #[arg(long)]
    pub estimate: PathBuf,
    /// Recovery threshold τ for recovery_rate.
    #[arg(long, default_value_t = crate::metrics::DEFAULT_TAU)]
    pub tau: f64,
}

impl GenerateArgs {
    /// The spec these flags describe (through [`InstanceSpec::from_params`], the keys of sweep
    /// plans).
    pub fn spec(&self) -> Result<InstanceSpec> {
        use crate::table::Value;
        let near = matches!(self.dictionary, Some(DictArg::NearDuplicates));
        let kv: Vec<(String, Value)> = [
            ("dim", Some(Value::from(self.dim))),
            ("n_atoms", Some(Value::from(self.atoms))),
            ("n_samples", Some(Value::from(self.samples))),
            (
                "dictionary",
                self.dictionary.map(|d| Value::from(registry_name(&d))),
            ),
            ("coherence", self.coherence.map(Value::from)),
            ("pair_cos", near.then_some(Value::from(self.pair_cos))),
            ("pairs", near.then_some(Value::from(self.pairs))),
            ("sparsity", self.sparsity.map(Value::from)),
            ("theta", self.theta.map(Value::from)),
            ("zipf_exponent", self.zipf.map(Value::from)),
            ("firing_group", self.firing_group.map(Value::from)),
            ("firing_corr", self.firing_corr.map(Value::from)),
            ("values", Some(Value::from(registry_name(&self.values)))),
            ("value_low", Some(Value::from(self.value_low))),
            ("value_high", Some(Value::from(self.value_high))),
            ("noise_sigma", self.noise_sigma.map(Value::from)),
            ("snr_db", self.snr_db.map(Value::from)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect();
        InstanceSpec::from_params(&kv)
    }
}

/// Run a parsed command; returns what to print on stdout.
pub fn run(cli: Cli) -> Result<String> {
    // a limit that does not parse is an error, not silently no limit
    if let Ok(v) = std::env::var("DICTLAB_MAX_MEMORY") {
        crate::mem::parse_size(&v).map_err(|_| {
            Error::invalid(
                "DICTLAB_MAX_MEMORY",
                v.clone(),
                "a size such as 8G, 512M or 2000000000 (or unset it)",
            )
        })?;
    }
    if let Some(m) = &cli.max_memory {
        crate::mem::set_limit(crate::mem::parse_size(m)?.max(1));
    }
    if let Some(t) = cli.threads {
        let t = crate::mem::cap_threads(t, "--threads")?;
        // A second initialisation (in tests) keeps the existing pool; any other failure is an error.
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            && rayon::current_num_threads() != t
        {
            return Err(crate::error::Error::invalid(
                "threads",
                t,
                format!("a thread count the system can start ({e})"),
            ));
        }
    }
    match cli.command {
        Command::Info => info(),
        Command::Compare(a) => compare(a),
        Command::Generate(g) => generate(g),
        Command::Encode(e) => encode(e),
        Command::Learn(l) => learn(l),
        Command::Conv(c) => conv::run(c),
        Command::Sae(c) => sae::run(c),
        Command::Sweep(a) => sweep(a),
        Command::Status(a) => status(a),
        Command::Methods(a) => methods_text(&a),
        Command::Repair(a) => Ok(serde_json::to_string(&crate::sweep::store::repair(
            &a.dir,
        )?)?),
        Command::Merge(a) => merge(a),
        Command::EmitSlurm(a) => crate::sweep::slurm::emit(&a.into()),
        Command::Report(a) => report(a),
        Command::Headline(a) => headline(a),
        Command::Findings(a) => findings(a),
        Command::Transitions(a) => transitions(a),
        Command::Tune(a) => tune(a),
        Command::Import(a) => {
            let plan = crate::sweep::Plan::from_file(&a.plan)?;
            let table = crate::sweep::store::read_results(&a.from)?;
            let n = crate::sweep::store::import_runs(&plan, &a.out, &table)?;
            Ok(serde_json::to_string(
                &serde_json::json!({"imported_runs": n, "out": a.out, "plan_hash": plan.hash}),
            )?)
        }
        Command::Show(a) => show(a),
        Command::Plan(a) => plan_summary(a),
        Command::Metrics(m) => metrics(m),
    }
}

/// `dictlab generate`: draw an instance, write A, X, Y and spec.json.
fn generate(g: GenerateArgs) -> Result<String> {
    let spec = g.spec()?;
    io::create_dir(&g.out)?;
    check_output_file(&g.out.join("A.npy"))?;
    let inst = spec.sample(g.seed)?;
    io::write_matrix(g.out.join("A.npy"), &inst.dict)?;
    io::write_matrix(g.out.join("X.npy"), &inst.codes)?;
    io::write_matrix(g.out.join("Y.npy"), &inst.y)?;
    let meta = serde_json::json!({
        "spec": spec,
        "seed": g.seed,
        "shapes": {"A": inst.dict.dim(), "X": inst.codes.dim(), "Y": inst.y.dim()},
        "coherence": inst.coherence(),
        "welch_bound": crate::metrics::welch_bound(spec.dim, spec.n_atoms),
        "coherence_report": inst.dict_report,
        "noise_sigma": inst.sigma,
        "dictlab_version": env!("CARGO_PKG_VERSION"),
        "layout": "columns are atoms and samples: A is n×m, X is m×N, Y is n×N (scikit-learn uses the transpose)",
    });
    io::write_json(g.out.join("spec.json"), &meta)?;
    Ok(serde_json::to_string(&meta)?)
}

/// `dictlab encode`: code signals against a dictionary (fastest of `--repeat` runs), with support metrics against true codes.
fn encode(e: EncodeArgs) -> Result<String> {
    check_output_file(&e.out)?;
    let coder = e.coder()?;
    let d = io::read_matrix(&e.dict, "dictionary")?;
    let y = io::read_matrix(&e.signals, "signals")?;
    crate::mem::check(
        format!("the codes of {} atoms × {} signals", d.ncols(), y.ncols()),
        crate::mem::f64_bytes(&[(d.ncols(), y.ncols()), (d.ncols(), d.ncols())]),
    )?;
    let truth = match &e.truth {
        Some(p) => {
            let x = io::read_matrix(p, "true codes")?;
            if x.dim() != (d.ncols(), y.ncols()) {
                return Err(Error::shape(
                    "true codes (m × N)",
                    (d.ncols(), y.ncols()),
                    x.dim(),
                ));
            }
            Some(x)
        }
        None => None,
    };
    crate::error::ensure!(e.repeat >= 1, "repeat", e.repeat, "--repeat ≥ 1");
    let mut enc = coder.encode(d.view(), y.view())?;
    let mut fastest = enc.info.elapsed;
    for _ in 1..e.repeat {
        drop(enc);
        enc = coder.encode(d.view(), y.view())?;
        fastest = fastest.min(enc.info.elapsed);
    }
    io::write_matrix(&e.out, &enc.codes)?;
    let mut out = serde_json::json!({
        "method": coder.name(),
        "iters": enc.info.iters,
        "termination": enc.info.termination.to_string(),
        "objective": enc.info.objective,
        "elapsed_s": fastest,
        "repeat": e.repeat,
        "premature": enc.info.premature,
        "mean_nnz": enc.codes.iter().filter(|v| **v != 0.0).count() as f64 / enc.codes.ncols().max(1) as f64,
    });
    if let Some(x) = truth {
        let s = crate::metrics::support_recovery(x.view(), enc.codes.view(), 0.0)?;
        for (k, v) in s.pairs() {
            out[k] = v.into();
        }
        out["code_err"] = crate::metrics::code_err(x.view(), enc.codes.view())?.into();
    }
    Ok(serde_json::to_string(&out)?)
}

/// `dictlab sweep`: run (or resume) a plan; exit 3 (an error listing the failures) when runs failed.
fn sweep(a: SweepArgs) -> Result<String> {
    use crate::sweep::{Plan, RunOptions, Shard, run_plan};
    let plan = Plan::from_file(&a.plan)?;
    let shard = match &a.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::all(),
    };
    let opts = RunOptions {
        shard,
        workers: a.workers.unwrap_or(0),
        progress: !a.quiet,
        ..Default::default()
    };
    let summary = run_plan(&plan, &a.out, &opts)?;
    let json = serde_json::to_string(&summary)?;
    if summary.runs_failed > 0 {
        return Err(crate::error::Error::RunsFailed {
            failed: summary.runs_failed,
            total: summary.runs_done,
            by_message: summary
                .errors
                .iter()
                .map(|(m, n)| format!("{n} × {m}"))
                .collect::<Vec<_>>()
                .join("; "),
            summary: json,
        });
    }
    Ok(json)
}

/// `dictlab status`: finished runs and shards left.
fn status(a: StatusArgs) -> Result<String> {
    let st = crate::sweep::status(&a.dir, a.shards)?;
    Ok(if a.array_list {
        st.array_list()
    } else if a.json {
        serde_json::to_string(&st)?
    } else {
        st.to_string()
    })
}

/// `dictlab merge`: one parquet table of a complete results directory.
fn merge(a: MergeArgs) -> Result<String> {
    check_output_file(&a.out)?;
    let df = if a.partial {
        crate::sweep::store::merge_partial(&a.dir)?
    } else {
        crate::sweep::merge(&a.dir)?
    };
    crate::sweep::store::write_parquet(&df, &a.out)?;
    Ok(serde_json::to_string(&serde_json::json!({
        "rows": df.height(),
        "columns": df.width(),
        "out": a.out,
    }))?)
}

/// `dictlab report`: the offline HTML dashboard of a merged table.
fn report(a: ReportArgs) -> Result<String> {
    check_output_file(&a.out)?;
    let df = crate::sweep::store::read_results(&a.input)?;
    let title = a.title.clone().unwrap_or_else(|| {
        format!(
            "dictlab sweep report: {}",
            a.input.file_name().unwrap_or_default().to_string_lossy()
        )
    });
    crate::report::dashboard::dashboard(&df, &title)?.write_html(&a.out)?;
    Ok(serde_json::to_string(&serde_json::json!({"out": a.out}))?)
}

/// `dictlab headline`: the headline table, printed or written into a document.
fn headline(a: HeadlineArgs) -> Result<String> {
    check_outputs(a.csv.as_deref(), a.update.as_deref())?;
    let df = crate::sweep::store::read_results(&a.input)?;
    if let Some(path) = &a.csv {
        let mut t = crate::report::dashboard::headline(&df)?;
        write_csv(&mut t, path)?;
        return Ok(serde_json::to_string(
            &serde_json::json!({"out": path, "methods": t.height()}),
        )?);
    }
    let body = headline_block(&df, &a.input)?;
    print_or_update(body, a.update.as_deref(), "headline")
}

/// The optional outputs of a table command, checked before work: a CSV file that can be
/// written, a document that exists and can be rewritten.
fn check_outputs(csv: Option<&std::path::Path>, doc: Option<&std::path::Path>) -> Result<()> {
    if let Some(c) = csv {
        check_output_file(c)?;
    }
    if let Some(d) = doc {
        if !d.is_file() {
            return Err(Error::invalid(
                "--update",
                d.display(),
                "an existing Markdown document holding the block's markers",
            ));
        }
        check_output_file(d)?;
    }
    Ok(())
}

/// `body`, or (with a document) the document's `tag` block replaced by it and `{"updated": doc}`.
fn print_or_update(body: String, doc: Option<&std::path::Path>, tag: &str) -> Result<String> {
    let Some(doc) = doc else {
        return Ok(body);
    };
    let text =
        std::fs::read_to_string(doc).map_err(|e| crate::sweep::store::file_err("read", doc, e))?;
    let new = crate::report::dashboard::replace_block(&text, tag, &body)?;
    // through a temporary file and a rename: a full disk leaves the document as it was
    crate::io::write_bytes(doc, new.as_bytes())?;
    Ok(serde_json::to_string(&serde_json::json!({"updated": doc}))?)
}

/// "plan H" or "plans H1, H2": the distinct plan hashes of a results table, sorted.
fn plan_label(df: &polars::prelude::DataFrame) -> String {
    let mut hashes = crate::table::column_str(df, "plan_hash").unwrap_or_default();
    hashes.sort();
    hashes.dedup();
    let word = if hashes.len() > 1 { "plans" } else { "plan" };
    format!("{word} {}", hashes.join(", "))
}

/// `dictlab plan`: what a plan would run.
fn plan_summary(a: PlanArgs) -> Result<String> {
    let plan = crate::sweep::Plan::from_file(&a.plan)?;
    let mut out = serde_json::json!({
        "hash": plan.hash,
        "name": plan.name,
        "items": plan.items()?.len(),
        "methods": plan.methods.len(),
        "grid_runs": plan.n_runs()?,
        "passes": plan.passes,
        "min_steps": plan.min_steps,
        "stall": plan.stall,
    });
    if let Some(ad) = &plan.adaptive {
        let curves = crate::sweep::adaptive::curves(&plan)?;
        let expected: usize = curves
            .iter()
            .map(|c| crate::sweep::adaptive::expected_runs(c.points.len(), ad.reps))
            .sum();
        out["adaptive"] = serde_json::json!({
            "rule": ad, "curves": curves.len(), "expected_runs": expected,
        });
    }
    Ok(serde_json::to_string(&out)?)
}

/// `dictlab show`: columns of a results table as CSV.
fn show(a: ShowArgs) -> Result<String> {
    use polars::prelude::SerWriter;
    let df = crate::sweep::store::read_parquet(&a.input)?;
    let df = if a.final_only {
        crate::report::dashboard::final_rows(&df)?
    } else {
        df
    };
    let mut df = if a.columns.is_empty() {
        df
    } else {
        let names: Vec<&str> = a.columns.iter().map(String::as_str).collect();
        crate::table::select(&df, &names)?
    };
    let mut out = Vec::new();
    polars::prelude::CsvWriter::new(&mut out).finish(&mut df)?;
    Ok(String::from_utf8_lossy(&out).trim_end().to_string())
}

/// Write `t` as CSV at `path`.
fn write_csv(t: &mut polars::prelude::DataFrame, path: &std::path::Path) -> Result<()> {
    use polars::prelude::SerWriter;
    crate::io::write_with(path, |w| {
        polars::prelude::CsvWriter::new(w).finish(t)?;
        Ok(())
    })
}

/// `dictlab findings`: the findings tables of a phase-transition benchmark.
fn findings(a: FindingsArgs) -> Result<String> {
    check_outputs(None, a.update.as_deref())?;
    let plan = crate::sweep::Plan::from_file(&a.plan)?;
    let ad = plan.adaptive.clone().ok_or_else(|| {
        Error::invalid(
            "--plan",
            a.plan.display(),
            "the benchmark's plan, with an [adaptive] section",
        )
    })?;
    if plan.problem == crate::sweep::plan::Problem::Conv {
        // the convolutional slice: θ* per learner and setting (report::conv_bench)
        let df = crate::sweep::store::read_results(&a.input)?;
        let md = crate::report::conv_bench::markdown(&df, &ad)?;
        let body = format!(
            "Generated by `dictlab findings {} --plan {}` ({}).\n\n{md}",
            a.input.display(),
            a.plan.display(),
            plan_label(&df)
        );
        return print_or_update(body, a.update.as_deref(), &a.block);
    }
    if ad.axis != "sparsity" {
        return Err(Error::invalid(
            "--plan",
            a.plan.display(),
            "a plan whose [adaptive] axis is `sparsity` (the findings read k*), or a convolutional plan (problem = \"conv\")",
        ));
    }
    let mut df = crate::sweep::store::read_results(&a.input)?;
    let mut source = a.input.display().to_string();
    if let Some(p) = &a.replace {
        let rerun = crate::sweep::store::read_results(p)?;
        df = crate::report::findings::replace_methods(&df, &rerun)?;
        source = format!("{source} --replace {}", p.display());
    }
    if a.complete_settings {
        let (kept, n) = crate::sweep::adaptive::complete_settings(&df, &plan)?;
        df = kept;
        source = format!("{source} --complete-settings ({n} settings complete)");
    }
    if let Some(p) = &a.settings_of {
        let mut other = crate::sweep::store::read_results(p)?;
        if let Some(op) = &a.settings_plan {
            other = crate::sweep::adaptive::complete_settings(
                &other,
                &crate::sweep::Plan::from_file(op)?,
            )?
            .0;
        }
        df = crate::sweep::adaptive::on_settings_of(&df, &other, &ad)?;
        source = format!("{source} --settings-of {}", p.display());
        if let Some(op) = &a.settings_plan {
            source = format!("{source} --settings-plan {}", op.display());
        }
    }
    if !a.only.is_empty() {
        df = crate::report::findings::only_settings(&df, &a.only)?;
        let only: Vec<String> = a
            .only
            .iter()
            .map(|(k, v)| format!("--only {k}={v}"))
            .collect();
        source = format!("{source} {}", only.join(" "));
    }
    let second = match &a.second {
        Some(p) => Some(crate::sweep::store::read_results(p)?),
        None => None,
    };
    let md = crate::report::findings::markdown_with(&df, &ad, second.as_ref(), a.brief)?;
    if a.brief {
        source = format!("{source} --brief");
    }
    let body = format!(
        "Generated by `dictlab findings {source}` ({}).\n\n{md}",
        plan_label(&df)
    );
    print_or_update(body, a.update.as_deref(), &a.block)
}

/// `dictlab tune`: the tuning rule over a tuning sweep's results.
fn tune(a: TuneArgs) -> Result<String> {
    check_outputs(a.csv.as_deref(), None)?;
    let df = crate::sweep::store::read_results(&a.input)?;
    let keys: Vec<&str> = a.keys.iter().map(String::as_str).collect();
    let mut t = crate::report::contest::tuning_choice(&df, &keys)?;
    if t.height() == 0 {
        return Err(Error::invalid(
            "--keys",
            a.keys.join(","),
            "parameters that the methods of the tuning sweep set (their ids name them, e.g. `lambda_scale=0.1`)",
        ));
    }
    csv_or_markdown(&mut t, a.csv.as_deref(), "rows")
}

/// `dictlab transitions`: the phase transition of every curve of a results table.
fn transitions(a: TransitionsArgs) -> Result<String> {
    check_outputs(a.csv.as_deref(), None)?;
    let ad = match &a.plan {
        Some(p) => crate::sweep::Plan::from_file(p)?.adaptive.ok_or_else(|| {
            Error::invalid(
                "--plan",
                p.display(),
                "a plan with an [adaptive] section (or give --axis/--level/--success)",
            )
        })?,
        None => crate::sweep::adaptive::Adaptive {
            axis: a.axis.clone(),
            level: a.level,
            success: a.success,
            reps: 1,
            max_reps: None,
        },
    };
    ad.check()?;
    let df = crate::sweep::store::read_results(&a.input)?;
    let mut t = crate::sweep::adaptive::transitions(&df, &ad)?;
    if !a.by.is_empty() {
        let by: Vec<&str> = a.by.iter().map(String::as_str).collect();
        t = crate::sweep::adaptive::summarize_transitions(&t, &by)?;
    }
    csv_or_markdown(&mut t, a.csv.as_deref(), "curves")
}

/// A table written as CSV to `csv` (printing `{"out": …, count: rows}`), else as Markdown.
fn csv_or_markdown(
    t: &mut polars::prelude::DataFrame,
    csv: Option<&std::path::Path>,
    count: &str,
) -> Result<String> {
    match csv {
        Some(path) => {
            write_csv(t, path)?;
            let mut out = serde_json::json!({"out": path});
            out[count] = serde_json::json!(t.height());
            Ok(serde_json::to_string(&out)?)
        }
        None => crate::report::dashboard::markdown_table(t),
    }
}

/// `dictlab metrics`: every recovery metric of an estimate against the truth.
fn metrics(m: MetricsArgs) -> Result<String> {
    let a = io::read_matrix(&m.truth, "true dictionary")?;
    let d = io::read_matrix(&m.estimate, "estimated dictionary")?;
    let r = crate::metrics::recovery_metrics(a.view(), d.view(), m.tau)?;
    Ok(serde_json::to_string(&r)?)
}

/// `dictlab compare`: the two tables agree bit for bit outside the volatile columns.
fn compare(a: CompareArgs) -> Result<String> {
    let (x, y) = (
        crate::sweep::store::read_parquet(&a.a)?,
        crate::sweep::store::read_parquet(&a.b)?,
    );
    let mut ignore: Vec<&str> = crate::table::VOLATILE.to_vec();
    ignore.extend(a.ignore.iter().map(String::as_str));
    let d = crate::table::differences(&x, &y, &ignore)?;
    if d.is_empty() {
        Ok(serde_json::to_string(&serde_json::json!({
            "equal": true, "rows": x.height(), "columns_compared": x.width() - x.columns().iter().filter(|c| ignore.contains(&c.name().as_str())).count(),
        }))?)
    } else {
        Err(Error::Results(format!(
            "{} and {} differ:\n{}",
            a.a.display(),
            a.b.display(),
            d.join("\n")
        )))
    }
}

/// `dictlab info`: what this build runs on.
fn info() -> Result<String> {
    use crate::code::simd;
    let limit = crate::mem::limit();
    Ok(serde_json::to_string(&serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "git_rev": crate::sweep::store::GIT_REV,
        "simd": {
            "detected": simd::detected().name(),
            "used": simd::level().name(),
            "forced_by": std::env::var("DICTLAB_SIMD").ok(),
        },
        "threads": rayon::current_num_threads(),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "memory_limit_bytes": limit.map(|l| l.0),
        "memory_limit_from": limit.map(|l| l.1),
    }))?)
}

/// The headline table of `df` with a line of provenance (file, plan hash, runs).
fn headline_block(df: &polars::prelude::DataFrame, input: &std::path::Path) -> Result<String> {
    let table = crate::report::dashboard::headline(df)?;
    let runs = crate::report::dashboard::final_rows(df)?.height();
    Ok(format!(
        "Generated by `dictlab headline {}` from {} ({runs} runs).\n\n{}",
        input.file_name().unwrap_or_default().to_string_lossy(),
        plan_label(df),
        crate::report::dashboard::markdown_table(&table)?
    ))
}

/// `dictlab methods [NAME] [--markdown]`: every method with its kind and parameters (plan
/// spelling; on the command line as flags or `-p KEY=VALUE`), or one method's parameters with
/// type, default and meaning — all from the specs.
fn methods_text(a: &MethodsArgs) -> Result<String> {
    use crate::registry::{Kind, METHODS, lookup};
    if a.markdown {
        return Ok(crate::registry::methods_markdown());
    }
    let kind = |m: &crate::registry::Method| match m.kind() {
        Kind::Coder => "coder  ",
        Kind::Learner => "learner",
        Kind::ConvCoder => "conv coder",
        Kind::ConvLearner => "conv learner",
    };
    Ok(match a.name.as_deref() {
        Some(n) => {
            let m = lookup(&n.replace('-', "_"))?;
            let mut s = format!("{} ({}): {}\n", m.name(), kind(m).trim(), m.summary());
            let rows: Vec<[String; 4]> = m
                .params()
                .iter()
                .map(|p| {
                    [
                        p.key.to_string(),
                        p.ty.describe(),
                        p.default.describe(),
                        p.doc.trim().to_string(),
                    ]
                })
                .collect();
            let width = |i: usize| {
                rows.iter()
                    .chain(std::iter::once(&[
                        "parameter".into(),
                        "type".into(),
                        "default".into(),
                        String::new(),
                    ]))
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            };
            let (w0, w1, w2) = (width(0), width(1), width(2));
            let pad = |t: &str, w: usize| format!("{t}{}", " ".repeat(w - t.chars().count()));
            s.push_str(&format!(
                "  {}  {}  {}  meaning\n",
                pad("parameter", w0),
                pad("type", w1),
                pad("default", w2)
            ));
            for r in &rows {
                s.push_str(&format!(
                    "  {}  {}  {}  {}\n",
                    pad(&r[0], w0),
                    pad(&r[1], w1),
                    pad(&r[2], w2),
                    r[3]
                ));
            }
            s.trim_end().to_string()
        }
        None => METHODS
            .iter()
            .map(|m| format!("{:<10} {}  {}", m.name(), kind(m), m.keys().join(", ")))
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// An output file can be written, checked before any work so that a wrong path does not throw
/// the results away at the end: not a directory, in an existing directory this process can
/// create files in (probed with a file created and removed at once).
fn check_output_file(path: &std::path::Path) -> Result<()> {
    let bad = |why: String| Error::invalid("output path", path.display(), why);
    if path.is_dir() {
        return Err(bad(
            "a file name, not a directory (e.g. DIR/out.npy or DIR/all.parquet)".into(),
        ));
    }
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(d) => d,
        None => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(bad(format!(
            "a file in an existing directory (`{}` does not exist: create it first)",
            dir.display()
        )));
    }
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(bad(format!(
            "a file in a directory this process can write (`{}`: {e})",
            dir.display()
        ))),
    }
}

fn learn(l: LearnArgs) -> Result<String> {
    use crate::learn::RecoveryObserver;
    check_output_file(&l.out)?;
    if let Some(t) = &l.trace {
        check_output_file(t)?;
    }
    let y = io::read_matrix(&l.signals, "signals")?;
    let m = l.atoms;
    crate::mem::check(
        format!(
            "learning {m} atoms from {} signals of dimension {}",
            y.ncols(),
            y.nrows()
        ),
        crate::mem::learner_bytes(y.nrows(), m, y.ncols()),
    )?;
    let truth = match &l.truth {
        Some(p) => {
            let a = io::read_matrix(p, "true dictionary")?;
            if a.nrows() != y.nrows() {
                return Err(Error::shape(
                    "true dictionary (n × m)",
                    (y.nrows(), m),
                    a.dim(),
                ));
            }
            Some(a)
        }
        None => None,
    };
    if let Some(r) = l.target_rate
        && !(r > 0.0 && r <= 1.0)
    {
        return Err(Error::invalid("target_rate", r, "a fraction in (0, 1]"));
    }
    let (learner, init) = l.learner(m, truth.as_ref(), Some(y.view()))?;
    let schedule = match l.every {
        Some(k) => crate::iter::Schedule::Every(k.max(1)),
        None => crate::iter::Schedule::LogSpaced(10),
    };
    let mut rec = truth.as_ref().map(|a| {
        let o = RecoveryObserver::new(a.view());
        match l.target_rate {
            Some(r) => o.stop_at(r),
            None => o,
        }
    });
    let learned = {
        let mut progress = Progress {
            inner: rec.as_mut(),
        };
        learner.learn_observed(y.view(), m, &init, l.seed, schedule, &mut progress)?
    };
    io::write_matrix(&l.out, &learned.dict)?;
    let mut out = serde_json::json!({
        "method": learner.name(),
        "iters": learned.info.iters,
        "termination": learned.info.termination.to_string(),
        "objective": learned.info.objective,
        "elapsed_s": learned.info.elapsed,
        "replaced_atoms": learned.replaced_atoms,
    });
    if let Some(a) = &truth {
        let r = crate::metrics::recovery_metrics(a.view(), learned.dict.view(), 0.99)?;
        out["recovery"] = serde_json::to_value(&r)?;
        if let Some(o) = &rec {
            out["time_to_target_s"] = o.reached().map(|(_, t)| t).into();
            out["iter_to_target"] = o.reached().map(|(i, _)| i).into();
            if let Some(path) = &l.trace {
                crate::io::write_csv(path, &o.to_frame()?)?;
            }
        }
    }
    Ok(serde_json::to_string(&out)?)
}
