//! Interactive messages (contract 0.1.4): the content a plugin draws natively, the limits it
//! declares, and the customer's choice it reports.
//!
//! A channel that draws some kinds implements [`Channel::interactive_support`](crate::Channel::interactive_support)
//! (which kinds, within which limits) and [`Channel::send_interactive`](crate::Channel::send_interactive);
//! one whose provider reports taps implements [`Channel::handle_webhook_with_choices`](crate::Channel::handle_webhook_with_choices)
//! and has its `handle_webhook` call it through [`InteractiveWebhookOutcome::plain`]. The host
//! checks every message against the declared limits before queueing it, and sends kinds a
//! plugin does not draw as text (numbered options), mapping a reply that names an option back
//! to the choice itself: a plugin never renders a fallback.
//!
//! Builders make content in a few words, for a plugin's tests above all (the test kit's
//! `Message::interactive` takes it as the host would send it):
//!
//! ```
//! use switchboard_sdk::serde_json::json;
//! use switchboard_sdk::{ChoiceOption, InteractiveContent, OptionList};
//!
//! let buttons = InteractiveContent::reply_buttons("Sudah sampai?", [ChoiceOption::new("yes", "Sudah"), ChoiceOption::new("no", "Belum")])
//!     .with_footer("Toko Budi");
//! assert_eq!(
//!     buttons.to_json(),
//!     json!({"body": "Sudah sampai?", "footer": "Toko Budi", "reply_buttons": [{"id": "yes", "title": "Sudah"}, {"id": "no", "title": "Belum"}]})
//! );
//! let list = InteractiveContent::list(
//!     "Mau dikirim pakai apa?",
//!     OptionList::new("Pilihan kirim")
//!         .section("Cepat", [ChoiceOption::new("ship:express", "Express").with_description("Besok sampai")])
//!         .section("Hemat", [ChoiceOption::new("ship:regular", "Reguler")]),
//! );
//! assert_eq!(list.to_json()["list"]["sections"][0]["rows"][0], json!({"id": "ship:express", "title": "Express", "description": "Besok sampai"}));
//! assert_eq!(list.choices().len(), 2);
//! ```

use serde_json::{Value, json};

use crate::{
    AccountInboundEvent, AppWebhookOutcome, Card, CardButton, InteractiveAppWebhookOutcome, ChoiceOption, Event, HttpResponse, InboundEvent, InboundMessage,
    InteractiveAction, InteractiveContent, InteractiveKind, InteractiveWebhookOutcome, KindLimits, ListSection, OptionList, UrlButton, WebhookOutcome,
};

impl InteractiveWebhookOutcome {
    /// 200, empty body, these events.
    pub fn ok(events: Vec<InboundEvent>) -> Self {
        Self { response: HttpResponse::ok(), events }
    }

    /// The outcome as a host before 0.1.4 takes it: each choice as a text message of its
    /// title (what the customer saw), or its id when the provider gave no title.
    pub fn plain(self) -> WebhookOutcome {
        WebhookOutcome { response: self.response, events: self.events.into_iter().map(plain_event).collect() }
    }
}

/// A choice as a text message of its title (its id when the provider gave no title): what a
/// host before 0.1.4 gets.
fn plain_event(event: InboundEvent) -> Event {
    match event {
        InboundEvent::Event(event) => event,
        InboundEvent::Choice(choice) => Event::Message(InboundMessage {
            provider_message_id: choice.provider_message_id,
            conversation: choice.conversation,
            conversation_name: choice.conversation_name,
            sender: choice.sender,
            timestamp_ms: choice.timestamp_ms,
            text: Some(choice.title.unwrap_or(choice.id)),
            attachments: Vec::new(),
            reply_to: choice.answers,
            properties: choice.properties,
        }),
    }
}

impl InteractiveAppWebhookOutcome {
    /// The outcome as a host before 0.1.4 takes it (see [`InteractiveWebhookOutcome::plain`]).
    pub fn plain(self) -> AppWebhookOutcome {
        let events = self.events.into_iter().map(|e| crate::AccountEvent { account: e.account, event: plain_event(e.event) }).collect();
        AppWebhookOutcome { response: self.response, events }
    }
}

impl From<WebhookOutcome> for InteractiveWebhookOutcome {
    fn from(outcome: WebhookOutcome) -> Self {
        Self { response: outcome.response, events: outcome.events.into_iter().map(InboundEvent::Event).collect() }
    }
}

impl From<AppWebhookOutcome> for InteractiveAppWebhookOutcome {
    fn from(outcome: AppWebhookOutcome) -> Self {
        let events = outcome.events.into_iter().map(|e| AccountInboundEvent { account: e.account, event: InboundEvent::Event(e.event) }).collect();
        Self { response: outcome.response, events }
    }
}

impl KindLimits {
    /// A kind with no parts allowed yet: set the ones the provider has.
    pub fn new(kind: InteractiveKind) -> Self {
        Self {
            kind,
            max_choices: 0,
            max_title_chars: 0,
            max_description_chars: 0,
            max_body_chars: 0,
            max_header_chars: 0,
            max_footer_chars: 0,
            max_sections: 0,
            max_button_chars: 0,
            max_card_buttons: 0,
        }
    }
}

impl InteractiveContent {
    /// The header, body and footer as one text, a blank line between them: for providers
    /// whose interactive messages have no header or footer of their own.
    pub fn text_with_header_and_footer(&self) -> String {
        [self.header.as_deref(), Some(self.body.as_str()), self.footer.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// Every option that comes back when picked, in order (list rows across sections, cards'
    /// reply buttons card by card): the numbering of the host's text rendering.
    pub fn choices(&self) -> Vec<&ChoiceOption> {
        match &self.action {
            InteractiveAction::ReplyButtons(options) | InteractiveAction::QuickReplies(options) => options.iter().collect(),
            InteractiveAction::OptionList(list) => list.sections.iter().flat_map(|s| &s.rows).collect(),
            InteractiveAction::UrlButtons(_) => Vec::new(),
            InteractiveAction::Cards(cards) => cards
                .iter()
                .flat_map(|card| &card.buttons)
                .filter_map(|button| match button {
                    CardButton::Reply(option) => Some(option),
                    CardButton::Url(_) => None,
                })
                .collect(),
        }
    }
}

impl InteractiveContent {
    fn of(body: impl Into<String>, action: InteractiveAction) -> Self {
        Self { header: None, body: body.into(), footer: None, action }
    }

    /// Buttons under the message that stay tappable.
    pub fn reply_buttons(body: impl Into<String>, options: impl IntoIterator<Item = ChoiceOption>) -> Self {
        Self::of(body, InteractiveAction::ReplyButtons(options.into_iter().collect()))
    }

    /// Suggestions that vanish after the next message.
    pub fn quick_replies(body: impl Into<String>, options: impl IntoIterator<Item = ChoiceOption>) -> Self {
        Self::of(body, InteractiveAction::QuickReplies(options.into_iter().collect()))
    }

    /// A list picker (see [`OptionList`]).
    pub fn list(body: impl Into<String>, list: OptionList) -> Self {
        Self::of(body, InteractiveAction::OptionList(list))
    }

    /// Buttons that open web pages (nothing comes back when one is tapped).
    pub fn url_buttons(body: impl Into<String>, buttons: impl IntoIterator<Item = UrlButton>) -> Self {
        Self::of(body, InteractiveAction::UrlButtons(buttons.into_iter().collect()))
    }

    /// A carousel of cards (see [`Card`]).
    pub fn cards(body: impl Into<String>, cards: impl IntoIterator<Item = Card>) -> Self {
        Self::of(body, InteractiveAction::Cards(cards.into_iter().collect()))
    }

    /// The same content with a title line above the body.
    pub fn with_header(mut self, header: impl Into<String>) -> Self {
        self.header = Some(header.into());
        self
    }

    /// The same content with a footer under the body.
    pub fn with_footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }

    /// The content as the host's API takes it (`POST /api/v1/conversations/{id}/messages` with
    /// `{"interactive": …}`), and `plugin call … send` and the test kit with it:
    /// `{"header"?, "body", "footer"?}` and one of `reply_buttons`, `quick_replies`, `list`,
    /// `url_buttons`, `cards`.
    pub fn to_json(&self) -> Value {
        let (key, action) = match &self.action {
            InteractiveAction::ReplyButtons(options) => ("reply_buttons", options_json(options)),
            InteractiveAction::QuickReplies(options) => ("quick_replies", options_json(options)),
            InteractiveAction::OptionList(list) => {
                let sections: Vec<Value> = list
                    .sections
                    .iter()
                    .map(|section| {
                        let mut object = json!({"rows": options_json(&section.rows)});
                        if let Some(title) = &section.title {
                            object["title"] = json!(title);
                        }
                        object
                    })
                    .collect();
                ("list", json!({"button": list.button, "sections": sections}))
            }
            InteractiveAction::UrlButtons(buttons) => ("url_buttons", Value::Array(buttons.iter().map(url_button_json).collect())),
            InteractiveAction::Cards(cards) => ("cards", Value::Array(cards.iter().map(card_json).collect())),
        };
        let mut content = json!({"body": self.body});
        if let Some(header) = &self.header {
            content["header"] = json!(header);
        }
        if let Some(footer) = &self.footer {
            content["footer"] = json!(footer);
        }
        content[key] = action;
        content
    }
}

/// [`InteractiveContent::to_json`]: the test kit's `Message::interactive` takes the content itself.
impl From<InteractiveContent> for Value {
    fn from(content: InteractiveContent) -> Self {
        content.to_json()
    }
}

fn option_json(option: &ChoiceOption) -> Value {
    let mut object = json!({"id": option.id, "title": option.title});
    if let Some(description) = &option.description {
        object["description"] = json!(description);
    }
    object
}

fn options_json(options: &[ChoiceOption]) -> Value {
    Value::Array(options.iter().map(option_json).collect())
}

fn url_button_json(button: &UrlButton) -> Value {
    json!({"title": button.title, "url": button.url})
}

fn card_json(card: &Card) -> Value {
    let buttons: Vec<Value> = card
        .buttons
        .iter()
        .map(|button| match button {
            CardButton::Reply(option) => option_json(option),
            CardButton::Url(url) => url_button_json(url),
        })
        .collect();
    let mut object = json!({"title": card.title, "buttons": buttons});
    if let Some(subtitle) = &card.subtitle {
        object["subtitle"] = json!(subtitle);
    }
    if let Some(image_url) = &card.image_url {
        object["image_url"] = json!(image_url);
    }
    object
}

impl ChoiceOption {
    /// An option: `id` comes back when the customer picks it, `title` is what they see.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self { id: id.into(), title: title.into(), description: None }
    }

    /// The same option with a second line (a list row's).
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

impl OptionList {
    /// A list opened by a button labelled `button`; add its sections with [`OptionList::section`].
    pub fn new(button: impl Into<String>) -> Self {
        Self { button: button.into(), sections: Vec::new() }
    }

    /// The list with one more section, titled (several sections need titles to tell them apart).
    pub fn section(mut self, title: impl Into<String>, rows: impl IntoIterator<Item = ChoiceOption>) -> Self {
        self.sections.push(ListSection { title: Some(title.into()), rows: rows.into_iter().collect() });
        self
    }

    /// The list with one more section without a title (a list of one section needs none).
    pub fn rows(mut self, rows: impl IntoIterator<Item = ChoiceOption>) -> Self {
        self.sections.push(ListSection { title: None, rows: rows.into_iter().collect() });
        self
    }
}

impl UrlButton {
    /// A button titled `title` that opens `url` (`https:` or `http:`).
    pub fn new(title: impl Into<String>, url: impl Into<String>) -> Self {
        Self { title: title.into(), url: url.into() }
    }
}

impl Card {
    /// A card titled `title`, with no subtitle, image or buttons yet.
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), subtitle: None, image_url: None, buttons: Vec::new() }
    }

    /// The same card with a second line.
    pub fn with_subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// The same card with an `https:` image.
    pub fn with_image(mut self, image_url: impl Into<String>) -> Self {
        self.image_url = Some(image_url.into());
        self
    }

    /// The same card with one more button that comes back as a choice.
    pub fn with_reply(mut self, option: ChoiceOption) -> Self {
        self.buttons.push(CardButton::Reply(option));
        self
    }

    /// The same card with one more button that opens a web page.
    pub fn with_link(mut self, button: UrlButton) -> Self {
        self.buttons.push(CardButton::Url(button));
        self
    }
}
