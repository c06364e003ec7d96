//! `appgen login`: signs in with a password and creates a personal API token (or takes one),
//! checks it, and saves the server and token for the other verbs.

use http::Method;
use http::header::SET_COOKIE;
use serde_json::json;

use super::client::Client;
use super::target::{self, Config, Target};
use super::term::ask;
use super::{Error, Exit, LoginArgs};
use crate::data_dir::Served;

pub async fn login(args: LoginArgs) -> Result<Exit, Error> {
    let server = target::normalize(&args.server)?;
    // `appgen serve` on this machine signs its https certificate with its own CA.
    let (data_dir, _) = target::data_dir(args.data_dir.as_deref());
    let ca_pem = Served::read(&data_dir)
        .filter(|s| target::same_server(&s.url, &server))
        .and_then(|s| s.ca_pem);
    let (token, token_source) = match args.token.filter(|t| !t.trim().is_empty()) {
        Some(token) => (token, "the token given to `appgen login`".to_owned()),
        None => {
            let client = Client::anonymous(&server, ca_pem.as_deref())?;
            (
                personal_token(&client, args.username).await?,
                "the token just created".to_owned(),
            )
        }
    };
    let target = Target {
        server: server.clone(),
        token: token.clone(),
        token_source,
        ca_pem,
    };
    let client = Client::new(&target)?;
    let me = client.me("checking the token").await?;
    let path = target::save_config(&Config { server, token })?;
    let who = me
        .user
        .map_or_else(|| "the admin token".to_owned(), |u| u.username);
    println!(
        "Logged in to {} as {who} (namespace {}); saved in {}",
        target.server,
        me.namespace,
        path.display()
    );
    Ok(Exit::Ok)
}

/// What a token is called on the server's Tokens page.
fn token_name() -> String {
    let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
    format!("appgen CLI on {host}")
}

/// Signs in, creates a personal API token with the session, and signs out again.
async fn personal_token(client: &Client, username: Option<String>) -> Result<String, Error> {
    let input =
        |what: &'static str| move |e: std::io::Error| Error::Usage(format!("reading the {what}: {e}"));
    let username = match username {
        Some(username) => username,
        None => ask("Username: ", false).map_err(input("username"))?,
    };
    let password = ask("Password: ", true).map_err(input("password"))?;
    let doing = format!("signing in to {} as {username}", client.server());
    let body = json!({ "username": username, "password": password });
    let answer = client
        .send(Method::POST, "/api/v1/auth/login", Some(&body), &[])
        .await?;
    let answer = client.check(answer, &doing)?;
    let cookie = answer
        .headers
        .get(SET_COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let session: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let (Some(cookie), Some(csrf)) = (cookie, session["csrfToken"].as_str()) else {
        return Err(Error::BadAnswer {
            doing,
            reason: "no session cookie and CSRF token came back".to_owned(),
        });
    };
    let session_headers = [("cookie", cookie.as_str()), ("x-csrf-token", csrf)];
    let answer = client
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(&json!({ "name": token_name() })),
            &session_headers,
        )
        .await?;
    let answer = client.check(answer, "creating a personal API token")?;
    let created: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let token = created["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::BadAnswer {
            doing: "creating a personal API token".to_owned(),
            reason: "the answer holds no token".to_owned(),
        })?;
    // The session was only a way to the token; the token is what the verbs use.
    let _ = client
        .send(Method::POST, "/api/v1/auth/logout", None, &session_headers)
        .await;
    Ok(token)
}
