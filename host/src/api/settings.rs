//! Channel settings against a plugin's schema: how fields are shown, and what is refused
//! before the plugin is asked ("field is required", kinds, unknown keys, read-only fields).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::runtime::types::{Field, FieldKind};
use crate::store::model::SettingValue;

pub const REQUIRED: &str = "field is required";
/// The longest name a person gives something here (a workspace, a channel, a person, a token).
pub const MAX_NAME: usize = 100;

/// What is wrong with a name as given (trimmed): missing, or not one line of at most
/// [`MAX_NAME`] characters (it is shown in lists, menus and the audit log).
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some(REQUIRED.to_owned())
    } else if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        Some(format!("must be one line of at most {MAX_NAME} characters"))
    } else {
        None
    }
}
/// What a secret looks like on read; sent back unchanged in a PATCH it means "keep".
pub const SECRET_MASK: &str = "********";

#[derive(utoipa::ToSchema, Serialize)]
pub struct FieldView {
    key: String,
    label: String,
    kind: &'static str,
    required: bool,
    secret: bool,
    immutable: bool,
    help: Option<String>,
    default: Option<String>,
    options: Vec<OptionView>,
    /// A special control to draw it with (`color`), when the plugin asks for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    widget: Option<&'static str>,
}

#[derive(utoipa::ToSchema, Serialize)]
struct OptionView {
    value: String,
    label: String,
}

pub fn field_view(field: &Field) -> FieldView {
    FieldView {
        key: field.key.clone(),
        label: field.label.clone(),
        kind: field.kind.name(),
        required: field.required,
        secret: is_secret(field),
        immutable: field.immutable,
        help: field.help.clone(),
        default: field.default_value.clone(),
        options: field.options.iter().map(|o| OptionView { value: o.value.clone(), label: o.label.clone() }).collect(),
        widget: None,
    }
}

impl FieldView {
    pub fn with_widget(self, widget: Option<&'static str>) -> Self {
        Self { widget, ..self }
    }
}

/// A field is treated as secret if it says so or is of the secret kind.
pub fn is_secret(field: &Field) -> bool {
    field.secret || field.kind == FieldKind::Secret
}

/// JSON values as setting strings (trimmed); `null` means absent. Errors per field.
pub fn from_json(input: &Map<String, Value>) -> Result<BTreeMap<String, Option<String>>, BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for (key, value) in input {
        let text = match value {
            Value::Null => None,
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Array(_) | Value::Object(_) => {
                errors.insert(key.clone(), "must be a single value (text, number or true/false)".into());
                continue;
            }
        };
        values.insert(key.clone(), text.filter(|t| !t.is_empty()));
    }
    if errors.is_empty() { Ok(values) } else { Err(errors) }
}

/// Problems with a complete set of settings, per field.
pub fn validate(schema: &[Field], settings: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    for key in settings.keys() {
        if !schema.iter().any(|f| &f.key == key) {
            errors.insert(key.clone(), "unknown setting for this channel".into());
        }
    }
    for field in schema {
        match settings.get(&field.key) {
            None if field.required => {
                errors.insert(field.key.clone(), REQUIRED.into());
            }
            None => {}
            Some(value) => {
                if let Err(problem) = check_kind(field, value) {
                    errors.insert(field.key.clone(), problem);
                }
            }
        }
    }
    errors
}

/// An absolute `http://` or `https://` URL with a host; the problem in words otherwise.
pub fn check_http_url(value: &str) -> Result<(), String> {
    let uri: axum::http::Uri = value.parse().map_err(|_| "must be a URL like https://example.com".to_string())?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(()),
        _ => Err("must be an http:// or https:// URL".into()),
    }
}

fn check_kind(field: &Field, value: &str) -> Result<(), String> {
    match field.kind {
        FieldKind::Url => check_http_url(value),
        FieldKind::Email => match value.split_once('@') {
            Some((local, domain)) if !local.is_empty() && domain.contains('.') && !value.contains(char::is_whitespace) => Ok(()),
            _ => Err("must be an email address like support@example.com".into()),
        },
        FieldKind::Number => value.parse::<f64>().map(|_| ()).map_err(|_| "must be a number".into()),
        FieldKind::Boolean => match value {
            "true" | "false" => Ok(()),
            _ => Err("must be true or false".into()),
        },
        FieldKind::Select => {
            if field.options.iter().any(|o| o.value == value) {
                Ok(())
            } else {
                let allowed: Vec<&str> = field.options.iter().map(|o| o.value.as_str()).collect();
                Err(format!("must be one of: {}", allowed.join(", ")))
            }
        }
        FieldKind::Text | FieldKind::Secret | FieldKind::Textarea => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::types::SelectOption;

    fn field(key: &str, kind: FieldKind, required: bool) -> Field {
        Field {
            key: key.into(),
            label: key.into(),
            kind,
            required,
            secret: false,
            immutable: false,
            help: None,
            default_value: None,
            options: vec![SelectOption { value: "tls".into(), label: "TLS".into() }],
        }
    }

    #[test]
    fn missing_unknown_and_malformed_fields_are_named() {
        let schema = [field("token", FieldKind::Secret, true), field("base", FieldKind::Url, false), field("mode", FieldKind::Select, false)];
        let settings = BTreeMap::from([
            ("base".to_string(), "ftp://x".to_string()),
            ("mode".to_string(), "plain".to_string()),
            ("extra".to_string(), "1".to_string()),
        ]);
        let errors = validate(&schema, &settings);
        assert_eq!(errors["token"], REQUIRED);
        assert!(errors["base"].contains("http"));
        assert_eq!(errors["mode"], "must be one of: tls");
        assert!(errors["extra"].contains("unknown"));
    }

    #[test]
    fn json_values_become_trimmed_strings() {
        let input = serde_json::json!({"a": " x ", "b": 5, "c": true, "d": null, "e": ""});
        let values = from_json(input.as_object().unwrap()).unwrap();
        assert_eq!(values["a"].as_deref(), Some("x"));
        assert_eq!(values["b"].as_deref(), Some("5"));
        assert_eq!(values["c"].as_deref(), Some("true"));
        assert_eq!(values["d"], None);
        assert_eq!(values["e"], None);
        assert!(from_json(serde_json::json!({"a": [1]}).as_object().unwrap()).is_err());
    }
}

/// Settings to store, each marked secret when its field is (or is unknown to the schema).
pub fn setting_values<'a>(schema: &[Field], values: &'a BTreeMap<String, String>) -> Vec<SettingValue<'a>> {
    values
        .iter()
        .map(|(key, value)| SettingValue {
            key,
            value,
            secret: schema.iter().find(|f| &f.key == key).is_none_or(is_secret),
        })
        .collect()
}
