// The API client: every call goes to /api/v1 with the caller's credentials.

import { language, t } from "./i18n.js";
import { state } from "./state.js";

// What to do when the session has ended (a 401): set by main.js, so this module, used by every
// page, imports no page.
let sessionEnded = () => {};
export function onSessionEnded(handler) {
  sessionEnded = handler;
}
export function endSession(message) {
  return sessionEnded(message);
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || t("errors.http", { status }));
    this.status = status;
    this.body = body || {};
  }
}

// Who is asking: the API token, or the session cookie (with its CSRF token on writes); the
// operator's workspace (the current one unless `workspace` names another, or "" for none).
// Plugins' texts (labels, help, guides, their errors) come back in the page's language, the
// one the person chose, not only the browser's.
export function authHeaders(method, path, workspace = state.workspace) {
  const headers = { "Accept-Language": language() };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  else if (method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  if (state.role === "operator" && workspace && !path.startsWith("/workspaces")) headers["X-Workspace"] = workspace;
  return headers;
}

export async function api(method, path, body, contentType = "application/json", { workspace } = {}) {
  const headers = authHeaders(method, path, workspace === undefined ? state.workspace : workspace);
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = contentType;
    payload = contentType === "application/json" ? JSON.stringify(body) : body;
  }
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (response.status === 401 && path !== "/me" && path !== "/session") { endSession(t("session.ended")); }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}


// A file the API makes (a CSV table), saved under `filename`. Fetched with the caller's
// credentials, as every call is: a plain link would carry the session cookie but neither an API
// token nor the operator's X-Workspace.
export async function download(path, filename, { workspace } = {}) {
  const headers = authHeaders("GET", path, workspace === undefined ? state.workspace : workspace);
  const response = await fetch(`/api/v1${path}`, { headers });
  if (!response.ok) {
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
    if (response.status === 401) endSession(t("session.ended"));
    throw new ApiError(response.status, data);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
