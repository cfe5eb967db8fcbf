"""Tables derived from the log. They can always be thrown away and rebuilt."""

from crm.config import Settings
from crm.projections import (
    account,
    agents,
    automation_periods,
    automations,
    campaigns,
    channel,
    chats,
    customers,
    identities,
    labels,
    media,
    messages,
    notes,
    notifications,
    optouts,
    permissions,
    quick_replies,
    search,
    templates,
    webhooks,
    workflow,
)
from crm.projections.base import Projection, Projector
from crm.projections.checkpoints import projection_status
from crm.projections.options import FoldOptions
from crm.projections.transaction import Transaction

#: Every projection, in the order handlers run for an event.
PROJECTIONS: tuple[Projection, ...] = (identities.PROJECTION, messages.PROJECTION,
                                       customers.PROJECTION,
                                       chats.PROJECTION, webhooks.PROJECTION, agents.PROJECTION,
                                       channel.PROJECTION, templates.PROJECTION,
                                       media.PROJECTION, account.PROJECTION,
                                       workflow.PROJECTION,
                                       labels.PROJECTION, quick_replies.PROJECTION,
                                       notes.PROJECTION, notifications.PROJECTION,
                                       automations.PROJECTION, automation_periods.PROJECTION,
                                       search.PROJECTION,
                                       campaigns.PROJECTION, optouts.PROJECTION,
                                       permissions.PROJECTION)


def fold_options(settings: Settings | None) -> FoldOptions:
    """The settings that shape projection rows (see ``crm.projections.options``)."""
    if settings is None:
        return FoldOptions()
    return FoldOptions(pending_status_days=settings.pending_status_days)


def default_projector(settings: Settings | None = None) -> Projector:
    """Every projection, folding with ``settings``' options (the defaults without)."""
    return Projector(PROJECTIONS, fold_options(settings))


__all__ = ["PROJECTIONS", "FoldOptions", "Projection", "Projector", "Transaction",
           "default_projector", "fold_options", "projection_status"]
