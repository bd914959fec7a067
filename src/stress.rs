//! `promlab stress`: load on the CPUs for lab 5's `NodeCpuHigh`, run as the compose file's `stress`
//! service, so the load and node-exporter share one kernel on every laptop.
//!
//! On Docker Desktop (macOS, Windows) node-exporter reads the Linux VM's /proc: stress-ng run on the host
//! loads the host, which the VM never sees, and the alert never fires. A container of the stack loads the
//! VM (or, on Linux, the host itself), which is what node-exporter measures. promlab's image carries the
//! load itself, so nothing more is pulled.
//!
//! Each worker thread spins for `load` of every 100 ms period and sleeps the rest, the way
//! `stress-ng --cpu N --cpu-load P` does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The duty cycle's period: short enough for a smooth busy ratio over Prometheus' 1-minute rate.
const PERIOD: Duration = Duration::from_millis(100);

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StressConfig {
    /// Worker threads (one per CPU to load).
    pub workers: usize,
    /// The busy fraction of each worker, in (0, 1].
    pub load: f64,
    /// How long to run.
    pub duration: Duration,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StressError {
    #[error("--load {0} is not a fraction in (0, 1]; write e.g. --load 0.95 for 95 %")]
    Load(f64),
    #[error("--workers 0 loads nothing; leave it out to load every CPU")]
    NoWorkers,
}

impl StressConfig {
    /// # Errors
    /// A load outside (0, 1] or no worker.
    pub fn validate(&self) -> Result<(), StressError> {
        if !(self.load > 0.0 && self.load <= 1.0) {
            return Err(StressError::Load(self.load));
        }
        if self.workers == 0 {
            return Err(StressError::NoWorkers);
        }
        Ok(())
    }
}

/// The CPUs this process may use (the container's limit when it has one).
#[must_use]
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// One worker: spins `busy` then sleeps `PERIOD - busy`, until `stop`.
fn worker(busy: Duration, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        while start.elapsed() < busy {
            std::hint::spin_loop();
        }
        if let Some(idle) = PERIOD.checked_sub(start.elapsed()) {
            std::thread::sleep(idle);
        }
    }
}

/// Loads the CPUs until the duration ends or `shutdown` resolves (Ctrl-C, `docker compose stop`).
///
/// # Errors
/// An invalid config.
pub async fn run(
    config: &StressConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StressError> {
    config.validate()?;
    let busy = PERIOD.mul_f64(config.load);
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..config.workers)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || worker(busy, &stop))
        })
        .collect();
    tracing::info!(
        workers = config.workers,
        load = config.load,
        duration = %humantime::format_duration(config.duration),
        "stress: loading the CPUs"
    );
    tokio::select! {
        () = tokio::time::sleep(config.duration) => tracing::info!("stress: done"),
        () = shutdown => tracing::info!("stress: stopped early"),
    }
    stop.store(true, Ordering::Relaxed);
    for handle in workers {
        // A worker only spins and sleeps: it cannot panic.
        let _ = handle.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_outside_the_unit_interval_and_no_workers_are_refused_with_the_fix() {
        let config = |workers, load| StressConfig {
            workers,
            load,
            duration: Duration::from_secs(1),
        };
        for load in [0.0, -0.5, 1.5, f64::NAN, 95.0] {
            let error = config(1, load).validate().unwrap_err().to_string();
            assert!(error.contains("--load 0.95"), "{error}");
        }
        assert_eq!(config(0, 0.5).validate(), Err(StressError::NoWorkers));
        assert_eq!(config(2, 1.0).validate(), Ok(()));
    }

    /// The process's CPU time (user + system) from /proc/self/stat, in clock ticks (`USER_HZ`, 100/s).
    fn cpu_ticks() -> u64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        // After the command name in parentheses: state is field 3; utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_workers_burn_cpu_and_stop_when_asked() {
        let before = cpu_ticks();
        let config = StressConfig {
            workers: 1,
            load: 1.0,
            duration: Duration::from_secs(60),
        };
        // Stopped after 1.5 s of a one-minute run.
        let started = Instant::now();
        run(&config, tokio::time::sleep(Duration::from_millis(1500)))
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(30),
            "did not stop: {elapsed:?}"
        );
        // A full-load worker for 1.5 s: well over a quarter second of CPU even on a crowded machine
        // (the test only asks that it works, not how fast: BENCHMARKS has no figure for it).
        let burnt = cpu_ticks() - before;
        assert!(burnt >= 25, "{burnt} ticks of CPU in {elapsed:?}");
    }
}
