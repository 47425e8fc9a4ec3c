//! Readiness, as `/readyz` reports it: plugins loaded, the background workers running, the
//! database taking writes. `/healthz` only says the process answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, watch};

#[derive(Default)]
pub struct Health {
    plugins_loaded: AtomicBool,
    /// Wakes [`Health::wait_for_plugins`] when the plugins are in.
    plugins_in: Notify,
    outbox: Arc<AtomicBool>,
    watcher: Arc<AtomicBool>,
}

/// While alive, marks a worker as running; dropped (returned or panicked), as stopped. Made
/// before the worker's task is spawned and moved into it, so "running" holds from the start.
pub struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Health {
    pub fn plugins_loaded(&self) {
        self.plugins_loaded.store(true, Ordering::Release);
        self.plugins_in.notify_waiters();
    }

    /// Returns once the start's plugins are loaded (`true`), or when `stop` says to stop
    /// (`false`). For the workers that call plugins: a send or a download taken while they
    /// load would fail as "plugin not loaded" and wait out a retry (30 s after every restart).
    pub async fn wait_for_plugins(&self, stop: &mut watch::Receiver<bool>) -> bool {
        loop {
            // Made before the check: a notice between the two still wakes it.
            let loaded = self.plugins_in.notified();
            if self.plugins_loaded.load(Ordering::Acquire) {
                return true;
            }
            if *stop.borrow() {
                return false;
            }
            tokio::select! {
                () = loaded => {}
                changed = stop.changed() => if changed.is_err() { return false },
            }
        }
    }

    pub fn outbox_running(&self) -> Running {
        Self::running(&self.outbox)
    }

    pub fn watcher_running(&self) -> Running {
        Self::running(&self.watcher)
    }

    fn running(flag: &Arc<AtomicBool>) -> Running {
        flag.store(true, Ordering::Release);
        Running(flag.clone())
    }

    /// What is not ready yet, by part (empty: ready).
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut problems = Vec::new();
        if !self.plugins_loaded.load(Ordering::Acquire) {
            problems.push(("plugins", "still loading"));
        } else if !self.watcher.load(Ordering::Acquire) {
            problems.push(("plugins_watcher", "not running"));
        }
        if !self.outbox.load(Ordering::Acquire) {
            problems.push(("outbox", "the delivery worker is not running"));
        }
        problems
    }
}
