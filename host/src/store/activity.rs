//! Activity figures, drawn by the pages and served as JSON and CSV: a workspace's messages
//! received and sent per channel per day, its delivery failures by reason and its people's
//! median first-response and resolution times; the installation's volume per workspace per
//! day. The SQL is written once for both backends (`$n` placeholders, standard SQL); each
//! backend runs it and hands the rows to [`Activity::assemble`](super::model::Activity::assemble) /
//! [`volume`].
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

use super::model::{Window, WorkspaceVolume};

/// The failure reasons listed, most frequent first.
pub const FAILURE_REASONS: i64 = 50;

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
    use crate::store::model::{Activity, ActivityRows, DAY_MS, Durations, MAX_DAYS, date_of_day};

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
