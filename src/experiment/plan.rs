//! The method's two-week plan: ten working days from goal statement to retrospective.
//!
//! An item is done when the experiment's files show it (ticked automatically) or when the
//! user ticks it; otherwise its date makes it today's, overdue or upcoming.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::date::Date;

/// The ten steps, in order; the names are what `experiment.toml` stores for manual ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Week 1, day 1: write the goal statement.
    Goal,
    /// Week 1, day 2: the first 10 gold records.
    Records1,
    /// Week 1, day 3: 20 gold records.
    Records2,
    /// Week 1, day 4: 30 or more gold records.
    Records3,
    /// Week 1, day 5: check, format and split 8:1:1.
    Split,
    /// Week 2, day 1: set up the tool and the base model.
    Setup,
    /// Week 2, day 2: first run with the starter preset.
    FirstRun,
    /// Week 2, day 3: watch the loss curve.
    WatchLoss,
    /// Week 2, day 4: the three-part blind test.
    ThreePartTest,
    /// Week 2, day 5: the retrospective.
    Retrospective,
}

/// One plan item as shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanItem {
    /// Which step.
    pub step: Step,
    /// 1 or 2.
    pub week: u8,
    /// What to do, in English.
    pub title_en: &'static str,
    /// What to do, in Chinese.
    pub title_zh: &'static str,
}

const fn item(step: Step, week: u8, title_en: &'static str, title_zh: &'static str) -> PlanItem {
    PlanItem {
        step,
        week,
        title_en,
        title_zh,
    }
}

/// The ten items in plan order (one per working day).
pub const PLAN: [PlanItem; 10] = [
    item(
        Step::Goal,
        1,
        "Write the goal statement, with its pass mark",
        "写下带评估标准的合格目标声明",
    ),
    item(
        Step::Records1,
        1,
        "Write gold records (10 so far)",
        "构造黄金标准数据（累计 10 条）",
    ),
    item(
        Step::Records2,
        1,
        "Write gold records (20 so far)",
        "构造黄金标准数据（累计 20 条）",
    ),
    item(
        Step::Records3,
        1,
        "Write gold records (30-50 in all)",
        "构造黄金标准数据（共 30-50 条）",
    ),
    item(
        Step::Split,
        1,
        "Check, format and split the data 8:1:1",
        "检查并格式化数据，按 8:1:1 分割",
    ),
    item(
        Step::Setup,
        2,
        "Set up the tool and the base model",
        "准备好工具和基础模型",
    ),
    item(
        Step::FirstRun,
        2,
        "Start the first run with the starter preset",
        "用“万能起手式”启动第一次训练",
    ),
    item(
        Step::WatchLoss,
        2,
        "Watch the loss: a gentle descent that flattens",
        "观察损失曲线：平缓下降并走平",
    ),
    item(
        Step::ThreePartTest,
        2,
        "Run the three-part blind test",
        "执行三维盲测答辩",
    ),
    item(
        Step::Retrospective,
        2,
        "Write the retrospective: improve the data or integrate?",
        "写首次实验复盘：改进数据还是进入集成？",
    ),
];

/// Records needed to tick each of the three record-writing days automatically.
const RECORDS_PER_DAY: [(Step, usize); 3] = [
    (Step::Records1, 10),
    (Step::Records2, 20),
    (Step::Records3, 30),
];

/// What the experiment's files show, gathered by the caller (see `Experiment::facts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExperimentFacts {
    /// The goal has no error-level lint finding.
    pub goal_passes_lint: bool,
    /// Valid records in the dataset.
    pub record_count: usize,
    /// train/val/test files exist.
    pub split_done: bool,
    /// Some run has started (its log exists).
    pub run_started: bool,
    /// Some run has finished (its adapter exists).
    pub run_finished: bool,
    /// Some run has an evaluation.
    pub eval_done: bool,
    /// Some run has a written report.
    pub report_written: bool,
    /// The experiment has a knowledge base (`rag/manifest.json`), the RAG card's extra step.
    pub knowledge_base_built: bool,
}

/// The optional item a card with retrieval (RAG, LoRA + RAG) adds to the plan, ticked when
/// the knowledge base exists: (English, Chinese).
pub const KNOWLEDGE_BASE_ITEM: (&str, &str) = (
    "Optional, RAG card: build the knowledge base (tunedeck rag index)",
    "可选，RAG 卡：建立知识库（tunedeck rag index）",
);

/// Whether the plan shows [`KNOWLEDGE_BASE_ITEM`]: the decision helper chose retrieval.
pub fn wants_knowledge_base(card: super::decide::Card) -> bool {
    matches!(
        card,
        super::decide::Card::Rag | super::decide::Card::LoraRag
    )
}

/// The steps the facts prove done. Starting a run proves the tool was set up; finishing it
/// proves the loss was watched to the end.
pub fn detect(facts: &ExperimentFacts) -> BTreeSet<Step> {
    let mut done = BTreeSet::new();
    let mut tick = |step, yes| {
        if yes {
            done.insert(step);
        }
    };
    tick(Step::Goal, facts.goal_passes_lint);
    for (step, needed) in RECORDS_PER_DAY {
        tick(step, facts.record_count >= needed);
    }
    tick(Step::Split, facts.split_done);
    tick(Step::Setup, facts.run_started);
    tick(Step::FirstRun, facts.run_started);
    tick(Step::WatchLoss, facts.run_finished);
    tick(Step::ThreePartTest, facts.eval_done);
    tick(Step::Retrospective, facts.report_written);
    done
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// The files show it done.
    DoneAuto,
    /// The user ticked it.
    DoneManual,
    /// Due today.
    Today,
    /// Due earlier and not done.
    Overdue,
    /// Due later (or the plan has no start date).
    Upcoming,
}

impl ItemStatus {
    /// Done either way.
    pub fn is_done(self) -> bool {
        matches!(self, ItemStatus::DoneAuto | ItemStatus::DoneManual)
    }
}

/// The plan's part of `experiment.toml`: when it starts and what the user ticked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanState {
    /// The first day (Monday of week 1, normally). A weekend start moves to the next Monday.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Date>,
    /// Steps the user ticked by hand.
    pub ticks: BTreeSet<Step>,
}

impl PlanState {
    /// A plan starting on `start`.
    pub fn starting(start: Date) -> PlanState {
        PlanState {
            start: Some(start),
            ticks: BTreeSet::new(),
        }
    }

    /// Each item's due date: ten consecutive working days (Monday to Friday) from `start`,
    /// so a Monday start gives exactly week 1 Mon-Fri and week 2 Mon-Fri.
    pub fn dates(&self) -> Option<[Date; 10]> {
        let mut day = self.start?;
        let mut out = [day; 10];
        for slot in &mut out {
            while day.is_weekend() {
                day = day.add_days(1);
            }
            *slot = day;
            day = day.add_days(1);
        }
        Some(out)
    }

    /// Ticks `step` by hand, or unticks it.
    pub fn set_tick(&mut self, step: Step, done: bool) {
        if done {
            self.ticks.insert(step);
        } else {
            self.ticks.remove(&step);
        }
    }

    /// Every item's status on `today`, in plan order.
    pub fn statuses(&self, facts: &ExperimentFacts, today: Date) -> [ItemStatus; 10] {
        let auto = detect(facts);
        let dates = self.dates();
        std::array::from_fn(|i| {
            let step = PLAN[i].step;
            if auto.contains(&step) {
                return ItemStatus::DoneAuto;
            }
            if self.ticks.contains(&step) {
                return ItemStatus::DoneManual;
            }
            match dates.map(|d| d[i].cmp(&today)) {
                Some(std::cmp::Ordering::Equal) => ItemStatus::Today,
                Some(std::cmp::Ordering::Less) => ItemStatus::Overdue,
                _ => ItemStatus::Upcoming,
            }
        })
    }

    /// Fraction of the ten items done, automatically or by hand.
    pub fn progress(&self, facts: &ExperimentFacts) -> f64 {
        let auto = detect(facts);
        let done = PLAN
            .iter()
            .filter(|it| auto.contains(&it.step) || self.ticks.contains(&it.step))
            .count();
        done as f64 / PLAN.len() as f64
    }

    /// The item due on `today`; `None` on weekends, before the start and after the end.
    pub fn today_index(&self, today: Date) -> Option<usize> {
        self.dates()?.iter().position(|d| *d == today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn dates_span_two_working_weeks_across_a_month_boundary() {
        // Monday 2025-03-24: week 2 runs from Monday 03-31 into April.
        let plan = PlanState::starting(date("2025-03-24"));
        let d = plan.dates().unwrap();
        let expected = [
            "2025-03-24",
            "2025-03-25",
            "2025-03-26",
            "2025-03-27",
            "2025-03-28",
            "2025-03-31",
            "2025-04-01",
            "2025-04-02",
            "2025-04-03",
            "2025-04-04",
        ];
        assert_eq!(d.map(|d| d.to_string()), expected);
        assert!(PLAN[..5].iter().all(|i| i.week == 1) && PLAN[5..].iter().all(|i| i.week == 2));
    }

    #[test]
    fn a_weekend_start_moves_to_monday_and_a_midweek_start_skips_weekends() {
        let sat = PlanState::starting(date("2025-03-22")).dates().unwrap();
        assert_eq!(sat[0], date("2025-03-24"));
        let wed = PlanState::starting(date("2025-12-31")).dates().unwrap();
        assert_eq!(wed[2], date("2026-01-02")); // Friday
        assert_eq!(wed[3], date("2026-01-05")); // the next Monday
        assert!(PlanState::default().dates().is_none());
    }

    #[test]
    fn detect_ticks_what_the_files_show() {
        assert!(detect(&ExperimentFacts::default()).is_empty());
        let some = ExperimentFacts {
            goal_passes_lint: true,
            record_count: 25,
            ..Default::default()
        };
        let done: Vec<_> = detect(&some).into_iter().collect();
        assert_eq!(done, [Step::Goal, Step::Records1, Step::Records2]);
        let all = ExperimentFacts {
            goal_passes_lint: true,
            record_count: 30,
            split_done: true,
            run_started: true,
            run_finished: true,
            eval_done: true,
            report_written: true,
            knowledge_base_built: true,
        };
        assert_eq!(detect(&all).len(), 10);
    }

    #[test]
    fn statuses_rank_auto_then_manual_then_date() {
        let mut plan = PlanState::starting(date("2025-03-24"));
        plan.set_tick(Step::Records1, true);
        plan.set_tick(Step::Goal, true);
        let facts = ExperimentFacts {
            goal_passes_lint: true,
            ..Default::default()
        };
        let s = plan.statuses(&facts, date("2025-03-26"));
        assert_eq!(s[0], ItemStatus::DoneAuto);
        assert_eq!(s[1], ItemStatus::DoneManual);
        assert_eq!(s[2], ItemStatus::Today);
        assert_eq!(s[3], ItemStatus::Upcoming);
        let later = plan.statuses(&facts, date("2025-04-01"));
        assert_eq!(later[2..6], [ItemStatus::Overdue; 4]);
        assert_eq!(later[6], ItemStatus::Today);
        assert_eq!(plan.progress(&facts), 0.2);
        plan.set_tick(Step::Records1, false);
        assert_eq!(plan.progress(&facts), 0.1);
    }

    #[test]
    fn today_index_finds_the_working_day() {
        let plan = PlanState::starting(date("2025-03-24"));
        assert_eq!(plan.today_index(date("2025-03-24")), Some(0));
        assert_eq!(plan.today_index(date("2025-04-01")), Some(6));
        assert_eq!(plan.today_index(date("2025-03-29")), None); // Saturday
        assert_eq!(plan.today_index(date("2025-04-07")), None);
        assert_eq!(PlanState::default().today_index(date("2025-03-24")), None);
    }

    #[test]
    fn no_start_means_everything_upcoming() {
        let s = PlanState::default().statuses(&ExperimentFacts::default(), date("2025-03-24"));
        assert_eq!(s, [ItemStatus::Upcoming; 10]);
    }

    #[test]
    fn state_round_trips_through_toml() {
        let mut plan = PlanState::starting(date("2025-03-24"));
        plan.set_tick(Step::ThreePartTest, true);
        plan.set_tick(Step::Records1, true);
        let text = toml::to_string(&plan).unwrap();
        assert_eq!(
            text,
            "start = \"2025-03-24\"\nticks = [\"records1\", \"three-part-test\"]\n"
        );
        assert_eq!(toml::from_str::<PlanState>(&text).unwrap(), plan);
    }
}
