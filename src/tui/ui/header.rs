//! The header: experiment, model, device and run state on one bar, the pane tabs below it.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::experiment::Language;
use crate::tui::action::Pane;
use crate::tui::app::{App, Phase};
use crate::tui::text::{pad, truncate, width};
use crate::tui::theme;

/// Draws the info bar into `top` and the tabs into `tabs`.
pub fn render(f: &mut Frame, top: Rect, tabs: Rect, app: &App) {
    let lang = app.lang();
    let model = app
        .run
        .loaded
        .as_ref()
        .map_or(app.preset.current.model.as_str(), |l| l.model.as_str());
    let model = model.rsplit('/').next().unwrap_or(model);
    let device = app.run.loaded.as_ref().map_or_else(
        || app.preset.current.device.to_string(),
        |l| l.device.clone(),
    );
    let left = format!(
        " tunedeck │ {} │ {model} · {device} │ {} ",
        app.name,
        run_state(app)
    );
    // The date goes first when space runs out: the plan pane shows it too.
    let date = format!(" {} ", app.today);
    let right = if width(&left) + width(&date) <= top.width as usize {
        date
    } else {
        String::new()
    };
    let room = (top.width as usize).saturating_sub(width(&right));
    let bar = Line::from(vec![
        Span::styled(pad(&left, room), theme::HEADER_NAME),
        Span::styled(right, theme::HEADER),
    ]);
    f.render_widget(Paragraph::new(bar).style(theme::HEADER), top);

    let mut spans = Vec::new();
    for pane in Pane::ALL {
        let label = format!(" {} {} ", pane.index() + 1, pane.title(lang));
        let style = if pane == app.focus {
            theme::SELECTED.patch(theme::TITLE)
        } else {
            theme::DIM
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    let other = match lang {
        Language::En => "L 中文",
        Language::Zh => "L English",
    };
    let used: usize = spans.iter().map(|s| width(&s.content)).sum();
    let room = (tabs.width as usize).saturating_sub(used);
    // The longest reminder that fits: with seven tabs, 80 columns leave room for the short one.
    let help = format!("? {}  {other} ", lang.pick("help", "帮助"));
    let full = format!("Tab/1-7 {}  {help}", lang.pick("panes", "切换"));
    let hint = [full, help]
        .into_iter()
        .find(|h| width(h) <= room)
        .unwrap_or_else(|| truncate(&format!("? {}", lang.pick("help", "帮助")), room));
    spans.push(Span::raw(" ".repeat(room.saturating_sub(width(&hint)))));
    spans.push(Span::styled(hint, theme::DIM));
    f.render_widget(Paragraph::new(Line::from(spans)), tabs);
}

/// "running 12/66", "idle", ...
fn run_state(app: &App) -> String {
    let lang = app.lang();
    let r = &app.run;
    let steps = r
        .last
        .as_ref()
        .map(|s| format!(" {}/{}", s.step, s.total_steps))
        .unwrap_or_default();
    let state = match r.phase {
        Phase::Idle => lang.pick("no run", "未训练").to_string(),
        Phase::Starting => lang.pick("● loading", "● 加载中").to_string(),
        Phase::Running => format!("{}{steps}", lang.pick("● training", "● 训练中")),
        Phase::Paused => format!("{}{steps}", lang.pick("‖ paused", "‖ 已暂停")),
        Phase::Stopping => lang.pick("■ stopping", "■ 正在停止").to_string(),
        Phase::Finished if r.stopped_early() => {
            format!("{}{steps}", lang.pick("■ stopped", "■ 已停止"))
        }
        Phase::Finished => format!("{}{steps}", lang.pick("✓ finished", "✓ 已完成")),
        Phase::Failed => lang.pick("✗ failed", "✗ 失败").to_string(),
        Phase::Following => format!("{}{steps}", lang.pick("◌ following", "◌ 跟踪中")),
    };
    if app.quit_when_done {
        format!("{state} · {}", lang.pick("quit when done", "结束后退出"))
    } else {
        state
    }
}
