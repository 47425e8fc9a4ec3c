//! OAuth 1.0a request signatures (RFC 5849, HMAC-SHA1), as X checks them on every API call.
//! Pure code: built and tested natively against X's documented example.
//!
//! Signature base string: `METHOD&pct(url without query)&pct(sorted pct(k)=pct(v) of the
//! query and oauth_* parameters joined by &)`; a JSON body is not part of it. Key:
//! `pct(consumer secret)&pct(token secret)`.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use switchboard_sdk::base64::Engine as _;
use switchboard_sdk::base64::engine::general_purpose::STANDARD as BASE64;

/// The app's (consumer) credentials and, once there is one, the token acting for a user.
pub struct Credentials<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    /// `None` for `oauth/request_token` (no token yet).
    pub token: Option<&'a str>,
    pub token_secret: &'a str,
}

/// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - . _ ~`, hex in upper case.
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The `oauth_signature` of a request with these oauth_* and query/form parameters.
pub fn signature(method: &str, url: &str, params: &[(&str, &str)], consumer_secret: &str, token_secret: &str) -> String {
    let mut encoded: Vec<(String, String)> = params.iter().map(|(k, v)| (percent_encode(k), percent_encode(v))).collect();
    encoded.sort();
    let normalized = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let base = format!("{}&{}&{}", method.to_ascii_uppercase(), percent_encode(url), percent_encode(&normalized));
    let key = format!("{}&{}", percent_encode(consumer_secret), percent_encode(token_secret));
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(base.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The `Authorization: OAuth ...` header for a request. `url` is without its query; `query`
/// holds the query (or form body) parameters, decoded; `extra` the other oauth_* parameters of
/// the call (`oauth_callback`, `oauth_verifier`).
pub fn authorization(
    method: &str,
    url: &str,
    query: &[(&str, &str)],
    extra: &[(&str, &str)],
    credentials: &Credentials,
    nonce: &str,
    timestamp: u64,
) -> String {
    let timestamp = timestamp.to_string();
    let mut oauth: Vec<(&str, &str)> = vec![
        ("oauth_consumer_key", credentials.consumer_key),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", &timestamp),
        ("oauth_version", "1.0"),
    ];
    if let Some(token) = credentials.token {
        oauth.push(("oauth_token", token));
    }
    oauth.extend_from_slice(extra);
    let all: Vec<(&str, &str)> = oauth.iter().chain(query).copied().collect();
    let signature = signature(method, url, &all, credentials.consumer_secret, credentials.token_secret);
    oauth.push(("oauth_signature", &signature));
    oauth.sort();
    let fields: Vec<String> = oauth.iter().map(|(k, v)| format!("{}=\"{}\"", percent_encode(k), percent_encode(v))).collect();
    format!("OAuth {}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X's documented example (providers.md's known-answer vector).
    #[test]
    fn x_documented_example_known_answer() {
        let credentials = Credentials {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog",
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            token: Some("370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
            token_secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        };
        let header = authorization(
            "post",
            "https://api.twitter.com/1/statuses/update.json",
            &[("include_entities", "true"), ("status", "Hello Ladies + Gentlemen, a signed OAuth request!")],
            &[],
            &credentials,
            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
            1_318_622_958,
        );
        assert!(header.starts_with("OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", oauth_nonce="), "{header}");
        assert!(header.contains("oauth_signature=\"tnnArxj06cWHq44gCs1OSKk%2FjLY%3D\""), "{header}");
        assert!(header.contains("oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\""), "{header}");
    }

    #[test]
    fn percent_encoding_is_rfc3986() {
        assert_eq!(percent_encode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(percent_encode("☃!*"), "%E2%98%83%21%2A");
    }

    #[test]
    fn a_changed_parameter_or_secret_changes_the_signature() {
        let base = signature("GET", "https://x.test/a", &[("a", "1")], "cs", "ts");
        assert_ne!(base, signature("GET", "https://x.test/a", &[("a", "2")], "cs", "ts"));
        assert_ne!(base, signature("GET", "https://x.test/a", &[("a", "1")], "cs", "other"));
        assert_ne!(base, signature("POST", "https://x.test/a", &[("a", "1")], "cs", "ts"));
    }
}
