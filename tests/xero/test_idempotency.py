"""Idempotency-Keys from a request's content (webapp.xero.idempotency): the same parts give the same key, key order
inside a body does not matter, any other difference does, and a key never outgrows Xero's 128 characters."""
import hashlib
import json

import pytest

from webapp.xero.idempotency import MAX_LENGTH, content_key


def test_the_same_content_gives_the_same_key_whatever_the_order_of_its_keys():
    first = content_key("socket-test-", "tenant", {"Contacts": [{"ContactID": "a", "Name": "A"}]})
    again = content_key("socket-test-", "tenant", {"Contacts": [{"Name": "A", "ContactID": "a"}]})
    assert first == again and first.startswith("socket-test-") and len(first) == len("socket-test-") + 64


@pytest.mark.parametrize("other", [
    ("socket-test-", "another tenant", {"Contacts": [{"ContactID": "a", "Name": "A"}]}),
    ("socket-test-", "tenant", {"Contacts": [{"ContactID": "a", "Name": "B"}]}),
    ("socket-other-", "tenant", {"Contacts": [{"ContactID": "a", "Name": "A"}]}),
])
def test_any_other_content_or_prefix_gives_another_key(other):
    assert content_key(*other) != content_key("socket-test-", "tenant", {"Contacts": [{"ContactID": "a", "Name": "A"}]})


def test_keys_made_before_the_helper_existed_are_unchanged():
    body = {"Contacts": [{"ContactID": "a", "ContactNumber": "ABB01"}]}
    before = "socket-contact-numbers-" + hashlib.sha256(
        json.dumps(["tenant", body], sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert content_key("socket-contact-numbers-", "tenant", body) == before


def test_a_prefix_too_long_for_xero_is_refused():
    with pytest.raises(ValueError, match="longer than Xero allows"):
        content_key("x" * (MAX_LENGTH - 63), "tenant")
