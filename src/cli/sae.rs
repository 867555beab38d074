//! `dictlab sae synth | train`: the streamed SAE-scale planted model (SynthSAEBench's class) and a
//! sparse autoencoder trained on it batch by batch, measured against the planted features — the
//! command-line path of docs/protocols.md §15 at any size, in memory that does not grow with the
//! samples.

use super::{check_output_file, param_flags};
use crate::error::{Error, Result, ensure};
use crate::generate::stream::{SynthModel, SynthSpec};
use crate::iter::{Observer, Record, Schedule};
use crate::neural::sae::{SaeState, SaeTrainer, evaluate_stream};
use clap::Subcommand;
use std::ops::ControlFlow;
use std::path::PathBuf;

pub use crate::neural::sae::EVAL_FIRST_BATCH;

/// `dictlab sae` subcommands.
#[derive(Debug, Subcommand)]
pub enum SaeCommand {
    /// Draw a planted streamed model (dictionary.npy, model.json) into --out: SynthSAEBench's law
    /// (16 384 features in 768 dimensions, linear firing 0.16–0.01, 128 roots with exclusive
    /// children), at another size with --dim/--features, or any law from --spec (JSON).
    Synth(SaeSynthArgs),
    /// Train a sparse autoencoder on minibatches streamed from a model written by `sae synth`,
    /// then evaluate it on fresh batches; print the metrics, throughput and peak memory as JSON.
    Train(SaeTrainArgs),
}

/// `dictlab sae synth` flags.
#[derive(Debug, clap::Args)]
pub struct SaeSynthArgs {
    /// Output directory (dictionary.npy, model.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Dimension n (SynthSAEBench: 768).
    #[arg(long)]
    pub dim: Option<usize>,
    /// Features m (SynthSAEBench: 16 384); the hierarchy is rescaled (⌊m/128⌋ roots).
    #[arg(long)]
    pub features: Option<usize>,
    /// A whole law as JSON (the `spec` of a model.json); excludes --dim/--features.
    #[arg(long, conflicts_with_all = ["dim", "features"])]
    pub spec: Option<PathBuf>,
    /// Seed of the dictionary and of every batch.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `dictlab sae train` flags.
#[derive(Debug, clap::Args)]
pub struct SaeTrainArgs {
    /// A model directory written by `dictlab sae synth`.
    #[arg(long)]
    pub model: PathBuf,
    /// Latents m' (default: the model's features).
    #[arg(long)]
    pub latents: Option<usize>,
    /// `sae` (a sparse autoencoder, `dictlab methods sae`) or `online` (Mairal et al.'s online
    /// dictionary learning with its sparse coder, `dictlab methods online`, fed the same batches).
    #[arg(long, default_value = "sae", value_parser = ["sae", "online"])]
    pub learner: String,
    /// Minibatch steps of the online learner (the SAE takes `-p steps=`).
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// The learner's parameters as KEY=VALUE: for `sae` kind, k, steps, batch, lr, aux_k, …; for
    /// `online` coder settings (sparsity, lambda), batch, forgetting, …
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Seed of the model's initialization.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Evaluation batches (fresh ones, never trained on).
    #[arg(long, default_value_t = 4)]
    pub eval_batches: usize,
    /// Samples per evaluation batch.
    #[arg(long, default_value_t = 1024)]
    pub eval_batch: usize,
    /// Record the loss every this many steps (default: 20 points over the run).
    #[arg(long)]
    pub trace_every: Option<usize>,
    /// Write the learned decoder (n × m' .npy) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run a `dictlab sae` subcommand; the JSON it prints.
///
/// # Errors
/// As the subcommands.
pub fn run(cmd: SaeCommand) -> Result<String> {
    match cmd {
        SaeCommand::Synth(a) => synth(a),
        SaeCommand::Train(a) => train(a),
    }
}

fn synth(a: SaeSynthArgs) -> Result<String> {
    let spec = match &a.spec {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::invalid(
                    "spec",
                    format!("{}: {e}", path.display()),
                    "a readable JSON file",
                )
            })?;
            serde_json::from_str::<SynthSpec>(&text).map_err(|e| {
                Error::invalid(
                    "spec",
                    e.to_string(),
                    "the JSON of a SynthSpec (the `spec` object of a model.json)",
                )
            })?
        }
        None => {
            let base = SynthSpec::synth_sae_bench();
            SynthSpec::synth_sae_bench_at(
                a.dim.unwrap_or(base.dim),
                a.features.unwrap_or(base.features),
            )
        }
    };
    spec.check()?; // before anything is written: a refused law leaves no directory behind
    crate::io::create_dir(&a.out)?;
    for f in ["dictionary.npy", "model.json"] {
        check_output_file(&a.out.join(f))?;
    }
    let model = SynthModel::new(spec, a.seed)?;
    model.save(&a.out)?;
    let b = model.batch(0, 1024)?;
    Ok(serde_json::to_string_pretty(&serde_json::json!({
        "model": a.out.display().to_string(),
        "spec": model.spec,
        "seed": a.seed,
        "mean_l0_batch0": b.codes.mean_l0(),
    }))?)
}

/// Records (step, seconds, loss) at the schedule's steps.
struct Trace(Vec<(usize, f64, f64)>);

impl Observer<SaeState> for Trace {
    fn on_iter(
        &mut self,
        iter: usize,
        elapsed: f64,
        state: &SaeState,
        _rec: &Record,
    ) -> ControlFlow<()> {
        self.0.push((iter, elapsed, state.loss));
        ControlFlow::Continue(())
    }
}

fn train(a: SaeTrainArgs) -> Result<String> {
    if let Some(o) = &a.out {
        check_output_file(o)?;
    }
    ensure!(
        a.eval_batches >= 1 && a.eval_batch >= 1,
        "eval_batches",
        format!("{} × {}", a.eval_batches, a.eval_batch),
        "at least one evaluation batch of at least one sample"
    );
    let model = SynthModel::load(&a.model)?;
    let (n, m_true) = (model.spec.dim, model.spec.features);
    let m = a.latents.unwrap_or(m_true);
    ensure!(m >= 1, "latents", m, "at least one latent");
    // the data's sparsity, as the plans' "instance k": the rounded mean L0 of batch 0
    let (k_data, l0) = model.told_k()?;
    let kv = crate::registry::params_from_flags(&a.learner, param_flags(&a.params)?)?;
    let p = crate::registry::lookup(&a.learner)?.validate(&kv)?;
    let ctx = crate::spec::Context {
        n_atoms: m,
        dim: Some(n),
        sparsity: Some(k_data),
        ..Default::default()
    };
    if a.learner == "online" {
        return train_online(&a, &model, &p, &ctx, k_data, l0);
    }
    let trainer = SaeTrainer::from_params(&p, &ctx)?;
    // parameters, gradients and Adam's two moments of both matrices, and the m' × B pre-activations
    crate::mem::check(
        format!(
            "an SAE of {m} latents in {n} dimensions, batch {}",
            trainer.batch
        ),
        8 * (8 * m as u128 * n as u128 + 2 * m as u128 * trainer.batch as u128),
    )?;
    let every = a.trace_every.unwrap_or((trainer.steps / 20).max(1)).max(1);
    let mut trace = Trace(Vec::new());
    let t0 = std::time::Instant::now();
    let (state, info) = trainer.train_stream(&model, a.seed, Schedule::Every(every), &mut trace)?;
    let train_s = t0.elapsed().as_secs_f64();
    let peak_train = crate::mem::peak_rss();
    let t1 = std::time::Instant::now();
    let (ev, h) = evaluate_stream(
        &state.sae,
        &model,
        EVAL_FIRST_BATCH,
        a.eval_batches,
        a.eval_batch,
    )?;
    let eval_s = t1.elapsed().as_secs_f64();
    if let Some(o) = &a.out {
        let d = state.sae.w_dec.as_standard_layout().into_owned();
        crate::io::write_matrix(o, &d)?;
    }
    let samples = info.iters as f64 * trainer.batch as f64;
    report(
        Report {
            a: &a,
            n,
            features: m_true,
            latents: m,
            k_data,
            l0,
            samples,
            train_s,
            eval_s,
            peak_train,
            ev,
            h,
            trace: trace.0,
        },
        serde_json::json!({
            "trainer": format!("{trainer:?}"),
            "steps": info.iters,
            "termination": format!("{:?}", info.termination),
        }),
    )
}

/// What the reports of both learners share.
struct Report<'a> {
    a: &'a SaeTrainArgs,
    n: usize,
    features: usize,
    latents: usize,
    k_data: usize,
    l0: f64,
    samples: f64,
    train_s: f64,
    eval_s: f64,
    peak_train: Option<u64>,
    ev: crate::neural::sae::SaeEval,
    h: Option<crate::neural::sae::HierarchyEval>,
    trace: Vec<(usize, f64, f64)>,
}

/// The JSON that `sae train` prints: the shared fields and the learner's own (`learner`, an object).
fn report(r: Report<'_>, learner: serde_json::Value) -> Result<String> {
    let mut v = serde_json::json!({
        "model": r.a.model.display().to_string(),
        "dim": r.n,
        "features": r.features,
        "latents": r.latents,
        "told": {"k_data": r.k_data, "mean_l0_batch0": r.l0},
        "samples": r.samples,
        "train_seconds": r.train_s,
        "samples_per_second": r.samples / r.train_s,
        "eval_seconds": r.eval_s,
        "eval_samples": r.a.eval_batches * r.a.eval_batch,
        "peak_rss_train_bytes": r.peak_train,
        "peak_rss_bytes": crate::mem::peak_rss(),
        "threads": rayon::current_num_threads(),
        "eval": r.ev,
        "hierarchy": hierarchy_json(r.h),
        "trace": r.trace,
    });
    if let (Some(o), serde_json::Value::Object(extra)) = (v.as_object_mut(), learner) {
        o.extend(extra);
    }
    Ok(serde_json::to_string_pretty(&v)?)
}

fn hierarchy_json(h: Option<crate::neural::sae::HierarchyEval>) -> serde_json::Value {
    h.map_or(serde_json::Value::Null, |h| {
        serde_json::json!({
            "counts": h,
            "parent_recall_alone": h.recall_alone(),
            "parent_recall_with_child": h.recall_with_child(),
            "absorption": h.absorption(),
        })
    })
}

/// Online dictionary learning (Mairal et al. 2010) on the streamed batches: batch t of the model
/// for step t (t = 1 … steps), from a Gaussian start drawn from the seed; evaluated with its own
/// coder on the same fresh batches as an SAE.
fn train_online(
    a: &SaeTrainArgs,
    model: &SynthModel,
    p: &crate::spec::Params<'_>,
    ctx: &crate::spec::Context<'_>,
    k_data: usize,
    l0: f64,
) -> Result<String> {
    use crate::learn::online::{OnlineDl, OnlineOptions};
    let (n, m) = (model.spec.dim, ctx.n_atoms);
    ensure!(
        a.steps >= 1,
        "steps",
        a.steps,
        "at least one minibatch step"
    );
    let online = OnlineDl {
        coder: crate::learn::coder_from_params(p, ctx)?,
        opts: OnlineOptions::from_params(p, ctx)?,
    };
    online.check()?;
    // the statistics A (m × m) and B (n × m), the dictionary, its Gram for duplicate checks
    crate::mem::check(
        format!("online dictionary learning of {m} atoms in {n} dimensions"),
        8 * (2 * m as u128 * m as u128 + 2 * n as u128 * m as u128),
    )?;
    let mut rng = crate::rng::rng_from_seed(a.seed);
    let start = crate::generate::dictionary::gaussian_matrix(n, m, &mut rng);
    let every = a.trace_every.unwrap_or((a.steps / 20).max(1)).max(1);
    let mut trace: Vec<(usize, f64, f64)> = Vec::new();
    let t0 = std::time::Instant::now();
    let s = online.fit_stream(
        model,
        start,
        a.steps,
        crate::rng::derive_seed(a.seed, "online"),
        &mut |t, s| {
            if t % every == 0 || t == a.steps {
                trace.push((t, t0.elapsed().as_secs_f64(), s.data_fit));
            }
            true
        },
    )?;
    let train_s = t0.elapsed().as_secs_f64();
    let peak_train = crate::mem::peak_rss();
    let t1 = std::time::Instant::now();
    let dict = &s.dict;
    let coder = &online.coder;
    let (ev, h) = crate::neural::sae::evaluate_stream_coder(
        dict.view(),
        coder,
        model,
        EVAL_FIRST_BATCH,
        a.eval_batches,
        a.eval_batch,
    )?;
    let eval_s = t1.elapsed().as_secs_f64();
    if let Some(o) = &a.out {
        crate::io::write_matrix(o, dict)?;
    }
    let samples = (a.steps * online.opts.batch) as f64;
    report(
        Report {
            a,
            n,
            features: model.spec.features,
            latents: m,
            k_data,
            l0,
            samples,
            train_s,
            eval_s,
            peak_train,
            ev,
            h,
            trace,
        },
        serde_json::json!({
            "learner": format!("online[{}]", crate::code::SparseCoder::name(coder)),
            "steps": a.steps,
            "replaced_atoms": s.replaced_total,
        }),
    )
}
