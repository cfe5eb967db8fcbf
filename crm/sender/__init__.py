"""The sender: queued messages to Meta, once each, in order per chat."""
