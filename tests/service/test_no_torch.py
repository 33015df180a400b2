"""The serving path never loads torch, training or transformers: containers ship without them.

Text models tokenise with the `tokenizers` library alone.
"""

from __future__ import annotations

import subprocess
import sys

SERVING_MODULES = [
    "service.app",
    "service.runtime",
    "service.batcher",
    "service.routes",
    "service.models",
    "service.handlers",
    "service.text.dispatch",
    "service.protocol.strings",
    "export.registry",
    "ferry.cli",
    "ferry.commands.score",
    "service.batch.job",
    "service.batch.ray_engine",
    "loadtests.bench_score",
    "loadtests.bench_text",
]


def test_importing_the_service_loads_no_torch() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in SERVING_MODULES)
        + "heavy = {'torch', 'training', 'onnxscript', 'transformers', 'sentence_transformers'}\n"
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        + "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
