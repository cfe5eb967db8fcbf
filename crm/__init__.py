"""crm: a self-hosted, event-sourced WhatsApp team inbox."""

__version__ = "0.1.0"
