"""Bad GET /Accounts, /BrandingThemes and /TaxRates answers through webapp.sync.reference_sync.sync_reference_data
(the real client, Xero mocked; the other two kinds answered validly).

Each example is a new practice whose mirror already holds rows of the kind under test; Xero answers valid items
(shaped as the spec's Account, BrandingTheme and TaxRate), mutated ones (some with stored ids), duplicated ids,
garbage, or a broken answer. Properties: only Socket's own XeroError comes out; the good items are stored; every
skipped item has a warning; no stored row is deleted, none is marked gone while an item of the answer may be it,
and a row changes only to what an item with its id says; an answer that could not be read changes nothing."""
import json
import uuid
from dataclasses import dataclass

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from tests.corpus.xero_bodies import ODD_TEXT, RolledBack, json_reply, mutated, page
from tests.factories import batched, make_connection
from tests.hypothesis_corpus import examples
from webapp.extensions import db
from webapp.models import XeroAccount, XeroBrandingTheme, XeroTaxRate
from webapp.sync.reference_sync import sync_reference_data
from webapp.xero import XeroClient, XeroError


def account(key: str, name: str) -> dict:
    return {"AccountID": key, "Code": name[:10], "Name": name, "Type": "REVENUE", "TaxType": "OUTPUT2",
            "EnablePaymentsToAccount": False, "ShowInExpenseClaims": False, "Class": "REVENUE",
            "ReportingCode": "REV.TRA.GRS", "ReportingCodeName": "Revenue", "HasAttachments": False,
            "UpdatedDateUTC": "/Date(1700000000000+0000)/", "Status": "ACTIVE", "AddToWatchlist": False}


def theme(key: str, name: str) -> dict:
    return {"BrandingThemeID": key, "Name": name, "LogoUrl": "https://in.xero.com/logo?id=1", "Type": "INVOICE",
            "SortOrder": len(name) % 5, "CreatedDateUTC": "/Date(1573755038314+0000)/"}


def tax_rate(key: str, name: str) -> dict:
    return {"Name": name, "TaxType": key, "ReportTaxType": "OUTPUT", "CanApplyToAssets": True,
            "CanApplyToEquity": True, "CanApplyToExpenses": False, "CanApplyToLiabilities": True,
            "CanApplyToRevenue": True, "DisplayTaxRate": 20.0, "EffectiveRate": 20.0, "Status": "ACTIVE",
            "TaxComponents": [{"Name": "VAT", "Rate": 20.0, "IsCompound": False, "IsNonRecoverable": False}]}


@dataclass(frozen=True)
class Kind:
    collection: str
    id_key: str
    model: type
    column: str
    valid: object
    gone: object  # is a row marked gone

    def rows(self, practice_id: int) -> dict[str, tuple]:
        db.session.expire_all()
        return {getattr(row, self.column): (row.name, getattr(row, "status", None),
                                            getattr(row, "present_in_xero", None))
                for row in db.session.execute(db.select(self.model).filter_by(practice_id=practice_id)).scalars()}


KINDS = {
    "accounts": Kind("Accounts", "AccountID", XeroAccount, "account_id", account, lambda v: v[1] == "DELETED"),
    "themes": Kind("BrandingThemes", "BrandingThemeID", XeroBrandingTheme, "branding_theme_id", theme,
                   lambda v: v[2] is False),
    "tax rates": Kind("TaxRates", "TaxType", XeroTaxRate, "tax_type", tax_rate, lambda v: v[1] == "DELETED"),
}
STORED = ["stored-1", "stored-2", "stored-3"]


def store(kind: Kind, practice_id: int) -> None:
    for n, key in enumerate(STORED):
        item = kind.valid(key, f"Stored {n}")
        values = {"account_id": key, "code": f"S{n}", "status": "ACTIVE"} if kind.model is XeroAccount else \
            {"branding_theme_id": key, "sort_order": n} if kind.model is XeroBrandingTheme else \
            {"tax_type": key, "status": "ACTIVE"}
        db.session.add(kind.model(practice_id=practice_id, name=item["Name"], **values))


@st.composite
def answers(draw, kind: Kind):
    good = [kind.valid(f"good-{draw(st.uuids()).hex[:8]}-{n}", f"Good {n} {draw(st.sampled_from(['', '🦄', 'עברית']))}")
            for n in range(draw(st.integers(min_value=0, max_value=3)))]
    if draw(st.booleans()):  # a stored row, answered as it is
        good.append(kind.valid(STORED[0], "Stored 0"))
    broken = []
    for n in range(draw(st.integers(min_value=0, max_value=3))):
        target = draw(st.sampled_from(["new", "stored", "garbage", "odd text", "duplicate"]))
        if target == "garbage":
            broken.append(draw(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.none()))))
        elif target == "odd text":
            broken.append(dict(kind.valid(f"odd-{n}", "Odd"), Name=draw(st.sampled_from(ODD_TEXT))))
        elif target == "duplicate" and good:
            broken.append(draw(mutated(dict(good[-1]), keep=(kind.id_key,))))
        else:
            key = draw(st.sampled_from(STORED[1:])) if target == "stored" else f"new-{n}"
            broken.append(draw(mutated(kind.valid(key, f"Broken {n}"), keep=(kind.id_key,) * draw(st.booleans()))))
    items = draw(st.permutations(good + broken))
    return good, items, draw(page(kind.collection, items))


def _valid_others(mocked, settings, kind: Kind) -> None:
    for other in KINDS.values():
        if other is not kind:
            body = json_reply({other.collection: [other.valid(f"other-{n}", f"Other {n}") for n in range(2)]})
            mocked.add_callback("GET", f"{settings.accounting_url}/{other.collection}",
                                callback=lambda request, body=body: body.as_callback_result())


@pytest.mark.parametrize("name", list(KINDS))
@examples(20)
@given(data=st.data())
def test_a_bad_reference_answer_never_loses_stored_rows_and_keeps_the_good_ones(app_ctx, settings, fake_time, name,
                                                                                 data):
    kind = KINDS[name]
    good, items, reply = data.draw(answers(kind))
    with batched():
        connection = make_connection(tenant_id=str(uuid.uuid4()))
        store(kind, connection.practice_id)
    practice_id = connection.practice_id
    before = kind.rows(practice_id)
    client = XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)
    with RolledBack(), responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        _valid_others(mocked, settings, kind)
        mocked.add_callback("GET", f"{settings.accounting_url}/{kind.collection}",
                            callback=lambda request: reply.as_callback_result())
        try:
            counts = sync_reference_data(practice_id, client)
        except XeroError as error:
            assert error.message and "Traceback" not in error.message
            assert kind.rows(practice_id) == before
            return
    after = kind.rows(practice_id)
    assert set(before) <= set(after)  # nothing deleted
    answered = json.loads(reply.body)[kind.collection]
    by_key: dict[str, list] = {}
    for item in answered:
        if isinstance(item, dict) and isinstance(item.get(kind.id_key), str):
            by_key.setdefault(item[kind.id_key], []).append(item)
    every_key_readable = all(isinstance(i, dict) and isinstance(i.get(kind.id_key), str) for i in answered)
    for item in good:
        key = item[kind.id_key]
        assert key in after, f"a good item was not stored: {item}"
        if len(by_key[key]) == 1:
            assert after[key][0] == item["Name"] and not kind.gone(after[key])
    for key, values in after.items():
        if kind.gone(values) and not kind.gone(before.get(key, values)):
            assert answered, f"{key} marked gone by an empty answer (an organisation always has some)"
            assert key not in by_key and every_key_readable, f"{key} marked gone while the answer may hold it"
        elif values != before.get(key):
            assert any(values[0] in (i.get("Name") or "", key) for i in by_key[key])
    for warning in counts.get("warnings", []):
        assert warning.startswith(("An account", "A branding theme", "A tax rate", "Because", "Xero listed no"))
        assert len(warning) < 500
