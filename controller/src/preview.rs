//! Live previews on one machine (`spec.delivery.deploy.target: preview`): each app's newest
//! Delivered Generation runs as a long-lived task on a backend, on a free loopback port, and
//! `appgen serve` answers the app's stable address, `http://<app>--<namespace>.localhost:<port>/`,
//! by proxying to it. The decisions are pure ([`plan`]); [`run`] observes and carries them out;
//! [`Previews`] is what the two sides share: the routes the executor publishes and the visits
//! the proxy records.
//!
//! It must never stop a version before its successor answers, nor start more previews than the
//! cap allows.

mod plan;
mod run;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

pub use plan::{Launch, Observed, Plan, PreviewPolicy, Run, StatusChange, plan};
pub use run::{PreviewConfig, run};

use crate::Clock;

/// Where previews are reached: `http://<app>--<namespace>.<domain>:<port>/`. Browsers resolve every
/// name under `localhost` to the loopback interface (Chromium does so itself), so the address
/// works with no DNS set-up, and each app gets an origin of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewAddress {
    pub domain: String,
    /// The port of `appgen serve`, which proxies every preview.
    pub port: u16,
}

/// What separates the app from the namespace in a preview's host name.
const SEPARATOR: &str = "--";

impl PreviewAddress {
    /// `localhost` on serve's port.
    pub fn localhost(port: u16) -> Self {
        PreviewAddress {
            domain: "localhost".to_owned(),
            port,
        }
    }

    /// The first label of the app's host name, `<app>--<namespace>`, which names it in routes and visits.
    pub fn label(app: &str, namespace: &str) -> String {
        format!("{app}{SEPARATOR}{namespace}")
    }

    pub fn url(&self, label: &str) -> String {
        format!("http://{label}.{}:{}/", self.domain, self.port)
    }

    /// The label a request's `Host` header names, when it is a preview host (`<app>--<namespace>`
    /// under the domain, any port); None for every other host, which serve's own routes answer.
    pub fn label_of(&self, host: &str) -> Option<String> {
        let host = host.trim().to_ascii_lowercase();
        // A port follows the last ':'; names under `localhost` hold no other.
        let name = host.rsplit_once(':').map_or(host.as_str(), |(name, _)| name);
        let label = name.strip_suffix(&self.domain)?.strip_suffix('.')?;
        (label.contains(SEPARATOR) && !label.starts_with(SEPARATOR)).then(|| label.to_owned())
    }
}

/// How the proxy answers one preview host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The app answers on this loopback port.
    Ready { port: u16 },
    /// It is not serving yet (starting, restarting after a crash, or stopped while idle); a visit
    /// asks for it, and the page says what is happening.
    Waiting { title: String, detail: String },
}

/// The routes the preview executor publishes and the proxy reads, and the visits the proxy records
/// for the executor: the least recently visited preview is the first stopped at the cap, and a
/// visit to a stopped one starts it.
#[derive(Clone)]
pub struct Previews {
    shared: Arc<Shared>,
}

struct Shared {
    address: PreviewAddress,
    clock: Clock,
    routes: RwLock<Arc<BTreeMap<String, Route>>>,
    visits: Mutex<BTreeMap<String, jiff::Timestamp>>,
    wake: tokio::sync::Notify,
}

impl fmt::Debug for Previews {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Previews")
            .field("address", &self.shared.address)
            .field("routes", &self.routes())
            .finish_non_exhaustive()
    }
}

/// What a request's `Host` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Not a preview host: serve's own routes answer it.
    NotPreview,
    /// A preview host that no app has.
    Unknown {
        label: String,
    },
    Found {
        label: String,
        route: Route,
    },
}

impl Previews {
    pub fn new(address: PreviewAddress, clock: Clock) -> Self {
        Previews {
            shared: Arc::new(Shared {
                address,
                clock,
                routes: RwLock::default(),
                visits: Mutex::default(),
                wake: tokio::sync::Notify::new(),
            }),
        }
    }

    pub fn lookup(&self, host: &str) -> Lookup {
        let Some(label) = self.shared.address.label_of(host) else {
            return Lookup::NotPreview;
        };
        match self.routes().get(&label) {
            Some(route) => Lookup::Found {
                label,
                route: route.clone(),
            },
            None => Lookup::Unknown { label },
        }
    }

    /// Records a request to the preview `label`, now. `wanted` wakes the executor, for a preview
    /// that is not serving: it may have to start it.
    pub fn visit(&self, label: &str, wanted: bool) {
        let now = (self.shared.clock)();
        self.shared
            .visits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(label.to_owned(), now);
        if wanted {
            self.shared.wake.notify_one();
        }
    }

    fn routes(&self) -> Arc<BTreeMap<String, Route>> {
        self.shared
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn publish(&self, routes: BTreeMap<String, Route>) {
        *self.shared.routes.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(routes);
    }

    fn visits(&self) -> BTreeMap<String, jiff::Timestamp> {
        self.shared
            .visits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn wake(&self) {
        self.shared.wake.notify_one();
    }

    async fn woken(&self) {
        self.shared.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_host_names_its_app_and_namespace_at_any_port() {
        let address = PreviewAddress::localhost(8080);
        let label = PreviewAddress::label("todo", "default");
        assert_eq!(address.url(&label), "http://todo--default.localhost:8080/");
        for host in [
            "todo--default.localhost:8080",
            "todo--default.localhost",
            "TODO--Default.LocalHost:9999",
        ] {
            assert_eq!(address.label_of(host).as_deref(), Some("todo--default"), "{host}");
        }
    }

    #[test]
    fn other_hosts_are_not_previews() {
        let address = PreviewAddress::localhost(8080);
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "localhost",
            "todo.localhost:8080",
            "--default.localhost:8080",
            "todo--default.localhost.example.com",
            "todo--defaultlocalhost:8080",
            "[::1]:8080",
            "",
        ] {
            assert_eq!(address.label_of(host), None, "{host}");
        }
    }

    #[test]
    fn a_visit_is_recorded_at_the_clocks_time() {
        let at = jiff::Timestamp::from_second(1_800_000_000).unwrap_or_default();
        let previews = Previews::new(PreviewAddress::localhost(8080), Arc::new(move || at));
        previews.publish(BTreeMap::from([(
            "todo--default".to_owned(),
            Route::Ready { port: 4000 },
        )]));
        assert_eq!(
            previews.lookup("todo--default.localhost:8080"),
            Lookup::Found {
                label: "todo--default".to_owned(),
                route: Route::Ready { port: 4000 }
            }
        );
        assert_eq!(
            previews.lookup("crm--default.localhost:8080"),
            Lookup::Unknown {
                label: "crm--default".to_owned()
            }
        );
        assert_eq!(previews.lookup("127.0.0.1:8080"), Lookup::NotPreview);
        previews.visit("todo--default", false);
        assert_eq!(
            previews.visits(),
            BTreeMap::from([("todo--default".to_owned(), at)])
        );
    }
}
