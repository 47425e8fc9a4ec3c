//! A real OCI registry for a test: Debian's `docker-registry` (the CNCF distribution registry),
//! installed by `.ci/install-registry` when missing, started on a free loopback port with its
//! storage in a temp dir, stopped when dropped. Plain HTTP, as Switchboard speaks to a registry
//! on a loopback address.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::PATIENCE;

pub struct OciRegistry {
    /// `127.0.0.1:PORT`: what `--allow-outbound` takes, and the registry part of `oci://` names.
    pub authority: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl OciRegistry {
    pub async fn start() -> Self {
        let binary = binary();
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("log")).unwrap();
            let child = Command::new(&binary).arg("serve").arg(&config).stdout(Stdio::null()).stderr(log).spawn().unwrap();
            let mut child = child;
            let authority = format!("127.0.0.1:{port}");
            // Ready when `/v2/` answers; a port taken meanwhile ends the process: try another.
            let deadline = Instant::now() + PATIENCE;
            while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                if let Ok(answer) = reqwest::get(format!("http://{authority}/v2/")).await
                    && answer.status() == 200
                {
                    return Self { authority, child, _dir: dir };
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the OCI registry did not start");
    }

    /// Puts a manifest and its blobs straight through the registry's HTTP API, as any OCI
    /// client would (no Switchboard code involved): `config` with `config_type`, one layer.
    pub async fn put_artifact(&self, repository: &str, tag: &str, config_type: &str, config: &[u8], layer_type: &str, layer: &[u8]) {
        let client = reqwest::Client::new();
        let mut digests = Vec::new();
        for blob in [config, layer] {
            let digest = format!("sha256:{}", hex(&<sha2::Sha256 as sha2::Digest>::digest(blob)));
            let started = client.post(format!("http://{}/v2/{repository}/blobs/uploads/", self.authority)).send().await.unwrap();
            assert_eq!(started.status(), 202);
            let location = started.headers()["location"].to_str().unwrap().to_owned();
            let url = if location.starts_with("http") { location } else { format!("http://{}{location}", self.authority) };
            let separator = if url.contains('?') { '&' } else { '?' };
            let put = client.put(format!("{url}{separator}digest={digest}")).body(blob.to_vec()).send().await.unwrap();
            assert_eq!(put.status(), 201, "{}", put.text().await.unwrap());
            digests.push((digest, blob.len()));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": config_type, "digest": digests[0].0, "size": digests[0].1},
            "layers": [{"mediaType": layer_type, "digest": digests[1].0, "size": digests[1].1}],
        });
        let put = client
            .put(format!("http://{}/v2/{repository}/manifests/{tag}", self.authority))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(manifest.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 201, "{}", put.text().await.unwrap());
    }
}

impl Drop for OciRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
