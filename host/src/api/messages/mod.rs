//! The host's own error messages in the reader's language (`Accept-Language`): the error code
//! and the fields' keys stay as they are, the `message` and each field's problem are shown in
//! Bahasa Indonesia where this catalogue has them (`id.json`, a file a translator edits; `{0}`,
//! `{1}` … stand for the parts a message fills in). A plugin's own texts are translated by the
//! plugin (`runtime::Translations`), before they reach here; anything else stays as written.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::response::Response;

use super::language::from_accept_language;

/// What an error answer said, kept beside its body so it can be said again in another language.
#[derive(Clone)]
pub(super) struct ErrorWords {
    pub error: &'static str,
    pub message: String,
    pub fields: BTreeMap<String, String>,
}

/// One language's messages: a message is either a catalogue entry as is, or an entry with
/// `{n}` parts whose literal pieces it contains in order.
struct Catalogue {
    entries: Vec<(Vec<String>, String)>,
}

static INDONESIAN: LazyLock<Catalogue> = LazyLock::new(|| Catalogue::parse(include_str!("id.json")));

impl Catalogue {
    fn parse(json: &str) -> Self {
        let entries: BTreeMap<String, String> = serde_json::from_str(json).expect("the host's message catalogue is a JSON object of strings");
        let mut entries: Vec<(Vec<String>, String)> = entries.into_iter().map(|(english, translated)| (pieces(&english), translated)).collect();
        // Entries with more literal text first: the most specific template wins.
        entries.sort_by_key(|(pieces, _)| std::cmp::Reverse(pieces.iter().map(String::len).sum::<usize>()));
        Self { entries }
    }

    fn translate(&self, message: &str) -> Option<String> {
        self.entries.iter().find_map(|(pieces, translated)| {
            let parts = fill(pieces, message)?;
            Some(parts.iter().enumerate().fold(translated.clone(), |text, (i, part)| text.replace(&format!("{{{i}}}"), part)))
        })
    }
}

/// `"must be one of {0}, not `{1}`"` → `["must be one of ", ", not `", "`"]`.
fn pieces(template: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        match rest[start..].find('}').filter(|end| rest[start + 1..start + end].chars().all(|c| c.is_ascii_digit()) && *end > 1) {
            Some(end) => {
                pieces.last_mut().unwrap().push_str(&rest[..start]);
                pieces.push(String::new());
                rest = &rest[start + end + 1..];
            }
            None => {
                pieces.last_mut().unwrap().push_str(&rest[..=start]);
                rest = &rest[start + 1..];
            }
        }
    }
    pieces.last_mut().unwrap().push_str(rest);
    pieces
}

/// The parts of `message` between a template's pieces, if it has that shape.
fn fill(pieces: &[String], message: &str) -> Option<Vec<String>> {
    let (first, rest) = pieces.split_first()?;
    let mut remaining = message.strip_prefix(first.as_str())?;
    if rest.is_empty() {
        return remaining.is_empty().then(Vec::new);
    }
    let mut parts = Vec::new();
    for (i, piece) in rest.iter().enumerate() {
        let last = i == rest.len() - 1;
        let at = if last {
            if piece.is_empty() { Some(remaining.len()) } else { remaining.strip_suffix(piece.as_str()).map(str::len) }
        } else {
            remaining.find(piece.as_str())
        }?;
        parts.push(remaining[..at].to_owned());
        remaining = &remaining[at + piece.len()..];
    }
    Some(parts)
}

fn in_language(language: &str, text: &str) -> String {
    match language {
        "id" => INDONESIAN.translate(text).unwrap_or_else(|| text.to_owned()),
        _ => text.to_owned(),
    }
}

/// The language the request's reader asked for (`Accept-Language`).
pub(super) fn reader_language(request: &Request) -> &'static str {
    from_accept_language(request.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// An error answer (`ApiError`) told again in `language` (the reader's).
pub(super) fn told_in(language: &str, mut response: Response) -> Response {
    if language == crate::runtime::PAGE_LANGUAGES[0] {
        return response;
    }
    let Some(words) = response.extensions_mut().remove::<ErrorWords>() else { return response };
    let fields: BTreeMap<String, String> = words.fields.iter().map(|(key, problem)| (key.clone(), in_language(language, problem))).collect();
    let mut body = serde_json::json!({"error": words.error, "message": in_language(language, &words.message)});
    if !fields.is_empty() {
        body["fields"] = serde_json::json!(fields);
    }
    response.headers_mut().remove(header::CONTENT_LENGTH);
    *response.body_mut() = Body::from(body.to_string());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_as_is_and_with_their_parts_filled_in() {
        assert_eq!(in_language("id", "field is required"), "wajib diisi");
        assert_eq!(in_language("id", "must be one of: tls, starttls"), "harus salah satu dari: tls, starttls");
        assert_eq!(in_language("id", "must be one of en, id, not `fr`"), "harus salah satu dari en, id, bukan `fr`");
        assert_eq!(in_language("id", "some fields are invalid: email, name"), "beberapa kolom tidak valid: email, name");
        assert_eq!(in_language("id", "something nobody translated"), "something nobody translated");
        assert_eq!(in_language("en", "field is required"), "field is required");
        assert_eq!(in_language("id", "field is required, really"), "field is required, really", "a whole message, not a prefix");
    }

    #[test]
    fn every_entry_fills_in_all_its_parts_and_is_not_taken_by_another() {
        let catalogue: BTreeMap<String, String> = serde_json::from_str(include_str!("id.json")).unwrap();
        for (english, translated) in &catalogue {
            let parts = pieces(english).len() - 1;
            for i in 0..parts {
                assert!(translated.contains(&format!("{{{i}}}")), "`{english}`: the translation `{translated}` leaves out {{{i}}}");
            }
            assert!(!translated.contains(&format!("{{{parts}}}")), "`{english}`: the translation `{translated}` has a part the English has not");
            // The template filled in with sample parts is said with its own translation, not a
            // more specific entry's.
            let sample = (0..parts).fold(english.clone(), |text, i| text.replacen(&format!("{{{i}}}"), &format!("‹{i}›"), 1));
            let expected = (0..parts).fold(translated.clone(), |text, i| text.replace(&format!("{{{i}}}"), &format!("‹{i}›")));
            assert_eq!(INDONESIAN.translate(&sample).as_deref(), Some(expected.as_str()), "`{english}` is matched by another entry");
        }
    }

    /// Messages the API writes as plain literals that are left in English on purpose, and why.
    /// None today. (Left in English, but not plain literals so not scanned: templates that are a
    /// bare part or start with one and little text after it, which would take other messages —
    /// the plugins' and the egress checks' `"{0}"`, `plugin `{0}`: {1}` (a plugin's own words,
    /// translated by the plugin), `{0} is required` (its known `a body`, `a title`, … are
    /// entries); and the provider-login callback page, HTML rather than an error answer.)
    const LEFT_IN_ENGLISH: &[(&str, &str)] = &[];

    /// `ApiError` constructors (and `Self::` in error.rs) and how many arguments come before the message.
    const CONSTRUCTORS: &[(&str, usize)] = &[
        ("bad_request(", 0),
        ("forbidden(", 0),
        ("not_found(", 0),
        ("unauthorized(", 0),
        ("unprocessable(", 1),
        ("unavailable(", 1),
        ("bad_gateway(", 1),
        ("new(", 2),
    ];

    /// The plain string literals passed as the message to an `ApiError` constructor in `source`
    /// (not `format!`, not a variable).
    fn literal_messages(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        for owner in ["ApiError::", "Self::"] {
            for (name, before) in CONSTRUCTORS {
                let call = format!("{owner}{name}");
                let mut from = 0;
                while let Some(at) = source[from..].find(&call) {
                    let start = from + at + call.len();
                    from = start;
                    if let Some(literal) = message_argument(&source[start..], *before) {
                        found.push(literal);
                    }
                }
            }
        }
        found
    }

    /// After `(`: skip `before` arguments, then the message if it is one plain literal.
    fn message_argument(rest: &str, before: usize) -> Option<String> {
        let mut chars = rest.char_indices().peekable();
        let mut skipped = 0;
        let mut depth = 0usize;
        while skipped < before {
            let (_, c) = chars.next()?;
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => return None,
                ')' | ']' | '}' => depth -= 1,
                '"' => {
                    while let Some((_, c)) = chars.next() {
                        match c {
                            '\\' => {
                                chars.next();
                            }
                            '"' => break,
                            _ => {}
                        }
                    }
                }
                ',' if depth == 0 => skipped += 1,
                _ => {}
            }
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        chars.next_if(|(_, c)| *c == '"')?;
        let mut literal = String::new();
        loop {
            let (_, c) = chars.next()?;
            match c {
                '"' => break,
                '\\' => match chars.next()?.1 {
                    'n' => literal.push('\n'),
                    't' => literal.push('\t'),
                    '0' => literal.push('\0'),
                    '\n' => {
                        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
                    }
                    other => literal.push(other),
                },
                c => literal.push(c),
            }
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        // A literal that is the whole message, not the start of an expression.
        matches!(chars.next()?.1, ')' | ',').then_some(literal)
    }

    fn api_sources(dir: &std::path::Path, sources: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("messages") {
                    api_sources(&path, sources);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                // The code, not its tests.
                let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_owned();
                sources.push((path.display().to_string(), code));
            }
        }
    }

    #[test]
    fn every_literal_message_of_the_api_is_translated() {
        let mut sources = Vec::new();
        api_sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api"), &mut sources);
        assert!(sources.len() > 10, "the api sources are read");
        let mut seen = 0;
        let mut untranslated = Vec::new();
        for (path, source) in &sources {
            for message in literal_messages(source) {
                seen += 1;
                if INDONESIAN.translate(&message).is_none() && !LEFT_IN_ENGLISH.iter().any(|(left, _)| *left == message) {
                    untranslated.push(format!("{path}: {message:?}"));
                }
            }
        }
        assert!(seen > 20, "the scan finds the literal messages ({seen})");
        assert!(untranslated.is_empty(), "add these to messages/id.json (or to LEFT_IN_ENGLISH, saying why):\n{}", untranslated.join("\n"));
    }
}
