// Light or dark, before the first paint (a classic script in every page's head, so the
// page never flashes the wrong theme): the agent's choice in this browser
// (localStorage "crm.theme" = "light" | "dark"), else the system's prefers-color-scheme.
// shell.js offers the toggle; it calls window.crmTheme.set(...).
//
// It also keeps --app-height at the visual viewport's height, so the page (and its
// composer) ends where the on-screen keyboard begins.
(() => {
  const KEY = "crm.theme";
  const query = window.matchMedia("(prefers-color-scheme: dark)");
  const chosen = () => {
    try {
      const value = localStorage.getItem(KEY);
      return value === "dark" || value === "light" ? value : null;
    } catch {
      return null;
    }
  };
  const apply = () => {
    const dark = (chosen() || (query.matches ? "dark" : "light")) === "dark";
    document.documentElement.classList.toggle("dark", dark);
    const meta = document.querySelector('meta[name="theme-color"]');
    if (meta) meta.setAttribute("content", dark ? "#022c22" : "#065f46");
    document.dispatchEvent(new CustomEvent("crm:theme", { detail: { dark } }));
    return dark;
  };
  window.crmTheme = {
    dark: () => document.documentElement.classList.contains("dark"),
    chosen,
    set(value) {
      try {
        if (value) localStorage.setItem(KEY, value);
        else localStorage.removeItem(KEY);
      } catch {
        // private mode: the choice lasts for this page only
        document.documentElement.classList.toggle("dark", value === "dark");
        return;
      }
      apply();
    },
  };
  query.addEventListener("change", apply);
  apply();

  const viewport = window.visualViewport;
  if (viewport) {
    // Not while pinch-zoomed: the visual viewport is then a part of the page, not its size.
    const fit = () => {
      const style = document.documentElement.style;
      if (Math.abs(viewport.scale - 1) < 0.01) style.setProperty("--app-height", `${Math.round(viewport.height)}px`);
      else style.removeProperty("--app-height");
    };
    viewport.addEventListener("resize", fit);
    fit();
  }
})();
