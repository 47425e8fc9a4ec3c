//! Builds plugin crates for `wasm32-wasip2` from a build script.
//!
//! Shared by `host/build.rs` (first-party plugins, embedded in the binary) and
//! `tests/build.rs` (hostile test plugins). It makes sure the rustup target is installed,
//! because rustup does not add a `rust-toolchain.toml` target to a toolchain that is
//! already installed, and a fresh machine must build with no step by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const WASM_TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

/// A plugin crate found under a folder: its package name and the `.wasm` it builds to.
pub struct PluginCrate {
    pub package: String,
    pub wasm: PathBuf,
}

/// Builds every crate directly under `plugins_dir` and returns where each component is.
pub fn build_plugins_in(workspace_root: &Path, plugins_dir: &Path) -> Vec<PluginCrate> {
    println!("cargo:rerun-if-changed={}", plugins_dir.display());
    for shared in ["sdk", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace_root.join(shared).display());
    }
    // Beside the rest of the build: in `CARGO_TARGET_DIR` when one is set (a clone built into a
    // shared target), where the test kit looks for them from the test binaries.
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let target_root = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root.join("target"));
    let target_dir = target_root.join("wasm-plugins");
    let crates = plugin_packages(plugins_dir)
        .into_iter()
        .map(|package| {
            let wasm = target_dir
                .join(WASM_TARGET)
                .join(PROFILE)
                .join(format!("{}.wasm", package.replace('-', "_")));
            PluginCrate { package, wasm }
        })
        .collect::<Vec<_>>();
    if crates.is_empty() {
        return crates;
    }
    ensure_wasm_target();

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace_root)
        .args(["build", "--target", WASM_TARGET, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(&target_dir);
    for plugin in &crates {
        build.args(["-p", &plugin.package]);
    }
    // Flags meant for the host build must not leak into the wasm build.
    for var in ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTC_WORKSPACE_WRAPPER", "CARGO_INCREMENTAL"] {
        build.env_remove(var);
    }
    let status = build.status().expect("could not run cargo to build the wasm plugins");
    assert!(status.success(), "building the wasm plugins failed (see the cargo output above)");
    for plugin in &crates {
        assert!(plugin.wasm.exists(), "{} was not produced", plugin.wasm.display());
    }
    crates
}

/// Package names of the plugin crates (`crate-type = ["cdylib"]`) directly under `dir`, sorted;
/// plain library crates there (code shared by plugins) are built as their dependencies.
fn plugin_packages(dir: &Path) -> Vec<String> {
    let mut packages = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return packages };
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let parsed: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let crate_types = parsed.get("lib").and_then(|lib| lib.get("crate-type")).and_then(|t| t.as_array());
        if !crate_types.is_some_and(|types| types.iter().any(|t| t.as_str() == Some("cdylib"))) {
            continue;
        }
        if let Some(name) = parsed.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str()) {
            packages.push(name.to_owned());
        }
    }
    packages.sort();
    packages
}

/// Installs the wasm target into the active toolchain when it is missing.
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    if let Some(sysroot) = sysroot
        && sysroot.join("lib/rustlib").join(WASM_TARGET).exists()
    {
        return;
    }
    let status = Command::new("rustup").args(["target", "add", WASM_TARGET]).status();
    match status {
        Ok(s) if s.success() => {}
        _ => panic!("the {WASM_TARGET} target is missing and `rustup target add {WASM_TARGET}` failed"),
    }
}
