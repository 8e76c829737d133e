"""Entry point of the ``contextnet`` console script.

Every module ``tf_contextnet.cli.<name>`` (other than this one) that defines
``register(subparsers: argparse._SubParsersAction) -> None`` contributes one subcommand; the
subcommand's parser sets ``func`` (``args -> int``) as its default. Subcommand modules import
TensorFlow lazily inside ``func`` so that ``contextnet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

import tf_contextnet
from tf_contextnet import cli as _cli_package


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every discovered subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="contextnet",
        description="ContextNet RNN-Transducer speech recognition (TensorFlow / Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"tf_contextnet {tf_contextnet.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(_cli_package.__path__), key=lambda m: m.name):
        if info.name in ("main", "__init__") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_cli_package.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    from tf_contextnet.cli.quiet_start import import_tensorflow_quietly

    import_tensorflow_quietly()  # every subcommand's output reads like a report (TF_CONTEXTNET_TF_LOGS=1: the C++ lines)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
