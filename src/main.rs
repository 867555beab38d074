use clap::Parser;
use std::io::Write;

fn main() {
    let cli = dictlab::cli::Cli::parse();
    match dictlab::cli::run(cli) {
        Ok(out) => {
            // a closed pipe (`dictlab status DIR | head`) is not an error of ours
            let _ = writeln!(std::io::stdout(), "{out}");
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
