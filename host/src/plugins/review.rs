//! The operator's review of an upload before it runs: a new plugin, or an upgrade that would
//! reach more than the live version (more outbound hosts, more host imports) or was signed by
//! another key (a built-in replaced included), waits in
//! `<data-dir>/pending` with what it asks for, while the live version (if any) keeps serving;
//! the operator approves or rejects it. An upgrade that asks for nothing new goes live at once.
//! Files dropped in the plugins folder and `switchboard plugin install` are the operator's own
//! act on the machine and need no second step.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::PluginError;
use crate::app::App;
use crate::runtime::LoadedPlugin;
use crate::runtime::types::Capability;

/// What an upload asks for, shown to the operator before approving.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    pub id: String,
    pub name: String,
    pub version: String,
    /// The key that signed it (base64), or `null` when unsigned components are allowed.
    pub signer: Option<String>,
    pub outbound_hosts: Vec<String>,
    pub capabilities: Vec<String>,
    /// Host capabilities it imports (`switchboard:channel/smtp`, `wasi:http/outgoing-handler`, ...).
    pub host_imports: Vec<String>,
    /// The live version it would replace, if any.
    pub replaces: Option<String>,
    /// What it asks for that the live version does not have (everything, for a new plugin).
    pub new_outbound_hosts: Vec<String>,
    pub new_host_imports: Vec<String>,
    /// The live version's signer (`built-in` for a first-party plugin), when this upgrade was
    /// signed by another key (or by none): another author taking a plugin over, and its
    /// channels' credentials with it, is the operator's call however little it asks for.
    #[serde(default)]
    pub replaces_signer: Option<String>,
    /// The repository it was pulled from (`oci://<registry>/<repository>`), recorded with the
    /// plugin once approved; `null` for an uploaded file.
    #[serde(default)]
    pub source: Option<String>,
}

impl Review {
    pub fn of(plugin: &LoadedPlugin, live: Option<&LoadedPlugin>) -> Self {
        let hosts = &plugin.manifest.outbound_hosts;
        let added = |now: &[String], before: Option<&[String]>| -> Vec<String> {
            now.iter().filter(|item| !before.is_some_and(|b| b.contains(item))).cloned().collect()
        };
        Self {
            id: plugin.id().to_owned(),
            name: plugin.manifest.name.clone(),
            version: plugin.version.to_string(),
            signer: plugin.signer.clone(),
            outbound_hosts: hosts.clone(),
            capabilities: plugin.manifest.capabilities.iter().map(|c| capability_name(*c).to_owned()).collect(),
            host_imports: plugin.host_imports.clone(),
            replaces: live.map(|l| l.version.to_string()),
            new_outbound_hosts: added(hosts, live.map(|l| l.manifest.outbound_hosts.as_slice())),
            new_host_imports: added(&plugin.host_imports, live.map(|l| l.host_imports.as_slice())),
            replaces_signer: live.filter(|l| l.signer != plugin.signer).map(|l| l.signer.clone().unwrap_or_else(|| "unsigned".into())),
            source: None,
        }
    }

    /// A new plugin, one that would reach more than the live version, or one signed by another
    /// key than the live version.
    pub fn needs_approval(&self) -> bool {
        self.replaces.is_none() || !self.new_outbound_hosts.is_empty() || !self.new_host_imports.is_empty() || self.replaces_signer.is_some()
    }
}

pub fn capability_name(capability: Capability) -> &'static str {
    match capability {
        Capability::Templates => "templates",
        Capability::OauthConnect => "oauth_connect",
        Capability::SendMedia => "send_media",
        Capability::SendTemplates => "send_templates",
        Capability::FixedName => "fixed_name",
    }
}

/// Where the upload of plugin `id` waits.
pub fn pending_path(app: &App, id: &str) -> Result<PathBuf, PluginError> {
    super::plugin_file(&app.pending_dir, id, ".wasm")
}

/// The review kept beside a waiting upload.
pub fn review_path(app: &App, id: &str) -> Result<PathBuf, PluginError> {
    super::plugin_file(&app.pending_dir, id, ".review.json")
}

/// The ids waiting for approval.
pub fn pending_ids(app: &App) -> Vec<String> {
    super::component_files(&app.pending_dir)
        .iter()
        .filter_map(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect()
}
