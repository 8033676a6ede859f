//! Preset pane: every field with its value (those that differ from the starter highlighted),
//! the selected field's ranges, the derived figures and gentle warnings.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

use super::{draw_lines, pane_block, scroll_start, wrapped};
use crate::experiment::Language;
use crate::lora::estimate::{bytes, count, duration, short};
use crate::preset::{usual_range, Device, Preset};
use crate::tui::action::Pane;
use crate::tui::app::App;
use crate::tui::loss::Mood;
use crate::tui::text::{pad, truncate};
use crate::tui::theme;

/// Draws the preset pane.
pub fn render(f: &mut Frame, area: Rect, app: &App, focused: bool) {
    let lang = app.lang();
    let p = &app.preset;
    let changed = p.changed_keys().len();
    let extra = match (lang, changed) {
        (_, 0) => app.exp.preset.name.clone(),
        (Language::En, n) => format!("{} + {n} changed", app.exp.preset.name),
        (Language::Zh, n) => format!("{} + {n} 项改动", app.exp.preset.name),
    };
    let inner = pane_block(f, area, Pane::Preset, lang, focused, &extra);
    let [list, side] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(inner);
    draw_lines(f, list, field_lines(app, list, focused));
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(theme::BORDER);
    let text_area = block.inner(side);
    f.render_widget(block, side);
    draw_lines(f, text_area, side_lines(app, text_area));
}

fn field_lines(app: &App, area: Rect, focused: bool) -> Vec<Line<'static>> {
    let p = &app.preset;
    let height = area.height as usize;
    let key_w = 28.min((area.width as usize).saturating_sub(10));
    let value_w = (area.width as usize).saturating_sub(key_w + 2);
    Preset::KEYS
        .iter()
        .enumerate()
        .skip(scroll_start(p.selected, height))
        .take(height)
        .map(|(i, key)| {
            let value = p.current.get(key).unwrap_or_default();
            let differs = p.differs_from_starter(key);
            let mark = if differs { "•" } else { " " };
            let key_style = if i == p.selected && focused {
                theme::SELECTED
            } else {
                theme::TEXT
            };
            let value_style = if differs { theme::DIFFERS } else { theme::TEXT };
            Line::from(vec![
                Span::styled(mark.to_string(), theme::DIFFERS),
                Span::styled(pad(key, key_w), key_style),
                Span::raw(" "),
                Span::styled(truncate(&value, value_w), value_style),
            ])
        })
        .collect()
}

fn side_lines(app: &App, area: Rect) -> Vec<Line<'static>> {
    let lang = app.lang();
    let p = &app.preset;
    let w = area.width;
    let key = p.key();
    let mut out = vec![Line::styled(key.to_string(), theme::TITLE)];
    let starter = p.starter.get(key).unwrap_or_default();
    let mut about = match lang {
        Language::En => format!("starter {starter}"),
        Language::Zh => format!("起手式 {starter}"),
    };
    if let Some((lo, hi)) = usual_range(key) {
        let (lo, hi) = (short(lo), short(hi));
        about += &match lang {
            Language::En => format!(" · usual {lo}..{hi}"),
            Language::Zh => format!(" · 常用 {lo}..{hi}"),
        };
    }
    out.extend(wrapped(&about, w, theme::DIM, 2));
    if let Some(problem) = &p.problem {
        out.extend(wrapped(problem, w, theme::mood(Mood::Bad), 4));
    }
    if let Some(problem) = &p.engine_problem {
        out.extend(wrapped(problem, w, theme::mood(Mood::Warn), 5));
    }
    out.push(Line::raw(""));
    let d = app.derived();
    let model = p
        .shape
        .map(|s| count(s.params))
        .unwrap_or_else(|| "?".into());
    let rows = [
        (
            lang.pick("train records", "训练记录"),
            match d.replay_sequences {
                0 => d.train_sequences.to_string(),
                r => format!(
                    "{} + {r} {}",
                    d.train_sequences,
                    lang.pick("replay", "回放")
                ),
            },
        ),
        (
            lang.pick("steps/epoch", "每轮步数"),
            d.steps_per_epoch.to_string(),
        ),
        (
            lang.pick("total steps", "总步数"),
            d.total_steps.to_string(),
        ),
        (
            lang.pick("batch × accum", "有效批大小"),
            d.effective_batch.to_string(),
        ),
        (
            lang.pick("warm-up steps", "预热步数"),
            d.warmup_steps.to_string(),
        ),
        (
            lang.pick("trainable", "可训练参数"),
            d.trainable
                .map_or_else(|| "?".into(), |t| format!("{} / {model}", count(t))),
        ),
        (
            lang.pick("memory", "内存估计"),
            d.memory.map_or_else(
                || "?".into(),
                |m| format!("≤ {} ({})", bytes(m), p.current.device),
            ),
        ),
        (lang.pick("precision", "计算精度"), precision(&p.current)),
        (
            lang.pick("time", "预计用时"),
            match (d.eta_s, d.tokens_per_s) {
                (Some(eta), Some(tps)) => format!("≈ {} @ {tps:.0} tok/s", duration(eta)),
                _ => lang
                    .pick("run once to measure", "训练一次后可估算")
                    .to_string(),
            },
        ),
    ];
    for (label, value) in rows {
        out.push(Line::from(vec![
            Span::styled(pad(label, 14), theme::DIM),
            Span::raw(truncate(&value, (w as usize).saturating_sub(14))),
        ]));
    }
    let room = (area.height as usize).saturating_sub(out.len());
    let warnings = p.warnings(lang, &app.exp.preset.name);
    if !warnings.is_empty() && room > 1 {
        out.push(Line::raw(""));
        for warning in warnings {
            let left = (area.height as usize).saturating_sub(out.len());
            if left == 0 {
                break;
            }
            out.extend(wrapped(
                &format!("! {warning}"),
                w,
                theme::mood(Mood::Warn),
                left.min(3),
            ));
        }
    }
    out
}

/// The dtype the trainer will use, with the reason when `auto` chose it.
fn precision(p: &Preset) -> String {
    let (dtype, why) = p.resolved_dtype(p.device == Device::Cuda);
    match why {
        Some(why) => format!("{dtype} ({why})"),
        None => dtype.to_string(),
    }
}
