//! Typing: the goal's text fields (edited live, saved as you go) and one-line prompts (a
//! preset value, a preset name, a pass mark, a search), applied on Enter.

use super::goal::GoalRow;
use super::App;
use crate::tui::action::Action;
use crate::tui::editor::TextEditor;
use crate::tui::loss::Mood;

/// Text input in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// No text input: keys go to the focused pane.
    None,
    /// A goal field being edited in place.
    Edit {
        /// Which field.
        row: GoalRow,
        /// Its text and cursor.
        editor: TextEditor,
    },
    /// A one-line prompt on the status line.
    Prompt {
        /// What it asks for.
        kind: PromptKind,
        /// The answer so far.
        editor: TextEditor,
        /// Why the last Enter was refused.
        error: Option<String>,
    },
}

/// What a prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// An exact value for a preset key.
    PresetValue(&'static str),
    /// A name for a new preset file.
    SaveAs,
    /// A pass mark in percent.
    PassMark(GoalRow),
    /// Text to find in the records.
    Search,
    /// A message for the chat.
    Chat,
    /// A run folder to follow in the Loss pane (a LLaMA-Factory `output_dir`).
    RunFolder,
}

impl App {
    pub(super) fn open_prompt(&mut self, kind: PromptKind, initial: &str) {
        self.input = Input::Prompt {
            kind,
            editor: TextEditor::new(initial),
            error: None,
        };
    }

    /// A key while text input is open.
    pub(super) fn on_input(&mut self, action: Action) {
        match std::mem::replace(&mut self.input, Input::None) {
            Input::None => {}
            Input::Edit { row, mut editor } => {
                let finish = matches!(action, Action::Done)
                    || (action == Action::Newline && !row.multi_line());
                if finish {
                    self.save();
                    return;
                }
                if action == Action::Newline {
                    editor.insert('\n');
                } else {
                    edit(&mut editor, action);
                }
                self.set_goal_text(row, editor.text());
                self.input = Input::Edit { row, editor };
            }
            Input::Prompt {
                kind,
                mut editor,
                error,
            } => match action {
                Action::Cancel => {
                    if kind == PromptKind::Search {
                        self.search("");
                    }
                }
                Action::Submit => {
                    if let Err(e) = self.apply_prompt(kind, editor.text()) {
                        self.input = Input::Prompt {
                            kind,
                            editor,
                            error: Some(e),
                        };
                    }
                }
                _ => {
                    let before = editor.text().to_string();
                    edit(&mut editor, action);
                    let changed = editor.text() != before;
                    if changed && kind == PromptKind::Search {
                        self.search(editor.text());
                    }
                    let error = if changed { None } else { error };
                    self.input = Input::Prompt {
                        kind,
                        editor,
                        error,
                    };
                }
            },
        }
    }

    fn apply_prompt(&mut self, kind: PromptKind, text: &str) -> Result<(), String> {
        match kind {
            PromptKind::PresetValue(key) => self.preset_set(key, text),
            PromptKind::SaveAs => self.preset_save_as(text),
            PromptKind::RunFolder => self.follow_folder(text),
            PromptKind::PassMark(row) => {
                let t = text.trim().trim_end_matches('%').trim();
                let x: f64 = t.parse().map_err(|_| {
                    self.lang()
                        .pick(
                            "type a percentage from 0 to 100, like 80",
                            "请输入 0 到 100 的百分数，例如 80",
                        )
                        .to_string()
                })?;
                if !(0.0..=100.0).contains(&x) {
                    return Err(self
                        .lang()
                        .pick("a pass mark is from 0 to 100%", "及格线在 0 到 100% 之间")
                        .into());
                }
                self.set_pass_mark(row, x / 100.0);
                Ok(())
            }
            PromptKind::Chat => self.chat_send(text),
            PromptKind::Search => {
                let found = self.data.matches.len();
                let msg = match self.lang() {
                    crate::experiment::Language::En => format!("{found} matching records"),
                    crate::experiment::Language::Zh => format!("{found} 条匹配记录"),
                };
                self.tell(&msg, Mood::Neutral);
                Ok(())
            }
        }
    }
}

/// The editing keys shared by fields and prompts.
fn edit(editor: &mut TextEditor, action: Action) {
    match action {
        Action::Insert(c) => editor.insert(c),
        Action::Backspace => editor.backspace(),
        Action::Delete => editor.delete(),
        Action::CursorLeft => editor.left(),
        Action::CursorRight => editor.right(),
        Action::CursorUp => editor.up(),
        Action::CursorDown => editor.down(),
        Action::LineStart => editor.home(),
        Action::LineEnd => editor.end(),
        _ => {}
    }
}
