//! Dataset pane: check statistics, the split, the record list with issue markers, and the
//! selected record wrapped for reading. The sealed test part shows only count and hash.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

use super::{draw_lines, pane_block, scroll_start, wrapped};
use crate::data::inspect::Stage;
use crate::data::{CheckReport, Severity, SplitManifest};
use crate::experiment::Language;
use crate::tui::action::Pane;
use crate::tui::app::{App, DataWork, DatasetState};
use crate::tui::loss::Mood;
use crate::tui::text::{pad, truncate};
use crate::tui::theme;

/// Draws the dataset pane.
pub fn render(f: &mut Frame, area: Rect, app: &App, focused: bool) {
    let lang = app.lang();
    let d = &app.data;
    let extra = if d.query.is_empty() {
        d.file.clone()
    } else {
        format!("{} · /{} ({})", d.file, d.query, d.matches.len())
    };
    let inner = pane_block(f, area, Pane::Dataset, lang, focused, &extra);
    let mut head = Vec::new();
    if let Some(job) = d.job {
        head.push(Line::styled(
            truncate(&job_line(job.work, &d.file, lang), inner.width as usize),
            theme::TITLE,
        ));
    }
    match (&d.report, &d.error) {
        (Some(report), _) => head.extend(stats(report, lang, inner.width)),
        (None, Some(e)) => head.extend(wrapped(e, inner.width, theme::mood(Mood::Bad), 3)),
        (None, None) => {}
    }
    head.extend(split_lines(d, lang, inner.width));
    let [top, body] =
        Layout::vertical([Constraint::Length(head.len() as u16), Constraint::Min(0)]).areas(inner);
    draw_lines(f, top, head);
    if d.rows.is_empty() {
        return;
    }
    let [list, detail] =
        Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(body);
    draw_lines(f, list, list_lines(d, lang, list, focused));
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(theme::BORDER);
    let text_area = block.inner(detail);
    f.render_widget(block, detail);
    draw_lines(f, text_area, detail_lines(d, lang, text_area));
}

/// How far the reload or split on the jobs thread is.
fn job_line(work: DataWork, file: &str, lang: Language) -> String {
    match (work, lang) {
        (DataWork::Checking(Stage::Reading), Language::En) => format!("Reloading {file}: reading…"),
        (DataWork::Checking(Stage::Reading), Language::Zh) => {
            format!("正在重新加载 {file}：读取中…")
        }
        (DataWork::Checking(Stage::Checking(n)), Language::En) => {
            format!("Reloading {file}: checking {n} records…")
        }
        (DataWork::Checking(Stage::Checking(n)), Language::Zh) => {
            format!("正在重新加载 {file}：检查 {n} 条记录…")
        }
        (DataWork::Checking(Stage::MatchingSplit), Language::En) => {
            format!("Reloading {file}: finding the sealed records…")
        }
        (DataWork::Checking(Stage::MatchingSplit), Language::Zh) => {
            format!("正在重新加载 {file}：核对封存的记录…")
        }
        (DataWork::Splitting, Language::En) => "Splitting 8:1:1 into data/…".into(),
        (DataWork::Splitting, Language::Zh) => "正在按 8:1:1 分割到 data/…".into(),
    }
}

fn stats(r: &CheckReport, lang: Language, width: u16) -> Vec<Line<'static>> {
    let counted = if r.tokens.exact { "" } else { "≈" };
    let text = match lang {
        Language::En => format!(
            "{} records · {} errors · {} warnings · {counted}tokens p50 {} p95 {} max {} (cutoff {}, {} longer)",
            r.records, r.errors, r.warnings, r.tokens.p50, r.tokens.p95, r.tokens.max, r.tokens.cutoff, r.tokens.truncated
        ),
        Language::Zh => format!(
            "{} 条记录 · {} 个错误 · {} 个警告 · {counted}词元 p50 {} p95 {} 最长 {}（截断长度 {}，超长 {} 条）",
            r.records, r.errors, r.warnings, r.tokens.p50, r.tokens.p95, r.tokens.max, r.tokens.cutoff, r.tokens.truncated
        ),
    };
    let mood = if r.errors > 0 {
        Mood::Bad
    } else {
        Mood::Neutral
    };
    let mut out = wrapped(&text, width, theme::mood(mood), 2);
    let variety = match lang {
        Language::En => format!(
            "variety: {:.0}% distinct word pairs, {} distinct openings · {}",
            100.0 * r.diversity.bigram_ratio,
            r.diversity.distinct_openings,
            r.size.message
        ),
        Language::Zh => format!(
            "多样性：{:.0}% 的词对不重复，{} 种不同开头 · 建议 50–200 条高质量记录",
            100.0 * r.diversity.bigram_ratio,
            r.diversity.distinct_openings
        ),
    };
    out.push(Line::styled(truncate(&variety, width as usize), theme::DIM));
    out
}

fn split_lines(d: &DatasetState, lang: Language, width: u16) -> Vec<Line<'static>> {
    let Some(m) = &d.split else {
        let text = lang.pick(
            "Not split yet: s splits 8:1:1 into train / val / a sealed test set.",
            "尚未分割：按 s 按 8:1:1 分为训练 / 验证 / 封存测试集。",
        );
        return vec![Line::styled(
            truncate(text, width as usize),
            theme::mood(Mood::Warn),
        )];
    };
    let mut out = vec![Line::styled(
        truncate(&split_summary(m, lang), width as usize),
        theme::mood(Mood::Good),
    )];
    if d.split_is_stale() {
        let text = lang.pick(
            "The records changed since this split: S splits again (new sealed test set).",
            "分割后数据已改动：按 S 重新分割（会生成新的封存测试集）。",
        );
        out.push(Line::styled(
            truncate(text, width as usize),
            theme::mood(Mood::Warn),
        ));
    }
    for note in &d.split_notes {
        out.extend(wrapped(note, width, theme::mood(Mood::Warn), 2));
    }
    out
}

/// "split 8:1:1 seed 42: train 98 · val 12 · test 13 sealed sha256 1a2b3c4d…".
fn split_summary(m: &SplitManifest, lang: Language) -> String {
    let hash = truncate(&m.sha256.test, 13);
    let c = &m.counts;
    match lang {
        Language::En => format!(
            "split {} seed {}: train {} · val {} · test {} sealed, sha256 {hash}",
            m.ratio, m.seed, c.train, c.val, c.test
        ),
        Language::Zh => format!(
            "已分割 {}（种子 {}）：训练 {} · 验证 {} · 测试 {} 已封存，sha256 {hash}",
            m.ratio, m.seed, c.train, c.val, c.test
        ),
    }
}

fn list_lines(d: &DatasetState, lang: Language, area: Rect, focused: bool) -> Vec<Line<'static>> {
    let height = area.height as usize;
    let first = scroll_start(d.selected, height);
    let w = area.width as usize;
    d.rows
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, row)| {
            let (mark, mood) = match row.severity {
                Some(Severity::Error) => ("✗", Mood::Bad),
                Some(Severity::Warning) => ("!", Mood::Warn),
                None => (" ", Mood::Neutral),
            };
            let title = if row.sealed {
                lang.pick("(sealed test record)", "（已封存的测试记录）")
            } else {
                &row.title
            };
            let title = pad(title, w.saturating_sub(7));
            let style = if i == d.selected && focused {
                theme::SELECTED
            } else if i == d.selected {
                theme::TITLE
            } else if d.matches.contains(&i) {
                theme::MATCH
            } else if row.sealed {
                theme::DIM
            } else {
                theme::TEXT
            };
            Line::from(vec![
                Span::styled(format!("{mark} "), theme::mood(mood)),
                Span::styled(format!("{:>4} ", row.line), theme::DIM),
                Span::styled(title, style),
            ])
        })
        .collect()
}

fn detail_lines(d: &DatasetState, lang: Language, area: Rect) -> Vec<Line<'static>> {
    let Some(row) = d.rows.get(d.selected) else {
        return Vec::new();
    };
    let w = area.width.max(1);
    let mut out = Vec::new();
    let head = match lang {
        Language::En => format!("line {}", row.line),
        Language::Zh => format!("第 {} 行", row.line),
    };
    out.push(Line::styled(head, theme::DIM));
    if row.sealed {
        let text = lang.pick(
            "This record is in the sealed test set: it stays unseen until the three-part test, so the test still measures generalisation.",
            "这条记录属于封存的测试集：在三维盲测之前不查看，测试才能衡量泛化能力。",
        );
        out.extend(wrapped(text, w, theme::DIM, 4));
        return out;
    }
    for issue in &row.issues {
        let mood = if row.severity == Some(Severity::Error) {
            Mood::Bad
        } else {
            Mood::Warn
        };
        out.extend(wrapped(issue, w, theme::mood(mood), 4));
    }
    if let (Some(i), Some(ds)) = (row.record, &d.dataset) {
        let e = &ds.records[i].example;
        for (label, text) in [
            (lang.pick("Instruction", "指令"), &e.instruction),
            (lang.pick("Input", "输入"), &e.input),
            (lang.pick("Output", "输出"), &e.output),
        ] {
            if text.is_empty() {
                continue;
            }
            out.push(Line::styled(label.to_string(), theme::TITLE));
            out.extend(wrapped(text, w, theme::TEXT, usize::MAX));
        }
    }
    out.into_iter()
        .skip(d.scroll as usize)
        .take(area.height as usize)
        .collect()
}
