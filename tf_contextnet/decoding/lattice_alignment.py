"""RNN-T lattice of one utterance: node posteriors and the best (Viterbi) path, in float64 NumPy.

Shapes: T' encoder frames, U labels, V vocabulary (blank 0). ``log_probs [T', U+1, V]`` are the
joint network's log-softmax outputs for the label sequence ``y_1..y_U`` (row u = after u labels).

A path starts at node (0, 0) and ends by emitting blank from (T'-1, U); from (t, u) blank moves
to (t+1, u), label y_{u+1} moves to (t, u+1) (Graves, 2012):

    α(t, u) = logaddexp(α(t-1, u) + log p(∅ | t-1, u), α(t, u-1) + log p(y_u | t, u-1)),  α(0, 0) = 0
    log P(y | x) = α(T'-1, U) + log p(∅ | T'-1, U)
    posterior(t, u) = exp(α(t, u) + β(t, u) - log P(y | x))   (probability that a path visits (t, u))

The best path replaces logaddexp by max (ties: the blank move, i.e. labels as late as possible).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np


class LatticeAlignment(NamedTuple):
    """``posteriors [T', U+1]``, the best ``path`` (nodes (t, u), start to end), its log-probability and
    ``log_likelihood`` = log P(y | x)."""

    posteriors: np.ndarray
    path: list[tuple[int, int]]
    path_log_prob: float
    log_likelihood: float


def _transitions(log_probs: np.ndarray, tokens: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    log_probs = np.asarray(log_probs, np.float64)
    frames, nodes, _ = log_probs.shape
    if nodes != len(tokens) + 1:
        raise ValueError(f"log_probs has {nodes} label positions, expected len(tokens) + 1 = {len(tokens) + 1}")
    if frames < 1:
        raise ValueError("the lattice needs at least one frame")
    blank = log_probs[:, :, 0]
    label = np.full((frames, nodes), -np.inf)
    if len(tokens):
        label[:, :-1] = np.take_along_axis(log_probs[:, :-1, :], np.asarray(tokens)[None, :, None], axis=2)[..., 0]
    return blank, label


def lattice_alignment(log_probs: np.ndarray, tokens: Sequence[int]) -> LatticeAlignment:
    """Posteriors and best path of the lattice of ``tokens`` (module docstring)."""
    blank, label = _transitions(log_probs, tokens)
    frames, nodes = blank.shape
    alpha = np.full((frames, nodes), -np.inf)
    best = np.full((frames, nodes), -np.inf)
    came_by_blank = np.zeros((frames, nodes), bool)
    for t in range(frames):
        for u in range(nodes):
            if t == 0 and u == 0:
                alpha[0, 0] = best[0, 0] = 0.0
                continue
            from_blank = alpha[t - 1, u] + blank[t - 1, u] if t > 0 else -np.inf
            from_label = alpha[t, u - 1] + label[t, u - 1] if u > 0 else -np.inf
            alpha[t, u] = np.logaddexp(from_blank, from_label)
            vb = best[t - 1, u] + blank[t - 1, u] if t > 0 else -np.inf
            vl = best[t, u - 1] + label[t, u - 1] if u > 0 else -np.inf
            came_by_blank[t, u] = vb >= vl
            best[t, u] = max(vb, vl)
    beta = np.full((frames, nodes), -np.inf)
    for t in range(frames - 1, -1, -1):
        for u in range(nodes - 1, -1, -1):
            if t == frames - 1 and u == nodes - 1:
                beta[t, u] = blank[t, u]
                continue
            via_blank = blank[t, u] + beta[t + 1, u] if t + 1 < frames else -np.inf
            via_label = label[t, u] + beta[t, u + 1] if u + 1 < nodes else -np.inf
            beta[t, u] = np.logaddexp(via_blank, via_label)
    total = alpha[-1, -1] + blank[-1, -1]
    posteriors = np.exp(alpha + beta - total) if np.isfinite(total) else np.zeros_like(alpha)
    path = [(frames - 1, nodes - 1)]
    t, u = frames - 1, nodes - 1
    while (t, u) != (0, 0):
        t, u = (t - 1, u) if came_by_blank[t, u] else (t, u - 1)
        path.append((t, u))
    return LatticeAlignment(posteriors, path[::-1], float(best[-1, -1] + blank[-1, -1]), float(total))


def label_frames(path: Sequence[tuple[int, int]]) -> list[int]:
    """The frame at which each label is emitted on ``path`` (label u+1 where the path moves (t, u) → (t, u+1))."""
    return [t for (t, u), (t2, u2) in zip(path, path[1:]) if u2 == u + 1]
