//! [`MetaChannel`]: the contract for one Meta product.

use std::marker::PhantomData;

use switchboard_sdk::serde_json::Value;
use switchboard_sdk::*;

use crate::graph::{DEFAULT_API, Graph, Page};
use crate::{MetaProduct, login, send, webhook, window_policy};

/// State key: the id of the Page whose webhook subscription connect made (disconnect removes it).
const SUBSCRIBED_PAGE: &str = "subscribed_page_id";

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
            outbound_hosts: vec!["graph.facebook.com".into()],
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
        // Deliveries for the Page reach the app's webhook only once the Page is subscribed.
        graph.post::<Value>(&format!("{}/subscribed_apps", page.id), &[("subscribed_fields", product.subscribed_fields)], None)?;
        state::set(SUBSCRIBED_PAGE, &page.id);
        Ok(Connection {
            setup: vec![
                SetupItem::new("webhook_url", "Callback URL", &ctx.webhook_url),
                SetupItem::new("verify_token", "Verify token", &ctx.webhook_secret),
                SetupItem::new("webhook", "Webhook", product.webhook_setup),
                SetupItem::new(
                    "page_subscription",
                    "Page subscription",
                    format!("{} is subscribed to the app's webhooks ({}): nothing to do", page.name, product.subscribed_fields),
                ),
            ],
            display_name: account.name,
            external_account_id: account.id,
        })
    }

    /// Unsubscribes the Page from the app's webhooks.
    fn disconnect(ctx: &ChannelContext) -> Result<(), ChannelError> {
        let graph = Graph::for_channel(ctx)?;
        let page_id = match state::get(SUBSCRIBED_PAGE) {
            Some(id) => id,
            None => graph.get::<Page>("me", &[("fields", "id,name")])?.id,
        };
        graph.delete::<Value>(&format!("{page_id}/subscribed_apps"), &[])?;
        Ok(())
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        webhook::handle(&P::PRODUCT, ctx, request)
    }

    fn send(ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        send::send(&P::PRODUCT, ctx, message)
    }

    fn messaging_window() -> WindowPolicy {
        window_policy()
    }

    fn auth_start(request: AuthStartRequest) -> Result<AuthRedirect, ChannelError> {
        login::start(&P::PRODUCT, &request)
    }

    fn app_settings_schema() -> Vec<Field> {
        crate::webhook::app_settings_schema()
    }

    fn handle_app_webhook(app: &AppContext, request: HttpRequest) -> Result<AppWebhookOutcome, ChannelError> {
        crate::webhook::handle_app(&P::PRODUCT, app, request)
    }

    fn auth_finish(request: AuthFinishRequest) -> Result<Vec<AuthAccount>, ChannelError> {
        login::finish(&P::PRODUCT, &request)
    }
}
