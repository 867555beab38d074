//! Turns every notebook source in notebooks/src/*.rs (percent format, the source of the .ipynb
//! files) into a test function, so `cargo test` compiles and runs each notebook's code at its
//! default (small) size through the library API and catches API drift before a notebook rots.
//! evcxr commands (`:dep`, …) and markdown cells are dropped; the code cells become one function
//! body (top-level `?` and cross-cell `let`s behave the same in a function).
use std::{env, fs, path::Path};

fn main() {
    git_rev();
    avx512_cfg();
    println!("cargo:rerun-if-changed=notebooks/src");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("notebooks_smoke.rs");
    let mut code = String::new();
    let mut entries: Vec<_> = fs::read_dir("notebooks/src")
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    for path in entries {
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        let src = fs::read_to_string(&path).unwrap();
        let mut body = String::new();
        let mut in_code = false;
        for line in src.lines() {
            if line.starts_with("// %%") {
                in_code = !line.contains("[markdown]");
                continue;
            }
            if in_code && !line.trim_start().starts_with(':') {
                body.push_str(line);
                body.push('\n');
            }
        }
        code.push_str(&format!(
            "#[test]\nfn notebook_{stem}() -> Result<(), Box<dyn std::error::Error>> {{\ndictlab::report::set_display(false);\n{body}\nOk(())\n}}\n\n"
        ));
    }
    fs::write(out, code).unwrap();
}

/// The git revision for sweep provenance (`DICTLAB_GIT_REV`), `unknown` outside a checkout.
fn git_rev() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let rev = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DICTLAB_GIT_REV={rev}");
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = Path::new(&dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", dir.join(r).display());
        }
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("packed-refs").display()
        );
    }
}

/// `cfg(dictlab_avx512)` when the machine building the crate has AVX-512F (tests are built where
/// they run): the AVX-512 kernel tests are ignored with a reason elsewhere, not passed silently.
fn avx512_cfg() {
    println!("cargo::rustc-check-cfg=cfg(dictlab_avx512)");
    println!("cargo::rustc-check-cfg=cfg(dictlab_avx2)");
    #[cfg(target_arch = "x86_64")]
    {
        let native = env::var("TARGET").ok() == env::var("HOST").ok();
        if native && std::arch::is_x86_feature_detected!("avx512f") {
            println!("cargo:rustc-cfg=dictlab_avx512");
        }
        if native
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            println!("cargo:rustc-cfg=dictlab_avx2");
        }
    }
}
