//! Email end to end, with real mail software: Python's smtplib delivers to the host's SMTP
//! listener as a mail server would, and agents' replies go out through the host's SMTP client
//! to aiosmtpd (AUTH required), whose stored messages the tests parse.

use mail_parser::{Message, MessageParser, MimeHeaders};
use serde_json::{Value, json};
use switchboard_e2e::mail::{MailServer, smtp_send};
use switchboard_e2e::{HostOptions, PATIENCE, PUBLIC_URL, TestHost, conversations, messages, until_status};

const BUSINESS: &str = "support@tokobudi.co.id";
const PASSWORD: &str = "app-password-1";
/// The inbound domain: by default the public URL's host.
const DOMAIN: &str = "switchboard.example.test";
const SITI: &str = "siti@example.com";

/// A host receiving mail by SMTP, and the business's SMTP server. The operator allows the
/// loopback test server (any port, so that a closed port can be tried too).
async fn mail_setup() -> (TestHost, MailServer) {
    let server = MailServer::start(BUSINESS, PASSWORD).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec!["127.0.0.1".into()], smtp: true, ..Default::default() }).await;
    (host, server)
}

fn settings(server: &MailServer) -> Value {
    json!({
        "email": BUSINESS, "display_name": "Toko Budi Support",
        "smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none",
        "smtp_username": BUSINESS, "smtp_password": PASSWORD,
    })
}

async fn try_connect(host: &TestHost, settings: Value) -> (u16, Value) {
    host.post("/api/v1/channels", &host.admin, json!({"plugin": "email", "name": "Toko Budi mail", "settings": settings})).await
}

/// Connects the email channel; returns it.
async fn connect(host: &TestHost, server: &MailServer) -> Value {
    let (status, channel) = try_connect(host, settings(server)).await;
    assert_eq!(status, 201, "{channel}");
    channel
}

fn setup_value<'a>(channel: &'a Value, key: &str) -> &'a str {
    let setup = channel["setup"].as_array().unwrap();
    setup.iter().find(|i| i["key"] == key).and_then(|i| i["value"].as_str()).unwrap_or_else(|| panic!("no setup item {key}: {setup:?}"))
}

/// A customer's mail, CRLF line ends.
fn mail(message_id: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Siti Rahma <{SITI}>\r\nTo: {BUSINESS}\r\nSubject: {subject}\r\nDate: Tue, 03 Feb 2026 09:15:00 +0700\r\n\
Message-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n{extra_headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Delivers by SMTP to the host's listener and expects every recipient taken.
async fn deliver(host: &TestHost, to: &[&str], message: &[u8]) {
    deliver_from(host, SITI, to, message).await;
}

async fn deliver_from(host: &TestHost, from: &str, to: &[&str], message: &[u8]) {
    let outcome = smtp_send(host.smtp_addr.unwrap(), from, to, message).await;
    assert_eq!(outcome, json!({"sent": true, "refused": {}}), "the listener took the mail");
}

/// An agent's text reply; returns its id once queued.
async fn send(host: &TestHost, conversation_id: i64, text: &str) -> i64 {
    switchboard_e2e::send(host, conversation_id, json!({"text": text})).await
}

/// The only conversation; panics when there are others.
async fn the_conversation(host: &TestHost) -> Value {
    let list = conversations(host).await;
    assert_eq!(list.len(), 1, "one conversation: {list:?}");
    list[0].clone()
}

fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default().parse(raw).expect("the server stored a message")
}

fn header<'a>(message: &'a Message<'_>, name: &'a str) -> &'a str {
    message.header_raw(name).map(str::trim).unwrap_or_else(|| panic!("no {name} header"))
}

fn address(value: Option<&mail_parser::Address<'_>>) -> (Option<String>, Option<String>) {
    let first = value.and_then(|a| a.first()).expect("an address");
    (first.name.as_deref().map(str::to_owned), first.address.as_deref().map(str::to_owned))
}

fn text_list(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(id) => vec![id.to_string()],
        mail_parser::HeaderValue::TextList(ids) => ids.iter().map(|id| id.to_string()).collect(),
        other => panic!("not message ids: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_checks_every_field_and_the_smtp_login_and_shows_the_forwarding_address() {
    let (host, server) = mail_setup().await;

    let (status, body) = try_connect(&host, json!({})).await;
    assert_eq!(status, 422, "{body}");
    for field in ["email", "display_name", "smtp_host"] {
        assert_eq!(body["fields"][field], "field is required", "{field}: {body}");
    }
    // The host checks the form's kinds (an address, one of the options), then the plugin the rest.
    let mut bad = settings(&server);
    bad["email"] = "support at tokobudi".into();
    bad["smtp_security"] = "ssl".into();
    let (status, body) = try_connect(&host, bad).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"]["email"], "must be an email address like support@example.com", "{body}");
    assert_eq!(body["fields"]["smtp_security"], "must be one of: starttls, tls, none", "{body}");
    // Every field's problem at once: the host's (an address) and the plugin's (a host name,
    // checked without the server) in one answer, not one after the other.
    let mut bad = settings(&server);
    bad["email"] = "support at tokobudi".into();
    bad["smtp_host"] = "smtp://127.0.0.1".into();
    let (status, body) = try_connect(&host, bad).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"]["email"], "must be an email address like support@example.com", "{body}");
    assert_eq!(body["fields"]["smtp_host"], "must be a host name only, like smtp.example.com (no smtp:// in front)", "{body}");
    let mut bad = settings(&server);
    bad["smtp_port"] = 70000.into();
    bad["smtp_host"] = "smtp://127.0.0.1".into();
    bad["display_name"] = "Toko\nBcc: victim@example.com".into();
    bad["smtp_password"] = Value::Null;
    let (status, body) = try_connect(&host, bad).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["fields"],
        json!({
            "smtp_port": "must be a port number from 1 to 65535",
            "smtp_host": "must be a host name only, like smtp.example.com (no smtp:// in front)",
            "display_name": "must be one line of text",
            "smtp_password": "field is required with a username",
        }),
        "every field with its reason: {body}"
    );

    let mut wrong_password = settings(&server);
    wrong_password["smtp_password"] = "not-the-password".into();
    let (status, body) = try_connect(&host, wrong_password).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("connect_failed")), "{body}");
    let reason = body["message"].as_str().unwrap();
    assert!(reason.contains("refused the login") && reason.contains("535"), "says why: {reason}");

    let mut starttls = settings(&server);
    starttls["smtp_security"] = "starttls".into();
    let (status, body) = try_connect(&host, starttls).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("connect_failed")), "{body}");
    assert!(body["message"].as_str().unwrap().to_lowercase().contains("starttls"), "says why: {body}");

    let mut closed_port = settings(&server);
    closed_port["smtp_port"] = 1.into();
    let (status, body) = try_connect(&host, closed_port).await;
    assert_eq!((status, body["error"].as_str()), (502, Some("provider_unreachable")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("127.0.0.1:1"), "says which server: {body}");
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    assert_eq!(channels, json!([]), "a refused connect leaves no channel");

    let channel = connect(&host, &server).await;
    assert_eq!(channel["plugin"], "email");
    assert_eq!(channel["display_name"], "Toko Budi Support <support@tokobudi.co.id>");
    assert_eq!(channel["external_account_id"], BUSINESS);
    assert_eq!(channel["settings"]["smtp_password"]["value"], "********");
    let forwarding = setup_value(&channel, "forwarding_address");
    let (id, domain) = forwarding.split_once('@').unwrap();
    assert_eq!(domain, DOMAIN);
    assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()), "an unguessable id: {forwarding}");
    let steps = setup_value(&channel, "forward");
    assert!(steps.contains(BUSINESS) && steps.contains(forwarding) && steps.contains("Gmail") && steps.contains("Outlook"), "{steps}");
    let relay = setup_value(&channel, "relay_url");
    assert!(relay.starts_with(&format!("{}/", channel["webhook_url"].as_str().unwrap())), "{relay}");

    let other = connect(&host, &server).await;
    assert_ne!(setup_value(&other, "forwarding_address"), forwarding, "every channel has its own address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_smtp_server_needs_the_operators_permission() {
    let server = MailServer::start(BUSINESS, PASSWORD).await;
    let host = TestHost::start(HostOptions { smtp: true, ..Default::default() }).await;
    let (status, body) = try_connect(&host, settings(&server)).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("connect_failed")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("--allow-outbound 127.0.0.1"), "says what to do: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_by_smtp_reaches_the_inbox_and_unknown_recipients_are_refused_at_rcpt() {
    let (host, server) = mail_setup().await;
    let channel = connect(&host, &server).await;
    let forwarding = setup_value(&channel, "forwarding_address").to_owned();
    let smtp = host.smtp_addr.unwrap();

    let first = mail("CAF=siti-1@mail.gmail.com", "Pesanan #1234 belum sampai", "", "Halo, pesanan saya belum sampai.");
    let stranger = format!("nobody@{DOMAIN}");
    let outcome = smtp_send(smtp, SITI, &[&forwarding, &stranger, "someone@elsewhere.test"], &first).await;
    assert_eq!(outcome["sent"], true, "{outcome}");
    assert_eq!(outcome["refused"][&stranger][0], 550, "{outcome}");
    assert_eq!(outcome["refused"]["someone@elsewhere.test"][0], 550, "{outcome}");
    assert!(outcome["refused"].get(&forwarding).is_none(), "{outcome}");

    let only_unknown = smtp_send(smtp, SITI, &[&format!("{}@{DOMAIN}", "0".repeat(24))], &first).await;
    assert_eq!(only_unknown["sent"], false, "{only_unknown}");

    let conversation = the_conversation(&host).await;
    assert_eq!(conversation["name"], "Pesanan #1234 belum sampai");
    assert_eq!(conversation["channel_id"], channel["id"]);
    assert_eq!(conversation["contact"]["handle"], SITI);
    assert_eq!(conversation["contact"]["name"], "Siti Rahma");
    assert_eq!(conversation["window"]["state"], "unrestricted", "email has no messaging window: {conversation}");
    let id = conversation["id"].as_i64().unwrap();
    let stored = messages(&host, id).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["direction"], "inbound");
    assert_eq!(stored[0]["text"], "Halo, pesanan saya belum sampai.");
    assert_eq!(stored[0]["provider_message_id"], "CAF=siti-1@mail.gmail.com");

    // The same mail again (a retry, or forwarded twice) is stored once; the address is
    // case-insensitive, as mail systems may change case.
    deliver(&host, &[&forwarding.to_uppercase()], &first).await;
    assert_eq!(messages(&host, id).await.len(), 1);

    // Too large: refused after DATA with 552, nothing stored.
    let huge = mail("huge@example.com", "Big", "", &"x".repeat(11 << 20));
    let outcome = smtp_send(smtp, SITI, &[&forwarding], &huge).await;
    assert_eq!((outcome["sent"].as_bool(), outcome["code"].as_i64()), (Some(false), Some(552)), "{outcome}");
    assert_eq!(conversations(&host).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mta_can_post_raw_mail_to_the_relay_url_with_the_channels_secret() {
    let (host, server) = mail_setup().await;
    let channel = connect(&host, &server).await;
    let relay = setup_value(&channel, "relay_url").replace(PUBLIC_URL, &host.base);
    let post = |url: String, content_type: &'static str, body: Vec<u8>| {
        let request = host.http.post(url).header("content-type", content_type).body(body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };

    let webhook = channel["webhook_url"].as_str().unwrap().replace(PUBLIC_URL, &host.base);
    let message = mail("relay-1@example.com", "Via Postfix", "", "Halo dari relay.");
    assert_eq!(post(webhook.clone(), "message/rfc822", message.clone()).await.0, 401, "no secret");
    assert_eq!(post(format!("{webhook}/not-the-secret"), "message/rfc822", message.clone()).await.0, 401);
    assert!(conversations(&host).await.is_empty(), "nothing stored unverified");

    assert_eq!(post(relay.clone(), "message/rfc822", message.clone()).await, (200, String::new()));
    let conversation = the_conversation(&host).await;
    assert_eq!(conversation["name"], "Via Postfix");
    assert_eq!(messages(&host, conversation["id"].as_i64().unwrap()).await[0]["text"], "Halo dari relay.");

    // A Mailgun route to a URL ending in "mime" posts a form with the message in body-mime.
    let form = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"recipient\"\r\n\r\n{BUSINESS}\r\n--b0undary\r\n\
Content-Disposition: form-data; name=\"body-mime\"\r\n\r\n{}\r\n--b0undary--\r\n",
        String::from_utf8(mail("mailgun-1@example.com", "Via Mailgun", "", "Halo dari Mailgun.")).unwrap()
    );
    let (status, _) = post(format!("{relay}/mime"), "multipart/form-data; boundary=b0undary", form.into_bytes()).await;
    assert_eq!(status, 200);
    assert!(conversations(&host).await.iter().any(|c| c["name"] == "Via Mailgun"));

    assert_eq!(post(relay, "application/json", b"{}".to_vec()).await.0, 400, "not mail: 400, never 500");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_only_and_non_utf8_mail_is_readable_and_attachments_are_listed() {
    let (host, server) = mail_setup().await;
    let channel = connect(&host, &server).await;
    let forwarding = setup_value(&channel, "forwarding_address").to_owned();
    let text_of = |name: &'static str| {
        let host = &host;
        async move {
            let conversation = conversations(host).await.into_iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name}"));
            messages(host, conversation["id"].as_i64().unwrap()).await.remove(0)
        }
    };

    let html = format!(
        "From: budi@example.com\r\nTo: {BUSINESS}\r\nSubject: HTML saja\r\nMessage-ID: <html-1@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Apakah <b>stok</b> masih ada?</p><p>Warna&nbsp;merah &amp; biru</p></body></html>\r\n"
    );
    deliver_from(&host, "budi@example.com", &[&forwarding], html.as_bytes()).await;
    let text = text_of("HTML saja").await["text"].as_str().unwrap().to_owned();
    assert!(text.contains("Apakah stok masih ada?") && text.contains("merah & biru") && !text.contains('<'), "{text:?}");

    let latin1 = b"From: =?ISO-8859-1?Q?Jos=E9_Mu=F1oz?= <jose@example.es>\r\nTo: support@tokobudi.co.id\r\n\
Subject: =?ISO-8859-1?Q?Informaci=F3n_del_pedido?=\r\nMessage-ID: <latin1@example.es>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nEl paquete lleg\xf3 da\xf1ado. \xbfQu\xe9 hago?\r\n";
    deliver_from(&host, "jose@example.es", &[&forwarding], latin1).await;
    let message = text_of("Información del pedido").await;
    assert_eq!(message["text"], "El paquete llegó dañado. ¿Qué hago?");
    let conversation = conversations(&host).await.into_iter().find(|c| c["name"] == "Información del pedido").unwrap();
    assert_eq!(conversation["contact"]["name"], "José Muñoz");

    let pdf = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago="; // 23 bytes
    let with_files = format!(
        "From: {SITI}\r\nTo: {BUSINESS}\r\nSubject: Bukti transfer\r\nMessage-ID: <files-1@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTerlampir.\r\n\
--outer\r\nContent-Type: application/pdf; name=\"bukti.pdf\"\r\nContent-Disposition: attachment; filename=\"bukti.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--outer\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"=?UTF-8?B?Zm90byBwYWtldC5qcGc=?=\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRg==\r\n--outer--\r\n"
    );
    deliver(&host, &[&forwarding], with_files.as_bytes()).await;
    let message = text_of("Bukti transfer").await;
    assert_eq!(message["text"], "Terlampir.");
    let attachments = message["content"]["attachments"].as_array().unwrap();
    let described: Vec<_> = attachments.iter().map(|a| (a["kind"].clone(), a["filename"].clone(), a["mime_type"].clone(), a["size"].clone())).collect();
    assert_eq!(
        described,
        vec![
            (json!("document"), json!("bukti.pdf"), json!("application/pdf"), json!(23)),
            (json!("image"), json!("foto paket.jpg"), json!("image/jpeg"), json!(10)),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_reply_goes_out_threaded_and_the_customers_answer_joins_the_conversation() {
    let (host, server) = mail_setup().await;
    let channel = connect(&host, &server).await;
    let forwarding = setup_value(&channel, "forwarding_address").to_owned();

    // The customer writes to the business; the mailbox forwards it to Switchboard.
    deliver(&host, &[&forwarding], &mail("CAF=siti-1@mail.gmail.com", "Pesanan #1234", "", "Pesanan saya belum sampai.")).await;
    let conversation = the_conversation(&host).await;
    let id = conversation["id"].as_i64().unwrap();
    let key = conversation["external_id"].as_str().unwrap().to_owned();

    // The agent answers; it goes out through the business's SMTP server, logged in.
    let reply_id = send(&host, id, "Sudah dikirim kemarin, kak.\nResi: JNE123").await;
    let sent = until_status(&host, id, reply_id, "sent").await;
    let stored = server.wait_for(1, PATIENCE).await;
    assert_eq!(stored.len(), 1);
    let reply = parse(&stored[0]);
    let our_id = format!("conversation/{key}/messages/{reply_id}@tokobudi.co.id");
    assert_eq!(sent["provider_message_id"], our_id.as_str());
    assert_eq!(address(reply.from()), (Some("Toko Budi Support".into()), Some(BUSINESS.into())));
    assert_eq!(address(reply.to()), (Some("Siti Rahma".into()), Some(SITI.into())));
    assert_eq!(address(reply.reply_to()), (Some("Toko Budi Support".into()), Some(format!("reply+{key}@{DOMAIN}"))));
    assert_eq!(reply.subject(), Some("Re: Pesanan #1234"));
    assert_eq!(reply.message_id(), Some(our_id.as_str()));
    assert_eq!(text_list(reply.in_reply_to()), ["CAF=siti-1@mail.gmail.com"]);
    assert_eq!(text_list(reply.references()), ["CAF=siti-1@mail.gmail.com"]);
    assert!(reply.date().is_some());
    assert_eq!(reply.body_text(0).unwrap().trim_end(), "Sudah dikirim kemarin, kak.\nResi: JNE123");
    assert_eq!(header(&reply, "X-MailFrom"), BUSINESS, "the envelope sender is the business");
    assert_eq!(header(&reply, "X-RcptTo"), SITI);

    // The customer answers with her mail program: to the business address (forwarded to
    // Switchboard), In-Reply-To and References naming our reply.
    let answer = mail(
        "CAF=siti-2@mail.gmail.com",
        "Re: Pesanan #1234",
        &format!("In-Reply-To: <{our_id}>\r\nReferences: <CAF=siti-1@mail.gmail.com> <{our_id}>\r\n"),
        "Terima kasih, sudah sampai.",
    );
    deliver(&host, &[&forwarding], &answer).await;
    let after = the_conversation(&host).await;
    assert_eq!(after["id"], id, "the answer joined the conversation");
    assert_eq!(after["name"], "Pesanan #1234", "a reply keeps the conversation's name");
    let thread = messages(&host, id).await;
    assert_eq!(thread.len(), 3, "{thread:?}");
    assert_eq!(thread[2]["text"], "Terima kasih, sudah sampai.");
    assert_eq!(thread[2]["reply_to"], our_id.as_str());

    // Or she writes to the Reply-To address straight away, threading headers gone.
    deliver(&host, &[&format!("reply+{key}@{DOMAIN}")], &mail("plain-3@example.com", "satu lagi", "", "Satu pertanyaan lagi.")).await;
    assert_eq!(the_conversation(&host).await["id"], id);
    assert_eq!(messages(&host, id).await.len(), 4);

    // The next reply threads onto her latest mail, keeping the whole chain.
    let second = send(&host, id, "Silakan, kak.").await;
    until_status(&host, id, second, "sent").await;
    let stored = server.wait_for(2, PATIENCE).await;
    let next = parse(&stored[1]);
    assert_eq!(text_list(next.in_reply_to()), ["plain-3@example.com"]);
    assert_eq!(next.subject(), Some("Re: satu lagi"));
    let second_id = format!("conversation/{key}/messages/{second}@tokobudi.co.id");
    assert_eq!(next.message_id(), Some(second_id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_replies_start_no_conversation_and_a_bounce_fails_the_reply() {
    let (host, server) = mail_setup().await;
    let channel = connect(&host, &server).await;
    let forwarding = setup_value(&channel, "forwarding_address").to_owned();

    let out_of_office = mail("ooo-1@example.com", "Automatic reply: Pesanan", "Auto-Submitted: auto-replied\r\n", "Saya sedang cuti.");
    deliver(&host, &[&forwarding], &out_of_office).await;
    let newsletter = mail("news-1@example.com", "Promo minggu ini", "Precedence: bulk\r\n", "Diskon!");
    deliver(&host, &[&forwarding], &newsletter).await;
    assert!(conversations(&host).await.is_empty(), "taken (250) but no conversation");

    deliver(&host, &[&forwarding], &mail("CAF=siti-1@mail.gmail.com", "Pesanan", "", "Halo.")).await;
    let id = the_conversation(&host).await["id"].as_i64().unwrap();
    let reply_id = send(&host, id, "Halo juga.").await;
    let sent = until_status(&host, id, reply_id, "sent").await;
    let our_id = sent["provider_message_id"].as_str().unwrap().to_owned();

    // Her mailbox is gone: the bounce comes back to the business and is forwarded too.
    let bounce = format!(
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\r\nTo: {BUSINESS}\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@mx.example.com>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\n\
Your message could not be delivered.\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n\
Final-Recipient: rfc822; {SITI}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <{SITI}>: user unknown\r\n\r\n\
--r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {BUSINESS}\r\nTo: {SITI}\r\nSubject: Re: Pesanan\r\nMessage-ID: <{our_id}>\r\n\r\n--r--\r\n"
    );
    deliver_from(&host, "", &[&forwarding], bounce.as_bytes()).await;
    let failed = until_status(&host, id, reply_id, "failed").await;
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("5.1.1") && error.contains("user unknown"), "{error}");
    assert_eq!(conversations(&host).await.len(), 1, "the bounce started nothing");
    assert_eq!(messages(&host, id).await.len(), 2, "and is not a message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_fails_a_reply_for_good_and_an_unreachable_server_is_retried() {
    let (host, server) = mail_setup().await;
    let channel = connect(&host, &server).await;
    let forwarding = setup_value(&channel, "forwarding_address").to_owned();
    deliver(&host, &[&forwarding], &mail("CAF=siti-1@mail.gmail.com", "Pesanan", "", "Halo.")).await;
    let id = the_conversation(&host).await["id"].as_i64().unwrap();

    // The mailbox's password was changed: permanent, with the server's reason.
    server.set_login(BUSINESS, "a-new-password");
    let refused = send(&host, id, "Halo juga.").await;
    let failed = until_status(&host, id, refused, "failed").await;
    assert!(failed["error"].as_str().unwrap().contains("refused the login"), "{failed}");
    server.set_login(BUSINESS, PASSWORD);

    // The server is down for a moment: the outbox retries until it is back.
    let stopped = server.stop().await;
    let retried = send(&host, id, "Maaf, ini balasan kami.").await;
    // Once an attempt failed (its reason shows), it waits for the next one.
    let waiting = host
        .eventually(PATIENCE, || async { messages(&host, id).await.into_iter().find(|m| m["id"] == retried && m["error"].is_string()) })
        .await
        .expect("an attempt failed while the server was down");
    assert_eq!(waiting["status"], "queued", "a connection failure is retried: {waiting}");
    let server = stopped.restart().await;
    until_status(&host, id, retried, "sent").await;
    let stored = server.wait_for(1, PATIENCE).await;
    assert_eq!(stored.len(), 1, "delivered once, after the retry");
    assert_eq!(parse(&stored[0]).body_text(0).unwrap().trim_end(), "Maaf, ini balasan kami.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_frees_the_forwarding_address() {
    let (host, server) = mail_setup().await;
    let channel = connect(&host, &server).await;
    let forwarding = setup_value(&channel, "forwarding_address").to_owned();
    let relay = setup_value(&channel, "relay_url").replace(PUBLIC_URL, &host.base);
    deliver(&host, &[&forwarding], &mail("before@example.com", "Sebelum", "", "x")).await;
    let key = the_conversation(&host).await["external_id"].as_str().unwrap().to_owned();

    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{}", channel["id"].as_str().unwrap()), Some(&host.admin), None).await;
    assert_eq!(status, 204);

    let message = mail("after@example.com", "Sesudah", "", "x");
    let reply_address = format!("reply+{key}@{DOMAIN}");
    let outcome = smtp_send(host.smtp_addr.unwrap(), SITI, &[&forwarding, &reply_address], &message).await;
    assert_eq!(outcome["sent"], false, "{outcome}");
    assert_eq!(outcome["refused"][&forwarding][0], 550, "{outcome}");
    assert_eq!(outcome["refused"][&reply_address][0], 550, "{outcome}");
    let response = host.http.post(relay).header("content-type", "message/rfc822").body(message).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(conversations(&host).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_attachments_are_kept_and_an_agents_pdf_goes_out_as_a_mime_part() {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let (host, server) = mail_setup().await;
    let channel = connect(&host, &server).await;
    let forwarding = setup_value(&channel, "forwarding_address").to_owned();
    let receipt: Vec<u8> = b"%PDF-1.4\n".iter().copied().chain((0..30_000u32).map(|i| (i * 7 % 251) as u8)).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&receipt);
    let wrapped: Vec<&str> = encoded.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let with_file = format!(
        "From: {SITI}\r\nTo: {BUSINESS}\r\nSubject: Bukti transfer\r\nMessage-ID: <files-2@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTerlampir.\r\n\
--outer\r\nContent-Type: application/pdf; name=\"bukti.pdf\"\r\nContent-Disposition: attachment; filename=\"bukti.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--outer--\r\n",
        wrapped.join("\r\n")
    );
    deliver(&host, &[&forwarding], with_file.as_bytes()).await;
    let conversation = the_conversation(&host).await["id"].as_i64().unwrap();
    let file = messages(&host, conversation).await[0]["content"]["attachments"][0]["file"].clone();
    assert_eq!(file["state"], "stored", "kept from the mail itself, no download: {file}");
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&receipt)));
    assert_eq!((file["mime_type"].as_str(), file["filename"].as_str()), (Some("application/pdf"), Some("bukti.pdf")));

    // The agent answers with an invoice: a real MIME attachment, the same bytes.
    let invoice: Vec<u8> = b"%PDF-1.7\n".iter().copied().chain((0..50_000u32).map(|i| (i * 13 % 241) as u8)).collect();
    let uploaded = host
        .http
        .post(format!("{}/api/v1/media?filename=faktur-001.pdf", host.base))
        .bearer_auth(&host.agent)
        .body(invoice.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let uploaded: Value = uploaded.json().await.unwrap();
    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"file_id": uploaded["id"], "text": "Ini fakturnya."})).await;
    assert_eq!(status, 202, "{queued}");
    until_status(&host, conversation, queued["id"].as_i64().unwrap(), "sent").await;
    let stored = server.wait_for(1, PATIENCE).await;
    let reply = parse(&stored[0]);
    assert_eq!(reply.body_text(0).unwrap().trim_end(), "Ini fakturnya.");
    let attached = reply.attachments().next().expect("the file is attached");
    assert_eq!(attached.attachment_name(), Some("faktur-001.pdf"));
    assert_eq!(hex::encode(Sha256::digest(attached.contents())), hex::encode(Sha256::digest(&invoice)), "the same bytes");
}

/// A plugin's own texts follow the reader's language (contract 0.1.4 `translations`): its form
/// (labels, help) and its checks' messages in Bahasa Indonesia for `Accept-Language: id`, as
/// written for anyone else; the host's own messages too; error codes and field keys never change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_s_form_and_its_field_errors_come_in_the_reader_s_language() {
    let (host, server) = mail_setup().await;
    let in_language = |language: &'static str, method: reqwest::Method, path: &str| {
        host.http.request(method, format!("{}{path}", host.base)).bearer_auth(&host.admin).header("accept-language", language)
    };
    let email_form = |plugins: Value| plugins.as_array().unwrap().iter().find(|p| p["id"] == "email").unwrap()["settings_schema"].clone();
    let english: Value = in_language("en-US,en;q=0.9", reqwest::Method::GET, "/api/v1/plugins").send().await.unwrap().json().await.unwrap();
    let indonesian: Value = in_language("id-ID,id;q=0.9,en;q=0.8", reqwest::Method::GET, "/api/v1/plugins").send().await.unwrap().json().await.unwrap();
    let (english, indonesian) = (email_form(english), email_form(indonesian));
    let label = |form: &Value, key: &str| form.as_array().unwrap().iter().find(|f| f["key"] == key).unwrap()["label"].as_str().unwrap().to_owned();
    assert_eq!(label(&english, "smtp_host"), "SMTP server");
    assert_ne!(label(&indonesian, "smtp_host"), label(&english, "smtp_host"), "{indonesian}");
    assert_eq!(english.as_array().unwrap().len(), indonesian.as_array().unwrap().len());
    for (en, id) in english.as_array().unwrap().iter().zip(indonesian.as_array().unwrap()) {
        assert_eq!(en["key"], id["key"], "keys never change");
    }

    let mut bad = settings(&server);
    bad["email"] = "support at tokobudi".into();
    bad["smtp_host"] = "smtp://127.0.0.1".into();
    let body = json!({"plugin": "email", "name": "Toko Budi mail", "settings": bad});
    let answer = in_language("id", reqwest::Method::POST, "/api/v1/channels").json(&body).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 422);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["error"], "invalid_fields", "the code stays: {answer}");
    assert_eq!(answer["fields"]["smtp_host"], "harus berupa nama host saja, seperti smtp.example.com (tanpa smtp:// di depannya)", "{answer}");
    assert_eq!(answer["fields"]["email"], "harus berupa alamat email seperti support@example.com", "the host's own check: {answer}");
    assert_eq!(answer["message"], "beberapa kolom tidak valid: email, smtp_host", "{answer}");
    let (_, english_answer) = try_connect(&host, bad).await;
    assert_eq!(english_answer["fields"]["smtp_host"], "must be a host name only, like smtp.example.com (no smtp:// in front)");
}
