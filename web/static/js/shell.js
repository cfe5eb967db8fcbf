// What every page shares (base.html loads it): the service worker that makes crm an
// installable app, the offline notice, the theme toggle and, on phones, the header's
// actions folded into a menu.

import { h } from "./dom.js";
import { addSource, installKeys, openShortcuts } from "./palette.js";

// After the page has loaded: the worker's first install fetches the whole shell, which
// must not compete with the page's own first render.
function registerWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  const register = () => navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => {
    console.warn("the service worker did not register", error);
  });
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
}

// A line at the top of the page while the network is gone (the page keeps what it shows).
function offlineNotice() {
  const notice = document.getElementById("offline-notice");
  if (!notice) return;
  // The worker's offline page says so whatever navigator.onLine thinks (the server may be
  // what is gone).
  const show = () => { notice.hidden = navigator.onLine && !notice.dataset.always; };
  window.addEventListener("online", show);
  window.addEventListener("offline", show);
  show();
  const retry = document.getElementById("offline-retry");
  if (retry) retry.addEventListener("click", () => location.reload());
}

function themeButton() {
  const theme = window.crmTheme;
  if (!theme) return null;
  const button = h("button", {
    type: "button", id: "theme-toggle",
    class: "whitespace-nowrap rounded-md px-2 py-1 hover:bg-black/10 focus:ring-2 focus:ring-emerald-600 focus:outline-none",
    onclick: () => theme.set(theme.dark() ? "light" : "dark"),
  });
  const draw = () => {
    const dark = theme.dark();
    button.textContent = dark ? "Light mode" : "Dark mode";
    button.setAttribute("aria-label", dark ? "Switch to light mode" : "Switch to dark mode");
  };
  document.addEventListener("crm:theme", draw);
  draw();
  return button;
}

// The header's actions (its `.ml-auto` group, as every page's header has) behind a
// Menu button on phones; the CSS shows the button and the folded group only there.
function headerMenu(header, actions) {
  actions.classList.add("header-actions");
  actions.id = actions.id || "header-actions";
  const button = h("button", {
    type: "button", class: "header-menu-button rounded-md px-3 py-1 hover:bg-emerald-900 focus:ring-2 focus:ring-white focus:outline-none",
    "aria-expanded": "false", "aria-controls": actions.id, text: "Menu",
  });
  const set = (open) => {
    header.dataset.menu = open ? "open" : "";
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => set(header.dataset.menu !== "open"));
  header.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.dataset.menu === "open") {
      event.stopPropagation();
      set(false);
      button.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (header.dataset.menu === "open" && !header.contains(event.target)) set(false);
  });
  actions.before(button);
  // Signing out stays in sight (it is the one action a borrowed phone needs at once).
  const signOut = actions.querySelector('form[action="/logout"]');
  if (signOut) actions.after(signOut);
}

function placeThemeToggle() {
  const button = themeButton();
  if (!button) return;
  const header = document.querySelector("body header");
  const actions = header && header.querySelector(":scope > .ml-auto");
  if (actions) {
    button.classList.replace("hover:bg-black/10", "hover:bg-emerald-900");
    button.classList.replace("focus:ring-emerald-600", "focus:ring-white");
    actions.prepend(button);
    headerMenu(header, actions);
  } else {
    button.classList.add("fixed", "right-2", "top-2", "z-50", "text-sm", "text-slate-700");
    document.body.append(button);
  }
}

// The commands every page has: its pages (Contacts and Campaigns are linked whether or
// not this installation has them yet: the server answers), the theme, signing out.
function pageCommands() {
  const go = (path) => () => location.assign(path);
  const pages = [["Go to the inbox", "/", "chats conversations"],
    ["Go to Contacts", "/contacts", "customers people"], ["Go to Campaigns", "/campaigns", "broadcast"]];
  if (document.querySelector('a[href="/agents"]')) pages.push(["Go to Agents", "/agents", "team tokens"]);
  if (document.querySelector('a[href="/automations"]')) {
    pages.push(["Go to Automations", "/automations", "rules business hours away welcome"]);
  }
  const commands = pages.filter(([, path]) => path !== location.pathname)
    .map(([title, path, keywords]) => ({ title, keywords: `page ${keywords}`, hint: path, run: go(path) }));
  commands.push({
    title: window.crmTheme && window.crmTheme.dark() ? "Switch to light mode" : "Switch to dark mode",
    keywords: "theme dark light colours", run: () => window.crmTheme.set(window.crmTheme.dark() ? "light" : "dark"),
  }, {
    title: "Use the system's light or dark mode", keywords: "theme automatic", run: () => window.crmTheme.set(null),
  }, { title: "Keyboard shortcuts", keywords: "help keys ?", hint: "?", run: () => openShortcuts() });
  const signOut = document.querySelector('form[action="/logout"]');
  if (signOut) commands.push({ title: "Sign out", keywords: "log out", run: () => signOut.requestSubmit() });
  return commands;
}

registerWorker();
offlineNotice();
placeThemeToggle();
installKeys();
addSource(() => pageCommands());
