//! `switchboard plugin new ID`: a plugin crate that builds and passes its tests as generated — the
//! channel (a provider with a bearer-token REST API and HMAC-signed webhooks, to adapt), its
//! settings schema, tests with the test kit, signed webhook fixtures for `plugin check` (a message
//! and a button tap) and a forged one, a README.
//!
//! Where the SDK comes from: a Switchboard source tree when one is known (`--sdk-source DIR`, or
//! the tree this binary was built from while it still exists), as path dependencies; otherwise
//! the crates.io versions of this release.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

const CARGO_TOML: &str = include_str!("scaffold/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("scaffold/lib.rs.tmpl");
const TEST_RS: &str = include_str!("scaffold/test.rs.tmpl");
const README: &str = include_str!("scaffold/README.md.tmpl");
const GITIGNORE: &str = include_str!("scaffold/gitignore.tmpl");

/// The webhook secret the fixtures are signed with (what the host generates: 32 of `A-Za-z0-9`).
const FIXTURE_SECRET: &str = "F1xtureSecretF1xtureSecretF1xtur";

/// Said in each fixture (members other than `request`, `settings`, `webhook_secret` and `expect`
/// are not read): the fixtures fit only the example provider. `plugin check` knows a fixture of
/// `plugin new` by [`FIXTURE_MARK`] in its note and says so when one is not as it expects.
const FIXTURE_NOTE: &str = "A delivery of the example provider `plugin new` wrote src/lib.rs for (HMAC-SHA256 of the body, hex, in \
     x-signature). Once src/lib.rs reads your provider's deliveries, replace it with one of theirs: a host started with \
     `switchboard serve --record-webhooks DIR` records real ones.";

/// What marks a fixture `plugin new` wrote (in its `note`, for `plugin check`).
pub(crate) const FIXTURE_MARK: &str = "the example provider `plugin new` wrote";

/// The tree this binary was built from.
const BUILT_FROM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Writes the crate; answers what to do next.
pub fn create(id: &str, dir: Option<&Path>, sdk_source: Option<&Path>) -> Result<String, String> {
    check_id(id)?;
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(id));
    if dir.exists() && std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?.next().is_some() {
        return Err(format!("{} exists and is not empty: choose another --dir", dir.display()));
    }
    let (sdk, testkit) = dependencies(sdk_source)?;
    let name = display_name(id);
    let fill = |template: &str| {
        template
            .replace("{{id}}", id)
            .replace("{{name}}", &name)
            .replace("{{crate}}", id)
            .replace("{{crate_file}}", &id.replace('-', "_"))
            .replace("{{sdk}}", &sdk)
            .replace("{{testkit}}", &testkit)
    };
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
        ("tests/plugin.rs", fill(TEST_RS)),
        ("README.md", fill(README)),
        (".gitignore", fill(GITIGNORE)),
        ("fixtures/message.json", fixture(Delivery::Message, true)),
        ("fixtures/tap.json", fixture(Delivery::Tap, true)),
        ("fixtures/forged.json", fixture(Delivery::Message, false)),
    ];
    for (path, contents) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let shown = dir.display();
    Ok(format!(
        "created {shown} ({name}, plugin id `{id}`)\n\nnext:\n  cd {shown}\n  cargo test                                  # builds it and runs it with test doubles\n  switchboard plugin dev --host URL           # rebuild and install into a dev host on every change\n\n\
         src/lib.rs and fixtures/ are for an example provider (HMAC-SHA256 of the body in `x-signature`): once src/lib.rs\n\
         reads your provider's webhooks, replace fixtures/*.json with your provider's deliveries (`plugin check --fixtures`\n\
         names each one that no longer fits, with what the plugin answered).\n"
    ))
}

/// Plugin ids as the host takes them; also a crate name.
fn check_id(id: &str) -> Result<(), String> {
    match crate::ids::is_plugin_id(id) {
        true => Ok(()),
        false => Err(format!("`{id}` is not a plugin id: {}", crate::ids::PLUGIN_ID_SHAPE)),
    }
}

/// `acme-chat` → `Acme Chat`.
fn display_name(id: &str) -> String {
    id.split('-')
        .filter(|w| !w.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The SDK and test kit as dependency specifications.
fn dependencies(sdk_source: Option<&Path>) -> Result<(String, String), String> {
    let tree = match sdk_source {
        Some(dir) => {
            if !dir.join("sdk/Cargo.toml").is_file() || !dir.join("testkit/Cargo.toml").is_file() {
                return Err(format!("{} is not a Switchboard source tree (no sdk/ and testkit/ crates)", dir.display()));
            }
            Some(dir.to_path_buf())
        }
        None => Some(PathBuf::from(BUILT_FROM)).filter(|dir| dir.join("sdk/Cargo.toml").is_file() && dir.join("testkit/Cargo.toml").is_file()),
    };
    Ok(match tree {
        Some(tree) => {
            let tree = tree.canonicalize().map_err(|e| format!("{}: {e}", tree.display()))?;
            let path = |krate: &str| format!("{{ path = {:?} }}", tree.join(krate).display().to_string());
            (path("sdk"), path("testkit"))
        }
        None => {
            let version = format!("\"{}\"", env!("CARGO_PKG_VERSION"));
            (version.clone(), version)
        }
    })
}

/// What a fixture of `plugin new` delivers.
#[derive(Debug, Clone, Copy)]
enum Delivery {
    /// The customer's text.
    Message,
    /// The customer tapped a reply button ("Belum" on the message `m-2`): a choice.
    Tap,
}

/// A delivery as the example provider signs it (`expect: accept`), or the same with a forged signature.
fn fixture(delivery: Delivery, signed: bool) -> String {
    let from = json!({"id": "c-42", "name": "Ani"});
    let body = match delivery {
        Delivery::Message => json!({"id": "evt-1", "timestamp": 1_767_225_600, "from": from, "text": "Halo, is my order on its way?"}),
        Delivery::Tap => json!({"id": "evt-2", "timestamp": 1_767_225_660, "from": from, "button": {"id": "no", "title": "Belum", "message_id": "m-2"}}),
    }
    .to_string();
    let signature = if signed {
        let mut mac = Hmac::<Sha256>::new_from_slice(FIXTURE_SECRET.as_bytes()).expect("any key length");
        mac.update(body.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    } else {
        "0".repeat(64)
    };
    let fixture = json!({
        "note": FIXTURE_NOTE,
        "request": {"method": "POST", "path": "", "query": "", "headers": {"content-type": "application/json", "x-signature": signature}, "body": body},
        "webhook_secret": FIXTURE_SECRET,
        "expect": if signed { "accept" } else { "refuse" },
    });
    serde_json::to_string_pretty(&fixture).expect("JSON") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_names_and_refusals() {
        assert!(check_id("acme-chat2").is_ok());
        for bad in ["Acme", "2chat", "chat-", "a_b", ""] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert_eq!(display_name("acme-chat"), "Acme Chat");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let refused = create("acme", Some(dir.path()), None).unwrap_err();
        assert!(refused.contains("not empty"), "{refused}");
        assert_eq!(std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(), "mine", "nothing of the author's is touched");
    }

    const GUIDE: &str = include_str!("../../../docs/writing-a-plugin.md");
    const REPOSITORY_README: &str = include_str!("../../../README.md");

    /// The guide's test example is a part of the generated `tests/plugin.rs`, which
    /// `host/tests/plugin_author.rs` builds and runs: so the example compiles and passes. (Its
    /// block is `rust ignore` for the SDK's doctests of the guide, which have no test kit; the
    /// guide's other Rust blocks are compiled and run there.)
    #[test]
    fn the_guides_test_example_is_the_scaffolds_test() {
        let fence = "```rust ignore\n";
        let opening = format!("{fence}use serde_json::json;\nuse switchboard_testkit::");
        let start = GUIDE.find(&opening).expect("docs/writing-a-plugin.md shows the scaffold's test") + fence.len();
        let example = &GUIDE[start..][..GUIDE[start..].find("```").expect("the example's block ends")];
        assert!(TEST_RS.contains(example), "docs/writing-a-plugin.md's test example must be a verbatim part of scaffold/test.rs.tmpl:\n{example}");
    }

    /// The keys of the generated channel's settings schema (`Field::new("KEY", …)` in src/lib.rs).
    fn scaffold_setting_keys() -> Vec<&'static str> {
        LIB_RS.split("Field::new(\"").skip(1).filter_map(|rest| rest.split('"').next()).collect()
    }

    /// The bodies of a Markdown text's shell blocks (fenced as `sh`).
    fn shell_blocks(text: &str) -> Vec<&str> {
        text.split("```sh\n").skip(1).filter_map(|rest| rest.split("```").next()).collect()
    }

    /// Every `--setting KEY=` in the commands of the guide, the repository's README and the
    /// generated README names a setting of the plugin `plugin new` writes (an author copying
    /// `--setting token=` got a channel without its token), or is `webhook_secret` given to
    /// `plugin call`, where it is the channel's secret: the one the generated fixtures are signed with.
    #[test]
    fn the_documented_commands_set_only_the_scaffolds_settings() {
        let keys = scaffold_setting_keys();
        assert_eq!(keys, ["api_token", "api_base_url"], "the generated schema, as the documents' commands assume");
        let documents = [("docs/writing-a-plugin.md", GUIDE), ("README.md", REPOSITORY_README), ("scaffold/README.md.tmpl", README)];
        let mut seen = 0;
        for (document, text) in documents {
            for line in shell_blocks(text).into_iter().flat_map(str::lines) {
                let words: Vec<&str> = line.split_whitespace().collect();
                for pair in words.windows(2).filter(|pair| pair[0] == "--setting") {
                    seen += 1;
                    let key = pair[1].split('=').next().unwrap_or_default();
                    if key == "webhook_secret" {
                        assert!(line.contains("plugin call"), "{document}: only `plugin call` takes the channel's secret as `--setting webhook_secret=`: {line}");
                        assert_eq!(pair[1], format!("webhook_secret={FIXTURE_SECRET}"), "{document}: the secret the generated fixtures are signed with: {line}");
                    } else {
                        assert!(keys.contains(&key), "{document}: `--setting {key}=` is no setting of the plugin `plugin new` writes ({keys:?}): {line}");
                    }
                }
            }
        }
        assert!(seen >= 5, "the documents' commands with --setting were found ({seen} of at least 5)");
    }

    /// The guide and the README count the generated tests as they are.
    #[test]
    fn the_documents_count_the_scaffolds_tests() {
        let tests = TEST_RS.matches("#[test]").count();
        let word = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"].get(tests).expect("fewer than ten tests");
        assert!(GUIDE.contains(&format!("runs its {word} tests")), "docs/writing-a-plugin.md must say the generated crate has {word} tests");
        assert!(REPOSITORY_README.contains(&format!("{word} tests using\nthe test kit")), "README.md must say the generated crate has {word} tests");
    }

    /// The fixtures `plugin new` writes are the example provider's and say so, in words that
    /// `plugin check` recognises when one does not fit the author's plugin.
    #[test]
    fn the_fixtures_say_they_are_the_example_providers() {
        for (delivery, signed, expect) in [(Delivery::Message, true, "accept"), (Delivery::Tap, true, "accept"), (Delivery::Message, false, "refuse")] {
            let written: serde_json::Value = serde_json::from_str(&fixture(delivery, signed)).unwrap();
            assert!(written["note"].as_str().unwrap().contains(FIXTURE_MARK), "{written}");
            assert_eq!(written["expect"], expect);
            assert_eq!(written["webhook_secret"], FIXTURE_SECRET);
            assert!(written["request"]["body"].is_string(), "sent as its bytes, so the signature over them holds");
        }
    }
}
