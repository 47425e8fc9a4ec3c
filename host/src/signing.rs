//! Plugin signatures: an Ed25519 signature over the SHA-256 of the component, carried inside
//! the component as its last custom section (`switchboard-signature`).
//!
//! Why a custom section and not a detached `.sig` file: a plugin stays one file wherever it
//! goes (the plugins folder, an upload body, a download), so a signature cannot be separated
//! from what it signs or forgotten; custom sections are ignored by the runtime, so a signed
//! component runs unchanged. What is signed is the component without that section (the bytes
//! before it), so signing again replaces the signature rather than nesting it.
//!
//! Keys are printed and configured as base64 (32 bytes); a signing key file holds the 32-byte
//! seed in base64 and must stay private.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use ed25519_dalek::{Signature, Signer, Verifier};
use sha2::{Digest, Sha256};

pub const SECTION_NAME: &str = "switchboard-signature";

/// What a component's signature says, judged against the trusted keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed by this trusted key (base64).
    Trusted(String),
    Unsigned,
    /// A valid signature by a key that is not trusted here (base64).
    UntrustedKey(String),
    /// A signature section that does not verify: the component was changed after signing,
    /// or the section is malformed.
    Invalid(String),
    /// Not a WebAssembly binary at all: the loader refuses it with its own reason (a binary
    /// whose sections cannot be walked cannot be a component either).
    NotWasm,
}

impl Verdict {
    /// Why the host refuses it, when it does (`allow_unsigned` lets unsigned ones through).
    pub fn refusal(&self, allow_unsigned: bool) -> Option<String> {
        match self {
            Self::Trusted(_) | Self::NotWasm => None,
            Self::Unsigned if allow_unsigned => None,
            Self::Unsigned => Some(
                "the component is not signed; sign it with `switchboard plugin sign` and a key this host trusts \
                 (trusted_keys), or start the host with --allow-unsigned-plugins"
                    .into(),
            ),
            Self::UntrustedKey(key) => Some(format!("the component is signed by {key}, a key this host does not trust (trusted_keys)")),
            Self::Invalid(why) => Some(format!("the component's signature does not verify: {why}")),
        }
    }

    /// The signer to show (`None`: unsigned).
    pub fn signer(&self) -> Option<String> {
        match self {
            Self::Trusted(key) | Self::UntrustedKey(key) => Some(key.clone()),
            _ => None,
        }
    }
}

/// A public key as configured (`trusted_keys`, `--trusted-key`): base64 of 32 bytes.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = BASE64.decode(text.trim()).map_err(|_| format!("`{text}` is not base64"))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| format!("`{text}` is not a 32-byte Ed25519 public key"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("`{text}` is not an Ed25519 public key: {e}"))
}

pub fn encode_public_key(key: &VerifyingKey) -> String {
    BASE64.encode(key.as_bytes())
}

/// A new signing key: (the key file's text, the public key to trust).
pub fn generate() -> (String, String) {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    (BASE64.encode(key.to_bytes()), encode_public_key(&key.verifying_key()))
}

pub fn parse_signing_key(text: &str) -> Result<SigningKey, String> {
    let bytes = BASE64.decode(text.trim()).map_err(|_| "the key file is not base64 (made by `switchboard plugin keygen`)".to_owned())?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| "the key file does not hold a 32-byte Ed25519 key".to_owned())?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The component with its signature (any earlier one replaced).
pub fn sign(component: &[u8], key: &SigningKey) -> Result<Vec<u8>, String> {
    let (unsigned, _) = split(component)?;
    let signature = key.sign(&Sha256::digest(unsigned));
    let payload = serde_json::json!({
        "key": encode_public_key(&key.verifying_key()),
        "signature": BASE64.encode(signature.to_bytes()),
    })
    .to_string();
    let mut signed = unsigned.to_vec();
    let mut section = Vec::new();
    leb128(&mut section, SECTION_NAME.len() as u64);
    section.extend_from_slice(SECTION_NAME.as_bytes());
    section.extend_from_slice(payload.as_bytes());
    signed.push(0); // custom section
    leb128(&mut signed, section.len() as u64);
    signed.extend_from_slice(&section);
    Ok(signed)
}

/// Judges a component's signature against `trusted` keys.
pub fn verify(component: &[u8], trusted: &[VerifyingKey]) -> Verdict {
    let Ok((unsigned, payload)) = split(component) else { return Verdict::NotWasm };
    let Some(payload) = payload else { return Verdict::Unsigned };
    let parsed: Result<(VerifyingKey, Signature), String> = (|| {
        let value: serde_json::Value = serde_json::from_slice(payload).map_err(|_| "the signature section is not JSON".to_owned())?;
        let key = parse_public_key(value["key"].as_str().unwrap_or_default())?;
        let signature = BASE64.decode(value["signature"].as_str().unwrap_or_default()).map_err(|_| "the signature is not base64".to_owned())?;
        let signature = Signature::from_slice(&signature).map_err(|_| "the signature is not 64 bytes".to_owned())?;
        Ok((key, signature))
    })();
    let (key, signature) = match parsed {
        Ok(parsed) => parsed,
        Err(why) => return Verdict::Invalid(why),
    };
    if key.verify(&Sha256::digest(unsigned), &signature).is_err() {
        return Verdict::Invalid(format!("it was changed after {} signed it", encode_public_key(&key)));
    }
    if trusted.contains(&key) { Verdict::Trusted(encode_public_key(&key)) } else { Verdict::UntrustedKey(encode_public_key(&key)) }
}

/// The component before its signature section, and that section's payload if it is the last
/// section. Walks the section headers of the binary (component or module).
fn split(bytes: &[u8]) -> Result<(&[u8], Option<&[u8]>), String> {
    const PREAMBLE: usize = 8;
    if bytes.len() < PREAMBLE || &bytes[..4] != b"\0asm" {
        return Err("not a WebAssembly binary".into());
    }
    let mut at = PREAMBLE;
    let mut last = None;
    while at < bytes.len() {
        let start = at;
        let id = bytes[at];
        at += 1;
        let (size, read) = read_leb128(&bytes[at..]).ok_or("a section header is cut off")?;
        at += read;
        let end = at.checked_add(size as usize).filter(|&end| end <= bytes.len()).ok_or("a section runs past the end")?;
        last = Some((start, id, at, end));
        at = end;
    }
    if let Some((start, 0, payload_at, end)) = last {
        let section = &bytes[payload_at..end];
        if let Some((name_len, read)) = read_leb128(section) {
            let name = section.get(read..read + name_len as usize);
            if name == Some(SECTION_NAME.as_bytes()) {
                return Ok((&bytes[..start], Some(&section[read + name_len as usize..])));
            }
        }
    }
    Ok((bytes, None))
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        out.push(if value == 0 { byte } else { byte | 0x80 });
        if value == 0 {
            break;
        }
    }
}

fn read_leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component() -> Vec<u8> {
        wat::parse_str(r#"(component (core module (func (export "f"))))"#).unwrap()
    }

    #[test]
    fn a_signed_component_verifies_only_under_its_trusted_key_and_not_once_changed() {
        let (secret, public) = generate();
        let key = parse_signing_key(&secret).unwrap();
        let trusted = [parse_public_key(&public).unwrap()];
        let original = component();
        assert_eq!(verify(&original, &trusted), Verdict::Unsigned);
        let signed = sign(&original, &key).unwrap();
        assert_eq!(verify(&signed, &trusted), Verdict::Trusted(public.clone()));
        assert_eq!(verify(&signed, &[]), Verdict::UntrustedKey(public.clone()));
        // Signing again replaces the signature; the unsigned part is the original.
        let again = sign(&signed, &key).unwrap();
        assert_eq!(again.len(), signed.len());
        assert_eq!(split(&again).unwrap().0, original.as_slice());
        // One byte changed anywhere before the signature: refused.
        let mut tampered = signed.clone();
        tampered[original.len() / 2] ^= 1;
        assert!(matches!(verify(&tampered, &trusted), Verdict::Invalid(_)), "{:?}", verify(&tampered, &trusted));
        // Another key's signature over the same bytes is not the trusted key's.
        let (other, _) = generate();
        let by_other = sign(&original, &parse_signing_key(&other).unwrap()).unwrap();
        assert!(matches!(verify(&by_other, &trusted), Verdict::UntrustedKey(_)));
        assert!(Verdict::Unsigned.refusal(false).unwrap().contains("--allow-unsigned-plugins"));
        assert_eq!(Verdict::Unsigned.refusal(true), None);
    }
}
