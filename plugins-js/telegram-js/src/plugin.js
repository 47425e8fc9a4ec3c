// Telegram channel in JavaScript: a bot's private and group chats, through the Bot API.
//
// The same channel as plugins/telegram (Rust), written against the same contract
// (wit/v0.1.3, world `plugin`) and built into a component with componentize-js.
//
// How componentize-js maps the WIT types: records are objects with camelCase fields, enums and
// variant tags are the WIT names as strings (`send-media`, `{ tag: 'unauthorized', val }`),
// `option<T>` is `T` or `undefined`, `list<u8>` a `Uint8Array`, `u64` a `BigInt`, tuples arrays.
// A `result` is returned as `{ tag: 'ok', val }` or `{ tag: 'err', val }`; an export may be
// async (its promise is run to completion inside the call), which is how `fetch` is used.

import { log } from 'switchboard:channel/log@0.1.3';

const VERSION = '0.1.0';
const DEFAULT_API = 'https://api.telegram.org';

/// A typed refusal (`channel-error`), thrown inside the plugin and returned as `err`.
class ChannelError extends Error {
  constructor(tag, val) {
    super(`${tag}: ${typeof val === 'string' ? val : JSON.stringify(val, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`);
    this.error = { tag, val };
  }
}
const unauthorized = (reason) => new ChannelError('unauthorized', reason);
const provider = (reason) => new ChannelError('provider', reason);
const transient = (reason) => new ChannelError('transient', reason);
const badRequest = (reason) => new ChannelError('bad-request', reason);
const rateLimited = (seconds) => new ChannelError('rate-limited', seconds === undefined ? undefined : BigInt(seconds));
const unsupported = (reason) => new ChannelError('unsupported', reason);

/// Runs an export's body; a `ChannelError` becomes the `err` of its result. Anything else is
/// a bug in the plugin: logged through the host (the component's stderr goes nowhere), then
/// rethrown, so the host reports the call as failed (a trap).
async function result(body) {
  try {
    return { tag: 'ok', val: await body() };
  } catch (error) {
    if (error instanceof ChannelError) return { tag: 'err', val: error.error };
    log('error', `uncaught: ${error && error.stack ? `${error}\n${error.stack}` : String(error)}`);
    throw error;
  }
}

export const channel = {
  manifest() {
    return {
      id: 'telegram-js',
      name: 'Telegram (JavaScript example)',
      version: VERSION,
      description: 'Telegram bots: private chats and groups through the Bot API (an example plugin written in JavaScript)',
      capabilities: ['send-media'],
      outboundHosts: ['api.telegram.org'],
    };
  },

  settingsSchema() {
    return [
      field('bot_token', 'Bot token', 'secret', { required: true, help: 'From @BotFather' }),
      field('api_base_url', 'API base URL', 'url', {
        defaultValue: DEFAULT_API,
        help: 'Change only for tests or an on-premise Bot API server (the operator must allow its host)',
      }),
    ];
  },

  connect(ctx) {
    return result(async () => {
      const unexpected = (reason) => provider(`unexpected answer (HTTP 200): ${reason}`);
      const user = asUser(await call('GET', apiUrl(ctx, 'getMe')), unexpected, 'result');
      await call('POST', apiUrl(ctx, 'setWebhook'), {
        url: ctx.webhookUrl,
        secret_token: ctx.webhookSecret,
        allowed_updates: ['message', 'edited_message'],
      });
      return {
        displayName: user.username !== undefined ? `@${user.username}` : fullName(user),
        externalAccountId: String(user.id),
        setup: [
          { key: 'webhook_url', label: 'Webhook URL', value: ctx.webhookUrl },
          { key: 'webhook', label: 'Webhook', value: 'Registered with Telegram automatically: nothing to do' },
        ],
      };
    });
  },

  disconnect(ctx) {
    return result(async () => {
      try {
        await call('POST', apiUrl(ctx, 'deleteWebhook'));
      } catch (error) {
        // A revoked token has no webhook left to delete.
        if (!(error instanceof ChannelError && error.error.tag === 'unauthorized')) throw error;
      }
    });
  },

  handleWebhook(ctx, request) {
    return result(async () => {
      const token = header(request.headers, 'x-telegram-bot-api-secret-token');
      if (!ctx.webhookSecret || token === undefined || !secureEq(token, ctx.webhookSecret)) {
        throw unauthorized('missing or wrong secret token');
      }
      const update = parseJson(request.body);
      const bad = (reason) => badRequest(`invalid JSON body: ${reason}`);
      if (!isObject(update)) throw bad('an update is an object');
      const updateId = integer(update.update_id, bad, 'update_id', true);
      const message = optional(update.message) ?? optional(update.edited_message);
      const events = message === undefined ? [] : [{ tag: 'message', val: inbound(updateId, asMessage(message, bad)) }];
      return { response: { status: 200, headers: [], body: new Uint8Array() }, events };
    });
  },

  send(ctx, message) {
    return result(async () => {
      const body = { chat_id: message.recipient };
      let method;
      const content = message.content;
      if (content.tag === 'text') {
        body.text = content.val;
        method = 'sendMessage';
      } else if (content.tag === 'media') {
        const [name, fieldName] = MEDIA_METHODS[content.val.kind];
        body[fieldName] = content.val.url;
        if (content.val.caption !== undefined) body.caption = content.val.caption;
        method = name;
      } else {
        throw unsupported('Telegram has no message templates');
      }
      const replyTo = message.replyTo === undefined ? undefined : parseI64(message.replyTo);
      if (replyTo !== undefined) {
        body.reply_to_message_id = replyTo;
        // A reply to a message deleted since still goes out, unthreaded.
        body.allow_sending_without_reply = true;
      }
      const sent = await call('POST', apiUrl(ctx, method), body);
      if (!isObject(sent) || !Number.isInteger(sent.message_id)) {
        throw provider('unexpected answer: the sent message has no message_id');
      }
      return { providerMessageId: String(sent.message_id) };
    });
  },

  messagingWindow() {
    return { freeFormSeconds: undefined, humanAgentSeconds: undefined, templatesOutsideWindow: false };
  },

  listTemplates() {
    return { tag: 'err', val: { tag: 'unsupported', val: 'this channel has no provider templates' } };
  },
  createTemplate() {
    return { tag: 'err', val: { tag: 'unsupported', val: 'this channel has no provider templates' } };
  },
  deleteTemplate() {
    return { tag: 'err', val: { tag: 'unsupported', val: 'this channel has no provider templates' } };
  },
  authStart() {
    return { tag: 'err', val: { tag: 'unsupported', val: 'this channel has no provider login' } };
  },
  authFinish() {
    return { tag: 'err', val: { tag: 'unsupported', val: 'this channel has no provider login' } };
  },
};

const MEDIA_METHODS = {
  image: ['sendPhoto', 'photo'],
  video: ['sendVideo', 'video'],
  audio: ['sendAudio', 'audio'],
  document: ['sendDocument', 'document'],
  sticker: ['sendSticker', 'sticker'],
};

function field(key, label, kind, { required = false, help, defaultValue } = {}) {
  return { key, label, kind, required, secret: kind === 'secret', immutable: false, help, defaultValue, options: [] };
}

/// A setting's value; an empty value counts as unset.
function setting(ctx, key) {
  const found = ctx.settings.find(([k]) => k === key);
  return found && found[1].trim() !== '' ? found[1] : undefined;
}

function requireSetting(ctx, key) {
  const value = setting(ctx, key);
  if (value === undefined) throw new ChannelError('invalid-settings', [{ key, message: 'field is required' }]);
  return value;
}

function apiUrl(ctx, method) {
  const base = (setting(ctx, 'api_base_url') ?? DEFAULT_API).replace(/\/+$/, '');
  return `${base}/bot${requireSetting(ctx, 'bot_token')}/${method}`;
}

/// Sends a Bot API call; every answer is `{"ok":true,"result":...}` or
/// `{"ok":false,"error_code":N,"description":"...","parameters"?:{"retry_after":S}}`.
///
/// The parameters go in the query string (the Bot API takes them there as well as in a JSON
/// body), never in a request body: StarlingMonkey (componentize-js 0.23) writes a body after
/// sending the request, and when the request has already failed (a refused connection, no DNS)
/// that write aborts the whole engine, a trap instead of a `transient` error. The body is
/// empty, with `content-length: 0`.
async function call(method, url, params) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw provider(`invalid request URL: ${error.message}`);
  }
  const host = parsed.host;
  for (const [key, value] of Object.entries(params ?? {})) {
    parsed.searchParams.append(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  // Bytes rather than '': fetch adds no `content-type: text/plain`, and an empty body is
  // never written, so the abort above cannot happen.
  const init = method === 'GET' ? { method } : { method, body: new Uint8Array(0) };
  let response;
  let text;
  try {
    response = await fetch(parsed.href, init);
    text = await response.text();
  } catch (error) {
    // StarlingMonkey reports every failure (refused connection, a host the Switchboard host
    // denied, DNS) as a `TypeError`; the reason is not told apart, so all are transient.
    throw transient(`request to ${host} failed: ${error && error.message}`);
  }
  const status = response.status;
  if (status >= 500) throw transient(`Telegram answered HTTP ${status}`);
  // The wait may come only as a `Retry-After` header (a proxy in front, or a body that is
  // not Telegram's): honoured when the body does not say.
  const headerWait = parseU64(response.headers.get('retry-after'));
  let answer;
  try {
    answer = JSON.parse(text);
    if (!isObject(answer) || typeof answer.ok !== 'boolean') throw new Error('not a Bot API answer');
  } catch (error) {
    if (status === 429) throw rateLimited(headerWait);
    throw provider(`unexpected answer (HTTP ${status}): ${error.message}`);
  }
  if (answer.ok && answer.result !== undefined && answer.result !== null) return answer.result;
  const reason = typeof answer.description === 'string' ? answer.description : `HTTP ${status}`;
  const code = Number.isInteger(answer.error_code) ? answer.error_code : status;
  if (code === 401) throw unauthorized(reason);
  if (code === 429) {
    const retryAfter = isObject(answer.parameters) ? answer.parameters.retry_after : undefined;
    throw rateLimited(Number.isInteger(retryAfter) && retryAfter >= 0 ? retryAfter : headerWait);
  }
  throw provider(reason);
}

function inbound(updateId, message) {
  const chat = message.chat;
  return {
    providerMessageId: String(updateId),
    conversation: String(chat.id),
    conversationName: chat.title, // only groups and channels have one
    sender: message.from
      ? { id: String(message.from.id), name: fullName(message.from), handle: message.from.username }
      : // Posts on behalf of a chat carry no user.
        { id: String(chat.id), name: chat.title, handle: undefined },
    timestampMs: BigInt(message.date) * 1000n,
    text: message.text ?? message.caption,
    attachments: attachments(message),
    replyTo: message.replyTo === undefined ? undefined : String(message.replyTo),
    properties: message.messageId === undefined ? [] : [['message_id', String(message.messageId)]],
  };
}

function attachment(kind, details = {}) {
  return {
    kind,
    providerMediaId: undefined,
    url: undefined,
    mimeType: undefined,
    filename: undefined,
    size: undefined,
    location: undefined,
    description: undefined,
    ...details,
  };
}

function attachments(message) {
  const file = (kind, f) =>
    attachment(kind, {
      providerMediaId: f.file_id,
      mimeType: f.mime_type,
      filename: f.file_name,
      size: f.file_size === undefined ? undefined : BigInt(f.file_size),
    });
  let largestPhoto;
  for (const photo of message.photo) {
    // The last of equally large sizes, as Rust's `max_by_key`.
    if (!largestPhoto || photo.width * photo.height >= largestPhoto.width * largestPhoto.height) largestPhoto = photo;
  }
  const files = [
    ['image', largestPhoto],
    ['document', message.document],
    ['audio', message.voice],
    ['audio', message.audio],
    ['video', message.video],
    ['sticker', message.sticker],
  ];
  const found = files.filter(([, f]) => f !== undefined).map(([kind, f]) => file(kind, f));
  if (message.location !== undefined) {
    const { latitude, longitude } = message.location;
    found.push(attachment('location', { location: { latitude, longitude, name: undefined, address: undefined } }));
  }
  if (message.contact !== undefined) {
    const c = message.contact;
    const summary = `${fullName({ first_name: c.first_name, last_name: c.last_name })} ${c.phone_number}`;
    found.push(attachment('contact', { description: summary }));
  }
  if (found.length === 0 && message.text === undefined) {
    const other = message.other.find((key) => !METADATA.has(key)) ?? 'message';
    found.push(attachment('unsupported', { description: other }));
  }
  return found;
}

function fullName(user) {
  return user.last_name !== undefined ? `${user.first_name} ${user.last_name}` : user.first_name;
}

/// Message fields that describe a message rather than carry its content.
const METADATA = new Set([
  'author_signature', 'business_connection_id', 'caption_entities', 'edit_date', 'effect_id',
  'entities', 'external_reply', 'forward_date', 'forward_from', 'forward_from_chat',
  'forward_from_message_id', 'forward_origin', 'forward_sender_name', 'forward_signature',
  'has_media_spoiler', 'has_protected_content', 'is_automatic_forward', 'is_from_offline',
  'is_topic_message', 'link_preview_options', 'media_group_id', 'message_thread_id', 'quote',
  'reply_markup', 'reply_to_story', 'sender_boost_count', 'sender_business_bot', 'sender_chat',
  'show_caption_above_media', 'via_bot',
]);

/// The fields `asMessage` reads; the rest name content this channel does not understand.
const KNOWN = new Set([
  'message_id', 'from', 'chat', 'date', 'text', 'caption', 'photo', 'document', 'voice', 'audio',
  'video', 'sticker', 'location', 'contact', 'reply_to_message',
]);

// The Bot API's wire types, checked as far as this channel reads them (what serde checks in
// the Rust plugin): a delivery of the wrong shape is `bad-request`.

function asMessage(m, bad) {
  if (!isObject(m)) throw bad('a message is an object');
  const str = (value, name) => {
    if (optional(value) === undefined) return undefined;
    if (typeof value !== 'string') throw bad(`${name} is not a string`);
    return value;
  };
  const fileOf = (value, name) => {
    if (optional(value) === undefined) return undefined;
    if (!isObject(value) || typeof value.file_id !== 'string') throw bad(`${name} has no file_id`);
    return {
      file_id: value.file_id,
      file_name: str(value.file_name, `${name}.file_name`),
      mime_type: str(value.mime_type, `${name}.mime_type`),
      file_size: integer(value.file_size, bad, `${name}.file_size`, false, true),
      width: integer(value.width, bad, `${name}.width`, false, true) ?? 0,
      height: integer(value.height, bad, `${name}.height`, false, true) ?? 0,
    };
  };
  if (!isObject(m.chat)) throw bad('missing field `chat`');
  const chat = { id: integer(m.chat.id, bad, 'chat.id', true), title: str(m.chat.title, 'chat.title') };
  let photo = [];
  if (m.photo !== undefined) {
    if (!Array.isArray(m.photo)) throw bad('photo is not a list');
    photo = m.photo.map((p, i) => {
      if (p === null) throw bad(`photo[${i}] is null`);
      return fileOf(p, `photo[${i}]`);
    });
  }
  let location;
  if (optional(m.location) !== undefined) {
    const l = m.location;
    if (!isObject(l) || typeof l.latitude !== 'number' || typeof l.longitude !== 'number') throw bad('location needs latitude and longitude');
    location = { latitude: l.latitude, longitude: l.longitude };
  }
  let contact;
  if (optional(m.contact) !== undefined) {
    const c = m.contact;
    if (!isObject(c) || typeof c.phone_number !== 'string' || typeof c.first_name !== 'string') throw bad('contact needs phone_number and first_name');
    contact = { phone_number: c.phone_number, first_name: c.first_name, last_name: str(c.last_name, 'contact.last_name') };
  }
  let replyTo;
  if (optional(m.reply_to_message) !== undefined) {
    if (!isObject(m.reply_to_message)) throw bad('reply_to_message is not an object');
    replyTo = integer(m.reply_to_message.message_id, bad, 'reply_to_message.message_id', true);
  }
  return {
    messageId: integer(m.message_id, bad, 'message_id'),
    from: optional(m.from) === undefined ? undefined : asUser(m.from, bad, 'from'),
    chat,
    date: integer(m.date, bad, 'date', true, true),
    text: str(m.text, 'text'),
    caption: str(m.caption, 'caption'),
    photo,
    document: fileOf(m.document, 'document'),
    voice: fileOf(m.voice, 'voice'),
    audio: fileOf(m.audio, 'audio'),
    video: fileOf(m.video, 'video'),
    sticker: fileOf(m.sticker, 'sticker'),
    location,
    contact,
    replyTo,
    // Sorted, as the Rust plugin's map of other fields is.
    other: Object.keys(m).filter((key) => !KNOWN.has(key)).sort(),
  };
}

function asUser(u, bad, name) {
  if (!isObject(u)) throw bad(`${name} is not a user`);
  if (typeof u.first_name !== 'string') throw bad(`${name}.first_name is not a string`);
  const optionalString = (value, field) => {
    if (optional(value) === undefined) return undefined;
    if (typeof value !== 'string') throw bad(`${name}.${field} is not a string`);
    return value;
  };
  return {
    id: integer(u.id, bad, `${name}.id`, true),
    first_name: u.first_name,
    last_name: optionalString(u.last_name, 'last_name'),
    username: optionalString(u.username, 'username'),
  };
}

/// A whole number (safe in a double), `undefined` when absent and allowed to be.
function integer(value, bad, name, required = false, unsigned = false) {
  if (optional(value) === undefined) {
    if (required) throw bad(`missing field \`${name}\``);
    return undefined;
  }
  if (!Number.isSafeInteger(value) || (unsigned && value < 0)) throw bad(`${name} is not ${unsigned ? 'an unsigned' : 'an'} integer`);
  return value;
}

/// JSON `null` counts as absent, as `Option` does in serde.
function optional(value) {
  return value === null ? undefined : value;
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(bytes) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badRequest('invalid JSON body: not UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`invalid JSON body: ${error.message}`);
  }
}

/// Header names arrive in lowercase; the first of that name.
function header(headers, name) {
  const found = headers.find(([k]) => k.toLowerCase() === name);
  return found ? found[1] : undefined;
}

/// Compares equal lengths without returning early on the first difference.
function secureEq(a, b) {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

/// A message id as Rust's `str::parse::<i64>` reads it, or `undefined`.
function parseI64(text) {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  if (value < -(2n ** 63n) || value >= 2n ** 63n) return undefined;
  return Number(value);
}

/// A `Retry-After` in seconds (trimmed, as `str::parse::<u64>`), or `undefined`.
function parseU64(text) {
  if (text === null) return undefined;
  const trimmed = text.trim();
  if (!/^\+?\d+$/.test(trimmed)) return undefined;
  const value = BigInt(trimmed);
  return value < 2n ** 64n ? value : undefined;
}
