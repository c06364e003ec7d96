//! The verbs about generations: each reads its arguments, makes its requests through `Client`,
//! and prints what `render` makes of the answers.

use std::io::Read;
use std::path::{Path, PathBuf};

use appgen_crd::{AgentName, Outputs, Phase};
use http::Method;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::client::{Client, parse};
use super::follow::{self, Seen};
use super::render::{self, App, Outcome, Timeline, View};
use super::term::{Progress, Style};
use super::{
    AppsArgs, Connection, DownloadArgs, Error, Exit, GetArgs, LogsArgs, LogsOutput, NameArgs, NewArgs,
    Output, RetryArgs, Structured, archive, target,
};
use crate::generate::Agent;

/// How many of the latest events `describe` shows.
const DESCRIBE_EVENTS: usize = 15;
/// The most a list asks for per page.
const PAGE: usize = 500;

async fn connect(connection: &Connection) -> Result<Client, Error> {
    let sources = target::sources(connection)?;
    Client::new(&target::resolve(&sources)?)
}

/// A Kubernetes name: lowercase letters, digits, `-` and `.`, starting and ending with a letter
/// or digit (so it is safe in a URL as it is).
fn is_name(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    s.len() <= 253
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// `namespace/name`, or a name in the caller's own namespace.
fn split_name(name: &str) -> Result<(Option<&str>, &str), Error> {
    match name.split_once('/') {
        Some((namespace, name)) if is_name(namespace) && is_name(name) => Ok((Some(namespace), name)),
        None if is_name(name) => Ok((None, name)),
        _ => Err(Error::Usage(format!(
            "{name:?} is not a generation name: give its name (e.g. todo-list-x7k2p), or namespace/name"
        ))),
    }
}

/// The API path of the generation `name` names.
async fn path_of(client: &Client, name: &str) -> Result<String, Error> {
    let (namespace, name) = split_name(name)?;
    let namespace = match namespace {
        Some(namespace) => namespace.to_owned(),
        None => client.me("finding your namespace").await?.namespace,
    };
    Ok(format!("/api/v1/generations/{namespace}/{name}"))
}

/// The generation `name` names, as the API answered and as read.
async fn fetch(client: &Client, name: &str) -> Result<(Value, View), Error> {
    let path = path_of(client, name).await?;
    let doing = format!("getting {name}");
    let value = client.json(Method::GET, &path, None, &doing).await?;
    let view = parse(&value, &doing)?;
    Ok((value, view))
}

/// The body of a create request.
fn create_body(prompt: &str, app: Option<&str>, agent: Option<Agent>, budget: Option<f64>) -> Value {
    let mut body = json!({ "prompt": prompt });
    if let Some(app) = app {
        body["app"] = json!(app);
    }
    let mut agent_spec = serde_json::Map::new();
    if let Some(agent) = agent {
        agent_spec.insert("name".to_owned(), json!(AgentName::from(agent).as_str()));
    }
    if let Some(budget) = budget {
        agent_spec.insert("maxBudgetUsd".to_owned(), json!(budget));
    }
    if !agent_spec.is_empty() {
        body["agent"] = Value::Object(agent_spec);
    }
    body
}

fn print_lines(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}

/// Follows a new generation to its end with a progress line, then says how it ended.
async fn wait(client: &Client, view: &View) -> Result<(Exit, Outcome), Error> {
    let mut progress = Progress::new(&view.name);
    progress.set(&render::progress_state(view));
    let outcome = follow::to_end(client, view, None, &mut progress, |progress, seen| {
        if let Seen::Status(view) = seen {
            progress.set(&render::progress_state(view));
        }
    })
    .await?;
    progress.clear();
    print_lines(&render::outcome_lines(&view.name, &outcome, Style::stdout()));
    Ok((follow::exit_of(&outcome), outcome))
}

pub async fn new(args: NewArgs) -> Result<Exit, Error> {
    let prompt = if args.prompt == "-" {
        let mut prompt = String::new();
        std::io::stdin()
            .read_to_string(&mut prompt)
            .map_err(|e| Error::Usage(format!("reading the prompt from standard input: {e}")))?;
        prompt
    } else {
        args.prompt
    };
    let client = connect(&args.connection).await?;
    let value = match &args.from {
        Some(parent) => {
            let path = format!("{}/continue", path_of(&client, parent).await?);
            let body = json!({ "prompt": prompt });
            client
                .json(Method::POST, &path, Some(&body), &format!("continuing {parent}"))
                .await?
        }
        None => {
            let body = create_body(&prompt, args.app.as_deref(), args.agent, args.budget);
            client
                .json(
                    Method::POST,
                    "/api/v1/generations",
                    Some(&body),
                    "creating the generation",
                )
                .await?
        }
    };
    let view: View = parse(&value, "creating the generation")?;
    println!("generation/{} created", view.name);
    if !(args.wait || args.open) {
        return Ok(Exit::Ok);
    }
    let (exit, outcome) = wait(&client, &view).await?;
    if args.open && exit == Exit::Ok {
        match outcome.outputs.and_then(|o| o.url) {
            Some(url) => open_url(&url),
            None => eprintln!(
                "{} has no live URL to open: its delivery has none; `appgen download {} --extract` gets the source",
                view.name, view.name
            ),
        }
    }
    Ok(exit)
}

fn print_value(value: &Value, output: Structured) -> Result<(), Error> {
    match output {
        Structured::Json => println!("{}", serde_json::to_string_pretty(value).unwrap_or_default()),
        Structured::Yaml => print!(
            "{}",
            serde_saphyr::to_string(value).map_err(|e| Error::BadAnswer {
                doing: "writing YAML".to_owned(),
                reason: e.to_string(),
            })?
        ),
    }
    Ok(())
}

pub async fn get(args: GetArgs) -> Result<Exit, Error> {
    let client = connect(&args.connection).await?;
    let wide = args.output == Some(Output::Wide);
    let structured = args.output.and_then(Output::structured);
    let now = Timestamp::now();
    if let Some(name) = &args.name {
        let (value, view) = fetch(&client, name).await?;
        match structured {
            Some(output) => print_value(&value, output)?,
            None => print!(
                "{}",
                render::generations_table(&[view], wide, false, now, Style::stdout())
            ),
        }
        return Ok(Exit::Ok);
    }
    let base = if args.all_namespaces {
        "/api/v1/admin/generations"
    } else {
        "/api/v1/generations"
    };
    let mut query = format!("limit={PAGE}");
    if let Some(app) = &args.app {
        if !is_name(app) {
            return Err(Error::Usage(format!("--app {app:?} is not an app name")));
        }
        query.push_str(&format!("&app={app}"));
    }
    let mut items: Vec<Value> = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut path = format!("{base}?{query}");
        if let Some(token) = &next {
            path.push_str(&format!("&continue={token}"));
        }
        let page = client
            .json(Method::GET, &path, None, "listing generations")
            .await?;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        next = page["continue"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    let list = json!({ "items": items });
    match structured {
        Some(output) => print_value(&list, output)?,
        _ if items.is_empty() => {
            eprintln!(
                "No generations yet: describe an app with `appgen new \"A tiny todo list with due dates\"`"
            )
        }
        _ => {
            let views: Vec<View> = parse(&list["items"], "listing generations")?;
            print!(
                "{}",
                render::generations_table(&views, wide, args.all_namespaces, now, Style::stdout())
            );
        }
    }
    Ok(Exit::Ok)
}

pub async fn describe(args: NameArgs) -> Result<Exit, Error> {
    let client = connect(&args.connection).await?;
    let (_, view) = fetch(&client, &args.name).await?;
    let mut events = Vec::new();
    follow::available(&client, &view, None, &mut Progress::hidden(), |_, seen| {
        if let Seen::Log(event, _) = seen {
            events.push(event.clone());
        }
    })
    .await?;
    let latest = &events[events.len().saturating_sub(DESCRIBE_EVENTS)..];
    print!(
        "{}",
        render::describe(
            &view,
            latest,
            Timestamp::now(),
            &TimeZone::system(),
            Style::stdout()
        )
    );
    Ok(Exit::Ok)
}

pub async fn logs(args: LogsArgs) -> Result<Exit, Error> {
    let since = args.since_seq.as_deref().map(follow::event_id).transpose()?;
    let client = connect(&args.connection).await?;
    let (_, view) = fetch(&client, &args.name).await?;
    let raw = args.output == Some(LogsOutput::Json);
    let style = Style::stdout();
    let mut timeline = Timeline::new(TimeZone::system(), style);
    let mut progress = if args.follow {
        Progress::new(&view.name)
    } else {
        Progress::hidden()
    };
    let show = |progress: &mut Progress, seen: Seen<'_>| match seen {
        Seen::Log(_, line) if raw => progress.println(line),
        Seen::Log(event, _) => {
            for line in timeline.lines(event) {
                progress.println(&line);
            }
        }
        Seen::Status(view) => progress.set(&render::progress_state(view)),
    };
    let outcome = if args.follow {
        Some(follow::to_end(&client, &view, since, &mut progress, show).await?)
    } else {
        follow::available(&client, &view, since, &mut progress, show).await?
    };
    progress.clear();
    if let Some(outcome) = &outcome
        && !raw
    {
        print_lines(&render::outcome_lines(&view.name, outcome, style));
    }
    Ok(match outcome {
        Some(outcome) if args.follow => follow::exit_of(&outcome),
        _ => Exit::Ok,
    })
}

pub async fn download(args: DownloadArgs) -> Result<Exit, Error> {
    let client = connect(&args.connection).await?;
    let (_, view) = fetch(&client, &args.name).await?;
    let name = &view.name;
    // A generation whose push or deploy failed still has the archive it made.
    let not_delivered = || {
        Error::NotReady(format!(
            "{name} is {:?}, not delivered: its archive appears once it is (`appgen logs -f {name}` follows it)",
            view.phase()
        ))
    };
    let archive_path = view.links.archive.as_deref().ok_or_else(not_delivered)?;
    let expected = view.outputs().and_then(|o| o.sha256.clone()).ok_or_else(|| {
        Error::NotReady(format!(
            "{name} records no sha256 to check its archive against; `appgen retry {name}` builds it anew"
        ))
    })?;
    let bytes = client
        .download(archive_path, &format!("downloading {name}"))
        .await?;
    if let Some(actual) = archive::mismatch(&bytes, &expected) {
        return Err(Error::Corrupt {
            name: name.clone(),
            expected,
            actual,
        });
    }
    if args.extract {
        let dir = args.output.unwrap_or_else(|| PathBuf::from("."));
        extract(&bytes, &dir, name)?;
    } else {
        let output_is_dir = args.output.as_deref().is_some_and(Path::is_dir);
        let path = archive::destination(args.output.as_deref(), output_is_dir, name);
        write_whole(&path, &bytes)?;
        println!(
            "{} ({}, sha256 verified)",
            path.display(),
            render::size(bytes.len() as i64)
        );
    }
    Ok(Exit::Ok)
}

/// Unpacks a checked archive into `dir`, never over an existing folder.
fn extract(bytes: &[u8], dir: &Path, name: &str) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(Error::file(dir))?;
    let top = archive::top_level(bytes).map_err(|e| Error::Corrupt {
        name: name.to_owned(),
        expected: "a .tar.gz archive".to_owned(),
        actual: e.to_string(),
    })?;
    if let Some(existing) = top.iter().map(|t| dir.join(t)).find(|p| p.exists()) {
        return Err(Error::Usage(format!(
            "{} already exists: remove it, or unpack elsewhere with -o DIR",
            existing.display()
        )));
    }
    archive::unpack(bytes, dir).map_err(Error::file(dir))?;
    for folder in top {
        println!("{} (sha256 verified)", dir.join(folder).display());
    }
    Ok(())
}

/// Writes a file so that a reader never sees half of it.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let file_name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{file_name}.part"));
    std::fs::write(&temp, bytes).map_err(Error::file(&temp))?;
    std::fs::rename(&temp, path).map_err(Error::file(path))
}

/// The command `$BROWSER` names for `url`: its first entry, with `%s` replaced by the URL or the
/// URL added as the last argument.
fn browser_command(browser: &str, url: &str) -> Option<(String, Vec<String>)> {
    let entry = browser.split(':').map(str::trim).find(|e| !e.is_empty())?;
    let mut words = entry.split_whitespace().map(str::to_owned);
    let program = words.next()?;
    let mut args: Vec<String> = words.collect();
    if args.iter().any(|a| a.contains("%s")) {
        for arg in &mut args {
            *arg = arg.replace("%s", url);
        }
    } else {
        args.push(url.to_owned());
    }
    Some((program, args))
}

/// Prints `url`, and opens it with `$BROWSER` when one is configured; having none is no error.
fn open_url(url: &str) {
    println!("{url}");
    let browser = std::env::var("BROWSER").unwrap_or_default();
    let Some((program, args)) = browser_command(&browser, url) else {
        return;
    };
    let started = std::process::Command::new(&program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .spawn();
    if let Err(e) = started {
        eprintln!("could not start the browser {program:?} from $BROWSER ({e}); open the URL above yourself");
    }
}

pub async fn open(args: NameArgs) -> Result<Exit, Error> {
    let client = connect(&args.connection).await?;
    let (_, view) = fetch(&client, &args.name).await?;
    let name = &view.name;
    match view.outputs().and_then(|o| o.url.as_deref()) {
        Some(url) => {
            open_url(url);
            Ok(Exit::Ok)
        }
        None if view.phase() == Phase::Delivered => Err(Error::NotReady(format!(
            "{name} has no live URL: its delivery has none; `appgen download {name} --extract` gets the source"
        ))),
        None => Err(Error::NotReady(format!(
            "{name} has no live URL yet: it is {:?} (`appgen logs -f {name}` follows it)",
            view.phase()
        ))),
    }
}

pub async fn cancel(args: NameArgs) -> Result<Exit, Error> {
    let client = connect(&args.connection).await?;
    let path = format!("{}/cancel", path_of(&client, &args.name).await?);
    let value = client
        .json(Method::POST, &path, None, &format!("cancelling {}", args.name))
        .await?;
    let view: View = parse(&value, "cancelling")?;
    println!("generation/{} cancel requested", view.name);
    Ok(Exit::Ok)
}

pub async fn retry(args: RetryArgs) -> Result<Exit, Error> {
    let client = connect(&args.connection).await?;
    if args.delivery {
        return redeliver(&client, &args).await;
    }
    let path = format!("{}/retry", path_of(&client, &args.name).await?);
    let value = client
        .json(Method::POST, &path, None, &format!("retrying {}", args.name))
        .await?;
    let view: View = parse(&value, "retrying")?;
    println!("generation/{} created (a retry of {})", view.name, args.name);
    if args.wait {
        return wait(&client, &view).await.map(|(exit, _)| exit);
    }
    Ok(Exit::Ok)
}

/// `retry --delivery`: asks for the stored archive to be delivered again, and with `--wait`
/// follows that delivery (not a new generation) to its end.
async fn redeliver(client: &Client, args: &RetryArgs) -> Result<Exit, Error> {
    let path = path_of(client, &args.name).await?;
    let doing = format!("delivering {} again", args.name);
    let value = client
        .json(Method::POST, &format!("{path}/redeliver"), None, &doing)
        .await?;
    let asked: View = parse(&value, &doing)?;
    let wanted = asked.spec.redeliver.unwrap_or_default();
    println!(
        "generation/{} redelivery {wanted} requested (the stored archive, not regenerated)",
        asked.name
    );
    if !args.wait {
        return Ok(Exit::Ok);
    }
    loop {
        let value = client.json(Method::GET, &path, None, &doing).await?;
        let view: View = parse(&value, &doing)?;
        let status = view.status.clone().unwrap_or_default();
        let seen = status.observed_redeliver.unwrap_or_default() >= wanted;
        let ended = matches!(view.phase(), Phase::Delivered | Phase::Failed | Phase::Cancelled);
        if seen && ended {
            let outputs = view.outputs();
            let shown = |f: fn(&Outputs) -> Option<&String>| outputs.and_then(f).cloned().unwrap_or_default();
            return Ok(match view.phase() {
                Phase::Delivered => {
                    println!(
                        "generation/{} delivered again: {} {}",
                        view.name,
                        shown(|o| o.repository_url.as_ref()),
                        shown(|o| o.commit.as_ref())
                    );
                    Exit::Ok
                }
                phase => {
                    eprintln!(
                        "generation/{} {phase:?}: {}",
                        view.name,
                        status.message.unwrap_or_default()
                    );
                    Exit::Failed
                }
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

pub async fn delete(args: NameArgs) -> Result<Exit, Error> {
    let client = connect(&args.connection).await?;
    let path = path_of(&client, &args.name).await?;
    client
        .act(Method::DELETE, &path, &format!("deleting {}", args.name))
        .await?;
    println!("generation/{} deleted", split_name(&args.name)?.1);
    Ok(Exit::Ok)
}

pub async fn apps(args: AppsArgs) -> Result<Exit, Error> {
    let client = connect(&args.connection).await?;
    let value = client
        .json(Method::GET, "/api/v1/apps", None, "listing apps")
        .await?;
    match args.output {
        Some(output) => print_value(&value, output)?,
        None => {
            let apps: Vec<App> = parse(&value["items"], "listing apps")?;
            if apps.is_empty() {
                eprintln!("No apps yet: describe one with `appgen new \"A tiny todo list with due dates\"`");
            } else {
                print!("{}", render::apps_table(&apps, Timestamp::now(), Style::stdout()));
            }
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_in_your_namespace_unless_they_say_otherwise() {
        assert_eq!(split_name("todo-x7k2p").unwrap(), (None, "todo-x7k2p"));
        assert_eq!(
            split_name("appgen-ann/todo-x7k2p").unwrap(),
            (Some("appgen-ann"), "todo-x7k2p")
        );
        for bad in ["", "a/b/c", "Todo", "a b", "/x", "x/", "../x"] {
            assert!(matches!(split_name(bad), Err(Error::Usage(_))), "{bad:?}");
        }
    }

    #[test]
    fn a_create_request_holds_only_what_was_given() {
        assert_eq!(
            create_body("A todo list", None, None, None),
            json!({"prompt": "A todo list"})
        );
        assert_eq!(
            create_body("x", Some("todo"), Some(Agent::ClaudeCode), Some(2.5)),
            json!({"prompt": "x", "app": "todo", "agent": {"name": "claude-code", "maxBudgetUsd": 2.5}})
        );
    }

    #[test]
    fn browser_is_the_first_command_of_the_browser_variable() {
        let url = "http://127.0.0.1:8080/apps/todo/";
        let cases = [
            ("", None),
            ("firefox", Some(("firefox", vec![url]))),
            ("open -a Safari", Some(("open", vec!["-a", "Safari", url]))),
            (
                "chromium --new-window %s:firefox",
                Some(("chromium", vec!["--new-window", url])),
            ),
        ];
        for (browser, expected) in cases {
            let expected = expected.map(|(p, a): (&str, Vec<&str>)| {
                (p.to_owned(), a.into_iter().map(str::to_owned).collect::<Vec<_>>())
            });
            assert_eq!(browser_command(browser, url), expected, "{browser:?}");
        }
    }
}
