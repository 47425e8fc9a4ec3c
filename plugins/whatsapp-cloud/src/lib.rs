//! WhatsApp Business Cloud API: one phone number of a WhatsApp Business Account, through Meta's
//! Graph API. Webhooks are signed with the app secret (`X-Hub-Signature-256`); the verify token
//! is the host's secret for the channel.
//!
//! Two ways to connect: "Connect with Facebook", Embedded Signup with the operator's Meta app
//! (`embedded_signup`: the admin only logs in and ticks numbers; the number is registered and
//! its account subscribed to the app, whose one callback URL receives it), or the manual form
//! (IDs and a system user's token of the business's own app, with a per-channel webhook).

mod embedded_signup;

use switchboard_sdk::guide::Guide;
use switchboard_sdk::http::Method;
use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde::de::DeserializeOwned;
use switchboard_sdk::serde_json::{Value, json};
use switchboard_sdk::*;
use switchboard_whatsapp_common::errors::{self, ProviderError};
use switchboard_whatsapp_common::inbound::Notification;
use switchboard_whatsapp_common::outbound::{self, Api};
use switchboard_whatsapp_common::{templates, window_policy};

use embedded_signup::OperatorApp;

const DEFAULT_API: &str = "https://graph.facebook.com";
const GRAPH_VERSION: &str = "v21.0";
/// Pages of templates read at most (100 each).
const MAX_TEMPLATE_PAGES: usize = 20;

struct WhatsAppCloud;

impl Channel for WhatsAppCloud {
    fn manifest() -> Manifest {
        Manifest {
            id: "whatsapp-cloud".into(),
            name: "WhatsApp Cloud API".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "WhatsApp Business phone numbers through Meta's Cloud API, with message templates".into(),
            capabilities: vec![Capability::Templates, Capability::SendMedia, Capability::SendTemplates, Capability::OauthConnect],
            // Media downloads come from Meta's CDN (`lookaside.fbsbx.com`).
            outbound_hosts: vec!["graph.facebook.com".into(), "lookaside.fbsbx.com".into()],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![
            Field::new("phone_number_id", "Phone number ID", FieldKind::Text)
                .required()
                .immutable()
                .help("WhatsApp Manager → Phone numbers, or the app's WhatsApp → API Setup page"),
            Field::new("business_account_id", "WhatsApp Business Account ID", FieldKind::Text).required().immutable(),
            Field::new("access_token", "Access token", FieldKind::Secret)
                .required()
                .help("A system user's permanent token with whatsapp_business_messaging and whatsapp_business_management"),
            Field::new("app_secret", "App secret", FieldKind::Secret)
                .required()
                .help("Meta app → App settings → Basic; checks the signature of every webhook"),
            Field::new("app_id", "App ID", FieldKind::Text)
                .help("Filled in by Connect with Facebook (the operator's app); leave empty with your own app"),
            Field::new("api_base_url", "API base URL", FieldKind::Url)
                .default_value(DEFAULT_API)
                .help("Change only for tests (the operator must allow its host)"),
        ]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        let graph = Graph::new(ctx)?;
        let phone: PhoneNumber = graph
            .call(graph.request(Method::GET, graph.phone_number_id).query([("fields", "display_phone_number,verified_name")]))
            .map_err(|e| e.on_field("phone_number_id"))?;
        // Held before it is subscribed: should the account's last other number be disconnecting
        // right now, the hold waits for its unsubscription, which then cannot undo ours.
        holds::hold(&waba_hold(graph.business_account_id));
        // Deliveries for the account's numbers reach the app only once it is subscribed to the account.
        graph
            .call::<Value>(graph.request(Method::POST, &format!("{}/subscribed_apps", graph.business_account_id)))
            .map_err(|e| e.on_field("business_account_id"))?;
        if OperatorApp::serving(ctx).is_some() {
            // A number onboarded by Embedded Signup must be registered for the Cloud API.
            register(&graph)?;
            return Ok(Connection {
                display_name: format!("{} ({})", phone.verified_name, phone.display_phone_number),
                external_account_id: graph.phone_number_id.to_owned(),
                setup: vec![SetupItem::new(
                    "webhook",
                    "Webhook",
                    "Registered and subscribed to the operator's Meta app: its callback URL receives this number's messages, nothing to do",
                )],
            });
        }
        Ok(Connection {
            display_name: format!("{} ({})", phone.verified_name, phone.display_phone_number),
            external_account_id: graph.phone_number_id.to_owned(),
            setup: vec![
                SetupItem::new("webhook_url", "Callback URL", &ctx.webhook_url),
                SetupItem::new("verify_token", "Verify token", &ctx.webhook_secret),
                SetupItem::new(
                    "webhook",
                    "Webhook",
                    "In the Meta app: WhatsApp → Configuration → Webhook, paste the callback URL and the verify token, then subscribe to the `messages` field",
                ),
            ],
        })
    }

    /// Unsubscribes the account from the app, unless another channel (another number of the
    /// same account) still relies on it.
    fn disconnect(ctx: &ChannelContext) -> Result<(), ChannelError> {
        let graph = Graph::new(ctx)?;
        if holds::release(&waba_hold(graph.business_account_id)) {
            log::info(format!("account {} stays subscribed: another channel relies on it", graph.business_account_id));
            return Ok(());
        }
        match graph.call::<Value>(graph.request(Method::DELETE, &format!("{}/subscribed_apps", graph.business_account_id))) {
            Ok(_) => Ok(()),
            // A revoked token: the business removed the app already, nothing left to undo.
            Err(failure) => match failure.into_error() {
                ChannelError::Unauthorized(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    fn auth_start(request: AuthStartRequest) -> Result<AuthRedirect, ChannelError> {
        embedded_signup::start(&request)
    }

    fn auth_finish(request: AuthFinishRequest) -> Result<Vec<AuthAccount>, ChannelError> {
        embedded_signup::finish(&request)
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        Self::handle_webhook_with_choices(ctx, request).map(InteractiveWebhookOutcome::plain)
    }

    /// Taps on reply buttons, list rows and templates' quick replies come back as choices.
    fn handle_webhook_with_choices(ctx: &ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
        match request.method.as_str() {
            "GET" => Ok(verification(ctx, &request).into()),
            "POST" => {
                let signature = request.header("x-hub-signature-256").and_then(|s| s.strip_prefix("sha256="));
                let app_secret = embedded_signup::app_secret(ctx)?;
                if !signature.is_some_and(|signature| verify_hmac_sha256_hex(&app_secret, &request.body, signature)) {
                    return Err(ChannelError::Unauthorized("missing or wrong X-Hub-Signature-256".into()));
                }
                let envelope: Envelope = request.json()?;
                Ok(InteractiveWebhookOutcome::ok(envelope.into_events(ctx.require("phone_number_id")?)))
            }
            other => Err(ChannelError::BadRequest(format!("WhatsApp sends GET and POST, not {other}"))),
        }
    }

    fn app_settings_schema() -> Vec<Field> {
        vec![
            Field::new("app_id", "App ID", FieldKind::Text)
                .required()
                .help("Meta for Developers → your app → App settings → Basic → App ID"),
            Field::new("app_secret", "App secret", FieldKind::Secret)
                .required()
                .help("Same page, App secret: it signs the webhooks of every number subscribed to the app"),
            Field::new("embedded_signup_config_id", "Embedded Signup configuration ID", FieldKind::Text)
                .help("Facebook Login for Business → Configurations: the WhatsApp Embedded Signup configuration; enables Connect with Facebook"),
            Field::new("api_base_url", "API base URL", FieldKind::Url).help("Leave empty for https://graph.facebook.com (tests, proxies)"),
        ]
    }

    /// The app's one callback URL: Meta's challenge with the host's verify token for the app,
    /// every `POST` signed with the app secret, events tagged with their phone number id.
    fn handle_app_webhook(app: &AppContext, request: HttpRequest) -> Result<AppWebhookOutcome, ChannelError> {
        Self::handle_app_webhook_with_choices(app, request).map(InteractiveAppWebhookOutcome::plain)
    }

    fn handle_app_webhook_with_choices(app: &AppContext, request: HttpRequest) -> Result<InteractiveAppWebhookOutcome, ChannelError> {
        match request.method.as_str() {
            "GET" => Ok(InteractiveAppWebhookOutcome { response: request.hub_challenge(&app.verify_token), events: vec![] }),
            "POST" => {
                let secret = property(&app.settings, "app_secret").unwrap_or_default();
                if !request.has_hub_signature_256(secret) {
                    return Err(ChannelError::Unauthorized("missing or wrong X-Hub-Signature-256 (the app secret signs every delivery)".into()));
                }
                let envelope: Envelope = request.json()?;
                Ok(InteractiveAppWebhookOutcome { response: HttpResponse::ok(), events: envelope.into_account_events() })
            }
            other => Err(ChannelError::BadRequest(format!("WhatsApp sends GET and POST, not {other}"))),
        }
    }

    fn send(ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        post_message(ctx, &outbound::message_body(Api::Cloud, &message)?)
    }

    fn interactive_support() -> InteractiveSupport {
        outbound::interactive_support(Api::Cloud)
    }

    fn send_interactive(ctx: &ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
        post_message(ctx, &outbound::interactive_body(Api::Cloud, &message)?)
    }

    /// The media id gives a URL valid five minutes, downloaded with the same token (Meta
    /// refuses it without); asked anew on each try.
    fn fetch_media(ctx: &ChannelContext, attachment: &Attachment) -> Result<MediaSource, ChannelError> {
        let graph = Graph::new(ctx)?;
        let id = attachment.provider_media_id.as_deref().ok_or_else(|| ChannelError::Provider("the attachment has no WhatsApp media id".into()))?;
        let request = graph.request(Method::GET, id).query([("phone_number_id", graph.phone_number_id)]);
        let media: MediaUrl = graph.call(request).map_err(Failure::into_error)?;
        Ok(MediaRequest::get(media.url).bearer(graph.token).into())
    }

    fn messaging_window() -> WindowPolicy {
        window_policy()
    }

    fn list_templates(ctx: &ChannelContext) -> Result<Vec<Template>, ChannelError> {
        Ok(Self::list_button_templates(ctx)?.into_iter().map(|t| t.template).collect())
    }

    fn list_button_templates(ctx: &ChannelContext) -> Result<Vec<ButtonTemplate>, ChannelError> {
        let graph = Graph::new(ctx)?;
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_TEMPLATE_PAGES {
            let mut request = graph
                .request(Method::GET, &graph.templates_path())
                .query([("fields", "name,status,language,category,components"), ("limit", "100")]);
            if let Some(cursor) = &after {
                request = request.query([("after", cursor.as_str())]);
            }
            let page: Page = graph.call(request).map_err(Failure::into_error)?;
            found.extend(page.data.into_iter().map(GraphTemplate::into_template));
            after = page.paging.filter(|p| p.next.is_some()).and_then(|p| p.cursors).and_then(|c| c.after);
            if after.is_none() {
                break;
            }
        }
        Ok(found)
    }

    fn create_template(ctx: &ChannelContext, template: NewTemplate) -> Result<Template, ChannelError> {
        Self::create_button_template(ctx, NewButtonTemplate { template, buttons: Vec::new() }).map(|t| t.template)
    }

    fn create_button_template(ctx: &ChannelContext, template: NewButtonTemplate) -> Result<ButtonTemplate, ChannelError> {
        let NewButtonTemplate { template, buttons } = templates::validate_with_buttons(&template)?;
        let graph = Graph::new(ctx)?;
        let mut components = vec![json!({"type": "BODY", "text": template.body})];
        components.extend(templates::buttons_component(&buttons));
        let body = json!({
            "name": template.name,
            "language": template.language,
            "category": template.category,
            "components": components,
        });
        let created: Created = graph.call(graph.request(Method::POST, &graph.templates_path()).json(&body)).map_err(|failure| {
            match failure.into_error() {
                ChannelError::Provider(reason) => templates::rejection(reason),
                other => other,
            }
        })?;
        let template = Template {
            name: template.name,
            language: template.language,
            category: created.category.unwrap_or(template.category),
            status: created.status,
            body: template.body,
        };
        Ok(ButtonTemplate { template, buttons })
    }

    fn send_template_with_buttons(ctx: &ChannelContext, message: OutboundMessage, buttons: Vec<ButtonParameter>) -> Result<Receipt, ChannelError> {
        post_message(ctx, &outbound::template_with_buttons_body(&message, &buttons)?)
    }

    fn delete_template(ctx: &ChannelContext, name: &str) -> Result<(), ChannelError> {
        let graph = Graph::new(ctx)?;
        graph.call::<Value>(graph.request(Method::DELETE, &graph.templates_path()).query([("name", name)])).map_err(Failure::into_error)?;
        Ok(())
    }

    /// Cloud API throughput is 80 messages a second per business phone number by default.
    fn send_limits() -> SendLimits {
        SendLimits { per_second: Some(80), concurrency: None }
    }

    fn connect_guide() -> Guide {
        Guide::new()
            .section("Before you start")
            .note("You need a WhatsApp Business API account: a Meta Business account with a WhatsApp Business Account (WABA) and a phone number for it.")
            .note("24-hour policy: free-form replies are allowed only within 24 hours of the customer's last message. After that, only approved message templates (HSM) can be sent.")
            .section("Connect with Facebook")
            .steps([
                "Where the operator's Meta app is set up, press **Connect with Facebook** at the top of this page.",
                "Log in with Facebook in the tab that opens, choose your business and WhatsApp Business Account, or create them and add a number.",
                "Back here, tick the numbers to connect. Each number becomes one account; its webhook is set up for you.",
            ])
            .section("Or with your own Meta app")
            .steps([
                "In the [Meta app dashboard](https://developers.facebook.com/apps/), open your app's **WhatsApp** → **API Setup** and copy the **Phone number ID** and **WhatsApp Business Account ID** into the fields of the same names.",
                "In [Business Settings](https://business.facebook.com/settings) → **System users**, give a system user your app and WhatsApp account, generate a permanent token with `whatsapp_business_messaging` and `whatsapp_business_management` and paste it in **Access token**.",
                "From the app's **App settings** → **Basic**, copy the **App secret** into **App secret**; leave **App ID** empty, then connect.",
                "In the app's **WhatsApp** → **Configuration** → **Webhook**, press **Edit**, paste the **Callback URL** and **Verify token** shown here after connecting, then **Verify and save**.",
                "Under **Webhook fields**, subscribe to `messages`.",
            ])
    }

    /// The plugin's texts in other languages: `i18n/<language>.json`, a file translators edit.
    fn translations(language: &str) -> Vec<(String, String)> {
        switchboard_sdk::texts_for(language, &[("id", include_str!("../i18n/id.json"))])
    }
}

export_channel!(WhatsAppCloud);

/// `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`: the challenge back when T is
/// the channel's verify token, 403 otherwise.
fn verification(ctx: &ChannelContext, request: &HttpRequest) -> WebhookOutcome {
    let token = request.query_param("hub.verify_token");
    let subscribing = request.query_param("hub.mode").as_deref() == Some("subscribe");
    let token_matches = !ctx.webhook_secret.is_empty() && token.is_some_and(|t| secure_eq(t, &ctx.webhook_secret));
    let response = match request.query_param("hub.challenge") {
        Some(challenge) if subscribing && token_matches => HttpResponse::text(200, challenge),
        _ => HttpResponse::text(403, "verify token mismatch"),
    };
    WebhookOutcome { response, events: vec![] }
}

/// The hold on a WhatsApp Business Account's app subscription: its numbers' channels share it.
fn waba_hold(business_account_id: &str) -> String {
    format!("meta:waba:{business_account_id}")
}

/// State key: the number's two-step verification PIN, set when Switchboard registered it.
const TWO_STEP_PIN: &str = "two_step_pin";

/// Registers the number for the Cloud API with a PIN Switchboard makes and keeps (it becomes
/// the number's two-step verification PIN; a reconnect reuses it). A number registered before
/// with another PIN (133005) is registered: that is fine.
fn register(graph: &Graph) -> Result<(), ChannelError> {
    let pin = state::get(TWO_STEP_PIN).unwrap_or_else(|| {
        let mut bytes = [0u8; 8];
        wstd::rand::get_random_bytes(&mut bytes);
        let pin = format!("{:06}", u64::from_le_bytes(bytes) % 1_000_000);
        state::set(TWO_STEP_PIN, &pin);
        pin
    });
    let body = json!({"messaging_product": "whatsapp", "pin": pin});
    match graph.call::<Value>(graph.request(Method::POST, &format!("{}/register", graph.phone_number_id)).json(&body)) {
        Ok(_) => Ok(()),
        Err(Failure::Refused(response)) if ProviderError::parse(response.status, &response.body).code == Some(133005) => {
            log::warn(format!("number {} was registered before with another PIN: kept as it is", graph.phone_number_id));
            Ok(())
        }
        Err(failure) => Err(failure.into_error()),
    }
}

/// The Graph API as one channel's credentials see it.
struct Graph<'a> {
    base: &'a str,
    token: &'a str,
    /// `appsecret_proof`: HMAC-SHA256(app secret, token) in hex, proves the caller holds the app secret.
    proof: String,
    phone_number_id: &'a str,
    business_account_id: &'a str,
}

impl<'a> Graph<'a> {
    fn new(ctx: &'a ChannelContext) -> Result<Self, ChannelError> {
        let token = ctx.require("access_token")?;
        Ok(Self {
            base: ctx.setting_or("api_base_url", DEFAULT_API).trim_end_matches('/'),
            token,
            proof: hex::encode(hmac_sha256(&embedded_signup::app_secret(ctx)?, token)),
            phone_number_id: ctx.require("phone_number_id")?,
            business_account_id: ctx.require("business_account_id")?,
        })
    }

    fn templates_path(&self) -> String {
        format!("{}/message_templates", self.business_account_id)
    }

    fn request(&self, method: Method, path: &str) -> http::Request {
        http::Request::new(method, format!("{}/{GRAPH_VERSION}/{path}", self.base))
            .bearer_auth(self.token)
            .query([("appsecret_proof", self.proof.as_str())])
    }

    /// Sends and reads a success; a refusal keeps Graph's error for the caller to place.
    fn call<T: DeserializeOwned>(&self, request: http::Request) -> Result<T, Failure> {
        let response = request.send().map_err(Failure::Channel)?;
        if response.is_success() {
            return response.json().map_err(Failure::Channel);
        }
        Err(Failure::Refused(response))
    }
}

enum Failure {
    /// No answer, or one that does not read.
    Channel(ChannelError),
    Refused(http::Response),
}

impl Failure {
    fn into_error(self) -> ChannelError {
        match self {
            Failure::Channel(error) => error,
            Failure::Refused(response) => errors::from_response(&response),
        }
    }

    /// At connect: "no such object" (code 100) is about this setting, and a wrong
    /// `appsecret_proof` about the app secret.
    fn on_field(self, field: &str) -> ChannelError {
        let Failure::Refused(response) = &self else { return self.into_error() };
        let error = ProviderError::parse(response.status, &response.body);
        if error.title.contains("appsecret_proof") {
            ChannelError::invalid_setting("app_secret", &format!("Meta refused the app secret: {}", error.reason()))
        } else if error.code == Some(100) {
            ChannelError::invalid_setting(field, &error.reason())
        } else {
            self.into_error()
        }
    }
}

// Graph's wire types, as far as this channel reads them.

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct PhoneNumber {
    display_phone_number: String,
    verified_name: String,
}

/// `{"object":"whatsapp_business_account","entry":[{"id","changes":[{"field":"messages","value":{...}}]}]}`.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Envelope {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Change {
    field: String,
    value: ChangeValue,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct ChangeValue {
    metadata: Option<Metadata>,
    #[serde(flatten)]
    notification: Notification,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Metadata {
    phone_number_id: String,
}

/// `POST /{phone-number-id}/messages` with a body; the new message's id.
fn post_message(ctx: &ChannelContext, body: &Value) -> Result<Receipt, ChannelError> {
    let graph = Graph::new(ctx)?;
    let response = graph.request(Method::POST, &format!("{}/messages", graph.phone_number_id)).json(body).send()?;
    if !response.is_success() {
        return Err(errors::from_response(&response));
    }
    outbound::receipt(&response)
}

impl Envelope {
    /// Every number's events, each tagged with its phone number id (an app's callback carries
    /// all the numbers subscribed to it); other fields are not message traffic.
    fn into_account_events(self) -> Vec<AccountInboundEvent> {
        let changes = self.entry.into_iter().flat_map(|entry| entry.changes).filter(|change| change.field == "messages");
        let mut events = Vec::new();
        for change in changes {
            let Some(Metadata { phone_number_id }) = change.value.metadata else {
                log::warn("a WhatsApp change without metadata.phone_number_id reached the app: ignored");
                continue;
            };
            let notification = change.value.notification;
            for error in notification.error_summaries() {
                log::warn(format!("WhatsApp reported an error for {phone_number_id}: {error}"));
            }
            events.extend(notification.into_events().into_iter().map(|event| AccountInboundEvent { account: phone_number_id.clone(), event }));
        }
        events
    }

    /// The events about this channel's phone number; other numbers of the same app and other
    /// fields (template reviews, account updates) are not this channel's traffic.
    fn into_events(self, phone_number_id: &str) -> Vec<InboundEvent> {
        let changes = self.entry.into_iter().flat_map(|entry| entry.changes);
        let mine = changes.filter(|change| {
            change.field == "messages" && change.value.metadata.as_ref().is_none_or(|m| m.phone_number_id == phone_number_id)
        });
        mine.flat_map(|change| {
            let notification = change.value.notification;
            for error in notification.error_summaries() {
                log::warn(format!("WhatsApp reported an error: {error}"));
            }
            notification.into_events()
        })
        .collect()
    }
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Page {
    #[serde(default)]
    data: Vec<GraphTemplate>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Paging {
    cursors: Option<Cursors>,
    next: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Cursors {
    after: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct GraphTemplate {
    name: String,
    status: String,
    language: String,
    category: String,
    #[serde(default)]
    components: Vec<Value>,
}

impl GraphTemplate {
    fn into_template(self) -> ButtonTemplate {
        let of_kind = |kind: &str| self.components.iter().find(|c| c["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(kind)));
        let body = of_kind("BODY").and_then(|c| c["text"].as_str()).unwrap_or_default().to_owned();
        let buttons = of_kind("BUTTONS").map(templates::buttons_of).unwrap_or_default();
        let template = Template { name: self.name, language: self.language, category: self.category, status: self.status, body };
        ButtonTemplate { template, buttons }
    }
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Created {
    status: String,
    category: Option<String>,
}

/// `GET /{media-id}`: where the file is, for five minutes.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct MediaUrl {
    url: String,
}
