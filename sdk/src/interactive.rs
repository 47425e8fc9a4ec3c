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

use crate::{
    AccountInboundEvent, AppWebhookOutcome, CardButton, InteractiveAppWebhookOutcome, ChoiceOption, Event, HttpResponse, InboundEvent, InboundMessage, InteractiveAction, InteractiveContent,
    InteractiveKind, InteractiveWebhookOutcome, KindLimits, WebhookOutcome,
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
