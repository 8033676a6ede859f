//! The goal statement and its lint: the method's first step, "goal first".
//!
//! A good goal names its purpose and carries its own pass mark ("developers write tests 50%
//! faster"); a bad one is a wish ("a smarter model"). The lint catches the bad kinds with
//! plain word lists, not a language model: beginners get the same answer every time, and the
//! rules fit on one screen.

use serde::{Deserialize, Serialize};

use super::decide::Answers;

/// What the user wants to fine-tune for, and how they will know it worked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Goal {
    /// One or two sentences, with a measurable criterion.
    pub statement: String,
    /// Which of the method's three reasons to fine-tune this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// What the model should do, concretely (role, input, answer).
    pub target_behaviour: String,
    /// The answer's shape. Free text for people; when it starts with `^` it is also a regex
    /// every answer must match at its start (see [`Goal::output_regex`]).
    pub output_format: String,
    /// Pass marks for the three-part test.
    pub pass_marks: PassMarks,
    /// The decision helper's answers ("which card?"), kept so the recommendation is still
    /// there when the experiment is reopened. Files written before it existed load with
    /// every answer "no".
    pub decision: Answers,
}

/// The method's three good reasons to fine-tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Business data and know-how a general model cannot have.
    PrivateKnowledge,
    /// A specialised role or task with a fixed way of thinking and output format.
    SpecialisedTask,
    /// External APIs cost too much, or the data must stay under your control.
    CostSovereignty,
}

/// Fractions of questions (0..=1) each part of the three-part test must get right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PassMarks {
    /// Questions drawn from the training material: did it learn the book?
    pub exam: f64,
    /// New in-domain questions: does it generalise?
    pub interview: f64,
    /// Unrelated everyday questions: has it kept its general knowledge?
    pub guard: f64,
}

impl Default for PassMarks {
    fn default() -> Self {
        // Generalising is harder than recalling; forgetting everyday skills is the worst
        // failure, so the guard's mark is the highest.
        PassMarks {
            exam: 0.8,
            interview: 0.6,
            guard: 0.9,
        }
    }
}

/// How serious a finding is: errors stop the goal from passing, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The goal is not yet usable.
    Error,
    /// Worth fixing, but the goal is usable.
    Warning,
}

/// One problem with a goal, in English and Chinese.
#[derive(Debug, Clone, PartialEq)]
pub struct LintFinding {
    /// Error or warning.
    pub severity: Severity,
    /// Stable identifier: `too-short`, `no-criterion`, `vague-word`, `no-output-format`,
    /// `no-purpose`, `pass-mark-range`.
    pub code: &'static str,
    /// The finding and what to do, in English.
    pub message_en: String,
    /// The same, in Chinese.
    pub message_zh: String,
}

/// Words that wish for "more" without saying how much. Matched as whole English words.
const VAGUE_EN: [&str; 22] = [
    "better",
    "best",
    "smarter",
    "smart",
    "intelligent",
    "cleverer",
    "improve",
    "improved",
    "improves",
    "improving",
    "improvement",
    "good",
    "great",
    "nicer",
    "stronger",
    "powerful",
    "enhance",
    "enhanced",
    "optimize",
    "optimise",
    "optimized",
    "optimised",
];

/// The same in Chinese; Chinese has no spaces, so these match anywhere in the text.
const VAGUE_ZH: [&str; 14] = [
    "更好",
    "更聪明",
    "更智能",
    "更强",
    "更优秀",
    "更准确",
    "变聪明",
    "变好",
    "提升",
    "提高",
    "改进",
    "改善",
    "优化",
    "增强",
];

/// Phrases that make a goal measurable even without a digit.
const CRITERION_WORDS: [&str; 19] = [
    "percent",
    "at least",
    "at most",
    "no more than",
    "no less than",
    "half",
    "twice",
    "double",
    "pass mark",
    "pass rate",
    "百分之",
    "至少",
    "至多",
    "不超过",
    "不少于",
    "不低于",
    "一半",
    "倍",
    "通过率",
];

/// Statement length below which a goal cannot say what, for whom and how well.
const MIN_WIDTH: usize = 20;

impl Goal {
    /// The demo's goal, as in `datasets/security-review/goal.md`: a security code reviewer
    /// with a fixed four-line answer (the method's own example task).
    pub fn demo() -> Goal {
        Goal {
            statement: "Specialise SmolLM2-135M-Instruct into a security code reviewer: given a \
                        code snippet, it answers in the four-line Severity / Vulnerability / \
                        Explanation / Fix format and names the right vulnerability class for at \
                        least 80% of training snippets and 60% of unseen ones."
                .into(),
            purpose: Some(Purpose::SpecialisedTask),
            target_behaviour: "Given a code snippet, answer in four lines: Severity (Critical, \
                               High, Medium, Low or None), Vulnerability (class and CWE id, or \
                               \"None found\" for safe code), Explanation (what is wrong and what \
                               an attacker can do), Fix (the concrete fix)."
                .into(),
            // The dataset's own contract (datasets/README.md): every record's output matches it.
            output_format: "^Severity: (Critical|High|Medium|Low|None)\\nVulnerability: .+\\n\
                            Explanation: .+\\nFix: .+$"
                .into(),
            pass_marks: PassMarks::default(),
            decision: Answers::default(),
        }
    }

    /// The output format as a regex the start of every answer must match, when the format
    /// is written as one (it starts with `^`).
    pub fn output_regex(&self) -> Option<&str> {
        // Only leading space is dropped: a trailing space can be part of the pattern.
        let f = self.output_format.trim_start();
        f.starts_with('^').then_some(f)
    }
}

/// Every problem with `goal`, errors first.
pub fn lint(goal: &Goal) -> Vec<LintFinding> {
    let mut out = Vec::new();
    let statement = goal.statement.trim();
    let text = format!("{statement}\n{}", goal.target_behaviour);

    let width = display_width(statement);
    if width < MIN_WIDTH {
        out.push(error(
            "too-short",
            format!("The goal statement is too short ({width} of at least {MIN_WIDTH} characters): say what the model does, for whom, and how you will measure it."),
            format!("目标声明太短（{width} 个字符宽度，至少 {MIN_WIDTH}）：写清模型做什么、给谁用、怎样衡量。"),
        ));
    }
    let criterion = has_criterion(&text);
    if !criterion {
        out.push(error(
            "no-criterion",
            "No measurable criterion: add a number, a percentage or a pass mark, e.g. \"developers write tests 50% faster\".".into(),
            "没有可衡量的标准：加上数字、百分比或及格线，例如“开发者写测试的效率提升 50%”。".into(),
        ));
    }
    let vague = vague_words(&text);
    if !vague.is_empty() {
        let (en, zh) = (
            format!("Vague words \"{}\": say what changes and by how much, e.g. \"answers follow our Java test conventions\".", vague.join("\", \"")),
            format!("模糊用词“{}”：说清楚具体改变什么、改变多少，例如“按我司 Java 规范生成单元测试”。", vague.join("、")),
        );
        // With a measurable criterion beside it, "improve by 50%" is fine; without one the
        // vague word is the whole goal.
        out.push(if criterion {
            warning("vague-word", en, zh)
        } else {
            error("vague-word", en, zh)
        });
    }
    if goal.output_format.trim().is_empty() {
        out.push(error(
            "no-output-format",
            "No output format: describe the shape of a good answer (sections, fields, first line), or write a regex starting with ^.".into(),
            "没有输出格式：描述一个好答案的样子（段落、字段、第一行），或写一个以 ^ 开头的正则。".into(),
        ));
    }
    for (name, mark) in [
        ("exam", goal.pass_marks.exam),
        ("interview", goal.pass_marks.interview),
        ("guard", goal.pass_marks.guard),
    ] {
        if !(0.0..=1.0).contains(&mark) {
            out.push(error(
                "pass-mark-range",
                format!(
                    "Pass mark {name} = {mark} must be a fraction from 0 to 1 (write 0.8 for 80%)."
                ),
                format!("及格线 {name} = {mark} 必须是 0 到 1 之间的小数（80% 写作 0.8）。"),
            ));
        }
    }
    if goal.purpose.is_none() {
        out.push(warning(
            "no-purpose",
            "No purpose chosen: private knowledge, a specialised task, or cost and data sovereignty?".into(),
            "没有选择目的：知识私有化、任务专业化，还是成本与主权可控化？".into(),
        ));
    }
    out
}

/// True when the lint finds no error (warnings allowed).
pub fn passes(goal: &Goal) -> bool {
    lint(goal).iter().all(|f| f.severity != Severity::Error)
}

fn error(code: &'static str, message_en: String, message_zh: String) -> LintFinding {
    LintFinding {
        severity: Severity::Error,
        code,
        message_en,
        message_zh,
    }
}

fn warning(code: &'static str, message_en: String, message_zh: String) -> LintFinding {
    LintFinding {
        severity: Severity::Warning,
        ..error(code, message_en, message_zh)
    }
}

/// Width in terminal columns, roughly: a CJK character carries about two Latin letters'
/// worth of meaning and takes two columns, so "20 characters" means the same in both.
fn display_width(text: &str) -> usize {
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{115F}' | '\u{2E80}'..='\u{A4CF}' | '\u{AC00}'..='\u{D7A3}'
        | '\u{F900}'..='\u{FAFF}' | '\u{FE30}'..='\u{FE4F}' | '\u{FF00}'..='\u{FF60}'
        | '\u{FFE0}'..='\u{FFE6}' | '\u{20000}'..='\u{3FFFD}')
}

/// A digit, a percentage, a comparison or a phrase like "at least" / 至少.
fn has_criterion(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower
        .chars()
        .any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c) || "%％≥≤><".contains(c))
        || CRITERION_WORDS.iter().any(|w| lower.contains(w))
}

/// The vague words in `text`, each once, in list order.
fn vague_words(text: &str) -> Vec<&'static str> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '\''))
        .collect();
    let en = VAGUE_EN.into_iter().filter(|v| words.contains(v));
    let zh = VAGUE_ZH.into_iter().filter(|v| lower.contains(v));
    en.chain(zh).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(statement: &str) -> Goal {
        Goal {
            statement: statement.into(),
            ..Goal::default()
        }
    }

    fn codes(goal: &Goal) -> Vec<(&'static str, Severity)> {
        lint(goal).iter().map(|f| (f.code, f.severity)).collect()
    }

    #[test]
    fn the_methods_bad_goal_fails_on_vagueness_and_no_criterion() {
        let g = Goal {
            output_format: "free text".into(),
            purpose: Some(Purpose::SpecialisedTask),
            ..goal("a smarter model")
        };
        let found = codes(&g);
        assert!(
            found.contains(&("vague-word", Severity::Error)),
            "{found:?}"
        );
        assert!(
            found.contains(&("no-criterion", Severity::Error)),
            "{found:?}"
        );
        assert!(!passes(&g));
        let long = Goal {
            statement: "fine-tune a smarter model for our whole company".into(),
            ..g
        };
        assert!(!passes(&long));
    }

    #[test]
    fn the_methods_good_goal_passes_once_it_names_an_output_format() {
        let mut g = goal("an assistant that writes unit tests to our Java conventions; developers write tests 50% faster");
        assert_eq!(
            codes(&g),
            [
                ("no-output-format", Severity::Error),
                ("no-purpose", Severity::Warning)
            ]
        );
        g.output_format = "A JUnit 5 test class following the team template".into();
        assert!(passes(&g));
        g.purpose = Some(Purpose::SpecialisedTask);
        assert!(lint(&g).is_empty());
    }

    #[test]
    fn chinese_vague_words_are_found() {
        let g = Goal {
            output_format: "自由文本".into(),
            ..goal("微调一个更聪明、更智能的模型,让回答变好")
        };
        let f = lint(&g);
        let vague = f.iter().find(|f| f.code == "vague-word").unwrap();
        assert_eq!(vague.severity, Severity::Error);
        assert!(
            vague.message_zh.contains("“更聪明、更智能、变好”"),
            "{}",
            vague.message_zh
        );
        assert!(f.iter().any(|f| f.code == "no-criterion"));
    }

    #[test]
    fn a_vague_word_beside_a_number_is_only_a_warning() {
        let g = Goal {
            output_format: "JUnit 测试类".into(),
            purpose: Some(Purpose::SpecialisedTask),
            ..goal("微调一个能根据我司的Java代码规范自动生成单元测试用例的AI助手,将开发者的测试编写效率提升50%")
        };
        assert_eq!(codes(&g), [("vague-word", Severity::Warning)]);
        assert!(passes(&g));
    }

    #[test]
    fn vague_words_match_whole_english_words_only() {
        assert_eq!(
            vague_words("goodness knows, a smartphone app"),
            Vec::<&str>::new()
        );
        assert_eq!(vague_words("Better answers. GOOD tone"), ["better", "good"]);
    }

    #[test]
    fn criteria_can_be_words_or_symbols() {
        assert!(has_criterion("answers at least half of the questions"));
        assert!(has_criterion("准确率≥九成"));
        assert!(has_criterion("至少答对一半"));
        assert!(has_criterion("passes ３ of the questions"));
        assert!(!has_criterion("a model that answers like our support team"));
    }

    #[test]
    fn short_statements_count_chinese_characters_double() {
        assert_eq!(display_width("一个更聪明的模型"), 16);
        assert!(codes(&goal("一个更聪明的模型")).contains(&("too-short", Severity::Error)));
        assert!(!codes(&goal("给客服写符合公司话术的回复模板"))
            .iter()
            .any(|c| c.0 == "too-short"));
        assert!(codes(&goal("")).contains(&("too-short", Severity::Error)));
    }

    #[test]
    fn pass_marks_outside_zero_to_one_are_errors() {
        let mut g = Goal::demo();
        g.pass_marks.exam = 80.0;
        g.pass_marks.guard = f64::NAN;
        let f = lint(&g);
        let range: Vec<_> = f.iter().filter(|f| f.code == "pass-mark-range").collect();
        assert_eq!(range.len(), 2);
        assert!(
            range[0].message_en.contains("exam = 80")
                && range[0].message_en.contains("0.8 for 80%")
        );
        assert!(!passes(&g));
    }

    #[test]
    fn every_finding_has_both_languages() {
        for f in lint(&goal("")) {
            assert!(
                !f.message_en.is_empty() && !f.message_zh.is_empty(),
                "{f:?}"
            );
        }
    }

    #[test]
    fn demo_goal_is_clean_and_round_trips_through_toml() {
        let demo = Goal::demo();
        assert!(lint(&demo).is_empty(), "{:?}", lint(&demo));
        let text = toml::to_string(&demo).unwrap();
        assert!(text.contains("purpose = \"specialised_task\""), "{text}");
        assert_eq!(toml::from_str::<Goal>(&text).unwrap(), demo);
    }

    #[test]
    fn output_regex_only_when_the_format_is_one() {
        let mut g = Goal::demo();
        // Exactly the regex datasets/README.md promises every demo record matches.
        let readme = r"^Severity: (Critical|High|Medium|Low|None)\nVulnerability: .+\nExplanation: .+\nFix: .+$";
        assert_eq!(g.output_regex(), Some(readme));
        g.output_format = " ^Answer: ".into();
        assert_eq!(g.output_regex(), Some("^Answer: "));
        g.output_format = "A JUnit 5 test class".into();
        assert_eq!(g.output_regex(), None);
    }
}
