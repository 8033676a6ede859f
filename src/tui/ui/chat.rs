//! Chat pane: the skill card (which run's adapter, plugged in or not) and the mode on top,
//! then the conversation, newest at the bottom; in compare mode the base model's answer and
//! the adapter's stand side by side.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{centered, draw_lines, overlay, pane_block, wrapped};
use crate::eval::Side;
use crate::experiment::Language;
use crate::tui::action::Pane;
use crate::tui::app::{App, ChatReply, ReplyState, CHAT_MAX_NEW_TOKENS};
use crate::tui::loss::Mood;
use crate::tui::text::{pad, truncate, wrap};
use crate::tui::theme;

/// Draws the Chat pane.
pub fn render(f: &mut Frame, area: Rect, app: &App, focused: bool) {
    let lang = app.lang();
    let c = &app.chat;
    let mode = match (c.compare, c.plugged) {
        (true, _) => lang.pick("compare", "对比"),
        (false, true) => lang.pick("adapter", "适配器"),
        (false, false) => lang.pick("base model", "基础模型"),
    };
    let mode = if c.rag {
        format!("{mode} + RAG")
    } else {
        mode.to_string()
    };
    let inner = pane_block(f, area, Pane::Chat, lang, focused, &mode);
    let w = inner.width;
    let card = app.card_run();
    let mut head = vec![card_line(card.as_deref(), c.plugged, c.compare, lang, w)];
    // The model the last message went to, else the one the preset names.
    let model = c.model.as_ref().map_or_else(
        || app.preset.current.model.clone(),
        |m| m.display().to_string(),
    );
    let model = model.rsplit('/').next().unwrap_or_default().to_string();
    let status = match c.active.as_ref().and_then(|a| a.loading.as_ref()) {
        Some(path) => match lang {
            Language::En => format!("loading {} on the jobs thread…", path.display()),
            Language::Zh => format!("后台正在加载 {}…", path.display()),
        },
        None => match lang {
            Language::En => format!("{model} · greedy · up to {CHAT_MAX_NEW_TOKENS} tokens"),
            Language::Zh => format!("{model} · 贪心解码 · 最多 {CHAT_MAX_NEW_TOKENS} 词元"),
        },
    };
    head.push(Line::styled(truncate(&status, w as usize), theme::DIM));
    head.push(Line::styled("─".repeat(w as usize), theme::BORDER));
    let room = (inner.height as usize).saturating_sub(head.len());
    let mut body = transcript(app, lang, w);
    if body.is_empty() {
        let hint = lang.pick(
            "Enter writes a message; the answer streams here token by token (Esc stops it). \
             a plugs the skill card — the selected run's adapter — in or out; c compares the \
             base model and the adapter side by side; r puts the knowledge base's best chunks \
             before the message (RAG); ←/→ choose the run.",
            "按 Enter 输入消息，回答会逐词显示（Esc 停止）。a 插上或拔下技能卡（所选训练的适配器）；\
             c 并排对比基础模型与适配器；r 把知识库中最相关的片段放在消息前（RAG）；←/→ 选择训练。",
        );
        body = wrapped(hint, w, theme::DIM, room);
    } else {
        // Newest at the bottom; scrolling moves the window up.
        let end = body
            .len()
            .saturating_sub(c.scroll.min(body.len().saturating_sub(room)));
        let start = end.saturating_sub(room);
        body = body[start..end].to_vec();
    }
    head.extend(body);
    draw_lines(f, inner, head);
    if let Some(i) = c.source {
        source_popup(f, area, app, i);
    }
}

/// The open source: its chunk text under its number and `file:start-end`, and a warning
/// when the file changed or went missing since it was indexed.
fn source_popup(f: &mut Frame, area: Rect, app: &App, i: usize) {
    let lang = app.lang();
    let Some(hit) = app.chat.exchanges.last().and_then(|e| e.sources.get(i)) else {
        return;
    };
    // Over the whole conversation inside the pane's frame: nothing of it shows through.
    let rect = centered(
        area,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    let title = format!(" [{}] {} ", i + 1, hit.location_from(&app.dir));
    let title = truncate(&title, rect.width.saturating_sub(2) as usize);
    let inner = overlay(f, rect, title, theme::BORDER_FOCUS);
    let w = inner.width as usize;
    let mut lines = Vec::new();
    if let Some(why) = &hit.stale {
        lines.extend(
            wrap(&format!("⚠ {why}"), w)
                .into_iter()
                .map(|l| Line::styled(l, theme::mood(Mood::Bad))),
        );
    }
    if !hit.heading.is_empty() {
        lines.push(Line::styled(truncate(&hit.heading, w), theme::TITLE));
    }
    let foot = lang.pick("o next source · Esc close", "o 下一条出处 · Esc 关闭");
    let room = (inner.height as usize).saturating_sub(lines.len() + 1);
    let mut body: Vec<String> = hit.body.lines().flat_map(|l| wrap(l, w.max(1))).collect();
    if body.len() > room {
        body.truncate(room);
        if let Some(last) = body.last_mut() {
            *last = truncate(&format!("{last} …"), w);
        }
    }
    lines.extend(body.into_iter().map(|l| Line::styled(l, theme::TEXT)));
    while lines.len() + 1 < inner.height as usize {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(truncate(foot, w), theme::DIM));
    draw_lines(f, inner, lines);
}

/// The exchange's sources, one line each: `[n] file:start-end  heading`; `*` marks those an
/// answer cites, `⚠` those whose file changed or went missing.
fn source_lines(
    app: &App,
    sources: &[crate::rag::Hit],
    answers: &str,
    w: u16,
) -> Vec<Line<'static>> {
    let lang = app.lang();
    let cited = crate::rag::citation::cited(answers, sources.len());
    let mut out = vec![Line::styled(
        truncate(
            lang.pick("Sources (o opens one):", "出处（按 o 打开）："),
            w as usize,
        ),
        theme::DIM,
    )];
    for (i, h) in sources.iter().enumerate() {
        let mark = match (h.stale.is_some(), cited.contains(&(i + 1))) {
            (true, _) => "⚠",
            (false, true) => "*",
            (false, false) => " ",
        };
        let text = format!(
            "{mark}[{}] {}  {}",
            i + 1,
            h.location_from(&app.dir),
            h.heading
        );
        let style = if h.stale.is_some() {
            theme::mood(Mood::Bad)
        } else {
            theme::DIM
        };
        out.push(Line::styled(truncate(&text, w as usize), style));
    }
    out
}

/// The skill card: which run's adapter, and whether it answers.
fn card_line(
    card: Option<&str>,
    plugged: bool,
    compare: bool,
    lang: Language,
    w: u16,
) -> Line<'static> {
    let label = Span::styled(
        format!("{} ", lang.pick("Skill card", "技能卡")),
        theme::DIM,
    );
    let (text, style) = match (card, compare, plugged) {
        (None, _, _) => (
            lang.pick(
                "none yet — finish a LoRA run to get one",
                "暂无——完成一次 LoRA 训练后获得",
            )
            .to_string(),
            theme::DIM,
        ),
        (Some(run), true, _) => (
            match lang {
                Language::En => format!("◧ compare: base model │ base + {run} adapter"),
                Language::Zh => format!("◧ 对比：基础模型 │ 基础模型 + {run} 适配器"),
            },
            theme::KEY,
        ),
        (Some(run), false, true) => (
            match lang {
                Language::En => format!("▣ {run} adapter · PLUGGED IN"),
                Language::Zh => format!("▣ {run} 适配器 · 已插上"),
            },
            theme::mood(Mood::Good).patch(theme::TITLE),
        ),
        (Some(run), false, false) => (
            match lang {
                Language::En => format!("□ {run} adapter · unplugged: the base model answers"),
                Language::Zh => format!("□ {run} 适配器 · 未插上：由基础模型回答"),
            },
            theme::TEXT,
        ),
    };
    let room = (w as usize).saturating_sub(crate::tui::text::width(&label.content));
    Line::from(vec![label, Span::styled(truncate(&text, room), style)])
}

/// Every exchange: the message, then the answer (or both answers side by side).
fn transcript(app: &App, lang: Language, w: u16) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (n, e) in app.chat.exchanges.iter().enumerate() {
        if n > 0 {
            out.push(Line::raw(""));
        }
        let you = lang.pick("You", "你");
        for (i, line) in wrap(&format!("{you}: {}", e.prompt), w as usize)
            .into_iter()
            .enumerate()
        {
            let style = if i == 0 { theme::TITLE } else { theme::TEXT };
            out.push(Line::styled(line, style));
        }
        match e.replies.as_slice() {
            [one] => {
                out.push(Line::styled(who(one, lang), who_style(one.side)));
                out.extend(
                    body(one, lang, w as usize)
                        .into_iter()
                        .map(|l| Line::styled(l, state_style(one.state))),
                );
            }
            [a, b] => out.extend(side_by_side(a, b, lang, w as usize)),
            _ => {}
        }
        if !e.sources.is_empty() {
            let answers: Vec<&str> = e.replies.iter().map(|r| r.text.as_str()).collect();
            out.extend(source_lines(app, &e.sources, &answers.join("\n"), w));
        }
    }
    out
}

/// Two answers in two columns.
fn side_by_side(a: &ChatReply, b: &ChatReply, lang: Language, w: usize) -> Vec<Line<'static>> {
    let col = w.saturating_sub(3) / 2;
    let (la, lb) = (body(a, lang, col), body(b, lang, col));
    let mut out = vec![Line::from(vec![
        Span::styled(pad(&who(a, lang), col), who_style(a.side)),
        Span::styled(" │ ", theme::BORDER),
        Span::styled(truncate(&who(b, lang), col), who_style(b.side)),
    ])];
    for i in 0..la.len().max(lb.len()) {
        let left = la.get(i).map_or("", String::as_str);
        let right = lb.get(i).map_or("", String::as_str);
        out.push(Line::from(vec![
            Span::styled(pad(left, col), state_style(a.state)),
            Span::styled(" │ ", theme::BORDER),
            Span::styled(right.to_string(), state_style(b.state)),
        ]));
    }
    out
}

/// "Base model:" / "run-2 adapter:".
fn who(r: &ChatReply, lang: Language) -> String {
    match (r.side, &r.card, lang) {
        (Side::Adapter, Some(run), Language::En) => format!("Base + {run} adapter:"),
        (Side::Adapter, Some(run), Language::Zh) => format!("基础模型 + {run} 适配器："),
        (Side::Adapter, None, _) => lang.pick("Base + adapter:", "基础模型 + 适配器：").into(),
        (Side::Base, _, _) => lang.pick("Base model:", "基础模型：").into(),
    }
}

fn who_style(side: Side) -> ratatui::style::Style {
    match side {
        Side::Base => theme::KEY,
        Side::Adapter => theme::mood(Mood::Good).patch(theme::TITLE),
    }
}

fn state_style(state: ReplyState) -> ratatui::style::Style {
    match state {
        ReplyState::Failed => theme::mood(Mood::Bad),
        ReplyState::Waiting => theme::DIM,
        _ => theme::TEXT,
    }
}

/// The answer wrapped to `w` cells, with how it ended.
fn body(r: &ChatReply, lang: Language, w: usize) -> Vec<String> {
    let tail = match (r.state, lang) {
        (ReplyState::Waiting, _) => lang.pick("…", "…").to_string(),
        (ReplyState::Streaming, _) => "▌".into(),
        (ReplyState::Done, _) => String::new(),
        (ReplyState::HitLimit, Language::En) => format!(" [cut at {CHAT_MAX_NEW_TOKENS} tokens]"),
        (ReplyState::HitLimit, Language::Zh) => format!(" [达到 {CHAT_MAX_NEW_TOKENS} 词元上限]"),
        (ReplyState::Stopped, _) => lang.pick(" [stopped]", " [已停止]").into(),
        (ReplyState::Failed, _) => lang.pick(" [failed]", " [失败]").into(),
    };
    wrap(&format!("{}{tail}", r.text), w.max(1))
}
