"""The loaded run rules drive the run: an edited copy of the rules file changes what is sent."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from tinybench.cli import cli


def _rules_copy(repo_root: Path, tmp_path: Path, edits: dict[str, str]) -> Path:
    text = (repo_root / "runrules" / "mlperf-tiny.toml").read_text()
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "rules" / "mlperf-tiny.toml"  # the id must match the file name
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def test_accuracy_infer_and_warmup_counts_come_from_the_rules(
    tmp_path: Path, repo_root: Path
) -> None:
    rules = _rules_copy(
        repo_root,
        tmp_path,
        {"infer_count = 1 ": "infer_count = 2 ", "warmup_count = 0": "warmup_count = 1"},
    )
    base = ["run", "kws01", "--board", "host", "--limit", "3"]
    per_sample = [*base, "--batch", "0"]
    code, output = _run([*per_sample, "--out", str(tmp_path / "default")])
    assert code == 0, output
    code, output = _run([*per_sample, "--rules", str(rules), "--out", str(tmp_path / "edited")])
    assert code == 0, output
    assert "3 compared, 0 mismatches" in output
    default = (tmp_path / "default" / "transcript.txt").read_text()
    edited = (tmp_path / "edited" / "transcript.txt").read_text()
    assert default.count("> infer 1 0%") == 3 and "> infer 2 1%" not in default
    assert edited.count("> infer 2 1%") == 3 and "> infer 1 0%" not in edited
    # Batched (the host board's default), the one `batch` command carries the same counts.
    code, output = _run([*base, "--rules", str(rules), "--out", str(tmp_path / "batched")])
    assert code == 0, output
    batched = (tmp_path / "batched" / "transcript.txt").read_text()
    assert batched.count("> batch batch-in.bin batch-out.bin 3 2 1%") == 1
    assert "> infer 1 0%" not in batched
    # The device ran 2 timed inferences per sample; the journal keeps one inference's share.
    journal = [json.loads(line) for line in (tmp_path / "edited" / "samples.jsonl").open()]
    assert all(len(j["elapsed_us"]) == 1 for j in journal)
    document = json.loads((tmp_path / "edited" / "results.json").read_text())
    assert document["performance"]["source"].startswith("accuracy run, infer 2 1 per inference")
    provenance = document["provenance"]
    assert provenance["runrules_sha256"] == hashlib.sha256(rules.read_bytes()).hexdigest()
    assert provenance["runrules_file"] == str(rules.resolve())
    run_json = json.loads((tmp_path / "edited" / "run.json").read_text())
    assert run_json["rules_file"] == str(rules.resolve())  # --resume keeps the same rules


def test_performance_windows_come_from_the_rules(tmp_path: Path, repo_root: Path) -> None:
    rules = _rules_copy(
        repo_root,
        tmp_path,
        {
            "distinct_inputs = 5": "distinct_inputs = 2",
            "min_window_s = 10.0       # ...": "min_window_s = 0.05       # ...",
            'warmup_count = 10\nscore = "median-throughput"': (
                'warmup_count = 3\nscore = "median-throughput"'
            ),
        },
    )
    code, output = _run(["run", "kws01", "--board", "host", "--mode", "performance",
                         "--rules", str(rules), "--out", str(tmp_path / "p")])  # fmt: skip
    assert code == 0, output
    assert "over 2 windows, compliant" in output
    perf = json.loads((tmp_path / "p" / "results.json").read_text())["performance"]
    assert perf["min_window_s"] == 0.05 and perf["compliant"] is True
    windows = perf["windows"]
    assert len(windows) == 2 and len({w["input"] for w in windows}) == 2
    assert all(w["elapsed_s"] >= 0.05 and w["warmup_count"] == 3 for w in windows)
    transcript = (tmp_path / "p" / "transcript.txt").read_text()
    assert all(f"> infer {w['infer_count']} 3%" in transcript for w in windows)


def test_rules_asking_for_more_inputs_than_the_data_set_has_are_refused(
    tmp_path: Path, repo_root: Path
) -> None:
    rules = _rules_copy(repo_root, tmp_path, {"distinct_inputs = 5": "distinct_inputs = 4"})
    code, output = _run(["run", "kws01", "--board", "host", "--mode", "performance", "--limit",
                         "3", "--rules", str(rules), "--out", str(tmp_path / "p")])  # fmt: skip
    assert code == 1
    assert "performance mode needs 4 distinct inputs (run rules mlperf-tiny 1.0)" in output


def test_a_resumed_run_keeps_its_rules_file_and_refuses_an_edited_one(
    tmp_path: Path, repo_root: Path
) -> None:
    rules = _rules_copy(repo_root, tmp_path, {"infer_count = 1 ": "infer_count = 2 "})
    run_dir = tmp_path / "r"
    code, output = _run(["run", "kws01", "--board", "host", "--limit", "4", "--batch", "0",
                         "--rules", str(rules), "--out", str(run_dir)])  # fmt: skip
    assert code == 0, output

    def interrupt() -> None:  # as if stopped after two samples
        (run_dir / "results.json").unlink()
        journal = (run_dir / "samples.jsonl").read_text().splitlines(keepends=True)
        (run_dir / "samples.jsonl").write_text("".join(journal[:2]))
        (run_dir / "transcript.txt").unlink()

    interrupt()
    # --batch, like --jobs, belongs to the invocation, not to the run: per sample again.
    code, output = _run(["run", "kws01", "--resume", str(run_dir), "--batch", "0"])
    assert code == 0, output
    transcript = (run_dir / "transcript.txt").read_text()
    assert transcript.count("> infer 2 0%") == 2 and "> infer 1 0%" not in transcript
    interrupt()
    rules.write_text(rules.read_text().replace("infer_count = 2 ", "infer_count = 3 "))
    code, output = _run(["run", "kws01", "--resume", str(run_dir)])
    assert code == 1
    assert f"the run rules {rules.resolve()} changed since the run started" in output
