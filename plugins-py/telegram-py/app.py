"""Telegram channel in Python: a bot's private and group chats, through the Bot API.

The same channel as plugins-js/telegram-js (JavaScript) and plugins/telegram (Rust), written
against the contract wit/v0.1.4, world `plugin-http` (the world `plugin` plus
`wasi:http/outgoing-handler@0.2.12`), built into a component with componentize-py.

How componentize-py maps the WIT types: records are dataclasses with snake_case fields,
enums are Python `Enum`s (`FieldKind.SECRET`), a variant is one class per case
(`ChannelError_Unauthorized(value)`), `option<T>` is `T` or `None`, `list<u8>` is `bytes`,
tuples are tuples, and an export returning `result<T, E>` returns `T` and raises
`componentize_py_types.Err(E)` for the error.

Outbound HTTP goes through `wasi:http` directly, synchronously (below, `_http`). Not through
componentize-py's `poll_loop` helper: both the contract and WASI name an interface `types`, so
componentize-py renames them `switchboard_channel_types` and `wasi_http_types`, and
`poll_loop.py`, which imports `wit_world.imports.types`, fails to import.
"""

import hmac
import json
from typing import Any, List, Optional, Tuple
from urllib.parse import urlsplit

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import log as host_log
from wit_world.imports import outgoing_handler, streams
from wit_world.imports import switchboard_channel_types as t
from wit_world.imports import wasi_http_types as http

VERSION = "0.1.0"
DEFAULT_API = "https://api.telegram.org"
NO_TEMPLATES = "this channel has no provider templates"
NO_LOGIN = "this channel has no provider login"


def _log(level: host_log.Level, message: str) -> None:
    try:
        host_log.log(level, message)
    except Exception:  # pragma: no cover - logging must never fail a call
        pass


def unauthorized(reason: str) -> Err:
    return Err(t.ChannelError_Unauthorized(reason))


def provider(reason: str) -> Err:
    return Err(t.ChannelError_Provider(reason))


def transient(reason: str) -> Err:
    return Err(t.ChannelError_Transient(reason))


def bad_request(reason: str) -> Err:
    return Err(t.ChannelError_BadRequest(reason))


def rate_limited(seconds: Optional[int]) -> Err:
    return Err(t.ChannelError_RateLimited(seconds))


def unsupported(reason: str) -> Err:
    return Err(t.ChannelError_Unsupported(reason))


def _field(key: str, label: str, kind: t.FieldKind, required: bool = False,
           help: Optional[str] = None, default_value: Optional[str] = None) -> t.Field:
    return t.Field(key=key, label=label, kind=kind, required=required,
                   secret=kind == t.FieldKind.SECRET, immutable=False, help=help,
                   default_value=default_value, options=[])


def _setting(ctx: t.ChannelContext, key: str) -> Optional[str]:
    """A setting's value; an empty value counts as unset."""
    for k, v in ctx.settings:
        if k == key:
            return v if v.strip() != "" else None
    return None


def _require(ctx: t.ChannelContext, key: str) -> str:
    value = _setting(ctx, key)
    if value is None:
        raise Err(t.ChannelError_InvalidSettings([t.FieldError(key=key, message="field is required")]))
    return value


def _api_url(ctx: t.ChannelContext, method: str) -> str:
    base = (_setting(ctx, "api_base_url") or DEFAULT_API).rstrip("/")
    return f"{base}/bot{_require(ctx, 'bot_token')}/{method}"


# --- outbound HTTP over wasi:http, synchronously -------------------------------------------

def _read_all(stream: streams.InputStream) -> bytes:
    chunks = []
    while True:
        try:
            chunk = stream.blocking_read(64 * 1024)
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                break
            raise
        chunks.append(chunk)
    return b"".join(chunks)


def _http(method: str, url: str, body: Optional[bytes], headers: List[Tuple[str, bytes]]) -> Tuple[int, List[Tuple[str, bytes]], bytes]:
    """One request; (status, headers, body). Raises `OSError` on any transport failure."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url}")
    request = http.OutgoingRequest(http.Fields.from_list(headers))
    request.set_method(http.Method_Post() if method == "POST" else http.Method_Get())
    request.set_scheme(http.Scheme_Https() if parts.scheme == "https" else http.Scheme_Http())
    request.set_authority(parts.netloc)
    request.set_path_with_query(parts.path + ("?" + parts.query if parts.query else ""))
    outgoing = request.body()
    try:
        future = outgoing_handler.handle(request, None)
    except Err as e:
        raise OSError(f"request refused: {e.value}")
    # A write fails when the request already failed (a refused connection, a denied host):
    # then the response future says why, so that is what is reported.
    written = True
    if body:
        out = outgoing.write()
        try:
            for i in range(0, len(body), 4096):  # blocking-write-and-flush takes at most 4096 bytes
                out.blocking_write_and_flush(body[i:i + 4096])
        except Err:
            written = False
        finally:
            out.__exit__(None, None, None)  # the stream goes before its body is finished
    if written:
        try:
            http.OutgoingBody.finish(outgoing, None)
        except Err:
            written = False
    future.subscribe().block()
    got = future.get()
    if got is None:
        raise OSError("no response")
    if isinstance(got, Err):
        raise OSError("response taken twice")
    inner = got.value
    if isinstance(inner, Err):
        raise OSError(f"{type(inner.value).__name__.replace('ErrorCode_', '')}")
    response = inner.value
    if not written:
        raise OSError("the request body could not be sent")
    status = response.status()
    answer_headers = response.headers().entries()
    incoming = response.consume()
    stream = incoming.stream()
    try:
        data = _read_all(stream)
    except Err as e:
        raise OSError(f"reading the response failed: {e.value}")
    finally:
        stream.__exit__(None, None, None)
    return status, answer_headers, data


def _parse_u64(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    s = text.strip()
    if s.startswith("+"):
        s = s[1:]
    if not s.isdigit():
        return None
    value = int(s)
    return value if value < 2 ** 64 else None


def _call(method: str, url: str, params: Optional[dict] = None) -> Any:
    """Sends a Bot API call; every answer is `{"ok":true,"result":...}` or
    `{"ok":false,"error_code":N,"description":"...","parameters"?:{"retry_after":S}}`."""
    host = urlsplit(url).netloc
    body = None
    headers: List[Tuple[str, bytes]] = []
    if params is not None:
        body = json.dumps(params).encode()
        headers.append(("content-type", b"application/json"))
    # A length, not chunks: the body is known whole.
    headers.append(("content-length", str(len(body or b"")).encode()))
    try:
        status, answer_headers, data = _http(method, url, body, headers)
    except ValueError as e:
        raise provider(f"invalid request URL: {e}")
    except OSError as e:
        raise transient(f"request to {host} failed: {e}")
    if status >= 500:
        raise transient(f"Telegram answered HTTP {status}")
    header_wait = None
    for k, v in answer_headers:
        if k.lower() == "retry-after":
            header_wait = _parse_u64(v.decode("latin-1"))
            break
    try:
        answer = json.loads(data.decode("utf-8"))
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            raise ValueError("not a Bot API answer")
    except (ValueError, UnicodeDecodeError) as e:
        if status == 429:
            raise rate_limited(header_wait)
        raise provider(f"unexpected answer (HTTP {status}): {e}")
    if answer["ok"] and answer.get("result") is not None:
        return answer["result"]
    description = answer.get("description")
    reason = description if isinstance(description, str) else f"HTTP {status}"
    code = answer.get("error_code")
    code = code if _is_int(code) else status
    if code == 401:
        raise unauthorized(reason)
    if code == 429:
        parameters = answer.get("parameters")
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        raise rate_limited(retry_after if _is_int(retry_after) and retry_after >= 0 else header_wait)
    raise provider(reason)


# --- the Bot API's wire types, checked as far as this channel reads them ------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(value: Any, name: str, required: bool = False, unsigned: bool = False) -> Optional[int]:
    if value is None:
        if required:
            raise bad_request(f"invalid JSON body: missing field `{name}`")
        return None
    if not _is_int(value) or (unsigned and value < 0):
        raise bad_request(f"invalid JSON body: {name} is not {'an unsigned' if unsigned else 'an'} integer")
    return value


def _string(value: Any, name: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"invalid JSON body: {name} is not a string")
    return value


def _user(u: Any, name: str, bad) -> dict:
    if not isinstance(u, dict):
        raise bad(f"{name} is not a user")
    if not isinstance(u.get("first_name"), str):
        raise bad(f"{name}.first_name is not a string")
    if not _is_int(u.get("id")):
        raise bad(f"{name}.id is not an integer")
    for key in ("last_name", "username"):
        if u.get(key) is not None and not isinstance(u[key], str):
            raise bad(f"{name}.{key} is not a string")
    return u


def _full_name(user: dict) -> str:
    last = user.get("last_name")
    return f"{user['first_name']} {last}" if last is not None else user["first_name"]


MEDIA_FIELDS = [("photo", t.AttachmentKind.IMAGE), ("document", t.AttachmentKind.DOCUMENT),
                ("voice", t.AttachmentKind.AUDIO), ("audio", t.AttachmentKind.AUDIO),
                ("video", t.AttachmentKind.VIDEO), ("sticker", t.AttachmentKind.STICKER)]


def _attachment(kind: t.AttachmentKind, **details: Any) -> t.Attachment:
    fields = dict(provider_media_id=None, url=None, mime_type=None, filename=None, size=None,
                  location=None, description=None)
    fields.update(details)
    return t.Attachment(kind=kind, **fields)


def _attachments(m: dict) -> List[t.Attachment]:
    found = []
    for key, kind in MEDIA_FIELDS:
        f = m.get(key)
        if key == "photo" and isinstance(f, list) and f:
            # The largest size (the last of equally large ones).
            best = None
            for p in f:
                if isinstance(p, dict) and (best is None or p.get("width", 0) * p.get("height", 0) >= best.get("width", 0) * best.get("height", 0)):
                    best = p
            f = best
        if isinstance(f, dict) and isinstance(f.get("file_id"), str):
            size = f.get("file_size")
            found.append(_attachment(kind, provider_media_id=f["file_id"], mime_type=_string(f.get("mime_type"), f"{key}.mime_type"),
                                     filename=_string(f.get("file_name"), f"{key}.file_name"),
                                     size=size if _is_int(size) and size >= 0 else None))
    loc = m.get("location")
    if isinstance(loc, dict) and isinstance(loc.get("latitude"), (int, float)) and isinstance(loc.get("longitude"), (int, float)):
        found.append(_attachment(t.AttachmentKind.LOCATION, location=t.Location(
            latitude=float(loc["latitude"]), longitude=float(loc["longitude"]), name=None, address=None)))
    contact = m.get("contact")
    if isinstance(contact, dict) and isinstance(contact.get("first_name"), str) and isinstance(contact.get("phone_number"), str):
        found.append(_attachment(t.AttachmentKind.CONTACT, description=f"{_full_name(contact)} {contact['phone_number']}"))
    if not found and m.get("text") is None:
        known = {"message_id", "from", "chat", "date", "text", "caption", "reply_to_message"}
        other = sorted(k for k in m if k not in known and k not in METADATA)
        found.append(_attachment(t.AttachmentKind.UNSUPPORTED, description=other[0] if other else "message"))
    return found


METADATA = {
    "author_signature", "business_connection_id", "caption_entities", "edit_date", "effect_id",
    "entities", "external_reply", "forward_date", "forward_from", "forward_from_chat",
    "forward_from_message_id", "forward_origin", "forward_sender_name", "forward_signature",
    "has_media_spoiler", "has_protected_content", "is_automatic_forward", "is_from_offline",
    "is_topic_message", "link_preview_options", "media_group_id", "message_thread_id", "quote",
    "reply_markup", "reply_to_story", "sender_boost_count", "sender_business_bot", "sender_chat",
    "show_caption_above_media", "via_bot",
}


def _inbound(update_id: int, m: Any) -> t.InboundMessage:
    def bad(reason: str) -> Err:
        return bad_request(f"invalid JSON body: {reason}")
    if not isinstance(m, dict):
        raise bad("a message is an object")
    chat = m.get("chat")
    if not isinstance(chat, dict):
        raise bad("missing field `chat`")
    chat_id = _integer(chat.get("id"), "chat.id", required=True)
    title = _string(chat.get("title"), "chat.title")
    message_id = _integer(m.get("message_id"), "message_id")
    date = _integer(m.get("date"), "date", required=True, unsigned=True)
    text = _string(m.get("text"), "text")
    caption = _string(m.get("caption"), "caption")
    sender_user = m.get("from")
    if sender_user is not None:
        user = _user(sender_user, "from", bad)
        sender = t.ContactProfile(id=str(user["id"]), name=_full_name(user), handle=user.get("username"))
    else:
        # Posts on behalf of a chat carry no user.
        sender = t.ContactProfile(id=str(chat_id), name=title, handle=None)
    reply_to = None
    if m.get("reply_to_message") is not None:
        r = m["reply_to_message"]
        if not isinstance(r, dict):
            raise bad("reply_to_message is not an object")
        reply_to = str(_integer(r.get("message_id"), "reply_to_message.message_id", required=True))
    return t.InboundMessage(
        provider_message_id=str(update_id),
        conversation=str(chat_id),
        conversation_name=title,  # only groups and channels have one
        sender=sender,
        timestamp_ms=date * 1000,
        text=text if text is not None else caption,
        attachments=_attachments(m),
        reply_to=reply_to,
        properties=[] if message_id is None else [("message_id", str(message_id))],
    )


MEDIA_METHODS = {
    t.MediaKind.IMAGE: ("sendPhoto", "photo"),
    t.MediaKind.VIDEO: ("sendVideo", "video"),
    t.MediaKind.AUDIO: ("sendAudio", "audio"),
    t.MediaKind.DOCUMENT: ("sendDocument", "document"),
    t.MediaKind.STICKER: ("sendSticker", "sticker"),
}


def _parse_i64(text: str) -> Optional[int]:
    s = text[1:] if text[:1] in "+-" else text
    if not s.isdigit():
        return None
    value = int(text)
    return value if -(2 ** 63) <= value < 2 ** 63 else None


def _guard(body):
    """Runs an export's body: an `Err` is the result's error; anything else is a bug, logged
    through the host (the component's stderr goes nowhere) and re-raised (a trap)."""
    try:
        return body()
    except Err:
        raise
    except Exception as error:
        _log(host_log.Level.ERROR, f"uncaught: {type(error).__name__}: {error}")
        raise


class Channel(exports.Channel):
    def manifest(self) -> t.PluginManifest:
        return t.PluginManifest(
            id="telegram-py",
            name="Telegram (Python)",
            version=VERSION,
            description="Telegram bots: private chats and groups through the Bot API (an example plugin written in Python)",
            capabilities=[t.Capability.SEND_MEDIA],
            outbound_hosts=["api.telegram.org"],
        )

    def settings_schema(self) -> List[t.Field]:
        return [
            _field("bot_token", "Bot token", t.FieldKind.SECRET, required=True, help="From @BotFather"),
            _field("api_base_url", "API base URL", t.FieldKind.URL, default_value=DEFAULT_API,
                   help="Change only for tests or an on-premise Bot API server (the operator must allow its host)"),
        ]

    def connect(self, ctx: t.ChannelContext) -> t.Connection:
        def body() -> t.Connection:
            user = _user(_call("GET", _api_url(ctx, "getMe")), "result",
                         lambda reason: provider(f"unexpected answer (HTTP 200): {reason}"))
            _call("POST", _api_url(ctx, "setWebhook"), {
                "url": ctx.webhook_url,
                "secret_token": ctx.webhook_secret,
                "allowed_updates": ["message", "edited_message"],
            })
            username = user.get("username")
            return t.Connection(
                display_name=f"@{username}" if username is not None else _full_name(user),
                external_account_id=str(user["id"]),
                setup=[
                    t.SetupItem(key="webhook_url", label="Webhook URL", value=ctx.webhook_url),
                    t.SetupItem(key="webhook", label="Webhook", value="Registered with Telegram automatically: nothing to do"),
                ],
            )
        return _guard(body)

    def disconnect(self, ctx: t.ChannelContext) -> None:
        def body() -> None:
            try:
                _call("POST", _api_url(ctx, "deleteWebhook"))
            except Err as e:
                # A revoked token has no webhook left to delete.
                if not isinstance(e.value, t.ChannelError_Unauthorized):
                    raise
        return _guard(body)

    def handle_webhook(self, ctx: t.ChannelContext, request: t.HttpRequest) -> t.WebhookOutcome:
        def body() -> t.WebhookOutcome:
            token = next((v for k, v in request.headers if k.lower() == "x-telegram-bot-api-secret-token"), None)
            if not ctx.webhook_secret or token is None or not hmac.compare_digest(token.encode(), ctx.webhook_secret.encode()):
                raise unauthorized("missing or wrong secret token")
            try:
                update = json.loads(request.body.decode("utf-8"))
            except UnicodeDecodeError:
                raise bad_request("invalid JSON body: not UTF-8")
            except ValueError as e:
                raise bad_request(f"invalid JSON body: {e}")
            if not isinstance(update, dict):
                raise bad_request("invalid JSON body: an update is an object")
            update_id = _integer(update.get("update_id"), "update_id", required=True)
            message = update.get("message")
            if message is None:
                message = update.get("edited_message")
            events: List[t.Event] = [] if message is None else [t.Event_Message(_inbound(update_id, message))]
            return t.WebhookOutcome(response=t.HttpResponse(status=200, headers=[], body=b""), events=events)
        return _guard(body)

    def send(self, ctx: t.ChannelContext, message: t.OutboundMessage) -> t.Receipt:
        def body() -> t.Receipt:
            params: dict = {"chat_id": message.recipient}
            content = message.content
            if isinstance(content, t.OutboundContent_Text):
                params["text"] = content.value
                method = "sendMessage"
            elif isinstance(content, t.OutboundContent_Media):
                method, field = MEDIA_METHODS[content.value.kind]
                params[field] = content.value.url
                if content.value.caption is not None:
                    params["caption"] = content.value.caption
            else:
                raise unsupported("Telegram has no message templates")
            reply_to = None if message.reply_to is None else _parse_i64(message.reply_to)
            if reply_to is not None:
                params["reply_to_message_id"] = reply_to
                # A reply to a message deleted since still goes out, unthreaded.
                params["allow_sending_without_reply"] = True
            sent = _call("POST", _api_url(ctx, method), params)
            if not isinstance(sent, dict) or not _is_int(sent.get("message_id")):
                raise provider("unexpected answer: the sent message has no message_id")
            return t.Receipt(provider_message_id=str(sent["message_id"]))
        return _guard(body)

    def messaging_window(self) -> t.WindowPolicy:
        return t.WindowPolicy(free_form_seconds=None, human_agent_seconds=None, templates_outside_window=False)

    def list_templates(self, ctx: t.ChannelContext) -> List[t.Template]:
        raise unsupported(NO_TEMPLATES)

    def create_template(self, ctx: t.ChannelContext, template: t.NewTemplate) -> t.Template:
        raise unsupported(NO_TEMPLATES)

    def delete_template(self, ctx: t.ChannelContext, name: str) -> None:
        raise unsupported(NO_TEMPLATES)

    def auth_start(self, request: t.AuthStartRequest) -> t.AuthRedirect:
        raise unsupported(NO_LOGIN)

    def auth_finish(self, request: t.AuthFinishRequest) -> List[t.AuthAccount]:
        raise unsupported(NO_LOGIN)
