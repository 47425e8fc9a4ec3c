//! Helpers on the contract's types. Pure code: it builds and is tested natively.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{
    Attachment, AttachmentKind, AuthFinishRequest, AuthStartRequest, ChannelContext, ChannelError,
    Field, FieldError, FieldKind, HttpRequest, HttpResponse, InboundSummary, Property, SelectOption,
    SetupItem, WebhookOutcome, WindowPolicy,
};

/// Parses a webhook body; a body that does not parse is [`ChannelError::BadRequest`].
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ChannelError> {
    serde_json::from_slice(body).map_err(|e| ChannelError::BadRequest(format!("invalid JSON body: {e}")))
}

/// A plugin's translations from a JSON object a translator edits (`{"Bot token": "Token bot"}`),
/// as [`Channel::translations`](crate::Channel::translations) returns them. The file is the
/// plugin's own (`include_str!`), so one that does not parse is a bug: it panics, and the
/// host refuses the plugin at load with the reason.
pub fn texts_from_json(json: &str) -> Vec<(String, String)> {
    let texts: std::collections::BTreeMap<String, String> = serde_json::from_str(json).expect("the translations file is a JSON object of strings");
    texts.into_iter().collect()
}

/// The translations for `language` among a plugin's files, one per language:
/// `texts_for(language, &[("id", include_str!("../i18n/id.json"))])`. None for another language.
pub fn texts_for(language: &str, files: &[(&str, &str)]) -> Vec<(String, String)> {
    files.iter().find(|(lang, _)| *lang == language).map(|(_, json)| texts_from_json(json)).unwrap_or_default()
}

/// The value of `key` among provider properties (exact key), e.g. a fact an inbound message
/// kept for later sends.
pub fn property<'a>(properties: &'a [Property], key: &str) -> Option<&'a str> {
    properties.iter().find(|(k, _)| k == key).map(|(_, value)| value.as_str())
}

pub(crate) fn find_header<'a>(headers: &'a [Property], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// The value of `key` in a property list; an empty value counts as unset.
fn setting_in<'a>(settings: &'a [Property], key: &str) -> Option<&'a str> {
    settings
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.trim().is_empty())
}

fn require_in<'a>(settings: &'a [Property], key: &str) -> Result<&'a str, ChannelError> {
    setting_in(settings, key).ok_or_else(|| ChannelError::invalid_setting(key, "field is required"))
}

impl ChannelContext {
    /// A setting's value; an empty value counts as unset.
    pub fn setting(&self, key: &str) -> Option<&str> {
        setting_in(&self.settings, key)
    }

    /// A setting's value, or `default` when it is unset.
    pub fn setting_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.setting(key).unwrap_or(default)
    }

    /// A setting that must be there: unset is [`ChannelError::InvalidSettings`] on that field.
    pub fn require(&self, key: &str) -> Result<&str, ChannelError> {
        require_in(&self.settings, key)
    }
}

impl AuthStartRequest {
    /// A setting the admin entered before the login; an empty value counts as unset.
    pub fn setting(&self, key: &str) -> Option<&str> {
        setting_in(&self.settings, key)
    }

    /// A setting the login needs: unset is [`ChannelError::InvalidSettings`] on that field.
    pub fn require(&self, key: &str) -> Result<&str, ChannelError> {
        require_in(&self.settings, key)
    }

    /// Settings the login needs before it starts: every unset one is reported at once.
    pub fn require_all(&self, keys: &[&str]) -> Result<(), ChannelError> {
        let missing: Vec<FieldError> = keys
            .iter()
            .filter(|key| self.setting(key).is_none())
            .map(|key| FieldError { key: (*key).into(), message: "field is required".into() })
            .collect();
        if missing.is_empty() { Ok(()) } else { Err(ChannelError::InvalidSettings(missing)) }
    }
}

impl AuthFinishRequest {
    /// A setting the admin entered before the login; an empty value counts as unset.
    pub fn setting(&self, key: &str) -> Option<&str> {
        setting_in(&self.settings, key)
    }

    /// A setting the admin entered before the login, or `invalid-settings` for that field.
    pub fn require(&self, key: &str) -> Result<&str, ChannelError> {
        require_in(&self.settings, key)
    }

    /// A query parameter of the provider's callback (`code`, `error`, `oauth_verifier`...).
    pub fn callback_param(&self, key: &str) -> Option<&str> {
        self.callback_query.iter().find(|(k, _)| k == key).map(|(_, value)| value.as_str())
    }

    /// What `auth-start` asked the host to keep (`AuthRedirect::properties`).
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.iter().find(|(k, _)| k == key).map(|(_, value)| value.as_str())
    }
}

impl ChannelError {
    /// Settings are wrong in one field.
    pub fn invalid_setting(key: &str, message: &str) -> Self {
        ChannelError::InvalidSettings(vec![FieldError { key: key.into(), message: message.into() }])
    }
}

impl HttpRequest {
    /// The first header of that name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The first query parameter of that name, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The body parsed as JSON; see [`parse_json`].
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        parse_json(&self.body)
    }

    /// Whether `X-Hub-Signature-256: sha256=<hex>` is HMAC-SHA256(`secret`, body), as Meta
    /// (Messenger, Instagram, WhatsApp), GitHub and WebSub hubs sign deliveries. Missing,
    /// malformed or wrong is `false`, and so is an empty secret.
    pub fn has_hub_signature_256(&self, secret: &str) -> bool {
        let signature = self.header("x-hub-signature-256").and_then(|s| s.strip_prefix("sha256="));
        !secret.is_empty() && signature.is_some_and(|s| crate::verify_hmac_sha256_hex(secret, &self.body, s))
    }

    /// The answer to a subscription check, `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`
    /// (Meta's webhooks, WebSub): 200 with `C` exactly when `T` is `verify_token`, else 403.
    pub fn hub_challenge(&self, verify_token: &str) -> HttpResponse {
        let subscribing = self.query_param("hub.mode").as_deref() == Some("subscribe");
        let token = self.query_param("hub.verify_token");
        let matches = !verify_token.is_empty() && token.is_some_and(|t| crate::secure_eq(t, verify_token));
        match self.query_param("hub.challenge") {
            Some(challenge) if subscribing && matches => HttpResponse::text(200, challenge),
            _ => HttpResponse::text(403, "verify token mismatch"),
        }
    }
}

impl InboundSummary {
    /// One of the properties the customer's last message kept; see [`property`].
    pub fn property(&self, key: &str) -> Option<&str> {
        property(&self.properties, key)
    }
}

impl HttpResponse {
    /// 200 with an empty body: the usual acknowledgement.
    pub fn ok() -> Self {
        Self::text(200, "")
    }

    /// A `text/plain` answer.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        let body: String = body.into();
        let headers = if body.is_empty() {
            vec![]
        } else {
            vec![("content-type".into(), "text/plain; charset=utf-8".into())]
        };
        Self { status, headers, body: body.into_bytes() }
    }

    /// An `application/json` answer.
    pub fn json(status: u16, body: &impl Serialize) -> Self {
        // Only maps with non-string keys fail to serialize: a bug in the plugin.
        let body = serde_json::to_vec(body).expect("response body serializes to JSON");
        Self { status, headers: vec![("content-type".into(), "application/json".into())], body }
    }
}

impl WebhookOutcome {
    /// Answer 200 with an empty body and report these events.
    pub fn ok(events: Vec<crate::Event>) -> Self {
        Self { response: HttpResponse::ok(), events }
    }
}

impl WindowPolicy {
    /// The channel has no messaging window.
    pub fn none() -> Self {
        Self { free_form_seconds: None, human_agent_seconds: None, templates_outside_window: false }
    }
}

impl SetupItem {
    /// A setup item: `key` for programs, `label` and `value` for the admin.
    pub fn new(key: impl Into<String>, label: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), label: label.into(), value: value.into() }
    }
}

impl Attachment {
    /// An attachment of this kind with every detail unset; fill in the rest with `..`.
    pub fn new(kind: AttachmentKind) -> Self {
        Self {
            kind,
            provider_media_id: None,
            url: None,
            mime_type: None,
            filename: None,
            size: None,
            location: None,
            description: None,
        }
    }
}

/// Builds a settings field: `Field::new("token", "Token", FieldKind::Secret).required()`.
impl Field {
    /// An optional, editable field; a `secret` kind is also marked secret.
    pub fn new(key: &str, label: &str, kind: FieldKind) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            kind,
            required: false,
            secret: kind == FieldKind::Secret,
            immutable: false,
            help: None,
            default_value: None,
            options: vec![],
        }
    }

    /// The host refuses a connect without it ("field is required").
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Read-only once the channel is connected.
    pub fn immutable(mut self) -> Self {
        self.immutable = true;
        self
    }

    /// A line of help under the field.
    pub fn help(mut self, help: &str) -> Self {
        self.help = Some(help.into());
        self
    }

    /// What the form shows (and the host uses) until the admin types another value.
    pub fn default_value(mut self, value: &str) -> Self {
        self.default_value = Some(value.into());
        self
    }

    /// For `select`: the allowed `(value, label)` pairs.
    pub fn options<'a>(mut self, options: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        self.options = options
            .into_iter()
            .map(|(value, label)| SelectOption { value: value.into(), label: label.into() })
            .collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(settings: &[(&str, &str)]) -> ChannelContext {
        ChannelContext {
            channel_id: "ch".into(),
            webhook_url: "https://example.test/webhooks/ch".into(),
            webhook_secret: "s".into(),
            settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn settings_lookup_treats_empty_as_unset() {
        let ctx = ctx(&[("bot_token", "123:abc"), ("api_base_url", " ")]);
        assert_eq!(ctx.setting("bot_token"), Some("123:abc"));
        assert_eq!(ctx.setting("api_base_url"), None);
        assert_eq!(ctx.setting_or("api_base_url", "https://x"), "https://x");
        assert_eq!(ctx.require("bot_token").unwrap(), "123:abc");
        match ctx.require("missing") {
            Err(ChannelError::InvalidSettings(errors)) => {
                assert_eq!((errors[0].key.as_str(), errors[0].message.as_str()), ("missing", "field is required"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_headers_and_query() {
        let request = HttpRequest {
            method: "GET".into(),
            path: "".into(),
            query: "hub.mode=subscribe&hub.challenge=a%20b+c".into(),
            headers: vec![("x-line-signature".into(), "sig".into())],
            body: b"{\"a\":1}".to_vec(),
        };
        assert_eq!(request.header("X-Line-Signature"), Some("sig"));
        assert_eq!(request.header("x-other"), None);
        assert_eq!(request.query_param("hub.challenge").as_deref(), Some("a b c"));
        assert_eq!(request.json::<serde_json::Value>().unwrap()["a"], 1);
        let bad = HttpRequest { body: b"nope".to_vec(), ..request };
        assert!(matches!(bad.json::<serde_json::Value>(), Err(ChannelError::BadRequest(_))));
    }

    #[test]
    fn hub_signature_and_challenge() {
        // The Meta known-answer vector of ../shared/providers.md.
        let body = br#"{"destination":"U123","events":[]}"#.to_vec();
        let signed = |value: &str| HttpRequest {
            method: "POST".into(),
            path: "".into(),
            query: "".into(),
            headers: vec![("x-hub-signature-256".into(), value.into())],
            body: body.clone(),
        };
        let good = signed("sha256=b43553c0321627a3468834dfbd28b53f9722629a6a468619c77e849a23c8a15c");
        assert!(good.has_hub_signature_256("appsecret"));
        assert!(!good.has_hub_signature_256("othersecret"));
        assert!(!good.has_hub_signature_256(""));
        assert!(!signed("b43553c0321627a3468834dfbd28b53f9722629a6a468619c77e849a23c8a15c").has_hub_signature_256("appsecret"));
        assert!(!HttpRequest { headers: vec![], ..good }.has_hub_signature_256("appsecret"));

        let check = |query: &str| HttpRequest {
            method: "GET".into(),
            path: "".into(),
            query: query.into(),
            headers: vec![],
            body: vec![],
        };
        let answer = check("hub.mode=subscribe&hub.verify_token=T0k&hub.challenge=1158201444").hub_challenge("T0k");
        assert_eq!((answer.status, answer.body), (200, b"1158201444".to_vec()));
        for query in ["hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", "hub.mode=unsubscribe&hub.verify_token=T0k&hub.challenge=1", "hub.mode=subscribe&hub.verify_token=T0k"] {
            assert_eq!(check(query).hub_challenge("T0k").status, 403, "{query}");
        }
        assert_eq!(check("hub.mode=subscribe&hub.verify_token=&hub.challenge=1").hub_challenge("").status, 403);
    }

    #[test]
    fn auth_requests_read_settings_callback_and_kept_properties() {
        let start = AuthStartRequest {
            redirect_url: "https://h/oauth/callback".into(),
            state: "s".into(),
            settings: vec![("app_id".into(), "123".into()), ("app_secret".into(), " ".into())],
        };
        assert_eq!(start.setting("app_id"), Some("123"));
        assert!(matches!(start.require("app_secret"), Err(ChannelError::InvalidSettings(_))));
        let finish = AuthFinishRequest {
            redirect_url: start.redirect_url.clone(),
            callback_query: vec![("code".into(), "c0de".into()), ("state".into(), "s".into())],
            properties: vec![("token_secret".into(), "ts".into())],
            settings: start.settings.clone(),
        };
        assert_eq!(finish.callback_param("code"), Some("c0de"));
        assert_eq!(finish.callback_param("error"), None);
        assert_eq!(finish.property("token_secret"), Some("ts"));
        assert_eq!(finish.require("app_id").unwrap(), "123");
    }

    #[test]
    fn field_builder() {
        let field = Field::new("bot_token", "Bot token", FieldKind::Secret).required().help("h");
        assert!(field.required && field.secret && !field.immutable);
        assert_eq!(field.help.as_deref(), Some("h"));
        assert!(!Field::new("url", "URL", FieldKind::Url).secret);
    }
}

impl crate::MediaRequest {
    /// A `GET` of `url`, for the host to make (see [`Channel::fetch_media`](crate::Channel::fetch_media)).
    pub fn get(url: impl Into<String>) -> Self {
        Self { method: "GET".into(), url: url.into(), headers: Vec::new() }
    }

    /// With a header (name in lowercase).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// With `authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
}

impl From<crate::MediaRequest> for crate::MediaSource {
    fn from(request: crate::MediaRequest) -> Self {
        Self::Request(request)
    }
}
