"""The serving path never loads torch, training or transformers: containers ship without them.

Every module of `service` (runtime, serving, scoring) is imported, found by walking
the package rather than from a list, so a new module cannot escape the check.
Text models tokenise with the `tokenizers` library alone.
"""

from __future__ import annotations

import subprocess
import sys

#: Entry points outside `service` that serving containers and batch jobs import too.
ALSO = [
    "export.registry",
    "export.tokenizer",
    "export.session",
    "ferry.cli",
    "ferry.commands.score",
    "loadtests.bench_score",
    "loadtests.bench_text",
]
HEAVY = ["torch", "training", "onnxscript", "transformers", "sentence_transformers"]


def test_importing_every_service_module_loads_no_torch() -> None:
    code = f"""
import importlib, pkgutil, sys
import service
names = [m.name for m in pkgutil.walk_packages(service.__path__, "service.")]
assert any(n.startswith("service.scoring.") for n in names), names
assert any(n.startswith("service.serving.") for n in names), names
for name in names + {ALSO!r}:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
assert not bad, bad
print(len(names))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) > 50  # the walk found the whole package
