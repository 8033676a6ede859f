//! Exporting the selected run from the Eval pane, on the jobs thread, as `tunedeck export RUN
//! --to RUN/export` does: the merged model as F16 GGUF, a Modelfile and a README. A run that
//! has not graduated is exported only when asked twice, after the pane says which part failed.

use super::App;
use crate::eval::locate::RunContext;
use crate::experiment::Language;
use crate::export::{ExportOptions, Quant, Verdict};
use crate::tui::loss::Mood;
use crate::worker::jobs::{JobCommand, JobEvent, JobId};

/// The export folder inside a run.
pub const EXPORT_DIR: &str = "export";

/// An export running on the jobs thread.
#[derive(Debug, Clone)]
pub struct ActiveExport {
    /// Its job.
    pub job: JobId,
    /// The run being exported.
    pub run: String,
}

impl App {
    /// e in the Eval pane.
    pub(super) fn start_export(&mut self) {
        let lang = self.lang();
        if let Some(busy) = self.busy() {
            return self.tell(busy, Mood::Neutral);
        }
        let Some(run) = self.eval.selected_run().map(str::to_string) else {
            let msg = lang.pick(
                "No finished run to export: train one in the Loss pane (4) first.",
                "没有可导出的训练结果：请先在损失窗格（4）完成一次训练。",
            );
            return self.tell(msg, Mood::Neutral);
        };
        let ctx = match RunContext::open(&self.dir, Some(&run)) {
            Ok(ctx) => ctx,
            Err(e) => return self.tell(&format!("{e:#}"), Mood::Bad),
        };
        if let Err(e) = ctx.tuned().check() {
            return self.tell(&format!("{e:#}"), Mood::Bad);
        }
        let verdict = Verdict::of_run(ctx.run.path());
        if verdict != Verdict::Graduated && self.eval.confirm_export.as_deref() != Some(&run) {
            self.eval.confirm_export = Some(run.clone());
            let msg = match (lang, &verdict) {
                (Language::En, Verdict::Failed(_)) => format!(
                    "{run} has not graduated ({}). Press e again to export it anyway.",
                    verdict.line()
                ),
                (Language::En, _) => format!(
                    "{run} has not taken the three-part test (s runs it). Press e again to export it anyway."
                ),
                (Language::Zh, Verdict::Failed(parts)) => {
                    let names: Vec<&str> = parts.iter().map(|p| p.label(lang)).collect();
                    format!("{run} 未毕业（{}未通过）。再按 e 仍然导出。", names.join("、"))
                }
                (Language::Zh, _) => {
                    format!("{run} 还没有参加三维盲测（按 s 运行）。再按 e 仍然导出。")
                }
            };
            return self.tell(&msg, Mood::Warn);
        }
        self.eval.confirm_export = None;
        let to = ctx.run.file(EXPORT_DIR);
        let options = Box::new(ExportOptions {
            source: ctx.run.path().to_path_buf(),
            to: to.clone(),
            model: None,
            quant: Quant::F16,
            lora_only: false,
            // The folder belongs to the run: a new export replaces the last one.
            force: true,
        });
        let (job, _) = self.jobs.next();
        self.jobs.send(JobCommand::Export { job, options });
        self.eval.export_job = Some(ActiveExport {
            job,
            run: run.clone(),
        });
        let shown = to
            .strip_prefix(&self.dir)
            .unwrap_or(&to)
            .display()
            .to_string();
        let msg = match lang {
            Language::En => format!("Exporting {run} to {shown} (GGUF F16)…"),
            Language::Zh => format!("正在导出 {run} 到 {shown}（GGUF F16）…"),
        };
        self.tell(&msg, Mood::Neutral);
    }

    /// One event of the running export.
    pub(super) fn on_export_event(&mut self, event: JobEvent) {
        let lang = self.lang();
        let Some(active) = &self.eval.export_job else {
            return;
        };
        let run = active.run.clone();
        match event {
            JobEvent::Exporting { done, total, .. } => {
                let msg = match lang {
                    Language::En => format!("Exporting {run}: {done}/{total} tensors…"),
                    Language::Zh => format!("正在导出 {run}：{done}/{total} 个张量…"),
                };
                self.tell(&msg, Mood::Neutral);
            }
            JobEvent::Exported {
                dir, model_file, ..
            } => {
                self.eval.export_job = None;
                let shown = dir
                    .strip_prefix(&self.dir)
                    .unwrap_or(&dir)
                    .display()
                    .to_string();
                let msg = match lang {
                    Language::En => format!(
                        "Exported {run}: {shown}/{model_file}, Modelfile, README.md · ollama create {run} -f {shown}/Modelfile"
                    ),
                    Language::Zh => format!(
                        "已导出 {run}：{shown}/{model_file}、Modelfile、README.md · ollama create {run} -f {shown}/Modelfile"
                    ),
                };
                self.tell(&msg, Mood::Good);
            }
            JobEvent::Failed { error, .. } => {
                self.eval.export_job = None;
                self.tell(&error, Mood::Bad);
            }
            // An export sends nothing else.
            _ => {}
        }
    }
}
