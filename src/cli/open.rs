//! `tunedeck [open] [DIR]`: the cockpit.

use clap::Args;
use std::path::PathBuf;

use crate::experiment::FILE_NAME;

#[derive(Args, Default)]
pub struct OpenArgs {
    /// The experiment directory (default: the bundled demo, created on first run).
    pub dir: Option<PathBuf>,
}

/// Opens the cockpit; with no folder, on the demo experiment (created the first time).
pub fn run(args: OpenArgs) -> anyhow::Result<()> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => {
            let demo = crate::paths::demo_experiment();
            if !demo.join(FILE_NAME).exists() {
                super::init::create(&demo, true)?;
                eprintln!("created the demo experiment in {}", demo.display());
            }
            demo
        }
    };
    crate::tui::run(&dir, |sink| Box::new(crate::worker::spawn(sink)))
}
