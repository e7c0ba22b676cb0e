"""Count the tests that check no value: a heuristic audit of the test suite (issue 22).

Usage::

    python benchmarks/test_checks.py [TESTS_DIR] [--list]

A test function *checks a value* when it holds at least one of:

* an ``assert`` comparing something other than ``len(...)``, a ``.shape`` or a
  type (``isinstance``, ``type(...)``), and not only to None;
* a call of ``np.testing.assert_*``, ``pd.testing.assert_*`` or ``pytest.approx``;
* ``pytest.raises`` or ``pytest.warns`` with ``match=``.

Tests that run a conformance kit (``check_model_spec``, ``check_strategy``, ...) or
a subprocess are not counted, as the issue asks. Helpers the test calls are not
followed, so a test that delegates its checks to a helper counts as unchecked: the
number is an upper bound.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

KITS = ("check_model_spec", "check_strategy", "check_sklearn", "check_estimator",
        "parametrize_with_checks")
"""Conformance kits: the engine's, the search package's and scikit-learn's."""


def _name(node: ast.AST) -> str:
    """Dotted name of a called function (``np.testing.assert_allclose``)."""
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _is_shape_or_type(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and _name(node.func) in ("len", "type", "isinstance"):
        return True
    return isinstance(node, ast.Attribute) and node.attr in ("shape", "dtype", "ndim")


def _compares_a_value(test: ast.AST) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if all(isinstance(s, ast.Constant) and s.value is None for s in sides[1:]):
                continue
            if not any(_is_shape_or_type(s) for s in sides):
                return True
    return False


def checks_a_value(function: ast.FunctionDef) -> bool:
    """Whether ``function``'s own body checks a value (see the module docstring)."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assert) and _compares_a_value(node.test):
            return True
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if ".testing.assert" in name or name.endswith("approx"):
                return True
            if name in ("pytest.raises", "pytest.warns") and any(
                    k.arg == "match" for k in node.keywords):
                return True
    return False


def runs_a_kit(function: ast.FunctionDef) -> bool:
    """Whether the test runs a conformance kit or a subprocess."""
    source = ast.unparse(function)
    return any(kit in source for kit in KITS) or "subprocess" in source \
        or "cli(" in source


def audit(tests: Path) -> tuple[int, int, list[str]]:
    """Tests counted, tests without a value check (and their names)."""
    counted, unchecked = 0, []
    for path in sorted(tests.rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                if runs_a_kit(node):
                    continue
                counted += 1
                if not checks_a_value(node):
                    unchecked.append(f"{path.relative_to(tests.parent)}::{node.name}")
    return counted, len(unchecked), unchecked


def main(argv: list[str] | None = None) -> None:
    """Print the counts (and, with ``--list``, the unchecked tests)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tests", nargs="?", type=Path,
                        default=Path(__file__).resolve().parents[1] / "tests")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    counted, n_unchecked, names = audit(args.tests)
    print(f"{counted} test functions (kits and subprocess checks left out); "
          f"{n_unchecked} without a value check ({100 * n_unchecked / counted:.1f}%)")
    if args.list:
        print("\n".join(names))


if __name__ == "__main__":
    main()
