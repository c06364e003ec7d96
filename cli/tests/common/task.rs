//! One `appgen generate` run as a backend starts it: a local artifact store with an input.json,
//! a workspace, the shared pnpm store, and what the run left behind.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use appgen_crd::GenerationSpec;
use appgen_crd::task::{TaskEvent, TaskInput, TaskResult};

use super::{APPGEN, pnpm_store};

pub const UID: &str = "0b6f2c1e-uid";

/// One generator run in its own workspace, and its own store unless it follows up another run.
pub struct Run {
    pub dir: tempfile::TempDir,
    store: PathBuf,
    name: String,
    uid: String,
    parent_uid: Option<String>,
}

pub struct Ran {
    pub code: Option<i32>,
    pub stderr: String,
}

impl Run {
    pub fn new() -> Run {
        let dir = tempfile::tempdir().unwrap();
        Run {
            store: dir.path().join("store"),
            dir,
            name: "todo".into(),
            uid: UID.into(),
            parent_uid: None,
        }
    }

    /// A run of Generation `name` that continues this one (its input names this run's uid as
    /// the parent's), in the same store.
    pub fn follow_up(&self, name: &str, uid: &str) -> Run {
        Run {
            dir: tempfile::tempdir().unwrap(),
            store: self.store.clone(),
            name: name.into(),
            uid: uid.into(),
            parent_uid: Some(self.uid.clone()),
        }
    }

    pub fn store(&self) -> PathBuf {
        self.store.clone()
    }

    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn generation_dir(&self) -> PathBuf {
        self.store()
            .join("generations/default")
            .join(&self.name)
            .join(&self.uid)
    }

    pub fn input_uri(&self) -> String {
        format!("file://{}/input.json", self.generation_dir().display())
    }

    pub fn write_input(&self, spec: GenerationSpec) {
        let input = TaskInput {
            namespace: "default".into(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            attempt: 1,
            observed_generation: 1,
            spec,
            artifacts: format!("file://{}/", self.generation_dir().display()),
            parent_commit: None,
            redelivery: None,
            parent_uid: self.parent_uid.clone(),
        };
        std::fs::create_dir_all(self.generation_dir()).unwrap();
        std::fs::write(
            self.generation_dir().join("input.json"),
            serde_json::to_vec(&input).unwrap(),
        )
        .unwrap();
    }

    pub fn generate(&self, input_uri: &str, extra_env: &[(&str, &str)]) -> Ran {
        let output = Command::new(APPGEN)
            .args(["generate", "--input", input_uri, "--workspace"])
            .arg(self.workspace())
            .env("APPGEN_PNPM_STORE", pnpm_store())
            .env("APPGEN_TASK_KEY", format!("{}-1", self.uid))
            .envs(extra_env.iter().copied())
            .output()
            .unwrap();
        Ran {
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn result(&self) -> TaskResult {
        let path = self.generation_dir().join("attempts/1/result.json");
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("no result.json at {}: {e}", path.display()));
        serde_json::from_slice(&bytes).unwrap()
    }

    pub fn events(&self) -> Vec<TaskEvent> {
        let dir = self.generation_dir().join("attempts/1/events");
        let mut chunks: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        chunks.sort();
        chunks
            .iter()
            .flat_map(|chunk| {
                std::fs::read_to_string(chunk)
                    .unwrap()
                    .lines()
                    .map(|line| serde_json::from_str::<TaskEvent>(line).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The error a failed run reports, after checking it failed the way a task should.
    pub fn failure(&self, ran: &Ran) -> (String, String) {
        assert_eq!(
            ran.code,
            Some(1),
            "a failed generation exits 1; stderr: {}",
            ran.stderr
        );
        let result = self.result();
        assert!(!result.delivered);
        let error = result.error.expect("a failed result carries its error");
        (error.step, error.message)
    }
}

pub fn spec(prompt: &str) -> GenerationSpec {
    GenerationSpec {
        app: Some("todo".into()),
        ..GenerationSpec::from_prompt(prompt)
    }
}
