"""The package's imports: every third-party one declared in pyproject.toml, and no cycles."""

import ast
import importlib.metadata
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gans_keras"
# Imported only on their own Keras backend (gans_keras.samplers.loop.compiled_call), not dependencies.
BACKEND_ONLY = {"jax", "torch"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions, absolute names."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = node.module or ""
            if node.level:  # relative: from the importing package
                parent = module.split(".")[: -node.level + (path.name == "__init__.py")]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _package_graph() -> dict[str, set[str]]:
    files = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in PACKAGE.rglob("*.py")}
    return {name: {imported for imported in _imports(path) if imported in files} for name, path in files.items()}


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # An optional feature's packages (keras-hub for --text-encoder keras_hub:...) are its extra's.
    declared = project["dependencies"] + project["optional-dependencies"]["text"]
    declared = {requirement.split(">")[0].split("<")[0].split("=")[0].strip().lower() for requirement in declared}
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for path in PACKAGE.rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "gans_keras" or top in sys.stdlib_module_names or top in BACKEND_ONLY:
                continue
            distributions = {d.lower() for d in providers.get(top, [top])}
            if not distributions & declared:
                missing.setdefault(top, set()).add(path.name)
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_no_import_cycles_in_the_package():
    graph = _package_graph()
    state: dict[str, str] = {}
    cycles = []

    def visit(module, trail):
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append(trail[trail.index(imported):] + [imported])
            elif imported not in state:
                visit(imported, trail + [imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)
