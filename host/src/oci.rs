//! Plugins from OCI registries: `oci://<registry>/<repository>:<version or range>`.
//!
//! A plugin travels as a wasm OCI artifact, the CNCF layout `wkg` and `oras` push and pull:
//! config media type `application/vnd.wasm.config.v0+json`, one `application/wasm` layer that is
//! the component file as built, our signature's custom section included, so a host verifies a
//! pulled plugin exactly as an upload (signature, trusted keys, contract version, size) and
//! `wkg`/`oras` pull it as an ordinary component. Tags are the plugin's semver versions; a range
//! (`^1.2`) picks the newest tag that matches.
//!
//! Transport: the distribution API's few calls (manifest, blob, tags list, blob upload, manifest
//! put, the token dance) over reqwest, with the `oci-spec` types. Every connection goes to an
//! address checked first (public only, unless the operator allowed the host with
//! `--allow-outbound`), pinned with `resolve_to_addrs` so the name cannot resolve elsewhere in
//! between; redirects (registries send blobs to storage hosts) are followed here, each target
//! checked the same way. `oci-client` takes no resolver or redirect hook, so it cannot keep that
//! promise. A registry on a loopback address speaks plain HTTP (as Docker's default insecure
//! registries); every other HTTPS. Credentials come from the docker config file
//! (`docker_credential`: `~/.docker/config.json` or `$DOCKER_CONFIG`, credential helpers too).

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use oci_spec::image::{Descriptor, ImageManifest};
use reqwest::{Method, StatusCode, header};
use sha2::{Digest, Sha256};

use crate::egress::error_chain;
use crate::runtime::HostPattern;

pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Redirects one request follows at most.
const MOST_REDIRECTS: usize = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Silence after which a registry is given up (a blob streams on as long as bytes come).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A whole pull (tags, manifest, layer) ends by then: a registry dripping bytes holds no request for ever.
pub const PULL_DEADLINE: Duration = Duration::from_secs(300);

/// Where a plugin is: `oci://<registry>/<repository>:<version, range or tag>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `host` or `host:port`.
    pub registry: String,
    pub repository: String,
    pub wanted: Wanted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// One tag: a version (`1.2.0`) or any other tag.
    Tag(String),
    /// The newest version tag matching (`^1.2`, `>=1.0, <2`).
    Range(semver::VersionReq),
}

impl Source {
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text.trim().strip_prefix("oci://").ok_or_else(|| format!("`{text}` is not an OCI reference: write oci://<registry>/<repository>:<version>"))?;
        let (registry, path) = rest.split_once('/').ok_or_else(|| format!("`{text}` names no repository: write oci://<registry>/<repository>:<version>"))?;
        let (repository, reference) = path.rsplit_once(':').filter(|(_, r)| !r.contains('/')).ok_or_else(|| {
            format!("`{text}` names no version: add one (oci://{registry}/{path}:1.2.0) or a range (oci://{registry}/{path}:^1.2)")
        })?;
        let repository_ok = !repository.is_empty()
            && repository.split('/').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)));
        if registry.is_empty() || registry.contains(['@', ' ']) || !repository_ok {
            return Err(format!("`{text}` is not an OCI reference: the repository is lowercase letters, digits, `.`, `_`, `-` and `/`"));
        }
        let wanted = if semver::Version::parse(reference).is_ok() || !reference.contains(['^', '~', '<', '>', '=', '*', ',', ' ']) {
            if reference.is_empty() || reference.len() > 128 || !reference.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return Err(format!("`{reference}` is not a tag or a version range"));
            }
            Wanted::Tag(reference.to_owned())
        } else {
            Wanted::Range(semver::VersionReq::parse(reference).map_err(|e| format!("`{reference}` is not a version range: {e}"))?)
        };
        Ok(Self { registry: registry.to_ascii_lowercase(), repository: repository.to_owned(), wanted })
    }
}

impl Source {
    /// A repository without a version, `oci://<registry>/<repository>`: what a catalogue lists
    /// (`--catalogue`) and what an installed plugin records as where it came from. Its `wanted`
    /// is every release (`*`); [`Source::repository_reference`] writes it back.
    pub fn parse_repository(text: &str) -> Result<Self, String> {
        let trimmed = text.trim().trim_end_matches('/');
        let shape = || format!("`{text}` is not an OCI repository: write oci://<registry>/<repository> (lowercase letters, digits, `.`, `_`, `-` and `/`)");
        let rest = trimmed.strip_prefix("oci://").ok_or_else(shape)?;
        let (_, repository) = rest.split_once('/').ok_or_else(shape)?;
        if repository.contains([':', '@']) {
            return Err(format!("`{text}` names a version: a catalogue lists a repository's versions itself, write oci://<registry>/<repository>"));
        }
        let mut source = Self::parse(&format!("{trimmed}:0.0.0")).map_err(|_| shape())?;
        source.wanted = Wanted::Range(semver::VersionReq::STAR);
        Ok(source)
    }

    /// `oci://<registry>/<repository>`, without the version: how a repository is named in the
    /// catalogue and in an installed plugin's record.
    pub fn repository_reference(&self) -> String {
        format!("oci://{}/{}", self.registry, self.repository)
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.wanted {
            Wanted::Tag(tag) => write!(f, "oci://{}/{}:{tag}", self.registry, self.repository),
            Wanted::Range(range) => write!(f, "oci://{}/{}:{range}", self.registry, self.repository),
        }
    }
}

/// What went wrong with a registry, as the API answers it.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// Refused before sending: an internal address, a redirect there, a bad reference.
    #[error("{0}")]
    Refused(String),
    /// The registry could not be reached or answered out of protocol.
    #[error("{0}")]
    Unreachable(String),
    /// No such repository, tag or matching version.
    #[error("{0}")]
    NotFound(String),
    /// The manifest is not a wasm component artifact.
    #[error("{0}")]
    NotAComponent(String),
    /// What arrived is not what the manifest named (digest, size).
    #[error("{0}")]
    Tampered(String),
    /// The registry refused our credentials.
    #[error("{0}")]
    Unauthorized(String),
}

/// One repository of one registry, spoken to through checked addresses.
pub struct Repository {
    source: Source,
    base: String,
    allowed: Vec<HostPattern>,
    credentials: Option<(String, String)>,
    /// The bearer token the registry's auth service gave, once asked.
    token: tokio::sync::Mutex<Option<String>>,
    /// `pull` or `pull,push`: what the token is asked for.
    actions: &'static str,
}

impl Repository {
    /// `allowed`: the operator's `--allow-outbound` hosts (their addresses are not checked).
    pub fn new(source: &Source, allowed: &[HostPattern], push: bool) -> Self {
        let scheme = if is_loopback(registry_host(&source.registry)) { "http" } else { "https" };
        Self {
            source: source.clone(),
            base: format!("{scheme}://{}/v2/{}", source.registry, source.repository),
            allowed: allowed.to_vec(),
            credentials: credentials_for(&source.registry),
            token: Default::default(),
            actions: if push { "pull,push" } else { "pull" },
        }
    }

    /// Whether `url` is the registry itself (scheme, host, port): where credentials may go.
    fn is_registry(&self, url: &reqwest::Url) -> bool {
        reqwest::Url::parse(&self.base).is_ok_and(|base| base.origin() == url.origin())
    }

    /// The tag a source names: its tag, or the newest version tag in its range.
    pub async fn resolve_tag(&self) -> Result<String, OciError> {
        match &self.source.wanted {
            Wanted::Tag(tag) => Ok(tag.clone()),
            Wanted::Range(range) => {
                let newest = self.versions().await?.into_iter().filter(|v| range.matches(v)).max();
                newest.map(|v| v.to_string()).ok_or_else(|| OciError::NotFound(format!("{}: no version matches {range}", self.source)))
            }
        }
    }

    /// The version tags of the repository (tags that are not versions left out).
    pub async fn versions(&self) -> Result<Vec<semver::Version>, OciError> {
        #[derive(serde::Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let response = self.send(Method::GET, &format!("{}/tags/list?n=1000", self.base), &[], None).await?;
        let response = self.expect(response, "the repository's tags").await?;
        let text = read_limited(response, 1 << 20, "the tags list").await?;
        let tags: Tags = serde_json::from_slice(&text).map_err(|e| OciError::Unreachable(format!("{}: the tags list is not readable: {e}", self.source.registry)))?;
        Ok(tags.tags.unwrap_or_default().iter().filter_map(|t| semver::Version::parse(t).ok()).collect())
    }

    /// The manifest of `tag`, checked to be a wasm component artifact; its one layer.
    pub async fn component_layer(&self, tag: &str) -> Result<Descriptor, OciError> {
        let response = self.send(Method::GET, &format!("{}/manifests/{tag}", self.base), &[(header::ACCEPT, MANIFEST_MEDIA_TYPE)], None).await?;
        let response = self.expect(response, &format!("version `{tag}`")).await?;
        let text = read_limited(response, 1 << 20, "the manifest").await?;
        let manifest: ImageManifest = serde_json::from_slice(&text)
            .map_err(|e| OciError::NotAComponent(format!("{}:{tag} is not an OCI image manifest (a wasm component artifact): {e}", self.source.repository)))?;
        let config = manifest.config().media_type().to_string();
        if config != CONFIG_MEDIA_TYPE {
            return Err(OciError::NotAComponent(format!(
                "{}:{tag} is not a wasm component artifact: its config is `{config}`, not `{CONFIG_MEDIA_TYPE}`",
                self.source.repository
            )));
        }
        match manifest.layers().as_slice() {
            [layer] if layer.media_type().to_string() == LAYER_MEDIA_TYPE => Ok(layer.clone()),
            layers => Err(OciError::NotAComponent(format!(
                "{}:{tag} is not a wasm component artifact: it needs one `{LAYER_MEDIA_TYPE}` layer, it has {}",
                self.source.repository,
                layers.iter().map(|l| format!("`{}`", l.media_type())).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The layer's bytes as they arrive, then checked against its digest: the stream ends with an
    /// error instead of its last chunk when they do not match (nothing of it may be installed).
    pub async fn layer_bytes(&self, layer: &Descriptor) -> Result<impl Stream<Item = Result<Bytes, OciError>> + Unpin + use<>, OciError> {
        let digest = layer.digest().to_string();
        let expected = digest.strip_prefix("sha256:").map(str::to_owned).ok_or_else(|| OciError::NotAComponent(format!("the layer's digest `{digest}` is not sha256")))?;
        let response = self.send(Method::GET, &format!("{}/blobs/{digest}", self.base), &[], None).await?;
        let response = self.expect(response, "the component's layer").await?;
        let state = (response.bytes_stream(), Some(Sha256::new()), expected);
        Ok(Box::pin(futures_util::stream::unfold(state, |(mut body, mut hasher, expected)| async move {
            match body.next().await {
                Some(Ok(chunk)) => {
                    if let Some(hasher) = hasher.as_mut() {
                        hasher.update(&chunk);
                    }
                    Some((Ok(chunk), (body, hasher, expected)))
                }
                Some(Err(e)) => {
                    let cut = OciError::Unreachable(format!("the registry stopped sending the layer: {}", error_chain(&e)));
                    Some((Err(cut), (body, None, expected)))
                }
                None => {
                    let got = hex::encode(hasher.take()?.finalize());
                    let tampered = OciError::Tampered(format!("the layer does not match its digest: the manifest says sha256:{expected}, the bytes are sha256:{got}"));
                    (got != expected).then(|| (Err(tampered), (body, None, expected)))
                }
            }
        })))
    }

    /// Pushes `component` as `tag`: config and layer blobs, then the manifest.
    pub async fn push(&self, component: &[u8], tag: &str, title: &str) -> Result<String, OciError> {
        let layer_digest = format!("sha256:{}", hex::encode(Sha256::digest(component)));
        let config = serde_json::json!({"architecture": "wasm", "os": "wasip2", "layerDigests": [layer_digest]}).to_string().into_bytes();
        let config_digest = format!("sha256:{}", hex::encode(Sha256::digest(&config)));
        self.upload_blob(&config, &config_digest).await?;
        self.upload_blob(component, &layer_digest).await?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": LAYER_MEDIA_TYPE, "digest": layer_digest, "size": component.len(),
                "annotations": {"org.opencontainers.image.title": title}}],
            "annotations": {"org.opencontainers.image.version": tag},
        })
        .to_string();
        let response = self
            .send(Method::PUT, &format!("{}/manifests/{tag}", self.base), &[(header::CONTENT_TYPE, MANIFEST_MEDIA_TYPE)], Some(Bytes::from(manifest.clone())))
            .await?;
        self.expect(response, &format!("the manifest of `{tag}`")).await?;
        Ok(format!("sha256:{}", hex::encode(Sha256::digest(manifest.as_bytes()))))
    }

    async fn upload_blob(&self, bytes: &[u8], digest: &str) -> Result<(), OciError> {
        let exists = self.send(Method::HEAD, &format!("{}/blobs/{digest}", self.base), &[], None).await?;
        if exists.status().is_success() {
            return Ok(());
        }
        let started = self.send(Method::POST, &format!("{}/blobs/uploads/", self.base), &[], None).await?;
        let started = self.expect(started, "a blob upload").await?;
        let location = started.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).ok_or_else(|| {
            OciError::Unreachable(format!("{}: the registry started an upload without a Location", self.source.registry))
        })?;
        let mut url = reqwest::Url::parse(&format!("{}/", self.base))
            .and_then(|base| base.join(location))
            .map_err(|e| OciError::Unreachable(format!("{}: the upload's Location is not a URL: {e}", self.source.registry)))?;
        url.query_pairs_mut().append_pair("digest", digest);
        let put = self.send(Method::PUT, url.as_str(), &[(header::CONTENT_TYPE, "application/octet-stream")], Some(Bytes::copy_from_slice(bytes))).await?;
        self.expect(put, "a blob upload").await.map(|_| ())
    }

    /// A successful answer, or what its status means for `what`.
    async fn expect(&self, response: reqwest::Response, what: &str) -> Result<reqwest::Response, OciError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        // What the registry says, kept short: a hostile one could answer without end.
        let detail = read_limited(response, 4 << 10, "the answer").await.unwrap_or_default();
        let detail: String = String::from_utf8_lossy(&detail).chars().take(300).collect();
        let registry = &self.source.registry;
        Err(match status {
            StatusCode::NOT_FOUND => OciError::NotFound(format!("{}: {what} is not in the registry", self.source)),
            // Credentials sent and still refused: whose, so the operator knows which to fix.
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => OciError::Unauthorized(match &self.credentials {
                Some((user, _)) => format!(
                    "{registry} refused access to {} ({status}) with the credentials of `{user}` from the docker config file: check them (docker login {registry})",
                    self.source.repository
                ),
                None => format!("{registry} refused access to {} ({status}): give credentials in the docker config file (docker login {registry})", self.source.repository),
            }),
            _ => OciError::Unreachable(format!("{registry} answered {status} for {what}: {detail}")),
        })
    }

    /// Sends a request (token or credentials added when the registry asks), following redirects
    /// through checked addresses only.
    async fn send(&self, method: Method, url: &str, headers: &[(header::HeaderName, &str)], body: Option<Bytes>) -> Result<reqwest::Response, OciError> {
        let mut response = self.send_once(method.clone(), url, headers, body.clone()).await?;
        // Only the registry itself may ask for our credentials: a host it redirected to may not.
        if response.status() == StatusCode::UNAUTHORIZED
            && self.is_registry(response.url())
            && let Some(challenge) = response.headers().get(header::WWW_AUTHENTICATE).and_then(|c| c.to_str().ok()).map(str::to_owned)
        {
            self.authenticate(&challenge).await?;
            response = self.send_once(method, url, headers, body).await?;
        }
        Ok(response)
    }

    async fn send_once(&self, method: Method, url: &str, headers: &[(header::HeaderName, &str)], body: Option<Bytes>) -> Result<reqwest::Response, OciError> {
        let mut url = reqwest::Url::parse(url).map_err(|e| OciError::Refused(format!("`{url}` is not a URL: {e}")))?;
        for _ in 0..=MOST_REDIRECTS {
            let client = self.client_for(&url).await?;
            let mut request = client.request(method.clone(), url.clone());
            for (name, value) in headers {
                request = request.header(name, *value);
            }
            // Credentials go to the registry itself only, never to a storage host it redirects to.
            if self.is_registry(&url) {
                match (self.token.lock().await.clone(), &self.credentials) {
                    (Some(token), _) => request = request.bearer_auth(token),
                    (None, Some((user, password))) => request = request.basic_auth(user, Some(password)),
                    (None, None) => {}
                }
            }
            if let Some(body) = &body {
                request = request.body(body.clone());
            }
            let response = request.send().await.map_err(|e| OciError::Unreachable(format!("{} cannot be reached: {}", self.source.registry, error_chain(&e))))?;
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let location = response.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or_default();
            let next = url.join(location).map_err(|e| OciError::Unreachable(format!("{} redirected to a bad URL: {e}", self.source.registry)))?;
            if url.scheme() == "https" && next.scheme() != "https" {
                return Err(OciError::Refused(format!("{} redirected from https to `{}`: only https is followed", self.source.registry, next.scheme())));
            }
            url = next;
        }
        Err(OciError::Unreachable(format!("{} redirected more than {MOST_REDIRECTS} times", self.source.registry)))
    }

    /// A client whose every connection goes to `url`'s host at addresses checked now.
    async fn client_for(&self, url: &reqwest::Url) -> Result<reqwest::Client, OciError> {
        crate::egress::pinned_client(url, &self.allowed, "registries", CONNECT_TIMEOUT, READ_TIMEOUT).await.map_err(|e| match e {
            crate::egress::EgressError::Refused(why) => OciError::Refused(why),
            crate::egress::EgressError::Unresolved(why) => OciError::Unreachable(why),
        })
    }

    /// Answers the registry's challenge: a bearer token from its auth service (with our
    /// credentials, if any), or plain credentials.
    async fn authenticate(&self, challenge: &str) -> Result<(), OciError> {
        let Some(params) = challenge.strip_prefix("Bearer ").or_else(|| challenge.strip_prefix("bearer ")) else {
            return match self.credentials {
                Some(_) => Ok(()), // Basic: sent with every request already
                None => Err(OciError::Unauthorized(format!(
                    "{} asks for credentials: give them in the docker config file (docker login {})",
                    self.source.registry, self.source.registry
                ))),
            };
        };
        let field = |name: &str| {
            params.split(',').find_map(|part| part.trim().strip_prefix(&format!("{name}=")).map(|v| v.trim_matches('"').to_owned()))
        };
        let realm = field("realm").ok_or_else(|| OciError::Unreachable(format!("{}: a bearer challenge without a realm", self.source.registry)))?;
        let mut url = reqwest::Url::parse(&realm).map_err(|e| OciError::Unreachable(format!("{}: the token realm is not a URL: {e}", self.source.registry)))?;
        // Our credentials travel to the token service: never in clear over the network.
        if url.scheme() != "https" && !(url.scheme() == "http" && url.host_str().is_some_and(is_loopback)) {
            return Err(OciError::Refused(format!("{}: its token service `{realm}` is not https; credentials are sent over https only", self.source.registry)));
        }
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = field("service") {
                query.append_pair("service", &service);
            }
            query.append_pair("scope", &format!("repository:{}:{}", self.source.repository, self.actions));
        }
        let client = self.client_for(&url).await?;
        let mut request = client.get(url);
        if let Some((user, password)) = &self.credentials {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.map_err(|e| OciError::Unreachable(format!("the token service of {} cannot be reached: {e}", self.source.registry)))?;
        if !response.status().is_success() {
            return Err(OciError::Unauthorized(format!("the token service of {} refused ({})", self.source.registry, response.status())));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let text = read_limited(response, 64 << 10, "the token").await?;
        let token: Token = serde_json::from_slice(&text).map_err(|e| OciError::Unreachable(format!("the token of {} is not readable: {e}", self.source.registry)))?;
        *self.token.lock().await = token.token.or(token.access_token);
        Ok(())
    }
}

/// The host of `host[:port]`, an IPv6 address's brackets taken off (`[::1]`, `[::1]:5000`).
fn registry_host(registry: &str) -> &str {
    match registry.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(host, _)| host),
        None => registry.rsplit_once(':').map_or(registry, |(host, _)| host),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The registry's credentials from the docker config file, if it has them.
fn credentials_for(registry: &str) -> Option<(String, String)> {
    match docker_credential::get_credential(registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => Some((user, password)),
        _ => None,
    }
}

/// At most `limit` bytes of an answer: a registry could otherwise answer without end.
async fn read_limited(response: reqwest::Response, limit: usize, what: &str) -> Result<Vec<u8>, OciError> {
    match crate::egress::read_at_most(response, limit).await {
        Ok((read, false)) => Ok(read),
        Ok((_, true)) => Err(OciError::NotAComponent(format!("{what} is larger than {} KiB", limit >> 10))),
        Err(e) => Err(OciError::Unreachable(format!("the registry stopped answering: {}", error_chain(&e)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_a_registry_a_repository_and_a_version_tag_or_range() {
        let source = Source::parse("oci://ghcr.io/acme/sms-gateway:1.2.0").unwrap();
        assert_eq!((source.registry.as_str(), source.repository.as_str()), ("ghcr.io", "acme/sms-gateway"));
        assert_eq!(source.wanted, Wanted::Tag("1.2.0".into()));
        let ranged = Source::parse("oci://127.0.0.1:5000/plugins/echo:^1.2").unwrap();
        assert_eq!(ranged.registry, "127.0.0.1:5000");
        assert_eq!(ranged.wanted, Wanted::Range(semver::VersionReq::parse("^1.2").unwrap()));
        assert_eq!(Source::parse("oci://r.example/x:latest").unwrap().wanted, Wanted::Tag("latest".into()));
        for bad in ["ghcr.io/acme/x:1.0.0", "oci://ghcr.io", "oci://ghcr.io/acme/x", "oci://ghcr.io/Acme/x:1.0.0", "oci://ghcr.io/acme/x:^one", "oci://ghcr.io//x:1.0.0"] {
            assert!(Source::parse(bad).is_err(), "{bad} was taken");
        }
        assert!(Source::parse("oci://ghcr.io/acme/x").unwrap_err().contains("names no version"));
    }

    #[test]
    fn a_catalogue_names_a_repository_without_a_version() {
        let source = Source::parse_repository("oci://GHCR.io/acme/sms-gateway/").unwrap();
        assert_eq!((source.registry.as_str(), source.repository.as_str()), ("ghcr.io", "acme/sms-gateway"));
        assert_eq!(source.repository_reference(), "oci://ghcr.io/acme/sms-gateway");
        assert_eq!(Source::parse_repository("oci://127.0.0.1:5000/plugins/echo").unwrap().repository_reference(), "oci://127.0.0.1:5000/plugins/echo");
        assert!(Source::parse_repository("oci://ghcr.io/acme/x:1.0.0").unwrap_err().contains("names a version"));
        for bad in ["ghcr.io/acme/x", "oci://ghcr.io", "oci://127.0.0.1:5000", "oci://ghcr.io/Acme/x", "oci://ghcr.io//x", "oci://ghcr.io/acme/x@sha256:00"] {
            assert!(Source::parse_repository(bad).is_err(), "{bad} was taken");
        }
        // What an install from a version or a range records: the same repository.
        let installed = Source::parse("oci://127.0.0.1:5000/plugins/echo:^2").unwrap();
        assert_eq!(installed.repository_reference(), "oci://127.0.0.1:5000/plugins/echo");
    }

    #[test]
    fn a_registry_on_loopback_is_spoken_to_in_plain_http_whatever_its_spelling() {
        for (registry, base) in [("127.0.0.1:5000", "http://127.0.0.1:5000"), ("[::1]", "http://[::1]"), ("[::1]:5000", "http://[::1]:5000"), ("localhost", "http://localhost"), ("ghcr.io", "https://ghcr.io")] {
            let source = Source::parse(&format!("oci://{registry}/acme/x:1.0.0")).unwrap();
            assert_eq!(Repository::new(&source, &[], false).base, format!("{base}/v2/acme/x"), "{registry}");
        }
    }

    /// The registry redirects the layer to another origin (same address, another port) that asks
    /// for credentials with a token realm of its own: it must get none of ours, neither with the
    /// redirected request nor through its challenge.
    #[tokio::test]
    async fn credentials_go_to_the_registry_itself_never_to_a_host_it_redirects_to() {
        use axum::{http::HeaderMap, response::IntoResponse};
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let storage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let storage_at = storage.local_addr().unwrap();
        let storage_app = axum::Router::new().fallback({
            let seen = seen.clone();
            move |headers: HeaderMap| async move {
                if let Some(auth) = headers.get("authorization") {
                    seen.lock().unwrap().push(auth.to_str().unwrap_or_default().to_owned());
                }
                let challenge = format!("Bearer realm=\"http://{storage_at}/token\",service=\"storage\"");
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response()
            }
        });
        tokio::spawn(async move { axum::serve(storage, storage_app).await });
        let registry = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let registry_at = registry.local_addr().unwrap();
        let registry_app = axum::Router::new().fallback(move || async move {
            (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, format!("http://{storage_at}/blob"))]).into_response()
        });
        tokio::spawn(async move { axum::serve(registry, registry_app).await });

        let source = Source::parse(&format!("oci://{registry_at}/acme/x:1.0.0")).unwrap();
        let allowed = [HostPattern::parse(&registry_at.to_string()).unwrap(), HostPattern::parse(&storage_at.to_string()).unwrap()];
        let mut repository = Repository::new(&source, &allowed, false);
        repository.credentials = Some(("operator".into(), "s3cret".into()));
        let layer = Descriptor::new(oci_spec::image::MediaType::Other(LAYER_MEDIA_TYPE.into()), 4, format!("sha256:{}", "0".repeat(64)).parse::<oci_spec::image::Digest>().unwrap());
        let refused = repository.layer_bytes(&layer).await.err().expect("the storage host refused");
        assert!(matches!(refused, OciError::Unauthorized(_)), "{refused}");
        assert_eq!(*seen.lock().unwrap(), Vec::<String>::new(), "the storage host got our credentials");
    }
}
