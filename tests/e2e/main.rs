//! End-to-end tests: the host over real HTTP with real plugin components.

mod admin_pages;
mod api;
mod assignment;
mod audit;
mod email;
mod host_imports;
mod instagram;
mod lifecycle;
mod delivery;
mod line;
mod live_inbox;
mod media;
mod messenger;
mod oauth;
mod people;
mod plugin_check;
mod provider_apps;
mod sandbox;
mod second_language;
mod secrets;
mod telegram;
mod twitter;
mod webchat;
mod whatsapp_cloud;
mod whatsapp_onprem;
mod workspaces;
