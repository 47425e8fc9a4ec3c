//! Activity figures, drawn by the pages and served as JSON and CSV: a workspace's messages
//! received and sent per channel per day, its delivery failures by reason and its people's
//! median first-response and resolution times; the installation's volume per workspace per
//! day. The SQL is written once for both backends (`$n` placeholders, standard SQL); each
//! backend runs it and hands the rows to [`Activity::assemble`] / [`volume`].
//!
//! What counts (the schema's triggers record it, migration 0019 / Postgres 0009):
//! - a day is a calendar day at the reader's UTC offset (the page sends its own), by the time
//!   the host stored the message;
//! - a *first response* is a conversation's first reply sent by a person (not by an API token
//!   or a bot), timed from the conversation's start, and counted on the day it was sent;
//! - a *resolution* is timed from when the conversation was opened (or last reopened) and
//!   belongs to whoever it was assigned to when resolved (`None`: nobody).
//!
//! Every query reads one window through indexes made for it (`messages_by_channel_time`,
//! `messages_failed_by_channel`, `conversations_by_first_response`,
//! `conversation_resolutions_by_channel`), so it costs the window's rows, not the year's.
//! The messages' queries name `m.created_at > 0`, the predicate of `messages_by_channel_time`
//! (true of every message), which lookups by provider id never name: they take the unique
//! index instead (migration 0023 / Postgres 0014).

use serde::Serialize;

/// One calendar day in milliseconds.
const DAY_MS: i64 = 86_400_000;
/// The longest window asked for (a year and a day: last year's same day included).
pub const MAX_DAYS: u32 = 366;
/// The failure reasons listed, most frequent first.
pub const FAILURE_REASONS: i64 = 50;

/// The days a report covers: `days` calendar days ending today, at `utc_offset` minutes east
/// of UTC.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub days: u32,
    pub utc_offset_minutes: i32,
    /// The first day, counted in days since 1970-01-01 at the offset.
    first_day: i64,
}

impl Window {
    pub fn ending_at(now_ms: i64, days: u32, utc_offset_minutes: i32) -> Self {
        let days = days.clamp(1, MAX_DAYS);
        let offset_ms = i64::from(utc_offset_minutes) * 60_000;
        let today = (now_ms + offset_ms).div_euclid(DAY_MS);
        Self { days, utc_offset_minutes, first_day: today - i64::from(days) + 1 }
    }

    pub fn offset_ms(&self) -> i64 {
        i64::from(self.utc_offset_minutes) * 60_000
    }

    /// The first moment counted (midnight of the first day at the offset), in Unix ms.
    pub fn since_ms(&self) -> i64 {
        self.first_day * DAY_MS - self.offset_ms()
    }

    /// Each day's date (`2026-11-25`), oldest first.
    pub fn labels(&self) -> Vec<String> {
        (0..i64::from(self.days)).map(|i| date_of_day(self.first_day + i)).collect()
    }

    /// A day number's place in the window, if it is in it.
    fn index(&self, day: i64) -> Option<usize> {
        usize::try_from(day - self.first_day).ok().filter(|&i| i < self.days as usize)
    }
}

fn date_of_day(day: i64) -> String {
    match jiff::Timestamp::from_second(day * 86_400) {
        Ok(at) => at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
        Err(_) => day.to_string(),
    }
}

/// A workspace's figures over a window.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Activity {
    /// Each day of the window (`YYYY-MM-DD`), oldest first; the per-day arrays follow it.
    pub days: Vec<String>,
    /// The offset the days are counted at, in minutes east of UTC.
    pub utc_offset: i32,
    /// Every channel of the workspace, with its messages per day (zeros included).
    pub channels: Vec<ChannelActivity>,
    /// Outbound messages that failed in the window, by the provider's reason, most first.
    pub failures: Vec<FailureCount>,
    /// Per person (and `null` for conversations resolved unassigned), by name.
    pub agents: Vec<AgentTimes>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelActivity {
    pub id: String,
    pub name: String,
    pub plugin: String,
    pub received: Vec<i64>,
    pub sent: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FailureCount {
    pub reason: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentTimes {
    /// `null`: conversations resolved while assigned to nobody.
    pub person_id: Option<i64>,
    pub name: Option<String>,
    pub first_response: Durations,
    pub resolution: Durations,
}

/// How many conversations a median is over, and the median (`null` when none).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct Durations {
    pub conversations: usize,
    pub median_seconds: Option<f64>,
}

impl Durations {
    fn of(mut millis: Vec<i64>) -> Self {
        millis.sort_unstable();
        let n = millis.len();
        let median_ms = match n {
            0 => None,
            _ if n % 2 == 1 => Some(millis[n / 2] as f64),
            _ => Some((millis[n / 2 - 1] as f64 + millis[n / 2] as f64) / 2.0),
        };
        Self { conversations: n, median_seconds: median_ms.map(|ms| ms.max(0.0) / 1000.0) }
    }
}

/// What a backend read for [`Activity::assemble`], row by row.
#[derive(Debug, Default)]
pub struct ActivityRows {
    /// id, name, plugin.
    pub channels: Vec<(String, String, String)>,
    /// channel, day number, received, sent.
    pub per_day: Vec<(String, i64, i64, i64)>,
    /// reason, count.
    pub failures: Vec<(String, i64)>,
    /// person, milliseconds from the conversation's start.
    pub first_responses: Vec<(i64, i64)>,
    /// person (none: unassigned), milliseconds open.
    pub resolutions: Vec<(Option<i64>, i64)>,
    /// id, display name: the people the figures name.
    pub people: Vec<(i64, String)>,
}

impl Activity {
    pub fn assemble(window: &Window, rows: ActivityRows) -> Self {
        let zeros = vec![0; window.days as usize];
        let mut channels: Vec<ChannelActivity> = rows
            .channels
            .into_iter()
            .map(|(id, name, plugin)| ChannelActivity { id, name, plugin, received: zeros.clone(), sent: zeros.clone() })
            .collect();
        for (channel, day, received, sent) in rows.per_day {
            let (Some(at), Some(of)) = (window.index(day), channels.iter_mut().find(|c| c.id == channel)) else { continue };
            of.received[at] += received;
            of.sent[at] += sent;
        }
        let mut times: std::collections::BTreeMap<Option<i64>, (Vec<i64>, Vec<i64>)> = Default::default();
        for (person, ms) in rows.first_responses {
            times.entry(Some(person)).or_default().0.push(ms);
        }
        for (person, ms) in rows.resolutions {
            times.entry(person).or_default().1.push(ms);
        }
        let name_of = |id: i64| rows.people.iter().find(|(p, _)| *p == id).map(|(_, name)| name.clone());
        let mut agents: Vec<AgentTimes> = times
            .into_iter()
            .map(|(person, (first, resolved))| AgentTimes {
                person_id: person,
                name: person.and_then(name_of),
                first_response: Durations::of(first),
                resolution: Durations::of(resolved),
            })
            .collect();
        // By name, the unassigned last.
        agents.sort_by(|a, b| (a.person_id.is_none(), &a.name, a.person_id).cmp(&(b.person_id.is_none(), &b.name, b.person_id)));
        Activity {
            days: window.labels(),
            utc_offset: window.utc_offset_minutes,
            channels,
            failures: rows.failures.into_iter().map(|(reason, count)| FailureCount { reason, count }).collect(),
            agents,
        }
    }
}

/// One workspace's messages per day, for the operator.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkspaceVolume {
    pub id: i64,
    pub name: String,
    pub received: Vec<i64>,
    pub sent: Vec<i64>,
}

/// Every workspace (`id`, `name`), its rows (workspace, day, received, sent) spread over the window.
pub fn volume(window: &Window, workspaces: Vec<(i64, String)>, per_day: Vec<(i64, i64, i64, i64)>) -> Vec<WorkspaceVolume> {
    let zeros = vec![0; window.days as usize];
    let mut volumes: Vec<WorkspaceVolume> =
        workspaces.into_iter().map(|(id, name)| WorkspaceVolume { id, name, received: zeros.clone(), sent: zeros.clone() }).collect();
    for (workspace, day, received, sent) in per_day {
        let (Some(at), Some(of)) = (window.index(day), volumes.iter_mut().find(|w| w.id == workspace)) else { continue };
        of.received[at] += received;
        of.sent[at] += sent;
    }
    volumes
}

// The queries, for both backends. Placeholders are numbered in the order they first appear
// (SQLite numbers `$n` so: see `store::row`). A day number is `(created_at + offset) / DAY_MS` (times are after
// 1970, so integer division floors on both).

pub const CHANNELS: &str = "SELECT id, name, plugin FROM channels WHERE workspace_id = $1 ORDER BY name, id";

pub const MESSAGES_PER_DAY: &str = "SELECT m.channel_id, (m.created_at + $1) / 86400000 AS local_day,
        SUM(CASE WHEN m.direction = 'inbound' THEN 1 ELSE 0 END), SUM(CASE WHEN m.direction = 'outbound' THEN 1 ELSE 0 END)
    FROM channels c JOIN messages m ON m.channel_id = c.id AND m.created_at > 0 AND m.created_at >= $2
    WHERE c.workspace_id = $3
    GROUP BY m.channel_id, local_day";

pub const FAILURES: &str = "SELECT COALESCE(m.error, ''), COUNT(*)
    FROM channels c JOIN messages m ON m.channel_id = c.id AND m.created_at >= $1 AND m.status = 'failed'
    WHERE c.workspace_id = $2
    GROUP BY COALESCE(m.error, '') ORDER BY COUNT(*) DESC, COALESCE(m.error, '') LIMIT $3";

pub const FIRST_RESPONSES: &str = "SELECT v.first_response_by, v.first_response_at - v.created_at
    FROM channels c JOIN conversations v ON v.channel_id = c.id AND v.first_response_at >= $1
    WHERE c.workspace_id = $2 AND v.first_response_by IS NOT NULL";

pub const RESOLUTIONS: &str = "SELECT r.person_id, r.resolved_at - r.opened_at
    FROM channels c JOIN conversation_resolutions r ON r.channel_id = c.id AND r.resolved_at >= $1
    WHERE c.workspace_id = $2";

/// The people who can appear: the workspace's, and the operator's (who may work in it).
pub const PEOPLE: &str = "SELECT id, display_name FROM people WHERE workspace_id = $1 OR workspace_id IS NULL";

pub const WORKSPACES: &str = "SELECT id, name FROM workspaces ORDER BY name, id";

// `CROSS JOIN`: SQLite takes the tables in the order written (each channel, then its window
// through the index; with no workspace to narrow the channels, it otherwise reads the whole
// index); Postgres plans it as any join.
pub const VOLUME_PER_DAY: &str = "SELECT c.workspace_id, (m.created_at + $1) / 86400000 AS local_day,
        SUM(CASE WHEN m.direction = 'inbound' THEN 1 ELSE 0 END), SUM(CASE WHEN m.direction = 'outbound' THEN 1 ELSE 0 END)
    FROM channels c CROSS JOIN messages m
    WHERE m.channel_id = c.id AND m.created_at > 0 AND m.created_at >= $2
    GROUP BY c.workspace_id, local_day";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_calendar_days_at_the_readers_offset() {
        // 2026-11-25 20:30 UTC is already the 26th in Jakarta (UTC+7).
        let now = jiff::Timestamp::from_second(1_795_638_600).unwrap().as_millisecond();
        assert_eq!(date_of_day(now.div_euclid(DAY_MS)), "2026-11-25");
        let jakarta = Window::ending_at(now, 30, 420);
        assert_eq!(jakarta.labels().last().map(String::as_str), Some("2026-11-26"));
        assert_eq!(jakarta.labels().first().map(String::as_str), Some("2026-10-28"));
        assert_eq!(jakarta.labels().len(), 30);
        // Midnight in Jakarta is 17:00 UTC the day before.
        assert_eq!((jakarta.since_ms() + jakarta.offset_ms()) % DAY_MS, 0);
        assert_eq!(date_of_day((jakarta.since_ms() + jakarta.offset_ms()) / DAY_MS), "2026-10-28");
        let utc = Window::ending_at(now, 1, 0);
        assert_eq!(utc.labels(), vec!["2026-11-25".to_owned()]);
        assert_eq!(Window::ending_at(now, 100_000, 0).days, MAX_DAYS);
    }

    #[test]
    fn medians_of_odd_and_even_counts_and_none() {
        assert_eq!(Durations::of(vec![]), Durations { conversations: 0, median_seconds: None });
        assert_eq!(Durations::of(vec![9_000, 1_000, 5_000]), Durations { conversations: 3, median_seconds: Some(5.0) });
        assert_eq!(Durations::of(vec![4_000, 1_000, 2_000, 3_000]), Durations { conversations: 4, median_seconds: Some(2.5) });
    }

    #[test]
    fn rows_outside_the_window_or_of_unknown_channels_are_left_out() {
        let window = Window::ending_at(10 * DAY_MS + 5, 2, 0);
        let rows = ActivityRows {
            channels: vec![("ch_a".into(), "A".into(), "telegram".into())],
            per_day: vec![("ch_a".into(), 10, 3, 1), ("ch_a".into(), 9, 2, 0), ("ch_a".into(), 8, 7, 7), ("ch_gone".into(), 10, 5, 5)],
            first_responses: vec![(1, 60_000), (1, 120_000)],
            resolutions: vec![(None, 3_600_000)],
            people: vec![(1, "Ani".into())],
            ..Default::default()
        };
        let activity = Activity::assemble(&window, rows);
        assert_eq!((activity.channels[0].received.clone(), activity.channels[0].sent.clone()), (vec![2, 3], vec![0, 1]));
        assert_eq!(activity.agents.len(), 2);
        assert_eq!((activity.agents[0].name.as_deref(), activity.agents[0].first_response.median_seconds), (Some("Ani"), Some(90.0)));
        assert_eq!((activity.agents[1].person_id, activity.agents[1].resolution.median_seconds), (None, Some(3600.0)));
    }
}
