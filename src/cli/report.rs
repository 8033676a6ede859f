//! `tunedeck report`: the retrospective of a run — `report.md` and `loss.png` in its folder.

use crate::data::{check_path, ApproxCounter, SplitDir};
use crate::eval::locate::RunContext;
use crate::eval::loss_log::LossLog;
use crate::eval::plot::{render_png, Chart, Series};
use crate::eval::report::{render, CurveVerdict, ReportInputs, FILE_NAME, PLOT_NAME};
use crate::eval::EvalReport;
use crate::experiment::{data_dir, Date, Language};
use crate::preset::Preset;
use crate::tui::loss::{ema, verdict, Mood};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct ReportArgs {
    /// The experiment folder.
    experiment: PathBuf,
    /// The run under EXPERIMENT/runs/ (default: the most recently trained).
    #[arg(long)]
    run: Option<String>,
}

/// Plot size in pixels: readable on a laptop screen and in a Markdown preview.
const PLOT_SIZE: (u32, u32) = (800, 480);

pub fn run(args: ReportArgs) -> Result<()> {
    let ctx = RunContext::open(&args.experiment, args.run.as_deref())?;
    let loss = LossLog::read(&ctx.file("trainer_log.jsonl"))?;
    let values = |pts: &[(f64, f64)]| pts.iter().map(|p| p.1).collect::<Vec<f64>>();
    let (train, val) = (values(&loss.train), values(&loss.val));
    let health = verdict(&train, &val);
    // The report is written in English whatever the cockpit's language.
    let curve = CurveVerdict {
        title: health.title(Language::En).into(),
        advice: health.advice(Language::En).into(),
        healthy: matches!(health.mood(), Mood::Good | Mood::Neutral),
    };

    let smooth: Vec<(f64, f64)> = loss
        .train
        .iter()
        .zip(ema(&train))
        .map(|(p, s)| (p.0, s))
        .collect();
    let title = format!("{}: loss ({})", ctx.run_id, curve.title);
    let chart = Chart {
        title: &title,
        x_label: "step",
        y_label: "loss",
        series: vec![
            Series {
                label: "training loss",
                points: &loss.train,
                color: [170, 196, 230],
                width: 1,
                markers: false,
            },
            Series {
                label: "smoothed",
                points: &smooth,
                color: [31, 100, 190],
                width: 3,
                markers: false,
            },
            Series {
                label: "validation loss",
                points: &loss.val,
                color: [230, 120, 20],
                width: 2,
                markers: true,
            },
        ],
    };
    let plot = ctx.file(PLOT_NAME);
    let (w, h) = PLOT_SIZE;
    crate::atomic::write(&plot, &render_png(&chart, w, h)?)?;

    let preset = &ctx.preset;
    let cutoff = preset.cutoff_len as usize;
    // A records file that no longer reads is reported as such, not fatal: the run happened.
    let dataset = check_path(
        &ctx.experiment.dataset_path(&ctx.dir),
        &ApproxCounter,
        cutoff,
    )
    .ok();
    let split = SplitDir::open(&data_dir(&ctx.dir)).ok();
    let unsealings =
        std::fs::read_to_string(data_dir(&ctx.dir).join(crate::data::split_dir::UNSEALED_LOG))
            .map_or(0, |t| t.lines().filter(|l| !l.trim().is_empty()).count());
    let diff = preset.diff(&Preset::builtin("starter")?);
    let eval_path = ctx.file(crate::eval::results::FILE_NAME);
    let eval = match eval_path.is_file() {
        true => Some(EvalReport::load(&eval_path)?),
        false => None,
    };
    let date = Date::today_utc().to_string();
    let md = render(&ReportInputs {
        run_id: &ctx.run_id,
        date: &date,
        goal: &ctx.experiment.goal,
        dataset: dataset.as_ref(),
        split: split.as_ref().map(|s| s.manifest()),
        unsealings,
        preset,
        preset_origin: &ctx.preset_origin,
        starter_diff: &diff,
        loss: &loss,
        curve: &curve,
        eval: eval.as_ref(),
        plot: Some(PLOT_NAME),
    });
    let out = ctx.file(FILE_NAME);
    crate::atomic::write(&out, md.as_bytes())?;
    let next = crate::eval::advice::next_steps(eval.as_ref(), curve.healthy);
    println!("wrote {} and {}", out.display(), plot.display());
    if let Some(step) = next.first() {
        println!("next step: {} — {}", step.title(), step.advice());
    }
    Ok(())
}
