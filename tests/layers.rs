//! The crate's modules form layers without cycles (ARCHITECTURE.md): this test reads every
//! `crate::<module>` path in src/ (outside comments) and fails on one that points at a module
//! later in [`ORDER`] than the file's own top-level module.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules, bottom first: a module may use only modules before it.
const ORDER: &[&str] = &[
    // base
    "error", "doc", "rng", "mem", "linalg", "io", "table", "spec", "image", // problems
    "metrics", "generate", "instance", // methods
    "iter", "code", "learn", "neural", // orchestration
    "registry", "sweep", // presentation
    "report", "cli", "prelude",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/sweep/store.rs` → `sweep`); `None` for the crate
/// root and the binary.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// `crate::x` paths on code lines (line comments and doc comments skipped).
fn crate_uses(text: &str) -> BTreeSet<(usize, String)> {
    let mut out = BTreeSet::new();
    for (no, line) in text.lines().enumerate() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `$crate::` inside macros and paths like `dictlab::crate` are not module uses
            let before = &rest[..i];
            if !name.is_empty() && !before.ends_with('$') {
                out.insert((no + 1, name));
            }
            rest = tail;
        }
    }
    out
}

#[test]
fn every_import_points_down_the_layer_order() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let rank = |m: &str| ORDER.iter().position(|x| *x == m);
    let mut bad = Vec::new();
    let mut unplaced = BTreeSet::new();
    let mut seen = 0usize;
    for f in &files {
        let Some(me) = module_of(&src, f) else {
            continue;
        };
        let Some(my_rank) = rank(&me) else {
            unplaced.insert(me);
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for (line, used) in crate_uses(&text) {
            seen += 1;
            // the crate root's re-exports (src/lib.rs) stand for their modules
            let used_module = match used.as_str() {
                "Error" | "Result" => "error".to_string(),
                "Instance" | "InstanceSpec" | "DictKind" => "instance".to_string(),
                _ => used,
            };
            if used_module == me {
                continue;
            }
            match rank(&used_module) {
                Some(r) if r < my_rank => {}
                Some(_) => bad.push(format!(
                    "{}:{line}: `{me}` uses `crate::{used_module}`, which is not below it",
                    f.strip_prefix(&src).unwrap().display()
                )),
                None => {
                    unplaced.insert(used_module);
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from the layer order in tests/layers.rs (place each in its layer): {unplaced:?}"
    );
    assert!(seen > 100, "the scan found only {seen} crate:: paths");
    assert!(
        bad.is_empty(),
        "imports against the layer order ({}):\n{}",
        ORDER.join(" < "),
        bad.join("\n")
    );
}

#[test]
fn the_scanner_sees_paths_and_skips_comments() {
    let text = "use crate::sweep::Value;\n// crate::cli in a comment\nlet x = crate::report::f(); // crate::cli\n$crate::error::x";
    let got: Vec<_> = crate_uses(text).into_iter().collect();
    assert_eq!(
        got,
        vec![(1, "sweep".to_string()), (3, "report".to_string())]
    );
}
