"""Browser tests of the inbox page (Playwright driving Debian's headless chromium)."""
