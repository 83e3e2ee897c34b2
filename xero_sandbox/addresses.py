"""A contact's Addresses and Phones: read from a request element and merged into the contact by type, as Xero
updates them (an entry changes only the fields it sends of the entry of its type; other types are kept)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from .bodies import _invalid, get_enum, get_list, get_str, sub


@dataclass(frozen=True)
class TypedList:
    """Addresses or Phones: the list's key, the entry's type key and types (the first is the one Xero's
    deserialiser gives an entry without a type), and its text fields with their maximum lengths."""

    key: str
    entity: str
    type_key: str
    types: tuple[str, ...]
    fields: dict[str, int]


ADDRESSES = TypedList("Addresses", "Address", "AddressType", ("POBOX", "STREET"), {
    "AddressLine1": 500, "AddressLine2": 500, "AddressLine3": 500, "AddressLine4": 500, "City": 255,
    "Region": 255, "PostalCode": 50, "Country": 50, "AttentionTo": 255})
PHONES = TypedList("Phones", "Phone", "PhoneType", ("DEFAULT", "DDI", "MOBILE", "FAX", "OFFICE"), {
    "PhoneNumber": 50, "PhoneAreaCode": 10, "PhoneCountryCode": 20})

# (type, {field: new value}) for each entry sent, in order
Changes = list[tuple[str, dict[str, str]]]


def read_typed(el: dict, spec: TypedList, path: str, errors: list[str]) -> Changes | None:
    """The element's entries of `spec`, or None when it sends none. A wrongly typed entry, field or type is a 400
    PostDataInvalid; a value longer than the field allows is a validation message in `errors`."""
    entries = get_list(el, spec.key, path)
    if entries is None:
        return None
    changes: Changes = []
    for i, entry in enumerate(entries):
        epath = f"{sub(path, spec.key)}[{i}]"
        if not isinstance(entry, dict):
            raise _invalid(f"Error converting value {json.dumps(entry, default=str)} to type '{spec.entity}'.",
                           epath)
        kind = get_enum(entry, spec.type_key, epath, spec.types, spec.type_key) or spec.types[0]
        fields: dict[str, str] = {}
        for name, max_len in spec.fields.items():
            value = get_str(entry, name, epath)
            if value is None:
                continue
            fields[name] = value.strip()
            if len(fields[name]) > max_len:
                errors.append(f"The {spec.entity} {name} must be {max_len} characters or less.")
        changes.append((kind, fields))
    return changes


def merge_typed(current: list[dict], spec: TypedList, changes: Changes) -> list[dict]:
    """`current` with each change applied to the entry of its type (added when there is none): the fields sent
    replace those fields ("" clears one), the others and the other types' entries stay as they were."""
    merged = [dict(entry) for entry in current]
    for kind, fields in changes:
        entry = next((e for e in merged if e.get(spec.type_key) == kind), None)
        if entry is None:
            entry = {spec.type_key: kind}
            merged.append(entry)
        entry.update(fields)
    return merged
