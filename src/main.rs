use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Through the compose file's `tools` service: become the repository's owner before anything else.
    if let Err(error) = promlab::owner::run_as_owner_if_asked() {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    match promlab::run(promlab::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
