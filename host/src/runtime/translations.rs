//! A plugin's texts in the pages' other languages (contract 0.1.4 `translations`), keyed by the
//! text as the plugin gives it (gettext's way). What is not translated shows as written.

use std::collections::HashMap;

use super::types::{Block, ChannelError, Field, FieldError, Guide, Inline, SetupItem};

/// The languages the pages are written in; the first, English, is what plugins write in.
pub const PAGE_LANGUAGES: &[&str] = &["en", "id"];

/// The languages the host asks plugins for: the pages' others.
pub const TRANSLATED_LANGUAGES: &[&str] = PAGE_LANGUAGES.split_at(1).1;

/// Texts kept per language, and the longest text kept (either side of a pair).
const MOST_TEXTS: usize = 4096;
const MAX_TEXT_BYTES: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Translations {
    by_language: HashMap<String, HashMap<String, String>>,
}

impl Translations {
    pub(super) fn add(&mut self, language: &str, texts: Vec<(String, String)>) {
        // An empty translation would blank a label: kept as written instead. Bounded, as a
        // guide is: kept for every page view.
        let texts = texts
            .into_iter()
            .filter(|(text, translated)| !translated.trim().is_empty() && text.len() <= MAX_TEXT_BYTES && translated.len() <= MAX_TEXT_BYTES)
            .take(MOST_TEXTS);
        self.by_language.entry(language.to_owned()).or_default().extend(texts);
    }

    /// `text` in `language`, or as written when the plugin did not translate it.
    pub fn text<'a>(&'a self, language: &str, text: &'a str) -> &'a str {
        self.by_language.get(language).and_then(|texts| texts.get(text)).map_or(text, String::as_str)
    }

    /// Whether the plugin gave `text` in `language`.
    pub fn has(&self, language: &str, text: &str) -> bool {
        self.by_language.get(language).is_some_and(|texts| texts.contains_key(text))
    }
}

/// The plugin's texts of a form, a guide, a setup list or an error in `language`: each text
/// the plugin translated, the rest as written. Keys, values and URLs never change.
impl Translations {
    pub fn field(&self, language: &str, field: &Field) -> Field {
        let mut field = field.clone();
        field.label = self.text(language, &field.label).to_owned();
        field.help = field.help.map(|help| self.text(language, &help).to_owned());
        for option in &mut field.options {
            option.label = self.text(language, &option.label).to_owned();
        }
        field
    }

    pub fn guide(&self, language: &str, guide: &Guide) -> Guide {
        let mut guide = guide.clone();
        let line = |inlines: &mut Vec<Inline>| {
            for inline in inlines {
                match inline {
                    Inline::Text(text) | Inline::Strong(text) => *text = self.text(language, text).to_owned(),
                    Inline::Code(_) => {}
                    Inline::Link(link) => link.label = self.text(language, &link.label).to_owned(),
                }
            }
        };
        for section in &mut guide.sections {
            section.title = self.text(language, &section.title).to_owned();
            for block in &mut section.blocks {
                match block {
                    Block::Paragraph(inlines) | Block::Note(inlines) => line(inlines),
                    Block::Steps(steps) => steps.iter_mut().for_each(line),
                }
            }
        }
        guide
    }

    pub fn setup_item(&self, language: &str, item: &SetupItem) -> SetupItem {
        SetupItem { label: self.text(language, &item.label).to_owned(), ..item.clone() }
    }

    pub fn field_error(&self, language: &str, error: &FieldError) -> FieldError {
        FieldError { message: self.text(language, &error.message).to_owned(), ..error.clone() }
    }

    /// A plugin's error with its message in `language` where the plugin translated it.
    pub fn error(&self, language: &str, error: &ChannelError) -> ChannelError {
        match error {
            ChannelError::InvalidSettings(fields) => ChannelError::InvalidSettings(fields.iter().map(|f| self.field_error(language, f)).collect()),
            ChannelError::Unauthorized(m) => ChannelError::Unauthorized(self.text(language, m).to_owned()),
            ChannelError::WindowClosed(m) => ChannelError::WindowClosed(self.text(language, m).to_owned()),
            ChannelError::Unsupported(m) => ChannelError::Unsupported(self.text(language, m).to_owned()),
            ChannelError::Provider(m) => ChannelError::Provider(self.text(language, m).to_owned()),
            ChannelError::Transient(m) => ChannelError::Transient(self.text(language, m).to_owned()),
            ChannelError::BadRequest(m) => ChannelError::BadRequest(self.text(language, m).to_owned()),
            ChannelError::RateLimited(after) => ChannelError::RateLimited(*after),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_oversized_translations_are_not_kept_and_the_rest_is() {
        let mut translations = Translations::default();
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        translations.add("id", vec![("Bot token".into(), "Token bot".into()), ("Help".into(), "  ".into()), (long.clone(), "y".into()), ("z".into(), long)]);
        assert_eq!(translations.text("id", "Bot token"), "Token bot");
        assert!(!translations.has("id", "Help"), "an empty translation would blank the text");
        assert_eq!(translations.text("id", "Help"), "Help");
        assert!(!translations.has("id", "z"));
        assert_eq!(translations.text("en", "Bot token"), "Bot token", "another language: as written");
    }
}
