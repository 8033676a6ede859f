//! The cockpit's side of the jobs thread (tests, chat, reports, exports, the dataset's check
//! and split): numbering jobs, queueing their commands for the event loop, and routing their
//! events to the pane that waits for them.
//! One job at a time: the thread would only queue a second one behind the first. The dataset's
//! check and split go to a jobs thread of their own (see [`JobCommand::is_dataset`]), one at a
//! time too.

use super::App;
use crate::tui::loss::Mood;
use crate::worker::jobs::{Cancel, JobCommand, JobEvent, JobId};

/// Job numbers and the commands waiting for the event loop.
#[derive(Debug, Default)]
pub struct JobQueue {
    last: JobId,
    outbox: Vec<JobCommand>,
}

impl JobQueue {
    /// A new job's number and cancel flag.
    pub(super) fn next(&mut self) -> (JobId, Cancel) {
        self.last += 1;
        (self.last, Cancel::default())
    }

    pub(super) fn send(&mut self, cmd: JobCommand) {
        self.outbox.push(cmd);
    }
}

impl App {
    /// Commands for the jobs thread, taken by the event loop.
    pub fn take_jobs(&mut self) -> Vec<JobCommand> {
        std::mem::take(&mut self.jobs.outbox)
    }

    /// Takes one event from the jobs thread; events of jobs nobody waits for any more are
    /// dropped. Returns whether the event was used.
    pub fn on_job(&mut self, event: JobEvent) -> bool {
        let job = event.job();
        if self.eval.active.as_ref().is_some_and(|a| a.job == job) {
            self.on_eval_event(event);
        } else if self.chat.active.as_ref().is_some_and(|a| a.job == job) {
            self.on_chat_event(event);
        } else if self.eval.report_job == Some(job) {
            self.on_report_event(event);
        } else if self.eval.export_job.as_ref().is_some_and(|e| e.job == job) {
            self.on_export_event(event);
        } else if self.data.job.is_some_and(|d| d.job == job) {
            self.on_dataset_event(event);
        } else {
            return false;
        }
        true
    }

    /// Why a new job cannot start now, if one is running.
    pub(super) fn busy(&self) -> Option<&'static str> {
        let lang = self.lang();
        if self.eval.active.is_some() {
            Some(lang.pick(
                "The three-part test is running (Eval pane, x cancels it).",
                "三维盲测正在运行（评估窗格，按 x 取消）。",
            ))
        } else if self.chat.active.is_some() {
            Some(lang.pick(
                "The chat is answering (Chat pane, Esc stops it).",
                "对话正在回答（对话窗格，按 Esc 停止）。",
            ))
        } else if self.eval.report_job.is_some() {
            Some(lang.pick(
                "A report is being written; a moment.",
                "正在写出报告，请稍候。",
            ))
        } else if self.eval.export_job.is_some() {
            Some(lang.pick(
                "A run is being exported; a moment.",
                "正在导出训练结果，请稍候。",
            ))
        } else {
            None
        }
    }

    /// Raises the cancel flag of every running job (the cockpit is closing).
    pub fn cancel_jobs(&mut self) {
        let flags = [
            self.eval.active.as_ref().map(|a| &a.cancel),
            self.chat.active.as_ref().map(|a| &a.cancel),
        ];
        for flag in flags.into_iter().flatten() {
            flag.raise();
        }
    }

    /// The jobs thread has ended (a command could not be sent): running jobs cannot finish.
    pub fn jobs_gone(&mut self) {
        let ids: Vec<JobId> = [
            self.eval.active.as_ref().map(|a| a.job),
            self.chat.active.as_ref().map(|a| a.job),
            self.eval.report_job,
            self.eval.export_job.as_ref().map(|e| e.job),
            self.data.job.map(|d| d.job),
        ]
        .into_iter()
        .flatten()
        .collect();
        let error = self
            .lang()
            .pick(
                "The background thread for tests and chat has stopped; restart the cockpit.",
                "测试与对话的后台线程已退出；请重启驾驶舱。",
            )
            .to_string();
        for job in ids {
            self.on_job(JobEvent::Failed {
                job,
                error: error.clone(),
            });
        }
        if self.notice.is_none() {
            self.tell(&error, Mood::Bad);
        }
    }
}
