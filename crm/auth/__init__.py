"""Who is asking: agents' passwords, API tokens, sessions and the sign-in rate limit.

Nothing here knows about HTTP: ``crm.api.guard`` and the login pages turn requests
into calls of these functions, and the CLI calls the same commands.
"""

from crm.auth.errors import AuthError
from crm.auth.identity import Agent

__all__ = ["Agent", "AuthError"]
