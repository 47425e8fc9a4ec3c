//! End-to-end tests: the host over real HTTP with real plugin components.

mod api;
mod line;
mod sandbox;
mod telegram;
