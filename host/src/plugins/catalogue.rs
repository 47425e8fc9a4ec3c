//! The operator's catalogue: the OCI repositories the host lists (`serve --catalogue
//! oci://REGISTRY/REPOSITORY`, repeatable), each with the versions its registry holds, and what
//! of it is installed. `GET /api/v1/catalogue`, the Plugins page's Catalogue section and
//! `switchboard plugin outdated` all read it here.
//!
//! - **Which plugin a repository is.** An install from `oci://registry/repository:tag` (the API,
//!   the page, `plugin install oci://…`) records `oci://registry/repository` beside the plugin
//!   (`<data-dir>/plugins/<id>.source`; on Postgres also in `plugin_components.source`, so every
//!   node writes the same record). A repository is matched to the installed plugin that
//!   recorded it; none: "not installed". A plugin installed from a file (upload, folder, `plugin
//!   install FILE`) records nothing (an earlier record is dropped), so it matches no repository.
//! - **Versions** are the repository's semver tags (other tags, such as the `sha256-…` tags
//!   signatures hide behind, are left out), newest first. `newest` is the newest release (a
//!   pre-release is listed but never offered); `newest_compatible` the newest release with the
//!   installed version's major that is greater than it (a new major is `newest` alone: it may
//!   break what the plugin's channels rely on, so the page labels it).
//! - **Registries** are read concurrently, each within [`READ_TIMEOUT`]; one that cannot be read
//!   gives its entry an `error` and never fails the others.

use std::time::Duration;

use serde::Serialize;

use crate::oci::{Repository, Source};
use crate::runtime::HostPattern;

/// How long one registry may take to list its tags.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// One repository of the catalogue, as `GET /api/v1/catalogue` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CatalogueEntry {
    /// `oci://<registry>/<repository>`: install a version with `POST /api/v1/plugins`
    /// `{"source": "<source>:<version>"}`.
    pub source: String,
    /// The installed plugin that came from this repository (its id), or `null`: not installed.
    pub plugin: Option<String>,
    /// Its version now serving, or `null`.
    pub installed: Option<String>,
    /// The repository's version tags, newest first (empty when the registry could not be read).
    pub versions: Vec<String>,
    /// The newest release with the installed version's major, greater than it; `null` when the
    /// installed version is the newest of its major (or nothing is installed).
    pub newest_compatible: Option<String>,
    /// The newest release, whatever its major; `null` when there is none.
    pub newest: Option<String>,
    /// Why the registry could not be read (unreachable, refused, no such repository …), or `null`.
    pub error: Option<String>,
}

/// An installed plugin that recorded the repository it was installed from.
#[derive(Debug, Clone)]
pub struct InstalledFrom {
    pub plugin: String,
    pub version: semver::Version,
    /// `oci://<registry>/<repository>`.
    pub source: String,
}

/// Every repository's entry, in the order given: the registries read concurrently, each within
/// `timeout`. `allowed`: the hosts reached whatever their address (see `crate::oci::Repository::new`).
pub async fn read(repositories: &[Source], installed: &[InstalledFrom], allowed: &[HostPattern], timeout: Duration) -> Vec<CatalogueEntry> {
    let reads: Vec<_> = repositories
        .iter()
        .map(|source| {
            let (source, allowed) = (source.clone(), allowed.to_vec());
            tokio::spawn(async move {
                let repository = Repository::new(&source, &allowed, false);
                match tokio::time::timeout(timeout, repository.versions()).await {
                    Ok(Ok(versions)) => Ok(versions),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(_) => Err(format!("{} did not list the versions of {} within {} s", source.registry, source.repository, timeout.as_secs())),
                }
            })
        })
        .collect();
    let mut entries = Vec::with_capacity(reads.len());
    for (source, read) in repositories.iter().zip(reads) {
        let listed = read.await.unwrap_or_else(|e| Err(format!("reading the registry failed: {e}")));
        entries.push(entry(source, listed, installed));
    }
    entries
}

/// One repository's entry from what its registry listed.
pub fn entry(source: &Source, listed: Result<Vec<semver::Version>, String>, installed: &[InstalledFrom]) -> CatalogueEntry {
    let reference = source.repository_reference();
    let here = installed.iter().find(|i| i.source == reference);
    let (mut versions, error) = match listed {
        Ok(versions) => (versions, None),
        Err(error) => (Vec::new(), Some(error)),
    };
    versions.sort_by(|a, b| b.cmp(a));
    versions.dedup();
    let releases = || versions.iter().filter(|v| v.pre.is_empty());
    let newest = releases().next().map(ToString::to_string);
    let newest_compatible = here.and_then(|i| releases().find(|v| v.major == i.version.major && **v > i.version)).map(ToString::to_string);
    CatalogueEntry {
        source: reference,
        plugin: here.map(|i| i.plugin.clone()),
        installed: here.map(|i| i.version.to_string()),
        versions: versions.iter().map(ToString::to_string).collect(),
        newest_compatible,
        newest,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &[&str]) -> Vec<semver::Version> {
        list.iter().map(|v| v.parse().unwrap()).collect()
    }

    #[test]
    fn the_newest_compatible_version_keeps_the_installed_major_and_a_new_major_is_only_the_newest() {
        let source = Source::parse_repository("oci://registry.example/plugins/echo").unwrap();
        let installed = [InstalledFrom { plugin: "echo".into(), version: "2.0.0".parse().unwrap(), source: "oci://registry.example/plugins/echo".into() }];
        let entry = entry(&source, Ok(versions(&["1.0.0", "3.0.0", "2.1.0", "2.0.0", "2.2.0-rc.1", "2.1.0"])), &installed);
        assert_eq!(entry.versions, ["3.0.0", "2.2.0-rc.1", "2.1.0", "2.0.0", "1.0.0"], "newest first, once each");
        assert_eq!((entry.plugin.as_deref(), entry.installed.as_deref()), (Some("echo"), Some("2.0.0")));
        assert_eq!((entry.newest_compatible.as_deref(), entry.newest.as_deref()), (Some("2.1.0"), Some("3.0.0")), "a pre-release is never offered");
        assert_eq!(entry.error, None);

        let up_to_date = [InstalledFrom { version: "3.0.0".parse().unwrap(), ..installed[0].clone() }];
        assert_eq!(super::entry(&source, Ok(versions(&["3.0.0", "2.0.0"])), &up_to_date).newest_compatible, None);
    }

    #[test]
    fn a_repository_nobody_installed_from_or_that_cannot_be_read_says_so() {
        let source = Source::parse_repository("oci://registry.example/plugins/echo").unwrap();
        let elsewhere = [InstalledFrom { plugin: "echo".into(), version: "1.0.0".parse().unwrap(), source: "oci://registry.example/other/echo".into() }];
        let entry = entry(&source, Ok(versions(&["1.0.0"])), &elsewhere);
        assert_eq!((entry.plugin, entry.installed, entry.newest_compatible, entry.newest.as_deref()), (None, None, None, Some("1.0.0")));
        let failed = super::entry(&source, Err("registry.example cannot be reached".into()), &[]);
        assert_eq!((failed.versions.len(), failed.newest, failed.error.as_deref()), (0, None, Some("registry.example cannot be reached")));
    }
}
