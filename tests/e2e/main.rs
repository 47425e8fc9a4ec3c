//! End-to-end tests: the host over real HTTP with real plugin components.

mod admin_pages;
mod api;
mod instagram;
mod lifecycle;
mod line;
mod messenger;
mod oauth;
mod sandbox;
mod telegram;
mod twitter;
mod whatsapp_cloud;
mod whatsapp_onprem;
