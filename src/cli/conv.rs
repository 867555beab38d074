//! `dictlab conv generate | encode | learn`: the convolutional problems, coder and learner on
//! the command line, exchanging 3-D `.npy` arrays with numpy (alphacsc's layout: atoms K × P × L,
//! signals N × P × T, activations N × K × T_z).

use super::{check_output_file, param_flags};
use crate::conv::{AtomFamily, Boundary, ConvSpec, ConvValues, activation_f1, conv_recovery};
use crate::error::{Error, Result, ensure};
use crate::io;
use crate::table::Value;
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;

/// `dictlab conv` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConvCommand {
    /// Draw a planted convolutional problem; write D.npy (K × P × L), Z.npy (N × K × T_z),
    /// Y.npy (N × P × T) and spec.json (with the shift coherence μ_conv) to --out.
    Generate(ConvGenerateArgs),
    /// Convolutional sparse coding (FISTA with FFT products) of signals on atoms; write the
    /// activations (N × K × T_z .npy).
    Encode(ConvEncodeArgs),
    /// Learn K atoms of length L from signals; write them (K × P × L .npy); with --truth print
    /// recovery up to shift and sign.
    Learn(ConvLearnArgs),
}

/// Edge convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BoundaryArg {
    /// T_z = T − L + 1 (alphacsc).
    Valid,
    /// T_z = T, indices modulo T (sporco).
    Circular,
}

impl From<BoundaryArg> for Boundary {
    fn from(b: BoundaryArg) -> Self {
        match b {
            BoundaryArg::Valid => Boundary::Valid,
            BoundaryArg::Circular => Boundary::Circular,
        }
    }
}

/// Law of the non-zero activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConvValuesArg {
    /// Standard Gaussian.
    Gaussian,
    /// U[low, high], low > 0.
    Nonneg,
    /// ±U[low, high].
    Signed,
}

/// Atom family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// Gaussian entries, normalised.
    Gaussian,
    /// Smooth Gabor-like waveforms.
    Gabor,
    /// Near-duplicate pairs: atom 2j+1 = atom 2j shifted by --pair-shift, perturbed.
    ShiftedPairs,
    /// Gaussian atoms lowered to shift coherence ≤ --target-mu (full-rank atoms).
    Coherence,
}

/// `dictlab conv generate` flags.
#[derive(Debug, clap::Args)]
pub struct ConvGenerateArgs {
    /// Signals N.
    #[arg(long)]
    pub signals: usize,
    /// Channels P.
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    /// Samples per signal T (an image's width W with --rows).
    #[arg(long)]
    pub times: usize,
    /// Rows H of an image: > 1 generates H × T images with L × L atoms, written as 4-D arrays
    /// (D K × P × L × L, Z N × K × H_z × W_z, Y N × P × H × W).
    #[arg(long, default_value_t = 1)]
    pub rows: usize,
    /// Atoms K.
    #[arg(long)]
    pub atoms: usize,
    /// Atom length L.
    #[arg(long)]
    pub atom_len: usize,
    /// Activation rate θ per position, in (0, 1].
    #[arg(long, default_value_t = 0.01)]
    pub theta: f64,
    /// Law of the non-zero activations.
    #[arg(long, value_enum, default_value = "gaussian")]
    pub values: ConvValuesArg,
    /// Lower end of the uniform laws.
    #[arg(long, default_value_t = 1.0)]
    pub value_low: f64,
    /// Upper end of the uniform laws.
    #[arg(long, default_value_t = 2.0)]
    pub value_high: f64,
    /// Rank-1 atoms u vᵀ (alphacsc's multivariate model).
    #[arg(long)]
    pub rank1: bool,
    /// Atom family.
    #[arg(long, value_enum, default_value = "gaussian")]
    pub family: FamilyArg,
    /// Shift of the near-duplicate pairs (--family shifted-pairs).
    #[arg(long, default_value_t = 1)]
    pub pair_shift: usize,
    /// Perturbation of the near-duplicate pairs (--family shifted-pairs).
    #[arg(long, default_value_t = 0.1)]
    pub pair_perturb: f64,
    /// Target shift coherence μ_conv (--family coherence).
    #[arg(long, default_value_t = 0.5)]
    pub target_mu: f64,
    /// Edge convention.
    #[arg(long, value_enum, default_value = "valid")]
    pub boundary: BoundaryArg,
    /// Minimum distance between two activations of one atom in a signal.
    #[arg(long, default_value_t = 0)]
    pub min_spacing: usize,
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

impl ConvGenerateArgs {
    /// The spec these flags describe.
    pub fn spec(&self) -> ConvSpec {
        let values = match self.values {
            ConvValuesArg::Gaussian => ConvValues::Gaussian,
            ConvValuesArg::Nonneg => ConvValues::NonNeg {
                lo: self.value_low,
                hi: self.value_high,
            },
            ConvValuesArg::Signed => ConvValues::Signed {
                lo: self.value_low,
                hi: self.value_high,
            },
        };
        let family = match self.family {
            FamilyArg::Gaussian => AtomFamily::Gaussian,
            FamilyArg::Gabor => AtomFamily::Gabor,
            FamilyArg::ShiftedPairs => AtomFamily::ShiftedPairs {
                shift: self.pair_shift,
                perturb: self.pair_perturb,
            },
            FamilyArg::Coherence => AtomFamily::Coherence {
                target: self.target_mu,
            },
        };
        let mut s = ConvSpec::new(
            self.signals,
            self.channels,
            self.times,
            self.atoms,
            self.atom_len,
        )
        .rows(self.rows)
        .theta(self.theta)
        .values(values)
        .rank1(self.rank1)
        .family(family)
        .boundary(self.boundary.into())
        .min_spacing(self.min_spacing);
        if let Some(sigma) = self.noise_sigma {
            s = s.noise_sigma(sigma);
        }
        if let Some(snr) = self.snr_db {
            s = s.snr_db(snr);
        }
        s
    }
}

/// `dictlab conv encode` flags.
#[derive(Debug, clap::Args)]
pub struct ConvEncodeArgs {
    /// Coder (`dictlab methods NAME` lists its parameters).
    #[arg(long, default_value = "conv_fista",
          value_parser = super::method_values(crate::registry::Kind::ConvCoder))]
    pub method: String,
    /// Atoms (K × P × L .npy).
    #[arg(long = "dict")]
    pub dict: PathBuf,
    /// Signals (N × P × T .npy).
    #[arg(long)]
    pub signals: PathBuf,
    /// ℓ1 penalty λ.
    #[arg(long = "lambda", conflicts_with = "reg")]
    pub lambda: Option<f64>,
    /// λ as a fraction of λ_max = max|Dᵀy| of these atoms and signals, in (0, 1).
    #[arg(long)]
    pub reg: Option<f64>,
    /// Edge convention.
    #[arg(long, value_enum, default_value = "valid")]
    pub boundary: BoundaryArg,
    /// Any other parameter of the coder, in plan spelling: `-p nonneg=true -p tol=1e-10`
    /// (`dictlab methods conv_fista` lists them).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Output activations (N × K × T_z .npy).
    #[arg(long)]
    pub out: PathBuf,
    /// True activations (N × K × T_z .npy): print activation precision / recall / F1 (exact
    /// positions, |ẑ| > 1e-3 · max|ẑ|).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Encode this many times and report the fastest as `elapsed_s`.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
}

/// `dictlab conv learn` flags.
#[derive(Debug, clap::Args)]
pub struct ConvLearnArgs {
    /// Signals (N × P × T .npy).
    #[arg(long)]
    pub signals: PathBuf,
    /// Atoms K.
    #[arg(long)]
    pub atoms: usize,
    /// Atom length L.
    #[arg(long)]
    pub atom_len: usize,
    /// Learner (`dictlab methods NAME` lists its parameters).
    #[arg(long, default_value = "conv_altmin",
          value_parser = super::method_values(crate::registry::Kind::ConvLearner))]
    pub method: String,
    /// Edge convention.
    #[arg(long, value_enum, default_value = "valid")]
    pub boundary: BoundaryArg,
    /// Start of conv_altmin: random signal windows or Gaussian atoms (its default: chunk; ignored
    /// with --init-dict; conv_l4 starts on the sphere and takes neither).
    #[arg(long, value_parser = ["chunk", "gaussian"])]
    pub init: Option<String>,
    /// Initial atoms (K × P × L .npy).
    #[arg(long)]
    pub init_dict: Option<PathBuf>,
    /// Any parameter of the learner, in plan spelling: `-p reg=0.05 -p nonneg=true`
    /// (`dictlab methods conv_altmin` lists them).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Seed of the learner's random stream.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output atoms (K × P × L .npy).
    #[arg(long)]
    pub out: PathBuf,
    /// True atoms (K × P × L .npy): record recovery up to shift against time, print it.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// With --truth: stop once recovery_rate@0.99 reaches this fraction.
    #[arg(long, requires = "truth")]
    pub target_rate: Option<f64>,
    /// With --truth: write the trace (iter, time_s, objective, recovery) as CSV.
    #[arg(long, requires = "truth")]
    pub trace: Option<PathBuf>,
}

/// Run a `dictlab conv` subcommand.
///
/// # Errors
/// As the subcommand.
pub fn run(cmd: ConvCommand) -> Result<String> {
    match cmd {
        ConvCommand::Generate(g) => generate(g),
        ConvCommand::Encode(e) => encode(e),
        ConvCommand::Learn(l) => learn(l),
    }
}

fn generate(g: ConvGenerateArgs) -> Result<String> {
    let spec = g.spec();
    spec.check()?;
    io::create_dir(&g.out)?;
    for f in ["D.npy", "Z.npy", "Y.npy"] {
        check_output_file(&g.out.join(f))?;
    }
    let inst = spec.sample(g.seed)?;
    let image = spec.is_image();
    let l = spec.atom_len;
    let zh = spec.act_rows();
    io::write_conv_array(g.out.join("D.npy"), &inst.atoms, image.then_some(l))?;
    io::write_conv_array(g.out.join("Z.npy"), &inst.acts, image.then_some(zh))?;
    io::write_conv_array(g.out.join("Y.npy"), &inst.y, image.then_some(spec.rows))?;
    let shape = |a: &ndarray::Array3<f64>, rows: usize| -> Vec<usize> {
        let (d0, d1, t) = a.dim();
        if image {
            vec![d0, d1, rows, t / rows]
        } else {
            vec![d0, d1, t]
        }
    };
    let layout = if image {
        "images: atoms D are K × P × L × L, activations Z are N × K × H_z × W_z, images Y are N × P × H × W; y_i = Σ_k d_k * z_ik + e_i (2-D convolution)"
    } else {
        "alphacsc's: atoms D are K × P × L, activations Z are N × K × T_z, signals Y are N × P × T; y_i = Σ_k d_k * z_ik + e_i"
    };
    let meta = serde_json::json!({
        "spec": format!("{spec:?}"),
        "seed": g.seed,
        "shapes": {"D": shape(&inst.atoms, l), "Z": shape(&inst.acts, zh), "Y": shape(&inst.y, spec.rows)},
        "shift_coherence": inst.shift_coherence,
        "realized_rate": inst.realized_rate,
        "noise_sigma": inst.sigma,
        "boundary": format!("{:?}", spec.boundary).to_lowercase(),
        "dictlab_version": env!("CARGO_PKG_VERSION"),
        "layout": layout,
    });
    io::write_json(g.out.join("spec.json"), &meta)?;
    Ok(serde_json::to_string(&meta)?)
}

fn encode(e: ConvEncodeArgs) -> Result<String> {
    check_output_file(&e.out)?;
    ensure!(e.repeat >= 1, "repeat", e.repeat, "--repeat ≥ 1");
    let (d, d_img) = io::read_conv_array(&e.dict, "atoms")?;
    let (y, y_img) = io::read_conv_array(&e.signals, "signals")?;
    let boundary: Boundary = e.boundary.into();
    let grid = conv_grid(d_img, y_img)?;
    let method = e.method.replace('-', "_");
    let mut kv = crate::registry::params_from_flags(&method, param_flags(&e.params)?)?;
    ensure!(
        !kv.iter().any(|(k, _)| k == "lambda"),
        "param",
        "lambda",
        "--lambda VALUE or --reg FRACTION (not -p lambda)"
    );
    let nonneg = kv
        .iter()
        .any(|(k, v)| k == "nonneg" && matches!(v, Value::Bool(true)));
    let lambda = match (e.lambda, e.reg) {
        (Some(l), None) => l,
        (None, Some(r)) => {
            ensure!(
                r > 0.0 && r < 1.0,
                "reg",
                r,
                "a fraction of λ_max in (0, 1)"
            );
            r * crate::conv::cdl::lambda_max_on(d.view(), y.view(), grid, boundary, nonneg)?
        }
        _ => {
            return Err(Error::invalid(
                "lambda",
                "neither --lambda nor --reg",
                "--lambda VALUE, or --reg FRACTION of λ_max",
            ));
        }
    };
    kv.push(("lambda".into(), Value::from(lambda)));
    let coder = crate::registry::build_conv_coder(&method, &kv)?;
    let truth = match &e.truth {
        Some(path) => Some(io::read_conv_array(path, "true activations")?.0),
        None => None,
    };
    let mut enc = coder.encode_on(d.view(), y.view(), grid, boundary, None)?;
    let mut best = enc.elapsed;
    for _ in 1..e.repeat {
        enc = coder.encode_on(d.view(), y.view(), grid, boundary, None)?;
        best = best.min(enc.elapsed);
    }
    let z_rows = grid
        .is_image()
        .then(|| boundary.n_acts(grid.rows, grid.atom_rows));
    io::write_conv_array(&e.out, &enc.acts, z_rows)?;
    let mut out = serde_json::json!({
        "method": coder.name(),
        "lambda": lambda,
        "iters": enc.iters,
        "termination": enc.termination.to_string(),
        "objective": enc.objective,
        "rel_gap": enc.rel_gap,
        "elapsed_s": best,
    });
    if let Some(z) = &truth {
        ensure!(
            z.dim() == enc.acts.dim(),
            "true activations",
            format!("{:?}", z.dim()),
            format!("N × K × T_z = {:?}", enc.acts.dim())
        );
        let rec = conv_recovery(d.view(), d.view())?;
        let top = enc.acts.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let (prec, recall, f1) = activation_f1(&rec, z.view(), enc.acts.view(), 0, 1e-3 * top)?;
        out["activations"] = serde_json::json!({"precision": prec, "recall": recall, "f1": f1});
    }
    Ok(serde_json::to_string(&out)?)
}

fn learn(l: ConvLearnArgs) -> Result<String> {
    use crate::conv::ConvLearnState;
    use crate::iter::Record;
    use std::ops::ControlFlow;
    check_output_file(&l.out)?;
    if let Some(t) = &l.trace {
        check_output_file(t)?;
    }
    if let Some(r) = l.target_rate {
        ensure!(
            r > 0.0 && r <= 1.0,
            "target_rate",
            r,
            "a fraction in (0, 1]"
        );
    }
    let (y, y_img) = io::read_conv_array(&l.signals, "signals")?;
    let grid = match y_img {
        Some((h, _)) => crate::conv::Grid::image(h, l.atom_len),
        None => crate::conv::Grid::LINE,
    };
    let atom_rows = grid.is_image().then_some(l.atom_len);
    let r = atom_rows.unwrap_or(1);
    let recovery = move |d: &ndarray::Array3<f64>, e: &ndarray::Array3<f64>| {
        crate::conv::conv_recovery_2d(d.view(), e.view(), r, r)
    };
    let method = l.method.replace('-', "_");
    let mut flags = vec![("init", l.init.as_deref().map(Value::from))];
    flags.extend(param_flags(&l.params)?);
    let kv = crate::registry::params_from_flags(&method, flags)?;
    let learner = crate::registry::build_conv_learner(&method, &kv)?;
    let init = match &l.init_dict {
        Some(path) => Some(io::read_conv_array(path, "initial atoms")?.0),
        None => None,
    };
    let truth = match &l.truth {
        Some(path) => {
            let (d, d_img) = io::read_conv_array(path, "true atoms")?;
            ensure!(
                d_img.is_some() == grid.is_image(),
                "true atoms",
                if d_img.is_some() {
                    "4-D (image) atoms"
                } else {
                    "3-D atoms"
                },
                "true atoms of the signals' kind: 4-D K × P × L × L for images, 3-D K × P × L for 1-D signals"
            );
            ensure!(
                d.dim().1 == y.dim().1,
                "true atoms",
                format!("{:?}", d.dim()),
                format!(
                    "K × P × L atoms with the signals' P = {} channels",
                    y.dim().1
                )
            );
            Some(d)
        }
        None => None,
    };
    let mut rows: Vec<(usize, f64, f64, f64, f64)> = vec![];
    let mut reached: Option<(usize, f64)> = None;
    let target = l.target_rate;
    let mut obs = |it: usize, t: f64, s: &ConvLearnState, _: &Record| {
        if let Some(d) = &truth
            && let Ok(rec) = recovery(d, &s.atoms)
        {
            let rate = rec.recovery_rate(0.99);
            rows.push((it, t, s.objective, rate, rec.recovery_score()));
            if reached.is_none() && target.is_some_and(|r| rate >= r) {
                reached = Some((it, t));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    };
    let schedule = if truth.is_some() {
        crate::iter::Schedule::Every(1)
    } else {
        crate::iter::Schedule::Never
    };
    let out = learner.learn_on(
        y.view(),
        l.atoms,
        l.atom_len,
        grid,
        l.boundary.into(),
        init.as_ref().map(|d| d.view()),
        l.seed,
        schedule,
        &mut obs,
    )?;
    // rank-1 atoms: their patterns u (K × P) and waveforms v (K × L) beside the atoms
    let parts_paths = match &out.state.uv {
        Some((u, v)) => {
            let (pu, pv) = (sibling(&l.out, "_u"), sibling(&l.out, "_v"));
            check_output_file(&pu)?;
            check_output_file(&pv)?;
            io::write_matrix(&pu, u)?;
            io::write_matrix(&pv, v)?;
            Some((pu, pv))
        }
        None => None,
    };
    io::write_conv_array(&l.out, &out.state.atoms, atom_rows)?;
    let mut res = serde_json::json!({
        "method": learner.name(),
        "iters": out.info.iters,
        "termination": out.info.termination.to_string(),
        "objective": out.info.objective,
        "lambda": out.state.lambda,
        "elapsed_s": out.info.elapsed,
        "replaced_atoms": out.state.replaced_total,
    });
    if let Some((pu, pv)) = &parts_paths {
        res["u"] = pu.display().to_string().into();
        res["v"] = pv.display().to_string().into();
    }
    if let Some(d) = &truth {
        let rec = recovery(d, &out.state.atoms)?;
        res["recovery"] = serde_json::json!({
            "recovery_rate": rec.recovery_rate(0.99),
            "recovery_score": rec.recovery_score(),
            "matched_score": rec.matched_score,
            "matched_lag": rec.matched_lag,
        });
        if grid.is_image() {
            res["recovery"]["matched_lag_row"] = rec.matched_lag_row.clone().into();
        }
        if let Some((u_hat, v_hat)) = &out.state.uv {
            // the true atoms' parts by their best rank-1 approximation (exact for rank-1 truth)
            let (u, v) = crate::conv::cdl::rank1_parts(d.view());
            let (su, sv) = crate::conv::metrics::rank1_scores(
                &rec,
                u.view(),
                v.view(),
                u_hat.view(),
                v_hat.view(),
            )?;
            res["recovery"]["u_score"] = su.into();
            res["recovery"]["v_score"] = sv.into();
        }
        res["time_to_target_s"] = reached.map(|r| r.1).into();
        res["iter_to_target"] = reached.map(|r| r.0).into();
        if let Some(path) = &l.trace {
            let mut csv = String::from("iter,time_s,objective,recovery_rate,recovery_score\n");
            for (i, t, f, r, s) in &rows {
                csv.push_str(&format!("{i},{t},{f},{r},{s}\n"));
            }
            io::write_bytes(path, csv.as_bytes())?;
        }
    }
    Ok(serde_json::to_string(&res)?)
}

/// The layout of atoms and signals read by [`io::read_conv_array`]: both 3-D (1-D signals) or
/// both 4-D (images).
fn conv_grid(
    atoms: Option<(usize, usize)>,
    signals: Option<(usize, usize)>,
) -> Result<crate::conv::Grid> {
    match (atoms, signals) {
        (None, None) => Ok(crate::conv::Grid::LINE),
        (Some((lh, _)), Some((h, _))) => Ok(crate::conv::Grid::image(h, lh)),
        _ => Err(Error::invalid(
            "atoms and signals",
            "one 3-D and one 4-D array",
            "both 3-D (K × P × L atoms, N × P × T signals) or both 4-D (K × P × L × L, N × P × H × W images)",
        )),
    }
}

/// `dir/stem{suffix}.ext` beside `path` (`D.npy`, `_u` → `D_u.npy`).
fn sibling(path: &std::path::Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}{suffix}{ext}"))
}
