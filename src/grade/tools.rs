//! The upstream judges, `promtool` and `amtool`: the binary on the PATH when its version is at least
//! the one the lab pins, else the pinned image through `docker run` (no network, the repository
//! mounted read-only), else nothing, and the checks that need them are skipped with the reason.
//!
//! Jobs are run in batches: one container runs many jobs (a class's worth), because starting a
//! container costs more than the checks themselves (30 jobs, 4 at a time: about 2 s in 4 containers,
//! 7 to 9 s in one container each). Each job still has its own output channel: its output and its exit
//! status go to files of its own (`/out/N.out`, `/out/N.status`) in a host folder mounted for the batch,
//! never into a stream shared with other jobs, so nothing a student's file makes a tool print can pass
//! for another job's result. Each container is named, and removed (`docker rm --force`) when its batch
//! times out and when the batch is over, so a stopped `docker` client leaves nothing running.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// A temporary folder, removed when dropped: made under a fresh random name (never one another
/// user could have made first), readable by all so that a judge's container, which runs as `nobody`,
/// can read what the grader writes into it.
#[derive(Debug)]
pub(super) struct ScratchDir(tempfile::TempDir);

impl ScratchDir {
    pub(super) fn new() -> std::io::Result<Self> {
        let folder = tempfile::Builder::new()
            .prefix("promlab-grade-")
            .tempdir()?;
        set_mode(folder.path(), 0o755)?;
        Ok(Self(folder))
    }

    #[must_use]
    pub(super) fn path(&self) -> &Path {
        self.0.path()
    }
}

/// Gives `path` the permission bits `mode` (nothing to do where there are none).
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// How long one job may run on the host.
const HOST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one container's batch of jobs may run.
const DOCKER_TIMEOUT: Duration = Duration::from_secs(300);
/// How long Docker may take to create or remove a container (no student file is read meanwhile).
const DOCKER_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of a job's output kept: far more than a report shows, far less than a runaway tool writes.
const OUTPUT_LIMIT: u64 = 1 << 20;

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
                    let batch = Batch {
                        image,
                        program,
                        container: Container::unique_name(),
                        limit: DOCKER_TIMEOUT,
                    };
                    batch.run(chunk, jobs)
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
    match run_bounded(command, HOST_TIMEOUT)? {
        Ended::Exited { success, text } => Ok(ToolOutput { success, text }),
        Ended::TimedOut => Err(format!(
            "{} did not finish within {} and was stopped: run it by hand on this repository to see where it hangs",
            path.display(),
            humantime::format_duration(HOST_TIMEOUT)
        )),
    }
}

/// One container's share of the jobs: run in the container `container` of `image`, stopped and
/// removed after `limit`.
#[derive(Debug)]
struct Batch<'a> {
    image: &'a str,
    program: Program,
    container: String,
    limit: Duration,
}

impl Batch<'_> {
    /// Runs `chunk`'s jobs one after the other in one container: each job's folder mounted read-only
    /// at `/w/M`, and a folder of outputs at `/out` where job `N` (its place in `chunk`) alone writes
    /// `N.out` (its output) and `N.status` (its exit status).
    fn run(&self, chunk: &[usize], jobs: &[ToolJob]) -> Vec<Result<ToolOutput, String>> {
        let program = self.program.name();
        let image = self.image;
        let every = |reason: &str| chunk.iter().map(|_| Err(reason.to_owned())).collect();
        let outputs = match OutputDir::new() {
            Ok(outputs) => outputs,
            Err(error) => {
                return every(&format!(
                    "cannot make a folder for {program}'s outputs in {}: {error}; free some space there or point TMPDIR elsewhere",
                    std::env::temp_dir().display()
                ));
            }
        };
        let mut results: Vec<Option<Result<ToolOutput, String>>> =
            chunk.iter().map(|_| None).collect();
        let (mounts, script) = self.script(chunk, jobs, &mut results);
        if script.is_empty() {
            return results.into_iter().flatten().collect();
        }
        let container = Container {
            name: self.container.clone(),
        };
        if let Err(reason) = self.create(&container, &mounts, outputs.path(), &script) {
            return every(&reason);
        }
        let mut start = Command::new("docker");
        start.args(["start", "--attach", &container.name]);
        let ended = run_bounded(start, self.limit);
        if !matches!(ended, Ok(Ended::Exited { .. })) {
            // Stopped before the outputs are read, so that none changes while being read.
            container.remove();
        }
        results
            .into_iter()
            .enumerate()
            .map(|(position, result)| {
                result.unwrap_or_else(|| {
                    outputs.read(position).ok_or_else(|| match &ended {
                        Ok(Ended::TimedOut) => format!(
                            "{program} did not finish within {} in the {image} container, which was stopped and removed: run it by hand on this repository to see where it hangs",
                            humantime::format_duration(self.limit)
                        ),
                        Ok(Ended::Exited { text, .. }) => format!(
                            "{program} did not finish in the {image} container: {}",
                            last_line(text)
                        ),
                        Err(reason) => reason.clone(),
                    })
                })
            })
            .collect()
    }

    /// The container's mounts (one per folder) and its script, one line per job; a job whose folder
    /// cannot be mounted gets its reason in `results` and no line.
    fn script(
        &self,
        chunk: &[usize],
        jobs: &[ToolJob],
        results: &mut [Option<Result<ToolOutput, String>>],
    ) -> (Vec<String>, String) {
        let program = self.program.name();
        let mut folders: Vec<&Path> = Vec::new();
        let mut mounts = Vec::new();
        let mut script = String::new();
        for (position, &index) in chunk.iter().enumerate() {
            let job = &jobs[index];
            let mount = if let Some(mount) = folders.iter().position(|dir| *dir == job.dir) {
                mount
            } else {
                match bind_mount(&job.dir, &format!("/w/{}", mounts.len()), true) {
                    Ok(spec) => {
                        folders.push(&job.dir);
                        mounts.push(spec);
                        mounts.len() - 1
                    }
                    Err(reason) => {
                        results[position] = Some(Err(format!(
                            "{program} cannot judge this repository in the {} container: {reason}",
                            self.image
                        )));
                        continue;
                    }
                }
            };
            let args: Vec<String> = job.args.iter().map(|arg| quote(arg)).collect();
            let _ = writeln!(
                script,
                "{{ cd /w/{mount} && {program} {}; }} >/out/{position}.out 2>&1; echo $? >/out/{position}.status",
                args.join(" ")
            );
        }
        (mounts, script)
    }

    /// Creates `container` (not started) with `mounts`, `outputs` at `/out`, and `script`.
    fn create(
        &self,
        container: &Container,
        mounts: &[String],
        outputs: &Path,
        script: &str,
    ) -> Result<(), String> {
        let (program, image) = (self.program.name(), self.image);
        let outputs = bind_mount(outputs, "/out", false).map_err(|reason| {
            format!("the folder for {program}'s outputs cannot be mounted: {reason}")
        })?;
        let mut create = Command::new("docker");
        create.args(["create", "--rm", "--name", &container.name]);
        create.args(["--network", "none", "--entrypoint", "sh"]);
        for spec in mounts.iter().chain([&outputs]) {
            create.arg("--mount").arg(spec);
        }
        create.args([image, "-c", script]);
        let reason = match run_bounded(create, DOCKER_CALL_TIMEOUT) {
            Ok(Ended::Exited { success: true, .. }) => return Ok(()),
            Ok(Ended::Exited { text, .. }) => last_line(&text).to_owned(),
            Ok(Ended::TimedOut) => format!(
                "Docker did not answer within {}",
                humantime::format_duration(DOCKER_CALL_TIMEOUT)
            ),
            Err(reason) => reason,
        };
        Err(format!(
            "cannot create the {image} container to run {program}: {reason}; check that Docker is running (`docker info`)"
        ))
    }
}

/// A named container, removed (killed first if it runs) when dropped: whatever becomes of the `docker`
/// client, nothing is left running.
#[derive(Debug)]
struct Container {
    name: String,
}

impl Container {
    /// A name no other container has: this process, the time and a counter.
    fn unique_name() -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        format!(
            "promlab-grade-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Kills and removes the container; one already gone is fine.
    fn remove(&self) {
        let mut remove = Command::new("docker");
        remove.args(["rm", "--force", &self.name]);
        let _ = run_bounded(remove, DOCKER_CALL_TIMEOUT);
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The folder a batch's container writes its jobs' outputs into (mounted at `/out`): `out` inside a
/// private temporary folder, so that only this user reaches it on the host, while the container, which
/// runs as `nobody`, may write into it.
#[derive(Debug)]
struct OutputDir {
    _parent: tempfile::TempDir,
    path: PathBuf,
}

impl OutputDir {
    fn new() -> std::io::Result<Self> {
        let parent = tempfile::Builder::new()
            .prefix("promlab-grade-out-")
            .tempdir()?;
        let path = parent.path().join("out");
        std::fs::create_dir(&path)?;
        set_mode(&path, 0o777)?;
        Ok(Self {
            _parent: parent,
            path,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Job `position`'s result, if it finished: its exit status and (the start of) its output.
    fn read(&self, position: usize) -> Option<ToolOutput> {
        let status = std::fs::read_to_string(self.path.join(format!("{position}.status"))).ok()?;
        let code: i32 = status.trim().parse().ok()?;
        let mut bytes = Vec::new();
        if let Ok(file) = std::fs::File::open(self.path.join(format!("{position}.out"))) {
            let _ = file.take(OUTPUT_LIMIT).read_to_end(&mut bytes);
        }
        Some(ToolOutput {
            success: code == 0,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

/// A `--mount` value binding the folder `source` at `target`. The value is CSV: the source field is
/// quoted (its `"` doubled), so a `,` in the path stays part of it, and a `:` needs nothing (unlike
/// `--volume`, where it splits the path).
fn bind_mount(source: &Path, target: &str, read_only: bool) -> Result<String, String> {
    let absolute = std::path::absolute(source)
        .map_err(|error| format!("{} has no absolute path: {error}", source.display()))?;
    let text = absolute.to_str().ok_or_else(|| {
        format!(
            "Docker cannot mount {}, whose name is not UTF-8: rename the folder",
            absolute.display()
        )
    })?;
    if text.contains('\r') {
        return Err(format!(
            "Docker cannot mount {text:?}, whose name holds a carriage return: rename the folder"
        ));
    }
    let mut spec = format!(
        "type=bind,\"source={}\",target={target}",
        text.replace('"', "\"\"")
    );
    if read_only {
        spec.push_str(",readonly");
    }
    Ok(spec)
}

/// The last line of `text` that says something.
fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no output")
}

/// A shell word that stands for `text` exactly.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// How a command run by [`run_bounded`] ended.
#[derive(Debug)]
enum Ended {
    /// It exited by itself: its success, and its output (standard output, then standard error).
    Exited { success: bool, text: String },
    /// It ran out of time and was killed.
    TimedOut,
}

/// Runs `command` (killed after `limit`), or says why it could not run.
fn run_bounded(mut command: Command, limit: Duration) -> Result<Ended, String> {
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
                return Ok(Ended::TimedOut);
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
    Ok(Ended::Exited {
        success: status.success(),
        text,
    })
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
        let ended = run_bounded(
            {
                let mut command = Command::new("sh");
                command.args(["-c", &format!("printf %s {}", quote("a 'b' $c"))]);
                command
            },
            Duration::from_secs(10),
        )
        .unwrap();
        let Ended::Exited { success, text } = ended else {
            panic!("printf timed out")
        };
        assert!(success);
        assert_eq!(text, "a 'b' $c");
    }

    #[test]
    fn mounts_take_colons_commas_and_quotes_as_part_of_the_path() {
        assert_eq!(
            bind_mount(Path::new("/class/a: b, \"c\""), "/w/0", true).unwrap(),
            r#"type=bind,"source=/class/a: b, ""c""",target=/w/0,readonly"#
        );
        assert_eq!(
            bind_mount(Path::new("/tmp/out"), "/out", false).unwrap(),
            r#"type=bind,"source=/tmp/out",target=/out"#
        );
        let relative = bind_mount(Path::new("repo"), "/w/0", true).unwrap();
        assert!(relative.starts_with("type=bind,\"source=/"), "{relative}");
        let refused = bind_mount(Path::new("/class/a\rb"), "/w/0", true).unwrap_err();
        assert!(
            refused.contains("carriage return: rename the folder"),
            "{refused}"
        );
    }

    /// The image that ships promtool here (the one named by its variable, the pinned one or the CI
    /// stand-in), or `None` after saying why the test is skipped.
    fn promtool_image(test: &str) -> Option<String> {
        let (variable, pinned) = Program::Promtool.image();
        let found = std::env::var(variable)
            .into_iter()
            .chain([pinned.to_owned(), "promlab-ci/prometheus:2.53.3".to_owned()])
            .find(|image| {
                Command::new("docker")
                    .args(["image", "inspect", image])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success())
            });
        if found.is_none() {
            let reason = format!("no Docker, or no image of promtool ({variable}, {pinned})");
            assert!(
                std::env::var("PROMLAB_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "{test} cannot run: {reason} (PROMLAB_REQUIRE_TOOLS=1 forbids skipping)"
            );
            eprintln!("SKIPPED {test}: {reason}");
        }
        found
    }

    #[test]
    fn a_batch_out_of_time_leaves_no_container_behind() {
        let Some(image) = promtool_image("a_batch_out_of_time_leaves_no_container_behind") else {
            return;
        };
        // A rule file that is a FIFO nobody writes to: promtool waits on it for ever, so the batch
        // can only end by its timeout, however fast or slow this machine is.
        let repo = ScratchDir::new().unwrap();
        let made = Command::new("mkfifo")
            .arg(repo.path().join("never.yml"))
            .status()
            .unwrap();
        assert!(made.success());
        let job = |file: &str| ToolJob {
            program: Program::Promtool,
            dir: repo.path().to_path_buf(),
            args: vec!["check".to_owned(), "rules".to_owned(), file.to_owned()],
            _scratch: None,
        };
        let jobs = [job("never.yml"), job("never.yml")];
        let batch = Batch {
            image: &image,
            program: Program::Promtool,
            container: Container::unique_name(),
            limit: Duration::from_millis(300),
        };
        let results = batch.run(&[0, 1], &jobs);
        assert_eq!(results.len(), 2);
        for result in results {
            let reason = result.unwrap_err();
            assert!(
                reason.contains("did not finish within 300ms in the")
                    && reason.contains("stopped and removed"),
                "{reason}"
            );
        }
        let left = Command::new("docker")
            .args(["ps", "--all", "--quiet", "--filter"])
            .arg(format!("name=^{}$", batch.container))
            .output()
            .unwrap();
        assert!(left.status.success(), "{left:?}");
        assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "");
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
