"""Every sandbox module imports on its own, first, in a fresh interpreter (no circular-import order)."""
import pkgutil
import subprocess
import sys

import pytest

import xero_sandbox

MODULES = sorted(m.name for m in pkgutil.iter_modules(xero_sandbox.__path__) if m.name != "__main__")


def test_the_route_modules_are_among_those_checked():
    assert {"api", "contacts", "invoices"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_first(module):
    result = subprocess.run([sys.executable, "-c", f"import xero_sandbox.{module}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
