//! Template switches: an admin turns a channel's template off (it cannot be sent) or on again.
//! Templates are enabled unless switched off.

use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, params};

use super::{Db, StoreResult, now_ms, Cached};

impl Db {
    /// Names of the channel's templates that are switched off.
    pub fn disabled_templates(&self, channel_id: &str) -> StoreResult<BTreeSet<String>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached("SELECT name FROM template_switches WHERE channel_id = ?1 AND enabled = 0")?;
        let names = statement.query_map([channel_id], |row| row.get(0))?;
        Ok(names.collect::<Result<_, _>>()?)
    }

    pub fn template_enabled(&self, channel_id: &str, name: &str) -> StoreResult<bool> {
        let enabled: Option<bool> = self
            .reader()
            .cached_row("SELECT enabled FROM template_switches WHERE channel_id = ?1 AND name = ?2", [channel_id, name], |row| row.get(0))
            .optional()?;
        Ok(enabled.unwrap_or(true))
    }

    pub fn set_template_enabled(&self, channel_id: &str, name: &str, enabled: bool) -> StoreResult<()> {
        self.conn().cached_execute(
            "INSERT INTO template_switches (channel_id, name, enabled, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (channel_id, name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
            params![channel_id, name, enabled, now_ms()],
        )?;
        Ok(())
    }

    /// Drops the switch of a deleted template, so a new one of the same name starts enabled.
    pub fn forget_template(&self, channel_id: &str, name: &str) -> StoreResult<()> {
        self.conn().cached_execute("DELETE FROM template_switches WHERE channel_id = ?1 AND name = ?2", [channel_id, name])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::backend::ChannelStore;
    use crate::store::block_on;
    use super::*;
    use crate::store::channels::Connected;

    #[test]
    fn templates_are_on_until_switched_off_and_switches_are_per_channel() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let channel = |name| {
            let channel = block_on(db.create_channel(1, "whatsapp-cloud", name, &[])).unwrap();
            block_on(db.mark_connected(&channel.id, &Connected { display_name: name, external_account_id: name, setup: &[] })).unwrap();
            channel.id
        };
        let (a, b) = (channel("a"), channel("b"));
        assert!(db.template_enabled(&a, "order_update").unwrap());
        db.set_template_enabled(&a, "order_update", false).unwrap();
        assert!(!db.template_enabled(&a, "order_update").unwrap());
        assert!(db.template_enabled(&b, "order_update").unwrap(), "another channel's template of the same name is untouched");
        assert_eq!(db.disabled_templates(&a).unwrap(), BTreeSet::from(["order_update".to_string()]));
        db.set_template_enabled(&a, "order_update", true).unwrap();
        assert!(db.disabled_templates(&a).unwrap().is_empty());
        db.set_template_enabled(&a, "promo", false).unwrap();
        db.forget_template(&a, "promo").unwrap();
        assert!(db.template_enabled(&a, "promo").unwrap());
        db.set_template_enabled(&b, "promo", false).unwrap();
        block_on(db.delete_channel(&b)).unwrap();
        assert!(db.disabled_templates(&b).unwrap().is_empty(), "switches go with their channel");
    }
}
