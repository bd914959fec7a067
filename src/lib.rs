//! promlab: a self-contained monitoring lab kit. `main.rs` parses the command line and calls [`run`];
//! everything else lives in one module per domain noun.

pub mod backup;
pub mod classroom;
pub mod cli;
pub mod clients;
pub mod compose;
pub mod dataset;
pub mod doctor;
pub mod export;
pub mod forecast;
pub mod fs;
pub mod generate;
pub mod grade;
pub mod logging;
pub mod metrics;
pub mod mock;
pub mod owner;
pub mod probe;
pub mod promql;
pub mod redact;
pub mod secrets;
pub mod series;
pub mod serve;
pub mod sink;
pub mod stress;
pub mod time;
pub mod tsdb;
pub mod version;

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
    /// `promlab classroom` failed.
    #[error(transparent)]
    Classroom(#[from] classroom::ClassroomError),
    /// `promlab grade` could not grade, or some criteria failed.
    #[error(transparent)]
    Grade(#[from] grade::GradeError),
    /// `promlab doctor` could not run, or found problems.
    #[error(transparent)]
    Doctor(#[from] doctor::DoctorError),
    /// `promlab probe` found the service unhealthy.
    #[error(transparent)]
    Probe(#[from] probe::ProbeError),
    /// `promlab stress` was given a load or worker count it cannot run.
    #[error(transparent)]
    Stress(#[from] stress::StressError),
    /// `promlab tsdb` could not read the blocks or write its output.
    #[error(transparent)]
    Tsdb(#[from] tsdb::TsdbError),
    /// `promlab export` or `promlab metrics list` failed.
    #[error(transparent)]
    Export(#[from] export::ExportError),
    /// `promlab backup` or `promlab restore` failed.
    #[error(transparent)]
    Backup(#[from] backup::BackupError),
    /// A request to Prometheus failed.
    #[error(transparent)]
    Prometheus(#[from] clients::ClientError),
    /// The async runtime could not start (out of threads or memory).
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// The runtime a command runs on: several threads where the work is parallel, one where it is not.
fn runtime_for(command: &Command) -> tokio::runtime::Builder {
    match command {
        // Fitting runs on blocking threads while the server answers scrapes.
        Command::Forecast(_) => tokio::runtime::Builder::new_multi_thread(),
        // Answers are decoded while the next requests are in flight: every core helps.
        Command::Export(_) | Command::Backup(_) | Command::Restore(_) => {
            tokio::runtime::Builder::new_multi_thread()
        }
        // The mock's work per request is a reference-count increment: one thread serves over 100k
        // requests/s (BENCHMARKS.md) with a lower tail latency than several, and leaves the other cores
        // to Prometheus and the rest of the lab.
        Command::Mock(_)
        | Command::WebhookSink(_)
        | Command::Probe(_)
        // The load runs on threads of its own: the runtime only waits for the end or a signal.
        | Command::Stress(_)
        | Command::Generate(_)
        | Command::Classroom(_)
        // Grading runs the static checks on threads of its own and awaits only the live calls.
        | Command::Grade(_)
        | Command::Metrics(_)
        | Command::Secrets(_)
        | Command::Doctor(_)
        // Reading blocks is plain file work, on a thread of its own: the runtime only watches for Ctrl-C.
        | Command::Tsdb(_) => tokio::runtime::Builder::new_current_thread(),
    }
}

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<(), Error> {
    logging::init(cli.log_format.into());
    let runtime = runtime_for(&cli.command)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
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
            Command::Forecast(cli::ForecastArgs {
                action: Some(cli::ForecastAction::NabScore(args)),
                ..
            }) => {
                print!(
                    "{}",
                    forecast::nab_score(&args.scores, &args.windows, args.threshold)
                        .map_err(forecast::ForecastError::from)?
                );
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
            Command::Stress(args) => stress::run(&args.into(), serve::shutdown_signal()).await?,
            Command::Generate(args) => generate::run(&args.into())?,
            Command::Classroom(args) => println!("{}", classroom::run(&args.into())?),
            Command::Grade(args) => {
                let selection = args.selection();
                grade::run_selected(&(*args).into(), &selection).await?;
            }
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
            Command::Tsdb(args) => {
                let config: tsdb::TsdbConfig = args.try_into()?;
                unless_stopped(async move {
                    tokio::task::spawn_blocking(move || tsdb::run(&config))
                        .await
                        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
                        .map_err(Error::from)
                })
                .await?;
            }
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
            Command::Metrics(cli::MetricsArgs {
                action: cli::MetricsAction::List(args),
            }) => {
                let listing = unless_stopped(async { Ok(export::list(&args.into()).await?) });
                print!("{}", listing.await?);
            }
            Command::Export(args) => unless_stopped(export(args)).await?,
            Command::Backup(args) => unless_stopped(backup(args)).await?,
            Command::Restore(args) => unless_stopped(restore(args)).await?,
        }
        Ok(())
    })
}

/// Runs a command that writes files unless Ctrl-C or SIGTERM comes first. Then the temporary files it
/// is writing are removed and the process exits as the signal would have ended it (130, 143), at once:
/// a writer thread is not waited for. Left to the signal's default action, the process would die with
/// them beside their targets. For the batch commands whose work is off the runtime's thread, so that
/// the signal is seen as soon as it comes.
async fn unless_stopped<T>(command: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let stop = serve::stop_signal();
    tokio::select! {
        result = command => result,
        signal = stop => {
            tracing::warn!(?signal, "stopped: the files being written are removed, their targets left as they were");
            fs::exit_removing_temporaries(signal.exit_code())
        }
    }
}

/// `promlab export`.
async fn export(args: cli::ExportArgs) -> Result<(), Error> {
    let config: export::ExportConfig = args.into();
    let done = export::export(&config).await?;
    println!(
        "exported {} samples of {} series ({} requests) to {}",
        done.samples,
        done.series,
        done.requests,
        config.output.display()
    );
    Ok(())
}

/// `promlab backup` and `promlab backup verify`.
async fn backup(args: cli::BackupArgs) -> Result<(), Error> {
    match (args.action, args.run) {
        (Some(cli::BackupAction::Verify(args)), _) => {
            let config: backup::VerifyConfig = args.into();
            let checked = backup::verify(&config).await?;
            println!(
                "the backup of {} in {} is intact: {} chunks, {} series, {} samples",
                config.day, config.target, checked.chunks, checked.series, checked.samples
            );
        }
        (None, Some(args)) => {
            let config: backup::BackupConfig = args.into();
            let done = backup::backup(&config).await?;
            println!(
                "backed up {} to {}: {} metrics, {} chunks fetched, {} already stored and verified, {} samples",
                config.day, config.target, done.metrics, done.fetched, done.kept, done.samples
            );
        }
        // clap shows backup's usage for `promlab backup` alone (`arg_required_else_help`), and any
        // argument of the run makes `run` present with its required ones.
        (None, None) => unreachable!("clap prints backup's usage when it has no argument"),
    }
    Ok(())
}

/// `promlab restore`.
async fn restore(args: cli::RestoreArgs) -> Result<(), Error> {
    let config: backup::RestoreConfig = args.into();
    let checked = backup::restore(&config).await?;
    println!(
        "restored {} series, {} samples from {} chunks to {}; import it with: promtool tsdb create-blocks-from openmetrics {} DATA_DIR",
        checked.series,
        checked.samples,
        checked.chunks,
        config.output.display(),
        config.output.display()
    );
    Ok(())
}
