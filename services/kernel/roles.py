"""The roles a signed identity can carry, in one place for the gateway (which grants them) and the
services (whose views declare them). No framework import."""

from __future__ import annotations

ROLE_LABELS = {
    "comune_viewer": "Ufficio tributi (consultazione)",
    "comune_admin": "Ufficio tributi (amministratore)",
    "operator": "Operatore",
    "supervisor": "Supervisore",
    "platform_admin": "Amministratore piattaforma",
}
SESSION_ROLES = tuple(ROLE_LABELS)
# The Comune's own staff (its tax office), and the collection firm's people who phone taxpayers.
COMUNE_ROLES = ("comune_viewer", "comune_admin")
CALLING_ROLES = ("operator", "supervisor")
# The Comune's own software signs in with an API key.
API_ROLE = "api"
ANY_ROLE = (*SESSION_ROLES, API_ROLE)
# Whoever holds a signed link to a taxpayer's public page: no login, the link is the credential.
PUBLIC_ROLE = "public"
