//! The repair loop's decisions, as pure functions of what happened: whether a round of the agent
//! finished, what comes after it, and what comes after the gates.

use std::sync::LazyLock;
use std::time::Duration;

use appgen_crd::{AgentSpec, Gate, Usage};
use regex::Regex;

use super::stream::{RoundOutcome, TokenUsage};
use crate::command::Ending;

pub(crate) const DEFAULT_MAX_REPAIRS: u32 = 3;
pub(crate) const DEFAULT_MAX_TURNS: u32 = 100;
pub(crate) const DEFAULT_MAX_BUDGET_USD: f64 = 10.0;
/// Waits before each new try of a round the model API failed; their count bounds the tries.
pub(crate) const BACKOFF: [Duration; 3] = [
    Duration::from_secs(5),
    Duration::from_secs(20),
    Duration::from_secs(60),
];
/// Characters of a gate's output given to the agent.
const REPAIR_TAIL_CHARS: usize = 4_000;
/// HTTP statuses that mean the model is unavailable for now, not that the request was wrong.
const UNAVAILABLE_STATUSES: [u64; 6] = [429, 500, 502, 503, 504, 529];
/// What the CLI says when a call fails without an HTTP status that tells it apart.
const UNAVAILABLE_WORDS: [&str; 8] = [
    "overloaded",
    "rate limit",
    "rate_limit",
    "connection refused",
    "connectionrefused",
    "unable to connect",
    "econnrefused",
    "econnreset",
];

/// The caps of one task's agent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Limits {
    pub max_repairs: u32,
    pub max_turns: u32,
    pub max_budget_usd: f64,
    /// From [`BACKOFF`]; injected so tests do not wait.
    pub backoff: Vec<Duration>,
}

impl Limits {
    pub(crate) fn from_spec(agent: Option<&AgentSpec>) -> Self {
        let positive = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok());
        Limits {
            max_repairs: positive(agent.and_then(|a| a.max_repairs)).unwrap_or(DEFAULT_MAX_REPAIRS),
            max_turns: positive(agent.and_then(|a| a.max_turns)).unwrap_or(DEFAULT_MAX_TURNS),
            max_budget_usd: agent
                .and_then(|a| a.max_budget_usd)
                .filter(|b| *b > 0.0)
                .unwrap_or(DEFAULT_MAX_BUDGET_USD),
            backoff: BACKOFF.to_vec(),
        }
    }

    /// What the next round may use: the task's caps less what earlier rounds spent.
    pub(crate) fn remaining(&self, spent: &Spent) -> (u32, f64) {
        (
            self.max_turns.saturating_sub(spent.turns),
            (self.max_budget_usd - spent.cost_usd).max(0.0),
        )
    }
}

/// What the rounds so far used, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Spent {
    pub turns: u32,
    pub cost_usd: f64,
    pub tokens: TokenUsage,
}

impl Spent {
    pub(crate) fn add(&mut self, outcome: &RoundOutcome) {
        self.turns = self.turns.saturating_add(outcome.num_turns);
        self.cost_usd += outcome.total_cost_usd;
        let t = &mut self.tokens;
        t.input = t.input.saturating_add(outcome.usage.input);
        t.output = t.output.saturating_add(outcome.usage.output);
        t.cache_creation = t.cache_creation.saturating_add(outcome.usage.cache_creation);
        t.cache_read = t.cache_read.saturating_add(outcome.usage.cache_read);
    }

    /// For `result.json`: cache tokens count as input, since status.usage has no field of their own.
    pub(crate) fn usage(&self) -> Usage {
        let t = &self.tokens;
        let input = t
            .input
            .saturating_add(t.cache_creation)
            .saturating_add(t.cache_read);
        Usage {
            input_tokens: i64::try_from(input).unwrap_or(i64::MAX),
            output_tokens: i64::try_from(t.output).unwrap_or(i64::MAX),
            cost_usd: self.cost_usd,
            turns: i32::try_from(self.turns).unwrap_or(i32::MAX),
            duration_seconds: 0.0,
        }
    }
}

/// A gate that failed: its output for the agent, and the normalised form two failures are
/// compared by.
#[derive(Debug, Clone)]
pub(crate) struct GateFailure {
    pub gate: Gate,
    pub message: String,
    pub normalised: String,
}

impl GateFailure {
    pub(crate) fn new(gate: Gate, message: &str) -> Self {
        GateFailure {
            gate,
            message: message.to_owned(),
            normalised: normalise(message),
        }
    }

    fn same_as(&self, other: &GateFailure) -> bool {
        self.gate == other.gate && self.normalised == other.normalised
    }
}

/// What happened so far in this task.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    pub spent: Spent,
    /// Repair rounds started.
    pub repairs: u32,
    /// New tries of rounds the model API failed.
    pub retries: u32,
    /// The gate failure the latest repair round was asked to fix.
    pub last_failure: Option<GateFailure>,
}

/// How a round of the agent ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AgentEnd {
    Finished,
    TurnsExhausted(String),
    BudgetExceeded(String),
    ModelUnavailable(String),
    /// The task's deadline came first.
    TimedOut,
    Failed(String),
}

/// Why the agent gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailReason {
    RepairLoop,
    BudgetExceeded,
    TurnsExhausted,
    ModelUnavailable,
    AgentFailed,
    /// Still failing after every repair round allowed.
    GateFailed,
    DeadlineExceeded,
}

impl FailReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailReason::RepairLoop => "RepairLoop",
            FailReason::BudgetExceeded => "BudgetExceeded",
            FailReason::TurnsExhausted => "TurnsExhausted",
            FailReason::ModelUnavailable => "ModelUnavailable",
            FailReason::AgentFailed => "AgentFailed",
            FailReason::GateFailed => "GateFailed",
            FailReason::DeadlineExceeded => "DeadlineExceeded",
        }
    }
}

/// The next step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Next {
    /// The agent finished; run the gates.
    Verify,
    Deliver,
    /// Resume the session with this prompt.
    Repair {
        prompt: String,
    },
    /// Run the same round again after waiting.
    Retry {
        after: Duration,
    },
    Fail {
        reason: FailReason,
        message: String,
    },
}

fn fail(reason: FailReason, message: impl Into<String>) -> Next {
    Next::Fail {
        reason,
        message: message.into(),
    }
}

/// How a round ended, from the CLI's exit, its `result` line and its stderr. Success needs all
/// three of exit code 0, `is_error: false` and a completed loop; the subtype only names a failure.
pub(crate) fn judge_round(ending: &Ending, outcome: Option<&RoundOutcome>, stderr: &str) -> AgentEnd {
    if *ending == Ending::TimedOut {
        return AgentEnd::TimedOut;
    }
    let Some(outcome) = outcome else {
        let said = last_line(stderr);
        return match ending {
            Ending::NotStarted(reason) => AgentEnd::Failed(format!(
                "the claude CLI could not start ({reason}); install it (npm i -g @anthropic-ai/claude-code) or set its path"
            )),
            _ if sounds_unavailable(stderr) => AgentEnd::ModelUnavailable(said),
            Ending::Exited(code) => AgentEnd::Failed(format!(
                "the claude CLI exited with code {code} without a result: {said}"
            )),
            _ => AgentEnd::Failed(format!(
                "the claude CLI was killed by a signal without a result: {said}"
            )),
        };
    };
    let reason = outcome.terminal_reason.as_deref();
    let completed = matches!(reason, None | Some("completed"));
    if *ending == Ending::Exited(0) && !outcome.is_error && completed {
        return AgentEnd::Finished;
    }
    let said = describe(outcome, stderr);
    if reason == Some("max_turns") || outcome.subtype == "error_max_turns" {
        AgentEnd::TurnsExhausted(said)
    } else if outcome.subtype == "error_max_budget_usd" {
        AgentEnd::BudgetExceeded(said)
    } else if outcome
        .api_error_status
        .is_some_and(|s| UNAVAILABLE_STATUSES.contains(&s))
        || (outcome.api_error_status.is_none() && sounds_unavailable(&said))
    {
        AgentEnd::ModelUnavailable(said)
    } else {
        AgentEnd::Failed(said)
    }
}

/// What the CLI said about a failed round, in one line.
fn describe(outcome: &RoundOutcome, stderr: &str) -> String {
    let text = outcome
        .result
        .clone()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| (!outcome.errors.is_empty()).then(|| outcome.errors.join("; ")))
        .unwrap_or_else(|| last_line(stderr));
    let text = if text.is_empty() {
        format!("the round ended with {}", outcome.subtype)
    } else {
        text
    };
    super::stream::truncate(&text, 500)
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn sounds_unavailable(text: &str) -> bool {
    let lower = text.to_lowercase();
    UNAVAILABLE_WORDS.iter().any(|w| lower.contains(w))
        || (lower.contains("api error")
            && UNAVAILABLE_STATUSES
                .iter()
                .any(|s| lower.contains(&s.to_string())))
}

/// After a round of the agent.
pub(crate) fn after_agent(end: &AgentEnd, history: &History, limits: &Limits) -> Next {
    match end {
        AgentEnd::Finished => Next::Verify,
        AgentEnd::ModelUnavailable(said) => {
            let tries = usize::try_from(history.retries).unwrap_or(usize::MAX);
            match limits.backoff.get(tries) {
                Some(after) => Next::Retry { after: *after },
                None => fail(
                    FailReason::ModelUnavailable,
                    format!(
                        "the model API stayed unavailable after {} retries: {said}; try again later",
                        limits.backoff.len()
                    ),
                ),
            }
        }
        AgentEnd::TurnsExhausted(said) => fail(
            FailReason::TurnsExhausted,
            format!(
                "the agent used all {} turns ({said}); raise spec.agent.maxTurns or simplify the prompt",
                limits.max_turns
            ),
        ),
        AgentEnd::BudgetExceeded(said) => fail(
            FailReason::BudgetExceeded,
            format!(
                "the agent spent its budget of ${:.2} ({said}); raise spec.agent.maxBudgetUsd",
                limits.max_budget_usd
            ),
        ),
        AgentEnd::TimedOut => fail(
            FailReason::DeadlineExceeded,
            "the agent was still working at the task's deadline; raise spec.timeoutSeconds",
        ),
        AgentEnd::Failed(said) => fail(FailReason::AgentFailed, format!("the agent failed: {said}")),
    }
}

/// After the gates ran on what the agent wrote: `None` when they all passed.
pub(crate) fn after_gates(failure: Option<&GateFailure>, history: &History, limits: &Limits) -> Next {
    let Some(failure) = failure else {
        return Next::Deliver;
    };
    let gate = failure.gate.as_str();
    if history
        .last_failure
        .as_ref()
        .is_some_and(|last| last.same_as(failure))
    {
        return fail(
            FailReason::RepairLoop,
            format!("the {gate} gate failed the same way after a repair; the agent is going in circles"),
        );
    }
    if history.repairs >= limits.max_repairs {
        return fail(
            FailReason::GateFailed,
            format!(
                "the {gate} gate still fails after {} repair rounds; raise spec.agent.maxRepairs or simplify the prompt",
                history.repairs
            ),
        );
    }
    let (turns_left, budget_left) = limits.remaining(&history.spent);
    if budget_left <= 0.0 {
        return fail(
            FailReason::BudgetExceeded,
            format!(
                "the {gate} gate failed and the budget of ${:.2} is spent; raise spec.agent.maxBudgetUsd",
                limits.max_budget_usd
            ),
        );
    }
    if turns_left == 0 {
        return fail(
            FailReason::TurnsExhausted,
            format!(
                "the {gate} gate failed and all {} turns are used; raise spec.agent.maxTurns",
                limits.max_turns
            ),
        );
    }
    Next::Repair {
        prompt: repair_prompt(failure),
    }
}

/// What the agent is asked in a repair round.
pub(crate) fn repair_prompt(failure: &GateFailure) -> String {
    let checks = match failure.gate {
        Gate::Install => "`pnpm install --frozen-lockfile` installs the dependencies from the lockfile",
        Gate::Typecheck => "`pnpm run typecheck` passes",
        Gate::Build => "`pnpm run build` passes",
        Gate::Test => "`pnpm run test` passes",
        Gate::Boot => "`pnpm start` with PORT and HOST set answers GET /api/health with 200",
        Gate::Smoke => "a headless browser loads / with no console errors and shows the app",
    };
    let tail = tail_chars(&failure.message, REPAIR_TAIL_CHARS).replace("```", "'''");
    format!(
        "The {gate} check failed. It checks that {checks}. The end of its output:\n\n```\n{tail}\n```\n\n\
         Find the cause and fix the app. Do not delete, skip or weaken tests or checks, and keep the \
         package.json scripts. Stop when you are done; the checks run again.",
        gate = failure.gate.as_str(),
    )
}

fn tail_chars(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    text.chars().skip(count - max).collect()
}

/// Rewrites of what changes from run to run of the same failure. Line and column numbers stay:
/// the same message at another line is another error, and calling that a loop would end a run
/// that is making progress (a missed loop costs only a bounded repair round).
const RULES: &[(&str, &str)] = &[
    // ANSI colours and cursor moves.
    (r"\x1b\[[0-9;?]*[ -/]*[@-~]", ""),
    // ISO timestamps and clock times.
    (
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
        "<time>",
    ),
    (r"\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b", "<time>"),
    // Durations: "in 1.23s", "(452 ms)", "3m 2s".
    (r"\b\d+(\.\d+)?\s?(ms|s|m|sec|secs|seconds|min)\b", "<duration>"),
    // Temporary paths.
    (r#"(/private)?(/tmp|/var/folders|/var/tmp)/[^\s:'"()]*"#, "<tmp>"),
    // UUIDs and long hex ids (hashes, addresses).
    (
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        "<id>",
    ),
    (r"\b(0x)?[0-9a-f]{7,}\b", "<hex>"),
    // Loopback ports: the boot gate picks a free one each run.
    (r"(127\.0\.0\.1|localhost|\[::1\]):\d+", "$1:<port>"),
    // Process ids.
    (r"\bpid[ =:]?\d+", "pid <n>"),
];

// Constant patterns, exercised by the tests: they cannot fail to compile at run time.
#[allow(clippy::expect_used)]
static COMPILED: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|(pattern, with)| (Regex::new(pattern).expect("a constant pattern compiles"), *with))
        .collect()
});

/// The form two gate failures are compared by: what varies between runs of one error removed,
/// whitespace collapsed. A message cut to its tail loses its first, partial line.
pub(crate) fn normalise(message: &str) -> String {
    let whole = match message.strip_prefix('…') {
        Some(cut) => cut.split_once('\n').map_or("", |(_, rest)| rest),
        None => message,
    };
    let rewritten = COMPILED.iter().fold(whole.to_owned(), |text, (pattern, with)| {
        pattern.replace_all(&text, *with).into_owned()
    });
    rewritten.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(subtype: &str, is_error: bool, reason: Option<&str>) -> RoundOutcome {
        RoundOutcome {
            subtype: subtype.to_owned(),
            is_error,
            terminal_reason: reason.map(str::to_owned),
            ..RoundOutcome::default()
        }
    }

    fn limits() -> Limits {
        Limits {
            max_repairs: 3,
            max_turns: 50,
            max_budget_usd: 5.0,
            backoff: vec![Duration::from_millis(1), Duration::from_millis(2)],
        }
    }

    #[test]
    fn a_round_succeeds_only_on_exit_zero_without_error_and_completed() {
        let ok = outcome("success", false, Some("completed"));
        let api = RoundOutcome {
            api_error_status: Some(529),
            result: Some("API Error: 529 Overloaded".to_owned()),
            ..outcome("success", true, Some("completed"))
        };
        let refused = RoundOutcome {
            result: Some("API Error: Unable to connect to API (ConnectionRefused)".to_owned()),
            ..outcome("success", true, Some("completed"))
        };
        let auth = RoundOutcome {
            api_error_status: Some(401),
            result: Some("Failed to authenticate. API Error: 401".to_owned()),
            ..outcome("success", true, Some("completed"))
        };
        let turns = RoundOutcome {
            errors: vec!["Reached maximum number of turns (1)".to_owned()],
            ..outcome("error_max_turns", true, Some("max_turns"))
        };
        let cases: Vec<(&str, Ending, Option<RoundOutcome>, &str, AgentEnd)> = vec![
            ("clean", Ending::Exited(0), Some(ok.clone()), "", AgentEnd::Finished),
            ("no terminal reason", Ending::Exited(0), Some(outcome("success", false, None)), "", AgentEnd::Finished),
            (
                "exit 1 with a clean result",
                Ending::Exited(1),
                Some(ok.clone()),
                "",
                AgentEnd::Failed("the round ended with success".to_owned()),
            ),
            (
                "subtype success is not enough",
                Ending::Exited(0),
                Some(outcome("success", true, Some("completed"))),
                "",
                AgentEnd::Failed("the round ended with success".to_owned()),
            ),
            (
                "an unfinished loop",
                Ending::Exited(0),
                Some(outcome("success", false, Some("prompt_too_long"))),
                "",
                AgentEnd::Failed("the round ended with success".to_owned()),
            ),
            ("overloaded", Ending::Exited(1), Some(api), "", AgentEnd::ModelUnavailable("API Error: 529 Overloaded".to_owned())),
            (
                "refused",
                Ending::Exited(1),
                Some(refused),
                "",
                AgentEnd::ModelUnavailable("API Error: Unable to connect to API (ConnectionRefused)".to_owned()),
            ),
            (
                "bad credentials are not retried",
                Ending::Exited(1),
                Some(auth),
                "",
                AgentEnd::Failed("Failed to authenticate. API Error: 401".to_owned()),
            ),
            (
                "turns",
                Ending::Exited(1),
                Some(turns),
                "",
                AgentEnd::TurnsExhausted("Reached maximum number of turns (1)".to_owned()),
            ),
            (
                "budget",
                Ending::Exited(1),
                Some(outcome("error_max_budget_usd", true, None)),
                "",
                AgentEnd::BudgetExceeded("the round ended with error_max_budget_usd".to_owned()),
            ),
            ("deadline", Ending::TimedOut, Some(ok), "", AgentEnd::TimedOut),
            (
                "refused as root",
                Ending::Exited(1),
                None,
                "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n",
                AgentEnd::Failed(
                    "the claude CLI exited with code 1 without a result: --dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons"
                        .to_owned(),
                ),
            ),
            (
                "no network before the stream",
                Ending::Exited(1),
                None,
                "Error: connect ECONNREFUSED 127.0.0.1:443",
                AgentEnd::ModelUnavailable("Error: connect ECONNREFUSED 127.0.0.1:443".to_owned()),
            ),
            (
                "signal",
                Ending::Signalled,
                None,
                "",
                AgentEnd::Failed("the claude CLI was killed by a signal without a result: ".to_owned()),
            ),
        ];
        for (name, ending, outcome, stderr, expected) in cases {
            assert_eq!(judge_round(&ending, outcome.as_ref(), stderr), expected, "{name}");
        }
        let missing = judge_round(
            &Ending::NotStarted("No such file or directory".to_owned()),
            None,
            "",
        );
        assert!(
            matches!(&missing, AgentEnd::Failed(m) if m.contains("could not start") && m.contains("npm i -g")),
            "{missing:?}"
        );
    }

    #[test]
    fn after_a_round_the_gates_run_or_the_run_stops_with_a_reason() {
        let history = History::default();
        let cases = [
            (AgentEnd::Finished, None),
            (
                AgentEnd::TurnsExhausted("x".to_owned()),
                Some(FailReason::TurnsExhausted),
            ),
            (
                AgentEnd::BudgetExceeded("x".to_owned()),
                Some(FailReason::BudgetExceeded),
            ),
            (AgentEnd::TimedOut, Some(FailReason::DeadlineExceeded)),
            (AgentEnd::Failed("x".to_owned()), Some(FailReason::AgentFailed)),
        ];
        for (end, expected) in cases {
            let next = after_agent(&end, &history, &limits());
            match expected {
                None => assert_eq!(next, Next::Verify),
                Some(reason) => {
                    assert!(
                        matches!(next, Next::Fail { reason: r, .. } if r == reason),
                        "{end:?}: {next:?}"
                    )
                }
            }
        }
    }

    #[test]
    fn an_unavailable_model_is_retried_with_backoff_then_given_up() {
        let end = AgentEnd::ModelUnavailable("API Error: 529".to_owned());
        let mut history = History::default();
        let mut waits = Vec::new();
        loop {
            match after_agent(&end, &history, &limits()) {
                Next::Retry { after } => {
                    waits.push(after);
                    history.retries += 1;
                }
                Next::Fail { reason, message } => {
                    assert_eq!(reason, FailReason::ModelUnavailable);
                    assert!(message.contains("529"), "{message}");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(waits, [Duration::from_millis(1), Duration::from_millis(2)]);
    }

    fn failed(gate: Gate, message: &str) -> GateFailure {
        GateFailure::new(gate, message)
    }

    #[test]
    fn after_the_gates_the_app_is_delivered_repaired_or_given_up() {
        let build = failed(
            Gate::Build,
            "src/App.tsx(3,1): error TS2304: Cannot find name 'x'.",
        );
        let spent = |turns, cost_usd| Spent {
            turns,
            cost_usd,
            tokens: TokenUsage::default(),
        };
        let cases: Vec<(&str, Option<GateFailure>, History, Option<FailReason>)> = vec![
            ("all passed", None, History::default(), None),
            ("first failure", Some(build.clone()), History::default(), None),
            (
                "same failure after a repair",
                Some(failed(
                    Gate::Build,
                    "src/App.tsx(3,1): error TS2304: Cannot find name 'x'.\n",
                )),
                History {
                    repairs: 1,
                    last_failure: Some(build.clone()),
                    ..History::default()
                },
                Some(FailReason::RepairLoop),
            ),
            (
                "another failure after a repair",
                Some(failed(Gate::Test, "1 failed")),
                History {
                    repairs: 1,
                    last_failure: Some(build.clone()),
                    ..History::default()
                },
                None,
            ),
            (
                "the same text from another gate",
                Some(failed(Gate::Typecheck, &build.message)),
                History {
                    repairs: 1,
                    last_failure: Some(build.clone()),
                    ..History::default()
                },
                None,
            ),
            (
                "repairs used up",
                Some(failed(Gate::Test, "1 failed")),
                History {
                    repairs: 3,
                    last_failure: Some(build.clone()),
                    ..History::default()
                },
                Some(FailReason::GateFailed),
            ),
            (
                "budget spent",
                Some(build.clone()),
                History {
                    spent: spent(10, 5.0),
                    ..History::default()
                },
                Some(FailReason::BudgetExceeded),
            ),
            (
                "turns used",
                Some(build.clone()),
                History {
                    spent: spent(50, 1.0),
                    ..History::default()
                },
                Some(FailReason::TurnsExhausted),
            ),
        ];
        for (name, failure, history, expected) in cases {
            let next = after_gates(failure.as_ref(), &history, &limits());
            match (expected, &failure) {
                (None, None) => assert_eq!(next, Next::Deliver, "{name}"),
                (None, Some(f)) => assert!(
                    matches!(&next, Next::Repair { prompt } if prompt.contains(&f.message)),
                    "{name}: {next:?}"
                ),
                (Some(reason), _) => {
                    assert!(
                        matches!(next, Next::Fail { reason: r, .. } if r == reason),
                        "{name}: {next:?}"
                    )
                }
            }
        }
    }

    #[test]
    fn a_repair_prompt_names_the_gate_and_quotes_the_end_of_its_output() {
        let long = format!("{}\nError: the real cause\n```", "noise ".repeat(2_000));
        let prompt = repair_prompt(&failed(Gate::Boot, &long));
        assert!(prompt.starts_with("The boot check failed."), "{prompt}");
        assert!(prompt.contains("/api/health"));
        assert!(prompt.contains("Error: the real cause"));
        assert!(prompt.len() < 5_000, "{}", prompt.len());
        assert_eq!(
            prompt.matches("```").count(),
            2,
            "the output cannot close the quote"
        );
    }

    #[test]
    fn normalising_removes_what_changes_between_runs_of_one_error() {
        let same = [
            (
                "\u{1b}[31mError\u{1b}[0m: build failed in 1.23s",
                "Error: build failed in 4.5s",
            ),
            (
                "[2025-01-02T03:04:05.678Z] server crashed at 12:00:01",
                "[2026-11-26T18:11:49Z] server crashed at 09:10:11",
            ),
            (
                "cannot read /tmp/.tmpAbC123/app/x.json",
                "cannot read /tmp/.tmpZz9/app/x.json",
            ),
            (
                "the server did not answer /api/health on 127.0.0.1:43567 within 15s",
                "the server did not answer /api/health on 127.0.0.1:40001 within 15s",
            ),
            ("chunk 3fa9c2d1e0 failed", "chunk 9b8e7d6c5a failed"),
            (
                "session 6f1c2a3b-0000-5000-8000-000000000010",
                "session 11111111-2222-5333-8444-555555555555",
            ),
            ("killed pid 1234", "killed pid 98765"),
            ("a   b\n\n c", "a b c"),
            ("…partial first line\nError: x", "Error: x"),
        ];
        for (a, b) in same {
            assert_eq!(normalise(a), normalise(b), "{a:?} vs {b:?}");
        }
        let different = [
            ("src/a.ts(3,1): error TS2304", "src/a.ts(9,1): error TS2304"),
            ("1 failed", "2 failed"),
            ("Cannot find name 'x'", "Cannot find name 'y'"),
        ];
        for (a, b) in different {
            assert_ne!(normalise(a), normalise(b), "{a:?} vs {b:?}");
        }
        assert_eq!(COMPILED.len(), RULES.len(), "every pattern compiles");
    }

    #[test]
    fn limits_come_from_the_spec_with_defaults() {
        let none = Limits::from_spec(None);
        assert_eq!(
            (none.max_repairs, none.max_turns, none.max_budget_usd),
            (DEFAULT_MAX_REPAIRS, DEFAULT_MAX_TURNS, DEFAULT_MAX_BUDGET_USD)
        );
        let spec = AgentSpec {
            max_repairs: Some(0),
            max_turns: Some(7),
            max_budget_usd: Some(0.5),
            ..AgentSpec::default()
        };
        let given = Limits::from_spec(Some(&spec));
        assert_eq!(
            (given.max_repairs, given.max_turns, given.max_budget_usd),
            (0, 7, 0.5)
        );
        let spent = Spent {
            turns: 9,
            cost_usd: 0.2,
            tokens: TokenUsage::default(),
        };
        let (turns, budget) = given.remaining(&spent);
        assert_eq!(turns, 0);
        assert!((budget - 0.3).abs() < 1e-9);
    }

    #[test]
    fn usage_is_summed_over_rounds() {
        let round = RoundOutcome {
            num_turns: 3,
            total_cost_usd: 0.25,
            usage: TokenUsage {
                input: 100,
                output: 40,
                cache_creation: 10,
                cache_read: 5,
            },
            ..RoundOutcome::default()
        };
        let mut spent = Spent::default();
        spent.add(&round);
        spent.add(&round);
        let usage = spent.usage();
        assert_eq!(
            (usage.input_tokens, usage.output_tokens, usage.turns),
            (230, 80, 6)
        );
        assert!((usage.cost_usd - 0.5).abs() < 1e-9);
    }
}
