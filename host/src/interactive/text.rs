//! The text rendering of interactive content, for channels that do not draw a kind (every kind,
//! for plugins built before contract 0.1.4): the header, the body, the options numbered, URLs
//! written out, the footer. And the way back: a customer's reply that names an option, by its
//! number or its title, is that option.
//!
//! No instruction line ("reply with a number") is added: it would be in one language, and the
//! numbered options read as a question in any.

use super::model::{CardButton, InteractiveAction, InteractiveContent};

/// The message as plain text.
pub fn render(content: &InteractiveContent) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(header) = content.header.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
        parts.push(header.to_owned());
    }
    parts.push(content.body.trim().to_owned());
    let mut number = 0;
    let mut numbered = |title: &str, description: Option<&str>| {
        number += 1;
        match description.map(str::trim).filter(|d| !d.is_empty()) {
            Some(description) => format!("{number}. {} – {description}", title.trim()),
            None => format!("{number}. {}", title.trim()),
        }
    };
    let options = match &content.action {
        InteractiveAction::ReplyButtons(options) | InteractiveAction::QuickReplies(options) => {
            options.iter().map(|o| numbered(&o.title, o.description.as_deref())).collect::<Vec<_>>().join("\n")
        }
        InteractiveAction::OptionList(list) => list
            .sections
            .iter()
            .map(|section| {
                let rows = section.rows.iter().map(|row| numbered(&row.title, row.description.as_deref()));
                section.title.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).into_iter().chain(rows).collect::<Vec<_>>().join("\n")
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
        InteractiveAction::UrlButtons(buttons) => buttons.iter().map(|b| format!("{}: {}", b.title.trim(), b.url)).collect::<Vec<_>>().join("\n"),
        InteractiveAction::Cards(cards) => cards
            .iter()
            .map(|card| {
                let mut lines = vec![card.title.trim().to_owned()];
                lines.extend(card.subtitle.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned));
                lines.extend(card.image_url.clone());
                for button in &card.buttons {
                    lines.push(match button {
                        CardButton::Reply(option) => numbered(&option.title, None),
                        CardButton::Url(url) => format!("{}: {}", url.title.trim(), url.url),
                    });
                }
                lines.join("\n")
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
    };
    parts.push(options);
    if let Some(footer) = content.footer.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        parts.push(footer.to_owned());
    }
    parts.join("\n\n")
}

/// The option (its position in [`InteractiveContent::choices`]) a reply names: its first line
/// (a mail's answer sits above the quoted question) is the option's number as the rendering
/// shows it ("2", "2.", "(2)"), or its title, ignoring case and surrounding spaces. Anything
/// else, or a title two options share, names none.
pub fn named_option(content: &InteractiveContent, reply: &str) -> Option<usize> {
    let choices = content.choices();
    let reply = first_line(reply)?;
    let bare = reply.trim_start_matches(['(', '#']).trim_end_matches(['.', ')']).trim();
    if let Ok(number) = bare.parse::<usize>() {
        return (1..=choices.len()).contains(&number).then(|| number - 1);
    }
    let wanted = reply.to_lowercase();
    let mut matching = choices.iter().enumerate().filter(|(_, option)| option.title.trim().to_lowercase() == wanted);
    match (matching.next(), matching.next()) {
        (Some((position, _)), None) => Some(position),
        _ => None,
    }
}

/// The first line with something on it, trimmed: where a reply names an option.
pub fn first_line(reply: &str) -> Option<&str> {
    reply.lines().map(str::trim).find(|line| !line.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interactive::model::{Card, ChoiceOption, ListSection, OptionList, UrlButton};

    fn option(id: &str, title: &str, description: Option<&str>) -> ChoiceOption {
        ChoiceOption { id: id.into(), title: title.into(), description: description.map(Into::into) }
    }

    #[test]
    fn buttons_are_numbered_between_body_and_footer() {
        let content = InteractiveContent {
            header: Some("Workshop".into()),
            body: "Your workshop is at 9am tomorrow. Need to change it?".into(),
            footer: Some("Lucky Shrub".into()),
            action: InteractiveAction::ReplyButtons(vec![option("change", "Change", None), option("cancel", "Cancel", None)]),
        };
        assert_eq!(render(&content), "Workshop\n\nYour workshop is at 9am tomorrow. Need to change it?\n\n1. Change\n2. Cancel\n\nLucky Shrub");
    }

    #[test]
    fn lists_number_rows_across_sections_and_cards_write_urls_out() {
        let list = InteractiveContent {
            header: None,
            body: "Which shipping?".into(),
            footer: None,
            action: InteractiveAction::OptionList(OptionList {
                button: "Options".into(),
                sections: vec![
                    ListSection { title: Some("ASAP".into()), rows: vec![option("x", "Express", Some("Next day"))] },
                    ListSection { title: Some("Later".into()), rows: vec![option("m", "Media Mail", None)] },
                ],
            }),
        };
        assert_eq!(render(&list), "Which shipping?\n\nASAP\n1. Express – Next day\n\nLater\n2. Media Mail");
        let cards = InteractiveContent {
            header: None,
            body: "Hats".into(),
            footer: None,
            action: InteractiveAction::Cards(vec![Card {
                title: "Red hat".into(),
                subtitle: Some("Warm".into()),
                image_url: Some("https://example.com/hat.png".into()),
                buttons: vec![
                    CardButton::Reply(option("buy-red", "Buy", None)),
                    CardButton::Url(UrlButton { title: "Details".into(), url: "https://example.com/red".into() }),
                ],
            }]),
        };
        assert_eq!(render(&cards), "Hats\n\nRed hat\nWarm\nhttps://example.com/hat.png\n1. Buy\nDetails: https://example.com/red");
    }

    #[test]
    fn a_reply_names_an_option_by_number_or_title() {
        let content = InteractiveContent {
            header: None,
            body: "?".into(),
            footer: None,
            action: InteractiveAction::QuickReplies(vec![option("y", "Yes", None), option("n", "No", None)]),
        };
        assert_eq!(named_option(&content, "2"), Some(1));
        assert_eq!(named_option(&content, " 1. "), Some(0));
        assert_eq!(named_option(&content, "(2)"), Some(1));
        assert_eq!(named_option(&content, "yes"), Some(0));
        assert_eq!(named_option(&content, "3"), None);
        assert_eq!(named_option(&content, "0"), None);
        assert_eq!(named_option(&content, "yes please"), None);
        assert_eq!(named_option(&content, "2\n\nOn Tue, Toko Budi wrote:\n> 1. Yes\n> 2. No"), Some(1), "a mail's answer above the quote");
    }
}
