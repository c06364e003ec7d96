//! Generations as a watch keeps them: the api reads status from here, never from a request of
//! its own per call, so reads cost no round trip and work the same against any cluster.

use std::sync::{Arc, Mutex};

use appgen_crd::Generation;
use futures::StreamExt;
use kube::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;

/// A watch-fed copy of every Generation, and a signal that moves on each change.
#[derive(Clone)]
pub struct Cache {
    store: Store<Generation>,
    changes: watch::Receiver<u64>,
    /// Every Generation newest first, as of a change count: lists read pages off it instead of
    /// sorting thousands of Generations per request.
    sorted: Arc<Mutex<(u64, Snapshot)>>,
}

/// Generations in the order lists show them.
pub type Snapshot = Arc<Vec<Arc<Generation>>>;

impl Cache {
    /// Starts watching Generations in every namespace; the watch retries with backoff for as
    /// long as the runtime lives.
    pub fn start(client: kube::Client) -> Cache {
        let (store, writer) = reflector::store();
        let (tell, changes) = watch::channel(0u64);
        let api: Api<Generation> = Api::all(client);
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default())).default_backoff();
        tokio::spawn(async move {
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(_) => {
                        tell.send_modify(|n| *n = n.wrapping_add(1));
                    }
                    Err(e) => tracing::warn!(error = %e, "watching Generations failed; retrying"),
                }
            }
        });
        Cache {
            store,
            changes,
            sorted: Arc::new(Mutex::new((u64::MAX, Arc::default()))),
        }
    }

    /// Waits until the first list has arrived, so an empty answer means "none", not "not yet".
    pub async fn ready(&self) {
        let _ = self.store.wait_until_ready().await;
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<Generation>> {
        self.store.get(&ObjectRef::new(name).within(namespace))
    }

    pub fn all(&self) -> Vec<Arc<Generation>> {
        self.store.state()
    }

    /// Every Generation, newest first; sorted again only after something changed.
    pub fn newest_first(&self) -> Snapshot {
        let version = *self.changes.borrow();
        let mut sorted = self.sorted.lock().unwrap_or_else(|p| p.into_inner());
        if sorted.0 != version {
            let mut all = self.store.state();
            crate::view::sort_newest_first(&mut all);
            *sorted = (version, Arc::new(all));
        }
        sorted.1.clone()
    }

    /// A receiver that changes whenever any Generation does.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }
}
