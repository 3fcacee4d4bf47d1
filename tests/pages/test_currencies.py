"""AppTest of the Revenue page on a store holding Albanian lek (code ALL, which the currency filter's "everything"
must not collide with), Icelandic króna (two decimals in Stripe's API, none in CLDR), Kuwaiti dinar (three) and yen
(none): every currency shows, each amount read with Stripe's exponent and shown with CLDR's digits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sync.store import Store
from tests.conftest import metrics, run_app
from tests.pages.conftest import JUNE, pick_currency
from tests.store.conftest import ts


def _charge(id: str, created: str, amount: int, currency: str, bt: str | None = None) -> dict[str, Any]:
    """A succeeded, captured Stripe card charge (the fields the normaliser reads)."""
    return {
        "id": id, "object": "charge", "created": ts(created), "livemode": False, "amount": amount,
        "amount_captured": amount, "amount_refunded": 0, "currency": currency, "status": "succeeded",
        "captured": True, "refunded": False, "disputed": False, "failure_code": None,
        "outcome": {"type": "authorized", "reason": None, "network_status": "approved_by_network"},
        "balance_transaction": bt, "customer": None, "invoice": None, "payment_intent": None,
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "country": "US", "last4": "4242"}},
    }


def _bt(id: str, created: str, amount: int, fee: int, currency: str, source: str) -> dict[str, Any]:
    return {"id": id, "object": "balance_transaction", "created": ts(created), "amount": amount, "fee": fee,
            "net": amount - fee, "currency": currency, "type": "charge", "reporting_category": "charge",
            "status": "available", "source": source, "available_on": ts(created)}


def _objects() -> list[dict[str, Any]]:
    return [
        # Lek: Stripe two-decimal, CLDR none. 123400 = 1,234 lek.
        _charge("ch_l1", "2026-06-02T10:00", 123400, "all"),
        # Króna: 123400 + 5000 = 128400 = 1,284 kr; fee 3700 -> net 123400 - 3700 = 119700 = 1,197 kr.
        _charge("ch_i1", "2026-06-03T10:00", 123400, "isk", bt="txn_i1"),
        _bt("txn_i1", "2026-06-03T10:00", 123400, 3700, "isk", "ch_i1"),
        _charge("ch_i2", "2026-06-04T10:00", 5000, "isk"),
        # Dinar: three decimals, 12340 fils = 12.340 KWD.
        _charge("ch_k1", "2026-06-05T10:00", 12340, "kwd"),
        # Yen: no decimals, 1200 = ¥1,200.
        _charge("ch_j1", "2026-06-06T10:00", 1200, "jpy"),
    ]


@pytest.fixture
def four_currency_page(app_env: Callable[[Path], None], tmp_path: Path) -> Callable[..., Any]:
    path = tmp_path / "currencies.duckdb"
    store = Store(f"duckdb:///{path}")
    store.apply_objects("stripe", _objects(), ts("2026-06-14T23:00"))
    store.close()
    app_env(path)

    def open_(query: dict[str, str] = JUNE) -> Any:
        at = run_app("revenue", query=query)
        assert not at.exception
        return at

    return open_


def test_default_filter_shows_every_currency_including_the_lek(four_currency_page: Callable[..., Any]) -> None:
    at = four_currency_page()
    m = metrics(at)
    assert m["Gross volume (ALL)"] == "ALL 1,234"
    assert m["Gross volume (ISK)"] == "ISK 1,284"
    assert m["Net (ISK)"] == "ISK 1,197"
    assert m["Gross volume (KWD)"] == "KWD 12.340"
    assert m["Gross volume (JPY)"] == "¥1,200"
    table = at.dataframe[0].value
    assert set(table["Currency"]) == {"ALL", "ISK", "KWD", "JPY"}
    assert set(table["Gross volume"]) == {"ALL 1,234", "ISK 1,234", "ISK 50", "KWD 12.340", "¥1,200"}
    box = at.sidebar.selectbox(key="filter_currency")
    assert box.value is None  # "everything" is no currency code
    assert box.options[0] == "All currencies"
    assert "currency" not in at.query_params


def test_the_lek_can_be_picked_and_linked(four_currency_page: Callable[..., Any]) -> None:
    at = pick_currency(four_currency_page(), "ALL")
    assert set(at.dataframe[0].value["Currency"]) == {"ALL"}
    assert at.query_params["currency"] == "ALL"
    # A link's ?currency=ALL is the lek, never "all currencies".
    linked = four_currency_page({**JUNE, "currency": "ALL"})
    assert set(linked.dataframe[0].value["Currency"]) == {"ALL"}
    assert "Gross volume (ISK)" not in metrics(linked)
    # Back to everything.
    at.sidebar.selectbox(key="filter_currency").set_value(None).run()
    assert set(at.dataframe[0].value["Currency"]) == {"ALL", "ISK", "KWD", "JPY"}


def test_a_links_unknown_or_malformed_currency_falls_back_to_all(four_currency_page: Callable[..., Any]) -> None:
    for value in ("XYZ", "All currencies", "'; DROP TABLE payments; --"):
        at = four_currency_page({**JUNE, "currency": value})
        assert set(at.dataframe[0].value["Currency"]) == {"ALL", "ISK", "KWD", "JPY"}
