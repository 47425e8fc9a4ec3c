//! WhatsApp Business On-Premises API: the API client a business (or its BSP) runs at its own
//! URL. Credentials are a token, or a username and password exchanged for a token at
//! `/v1/users/login` (kept in the host's channel state and renewed before it expires).
//! Deliveries carry no signature: they are authenticated by the channel's secret in the webhook
//! URL registered with the API client. The API has no template endpoints: templates approved
//! in WhatsApp Manager are registered here, kept in the channel state with their namespace.

use jiff::{SignedDuration, Timestamp};
use switchboard_sdk::guide::Guide;
use switchboard_sdk::http::Method;
use switchboard_sdk::serde::{Deserialize, Serialize};
use switchboard_sdk::serde_json::{Value, json};
use switchboard_sdk::*;
use switchboard_whatsapp_common::errors;
use switchboard_whatsapp_common::inbound::Notification;
use switchboard_whatsapp_common::outbound::{self, Api};
use switchboard_whatsapp_common::{templates, window_policy};

const TOKEN_KEY: &str = "login_token";
const TOKEN_EXPIRY_KEY: &str = "login_token_expires_after";
const TEMPLATES_KEY: &str = "templates";
/// A login token is renewed when it has less than this left.
const RENEW_BEFORE: SignedDuration = SignedDuration::from_hours(1);
/// When the API client's expiry cannot be read: what the On-Premises API gives (7 days) is not
/// assumed; the token is renewed after a day.
const UNREADABLE_EXPIRY_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

struct WhatsApp;

impl Channel for WhatsApp {
    fn manifest() -> Manifest {
        Manifest {
            id: "whatsapp".into(),
            name: "WhatsApp (On-Premises API)".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "WhatsApp Business through your own or your BSP's WhatsApp Business API client, with HSM templates".into(),
            capabilities: vec![Capability::Templates, Capability::SendMedia, Capability::SendTemplates],
            // The API client runs at the business's own URL: the operator allows it (--allow-outbound).
            outbound_hosts: vec![],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![
            Field::new("url", "API client URL", FieldKind::Url)
                .required()
                .help("The base URL of your WhatsApp Business API client, e.g. https://wa.example.com"),
            Field::new("token", "Token", FieldKind::Secret).help("An API token; or leave it empty and give a username and password"),
            Field::new("username", "Username", FieldKind::Text).help("An API client user; the token is obtained and renewed with it"),
            Field::new("password", "Password", FieldKind::Secret),
            Field::new("namespace", "Template namespace", FieldKind::Text)
                .help("Your WhatsApp Business Account's message template namespace (WhatsApp Manager → Message templates)"),
        ]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        let client = Client::new(ctx)?;
        client.check_health()?;
        client.call(Method::PATCH, "/v1/settings/application", Some(&json!({"webhooks": {"url": delivery_url(ctx)}})))?;
        let host = client.base.split_once("://").map_or(client.base, |(_, rest)| rest);
        Ok(Connection {
            display_name: host.split('/').next().unwrap_or(host).to_owned(),
            external_account_id: client.base.to_owned(),
            setup: vec![SetupItem::new(
                "webhook",
                "Webhook",
                "Registered with your API client automatically (its application settings): nothing to do",
            )],
        })
    }

    fn disconnect(ctx: &ChannelContext) -> Result<(), ChannelError> {
        let client = Client::new(ctx)?;
        match client.call(Method::PATCH, "/v1/settings/application", Some(&json!({"webhooks": {"url": ""}}))) {
            // Credentials revoked since: there is nothing we may tear down.
            Ok(_) | Err(ChannelError::Unauthorized(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        Self::handle_webhook_with_choices(ctx, request).map(InteractiveWebhookOutcome::plain)
    }

    /// Taps on reply buttons, list rows and templates' quick replies come back as choices.
    fn handle_webhook_with_choices(ctx: &ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
        let secret = request.path.trim_matches('/');
        if ctx.webhook_secret.is_empty() || !secure_eq(secret, &ctx.webhook_secret) {
            return Err(ChannelError::Unauthorized("the webhook URL lacks the channel's secret".into()));
        }
        if request.method != "POST" {
            return Err(ChannelError::BadRequest(format!("the API client sends POST, not {}", request.method)));
        }
        let notification: Notification = request.json()?;
        for error in notification.error_summaries() {
            log::warn(format!("the API client reported an error: {error}"));
        }
        Ok(InteractiveWebhookOutcome::ok(notification.into_events()))
    }

    fn send(ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        let namespace = match &message.content {
            OutboundContent::Template(template) => registered(&template.name, &template.language)
                .map(|stored| stored.namespace)
                .or_else(|| ctx.setting("namespace").map(str::to_owned)),
            _ => None,
        };
        let body = outbound::message_body(Api::OnPremises { namespace: namespace.as_deref() }, &message)?;
        let response = Client::new(ctx)?.call(Method::POST, "/v1/messages", Some(&body))?;
        outbound::receipt(&response)
    }

    /// Reply buttons and lists, as on the Cloud API (no URL button here).
    fn interactive_support() -> InteractiveSupport {
        outbound::interactive_support(Api::OnPremises { namespace: None })
    }

    fn send_interactive(ctx: &ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
        let body = outbound::interactive_body(Api::OnPremises { namespace: None }, &message)?;
        outbound::receipt(&Client::new(ctx)?.call(Method::POST, "/v1/messages", Some(&body))?)
    }

    /// `GET /v1/media/{id}` on the business's API client, with the bearer token (renewed
    /// first when it is a login token near its end); 404 once the media is gone.
    fn fetch_media(ctx: &ChannelContext, attachment: &Attachment) -> Result<MediaSource, ChannelError> {
        let id = attachment.provider_media_id.as_deref().ok_or_else(|| ChannelError::Provider("the attachment has no WhatsApp media id".into()))?;
        let client = Client::new(ctx)?;
        let token = client.token(false)?;
        Ok(MediaRequest::get(format!("{}/v1/media/{id}", client.base)).bearer(&token).into())
    }

    fn messaging_window() -> WindowPolicy {
        window_policy()
    }

    fn list_templates(_ctx: &ChannelContext) -> Result<Vec<Template>, ChannelError> {
        Ok(stored_templates().into_iter().map(StoredTemplate::into_template).collect())
    }

    fn create_template(ctx: &ChannelContext, template: NewTemplate) -> Result<Template, ChannelError> {
        let template = templates::validate(&template)?;
        let namespace = ctx.setting("namespace").ok_or_else(|| {
            ChannelError::invalid_setting("namespace", "set the channel's template namespace first (WhatsApp Manager → Message templates)")
        })?;
        let mut stored = stored_templates();
        if stored.iter().any(|t| t.name == template.name && t.language == template.language) {
            return Err(ChannelError::invalid_setting("name", "a template with this name and language is already registered"));
        }
        let new = StoredTemplate {
            name: template.name,
            language: template.language,
            category: template.category,
            body: template.body,
            namespace: namespace.to_owned(),
        };
        stored.push(new.clone());
        save_templates(&stored);
        Ok(new.into_template())
    }

    fn delete_template(_ctx: &ChannelContext, name: &str) -> Result<(), ChannelError> {
        let mut stored = stored_templates();
        let before = stored.len();
        stored.retain(|t| t.name != name);
        if stored.len() == before {
            return Err(ChannelError::Provider(format!("no template named `{name}` is registered")));
        }
        save_templates(&stored);
        Ok(())
    }

    fn connect_guide() -> Guide {
        Guide::new()
            .section("Before you start")
            .note("You need a WhatsApp Business API account (a WhatsApp Business Account with an approved phone number) and a running On-Premises API client: your own, or your BSP's.")
            .note("24-hour policy: free-form replies are allowed only within 24 hours of the customer's last message. After that, only approved message templates (HSM) can be sent.")
            .section("Connect the API client")
            .steps([
                "Ask the operator to allow your API client's host: Switchboard reaches only the hosts it was told to.",
                "Put the client's base URL, such as `https://wa.example.com`, in **API client URL**.",
                "Paste an API token in **Token**, or leave it empty and give an API client user's **Username** and **Password** (the token is then obtained and renewed for you).",
                "For templates, copy the namespace from [WhatsApp Manager](https://business.facebook.com/wa/manage/) → **Message templates** into **Template namespace**, then connect.",
            ])
            .section("Webhook")
            .paragraph("On connect, Switchboard sets the webhook URL in the client's application settings (`webhooks.url`) itself: nothing to paste. Keep it as set, and let the client reach Switchboard's public address; disconnecting clears it.")
    }

    /// The plugin's texts in other languages: `i18n/<language>.json`, a file translators edit.
    fn translations(language: &str) -> Vec<(String, String)> {
        switchboard_sdk::texts_for(language, &[("id", include_str!("../i18n/id.json"))])
    }
}

export_channel!(WhatsApp);

/// Where the API client delivers: the channel's webhook URL with its secret as the last segment.
fn delivery_url(ctx: &ChannelContext) -> String {
    format!("{}/{}", ctx.webhook_url.trim_end_matches('/'), ctx.webhook_secret)
}

/// A template registered for this channel (the On-Premises API keeps none itself).
#[derive(Clone, Serialize, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct StoredTemplate {
    name: String,
    language: String,
    category: String,
    body: String,
    namespace: String,
}

impl StoredTemplate {
    fn into_template(self) -> Template {
        // Registering a template says it is approved in WhatsApp Manager; the API client cannot tell.
        Template { name: self.name, language: self.language, category: self.category, status: "APPROVED".into(), body: self.body }
    }
}

fn stored_templates() -> Vec<StoredTemplate> {
    state::get(TEMPLATES_KEY).and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default()
}

fn save_templates(templates: &[StoredTemplate]) {
    state::set(TEMPLATES_KEY, &serde_json::to_string(templates).expect("templates serialize"));
}

fn registered(name: &str, language: &str) -> Option<StoredTemplate> {
    stored_templates().into_iter().find(|t| t.name == name && t.language == language)
}

enum Credentials<'a> {
    Token(&'a str),
    Login { username: &'a str, password: &'a str },
}

/// The business's API client with this channel's credentials.
struct Client<'a> {
    base: &'a str,
    credentials: Credentials<'a>,
}

impl<'a> Client<'a> {
    fn new(ctx: &'a ChannelContext) -> Result<Self, ChannelError> {
        let base = ctx.require("url")?.trim_end_matches('/');
        let credentials = match (ctx.setting("token"), ctx.setting("username"), ctx.setting("password")) {
            (_, Some(_), None) => return Err(ChannelError::invalid_setting("password", "password is missing")),
            (_, None, Some(_)) => return Err(ChannelError::invalid_setting("username", "username is missing")),
            (_, Some(username), Some(password)) => Credentials::Login { username, password },
            (Some(token), None, None) => Credentials::Token(token),
            (None, None, None) => {
                return Err(ChannelError::invalid_setting("token", "give a token, or a username and password"));
            }
        };
        Ok(Self { base, credentials })
    }

    /// The bearer token: the configured one, or a login token still good for a while.
    fn token(&self, renew: bool) -> Result<String, ChannelError> {
        let (username, password) = match self.credentials {
            Credentials::Token(token) => return Ok(token.to_owned()),
            Credentials::Login { username, password } => (username, password),
        };
        if !renew
            && let (Some(token), Some(expiry)) = (state::get(TOKEN_KEY), state::get(TOKEN_EXPIRY_KEY))
            && expiry.parse::<Timestamp>().is_ok_and(|at| at.duration_since(Timestamp::now()) > RENEW_BEFORE)
        {
            return Ok(token);
        }
        let response = http::post(format!("{}/v1/users/login", self.base)).basic_auth(username, password).send()?;
        if !response.is_success() {
            return Err(errors::from_response(&response));
        }
        let login: Login = response.json()?;
        let user = login.users.into_iter().next().ok_or_else(|| ChannelError::Provider("the login answer has no token".into()))?;
        let expiry = user.expires_after.parse::<Timestamp>().unwrap_or_else(|_| {
            log::warn(format!("unreadable token expiry `{}`; renewing it within a day", user.expires_after));
            Timestamp::now() + UNREADABLE_EXPIRY_LIFETIME
        });
        state::set(TOKEN_KEY, &user.token);
        state::set(TOKEN_EXPIRY_KEY, &expiry.to_string());
        Ok(user.token)
    }

    /// One API call with the bearer token; a login token the API client refuses is renewed once.
    fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<http::Response, ChannelError> {
        let request = |token: &str| {
            let request = http::Request::new(method.clone(), format!("{}{path}", self.base)).bearer_auth(token);
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        let mut response = request(&self.token(false)?).send()?;
        if response.status == 401 && matches!(self.credentials, Credentials::Login { .. }) {
            response = request(&self.token(true)?).send()?;
        }
        if !response.is_success() {
            return Err(errors::from_response(&response));
        }
        Ok(response)
    }

    /// `GET /v1/health`: every gateway (one, or each node of a multiconnect cluster) connected.
    fn check_health(&self) -> Result<(), ChannelError> {
        let health: Value = self.call(Method::GET, "/v1/health", None)?.json()?;
        let mut statuses = Vec::new();
        gateway_statuses(&health["health"], &mut statuses);
        match statuses.into_iter().find(|status| status != "connected") {
            Some(status) => Err(ChannelError::Provider(format!("the WhatsApp gateway of the API client is {status}, not connected"))),
            None => Ok(()),
        }
    }
}

fn gateway_statuses(value: &Value, found: &mut Vec<String>) {
    if let Some(status) = value.get("gateway_status").and_then(Value::as_str) {
        found.push(status.to_owned());
    }
    if let Value::Object(fields) = value {
        for nested in fields.values().filter(|v| v.is_object()) {
            gateway_statuses(nested, found);
        }
    }
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Login {
    users: Vec<LoginUser>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct LoginUser {
    token: String,
    expires_after: String,
}
