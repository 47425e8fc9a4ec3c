//! The `switchboard` binary: parse the command line, set up logging, call the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use switchboard::config::{LogFormat, ServeArgs, Settings};
use switchboard::store::Db;
use switchboard::store::model::Role;

#[derive(Parser)]
#[command(name = "switchboard", version, about = "Omnichannel channel runtime: channel plugins as WebAssembly components")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, webhooks and every loaded plugin.
    Serve(ServeArgs),
    /// Print the OpenAPI 3.1 document of the API (what `/api/v1/openapi.json` serves).
    Openapi,
    /// Check a configuration: the file, the variables and the flags as `serve` would merge them.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Copy the database (consistently, while the server runs) to FILE, and the secret key
    /// that opens its sealed settings to FILE.key. Keep both; the key is a secret.
    Backup {
        file: PathBuf,
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Put a backup (FILE and FILE.key) in place as the data dir's database. Stop the server first.
    Restore {
        file: PathBuf,
        /// Replace an existing database (kept as switchboard.db.before-restore).
        #[arg(long)]
        force: bool,
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// The key that seals secrets at rest.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
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
enum SecretsCommand {
    /// Seal every secret again under a new key, the server stopped (while it serves, use
    /// `POST /api/v1/secrets/rotate` instead). Take a backup first.
    Rotate {
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the settings `serve` would run with and print them; exit 1 with the reason when
    /// one is wrong (an unknown key, an address without a port, a value out of range...).
    Check(ServeArgs),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Start a plugin: writes a crate (the channel, its settings, tests with the test kit, a
    /// webhook fixture) that builds and passes its tests as generated.
    New {
        /// The plugin id: lowercase letters, digits and `-` (also the crate's name).
        id: String,
        /// Where to write it (default: ./ID); must be empty or absent.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// A Switchboard source tree to take the SDK and test kit from (default: the one this
        /// binary was built from, else the crates.io release).
        #[arg(long, value_name = "DIR")]
        sdk_source: Option<PathBuf>,
    },
    /// The author's loop: build the crate for wasm32-wasip2 and install it into a running dev
    /// host, again on every change, printing compile errors and refusals.
    Dev {
        /// The plugin crate (default: the current folder).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The dev host's base URL.
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
        host: String,
        /// An operator API token of the dev host (`switchboard token create --role operator`).
        #[arg(long, env = "SWITCHBOARD_TOKEN", hide_env_values = true)]
        token: String,
        /// Sign each build with this key (from `plugin keygen`) for a host that trusts it.
        #[arg(long, value_name = "KEY_FILE")]
        key: Option<PathBuf>,
        /// Build and install once, then exit (1 when either failed).
        #[arg(long)]
        once: bool,
    },
    /// Validate a component (a file, or `oci://REGISTRY/REPOSITORY:VERSION` with a version or a
    /// range such as `^1.2`) and place it in the plugins folder.
    Install {
        #[arg(value_name = "FILE|oci://…")]
        source: String,
        /// Install even if it is older than the installed version.
        #[arg(long)]
        force: bool,
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// List the installed plugins that have a newer version of their major in the registry
    /// they were installed from (one line each: plugin, installed, newest compatible, newest,
    /// source), or say that all are up to date; a new major version is noted apart. Checks every
    /// plugin installed from a registry, and the catalogue's repositories (flags, variable or the
    /// config file, as `serve` reads them). Registries that cannot be read are named on standard
    /// error; exits 1 only when none could be read.
    Outdated {
        /// An OCI repository to check too: oci://REGISTRY/REPOSITORY (repeatable; in the
        /// environment, comma-separated), as `serve --catalogue` takes it.
        #[arg(long = "catalogue", value_name = "oci://REGISTRY/REPOSITORY", env = "SWITCHBOARD_CATALOGUE", value_delimiter = ',')]
        catalogue: Vec<String>,
        /// The config file `serve` reads (its `catalogue` and `data_dir`). Default: ./switchboard.toml when it exists.
        #[arg(long, value_name = "FILE", env = "SWITCHBOARD_CONFIG")]
        config: Option<PathBuf>,
        /// Default: the config file's, else ./data.
        #[arg(long, value_name = "DIR", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// List built-in and installed plugins.
    List {
        #[arg(long, default_value = "data", env = "SWITCHBOARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Print a component's id, versions, outbound hosts and settings schema.
    Inspect { file: PathBuf },
    /// Run one export of a component as the host would and print the answer as JSON
    /// (`{"ok":…}`, `{"refused":…}` or `{"failed":…}`; exit 1 when the host had to stop it).
    Call {
        file: PathBuf,
        /// manifest, settings-schema, messaging-window, connect, disconnect, handle-webhook,
        /// send, fetch-media, list-templates, create-template, delete-template, auth-start or auth-finish.
        export: String,
        /// The export's input as JSON (a request, a message, an attachment); `-` reads stdin.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// A setting of the channel (default: the schema's defaults); `webhook_secret=` sets the channel's secret.
        #[arg(long = "setting", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        /// A host the plugin may reach besides the ones it declares (`host` or `host:port`).
        #[arg(long = "allow-outbound", value_name = "HOST")]
        allow_outbound: Vec<String>,
        /// The time limit of the call.
        #[arg(long, value_name = "MS", default_value_t = 15_000)]
        timeout_ms: u64,
        /// The memory cap of the call (the host's default: 64).
        #[arg(long, value_name = "MB")]
        memory_mb: Option<usize>,
        /// Answer the plugin's HTTP and SMTP from this file instead of the network, seed its state,
        /// and print everything it did with the answer (see `switchboard-testkit`).
        #[arg(long, value_name = "FILE")]
        mock: Option<PathBuf>,
        /// Keep the compiled component here for the next call (keyed by its hash; safe to share).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Check a component against the contract before installing it: manifest and schema,
    /// typed answers with the provider unreachable (no host name resolves), unsigned webhooks refused, a fuzz of malformed requests,
    /// the author's fixtures. Prints a report; exits 1 when a check fails.
    Check {
        file: PathBuf,
        /// A folder of `*.json` webhook fixtures: `{"request": {...}, "expect": "accept"|"refuse"}`.
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
        /// A setting of the channel the calls are made for (default: the schema's defaults).
        #[arg(long = "setting", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        /// The time limit of one plugin call.
        #[arg(long, value_name = "MS", default_value_t = 15_000)]
        timeout_ms: u64,
    },
    /// Make a signing key: writes the private key to FILE (readable by you only) and prints
    /// the public key to put in the hosts' trusted_keys.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Publish a component to an OCI registry as a wasm artifact (`wkg` and `oras` pull it as
    /// a component; a host installs it with `POST /api/v1/plugins {"source": …}`). The tag is
    /// the plugin's version (given or left out); credentials come from the docker config file.
    Push {
        file: PathBuf,
        /// `oci://<registry>/<repository>` or `oci://<registry>/<repository>:<the plugin's version>`.
        reference: String,
    },
    /// Sign a component with a key from `keygen` (in place, or to --out).
    Sign {
        file: PathBuf,
        #[arg(long, value_name = "KEY_FILE")]
        key: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Compile a component into a compile cache (what the server runs in a child process).
    #[command(hide = true)]
    Precompile {
        /// The component file; `-`: it comes on standard input.
        #[arg(required_unless_present = "built_in")]
        file: Option<PathBuf>,
        /// A first-party plugin embedded in this binary, by package name.
        #[arg(long, value_name = "PACKAGE", conflicts_with = "file")]
        built_in: Option<String>,
        #[arg(long, value_name = "DIR", required_unless_present = "to_stdout")]
        cache_dir: Option<PathBuf>,
        /// Write the compilation to standard output instead of into a cache (nothing on disk).
        #[arg(long, conflicts_with = "cache_dir")]
        to_stdout: bool,
        #[arg(long, value_name = "MB")]
        memory_mb: usize,
        /// The server's limit on one plugin call, which the load's calls run under here.
        #[arg(long, value_name = "MS")]
        call_timeout_ms: u64,
    },
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
        /// The database of nodes serving with `--database-url` (see `token create`).
        #[arg(long, value_name = "URL", env = "SWITCHBOARD_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
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
        /// The database of nodes serving with `--database-url` (its secret key is read from
        /// the data dir, or made there on first use: copy it to every node).
        #[arg(long, value_name = "URL", env = "SWITCHBOARD_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    // Before any thread of the runtime allocates (see `heap`).
    switchboard::heap::for_start_up();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let log_format = match &cli.command {
        Command::Serve(args) => args.log_format.unwrap_or_default(),
        _ => LogFormat::Text,
    };
    init_logging(log_format);
    match cli.command {
        Command::Serve(args) => {
            let settings = Settings::resolve(args)?;
            if settings.log_format != log_format {
                // The file chose the format: logging starts before the file is read.
                tracing::warn!("log_format from the config file takes effect with --log-format or SWITCHBOARD_LOG_FORMAT");
            }
            serve(settings).await
        }
        Command::Openapi => {
            println!("{}", switchboard::api::openapi_document());
            Ok(())
        }
        Command::Config { command: ConfigCommand::Check(args) } => match Settings::resolve(args) {
            Ok(settings) => {
                print!("# the settings `serve` would run with\n{}", settings.to_toml());
                Ok(())
            }
            Err(error) => {
                eprintln!("invalid configuration: {error:#}");
                std::process::exit(1);
            }
        },
        Command::Secrets { command: SecretsCommand::Rotate { data_dir } } => {
            let _lock = switchboard::data_dir::serve_lock(&data_dir)
                .map_err(|e| anyhow::anyhow!("{e:#}: rotate through it with `POST /api/v1/secrets/rotate` (operator), or stop it first"))?;
            let resealed = Db::open(&data_dir)?.rotate_secrets(&data_dir)?;
            println!("secret key rotated: {resealed} sealed values sealed again under the new key");
            Ok(())
        }
        Command::Backup { file, data_dir } => {
            Db::backup_to(&data_dir, &file)?;
            let key = key_file(&file);
            copy_private(&data_dir.join("secret.key"), &key)?;
            println!("database: {}\nkey:      {} (secret: it opens the sealed settings; keep it apart)", file.display(), key.display());
            Ok(())
        }
        Command::Restore { file, force, data_dir } => {
            let key = key_file(&file);
            anyhow::ensure!(file.is_file(), "{} is not a file", file.display());
            anyhow::ensure!(key.is_file(), "{} is missing: without the key the backup's sealed settings cannot be opened", key.display());
            std::fs::create_dir_all(&data_dir)?;
            // The lock `serve` holds: never restore under a running server (it would go on writing
            // to the file moved aside and lose what it acknowledged afterwards).
            let _lock = switchboard::data_dir::serve_lock(&data_dir).map_err(|e| anyhow::anyhow!("{e:#}: stop it before restoring"))?;
            let database = data_dir.join("switchboard.db");
            anyhow::ensure!(!database.exists() || force, "{} exists: stop the server and add --force to replace it", database.display());
            // Opened (and migrated) beside the live files first: until it opens, nothing is replaced.
            let staging = data_dir.join(format!(".restoring-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&staging);
            std::fs::create_dir_all(&staging)?;
            let opened = (|| -> anyhow::Result<()> {
                std::fs::copy(&file, staging.join("switchboard.db")).map_err(|e| anyhow::anyhow!("cannot copy {}: {e}", file.display()))?;
                copy_private(&key, &staging.join("secret.key"))?;
                drop(Db::open(&staging).map_err(|e| anyhow::anyhow!("the backup does not open, nothing was replaced: {e:#}"))?);
                Ok(())
            })();
            if let Err(e) = opened {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
            if database.exists() {
                std::fs::rename(&database, data_dir.join("switchboard.db.before-restore"))?;
                if data_dir.join("secret.key").exists() {
                    std::fs::rename(data_dir.join("secret.key"), data_dir.join("secret.key.before-restore"))?;
                }
            }
            for name in ["switchboard.db-wal", "switchboard.db-shm"] {
                let _ = std::fs::remove_file(data_dir.join(name));
                if staging.join(name).exists() {
                    std::fs::rename(staging.join(name), data_dir.join(name))?;
                }
            }
            std::fs::rename(staging.join("switchboard.db"), &database)?;
            std::fs::rename(staging.join("secret.key"), data_dir.join("secret.key"))?;
            let _ = std::fs::remove_dir_all(&staging);
            println!("restored {} into {}", file.display(), data_dir.display());
            Ok(())
        }
        Command::Plugin { command } => {
            use switchboard::plugins::offline;
            let output = match command {
                PluginCommand::Dev { dir, host, token, key, once } => {
                    let options = switchboard::plugins::dev::DevOptions { dir, host, token, key, once };
                    switchboard::plugins::dev::run(options).await.map_err(anyhow::Error::msg)?;
                    String::new()
                }
                PluginCommand::New { id, dir, sdk_source } => {
                    switchboard::plugins::scaffold::create(&id, dir.as_deref(), sdk_source.as_deref()).map_err(anyhow::Error::msg)?
                }
                PluginCommand::Install { source, force, data_dir } => offline::install_from(&data_dir, &source, force).await?,
                PluginCommand::List { data_dir } => offline::list(&data_dir).await?,
                PluginCommand::Outdated { catalogue, config, data_dir } => {
                    let settings = Settings::resolve(ServeArgs { config, catalogue, data_dir, ..Default::default() })?;
                    let found = offline::outdated(&settings.data_dir, &settings.catalogue).await?;
                    for problem in &found.unreadable {
                        eprintln!("cannot read {problem}");
                    }
                    print!("{}", found.report);
                    if found.nothing_read {
                        std::process::exit(1);
                    }
                    String::new()
                }
                PluginCommand::Inspect { file } => offline::inspect(&file).await?,
                PluginCommand::Push { file, reference } => offline::push(&file, &reference).await?,
                PluginCommand::Call { file, export, input, settings, allow_outbound, timeout_ms, memory_mb, mock, cache_dir } => {
                    let input = match input {
                        None => None,
                        Some(path) => {
                            let text = if path.as_os_str() == "-" {
                                std::io::read_to_string(std::io::stdin())?
                            } else {
                                std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
                            };
                            Some(serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("--input is not JSON: {e}"))?)
                        }
                    };
                    let mock = match mock {
                        None => None,
                        Some(path) => {
                            let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                            Some(switchboard::plugins::mock::MockScript::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)
                        }
                    };
                    let options = switchboard::plugins::call::CallOptions {
                        settings: key_values(&settings)?,
                        allow_outbound,
                        call_timeout: std::time::Duration::from_millis(timeout_ms),
                        memory_bytes: memory_mb.map(|mb| mb << 20),
                        mock,
                        cache_dir,
                    };
                    let (answer, answered) = switchboard::plugins::call::call(&file, &export, input, options).await.map_err(anyhow::Error::msg)?;
                    println!("{}", serde_json::to_string_pretty(&answer)?);
                    std::process::exit(if answered { 0 } else { 1 });
                }
                PluginCommand::Check { file, fixtures, settings, timeout_ms } => {
                    let settings = key_values(&settings)?;
                    let limit = std::time::Duration::from_millis(timeout_ms);
                    match switchboard::plugins::check::check(&file, fixtures.as_deref(), &settings, limit).await {
                        Ok(report) => report,
                        Err(report) => {
                            print!("{report}");
                            std::process::exit(1);
                        }
                    }
                }
                PluginCommand::Keygen { out } => {
                    anyhow::ensure!(!out.exists(), "{} exists: a signing key is never overwritten", out.display());
                    let (secret, public) = switchboard::signing::generate();
                    write_private(&out, secret.as_bytes())?;
                    format!("{public}\n")
                }
                PluginCommand::Sign { file, key, out } => {
                    let secret = std::fs::read_to_string(&key).map_err(|e| anyhow::anyhow!("cannot read the key {}: {e}", key.display()))?;
                    let key = switchboard::signing::parse_signing_key(&secret).map_err(|e| anyhow::anyhow!(e))?;
                    let component = std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
                    let signed = switchboard::signing::sign(&component, &key).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    let target = out.unwrap_or_else(|| file.clone());
                    std::fs::write(&target, signed).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", target.display()))?;
                    let public = switchboard::signing::encode_public_key(&key.verifying_key());
                    format!("signed {} with {public}\n", target.display())
                }
                PluginCommand::Precompile { file, built_in, cache_dir, to_stdout: _, memory_mb, call_timeout_ms } => {
                    let source = match (built_in, file) {
                        (Some(package), _) => switchboard::plugins::built_in_component(&package).ok_or_else(|| anyhow::anyhow!("no built-in plugin `{package}`"))?,
                        (None, Some(file)) if file.as_os_str() == "-" => {
                            let mut bytes = Vec::new();
                            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| anyhow::anyhow!("cannot read the standard input: {e}"))?;
                            bytes.into()
                        }
                        (None, Some(file)) => std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?.into(),
                        (None, None) => anyhow::bail!("name a component file or --built-in PACKAGE"),
                    };
                    let call_timeout = std::time::Duration::from_millis(call_timeout_ms);
                    // Exactly one of the two is given (clap checks): a cache folder, or `--to-stdout`.
                    match cache_dir {
                        Some(cache_dir) => switchboard::runtime::precompile_bytes(source, &cache_dir, memory_mb << 20, call_timeout).await?,
                        None => {
                            let compiled = switchboard::runtime::precompile_to_bytes(source, memory_mb << 20, call_timeout)?;
                            std::io::Write::write_all(&mut std::io::stdout().lock(), &compiled).map_err(|e| anyhow::anyhow!("cannot write the standard output: {e}"))?;
                        }
                    }
                    String::new()
                }
                PluginCommand::Remove { id, data_dir } => offline::remove(&data_dir, &id).await?,
            };
            print!("{output}");
            Ok(())
        }
        Command::User { command: UserCommand::Create { role, username, name, workspace, public_url, data_dir, database_url } } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            if role == Role::Bot {
                anyhow::bail!("`bot` is a role of API tokens, not of people: an admin makes one with POST /api/v1/tokens {{\"role\": \"bot\", \"channels\": [...]}}");
            }
            let db = open_store(&data_dir, database_url.as_deref()).await?;
            let workspace = match role {
                Role::Operator if workspace.is_some() => anyhow::bail!("the operator belongs to no workspace: leave out --workspace"),
                Role::Operator => None,
                _ => Some(workspace.unwrap_or(1)),
            };
            if let Some(id) = workspace {
                db.workspace(id).await?.ok_or_else(|| anyhow::anyhow!("there is no workspace {id}"))?;
            }
            let username = username.trim().to_lowercase();
            anyhow::ensure!(!username.is_empty(), "--username is empty");
            anyhow::ensure!(db.person_by_username(&username).await?.is_none(), "`{username}` already has an account");
            let person = db.create_person(workspace, &username, name.as_deref().unwrap_or(&username), role).await?;
            let (token, _) = db.create_invitation(person.id, switchboard::store::Scope::Every, switchboard::api::people::INVITATION_LIFETIME_MS, false).await?;
            println!("{}/#/invitation/{token}", public_url.trim_end_matches('/'));
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { role, workspace, data_dir, database_url } } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            if role == Role::Bot {
                anyhow::bail!("a bot token is made with the channels it is the bot of: POST /api/v1/tokens {{\"label\": ..., \"role\": \"bot\", \"channels\": [...]}} as an admin");
            }
            if role == Role::Operator && workspace.is_some() {
                anyhow::bail!("an operator token belongs to no workspace: leave out --workspace");
            }
            let db = open_store(&data_dir, database_url.as_deref()).await?;
            if let Some(id) = workspace {
                db.workspace(id).await?.ok_or_else(|| anyhow::anyhow!("there is no workspace {id}"))?;
            }
            let token = db.create_token(role, workspace).await?;
            println!("{token}");
            Ok(())
        }
    }
}

/// The store a command changes: SQLite in the data dir, or the Postgres database nodes serve from.
async fn open_store(data_dir: &std::path::Path, database_url: Option<&str>) -> anyhow::Result<std::sync::Arc<dyn switchboard::store::backend::Store>> {
    let node = format!("cli-{}", std::process::id());
    Ok(switchboard::store::backend::Backend::open(data_dir, database_url, &node, Default::default()).await?.store())
}

/// Binds the listeners and serves until SIGTERM or SIGINT; then lets in-flight work finish
/// for at most the shutdown timeout.
async fn serve(settings: Settings) -> anyhow::Result<()> {
    if let Some(file) = &settings.config_file {
        tracing::info!(file = %file.display(), "configuration read");
    }
    let listen = &settings.listen;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let smtp = match &settings.smtp_listen {
        Some(addr) => {
            Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen for SMTP on {addr}: {e}"))?)
        }
        None => None,
    };
    let shutdown_timeout = settings.shutdown_timeout();
    let (stopping, stop_requested) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let signal = stop_signal().await;
        tracing::info!("{signal} received: finishing in-flight work (up to {} s), then exiting", shutdown_timeout.as_secs());
        let _ = stopping.send(true);
    });
    let shutdown = {
        let mut requested = stop_requested.clone();
        async move {
            let _ = requested.wait_for(|stop| *stop).await;
        }
    };
    let mut config = settings.serve_config();
    // This binary compiles plugins in children of itself: a cold start keeps a warm one's memory.
    config.compiler = std::env::current_exe().ok().map(|exe| switchboard::runtime::ChildCompiler { exe });
    config.release_start_up_code = true;
    let serving = switchboard::serve(switchboard::Listeners { http: listener, smtp }, config, shutdown);
    let mut requested = stop_requested;
    let overdue = async move {
        let _ = requested.wait_for(|stop| *stop).await;
        tokio::time::sleep(shutdown_timeout).await;
    };
    tokio::select! {
        result = serving => result,
        () = overdue => {
            tracing::warn!("shutdown timeout ({} s) reached: exiting with work in flight (queued messages stay queued)", shutdown_timeout.as_secs());
            Ok(())
        }
    }
}

/// Logs to standard error at `RUST_LOG`'s level (default info), as text or one JSON object a
/// line; JSON lines carry the fields of their spans (a request's `request_id`).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).flatten_event(true).init(),
    }
}

/// The first of SIGTERM (`systemctl stop`, `docker stop`) and SIGINT (Ctrl-C), by name.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// `FILE.key` beside a backup FILE.
fn key_file(file: &std::path::Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Copies a secret, readable by the owner only.
fn copy_private(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", from.display()))?;
    write_private(to, &bytes)
}

/// Writes a secret, readable by the owner only.
fn write_private(to: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(to).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", to.display()))?, bytes)?;
    Ok(())
}

/// `--setting KEY=VALUE` flags as pairs.
fn key_values(settings: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    settings
        .iter()
        .map(|s| s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| anyhow::anyhow!("--setting `{s}`: write KEY=VALUE")))
        .collect()
}
