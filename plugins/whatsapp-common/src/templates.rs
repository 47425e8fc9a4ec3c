//! Message templates (HSM): WhatsApp's rules for a new template, checked before the provider
//! is asked, and provider refusals put on the field they are about.

use switchboard_sdk::{ChannelError, FieldError, NewTemplate};

pub const CATEGORIES: &[&str] = &["UTILITY", "MARKETING", "AUTHENTICATION"];
const MAX_NAME_CHARS: usize = 512;
const MAX_BODY_CHARS: usize = 1024;

/// The template with its category in capitals and the rest trimmed, or every problem by field.
pub fn validate(template: &NewTemplate) -> Result<NewTemplate, ChannelError> {
    let name = template.name.trim();
    let language = template.language.trim();
    let category = template.category.trim().to_ascii_uppercase();
    let body = template.body.trim();
    let mut errors = Vec::new();
    let mut problem = |key: &str, message: String| errors.push(FieldError { key: key.into(), message });
    if name.is_empty() {
        problem("name", "field is required".into());
    } else if name.chars().count() > MAX_NAME_CHARS || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        problem("name", format!("use lowercase letters, digits and _ only (at most {MAX_NAME_CHARS}), e.g. order_update"));
    }
    if language.is_empty() {
        problem("language", "field is required".into());
    } else if !language.chars().all(|c| c.is_ascii_alphabetic() || c == '_') {
        problem("language", "must be a WhatsApp language code, e.g. id, en_US".into());
    }
    if category.is_empty() {
        problem("category", "field is required".into());
    } else if !CATEGORIES.contains(&category.as_str()) {
        problem("category", format!("must be one of: {}", CATEGORIES.join(", ")));
    }
    if body.is_empty() {
        problem("body", "field is required".into());
    } else if body.chars().count() > MAX_BODY_CHARS {
        problem("body", format!("must be at most {MAX_BODY_CHARS} characters"));
    } else if let Err(message) = placeholders(body) {
        problem("body", message);
    }
    if !errors.is_empty() {
        return Err(ChannelError::InvalidSettings(errors));
    }
    Ok(NewTemplate { name: name.into(), language: language.into(), category, body: body.into() })
}

/// How many parameters a body takes: `{{1}}` … `{{n}}`, each at least once, none skipped.
pub fn placeholders(body: &str) -> Result<usize, String> {
    let mut numbers = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("a {{ is not closed with }}")?;
        let number = after[..end].trim().parse::<usize>().ok().filter(|n| *n > 0);
        numbers.push(number.ok_or_else(|| format!("variables are numbered {{{{1}}}}, {{{{2}}}}, …; `{{{{{}}}}}` is not", &after[..end]))?);
        rest = &after[end + 2..];
    }
    let count = numbers.iter().copied().max().unwrap_or(0);
    match (1..=count).find(|n| !numbers.contains(n)) {
        Some(missing) => Err(format!("variables must run from {{{{1}}}} without gaps; {{{{{missing}}}}} is missing")),
        None => Ok(count),
    }
}

/// A provider's refusal of a new template, on the field it is about (the body when it does not say).
pub fn rejection(reason: String) -> ChannelError {
    let lower = reason.to_ascii_lowercase();
    let key = if lower.contains("already exists") || lower.contains("name") {
        "name"
    } else if lower.contains("category") {
        "category"
    } else if lower.contains("language") {
        "language"
    } else {
        "body"
    };
    ChannelError::InvalidSettings(vec![FieldError { key: key.into(), message: reason }])
}
