//! What the activity pages draw: counts, durations and volumes over a window.

use serde::Serialize;

/// One calendar day in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;
/// The longest window asked for (a year and a day: last year's same day included).
pub const MAX_DAYS: u32 = 366;

/// A day number (days since 1970-01-01) as its date, `2026-11-25`.
pub(crate) fn date_of_day(day: i64) -> String {
    match jiff::Timestamp::from_second(day * 86_400) {
        Ok(at) => at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
        Err(_) => day.to_string(),
    }
}

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
    pub(crate) fn index(&self, day: i64) -> Option<usize> {
        usize::try_from(day - self.first_day).ok().filter(|&i| i < self.days as usize)
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

/// One channel's messages in the window.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelActivity {
    pub id: String,
    pub name: String,
    pub plugin: String,
    pub received: Vec<i64>,
    pub sent: Vec<i64>,
}

/// How often sends failed for one reason.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FailureCount {
    pub reason: String,
    pub count: i64,
}

/// One agent's first-reply and resolution times.
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
    pub(crate) fn of(mut millis: Vec<i64>) -> Self {
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
