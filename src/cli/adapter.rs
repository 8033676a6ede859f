//! `tunedeck adapter merge|report`.

use crate::lora;
use crate::model::Model;
use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AdapterCommand {
    /// Fold a LoRA adapter into its base model and write a standalone model directory.
    Merge {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        adapter: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Show, per layer and projection, how much the adapter changes the weights
    /// (‖B·A·scale‖), to answer "my LoRA has no effect".
    Report {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        adapter: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: AdapterCommand) -> Result<()> {
    match cmd {
        AdapterCommand::Merge {
            model,
            adapter,
            out,
        } => {
            let mut m = Model::load(&model, tch::Device::Cpu, "auto", false)?;
            lora::attach_saved(&mut m, &adapter)?;
            lora::merge_into(&mut m);
            m.save(&out)?;
            println!(
                "merged {} into {} -> {}",
                adapter.display(),
                model.display(),
                out.display()
            );
            Ok(())
        }
        AdapterCommand::Report {
            model,
            adapter,
            json,
        } => {
            let mut m = Model::load(&model, tch::Device::Cpu, "auto", false)?;
            let a = lora::attach_saved(&mut m, &adapter)?;
            let rows = lora::delta_norms(&mut m);
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            println!(
                "{:<40} {:>12} {:>12}",
                "projection", "|B·A·scale|", "relative"
            );
            for r in &rows {
                println!(
                    "{:<40} {:>12.4e} {:>11.4}%",
                    r.module,
                    r.delta,
                    100.0 * r.relative
                );
            }
            let mean = rows.iter().map(|r| r.relative).sum::<f64>() / rows.len().max(1) as f64;
            println!(
                "{} projections, rank {}, scale {:.3}; mean relative change {:.4}%",
                rows.len(),
                a.config.r,
                a.config.scale(),
                100.0 * mean
            );
            if rows.iter().all(|r| r.delta == 0.0) {
                println!("warning: every update is zero (B = 0): this adapter was never trained and has no effect");
            } else if mean < 1e-4 {
                println!("warning: the adapter barely moves the weights: train longer, raise the learning rate or lora_alpha");
            }
            Ok(())
        }
    }
}
