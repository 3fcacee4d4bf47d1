"""Stripe object (dict, any API version) -> typed store rows; no I/O, no card numbers (typed anywhere) or CVCs.

One spec per object kind (`KINDS`): each table column names an extractor that reads it for a whole batch of
objects at once (a list comprehension per column, no dict per row). `normalise_columns` applies the specs to a
batch (the store's bulk path); `normalise` is the same specs applied to a batch of one, turned into rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from sync.json_docs import JsonDocs
from sync.redact import scrub

Row = dict[str, Any]
Obj = dict[str, Any]
Columns = dict[str, list[Any] | JsonDocs]
Extractor = Callable[["Batch"], list[Any] | JsonDocs]

# Keys a card container could carry that PayOps must never keep, even if a source ever sent them.
_PAN_KEYS = ("number", "cvc", "cvv", "cvc2", "cvv2")
_EMPTY: dict[str, Any] = {}  # stands in for an absent sub-object; never mutated


class Batch:
    """Objects of one kind normalised together, with each one's parent id (for embedded children) and
    sub-object lists shared by the columns that read them."""

    __slots__ = ("objs", "parents", "docs", "_cache")

    def __init__(self, objs: Sequence[Obj], parents: Sequence[str] | None = None) -> None:
        self.objs = objs
        self.parents = parents if parents is not None else [""] * len(objs)
        self.docs: JsonDocs | None = None  # the objects' JSON, once scrubbed (the raw column)
        self._cache: dict[Any, list[Any]] = {}

    def sub(self, *path: str) -> list[Obj]:
        """The dict at `path` in every object; {} where it is absent or not a dict."""
        got = self._cache.get(path)
        if got is None:
            outer = self.sub(*path[:-1]) if len(path) > 1 else self.objs
            key = path[-1]
            got = self._cache[path] = [v if v.__class__ is dict else _EMPTY for v in [o.get(key) for o in outer]]
        return got

    def each(self, fn: Callable[[Obj], Any]) -> list[Any]:
        """`fn` of every object, computed once per batch (for the few irregular, per-object derivations)."""
        got = self._cache.get(fn)
        if got is None:
            got = self._cache[fn] = [fn(o) for o in self.objs]
        return got


# -- extractors: each returns one column for the whole batch -------------------------------------------------


def get(key: str, *of: str) -> Extractor:
    """`obj[of...][key]`, None where any step is missing."""
    if of:
        return lambda b: [o.get(key) for o in b.sub(*of)]
    return lambda b: [o.get(key) for o in b.objs]


def ident(key: str, *of: str) -> Extractor:
    """An expandable field: either an id string or the expanded object."""
    read = get(key, *of)
    return lambda b: [v.get("id") if v.__class__ is dict else v for v in read(b)]


def currency(key: str, *of: str) -> Extractor:
    read = get(key, *of)
    return lambda b: [v.upper() if v.__class__ is str and v else None for v in read(b)]


def decimal_text(key: str, *of: str) -> Extractor:
    read = get(key, *of)
    return lambda b: [None if v is None else str(v) for v in read(b)]


def field(fn: Callable[[Obj], tuple[Any, ...]], index: int) -> Extractor:
    """Item `index` of a per-object derivation shared by several columns."""
    return lambda b: [t[index] for t in b.each(fn)]


def _raw(b: Batch) -> JsonDocs:
    """The provider's JSON (UTF-8 bytes, one buffer per batch: the store hands it to Arrow without a copy)."""
    return b.docs if b.docs is not None else JsonDocs.dump(b.objs)


@dataclass(frozen=True)
class Kind:
    """How one provider object kind becomes rows: its table's columns, and the embedded objects it carries."""

    table: str | None
    columns: tuple[tuple[str, Extractor], ...] = ()
    # (child kind, batch -> (child objects, index of each one's parent in the batch))
    children: tuple[tuple[str, Callable[[Batch], tuple[list[Obj], list[int]]]], ...] = ()
    prepare: Callable[[Batch], None] | None = None  # runs before any column is read (the PAN scrub)


def _kind(table: str | None, *columns: tuple[str, Extractor], children: Any = (), prepare: Any = None) -> Kind:
    base = (("id", get("id")), ("created", get("created")), ("livemode", get("livemode")), ("raw", _raw))
    return Kind(table, (base + columns) if table else (), tuple(children), prepare)


# -- charges -------------------------------------------------------------------------------------------------


def _scrub(containers: Iterable[Obj]) -> None:
    # Found with one comprehension first: almost none carry a PAN key, and a call per object cost ~0.2 us.
    for container in [c for c in containers if "number" in c or "cvc" in c or "cvv" in c or "cvc2" in c
                      or "cvv2" in c]:
        for key in _PAN_KEYS:
            container.pop(key, None)


def _scrub_cards(b: Batch) -> None:
    _scrub(b.sub("payment_method_details", "card"))
    _scrub(b.sub("source"))


def _cards(b: Batch) -> list[Obj]:
    got = b._cache.get("card")
    if got is None:
        got = b._cache["card"] = [
            card if card.__class__ is dict else (
                src if card is None and src.get("object") == "card" else _EMPTY)
            for card, src in zip([p.get("card") for p in b.sub("payment_method_details")], b.sub("source"),
                                 strict=True)]
    return got


def card(key: str) -> Extractor:
    return lambda b: [c.get(key) for c in _cards(b)]


def _amount_captured(b: Batch) -> list[Any]:
    # Older API versions (and localstripe) have no amount_captured: a captured charge captured it all.
    return [o.get("amount_captured") if o.get("amount_captured") is not None
            else (o.get("amount") if o.get("captured") and o.get("status") == "succeeded" else None)
            for o in b.objs]


def _decline_code(b: Batch) -> list[Any]:
    return [(out.get("reason") or o.get("failure_code")) if o.get("status") == "failed" else None
            for o, out in zip(b.objs, b.sub("outcome"), strict=True)]


def _email(b: Batch) -> list[Any]:
    return [bd.get("email") or o.get("receipt_email") for o, bd in zip(b.objs, b.sub("billing_details"), strict=True)]


def _payment_method_type(b: Batch) -> list[Any]:
    return [p.get("type") or ("card" if c else None)
            for p, c in zip(b.sub("payment_method_details"), _cards(b), strict=True)]


def _card_brand(b: Batch) -> list[Any]:
    return [v.lower().replace(" ", "_") if v.__class__ is str else None for v in card("brand")(b)]


def _children(b: Batch, children_of: Callable[[Obj], Iterable[Any]]) -> tuple[list[Obj], list[int]]:
    """Embedded objects with an id, each with the index of the object it came in (its parent)."""
    objs: list[Obj] = []
    parents: list[int] = []
    for i, o in enumerate(b.objs):
        for child in children_of(o):
            if isinstance(child, dict) and child.get("id"):
                objs.append(child)
                parents.append(i)
    return objs, parents


def _expanded(key: str) -> Callable[[Batch], tuple[list[Obj], list[int]]]:
    """An expandable field that came expanded (an object, not its id), as a child of the object it came in."""

    def find(b: Batch) -> tuple[list[Obj], list[int]]:
        values = [o.get(key) for o in b.objs]
        parents = [i for i, v in enumerate(values) if v.__class__ is dict and v.get("id")]
        return [values[i] for i in parents], parents

    return find


def _embedded_list(key: str) -> Callable[[Batch], tuple[list[Obj], list[int]]]:
    """The objects of an embedded list (`obj[key].data`), as children of the object each came in."""

    def find(b: Batch) -> tuple[list[Obj], list[int]]:
        lists = b.sub(key)
        objs: list[Obj] = []
        parents: list[int] = []
        for i in [i for i, v in enumerate(lists) if v.get("data")]:
            for child in lists[i]["data"]:
                if isinstance(child, dict) and child.get("id"):
                    objs.append(child)
                    parents.append(i)
        return objs, parents

    return find


CHARGE = _kind(
    "payments",
    ("amount", get("amount")),
    ("amount_captured", _amount_captured),
    ("amount_refunded", get("amount_refunded")),
    ("currency", currency("currency")),
    ("status", get("status")),
    ("provider_status", get("status")),
    ("captured", get("captured")),
    ("refunded", get("refunded")),
    ("disputed", get("disputed")),
    ("failure_code", get("failure_code")),
    ("failure_message", get("failure_message")),
    ("decline_code", _decline_code),
    ("outcome_type", get("type", "outcome")),
    ("outcome_reason", get("reason", "outcome")),
    ("network_status", get("network_status", "outcome")),
    ("advice_code", get("advice_code", "outcome")),
    ("risk_level", get("risk_level", "outcome")),
    ("customer_id", ident("customer")),
    ("email", _email),
    ("description", get("description")),
    ("payment_intent_id", ident("payment_intent")),
    ("invoice_id", ident("invoice")),
    ("balance_transaction_id", ident("balance_transaction")),
    ("payment_method_type", _payment_method_type),
    ("card_brand", _card_brand),
    ("card_country", card("country")),
    ("card_last4", card("last4")),
    ("card_exp_month", card("exp_month")),
    ("card_exp_year", card("exp_year")),
    ("card_fingerprint", card("fingerprint")),
    children=(("balance_transaction", _expanded("balance_transaction")), ("refund", _embedded_list("refunds"))),
    prepare=_scrub_cards,
)

REFUND = _kind(
    "refunds",
    ("charge_id", ident("charge")),
    ("payment_intent_id", ident("payment_intent")),
    ("amount", get("amount")),
    ("currency", currency("currency")),
    ("status", get("status")),
    ("reason", get("reason")),
    ("failure_reason", get("failure_reason")),
    ("balance_transaction_id", ident("balance_transaction")),
)

DISPUTE = _kind(
    "disputes",
    ("charge_id", ident("charge")),
    ("payment_intent_id", ident("payment_intent")),
    ("amount", get("amount")),
    ("currency", currency("currency")),
    ("status", get("status")),
    ("reason", get("reason")),
    ("evidence_due_by", get("due_by", "evidence_details")),
    ("has_evidence", get("has_evidence", "evidence_details")),
    ("past_due", get("past_due", "evidence_details")),
    ("submission_count", get("submission_count", "evidence_details")),
    ("is_charge_refundable", get("is_charge_refundable")),
    ("network_reason_code", get("network_reason_code", "payment_method_details", "card")),
    ("card_brand", get("brand", "payment_method_details", "card")),
)

CUSTOMER = _kind(
    "customers",
    ("email", get("email")),
    ("name", get("name")),
    ("currency", currency("currency")),
    ("delinquent", get("delinquent")),
    ("balance", lambda b: [o["balance"] if o.get("balance") is not None else o.get("account_balance")
                           for o in b.objs]),
)


# -- subscriptions -------------------------------------------------------------------------------------------


def _coupon_of(sub: Obj) -> Obj:
    """The subscription's coupon: old API `discount.coupon`, new API `discounts[].source.coupon`."""
    for discount in [sub.get("discount"), *(sub.get("discounts") or [])]:
        if not isinstance(discount, dict):
            continue
        coupon = discount.get("coupon") or _dict(discount.get("source")).get("coupon")
        if isinstance(coupon, dict):
            return coupon
        if isinstance(coupon, str):
            return {"id": coupon}
    return _EMPTY


def _items(sub: Obj) -> list[Obj]:
    data = (sub.get("items") or {}).get("data") if isinstance(sub.get("items"), dict) else None
    return [i for i in data or () if isinstance(i, dict) and i.get("id")]


def _subscription_derived(obj: Obj) -> tuple[Any, Any, Any, int]:
    """(period start, period end, currency, item count): each with a fallback for older or newer API versions."""
    items = _items(obj)
    # API 2025-03-31 moved the billing period from the subscription onto its items.
    period_start = obj.get("current_period_start")
    period_end = obj.get("current_period_end")
    if period_start is None and items:
        starts = [i["current_period_start"] for i in items if i.get("current_period_start") is not None]
        ends = [i["current_period_end"] for i in items if i.get("current_period_end") is not None]
        period_start = min(starts) if starts else None
        period_end = max(ends) if ends else None
    value = obj.get("currency")
    if value is None and items:
        # Older API versions have no subscription currency: it is its items' price (or plan) currency.
        first = items[0]
        value = _dict(first.get("price")).get("currency") or _dict(first.get("plan")).get("currency")
    return period_start, period_end, value.upper() if isinstance(value, str) and value else None, len(items)


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else _EMPTY


def coupon(key: str) -> Extractor:
    return lambda b: [c.get(key) for c in b.each(_coupon_of)]


SUBSCRIPTION = _kind(
    "subscriptions",
    ("customer_id", ident("customer")),
    ("status", get("status")),
    ("currency", field(_subscription_derived, 2)),
    ("start_date", get("start_date")),
    ("current_period_start", field(_subscription_derived, 0)),
    ("current_period_end", field(_subscription_derived, 1)),
    ("trial_start", get("trial_start")),
    ("trial_end", get("trial_end")),
    ("cancel_at_period_end", get("cancel_at_period_end")),
    ("cancel_at", get("cancel_at")),
    ("canceled_at", get("canceled_at")),
    ("ended_at", get("ended_at")),
    ("latest_invoice_id", ident("latest_invoice")),
    ("collection_method", get("collection_method")),
    ("coupon_id", coupon("id")),
    ("coupon_percent_off", lambda b: [None if v is None else str(v) for v in coupon("percent_off")(b)]),
    ("coupon_amount_off", coupon("amount_off")),
    ("coupon_currency", lambda b: [v.upper() if isinstance(v, str) and v else None
                                   for v in coupon("currency")(b)]),
    ("coupon_duration", coupon("duration")),
    ("item_count", field(_subscription_derived, 3)),
    children=(("subscription_item", lambda b: _children(b, _items)),),
)


def _item_derived(item: Obj) -> tuple[Any, ...]:
    """(price id, product id, unit amount, currency, interval, interval count, usage type, billing scheme):
    from the item's price (new API) or plan (old API)."""
    price = item.get("price") if isinstance(item.get("price"), dict) else None
    plan = item.get("plan") if isinstance(item.get("plan"), dict) else None
    recurring = _dict((price or _EMPTY).get("recurring"))
    plan = plan or _EMPTY
    source = price or plan
    unit_amount = price.get("unit_amount") if price else None
    if unit_amount is None and plan:
        unit_amount = plan.get("amount")
    product = source.get("product")
    value = source.get("currency")
    return (source.get("id"), product.get("id") if isinstance(product, dict) else product, unit_amount,
            value.upper() if isinstance(value, str) and value else None,
            recurring.get("interval") or plan.get("interval"),
            recurring.get("interval_count") or plan.get("interval_count"),
            recurring.get("usage_type") or plan.get("usage_type"), source.get("billing_scheme"))


SUBSCRIPTION_ITEM = _kind(
    "subscription_items",
    ("subscription_id", lambda b: [o.get("subscription") or p for o, p in zip(b.objs, b.parents, strict=True)]),
    *((name, field(_item_derived, i)) for i, name in enumerate(
        ("price_id", "product_id", "unit_amount", "currency", "interval", "interval_count", "usage_type",
         "billing_scheme"))),
    ("quantity", get("quantity")),
)


# -- invoices, balance transactions, events ------------------------------------------------------------------


def _invoice_derived(obj: Obj) -> tuple[Any, Any, Any]:
    """(subscription, payment intent, last error code), wherever this API version keeps them."""
    subscription = obj.get("subscription") or _dict(
        _dict(obj.get("parent")).get("subscription_details")).get("subscription")
    payment_intent = obj.get("payment_intent")
    if payment_intent is None:
        for payment in _dict(obj.get("payments")).get("data") or ():
            payment_intent = _dict(_dict(payment).get("payment")).get("payment_intent") or payment_intent
    charge = obj.get("charge")
    if isinstance(charge, dict) and charge.get("status") == "failed":
        payment_error = charge.get("failure_code")
    else:  # why the last payment failed, when its PaymentIntent came expanded
        payment_error = _dict(_dict(obj.get("payment_intent")).get("last_payment_error")).get("code")
    error = _dict(obj.get("last_finalization_error")).get("code") or payment_error
    return (subscription.get("id") if isinstance(subscription, dict) else subscription,
            payment_intent.get("id") if isinstance(payment_intent, dict) else payment_intent, error)


INVOICE = _kind(
    "invoices",
    ("customer_id", ident("customer")),
    ("subscription_id", field(_invoice_derived, 0)),
    ("status", get("status")),
    ("billing_reason", get("billing_reason")),
    ("collection_method", get("collection_method")),
    ("currency", currency("currency")),
    ("amount_due", get("amount_due")),
    ("amount_paid", get("amount_paid")),
    ("amount_remaining", get("amount_remaining")),
    ("total", get("total")),
    ("attempt_count", get("attempt_count")),
    ("attempted", get("attempted")),
    ("next_payment_attempt", get("next_payment_attempt")),
    ("period_start", get("period_start")),
    ("period_end", get("period_end")),
    ("due_date", get("due_date")),
    ("paid_at", get("paid_at", "status_transitions")),
    ("charge_id", ident("charge")),
    ("payment_intent_id", field(_invoice_derived, 1)),
    ("last_error_code", field(_invoice_derived, 2)),
)

BALANCE_TRANSACTION = _kind(
    "balance_transactions",
    ("amount", get("amount")),
    ("fee", get("fee")),
    ("net", get("net")),
    ("currency", currency("currency")),
    ("type", get("type")),
    ("reporting_category", get("reporting_category")),
    ("status", get("status")),
    ("source_id", ident("source")),
    ("available_on", get("available_on")),
    ("exchange_rate", decimal_text("exchange_rate")),
)


def _scrub_event_cards(b: Batch) -> None:
    # An event's raw carries its object's snapshot: a charge's card containers are scrubbed there too.
    _scrub(b.sub("data", "object", "payment_method_details", "card"))
    _scrub(b.sub("data", "object", "source"))


EVENT = _kind(
    "events",
    ("type", get("type")),
    ("api_version", get("api_version")),
    ("object_type", get("object", "data", "object")),
    ("object_id", get("id", "data", "object")),
    ("pending_webhooks", get("pending_webhooks")),
    ("request_id", lambda b: [(r.get("id") if r.__class__ is dict else r) if r else None
                              for r in [o.get("request") for o in b.objs]]),
    prepare=_scrub_event_cards,
)


KINDS: dict[str, Kind] = {
    "charge": CHARGE,
    "refund": REFUND,
    "dispute": DISPUTE,
    "customer": CUSTOMER,
    "subscription": SUBSCRIPTION,
    "subscription_item": SUBSCRIPTION_ITEM,
    "invoice": INVOICE,
    "balance_transaction": BALANCE_TRANSACTION,
    "event": EVENT,
    "payment_intent": _kind(None, children=(("charge", _expanded("latest_charge")),)),  # only when expanded
}
NORMALISERS = KINDS  # the object kinds PayOps keeps


# -- applying the specs --------------------------------------------------------------------------------------

TableColumns = dict[str, tuple[Columns, list[int]]]  # table -> (columns, index of each row's source object)


def _scrub_batch(batch: Batch) -> None:
    """Serialize the batch once; only objects the prefilter suspects of a typed card number or a CVC key are walked
    and masked (in place, before any column reads them), and the batch is serialized again if one changed."""
    docs = JsonDocs.dump(batch.objs)
    suspects = docs.suspects()
    if suspects and any([scrub(batch.objs[i]) for i in suspects]):
        del docs  # frees its buffer for the new dump
        batch._cache.clear()
        docs = JsonDocs.dump(batch.objs)
    batch.docs = docs


def _apply(kind: Kind, batch: Batch, sources: list[int], out: TableColumns) -> None:
    if kind.prepare is not None:
        kind.prepare(batch)
    if kind.table is not None:
        _scrub_batch(batch)
        columns = {name: extract(batch) for name, extract in kind.columns}
        if kind.table in out:
            have, have_sources = out[kind.table]
            for name, values in columns.items():
                have[name].extend(values)
            have_sources.extend(sources)
        else:
            out[kind.table] = (columns, list(sources))
    for child_kind, children in kind.children:
        objs, parents = children(batch)
        if objs:
            ids = [o.get("id") for o in batch.objs]
            _apply(KINDS[child_kind], Batch(objs, [ids[p] for p in parents]), [sources[p] for p in parents], out)


def normalise_columns(objs: Sequence[Any]) -> TableColumns:
    """Column lists per table for a batch of objects (raw as JSON bytes), with the index in `objs` each row came
    from (an object's embedded children point at it). Objects PayOps does not keep are skipped."""
    groups: dict[str, tuple[list[Obj], list[int]]] = {}
    for i, obj in enumerate(objs):
        if obj.__class__ is not dict or not obj.get("id"):
            continue
        name = obj.get("object")
        if name.__class__ is not str or name not in KINDS:
            continue
        group = groups.get(name)
        if group is None:
            groups[name] = ([obj], [i])
        else:
            group[0].append(obj)
            group[1].append(i)
    out: TableColumns = {}
    for name, (members, sources) in groups.items():
        _apply(KINDS[name], Batch(members), sources, out)
    return out


def normalise(obj: Obj) -> list[tuple[str, Row]]:
    """Rows for every table an object feeds (its own table first); [] for an object type PayOps does not keep."""
    if not isinstance(obj, dict) or not obj.get("id"):
        return []
    out: list[tuple[str, Row]] = []
    for table, (columns, _sources) in normalise_columns([obj]).items():
        names = list(columns)
        for values in zip(*columns.values(), strict=True):
            row = dict(zip(names, values, strict=True))
            row["raw"] = row["raw"].decode()
            out.append((table, row))
    return out


def raw_json(obj: Obj) -> str:
    return orjson.dumps(obj).decode()


def is_delete_event(event: Obj) -> bool:
    """`customer.deleted` deletes a customer; `customer.subscription.deleted` only cancels a subscription."""
    obj = _dict(_dict(event.get("data")).get("object"))
    return bool(obj.get("deleted")) or event.get("type") == f"{obj.get('object')}.deleted"
