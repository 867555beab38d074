//! `dictlab emit-slurm`: scripts that run a plan as a Slurm job array.
//!
//! Written to `DIR/slurm/`:
//! * `sweep.sbatch` — the array (`--array=0-{N−1}`); task i runs `dictlab sweep DIR/plan.toml
//!   --out DIR --shard i/N` (N written into the script, so a resubmitted subset keeps the same
//!   sharding; `--shard auto` would read a resubmission's smaller SLURM_ARRAY_TASK_COUNT);
//! * `merge.sbatch` — `dictlab merge DIR -o DIR/all.parquet`;
//! * `submit.sh` — submits the array, then the merge with `--dependency=afterok:<array>`; a
//!   failing shard leaves the merge pending (`DependencyNeverSatisfied`);
//! * `resubmit.sh` — asks `dictlab status` for the unfinished shards, submits them as a new array
//!   and points the pending merge's dependency at it (`scontrol update`), so the merge runs once
//!   they succeed; with nothing left to run it submits the merge alone if it is not pending;
//! * `shards` — N, for `dictlab status`.
//!
//! The results directory is prepared first (plan copied, hash recorded), so the jobs read the plan
//! from `DIR/plan.toml` and refuse to mix with another plan's results.

use super::plan::Plan;
use super::store::prepare_dir;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// What [`emit`] writes: the plan, the results directory and the Slurm resources of each task
/// (`dictlab emit-slurm`'s flags are one way to fill it).
#[derive(Clone, Debug)]
pub struct SlurmOptions {
    /// Plan file.
    pub plan: PathBuf,
    /// Results directory the jobs write (scripts go to DIR/slurm/).
    pub out: PathBuf,
    /// Array size N (shard i runs items with id mod N = i).
    pub shards: usize,
    /// CPUs per array task (the sweep's thread count).
    pub cpus_per_shard: usize,
    /// Wall-time limit per task (Slurm syntax, e.g. 02:00:00).
    pub time: String,
    /// Memory per task (Slurm syntax, e.g. 4G); `None`: the partition's default.
    pub mem: Option<String>,
    /// Partition; `None`: the cluster's default.
    pub partition: Option<String>,
    /// The dictlab executable the jobs call; `None`: the running one.
    pub dictlab: Option<PathBuf>,
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

fn write_script(path: &Path, text: &str) -> Result<()> {
    crate::io::write_bytes(path, text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
    }
    Ok(())
}

/// `submit.sh`: submits the array, then the merge job that waits for it.
const SUBMIT: &str = "#!/bin/bash\n\
         # Submit the array and the merge job that waits for it (afterok).\n\
         set -euo pipefail\n\
         cd \"$(dirname \"$0\")\"\n\
         A=$(sbatch --parsable sweep.sbatch)\n\
         A=${A%%;*}\n\
         M=$(sbatch --parsable --dependency=afterok:$A merge.sbatch)\n\
         M=${M%%;*}\n\
         echo \"$A\" > array.jobid\n\
         echo \"$M\" > merge.jobid\n\
         echo \"array job $A, merge job $M (starts when every shard succeeded)\"\n";

/// `resubmit.sh`: submits the unfinished shards (from `dictlab status`) as a new array and points
/// the pending merge's dependency at it.
fn resubmit_script(x: &str, d: &str, n: usize) -> String {
    format!(
        "#!/bin/bash\n\
         # Resubmit the unfinished shards and make the pending merge wait for them.\n\
         set -euo pipefail\n\
         cd \"$(dirname \"$0\")\"\n\
         LIST=$({x} status {d} --shards {n} --array-list)\n\
         M=$(cat merge.jobid 2>/dev/null || true)\n\
         PENDING=$( [ -n \"$M\" ] && squeue -h -j \"$M\" -o %T 2>/dev/null | grep -c PENDING || true)\n\
         if [ -z \"$LIST\" ]; then\n\
         \x20 echo \"every shard has finished\"\n\
         \x20 if [ \"${{PENDING:-0}}\" != 0 ]; then scontrol update JobId=\"$M\" Dependency=\"\"; else M=$(sbatch --parsable merge.sbatch); echo \"${{M%%;*}}\" > merge.jobid; fi\n\
         \x20 exit 0\n\
         fi\n\
         A=$(sbatch --parsable --array=\"$LIST\" sweep.sbatch)\n\
         A=${{A%%;*}}\n\
         echo \"$A\" >> array.jobid\n\
         if [ \"${{PENDING:-0}}\" != 0 ]; then\n\
         \x20 scontrol update JobId=\"$M\" Dependency=\"afterok:$A\"\n\
         else\n\
         \x20 M=$(sbatch --parsable --dependency=afterok:$A merge.sbatch)\n\
         \x20 echo \"${{M%%;*}}\" > merge.jobid\n\
         fi\n\
         echo \"resubmitted shards $LIST as job $A; merge job $(cat merge.jobid) waits for it\"\n"
    )
}

/// A value written after `#SBATCH --key=`: no whitespace, quote, backslash, `#` or control
/// character (sbatch splits these lines itself; a plan or a flag must not add lines or options).
fn directive_value(what: &str, v: &str) -> Result<()> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | '#');
    if v.is_empty() || v.chars().any(bad) {
        return Err(Error::invalid(
            "emit-slurm",
            format!("{what} = {v:?}"),
            "a value without spaces, quotes, backslashes, '#' or control characters (it is written into #SBATCH lines, which Slurm does not quote)",
        ));
    }
    Ok(())
}

/// Write the scripts; returns a JSON summary (paths and the submit command).
///
/// # Errors
/// Bad flags (0 shards or CPUs, a malformed time), a bad plan, an unwritable directory.
pub fn emit(a: &SlurmOptions) -> Result<String> {
    crate::error::ensure!(a.shards >= 1, "shards", a.shards, "--shards ≥ 1");
    crate::error::ensure!(
        a.cpus_per_shard >= 1,
        "cpus_per_shard",
        a.cpus_per_shard,
        "--cpus-per-shard ≥ 1"
    );
    let time_ok = !a.time.is_empty()
        && a.time
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '-');
    crate::error::ensure!(
        time_ok,
        "time",
        &a.time,
        "a Slurm time such as 02:00:00, 90 or 1-00:00:00"
    );
    let plan = Plan::from_file(&a.plan)?;
    prepare_dir(&plan, &a.out)?;
    let dir = std::path::absolute(&a.out)?;
    let sdir = dir.join("slurm");
    let logs = sdir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| Error::File {
        action: "write",
        path: logs.clone(),
        source: Box::new(e),
    })?;
    let exe = match &a.dictlab {
        Some(p) => std::path::absolute(p)?,
        None => std::env::current_exe()?,
    };
    let (x, d) = (shell_quote(&exe), shell_quote(&dir));
    let n = a.shards;
    // #SBATCH lines are read by sbatch, not a shell: values must be single plain words
    directive_value(
        "--out (the log path of #SBATCH --output)",
        &logs.display().to_string(),
    )?;
    let mut opts = String::new();
    if let Some(m) = &a.mem {
        directive_value("--mem", m)?;
        opts.push_str(&format!("#SBATCH --mem={m}\n"));
    }
    if let Some(p) = &a.partition {
        directive_value("--partition", p)?;
        opts.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    let name = format!("dictlab-{}", plan.hash);
    let sweep = format!(
        "#!/bin/bash\n\
         # dictlab sweep of plan {hash} ({pname}) as a {n}-task array. Generated by `dictlab emit-slurm`.\n\
         #SBATCH --job-name={name}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={c}\n\
         #SBATCH --time={t}\n\
         #SBATCH --output={logs}/shard-%a-%j.log\n\
         {opts}\
         set -uo pipefail\n\
         rc=0\n\
         {x} --threads \"${{SLURM_CPUS_PER_TASK:-{c}}}\" sweep {d}/plan.toml --out {d} --shard \"${{SLURM_ARRAY_TASK_ID}}/{n}\" --quiet || rc=$?\n\
         # exit 3: the shard finished, some runs are error rows (kept in the results, counted above);\n\
         # the task succeeds so that the merge job (afterok) still runs\n\
         if [ \"$rc\" -eq 3 ]; then echo \"dictlab: some runs of this shard failed; their error rows are in the results\" >&2; exit 0; fi\n\
         exit \"$rc\"\n",
        hash = plan.hash,
        // the plan's free-text name goes into a comment: escaped, so a newline in it cannot
        // start a line of shell
        pname = plan.name.escape_debug(),
        last = n - 1,
        c = a.cpus_per_shard,
        t = a.time,
        logs = logs.display(),
    );
    let merge = format!(
        "#!/bin/bash\n\
         # Merge of plan {hash}: runs after every shard succeeded. Generated by `dictlab emit-slurm`.\n\
         #SBATCH --job-name={name}-merge\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --time={t}\n\
         #SBATCH --output={logs}/merge-%j.log\n\
         {opts}\
         set -euo pipefail\n\
         exec {x} merge {d} -o {d}/all.parquet\n",
        hash = plan.hash,
        t = a.time,
        logs = logs.display(),
    );
    write_script(&sdir.join("sweep.sbatch"), &sweep)?;
    write_script(&sdir.join("merge.sbatch"), &merge)?;
    write_script(&sdir.join("submit.sh"), SUBMIT)?;
    write_script(&sdir.join("resubmit.sh"), &resubmit_script(&x, &d, n))?;
    write_script(&sdir.join("shards"), &format!("{n}\n"))?;
    Ok(serde_json::to_string(&serde_json::json!({
        "plan_hash": plan.hash,
        "shards": n,
        "scripts": sdir,
        "submit": sdir.join("submit.sh"),
        "resubmit": sdir.join("resubmit.sh"),
        "merged": dir.join("all.parquet"),
    }))?)
}
