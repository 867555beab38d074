//! One writer per results directory and shard.
//!
//! A sweep holds an advisory `flock(2)` for its whole life: a **shared** lock on
//! `DIR/locks/dir.lock` plus an **exclusive** one on `DIR/locks/<shard>.lock` for a sharded run, or
//! an **exclusive** lock on `DIR/locks/dir.lock` for an unsharded run (which writes every shard's
//! items). So two processes on the same shard, or an unsharded run beside any other, are refused,
//! while the shards of one array run side by side. The kernel drops the lock when the process
//! dies — `kill -9` leaves no stale lock — and the holder writes its PID into the file so that the
//! refusal names it. On systems without `flock` (non-Linux) nothing is locked.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DirLock {
    _files: Vec<std::fs::File>,
}

fn lock_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("locks").join(format!("{name}.lock"))
}

#[cfg(target_os = "linux")]
fn flock(file: &std::fs::File, exclusive: bool) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    } | libc::LOCK_NB;
    // SAFETY: flock on a file descriptor this function borrows for the call; no memory is shared.
    let r = unsafe { libc::flock(file.as_raw_fd(), op) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(not(target_os = "linux"))]
fn flock(_file: &std::fs::File, _exclusive: bool) -> std::io::Result<bool> {
    Ok(true)
}

fn take(dir: &Path, name: &str, exclusive: bool, shard: &str) -> Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    let path = lock_path(dir, name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| crate::io::file_err("write", parent, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| crate::io::file_err("write", &path, e))?;
    if !flock(&f, exclusive).map_err(|e| crate::io::file_err("lock", &path, e))? {
        let mut pid = String::new();
        let _ = f.read_to_string(&mut pid);
        let pid = pid
            .split_whitespace()
            .next()
            .unwrap_or("unknown")
            .to_string();
        return Err(Error::Locked {
            dir: dir.to_path_buf(),
            shard: shard.to_string(),
            pid,
        });
    }
    if exclusive {
        let _ = f.set_len(0);
        let _ = f.rewind();
        let _ = writeln!(f, "{}", std::process::id());
    } else {
        // shared holders append their PIDs; the file is rewritten by the next exclusive holder
        let _ = f.seek(std::io::SeekFrom::End(0));
        let _ = writeln!(f, "{}", std::process::id());
    }
    Ok(f)
}

/// Lock `dir` for a sweep of shard `tag` (`None`: the whole plan). See the module doc.
///
/// # Errors
/// [`Error::Locked`] naming the holder's PID; the lock file cannot be created.
pub fn lock_for_sweep(dir: &Path, tag: Option<&str>) -> Result<DirLock> {
    match tag {
        None => Ok(DirLock {
            _files: vec![take(dir, "dir", true, "all shards")?],
        }),
        Some(t) => {
            let shard = format!("shard {t}");
            let shared = take(dir, "dir", false, &shard)?;
            let own = take(dir, &format!("shard-{t}"), true, &shard)?;
            Ok(DirLock {
                _files: vec![shared, own],
            })
        }
    }
}

/// Lock `dir` exclusively (no sweep may run): for `dictlab repair`.
///
/// # Errors
/// As [`lock_for_sweep`].
pub fn lock_exclusive(dir: &Path) -> Result<DirLock> {
    lock_for_sweep(dir, None)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_of_the_same_shard_is_refused_with_the_holders_pid() {
        // flock locks belong to open file descriptions, so two opens in one process conflict
        // exactly as two processes do
        let d = tempfile::tempdir().unwrap();
        let held = lock_for_sweep(d.path(), Some("3of8")).unwrap();
        let e = lock_for_sweep(d.path(), Some("3of8"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&std::process::id().to_string()), "{e}");
        assert!(e.contains("shard 3of8"), "{e}");
        // another shard of the same array runs beside it
        let other = lock_for_sweep(d.path(), Some("4of8")).unwrap();
        // an unsharded run would write every shard's items: refused while shards run
        assert!(lock_for_sweep(d.path(), None).is_err());
        drop((held, other));
        let all = lock_for_sweep(d.path(), None).unwrap();
        assert!(lock_for_sweep(d.path(), Some("3of8")).is_err());
        drop(all);
        assert!(lock_for_sweep(d.path(), Some("3of8")).is_ok());
    }
}
