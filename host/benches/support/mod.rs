//! Timing shared by the benchmarks: medians of batches, so one noisy moment on a shared
//! machine does not move the figure.

#![allow(dead_code)] // each bench uses what it needs

use std::time::{Duration, Instant};

/// A positive count from the environment variable `name` (a bench's rounds, connections, pairs),
/// else `default`.
pub fn count_from_env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).filter(|&count| count > 0).unwrap_or(default)
}

/// The middle sample (the upper of the two middle ones for an even count).
pub fn median<T: PartialOrd + Copy>(mut samples: Vec<T>) -> T {
    samples.sort_by(|a, b| a.partial_cmp(b).expect("comparable samples"));
    samples[samples.len() / 2]
}

/// Median per-call time over `batches` batches of `per_batch` calls, after one warm-up batch.
pub fn measure(batches: usize, per_batch: usize, mut call: impl FnMut()) -> Duration {
    for _ in 0..per_batch {
        call();
    }
    let samples = (0..batches)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..per_batch {
                call();
            }
            started.elapsed() / per_batch as u32
        })
        .collect();
    median(samples)
}

/// A Telegram update with the fields the plugin reads: what the native baselines parse.
pub mod telegram {
    use serde::Deserialize;
    use switchboard::runtime::types::{ChannelContext, HttpRequest};

    /// The channel a bench's webhooks are for, and one delivery of `body` signed with `secret`.
    #[allow(dead_code)]
    pub fn channel_and_delivery(secret: &str, body: &[u8]) -> (ChannelContext, HttpRequest) {
        let ctx = ChannelContext {
            channel_id: "ch_bench".into(),
            webhook_url: "https://example.test/webhooks/ch_bench".into(),
            webhook_secret: secret.into(),
            settings: vec![("bot_token".into(), "1:x".into())],
        };
        let request = HttpRequest {
            method: "POST".into(),
            path: String::new(),
            query: String::new(),
            headers: vec![("content-type".into(), "application/json".into()), ("x-telegram-bot-api-secret-token".into(), secret.into())],
            body: body.to_vec(),
        };
        (ctx, request)
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Update {
        pub update_id: i64,
        pub message: Option<Message>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Message {
        pub message_id: i64,
        pub from: Option<User>,
        pub chat: Chat,
        pub date: i64,
        pub text: Option<String>,
        pub caption: Option<String>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct User {
        pub id: i64,
        pub first_name: String,
        pub last_name: Option<String>,
        pub username: Option<String>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Chat {
        pub id: i64,
        #[serde(rename = "type")]
        pub kind: String,
        pub title: Option<String>,
    }
}

/// Clock ticks per second of `/proc`'s CPU times (100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time as `/proc/<pid>/stat` (or a thread's `/proc/<pid>/task/<tid>/stat`) tells it.
pub struct CpuStat {
    pub parent: u32,
    /// User + system time of the process (or thread) itself.
    pub own: Duration,
    /// User + system time of its children that exited and were reaped.
    pub reaped: Duration,
}

pub fn cpu_stat(stat: &std::path::Path) -> Option<CpuStat> {
    let text = std::fs::read_to_string(stat).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it,
    // where field 3 starts; ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let time = |ticks: u64| Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND);
    Some(CpuStat { parent: field(4)? as u32, own: time(field(14)? + field(15)?), reaped: time(field(16)? + field(17)?) })
}
