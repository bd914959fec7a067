//! The real `promlab` binary, driven like a user would from a shell.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What a finished command wrote to standard error.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A `promlab` invocation being built.
#[must_use]
pub struct Promlab {
    command: Command,
}

impl Promlab {
    pub fn new() -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_promlab"));
        for (key, _) in std::env::vars() {
            if key.starts_with("PROMLAB_") {
                command.env_remove(key);
            }
        }
        command.env("RUST_LOG", "info").stdin(Stdio::null());
        Self { command }
    }

    pub fn args<const N: usize>(mut self, args: [&str; N]) -> Self {
        self.command.args(args);
        self
    }

    pub fn args_slice(mut self, args: &[&str]) -> Self {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Runs a command that is expected to end by itself.
    pub fn output(mut self) -> Output {
        self.command.output().expect("promlab runs")
    }

    /// Starts a server command and waits for its `listening on http://ADDRESS/` log line.
    pub fn serve(mut self) -> Serving {
        let mut child = self
            .command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("promlab starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            let Ok(line) = received.recv_timeout(Duration::from_secs(20)) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("promlab never said where it listens: {seen:#?}");
            };
            let address = line
                .split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .and_then(|address| address.parse().ok());
            seen.push(line);
            if let Some(address) = address {
                return Serving {
                    child,
                    address,
                    lines: seen,
                    received,
                };
            }
        }
    }
}

/// A running server process; killed if still running when dropped.
pub struct Serving {
    child: Child,
    pub address: SocketAddr,
    lines: Vec<String>,
    received: mpsc::Receiver<String>,
}

impl Serving {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The log lines written since the last call (or since it started listening), without waiting.
    pub fn take_lines(&mut self) -> Vec<String> {
        let mut lines = std::mem::take(&mut self.lines);
        lines.extend(self.received.try_iter());
        lines
    }

    /// Sends SIGTERM (what `docker stop` sends) and returns how the process ended and all it logged.
    pub fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                let mut lines = std::mem::take(&mut self.lines);
                // The process is gone, so its stderr reaches EOF and the reader thread hangs up:
                // `iter` collects every last line instead of racing the reader.
                lines.extend(self.received.iter());
                return (status, lines);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("promlab did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
