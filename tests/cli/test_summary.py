"""``contextnet summary`` and ``contextnet flops``: output beside independent counts."""

from __future__ import annotations

import re

from tf_contextnet.cli.main import main
from tf_contextnet.models import encoder_gflops_per_second, transducer_parameters


def test_summary_small_preset(capsys):
    assert main(["summary", "--preset", "contextnet_s", "--vocabulary-size", "1024"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| contextnet_s"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # independent count: alpha 0.5, Table 1, one 640 LSTM, 640 joint, V=1024 (see test_complexity)
    expected = transducer_parameters(1024, alpha=0.5)
    assert cells[3:7] == [f"{expected[k] / 1e6:.2f}M" for k in ("encoder", "prediction", "joint", "total")]
    assert cells[7] == "10.8M"
    assert abs(float(cells[8].rstrip("%"))) < 5.0
    assert float(cells[9]) == round(encoder_gflops_per_second(0.5), 3)


def test_summary_rejects_bad_vocabulary(capsys):
    assert main(["summary", "--preset", "contextnet_s", "--vocabulary-size", "1"]) == 2
    assert "--vocabulary-size" in capsys.readouterr().err


def test_flops_table_written(tmp_path, capsys):
    path = tmp_path / "flops.md"
    assert main(["flops", "--kernel-sizes", "3", "21", "--alphas", "1", "--output", str(path)]) == 0
    text = path.read_text()
    assert text == capsys.readouterr().out
    rows = {int(m.group(1)): [float(v) for v in m.group(2).split("|")]
            for m in re.finditer(r"^\| (\d+) \|(.*)\|$", text, re.M)}
    assert rows[3] == [round(encoder_gflops_per_second(1.0, 3, (3,)), 3),
                       round(encoder_gflops_per_second(1.0, 3, (3, 7, 14)), 3)]
    assert rows[21][0] > rows[3][0]


def test_help_lists_subcommands(capsys):
    try:
        main(["--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "summary" in out and "flops" in out
