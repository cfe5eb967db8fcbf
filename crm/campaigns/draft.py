"""A campaign as a client asks for it, checked: the body of ``POST /api/campaigns``
(and of ``crm campaigns create``). Pure validation; ``BadDraft`` says what is wrong.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from crm.events import NewEvent, format_time, parse_time
from crm.events.campaigns import CampaignAudience, CampaignCreated, campaign_stream

#: Recipients per ``campaign.audience`` event.
CHUNK = 1000
MAX_RATE = 1000.0


class BadDraft(ValueError):
    """The campaign as given cannot be created; the message says why."""


class TemplateNotApproved(ValueError):
    """The template does not exist, or Meta has not approved it."""


@dataclass
class Draft:
    name: str
    template: dict[str, Any]
    audience: dict[str, Any]
    variables: dict[str, str] = field(default_factory=dict)
    schedule_at: str | None = None
    rate: float | None = None


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadDraft(f"audience.{name} must be a list")
    return value


def parse(body: Any) -> Draft:
    if not isinstance(body, dict):
        raise BadDraft("send a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadDraft("name must be a non-empty string")
    template = body.get("template")
    if (not isinstance(template, dict) or not isinstance(template.get("name"), str)
            or not isinstance(template.get("language"), str)):
        raise BadDraft("template must be an object with name and language")
    components = template.get("components") or []
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise BadDraft("template.components must be a list of objects")
    audience = body.get("audience") or {}
    if not isinstance(audience, dict):
        raise BadDraft("audience must be an object")
    attributes = audience.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise BadDraft("audience.attributes must be an object")
    csv = audience.get("csv")
    if csv is not None and (not isinstance(csv, str) or not csv):
        raise BadDraft("audience.csv must be the id of an uploaded file")
    spec = {"labels": [str(x) for x in _list(audience.get("labels"), "labels")],
            "attributes": {str(k): str(v) for k, v in attributes.items()},
            "phones": [str(x) for x in _list(audience.get("phones"), "phones")],
            "csv": csv}
    variables = body.get("variables") or {}
    if not isinstance(variables, dict) or not all(isinstance(v, str)
                                                  for v in variables.values()):
        raise BadDraft("variables must map numbers to text")
    schedule_at = body.get("schedule_at")
    if schedule_at is not None:
        try:
            schedule_at = format_time(parse_time(str(schedule_at)))
        except ValueError:
            raise BadDraft("schedule_at must be an ISO 8601 time") from None
    rate = body.get("rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)
                             or not 0 < rate <= MAX_RATE):
        raise BadDraft(f"rate must be a number of messages per second, up to {MAX_RATE:.0f}")
    return Draft(name.strip(), {"name": template["name"], "language": template["language"],
                                "components": components},
                 spec, {str(k): v for k, v in variables.items()}, schedule_at,
                 float(rate) if rate is not None else None)


def approved(templates: list[dict[str, Any]], template: dict[str, Any]) -> dict[str, Any]:
    """The account's template a draft names, if APPROVED (else ``TemplateNotApproved``)."""
    for found in templates:
        if found["name"] == template["name"] and found["language"] == template["language"]:
            if str(found.get("status") or "").upper() != "APPROVED":
                raise TemplateNotApproved(f"the template {template['name']} "
                                          f"({template['language']}) is {found.get('status')}, "
                                          "not APPROVED")
            return found
    raise TemplateNotApproved(f"no template {template['name']} ({template['language']}): "
                              "refresh the templates, or create it at Meta")


def events(draft: Draft, category: str | None, phones: list[str], actor: str,
           agent: str | None) -> tuple[str, list[NewEvent]]:
    """The new campaign's id and its events: created, then the recipients in chunks."""
    cid = uuid.uuid4().hex[:16]
    stream = campaign_stream(cid)
    # The phones themselves are in the campaign.audience events: the spec keeps their count.
    spec = {**draft.audience, "phones": len(draft.audience.get("phones") or [])}
    made = [CampaignCreated(campaign_id=cid, name=draft.name, template=draft.template,
                            category=category, audience=spec,
                            variables=draft.variables, schedule_at=draft.schedule_at,
                            rate=draft.rate, size=len(phones), agent=agent,
                            ).new(stream, actor=actor)]
    made += [CampaignAudience(campaign_id=cid, offset=i, phones=phones[i:i + CHUNK])
             .new(stream, actor=actor) for i in range(0, len(phones), CHUNK)]
    return cid, made
