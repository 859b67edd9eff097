"""The relazione's totals, added up as its lines stream: overall, by revenue type and year, by the
reason a position was not collected, and the bases of the aggio. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.reporting.domain_aggio import Base
from services.reporting.domain_relazione import History, Line, Reason


@dataclass
class Group:
    """Positions and amounts added up: `assigned_cents` is what stands of the load (neither cancelled
    nor corrected away), so carico affidato (`original_cents`) - sgravi - rettifiche = assigned and
    assigned - riscosso = residuo."""

    positions: int = 0
    assigned_cents: int = 0
    cancelled_cents: int = 0
    corrected_cents: int = 0
    collected_cents: int = 0
    residual_cents: int = 0
    refunded_cents: int = 0
    revoked_cents: int = 0

    def add(self, h: History) -> None:
        self.positions += 1
        self.collected_cents += h.collected_cents
        self.refunded_cents += h.refunded_cents
        self.revoked_cents += h.revoked_cents
        self.residual_cents += h.residual_cents
        self.corrected_cents += h.corrected_cents
        self.cancelled_cents += h.cancelled_cents
        self.assigned_cents += h.assigned_cents - h.cancelled_cents

    @property
    def original_cents(self) -> int:
        return self.assigned_cents + self.cancelled_cents + self.corrected_cents


@dataclass
class Totals:
    """Running totals over the lines, as they stream: overall, by (revenue type, year), by reason."""

    overall: Group = field(default_factory=Group)
    by_type_year: dict[tuple[str, int], Group] = field(default_factory=dict)
    by_reason: dict[Reason, Group] = field(default_factory=dict)

    def add(self, item: Line) -> None:
        h = item.history
        self.overall.add(h)
        self.by_type_year.setdefault((h.revenue_type, h.year), Group()).add(h)
        if item.reason is not None:
            self.by_reason.setdefault(item.reason, Group()).add(h)

    def type_year_rows(self) -> list[tuple[str, int, Group]]:
        return [(t, y, g) for (t, y), g in sorted(self.by_type_year.items())]

    def reason_rows(self) -> list[tuple[Reason, Group]]:
        order = list(Reason)
        return sorted(self.by_reason.items(), key=lambda kv: order.index(kv[0]))

    def aggio_bases(self) -> dict[str, Base]:
        """What each revenue type collected (before refunds), refunded and had revoked: the bases
        the aggio contract applies to (`domain_aggio.compute`)."""
        bases: dict[str, Base] = {}
        for (revenue_type, _), g in self.by_type_year.items():
            was = bases.get(revenue_type, Base())
            bases[revenue_type] = Base(
                was.collected_cents + g.collected_cents + g.refunded_cents,
                was.refunded_cents + g.refunded_cents,
                was.revoked_cents + g.revoked_cents,
            )
        return bases


def group_amounts(g: Group) -> tuple[int, int, int, int, int]:
    """A total's amounts in cents, in `MONEY_HEADERS` order (the sums of its lines' `amounts`)."""
    return (g.original_cents, g.cancelled_cents, g.corrected_cents, g.collected_cents, g.residual_cents)
