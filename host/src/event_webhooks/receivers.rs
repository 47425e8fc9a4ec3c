//! The receivers' HTTP clients, kept between deliveries (held by the app, used by the worker).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a receiver may take to answer one delivery.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a receiver's client (its addresses checked, its connections kept open) is used
/// before its name is looked up and checked again.
const CLIENT_LIFETIME: Duration = Duration::from_secs(60);

/// One pinned client per receiver host: connections are reused between deliveries (a new
/// client per delivery costs a TLS setup and a connection each time), and the addresses it may
/// connect to were checked when it was made, at most [`CLIENT_LIFETIME`] ago.
#[derive(Default)]
pub struct ReceiverClients {
    clients: std::sync::Mutex<HashMap<(String, u16), (reqwest::Client, Instant)>>,
}

impl ReceiverClients {
    pub(super) async fn client(&self, url: &reqwest::Url, allowed: &[crate::runtime::HostPattern]) -> Result<reqwest::Client, String> {
        let key = (url.host_str().unwrap_or_default().to_owned(), url.port_or_known_default().unwrap_or(443));
        if let Some((client, made)) = self.clients.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned()
            && made.elapsed() < CLIENT_LIFETIME
        {
            return Ok(client.clone());
        }
        // Made without the lock: one receiver's slow name lookup holds up no other endpoint.
        let client = crate::egress::pinned_client(url, allowed, "webhook endpoints", CONNECT_TIMEOUT, ATTEMPT_TIMEOUT).await.map_err(|e| e.to_string())?;
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.retain(|_, (_, made)| made.elapsed() < CLIENT_LIFETIME);
        clients.insert(key, (client.clone(), Instant::now()));
        Ok(client)
    }
}

