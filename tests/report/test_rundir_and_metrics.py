"""Reading run directories and the numbers the plots are drawn from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinybench.report.classnames import class_names
from tinybench.report.metrics import confusion_matrix, percentile, roc_curve
from tinybench.report.rundir import RunDirectoryError, load_run_directory
from tinybench.scoring import roc_auc

from .rundirs import (
    AUC_CLIPS,
    AUC_EXPECTED,
    write_auc_run,
    write_minimal_run,
    write_performance_run,
    write_top1_run,
)


def test_confusion_matrix_counts_labels_against_predictions(tmp_path: Path) -> None:
    run = load_run_directory(write_top1_run(tmp_path / "run"))
    assert run.samples is not None
    matrix = confusion_matrix(run.samples)
    assert matrix is not None
    assert matrix.classes == 4
    assert matrix.counts == ((4, 0, 0, 0), (0, 1, 1, 0), (1, 0, 2, 0), (0, 0, 0, 1))
    assert (matrix.correct, matrix.total) == (8, 10)
    assert [matrix.class_accuracy(c) for c in range(4)] == [1.0, 0.5, pytest.approx(2 / 3), 1.0]


def test_confusion_matrix_width_follows_the_output_vector(tmp_path: Path) -> None:
    run = load_run_directory(write_top1_run(tmp_path / "run"))
    assert run.samples is not None
    wide = [s.__class__(**{**s.__dict__, "output_width": 12}) for s in run.samples]
    matrix = confusion_matrix(wide)
    assert matrix is not None and matrix.classes == 12
    assert matrix.class_accuracy(11) is None


def test_class_names_come_from_the_kws_file_names(tmp_path: Path) -> None:
    run = load_run_directory(write_top1_run(tmp_path / "run"))
    assert run.samples is not None
    assert class_names(run.samples, 5) == ["0 Down", "1 Go", "2 Left", "3 No", "4"]


def test_roc_curve_steps_through_every_threshold(tmp_path: Path) -> None:
    run = load_run_directory(write_auc_run(tmp_path / "run"))
    assert run.samples is not None
    curve = roc_curve(run.samples)
    assert curve is not None
    # scores 5(+) 4(-) 3(+) 2(-) 1(-): thresholds from the highest down
    assert curve.true_positive_rate == (0.0, 0.5, 0.5, 1.0, 1.0, 1.0)
    assert curve.false_positive_rate == pytest.approx((0.0, 0.0, 1 / 3, 1 / 3, 2 / 3, 1.0))
    assert curve.auc == pytest.approx(AUC_EXPECTED)
    assert curve.auc == roc_auc([c[0] for c in AUC_CLIPS], [c[1] for c in AUC_CLIPS])
    assert (curve.positives, curve.negatives) == (2, 3)


def test_roc_curve_needs_both_labels(tmp_path: Path) -> None:
    run = load_run_directory(write_auc_run(tmp_path / "run"))
    assert run.samples is not None
    normal_only = [s for s in run.samples if s.label == 0]
    assert roc_curve(normal_only) is None


def test_latency_trace_converts_ticks_to_milliseconds(tmp_path: Path) -> None:
    run = load_run_directory(write_performance_run(tmp_path / "run"))
    assert run.latencies is not None
    assert run.latencies.counter_hz == 25_000_000
    latencies = run.latencies.latencies_ms()
    assert len(latencies) == 200
    assert latencies[0] == pytest.approx(16.0)
    assert latencies[1] == pytest.approx(16.0 + 1 / 25_000)
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5


def test_missing_results_json_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirectoryError, match=r"no results\.json"):
        load_run_directory(tmp_path / "empty")
    with pytest.raises(RunDirectoryError, match="not a directory"):
        load_run_directory(tmp_path / "absent")


def test_minimal_run_has_no_optional_files(tmp_path: Path) -> None:
    run = load_run_directory(write_minimal_run(tmp_path / "run"))
    assert run.samples is None and run.latencies is None
    assert run.block("performance") == {} and run.block("accuracy") == {}


def test_malformed_samples_line_names_file_and_line(tmp_path: Path) -> None:
    run_dir = write_top1_run(tmp_path / "run")
    with (run_dir / "samples.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    with pytest.raises(RunDirectoryError, match=r"samples\.jsonl:11"):
        load_run_directory(run_dir)
