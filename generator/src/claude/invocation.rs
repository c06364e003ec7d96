//! The `claude` command line for one round, as data: flags, the prompt on stdin, and the whole
//! environment, which carries only the model credentials and never the rest of the platform's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::command::{self, CommandSpec};

/// What the agent is told besides the user's prompt: the template's contract with the gates.
pub(crate) const CONTRACT: &str = "\
You are building a web app in the current directory, a React + Vite + Express project managed with pnpm.
The app is delivered only when every check passes, in this order:
1. install: `pnpm install --frozen-lockfile` from the lockfile alone, so run `pnpm install` whenever you change dependencies and keep pnpm-lock.yaml in step;
2. typecheck: `pnpm run typecheck`;
3. build: `pnpm run build`;
4. test: `pnpm run test`;
5. boot: `pnpm start` with PORT and HOST set must serve GET /api/health with status 200;
6. smoke: a headless browser loads / and must see no console errors.
Rules:
- Keep the package.json scripts typecheck, build, test and start, with those names and that meaning.
- Make every check pass by fixing the app; never delete, skip or weaken tests or checks.
- Never print, log or write into the app any environment variable, key, token or credential.
- Do not start servers that keep running after you finish.";

/// Tools allowed when bypassing permissions is not possible: editing files and running the
/// project's own toolchain, nothing else.
const ALLOWED_TOOLS: &[&str] = &[
    "Read",
    "Write",
    "Edit",
    "MultiEdit",
    "Glob",
    "Grep",
    "LS",
    "TodoWrite",
    "Bash(pnpm *)",
    "Bash(npm *)",
    "Bash(npx *)",
    "Bash(node *)",
    "Bash(ls *)",
    "Bash(cat *)",
    "Bash(mkdir *)",
    "Bash(rm *)",
    "Bash(mv *)",
    "Bash(cp *)",
];

/// Variables passed to the CLI whatever the provider: the direct API or a gateway, plus tuning.
const ANTHROPIC_VARS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "API_TIMEOUT_MS",
    "CLAUDE_CODE_MAX_RETRIES",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
];

/// Bedrock's switch and what it reads; AWS variables pass only when the switch is on, since
/// otherwise they are the platform's own (the artifact store's) and not the model's.
const BEDROCK_SWITCH: &str = "CLAUDE_CODE_USE_BEDROCK";
const BEDROCK_VARS: &[&str] = &[
    "CLAUDE_CODE_SKIP_BEDROCK_AUTH",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
];

/// Vertex's switch and what it reads; the same rule as Bedrock's.
const VERTEX_SWITCH: &str = "CLAUDE_CODE_USE_VERTEX";
const VERTEX_VARS: &[&str] = &[
    "CLAUDE_CODE_SKIP_VERTEX_AUTH",
    "ANTHROPIC_VERTEX_BASE_URL",
    "ANTHROPIC_VERTEX_PROJECT_ID",
    "CLOUD_ML_REGION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
];
/// Vertex's per-model region overrides, e.g. `VERTEX_REGION_CLAUDE_4_5_SONNET`.
const VERTEX_REGION_PREFIX: &str = "VERTEX_REGION_";

/// Parts of a variable's name that mark its value as a secret to redact.
const SECRET_MARKERS: &[&str] = &["KEY", "TOKEN", "SECRET", "HEADERS", "AUTHORIZATION"];

/// How the CLI is allowed to act without asking, which headless runs cannot do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permissions {
    /// `bypassPermissions`: everything, the task sandbox being the boundary.
    Bypass,
    /// The same as root, which the CLI refuses unless told it is in a sandbox (`IS_SANDBOX=1`).
    BypassAsRoot,
    /// `acceptEdits` plus an explicit list of allowed tools.
    AcceptEdits,
}

impl Permissions {
    /// Root outside a task sandbox gets no bypass: the CLI would act as root on a shared machine.
    pub(crate) fn choose(as_root: bool, in_sandbox: bool) -> Self {
        match (as_root, in_sandbox) {
            (false, _) => Permissions::Bypass,
            (true, true) => Permissions::BypassAsRoot,
            (true, false) => Permissions::AcceptEdits,
        }
    }
}

/// Everything about the CLI that stays the same from round to round.
#[derive(Clone)]
pub(crate) struct ClaudeSettings {
    /// The program, `claude` on `PATH` unless configured.
    pub program: String,
    pub model: Option<String>,
    pub session_id: String,
    pub permissions: Permissions,
    /// From [`credentials`]; never anything else of the generator's environment.
    pub credentials: Vec<(String, String)>,
    /// `PATH` for the CLI and the commands it runs (node and pnpm are looked up on it).
    pub path: String,
    /// The CLI's `HOME`, inside the task's workspace and outside the app.
    pub home: PathBuf,
}

impl std::fmt::Debug for ClaudeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.credentials.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ClaudeSettings")
            .field("program", &self.program)
            .field("model", &self.model)
            .field("session_id", &self.session_id)
            .field("permissions", &self.permissions)
            .field("credentials", &names)
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

/// What changes from round to round.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Round {
    pub prompt: String,
    /// Continue the session (repairs, and retries once the session exists) instead of starting it;
    /// the CLI refuses to start a session id twice.
    pub resume: bool,
    /// What is left of the whole task's turns and budget.
    pub max_turns: u32,
    pub max_budget_usd: f64,
    /// Until the task's deadline.
    pub time_left: Duration,
}

/// The CLI's home and config directory under the task's workspace.
pub(crate) fn home_under(workspace: &Path) -> PathBuf {
    workspace.join("claude-home")
}

pub(crate) fn config_dir(home: &Path) -> PathBuf {
    home.join(".claude")
}

/// The session id for an attempt of a Generation: a UUID (version 5 layout) from the SHA-256 of
/// its uid and attempt, so a restarted task finds the same session and two attempts never share one.
pub(crate) fn session_id(uid: &str, attempt: u32) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("appgen/claude-session/{uid}/{attempt}").as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.as_ref().get(..16).unwrap_or(&[0; 16]));
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The model-provider variables among `env`: Anthropic's always, Bedrock's and Vertex's only when
/// their switch is on. Empty values are dropped.
pub(crate) fn credentials(env: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let env: Vec<(String, String)> = env.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let switched_on = |switch: &str| {
        env.iter()
            .any(|(k, v)| k == switch && !matches!(v.as_str(), "0" | "false"))
    };
    let bedrock = switched_on(BEDROCK_SWITCH);
    let vertex = switched_on(VERTEX_SWITCH);
    let mut kept: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            ANTHROPIC_VARS.contains(&name)
                || (bedrock && (name == BEDROCK_SWITCH || BEDROCK_VARS.contains(&name)))
                || (vertex
                    && (name == VERTEX_SWITCH
                        || VERTEX_VARS.contains(&name)
                        || name.starts_with(VERTEX_REGION_PREFIX)))
        })
        .collect();
    kept.sort();
    kept
}

/// The values among `credentials` that must be redacted wherever text leaves the task.
pub(crate) fn secret_values(credentials: &[(String, String)]) -> Vec<String> {
    credentials
        .iter()
        .filter(|(name, _)| SECRET_MARKERS.iter().any(|marker| name.contains(marker)))
        .map(|(_, value)| value.clone())
        .collect()
}

/// The command for one round. The prompt goes on stdin: a 64 KiB prompt can exceed what one
/// argument may hold, and a positional prompt could be taken for a flag's value.
pub(crate) fn command(settings: &ClaudeSettings, round: &Round) -> CommandSpec {
    let mut args: Vec<String> = ["-p", "--output-format", "stream-json", "--verbose", "--max-turns"]
        .map(str::to_owned)
        .to_vec();
    args.push(round.max_turns.to_string());
    args.push("--max-budget-usd".to_owned());
    args.push(format!("{:.4}", round.max_budget_usd.max(0.0)));
    if let Some(model) = &settings.model {
        args.extend(["--model".to_owned(), model.clone()]);
    }
    args.extend(["--append-system-prompt".to_owned(), CONTRACT.to_owned()]);
    let session_flag = if round.resume { "--resume" } else { "--session-id" };
    args.extend([session_flag.to_owned(), settings.session_id.clone()]);
    match settings.permissions {
        Permissions::Bypass | Permissions::BypassAsRoot => {
            args.extend(["--permission-mode".to_owned(), "bypassPermissions".to_owned()]);
        }
        Permissions::AcceptEdits => {
            args.extend([
                "--permission-mode".to_owned(),
                "acceptEdits".to_owned(),
                "--allowedTools".to_owned(),
                ALLOWED_TOOLS.join(","),
            ]);
        }
    }
    let mut env = command::base_env(&settings.path, &settings.home);
    env.push((
        "CLAUDE_CONFIG_DIR".to_owned(),
        config_dir(&settings.home).display().to_string(),
    ));
    for name in [
        "DISABLE_AUTOUPDATER",
        "DISABLE_TELEMETRY",
        "DISABLE_ERROR_REPORTING",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    ] {
        env.push((name.to_owned(), "1".to_owned()));
    }
    if settings.permissions == Permissions::BypassAsRoot {
        env.push(("IS_SANDBOX".to_owned(), "1".to_owned()));
    }
    env.extend(settings.credentials.iter().cloned());
    CommandSpec {
        program: settings.program.clone(),
        args,
        env,
        timeout: round.time_left,
        stdin: Some(round.prompt.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(permissions: Permissions) -> ClaudeSettings {
        ClaudeSettings {
            program: "claude".to_owned(),
            model: Some("claude-sonnet-4-5".to_owned()),
            session_id: session_id("uid-1", 1),
            permissions,
            credentials: vec![("ANTHROPIC_API_KEY".to_owned(), "sk-ant-secret".to_owned())],
            path: "/usr/bin:/bin".to_owned(),
            home: PathBuf::from("/task/claude-home"),
        }
    }

    fn round(resume: bool) -> Round {
        Round {
            prompt: "a todo app".to_owned(),
            resume,
            max_turns: 40,
            max_budget_usd: 2.5,
            time_left: Duration::from_secs(600),
        }
    }

    fn value_after<'a>(spec: &'a CommandSpec, flag: &str) -> Option<&'a str> {
        let at = spec.args.iter().position(|a| a == flag)?;
        spec.args.get(at + 1).map(String::as_str)
    }

    fn env_of<'a>(spec: &'a CommandSpec, name: &str) -> Option<&'a str> {
        spec.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn session_ids_are_stable_uuids_per_uid_and_attempt() {
        let id = session_id("5b0c7f0e-uid", 1);
        assert_eq!(id, session_id("5b0c7f0e-uid", 1));
        assert_ne!(id, session_id("5b0c7f0e-uid", 2));
        assert_ne!(id, session_id("other-uid", 1));
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(id.as_bytes()[14], b'5', "version nibble: {id}");
        assert!(
            matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "variant: {id}"
        );
    }

    #[test]
    fn permissions_follow_who_runs_and_where() {
        for (as_root, in_sandbox, expected) in [
            (false, false, Permissions::Bypass),
            (false, true, Permissions::Bypass),
            (true, true, Permissions::BypassAsRoot),
            (true, false, Permissions::AcceptEdits),
        ] {
            assert_eq!(
                Permissions::choose(as_root, in_sandbox),
                expected,
                "{as_root} {in_sandbox}"
            );
        }
    }

    #[test]
    fn the_first_round_starts_the_session_and_a_repair_resumes_it() {
        let first = command(&settings(Permissions::Bypass), &round(false));
        let id = session_id("uid-1", 1);
        assert_eq!(value_after(&first, "--session-id"), Some(id.as_str()));
        assert_eq!(value_after(&first, "--resume"), None);
        let repair = command(&settings(Permissions::Bypass), &round(true));
        assert_eq!(value_after(&repair, "--resume"), Some(id.as_str()));
        assert_eq!(value_after(&repair, "--session-id"), None);
    }

    #[test]
    fn the_command_is_headless_streamed_and_capped() {
        let spec = command(&settings(Permissions::Bypass), &round(false));
        assert_eq!(spec.program, "claude");
        assert_eq!(
            spec.args.get(..4).unwrap(),
            ["-p", "--output-format", "stream-json", "--verbose"]
        );
        assert_eq!(value_after(&spec, "--max-turns"), Some("40"));
        assert_eq!(value_after(&spec, "--max-budget-usd"), Some("2.5000"));
        assert_eq!(value_after(&spec, "--model"), Some("claude-sonnet-4-5"));
        assert_eq!(value_after(&spec, "--append-system-prompt"), Some(CONTRACT));
        assert_eq!(spec.stdin.as_deref(), Some("a todo app"));
        assert!(
            !spec.args.iter().any(|a| a == "a todo app"),
            "the prompt is not an argument"
        );
        assert_eq!(spec.timeout, Duration::from_secs(600));
        let unset = ClaudeSettings {
            model: None,
            ..settings(Permissions::Bypass)
        };
        assert_eq!(value_after(&command(&unset, &round(false)), "--model"), None);
    }

    #[test]
    fn permission_flags_match_the_mode() {
        let bypass = command(&settings(Permissions::Bypass), &round(false));
        assert_eq!(
            value_after(&bypass, "--permission-mode"),
            Some("bypassPermissions")
        );
        assert_eq!(env_of(&bypass, "IS_SANDBOX"), None);
        assert_eq!(value_after(&bypass, "--allowedTools"), None);

        let root = command(&settings(Permissions::BypassAsRoot), &round(false));
        assert_eq!(value_after(&root, "--permission-mode"), Some("bypassPermissions"));
        assert_eq!(env_of(&root, "IS_SANDBOX"), Some("1"));

        let edits = command(&settings(Permissions::AcceptEdits), &round(false));
        assert_eq!(value_after(&edits, "--permission-mode"), Some("acceptEdits"));
        let allowed = value_after(&edits, "--allowedTools").unwrap();
        assert!(
            allowed.contains("Write") && allowed.contains("Bash(pnpm *)"),
            "{allowed}"
        );
        assert_eq!(env_of(&edits, "IS_SANDBOX"), None);
    }

    #[test]
    fn the_environment_is_quiet_local_and_carries_only_the_credentials() {
        let spec = command(&settings(Permissions::Bypass), &round(false));
        for (name, value) in [
            ("DISABLE_AUTOUPDATER", "1"),
            ("DISABLE_TELEMETRY", "1"),
            ("DISABLE_ERROR_REPORTING", "1"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("HOME", "/task/claude-home"),
            ("CLAUDE_CONFIG_DIR", "/task/claude-home/.claude"),
            ("PATH", "/usr/bin:/bin"),
            ("ANTHROPIC_API_KEY", "sk-ant-secret"),
        ] {
            assert_eq!(env_of(&spec, name), Some(value), "{name}");
        }
        assert!(
            !spec.args.iter().any(|a| a.contains("sk-ant-secret")),
            "a key never goes on the command line"
        );
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn only_model_provider_variables_are_passed_on() {
        let platform = [
            ("ANTHROPIC_API_KEY", "sk-1"),
            ("AWS_ACCESS_KEY_ID", "AKIA-store"),
            ("AWS_SECRET_ACCESS_KEY", "store-secret"),
            ("GITHUB_TOKEN", "ghp-1"),
            ("APPGEN_ADMIN_TOKEN", "adm"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/gcp.json"),
            ("ANTHROPIC_AUTH_TOKEN", ""),
        ];
        type Vars<'a> = &'a [(&'a str, &'a str)];
        // (the platform's variables plus these, the names passed on)
        let cases: &[(Vars, &[&str])] = &[
            (&[], &["ANTHROPIC_API_KEY"]),
            (
                &[("CLAUDE_CODE_USE_BEDROCK", "1")],
                &[
                    "ANTHROPIC_API_KEY",
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                    "CLAUDE_CODE_USE_BEDROCK",
                ],
            ),
            (&[("CLAUDE_CODE_USE_BEDROCK", "0")], &["ANTHROPIC_API_KEY"]),
            (
                &[
                    ("CLAUDE_CODE_USE_VERTEX", "1"),
                    ("VERTEX_REGION_CLAUDE_4_5_SONNET", "us-east5"),
                ],
                &[
                    "ANTHROPIC_API_KEY",
                    "CLAUDE_CODE_USE_VERTEX",
                    "GOOGLE_APPLICATION_CREDENTIALS",
                    "VERTEX_REGION_CLAUDE_4_5_SONNET",
                ],
            ),
        ];
        for (extra, expected) in cases {
            let env = pairs(&platform).into_iter().chain(pairs(extra));
            let names: Vec<String> = credentials(env).into_iter().map(|(k, _)| k).collect();
            assert_eq!(names, *expected, "with {extra:?}");
        }
    }

    #[test]
    fn keys_and_tokens_are_secrets_and_switches_are_not() {
        let given = pairs(&[
            ("ANTHROPIC_API_KEY", "sk-1"),
            ("ANTHROPIC_AUTH_TOKEN", "tok"),
            ("ANTHROPIC_BASE_URL", "http://gw"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ]);
        assert_eq!(secret_values(&given), ["sk-1", "tok", "s3cr3t"]);
    }

    #[test]
    fn the_claude_home_is_inside_the_workspace_and_outside_the_app() {
        let home = home_under(Path::new("/task"));
        assert_eq!(home, Path::new("/task/claude-home"));
        assert!(!home.starts_with("/task/app"));
        assert_eq!(config_dir(&home), Path::new("/task/claude-home/.claude"));
    }
}
