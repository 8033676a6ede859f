//! `tunedeck init DIR [--demo]`.

use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct InitArgs {
    pub dir: PathBuf,
    /// Fill in the bundled demo: goal, security-review dataset and the CPU preset.
    #[arg(long)]
    pub demo: bool,
}

pub fn run(_args: InitArgs) -> anyhow::Result<()> {
    anyhow::bail!("init is not built yet")
}
