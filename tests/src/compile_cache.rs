//! The compile cache the tests' hosts share: the end-to-end suite's in-process hosts and the
//! host crate's `switchboard serve` children (`host/tests/support` includes this file).

/// One compile cache for every host of the test process (and later runs from the same target
/// folder): a suite starts a few hundred hosts with the same nine plugins, and Cranelift would
/// otherwise compile them again for each (most of what the suite's machine spent). Entries are
/// named by the component's hash and the engine's settings, so a host with other limits or a
/// changed plugin gets its own. Beside the test binary's `deps/` folder, in the target folder.
pub fn shared_compile_cache() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/<binary>
    let target = exe.ancestors().nth(3).map(std::path::Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    target.join("test-compile-cache")
}
