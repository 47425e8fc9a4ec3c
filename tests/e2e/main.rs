//! End-to-end tests: the host over real HTTP with real plugin components.

mod api;
mod instagram;
mod lifecycle;
mod line;
mod messenger;
mod oauth;
mod sandbox;
mod telegram;
