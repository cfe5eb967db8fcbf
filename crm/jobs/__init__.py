"""Background work that must run once per deployment, not once per server process."""
