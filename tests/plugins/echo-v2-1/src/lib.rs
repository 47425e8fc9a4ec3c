//! The echo test plugin, version 2.1: the same channel, answering "v2.1", a compatible (same
//! major) upgrade of 2.0.0 that declares an outbound host 2.0.0 did not, so upgrading to it
//! needs the operator's approval (the catalogue's "Upgrade to 2.1.0").

const VERSION: &str = "2.1.0";
const REPLY: &str = "v2.1";
const OUTBOUND_HOSTS: &[&str] = &["api.echo.example"];

include!("../../echo-v1/src/echo.rs");
