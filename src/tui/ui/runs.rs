//! The runs table of the Eval pane: every run of the experiment in a row, with the columns
//! that fit the width ([`crate::eval::runs::Column`], as `tunedeck runs` prints them), the
//! selected run highlighted and each run's id in its curve's colour.

use ratatui::text::{Line, Span};

use crate::eval::runs::{Column, RunRow, Verdict};
use crate::experiment::Language;
use crate::tui::loss::Mood;
use crate::tui::text::{pad, truncate, width};
use crate::tui::theme;

/// Columns given up first when the pane is narrow (the run, its change and its verdict stay).
const DROP_ORDER: [Column; 8] = [
    Column::Runaways,
    Column::Perplexity,
    Column::Steps,
    Column::Best,
    Column::Forgetting,
    Column::Guard,
    Column::Interview,
    Column::Exam,
];
/// The change column is never squeezed below this.
const CHANGE_MIN: usize = 24;
const GAP: usize = 2;

/// The table's lines for a pane `w` cells wide; `selected` is the highlighted run.
pub fn lines(
    rows: &[&RunRow],
    selected: Option<&str>,
    lang: Language,
    w: u16,
) -> Vec<Line<'static>> {
    let w = w as usize;
    let natural = |c: Column| {
        rows.iter()
            .map(|r| width(&r.cell(c, lang)))
            .chain([width(c.title(lang))])
            .max()
            .unwrap_or(0)
    };
    let mut shown: Vec<Column> = Column::ALL.to_vec();
    let fixed = |shown: &[Column]| -> usize {
        shown
            .iter()
            .filter(|&&c| c != Column::Change)
            .map(|&c| natural(c) + GAP)
            .sum()
    };
    for drop in DROP_ORDER {
        if fixed(&shown) + CHANGE_MIN <= w {
            break;
        }
        shown.retain(|&c| c != drop);
    }
    let change_w = w
        .saturating_sub(fixed(&shown))
        .min(natural(Column::Change))
        .max(1);
    let col_w = |c: Column| match c {
        Column::Change => change_w,
        _ => natural(c),
    };
    let head: String = shown
        .iter()
        .map(|&c| pad(c.title(lang), col_w(c) + GAP))
        .collect();
    let mut out = vec![Line::styled(head.trim_end().to_string(), theme::DIM)];
    for row in rows {
        let is_selected = selected == Some(row.id.as_str());
        let spans: Vec<Span<'static>> = shown
            .iter()
            .map(|&c| {
                let style = match c {
                    Column::Run => theme::run(&row.id, is_selected),
                    Column::Forgetting if row.probe.is_some_and(|p| p.forgetting()) => {
                        theme::mood(Mood::Warn)
                    }
                    Column::Verdict => theme::mood(match row.verdict {
                        Verdict::Graduated => Mood::Good,
                        Verdict::NotGraduated { .. } => Mood::Bad,
                        Verdict::NotTested => Mood::Neutral,
                    }),
                    _ => theme::TEXT,
                };
                let style = match is_selected {
                    true => style.patch(theme::SELECTED),
                    false => style,
                };
                let cell = truncate(&row.cell(c, lang), col_w(c));
                Span::styled(pad(&cell, col_w(c) + GAP), style)
            })
            .collect();
        out.push(Line::from(spans));
    }
    out
}
