"""Generate docs/scenarios.md from the schema, so the reference never drifts from validation.

python -m sim.scenario.docs > docs/scenarios.md
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim.scenario import schema

SECTIONS: list[tuple[str, str, type[BaseModel]]] = [
    ("[scenario]", "Scenario settings.", schema.Settings),
    ("[grades.ID]", "Crude grades, one table each.", schema.Grade),
    ("grades.ID.assay", "", schema.Assay),
    ('[nodes.ID] kind = "field"', "", schema.FieldNode),
    ('[nodes.ID] kind = "market"', "", schema.MarketNode),
    ('[nodes.ID] kind = "junction"', "", schema.JunctionNode),
    ('[nodes.ID] kind = "port"', "", schema.PortNode),
    ('[nodes.ID] kind = "refinery"', "", schema.RefineryNode),
    ("nodes.ID.crude_window", "", schema.CrudeWindow),
    ('[links.ID] kind = "pipeline"', "", schema.PipelineLink),
    ('[links.ID] kind = "rail"', "", schema.RailLink),
    ('[links.ID] kind = "sea"', "", schema.SeaLink),
    ("[contracts.ID]", "Supply options by pipeline (or from a port's tanks).", schema.Contract),
    ("contracts.ID.price", "The price formula of a contract or cargo.", schema.PriceFormula),
    ("contracts.ID.swap", "", schema.Swap),
    ("[cargoes.ID]", "Supply options on the global market.", schema.Cargo),
    ("cargoes.ID.reorder", "", schema.ReorderRule),
    ("[prices.ID]", "Benchmark price series.", schema.PriceSeries),
    ("[transit.ID]", "Transit conditions.", schema.TransitCondition),
    ("[disruptions.ID]", "Disruptions.", schema.Disruption),
    ("disruptions.ID.random", "", schema.RandomTiming),
    ("[trade]", "Optional.", schema.TradeBalance),
    (
        "[refinery_configs.ID]",
        "Refinery configurations, named by a refinery's `configuration`.",
        schema.RefineryConfig,
    ),
    (
        "refinery_configs.ID.vacuum_gas_oil_yields (and vacuum_residue_yields)",
        "",
        schema.ConversionYields,
    ),
    (
        "[product_prices]",
        "Optional; required when a refinery is valued. One table per product.",
        schema.ProductPrices,
    ),
    ("product_prices.PRODUCT", "", schema.ProductPrice),
    (
        "[countries.ID]",
        "Optional; once declared, every node and every pipeline and rail link names its country.",
        schema.Country,
    ),
]

INTRO = """# Scenario reference

Generated from the schema by `python -m sim.scenario.docs > docs/scenarios.md`; a test fails when
this file is out of date. Every key is checked: an unknown key, a value of the wrong type or out
of range, or a reference to something that does not exist is an error, and every error is
reported at once with its file and dotted key path (`python -m sim validate FILE`).

Units are in the key names: `_t` tonnes, `_t_per_day` tonnes per day, `_days` days, `_km`
kilometres, `_usd_per_t` US dollars per tonne, `_usd_per_bbl` US dollars per barrel, `_ppm`
parts per million by mass, `_pct` per cent.

## Files, inheritance and overrides

- A scenario is one TOML file, UTF-8, at most 1 MB, tables and arrays nested at most 32 deep.
  `extends = "other.toml"` (a path relative to the file) inherits every table of the other
  file, deep-merged: the child's values win, key by key; chains of up to 16 files are allowed,
  cycles are errors. `extends` reads regular files inside the *scenario tree* only, the folder
  above the named file's own (`scenarios/history/x.toml` may extend `../base.toml`); an
  absolute path, or one leading further out, needs `OIL_SIM_ALLOW_OUTSIDE_EXTENDS=1` in the
  environment.
- `--set dotted.key=VALUE` on the command line (or `overrides=[...]` in `load_scenario`)
  replaces one value after inheritance; VALUE is read as TOML (`40000`, `0.5`, `true`,
  `2019-05-01`, `["a", "b"]`), a bare word as a string. Overrides are validated like the file.
- Ids (the `ID` in `[nodes.ID]`) and origins are plain names: letters, digits, `_` and `-`, at
  most 64 characters; node and link ids must differ from each other.
- Numbers are finite (no `inf` or `nan`) and at most 1e12 in magnitude (seeds aside). A run
  lies between 1900-01-01 and 2999-12-31 and takes at most 1,000,000 network steps
  (`horizon_days ÷ step_days`), reorder reviews or random failures per process; a pipeline
  holds 1 t to 1e12 t of linefill. [reliability.md](reliability.md) lists every input limit.
- Dates are TOML dates (`2019-05-01`). Day 0 is `scenario.start_date`; a date becomes a day
  number by subtracting it. Events take effect at the first network step at or after their time.

"""


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in get_args(annotation) if a is not type(None)]
        optional = type(None) in get_args(annotation)
        return " or ".join(names) + (" (optional)" if optional else "")
    if origin is typing.Literal:
        return " / ".join(repr(a).replace("'", '"') for a in get_args(annotation))
    if origin in (list, dict):
        return f"{origin.__name__} of " + ", ".join(_type_name(a) for a in get_args(annotation))
    if isinstance(annotation, type):
        return {"str": "string", "float": "number", "int": "integer", "bool": "boolean",
                "date": "date"}.get(annotation.__name__, annotation.__name__)  # fmt: skip
    return str(annotation)


def _constraints(field: Any) -> str:
    parts = []
    for item in field.metadata:
        for attr, symbol in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{symbol} {value}")
        if getattr(item, "min_length", None):
            parts.append(f"at least {item.min_length} item(s)")
    return ", ".join(parts)


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
        return f"`{value!r}`" if value else "empty"
    if field.default is PydanticUndefined or field.default is None:
        return "none"
    return f"`{field.default!r}`".replace("'", '"')


def render() -> str:
    out = [INTRO]
    for heading, intro, model in SECTIONS:
        out.append(f"## `{heading}`\n")
        doc = inspect.cleandoc(model.__doc__ or "")
        out.append(f"{intro} {doc}".strip() + "\n")
        out.append("| key | type | default | constraint | meaning |")
        out.append("|---|---|---|---|---|")
        for name, field in model.model_fields.items():
            if name == "kind":
                continue
            description = (field.description or "").replace("|", "\\|")
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                description = description or f"see `{heading.strip('[]')}.{name}` below"
            out.append(
                f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | "
                f"{_constraints(field)} | {description} |"
            )
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
