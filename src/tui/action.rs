//! What the user can ask for, independent of which key asked: the keymap turns keys into
//! [`Action`]s and [`App::update`](super::App::update) carries them out.

use crate::experiment::Language;

/// The cockpit's panes, in focus order (their number keys are 1 to 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    /// Goal statement, lint and the decision helper.
    Goal,
    /// Records, checks, search and the split.
    Dataset,
    /// The preset's fields and derived figures.
    Preset,
    /// The live loss curve and run controls.
    Loss,
    /// The two-week plan.
    Plan,
    /// The three-part test and blind A/B judging.
    Eval,
    /// The chat playground with the pluggable skill card.
    Chat,
}

impl Pane {
    /// Every pane in focus order.
    pub const ALL: [Pane; 7] = [
        Pane::Goal,
        Pane::Dataset,
        Pane::Preset,
        Pane::Loss,
        Pane::Plan,
        Pane::Eval,
        Pane::Chat,
    ];

    /// Position in [`Pane::ALL`].
    pub fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    /// The next pane, wrapping around.
    pub fn next(self) -> Pane {
        Pane::ALL[(self.index() + 1) % Pane::ALL.len()]
    }

    /// The previous pane, wrapping around.
    pub fn prev(self) -> Pane {
        Pane::ALL[(self.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }

    /// The pane's name.
    pub fn title(self, lang: Language) -> &'static str {
        let (en, zh) = match self {
            Pane::Goal => ("Goal", "目标"),
            Pane::Dataset => ("Dataset", "数据"),
            Pane::Preset => ("Preset", "参数"),
            Pane::Loss => ("Loss", "损失"),
            Pane::Plan => ("Plan", "计划"),
            Pane::Eval => ("Eval", "评估"),
            Pane::Chat => ("Chat", "对话"),
        };
        lang.pick(en, zh)
    }
}

/// One thing the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Quit, asking first while a training run or the three-part test is running.
    Quit,
    /// Quit now (Ctrl-C); a running trainer is stopped and saved by the worker's shutdown.
    ForceQuit,
    /// Focus the next pane.
    FocusNext,
    /// Focus the previous pane.
    FocusPrev,
    /// Focus a pane.
    Focus(Pane),
    /// Open or close the help overlay.
    ToggleHelp,
    /// Switch between English and Chinese.
    ToggleLanguage,
    /// Select the previous item.
    Up,
    /// Select the next item.
    Down,
    /// Move a page up.
    PageUp,
    /// Move a page down.
    PageDown,
    /// Select the first item.
    Top,
    /// Select the last item.
    Bottom,
    /// Step the selected value up (or cycle forward).
    Increase,
    /// Step the selected value down (or cycle back).
    Decrease,
    /// Edit the selected field (type text or an exact value).
    Edit,
    /// Reset the selected field.
    Reset,
    /// Toggle the selected item (plan tick, yes/no answer).
    Toggle,
    /// Answer yes to the selected question.
    AnswerYes,
    /// Answer no to the selected question.
    AnswerNo,
    /// Start a search.
    Search,
    /// Go to the next search match.
    NextMatch,
    /// Go to the previous search match.
    PrevMatch,
    /// Follow a run folder another process writes, in the Loss pane.
    OpenRunFolder,
    /// Split the records 8:1:1.
    Split,
    /// Split again, replacing a different existing split.
    ForceSplit,
    /// Reload and re-check the records.
    Reload,
    /// Scroll the detail view down.
    DetailDown,
    /// Scroll the detail view up.
    DetailUp,
    /// Save the preset as a new file.
    SaveAs,
    /// Start a training run: resume the shown run when it stopped before its last step,
    /// otherwise a new one.
    StartRun,
    /// Start a new training run even when the shown one could be resumed.
    StartNewRun,
    /// Pause or resume the run.
    PauseResume,
    /// Stop the run, saving a checkpoint.
    StopRun,
    /// Save a checkpoint now and go on.
    SaveNow,
    /// Open the next-run menu for the shown (Loss) or selected (Eval) run.
    NextRun,
    /// Run the three-part test on the selected run.
    StartEval,
    /// Cancel the running test or stop the answer being written.
    CancelJob,
    /// Open or close blind A/B judging.
    Judge,
    /// Blind A/B judging: the next pair of base, base + RAG, LoRA, LoRA + RAG.
    NextPair,
    /// Write the selected run's `report.md` and `loss.png`.
    WriteReport,
    /// Export the selected run for llama.cpp and Ollama (asks first when it has not graduated).
    Export,
    /// Blind judging: answer A is better.
    PickA,
    /// Blind judging: answer B is better.
    PickB,
    /// Blind judging: neither is better.
    PickTie,
    /// Blind judging: reveal the labels and count the wins.
    Reveal,
    /// Plug the selected run's adapter in or out of the chat.
    ToggleAdapter,
    /// Chat compare mode: the base model and the adapter answer side by side.
    ToggleCompare,
    /// Chat: put the knowledge base's best chunks before each message (the RAG card).
    ToggleRag,
    /// Chat: open the last answer's next source in a popup (closes after the last).
    OpenSource,
    /// Loss pane: training curves as an EMA over the raw values, or raw.
    ToggleSmoothing,
    /// Type a character.
    Insert(char),
    /// Delete before the cursor.
    Backspace,
    /// Delete under the cursor.
    Delete,
    /// Cursor left.
    CursorLeft,
    /// Cursor right.
    CursorRight,
    /// Cursor up a line.
    CursorUp,
    /// Cursor down a line.
    CursorDown,
    /// Cursor to the line start.
    LineStart,
    /// Cursor to the line end.
    LineEnd,
    /// New line in a multi-line field (ends a one-line field).
    Newline,
    /// Finish editing, keeping the text.
    Done,
    /// Apply a prompt.
    Submit,
    /// Close a prompt without applying it.
    Cancel,
    /// Quit dialog: stop the training run (saving it) and cancel the test, then quit.
    StopAndQuit,
    /// Quit dialog: let the run and the test finish, then quit.
    KeepWaiting,
    /// Quit dialog: back to the cockpit.
    CancelQuit,
}

impl Action {
    /// Moves a list's selection: the arrows, the page keys, Home and End (the panes' lists
    /// all take the same six).
    pub fn is_navigation(self) -> bool {
        matches!(
            self,
            Action::Up
                | Action::Down
                | Action::Top
                | Action::Bottom
                | Action::PageUp
                | Action::PageDown
        )
    }
}
