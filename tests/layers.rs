//! The crate's modules form layers without cycles (ARCHITECTURE.md): this test tokenizes every
//! file in src/ (comments and literals skipped) and reads every path to a top-level module —
//! `crate::x`, the members of `crate::{x, y::{…}}` groups over any number of lines, `super::…`
//! paths that climb to the crate root (inline `mod` blocks counted), `x::` after `use crate as x`
//! — and fails on one that points at a module later in [`ORDER`] than the file's own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules, bottom first: a module may use only modules before it.
const ORDER: &[&str] = &[
    // base
    "error", "doc", "rng", "mem", "linalg", "io", "table", "spec", "image", // problems
    "metrics", "generate", "instance", // methods
    "iter", "code", "learn", "neural", "conv", // orchestration
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

/// The module path of a file (`src/sweep/store/runner.rs` → `[sweep, store, runner]`,
/// `src/sweep/store/mod.rs` → `[sweep, store]`); empty for the crate root and the binary.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// The top-level module a file belongs to (`src/sweep/store.rs` → `sweep`); `None` for the crate
/// root and the binary.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    module_path(src, file).into_iter().next()
}

/// A token of Rust code: an identifier or keyword, `::`, or one punctuation character, with its
/// line. Comments (line, nested block, doc), string, raw string and char literals are skipped.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Path,
    Punct(char),
}

fn tokens(text: &str) -> Vec<(usize, Tok)> {
    let c: Vec<char> = text.chars().collect();
    let (mut i, mut line) = (0usize, 1usize);
    let mut out = Vec::new();
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, ch)| c.get(i + k) == Some(&ch))
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if at(i, "//") {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < c.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
        } else if ch == 'r' && (c.get(i + 1) == Some(&'#') || c.get(i + 1) == Some(&'"')) && {
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            c.get(j) == Some(&'"')
        } {
            // raw string r#"…"#
            let mut hashes = 0;
            i += 1;
            while c[i] == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while i < c.len() && !at(i, &close) {
                line += usize::from(c[i] == '\n');
                i += 1;
            }
            i += close.len();
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                line += usize::from(c.get(i) == Some(&'\n'));
                i += 1;
            }
            i += 1;
        } else if ch == '\'' {
            // a char literal ('x', '\n', '\u{..}') or a lifetime ('a)
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' || ch == '$' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$') {
                i += 1;
            }
            out.push((line, Tok::Ident(c[start..i].iter().collect())));
        } else if at(i, "::") {
            out.push((line, Tok::Path));
            i += 2;
        } else {
            out.push((line, Tok::Punct(ch)));
            i += 1;
        }
    }
    out
}

/// The top-level modules a file's code refers to, with their lines: `crate::x`, every member of
/// `crate::{x, y::{…}}` groups (over several lines), `super::…::x` paths that climb to the crate
/// root from the file's module path `me`, and `x::` after `use crate as x;` (`$crate::` in macros
/// is the macro's crate and is skipped).
fn crate_uses(text: &str, me: &[String]) -> BTreeSet<(usize, String)> {
    let toks = tokens(text);
    let mut out = BTreeSet::new();
    let mut aliases: Vec<String> = vec!["crate".into()];
    // `use crate as x;`
    for w in toks.windows(3) {
        if let [(_, Tok::Ident(a)), (_, Tok::Ident(b)), (_, Tok::Ident(x))] = w
            && a == "crate"
            && b == "as"
        {
            aliases.push(x.clone());
        }
    }
    // members of a `{…}` group starting at token `i` (just after the brace)
    fn group(toks: &[(usize, Tok)], mut i: usize, out: &mut BTreeSet<(usize, String)>) {
        let mut expect_member = true;
        let mut depth = 0;
        while i < toks.len() {
            match &toks[i].1 {
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') if depth == 0 => return,
                Tok::Punct('}') => depth -= 1,
                Tok::Punct(',') if depth == 0 => expect_member = true,
                Tok::Ident(name) if depth == 0 && expect_member => {
                    if name != "self" {
                        out.insert((toks[i].0, name.clone()));
                    }
                    expect_member = false;
                }
                _ => {}
            }
            i += 1;
        }
    }
    // inline modules (`mod tests { … }`) add a level for `super::`: their opening brace depths
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let (line, t) = &toks[i];
        match t {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        if let (Tok::Ident(m), Some((_, Tok::Ident(_))), Some((_, Tok::Punct('{')))) =
            (t, toks.get(i + 1), toks.get(i + 2))
            && m == "mod"
        {
            inline.push(depth + 1);
        }
        let Tok::Ident(word) = t else {
            i += 1;
            continue;
        };
        let preceded_by_path = i > 0 && toks[i - 1].1 == Tok::Path;
        // the start of a path from the crate root: `crate::`, an alias of it, or enough `super::`
        let mut j = i;
        let rooted = if aliases.contains(word) && !preceded_by_path {
            j += 1;
            true
        } else if word == "super" && !preceded_by_path {
            let mut climbs = 0;
            while matches!(&toks.get(j), Some((_, Tok::Ident(w))) if w == "super")
                && toks.get(j + 1).map(|t| &t.1) == Some(&Tok::Path)
            {
                climbs += 1;
                j += 2;
            }
            j = j.saturating_sub(1);
            climbs >= me.len() + inline.len()
        } else {
            false
        };
        if rooted && toks.get(j).map(|t| &t.1) == Some(&Tok::Path) {
            match toks.get(j + 1) {
                Some((l, Tok::Ident(m))) => {
                    out.insert((*l, m.clone()));
                    // `crate::sweep::x` also names the sweep submodule x (see `sweep_uses`)
                    if let (Some((_, Tok::Path)), Some((l2, Tok::Ident(sub)))) =
                        (toks.get(j + 2), toks.get(j + 3))
                    {
                        out.insert((*l2, format!("{m}::{sub}")));
                    }
                }
                Some((_, Tok::Punct('{'))) => group(&toks, j + 2, &mut out),
                _ => {}
            }
        }
        // `super::x` from a file directly in a top-level module's directory (src/sweep/plan.rs:
        // x is a sibling), or from its mod.rs's inline modules
        if word == "super"
            && !preceded_by_path
            && me.len() + inline.len() == 2
            && toks.get(i + 1).map(|t| &t.1) == Some(&Tok::Path)
            && let Some((l, Tok::Ident(sub))) = toks.get(i + 2)
            && sub != "super"
        {
            out.insert((*l, format!("{}::{sub}", me[0])));
        }
        let _ = line;
        i += 1;
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
    // `macro_rules! name` → the module whose file defines it (`crate::name!` is a use of it)
    let mut macros = std::collections::BTreeMap::new();
    for f in &files {
        let Some(me) = module_of(&src, f) else {
            continue;
        };
        let toks = tokens(&std::fs::read_to_string(f).unwrap());
        for w in toks.windows(3) {
            if let [
                (_, Tok::Ident(a)),
                (_, Tok::Punct('!')),
                (_, Tok::Ident(name)),
            ] = w
                && a == "macro_rules"
            {
                macros.insert(name.clone(), me.clone());
            }
        }
    }
    for f in &files {
        let Some(me) = module_of(&src, f) else {
            continue;
        };
        let Some(my_rank) = rank(&me) else {
            unplaced.insert(me);
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for (line, used) in crate_uses(&text, &module_path(&src, f)) {
            if used.contains("::") {
                continue; // a submodule path: `sweep_submodules_are_ordered`
            }
            seen += 1;
            // the crate root's re-exports (src/lib.rs) stand for their modules
            let used_module = match used.as_str() {
                // external crates the root re-exports: below every module
                "ndarray" | "polars" | "plotly" => continue,
                "Error" | "Result" => "error".to_string(),
                "Instance" | "InstanceSpec" | "DictKind" => "instance".to_string(),
                // exported macros live at the root; each stands for the module that defines it
                m if macros.contains_key(m) => macros[m].clone(),
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

/// The submodules of `sweep`, bottom first: the plan (and its adaptive rule) below everything,
/// storage (`lock`, `store`) below the executor, and `run` (which drives the store with the
/// executor) and `slurm` on top — so storage never runs a method.
const SWEEP_ORDER: &[&str] = &[
    "rule", "plan", "adaptive", "lock", "store", "exec", "run", "slurm",
];

#[test]
fn sweep_submodules_are_ordered() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("sweep"), &mut files);
    files.sort();
    let rank = |m: &str| SWEEP_ORDER.iter().position(|x| *x == m);
    let mut bad = Vec::new();
    let mut seen = 0;
    for f in &files {
        let path = module_path(&src, f);
        let Some(me) = path.get(1) else {
            continue; // sweep/mod.rs: the re-exports
        };
        let my_rank = rank(me).unwrap_or_else(|| panic!("sweep::{me} is not in SWEEP_ORDER"));
        let text = std::fs::read_to_string(f).unwrap();
        for (line, used) in crate_uses(&text, &path) {
            let Some(sub) = used.strip_prefix("sweep::") else {
                continue;
            };
            let Some(r) = rank(sub) else {
                continue; // an item of sweep/mod.rs (re-exported table types)
            };
            seen += 1;
            if r > my_rank {
                bad.push(format!(
                    "{}:{line}: `sweep::{me}` uses `sweep::{sub}`, which is not below it",
                    f.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(seen > 10, "the scan found only {seen} sweep paths");
    assert!(
        bad.is_empty(),
        "sweep imports against {}:\n{}",
        SWEEP_ORDER.join(" < "),
        bad.join("\n")
    );
}

#[test]
fn the_scanner_sees_every_import_form_and_skips_comments_and_strings() {
    let me = |p: &str| -> Vec<String> { p.split('/').map(String::from).collect() };
    let got = |text: &str, at: &str| -> Vec<(usize, String)> {
        crate_uses(text, &me(at))
            .into_iter()
            .filter(|(_, m)| !m.contains("::"))
            .collect()
    };
    let subs = |text: &str, at: &str| -> Vec<(usize, String)> {
        crate_uses(text, &me(at))
            .into_iter()
            .filter(|(_, m)| m.starts_with("sweep::"))
            .collect()
    };
    let s = |v: &[(usize, &str)]| -> Vec<(usize, String)> {
        v.iter().map(|(l, m)| (*l, m.to_string())).collect()
    };
    // plain paths; comments, strings and macros' $crate are not uses
    assert_eq!(
        got(
            "use crate::sweep::Value;\n// crate::cli in a comment\nlet x = crate::report::f(); /* crate::cli */\n$crate::error::x; \"crate::cli\"; r#\"crate::cli\"#",
            "code"
        ),
        s(&[(1, "sweep"), (3, "report")])
    );
    // groups, nested and over several lines
    assert_eq!(
        got(
            "use crate::{\n    cli::X,\n    sweep::{a, b},\n    self,\n};",
            "code"
        ),
        s(&[(2, "cli"), (3, "sweep")])
    );
    // super:: climbing to the root from sweep/store/runner.rs, not from deeper modules' own level
    assert_eq!(
        got(
            "use super::super::super::report::X;\nuse super::journal;",
            "sweep/store/runner"
        ),
        s(&[(1, "report")])
    );
    assert_eq!(
        got("use super::super::Point;", "sweep/store/runner"),
        s(&[])
    );
    assert_eq!(got("use super::cli;", "code"), s(&[(1, "cli")]));
    // an alias of the crate
    assert_eq!(
        got("use crate as dl;\nfn f() { dl::report::g() }", "code"),
        s(&[(2, "report")])
    );
    // sweep's submodules, from a sibling file, from mod.rs's level and by the crate path
    assert_eq!(
        subs("use super::exec::run_method;", "sweep/store"),
        s(&[(1, "sweep::exec")])
    );
    assert_eq!(
        subs(
            "use crate::sweep::exec::X;\nuse super::journal;",
            "sweep/store/runner"
        ),
        s(&[(1, "sweep::exec")])
    );
    // lifetimes and char literals do not derail the scan
    assert_eq!(
        got(
            "fn f<'a>(x: &'a str) -> char { '{' }\nuse crate::cli;",
            "code"
        ),
        s(&[(2, "cli")])
    );
}

/// A file under `src/` that no `mod` declares is silently not compiled: every file must be
/// declared by its parent (`mod name;` in the directory's `mod.rs`, or in `lib.rs`).
#[test]
fn every_source_file_is_declared_by_its_parent() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut missing = Vec::new();
    for f in &files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = f.parent().unwrap();
        if ["lib", "main"].contains(&name.as_str()) && dir == src {
            continue;
        }
        // a directory module `x/mod.rs` is declared by its parent directory; a file `x.rs` by
        // the `mod.rs` (or lib.rs) beside it
        let (name, parent_dir) = if name == "mod" {
            (
                dir.file_name().unwrap().to_string_lossy().into_owned(),
                dir.parent().unwrap(),
            )
        } else {
            (name, dir)
        };
        let parent = if parent_dir == src {
            src.join("lib.rs")
        } else {
            parent_dir.join("mod.rs")
        };
        let text = std::fs::read_to_string(&parent).unwrap_or_default();
        let declared = tokens(&text).windows(3).any(|w| {
            // `mod x;`, `mod x { … }`, or a line `mod x: SPEC, …;` of `method_modules!`
            matches!(w, [(_, Tok::Ident(m)), (_, Tok::Ident(n)), (_, Tok::Punct(';' | '{' | ':'))] if m == "mod" && *n == name)
        });
        if !declared {
            missing.push(format!(
                "{}: add `pub mod {name};` to {}",
                f.strip_prefix(&src).unwrap().display(),
                parent.strip_prefix(&src).unwrap().display()
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// Every method spec in `src/` is registered: a `pub const …SPEC: LearnerSpec | CoderSpec |
/// ConvLearnerSpec | ConvCoderSpec` that its directory's `method_modules!` list does not name
/// (`mod FILE: …, SPEC, …;`) is a method no plan, CLI or report can reach.
#[test]
fn every_method_spec_is_registered() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut unregistered = Vec::new();
    let mut specs = 0;
    for f in &files {
        let toks = tokens(&std::fs::read_to_string(f).unwrap());
        for w in toks.windows(5) {
            if let [
                (_, Tok::Ident(c)),
                (_, Tok::Ident(name)),
                (_, Tok::Punct(':')),
                (_, Tok::Ident(ty)),
                (_, Tok::Punct('=')),
            ] = w
                && c == "const"
                && matches!(
                    ty.as_str(),
                    "LearnerSpec" | "CoderSpec" | "ConvLearnerSpec" | "ConvCoderSpec"
                )
            {
                specs += 1;
                let module: Vec<String> = module_path(&src, f);
                let file = module.last().cloned().unwrap_or_default();
                let parent = f.parent().unwrap().join("mod.rs");
                let ptoks = tokens(&std::fs::read_to_string(&parent).unwrap_or_default());
                // `mod FILE :` then the spec names up to `;`
                let listed = ptoks.windows(3).enumerate().any(|(i, w)| {
                    matches!(w, [(_, Tok::Ident(m)), (_, Tok::Ident(n)), (_, Tok::Punct(':'))] if m == "mod" && *n == file)
                        && ptoks[i + 3..]
                            .iter()
                            .take_while(|(_, t)| !matches!(t, Tok::Punct(';')))
                            .any(|(_, t)| matches!(t, Tok::Ident(x) if x == name))
                });
                if !listed {
                    unregistered.push(format!(
                        "{}: add `mod {file}: {name};` (or `{name}` to its line) in the `method_modules!` list of {}",
                        f.strip_prefix(&src).unwrap().display(),
                        parent.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(specs >= 20, "found only {specs} specs");
    assert!(unregistered.is_empty(), "{}", unregistered.join("\n"));
}
