/* Switchboard website chat widget. Served by the host at /webchat/<channel>/widget.js and
 * embedded with one tag: <script src=".../webchat/<channel>/widget.js" async></script>.
 * It draws a bubble and a chat panel (in a shadow root, so the page's CSS and ours stay
 * apart), keeps the visitor's token in localStorage, sends messages, and follows the
 * conversation live. Every text from visitors, agents or settings is set with textContent. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = script.src.replace(/\/widget\.js(?:[?#].*)?$/, '');
  var channel = base.slice(base.lastIndexOf('/') + 1);
  var loaded = (window.__switchboardWebchat = window.__switchboardWebchat || {});
  if (loaded[channel]) return; // the snippet pasted twice
  loaded[channel] = true;
  var preview = script.hasAttribute('data-preview');
  var tokenKey = 'switchboard-webchat:' + channel;
  var openKey = tokenKey + ':open';

  var token = null;
  var messages = new Map(); // id -> message from the host
  var pending = new Map(); // client id -> {text, failed}
  var streaming = false;
  var unread = 0;
  var ui = null;

  // The widget's words in English and Bahasa Indonesia, chosen from the visitor's languages.
  // The host writes widget-i18n/en.json and id.json in place of the empty pair below when it
  // serves this script (webchat/mod.rs): fetching them would cost a cross-origin request (CORS)
  // before the bubble shows, and the preview page's policy allows no fetch at all.
  var CATALOGUES = /*{{catalogues}}*/{ en: {}, id: {} };
  var lang = (function () {
    var wanted = navigator.languages || [navigator.language || ''];
    for (var i = 0; i < wanted.length; i += 1) {
      var base = String(wanted[i]).toLowerCase().split('-')[0];
      if (CATALOGUES[base]) return base;
    }
    return 'en';
  })();
  function t(key, params) {
    var text = CATALOGUES[lang][key] || CATALOGUES.en[key] || key;
    return text.replace(/\{(\w+)\}/g, function (whole, name) { return params && name in params ? String(params[name]) : whole; });
  }

  var CSS = [
    ':host { all: initial; }',
    '.sb-bubble { position: fixed; bottom: 20px; right: 20px; width: 56px; height: 56px; border: 0; border-radius: 50%;',
    '  background: var(--sb-color, #1f6feb); color: #fff; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25);',
    '  z-index: 2147483000; display: flex; align-items: center; justify-content: center; padding: 0; }',
    '.sb-bubble svg { width: 28px; height: 28px; fill: currentColor; }',
    '.sb-badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; border-radius: 10px;',
    '  background: #cf222e; color: #fff; font: 600 12px/20px system-ui, sans-serif; text-align: center; }',
    '.sb-badge[hidden] { display: none; }',
    '.sb-panel { position: fixed; bottom: 88px; right: 20px; width: 340px; max-width: calc(100vw - 40px); height: 460px;',
    '  max-height: calc(100vh - 120px); display: none; flex-direction: column; background: #fff; border-radius: 12px;',
    '  box-shadow: 0 8px 28px rgba(0,0,0,.25); overflow: hidden; z-index: 2147483000;',
    '  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }',
    ':host([data-position=left]) .sb-bubble, :host([data-position=left]) .sb-panel { left: 20px; right: auto; }',
    '.sb-panel.sb-open { display: flex; }',
    '.sb-header { background: var(--sb-color, #1f6feb); color: #fff; padding: 12px 14px; display: flex;',
    '  align-items: center; gap: 8px; }',
    '.sb-title { flex: 1; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }',
    '.sb-status { font-size: 12px; opacity: .85; }',
    '.sb-close { background: none; border: 0; color: inherit; font-size: 22px; line-height: 1; cursor: pointer; padding: 0 4px; }',
    '.sb-log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 6px; background: #f6f8fa; }',
    '.sb-msg { max-width: 80%; padding: 8px 10px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }',
    '.sb-agent, .sb-greeting { align-self: flex-start; background: #fff; border: 1px solid #d0d7de; }',
    '.sb-visitor { align-self: flex-end; background: var(--sb-color, #1f6feb); color: #fff; }',
    '.sb-pending { opacity: .6; }',
    '.sb-failed { background: #cf222e; cursor: pointer; }',
    '.sb-form { display: flex; border-top: 1px solid #d0d7de; background: #fff; }',
    '.sb-input { flex: 1; resize: none; border: 0; padding: 12px; font: inherit; color: inherit; height: 20px; outline: none; }',
    '.sb-send { border: 0; background: none; color: var(--sb-color, #1f6feb); font: 600 14px system-ui, sans-serif;',
    '  padding: 0 14px; cursor: pointer; }',
    '.sb-send:disabled { color: #8c959f; cursor: default; }',
    '.sb-attach { border: 0; background: none; color: var(--sb-color, #1f6feb); cursor: pointer; padding: 0 0 0 12px; display: flex; align-items: center; }',
    '.sb-attach svg { width: 20px; height: 20px; }',
    '.sb-attach:disabled { color: #8c959f; cursor: default; }',
    '.sb-file-input { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }',
    '.sb-img { display: block; max-width: 100%; max-height: 200px; border-radius: 8px; margin-bottom: 4px; }',
    '.sb-file { display: block; color: inherit; text-decoration: underline; margin-bottom: 4px; }',
    '.sb-options { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; white-space: normal; }',
    '.sb-option { border: 1px solid var(--sb-color, #1f6feb); border-radius: 16px; background: #fff; color: #0b3d91;',
    '  font: inherit; padding: 4px 12px; cursor: pointer; text-decoration: none; }',
    '.sb-option:disabled { border-color: #8c959f; color: #57606a; cursor: default; }',
    '.sb-option-note { display: block; font-size: 12px; color: #57606a; }',
    '.sb-section { width: 100%; font-size: 12px; font-weight: 600; color: #57606a; }',
    '.sb-card { width: 100%; border: 1px solid #d0d7de; border-radius: 8px; padding: 8px; display: flex; flex-direction: column; gap: 6px; }',
    '.sb-card-title { font-weight: 600; }'
  ].join('\n');

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function chatIcon() {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z');
    svg.appendChild(path);
    return svg;
  }

  // A paperclip, drawn (an emoji looks different on every system, and some draw none).
  function attachIcon() {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5');
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', 'currentColor');
    path.setAttribute('stroke-width', '1.8');
    path.setAttribute('stroke-linecap', 'round');
    svg.appendChild(path);
    return svg;
  }

  function build(look) {
    var host = el('div');
    host.id = 'switchboard-webchat-' + channel;
    host.setAttribute('lang', lang);
    host.setAttribute('data-position', look.position === 'left' ? 'left' : 'right');
    // CSSOM, not CSS text: a colour that is not one is simply ignored.
    if (look.color) host.style.setProperty('--sb-color', String(look.color));
    var root = host.attachShadow({ mode: 'open' });
    root.appendChild(el('style', '', CSS));

    var bubble = el('button', 'sb-bubble');
    bubble.type = 'button';
    bubble.setAttribute('aria-label', t('open_chat'));
    bubble.appendChild(chatIcon());
    var badge = el('span', 'sb-badge', '');
    badge.hidden = true;
    bubble.appendChild(badge);

    var panel = el('div', 'sb-panel');
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', String(look.name || t('chat')));
    var header = el('div', 'sb-header');
    header.appendChild(el('span', 'sb-title', String(look.name || t('chat'))));
    var status = el('span', 'sb-status', '');
    header.appendChild(status);
    var close = el('button', 'sb-close', '\u00d7');
    close.type = 'button';
    close.setAttribute('aria-label', t('close_chat'));
    header.appendChild(close);
    var log = el('div', 'sb-log');
    log.setAttribute('role', 'log');
    log.setAttribute('aria-live', 'polite');
    var form = el('form', 'sb-form');
    var input = el('textarea', 'sb-input');
    input.rows = 1;
    input.maxLength = 2000;
    input.placeholder = preview ? t('preview_placeholder') : t('placeholder');
    input.setAttribute('aria-label', t('message'));
    var send = el('button', 'sb-send', t('send'));
    send.type = 'submit';
    // A visitor attaches a picture or a file: uploaded at once, then shown like a message.
    var attach = el('button', 'sb-attach');
    attach.type = 'button';
    attach.setAttribute('aria-label', t('attach'));
    attach.title = t('attach');
    attach.appendChild(attachIcon());
    var picker = el('input', 'sb-file-input');
    picker.type = 'file';
    picker.tabIndex = -1;
    picker.setAttribute('aria-hidden', 'true');
    if (preview) input.disabled = send.disabled = attach.disabled = true;
    form.appendChild(attach);
    form.appendChild(picker);
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(header);
    panel.appendChild(log);
    panel.appendChild(form);
    root.appendChild(bubble);
    root.appendChild(panel);
    (document.body || document.documentElement).appendChild(host);

    ui = { bubble: bubble, badge: badge, panel: panel, log: log, input: input, status: status, greeting: String(look.greeting || '') };
    bubble.addEventListener('click', function () { setOpen(!panel.classList.contains('sb-open')); });
    close.addEventListener('click', function () { setOpen(false); });
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text || preview) return;
      input.value = '';
      write(randomId(), text);
    });
    attach.addEventListener('click', function () { if (!preview) picker.click(); });
    picker.addEventListener('change', function () {
      var file = picker.files && picker.files[0];
      picker.value = '';
      if (file) upload(randomId(), file, input.value.trim());
      input.value = '';
    });
    input.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    log.addEventListener('click', function (event) {
      var target = event.target;
      var id = target && target.getAttribute && target.getAttribute('data-client-id');
      var failed = id && pending.get(id);
      if (failed && failed.failed && failed.file) upload(id, failed.file, '');
      else if (failed && failed.failed) write(id, failed.text, failed.choice);
    });
    render();
  }

  function setOpen(open) {
    ui.panel.classList.toggle('sb-open', open);
    ui.bubble.setAttribute('aria-label', open ? t('close_chat') : t('open_chat'));
    if (open) {
      unread = 0;
      ui.input.focus();
    }
    try { sessionStorage.setItem(openKey, open ? '1' : ''); } catch (e) { /* storage may be off */ }
    render();
  }

  function render() {
    if (!ui) return;
    var log = ui.log;
    var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.textContent = '';
    if (ui.greeting) log.appendChild(el('div', 'sb-msg sb-greeting', ui.greeting));
    var sorted = Array.from(messages.values()).sort(function (a, b) { return a.id - b.id; });
    sorted.forEach(function (m) {
      var node = el('div', 'sb-msg ' + (m.from === 'agent' ? 'sb-agent' : 'sb-visitor'));
      node.setAttribute('data-id', String(m.id));
      (m.files || []).forEach(function (file) { node.appendChild(fileView(file)); });
      if (m.text) node.appendChild(document.createTextNode(m.text));
      // Quick replies offer themselves until anything newer is in the chat; buttons stay.
      if (m.interactive) node.appendChild(optionsView(m.interactive, m.id === sorted[sorted.length - 1].id && !pending.size));
      log.appendChild(node);
    });
    pending.forEach(function (p, clientId) {
      var node = el('div', 'sb-msg sb-visitor ' + (p.failed ? 'sb-failed' : 'sb-pending'), p.text);
      node.setAttribute('data-client-id', clientId);
      if (p.failed) node.title = t('retry', { reason: p.failed });
      log.appendChild(node);
    });
    if (atBottom || pending.size) log.scrollTop = log.scrollHeight;
    ui.badge.textContent = String(unread);
    ui.badge.hidden = unread === 0;
  }

  // A picture in place; any other file as a link to download. Links are the host's own
  // signed ones (no session needed); names are text.
  function fileView(file) {
    var mime = String(file.mime_type || '');
    var name = String(file.name || t('file'));
    if (mime.indexOf('image/') === 0 && mime !== 'image/svg+xml') {
      var img = el('img', 'sb-img');
      img.alt = name;
      img.src = String(file.url);
      return img;
    }
    var link = el('a', 'sb-file', '\ud83d\udcce ' + name);
    link.href = String(file.url);
    link.target = '_blank';
    link.rel = 'noopener';
    return link;
  }

  // An agent's options: buttons that send the option (its title as the visitor's message),
  // links that open in a new tab. Ids are the host's short ones; titles are text.
  function optionsView(interactive, newest) {
    var box = el('div', 'sb-options');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', t('options'));
    function button(option) {
      var b = el('button', 'sb-option', String(option.title));
      b.type = 'button';
      b.addEventListener('click', function () { if (!preview) write(randomId(), String(option.title), String(option.id)); });
      if (option.description) b.appendChild(el('span', 'sb-option-note', String(option.description)));
      return b;
    }
    function link(url) {
      var a = el('a', 'sb-option', String(url.title) + ' \u2197');
      var href = String(url.url);
      if (/^https?:\/\//i.test(href)) a.href = href;
      a.target = '_blank';
      a.rel = 'noopener';
      return a;
    }
    if (interactive.reply_buttons) interactive.reply_buttons.forEach(function (o) { box.appendChild(button(o)); });
    if (interactive.quick_replies && newest) interactive.quick_replies.forEach(function (o) { box.appendChild(button(o)); });
    if (interactive.url_buttons) interactive.url_buttons.forEach(function (u) { box.appendChild(link(u)); });
    if (interactive.list) {
      interactive.list.sections.forEach(function (section) {
        if (section.title) box.appendChild(el('div', 'sb-section', String(section.title)));
        section.rows.forEach(function (o) { box.appendChild(button(o)); });
      });
    }
    (interactive.cards || []).forEach(function (card) {
      var c = el('div', 'sb-card');
      if (card.image_url && /^https:\/\//i.test(String(card.image_url))) {
        var img = el('img', 'sb-img');
        img.alt = String(card.title);
        img.src = String(card.image_url);
        c.appendChild(img);
      }
      c.appendChild(el('div', 'sb-card-title', String(card.title)));
      if (card.subtitle) c.appendChild(el('div', 'sb-option-note', String(card.subtitle)));
      (card.buttons || []).forEach(function (b) { c.appendChild(b.url ? link(b) : button(b)); });
      box.appendChild(c);
    });
    return box;
  }

  function upload(clientId, file, caption) {
    pending.set(clientId, { text: '\ud83d\udcce ' + t('sending_file', { name: file.name }), failed: null, file: file });
    render();
    var query = '?client_id=' + encodeURIComponent(clientId) + '&filename=' + encodeURIComponent(file.name) + (caption ? '&text=' + encodeURIComponent(caption) : '');
    fetch(base + '/files' + query, {
      method: 'POST',
      headers: { authorization: 'Bearer ' + token, 'content-type': file.type || 'application/octet-stream' },
      body: file,
      credentials: 'omit',
      cache: 'no-store'
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) throw new Error((body && body.message) || t('not_sent'));
          if (body.message) accept(body.message, false);
          else pending.delete(clientId);
          follow();
        });
      })
      .catch(function (error) {
        var entry = pending.get(clientId);
        if (entry) { entry.failed = error.message || t('not_sent'); entry.text = '\ud83d\udcce ' + t('file_failed', { name: file.name, reason: entry.failed }); }
      })
      .then(render);
  }

  function accept(message, live) {
    if (!message || typeof message.id !== 'number') return;
    var known = messages.has(message.id);
    messages.set(message.id, message);
    if (message.client_id) pending.delete(message.client_id);
    if (live && !known && message.from === 'agent' && !ui.panel.classList.contains('sb-open')) unread += 1;
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function request(path, options) {
    var headers = {};
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token) headers.authorization = 'Bearer ' + options.token;
    return fetch(base + path, {
      method: options.method || 'GET',
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'omit',
      cache: 'no-store',
      signal: options.signal
    });
  }

  function write(clientId, text, choice) {
    pending.set(clientId, { text: text, failed: null, choice: choice });
    render();
    var body = { client_id: clientId, text: text };
    if (choice) body.choice = choice;
    request('/messages', { method: 'POST', token: token, body: body })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) throw new Error((body && body.message) || t('not_sent'));
          if (body.message) accept(body.message, false);
          else pending.delete(clientId); // sent before: the snapshot has it
          follow();
        });
      })
      .catch(function (error) {
        var entry = pending.get(clientId);
        if (entry) entry.failed = error.message || t('not_sent');
      })
      .then(render);
  }

  // Server-sent events over fetch (so the token travels in a header, not the URL).
  function readEvents(body, onEvent) {
    var reader = body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, '\n');
        var end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          var block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          var type = 'message';
          var data = [];
          block.split('\n').forEach(function (line) {
            if (line.indexOf('event:') === 0) type = line.slice(6).trim();
            else if (line.indexOf('data:') === 0) data.push(line.slice(5).replace(/^ /, ''));
          });
          if (data.length) onEvent(type, JSON.parse(data.join('\n')));
        }
        return pump();
      });
    }
    return pump();
  }

  function onEvent(type, data) {
    if (type === 'snapshot') {
      messages = new Map();
      (data.messages || []).forEach(function (m) { accept(m, false); });
    } else if (type === 'message') {
      accept(data, true);
    }
    render();
  }

  function setStatus(text) {
    if (ui) ui.status.textContent = text;
  }

  // Follow the conversation live; reconnect with backoff. Every (re)connect starts with a
  // snapshot, so replies sent while the connection was down are not missed.
  function follow() {
    if (streaming || preview) return;
    streaming = true;
    var delay = 1000;
    function connect() {
      request('/stream', { token: token })
        .then(function (response) {
          if (response.status === 401 || response.status === 403 || response.status === 404) {
            streaming = false;
            setStatus('');
            return 'stop';
          }
          if (!response.ok || !response.body) throw new Error('stream ' + response.status);
          delay = 1000;
          setStatus('');
          return readEvents(response.body, onEvent);
        })
        .catch(function () { /* retried below */ })
        .then(function (outcome) {
          if (outcome === 'stop') return;
          setStatus(t('reconnecting'));
          setTimeout(connect, delay);
          delay = Math.min(delay * 2, 15000);
        });
    }
    connect();
  }

  function start() {
    if (preview) {
      var config = document.getElementById('switchboard-webchat-preview');
      build(JSON.parse((config && config.textContent) || '{}'));
      setOpen(true);
      return;
    }
    var saved = null;
    try { saved = localStorage.getItem(tokenKey); } catch (e) { /* storage may be off */ }
    request('/session', { method: 'POST', body: { token: saved } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) throw new Error(body.error || 'HTTP ' + response.status);
          return body;
        });
      })
      .then(function (session) {
        token = session.token;
        try { localStorage.setItem(tokenKey, token); } catch (e) { /* storage may be off */ }
        build(session.widget || {});
        var wasOpen = false;
        try { wasOpen = sessionStorage.getItem(openKey) === '1'; } catch (e) { /* storage may be off */ }
        if (wasOpen) setOpen(true);
        if (session.conversation) follow();
      })
      .catch(function (error) {
        // Switched off, or not allowed on this page: draw nothing.
        if (window.console) console.info('Switchboard chat is not available here: ' + error.message);
      });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
