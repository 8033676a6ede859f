//! `tunedeck report`: the retrospective.

use clap::Args;

#[derive(Args)]
pub struct ReportArgs {}

pub fn run(_args: ReportArgs) -> anyhow::Result<()> {
    anyhow::bail!("report is not built yet")
}
