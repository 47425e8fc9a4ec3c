//! "Connect with Facebook": Facebook Login (OAuth 2) driven by the host. `start` builds the
//! login dialog URL; `finish` exchanges the callback's code for a user token, trades it for a
//! long-lived one (Page tokens read with a long-lived user token do not expire), and lists
//! the Pages the admin granted, each with its Page token, as the accounts to pick from.

use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::{AuthAccount, AuthFinishRequest, AuthRedirect, AuthStartRequest, ChannelError, http};

use crate::Product;
use crate::graph::{Graph, List, Page, VERSION};
use crate::operator_app::OperatorApp;

/// Where Facebook's login dialog is (with the default Graph API).
pub const LOGIN_BASE: &str = "https://www.facebook.com";
/// Pages of `me/accounts` read at most (100 Pages each).
const MAX_ACCOUNT_PAGES: usize = 10;

/// The settings a login needs before it starts, all reported at once when missing.
const LOGIN_SETTINGS: &[&str] = &["app_id", "app_secret"];

/// The login dialog: `{base}/{version}/dialog/oauth?client_id&redirect_uri&state&response_type=code&scope`.
/// With an `api_base_url` (tests, a proxy) the dialog is looked for at that base too.
/// Without app credentials in the login's settings, the operator's app (if set up) is used:
/// the admin then types nothing.
pub fn start(product: &Product, request: &AuthStartRequest) -> Result<AuthRedirect, ChannelError> {
    let operator = login_app(request.setting("app_id"), || request.require_all(LOGIN_SETTINGS))?;
    let (app_id, api_base) = match &operator {
        Some(app) => (app.app_id.as_str(), app.api_base_url.as_deref()),
        None => (request.require("app_id")?, request.setting("api_base_url")),
    };
    let base = api_base.unwrap_or(LOGIN_BASE).trim_end_matches('/');
    let params = [
        ("client_id", app_id),
        ("redirect_uri", request.redirect_url.as_str()),
        ("state", request.state.as_str()),
        ("response_type", "code"),
        ("scope", product.scopes),
    ];
    if !http::is_web_url(base) {
        return Err(ChannelError::invalid_setting("api_base_url", "must be an http:// or https:// URL"));
    }
    Ok(AuthRedirect { authorize_url: http::with_query(&format!("{base}/{VERSION}/dialog/oauth"), params), properties: vec![] })
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct AccessToken {
    access_token: String,
}

/// The accounts the login gives access to, each with the settings that connect it.
pub fn finish(product: &Product, request: &AuthFinishRequest) -> Result<Vec<AuthAccount>, ChannelError> {
    if let Some(error) = request.callback_param("error") {
        let why = request.callback_param("error_description").or(request.callback_param("error_reason")).unwrap_or(error);
        return Err(ChannelError::Unauthorized(format!("the Facebook login was not completed: {why}")));
    }
    let code = request
        .callback_param("code")
        .filter(|code| !code.is_empty())
        .ok_or_else(|| ChannelError::BadRequest("Facebook's callback carries no `code`".into()))?;
    let operator = login_app(request.setting("app_id"), || request.require("app_id").and(request.require("app_secret")).map(|_| ()))?;
    let (app_id, app_secret, api) = match &operator {
        Some(app) => (app.app_id.as_str(), app.app_secret.as_str(), app.api_base_url.as_deref()),
        None => (request.require("app_id")?, request.require("app_secret")?, request.setting("api_base_url")),
    };

    let token_endpoint = Graph::anonymous(api)?;
    let exchange = [("client_id", app_id), ("redirect_uri", request.redirect_url.as_str()), ("client_secret", app_secret), ("code", code)];
    let short: AccessToken = token_endpoint.get("oauth/access_token", &exchange)?;
    let extend = [
        ("grant_type", "fb_exchange_token"),
        ("client_id", app_id),
        ("client_secret", app_secret),
        ("fb_exchange_token", short.access_token.as_str()),
    ];
    let long: AccessToken = token_endpoint.get("oauth/access_token", &extend)?;

    let user = Graph::new(api, &long.access_token, app_secret)?;
    let mut accounts = accounts(product, pages(&user, product)?);
    if let Some(app) = &operator {
        for account in &mut accounts {
            account.settings.extend(app.channel_settings());
        }
    }
    if accounts.is_empty() {
        return Err(ChannelError::Provider(format!(
            "the login gives access to no {}; log in again and grant access to the Page",
            product.no_account
        )));
    }
    Ok(accounts)
}

/// The operator's app, when the login was started without app credentials of its own; when
/// neither exists, `require` says which settings are missing.
fn login_app(own_app_id: Option<&str>, require: impl FnOnce() -> Result<(), ChannelError>) -> Result<Option<OperatorApp>, ChannelError> {
    if own_app_id.is_some_and(|id| !id.trim().is_empty()) {
        require()?;
        return Ok(None);
    }
    match OperatorApp::get() {
        Some(app) => Ok(Some(app)),
        None => require().map(|()| None),
    }
}

/// Every Page the login granted (`me/accounts`, page by page).
fn pages(user: &Graph, product: &Product) -> Result<Vec<Page>, ChannelError> {
    let fields = format!("{},access_token", product.page_fields);
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_ACCOUNT_PAGES {
        let mut params = vec![("fields", fields.as_str()), ("limit", "100")];
        if let Some(cursor) = &after {
            params.push(("after", cursor));
        }
        let list: List<Page> = user.get("me/accounts", &params)?;
        after = list.after().map(str::to_owned);
        pages.extend(list.data);
        if after.is_none() {
            break;
        }
    }
    Ok(pages)
}

/// The product's accounts among the Pages, with what connects each: its id and its Page's token.
pub fn accounts(product: &Product, pages: Vec<Page>) -> Vec<AuthAccount> {
    pages
        .into_iter()
        .filter_map(|page| {
            let account = (product.account_of)(&page)?;
            let token = page.access_token?;
            Some(AuthAccount {
                settings: vec![(product.account_setting.into(), account.id.clone()), ("page_access_token".into(), token)],
                id: account.id,
                name: account.name,
            })
        })
        .collect()
}
