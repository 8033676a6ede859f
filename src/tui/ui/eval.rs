//! Eval pane: the selected run, the runs table (from two runs on), a running test's progress, the per-part scores of the base
//! model and the adapter against the goal's pass marks with the verdict, the blind judging's
//! standing — or, while judging, one question with answers A and B side by side.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::blind::{blind_line, judging};
use super::{pane_block, wrapped};
use crate::eval::{EvalReport, Part, PartResult, Side};
use crate::experiment::Language;
use crate::tui::action::Pane;
use crate::tui::app::{part_name, ActiveEval, App, EvalState};
use crate::tui::loss::Mood;
use crate::tui::text::{pad, truncate, width};
use crate::tui::theme;

/// Draws the Eval pane.
pub fn render(f: &mut Frame, area: Rect, app: &App, focused: bool) {
    let lang = app.lang();
    let e = &app.eval;
    let mut extra = e.selected_run().unwrap_or_default().to_string();
    if e.judging {
        extra = format!("{extra} · {}", lang.pick("blind A/B", "A/B 盲评"));
    }
    let inner = pane_block(f, area, Pane::Eval, lang, focused, &extra);
    if e.judging {
        if let (Some(report), Some(session)) = (&e.report, e.blind()) {
            return judging(f, inner, report, session, e, lang);
        }
    }
    let w = inner.width;
    let mut lines = vec![run_line(e, lang, w)];
    // Two runs or more: the table that compares them, above the selected run's results.
    if app.runs.list.len() >= 2 {
        let rows: Vec<_> = app.runs.list.iter().map(|r| &r.row).collect();
        lines.push(Line::raw(""));
        lines.extend(super::runs::lines(&rows, e.selected_run(), lang, w));
    }
    if let Some(err) = &app.runs.error {
        lines.push(Line::raw(""));
        lines.extend(wrapped(err, w, theme::mood(Mood::Bad), 3));
    }
    if let Some(active) = &e.active {
        lines.push(Line::raw(""));
        lines.extend(progress(active, lang, w));
    }
    if let Some(err) = &e.error {
        lines.push(Line::raw(""));
        lines.extend(wrapped(err, w, theme::mood(Mood::Bad), 4));
    }
    lines.push(Line::raw(""));
    match (&e.report, &e.report_error, e.selected_run()) {
        (Some(r), _, _) => lines.extend(results(r, lang, w)),
        (None, Some(err), _) => lines.extend(wrapped(err, w, theme::mood(Mood::Bad), 4)),
        (None, None, Some(run)) if e.active.is_none() => {
            let text = match lang {
                Language::En => format!(
                    "{run} has not been tested yet. s runs the three-part test: the exam (training \
                     records), the interview (the sealed test split, unsealed and logged) and the \
                     guard (everyday questions), each answered by the base model and by base + \
                     adapter. Results go to runs/{run}/eval.json."
                ),
                Language::Zh => format!(
                    "{run} 还没有测试。按 s 运行三维盲测：笔试（训练数据）、面试（封存的测试集，启封并记录）\
                     和常识（日常问题），基础模型与基础模型+适配器分别作答。结果写入 runs/{run}/eval.json。"
                ),
            };
            lines.extend(wrapped(&text, w, theme::DIM, 8));
        }
        (None, None, None) => lines.extend(wrapped(
            lang.pick(
                "No finished run yet. Train one in the Loss pane (4); its adapter is then tested here.",
                "还没有完成的训练。请在损失窗格（4）训练一次，之后在这里测试它的适配器。",
            ),
            w,
            theme::DIM,
            4,
        )),
        _ => {}
    }
    f.render_widget(Paragraph::new(lines).scroll((e.scroll, 0)), inner);
}

/// `Run ◂ run-2 ▸ 2 of 3 · tested 2025-03-06 14:02 UTC`.
fn run_line(e: &EvalState, lang: Language, w: u16) -> Line<'static> {
    let Some(run) = e.selected_run() else {
        return Line::styled(lang.pick("Run: none", "训练：无"), theme::DIM);
    };
    // The arrows say whether ←/→ lead anywhere.
    let arrow = |more: bool| if more { theme::KEY } else { theme::DIM };
    let (left, right) = (arrow(e.selected > 0), arrow(e.selected + 1 < e.runs.len()));
    let of = match lang {
        Language::En => format!("{} of {}", e.selected + 1, e.runs.len()),
        Language::Zh => format!("第 {}/{} 次", e.selected + 1, e.runs.len()),
    };
    let tested = e.report.as_ref().map_or_else(String::new, |r| {
        let when = r.created.replace('T', " ").replace('Z', " UTC");
        let when = when.rsplit_once(':').map_or(when.as_str(), |(hm, _)| hm);
        format!(" · {} {when}", lang.pick("tested", "测试于"))
    });
    let rest = truncate(
        &format!(" {of}{tested}"),
        (w as usize).saturating_sub(width(run) + 8),
    );
    Line::from(vec![
        Span::styled(format!("{} ", lang.pick("Run", "训练")), theme::DIM),
        Span::styled("◂", left),
        Span::styled(format!(" {run} "), theme::TITLE),
        Span::styled("▸", right),
        Span::styled(rest, theme::DIM),
    ])
}

/// The running test: where it is and a bar over all answers.
fn progress(a: &ActiveEval, lang: Language, w: u16) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let head = match (&a.progress, &a.loading) {
        (_, Some(path)) => match lang {
            Language::En => format!("Testing {}: loading {}…", a.run, path.display()),
            Language::Zh => format!("正在测试 {}：加载 {}…", a.run, path.display()),
        },
        (Some(p), None) => {
            let who = side_name(p.side, lang);
            match lang {
                Language::En => format!(
                    "Testing {} · {} · {who} · question {}/{}",
                    a.run,
                    part_name(p.part, lang),
                    p.item + 1,
                    p.items
                ),
                Language::Zh => format!(
                    "正在测试 {} · {} · {who} · 第 {}/{} 题",
                    a.run,
                    part_name(p.part, lang),
                    p.item + 1,
                    p.items
                ),
            }
        }
        (None, None) if a.unsealed => match lang {
            Language::En => format!(
                "Testing {}: test split unsealed (logged); answering…",
                a.run
            ),
            Language::Zh => format!("正在测试 {}：测试集已启封（已记录），开始作答…", a.run),
        },
        (None, None) => match lang {
            Language::En => format!("Testing {}: starting on the jobs thread…", a.run),
            Language::Zh => format!("正在测试 {}：后台启动中…", a.run),
        },
    };
    out.extend(wrapped(&head, w, theme::TITLE, 2));
    let (done, total) = a.progress.map_or((0, 0), |p| (p.done, p.total));
    let label = match lang {
        Language::En => format!(" {done}/{total} answers"),
        Language::Zh => format!(" {done}/{total} 个回答"),
    };
    let room = (w as usize).saturating_sub(width(&label) + 2).min(40);
    let filled = (room * done).checked_div(total).unwrap_or(0).min(room);
    out.push(Line::from(vec![
        Span::styled("█".repeat(filled), theme::mood(Mood::Good)),
        Span::styled("░".repeat(room - filled), theme::DIM),
        Span::raw(label),
    ]));
    let hint = if a.cancelling() {
        lang.pick("Cancelling at the next token…", "将在下一个词元处取消…")
    } else {
        lang.pick("x cancels.", "按 x 取消。")
    };
    out.push(Line::styled(hint, theme::DIM));
    out
}

/// "Base model" / "Base + adapter".
fn side_name(side: Side, lang: Language) -> &'static str {
    match side {
        Side::Base => lang.pick("base model", "基础模型"),
        Side::Adapter => lang.pick("base + adapter", "基础模型+适配器"),
    }
}

/// The score table, the verdict, the guard's drift, the blind judging and the settings.
fn results(r: &EvalReport, lang: Language, w: u16) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let wide = w as usize;
    // part 10, mark 6, two score columns and the verdict (8), two cells apart.
    let col = wide
        .saturating_sub(10 + 6 + 2 + 2 + 2 + 8)
        .div_euclid(2)
        .clamp(8, 30);
    let mark = lang.pick("mark", "及格线");
    out.push(Line::styled(
        format!(
            "{}{}{mark}  {}  {}  {}",
            pad(lang.pick("part", "部分"), 10),
            " ".repeat(6usize.saturating_sub(width(mark))),
            pad(lang.pick("base model", "基础模型"), col),
            pad(lang.pick("base + adapter", "基础+适配器"), col),
            lang.pick("verdict", "结论")
        ),
        theme::DIM,
    ));
    for p in &r.parts {
        let (mark, style) = if p.passed {
            (lang.pick("✓ pass", "✓ 通过"), theme::mood(Mood::Good))
        } else {
            (lang.pick("✗ fail", "✗ 未过"), theme::mood(Mood::Bad))
        };
        out.push(Line::from(vec![
            Span::styled(pad(part_name(p.part, lang), 10), theme::TITLE),
            Span::raw(format!("{:>5.0}%  ", 100.0 * p.mark)),
            Span::raw(pad(&cell(p, Side::Base, lang), col)),
            Span::raw("  "),
            Span::raw(pad(&cell(p, Side::Adapter, lang), col)),
            Span::raw("  "),
            Span::styled(mark, style),
        ]));
    }
    out.push(Line::raw(""));
    let failed: Vec<&str> = r
        .failed_parts()
        .into_iter()
        .map(|p| part_name(p, lang))
        .collect();
    let (verdict, mood) = match (r.graduated, lang) {
        (true, Language::En) => (
            "✓ Graduated: exam, interview and guard all passed.".to_string(),
            Mood::Good,
        ),
        (true, Language::Zh) => ("✓ 毕业：笔试、面试和常识全部通过。".to_string(), Mood::Good),
        (false, Language::En) => (
            format!("✗ Not graduated: {} failed.", failed.join(", ")),
            Mood::Bad,
        ),
        (false, Language::Zh) => (
            format!("✗ 未毕业：{}未通过。", failed.join("、")),
            Mood::Bad,
        ),
    };
    out.push(Line::styled(
        truncate(&verdict, wide),
        theme::mood(mood).patch(theme::TITLE),
    ));
    if let Some(g) = r.part(Part::Guard) {
        if let (Some(b), Some(a)) = (g.base.perplexity, g.adapter.perplexity) {
            let text = match lang {
                Language::En => format!(
                    "Guard: perplexity of the reference answers {b:.2} → {a:.2}; the adapter's \
                     answers keep {:.0}% of the base model's wording.",
                    100.0 * g.agreement
                ),
                Language::Zh => format!(
                    "常识：参考答案困惑度 {b:.2} → {a:.2}；适配器的回答保留了基础模型 {:.0}% 的措辞。",
                    100.0 * g.agreement
                ),
            };
            out.extend(wrapped(&text, w, theme::TEXT, 2));
        }
    }
    if let Some(rag) = &r.rag {
        let t = rag.table();
        let n = rag.questions();
        let text = match lang {
            Language::En => format!(
                "RAG card, interview right: base {}/{n}, base + RAG {}/{n}, LoRA {}/{n}, LoRA + RAG {}/{n} (tunedeck eval --rag).",
                t[0][0], t[0][1], t[1][0], t[1][1]
            ),
            Language::Zh => format!(
                "RAG 卡，面试答对：基础 {}/{n}，基础 + RAG {}/{n}，LoRA {}/{n}，LoRA + RAG {}/{n}（tunedeck eval --rag）。",
                t[0][0], t[0][1], t[1][0], t[1][1]
            ),
        };
        out.extend(wrapped(&text, w, theme::TEXT, 2));
    }
    out.push(Line::raw(""));
    out.extend(wrapped(
        &blind_line(r.blind.as_ref(), lang),
        w,
        theme::TEXT,
        2,
    ));
    out.push(Line::raw(""));
    let s = &r.settings;
    let decoding = if s.temperature > 0.0 {
        format!("T={} top-p {}", s.temperature, s.top_p)
    } else {
        lang.pick("greedy", "贪心解码").to_string()
    };
    let figures = match lang {
        Language::En => format!(
            "{} answers in {:.0} s ({:.1}/min) · {decoding} · up to {} tokens · {}",
            r.timing.answers,
            r.timing.seconds,
            r.timing.answers_per_minute,
            s.max_new_tokens,
            s.device
        ),
        Language::Zh => format!(
            "{} 个回答，用时 {:.0} 秒（每分钟 {:.1} 个）· {decoding} · 最多 {} 词元 · {}",
            r.timing.answers,
            r.timing.seconds,
            r.timing.answers_per_minute,
            s.max_new_tokens,
            s.device
        ),
    };
    out.extend(wrapped(&figures, w, theme::DIM, 2));
    let rules = lang.pick(
        "Exam and interview pass on the share of right answers; the guard passes when the \
         adapter keeps the mark's share of the base model's score. Test split unsealing is logged.",
        "笔试和面试按答对比例判定；常识要求适配器得分不低于基础模型得分乘以及格线。测试集每次启封都有记录。",
    );
    out.extend(wrapped(rules, w, theme::DIM, 3));
    out
}

/// `3/5 right · 0.62`, with runaway answers flagged.
fn cell(p: &PartResult, side: Side, lang: Language) -> String {
    let s = p.summary(side);
    let mut text = match lang {
        Language::En => format!(
            "{}/{} right · {:.2}",
            s.correct,
            p.items.len(),
            s.mean_score
        ),
        Language::Zh => format!("对 {}/{} · {:.2}", s.correct, p.items.len(), s.mean_score),
    };
    if s.runaway > 0 {
        text += &match lang {
            Language::En => format!(" · {} runaway", s.runaway),
            Language::Zh => format!(" · {} 失控", s.runaway),
        };
    }
    text
}
