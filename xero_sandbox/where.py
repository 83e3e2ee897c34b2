"""A small interpreter for Xero's `where` filter (a .NET LINQ-like expression).

Supports: == != > >= < <=, AND/OR/NOT (and && || !), parentheses, nested fields (Contact.ContactID),
string methods Contains/StartsWith/EndsWith/ToLower/ToUpper, literals "text", numbers, true/false, null,
Guid("..."), DateTime(y, m, d[, h, mi, s]). String comparisons ignore case, as Xero's do.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from .xerojson import XeroError, query_parse_error

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")'
                    r"|(?P<num>-?\d+(?:\.\d+)?)"
                    r"|(?P<op>==|!=|>=|<=|&&|\|\||[><!().,=])"
                    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*))")
_MSDATE = re.compile(r"^/Date\((-?\d+)")


class WhereError(Exception):
    pass


def _utc_datetime(nums: list[int]) -> dt.datetime:
    """DateTime(year, month, day[, hour, minute, second, microsecond]) as a UTC datetime."""
    if not 3 <= len(nums) <= 7:
        raise WhereError("Invalid DateTime: expected year, month, day[, hour, minute, second, microsecond]")
    year, month, day, hour, minute, second, microsecond = (*nums, 0, 0, 0, 0)[:7]
    try:
        return dt.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=dt.UTC)
    except (TypeError, ValueError) as e:
        raise WhereError(f"Invalid DateTime: {e}") from e


def _tokens(text: str):
    pos, out = 0, []
    text = text.replace("&quot;", '"')
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos or m.lastgroup is None:
            raise WhereError(f"Syntax error at position {pos}")
        pos = m.end()
        kind = m.lastgroup
        val = m.group(kind)
        if kind == "str":
            try:
                val = json.loads(val) if "\\" in val else val[1:-1]
            except ValueError:
                raise WhereError(f"Invalid escape in string at position {m.start()}") from None
        out.append((kind, val))
    return out


class _Parser:
    def __init__(self, text, fields):
        self.toks = _tokens(text)
        self.i = 0
        self.fields = fields

    def peek(self, offset=0):
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def expect(self, val):
        k, v = self.take()
        if v != val:
            raise WhereError(f"Expected '{val}'")

    def parse(self):
        node = self.or_()
        if self.i != len(self.toks):
            raise WhereError(f"Syntax error: unexpected '{self.peek()[1]}'")
        return node

    def or_(self):
        node = self.and_()
        while self.peek()[1] in ("||",) or (self.peek()[0] == "id" and self.peek()[1].upper() == "OR"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self):
        node = self.not_()
        while self.peek()[1] in ("&&",) or (self.peek()[0] == "id" and self.peek()[1].upper() == "AND"):
            self.take()
            node = ("and", node, self.not_())
        return node

    def not_(self):
        k, v = self.peek()
        if v == "!" or (k == "id" and v.upper() == "NOT"):
            self.take()
            return ("not", self.not_())
        return self.cmp()

    def cmp(self):
        left = self.operand()
        k, v = self.peek()
        if v in ("==", "!=", ">", ">=", "<", "<="):
            self.take()
            return ("cmp", v, left, self.operand())
        if v == "=":
            self.take()
            return ("cmp", "==", left, self.operand())
        return ("truthy", left)

    def operand(self):
        k, v = self.take()
        if v == "(":
            node = self.or_()
            self.expect(")")
            return node
        if k == "str":
            return ("lit", v)
        if k == "num":
            return ("lit", float(v))
        if k != "id":
            raise WhereError(f"Syntax error: unexpected '{v}'")
        low = v.lower()
        if low in ("true", "false"):
            return ("lit", low == "true")
        if low == "null":
            return ("lit", None)
        if low == "guid" and self.peek()[1] == "(":
            self.take()
            k2, g = self.take()
            self.expect(")")
            return ("lit", str(g).lower())
        if low == "datetime" and self.peek()[1] == "(":
            self.take()
            nums = []
            while True:
                k2, n = self.take()
                if k2 != "num":
                    raise WhereError("DateTime expects numbers")
                nums.append(int(float(n)))
                k3, sep = self.take()
                if sep == ")":
                    break
                if sep != ",":
                    raise WhereError("Syntax error in DateTime")
            return ("lit", int(_utc_datetime(nums).timestamp() * 1000))
        if self.fields is not None and v not in self.fields:
            raise WhereError(f"No property or field '{v}' exists in type")
        node = ("field", [v])
        while self.peek()[1] == ".":
            self.take()
            k2, name = self.take()
            if k2 != "id":
                raise WhereError("Syntax error after '.'")
            if self.peek()[1] == "(":
                self.take()
                args = []
                while self.peek()[1] != ")":
                    args.append(self.operand())
                    if self.peek()[1] == ",":
                        self.take()
                self.expect(")")
                node = ("call", name, node, args)
            elif node[0] == "field":
                node = ("field", node[1] + [name])
            else:
                raise WhereError("Syntax error")
        return node


def _norm(v):
    if isinstance(v, str):
        m = _MSDATE.match(v)
        if m:
            return int(m.group(1))
        return v.casefold()
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    return v


def _eval(node, rec):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "field":
        cur = rec
        for part in node[1]:
            cur = cur.get(part) if isinstance(cur, dict) else None
        return cur
    if kind == "call":
        _, name, target, args = node
        val = _eval(target, rec)
        argv = [_eval(a, rec) for a in args]
        lname = name.lower()
        if lname in ("tolower", "toupper"):
            return val.lower() if isinstance(val, str) and lname == "tolower" else (
                val.upper() if isinstance(val, str) else val)
        if lname in ("contains", "startswith", "endswith"):
            if not isinstance(val, str) or not argv or not isinstance(argv[0], str):
                return False
            a, b = val.casefold(), argv[0].casefold()
            return b in a if lname == "contains" else (a.startswith(b) if lname == "startswith" else a.endswith(b))
        raise WhereError(f"Unsupported method '{name}'")
    if kind == "and":
        return bool(_eval(node[1], rec)) and bool(_eval(node[2], rec))
    if kind == "or":
        return bool(_eval(node[1], rec)) or bool(_eval(node[2], rec))
    if kind == "not":
        return not bool(_eval(node[1], rec))
    if kind == "truthy":
        return bool(_eval(node[1], rec))
    if kind == "cmp":
        _, op, left, right = node
        a, b = _norm(_eval(left, rec)), _norm(_eval(right, rec))
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if a is None or b is None:
            return False
        try:
            return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
        except TypeError:
            return False
    raise WhereError("Syntax error")


class Predicate:
    """A compiled `where`: call it on a Xero-shaped dict. `mentions` holds the identifiers the text uses and
    `tree` its parse tree (for `sql_filter`)."""

    def __init__(self, tree: tuple, mentions: set[str]):
        self.tree = tree
        self.mentions = mentions

    def __call__(self, rec: dict) -> Any:
        try:
            return _eval(self.tree, rec)
        except WhereError as e:
            raise XeroError(400, query_parse_error(str(e))) from e


def compile_where(text: str | None, fields: set[str] | None = None) -> Predicate | None:
    """A predicate over Xero-shaped dicts, or None when there is no filter. Bad syntax -> 400."""
    if not text or not text.strip():
        return None
    try:
        tree = _Parser(text, fields).parse()
    except WhereError as e:
        raise XeroError(400, query_parse_error(str(e))) from e
    return Predicate(tree, {t[1] for t in _tokens(text) if t[0] == "id"})


def sql_filter(pred: Predicate | None, columns: dict) -> tuple[str, list] | None:
    """The exact SQL equivalent of a compiled `where`, or None when it has no simple one.

    Only an AND of `Field == literal` / `Field != literal` (either way round) on fields in `columns`
    ({("Contact", "ContactID"): "contact_id", ...}) is translated. Those columns must hold the document's
    value unchanged and only ASCII strings that are not `/Date(...)` (ids, enum statuses) or NULL: then
    SQLite's lower() equals the casefold of `_norm`, and `IS`/`IS NOT` give `==`/`!=` on NULL as Python does.
    """
    clauses, params = [], []

    def walk(node):
        if node[0] == "and":
            return walk(node[1]) and walk(node[2])
        if node[0] != "cmp" or node[1] not in ("==", "!="):
            return False
        _, op, left, right = node
        if left[0] == "lit":
            left, right = right, left
        if left[0] != "field" or right[0] != "lit" or tuple(left[1]) not in columns:
            return False
        col, value = columns[tuple(left[1])], _norm(right[1])
        if value is None:
            clauses.append(f"{col} IS {'' if op == '==' else 'NOT '}NULL")
        elif isinstance(value, str):
            clauses.append(f"lower({col}) IS {'' if op == '==' else 'NOT '}?")
            params.append(value)
        else:  # a number, bool or date never equals an id or status string (nor NULL)
            clauses.append("0" if op == "==" else "1")
        return True

    if pred is None:
        return "", []
    if not walk(pred.tree):
        return None
    return "".join(f" AND {c}" for c in clauses), params
