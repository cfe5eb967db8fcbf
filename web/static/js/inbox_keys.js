// The inbox's keyboard: what the command palette can do here (jump to a chat by name or
// number, start a conversation with a number, assign, resolve, snooze, label the open
// chat), and `j` / `k` (or the arrows) through the chat list, outside text fields.
// Enter on a row opens it (it is a link) and Esc goes back (app.js).

import { api } from "./api.js";
import { showPhone } from "./format.js";
import { addShortcuts, addSource, openPalette, typing } from "./palette.js";
import { agentNames } from "./team_agents.js";
import { snoozePresets } from "./workflow.js";

const NUMBER = /^\+?[\d\s().-]{8,20}$/;

function openChat(phone) {
  location.hash = `#/chat/${encodeURIComponent(phone)}`;
}

function chatCommand(chat) {
  const name = chat.name && chat.name !== chat.phone ? chat.name : showPhone(chat.phone);
  return { title: name, hint: showPhone(chat.phone), keywords: `chat ${chat.phone} ${showPhone(chat.phone)}`,
           boost: 1, run: () => openChat(chat.phone) };
}

// The chats already listed, then the server's search (names, numbers, message text).
function chatSource(sidebar) {
  return (query) => {
    const local = [...sidebar.rows.values()].map((row) => chatCommand(row.chat));
    if (query.length < 2) return local.slice(0, 8);
    const digits = query.replace(/\D/g, "");
    const found = api(`/api/chats?${new URLSearchParams({ q: query, limit: "8" })}`)
      .then((page) => page.chats.map(chatCommand)).catch(() => []);
    const numberCommand = NUMBER.test(query) && digits.length >= 8
      ? [{ title: `Open or start a conversation with +${digits}`, keywords: query, boost: 5, run: () => openChat(digits) }]
      : [];
    return found.then((chats) => [...numberCommand, ...local, ...chats]);
  };
}

function actionSource(workflow, me) {
  let agents = [];
  agentNames().then((names) => { agents = names; }, () => {});
  return () => {
    const chat = workflow.chat;
    const start = { title: "New conversation: type the customer's number", keywords: "start template new",
                    run: () => setTimeout(() => openPalette("+"), 0) };
    if (!chat) return [start];
    const resolved = chat.status === "resolved";
    const commands = [
      { title: resolved ? "Reopen this chat" : "Resolve this chat", hint: resolved ? "" : "e",
        keywords: "status done close", run: () => workflow.toggleResolved() },
      { title: "Unassign this chat", keywords: "assignee nobody", run: () => workflow.assign(null) },
    ];
    if (chat.assignee !== me) {
      commands.unshift({ title: "Assign this chat to me", hint: "a", keywords: "assignee mine", run: () => workflow.assign(me) });
    }
    for (const agent of agents.filter((a) => a !== me && a !== chat.assignee)) {
      commands.push({ title: `Assign this chat to ${agent}`, keywords: "assignee", run: () => workflow.assign(agent) });
    }
    for (const [text, when] of snoozePresets()) {
      commands.push({ title: `Snooze this chat: ${text}`, keywords: "later remind", run: () => workflow.snooze(when) });
    }
    const on = new Set((chat.labels || []).map((n) => n.toLowerCase()));
    for (const label of workflow.labels || []) {
      const has = on.has(label.name.toLowerCase());
      commands.push({ title: `${has ? "Remove the label" : "Label this chat"} ${label.name}`, keywords: "label tag",
                      run: () => workflow.act("labels", has ? { remove: [label.name] } : { add: [label.name] }) });
    }
    commands.push(start);
    return commands;
  };
}

// j / k (and the arrows, when nothing else has them) move through the chat rows.
function listKeys(list) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    const down = event.key === "j" || (event.key === "ArrowDown" && document.activeElement === document.body);
    const up = event.key === "k" || (event.key === "ArrowUp" && document.activeElement === document.body);
    if (!down && !up) return;
    const rows = [...list.querySelectorAll("a.chat-row")].filter((a) => a.getClientRects().length);
    if (!rows.length) return;
    event.preventDefault();
    let at = rows.indexOf(document.activeElement);
    if (at < 0) at = rows.findIndex((a) => a.getAttribute("aria-current") === "true");
    const next = at < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, at + (down ? 1 : -1)));
    rows[next].focus();
  });
}

export function installInboxKeys({ sidebar, workflow, me, list }) {
  addSource(chatSource(sidebar));
  addSource(actionSource(workflow, me));
  listKeys(list);
  // The labels, so the palette can offer them (the picker loads them too).
  api("/api/labels").then((answer) => { workflow.labels = answer.labels || []; }, () => {});
  addShortcuts([
    ["j / ↓", "Next chat in the list"], ["k / ↑", "Previous chat in the list"],
    ["Enter", "Open the chosen chat"], ["Esc", "Back to the chat list"],
    ["/", "Search chats"], ["e", "Resolve the open chat"], ["a", "Assign the open chat to me"],
    ["Enter (in the message box)", "Send; Shift+Enter starts a new line"],
  ]);
}
