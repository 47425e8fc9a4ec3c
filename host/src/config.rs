//! The server's settings, from four places in this order of precedence: a command-line flag,
//! its `SWITCHBOARD_*` environment variable (both read by clap into [`ServeArgs`]), the
//! optional `switchboard.toml` ([`ConfigFile`]), then the default. [`Settings::resolve`] merges
//! and validates them once, for `serve` and `config check` alike, so both refuse the same
//! mistakes with the same words.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::app::{DEFAULT_MAX_MAIL_BYTES, MailOptions, PluginTrust, ServeConfig};
use crate::runtime::Limits;
use crate::runtime::HostPattern;

/// The file read when `--config` is not given, if it exists (in the working directory).
pub const DEFAULT_CONFIG_FILE: &str = "switchboard.toml";

/// `serve`'s flags. Every one is optional here: `None` means neither the flag nor its
/// variable was given, so the file or the default decides.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (keys as the flags, with `_` for `-`).
    /// Default: ./switchboard.toml when it exists.
    #[arg(long, value_name = "FILE", env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to serve HTTP on. Default: 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR", env = "SWITCHBOARD_LISTEN")]
    pub listen: Option<String>,
    /// Where the database, secret key, plugins and caches live. Default: ./data.
    #[arg(long, value_name = "DIR", env = "SWITCHBOARD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where compiled plugins are kept between runs. Several servers on one machine may share
    /// it (entries are named by component and engine settings, written whole, checked when
    /// read). Default: <data-dir>/cache.
    #[arg(long, value_name = "DIR", env = "SWITCHBOARD_COMPILE_CACHE")]
    pub compile_cache: Option<PathBuf>,
    /// Keep everything in Postgres (`postgres://user:password@host/db`) instead of SQLite in the
    /// data dir, so several nodes serve one installation. Every node needs the same
    /// `<data-dir>/secret.key`. Default: SQLite.
    #[arg(long, value_name = "URL", env = "SWITCHBOARD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The URL providers reach this host at (webhook URLs are built from it). Default: http://<listen>.
    #[arg(long, value_name = "URL", env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Let plugins call HOST[:PORT] besides the hosts they declare (repeatable; in the
    /// environment, comma-separated). No port: any port.
    #[arg(long = "allow-outbound", value_name = "HOST[:PORT]", env = "SWITCHBOARD_ALLOW_OUTBOUND", value_delimiter = ',')]
    pub allow_outbound: Vec<String>,
    /// Wall-clock limit of one plugin call, in milliseconds. Default: 15000.
    #[arg(long, value_name = "MS", env = "SWITCHBOARD_PLUGIN_TIMEOUT_MS")]
    pub plugin_timeout_ms: Option<u64>,
    /// Memory one plugin instance may use, in MiB. Default: 64.
    #[arg(long, value_name = "MIB", env = "SWITCHBOARD_PLUGIN_MEMORY_MB")]
    pub plugin_memory_mb: Option<usize>,
    /// Receive mail by SMTP on ADDR (e.g. 0.0.0.0:25): email channels' forwarding addresses.
    #[arg(long, value_name = "ADDR", env = "SWITCHBOARD_SMTP_LISTEN")]
    pub smtp_listen: Option<String>,
    /// The domain of email channels' forwarding addresses. Default: the public URL's host.
    #[arg(long, value_name = "DOMAIN", env = "SWITCHBOARD_INBOUND_DOMAIN")]
    pub inbound_domain: Option<String>,
    /// The largest mail message taken by SMTP or relay, in MiB. Default: 10.
    #[arg(long, value_name = "MIB", env = "SWITCHBOARD_MAIL_MAX_MB")]
    pub mail_max_mb: Option<usize>,
    /// The largest attachment file kept (downloaded from a provider or uploaded by an agent),
    /// in MiB. Default: 25 (why: `media::DEFAULT_MAX_MB`).
    #[arg(long, value_name = "MIB", env = "SWITCHBOARD_MEDIA_MAX_MB")]
    pub media_max_mb: Option<u64>,
    /// On SIGTERM or SIGINT: seconds to let in-flight requests and deliveries finish before
    /// exiting anyway (undelivered messages stay queued for the next start). Default: 30.
    #[arg(long, value_name = "SECONDS", env = "SWITCHBOARD_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<u64>,
    /// Keep every channel webhook delivery as a replayable fixture under DIR/<plugin>/ (secrets
    /// replaced by placeholders; bodies, with customers' messages, kept). Off by default.
    #[arg(long, value_name = "DIR", env = "SWITCHBOARD_RECORD_WEBHOOKS")]
    pub record_webhooks: Option<PathBuf>,
    /// Seconds an event webhook delivery is retried (backoff 5 s, 5 min, 30 min, 2 h, 5 h, then
    /// every 10 h) before it fails and its endpoint is disabled. Default: 86400 (24 h).
    #[arg(long, value_name = "SECONDS", env = "SWITCHBOARD_WEBHOOK_RETRY_HORIZON")]
    pub webhook_retry_horizon: Option<u64>,
    /// `text` (default) or `json`: one JSON object per line, with the request id of the
    /// request a line belongs to.
    #[arg(long, value_name = "FORMAT", env = "SWITCHBOARD_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// A base64 Ed25519 public key whose signatures this host trusts (repeatable; in the
    /// environment, comma-separated). Made by `switchboard plugin keygen`.
    #[arg(long = "trusted-key", value_name = "KEY", env = "SWITCHBOARD_TRUSTED_KEYS", value_delimiter = ',')]
    pub trusted_keys: Vec<String>,
    /// Run plugins nobody signed (development). Default: refused.
    #[arg(long, value_name = "BOOL", env = "SWITCHBOARD_ALLOW_UNSIGNED_PLUGINS", num_args = 0..=1, default_missing_value = "true")]
    pub allow_unsigned_plugins: Option<bool>,
    /// An OCI repository of plugins the operator installs and upgrades from the Plugins page
    /// (`GET /api/v1/catalogue`, `plugin outdated`): oci://REGISTRY/REPOSITORY, no version
    /// (repeatable; in the environment, comma-separated). A registry at an internal address
    /// needs --allow-outbound, as for any install from a registry.
    #[arg(long = "catalogue", value_name = "oci://REGISTRY/REPOSITORY", env = "SWITCHBOARD_CATALOGUE", value_delimiter = ',')]
    pub catalogue: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `switchboard.toml`: the same settings as the flags; an unknown key is refused by name (a
/// typo must not silently fall back to a default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub compile_cache: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub allow_outbound: Option<Vec<String>>,
    pub plugin_timeout_ms: Option<u64>,
    pub plugin_memory_mb: Option<usize>,
    pub smtp_listen: Option<String>,
    pub inbound_domain: Option<String>,
    pub mail_max_mb: Option<usize>,
    pub media_max_mb: Option<u64>,
    pub shutdown_timeout: Option<u64>,
    pub record_webhooks: Option<PathBuf>,
    pub webhook_retry_horizon: Option<u64>,
    pub log_format: Option<LogFormat>,
    pub trusted_keys: Option<Vec<String>>,
    pub allow_unsigned_plugins: Option<bool>,
    pub catalogue: Option<Vec<String>>,
}

/// The settings in force, validated. Serialised (as TOML) by `config check`.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// The file that was read, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<PathBuf>,
    pub listen: String,
    pub data_dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile_cache: Option<PathBuf>,
    /// Shown without its password.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "without_password")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    pub allow_outbound: Vec<String>,
    pub plugin_timeout_ms: u64,
    pub plugin_memory_mb: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound_domain: Option<String>,
    pub mail_max_mb: usize,
    pub media_max_mb: u64,
    pub shutdown_timeout: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_webhooks: Option<PathBuf>,
    pub webhook_retry_horizon: u64,
    pub log_format: LogFormat,
    pub trusted_keys: Vec<String>,
    pub allow_unsigned_plugins: bool,
    pub catalogue: Vec<String>,
}

impl Settings {
    /// Merges the flags and variables (`args`) over the file over the defaults, and checks
    /// every value. The error names the setting and where its value came from.
    pub fn resolve(args: ServeArgs) -> anyhow::Result<Self> {
        let (config_file, file) = read_file(args.config.as_deref())?;
        let settings = Self {
            config_file,
            listen: args.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into()),
            data_dir: args.data_dir.or(file.data_dir).unwrap_or_else(|| "data".into()),
            compile_cache: args.compile_cache.or(file.compile_cache),
            database_url: args.database_url.or(file.database_url),
            public_url: args.public_url.or(file.public_url),
            allow_outbound: if args.allow_outbound.is_empty() { file.allow_outbound.unwrap_or_default() } else { args.allow_outbound },
            plugin_timeout_ms: args.plugin_timeout_ms.or(file.plugin_timeout_ms).unwrap_or(15_000),
            plugin_memory_mb: args.plugin_memory_mb.or(file.plugin_memory_mb).unwrap_or(64),
            smtp_listen: args.smtp_listen.or(file.smtp_listen),
            inbound_domain: args.inbound_domain.or(file.inbound_domain),
            mail_max_mb: args.mail_max_mb.or(file.mail_max_mb).unwrap_or(DEFAULT_MAX_MAIL_BYTES >> 20),
            media_max_mb: args.media_max_mb.or(file.media_max_mb).unwrap_or(crate::media::DEFAULT_MAX_MB),
            shutdown_timeout: args.shutdown_timeout.or(file.shutdown_timeout).unwrap_or(30),
            record_webhooks: args.record_webhooks.or(file.record_webhooks),
            webhook_retry_horizon: args.webhook_retry_horizon.or(file.webhook_retry_horizon).unwrap_or(24 * 3600),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            trusted_keys: if args.trusted_keys.is_empty() { file.trusted_keys.unwrap_or_default() } else { args.trusted_keys },
            allow_unsigned_plugins: args.allow_unsigned_plugins.or(file.allow_unsigned_plugins).unwrap_or(false),
            catalogue: if args.catalogue.is_empty() { file.catalogue.unwrap_or_default() } else { args.catalogue },
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        check_address("listen", &self.listen)?;
        if let Some(url) = &self.database_url {
            anyhow::ensure!(
                url.starts_with("postgres://") || url.starts_with("postgresql://"),
                "database_url: only Postgres is supported (postgres://user:password@host:5432/database); leave it out for SQLite in the data dir"
            );
            url.parse::<tokio_postgres::Config>().map_err(|e| anyhow::anyhow!("database_url: not a Postgres URL: {e}"))?;
        }
        if let Some(smtp) = &self.smtp_listen {
            check_address("smtp_listen", smtp)?;
        }
        if let Some(url) = &self.public_url {
            let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
            anyhow::ensure!(
                host.is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace)),
                "public_url: `{url}` is not an http(s) URL (e.g. https://switchboard.example.com)"
            );
        }
        for key in &self.trusted_keys {
            crate::signing::parse_public_key(key).map_err(|e| anyhow::anyhow!("trusted_keys: {e}"))?;
        }
        for host in &self.allow_outbound {
            HostPattern::parse(host).map_err(|e| anyhow::anyhow!("allow_outbound: {e}"))?;
        }
        for repository in &self.catalogue {
            crate::oci::Source::parse_repository(repository).map_err(|e| anyhow::anyhow!("catalogue: {e}"))?;
        }
        if let Some(domain) = &self.inbound_domain {
            anyhow::ensure!(
                !domain.is_empty() && domain.contains('.') && !domain.contains(['@', '/', ' ', ':']),
                "inbound_domain: `{domain}` is not a domain name (e.g. mail.example.com)"
            );
        }
        anyhow::ensure!(self.plugin_timeout_ms >= 10, "plugin_timeout_ms: {} is too short (10 ms at least)", self.plugin_timeout_ms);
        anyhow::ensure!(
            (4..=4096).contains(&self.plugin_memory_mb),
            "plugin_memory_mb: {} is out of range (4 to 4096 MiB)",
            self.plugin_memory_mb
        );
        anyhow::ensure!((1..=1024).contains(&self.mail_max_mb), "mail_max_mb: {} is out of range (1 to 1024 MiB)", self.mail_max_mb);
        anyhow::ensure!(self.webhook_retry_horizon >= 1, "webhook_retry_horizon: 0 seconds would retry nothing (1 at least; default 86400)");
        anyhow::ensure!((1..=2048).contains(&self.media_max_mb), "media_max_mb: {} is out of range (1 to 2048 MiB)", self.media_max_mb);
        Ok(())
    }

    /// What the library's `serve` takes.
    pub fn serve_config(&self) -> ServeConfig {
        ServeConfig {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            public_url: self.public_url.clone(),
            allow_outbound: self.allow_outbound.clone(),
            limits: Limits { call_timeout: Duration::from_millis(self.plugin_timeout_ms), memory_bytes: self.plugin_memory_mb << 20, ..Default::default() },
            mail: MailOptions { inbound_domain: self.inbound_domain.clone(), max_message_bytes: self.mail_max_mb << 20 },
            media_max_mb: self.media_max_mb,
            resolver: Default::default(),
            plugin_trust: PluginTrust { trusted_keys: self.trusted_keys.clone(), allow_unsigned: self.allow_unsigned_plugins },
            faults: Default::default(),
            record_webhooks: self.record_webhooks.clone(),
            compiler: None,
            release_start_up_code: false,
            compile_cache: self.compile_cache.clone(),
            webhook_retry: crate::store::model::RetryPolicy { horizon: Duration::from_secs(self.webhook_retry_horizon), ..Default::default() },
            catalogue: self.catalogue.clone(),
        }
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout)
    }

    /// The settings as `config check` prints them.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot be shown as TOML: {e}\n"))
    }
}

/// A database URL as `config check` prints it: the password replaced by `***`.
fn without_password<S: serde::Serializer>(url: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    let shown = url.as_deref().map(|url| match url.split_once("://").and_then(|(scheme, rest)| Some((scheme, rest.split_once('@')?))) {
        Some((scheme, (credentials, host))) if credentials.contains(':') => {
            format!("{scheme}://{}:***@{host}", credentials.split(':').next().unwrap_or_default())
        }
        _ => url.to_owned(),
    });
    serializer.serialize_some(&shown.unwrap_or_default())
}

/// The file named by `--config` (which must exist), else `./switchboard.toml` if it exists.
fn read_file(named: Option<&Path>) -> anyhow::Result<(Option<PathBuf>, ConfigFile)> {
    let path = match named {
        Some(path) => path.to_owned(),
        None if Path::new(DEFAULT_CONFIG_FILE).is_file() => PathBuf::from(DEFAULT_CONFIG_FILE),
        None => return Ok((None, ConfigFile::default())),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
    let file = toml::from_str(&text).map_err(|e| anyhow::anyhow!("the config file {} is not valid: {e}", path.display()))?;
    Ok((Some(path), file))
}

/// `host:port` or `ip:port`, with a port (resolution happens when binding).
fn check_address(setting: &str, address: &str) -> anyhow::Result<()> {
    if address.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let valid = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && !host.contains([' ', '/']) && port.parse::<u16>().is_ok());
    anyhow::ensure!(valid, "{setting}: `{address}` is not an address with a port (e.g. 127.0.0.1:8080 or [::]:8080)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn a_flag_wins_over_the_file_which_wins_over_the_default() {
        let config = file("listen = \"127.0.0.1:9000\"\nplugin_timeout_ms = 5000\nallow_outbound = [\"smtp.internal:587\"]\n");
        let args = ServeArgs { config: Some(config.path().into()), listen: Some("127.0.0.1:9100".into()), ..Default::default() };
        let settings = Settings::resolve(args).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:9100", "the flag");
        assert_eq!(settings.plugin_timeout_ms, 5000, "the file");
        assert_eq!(settings.allow_outbound, ["smtp.internal:587"], "the file");
        assert_eq!(settings.plugin_memory_mb, 64, "the default");
        assert_eq!(settings.data_dir, PathBuf::from("data"), "the default");
    }

    #[test]
    fn mistakes_are_named() {
        let unknown = file("listen = \"127.0.0.1:9000\"\nplugin_timout_ms = 5000\n");
        let error = Settings::resolve(ServeArgs { config: Some(unknown.path().into()), ..Default::default() }).unwrap_err();
        assert!(format!("{error:#}").contains("plugin_timout_ms"), "{error:#}");
        let error = Settings::resolve(ServeArgs { listen: Some("localhost".into()), ..Default::default() }).unwrap_err();
        assert!(error.to_string().starts_with("listen:"), "{error}");
        let error = Settings::resolve(ServeArgs { public_url: Some("switchboard.example.com".into()), ..Default::default() }).unwrap_err();
        assert!(error.to_string().starts_with("public_url:"), "{error}");
        let error = Settings::resolve(ServeArgs { allow_outbound: vec!["http://x/".into()], ..Default::default() }).unwrap_err();
        assert!(error.to_string().starts_with("allow_outbound:"), "{error}");
        let error = Settings::resolve(ServeArgs { config: Some("/nonexistent/switchboard.toml".into()), ..Default::default() }).unwrap_err();
        assert!(error.to_string().contains("cannot read the config file"), "{error}");
        let error = Settings::resolve(ServeArgs { database_url: Some("mysql://db/switchboard".into()), ..Default::default() }).unwrap_err();
        assert!(error.to_string().starts_with("database_url: only Postgres"), "{error}");
        let error = Settings::resolve(ServeArgs { catalogue: vec!["oci://ghcr.io/acme/sms:1.0.0".into()], ..Default::default() }).unwrap_err();
        assert!(error.to_string().starts_with("catalogue: ") && error.to_string().contains("names a version"), "{error}");
    }

    #[test]
    fn the_catalogue_comes_from_the_flags_else_the_file() {
        let config = file("catalogue = [\"oci://ghcr.io/acme/sms-gateway\"]\n");
        let settings = Settings::resolve(ServeArgs { config: Some(config.path().into()), ..Default::default() }).unwrap();
        assert_eq!(settings.catalogue, ["oci://ghcr.io/acme/sms-gateway"], "the file");
        assert_eq!(settings.serve_config().catalogue, ["oci://ghcr.io/acme/sms-gateway"]);
        let args = ServeArgs { config: Some(config.path().into()), catalogue: vec!["oci://r.example/a".into(), "oci://r.example/b".into()], ..Default::default() };
        assert_eq!(Settings::resolve(args).unwrap().catalogue, ["oci://r.example/a", "oci://r.example/b"], "the flags");
    }

    #[test]
    fn the_database_url_is_shown_without_its_password() {
        let url = "postgres://switchboard:s3cret@db.internal:5432/switchboard";
        let settings = Settings::resolve(ServeArgs { database_url: Some(url.into()), ..Default::default() }).unwrap();
        assert_eq!(settings.serve_config().database_url.as_deref(), Some(url), "serve gets it whole");
        let shown = settings.to_toml();
        assert!(shown.contains("database_url = \"postgres://switchboard:***@db.internal:5432/switchboard\""), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
