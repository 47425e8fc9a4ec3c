//! End-to-end tests: the host over real HTTP with real plugin components.

mod api;
mod email;
mod lifecycle;
mod line;
mod sandbox;
mod telegram;
