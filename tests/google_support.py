"""Service-account keys that only ever talk to the fake (``tests/fake_google.py``)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                   "ALL_PROXY")


@functools.cache
def _private_key_pem() -> str:
    """One throwaway RSA key per test session (generating one takes ~0.1 s)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def write_service_account(path: Path, token_uri: str) -> Path:
    """A service-account key file whose token exchange goes to ``token_uri`` (the fake's
    ``/token``): google-auth signs a real JWT and trades it for a token there."""
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "crm-tests", "private_key_id": "k1",
        "private_key": _private_key_pem(), "client_id": "1",
        "client_email": "crm@crm-tests.iam.gserviceaccount.com", "token_uri": token_uri,
    }))
    return path


def google_env(fake_url: str, key: Path, **extra: str) -> dict[str, str]:
    """Environment of a crm process that uses the fake as Google."""
    return {"GOOGLE_APPLICATION_CREDENTIALS": str(key), "GOOGLE_API_URL": fake_url, **extra}
