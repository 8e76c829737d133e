"""benchmarks/decoding.py: λ and β reach the beam 8 + LM row only (the beam rows are the plain search)."""

from __future__ import annotations

from benchmark_scripts import load_benchmark_script


def load_benchmark():
    return load_benchmark_script("decoding")


def test_only_the_lm_row_gets_lm_weight_and_length_bonus():
    lm = object()
    rows = load_benchmark().decoder_rows(lm, 0.3, 0.5)
    assert [(name, beam) for name, beam, *_ in rows] == [("greedy", 1), ("beam 4", 4), ("beam 8", 8),
                                                        ("beam 8 + LM", 8)]
    assert [row[2:] for row in rows[:3]] == [(None, 0.0, 0.0)] * 3  # a length bonus alone changes the beam's WER
    assert rows[3][2] is lm and rows[3][3:] == (0.3, 0.5)


def test_symbol_cap_defaults_to_the_recipes_four_and_is_an_option():
    benchmark = load_benchmark()
    assert benchmark.parse_args([]).max_symbols_per_frame == 4
    assert benchmark.parse_args(["--max-symbols-per-frame", "1"]).max_symbols_per_frame == 1
