//! The preview executor's decisions, as a pure function: given every Generation, the preview runs
//! the backend shows (with their ports and whether they have answered `/api/health`), the versions
//! prepared on this machine, the visits, and the time, what each app's preview should be, what
//! status that means, where its address routes, and which runs to launch and stop.
//!
//! One app, many versions: its newest Delivered Generation (by creation) is the one to run. Each
//! launch of a version is a run, keyed `<generation uid>-<run>`. The invariants the executor
//! relies on:
//! - a version's status is planned with its launch or stop, and written first, so a restarted
//!   executor knows whether a run that ended was stopped on purpose or crashed;
//! - an older version keeps serving the address until the newest one answers `/api/health`, and
//!   is stopped only then;
//! - at most `max_previews` apps are wanted at once: those used most recently.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use appgen_crd::{
    ConditionStatus, ConditionType, DeployTarget, Generation, GenerationStatus, Phase, set_condition,
};
use kube::ResourceExt;

use super::{PreviewAddress, Route};
use crate::backend::{TaskKey, TaskObservation, TaskState};
use crate::plan::{duration_until, whole_seconds};

pub const RUNNING: &str = "Running";
pub const STARTING: &str = "Starting";
pub const CRASH_LOOP: &str = "CrashLoopBackOff";
pub const IDLE: &str = "Idle";
pub const SUPERSEDED: &str = "Superseded";
pub const ADDRESS_TAKEN: &str = "AddressTaken";

/// Settings of the decisions, from `appgen serve`'s flags.
#[derive(Clone, Debug)]
pub struct PreviewPolicy {
    pub address: PreviewAddress,
    /// The most apps previewed at once; the least recently used beyond it are stopped.
    pub max_previews: usize,
    /// The wait before restarting a run that crashed; it doubles per crash in a row, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A run that lived this long before it ended starts the count of crashes in a row afresh.
    pub stable_after: Duration,
    /// How long a run may take to answer `/api/health` (lay out, install, build, boot) before it is
    /// stopped as a crash.
    pub start_timeout: Duration,
    /// How often runs are looked at when nothing is starting.
    pub poll: Duration,
    /// How often while something starts, so a preview serves soon after it can.
    pub first_look: Duration,
}

impl PreviewPolicy {
    pub fn new(address: PreviewAddress, max_previews: usize) -> Self {
        PreviewPolicy {
            address,
            max_previews,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            stable_after: Duration::from_secs(60),
            start_timeout: Duration::from_secs(300),
            poll: Duration::from_secs(2),
            first_look: Duration::from_millis(500),
        }
    }
}

/// A preview run the backend knows of.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// `<generation uid>-<run>`.
    pub key: TaskKey,
    pub observation: TaskObservation,
    /// The port its input names; None when the input cannot be read.
    pub port: Option<u16>,
    /// Whether it has answered `GET /api/health` with 200 since it started.
    pub answered: bool,
}

impl Run {
    fn number(&self) -> u32 {
        self.key.attempt()
    }

    fn serving_port(&self) -> Option<u16> {
        self.port
            .filter(|_| self.answered && self.observation.is_active())
    }

    /// How the run ended, for people: `exited with code 1`.
    fn ending(&self) -> String {
        match &self.observation.state {
            TaskState::Exited {
                signal: Some(signal), ..
            } => format!("was killed by signal {signal}"),
            TaskState::Exited { code: Some(code), .. } => format!("exited with code {code}"),
            TaskState::FailedToStart { reason } => format!("could not start: {reason}"),
            _ => "ended without an exit status".to_owned(),
        }
    }

    fn lifetime(&self) -> Duration {
        match (self.observation.started_at, self.observation.finished_at) {
            (Some(started), Some(finished)) => duration_until(started, finished),
            _ => Duration::ZERO,
        }
    }
}

/// What the executor observed.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    pub generations: &'a [Arc<Generation>],
    pub runs: &'a [Run],
    /// Uids of the Generations whose version is laid out, installed and built on this machine.
    pub prepared: &'a [String],
    /// The last request to each preview address, by label (`<app>--<namespace>`).
    pub visits: &'a BTreeMap<String, jiff::Timestamp>,
}

/// A run to start: write its input, then launch its task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launch {
    pub namespace: String,
    /// The Generation whose delivered app it runs.
    pub name: String,
    pub uid: String,
    pub app: String,
    pub run: u32,
}

/// The status a Generation should have.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusChange {
    pub namespace: String,
    pub name: String,
    pub status: GenerationStatus,
}

/// Everything the executor does in one pass, in this order: publish the routes, write the
/// statuses, and only once they are written stop, launch and discard.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Only the statuses that change.
    pub statuses: Vec<StatusChange>,
    /// Every preview address, by label.
    pub routes: BTreeMap<String, Route>,
    pub stops: Vec<TaskKey>,
    pub launches: Vec<Launch>,
    /// Uids whose prepared version is no longer needed on this machine.
    pub discards: Vec<String>,
    /// When to look again at the latest.
    pub requeue: Duration,
}

/// One app: its versions, newest first.
struct App<'a> {
    namespace: &'a str,
    name: &'a str,
    label: String,
    versions: Vec<&'a Generation>,
}

/// What the newest version of a wanted app is doing.
enum State {
    /// `previous` says how the run before it ended, if there was one.
    Starting {
        run: u32,
        previous: Option<String>,
    },
    Running {
        run: u32,
    },
    /// Run `run` ended unexpectedly (`ending`), or stopped answering; the next starts after `delay`.
    BackOff {
        run: u32,
        ending: String,
        delay: Duration,
    },
    Idle,
    AddressTaken {
        by: String,
    },
}

/// Decides the next step. Pure: the same inputs always give the same plan.
pub fn plan(observed: &Observed<'_>, now: jiff::Timestamp, policy: &PreviewPolicy) -> Plan {
    let now = whole_seconds(now);
    let apps = apps(observed.generations);
    let mut runs_of: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for run in observed.runs {
        runs_of.entry(run.key.uid()).or_default().push(run);
    }
    for runs in runs_of.values_mut() {
        runs.sort_by_key(|run| run.number());
    }
    let mut draft = Draft {
        now,
        policy,
        runs_of,
        plan: Plan {
            statuses: Vec::new(),
            routes: BTreeMap::new(),
            stops: Vec::new(),
            launches: Vec::new(),
            discards: Vec::new(),
            requeue: policy.poll,
        },
    };

    // Two apps whose names join to the same label (`a--b` in `c`, `a` in `b--c`) cannot share an
    // address: the older app keeps it, so a new app can never take an address away.
    let mut by_age: Vec<&App<'_>> = apps.iter().collect();
    by_age.sort_by_key(|app| app.versions.iter().map(|g| created(g)).min());
    let mut owners: BTreeMap<&str, &App<'_>> = BTreeMap::new();
    let mut taken = Vec::new();
    for app in by_age {
        match owners.get(app.label.as_str()) {
            Some(owner) => taken.push((app, format!("{}/{}", owner.namespace, owner.name))),
            None => {
                owners.insert(&app.label, app);
            }
        }
    }
    let mut by_use: Vec<&App<'_>> = owners.values().copied().collect();
    by_use.sort_by(|a, b| {
        draft
            .last_used(b, observed.visits)
            .cmp(&draft.last_used(a, observed.visits))
            .then_with(|| a.label.cmp(&b.label))
    });
    for (rank, app) in by_use.into_iter().enumerate() {
        draft.app(app, rank < policy.max_previews);
    }
    for (app, by) in taken {
        draft.settle(app, State::AddressTaken { by }, None);
    }

    // Runs of Generations that are no longer anyone's version: deleted, or no longer previewed.
    let versions: BTreeSet<&str> = apps
        .iter()
        .flat_map(|app| app.versions.iter().filter_map(|g| g.metadata.uid.as_deref()))
        .collect();
    for run in observed.runs {
        if run.observation.is_active() && !versions.contains(run.key.uid()) {
            draft.plan.stops.push(run.key.clone());
        }
    }
    let newest: BTreeSet<&str> = apps
        .iter()
        .filter_map(|app| app.versions.first()?.metadata.uid.as_deref())
        .collect();
    for uid in observed.prepared {
        let active = draft
            .runs_of
            .get(uid.as_str())
            .is_some_and(|runs| runs.iter().any(|run| run.observation.is_active()));
        if !newest.contains(uid.as_str()) && !active {
            draft.plan.discards.push(uid.clone());
        }
    }
    draft.plan
}

/// The Generations that are versions of a previewed app, grouped by app, newest first.
fn apps(generations: &[Arc<Generation>]) -> Vec<App<'_>> {
    let mut apps: BTreeMap<(&str, &str), Vec<&Generation>> = BTreeMap::new();
    for g in generations.iter().map(Arc::as_ref) {
        let delivered = g.status.as_ref().and_then(|s| s.phase) == Some(Phase::Delivered);
        let target = g
            .spec
            .delivery
            .as_ref()
            .and_then(|d| d.deploy.as_ref())
            .map(|d| d.target);
        let previewed = matches!(target, None | Some(DeployTarget::Preview));
        let present = g.metadata.deletion_timestamp.is_none() && g.metadata.uid.is_some();
        if let (true, true, true, Some(namespace), Some(name)) = (
            delivered,
            previewed,
            present,
            g.metadata.namespace.as_deref(),
            g.metadata.name.as_deref(),
        ) {
            let app = g.spec.app.as_deref().unwrap_or(name);
            apps.entry((namespace, app)).or_default().push(g);
        }
    }
    apps.into_iter()
        .map(|((namespace, name), mut versions)| {
            versions.sort_by_key(|g| std::cmp::Reverse(created(g)));
            App {
                namespace,
                name,
                label: PreviewAddress::label(name, namespace),
                versions,
            }
        })
        .collect()
}

fn created(g: &Generation) -> (Option<jiff::Timestamp>, String) {
    (g.metadata.creation_timestamp.as_ref().map(|t| t.0), g.name_any())
}

fn previewing(g: &Generation) -> Option<&str> {
    g.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == ConditionType::Previewing.as_str())
        .map(|c| c.reason.as_str())
}

struct Draft<'a> {
    now: jiff::Timestamp,
    policy: &'a PreviewPolicy,
    runs_of: BTreeMap<&'a str, Vec<&'a Run>>,
    plan: Plan,
}

impl<'a> Draft<'a> {
    /// The runs of version `g`, oldest first.
    fn runs(&self, g: &Generation) -> Vec<&'a Run> {
        g.metadata
            .uid
            .as_deref()
            .and_then(|uid| self.runs_of.get(uid))
            .cloned()
            .unwrap_or_default()
    }

    fn active_runs(&self, g: &Generation) -> Vec<TaskKey> {
        self.runs(g)
            .into_iter()
            .filter(|r| r.observation.is_active())
            .map(|r| r.key.clone())
            .collect()
    }

    /// When the app was last used: visited, delivered, or started.
    fn last_used(
        &self,
        app: &App<'_>,
        visits: &BTreeMap<String, jiff::Timestamp>,
    ) -> Option<jiff::Timestamp> {
        let delivered = app
            .versions
            .first()
            .and_then(|g| g.status.as_ref()?.completion_time.as_ref())
            .map(|t| t.0);
        let started = app
            .versions
            .iter()
            .flat_map(|g| self.runs(g))
            .filter_map(|run| run.observation.started_at);
        [visits.get(&app.label).copied(), delivered]
            .into_iter()
            .flatten()
            .chain(started)
            .max()
    }

    fn look_within(&mut self, wait: Duration) {
        self.plan.requeue = self.plan.requeue.min(wait);
    }

    fn app(&mut self, app: &App<'a>, wanted: bool) {
        let Some(&newest) = app.versions.first() else {
            return;
        };
        let runs = self.runs(newest);
        if !wanted {
            self.settle(app, State::Idle, None);
            return;
        }
        let latest = runs.last().copied();
        // A run that is not the newest of its version should not exist; stop it if one does.
        let strays = runs.iter().rev().skip(1).filter(|r| r.observation.is_active());
        self.plan.stops.extend(strays.map(|r| r.key.clone()));
        let state = match latest {
            None => self.launch(app, newest, 1, None),
            Some(run) if run.observation.is_active() => {
                let started = run.observation.started_at.unwrap_or(self.now);
                let age = duration_until(started, self.now);
                if run.answered {
                    State::Running { run: run.number() }
                } else if age >= self.policy.start_timeout {
                    self.plan.stops.push(run.key.clone());
                    State::BackOff {
                        run: run.number(),
                        ending: format!(
                            "did not answer /api/health within {}s and was stopped",
                            self.policy.start_timeout.as_secs()
                        ),
                        delay: self.policy.backoff_base,
                    }
                } else {
                    self.look_within(self.policy.first_look);
                    State::Starting {
                        run: run.number(),
                        previous: runs.iter().rev().nth(1).map(|r| r.ending()),
                    }
                }
            }
            Some(run) => self.after_run(app, newest, &runs, run),
        };
        let serving = match state {
            State::Running { .. } => latest.and_then(|run| run.serving_port()),
            _ => None,
        };
        self.settle(app, state, serving);
    }

    /// The newest version's latest run has ended: start the next at once if it was stopped on
    /// purpose, else after a back-off that doubles per crash in a row.
    fn after_run(&mut self, app: &App<'a>, newest: &Generation, runs: &[&Run], run: &Run) -> State {
        let next = run.number() + 1;
        let meant_to_run = matches!(previewing(newest), Some(RUNNING | STARTING | CRASH_LOOP));
        if !meant_to_run {
            return self.launch(app, newest, next, Some(run.ending()));
        }
        let crashes = runs
            .iter()
            .rev()
            .take_while(|r| !r.observation.is_active() && r.lifetime() < self.policy.stable_after)
            .count()
            .max(1);
        let doubling = u32::try_from(crashes - 1).unwrap_or(u32::MAX).min(16);
        let delay = self
            .policy
            .backoff_base
            .saturating_mul(1 << doubling)
            .min(self.policy.backoff_max);
        let ended = run.observation.finished_at.or(run.observation.started_at);
        let restart_at = ended
            .and_then(|at| at.checked_add(jiff::SignedDuration::try_from(delay).ok()?).ok())
            .unwrap_or(self.now);
        if restart_at <= self.now {
            return self.launch(app, newest, next, Some(run.ending()));
        }
        self.look_within(duration_until(self.now, restart_at));
        State::BackOff {
            run: run.number(),
            ending: run.ending(),
            delay,
        }
    }

    fn launch(&mut self, app: &App<'_>, newest: &Generation, run: u32, previous: Option<String>) -> State {
        self.plan.launches.push(Launch {
            namespace: app.namespace.to_owned(),
            name: newest.name_any(),
            uid: newest.metadata.uid.clone().unwrap_or_default(),
            app: app.name.to_owned(),
            run,
        });
        self.look_within(self.policy.first_look);
        State::Starting { run, previous }
    }

    /// Routes the app's address, stops what must not run, and sets every version's status.
    /// `serving` is the newest version's port when it answers.
    fn settle(&mut self, app: &App<'a>, state: State, serving: Option<u16>) {
        let Some((&newest, older)) = app.versions.split_first() else {
            return;
        };
        let url = self.policy.address.url(&app.label);
        let (status, reason, message) = self.condition(&state, &url);
        if let State::AddressTaken { .. } = state {
            for g in &app.versions {
                let stops = self.active_runs(g);
                self.plan.stops.extend(stops);
            }
            self.status(newest, None, status, reason, &message);
            return;
        }
        // What a visitor reads while the app is not serving.
        let (title, detail) = match &state {
            State::BackOff { .. } => (
                format!("{} stopped unexpectedly and restarts soon", app.name),
                message.clone(),
            ),
            State::Idle => (
                format!("{} is starting", app.name),
                "It was stopped while other previews were in use; this visit starts it again.".to_owned(),
            ),
            _ => (format!("{} is starting", app.name), message.clone()),
        };
        let idle = matches!(state, State::Idle);
        if idle {
            let stops = self.active_runs(newest);
            self.plan.stops.extend(stops);
        }
        // Until the newest version answers, the newest older one that does keeps the address.
        let stand_in = older.iter().filter(|_| !idle && serving.is_none()).find_map(|g| {
            let run = self.runs(g).last().copied()?;
            Some((g.metadata.uid.as_deref(), run.number(), run.serving_port()?))
        });
        let newest_name = newest.name_any();
        for g in older {
            match stand_in.filter(|(uid, ..)| *uid == g.metadata.uid.as_deref()) {
                Some((_, run, _)) => {
                    let others = self
                        .runs(g)
                        .into_iter()
                        .filter(|r| r.observation.is_active() && r.number() != run);
                    self.plan
                        .stops
                        .extend(others.map(|r| r.key.clone()).collect::<Vec<_>>());
                    let message = format!("run {run} serves {url} until generation {newest_name} answers");
                    self.status(g, Some(&url), ConditionStatus::True, RUNNING, &message);
                }
                None => {
                    let stops = self.active_runs(g);
                    self.plan.stops.extend(stops);
                    if previewing(g).is_some() || has_url(g) {
                        let message =
                            format!("generation {newest_name} of app {} serves {url} now", app.name);
                        self.status(g, None, ConditionStatus::False, SUPERSEDED, &message);
                    }
                }
            }
        }
        self.status(newest, Some(&url), status, reason, &message);
        let route = match serving.or(stand_in.map(|(.., port)| port)) {
            Some(port) => Route::Ready { port },
            None => Route::Waiting { title, detail },
        };
        self.plan.routes.insert(app.label.clone(), route);
    }

    /// The newest version's Previewing condition in `state`.
    fn condition(&self, state: &State, url: &str) -> (ConditionStatus, &'static str, String) {
        match state {
            State::Running { run } => (ConditionStatus::True, RUNNING, format!("run {run} serves {url}")),
            State::Starting { run, previous: None } => (
                ConditionStatus::False,
                STARTING,
                format!(
                    "run {run} is starting: laying out, installing and building the app, then booting it"
                ),
            ),
            State::Starting {
                run,
                previous: Some(ending),
            } => (
                ConditionStatus::False,
                STARTING,
                format!("run {run} is starting (run {} {ending})", run - 1),
            ),
            State::BackOff { run, ending, delay } => (
                ConditionStatus::False,
                CRASH_LOOP,
                format!(
                    "run {run} {ending}; run {} starts after a {}s back-off",
                    run + 1,
                    delay.as_secs()
                ),
            ),
            State::Idle => (
                ConditionStatus::False,
                IDLE,
                format!(
                    "stopped as the least recently used, to keep within {} running previews; a visit to \
                     {url} starts it again",
                    self.policy.max_previews
                ),
            ),
            State::AddressTaken { by } => (
                ConditionStatus::False,
                ADDRESS_TAKEN,
                format!("app {by} already has the address {url}; give this app another name"),
            ),
        }
    }

    /// Plans `g`'s status with the Previewing condition and `outputs.url` as given, if that changes it.
    fn status(
        &mut self,
        g: &Generation,
        url: Option<&str>,
        status: ConditionStatus,
        reason: &str,
        message: &str,
    ) {
        let before = g.status.clone().unwrap_or_default();
        let mut after = before.clone();
        set_condition(
            &mut after.conditions,
            ConditionType::Previewing,
            status,
            reason,
            message,
            g.metadata.generation,
            self.now,
        );
        match url {
            Some(url) => after.outputs.get_or_insert_default().url = Some(url.to_owned()),
            None => {
                if let Some(outputs) = after.outputs.as_mut() {
                    outputs.url = None;
                }
            }
        }
        if after != before {
            self.plan.statuses.push(StatusChange {
                namespace: g.namespace().unwrap_or_default(),
                name: g.name_any(),
                status: after,
            });
        }
    }
}

fn has_url(g: &Generation) -> bool {
    g.status
        .as_ref()
        .and_then(|s| s.outputs.as_ref())
        .is_some_and(|o| o.url.is_some())
}

#[cfg(test)]
mod tests;
