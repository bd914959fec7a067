//! promlab: a self-contained monitoring lab kit. `main.rs` parses the command line and calls [`run`];
//! everything else lives in one module per domain noun.

pub mod cli;
pub mod logging;
pub mod metrics;
pub mod mock;
pub mod serve;

use cli::{Cli, Command};

/// Why a promlab command failed; `main` prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `promlab mock` failed.
    #[error(transparent)]
    Mock(#[from] mock::MockError),
    /// The async runtime could not start (out of threads or memory).
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<(), Error> {
    logging::init(cli.log_format.into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async {
        match cli.command {
            Command::Mock(args) => {
                mock::run(&args.into(), serve::shutdown_signal()).await?;
                tracing::info!("model mock stopped");
            }
        }
        Ok(())
    })
}
