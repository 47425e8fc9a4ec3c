//! The operator's X developer app (contract 0.1.3's `app` import): one Account Activity webhook
//! for every business's account. "Login in Twitter" started without consumer keys uses it; a
//! channel connected through it subscribes its user to the app's webhook (no webhook of its
//! own) and follows the app's current consumer secret, so rotating it reaches every channel.

use switchboard_sdk::{AuthFinishRequest, AuthStartRequest, ChannelContext, ChannelError, app, property};

/// The operator's app: consumer key and secret, Account Activity environment, API base (tests).
pub struct OperatorApp {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub environment: Option<String>,
    pub api_base_url: Option<String>,
}

impl OperatorApp {
    /// The app the operator set up, if any (and complete).
    pub fn get() -> Option<Self> {
        let settings = app::settings()?;
        let value = |key: &str| property(&settings, key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Some(Self {
            consumer_key: value("consumer_key")?,
            consumer_secret: value("consumer_secret")?,
            environment: value("environment"),
            api_base_url: value("api_base_url"),
        })
    }

    /// The app, when this channel was connected through it (its consumer key is the app's).
    pub fn serving(ctx: &ChannelContext) -> Option<Self> {
        let own_key = ctx.setting("consumer_key")?.trim().to_owned();
        Self::get().filter(|app| app.consumer_key == own_key)
    }

    /// What a channel connected through the app keeps (the schema asks for these; the
    /// secret is read from the app again at each call).
    pub fn channel_settings(&self) -> Vec<(String, String)> {
        let mut settings =
            vec![("consumer_key".to_owned(), self.consumer_key.clone()), ("consumer_secret".to_owned(), self.consumer_secret.clone())];
        settings.extend(self.environment.iter().map(|env| ("environment".to_owned(), env.clone())));
        settings.extend(self.api_base_url.iter().map(|base| ("api_base_url".to_owned(), base.clone())));
        settings
    }
}

/// The consumer keys a login uses: its own when the admin typed a consumer key ("Integrate
/// with developer Apps" keys), else the operator's app; neither: which settings are missing.
pub struct LoginKeys {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub api_base_url: Option<String>,
    /// Set when the operator's app is used: its settings go into every account's settings.
    pub app: Option<OperatorApp>,
}

impl LoginKeys {
    pub fn for_start(request: &AuthStartRequest) -> Result<Self, ChannelError> {
        Self::choose(|key| request.setting(key), || request.require_all(crate::APP_KEYS))
    }

    pub fn for_finish(request: &AuthFinishRequest) -> Result<Self, ChannelError> {
        Self::choose(|key| request.setting(key), || request.require("consumer_key").and(request.require("consumer_secret")).map(|_| ()))
    }

    fn choose<'a>(setting: impl Fn(&str) -> Option<&'a str>, require: impl FnOnce() -> Result<(), ChannelError>) -> Result<Self, ChannelError> {
        let typed = setting("consumer_key").is_some_and(|key| !key.trim().is_empty());
        if !typed {
            if let Some(app) = OperatorApp::get() {
                return Ok(Self {
                    consumer_key: app.consumer_key.clone(),
                    consumer_secret: app.consumer_secret.clone(),
                    api_base_url: app.api_base_url.clone(),
                    app: Some(app),
                });
            }
        }
        require()?;
        Ok(Self {
            consumer_key: setting("consumer_key").unwrap_or_default().to_owned(),
            consumer_secret: setting("consumer_secret").unwrap_or_default().to_owned(),
            api_base_url: setting("api_base_url").map(str::to_owned),
            app: None,
        })
    }
}
