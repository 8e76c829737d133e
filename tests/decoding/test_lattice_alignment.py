"""Lattice posteriors and best path against an enumeration of every RNN-T path (float64)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tf_contextnet.decoding.lattice_alignment import label_frames, lattice_alignment


def enumerate_paths(log_probs, tokens):
    """Every order of U label moves and T'-1 blank moves, then the final blank: (log-prob, nodes visited)."""
    frames, nodes, _ = log_probs.shape
    paths = []
    for moves in set(itertools.permutations("l" * len(tokens) + "b" * (frames - 1))):
        t = u = 0
        logp, visited = 0.0, [(0, 0)]
        for move in moves:
            if move == "b":
                logp += log_probs[t, u, 0]
                t += 1
            else:
                logp += log_probs[t, u, tokens[u]]
                u += 1
            visited.append((t, u))
        paths.append((logp + log_probs[t, u, 0], visited))
    return paths


@pytest.mark.parametrize("frames,tokens", [(3, [1, 2]), (4, [2, 2, 1]), (2, []), (1, [1, 1])])
def test_matches_enumeration(frames, tokens):
    rng = np.random.default_rng(frames + len(tokens))
    logits = rng.normal(size=(frames, len(tokens) + 1, 3)) * 2
    log_probs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    paths = enumerate_paths(log_probs, tokens)
    total = np.logaddexp.reduce([p for p, _ in paths])
    result = lattice_alignment(log_probs, tokens)
    assert result.log_likelihood == pytest.approx(total, abs=1e-10)
    expected = np.zeros((frames, len(tokens) + 1))
    for logp, visited in paths:
        for node in visited:
            expected[node] += np.exp(logp - total)
    np.testing.assert_allclose(result.posteriors, expected, atol=1e-10)
    best_logp, best_nodes = max(paths, key=lambda p: p[0])
    assert result.path_log_prob == pytest.approx(best_logp, abs=1e-10)
    assert result.path[0] == (0, 0) and result.path[-1] == (frames - 1, len(tokens))
    assert len(label_frames(result.path)) == len(tokens)


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="len\\(tokens\\) \\+ 1"):
        lattice_alignment(np.zeros((3, 2, 4)), [1, 2])
