//! Instagram: direct messages of an Instagram professional account linked to a Facebook Page,
//! through Meta's Messenger Platform (the Page's token sends). Everything but what makes it
//! Instagram lives in `switchboard-meta-common`.

use switchboard_meta_common::{Account, MetaChannel, MetaProduct, Page, Product};
use switchboard_sdk::MediaKind;

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
