//! The Python example plugin (`plugins-py/telegram-py`, componentize-py, world `plugin-http`)
//! built from source, passing the conformance check, and end to end in a host: connect, a
//! verified webhook into the inbox, a forged one refused, an agent's reply delivered — against
//! the same fake Bot API as the Rust and JavaScript Telegram plugins.

use switchboard_e2e::py_plugin::telegram_py;

use crate::second_language::{passes_the_check_with_its_fixtures, takes_a_customers_message_into_the_inbox_and_delivers_the_reply};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_plugin_passes_the_check_with_its_fixtures() {
    passes_the_check_with_its_fixtures(telegram_py(), "plugins-py/telegram-py/fixtures", "telegram-py 0.1.0 (contract 0.1.4)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_plugin_takes_a_customers_message_into_the_inbox_and_delivers_the_reply() {
    takes_a_customers_message_into_the_inbox_and_delivers_the_reply(telegram_py(), "telegram-py", "Toko Budi (Python)").await;
}
