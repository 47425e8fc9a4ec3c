//! Secrets at rest: sealed with ChaCha20-Poly1305 under a key kept in the data dir.
//!
//! Rotation (`Db::rotate_secrets`) makes a new key current; the keys it replaced stay in this
//! process's memory only (never on disk again), so a value read just before the swap still
//! opens, until the process ends.

use std::path::Path;
use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use super::StoreError;

const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 12;

pub struct SecretBox {
    keys: RwLock<Keys>,
}

struct Keys {
    current: ChaCha20Poly1305,
    /// Replaced by a rotation in this process: they open, they never seal.
    retired: Vec<ChaCha20Poly1305>,
}

impl SecretBox {
    /// Reads the 32-byte key, or creates it (readable by the owner only) on first start.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        let key = match std::fs::read(path) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            Ok(_) => anyhow::bail!("{} is not a 32-byte key; restore it from a backup", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = ChaCha20Poly1305::generate_key(&mut OsRng).to_vec();
                write_private(path, &key)?;
                key
            }
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        Ok(Self::from_key(&key))
    }

    fn from_key(key: &[u8]) -> Self {
        Self { keys: RwLock::new(Keys { current: ChaCha20Poly1305::new(Key::from_slice(key)), retired: Vec::new() }) }
    }

    /// A new random key (32 bytes).
    pub fn new_key() -> Vec<u8> {
        ChaCha20Poly1305::generate_key(&mut OsRng).to_vec()
    }

    /// Seals with `key` from now on; the current key is retired (opens only).
    pub fn rotate_to(&self, key: &[u8]) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        let previous = std::mem::replace(&mut keys.current, ChaCha20Poly1305::new(Key::from_slice(key)));
        keys.retired.push(previous);
    }

    /// Whether `sealed` opens with the current key (else it needs re-sealing after a rotation).
    pub fn is_current(&self, sealed: &str) -> bool {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        split(sealed).is_ok_and(|(nonce, body)| keys.current.decrypt(Nonce::from_slice(&nonce), body.as_slice()).is_ok())
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let sealed = keys.current.encrypt(&nonce, plain.as_bytes()).expect("encryption of an in-memory buffer");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}", BASE64.encode(bytes))
    }

    pub fn open(&self, sealed: &str) -> Result<String, StoreError> {
        let corrupt = |why: &str| StoreError::Corrupt(format!("a sealed secret {why}"));
        let (nonce, body) = split(sealed).map_err(corrupt)?;
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let plain = std::iter::once(&keys.current)
            .chain(keys.retired.iter().rev())
            .find_map(|cipher| cipher.decrypt(Nonce::from_slice(&nonce), body.as_slice()).ok())
            .ok_or_else(|| corrupt("does not open with this data dir's key"))?;
        String::from_utf8(plain).map_err(|_| corrupt("is not text"))
    }

    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }
}

/// A sealed value's nonce and ciphertext.
fn split(sealed: &str) -> Result<(Vec<u8>, Vec<u8>), &'static str> {
    let encoded = sealed.strip_prefix(PREFIX).ok_or("has no seal prefix")?;
    let mut bytes = BASE64.decode(encoded).map_err(|_| "is not base64")?;
    if bytes.len() < NONCE_LEN {
        return Err("is too short");
    }
    let body = bytes.split_off(NONCE_LEN);
    Ok((bytes, body))
}

/// Writes a new key file, readable by the owner only (an existing file is an error).
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Channel and provider-app settings at rest: a JSON object whose secret values are sealed.
impl SecretBox {
    pub(crate) fn seal_settings(&self, settings: &[super::model::SettingValue<'_>]) -> String {
        let map: std::collections::BTreeMap<&str, String> =
            settings.iter().map(|s| (s.key, if s.secret { self.seal(s.value) } else { s.value.to_owned() })).collect();
        serde_json::to_string(&map).expect("a string map serializes")
    }

    /// Settings as [`SecretBox::seal_settings`] stored them, opened; `whose` names them in errors.
    pub(crate) fn open_settings(&self, stored: &str, whose: &str) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let stored: std::collections::BTreeMap<String, String> =
            serde_json::from_str(stored).map_err(|e| StoreError::Corrupt(format!("{whose} settings: {e}")))?;
        stored.into_iter().map(|(key, value)| Ok((key, if Self::is_sealed(&value) { self.open(&value)? } else { value }))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        let sealer = SecretBox::load_or_create(&key).unwrap();
        let sealed = sealer.seal("123:ABC");
        assert!(!sealed.contains("123:ABC"));
        assert_eq!(SecretBox::load_or_create(&key).unwrap().open(&sealed).unwrap(), "123:ABC");
        let other = SecretBox::load_or_create(&dir.path().join("other")).unwrap();
        assert!(other.open(&sealed).is_err());
    }
}
