"""Seeded demo data: a year of Stripe-shaped objects and events, loaded through the same normaliser and store."""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import random
import unicodedata
import zlib
from array import array
from collections.abc import Callable
from typing import Any

from sync.errors import ConfigError
from sync.store import Store

Obj = dict[str, Any]
Progress = Callable[[str, int, bool], None]

API_VERSION = "2026-10-28.endive"
DEFAULT_CHARGES = 30_000
DEFAULT_CUSTOMERS = 2_400
BATCH_ROWS = 20_000
DAY = 86_400
HOUR = 3_600
YEAR = 365 * DAY
PROVIDER = "stripe"

# Object type -> the CLI's resource name, for progress reports.
RESOURCES = {"customer": "customers", "charge": "charges", "refund": "refunds", "dispute": "disputes",
             "subscription": "subscriptions", "invoice": "invoices", "balance_transaction": "balance_transactions",
             "event": "events"}

CURRENCIES = ("USD", "EUR", "JPY")
_CURRENCY_WEIGHTS = (60, 28, 12)
_COUNTRIES = {"USD": (("US", 88), ("CA", 6), ("MX", 3), ("BR", 3)),
              "EUR": (("DE", 30), ("FR", 25), ("NL", 12), ("ES", 12), ("IT", 12), ("IE", 9)),
              "JPY": (("JP", 100),)}
_FOREIGN_CARD_COUNTRIES = ("US", "GB", "DE", "FR", "CA", "JP", "BR", "IN", "AU")
_EEA = {"DE", "FR", "NL", "ES", "IT", "IE", "AT", "BE", "PT", "FI"}
_BRANDS = {"USD": (("visa", 52), ("mastercard", 30), ("amex", 13), ("discover", 5)),
           "EUR": (("visa", 55), ("mastercard", 38), ("amex", 7)),
           "JPY": (("visa", 45), ("mastercard", 25), ("jcb", 22), ("amex", 8))}
_FIRST = {"USD": ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Sarah",
                  "Daniel", "Emily", "Carlos", "Sofia", "Kevin", "Aisha", "Jason", "Maria", "Ryan", "Olivia"),
          "EUR": ("Lukas", "Emma", "Hugo", "Léa", "Daan", "Sophie", "Mateo", "Lucía", "Marco", "Giulia",
                  "Finn", "Anna", "Louis", "Chloé", "Sven", "Elena", "Pablo", "Clara", "Noah", "Julia"),
          "JPY": ("Haruto", "Yui", "Sota", "Hina", "Yuto", "Mei", "Riku", "Aoi", "Kaito", "Sakura",
                  "Ren", "Yuna", "Takumi", "Akari", "Daiki", "Rin", "Kenta", "Mio", "Shota", "Hana")}
_LAST = {"USD": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez", "Lopez",
                 "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Lee", "Harris", "Clark", "Lewis"),
         "EUR": ("Müller", "Schmidt", "Martin", "Bernard", "de Jong", "Jansen", "García", "Fernández", "Rossi",
                 "Russo", "Schneider", "Dubois", "Visser", "Romano", "Weber", "Moreau", "López", "Bakker", "Ricci",
                 "Fischer"),
         "JPY": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi",
                 "Kato", "Yoshida", "Yamada", "Sasaki", "Yamaguchi", "Matsumoto", "Inoue", "Kimura", "Hayashi",
                 "Shimizu", "Mori")}
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "acme.example", "corp.example")

# product key -> (name, per seat, {currency: (monthly unit amount, yearly unit amount)}), minor units.
_PRODUCTS = {
    "starter": ("Starter", False, {"USD": (1900, 19000), "EUR": (1800, 18000), "JPY": (2500, 25000)}),
    "team": ("Team", True, {"USD": (1500, 15000), "EUR": (1400, 14000), "JPY": (2000, 20000)}),
    "business": ("Business", True, {"USD": (4900, 49000), "EUR": (4500, 45000), "JPY": (6000, 60000)}),
}
# coupon id -> (name, percent off, duration, months for `repeating`)
_COUPONS = {"FOREVER20": ("20% off forever", 20, "forever", None),
            "LAUNCH50": ("50% off the first invoice", 50, "once", None),
            "SPRING25": ("25% off for 3 months", 25, "repeating", 3)}
# One-off price points per currency (minor units; JPY is whole yen).
_ONE_OFF = {"USD": (900, 1500, 1999, 2500, 4900, 7500, 9900, 14900, 19900, 29900, 49900, 120000),
            "EUR": (900, 1490, 1900, 2500, 4500, 6900, 9900, 14900, 19900, 29000, 45000, 110000),
            "JPY": (500, 980, 1200, 1500, 2980, 4800, 9800, 12000, 19800, 29800, 49800, 98000)}
_ONE_OFF_DESCRIPTIONS = ("Add-on: extra storage", "Onboarding session", "Usage credits", "Priority support pack",
                         "Template bundle", "API overage", "Consulting hour", "Seat top-up")

# (reason, weight, failure_code, outcome type, advice_code, network decline code, customer message)
_DECLINES = (
    ("insufficient_funds", 30, "card_declined", "issuer_declined", "try_again_later", "51",
     "Your card has insufficient funds."),
    ("generic_decline", 20, "card_declined", "issuer_declined", None, "05", "Your card was declined."),
    ("do_not_honor", 12, "card_declined", "issuer_declined", "try_again_later", "05", "Your card was declined."),
    ("expired_card", 7, "expired_card", "issuer_declined", "confirm_card_data", "54", "Your card has expired."),
    ("incorrect_cvc", 5, "incorrect_cvc", "issuer_declined", "confirm_card_data", "N7",
     "Your card's security code is incorrect."),
    ("lost_card", 2, "card_declined", "issuer_declined", "do_not_try_again", "41", "Your card was declined."),
    ("stolen_card", 1, "card_declined", "issuer_declined", "do_not_try_again", "43", "Your card was declined."),
    ("fraudulent", 3, "card_declined", "issuer_declined", "do_not_try_again", "59", "Your card was declined."),
    ("card_velocity_exceeded", 3, "card_declined", "issuer_declined", "try_again_later", "61",
     "Your card was declined for making repeated attempts too frequently or exceeding its amount limit."),
    ("processing_error", 3, "processing_error", "issuer_declined", "try_again_later", "96",
     "An error occurred while processing your card. Try again in a little bit."),
    ("transaction_not_allowed", 2, "card_declined", "issuer_declined", "do_not_try_again", "57",
     "Your card does not support this type of purchase."),
    ("highest_risk_level", 4, "card_declined", "blocked", None, None, "Your card was declined."),
    ("rule", 1, "card_declined", "blocked", None, None, "Your card was declined."),
    ("invalid_account", 1, "card_declined", "invalid", "do_not_try_again", None,
     "The card, or account the card is connected to, is invalid."),
    ("invalid_amount", 1, "card_declined", "invalid", None, None, "Your card was declined."),
)
_DECLINE_WEIGHTS = tuple(d[1] for d in _DECLINES)
_PROCESSING_ERROR = next(d for d in _DECLINES if d[0] == "processing_error")
# Mastercard merchant advice codes, sent on declines beside Stripe's own advice_code.
_MASTERCARD_ADVICE = {"confirm_card_data": "01", "try_again_later": "02", "do_not_try_again": "03"}

_DISPUTE_REASONS = (("fraudulent", 40), ("product_not_received", 15), ("subscription_canceled", 14),
                    ("unrecognized", 10), ("duplicate", 7), ("credit_not_processed", 6),
                    ("product_unacceptable", 5), ("general", 3))
_NETWORK_REASON = {
    "visa": {"fraudulent": "10.4", "product_not_received": "13.1", "subscription_canceled": "13.2",
             "unrecognized": "10.4", "duplicate": "12.6.1", "credit_not_processed": "13.6",
             "product_unacceptable": "13.3", "general": "13.7"},
    "mastercard": {"fraudulent": "4837", "product_not_received": "4855", "subscription_canceled": "4841",
                   "unrecognized": "4863", "duplicate": "4834", "credit_not_processed": "4860",
                   "product_unacceptable": "4853", "general": "4853"},
    "amex": {"fraudulent": "F29", "product_not_received": "C08", "subscription_canceled": "C28",
             "unrecognized": "F24", "duplicate": "P08", "credit_not_processed": "C02",
             "product_unacceptable": "C32", "general": "C32"},
}
_DISPUTE_FEE = {"USD": 1500, "EUR": 2000, "JPY": 1500}
_EVIDENCE_KEYS = ("access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
                  "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
                  "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation",
                  "duplicate_charge_explanation", "duplicate_charge_id", "product_description", "receipt",
                  "refund_policy", "refund_policy_disclosure", "refund_refusal_explanation", "service_date",
                  "service_documentation", "shipping_address", "shipping_carrier", "shipping_date",
                  "shipping_documentation", "shipping_tracking_number", "uncategorized_file", "uncategorized_text")

_M64 = (1 << 64) - 1
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# A fixed letters-only middle, like the account tag inside real Stripe ids; it also keeps any run of digits
# in an id short, so no id can look like a card number.
_ID_TAG = "DmPayOpsQx"


def _mix64(x: int) -> int:
    """splitmix64's finaliser: a bijection on 64 bits, so distinct inputs give distinct ids."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


# Each 16-bit chunk maps to its own three base-62 characters (62**3 > 2**16), so 64 bits -> 12 characters,
# one-to-one, without big-integer division.
_B62_CHUNK = [_B62[i % 62] + _B62[i // 62 % 62] + _B62[i // 3844] for i in range(1 << 16)]


def _b62(x: int) -> str:
    return (_B62_CHUNK[x & 0xFFFF] + _B62_CHUNK[x >> 16 & 0xFFFF] + _B62_CHUNK[x >> 32 & 0xFFFF]
            + _B62_CHUNK[x >> 48 & 0xFFFF])


class _Ids:
    """Deterministic Stripe-like ids: per prefix a counter, or keyed by an index (customers, cards)."""

    def __init__(self, seed: int) -> None:
        self._base = _mix64(seed & _M64)
        self._next: dict[str, int] = {}

    def _body(self, prefix: str, n: int) -> str:
        return _b62(_mix64((self._base + (zlib.crc32(prefix.encode()) << 40) + n) & _M64))

    def new(self, prefix: str) -> str:
        n = self._next.get(prefix, 0)
        self._next[prefix] = n + 1
        body = self._body(prefix, n)
        return f"{prefix}_1{body[:5]}{_ID_TAG}{body[5:]}"

    def short(self, prefix: str) -> str:
        n = self._next.get(prefix, 0)
        self._next[prefix] = n + 1
        return self.keyed(prefix, n)

    def keyed(self, prefix: str, n: int) -> str:
        return f"{prefix}_{self._body(prefix, n)}"

    def token(self, prefix: str, n: int) -> str:
        """16 characters, e.g. a card fingerprint; the last four are letters, so digit runs stay short."""
        x = _mix64(self._base ^ (n + 0x7F4A7C15))
        return self._body(prefix, n) + "".join(_B62[10 + (x >> (6 * i)) % 52] for i in range(4))


def _midnight_utc(now: dt.datetime | None) -> int:
    if now is None:
        today = dt.datetime.now(dt.UTC).date()
        return int(dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC).timestamp())
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return int(now.timestamp())


def _add_months(ts: int, months: int) -> int:
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    year, month0 = divmod(d.month - 1 + months, 12)
    year += d.year
    day = min(d.day, calendar.monthrange(year, month0 + 1)[1])
    return int(d.replace(year=year, month=month0 + 1, day=day).timestamp())


def _ascii(text: str) -> str:
    """An email local part from a name: 'Lucía de Jong' -> 'lucia.dejong'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.lower().replace(" ", "")


def _pct(amount: int, basis_points: int) -> int:
    """amount * basis_points / 10,000, rounded half up, in integers (fees and discounts are never floats)."""
    return (amount * basis_points + 5_000) // 10_000


def _fee(amount: int, currency: str, card_country: str) -> int:
    """Stripe's standard card pricing per settlement currency (integer minor units); the demo account is in
    the US and settles USD, EUR and JPY separately, so a card is international by its own country."""
    if currency == "JPY":
        return _pct(amount, 360)
    if currency == "EUR":
        return _pct(amount, 150 if card_country in _EEA else 325) + 25
    return _pct(amount, 290 if card_country == "US" else 440) + 30


class _Card:
    __slots__ = ("brand", "country", "exp_month", "exp_year", "fingerprint", "funding", "last4", "pm")

    def __init__(self, ids: _Ids, key: int, currency: str, home_country: str, year: int) -> None:
        h = _mix64(key ^ 0x5DEECE66D)
        brands = _BRANDS[currency]
        pick = h % sum(w for _, w in brands)
        for name, weight in brands:
            self.brand = name
            if pick < weight:
                break
            pick -= weight
        self.country = home_country if (h >> 12) % 100 < 92 else _FOREIGN_CARD_COUNTRIES[(h >> 20) % 9]
        self.last4 = f"{(h >> 24) % 10_000:04d}"
        self.exp_month = (h >> 40) % 12 + 1
        self.exp_year = year + 1 + (h >> 44) % 5
        self.funding = "debit" if (h >> 50) % 100 < 35 else "credit"
        self.fingerprint = ids.token("fp", key)
        self.pm = ids.keyed("pm", key)


class _Customer:
    __slots__ = ("card", "country", "created", "currency", "email", "id", "idx", "invoice_prefix", "name",
                 "next_invoice")

    def __init__(self, gen: _Demo, idx: int) -> None:
        self.idx = idx
        self.id = gen.ids.keyed("cus", idx)
        self.currency = CURRENCIES[gen.c_currency[idx]]
        first = _FIRST[self.currency][gen.c_first[idx]]
        last = _LAST[self.currency][gen.c_last[idx]]
        self.name = f"{first} {last}"
        local = _ascii(f"{first}.{last}")
        self.email = f"{local}{idx}@{_DOMAINS[gen.c_domain[idx]]}"
        self.country = _COUNTRIES[self.currency][gen.c_country[idx]][0]
        self.created = gen.c_created[idx]
        self.card = _Card(gen.ids, idx, self.currency, self.country, gen.year)
        self.invoice_prefix = f"{_mix64(idx ^ gen.ids._base) % 0xFFFFFFF:07X}"
        self.next_invoice = 1


class _Out:
    """Objects (final state) and events of one unit of work; merged into the load buffer when accepted."""

    def __init__(self) -> None:
        self.objects: list[Obj] = []
        self.events: list[Obj] = []
        self.charges = 0
        self.subscribed = False
        self.past_due = False
        self.counts: dict[str, int] = {}

    def final(self, obj: Obj, *, via_event: bool = False) -> None:
        """An object in its final state; loaded as an object unless the last event already carries it."""
        resource = RESOURCES[obj["object"]]
        self.counts[resource] = self.counts.get(resource, 0) + 1
        if not via_event:
            self.objects.append(obj)


class _Demo:
    """One generation run: customers and their subscriptions first, then one-off charges up to the budget."""

    def __init__(self, store: Store, seed: int, n_charges: int, n_customers: int, now: int,
                 progress: Progress | None) -> None:
        self.store = store
        self.rng = random.Random(seed)
        self.ids = _Ids(seed)
        self.now = now
        self.start = now - YEAR
        self.year = dt.datetime.fromtimestamp(now, dt.UTC).year
        self.n_charges = n_charges
        self.n_customers = n_customers
        self.progress = progress
        self.buffer = _Out()
        self._customers: dict[int, _Customer] = {}
        self.loaded: dict[str, int] = dict.fromkeys(RESOURCES.values(), 0)
        # A webhook endpoint outage 30 to 26 hours ago: Stripe still reports those events as undelivered.
        self.outage = (now - 30 * HOUR, now - 26 * HOUR)
        # A processor incident five months ago: a two-day spike of processing_error declines.
        self.incident = (now - 150 * DAY, now - 148 * DAY)
        self._catalog()

    # -- catalog --------------------------------------------------------------------------------------

    def _catalog(self) -> None:
        created = self.start - 30 * DAY
        self.prices: dict[tuple[str, str, str], tuple[Obj, Obj]] = {}
        for key, (name, _per_seat, amounts) in _PRODUCTS.items():
            product = self.ids.keyed("prod", zlib.crc32(key.encode()))
            for currency in CURRENCIES:
                for interval, unit in zip(("month", "year"), amounts[currency], strict=True):
                    pid = self.ids.new("price")
                    nickname = f"{name} {interval}ly ({currency})"
                    recurring = {"interval": interval, "interval_count": 1, "meter": None,
                                 "trial_period_days": None, "usage_type": "licensed"}
                    price = {"id": pid, "object": "price", "active": True, "billing_scheme": "per_unit",
                             "created": created, "currency": currency.lower(), "custom_unit_amount": None,
                             "livemode": False, "lookup_key": f"{key}_{interval}ly_{currency.lower()}",
                             "metadata": {}, "nickname": nickname, "product": product, "recurring": recurring,
                             "tax_behavior": "exclusive", "tiers_mode": None, "transform_quantity": None,
                             "type": "recurring", "unit_amount": unit, "unit_amount_decimal": str(unit)}
                    plan = {"id": pid, "object": "plan", "active": True, "amount": unit, "amount_decimal": str(unit),
                            "billing_scheme": "per_unit", "created": created, "currency": currency.lower(),
                            "interval": interval, "interval_count": 1, "livemode": False, "metadata": {},
                            "meter": None, "nickname": nickname, "product": product, "tiers_mode": None,
                            "transform_usage": None, "trial_period_days": None, "usage_type": "licensed"}
                    self.prices[(key, currency, interval)] = (price, plan)
        self.coupons = {
            cid: {"id": cid, "object": "coupon", "amount_off": None, "created": created, "currency": None,
                  "duration": duration, "duration_in_months": months, "livemode": False, "max_redemptions": None,
                  "metadata": {}, "name": name, "percent_off": float(pct), "redeem_by": None, "times_redeemed": 0,
                  "valid": True}
            for cid, (name, pct, duration, months) in _COUPONS.items()
        }

    # -- shared pieces --------------------------------------------------------------------------------

    def _growth_time(self) -> int:
        """A time in the year, denser later (the business grows), weekdays busier, mostly business hours."""
        rng = self.rng
        for _ in range(3):
            u = rng.random()
            # Density rising linearly from 0.4 to 1.0 across the year: inverse of its CDF.
            x = (-0.4 + (0.16 + 0.84 * u) ** 0.5) / 0.6
            day = self.start + int(x * 365) * DAY
            if (day // DAY + 3) % 7 < 5 or rng.random() < 0.7:  # 1970-01-01 was a Thursday (weekday 3)
                break
        hour = min(23.99, max(0.0, rng.gauss(15, 4.5)))
        return min(day + int(hour * HOUR) + rng.randrange(60), self.now - 60)

    def _request(self, api: bool) -> Obj:
        if not api:
            return {"id": None, "idempotency_key": None}
        bits = self.rng.getrandbits(128)
        h = f"{bits:032x}"
        key = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return {"id": f"req_{_b62(bits >> 64)}", "idempotency_key": key}

    def _event(self, out: _Out, etype: str, obj: Obj, t: int, *, api: bool = False, prev: Obj | None = None) -> None:
        pending = 0
        if self.outage[0] <= t < self.outage[1]:
            pending = 1
        elif t >= self.now - 36 * HOUR and self.rng.random() < 0.05:
            pending = self.rng.choice((1, 1, 2))
        data: Obj = {"object": obj}
        if prev is not None:
            data["previous_attributes"] = prev
        out.events.append({"id": self.ids.new("evt"), "object": "event", "api_version": API_VERSION, "created": t,
                           "data": data, "livemode": False, "pending_webhooks": pending,
                           "request": self._request(api), "type": etype})

    def _balance_txn(self, out: _Out, t: int, amount: int, fee: int, currency: str, source: str, kind: str,
                     category: str, description: str) -> str:
        txn = self.ids.new("txn")
        available = (t // DAY + 2) * DAY
        fee_details = [{"amount": fee, "application": None, "currency": currency.lower(),
                        "description": "Stripe processing fees" if kind == "charge" else "Dispute fee",
                        "type": "stripe_fee"}] if fee else []
        out.final({"id": txn, "object": "balance_transaction", "amount": amount, "available_on": available,
                            "balance_type": "payments", "created": t, "currency": currency.lower(),
                            "description": description, "exchange_rate": None, "fee": fee,
                            "fee_details": fee_details, "net": amount - fee, "reporting_category": category,
                            "source": source, "status": "available" if available <= self.now else "pending",
                            "type": kind})
        return txn

    # -- charges, refunds, disputes -------------------------------------------------------------------

    def _pick_decline(self, t: int) -> tuple:
        if self.incident[0] <= t < self.incident[1] and self.rng.random() < 0.7:
            return _PROCESSING_ERROR
        return self.rng.choices(_DECLINES, _DECLINE_WEIGHTS)[0]

    def _fail_rate(self, t: int, card: _Card, home: str, base: float) -> float:
        if self.incident[0] <= t < self.incident[1]:
            return 0.35
        rate = base + (0.04 if card.country != home else 0.0) - (0.02 if card.brand == "amex" else 0.0)
        return max(rate, 0.01)

    def _charge(self, out: _Out, t: int, amount: int, currency: str, cust: _Customer | None, card: _Card,
                name: str, email: str, pi: str, description: str, *, succeed: bool,
                api: bool, refund_rate: float = 0.0, dispute_rate: float = 0.0,
                dispute: tuple | None = None) -> Obj:
        """One charge with its balance transaction, refunds, dispute and events; returns its first snapshot."""
        rng = self.rng
        cid = self.ids.new("ch")
        out.charges += 1
        if succeed:
            risk = "elevated" if rng.random() < 0.04 else "normal"
            outcome = {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                       "network_status": "approved_by_network", "reason": None, "risk_level": risk,
                       "risk_score": rng.randrange(56, 75) if risk == "elevated" else rng.randrange(2, 55),
                       "seller_message": "Payment complete.", "type": "authorized"}
            failure_code = failure_message = None
        else:
            reason, _w, failure_code, otype, advice, ndc, failure_message = self._pick_decline(t)
            network_status = "declined_by_network" if otype == "issuer_declined" else "not_sent_to_network"
            if otype == "blocked":
                seller = ("Stripe blocked this payment as too risky." if reason == "highest_risk_level"
                          else "Stripe blocked this payment because it matched a Radar rule.")
            elif reason == "generic_decline":
                seller = "The bank did not return any further details with this decline."
            else:
                seller = f"The bank returned the decline code `{reason}`."
            risk = "highest" if reason == "highest_risk_level" else ("elevated" if otype == "blocked" else "normal")
            outcome = {"advice_code": advice,
                       "network_advice_code": _MASTERCARD_ADVICE.get(advice) if card.brand == "mastercard" else None,
                       "network_decline_code": ndc, "network_status": network_status, "reason": reason,
                       "risk_level": risk,
                       "risk_score": rng.randrange(76, 100) if risk == "highest" else rng.randrange(5, 70),
                       "seller_message": seller, "type": otype}
            if reason == "rule":
                outcome["rule"] = "rule_block_if_country_mismatch_high_value"
        cvc = "fail" if failure_code == "incorrect_cvc" else "pass"
        bt = None
        if succeed:
            fee = _fee(amount, currency, card.country)
            bt = self._balance_txn(out, t, amount, fee, currency, cid, "charge", "charge", description)
        charge = {
            "id": cid, "object": "charge", "amount": amount, "amount_captured": amount if succeed else 0,
            "amount_refunded": 0, "application": None, "application_fee": None, "application_fee_amount": None,
            "balance_transaction": bt,
            "billing_details": {"address": {"city": None, "country": card.country, "line1": None, "line2": None,
                                            "postal_code": None, "state": None},
                                "email": email, "name": name, "phone": None, "tax_id": None},
            "calculated_statement_descriptor": "PAYOPS DEMO", "captured": succeed, "created": t,
            "currency": currency.lower(), "customer": cust.id if cust else None, "description": description,
            "disputed": False, "failure_balance_transaction": None, "failure_code": failure_code,
            "failure_message": failure_message, "fraud_details": {}, "livemode": False, "metadata": {},
            "on_behalf_of": None, "outcome": outcome, "paid": succeed, "payment_intent": pi,
            "payment_method": card.pm,
            "payment_method_details": {"card": {
                "amount_authorized": amount if succeed else None, "authorization_code": None, "brand": card.brand,
                "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": cvc},
                "country": card.country, "exp_month": card.exp_month, "exp_year": card.exp_year,
                "extended_authorization": {"status": "disabled"}, "fingerprint": card.fingerprint,
                "funding": card.funding, "incremental_authorization": {"status": "unavailable"},
                "installments": None, "last4": card.last4, "mandate": None,
                "multicapture": {"status": "unavailable"}, "network": card.brand, "network_token": {"used": False},
                "network_transaction_id": None,
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "regulated_status": "unregulated", "three_d_secure": None, "wallet": None}, "type": "card"},
            "radar_options": {}, "receipt_email": email, "receipt_number": None, "receipt_url": None,
            "refunded": False, "review": None, "shipping": None, "source": None, "source_transfer": None,
            "statement_descriptor": None, "statement_descriptor_suffix": None,
            "status": "succeeded" if succeed else "failed", "transfer_data": None, "transfer_group": None,
        }
        self._event(out, "charge.succeeded" if succeed else "charge.failed", charge, t, api=api)
        final = charge
        if succeed and dispute is None and rng.random() < refund_rate:
            final = self._refunds(out, charge, t)
        if succeed and final is charge and (dispute is not None or rng.random() < dispute_rate):
            final = self._dispute(out, charge, card, t, dispute) or charge
        # Stripe sends no event when `disputed` flips, so only that state needs the object itself.
        out.final(final, via_event=not final["disputed"])
        return charge

    def _refunds(self, out: _Out, charge: Obj, t: int) -> Obj:
        rng = self.rng
        amount, currency = charge["amount"], charge["currency"].upper()
        step = 10 if currency == "JPY" else 100
        refunded = 0
        snapshot = charge
        when = t
        kind = rng.random()
        # 60% one full refund, 30% one partial, 10% two partials (each 10-50% of the amount, rounded).
        values = [amount] if kind < 0.6 else [
            max(step, int(amount * rng.uniform(0.1, 0.5)) // step * step) for _ in range(1 if kind < 0.9 else 2)]
        for value in values:
            when = when + int(rng.expovariate(1 / (4 * DAY))) + 600
            if when >= self.now - 60 or refunded + value > amount:
                break
            refunded += value
            rid = self.ids.new("re")
            pending = when >= self.now - 2 * DAY and rng.random() < 0.3
            txn = self._balance_txn(out, when, -value, 0, currency, rid, "refund", "refund",
                                    f"REFUND FOR CHARGE ({charge['description']})")
            refund = {"id": rid, "object": "refund", "amount": value, "balance_transaction": txn,
                      "charge": charge["id"], "created": when, "currency": charge["currency"],
                      "destination_details": {"card": {"reference": None, "reference_status": "pending",
                                                       "reference_type": "acquirer_reference_number",
                                                       "type": "refund"}, "type": "card"},
                      "metadata": {}, "payment_intent": charge["payment_intent"],
                      "reason": rng.choice(("requested_by_customer", "requested_by_customer", "duplicate",
                                            "fraudulent", None)),
                      "receipt_number": None, "source_transfer_reversal": None,
                      "status": "pending" if pending else "succeeded", "transfer_reversal": None}
            out.final(refund)
            snapshot = {**snapshot, "amount_refunded": refunded, "refunded": refunded == amount}
            self._event(out, "charge.refunded", snapshot, when, api=True)
        return snapshot

    def _dispute(self, out: _Out, charge: Obj, card: _Card, t: int, forced: tuple | None) -> Obj | None:
        """A dispute on a succeeded charge; `forced` = (created, due_by, status) for the scripted queue."""
        rng = self.rng
        if forced:
            created, due_by, status = forced
            inquiry = status.startswith("warning")
        else:
            created = t + rng.randrange(5 * DAY, 75 * DAY)
            if created >= self.now - HOUR:
                return None
            due_by = (created // DAY + rng.randrange(7, 21)) * DAY + DAY - 1
            inquiry = card.brand in ("visa", "amex") and rng.random() < 0.12
            status = None
        reason = rng.choices([r for r, _ in _DISPUTE_REASONS], [w for _, w in _DISPUTE_REASONS])[0]
        currency = charge["currency"].upper()
        amount = charge["amount"]
        did = self.ids.new("dp")
        decided = None
        submitted = False
        if status is None:
            if due_by > self.now:
                r = rng.random()
                status = "under_review" if r < 0.15 else "needs_response"
                submitted = status == "under_review"
            elif rng.random() < 0.3:
                status, decided = "lost", due_by + 1
            else:
                submitted = True
                decided = due_by + rng.randrange(20 * DAY, 75 * DAY)
                if decided >= self.now:
                    status, decided = "under_review", None
                else:
                    status = "won" if rng.random() < 0.55 else "lost"
            if inquiry:
                status = {"needs_response": "warning_needs_response", "under_review": "warning_under_review",
                          "won": "warning_closed", "lost": "lost"}[status]
        else:
            submitted = status in ("under_review", "won", "lost")
            if status in ("won", "lost"):
                decided = min(due_by + 30 * DAY, self.now - DAY)
        txns = []
        if not inquiry:
            fee = _DISPUTE_FEE[currency]
            txns.append(self._balance_txn(out, created, -amount, fee, currency, did, "adjustment", "dispute",
                                          f"Chargeback withdrawal for {charge['id']}"))
        if status == "won" and not inquiry and decided:
            txns.append(self._balance_txn(out, decided, amount, 0, currency, did, "adjustment",
                                          "dispute_reversal", f"Chargeback reversal for {charge['id']}"))
        network = card.brand if card.brand in _NETWORK_REASON else "mastercard"

        def snapshot(state: str, evidence: bool) -> Obj:
            ev = dict.fromkeys(_EVIDENCE_KEYS)
            ev["enhanced_evidence"] = {}
            if evidence:
                ev.update(customer_email_address=charge["receipt_email"],
                          customer_name=charge["billing_details"]["name"], product_description=charge["description"],
                          uncategorized_text="Customer used the service after the charge; usage logs attached.")
            return {"id": did, "object": "dispute", "amount": amount, "balance_transactions": txns,
                    "charge": charge["id"], "created": created, "currency": charge["currency"],
                    "enhanced_eligibility_types": [], "evidence": ev,
                    "evidence_details": {"due_by": due_by, "enhanced_eligibility": {}, "has_evidence": evidence,
                                         "past_due": False, "submission_count": 1 if evidence else 0},
                    "is_charge_refundable": inquiry, "livemode": False, "metadata": {},
                    "payment_intent": charge["payment_intent"],
                    "payment_method_details": {"card": {"brand": card.brand,
                                                        "case_type": "inquiry" if inquiry else "chargeback",
                                                        "network_reason_code": _NETWORK_REASON[network][reason]},
                                               "type": "card"},
                    "reason": reason, "status": state}

        opened = snapshot("warning_needs_response" if inquiry else "needs_response", False)
        self._event(out, "charge.dispute.created", opened, created)
        final = opened
        if submitted:
            at = min(created + rng.randrange(DAY, 6 * DAY), due_by - HOUR, self.now - HOUR)
            final = snapshot("warning_under_review" if inquiry else "under_review", True)
            self._event(out, "charge.dispute.updated", final, at, api=True,
                        prev={"evidence": opened["evidence"], "evidence_details": opened["evidence_details"],
                              "status": opened["status"]})
        if decided is not None:
            final = snapshot(status, submitted)
            self._event(out, "charge.dispute.closed", final, decided)
        out.final(final, via_event=True)
        return {**charge, "disputed": True}

    # -- customers ------------------------------------------------------------------------------------

    def _make_customers(self) -> None:
        rng, n = self.rng, self.n_customers
        self.c_created = array("q", [0]) * n
        self.c_currency = array("B", [0]) * n
        self.c_first = array("B", [0]) * n
        self.c_last = array("B", [0]) * n
        self.c_domain = array("B", [0]) * n
        self.c_country = array("B", [0]) * n
        for i in range(n):
            cur = rng.choices(range(3), _CURRENCY_WEIGHTS)[0]
            self.c_currency[i] = cur
            self.c_first[i] = rng.randrange(20)
            self.c_last[i] = rng.randrange(20)
            self.c_domain[i] = rng.randrange(len(_DOMAINS))
            countries = _COUNTRIES[CURRENCIES[cur]]
            self.c_country[i] = rng.choices(range(len(countries)), [w for _, w in countries])[0]
            self.c_created[i] = self._growth_time() - rng.randrange(3 * DAY)

    def _customer_object(self, out: _Out, c: _Customer, subscribed: bool, delinquent: bool) -> None:
        def snapshot(currency: str | None, delinquent: bool) -> Obj:
            return {"id": c.id, "object": "customer",
                    "address": {"city": None, "country": c.country, "line1": None, "line2": None,
                                "postal_code": None, "state": None},
                    "balance": 0, "created": c.created, "currency": currency, "default_source": None,
                    "delinquent": delinquent, "description": None, "discount": None, "email": c.email,
                    "invoice_prefix": c.invoice_prefix,
                    "invoice_settings": {"custom_fields": None, "default_payment_method": c.card.pm, "footer": None,
                                         "rendering_options": None},
                    "livemode": False, "metadata": {}, "name": c.name, "next_invoice_sequence": c.next_invoice,
                    "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
                    "test_clock": None}

        first = snapshot(None, False)
        self._event(out, "customer.created", first, c.created, api=True)
        out.final(snapshot(c.currency.lower() if subscribed else None, delinquent))

    # -- subscriptions --------------------------------------------------------------------------------

    def _sub_snapshot(self, s: Obj) -> Obj:
        price, plan = s["price"]
        item = {"id": s["si"], "object": "subscription_item", "billing_thresholds": None, "created": s["created"],
                "current_period_end": s["pe"], "current_period_start": s["ps"], "discounts": [], "metadata": {},
                "plan": plan, "price": price, "quantity": s["quantity"], "subscription": s["id"], "tax_rates": []}
        discount = s["discount"]
        until = s["discount_until"]
        active_discount = discount is not None and (until is None or s["t"] < until)
        return {
            "id": s["id"], "object": "subscription", "application": None, "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": s["anchor"], "billing_cycle_anchor_config": None,
            "billing_mode": {"type": "classic"}, "billing_thresholds": None, "cancel_at": s["cancel_at"],
            "cancel_at_period_end": s["cancel_at_period_end"], "canceled_at": s["canceled_at"],
            "cancellation_details": {"comment": None, "feedback": s["feedback"], "reason": s["cancel_reason"]},
            "collection_method": "charge_automatically", "created": s["created"],
            "currency": s["currency"].lower(), "customer": s["customer"].id, "customer_account": None,
            "days_until_due": None, "default_payment_method": s["customer"].card.pm, "default_source": None,
            "default_tax_rates": [], "description": None, "discounts": [discount] if active_discount else [],
            "ended_at": s["ended_at"],
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": {"object": "list", "data": [item], "has_more": False, "total_count": 1,
                      "url": f"/v1/subscription_items?subscription={s['id']}"},
            "latest_invoice": s["latest_invoice"], "livemode": False, "metadata": {},
            "next_pending_invoice_item_invoice": None, "on_behalf_of": None, "pause_collection": None,
            "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                                 "save_default_payment_method": "off"},
            "pending_invoice_item_interval": None, "pending_setup_intent": None, "pending_update": None,
            "schedule": None, "start_date": s["created"], "status": s["status"], "test_clock": None,
            "transfer_data": None, "trial_end": s["trial_end"],
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": s["trial_start"],
        }

    def _sub_event(self, out: _Out, s: Obj, etype: str, t: int, api: bool = False) -> None:
        s["t"] = t
        snap = self._sub_snapshot(s)
        prev = None
        if etype == "customer.subscription.updated":
            last = s["last"]
            prev = {k: last[k] for k, v in snap.items() if last.get(k) != v}
        s["last"] = snap
        self._event(out, etype, snap, t, api=api, prev=prev)

    def _invoice(self, s: Obj, ps: int, pe: int, reason: str, t: int) -> Obj:
        c: _Customer = s["customer"]
        price = s["price"][0]
        iid = self.ids.new("in")
        subtotal = price["unit_amount"] * s["quantity"]
        discount = s["discount"]
        off = 0
        if discount is not None and (s["discount_until"] is None or t < s["discount_until"]):
            off = _pct(subtotal, int(discount["source"]["coupon"]["percent_off"] * 100))
        number = f"{c.invoice_prefix}-{c.next_invoice:04d}"
        c.next_invoice += 1
        s["invoices"].append(inv := {
            "id": iid, "pi": self.ids.new("pi"), "number": number, "created": t, "ps": ps, "pe": pe,
            "reason": reason, "subtotal": subtotal, "discount_id": discount["id"] if off else None, "off": off,
            "total": subtotal - off, "status": "open", "attempt_count": 0, "next_attempt": None,
            "paid_at": None, "uncollectible_at": None, "voided_at": None, "line": self.ids.new("il"),
            "price": price, "quantity": s["quantity"],
        })
        s["latest_invoice"] = iid
        return inv

    def _invoice_snapshot(self, s: Obj, inv: Obj) -> Obj:
        c: _Customer = s["customer"]
        price = inv["price"]
        cur = s["currency"].lower()
        paid = inv["status"] == "paid"
        discounts = [inv["discount_id"]] if inv["discount_id"] else []
        pay_status = {"paid": "paid", "open": "open"}.get(inv["status"], "canceled")
        line = {"id": inv["line"], "object": "line_item", "amount": inv["subtotal"], "currency": cur,
                "description": f"{inv['quantity']} × {price['nickname']}",
                "discount_amounts": [{"amount": inv["off"], "discount": inv["discount_id"]}] if inv["off"] else [],
                "discountable": True, "discounts": discounts, "invoice": inv["id"], "livemode": False,
                "metadata": {},
                "parent": {"invoice_item_details": None,
                           "subscription_item_details": {"invoice_item": None, "proration": False,
                                                         "proration_details": {"credited_items": None},
                                                         "subscription": s["id"], "subscription_item": s["si"]},
                           "type": "subscription_item_details"},
                "period": {"end": inv["pe"], "start": inv["ps"]}, "pretax_credit_amounts": [],
                "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                            "type": "price_details", "unit_amount_decimal": price["unit_amount_decimal"]},
                "quantity": inv["quantity"], "subtotal": inv["subtotal"], "taxes": []}
        return {
            "id": inv["id"], "object": "invoice", "account_country": "US", "account_name": "PayOps Demo",
            "account_tax_ids": None, "amount_due": inv["total"], "amount_overpaid": 0,
            "amount_paid": inv["total"] if paid else 0, "amount_remaining": 0 if paid else inv["total"],
            "amount_shipping": 0, "application": None, "attempt_count": inv["attempt_count"],
            "attempted": inv["attempt_count"] > 0, "auto_advance": inv["status"] == "open",
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None, "provider": None,
                              "status": None},
            "automatically_finalizes_at": None, "billing_reason": inv["reason"],
            "collection_method": "charge_automatically", "created": inv["created"], "currency": cur,
            "custom_fields": None, "customer": c.id, "customer_account": None, "customer_address": None,
            "customer_email": c.email, "customer_name": c.name, "customer_phone": None, "customer_shipping": None,
            "customer_tax_exempt": "none", "customer_tax_ids": [], "default_payment_method": None,
            "default_source": None, "default_tax_rates": [], "description": None, "discounts": discounts,
            "due_date": None, "effective_at": inv["created"], "ending_balance": 0, "footer": None,
            "from_invoice": None, "hosted_invoice_url": None, "invoice_pdf": None, "issuer": {"type": "self"},
            "last_finalization_error": None, "latest_revision": None,
            "lines": {"object": "list", "data": [line], "has_more": False, "total_count": 1,
                      "url": f"/v1/invoices/{inv['id']}/lines"},
            "livemode": False, "metadata": {}, "next_payment_attempt": inv["next_attempt"],
            "number": inv["number"], "on_behalf_of": None,
            "parent": {"quote_details": None, "subscription_details": {"metadata": {}, "subscription": s["id"]},
                       "type": "subscription_details"},
            "payment_settings": {"default_mandate": None, "payment_method_options": None,
                                 "payment_method_types": None},
            "payments": {"object": "list", "data": [{
                "id": f"inpay_{inv['id'][3:]}", "object": "invoice_payment",
                "amount_paid": inv["total"] if paid else None, "amount_requested": inv["total"],
                "created": inv["created"], "currency": cur, "invoice": inv["id"], "is_default": True,
                "livemode": False, "payment": {"payment_intent": inv["pi"], "type": "payment_intent"},
                "status": pay_status,
                "status_transitions": {"canceled_at": inv["voided_at"] or inv["uncollectible_at"],
                                       "paid_at": inv["paid_at"]}}],
                "has_more": False, "total_count": 1, "url": f"/v1/invoice_payments?invoice={inv['id']}"},
            "period_end": inv["pe"], "period_start": inv["ps"], "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0, "receipt_number": None, "rendering": None,
            "shipping_cost": None, "shipping_details": None, "starting_balance": 0, "statement_descriptor": None,
            "status": inv["status"],
            "status_transitions": {"finalized_at": None if inv["status"] == "draft" else
                                   inv["created"] + (0 if inv["reason"] == "subscription_create" else HOUR),
                                   "marked_uncollectible_at": inv["uncollectible_at"], "paid_at": inv["paid_at"],
                                   "voided_at": inv["voided_at"]},
            "subtotal": inv["subtotal"], "subtotal_excluding_tax": inv["subtotal"], "test_clock": None,
            "total": inv["total"],
            "total_discount_amounts": [{"amount": inv["off"], "discount": inv["discount_id"]}] if inv["off"] else [],
            "total_excluding_tax": inv["total"], "total_pretax_credit_amounts": [], "total_taxes": [],
            "webhooks_delivered_at": inv["created"],
        }

    def _pay(self, out: _Out, s: Obj, inv: Obj, t: int, *, first: bool, fail: bool | None) -> bool:
        """One payment attempt on an invoice: a charge, and the invoice's events. True when paid."""
        c: _Customer = s["customer"]
        rate = self._fail_rate(t, c.card, c.country, 0.08 if inv["attempt_count"] == 0 else 0.55)
        ok = (self.rng.random() >= rate) if fail is None else not fail
        inv["attempt_count"] += 1
        description = "Subscription creation" if inv["reason"] == "subscription_create" else "Subscription update"
        self._charge(out, t, inv["total"], s["currency"], c, c.card, c.name, c.email, inv["pi"],
                     description, succeed=ok, api=first, refund_rate=0.015, dispute_rate=0.003)
        if ok:
            inv.update(status="paid", paid_at=t, next_attempt=None)
            self._event(out, "invoice.paid", self._invoice_snapshot(s, inv), t + 1, api=first)
        else:
            retries = (3 * DAY, 5 * DAY, 7 * DAY)  # smart-retry style schedule: 4 attempts over ~2 weeks
            n = inv["attempt_count"]
            inv["next_attempt"] = t + retries[n - 1] if n <= len(retries) and inv["reason"] != "subscription_create" \
                else None
            self._event(out, "invoice.payment_failed", self._invoice_snapshot(s, inv), t + 1, api=first)
        return ok

    def _subscribe(self, out: _Out, c: _Customer, plan: Obj) -> int | None:
        """Simulate one subscription from plan['start'] to now; returns when it ended (None: still alive)."""
        rng, now = self.rng, self.now
        t0 = plan["start"]
        interval = plan["interval"]
        months = 12 if interval == "year" else 1
        coupon = plan.get("coupon")
        sid = self.ids.new("sub")
        discount = until = None
        if coupon:
            cp = self.coupons[coupon]
            # `once` covers the first invoice only; `repeating` the invoices of its first N months.
            until = {"forever": None, "once": t0 + 1,
                     "repeating": _add_months(t0, cp["duration_in_months"] or 1)}[cp["duration"]]
            discount = {"id": self.ids.new("di"), "object": "discount", "checkout_session": None,
                        "customer": c.id, "customer_account": None,
                        "end": until if cp["duration"] == "repeating" else None, "invoice": None,
                        "invoice_item": None, "promotion_code": None, "source": {"coupon": cp, "type": "coupon"},
                        "start": t0, "subscription": sid, "subscription_item": None}
        trial_end = t0 + plan["trial_days"] * DAY if plan.get("trial_days") else None
        s: Obj = {"id": sid, "si": self.ids.short("si"), "customer": c,
                  "currency": c.currency, "price": self.prices[(plan["product"], c.currency, interval)],
                  "quantity": plan["quantity"], "discount": discount, "discount_until": until, "created": t0,
                  "anchor": trial_end or t0,
                  "trial_start": t0 if trial_end else None, "trial_end": trial_end, "status": "trialing",
                  "ps": t0, "pe": trial_end or _add_months(t0, months), "cancel_at": None,
                  "cancel_at_period_end": False, "canceled_at": None, "ended_at": None, "cancel_reason": None,
                  "feedback": None, "latest_invoice": None, "invoices": [], "t": t0, "last": None}
        fail_from = plan.get("fail_from")
        ended = None
        if trial_end:
            self._sub_event(out, s, "customer.subscription.created", t0, api=True)
            if trial_end > now:
                return self._finish_sub(out, s, None)
            if plan.get("trial_cancel", rng.random() < 0.3):
                s.update(status="canceled", canceled_at=trial_end, ended_at=trial_end,
                         cancel_reason="cancellation_requested")
                self._sub_event(out, s, "customer.subscription.deleted", trial_end)
                return self._finish_sub(out, s, trial_end)
        else:
            inv = self._invoice(s, t0, s["pe"], "subscription_create", t0)
            first_fail = None if fail_from is None else t0 >= fail_from
            if self._pay(out, s, inv, t0 + 2, first=True, fail=first_fail):
                s["status"] = "active"
                self._sub_event(out, s, "customer.subscription.created", t0, api=True)
            else:
                # The first payment failed: Stripe leaves the subscription incomplete for 23 hours.
                s["status"] = "incomplete"
                self._sub_event(out, s, "customer.subscription.created", t0, api=True)
                retry = t0 + rng.randrange(600, 6 * HOUR)
                if rng.random() < 0.5 and retry < now and self._pay(out, s, inv, retry, first=True, fail=False):
                    s["status"] = "active"
                    self._sub_event(out, s, "customer.subscription.updated", retry + 2)
                elif t0 + 23 * HOUR < now:
                    inv.update(status="void", voided_at=t0 + 23 * HOUR, next_attempt=None)
                    self._event(out, "invoice.voided", self._invoice_snapshot(s, inv), t0 + 23 * HOUR)
                    s.update(status="incomplete_expired", ended_at=t0 + 23 * HOUR)
                    self._sub_event(out, s, "customer.subscription.updated", t0 + 23 * HOUR)
                    return self._finish_sub(out, s, t0 + 23 * HOUR)
                else:
                    return self._finish_sub(out, s, None)
        anchor = s["anchor"]
        churn_p = plan.get("churn_p", 0.035 if months == 1 else 0.12)
        qty_changes = list(plan.get("qty_changes", ()))
        per_seat = _PRODUCTS[plan["product"]][1]
        k = 0
        while True:
            ps, pe = _add_months(anchor, k * months), _add_months(anchor, (k + 1) * months)
            if k > 0 or trial_end:
                if ps > now:
                    break
                if s["cancel_at_period_end"]:
                    s.update(status="canceled", ended_at=ps, cancel_at_period_end=False)
                    self._sub_event(out, s, "customer.subscription.deleted", ps)
                    ended = ps
                    break
                ended, stop = self._renew(out, s, ps, pe, fail_from)
                if stop:
                    break
            # Within the period: seat changes, then maybe a cancellation request.
            lo, hi = max(ps, s["t"]) + HOUR, min(pe, now)
            if lo < hi:
                for when, qty in [q for q in qty_changes if lo <= q[0] < hi]:
                    self._change_quantity(out, s, when, qty)
                if plan.get("scripted"):
                    pass  # a scripted story changes only what its plan says
                elif per_seat and rng.random() < 0.08 * months:
                    q = s["quantity"]
                    q = q + rng.randrange(1, 6) if q == 1 or rng.random() < 0.65 else max(1, q - rng.randrange(1, 4))
                    self._change_quantity(out, s, rng.randrange(lo, hi), q)
                elif not per_seat and rng.random() < 0.02 * months:
                    # Starter -> Team with two seats: an expansion through a price change.
                    s["price"] = self.prices[("team", c.currency, interval)]
                    s["quantity"] = 2
                    self._sub_event(out, s, "customer.subscription.updated", rng.randrange(lo, hi), api=True)
                if "churn_at" in plan:
                    when = plan["churn_at"] if plan["churn_at"] is not None and lo <= plan["churn_at"] < hi else None
                else:
                    when = rng.randrange(max(lo, s["t"] + 60), max(hi, s["t"] + 61)) if rng.random() < churn_p \
                        else None
                if when is not None and when < now:
                    s["feedback"] = rng.choice(("too_expensive", "missing_features", "switched_service", "unused",
                                                "other", None))
                    s.update(canceled_at=when, cancel_reason="cancellation_requested")
                    if plan.get("at_period_end", rng.random() < 0.6):
                        s.update(cancel_at_period_end=True, cancel_at=pe)
                        self._sub_event(out, s, "customer.subscription.updated", when, api=True)
                    else:
                        s.update(status="canceled", ended_at=when)
                        self._sub_event(out, s, "customer.subscription.deleted", when, api=True)
                        ended = when
                        break
            if pe > now:
                break
            k += 1
        return self._finish_sub(out, s, ended)

    def _renew(self, out: _Out, s: Obj, ps: int, pe: int, fail_from: int | None) -> tuple[int | None, bool]:
        """A renewal (or trial end) at `ps`: new period, an invoice, 1 to 4 attempts. -> (ended_at, stop)."""
        now = self.now
        s.update(ps=ps, pe=pe)
        inv = self._invoice(s, ps, pe, "subscription_cycle", ps)
        bill = ps + HOUR  # Stripe finalizes and charges a renewal invoice about an hour after creating it
        if bill >= now:
            inv.update(status="draft", next_attempt=bill)
            self._event(out, "invoice.created", self._invoice_snapshot(s, inv), ps)
            s["status"] = "active"
            self._sub_event(out, s, "customer.subscription.updated", ps)
            return None, True
        forced = None if fail_from is None else bill >= fail_from
        if self._pay(out, s, inv, bill, first=False, fail=forced):
            s["status"] = "active"
            self._sub_event(out, s, "customer.subscription.updated", ps)
            return None, False
        s["status"] = "past_due"
        self._sub_event(out, s, "customer.subscription.updated", bill + 2)
        while inv["next_attempt"] is not None and inv["next_attempt"] < now:
            retry = inv["next_attempt"]
            if self._pay(out, s, inv, retry, first=False, fail=forced):
                s["status"] = "active"
                self._sub_event(out, s, "customer.subscription.updated", retry + 2)
                return None, False
        if inv["next_attempt"] is not None:
            return None, True  # still retrying at `now`: past_due with an open invoice
        # Every retry failed: cancel the subscription and write the invoice off.
        gone = min(inv["created"] + 16 * DAY, now - 60)
        if self.rng.random() < 0.75:
            inv.update(status="uncollectible", uncollectible_at=gone)
            self._event(out, "invoice.marked_uncollectible", self._invoice_snapshot(s, inv), gone)
        else:
            inv.update(status="void", voided_at=gone)
            self._event(out, "invoice.voided", self._invoice_snapshot(s, inv), gone)
        s.update(status="canceled", canceled_at=gone, ended_at=gone, cancel_reason="payment_failed")
        self._sub_event(out, s, "customer.subscription.deleted", gone)
        return gone, True

    def _change_quantity(self, out: _Out, s: Obj, when: int, qty: int) -> None:
        if when >= self.now or qty == s["quantity"] or s["status"] in ("canceled", "incomplete_expired"):
            return
        s["quantity"] = qty
        self._sub_event(out, s, "customer.subscription.updated", max(when, s["t"] + 1), api=True)

    def _finish_sub(self, out: _Out, s: Obj, ended: int | None) -> int | None:
        # Every invoice's and the subscription's final state is the snapshot of its last event.
        out.counts["invoices"] = out.counts.get("invoices", 0) + len(s["invoices"])
        out.final(s["last"], via_event=True)
        out.subscribed = True
        out.past_due = out.past_due or s["status"] == "past_due"
        return ended

    def _random_plan(self, start: int) -> Obj:
        rng = self.rng
        product = rng.choices(("starter", "team", "business"), (45, 40, 15))[0]
        quantity = 1 if product == "starter" else rng.choice(
            (1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 12, 15) if product == "team" else (1, 2, 3, 5, 8, 10, 15, 20, 25))
        r = rng.random()
        coupon = "FOREVER20" if r < 0.12 else ("LAUNCH50" if r < 0.20 else ("SPRING25" if r < 0.26 else None))
        return {"start": start, "interval": "year" if rng.random() < 0.18 else "month", "product": product,
                "quantity": quantity, "coupon": coupon, "trial_days": 14 if rng.random() < 0.3 else None}

    def _scripted_plans(self) -> list[list[Obj]]:
        """Customers whose stories every page needs, whatever the seed or scale (index order = customer)."""
        now = self.now
        past_due_start = _add_months(now - 4 * DAY, -6)
        return [
            # a reactivation: canceled, then subscribed again months later
            [{"start": now - 330 * DAY, "interval": "month", "product": "team", "quantity": 2, "churn_at":
              now - 200 * DAY, "at_period_end": False, "fail_from": None, "churn_p": 0},
             {"start": now - 120 * DAY, "interval": "month", "product": "starter", "quantity": 1, "churn_at": None,
              "churn_p": 0, "fail_from": now + DAY}],
            # past_due: the renewal four days ago failed; Stripe retries again in a few days
            [{"start": past_due_start, "interval": "month", "product": "business", "quantity": 3,
              "fail_from": now - 5 * DAY, "churn_at": None, "churn_p": 0}],
            # trialing
            [{"start": now - 5 * DAY, "interval": "month", "product": "team", "quantity": 4, "trial_days": 14}],
            # expansion 3 -> 8 seats
            [{"start": now - 250 * DAY, "interval": "month", "product": "team", "quantity": 3,
              "qty_changes": [(now - 100 * DAY, 8)], "churn_at": None, "churn_p": 0, "fail_from": now + DAY}],
            # contraction 10 -> 6 seats
            [{"start": now - 280 * DAY, "interval": "month", "product": "business", "quantity": 10,
              "qty_changes": [(now - 60 * DAY, 6)], "churn_at": None, "churn_p": 0, "fail_from": now + DAY}],
            # yearly plan, 3 seats, 20% off forever
            [{"start": now - 150 * DAY, "interval": "year", "product": "team", "quantity": 3, "coupon": "FOREVER20",
              "churn_at": None, "churn_p": 0, "fail_from": now + DAY}],
            # cancellation scheduled for the period end
            [{"start": now - 180 * DAY, "interval": "month", "product": "starter", "quantity": 1,
              "churn_at": now - 3 * DAY, "at_period_end": True, "fail_from": now + DAY}],
            # churned after every retry failed
            [{"start": now - 250 * DAY, "interval": "month", "product": "starter", "quantity": 1,
              "fail_from": now - 60 * DAY, "churn_at": None, "churn_p": 0}],
            # two subscriptions, one canceled: a contraction, not churn
            [{"start": now - 300 * DAY, "interval": "month", "product": "starter", "quantity": 1, "churn_at": None,
              "churn_p": 0, "fail_from": now + DAY},
             {"start": now - 200 * DAY, "interval": "month", "product": "team", "quantity": 2,
              "churn_at": now - 40 * DAY, "at_period_end": False, "churn_p": 0, "fail_from": now + DAY}],
        ]

    def _customer_story(self, idx: int, plans: list[Obj] | None) -> _Out:
        out = _Out()
        c = _Customer(self, idx)
        rng = self.rng
        if plans is not None:
            c.created = min(c.created, min(p["start"] for p in plans) - DAY)
            self.c_created[idx] = c.created
            for plan in plans:
                self._subscribe(out, c, {**plan, "scripted": True})
        elif rng.random() < 0.55:
            start = c.created + rng.randrange(10 * DAY)
            count = 0
            while start < self.now - HOUR and count < 3:
                count += 1
                ended = self._subscribe(out, c, self._random_plan(start))
                if ended is None or rng.random() >= 0.2:
                    break
                start = ended + rng.randrange(20 * DAY, 150 * DAY)  # some churned customers come back
        self._customer_object(out, c, out.subscribed, out.past_due)
        return out

    # -- one-off charges ------------------------------------------------------------------------------

    def _paying_customer(self, idx: int) -> _Customer:
        """A customer's profile for one-off charges, cached (bounded, so memory stays flat at any scale)."""
        cust = self._customers.get(idx)
        if cust is None:
            if len(self._customers) >= 100_000:
                self._customers.clear()
            cust = self._customers[idx] = _Customer(self, idx)
        return cust

    def _one_off(self, out: _Out, dispute: tuple | None = None, t: int | None = None) -> None:
        rng = self.rng
        t = self._growth_time() if t is None else t
        # Customers who existed by then (they are sorted by sign-up); before the first sign-up, a guest.
        known = bisect.bisect_right(self._signed_up, t - 600)
        if known == 0 or (dispute is None and rng.random() < 0.12):
            n = self.ids._next.get("guest", 0)
            self.ids._next["guest"] = n + 1
            currency = CURRENCIES[rng.choices(range(3), _CURRENCY_WEIGHTS)[0]]
            first, last = rng.choice(_FIRST[currency]), rng.choice(_LAST[currency])
            name = f"{first} {last}"
            email = _ascii(f"{first}.{last}") + f".g{n}@{rng.choice(_DOMAINS)}"
            country = _COUNTRIES[currency][0][0]
            card = _Card(self.ids, (1 << 40) + n, currency, country, self.year)
            cust = None
        else:
            cust = self._paying_customer(self._by_signup[rng.randrange(known)])
            currency, name, email, country, card = cust.currency, cust.name, cust.email, cust.country, cust.card
        if rng.random() < 0.75:
            amount = rng.choice(_ONE_OFF[currency])
        else:
            major = rng.lognormvariate(3.6, 0.9)  # median ~37 dollars or euros; yen at ~150 to the dollar
            if currency == "JPY":
                amount = max(100, int(major * 150) // 10 * 10)
            else:
                amount = max(100, int(major) * 100 + rng.choice((0, 50, 99)))
        ok = dispute is not None or rng.random() >= self._fail_rate(t, card, country, 0.09)
        self._charge(out, t, amount, currency, cust, card, name, email, self.ids.new("pi"),
                     rng.choice(_ONE_OFF_DESCRIPTIONS), succeed=ok, api=True, refund_rate=0.045,
                     dispute_rate=0.007, dispute=dispute)

    def _scripted_disputes(self) -> list[tuple[int, int, str]]:
        """(created, due_by, status): overdue, due within 72 hours, later, and decided ones."""
        now = self.now
        plan = ((-2, "needs_response"), (-1, "needs_response"), (1, "needs_response"),
                (2, "warning_needs_response"), (3, "needs_response"), (6, "needs_response"), (10, "under_review"),
                (-40, "won"), (-50, "lost"))
        # due_by is the end of a day (23:59:59 UTC), as Stripe sets it; +3 days ends 1 s before 72 hours.
        return [(now + days * DAY - 14 * DAY - 5 * HOUR, now + days * DAY - 1, status) for days, status in plan]

    # -- loading --------------------------------------------------------------------------------------

    def _accept(self, out: _Out) -> None:
        self.buffer.objects.extend(out.objects)
        self.buffer.events.extend(out.events)
        for resource, rows in out.counts.items():
            self.loaded[resource] += rows
        self.loaded["events"] += len(out.events)
        if len(self.buffer.objects) + len(self.buffer.events) >= BATCH_ROWS:
            self._flush()

    def _flush(self, done: bool = False) -> None:
        buf = self.buffer
        self.buffer = _Out()
        if buf.objects:
            self.store.apply_objects(PROVIDER, buf.objects, version=self.now)
        if buf.events:
            self.store.apply_events(PROVIDER, buf.events)
        if self.progress:
            for resource, rows in self.loaded.items():
                if rows or done:
                    self.progress(resource, rows, done)

    def run(self) -> dict[str, int]:
        self._make_customers()
        sub_budget = self.n_charges * 45 // 100
        scripted = self._scripted_plans()
        used = 0
        for idx in range(self.n_customers):
            plans = scripted[idx] if idx < len(scripted) else None
            out = self._customer_story(idx, plans)
            if used + out.charges > sub_budget:
                # Over the subscription share of the charge budget: keep the customer, drop the subscriptions.
                out = _Out()
                self._customer_object(out, _Customer(self, idx), False, False)
            used += out.charges
            self._accept(out)
        remaining = self.n_charges - used
        by_signup = sorted(range(self.n_customers), key=self.c_created.__getitem__)
        self._by_signup = array("q", by_signup)
        self._signed_up = array("q", (self.c_created[i] for i in by_signup))
        del by_signup
        out = _Out()
        for created, due_by, status in self._scripted_disputes():
            if remaining <= 0:
                break
            self._one_off(out, dispute=(created, due_by, status), t=created - 20 * DAY)
            remaining -= 1
        self._accept(out)
        while remaining > 0:
            out = _Out()
            for _ in range(min(remaining, 2_000)):
                self._one_off(out)
            remaining -= out.charges
            self._accept(out)
        self._flush(done=True)
        return {"payments": self.loaded["charges"], "refunds": self.loaded["refunds"],
                "disputes": self.loaded["disputes"], "customers": self.loaded["customers"],
                "subscriptions": self.loaded["subscriptions"],
                "subscription_items": self.loaded["subscriptions"],  # one item per demo subscription
                "invoices": self.loaded["invoices"], "balance_transactions": self.loaded["balance_transactions"],
                "events": self.loaded["events"]}


def load_demo(store: Store, *, seed: int = 7, scale: int | None = None, now: dt.datetime | None = None,
              progress: Progress | None = None) -> dict[str, int]:
    """Generate a seeded year of Stripe data ending at `now` (default: today's midnight UTC) and load it.

    Objects flow through `store.apply_objects` / `store.apply_events`, exactly like synced Stripe data,
    in batches of about 20,000 rows. `scale` = number of charges (customers and subscriptions scale along).
    Returns the rows loaded per store table.
    """
    if scale is not None and scale < 1:
        raise ConfigError(f"The demo scale must be a positive number of charges, not {scale}.")
    n_charges = DEFAULT_CHARGES if scale is None else scale
    n_customers = DEFAULT_CUSTOMERS if scale is None else max(40, scale * DEFAULT_CUSTOMERS // DEFAULT_CHARGES)
    # Recorded as a run like any sync, so freshness and the runs table show when the demo data landed.
    run_id = store.start_run("stripe", "demo")
    try:
        counts = _Demo(store, seed, n_charges, n_customers, _midnight_utc(now), progress).run()
    except Exception as exc:
        store.finish_run(run_id, "failed", {}, f"{type(exc).__name__}: {exc}")
        raise
    store.finish_run(run_id, "succeeded", counts)
    return counts
