"""The package's modules import only downwards: kernels -> backend and validation ->
Dask plumbing and scoring -> base -> estimators -> package, topics -> command line."""

import ast
from pathlib import Path

import sklearn_nmfx

PACKAGE = Path(sklearn_nmfx.__file__).parent

LAYERS = [
    ["_kernels"],
    ["_backend", "_validation", "_corpus"],
    ["_dask", "_scoring"],
    ["_base"],
    ["_mu", "_sgd", "_autograd", "_svd"],
    ["_functions"],
    ["__init__", "topics", "model_selection"],
    ["cli"],
    ["__main__"],
]


def module_name(path):
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":  # a package: its own name (the top one "__init__")
        parts = parts[:-1] or parts
    return ".".join(parts)


def layer(name):
    top = name.split(".")[0]
    return next(i for i, members in enumerate(LAYERS) if top in members)


def imports(path):
    """The package modules that a module imports (anywhere in it, functions too)."""
    name = module_name(path)
    package = list(path.parent.relative_to(PACKAGE).parts)  # where "." points
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1] if node.level > 1 else package
            target = ".".join([*base, node.module] if node.module else base)
            for alias in node.names:  # "from . import x" may import a module x
                full = f"{target}.{alias.name}" if target else alias.name
                found.add(full if _exists(full) else target or "__init__")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for target in [module] if module else [a.name for a in node.names]:
                if target and target.startswith("sklearn_nmfx."):
                    found.add(target.removeprefix("sklearn_nmfx."))
    return {target for target in found if target != name}


def _exists(name):
    path = PACKAGE.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def graph():
    return {module_name(path): imports(path) for path in PACKAGE.rglob("*.py")}


def test_every_module_has_a_layer():
    for name in graph():
        layer(name)


def test_modules_import_only_their_layer_or_below():
    for name, targets in graph().items():
        for target in targets:
            assert layer(target) <= layer(name), f"{name} imports {target}, a layer above it"


def test_no_import_cycle():
    edges = graph()
    state = {}

    def visit(node, path):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", f"import cycle: {' -> '.join([*path, node])}"
        state[node] = "open"
        for target in edges.get(node, ()):
            visit(target, [*path, node])
        state[node] = "done"

    for node in edges:
        visit(node, [])
