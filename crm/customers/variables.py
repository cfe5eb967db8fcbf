"""Filling a template's variables from what crm knows of a customer.

``{"1": "{{name}}", "2": "{{attr:Season}}", "3": "{{phone}}"}``: each value is text
in which ``{{name}}``, ``{{phone}}`` and ``{{attr:<column>}}`` (a column of the
customer list) are replaced. A placeholder with no value raises ``MissingAttribute``
naming it: a template with an empty parameter is refused by Meta, and a greeting to
"Dear ," is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*(name|phone|attr:[^{}]+?)\s*\}\}")


class MissingAttribute(Exception):
    """The customer has no value for ``attribute`` (``name``, ``phone`` or a column)."""

    def __init__(self, attribute: str) -> None:
        super().__init__(f"the customer has no {attribute}")
        self.attribute = attribute


def _value(customer: Mapping[str, Any], key: str) -> str:
    if key.startswith("attr:"):
        column = key[5:].strip()
        attributes = customer.get("attributes") or {}
        value = attributes.get(column)
        if value is None or str(value).strip() == "":
            raise MissingAttribute(column)
        return str(value)
    value = customer.get(key)
    if value is None or str(value).strip() == "":
        raise MissingAttribute(key)
    return str(value)


def fill(variables: Mapping[str, str], customer: Mapping[str, Any]) -> dict[str, str]:
    """The variables with every placeholder replaced; ``MissingAttribute`` if one has
    no value for this customer."""
    return {key: PLACEHOLDER.sub(lambda m: _value(customer, m.group(1)), text)
            for key, text in variables.items()}
