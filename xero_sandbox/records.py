"""What the Contacts and Invoices endpoints share: finding a record by id or number, the record an element
updates, GET by id, and the batch write (per-element results, or all-or-nothing with summarizeErrors)."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, g

from .accounting import ok
from .bodies import get_uuid, is_uuid, read_elements
from .params import summarize_errors
from .sandbox import get_sandbox
from .xerojson import NOT_FOUND_TEXT, XeroError, envelope, json_response, not_found, validation_exception

# What a created element reports as its id when its batch was rolled back.
NO_ID = "00000000-0000-0000-0000-000000000000"

# save(db, element, json path, now_ms) -> (document or echo, validation errors, "CREATE"/"UPDATE" or None)
SaveElement = Callable[[Any, dict, str, int], tuple[dict, list[str], str | None]]


class _Rollback(Exception):
    pass


@dataclass(frozen=True)
class RecordKind:
    """One kind of stored document: `name` as Xero spells it ("Contact"), its table and id/number columns."""

    name: str
    table: str
    id_column: str
    number_column: str

    @property
    def collection(self) -> str:
        return f"{self.name}s"

    @property
    def id_key(self) -> str:
        return f"{self.name}ID"

    def find(self, db, tenant_id: str, ident: str):
        """The row whose id (a UUID, any case) or number (anything else) is `ident`, or None."""
        if is_uuid(ident):
            return db.execute(f"SELECT * FROM {self.table} WHERE tenant_id=? AND {self.id_column}=?",
                              (tenant_id, str(uuid.UUID(ident)))).fetchone()
        return db.execute(f"SELECT * FROM {self.table} WHERE tenant_id=? AND {self.number_column}=?",
                          (tenant_id, ident)).fetchone()

    def existing(self, db, tenant_id: str, el: dict, path: str, url_ident: str | None, errors: list[str]):
        """The row an element updates: the URL's (404 when there is none), else the one its own id names (a
        validation error when there is none), else None for a new record."""
        given_id = get_uuid(el, self.id_key, path)
        if url_ident is not None:
            row = self.find(db, tenant_id, url_ident)
            if row is None:
                raise XeroError(404, NOT_FOUND_TEXT)
            return row
        if given_id:
            row = self.find(db, tenant_id, given_id)
            if row is None:
                errors.append(f"{self.name} with {self.id_key} {given_id} could not be found")
            return row
        return None

    def get_response(self, ident: str) -> Response:
        """GET /{collection}/{ident}: the one document, or Xero's 404."""
        sandbox = get_sandbox()
        with sandbox.store.lock:
            row = self.find(sandbox.store.conn, g.tenant_id, ident)
        if row is None:
            return not_found()
        return ok(self.collection, [json.loads(row["doc"])])

    def write_response(self, save: SaveElement) -> Response:
        """POST/PUT a batch. `save(db, el, path, now_ms)` validates and writes one element and returns
        (doc, errors, event). With summarizeErrors (the default) one invalid element rolls the whole batch
        back into a 400 ValidationException; otherwise each element reports its StatusAttributeString."""
        sandbox = get_sandbox()
        elements = read_elements(self.collection, self.name)
        summarize = summarize_errors()
        now = sandbox.now_ms()
        results: list[tuple[dict, list[str], str | None]] = []
        any_error = False
        try:
            with sandbox.store.tx() as db:
                for path, el in elements:
                    doc, errors, event = save(db, el, path, now)
                    any_error = any_error or bool(errors)
                    results.append((doc, errors, event))
                if any_error and summarize:
                    raise _Rollback()
        except _Rollback:
            raise XeroError(400, validation_exception(
                # the batch was rolled back: elements that would have been created report no id
                [doc if errors else {**doc, **({self.id_key: NO_ID} if event == "CREATE" else {}),
                                     "ValidationErrors": []}
                 for doc, errors, event in results])) from None
        out: list[dict] = []
        for doc, errors, _ in results:
            out.append(doc if summarize else {**doc, "StatusAttributeString": "ERROR" if errors else "OK"})
        return json_response(envelope(now, self.collection, out))


CONTACTS = RecordKind("Contact", "contacts", "contact_id", "contact_number")
INVOICES = RecordKind("Invoice", "invoices", "invoice_id", "invoice_number")
