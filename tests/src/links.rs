//! What a provider does with a link to a file in a message: downloads it. The fakes hand
//! every JSON body they receive to a [`LinkFollower`], which fetches each link under the
//! host's public URL from where that name really points in the test (the test host's own
//! address, as DNS would resolve it in production) and records what came back.

use std::sync::{Arc, Mutex};

use serde_json::Value;

#[derive(Clone, Default)]
pub struct LinkFollower {
    inner: Arc<Mutex<Links>>,
}

#[derive(Default)]
struct Links {
    /// The public URL links start with, and the base it is reached at.
    route: Option<(String, String)>,
    /// Links downloaded with a 2xx answer: (the link as sent, the bytes).
    downloaded: Vec<(String, Vec<u8>)>,
}

impl LinkFollower {
    /// Links starting with `public_url` are fetched from `reach_at` instead.
    pub fn route(&self, public_url: &str, reach_at: &str) {
        self.inner.lock().unwrap().route = Some((public_url.trim_end_matches('/').to_owned(), reach_at.trim_end_matches('/').to_owned()));
    }

    /// Downloads every link under the public URL found in `body` (in any string, also inside
    /// a text), as the provider fetches media before accepting the message.
    pub async fn follow(&self, body: &Value) {
        let Some((public, base)) = self.inner.lock().unwrap().route.clone() else { return };
        let mut links = Vec::new();
        collect_links(body, &public, &mut links);
        for link in links {
            let reached = format!("{base}{}", &link[public.len()..]);
            let Ok(response) = reqwest::get(&reached).await else { continue };
            if !response.status().is_success() {
                continue;
            }
            let Ok(bytes) = response.bytes().await else { continue };
            self.inner.lock().unwrap().downloaded.push((link, bytes.to_vec()));
        }
    }

    pub fn downloaded(&self) -> Vec<(String, Vec<u8>)> {
        self.inner.lock().unwrap().downloaded.clone()
    }
}

fn collect_links(value: &Value, public: &str, links: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(public) {
                let link: String = rest[at..].chars().take_while(|c| !c.is_whitespace()).collect();
                rest = &rest[at + link.len()..];
                links.push(link);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_links(item, public, links)),
        Value::Object(fields) => fields.values().for_each(|item| collect_links(item, public, links)),
        _ => {}
    }
}
