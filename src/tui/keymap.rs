//! Keys are data: one table maps (context, key) to an [`Action`]. This is the only file that
//! names key codes; the help overlay and the status line are generated from [`BINDINGS`], so
//! they always tell the truth.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Pane};
use crate::experiment::Language;

/// Where a key is pressed: which pane, or which input or overlay has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyContext {
    /// A pane has the focus.
    Pane(Pane),
    /// A multi-line text field is being edited.
    Editor,
    /// A one-line prompt is open (a value, a name, a search).
    Prompt,
    /// The help overlay is open.
    Help,
    /// The quit dialog is open.
    QuitDialog,
    /// The Eval pane is judging answers A and B blind.
    Judge,
    /// The next-run menu is open.
    NextRun,
    /// `tunedeck watch`: the Loss pane alone, following a run folder.
    Watch,
}

/// Which bindings a table row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every context.
    Always,
    /// Every pane (behind the pane's own keys).
    Global,
    /// One pane.
    Pane(Pane),
    /// Text editing.
    Editor,
    /// One-line prompts.
    Prompt,
    /// The help overlay.
    Help,
    /// The quit dialog.
    QuitDialog,
    /// Blind A/B judging.
    Judge,
    /// The next-run menu.
    NextRun,
    /// `tunedeck watch`.
    Watch,
}

/// A key with its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    code: KeyCode,
    mods: KeyModifiers,
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

const fn key(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Where it applies.
    pub scope: Scope,
    /// The keys, the first one shown on the status line.
    pub keys: &'static [Key],
    /// What they do.
    pub action: Action,
    /// Description in English and Chinese.
    pub help: (&'static str, &'static str),
    /// Shown on the status line.
    pub hint: bool,
}

const fn b(
    scope: Scope,
    keys: &'static [Key],
    action: Action,
    en: &'static str,
    zh: &'static str,
    hint: bool,
) -> Binding {
    Binding {
        scope,
        keys,
        action,
        help: (en, zh),
        hint,
    }
}

use Scope::{Always, Editor, Global, Help, Prompt, QuitDialog, Watch};
const GOAL: Scope = Scope::Pane(Pane::Goal);
const DATA: Scope = Scope::Pane(Pane::Dataset);
const PRESET: Scope = Scope::Pane(Pane::Preset);
const LOSS: Scope = Scope::Pane(Pane::Loss);
const PLAN: Scope = Scope::Pane(Pane::Plan);
const EVAL: Scope = Scope::Pane(Pane::Eval);
const CHAT: Scope = Scope::Pane(Pane::Chat);
const JUDGE: Scope = Scope::Judge;
const NEXT: Scope = Scope::NextRun;
const UP: &[Key] = &[key(KeyCode::Up), ch('k')];
const DOWN: &[Key] = &[key(KeyCode::Down), ch('j')];
const MORE: &[Key] = &[key(KeyCode::Right), ch('l'), ch('+')];
const LESS: &[Key] = &[key(KeyCode::Left), ch('h'), ch('-')];
const EDIT: &[Key] = &[key(KeyCode::Enter), ch('e')];

/// Every key binding, in the order help lists them. One row per line reads as a table.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(Always, &[ctrl('c')], Action::ForceQuit, "quit now (a run is stopped and saved)", "立即退出（训练会停止并保存）", false),
    b(Global, &[key(KeyCode::Tab)], Action::FocusNext, "next pane", "下一个窗格", true),
    b(Global, &[key(KeyCode::BackTab)], Action::FocusPrev, "previous pane", "上一个窗格", false),
    b(Global, &[ch('1')], Action::Focus(Pane::Goal), "Goal pane", "目标窗格", false),
    b(Global, &[ch('2')], Action::Focus(Pane::Dataset), "Dataset pane", "数据窗格", false),
    b(Global, &[ch('3')], Action::Focus(Pane::Preset), "Preset pane", "参数窗格", false),
    b(Global, &[ch('4')], Action::Focus(Pane::Loss), "Loss pane", "损失窗格", false),
    b(Global, &[ch('5')], Action::Focus(Pane::Plan), "Plan pane", "计划窗格", false),
    b(Global, &[ch('6')], Action::Focus(Pane::Eval), "Eval pane", "评估窗格", false),
    b(Global, &[ch('7')], Action::Focus(Pane::Chat), "Chat pane", "对话窗格", false),
    b(Global, UP, Action::Up, "select up", "向上选择", false),
    b(Global, DOWN, Action::Down, "select down", "向下选择", false),
    b(Global, &[key(KeyCode::PageUp)], Action::PageUp, "page up", "向上翻页", false),
    b(Global, &[key(KeyCode::PageDown)], Action::PageDown, "page down", "向下翻页", false),
    b(Global, &[key(KeyCode::Home), ch('g')], Action::Top, "first item", "第一项", false),
    b(Global, &[key(KeyCode::End), ch('G')], Action::Bottom, "last item", "最后一项", false),
    b(Global, &[ch('L')], Action::ToggleLanguage, "English / 中文", "English / 中文", true),
    b(Global, &[ch('?')], Action::ToggleHelp, "help", "帮助", true),
    b(Global, &[ch('q')], Action::Quit, "quit", "退出", true),
    b(GOAL, EDIT, Action::Edit, "edit the field", "编辑字段", true),
    b(GOAL, MORE, Action::Increase, "next choice / mark +5%", "下一个选项 / 及格线 +5%", true),
    b(GOAL, LESS, Action::Decrease, "previous choice / mark -5%", "上一个选项 / 及格线 -5%", false),
    b(GOAL, &[ch('y')], Action::AnswerYes, "answer yes", "回答是", true),
    b(GOAL, &[ch('n')], Action::AnswerNo, "answer no", "回答否", true),
    b(GOAL, &[key(KeyCode::Char(' '))], Action::Toggle, "flip the answer", "切换回答", false),
    b(DATA, &[ch('/')], Action::Search, "search", "搜索", true),
    b(DATA, &[ch('n')], Action::NextMatch, "next match", "下一个匹配", true),
    b(DATA, &[ch('N')], Action::PrevMatch, "previous match", "上一个匹配", false),
    b(DATA, &[ch('s')], Action::Split, "split 8:1:1 (test sealed)", "按 8:1:1 分割（测试集封存）", true),
    b(DATA, &[ch('S')], Action::ForceSplit, "split again, replacing the split", "重新分割并替换", false),
    b(DATA, &[ch('r')], Action::Reload, "reload and check", "重新加载并检查", true),
    b(DATA, &[ch('J')], Action::DetailDown, "scroll the record down", "记录向下滚动", false),
    b(DATA, &[ch('K')], Action::DetailUp, "scroll the record up", "记录向上滚动", false),
    b(PRESET, MORE, Action::Increase, "step up", "调大", true),
    b(PRESET, LESS, Action::Decrease, "step down", "调小", true),
    b(PRESET, EDIT, Action::Edit, "type a value", "输入数值", true),
    b(PRESET, &[ch('r')], Action::Reset, "reset the field", "重置字段", true),
    b(PRESET, &[ch('w')], Action::SaveAs, "save as a new preset", "另存为新参数文件", true),
    b(LOSS, &[ch('s')], Action::StartRun, "start or continue a run", "开始或续训", true),
    b(LOSS, &[ch('S')], Action::StartNewRun, "start a new run even if one could continue", "开始新的训练（不续训）", false),
    b(LOSS, &[ch('p'), key(KeyCode::Char(' '))], Action::PauseResume, "pause / resume", "暂停 / 继续", true),
    b(LOSS, &[ch('x')], Action::StopRun, "stop and save", "停止并保存", true),
    b(LOSS, &[ch('c')], Action::SaveNow, "checkpoint now", "立即保存检查点", true),
    b(LOSS, &[ch('e')], Action::ToggleSmoothing, "smoothing (EMA) on / off", "平滑（EMA）开 / 关", true),
    b(LOSS, &[key(KeyCode::Right), ch('l')], Action::Increase, "next run (bold)", "下一次训练（加粗）", false),
    b(LOSS, &[key(KeyCode::Left), ch('h')], Action::Decrease, "previous run (bold)", "上一次训练（加粗）", false),
    b(LOSS, &[ch('n')], Action::NextRun, "new run with one change", "改一处再训一次", true),
    b(LOSS, &[ch('o')], Action::OpenRunFolder, "follow a run folder", "跟踪运行目录", true),
    b(PLAN, &[key(KeyCode::Char(' ')), key(KeyCode::Enter), ch('x')], Action::Toggle, "tick / untick", "勾选 / 取消", true),
    b(EVAL, &[ch('s')], Action::StartEval, "run the three-part test", "运行三维盲测", true),
    b(EVAL, &[ch('x'), key(KeyCode::Esc)], Action::CancelJob, "cancel the test", "取消测试", true),
    b(EVAL, &[key(KeyCode::Enter), ch('v')], Action::Judge, "blind A/B judging", "A/B 盲评", true),
    b(EVAL, &[ch('p')], Action::NextPair, "judge another pair (with RAG)", "换一组盲评（含 RAG）", false),
    b(EVAL, &[ch('w')], Action::WriteReport, "write the run's report", "写出本次实验报告", true),
    b(EVAL, &[ch('e')], Action::Export, "export GGUF", "导出 GGUF", true),
    b(EVAL, &[ch('n')], Action::NextRun, "new run with one change", "改一处再训一次", true),
    b(EVAL, &[key(KeyCode::Right), ch('l')], Action::Increase, "next run", "下一次训练", true),
    b(EVAL, &[key(KeyCode::Left), ch('h')], Action::Decrease, "previous run", "上一次训练", false),
    b(EVAL, &[ch('J')], Action::DetailDown, "scroll down", "向下滚动", false),
    b(EVAL, &[ch('K')], Action::DetailUp, "scroll up", "向上滚动", false),
    b(JUDGE, &[ch('a')], Action::PickA, "A is better", "A 更好", true),
    b(JUDGE, &[ch('b')], Action::PickB, "B is better", "B 更好", true),
    b(JUDGE, &[ch('t')], Action::PickTie, "tie", "平局", true),
    b(JUDGE, &[key(KeyCode::Right), ch('l'), ch('n')], Action::Increase, "next question", "下一题", true),
    b(JUDGE, &[key(KeyCode::Left), ch('h'), ch('p')], Action::Decrease, "previous question", "上一题", false),
    b(JUDGE, &[ch('r')], Action::Reveal, "reveal the labels (ends judging)", "揭晓标签（结束评判）", true),
    b(JUDGE, &[key(KeyCode::Esc), key(KeyCode::Enter)], Action::Judge, "back to the scores", "返回成绩", true),
    b(JUDGE, &[ch('J')], Action::DetailDown, "scroll the answers down", "答案向下滚动", false),
    b(JUDGE, &[ch('K')], Action::DetailUp, "scroll the answers up", "答案向上滚动", false),
    b(CHAT, &[key(KeyCode::Enter), ch('i'), ch('e')], Action::Edit, "write a message", "输入消息", true),
    b(CHAT, &[ch('a')], Action::ToggleAdapter, "plug / unplug the skill card", "插上 / 拔下技能卡", true),
    b(CHAT, &[ch('c')], Action::ToggleCompare, "compare base and adapter", "对比基础模型与适配器", true),
    b(CHAT, &[ch('r')], Action::ToggleRag, "retrieval (RAG) on / off", "检索（RAG）开 / 关", true),
    b(CHAT, &[ch('o')], Action::OpenSource, "open the next source", "打开下一条出处", false),
    b(CHAT, &[key(KeyCode::Esc)], Action::CancelJob, "close the source / stop the answer", "关闭出处 / 停止回答", true),
    b(CHAT, &[key(KeyCode::Right), ch('l')], Action::Increase, "next run's card", "下一次训练的技能卡", false),
    b(CHAT, &[key(KeyCode::Left), ch('h')], Action::Decrease, "previous run's card", "上一次训练的技能卡", false),
    b(CHAT, &[ch('n')], Action::Reset, "new conversation", "新对话", true),
    b(CHAT, &[ch('J')], Action::DetailDown, "scroll down", "向下滚动", false),
    b(CHAT, &[ch('K')], Action::DetailUp, "scroll up", "向上滚动", false),
    b(Editor, &[key(KeyCode::Esc)], Action::Done, "done (kept and saved)", "完成（已保存）", true),
    b(Editor, &[key(KeyCode::Enter)], Action::Newline, "new line (ends a one-line field)", "换行（单行字段则完成）", true),
    b(Editor, &[key(KeyCode::Backspace)], Action::Backspace, "delete back", "向前删除", false),
    b(Editor, &[key(KeyCode::Delete)], Action::Delete, "delete", "删除", false),
    b(Editor, &[key(KeyCode::Left)], Action::CursorLeft, "cursor left", "光标左移", false),
    b(Editor, &[key(KeyCode::Right)], Action::CursorRight, "cursor right", "光标右移", false),
    b(Editor, &[key(KeyCode::Up)], Action::CursorUp, "cursor up", "光标上移", false),
    b(Editor, &[key(KeyCode::Down)], Action::CursorDown, "cursor down", "光标下移", false),
    b(Editor, &[key(KeyCode::Home)], Action::LineStart, "line start", "行首", false),
    b(Editor, &[key(KeyCode::End)], Action::LineEnd, "line end", "行尾", false),
    b(Prompt, &[key(KeyCode::Enter)], Action::Submit, "apply", "确定", true),
    b(Prompt, &[key(KeyCode::Esc)], Action::Cancel, "cancel", "取消", true),
    b(Prompt, &[key(KeyCode::Backspace)], Action::Backspace, "delete back", "向前删除", false),
    b(Prompt, &[key(KeyCode::Delete)], Action::Delete, "delete", "删除", false),
    b(Prompt, &[key(KeyCode::Left)], Action::CursorLeft, "cursor left", "光标左移", false),
    b(Prompt, &[key(KeyCode::Right)], Action::CursorRight, "cursor right", "光标右移", false),
    b(Prompt, &[key(KeyCode::Home)], Action::LineStart, "line start", "行首", false),
    b(Prompt, &[key(KeyCode::End)], Action::LineEnd, "line end", "行尾", false),
    b(NEXT, UP, Action::Up, "up", "上移", true),
    b(NEXT, DOWN, Action::Down, "down", "下移", true),
    b(NEXT, &[key(KeyCode::Enter)], Action::Submit, "choose", "选定", true),
    b(NEXT, &[key(KeyCode::Esc)], Action::Cancel, "cancel", "取消", true),
    b(Help, &[key(KeyCode::Esc), ch('?'), ch('q')], Action::ToggleHelp, "close help", "关闭帮助", true),
    b(Watch, &[ch('q')], Action::Quit, "quit (the run goes on)", "退出（训练继续）", true),
    b(Watch, &[ch('e')], Action::ToggleSmoothing, "smoothing (EMA) on / off", "平滑（EMA）开 / 关", true),
    b(QuitDialog, &[ch('s')], Action::StopAndQuit, "stop and quit (training is saved first)", "停止并退出（训练会先保存）", true),
    b(QuitDialog, &[ch('w')], Action::KeepWaiting, "keep waiting: quit when done", "继续等待：结束后退出", true),
    b(QuitDialog, &[key(KeyCode::Esc), ch('c')], Action::CancelQuit, "cancel", "取消", true),
];

/// The scopes searched in `ctx`, first match wins.
fn scopes(ctx: KeyContext) -> &'static [Scope] {
    match ctx {
        KeyContext::Pane(Pane::Goal) => &[Always, GOAL, Global],
        KeyContext::Pane(Pane::Dataset) => &[Always, DATA, Global],
        KeyContext::Pane(Pane::Preset) => &[Always, PRESET, Global],
        KeyContext::Pane(Pane::Loss) => &[Always, LOSS, Global],
        KeyContext::Pane(Pane::Plan) => &[Always, PLAN, Global],
        KeyContext::Pane(Pane::Eval) => &[Always, EVAL, Global],
        KeyContext::Pane(Pane::Chat) => &[Always, CHAT, Global],
        KeyContext::Judge => &[Always, JUDGE, Global],
        KeyContext::NextRun => &[Always, NEXT],
        KeyContext::Watch => &[Always, Watch],
        KeyContext::Editor => &[Always, Editor],
        KeyContext::Prompt => &[Always, Prompt],
        KeyContext::Help => &[Always, Help],
        KeyContext::QuitDialog => &[Always, QuitDialog],
    }
}

/// The action for `event` in `ctx`; in text inputs an unbound printable character types
/// itself.
pub fn lookup(ctx: KeyContext, event: KeyEvent) -> Option<Action> {
    let pressed = normalise(event);
    for scope in scopes(ctx) {
        let found = BINDINGS
            .iter()
            .find(|b| b.scope == *scope && b.keys.contains(&pressed));
        if let Some(b) = found {
            return Some(b.action);
        }
    }
    let typing = matches!(ctx, KeyContext::Editor | KeyContext::Prompt);
    match pressed {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::NONE,
        } if typing => Some(Action::Insert(c)),
        _ => None,
    }
}

/// Shift is part of the character ('N', '?') and of BackTab, so it is dropped there; keys
/// with other modifiers keep them.
fn normalise(event: KeyEvent) -> Key {
    let mut mods =
        event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    if matches!(event.code, KeyCode::Char(_) | KeyCode::BackTab) {
        mods.remove(KeyModifiers::SHIFT);
    }
    Key {
        code: event.code,
        mods,
    }
}

/// The bindings help shows for `ctx`, most specific first.
pub fn help(ctx: KeyContext) -> Vec<&'static Binding> {
    let mut order: Vec<Scope> = scopes(ctx).to_vec();
    // Pane keys before the global ones before Ctrl-C.
    order.rotate_left(1);
    order
        .iter()
        .flat_map(|s| BINDINGS.iter().filter(move |b| b.scope == *s))
        .collect()
}

/// The status line's `(key, what)` pairs for `ctx`.
pub fn hints(ctx: KeyContext, lang: Language) -> Vec<(String, &'static str)> {
    help(ctx)
        .into_iter()
        .filter(|b| b.hint)
        .map(|b| (label(&b.keys[..1]), lang.pick(b.help.0, b.help.1)))
        .collect()
}

/// How keys are written in help: `↑/k`, `Enter`, `C-c`.
pub fn label(keys: &[Key]) -> String {
    keys.iter().map(key_label).collect::<Vec<_>>().join("/")
}

/// A pressed key written as help writes keys (`F12`, `C-x`, `q`).
pub fn name(event: KeyEvent) -> String {
    key_label(&normalise(event))
}

fn key_label(k: &Key) -> String {
    let name = match k.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "S-Tab".into(),
        KeyCode::Backspace => "Bksp".into(),
        KeyCode::Delete => "Del".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    };
    if k.mods.contains(KeyModifiers::CONTROL) {
        format!("C-{name}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn c(ch: char) -> KeyEvent {
        press(KeyCode::Char(ch), KeyModifiers::NONE)
    }

    #[test]
    fn pane_keys_win_over_global_ones() {
        let goal = KeyContext::Pane(Pane::Goal);
        let data = KeyContext::Pane(Pane::Dataset);
        assert_eq!(lookup(goal, c('n')), Some(Action::AnswerNo));
        assert_eq!(lookup(data, c('n')), Some(Action::NextMatch));
        assert_eq!(lookup(data, c('q')), Some(Action::Quit));
        assert_eq!(lookup(goal, c('3')), Some(Action::Focus(Pane::Preset)));
        assert_eq!(lookup(goal, c('z')), None);
    }

    #[test]
    fn shift_is_part_of_the_character() {
        let data = KeyContext::Pane(Pane::Dataset);
        let shifted = press(KeyCode::Char('N'), KeyModifiers::SHIFT);
        assert_eq!(lookup(data, shifted), Some(Action::PrevMatch));
        let back = press(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(lookup(data, back), Some(Action::FocusPrev));
        let lang = press(KeyCode::Char('L'), KeyModifiers::SHIFT);
        assert_eq!(lookup(data, lang), Some(Action::ToggleLanguage));
    }

    #[test]
    fn text_inputs_type_characters_and_keep_ctrl_c() {
        assert_eq!(
            lookup(KeyContext::Editor, c('q')),
            Some(Action::Insert('q'))
        );
        assert_eq!(
            lookup(KeyContext::Prompt, c('中')),
            Some(Action::Insert('中'))
        );
        let enter = press(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(lookup(KeyContext::Editor, enter), Some(Action::Newline));
        assert_eq!(lookup(KeyContext::Prompt, enter), Some(Action::Submit));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for ctx in [
            KeyContext::Editor,
            KeyContext::Help,
            KeyContext::Pane(Pane::Loss),
        ] {
            assert_eq!(lookup(ctx, ctrl_c), Some(Action::ForceQuit));
        }
        let ctrl_x = press(KeyCode::Char('x'), KeyModifiers::CONTROL);
        assert_eq!(lookup(KeyContext::Editor, ctrl_x), None);
    }

    #[test]
    fn overlays_take_only_their_keys() {
        assert_eq!(lookup(KeyContext::Help, c('s')), None);
        assert_eq!(lookup(KeyContext::Help, c('?')), Some(Action::ToggleHelp));
        assert_eq!(
            lookup(KeyContext::QuitDialog, c('s')),
            Some(Action::StopAndQuit)
        );
        assert_eq!(
            lookup(KeyContext::QuitDialog, c('w')),
            Some(Action::KeepWaiting)
        );
        let esc = press(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(
            lookup(KeyContext::QuitDialog, esc),
            Some(Action::CancelQuit)
        );
    }

    #[test]
    fn every_key_is_bound_once_per_context() {
        let contexts = Pane::ALL.map(KeyContext::Pane).into_iter().chain([
            KeyContext::Judge,
            KeyContext::NextRun,
            KeyContext::Editor,
            KeyContext::Prompt,
            KeyContext::Help,
            KeyContext::QuitDialog,
        ]);
        for ctx in contexts {
            let mut seen = Vec::new();
            for b in help(ctx) {
                for k in b.keys {
                    // A pane may shadow a global key on purpose, never its own.
                    let dup = seen.iter().any(|(s, x)| *s == b.scope && x == k);
                    assert!(!dup, "{k:?} bound twice in {ctx:?}");
                    seen.push((b.scope, *k));
                }
                assert!(!b.help.0.is_empty() && !b.help.1.is_empty());
            }
        }
    }

    #[test]
    fn eval_chat_and_judging_keys() {
        let eval = KeyContext::Pane(Pane::Eval);
        let chat = KeyContext::Pane(Pane::Chat);
        let esc = press(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(lookup(eval, c('s')), Some(Action::StartEval));
        assert_eq!(lookup(eval, c('x')), Some(Action::CancelJob));
        assert_eq!(lookup(eval, c('w')), Some(Action::WriteReport));
        assert_eq!(lookup(eval, c('e')), Some(Action::Export));
        assert_eq!(
            lookup(KeyContext::Pane(Pane::Goal), c('6')),
            Some(Action::Focus(Pane::Eval))
        );
        assert_eq!(lookup(eval, c('7')), Some(Action::Focus(Pane::Chat)));
        assert_eq!(lookup(KeyContext::Judge, c('a')), Some(Action::PickA));
        assert_eq!(lookup(KeyContext::Judge, c('b')), Some(Action::PickB));
        assert_eq!(lookup(KeyContext::Judge, c('t')), Some(Action::PickTie));
        assert_eq!(lookup(KeyContext::Judge, esc), Some(Action::Judge));
        assert_eq!(lookup(KeyContext::Judge, c('q')), Some(Action::Quit));
        assert_eq!(lookup(chat, c('a')), Some(Action::ToggleAdapter));
        assert_eq!(lookup(chat, c('c')), Some(Action::ToggleCompare));
        assert_eq!(lookup(chat, esc), Some(Action::CancelJob));
        assert_eq!(lookup(eval, c('n')), Some(Action::NextRun));
        assert_eq!(
            lookup(KeyContext::Pane(Pane::Loss), c('n')),
            Some(Action::NextRun)
        );
        let enter = press(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(lookup(KeyContext::NextRun, enter), Some(Action::Submit));
        assert_eq!(lookup(KeyContext::NextRun, esc), Some(Action::Cancel));
        assert_eq!(lookup(KeyContext::NextRun, c('q')), None);
        // Outside judging, a and b mean nothing in the Eval pane: no blind choice by accident.
        assert_eq!(lookup(eval, c('a')), None);
    }

    #[test]
    fn hints_and_labels_come_from_the_table() {
        let hints = hints(KeyContext::Pane(Pane::Loss), Language::En);
        assert_eq!(hints[0], ("s".to_string(), "start or continue a run"));
        assert!(hints.iter().any(|(k, d)| k == "q" && *d == "quit"));
        assert_eq!(label(MORE), "→/l/+");
        assert_eq!(label(&[ctrl('c')]), "C-c");
        assert_eq!(name(press(KeyCode::F(12), KeyModifiers::NONE)), "F12");
        assert_eq!(name(press(KeyCode::Char('N'), KeyModifiers::SHIFT)), "N");
        let zh = super::hints(KeyContext::Pane(Pane::Plan), Language::Zh);
        assert_eq!(zh[0].1, "勾选 / 取消");
    }
}
