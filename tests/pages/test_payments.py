"""AppTest of the Payments page through the real navigation (dashboard/app.py)."""

from __future__ import annotations

from tests.conftest import run_app, texts
from tests.pages.conftest import open_page, shown, shown_metrics


def test_renders_on_empty_and_demo_store(empty_or_demo) -> None:
    at = open_page("payments", "Payments")
    if empty_or_demo == "empty_db":
        assert "No payments match this search" in texts(at) and "Load demo data" in texts(at)  # no key: demo mode
    else:
        assert int(shown_metrics(at)["Payments found"].replace(",", "").rstrip("+")) > 0


def test_search_and_filter_change_the_result(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("payments")
    # Default 90 days: ch_usd1, ch_usd2, ch_usd3, ch_jpy1, ch_kwd1, ch_usd4 and bt_txn1 = 7 (ch_old is older).
    assert shown_metrics(at)["Payments found"] == "7"
    at.sidebar.selectbox(key="filter_currency").set_value("USD").run()
    assert shown_metrics(at)["Payments found"] == "5"  # the JPY and KWD payments drop out
    at.text_input(key="payment_search").set_value("4242").run()
    assert shown_metrics(at)["Payments found"] == "3"  # USD 4242: ch_usd1, ch_usd3, bt_txn1
    shown = at.dataframe[0].value
    assert list(shown["id"]) == ["bt_txn1", "ch_usd3", "ch_usd1"]
    assert list(shown["amount"]) == ["$30.00", "$20.00", "$50.00"]


def test_amount_search_in_major_units(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("payments")
    at.sidebar.selectbox(key="filter_currency").set_value("KWD").run()
    at.text_input(key="payment_amount").set_value("1.234").run()
    assert list(at.dataframe[0].value["id"]) == ["ch_kwd1"]
    assert "searching 1.234 KWD" in texts(at)
    at.text_input(key="payment_amount").set_value("1,234").run()  # 1.234 or 1,234.000 KWD: refused, says how
    assert not at.exception
    assert any("type 1234 or 1.234" in e.value for e in at.error)
    assert not at.dataframe  # an amount that cannot be read searches nothing
    at.text_input(key="payment_amount").set_value("1.2345").run()  # a fourth decimal KWD does not have
    assert any("KWD has 3 decimals" in e.value for e in at.error)


def test_amount_search_reads_a_decimal_comma_and_searches_every_currency(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("payments")
    # No currency chosen: "50,00" is $50.00 (ch_usd1) or KWD 50.000 (none); JPY has no decimals, so not searched.
    at.text_input(key="payment_amount").set_value("50,00").run()
    assert list(at.dataframe[0].value["id"]) == ["ch_usd1"]
    assert "searching 50.000 KWD or 50.00 USD" in texts(at)
    assert "all currencies" in texts(at) and "not JPY" in texts(at)


def test_search_lists_the_customers_it_names(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("payments")
    at.text_input(key="payment_search").set_value("alice").run()
    # alice's payments (ch_usd1, ch_usd3 in range), then her customer; the seed holds no subscriptions.
    assert [sorted(d.value["id"]) for d in at.dataframe] == [["ch_usd1", "ch_usd3"], ["cus_a"]]
    assert "#### Customers" in texts(at) and "#### Subscriptions" not in texts(at)


def test_deep_link_opens_the_detail(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("payments", query={"payment": "ch_usd1"})
    assert not at.exception
    assert [shown(s.value) for s in at.subheader] == ["Payment ch_usd1"]
    m = shown_metrics(at)
    assert (m["Amount"], m["Refunded"], m["Card (visa)"]) == ("$50.00", "$15.00", "•••• 4242")
    frames = [d.value for d in at.dataframe]
    refunds = next(f for f in frames if "failure_reason" in f.columns)
    assert list(refunds["amount"]) == ["$15.00"]
    timeline = next(f for f in frames if "event_id" in f.columns)
    assert list(timeline["event_id"]) == ["evt_8", "evt_1", "evt_2", "evt_7", "evt_3"]


def test_unknown_deep_link_says_what_to_do(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("payments", query={"payment": "ch_missing"})
    assert not at.exception
    assert any("No payment 'ch_missing'" in shown(w.value) for w in at.warning)
