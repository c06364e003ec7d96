//! The preview executor: watches Generations, lists the preview runs on its backend, reads their
//! ports, asks each starting run for `/api/health`, hands all of it to the planner, and does what
//! the plan says. It decides nothing itself.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use appgen_artifacts::{ArtifactStore, Layout};
use appgen_crd::Generation;
use appgen_crd::task::PreviewInput;
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::Empty;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use super::Previews;
use super::plan::{Launch, Observed, PreviewPolicy, Run, plan};
use crate::Clock;
use crate::backend::{Backend, TaskKey, TaskListing, TaskSpec, TaskState};
use crate::reconcile::{Error, task_labels, write_status};

/// How long a starting run gets to answer one `/api/health` request.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// How soon to plan again after a status write lost a race with another writer.
const AFTER_CONFLICT: Duration = Duration::from_millis(100);

/// How the preview executor runs.
#[derive(Clone)]
pub struct PreviewConfig {
    pub policy: PreviewPolicy,
    /// This machine's preview folder: `versions/<uid>/` holds each version laid out, installed and
    /// built; `data/<namespace>/<app>/` each app's records, kept across runs and versions.
    pub root: PathBuf,
    pub clock: Clock,
}

impl std::fmt::Debug for PreviewConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviewConfig")
            .field("policy", &self.policy)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// Runs previews until `shutdown` resolves. Runs are left running then: the next executor on this
/// machine adopts them, so a restart of `appgen serve` interrupts no app.
pub async fn run(
    client: Client,
    backend: Arc<dyn Backend>,
    store: Arc<dyn ArtifactStore>,
    config: PreviewConfig,
    previews: Previews,
    shutdown: impl Future<Output = ()> + Send,
) {
    let (generations, writer) = reflector::store::<Generation>();
    let waker = previews.clone();
    let watch = reflector::reflector(
        writer,
        watcher(Api::<Generation>::all(client.clone()), watcher::Config::default()).default_backoff(),
    )
    .for_each(move |_| {
        waker.wake();
        futures::future::ready(())
    });
    let watching = tokio::spawn(watch);
    let mut executor = Executor {
        client,
        backend,
        store,
        config,
        previews,
        health: HttpClient::builder(TokioExecutor::new()).build_http(),
        ports: HashMap::new(),
        answered: HashSet::new(),
    };
    tokio::pin!(shutdown);
    tracing::info!(
        max_previews = executor.config.policy.max_previews,
        "previews started"
    );
    loop {
        let wait = match executor.pass(&generations).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::warn!(error = %e, category = e.category(), "a preview pass failed; trying again");
                executor.config.policy.poll
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = executor.previews.woken() => {}
            () = &mut shutdown => break,
        }
    }
    watching.abort();
    tracing::info!("previews stopped; their runs keep going for the next start to adopt");
}

struct Executor {
    client: Client,
    backend: Arc<dyn Backend>,
    store: Arc<dyn ArtifactStore>,
    config: PreviewConfig,
    previews: Previews,
    health: HttpClient<HttpConnector, Empty<Bytes>>,
    /// The port of each active run, from its input (which never changes).
    ports: HashMap<TaskKey, u16>,
    /// Active runs that have answered `/api/health`.
    answered: HashSet<TaskKey>,
}

impl Executor {
    fn now(&self) -> jiff::Timestamp {
        (self.config.clock)()
    }

    /// One observe–plan–act pass; returns when to pass again at the latest.
    async fn pass(&mut self, generations: &Store<Generation>) -> Result<Duration, Error> {
        // Until the first full list is in, every run would look like an orphan.
        if generations.wait_until_ready().await.is_err() {
            return Ok(self.config.policy.poll);
        }
        let listed = self.backend.list().await?;
        let runs = self.observe(listed).await;
        let prepared = self.prepared().await?;
        let visits = self.previews.visits();
        let all = generations.state();
        let observed = Observed {
            generations: &all,
            runs: &runs,
            prepared: &prepared,
            visits: &visits,
        };
        let plan = plan(&observed, self.now(), &self.config.policy);
        self.previews.publish(plan.routes);

        for change in &plan.statuses {
            let Some(generation) = all.iter().find(|g| {
                g.namespace().as_deref() == Some(change.namespace.as_str()) && g.name_any() == change.name
            }) else {
                continue;
            };
            let api: Api<Generation> = Api::namespaced(self.client.clone(), &change.namespace);
            match write_status(&api, generation, &change.status).await {
                Ok(()) => {}
                // Planned from a copy older than the stored object; what follows it must wait
                // for a plan from the newer one, which the watch is bringing.
                Err(Error::Kube(kube::Error::Api(status))) if status.code == 409 => {
                    return Ok(AFTER_CONFLICT);
                }
                Err(e) => return Err(e),
            }
        }
        let backend = &self.backend;
        let stops = plan.stops.iter().map(|key| async move {
            if let Err(e) = backend.stop(key).await {
                tracing::warn!(error = %e, run = %key, "stopping a preview run failed");
            }
        });
        futures::future::join_all(stops).await;
        for key in &plan.stops {
            tracing::info!(run = %key, "stopped a preview run");
        }
        let taken: BTreeSet<u16> = self.ports.values().copied().collect();
        for launch in &plan.launches {
            match self.launch(launch, &taken).await {
                Ok(port) => tracing::info!(
                    namespace = %launch.namespace,
                    name = %launch.name,
                    run = launch.run,
                    port,
                    "launched a preview run"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, namespace = %launch.namespace, name = %launch.name, run = launch.run, "launching a preview run failed")
                }
            }
        }
        for uid in &plan.discards {
            let dir = self.versions().join(uid);
            blocking("remove", dir.clone(), move || std::fs::remove_dir_all(&dir)).await?;
            tracing::info!(uid = %uid, "removed a preview version no longer needed");
        }
        Ok(plan.requeue)
    }

    /// The runs with their ports, and whether each has answered `/api/health` yet.
    async fn observe(&mut self, listed: Vec<TaskListing>) -> Vec<Run> {
        let active: HashSet<TaskKey> = listed
            .iter()
            .filter(|task| task.observation.is_active())
            .map(|task| task.key.clone())
            .collect();
        self.ports.retain(|key, _| active.contains(key));
        self.answered.retain(|key| active.contains(key));
        for task in listed.iter().filter(|task| active.contains(&task.key)) {
            if !self.ports.contains_key(&task.key)
                && let Some(port) = self.port_of(task).await
            {
                self.ports.insert(task.key.clone(), port);
            }
        }
        let this = &*self;
        let asking = listed.iter().filter_map(|task| {
            let port = *this.ports.get(&task.key)?;
            let starting = task.observation.state == TaskState::Running && !this.answered.contains(&task.key);
            starting.then_some(async move { (task.key.clone(), this.answers(port).await) })
        });
        for (key, answered) in futures::future::join_all(asking).await {
            if answered {
                self.answered.insert(key);
            }
        }
        listed
            .into_iter()
            .map(|task| Run {
                port: self.ports.get(&task.key).copied(),
                answered: self.answered.contains(&task.key),
                key: task.key,
                observation: task.observation,
            })
            .collect()
    }

    /// The port in a run's input: a run adopted after a restart is found this way.
    async fn port_of(&self, task: &TaskListing) -> Option<u16> {
        let key = Layout::new(&task.namespace, &task.name, task.key.uid())
            .ok()?
            .preview_input(task.key.attempt());
        match self.store.get(&key).await {
            Ok(Some(bytes)) => match serde_json::from_slice::<PreviewInput>(&bytes) {
                Ok(input) => Some(input.port),
                Err(e) => {
                    tracing::warn!(error = %e, %key, "a preview input does not parse");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, %key, "reading a preview input failed");
                None
            }
        }
    }

    async fn answers(&self, port: u16) -> bool {
        let Ok(uri) = format!("http://127.0.0.1:{port}/api/health").parse() else {
            return false;
        };
        matches!(
            tokio::time::timeout(HEALTH_TIMEOUT, self.health.get(uri)).await,
            Ok(Ok(response)) if response.status() == http::StatusCode::OK
        )
    }

    fn versions(&self) -> PathBuf {
        self.config.root.join("versions")
    }

    /// The uids of the versions laid out on this machine.
    async fn prepared(&self) -> Result<Vec<String>, Error> {
        let dir = self.versions();
        blocking("list", dir.clone(), move || match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        })
        .await
    }

    /// Writes the run's input, on a free port, then launches its task; returns the port.
    async fn launch(&mut self, launch: &Launch, taken: &BTreeSet<u16>) -> Result<u16, Error> {
        let layout = Layout::new(&launch.namespace, &launch.name, &launch.uid)?;
        let port = free_port(taken)?;
        let input = PreviewInput {
            namespace: launch.namespace.clone(),
            name: launch.name.clone(),
            uid: launch.uid.clone(),
            app: launch.app.clone(),
            run: launch.run,
            archive: layout.archive(),
            port,
            version_dir: self.versions().join(&launch.uid).display().to_string(),
            data_dir: self
                .config
                .root
                .join("data")
                .join(&launch.namespace)
                .join(&launch.app)
                .display()
                .to_string(),
        };
        let bytes = serde_json::to_vec_pretty(&input).map_err(|e| Error::Kube(kube::Error::SerdeError(e)))?;
        let input_key = layout.preview_input(launch.run);
        self.store.put(&input_key, Bytes::from(bytes)).await?;
        let key = TaskKey::new(&launch.uid, launch.run);
        let task = TaskSpec {
            key: key.clone(),
            namespace: launch.namespace.clone(),
            name: launch.name.clone(),
            uid: launch.uid.clone(),
            attempt: launch.run,
            input_uri: self.store.uri(&input_key),
            labels: task_labels(
                &launch.namespace,
                &launch.name,
                &launch.uid,
                ("appgen.dev/preview-run", launch.run),
            ),
            // A preview serves until a newer version replaces it.
            deadline: None,
        };
        self.backend.launch(&task).await?;
        self.ports.insert(key, port);
        Ok(port)
    }
}

/// A loopback port nothing listens on now, other than one a starting run was given (it may not
/// listen yet). The app binds it a few seconds later; should another program take it meanwhile,
/// the run fails to listen, exits, and its restart gets another port.
fn free_port(taken: &BTreeSet<u16>) -> Result<u16, Error> {
    for _ in 0..16 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(Error::Port)?
            .port();
        if !taken.contains(&port) {
            return Ok(port);
        }
    }
    Err(Error::Port(std::io::Error::from(std::io::ErrorKind::AddrInUse)))
}

/// Runs file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    action: &'static str,
    path: PathBuf,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, Error> {
    let joined = tokio::task::spawn_blocking(work).await;
    let result = joined.unwrap_or_else(|e| Err(std::io::Error::other(e)));
    result.map_err(|source| Error::Files { action, path, source })
}
