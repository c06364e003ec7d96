//! Accounts, sessions, API tokens, invites and quotas, in one SQLite file.
//!
//! Only hashes of secrets are stored: argon2id for passwords, SHA-256 for session ids, API
//! tokens and invite codes (those are 256 random bits, so a fast hash is enough). Every call runs
//! on the blocking pool, since SQLite waits for the disk.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    admin INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    quota_concurrent INTEGER,
    quota_per_day INTEGER
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE TABLE IF NOT EXISTS invites (
    code_hash TEXT PRIMARY KEY,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_by TEXT
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS creations (user_id TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS creations_by_user ON creations(user_id, at);
";

/// Whether an account may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AccountStatus {
    Active,
    /// Signed up without an invite on an invite-only server; an admin approves it.
    Pending,
    Disabled,
}

impl AccountStatus {
    fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Pending => "pending",
            AccountStatus::Disabled => "disabled",
        }
    }

    fn parse(s: &str) -> AccountStatus {
        match s {
            "active" => AccountStatus::Active,
            "pending" => AccountStatus::Pending,
            _ => AccountStatus::Disabled,
        }
    }
}

/// An account as the API shows it: never its password hash.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub username: String,
    pub admin: bool,
    pub status: AccountStatus,
    /// Where this user's Generations live.
    pub namespace: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// This user's own limits; unset ones take the server's defaults.
    pub quota: QuotaOverride,
}

/// How much one user may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quota {
    /// Generations Pending or Running at once.
    pub concurrent: u32,
    /// Generations created in any 24 hours.
    pub per_day: u32,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            concurrent: 2,
            per_day: 50,
        }
    }
}

/// A user's own limits; what is unset comes from the defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u32>,
}

impl QuotaOverride {
    pub fn over(self, defaults: Quota) -> Quota {
        Quota {
            concurrent: self.concurrent.unwrap_or(defaults.concurrent),
            per_day: self.per_day.unwrap_or(defaults.per_day),
        }
    }
}

/// A personal API token as listed: never the token.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

/// What an admin may change about an account.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserChange {
    pub status: Option<AccountStatus>,
    pub admin: Option<bool>,
    pub quota: Option<QuotaOverride>,
}

/// A new account, its secrets already hashed.
pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub status: AccountStatus,
    pub now: Timestamp,
    /// The hash of an invite code to spend on this account.
    pub invite_hash: Option<&'a str>,
}

/// The namespace of a user's Generations.
pub fn namespace_of(username: &str) -> String {
    format!("appgen-{username}")
}

#[derive(Clone, Debug)]
pub struct Accounts {
    conn: Arc<Mutex<Connection>>,
}

impl Accounts {
    pub fn open(path: &Path) -> Result<Accounts, Error> {
        let conn = Connection::open(path).map_err(Error::database("opening the account database"))?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .map_err(Error::database("configuring the account database"))?;
        conn.execute_batch(SCHEMA)
            .map_err(Error::database("creating the account tables"))?;
        Ok(Accounts {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn call<T: Send + 'static>(
        &self,
        context: &'static str,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::Internal(format!("the account database task failed: {e}")))?
        .map_err(Error::database(context))
    }

    pub async fn user_count(&self) -> Result<u64, Error> {
        self.call("counting users", |c| {
            c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get::<_, i64>(0))
                .map(|n| n.unsigned_abs())
        })
        .await
    }

    /// Creates the account; the first one on a server is an admin. Answers None when the
    /// username is taken or the invite is not valid (both are the caller's to explain).
    pub async fn create_user(&self, new: NewUser<'_>) -> Result<Result<User, SignupRefusal>, Error> {
        let (id, username, hash) = (
            new.id.to_owned(),
            new.username.to_owned(),
            new.password_hash.to_owned(),
        );
        let invite = new.invite_hash.map(str::to_owned);
        let (status, now) = (new.status, new.now);
        self.call("creating a user", move |c| {
            let tx = c.transaction()?;
            let taken: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE username = ?1)",
                [&username],
                |r| r.get(0),
            )?;
            if taken {
                return Ok(Err(SignupRefusal::UsernameTaken));
            }
            if let Some(invite) = &invite {
                let spent = tx.execute(
                    "UPDATE invites SET used_by = ?1 WHERE code_hash = ?2 AND used_by IS NULL",
                    params![id, invite],
                )?;
                if spent == 0 {
                    return Ok(Err(SignupRefusal::BadInvite));
                }
            }
            let first: bool = tx.query_row("SELECT NOT EXISTS(SELECT 1 FROM users)", [], |r| r.get(0))?;
            let status = if first { AccountStatus::Active } else { status };
            tx.execute(
                "INSERT INTO users (id, username, password_hash, admin, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, username, hash, first, status.as_str(), now.to_string()],
            )?;
            let user = select_user(&tx, "id = ?1", &id)?;
            tx.commit()?;
            Ok(user.map(|(user, _)| user).ok_or(SignupRefusal::UsernameTaken))
        })
        .await
    }

    /// The account and its password hash.
    pub async fn by_username(&self, username: &str) -> Result<Option<(User, String)>, Error> {
        let username = username.to_owned();
        self.call("looking up a user", move |c| {
            select_user(c, "username = ?1", &username)
        })
        .await
    }

    pub async fn users(&self) -> Result<Vec<User>, Error> {
        self.call("listing users", |c| {
            let mut statement = c.prepare(&format!("{USER_COLUMNS} ORDER BY created_at, username"))?;
            let rows = statement.query_map([], read_user)?;
            rows.map(|row| row.map(|(user, _)| user)).collect()
        })
        .await
    }

    pub async fn change_user(&self, id: &str, change: UserChange) -> Result<Option<User>, Error> {
        let id = id.to_owned();
        self.call("changing a user", move |c| {
            let tx = c.transaction()?;
            if let Some(status) = change.status {
                tx.execute(
                    "UPDATE users SET status = ?1 WHERE id = ?2",
                    params![status.as_str(), id],
                )?;
                if status != AccountStatus::Active {
                    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [&id])?;
                }
            }
            if let Some(admin) = change.admin {
                tx.execute("UPDATE users SET admin = ?1 WHERE id = ?2", params![admin, id])?;
            }
            if let Some(quota) = change.quota {
                tx.execute(
                    "UPDATE users SET quota_concurrent = ?1, quota_per_day = ?2 WHERE id = ?3",
                    params![quota.concurrent, quota.per_day, id],
                )?;
            }
            let user = select_user(&tx, "id = ?1", &id)?.map(|(user, _)| user);
            tx.commit()?;
            Ok(user)
        })
        .await
    }

    pub async fn create_session(
        &self,
        user_id: &str,
        id_hash: String,
        csrf: String,
        expires_at: Timestamp,
    ) -> Result<(), Error> {
        let user_id = user_id.to_owned();
        self.call("creating a session", move |c| {
            c.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![id_hash, user_id, csrf, expires_at.to_string()],
            )
            .map(drop)
        })
        .await
    }

    /// The user of a live session and its CSRF token. Expired sessions are removed on sight.
    pub async fn session(&self, id_hash: String, now: Timestamp) -> Result<Option<(User, String)>, Error> {
        self.call("reading a session", move |c| {
            let found: Option<(String, String, String)> = c
                .query_row(
                    "SELECT user_id, csrf, expires_at FROM sessions WHERE id_hash = ?1",
                    [&id_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((user_id, csrf, expires_at)) = found else {
                return Ok(None);
            };
            if expires_at.parse::<Timestamp>().is_ok_and(|t| t <= now) {
                c.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash])?;
                return Ok(None);
            }
            Ok(select_user(c, "id = ?1", &user_id)?.map(|(user, _)| (user, csrf)))
        })
        .await
    }

    pub async fn delete_session(&self, id_hash: String) -> Result<(), Error> {
        self.call("ending a session", move |c| {
            c.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash])
                .map(drop)
        })
        .await
    }

    pub async fn create_token(
        &self,
        user_id: &str,
        info: TokenInfo,
        token_hash: String,
    ) -> Result<(), Error> {
        let user_id = user_id.to_owned();
        self.call("creating an API token", move |c| {
            c.execute(
                "INSERT INTO tokens (id, user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    info.id,
                    user_id,
                    info.name,
                    token_hash,
                    info.created_at.to_string()
                ],
            )
            .map(drop)
        })
        .await
    }

    pub async fn tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>, Error> {
        let user_id = user_id.to_owned();
        self.call("listing API tokens", move |c| {
            let mut statement = c.prepare(
                "SELECT id, name, created_at, last_used_at FROM tokens WHERE user_id = ?1 ORDER BY created_at, id",
            )?;
            let rows = statement.query_map([&user_id], |r| {
                Ok(TokenInfo {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_at: timestamp(r.get::<_, String>(2)?),
                    last_used_at: r.get::<_, Option<String>>(3)?.map(timestamp),
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Whether the user had such a token (now revoked).
    pub async fn revoke_token(&self, user_id: &str, id: &str) -> Result<bool, Error> {
        let (user_id, id) = (user_id.to_owned(), id.to_owned());
        self.call("revoking an API token", move |c| {
            c.execute(
                "DELETE FROM tokens WHERE id = ?1 AND user_id = ?2",
                params![id, user_id],
            )
            .map(|n| n > 0)
        })
        .await
    }

    /// The owner of an API token, noting when it was used.
    pub async fn token_user(&self, token_hash: String, now: Timestamp) -> Result<Option<User>, Error> {
        self.call("checking an API token", move |c| {
            let user_id: Option<String> = c
                .query_row(
                    "SELECT user_id FROM tokens WHERE token_hash = ?1",
                    [&token_hash],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(user_id) = user_id else {
                return Ok(None);
            };
            c.execute(
                "UPDATE tokens SET last_used_at = ?1 WHERE token_hash = ?2",
                params![now.to_string(), token_hash],
            )?;
            Ok(select_user(c, "id = ?1", &user_id)?.map(|(user, _)| user))
        })
        .await
    }

    pub async fn create_invite(
        &self,
        code_hash: String,
        created_by: String,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.call("creating an invite", move |c| {
            c.execute(
                "INSERT INTO invites (code_hash, created_by, created_at) VALUES (?1, ?2, ?3)",
                params![code_hash, created_by, now.to_string()],
            )
            .map(drop)
        })
        .await
    }

    pub async fn default_quota(&self) -> Result<Quota, Error> {
        self.call("reading the default quota", |c| {
            let value: Option<String> = c
                .query_row("SELECT value FROM settings WHERE key = 'quota'", [], |r| r.get(0))
                .optional()?;
            Ok(value
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or_default())
        })
        .await
    }

    pub async fn set_default_quota(&self, quota: Quota) -> Result<(), Error> {
        let value =
            serde_json::to_string(&quota).map_err(|e| Error::Internal(format!("encoding the quota: {e}")))?;
        self.call("saving the default quota", move |c| {
            c.execute(
                "INSERT INTO settings (key, value) VALUES ('quota', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [value],
            )
            .map(drop)
        })
        .await
    }

    /// Notes a Generation created by `user_id` at `at`, for the daily quota; older notes than
    /// `forget_before` are dropped on the way.
    pub async fn record_creation(
        &self,
        user_id: &str,
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<(), Error> {
        let user_id = user_id.to_owned();
        self.call("recording a creation", move |c| {
            c.execute("DELETE FROM creations WHERE at < ?1", [forget_before.to_string()])?;
            c.execute(
                "INSERT INTO creations (user_id, at) VALUES (?1, ?2)",
                params![user_id, at.to_string()],
            )
            .map(drop)
        })
        .await
    }

    /// When `user_id` created Generations since `since`, oldest first.
    pub async fn creations_since(&self, user_id: &str, since: Timestamp) -> Result<Vec<Timestamp>, Error> {
        let user_id = user_id.to_owned();
        self.call("counting creations", move |c| {
            let mut statement =
                c.prepare("SELECT at FROM creations WHERE user_id = ?1 AND at >= ?2 ORDER BY at")?;
            let rows = statement.query_map(params![user_id, since.to_string()], |r| {
                r.get::<_, String>(0).map(timestamp)
            })?;
            rows.collect()
        })
        .await
    }
}

/// Why a sign-up did not create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupRefusal {
    UsernameTaken,
    BadInvite,
}

const USER_COLUMNS: &str = "SELECT id, username, admin, status, created_at, quota_concurrent, quota_per_day, password_hash FROM users";

fn select_user(c: &Connection, condition: &str, value: &str) -> rusqlite::Result<Option<(User, String)>> {
    c.query_row(&format!("{USER_COLUMNS} WHERE {condition}"), [value], read_user)
        .optional()
}

fn read_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<(User, String)> {
    let username: String = r.get(1)?;
    Ok((
        User {
            id: r.get(0)?,
            namespace: namespace_of(&username),
            username,
            admin: r.get(2)?,
            status: AccountStatus::parse(&r.get::<_, String>(3)?),
            created_at: timestamp(r.get::<_, String>(4)?),
            quota: QuotaOverride {
                concurrent: r.get(5)?,
                per_day: r.get(6)?,
            },
        },
        r.get(7)?,
    ))
}

/// Timestamps are written by this module in RFC 3339; one that is not reads as the epoch rather
/// than failing the whole query.
fn timestamp(s: String) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}
