//! Writing a run's retrospective: gathers what [`super::report::render`] needs from the
//! run's folder and the experiment (loss log, records check, split, preset, `eval.json`),
//! draws `loss.png` and writes `report.md` beside it. `tunedeck report` and the cockpit's
//! Eval pane both call [`write_run_report`], so the two can never write different reports.

use std::path::PathBuf;

use anyhow::Result;

use super::advice::{next_steps, NextStep};
use super::curve::ema;
use super::locate::RunContext;
use super::loss_log::LossLog;
use super::plot::{render_png, Chart, Series};
use super::report::{render, CurveVerdict, ReportInputs};
use super::EvalReport;
use crate::data::run_dir::PLOT;
use crate::data::{check_path, ApproxCounter, SplitDir};
use crate::experiment::{data_dir, Date, Language};
use crate::preset::Preset;

/// Plot size in pixels: readable on a laptop screen and in a Markdown preview.
const PLOT_SIZE: (u32, u32) = (800, 480);

/// What [`write_run_report`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportWritten {
    /// `runs/<id>/report.md`.
    pub report: PathBuf,
    /// `runs/<id>/loss.png`.
    pub plot: PathBuf,
    /// The report's recommended next step (the most urgent of its list).
    pub next: NextStep,
}

/// Writes `loss.png` and `report.md` into the run's folder (atomically, each replacing an
/// earlier one). Fails, writing neither, when the run has no readable `trainer_log.jsonl` or
/// its `eval.json` does not read; a records file that no longer reads is reported inside.
pub fn write_run_report(ctx: &RunContext) -> Result<ReportWritten> {
    let loss = LossLog::read(&ctx.run.log())?;
    let train: Vec<f64> = loss.train.iter().map(|p| p.1).collect();
    let health = loss.health();
    // The report is written in English whatever the cockpit's language.
    let curve = CurveVerdict {
        title: health.title(Language::En).into(),
        advice: health.advice(Language::En).into(),
        healthy: health.healthy(),
    };

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
    let eval_path = ctx.run.eval();
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
        plot: Some(PLOT),
    });
    let png = loss_png(&ctx.run_id, &loss, &train, &curve.title)?;
    // Everything is read before anything is written: a failure leaves no half report.
    let plot = ctx.run.file(PLOT);
    crate::atomic::write(&plot, &png)?;
    let report = ctx.run.report();
    crate::atomic::write(&report, md.as_bytes())?;
    // `next_steps` is never empty; `Evaluate` is its answer when nothing else applies.
    let next = next_steps(eval.as_ref(), curve.healthy)
        .first()
        .copied()
        .unwrap_or(NextStep::Evaluate);
    Ok(ReportWritten { report, plot, next })
}

/// `loss.png`: the raw training loss (`train`, its values), its smoothed trend and the
/// validation loss, titled with the curve's verdict.
fn loss_png(run_id: &str, loss: &LossLog, train: &[f64], verdict: &str) -> Result<Vec<u8>> {
    let smooth: Vec<(f64, f64)> = loss
        .train
        .iter()
        .zip(ema(train))
        .map(|(p, s)| (p.0, s))
        .collect();
    let title = format!("{run_id}: loss ({verdict})");
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
    let (w, h) = PLOT_SIZE;
    render_png(&chart, w, h)
}
