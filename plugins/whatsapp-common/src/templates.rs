//! Message templates (HSM): WhatsApp's rules for a new template, checked before the provider
//! is asked, and provider refusals put on the field they are about.

use switchboard_sdk::serde_json::{Value, json};
use switchboard_sdk::{
    ButtonParameter, ButtonValue, ChannelError, FieldError, NewButtonTemplate, NewTemplate, TemplateButton, TemplatePhoneButton, TemplateUrlButton,
};

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

/// At most 10 buttons in all: 10 quick replies, 2 URL buttons, 1 phone number (Cloud API).
const MAX_BUTTONS: usize = 10;
const MAX_URL_BUTTONS: usize = 2;
const MAX_PHONE_BUTTONS: usize = 1;
const MAX_BUTTON_TEXT_CHARS: usize = 25;
const MAX_URL_CHARS: usize = 2000;
const MAX_PHONE_CHARS: usize = 20;
/// The one variable a URL button may have, at its end.
const URL_VARIABLE: &str = "{{1}}";

/// The template and its buttons checked against WhatsApp's rules, every problem by field
/// (`buttons[2].text`); the buttons' texts trimmed.
pub fn validate_with_buttons(template: &NewButtonTemplate) -> Result<NewButtonTemplate, ChannelError> {
    let checked = validate(&template.template);
    let mut errors = match &checked {
        Err(ChannelError::InvalidSettings(errors)) => errors.clone(),
        _ => Vec::new(),
    };
    errors.extend(button_problems(&template.buttons));
    match checked {
        Ok(checked) if errors.is_empty() => Ok(NewButtonTemplate { template: checked, buttons: trimmed(&template.buttons) }),
        Err(error) if errors.is_empty() => Err(error),
        _ => Err(ChannelError::InvalidSettings(errors)),
    }
}

fn trimmed(buttons: &[TemplateButton]) -> Vec<TemplateButton> {
    buttons
        .iter()
        .map(|button| match button {
            TemplateButton::QuickReply(text) => TemplateButton::QuickReply(text.trim().into()),
            TemplateButton::Url(b) => TemplateButton::Url(TemplateUrlButton { text: b.text.trim().into(), url: b.url.trim().into(), example: b.example.clone() }),
            TemplateButton::PhoneNumber(b) => {
                TemplateButton::PhoneNumber(TemplatePhoneButton { text: b.text.trim().into(), phone_number: b.phone_number.trim().into() })
            }
        })
        .collect()
}

fn button_problems(buttons: &[TemplateButton]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut problem = |key: String, message: String| errors.push(FieldError { key, message });
    let count = |wanted: fn(&TemplateButton) -> bool| buttons.iter().filter(|b| wanted(b)).count();
    if buttons.len() > MAX_BUTTONS {
        problem("buttons".into(), format!("at most {MAX_BUTTONS} buttons on WhatsApp"));
    }
    if count(|b| matches!(b, TemplateButton::Url(_))) > MAX_URL_BUTTONS {
        problem("buttons".into(), format!("at most {MAX_URL_BUTTONS} URL buttons on WhatsApp"));
    }
    if count(|b| matches!(b, TemplateButton::PhoneNumber(_))) > MAX_PHONE_BUTTONS {
        problem("buttons".into(), format!("at most {MAX_PHONE_BUTTONS} phone-number button on WhatsApp"));
    }
    // Quick replies form one group, before or after the other buttons (`QR, URL, QR` is refused).
    let kinds: Vec<bool> = buttons.iter().map(|b| matches!(b, TemplateButton::QuickReply(_))).collect();
    if kinds.windows(2).filter(|pair| pair[0] != pair[1]).count() > 1 {
        problem("buttons".into(), "quick replies must come together, before or after the other buttons".into());
    }
    for (i, button) in buttons.iter().enumerate() {
        let key = |field: &str| format!("buttons[{i}].{field}");
        let text = match button {
            TemplateButton::QuickReply(text) => text,
            TemplateButton::Url(b) => &b.text,
            TemplateButton::PhoneNumber(b) => &b.text,
        };
        let length = text.trim().chars().count();
        if length == 0 {
            problem(key("text"), "field is required".into());
        } else if length > MAX_BUTTON_TEXT_CHARS {
            problem(key("text"), format!("at most {MAX_BUTTON_TEXT_CHARS} characters on WhatsApp"));
        }
        match button {
            TemplateButton::QuickReply(_) => {}
            TemplateButton::Url(b) => {
                let url = b.url.trim();
                let variables = url.matches("{{").count();
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    problem(key("url"), "must start with https:// or http://".into());
                } else if url.chars().count() > MAX_URL_CHARS {
                    problem(key("url"), format!("at most {MAX_URL_CHARS} characters on WhatsApp"));
                } else if variables > 1 || (variables == 1 && !url.ends_with(URL_VARIABLE)) {
                    problem(key("url"), format!("at most one variable, {URL_VARIABLE}, at the end"));
                } else if variables == 1 && b.example.as_deref().is_none_or(|e| e.trim().is_empty()) {
                    problem(key("example"), format!("give an example of what {URL_VARIABLE} becomes, for WhatsApp's review"));
                }
            }
            TemplateButton::PhoneNumber(b) => {
                let number = b.phone_number.trim();
                let digits = number.strip_prefix('+').unwrap_or(number);
                if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || number.chars().count() > MAX_PHONE_CHARS {
                    problem(key("phone_number"), format!("digits only with the country code, at most {MAX_PHONE_CHARS} characters"));
                }
            }
        }
    }
    errors
}

/// The template's `BUTTONS` component as the template API takes it (none without buttons).
pub fn buttons_component(buttons: &[TemplateButton]) -> Option<Value> {
    if buttons.is_empty() {
        return None;
    }
    let listed: Vec<Value> = buttons
        .iter()
        .map(|button| match button {
            TemplateButton::QuickReply(text) => json!({"type": "QUICK_REPLY", "text": text}),
            TemplateButton::Url(b) => {
                let mut object = json!({"type": "URL", "text": b.text, "url": b.url});
                if let Some(example) = b.example.as_ref().filter(|_| b.url.ends_with(URL_VARIABLE)) {
                    object["example"] = json!([example]);
                }
                object
            }
            TemplateButton::PhoneNumber(b) => json!({"type": "PHONE_NUMBER", "text": b.text, "phone_number": b.phone_number}),
        })
        .collect();
    Some(json!({"type": "BUTTONS", "buttons": listed}))
}

/// The buttons of a template's `BUTTONS` component as the template API lists them; kinds the
/// contract has no case for (`COPY_CODE`, `OTP`, flows) are left out.
pub fn buttons_of(component: &Value) -> Vec<TemplateButton> {
    let Some(listed) = component["buttons"].as_array() else { return Vec::new() };
    let text = |b: &Value| b["text"].as_str().unwrap_or_default().to_owned();
    listed
        .iter()
        .filter_map(|b| match b["type"].as_str()? {
            "QUICK_REPLY" => Some(TemplateButton::QuickReply(text(b))),
            "URL" => Some(TemplateButton::Url(TemplateUrlButton {
                text: text(b),
                url: b["url"].as_str().unwrap_or_default().to_owned(),
                example: b["example"][0].as_str().map(str::to_owned),
            })),
            "PHONE_NUMBER" => Some(TemplateButton::PhoneNumber(TemplatePhoneButton {
                text: text(b),
                phone_number: b["phone_number"].as_str().unwrap_or_default().to_owned(),
            })),
            _ => None,
        })
        .collect()
}

/// One send's button values as the message's `button` components (`index` a string, as in
/// Meta's examples; a URL suffix percent-encoded, as the template URL is completed with it).
pub fn button_components(buttons: &[ButtonParameter]) -> Vec<Value> {
    buttons
        .iter()
        .map(|b| match &b.value {
            ButtonValue::Payload(payload) => json!({"type": "button", "sub_type": "quick_reply", "index": b.index.to_string(), "parameters": [{"type": "payload", "payload": payload}]}),
            ButtonValue::UrlSuffix(suffix) => json!({"type": "button", "sub_type": "url", "index": b.index.to_string(), "parameters": [{"type": "text", "text": percent_encoded(suffix)}]}),
        })
        .collect()
}

/// RFC 3986's unreserved characters stay; every other byte is `%XX`.
const URL_SUFFIX: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn percent_encoded(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, URL_SUFFIX).to_string()
}
