//! What a call gave: the plugin's answer and everything it did.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The plugin's answer, as the host classifies it.
///
/// A refusal is the plugin's `ChannelError` as JSON, `{"Variant": value}`, each variant spelled
/// as the SDK's `ChannelError` spells it (`Unauthorized`, `RateLimited`, `BadRequest`,
/// `InvalidSettings`, …), not as the WIT does (`unauthorized`, `rate-limited`):
///
/// ```
/// use serde_json::json;
/// use switchboard_testkit::{Answer, Outcome};
///
/// // What a call gives when the plugin answers `Err(ChannelError::RateLimited(Some(30)))`.
/// let outcome = Outcome { answer: Answer::Refused(json!({"RateLimited": 30})), requests: vec![], mail: vec![], logs: vec![], state: Default::default() };
/// assert_eq!(outcome.refused(), &json!({"RateLimited": 30}));
/// assert!(matches!(&outcome.answer, Answer::Refused(error) if error.get("RateLimited").is_some()));
///
/// // `Err(ChannelError::Unauthorized("missing or wrong x-signature".into()))`; `RateLimited(None)` is `{"RateLimited": null}`.
/// let forged = Answer::Refused(json!({"Unauthorized": "missing or wrong x-signature"}));
/// assert!(matches!(&forged, Answer::Refused(error) if error["Unauthorized"] == "missing or wrong x-signature"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The export's value.
    Ok(Value),
    /// A typed `channel-error`, spelled as the SDK's `ChannelError` variants are:
    /// `{"Unauthorized": "…"}`, `{"RateLimited": 5}` (or `null`), `{"BadRequest": "…"}`.
    Refused(Value),
    /// The host stopped the call, in the host's words ("the plugin exceeded its time limit of …",
    /// "… memory …", a trap).
    Failed(String),
}

/// One request the plugin made.
#[derive(Debug, Clone, Deserialize)]
pub struct SentRequest {
    /// The method, upper case.
    pub method: String,
    /// The whole URL, query included.
    pub url: String,
    /// Header names lower case; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The body as text (`None` when not UTF-8: see `body_base64`).
    pub body: Option<String>,
    /// The body in base64 when it is not UTF-8.
    pub body_base64: Option<String>,
    /// The index of the rule that answered (in the order added), `None` when none matched.
    pub rule: Option<usize>,
}

impl SentRequest {
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        self.body.as_deref().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// One message sent through the `smtp` import.
#[derive(Debug, Clone, Deserialize)]
pub struct SentMail {
    /// `host:port`.
    pub server: String,
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The raw message, when UTF-8.
    pub message: Option<String>,
    /// Whether the server accepted it.
    pub accepted: bool,
}

/// One line the plugin logged.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct LogLine {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The text.
    pub message: String,
}

/// Who a choice came from (the contract's `contact-profile`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Contact {
    /// The provider's id of the customer.
    pub id: String,
    /// Their name, when the provider gives it.
    pub name: Option<String>,
    /// Their handle (a phone number, a user name), when the provider gives it.
    pub handle: Option<String>,
}

/// A customer's choice a webhook call reported (`InboundEvent::Choice`): a button, quick reply
/// or list row tapped.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Choice {
    /// The option's id, exactly as the provider returned it.
    pub id: String,
    /// The title the customer saw, when the provider says (LINE's postbacks do not).
    pub title: Option<String>,
    /// The provider's id of the message the option was on, when the provider says (WhatsApp's
    /// `context.id`, Telegram's `message.message_id`; Meta's Send API, LINE and X do not).
    pub answers: Option<String>,
    /// The provider's id of the tap itself (the host stores a tap once).
    pub provider_message_id: String,
    /// The conversation (the customer, or a group) it belongs to.
    pub conversation: String,
    /// The conversation's name, for groups.
    pub conversation_name: Option<String>,
    /// Who tapped.
    pub sender: Contact,
    /// When, in milliseconds since 1970.
    pub timestamp_ms: u64,
    /// Provider facts kept with it (Telegram's `callback_query_id`, LINE's `reply_token`).
    pub properties: Vec<(String, String)>,
}

/// A call's answer and record.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What the plugin answered.
    pub answer: Answer,
    /// Its HTTP requests, in order.
    pub requests: Vec<SentRequest>,
    /// Its mail, in order.
    pub mail: Vec<SentMail>,
    /// Its log lines, in order.
    pub logs: Vec<LogLine>,
    /// The channel's state after the call.
    pub state: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Report {
    answer: Value,
    http: Vec<SentRequest>,
    mail: Vec<SentMail>,
    logs: Vec<LogLine>,
    state: BTreeMap<String, String>,
}

impl Outcome {
    pub(crate) fn from_report(report: Value) -> Result<Self, String> {
        let report: Report = serde_json::from_value(report).map_err(|e| format!("the host's report is not what this test kit reads ({e}): versions differ?"))?;
        let answer = match report.answer {
            Value::Object(mut answer) => {
                if let Some(value) = answer.remove("ok") {
                    Answer::Ok(value)
                } else if let Some(error) = answer.remove("refused") {
                    Answer::Refused(error)
                } else if let Some(Value::String(why)) = answer.remove("failed") {
                    Answer::Failed(why)
                } else {
                    return Err(format!("unknown answer {answer:?}"));
                }
            }
            other => return Err(format!("unknown answer {other}")),
        };
        Ok(Self { answer, requests: report.http, mail: report.mail, logs: report.logs, state: report.state })
    }

    /// The export's value; panics with what came instead.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        match &self.answer {
            Answer::Ok(value) => value,
            other => panic!("expected the plugin to answer, got {other:?}{}", self.unmatched_note()),
        }
    }

    /// The typed refusal; panics with what came instead.
    #[track_caller]
    pub fn refused(&self) -> &Value {
        match &self.answer {
            Answer::Refused(error) => error,
            other => panic!("expected a refusal, got {other:?}{}", self.unmatched_note()),
        }
    }

    /// Why the host stopped the call; panics with what came instead.
    #[track_caller]
    pub fn failed(&self) -> &str {
        match &self.answer {
            Answer::Failed(why) => why,
            other => panic!("expected the host to stop the call, got {other:?}{}", self.unmatched_note()),
        }
    }

    /// The choices a webhook call reported, in order (its other events left out); panics when
    /// the plugin did not answer.
    #[track_caller]
    pub fn choices(&self) -> Vec<Choice> {
        let events = self.ok()["events"].as_array().cloned().unwrap_or_default();
        let mut choices = Vec::new();
        for event in &events {
            if let Some(choice) = event.get("Choice") {
                match serde_json::from_value::<Choice>(choice.clone()) {
                    Ok(choice) => choices.push(choice),
                    Err(e) => panic!("a choice this test kit cannot read ({e}): {choice}: versions differ?"),
                }
            }
        }
        choices
    }

    /// Asserts that the webhook call reported exactly one choice, of the option `id`, with the
    /// title the customer saw and answering the message the option was on (the provider's id of
    /// it), `None` where the provider does not say; answers the choice for more checks.
    ///
    /// ```no_run
    /// # let mut plugin = switchboard_testkit::Plugin::load("telegram.wasm").unwrap();
    /// use switchboard_testkit::choices::telegram;
    /// let secret = plugin.webhook_secret().to_owned();
    /// let tapped = plugin.webhook(telegram::callback_query(&secret, 77, "q42:yes", "Yes"));
    /// tapped.assert_choice("q42:yes", Some("Yes"), Some("77"));
    /// ```
    #[track_caller]
    pub fn assert_choice(&self, id: &str, title: Option<&str>, answers: Option<&str>) -> Choice {
        let choices = self.choices();
        let [choice] = choices.as_slice() else {
            panic!("expected one choice, the plugin reported {}: {}", choices.len(), self.ok()["events"]);
        };
        assert_eq!(
            (choice.id.as_str(), choice.title.as_deref(), choice.answers.as_deref()),
            (id, title, answers),
            "the choice's (id, title, answers) are not the expected ones: {choice:?}"
        );
        choice.clone()
    }

    /// Requests no rule answered (the plugin saw a refused connection).
    pub fn unmatched(&self) -> Vec<&SentRequest> {
        self.requests.iter().filter(|r| r.rule.is_none()).collect()
    }

    fn unmatched_note(&self) -> String {
        let unmatched: Vec<String> = self.unmatched().iter().map(|r| format!("{} {}", r.method, r.url)).collect();
        if unmatched.is_empty() { String::new() } else { format!(" (no rule answered: {})", unmatched.join("; ")) }
    }
}
