//! Loss pane: the run's figures, a sparkline of recent steps, a chart of raw and smoothed
//! training loss with validation loss, the health verdict, and the reminder that a curve is
//! a process metric.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Sparkline};
use ratatui::Frame;

use super::{draw_lines, pane_block, wrapped};
use crate::eval::curve::ema;
use crate::eval::runs::{Probe, FORGETTING_DRIFT};
use crate::experiment::Language;
use crate::lora::estimate::{duration, short};
use crate::tui::action::Pane;
use crate::tui::app::{App, Phase, RunState};
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
    let mut foot = Vec::new();
    if let Some(line) = forgetting(r, lang) {
        foot.extend(wrapped(&line, w, theme::mood(Mood::Warn), 2));
    }
    foot.extend(wrapped(&verdict, w, theme::mood(Mood::of(health)), 2));
    foot.extend(wrapped(reminder, w, theme::DIM, 1));
    if r.history.train().is_empty() {
        head.extend(idle_lines(app, w));
    }
    // Other runs' curves and the probe's strip need the rows more than the sparkline does.
    let others = app.runs.list.iter().any(|o| o.row.id != r.name);
    let crowded = inner.height < 30 && (others || !r.history.probe().is_empty());
    let [top, spark, chart, bottom] = Layout::vertical([
        Constraint::Length(head.len() as u16),
        Constraint::Length(if r.history.train().is_empty() || crowded {
            0
        } else {
            2
        }),
        Constraint::Min(0),
        Constraint::Length(foot.len() as u16),
    ])
    .areas(inner);
    draw_lines(f, top, head);
    if !r.history.train().is_empty() {
        if spark.height > 0 {
            sparkline(f, spark, r);
        }
        if chart.height >= 4 {
            draw_chart(f, chart, app, lang);
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
            (None, None, Phase::Following) => vec![Line::styled(
                lang.pick(
                    "Following this folder: waiting for lines in its trainer_log.jsonl…",
                    "正在跟踪该目录：等待 trainer_log.jsonl 写入…",
                )
                .to_string(),
                theme::DIM,
            )],
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
        Phase::Running | Phase::Paused | Phase::Starting | Phase::Following => {
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
    // LLaMA-Factory logs no throughput unless asked to: unknown, not zero.
    let speed = match s.tokens_per_s {
        t if t > 0.0 => format!("{t:.0}"),
        _ => "–".into(),
    };
    let text = match lang {
        Language::En => format!(
            "step {}/{} · epoch {:.2} · loss {:.3} (smoothed {last}) · val {val} · lr {} · {speed} tok/s · ETA {eta} · elapsed {}",
            s.step, s.total_steps, s.epoch, s.loss, short(round_sig(s.lr)), duration(s.elapsed_s)
        ),
        Language::Zh => format!(
            "步数 {}/{} · 轮次 {:.2} · 损失 {:.3}（平滑 {last}）· 验证 {val} · 学习率 {} · {speed} 词元/秒 · 剩余 {eta} · 已用 {}",
            s.step, s.total_steps, s.epoch, s.loss, short(round_sig(s.lr)), duration(s.elapsed_s)
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
    if let Some(best) = r.history.best_step() {
        notes.push(match lang {
            Language::En => format!("best: step {best}"),
            Language::Zh => format!("最佳：第 {best} 步"),
        });
    }
    if let Some(p) = Probe::of(r.history.probe()) {
        let drift = format!("{:.2}→{:.2} ({:+.0}%)", p.first, p.last, p.drift * 100.0);
        notes.push(format!(
            "{} {drift}",
            lang.pick("forgetting probe", "遗忘探针")
        ));
    }
    match (&r.summary, &r.followed) {
        (Some(summary), None) => {
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
        // Another process's run: it may go on after tunedeck stops looking.
        (Some(summary), Some(_)) => notes.push(
            if summary.stopped {
                lang.pick("no longer followed", "已停止跟踪")
            } else {
                lang.pick("finished", "已完成")
            }
            .to_string(),
        ),
        (None, Some(_)) => notes.push(lang.pick("following", "跟踪中").to_string()),
        (None, None) => {}
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

/// The plain-words warning when the forgetting probe has drifted up too far.
fn forgetting(r: &RunState, lang: Language) -> Option<String> {
    let p = Probe::of(r.history.probe()).filter(Probe::forgetting)?;
    let since = r.history.probe().first().map_or(0, |p| p.0 as u64);
    let pct = p.drift * 100.0;
    Some(match lang {
        Language::En => format!(
            "The model is starting to forget: the forgetting probe is up {pct:.0}% since step {since}. Replay (replay_ratio) or fewer steps keep it closer to the base model."
        ),
        Language::Zh => format!(
            "模型开始遗忘通用能力：遗忘探针较第 {since} 步上升 {pct:.0}%。开启回放（replay_ratio）或减少步数可让它更接近基础模型。"
        ),
    })
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

/// One line or scatter of the chart, before it borrows its points.
struct Series {
    name: Option<String>,
    points: Vec<(f64, f64)>,
    style: Style,
    scatter: bool,
}

impl Series {
    fn line(name: Option<String>, points: Vec<(f64, f64)>, style: Style) -> Series {
        Series {
            name,
            points,
            style,
            scatter: false,
        }
    }

    fn dataset(&self) -> Dataset<'_> {
        // Validation points are few: dots at the evaluated steps, over the lines.
        let (marker, kind) = match self.scatter {
            true => (Marker::Dot, GraphType::Scatter),
            false => (Marker::Braille, GraphType::Line),
        };
        let d = Dataset::default()
            .marker(marker)
            .graph_type(kind)
            .style(self.style)
            .data(&self.points);
        match &self.name {
            Some(n) => d.name(n.clone()),
            None => d,
        }
    }
}

/// The finite points of `pts`.
fn finite(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    pts.iter().copied().filter(|p| p.1.is_finite()).collect()
}

/// The shown run's curves over the experiment's other runs (each in its own colour, the
/// selected run bold), the best step's marker, and the forgetting probe in a strip of its
/// own scale below.
fn draw_chart(f: &mut Frame, area: Rect, app: &App, lang: Language) {
    let r = &app.run;
    let selected = app.eval.selected_run();
    let smooth = app.runs.smooth;
    let mut series = Vec::new();
    let mut x_max = r.last.as_ref().map_or(0, |s| s.total_steps) as f64;
    for other in app.runs.list.iter().filter(|o| o.row.id != r.name) {
        let id = &other.row.id;
        let style = theme::run(id, selected == Some(id.as_str()));
        let train = finite(&other.log.train);
        let train = match smooth {
            true => {
                let ys: Vec<f64> = train.iter().map(|p| p.1).collect();
                train.iter().zip(ema(&ys)).map(|(p, y)| (p.0, y)).collect()
            }
            false => train,
        };
        x_max = x_max.max(other.row.steps_planned as f64);
        series.push(Series::line(Some(id.clone()), train, style));
        series.push(Series::line(None, finite(&other.log.val), style));
    }
    let bold = |s: Style| match selected == Some(r.name.as_str()) {
        true => s.add_modifier(Modifier::BOLD),
        false => s,
    };
    let raw = finite(r.history.train());
    if smooth {
        let name = lang.pick("raw", "原始").to_string();
        series.push(Series::line(Some(name), raw, theme::LOSS_RAW));
        let name = lang.pick("smoothed", "平滑").to_string();
        let smoothed = finite(r.history.smoothed());
        series.push(Series::line(Some(name), smoothed, bold(theme::LOSS_SMOOTH)));
    } else {
        let name = lang.pick("raw", "原始").to_string();
        series.push(Series::line(Some(name), raw, bold(theme::LOSS_SMOOTH)));
    }
    series.push(Series {
        name: Some(lang.pick("val", "验证").to_string()),
        points: finite(r.history.val()),
        style: bold(theme::LOSS_VAL),
        scatter: true,
    });
    let points = series.iter().flat_map(|s| &s.points);
    x_max = points.clone().map(|p| p.0).fold(x_max, f64::max).max(1.0);
    let (lo, hi) = bounds(points.map(|p| p.1));
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    if let Some(best) = r
        .history
        .best_step()
        .filter(|_| !r.history.val().is_empty())
    {
        let name = match lang {
            Language::En => format!("best: step {best}"),
            Language::Zh => format!("最佳：第 {best} 步"),
        };
        let x = best as f64;
        series.push(Series::line(
            Some(name),
            vec![(x, lo), (x, hi)],
            theme::BEST,
        ));
    }
    let probe = probe_drift(r.history.probe());
    let [main, strip] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(match probe.is_empty() || area.height < 8 {
            true => 0,
            false => (area.height / 4).max(3),
        }),
    ])
    .areas(area);
    let fmt_loss = |y: f64| format!("{y:.2}");
    let fmt_drift = |y: f64| format!("{y:+.0}%");
    let (p_lo, p_hi) = bounds(probe.iter().map(|p| p.1));
    let (p_lo, p_hi) = (p_lo.min(0.0), p_hi.max(FORGETTING_DRIFT * 100.0 + 2.0));
    // Both charts' y labels are as wide as the wider set, so their steps line up.
    let label_w = [lo, hi, (lo + hi) / 2.0]
        .map(fmt_loss)
        .iter()
        .chain(&[p_lo, p_hi].map(fmt_drift))
        .map(|s| s.len())
        .max()
        .unwrap_or(0);
    let labels = |ys: &[f64], fmt: &dyn Fn(f64) -> String| -> Vec<Span<'static>> {
        ys.iter()
            .map(|&y| Span::raw(format!("{:>label_w$}", fmt(y))))
            .collect()
    };
    let datasets: Vec<Dataset> = series
        .iter()
        .filter(|s| !s.points.is_empty())
        .map(Series::dataset)
        .collect();
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .title(Span::styled(
                    lang.pick("step", "步").to_string(),
                    theme::DIM,
                ))
                .bounds([0.0, x_max])
                .labels(
                    [0.0, x_max / 2.0, x_max]
                        .map(|x| Span::raw(format!("{x:.0}")))
                        .to_vec(),
                )
                .style(theme::DIM),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels(labels(&[lo, (lo + hi) / 2.0, hi], &fmt_loss))
                .style(theme::DIM),
        )
        .legend_position(Some(LegendPosition::TopRight))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)));
    f.render_widget(chart, main);
    if strip.height > 0 {
        let threshold = FORGETTING_DRIFT * 100.0;
        // The line's name is the x axis's title, bottom right, where a rising probe is not.
        let probe_series = [
            Series::line(None, vec![(0.0, threshold), (x_max, threshold)], theme::DIM),
            Series::line(None, probe, theme::PROBE),
        ];
        let name = lang.pick("forgetting probe", "遗忘探针").to_string();
        let chart = Chart::new(probe_series.iter().map(Series::dataset).collect())
            .x_axis(
                Axis::default()
                    .title(Span::styled(name, theme::PROBE))
                    .bounds([0.0, x_max]),
            )
            .y_axis(
                Axis::default()
                    .bounds([p_lo, p_hi])
                    .labels(labels(&[p_lo, p_hi], &fmt_drift))
                    .style(theme::DIM),
            );
        f.render_widget(chart, strip);
    }
}

/// The probe's perplexity as a change from its first value, in percent.
fn probe_drift(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let Some(first) = Probe::of(points).map(|p| p.first) else {
        return Vec::new();
    };
    finite(points)
        .into_iter()
        .map(|(x, y)| (x, (y / first - 1.0) * 100.0))
        .collect()
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
