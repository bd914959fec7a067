//! `promlab generate`: the lab config and where the files go.
#![allow(clippy::doc_markdown)]

use clap::{Args, ValueEnum};

use std::path::PathBuf;

use crate::generate::{GenerateConfig, Target};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The lab config (every key optional; see promlab.example.yaml). Without it, the lab's defaults.
    #[arg(long, env = "PROMLAB_CONFIG")]
    pub config: Option<PathBuf>,

    /// Folder that receives prometheus/ (compose), or the manifests (kubernetes: deploy/kubernetes).
    #[arg(long, env = "PROMLAB_OUT", default_value = ".")]
    pub out: PathBuf,

    /// Write nothing; exit non-zero naming every file that differs from what the config produces.
    #[arg(long, env = "PROMLAB_GENERATE_CHECK")]
    pub check: bool,

    /// What the files are for: the compose stack, or manifests for a Kubernetes cluster with the
    /// Prometheus Operator (kube-prometheus-stack).
    #[arg(long, env = "PROMLAB_TARGET", value_enum, default_value_t = TargetArg::Compose)]
    pub target: TargetArg,

    /// With --target kubernetes: a CSV roster (header `student,namespace`) for a classroom, one
    /// namespace per student, each with its mock, network policies and rules.
    #[arg(long, env = "PROMLAB_STUDENTS", value_name = "ROSTER.csv")]
    pub students: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TargetArg {
    Compose,
    Kubernetes,
}

impl From<GenerateArgs> for GenerateConfig {
    fn from(args: GenerateArgs) -> Self {
        Self {
            config: args.config,
            out: args.out,
            check: args.check,
            target: match args.target {
                TargetArg::Compose => Target::Compose,
                TargetArg::Kubernetes => Target::Kubernetes,
            },
            students: args.students,
        }
    }
}
