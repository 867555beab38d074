use clap::Parser;
use std::io::Write;

fn main() {
    let cli = dictlab::cli::Cli::parse();
    match dictlab::cli::run(cli) {
        Ok(out) => {
            // a closed pipe (`dictlab status DIR | head`) is not an error of ours
            let _ = writeln!(std::io::stdout(), "{out}");
        }
        // a sweep that finished with error rows: its summary on stdout, exit 3
        Err(dictlab::error::Error::RunsFailed {
            failed,
            total,
            by_message,
            summary,
        }) => {
            let _ = writeln!(std::io::stdout(), "{summary}");
            eprintln!(
                "error: {failed} of {total} runs failed (their error rows are in the results): {by_message}"
            );
            std::process::exit(3);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
