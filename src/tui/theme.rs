//! Every colour and emphasis the cockpit uses, in one place. Colours are the 16 ANSI ones so
//! the terminal's own palette (light or dark) decides the exact shades.

use ratatui::style::{Color, Modifier, Style};

use super::loss::Mood;

/// Plain text.
pub const TEXT: Style = Style::new();
/// Secondary text: labels, explanations.
pub const DIM: Style = Style::new().fg(Color::DarkGray);
/// Headings and pane titles.
pub const TITLE: Style = Style::new().add_modifier(Modifier::BOLD);
/// The header bar.
pub const HEADER: Style = Style::new().fg(Color::Black).bg(Color::Cyan);
/// The header's experiment name.
pub const HEADER_NAME: Style = HEADER.add_modifier(Modifier::BOLD);
/// Borders of unfocused panes.
pub const BORDER: Style = Style::new().fg(Color::DarkGray);
/// Border of the focused pane.
pub const BORDER_FOCUS: Style = Style::new().fg(Color::Cyan);
/// The selected row of a list.
pub const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);
/// A key name on the status line and in help.
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
/// A value that differs from the starter preset.
pub const DIFFERS: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
/// A search match.
pub const MATCH: Style = Style::new().fg(Color::Magenta);
/// Today's plan item.
pub const TODAY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
/// Raw training loss in the chart.
pub const LOSS_RAW: Style = Style::new().fg(Color::DarkGray);
/// Smoothed training loss.
pub const LOSS_SMOOTH: Style = Style::new().fg(Color::Cyan);
/// Validation loss.
pub const LOSS_VAL: Style = Style::new().fg(Color::Magenta);
/// The forgetting probe's line.
pub const PROBE: Style = Style::new().fg(Color::LightYellow);
/// The best validation step's marker.
pub const BEST: Style = Style::new().fg(Color::LightGreen);
/// Colours of the other runs' curves and their ids in the runs table.
const RUN_COLOURS: [Color; 8] = [
    Color::Blue,
    Color::Green,
    Color::Yellow,
    Color::Red,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightRed,
    Color::LightCyan,
];

/// A run's own colour, the same in every session: `run-N` takes the palette's colour N (so
/// neighbouring runs never share one), other names a hash of the name; bold when selected.
pub fn run(id: &str, selected: bool) -> Style {
    let n = id
        .strip_prefix("run-")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| {
            id.bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))
        });
    let style = Style::new().fg(RUN_COLOURS[n % RUN_COLOURS.len()]);
    if selected {
        style.add_modifier(Modifier::BOLD)
    } else {
        style
    }
}

/// The text cursor in an editor.
pub const CURSOR: Style = Style::new().add_modifier(Modifier::REVERSED);

/// The colour of good, neutral, worrying and bad news.
pub fn mood(m: Mood) -> Style {
    match m {
        Mood::Neutral => TEXT,
        Mood::Good => Style::new().fg(Color::Green),
        Mood::Warn => Style::new().fg(Color::Yellow),
        Mood::Bad => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    }
}
