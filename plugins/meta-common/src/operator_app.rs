//! The operator's Meta app (contract 0.1.3's `app` import): one app for every business on
//! the installation. A login started without app credentials uses it, and a channel connected
//! through it follows its secret, so rotating the app secret reaches every such channel.

use switchboard_sdk::{ChannelContext, ChannelError, app, property};

/// The operator's app: id, secret and (tests, proxies) the Graph API base.
pub struct OperatorApp {
    pub app_id: String,
    pub app_secret: String,
    pub api_base_url: Option<String>,
}

impl OperatorApp {
    /// The app the operator set up, if any (and complete).
    pub fn get() -> Option<Self> {
        let settings = app::settings()?;
        let value = |key: &str| property(&settings, key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Some(Self { app_id: value("app_id")?, app_secret: value("app_secret")?, api_base_url: value("api_base_url") })
    }

    /// The operator's app, when it is the app this channel belongs to (same `app_id`): its one
    /// callback URL receives the channel's deliveries, so the channel's own webhook needs no setup.
    pub fn serving(ctx: &ChannelContext) -> Option<Self> {
        let own_id = ctx.setting("app_id")?.trim().to_owned();
        Self::get().filter(|app| app.app_id == own_id)
    }

    /// The settings a channel connected through this app keeps (the schema requires an app
    /// secret; [`app_secret`] prefers the app's current one over this copy).
    pub fn channel_settings(&self) -> Vec<(String, String)> {
        let mut settings = vec![("app_id".to_owned(), self.app_id.clone()), ("app_secret".to_owned(), self.app_secret.clone())];
        if let Some(base) = &self.api_base_url {
            settings.push(("api_base_url".to_owned(), base.clone()));
        }
        settings
    }
}

/// The app secret a channel works with: the operator's app's when the channel belongs to it
/// (same `app_id`), else the channel's own.
pub fn app_secret(ctx: &ChannelContext) -> Result<String, ChannelError> {
    if let Some(operator) = OperatorApp::serving(ctx) {
        return Ok(operator.app_secret);
    }
    ctx.require("app_secret").map(str::to_owned)
}
