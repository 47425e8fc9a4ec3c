//! End-to-end tests: the host over real HTTP with real plugin components.

mod api;
mod lifecycle;
mod line;
mod sandbox;
mod telegram;
mod webchat;
