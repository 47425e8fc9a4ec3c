//! [`MetaChannel`]: the contract for one Meta product.

use std::marker::PhantomData;

use switchboard_sdk::guide::Guide;
use switchboard_sdk::serde_json::Value;
use switchboard_sdk::*;

use crate::graph::{DEFAULT_API, Graph, Page};
use crate::{MetaProduct, login, send, webhook, window_policy};

/// State key: the id of the Page whose webhook subscription connect made (disconnect removes it).
const SUBSCRIBED_PAGE: &str = "subscribed_page_id";

/// The hold on a Page's app subscription: Messenger and Instagram channels of one Page share it.
fn page_hold(page_id: &str) -> String {
    format!("meta:page:{page_id}")
}

/// A Meta channel; `P` says which product.
pub struct MetaChannel<P>(PhantomData<P>);

impl<P: MetaProduct> Channel for MetaChannel<P> {
    fn manifest() -> Manifest {
        let product = &P::PRODUCT;
        let mut capabilities = vec![Capability::OauthConnect];
        if !product.media_kinds.is_empty() {
            capabilities.push(Capability::SendMedia);
        }
        Manifest {
            id: product.id.into(),
            name: product.name.into(),
            version: product.version.into(),
            description: product.description.into(),
            capabilities,
            // Customers' files come from Meta's CDNs by the signed URL in the webhook.
            outbound_hosts: vec!["graph.facebook.com".into(), "*.fbcdn.net".into(), "*.fbsbx.com".into(), "*.cdninstagram.com".into()],
        }
    }

    fn settings_schema() -> Vec<Field> {
        let product = &P::PRODUCT;
        vec![
            Field::new(product.account_setting, product.account_label, FieldKind::Text)
                .required()
                .immutable()
                .help(product.account_help),
            Field::new("page_access_token", "Page access token", FieldKind::Secret)
                .required()
                .help("A Page access token with pages_messaging (Connect with Facebook fills it in); can be replaced later"),
            Field::new("app_secret", "App secret", FieldKind::Secret)
                .required()
                .help("Meta app dashboard → App settings → Basic; checks the signature of every webhook"),
            Field::new("app_id", "App ID", FieldKind::Text)
                .help("Meta app dashboard → App settings → Basic; needed for Connect with Facebook only"),
            Field::new("api_base_url", "API base URL", FieldKind::Url)
                .default_value(DEFAULT_API)
                .help("Change only for tests or a proxy (the operator must allow its host)"),
        ]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        let product = &P::PRODUCT;
        let account_id = ctx.require(product.account_setting)?;
        let graph = Graph::for_channel(ctx)?;
        // With a Page token, `me` is the Page: the token is checked and tells whose it is.
        let page: Page = graph.get("me", &[("fields", product.page_fields)]).map_err(|error| match error {
            ChannelError::Unauthorized(reason) => ChannelError::Unauthorized(format!("Facebook refused the Page access token: {reason}")),
            other => other,
        })?;
        let account = (product.account_of)(&page)
            .ok_or_else(|| ChannelError::invalid_setting("page_access_token", &format!("the token's Page {} has no {}", page.name, product.no_account)))?;
        if account.id != account_id {
            let problem = format!("the Page access token is for {} ({}), not for {account_id}", account.name, account.id);
            return Err(ChannelError::invalid_setting(product.account_setting, &problem));
        }
        // Held before it is subscribed: should the Page's last other channel be disconnecting
        // right now, the hold waits for its unsubscription, which then cannot undo ours.
        holds::hold(&page_hold(&page.id));
        // Deliveries for the Page reach the app's webhook only once the Page is subscribed. A
        // subscription names its fields anew, so keep those another product subscribed.
        let fields = subscribed_fields(&graph, &page.id, ctx.setting("app_id"), product.subscribed_fields)?;
        graph.post::<Value>(&format!("{}/subscribed_apps", page.id), &[("subscribed_fields", &fields)], None)?;
        state::set(SUBSCRIBED_PAGE, &page.id);
        let subscription = SetupItem::new(
            "page_subscription",
            "Page subscription",
            format!("{} is subscribed to the app's webhooks ({}): nothing to do", page.name, product.subscribed_fields),
        );
        // Through the operator's app, its one callback URL (set up by the operator) receives
        // the Page: there is no callback URL or verify token for the admin to paste anywhere.
        let setup = match crate::operator_app::OperatorApp::serving(ctx) {
            Some(_) => vec![
                SetupItem::new("webhook", "Webhook", "Routed through the operator's Meta app: its callback URL receives this Page's messages, nothing to do"),
                subscription,
            ],
            None => vec![
                SetupItem::new("webhook_url", "Callback URL", &ctx.webhook_url),
                SetupItem::new("verify_token", "Verify token", &ctx.webhook_secret),
                SetupItem::new("webhook", "Webhook", product.webhook_setup),
                subscription,
            ],
        };
        Ok(Connection {
            setup,
            display_name: account.name,
            external_account_id: account.id,
        })
    }

    /// Unsubscribes the Page from the app's webhooks, unless another channel (the Page's
    /// Instagram account, or its Messenger) still relies on the subscription.
    fn disconnect(ctx: &ChannelContext) -> Result<(), ChannelError> {
        let graph = Graph::for_channel(ctx)?;
        let page_id = match state::get(SUBSCRIBED_PAGE) {
            Some(id) => id,
            None => graph.get::<Page>("me", &[("fields", "id,name")])?.id,
        };
        if holds::release(&page_hold(&page_id)) {
            log::info(format!("Page {page_id} stays subscribed: another channel relies on it"));
            return Ok(());
        }
        graph.delete::<Value>(&format!("{page_id}/subscribed_apps"), &[])?;
        Ok(())
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        Self::handle_webhook_with_choices(ctx, request).map(InteractiveWebhookOutcome::plain)
    }

    /// Quick replies and postback buttons tapped come back as choices.
    fn handle_webhook_with_choices(ctx: &ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
        webhook::handle(&P::PRODUCT, ctx, request)
    }

    fn send(ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        send::send(&P::PRODUCT, ctx, message)
    }

    fn interactive_support() -> InteractiveSupport {
        send::interactive_support()
    }

    fn send_interactive(ctx: &ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
        send::send_interactive(ctx, message)
    }

    fn messaging_window() -> WindowPolicy {
        window_policy()
    }

    /// The webhook carries a signed CDN URL that expires (lifetime undocumented): the host
    /// downloads it at once; a sticker's URL is a picture too.
    fn fetch_media(_ctx: &ChannelContext, attachment: &Attachment) -> Result<MediaSource, ChannelError> {
        let url = attachment.url.clone().ok_or_else(|| ChannelError::Unsupported("the attachment has no file URL".into()))?;
        Ok(MediaRequest::get(url).into())
    }

    fn auth_start(request: AuthStartRequest) -> Result<AuthRedirect, ChannelError> {
        login::start(&P::PRODUCT, &request)
    }

    fn app_settings_schema() -> Vec<Field> {
        crate::webhook::app_settings_schema()
    }

    fn handle_app_webhook(app: &AppContext, request: HttpRequest) -> Result<AppWebhookOutcome, ChannelError> {
        Self::handle_app_webhook_with_choices(app, request).map(InteractiveAppWebhookOutcome::plain)
    }

    fn handle_app_webhook_with_choices(app: &AppContext, request: HttpRequest) -> Result<InteractiveAppWebhookOutcome, ChannelError> {
        crate::webhook::handle_app(&P::PRODUCT, app, request)
    }

    fn auth_finish(request: AuthFinishRequest) -> Result<Vec<AuthAccount>, ChannelError> {
        login::finish(&P::PRODUCT, &request)
    }

    fn connect_guide() -> Guide {
        P::connect_guide()
    }

    fn translations(language: &str) -> Vec<(String, String)> {
        P::translations(language)
    }
}

/// The fields to subscribe the Page to: this product's, plus those the app already has on the
/// Page (another product's channel). Without the app's id there is no telling which entry is
/// ours: the product's fields alone.
fn subscribed_fields(graph: &Graph, page_id: &str, app_id: Option<&str>, own: &str) -> Result<String, ChannelError> {
    #[derive(switchboard_sdk::serde::Deserialize)]
    #[serde(crate = "switchboard_sdk::serde")]
    struct Installed {
        id: String,
        #[serde(default)]
        subscribed_fields: Vec<String>,
    }
    let mut fields: Vec<String> = own.split(',').map(str::to_owned).collect();
    let Some(app_id) = app_id.map(str::trim).filter(|id| !id.is_empty()) else { return Ok(own.to_owned()) };
    let installed: crate::graph::List<Installed> = graph.get(&format!("{page_id}/subscribed_apps"), &[])?;
    for field in installed.data.into_iter().filter(|app| app.id == app_id).flat_map(|app| app.subscribed_fields) {
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    Ok(fields.join(","))
}
