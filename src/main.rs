use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match promlab::run(promlab::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
