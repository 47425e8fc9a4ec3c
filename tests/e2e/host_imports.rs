//! Each host import on its own, on the real runtime with real components but without a
//! server: the `state` backend failing, the `log` fields, the `smtp` outbound policy.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use switchboard::mail::address::MailAddresses;
use switchboard::runtime::types::{ChannelContext, ChannelError, HttpRequest};
use switchboard::runtime::{
    CallError, ChannelStateBackend, HostPattern, HostServices, Limits, LoadedPlugin, NoMail, PluginFailure, Retry, Runtime,
    StateError,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const ECHO_V1: &str = env!("ECHO_V1_WASM");
const LEGACY: &str = env!("CONTRACT_0_1_0_WASM");

/// State in memory, keyed by channel; `fail_writes` makes every write fail as a full disk would.
#[derive(Default)]
struct MemoryState {
    values: Mutex<BTreeMap<(String, String), String>>,
    fail_writes: bool,
}

#[async_trait::async_trait]
impl ChannelStateBackend for MemoryState {
    async fn get(&self, channel_id: &str, key: &str) -> Result<Option<String>, StateError> {
        Ok(self.values.lock().unwrap().get(&(channel_id.into(), key.into())).cloned())
    }
    async fn set(&self, channel_id: &str, key: &str, value: &str) -> Result<(), StateError> {
        if self.fail_writes {
            return Err("database or disk is full".into());
        }
        self.values.lock().unwrap().insert((channel_id.into(), key.into()), value.into());
        Ok(())
    }
    async fn remove(&self, channel_id: &str, key: &str) -> Result<(), StateError> {
        self.values.lock().unwrap().remove(&(channel_id.into(), key.into()));
        Ok(())
    }
    async fn keys(&self, channel_id: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        let values = self.values.lock().unwrap();
        Ok(values.keys().filter(|(c, k)| c == channel_id && k.starts_with(prefix)).map(|(_, k)| k.clone()).collect())
    }
}

/// A runtime of its own with one plugin loaded; keep the runtime while calling (its clock
/// thread counts the calls' time limits).
async fn load(wasm: &[u8], services: HostServices, allowed: Vec<HostPattern>) -> (Runtime, LoadedPlugin) {
    let runtime = Runtime::new(Limits::default(), allowed, services, None).unwrap();
    let plugin = runtime.load(wasm.to_vec()).await.unwrap();
    (runtime, plugin)
}

fn channel(id: &str, settings: &[(&str, &str)]) -> ChannelContext {
    ChannelContext {
        channel_id: id.into(),
        webhook_url: format!("http://127.0.0.1/webhooks/{id}"),
        webhook_secret: "s3cret-s3cret-s3cret".into(),
        settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

fn ping(id: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: String::new(),
        query: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: format!(r#"{{"id":"{id}","text":"halo"}}"#).into_bytes(),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn state_is_kept_per_channel_and_a_write_the_host_cannot_make_fails_the_call_for_a_retry() {
    let echo = std::fs::read(ECHO_V1).unwrap();
    let state = Arc::new(MemoryState::default());
    let (_runtime, plugin) = load(&echo, HostServices { state: state.clone(), mail: Arc::new(NoMail), ..HostServices::none() }, vec![]).await;
    let first = plugin.handle_webhook(&channel("ch_a", &[]), &ping("1")).await.unwrap();
    let second = plugin.handle_webhook(&channel("ch_a", &[]), &ping("2")).await.unwrap();
    let other = plugin.handle_webhook(&channel("ch_b", &[]), &ping("1")).await.unwrap();
    assert_eq!(header(&first.response.headers, "x-echo-seen"), Some("1"));
    assert_eq!(header(&second.response.headers, "x-echo-seen"), Some("2"), "the first call's write was kept");
    assert_eq!(header(&other.response.headers, "x-echo-seen"), Some("1"), "another channel sees none of it");

    let failing = Arc::new(MemoryState { fail_writes: true, ..Default::default() });
    let (_runtime, plugin) = load(&echo, HostServices { state: failing.clone(), mail: Arc::new(NoMail), ..HostServices::none() }, vec![]).await;
    let error = plugin.handle_webhook(&channel("ch_a", &[]), &ping("3")).await.unwrap_err();
    match &error {
        CallError::Failed(PluginFailure::Host(reason)) => assert!(reason.contains("database or disk is full"), "{reason}"),
        other => panic!("expected a host failure, got {other:?}"),
    }
    assert_eq!(error.retry(), Retry::Now, "the caller tries again instead of losing the write");
    assert!(error.to_string().starts_with("the host could not serve the plugin: writing the channel's state failed"), "{error}");
    assert!(failing.values.lock().unwrap().is_empty());
}

/// Every event's fields, as a log reader would filter them.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<HashMap<String, String>>>>);

struct FieldVisitor<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = HashMap::from([
            ("target".to_owned(), event.metadata().target().to_owned()),
            ("level".to_owned(), event.metadata().level().to_string()),
        ]);
        event.record(&mut FieldVisitor(&mut fields));
        self.0.lock().unwrap().push(fields);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn plugin_log_lines_carry_the_plugin_and_the_channel() {
    use tracing_subscriber::layer::SubscriberExt;
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));

    let legacy = std::fs::read(LEGACY).unwrap();
    let state = Arc::new(MemoryState::default());
    let (_runtime, plugin) = load(&legacy, HostServices { state, mail: Arc::new(NoMail), ..HostServices::none() }, vec![]).await;
    let outcome = plugin.handle_webhook(&channel("ch_legacy", &[]), &ping("1")).await.unwrap();
    assert_eq!(outcome.response.body, b"none");

    let events = captured.0.lock().unwrap();
    let line = events
        .iter()
        .find(|e| e.get("message").is_some_and(|m| m.contains("legacy plugin handling a webhook")))
        .unwrap_or_else(|| panic!("the plugin's line was not logged: {events:?}"));
    assert_eq!(line["target"], "plugin");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["plugin"], "legacy");
    assert_eq!(line["channel"], "ch_legacy");
}

/// Answers an SMTP client well enough for a login check: greeting, EHLO, NOOP, QUIT.
async fn tiny_smtp_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 tiny ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 tiny\r\n",
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    if write.write_all(answer).await.is_err() || verb == "QUIT" {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn smtp_reaches_a_server_on_a_private_address_only_when_the_operator_allowed_it() {
    let (_, email) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(name, _)| name.contains("email")).unwrap();
    let port = tiny_smtp_server().await.to_string();
    let mail = Arc::new(MailAddresses { inbound_domain: Some("in.example.com".into()), smtp_listener: false });
    let services = HostServices { state: Arc::new(MemoryState::default()), mail, ..HostServices::none() };
    let settings = [
        ("email", "support@tokobudi.co.id"),
        ("display_name", "Toko Budi"),
        ("smtp_host", "127.0.0.1"),
        ("smtp_port", port.as_str()),
        ("smtp_security", "none"),
    ];
    let ctx = channel("ch_mail", &settings);

    let (_runtime, denied) = load(email, services.clone(), vec![]).await;
    let refused = denied.connect(&ctx).await.unwrap_err();
    match &refused {
        CallError::Channel(ChannelError::Provider(reason)) => {
            assert!(reason.contains("not on a public address (127.0.0.1 is loopback)"), "{reason}");
            assert!(reason.contains("--allow-outbound 127.0.0.1"), "says how to allow it: {reason}");
        }
        other => panic!("expected the SMTP policy to refuse, got {other:?}"),
    }

    let allowed = vec![HostPattern::parse(&format!("127.0.0.1:{port}")).unwrap()];
    let (_runtime, trusted) = load(email, services, allowed).await;
    let connection = trusted.connect(&ctx).await.unwrap();
    assert_eq!(connection.display_name, "Toko Budi <support@tokobudi.co.id>");
    let forwarding = connection.setup.iter().find(|item| item.value.ends_with("@in.example.com"));
    assert!(forwarding.is_some(), "the forwarding address comes from the host's mail addressing: {:?}", connection.setup);
}
