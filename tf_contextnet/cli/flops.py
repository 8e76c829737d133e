"""``contextnet flops``: the encoder GFLOPs-per-second-of-audio table (kernel size × downsampling)."""

from __future__ import annotations

import argparse

DOWNSAMPLING = {"2x": (3,), "8x": (3, 7, 14)}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``flops`` subcommand."""
    parser = subparsers.add_parser(
        "flops", help="encoder GFLOPs per second of audio for kernel sizes x downsampling (Table 4 measure)",
        description="Print (and optionally write) the analytic encoder GFLOPs per second of audio "
                    "(2 x multiply-adds, 100 frames) for each kernel size and downsampling (2x: only C3 "
                    "strided; 8x: C3, C7, C14) at each alpha.")
    parser.add_argument("--kernel-sizes", type=int, nargs="+", default=[3, 5, 11, 21])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    parser.add_argument("--num-mel-bins", type=int, default=80)
    parser.add_argument("--output", default=None, help="also write the markdown table to this file")
    parser.set_defaults(func=run)


def flops_table(kernel_sizes: list[int], alphas: list[float], num_mel_bins: int = 80) -> str:
    """Markdown table: one row per kernel size, one column per (alpha, downsampling)."""
    from tf_contextnet.models.complexity import encoder_gflops_per_second

    header = ["kernel"] + [f"α={a:g} {d}" for a in alphas for d in DOWNSAMPLING]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for k in kernel_sizes:
        cells = [f"{encoder_gflops_per_second(a, k, blocks, num_mel_bins=num_mel_bins):.3f}"
                 for a in alphas for blocks in DOWNSAMPLING.values()]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the table (and write it to ``--output``); exit code 2 for bad arguments."""
    import sys

    if any(k < 1 for k in args.kernel_sizes) or any(a <= 0 for a in args.alphas):
        print(f"contextnet flops: error: kernel sizes must be >= 1 and alphas > 0, got {args.kernel_sizes} "
              f"and {args.alphas}", file=sys.stderr)
        return 2
    text = ("Encoder GFLOPs per second of audio (100 frames of 10 ms, batch 1; 2 × multiply-adds of the "
            "convolutions and dense layers; element-wise work not counted). 2x: only C3 strided; "
            "8x: C3, C7, C14 strided (the paper's encoder).\n\n"
            + flops_table(args.kernel_sizes, args.alphas, args.num_mel_bins) + "\n")
    print(text, end="")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    return 0
