//! A throwaway Postgres for a test: `initdb` and `pg_ctl` in a temp dir, on a free loopback
//! port, stopped when dropped. Postgres refuses to run as root, so a root test runs it as the
//! `postgres` system user. Installed by `.ci/install-postgres` on first use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Here, so that every crate that starts a Postgres has it once: one counter per process, which
/// the servers' ports (`support::free_port`) draw from too.
#[path = "ports.rs"]
pub mod ports;

pub struct Postgres {
    pub port: u16,
    /// The server's options (port, socket folder, listen address), to start it again the same.
    options: String,
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres_user: bool,
}

#[allow(dead_code)] // each test and bench uses what it needs
impl Postgres {
    pub fn start() -> Self {
        let bin = server_bin();
        let dir = tempfile::Builder::new().prefix("switchboard-pg").tempdir().unwrap();
        let as_postgres_user = is_root();
        if as_postgres_user {
            // The `postgres` user must reach and own the cluster's folder.
            run("chmod", &["755", dir.path().to_str().unwrap()]);
            run("chown", &["postgres:postgres", dir.path().to_str().unwrap()]);
        }
        let data = dir.path().join("data");
        let mut postgres = Self { port: 0, options: String::new(), bin, dir, as_postgres_user };
        let init = postgres.pg("initdb", &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "switchboard", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        assert!(init.status.success(), "initdb failed: {}", String::from_utf8_lossy(&init.stderr));
        // A port taken after all (by anything outside these tests): try a few.
        for _ in 0..5 {
            let port = ports::free_port();
            let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200", postgres.dir.path().display());
            let log = postgres.dir.path().join("log");
            let started = postgres.pg("pg_ctl", &["-D", data.to_str().unwrap(), "-o", &options, "-l", log.to_str().unwrap(), "-w", "-t", "30", "start"]);
            if started.status.success() {
                postgres.port = port;
                postgres.options = options;
                return postgres;
            }
        }
        panic!("Postgres did not start: {}", std::fs::read_to_string(postgres.dir.path().join("log")).unwrap_or_default());
    }

    /// The server's main process (its sessions are its children), for the benches' CPU figures.
    pub fn postmaster_pid(&self) -> u32 {
        let pid = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid")).unwrap();
        pid.lines().next().unwrap().trim().parse().unwrap()
    }

    /// The URL of database `name` (created by [`Postgres::create_database`], or `postgres`).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://switchboard@127.0.0.1:{}/{name}", self.port)
    }

    pub fn create_database(&self, name: &str) -> String {
        let created = self.pg("createdb", &["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "switchboard", name]);
        assert!(created.status.success(), "createdb failed: {}", String::from_utf8_lossy(&created.stderr));
        self.url(name)
    }

    /// Stops the server (fast: sessions are cut, as when a database host goes down).
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        let stopped = self.pg("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "-t", "120", "stop"]);
        assert!(stopped.status.success(), "Postgres did not stop: {}", String::from_utf8_lossy(&stopped.stderr));
    }

    /// Starts the stopped server again on the same port.
    pub fn start_again(&self) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("log");
        let started = self.pg("pg_ctl", &["-D", data.to_str().unwrap(), "-o", &self.options, "-l", log.to_str().unwrap(), "-w", "-t", "120", "start"]);
        assert!(started.status.success(), "Postgres did not start again: {}", std::fs::read_to_string(&log).unwrap_or_default());
    }

    /// Runs the SQL of `file` (a `pg_dump`) in database `name`, stopping at its first error.
    pub fn load(&self, name: &str, file: &Path) {
        let sql = std::fs::File::open(file).unwrap_or_else(|e| panic!("cannot open {}: {e}", file.display()));
        let port = self.port.to_string();
        let mut command = self.command("psql");
        command.args(["-h", "127.0.0.1", "-p", &port, "-U", "switchboard", "-v", "ON_ERROR_STOP=1", "-q", "-d", name]).stdin(sql);
        let loaded = command.output().unwrap();
        assert!(loaded.status.success(), "loading {} failed: {}", file.display(), String::from_utf8_lossy(&loaded.stderr));
    }

    fn pg(&self, tool: &str, args: &[&str]) -> Output {
        let mut command = self.command(tool);
        command.args(args).output().unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
    }

    /// One of the server's tools, run as the user that owns the cluster.
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        command.current_dir(self.dir.path());
        command
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.pg("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"]);
    }
}

/// The newest installed server's `bin` folder, installing Postgres first when there is none.
fn server_bin() -> PathBuf {
    let find = || {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .collect();
        found.sort_by_key(|bin| bin.parent().and_then(Path::file_name).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()));
        found.pop()
    };
    if let Some(bin) = find() {
        return bin;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/install-postgres");
    let installed = Command::new("bash").arg(&script).status().unwrap();
    assert!(installed.success(), "{} failed", script.display());
    find().expect("Postgres was installed")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?} failed");
}
