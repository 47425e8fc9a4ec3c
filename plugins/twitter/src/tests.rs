use super::*;

#[test]
fn crc_known_answer() {
    // providers.md: secret `secret`, token `abc`.
    assert_eq!(crc_response("secret", "abc"), json!({"response_token": "sha256=mUba1OAOkT/Ivo5dP34RCkqegy+D+wnDRShdeGONig4="}));
}

#[test]
fn html_entities_are_unescaped_once() {
    assert_eq!(html_unescape("Fish &amp; chips &lt;3 &quot;ok&quot; &#39;x&#39; &#x1F600;"), "Fish & chips <3 \"ok\" 'x' 😀");
    assert_eq!(html_unescape("&amp;lt; stays &lt;"), "&lt; stays <");
    assert_eq!(html_unescape("AT&T & more &unknown; &"), "AT&T & more &unknown; &");
}

#[test]
fn whitespace_in_a_credential_and_a_bad_environment_are_named() {
    let settings = [("consumer_key", "abc def"), ("consumer_secret", "ok"), ("access_token", "1-x\n"), ("environment", "prod env")];
    let lookup = |key: &str| settings.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let Err(ChannelError::InvalidSettings(errors)) = check_formats(lookup, CREDENTIAL_KEYS, true) else { panic!("refused") };
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["consumer_key", "access_token", "environment"]);
    assert!(errors[0].message.contains("spaces"), "{}", errors[0].message);
    let good = [("consumer_key", "abc"), ("environment", "prod_1-env")];
    let lookup = |key: &str| good.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    assert!(check_formats(lookup, CREDENTIAL_KEYS, true).is_ok());
}

fn activity(body: Value) -> Activity {
    switchboard_sdk::serde_json::from_value(body).unwrap()
}

#[test]
fn only_direct_messages_from_others_become_messages() {
    let delivery = activity(json!({
        "for_user_id": "100",
        "direct_message_events": [
            {"type": "message_create", "id": "e1", "created_timestamp": "1763600000123",
             "message_create": {"target": {"recipient_id": "100"}, "sender_id": "200",
                                "message_data": {"text": "Halo &amp; salam", "entities": {}}}},
            {"type": "message_create", "id": "e2", "created_timestamp": "1763600000456",
             "message_create": {"target": {"recipient_id": "200"}, "sender_id": "100",
                                "message_data": {"text": "our own echo"}}}
        ],
        "users": {"200": {"id": "200", "name": "Siti Rahma", "screen_name": "sitirahma"},
                  "100": {"id": "100", "name": "Toko Budi", "screen_name": "tokobudi"}}
    }));
    let events = direct_messages(delivery, Some("100"));
    assert_eq!(events.len(), 1);
    let InboundEvent::Event(Event::Message(message)) = &events[0] else { panic!("a message") };
    assert_eq!(message.provider_message_id, "e1");
    assert_eq!(message.conversation, "200");
    assert_eq!(message.text.as_deref(), Some("Halo & salam"));
    assert_eq!(message.timestamp_ms, 1_763_600_000_123);
    assert_eq!(message.sender.name.as_deref(), Some("Siti Rahma"));
    assert_eq!(message.sender.handle.as_deref(), Some("sitirahma"));

    let mention = activity(json!({"for_user_id": "100", "tweet_create_events": [{"id_str": "1", "text": "@tokobudi hi"}]}));
    assert!(direct_messages(mention, Some("100")).is_empty());
}

#[test]
fn a_picked_option_is_the_choice_and_options_carry_their_ids_as_metadata() {
    let delivery = activity(json!({
        "for_user_id": "100",
        "direct_message_events": [{"type": "message_create", "id": "1234858592", "created_timestamp": "1392078023603",
            "message_create": {"target": {"recipient_id": "100"}, "sender_id": "200",
                "message_data": {"text": "Blue Bird", "entities": {"hashtags": [], "symbols": [], "urls": [], "user_mentions": []},
                                 "quick_reply_response": {"type": "options", "metadata": "external_id_2"}}}}],
        "users": {"200": {"id": "200", "name": "Budi", "screen_name": "budi"}}
    }));
    let events = direct_messages(delivery, Some("100"));
    let [InboundEvent::Choice(choice)] = &events[..] else { panic!("one choice") };
    assert_eq!((choice.id.as_str(), choice.title.as_deref(), choice.provider_message_id.as_str()), ("external_id_2", Some("Blue Bird"), "1234858592"));

    let option = |id: &str, title: &str, description: Option<&str>| ChoiceOption { id: id.into(), title: title.into(), description: description.map(Into::into) };
    let content = InteractiveContent {
        header: None,
        body: "What's your favorite type of bird?".into(),
        footer: None,
        action: InteractiveAction::QuickReplies(vec![option("external_id_1", "Red Bird", Some("A description about the red bird.")), option("external_id_2", "Blue Bird", None)]),
    };
    assert_eq!(
        interactive_message_data(&content),
        json!({"text": "What's your favorite type of bird?", "quick_reply": {"type": "options", "options": [
            {"label": "Red Bird", "description": "A description about the red bird.", "metadata": "external_id_1"},
            {"label": "Blue Bird", "description": "", "metadata": "external_id_2"}]}})
    );
}
