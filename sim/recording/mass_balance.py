"""The books of one replication: what came in must equal what went out or stayed."""

from __future__ import annotations

from sim.errors import MassBalanceError
from sim.recording.result import ReplicationResult

#: Mass balance must close to this share of the tonnes handled (floating-point rounding).
MASS_BALANCE_RELATIVE_TOLERANCE = 1e-9


def mass_balance(
    initial_inventory_t: float,
    supplied_t: float,
    runs_t: float,
    final_inventory_t: float,
    quarantine_stock_t: float,
    reverse_pumped_t: float,
    swapped_out_t: float,
    third_party_in_t: float,
    third_party_out_t: float,
) -> dict[str, float]:
    """initial stock + supplied + third parties' crude put into shared lines = runs + final
    stock + crude in quarantine at the end + crude pumped back out of quarantine + crude
    handed in under swaps + third parties' crude leaving the shared lines (the last three
    leave the simulated network; stocks include the third parties' crude in the lines); the
    imbalance is what does not close, t."""
    imbalance = (
        initial_inventory_t
        + supplied_t
        + third_party_in_t
        - (
            runs_t
            + final_inventory_t
            + quarantine_stock_t
            + reverse_pumped_t
            + swapped_out_t
            + third_party_out_t
        )
    )
    return {
        "initial_inventory_t": initial_inventory_t,
        "supplied_t": supplied_t,
        "runs_t": runs_t,
        "final_inventory_t": final_inventory_t,
        "quarantine_stock_t": quarantine_stock_t,
        "reverse_pumped_t": reverse_pumped_t,
        "swapped_out_t": swapped_out_t,
        "third_party_in_t": third_party_in_t,
        "third_party_out_t": third_party_out_t,
        "imbalance_t": imbalance,
    }


def check_mass_balance(result: ReplicationResult) -> None:
    """Raise `MassBalanceError` when the replication's books do not close."""
    mb = result.mass_balance
    handled = max(1.0, mb["initial_inventory_t"] + mb["supplied_t"] + mb["third_party_in_t"])
    if abs(mb["imbalance_t"]) > MASS_BALANCE_RELATIVE_TOLERANCE * handled:
        raise MassBalanceError(
            f"replication {result.replication}: mass balance does not close by "
            f"{mb['imbalance_t']:.6g} t ({mb})"
        )
