"""The sandbox: a local stand-in for Meta's Graph API, so the whole loop runs without
a Meta account.

It speaks the Graph API's HTTP protocol on 127.0.0.1 (send, media upload and
download, templates, mark read), answers sends with new ``wamid`` ids, then posts
signed ``sent``, ``delivered`` and ``read`` status webhooks back to the server a
moment later, and can answer as a customer. A control API under ``/_sandbox/``
lets tests make it fail with any Meta error code, be slow or drop connections, and
shows what it received.

The server side (``server``, ``state``, ``payloads``, ``poster``) uses the standard
library only, so ``python -m crm.sandbox`` starts in a blink.
"""

#: The ids the sandbox answers to unless told others.
PHONE_NUMBER_ID = "100000000000001"
WABA_ID = "200000000000002"
DISPLAY_PHONE_NUMBER = "15550000001"
