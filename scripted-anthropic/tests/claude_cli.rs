//! The real Claude Code CLI, headless, against the scripted endpoint: what it sends, what it does
//! with each kind of answer, and what its stream-json output says. These are the facts the
//! generator's claude-code agent relies on.

// Test support code outside #[test] functions, which clippy.toml's test allowances do not cover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use appgen_scripted_anthropic::{Block, RequestKind, Script, ScriptedAnthropic, Turn, Usage};
use common::{PINNED_VERSION, Sandbox, claude_bin, conversation_text, read, shape};
use serde_json::json;

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[tokio::test]
async fn a_scripted_write_lands_in_the_cwd_and_the_run_reports_success() {
    let server = ScriptedAnthropic::start(Script::new([
        Turn::tool_use(
            "Write",
            json!({"file_path": "hello.txt", "content": "hi from the script\n"}),
        ),
        Turn::text("I wrote hello.txt."),
    ]))
    .await
    .unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox
        .run(&server, "write hello.txt", &["--permission-mode", "acceptEdits"])
        .await;

    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(
        read(&sandbox.cwd.path().join("hello.txt")),
        "hi from the script\n"
    );
    let init = run.events_of("system", Some("init"));
    assert_eq!(init.len(), 1);
    assert_eq!(init[0]["claude_code_version"], PINNED_VERSION);
    assert_eq!(init[0]["apiKeySource"], "ANTHROPIC_API_KEY");
    let assistant = run.events_of("assistant", None);
    assert_eq!(assistant[0]["message"]["content"][0]["type"], "tool_use");
    assert_eq!(assistant[0]["message"]["content"][0]["name"], "Write");
    let tool_results = run.events_of("user", None);
    assert_eq!(tool_results[0]["message"]["content"][0]["type"], "tool_result");
    assert_eq!(
        tool_results[0]["message"]["content"][0]["tool_use_id"],
        assistant[0]["message"]["content"][0]["id"]
    );
    let result = run.result();
    assert_eq!(result["subtype"], "success");
    assert_eq!(result["is_error"], false);
    assert_eq!(result["terminal_reason"], "completed");
    assert_eq!(result["num_turns"], 2);
    assert_eq!(result["result"], "I wrote hello.txt.");
    assert!(result["total_cost_usd"].as_f64().unwrap() > 0.0);
    // Two answers of the default usage (10 in, 5 out) each.
    assert_eq!(result["usage"]["input_tokens"], 20);
    assert_eq!(result["usage"]["output_tokens"], 10);
    assert_eq!(result["session_id"], init[0]["session_id"]);

    // Only the agent loop talked to the endpoint: two main-model streaming requests, nothing else.
    let requests = server.requests();
    let paths: Vec<_> = requests
        .iter()
        .map(|r| format!("{} {} {:?}", r.method, r.path, r.kind))
        .collect();
    assert_eq!(
        paths,
        [
            "POST /v1/messages?beta=true Main",
            "POST /v1/messages?beta=true Main"
        ]
    );
    assert!(
        requests
            .iter()
            .all(|r| r.api_key_present && r.body["stream"] == true)
    );
    assert_eq!(
        requests[0].header("x-claude-code-session-id"),
        init[0]["session_id"].as_str()
    );

    for event in &run.events {
        let name = format!("{}/{}", event["type"], event["subtype"]);
        println!("{name}: {}", shape(event));
    }
}

#[tokio::test]
async fn bash_runs_as_root_with_is_sandbox_and_bypass_permissions() {
    let server = ScriptedAnthropic::start(Script::new([
        Turn::tool_use(
            "Bash",
            json!({"command": "echo hi > out.txt && uname > uname.txt"}),
        ),
        Turn::text("ran it"),
    ]))
    .await
    .unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox
        .run_with_env(
            &server,
            "run it",
            &["--permission-mode", "bypassPermissions"],
            &[("IS_SANDBOX", "1")],
        )
        .await;

    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(read(&sandbox.cwd.path().join("out.txt")), "hi\n");
    assert_eq!(read(&sandbox.cwd.path().join("uname.txt")), "Linux\n");
    assert_eq!(run.result()["permission_denials"], json!([]));
}

#[tokio::test]
async fn bash_runs_with_accept_edits_when_allowed_tools_names_it() {
    let server = ScriptedAnthropic::start(Script::new([
        Turn::tool_use(
            "Bash",
            json!({"command": "echo hi > out.txt && uname > uname.txt"}),
        ),
        Turn::text("ran it"),
    ]))
    .await
    .unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox
        .run(
            &server,
            "run it",
            &[
                "--permission-mode",
                "acceptEdits",
                "--allowedTools",
                "Write Edit Bash Read",
            ],
        )
        .await;

    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(read(&sandbox.cwd.path().join("uname.txt")), "Linux\n");
    assert_eq!(run.result()["permission_denials"], json!([]));
}

/// acceptEdits alone lets read-only commands and redirects into the cwd through (`uname > f`
/// ran), but not a command that runs arbitrary code.
const RUNS_CODE: &str = "python3 -c \"open('py.txt', 'w').write('x')\"";

#[tokio::test]
async fn accept_edits_alone_denies_bash_that_runs_code() {
    let server = ScriptedAnthropic::start(Script::new([
        Turn::tool_use("Bash", json!({"command": RUNS_CODE})),
        Turn::text("could not"),
    ]))
    .await
    .unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox
        .run(&server, "run it", &["--permission-mode", "acceptEdits"])
        .await;

    // The run still succeeds; the denial goes back to the model as a tool result and is listed.
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(!sandbox.cwd.path().join("py.txt").exists());
    let denials = &run.result()["permission_denials"];
    assert_eq!(denials[0]["tool_name"], "Bash", "{denials}");
    assert_eq!(denials[0]["tool_input"]["command"], RUNS_CODE);
}

#[tokio::test]
async fn bypass_permissions_is_refused_as_root_without_is_sandbox() {
    if !running_as_root() {
        return;
    }
    let server = ScriptedAnthropic::start(Script::new([Turn::text("never asked")]))
        .await
        .unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox
        .run(&server, "hi", &["--permission-mode", "bypassPermissions"])
        .await;

    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("cannot be used with root/sudo privileges"),
        "{}",
        run.stderr
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_resumed_session_sends_the_earlier_conversation() {
    let session_id = uuid::Uuid::new_v4().to_string();
    let sandbox = Sandbox::new();
    let first = ScriptedAnthropic::start(Script::new([Turn::text("noted: PAPAYA")]))
        .await
        .unwrap();
    let run = sandbox
        .run(&first, "remember the word PAPAYA", &["--session-id", &session_id])
        .await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(run.result()["session_id"], session_id.as_str());

    let second = ScriptedAnthropic::start(Script::new([Turn::text("it was PAPAYA")]))
        .await
        .unwrap();
    let run = sandbox
        .run(&second, "which word?", &["--resume", &session_id])
        .await;

    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(run.result()["session_id"], session_id.as_str());
    let request = &second.main_requests()[0];
    assert_eq!(
        request.header("x-claude-code-session-id"),
        Some(session_id.as_str())
    );
    let conversation = conversation_text(&request.body);
    for said in ["remember the word PAPAYA", "noted: PAPAYA", "which word?"] {
        assert!(
            conversation.contains(said),
            "{said:?} missing from {conversation}"
        );
    }

    // Sessions live at <CLAUDE_CONFIG_DIR>/projects/<cwd, every non-alphanumeric as '-'>/<id>.jsonl.
    let cwd = sandbox.cwd.path().canonicalize().unwrap();
    let project: String = cwd
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let transcript = sandbox
        .config_dir()
        .join("projects")
        .join(project)
        .join(format!("{session_id}.jsonl"));
    assert!(read(&transcript).contains("PAPAYA"), "{}", transcript.display());
}

#[tokio::test]
async fn an_overloaded_answer_is_retried_by_the_cli() {
    let server = ScriptedAnthropic::start(Script::new([
        Turn::status(529, "overloaded_error"),
        Turn::text("after the overload"),
    ]))
    .await
    .unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox.run(&server, "hi", &[]).await;

    assert_eq!(run.code, Some(0), "{run:#?}");
    let retries = run.events_of("system", Some("api_retry"));
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0]["attempt"], 1);
    assert_eq!(retries[0]["error_status"], 529);
    assert_eq!(retries[0]["error"], "overloaded");
    assert_eq!(run.result()["result"], "after the overload");
    assert_eq!(run.result()["is_error"], false);
    assert_eq!(server.main_requests().len(), 2);
}

#[tokio::test]
async fn a_server_error_that_persists_ends_the_run_after_max_retries() {
    let server = ScriptedAnthropic::start(Script::new(vec![Turn::status(500, "api_error"); 10]))
        .await
        .unwrap();
    let sandbox = Sandbox::new();

    // The default is 10 retries with backoff capped near 40 s (about three minutes in all).
    let run = sandbox
        .run_with_env(&server, "hi", &[], &[("CLAUDE_CODE_MAX_RETRIES", "2")])
        .await;

    assert_eq!(run.code, Some(1), "{run:#?}");
    assert_eq!(server.main_requests().len(), 3);
    let retries = run.events_of("system", Some("api_retry"));
    assert_eq!(retries.len(), 2);
    assert_eq!(retries[1]["max_retries"], 2);
    let result = run.result();
    assert_eq!(result["is_error"], true);
    // The CLI calls this "success": the turn loop ended normally, with an API error as its answer.
    assert_eq!(result["subtype"], "success");
    assert_eq!(result["terminal_reason"], "api_error");
    assert_eq!(result["api_error_status"], 500);
    assert_eq!(result["api_error_type"], "api_error");
    assert!(
        result["result"].as_str().unwrap().starts_with("API Error: 500"),
        "{result}"
    );
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
}

#[tokio::test]
async fn overload_that_persists_gives_up_after_three_attempts() {
    let server = ScriptedAnthropic::start(Script::new(vec![Turn::status(529, "overloaded_error"); 10]))
        .await
        .unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox.run(&server, "hi", &[]).await;

    assert_eq!(run.code, Some(1), "{run:#?}");
    assert_eq!(server.main_requests().len(), 3);
    let result = run.result();
    assert_eq!(result["is_error"], true);
    assert_eq!(result["terminal_reason"], "api_error");
    assert_eq!(result["api_error_status"], 529);
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .contains("Repeated 529 Overloaded"),
        "{result}"
    );
}

#[tokio::test]
async fn max_turns_stops_the_run_after_the_first_tool_call() {
    let server = ScriptedAnthropic::start(Script::new([
        Turn::tool_use("Write", json!({"file_path": "a.txt", "content": "a"})),
        Turn::text("never reached"),
    ]))
    .await
    .unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox
        .run(
            &server,
            "write",
            &["--permission-mode", "acceptEdits", "--max-turns", "1"],
        )
        .await;

    assert_eq!(run.code, Some(1), "{run:#?}");
    let result = run.result();
    assert_eq!(result["subtype"], "error_max_turns");
    assert_eq!(result["is_error"], true);
    assert_eq!(result["terminal_reason"], "max_turns");
    assert_eq!(result["errors"], json!(["Reached maximum number of turns (1)"]));
    // The first turn's tool still ran; the second request was never sent.
    assert!(sandbox.cwd.path().join("a.txt").exists());
    assert_eq!(server.main_requests().len(), 1);
}

#[tokio::test]
async fn a_budget_overrun_ends_the_run_with_error_max_budget_usd() {
    let script = Script::new([
        Turn::Message(vec![
            Block::Text("writing".into()),
            Block::ToolUse {
                name: "Write".into(),
                input: json!({"file_path": "a.txt", "content": "a"}),
            },
        ]),
        Turn::text("never reached"),
    ])
    .with_usage(Usage {
        input_tokens: 10,
        output_tokens: 100_000,
    });
    let server = ScriptedAnthropic::start(script).await.unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox
        .run(
            &server,
            "write",
            &["--permission-mode", "acceptEdits", "--max-budget-usd", "0.01"],
        )
        .await;

    assert_eq!(run.code, Some(1), "{run:#?}");
    let result = run.result();
    assert_eq!(result["subtype"], "error_max_budget_usd");
    assert_eq!(result["is_error"], true);
    assert_eq!(result["terminal_reason"], "budget_exhausted");
    assert_eq!(result["errors"], json!(["Reached maximum budget ($0.01)"]));
    assert!(result["total_cost_usd"].as_f64().unwrap() > 0.01, "{result}");
    // No second request is sent. Whether the over-budget turn's tool still runs is a race in the
    // CLI (seen both ways), so nothing here depends on it.
    assert_eq!(server.main_requests().len(), 1);
}

#[tokio::test]
async fn a_hanging_answer_keeps_the_cli_waiting() {
    let server = ScriptedAnthropic::start(Script::new([Turn::Hang])).await.unwrap();
    let sandbox = Sandbox::new();
    let mut child = sandbox.command(&server, "hi", &[], &[]).spawn().unwrap();

    let waited = tokio::time::timeout(Duration::from_secs(3), child.wait()).await;

    assert!(
        waited.is_err(),
        "the CLI ended while its request hung: {waited:?}"
    );
    assert_eq!(server.main_requests().len(), 1);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_flags_appgen_uses_are_in_the_pinned_cli() {
    let version = std::process::Command::new(claude_bin())
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.starts_with(PINNED_VERSION),
        "installed {version}, tests pin {PINNED_VERSION}"
    );

    let help = std::process::Command::new(claude_bin())
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--print",
        "--output-format",
        "--verbose",
        "--model",
        "--max-turns",
        "--max-budget-usd",
        "--append-system-prompt",
        "--session-id",
        "--resume",
        "--permission-mode",
        "--allowedTools",
    ] {
        // --max-turns is accepted (see max_turns_stops_the_run_after_the_first_tool_call) but
        // not listed in --help.
        if flag == "--max-turns" {
            assert!(
                !help.contains(flag),
                "--max-turns is listed now: move it to the checked flags"
            );
            continue;
        }
        assert!(help.contains(flag), "{flag} missing from claude --help");
    }
}

#[tokio::test]
async fn model_and_appended_system_prompt_reach_the_request() {
    let server = ScriptedAnthropic::start(Script::new([Turn::text("ok")]))
        .await
        .unwrap();
    let sandbox = Sandbox::new();

    let run = sandbox
        .run(
            &server,
            "hi",
            &[
                "--model",
                "claude-sonnet-4-5",
                "--append-system-prompt",
                "APPGEN-APPENDED-RULES",
            ],
        )
        .await;

    assert_eq!(run.code, Some(0), "{run:#?}");
    let requests = server.requests();
    assert!(
        requests.iter().all(|r| r.kind == RequestKind::Main),
        "{requests:#?}"
    );
    assert_eq!(requests[0].body["model"], "claude-sonnet-4-5");
    assert!(
        requests[0].body["system"]
            .to_string()
            .contains("APPGEN-APPENDED-RULES")
    );
}
