//! Attachments' files: the fetch job an inbound message queues (due, retried with its reason,
//! stored or failed for good, or forgotten), each message's files, uploads, and the stored bytes
//! no file names any more.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard::media::Media;
use switchboard::store::backend::{BlobBytes, Store};
use switchboard::store::model::{Connected, EventRecord, FileRecord, MediaFile, StoredBytes};
use switchboard::store::{Scope, now_ms};

use crate::each_backend;
use crate::messages::inbound;

/// Where a test's sweeps drop bytes: what they dropped, in order.
#[derive(Clone, Default)]
struct Dropped(Arc<Mutex<Vec<String>>>);

impl Dropped {
    fn sorted(&self) -> Vec<String> {
        let mut dropped = self.0.lock().unwrap().clone();
        dropped.sort();
        dropped
    }
}

impl BlobBytes for Dropped {
    fn drop_bytes(&self, sha256: &str) -> std::io::Result<()> {
        self.0.lock().unwrap().push(sha256.to_owned());
        Ok(())
    }
}

/// A disk that refuses to delete.
struct Refusing;

impl BlobBytes for Refusing {
    fn drop_bytes(&self, _: &str) -> std::io::Result<()> {
        Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
    }
}

fn bytes(hex: &str, size: i64, mime_type: &str) -> StoredBytes {
    StoredBytes { sha256: hex.repeat(32), size, mime_type: mime_type.into() }
}

fn fetch(position: usize, filename: &str) -> FileRecord {
    FileRecord::Fetch { position, filename: Some(filename.into()) }
}

/// What an agent sees of a file: its message and place, state, reason and attempts.
fn seen(file: &MediaFile) -> (Option<i64>, i64, &str, Option<&str>, u32) {
    (file.message_id, file.position, file.state.as_str(), file.error.as_deref(), file.attempts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_an_inbound_message_queues_is_due_retried_with_its_reason_then_stored_or_failed_or_forgotten() {
    each_backend(async |backend| {
        let (node1, node2, node3, name, channel) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name, backend.channel.as_str());
        assert_eq!(node1.next_media_at().await.unwrap(), None, "{name}: nothing to fetch yet");
        let before = now_ms();
        let photo_and_receipt = EventRecord::Message { inbound: inbound(1, "600", before - 1_000), files: vec![fetch(0, "foto.jpg"), fetch(1, "nota.pdf")] };
        let first = node1.record_events(channel, vec![photo_and_receipt]).await.unwrap().messages[0].id;
        let voice_note = EventRecord::Message { inbound: inbound(2, "601", before - 500), files: vec![fetch(0, "suara.ogg")] };
        let second = node2.record_events(channel, vec![voice_note]).await.unwrap().messages[0].id;

        // Due on any node, oldest first; a node leaves out what it is fetching already.
        let due = node2.due_media(10, &[]).await.unwrap();
        let due_seen: Vec<_> = due.iter().map(seen).collect();
        assert_eq!(due_seen, vec![(Some(first), 0, "pending", None, 0), (Some(first), 1, "pending", None, 0), (Some(second), 0, "pending", None, 0)], "{name}");
        let (photo, receipt, voice) = (due[0].id, due[1].id, due[2].id);
        assert_eq!(due[0].filename.as_deref(), Some("foto.jpg"), "{name}");
        assert_eq!((due[0].channel_id.as_deref(), due[0].workspace_id), (Some(channel), 1), "{name}");
        assert_eq!(due[0].url, format!("/api/v1/media/{photo}"), "{name}");
        assert_eq!(node3.due_media(1, &[]).await.unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), vec![photo], "{name}: at most the limit");
        assert_eq!(node3.due_media(10, &[photo, voice]).await.unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), vec![receipt], "{name}");
        let next = node1.next_media_at().await.unwrap().unwrap_or_else(|| panic!("{name}: a fetch is due"));
        assert!(next >= before && next <= now_ms(), "{name}: due since it was queued ({next})");

        // The provider failed once (counted), and the receipt was not ready yet (not counted).
        let (in_a_minute, in_two) = (now_ms() + 60_000, now_ms() + 120_000);
        node3.media_retry(photo, in_a_minute, "the provider answered 503".into(), true).await.unwrap();
        node3.media_retry(receipt, in_two, "not ready at the provider yet".into(), false).await.unwrap();
        let photo_now = node1.media_file(photo, Scope::Every).await.unwrap().unwrap();
        assert_eq!(seen(&photo_now), (Some(first), 0, "pending", Some("the provider answered 503"), 1), "{name}");
        let receipt_now = node2.media_file(receipt, Scope::Every).await.unwrap().unwrap();
        assert_eq!(seen(&receipt_now), (Some(first), 1, "pending", Some("not ready at the provider yet"), 0), "{name}");
        assert_eq!(node1.due_media(10, &[]).await.unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), vec![voice], "{name}: retries wait");
        assert!(node1.next_media_at().await.unwrap().is_some_and(|at| at <= now_ms()), "{name}: the voice note is still due");

        // The photo's bytes come in on node 2: stored, its reason gone, its blob recorded.
        node2.media_stored(photo, bytes("ab", 48_213, "image/jpeg")).await.unwrap();
        let stored = node3.media_file(photo, Scope::Every).await.unwrap().unwrap();
        assert_eq!(seen(&stored), (Some(first), 0, "stored", None, 1), "{name}");
        assert_eq!((stored.sha256, stored.size, stored.mime_type.as_deref()), (Some("ab".repeat(32)), Some(48_213), Some("image/jpeg")), "{name}");
        assert_eq!(backend.texts("SELECT sha256 FROM media_blobs").await, vec!["ab".repeat(32)], "{name}");
        // Outcomes reported late by a node whose claim lapsed while another stored the file
        // change nothing.
        node1.media_failed(photo, "timed out".into()).await.unwrap();
        node1.media_retry(photo, in_a_minute, "the provider answered 503".into(), true).await.unwrap();
        assert_eq!(seen(&node3.media_file(photo, Scope::Every).await.unwrap().unwrap()), (Some(first), 0, "stored", None, 1), "{name}: still stored");

        // The receipt failed for good; the voice note had no file after all.
        node1.media_failed(receipt, "the file expired at the provider".into()).await.unwrap();
        let failed = node3.media_file(receipt, Scope::Every).await.unwrap().unwrap();
        assert_eq!(seen(&failed), (Some(first), 1, "failed", Some("the file expired at the provider"), 1), "{name}: counted as an attempt");
        node3.media_forget(voice).await.unwrap();
        assert!(node1.media_file(voice, Scope::Every).await.unwrap().is_none(), "{name}");
        assert!(node2.due_media(10, &[]).await.unwrap().is_empty(), "{name}");
        assert_eq!(node2.next_media_at().await.unwrap(), None, "{name}: nothing left to fetch");

        // Each message's files, by message and position; the voice note's message has none now.
        let files = node1.media_of_messages(&[second, first, i64::MAX]).await.unwrap();
        assert_eq!(files.iter().map(|f| (f.id, f.state.as_str())).collect::<Vec<_>>(), vec![(photo, "stored"), (receipt, "failed")], "{name}");
        assert!(node2.media_of_messages(&[second]).await.unwrap().is_empty(), "{name}");
        assert!(node2.media_of_messages(&[]).await.unwrap().is_empty(), "{name}");
        assert!(node2.media_file(i64::MAX, Scope::Every).await.unwrap().is_none(), "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_never_sent_and_the_files_of_a_deleted_channel_leave_orphaned_blobs_that_one_node_finds() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        // An upload an agent never sent, then (a day later, as far as the sweep is concerned)
        // another. The first is pinned as a put pins it: recording it takes the pin off.
        node3.pin_blob(&bytes("aa", 120_000, "application/pdf"), now_ms() + 3_600_000).await.unwrap();
        let stale = node1.media_uploaded(1, Some("katalog.pdf".into()), bytes("aa", 120_000, "application/pdf")).await.unwrap();
        // The same bytes put twice at once, one of them recorded (as an upload never sent): the
        // other put's pin still holds them.
        for node in [node1, node2] {
            node.pin_blob(&bytes("ee", 10, "image/jpeg"), now_ms() + 60_000).await.unwrap();
        }
        let stale_too = node3.media_uploaded(1, None, bytes("ee", 10, "image/jpeg")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let cutoff = now_ms();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let fresh = node2.media_uploaded(1, None, bytes("bb", 900, "image/png")).await.unwrap();
        let upload = node3.media_file(stale, Scope::Every).await.unwrap().unwrap_or_else(|| panic!("{name}: readable on another node"));
        assert_eq!((upload.channel_id, upload.message_id, upload.workspace_id, upload.position), (None, None, 1, 0), "{name}: an upload belongs to no message yet");
        assert_eq!((upload.state.as_str(), upload.filename.as_deref(), upload.size, upload.mime_type.as_deref()), ("stored", Some("katalog.pdf"), Some(120_000), Some("application/pdf")), "{name}");
        assert!(node1.due_media(10, &[]).await.unwrap().is_empty(), "{name}: an upload is not fetched");

        // A branch channel with a photo the plugin kept, and one shared with the main channel.
        let branch = node1.create_channel(1, "telegram", "Cabang Bandung", &[]).await.unwrap().id;
        node1.mark_connected(&branch, &Connected { display_name: "@cabang_bot", external_account_id: "43", setup: &[] }).await.unwrap();
        let kept = |position: usize, hex: &str| FileRecord::Kept { position, filename: None, bytes: bytes(hex, 10, "image/jpeg") };
        let at = now_ms() - 1_000;
        node2.record_events(&branch, vec![EventRecord::Message { inbound: inbound(1, "700", at), files: vec![kept(0, "cc"), kept(1, "dd")] }]).await.unwrap();
        node2.record_events(&backend.channel, vec![EventRecord::Message { inbound: inbound(1, "701", at), files: vec![kept(0, "dd")] }]).await.unwrap();
        let dropped = Dropped::default();
        assert!(node3.sweep_media(cutoff - 60_000, Arc::new(dropped.clone())).await.unwrap().is_empty(), "{name}: every blob is named by a file");
        // A pin a crash left, lapsed.
        node1.pin_blob(&bytes("ff", 10, "image/jpeg"), now_ms() - 1).await.unwrap();

        assert!(node3.delete_channel(&branch, Scope::Every).await.unwrap(), "{name}");
        // Every node sweeps at once: each orphan is found, and its bytes dropped, by exactly one of them.
        let mut sweeps = Vec::new();
        for node in &backend.nodes {
            let (node, dropped) = (node.clone(), dropped.clone());
            sweeps.push(tokio::spawn(async move { node.sweep_media(cutoff, Arc::new(dropped)).await }));
        }
        let mut orphans = Vec::new();
        for sweep in sweeps {
            orphans.extend(sweep.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}")));
        }
        orphans.sort();
        let expected = vec!["aa".repeat(32), "cc".repeat(32), "ff".repeat(32)];
        assert_eq!(orphans, expected, "{name}: the stale upload's (its pin came off), the deleted channel's and the lapsed pin's only");
        assert_eq!(dropped.sorted(), expected, "{name}: their bytes dropped, once each");
        assert!(node1.media_file(stale, Scope::Every).await.unwrap().is_none(), "{name}: the stale upload is dropped");
        assert!(node1.media_file(stale_too, Scope::Every).await.unwrap().is_none(), "{name}: so is the other");
        assert!(node1.media_file(fresh, Scope::Every).await.unwrap().is_some(), "{name}: a recent upload stays");
        assert_eq!(backend.texts("SELECT sha256 FROM media_blobs ORDER BY sha256").await, vec!["bb".repeat(32), "dd".repeat(32), "ee".repeat(32)], "{name}");
        assert!(node2.sweep_media(cutoff, Arc::new(dropped.clone())).await.unwrap().is_empty(), "{name}: found once");

        // A sweep that cannot drop some bytes keeps every row, for the next sweep.
        node1.pin_blob(&bytes("ab", 10, "image/jpeg"), now_ms() - 1).await.unwrap();
        let refused = node3.sweep_media(cutoff, Arc::new(Refusing)).await.unwrap_err();
        assert!(refused.to_string().contains("permission denied"), "{name}: {refused}");
        assert_eq!(node1.sweep_media(cutoff, Arc::new(dropped.clone())).await.unwrap(), vec!["ab".repeat(32)], "{name}: swept by the next");
    })
    .await;
}

/// A put whose message was refused gives its pin back: its bytes go at once, unless another
/// put still pins them or a file names them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_messages_file_goes_at_once_unless_something_else_holds_its_bytes() {
    each_backend(async |backend| {
        let (node1, node2, name) = (&backend.nodes[0], &backend.nodes[1], backend.name);
        let dropped = Dropped::default();
        let pinned_until = now_ms() + 3_600_000;
        node1.pin_blob(&bytes("a1", 10, "image/jpeg"), pinned_until).await.unwrap();
        assert!(node2.release_blob(&"a1".repeat(32), Arc::new(dropped.clone())).await.unwrap(), "{name}: its only pin given back");
        assert_eq!(dropped.sorted(), vec!["a1".repeat(32)], "{name}: its bytes dropped");

        // The same bytes put twice at once: one refused, the other's pin keeps them.
        for node in [node1, node2] {
            node.pin_blob(&bytes("a2", 10, "image/jpeg"), pinned_until).await.unwrap();
        }
        assert!(!node1.release_blob(&"a2".repeat(32), Arc::new(dropped.clone())).await.unwrap(), "{name}: still pinned by the other put");
        // The other put's message is stored (its file takes its pin); the bytes stay, named.
        let kept = FileRecord::Kept { position: 0, filename: None, bytes: bytes("a2", 10, "image/jpeg") };
        node2.record_events(&backend.channel, vec![EventRecord::Message { inbound: inbound(1, "710", now_ms() - 1_000), files: vec![kept] }]).await.unwrap();
        assert!(!node2.release_blob(&"a2".repeat(32), Arc::new(dropped.clone())).await.unwrap(), "{name}: a file names it");
        assert_eq!(dropped.sorted(), vec!["a1".repeat(32)], "{name}");
        assert!(backend.texts("SELECT sha256 FROM media_blobs").await.contains(&"a2".repeat(32)), "{name}");
        assert!(!node1.release_blob(&"ff".repeat(32), Arc::new(dropped.clone())).await.unwrap(), "{name}: bytes never kept");
    })
    .await;
}

/// An agent's upload of `content` through `media` on `node`: kept (pinned, then put) and
/// recorded, as `api::media` does; its id.
async fn upload(media: &Media, node: &Arc<dyn Store>, content: &[u8]) -> i64 {
    let mut spool = media.spool().await.unwrap();
    spool.write(content).await.unwrap();
    let bytes = media.keep(spool, Some("image/jpeg")).await.unwrap();
    node.media_uploaded(1, None, bytes).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bytes_stored_again_while_a_sweep_drops_them_stay_under_their_new_file() {
    each_backend(async |backend| {
        let name = backend.name;
        let media: Vec<Arc<Media>> = (0..3).map(|n| Arc::new(Media::new(backend.files[n].clone(), backend.nodes[n].clone(), 1))).collect();
        for round in 0..25 {
            let content = format!("foto produk {round}").into_bytes();
            // Stored once (the pin taken off as it was recorded), then named by no file any
            // more, as after its channel was deleted.
            let first = upload(&media[0], &backend.nodes[0], &content).await;
            backend.execute(&format!("DELETE FROM media WHERE id = {first}")).await;
            // One node sweeps while another stores the same bytes for a new upload.
            let sweeping = media[1].clone();
            let sweep = tokio::spawn(async move { sweeping.sweep().await });
            let again = upload(&media[2], &backend.nodes[2], &content).await;
            sweep.await.unwrap();
            let file = backend.nodes[0].media_file(again, Scope::Every).await.unwrap().unwrap_or_else(|| panic!("{name}: round {round}: the new upload"));
            let sha256 = file.sha256.expect("an upload's bytes are known");
            for (n, files) in backend.files.iter().enumerate() {
                let stored = files.open(&sha256).await.unwrap_or_else(|e| panic!("{name}: round {round}: node {n}: the new upload's bytes are gone: {e}"));
                assert_eq!(stored.len, content.len() as u64, "{name}: round {round}: node {n}");
            }
            assert_eq!(backend.texts(&format!("SELECT sha256 FROM media_blobs WHERE sha256 = '{sha256}'")).await.len(), 1, "{name}: round {round}: its blob is listed");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_sent_in_a_reply_through_one_node_is_the_replys_file_on_another() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let customer = node1.record_inbound(&backend.channel, &inbound(1, "800", now_ms() - 1_000)).await.unwrap().expect("stored");
        let upload = node1.media_uploaded(1, Some("katalog.pdf".into()), bytes("ee", 4_000, "application/pdf")).await.unwrap();
        let reply = switchboard::store::model::NewOutbound {
            conversation_id: customer.conversation_id,
            text: Some("Ini katalognya".into()),
            content: Default::default(),
            reply_to: None,
            file: Some(upload),
            sent_by: None,
        
        };
        let queued = node2.queue_outbound(&backend.channel, Scope::Every, &reply).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let files = node3.media_of_messages(&[queued.id]).await.unwrap();
        let sent: Vec<_> = files.iter().map(|f| (f.message_id, f.channel_id.as_deref(), f.state.as_str(), f.sha256.clone(), f.filename.as_deref(), f.size)).collect();
        assert_eq!(sent, vec![(Some(queued.id), Some(backend.channel.as_str()), "stored", Some("ee".repeat(32)), Some("katalog.pdf"), Some(4_000))], "{name}");
        assert!(node3.media_file(upload, Scope::Every).await.unwrap().is_some(), "{name}: the upload stays, for another reply");
    })
    .await;
}
