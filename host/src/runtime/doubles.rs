//! Test doubles for the imports that reach outside the host (outbound HTTP, SMTP) and for the
//! log: what the plugin author's test kit plugs in (`switchboard plugin call --mock`).
//!
//! With doubles, nothing leaves the process, yet the plugin runs exactly as it does in a server:
//! the same engine, limits and outbound rules. A request to a host the plugin did not declare is
//! still denied by the policy before any double sees it; an SMTP server that is not one of the
//! channel's settings is still refused. Only what would have gone to the network is answered by
//! the double instead (no DNS, no connection).

/// A request the outbound rules let through, as the double sees it.
#[derive(Debug, Clone)]
pub struct DoubleRequest {
    pub method: String,
    pub url: String,
    /// Names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The double's answer.
#[derive(Debug, Clone)]
pub struct DoubleResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Mail the plugin sent through the `smtp` import.
#[derive(Debug, Clone)]
pub struct DoubleMail {
    /// `host:port` of the server the plugin named (one of the channel's settings).
    pub server: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub message: Vec<u8>,
}

/// Answers in place of the network, and hears the plugin's log.
pub trait ImportDoubles: Send + Sync {
    /// The answer to an allowed request; `Err` means no answer (the plugin sees a refused
    /// connection).
    fn http(&self, request: DoubleRequest) -> Result<DoubleResponse, String>;
    /// Mail sent; `Err(reason)` is the server refusing it (the plugin sees a provider error).
    fn smtp(&self, mail: DoubleMail) -> Result<(), String>;
    /// A plugin log line (`trace` to `error`).
    fn log(&self, level: &'static str, message: &str);
}
