//! Request budgets shared by every node (`rate_limits`): the generic cell rate algorithm, one
//! statement per request, so nodes taking from one budget at once never overspend it. Time is
//! the database's clock, the one clock all nodes share.

use std::time::Duration;

use super::PgStore;
use crate::store::StoreResult;

/// Now, in ms, by the database's clock.
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

impl PgStore {
    /// Takes one request from `key`'s budget (`burst` at once, then one per `every`); or, when
    /// it is spent, how long until the next request fits.
    pub async fn take_rate(&self, key: &str, burst: u32, every: Duration) -> StoreResult<Result<(), Duration>> {
        let client = self.client().await?;
        let period = every.as_millis() as i64;
        let tolerance = period * i64::from(burst);
        // The new arrival time is the later of (the old one + a period) and (now + a period);
        // it fits while it is at most `burst` periods ahead of now.
        let take = client
            .prepare_cached(&format!(
                "INSERT INTO rate_limits AS r (key, tat) VALUES ($1, {NOW_MS} + $2)
                 ON CONFLICT (key) DO UPDATE SET tat = GREATEST(r.tat + $2, EXCLUDED.tat)
                 WHERE GREATEST(r.tat + $2, EXCLUDED.tat) - $3 <= EXCLUDED.tat - $2
                 RETURNING tat"
            ))
            .await?;
        if client.query_opt(&take, &[&key, &period, &tolerance]).await?.is_some() {
            // Now and then, forget budgets that are whole again.
            if rand::random::<u16>() % 1024 == 0 {
                client.execute(&format!("DELETE FROM rate_limits WHERE tat < {NOW_MS}"), &[]).await?;
            }
            return Ok(Ok(()));
        }
        let wait = client.prepare_cached(&format!("SELECT tat + $2 - $3 - {NOW_MS} FROM rate_limits WHERE key = $1")).await?;
        let wait_ms: i64 = client.query_opt(&wait, &[&key, &period, &tolerance]).await?.map_or(1, |row| row.get(0));
        Ok(Err(Duration::from_millis(wait_ms.max(1) as u64)))
    }
}
