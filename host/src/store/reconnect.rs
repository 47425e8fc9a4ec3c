//! Channels that need reconnecting: their provider refused the stored credentials (a revoked
//! or expired token). Marked by the outbox when a send is refused as unauthorized, cleared by
//! a successful connect. The row is `model::Reconnect`; its operations are in
//! `backend/inbox.rs` (`mark_needs_reconnect`, …).

#[cfg(test)]
mod tests {
    use crate::store::backend::ChannelStore;
    use crate::store::block_on;
    use crate::store::backend::InboxStore;
    use crate::store::{Db, Scope};
    use crate::store::model::SettingValue;

    #[test]
    fn marked_until_cleared_keeping_the_first_time_and_gone_with_the_channel() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let channel = block_on(db.create_channel(1, "messenger", "Toko", &[SettingValue { key: "page_id", value: "1", secret: false }])).unwrap();
        assert_eq!(block_on(db.needs_reconnect(&channel.id, Scope::Every)).unwrap(), None);
        block_on(db.mark_needs_reconnect(&channel.id, "token revoked")).unwrap();
        let first = block_on(db.needs_reconnect(&channel.id, Scope::Every)).unwrap().unwrap();
        block_on(db.mark_needs_reconnect(&channel.id, "token expired")).unwrap();
        let again = block_on(db.needs_reconnect(&channel.id, Scope::Every)).unwrap().unwrap();
        assert_eq!((again.reason.as_str(), again.since), ("token expired", first.since));
        block_on(db.clear_needs_reconnect(&channel.id)).unwrap();
        assert_eq!(block_on(db.needs_reconnect(&channel.id, Scope::Every)).unwrap(), None);
        block_on(db.mark_needs_reconnect(&channel.id, "token revoked")).unwrap();
        block_on(db.delete_channel(&channel.id, Scope::Every)).unwrap();
        assert_eq!(block_on(db.needs_reconnect(&channel.id, Scope::Every)).unwrap(), None);
    }
}
