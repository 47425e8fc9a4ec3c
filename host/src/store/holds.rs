//! Resource holds: which channels rely on a provider resource (the `holds` import).


#[cfg(test)]
mod tests {
    use crate::store::backend::ChannelStore;
    use crate::store::block_on;
    use crate::store::backend::InboxStore;
    use crate::store::{Db, Scope};

    #[test]
    fn a_resource_is_released_for_good_only_by_its_last_holder_and_holds_go_with_their_channel() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let channel = |plugin: &str| block_on(db.create_channel(1, plugin, plugin, &[])).unwrap().id;
        let (messenger, instagram) = (channel("messenger"), channel("instagram"));
        block_on(db.hold_resource(&messenger, "meta:page:1")).unwrap();
        block_on(db.hold_resource(&messenger, "meta:page:1")).unwrap();
        block_on(db.hold_resource(&instagram, "meta:page:1")).unwrap();
        assert!(block_on(db.release_resource(&messenger, "meta:page:1")).unwrap(), "Instagram still holds the Page");
        assert!(!block_on(db.release_resource(&instagram, "meta:page:1")).unwrap(), "the last holder");

        block_on(db.hold_resource(&messenger, "meta:page:2")).unwrap();
        block_on(db.hold_resource(&instagram, "meta:page:2")).unwrap();
        assert!(block_on(db.delete_channel(&messenger, Scope::Every)).unwrap());
        assert!(!block_on(db.release_resource(&instagram, "meta:page:2")).unwrap(), "the deleted channel's hold went with it");
    }
}
