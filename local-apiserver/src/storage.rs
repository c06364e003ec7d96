//! Durable object storage: every object in memory for reads and watches, every write in SQLite
//! (WAL, `synchronous=FULL`) before it is acknowledged.
//!
//! Writes are serialized under one lock that assigns the global resourceVersion, then handed to a
//! single writer thread that commits whatever has queued up in one transaction (group commit), so
//! many concurrent writers share one fsync. A write's caller, and every watcher, hears of it only
//! after its transaction committed; a reader that saw an object waits for that object's commit
//! before answering, so nothing a client has seen can be lost in a crash.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::Bytes;
use rusqlite::{Connection, params};
use serde_json::Value;
use tokio::sync::{broadcast, oneshot, watch};

use crate::error::{Error, Result};

/// Where an object lives: its storage key (shared by the APIs that serve the same objects), namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub storage: Arc<str>,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

/// An object as stored: its JSON with `metadata.resourceVersion` already set.
#[derive(Clone, Debug)]
pub struct Stored {
    pub rv: u64,
    pub json: Bytes,
}

impl Stored {
    pub fn value(&self) -> Result<Value> {
        serde_json::from_slice(&self.json).map_err(|e| Error::Corrupt(e.to_string()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

/// One committed change, as watchers see it.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub change: ChangeType,
    pub key: ObjectKey,
    /// The object after the change; for a deletion, its last state with the deletion's resourceVersion.
    pub object: Bytes,
    /// The object before the change, so a filtered watch can tell an object leaving its filter.
    pub previous: Option<Bytes>,
}

/// What a write decided, given the current object.
#[derive(Debug)]
pub enum Write {
    /// Store this object (create or replace).
    Put(Value),
    /// Remove the object; the value is its final state, which watchers receive.
    Delete(Value),
    /// Nothing changes; answer with the current object.
    Unchanged(Value),
}

/// The result of a write.
#[derive(Debug)]
pub struct Written {
    pub object: Value,
}

/// The starting point of a watch: the changes it must replay, or the objects it must announce,
/// and the live feed after them.
#[derive(Debug)]
pub struct WatchStart {
    pub replay: Vec<Arc<Change>>,
    /// For a watch with no resourceVersion (or 0): the objects that exist, announced as ADDED.
    pub initial: Vec<(ObjectKey, Stored)>,
    /// The resourceVersion the watch is in sync with once `replay`/`initial` are sent.
    pub synced_rv: u64,
    pub feed: broadcast::Receiver<Arc<Change>>,
}

struct State {
    rv: u64,
    objects: BTreeMap<ObjectKey, Stored>,
}

struct History {
    changes: VecDeque<Arc<Change>>,
    /// A watch from a resourceVersion older than this cannot be served from `changes`.
    oldest: u64,
    capacity: usize,
}

/// Where a write stands once decided: queued for the disk, or needing no write of its own
/// (answered once the given resourceVersion is committed).
enum Staged {
    Queued(oneshot::Receiver<Result<()>>, Written),
    Settled(Written, u64),
}

/// A write on its way to disk.
struct Op {
    key: ObjectKey,
    stored: Stored,
    change: ChangeType,
    previous: Option<Bytes>,
}

struct Pending {
    op: Op,
    done: oneshot::Sender<Result<()>>,
}

struct Queue {
    ops: Vec<Pending>,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    queue: Mutex<Queue>,
    queued: Condvar,
    history: Mutex<History>,
    feed: broadcast::Sender<Arc<Change>>,
    committed: watch::Sender<u64>,
}

/// The store. Cheap to clone; all clones share one database and one writer thread.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// Holds a lock even if a thread panicked while holding it: every critical section here leaves
/// the data consistent before any call that could panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Store {
    /// Opens (creating if needed) the database at `path`, loads every object and starts the writer thread.
    /// `history` is how many changes are kept for watches that resume from a resourceVersion.
    pub fn open(path: &Path, history: usize) -> Result<Store> {
        let open_err = |source| Error::Open {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS objects (
                 storage TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                 rv INTEGER NOT NULL, body BLOB NOT NULL,
                 PRIMARY KEY (storage, namespace, name)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
        )
        .map_err(open_err)?;
        let (rv, objects) = load(&conn)?;
        let (feed, _) = broadcast::channel(8192);
        let shared = Arc::new(Shared {
            state: Mutex::new(State { rv, objects }),
            queue: Mutex::new(Queue {
                ops: Vec::new(),
                closed: false,
            }),
            queued: Condvar::new(),
            history: Mutex::new(History {
                changes: VecDeque::new(),
                oldest: rv,
                capacity: history.max(1),
            }),
            feed,
            committed: watch::Sender::new(rv),
        });
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(conn, &writer))
            .map_err(|e| Error::Corrupt(format!("starting the writer thread: {e}")))?;
        Ok(Store { shared })
    }

    /// Stops accepting writes once the queued ones are committed.
    pub fn close(&self) {
        lock(&self.shared.queue).closed = true;
        self.shared.queued.notify_all();
    }

    /// The newest resourceVersion a reader may rely on (committed).
    pub fn committed_rv(&self) -> u64 {
        *self.shared.committed.borrow()
    }

    /// Waits until everything up to `rv` is committed, so an answer never shows uncommitted data.
    pub async fn wait_committed(&self, rv: u64) -> Result<()> {
        let mut rx = self.shared.committed.subscribe();
        rx.wait_for(|c| *c >= rv)
            .await
            .map(|_| ())
            .map_err(|_| Error::Closed)
    }

    pub async fn get(&self, key: &ObjectKey) -> Result<Option<Stored>> {
        let found = lock(&self.shared.state).objects.get(key).cloned();
        if let Some(s) = &found {
            self.wait_committed(s.rv).await?;
        }
        Ok(found)
    }

    /// Objects under `storage` (in one namespace, or all), in key order, starting after `after`,
    /// and the resourceVersion of the list.
    pub async fn list(
        &self,
        storage: &Arc<str>,
        namespace: Option<&str>,
        after: Option<&(String, String)>,
    ) -> Result<(Vec<(ObjectKey, Stored)>, u64)> {
        let (items, rv) = {
            let state = lock(&self.shared.state);
            let key = |namespace: &str, name: &str| ObjectKey {
                storage: storage.clone(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            };
            let lower = match after {
                Some((ns, name)) => Bound::Excluded(key(ns, name)),
                None => Bound::Included(key(namespace.unwrap_or(""), "")),
            };
            let items: Vec<_> = state
                .objects
                .range((lower, Bound::Unbounded))
                .take_while(|(k, _)| k.storage == *storage && namespace.is_none_or(|ns| k.namespace == ns))
                .map(|(k, s)| (k.clone(), s.clone()))
                .collect();
            (items, state.rv)
        };
        self.wait_committed(rv).await?;
        Ok((items, rv))
    }

    /// Performs one write. `decide` sees the current object (if any) and says what to store; it
    /// runs under the store's lock, so it must be quick and must not block. With `dry_run` the
    /// decision is made and returned but nothing is stored.
    pub async fn write<F>(&self, key: &ObjectKey, dry_run: bool, decide: F) -> Result<Written>
    where
        F: FnOnce(Option<Value>) -> Result<Write>,
    {
        match self.stage(key, dry_run, decide)? {
            Staged::Queued(done, written) => done.await.map_err(|_| Error::Closed)?.map(|()| written),
            Staged::Settled(written, rv) => self.wait_committed(rv).await.map(|()| written),
        }
    }

    /// The synchronous half of [`Store::write`]: decides under the lock and queues the write.
    fn stage<F>(&self, key: &ObjectKey, dry_run: bool, decide: F) -> Result<Staged>
    where
        F: FnOnce(Option<Value>) -> Result<Write>,
    {
        let mut state = lock(&self.shared.state);
        let current_stored = state.objects.get(key).cloned();
        let current = current_stored.as_ref().map(Stored::value).transpose()?;
        let previous = current_stored.as_ref().map(|s| s.json.clone());
        let (mut object, change) = match decide(current)? {
            Write::Unchanged(object) => {
                return Ok(Staged::Settled(
                    Written { object },
                    current_stored.map_or(0, |s| s.rv),
                ));
            }
            Write::Put(object) if previous.is_some() => (object, ChangeType::Modified),
            Write::Put(object) => (object, ChangeType::Added),
            Write::Delete(_) if previous.is_none() => {
                return Err(Error::Corrupt(
                    "asked to delete an object that does not exist".into(),
                ));
            }
            Write::Delete(object) => (object, ChangeType::Deleted),
        };
        let rv = state.rv + 1;
        set_resource_version(&mut object, rv);
        if dry_run {
            return Ok(Staged::Settled(Written { object }, 0));
        }
        let stored = Stored {
            rv,
            json: to_bytes(&object)?,
        };
        state.rv = rv;
        if change == ChangeType::Deleted {
            state.objects.remove(key);
        } else {
            state.objects.insert(key.clone(), stored.clone());
        }
        Ok(Staged::Queued(
            self.enqueue(Op {
                key: key.clone(),
                stored,
                change,
                previous,
            }),
            Written { object },
        ))
    }

    fn enqueue(&self, op: Op) -> oneshot::Receiver<Result<()>> {
        let (tx, rx) = oneshot::channel();
        let mut queue = lock(&self.shared.queue);
        if queue.closed {
            let _ = tx.send(Err(Error::Closed));
        } else {
            queue.ops.push(Pending { op, done: tx });
            self.shared.queued.notify_one();
        }
        rx
    }

    /// Where a watch of `storage` from `from` starts. `from` of None means "now, announcing what exists".
    pub async fn watch_start(&self, storage: &Arc<str>, from: Option<u64>) -> Result<WatchStart> {
        let start = {
            let history = lock(&self.shared.history);
            match from {
                Some(rv) if rv < history.oldest => {
                    return Err(Error::Expired {
                        requested: rv,
                        oldest: history.oldest,
                    });
                }
                Some(rv) => {
                    let replay: Vec<_> = history
                        .changes
                        .iter()
                        .filter(|c| c.rv > rv && c.key.storage == *storage)
                        .cloned()
                        .collect();
                    let synced_rv = history.changes.back().map_or(rv, |c| c.rv.max(rv));
                    WatchStart {
                        replay,
                        initial: Vec::new(),
                        synced_rv,
                        feed: self.shared.feed.subscribe(),
                    }
                }
                None => {
                    let state = lock(&self.shared.state);
                    let initial = state
                        .objects
                        .iter()
                        .filter(|(k, _)| k.storage == *storage)
                        .map(|(k, s)| (k.clone(), s.clone()))
                        .collect();
                    WatchStart {
                        replay: Vec::new(),
                        initial,
                        synced_rv: state.rv,
                        feed: self.shared.feed.subscribe(),
                    }
                }
            }
        };
        self.wait_committed(start.synced_rv).await?;
        Ok(start)
    }
}

fn set_resource_version(object: &mut Value, rv: u64) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

fn to_bytes(object: &Value) -> Result<Bytes> {
    serde_json::to_vec(object)
        .map(Bytes::from)
        .map_err(|e| Error::Corrupt(e.to_string()))
}

type Loaded = (u64, BTreeMap<ObjectKey, Stored>);

fn load(conn: &Connection) -> Result<Loaded> {
    let counter: Option<i64> = conn
        .query_row("SELECT value FROM counters WHERE name = 'rv'", [], |r| r.get(0))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let mut stmt = conn.prepare("SELECT storage, namespace, name, rv, body FROM objects")?;
    let rows = stmt.query_map([], |r| {
        let storage: String = r.get(0)?;
        let rv: i64 = r.get(3)?;
        let body: Vec<u8> = r.get(4)?;
        Ok((
            ObjectKey {
                storage: storage.into(),
                namespace: r.get(1)?,
                name: r.get(2)?,
            },
            Stored {
                rv: u64::try_from(rv).unwrap_or(0),
                json: Bytes::from(body),
            },
        ))
    })?;
    let mut objects = BTreeMap::new();
    let mut rv = u64::try_from(counter.unwrap_or(0)).unwrap_or(0);
    for row in rows {
        let (key, stored) = row?;
        rv = rv.max(stored.rv);
        objects.insert(key, stored);
    }
    Ok((rv, objects))
}

fn commit(conn: &mut Connection, batch: &[Pending]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut put = tx.prepare_cached(
            "INSERT INTO objects (storage, namespace, name, rv, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (storage, namespace, name) DO UPDATE SET rv = excluded.rv, body = excluded.body",
        )?;
        let mut delete =
            tx.prepare_cached("DELETE FROM objects WHERE storage = ?1 AND namespace = ?2 AND name = ?3")?;
        let mut max_rv = 0;
        for Pending { op, .. } in batch {
            let key = &op.key;
            if op.change == ChangeType::Deleted {
                delete.execute(params![&*key.storage, key.namespace, key.name])?;
            } else {
                put.execute(params![
                    &*key.storage,
                    key.namespace,
                    key.name,
                    op.stored.rv as i64,
                    &op.stored.json[..]
                ])?;
            }
            max_rv = max_rv.max(op.stored.rv);
        }
        tx.execute(
            "INSERT INTO counters (name, value) VALUES ('rv', ?1)
             ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
            params![max_rv as i64],
        )?;
    }
    tx.commit()
}

fn write_loop(mut conn: Connection, shared: &Shared) {
    loop {
        let batch = {
            let mut queue = lock(&shared.queue);
            while queue.ops.is_empty() && !queue.closed {
                queue = shared
                    .queued
                    .wait(queue)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            if queue.ops.is_empty() {
                return;
            }
            std::mem::take(&mut queue.ops)
        };
        match commit(&mut conn, &batch) {
            Ok(()) => publish(shared, batch),
            Err(e) => recover(&conn, shared, batch, e),
        }
    }
}

/// Tells watchers, readers and the writers of `batch` that it is durable, in resourceVersion order.
fn publish(shared: &Shared, batch: Vec<Pending>) {
    let mut done = Vec::with_capacity(batch.len());
    let mut last = 0;
    {
        let mut history = lock(&shared.history);
        for pending in batch {
            let Op {
                key,
                stored,
                change,
                previous,
            } = pending.op;
            let change = Arc::new(Change {
                rv: stored.rv,
                change,
                key,
                object: stored.json,
                previous,
            });
            last = change.rv;
            if history.changes.len() == history.capacity
                && let Some(dropped) = history.changes.pop_front()
            {
                history.oldest = dropped.rv;
            }
            history.changes.push_back(change.clone());
            // No receivers is fine: nobody is watching.
            let _ = shared.feed.send(change);
            done.push(pending.done);
        }
    }
    shared.committed.send_if_modified(|c| {
        let moved = last > *c;
        *c = (*c).max(last);
        moved
    });
    for tx in done {
        let _ = tx.send(Ok(()));
    }
}

/// A failed commit leaves memory ahead of the disk: reload memory from the disk so nothing that was
/// not stored stays visible, and fail the writers of this batch and of everything queued behind it
/// (their objects are gone from memory too). The resourceVersion counter keeps its place, so
/// versions never repeat.
fn recover(conn: &Connection, shared: &Shared, mut batch: Vec<Pending>, error: rusqlite::Error) {
    tracing::error!(%error, ops = batch.len(), "committing writes failed; reloading the store from disk");
    {
        let mut state = lock(&shared.state);
        batch.append(&mut lock(&shared.queue).ops);
        match load(conn) {
            Ok((_, objects)) => state.objects = objects,
            Err(e) => {
                tracing::error!(error = %e, "reloading the store failed; memory may show unstored writes")
            }
        }
        let rv = state.rv;
        shared.committed.send_if_modified(|c| {
            let moved = rv > *c;
            *c = (*c).max(rv);
            moved
        });
    }
    for pending in batch {
        let _ = pending
            .done
            .send(Err(Error::Corrupt(format!("the write was not stored: {error}"))));
    }
}
