//! The store's rows in one place: what the store reads and writes, whichever backend, and what
//! the API, the outbox and the plugins' bindings convert from and to at their edges. The
//! statements that read and write them live per aggregate beside this module (`store/<aggregate>.rs`,
//! `store/backend/`, `store/pg/`), with the row readers (`Raw*`) that decode columns.

mod activity;
mod audit;
mod channel;
mod content;
mod conversation;
mod message;
mod people;
mod webhooks;

pub use activity::*;
pub use audit::*;
pub use channel::*;
pub use content::*;
pub use conversation::*;
pub use message::*;
pub use people::*;
pub use webhooks::*;
