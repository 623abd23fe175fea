"""Run one of scikit-learn's own test files against sklearn-nmfx's classes.

The installed scikit-learn's test file is read, the line that imports the class it
tests is replaced by ours, and its test functions (and fixtures) are handed to
pytest, each with a visible skip where it is excluded. Exclusions are by name only,
each with its reason: a test of one of scikit-learn's private functions, or a test
that pins a design we document as different. If scikit-learn changes the import
line, the suite fails instead of testing scikit-learn's own classes.
"""

from pathlib import Path

import pytest
import sklearn

TESTS = Path(sklearn.__file__).parent / "decomposition" / "tests"


def load_suite(filename, import_line, replacements, excluded, after=None):
    """The tests and fixtures of ``filename``, with ``import_line`` bound to
    ``replacements`` instead (name -> our object) and ``excluded`` (name -> reason)
    marked skip; ``after`` (name -> object) rebinds globals of the file once it has
    run (the decorators have seen the originals)."""
    path = TESTS / filename
    if not path.exists():
        pytest.skip(f"this scikit-learn install has no {path}", allow_module_level=True)
    source = path.read_text()
    if source.count(import_line) != 1:
        raise AssertionError(
            f"{path} no longer holds the line {import_line!r}: update the adapter "
            "(otherwise it would test scikit-learn's classes)."
        )
    ours = ", ".join("_nmfx_" + name for name in replacements)
    source = source.replace(import_line, f"{', '.join(replacements)} = {ours}")
    namespace = {"__name__": f"sklearn_suite.{path.stem}", "__file__": str(path)}
    namespace.update({"_nmfx_" + name: value for name, value in replacements.items()})
    exec(compile(source, str(path), "exec"), namespace)
    namespace.update(after or {})
    unknown = set(excluded) - set(namespace)
    if unknown:
        raise AssertionError(f"excluded tests not in {path.name}: {sorted(unknown)}")
    exported = {}
    for name, value in namespace.items():
        if name.startswith("test_") and callable(value):
            if name in excluded:
                value = pytest.mark.skip(reason=excluded[name])(value)
            exported[name] = value
        elif _is_fixture(value):
            exported[name] = value
    return exported


def _is_fixture(value):
    return hasattr(value, "_pytestfixturefunction") or type(value).__name__ == (
        "FixtureFunctionDefinition")
