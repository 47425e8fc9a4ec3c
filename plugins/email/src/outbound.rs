//! Mail out: an agent's reply as an RFC 5322 message, threaded onto the customer's last mail.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use switchboard_sdk::{ChannelError, InboundSummary};

use crate::config::Config;
use crate::inbound::one_line;
use crate::threading;

/// One reply to build.
pub struct Reply<'a> {
    pub config: &'a Config,
    /// The conversation's key (the host's `recipient`).
    pub conversation: &'a str,
    /// The host's id for the message, stable across retries.
    pub host_message_id: &'a str,
    pub text: &'a str,
    /// The customer's last mail: whom to answer and what to thread onto.
    pub last_inbound: Option<&'a InboundSummary>,
    /// `reply+<key>@<inbound domain>` when the host receives mail by SMTP.
    pub reply_address: Option<String>,
    /// A file sent with the text, as a MIME attachment.
    pub attachment: Option<File>,
}

/// A file to attach.
pub struct File {
    pub name: String,
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

/// A message ready for SMTP.
pub struct Built {
    /// Without angle brackets: the receipt's provider message id.
    pub message_id: String,
    pub recipient: String,
    pub bytes: Vec<u8>,
}

pub fn build(reply: &Reply<'_>) -> Result<Built, ChannelError> {
    let last = reply
        .last_inbound
        .ok_or_else(|| ChannelError::Provider("nothing to answer: the conversation has no mail from the customer".into()))?;
    let recipient = last
        .property("reply_address")
        .filter(|a| crate::config::is_address(a))
        .ok_or_else(|| ChannelError::Provider("the customer's mail has no address to answer to".into()))?
        .to_owned();
    if !threading::is_key(reply.conversation) {
        return Err(ChannelError::Provider(format!("`{}` is not an email conversation", reply.conversation)));
    }
    let config = reply.config;
    let message_id = threading::message_id(reply.conversation, reply.host_message_id, config.domain());
    let to: Address<'_> = match last.property("reply_name") {
        Some(name) => (one_line(name), recipient.clone()).into(),
        None => recipient.clone().into(),
    };
    let mut builder = MessageBuilder::new()
        .from((config.display_name.clone(), config.email.clone()))
        .to(to)
        .subject(reply_subject(last.property("subject")))
        .message_id(message_id.clone())
        .text_body(reply.text.replace("\r\n", "\n").replace('\n', "\r\n"));
    if let Some(file) = &reply.attachment {
        builder = builder.attachment(file.mime_type.clone(), one_line(&file.name), file.bytes.as_slice());
    }
    if let Some(address) = &reply.reply_address {
        builder = builder.reply_to((config.display_name.clone(), address.clone()));
    }
    if let Some(answered) = last.property("message_id").filter(|id| !id.is_empty()) {
        let earlier: Vec<String> = last.property("references").unwrap_or_default().split_whitespace().map(str::to_owned).collect();
        builder = builder.in_reply_to(answered.to_owned()).references(threading::references(&earlier, answered));
    }
    let bytes = builder.write_to_vec().map_err(|e| ChannelError::Provider(format!("cannot write the message: {e}")))?;
    Ok(Built { message_id, recipient, bytes })
}

/// `Re: <subject>`, once.
pub fn reply_subject(subject: Option<&str>) -> String {
    let subject = one_line(subject.unwrap_or_default());
    let already = subject.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("re:"));
    match subject.as_str() {
        "" => "Re: your message".into(),
        _ if already => subject,
        _ => format!("Re: {subject}"),
    }
}
