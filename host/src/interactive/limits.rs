//! Checking interactive content before it is queued: the host's own bounds for every channel,
//! then the limits of the channel's plugin for the kind it draws natively, or the text
//! rendering's. Every problem is reported with its field (`interactive.reply_buttons[3].title`)
//! and the channel it is about, so an agent or a bot fixes all of them at once.

use std::collections::{BTreeMap, HashSet};

use super::model::{CardButton, ChoiceOption, InteractiveAction, InteractiveContent, InteractiveKind, KindLimits};

/// The longest option id the host keeps (a business's payload): Messenger's postback payload.
pub const MAX_ID_BYTES: usize = 1000;

/// What the text rendering takes, for kinds a plugin does not draw: the numbered options must
/// stay readable in a chat, and a mail client must not cut the message.
pub fn text_limits(kind: InteractiveKind) -> KindLimits {
    KindLimits {
        kind,
        max_choices: 20,
        max_title_chars: 100,
        max_description_chars: 200,
        max_body_chars: 4096,
        max_header_chars: 200,
        max_footer_chars: 200,
        max_sections: 10,
        max_button_chars: 100,
        max_card_buttons: 5,
    }
}

/// Field errors of content on a channel whose plugin supports `support` (empty when it fits):
/// its declared limits for a kind it draws, the text rendering's otherwise.
pub fn check_for(support: &super::model::InteractiveSupport, content: &InteractiveContent, channel: &str) -> BTreeMap<String, String> {
    let kind = content.kind();
    let limits = support.native(kind).cloned().unwrap_or_else(|| text_limits(kind));
    check(content, &limits, channel)
}

/// Field errors (empty when the content fits), by field path under `interactive.`.
pub fn check(content: &InteractiveContent, limits: &KindLimits, channel: &str) -> BTreeMap<String, String> {
    let mut check = Checker { errors: BTreeMap::new(), channel };
    check.text("body", Some(&content.body), limits.max_body_chars, true, "a body");
    check.text("header", content.header.as_deref(), limits.max_header_chars, false, "a header");
    check.text("footer", content.footer.as_deref(), limits.max_footer_chars, false, "a footer");
    let mut ids = HashSet::new();
    match &content.action {
        InteractiveAction::ReplyButtons(options) | InteractiveAction::QuickReplies(options) => {
            let name = content.kind().name();
            check.count(name, options.len(), limits.max_choices, "options");
            for (i, option) in options.iter().enumerate() {
                check.option(&format!("{name}[{i}]"), option, limits, &mut ids);
            }
        }
        InteractiveAction::OptionList(list) => {
            check.text("list.button", Some(&list.button), limits.max_button_chars, true, "a button label");
            check.count("list.sections", list.sections.len(), limits.max_sections, "sections");
            let rows: usize = list.sections.iter().map(|s| s.rows.len()).sum();
            check.count("list.rows", rows, limits.max_choices, "rows in all sections");
            for (s, section) in list.sections.iter().enumerate() {
                let path = format!("list.sections[{s}]");
                // Several sections need titles to tell them apart (WhatsApp refuses them without).
                let needed = list.sections.len() > 1;
                check.text(&format!("{path}.title"), section.title.as_deref(), limits.max_title_chars, needed, "a title");
                if section.rows.is_empty() {
                    check.error(format!("{path}.rows"), "needs at least one row".into());
                }
                for (r, row) in section.rows.iter().enumerate() {
                    check.option(&format!("{path}.rows[{r}]"), row, limits, &mut ids);
                }
            }
        }
        InteractiveAction::UrlButtons(buttons) => {
            check.count("url_buttons", buttons.len(), limits.max_choices, "URL buttons");
            for (i, button) in buttons.iter().enumerate() {
                check.text(&format!("url_buttons[{i}].title"), Some(&button.title), limits.max_title_chars, true, "a title");
                check.url(&format!("url_buttons[{i}].url"), &button.url, false);
            }
        }
        InteractiveAction::Cards(cards) => {
            check.count("cards", cards.len(), limits.max_choices, "cards");
            for (c, card) in cards.iter().enumerate() {
                let path = format!("cards[{c}]");
                check.text(&format!("{path}.title"), Some(&card.title), limits.max_title_chars, true, "a title");
                check.text(&format!("{path}.subtitle"), card.subtitle.as_deref(), limits.max_description_chars, false, "a subtitle");
                if let Some(image) = &card.image_url {
                    check.url(&format!("{path}.image_url"), image, true);
                }
                check.count(&format!("{path}.buttons"), card.buttons.len(), limits.max_card_buttons, "buttons");
                for (b, button) in card.buttons.iter().enumerate() {
                    let path = format!("{path}.buttons[{b}]");
                    match button {
                        CardButton::Reply(option) => {
                            check.text(&format!("{path}.title"), Some(&option.title), limits.max_button_chars, true, "a title");
                            check.id(&path, option, &mut ids);
                        }
                        CardButton::Url(url) => {
                            check.text(&format!("{path}.title"), Some(&url.title), limits.max_button_chars, true, "a title");
                            check.url(&format!("{path}.url"), &url.url, false);
                        }
                    }
                }
            }
        }
    }
    check.errors
}

struct Checker<'a> {
    errors: BTreeMap<String, String>,
    channel: &'a str,
}

impl Checker<'_> {
    fn error(&mut self, path: String, problem: String) {
        self.errors.entry(format!("interactive.{path}")).or_insert(problem);
    }

    /// A text part: required or not, and at most `max` characters (0: the channel has no such part).
    fn text(&mut self, path: &str, value: Option<&str>, max: u32, required: bool, what: &str) {
        let channel = self.channel;
        match value.map(str::trim) {
            None | Some("") if required => self.error(path.into(), format!("{what} is required")),
            None | Some("") => {}
            Some(_) if max == 0 => self.error(path.into(), format!("{channel} shows no {}", what.trim_start_matches("a "))),
            Some(text) if text.chars().count() > max as usize => {
                self.error(path.into(), format!("at most {max} characters on {channel} ({} given)", text.chars().count()))
            }
            Some(_) => {}
        }
    }

    fn count(&mut self, path: &str, count: usize, max: u32, what: &str) {
        if count == 0 {
            self.error(path.into(), format!("needs at least one of the {what}"));
        } else if count > max as usize {
            self.error(path.into(), format!("at most {max} {what} on {} ({count} given)", self.channel));
        }
    }

    fn option(&mut self, path: &str, option: &ChoiceOption, limits: &KindLimits, ids: &mut HashSet<String>) {
        self.text(&format!("{path}.title"), Some(&option.title), limits.max_title_chars, true, "a title");
        self.text(&format!("{path}.description"), option.description.as_deref(), limits.max_description_chars, false, "a description");
        self.id(path, option, ids);
    }

    /// Ids are what comes back: present, bounded, and telling the options apart.
    fn id(&mut self, path: &str, option: &ChoiceOption, ids: &mut HashSet<String>) {
        let id = &option.id;
        if id.trim().is_empty() {
            self.error(format!("{path}.id"), "an id is required: it is what comes back when the customer picks the option".into());
        } else if id.trim() != id {
            self.error(format!("{path}.id"), "must not start or end with spaces".into());
        } else if id.len() > MAX_ID_BYTES {
            self.error(format!("{path}.id"), format!("at most {MAX_ID_BYTES} bytes ({} given)", id.len()));
        } else if !ids.insert(id.clone()) {
            self.error(format!("{path}.id"), format!("`{id}` is the id of another option: ids must tell the options apart"));
        }
        let title = option.title.trim().to_lowercase();
        if !title.is_empty() && !ids.insert(format!("\u{0}title:{title}")) {
            self.error(format!("{path}.title"), "another option has this title: a customer could not tell them apart".into());
        }
    }

    fn url(&mut self, path: &str, url: &str, https_only: bool) {
        let scheme_ok = match reqwest::Url::parse(url) {
            Ok(parsed) => parsed.host_str().is_some() && (parsed.scheme() == "https" || (!https_only && parsed.scheme() == "http")),
            Err(_) => false,
        };
        if !scheme_ok {
            let wanted = if https_only { "an https URL" } else { "an http or https URL" };
            self.error(path.into(), format!("must be {wanted}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interactive::model::{ListSection, OptionList, UrlButton};

    fn option(id: &str, title: &str) -> ChoiceOption {
        ChoiceOption { id: id.into(), title: title.into(), description: None }
    }

    fn buttons(options: Vec<ChoiceOption>) -> InteractiveContent {
        InteractiveContent { header: None, body: "Pick one".into(), footer: None, action: InteractiveAction::ReplyButtons(options) }
    }

    fn whatsapp_buttons() -> KindLimits {
        KindLimits { kind: InteractiveKind::ReplyButtons, max_choices: 3, max_title_chars: 20, max_body_chars: 1024, max_header_chars: 60, max_footer_chars: 60, ..text_limits(InteractiveKind::ReplyButtons) }
    }

    #[test]
    fn every_problem_comes_back_with_its_field_and_channel() {
        let mut options = vec![option("a", "One"), option("b", "Two"), option("c", "Three")];
        options.push(option("d", "A title far longer than twenty"));
        let errors = check(&buttons(options), &whatsapp_buttons(), "WhatsApp");
        assert_eq!(errors["interactive.reply_buttons"], "at most 3 options on WhatsApp (4 given)");
        assert_eq!(errors["interactive.reply_buttons[3].title"], "at most 20 characters on WhatsApp (30 given)");
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn ids_must_be_present_distinct_and_bounded() {
        let long = "x".repeat(MAX_ID_BYTES + 1);
        let errors = check(&buttons(vec![option("a", "One"), option("a", "Two"), option(" ", "Three")]), &text_limits(InteractiveKind::ReplyButtons), "Email");
        assert!(errors["interactive.reply_buttons[1].id"].contains("another option"), "{errors:?}");
        assert!(errors["interactive.reply_buttons[2].id"].contains("required"), "{errors:?}");
        let errors = check(&buttons(vec![option(&long, "One")]), &text_limits(InteractiveKind::ReplyButtons), "Email");
        assert!(errors["interactive.reply_buttons[0].id"].starts_with("at most 1000 bytes"), "{errors:?}");
        let errors = check(&buttons(vec![option("a", "Same"), option("b", "same")]), &text_limits(InteractiveKind::ReplyButtons), "Email");
        assert!(errors["interactive.reply_buttons[1].title"].contains("could not tell"), "{errors:?}");
    }

    #[test]
    fn a_list_counts_rows_over_sections_and_needs_section_titles_when_several() {
        let list = OptionList {
            button: "Shipping options".into(),
            sections: vec![
                ListSection { title: None, rows: vec![option("a", "Express"), option("b", "Priority")] },
                ListSection { title: Some("I can wait".into()), rows: vec![] },
            ],
        };
        let content = InteractiveContent { header: None, body: "How?".into(), footer: Some("Shop".into()), action: InteractiveAction::OptionList(list) };
        let limits = KindLimits { max_choices: 1, max_button_chars: 20, max_footer_chars: 0, ..text_limits(InteractiveKind::OptionList) };
        let errors = check(&content, &limits, "WhatsApp");
        assert_eq!(errors["interactive.list.rows"], "at most 1 rows in all sections on WhatsApp (2 given)");
        assert_eq!(errors["interactive.list.sections[0].title"], "a title is required");
        assert_eq!(errors["interactive.list.sections[1].rows"], "needs at least one row");
        assert_eq!(errors["interactive.footer"], "WhatsApp shows no footer");
    }

    #[test]
    fn urls_must_be_web_links() {
        let content = InteractiveContent {
            header: None,
            body: "See".into(),
            footer: None,
            action: InteractiveAction::UrlButtons(vec![UrlButton { title: "Open".into(), url: "javascript:alert(1)".into() }]),
        };
        assert_eq!(check(&content, &text_limits(InteractiveKind::ReplyButtons), "X")["interactive.url_buttons[0].url"], "must be an http or https URL");
    }
}
