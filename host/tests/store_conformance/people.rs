//! People and access: workspaces an operator runs, people invited by link who sign in with
//! sessions, lockout counts and API tokens, each written on one node and checked on another;
//! what nodes do at the same moment (the same link accepted, the same username taken, failed
//! sign-ins counted) decided once.

use std::sync::Arc;

use switchboard::store::{Scope, StoreError};
use switchboard::store::backend::Store;
use switchboard::store::model::{AuditFilter, Connected, InvitationProblem, NewAuditEntry, NewOutbound, Role, SignInAttempt, TokenOwner};
use switchboard::store::now_ms;

use crate::each_backend;
use crate::messages::inbound;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// The display names of a list of people, in its order.
fn names(people: Vec<switchboard::store::model::Person>) -> Vec<String> {
    people.into_iter().map(|p| p.display_name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_created_on_one_node_is_renamed_suspended_and_resumed_on_others_with_its_channels_counted() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let created = node1.create_workspace("Toko Sari Jaya").await.unwrap();
        assert_eq!((created.name.as_str(), created.status.as_str(), created.channels), ("Toko Sari Jaya", "active", 0), "{name}");
        assert_ne!(created.id, 1, "{name}: workspace 1 is the default one");
        let listed: Vec<(i64, String)> = node2.workspaces().await.unwrap().into_iter().map(|w| (w.id, w.name)).collect();
        assert_eq!(listed, vec![(1, "Default".to_owned()), (created.id, "Toko Sari Jaya".to_owned())], "{name}: by id");

        let channel = node2.create_channel(created.id, "telegram", "Toko Sari Jaya", &[]).await.unwrap().id;
        assert_eq!(node3.workspace(created.id).await.unwrap().unwrap().channels, 1, "{name}");
        assert!(!node3.channel_suspended(&channel).await.unwrap(), "{name}");

        assert!(node2.update_workspace(created.id, Some("Toko Sari Jaya Abadi"), Some(true)).await.unwrap(), "{name}");
        let suspended = node1.workspace(created.id).await.unwrap().unwrap();
        assert_eq!((suspended.name.as_str(), suspended.status.as_str()), ("Toko Sari Jaya Abadi", "suspended"), "{name}");
        assert!(suspended.updated_at >= created.updated_at, "{name}");
        assert!(node3.channel_suspended(&channel).await.unwrap(), "{name}: nothing is sent for it");
        assert!(!node3.channel_suspended(&backend.channel).await.unwrap(), "{name}: another workspace's channel is not");
        assert!(!node3.channel_suspended("ch_nobody").await.unwrap(), "{name}: no such channel");

        assert!(node3.update_workspace(created.id, None, Some(false)).await.unwrap(), "{name}");
        let resumed = node1.workspace(created.id).await.unwrap().unwrap();
        assert_eq!((resumed.name.as_str(), resumed.status.as_str()), ("Toko Sari Jaya Abadi", "active"), "{name}: the name kept");
        assert!(!node1.channel_suspended(&channel).await.unwrap(), "{name}");
        assert!(!node1.update_workspace(i64::MAX, Some("Tidak Ada"), None).await.unwrap(), "{name}: no such workspace");
        assert!(node1.workspace(i64::MAX).await.unwrap().is_none(), "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_workspaces_held_replies_are_due_at_once_and_no_other_workspaces() {
    each_backend(async |backend| {
        let (node1, node2, name, channel) = (&backend.nodes[0], &backend.nodes[1], backend.name, backend.channel.as_str());
        let conversation = node1.record_inbound(channel, &inbound(0, "700", now_ms() - 5_000)).await.unwrap().unwrap().conversation_id;
        let reply = NewOutbound { conversation_id: conversation, text: Some("Pesanan Ibu sudah dikirim".into()), content: Default::default(), reply_to: None, file: None, sent_by: None };
        let queued = node1.queue_outbound(channel, Scope::Every, &reply).await.unwrap();
        node1.delivery_held(queued.id, now_ms() + HOUR, "the workspace is suspended").await.unwrap();
        assert!(node2.next_delivery_at(&[]).await.unwrap().is_some_and(|at| at > now_ms() + HOUR / 2), "{name}: held");

        let other = node2.create_workspace("Warung Bu Tini").await.unwrap();
        assert_eq!(node2.release_held_deliveries(other.id).await.unwrap(), 0, "{name}: another workspace holds nothing");
        assert_eq!(node2.release_held_deliveries(1).await.unwrap(), 1, "{name}");
        assert!(node1.next_delivery_at(&[]).await.unwrap().is_some_and(|at| at <= now_ms()), "{name}: due now");
        assert_eq!(node1.release_held_deliveries(1).await.unwrap(), 0, "{name}: nothing held any more");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_created_on_one_node_is_found_on_another_by_id_and_by_username_in_any_case_and_a_duplicate_is_refused() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let siti = node1.create_person(Some(1), "siti@tokosari.co.id", "Siti Rahayu", Role::Agent).await.unwrap();
        assert_eq!((siti.workspace_id, siti.username.as_str(), siti.display_name.as_str(), siti.role), (Some(1), "siti@tokosari.co.id", "Siti Rahayu", Role::Agent), "{name}");
        assert!(siti.active && !siti.has_password && siti.password_hash.is_none(), "{name}: no password until the invitation is accepted");

        let read = node2.person(siti.id, Scope::Every).await.unwrap().unwrap_or_else(|| panic!("{name}: created on another node"));
        assert_eq!((read.username.as_str(), read.role, read.created_at), ("siti@tokosari.co.id", Role::Agent, siti.created_at), "{name}");
        let by_username = node3.person_by_username("Siti@TokoSari.CO.ID").await.unwrap().unwrap_or_else(|| panic!("{name}: any case"));
        assert_eq!(by_username.id, siti.id, "{name}");
        assert!(node3.person_by_username("budi@tokosari.co.id").await.unwrap().is_none(), "{name}");
        assert!(node3.person(i64::MAX, Scope::Every).await.unwrap().is_none(), "{name}");

        let duplicate = node2.create_person(Some(1), "SITI@tokosari.co.id", "Siti Lain", Role::Admin).await;
        assert!(duplicate.is_err() && !matches!(duplicate, Err(StoreError::NotFound)), "{name}: one account per username, whatever its case");
        let other_workspace = node2.create_workspace("Warung Bu Tini").await.unwrap();
        assert!(node3.create_person(Some(other_workspace.id), "siti@tokosari.co.id", "Siti", Role::Agent).await.is_err(), "{name}: in every workspace");
        assert_eq!(names(node1.people(None).await.unwrap()), vec!["Siti Rahayu"], "{name}: nothing of the refused ones stored");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_username_taken_on_three_nodes_at_once_makes_exactly_one_account() {
    each_backend(async |backend| {
        let name = backend.name;
        for round in 0..5 {
            let mut creates = Vec::new();
            for (n, node) in backend.nodes.iter().enumerate() {
                let node = node.clone();
                // The same address typed in three cases.
                let username = match n {
                    0 => format!("budi{round}@tokobudi.co.id"),
                    1 => format!("Budi{round}@TokoBudi.co.id"),
                    _ => format!("BUDI{round}@TOKOBUDI.CO.ID"),
                };
                creates.push(tokio::spawn(async move { node.create_person(Some(1), &username, "Budi Santoso", Role::Agent).await }));
            }
            let mut created = 0;
            for create in creates {
                match create.await.unwrap() {
                    Ok(_) => created += 1,
                    Err(e) => assert!(e.is_unique_violation(), "{name}: refused by the unique key, so the API answers 409: {e}"),
                }
            }
            assert_eq!(created, 1, "{name}: round {round}");
        }
        assert_eq!(backend.nodes[1].people(Some(1)).await.unwrap().len(), 5, "{name}: one account per round");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_are_listed_by_name_in_byte_order_per_workspace_or_all_and_an_update_keeps_what_it_does_not_name() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let tini = node1.create_workspace("Warung Bu Tini").await.unwrap().id;
        let siti = node1.create_person(Some(1), "siti@tokosari.co.id", "Siti", Role::Agent).await.unwrap();
        node1.create_person(Some(1), "agus@tokosari.co.id", "agus", Role::Agent).await.unwrap();
        let budi = node2.create_person(Some(1), "budi@tokosari.co.id", "Budi", Role::Admin).await.unwrap();
        let budi_too = node3.create_person(Some(1), "budi.s@tokosari.co.id", "Budi", Role::Agent).await.unwrap();
        node2.create_person(Some(tini), "tini@warungtini.id", "Tini", Role::Admin).await.unwrap();
        let operator = node3.create_person(None, "operator@switchboard.id", "Operator", Role::Operator).await.unwrap();
        assert_eq!((operator.workspace_id, operator.role), (None, Role::Operator), "{name}");

        let of_one = node2.people(Some(1)).await.unwrap();
        assert_eq!(names(of_one.clone()), vec!["Budi", "Budi", "Siti", "agus"], "{name}: byte order, capitals first");
        assert_eq!((of_one[0].id, of_one[1].id), (budi.id, budi_too.id), "{name}: the same name by id");
        assert_eq!(names(node3.people(Some(tini)).await.unwrap()), vec!["Tini"], "{name}");
        assert_eq!(names(node1.people(None).await.unwrap()), vec!["Budi", "Budi", "Operator", "Siti", "Tini", "agus"], "{name}: everyone");
        assert!(node1.people(Some(i64::MAX)).await.unwrap().is_empty(), "{name}");

        node2.update_person(siti.id, Scope::Every, Some(Role::Supervisor), None, None, None).await.unwrap();
        let promoted = node3.person(siti.id, Scope::Every).await.unwrap().unwrap();
        assert_eq!((promoted.role, promoted.display_name.as_str(), promoted.active), (Role::Supervisor, "Siti", true), "{name}");
        node3.update_person(siti.id, Scope::Every, None, Some("Siti Rahayu"), None, None).await.unwrap();
        let renamed = node1.person(siti.id, Scope::Every).await.unwrap().unwrap();
        assert_eq!((renamed.role, renamed.display_name.as_str(), renamed.active), (Role::Supervisor, "Siti Rahayu", true), "{name}: the role kept");
        assert!(!node1.update_person(i64::MAX, Scope::Every, Some(Role::Admin), None, None, None).await.unwrap(), "{name}: no such person");
    })
    .await;
}

/// A person's page language, set on one node, is what every node reads, through a session too
/// (the session's read takes the person's columns first); `None` forgets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_s_language_is_kept_read_everywhere_with_the_session_and_forgotten() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let siti = node1.create_person(Some(1), "siti@tokosari.co.id", "Siti", Role::Agent).await.unwrap();
        assert_eq!(siti.language, None, "{name}");
        assert!(node2.set_person_language(siti.id, Some("id")).await.unwrap(), "{name}");
        assert_eq!(node3.person(siti.id, Scope::Every).await.unwrap().unwrap().language.as_deref(), Some("id"), "{name}");
        let (session, csrf) = node1.create_session(siti.id, None).await.unwrap().unwrap();
        let signed_in = node3.session(&session, HOUR, DAY).await.unwrap().unwrap();
        assert_eq!((signed_in.person.language.as_deref(), signed_in.csrf_token.as_str()), (Some("id"), csrf.as_str()), "{name}: the session's own columns follow the person's");
        assert_eq!(node1.people(Some(1)).await.unwrap().iter().find(|p| p.id == siti.id).unwrap().language.as_deref(), Some("id"), "{name}");
        assert!(node1.set_person_language(siti.id, None).await.unwrap(), "{name}");
        assert_eq!(node2.person(siti.id, Scope::Every).await.unwrap().unwrap().language, None, "{name}");
        assert!(!node2.set_person_language(i64::MAX, Some("en")).await.unwrap(), "{name}: no such person");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_node_signs_in_on_another_until_idle_too_old_deleted_or_its_person_deactivated() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let siti = node1.create_person(Some(1), "siti@tokosari.co.id", "Siti Rahayu", Role::Agent).await.unwrap();

        let (session, csrf) = node1.create_session(siti.id, None).await.unwrap().unwrap();
        assert!(session.len() >= 32 && csrf.len() >= 32 && session != csrf, "{name}");
        let signed_in = node2.session(&session, HOUR, DAY).await.unwrap().unwrap_or_else(|| panic!("{name}: made on another node"));
        assert_eq!((signed_in.person.id, signed_in.csrf_token.as_str(), signed_in.suspended), (siti.id, csrf.as_str(), false), "{name}");
        assert!(!backend.texts("SELECT id_hash FROM sessions").await.join("\n").contains(&session), "{name}: only a digest at rest");
        assert!(node3.session("not-a-session", HOUR, DAY).await.unwrap().is_none(), "{name}");

        assert!(node3.session(&session, 0, DAY).await.unwrap().is_none(), "{name}: idle too long");
        assert!(node1.session(&session, HOUR, DAY).await.unwrap().is_none(), "{name}: an ended session stays ended");
        let (old, _) = node1.create_session(siti.id, None).await.unwrap().unwrap();
        assert!(node2.session(&old, HOUR, 0).await.unwrap().is_none(), "{name}: older than the absolute limit");
        assert!(node3.session(&old, HOUR, DAY).await.unwrap().is_none(), "{name}: deleted");

        let (signed_out, _) = node1.create_session(siti.id, None).await.unwrap().unwrap();
        node2.delete_session(&signed_out).await.unwrap();
        assert!(node3.session(&signed_out, HOUR, DAY).await.unwrap().is_none(), "{name}: signed out");

        let (kept, _) = node1.create_session(siti.id, None).await.unwrap().unwrap();
        let budi = node1.create_person(Some(1), "budi@tokosari.co.id", "Budi", Role::Agent).await.unwrap();
        let (budis, _) = node1.create_session(budi.id, None).await.unwrap().unwrap();
        node2.update_person(siti.id, Scope::Every, None, None, Some(false), None).await.unwrap();
        assert!(!node3.person(siti.id, Scope::Every).await.unwrap().unwrap().active, "{name}");
        assert!(node3.session(&kept, HOUR, DAY).await.unwrap().is_none(), "{name}: deactivated, signed out at once");
        assert!(node3.session(&budis, HOUR, DAY).await.unwrap().is_some(), "{name}: another person's session lives on");
        node2.update_person(siti.id, Scope::Every, None, None, Some(true), None).await.unwrap();
        assert!(node3.session(&kept, HOUR, DAY).await.unwrap().is_none(), "{name}: reactivating does not bring a session back");

        // A suspended workspace's people are told so.
        let tini = node1.create_workspace("Warung Bu Tini").await.unwrap().id;
        let owner = node1.create_person(Some(tini), "tini@warungtini.id", "Tini", Role::Admin).await.unwrap();
        let (tinis, _) = node1.create_session(owner.id, None).await.unwrap().unwrap();
        node2.update_workspace(tini, None, Some(true)).await.unwrap();
        assert!(node3.session(&tinis, HOUR, DAY).await.unwrap().unwrap().suspended, "{name}");
        assert!(!node3.session(&budis, HOUR, DAY).await.unwrap().unwrap().suspended, "{name}: another workspace");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_link_works_once_until_it_expires_and_a_newer_link_or_a_reset_replaces_it() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let siti = node1.create_person(Some(1), "siti@tokosari.co.id", "Siti Rahayu", Role::Agent).await.unwrap();

        let (expired, _) = node1.create_invitation(siti.id, Scope::Every, -1, false).await.unwrap();
        assert_eq!(node2.invitation(&expired).await.unwrap().unwrap_err(), InvitationProblem::Expired, "{name}");
        assert!(!node2.accept_invitation(&expired, "$argon2id$v=19$expired").await.unwrap(), "{name}: an expired link sets nothing");
        assert_eq!(node3.invitation("no-such-link").await.unwrap().unwrap_err(), InvitationProblem::Unknown, "{name}");

        let before = now_ms();
        let (first, expires_at) = node1.create_invitation(siti.id, Scope::Every, HOUR, false).await.unwrap();
        assert!(expires_at >= before + HOUR && expires_at <= now_ms() + HOUR, "{name}: {expires_at}");
        assert_eq!(node2.invitation(&first).await.unwrap().unwrap().id, siti.id, "{name}: opened on another node");
        assert_eq!(node2.invitation(&expired).await.unwrap().unwrap_err(), InvitationProblem::Unknown, "{name}: replaced");
        let (second, _) = node3.create_invitation(siti.id, Scope::Every, HOUR, false).await.unwrap();
        assert_eq!(node1.invitation(&first).await.unwrap().unwrap_err(), InvitationProblem::Unknown, "{name}: a newer link replaces it");
        assert!(!node1.accept_invitation(&first, "$argon2id$v=19$first").await.unwrap(), "{name}");
        assert!(!backend.texts("SELECT token_hash FROM invitations").await.join("\n").contains(&second), "{name}: only a digest at rest");

        let (session, _) = node1.create_session(siti.id, None).await.unwrap().unwrap();
        assert!(node2.accept_invitation(&second, "$argon2id$v=19$second").await.unwrap(), "{name}");
        let accepted = node3.person(siti.id, Scope::Every).await.unwrap().unwrap();
        assert!(accepted.has_password && accepted.password_hash.as_deref() == Some("$argon2id$v=19$second"), "{name}");
        assert!(node3.session(&session, HOUR, DAY).await.unwrap().is_none(), "{name}: a password set ends every session");
        assert_eq!(node1.invitation(&second).await.unwrap().unwrap_err(), InvitationProblem::Used, "{name}");
        assert!(!node1.accept_invitation(&second, "$argon2id$v=19$again").await.unwrap(), "{name}: once");
        assert_eq!(node1.person(siti.id, Scope::Every).await.unwrap().unwrap().password_hash.as_deref(), Some("$argon2id$v=19$second"), "{name}");

        // A reset: the password stops working and sessions end at once; the used link stays used.
        let (before_reset, _) = node1.create_session(siti.id, None).await.unwrap().unwrap();
        let (reset, _) = node2.create_invitation(siti.id, Scope::Every, HOUR, true).await.unwrap();
        let reset_person = node3.person(siti.id, Scope::Every).await.unwrap().unwrap();
        assert!(!reset_person.has_password && reset_person.password_hash.is_none(), "{name}");
        assert!(node3.session(&before_reset, HOUR, DAY).await.unwrap().is_none(), "{name}");
        assert_eq!(node3.invitation(&second).await.unwrap().unwrap_err(), InvitationProblem::Used, "{name}");
        assert!(node1.accept_invitation(&reset, "$argon2id$v=19$reset").await.unwrap(), "{name}");

        // A new password: the session it was changed from stays, the others end.
        let (here, _) = node1.create_session(siti.id, None).await.unwrap().unwrap();
        let (elsewhere, _) = node2.create_session(siti.id, None).await.unwrap().unwrap();
        assert!(node3.change_password(siti.id, "$argon2id$v=19$reset", "$argon2id$v=19$changed", &here).await.unwrap(), "{name}");
        assert!(node1.session(&here, HOUR, DAY).await.unwrap().is_some(), "{name}: the session it was changed from");
        assert!(node2.session(&elsewhere, HOUR, DAY).await.unwrap().is_none(), "{name}: every other session ends");
        assert_eq!(node2.person(siti.id, Scope::Every).await.unwrap().unwrap().password_hash.as_deref(), Some("$argon2id$v=19$changed"), "{name}");

        // A change that checked a password no longer in force changes nothing and ends no session.
        let (other, _) = node2.create_session(siti.id, None).await.unwrap().unwrap();
        assert!(!node1.change_password(siti.id, "$argon2id$v=19$reset", "$argon2id$v=19$stale", &here).await.unwrap(), "{name}: checked a stale password");
        assert_eq!(node3.person(siti.id, Scope::Every).await.unwrap().unwrap().password_hash.as_deref(), Some("$argon2id$v=19$changed"), "{name}");
        assert!(node3.session(&other, HOUR, DAY).await.unwrap().is_some(), "{name}: a refused change ends no session");
    })
    .await;
}

/// Two admins demoting each other at once (on two nodes): one change is made, the other is
/// refused as decided by someone no longer admin, so the workspace keeps an admin, as it would
/// one change after the other. A change decided by nobody in particular (a token) is as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    each_backend(async |backend| {
        let name = backend.name;
        let ani = backend.nodes[0].create_person(Some(1), "ani@tokosari.co.id", "Ani", Role::Admin).await.unwrap().id;
        let budi = backend.nodes[0].create_person(Some(1), "budi@tokosari.co.id", "Budi", Role::Admin).await.unwrap().id;
        for round in 0..5 {
            let (first, second) = (backend.nodes[round % 3].clone(), backend.nodes[(round + 1) % 3].clone());
            let demotes = [
                tokio::spawn(async move { first.update_person(budi, Scope::Workspace(1), Some(Role::Agent), None, None, Some((ani, Role::Admin))).await }),
                tokio::spawn(async move { second.update_person(ani, Scope::Workspace(1), Some(Role::Agent), None, None, Some((budi, Role::Admin))).await }),
            ];
            let mut made = 0;
            for demote in demotes {
                match demote.await.unwrap() {
                    Ok(true) => made += 1,
                    Err(StoreError::ChangedMeanwhile) => {}
                    other => panic!("{name}: round {round}: {other:?}"),
                }
            }
            assert_eq!(made, 1, "{name}: round {round}");
            let admins: Vec<i64> = backend.nodes[2].people(Some(1)).await.unwrap().into_iter().filter(|p| p.role == Role::Admin && [ani, budi].contains(&p.id)).map(|p| p.id).collect();
            assert_eq!(admins.len(), 1, "{name}: round {round}: one admin left");
            // Both admins again for the next round (as a token would).
            for person in [ani, budi] {
                backend.nodes[0].update_person(person, Scope::Workspace(1), Some(Role::Admin), None, None, None).await.unwrap();
            }
        }
        // Decided by someone deactivated since: nothing changes.
        backend.nodes[1].update_person(budi, Scope::Workspace(1), None, None, Some(false), None).await.unwrap();
        let refused = backend.nodes[2].update_person(ani, Scope::Workspace(1), None, Some("Ani W"), None, Some((budi, Role::Admin))).await;
        assert!(matches!(refused, Err(StoreError::ChangedMeanwhile)), "{name}: {refused:?}");
        assert_eq!(backend.nodes[0].person(ani, Scope::Every).await.unwrap().unwrap().display_name, "Ani", "{name}: nothing changed");
    })
    .await;
}

/// A sign-in checks the password read before it, on a blocking thread: its session is made only
/// if that password is still the person's, so a change or a reset made meanwhile (on any node)
/// is not outlived by a sign-in with the old password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_s_session_is_made_only_while_the_password_it_checked_is_in_force() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let siti = node1.create_person(Some(1), "siti@tokosari.co.id", "Siti Rahayu", Role::Agent).await.unwrap();
        assert!(node1.create_session(siti.id, Some("$argon2id$v=19$old")).await.unwrap().is_none(), "{name}: no password yet");
        let (link, _) = node1.create_invitation(siti.id, Scope::Every, HOUR, false).await.unwrap();
        assert!(node2.accept_invitation(&link, "$argon2id$v=19$old").await.unwrap(), "{name}");
        let (session, _) = node3.create_session(siti.id, Some("$argon2id$v=19$old")).await.unwrap().expect("the password in force");
        assert!(node1.session(&session, HOUR, DAY).await.unwrap().is_some(), "{name}");

        // Changed on one node while another checked the old one.
        assert!(node1.change_password(siti.id, "$argon2id$v=19$old", "$argon2id$v=19$new", &session).await.unwrap(), "{name}");
        assert!(node2.create_session(siti.id, Some("$argon2id$v=19$old")).await.unwrap().is_none(), "{name}: checked the old password");
        assert_eq!(backend.texts("SELECT id_hash FROM sessions").await.len(), 1, "{name}: nothing made");
        assert!(node2.create_session(siti.id, Some("$argon2id$v=19$new")).await.unwrap().is_some(), "{name}: the new one signs in");

        // Deactivated on one node while another checked the password in force.
        node3.update_person(siti.id, Scope::Every, None, None, Some(false), None).await.unwrap();
        assert!(node2.create_session(siti.id, Some("$argon2id$v=19$new")).await.unwrap().is_none(), "{name}: deactivated meanwhile");
        assert!(backend.texts("SELECT id_hash FROM sessions").await.is_empty(), "{name}: deactivating ends every session");
        node3.update_person(siti.id, Scope::Every, None, None, Some(true), None).await.unwrap();

        // Reset: no password signs in.
        node3.create_invitation(siti.id, Scope::Every, HOUR, true).await.unwrap();
        assert!(node1.create_session(siti.id, Some("$argon2id$v=19$new")).await.unwrap().is_none(), "{name}: reset meanwhile");
        assert!(backend.texts("SELECT id_hash FROM sessions").await.is_empty(), "{name}: a reset ends every session");
        assert!(node1.create_session(i64::MAX, None).await.unwrap().is_none(), "{name}: no such person");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_changes_that_checked_the_same_password_on_three_nodes_at_once_make_exactly_one_change() {
    each_backend(async |backend| {
        let name = backend.name;
        let siti = backend.nodes[0].create_person(Some(1), "siti@tokosari.co.id", "Siti Rahayu", Role::Agent).await.unwrap();
        let (link, _) = backend.nodes[0].create_invitation(siti.id, Scope::Every, HOUR, false).await.unwrap();
        assert!(backend.nodes[0].accept_invitation(&link, "$argon2id$v=19$round0").await.unwrap(), "{name}");
        for round in 0..5 {
            let checked: Arc<str> = format!("$argon2id$v=19$round{round}").into();
            let mut changes = Vec::new();
            for (n, node) in backend.nodes.iter().enumerate() {
                let (node, checked) = (node.clone(), checked.clone());
                let (session, _) = node.create_session(siti.id, None).await.unwrap().unwrap();
                let new = format!("$argon2id$v=19$round{}-node{n}", round + 1);
                changes.push(tokio::spawn(async move { (node.change_password(siti.id, &checked, &new, &session).await, new) }));
            }
            let mut made = Vec::new();
            for change in changes {
                let (changed, new) = change.await.unwrap();
                if changed.unwrap_or_else(|e| panic!("{name}: {e}")) {
                    made.push(new);
                }
            }
            assert_eq!(made.len(), 1, "{name}: round {round}: {made:?}");
            let person = backend.nodes[(round + 1) % 3].person(siti.id, Scope::Every).await.unwrap().unwrap();
            assert_eq!(person.password_hash.as_deref(), Some(made[0].as_str()), "{name}: round {round}");
            // The next round checks the password now in force.
            let next = format!("$argon2id$v=19$round{}", round + 1);
            assert!(backend.nodes[round % 3].change_password(siti.id, &made[0], &next, "").await.unwrap(), "{name}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_invitation_accepted_on_three_nodes_at_once_is_used_exactly_once() {
    each_backend(async |backend| {
        let name = backend.name;
        let siti = backend.nodes[0].create_person(Some(1), "siti@tokosari.co.id", "Siti Rahayu", Role::Agent).await.unwrap();
        for round in 0..5 {
            let (link, _) = backend.nodes[round % 3].create_invitation(siti.id, Scope::Every, HOUR, round % 2 == 1).await.unwrap();
            let link: Arc<str> = link.into();
            let mut accepts = Vec::new();
            for (n, node) in backend.nodes.iter().enumerate() {
                let (node, link) = (node.clone(), link.clone());
                let hash = format!("$argon2id$v=19$round{round}-node{n}");
                accepts.push(tokio::spawn(async move {
                    let accepted = node.accept_invitation(&link, &hash).await;
                    (accepted, hash)
                }));
            }
            let mut winners = Vec::new();
            for accept in accepts {
                let (accepted, hash) = accept.await.unwrap();
                if accepted.unwrap_or_else(|e| panic!("{name}: {e}")) {
                    winners.push(hash);
                }
            }
            assert_eq!(winners.len(), 1, "{name}: round {round}: {winners:?}");
            let person = backend.nodes[(round + 1) % 3].person(siti.id, Scope::Every).await.unwrap().unwrap();
            assert_eq!(person.password_hash.as_deref(), Some(winners[0].as_str()), "{name}: the winner's password is the one set");
            assert_eq!(backend.nodes[2].invitation(&link).await.unwrap().unwrap_err(), InvitationProblem::Used, "{name}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_reserved_at_once_on_every_node_are_all_counted_within_their_window_and_cleared_together() {
    each_backend(async |backend| {
        let name = backend.name;
        let (key, window) = ("account:siti@tokosari.co.id", 10 * 60_000);
        let before = now_ms();
        let mut failures = Vec::new();
        for n in 0..30 {
            let node = backend.nodes[n % 3].clone();
            failures.push(tokio::spawn(async move { node.reserve_sign_in_attempt(&[(key, 100)], window).await }));
        }
        for failure in failures {
            assert_eq!(failure.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}")), SignInAttempt::Reserved, "{name}: under the limit");
        }
        let (count, first) = backend.nodes[1].sign_in_failures(key, window).await.unwrap();
        assert_eq!(count, 30, "{name}: every failure counted");
        assert!(first >= before && first <= now_ms(), "{name}: {first}");
        assert_eq!(backend.nodes[2].sign_in_failures("address:203.0.113.7", window).await.unwrap(), (0, 0), "{name}: another key");
        assert_eq!(backend.nodes[2].sign_in_failures(key, 0).await.unwrap(), (0, 0), "{name}: outside the window they do not count");

        // Once the window has passed, the count starts again.
        let restarted = now_ms();
        assert_eq!(backend.nodes[0].reserve_sign_in_attempt(&[(key, 100)], 0).await.unwrap(), SignInAttempt::Reserved, "{name}");
        let (count, first) = backend.nodes[1].sign_in_failures(key, window).await.unwrap();
        assert_eq!(count, 1, "{name}");
        assert!(first >= restarted, "{name}: {first}");
        backend.nodes[2].reserve_sign_in_attempt(&[(key, 100)], window).await.unwrap();
        assert_eq!(backend.nodes[0].sign_in_failures(key, window).await.unwrap(), (2, first), "{name}");
        backend.nodes[1].release_sign_in_attempt(key).await.unwrap();
        assert_eq!(backend.nodes[0].sign_in_failures(key, window).await.unwrap(), (1, first), "{name}: one given back");

        backend.nodes[2].clear_sign_in_failures(key).await.unwrap();
        assert_eq!(backend.nodes[0].sign_in_failures(key, window).await.unwrap(), (0, 0), "{name}: cleared on another node");
    })
    .await;
}

/// Reserves one attempt under `account` (limit 5) and `client` (limit 20) on `node`, as sign-in does.
fn attempt(node: &Arc<dyn Store>, account: String, client: String) -> tokio::task::JoinHandle<SignInAttempt> {
    let node = node.clone();
    tokio::spawn(async move { node.reserve_sign_in_attempt(&[(account.as_str(), 5), (client.as_str(), 20)], 10 * 60_000).await.unwrap() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_reserved_at_once_on_every_node_never_exceed_the_limit_of_any_key_and_a_refused_one_counts_nowhere() {
    each_backend(async |backend| {
        let (name, window) = (backend.name, 10 * 60_000);
        let count = async |key: &str| backend.nodes[0].sign_in_failures(key, window).await.unwrap().0;

        // One account from thirty addresses at once: five reserved, whatever the addresses.
        let before = now_ms();
        let account = "account:siti@tokosari.co.id";
        let attempts: Vec<_> = (0..30).map(|n| attempt(&backend.nodes[n % 3], account.to_owned(), format!("client:198.51.100.{n}"))).collect();
        let mut outcomes = Vec::new();
        for handle in attempts {
            outcomes.push(handle.await.unwrap());
        }
        assert_eq!(outcomes.iter().filter(|o| **o == SignInAttempt::Reserved).count(), 5, "{name}: {outcomes:?}");
        for outcome in &outcomes {
            if let SignInAttempt::LockedOut { until } = *outcome {
                assert!(until >= before + window && until <= now_ms() + window, "{name}: locked until the window ends: {until}");
            }
        }
        assert_eq!(count(account).await, 5, "{name}");
        let mut addresses_counted = 0;
        for n in 0..30 {
            addresses_counted += count(format!("client:198.51.100.{n}").as_str()).await;
        }
        assert_eq!(addresses_counted, 5, "{name}: a refused attempt counts against no address");

        // Thirty accounts from one address at once: twenty reserved, and the ten refused leave
        // their accounts uncounted (the account's count rolled back with the address's refusal).
        let client = "client:203.0.113.9";
        let attempts: Vec<_> = (0..30).map(|n| attempt(&backend.nodes[n % 3], format!("account:person{n}@tokosari.co.id"), client.to_owned())).collect();
        let mut reserved = 0;
        for handle in attempts {
            if handle.await.unwrap() == SignInAttempt::Reserved {
                reserved += 1;
            }
        }
        assert_eq!(reserved, 20, "{name}");
        assert_eq!(count(client).await, 20, "{name}");
        let mut accounts_counted = 0;
        for n in 0..30 {
            accounts_counted += count(format!("account:person{n}@tokosari.co.id").as_str()).await;
        }
        assert_eq!(accounts_counted, 20, "{name}: a refused attempt counts against no account");

        // An attempt given back (its password was right) makes room for exactly one more.
        backend.nodes[1].release_sign_in_attempt(client).await.unwrap();
        assert_eq!(count(client).await, 19, "{name}");
        let again: Vec<_> = (0..3).map(|n| attempt(&backend.nodes[n], format!("account:again{n}@tokosari.co.id"), client.to_owned())).collect();
        let mut reserved = 0;
        for handle in again {
            if handle.await.unwrap() == SignInAttempt::Reserved {
                reserved += 1;
            }
        }
        assert_eq!((reserved, count(client).await), (1, 20), "{name}");

        // Once the window has passed, the locked account may be tried again.
        let fresh = backend.nodes[2].reserve_sign_in_attempt(&[(account, 5), ("client:198.51.100.99", 20)], 0).await.unwrap();
        assert_eq!(fresh, SignInAttempt::Reserved, "{name}");
        assert_eq!(backend.nodes[0].sign_in_failures(account, 0).await.unwrap(), (0, 0), "{name}");
        assert_eq!(count(account).await, 1, "{name}: counted from one again");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_resolves_to_its_role_and_workspace_on_any_node_until_revoked_and_only_its_digest_is_stored() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let tini = node1.create_workspace("Warung Bu Tini").await.unwrap().id;
        let count = node1.token_count().await.unwrap();

        let (id, token) = node1.create_labeled_token(Role::Admin, Some(tini), "Integrasi kasir").await.unwrap();
        assert!(token.starts_with("sb_") && token.len() == 43, "{name}: {token}");
        assert_eq!(node2.token_owner(&token).await.unwrap(), Some(TokenOwner { id, role: Role::Admin, workspace: Some(tini), suspended: false }), "{name}");
        let agent = node2.create_token(Role::Agent, None).await.unwrap();
        let agents = node3.token_owner(&agent).await.unwrap().unwrap();
        assert_eq!((agents.role, agents.workspace), (Role::Agent, Some(1)), "{name}: workspace 1 when none is named");
        let operator = node3.create_token(Role::Operator, Some(tini)).await.unwrap();
        let operators = node1.token_owner(&operator).await.unwrap().unwrap();
        assert_eq!((operators.role, operators.workspace, operators.suspended), (Role::Operator, None, false), "{name}: the operator's is no workspace's");
        assert_eq!(node2.token_count().await.unwrap(), count + 3, "{name}");
        assert!(node2.token_owner("sb_bukan-token-kami").await.unwrap().is_none(), "{name}");

        let listed = node3.tokens(tini).await.unwrap();
        assert_eq!(listed.len(), 1, "{name}: only the workspace's own");
        assert_eq!((listed[0].id, listed[0].label.as_str(), listed[0].role, listed[0].prefix.as_str()), (id, "Integrasi kasir", Role::Admin, &token[..10]), "{name}");
        assert!(node3.tokens(1).await.unwrap().iter().any(|t| t.role == Role::Agent && t.label.is_empty()), "{name}");
        let at_rest = backend.texts("SELECT token_hash FROM api_tokens").await.join("\n");
        assert!(!at_rest.contains(&token) && !at_rest.contains(&agent), "{name}: only digests at rest");

        node2.update_workspace(tini, None, Some(true)).await.unwrap();
        assert!(node3.token_owner(&token).await.unwrap().unwrap().suspended, "{name}: a suspended workspace's tokens are refused");

        assert_eq!(node1.revoke_token(id, 1).await.unwrap(), None, "{name}: another workspace cannot revoke it");
        assert!(node2.token_owner(&token).await.unwrap().is_some(), "{name}");
        assert_eq!(node1.revoke_token(id, tini).await.unwrap(), Some(Vec::new()), "{name}: revoked, no conversation handed over");
        assert!(node2.token_owner(&token).await.unwrap().is_none(), "{name}: revoked on one node, refused on another");
        assert_eq!(node3.revoke_token(id, tini).await.unwrap(), None, "{name}: gone already");
        assert!(node3.tokens(tini).await.unwrap().is_empty(), "{name}");
        assert_eq!(node3.token_count().await.unwrap(), count + 2, "{name}");
    })
    .await;
}

/// A workspace's deletion and a channel connected in it at the same moment: the channel is
/// made before (and goes with the workspace, or, once active, refuses the deletion until the
/// caller tore it down too) or refused after; never left behind, naming a workspace that is
/// gone. A deleted workspace's id is never given to a new one (its audit rows stay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_connected_while_its_workspace_is_deleted_is_not_left_behind_and_ids_are_not_reused() {
    each_backend(async |backend| {
        let (node1, node2, name) = (&backend.nodes[0], &backend.nodes[1], backend.name);
        let connected = |id: String| async move {
            node1.mark_connected(&id, &Connected { display_name: "@toko_bot", external_account_id: "9", setup: &[] }).await.unwrap();
            id
        };
        let toko = node1.create_workspace("Toko Maju").await.unwrap().id;
        let active = connected(node1.create_channel(toko, "telegram", "Toko Maju", &[]).await.unwrap().id).await;
        let as_read = node1.channel(&active, Scope::Every).await.unwrap().unwrap().updated_at;
        let refused = node2.delete_workspace(toko, &[], 0).await;
        assert!(matches!(refused, Err(StoreError::ChangedMeanwhile)), "{name}: an active channel not torn down refuses it: {refused:?}");
        assert!(node2.workspace(toko).await.unwrap().is_some() && node2.channel(&active, Scope::Every).await.unwrap().is_some(), "{name}: nothing deleted");
        let connecting = node1.create_channel(toko, "telegram", "Toko Maju 2", &[]).await.unwrap().id;
        let torn_down = [(active.clone(), as_read)];
        let refused = node2.delete_workspace(toko, &torn_down, as_read).await;
        assert!(matches!(refused, Err(StoreError::ChangedMeanwhile)), "{name}: a channel connecting since the cut-off refuses it: {refused:?}");
        node1.update_channel(&active, Scope::Every, "Toko Maju Jaya", &[], None).await.unwrap();
        let refused = node2.delete_workspace(toko, &torn_down, now_ms() + 1).await;
        assert!(matches!(refused, Err(StoreError::ChangedMeanwhile)), "{name}: a channel changed since it was torn down refuses it: {refused:?}");
        let changed = node1.channel(&active, Scope::Every).await.unwrap().unwrap().updated_at;
        assert!(node2.delete_workspace(toko, &[(active.clone(), changed)], now_ms() + 1).await.unwrap(), "{name}");
        assert!(node1.channel(&connecting, Scope::Every).await.unwrap().is_none(), "{name}: a leftover connecting one (older than the cut-off) went with it");
        let refused = node1.create_channel(toko, "telegram", "Toko Maju 3", &[]).await.map(|c| c.id);
        assert!(matches!(refused, Err(StoreError::NotFound)), "{name}: no channel in a deleted workspace: {refused:?}");

        let audited = node1.create_workspace("Warung Sore").await.unwrap().id;
        assert!(audited > toko, "{name}");
        let entry = NewAuditEntry { workspace_id: Some(audited), actor: "operator token 1", address: None, action: "channel.connect", target: None, detail: None };
        node1.record_audit(entry).await.unwrap();
        assert!(node2.delete_workspace(audited, &[], 0).await.unwrap(), "{name}");
        let next = node1.create_workspace("Kedai Baru").await.unwrap().id;
        assert!(next > audited, "{name}: a deleted workspace's id ({audited}) is not given again ({next})");
        let history = node2.audit_log(&AuditFilter { workspace_id: Some(next), ..Default::default() }, 10).await.unwrap();
        assert!(history.is_empty(), "{name}: the new workspace has no history of another: {history:?}");

        for round in 0..10 {
            let workspace = node1.create_workspace(&format!("Toko {round}")).await.unwrap().id;
            // (Any connecting channel is a leftover here: the cut-off is in the future.)
            let (created, deleted) = tokio::join!(
                async { node1.create_channel(workspace, "telegram", "Toko", &[]).await },
                async { node2.delete_workspace(workspace, &[], now_ms() + 60_000).await }
            );
            match created {
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(other) => panic!("{name}: round {round}: {other:?}"),
            }
            assert!(deleted.unwrap(), "{name}: round {round}");
            let left = backend.texts(&format!("SELECT id FROM channels WHERE workspace_id = {workspace}")).await;
            assert!(left.is_empty(), "{name}: round {round}: {left:?} left behind in the deleted workspace");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_workspace_removes_its_channels_people_sessions_links_and_tokens_and_nothing_of_another() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let store: &Arc<dyn Store> = node1;
        let tini = store.create_workspace("Warung Bu Tini").await.unwrap().id;
        let channel = store.create_channel(tini, "telegram", "Warung Bu Tini", &[]).await.unwrap().id;
        let owner = store.create_person(Some(tini), "tini@warungtini.id", "Tini", Role::Admin).await.unwrap();
        let (session, _) = store.create_session(owner.id, None).await.unwrap().unwrap();
        let (link, _) = store.create_invitation(owner.id, Scope::Every, HOUR, false).await.unwrap();
        let (_, token) = store.create_labeled_token(Role::Admin, Some(tini), "Kasir").await.unwrap();
        let siti = store.create_person(Some(1), "siti@tokosari.co.id", "Siti Rahayu", Role::Agent).await.unwrap();
        let (sitis, _) = store.create_session(siti.id, None).await.unwrap().unwrap();
        let default_token = store.create_token(Role::Admin, Some(1)).await.unwrap();

        assert!(node2.delete_workspace(tini, &[], now_ms() + 1).await.unwrap(), "{name}: its channel still connecting (since before the cut-off) goes with it");
        assert!(!node3.delete_workspace(tini, &[], now_ms() + 1).await.unwrap(), "{name}: gone already");
        assert!(node3.workspace(tini).await.unwrap().is_none(), "{name}");
        assert!(node3.channel(&channel, Scope::Every).await.unwrap().is_none(), "{name}: its channel");
        assert!(node3.person(owner.id, Scope::Every).await.unwrap().is_none() && node3.person_by_username("tini@warungtini.id").await.unwrap().is_none(), "{name}: its people");
        assert!(node3.session(&session, HOUR, DAY).await.unwrap().is_none(), "{name}: their sessions");
        assert_eq!(node3.invitation(&link).await.unwrap().unwrap_err(), InvitationProblem::Unknown, "{name}: their links");
        assert!(node3.token_owner(&token).await.unwrap().is_none() && node3.tokens(tini).await.unwrap().is_empty(), "{name}: its tokens");

        assert_eq!(node1.workspaces().await.unwrap().iter().map(|w| w.id).collect::<Vec<_>>(), vec![1], "{name}");
        assert!(node1.session(&sitis, HOUR, DAY).await.unwrap().is_some(), "{name}: another workspace's person signs in still");
        assert!(node1.token_owner(&default_token).await.unwrap().is_some(), "{name}");
        assert!(node1.channel(&backend.channel, Scope::Every).await.unwrap().is_some(), "{name}");
        // The username is free again.
        node2.create_person(Some(1), "tini@warungtini.id", "Tini", Role::Agent).await.unwrap();
    })
    .await;
}
