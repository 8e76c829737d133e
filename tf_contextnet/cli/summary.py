"""``contextnet summary``: parameters per part and encoder GFLOPs per second of audio, per preset."""

from __future__ import annotations

import argparse

PRESET_NAMES = ("contextnet_s", "contextnet_m", "contextnet_l")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``summary`` subcommand."""
    parser = subparsers.add_parser(
        "summary", help="parameters per part and encoder GFLOPs/s of audio of ContextNet presets",
        description="Build each preset and print its parameter count per part (encoder, prediction, joint, "
                    "total) beside the paper's, and the encoder's GFLOPs per second of audio (Table 4 measure).")
    parser.add_argument("--preset", action="append", choices=PRESET_NAMES,
                        help="preset to summarise (repeatable; default: all three)")
    parser.add_argument("--vocabulary-size", type=int, default=1024, help="V, blank included (default: 1024)")
    parser.add_argument("--num-mel-bins", type=int, default=80, help="feature bins (default: 80)")
    parser.add_argument("--prediction-num-layers", type=int, default=None,
                        help="override the presets' LSTM layers (paper text: 1; presets: S 1, M/L 2)")
    parser.set_defaults(func=run)


def summary_table(presets: list[str], vocabulary_size: int, num_mel_bins: int,
                  prediction_num_layers: int | None = None) -> str:
    """Markdown table, one row per preset, counts taken from the built models."""
    from tf_contextnet.models import (PAPER_PARAMETERS, ContextNetTransducer, encoder_gflops_per_second,
                                      preset_config)

    overrides = {} if prediction_num_layers is None else {"prediction_num_layers": prediction_num_layers}
    lines = ["| preset | alpha | LSTM layers | encoder | prediction | joint | total | paper | Δ vs paper "
             "| encoder GFLOPs/s audio |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in presets:
        config = preset_config(name, vocabulary_size, num_mel_bins=num_mel_bins, **overrides)
        model = ContextNetTransducer(**config)
        model.build()
        parts = [part.count_params() for part in model.parts()]
        total, paper = sum(parts), PAPER_PARAMETERS[name]
        gflops = encoder_gflops_per_second(model.alpha, model.kernel_size, model.downsample_blocks, model.se,
                                           model.se_context_window, num_mel_bins)
        lines.append(f"| {name} | {model.alpha:g} | {model.prediction_num_layers} | "
                     + " | ".join(f"{p / 1e6:.2f}M" for p in parts)
                     + f" | {total / 1e6:.2f}M | {paper / 1e6:.1f}M | {100 * (total - paper) / paper:+.1f}% "
                     f"| {gflops:.3f} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the table; exit code 2 for bad arguments."""
    import sys

    if args.vocabulary_size < 2 or args.num_mel_bins < 1:
        print(f"contextnet summary: error: --vocabulary-size must be >= 2 and --num-mel-bins >= 1, got "
              f"{args.vocabulary_size} and {args.num_mel_bins}", file=sys.stderr)
        return 2
    presets = args.preset or list(PRESET_NAMES)
    print(f"ContextNet transducer, V={args.vocabulary_size}, {args.num_mel_bins} mel bins "
          f"(parameters include batch-norm moving statistics)\n")
    print(summary_table(presets, args.vocabulary_size, args.num_mel_bins, args.prediction_num_layers))
    return 0
