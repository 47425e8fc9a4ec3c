//! WhatsApp Embedded Signup with the operator's Meta app (a Tech Provider onboarding its
//! businesses): the admin logs in with Facebook Login for Business under the app's Embedded
//! Signup configuration and shares a WhatsApp Business Account; the code that comes back is
//! exchanged for a business token, the shared accounts are read from `debug_token`, and each of
//! their phone numbers is offered to connect (one channel per number ticked).
//!
//! The host drives the login as a redirect to the dialog URL with `config_id` and
//! `response_type=code` (providers.md, the manual URL form) rather than the JavaScript SDK's
//! popup: the admin pages load no third-party script, and one host flow serves every login.
//! The code exchange therefore repeats the dialog's `redirect_uri`.

use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde::de::DeserializeOwned;
use switchboard_sdk::*;

use crate::{DEFAULT_API, GRAPH_VERSION};

/// Where Facebook's login dialog is (with the default Graph API).
const LOGIN_BASE: &str = "https://www.facebook.com";
/// Embedded Signup v4 with session info v3 (providers.md; v2 is deprecated).
const EXTRAS: &str = r#"{"setup":{},"sessionInfoVersion":"3","version":"v4"}"#;
/// The permission whose granted targets are the shared WhatsApp Business Accounts.
const WABA_SCOPE: &str = "whatsapp_business_management";

/// The operator's Meta app as this plugin's provider app.
pub struct OperatorApp {
    pub app_id: String,
    pub app_secret: String,
    pub config_id: Option<String>,
    pub api_base_url: Option<String>,
}

impl OperatorApp {
    pub fn get() -> Option<Self> {
        let settings = app::settings()?;
        let value = |key: &str| property(&settings, key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Some(Self {
            app_id: value("app_id")?,
            app_secret: value("app_secret")?,
            config_id: value("embedded_signup_config_id"),
            api_base_url: value("api_base_url"),
        })
    }

    /// The app, when the channel was connected through it (its `app_id` is the app's).
    pub fn serving(ctx: &ChannelContext) -> Option<Self> {
        let own = ctx.setting("app_id")?.trim().to_owned();
        Self::get().filter(|app| app.app_id == own)
    }

    fn api(&self) -> &str {
        self.api_base_url.as_deref().unwrap_or(DEFAULT_API).trim_end_matches('/')
    }
}

/// The app secret a channel works with: the operator app's current one for its channels (a
/// rotation reaches them at once), else the channel's own.
pub fn app_secret(ctx: &ChannelContext) -> Result<String, ChannelError> {
    match OperatorApp::serving(ctx) {
        Some(app) => Ok(app.app_secret),
        None => ctx.require("app_secret").map(str::to_owned),
    }
}

/// The login dialog under the app's Embedded Signup configuration.
pub fn start(request: &AuthStartRequest) -> Result<AuthRedirect, ChannelError> {
    let app = OperatorApp::get().ok_or_else(|| {
        ChannelError::Unsupported(
            "Connect with Facebook (Embedded Signup) needs the operator's Meta app: ask the operator to set it up, or fill in the form with your number's IDs and token"
                .into(),
        )
    })?;
    let config_id = app.config_id.as_deref().ok_or_else(|| {
        ChannelError::Unsupported(
            "the operator's Meta app has no Embedded Signup configuration ID yet: the operator adds it under Provider apps".into(),
        )
    })?;
    let base = app.api_base_url.as_deref().unwrap_or(LOGIN_BASE).trim_end_matches('/');
    let params = [
        ("client_id", app.app_id.as_str()),
        ("redirect_uri", request.redirect_url.as_str()),
        ("state", request.state.as_str()),
        ("config_id", config_id),
        ("response_type", "code"),
        ("override_default_response_type", "true"),
        ("extras", EXTRAS),
    ];
    Ok(AuthRedirect { authorize_url: http::with_query(&format!("{}/{GRAPH_VERSION}/dialog/oauth", web_base(base)?), params), properties: vec![] })
}

/// `base` when it is an http(s) URL: the operator's app's base, for the login and the Graph alike.
fn web_base(base: &str) -> Result<&str, ChannelError> {
    if http::is_web_url(base) { Ok(base) } else { Err(ChannelError::Provider("the operator's app has an API base URL that is not a URL".into())) }
}

/// The phone numbers of every WhatsApp Business Account the login shared.
pub fn finish(request: &AuthFinishRequest) -> Result<Vec<AuthAccount>, ChannelError> {
    if let Some(error) = request.callback_param("error") {
        let why = request.callback_param("error_description").or(request.callback_param("error_reason")).unwrap_or(error);
        return Err(ChannelError::Unauthorized(format!("the Facebook login was not completed: {why}")));
    }
    let code = request
        .callback_param("code")
        .filter(|code| !code.is_empty())
        .ok_or_else(|| ChannelError::BadRequest("Facebook's callback carries no `code`".into()))?;
    let app = OperatorApp::get().ok_or_else(|| ChannelError::Unsupported("the operator's Meta app was removed during the login".into()))?;

    // 1. The code (valid for 30 s) for the business token, scoped to this customer.
    let exchange = [
        ("client_id", app.app_id.as_str()),
        ("client_secret", app.app_secret.as_str()),
        ("redirect_uri", request.redirect_url.as_str()),
        ("code", code),
    ];
    let token: AccessToken = get(&app, "oauth/access_token", &exchange, None)?;
    let token = token.access_token;

    // 2. The shared accounts: the targets of the WhatsApp management permission.
    let app_token = format!("{}|{}", app.app_id, app.app_secret);
    let debug: Debug = get(&app, "debug_token", &[("input_token", token.as_str()), ("access_token", app_token.as_str())], None)?;
    let wabas: Vec<String> =
        debug.data.granular_scopes.into_iter().filter(|scope| scope.scope == WABA_SCOPE).flat_map(|scope| scope.target_ids).collect();
    if wabas.is_empty() {
        return Err(ChannelError::Provider(
            "the login shared no WhatsApp Business Account: log in again and choose or create one".into(),
        ));
    }

    // 3. Their phone numbers, each an account to connect.
    let proof = hex::encode(hmac_sha256(&app.app_secret, &token));
    let mut accounts = Vec::new();
    for waba in &wabas {
        let numbers: List<Number> =
            get(&app, &format!("{waba}/phone_numbers"), &[("fields", "id,display_phone_number,verified_name"), ("appsecret_proof", &proof)], Some(&token))?;
        for number in numbers.data {
            let mut settings = vec![
                ("phone_number_id".to_owned(), number.id.clone()),
                ("business_account_id".to_owned(), waba.clone()),
                ("access_token".to_owned(), token.clone()),
                ("app_id".to_owned(), app.app_id.clone()),
                ("app_secret".to_owned(), app.app_secret.clone()),
            ];
            settings.extend(app.api_base_url.iter().map(|base| ("api_base_url".to_owned(), base.clone())));
            accounts.push(AuthAccount { id: number.id, name: format!("{} ({})", number.verified_name, number.display_phone_number), settings });
        }
    }
    if accounts.is_empty() {
        return Err(ChannelError::Provider(
            "the shared WhatsApp Business Account has no phone number yet: add one in the signup, then log in again".into(),
        ));
    }
    Ok(accounts)
}

/// A Graph `GET` with the app's base; `bearer` for calls made with the business token.
fn get<T: DeserializeOwned>(app: &OperatorApp, path: &str, params: &[(&str, &str)], bearer: Option<&str>) -> Result<T, ChannelError> {
    let mut request = http::get(format!("{}/{GRAPH_VERSION}/{path}", web_base(app.api())?)).query(params.iter().copied());
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send()?;
    if !response.is_success() {
        return Err(switchboard_whatsapp_common::errors::from_response(&response));
    }
    response.json()
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct AccessToken {
    access_token: String,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Debug {
    data: DebugData,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct DebugData {
    #[serde(default)]
    granular_scopes: Vec<GranularScope>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct GranularScope {
    scope: String,
    #[serde(default)]
    target_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct List<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Number {
    id: String,
    display_phone_number: String,
    verified_name: String,
}
