"""The corpus's case count (tests/hypothesis_corpus.py) counts each example Hypothesis runs, per property and in
all, with and without pytest-xdist."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROPERTIES = '''
from hypothesis import given, strategies as st
from tests.hypothesis_corpus import examples

@examples(7)
@given(st.integers())
def test_seven(number):
    pass

@examples(5)
@given(st.text())
def test_five(text):
    pass
'''


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_the_examples_run_are_counted_and_summed(tmp_path, workers):
    (tmp_path / "test_props.py").write_text(PROPERTIES)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.hypothesis_corpus", "-p", "no:cacheprovider",
         "-c", "/dev/null", "--rootdir", str(tmp_path), *workers, str(tmp_path / "test_props.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "HYPOTHESIS_PROFILE": "ci", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "bad-input corpus: hypothesis cases (profile ci)" in run.stdout
    assert "       7  test_props.py::test_seven" in run.stdout
    assert "       5  test_props.py::test_five" in run.stdout
    assert "      12  in all, 2 properties" in run.stdout
