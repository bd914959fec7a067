//! The upstream judges, `promtool` and `amtool`: the binary on the PATH when its version is at least
//! the one the lab pins, else the pinned image through `docker run` (no network, the repository
//! mounted read-only), else nothing, and the checks that need them are skipped with the reason.
//!
//! Jobs are run in batches: one container runs many jobs (a class's worth), because starting a
//! container costs more than the checks themselves.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// An upstream command-line tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Program {
    Promtool,
    Amtool,
}

impl Program {
    #[must_use]
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Promtool => "promtool",
            Self::Amtool => "amtool",
        }
    }

    /// The oldest version that judges the lab's files as the pinned one does (amtool before 0.28
    /// refuses `webhook_url_file` in `discord_configs`).
    fn minimum(self) -> (u64, u64) {
        match self {
            Self::Promtool => (2, 53),
            Self::Amtool => (0, 28),
        }
    }

    /// The variable naming the image that ships the tool, and the image the lab pins.
    fn image(self) -> (&'static str, &'static str) {
        match self {
            Self::Promtool => (
                "PROMLAB_PROMETHEUS_IMAGE",
                crate::generate::compose::PROMETHEUS_IMAGE,
            ),
            Self::Amtool => (
                "PROMLAB_ALERTMANAGER_IMAGE",
                crate::generate::compose::ALERTMANAGER_IMAGE,
            ),
        }
    }
}

/// One run of a tool: in `dir`, with `args` (paths relative to `dir`).
#[derive(Debug)]
pub(super) struct ToolJob {
    pub program: Program,
    pub dir: PathBuf,
    pub args: Vec<String>,
    /// A folder the grader made for this job, removed with it.
    pub _scratch: Option<ScratchDir>,
}

/// What a tool said: whether it succeeded, and its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ToolOutput {
    pub success: bool,
    pub text: String,
}

/// How a tool is run here.
#[derive(Debug, Clone)]
enum Runner {
    Host(PathBuf),
    Docker(String),
    Unavailable(String),
}

/// A temporary folder, removed when dropped.
#[derive(Debug)]
pub(super) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(super) fn new() -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "promlab-grade-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    #[must_use]
    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const HOST_TIMEOUT: Duration = Duration::from_secs(60);
const DOCKER_TIMEOUT: Duration = Duration::from_secs(300);

fn runner(program: Program) -> &'static Runner {
    static PROMTOOL: OnceLock<Runner> = OnceLock::new();
    static AMTOOL: OnceLock<Runner> = OnceLock::new();
    let cell = match program {
        Program::Promtool => &PROMTOOL,
        Program::Amtool => &AMTOOL,
    };
    cell.get_or_init(|| find_runner(program))
}

fn find_runner(program: Program) -> Runner {
    let name = program.name();
    let (major, minor) = program.minimum();
    let host_note = match host_version(name) {
        Some((path, version)) if version >= (major, minor) => return Runner::Host(path),
        Some((_, (found_major, found_minor))) => {
            format!("{name} {found_major}.{found_minor} on the PATH is older than {major}.{minor}")
        }
        None => format!("no {name} on the PATH"),
    };
    let (env, default) = program.image();
    let image = std::env::var(env).unwrap_or_else(|_| default.to_owned());
    let present = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", &image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if present {
        Runner::Docker(image)
    } else {
        Runner::Unavailable(format!(
            "{host_note} and the image {image} is not here (or Docker is not running): install {name} {major}.{minor} or newer, or `docker pull {image}` (or set {env})"
        ))
    }
}

/// The tool's path and `(major, minor)` from `NAME --version` (`promtool, version 2.53.3+ds1 …`).
fn host_version(name: &str) -> Option<(PathBuf, (u64, u64))> {
    let path = std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())?;
    let output = Command::new(&path).arg("--version").output().ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((path, parse_version(&text)?))
}

fn parse_version(text: &str) -> Option<(u64, u64)> {
    let rest = text.split("version ").nth(1)?;
    let mut numbers = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(str::parse::<u64>);
    Some((numbers.next()?.ok()?, numbers.next()?.ok()?))
}

/// Runs every job, `workers` at a time; each result is the tool's output or why it could not run.
#[must_use]
pub(super) fn run_all(jobs: &[ToolJob], workers: usize) -> Vec<Result<ToolOutput, String>> {
    let mut results: Vec<Option<Result<ToolOutput, String>>> = jobs.iter().map(|_| None).collect();
    for program in [Program::Promtool, Program::Amtool] {
        let indexes: Vec<usize> = (0..jobs.len())
            .filter(|&index| jobs[index].program == program)
            .collect();
        if indexes.is_empty() {
            continue;
        }
        match runner(program) {
            Runner::Unavailable(reason) => {
                for &index in &indexes {
                    results[index] = Some(Err(reason.clone()));
                }
            }
            Runner::Host(path) => {
                let done = parallel(&indexes, workers, |&index| run_host(path, &jobs[index]));
                for (index, result) in indexes.iter().zip(done) {
                    results[*index] = Some(result);
                }
            }
            Runner::Docker(image) => {
                // As many containers as workers, each running its share of the jobs one after the other.
                let share = indexes.len().div_ceil(workers.max(1));
                let chunks: Vec<&[usize]> = indexes.chunks(share.max(1)).collect();
                let done = parallel(&chunks, workers, |chunk| {
                    run_docker(image, program, chunk, jobs)
                });
                for (chunk, outputs) in chunks.iter().zip(done) {
                    for (index, output) in chunk.iter().zip(outputs) {
                        results[*index] = Some(output);
                    }
                }
            }
        }
    }
    results
        .into_iter()
        .map(|result| result.unwrap_or_else(|| Err("the tool was never run".to_owned())))
        .collect()
}

/// `work` on every item, at most `workers` at a time, results in the items' order.
pub(super) fn parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<R>>> =
        std::sync::Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = work(item);
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect()
}

fn run_host(path: &Path, job: &ToolJob) -> Result<ToolOutput, String> {
    let mut command = Command::new(path);
    command.args(&job.args).current_dir(&job.dir);
    let (success, text) = run_bounded(command, HOST_TIMEOUT)?;
    Ok(ToolOutput { success, text })
}

const BEGIN: &str = "@@promlab-begin";
const END: &str = "@@promlab-end";

/// Runs `chunk`'s jobs in one container: each job's folder mounted read-only, the jobs one after
/// the other, their outputs separated by markers.
fn run_docker(
    image: &str,
    program: Program,
    chunk: &[usize],
    jobs: &[ToolJob],
) -> Vec<Result<ToolOutput, String>> {
    let mut command = Command::new("docker");
    command.args(["run", "--rm", "--network", "none", "--entrypoint", "sh"]);
    let mut mounts: Vec<&Path> = Vec::new();
    let mut script = String::new();
    for (position, &index) in chunk.iter().enumerate() {
        let job = &jobs[index];
        let mount = mounts
            .iter()
            .position(|dir| *dir == job.dir)
            .unwrap_or_else(|| {
                mounts.push(&job.dir);
                mounts.len() - 1
            });
        let args: Vec<String> = job.args.iter().map(|arg| quote(arg)).collect();
        let _ = writeln!(
            script,
            "echo {BEGIN}; cd /w/{mount} && {} {} 2>&1; echo \"{END} {position} $?\"",
            program.name(),
            args.join(" ")
        );
    }
    for (number, dir) in mounts.iter().enumerate() {
        command
            .arg("--volume")
            .arg(format!("{}:/w/{number}:ro", dir.display()));
    }
    command.args([image, "-c", &script]);
    let text = match run_bounded(command, DOCKER_TIMEOUT) {
        Ok((_, text)) => text,
        Err(reason) => return chunk.iter().map(|_| Err(reason.clone())).collect(),
    };
    let mut outputs: Vec<Option<ToolOutput>> = chunk.iter().map(|_| None).collect();
    let mut current = String::new();
    for line in text.lines() {
        if line == BEGIN {
            current.clear();
        } else if let Some(rest) = line.strip_prefix(END) {
            let mut fields = rest.split_whitespace();
            let position: Option<usize> = fields.next().and_then(|f| f.parse().ok());
            let code: Option<i32> = fields.next().and_then(|f| f.parse().ok());
            if let (Some(slot), Some(code)) = (position.and_then(|p| outputs.get_mut(p)), code) {
                *slot = Some(ToolOutput {
                    success: code == 0,
                    text: std::mem::take(&mut current),
                });
            }
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    outputs
        .into_iter()
        .map(|output| {
            output.ok_or_else(|| {
                format!(
                    "{} did not finish in the {image} container: {}",
                    program.name(),
                    text.lines().last().unwrap_or("no output")
                )
            })
        })
        .collect()
}

/// A shell word that stands for `text` exactly.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs `command`, returning its success and its merged output, or why it could not run; killed after
/// `limit`.
fn run_bounded(mut command: Command, limit: Duration) -> Result<(bool, String), String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run {program}: {error}"))?;
    let mut readers = Vec::new();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        readers.push(std::thread::spawn(move || {
            let mut pipe = pipe;
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        }));
    }
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} took longer than {}s and was stopped",
                    limit.as_secs()
                ));
            }
            Err(error) => return Err(format!("cannot wait for {program}: {error}")),
        }
    };
    let mut text = String::new();
    for reader in readers {
        if let Ok(bytes) = reader.join() {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    Ok((status.success(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_the_tools_print() {
        assert_eq!(
            parse_version("promtool, version 2.42.0+ds (branch: debian/sid)"),
            Some((2, 42))
        );
        assert_eq!(
            parse_version("amtool, version 0.28.1 (branch: HEAD)"),
            Some((0, 28))
        );
        assert_eq!(parse_version("no version here"), None);
    }

    #[test]
    fn shell_words_survive_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        let (success, text) = run_bounded(
            {
                let mut command = Command::new("sh");
                command.args(["-c", &format!("printf %s {}", quote("a 'b' $c"))]);
                command
            },
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(success);
        assert_eq!(text, "a 'b' $c");
    }

    #[test]
    fn parallel_keeps_the_order() {
        let items: Vec<u32> = (0..50).collect();
        assert_eq!(
            parallel(&items, 4, |n| n * 2),
            items.iter().map(|n| n * 2).collect::<Vec<_>>()
        );
    }
}
