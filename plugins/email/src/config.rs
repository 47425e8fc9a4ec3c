//! The channel's settings: the form, and every field checked with a reason per field.

use switchboard_sdk::smtp::{Security, SmtpServer};
use switchboard_sdk::{ChannelContext, ChannelError, Field, FieldError, FieldKind};

pub const DEFAULT_PORT: &str = "587";
pub const DEFAULT_SECURITY: &str = "starttls";

pub fn schema() -> Vec<Field> {
    vec![
        Field::new("email", "Business email address", FieldKind::Email)
            .required()
            .help("The address customers write to; replies go out from it, e.g. support@tokobudi.co.id"),
        Field::new("display_name", "Display name", FieldKind::Text)
            .required()
            .help("The sender name customers see on replies, e.g. Toko Budi Support"),
        Field::new("smtp_host", "SMTP server", FieldKind::Text)
            .required()
            .help("The mailbox's outgoing server, e.g. smtp.gmail.com, smtp.office365.com or your company's server"),
        Field::new("smtp_port", "SMTP port", FieldKind::Number)
            .default_value(DEFAULT_PORT)
            .help("587 with STARTTLS, 465 with TLS"),
        Field::new("smtp_username", "SMTP username", FieldKind::Text)
            .help("Usually the email address; leave empty for a server that takes mail without a login"),
        Field::new("smtp_password", "SMTP password", FieldKind::Secret)
            .help("Gmail and Outlook with two-step verification need an app password"),
        Field::new("smtp_security", "SMTP security", FieldKind::Select)
            .default_value(DEFAULT_SECURITY)
            .options([
                ("starttls", "STARTTLS (port 587)"),
                ("tls", "TLS (port 465)"),
                ("none", "None: plain text, only for a relay on a trusted network"),
            ]),
    ]
}

/// The settings, checked. Not `Debug`: it holds the SMTP password.
pub struct Config {
    pub email: String,
    pub display_name: String,
    pub server: SmtpServer,
}

impl Config {
    /// Reads and checks every setting; all problems at once, per field.
    pub fn read(ctx: &ChannelContext) -> Result<Self, ChannelError> {
        let mut errors = Vec::new();
        let mut problem = |key: &str, message: &str| errors.push(FieldError { key: key.into(), message: message.into() });

        let email = ctx.setting("email").unwrap_or_default().trim().to_owned();
        if email.is_empty() {
            problem("email", "field is required");
        } else if !is_address(&email) {
            problem("email", "must be an email address like support@example.com");
        }
        let display_name = ctx.setting("display_name").unwrap_or_default().trim().to_owned();
        if display_name.is_empty() {
            problem("display_name", "field is required");
        } else if display_name.chars().any(char::is_control) {
            problem("display_name", "must be one line of text");
        } else if display_name.chars().count() > 100 {
            problem("display_name", "must be at most 100 characters");
        }
        let host = ctx.setting("smtp_host").unwrap_or_default().trim().to_owned();
        if host.is_empty() {
            problem("smtp_host", "field is required");
        } else if let Err(message) = check_host(&host) {
            problem("smtp_host", message);
        }
        let port = ctx.setting_or("smtp_port", DEFAULT_PORT).trim();
        let port = match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => {
                problem("smtp_port", "must be a port number from 1 to 65535");
                0
            }
        };
        let security = match ctx.setting_or("smtp_security", DEFAULT_SECURITY) {
            "none" => Security::None,
            "starttls" => Security::Starttls,
            "tls" => Security::Tls,
            _ => {
                problem("smtp_security", "must be one of: starttls, tls, none");
                Security::Starttls
            }
        };
        let username = ctx.setting("smtp_username").map(|u| u.trim().to_owned());
        let password = ctx.setting("smtp_password").map(str::to_owned);
        match (&username, &password) {
            (Some(_), None) => problem("smtp_password", "field is required with a username"),
            (None, Some(_)) => problem("smtp_username", "field is required with a password"),
            _ => {}
        }
        if !errors.is_empty() {
            return Err(ChannelError::InvalidSettings(errors));
        }
        Ok(Self { email, display_name, server: SmtpServer { host, port, security, username, password } })
    }

    /// The part after `@` of the business address.
    pub fn domain(&self) -> &str {
        self.email.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

/// `local@domain.tld`, as a sending address must be: no spaces, quotes or brackets, a
/// domain of dot-separated labels.
pub fn is_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    local_ok && domain.contains('.') && check_host(domain).is_ok() && domain.parse::<std::net::IpAddr>().is_err()
}

/// A host name or an IP address, without scheme or port.
fn check_host(host: &str) -> Result<(), &'static str> {
    if host.contains("://") {
        return Err("must be a host name only, like smtp.example.com (no smtp:// in front)");
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if host.contains(':') {
        return Err("must be a host name only; the port goes in smtp_port");
    }
    let labels_ok = host.len() <= 253
        && host.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if labels_ok { Ok(()) } else { Err("must be a host name like smtp.example.com or an IP address") }
}
