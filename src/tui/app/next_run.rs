//! The next-run menu: one key in the Loss or Eval pane offers the run's recommended step as
//! a concrete change, then the method's levers. Choosing a change starts a new run with that
//! preset through the path `s` takes, after writing the new run's `origin.json`; "improve the
//! data first" goes to the Dataset pane and starts nothing.

use super::{moved, App, Overlay};
use crate::eval::advice::NextStep;
use crate::eval::locate::RunContext;
use crate::eval::next_run::{recommended, recommended_step, Lever, Origin, Outcome};
use crate::experiment::Language;
use crate::preset::Preset;
use crate::tui::action::{Action, Pane};
use crate::tui::loss::Mood;

/// One choice of the menu.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuEntry {
    /// The lever it pulls.
    pub lever: Lever,
    /// It is the report's recommended step.
    pub recommended: bool,
    /// What choosing it does.
    pub outcome: Outcome,
}

/// The open menu.
#[derive(Debug, Clone, PartialEq)]
pub struct NextRunMenu {
    /// The run the next one starts from.
    pub from: String,
    /// That run's preset.
    pub base: Preset,
    /// Its report's recommended step.
    pub step: NextStep,
    /// The choices: the recommended change first (when there is one), then every lever that
    /// applies to `base`.
    pub entries: Vec<MenuEntry>,
    /// Index into `entries`.
    pub selected: usize,
    /// The folder name a started run gets (`run-3`).
    pub new_run: String,
}

impl NextRunMenu {
    /// The menu for run `from`, trained with `base`, whose report recommends `step`.
    pub fn new(from: &str, base: Preset, step: NextStep, new_run: String) -> NextRunMenu {
        let offer = |lever: Lever, recommended: bool| {
            lever.outcome(&base).map(|outcome| MenuEntry {
                lever,
                recommended,
                outcome,
            })
        };
        let entries = recommended(step, &base)
            .and_then(|l| offer(l, true))
            .into_iter()
            .chain(Lever::ALL.into_iter().filter_map(|l| offer(l, false)))
            .collect();
        NextRunMenu {
            from: from.to_string(),
            base,
            step,
            entries,
            selected: 0,
            new_run,
        }
    }

    /// The entry's name: the lever's, after "recommended:" for the report's.
    pub fn label(&self, entry: &MenuEntry, lang: Language) -> String {
        let name = entry.lever.label(&self.base, lang);
        match (entry.recommended, lang) {
            (false, _) => name.to_string(),
            (true, Language::En) => format!("recommended: {name}"),
            (true, Language::Zh) => format!("推荐：{name}"),
        }
    }

    /// Why, for `origin.json`: the lever's reason, after the report's step when recommended.
    fn why(&self, entry: &MenuEntry) -> String {
        let why = entry.lever.why(&self.base);
        match entry.recommended {
            true => format!("{}: {why}", self.step.title(Language::En)),
            false => why.to_string(),
        }
    }
}

impl App {
    /// n in the Loss pane (the run shown) or the Eval pane (the run selected).
    pub(super) fn open_next_run(&mut self) {
        let lang = self.lang();
        if self.run.is_active() {
            let msg = lang.pick(
                "A run is already active: choose the next one when it ends.",
                "已有训练在进行：结束后再选下一次训练。",
            );
            return self.tell(msg, Mood::Neutral);
        }
        let from = match self.focus {
            Pane::Loss if self.run.id.is_some() => Some(self.run.name.clone()),
            _ => self.eval.selected_run().map(str::to_string),
        };
        let Some(from) = from else {
            let msg = lang.pick(
                "No run to start from yet: s in the Loss pane (4) trains the first one.",
                "还没有可作为起点的训练：在损失窗格（4）按 s 开始第一次训练。",
            );
            return self.tell(msg, Mood::Neutral);
        };
        // The preset that trained the run and the run's report, as `tunedeck report` reads them.
        let ctx = match RunContext::open(&self.dir, Some(&from)) {
            Ok(ctx) => ctx,
            Err(e) => return self.tell(&format!("{e:#}"), Mood::Bad),
        };
        let step = recommended_step(ctx.run.path());
        let new_run = format!("run-{}", self.run.next_id());
        self.next_run = Some(NextRunMenu::new(&from, ctx.preset, step, new_run));
        self.overlay = Overlay::NextRun;
    }

    pub(super) fn next_run_action(&mut self, action: Action) {
        let Some(menu) = self.next_run.as_mut() else {
            self.overlay = Overlay::None;
            return;
        };
        match action {
            Action::Up | Action::Down | Action::Top | Action::Bottom => {
                menu.selected = moved(menu.selected, menu.entries.len(), action, 1);
            }
            Action::Submit => self.choose_next_run(),
            Action::Cancel => {
                self.next_run = None;
                self.overlay = Overlay::None;
            }
            _ => {}
        }
    }

    /// Carries out the selected entry and closes the menu.
    fn choose_next_run(&mut self) {
        self.overlay = Overlay::None;
        let Some(menu) = self.next_run.take() else {
            return;
        };
        let Some(entry) = menu.entries.get(menu.selected) else {
            return;
        };
        match &entry.outcome {
            Outcome::ImproveData => {
                self.focus = Pane::Dataset;
                self.refresh_facts();
                let msg = self.lang().pick(
                    "Improve the records first (consistent answers in one format, more diverse cases), then train again; nothing was started.",
                    "先改进数据（答案一致、格式统一、案例更多样），再重新训练；没有启动训练。",
                );
                self.tell(msg, Mood::Neutral);
            }
            Outcome::Train { preset, changes } => {
                let origin = Origin {
                    from: menu.from.clone(),
                    changes: changes.clone(),
                    why: menu.why(entry),
                };
                self.start_next_run((**preset).clone(), origin);
            }
        }
    }
}
