"""The main job reads like a report: TensorFlow's C++ start-up lines never reach the terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

STARTUP_LINES = re.compile(r"absl::InitializeLog|cudart_stub|cuInit|cpu_feature_guard|"
                           r"This TensorFlow binary is optimized|oneDNN supports DT_BOOL")
PROGRAM = ("from tf_contextnet.cli.quiet_start import import_tensorflow_quietly\n"
           "tf = import_tensorflow_quietly()\n"
           "import sys\n"
           "print(float(tf.reduce_sum(tf.ones([3]))))\n"
           "print('python stderr still works', file=sys.stderr)\n")


def _run(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_CONTEXTNET_TF_LOGS")}
    return subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300,
                          env={**environment, **env})


def test_no_tensorflow_startup_lines_unless_asked():
    quiet = _run()
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.strip() == "3.0"
    assert STARTUP_LINES.findall(quiet.stderr) == [], quiet.stderr
    assert "python stderr still works" in quiet.stderr  # descriptor 2 is restored afterwards
    loud = _run(TF_CONTEXTNET_TF_LOGS="1")
    assert loud.returncode == 0, loud.stderr
    if not STARTUP_LINES.search(loud.stderr):
        pytest.skip("this TensorFlow build prints none of the start-up lines: nothing to hide here")
