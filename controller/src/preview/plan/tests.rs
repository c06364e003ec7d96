//! The preview planner's decisions, each a situation and what must follow from it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use appgen_crd::{
    ConditionStatus, ConditionType, DeliverySpec, DeploySpec, DeployTarget, Generation, GenerationSpec,
    Phase, set_condition,
};

use super::*;
use crate::backend::{TaskKey, TaskObservation, TaskState};
use crate::fixtures::{at, time};

const TODO: &str = "todo--default";
const URL: &str = "http://todo--default.localhost:8080/";

fn policy(max_previews: usize) -> PreviewPolicy {
    PreviewPolicy {
        backoff_base: Duration::from_secs(2),
        backoff_max: Duration::from_secs(60),
        stable_after: Duration::from_secs(60),
        start_timeout: Duration::from_secs(300),
        ..PreviewPolicy::new(PreviewAddress::localhost(8080), max_previews)
    }
}

/// A Delivered Generation `name` of `app`, created at `created` and delivered 20 s later, whose
/// uid is its name (so runs read `<name>-<run>`), with a Previewing condition of `reason` if given.
fn version(name: &str, app: &str, created: i64, previewing: Option<&str>) -> Arc<Generation> {
    let mut g = Generation::new(
        name,
        GenerationSpec {
            app: Some(app.into()),
            ..GenerationSpec::from_prompt("An app")
        },
    );
    g.metadata.namespace = Some("default".into());
    g.metadata.uid = Some(name.into());
    g.metadata.generation = Some(1);
    g.metadata.creation_timestamp = Some(time(created));
    let status = g.status.get_or_insert_default();
    status.phase = Some(Phase::Delivered);
    status.completion_time = Some(time(created + 20));
    if let Some(reason) = previewing {
        let state = if reason == RUNNING {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        set_condition(
            &mut status.conditions,
            ConditionType::Previewing,
            state,
            reason,
            "as before",
            Some(1),
            at(created + 20),
        );
        status.outputs.get_or_insert_default().url = Some(URL.into());
    }
    Arc::new(g)
}

fn key(uid: &str, run: u32) -> TaskKey {
    TaskKey::new(uid, run)
}

/// Run `run` of `uid`, running since `started` on port 4000 + run; `answered` says whether it
/// has answered /api/health.
fn running(uid: &str, run: u32, started: i64, answered: bool) -> Run {
    Run {
        key: key(uid, run),
        observation: TaskObservation {
            state: TaskState::Running,
            started_at: Some(at(started)),
            finished_at: None,
        },
        port: Some(4000 + u16::try_from(run).unwrap_or_default()),
        answered,
    }
}

/// Run `run` of `uid`, which lived from `started` to `finished` and exited with `code`.
fn ended(uid: &str, run: u32, started: i64, finished: i64, code: i32) -> Run {
    Run {
        key: key(uid, run),
        observation: TaskObservation {
            state: TaskState::Exited {
                code: Some(code),
                signal: None,
            },
            started_at: Some(at(started)),
            finished_at: Some(at(finished)),
        },
        port: None,
        answered: false,
    }
}

struct World {
    generations: Vec<Arc<Generation>>,
    runs: Vec<Run>,
    prepared: Vec<String>,
    visits: BTreeMap<String, jiff::Timestamp>,
}

impl World {
    fn of(generations: Vec<Arc<Generation>>, runs: Vec<Run>) -> Self {
        World {
            generations,
            runs,
            prepared: Vec::new(),
            visits: BTreeMap::new(),
        }
    }

    /// The world once the executor has written the plan's statuses.
    fn written(mut self, plan: &Plan) -> Self {
        for change in &plan.statuses {
            if let Some(g) = self
                .generations
                .iter_mut()
                .find(|g| g.metadata.name.as_deref() == Some(&change.name))
            {
                Arc::make_mut(g).status = Some(change.status.clone());
            }
        }
        self
    }

    fn plan(&self, now: i64, max_previews: usize) -> Plan {
        let observed = Observed {
            generations: &self.generations,
            runs: &self.runs,
            prepared: &self.prepared,
            visits: &self.visits,
        };
        plan(&observed, at(now), &policy(max_previews))
    }
}

fn launched(plan: &Plan) -> Vec<(String, u32)> {
    plan.launches.iter().map(|l| (l.uid.clone(), l.run)).collect()
}

/// The Previewing condition and URL the plan gives Generation `name`, as (status, reason, url);
/// None when the plan leaves its status alone.
fn previewing_of(plan: &Plan, name: &str) -> Option<(String, String, Option<String>)> {
    let change = plan.statuses.iter().find(|c| c.name == name)?;
    let condition = change
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Previewing")?;
    Some((
        condition.status.clone(),
        condition.reason.clone(),
        change.status.outputs.as_ref().and_then(|o| o.url.clone()),
    ))
}

fn ready(port: u16) -> Option<Route> {
    Some(Route::Ready { port })
}

fn is_waiting(route: Option<&Route>) -> bool {
    matches!(route, Some(Route::Waiting { .. }))
}

#[test]
fn one_version_through_start_crash_and_back_off() {
    struct Case {
        situation: &'static str,
        previewing: Option<&'static str>,
        runs: Vec<Run>,
        now: i64,
        launches: Vec<u32>,
        stops: Vec<u32>,
        route: Option<Route>,
        condition: (&'static str, &'static str),
    }
    let waiting = None;
    let cases = [
        Case {
            situation: "a delivered version with no run is launched as run 1",
            previewing: None,
            runs: vec![],
            now: 100,
            launches: vec![1],
            stops: vec![],
            route: waiting.clone(),
            condition: ("False", STARTING),
        },
        Case {
            situation: "a run that has not answered /api/health yet is starting",
            previewing: Some(STARTING),
            runs: vec![running("v1", 1, 95, false)],
            now: 100,
            launches: vec![],
            stops: vec![],
            route: waiting.clone(),
            condition: ("False", STARTING),
        },
        Case {
            situation: "a run that answers serves the address",
            previewing: Some(STARTING),
            runs: vec![running("v1", 1, 95, true)],
            now: 100,
            launches: vec![],
            stops: vec![],
            route: ready(4001),
            condition: ("True", RUNNING),
        },
        Case {
            situation: "a run that crashed after a long life waits out the first back-off",
            previewing: Some(RUNNING),
            runs: vec![ended("v1", 1, 0, 99, 1)],
            now: 100,
            launches: vec![],
            stops: vec![],
            route: waiting.clone(),
            condition: ("False", CRASH_LOOP),
        },
        Case {
            situation: "once the back-off is over the next run starts",
            previewing: Some(CRASH_LOOP),
            runs: vec![ended("v1", 1, 0, 99, 1)],
            now: 101,
            launches: vec![2],
            stops: vec![],
            route: waiting.clone(),
            condition: ("False", STARTING),
        },
        Case {
            situation: "three quick crashes in a row wait 2 × 2 × 2 = 8 s",
            previewing: Some(CRASH_LOOP),
            runs: vec![
                ended("v1", 1, 0, 5, 1),
                ended("v1", 2, 10, 15, 1),
                ended("v1", 3, 20, 25, 1),
            ],
            now: 32,
            launches: vec![],
            stops: vec![],
            route: waiting.clone(),
            condition: ("False", CRASH_LOOP),
        },
        Case {
            situation: "… and start the fourth run after them",
            previewing: Some(CRASH_LOOP),
            runs: vec![
                ended("v1", 1, 0, 5, 1),
                ended("v1", 2, 10, 15, 1),
                ended("v1", 3, 20, 25, 1),
            ],
            now: 33,
            launches: vec![4],
            stops: vec![],
            route: waiting.clone(),
            condition: ("False", STARTING),
        },
        Case {
            situation: "a run that lived long enough starts the count afresh",
            previewing: Some(CRASH_LOOP),
            runs: vec![
                ended("v1", 1, 0, 5, 1),
                ended("v1", 2, 10, 15, 1),
                ended("v1", 3, 20, 200, 1),
            ],
            now: 202,
            launches: vec![4],
            stops: vec![],
            route: waiting.clone(),
            condition: ("False", STARTING),
        },
        Case {
            situation: "a run that never answered within the start timeout is stopped",
            previewing: Some(STARTING),
            runs: vec![running("v1", 1, 0, false)],
            now: 300,
            launches: vec![],
            stops: vec![1],
            route: waiting.clone(),
            condition: ("False", CRASH_LOOP),
        },
        Case {
            situation: "a run stopped on purpose (idle) starts again at once",
            previewing: Some(IDLE),
            runs: vec![ended("v1", 1, 0, 10, 0)],
            now: 11,
            launches: vec![2],
            stops: vec![],
            route: waiting.clone(),
            condition: ("False", STARTING),
        },
        Case {
            situation: "a run that could not start at all is retried like a crash",
            previewing: Some(STARTING),
            runs: vec![Run {
                observation: TaskObservation {
                    state: TaskState::FailedToStart {
                        reason: "program not found".into(),
                    },
                    started_at: Some(at(10)),
                    finished_at: Some(at(10)),
                },
                ..ended("v1", 1, 10, 10, 0)
            }],
            now: 11,
            launches: vec![],
            stops: vec![],
            route: waiting,
            condition: ("False", CRASH_LOOP),
        },
    ];
    for case in cases {
        let world = World::of(vec![version("v1", "todo", 0, case.previewing)], case.runs);
        let plan = world.plan(case.now, 10);
        let what = case.situation;
        assert_eq!(
            launched(&plan),
            case.launches
                .iter()
                .map(|run| ("v1".to_owned(), *run))
                .collect::<Vec<_>>(),
            "{what}"
        );
        assert_eq!(
            plan.stops,
            case.stops.iter().map(|run| key("v1", *run)).collect::<Vec<_>>(),
            "{what}"
        );
        match case.route {
            Some(route) => assert_eq!(plan.routes.get(TODO), Some(&route), "{what}"),
            None => assert!(is_waiting(plan.routes.get(TODO)), "{what}: {:?}", plan.routes),
        }
        let (status, reason) = case.condition;
        let expected = Some((status.to_owned(), reason.to_owned(), Some(URL.to_owned())));
        assert_eq!(previewing_of(&plan, "v1"), expected, "{what}");
    }
}

#[test]
fn the_back_off_message_and_the_time_to_look_again_stay_the_same_while_waiting() {
    let world = World::of(
        vec![version("v1", "todo", 0, Some(RUNNING))],
        vec![ended("v1", 1, 0, 99, 137)],
    );
    let plan = world.plan(100, 10);
    assert_eq!(plan.requeue, Duration::from_secs(1));
    let message = &plan.statuses[0].status.conditions[0].message;
    assert_eq!(
        message,
        "run 1 exited with code 137; run 2 starts after a 2s back-off"
    );
    let later = world.written(&plan).plan(100, 10);
    assert!(
        later.statuses.is_empty(),
        "a status already planned is not written again"
    );
    assert_eq!(later.requeue, Duration::from_secs(1));
}

#[test]
fn a_newer_version_takes_over_the_address_only_once_it_answers() {
    let v1 = version("v1", "todo", 0, Some(RUNNING));
    let v2 = version("v2", "todo", 100, None);

    // v2 is delivered: it starts, and v1 keeps serving.
    let world = World::of(vec![v1.clone(), v2.clone()], vec![running("v1", 1, 20, true)]);
    let plan = world.plan(121, 10);
    assert_eq!(launched(&plan), [("v2".to_owned(), 1)]);
    assert!(plan.stops.is_empty());
    assert_eq!(plan.routes.get(TODO), ready(4001).as_ref());
    assert_eq!(
        previewing_of(&plan, "v1"),
        Some(("True".into(), RUNNING.into(), Some(URL.into())))
    );
    assert_eq!(
        previewing_of(&plan, "v2"),
        Some(("False".into(), STARTING.into(), Some(URL.into())))
    );

    // v2 runs but has not answered: still v1.
    let v2_run = Run {
        port: Some(4100),
        ..running("v2", 1, 121, false)
    };
    let world = World::of(
        vec![v1.clone(), v2.clone()],
        vec![running("v1", 1, 20, true), v2_run.clone()],
    );
    let plan = world.plan(124, 10);
    assert!(plan.stops.is_empty() && plan.launches.is_empty());
    assert_eq!(plan.routes.get(TODO), ready(4001).as_ref());

    // v2 answers: the address moves, then v1 stops and says so.
    let world = World::of(
        vec![v1, v2],
        vec![
            running("v1", 1, 20, true),
            Run {
                answered: true,
                ..v2_run
            },
        ],
    );
    let plan = world.plan(126, 10);
    assert_eq!(plan.routes.get(TODO), ready(4100).as_ref());
    assert_eq!(plan.stops, [key("v1", 1)]);
    assert_eq!(
        previewing_of(&plan, "v1"),
        Some(("False".into(), SUPERSEDED.into(), None))
    );
    assert_eq!(
        previewing_of(&plan, "v2"),
        Some(("True".into(), RUNNING.into(), Some(URL.into())))
    );
}

#[test]
fn a_newer_generation_that_is_not_delivered_takes_nothing_over() {
    let mut failed = version("v2", "todo", 100, None).as_ref().clone();
    failed.status.get_or_insert_default().phase = Some(Phase::Failed);
    let world = World::of(
        vec![version("v1", "todo", 0, Some(RUNNING))],
        vec![running("v1", 1, 20, true)],
    );
    let first = world.plan(100, 10);
    let mut world = world.written(&first);
    world.generations.push(Arc::new(failed));
    let plan = world.plan(200, 10);
    assert!(plan.launches.is_empty() && plan.stops.is_empty() && plan.statuses.is_empty());
    assert_eq!(plan.routes.get(TODO), ready(4001).as_ref());
}

#[test]
fn deleting_every_version_of_an_app_stops_its_run_and_its_address() {
    let world = World::of(vec![], vec![running("v1", 1, 20, true), ended("v0", 3, 0, 10, 0)]);
    let plan = world.plan(200, 10);
    assert_eq!(plan.stops, [key("v1", 1)], "only what still runs is stopped");
    assert!(plan.routes.is_empty());
}

#[test]
fn a_generation_being_deleted_is_no_longer_a_version() {
    let mut going = version("v2", "todo", 100, Some(RUNNING)).as_ref().clone();
    going.metadata.deletion_timestamp = Some(time(150));
    let world = World::of(
        vec![version("v1", "todo", 0, Some(SUPERSEDED)), Arc::new(going)],
        vec![running("v2", 1, 120, true)],
    );
    let plan = world.plan(151, 10);
    assert_eq!(plan.stops, [key("v2", 1)]);
    assert_eq!(
        launched(&plan),
        [("v1".to_owned(), 1)],
        "the older version comes back"
    );
}

#[test]
fn over_the_cap_the_least_recently_used_app_is_stopped_and_a_visit_brings_it_back() {
    let apps = || {
        vec![
            version("a", "alpha", 0, Some(RUNNING)),
            version("b", "beta", 10, Some(RUNNING)),
            version("c", "gamma", 20, Some(RUNNING)),
        ]
    };
    let mut world = World::of(
        apps(),
        vec![
            running("a", 1, 30, true),
            running("b", 1, 31, true),
            running("c", 1, 32, true),
        ],
    );
    world.visits.insert("alpha--default".into(), at(50));
    world.visits.insert("beta--default".into(), at(40));
    let plan = world.plan(60, 2);
    assert_eq!(plan.stops, [key("c", 1)], "gamma was used least recently");
    assert_eq!(
        previewing_of(&plan, "c"),
        Some((
            "False".into(),
            IDLE.into(),
            Some("http://gamma--default.localhost:8080/".into())
        ))
    );
    assert!(is_waiting(plan.routes.get("gamma--default")));
    assert!(plan.launches.is_empty());

    // Gamma is stopped; a visit to it makes it the most recent: it starts and beta goes.
    let mut generations = apps();
    generations[2] = version("c", "gamma", 20, Some(IDLE));
    let mut world = World::of(
        generations,
        vec![
            running("a", 1, 30, true),
            running("b", 1, 31, true),
            ended("c", 1, 32, 61, 0),
        ],
    );
    world.visits.insert("alpha--default".into(), at(50));
    world.visits.insert("beta--default".into(), at(40));
    world.visits.insert("gamma--default".into(), at(70));
    let plan = world.plan(70, 2);
    assert_eq!(
        launched(&plan),
        [("c".to_owned(), 2)],
        "no back-off after an idle stop"
    );
    assert_eq!(plan.stops, [key("b", 1)]);
}

#[test]
fn two_apps_whose_names_join_to_one_address_cannot_share_it() {
    let mut other = version("x", "a--b", 0, None).as_ref().clone();
    other.metadata.namespace = Some("c".into());
    let mut first = version("y", "a", 10, None).as_ref().clone();
    first.metadata.namespace = Some("b--c".into());
    let world = World::of(vec![Arc::new(other), Arc::new(first)], vec![]);
    let plan = world.plan(100, 10);
    assert_eq!(launched(&plan), [("x".to_owned(), 1)]);
    let (status, reason, url) = previewing_of(&plan, "y").unwrap_or_default();
    assert_eq!(
        (status.as_str(), reason.as_str(), url),
        ("False", ADDRESS_TAKEN, None)
    );
}

#[test]
fn generations_delivered_elsewhere_are_not_previewed() {
    let mut fly = version("f", "todo", 0, None).as_ref().clone();
    fly.spec.delivery = Some(DeliverySpec {
        deploy: Some(DeploySpec {
            target: DeployTarget::Fly,
        }),
        ..DeliverySpec::default()
    });
    let world = World::of(vec![Arc::new(fly)], vec![]);
    let plan = world.plan(100, 10);
    assert!(plan.launches.is_empty() && plan.statuses.is_empty() && plan.routes.is_empty());
}

#[test]
fn prepared_versions_go_once_no_app_runs_them() {
    let mut world = World::of(
        vec![
            version("v1", "todo", 0, Some(SUPERSEDED)),
            version("v2", "todo", 100, Some(RUNNING)),
        ],
        vec![running("v2", 1, 120, true), running("gone", 1, 0, true)],
    );
    world.prepared = vec!["v1".into(), "v2".into(), "gone".into(), "deleted".into()];
    let plan = world.plan(200, 10);
    assert_eq!(
        plan.discards,
        ["v1", "deleted"],
        "the newest version stays, and so does one still running until it is stopped"
    );
}

#[test]
fn the_executor_looks_again_soon_while_a_preview_starts_and_seldom_otherwise() {
    let starting = World::of(
        vec![version("v1", "todo", 0, Some(STARTING))],
        vec![running("v1", 1, 95, false)],
    );
    assert_eq!(starting.plan(100, 10).requeue, Duration::from_millis(500));
    let serving = World::of(
        vec![version("v1", "todo", 0, Some(RUNNING))],
        vec![running("v1", 1, 95, true)],
    );
    let plan = serving.plan(100, 10);
    assert_eq!(plan.requeue, Duration::from_secs(2));
    let again = serving.written(&plan).plan(101, 10);
    assert!(again.statuses.is_empty(), "nothing new, nothing written");
}

#[test]
fn a_restarted_run_says_how_the_one_before_it_ended_for_as_long_as_it_starts() {
    let message = |plan: &Plan| plan.statuses[0].status.conditions[0].message.clone();
    let crashed = World::of(
        vec![version("v1", "todo", 0, Some(RUNNING))],
        vec![ended("v1", 1, 0, 99, 1)],
    );
    let relaunch = crashed.plan(101, 10);
    assert_eq!(launched(&relaunch), [("v1".to_owned(), 2)]);
    assert_eq!(message(&relaunch), "run 2 is starting (run 1 exited with code 1)");
    let starting = World::of(
        vec![version("v1", "todo", 0, Some(RUNNING))],
        vec![ended("v1", 1, 0, 99, 1), running("v1", 2, 101, false)],
    );
    assert_eq!(message(&starting.plan(102, 10)), message(&relaunch));
}
