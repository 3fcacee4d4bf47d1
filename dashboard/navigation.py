"""What the console's navigation holds: the pages, their groups and audiences, and the mode banners (no Streamlit
run, no store: importable anywhere)."""

from __future__ import annotations

from pathlib import Path

from dashboard import roles

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = ROOT / "pages"

# (group, file, title, icon); a page whose file does not exist yet is left out of the navigation.
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("Finance", "revenue.py", "Revenue", ":material/payments:"),
    ("Finance", "mrr.py", "MRR & churn", ":material/autorenew:"),
    ("Finance", "failures.py", "Failures", ":material/error:"),
    ("Support", "payments.py", "Payments", ":material/search:"),
    ("Support", "disputes.py", "Disputes", ":material/gavel:"),
    ("Support", "subscriptions.py", "Subscriptions", ":material/event_repeat:"),
    ("Engineering", "webhooks.py", "Webhooks", ":material/webhook:"),
    ("Engineering", "sync_health.py", "Sync health", ":material/sync:"),
    ("Control", "approvals.py", "Approvals", ":material/how_to_reg:"),
    ("Control", "audit.py", "Audit", ":material/policy:"),
)
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
