// What the pages know of the signed-in caller, shared by every module.

import { t } from "./i18n.js";

export const state = {
  token: localStorage.getItem("switchboard.token") || "",
  csrf: localStorage.getItem("switchboard.csrf") || "",
  role: "", person: null, plugins: [],
  // The operator's current workspace (sent as X-Workspace); none: every workspace, read-only.
  workspace: localStorage.getItem("switchboard.workspace") || "",
  // The inbox's Mine / Unassigned / All.
  inboxFilter: "",
  // Channels a form just added that the Integrations page shows with their setup (WhatsApp).
  justConnected: null,
  // Each page drawn gets a number (main.js's `route`, and signing out): the newest begun, and
  // the newest drawn. A page still waiting for the API when a newer one began is stale.
  navigation: 0,
  drawn: 0,
};

// The operator acts as an admin inside the workspace it switched to.
export const isAdmin = () => state.role === "admin" || (state.role === "operator" && Boolean(state.workspace));
export const signedIn = () => Boolean(state.token || state.csrf);
// The operator runs the installation (plugins, provider apps); a workspace's admin its channels.
export const isOperator = () => state.role === "operator";
// A workspace's activity: its admins and supervisors, and the operator working inside it; the
// installation's operations: the operator outside any workspace.
export const seesActivity = () => state.role === "admin" || state.role === "supervisor" || (state.role === "operator" && Boolean(state.workspace));
export const seesOperations = () => state.role === "operator" && !state.workspace;
export const pluginById = (id) => state.plugins.find((p) => p.id === id);

// What the inbox page and its live stream share. The inbox follows the workspace live (GET /api/v1/events, server-sent events read with
// fetch so a token can be sent): a change re-reads what it concerns, at once. After a cut the
// stream resumes from the last event id; a `reset` re-reads everything.
export const inbox = { selected: null, search: "", live: null, liveState: null, lastEventId: null, refreshList: null, refreshThread: null, tick: null, timers: {} };

// The roles' names, by the API's role.
const ROLE_LABELS = { agent: "roles.agent", supervisor: "roles.supervisor", admin: "roles.admin", operator: "roles.operator" };
export const roleLabel = (role) => (ROLE_LABELS[role] ? t(ROLE_LABELS[role]) : role);
