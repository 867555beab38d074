use std::io::Write;

/// Write the command's output; a failed write (a full device) is an error exit, a closed pipe
/// (`dictlab status DIR | head`) is not an error of ours.
fn emit(text: &str) -> Result<(), std::io::Error> {
    let mut out = std::io::stdout().lock();
    let r = writeln!(out, "{text}").and_then(|()| out.flush());
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// Exit with `code`, first reporting a failed write of stdout (on stderr, if that works; the
/// status says it either way).
fn finish(written: Result<(), std::io::Error>, code: i32) -> ! {
    dictlab::io::fault::report();
    if let Err(e) = written {
        let _ = writeln!(std::io::stderr(), "error: writing standard output: {e}");
        std::process::exit(if code == 0 { 2 } else { code });
    }
    std::process::exit(code)
}

fn main() {
    let cli = dictlab::cli::Cli::parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    match dictlab::cli::run(cli) {
        Ok(out) => finish(emit(&out), 0),
        // a sweep that finished with error rows: its summary on stdout, exit 3
        Err(dictlab::error::Error::RunsFailed {
            failed,
            total,
            by_message,
            summary,
        }) => {
            let written = emit(&summary);
            let _ = writeln!(
                std::io::stderr(),
                "error: {failed} of {total} runs failed (their error rows are in the results): {by_message}"
            );
            finish(written, 3)
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            finish(Ok(()), 2)
        }
    }
}
