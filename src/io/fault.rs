//! A fault-injection seam under the crate's file writes, for the reliability tests (the way SQLite
//! tests its I/O): every step of a durable write — create, the first write of the content,
//! `fsync`, rename/link, a journal append, a file removal — is a numbered *fault point*.
//!
//! Off unless the environment variable `DICTLAB_FAULT` is set when the process starts:
//! * `fail:N` — the Nth fault point returns an I/O error ("injected fault at point N"); the
//!   write of content fails after half of its first buffer reached the file (a short write);
//! * `die:N` — the process exits with status 137 at the Nth point, as after `kill -9` (nothing
//!   after it reaches the disk; for the content write, half of the first buffer does);
//! * `count` — nothing fails; at exit of the command the number of points passed is printed on
//!   stderr as `dictlab-fault-points: K` (see [`report`]).
//!
//! `tests/faults.rs` walks N over every point of a small sweep, merge, repair and document update,
//! then checks that rerunning the command gives the uninterrupted result.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Kinds of fault points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Creating a (temporary) file.
    Create,
    /// The first write of a file's content.
    Write,
    /// `fsync` of a file.
    Sync,
    /// Renaming or linking a complete file into place.
    Rename,
    /// Appending a line to a journal.
    Append,
    /// Removing or moving aside a file.
    Remove,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Fail(u64),
    Die(u64),
    Count,
}

fn mode() -> Option<Mode> {
    static MODE: OnceLock<Option<Mode>> = OnceLock::new();
    *MODE.get_or_init(|| {
        let v = std::env::var("DICTLAB_FAULT").ok()?;
        let v = v.trim();
        if v == "count" {
            return Some(Mode::Count);
        }
        let (kind, n) = v.split_once(':')?;
        let n: u64 = n.trim().parse().ok().filter(|&n| n >= 1)?;
        match kind.trim() {
            "fail" => Some(Mode::Fail(n)),
            "die" => Some(Mode::Die(n)),
            _ => None,
        }
    })
}

static PASSED: AtomicU64 = AtomicU64::new(0);

/// What the chosen point does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Fail,
    Die,
}

/// Pass one fault point: its number and, when it is the chosen one, what it does. The number is
/// taken once (one atomic increment), so concurrent writers never disagree on which point is
/// chosen.
fn pass() -> (u64, Option<Act>) {
    let Some(m) = mode() else {
        return (0, None);
    };
    let n = PASSED.fetch_add(1, Ordering::SeqCst) + 1;
    let act = match m {
        Mode::Fail(k) if k == n => Some(Act::Fail),
        Mode::Die(k) if k == n => Some(Act::Die),
        _ => None,
    };
    (n, act)
}

/// Exit as after `kill -9` (status 137).
fn die() -> ! {
    let _ = std::io::stderr().flush();
    std::process::exit(137)
}

fn injected(n: u64, op: Op, path: &Path) -> Error {
    Error::File {
        action: "write",
        path: path.to_path_buf(),
        source: format!("injected fault at point {n} ({op:?}; DICTLAB_FAULT)").into(),
    }
}

/// A fault point before `op` on `path`.
///
/// # Errors
/// The injected failure, when this is the chosen point.
pub fn check(op: Op, path: &Path) -> Result<()> {
    match pass() {
        (n, Some(Act::Fail)) => Err(injected(n, op, path)),
        (_, Some(Act::Die)) => die(),
        _ => Ok(()),
    }
}

/// The number of fault points passed, printed as `dictlab-fault-points: K` on stderr in `count`
/// mode (the binary calls it at exit).
pub fn report() {
    if mode() == Some(Mode::Count) {
        let _ = writeln!(
            std::io::stderr(),
            "dictlab-fault-points: {}",
            PASSED.load(Ordering::SeqCst)
        );
    }
}

/// A file writer whose first write is a fault point: on the chosen point it writes half of the
/// buffer, then fails (or dies).
pub struct Writer<'a, W: Write> {
    inner: W,
    path: &'a Path,
    first: bool,
}

impl<'a, W: Write> Writer<'a, W> {
    /// Wrap `inner`, which writes `path`.
    pub fn new(inner: W, path: &'a Path) -> Self {
        Writer {
            inner,
            path,
            first: true,
        }
    }
    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Writer<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.first && !buf.is_empty() {
            self.first = false;
            if let (n, Some(act)) = pass() {
                // a short write: half of the buffer reaches the file, then the failure (or death)
                let _ = self.inner.write_all(&buf[..buf.len() / 2]);
                let _ = self.inner.flush();
                if act == Act::Die {
                    die();
                }
                return Err(std::io::Error::other(format!(
                    "injected fault at point {n} (Write of {}; DICTLAB_FAULT)",
                    self.path.display()
                )));
            }
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
