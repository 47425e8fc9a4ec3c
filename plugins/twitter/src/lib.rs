//! Twitter/X channel: an account's direct messages, through the Account Activity API
//! (webhooks with CRC checks) and the v1.1 DM endpoint, every call signed with OAuth 1.0a.
//!
//! Ways to connect: "Login in Twitter" with the operator's X app (the admin only logs in; the
//! account is subscribed to the app's one Account Activity webhook), "Login in Twitter" with
//! the business's own developer app, or "Integrate with developer Apps" (consumer key and
//! secret plus the account's access token and secret, from the developer portal; the channel
//! registers a webhook of its own). The login is 3-legged OAuth 1.0a driven by the host
//! (auth-start: request token -> authorize URL; auth-finish: verifier -> access token).

mod oauth1;
mod operator_app;

use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_sdk::guide::Guide;
use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde_json::{Value, json};
use switchboard_sdk::*;

use oauth1::Credentials;
use operator_app::{LoginKeys, OperatorApp};

const DEFAULT_API: &str = "https://api.twitter.com";
/// The app's credentials, checked before a login starts.
const APP_KEYS: &[&str] = &["consumer_key", "consumer_secret"];
/// Every credential; none may hold whitespace (a paste gone wrong).
const CREDENTIAL_KEYS: &[&str] = &["consumer_key", "consumer_secret", "access_token", "access_token_secret"];
/// State key: the id X gave the webhook registration, to delete it on disconnect.
const WEBHOOK_ID: &str = "webhook_id";

struct Twitter;

impl Channel for Twitter {
    fn manifest() -> Manifest {
        Manifest {
            id: "twitter".into(),
            name: "Twitter/X".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Twitter/X direct messages through the Account Activity API".into(),
            capabilities: vec![Capability::OauthConnect],
            // DM media is downloaded from ton.twitter.com with the user's OAuth 1.0a signature.
            outbound_hosts: vec!["api.twitter.com".into(), "api.x.com".into(), "ton.twitter.com".into()],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![
            Field::new("consumer_key", "API key (consumer key)", FieldKind::Text)
                .required()
                .help("Your X developer App's API key (Keys and tokens)"),
            Field::new("consumer_secret", "API key secret (consumer secret)", FieldKind::Secret)
                .required()
                .help("Also signs the webhooks X sends"),
            Field::new("access_token", "Access token", FieldKind::Secret)
                .required()
                .help("The account's access token; \"Login in Twitter\" fills it in"),
            Field::new("access_token_secret", "Access token secret", FieldKind::Secret)
                .required()
                .help("The account's access token secret; \"Login in Twitter\" fills it in"),
            Field::new("environment", "Account Activity environment", FieldKind::Text)
                .required()
                .help("The dev environment label of your App's Account Activity API subscription"),
            Field::new("api_base_url", "API base URL", FieldKind::Url)
                .default_value(DEFAULT_API)
                .help("Change only for tests or a proxy (the operator must allow its host)"),
        ]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        check_formats(|key| ctx.setting(key), CREDENTIAL_KEYS, true)?;
        let api = Api::for_channel(ctx)?;
        let me: User = api.call(http::Method::GET, "1.1/account/verify_credentials.json", &[], None)?.json()?;
        state::set("user_id", &me.id_str);

        let environment = environment(ctx)?;
        if OperatorApp::serving(ctx).is_some() {
            // The operator's app has one webhook for every account: subscribe this user to it.
            api.call(http::Method::POST, &format!("1.1/account_activity/all/{environment}/subscriptions.json"), &[], None)?;
            return Ok(Connection {
                display_name: format!("@{}", me.screen_name),
                external_account_id: me.id_str,
                setup: vec![SetupItem::new(
                    "webhook",
                    "Webhook",
                    "Subscribed to the operator's X app: its webhook receives this account's messages, nothing to do",
                )],
            });
        }
        let webhooks = format!("1.1/account_activity/all/{environment}/webhooks");
        // A reconnect registers afresh: the old registration would be refused as a duplicate.
        if let Some(old) = state::get(WEBHOOK_ID) {
            ignore_gone(api.call(http::Method::DELETE, &format!("{webhooks}/{old}.json"), &[], None))?;
            state::remove(WEBHOOK_ID);
        }
        let webhook: Webhook =
            api.call(http::Method::POST, &format!("{webhooks}.json"), &[("url", &ctx.webhook_url)], None)?.json()?;
        state::set(WEBHOOK_ID, &webhook.id);
        api.call(http::Method::POST, &format!("1.1/account_activity/all/{environment}/subscriptions.json"), &[], None)?;

        Ok(Connection {
            display_name: format!("@{}", me.screen_name),
            external_account_id: me.id_str,
            setup: vec![
                SetupItem::new("webhook_url", "Webhook URL", &ctx.webhook_url),
                SetupItem::new("webhook", "Webhook", "Registered and subscribed with X automatically: nothing to do"),
            ],
        })
    }

    /// Removes the user's subscription (user context: only this account's); the channel's own
    /// webhook goes too, the operator app's webhook stays for its other accounts.
    fn disconnect(ctx: &ChannelContext) -> Result<(), ChannelError> {
        let api = Api::for_channel(ctx)?;
        let environment = environment(ctx)?;
        let base = format!("1.1/account_activity/all/{environment}");
        ignore_gone(api.call(http::Method::DELETE, &format!("{base}/subscriptions.json"), &[], None))?;
        if let Some(id) = state::get(WEBHOOK_ID) {
            ignore_gone(api.call(http::Method::DELETE, &format!("{base}/webhooks/{id}.json"), &[], None))?;
            state::remove(WEBHOOK_ID);
        }
        Ok(())
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        Self::handle_webhook_with_choices(ctx, request).map(InteractiveWebhookOutcome::plain)
    }

    /// A quick-reply option picked (`quick_reply_response.metadata`) is the customer's choice.
    fn handle_webhook_with_choices(ctx: &ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
        let secret = &consumer_secret(ctx)?;
        if request.method.eq_ignore_ascii_case("GET") {
            let token = request
                .query_param("crc_token")
                .ok_or_else(|| ChannelError::BadRequest("a GET is a CRC check and carries `crc_token`".into()))?;
            return Ok(InteractiveWebhookOutcome { response: HttpResponse::json(200, &crc_response(secret, &token)), events: vec![] });
        }
        let signature = request.header("x-twitter-webhooks-signature").and_then(|s| s.strip_prefix("sha256="));
        if !signature.is_some_and(|s| verify_hmac_sha256_base64(secret, &request.body, s)) {
            return Err(ChannelError::Unauthorized("missing or wrong X-Twitter-Webhooks-Signature".into()));
        }
        let activity: Activity = request.json()?;
        let own_id = state::get("user_id");
        Ok(InteractiveWebhookOutcome::ok(direct_messages(activity, own_id.as_deref())))
    }

    /// The operator's X developer app: one Account Activity webhook for every user subscribed.
    fn app_settings_schema() -> Vec<Field> {
        vec![
            Field::new("consumer_key", "API key (consumer key)", FieldKind::Text)
                .required()
                .help("developer.x.com → your app → Keys and tokens → Consumer Keys"),
            Field::new("consumer_secret", "API key secret (consumer secret)", FieldKind::Secret)
                .required()
                .help("Signs every Account Activity delivery and answers X's CRC checks"),
            Field::new("environment", "Account Activity environment", FieldKind::Text)
                .required()
                .help("The dev environment label of the Account Activity API, e.g. production"),
            Field::new("api_base_url", "API base URL", FieldKind::Url).help("Leave empty for https://api.twitter.com"),
        ]
    }

    /// The app's one webhook: CRC with the consumer secret, every `POST` signed with it, and
    /// each delivery's DMs tagged with its `for_user_id` (the subscribed user it is for).
    fn handle_app_webhook(app: &AppContext, request: HttpRequest) -> Result<AppWebhookOutcome, ChannelError> {
        Self::handle_app_webhook_with_choices(app, request).map(InteractiveAppWebhookOutcome::plain)
    }

    fn handle_app_webhook_with_choices(app: &AppContext, request: HttpRequest) -> Result<InteractiveAppWebhookOutcome, ChannelError> {
        let secret = property(&app.settings, "consumer_secret").unwrap_or_default();
        if request.method.eq_ignore_ascii_case("GET") {
            let token = request
                .query_param("crc_token")
                .ok_or_else(|| ChannelError::BadRequest("a GET is a CRC check and carries `crc_token`".into()))?;
            return Ok(InteractiveAppWebhookOutcome { response: HttpResponse::json(200, &crc_response(secret, &token)), events: vec![] });
        }
        let signature = request.header("x-twitter-webhooks-signature").and_then(|s| s.strip_prefix("sha256="));
        if secret.is_empty() || !signature.is_some_and(|s| verify_hmac_sha256_base64(secret, &request.body, s)) {
            return Err(ChannelError::Unauthorized("missing or wrong X-Twitter-Webhooks-Signature (the app's consumer secret signs it)".into()));
        }
        let activity: Activity = request.json()?;
        let Some(user) = activity.for_user_id.clone() else {
            return Err(ChannelError::BadRequest("an Account Activity delivery names the user it is for in `for_user_id`".into()));
        };
        let events = direct_messages(activity, Some(&user)).into_iter().map(|event| AccountInboundEvent { account: user.clone(), event }).collect();
        Ok(InteractiveAppWebhookOutcome { response: HttpResponse::ok(), events })
    }

    /// `media_url_https` (ton.twitter.com) answers only a request signed with OAuth 1.0a as the
    /// receiving user: the host makes the request with this signature.
    fn fetch_media(ctx: &ChannelContext, attachment: &Attachment) -> Result<MediaSource, ChannelError> {
        let url = attachment.url.clone().ok_or_else(|| ChannelError::Unsupported("the DM's media has no URL".into()))?;
        let api = Api::for_channel(ctx)?;
        let credentials = Credentials { consumer_key: api.consumer_key, consumer_secret: &api.consumer_secret, token: Some(api.token), token_secret: api.token_secret };
        let (bare, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut nonce = [0u8; 16];
        wstd::rand::get_random_bytes(&mut nonce);
        let authorization = oauth1::authorization("GET", bare, &pairs, &[], &credentials, &hex::encode(nonce), now_seconds());
        Ok(MediaRequest::get(url.clone()).header("authorization", authorization).into())
    }

    fn send(ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        let text = match message.content {
            OutboundContent::Text(text) => text,
            OutboundContent::Media(_) => return Err(ChannelError::Unsupported("media DMs are not supported yet on X".into())),
            OutboundContent::Template(_) => return Err(ChannelError::Unsupported("X has no message templates".into())),
        };
        send_dm(ctx, &message.recipient, json!({"text": text}))
    }

    /// Quick-reply options (up to 20; labels 36, descriptions 72, the id as `metadata`, 1000)
    /// and URL buttons (`ctas`, 1-3, labels 36), on the v1.1 endpoint (v2 DMs take neither). X
    /// has no header or footer: they are lines of the text (a DM: 10,000 characters).
    fn interactive_support() -> InteractiveSupport {
        let kind = |kind, max_choices, max_description_chars| KindLimits {
            max_choices,
            max_title_chars: 36,
            max_description_chars,
            max_body_chars: 9000,
            max_header_chars: 200,
            max_footer_chars: 200,
            ..KindLimits::new(kind)
        };
        InteractiveSupport { kinds: vec![kind(InteractiveKind::QuickReplies, 20, 72), kind(InteractiveKind::UrlButtons, 3, 0)], max_id_bytes: 1000 }
    }

    fn send_interactive(ctx: &ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
        send_dm(ctx, &message.recipient, interactive_message_data(&message.content))
    }

    /// Without consumer keys typed in, the login uses the operator's app (the admin types nothing).
    fn auth_start(request: AuthStartRequest) -> Result<AuthRedirect, ChannelError> {
        let keys = LoginKeys::for_start(&request)?;
        if keys.app.is_none() {
            check_formats(|key| request.setting(key), APP_KEYS, false)?;
        }
        let base = api_base(keys.api_base_url.as_deref());
        // OAuth 1.0a hands no `state` back: it rides in the callback URL.
        let callback = format!("{}?{}", request.redirect_url, form(&[("state", &request.state)]));
        let credentials =
            Credentials { consumer_key: &keys.consumer_key, consumer_secret: &keys.consumer_secret, token: None, token_secret: "" };
        let answer = signed(&base, http::Method::POST, "oauth/request_token", &[], &[("oauth_callback", &callback)], &credentials, None)?;
        let token = form_answer(&answer);
        let (Some(oauth_token), Some(secret)) = (token.get("oauth_token"), token.get("oauth_token_secret")) else {
            return Err(ChannelError::Provider("X's request token answer lacks oauth_token".into()));
        };
        if token.get("oauth_callback_confirmed").map(String::as_str) != Some("true") {
            return Err(ChannelError::Provider("X did not confirm the callback URL: add it to the App's callback URLs".into()));
        }
        Ok(AuthRedirect {
            authorize_url: format!("{base}/oauth/authorize?{}", form(&[("oauth_token", oauth_token)])),
            properties: vec![("oauth_token".into(), oauth_token.clone()), ("oauth_token_secret".into(), secret.clone())],
        })
    }

    fn auth_finish(request: AuthFinishRequest) -> Result<Vec<AuthAccount>, ChannelError> {
        if request.callback_param("denied").is_some() {
            return Err(ChannelError::Unauthorized("the X login was cancelled: the app was not authorized".into()));
        }
        let (Some(token), Some(verifier)) = (request.callback_param("oauth_token"), request.callback_param("oauth_verifier")) else {
            return Err(ChannelError::BadRequest("X's callback carries no oauth_token and oauth_verifier".into()));
        };
        let (Some(expected), Some(token_secret)) = (request.property("oauth_token"), request.property("oauth_token_secret")) else {
            return Err(ChannelError::BadRequest("this login kept no request token: start it again".into()));
        };
        if !secure_eq(token, expected) {
            return Err(ChannelError::Unauthorized("the callback is for another login (oauth_token differs)".into()));
        }
        let keys = LoginKeys::for_finish(&request)?;
        let base = api_base(keys.api_base_url.as_deref());
        let credentials =
            Credentials { consumer_key: &keys.consumer_key, consumer_secret: &keys.consumer_secret, token: Some(token), token_secret };
        let answer = signed(&base, http::Method::POST, "oauth/access_token", &[], &[("oauth_verifier", verifier)], &credentials, None)?;
        let access = form_answer(&answer);
        let field = |key: &str| access.get(key).cloned().ok_or_else(|| ChannelError::Provider(format!("X's access token answer lacks {key}")));
        let (user_id, screen_name) = (field("user_id")?, field("screen_name")?);
        let mut settings = vec![("access_token".into(), field("oauth_token")?), ("access_token_secret".into(), field("oauth_token_secret")?)];
        if let Some(app) = &keys.app {
            settings.extend(app.channel_settings());
        }
        Ok(vec![AuthAccount { id: user_id, name: format!("@{screen_name}"), settings }])
    }

    fn connect_guide() -> Guide {
        Guide::new()
            .section("What it handles")
            .note("Only direct messages reach the inbox: @mentions, replies and other posts do not.")
            .section("Login in Twitter")
            .steps([
                "Where the operator's X app is set up, press **Login in Twitter** at the top of this page.",
                "Log in to X with the account customers write to, in the tab that opens, and press **Authorize app**.",
                "Back here, tick the account. Its webhook subscription is made for you.",
            ])
            .section("Or with your own developer App")
            .steps([
                "In the [X developer portal](https://developer.x.com/en/portal/dashboard), open your App's **User authentication settings**: give it **Read and write and Direct message** permissions.",
                "Under **Keys and tokens**, copy the consumer keys into **API key (consumer key)** and **API key secret (consumer secret)**.",
                "Put the label of your App's Account Activity API dev environment, such as `production`, in **Account Activity environment**.",
                "Press **Login in Twitter** to fill in **Access token** and **Access token secret** (add `https://<this server>/oauth/callback` to the App's callback URLs first), or, for the App owner's own account, generate them under **Keys and tokens** after setting the permissions.",
                "Connect: the webhook is registered and subscribed with X automatically.",
            ])
    }

    /// The plugin's texts in other languages: `i18n/<language>.json`, a file translators edit.
    fn translations(language: &str) -> Vec<(String, String)> {
        switchboard_sdk::texts_for(language, &[("id", include_str!("../i18n/id.json"))])
    }
}

export_channel!(Twitter);

/// The CRC answer: `{"response_token": "sha256=" + base64(HMAC-SHA256(consumer secret, token))}`.
fn crc_response(consumer_secret: &str, crc_token: &str) -> Value {
    use switchboard_sdk::base64::Engine as _;
    let mac = hmac_sha256(consumer_secret, crc_token);
    json!({"response_token": format!("sha256={}", switchboard_sdk::base64::engine::general_purpose::STANDARD.encode(mac))})
}

/// Credentials are opaque tokens: whitespace inside one is a paste gone wrong. All problems at
/// once; with `environment`, its label too.
fn check_formats<'a>(setting: impl Fn(&str) -> Option<&'a str>, keys: &[&str], environment: bool) -> Result<(), ChannelError> {
    let mut errors: Vec<FieldError> = keys
        .iter()
        .filter(|key| setting(key).is_some_and(|value| value.chars().any(char::is_whitespace)))
        .map(|key| FieldError { key: (*key).into(), message: "must not contain spaces or line breaks".into() })
        .collect();
    let label_ok = |label: &str| label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if environment && setting("environment").is_some_and(|label| !label_ok(label)) {
        errors.push(FieldError { key: "environment".into(), message: "must be the environment's label: letters, digits, _ and -".into() });
    }
    if errors.is_empty() { Ok(()) } else { Err(ChannelError::InvalidSettings(errors)) }
}

fn api_base(setting: Option<&str>) -> String {
    setting.unwrap_or(DEFAULT_API).trim_end_matches('/').to_owned()
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn form_answer(response: &http::Response) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(&response.body).into_owned().collect()
}

/// The consumer secret a channel works with: the operator's app's current one when the channel
/// belongs to it (rotation reaches it at once), else the channel's own.
fn consumer_secret(ctx: &ChannelContext) -> Result<String, ChannelError> {
    match OperatorApp::serving(ctx) {
        Some(app) => Ok(app.consumer_secret),
        None => ctx.require("consumer_secret").map(str::to_owned),
    }
}

/// The Account Activity environment: the operator app's for its channels, else the channel's.
fn environment(ctx: &ChannelContext) -> Result<String, ChannelError> {
    match OperatorApp::serving(ctx).and_then(|app| app.environment) {
        Some(environment) => Ok(environment),
        None => ctx.require("environment").map(str::to_owned),
    }
}

/// The channel's credentials and API base.
struct Api<'a> {
    base: String,
    consumer_key: &'a str,
    /// Owned: the operator's app may supply it (see [`consumer_secret`]).
    consumer_secret: String,
    token: &'a str,
    token_secret: &'a str,
}

impl<'a> Api<'a> {
    fn for_channel(ctx: &'a ChannelContext) -> Result<Self, ChannelError> {
        Ok(Self {
            base: api_base(ctx.setting("api_base_url")),
            consumer_key: ctx.require("consumer_key")?,
            consumer_secret: consumer_secret(ctx)?,
            token: ctx.require("access_token")?,
            token_secret: ctx.require("access_token_secret")?,
        })
    }

    fn call(&self, method: http::Method, path: &str, query: &[(&str, &str)], body: Option<&Value>) -> Result<http::Response, ChannelError> {
        let credentials = Credentials {
            consumer_key: self.consumer_key,
            consumer_secret: &self.consumer_secret,
            token: Some(self.token),
            token_secret: self.token_secret,
        };
        signed(&self.base, method, path, query, &[], &credentials, body)
    }
}

/// Sends a request signed with OAuth 1.0a; a refusal becomes the matching [`ChannelError`].
fn signed(
    base: &str,
    method: http::Method,
    path: &str,
    query: &[(&str, &str)],
    extra_oauth: &[(&str, &str)],
    credentials: &Credentials,
    body: Option<&Value>,
) -> Result<http::Response, ChannelError> {
    let url = format!("{base}/{path}");
    let mut nonce = [0u8; 16];
    wstd::rand::get_random_bytes(&mut nonce);
    let authorization =
        oauth1::authorization(method.as_str(), &url, query, extra_oauth, credentials, &hex::encode(nonce), now_seconds());
    let mut request = http::Request::new(method, url).query(query.iter().copied()).header("authorization", authorization);
    if let Some(body) = body {
        request = request.json(body);
    }
    checked(request.send()?)
}

fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// X's answer, or why not: 401 bad credentials, 429 rate limited until `x-rate-limit-reset`
/// (epoch seconds), 5xx passing, anything else refused with X's `errors[].message`.
fn checked(response: http::Response) -> Result<http::Response, ChannelError> {
    if response.is_success() {
        return Ok(response);
    }
    let reason = error_reason(&response);
    Err(match response.status {
        401 => ChannelError::Unauthorized(reason),
        429 => {
            let reset = response.header("x-rate-limit-reset").and_then(|r| r.trim().parse::<u64>().ok());
            ChannelError::RateLimited(reset.map(|at| at.saturating_sub(now_seconds()).max(1)))
        }
        500.. => ChannelError::Transient(reason),
        _ => ChannelError::Provider(reason),
    })
}

fn error_reason(response: &http::Response) -> String {
    #[derive(Deserialize)]
    #[serde(crate = "switchboard_sdk::serde")]
    struct Errors {
        errors: Vec<XError>,
    }
    #[derive(Deserialize)]
    #[serde(crate = "switchboard_sdk::serde")]
    struct XError {
        code: Option<i64>,
        message: String,
    }
    match response.json::<Errors>() {
        Ok(answer) if !answer.errors.is_empty() => answer
            .errors
            .iter()
            .map(|e| e.code.map_or(e.message.clone(), |code| format!("{} (code {code})", e.message)))
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!("X answered HTTP {}", response.status),
    }
}

/// A teardown call whose target is already gone (or whose token is revoked) has nothing left to do.
fn ignore_gone(result: Result<http::Response, ChannelError>) -> Result<(), ChannelError> {
    match result {
        Ok(_) | Err(ChannelError::Unauthorized(_)) => Ok(()),
        Err(ChannelError::Provider(reason)) if reason.contains("HTTP 404") || reason.contains("code 34") => Ok(()),
        Err(error) => Err(error),
    }
}

/// `POST 1.1/direct_messages/events/new.json` with this `message_data`; the event's id.
fn send_dm(ctx: &ChannelContext, recipient: &str, message_data: Value) -> Result<Receipt, ChannelError> {
    let body = json!({"event": {"type": "message_create", "message_create": {
        "target": {"recipient_id": recipient},
        "message_data": message_data,
    }}});
    let api = Api::for_channel(ctx)?;
    let sent: Sent = api.call(http::Method::POST, "1.1/direct_messages/events/new.json", &[], Some(&body))?.json()?;
    Ok(Receipt { provider_message_id: sent.event.id })
}

/// `message_data` with quick-reply options or `ctas`. Descriptions are all or none on X: when
/// some options have one, the others get an empty one.
fn interactive_message_data(content: &InteractiveContent) -> Value {
    let text = content.text_with_header_and_footer();
    let mut data = json!({"text": text});
    match &content.action {
        InteractiveAction::QuickReplies(options) => {
            let described = options.iter().any(|o| o.description.is_some());
            let options: Vec<Value> = options
                .iter()
                .map(|o| {
                    let mut option = json!({"label": o.title, "metadata": o.id});
                    if described {
                        option["description"] = o.description.clone().unwrap_or_default().into();
                    }
                    option
                })
                .collect();
            data["quick_reply"] = json!({"type": "options", "options": options});
        }
        InteractiveAction::UrlButtons(buttons) => {
            data["ctas"] = buttons.iter().map(|b| json!({"type": "web_url", "label": b.title, "url": b.url})).collect::<Vec<_>>().into();
        }
        // Not declared in `interactive_support`: the host sends these as text.
        InteractiveAction::ReplyButtons(_) | InteractiveAction::OptionList(_) | InteractiveAction::Cards(_) => {}
    }
    data
}

/// The direct messages of one Account Activity delivery, without the account's own echoes;
/// an option picked (`quick_reply_response` with its `metadata`; the text is its label) as the
/// customer's choice. Mentions, likes, follows and the rest are not channel traffic.
fn direct_messages(activity: Activity, own_id: Option<&str>) -> Vec<InboundEvent> {
    let users = activity.users;
    activity
        .direct_message_events
        .into_iter()
        .filter(|event| event.kind == "message_create")
        .filter_map(|event| {
            let create = event.message_create?;
            let sender = create.sender_id;
            if Some(sender.as_str()) == activity.for_user_id.as_deref() || Some(sender.as_str()) == own_id {
                return None;
            }
            let user = users.get(&sender);
            let attachments = create.message_data.attachment.and_then(|a| a.media).map(|media| {
                let kind = match media.kind.as_deref() {
                    Some("video") | Some("animated_gif") => AttachmentKind::Video,
                    _ => AttachmentKind::Image,
                };
                Attachment { provider_media_id: media.id_str, url: media.media_url_https, ..Attachment::new(kind) }
            });
            let text = Some(html_unescape(&create.message_data.text)).filter(|t| !t.is_empty());
            let profile = ContactProfile { id: sender.clone(), name: user.and_then(|u| u.name.clone()), handle: user.and_then(|u| u.screen_name.clone()) };
            let timestamp_ms = event.created_timestamp.parse().unwrap_or(0);
            if let Some(metadata) = create.message_data.quick_reply_response.and_then(|r| r.metadata) {
                return Some(InboundEvent::Choice(Choice {
                    provider_message_id: event.id,
                    conversation: sender,
                    conversation_name: None,
                    sender: profile,
                    timestamp_ms,
                    id: metadata,
                    title: text,
                    answers: None,
                    properties: vec![],
                }));
            }
            Some(InboundEvent::Event(Event::Message(InboundMessage {
                provider_message_id: event.id,
                conversation: sender,
                conversation_name: None,
                sender: profile,
                timestamp_ms,
                text,
                attachments: attachments.into_iter().collect(),
                reply_to: None,
                properties: vec![],
            })))
        })
        .collect()
}

/// X sends DM text HTML-escaped (`&amp;`, `&lt;`, `&gt;`, and numeric references).
fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = rest.find(';').filter(|end| *end <= 10).map(|end| (&rest[1..end], end));
        let decoded = entity.and_then(|(name, end)| {
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .map_or_else(|| name.strip_prefix('#').and_then(|n| n.parse().ok()), |hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32),
            }?;
            Some((ch, end))
        });
        match decoded {
            Some((ch, end)) => {
                out.push(ch);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// X's wire types, as far as this channel reads them.

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct User {
    id_str: String,
    screen_name: String,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Webhook {
    id: String,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Sent {
    event: SentEvent,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct SentEvent {
    id: String,
}

/// One Account Activity delivery; only its DMs are read.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Activity {
    for_user_id: Option<String>,
    #[serde(default)]
    direct_message_events: Vec<DmEvent>,
    #[serde(default)]
    users: std::collections::HashMap<String, DmUser>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct DmEvent {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    created_timestamp: String,
    message_create: Option<MessageCreate>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct MessageCreate {
    sender_id: String,
    message_data: MessageData,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct MessageData {
    #[serde(default)]
    text: String,
    attachment: Option<DmAttachment>,
    quick_reply_response: Option<QuickReplyResponse>,
}

/// `{"type": "options", "metadata"?}`: the option picked (metadata only when it had one).
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct QuickReplyResponse {
    metadata: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct DmAttachment {
    media: Option<DmMedia>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct DmMedia {
    id_str: Option<String>,
    media_url_https: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct DmUser {
    name: Option<String>,
    screen_name: Option<String>,
}

#[cfg(test)]
mod tests;
