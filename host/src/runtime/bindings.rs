//! Host-side bindings of the channel contract, major version 0.1, private to the runtime, and
//! the one place where generated types become the host's own (`runtime::types`).
//!
//! Bound to the newest 0.1 release (`wit/v0.1.4`, world `plugin-full`: every 0.1.4 export): wasmtime resolves
//! a plugin's 0.1.0 to 0.1.3 names to these 0.1.4 definitions (0.1 only adds imports, and the
//! optional `provider-app`, `setup-guide`, `delivery`, `media`, `interactive` and `interactive-app` exports),
//! so one module serves the whole 0.1 line. The exported interfaces are found one by one ([`ChannelIndices`],
//! [`AppIndices`], [`GuideIndices`], [`DeliveryIndices`], [`MediaIndices`], [`InteractiveIndices`],
//! [`InteractiveAppIndices`], [`SettingsCheckIndices`], [`TranslationsIndices`], [`TemplateButtonsIndices`]), so a plugin without the optional ones loads too. A breaking 0.2 gets a module of its own beside this one with its own
//! conversions to the same host types, and `LoadedPlugin` an instance-pre per major version,
//! as Zed's extension host does.

wasmtime::component::bindgen!({
    path: "../wit/v0.1.4",
    world: "plugin-full",
    imports: {
        // SMTP waits on the network: async on the host, blocking for the guest.
        "switchboard:channel/smtp.verify": async,
        "switchboard:channel/smtp.send": async,
        // A state read or write the host cannot do fails the call (the guest traps), so the
        // caller retries it instead of the plugin going on without what it stored. Async: on
        // Postgres the state (and the app's settings, and holds) is a network round trip away.
        "switchboard:channel/state.get": async | trappable,
        "switchboard:channel/state.set": async | trappable,
        "switchboard:channel/state.remove": async | trappable,
        "switchboard:channel/state.keys": async | trappable,
        "switchboard:channel/app.settings": async | trappable,
        "switchboard:channel/holds.hold": async | trappable,
        "switchboard:channel/holds.release": async | trappable,
        // Files are written to and read from disk: async on the host.
        "switchboard:channel/files.keep": async,
        "switchboard:channel/files.read": async,
    },
    exports: { default: async },
});

pub(super) use self::exports::switchboard::channel::channel::GuestIndices as ChannelIndices;
pub(super) use self::exports::switchboard::channel::provider_app::GuestIndices as AppIndices;
pub(super) use self::exports::switchboard::channel::setup_guide::GuestIndices as GuideIndices;
pub(super) use self::exports::switchboard::channel::delivery::GuestIndices as DeliveryIndices;
pub(super) use self::exports::switchboard::channel::media::GuestIndices as MediaIndices;
pub(super) use self::exports::switchboard::channel::interactive::GuestIndices as InteractiveIndices;
pub(super) use self::exports::switchboard::channel::interactive_app::GuestIndices as InteractiveAppIndices;
pub(super) use self::exports::switchboard::channel::settings_check::GuestIndices as SettingsCheckIndices;
pub(super) use self::exports::switchboard::channel::translations::GuestIndices as TranslationsIndices;
pub(super) use self::exports::switchboard::channel::template_buttons::GuestIndices as TemplateButtonsIndices;
use self::exports::switchboard::channel::delivery as wit_delivery;
pub(super) use self::switchboard::channel::{app, files, holds, log, smtp, state};
use self::switchboard::channel::app_types as wit_app;
use self::switchboard::channel::guide_types as wit_guide;
use self::switchboard::channel::interactive_types as wit_interactive;
use self::switchboard::channel::media_types as wit_media;
use self::switchboard::channel::template_button_types as wit_buttons;
use self::switchboard::channel::types as wit;
use super::types as host;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, ComponentNamedList, Instance, Lift as LiftValue, Lower, TypedFunc};

/// The functions called at the rate of traffic (a webhook, a send), found once at load, and
/// type-checked once, at their first call: an interface's generated `load` type-checks every
/// function it has at each call (three for `interactive`, twelve for `channel`), and even one
/// function's check walked its argument and result types at every call (3 % of the async
/// workers' samples under ingest).
pub(super) struct TrafficExports {
    pub(super) webhook: WebhookHandler,
    pub(super) send: ComponentExportIndex,
    webhook_checked: AtomicBool,
    send_checked: AtomicBool,
}

/// Where the webhook handler is: `interactive`'s (0.1.4) when the plugin exports that
/// interface, else `channel`'s.
#[derive(Clone, Copy)]
pub(super) enum WebhookHandler {
    Interactive(ComponentExportIndex),
    Channel(ComponentExportIndex),
}

impl TrafficExports {
    pub(super) fn find(component: &wasmtime::component::Component) -> Option<Self> {
        let function = |interface: &str, name: &str| {
            let instance = component.get_export_index(None, interface)?;
            component.get_export_index(Some(&instance), name)
        };
        let webhook = function(INTERACTIVE, "handle-webhook").map(WebhookHandler::Interactive).or_else(|| function(CHANNEL, "handle-webhook").map(WebhookHandler::Channel))?;
        Some(Self { webhook, send: function(CHANNEL, "send")?, webhook_checked: AtomicBool::new(false), send_checked: AtomicBool::new(false) })
    }

    /// The webhook handler of `instance`, as `P -> R` (the caller's types for its [`WebhookHandler`]).
    pub(super) fn webhook<P, R>(&self, instance: &Instance, store: &mut Store<super::CallState>) -> wasmtime::Result<TypedFunc<P, R>>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + LiftValue,
    {
        let index = match &self.webhook {
            WebhookHandler::Interactive(index) | WebhookHandler::Channel(index) => index,
        };
        typed_once(instance, store, index, &self.webhook_checked)
    }

    /// `send` of `instance`, as `P -> R`.
    pub(super) fn send<P, R>(&self, instance: &Instance, store: &mut Store<super::CallState>) -> wasmtime::Result<TypedFunc<P, R>>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + LiftValue,
    {
        typed_once(instance, store, &self.send, &self.send_checked)
    }
}

/// The function `index` of `instance` as `P -> R`, its type checked only while `checked` is
/// unset, which the first successful check sets. Every instance is made from the one component
/// the index was found in (the plugin's `InstancePre`), so its functions' types never change,
/// and each flag belongs to one function called with one pair of types.
fn typed_once<P, R>(instance: &Instance, store: &mut Store<super::CallState>, index: &ComponentExportIndex, checked: &AtomicBool) -> wasmtime::Result<TypedFunc<P, R>>
where
    P: ComponentNamedList + Lower,
    R: ComponentNamedList + LiftValue,
{
    if checked.load(Ordering::Acquire) {
        let func = instance.get_func(&mut *store, index).ok_or_else(|| wasmtime::format_err!("the component lost its export"))?;
        // SAFETY: the same function of the same component was checked as `P -> R` by
        // `get_typed_func` below before `checked` was set (see above), which is what
        // `new_unchecked` asks of its caller.
        #[allow(unsafe_code)]
        return Ok(unsafe { TypedFunc::new_unchecked(func) });
    }
    let func = instance.get_typed_func::<P, R>(&mut *store, index)?;
    checked.store(true, Ordering::Release);
    Ok(func)
}

const CHANNEL: &str = "switchboard:channel/channel@0.1.4";
const INTERACTIVE: &str = "switchboard:channel/interactive@0.1.4";

/// Those functions' arguments (the context and request borrowed from the host's own values) and
/// results (the contract's generated types).
pub(super) type WebhookArgs<'a> = (ContextView<'a>, RequestView<'a>);
pub(super) type WebhookResult = Result<wit::WebhookOutcome, wit::ChannelError>;
pub(super) type InteractiveWebhookResult = Result<wit_interactive::InteractiveWebhookOutcome, wit::ChannelError>;
pub(super) type SendArgs<'a> = (ContextView<'a>, &'a wit::OutboundMessage);
pub(super) type SendResult = Result<wit::Receipt, wit::ChannelError>;

/// The contract's `channel-context`, lowered straight from the host's own: the traffic calls
/// (every provider delivery, every send) copy it into the plugin's memory once, instead of into
/// an owned binding record first. The component's function type is checked against these
/// records once per plugin (`typed_once`), so a field that drifted from the WIT fails there.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lower)]
#[component(record)]
pub(super) struct ContextView<'a> {
    #[component(name = "channel-id")]
    channel_id: &'a str,
    #[component(name = "webhook-url")]
    webhook_url: &'a str,
    #[component(name = "webhook-secret")]
    webhook_secret: &'a str,
    settings: &'a [host::Property],
}

impl<'a> From<&'a host::ChannelContext> for ContextView<'a> {
    fn from(ctx: &'a host::ChannelContext) -> Self {
        Self { channel_id: &ctx.channel_id, webhook_url: &ctx.webhook_url, webhook_secret: &ctx.webhook_secret, settings: &ctx.settings }
    }
}

/// The contract's `http-request`, lowered straight from the host's own (as [`ContextView`]).
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lower)]
#[component(record)]
pub(super) struct RequestView<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [host::Property],
    body: &'a [u8],
}

impl<'a> From<&'a host::HttpRequest> for RequestView<'a> {
    fn from(request: &'a host::HttpRequest) -> Self {
        Self { method: &request.method, path: &request.path, query: &request.query, headers: &request.headers, body: &request.body }
    }
}

/// The types-only interfaces have no functions; their host side is empty.
impl wit::Host for super::CallState {}
impl wit_app::Host for super::CallState {}
impl wit_guide::Host for super::CallState {}
impl wit_media::Host for super::CallState {}
impl wit_interactive::Host for super::CallState {}
impl wit_buttons::Host for super::CallState {}

pub(super) fn add_types_to_linker(linker: &mut wasmtime::component::Linker<super::CallState>) -> wasmtime::Result<()> {
    use wasmtime::component::HasSelf;
    wit::add_to_linker::<super::CallState, HasSelf<super::CallState>>(linker, |call| call)?;
    wit_app::add_to_linker::<super::CallState, HasSelf<super::CallState>>(linker, |call| call)?;
    wit_guide::add_to_linker::<super::CallState, HasSelf<super::CallState>>(linker, |call| call)?;
    wit_media::add_to_linker::<super::CallState, HasSelf<super::CallState>>(linker, |call| call)?;
    wit_interactive::add_to_linker::<super::CallState, HasSelf<super::CallState>>(linker, |call| call)?;
    wit_buttons::add_to_linker::<super::CallState, HasSelf<super::CallState>>(linker, |call| call)
}

/// Moves a value across the contract's edge: generated type to host type and back.
pub(super) trait Lift<T> {
    fn lift(self) -> T;
}

macro_rules! same_on_both_sides {
    ($($ty:ty),*) => { $(impl Lift<$ty> for $ty { fn lift(self) -> $ty { self } })* };
}
same_on_both_sides!((), String, bool, u8, u16, u32, u64, f64);

impl<A: Lift<B>, B> Lift<Vec<B>> for Vec<A> {
    fn lift(self) -> Vec<B> {
        self.into_iter().map(Lift::lift).collect()
    }
}

impl<A: Lift<B>, B> Lift<Option<B>> for Option<A> {
    fn lift(self) -> Option<B> {
        self.map(Lift::lift)
    }
}

impl<A1: Lift<B1>, A2: Lift<B2>, B1, B2> Lift<(B1, B2)> for (A1, A2) {
    fn lift(self) -> (B1, B2) {
        (self.0.lift(), self.1.lift())
    }
}

/// Records: the same fields on both sides, each lifted.
macro_rules! records {
    ($($name:ident { $($field:ident),* $(,)? })*) => { records!(wit: $($name { $($field),* })*); };
    ($module:ident: $($name:ident { $($field:ident),* $(,)? })*) => { $(
        impl Lift<host::$name> for $module::$name {
            fn lift(self) -> host::$name { host::$name { $($field: self.$field.lift()),* } }
        }
        impl Lift<$module::$name> for host::$name {
            fn lift(self) -> $module::$name { $module::$name { $($field: self.$field.lift()),* } }
        }
    )* };
}

/// Enums and variants whose cases carry nothing or one liftable value.
macro_rules! cases {
    ($($name:ident { $($case:ident $(($inner:ident))?),* $(,)? })*) => { cases!(wit: $($name { $($case $(($inner))?),* })*); };
    ($module:ident: $($name:ident { $($case:ident $(($inner:ident))?),* $(,)? })*) => { $(
        impl Lift<host::$name> for $module::$name {
            fn lift(self) -> host::$name {
                match self { $($module::$name::$case $(($inner))? => host::$name::$case $(($inner.lift()))?),* }
            }
        }
        impl Lift<$module::$name> for host::$name {
            fn lift(self) -> $module::$name {
                match self { $(host::$name::$case $(($inner))? => $module::$name::$case $(($inner.lift()))?),* }
            }
        }
    )* };
}

records! {
    SelectOption { value, label }
    Field { key, label, kind, required, secret, immutable, help, default_value, options }
    PluginManifest { id, name, version, description, capabilities, outbound_hosts }
    WindowPolicy { free_form_seconds, human_agent_seconds, templates_outside_window }
    ChannelContext { channel_id, webhook_url, webhook_secret, settings }
    FieldError { key, message }
    SetupItem { key, label, value }
    Connection { display_name, external_account_id, setup }
    HttpRequest { method, path, query, headers, body }
    HttpResponse { status, headers, body }
    ContactProfile { id, name, handle }
    Location { latitude, longitude, name, address }
    Attachment { kind, provider_media_id, url, mime_type, filename, size, location, description }
    InboundMessage { provider_message_id, conversation, conversation_name, sender, timestamp_ms, text, attachments, reply_to, properties }
    DeliveryStatus { target, state, timestamp_ms, error_code, error_message }
    Media { kind, url, caption, filename, mime_type }
    TemplateMessage { name, language, params }
    InboundSummary { provider_message_id, timestamp_ms, properties }
    OutboundMessage { message_id, conversation_id, recipient, content, reply_to, last_inbound, window, attempt }
    Receipt { provider_message_id }
    Template { name, language, category, status, body }
    NewTemplate { name, language, category, body }
    AuthStartRequest { redirect_url, state, settings }
    AuthRedirect { authorize_url, properties }
    AuthFinishRequest { redirect_url, callback_query, properties, settings }
    AuthAccount { id, name, settings }
}

records! { wit_app:
    AppContext { callback_url, verify_token, settings }
}

records! { wit_interactive:
    ChoiceOption { id, title, description }
    ListSection { title, rows }
    OptionList { button, sections }
    UrlButton { title, url }
    Card { title, subtitle, image_url, buttons }
    InteractiveContent { header, body, footer, action }
    KindLimits {
        kind, max_choices, max_title_chars, max_description_chars, max_body_chars, max_header_chars, max_footer_chars, max_sections,
        max_button_chars, max_card_buttons,
    }
    InteractiveSupport { kinds, max_id_bytes }
    InteractiveMessage { message_id, conversation_id, recipient, content, reply_to, last_inbound, window, attempt }
    Choice { provider_message_id, conversation, conversation_name, sender, timestamp_ms, id, title, answers, properties }
}

cases! { wit_interactive:
    CardButton { Reply(option), Url(button) }
    InteractiveAction { ReplyButtons(options), QuickReplies(options), OptionList(list), UrlButtons(buttons), Cards(cards) }
    InteractiveKind { ReplyButtons, QuickReplies, OptionList, UrlButtons, Cards }
}

/// What plugins report comes one way only: the host's [`host::Event`] has a case (`Choice`) that
/// only 0.1.4's `inbound-event` carries, so these lift into the host and never back.
macro_rules! into_host {
    ($($from:ty => $to:ident { $($field:ident),* })*) => { $(
        impl Lift<host::$to> for $from {
            fn lift(self) -> host::$to { host::$to { $($field: self.$field.lift()),* } }
        }
    )* };
}

impl Lift<host::Event> for wit::Event {
    fn lift(self) -> host::Event {
        match self {
            wit::Event::Message(message) => host::Event::Message(message.lift()),
            wit::Event::Status(status) => host::Event::Status(status.lift()),
            wit::Event::Contact(profile) => host::Event::Contact(profile.lift()),
        }
    }
}

impl Lift<host::Event> for wit_interactive::InboundEvent {
    fn lift(self) -> host::Event {
        match self {
            wit_interactive::InboundEvent::Event(event) => event.lift(),
            wit_interactive::InboundEvent::Choice(choice) => host::Event::Choice(choice.lift()),
        }
    }
}

into_host! {
    wit::WebhookOutcome => WebhookOutcome { response, events }
    wit_interactive::InteractiveWebhookOutcome => WebhookOutcome { response, events }
    wit_app::AccountEvent => AccountEvent { account, event }
    wit_interactive::AccountInboundEvent => AccountEvent { account, event }
    wit_app::AppWebhookOutcome => AppWebhookOutcome { response, events }
    wit_interactive::InteractiveAppWebhookOutcome => AppWebhookOutcome { response, events }
}

records! { wit_buttons:
    ButtonTemplate { template, buttons }
    NewButtonTemplate { template, buttons }
    ButtonParameter { index, value }
}

cases! { wit_buttons:
    ButtonValue { Payload(payload), UrlSuffix(suffix) }
}

/// The host's button is a struct-like enum (it is also the API's JSON); the contract's has records.
impl Lift<host::TemplateButton> for wit_buttons::TemplateButton {
    fn lift(self) -> host::TemplateButton {
        match self {
            wit_buttons::TemplateButton::QuickReply(text) => host::TemplateButton::QuickReply { text },
            wit_buttons::TemplateButton::Url(b) => host::TemplateButton::Url { text: b.text, url: b.url, example: b.example },
            wit_buttons::TemplateButton::PhoneNumber(b) => host::TemplateButton::PhoneNumber { text: b.text, phone_number: b.phone_number },
        }
    }
}

impl Lift<wit_buttons::TemplateButton> for host::TemplateButton {
    fn lift(self) -> wit_buttons::TemplateButton {
        match self {
            host::TemplateButton::QuickReply { text } => wit_buttons::TemplateButton::QuickReply(text),
            host::TemplateButton::Url { text, url, example } => wit_buttons::TemplateButton::Url(wit_buttons::TemplateUrlButton { text, url, example }),
            host::TemplateButton::PhoneNumber { text, phone_number } => {
                wit_buttons::TemplateButton::PhoneNumber(wit_buttons::TemplatePhoneButton { text, phone_number })
            }
        }
    }
}

records! { wit_guide:
    Link { label, url }
    Section { title, blocks }
    FieldWidget { key, widget }
    Guide { sections, field_widgets }
}

records! { wit_delivery:
    SendLimits { per_second, concurrency }
}

records! { wit_media:
    MediaRequest { method, url, headers }
}

cases! { wit_media:
    MediaSource { Request(request), NotReady(seconds) }
}

cases! { wit_guide:
    Inline { Text(text), Strong(text), Code(text), Link(link) }
    Block { Paragraph(line), Steps(steps), Note(line) }
    Widget { Color }
}

cases! {
    FieldKind { Text, Secret, Url, Email, Number, Boolean, Select, Textarea }
    Capability { Templates, OauthConnect, SendMedia, SendTemplates, FixedName }
    WindowState { Unrestricted, Open, HumanAgent, Closed }
    AttachmentKind { Image, Video, Audio, Document, Sticker, Location, Contact, Unsupported }
    DeliveryState { Sent, Delivered, Read, Failed, Deleted }
    MediaKind { Image, Video, Audio, Document, Sticker }
    ChannelError {
        InvalidSettings(fields), Unauthorized(reason), RateLimited(seconds), WindowClosed(reason),
        Unsupported(what), Provider(reason), Transient(reason), BadRequest(reason),
    }
    StatusTarget { Message(id), Watermark(up_to) }
    OutboundContent { Text(text), Media(media), Template(template) }
}
