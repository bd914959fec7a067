//! `promlab classroom`: starter repositories, reference solutions and GitHub Classroom templates.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::classroom::ClassroomConfig;
use crate::classroom::template::{ActionRefs, parse_labs};

#[derive(Debug, Args)]
pub struct ClassroomArgs {
    #[command(subcommand)]
    pub action: ClassroomAction,
}

#[derive(Debug, Subcommand)]
pub enum ClassroomAction {
    /// Write a student repository in which the lab's work (and every later lab's) is left to do, each place marked `TODO lab N, step S`.
    Starter(StarterArgs),
    /// Apply the lab's reference solution to a student repository (the lab's files as the next lab's starter has them).
    Solve(SolveArgs),
    /// Write a GitHub Classroom template repository: the starter, the guides, a README and an autograding workflow.
    Template(TemplateArgs),
}

#[derive(Debug, Args)]
pub struct StarterArgs {
    /// The lab, 1 to 7: the starter holds the solutions of the labs before it.
    #[arg(long, env = "PROMLAB_LAB", value_parser = clap::value_parser!(u8).range(1..=7))]
    pub lab: u8,

    /// The new repository's folder (absent or empty: nothing is overwritten).
    #[arg(long, env = "PROMLAB_CLASSROOM_OUT")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SolveArgs {
    /// The lab, 1 to 7.
    #[arg(long, env = "PROMLAB_LAB", value_parser = clap::value_parser!(u8).range(1..=7))]
    pub lab: u8,

    /// The student repository to solve [default: .].
    #[arg(long, env = "PROMLAB_DIR", default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The labs of the assignment, FIRST-LAST or one lab (1-7, 4).
    #[arg(long, env = "PROMLAB_CLASSROOM_LABS", default_value = "1-7", value_parser = parse_labs)]
    pub labs: std::ops::RangeInclusive<u8>,

    /// The template repository's folder (absent or empty).
    #[arg(long, env = "PROMLAB_CLASSROOM_OUT")]
    pub out: PathBuf,

    /// Pin classroom-resources/autograding-command-grader to this commit (40 hex digits) instead of its tag v1.
    #[arg(long, env = "PROMLAB_CLASSROOM_PIN_COMMAND_GRADER", value_name = "SHA", value_parser = commit)]
    pub pin_command_grader: Option<String>,

    /// Pin classroom-resources/autograding-grading-reporter to this commit (40 hex digits) instead of its tag v1.
    #[arg(long, env = "PROMLAB_CLASSROOM_PIN_GRADING_REPORTER", value_name = "SHA", value_parser = commit)]
    pub pin_grading_reporter: Option<String>,
}

/// A full commit SHA.
fn commit(text: &str) -> Result<String, String> {
    if text.len() == 40 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "{text:?} is not a commit: give the action's full 40-digit commit SHA (git ls-remote https://github.com/classroom-resources/ACTION refs/tags/v1)"
        ))
    }
}

impl From<ClassroomArgs> for ClassroomConfig {
    fn from(args: ClassroomArgs) -> Self {
        match args.action {
            ClassroomAction::Starter(args) => Self::Starter {
                lab: args.lab,
                out: args.out,
            },
            ClassroomAction::Solve(args) => Self::Solve {
                lab: args.lab,
                dir: args.dir,
            },
            ClassroomAction::Template(args) => Self::Template {
                labs: args.labs,
                out: args.out,
                refs: ActionRefs {
                    command_grader: args.pin_command_grader,
                    grading_reporter: args.pin_grading_reporter,
                },
            },
        }
    }
}
