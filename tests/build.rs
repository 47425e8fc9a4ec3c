//! Builds the hostile test plugins (`tests/plugins/*`) and tells the tests where they are.

#[path = "../host/build/wasm_plugins.rs"]
mod wasm_plugins;

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().expect("tests/ sits in the workspace").to_path_buf();
    for plugin in wasm_plugins::build_plugins_in(&root, &manifest_dir.join("plugins")) {
        let var = format!("{}_WASM", plugin.package.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", plugin.wasm.display());
    }
}
