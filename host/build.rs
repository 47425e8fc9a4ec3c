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
    // Each component is read once, copied into OUT_DIR and embedded from that copy, and hashed
    // from the same bytes: the hash a cached start trusts is the hash of what is embedded.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut embedded = String::new();
    let mut hashes = String::new();
    for plugin in &plugins {
        let bytes = std::fs::read(&plugin.wasm).expect("the plugin was just built");
        let copy = out_dir.join(format!("{}.wasm", plugin.package));
        std::fs::write(&copy, &bytes).unwrap();
        embedded.push_str(&format!("    ({:?}, include_bytes!({:?})),\n", plugin.package, copy));
        hashes.push_str(&format!("    {:?},\n", hex::encode(sha2::Sha256::digest(&bytes))));
    }
    let code = format!(
        "/// First-party plugin components: (package, bytes).\npub const FIRST_PARTY_PLUGINS: &[(&str, &[u8])] = &[\n{embedded}];\n\
         /// SHA-256 of each of `FIRST_PARTY_PLUGINS`, in the same order.\nconst FIRST_PARTY_SHA256: &[&str] = &[\n{hashes}];\n"
    );
    let out = out_dir.join("first_party.rs");
    std::fs::write(out, code).unwrap();
}
