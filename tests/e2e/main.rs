//! End-to-end tests: the host over real HTTP with real plugin components.

mod api;
mod sandbox;
mod telegram;
mod whatsapp_cloud;
mod whatsapp_onprem;
