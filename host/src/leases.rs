//! Claims on work several nodes share over Postgres: an outbox send, an event-webhook delivery,
//! an attachment's download. A node claims an item for [`LEASE`] and renews its claims every
//! [`RENEW_EVERY`] while it works on them, so a killed node's items are taken over within
//! [`LEASE`] of its last renewal, and a live node's never (unless it cannot reach the database
//! for two renewals in a row). On SQLite one node owns everything and a renewal changes nothing.

use std::time::Duration;

use crate::store::StoreResult;

pub const LEASE: Duration = Duration::from_secs(6);
pub const RENEW_EVERY: Duration = Duration::from_secs(2);

/// Says what a renewal of this node's `in_flight` claims on `what` ("sends", "webhook sends",
/// "attachment downloads") came to, when it is not all of them.
pub fn report_renewal(what: &str, in_flight: usize, renewed: StoreResult<usize>) {
    match renewed {
        Ok(held) if held < in_flight => {
            tracing::warn!(in_flight, held, "claims on {what} lapsed before they were renewed: another node may take them too")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("the claims on {what} in flight could not be renewed (they last {LEASE:?} from the last renewal): {e}"),
    }
}
