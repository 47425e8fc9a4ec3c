//! The plugin author's trait and the glue from it to the generated `Guest` export.

use std::marker::PhantomData;

use crate::bindings::exports::switchboard::channel::channel::Guest;
use crate::bindings::exports::switchboard::channel::provider_app::Guest as AppGuest;
use crate::bindings::exports::switchboard::channel::setup_guide::Guest as GuideGuest;
use crate::bindings::exports::switchboard::channel::delivery::{Guest as DeliveryGuest, SendLimits};
use crate::bindings::exports::switchboard::channel::media::Guest as MediaGuest;
use crate::bindings::exports::switchboard::channel::interactive::Guest as InteractiveGuest;
use crate::bindings::exports::switchboard::channel::interactive_app::Guest as InteractiveAppGuest;
use crate::bindings::exports::switchboard::channel::settings_check::Guest as SettingsCheckGuest;
use crate::bindings::exports::switchboard::channel::translations::Guest as TranslationsGuest;
use crate::bindings::exports::switchboard::channel::template_buttons::Guest as TemplateButtonsGuest;
use crate::guide::Guide;
use crate::{
    AppContext, AppWebhookOutcome, Attachment, AuthAccount, AuthFinishRequest, AuthRedirect, AuthStartRequest, ChannelContext, ChannelError,
    Connection, Field, FieldError, HttpRequest, InteractiveAppWebhookOutcome, Property, InteractiveMessage, InteractiveSupport, InteractiveWebhookOutcome, Manifest,
    MediaSource, NewTemplate, OutboundMessage, Receipt, Template, WebhookOutcome, WindowPolicy,
};
use crate::{ButtonParameter, ButtonTemplate, NewButtonTemplate};

/// One channel integration. Plugins are stateless: the host makes a fresh instance for every
/// call and passes everything the call needs, so every method is an associated function.
/// What must outlive a call goes to [`crate::state`].
///
/// Export the implementation with [`export_channel!`](crate::export_channel).
pub trait Channel {
    /// Id, name, version, capabilities and the hosts the plugin may call.
    fn manifest() -> Manifest;

    /// The settings the admin form asks for.
    fn settings_schema() -> Vec<Field>;

    /// Check the credentials with the provider and register the webhook where it can be.
    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError>;

    /// Provider-side teardown (delete the webhook). Default: nothing to tear down.
    fn disconnect(ctx: &ChannelContext) -> Result<(), ChannelError> {
        let _ = ctx;
        Ok(())
    }

    /// Verify the request (mandatory), answer challenges, turn the body into events.
    fn handle_webhook(
        ctx: &ChannelContext,
        request: HttpRequest,
    ) -> Result<WebhookOutcome, ChannelError>;

    /// Deliver one outbound message.
    fn send(ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError>;

    /// When the business may write. Default: the channel has no messaging window.
    fn messaging_window() -> WindowPolicy {
        WindowPolicy::none()
    }

    /// Provider templates. Default: unsupported.
    fn list_templates(ctx: &ChannelContext) -> Result<Vec<Template>, ChannelError> {
        let _ = ctx;
        Err(no_templates())
    }

    /// Registers a new provider template (it may need the provider's approval). Default: unsupported.
    fn create_template(
        ctx: &ChannelContext,
        template: NewTemplate,
    ) -> Result<Template, ChannelError> {
        let _ = (ctx, template);
        Err(no_templates())
    }

    /// Deletes a provider template by name. Default: unsupported.
    fn delete_template(ctx: &ChannelContext, name: &str) -> Result<(), ChannelError> {
        let _ = (ctx, name);
        Err(no_templates())
    }

    /// Provider templates with their buttons (contract 0.1.4: what a 0.1.4 host calls).
    /// Default: [`Channel::list_templates`]'s, without buttons.
    fn list_button_templates(ctx: &ChannelContext) -> Result<Vec<ButtonTemplate>, ChannelError> {
        Ok(Self::list_templates(ctx)?.into_iter().map(|template| ButtonTemplate { template, buttons: Vec::new() }).collect())
    }

    /// Registers a template with buttons (contract 0.1.4): check the buttons against the
    /// provider's rules first, per field (`buttons[2].text`). Default: [`Channel::create_template`]
    /// for a template without buttons; buttons refused.
    fn create_button_template(ctx: &ChannelContext, template: NewButtonTemplate) -> Result<ButtonTemplate, ChannelError> {
        if !template.buttons.is_empty() {
            let message = "this channel's templates have no buttons".into();
            return Err(ChannelError::InvalidSettings(vec![FieldError { key: "buttons".into(), message }]));
        }
        Self::create_template(ctx, template.template).map(|template| ButtonTemplate { template, buttons: Vec::new() })
    }

    /// Sends a template (`message.content`) with values for its buttons, by position
    /// (contract 0.1.4). Default: [`Channel::send`] without values; values unsupported.
    fn send_template_with_buttons(ctx: &ChannelContext, message: OutboundMessage, buttons: Vec<ButtonParameter>) -> Result<Receipt, ChannelError> {
        if !buttons.is_empty() {
            return Err(ChannelError::Unsupported("this channel's templates have no buttons".into()));
        }
        Self::send(ctx, message)
    }

    /// Start a provider login ("Connect with Facebook"). Default: unsupported.
    fn auth_start(request: AuthStartRequest) -> Result<AuthRedirect, ChannelError> {
        let _ = request;
        Err(no_login())
    }

    /// Finish a provider login: the accounts it gives access to. Default: unsupported.
    fn auth_finish(request: AuthFinishRequest) -> Result<Vec<AuthAccount>, ChannelError> {
        let _ = request;
        Err(no_login())
    }

    /// The operator-level settings of the plugin's provider app (contract 0.1.3): one app
    /// (a Meta app, an X developer app) whose single callback URL serves every account. Empty
    /// (the default): the plugin has no provider app.
    fn app_settings_schema() -> Vec<Field> {
        Vec::new()
    }

    /// A request to the app's callback URL: verify it with the app's credentials (mandatory),
    /// answer challenges, and tag each event with its provider account. Default: unsupported.
    fn handle_app_webhook(app: &AppContext, request: HttpRequest) -> Result<AppWebhookOutcome, ChannelError> {
        let _ = (app, request);
        Err(no_app())
    }

    /// What the admin reads beside the connect form (contract 0.1.3): the steps at the
    /// provider, with [`Guide`]'s inline markup. Default: no guide.
    fn connect_guide() -> Guide {
        Guide::new()
    }

    /// How fast the provider takes sends for one account (contract 0.1.3): the host's
    /// concurrent outbox keeps each channel within it. Default: the host's defaults.
    fn send_limits() -> SendLimits {
        SendLimits { per_second: None, concurrency: None }
    }

    /// How the host gets the bytes of an inbound attachment this channel reported (contract
    /// 0.1.3), called after the webhook was stored: usually a [`MediaRequest`](crate::MediaRequest)
    /// the host makes under the plugin's outbound rules and streams to storage, so the bytes
    /// never pass through the plugin. Resolve a provider's media id first where it wants that.
    /// Default: unsupported (attachments stay metadata only).
    fn fetch_media(ctx: &ChannelContext, attachment: &Attachment) -> Result<MediaSource, ChannelError> {
        let _ = (ctx, attachment);
        Err(ChannelError::Unsupported("this channel does not fetch attachments".into()))
    }

    /// The channel's texts in `language` (`id`: Bahasa Indonesia), as pairs of (the text as the
    /// plugin gives it elsewhere, its translation) (contract 0.1.4). Keep them in a file a
    /// translator edits and read it with [`crate::texts_from_json`]. Default: none (every text
    /// is shown as written).
    fn translations(language: &str) -> Vec<(String, String)> {
        let _ = language;
        Vec::new()
    }

    /// Checks a settings form without the provider (contract 0.1.4): every problem per field,
    /// shown with the host's own checks at once. Default: none (connect checks).
    fn check_settings(settings: &[Property]) -> Vec<FieldError> {
        let _ = settings;
        Vec::new()
    }

    /// The interactive kinds the channel draws natively, each with its provider's limits
    /// (contract 0.1.4); the host sends every other kind as text. Default: none.
    fn interactive_support() -> InteractiveSupport {
        InteractiveSupport { kinds: Vec::new(), max_id_bytes: 0 }
    }

    /// Sends interactive content of a kind [`Channel::interactive_support`] lists, already
    /// checked against its limits; option ids already fit `max_id_bytes`. Default: unsupported.
    fn send_interactive(ctx: &ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
        let _ = (ctx, message);
        Err(ChannelError::Unsupported("this channel draws no interactive content".into()))
    }

    /// [`Channel::handle_webhook`] whose events may be a customer's choice (contract 0.1.4):
    /// what a 0.1.4 host calls. Default: `handle_webhook`'s events. A channel that reports
    /// choices implements this and has `handle_webhook` answer
    /// `Self::handle_webhook_with_choices(ctx, request).map(InteractiveWebhookOutcome::plain)`.
    fn handle_webhook_with_choices(ctx: &ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
        Self::handle_webhook(ctx, request).map(Into::into)
    }

    /// [`Channel::handle_app_webhook`] whose events may be choices (contract 0.1.4). Default:
    /// `handle_app_webhook`'s events.
    fn handle_app_webhook_with_choices(app: &AppContext, request: HttpRequest) -> Result<InteractiveAppWebhookOutcome, ChannelError> {
        Self::handle_app_webhook(app, request).map(Into::into)
    }
}

fn no_app() -> ChannelError {
    ChannelError::Unsupported("this channel has no provider app".into())
}

fn no_templates() -> ChannelError {
    ChannelError::Unsupported("this channel has no provider templates".into())
}

fn no_login() -> ChannelError {
    ChannelError::Unsupported("this channel has no provider login".into())
}

/// Implements the generated `Guest` trait for any [`Channel`]; used by `export_channel!`.
#[doc(hidden)]
pub struct Export<C>(PhantomData<C>);

impl<C: Channel> Guest for Export<C> {
    fn manifest() -> Manifest {
        C::manifest()
    }
    fn settings_schema() -> Vec<Field> {
        C::settings_schema()
    }
    fn connect(ctx: ChannelContext) -> Result<Connection, ChannelError> {
        C::connect(&ctx)
    }
    fn disconnect(ctx: ChannelContext) -> Result<(), ChannelError> {
        C::disconnect(&ctx)
    }
    fn handle_webhook(
        ctx: ChannelContext,
        request: HttpRequest,
    ) -> Result<WebhookOutcome, ChannelError> {
        C::handle_webhook(&ctx, request)
    }
    fn send(ctx: ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        C::send(&ctx, message)
    }
    fn messaging_window() -> WindowPolicy {
        C::messaging_window()
    }
    fn list_templates(ctx: ChannelContext) -> Result<Vec<Template>, ChannelError> {
        C::list_templates(&ctx)
    }
    fn create_template(ctx: ChannelContext, template: NewTemplate) -> Result<Template, ChannelError> {
        C::create_template(&ctx, template)
    }
    fn delete_template(ctx: ChannelContext, name: String) -> Result<(), ChannelError> {
        C::delete_template(&ctx, &name)
    }
    fn auth_start(request: AuthStartRequest) -> Result<AuthRedirect, ChannelError> {
        C::auth_start(request)
    }
    fn auth_finish(request: AuthFinishRequest) -> Result<Vec<AuthAccount>, ChannelError> {
        C::auth_finish(request)
    }
}

impl<C: Channel> AppGuest for Export<C> {
    fn app_settings_schema() -> Vec<Field> {
        C::app_settings_schema()
    }
    fn handle_app_webhook(app: AppContext, request: HttpRequest) -> Result<AppWebhookOutcome, ChannelError> {
        C::handle_app_webhook(&app, request)
    }
}

impl<C: Channel> GuideGuest for Export<C> {
    fn connect_guide() -> Guide {
        C::connect_guide()
    }
}

impl<C: Channel> MediaGuest for Export<C> {
    fn fetch_media(ctx: ChannelContext, attachment: Attachment) -> Result<MediaSource, ChannelError> {
        C::fetch_media(&ctx, &attachment)
    }
}

impl<C: Channel> InteractiveGuest for Export<C> {
    fn support() -> InteractiveSupport {
        C::interactive_support()
    }
    fn send_interactive(ctx: ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
        C::send_interactive(&ctx, message)
    }
    fn handle_webhook(ctx: ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
        C::handle_webhook_with_choices(&ctx, request)
    }
}

impl<C: Channel> SettingsCheckGuest for Export<C> {
    fn check_settings(settings: Vec<Property>) -> Vec<FieldError> {
        C::check_settings(&settings)
    }
}

impl<C: Channel> TranslationsGuest for Export<C> {
    fn texts(language: String) -> Vec<(String, String)> {
        C::translations(&language)
    }
}

impl<C: Channel> InteractiveAppGuest for Export<C> {
    fn handle_app_webhook(app: AppContext, request: HttpRequest) -> Result<InteractiveAppWebhookOutcome, ChannelError> {
        C::handle_app_webhook_with_choices(&app, request)
    }
}

impl<C: Channel> TemplateButtonsGuest for Export<C> {
    fn list_templates(ctx: ChannelContext) -> Result<Vec<ButtonTemplate>, ChannelError> {
        C::list_button_templates(&ctx)
    }
    fn create_template(ctx: ChannelContext, template: NewButtonTemplate) -> Result<ButtonTemplate, ChannelError> {
        C::create_button_template(&ctx, template)
    }
    fn send_template(ctx: ChannelContext, message: OutboundMessage, buttons: Vec<ButtonParameter>) -> Result<Receipt, ChannelError> {
        C::send_template_with_buttons(&ctx, message, buttons)
    }
}

impl<C: Channel> DeliveryGuest for Export<C> {
    fn limits() -> SendLimits {
        C::send_limits()
    }
}

/// Exports a [`Channel`] implementation as the component's `channel` interface (and its
/// `provider-app`, which says "no app" unless the channel declares an app schema, and its
/// `setup-guide`, empty unless the channel writes one).
///
/// ```ignore
/// switchboard_sdk::export_channel!(Telegram);
/// ```
#[macro_export]
macro_rules! export_channel {
    ($channel:ty) => {
        // The generated export macro takes an identifier, hence the alias. Only on wasm: the
        // export names (`switchboard:channel/channel@0.1.0#send`) do not link natively, and a
        // native build (`cargo test`, `cargo clippy --workspace`) has no use for them.
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            type SwitchboardChannelExport = $crate::__private::Export<$channel>;
            $crate::bindings::__export_plugin_world!(
                SwitchboardChannelExport with_types_in $crate::bindings
            );
        };
        // Natively the channel is still reachable, for tests and without dead-code warnings.
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub type __SwitchboardChannelExport = $crate::__private::Export<$channel>;
    };
}
