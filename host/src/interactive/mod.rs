//! Interactive messages (contract 0.1.4): buttons, quick replies, lists, URL buttons and cards
//! an agent or a bot sends, and the customer's choice coming back.
//!
//! - [`model`]: the content and the choice, one model for the API, the store and the runtime.
//! - [`limits`]: checked before a message is queued (per field, naming the channel).
//! - [`text`]: the text rendering for kinds a plugin does not draw, and a reply naming an option.
//! - here: the ids a plugin is given ([`wire_content`]) and their way back ([`ShortId`]).
//!
//! Decisions: a plugin gets an option's own id when it fits the provider (`max-id-bytes`),
//! otherwise `~<message id>.<position>`, which the host maps back to the business's id using the
//! stored message (the same channel and conversation only, so a crafted id reaches nothing
//! else). A typed reply maps to a choice only when the newest outbound message of the
//! conversation is interactive: "2" after a later question means that question's answer.

pub mod limits;
pub mod model;
pub mod text;

use model::InteractiveContent;

/// Which channels ever offered options, as this node last read it: a customer's short reply is
/// looked at for an option it names only on those (a store read each time would cost every
/// webhook of every channel). A channel seen offering stays so; one seen not offering is read
/// again after [`OfferCache::RECHECK`], so options first sent through another node count here
/// within that long.
#[derive(Default)]
pub struct OfferCache {
    seen: std::sync::Mutex<std::collections::HashMap<String, (bool, std::time::Instant)>>,
}

impl OfferCache {
    pub const RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

    /// What is known of the channel, if it is still good.
    pub fn known(&self, channel_id: &str) -> Option<bool> {
        let seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.get(channel_id).and_then(|(offers, at)| (*offers || at.elapsed() < Self::RECHECK).then_some(*offers))
    }

    pub fn remember(&self, channel_id: &str, offers: bool) {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.insert(channel_id.to_owned(), (offers, std::time::Instant::now()));
    }
}

/// A short option id the host issued for an id too long for the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortId {
    pub message_id: i64,
    pub position: usize,
}

impl ShortId {
    pub fn parse(id: &str) -> Option<Self> {
        let (message, position) = id.strip_prefix('~')?.split_once('.')?;
        Some(Self { message_id: message.parse().ok()?, position: position.parse().ok()? })
    }
}

impl std::fmt::Display for ShortId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "~{}.{}", self.message_id, self.position)
    }
}

/// The content a plugin is given for message `message_id`: every id that the provider cannot
/// carry (more than `max_id_bytes`) replaced by its [`ShortId`].
pub fn wire_content(content: &InteractiveContent, message_id: i64, max_id_bytes: u32) -> InteractiveContent {
    content.with_ids(|position, option| {
        if option.id.len() <= max_id_bytes as usize {
            option.id.clone()
        } else {
            ShortId { message_id, position }.to_string()
        }
    })
}

/// The shortest `max-id-bytes` a plugin drawing interactive content may declare: room for any
/// [`ShortId`] (`~`, a 19-digit message id, `.`, a position).
pub const MIN_ID_BYTES: u32 = 24;

/// Whether a plugin's declared support makes sense (checked when it loads): each kind once,
/// with room for a body and an option, and ids long enough for the host's short ones.
pub fn check_support(support: &model::InteractiveSupport) -> Result<(), String> {
    if support.kinds.is_empty() {
        return Ok(());
    }
    if support.max_id_bytes < MIN_ID_BYTES {
        return Err(format!("interactive support: max-id-bytes is {}, at least {MIN_ID_BYTES} are needed for the host's short ids", support.max_id_bytes));
    }
    for (i, limits) in support.kinds.iter().enumerate() {
        let name = limits.kind.name();
        if support.kinds[..i].iter().any(|earlier| earlier.kind == limits.kind) {
            return Err(format!("interactive support: `{name}` is declared twice"));
        }
        if limits.max_choices == 0 || limits.max_body_chars == 0 || limits.max_title_chars == 0 {
            return Err(format!("interactive support: `{name}` allows no option, title or body (a limit of 0)"));
        }
    }
    Ok(())
}

/// The business's option behind an id a plugin reported for `offered` (the message it is on):
/// its position, when the id is a short id the host issued for it.
pub fn issued_position(offered: &InteractiveContent, short: ShortId) -> Option<usize> {
    let option = offered.choices().into_iter().nth(short.position)?;
    // A business id that merely looks like a short id was sent as itself.
    (option.id != short.to_string()).then_some(short.position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{ChoiceOption, InteractiveAction};

    #[test]
    fn ids_too_long_for_the_provider_travel_short_and_come_back() {
        let long = "order=860198&action=cancel&reason=".repeat(3);
        let content = InteractiveContent {
            header: None,
            body: "?".into(),
            footer: None,
            action: InteractiveAction::ReplyButtons(vec![
                ChoiceOption { id: "keep".into(), title: "Keep".into(), description: None },
                ChoiceOption { id: long.clone(), title: "Cancel".into(), description: None },
            ]),
        };
        let wire = wire_content(&content, 42, 64);
        let ids: Vec<_> = wire.choices().iter().map(|o| o.id.clone()).collect();
        assert_eq!(ids, ["keep", "~42.1"]);
        let short = ShortId::parse("~42.1").unwrap();
        assert_eq!(short, ShortId { message_id: 42, position: 1 });
        assert_eq!(issued_position(&content, short), Some(1));
        assert_eq!(issued_position(&content, ShortId { message_id: 42, position: 5 }), None);
        assert_eq!(ShortId::parse("~x.1"), None);
        assert_eq!(ShortId::parse("keep"), None);
    }
}
