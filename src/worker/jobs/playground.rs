//! The chat playground's model: loaded on the first question and kept for the next ones,
//! with the selected run's adapter held beside it, unplugged. Plugging the skill card in for
//! an answer costs nothing; a different run's adapter is read once when first asked for.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

use super::{ChatRequest, JobEvent, JobId};
use crate::eval::Side;
use crate::lora::{attach_saved, plug, unplug, Unplugged};
use crate::model::chat::reply;
use crate::model::generate::StopReason;
use crate::model::{device, Model};
use crate::worker::Sink;

/// Which model is loaded: its folder, template and device.
type ModelKey = (PathBuf, String, String);

/// An adapter as read: its folder and the time its weights were written, so a retrained
/// run's adapter is read again.
type CardKey = (PathBuf, Option<SystemTime>);

/// The kept model and adapter.
#[derive(Default)]
pub(super) struct Playground {
    loaded: Option<Loaded>,
}

struct Loaded {
    key: ModelKey,
    model: Model,
    /// The adapter read, if any.
    card: Option<CardKey>,
    /// Its branches while unplugged; `None` while they sit in the model.
    branches: Option<Unplugged>,
}

impl Playground {
    /// Frees the model (an evaluation is about to load its own).
    pub(super) fn let_go(&mut self) {
        self.loaded = None;
    }

    /// Answers `req` turn by turn, streaming [`JobEvent::Token`]s and a
    /// [`JobEvent::Replied`] per turn. Returns false when cancelled (or the front end left).
    pub(super) fn answer(
        &mut self,
        job: JobId,
        req: &ChatRequest,
        cancel: &AtomicBool,
        sink: &Sink<JobEvent>,
    ) -> Result<bool> {
        // Retrieval first: a missing or empty knowledge base fails before a model loads.
        let sources = req.sources()?;
        let turn_text = req.turn(&sources);
        if req.knowledge_base.is_some() {
            sink(JobEvent::Sources { job, hits: sources });
        }
        let loaded = self.model_for(job, req, sink)?;
        if req.turns.iter().any(|t| t.side == Side::Adapter) {
            let Some(dir) = &req.adapter else {
                bail!("no adapter to plug in: finish a training run first");
            };
            loaded.card_for(job, dir, sink)?;
        }
        for turn in &req.turns {
            if cancel.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let plugged = turn.side == Side::Adapter;
            if plugged {
                loaded.plug();
            }
            let result = reply(
                &loaded.model,
                None,
                &turn.history,
                &turn_text,
                &req.sampling,
                &mut |piece| {
                    if cancel.load(Ordering::Relaxed) {
                        return false;
                    }
                    let sent = sink(JobEvent::Token {
                        job,
                        side: turn.side,
                        text: piece.to_string(),
                    });
                    if !sent {
                        cancel.store(true, Ordering::Relaxed);
                    }
                    sent
                },
            );
            // Back to the base model whatever happened, so the next answer starts from it.
            if plugged {
                loaded.unplug();
            }
            let r = result?;
            if r.stop == StopReason::Cancelled {
                return Ok(false);
            }
            sink(JobEvent::Replied {
                job,
                side: turn.side,
                tokens: r.tokens,
                stop: r.stop,
            });
        }
        Ok(true)
    }

    /// The model `req` asks for, loading it when it is not the one kept.
    fn model_for(
        &mut self,
        job: JobId,
        req: &ChatRequest,
        sink: &Sink<JobEvent>,
    ) -> Result<&mut Loaded> {
        let key = (req.model.clone(), req.template.clone(), req.device.clone());
        if self.loaded.as_ref().map(|l| &l.key) != Some(&key) {
            // Free the old model before loading the new one.
            self.loaded = None;
            sink(JobEvent::Loading {
                job,
                path: req.model.clone(),
            });
            let dev = device::pick(&req.device)?;
            let model = Model::load(&req.model, dev, &req.template, false)
                .with_context(|| format!("loading model {}", req.model.display()))?;
            self.loaded = Some(Loaded {
                key,
                model,
                card: None,
                branches: None,
            });
        }
        Ok(self.loaded.as_mut().expect("loaded just above"))
    }
}

impl Loaded {
    /// Reads the adapter in `dir` unless it is the one held.
    fn card_for(&mut self, job: JobId, dir: &Path, sink: &Sink<JobEvent>) -> Result<()> {
        let written = std::fs::metadata(dir.join("adapter_model.safetensors"))
            .and_then(|m| m.modified())
            .ok();
        let key = (dir.to_path_buf(), written);
        if self.card.as_ref() == Some(&key) {
            return Ok(());
        }
        (self.card, self.branches) = (None, None);
        sink(JobEvent::Loading {
            job,
            path: dir.to_path_buf(),
        });
        let attached = attach_saved(&mut self.model, dir);
        // Taken out straight away: on success that is the card to keep; on failure it
        // removes whatever a half-read adapter left in the model.
        let branches = unplug(&mut self.model);
        attached?;
        (self.card, self.branches) = (Some(key), Some(branches));
        Ok(())
    }

    /// Puts the held adapter into the model.
    fn plug(&mut self) {
        if let Some(b) = self.branches.take() {
            plug(&mut self.model, b);
        }
    }

    /// Takes the adapter back out.
    fn unplug(&mut self) {
        if self.card.is_some() && self.branches.is_none() {
            self.branches = Some(unplug(&mut self.model));
        }
    }
}
