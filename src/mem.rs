//! Machine resources: one memory check before any large allocation, and thread counts capped at
//! what the machine can use.
//!
//! Sizes are checked *before* allocating, so that `--dim 100000 --atoms 100000` or an `.npy`
//! header that claims 10¹⁰ entries is a typed error naming the size and the fix, not an abort
//! inside the allocator. The limit is, in order: [`set_limit`] (the CLI's `--max-memory`, a plan's
//! `max_memory`), the `DICTLAB_MAX_MEMORY` environment variable, or the smallest of the memory the
//! system reports as available (`MemAvailable` of `/proc/meminfo`), the address space `ulimit -v`
//! leaves (`RLIMIT_AS`) and the room in the process's cgroup (v1 or v2: what Slurm and containers
//! set). Where none is known, nothing is refused.
//!
//! Estimates count the dense `f64` arrays a step holds at once (inputs, outputs, the main
//! temporaries); they are lower bounds, so the check refuses only what cannot fit.

use crate::error::{Error, Result};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static LIMIT: AtomicU64 = AtomicU64::new(0);

/// The process's peak resident memory so far (`VmHWM` of `/proc/self/status`, bytes); `None`
/// where the system does not report it.
pub fn peak_rss() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Set the memory limit for this process (bytes; 0 restores the default).
pub fn set_limit(bytes: u64) {
    LIMIT.store(bytes, Ordering::SeqCst);
}

/// Parse a size: bytes, or a number with a K/M/G/T suffix (powers of 1024; `8G`, `512M`, `1.5T`).
///
/// # Errors
/// Not a non-negative finite number with an optional suffix.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: f64 = match c.to_ascii_uppercase() {
                'B' => 1.0,
                'K' => 1024.0,
                'M' => 1024f64.powi(2),
                'G' => 1024f64.powi(3),
                'T' => 1024f64.powi(4),
                _ => f64::NAN,
            };
            (&t[..i], m)
        }
        _ => (t, 1.0),
    };
    let x: f64 = num.trim().parse().unwrap_or(f64::NAN);
    let bytes = x * mult;
    if !(0.0..1.8e19).contains(&bytes) {
        return Err(Error::invalid(
            "max_memory",
            s,
            "a size in bytes or with a K/M/G/T suffix, e.g. 8G or 512M",
        ));
    }
    Ok(bytes as u64)
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// The soft `RLIMIT_AS` (what `ulimit -v` sets) less the address space already mapped
/// (`VmSize` of `/proc/self/status`); `None` when unlimited.
fn address_space_headroom() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0
        || lim.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let used_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    Some(lim.rlim_cur.saturating_sub(used_kb.saturating_mul(1024)))
}

/// A number in a cgroup file; `None` for `max`, a missing file, or a value so large it means
/// "no limit" (cgroup v1 writes 2⁶³ rounded down to a page).
fn cgroup_value(path: &Path) -> Option<u64> {
    let v: u64 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    (v < 1 << 60).then_some(v)
}

/// The memory the cgroups of this process still allow: for each cgroup from the process's own
/// up to the root, limit − usage (v2: `memory.max` − `memory.current`; v1: `memory.limit_in_bytes`
/// − `memory.usage_in_bytes`), the smallest. `cgroups` is the text of `/proc/self/cgroup`,
/// `root` the cgroup mount (`/sys/fs/cgroup`).
fn cgroup_headroom(cgroups: &str, root: &Path) -> Option<u64> {
    let mut best: Option<u64> = None;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(rel)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (base, limit, usage) = if ctrl.is_empty() {
            (root.to_path_buf(), "memory.max", "memory.current")
        } else if ctrl.split(',').any(|c| c == "memory") {
            (
                root.join("memory"),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        let mut dir = base.join(rel.trim_start_matches('/'));
        loop {
            if let Some(lim) = cgroup_value(&dir.join(limit)) {
                let used = cgroup_value(&dir.join(usage)).unwrap_or(0);
                let room = lim.saturating_sub(used);
                best = Some(best.map_or(room, |b| b.min(room)));
            }
            if dir == base || !dir.pop() {
                break;
            }
        }
    }
    best
}

/// The limit in force and where it comes from: a limit set for this process (or
/// `DICTLAB_MAX_MEMORY`) as given; otherwise the smallest of the memory the system reports as
/// available, the address space `ulimit -v` leaves, and what the cgroup (Slurm's, a container's)
/// leaves.
pub fn limit() -> Option<(u64, &'static str)> {
    let set = LIMIT.load(Ordering::SeqCst);
    if set > 0 {
        return Some((set, "--max-memory or plan max_memory limit"));
    }
    if let Some(b) = std::env::var("DICTLAB_MAX_MEMORY")
        .ok()
        .and_then(|v| parse_size(&v).ok())
    {
        return Some((b, "DICTLAB_MAX_MEMORY limit"));
    }
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    [
        available().map(|b| (b, "memory available on this machine")),
        address_space_headroom().map(|b| (b, "address space left under ulimit -v")),
        cgroup_headroom(&cgroups, Path::new("/sys/fs/cgroup")).map(|b| {
            (
                b,
                "memory left in this process's cgroup (a Slurm or container limit)",
            )
        }),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|(b, _)| *b)
}

/// Bytes of `f64` arrays with these entry counts (saturating: a product that overflows is
/// simply too large).
pub fn f64_bytes(counts: &[(usize, usize)]) -> u128 {
    counts
        .iter()
        .map(|&(r, c)| (r as u128).saturating_mul(c as u128))
        .fold(0u128, |a, b| a.saturating_add(b))
        .saturating_mul(8)
}

/// Bytes a method holds while it learns m atoms from N signals of dimension n: codes and a copy
/// (m × N), the dictionary, its gradient or update and a start (n × m each), the Gram matrix
/// (m × m). The one estimate the CLI's `learn` and every sweep run check before they start.
pub fn learner_bytes(n: usize, m: usize, nn: usize) -> u128 {
    f64_bytes(&[(m, nn), (m, nn), (n, m), (n, m), (n, m), (m, m)])
}

/// Human-readable bytes (`1.5 GiB`).
pub fn human(bytes: u128) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut x = bytes as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < units.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{x:.1} {}", units[u])
    }
}

/// Refuse `bytes` for `what` if it exceeds the limit (see the module doc).
///
/// # Errors
/// [`Error::TooLarge`], naming the size, the limit and the fix.
pub fn check(what: impl Into<String>, bytes: u128) -> Result<()> {
    match limit() {
        Some((lim, source)) if bytes > lim as u128 => Err(Error::TooLarge {
            what: what.into(),
            needed: human(bytes),
            limit: format!("{} ({source})", human(lim as u128)),
        }),
        _ => Ok(()),
    }
}

/// The cores of this machine (1 when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A thread count checked and capped at 4 × the cores, with a warning on stderr when capped
/// (more threads than that only add switching: `--threads 10000` made a 10 ms job take 39 s, and
/// `threads_per_run = 100000` spawned threads for minutes).
///
/// # Errors
/// `t = 0`.
pub fn cap_threads(t: usize, what: &str) -> Result<usize> {
    if t == 0 {
        return Err(Error::invalid("threads", t, format!("{what} ≥ 1")));
    }
    let cap = 4 * cores();
    if t > cap {
        crate::error::warn(&format!(
            "{what} {t} capped at {cap} (4 × the {} cores of this machine)",
            cores()
        ));
        return Ok(cap);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes_and_refuse_nonsense() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("8G").unwrap(), 8 << 30);
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5K").unwrap(), 1536);
        for bad in ["", "NaN", "-1G", "12Q", "inf", "G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn byte_counts_saturate_instead_of_overflowing() {
        assert_eq!(f64_bytes(&[(2, 3), (4, 1)]), 80);
        assert_eq!(
            f64_bytes(&[(usize::MAX, usize::MAX), (usize::MAX, usize::MAX)]),
            u128::MAX
        );
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(3 << 30), "3.0 GiB");
    }

    #[test]
    fn cgroup_limits_of_v1_and_v2_and_their_ancestors_are_read() {
        let root = tempfile::tempdir().unwrap();
        let w = |rel: &str, file: &str, v: &str| {
            let d = root.path().join(rel);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(file), v).unwrap();
        };
        // v2: the job's own cgroup has no limit, its parent (the Slurm job) has 4 GiB, 1 GiB used
        w("slurm/job_7", "memory.max", "max\n");
        w("slurm/job_7", "memory.current", "100\n");
        w("slurm", "memory.max", "4294967296\n");
        w("slurm", "memory.current", "1073741824\n");
        let got = cgroup_headroom("0::/slurm/job_7\n", root.path());
        assert_eq!(got, Some(3 * 1024 * 1024 * 1024));
        // v1: limit_in_bytes 2000, usage 500; another controller's line ignored
        w("memory/job", "memory.limit_in_bytes", "2000");
        w("memory/job", "memory.usage_in_bytes", "500");
        w("memory", "memory.limit_in_bytes", "9223372036854771712");
        let got = cgroup_headroom("5:cpu,cpuacct:/job\n4:memory:/job\n", root.path());
        assert_eq!(got, Some(1500));
        assert_eq!(cgroup_headroom("0::/none\n", root.path()), None);
    }
}
