//! A real OCI registry for a test: Debian's `docker-registry` (the CNCF distribution registry),
//! installed by `.ci/install-registry` when missing, started on a free loopback port with its
//! storage in a temp dir, stopped when dropped. Plain HTTP, as Switchboard speaks to a registry
//! on a loopback address. [`OciRegistry::start_with_credentials`] starts one that asks for
//! credentials (HTTP basic auth checked against an htpasswd file, as a private registry does).
//!
//! One file for the end-to-end tests (`switchboard-e2e`, where it is `oci_registry`) and the
//! host's own tests (`host/tests/support`, through `#[path]`): those run `switchboard` as a
//! process of its own, which the registry's credentials reach through its environment
//! (`DOCKER_CONFIG`). `super::PATIENCE` is each one's.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::io::{BufRead, BufReader};

use super::PATIENCE;

/// The one user of a registry started with [`OciRegistry::start_with_credentials`].
pub const USER: &str = "publisher";
/// [`USER`]'s password.
pub const PASSWORD: &str = "s3cret-pass";
/// [`PASSWORD`]'s bcrypt hash (the only kind distribution's htpasswd takes), cost 5, made once
/// with libxcrypt, which Debian's libc uses (no bcrypt crate is built for the tests):
/// `perl -e 'print crypt("s3cret-pass", q{$2b$05$SwitchboardTestSaltAbC.})'`.
const PASSWORD_BCRYPT: &str = "$2b$05$SwitchboardTestSaltAb.EoOpj8.mTH4IUhkJ7Dc1YDNiPV5pZCy";

pub struct OciRegistry {
    /// `127.0.0.1:PORT`: what `--allow-outbound` takes, and the registry part of `oci://` names.
    pub authority: String,
    /// The user and password it asks for ([`USER`], [`PASSWORD`]); `None`: it asks for none.
    pub credentials: Option<(String, String)>,
    child: Child,
    _dir: tempfile::TempDir,
}

impl OciRegistry {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// A registry that asks for credentials: [`USER`] with [`PASSWORD`] is let in, anything
    /// else (none, a wrong password) answers 401 with a `Basic` challenge. Distribution's
    /// `auth: htpasswd`.
    pub async fn start_with_credentials() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(credentials: bool) -> Self {
        let binary = binary();
        let dir = tempfile::tempdir().unwrap();
        let auth = if credentials {
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{USER}:{PASSWORD_BCRYPT}\n")).unwrap();
            format!("auth:\n  htpasswd:\n    realm: switchboard-tests\n    path: {}\n", htpasswd.display())
        } else {
            String::new()
        };
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let mut child = Command::new(&binary).arg("serve").arg(&config).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
            // Ready once it logs that it listens (after the bind); a port taken meanwhile is a
            // fatal line and an exit: try another. The log is read to its end, so the registry
            // never blocks on a full pipe.
            let log = child.stderr.take().unwrap();
            let (told, heard) = tokio::sync::oneshot::channel::<bool>();
            std::thread::spawn(move || {
                let mut told = Some(told);
                for line in BufReader::new(log).lines().map_while(Result::ok) {
                    let verdict = if line.contains("msg=\"listening on") { Some(true) } else if line.contains("level=fatal") { Some(false) } else { None };
                    if let Some(ready) = verdict
                        && let Some(told) = told.take()
                    {
                        let _ = told.send(ready);
                    }
                }
            });
            if let Ok(Ok(true)) = tokio::time::timeout(PATIENCE, heard).await {
                let credentials = credentials.then(|| (USER.to_owned(), PASSWORD.to_owned()));
                return Self { authority: format!("127.0.0.1:{port}"), credentials, child, _dir: dir };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the OCI registry did not start");
    }

    /// Pushes a component file as `repository:version` with the host's own code, as
    /// `switchboard plugin push` does (the tag is not checked against the file's version here).
    /// That code takes credentials from the docker config file of this process only: for a
    /// registry asking for them, push with `switchboard plugin push` and `DOCKER_CONFIG`.
    pub async fn push(&self, repository: &str, file: &str, version: &str) {
        use switchboard::oci::{Repository, Source};
        let source = Source::parse(&format!("oci://{}/{repository}:{version}", self.authority)).unwrap();
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let allowed = [switchboard::runtime::HostPattern::parse(&self.authority).unwrap()];
        Repository::new(&source, &allowed, true).push(&bytes, version, "echo.wasm").await.unwrap();
    }

    /// Puts a manifest and its blobs straight through the registry's HTTP API, as any OCI
    /// client would (no Switchboard code involved): `config` with `config_type`, one layer.
    pub async fn put_artifact(&self, repository: &str, tag: &str, config_type: &str, config: &[u8], layer_type: &str, layer: &[u8]) {
        let client = reqwest::Client::new();
        let mut digests = Vec::new();
        for blob in [config, layer] {
            let digest = format!("sha256:{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(blob)));
            let started = self.authorized(client.post(format!("http://{}/v2/{repository}/blobs/uploads/", self.authority))).send().await.unwrap();
            assert_eq!(started.status(), 202);
            let location = started.headers()["location"].to_str().unwrap().to_owned();
            let url = if location.starts_with("http") { location } else { format!("http://{}{location}", self.authority) };
            let separator = if url.contains('?') { '&' } else { '?' };
            let put = self.authorized(client.put(format!("{url}{separator}digest={digest}"))).body(blob.to_vec()).send().await.unwrap();
            assert_eq!(put.status(), 201, "{}", put.text().await.unwrap());
            digests.push((digest, blob.len()));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": config_type, "digest": digests[0].0, "size": digests[0].1},
            "layers": [{"mediaType": layer_type, "digest": digests[1].0, "size": digests[1].1}],
        });
        let put = self
            .authorized(client.put(format!("http://{}/v2/{repository}/manifests/{tag}", self.authority)))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(manifest.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 201, "{}", put.text().await.unwrap());
    }

    /// The repository's tags as any client lists them (with the registry's credentials when it
    /// asks for them), sorted; none when the repository is not there.
    pub async fn tags(&self, repository: &str) -> Vec<String> {
        let response = self.authorized(reqwest::Client::new().get(format!("http://{}/v2/{repository}/tags/list", self.authority))).send().await.unwrap();
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Vec::new();
        }
        let listed: serde_json::Value = response.json().await.unwrap();
        assert!(status.is_success(), "the tags of {repository}: {status} {listed}");
        let mut tags: Vec<String> = listed["tags"].as_array().map(|tags| tags.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()).unwrap_or_default();
        tags.sort();
        tags
    }

    /// Writes `dir/config.json` as `docker login <this registry>` leaves it: `user:password`,
    /// base64, under `auths` and this registry's `host:port`. What Switchboard reads with
    /// `DOCKER_CONFIG=dir` (at every request to a registry, so a rewrite counts at once).
    pub fn docker_login(&self, dir: &Path, user: &str, password: &str) {
        use base64::Engine;
        let mut auths = serde_json::Map::new();
        auths.insert(self.authority.clone(), serde_json::json!({"auth": base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))}));
        std::fs::write(dir.join("config.json"), serde_json::json!({"auths": auths}).to_string()).unwrap();
    }

    /// A request with this registry's credentials, when it asks for them.
    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.credentials {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }
}

impl Drop for OciRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The registry binary, installed by the project's script when missing.
fn binary() -> std::path::PathBuf {
    let installed = Path::new("/usr/bin/docker-registry");
    if !installed.exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/install-registry");
        let status = Command::new("bash").arg(&script).status().unwrap();
        assert!(status.success(), "{} failed: install Debian's docker-registry package", script.display());
    }
    installed.to_path_buf()
}
