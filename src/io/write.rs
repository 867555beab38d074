//! The one way the crate writes a file: a temporary file in the same directory, written, `fsync`ed,
//! renamed over the target, then the directory `fsync`ed — so a reader sees the old file or the
//! new one, never a part, and a full disk or a file-size limit leaves the old file as it was (the
//! temporary file is removed). [`create_if_absent`] is the same with a hard link instead of the
//! rename: it claims a name that must not be overwritten.
//!
//! Every step goes through [`super::fault`], the seam the fault-injection tests use to make the
//! Nth write, `fsync`, rename or link fail.

use super::fault::{self, Op};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of the threads of one process.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// An I/O error naming the path and what was being done.
pub fn file_err(
    action: &'static str,
    path: &Path,
    e: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::File {
        action,
        path: path.to_path_buf(),
        source: Box::new(e),
    }
}

/// The directory a path lives in (`.` for a bare name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A fresh temporary name next to `path`: `.tmp-{pid}-{seq}-{name}` (the prefix the stores skip
/// and clean).
fn tmp_next_to(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir_of(path).join(format!(
        ".tmp-{}-{}{tag}-{name}",
        std::process::id(),
        TMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Write the temporary file `tmp` of `target`: create, fill, flush, `fsync`. Errors name the
/// target (the temporary file is removed by the caller, so its name would mean nothing).
fn fill(tmp: &Path, target: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    fault::check(Op::Create, target)?;
    let f = std::fs::File::create(tmp).map_err(|e| file_err("write", target, e))?;
    let mut w = fault::Writer::new(f, target);
    write(&mut w)?;
    w.flush().map_err(|e| file_err("write", target, e))?;
    let f = w.into_inner();
    fault::check(Op::Sync, target)?;
    f.sync_data().map_err(|e| file_err("write", target, e))
}

/// `fsync` a directory, so that a rename or link inside it is durable (best effort: some file
/// systems refuse to open a directory for syncing).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Write to `path` atomically with `write` filling the content (see the module doc). On any
/// failure `path` is as it was and the temporary file is gone.
///
/// # Errors
/// Any I/O error, naming the path; the error `write` returns.
pub fn write_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let tmp = tmp_next_to(path, "");
    let written = fill(&tmp, path, write).and_then(|()| {
        fault::check(Op::Rename, path)?;
        std::fs::rename(&tmp, path).map_err(|e| file_err("write", path, e))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return written;
    }
    sync_dir(dir_of(path));
    remove_stale(path);
    Ok(())
}

/// Remove the temporary files of `path` left by writers that were killed (`.tmp-{pid}-…-{name}`
/// whose process is gone). Only where the processes can be seen (`/proc`); best effort.
fn remove_stale(path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir_of(path)) else {
        return;
    };
    for e in rd.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = f.strip_prefix(".tmp-") else {
            continue;
        };
        // {pid}-{seq}[-claim]-{name}
        let mut parts = rest.splitn(3, '-');
        let (Some(pid), Some(_), Some(tail)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let ours = tail == name || tail.strip_prefix("claim-") == Some(name.as_str());
        if ours && pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Write `bytes` to `path` atomically.
///
/// # Errors
/// Any I/O error, naming the path.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |w| {
        w.write_all(bytes).map_err(|e| file_err("write", path, e))
    })
}

/// Create `path` with `bytes` only if no file of that name exists: a complete temporary file
/// hard-linked into place (the link fails where the name exists), so readers never see a partial
/// file and of two racing callers exactly one creates it. Returns whether this call created it.
///
/// # Errors
/// Any I/O error other than the name existing.
pub fn create_if_absent(path: &Path, bytes: &[u8]) -> Result<bool> {
    let tmp = tmp_next_to(path, "-claim");
    let linked = fill(&tmp, path, |w| {
        w.write_all(bytes).map_err(|e| file_err("write", path, e))
    })
    .and_then(|()| {
        fault::check(Op::Rename, path)?;
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(file_err("write", path, e)),
        }
    });
    let _ = std::fs::remove_file(&tmp);
    if linked.as_ref().is_ok_and(|c| *c) {
        sync_dir(dir_of(path));
    }
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("doc.md");
        write_bytes(&p, b"old").unwrap();
        let e = write_with(&p, |w| {
            w.write_all(b"half").unwrap();
            Err(Error::Results("disk full".into()))
        });
        assert!(e.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("doc.md")]);
        write_bytes(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
    }

    #[test]
    fn create_if_absent_claims_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("meta.json");
        assert!(create_if_absent(&p, b"first").unwrap());
        assert!(!create_if_absent(&p, b"second").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
