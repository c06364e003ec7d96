//! Prometheus metrics of the controller, served at `/metrics` by whoever runs it.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Category {
    category: &'static str,
}

/// The controller's metrics and the registry they are encoded from.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    reconciles: Counter,
    errors: Family<Category, Counter>,
    pub(crate) queue_depth: Gauge,
    pub(crate) running_tasks: Gauge,
    launch_latency: Histogram,
    task_duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("appgen");
        let reconciles = Counter::default();
        let errors = Family::<Category, Counter>::default();
        let queue_depth = Gauge::default();
        let running_tasks = Gauge::default();
        let launch_latency = Histogram::new(exponential_buckets(0.005, 2.0, 16));
        let task_duration = Histogram::new(exponential_buckets(1.0, 2.0, 14));
        registry.register("reconciles", "Reconciles of Generations", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by category",
            errors.clone(),
        );
        registry.register(
            "queue_depth",
            "Generations waiting for a task slot",
            queue_depth.clone(),
        );
        registry.register(
            "running_tasks",
            "Generator tasks holding a slot",
            running_tasks.clone(),
        );
        registry.register(
            "launch_latency_seconds",
            "From a Generation's creation to the launch of its first task",
            launch_latency.clone(),
        );
        registry.register(
            "task_duration_seconds",
            "How long generator tasks ran",
            task_duration.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            reconciles,
            errors,
            queue_depth,
            running_tasks,
            launch_latency,
            task_duration,
        }
    }
}

impl Metrics {
    pub(crate) fn reconciled(&self) {
        self.reconciles.inc();
    }

    pub(crate) fn failed(&self, category: &'static str) {
        self.errors.get_or_create(&Category { category }).inc();
    }

    pub(crate) fn launched_after(&self, seconds: f64) {
        self.launch_latency.observe(seconds);
    }

    pub(crate) fn task_ran(&self, seconds: f64) {
        self.task_duration.observe(seconds);
    }

    /// The Prometheus text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}
