//! Resource holds: which channels rely on a provider resource (the `holds` import).

use rusqlite::params;

use super::{Db, StoreResult, Cached};

impl Db {
    pub fn hold_resource(&self, channel_id: &str, resource: &str) -> StoreResult<()> {
        self.conn().cached_execute("INSERT OR IGNORE INTO resource_holds (resource, channel_id) VALUES (?1, ?2)", params![resource, channel_id])?;
        Ok(())
    }

    /// Drops the channel's hold; whether another channel still holds the resource.
    pub fn release_resource(&self, channel_id: &str, resource: &str) -> StoreResult<bool> {
        let conn = self.conn();
        conn.cached_execute("DELETE FROM resource_holds WHERE resource = ?1 AND channel_id = ?2", params![resource, channel_id])?;
        let others: i64 = conn.cached_row("SELECT COUNT(*) FROM resource_holds WHERE resource = ?1", [resource], |row| row.get(0))?;
        Ok(others > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::backend::ChannelStore;
    use crate::store::block_on;
    use crate::store::Db;

    #[test]
    fn a_resource_is_released_for_good_only_by_its_last_holder_and_holds_go_with_their_channel() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let channel = |plugin: &str| block_on(db.create_channel(1, plugin, plugin, &[])).unwrap().id;
        let (messenger, instagram) = (channel("messenger"), channel("instagram"));
        db.hold_resource(&messenger, "meta:page:1").unwrap();
        db.hold_resource(&messenger, "meta:page:1").unwrap();
        db.hold_resource(&instagram, "meta:page:1").unwrap();
        assert!(db.release_resource(&messenger, "meta:page:1").unwrap(), "Instagram still holds the Page");
        assert!(!db.release_resource(&instagram, "meta:page:1").unwrap(), "the last holder");

        db.hold_resource(&messenger, "meta:page:2").unwrap();
        db.hold_resource(&instagram, "meta:page:2").unwrap();
        assert!(block_on(db.delete_channel(&messenger)).unwrap());
        assert!(!db.release_resource(&instagram, "meta:page:2").unwrap(), "the deleted channel's hold went with it");
    }
}
