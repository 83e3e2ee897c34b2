"""Fixtures for the Xero sandbox's own tests: a live sandbox over HTTP, a fake clock, and a validator that
checks every response body against Xero's OpenAPI specs (loaded once per session)."""
from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jsonschema
import pytest
from werkzeug.datastructures import Headers, ImmutableMultiDict

from xero_sandbox import DEMO_TENANT_ID
from xero_sandbox.testing import run_sandbox

SPEC_DIR = os.environ.get("XERO_OPENAPI_DIR", "/work/shared/xero-openapi")

# Xero's gateway errors (401/403/429/5xx) are not described in the accounting spec; this is their shape.
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["Type", "Title", "Status", "Detail", "Instance", "Extensions"],
    "properties": {"Type": {"type": ["string", "null"]}, "Title": {"type": "string"},
                   "Status": {"type": "integer"}, "Detail": {"type": "string"},
                   "Instance": {"type": "string", "format": "uuid"}, "Extensions": {"type": "object"}},
    "additionalProperties": False,
}
OAUTH_ERROR_SCHEMA = {"type": "object", "required": ["error"],
                      "properties": {"error": {"enum": ["invalid_request", "invalid_client", "invalid_grant",
                                                        "unauthorized_client", "unsupported_grant_type",
                                                        "invalid_scope"]},
                                     "error_description": {"type": "string"}}}
# Xero's Accounting API 400s: ErrorNumber and Type go together (developer.xero.com http-response-codes).
XERO_400_TYPES = {10: "ValidationException", 14: "PostDataInvalidException", 16: "QueryParseException",
                  17: "NoDataProcessedException"}
OFFSETLESS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"


class FakeClock:
    """Injectable clock (epoch seconds) so token expiry and limit windows are tested without waiting."""

    def __init__(self, start: float = 1_795_000_000.0):
        self.t = start
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.t

    def advance(self, seconds: float):
        with self.lock:
            self.t += seconds


@dataclass
class _Req:
    host_url: str
    path: str
    method: str
    parameters: object
    content_type: str = "application/json"
    body: bytes | None = None


@dataclass
class _Resp:
    status_code: int
    content_type: str
    data: bytes
    headers: Headers = field(default_factory=Headers)


@pytest.fixture(scope="session")
def spec_dir():
    return SPEC_DIR


@pytest.fixture(scope="session")
def openapi_specs():
    from openapi_core import Config, OpenAPI
    cfg = Config(spec_validator_cls=None)
    return {
        "accounting": OpenAPI.from_file_path(os.path.join(SPEC_DIR, "xero_accounting.yaml"), config=cfg),
        "identity": OpenAPI.from_file_path(os.path.join(SPEC_DIR, "xero-identity.yaml"), config=cfg),
    }


def spec_error_schema(accounting_spec) -> dict:
    """The accounting spec's Error schema (with Element and ValidationError) as one self-contained schema."""
    schemas = {}
    for name in ("Error", "Element", "ValidationError"):
        with (accounting_spec.spec / "components" / "schemas" / name).open() as contents:
            schemas[name] = dict(contents)
    return {"$ref": "#/components/schemas/Error", "components": {"schemas": schemas}}


def check_xero_400(body: dict, error_schema: dict) -> None:
    """An Accounting API 400 body: the spec's Error schema, with ErrorNumber, Type and Message always present and
    matching; a ValidationException lists Elements, each with a non-empty list of ValidationErrors messages
    (elements of a rolled-back batch that were valid themselves have an empty list)."""
    from openapi_schema_validator import OAS30Validator, validate
    validate(body, error_schema, cls=OAS30Validator, format_checker=OAS30Validator.FORMAT_CHECKER)
    assert {"ErrorNumber", "Type", "Message"} <= set(body), body
    assert XERO_400_TYPES.get(body["ErrorNumber"]) == body["Type"], body
    assert isinstance(body["Message"], str) and body["Message"], body
    if body["Type"] == "ValidationException":
        assert body["Message"] == "A validation exception occurred"
        assert body.get("Elements") and any(e.get("ValidationErrors") for e in body["Elements"]), body
        for element in body["Elements"]:
            assert all(isinstance(m["Message"], str) and m["Message"] for m in element["ValidationErrors"]), body
    else:
        assert "Elements" not in body, body


class Validator:
    def __init__(self, specs):
        self.specs = specs
        self.count = 0
        self.error_schema = spec_error_schema(specs["accounting"])

    def __call__(self, response, expect_status: int | None = None):
        """Validate a requests.Response from the sandbox; returns its parsed JSON (or text for 404)."""
        if expect_status is not None:
            assert response.status_code == expect_status, (response.status_code, response.text[:500])
        self.count += 1
        req = response.request
        parts = urlsplit(req.url)
        path = parts.path
        status = response.status_code
        ctype = response.headers.get("Content-Type", "")
        if path.startswith("/connect/"):
            if status == 200 and path == "/connect/token":
                data = response.json()
                assert set(data) <= {"id_token", "access_token", "expires_in", "token_type", "refresh_token",
                                     "scope"}
                assert data["token_type"] == "Bearer" and isinstance(data["expires_in"], int)
                return data
            if status == 400:
                data = response.json()
                jsonschema.validate(data, OAUTH_ERROR_SCHEMA)
                return data
            if status == 200:
                assert response.content == b""
                return None
        if status == 404 and ctype.startswith("text/plain"):
            assert response.text == NOT_FOUND_TEXT
            return response.text
        if status == 400 and path.startswith("/api.xro/"):
            check_xero_400(response.json(), self.error_schema)
        if status in (401, 403, 409, 429, 500, 502, 503, 504):
            data = response.json()
            jsonschema.validate(data, PROBLEM_SCHEMA, format_checker=jsonschema.FormatChecker())
            assert data["Status"] == status
            return data
        if path.lower().startswith("/connections"):
            spec = self.specs["identity"]
            spec_path = "/Connections" + path[len("/connections"):]
            host = "https://api.xero.com"
        else:
            assert path.startswith("/api.xro/2.0/"), path
            spec = self.specs["accounting"]
            spec_path = path
            host = "https://api.xero.com"
        from openapi_core.datatypes import RequestParameters
        query = ImmutableMultiDict([(k, v) for k, vs in _parse_qs(parts.query).items() for v in vs])
        headers = Headers(dict(req.headers))
        oreq = _Req(host_url=host, path=spec_path, method=req.method.lower(),
                    parameters=RequestParameters(query=query, header=headers))
        data = response.content
        if spec is self.specs["identity"] and status == 200:
            # Xero writes connection dates without an offset (the spec's own example does too:
            # "2019-12-07T18:46:19.5165400") while declaring format date-time; the sandbox copies Xero, so
            # check the offset-less UTC form here and validate the rest against the spec.
            items = json.loads(data)
            for item in items:
                for k in ("createdDateUtc", "updatedDateUtc"):
                    assert OFFSETLESS.match(item[k]), item[k]
                    item[k] += "Z"
            data = json.dumps(items).encode()
        oresp = _Resp(status_code=status, content_type=ctype.split(";")[0] or "application/json",
                      data=data, headers=Headers(dict(response.headers)))
        from openapi_core.templating.responses.exceptions import ResponseNotFound
        try:
            spec.validate_response(oreq, oresp)
        except ResponseNotFound:
            # GET operations declare no 400, yet Xero answers a bad `where` with its Error body: check it
            # against the spec's Error schema through an operation that declares it (PUT /Contacts).
            assert status == 400 and spec is self.specs["accounting"], (status, path)
            oreq.path, oreq.method = "/api.xro/2.0/Contacts", "put"
            spec.validate_response(oreq, oresp)
        return response.json() if response.content else None


def _parse_qs(q):
    from urllib.parse import parse_qs
    return parse_qs(q, keep_blank_values=True)


@pytest.fixture(scope="session")
def validate(openapi_specs):
    return Validator(openapi_specs)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(scope="module")
def shared_sandbox():
    """One relaxed-limits sandbox per module (reset by `sb`); keeps the suite fast."""
    with run_sandbox({"SANDBOX_LIMITS": "relaxed"}) as sb:
        yield sb
        assert sb.sandbox.unexpected_errors == 0, "the sandbox answered a request with an unplanned 500"


@pytest.fixture
def sb(shared_sandbox):
    shared_sandbox.reset()
    return shared_sandbox


@pytest.fixture
def token(sb):
    """Access token for a fresh connection to the demo organisation (granular scopes)."""
    return sb.connect()["access_token"]


@pytest.fixture
def api(sb, token, validate):
    """api(method, path, expect=200, **requests kwargs) -> validated JSON body."""
    def call(method, path, expect=200, tenant_id=DEMO_TENANT_ID, raw=False, **kw):
        r = sb.api(method, path, token, tenant_id=tenant_id, **kw)
        body = validate(r, expect)
        return (r, body) if raw else body
    return call


def dumps(obj) -> str:
    return json.dumps(obj)
