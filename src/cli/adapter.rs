//! `tunedeck adapter merge|report`.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum AdapterCommand {}

pub fn run(cmd: AdapterCommand) -> anyhow::Result<()> {
    match cmd {}
}
