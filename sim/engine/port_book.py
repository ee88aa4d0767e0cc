"""What the crude in a port's tanks cost: tonnes and USD by (origin, sea link), drawn pro rata.

Port tanks are well mixed, so a draw takes the same share of every entry; the costs it takes
go with the crude to the route it leaves by (average costing).
"""

from __future__ import annotations

COMPONENTS = ("crude_usd", "premium_usd", "freight_usd", "port_usd", "demurrage_usd")

Key = tuple[str, str]  # (origin, sea link)


class PortBook:
    def __init__(self) -> None:
        self.tonnes_t: dict[Key, float] = {}
        self.usd: dict[Key, dict[str, float]] = {}

    def add(self, origin: str, sea_link: str, tonnes_t: float, unit_usd: dict[str, float]) -> None:
        """Crude landed: `tonnes_t` at `unit_usd` (USD/t by component)."""
        if tonnes_t <= 0:
            return
        key = (origin, sea_link)
        self.tonnes_t[key] = self.tonnes_t.get(key, 0.0) + tonnes_t
        acc = self.usd.setdefault(key, dict.fromkeys(COMPONENTS, 0.0))
        for component, per_t in unit_usd.items():
            acc[component] += per_t * tonnes_t

    def add_cost(self, origin: str, sea_link: str, component: str, usd: float) -> None:
        """A lump cost (demurrage) on the crude of that origin and sea link still in the tanks."""
        key = (origin, sea_link)
        acc = self.usd.setdefault(key, dict.fromkeys(COMPONENTS, 0.0))
        self.tonnes_t.setdefault(key, 0.0)
        acc[component] += usd

    def draw(self, tonnes_t: float, stock_before_t: float) -> list[tuple[Key, float, dict]]:
        """Take `tonnes_t` of a tank that held `stock_before_t`: each entry's share of them."""
        if tonnes_t <= 0 or stock_before_t <= 0:
            return []
        share = min(1.0, tonnes_t / stock_before_t)
        out = []
        for key, tonnes in self.tonnes_t.items():
            taken_t = tonnes * share
            usd = self.usd[key]
            taken_usd = {k: v * share for k, v in usd.items()}
            for k in usd:
                usd[k] -= taken_usd[k]
            self.tonnes_t[key] = tonnes - taken_t
            if taken_t > 0:
                out.append((key, taken_t, taken_usd))
        return out
