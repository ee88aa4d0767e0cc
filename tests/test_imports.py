"""The import graph: a light front door, reports that never load the engine, no cycles.

`python -m sim --help` and `validate` must not pay for scipy, matplotlib, simpy or the sweep
machinery; the report reads result folders, so it must not import the engine; and no module of
the package may import itself back through others at import time.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import networkx as nx
import pytest

import sim

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "sim"
#: What the command line's front door must not load: the engine's and the reports' libraries.
HEAVY = ("scipy", "matplotlib", "simpy", "dask", "distributed", "tqdm")
#: What the report must not load: the engine and its libraries.
ENGINE = ("sim.engine", "sim.runner", "sim.recording", "sim.results", "simpy", "scipy")
#: Modules outside sim.report the report may import: leaves that read no engine.
REPORT_MAY_IMPORT = {
    "sim",
    "sim.errors",
    "sim.folders",  # a leaf too: writes files whole, never through a symbolic link
    "sim.kinds",
    "sim.network",
    "sim.registry",
    "sim.scenario.schema",
    "sim.statistics",
    "sim.units",
    "sim.version",
}


def loaded_after(code: str, *args: str) -> set[str]:
    """Modules loaded by a fresh interpreter that runs `code` (with sys.argv[1:] = `args`)."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def among(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    """The modules that are one of `roots` or inside one."""
    return sorted(m for m in modules if any(m == r or m.startswith(f"{r}.") for r in roots))


# ------------------------------------------------------------------ the front door


@pytest.mark.parametrize(
    "argv", [["--help"], ["validate", "scenarios/base.toml"]], ids=["help", "validate"]
)
def test_the_command_line_front_door_loads_no_engine_report_or_sweep(argv):
    code = (
        "import sys\nfrom sim.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass"
    )
    modules = loaded_after(code, *argv)
    assert among(modules, HEAVY) == []
    assert among(modules, ("sim.engine", "sim.runner", "sim.sweep.run", "sim.report")) == []


def test_validate_imports_no_scipy_or_matplotlib_by_importtime():
    """The same, as `python -X importtime -m sim validate` sees it."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sim", "validate", "scenarios/base.toml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    assert among(imported, HEAVY) == []


def test_the_package_names_load_on_first_use():
    modules = loaded_after("import sim")
    assert among(modules, ("sim.api", "sim.runner", "sim.sweep", "numpy", *HEAVY)) == []
    modules = loaded_after("from sim import load_scenario, Scenario, ScenarioError")
    assert among(modules, ("sim.runner", "sim.sweep", *HEAVY)) == []


def test_every_public_name_resolves_and_is_listed():
    assert set(sim.__all__) == {*sim._HOMES, "__version__"}
    for name in sim.__all__:
        assert getattr(sim, name) is not None
    with pytest.raises(AttributeError):
        sim.no_such_name  # noqa: B018


def test_sim_compare_is_the_function_even_after_its_module_loads():
    modules = loaded_after(
        "import sim.compare, sim\nassert callable(sim.compare) and sim.compare.__name__ == "
        "'compare'\nfrom sim import compare\nassert compare is sim.compare"
    )
    assert "sim.compare" in modules


def test_the_version_is_the_one_in_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert sim.__version__ == project["version"]
    from sim.version import PROGRAM

    assert project["name"] == PROGRAM


# ------------------------------------------------------------------ reports


def report_modules() -> list[str]:
    return sorted(
        "sim.report" + ("" if p.stem == "__init__" else f".{p.stem}")
        for p in (PACKAGE / "report").glob("*.py")
    )


def test_importing_any_report_module_loads_no_engine():
    """One fresh interpreter imports the report modules one by one; none may bring in the
    engine (a module that did would show up against the first one to load it)."""
    code = (
        "import importlib, json, sys\nseen = {}\n"
        f"for name in {report_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "    seen[name] = sorted(sys.modules)\n"
        "print(json.dumps(seen))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout.splitlines()[-1])
    assert set(seen) == set(report_modules())
    for name, modules in seen.items():
        assert among(set(modules), ENGINE) == [], f"importing {name}"


def test_the_report_imports_only_itself_and_leaf_modules_even_inside_functions():
    bad = []
    for path in sorted((PACKAGE / "report").glob("*.py")):
        module = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in imported(node, module, path.name == "__init__.py"):
                if target.startswith("sim.report") or not target.startswith("sim"):
                    continue
                if target not in REPORT_MAY_IMPORT:
                    bad.append(f"{module} imports {target} (line {node.lineno})")
    assert bad == []


# ------------------------------------------------------------------ cycles


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The modules (or, for `from X import name` of a non-module, X) an import names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        is_module = (REPO / Path(*sub.split("."))).with_suffix(".py").exists() or (
            REPO / Path(*sub.split(".")) / "__init__.py"
        ).exists()
        out.append(sub if is_module else source)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def top_level_imports(body: list[ast.stmt]):
    """Import statements run when the module loads: not in functions or classes, nor under
    `if TYPE_CHECKING:`."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from top_level_imports(node.body)
            yield from top_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse):
                yield from top_level_imports(block)
            yield from top_level_imports(node.finalbody)


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        graph.add_node(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in top_level_imports(tree.body):
            for target in imported(node, module, path.name == "__init__.py"):
                if target.startswith("sim") and target != module:
                    graph.add_edge(module, target)
    return graph


def test_the_import_graph_has_its_modules():
    graph = import_graph()
    assert graph.has_edge("sim.runner", "sim.engine.simulation")
    assert graph.has_edge("sim.report.formatting", "sim.registry")  # `from sim import registry`
    assert not graph.has_edge("sim.recording", "sim.engine.simulation")  # TYPE_CHECKING only


def test_no_module_imports_itself_back():
    cycles = sorted(sorted(c) for c in nx.simple_cycles(import_graph()))
    assert cycles == []
