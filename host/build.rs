//! Builds the first-party plugins (`plugins/*`) to components and embeds them in the host,
//! so `switchboard serve` has every first-party channel without files to install.

#[path = "build/wasm_plugins.rs"]
mod wasm_plugins;

use std::path::PathBuf;

use sha2::Digest;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().expect("host/ sits in the workspace").to_path_buf();
    let plugins = wasm_plugins::build_plugins_in(&root, &root.join("plugins"));
    let mut code = String::from("/// First-party plugin components: (package, bytes).\npub const FIRST_PARTY_PLUGINS: &[(&str, &[u8])] = &[\n");
    for plugin in &plugins {
        code.push_str(&format!("    ({:?}, include_bytes!({:?})),\n", plugin.package, plugin.wasm));
    }
    code.push_str("];\n");
    // Their hashes, so a start that finds them compiled never reads the bytes.
    code.push_str("/// SHA-256 of each of `FIRST_PARTY_PLUGINS`, in the same order.\nconst FIRST_PARTY_SHA256: &[&str] = &[\n");
    for plugin in &plugins {
        let bytes = std::fs::read(&plugin.wasm).expect("the plugin was just built");
        code.push_str(&format!("    {:?},\n", hex::encode(sha2::Sha256::digest(&bytes))));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("first_party.rs");
    std::fs::write(out, code).unwrap();
}
