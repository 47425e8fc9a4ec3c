//! Email's outbound path in the real runtime: mail through the `smtp` import, recorded by the test kit.

use switchboard_testkit::{Message, Plugin, workspace_component};

fn email() -> Plugin {
    Plugin::load(workspace_component("switchboard-email"))
        .unwrap()
        .setting("email", "support@toko.example")
        .setting("display_name", "Toko Support")
        .setting("smtp_host", "smtp.toko.example")
}

fn reply() -> Message {
    // The recipient is the conversation key the plugin made from the first mail (hex).
    Message::text("3f2a9c0d1e4b5a6c", "Pesanan Anda dikirim hari ini.").message_id("m1").last_inbound(
        "<q1@customer.example>",
        &[("reply_address", "ani@customer.example"), ("reply_name", "Ani"), ("subject", "Pesanan A-17"), ("message_id", "q1@customer.example")],
    )
}

#[test]
fn a_reply_is_mailed_through_the_admins_server_threaded_under_the_customers_mail() {
    let mut plugin = email();
    let sent = plugin.send(reply());
    sent.ok();
    assert_eq!(sent.mail.len(), 1);
    let mail = &sent.mail[0];
    assert_eq!(mail.server, "smtp.toko.example:587");
    assert_eq!(mail.from, "support@toko.example");
    assert_eq!(mail.to, ["ani@customer.example"]);
    let message = mail.message.as_deref().unwrap();
    assert!(message.contains("Subject: Re: Pesanan A-17"), "{message}");
    assert!(message.contains("In-Reply-To: <q1@customer.example>"), "{message}");
}

#[test]
fn a_server_that_refuses_the_mail_is_a_provider_refusal() {
    let mut plugin = email();
    plugin.refuse_mail("550 5.1.1 no such user");
    let refused = plugin.send(reply());
    assert!(refused.refused()["Provider"].as_str().unwrap().contains("550 5.1.1"), "{:?}", refused.answer);
    assert!(!refused.mail[0].accepted);
}
