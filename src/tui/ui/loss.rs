//! Loss pane: the run's figures, a sparkline of recent steps, a chart of raw and smoothed
//! training loss with validation loss, the health verdict, and the reminder that a curve is
//! a process metric.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Sparkline};
use ratatui::Frame;

use super::{draw_lines, pane_block, wrapped};
use crate::experiment::Language;
use crate::tui::action::Pane;
use crate::tui::app::{App, Phase, RunState};
use crate::tui::estimate::{duration, short};
use crate::tui::loss::Mood;
use crate::tui::theme;

/// Draws the loss pane.
pub fn render(f: &mut Frame, area: Rect, app: &App, focused: bool) {
    let lang = app.lang();
    let r = &app.run;
    let inner = pane_block(f, area, Pane::Loss, lang, focused, &r.name);
    let w = inner.width;
    let mut head = figures(r, lang, w);
    if let Some(line) = resume_offer(r, lang) {
        head.extend(wrapped(&line, w, theme::mood(Mood::Warn), 2));
    }
    let health = r.history.health();
    let verdict = format!(
        "{}: {} — {}",
        lang.pick("Health", "健康度"),
        health.title(lang),
        health.advice(lang)
    );
    let reminder = lang.pick(
        "A good curve is a process metric, not the result: the three-part test decides.",
        "好看的曲线只是过程指标，不是结果：以三维盲测为准。",
    );
    let mut foot = wrapped(&verdict, w, theme::mood(Mood::of(health)), 2);
    foot.extend(wrapped(reminder, w, theme::DIM, 1));
    if r.history.train().is_empty() {
        head.extend(idle_lines(app, w));
    }
    let [top, spark, chart, bottom] = Layout::vertical([
        Constraint::Length(head.len() as u16),
        Constraint::Length(if r.history.train().is_empty() { 0 } else { 2 }),
        Constraint::Min(0),
        Constraint::Length(foot.len() as u16),
    ])
    .areas(inner);
    draw_lines(f, top, head);
    if !r.history.train().is_empty() {
        sparkline(f, spark, r);
        if chart.height >= 4 {
            draw_chart(f, chart, r, lang);
        }
    }
    draw_lines(f, bottom, foot);
}

/// Step, epoch, learning rate, speed, ETA, checkpoint.
fn figures(r: &RunState, lang: Language, w: u16) -> Vec<Line<'static>> {
    let Some(s) = &r.last else {
        return match (&r.status, &r.error, r.phase) {
            (_, Some(e), _) => wrapped(e, w, theme::mood(Mood::Bad), 3),
            (Some(m), _, _) => wrapped(m, w, theme::DIM, 2),
            (None, None, Phase::Starting) => vec![Line::styled(
                lang.pick(
                    "Loading the model and data on the worker…",
                    "后台正在加载模型和数据…",
                )
                .to_string(),
                theme::DIM,
            )],
            _ => Vec::new(),
        };
    };
    let eta = match r.phase {
        Phase::Running | Phase::Paused | Phase::Starting => {
            r.eta_s().map_or_else(|| "?".into(), duration)
        }
        _ => "–".into(),
    };
    let last = r
        .history
        .last_smoothed()
        .map_or_else(|| "?".into(), |x| format!("{x:.3}"));
    let val = r
        .history
        .val()
        .last()
        .map_or_else(|| "–".into(), |v| format!("{:.3}", v.1));
    let text = match lang {
        Language::En => format!(
            "step {}/{} · epoch {:.2} · loss {:.3} (smoothed {last}) · val {val} · lr {} · {:.0} tok/s · ETA {eta} · elapsed {}",
            s.step, s.total_steps, s.epoch, s.loss, short(round_sig(s.lr)), s.tokens_per_s, duration(s.elapsed_s)
        ),
        Language::Zh => format!(
            "步数 {}/{} · 轮次 {:.2} · 损失 {:.3}（平滑 {last}）· 验证 {val} · 学习率 {} · {:.0} 词元/秒 · 剩余 {eta} · 已用 {}",
            s.step, s.total_steps, s.epoch, s.loss, short(round_sig(s.lr)), s.tokens_per_s, duration(s.elapsed_s)
        ),
    };
    let mut out = wrapped(&text, w, theme::TEXT, 3);
    let mut notes = Vec::new();
    if let Some(step) = r.checkpoint {
        notes.push(match lang {
            Language::En => format!("checkpoint at step {step}"),
            Language::Zh => format!("检查点：第 {step} 步"),
        });
    }
    if let Some(summary) = &r.summary {
        let how = if summary.stopped {
            lang.pick("stopped", "已停止")
        } else {
            lang.pick("finished", "已完成")
        };
        notes.push(format!(
            "{how} · {} {}",
            lang.pick("adapter in", "适配器位于"),
            r.name
        ));
    }
    if !notes.is_empty() {
        out.push(Line::styled(notes.join(" · "), theme::DIM));
    }
    // Why it failed stays in view after the status line's message is gone.
    if let Some(e) = &r.error {
        out.extend(wrapped(e, w, theme::mood(Mood::Bad), 3));
    }
    out
}

/// What `s` will do with a run that ended before its last step.
fn resume_offer(r: &RunState, lang: Language) -> Option<String> {
    let p = r.resume_from?;
    Some(match lang {
        Language::En => format!(
            "{} ended before its last step: s continues it from the checkpoint at step {}/{}, S starts a new run.",
            r.name, p.step, p.total_steps
        ),
        Language::Zh => format!(
            "{} 未训练到最后一步：按 s 从第 {}/{} 步的检查点续训，按 S 开始新的训练。",
            r.name, p.step, p.total_steps
        ),
    })
}

/// Three significant digits, so a decaying learning rate prints as 2.85e-4.
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(2 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

fn idle_lines(app: &App, w: u16) -> Vec<Line<'static>> {
    let lang = app.lang();
    if app.run.phase != Phase::Idle {
        return Vec::new();
    }
    let text = match (&app.data.split, lang) {
        (Some(m), Language::En) => format!(
            "No run yet. s trains {} on the split ({} train / {} val records); the curve appears here.",
            app.exp.preset.name, m.counts.train, m.counts.val
        ),
        (Some(m), Language::Zh) => format!(
            "尚未训练。按 s 用 {} 在分割后的数据上训练（训练 {} 条 / 验证 {} 条），曲线会显示在这里。",
            app.exp.preset.name, m.counts.train, m.counts.val
        ),
        (None, _) => lang
            .pick(
                "No run yet. Split the records first (Dataset pane, s), then s here starts a run.",
                "尚未训练。请先分割数据（数据窗格按 s），再在这里按 s 开始训练。",
            )
            .to_string(),
    };
    wrapped(&text, w, theme::DIM, 3)
}

fn sparkline(f: &mut Frame, area: Rect, r: &RunState) {
    let recent: Vec<f64> = r
        .history
        .train()
        .iter()
        .rev()
        .take(area.width as usize)
        .map(|p| p.1)
        .filter(|x| x.is_finite())
        .collect();
    let (lo, hi) = bounds(recent.iter().copied());
    let data: Vec<u64> = recent
        .iter()
        .rev()
        .map(|x| (1.0 + 99.0 * (x - lo) / (hi - lo).max(1e-9)) as u64)
        .collect();
    f.render_widget(
        Sparkline::default().data(&data).style(theme::LOSS_SMOOTH),
        area,
    );
}

fn draw_chart(f: &mut Frame, area: Rect, r: &RunState, lang: Language) {
    let finite = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
        pts.iter().copied().filter(|p| p.1.is_finite()).collect()
    };
    let (raw, smooth, val) = (
        finite(r.history.train()),
        finite(r.history.smoothed()),
        finite(r.history.val()),
    );
    let total = r.last.as_ref().map_or(0, |s| s.total_steps) as f64;
    let x_max = raw.iter().map(|p| p.0).fold(total, f64::max).max(1.0);
    let (lo, hi) = bounds(raw.iter().chain(&val).map(|p| p.1));
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let series = [
        (
            lang.pick("raw", "原始"),
            &raw,
            theme::LOSS_RAW,
            GraphType::Line,
        ),
        (
            lang.pick("smoothed", "平滑"),
            &smooth,
            theme::LOSS_SMOOTH,
            GraphType::Line,
        ),
        (
            lang.pick("val", "验证"),
            &val,
            theme::LOSS_VAL,
            GraphType::Scatter,
        ),
    ];
    let datasets: Vec<Dataset> = series
        .into_iter()
        .filter(|(_, pts, _, _)| !pts.is_empty())
        .map(
            |(name, pts, style, kind): (&str, &Vec<(f64, f64)>, Style, GraphType)| {
                // Validation points are few: dots at the evaluated steps, over the lines.
                let marker = if kind == GraphType::Scatter {
                    Marker::Dot
                } else {
                    Marker::Braille
                };
                Dataset::default()
                    .name(name.to_string())
                    .marker(marker)
                    .graph_type(kind)
                    .style(style)
                    .data(pts)
            },
        )
        .collect();
    let labels = |a: f64, b: f64, fmt: &dyn Fn(f64) -> String| -> Vec<Span<'static>> {
        vec![
            Span::raw(fmt(a)),
            Span::raw(fmt((a + b) / 2.0)),
            Span::raw(fmt(b)),
        ]
    };
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .title(Span::styled(
                    lang.pick("step", "步").to_string(),
                    theme::DIM,
                ))
                .bounds([0.0, x_max])
                .labels(labels(0.0, x_max, &|x| format!("{x:.0}")))
                .style(theme::DIM),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels(labels(lo, hi, &|y| format!("{y:.2}")))
                .style(theme::DIM),
        )
        .legend_position(Some(LegendPosition::TopRight))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)));
    f.render_widget(chart, area);
}

/// The finite range of `xs`, `(0, 1)` when there is none.
fn bounds(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = xs
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}
