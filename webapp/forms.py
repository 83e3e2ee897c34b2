"""Form fields, filters and the base form shared by the blueprints' forms (a blueprint never imports another's forms).

Text (TextField, MultilineTextField): normalised to NFC; invisible formatting characters (zero-width, bidi
controls, BOM, tag characters…) removed, since nobody can see them to take them out and a name differing only
by them must not pass as another name; other spaces (no-break, thin, ideographic…) become plain spaces; surrounding
spaces trimmed. Control characters (C0, DEL, C1, line and paragraph separators) that are left are refused with a
message beside the field; a multi-line field keeps tabs and line breaks (CRLF becomes LF).

Numbers (PriceField, WholeNumberField, DateField, ascii_int): the digits 0-9 only. Python's int(), Decimal() and
strptime() also read other scripts' digits ("１２３", "٣٤"), which no one typing a price into Socket means.

Lengths (max_length): a text field as long as its column at most, refused with the field's name and the limit.

Missing fields (Form): a field the form needs (DataRequired, InputRequired or Sent) that is absent from a post is an
error beside it, never silently its stored value or its default.
"""
import re
import unicodedata
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms import DateField as _DateField
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation, ValidationError

from webapp.services.pricing import InvalidPrice, parse_price

# --- text -------------------------------------------------------------------------------------------------------

# Invisible formatting characters, removed: soft hyphen, combining grapheme joiner, Arabic letter mark, Hangul and
# Khmer fillers, Mongolian vowel separator and variation selectors, zero-width space/non-joiner/joiner, LRM, RLM,
# bidi embeddings and overrides (U+202A-U+202E), word joiner and invisible operators, bidi isolates
# (U+2066-U+2069), deprecated format controls, variation selectors, BOM / zero-width no-break space, tag characters.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
# Spaces other than U+0020 (no-break, en/em/thin/hair, narrow no-break, ideographic…): they look like a space.
OTHER_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MULTILINE_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # tab and line feed are fine in a textarea
CONTROL_NAMES = {"\t": "tab", "\n": "line break", "\r": "line break", "\u2028": "line break",
                 "\u2029": "paragraph break"}


def clean_text(value):
    """A WTForms filter: NFC, invisible characters removed, odd spaces made plain, surrounding spaces trimmed."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", value)
    value = INVISIBLE.sub("", value)
    value = OTHER_SPACES.sub(" ", value)
    return value.strip()


def clean_multiline_text(value):
    """clean_text for a textarea, whose line breaks browsers send as CRLF: every line break becomes LF."""
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return clean_text(value)


def control_character_message(character: str) -> str:
    what = CONTROL_NAMES.get(character, f"hidden control character (U+{ord(character):04X})")
    return f"Remove the {what} from this field: it is often pasted in by accident."


class TextField(StringField):
    """A single-line text input, cleaned by clean_text; a control character left in it is refused."""

    def __init__(self, label=None, validators=None, filters=(), **kwargs):
        super().__init__(label, validators, filters=(clean_text, *filters), **kwargs)

    def pre_validate(self, form):
        found = CONTROL.search(self.data) if isinstance(self.data, str) else None
        if found:
            raise StopValidation(control_character_message(found.group()))


class MaxLength(Length):
    """Length(max=) whose refusal is the field's only message: the checks after it (an email's format, a code
    already taken) would only add to it."""

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except ValidationError as error:
            raise StopValidation(str(error)) from None


def max_length(what: str, column: Any) -> MaxLength:
    """A length check at `column`'s size (a model attribute, e.g. Client.name) whose refusal names the field and the
    limit, e.g. "Client name must be 200 characters or fewer." (WTForms' own says only "Field cannot be longer…")."""
    limit = column.type.length
    return MaxLength(max=limit, message=f"{what} must be {limit} characters or fewer.")


class MultilineTextField(TextAreaField):
    """A textarea, cleaned by clean_multiline_text; tabs and line breaks are kept, other control characters refused."""

    def __init__(self, label=None, validators=None, filters=(), **kwargs):
        super().__init__(label, validators, filters=(clean_multiline_text, *filters), **kwargs)

    def pre_validate(self, form):
        found = MULTILINE_CONTROL.search(self.data) if isinstance(self.data, str) else None
        if found:
            raise StopValidation(control_character_message(found.group()))


# --- numbers ----------------------------------------------------------------------------------------------------

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
DIGITS_ONLY = "Enter a whole number using the digits 0 to 9."


def ascii_int(value) -> int:
    """int() for the digits 0-9 only (int() also reads "١٢" and "1_2"). Raises ValueError; `type=` for query args."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        raise ValueError(DIGITS_ONLY)
    return int(text)


class WholeNumberField(IntegerField):
    """IntegerField for the digits 0-9 only; anything else is one clear message (not also the range's)."""

    data: Any  # what WTForms reads (an int once valid), as on IntegerField

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        if str(valuelist[0]).strip() == "":
            self.data = None  # empty: the field's InputRequired says what to enter
            return
        try:
            self.data = ascii_int(valuelist[0])
        except ValueError:
            self.data = None
            raise ValueError(DIGITS_ONLY) from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the reading error stands alone


class DateField(_DateField):
    """A date (YYYY-MM-DD, as date inputs send it) in the digits 0-9 only. An unreadable date says so on its own;
    an empty one is left to the field's DataRequired / InputRequired / Optional."""

    data: Any  # a date once valid, as on WTForms' DateField

    def process_formdata(self, valuelist):
        text = " ".join(str(value) for value in valuelist).strip() if valuelist else None
        if text == "":
            self.data = None
            return
        if text is not None and not text.isascii():
            self.data = None
            raise ValueError("Enter the date using the digits 0 to 9, e.g. 2026-04-01.")
        super().process_formdata(valuelist)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class PriceField(StringField):
    """A money input: the value stays what was typed; `price` holds the parsed Decimal once valid."""

    price = None

    def pre_validate(self, form):
        self.price = None
        if self.data is None or str(self.data).strip() == "":
            return
        try:
            self.price = parse_price(self.data)
        except InvalidPrice as error:
            raise ValidationError(str(error)) from error


# --- choices ----------------------------------------------------------------------------------------------------

class ChoiceField(SelectField):
    """A select whose refusal says what to do (`message`), not WTForms' "Not a valid choice."."""

    def __init__(self, label=None, validators=None, message: str | None = None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message or "Choose one of the options."

    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(self.message) from None


class CheckboxField(BooleanField):
    """A checkbox that is posted even unticked: its form renders a hidden input of the same name with the value ""
    before it (browsers send nothing for an unticked box), so "" alone is off, "" with the box's value is on, and
    nothing at all is a post without the field (give it a Sent validator to say so) — never silently "off"."""

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = any(value not in self.false_values for value in valuelist)

    def _value(self):
        return "y"  # the box's value whatever was posted (BooleanField would echo the hidden "" back)


# --- missing fields ---------------------------------------------------------------------------------------------

class Sent:
    """The field must be in the post, even empty: e.g. a select whose "" means "use the default", so that a post
    without it does not quietly reset a setting. Form turns its absence into `message` beside the field."""

    field_flags = {"sent": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if field.raw_data == []:
            raise StopValidation(self.message)


def missing_message(field) -> str | None:
    """What to say when `field` is absent from a post, or None if the form can do without it."""
    for validator in field.validators:
        if isinstance(validator, (DataRequired, InputRequired, Sent)):
            return validator.message or "This field is required."
    return None


class Form(FlaskForm):
    """Socket's forms. A field the form needs that is absent from a post (a stale page, a broken script, a hand-made
    request) gets its "enter …" message beside it: absent is never silently the stored value (a form filled from an
    object keeps it otherwise) nor a select's default."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            valid = self.check_sent(field) and valid
        return valid

    def check_sent(self, field) -> bool:
        """False, with the message beside it, when `field` is needed and was not posted (raw_data [] means a post
        without it; None means the form was not posted)."""
        message = missing_message(field)
        if message is None or field.raw_data != []:
            return True
        field.data = None
        field.errors = [message]
        return False
