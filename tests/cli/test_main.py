"""`contextnet COMMAND` output reads like a report: TensorFlow's C++ start-up lines stay off stderr."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

STARTUP_LINES = re.compile(r"absl::InitializeLog|cudart_stub|cuInit|cpu_feature_guard|"
                           r"This TensorFlow binary is optimized")


def _contextnet(*argv: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_CONTEXTNET_TF_LOGS")}
    return subprocess.run([sys.executable, "-m", "tf_contextnet.cli.main", *argv], capture_output=True, text=True,
                          timeout=300, env={**environment, **env})


def test_subcommands_start_quietly_unless_asked():
    quiet = _contextnet("summary", "--preset", "contextnet_s", "--vocabulary-size", "1024")
    assert quiet.returncode == 0, quiet.stderr
    assert "contextnet_s" in quiet.stdout
    assert STARTUP_LINES.findall(quiet.stderr) == [], quiet.stderr
    loud = _contextnet("summary", "--preset", "contextnet_s", "--vocabulary-size", "1024", TF_CONTEXTNET_TF_LOGS="1")
    assert loud.returncode == 0, loud.stderr
    if not STARTUP_LINES.search(loud.stderr):
        pytest.skip("this TensorFlow build prints none of the start-up lines: nothing to hide here")
