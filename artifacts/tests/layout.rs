//! The artifact paths of one Generation, exactly as DESIGN.md's "Artifact layout" gives them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use appgen_artifacts::{ArtifactError, Layout};

#[test]
fn every_path_follows_the_design_layout() {
    let layout = Layout::new("default", "todo", "0b6e5c1a-7f0e-4b7c-9d1e-2f3a4b5c6d7e").unwrap();
    let root = "generations/default/todo/0b6e5c1a-7f0e-4b7c-9d1e-2f3a4b5c6d7e/";
    assert_eq!(layout.prefix(), root);
    assert_eq!(layout.input(), format!("{root}input.json"));
    assert_eq!(layout.attempt_prefix(1), format!("{root}attempts/1/"));
    assert_eq!(layout.result(2), format!("{root}attempts/2/result.json"));
    assert_eq!(layout.events_prefix(3), format!("{root}attempts/3/"));
    assert_eq!(layout.archive(), format!("{root}app.tar.gz"));
    assert_eq!(layout.screenshots(), format!("{root}screenshots/"));
    assert_eq!(layout.session(), format!("{root}session/"));
    assert_eq!(layout.preview_input(4), format!("{root}preview/4/input.json"));
}

#[test]
fn names_with_dots_and_dashes_are_accepted() {
    let layout = Layout::new("team-a", "crm.v2", "uid-1").unwrap();
    assert_eq!(layout.prefix(), "generations/team-a/crm.v2/uid-1/");
}

#[test]
fn a_namespace_name_or_uid_that_could_leave_its_segment_is_refused() {
    let too_long = "a".repeat(254);
    let refused = [
        ("", "todo", "u"),
        ("default", "", "u"),
        ("default", "todo", ""),
        ("..", "todo", "u"),
        ("default", "..", "u"),
        ("default", "todo", ".."),
        ("default", "a..b", "u"),
        ("a/b", "todo", "u"),
        ("default", "../../etc", "u"),
        ("default", "todo", "u/../../x"),
        ("default", "-todo", "u"),
        ("default", "todo.", "u"),
        ("default", "to do", "u"),
        ("default", "to\\do", "u"),
        ("default", "to\0do", "u"),
        ("default", too_long.as_str(), "u"),
    ];
    for (namespace, name, uid) in refused {
        assert!(
            matches!(
                Layout::new(namespace, name, uid),
                Err(ArtifactError::InvalidName { .. })
            ),
            "{namespace:?} {name:?} {uid:?}"
        );
    }
}

#[test]
fn the_error_names_the_field_and_its_value() {
    let error = Layout::new("default", "../escape", "u").unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("name") && message.contains("../escape"),
        "{message}"
    );
}
