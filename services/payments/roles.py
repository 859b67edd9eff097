"""Who uses the payments service's pages: the firm's operators and supervisors act on positions,
plans and notices; the Ufficio tributi reads the position page and its notices (`READ_ROLES`) to
check what its decisions did."""

from __future__ import annotations

WEB_ROLES = ("operator", "supervisor", "platform_admin")
READ_ROLES = (*WEB_ROLES, "comune_viewer", "comune_admin")
# Who answers the Ufficio tributi's cases (the reporting service): they see what an answer would
# make of a plan before they confirm it.
ANSWER_ROLES = ("comune_admin", "platform_admin")
