//! The `switchboard` binary: parse the command line, set up logging, call the library.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use switchboard::runtime::Limits;
use switchboard::store::Db;
use switchboard::store::tokens::Role;

#[derive(Parser)]
#[command(name = "switchboard", version, about = "Omnichannel channel runtime: channel plugins as WebAssembly components")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, webhooks and every loaded plugin.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "SWITCHBOARD_LISTEN")]
        listen: String,
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
        /// The URL providers reach this host at (webhook URLs are built from it). Default: http://<listen>.
        #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
        public_url: Option<String>,
        /// Let plugins call HOST[:PORT] besides the hosts they declare (repeatable). No port: any port.
        #[arg(long = "allow-outbound", value_name = "HOST[:PORT]")]
        allow_outbound: Vec<String>,
        /// Wall-clock limit of one plugin call, in milliseconds.
        #[arg(long, default_value_t = 15_000)]
        plugin_timeout_ms: u64,
        /// Memory one plugin instance may use, in MiB.
        #[arg(long, default_value_t = 64)]
        plugin_memory_mb: usize,
        /// Receive mail by SMTP on ADDR (e.g. 0.0.0.0:25): email channels' forwarding addresses.
        #[arg(long, value_name = "ADDR", env = "SWITCHBOARD_SMTP_LISTEN")]
        smtp_listen: Option<String>,
        /// The domain of email channels' forwarding addresses (`<id>@DOMAIN`; its MX points at
        /// --smtp-listen). Default: the host name of --public-url.
        #[arg(long, value_name = "DOMAIN", env = "SWITCHBOARD_INBOUND_DOMAIN")]
        inbound_domain: Option<String>,
        /// The largest mail message taken by SMTP or relay, in MiB.
        #[arg(long, default_value_t = switchboard::app::DEFAULT_MAX_MAIL_BYTES >> 20)]
        mail_max_mb: usize,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage people who sign in with a username and password.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Install, list, inspect and remove plugins (a running server picks up changes at once).
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Validate a component and place it in the plugins folder.
    Install {
        file: PathBuf,
        /// Install even if it is older than the installed version.
        #[arg(long)]
        force: bool,
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// List built-in and installed plugins.
    List {
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Print a component's id, versions, outbound hosts and settings schema.
    Inspect { file: PathBuf },
    /// Remove an installed plugin (its channels stay, unavailable, until it returns).
    Remove {
        id: String,
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a person and print, alone on stdout, the one-time link to set their password.
    Create {
        #[arg(long, value_parser = ["operator", "admin", "supervisor", "agent"])]
        role: String,
        /// Their username (an email address).
        #[arg(long)]
        username: String,
        /// Their name as shown to others (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// The workspace of an admin, supervisor or agent (default: 1).
        #[arg(long, value_name = "ID")]
        workspace: Option<i64>,
        /// The URL people reach the server at (the link starts with it).
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "SWITCHBOARD_PUBLIC_URL")]
        public_url: String,
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it alone on stdout.
    Create {
        /// `operator`: the whole installation (plugins, workspaces, provider apps); the others
        /// act in one workspace.
        #[arg(long, value_parser = ["operator", "admin", "supervisor", "agent"])]
        role: String,
        /// The workspace of an admin, supervisor or agent token (default: 1, the first one).
        #[arg(long, value_name = "ID")]
        workspace: Option<i64>,
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            listen,
            data_dir,
            public_url,
            allow_outbound,
            plugin_timeout_ms,
            plugin_memory_mb,
            smtp_listen,
            inbound_domain,
            mail_max_mb,
        } => {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            let smtp = match &smtp_listen {
                Some(addr) => Some(
                    tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen for SMTP on {addr}: {e}"))?,
                ),
                None => None,
            };
            let config = switchboard::ServeConfig {
                data_dir,
                public_url,
                allow_outbound,
                limits: Limits { call_timeout: Duration::from_millis(plugin_timeout_ms), memory_bytes: plugin_memory_mb << 20 },
                mail: switchboard::MailOptions { inbound_domain, max_message_bytes: mail_max_mb.max(1) << 20 },
            };
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            switchboard::serve(switchboard::Listeners { http: listener, smtp }, config, shutdown).await
        }
        Command::Plugin { command } => {
            use switchboard::plugins::offline;
            let output = match command {
                PluginCommand::Install { file, force, data_dir } => offline::install(&data_dir, &file, force).await?,
                PluginCommand::List { data_dir } => offline::list(&data_dir).await?,
                PluginCommand::Inspect { file } => offline::inspect(&file).await?,
                PluginCommand::Remove { id, data_dir } => offline::remove(&data_dir, &id).await?,
            };
            print!("{output}");
            Ok(())
        }
        Command::User { command: UserCommand::Create { role, username, name, workspace, public_url, data_dir } } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let db = Db::open(&data_dir)?;
            let workspace = match role {
                Role::Operator if workspace.is_some() => anyhow::bail!("the operator belongs to no workspace: leave out --workspace"),
                Role::Operator => None,
                _ => Some(workspace.unwrap_or(1)),
            };
            if let Some(id) = workspace {
                db.workspace(id)?.ok_or_else(|| anyhow::anyhow!("there is no workspace {id}"))?;
            }
            let username = username.trim().to_lowercase();
            anyhow::ensure!(!username.is_empty(), "--username is empty");
            anyhow::ensure!(db.person_by_username(&username)?.is_none(), "`{username}` already has an account");
            let person = db.create_person(workspace, &username, name.as_deref().unwrap_or(&username), role)?;
            let (token, _) = db.create_invitation(person.id, switchboard::api::people::INVITATION_LIFETIME_MS, false)?;
            println!("{}/#/invitation/{token}", public_url.trim_end_matches('/'));
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { role, workspace, data_dir } } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let db = Db::open(&data_dir)?;
            if role == Role::Operator && workspace.is_some() {
                anyhow::bail!("an operator token belongs to no workspace: leave out --workspace");
            }
            if let Some(id) = workspace {
                db.workspace(id)?.ok_or_else(|| anyhow::anyhow!("there is no workspace {id}"))?;
            }
            let token = db.create_token(role, workspace)?;
            println!("{token}");
            Ok(())
        }
    }
}
