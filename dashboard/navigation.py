"""What the console's navigation holds: the pages, their groups and audiences, and the mode banners (no Streamlit
run, no store: importable anywhere)."""

from __future__ import annotations

from pathlib import Path

from dashboard import roles

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = ROOT / "pages"

# (group, file, title, icon); a page whose file does not exist yet is left out of the navigation.
# Emoji, never ":material/...:": Streamlit's frontend turns a page's material icon into a favicon fetched from
# Google's font CDN (fonts.gstatic.com), so every page view would tell an outside host the console is in use;
# an emoji becomes an inline data: SVG.
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("Finance", "revenue.py", "Revenue", "💰"),
    ("Finance", "mrr.py", "MRR & churn", "🔁"),
    ("Finance", "failures.py", "Failures", "⚠️"),
    ("Support", "payments.py", "Payments", "🔎"),
    ("Support", "disputes.py", "Disputes", "⚖️"),
    ("Support", "subscriptions.py", "Subscriptions", "📅"),
    ("Engineering", "webhooks.py", "Webhooks", "🪝"),
    ("Engineering", "sync_health.py", "Sync health", "🔄"),
    ("Control", "approvals.py", "Approvals", "✅"),
    ("Control", "audit.py", "Audit", "📜"),
)
PAGE_ICON = "💳"  # the console's own favicon (dashboard/app.py), for the same reason
# Page file -> its key in roles.PAGE_ROLES: a page the user's role may not use is left out of the navigation.
SLUGS: dict[str, str] = {
    "revenue.py": "revenue", "mrr.py": "revenue",  # MRR has the revenue page's audience
    "failures.py": "failures", "payments.py": "payments", "disputes.py": "disputes",
    "subscriptions.py": "subscriptions", "webhooks.py": "webhooks", "sync_health.py": "sync",
    "approvals.py": "approvals", "audit.py": "audit",
}

BANNERS = {
    "live": ("LIVE", "red", "Live Stripe data; actions move real money."),
    "test": ("TEST MODE", "orange", "Stripe test-mode data."),
    "demo": ("DEMO", "blue", "No provider key: showing what the store holds (demo data or an earlier sync)."),
}


def allowed_pages(role: str) -> list[str]:
    """Files of the pages this role sees, in navigation order (only files that exist)."""
    existing = [filename for _, filename, _, _ in PAGES if (PAGES_DIR / filename).is_file()]
    slugs = [SLUGS.get(filename, filename.removesuffix(".py")) for filename in existing]
    visible = set(roles.visible_pages(role, slugs))
    return [filename for filename, slug in zip(existing, slugs, strict=True) if slug in visible]
