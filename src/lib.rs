//! promlab: a self-contained monitoring lab kit. `main.rs` parses the command line and calls [`run`];
//! everything else lives in one module per domain noun.

pub mod alertmanager;
pub mod cli;
pub mod doctor;
pub mod forecast;
pub mod generate;
pub mod grade;
pub mod grafana;
pub mod logging;
pub mod metrics;
pub mod mock;
pub mod probe;
pub mod prom;
pub mod secrets;
pub mod serve;
pub mod sink;
pub mod tsdb;

use cli::{Cli, Command};

/// Why a promlab command failed; `main` prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `promlab mock` failed.
    #[error(transparent)]
    Mock(#[from] mock::MockError),
    /// `promlab generate` failed.
    #[error(transparent)]
    Generate(#[from] generate::GenerateError),
    /// `promlab forecast` failed.
    #[error(transparent)]
    Forecast(#[from] forecast::ForecastError),
    /// `promlab webhook-sink` failed.
    #[error(transparent)]
    Sink(#[from] sink::SinkError),
    /// `promlab secrets` could not write the secrets.
    #[error(transparent)]
    Secrets(#[from] secrets::SecretsError),
    /// `promlab grade` could not grade, or some criteria failed.
    #[error(transparent)]
    Grade(#[from] grade::GradeError),
    /// `promlab doctor` could not run, or found problems.
    #[error(transparent)]
    Doctor(#[from] doctor::DoctorError),
    /// `promlab probe` found the service unhealthy.
    #[error(transparent)]
    Probe(#[from] probe::ProbeError),
    /// `promlab tsdb` could not read the blocks or write its output.
    #[error(transparent)]
    Tsdb(#[from] tsdb::TsdbError),
    /// The async runtime could not start (out of threads or memory).
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<(), Error> {
    logging::init(cli.log_format.into());
    // Reading blocks is plain file work: no runtime.
    if let Command::Tsdb(args) = cli.command {
        return Ok(tsdb::run(&args.try_into()?)?);
    }
    let mut runtime = match cli.command {
        // Fitting runs on blocking threads while the server answers scrapes.
        Command::Forecast(_) => tokio::runtime::Builder::new_multi_thread(),
        // The mock's work per request is a reference-count increment: one thread serves over 100k
        // requests/s (BENCHMARKS.md) with a lower tail latency than several, and leaves the other cores
        // to Prometheus and the rest of the lab.
        Command::Mock(_)
        | Command::WebhookSink(_)
        | Command::Probe(_)
        | Command::Generate(_)
        // Grading runs the static checks on threads of its own and awaits only the live calls.
        | Command::Grade(_)
        | Command::Secrets(_)
        | Command::Doctor(_)
        | Command::Tsdb(_) => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = runtime.enable_all().build().map_err(Error::Runtime)?;
    runtime.block_on(async {
        match cli.command {
            Command::Mock(args) => {
                mock::run(&args.into(), serve::shutdown_signal()).await?;
                tracing::info!("model mock stopped");
            }
            Command::Forecast(cli::ForecastArgs {
                action: Some(cli::ForecastAction::Backtest(args)),
                ..
            }) => {
                // The report on standard output, ready to paste into a lab report.
                print!("{}", forecast::backtest(&(*args).into()).await?);
            }
            Command::Forecast(args) => {
                forecast::run(&args.into(), serve::shutdown_signal()).await?;
                tracing::info!("forecaster stopped");
            }
            Command::WebhookSink(args) => {
                sink::run(&args.into(), serve::shutdown_signal()).await?;
                tracing::info!("webhook sink stopped");
            }
            Command::Probe(args) => probe::run(&args.into()).await?,
            Command::Generate(args) => generate::run(&args.into())?,
            Command::Grade(args) => grade::run(&args.into()).await?,
            Command::Doctor(args) => {
                let format = args.format.into();
                let report = doctor::examine(&args.into()).await?;
                // On standard output: the report is the command's result, ready to paste or parse.
                print!("{}", report.render(format));
                if report.problems() > 0 {
                    return Err(doctor::DoctorError::ProblemsFound {
                        count: report.problems(),
                    }
                    .into());
                }
            }
            Command::Tsdb(_) => {}
            Command::Secrets(args) => {
                let written = secrets::run(&args.into())?;
                // On standard output, so `docker compose logs secrets` shows the student how to log in.
                println!(
                    "Grafana: http://127.0.0.1:3000 user admin, password {} ({})",
                    written.grafana_password,
                    if written.password_created {
                        "made now"
                    } else {
                        "kept from an earlier start"
                    }
                );
            }
        }
        Ok(())
    })
}
