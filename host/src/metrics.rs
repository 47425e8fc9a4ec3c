//! Prometheus metrics at `/metrics` (prometheus-client, one registry per host so tests and
//! several hosts in a process never mix): webhooks, plugin calls, deliveries, plugin loads,
//! and at scrape time the outbox and live followers.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::runtime::CallObserver;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// The plugin (app webhooks) or the channel's plugin; `unknown` for no such channel.
    pub plugin: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    plugin: String,
    export: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallTimeLabels {
    plugin: String,
    export: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    webhooks: Family<WebhookLabels, Counter>,
    plugin_calls: Family<CallLabels, Counter>,
    plugin_call_seconds: Family<CallTimeLabels, Histogram>,
    deliveries: Family<OutcomeLabels, Counter>,
    plugin_loads: Family<OutcomeLabels, Counter>,
    outbox_messages: Gauge,
    outbox_oldest_seconds: Gauge<f64, AtomicU64>,
    live_followers: Gauge,
    /// Per plugin, for the operator's Operations page (the histogram above keeps no quantiles).
    plugin_figures: std::sync::Mutex<std::collections::BTreeMap<String, CallFigures>>,
    /// When this node started counting (Unix ms).
    since_ms: i64,
}

/// How many latencies a plugin's median and p95 are over: its most recent calls.
const RECENT_CALLS: usize = 1024;

#[derive(Default)]
struct CallFigures {
    calls: u64,
    errors: u64,
    /// The latest calls' durations in ms, a ring of at most [`RECENT_CALLS`].
    recent_ms: Vec<f32>,
    next: usize,
}

/// A plugin's calls on this node since it started (`GET /api/v1/operations`).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PluginCalls {
    pub plugin: String,
    pub calls: u64,
    /// Calls a failure stopped (a trap, a timeout, a limit); a refusal the plugin answered is a call that worked.
    pub errors: u64,
    /// Over the latest 1024 calls; `null` before the first.
    pub median_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

impl Metrics {
    /// The registry, with what the store keeps itself in it.
    pub fn new(store: crate::store::StoreMetrics) -> Self {
        let mut metrics = Self::default();
        metrics.registry.register(
            "store_operation_seconds",
            "Time of each database operation, waiting for the connection included",
            store.operation_seconds,
        );
        metrics.registry.register(
            "store_calls_on_async_workers",
            "Database calls that ran on an async worker instead of off it (stalling its other tasks); stays 0",
            store.calls_on_async_workers,
        );
        metrics
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register("webhooks", "Webhook requests answered, by plugin and HTTP status", webhooks.clone());
        let plugin_calls = Family::<CallLabels, Counter>::default();
        registry.register("plugin_calls", "Plugin calls, by plugin, export and outcome (ok or what stopped it)", plugin_calls.clone());
        let plugin_call_seconds =
            Family::<CallTimeLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        registry.register("plugin_call_seconds", "Duration of plugin calls, by plugin and export", plugin_call_seconds.clone());
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register("delivery_attempts", "Outbound delivery attempts, by outcome (sent, failed, retry, held)", deliveries.clone());
        let plugin_loads = Family::<OutcomeLabels, Counter>::default();
        registry.register("plugin_loads", "Plugin loads and reloads, by outcome (loaded, refused)", plugin_loads.clone());
        let outbox_messages = Gauge::default();
        registry.register("outbox_messages", "Messages waiting in the outbox", outbox_messages.clone());
        let outbox_oldest_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register("outbox_oldest_seconds", "Age of the oldest message waiting in the outbox", outbox_oldest_seconds.clone());
        let live_followers = Gauge::default();
        registry.register("live_followers", "Open live streams (website chat pages)", live_followers.clone());
        Self {
            registry,
            webhooks,
            plugin_calls,
            plugin_call_seconds,
            deliveries,
            plugin_loads,
            outbox_messages,
            outbox_oldest_seconds,
            live_followers,
            plugin_figures: Default::default(),
            since_ms: crate::store::now_ms(),
        }
    }
}

impl Metrics {
    pub fn webhook(&self, plugin: &str, status: u16) {
        self.webhooks.get_or_create(&WebhookLabels { plugin: plugin.to_owned(), status }).inc();
    }

    pub fn delivery(&self, outcome: &str) {
        self.deliveries.get_or_create(&OutcomeLabels { outcome: outcome.to_owned() }).inc();
    }

    pub fn plugin_load(&self, outcome: &str) {
        self.plugin_loads.get_or_create(&OutcomeLabels { outcome: outcome.to_owned() }).inc();
    }

    /// The text exposition, with the scrape-time gauges set first.
    pub fn render(&self, outbox: (u64, Option<i64>), now_ms: i64, live_followers: usize) -> String {
        let (waiting, oldest) = outbox;
        self.outbox_messages.set(waiting as i64);
        self.outbox_oldest_seconds.set(oldest.map_or(0.0, |at| (now_ms - at).max(0) as f64 / 1000.0));
        self.live_followers.set(live_followers as i64);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// When this node started counting plugin calls (Unix ms).
    pub fn since_ms(&self) -> i64 {
        self.since_ms
    }

    /// Each plugin's calls, errors and latency on this node, by plugin id.
    pub fn plugin_calls(&self) -> Vec<PluginCalls> {
        let figures = self.plugin_figures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        figures
            .iter()
            .map(|(plugin, figures)| {
                let mut recent = figures.recent_ms.clone();
                recent.sort_by(f32::total_cmp);
                let at = |q: f64| (!recent.is_empty()).then(|| f64::from(recent[((recent.len() - 1) as f64 * q).round() as usize]));
                PluginCalls { plugin: plugin.clone(), calls: figures.calls, errors: figures.errors, median_ms: at(0.5), p95_ms: at(0.95) }
            })
            .collect()
    }
}

impl CallObserver for Metrics {
    /// The `export` label is the contract's name of the export, as the WIT and `plugin call`
    /// spell it (`handle-webhook`, `settings-schema`), not the runtime binding's (`handle_webhook`).
    fn call_finished(&self, plugin: &str, export: &'static str, outcome: &'static str, elapsed: Duration) {
        let (plugin, export) = (plugin.to_owned(), wit_name(export));
        self.plugin_calls.get_or_create(&CallLabels { plugin: plugin.clone(), export: export.clone(), outcome: outcome.to_owned() }).inc();
        let mut figures = self.plugin_figures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let of = figures.entry(plugin.clone()).or_default();
        of.calls += 1;
        of.errors += u64::from(outcome != "ok");
        let ms = elapsed.as_secs_f32() * 1000.0;
        if of.recent_ms.len() < RECENT_CALLS {
            of.recent_ms.push(ms);
        } else {
            of.recent_ms[of.next] = ms;
        }
        of.next = (of.next + 1) % RECENT_CALLS;
        drop(figures);
        self.plugin_call_seconds.get_or_create(&CallTimeLabels { plugin, export }).observe(elapsed.as_secs_f64());
    }
}

/// A binding's name of an export (`handle_webhook`) as the WIT names it (`handle-webhook`):
/// every export of the contract is a kebab-case WIT name, which the bindings write in snake case.
fn wit_name(binding: &str) -> String {
    binding.replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_calls_are_labelled_with_the_contracts_export_names() {
        let metrics = Metrics::default();
        metrics.call_finished("telegram", "handle_webhook", "ok", Duration::from_millis(3));
        metrics.call_finished("telegram", "settings_schema", "timeout", Duration::from_millis(3));
        let text = metrics.render((0, None), 0, 0);
        assert!(text.contains(r#"plugin="telegram",export="handle-webhook",outcome="ok""#), "{text}");
        assert!(text.contains(r#"plugin="telegram",export="settings-schema",outcome="timeout""#), "{text}");
        assert!(!text.contains("handle_webhook") && !text.contains("settings_schema"), "no series under the binding's names: {text}");
    }

    #[test]
    fn the_operations_figures_count_calls_and_errors_and_take_quantiles_of_the_latest() {
        let metrics = Metrics::default();
        for ms in 1..=100 {
            metrics.call_finished("line", "handle_webhook", if ms % 10 == 0 { "trap" } else { "ok" }, Duration::from_millis(ms));
        }
        let line = &metrics.plugin_calls()[0];
        assert_eq!((line.plugin.as_str(), line.calls, line.errors), ("line", 100, 10));
        assert_eq!((line.median_ms.map(f64::round), line.p95_ms.map(f64::round)), (Some(51.0), Some(95.0)));
        // Only the latest RECENT_CALLS count towards the quantiles.
        for _ in 0..RECENT_CALLS {
            metrics.call_finished("line", "handle_webhook", "ok", Duration::from_millis(2));
        }
        assert_eq!(metrics.plugin_calls()[0].p95_ms.map(f64::round), Some(2.0));
    }
}
