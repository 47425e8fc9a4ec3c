//! Meta's Messenger Platform, shared by the `messenger` channel (a Facebook Page's inbox) and
//! the `instagram` channel (an Instagram professional account linked to a Page): the Graph
//! API, "Connect with Facebook" (Facebook Login, OAuth 2), webhooks signed with the app secret,
//! and the Send API with its 24-hour window and the `HUMAN_AGENT` tag up to 7 days.
//!
//! A plugin describes its product in a [`Product`] and exports [`MetaChannel`] for it:
//!
//! ```ignore
//! struct Messenger;
//! impl MetaProduct for Messenger { const PRODUCT: Product = Product { id: "messenger", .. }; }
//! switchboard_sdk::export_channel!(MetaChannel<Messenger>);
//! ```

mod channel;
pub mod graph;
pub mod operator_app;
pub mod login;
pub mod send;
pub mod webhook;

use switchboard_sdk::MediaKind;

pub use channel::MetaChannel;
pub use graph::{Account, InstagramAccount, Page};

/// What sets one Meta product apart from the other; everything else is shared.
pub struct Product {
    /// Plugin id: `messenger`, `instagram`.
    pub id: &'static str,
    pub name: &'static str,
    /// The plugin's own version (its crate's, not this library's).
    pub version: &'static str,
    pub description: &'static str,
    /// The webhook `object` of the product's deliveries: `page` or `instagram`.
    pub object: &'static str,
    /// The setting that names the channel's account (`page_id`, `instagram_account_id`);
    /// webhook entries carry the same id.
    pub account_setting: &'static str,
    pub account_label: &'static str,
    pub account_help: &'static str,
    /// The Page fields to read (`GET /me` with the Page token, `me/accounts` after a login).
    pub page_fields: &'static str,
    /// The channel's account on a Page: the Page itself, or the Instagram account linked to it.
    pub account_of: fn(&Page) -> Option<Account>,
    /// Why a Page has no such account, for the admin.
    pub no_account: &'static str,
    /// Webhook fields the Page is subscribed to on connect (`POST /{page-id}/subscribed_apps`).
    pub subscribed_fields: &'static str,
    /// Facebook Login permissions to ask for.
    pub scopes: &'static str,
    /// Where the webhook is configured in the Meta app dashboard, for the setup instructions.
    pub webhook_setup: &'static str,
    /// Media the Send API takes by URL for this product.
    pub media_kinds: &'static [MediaKind],
}

/// Picks the product a [`MetaChannel`] is.
pub trait MetaProduct {
    const PRODUCT: Product;

    /// The steps beside the product's connect form ([`switchboard_sdk::Channel::connect_guide`]).
    /// Default: no guide.
    fn connect_guide() -> switchboard_sdk::guide::Guide {
        switchboard_sdk::guide::Guide::new()
    }

    /// The product's texts in `language` ([`switchboard_sdk::Channel::translations`]): the
    /// product's own file, which holds this library's texts too. Default: none.
    fn translations(language: &str) -> Vec<(String, String)> {
        let _ = language;
        Vec::new()
    }
}

/// Meta's Send API rules: free-form replies for 24 hours after the customer's last message,
/// then a human agent's reply (tagged `HUMAN_AGENT`) until 7 days after it; no templates.
pub fn window_policy() -> switchboard_sdk::WindowPolicy {
    switchboard_sdk::WindowPolicy {
        free_form_seconds: Some(24 * 3600),
        human_agent_seconds: Some(7 * 24 * 3600),
        templates_outside_window: false,
    }
}

#[cfg(test)]
mod tests;
