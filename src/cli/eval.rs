//! `tunedeck eval`: the three-part blind test.

use clap::Args;

#[derive(Args)]
pub struct EvalArgs {}

pub fn run(_args: EvalArgs) -> anyhow::Result<()> {
    anyhow::bail!("eval is not built yet")
}
