//! Settings, MIME parsing, threading and message building, natively (SMTP and the channel's
//! addresses need the host; the end-to-end tests cover them with real mail software).

use mail_parser::MessageParser;

use super::*;

const SECRET: &str = "Wq8ZkT2bN5mR7xP1cV4yH6jL9sD3fG0a";
const DOMAIN: &str = "in.switchboard.test";
const NOW_MS: u64 = 1_780_000_000_000;

fn ctx(settings: &[(&str, &str)]) -> ChannelContext {
    ChannelContext {
        channel_id: "ch_mail1".into(),
        webhook_url: "https://switchboard.test/webhooks/ch_mail1".into(),
        webhook_secret: SECRET.into(),
        settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

const GOOD: &[(&str, &str)] = &[
    ("email", "support@tokobudi.co.id"),
    ("display_name", "Toko Budi Support"),
    ("smtp_host", "smtp.tokobudi.co.id"),
    ("smtp_port", "587"),
    ("smtp_username", "support@tokobudi.co.id"),
    ("smtp_password", "app-password"),
    ("smtp_security", "starttls"),
];

fn field_errors(settings: &[(&str, &str)]) -> Vec<(String, String)> {
    match Config::read(&ctx(settings)).err() {
        Some(ChannelError::InvalidSettings(errors)) => errors.into_iter().map(|e| (e.key, e.message)).collect(),
        Some(other) => panic!("{other:?}"),
        None => Vec::new(),
    }
}

fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut settings: Vec<_> = GOOD.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).copied().collect();
    settings.extend(changes.iter().filter(|(_, v)| !v.is_empty()).copied());
    settings
}

#[test]
fn good_settings_make_the_server() {
    let config = Config::read(&ctx(GOOD)).ok().unwrap();
    assert_eq!((config.email.as_str(), config.domain()), ("support@tokobudi.co.id", "tokobudi.co.id"));
    assert_eq!((config.server.host.as_str(), config.server.port), ("smtp.tokobudi.co.id", 587));
    assert_eq!(config.server.security, smtp::Security::Starttls);
    assert_eq!(config.server.username.as_deref(), Some("support@tokobudi.co.id"));
    // Port and security have defaults; a server without login takes neither username nor password.
    let minimal = [("email", "a@b.co"), ("display_name", "B"), ("smtp_host", "10.0.0.5")];
    let config = Config::read(&ctx(&minimal)).ok().unwrap();
    assert_eq!((config.server.port, config.server.security, config.server.username), (587, smtp::Security::Starttls, None));
}

#[test]
fn every_field_is_checked_with_a_reason() {
    let missing = field_errors(&[]);
    for key in ["email", "display_name", "smtp_host"] {
        assert!(missing.contains(&(key.into(), "field is required".into())), "{key}: {missing:?}");
    }
    let cases: &[(&str, &str, &str)] = &[
        ("email", "support at tokobudi", "must be an email address like support@example.com"),
        ("email", "support@localhost", "must be an email address like support@example.com"),
        ("email", "<support@tokobudi.co.id>", "must be an email address like support@example.com"),
        ("display_name", "Toko\r\nBcc: victim@example.com", "must be one line of text"),
        ("smtp_host", "smtp://smtp.gmail.com", "must be a host name only, like smtp.example.com (no smtp:// in front)"),
        ("smtp_host", "smtp.gmail.com:587", "must be a host name only; the port goes in smtp_port"),
        ("smtp_host", "smtp gmail com", "must be a host name like smtp.example.com or an IP address"),
        ("smtp_port", "0", "must be a port number from 1 to 65535"),
        ("smtp_port", "70000", "must be a port number from 1 to 65535"),
        ("smtp_security", "ssl", "must be one of: starttls, tls, none"),
    ];
    for (key, value, message) in cases {
        let errors = field_errors(&with(&[(key, value)]));
        assert_eq!(errors, vec![(key.to_string(), message.to_string())], "{key}={value}");
    }
    assert_eq!(field_errors(&with(&[("smtp_password", "")])), vec![("smtp_password".into(), "field is required with a username".into())]);
    assert_eq!(field_errors(&with(&[("smtp_username", "")])), vec![("smtp_username".into(), "field is required with a password".into())]);
}

#[test]
fn the_schema_lists_the_issue_fields() {
    let keys: Vec<String> = Email::settings_schema().into_iter().map(|f| f.key).collect();
    assert_eq!(keys, ["email", "display_name", "smtp_host", "smtp_port", "smtp_username", "smtp_password", "smtp_security"]);
    let password = Email::settings_schema().into_iter().find(|f| f.key == "smtp_password").unwrap();
    assert!(password.secret);
}

// Threading helpers.

#[test]
fn keys_and_our_message_ids_round_trip() {
    let key = threading::new_key(SECRET, "CAF=abc@mail.gmail.com");
    assert_eq!(key.len(), 20);
    assert_eq!(key, threading::new_key(SECRET, "CAF=abc@mail.gmail.com"), "a redelivery maps to the same conversation");
    assert_ne!(key, threading::new_key("another-channel-secret", "CAF=abc@mail.gmail.com"));
    let id = threading::message_id(&key, "42", "tokobudi.co.id");
    assert_eq!(id, format!("conversation/{key}/messages/42@tokobudi.co.id"));
    assert_eq!(threading::key_of_message_id(&format!("<{id}>")), Some(key.clone()));
    assert_eq!(threading::key_of_message_id("CAF=abc@mail.gmail.com"), None);
    assert_eq!(threading::key_of_message_id("conversation/x y/messages/1@d"), None);
    assert_eq!(threading::key_of_reply_address(&format!("Reply+{}@IN.switchboard.test", key.to_uppercase()), DOMAIN), Some(key.clone()));
    assert_eq!(threading::key_of_reply_address(&format!("reply+{key}@elsewhere.test"), DOMAIN), None);
    assert_eq!(threading::key_of_reply_address("support@in.switchboard.test", DOMAIN), None);
}

#[test]
fn references_keep_the_first_and_the_latest() {
    let earlier: Vec<String> = (0..30).map(|i| format!("m{i}@x")).collect();
    let refs = threading::references(&earlier, "last@x");
    assert_eq!(refs.len(), 20);
    assert_eq!(refs.first().map(String::as_str), Some("m0@x"));
    assert_eq!(refs.last().map(String::as_str), Some("last@x"));
    assert_eq!(threading::references(&[], "a@x"), vec!["a@x".to_string()]);
}

// Mail in.

fn read_with(raw: &str, envelope: &Envelope, known: &dyn Fn(&str) -> Option<String>) -> Verdict {
    let context = inbound::Context { webhook_secret: SECRET, inbound_domain: Some(DOMAIN), known, now_ms: NOW_MS };
    inbound::read(raw.as_bytes(), envelope, &context).unwrap_or_else(|e| panic!("{e:?}"))
}

fn read(raw: &str) -> Verdict {
    read_with(raw, &Envelope::default(), &|_| None)
}

fn message(raw: &str) -> InboundMessage {
    match read(raw) {
        Verdict::Message(message) => message,
        Verdict::Bounce(status) => panic!("a bounce: {status:?}"),
        Verdict::Ignored(why) => panic!("ignored: {why}"),
    }
}

fn prop<'a>(message: &'a InboundMessage, key: &str) -> Option<&'a str> {
    property(&message.properties, key)
}

const PLAIN: &str = "From: Siti Rahma <Siti.Rahma@Example.COM>\r\n\
To: support@tokobudi.co.id\r\n\
Subject: Pesanan #1234 belum sampai\r\n\
Date: Tue, 03 Feb 2026 09:15:00 +0700\r\n\
Message-ID: <CAF=siti-1@mail.gmail.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Halo, pesanan saya belum sampai.\r\n\
Terima kasih.\r\n";

#[test]
fn a_new_mail_starts_a_conversation_with_the_sender_as_contact() {
    let m = message(PLAIN);
    assert_eq!(m.provider_message_id, "CAF=siti-1@mail.gmail.com");
    assert_eq!(m.conversation, threading::new_key(SECRET, "CAF=siti-1@mail.gmail.com"));
    assert_eq!(m.conversation_name.as_deref(), Some("Pesanan #1234 belum sampai"));
    assert_eq!(m.sender.id, "siti.rahma@example.com");
    assert_eq!(m.sender.name.as_deref(), Some("Siti Rahma"));
    assert_eq!(m.sender.handle.as_deref(), Some("siti.rahma@example.com"));
    assert_eq!(m.text.as_deref(), Some("Halo, pesanan saya belum sampai.\nTerima kasih."));
    assert_eq!(m.timestamp_ms, 1_770_084_900_000);
    assert_eq!(prop(&m, "message_id"), Some("CAF=siti-1@mail.gmail.com"));
    assert_eq!(prop(&m, "subject"), Some("Pesanan #1234 belum sampai"));
    assert_eq!(prop(&m, "reply_address"), Some("siti.rahma@example.com"));
    assert_eq!(prop(&m, "reply_name"), Some("Siti Rahma"));
    assert!(m.attachments.is_empty() && m.reply_to.is_none());
}

#[test]
fn html_only_mail_becomes_text() {
    let raw = "From: budi@example.com\r\nSubject: Hi\r\nMessage-ID: <h1@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Saya mau <b>tanya</b> stok.</p><p>Baris&nbsp;dua &amp; tiga</p></body></html>\r\n";
    let text = message(raw).text.unwrap();
    assert!(text.contains("Saya mau tanya stok."), "{text:?}");
    assert!(text.contains("dua & tiga"), "{text:?}");
    assert!(!text.contains('<'), "{text:?}");
}

#[test]
fn other_charsets_and_encoded_headers_are_decoded() {
    // ISO-8859-1 body in quoted-printable, an RFC 2047 subject and sender name, and a
    // Shift_JIS part (needs the full encoding tables).
    let raw = b"From: =?ISO-8859-1?Q?Jos=E9_Mu=F1oz?= <jose@example.es>\r\nSubject: =?ISO-8859-1?Q?Informaci=F3n_del_pedido?=\r\n\
Message-ID: <latin1@example.es>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nEl paquete lleg=F3 da=F1ado. =BFQu=E9 hago?\r\n--b--\r\n";
    let m = message(std::str::from_utf8(raw).expect("7-bit: the charset is in the encoding"));
    assert_eq!(m.sender.name.as_deref(), Some("José Muñoz"));
    assert_eq!(m.conversation_name.as_deref(), Some("Información del pedido"));
    assert_eq!(m.text.as_deref(), Some("El paquete llegó dañado. ¿Qué hago?"));

    let mut sjis = b"From: tanaka@example.jp\r\nSubject: test\r\nMessage-ID: <sjis@example.jp>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        .to_vec();
    sjis.extend_from_slice(&[0x82, 0xb1, 0x82, 0xf1, 0x82, 0xc9, 0x82, 0xbf, 0x82, 0xcd]); // こんにちは
    let context = inbound::Context { webhook_secret: SECRET, inbound_domain: Some(DOMAIN), known: &|_| None, now_ms: NOW_MS };
    let Ok(Verdict::Message(m)) = inbound::read(&sjis, &Envelope::default(), &context) else { panic!("not a message") };
    assert_eq!(m.text.as_deref(), Some("こんにちは"));
}

#[test]
fn attachments_are_typed_with_name_type_and_size() {
    let pdf = "JVBERi0xLjQKJcfsj6IK"; // 15 bytes decoded
    let raw = format!(
        "From: siti@example.com\r\nSubject: Bukti transfer\r\nMessage-ID: <att@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTerlampir.\r\n\
--outer\r\nContent-Type: application/pdf; name=\"bukti.pdf\"\r\nContent-Disposition: attachment; filename=\"bukti.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--outer\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"foto.png\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--outer--\r\n"
    );
    let m = message(&raw);
    assert_eq!(m.text.as_deref(), Some("Terlampir."));
    let described: Vec<_> = m.attachments.iter().map(|a| (a.kind, a.filename.as_deref(), a.mime_type.as_deref(), a.size)).collect();
    assert_eq!(
        described,
        vec![
            (AttachmentKind::Document, Some("bukti.pdf"), Some("application/pdf"), Some(15)),
            (AttachmentKind::Image, Some("foto.png"), Some("image/png"), Some(8)),
        ]
    );
}

#[test]
fn replies_join_by_our_message_id_a_reply_address_or_a_known_message() {
    let key = "0123456789abcdef0123";
    let ours = threading::message_id(key, "7", "tokobudi.co.id");
    let reply = format!(
        "From: siti@example.com\r\nTo: support@tokobudi.co.id\r\nSubject: Re: Pesanan\r\nMessage-ID: <r1@example.com>\r\n\
In-Reply-To: <{ours}>\r\nReferences: <CAF=siti-1@mail.gmail.com> <{ours}>\r\n\r\nSudah, terima kasih.\r\n"
    );
    let m = message(&reply);
    assert_eq!(m.conversation, key);
    assert_eq!(m.conversation_name, None, "a reply keeps the conversation's name");
    assert_eq!(m.reply_to.as_deref(), Some(ours.as_str()));
    assert_eq!(prop(&m, "references"), Some(format!("CAF=siti-1@mail.gmail.com {ours}").as_str()));

    // Only References (some clients drop In-Reply-To).
    let m = message(&reply.replace(&format!("In-Reply-To: <{ours}>\r\n"), ""));
    assert_eq!(m.conversation, key);

    // Sent to reply+<key>, threading headers gone (a client that strips them).
    let direct = format!("From: siti@example.com\r\nTo: Toko Budi <reply+{key}@{DOMAIN}>\r\nSubject: hi\r\nMessage-ID: <r2@example.com>\r\n\r\nx\r\n");
    assert_eq!(message(&direct).conversation, key);
    // ...or only in the envelope (a Bcc).
    let bcc = "From: siti@example.com\r\nTo: someone@example.com\r\nSubject: hi\r\nMessage-ID: <r3@example.com>\r\n\r\nx\r\n";
    let envelope = Envelope { from: Some("siti@example.com".into()), to: vec![format!("reply+{key}@{DOMAIN}")] };
    let Verdict::Message(m) = read_with(bcc, &envelope, &|_| None) else { panic!() };
    assert_eq!(m.conversation, key);

    // A follow-up to the customer's own first mail joins through the remembered id.
    let follow_up = "From: siti@example.com\r\nSubject: Re: Pesanan\r\nMessage-ID: <f1@example.com>\r\nIn-Reply-To: <CAF=siti-1@mail.gmail.com>\r\n\r\nAda kabar?\r\n";
    let known = |id: &str| (id == "CAF=siti-1@mail.gmail.com").then(|| "fedcba9876543210fedc".to_string());
    let Verdict::Message(m) = read_with(follow_up, &Envelope::default(), &known) else { panic!() };
    assert_eq!(m.conversation, "fedcba9876543210fedc");

    // A reply to mail we never saw starts a new conversation.
    let stranger = follow_up.replace("CAF=siti-1@mail.gmail.com", "unknown@elsewhere");
    assert_eq!(message(&stranger).conversation, threading::new_key(SECRET, "f1@example.com"));
}

#[test]
fn auto_replies_and_our_own_mail_are_not_stored() {
    for header in ["Auto-Submitted: auto-replied", "Auto-Submitted: auto-generated", "Precedence: bulk", "Precedence: junk", "X-Autoreply: yes"] {
        let raw = PLAIN.replace("MIME-Version: 1.0\r\n", &format!("MIME-Version: 1.0\r\n{header}\r\n"));
        assert!(matches!(read(&raw), Verdict::Ignored("an auto-reply")), "{header}");
    }
    let not_auto = PLAIN.replace("MIME-Version: 1.0\r\n", "MIME-Version: 1.0\r\nAuto-Submitted: no\r\n");
    assert!(matches!(read(&not_auto), Verdict::Message(_)));
    let echo = PLAIN.replace("CAF=siti-1@mail.gmail.com", "conversation/0123456789abcdef0123/messages/9@tokobudi.co.id");
    assert!(matches!(read(&echo), Verdict::Ignored(_)));
}

#[test]
fn a_bounce_of_our_reply_fails_that_reply() {
    let ours = threading::message_id("0123456789abcdef0123", "7", "tokobudi.co.id");
    let dsn = format!(
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\r\nTo: support@tokobudi.co.id\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce1@mx.example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\n\
Your message could not be delivered.\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n\
Final-Recipient: rfc822; siti@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
--r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@tokobudi.co.id\r\nTo: siti@example.com\r\nSubject: Re: Pesanan\r\n\
Message-ID: <{ours}>\r\n\r\n--r--\r\n"
    );
    let Verdict::Bounce(status) = read_with(&dsn, &Envelope { from: Some(String::new()), to: vec![] }, &|_| None) else { panic!("not a bounce") };
    assert!(matches!(&status.target, StatusTarget::Message(id) if *id == ours), "{:?}", status.target);
    assert_eq!(status.state, DeliveryState::Failed);
    assert_eq!(status.error_code.as_deref(), Some("5.1.1"));
    assert_eq!(status.error_message.as_deref(), Some("550 5.1.1 user unknown"));
    // A bounce of something else, or a delay notice, is dropped.
    assert!(matches!(read(&dsn.replace(&threading::message_id("0123456789abcdef0123", "7", "tokobudi.co.id"), "x@y")), Verdict::Ignored(_)));
    assert!(matches!(read(&dsn.replace("Action: failed", "Action: delayed")), Verdict::Ignored(_)));
}

#[test]
fn a_message_without_message_id_is_stored_once() {
    let raw = PLAIN.replace("Message-ID: <CAF=siti-1@mail.gmail.com>\r\n", "");
    let (a, b) = (message(&raw), message(&raw));
    assert_eq!(a.provider_message_id, b.provider_message_id);
    assert!(a.provider_message_id.starts_with("sha256-"));
}

#[test]
fn what_is_not_mail_is_a_bad_request() {
    let context = inbound::Context { webhook_secret: SECRET, inbound_domain: None, known: &|_| None, now_ms: NOW_MS };
    for body in ["", "   \r\n", "\u{0}\u{1}binary"] {
        assert!(matches!(inbound::read(body.as_bytes(), &Envelope::default(), &context), Err(ChannelError::BadRequest(_))), "{body:?}");
    }
    let no_sender = "Subject: hi\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n";
    assert!(matches!(inbound::read(no_sender.as_bytes(), &Envelope::default(), &context), Err(ChannelError::BadRequest(_))));
}

// The relay.

#[test]
fn the_relay_needs_the_secret_in_the_path() {
    let ctx = ctx(GOOD);
    assert_eq!(relay_url(&ctx), format!("https://switchboard.test/webhooks/ch_mail1/{SECRET}"));
    assert!(!relay_path(&ctx, SECRET).unwrap());
    assert!(relay_path(&ctx, &format!("/{SECRET}/mime")).unwrap());
    for bad in ["", "wrong", &SECRET[1..], &format!("{SECRET}/other"), &format!("x/{SECRET}")] {
        assert!(matches!(relay_path(&ctx, bad), Err(ChannelError::Unauthorized(_))), "{bad:?}");
    }
}

fn relay_request(content_type: &str, body: &[u8]) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: SECRET.into(),
        query: String::new(),
        headers: vec![("content-type".into(), content_type.into())],
        body: body.to_vec(),
    }
}

#[test]
fn relayed_mail_is_the_body_or_a_mailgun_body_mime_field() {
    let raw = relayed_message(&relay_request("message/rfc822", PLAIN.as_bytes()), false).unwrap();
    assert_eq!(raw, PLAIN.as_bytes());
    let form = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"recipient\"\r\n\r\nabc@{DOMAIN}\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"body-mime\"\r\n\r\n{PLAIN}\r\n--XyZ--\r\n"
    );
    let raw = relayed_message(&relay_request("multipart/form-data; boundary=XyZ", form.as_bytes()), true).unwrap();
    let parsed = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(parsed.message_id(), Some("CAF=siti-1@mail.gmail.com"));
    assert!(matches!(relayed_message(&relay_request("application/json", b"{}"), false), Err(ChannelError::BadRequest(_))));
}

// Mail out.

fn last_inbound(properties: &[(&str, &str)]) -> InboundSummary {
    InboundSummary {
        provider_message_id: "r1@example.com".into(),
        timestamp_ms: NOW_MS,
        properties: properties.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

#[test]
fn a_reply_is_threaded_onto_the_customers_last_mail() {
    let config = Config::read(&ctx(GOOD)).ok().unwrap();
    let key = "0123456789abcdef0123";
    let last = last_inbound(&[
        ("message_id", "r1@example.com"),
        ("references", "CAF=siti-1@mail.gmail.com conversation/0123456789abcdef0123/messages/7@tokobudi.co.id"),
        ("subject", "Re: Pesanan #1234"),
        ("reply_address", "siti@example.com"),
        ("reply_name", "Siti Rahma"),
    ]);
    let built = outbound::build(&outbound::Reply {
        config: &config,
        conversation: key,
        host_message_id: "12",
        text: "Sudah dikirim kemarin, kak.\nResi: JNE123",
        last_inbound: Some(&last),
        reply_address: Some(format!("reply+{key}@{DOMAIN}")),
        attachment: None,
    })
    .ok()
    .unwrap();
    assert_eq!(built.message_id, format!("conversation/{key}/messages/12@tokobudi.co.id"));
    assert_eq!(built.recipient, "siti@example.com");
    let sent = MessageParser::default().parse(&built.bytes).unwrap();
    let from = sent.from().unwrap().first().unwrap();
    assert_eq!((from.name.as_deref(), from.address.as_deref()), (Some("Toko Budi Support"), Some("support@tokobudi.co.id")));
    assert_eq!(sent.to().unwrap().first().unwrap().address.as_deref(), Some("siti@example.com"));
    assert_eq!(sent.reply_to().unwrap().first().unwrap().address.as_deref(), Some(format!("reply+{key}@{DOMAIN}").as_str()));
    assert_eq!(sent.subject(), Some("Re: Pesanan #1234"), "no second Re:");
    assert_eq!(sent.message_id(), Some(built.message_id.as_str()));
    assert_eq!(sent.in_reply_to().as_text(), Some("r1@example.com"));
    let references: Vec<&str> = sent.references().as_text_list().unwrap().iter().map(|r| r.as_ref()).collect();
    assert_eq!(references, ["CAF=siti-1@mail.gmail.com", "conversation/0123456789abcdef0123/messages/7@tokobudi.co.id", "r1@example.com"]);
    assert!(sent.date().is_some());
    assert_eq!(sent.body_text(0).unwrap().trim_end(), "Sudah dikirim kemarin, kak.\r\nResi: JNE123");
}

#[test]
fn a_file_goes_as_a_mime_attachment_with_its_name_type_and_bytes() {
    use mail_parser::MimeHeaders;
    let config = Config::read(&ctx(GOOD)).ok().unwrap();
    let last = last_inbound(&[("message_id", "r1@example.com"), ("reply_address", "siti@example.com")]);
    let pdf: Vec<u8> = b"%PDF-1.7\n".iter().copied().chain((0..5000u32).map(|i| (i % 251) as u8)).collect();
    let built = outbound::build(&outbound::Reply {
        config: &config,
        conversation: "0123456789abcdef0123",
        host_message_id: "13",
        text: "Ini fakturnya",
        last_inbound: Some(&last),
        reply_address: None,
        attachment: Some(outbound::File { name: "faktur 001.pdf".into(), mime_type: "application/pdf".into(), bytes: pdf.clone() }),
    })
    .ok()
    .unwrap();
    let sent = MessageParser::default().parse(&built.bytes).unwrap();
    assert_eq!(sent.body_text(0).unwrap().trim_end(), "Ini fakturnya");
    let attached = sent.attachments().next().expect("one attachment");
    assert_eq!(attached.attachment_name(), Some("faktur 001.pdf"));
    assert_eq!(attached.content_type().map(|t| format!("{}/{}", t.ctype(), t.subtype().unwrap_or_default())).as_deref(), Some("application/pdf"));
    assert_eq!(attached.contents(), pdf.as_slice());
}

#[test]
fn subjects_get_one_re() {
    assert_eq!(outbound::reply_subject(Some("Pesanan")), "Re: Pesanan");
    assert_eq!(outbound::reply_subject(Some("RE: Pesanan")), "RE: Pesanan");
    assert_eq!(outbound::reply_subject(Some("Line\r\n folded")), "Re: Line folded");
    assert_eq!(outbound::reply_subject(None), "Re: your message");
}

#[test]
fn a_reply_needs_an_address_to_answer() {
    let config = Config::read(&ctx(GOOD)).ok().unwrap();
    let reply = |last: Option<&InboundSummary>| {
        outbound::build(&outbound::Reply {
            config: &config,
            conversation: "0123456789abcdef0123",
            host_message_id: "1",
            text: "x",
            last_inbound: last,
            reply_address: None,
            attachment: None,
        })
        .err()
    };
    assert!(matches!(reply(None), Some(ChannelError::Provider(_))));
    assert!(matches!(reply(Some(&last_inbound(&[("reply_address", "not an address")]))), Some(ChannelError::Provider(_))));
    assert!(reply(Some(&last_inbound(&[("reply_address", "siti@example.com")]))).is_none(), "no Message-ID to answer is fine");
}

#[test]
fn a_long_message_id_is_remembered_under_a_key_the_host_keeps() {
    let long = format!("{}@mail.example", "x".repeat(3000));
    let key = threading::state_key(&long);
    assert!(key.len() <= 1024 && key.starts_with("thread:sha256:"), "{key}");
    assert_eq!(key, threading::state_key(&long), "the same mail's replies find it again");
    assert_ne!(key, threading::state_key(&format!("y{long}")));
    assert_eq!(threading::state_key("CAF=abc@mail.gmail.com"), "thread:CAF=abc@mail.gmail.com", "a usual one is kept as it is");
}
