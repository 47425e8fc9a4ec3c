//! The echo test plugin, version 2: the same channel, answering "v2".

const VERSION: &str = "2.0.0";
const REPLY: &str = "v2";
const OUTBOUND_HOSTS: &[&str] = &[];

include!("../../echo-v1/src/echo.rs");
