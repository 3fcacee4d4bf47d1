"""Links from an object id to the provider's own dashboard (test or live, as the object is): a URL the operator clicks
in a table; the console never loads it. Stripe now; another provider adds a builder to `BUILDERS`.

Stripe's dashboard paths (https://dashboard.stripe.com/<test/>...): payments/<ch_ or pi_> (the dashboard opens a charge
under its payment), refunds/<re_>, disputes/<du_ or dp_>, customers/<cus_>, subscriptions/<sub_>, invoices/<in_>,
events/<evt_>. Test-mode objects live under /test/; live ones at the root.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

import numpy as np

# An id is provider text (untrusted): only the characters provider ids are made of become part of a URL, so no id can
# climb out of its path ("..", "/"), add a query, or turn the link into another scheme.
_SAFE_ID = re.compile(r"[A-Za-z0-9_\-]{1,255}")

KINDS = ("payment", "refund", "dispute", "customer", "subscription", "invoice", "event")

STRIPE_DASHBOARD = "https://dashboard.stripe.com"
STRIPE_PATHS = {
    "payment": "payments",
    "refund": "refunds",
    "dispute": "disputes",
    "customer": "customers",
    "subscription": "subscriptions",
    "invoice": "invoices",
    "event": "events",
}

# The display text of a link column in st.dataframe (a JavaScript regex on the URL): its last path segment, which is
# the id every builder here ends its URL with (the grid shows it percent-decoded).
DISPLAY_ID = r"/([^/?#]+)$"


def stripe_url(kind: str, object_id: str, livemode: bool) -> str | None:
    """The Stripe dashboard page of one object; None for a kind Stripe's dashboard has no page for."""
    path = STRIPE_PATHS.get(kind)
    if path is None:
        return None
    mode = "" if livemode else "/test"
    return f"{STRIPE_DASHBOARD}{mode}/{path}/{quote(object_id, safe='')}"


# provider -> (kind, id, livemode) -> URL or None. Braintree needs the merchant id in its URLs and Square its
# sandbox host, both settings: add them here with those, not guessed.
BUILDERS: dict[str, Callable[[str, str, bool], str | None]] = {"stripe": stripe_url}


def _livemode(value: object) -> bool | None:
    # Only a real boolean says which mode: a missing or odd value gives no link rather than one into the wrong mode.
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return None


def dashboard_url(provider: object, kind: str, object_id: object, livemode: object) -> str | None:
    """The provider dashboard URL of an object, or None when there is none to give: unknown provider or kind, an id
    that is not id-shaped, or a mode that is not known (True live, False test)."""
    if kind not in KINDS:
        raise ValueError(f"unknown object kind {kind!r} (known: {', '.join(KINDS)})")
    builder = BUILDERS.get(provider) if isinstance(provider, str) else None
    mode = _livemode(livemode)
    if builder is None or mode is None or not isinstance(object_id, str) or not _SAFE_ID.fullmatch(object_id):
        return None
    return builder(kind, object_id, mode)
