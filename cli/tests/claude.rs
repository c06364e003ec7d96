//! The claude-code agent in `appgen generate`: the real Claude Code CLI against a scripted
//! Anthropic endpoint on loopback, then the same gates as the scaffold, repair rounds resuming the
//! session, and the limits that end a run with a reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use appgen_crd::AgentSpec;
use appgen_crd::task::TaskResult;
use appgen_scripted_anthropic::{Script, ScriptedAnthropic, Turn, Usage};
use common::assert_every_gate_passed;
use common::task::{Ran, Run, spec};
use serde_json::json;

const SECRET: &str = "sk-ant-scripted-secret-0123456789";
const PROMPT: &str = "A page that greets visitors.";

/// A scripted endpoint playing `turns`.
async fn scripted<const N: usize>(turns: [Turn; N]) -> ScriptedAnthropic {
    ScriptedAnthropic::start(Script::new(turns)).await.unwrap()
}

/// The model writing a file through Claude Code's Write tool.
fn write(path: &str, content: &str) -> Turn {
    Turn::tool_use("Write", json!({ "file_path": path, "content": content }))
}

/// The environment that points `appgen generate` at `server` with the claude-code agent.
fn model_env(server: &ScriptedAnthropic) -> Vec<(&'static str, String)> {
    vec![
        ("APPGEN_AGENT", "claude-code".to_owned()),
        ("ANTHROPIC_BASE_URL", server.base_url()),
        ("ANTHROPIC_API_KEY", SECRET.to_owned()),
    ]
}

fn as_env<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Runs `appgen generate` with the claude-code agent against `server`.
fn generate(run: &Run, server: &ScriptedAnthropic, agent: AgentSpec) -> Ran {
    let mut spec = spec(PROMPT);
    spec.agent = Some(agent);
    run.write_input(spec);
    let mut env = model_env(server);
    // Retries kept short: appgen's own waits, and the CLI's, which come first.
    env.push(("APPGEN_AGENT_RETRY_SECONDS", "0".to_owned()));
    env.push(("CLAUDE_CODE_MAX_RETRIES", "1".to_owned()));
    run.generate(&run.input_uri(), &as_env(&env))
}

fn agent() -> AgentSpec {
    AgentSpec {
        max_repairs: Some(2),
        ..AgentSpec::default()
    }
}

/// The failure's reason and message, after checking the run failed as a task should.
fn failed(run: &Run, ran: &Ran) -> (String, String) {
    assert_eq!(ran.code, Some(1), "stderr: {}", ran.stderr);
    let error = run.result().error.expect("a failed result carries its error");
    (error.reason.unwrap_or_default(), error.message)
}

/// No file under `root` holds the API key, compressed archives included.
fn assert_no_secret_under(root: &std::path::Path) {
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            if path.extension().is_some_and(|e| e == "gz") {
                let _ = std::io::Read::read_to_string(
                    &mut flate2::read::GzDecoder::new(bytes.as_slice()),
                    &mut text,
                );
            }
            assert!(!text.contains(SECRET), "the API key is in {}", path.display());
        }
    }
}

const BROKEN: &str = "export const greeting: number = 'hello';\n";
const FIXED: &str = "export const greeting: string = 'hello';\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_writes_a_working_change_is_delivered_with_its_usage() {
    let server = scripted([
        write("src/shared/greeting.ts", FIXED),
        Turn::text("Added the greeting."),
    ])
    .await;
    let run = Run::new();
    let ran = generate(&run, &server, agent());
    let result: TaskResult = run.result();
    assert_eq!(ran.code, Some(0), "{:?}\n{}", result.error, ran.stderr);
    assert_every_gate_passed(&result.verification);
    let usage = result.usage.unwrap();
    assert!(
        usage.turns >= 2 && usage.output_tokens > 0 && usage.cost_usd > 0.0,
        "{usage:?}"
    );
    let written = std::fs::read_to_string(run.workspace().join("app/src/shared/greeting.ts")).unwrap();
    assert_eq!(written, FIXED);
    // The agent's work is in the event log: a tool event for the Write.
    let tools: Vec<_> = run
        .events()
        .into_iter()
        .filter(|e| e.event_type == appgen_crd::task::TaskEventType::Tool)
        .map(|e| e.body.to_string())
        .collect();
    assert!(tools.iter().any(|t| t.contains("greeting.ts")), "{tools:?}");
    // The session is saved for a follow-up.
    assert!(
        run.generation_dir()
            .join("session/claude/transcript.jsonl")
            .is_file()
    );
    assert_no_secret_under(&run.store());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asked_to_start_from_the_scaffold_the_model_builds_on_the_scaffolds_app() {
    let server = scripted([Turn::text("The scaffold already does it.")]).await;
    let run = Run::new();
    let mut spec = spec("A todo app where tasks have a title and a done flag.");
    spec.agent = Some(AgentSpec {
        start_from: Some(appgen_crd::StartFrom::Scaffold),
        ..agent()
    });
    run.write_input(spec);
    let env = model_env(&server);
    let ran = run.generate(&run.input_uri(), &as_env(&env));
    let result = run.result();
    assert_eq!(ran.code, Some(0), "{:?}", result.error);
    assert_eq!(result.blueprint.unwrap().entities[0].name, "Task");
    // The smoke gate looked for the scaffold's entities on the home page.
    assert!(
        result
            .verification
            .iter()
            .any(|g| g.message.as_deref().is_some_and(|m| m.contains("Tasks")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_gate_is_repaired_in_a_second_round_of_the_same_session() {
    let server = scripted([
        write("src/shared/greeting.ts", BROKEN),
        Turn::text("Added the greeting."),
        write("src/shared/greeting.ts", FIXED),
        Turn::text("Fixed the type."),
    ])
    .await;
    let run = Run::new();
    let ran = generate(&run, &server, agent());
    let result = run.result();
    assert_eq!(ran.code, Some(0), "{:?}", result.error);
    // The repair round resumed the conversation and was shown the compiler's complaint.
    let requests = server.main_requests();
    let last = requests.last().unwrap().body.to_string();
    assert!(
        last.contains(PROMPT),
        "the repair round did not resume the session"
    );
    assert!(
        last.contains("greeting"),
        "the repair prompt does not carry the gate's output"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_gate_failing_the_same_way_twice_ends_in_a_repair_loop() {
    let server = scripted([
        write("src/shared/greeting.ts", BROKEN),
        Turn::text("Added the greeting."),
        Turn::text("I believe it is fine as it is."),
    ])
    .await;
    let run = Run::new();
    let ran = generate(&run, &server, agent());
    let (reason, message) = failed(&run, &ran);
    assert_eq!(reason, "RepairLoop", "{message}");
    assert!(message.contains("typecheck"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spending_the_budget_ends_the_run_with_that_reason() {
    let server = ScriptedAnthropic::start(Script::new([write("a.txt", "a"), Turn::text("done")]).with_usage(
        Usage {
            input_tokens: 10,
            output_tokens: 100_000,
        },
    ))
    .await
    .unwrap();
    let run = Run::new();
    let ran = generate(
        &run,
        &server,
        AgentSpec {
            max_budget_usd: Some(0.05),
            ..agent()
        },
    );
    let (reason, message) = failed(&run, &ran);
    assert_eq!(reason, "BudgetExceeded", "{message}");
    assert!(run.result().usage.unwrap().cost_usd > 0.05);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn using_every_turn_ends_the_run_with_that_reason() {
    let server = scripted([write("a.txt", "a"), write("b.txt", "b"), Turn::text("done")]).await;
    let run = Run::new();
    let ran = generate(
        &run,
        &server,
        AgentSpec {
            max_turns: Some(1),
            ..agent()
        },
    );
    let (reason, message) = failed(&run, &ran);
    assert_eq!(reason, "TurnsExhausted", "{message}");
    assert!(message.contains("maxTurns"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_model_is_tried_again_and_a_broken_one_ends_model_unavailable() {
    // 529 once (the CLI retries by itself), then a working run.
    let server = scripted([
        Turn::status(529, "overloaded_error"),
        write("src/shared/greeting.ts", FIXED),
        Turn::text("done"),
    ])
    .await;
    let run = Run::new();
    let ran = generate(&run, &server, agent());
    assert_eq!(ran.code, Some(0), "{:?}", run.result().error);

    // 500 on every request: the CLI's retries and appgen's run out.
    let server = ScriptedAnthropic::start(Script::new((0..40).map(|_| Turn::status(500, "api_error"))))
        .await
        .unwrap();
    let run = Run::new();
    let ran = generate(&run, &server, agent());
    let (reason, message) = failed(&run, &ran);
    assert_eq!(reason, "ModelUnavailable", "{message}");
    assert!(run.result().verification.is_empty(), "no gate ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_never_ends_is_stopped_at_the_deadline() {
    let server = scripted([Turn::Hang]).await;
    let run = Run::new();
    let mut spec = spec(PROMPT);
    spec.agent = Some(agent());
    // The agent gets the timeout less a margin for the gates: 40 s - 30 s.
    spec.timeout_seconds = Some(40);
    run.write_input(spec);
    let started = std::time::Instant::now();
    let env = model_env(&server);
    let ran = run.generate(&run.input_uri(), &as_env(&env));
    let (reason, _) = failed(&run, &ran);
    assert_eq!(reason, "DeadlineExceeded");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_continues_the_parents_source_and_conversation() {
    let server = scripted([
        write("src/shared/greeting.ts", FIXED),
        Turn::text("Added the greeting."),
        write("src/shared/farewell.ts", "export const farewell = 'bye';\n"),
        Turn::text("Added the farewell."),
    ])
    .await;
    let parent = Run::new();
    let ran = generate(&parent, &server, agent());
    assert_eq!(ran.code, Some(0), "{:?}", parent.result().error);

    let child = parent.follow_up("todo-2", "1c2d3e4f-child");
    let mut spec = spec("Also say goodbye.");
    spec.parent = Some("todo".into());
    spec.agent = Some(agent());
    child.write_input(spec);
    let env = model_env(&server);
    let ran = child.generate(&child.input_uri(), &as_env(&env));
    assert_eq!(ran.code, Some(0), "{:?}\n{}", child.result().error, ran.stderr);
    // The parent's file came along, and the model saw the parent's conversation.
    let app = child.workspace().join("app");
    assert_eq!(
        std::fs::read_to_string(app.join("src/shared/greeting.ts")).unwrap(),
        FIXED
    );
    assert!(app.join("src/shared/farewell.ts").is_file());
    let first_of_child = server
        .main_requests()
        .into_iter()
        .map(|r| r.body.to_string())
        .find(|body| body.contains("Also say goodbye."))
        .expect("the follow-up's prompt reached the model");
    assert!(
        first_of_child.contains(PROMPT),
        "the parent's conversation was not resumed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_picks_claude_code_when_it_has_credentials_and_keeps_the_key_out_of_everything() {
    use appgen_crd::{Generation, GenerationSpec, Phase};
    use kube::api::{Api, PostParams};

    let server = scripted([
        write("src/shared/greeting.ts", FIXED),
        Turn::text("Added the greeting."),
    ])
    .await;
    let base_url = server.base_url();
    let store = common::pnpm_store().display().to_string();
    let serve = common::Server::start_with_env(
        &["--pnpm-store", &store],
        &[
            ("ANTHROPIC_BASE_URL", base_url.as_str()),
            ("ANTHROPIC_API_KEY", SECRET),
        ],
    );
    assert!(serve.log().contains("agent: claude-code"), "{}", serve.log());

    let api: Api<Generation> = Api::namespaced(serve.client().await, "default");
    let generation = Generation::new("greeter", GenerationSpec::from_prompt(PROMPT));
    api.create(&PostParams::default(), &generation).await.unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        let status = api.get("greeter").await.unwrap().status.unwrap_or_default();
        if matches!(status.phase, Some(Phase::Delivered | Phase::Failed)) {
            break status;
        }
        assert!(started.elapsed().as_secs() < 300, "{status:?}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(status.phase, Some(Phase::Delivered), "{status:#?}");
    assert!(
        status
            .usage
            .as_ref()
            .is_some_and(|u| u.cost_usd > 0.0 && u.turns > 0)
    );
    assert!(
        !server.main_requests().is_empty(),
        "the CLI talked to the scripted endpoint"
    );

    // The key is nowhere a person or another program could read it.
    let everything = format!(
        "{}{}{}",
        serve.log(),
        common::ok(serve.kubectl(&["get", "gen", "greeter", "-o", "yaml"])),
        common::ok(serve.kubectl(&["get", "events", "-o", "yaml"])),
    );
    assert!(!everything.contains(SECRET), "the API key leaked");
    assert_no_secret_under(&serve.data_dir().join("artifacts"));
}
