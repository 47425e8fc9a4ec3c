//! What a plugin answers while it loads (manifest, settings schema, messaging window, provider
//! app schema, send limits, interactive support, connect guide, translations), kept beside the
//! compile cache so that loading the same component again asks it nothing.
//!
//! Why: asking takes one fresh instance per answer, up to eight per plugin at every start, and
//! those instances left the plugins' code pages and warm memory slots resident (about 10 of an
//! idle server's 45.7 MiB) for answers that depend only on the component's bytes. A load from
//! this cache makes no instance.
//!
//! An entry, `<component hash>-<engine hash>.answers.json`, holds the answers as the plugin gave
//! them, before the host's checks: every load checks them again, cached or asked, in one place
//! (`LoadedPlugin::accept_answers`). It is a miss (the plugin is asked again and the entry
//! rewritten) when the component or the engine differ (another name), when another host
//! version (crate or contract), another file format, another call time limit or another set of
//! page languages wrote it, and when it does not parse (logged and removed). The time limit
//! counts because answers got under a longer one may be answers a shorter one would have cut. A language whose texts failed is kept as failed only when the
//! plugin crashed; a failure that may pass (a time-out, the memory cap, an instance that could
//! not start) keeps nothing, so the next load asks again. With the test kit's doubles, which
//! report everything a plugin does, the load's calls included, plugins are always asked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wasmtime::Engine;

use super::cache::{entry_stem, write_atomically};
use super::types::{Field, Guide, InteractiveSupport, PluginManifest, SendLimits, WindowPolicy};
use super::{HOST_WIT_VERSION, PluginFailure, TRANSLATED_LANGUAGES};

/// The host's release: another one (whose checks or conversions may differ) asks again.
const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The file's layout and what its answers mean: raised with any change to either within a
/// release (a development build), so that no build reads another's files as its own.
const FORMAT: u32 = 1;

/// The answers of a plugin's load-time exports, unchecked (an export the plugin lacks answers
/// the host's default, as when asked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct LoadAnswers {
    pub(super) manifest: PluginManifest,
    pub(super) settings_schema: Vec<Field>,
    pub(super) window: WindowPolicy,
    /// Empty without `provider-app`.
    pub(super) app_schema: Vec<Field>,
    pub(super) send_limits: SendLimits,
    pub(super) interactive: InteractiveSupport,
    /// As answered, before `Guide::checked`.
    pub(super) guide: Guide,
    /// Per language of [`TRANSLATED_LANGUAGES`] the plugin answered, its pairs as given.
    pub(super) texts: Vec<LanguageTexts>,
    /// The others: not used, as when asked.
    pub(super) failed_languages: Vec<FailedLanguage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct LanguageTexts {
    pub(super) language: String,
    pub(super) texts: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FailedLanguage {
    pub(super) language: String,
    /// The failure, as logged when the plugin was asked.
    pub(super) failure: String,
    /// The same bytes fail the same way again (a crash); otherwise the answers are not kept.
    pub(super) lasting: bool,
}

impl FailedLanguage {
    pub(super) fn new(language: &str, failure: &PluginFailure) -> Self {
        Self { language: language.to_owned(), failure: failure.to_string(), lasting: matches!(failure, PluginFailure::Trap(_)) }
    }
}

/// The file: the answers, and which host asked.
#[derive(Serialize, Deserialize)]
struct AnswersFile<A> {
    /// Absent (0) in files written before the format was numbered.
    #[serde(default)]
    format: u32,
    host_version: String,
    contract_version: String,
    /// The call time limit the answers were asked under.
    #[serde(default)]
    call_timeout_ms: u64,
    answers: A,
}

impl<A> AnswersFile<A> {
    fn of_this_host(answers: A, call_timeout: Duration) -> Self {
        Self {
            format: FORMAT,
            host_version: HOST_VERSION.to_owned(),
            contract_version: HOST_WIT_VERSION.to_owned(),
            call_timeout_ms: millis(call_timeout),
            answers,
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Why an entry is not used.
enum Miss {
    /// Written by another host: expected after an upgrade.
    OtherHost(String),
    Corrupt(String),
}

impl LoadAnswers {
    /// The answers kept for `component_hash` under this engine, if a sound entry for this host
    /// and call time limit exists; an unusable one is removed.
    pub(super) fn read(cache_dir: &Path, engine: &Engine, component_hash: &str, call_timeout: Duration) -> Option<Self> {
        let path = answers_path(cache_dir, engine, component_hash);
        let parsed = match std::fs::read(&path) {
            Ok(bytes) => parse(&bytes, call_timeout),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => Err(Miss::Corrupt(format!("unreadable: {error}"))),
        };
        match parsed {
            Ok(answers) => return Some(answers),
            Err(Miss::OtherHost(why)) => tracing::info!(entry = %path.display(), "load answers asked again: {why}"),
            Err(Miss::Corrupt(why)) => tracing::warn!(entry = %path.display(), "load answers entry ignored, the plugin is asked again: {why}"),
        }
        let _ = std::fs::remove_file(&path);
        None
    }

    /// Keeps the answers for the next load, unless a failure in them may pass. A failed write
    /// only costs asking again, so it is logged, not raised.
    pub(super) fn write(&self, cache_dir: &Path, engine: &Engine, component_hash: &str, call_timeout: Duration) {
        if !self.failed_languages.iter().all(|failed| failed.lasting) {
            return;
        }
        let path = answers_path(cache_dir, engine, component_hash);
        let file = AnswersFile::of_this_host(self, call_timeout);
        let result = serde_json::to_vec(&file).map_err(|e| e.to_string()).and_then(|bytes| write_atomically(&path, &bytes).map_err(|e| e.to_string()));
        if let Err(why) = result {
            tracing::warn!(entry = %path.display(), "could not keep the load answers: {why}");
        }
    }

    /// Whether every language the host asks for is answered or failed (another host asked others).
    fn covers_every_language(&self) -> bool {
        let asked = |language: &str| {
            self.texts.iter().any(|texts| texts.language == language) || self.failed_languages.iter().any(|failed| failed.language == language)
        };
        TRANSLATED_LANGUAGES.iter().all(|&language| asked(language))
    }
}

fn answers_path(cache_dir: &Path, engine: &Engine, component_hash: &str) -> PathBuf {
    cache_dir.join(format!("{}.answers.json", entry_stem(engine, component_hash)))
}

fn parse(bytes: &[u8], call_timeout: Duration) -> Result<LoadAnswers, Miss> {
    // The versions first: another host's answers may not even have this host's shape.
    let file: AnswersFile<serde_json::Value> = serde_json::from_slice(bytes).map_err(|e| Miss::Corrupt(format!("not an answers file: {e}")))?;
    if file.format != FORMAT {
        return Err(Miss::OtherHost(format!("kept in format {}, this host reads {FORMAT}", file.format)));
    }
    if file.host_version != HOST_VERSION || file.contract_version != HOST_WIT_VERSION {
        return Err(Miss::OtherHost(format!(
            "kept by host {} (contract {}), this is {HOST_VERSION} (contract {HOST_WIT_VERSION})",
            file.host_version, file.contract_version
        )));
    }
    if file.call_timeout_ms != millis(call_timeout) {
        return Err(Miss::OtherHost(format!("asked with a call limit of {} ms, this host allows {} ms", file.call_timeout_ms, millis(call_timeout))));
    }
    let answers: LoadAnswers = serde_json::from_value(file.answers).map_err(|e| Miss::Corrupt(format!("unreadable answers: {e}")))?;
    if !answers.covers_every_language() {
        return Err(Miss::OtherHost(format!("kept for other languages than {TRANSLATED_LANGUAGES:?}")));
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    const LIMIT: Duration = Duration::from_secs(15);
    use crate::runtime::types::{Block, Capability, FieldKind, FieldWidget, Inline, InteractiveKind, KindLimits, Link, Section, SelectOption, Widget};

    /// Every kind of value the answers hold, so each type's JSON is read back.
    fn answers() -> LoadAnswers {
        LoadAnswers {
            manifest: PluginManifest {
                id: "acme".into(),
                name: "Acme".into(),
                version: "1.2.3".into(),
                description: "Acme chat".into(),
                capabilities: vec![Capability::Templates, Capability::OauthConnect, Capability::FixedName],
                outbound_hosts: vec!["api.acme.example".into(), "*.cdn.acme.example".into()],
            },
            settings_schema: vec![Field {
                key: "color".into(),
                label: "Colour".into(),
                kind: FieldKind::Select,
                required: true,
                secret: false,
                immutable: true,
                help: Some("Pick one".into()),
                default_value: None,
                options: vec![SelectOption { value: "red".into(), label: "Red".into() }],
            }],
            window: WindowPolicy { free_form_seconds: Some(86_400), human_agent_seconds: None, templates_outside_window: true },
            app_schema: Vec::new(),
            send_limits: SendLimits { per_second: Some(30), concurrency: None },
            interactive: InteractiveSupport {
                kinds: vec![KindLimits {
                    kind: InteractiveKind::OptionList,
                    max_choices: 10,
                    max_title_chars: 24,
                    max_description_chars: 72,
                    max_body_chars: 1024,
                    max_header_chars: 60,
                    max_footer_chars: 60,
                    max_sections: 10,
                    max_button_chars: 20,
                    max_card_buttons: 0,
                }],
                max_id_bytes: 200,
            },
            guide: Guide {
                sections: vec![Section {
                    title: "Steps".into(),
                    blocks: vec![
                        Block::Steps(vec![vec![Inline::Text("Open ".into()), Inline::Link(Link { label: "here".into(), url: "http://not-https.example".into() })]]),
                        Block::Paragraph(vec![Inline::Strong("Then".into()), Inline::Code("/newbot".into())]),
                        Block::Note(Vec::new()),
                    ],
                }],
                field_widgets: vec![FieldWidget { key: "color".into(), widget: Widget::Color }],
            },
            texts: TRANSLATED_LANGUAGES.iter().map(|&language| LanguageTexts { language: language.into(), texts: vec![("Colour".into(), "Warna".into())] }).collect(),
            failed_languages: Vec::new(),
        }
    }

    #[test]
    fn what_is_kept_is_read_back_unchanged() {
        let (dir, engine) = (tempfile::tempdir().unwrap(), Engine::default());
        assert_eq!(LoadAnswers::read(dir.path(), &engine, "abc", LIMIT), None);
        answers().write(dir.path(), &engine, "abc", LIMIT);
        assert_eq!(LoadAnswers::read(dir.path(), &engine, "abc", LIMIT), Some(answers()));
        assert_eq!(LoadAnswers::read(dir.path(), &engine, "def", LIMIT), None, "another component's");
    }

    #[test]
    fn another_hosts_corrupt_and_incomplete_entries_are_misses_and_removed() {
        let (dir, engine) = (tempfile::tempdir().unwrap(), Engine::default());
        let path = answers_path(dir.path(), &engine, "abc");
        let kept = |answers: &LoadAnswers, change: &dyn Fn(&mut AnswersFile<&LoadAnswers>)| {
            let mut file = AnswersFile::of_this_host(answers, LIMIT);
            change(&mut file);
            serde_json::to_vec(&file).unwrap()
        };
        let unanswered = LoadAnswers { texts: Vec::new(), ..answers() };
        let sound = kept(&answers(), &|_| {});
        let unnumbered = {
            let mut file: serde_json::Value = serde_json::from_slice(&sound).unwrap();
            file.as_object_mut().unwrap().remove("format");
            serde_json::to_vec(&file).unwrap()
        };
        for (what, bytes) in [
            ("another host", kept(&answers(), &|file| file.host_version = "0.0.0-other".into())),
            ("another contract", kept(&answers(), &|file| file.contract_version = "0.0.0-other".into())),
            ("another format", kept(&answers(), &|file| file.format = FORMAT + 1)),
            ("no format (written before it was numbered)", unnumbered),
            ("a longer call limit", kept(&answers(), &|file| file.call_timeout_ms = 60_000)),
            ("a language not asked", kept(&unanswered, &|_| {})),
            ("truncated", sound[..sound.len() / 2].to_vec()),
            ("not JSON", b"\x00garbage".to_vec()),
            ("empty", Vec::new()),
        ] {
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(LoadAnswers::read(dir.path(), &engine, "abc", LIMIT), None, "{what}");
            assert!(!path.exists(), "{what}: removed");
        }
        std::fs::write(&path, sound).unwrap();
        assert_eq!(LoadAnswers::read(dir.path(), &engine, "abc", LIMIT), Some(answers()));
    }

    #[test]
    fn a_crashed_language_is_kept_as_failed_and_one_that_may_pass_keeps_nothing() {
        let (dir, engine) = (tempfile::tempdir().unwrap(), Engine::default());
        let failing = |failure: PluginFailure| LoadAnswers {
            texts: Vec::new(),
            failed_languages: TRANSLATED_LANGUAGES.iter().map(|&language| FailedLanguage::new(language, &failure)).collect(),
            ..answers()
        };
        failing(PluginFailure::Timeout(std::time::Duration::from_secs(15))).write(dir.path(), &engine, "abc", LIMIT);
        assert_eq!(LoadAnswers::read(dir.path(), &engine, "abc", LIMIT), None, "a time-out may pass: asked again next time");
        let crashed = failing(PluginFailure::Trap("unreachable".into()));
        crashed.write(dir.path(), &engine, "abc", LIMIT);
        assert_eq!(LoadAnswers::read(dir.path(), &engine, "abc", LIMIT), Some(crashed));
    }
}
