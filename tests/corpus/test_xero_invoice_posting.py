"""Bad answers to PUT /Invoices (summarizeErrors=false) through webapp.sync.invoice_posting.post_outstanding, the
whole posting run with the real client and Xero mocked, then a second run whose lookups get bad answers too.

Each example is a new practice ready to post with two invoices; Xero answers the PUT with each element created (as
the spec's Invoice), mutated (no or a bad InvoiceID, odd numbers and amounts, wrong types), refused (per-element
ValidationErrors, some of odd shape), missing or garbage; or with a broken body; or with a 400 ValidationException
of any shape. Properties: the run never raises; an invoice is posted only with an InvoiceID that Xero gave; one that
may have been created stays POSTING (outcome unknown) and is never sent again until a lookup has read that Xero
does not have it; FAILED only when Xero refused it; left RAISED only by a 400."""
import json
import uuid

import responses
from hypothesis import given
from hypothesis import strategies as st

from tests.corpus.xero_bodies import BROKEN_BODIES, ODD_TEXT, RolledBack, json_reply, mutated, page
from tests.factories import batched, make_connection
from tests.hypothesis_corpus import examples
from tests.xero.posting_helpers import invoice_state, linked_client, make_invoice, ready_practice
from webapp.sync.invoice_posting import post_outstanding
from webapp.xero import XeroClient

ZERO_ID = "00000000-0000-0000-0000-000000000000"
MESSAGES = ["Account code '999' is not a valid code.", *ODD_TEXT]
refusals = st.one_of(
    st.lists(st.fixed_dictionaries({"Message": st.sampled_from(MESSAGES)}), min_size=1, max_size=3),
    st.lists(st.one_of(st.none(), st.integers(), st.fixed_dictionaries({"Message": st.integers()})), max_size=2))


def created(element: dict, n: int) -> dict:
    """What Xero answers for an invoice it created (the spec's Invoice)."""
    return {**element, "InvoiceID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{element['Reference']}/{n}")),
            "InvoiceNumber": f"INV-{n:04d}", "SubTotal": 250.0, "TotalTax": 50.0, "Total": 300.0, "AmountDue": 300.0,
            "AmountPaid": 0.0, "UpdatedDateUTC": "/Date(1795000000000+0000)/", "StatusAttributeString": "OK",
            "HasErrors": False, "CurrencyCode": "GBP", "Type": "ACCREC"}


class Xero:
    """PUT and GET /Invoices answered with what the example draws; keeps what it answered."""

    def __init__(self, mocked, settings, data):
        self.data = data
        self.replies: list = []
        self.put_references: list[list[str]] = []
        self.get_reply = None
        mocked.add_callback("PUT", f"{settings.accounting_url}/Invoices", callback=self.put)
        mocked.add_callback("GET", f"{settings.accounting_url}/Invoices", callback=self.get)

    def put(self, request):
        sent = json.loads(request.body)["Invoices"]
        self.put_references.append([element["Reference"] for element in sent])
        draw = self.data.draw
        mode = draw(st.sampled_from(["elements", "elements", "elements", "body", "400"]), label="mode")
        if mode == "body":
            reply = draw(st.sampled_from(BROKEN_BODIES), label="body")
        elif mode == "400":
            elements = [draw(mutated({"Reference": e["Reference"], "ValidationErrors": draw(refusals)}))
                        for e in sent] if draw(st.booleans()) else draw(st.one_of(st.none(), st.text(max_size=5)))
            reply = json_reply({"ErrorNumber": 10, "Type": "ValidationException", "Elements": elements,
                                "Message": draw(st.one_of(st.sampled_from(ODD_TEXT), st.integers()))})
            reply = type(reply)(reply.body, status=400)
        else:
            answers = []
            for n, element in enumerate(sent):
                kind = draw(st.sampled_from(["created", "mutated", "refused", "missing", "garbage"]))
                if kind == "created":
                    answers.append(created(element, n))
                elif kind == "mutated":
                    answers.append(draw(mutated(created(element, n), keep=("Reference",) * draw(st.booleans()))))
                elif kind == "refused":
                    answers.append({**element, "HasErrors": True, "StatusAttributeString": "ERROR",
                                    "ValidationErrors": draw(refusals)})
                elif kind == "garbage":
                    answers.append(draw(st.one_of(st.none(), st.integers(), st.text(max_size=5))))
            reply = draw(page("Invoices", draw(st.permutations(answers))))
        self.replies.append(reply)
        return reply.as_callback_result()

    def get(self, request):
        return self.get_reply.as_callback_result()


def _practice():
    with batched():
        connection = make_connection(tenant_id=str(uuid.uuid4()))
        practice_id = connection.practice_id
        ready_practice(practice_id, tenant_id=connection.tenant_id)
        invoices = [make_invoice(practice_id, linked_client(practice_id, f"C00{n}")[0], f"SKT-00000{n}").id
                    for n in (1, 2)]
    return connection, invoices


def _check(invoices, xero: Xero) -> dict[int, str]:
    answered = " ".join(reply.body for reply in xero.replies).lower()
    states = {}
    for invoice_id in invoices:
        status, posting = invoice_state(invoice_id)
        states[invoice_id] = status
        if status == "posted":
            assert posting.xero_invoice_id and posting.xero_invoice_id != ZERO_ID
            assert str(uuid.UUID(posting.xero_invoice_id)) == posting.xero_invoice_id
            assert posting.xero_invoice_id in answered, "posted with an InvoiceID Xero never gave"
        else:
            assert posting.xero_invoice_id is None
        if status == "posting":
            assert posting.outcome_unknown and posting.last_error
        elif status == "failed":
            assert posting.last_error.startswith("Xero refused") and not posting.outcome_unknown
        elif status == "raised":
            assert any(reply.status == 400 for reply in xero.replies)
        else:
            assert status == "posted"
    return states


@examples(20)
@given(data=st.data())
def test_a_bad_posting_answer_never_posts_without_an_invoice_id_nor_forgets_a_maybe_created_one(
        app, app_ctx, settings, fake_time, data):
    connection, invoices = _practice()

    def factory(connection, xero_settings):
        return XeroClient.for_connection(connection, xero_settings, sleep=fake_time.sleep, clock=fake_time.clock)

    with RolledBack(), responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        xero = Xero(mocked, settings, data)
        result = post_outstanding(connection.practice_id, app.config, client_factory=factory)
        first = _check(invoices, xero)
        assert len(result.posted) == list(first.values()).count("posted")
        assert all(len(w) < 2000 for w in result.warnings)

        # The next run looks up the invoices whose outcome is unknown; its lookup may be answered badly too.
        xero.get_reply = data.draw(st.one_of(st.just(json_reply({"Invoices": []})), st.sampled_from(BROKEN_BODIES)),
                                   label="lookup")
        maybe_created = {invoice_state(i)[1].sent_reference for i, status in first.items() if status == "posting"}
        puts_before = len(xero.put_references)
        post_outstanding(connection.practice_id, app.config, client_factory=factory)
        sent_again = {reference for references in xero.put_references[puts_before:] for reference in references}
        if xero.get_reply.body != json.dumps({"Invoices": []}):  # the lookup could not be read
            assert not (maybe_created & sent_again), "sent again without Xero saying it does not have it"
        second = _check(invoices, xero)
        assert all(second[i] == "posted" for i, status in first.items() if status == "posted")
