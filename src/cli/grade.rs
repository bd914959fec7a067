//! `promlab grade`: the lab, the repository or class, the running stack, the report.
#![allow(clippy::doc_markdown)]

use std::time::Duration;

use clap::{Args, ValueEnum};

use std::path::PathBuf;

use crate::clients::Auth;
use crate::grade::evidence::Window;
use crate::grade::{Format, GradeConfig, LabSource, Selection, Stack, Target};
use crate::redact::Secret;
use crate::time::parse_time;

use super::shared::{
    FromEnvOnly, GrafanaLoginArgs, StackUrlArgs, lab_dir, parse_timeout, read_secret_file, secret,
};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("evidence_source").args(["class", "from_evidence"])))]
pub struct GradeArgs {
    /// The lab, 1 to 7 (its criteria: labs/NN-name/criteria.yaml).
    #[arg(long, env = "PROMLAB_LAB", value_parser = clap::value_parser!(u8).range(1..=7))]
    pub lab: u8,

    /// The student's repository (the kit's layout: prometheus/, alertmanager/, grafana/, compose/) [default: .].
    #[arg(long, env = "PROMLAB_DIR", conflicts_with = "class")]
    pub dir: Option<PathBuf>,

    /// Batch mode: a folder whose every subfolder is a student's repository (live criteria judged from each one's evidence/lab-N.json).
    #[arg(long, env = "PROMLAB_GRADE_CLASS")]
    pub class: Option<PathBuf>,

    /// An edited criteria file instead of the built-in one (the grader's test files are read beside it).
    #[arg(long, env = "PROMLAB_GRADE_CRITERIA")]
    pub criteria: Option<PathBuf>,

    #[command(flatten)]
    pub stack: StackUrlArgs,

    /// A Grafana service account token for its API: only from PROMLAB_GRAFANA_TOKEN (as a flag it is refused).
    #[arg(
        long,
        env = "PROMLAB_GRAFANA_TOKEN",
        hide = true,
        hide_env_values = true,
        value_parser = FromEnvOnly
    )]
    pub grafana_token: Option<Secret>,

    /// A file holding a Grafana service account token, read at start (or set PROMLAB_GRAFANA_TOKEN); a token wins over a password.
    #[arg(
        long,
        env = "PROMLAB_GRAFANA_TOKEN_FILE",
        value_name = "FILE",
        value_parser = read_secret_file,
        conflicts_with = "grafana_password_file"
    )]
    pub grafana_token_file: Option<Secret>,

    #[command(flatten)]
    pub grafana_login: GrafanaLoginArgs,

    /// Report format.
    #[arg(long, env = "PROMLAB_GRADE_FORMAT", value_enum, default_value_t = GradeFormatArg::Text)]
    pub format: GradeFormatArg,

    /// Write the report to this file instead of standard output.
    #[arg(long, env = "PROMLAB_GRADE_OUTPUT")]
    pub output: Option<PathBuf>,

    /// Batch mode: also write each student's report (in --format) into this folder.
    #[arg(long, env = "PROMLAB_GRADE_REPORTS", requires = "class")]
    pub reports: Option<PathBuf>,

    /// Repositories graded, and checker containers run, at once (default: twice the cores).
    #[arg(long, env = "PROMLAB_GRADE_JOBS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,

    /// Grade this criterion alone (its id in the lab's criteria.yaml): one autograding test per criterion.
    #[arg(long, env = "PROMLAB_GRADE_ONLY", value_name = "ID")]
    pub only: Option<String>,

    /// Count a skipped criterion (a judge or service that is missing) as failed: no points for what was not judged.
    #[arg(long, env = "PROMLAB_GRADE_NO_SKIP")]
    pub no_skip: bool,

    /// Save each live criterion's outcome and the data behind it to this file (e.g. evidence/lab-5.json), for grading in batch.
    #[arg(
        long,
        env = "PROMLAB_GRADE_RECORD",
        value_name = "FILE",
        conflicts_with_all = ["class", "only"]
    )]
    pub record: Option<PathBuf>,

    /// With --record: the webhook sink whose received messages the evidence keeps (tokens hidden).
    #[arg(
        long,
        env = "PROMLAB_GRADE_SINK_URL",
        value_name = "URL",
        requires = "record"
    )]
    pub sink_url: Option<String>,

    /// One repository: judge the live criteria from its evidence/lab-N.json (what --class does for each), not a running stack (stack URLs are then not used).
    #[arg(long, env = "PROMLAB_GRADE_FROM_EVIDENCE", conflicts_with_all = ["class", "record"])]
    pub from_evidence: bool,

    /// With --class or --from-evidence: evidence recorded before this time is stale (RFC 3339, unix seconds or now-DURATION).
    #[arg(long, env = "PROMLAB_GRADE_SINCE", value_parser = parse_time, requires = "evidence_source")]
    pub since: Option<i64>,

    /// With --class or --from-evidence: evidence recorded after this time is stale (RFC 3339, unix seconds or now-DURATION).
    #[arg(long, env = "PROMLAB_GRADE_UNTIL", value_parser = parse_time, requires = "evidence_source")]
    pub until: Option<i64>,

    /// How long each call to the running stack may take.
    #[arg(long, env = "PROMLAB_GRADE_TIMEOUT", default_value = "5s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// On a classroom cluster: the student's namespace. Every live query is read through the
    /// cluster's Prometheus (--prometheus-url) with namespace="NAMESPACE" on each of its selectors.
    #[arg(long, env = "PROMLAB_GRADE_KUBERNETES", value_name = "NAMESPACE", value_parser = namespace)]
    pub kubernetes: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GradeFormatArg {
    /// Readable lines, coloured on a terminal.
    Text,
    /// One JSON document.
    Json,
    /// JUnit XML for CI autograding.
    Junit,
    /// A Markdown table.
    Markdown,
    /// A self-contained HTML page.
    Html,
    /// A gradebook: one row per student, the points of each criterion and the total.
    Csv,
}

impl GradeArgs {
    /// `--only` and `--no-skip`.
    #[must_use]
    pub fn selection(&self) -> Selection {
        Selection {
            only: self.only.clone(),
            no_skip: self.no_skip,
        }
    }
}

impl From<GradeArgs> for GradeConfig {
    fn from(args: GradeArgs) -> Self {
        use std::io::IsTerminal as _;
        let format = match args.format {
            GradeFormatArg::Text => Format::Text,
            GradeFormatArg::Json => Format::Json,
            GradeFormatArg::Junit => Format::Junit,
            GradeFormatArg::Markdown => Format::Markdown,
            GradeFormatArg::Html => Format::Html,
            GradeFormatArg::Csv => Format::Csv,
        };
        let grafana_auth = match (
            secret(args.grafana_token_file, args.grafana_token),
            args.grafana_login.password(),
        ) {
            (Some(token), _) => Auth::Token(token),
            (None, Some(password)) => Auth::Basic {
                user: args.grafana_login.grafana_user,
                password,
            },
            (None, None) => Auth::None,
        };
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            lab: args
                .criteria
                .map_or(LabSource::BuiltIn(args.lab), LabSource::File),
            target: args.class.map_or_else(
                || Target::Repo(lab_dir(args.dir, "PROMLAB_GRADE_DIR")),
                Target::Class,
            ),
            stack: Stack {
                prometheus: args.stack.prometheus("PROMLAB_GRADE_PROMETHEUS"),
                alertmanager: args.stack.alertmanager("PROMLAB_GRADE_ALERTMANAGER"),
                grafana: args.stack.grafana("PROMLAB_GRADE_GRAFANA"),
                grafana_auth,
                timeout: args.timeout,
                namespace: args.kubernetes,
            },
            format,
            colour: format == Format::Text
                && args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none(),
            output: args.output,
            reports: args.reports,
            record: args.record,
            sink: args.sink_url,
            from_evidence: args.from_evidence,
            window: Window {
                since: args.since,
                until: args.until,
            },
            jobs: args.jobs.map_or(cores * 2, usize::from),
        }
    }
}

/// A namespace given to `--kubernetes`: a DNS-1123 label, as the cluster allows.
fn namespace(text: &str) -> Result<String, String> {
    crate::generate::kubernetes::check_dns_label(text).map(|()| text.to_owned())
}
