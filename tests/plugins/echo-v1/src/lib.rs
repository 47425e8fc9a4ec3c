//! The echo test plugin, version 1.

const VERSION: &str = "1.0.0";
const REPLY: &str = "v1";
const OUTBOUND_HOSTS: &[&str] = &[];

include!("echo.rs");
