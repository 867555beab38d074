//! Which compiled path the coders' kernels take: the one place that reads the CPU's features.
//!
//! OMP, LARS and the proximal-gradient panels are compiled three ways — portable Rust, the same
//! code for AVX2 + FMA, and (OMP's and LARS's fused passes) AVX-512 intrinsics — and pick one at
//! run time through [`level`]: the best the CPU has, lowered by `DICTLAB_SIMD=portable|avx2|avx512`
//! (read once per process) to force a path for testing and benchmarking. A level above what the
//! CPU has is refused (it would execute instructions the CPU lacks): the detected level is used
//! and a warning says so. `make test` runs the coder tests once more with
//! `DICTLAB_SIMD=portable`, and `dictlab info` prints the level in use.

use std::sync::OnceLock;

/// A compiled path, ordered from the most portable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Level {
    /// Portable Rust (any CPU; what aarch64 runs).
    Portable,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// x86-64 with AVX-512F (and AVX2 + FMA).
    Avx512,
}

impl Level {
    /// The name `DICTLAB_SIMD` takes.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
    fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "portable" | "scalar" => Some(Level::Portable),
            "avx2" => Some(Level::Avx2),
            "avx512" | "avx-512" => Some(Level::Avx512),
            _ => None,
        }
    }
}

/// The best level this CPU supports.
pub fn detected() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        if avx2 && std::arch::is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        if avx2 {
            return Level::Avx2;
        }
    }
    Level::Portable
}

/// The level `requested` (from `DICTLAB_SIMD`) resolves to on a CPU that supports `cpu`, and a
/// warning when the request cannot be honoured.
fn resolve(requested: Option<&str>, cpu: Level) -> (Level, Option<String>) {
    let Some(raw) = requested.filter(|s| !s.trim().is_empty()) else {
        return (cpu, None);
    };
    match Level::parse(raw) {
        None => (
            cpu,
            Some(format!(
                "DICTLAB_SIMD={raw} is not a level (portable, avx2, avx512): using {}",
                cpu.name()
            )),
        ),
        Some(l) if l > cpu => (
            cpu,
            Some(format!(
                "DICTLAB_SIMD={raw}: this CPU supports up to {}, which is used",
                cpu.name()
            )),
        ),
        Some(l) => (l, None),
    }
}

/// The level the kernels run at: [`detected`], lowered by `DICTLAB_SIMD` (read once).
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let env = std::env::var("DICTLAB_SIMD").ok();
        let (level, warning) = resolve(env.as_deref(), detected());
        if let Some(w) = warning {
            crate::error::warn(&w);
        }
        level
    })
}

/// Whether the AVX2 + FMA kernels run.
#[inline]
pub(crate) fn avx2() -> bool {
    level() >= Level::Avx2
}

/// Whether the AVX-512 kernels run.
#[inline]
pub(crate) fn avx512() -> bool {
    level() >= Level::Avx512
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_can_lower_the_level_but_never_raise_it() {
        assert_eq!(resolve(None, Level::Avx512), (Level::Avx512, None));
        assert_eq!(resolve(Some("portable"), Level::Avx512).0, Level::Portable);
        assert_eq!(resolve(Some("AVX2"), Level::Avx512).0, Level::Avx2);
        let (l, w) = resolve(Some("avx512"), Level::Avx2);
        assert_eq!(l, Level::Avx2);
        assert!(w.unwrap().contains("supports up to avx2"));
        let (l, w) = resolve(Some("sse9"), Level::Portable);
        assert_eq!(l, Level::Portable);
        assert!(w.unwrap().contains("not a level"));
        assert!(level() <= detected());
    }
}
