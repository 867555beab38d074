use clap::Parser;

fn main() {
    let cli = dictlab::cli::Cli::parse();
    match dictlab::cli::run(cli) {
        Ok(out) => println!("{out}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
