"""Which item of the main menu is the page being shown (`aria-current="page"` in base.html)."""

from __future__ import annotations

import re

# The menu's destinations after «/t/<Comune>»; the longest one a page's path starts with is its
# item, so «/payments/reconciliation/…» is «Riconciliazione», not «Pagamenti».
ITEMS = (
    "/reporting/",
    "/ingest/",
    "/contact/",
    "/contact/board",
    "/contact/conduct",
    "/contact/scripts",
    "/payments/",
    "/payments/reconciliation",
    "/payments/rimborsi",
    "/payments/settings",
    "/payments/rules",
    "/payments/legal-rates",
)
_TENANT = re.compile(r"^/t/[^/]+")
_ADMIN_USERS = re.compile(r"^/admin/comuni/[^/]+/")  # its people, register and API keys


def _under(path: str, item: str) -> bool:
    return path.startswith(item) if item.endswith("/") else path == item or path.startswith(item + "/")


def menu_item(path: str) -> str | None:
    """The menu item a path belongs to (its destination after the Comune), or None."""
    if _ADMIN_USERS.match(path):
        return "/admin/utenti"
    rest = _TENANT.sub("", path, count=1)
    if rest == path:
        return None
    matches = [item for item in ITEMS if _under(rest, item)]
    return max(matches, key=len) if matches else None
