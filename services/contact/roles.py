"""Who works the console's pages: the firm's operators and supervisors, and the platform's
administrators (the supervisors' own pages say `handlers_board.SUPERVISORS`)."""

from __future__ import annotations

ROLES = ("operator", "supervisor", "platform_admin")
