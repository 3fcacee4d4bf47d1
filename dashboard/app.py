"""The navigation script: page config, sign-in and role, mode banner, sidebar filters and store freshness, then the
grouped pages this role may use."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/ on sys.path, not the project root
    sys.path.insert(0, str(ROOT))

from dashboard import roles  # noqa: E402
from dashboard.action_panel import sidebar_user  # noqa: E402
from dashboard.context import get_settings, get_store, run_query  # noqa: E402
from dashboard.filters import sidebar_filters  # noqa: E402
from dashboard.layout import SYNC_PAGE, fresh_query, freshness_line  # noqa: E402
from dashboard.navigation import BANNERS, PAGE_ICON, PAGES, PAGES_DIR, SLUGS, allowed_pages  # noqa: E402
from dashboard.queries.common import filter_options, freshness  # noqa: E402
from dashboard.text import literal  # noqa: E402
from sync.errors import PayOpsError  # noqa: E402


def sidebar_freshness(here: str | None = None) -> None:
    """The last successful sync or demo load per provider, on every page, in the words and rounding the Sync health
    page uses (layout.freshness_line over the same query); `here` is the page's slug, so the hint never points a
    user at the page they are on."""
    fresh = fresh_query(freshness)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if fresh is None:
        return
    if fresh.empty:
        st.sidebar.caption("Store freshness: nothing loaded yet." + ("" if here == SYNC_PAGE
                                                                     else " See **Sync health**."))
        return
    st.sidebar.caption("Store freshness  \n" + "  \n".join(freshness_line(row, now) for _, row in fresh.iterrows()))


def navigation_pages(role: str) -> dict[str, list[st.Page]]:
    allowed = set(allowed_pages(role))
    groups: dict[str, list[st.Page]] = {}
    for group, filename, title, icon in PAGES:
        if filename in allowed:
            groups.setdefault(group, []).append(st.Page(PAGES_DIR / filename, title=title, icon=icon))
    return groups


st.set_page_config(page_title="PayOps", page_icon=PAGE_ICON, layout="wide")
try:
    settings = get_settings()
    get_store()
except PayOpsError as exc:
    st.error(literal(exc))
    st.stop()

actor = sidebar_user()  # with [auth] and nobody signed in, this shows the sign-in page and stops
if actor.role == roles.NO_ROLE:  # signed in, but refused (an unverified email): say why; Sign out stays offered
    st.title("PayOps")
    st.error(roles.UNVERIFIED_EMAIL)
    st.stop()
label, colour, meaning = BANNERS[settings.stripe_mode]
st.badge(label, color=colour, help=meaning)

options = run_query(filter_options)
if options is None:
    st.stop()
sidebar_filters(options.loc[options["kind"] == "currency", "value"].tolist(),
                options.loc[options["kind"] == "provider", "value"].tolist())
page = st.navigation(navigation_pages(actor.role))
sidebar_freshness(SLUGS.get(f"{page.url_path}.py"))  # the default page ("" path) is never Sync health
page.run()
