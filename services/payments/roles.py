"""Who uses the payments service's pages: the firm's operators and supervisors act on positions,
plans and notices; the Ufficio tributi reads the position page and its notices (`READ_ROLES`) to
check what its decisions did."""

from __future__ import annotations

WEB_ROLES = ("operator", "supervisor", "platform_admin")
READ_ROLES = (*WEB_ROLES, "comune_viewer", "comune_admin")
