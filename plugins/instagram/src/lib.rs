//! Instagram: direct messages of an Instagram professional account linked to a Facebook Page,
//! through Meta's Messenger Platform (the Page's token sends). Everything but what makes it
//! Instagram lives in `switchboard-meta-common`.

use switchboard_meta_common::{Account, MetaChannel, MetaProduct, Page, Product};
use switchboard_sdk::MediaKind;
use switchboard_sdk::guide::Guide;

pub struct Instagram;

impl MetaProduct for Instagram {
    const PRODUCT: Product = Product {
        id: "instagram",
        name: "Instagram",
        version: env!("CARGO_PKG_VERSION"),
        description: "Direct messages of an Instagram professional account linked to a Facebook Page, with Connect with Facebook",
        object: "instagram",
        account_setting: "instagram_account_id",
        account_label: "Instagram account ID",
        account_help: "The Instagram professional account's ID (the Page's instagram_business_account); Connect with Facebook fills it in",
        page_fields: "id,name,instagram_business_account{id,username,name}",
        account_of: linked_instagram_account,
        no_account: "linked Instagram professional account",
        subscribed_fields: "messages,messaging_postbacks,message_reads",
        scopes: "instagram_basic,instagram_manage_messages,pages_show_list,pages_manage_metadata,pages_read_engagement",
        webhook_setup: "In the Meta app dashboard: Messenger → Instagram settings → Webhooks: paste the callback URL and the verify token, then subscribe to messages, messaging_postbacks and messaging_seen",
        media_kinds: &[MediaKind::Image, MediaKind::Video, MediaKind::Audio],
    };

    fn connect_guide() -> Guide {
        Guide::new()
            .section("Before you start")
            .steps([
                "Make the Instagram account a professional account (business or creator) and link it to a Facebook Page.",
                "Make sure your Facebook account can manage that Page's messages (full control, or a task that includes messages).",
                "In the Instagram app, go to **Settings** → **Messages and story replies** → **Message controls** → **Connected tools** and switch on **Allow access to messages**.",
            ])
            .section("Connect with Facebook")
            .steps([
                "Press **Connect with Facebook** and log in, in the tab that opens, as someone who manages the Page.",
                "Choose the Page the Instagram account is linked to, and the account, and allow the permissions asked for.",
                "Back here, tick the accounts. Their direct messages now appear in the inbox.",
            ])
            .paragraph("Without the operator's Meta app, fill in **App ID** and **App secret** of your own app first; the button then logs in with it and fills in **Instagram account ID** and **Page access token**. With your own app, paste the **Callback URL** and **Verify token** shown after connecting under **Messenger** → **Instagram settings** → **Webhooks**, and subscribe to `messages`, `messaging_postbacks` and `messaging_seen`.")
            .note("Meta's 24-hour window: replies are free-form within 24 hours of the customer's last message. From then until 7 days after it, replies go out with the `HUMAN_AGENT` tag (your app needs Meta's Human Agent permission); after 7 days nothing can be sent until the customer writes again.")
    }

    /// The plugin's texts in other languages (those of `switchboard-meta-common` included):
    /// `i18n/<language>.json`, a file translators edit.
    fn translations(language: &str) -> Vec<(String, String)> {
        switchboard_sdk::texts_for(language, &[("id", include_str!("../i18n/id.json"))])
    }
}

/// An Instagram channel is the account linked to a Page, named `@username`.
fn linked_instagram_account(page: &Page) -> Option<Account> {
    let account = page.instagram_business_account.as_ref()?;
    let name = match (&account.username, &account.name) {
        (Some(username), _) => format!("@{username}"),
        (None, Some(name)) => name.clone(),
        (None, None) => account.id.clone(),
    };
    Some(Account { id: account.id.clone(), name })
}

switchboard_sdk::export_channel!(MetaChannel<Instagram>);

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_meta_common::InstagramAccount;

    fn page(linked: Option<InstagramAccount>) -> Page {
        Page { id: "104".into(), name: "Toko Budi".into(), access_token: Some("EAAP".into()), instagram_business_account: linked }
    }

    #[test]
    fn the_account_is_the_instagram_account_linked_to_the_page() {
        let account_of = Instagram::PRODUCT.account_of;
        let linked = InstagramAccount { id: "17841400000000001".into(), username: Some("tokobudi".into()), name: Some("Toko Budi".into()) };
        assert_eq!(account_of(&page(Some(linked))), Some(Account { id: "17841400000000001".into(), name: "@tokobudi".into() }));
        assert_eq!(account_of(&page(None)), None, "a Page without a linked account offers none");
        let accounts = switchboard_meta_common::login::accounts(&Instagram::PRODUCT, vec![page(None)]);
        assert!(accounts.is_empty());
    }
}
