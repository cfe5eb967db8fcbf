"""The session cookie: a random session id, signed with the server's secret key.

HttpOnly, SameSite=Lax, and Secure when the request came over https (directly, or
through a proxy of ``CRM_TRUSTED_PROXIES`` that says so in ``X-Forwarded-Proto``).
"""

from __future__ import annotations

from itsdangerous import BadSignature, Signer
from quart import Response, request

from crm.api.client import is_https
from crm.api.services import services
from crm.auth.secret import secret_key

SESSION_COOKIE = "crm_session"
#: The sign-in form's own CSRF token (double submit: cookie and hidden field agree).
LOGIN_COOKIE = "crm_login"


def _signer() -> Signer:
    crm = services()
    if crm.signer is None:
        crm.signer = Signer(secret_key(crm.settings), salt="crm.session")
    return crm.signer


def session_id() -> str | None:
    """The session id of the request's cookie, if it carries a valid signature."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        return _signer().unsign(raw).decode()
    except (BadSignature, UnicodeDecodeError):
        return None


def set_session(response: Response, session_id: str) -> None:
    response.set_cookie(SESSION_COOKIE, _signer().sign(session_id).decode(), path="/",
                        httponly=True, samesite="Lax", secure=is_https())


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax",
                           secure=is_https())


def set_login_token(response: Response, token: str) -> None:
    response.set_cookie(LOGIN_COOKIE, token, path="/login", max_age=3600, httponly=True,
                        samesite="Lax", secure=is_https())
