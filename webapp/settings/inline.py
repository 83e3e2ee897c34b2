"""Which control an htmx save-on-change came from: Billing Settings and Practice save one control at a time."""
import re

from flask import request

from webapp.htmx import is_htmx_request

RADIO_ID = re.compile(r"^(?P<name>.+)-\d+$")  # a radio's id is its group's name and its index: primary_crm-1


def validate_control(form, name: str) -> bool:
    """Validate the one control `name` as Form.validate would: its own validators and the form's validate_<name>
    check (called as (form, field), as Form.validate calls it)."""
    own_check = getattr(type(form), f"validate_{name}", None)
    return form[name].validate(form, extra_validators=[own_check] if own_check else ())


def changed_field(form) -> str:
    """The name of the control that fired an htmx save (htmx 4 sends it as HX-Source "tag#id"), or "form" for a
    whole-form save (no htmx, or a source that is not one of the form's fields)."""
    if not is_htmx_request():
        return "form"
    source = request.headers.get("HX-Source", "").partition("#")[2]
    if source not in form._fields and (radio := RADIO_ID.match(source)):
        source = radio.group("name")
    return source if source in form._fields else "form"
