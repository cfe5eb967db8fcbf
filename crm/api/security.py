"""Security headers on every response, errors and redirects included.

Customer text is untrusted and shown in agents' browsers: the Content-Security-Policy
allows scripts only from our own origin (no inline scripts, no ``eval``), so injected
markup cannot run. Styles are same-origin too; pages link a stylesheet file.
Headers a view set itself are left alone. Answers under ``/api/`` hold customer data
and are never stored (``no-store``) unless the view says otherwise (the stream's
``no-cache``, which nothing stores either).
"""

from __future__ import annotations

from quart import Quart, Response, request

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def install(app: Quart) -> None:
    @app.after_request
    async def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path == "/api" or request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
