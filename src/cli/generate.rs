//! `promlab generate`: the lab config and where the files go.
#![allow(clippy::doc_markdown)]

use clap::Args;

use std::path::PathBuf;

use crate::generate::GenerateConfig;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The lab config (every key optional; see promlab.example.yaml). Without it, the lab's defaults.
    #[arg(long, env = "PROMLAB_CONFIG")]
    pub config: Option<PathBuf>,

    /// Folder that receives prometheus/.
    #[arg(long, env = "PROMLAB_OUT", default_value = ".")]
    pub out: PathBuf,

    /// Write nothing; exit non-zero naming every file that differs from what the config produces.
    #[arg(long, env = "PROMLAB_GENERATE_CHECK")]
    pub check: bool,
}

impl From<GenerateArgs> for GenerateConfig {
    fn from(args: GenerateArgs) -> Self {
        Self {
            config: args.config,
            out: args.out,
            check: args.check,
        }
    }
}
