//! Facebook Messenger: a Facebook Page's conversations through Meta's Messenger Platform.
//! Everything but what makes it Messenger lives in `switchboard-meta-common`.

use switchboard_meta_common::{Account, MetaChannel, MetaProduct, Page, Product};
use switchboard_sdk::MediaKind;
use switchboard_sdk::guide::Guide;

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

    fn connect_guide() -> Guide {
        Guide::new()
            .section("Connect with Facebook")
            .steps([
                "Press **Connect with Facebook** and log in, in the tab that opens, as someone who manages the Page.",
                "Choose the Pages to connect and allow the permissions asked for.",
                "Back here, tick the Pages. Messages sent to each Page on Messenger now appear in the inbox.",
            ])
            .paragraph("Without the operator's Meta app, fill in **App ID** and **App secret** of your own app first; the button then logs in with it and fills in **Page ID** and **Page access token**.")
            .section("Or with a Page access token")
            .steps([
                "In the [Meta app dashboard](https://developers.facebook.com/apps/), copy your app's **App ID** and **App secret** (**App settings** → **Basic**) into the fields of the same names.",
                "Under **Messenger** → **Messenger API settings** → **Generate access tokens**, add the Page, generate its token and paste it in **Page access token**.",
                "Put the Page's ID in **Page ID**, then connect.",
                "Back in **Messenger API settings**, under **Configure webhooks**, paste the **Callback URL** and **Verify token** shown here after connecting, then subscribe to `messages`, `messaging_postbacks`, `message_deliveries` and `message_reads`.",
            ])
            .note("Meta's 24-hour window: replies are free-form within 24 hours of the customer's last message. From then until 7 days after it, replies go out with the `HUMAN_AGENT` tag (your app needs Meta's Human Agent permission); after 7 days nothing can be sent until the customer writes again.")
    }

    /// The plugin's texts in other languages (those of `switchboard-meta-common` included):
    /// `i18n/<language>.json`, a file translators edit.
    fn translations(language: &str) -> Vec<(String, String)> {
        switchboard_sdk::texts_for(language, &[("id", include_str!("../i18n/id.json"))])
    }
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
