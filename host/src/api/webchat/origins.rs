//! Which pages may run a channel's widget: the page's `Origin` against the channel's `domain`
//! setting. The webchat plugin checks the setting's grammar when the channel is connected:
//! entries `name`, `*.name`, either with `:port`, separated by commas or spaces.
//!
//! - `tokobudi.co.id` allows `tokobudi.co.id` and `www.tokobudi.co.id`;
//! - `*.tokobudi.co.id` allows `tokobudi.co.id` and every subdomain;
//! - without a port only the scheme's default port matches (`https://x` or `http://x`),
//!   with one (`127.0.0.1:8080`) only that port.

use axum::http::Uri;

/// Whether a page at `origin` (the `Origin` header: `scheme://host[:port]`) may run the widget.
pub fn allows(domain_setting: &str, origin: &str) -> bool {
    let Ok(uri) = origin.parse::<Uri>() else { return false };
    let (Some("http" | "https"), Some(host)) = (uri.scheme_str(), uri.host()) else { return false };
    if uri.path() != "/" && !uri.path().is_empty() {
        return false;
    }
    let host = host.to_ascii_lowercase();
    let port = uri.port_u16();
    domain_setting.split([',', ' ', '\n', '\t']).filter(|e| !e.is_empty()).any(|entry| {
        let entry = entry.to_ascii_lowercase();
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((name, port)) => (name, port.parse::<u16>().ok()),
            None => (entry.as_str(), None),
        };
        if entry_port != port {
            return false;
        }
        match name.strip_prefix("*.") {
            Some(parent) => host == parent || host.strip_suffix(parent).is_some_and(|sub| sub.ends_with('.')),
            None => host == name || host.strip_prefix("www.") == Some(name),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::allows;

    #[test]
    fn a_bare_domain_allows_itself_and_www_on_default_ports() {
        let setting = "TokoBudi.co.id";
        for origin in ["https://tokobudi.co.id", "http://tokobudi.co.id", "https://www.tokobudi.co.id", "https://TOKOBUDI.co.id"] {
            assert!(allows(setting, origin), "{origin}");
        }
        for origin in [
            "https://shop.tokobudi.co.id",
            "https://tokobudi.co.id.evil.test",
            "https://eviltokobudi.co.id",
            "https://tokobudi.co.id:8443",
            "ftp://tokobudi.co.id",
            "null",
            "",
            "tokobudi.co.id",
        ] {
            assert!(!allows(setting, origin), "{origin}");
        }
    }

    #[test]
    fn wildcards_ports_and_lists() {
        let setting = "*.toko.id, 127.0.0.1:8080 shop.example";
        for origin in ["https://toko.id", "https://a.toko.id", "https://a.b.toko.id", "http://127.0.0.1:8080", "https://shop.example"] {
            assert!(allows(setting, origin), "{origin}");
        }
        for origin in ["https://atoko.id", "http://127.0.0.1:8081", "http://127.0.0.1", "https://example"] {
            assert!(!allows(setting, origin), "{origin}");
        }
        assert!(!allows("", "https://toko.id"));
    }
}
