"""What Meta's WhatsApp Cloud API sends us, turned into events.

``parser`` is pure (bytes in, events out, no I/O) and ``signature`` checks that a body
came from Meta. The HTTP edge in ``crm.api.webhook`` joins them to the log.
"""

from crm.whatsapp.parser import parse_webhook
from crm.whatsapp.signature import SignatureError, sign, verify_signature

__all__ = ["SignatureError", "parse_webhook", "sign", "verify_signature"]
