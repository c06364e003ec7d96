//! The planner's transitions, each a situation and what must follow from it.

use std::time::Duration;

use appgen_crd::{Generation, Phase};

use super::*;
use crate::backend::{TaskObservation, TaskState};
use crate::fixtures::*;

fn policy() -> Policy {
    Policy {
        backoff_base: Duration::from_secs(10),
        ..Policy::default()
    }
}

fn plan_at(
    g: &Generation,
    task: Option<&TaskObservation>,
    result: Option<&TaskResult>,
    slot: Slot,
    now: i64,
) -> Plan {
    let observed = Observed {
        task,
        result,
        step: None,
        slot,
        parent_refused: None,
    };
    plan(g, &observed, at(now), &policy())
}

fn condition<'a>(plan: &'a Plan, type_: &str) -> (&'a str, &'a str) {
    let c = plan
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition"));
    (c.status.as_str(), c.reason.as_str())
}

#[test]
fn a_new_generation_with_a_free_slot_records_the_launch_intent_before_anything_else() {
    let p = plan_at(&generation(), None, None, Slot::Granted, 0);
    assert_eq!(
        p.action,
        Action::None,
        "the intent is stored first; the launch comes on the next pass"
    );
    assert_eq!(p.requeue, Some(Duration::ZERO));
    assert_eq!(p.status.phase, Some(Phase::Pending));
    assert_eq!(p.status.attempts, vec![intent(1)]);
    assert_eq!(condition(&p, "Accepted"), ("True", "Accepted"));
    assert_eq!(condition(&p, "Launched"), ("Unknown", "Launching"));
    assert_eq!(p.status.observed_generation, Some(1));
}

#[test]
fn a_recorded_intent_whose_task_does_not_exist_yet_is_launched() {
    let g = generation().with_status(|s| s.attempts = vec![intent(1)]);
    let p = plan_at(&g, Some(&TaskObservation::missing()), None, Slot::Granted, 1);
    assert_eq!(
        p.action,
        Action::Launch {
            attempt: 1,
            redelivery: None
        }
    );
}

#[test]
fn over_the_concurrency_cap_a_generation_waits_in_the_queue_and_says_where() {
    let p = plan_at(&generation(), None, None, Slot::Queued { position: 3 }, 0);
    assert_eq!(p.action, Action::None);
    assert!(p.status.attempts.is_empty());
    assert_eq!(p.status.phase, Some(Phase::Pending));
    assert_eq!(condition(&p, "Launched"), ("False", "Queued"));
    assert!(
        p.status
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("position 3")
    );
    assert_eq!(p.requeue, Some(policy().queue_poll));
}

#[test]
fn a_launched_task_that_runs_makes_the_generation_running_with_its_step() {
    let g = generation().with_status(|s| s.attempts = vec![intent(1)]);
    let task = task_running(5);
    let observed = Observed {
        task: Some(&task),
        result: None,
        step: Some("agent"),
        slot: Slot::Granted,
        parent_refused: None,
    };
    let p = plan(&g, &observed, at(6), &policy());
    assert_eq!(p.status.phase, Some(Phase::Running));
    assert_eq!(p.status.step.as_deref(), Some("agent"));
    assert_eq!(p.status.start_time, Some(time(5)));
    assert_eq!(p.status.attempts[0].start_time, Some(time(5)));
    assert_eq!(condition(&p, "Launched"), ("True", "Running"));
    assert_eq!(
        p.requeue,
        Some(policy().first_look),
        "a young task is looked at again soon"
    );
}

#[test]
fn an_older_task_is_looked_at_less_often_up_to_the_poll_interval() {
    let g = generation().with_status(|s| running_since(s, vec![started(1, 0)], 0));
    let young = plan_at(&g, Some(&task_running(0)), None, Slot::Granted, 2);
    let older = plan_at(&g, Some(&task_running(0)), None, Slot::Granted, 4);
    let old = plan_at(&g, Some(&task_running(0)), None, Slot::Granted, 300);
    assert_eq!(young.requeue, Some(Duration::from_millis(500)));
    assert_eq!(older.requeue, Some(Duration::from_secs(1)));
    assert_eq!(old.requeue, Some(policy().poll));
}

#[test]
fn looking_at_a_running_task_again_changes_nothing_so_nothing_is_written() {
    let g = generation().with_status(|s| s.attempts = vec![intent(1)]);
    let task = task_running(5);
    let first = plan_at(&g, Some(&task), None, Slot::Granted, 6);
    let g = g.with_status(|s| *s = first.status.clone());
    let again = plan_at(&g, Some(&task), None, Slot::Granted, 60);
    assert_eq!(
        again.status, first.status,
        "lastTransitionTime and every other field stay as they were"
    );
    assert_eq!(again.action, Action::None);
}

#[test]
fn a_task_that_exits_0_with_a_delivered_result_delivers_the_generation() {
    let g = generation().with_status(|s| running_since(s, vec![started(1, 5)], 5));
    let p = plan_at(
        &g,
        Some(&task_exited(0, 100)),
        Some(&delivered_result()),
        Slot::Granted,
        101,
    );
    assert_eq!(p.status.phase, Some(Phase::Delivered));
    assert_eq!(p.status.outputs, delivered_result().outputs);
    assert_eq!(p.status.completion_time, Some(time(101)));
    assert_eq!(p.status.attempts[0].exit_code, Some(0));
    assert_eq!(p.status.attempts[0].finish_time, Some(time(100)));
    assert_eq!(condition(&p, "Delivered"), ("True", "Delivered"));
    assert_eq!(condition(&p, "Verified"), ("True", "GatesPassed"));
    assert_eq!(condition(&p, "Generated"), ("True", "Generated"));
    assert_eq!(p.requeue, None);
}

#[test]
fn a_delivered_archive_is_published_at_the_download_address_when_there_is_one() {
    let g = generation().with_status(|s| running_since(s, vec![started(1, 5)], 5));
    let policy = Policy {
        archive_url: Some("http://127.0.0.1:8080/api/v1/generations/{namespace}/{name}/archive".into()),
        ..policy()
    };
    let observed = Observed {
        task: Some(&task_exited(0, 100)),
        result: Some(&delivered_result()),
        step: None,
        slot: Slot::Granted,
        parent_refused: None,
    };
    let p = plan(&g, &observed, at(101), &policy);
    let outputs = p.status.outputs.expect("outputs");
    assert_eq!(
        outputs.archive_url.as_deref(),
        Some("http://127.0.0.1:8080/api/v1/generations/default/todo/archive")
    );
    assert_eq!(outputs.sha256, delivered_result().outputs.and_then(|o| o.sha256));
}

#[test]
fn a_result_that_says_delivered_does_not_count_when_the_exit_code_is_not_0() {
    let g = generation().with_status(|s| running_since(s, vec![started(1, 5)], 5));
    let p = plan_at(
        &g,
        Some(&task_exited(2, 100)),
        Some(&delivered_result()),
        Slot::Granted,
        101,
    );
    assert_ne!(p.status.phase, Some(Phase::Delivered));
    assert_eq!(p.status.attempts[0].reason.as_deref(), Some("GeneratorFailed"));
    assert_eq!(p.status.attempts[0].exit_code, Some(2));
}

#[test]
fn a_task_that_ends_without_a_result_fails_its_attempt_and_waits_out_a_backoff_before_retrying() {
    let g = generation().with_status(|s| running_since(s, vec![started(1, 5)], 5));
    let p = plan_at(&g, Some(&task_exited(0, 100)), None, Slot::Granted, 100);
    assert_eq!(p.status.attempts[0].reason.as_deref(), Some("NoResult"));
    assert_eq!(p.status.phase, Some(Phase::Pending));
    assert_eq!(condition(&p, "Launched"), ("False", "Retrying"));
    let wait = p.requeue.unwrap_or_default();
    assert!(
        wait >= Duration::from_secs(10) && wait <= Duration::from_secs(20),
        "first backoff with jitter: {wait:?}"
    );
    assert_eq!(p.status.attempts.len(), 1, "no second attempt before the backoff");
}

#[test]
fn after_the_backoff_the_next_attempt_is_recorded_when_a_slot_is_free() {
    let g = generation().with_status(|s| {
        running_since(s, vec![ended(1, 100, "NoResult", Some(0))], 90);
        s.phase = Some(Phase::Pending);
    });
    let waiting = plan_at(&g, None, None, Slot::Granted, 105);
    assert_eq!(waiting.status.attempts.len(), 1);
    assert!(
        waiting
            .requeue
            .is_some_and(|d| d > Duration::ZERO && d <= Duration::from_secs(15))
    );
    let p = plan_at(&g, None, None, Slot::Granted, 200);
    assert_eq!(p.status.attempts.len(), 2);
    assert_eq!(p.status.attempts[1], intent(2));
}

#[test]
fn the_backoff_doubles_with_each_spent_retry_and_is_the_same_every_time_it_is_computed() {
    let after = |attempts: Vec<Attempt>| {
        let g = generation().with_spec(|s| s.retries = Some(5)).with_status(|s| {
            running_since(s, attempts, 900);
            s.phase = Some(Phase::Pending);
        });
        plan_at(&g, None, None, Slot::Granted, 1000)
            .requeue
            .unwrap_or_default()
    };
    let first = after(vec![ended(1, 1000, "NoResult", Some(0))]);
    let second = after(vec![
        ended(1, 900, "NoResult", Some(0)),
        ended(2, 1000, "NoResult", Some(0)),
    ]);
    assert!(
        first >= Duration::from_secs(10) && first <= Duration::from_secs(20),
        "{first:?}"
    );
    assert!(
        second >= Duration::from_secs(20) && second <= Duration::from_secs(40),
        "{second:?}"
    );
    assert_eq!(
        first,
        after(vec![ended(1, 1000, "NoResult", Some(0))]),
        "jitter is seeded by the uid"
    );
}

#[test]
fn when_retries_are_spent_the_generation_fails_with_the_last_reason() {
    let g = generation().with_status(|s| {
        running_since(s, vec![ended(1, 50, "GateFailed", Some(1)), started(2, 80)], 40);
    });
    let result = failed_result("verify/build", "tsc found 3 errors");
    let p = plan_at(&g, Some(&task_exited(1, 100)), Some(&result), Slot::Granted, 101);
    assert_eq!(p.status.phase, Some(Phase::Failed));
    assert_eq!(condition(&p, "Delivered"), ("False", "GateFailed"));
    assert_eq!(condition(&p, "Verified"), ("False", "GateFailed"));
    let message = p.status.message.unwrap_or_default();
    assert!(
        message.contains("verify/build") && message.contains("no retries left"),
        "{message}"
    );
}

#[test]
fn the_reason_a_task_gives_names_the_failure_when_it_is_a_valid_reason() {
    let g = generation()
        .with_spec(|s| s.retries = Some(0))
        .with_status(|s| running_since(s, vec![started(1, 5)], 5));
    let mut result = failed_result("agent", "the build failed the same way after a repair");
    for (given, expected) in [
        (Some("RepairLoop"), "RepairLoop"),
        (Some("not a reason!"), "GeneratorFailed"),
        (None, "GeneratorFailed"),
    ] {
        if let Some(error) = result.error.as_mut() {
            error.reason = given.map(str::to_owned);
        }
        let p = plan_at(&g, Some(&task_exited(1, 100)), Some(&result), Slot::Granted, 101);
        assert_eq!(p.status.phase, Some(Phase::Failed));
        assert_eq!(condition(&p, "Delivered"), ("False", expected), "{given:?}");
    }
}

#[test]
fn a_failed_delivery_step_keeps_the_app_generated_verified_and_its_outputs_published() {
    let g = generation()
        .with_spec(|s| s.retries = Some(3))
        .with_status(|s| running_since(s, vec![started(1, 5)], 5));
    let mut result = failed_result("deliver/git", "the remote rejected the push to main");
    if let Some(error) = result.error.as_mut() {
        error.reason = Some("PushRejected".into());
    }
    result.outputs = Some(Outputs {
        archive_url: Some("file:///store/app.tar.gz".into()),
        sha256: Some("ab".into()),
        ..Outputs::default()
    });
    let p = plan_at(&g, Some(&task_exited(1, 100)), Some(&result), Slot::Granted, 101);
    assert_eq!(p.status.phase, Some(Phase::Failed));
    assert_eq!(condition(&p, "Delivered"), ("False", "PushRejected"));
    assert_eq!(condition(&p, "Generated"), ("True", "Generated"));
    assert_eq!(condition(&p, "Verified"), ("True", "GatesPassed"));
    let outputs = p.status.outputs.clone().unwrap();
    assert_eq!(outputs.sha256.as_deref(), Some("ab"));
    assert!(outputs.archive_url.is_some());
    // Retries are left, but spending one would regenerate an app that was made and checked.
    assert_eq!(p.status.attempts.len(), 1, "no new attempt");
    assert_eq!(p.requeue, None);
    let message = p.status.message.unwrap();
    assert!(
        message.contains("rejected the push") && message.contains("appgen retry --delivery todo"),
        "{message}"
    );
}

#[test]
fn a_task_that_cannot_start_does_not_spend_a_retry() {
    let g = generation()
        .with_spec(|s| s.retries = Some(0))
        .with_status(|s| s.attempts = vec![intent(1)]);
    let task = observed(
        TaskState::FailedToStart {
            reason: "no capacity".into(),
        },
        None,
        Some(3),
    );
    let p = plan_at(&g, Some(&task), None, Slot::Granted, 3);
    assert_eq!(p.status.attempts[0].reason.as_deref(), Some(TASK_FAILED_TO_START));
    assert_eq!(
        p.status.phase,
        Some(Phase::Pending),
        "retried although spec.retries is 0"
    );
}

#[test]
fn too_many_infrastructure_failures_in_a_row_fail_the_generation() {
    let failures: Vec<_> = (1..=6)
        .map(|n| ended(n, n as i64 * 100, TASK_FAILED_TO_START, None))
        .collect();
    let g = generation().with_status(|s| {
        s.attempts = failures[..5].to_vec();
        s.attempts.push(intent(6));
    });
    let task = observed(
        TaskState::FailedToStart {
            reason: "image missing".into(),
        },
        None,
        Some(600),
    );
    let p = plan_at(&g, Some(&task), None, Slot::Granted, 600);
    assert_eq!(p.status.phase, Some(Phase::Failed));
    assert_eq!(condition(&p, "Delivered"), ("False", "InfrastructureUnavailable"));
}

#[test]
fn a_launched_task_that_vanished_is_lost_and_retried_without_spending() {
    let g = generation()
        .with_spec(|s| s.retries = Some(0))
        .with_status(|s| running_since(s, vec![started(1, 5)], 5));
    let p = plan_at(&g, Some(&TaskObservation::missing()), None, Slot::Granted, 50);
    assert_eq!(p.status.attempts[0].reason.as_deref(), Some(TASK_LOST));
    assert_eq!(p.status.phase, Some(Phase::Pending));
    assert_eq!(
        p.action,
        Action::None,
        "a lost task is not launched again under the same key"
    );
}

#[test]
fn past_the_deadline_a_running_task_is_stopped_and_the_generation_fails() {
    let g = generation().with_status(|s| running_since(s, vec![started(1, 0)], 0));
    let p = plan_at(&g, Some(&task_running(0)), None, Slot::Granted, 601);
    assert_eq!(p.status.phase, Some(Phase::Failed));
    assert_eq!(p.action, Action::Stop { key: task_key(&g, 1) });
    assert_eq!(condition(&p, "Delivered"), ("False", DEADLINE_EXCEEDED));
    assert_eq!(p.status.attempts[0].reason.as_deref(), Some(DEADLINE_EXCEEDED));
}

#[test]
fn a_task_still_running_after_the_deadline_failed_it_is_stopped_again() {
    let g = generation().with_status(|s| {
        running_since(s, vec![ended(1, 601, DEADLINE_EXCEEDED, None)], 0);
        s.phase = Some(Phase::Failed);
    });
    let p = plan_at(&g, Some(&task_running(0)), None, Slot::Granted, 610);
    assert_eq!(p.action, Action::Stop { key: task_key(&g, 1) });
    assert_eq!(
        p.status,
        g.status.clone().unwrap_or_default(),
        "the outcome stays as decided"
    );
    let stopped = plan_at(&g, Some(&task_exited(143, 611)), None, Slot::Granted, 612);
    assert_eq!(stopped.action, Action::None);
}

#[test]
fn cancelling_a_running_generation_stops_its_task_and_ends_cancelled() {
    let g = generation()
        .with_spec(|s| s.cancel = Some(true))
        .with_generation(2)
        .with_status(|s| running_since(s, vec![started(1, 5)], 5));
    let p = plan_at(&g, Some(&task_running(5)), None, Slot::Granted, 30);
    assert_eq!(p.status.phase, Some(Phase::Cancelled));
    assert_eq!(p.action, Action::Stop { key: task_key(&g, 1) });
    assert_eq!(
        condition(&p, "Accepted").0,
        "True",
        "cancel is the one spec change that is honoured"
    );
}

#[test]
fn cancelling_during_a_backoff_ends_cancelled_without_a_task_to_stop() {
    let g = generation()
        .with_spec(|s| s.cancel = Some(true))
        .with_status(|s| running_since(s, vec![ended(1, 100, "NoResult", Some(0))], 90));
    let p = plan_at(&g, None, None, Slot::Granted, 101);
    assert_eq!(p.status.phase, Some(Phase::Cancelled));
    assert_eq!(p.action, Action::None);
    assert_eq!(p.status.attempts.len(), 1);
}

#[test]
fn cancelling_a_queued_generation_ends_it_at_once() {
    let g = generation().with_spec(|s| s.cancel = Some(true));
    let p = plan_at(&g, None, None, Slot::Queued { position: 7 }, 1);
    assert_eq!(p.status.phase, Some(Phase::Cancelled));
    assert!(p.status.attempts.is_empty());
}

#[test]
fn a_spec_changed_while_running_keeps_the_attempt_going_and_says_the_change_is_not_applied() {
    let g = generation()
        .with_generation(2)
        .with_spec(|s| s.prompt = "A different app".into())
        .with_status(|s| running_since(s, vec![started(1, 5)], 5));
    let p = plan_at(&g, Some(&task_running(5)), None, Slot::Granted, 30);
    assert_eq!(p.status.phase, Some(Phase::Running));
    assert_eq!(p.action, Action::None);
    assert_eq!(condition(&p, "Accepted"), ("False", "SpecChangedAfterLaunch"));
}

#[test]
fn a_queued_generation_takes_spec_changes_before_it_launches() {
    let g = generation().with_generation(3);
    let p = plan_at(&g, None, None, Slot::Granted, 1);
    assert_eq!(p.status.observed_generation, Some(3));
    assert_eq!(condition(&p, "Accepted"), ("True", "Accepted"));
}

#[test]
fn a_finished_generation_is_deleted_once_its_ttl_has_passed() {
    let g = generation()
        .with_spec(|s| s.ttl_seconds_after_finished = Some(60))
        .with_status(|s| {
            s.phase = Some(Phase::Delivered);
            s.completion_time = Some(time(100));
        });
    assert_eq!(
        plan_at(&g, None, None, Slot::Granted, 130).requeue,
        Some(Duration::from_secs(30))
    );
    assert_eq!(plan_at(&g, None, None, Slot::Granted, 160).action, Action::Delete);
}

#[test]
fn a_finished_generation_without_a_ttl_needs_nothing_more() {
    let g = generation().with_status(|s| {
        s.phase = Some(Phase::Failed);
        s.completion_time = Some(time(100));
    });
    let p = plan_at(&g, None, None, Slot::Granted, 10_000);
    assert_eq!((p.action, p.requeue), (Action::None, None));
    assert_eq!(Some(p.status), g.status);
}

#[test]
fn slots_are_held_from_the_recorded_intent_until_the_attempt_ends() {
    let queued = generation();
    assert!(!holds_slot(queued.status.as_ref()));
    assert!(wants_slot(&queued, at(0), &policy()));
    let launching = generation().with_status(|s| s.attempts = vec![intent(1)]);
    assert!(holds_slot(launching.status.as_ref()));
    assert!(!wants_slot(&launching, at(0), &policy()));
    let backing_off = generation().with_status(|s| s.attempts = vec![ended(1, 100, "NoResult", Some(0))]);
    assert!(!holds_slot(backing_off.status.as_ref()));
    assert!(
        !wants_slot(&backing_off, at(101), &policy()),
        "not during the backoff"
    );
    assert!(wants_slot(&backing_off, at(1000), &policy()));
}

#[test]
fn a_follow_up_whose_parent_cannot_be_continued_fails_before_any_attempt() {
    let parent = |app: &str, phase| {
        generation()
            .with_spec(|s| s.app = Some(app.into()))
            .with_status(|s| s.phase = Some(phase))
    };
    let child = generation().with_spec(|s| s.parent = Some("todo-v1".into()));
    assert_eq!(
        parent_refusal(&generation(), None),
        None,
        "no parent, nothing to refuse"
    );
    assert_eq!(
        parent_refusal(&child, Some(&parent("todo", Phase::Delivered))),
        None
    );
    for (found, says) in [
        (None, "does not exist"),
        (Some(parent("todo", Phase::Failed)), "is not Delivered"),
        (Some(parent("crm", Phase::Delivered)), "not \"todo\""),
    ] {
        let why = parent_refusal(&child, found.as_ref()).expect("refused");
        assert!(why.contains(says), "{why}");
        let observed = Observed {
            task: None,
            result: None,
            step: None,
            slot: Slot::Granted,
            parent_refused: Some(&why),
        };
        let p = plan(&child, &observed, at(0), &policy());
        assert_eq!(p.status.phase, Some(Phase::Failed));
        assert_eq!(condition(&p, "Delivered"), ("False", INVALID_PARENT));
        assert_eq!(p.action, Action::None);
        assert!(p.status.attempts.is_empty(), "nothing was launched");
    }
}

/// A Generation whose push was rejected: the archive was made and published, the attempt ended.
fn failed_delivery(redeliver: Option<i64>) -> Generation {
    generation()
        .with_spec(|s| s.redeliver = redeliver)
        .with_status(|s| {
            running_since(s, vec![ended(1, 100, "PushRejected", Some(1))], 5);
            s.phase = Some(Phase::Failed);
            s.completion_time = Some(time(101));
            s.usage = Some(appgen_crd::Usage {
                turns: 7,
                ..appgen_crd::Usage::default()
            });
            s.outputs = Some(Outputs {
                archive_url: Some("http://127.0.0.1:8080/archive".into()),
                sha256: Some("ab".repeat(32)),
                size: Some(12_345),
                ..Outputs::default()
            });
        })
}

#[test]
fn raising_spec_redeliver_records_a_deliver_only_attempt_for_the_stored_archive() {
    for phase in [Phase::Failed, Phase::Delivered] {
        let g = failed_delivery(Some(1))
            .with_status(|s| s.phase = Some(phase))
            .with_generation(2);
        let p = plan_at(&g, None, None, Slot::Granted, 200);
        assert_eq!(p.action, Action::None, "the intent is stored first");
        assert_eq!(p.requeue, Some(Duration::ZERO));
        assert_eq!(p.status.phase, Some(Phase::Pending), "{phase:?}");
        assert_eq!(p.status.completion_time, None);
        assert_eq!(p.status.observed_redeliver, Some(1));
        assert_eq!(
            p.status.observed_generation,
            Some(2),
            "spec.delivery is taken as it is now"
        );
        assert_eq!(
            p.status.attempts.last(),
            Some(&Attempt {
                redelivery: true,
                ..intent(2)
            })
        );
        assert_eq!(condition(&p, "Delivered"), ("Unknown", REDELIVERING));
        assert!(holds_slot(Some(&p.status)));
    }
}

#[test]
fn a_recorded_redelivery_is_launched_as_a_deliver_only_task_with_the_archive_it_must_find() {
    let g = failed_delivery(Some(1)).with_status(|s| {
        s.phase = Some(Phase::Pending);
        s.observed_redeliver = Some(1);
        if let Some(o) = s.outputs.as_mut() {
            o.commit = Some("c0ffee".into());
        }
        s.attempts.push(Attempt {
            redelivery: true,
            ..intent(2)
        });
    });
    let p = plan_at(&g, Some(&TaskObservation::missing()), None, Slot::Granted, 201);
    assert_eq!(
        p.action,
        Action::Launch {
            attempt: 2,
            redelivery: Some(Redelivery {
                sha256: "ab".repeat(32),
                commit: Some("c0ffee".into()),
            }),
        }
    );
}

/// `failed_delivery` with its redelivery attempt 2 running since 205.
fn redelivering() -> Generation {
    failed_delivery(Some(1)).with_status(|s| {
        s.phase = Some(Phase::Running);
        s.completion_time = None;
        s.observed_redeliver = Some(1);
        s.attempts.push(Attempt {
            redelivery: true,
            ..started(2, 205)
        });
    })
}

#[test]
fn a_redelivery_that_pushes_delivers_the_generation_and_keeps_the_usage_of_the_run_that_made_it() {
    let mut result = delivered_result();
    if let Some(o) = result.outputs.as_mut() {
        o.repository_url = Some("http://git.test/todo.git".into());
        o.commit = Some("c0ffee".into());
    }
    result.usage = Some(appgen_crd::Usage::default());
    let p = plan_at(
        &redelivering(),
        Some(&task_exited(0, 230)),
        Some(&result),
        Slot::Granted,
        231,
    );
    assert_eq!(p.status.phase, Some(Phase::Delivered));
    assert_eq!(condition(&p, "Delivered"), ("True", "Delivered"));
    let outputs = p.status.outputs.clone().unwrap();
    assert_eq!(outputs.commit.as_deref(), Some("c0ffee"));
    assert_eq!(
        outputs.repository_url.as_deref(),
        Some("http://git.test/todo.git")
    );
    assert_eq!(p.status.usage.unwrap().turns, 7);
    assert_eq!(p.status.attempts[1].reason.as_deref(), Some(DELIVERED));
    assert_eq!(p.status.completion_time, Some(time(231)));
}

#[test]
fn a_redelivery_that_fails_again_fails_the_generation_and_never_regenerates() {
    let mut rejected = failed_result("deliver/git", "the remote rejected the push to main");
    if let Some(e) = rejected.error.as_mut() {
        e.reason = Some("PushRejected".into());
    }
    rejected.outputs = failed_delivery(None).status.and_then(|s| s.outputs);
    let table: [(Option<&TaskResult>, &str); 2] = [(Some(&rejected), "PushRejected"), (None, "NoResult")];
    for (result, reason) in table {
        let g = redelivering().with_spec(|s| s.retries = Some(5));
        let p = plan_at(&g, Some(&task_exited(1, 230)), result, Slot::Granted, 231);
        assert_eq!(p.status.phase, Some(Phase::Failed), "{reason}");
        assert_eq!(condition(&p, "Delivered"), ("False", reason));
        assert_eq!(
            p.status.attempts.len(),
            2,
            "no attempt after a redelivery: {reason}"
        );
        assert_eq!(p.requeue, None);
        assert!(
            p.status.outputs.unwrap().archive_url.is_some(),
            "the archive stays published"
        );
    }
}

#[test]
fn a_redelivery_whose_task_could_not_start_is_tried_again_as_a_redelivery() {
    let could_not_start = observed(
        TaskState::FailedToStart {
            reason: "no such image".into(),
        },
        None,
        Some(206),
    );
    let p = plan_at(&redelivering(), Some(&could_not_start), None, Slot::Granted, 207);
    assert_eq!(p.status.phase, Some(Phase::Pending));
    let g = redelivering().with_status(|s| *s = p.status.clone());
    let next = plan_at(&g, None, None, Slot::Granted, 400);
    let last = next.status.attempts.last().unwrap();
    assert_eq!((last.number, last.redelivery), (3, true));
}

#[test]
fn a_redelivery_has_the_whole_timeout_from_its_own_start() {
    // The generation started at 5 with a 600s timeout; the redelivery started at 205.
    let p = plan_at(
        &redelivering(),
        Some(&task_running(205)),
        None,
        Slot::Granted,
        700,
    );
    assert_eq!(p.status.phase, Some(Phase::Running));
    let late = plan_at(
        &redelivering(),
        Some(&task_running(205)),
        None,
        Slot::Granted,
        806,
    );
    assert_eq!(late.status.phase, Some(Phase::Failed));
    assert_eq!(condition(&late, "Delivered"), ("False", DEADLINE_EXCEEDED));
}

#[test]
fn spec_redeliver_without_a_stored_archive_or_already_seen_launches_nothing() {
    let no_archive = failed_delivery(Some(1)).with_status(|s| s.outputs = None);
    let p = plan_at(&no_archive, None, None, Slot::Queued { position: 0 }, 200);
    assert_eq!(p.action, Action::None);
    assert_eq!(p.status.phase, Some(Phase::Failed));
    assert_eq!(p.status.observed_redeliver, Some(1));
    assert!(p.status.message.unwrap().contains("made no archive"));
    assert!(!wants_slot(&no_archive, at(200), &policy()));

    let seen = failed_delivery(Some(1)).with_status(|s| s.observed_redeliver = Some(1));
    let p = plan_at(&seen, None, None, Slot::Granted, 200);
    assert_eq!(p.status, seen.status.unwrap(), "nothing to do, nothing written");

    let queued = failed_delivery(Some(2));
    assert!(wants_slot(&queued, at(200), &policy()));
    let p = plan_at(&queued, None, None, Slot::Queued { position: 1 }, 200);
    assert_eq!(
        p.status,
        queued.status.unwrap(),
        "waits for a slot without changing"
    );
}

#[test]
fn a_generation_created_with_spec_redeliver_set_delivers_once() {
    let g = generation().with_spec(|s| s.redeliver = Some(3));
    let p = plan_at(&g, None, None, Slot::Granted, 0);
    assert_eq!(p.status.observed_redeliver, Some(3));
}

#[test]
fn a_follow_up_lands_on_its_parents_commit_only_where_the_parent_pushed() {
    let git = |repository: &str| {
        Some(appgen_crd::DeliverySpec {
            git: Some(appgen_crd::GitDelivery {
                repository: Some(repository.into()),
                branch: None,
            }),
            deploy: None,
        })
    };
    let parent = generation()
        .with_spec(|s| s.delivery = git("acme/todo"))
        .with_status(|s| {
            s.outputs = Some(Outputs {
                commit: Some("c0ffee".into()),
                ..Outputs::default()
            });
        });
    let child = |delivery| {
        generation().with_spec(|s| {
            s.parent = Some("todo".into());
            s.delivery = delivery;
        })
    };
    assert_eq!(
        parent_commit(&child(git("acme/todo")), Some(&parent)),
        Some("c0ffee".into())
    );
    assert_eq!(parent_commit(&child(git("acme/other")), Some(&parent)), None);
    assert_eq!(parent_commit(&child(None), Some(&parent)), None);
    assert_eq!(parent_commit(&child(git("acme/todo")), None), None);
}
