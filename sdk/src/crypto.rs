//! Webhook signature checks. Comparisons run in constant time (the `hmac` and `subtle`
//! crates), so a forger learns nothing from how fast a wrong signature is refused.
//! Pure functions: they build and are tested natively.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], message: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(message);
    mac
}

/// HMAC-SHA256 of `message` under `secret` (for answering challenges such as X's CRC).
pub fn hmac_sha256(secret: impl AsRef<[u8]>, message: impl AsRef<[u8]>) -> [u8; 32] {
    mac(secret.as_ref(), message.as_ref()).finalize().into_bytes().into()
}

/// Whether `signature` is HMAC-SHA256(`secret`, `message`), compared in constant time.
pub fn verify_hmac_sha256(
    secret: impl AsRef<[u8]>,
    message: impl AsRef<[u8]>,
    signature: &[u8],
) -> bool {
    mac(secret.as_ref(), message.as_ref())
        .verify_slice(signature)
        .is_ok()
}

/// [`verify_hmac_sha256`] with the signature in hex (either case), as Meta sends it after
/// `sha256=`. A signature that is not hex is simply wrong.
pub fn verify_hmac_sha256_hex(
    secret: impl AsRef<[u8]>,
    message: impl AsRef<[u8]>,
    signature_hex: &str,
) -> bool {
    hex::decode(signature_hex).is_ok_and(|signature| verify_hmac_sha256(secret, message, &signature))
}

/// [`verify_hmac_sha256`] with the signature in standard base64, as LINE and X send it.
/// A signature that is not base64 is simply wrong.
pub fn verify_hmac_sha256_base64(
    secret: impl AsRef<[u8]>,
    message: impl AsRef<[u8]>,
    signature_base64: &str,
) -> bool {
    BASE64
        .decode(signature_base64)
        .is_ok_and(|signature| verify_hmac_sha256(secret, message, &signature))
}

/// Constant-time equality of two secrets (tokens in headers, verify tokens). Only the length
/// can leak, which for the host's fixed-length secrets tells nothing.
pub fn secure_eq(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> bool {
    a.as_ref().ct_eq(b.as_ref()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers from ../shared/providers.md (computed with Python's hmac).
    const BODY: &str = r#"{"destination":"U123","events":[]}"#;
    const LINE_SIGNATURE: &str = "7FPl1ND8IvDlA1pSrvPg+JRSaknKZ9X7TP2/HMyJfPI=";
    const META_SIGNATURE: &str = "b43553c0321627a3468834dfbd28b53f9722629a6a468619c77e849a23c8a15c";

    #[test]
    fn base64_known_answer() {
        assert!(verify_hmac_sha256_base64("channelsecret", BODY, LINE_SIGNATURE));
        assert_eq!(BASE64.encode(hmac_sha256("channelsecret", BODY)), LINE_SIGNATURE);
    }

    #[test]
    fn hex_known_answer_in_either_case() {
        assert!(verify_hmac_sha256_hex("appsecret", BODY, META_SIGNATURE));
        assert!(verify_hmac_sha256_hex("appsecret", BODY, &META_SIGNATURE.to_uppercase()));
    }

    #[test]
    fn wrong_secret_body_or_signature_fails() {
        assert!(!verify_hmac_sha256_base64("othersecret", BODY, LINE_SIGNATURE));
        assert!(!verify_hmac_sha256_hex("appsecret", format!("{BODY} "), META_SIGNATURE));
        let mut flipped = META_SIGNATURE.to_string();
        flipped.replace_range(0..1, "c");
        assert!(!verify_hmac_sha256_hex("appsecret", BODY, &flipped));
        // The right signature for another scheme is not accepted either.
        assert!(!verify_hmac_sha256_base64("appsecret", BODY, LINE_SIGNATURE));
    }

    #[test]
    fn malformed_or_truncated_signatures_are_false() {
        for bad in ["", "sha256=b435", "zz", "not hex at all", &META_SIGNATURE[..63], &META_SIGNATURE[..62]] {
            assert!(!verify_hmac_sha256_hex("appsecret", BODY, bad), "{bad:?}");
        }
        for bad in ["", "%%%", "7FPl1ND8", "7FPl1ND8IvDlA1pSrvPg+JRSaknKZ9X7TP2/HMyJfPI"] {
            assert!(!verify_hmac_sha256_base64("channelsecret", BODY, bad), "{bad:?}");
        }
    }

    #[test]
    fn secure_eq_compares_whole_values() {
        assert!(secure_eq("abc", "abc"));
        assert!(!secure_eq("abc", "abd"));
        assert!(!secure_eq("abc", "abcd"));
        assert!(!secure_eq("", "a"));
        assert!(secure_eq("", ""));
    }
}
