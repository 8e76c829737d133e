"""``contextnet plot``: reads RUN_DIR/logs/metrics.csv with empty cells and missing columns."""

from __future__ import annotations

from tf_contextnet.cli.main import main
from tf_contextnet.cli.plot import read_metrics


def test_plots_the_training_log(tmp_path, capsys):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "metrics.csv").write_text(
        "epoch,step,minutes,loss,val_loss,val_wer,val_cer,learning_rate\n"
        "1,100,1.5,20.0,,,,0.0005\n"
        "2,200,3.0,10.0,12.0,0.6,0.3,0.001\n"
        "3,300,4.5,5.0,,,,0.0009\n")
    assert main(["plot", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "curves.png").stat().st_size > 1000
    for name in ("loss", "val_loss", "val_wer", "val_cer", "learning_rate"):
        assert name in printed
    columns = read_metrics(str(tmp_path / "logs" / "metrics.csv"))
    assert columns["loss"] == [20.0, 10.0, 5.0] and columns["val_wer"][0] != columns["val_wer"][0]  # nan


def test_missing_columns_and_a_csv_given_directly(tmp_path, capsys):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,3.0\n1,2.0\n")
    assert main(["plot", str(path), "--out", str(tmp_path / "c.png")]) == 0
    assert "loss" in capsys.readouterr().out and (tmp_path / "c.png").is_file()


def test_errors(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "logs/metrics.csv does not exist" in capsys.readouterr().err
    (tmp_path / "x.csv").write_text("epoch,minutes\n1,2\n")
    assert main(["plot", str(tmp_path / "x.csv")]) == 2
    assert "no plottable column" in capsys.readouterr().err
