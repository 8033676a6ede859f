//! Plan pane: the ten dated items of the two-week plan, ticked from the files or by hand,
//! with progress and today's item highlighted.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::LineGauge;
use ratatui::Frame;

use super::{draw_lines, pane_block};
use crate::experiment::decide::recommend;
use crate::experiment::plan::{wants_knowledge_base, KNOWLEDGE_BASE_ITEM};
use crate::experiment::{Date, ItemStatus, Language, PLAN};
use crate::tui::action::Pane;
use crate::tui::app::App;
use crate::tui::loss::Mood;
use crate::tui::text::{pad, truncate};
use crate::tui::theme;

/// Draws the plan pane.
pub fn render(f: &mut Frame, area: Rect, app: &App, focused: bool) {
    let lang = app.lang();
    let plan = &app.exp.plan;
    let progress = plan.progress(&app.facts);
    let done = (progress * PLAN.len() as f64).round() as usize;
    let extra = match lang {
        Language::En => format!("{done}/10 done"),
        Language::Zh => format!("已完成 {done}/10"),
    };
    let inner = pane_block(f, area, Pane::Plan, lang, focused, &extra);
    let [gauge, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    f.render_widget(
        LineGauge::default()
            .ratio(progress.clamp(0.0, 1.0))
            .label(format!("{:>3.0}% ", progress * 100.0))
            .filled_style(theme::mood(Mood::Good))
            .unfilled_style(theme::DIM),
        gauge,
    );
    let statuses = plan.statuses(&app.facts, app.today);
    let dates = plan.dates();
    let w = inner.width as usize;
    let mut out = Vec::new();
    for (i, item) in PLAN.iter().enumerate() {
        if i == 0 || PLAN[i - 1].week != item.week {
            let heading = match lang {
                Language::En => format!("Week {}", item.week),
                Language::Zh => format!("第 {} 周", item.week),
            };
            out.push(Line::styled(heading, theme::TITLE));
        }
        let (mark, tag, style) = match statuses[i] {
            ItemStatus::DoneAuto => ("✓", lang.pick("auto", "自动"), theme::mood(Mood::Good)),
            ItemStatus::DoneManual => ("✓", lang.pick("by hand", "手动"), theme::mood(Mood::Good)),
            ItemStatus::Today => ("▶", lang.pick("today", "今天"), theme::TODAY),
            ItemStatus::Overdue => ("!", lang.pick("overdue", "逾期"), theme::mood(Mood::Warn)),
            ItemStatus::Upcoming => ("·", "", theme::TEXT),
        };
        let date = dates.map_or_else(|| "         ".into(), |d| day(d[i], lang));
        let title = lang.pick(item.title_en, item.title_zh);
        let room = w.saturating_sub(15 + 9);
        let title_style = if i == app.plan.selected && focused {
            theme::SELECTED
        } else {
            style
        };
        out.push(Line::from(vec![
            Span::styled(format!(" {date} "), theme::DIM),
            Span::styled(format!("{mark} "), style),
            Span::styled(pad(title, room), title_style),
            Span::styled(format!(" {tag}"), theme::DIM),
        ]));
    }
    if wants_knowledge_base(recommend(&app.exp.goal.decision).card) {
        let (mark, tag, style) = if app.facts.knowledge_base_built {
            ("✓", lang.pick("auto", "自动"), theme::mood(Mood::Good))
        } else {
            ("○", lang.pick("optional", "可选"), theme::TEXT)
        };
        let (en, zh) = KNOWLEDGE_BASE_ITEM;
        out.push(Line::from(vec![
            Span::styled("           ".to_string(), theme::DIM),
            Span::styled(format!("{mark} "), style),
            Span::styled(pad(lang.pick(en, zh), w.saturating_sub(15 + 9)), style),
            Span::styled(format!(" {tag}"), theme::DIM),
        ]));
    }
    let room = (list.height as usize).saturating_sub(out.len());
    if room > 1 {
        out.push(Line::raw(""));
        let note = lang.pick(
            "auto = ticked from the experiment's files; Space ticks the others by hand.",
            "自动 = 根据实验文件勾选；其余项按空格手动勾选。",
        );
        out.push(Line::styled(truncate(note, w), theme::DIM));
    }
    draw_lines(f, list, out);
}

/// `Mon 03-24` / `周一 03-24`.
fn day(d: Date, lang: Language) -> String {
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    let i = d.weekday() as usize % 7;
    let name = lang.pick(EN[i], ZH[i]);
    format!("{name} {:02}-{:02}", d.month(), d.day())
}
