//! `promlab grade`: a lab's criteria (data, in `labs/NN-name/criteria.yaml`) judged on a student's
//! repository (static checks on the files, upstream tools as judges) and on the running stack (live
//! checks through the services' APIs), one repository or a class of them; reports in text, JSON,
//! `JUnit` XML, Markdown and HTML.

pub mod criteria;
mod document;
pub mod evidence;
mod files;
mod inhibit;
mod live;
mod report;
mod secrets;
mod tools;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::fs::{FsError, WriteOptions, write_bytes_atomically};

pub use criteria::{Check, CriteriaError, Criterion, LabCriteria};
pub use live::Stack;
pub use report::Format;

/// The labs built into the grader: number, folder under `labs/`, criteria, and the grader's own files.
/// A lab built into the grader.
struct BuiltInLab {
    number: u8,
    /// Its folder under `labs/`.
    folder: &'static str,
    criteria: &'static str,
    /// The grader's own files the criteria name (file name, contents).
    files: &'static [(&'static str, &'static str)],
}

const LABS: [BuiltInLab; 7] = [
    BuiltInLab {
        number: 1,
        folder: "01-model-mock",
        criteria: include_str!("../../labs/01-model-mock/criteria.yaml"),
        files: &[],
    },
    BuiltInLab {
        number: 2,
        folder: "02-prometheus-promql",
        criteria: include_str!("../../labs/02-prometheus-promql/criteria.yaml"),
        files: &[],
    },
    BuiltInLab {
        number: 3,
        folder: "03-grafana-dashboard",
        criteria: include_str!("../../labs/03-grafana-dashboard/criteria.yaml"),
        files: &[],
    },
    BuiltInLab {
        number: 4,
        folder: "04-alertmanager-discord",
        criteria: include_str!("../../labs/04-alertmanager-discord/criteria.yaml"),
        files: &[(
            "model-timing.test.yml",
            include_str!("../../labs/04-alertmanager-discord/model-timing.test.yml"),
        )],
    },
    BuiltInLab {
        number: 5,
        folder: "05-node-cpu",
        criteria: include_str!("../../labs/05-node-cpu/criteria.yaml"),
        files: &[(
            "node-timing.test.yml",
            include_str!("../../labs/05-node-cpu/node-timing.test.yml"),
        )],
    },
    BuiltInLab {
        number: 6,
        folder: "06-forecasting",
        criteria: include_str!("../../labs/06-forecasting/criteria.yaml"),
        files: &[(
            "anomaly-timing.test.yml",
            include_str!("../../labs/06-forecasting/anomaly-timing.test.yml"),
        )],
    },
    BuiltInLab {
        number: 7,
        folder: "07-export-backup",
        criteria: include_str!("../../labs/07-export-backup/criteria.yaml"),
        files: &[],
    },
];

/// Where a lab's criteria and the grader's own files come from.
#[derive(Debug, Clone)]
pub enum LabSource {
    /// Built into the binary (`labs/` at build time).
    BuiltIn(u8),
    /// A criteria file on disk (an instructor's edited copy); its files are read beside it.
    File(PathBuf),
}

impl LabSource {
    /// Where the criteria come from, for messages.
    #[must_use]
    pub fn origin(&self) -> String {
        match self {
            Self::BuiltIn(number) => LABS.iter().find(|lab| lab.number == *number).map_or_else(
                || format!("lab {number}"),
                |lab| format!("labs/{}/criteria.yaml", lab.folder),
            ),
            Self::File(path) => path.display().to_string(),
        }
    }

    /// The criteria, parsed.
    pub fn criteria(&self) -> Result<LabCriteria, GradeError> {
        let text = match self {
            Self::BuiltIn(number) => LABS
                .iter()
                .find(|lab| lab.number == *number)
                .map(|lab| lab.criteria.to_owned())
                .ok_or(GradeError::UnknownLab { lab: *number })?,
            Self::File(path) => {
                std::fs::read_to_string(path).map_err(|source| GradeError::Read {
                    path: path.display().to_string(),
                    source,
                })?
            }
        };
        Ok(LabCriteria::parse(&text, &self.origin())?)
    }

    /// One of the grader's own files (a timing test), named in the criteria.
    pub fn file(&self, name: &str) -> Result<String, String> {
        match self {
            Self::BuiltIn(number) => LABS
                .iter()
                .find(|lab| lab.number == *number)
                .and_then(|lab| lab.files.iter().find(|file| file.0 == name))
                .map(|file| file.1.to_owned())
                .ok_or_else(|| format!("the grader has no file {name} for lab {number}: name one it ships, or use --criteria with the file beside it")),
            Self::File(path) => {
                let beside = path.parent().unwrap_or(Path::new(".")).join(name);
                std::fs::read_to_string(&beside)
                    .map_err(|error| format!("{} cannot be read: {error}", beside.display()))
            }
        }
    }
}

/// How one criterion ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "message", rename_all = "lowercase")]
pub enum Outcome {
    /// Met; what was seen.
    Pass(String),
    /// Not met; why.
    Fail(String),
    /// Not judged; why (a tool or service is missing).
    Skip(String),
}

impl Outcome {
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Pass(_) => "PASS",
            Self::Fail(_) => "FAIL",
            Self::Skip(_) => "SKIP",
        }
    }

    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            Self::Pass(message) | Self::Fail(message) | Self::Skip(message) => message,
        }
    }
}

/// One criterion's result.
#[derive(Debug, Clone, Serialize)]
pub struct CriterionResult {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    /// What the criterion is worth; earned when it passed.
    pub points: u32,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The fix, shown when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl CriterionResult {
    /// The points earned: all of them when it passed, none otherwise.
    #[must_use]
    pub fn earned(&self) -> u32 {
        if matches!(self.outcome, Outcome::Pass(_)) {
            self.points
        } else {
            0
        }
    }
}

/// One repository graded on one lab.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub lab: u8,
    pub lab_title: String,
    /// The repository's folder name (the student).
    pub student: String,
    pub results: Vec<CriterionResult>,
    pub seconds: f64,
}

impl Report {
    #[must_use]
    pub fn count(&self, label: &str) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome.label() == label)
            .count()
    }
}

/// A class graded on one lab: one report per student.
#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    pub lab: u8,
    pub lab_title: String,
    /// The criteria's ids, the summary table's columns.
    pub criteria: Vec<String>,
    pub students: Vec<Report>,
    pub seconds: f64,
}

/// What to grade: one repository (with the running stack, optionally) or a class.
#[derive(Debug, Clone)]
pub enum Target {
    Repo(PathBuf),
    /// A folder whose every subfolder is a student's repository.
    Class(PathBuf),
}

/// Everything `promlab grade` needs, free of any CLI type.
#[derive(Debug, Clone)]
pub struct GradeConfig {
    pub lab: LabSource,
    pub target: Target,
    pub stack: Stack,
    pub format: Format,
    /// Write the report here instead of standard output.
    pub output: Option<PathBuf>,
    /// Batch mode: also write each student's report into this folder.
    pub reports: Option<PathBuf>,
    /// Repositories graded at once (and containers run at once).
    pub jobs: usize,
    /// Colour the text report (standard output is a terminal, `NO_COLOR` unset).
    pub colour: bool,
    /// One repository with a stack: also save the evidence of its live criteria here.
    pub record: Option<PathBuf>,
    /// The webhook sink whose messages the evidence keeps.
    pub sink: Option<String>,
    /// One repository: judge its live criteria from its evidence file, not the stack.
    pub from_evidence: bool,
    /// A class (or `from_evidence`): the assignment's window the evidence must fall in.
    pub window: evidence::Window,
}

/// Which criteria are graded, and how a skip counts: `--only` and `--no-skip`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Grade this criterion alone (its id): one autograding test per criterion.
    pub only: Option<String>,
    /// A skipped criterion counts as failed (autograding: no points for what could not be judged).
    pub no_skip: bool,
}

/// Why grading could not be done (or, for [`GradeError::Failed`], why it did not pass).
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    /// The criteria file is invalid.
    #[error(transparent)]
    Criteria(#[from] CriteriaError),
    /// `--only` names no criterion of the lab.
    #[error("lab {lab} has no criterion {id:?}: choose one of {known}")]
    UnknownCriterion { lab: u8, id: String, known: String },
    /// No lab with this number.
    #[error("there is no lab {lab}: choose --lab 1 to 7")]
    UnknownLab { lab: u8 },
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}; check the path (--dir, --class or --criteria)")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The class folder holds no repository.
    #[error(
        "{path} has no student repository: --class takes a folder whose subfolders are the students' repositories"
    )]
    EmptyClass { path: String },
    /// Live URLs with a class: one stack cannot be every student's.
    #[error(
        "live checks grade one running stack: drop --class, or drop --prometheus-url/--alertmanager-url/--grafana-url (and --record) to grade the class's files and each repository's evidence/lab-N.json"
    )]
    LiveClass,
    /// Evidence could not be recorded.
    #[error(transparent)]
    Record(#[from] evidence::RecordError),
    /// A report (or the folder of the class's reports) could not be written.
    #[error(transparent)]
    Write(#[from] FsError),
    /// Grading ran and some criteria failed (the report says which and how to fix them).
    #[error("{failed} of {total} criteria failed{}: the report above says why and how to fix each", if *.students > 1 { format!(" across {} students", .students) } else { String::new() })]
    Failed {
        failed: usize,
        total: usize,
        students: usize,
    },
}

/// Where the live criteria are judged: the running stack, or each repository's evidence file.
#[derive(Debug, Clone, Copy)]
pub enum Live<'a> {
    Stack(&'a Stack),
    /// `evidence/lab-N.json` in each repository, recorded inside this window.
    Evidence(evidence::Window),
}

/// Grades `repos` on `lab`: static checks for each, the upstream tools run together, then the live
/// checks against the stack or from each repository's evidence.
pub async fn grade(
    lab: &LabSource,
    criteria: &LabCriteria,
    repos: &[PathBuf],
    live_source: Live<'_>,
    jobs: usize,
) -> Vec<Report> {
    let started = Instant::now();
    // Static steps for every repository, `jobs` at a time (the secrets scan reads every file).
    let steps: Vec<Vec<files::Step>> = tools::parallel(repos, jobs, |repo| {
        criteria
            .criteria
            .iter()
            .map(|criterion| files::evaluate(&criterion.check, repo, lab))
            .collect()
    });
    // The tools' jobs of the whole class, run together.
    let mut tool_jobs = Vec::new();
    let mut places = Vec::new();
    let mut outcomes: Vec<Vec<Option<Outcome>>> = Vec::new();
    for (student, student_steps) in steps.into_iter().enumerate() {
        let mut row = Vec::new();
        for (index, step) in student_steps.into_iter().enumerate() {
            match step {
                files::Step::Done(outcome) => row.push(Some(outcome)),
                files::Step::Tool(job) => {
                    places.push((student, index));
                    tool_jobs.push(job);
                    row.push(None);
                }
                files::Step::Live => row.push(None),
            }
        }
        outcomes.push(row);
    }
    let tool_results = tools::run_all(&tool_jobs, jobs);
    for ((student, index), result) in places.into_iter().zip(tool_results) {
        outcomes[student][index] = Some(match result {
            Ok(output) if output.success => Outcome::Pass(summary(&output.text, 3)),
            Ok(output) => Outcome::Fail(summary(&output.text, 12)),
            Err(reason) => Outcome::Skip(reason),
        });
    }
    drop(tool_jobs);
    let elapsed = started.elapsed().as_secs_f64() / repos.len().max(1) as f64;
    let mut reports = Vec::with_capacity(repos.len());
    for (repo, row) in repos.iter().zip(outcomes) {
        let live_started = Instant::now();
        let mut results = Vec::with_capacity(row.len());
        let mut judged = match live_source {
            Live::Evidence(window) => evidence::judge(repo, criteria, window),
            Live::Stack(_) => std::collections::BTreeMap::new(),
        };
        for (criterion, outcome) in criteria.criteria.iter().zip(row) {
            let (outcome, fix) = match (outcome, live_source) {
                (Some(outcome), _) => (outcome, None),
                (None, Live::Stack(stack)) => (live::evaluate(&criterion.check, stack).await, None),
                (None, Live::Evidence(_)) => judged.remove(&criterion.id).map_or_else(
                    || {
                        (
                            Outcome::Skip(format!(
                                "{} is not a live check",
                                criterion.check.kind()
                            )),
                            None,
                        )
                    },
                    |judged| (judged.outcome, judged.fix),
                ),
            };
            results.push(CriterionResult {
                id: criterion.id.clone(),
                title: criterion.title.clone(),
                kind: criterion.check.kind(),
                points: criterion.points,
                fix: matches!(outcome, Outcome::Fail(_))
                    .then(|| fix.unwrap_or_else(|| criterion.fix.trim().to_owned())),
                outcome,
            });
        }
        reports.push(Report {
            lab: criteria.lab,
            lab_title: criteria.title.clone(),
            student: student_name(repo),
            results,
            seconds: elapsed + live_started.elapsed().as_secs_f64(),
        });
    }
    reports
}

/// `--no-skip`: each skipped criterion becomes a failure that says why it was not judged.
fn no_skip(reports: &mut [Report]) {
    for result in reports
        .iter_mut()
        .flat_map(|report| report.results.iter_mut())
    {
        if let Outcome::Skip(reason) = &result.outcome {
            result.outcome = Outcome::Fail(format!(
                "not judged ({reason}); --no-skip counts that as failed"
            ));
        }
    }
}

/// A tool's output cut to its first lines, on one line each joined by ` | `.
fn summary(text: &str, lines: usize) -> String {
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let mut summary = kept
        .iter()
        .take(lines)
        .copied()
        .collect::<Vec<_>>()
        .join(" | ");
    if kept.len() > lines {
        summary.push_str(" | …");
    }
    if summary.is_empty() {
        summary.push_str("(no output)");
    }
    summary
}

fn student_name(repo: &Path) -> String {
    std::fs::canonicalize(repo)
        .ok()
        .as_deref()
        .unwrap_or(repo)
        .file_name()
        .map_or_else(
            || repo.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        )
}

/// The class folder's repositories: its subfolders (hidden ones aside), sorted by name.
fn class_repos(class: &Path) -> Result<Vec<PathBuf>, GradeError> {
    let entries = std::fs::read_dir(class).map_err(|source| GradeError::Read {
        path: class.display().to_string(),
        source,
    })?;
    let mut repos: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| entry.path())
        .collect();
    repos.sort();
    if repos.is_empty() {
        return Err(GradeError::EmptyClass {
            path: class.display().to_string(),
        });
    }
    Ok(repos)
}

/// Runs `promlab grade`: prints (or writes) the report, and fails when any criterion failed.
pub async fn run(config: &GradeConfig) -> Result<(), GradeError> {
    run_selected(config, &Selection::default()).await
}

/// Runs `promlab grade` on the criteria `selection` keeps.
pub async fn run_selected(config: &GradeConfig, selection: &Selection) -> Result<(), GradeError> {
    let criteria = selected(config.lab.criteria()?, selection)?;
    let (text, failed, total, students) = match &config.target {
        Target::Repo(repo) => grade_repo(config, &criteria, repo, selection).await?,
        Target::Class(class) => grade_class(config, &criteria, class, selection).await?,
    };
    match &config.output {
        Some(path) => write_bytes_atomically(path, text.as_bytes(), WriteOptions::default())?,
        None => print!("{text}"),
    }
    if failed > 0 {
        return Err(GradeError::Failed {
            failed,
            total,
            students,
        });
    }
    Ok(())
}

/// The lab's criteria that `--only` keeps (all without it).
fn selected(mut criteria: LabCriteria, selection: &Selection) -> Result<LabCriteria, GradeError> {
    if let Some(id) = &selection.only {
        let known: Vec<String> = criteria.criteria.iter().map(|c| c.id.clone()).collect();
        criteria.criteria.retain(|criterion| &criterion.id == id);
        if criteria.criteria.is_empty() {
            return Err(GradeError::UnknownCriterion {
                lab: criteria.lab,
                id: id.clone(),
                known: known.join(", "),
            });
        }
    }
    Ok(criteria)
}

/// A graded run: the report's text, the criteria failed, the criteria graded, the students.
type Graded = (String, usize, usize, usize);

/// One repository, its live criteria from the stack (or its evidence); `--record` saves the evidence.
async fn grade_repo(
    config: &GradeConfig,
    criteria: &LabCriteria,
    repo: &Path,
    selection: &Selection,
) -> Result<Graded, GradeError> {
    if !repo.is_dir() {
        return Err(GradeError::Read {
            path: repo.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        });
    }
    let live_source = if config.from_evidence {
        Live::Evidence(config.window)
    } else {
        Live::Stack(&config.stack)
    };
    let repos = [repo.to_path_buf()];
    let mut reports = grade(
        &config.lab,
        criteria,
        &repos,
        live_source,
        config.jobs.max(1),
    )
    .await;
    if selection.no_skip {
        no_skip(&mut reports);
    }
    let report = &reports[0];
    if let Some(path) = &config.record {
        let recorded = evidence::record(
            repo,
            criteria,
            report,
            &config.stack,
            config.sink.as_deref(),
        )
        .await?;
        evidence::write(&recorded, path)?;
        tracing::info!(path = %path.display(), "evidence recorded");
    }
    Ok((
        report::render_one(report, config.format, config.colour),
        report.count("FAIL"),
        report.results.len(),
        1,
    ))
}

/// A class: every repository's files, and its live criteria from its evidence; `--reports` too.
async fn grade_class(
    config: &GradeConfig,
    criteria: &LabCriteria,
    class: &Path,
    selection: &Selection,
) -> Result<Graded, GradeError> {
    let started = Instant::now();
    if config.stack.prometheus.is_some()
        || config.stack.alertmanager.is_some()
        || config.stack.grafana.is_some()
        || config.record.is_some()
    {
        return Err(GradeError::LiveClass);
    }
    let repos = class_repos(class)?;
    let mut students = grade(
        &config.lab,
        criteria,
        &repos,
        Live::Evidence(config.window),
        config.jobs.max(1),
    )
    .await;
    if selection.no_skip {
        no_skip(&mut students);
    }
    if let Some(folder) = &config.reports {
        std::fs::create_dir_all(folder).map_err(|source| FsError::new(folder, source))?;
        for student in &students {
            let path = folder.join(format!("{}.{}", student.student, config.format.extension()));
            let text = report::render_one(student, config.format, false);
            write_bytes_atomically(&path, text.as_bytes(), WriteOptions::default())?;
        }
    }
    let class_report = ClassReport {
        lab: criteria.lab,
        lab_title: criteria.title.clone(),
        criteria: criteria.criteria.iter().map(|c| c.id.clone()).collect(),
        seconds: started.elapsed().as_secs_f64(),
        students,
    };
    let failed = class_report.students.iter().map(|s| s.count("FAIL")).sum();
    let total = class_report.students.iter().map(|s| s.results.len()).sum();
    Ok((
        report::render_class(&class_report, config.format, config.colour),
        failed,
        total,
        class_report.students.len(),
    ))
}

/// The timeout of each live call, unless the user sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_lab_parses() {
        for BuiltInLab { number, .. } in LABS {
            let criteria = LabSource::BuiltIn(number).criteria().unwrap();
            assert_eq!(criteria.lab, number);
            assert!(!criteria.criteria.is_empty());
        }
        assert!(matches!(
            LabSource::BuiltIn(8).criteria(),
            Err(GradeError::UnknownLab { lab: 8 })
        ));
    }

    #[test]
    fn tool_output_is_summarised() {
        assert_eq!(summary("a\n\n b \nc\nd\n", 2), "a | b | …");
        assert_eq!(summary("", 2), "(no output)");
    }
}
