//! `promlab generate`: one lab config in, the lab's Prometheus files out, deterministically. The
//! generated files are committed; `--check` fails naming every file that differs from what the config
//! produces.
//!
//! One submodule per folder it writes: `prometheus`, `alertmanager`, `grafana`, `compose`; and
//! `kubernetes`, the same lab as manifests for a cluster (`--target kubernetes`).

mod alertmanager;
pub mod compose;
mod config;
mod grafana;
pub mod kubernetes;
mod prometheus;

use std::path::{Path, PathBuf};

use crate::fs::{FsError, WriteOptions, write_bytes_atomically};

pub use config::{ConfigError, KubernetesConfig, LabConfig, PromDuration};
pub use kubernetes::roster::{RosterError, Student};

/// One file `generate` writes, relative to the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// Everything `promlab generate` needs, free of any CLI type.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    /// The lab config; `None` means every default.
    pub config: Option<PathBuf>,
    /// The folder that receives `prometheus/`.
    pub out: PathBuf,
    /// Compare instead of writing.
    pub check: bool,
    /// What the files are for.
    pub target: Target,
    /// `--target kubernetes` only: the classroom's roster (one namespace per student).
    pub students: Option<PathBuf>,
}

/// Where the lab runs: a compose stack (the default) or a Kubernetes cluster with the Prometheus
/// Operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    #[default]
    Compose,
    Kubernetes,
}

/// Why generating failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The lab config is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A template failed to render (a bug: every value is checked before).
    #[error("cannot render {path}: {source}")]
    Render { path: String, source: askama::Error },
    /// A file (or its folder) could not be written.
    #[error(transparent)]
    Write(#[from] FsError),
    /// The Kubernetes manifests cannot be made (a bug, or a rule the PromQL parser refuses).
    #[error("cannot generate the Kubernetes manifests: {problem}")]
    Kubernetes { problem: String },
    /// The classroom's roster is unreadable or invalid.
    #[error(transparent)]
    Roster(#[from] RosterError),
    /// `--students` without `--target kubernetes`.
    #[error("--students makes one namespace per student on a cluster: add --target kubernetes")]
    StudentsNeedKubernetes,
    /// `--check`: committed files differ from what the config produces.
    #[error(
        "generated files are out of date: {}; run `promlab generate` and commit the result",
        .paths.join(", ")
    )]
    Drift { paths: Vec<String> },
}

/// A rendered template as a file; templates lose their last newline, files end with one.
fn rendered(path: &str, result: askama::Result<String>) -> Result<GeneratedFile, GenerateError> {
    result
        .map(|mut contents| {
            if !contents.ends_with('\n') {
                contents.push('\n');
            }
            GeneratedFile {
                path: PathBuf::from(path),
                contents,
            }
        })
        .map_err(|source| GenerateError::Render {
            path: path.to_owned(),
            source,
        })
}

/// Renders every file of the lab, in a fixed order.
pub fn render(lab: &LabConfig) -> Result<Vec<GeneratedFile>, GenerateError> {
    let mut files = prometheus::files(lab)?;
    files.extend(alertmanager::files(lab)?);
    files.extend(compose::files(lab)?);
    files.extend(grafana::files(lab)?);
    Ok(files)
}

/// Writes each file atomically (see [`crate::fs`]): a reader never sees half a file, and an interrupted
/// run leaves the previous version in place.
pub fn write(out: &Path, files: &[GeneratedFile]) -> Result<(), GenerateError> {
    for file in files {
        let path = out.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| FsError::new(&path, source))?;
        }
        write_bytes_atomically(&path, file.contents.as_bytes(), WriteOptions::default())?;
    }
    Ok(())
}

/// The files under `out` that differ from `files` (missing ones included).
#[must_use]
pub fn drift(out: &Path, files: &[GeneratedFile]) -> Vec<String> {
    files
        .iter()
        .filter(|file| {
            std::fs::read_to_string(out.join(&file.path))
                .ok()
                .as_deref()
                != Some(file.contents.as_str())
        })
        .map(|file| out.join(&file.path).display().to_string())
        .collect()
}

/// Runs `promlab generate`.
pub fn run(config: &GenerateConfig) -> Result<(), GenerateError> {
    let lab = match &config.config {
        Some(path) => LabConfig::load(path)?,
        None => LabConfig::default(),
    };
    let files = match (config.target, &config.students) {
        (Target::Compose, None) => render(&lab)?,
        (Target::Compose, Some(_)) => return Err(GenerateError::StudentsNeedKubernetes),
        (Target::Kubernetes, None) => kubernetes::files(&lab)?,
        (Target::Kubernetes, Some(roster)) => {
            kubernetes::classroom_files(&lab, &kubernetes::roster::load(roster)?)?
        }
    };
    if config.check {
        let paths = drift(&config.out, &files);
        if !paths.is_empty() {
            return Err(GenerateError::Drift { paths });
        }
        tracing::info!(files = files.len(), "generated files are up to date");
    } else {
        write(&config.out, &files)?;
        for file in &files {
            tracing::info!(path = %config.out.join(&file.path).display(), "written");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_is_deterministic_and_follows_the_config() {
        let lab = LabConfig::parse("model:\n  threshold: 0.8\n  for: 1m\n", "lab.yaml").unwrap();
        let first = render(&lab).unwrap();
        assert_eq!(first, render(&lab).unwrap());
        let rules = &first[1].contents;
        assert!(rules.contains("expr: model_result > 0.8\n"), "{rules}");
        assert!(rules.contains("for: 1m\n"), "{rules}");
        assert!(
            rules.contains("{{ $labels.instance }}"),
            "Prometheus templates survive: {rules}"
        );
    }

    #[test]
    fn a_roster_without_the_kubernetes_target_is_refused_naming_the_flag() {
        let config = GenerateConfig {
            config: None,
            out: std::env::temp_dir().join(format!("promlab-roster-{}", std::process::id())),
            check: true,
            target: Target::Compose,
            students: Some(PathBuf::from("roster.csv")),
        };
        let error = run(&config).unwrap_err().to_string();
        assert!(error.contains("add --target kubernetes"), "{error}");
        assert!(!config.out.exists(), "nothing written");
    }

    #[test]
    fn check_names_every_file_that_drifted_and_write_fixes_them() {
        let out = std::env::temp_dir().join(format!("promlab-generate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let files = render(&LabConfig::default()).unwrap();
        assert_eq!(drift(&out, &files).len(), files.len());
        write(&out, &files).unwrap();
        assert!(drift(&out, &files).is_empty());
        std::fs::write(out.join("prometheus/rules/model.yml"), "edited").unwrap();
        assert_eq!(
            drift(&out, &files),
            vec![out.join("prometheus/rules/model.yml").display().to_string()]
        );
        std::fs::remove_dir_all(&out).unwrap();
    }
}
