-- The last holder of a provider resource tears it down after its release (a Page's webhook
-- subscription). Its hold stays, marked releasing, until its channel is deleted or the mark
-- lapses; a new hold of the resource waits meanwhile, so a channel connecting at that moment
-- sets the resource up again after the teardown, not before it (`store::backend::inbox`).
ALTER TABLE resource_holds ADD COLUMN releasing_until INTEGER;
