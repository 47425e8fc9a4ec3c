//! Template switches: an admin turns a channel's template off (it cannot be sent) or on again.
//! Templates are enabled unless switched off.


#[cfg(test)]
mod tests {
    use crate::store::backend::ChannelStore;
    use crate::store::block_on;
    use crate::store::backend::InboxStore;
    use crate::store::{Db, Scope};
    use std::collections::BTreeSet;
    use crate::store::model::Connected;

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
        assert!(block_on(db.template_enabled(&a, Scope::Every, "order_update")).unwrap());
        block_on(db.set_template_enabled(&a, Scope::Every, "order_update", false)).unwrap();
        assert!(!block_on(db.template_enabled(&a, Scope::Every, "order_update")).unwrap());
        assert!(block_on(db.template_enabled(&b, Scope::Every, "order_update")).unwrap(), "another channel's template of the same name is untouched");
        assert_eq!(block_on(db.disabled_templates(&a, Scope::Every)).unwrap(), BTreeSet::from(["order_update".to_string()]));
        block_on(db.set_template_enabled(&a, Scope::Every, "order_update", true)).unwrap();
        assert!(block_on(db.disabled_templates(&a, Scope::Every)).unwrap().is_empty());
        block_on(db.set_template_enabled(&a, Scope::Every, "promo", false)).unwrap();
        block_on(db.forget_template(&a, Scope::Every, "promo")).unwrap();
        assert!(block_on(db.template_enabled(&a, Scope::Every, "promo")).unwrap());
        block_on(db.set_template_enabled(&b, Scope::Every, "promo", false)).unwrap();
        block_on(db.delete_channel(&b, Scope::Every)).unwrap();
        assert!(block_on(db.disabled_templates(&b, Scope::Every)).unwrap().is_empty(), "switches go with their channel");
    }
}
