"""IAM's evaluation of identity policies, for one role and one request: an explicit Deny wins, then any Allow,
else the request is implicitly denied.

A statement applies when its Action (or NotAction) matches the action, its Resource (or NotResource) matches the
resource and every condition holds. Actions match case-insensitively, resources case-sensitively, both with the
`*` and `?` wildcards. Conditions: the String*, Arn*, Bool and Null operators (and their ...IfExists forms),
against the keys the request carries. A condition this module cannot
evaluate is an error, so no statement is silently taken as applying, or not.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from local.iam.actions import Request


class UnsupportedPolicy(Exception):
    """A policy element this evaluator cannot judge (an operator or a shape it does not know)."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # The Sid (or position) of the statement that decided: the Deny, or the first Allow; empty for an implicit deny.
    statement: str = ""

    @property
    def explicit_deny(self) -> bool:
        return not self.allowed and bool(self.statement)


@cache
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    # fnmatch's translation, minus character classes: IAM knows only * and ?
    escaped = text.replace("[", "[[]")
    return re.compile(fnmatch.translate(escaped), re.IGNORECASE if ignore_case else 0)


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _pattern(pattern, ignore_case).match(value) is not None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [str(item) for item in value]
    raise UnsupportedPolicy(f"Expected a string or a list, got {value!r}.")


def _element(statement: Mapping[str, Any], positive: str, negative: str, value: str, ignore_case: bool) -> bool:
    if positive in statement and negative in statement:
        raise UnsupportedPolicy(f"A statement has both {positive} and {negative}.")
    if positive in statement:
        return any(wildcard_match(p, value, ignore_case) for p in _as_list(statement[positive]))
    if negative in statement:
        return not any(wildcard_match(p, value, ignore_case) for p in _as_list(statement[negative]))
    raise UnsupportedPolicy(f"A statement has neither {positive} nor {negative}: {dict(statement)!r}.")


def _compare(base: str, wanted: str, actual: str) -> bool:
    if base in ("StringEquals", "ArnEquals"):
        return wanted == actual
    if base == "StringEqualsIgnoreCase":
        return wanted.lower() == actual.lower()
    if base in ("StringLike", "ArnLike"):
        return wildcard_match(wanted, actual)
    if base == "Bool":
        return wanted.lower() == actual.lower()
    raise UnsupportedPolicy(f"Condition operator {base} is not supported by the check.")


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition(operator: str, key: str, wanted: list[str], context: Mapping[str, str]) -> bool:
    if ":" in operator:  # ForAnyValue:/ForAllValues: compare sets of values: no request here carries one
        raise UnsupportedPolicy(f"Condition operator {operator} is not supported by the check.")
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    actual = context.get(key) if key in context else context.get(key.lower())
    if base == "Null":
        return (actual is None) == (wanted[0].lower() == "true")
    if actual is None:
        return if_exists
    negated = base in _NEGATED
    matches = any(_compare(_NEGATED.get(base, base), w, actual) for w in wanted)
    return not matches if negated else matches


def _conditions_hold(conditions: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, block in conditions.items():
        if not isinstance(block, Mapping):
            raise UnsupportedPolicy(f"Condition {operator} must map keys to values, got {block!r}.")
        for key, wanted in block.items():
            if not _condition(str(operator), str(key), _as_list(wanted), context):
                return False
    return True


def applies(statement: Mapping[str, Any], request: Request, context: Mapping[str, str]) -> bool:
    return (
        _element(statement, "Action", "NotAction", request.action, ignore_case=True)
        and _element(statement, "Resource", "NotResource", request.resource, ignore_case=False)
        and _conditions_hold(statement.get("Condition") or {}, context)
    )


def statements(documents: Iterable[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, statement) of every statement of these policy documents, labelled by Sid or position."""
    found = []
    for number, document in enumerate(documents):
        raw = document.get("Statement") or []
        for index, statement in enumerate([raw] if isinstance(raw, Mapping) else raw):
            found.append((str(statement.get("Sid") or f"policy {number} statement {index}"), statement))
    return found


def decide(labelled: Sequence[tuple[str, Mapping[str, Any]]], request: Request, region: str, account: str) -> Decision:
    """IAM's decision for `request` under these statements (identity policies of one role, no boundary)."""
    context = {"aws:RequestedRegion": region, "aws:PrincipalAccount": account, **request.context}
    allowed_by = ""
    for label, statement in labelled:
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicy(f"Statement {label} has Effect {effect!r}.")
        if not applies(statement, request, context):
            continue
        if effect == "Deny":
            return Decision(False, label)
        allowed_by = allowed_by or label
    return Decision(bool(allowed_by), allowed_by)
