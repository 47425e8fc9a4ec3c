//! A component to load: its bytes and their SHA-256, its identity in the compile cache. A
//! built-in component carries the hash computed when the host was built, so a start whose
//! compilations are cached never reads its bytes, and the server's resident memory never holds
//! them (a cold start hands the child compiler the package's name, not the bytes).

use std::borrow::Cow;

use super::cache::component_hash;

#[derive(Debug, Clone)]
pub struct ComponentSource {
    bytes: Cow<'static, [u8]>,
    hash: Cow<'static, str>,
    /// The built-in package these bytes are embedded as (the child compiler reads them itself).
    built_in: Option<&'static str>,
}

impl ComponentSource {
    /// A component embedded in this binary; `hash` is `bytes`' SHA-256, computed at build time.
    pub const fn built_in(package: &'static str, hash: &'static str, bytes: &'static [u8]) -> Self {
        Self { bytes: Cow::Borrowed(bytes), hash: Cow::Borrowed(hash), built_in: Some(package) }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of the bytes, hex.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn built_in_package(&self) -> Option<&'static str> {
        self.built_in
    }
}

impl From<Vec<u8>> for ComponentSource {
    fn from(bytes: Vec<u8>) -> Self {
        let hash = component_hash(&bytes);
        Self { bytes: Cow::Owned(bytes), hash: Cow::Owned(hash), built_in: None }
    }
}
