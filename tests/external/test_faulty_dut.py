"""A deliberately faulty external DUT on socket:// (the real pyserial path): every fault is
reported in results.json, nothing is scored silently, nothing hangs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tinybench.dut.session import Timeouts
from tinybench.errors import TinybenchError
from tinybench.external.worker import ExternalDutFailure, ExternalDutRefused
from tinybench.project import Project
from tinybench.runner import RunRequest, run_benchmark

from .conftest import sent_commands
from .faulty_dut import Faults, FaultyDut

SAMPLES = 12
QUICK = Timeouts(boot_s=1.5, command_s=1.0, infer_s=1.5)

StartDut = Callable[[Faults], FaultyDut]


def _request(dut: FaultyDut, out: Path, limit: int = SAMPLES) -> RunRequest:
    return RunRequest(
        "kws01", "external", "native", "accuracy", None, limit, out, dut.url,
        timeouts=QUICK, external=True, reconnect_wait_s=1.0,
    )  # fmt: skip


def _results(out: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((out / "results.json").read_text())
    return document


def _journal(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def _reference_predictions(out: Path) -> list[int]:
    reference = json.loads((out / "reference.json").read_text())
    return [s["prediction"] for s in reference["samples"]]


def test_a_truncating_dut_agrees_within_print_precision(
    project: Project, faulty_dut: StartDut, tmp_path: Path
) -> None:
    dut = faulty_dut(Faults(truncate=True))
    outcome = run_benchmark(project, _request(dut, tmp_path / "run"))
    check = outcome.document["reference_check"]
    assert check["compared"] == SAMPLES == check["within_print_precision"]
    # truncation leaves up to one unit of the last digit: more than rounding's half unit
    assert 0.0005 < check["max_abs_difference"] <= 0.001 + 1e-6
    journal = _journal(tmp_path / "run")
    assert [r["prediction"] for r in journal] == _reference_predictions(tmp_path / "run")
    dut_block = outcome.document["dut"]
    assert dut_block["name"] == "Faulty DUT" and dut_block["status"] == "complete"
    assert dut_block["profile"] == ["m-profile-[Faulty DUT firmware 1.0]", "m-model-[kws01]"]
    # the boot banner (m-timestamp-mode-..., m-init-done) did not disturb the handshake
    assert dut_block["faults"] == []


def test_wrong_outputs_are_scored_as_printed_and_reported_as_mismatches(
    project: Project, faulty_dut: StartDut, tmp_path: Path
) -> None:
    dut = faulty_dut(Faults(wrong_every=4))
    out = tmp_path / "run"
    document = run_benchmark(project, _request(dut, out)).document
    check = document["reference_check"]
    assert check["compared"] == SAMPLES
    assert check["mismatches"] == SAMPLES // 4 == SAMPLES - check["within_print_precision"]
    assert check["max_abs_difference"] > 0.5
    names = [r["name"] for r in _journal(out)]
    assert check["mismatched_samples"] == [names[i] for i in range(3, SAMPLES, 4)]
    journal = _journal(out)
    assert all(r["reference_match"] is ((i + 1) % 4 != 0) for i, r in enumerate(journal))
    # scored from what it printed: the reversed vectors predict other classes
    expected = _reference_predictions(out)
    predicted = [r["prediction"] for r in journal]
    assert [p == e for p, e in zip(predicted, expected, strict=True)].count(False) >= 1


def test_a_reset_mid_run_is_recorded_and_the_sample_rerun_once(
    project: Project, faulty_dut: StartDut, tmp_path: Path
) -> None:
    dut = faulty_dut(Faults(reset_at=5))
    out = tmp_path / "run"
    document = run_benchmark(project, _request(dut, out)).document
    dut_block = document["dut"]
    assert dut_block["status"] == "complete" and dut_block["samples_done"] == SAMPLES
    assert [f["kind"] for f in dut_block["faults"]] == ["reset"]
    assert "m-init-done" in dut_block["faults"][0]["message"]
    names = [r["name"] for r in _journal(out)]
    assert dut_block["faults"][0]["sample"] == names[4]
    assert len(set(names)) == SAMPLES  # the interrupted sample counted once
    assert document["reference_check"]["within_print_precision"] == SAMPLES
    assert dut.record.infers == SAMPLES + 1  # the lost infer, then every sample once


@pytest.mark.parametrize(
    ("faults", "kind"),
    [(Faults(garble_at=3), "garbled"), (Faults(error_at=3), "error-reply")],
    ids=["garbled-results-line", "e-reply"],
)
def test_a_single_bad_reply_is_recorded_and_retried(
    project: Project, faulty_dut: StartDut, tmp_path: Path, faults: Faults, kind: str
) -> None:
    dut = faulty_dut(faults)
    document = run_benchmark(project, _request(dut, tmp_path / "run")).document
    dut_block = document["dut"]
    assert [f["kind"] for f in dut_block["faults"]] == [kind]
    assert dut_block["fault_counts"] == {kind: 1}
    assert dut_block["status"] == "complete"
    assert document["reference_check"]["within_print_precision"] == SAMPLES
    assert document["accuracy"]["total"] == SAMPLES


def test_a_dut_that_goes_silent_ends_the_run_in_bounded_time_keeping_what_was_measured(
    project: Project, faulty_dut: StartDut, tmp_path: Path
) -> None:
    dut = faulty_dut(Faults(silent_after=4))
    out = tmp_path / "run"
    start = time.monotonic()
    with pytest.raises(ExternalDutFailure, match="did not come back") as caught:
        run_benchmark(project, _request(dut, out))
    assert time.monotonic() - start < 30.0
    assert "results.json" in str(caught.value)
    document = _results(out)
    dut_block = document["dut"]
    assert dut_block["status"] == "failed" and "silence" in dut_block["failure"]
    assert [f["kind"] for f in dut_block["faults"]] == ["silence"]
    assert dut_block["samples_done"] == 4 and dut_block["samples_total"] == SAMPLES
    assert document["accuracy"] is None  # an incomplete run is not scored
    assert document["reference_check"]["compared"] == 4  # but what was measured is checked
    assert (out / "samples.jsonl").read_text().count("\n") == 4


def test_a_dut_that_never_answers_is_reported_not_scored(tmp_path: Path, project: Project) -> None:
    import socket

    server = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        url = f"socket://127.0.0.1:{server.getsockname()[1]}"
        request = RunRequest(
            "kws01", "external", "native", "accuracy", None, 3, tmp_path / "run", url,
            timeouts=QUICK, external=True, reconnect_wait_s=1.0,
        )  # fmt: skip
        with pytest.raises(ExternalDutFailure, match=r"did not answer `name` within 1\.5 s"):
            run_benchmark(project, request)
    finally:
        server.close()
    dut_block = _results(tmp_path / "run")["dut"]
    assert dut_block["status"] == "failed" and dut_block["name"] is None
    assert [f["kind"] for f in dut_block["faults"]] == ["silence"]
    assert "baud rate" in dut_block["failure"]


def test_a_dut_running_another_model_is_refused_before_the_run(
    project: Project, faulty_dut: StartDut, tmp_path: Path
) -> None:
    dut = faulty_dut(Faults(model_id="vww01"))
    out = tmp_path / "run"
    with pytest.raises(ExternalDutRefused, match=r"m-model-\[vww01\].*for kws01"):
        run_benchmark(project, _request(dut, out))
    assert not (out / "samples.jsonl").exists() and not (out / "results.json").exists()
    assert not any(w.startswith("db") for w in sent_commands(out / "transcript.txt"))
    assert dut.record.infers == 0
    assert issubclass(ExternalDutRefused, TinybenchError)


def test_a_babbling_dut_is_cut_off_not_followed_forever(
    project: Project, faulty_dut: StartDut, tmp_path: Path
) -> None:
    dut = faulty_dut(Faults(babble_from=3))
    out = tmp_path / "run"
    with pytest.raises(ExternalDutFailure, match="failed 3 times"):
        run_benchmark(project, _request(dut, out))
    dut_block = _results(out)["dut"]
    assert [f["kind"] for f in dut_block["faults"]] == ["garbled"] * 3
    assert all("without m-ready" in f["message"] for f in dut_block["faults"])
    assert dut_block["samples_done"] == 2 and dut_block["status"] == "failed"


def test_a_physical_boards_id_names_the_board_and_its_baud_rate(
    project: Project, faulty_dut: StartDut, tmp_path: Path
) -> None:
    dut = faulty_dut(Faults())
    request = RunRequest(
        "kws01", "nucleo-l4r5zi", "native", "accuracy", None, 2, tmp_path / "run", dut.url,
        timeouts=QUICK, external=True, reconnect_wait_s=1.0,
    )  # fmt: skip
    document = run_benchmark(project, request).document
    assert document["board"] == "nucleo-l4r5zi" and document["engine"] == "external"
    uart = project.board("nucleo-l4r5zi").uart
    assert uart is not None and document["dut"]["baud"] == uart.baud
    assert document["accuracy"]["total"] == 2


def test_baud_option_sets_the_ports_rate_and_needs_external(
    faulty_dut: StartDut, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from tinybench.cli import cli

    dut = faulty_dut(Faults())
    out = tmp_path / "run"
    args = ["kws01", "--external", "--port", dut.url, "--baud", "921600", "--limit", "2"]
    result = CliRunner().invoke(cli, ["run", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _results(out)["dut"]["baud"] == 921600
    assert json.loads((out / "run.json").read_text())["baud"] == 921600
    assert "external DUT: Faulty DUT (m-profile-[Faulty DUT firmware 1.0]" in result.output
    result = CliRunner().invoke(cli, ["run", "kws01", "--baud", "9600", "--limit", "1"])
    assert result.exit_code != 0 and "--baud applies to --external runs" in result.output


def test_late_answers_to_a_repeated_name_do_not_derail_the_handshake(
    project: Project, faulty_dut: StartDut, tmp_path: Path
) -> None:
    # `name` is repeated after 1 s of silence; the late second answer arrives after the
    # handshake's quiet period and shifts the next replies by one: identified again.
    dut = faulty_dut(Faults(name_delays_s=(1.2, 0.5)))
    request = replace(_request(dut, tmp_path / "run", limit=3), timeouts=replace(QUICK, boot_s=5.0))
    document = run_benchmark(project, request).document
    assert document["dut"]["name"] == "Faulty DUT" and document["dut"]["faults"] == []
    assert document["reference_check"]["within_print_precision"] == 3
    assert dut.record.names >= 4  # two in the first sync, then name, then the second sync
