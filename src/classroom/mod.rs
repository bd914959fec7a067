//! `promlab classroom`: student repositories in which a lab's work is left to do (`starter`), the
//! reference solution applied to one (`solve`, the Instruqt "solve"), and a GitHub Classroom template
//! repository (`template`, see [`template`]).
//!
//! Where the files come from: the kit's own generator ([`crate::generate::render`] with the default
//! lab config), the very files committed at the repository's root and kept equal to it by the drift
//! test, plus `forecaster.yaml` (built in from the repository) and lab 7's artefacts made here. That
//! is the solved kit. A starter is the solved kit with the *holes* of its lab and of every later lab
//! applied (labs build on each other: lab N's starter holds the solutions of labs 1 to N-1), each
//! hole a text edit of a generated file (or a file left out, with a note in its place), marked with a
//! comment naming the lab and step. `solve --lab N` writes the files of lab N's holes as lab N+1's
//! starter has them: lab N's work done, later labs' holes kept.
//!
//! The compose file is the one change that is not a hole: the starter's runs the published promlab
//! image (`ghcr.io/promlab/promlab:<version>`) instead of building the kit's source, which a student's
//! repository does not hold, so `docker compose up` works on every starter.

pub mod template;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::fs::FsError;
use crate::generate::{GenerateError, LabConfig};

/// Everything `promlab classroom` needs, free of any CLI type.
#[derive(Debug, Clone)]
pub enum ClassroomConfig {
    Starter {
        lab: u8,
        out: PathBuf,
    },
    Solve {
        lab: u8,
        dir: PathBuf,
    },
    Template {
        labs: std::ops::RangeInclusive<u8>,
        out: PathBuf,
        refs: template::ActionRefs,
    },
}

/// Runs `promlab classroom`; returns what to tell the user.
pub fn run(config: &ClassroomConfig) -> Result<String, ClassroomError> {
    Ok(match config {
        ClassroomConfig::Starter { lab, out } => {
            let count = write_starter(*lab, out)?;
            format!(
                "wrote lab {lab}'s starter ({count} files) to {}: `grep -rn \"TODO lab\" {}` lists the work",
                out.display(),
                out.display()
            )
        }
        ClassroomConfig::Solve { lab, dir } => {
            let solved = solve(*lab, dir)?;
            format!(
                "applied lab {lab}'s solution to {}: wrote {}{}",
                dir.display(),
                solved.written.join(", "),
                if solved.deleted.is_empty() {
                    String::new()
                } else {
                    format!("; deleted {}", solved.deleted.join(", "))
                }
            )
        }
        ClassroomConfig::Template { labs, out, refs } => {
            let count = template::write(labs, refs, out)?;
            format!(
                "wrote the template of labs {}-{} ({count} files) to {}: push it to GitHub and make it a template repository (labs/INSTRUCTORS.md)",
                labs.start(),
                labs.end(),
                out.display()
            )
        }
    })
}

/// The published promlab image a student's stack and CI run (`.github/workflows/images.yml`).
pub const IMAGE: &str = concat!("ghcr.io/promlab/promlab:", env!("CARGO_PKG_VERSION"));

/// The number of labs.
pub const LABS: u8 = 7;

/// One change a hole makes to the solved kit.
#[derive(Debug, Clone, Copy)]
enum Edit {
    /// In `file`, the text `from` becomes `to`.
    Replace {
        file: &'static str,
        from: &'static str,
        to: &'static str,
    },
    /// `file` is left out.
    Remove { file: &'static str },
    /// `file`, a note that only the starter has, where the work is a whole file.
    Add {
        file: &'static str,
        contents: &'static str,
    },
}

/// The work a student does in one lab: what the starter leaves out, and the criteria that fail until
/// it is done.
#[derive(Debug, Clone, Copy)]
pub struct Hole {
    pub lab: u8,
    edits: &'static [Edit],
    /// The lab's criteria (ids in its criteria.yaml) the untouched starter fails: the lab's work.
    pub work: &'static [&'static str],
}

const MOCK_JOB: &str = "  # The model mock: model_result and the other metric types.
  - job_name: model_mock
    static_configs:
      - targets: ['model-mock:5000']
";

const NODE_JOB: &str = "  # node-exporter: CPU, memory, load and disk of the machine.
  - job_name: node_exporter
    static_configs:
      - targets: ['node-exporter:9100']
";

const ALERTMANAGER_JOB: &str =
    "  # Alertmanager's own metrics (notifications sent and failed per integration).
  - job_name: alertmanager
    static_configs:
      - targets: ['alertmanager:9093']
";

const ROUTE: &str = "route:
  receiver: discord
";

const RECEIVERS: &str = "receivers:
  - name: discord
    discord_configs:
      - webhook_url_file: /etc/alertmanager/secrets/discord_webhook_url
        # A second message, in green, when the alert ends.
        send_resolved: true
";

const INHIBITION: &str = "inhibit_rules:
  # A target that is down silences the alerts about what it measures: the cause is reported, not its
  # symptoms (node-exporter down mutes its CPU alert; the model mock down mutes the model alert).
  - source_matchers: [alertname = TargetDown]
    target_matchers: ['alertname =~ \"NodeCpuHigh|ModelResultHigh\"']
    equal: [instance]
";

/// The holes, lab by lab; the texts replaced are the generator's (a test keeps them found).
pub const HOLES: [Hole; 7] = [
    Hole {
        lab: 1,
        edits: &[Edit::Replace {
            file: "prometheus/prometheus.yml",
            from: MOCK_JOB,
            to: "  # TODO lab 1, step 4: add the scrape job `model_mock` for the model mock here. Inside the\n  # Prometheus container, the mock answers at model-mock:5000 (its compose service name).\n",
        }],
        work: &["mock-scraped"],
    },
    Hole {
        lab: 2,
        edits: &[
            Edit::Replace {
                file: "prometheus/prometheus.yml",
                from: NODE_JOB,
                to: "  # TODO lab 2, step 1: add the scrape job `node_exporter` (node-exporter:9100) here.\n",
            },
            Edit::Replace {
                file: "prometheus/prometheus.yml",
                from: ALERTMANAGER_JOB,
                to: "  # TODO lab 2, step 1: add the scrape job `alertmanager` (alertmanager:9093) here.\n",
            },
        ],
        work: &["node-job", "alertmanager-job"],
    },
    Hole {
        lab: 3,
        edits: &[
            Edit::Remove {
                file: "grafana/dashboards/model.json",
            },
            Edit::Add {
                file: "grafana/dashboards/TODO-lab-3.md",
                contents: "# TODO lab 3, steps 3 to 5: the model dashboard\n\nBuild the dashboard in Grafana's UI (a time series of `model_result` with a red threshold line at\n0.9, refresh 5s, the last 15 minutes), then export it (*Share › Export › Save to file*) into this\nfolder as `model.json`, and delete this note.\n",
            },
        ],
        work: &["dashboard-file", "refresh", "time-range", "threshold-line"],
    },
    Hole {
        lab: 4,
        edits: &[
            Edit::Replace {
                file: "prometheus/rules/model.yml",
                from: "    rules:\n      - alert: ModelResultHigh\n",
                to: "    # TODO lab 4, step 1: write the alerting rule ModelResultHigh here (model_result above 0.9 for\n    # 30s, severity warning), and its promtool test in model.test.yml beside this file.\n    rules: []\n    removed:\n      - alert: ModelResultHigh\n",
            },
            Edit::Remove {
                file: "prometheus/rules/model.test.yml",
            },
            Edit::Replace {
                file: "alertmanager/alertmanager.yml",
                from: ROUTE,
                to: "route:\n  # TODO lab 4, step 2: route the alerts to your Discord receiver.\n  receiver: nowhere\n",
            },
            Edit::Replace {
                file: "alertmanager/alertmanager.yml",
                from: RECEIVERS,
                to: "receivers:\n  # TODO lab 4, step 2: add a receiver with discord_configs: webhook_url_file (the URL is a\n  # secret) and resolved messages.\n  - name: nowhere\n",
            },
            Edit::Replace {
                file: "alertmanager/alertmanager.yml",
                from: INHIBITION,
                to: "# TODO lab 4, step 6: add an inhibit rule: a TargetDown alert mutes the model and CPU alerts of\n# the same instance.\n",
            },
        ],
        work: &[
            "discord-receiver",
            "inhibition",
            "model-rule",
            "model-rule-timing",
            "rule-tests",
        ],
    },
    Hole {
        lab: 5,
        edits: &[
            Edit::Replace {
                file: "prometheus/rules/node.yml",
                from: "    rules:\n      - alert: NodeCpuHigh\n",
                to: "    # TODO lab 5, step 3: write the alerting rule NodeCpuHigh here: the busy ratio of the CPUs\n    # (one minus the idle share over 1m) above 0.8, held for 3 minutes, severity warning.\n    rules: []\n    removed:\n      - alert: NodeCpuHigh\n",
            },
            Edit::Remove {
                file: "prometheus/rules/node.test.yml",
            },
        ],
        work: &["cpu-rule-for", "cpu-rule-timing"],
    },
    Hole {
        lab: 6,
        edits: &[
            Edit::Replace {
                file: "prometheus/rules/forecast.yml",
                from: "    rules:\n      - alert: ForecastAnomaly\n",
                to: "    # TODO lab 6, step 4: write the alerting rule ForecastAnomaly here: any forecaster model's\n    # anomaly flag (predicted_values_<model>_anomaly) at 1 for 30s, with the model in a label.\n    rules: []\n    removed:\n      - alert: ForecastAnomaly\n",
            },
            Edit::Remove {
                file: "prometheus/rules/forecast.test.yml",
            },
        ],
        work: &["anomaly-rule", "anomaly-timing"],
    },
    Hole {
        lab: 7,
        edits: &[
            Edit::Remove { file: EXPORT_CSV },
            Edit::Remove { file: VERIFY_TXT },
            Edit::Add {
                file: "exports/TODO-lab-7.md",
                contents: "# TODO lab 7, steps 2 and 3: the dataset and the backup's report\n\nExport the last half hour of `model_result` into this folder as `model_result.csv` (step 2), back\nup today's history and save `promlab backup verify`'s report as `backup-verify.txt` (step 3); commit\nboth and delete this note.\n",
            },
        ],
        work: &["export-csv", "backup-report"],
    },
];

/// Lab 7's dataset and backup report, as the reference solution has them.
const EXPORT_CSV: &str = "exports/model_result.csv";
const VERIFY_TXT: &str = "exports/backup-verify.txt";

/// Why a classroom command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClassroomError {
    #[error("there is no lab {lab}: choose a lab from 1 to {LABS}")]
    UnknownLab { lab: u8 },
    #[error(
        "{path} is not empty: the starter goes into a new or empty folder, so nothing of yours is overwritten; choose another --out or empty that one"
    )]
    NotEmpty { path: String },
    #[error(
        "{path} is not a student repository (it has no prometheus/prometheus.yml): give --dir the repository `promlab classroom starter` wrote"
    )]
    NotARepository { path: String },
    /// A hole no longer finds its text in the generator's files (a bug, caught by the tests).
    #[error("lab {lab}'s hole in {file} no longer finds its text in the generated file")]
    StaleHole { lab: u8, file: String },
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error(transparent)]
    Grade(#[from] crate::grade::GradeError),
    #[error(transparent)]
    Write(#[from] FsError),
}

/// The solved kit: every file of a student's repository with every lab's work done, by path.
fn solved_kit() -> Result<BTreeMap<String, String>, ClassroomError> {
    let mut files: BTreeMap<String, String> = crate::generate::render(&LabConfig::default())?
        .into_iter()
        .map(|file| {
            (
                file.path.to_string_lossy().replace('\\', "/"),
                file.contents,
            )
        })
        .collect();
    let compose = files
        .get_mut("compose/compose.yaml")
        .ok_or(ClassroomError::StaleHole {
            lab: 0,
            file: "compose/compose.yaml".to_owned(),
        })?;
    *compose = published_image(compose);
    for (path, contents) in [
        ("forecaster.yaml", include_str!("../../forecaster.yaml")),
        (".gitignore", GITIGNORE),
        ("secrets/README.md", SECRETS_README),
        (EXPORT_CSV, &reference_export()),
        (VERIFY_TXT, VERIFY_REPORT),
    ] {
        files.insert(path.to_owned(), contents.to_owned());
    }
    Ok(files)
}

/// The compose file with promlab's services running the published image instead of building the
/// kit's source (which a student's repository does not hold).
fn published_image(compose: &str) -> String {
    compose
        .replace(
            &format!("image: {}\n", crate::generate::compose::PROMLAB_IMAGE),
            &format!("image: {IMAGE}\n"),
        )
        .lines()
        .filter(|line| line.trim() != "build: ..")
        .fold(String::new(), |mut text, line| {
            text.push_str(line);
            text.push('\n');
            text
        })
}

const GITIGNORE: &str =
    "# Secrets: your Discord webhook URL (and anything else put there), and any .env file.
/secrets/*
!/secrets/README.md
.env
.env.*
# Backups and restored data (lab 7) are large: only their report is committed.
/backups/
/restored*
";

const SECRETS_README: &str = "# Your secrets (never committed)

Everything in this folder but this README is ignored by git (see `.gitignore`). Write your Discord
webhook URL into `secrets/discord_webhook_url`; without it, alerts go to the local Discord stand-in
(http://127.0.0.1:8080). The compose stack's `secrets` service reads this folder at start-up.
";

const VERIFY_REPORT: &str =
    "the backup of 2026-01-12 in backups/ is intact: 4 chunks, 6 series, 2160 samples\n";

/// Lab 7's reference export: 30 minutes of `model_result` at 5 s, as `promlab export --format csv`
/// writes it (`timestamp,metric,labels,value`).
fn reference_export() -> String {
    let start: u32 = 1_768_212_000;
    let mut text = String::from("timestamp,metric,labels,value\n");
    for step in 0..360_u32 {
        let phase = f64::from(step) / 60.0 * std::f64::consts::TAU;
        let value = (0.5 + 0.3 * phase.sin()).clamp(0.0, 1.0);
        let _ = writeln!(
            text,
            "{},model_result,\"{{instance=\"\"model-mock:5000\"\",job=\"\"model_mock\"\"}}\",{value:.4}",
            start + step * 5
        );
    }
    text
}

/// The holes of labs `from` to 7, in lab order.
fn holes_from(from: u8) -> impl Iterator<Item = &'static Hole> {
    HOLES.iter().filter(move |hole| hole.lab >= from)
}

/// The repository at the start of lab `lab`: the solved kit with the holes of labs `lab` to 7.
pub fn starter_files(lab: u8) -> Result<BTreeMap<String, String>, ClassroomError> {
    if !(1..=LABS + 1).contains(&lab) {
        return Err(ClassroomError::UnknownLab { lab });
    }
    let mut files = solved_kit()?;
    for hole in holes_from(lab) {
        apply(hole, &mut files)?;
    }
    Ok(files)
}

fn apply(hole: &Hole, files: &mut BTreeMap<String, String>) -> Result<(), ClassroomError> {
    for edit in hole.edits {
        match *edit {
            Edit::Replace { file, from, to } => {
                let stale = || ClassroomError::StaleHole {
                    lab: hole.lab,
                    file: file.to_owned(),
                };
                let text = files.get_mut(file).ok_or_else(stale)?;
                if !text.contains(from) {
                    return Err(stale());
                }
                *text = text.replacen(from, to, 1);
                // A removed rule's lines are left out with it (the `removed:` marker and below).
                if let Some(at) = text.find("    removed:\n") {
                    text.truncate(at);
                }
            }
            Edit::Remove { file } => {
                files
                    .remove(file)
                    .ok_or_else(|| ClassroomError::StaleHole {
                        lab: hole.lab,
                        file: file.to_owned(),
                    })?;
            }
            Edit::Add { file, contents } => {
                files.insert(file.to_owned(), contents.to_owned());
            }
        }
    }
    Ok(())
}

/// The files `solve --lab N` writes (the lab's work, as lab N+1's starter has it) and the notes it
/// deletes.
pub fn solution(lab: u8) -> Result<(BTreeMap<String, String>, Vec<String>), ClassroomError> {
    let hole = HOLES
        .iter()
        .find(|hole| hole.lab == lab)
        .ok_or(ClassroomError::UnknownLab { lab })?;
    let next = starter_files(lab + 1)?;
    let mut write = BTreeMap::new();
    let mut delete = Vec::new();
    for edit in hole.edits {
        match *edit {
            Edit::Replace { file, .. } | Edit::Remove { file } => {
                if let Some(contents) = next.get(file) {
                    write.insert(file.to_owned(), contents.clone());
                }
            }
            Edit::Add { file, .. } => delete.push(file.to_owned()),
        }
    }
    Ok((write, delete))
}

/// `promlab classroom starter`: writes lab `lab`'s starter into `out`, which must be new or empty.
/// The repository is written into a temporary folder beside `out`, then renamed into place: `out` is
/// never left half-written.
pub fn write_starter(lab: u8, out: &Path) -> Result<usize, ClassroomError> {
    let files = starter_files(lab)?;
    write_tree(out, &files)?;
    Ok(files.len())
}

/// Writes `files` as a new folder `out` (absent or empty), all at once.
pub(crate) fn write_tree(
    out: &Path,
    files: &BTreeMap<String, String>,
) -> Result<(), ClassroomError> {
    if let Ok(mut entries) = std::fs::read_dir(out)
        && entries.next().is_some()
    {
        return Err(ClassroomError::NotEmpty {
            path: out.display().to_string(),
        });
    }
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|source| FsError::new(&parent, source))?;
    let staging = tempfile::Builder::new()
        .prefix(".promlab-classroom-")
        .tempdir_in(&parent)
        .map_err(|source| FsError::new(&parent, source))?;
    for (path, contents) in files {
        let target = staging.path().join(path);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder).map_err(|source| FsError::new(folder, source))?;
        }
        std::fs::write(&target, contents).map_err(|source| FsError::new(&target, source))?;
    }
    if out.exists() {
        // Empty (checked above): make way for the rename.
        std::fs::remove_dir(out).map_err(|source| FsError::new(out, source))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, out).map_err(|source| {
        let _ = std::fs::remove_dir_all(&staged);
        FsError::new(out, source)
    })?;
    Ok(())
}

/// What `solve` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solved {
    pub written: Vec<String>,
    pub deleted: Vec<String>,
}

/// `promlab classroom solve`: applies lab `lab`'s reference solution to the repository `dir`, each
/// file written atomically.
pub fn solve(lab: u8, dir: &Path) -> Result<Solved, ClassroomError> {
    if !dir.join("prometheus/prometheus.yml").is_file() {
        return Err(ClassroomError::NotARepository {
            path: dir.display().to_string(),
        });
    }
    let (write, delete) = solution(lab)?;
    for (path, contents) in &write {
        let target = dir.join(path);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder).map_err(|source| FsError::new(folder, source))?;
        }
        crate::fs::write_bytes_atomically(
            &target,
            contents.as_bytes(),
            crate::fs::WriteOptions::default(),
        )?;
    }
    let mut deleted = Vec::new();
    for path in delete {
        match std::fs::remove_file(dir.join(&path)) {
            Ok(()) => deleted.push(path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(FsError::new(dir.join(&path), source).into()),
        }
    }
    Ok(Solved {
        written: write.into_keys().collect(),
        deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hole_finds_its_text_and_every_starter_builds() {
        for lab in 1..=LABS + 1 {
            let files = starter_files(lab).unwrap();
            for hole in holes_from(lab) {
                let marked = hole.edits.iter().any(|edit| match edit {
                    Edit::Replace { file, .. } => {
                        files[*file].contains(&format!("TODO lab {}, step", hole.lab))
                    }
                    Edit::Add { file, .. } => files.contains_key(*file),
                    Edit::Remove { .. } => false,
                });
                assert!(
                    marked,
                    "lab {lab}'s starter does not mark lab {}'s hole",
                    hole.lab
                );
            }
        }
        assert!(matches!(
            starter_files(0),
            Err(ClassroomError::UnknownLab { lab: 0 })
        ));
    }

    #[test]
    fn the_solved_kit_is_the_committed_kit_but_for_the_image() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = starter_files(LABS + 1).unwrap();
        for (path, contents) in &files {
            let committed = std::fs::read_to_string(root.join(path));
            match path.as_str() {
                "compose/compose.yaml" => {
                    assert!(contents.contains(IMAGE) && !contents.contains("build: .."));
                    assert_eq!(*contents, published_image(&committed.unwrap()));
                }
                ".gitignore" | "secrets/README.md" | EXPORT_CSV | VERIFY_TXT => {}
                _ => assert_eq!(*contents, committed.unwrap(), "{path}"),
            }
        }
    }

    #[test]
    fn solving_a_lab_gives_the_next_labs_starter() {
        for lab in 1..=LABS {
            let (write, delete) = solution(lab).unwrap();
            let mut files = starter_files(lab).unwrap();
            files.extend(write);
            for path in delete {
                files.remove(&path);
            }
            assert_eq!(files, starter_files(lab + 1).unwrap(), "lab {lab}");
        }
    }

    #[test]
    fn a_starter_goes_only_into_an_empty_folder() {
        let scratch = tempfile::tempdir().unwrap();
        let out = scratch.path().join("repo");
        assert!(write_starter(4, &out).unwrap() > 10);
        assert!(out.join("prometheus/prometheus.yml").is_file());
        let error = write_starter(4, &out).unwrap_err();
        assert!(matches!(error, ClassroomError::NotEmpty { .. }), "{error}");
        let empty = scratch.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        write_starter(1, &empty).unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(scratch.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(".promlab"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
