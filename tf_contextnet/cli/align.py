"""``contextnet align --model DIR FILE [--text "..."]``: a PNG of the RNN-T lattice of one recording.

The image shows, over encoder frames t (x axis, seconds) and label positions u (y axis, the
tokens written beside), the posterior probability that an alignment path visits node (t, u)
(``tf_contextnet.decoding.lattice_alignment``), and the best path on top. Without ``--text`` the
lattice is that of the greedy hypothesis; with it, of the given text (a forced alignment). The
emission time of each token is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``align`` subcommand."""
    p = subparsers.add_parser("align", help="plot the RNN-T lattice posteriors and best path of a recording",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="trained model directory")
    p.add_argument("file", metavar="FILE", help="audio file")
    p.add_argument("--text", default=None, help="transcript to force-align (default: the greedy hypothesis)")
    p.add_argument("--out", default=None, help="PNG path (default: FILE's name + .align.png in the current folder)")
    p.set_defaults(func=run)


def lattice_log_probs(loaded, path: str, text: str | None):
    """``(log_probs [T', U+1, V] float64, tokens, frame_seconds)`` for the file's lattice."""
    import numpy as np
    import tensorflow as tf

    from tf_contextnet.decoding import greedy_decode
    from tf_contextnet.features import load_audio
    from tf_contextnet.inference.transcription import waveform_features

    model = loaded.model
    audio = load_audio(path, sample_rate=int(loaded.config["sample_rate"]))
    features, lengths = waveform_features(loaded, tf.constant(audio[None]), tf.constant([audio.shape[0]]))
    encoded, encoded_lengths = model.transcribe(features, lengths, training=False)
    frames = int(encoded_lengths[0])
    if text is None:
        ids, n = greedy_decode(model, features, lengths, 4)
        tokens = [int(i) for i in ids.numpy()[0, :int(n[0])]]
    else:
        unknown = loaded.tokenizer.unknown_symbols(text)
        if unknown:
            raise ValueError(f"--text has symbols the model's tokenizer cannot represent: {unknown}")
        tokens = [int(i) for i in loaded.tokenizer.encode([text]).to_list()[0]]
    state = model.initial_state(1)
    outputs = []
    for token in [0] + tokens:
        out, state = model.predict_step(tf.constant([token], tf.int32), state)
        outputs.append(out[0])
    predicted = tf.stack(outputs)  # [U+1, Dp]
    logits = model.join(encoded[0, :frames, None, :], predicted[None])
    log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1).numpy().astype(np.float64)
    frame_seconds = audio.shape[0] / int(loaded.config["sample_rate"]) / max(1, frames)
    return log_probs, tokens, frame_seconds


def plot_lattice(alignment, token_names: list[str], frame_seconds: float, title: str, out: str) -> None:
    """Heat map of the posteriors with the best path; tokens on the y axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames, nodes = alignment.posteriors.shape
    figure, axis = plt.subplots(figsize=(min(24, max(7, 3 + frames * 0.12)), min(16, max(3, 2 + nodes * 0.3))))
    image = axis.imshow(alignment.posteriors.T, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
                        extent=(-0.5 * frame_seconds, (frames - 0.5) * frame_seconds, -0.5, nodes - 0.5))
    ts, us = zip(*alignment.path)
    axis.plot([t * frame_seconds for t in ts], us, color="red", linewidth=1.2, label="best path")
    axis.set_yticks(range(nodes))
    axis.set_yticklabels(["<start>"] + [name if name.strip() else "\u2423" for name in token_names], fontsize=8)
    axis.set_xlabel("time (s)")
    axis.set_ylabel("labels emitted so far")
    axis.set_title(textwrap.fill(title, 90), fontsize=8)
    axis.legend(loc="upper left", fontsize=8)
    figure.colorbar(image, ax=axis, label="posterior of visiting (t, u)")
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def run(args: argparse.Namespace) -> int:
    """Write the PNG, print token emission times; exit 2 (reason on stderr) on bad input."""
    from tf_contextnet.decoding.lattice_alignment import label_frames, lattice_alignment
    from tf_contextnet.features import AudioError
    from tf_contextnet.inference import load_model_directory

    try:
        loaded = load_model_directory(args.model)
        log_probs, tokens, frame_seconds = lattice_log_probs(loaded, args.file, args.text)
    except (FileNotFoundError, ValueError, AudioError) as error:
        print(f"contextnet align: {error}", file=sys.stderr)
        return 2
    alignment = lattice_alignment(log_probs, tokens)
    names = [loaded.tokenizer.vocabulary[t] for t in tokens]
    out = args.out or os.path.splitext(os.path.basename(args.file))[0] + ".align.png"
    kind = "forced alignment" if args.text is not None else "greedy hypothesis"
    text = loaded.tokenizer.decode_to_python([tokens])[0] if tokens else ""
    plot_lattice(alignment, names, frame_seconds,
                 f"{os.path.basename(args.file)} ({kind}): \"{text}\", log P = {alignment.log_likelihood:.2f}", out)
    for name, frame in zip(names, label_frames(alignment.path)):
        print(f"{frame * frame_seconds:8.2f} s\t{name}")
    print(f"lattice of {len(tokens)} tokens over {log_probs.shape[0]} frames ({kind}), log P(y|x) = "
          f"{alignment.log_likelihood:.3f}, best path {alignment.path_log_prob:.3f}; image: {out}")
    return 0
