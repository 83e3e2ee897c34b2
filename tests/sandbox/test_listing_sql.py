"""Contacts and Invoices listings answered by SQLite (filter, order, LIMIT/OFFSET) match the Python path.

Each request is made twice against the same data: once normally (asserting it took the SQL path) and once
with `where.sql_filter` disabled, which sends it down the original decode-filter-sort-slice path. The
response bodies (apart from the envelope's clock fields) must be identical, and both must be valid.
"""
from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from xero_sandbox import DEMO_TENANT_ID
from xero_sandbox import contacts as contacts_mod
from xero_sandbox import invoices as invoices_mod

GENERATED = 620  # 12 of them ARCHIVED by the generator (every 50th)
ABBOTT = "f7488d45-ec18-5ff2-9156-b307b4f5f2a9"


@contextlib.contextmanager
def _path(monkeypatch, module, sql: bool):
    calls = []
    real = module.sql_page
    with monkeypatch.context() as m:
        if sql:
            m.setattr(module, "sql_page", lambda *a, **kw: calls.append(1) or real(*a, **kw))
        else:
            m.setattr(module, "sql_filter", lambda pred, columns: None)
            m.setattr(module, "sql_page", lambda *a, **kw: pytest.fail("fallback path used sql_page"))
        yield calls


def _both(monkeypatch, sb, validate, token, tenant, module, collection, params=None, headers=None,
          expect_sql=True):
    bodies = []
    for sql in (True, False):
        with _path(monkeypatch, module, sql) as calls:
            r = sb.api("GET", collection, token, tenant_id=tenant, params=params or {}, headers=headers or {})
            body = validate(r, 200)
        if sql:
            assert bool(calls) == expect_sql, (params, headers, "SQL path" if expect_sql else "fallback path")
        bodies.append({k: v for k, v in body.items() if k not in ("Id", "DateTimeUTC")})
    assert bodies[0] == bodies[1], (params, headers)
    return bodies[0]


@pytest.fixture(scope="module")
def big_org(shared_sandbox, validate):
    """A generated organisation plus same-name (archived/active) pairs and non-ASCII names for ordering ties.

    Built once per module: every test here only reads it, and generating it was most of each test's time. A test
    that asks for `sb` resets the sandbox and so must come after the tests that use `big` (as the invoices test
    at the end does)."""
    sb = shared_sandbox
    sb.reset()
    tenant = sb.generate_org("Listing Order Ltd", GENERATED)
    token = sb.connect(tenants=[tenant])["access_token"]
    every = validate(sb.api("GET", "Contacts", token, tenant_id=tenant, params={"includeArchived": "true"}), 200)
    archived = [c for c in every["Contacts"] if c["ContactStatus"] == "ARCHIVED"]
    assert len(archived) == GENERATED // 50
    # an active contact with the same name as each of three archived ones: equal name keys, ContactID decides
    extra = [{"Name": c["Name"].upper()} for c in archived[:3]]
    extra += [{"Name": n} for n in ("Émile Ltd", "émilie ltd", "Zoë Studios", "Ångström Optics", "Straße Bau",
                                    "  spaced   out  ltd ", "Ωmega Ltd", "0800 Plumbing", "_underscore Co")]
    made_from_ms = sb.state()["now_ms"]
    made = validate(sb.api("PUT", "Contacts", token, tenant_id=tenant, json={"Contacts": extra}), 200)["Contacts"]
    sb.archive_contact(made[-1]["ContactID"])
    return {"tenant": tenant, "token": token, "archived": archived, "made": made, "made_from_ms": made_from_ms}


@pytest.fixture
def big(big_org, shared_sandbox, monkeypatch, validate):
    """big_org, with `call` asking the module's sandbox for its Contacts both ways (see _both)."""
    sb, token, tenant = shared_sandbox, big_org["token"], big_org["tenant"]
    return {**big_org,
            "call": lambda **kw: _both(monkeypatch, sb, validate, token, tenant, contacts_mod, "Contacts", **kw)}


def _ids(body, key="Contacts"):
    return [c[key[:-1] + "ID"] for c in body[key]]


def test_unpaged_lists_match(big):
    body = big["call"]()
    assert "pagination" not in body and len(body["Contacts"]) == GENERATED - 12 + 9 - 1 + 3
    everyone = big["call"](params={"includeArchived": "true"})
    assert len(everyone["Contacts"]) == GENERATED + 9 + 3


@pytest.mark.parametrize("include_archived", [False, True])
@pytest.mark.parametrize("page_size", [None, 53, 100, 1000])  # 53: a short last page
def test_every_page_matches_and_pages_add_up_to_the_list(big, include_archived, page_size):
    extra = {"includeArchived": "true"} if include_archived else {}
    full = _ids(big["call"](params=extra))
    size = page_size or 100
    seen, page = [], 1
    while True:
        params = {**extra, "page": page, **({"pageSize": page_size} if page_size else {})}
        body = big["call"](params=params)
        assert body["pagination"] == {"page": page, "pageSize": size, "pageCount": -(-len(full) // size),
                                      "itemCount": len(full)}
        seen += _ids(body)
        if len(body["Contacts"]) < size:
            break
        page += 1
    assert seen == full


@pytest.mark.parametrize("params", [
    {"page": 0, "pageSize": 50}, {"page": -3}, {"page": 999, "pageSize": 10}, {"page": 2, "pageSize": 0},
    {"page": 1, "pageSize": -5}, {"page": 1, "pageSize": 5000}, {"page": "x", "pageSize": 10},
    {"page": 2, "pageSize": "many"}, {"page": 3, "pageSize": 20, "summaryOnly": "true"},
    {"summaryOnly": "true", "includeArchived": "true"},
])
def test_odd_page_arguments_match(big, params):
    big["call"](params=params)


def test_archived_pairs_are_ordered_by_contact_id(big):
    everyone = big["call"](params={"includeArchived": "true"})["Contacts"]
    keys = [(" ".join(c["Name"].split()).casefold(), c["ContactID"]) for c in everyone]
    assert keys == sorted(keys)
    for archived in big["archived"][:3]:
        twins = [c for c in everyone if c["Name"].casefold() == archived["Name"].casefold()]
        assert len(twins) == 2 and {c["ContactStatus"] for c in twins} == {"ACTIVE", "ARCHIVED"}


def test_if_modified_since_matches(big):
    # generated contacts are 1 s apart from the seed time: half of them are at or after this instant
    seed_ms = int(dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC).timestamp() * 1000)
    since = dt.datetime.fromtimestamp((seed_ms + GENERATED // 2 * 1000) / 1000, dt.UTC)
    headers = {"If-Modified-Since": since.strftime("%Y-%m-%dT%H:%M:%S")}
    for extra in ({}, {"includeArchived": "true"}):
        unpaged = _ids(big["call"](params=extra, headers=headers))
        assert 0 < len(unpaged) < GENERATED
        seen = []
        for page in (1, 2, 3, 4):
            body = big["call"](params={**extra, "page": page, "pageSize": 100}, headers=headers)
            assert body["pagination"]["itemCount"] == len(unpaged)
            seen += _ids(body)
        assert seen == unpaged
    just_made = big["call"](params={"page": 1, "pageSize": 5}, headers={"If-Modified-Since": _iso(
        big["made_from_ms"] - 1000)})
    assert just_made["pagination"]["itemCount"] == 11  # the 12 made, less the one archived since
    assert big["call"](params={"page": 1}, headers={"If-Modified-Since": "2099-01-01T00:00:00"})["Contacts"] == []
    big["call"](params={"page": 1}, headers={"If-Modified-Since": "not a date"})


def _iso(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()


def test_ids_and_simple_where_forms_match(big):
    archived = big["archived"]
    ids = ",".join([archived[0]["ContactID"], archived[5]["ContactID"].upper(), big["made"][0]["ContactID"]])
    assert len(big["call"](params={"IDs": ids})["Contacts"]) == 3
    assert big["call"](params={"IDs": ids, "page": 1, "pageSize": 2})["pagination"]["pageCount"] == 2
    wheres = {
        'ContactStatus=="ARCHIVED"': 12 + 1,
        'ContactStatus == "archived"': 12 + 1,
        'ContactStatus!="ACTIVE"': 12 + 1,
        '"ACTIVE"==ContactStatus': GENERATED - 12 + 9 - 1 + 3,
        f'ContactID==Guid("{archived[2]["ContactID"].upper()}")': 0,  # archived: default filter
        f'ContactID==Guid("{big["made"][1]["ContactID"].upper()}")': 1,
        f'ContactStatus=="ACTIVE" AND ContactID!="{big["made"][0]["ContactID"]}"': GENERATED - 12 + 9 - 1 + 2,
        'ContactStatus=="ACTIVE" && ContactStatus!="ARCHIVED"': GENERATED - 12 + 9 - 1 + 3,
        'ContactStatus==null': 0,
        'ContactStatus!=null': GENERATED + 9 + 3,
        'ContactStatus==1': 0,
        'ContactStatus!=true': GENERATED + 9 + 3,
        'ContactStatus=="/Date(0)/"': 0,
    }
    for where, n in wheres.items():
        assert len(big["call"](params={"where": where})["Contacts"]) == n, where
        body = big["call"](params={"where": where, "page": 2, "pageSize": 5})
        assert body["pagination"]["itemCount"] == n, where


@pytest.mark.parametrize("params", [
    {"where": 'Name.StartsWith("Acorn")'}, {"where": 'Name=="Zoë Studios"'},
    {"where": 'ContactStatus=="ACTIVE" OR ContactStatus=="ARCHIVED"', "page": 1},
    {"where": 'NOT (ContactStatus=="ACTIVE")'}, {"where": 'IsCustomer==true', "page": 2, "pageSize": 50},
    {"searchTerm": "acorn", "page": 1, "pageSize": 10}, {"order": "Name DESC", "page": 3, "pageSize": 25},
    {"order": "UpdatedDateUTC", "includeArchived": "true"},
])
def test_complex_queries_keep_the_python_path(big, params):
    big["call"](params=params, expect_sql=False)


def test_invoices_listing_matches(sb, monkeypatch, validate):
    token = sb.connect(tenants=[DEMO_TENANT_ID])["access_token"]

    def put(*invoices):
        r = sb.api("PUT", "Invoices", token, tenant_id=DEMO_TENANT_ID, json={"Invoices": list(invoices)})
        return validate(r, 200)["Invoices"]

    def inv(**extra):
        return {"Type": "ACCREC", "Contact": {"ContactID": ABBOTT}, "Date": "2026-11-01", "DueDate": "2026-11-30",
                "LineItems": [{"Description": "Bookkeeping", "Quantity": 1, "UnitAmount": 250,
                               "AccountCode": "200"}], **extra}

    # one batch shares created_ms: order then falls to the number, and to the index order for equal numbers
    first = put(*[inv(Reference=f"R{i}") for i in range(5)],
                *[inv(Type="ACCPAY", LineItems=[{"Description": "Software", "Quantity": 1, "UnitAmount": 20,
                                                 "AccountCode": "429"}]) for _ in range(3)])
    since = _iso(sb.state()["now_ms"])
    second = put(inv(Status="AUTHORISED"), inv(InvoiceNumber="A-001"), inv(Contact={"Name": "Brand New Client"}))
    put({**inv(), "InvoiceID": first[1]["InvoiceID"], "Status": "AUTHORISED"})  # updated later, created earlier

    def call(**kw):
        return _both(monkeypatch, sb, validate, token, DEMO_TENANT_ID, invoices_mod, "Invoices", **kw)

    everything = call()["Invoices"]
    assert len(everything) == 11 and "LineItems" not in everything[0]
    new_contact = second[2]["Contact"]["ContactID"]
    for params in ({"page": 1}, {"page": 1, "pageSize": 4}, {"page": 3, "pageSize": 4}, {"page": 9},
                   {"Statuses": "authorised,DRAFT"}, {"ContactIDs": new_contact.upper(), "page": 1},
                   {"IDs": ",".join(i["InvoiceID"] for i in first[:4])}, {"InvoiceNumbers": "INV-0002,A-001"},
                   {"createdByMyApp": "true", "page": 1, "pageSize": 3}, {"summaryOnly": "true", "page": 1},
                   {"where": 'Status=="DRAFT"', "page": 1, "pageSize": 2},
                   {"where": f'Contact.ContactID==Guid("{ABBOTT.upper()}")'},
                   {"where": f'InvoiceID!="{first[0]["InvoiceID"]}" AND Status!="DELETED"'}):
        call(params=params)
    changed = call(params={"page": 1}, headers={"If-Modified-Since": since})
    assert changed["pagination"]["itemCount"] == 4
    assert call(headers={"If-Modified-Since": since, "X-Unused": "1"}, params={"Statuses": "AUTHORISED"})
    for params in ({"where": 'Type=="ACCPAY"'}, {"searchTerm": "INV-000", "page": 1}, {"order": "Total DESC"}):
        call(params=params, expect_sql=False)
