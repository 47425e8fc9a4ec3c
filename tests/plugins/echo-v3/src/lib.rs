//! The echo test plugin, version 3: the same channel, answering "v3", and declaring an outbound
//! host the earlier versions did not (an upgrade that needs the operator's approval again).

const VERSION: &str = "3.0.0";
const REPLY: &str = "v3";
const OUTBOUND_HOSTS: &[&str] = &["api.echo.example"];

include!("../../echo-v1/src/echo.rs");
