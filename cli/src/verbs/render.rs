//! What the verbs print, as pure functions of the API's answers: tables of generations and apps,
//! a generation described in full, and the event log as a readable timeline.

use appgen_crd::task::{TaskEvent, TaskEventType};
use appgen_crd::{Blueprint, GenerationSpec, GenerationStatus, Outputs, Phase};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::Value;

use super::term::{Paint, Style};

/// A Generation as the API shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    pub namespace: String,
    pub name: String,
    pub created_at: Option<Timestamp>,
    pub spec: GenerationSpec,
    pub status: Option<GenerationStatus>,
    pub links: Links,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Links {
    pub events: String,
    pub archive: Option<String>,
}

impl View {
    /// The phase; one the controller has not seen yet is Pending.
    pub fn phase(&self) -> Phase {
        self.status
            .as_ref()
            .and_then(|s| s.phase)
            .unwrap_or(Phase::Pending)
    }

    pub fn outputs(&self) -> Option<&Outputs> {
        self.status.as_ref().and_then(|s| s.outputs.as_ref())
    }
}

/// The last event of a stream: how the generation ended.
#[derive(Debug, Clone, Deserialize)]
pub struct Outcome {
    /// Delivered, Failed, Cancelled, or Deleted.
    pub phase: String,
    pub message: Option<String>,
    pub outputs: Option<Outputs>,
}

/// An app and its versions, newest first.
#[derive(Debug, Clone, Deserialize)]
pub struct App {
    pub app: String,
    pub versions: Vec<Version>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub name: String,
    pub phase: Phase,
    pub created_at: Option<Timestamp>,
    pub url: Option<String>,
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Pending => "Pending",
        Phase::Running => "Running",
        Phase::Delivered => "Delivered",
        Phase::Failed => "Failed",
        Phase::Cancelled => "Cancelled",
    }
}

fn phase_paint(phase: &str) -> Option<Paint> {
    match phase {
        "Delivered" => Some(Paint::Green),
        "Failed" => Some(Paint::Red),
        "Cancelled" | "Deleted" => Some(Paint::Yellow),
        "Running" => Some(Paint::Cyan),
        _ => None,
    }
}

/// One table cell: its text, and a colour for terminals.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    paint: Option<Paint>,
}

impl Cell {
    fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            paint: None,
        }
    }

    fn phase(phase: &str) -> Cell {
        Cell {
            text: phase.to_owned(),
            paint: phase_paint(phase),
        }
    }
}

/// Columns aligned on the plain text (colour codes take no room), three spaces apart, as kubectl does.
fn table(headers: &[&str], rows: &[Vec<Cell>], indent: &str, style: Style) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.text.chars().count());
        }
    }
    let line = |cells: Vec<(String, Option<Paint>)>| {
        let last = cells.len().saturating_sub(1);
        let text: String = cells
            .into_iter()
            .enumerate()
            .map(|(i, (text, paint))| {
                let pad = if i == last {
                    0
                } else {
                    widths[i] - text.chars().count() + 3
                };
                let text = match paint {
                    Some(paint) => style.paint(&text, paint),
                    None => text,
                };
                format!("{text}{}", " ".repeat(pad))
            })
            .collect();
        format!("{indent}{}\n", text.trim_end())
    };
    let mut out = line(headers.iter().map(|h| ((*h).to_owned(), None)).collect());
    for row in rows {
        out.push_str(&line(row.iter().map(|c| (c.text.clone(), c.paint)).collect()));
    }
    out
}

/// `kubectl`'s ages: `45s`, `12m`, `5h`, `3d`.
pub fn age(then: Timestamp, now: Timestamp) -> String {
    let seconds = now.duration_since(then).as_secs().max(0);
    match seconds {
        0..120 => format!("{seconds}s"),
        120..7_200 => format!("{}m", seconds / 60),
        7_200..172_800 => format!("{}h", seconds / 3_600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// `850ms`, `3.2s`, `2m05s`.
pub fn duration_ms(ms: i64) -> String {
    match ms {
        ..1_000 => format!("{}ms", ms.max(0)),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1_000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms / 1_000) % 60),
    }
}

/// `512 B`, `12.3 KiB`, `4.0 MiB`.
pub fn size(bytes: i64) -> String {
    match bytes {
        ..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1_024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

fn cost(usd: f64) -> String {
    format!("${usd:.2}")
}

/// The first line of `text`, at most `max` characters.
fn short(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > max || text.lines().nth(1).is_some() {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        line.to_owned()
    }
}

/// What a list of generations looks like: `kubectl get gen`'s columns, the namespace first when
/// it spans several, and with `wide` the agent, parent and prompt.
pub fn generations_table(
    views: &[View],
    wide: bool,
    namespaces: bool,
    now: Timestamp,
    style: Style,
) -> String {
    let mut headers = vec!["NAME", "APP", "PHASE", "STEP", "URL", "COST", "AGE"];
    if namespaces {
        headers.insert(0, "NAMESPACE");
    }
    if wide {
        headers.extend(["AGENT", "PARENT", "PROMPT"]);
    }
    let rows: Vec<Vec<Cell>> = views
        .iter()
        .map(|view| {
            let status = view.status.as_ref();
            let mut row = vec![
                Cell::plain(&view.name),
                Cell::plain(view.spec.app.clone().unwrap_or_default()),
                Cell::phase(phase_name(view.phase())),
                Cell::plain(status.and_then(|s| s.step.clone()).unwrap_or_default()),
                Cell::plain(view.outputs().and_then(|o| o.url.clone()).unwrap_or_default()),
                Cell::plain(
                    status
                        .and_then(|s| s.usage.as_ref())
                        .map(|u| cost(u.cost_usd))
                        .unwrap_or_default(),
                ),
                Cell::plain(view.created_at.map(|t| age(t, now)).unwrap_or_default()),
            ];
            if namespaces {
                row.insert(0, Cell::plain(&view.namespace));
            }
            if wide {
                row.extend([
                    Cell::plain(
                        view.spec
                            .agent
                            .as_ref()
                            .and_then(|a| a.name)
                            .map(|a| a.as_str())
                            .unwrap_or_default(),
                    ),
                    Cell::plain(view.spec.parent.clone().unwrap_or_default()),
                    Cell::plain(short(&view.spec.prompt, 60)),
                ]);
            }
            row
        })
        .collect();
    table(&headers, &rows, "", style)
}

/// Apps and their versions: the newest version's state, and how many there are.
pub fn apps_table(apps: &[App], now: Timestamp, style: Style) -> String {
    let rows: Vec<Vec<Cell>> = apps
        .iter()
        .filter_map(|app| {
            let latest = app.versions.first()?;
            Some(vec![
                Cell::plain(&app.app),
                Cell::plain(app.versions.len().to_string()),
                Cell::plain(&latest.name),
                Cell::phase(phase_name(latest.phase)),
                Cell::plain(
                    app.versions
                        .iter()
                        .find_map(|v| v.url.clone())
                        .unwrap_or_default(),
                ),
                Cell::plain(latest.created_at.map(|t| age(t, now)).unwrap_or_default()),
            ])
        })
        .collect();
    table(
        &["APP", "VERSIONS", "LATEST", "PHASE", "URL", "AGE"],
        &rows,
        "",
        style,
    )
}

fn field(key: &str, value: &str) -> String {
    format!("{:<13}{value}\n", format!("{key}:"))
}

fn blueprint_summary(blueprint: &Blueprint) -> String {
    let entities: Vec<String> = blueprint
        .entities
        .iter()
        .map(|e| {
            let fields: Vec<&str> = e.fields.iter().map(|f| f.name.as_str()).collect();
            format!("{} ({})", e.name, fields.join(", "))
        })
        .collect();
    match &blueprint.title {
        Some(title) => format!("{title}: {}", entities.join("; ")),
        None => entities.join("; "),
    }
}

/// One generation in full, like `kubectl describe`: what was asked, where it stands, its
/// conditions, gates, usage and outputs, and its latest events.
pub fn describe(view: &View, events: &[TaskEvent], now: Timestamp, tz: &TimeZone, style: Style) -> String {
    let ago = |t: Timestamp| {
        format!(
            "{} ({} ago)",
            t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M:%S"),
            age(t, now)
        )
    };
    let spec = &view.spec;
    let mut out = String::new();
    out.push_str(&field("Name", &view.name));
    out.push_str(&field("Namespace", &view.namespace));
    out.push_str(&field("App", spec.app.as_deref().unwrap_or("")));
    if let Some(parent) = &spec.parent {
        out.push_str(&field("Parent", parent));
    }
    if let Some(agent) = &spec.agent {
        let mut text = agent.name.map(|a| a.as_str().to_owned()).unwrap_or_default();
        if let Some(budget) = agent.max_budget_usd {
            text.push_str(&format!(" (budget {})", cost(budget)));
        }
        out.push_str(&field("Agent", &text));
    }
    if let Some(created) = view.created_at {
        out.push_str(&field("Created", &ago(created)));
    }
    out.push_str("Prompt:\n");
    for line in spec.prompt.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    let phase = phase_name(view.phase());
    out.push_str(&field(
        "Phase",
        &style.paint(phase, phase_paint(phase).unwrap_or(Paint::Bold)),
    ));
    let Some(status) = &view.status else {
        return out;
    };
    if let Some(step) = &status.step {
        out.push_str(&field("Step", step));
    }
    if let Some(message) = &status.message {
        out.push_str(&field("Message", message));
    }
    if let Some(blueprint) = &status.blueprint {
        out.push_str(&field("Blueprint", &blueprint_summary(blueprint)));
    }
    if !status.conditions.is_empty() {
        out.push_str("Conditions:\n");
        let rows: Vec<Vec<Cell>> = status
            .conditions
            .iter()
            .map(|c| {
                vec![
                    Cell::plain(&c.type_),
                    Cell::plain(&c.status),
                    Cell::plain(&c.reason),
                    Cell::plain(age(c.last_transition_time.0, now)),
                    Cell::plain(short(&c.message, 70)),
                ]
            })
            .collect();
        out.push_str(&table(
            &["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"],
            &rows,
            "  ",
            style,
        ));
    }
    if !status.verification.is_empty() {
        out.push_str("Gates:\n");
        let rows: Vec<Vec<Cell>> = status
            .verification
            .iter()
            .map(|g| {
                vec![
                    Cell::plain(g.gate.as_str()),
                    if g.passed {
                        Cell {
                            text: "passed".into(),
                            paint: Some(Paint::Green),
                        }
                    } else {
                        Cell {
                            text: "failed".into(),
                            paint: Some(Paint::Red),
                        }
                    },
                    Cell::plain(duration_ms(g.duration_ms)),
                    Cell::plain(short(g.message.as_deref().unwrap_or_default(), 70)),
                ]
            })
            .collect();
        out.push_str(&table(
            &["GATE", "RESULT", "DURATION", "MESSAGE"],
            &rows,
            "  ",
            style,
        ));
    }
    if !status.attempts.is_empty() {
        out.push_str("Attempts:\n");
        let rows: Vec<Vec<Cell>> = status
            .attempts
            .iter()
            .map(|a| {
                vec![
                    Cell::plain(a.number.to_string()),
                    Cell::plain(&a.backend),
                    Cell::plain(a.start_time.as_ref().map(|t| age(t.0, now)).unwrap_or_default()),
                    Cell::plain(a.finish_time.as_ref().map(|t| age(t.0, now)).unwrap_or_default()),
                    Cell::plain(a.exit_code.map(|c| c.to_string()).unwrap_or_default()),
                    Cell::plain(a.reason.clone().unwrap_or_default()),
                ]
            })
            .collect();
        out.push_str(&table(
            &["#", "BACKEND", "STARTED", "FINISHED", "EXIT", "REASON"],
            &rows,
            "  ",
            style,
        ));
    }
    if let Some(usage) = &status.usage {
        out.push_str(&field(
            "Usage",
            &format!(
                "{} turns, {} input and {} output tokens, {}, {}",
                usage.turns,
                usage.input_tokens,
                usage.output_tokens,
                cost(usage.cost_usd),
                duration_ms((usage.duration_seconds * 1_000.0) as i64)
            ),
        ));
    }
    if let Some(outputs) = &status.outputs {
        out.push_str("Outputs:\n");
        if let Some(sha256) = &outputs.sha256 {
            let size = outputs.size.map(|s| format!("{}, ", size(s))).unwrap_or_default();
            out.push_str(&format!(
                "  {}",
                field(
                    "Archive",
                    &format!("{size}sha256 {sha256} (appgen download {})", view.name)
                )
            ));
        }
        for (key, value) in [
            ("URL", &outputs.url),
            ("Repository", &outputs.repository_url),
            ("Commit", &outputs.commit),
        ] {
            if let Some(value) = value {
                out.push_str(&format!("  {}", field(key, value)));
            }
        }
    }
    if !events.is_empty() {
        out.push_str(&format!("Events (the last {}):\n", events.len()));
        let mut timeline = Timeline::new(tz.clone(), style);
        for event in events {
            for line in timeline.lines(event) {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out
}

/// What a followed generation is doing, in a few words.
pub fn progress_state(view: &View) -> String {
    let phase = phase_name(view.phase());
    let status = view.status.as_ref();
    let detail = status
        .and_then(|s| s.step.clone())
        .filter(|_| view.phase() == Phase::Running)
        .or_else(|| status.and_then(|s| s.message.clone()));
    match detail {
        Some(detail) => format!("{phase} · {}", short(&detail, 80)),
        None => phase.to_owned(),
    }
}

/// The lines that say how a generation ended and what to do next.
pub fn outcome_lines(name: &str, outcome: &Outcome, style: Style) -> Vec<String> {
    let message = outcome.message.as_deref().unwrap_or_default();
    match outcome.phase.as_str() {
        "Delivered" => {
            let mut lines = vec![style.paint(&format!("✓ {name} delivered"), Paint::Green)];
            if let Some(url) = outcome.outputs.as_ref().and_then(|o| o.url.as_ref()) {
                lines.push(format!("  live at {url}"));
            }
            lines.push(format!("  get the source: appgen download {name} --extract"));
            lines
        }
        "Failed" => vec![
            style.paint(&format!("✗ {name} failed: {message}"), Paint::Red),
            format!("  see what happened: appgen logs {name}; build it again: appgen retry {name}"),
        ],
        "Cancelled" => vec![style.paint(&format!("{name} was cancelled"), Paint::Yellow)],
        "Deleted" => vec![style.paint(&format!("{name} was deleted"), Paint::Yellow)],
        other => vec![format!("{name} ended {other}: {message}")],
    }
}

/// Renders event-log lines one after another, marking where a new attempt starts.
#[derive(Debug)]
pub struct Timeline {
    tz: TimeZone,
    style: Style,
    attempt: Option<u32>,
}

/// The width of the time column, `HH:MM:SS`.
const TIME_WIDTH: usize = 8;
/// The most lines of a failed gate's output a timeline shows.
const GATE_TAIL_LINES: usize = 12;

impl Timeline {
    pub fn new(tz: TimeZone, style: Style) -> Timeline {
        Timeline {
            tz,
            style,
            attempt: None,
        }
    }

    /// The lines that show `event`: its local time, then what happened.
    pub fn lines(&mut self, event: &TaskEvent) -> Vec<String> {
        let mut lines = Vec::new();
        if self.attempt != Some(event.attempt) {
            if self.attempt.is_some() || event.attempt > 1 {
                lines.push(
                    self.style
                        .paint(&format!("── attempt {} ──", event.attempt), Paint::Bold),
                );
            }
            self.attempt = Some(event.attempt);
        }
        let Some((text, paint)) = event_text(event) else {
            return lines;
        };
        let time = event
            .ts
            .to_zoned(self.tz.clone())
            .strftime("%H:%M:%S")
            .to_string();
        let mut text_lines = text.lines();
        let first = text_lines.next().unwrap_or_default();
        // Later lines line up under the first one's text.
        let indent = TIME_WIDTH + 2 + (first.len() - first.trim_start().len());
        let first = match paint {
            Some(paint) => self.style.paint(first, paint),
            None => first.to_owned(),
        };
        lines.push(format!("{}  {first}", self.style.paint(&time, Paint::Dim)));
        for rest in text_lines {
            lines.push(format!("{:indent$}{rest}", ""));
        }
        lines
    }
}

/// What one event says, in words, and its colour; None when another line already says it.
fn event_text(event: &TaskEvent) -> Option<(String, Option<Paint>)> {
    let body = &event.body;
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
    let took = || {
        body.get("durationMs")
            .and_then(Value::as_i64)
            .map(|ms| format!(" ({})", duration_ms(ms)))
            .unwrap_or_default()
    };
    let said = match event.event_type {
        // A gate's own line says how it went and how long it took.
        TaskEventType::Phase if text("state") == "finished" && text("step").starts_with("verify/") => {
            return None;
        }
        TaskEventType::Phase => match text("state") {
            "finished" => (format!("  {} done{}", text("step"), took()), Some(Paint::Dim)),
            _ => (format!("▸ {}", text("step")), Some(Paint::Bold)),
        },
        TaskEventType::Log => (format!("  {}", text("message")), None),
        TaskEventType::Agent => agent_text(body),
        TaskEventType::Tool => match text("kind") {
            "use" => (format!("  tool {}: {}", text("tool"), text("summary")), None),
            "result" if body["isError"].as_bool() == Some(true) => (
                format!("  tool error: {}", short(text("output"), 120)),
                Some(Paint::Red),
            ),
            "result" => (
                format!("  tool result: {}", short(text("output"), 120)),
                Some(Paint::Dim),
            ),
            _ => (format!("  tool: {body}"), None),
        },
        TaskEventType::Gate => {
            let gate = text("gate");
            if body["passed"].as_bool() == Some(true) {
                (format!("✓ {gate} passed{}", took()), Some(Paint::Green))
            } else {
                let message = text("message");
                let tail: Vec<&str> = message.lines().collect();
                let tail = &tail[tail.len().saturating_sub(GATE_TAIL_LINES)..];
                let mut text = format!("✗ {gate} failed{}", took());
                for line in tail {
                    text.push_str(&format!("\n    {line}"));
                }
                (text, Some(Paint::Red))
            }
        }
        TaskEventType::Artifact => {
            let mut details = Vec::new();
            if let Some(bytes) = body.get("size").and_then(Value::as_i64) {
                details.push(size(bytes));
            }
            if let Some(files) = body.get("files").and_then(Value::as_i64) {
                details.push(format!("{files} files"));
            }
            if let Some(sha256) = body.get("sha256").and_then(Value::as_str) {
                details.push(format!("sha256 {}", &sha256[..sha256.len().min(12)]));
            }
            let details = if details.is_empty() {
                String::new()
            } else {
                format!(" ({})", details.join(", "))
            };
            (format!("  saved {}{details}", text("name")), None)
        }
        TaskEventType::Usage => {
            let number = |key: &str| body.get(key).and_then(Value::as_f64).unwrap_or_default();
            (
                format!(
                    "  usage: {} input and {} output tokens, {}, {} turns",
                    number("inputTokens"),
                    number("outputTokens"),
                    cost(number("costUsd")),
                    number("turns")
                ),
                Some(Paint::Dim),
            )
        }
        TaskEventType::Result => match body["delivered"].as_bool() {
            Some(true) => ("✓ delivered".to_owned(), Some(Paint::Green)),
            _ => (format!("result: {body}"), None),
        },
        TaskEventType::Error => (
            format!("✗ {} failed: {}", text("step"), text("message")),
            Some(Paint::Red),
        ),
    };
    Some(said)
}

fn agent_text(body: &Value) -> (String, Option<Paint>) {
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
    if let Some(blueprint) = body.get("blueprint").and_then(|b| Blueprint::deserialize(b).ok()) {
        return (format!("  blueprint: {}", blueprint_summary(&blueprint)), None);
    }
    if let Some(repair) = body.get("repair").and_then(Value::as_i64) {
        return (
            format!(
                "  repair {repair}: back to the agent after the {} gate failed",
                text("gate")
            ),
            Some(Paint::Yellow),
        );
    }
    match text("kind") {
        "init" => (
            format!("  agent {} started (model {})", text("agent"), text("model")),
            None,
        ),
        "text" => (format!("  agent: {}", text("text")), None),
        "result" => {
            let turns = body.get("turns").and_then(Value::as_i64).unwrap_or_default();
            let paint = (body["isError"].as_bool() == Some(true)).then_some(Paint::Red);
            (
                format!("  agent finished after {turns} turns ({})", text("subtype")),
                paint,
            )
        }
        _ => (format!("  agent: {body}"), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2025-06-01T12:00:00Z".parse().unwrap()
    }

    fn view(json: Value) -> View {
        serde_json::from_value(json).unwrap()
    }

    fn todo() -> View {
        view(json!({
            "namespace": "appgen-ann", "name": "todo-x7k2p", "uid": "u1",
            "createdAt": "2025-06-01T11:55:00Z",
            "spec": {"prompt": "A tiny todo list\nwith due dates", "app": "todo",
                     "agent": {"name": "scaffold", "maxBudgetUsd": 2.5}},
            "status": {
                "phase": "Delivered", "step": "deliver", "message": "delivered",
                "conditions": [{"type": "Delivered", "status": "True", "reason": "Delivered",
                                "message": "the app passed every gate", "lastTransitionTime": "2025-06-01T11:59:00Z"}],
                "attempts": [{"number": 1, "backend": "process", "startTime": "2025-06-01T11:55:01Z",
                              "finishTime": "2025-06-01T11:59:00Z", "exitCode": 0}],
                "outputs": {"sha256": "ab12", "size": 12595, "url": "http://127.0.0.1:8080/apps/todo/"},
                "usage": {"turns": 0, "inputTokens": 0, "outputTokens": 0, "costUsd": 0.0, "durationSeconds": 31.5},
                "verification": [
                    {"gate": "install", "passed": true, "durationMs": 3100, "message": "ok"},
                    {"gate": "build", "passed": false, "durationMs": 950, "message": "error TS2304\nmore"}
                ],
                "blueprint": {"title": "Todo", "entities": [{"name": "Task", "fields": [
                    {"name": "title", "type": "text"}, {"name": "due", "type": "date"}]}]}
            },
            "links": {"self": "/api/v1/generations/appgen-ann/todo-x7k2p",
                      "events": "/api/v1/generations/appgen-ann/todo-x7k2p/events", "screenshots": []}
        }))
    }

    fn pending() -> View {
        view(json!({
            "namespace": "default", "name": "crm-a1b2c", "uid": "u2", "createdAt": "2025-06-01T09:00:00Z",
            "spec": {"prompt": "A CRM", "app": "crm", "parent": "crm-00000"},
            "links": {"self": "/s", "events": "/e", "screenshots": []}
        }))
    }

    fn event(seq: u64, kind: &str, body: Value) -> TaskEvent {
        serde_json::from_value(json!({
            "seq": seq, "ts": "2025-06-01T11:55:0".to_owned() + &seq.to_string() + "Z",
            "attempt": if seq > 8 { 2 } else { 1 }, "type": kind, "body": body
        }))
        .unwrap()
    }

    #[test]
    fn a_list_of_generations_reads_like_kubectl_get() {
        let views = [todo(), pending()];
        assert_eq!(
            generations_table(&views, false, false, now(), Style::PLAIN),
            "\
NAME         APP    PHASE       STEP      URL                                COST    AGE
todo-x7k2p   todo   Delivered   deliver   http://127.0.0.1:8080/apps/todo/   $0.00   5m
crm-a1b2c    crm    Pending                                                          3h
"
        );
        let wide = generations_table(&views, true, true, now(), Style::PLAIN);
        let lines: Vec<&str> = wide.lines().collect();
        assert!(lines[0].starts_with("NAMESPACE    NAME"), "{wide}");
        assert!(lines[0].ends_with("AGENT      PARENT      PROMPT"), "{wide}");
        assert!(
            lines[1].ends_with("scaffold               A tiny todo list…"),
            "{wide}"
        );
        assert!(lines[2].ends_with("crm-00000   A CRM"), "{wide}");
        let coloured = generations_table(&views, false, false, now(), Style { color: true });
        assert!(
            coloured.contains("\x1b[32mDelivered\x1b[0m   deliver"),
            "{coloured}"
        );
    }

    #[test]
    fn apps_show_their_latest_version() {
        let apps: Vec<App> = serde_json::from_value(json!([
            {"app": "todo", "namespace": "appgen-ann", "versions": [
                {"name": "todo-2", "phase": "Running", "createdAt": "2025-06-01T11:59:00Z", "prompt": "more"},
                {"name": "todo-1", "phase": "Delivered", "createdAt": "2025-06-01T10:00:00Z", "prompt": "x",
                 "url": "http://x/"}]}
        ]))
        .unwrap();
        assert_eq!(
            apps_table(&apps, now(), Style::PLAIN),
            "APP    VERSIONS   LATEST   PHASE     URL         AGE\ntodo   2          todo-2   Running   http://x/   60s\n"
        );
    }

    #[test]
    fn describe_shows_what_was_asked_and_how_it_went() {
        let events = [event(1, "phase", json!({"step": "prepare", "state": "started"}))];
        let text = describe(&todo(), &events, now(), &TimeZone::UTC, Style::PLAIN);
        for expected in [
            "Name:        todo-x7k2p\n",
            "Agent:       scaffold (budget $2.50)\n",
            "Created:     2025-06-01 11:55:00 (5m ago)\n",
            "Prompt:\n  A tiny todo list\n  with due dates\n",
            "Phase:       Delivered\n",
            "Blueprint:   Todo: Task (title, due)\n",
            "  TYPE        STATUS   REASON      AGE   MESSAGE\n  Delivered   True     Delivered   60s   the app passed every gate\n",
            "  install   passed   3.1s       ok\n",
            "  build     failed   950ms      error TS2304…\n",
            "  1   process   4m        60s        0\n",
            "Usage:       0 turns, 0 input and 0 output tokens, $0.00, 31.5s\n",
            "  Archive:     12.3 KiB, sha256 ab12 (appgen download todo-x7k2p)\n",
            "  URL:         http://127.0.0.1:8080/apps/todo/\n",
            "Events (the last 1):\n  11:55:01  ▸ prepare\n",
        ] {
            assert!(text.contains(expected), "{expected:?} in:\n{text}");
        }
        let bare = describe(&pending(), &[], now(), &TimeZone::UTC, Style::PLAIN);
        assert!(bare.ends_with("Phase:       Pending\n"), "{bare}");
    }

    #[test]
    fn the_timeline_reads_as_what_happened() {
        let cases = [
            (
                event(1, "phase", json!({"step": "verify/build", "state": "started"})),
                vec!["11:55:01  ▸ verify/build"],
            ),
            (
                event(
                    2,
                    "phase",
                    json!({"step": "package", "state": "finished", "durationMs": 2300}),
                ),
                vec!["11:55:02    package done (2.3s)"],
            ),
            (
                event(
                    2,
                    "phase",
                    json!({"step": "verify/build", "state": "finished", "durationMs": 2300}),
                ),
                vec![],
            ),
            (
                event(3, "log", json!({"message": "agent: scaffold"})),
                vec!["11:55:03    agent: scaffold"],
            ),
            (
                event(
                    4,
                    "gate",
                    json!({"gate": "test", "passed": true, "durationMs": 4200, "message": "ok"}),
                ),
                vec!["11:55:04  ✓ test passed (4.2s)"],
            ),
            (
                event(
                    5,
                    "gate",
                    json!({"gate": "build", "passed": false, "durationMs": 900, "message": "line 1\nline 2"}),
                ),
                vec![
                    "11:55:05  ✗ build failed (900ms)",
                    "              line 1",
                    "              line 2",
                ],
            ),
            (
                event(
                    6,
                    "tool",
                    json!({"kind": "use", "tool": "Write", "summary": "src/App.tsx (120 bytes)"}),
                ),
                vec!["11:55:06    tool Write: src/App.tsx (120 bytes)"],
            ),
            (
                event(
                    7,
                    "agent",
                    json!({"kind": "text", "text": "I'll add tags.\nFirst the model."}),
                ),
                vec![
                    "11:55:07    agent: I'll add tags.",
                    "            First the model.",
                ],
            ),
            (
                event(
                    8,
                    "artifact",
                    json!({"name": "app.tar.gz", "sha256": "0123456789abcdef", "size": 2048, "files": 30}),
                ),
                vec!["11:55:08    saved app.tar.gz (2.0 KiB, 30 files, sha256 0123456789ab)"],
            ),
            (
                event(
                    9,
                    "error",
                    json!({"step": "verify/build", "message": "the build failed"}),
                ),
                vec![
                    "── attempt 2 ──",
                    "11:55:09  ✗ verify/build failed: the build failed",
                ],
            ),
        ];
        let mut timeline = Timeline::new(TimeZone::UTC, Style::PLAIN);
        for (event, expected) in cases {
            assert_eq!(timeline.lines(&event), expected, "{event:?}");
        }
        let mut coloured = Timeline::new(TimeZone::UTC, Style { color: true });
        let gate = event(
            4,
            "gate",
            json!({"gate": "test", "passed": true, "durationMs": 4200}),
        );
        assert_eq!(
            coloured.lines(&gate),
            ["\x1b[2m11:55:04\x1b[0m  \x1b[32m✓ test passed (4.2s)\x1b[0m"]
        );
    }

    #[test]
    fn outcomes_say_what_to_do_next() {
        let outcome = |json: Value| -> Outcome { serde_json::from_value(json).unwrap() };
        let cases = [
            (
                outcome(json!({"phase": "Delivered", "outputs": {"url": "http://u/"}})),
                vec![
                    "✓ todo delivered",
                    "  live at http://u/",
                    "  get the source: appgen download todo --extract",
                ],
            ),
            (
                outcome(json!({"phase": "Failed", "message": "the build gate failed"})),
                vec![
                    "✗ todo failed: the build gate failed",
                    "  see what happened: appgen logs todo; build it again: appgen retry todo",
                ],
            ),
            (outcome(json!({"phase": "Cancelled"})), vec!["todo was cancelled"]),
        ];
        for (outcome, expected) in cases {
            assert_eq!(outcome_lines("todo", &outcome, Style::PLAIN), expected);
        }
    }

    #[test]
    fn progress_says_the_step_while_running_and_the_message_otherwise() {
        let running = view(json!({
            "namespace": "n", "name": "x", "spec": {"prompt": "p"},
            "status": {"phase": "Running", "step": "verify/build", "message": "running"},
            "links": {"self": "/s", "events": "/e"}
        }));
        assert_eq!(progress_state(&running), "Running · verify/build");
        let queued = view(json!({
            "namespace": "n", "name": "x", "spec": {"prompt": "p"},
            "status": {"phase": "Pending", "message": "Queued: 2 ahead"},
            "links": {"self": "/s", "events": "/e"}
        }));
        assert_eq!(progress_state(&queued), "Pending · Queued: 2 ahead");
        assert_eq!(progress_state(&pending()), "Pending");
    }

    #[test]
    fn durations_sizes_and_ages_are_short() {
        assert_eq!([850, 3_200, 125_000].map(duration_ms), ["850ms", "3.2s", "2m05s"]);
        assert_eq!(
            [512, 12_595, 4_194_304].map(size),
            ["512 B", "12.3 KiB", "4.0 MiB"]
        );
        let ago = |s: i64| age(now() - jiff::SignedDuration::from_secs(s), now());
        assert_eq!([45, 750, 18_000, 400_000].map(ago), ["45s", "12m", "5h", "4d"]);
    }
}
