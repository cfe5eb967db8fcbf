"""The HTTP edge: webhook, JSON API, pages and the event stream."""

from crm.api.app import create_app

__all__ = ["create_app"]
