//! The SDK as a crate of its own: its copy of the contract is the newest release in `wit/`,
//! and `cargo package` makes a crate that builds on its own (what publishing needs).

use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the SDK sits in the repository").to_path_buf()
}

/// `wit/v<major>.<minor>.<patch>` with the highest version.
fn newest_release(wit: &Path) -> PathBuf {
    let mut releases: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(wit)
        .expect("wit/ lists the releases")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let version = path.file_name()?.to_str()?.strip_prefix('v')?.split('.').map(|n| n.parse().ok()).collect::<Option<Vec<u64>>>()?;
            Some((version, path))
        })
        .collect();
    releases.sort();
    releases.pop().expect("at least one release").1
}

#[test]
fn the_vendored_contract_is_the_newest_release_byte_for_byte() {
    let newest = newest_release(&repository().join("wit"));
    let released = std::fs::read(newest.join("channel.wit")).unwrap();
    let vendored = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("wit/channel.wit")).unwrap();
    assert!(
        released == vendored,
        "sdk/wit/channel.wit differs from {}/channel.wit: copy it (the SDK builds from its own copy)",
        newest.display()
    );
}

#[test]
fn cargo_package_makes_a_crate_that_builds_on_its_own() {
    let root = repository();
    // Its own target dir: the build of the packaged crate never waits on the suite's.
    let target = root.join("target/sdk-package");
    let output = std::process::Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["package", "-p", "switchboard-sdk", "--allow-dirty", "--target-dir"])
        .arg(&target)
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo package failed:\n{stderr}");
    let listed = std::process::Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["package", "-p", "switchboard-sdk", "--allow-dirty", "--list"])
        .output()
        .expect("cargo runs");
    let files = String::from_utf8_lossy(&listed.stdout);
    assert!(files.lines().any(|f| f == "wit/channel.wit"), "the contract travels with the crate:\n{files}");
}
