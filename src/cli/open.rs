//! `tunedeck [open] [DIR]`: the cockpit.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Default)]
pub struct OpenArgs {
    /// The experiment directory (default: the bundled demo, created on first run).
    pub dir: Option<PathBuf>,
}

pub fn run(_args: OpenArgs) -> anyhow::Result<()> {
    anyhow::bail!("the cockpit is not built yet")
}
