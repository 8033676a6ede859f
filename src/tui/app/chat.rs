//! Chat pane state: the conversation, the skill card (the selected run's adapter, plugged in
//! or not), compare mode, retrieval (the RAG card: the experiment's knowledge base), and the
//! answer streaming in from the jobs thread. With retrieval on, the best chunks go before the
//! message in the card's prompt format and the exchange keeps them as its numbered sources.
//!
//! Each model keeps its own thread of the conversation: the base model sees its own earlier
//! answers, the adapter its own, so compare mode shows two honest conversations.

use std::path::PathBuf;

use super::input::PromptKind;
use super::App;
use crate::eval::locate::RunContext;
use crate::eval::Side;
use crate::experiment::Language;
use crate::model::chat::Sampling;
use crate::model::generate::StopReason;
use crate::preset::Choice as _;
use crate::rag::{Hit, KnowledgeBase};
use crate::tui::action::Action;
use crate::tui::loss::Mood;
use crate::worker::jobs::{Cancel, ChatRequest, ChatTurn, JobCommand, JobEvent, JobId};

/// Token limit of a chat answer, as `tunedeck chat`'s default.
pub const CHAT_MAX_NEW_TOKENS: usize = 256;

/// Where one answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyState {
    /// Waiting for its turn (or for the model to load).
    Waiting,
    /// Tokens are arriving.
    Streaming,
    /// The model closed its turn.
    Done,
    /// Cut at the token limit.
    HitLimit,
    /// Stopped with Esc.
    Stopped,
    /// Generation failed.
    Failed,
}

/// One model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatReply {
    /// Who answers.
    pub side: Side,
    /// The run whose adapter answered (the adapter side only).
    pub card: Option<String>,
    /// The text so far.
    pub text: String,
    /// Where it stands.
    pub state: ReplyState,
    /// Tokens generated, once done.
    pub tokens: usize,
}

impl ChatReply {
    /// Still waiting or streaming.
    pub fn pending(&self) -> bool {
        matches!(self.state, ReplyState::Waiting | ReplyState::Streaming)
    }
}

/// A message and its answers (two in compare mode: the base model's, then the adapter's).
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// What the user typed.
    pub prompt: String,
    /// The answers.
    pub replies: Vec<ChatReply>,
    /// The chunks put before the message, numbered from 1 (empty without retrieval).
    pub sources: Vec<Hit>,
}

/// An answer being generated on the jobs thread.
#[derive(Debug, Clone)]
pub struct ActiveChat {
    /// Its job.
    pub job: JobId,
    /// Raised by Esc.
    pub cancel: Cancel,
    /// A model or adapter loading now.
    pub loading: Option<PathBuf>,
}

/// Everything the Chat pane shows.
#[derive(Debug, Clone, Default)]
pub struct ChatState {
    /// The skill card is plugged in: the adapter answers.
    pub plugged: bool,
    /// Both answer, side by side.
    pub compare: bool,
    /// Retrieval: the knowledge base's best chunks go before each message.
    pub rag: bool,
    /// The last exchange's source open in a popup (0-based).
    pub source: Option<usize>,
    /// The conversation, oldest first.
    pub exchanges: Vec<Exchange>,
    /// The answer being generated.
    pub active: Option<ActiveChat>,
    /// Lines scrolled up from the newest (0 follows the conversation).
    pub scroll: usize,
    /// Why the last answer failed.
    pub error: Option<String>,
    /// The model the last message went to (the selected run's base model).
    pub model: Option<PathBuf>,
}

impl ChatState {
    /// Who answers the next message.
    pub fn sides(&self) -> Vec<Side> {
        match (self.compare, self.plugged) {
            (true, _) => vec![Side::Base, Side::Adapter],
            (false, true) => vec![Side::Adapter],
            (false, false) => vec![Side::Base],
        }
    }

    /// The earlier turns `side` (with `card`) answered in full.
    fn history(&self, side: Side, card: Option<&str>) -> Vec<(String, String)> {
        self.exchanges
            .iter()
            .filter_map(|e| {
                let r = e.replies.iter().find(|r| {
                    r.side == side
                        && r.card.as_deref() == card
                        && matches!(r.state, ReplyState::Done | ReplyState::HitLimit)
                })?;
                Some((e.prompt.clone(), r.text.clone()))
            })
            .collect()
    }

    fn reply_mut(&mut self, side: Side) -> Option<&mut ChatReply> {
        self.exchanges
            .last_mut()?
            .replies
            .iter_mut()
            .find(|r| r.side == side)
    }

    /// Marks the answers still pending as `state`.
    fn settle(&mut self, state: ReplyState) {
        if let Some(e) = self.exchanges.last_mut() {
            for r in e.replies.iter_mut().filter(|r| r.pending()) {
                r.state = state;
            }
        }
        self.active = None;
    }
}

impl App {
    pub(super) fn chat_action(&mut self, action: Action) {
        let lang = self.lang();
        match action {
            Action::Edit => match self.busy() {
                Some(busy) => self.tell(busy, Mood::Neutral),
                None => self.open_prompt(PromptKind::Chat, ""),
            },
            Action::ToggleAdapter | Action::ToggleCompare => {
                let Some(run) = self.card_run() else {
                    let msg = lang.pick(
                        "No skill card yet: finish a LoRA training run (Loss pane, 4) first.",
                        "还没有技能卡：请先完成一次 LoRA 训练（损失窗格，4）。",
                    );
                    return self.tell(msg, Mood::Neutral);
                };
                let c = &mut self.chat;
                let msg = if action == Action::ToggleAdapter {
                    c.plugged = !c.plugged;
                    match (c.plugged, lang) {
                        (true, Language::En) => {
                            format!("Skill card plugged in: {run}'s adapter answers.")
                        }
                        (true, Language::Zh) => format!("已插上技能卡：由 {run} 的适配器回答。"),
                        (false, Language::En) => {
                            "Skill card unplugged: the base model answers.".into()
                        }
                        (false, Language::Zh) => "已拔下技能卡：由基础模型回答。".into(),
                    }
                } else {
                    c.compare = !c.compare;
                    match (c.compare, lang) {
                        (true, Language::En) => {
                            format!("Compare: the base model, then {run}'s adapter, side by side.")
                        }
                        (true, Language::Zh) => {
                            format!("对比模式：基础模型与 {run} 的适配器并排回答。")
                        }
                        (false, Language::En) => "Compare off.".into(),
                        (false, Language::Zh) => "已关闭对比模式。".into(),
                    }
                };
                self.tell(&msg, Mood::Neutral);
            }
            Action::ToggleRag => {
                if self.chat.rag {
                    self.chat.rag = false;
                    let msg = lang.pick(
                        "Retrieval off: messages go to the model as typed.",
                        "已关闭检索：消息按原样发给模型。",
                    );
                    return self.tell(msg, Mood::Neutral);
                }
                // Only a look for the index here: the knowledge base is opened and searched
                // on the jobs thread, for each message.
                if let Err(e) = KnowledgeBase::check_built(&self.dir) {
                    return self.tell(&format!("{e:#}"), Mood::Bad);
                }
                self.chat.rag = true;
                // Built outside the cockpit: the plan's optional item ticks now.
                self.facts.knowledge_base_built = true;
                let settings = self.exp.rag.describe();
                let msg = match lang {
                    Language::En => format!(
                        "Retrieval on: the knowledge base's {settings} go before each message; o opens a source."
                    ),
                    Language::Zh => {
                        let limit = match self.exp.rag.max_context_chars {
                            0 => String::new(),
                            n => format!("（合计不超过 {n} 个字符）"),
                        };
                        format!(
                            "已开启检索：每条消息前放入知识库中最相关的 {} 个片段{limit}；按 o 打开出处。",
                            self.exp.rag.top_k
                        )
                    }
                };
                self.tell(&msg, Mood::Neutral);
            }
            Action::OpenSource => {
                let n = self.chat.exchanges.last().map_or(0, |e| e.sources.len());
                if n == 0 {
                    let msg = lang.pick(
                        "No sources yet: turn retrieval on with r and send a message.",
                        "还没有出处：按 r 开启检索后发送消息。",
                    );
                    return self.tell(msg, Mood::Neutral);
                }
                self.chat.source = match self.chat.source {
                    None => Some(0),
                    Some(i) if i + 1 < n => Some(i + 1),
                    Some(_) => None,
                };
            }
            Action::CancelJob if self.chat.source.is_some() => self.chat.source = None,
            Action::CancelJob => match &self.chat.active {
                Some(a) => {
                    a.cancel.raise();
                    self.tell(
                        lang.pick("Stopping the answer…", "正在停止回答…"),
                        Mood::Neutral,
                    );
                }
                None => self.tell(
                    lang.pick("Nothing is being answered.", "当前没有正在生成的回答。"),
                    Mood::Neutral,
                ),
            },
            Action::Reset => {
                if self.chat.active.is_some() {
                    let msg = lang.pick("Esc stops the answer first.", "请先按 Esc 停止回答。");
                    return self.tell(msg, Mood::Neutral);
                }
                self.chat.exchanges.clear();
                (self.chat.scroll, self.chat.error) = (0, None);
            }
            Action::Increase | Action::Decrease => self.select_run(action),
            Action::DetailUp => self.chat.scroll = self.chat.scroll.saturating_add(3),
            Action::DetailDown => self.chat.scroll = self.chat.scroll.saturating_sub(3),
            _ => {}
        }
    }

    /// The selected run, when it has an adapter to plug in.
    pub fn card_run(&self) -> Option<String> {
        self.eval.selected_adapter(&self.dir)?;
        self.eval.selected_run().map(str::to_string)
    }

    /// Sends the typed message to the jobs thread; an error keeps the prompt open.
    pub(super) fn chat_send(&mut self, text: &str) -> Result<(), String> {
        let lang = self.lang();
        let prompt = text.trim();
        if prompt.is_empty() {
            return Err(lang.pick("type a message first", "请先输入消息").into());
        }
        if let Some(busy) = self.busy() {
            return Err(busy.into());
        }
        // The selected run's preset names the model it was trained on; with no run yet, the
        // experiment's preset.
        let preset = match self.eval.selected_run() {
            Some(run) => RunContext::open(&self.dir, Some(run)).map(|c| c.preset),
            None => self.exp.resolve_preset(&self.dir).map(|p| p.0),
        }
        .map_err(|e| format!("{e:#}"))?;
        let card = self.card_run();
        let sides = self.chat.sides();
        if sides.contains(&Side::Adapter) && card.is_none() {
            self.chat.plugged = false;
            self.chat.compare = false;
            return Err(lang
                .pick(
                    "the selected run has no adapter: the skill card is unplugged",
                    "所选训练没有适配器：技能卡已拔下",
                )
                .into());
        }
        let card_of = |side: Side| match side {
            Side::Base => None,
            Side::Adapter => card.clone(),
        };
        let turns = sides
            .iter()
            .map(|&side| ChatTurn {
                side,
                history: self.chat.history(side, card_of(side).as_deref()),
            })
            .collect();
        let request = ChatRequest {
            model: crate::paths::resolve_model(&preset.model, &self.dir),
            template: preset.template.name().to_string(),
            device: "auto".into(),
            adapter: self.eval.selected_adapter(&self.dir),
            prompt: prompt.to_string(),
            knowledge_base: self.chat.rag.then(|| (self.dir.clone(), self.exp.rag)),
            turns,
            sampling: Sampling::greedy(CHAT_MAX_NEW_TOKENS),
        };
        self.chat.model = Some(request.model.clone());
        let (job, cancel) = self.jobs.next();
        self.jobs.send(JobCommand::Chat {
            job,
            request: Box::new(request),
            cancel: cancel.clone(),
        });
        self.chat.exchanges.push(Exchange {
            prompt: prompt.to_string(),
            replies: sides
                .iter()
                .map(|&side| ChatReply {
                    side,
                    card: card_of(side),
                    text: String::new(),
                    state: ReplyState::Waiting,
                    tokens: 0,
                })
                .collect(),
            sources: Vec::new(),
        });
        self.chat.source = None;
        self.chat.active = Some(ActiveChat {
            job,
            cancel,
            loading: None,
        });
        (self.chat.scroll, self.chat.error) = (0, None);
        Ok(())
    }

    /// One event of the answer being generated.
    pub(super) fn on_chat_event(&mut self, event: JobEvent) {
        let c = &mut self.chat;
        match event {
            JobEvent::Loading { path, .. } => {
                if let Some(a) = c.active.as_mut() {
                    a.loading = Some(path);
                }
            }
            JobEvent::Sources { hits, .. } => {
                if let Some(e) = c.exchanges.last_mut() {
                    e.sources = hits;
                }
            }
            JobEvent::Token { side, text, .. } => {
                if let Some(a) = c.active.as_mut() {
                    a.loading = None;
                }
                if let Some(r) = c.reply_mut(side) {
                    r.text.push_str(&text);
                    r.state = ReplyState::Streaming;
                }
            }
            JobEvent::Replied {
                side, tokens, stop, ..
            } => {
                if let Some(r) = c.reply_mut(side) {
                    r.tokens = tokens;
                    r.state = match stop {
                        StopReason::MaxTokens => ReplyState::HitLimit,
                        _ => ReplyState::Done,
                    };
                }
                let pending = c
                    .exchanges
                    .last()
                    .is_some_and(|e| e.replies.iter().any(ChatReply::pending));
                if !pending {
                    c.active = None;
                }
            }
            JobEvent::Cancelled { .. } => c.settle(ReplyState::Stopped),
            JobEvent::Failed { error, .. } => {
                c.settle(ReplyState::Failed);
                self.tell(&error, Mood::Bad);
                self.chat.error = Some(error);
            }
            JobEvent::Unsealed { .. }
            | JobEvent::Answered { .. }
            | JobEvent::Evaluated { .. }
            | JobEvent::Reported { .. }
            | JobEvent::Exporting { .. }
            | JobEvent::Exported { .. }
            | JobEvent::Inspecting { .. }
            | JobEvent::Inspected { .. }
            | JobEvent::Split { .. } => {}
        }
    }
}
