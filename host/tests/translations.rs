//! Every first-party plugin gives every text of its forms and guide in Bahasa Indonesia
//! (contract 0.1.4 `translations`): what a person reads on the connect form, the operator's
//! app form and the guide beside them. Errors and setup items are translated where the plugin
//! gives them too, but their texts are only known when they happen, so they are not listed here.

use switchboard::runtime::{HostServices, Limits, LoadedPlugin, Runtime};
use switchboard::runtime::types::{Block, Inline};

fn form_texts(plugin: &LoadedPlugin) -> Vec<String> {
    let mut texts = vec![plugin.manifest.description.clone()];
    for field in plugin.settings_schema.iter().chain(&plugin.app_schema) {
        texts.push(field.label.clone());
        texts.extend(field.help.clone());
        texts.extend(field.options.iter().map(|o| o.label.clone()));
    }
    for section in &plugin.guide.sections {
        texts.push(section.title.clone());
        let lines = section.blocks.iter().flat_map(|block| match block {
            Block::Paragraph(line) | Block::Note(line) => vec![line],
            Block::Steps(steps) => steps.iter().collect(),
        });
        for inline in lines.flatten() {
            match inline {
                Inline::Text(text) | Inline::Strong(text) => texts.push(text.clone()),
                Inline::Link(link) => texts.push(link.label.clone()),
                Inline::Code(_) => {}
            }
        }
    }
    // Punctuation and spacing between inline pieces read the same in both languages.
    texts.retain(|t| t.chars().any(char::is_alphabetic));
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_first_party_plugin_gives_its_form_and_guide_texts_in_indonesian() {
    let runtime = Runtime::new(Limits::default(), Vec::new(), HostServices::none(), None).unwrap();
    let mut missing = Vec::new();
    let mut translated = 0;
    for component in switchboard::plugins::built_in_components() {
        let plugin = runtime.load(component).await.unwrap();
        for text in form_texts(&plugin) {
            if plugin.translations.has("id", &text) {
                translated += 1;
            } else {
                missing.push(format!("{}: {text:?}", plugin.id()));
            }
        }
    }
    assert!(missing.is_empty(), "{} texts without Bahasa Indonesia (translated: {translated}):\n{}", missing.len(), missing.join("\n"));
    assert!(translated > 100, "every plugin's forms were read: {translated} texts");
}

/// A cached start trusts the built-in plugins' hashes from build time instead of reading their
/// bytes: each must be the hash of exactly the bytes embedded.
#[test]
fn every_built_in_hash_is_the_hash_of_its_embedded_bytes() {
    let built_in: Vec<_> = switchboard::plugins::built_in_components().collect();
    assert_eq!(built_in.len(), switchboard::plugins::FIRST_PARTY_PLUGINS.len());
    for component in built_in {
        assert_eq!(switchboard::runtime::component_hash(component.bytes()), component.hash(), "{:?}", component.built_in_package());
    }
}
