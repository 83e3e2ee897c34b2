"""Which control an htmx save-on-change came from: Billing Settings and Practice save one control at a time."""
import re

from flask import request

from webapp.htmx import is_htmx_request

RADIO_ID = re.compile(r"^(?P<name>.+)-\d+$")  # a radio's id is its group's name and its index: primary_crm-1


def changed_field(form) -> str:
    """The name of the control that fired an htmx save (htmx 4 sends it as HX-Source "tag#id"), or "form" for a
    whole-form save (no htmx, or a source that is not one of the form's fields)."""
    if not is_htmx_request():
        return "form"
    source = request.headers.get("HX-Source", "").partition("#")[2]
    if source not in form._fields and (radio := RADIO_ID.match(source)):
        source = radio.group("name")
    return source if source in form._fields else "form"
