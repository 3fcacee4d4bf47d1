"""Derived tables kept beside the provider tables: per-subscription MRR snapshots (`mrr_snapshots`), derived from
subscription events' JSON once instead of on every MRR query, and refreshed incrementally; and the balance
transactions that belong to a stored payment, refund or dispute (`revenue_bts`), so revenue reads them without
joining millions of ids on every query.

Two implementations of one design: DuckDB's (JSON transforms, list_reduce, lcm, HUGEINT, Arrow-registered key sets)
and PostgreSQL's beside it (jsonb, NUMERIC, two small SQL functions it creates: `payops_lcm`, an aggregate, and
`payops_json_merge_patch`, RFC 7396). `mrr_ctes(store)` hands dashboard/queries/mrr.py the MRR arithmetic in the
store's dialect. On PostgreSQL other processes (replicas, a worker) write too, so a reader cannot trust this
process's store generation: it always compares the fingerprints, and refreshes under a transaction-level
advisory lock so two replicas never re-derive at once.

Freshness: each subscription's sources (its customer.subscription.* events and its subscriptions row) have a
fingerprint, an XOR of row hashes kept per subscription in `mrr_sources` and in total in `derived_state`.
`ensure_mrr_snapshots` (called by every MRR query) compares the stored total with one cheap scan of the sources
and, when it differs, re-derives only the subscriptions whose fingerprint changed. `after_upsert` does the same
for the keys of a write, and is meant to be called by the store right after an upsert (then readers never pay).
`revenue_bts` is checked against a cheaper fingerprint (row count and sum of versions of the four tables it
reads), rebuilt whole by a reader when that differs, and per affected row by `after_upsert`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # sync.store may import this module to call after_upsert
    from sync.store import Store

SUBSCRIPTION_EVENTS = ("customer.subscription.created", "customer.subscription.updated",
                       "customer.subscription.deleted")
_EVENT_TYPES = "('" + "', '".join(SUBSCRIPTION_EVENTS) + "')"

_RECURRING = '"interval": "VARCHAR", "interval_count": "INTEGER", "usage_type": "VARCHAR"'
# The parts of a subscription snapshot MRR needs (json_transform's structure; absent keys become NULL).
SNAPSHOT_SHAPE = (
    '{"status": "VARCHAR", "customer": "JSON", "currency": "VARCHAR", "discount": "JSON", "discounts": "JSON", '
    '"items": {"data": [{"quantity": "BIGINT", '
    '"price": {"unit_amount": "BIGINT", "recurring": {' + _RECURRING + '}}, '
    '"plan": {"amount": "BIGINT", ' + _RECURRING + '}}]}}'
)

# MRR of each (provider, subscription_id, valid_from) group of the `mrr_items` relation. An item's monthly amount
# is unit x qty x m / (12 x interval_count) with m = 12 (month), 1 (year), 52 (week), 365 (day); items are put over
# the least common denominator L so the sum stays an exact fraction. A forever coupon: percent_off (decimal text,
# kept as hundredths of a percent) scales it; amount_off is per invoice, i.e. per billing interval, so it is
# normalised by that interval too. (2N + D) // (2D) rounds N/D to the nearest integer, halves up, for N >= 0.
# `valid_from` is only a grouping key here: the snapshots below pass their sequence number in it.
MRR_CTES = """
mrr_terms AS (
    SELECT *,
           CASE "interval" WHEN 'month' THEN 12 WHEN 'year' THEN 1 WHEN 'week' THEN 52 WHEN 'day' THEN 365 END AS m,
           12 * GREATEST(COALESCE(interval_count, 1), 1) AS den
    FROM mrr_items
    WHERE status IN ('active', 'past_due') AND COALESCE(usage_type, 'licensed') <> 'metered'
      AND COALESCE(unit_amount, 0) > 0 AND COALESCE(quantity, 1) > 0
      AND "interval" IN ('month', 'year', 'week', 'day')
),
mrr_lcd AS (
    SELECT provider, subscription_id, valid_from, list_reduce(list(den), lambda a, b: lcm(a, b)) AS l
    FROM mrr_terms GROUP BY provider, subscription_id, valid_from
),
mrr_frac AS (
    SELECT t.provider, t.subscription_id, t.valid_from, d.l,
           SUM(CAST(t.unit_amount AS HUGEINT) * COALESCE(t.quantity, 1) * t.m * (d.l // t.den)) AS num,
           ANY_VALUE(t.m) AS m1, ANY_VALUE(t.den) AS den1,
           CASE WHEN ANY_VALUE(t.coupon_duration) = 'forever' THEN
               CAST(ROUND(CAST(COALESCE(ANY_VALUE(t.coupon_percent_off), '0') AS DECIMAL(18, 6)) * 100) AS BIGINT)
               ELSE 0 END AS pct_h,
           CASE WHEN ANY_VALUE(t.coupon_duration) = 'forever' THEN COALESCE(ANY_VALUE(t.coupon_amount_off), 0)
               ELSE 0 END AS amount_off
    FROM mrr_terms AS t JOIN mrr_lcd AS d USING (provider, subscription_id, valid_from)
    GROUP BY t.provider, t.subscription_id, t.valid_from, d.l
),
mrr_sub AS (
    SELECT provider, subscription_id, valid_from,
           num * (10000 - pct_h) * den1 - CAST(amount_off AS HUGEINT) * m1 * l * 10000 AS n,
           CAST(l AS HUGEINT) * 10000 * den1 AS d
    FROM mrr_frac
),
mrr_value AS (
    SELECT provider, subscription_id, valid_from,
           CAST(CASE WHEN n <= 0 THEN 0 ELSE (2 * n + d) // (2 * d) END AS BIGINT) AS mrr
    FROM mrr_sub
)
"""

# PostgreSQL has no list_reduce, HUGEINT, `//` or ANY_VALUE (before 16): payops_lcm (created by _ensure_pg), NUMERIC,
# integer division of integers (l is a multiple of den) and div() of NUMERICs (both halves-up operands >= 0), MIN
# (a subscription's items share one interval, and its coupon is the same on every item row).
_MRR_CTES_PG = (MRR_CTES.replace("list_reduce(list(den), lambda a, b: lcm(a, b))", "payops_lcm(den)")
                .replace("HUGEINT", "NUMERIC").replace("(d.l // t.den)", "(d.l / t.den)")
                .replace("(2 * n + d) // (2 * d)", "div(2 * n + d, 2 * d)").replace("ANY_VALUE(", "MIN("))


def mrr_ctes(store: Store) -> str:
    """The MRR_CTES arithmetic in the store's SQL dialect (see ensure_sql_functions for PostgreSQL)."""
    return MRR_CTES if store.is_duckdb else _MRR_CTES_PG


_DDL = (
    """
    CREATE TABLE IF NOT EXISTS mrr_snapshots (
        provider VARCHAR NOT NULL, subscription_id VARCHAR NOT NULL, seq INTEGER NOT NULL,
        valid_from TIMESTAMP NOT NULL, valid_to TIMESTAMP, customer_id VARCHAR, currency VARCHAR, status VARCHAR,
        mrr BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS mrr_sources (
        provider VARCHAR NOT NULL, subscription_id VARCHAR NOT NULL, n BIGINT NOT NULL, fp UBIGINT NOT NULL
    )
    """,
    "CREATE TABLE IF NOT EXISTS derived_state (name VARCHAR PRIMARY KEY, n BIGINT, fp UBIGINT)",
    """
    CREATE TABLE IF NOT EXISTS revenue_bts (
        provider VARCHAR NOT NULL, id VARCHAR NOT NULL, created TIMESTAMP, currency VARCHAR, fee BIGINT, net BIGINT
    )
    """,
)

# A balance transaction is revenue's (fees and net) when it belongs to a stored payment, refund or dispute: by the
# object's balance_transaction id or by the transaction's source. {scope} narrows to the temp table bt_keys.
_REVENUE_BTS_SQL = """
SELECT b.provider, b.id, b.created, b.currency, b.fee, b.net
FROM balance_transactions AS b
WHERE (
    EXISTS (SELECT 1 FROM payments AS p WHERE p.provider = b.provider AND p.balance_transaction_id = b.id)
    OR EXISTS (SELECT 1 FROM refunds AS r WHERE r.provider = b.provider AND r.balance_transaction_id = b.id)
    OR EXISTS (SELECT 1 FROM payments AS p WHERE p.provider = b.provider AND p.id = b.source_id)
    OR EXISTS (SELECT 1 FROM refunds AS r WHERE r.provider = b.provider AND r.id = b.source_id)
    OR EXISTS (SELECT 1 FROM disputes AS d WHERE d.provider = b.provider AND d.id = b.source_id)
) {scope}
"""
_BT_SCOPE = "AND EXISTS (SELECT 1 FROM bt_keys AS k WHERE k.provider = b.provider AND k.id = b.id)"
_REVENUE_SOURCES = ("payments", "refunds", "disputes", "balance_transactions")

# Every source row of a subscription's history, hashed: its subscription events (immutable once created) and its
# subscriptions row (the columns and raw JSON length the fallback snapshots read). {scope_e} / {scope_s} narrow
# them to the subscriptions in the temp table `mrr_keys`.
_SOURCES = """
    SELECT e.provider, e.object_id AS subscription_id, hash(e.id, e.version, e.created, e.deleted) AS h
    FROM events AS e
    WHERE e.type IN """ + _EVENT_TYPES + """ AND e.object_id IS NOT NULL {scope_e}
    UNION ALL
    SELECT s.provider, s.id, hash(s.version, s.deleted, s.status, s.created, s.start_date, s.trial_end,
                                  s.ended_at, length(s.raw))
    FROM subscriptions AS s WHERE TRUE {scope_s}
"""
_SCOPE_E = "AND EXISTS (SELECT 1 FROM mrr_keys AS k WHERE k.provider = e.provider AND k.subscription_id = e.object_id)"
_SCOPE_S = "AND EXISTS (SELECT 1 FROM mrr_keys AS k WHERE k.provider = s.provider AND k.subscription_id = s.id)"

# One snapshot per subscription event (`data.object`), plus, where a subscription's first stored event is not its
# creation (Stripe keeps events 30 days), its state before that event at its start date (`data.object` patched
# with `data.previous_attributes`), and, for subscriptions with no events at all, two snapshots from the
# subscriptions table: its stored object from start (or trial end) and canceled at ended_at. `seq` orders a
# subscription's snapshots (by time, then source, then event id), so ties at one instant resolve the same way
# every time; `valid_to` is the next snapshot's time: the state at instant t is the snapshot with
# valid_from < t <= valid_to (or no valid_to).
_SNAPSHOTS_SQL = """
WITH ev AS (
    SELECT e.provider, e.object_id AS subscription_id, e.created AS valid_from, e.id AS event_id, e.type,
           CAST(e.raw AS JSON)->'data'->'object' AS obj,
           CAST(e.raw AS JSON)->'data'->'previous_attributes' AS prev
    FROM events AS e
    WHERE e.type IN """ + _EVENT_TYPES + """ AND e.object_id IS NOT NULL {scope_e}
),
ev_first AS (
    SELECT * FROM (
        SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY provider, subscription_id ORDER BY valid_from, event_id) AS rn
        FROM ev
    ) WHERE rn = 1
),
ev_subs AS (SELECT DISTINCT provider, subscription_id FROM ev),
snapshots AS (
    SELECT provider, subscription_id, valid_from, 1 AS src, event_id, obj, CAST(NULL AS VARCHAR) AS status_override
    FROM ev
    UNION ALL
    SELECT f.provider, f.subscription_id, COALESCE(s.start_date, s.created), 0, '',
           json_merge_patch(f.obj, COALESCE(f.prev, CAST('{}' AS JSON))), NULL
    FROM ev_first AS f JOIN subscriptions AS s ON s.provider = f.provider AND s.id = f.subscription_id
    WHERE f.type <> 'customer.subscription.created' AND COALESCE(s.start_date, s.created) < f.valid_from
    UNION ALL
    SELECT s.provider, s.id,
           CASE WHEN s.trial_end IS NOT NULL AND s.trial_end > COALESCE(s.start_date, s.created)
                THEN s.trial_end ELSE COALESCE(s.start_date, s.created) END,
           0, '', CAST(s.raw AS JSON),
           CASE WHEN s.status IN ('canceled', 'unpaid', 'incomplete_expired') THEN 'active' END
    FROM subscriptions AS s
    WHERE NOT EXISTS (SELECT 1 FROM ev_subs AS x WHERE x.provider = s.provider AND x.subscription_id = s.id)
      AND NOT (s.status = 'canceled' AND s.trial_end IS NOT NULL AND s.ended_at IS NOT NULL
               AND s.ended_at <= s.trial_end) {scope_s}
    UNION ALL
    SELECT s.provider, s.id, s.ended_at, 1, '', CAST(s.raw AS JSON), 'canceled'
    FROM subscriptions AS s
    WHERE s.ended_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ev_subs AS x WHERE x.provider = s.provider AND x.subscription_id = s.id)
      {scope_s}
),
snap AS (
    -- One parse per snapshot into a typed struct (repeated JSON arrows would re-parse the text each time).
    SELECT provider, subscription_id, valid_from, status_override,
           CAST(ROW_NUMBER() OVER (PARTITION BY provider, subscription_id ORDER BY valid_from, src, event_id)
                AS INTEGER) AS seq,
           json_transform(obj, '""" + SNAPSHOT_SHAPE + """') AS o
    FROM snapshots
    WHERE valid_from IS NOT NULL
),
snap_items AS (
    SELECT provider, subscription_id, seq AS valid_from, COALESCE(status_override, o.status) AS status,
           COALESCE(o.discount->'coupon',
                    CASE WHEN json_type(o.discounts->0) = 'OBJECT'
                         THEN COALESCE(o.discounts->0->'source'->'coupon', o.discounts->0->'coupon') END
           ) AS coupon,
           unnest(o.items.data) AS it
    FROM snap
),
mrr_items AS (
    SELECT provider, subscription_id, valid_from, status,
           COALESCE(it.price.unit_amount, it.plan.amount) AS unit_amount,
           COALESCE(it.quantity, 1) AS quantity,
           COALESCE(it.price.recurring."interval", it.plan."interval") AS "interval",
           COALESCE(it.price.recurring.interval_count, it.plan.interval_count) AS interval_count,
           COALESCE(it.price.recurring.usage_type, it.plan.usage_type) AS usage_type,
           coupon->>'duration' AS coupon_duration,
           coupon->>'percent_off' AS coupon_percent_off,
           CAST(coupon->>'amount_off' AS BIGINT) AS coupon_amount_off
    FROM snap_items
),
""" + MRR_CTES + """
SELECT sn.provider, sn.subscription_id, sn.seq, sn.valid_from,
       LEAD(sn.valid_from) OVER (PARTITION BY sn.provider, sn.subscription_id ORDER BY sn.seq) AS valid_to,
       COALESCE(sn.o.customer->>'id', sn.o.customer->>'$') AS customer_id, upper(sn.o.currency) AS currency,
       COALESCE(sn.status_override, sn.o.status) AS status, COALESCE(v.mrr, 0) AS mrr
FROM snap AS sn
LEFT JOIN mrr_value AS v
       ON v.provider = sn.provider AND v.subscription_id = sn.subscription_id AND v.valid_from = sn.seq
"""

# store -> {derived table: the store generation at which it was last known fresh}. Weak: keyed by id(store), a new
# Store born at a closed one's address inherited its marks and skipped creating its tables (a flaky page test).
_fresh: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()
_fresh_lock = threading.Lock()


def _is_fresh(store: Store, table: str, generation: int) -> bool:
    with _fresh_lock:
        return _fresh.get(store, {}).get(table) == generation


def _mark_fresh(store: Store, generation: int, *tables: str) -> None:
    with _fresh_lock:
        marks = _fresh.setdefault(store, {})
        for table in tables:
            marks[table] = generation


def _ensure_tables(cur: Any) -> None:
    for ddl in _DDL:
        cur.execute(ddl)


def _scoped(sql: str, scoped: bool) -> str:
    return sql.replace("{scope_e}", _SCOPE_E if scoped else "").replace("{scope_s}", _SCOPE_S if scoped else "")


def _total(cur: Any) -> tuple[int, int]:
    """(rows, XOR of row hashes) over every source row now: one scan, no grouping."""
    sql = "SELECT COUNT(*), COALESCE(bit_xor(h), 0) FROM (" + _scoped(_SOURCES, False) + ")"
    n, fp = cur.execute(sql).fetchall()[0]
    return int(n), int(fp)


def _stored_total(cur: Any) -> tuple[int, int] | None:
    rows = cur.execute("SELECT n, fp FROM derived_state WHERE name = 'mrr_snapshots'").fetchall()
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def _changed_keys(cur: Any) -> None:
    """Fill temp table mrr_keys with the subscriptions whose sources differ from those last derived."""
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE mrr_keys AS "
        "WITH now AS (SELECT provider, subscription_id, COUNT(*) AS n, bit_xor(h) AS fp FROM ("
        + _scoped(_SOURCES, False) + ") GROUP BY ALL) "
        "SELECT COALESCE(a.provider, b.provider) AS provider, "
        "       COALESCE(a.subscription_id, b.subscription_id) AS subscription_id "
        "FROM now AS a FULL JOIN mrr_sources AS b USING (provider, subscription_id) "
        "WHERE a.n IS DISTINCT FROM b.n OR a.fp IS DISTINCT FROM b.fp"
    )


def _rederive(cur: Any, scoped: bool) -> None:
    """Replace the snapshots and source fingerprints of the subscriptions in mrr_keys (or of all)."""
    scope = ("WHERE EXISTS (SELECT 1 FROM mrr_keys AS k WHERE k.provider = t.provider "
             "AND k.subscription_id = t.subscription_id)") if scoped else ""
    cur.execute("BEGIN TRANSACTION")
    try:
        cur.execute(f"DELETE FROM mrr_snapshots AS t {scope}")
        cur.execute(f"DELETE FROM mrr_sources AS t {scope}")
        cur.execute("INSERT INTO mrr_snapshots " + _scoped(_SNAPSHOTS_SQL, scoped))
        cur.execute("INSERT INTO mrr_sources SELECT provider, subscription_id, COUNT(*), bit_xor(h) FROM ("
                    + _scoped(_SOURCES, scoped) + ") GROUP BY ALL")
        # The stored total is the XOR of the per-subscription fingerprints: equal to _total() when all are current.
        cur.execute("DELETE FROM derived_state WHERE name = 'mrr_snapshots'")
        cur.execute("INSERT INTO derived_state SELECT 'mrr_snapshots', COALESCE(SUM(n), 0), "
                    "COALESCE(bit_xor(fp), 0) FROM mrr_sources")
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise


def _refresh_locked(store: Store) -> None:
    cur = store.cursor()
    _ensure_tables(cur)
    stored = _stored_total(cur)
    if stored is not None and stored == _total(cur):
        return
    if stored is None:
        _rederive(cur, scoped=False)
        return
    _changed_keys(cur)
    _rederive(cur, scoped=True)
    cur.execute("DROP TABLE IF EXISTS mrr_keys")


def ensure_mrr_snapshots(store: Store) -> None:
    """Make mrr_snapshots current before a read: free when nothing was written since the last check; otherwise one
    scan of the sources, and a re-derivation of only the subscriptions that changed."""
    if not store.is_duckdb:
        _pg_refresh_mrr(store)
        return
    generation = store.generation
    if _is_fresh(store, "mrr_snapshots", generation):
        return
    with store._write_lock:
        _refresh_locked(store)
    _mark_fresh(store, generation, "mrr_snapshots")


def refresh_all(store: Store) -> None:
    """Rebuild every derived table from scratch (a migration, or the bench's scaled stores)."""
    if not store.is_duckdb:
        with _pg_transaction(store) as conn:
            _pg_rederive(conn, scoped=False)
            _pg_rebuild_revenue_bts(conn)
        return
    with store._write_lock:
        cur = store.cursor()
        _ensure_tables(cur)
        _rederive(cur, scoped=False)
        _rebuild_revenue_bts(cur)
    _mark_fresh(store, store.generation, "mrr_snapshots", "revenue_bts")


def affected_subscriptions(batches: Mapping[str, Sequence[Mapping[str, Any]]]) -> set[tuple[str, str]]:
    """The (provider, subscription id) pairs whose MRR history an upsert of these rows may change."""
    keys = {(r["provider"], r["id"]) for r in batches.get("subscriptions", ())}
    keys |= {(r["provider"], r["object_id"]) for r in batches.get("events", ())
             if r.get("type") in SUBSCRIPTION_EVENTS and r.get("object_id")}
    return keys


def after_upsert(store: Store, batches: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Re-derive what an upsert touched. For Store.upsert_rows to call while it holds its write lock, after the
    commit and the generation bump."""
    if not store.is_duckdb:
        _pg_after_upsert(store, batches)
        return
    cur = store.cursor()
    _ensure_tables(cur)
    keys = affected_subscriptions(batches)
    if keys and _stored_total(cur) is not None:  # never derived yet: the first reader derives everything
        _set_keys(cur, keys)
        _rederive(cur, scoped=True)
        cur.execute("DROP TABLE IF EXISTS mrr_keys")
    if any(batches.get(t) for t in _REVENUE_SOURCES) and _stored_state(cur, "revenue_bts") is not None:
        _update_revenue_bts(cur, batches)
    _mark_fresh(store, store.generation, "mrr_snapshots", "revenue_bts")


def _revenue_fingerprint(cur: Any) -> tuple[int, int]:
    """Rows and the sum of versions over revenue's four source tables: a new, replaced or deleted row moves it."""
    parts = " UNION ALL ".join(f"SELECT COUNT(*) AS n, COALESCE(SUM(version), 0) AS v FROM {t}"
                               for t in _REVENUE_SOURCES)
    n, v = cur.execute(f"SELECT SUM(n), CAST(SUM(v) % 18446744073709551557 AS UBIGINT) FROM ({parts})").fetchall()[0]
    return int(n), int(v)


def _stored_state(cur: Any, name: str) -> tuple[int, int] | None:
    rows = cur.execute("SELECT n, fp FROM derived_state WHERE name = ?", [name]).fetchall()
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def _save_state(cur: Any, name: str, state: tuple[int, int]) -> None:
    cur.execute("DELETE FROM derived_state WHERE name = ?", [name])
    cur.execute("INSERT INTO derived_state VALUES (?, ?, ?)", [name, *state])


def _rebuild_revenue_bts(cur: Any) -> None:
    cur.execute("BEGIN TRANSACTION")
    try:
        state = _revenue_fingerprint(cur)
        cur.execute("DELETE FROM revenue_bts")
        cur.execute("INSERT INTO revenue_bts " + _REVENUE_BTS_SQL.replace("{scope}", ""))
        _save_state(cur, "revenue_bts", state)
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise


def _update_revenue_bts(cur: Any, batches: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Re-check the balance transactions a write may link or unlink: its own, those its payments and refunds
    name, and those whose source is one of its payments, refunds or disputes."""
    import pyarrow as pa

    ids = {(r["provider"], r["id"]) for r in batches.get("balance_transactions", ())}
    ids |= {(r["provider"], r["balance_transaction_id"]) for t in ("payments", "refunds")
            for r in batches.get(t, ()) if r.get("balance_transaction_id")}
    sources = {(r["provider"], r["id"]) for t in ("payments", "refunds", "disputes") for r in batches.get(t, ())}
    cur.execute("BEGIN TRANSACTION")
    try:
        for name, pairs in (("bt_ids_in", ids), ("bt_src_in", sources)):
            providers, values = zip(*sorted(pairs), strict=True) if pairs else ((), ())
            cur.register(name, pa.table({"provider": pa.array(providers, pa.string()),
                                         "id": pa.array(values, pa.string())}))
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE bt_keys AS SELECT provider, id FROM bt_ids_in UNION "
            "SELECT b.provider, b.id FROM balance_transactions AS b JOIN bt_src_in AS s "
            "ON s.provider = b.provider AND s.id = b.source_id"
        )
        cur.unregister("bt_ids_in")
        cur.unregister("bt_src_in")
        cur.execute("DELETE FROM revenue_bts AS b WHERE " + _BT_SCOPE.removeprefix("AND "))
        cur.execute("INSERT INTO revenue_bts " + _REVENUE_BTS_SQL.replace("{scope}", _BT_SCOPE))
        cur.execute("DROP TABLE bt_keys")
        _save_state(cur, "revenue_bts", _revenue_fingerprint(cur))
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise


def ensure_revenue_bts(store: Store) -> None:
    """Make revenue_bts current before a read: free when nothing was written since the last check; otherwise a
    cheap fingerprint of its sources, and a rebuild only when that moved (after_upsert keeps it moving with them)."""
    if not store.is_duckdb:
        _pg_refresh_revenue_bts(store)
        return
    generation = store.generation
    if _is_fresh(store, "revenue_bts", generation):
        return
    with store._write_lock:
        cur = store.cursor()
        _ensure_tables(cur)
        if _stored_state(cur, "revenue_bts") != _revenue_fingerprint(cur):
            _rebuild_revenue_bts(cur)
    _mark_fresh(store, generation, "revenue_bts")


def _set_keys(cur: Any, keys: Iterable[tuple[str, str]]) -> None:
    import pyarrow as pa

    providers, ids = zip(*sorted(keys), strict=True) if keys else ((), ())
    frame = pa.table({"provider": pa.array(providers, pa.string()), "subscription_id": pa.array(ids, pa.string())})
    cur.register("mrr_keys_in", frame)
    cur.execute("CREATE OR REPLACE TEMP TABLE mrr_keys AS SELECT * FROM mrr_keys_in")
    cur.unregister("mrr_keys_in")


# -- PostgreSQL ---------------------------------------------------------------------------------------------------

# Serialises derivations across every process sharing the store (pg_advisory_xact_lock: released at COMMIT).
_PG_LOCK = 0x7061796F70730001
_PG_DDL = tuple(ddl.replace("UBIGINT", "BIGINT") for ddl in _DDL)
_PG_FUNCTIONS = (
    """
    CREATE OR REPLACE FUNCTION payops_json_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE k text; v jsonb; merged jsonb;
    BEGIN
        IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN RETURN patch; END IF;
        merged := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}'::jsonb END;
        FOR k, v IN SELECT key, value FROM jsonb_each(patch) LOOP
            IF jsonb_typeof(v) = 'null' THEN merged := merged - k;
            ELSE merged := jsonb_set(merged, ARRAY[k], payops_json_merge_patch(merged -> k, v)); END IF;
        END LOOP;
        RETURN merged;
    END $$
    """,
    "CREATE OR REPLACE AGGREGATE payops_lcm(bigint) (SFUNC = lcm, STYPE = bigint, INITCOND = '1')",
)
_pg_ready: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()

# Row hashes as PostgreSQL computes them (its own fingerprints: a store is only ever read by one dialect). A row's
# text form tells NULL from an empty string.
_PG_SOURCES = """
    SELECT e.provider, e.object_id AS subscription_id,
           hashtextextended(CAST(ROW(e.id, e.version, e.created, e.deleted) AS TEXT), 0) AS h
    FROM events AS e
    WHERE e.type IN """ + _EVENT_TYPES + """ AND e.object_id IS NOT NULL {scope_e}
    UNION ALL
    SELECT s.provider, s.id, hashtextextended(CAST(ROW(s.version, s.deleted, s.status, s.created, s.start_date,
                                                      s.trial_end, s.ended_at, length(s.raw)) AS TEXT), 0)
    FROM subscriptions AS s WHERE TRUE {scope_s}
"""

# _SNAPSHOTS_SQL in jsonb: the same snapshots, items and MRR, read with -> / ->> instead of a typed struct.
_PG_SNAPSHOTS_SQL = """
WITH ev AS (
    SELECT e.provider, e.object_id AS subscription_id, e.created AS valid_from, e.id AS event_id, e.type,
           CAST(e.raw AS JSONB)->'data'->'object' AS obj,
           CAST(e.raw AS JSONB)->'data'->'previous_attributes' AS prev
    FROM events AS e
    WHERE e.type IN """ + _EVENT_TYPES + """ AND e.object_id IS NOT NULL {scope_e}
),
ev_first AS (
    SELECT * FROM (
        SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY provider, subscription_id ORDER BY valid_from, event_id) AS rn
        FROM ev
    ) AS ranked WHERE rn = 1
),
ev_subs AS (SELECT DISTINCT provider, subscription_id FROM ev),
snapshots AS (
    SELECT provider, subscription_id, valid_from, 1 AS src, event_id, obj, CAST(NULL AS VARCHAR) AS status_override
    FROM ev
    UNION ALL
    SELECT f.provider, f.subscription_id, COALESCE(s.start_date, s.created), 0, '',
           payops_json_merge_patch(f.obj, COALESCE(f.prev, CAST('{}' AS JSONB))), NULL
    FROM ev_first AS f JOIN subscriptions AS s ON s.provider = f.provider AND s.id = f.subscription_id
    WHERE f.type <> 'customer.subscription.created' AND COALESCE(s.start_date, s.created) < f.valid_from
    UNION ALL
    SELECT s.provider, s.id,
           CASE WHEN s.trial_end IS NOT NULL AND s.trial_end > COALESCE(s.start_date, s.created)
                THEN s.trial_end ELSE COALESCE(s.start_date, s.created) END,
           0, '', CAST(s.raw AS JSONB),
           CASE WHEN s.status IN ('canceled', 'unpaid', 'incomplete_expired') THEN 'active' END
    FROM subscriptions AS s
    WHERE NOT EXISTS (SELECT 1 FROM ev_subs AS x WHERE x.provider = s.provider AND x.subscription_id = s.id)
      AND NOT (s.status = 'canceled' AND s.trial_end IS NOT NULL AND s.ended_at IS NOT NULL
               AND s.ended_at <= s.trial_end) {scope_s}
    UNION ALL
    SELECT s.provider, s.id, s.ended_at, 1, '', CAST(s.raw AS JSONB), 'canceled'
    FROM subscriptions AS s
    WHERE s.ended_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ev_subs AS x WHERE x.provider = s.provider AND x.subscription_id = s.id)
      {scope_s}
),
snap AS (
    SELECT provider, subscription_id, valid_from, status_override,
           CAST(ROW_NUMBER() OVER (PARTITION BY provider, subscription_id ORDER BY valid_from, src, event_id)
                AS INTEGER) AS seq,
           obj AS o
    FROM snapshots
    WHERE valid_from IS NOT NULL
),
snap_items AS (
    SELECT sn.provider, sn.subscription_id, sn.seq AS valid_from,
           COALESCE(sn.status_override, sn.o->>'status') AS status,
           COALESCE(sn.o->'discount'->'coupon',
                    CASE WHEN jsonb_typeof(sn.o->'discounts'->0) = 'object'
                         THEN COALESCE(sn.o->'discounts'->0->'source'->'coupon', sn.o->'discounts'->0->'coupon') END
           ) AS coupon,
           it.value AS it
    FROM snap AS sn
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(sn.o->'items'->'data') = 'array'
                                                 THEN sn.o->'items'->'data' ELSE CAST('[]' AS JSONB) END) AS it
),
mrr_items AS (
    SELECT provider, subscription_id, valid_from, status,
           COALESCE(CAST(it->'price'->>'unit_amount' AS BIGINT), CAST(it->'plan'->>'amount' AS BIGINT)) AS unit_amount,
           COALESCE(CAST(it->>'quantity' AS BIGINT), 1) AS quantity,
           COALESCE(it->'price'->'recurring'->>'interval', it->'plan'->>'interval') AS "interval",
           COALESCE(CAST(it->'price'->'recurring'->>'interval_count' AS INTEGER),
                    CAST(it->'plan'->>'interval_count' AS INTEGER)) AS interval_count,
           COALESCE(it->'price'->'recurring'->>'usage_type', it->'plan'->>'usage_type') AS usage_type,
           coupon->>'duration' AS coupon_duration,
           coupon->>'percent_off' AS coupon_percent_off,
           CAST(coupon->>'amount_off' AS BIGINT) AS coupon_amount_off
    FROM snap_items
),
""" + _MRR_CTES_PG + """
SELECT sn.provider, sn.subscription_id, sn.seq, sn.valid_from,
       LEAD(sn.valid_from) OVER (PARTITION BY sn.provider, sn.subscription_id ORDER BY sn.seq) AS valid_to,
       COALESCE(sn.o->'customer'->>'id', sn.o->'customer'#>>'{}') AS customer_id, upper(sn.o->>'currency') AS currency,
       COALESCE(sn.status_override, sn.o->>'status') AS status, COALESCE(v.mrr, 0) AS mrr
FROM snap AS sn
LEFT JOIN mrr_value AS v
       ON v.provider = sn.provider AND v.subscription_id = sn.subscription_id AND v.valid_from = sn.seq
"""


def _pg_scoped(sql: str, scoped: bool) -> str:
    return sql.replace("{scope_e}", _SCOPE_E if scoped else "").replace("{scope_s}", _SCOPE_S if scoped else "")


def _pg_ensure(conn: Any) -> None:
    """The derived tables and the two SQL functions, created when missing (under the advisory lock)."""
    from sqlalchemy import text

    for ddl in _PG_DDL:
        conn.execute(text(ddl))
    present = conn.execute(text("SELECT COUNT(DISTINCT proname) FROM pg_proc "
                                "WHERE proname IN ('payops_lcm', 'payops_json_merge_patch')")).scalar()
    if present != 2:
        for ddl in _PG_FUNCTIONS:
            conn.exec_driver_sql(ddl)


@contextmanager
def _pg_transaction(store: Store) -> Iterator[Any]:
    """One transaction holding the derivation lock, with the derived tables and functions in place."""
    from sqlalchemy import text

    with store.engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        if not _pg_ready.get(store):
            _pg_ensure(conn)
        yield conn
    _pg_ready[store] = True


def ensure_sql_functions(store: Store) -> None:
    """PostgreSQL: create what mrr_ctes' SQL calls (payops_lcm) if this process has not yet. A no-op on DuckDB."""
    if store.is_duckdb or _pg_ready.get(store):
        return
    with _pg_transaction(store):
        pass


def _pg_rows(conn: Any, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
    from sqlalchemy import text

    return list(conn.execute(text(sql), dict(params or {})).fetchall())


def _pg_stored(conn: Any, name: str) -> tuple[int, int] | None:
    rows = _pg_rows(conn, "SELECT n, fp FROM derived_state WHERE name = :name", {"name": name})
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def _pg_save(conn: Any, name: str, state: tuple[int, int]) -> None:
    from sqlalchemy import text

    conn.execute(text("DELETE FROM derived_state WHERE name = :name"), {"name": name})
    conn.execute(text("INSERT INTO derived_state VALUES (:name, :n, :fp)"), {"name": name, "n": state[0],
                                                                             "fp": state[1]})


def _pg_total(conn: Any) -> tuple[int, int]:
    n, fp = _pg_rows(conn, "SELECT COUNT(*), COALESCE(bit_xor(h), 0) FROM ("
                     + _pg_scoped(_PG_SOURCES, False) + ") AS src")[0]
    return int(n), int(fp)


def _pg_rederive(conn: Any, scoped: bool) -> None:
    """_rederive on PostgreSQL, inside the caller's transaction."""
    from sqlalchemy import text

    scope = ("WHERE EXISTS (SELECT 1 FROM mrr_keys AS k WHERE k.provider = t.provider "
             "AND k.subscription_id = t.subscription_id)") if scoped else ""
    conn.execute(text(f"DELETE FROM mrr_snapshots AS t {scope}"))
    conn.execute(text(f"DELETE FROM mrr_sources AS t {scope}"))
    conn.execute(text("INSERT INTO mrr_snapshots " + _pg_scoped(_PG_SNAPSHOTS_SQL, scoped)))
    conn.execute(text("INSERT INTO mrr_sources SELECT provider, subscription_id, COUNT(*), bit_xor(h) FROM ("
                      + _pg_scoped(_PG_SOURCES, scoped) + ") AS src GROUP BY provider, subscription_id"))
    conn.execute(text("DELETE FROM derived_state WHERE name = 'mrr_snapshots'"))
    conn.execute(text("INSERT INTO derived_state SELECT 'mrr_snapshots', COALESCE(SUM(n), 0), "
                      "COALESCE(bit_xor(fp), 0) FROM mrr_sources"))


def _pg_refresh_mrr(store: Store) -> None:
    """ensure_mrr_snapshots on PostgreSQL: one fingerprint scan; re-derive what changed (or all, the first time)."""
    from sqlalchemy import text

    with _pg_transaction(store) as conn:
        stored = _pg_stored(conn, "mrr_snapshots")
        if stored is not None and stored == _pg_total(conn):
            return
        if stored is None:
            _pg_rederive(conn, scoped=False)
            return
        conn.execute(text(
            "CREATE TEMP TABLE mrr_keys ON COMMIT DROP AS "
            "WITH now AS (SELECT provider, subscription_id, COUNT(*) AS n, bit_xor(h) AS fp FROM ("
            + _pg_scoped(_PG_SOURCES, False) + ") AS src GROUP BY provider, subscription_id) "
            "SELECT COALESCE(a.provider, b.provider) AS provider, "
            "       COALESCE(a.subscription_id, b.subscription_id) AS subscription_id "
            "FROM now AS a FULL JOIN mrr_sources AS b USING (provider, subscription_id) "
            "WHERE a.n IS DISTINCT FROM b.n OR a.fp IS DISTINCT FROM b.fp"))
        _pg_rederive(conn, scoped=True)


def _pg_revenue_fingerprint(conn: Any) -> tuple[int, int]:
    parts = " UNION ALL ".join(f"SELECT COUNT(*) AS n, COALESCE(SUM(version), 0) AS v FROM {t}"
                               for t in _REVENUE_SOURCES)
    n, v = _pg_rows(conn, f"SELECT SUM(n), CAST(MOD(SUM(v), 9223372036854775783) AS BIGINT) FROM ({parts}) AS src")[0]
    return int(n), int(v)


def _pg_rebuild_revenue_bts(conn: Any) -> None:
    from sqlalchemy import text

    conn.execute(text("DELETE FROM revenue_bts"))
    conn.execute(text("INSERT INTO revenue_bts " + _REVENUE_BTS_SQL.replace("{scope}", "")))
    _pg_save(conn, "revenue_bts", _pg_revenue_fingerprint(conn))


def _pg_refresh_revenue_bts(store: Store) -> None:
    with _pg_transaction(store) as conn:
        if _pg_stored(conn, "revenue_bts") != _pg_revenue_fingerprint(conn):
            _pg_rebuild_revenue_bts(conn)


def _pg_key_table(conn: Any, name: str, columns: tuple[str, str], pairs: Iterable[tuple[str, str]]) -> None:
    """A temp table of (provider, id) pairs, dropped at COMMIT."""
    from sqlalchemy import text

    conn.execute(text(f"CREATE TEMP TABLE {name} ({columns[0]} VARCHAR, {columns[1]} VARCHAR) ON COMMIT DROP"))
    rows = [{"a": a, "b": b} for a, b in sorted(pairs)]
    if rows:
        conn.execute(text(f"INSERT INTO {name} VALUES (:a, :b)"), rows)


def _pg_after_upsert(store: Store, batches: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """after_upsert on PostgreSQL: the same per-key re-derivation, in one transaction under the lock."""
    from sqlalchemy import text

    keys = affected_subscriptions(batches)
    touches_revenue = any(batches.get(t) for t in _REVENUE_SOURCES)
    if not keys and not touches_revenue:
        return
    with _pg_transaction(store) as conn:
        if keys and _pg_stored(conn, "mrr_snapshots") is not None:
            _pg_key_table(conn, "mrr_keys", ("provider", "subscription_id"), keys)
            _pg_rederive(conn, scoped=True)
        if touches_revenue and _pg_stored(conn, "revenue_bts") is not None:
            ids = {(r["provider"], r["id"]) for r in batches.get("balance_transactions", ())}
            ids |= {(r["provider"], r["balance_transaction_id"]) for t in ("payments", "refunds")
                    for r in batches.get(t, ()) if r.get("balance_transaction_id")}
            sources = {(r["provider"], r["id"]) for t in ("payments", "refunds", "disputes")
                       for r in batches.get(t, ())}
            _pg_key_table(conn, "bt_ids_in", ("provider", "id"), ids)
            _pg_key_table(conn, "bt_src_in", ("provider", "id"), sources)
            conn.execute(text(
                "CREATE TEMP TABLE bt_keys ON COMMIT DROP AS SELECT provider, id FROM bt_ids_in UNION "
                "SELECT b.provider, b.id FROM balance_transactions AS b JOIN bt_src_in AS s "
                "ON s.provider = b.provider AND s.id = b.source_id"))
            conn.execute(text("DELETE FROM revenue_bts AS b WHERE " + _BT_SCOPE.removeprefix("AND ")))
            conn.execute(text("INSERT INTO revenue_bts " + _REVENUE_BTS_SQL.replace("{scope}", _BT_SCOPE)))
            _pg_save(conn, "revenue_bts", _pg_revenue_fingerprint(conn))
