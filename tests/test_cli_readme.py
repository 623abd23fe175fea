"""The README's Python snippets run where its first command installs the package
(no pandas, no matplotlib) and print what the README shows."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import skip_unless_newsgroups_readable

ROOT = Path(__file__).resolve().parents[1]

RUNNER = r'''
import sys


class Absent:  # the README's first command installs neither pandas nor matplotlib
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pandas", "matplotlib"):
            raise ImportError(f"No module named {name!r}")


sys.meta_path.insert(0, Absent())
namespace = {}
for block in sys.argv[1:]:
    exec(open(block, encoding="utf-8").read(), namespace)
    print("-- end of block --", flush=True)
'''


def readme_snippets():
    """[(python code, the output block after it)]."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)
    pairs = []
    for (kind, code), (next_kind, output) in zip(blocks, blocks[1:]):
        if kind == "python":
            assert next_kind == "", "each Python block of the README is followed by its output"
            pairs.append((code, output))
    return pairs


def test_readme_has_snippets_with_outputs():
    assert len(readme_snippets()) >= 2


@pytest.mark.slow
def test_readme_snippets_print_what_the_readme_shows(tmp_path):
    skip_unless_newsgroups_readable()
    snippets = readme_snippets()
    paths = []
    for i, (code, _) in enumerate(snippets):
        paths.append(tmp_path / f"block{i}.py")
        paths[-1].write_text(code, encoding="utf-8")
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(runner), *map(str, paths)],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    outputs = done.stdout.split("-- end of block --\n")[:-1]
    assert [o.strip() for o in outputs] == [expected.strip() for _, expected in snippets]
