"""What can go wrong managing agents and tokens; the API maps ``status`` and ``code``."""

from __future__ import annotations


class AuthError(Exception):
    status = 400
    code = "bad_request"


class BadName(AuthError):
    code = "bad_name"


class WeakPassword(AuthError):
    code = "weak_password"


class AgentExists(AuthError):
    status = 409
    code = "agent_exists"


class UnknownAgent(AuthError):
    status = 404
    code = "unknown_agent"


class AgentDisabledError(AuthError):
    status = 409
    code = "agent_disabled"


class LastAdmin(AuthError):
    """Taking admin from the last enabled admin would leave nobody to manage agents."""

    status = 409
    code = "last_admin"


class UnknownToken(AuthError):
    status = 404
    code = "unknown_token"


class BadDuration(AuthError):
    code = "bad_duration"


class TokenAlreadyRevoked(AuthError):
    status = 409
    code = "token_revoked"
