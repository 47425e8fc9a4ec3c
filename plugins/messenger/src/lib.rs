//! Facebook Messenger: a Facebook Page's conversations through Meta's Messenger Platform.
//! Everything but what makes it Messenger lives in `switchboard-meta-common`.

use switchboard_meta_common::{Account, MetaChannel, MetaProduct, Page, Product};
use switchboard_sdk::MediaKind;

pub struct Messenger;

impl MetaProduct for Messenger {
    const PRODUCT: Product = Product {
        id: "messenger",
        name: "Facebook Messenger",
        version: env!("CARGO_PKG_VERSION"),
        description: "A Facebook Page's Messenger conversations, with Connect with Facebook",
        object: "page",
        account_setting: "page_id",
        account_label: "Page ID",
        account_help: "The Facebook Page's ID (Page → About → Page transparency, or Meta Business Suite → Settings)",
        page_fields: "id,name",
        account_of: page_itself,
        no_account: "Facebook Page",
        subscribed_fields: "messages,messaging_postbacks,message_deliveries,message_reads",
        scopes: "pages_show_list,pages_messaging,pages_manage_metadata,pages_read_engagement",
        webhook_setup: "In the Meta app dashboard: Messenger → Messenger API settings → Configure webhooks: paste the callback URL and the verify token, then subscribe to messages, messaging_postbacks, message_deliveries and message_reads",
        media_kinds: &[MediaKind::Image, MediaKind::Video, MediaKind::Audio, MediaKind::Document],
    };
}

/// A Messenger channel is the Page itself.
fn page_itself(page: &Page) -> Option<Account> {
    Some(Account { id: page.id.clone(), name: page.name.clone() })
}

switchboard_sdk::export_channel!(MetaChannel<Messenger>);

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::Channel;

    #[test]
    fn a_messenger_channel_is_a_page_named_by_page_id() {
        let product = Messenger::PRODUCT;
        let page = Page { id: "104".into(), name: "Toko Budi".into(), access_token: None, instagram_business_account: None };
        assert_eq!((product.account_of)(&page), Some(Account { id: "104".into(), name: "Toko Budi".into() }));
        let schema = MetaChannel::<Messenger>::settings_schema();
        let page_id = schema.iter().find(|f| f.key == "page_id").unwrap();
        assert!(page_id.required && page_id.immutable);
        assert_eq!(MetaChannel::<Messenger>::manifest().id, "messenger");
    }
}
