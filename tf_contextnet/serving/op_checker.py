"""Which ops an exported model needs, and whether TF Serving / LiteRT's builtins can run them.

- SavedModel: every node of every meta graph *and* of every function in the function library
  (the signatures' bodies live there, as do nested ``while``/``cond`` branches). Allowed: ops of
  TensorFlow's core registry, i.e. registered in a fresh interpreter that imports ``tensorflow``
  alone (so ops of tensorflow-text or any other library loaded in *this* process do not pass),
  minus the Python-callback ops (``PyFunc``, ``PyFuncStateless``, ``EagerPyFunc``), which TF
  Serving cannot run.
- TFLite: every operator of every subgraph, read from the flatbuffer. Allowed: builtin operators
  except the resource-variable ones (``VAR_HANDLE``, ``READ_VARIABLE``, ``ASSIGN_VARIABLE``: a
  converted model must carry its weights as constants); ``CUSTOM`` (Flex ``Flex*`` ops included)
  is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Iterable

PY_FUNC_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
TFLITE_VARIABLE_OPS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"})

_CORE_REGISTRY_SCRIPT = """
import json, sys
from tensorflow.python.framework import op_def_registry
names = json.loads(sys.stdin.read())
print(json.dumps([n for n in names if op_def_registry.get(n) is None]))
"""


class UnsupportedOpsError(ValueError):
    """An exported model uses ops that its serving runtime cannot run."""


def saved_model_ops(path: str | os.PathLike) -> set[str]:
    """Op types of every graph and library function in the SavedModel at ``path``."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(os.fspath(path), "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    ops: set[str] = set()
    for meta_graph in proto.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


def non_core_ops(names: Iterable[str]) -> list[str]:
    """The names not in TensorFlow's core op registry, checked in a fresh ``python`` that imports
    ``tensorflow`` only."""
    names = sorted(set(names))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", _CORE_REGISTRY_SCRIPT], input=json.dumps(names),
                            capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the core-registry check could not run:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_saved_model_ops(path: str | os.PathLike) -> set[str]:
    """Raise :class:`UnsupportedOpsError` naming the ops TF Serving cannot run; returns all ops."""
    ops = saved_model_ops(path)
    bad = sorted(PY_FUNC_OPS & ops) + non_core_ops(ops - PY_FUNC_OPS)
    if bad:
        raise UnsupportedOpsError(f"{os.fspath(path)}: ops outside TensorFlow's core registry or calling "
                                  f"Python (TF Serving cannot run them): {', '.join(sorted(bad))}")
    return ops


def tflite_ops(path_or_bytes: str | os.PathLike | bytes) -> list[set[str]]:
    """Operator names of each subgraph of a ``.tflite`` model (``CUSTOM:<code>`` for custom ops)."""
    from tensorflow.lite.python import schema_py_generated as schema

    if isinstance(path_or_bytes, bytes):
        buffer = path_or_bytes
    else:
        with open(path_or_bytes, "rb") as f:
            buffer = f.read()
    model = schema.Model.GetRootAsModel(buffer, 0)
    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            name = f"CUSTOM:{(code.CustomCode() or b'').decode()}"
        codes.append(name)
    return [{codes[model.Subgraphs(s).Operators(o).OpcodeIndex()] for o in range(model.Subgraphs(s).OperatorsLength())}
            for s in range(model.SubgraphsLength())]


def check_tflite_ops(path_or_bytes: str | os.PathLike | bytes) -> set[str]:
    """Raise :class:`UnsupportedOpsError` for custom/Flex or resource-variable ops in any subgraph;
    returns all op names."""
    ops = set().union(*tflite_ops(path_or_bytes))
    bad = sorted(op for op in ops if op.startswith("CUSTOM") or op in TFLITE_VARIABLE_OPS)
    if bad:
        where = "model" if isinstance(path_or_bytes, bytes) else os.fspath(path_or_bytes)
        raise UnsupportedOpsError(f"{where}: not builtins-only (custom/Flex or resource-variable ops): "
                                  f"{', '.join(bad)}")
    return ops
