"""Form fields and filters shared by the blueprints' forms (a blueprint never imports another's forms)."""
from wtforms import StringField
from wtforms.validators import ValidationError

from webapp.services.pricing import InvalidPrice, parse_price


def strip_whitespace(value):
    """A WTForms filter: surrounding spaces never count (a field of only spaces is then empty)."""
    return value.strip() if isinstance(value, str) else value


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
