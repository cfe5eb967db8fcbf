// The Agents page (admins): add an agent, reset a password, make admin, disable, and the API
// tokens (create, showing the secret once; revoke), over /api/agents and /api/tokens,
// so running a team needs no command line.

import { api } from "./api.js";
import { $, h } from "./dom.js";

const BUTTON = "rounded px-2 py-0.5 ring-1 focus:ring-2 focus:outline-none";
const message = $("#agents-message");
const failure = $("#agents-error");
const me = $("#agents-app").dataset.agent;

function say(text) {
  failure.textContent = "";
  message.textContent = text;
}

function fail(error) {
  message.textContent = "";
  failure.textContent = error.message || String(error);
}

async function run(task, done) {
  try {
    await task();
    if (done) say(done);
    await load();
  } catch (error) {
    fail(error);
  }
}

function passwordForm(agent) {
  const input = h("input", {
    type: "password", required: true, minlength: "8", autocomplete: "new-password",
    "aria-label": `New password for ${agent.name}`, class: "w-32 rounded border border-slate-300 px-1 py-0.5",
  });
  return h("form", {
    class: "inline-flex gap-1",
    onsubmit: (event) => {
      event.preventDefault();
      run(() => api(`/api/agents/${encodeURIComponent(agent.name)}/password`, { method: "POST", json: { password: input.value } }),
        `${agent.name}'s password is changed; their sessions have ended.`);
    },
  }, input, h("button", { type: "submit", class: `${BUTTON} ring-slate-300`, text: "Reset password" }));
}

// Admin or not; never on one's own row (the server keeps the last admin one, too).
function adminButton(agent) {
  if (agent.disabled || agent.name === me) return null;
  const admin = !agent.admin;
  return h("button", {
    type: "button", class: `${BUTTON} ring-slate-300`,
    "aria-label": admin ? `Make ${agent.name} admin` : `Remove admin from ${agent.name}`,
    text: admin ? "Make admin" : "Remove admin",
    onclick: () => run(() => api(`/api/agents/${encodeURIComponent(agent.name)}/admin`, { method: "POST", json: { admin } }),
      admin ? `${agent.name} is now an admin.` : `${agent.name} is no longer an admin.`),
  });
}

// The campaigns permission of an ordinary agent (admins have every permission).
function campaignsButton(agent, permissions) {
  if (agent.disabled || agent.admin || !permissions) return null;
  const allowed = permissions.includes("campaigns");
  return h("button", {
    type: "button", class: `${BUTTON} ring-slate-300`,
    "aria-label": allowed ? `Stop ${agent.name} running campaigns` : `Let ${agent.name} run campaigns`,
    text: allowed ? "No campaigns" : "Allow campaigns",
    onclick: () => run(() => api(`/api/agents/${encodeURIComponent(agent.name)}/permissions`, { method: "PUT", json: { permissions: allowed ? [] : ["campaigns"] } }),
      allowed ? `${agent.name} may no longer run campaigns.` : `${agent.name} may now run campaigns.`),
  });
}

async function permissionsOf(agents) {
  const found = new Map();
  await Promise.all(agents.filter((a) => !a.admin && !a.disabled).map(async (a) => {
    try {
      found.set(a.name, (await api(`/api/agents/${encodeURIComponent(a.name)}/permissions`)).permissions || []);
    } catch {
      found.set(a.name, null);
    }
  }));
  return found;
}

function agentRow(agent, permissions) {
  return h("tr", { dataset: { agent: agent.name } },
    h("td", { class: "py-1.5 font-medium", text: agent.name }),
    h("td", { text: agent.admin ? "Admin" : (permissions || []).includes("campaigns") ? "Agent, campaigns" : "Agent" }),
    h("td", { text: agent.disabled ? "Disabled" : "Active" }),
    h("td", { class: "flex flex-wrap justify-end gap-2 py-1.5" },
      agent.disabled ? null : passwordForm(agent),
      adminButton(agent),
      campaignsButton(agent, permissions),
      agent.disabled || agent.name === me ? null : h("button", {
        type: "button", class: `${BUTTON} text-red-700 ring-red-200`, "aria-label": `Disable ${agent.name}`, text: "Disable",
        onclick: () => {
          if (!confirm(`Disable ${agent.name}? They are signed out and cannot sign in again.`)) return;
          run(() => api(`/api/agents/${encodeURIComponent(agent.name)}/disable`, { method: "POST" }), `${agent.name} is disabled.`);
        },
      })));
}

function tokenRow(token) {
  return h("tr", { dataset: { token: token.id } },
    h("td", { class: "py-1.5 font-mono text-xs", text: token.id }),
    h("td", { text: token.agent }),
    h("td", { text: token.label || "" }),
    h("td", { text: token.revoked_at ? `Revoked by ${token.revoked_by || "?"}` : "Active" }),
    h("td", { class: "text-right" }, token.revoked_at ? null : h("button", {
      type: "button", class: `${BUTTON} text-red-700 ring-red-200`, "aria-label": `Revoke token ${token.id}`, text: "Revoke",
      onclick: () => run(() => api(`/api/tokens/${encodeURIComponent(token.id)}`, { method: "DELETE" }), "The token is revoked."),
    })));
}

async function load() {
  const [{ agents }, { tokens }] = await Promise.all([api("/api/agents"), api("/api/tokens")]);
  const permissions = await permissionsOf(agents);
  $("#agents-list").replaceChildren(...agents.map((agent) => agentRow(agent, permissions.get(agent.name))));
  $("#tokens-list").replaceChildren(...tokens.map(tokenRow));
  const select = $("#token-agent");
  const chosen = select.value;
  select.replaceChildren(...agents.filter((a) => !a.disabled).map((a) => h("option", { value: a.name, text: a.name })));
  if (chosen) select.value = chosen;
}

$("#add-agent").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("#new-name").value.trim();
  const json = { name, password: $("#new-password").value, admin: $("#new-admin").checked };
  run(async () => {
    await api("/api/agents", { method: "POST", json });
    event.target.reset();
  }, `${name} can now sign in.`);
});

$("#add-token").addEventListener("submit", (event) => {
  event.preventDefault();
  const label = $("#token-label").value.trim();
  run(async () => {
    const answer = await api("/api/tokens", { method: "POST", json: { agent: $("#token-agent").value, label: label || null } });
    const shown = $("#token-secret");
    shown.textContent = `New token for ${answer.token.agent}: ${answer.secret} (copy it now: it is not shown again)`;
    shown.hidden = false;
    $("#token-label").value = "";
  }, "The token is created.");
});

load().catch(fail);
