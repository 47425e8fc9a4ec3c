//! Interactive content as the host speaks it: what the API takes, the store keeps inside a
//! message's content (JSON) and the runtime hands plugins (contract 0.1.4 `interactive-types`,
//! converted in `runtime::bindings`). One model for the three, so an option's id or a card's
//! button means the same thing from the request to the provider.
//!
//! JSON: `{"header"?, "body", "footer"?}` and exactly one of `reply_buttons`, `quick_replies`,
//! `list`, `url_buttons`, `cards`.

use serde::{Deserialize, Serialize};

/// One option a customer can pick; `id` comes back when they do (the business's payload).
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub id: String,
    pub title: String,
    /// A list row's second line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub rows: Vec<ChoiceOption>,
}

/// A list picker: one button (`button`, its label) opens sections of rows.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OptionList {
    pub button: String,
    pub sections: Vec<ListSection>,
}

/// A button that opens a web page (nothing comes back when tapped).
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UrlButton {
    pub title: String,
    pub url: String,
}

/// A card's button: `{"id", "title"}` comes back as a choice, `{"title", "url"}` opens a page.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(untagged)]
pub enum CardButton {
    Url(UrlButton),
    Reply(ChoiceOption),
}

/// One card of a carousel.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Card {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(default)]
    pub buttons: Vec<CardButton>,
}

#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InteractiveAction {
    /// Buttons that stay under the message.
    ReplyButtons(Vec<ChoiceOption>),
    /// Suggestions that vanish after the next message.
    QuickReplies(Vec<ChoiceOption>),
    #[serde(rename = "list")]
    OptionList(OptionList),
    UrlButtons(Vec<UrlButton>),
    Cards(Vec<Card>),
}

#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum InteractiveKind {
    ReplyButtons,
    QuickReplies,
    #[serde(rename = "list")]
    OptionList,
    UrlButtons,
    Cards,
}

impl InteractiveKind {
    /// The name the API and the field errors use.
    pub fn name(self) -> &'static str {
        match self {
            Self::ReplyButtons => "reply_buttons",
            Self::QuickReplies => "quick_replies",
            Self::OptionList => "list",
            Self::UrlButtons => "url_buttons",
            Self::Cards => "cards",
        }
    }
}

/// A message a customer can tap: a body with an optional header and footer, and one action.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct InteractiveContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    #[serde(flatten)]
    pub action: InteractiveAction,
}

impl InteractiveContent {
    pub fn kind(&self) -> InteractiveKind {
        match &self.action {
            InteractiveAction::ReplyButtons(_) => InteractiveKind::ReplyButtons,
            InteractiveAction::QuickReplies(_) => InteractiveKind::QuickReplies,
            InteractiveAction::OptionList(_) => InteractiveKind::OptionList,
            InteractiveAction::UrlButtons(_) => InteractiveKind::UrlButtons,
            InteractiveAction::Cards(_) => InteractiveKind::Cards,
        }
    }

    /// The header, body and footer, a blank line between them (what a page that draws the
    /// options itself shows as the text).
    pub fn text_with_header_and_footer(&self) -> String {
        [self.header.as_deref(), Some(self.body.as_str()), self.footer.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// Every option that comes back when picked, in the order the text rendering numbers them
    /// (list rows across sections, cards' reply buttons card by card).
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

    /// The same content with each option's id replaced (by position in [`Self::choices`]).
    pub fn with_ids(&self, mut id_of: impl FnMut(usize, &ChoiceOption) -> String) -> Self {
        let mut copy = self.clone();
        let mut position = 0;
        let mut rename = |option: &mut ChoiceOption| {
            option.id = id_of(position, option);
            position += 1;
        };
        match &mut copy.action {
            InteractiveAction::ReplyButtons(options) | InteractiveAction::QuickReplies(options) => options.iter_mut().for_each(&mut rename),
            InteractiveAction::OptionList(list) => list.sections.iter_mut().flat_map(|s| &mut s.rows).for_each(&mut rename),
            InteractiveAction::UrlButtons(_) => {}
            InteractiveAction::Cards(cards) => {
                for button in cards.iter_mut().flat_map(|card| &mut card.buttons) {
                    if let CardButton::Reply(option) = button {
                        rename(option);
                    }
                }
            }
        }
        copy
    }
}

/// What a plugin draws natively for one kind, with its provider's limits (0: no such part).
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct KindLimits {
    pub kind: InteractiveKind,
    pub max_choices: u32,
    pub max_title_chars: u32,
    pub max_description_chars: u32,
    pub max_body_chars: u32,
    pub max_header_chars: u32,
    pub max_footer_chars: u32,
    pub max_sections: u32,
    pub max_button_chars: u32,
    pub max_card_buttons: u32,
}

/// The kinds a plugin draws natively; every other kind goes as text.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct InteractiveSupport {
    pub kinds: Vec<KindLimits>,
    /// The longest option id the provider carries back (UTF-8 bytes); 0: no native kinds.
    pub max_id_bytes: u32,
}

impl InteractiveSupport {
    pub fn native(&self, kind: InteractiveKind) -> Option<&KindLimits> {
        self.kinds.iter().find(|limits| limits.kind == kind)
    }
}

/// The customer's pick, as a message's content keeps it (inbound).
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ChoiceContent {
    /// The option's id as the business gave it (a short id the host issued is mapped back).
    pub id: String,
    /// The option's title, as the customer saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Our message whose option was picked, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// The provider's id of that message, when the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<String>,
    /// `tap`: the provider reported the pick; `reply`: the customer wrote the option's number
    /// or title in answer to the text rendering.
    pub by: ChoiceSource,
}

#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceSource {
    Tap,
    Reply,
}
