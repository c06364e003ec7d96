//! The terminal: colours only on a terminal and never with NO_COLOR, a progress line that redraws
//! itself on a terminal and prints plain lines elsewhere, and prompts that hide a password.

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcgetwinsize, tcsetattr};

/// Whether to colour a stream: a terminal, and NO_COLOR unset or empty (no-color.org).
pub fn color_enabled(is_terminal: bool, no_color: Option<OsString>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Red,
    Green,
    Yellow,
    Cyan,
    Dim,
    Bold,
}

/// How text is written to one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    #[cfg(test)]
    pub const PLAIN: Style = Style { color: false };

    pub fn stdout() -> Style {
        Style {
            color: color_enabled(std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR")),
        }
    }

    pub fn stderr() -> Style {
        Style {
            color: color_enabled(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR")),
        }
    }

    pub fn paint(&self, text: &str, paint: Paint) -> String {
        if !self.color || text.is_empty() {
            return text.to_owned();
        }
        let code = match paint {
            Paint::Red => "31",
            Paint::Green => "32",
            Paint::Yellow => "33",
            Paint::Cyan => "36",
            Paint::Dim => "2",
            Paint::Bold => "1",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/// Moves to the start of the line and erases it.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// The progress line: a spinner, what is followed, its state and the time so far, cut to fit
/// `width` columns so that it never wraps (a wrapped line cannot be redrawn in place).
pub fn spinner_line(
    frame: usize,
    label: &str,
    state: &str,
    seconds: u64,
    width: usize,
    style: Style,
) -> String {
    let text = format!("{label}  {state}  {}", clock(seconds));
    let room = width.saturating_sub(3);
    let text: String = if text.chars().count() > room {
        text.chars().take(room.saturating_sub(1)).chain(['…']).collect()
    } else {
        text
    };
    let spinner = FRAMES[frame % FRAMES.len()].to_string();
    format!("{} {text}", style.paint(&spinner, Paint::Cyan))
}

/// `75` → `1m15s`.
fn clock(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        _ => format!("{}m{:02}s", seconds / 60, seconds % 60),
    }
}

/// Shows what a followed generation is doing: a line redrawn in place on a terminal (stderr), or
/// a plain line on stderr each time the state changes. Output lines go to stdout above it.
#[derive(Debug)]
pub struct Progress {
    live: bool,
    shown: bool,
    style: Style,
    label: String,
    state: String,
    frame: usize,
    started: Instant,
    drawn: bool,
}

impl Progress {
    pub fn new(label: &str) -> Progress {
        Progress::with(label, true)
    }

    /// Progress that shows nothing; lines still go to stdout.
    pub fn hidden() -> Progress {
        Progress::with("", false)
    }

    fn with(label: &str, shown: bool) -> Progress {
        Progress {
            live: std::io::stderr().is_terminal(),
            shown,
            style: Style::stderr(),
            label: label.to_owned(),
            state: String::new(),
            frame: 0,
            started: Instant::now(),
            drawn: false,
        }
    }

    pub fn is_live(&self) -> bool {
        self.shown && self.live
    }

    /// A new state; shown at once.
    pub fn set(&mut self, state: &str) {
        if state == self.state || !self.shown {
            return;
        }
        state.clone_into(&mut self.state);
        if self.live {
            self.draw();
        } else {
            eprintln!("{}: {state}", self.label);
        }
    }

    /// Moves the spinner on.
    pub fn tick(&mut self) {
        if self.is_live() && !self.state.is_empty() {
            self.frame += 1;
            self.draw();
        }
    }

    /// Prints a line of output above the progress line.
    pub fn println(&mut self, line: &str) {
        self.clear();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        if self.is_live() && !self.state.is_empty() {
            self.draw();
        }
    }

    /// Removes the progress line, leaving the terminal as it was.
    pub fn clear(&mut self) {
        if self.drawn {
            eprint!("{CLEAR_LINE}");
            let _ = std::io::stderr().flush();
            self.drawn = false;
        }
    }

    fn draw(&mut self) {
        let width = tcgetwinsize(std::io::stderr())
            .ok()
            .map(|w| usize::from(w.ws_col))
            .filter(|w| *w > 0)
            .unwrap_or(80);
        let line = spinner_line(
            self.frame,
            &self.label,
            &self.state,
            self.started.elapsed().as_secs(),
            width,
            self.style,
        );
        eprint!("{CLEAR_LINE}{line}");
        let _ = std::io::stderr().flush();
        self.drawn = true;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A line from standard input: asked for on a terminal (without echo when `secret`), read as is
/// from a pipe.
pub fn ask(prompt: &str, secret: bool) -> std::io::Result<String> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
    }
    let saved = match (secret, terminal) {
        (true, true) => {
            let saved = tcgetattr(&stdin)?;
            let mut quiet = saved.clone();
            quiet.local_modes.remove(LocalModes::ECHO);
            tcsetattr(&stdin, OptionalActions::Now, &quiet)?;
            Some(saved)
        }
        _ => None,
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = saved {
        let _ = tcsetattr(&stdin, OptionalActions::Now, &saved);
        eprintln!();
    }
    if read? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "standard input ended before the {}",
                prompt.trim().trim_end_matches(':')
            ),
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal_and_never_with_no_color() {
        let cases = [
            (true, None, true),
            (true, Some(""), true),
            (true, Some("1"), false),
            (false, None, false),
        ];
        for (terminal, no_color, expected) in cases {
            assert_eq!(
                color_enabled(terminal, no_color.map(OsString::from)),
                expected,
                "{terminal} {no_color:?}"
            );
        }
        assert_eq!(Style::PLAIN.paint("x", Paint::Red), "x");
        assert_eq!(Style { color: true }.paint("x", Paint::Red), "\x1b[31mx\x1b[0m");
    }

    #[test]
    fn the_progress_line_never_wraps() {
        let line = spinner_line(1, "todo-abc12", "Running · verify/build", 75, 80, Style::PLAIN);
        assert_eq!(line, "⠙ todo-abc12  Running · verify/build  1m15s");
        let narrow = spinner_line(0, "todo-abc12", "Running · verify/build", 5, 20, Style::PLAIN);
        assert_eq!(narrow, "⠋ todo-abc12  Runn…");
        assert!(narrow.chars().count() < 20);
    }
}
