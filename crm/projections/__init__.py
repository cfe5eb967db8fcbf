"""Tables derived from the log. They can always be thrown away and rebuilt."""

from crm.projections import (
    agents,
    channel,
    chats,
    customers,
    identities,
    media,
    messages,
    templates,
    webhooks,
)
from crm.projections.base import Projection, Projector
from crm.projections.checkpoints import projection_status
from crm.projections.transaction import Transaction

#: Every projection, in the order handlers run for an event.
PROJECTIONS: tuple[Projection, ...] = (identities.PROJECTION, messages.PROJECTION,
                                       customers.PROJECTION,
                                       chats.PROJECTION, webhooks.PROJECTION, agents.PROJECTION,
                                       channel.PROJECTION, templates.PROJECTION,
                                       media.PROJECTION)


def default_projector() -> Projector:
    return Projector(PROJECTIONS)


__all__ = ["PROJECTIONS", "Projection", "Projector", "Transaction", "default_projector",
           "projection_status"]
