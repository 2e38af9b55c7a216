"""The DUT section of an external run's report: what the DUT said it is, and its faults.

Every string here came from the DUT (results.json keeps them printable and bounded, see
tinybench.untrusted); the renderers escape them like any other text. They are bounded again
here, for a results.json written by something else.
"""

from __future__ import annotations

from typing import Any

from tinybench.report.formatting import text_or_missing
from tinybench.report.layout import Section, Table
from tinybench.untrusted import (
    CUT_NOTE_CHARS,
    MESSAGE_CHARS,
    NAME_CHARS,
    PROFILE_LINE_CHARS,
    printable,
)

FAULTS_SHOWN = 20


def _text(value: Any, limit: int) -> str:
    """Bounded again with room for tinybench's own cut note, its escapes kept as they are."""
    return printable(text_or_missing(value), limit + CUT_NOTE_CHARS, backslash=False)


def dut_section(block: dict[str, Any]) -> Section | None:
    """None for runs on tinybench's own firmware (no `dut` block)."""
    if not block:
        return None
    profile = block.get("profile")
    lines = [str(line) for line in profile] if isinstance(profile, list) else []
    rows = [
        ("kind", _text(block.get("kind"), NAME_CHARS)),
        ("name", _text(block.get("name"), NAME_CHARS)),
        *(("profile", _text(line, PROFILE_LINE_CHARS)) for line in lines[:10]),
        ("status", _text(block.get("status"), NAME_CHARS)),
        (
            "samples done",
            f"{text_or_missing(block.get('samples_done'))} of "
            f"{text_or_missing(block.get('samples_total'))}",
        ),
    ]
    paragraphs = []
    failure = block.get("failure")
    if failure:
        paragraphs.append("The run stopped and is not scored: " + _text(failure, MESSAGE_CHARS))
    tables = [Table("dut", ("", "value"), tuple(rows))]
    faults = block.get("faults")
    if isinstance(faults, list) and faults:
        shown = [f for f in faults[:FAULTS_SHOWN] if isinstance(f, dict)]
        tables.append(
            Table(
                "dut-faults",
                ("sample", "kind", "message"),
                tuple(
                    (
                        _text(f.get("sample"), NAME_CHARS),
                        _text(f.get("kind"), NAME_CHARS),
                        _text(f.get("message"), MESSAGE_CHARS),
                    )
                    for f in shown
                ),
            )
        )
        if len(faults) > FAULTS_SHOWN:
            paragraphs.append(f"{len(faults)} faults; the first {FAULTS_SHOWN} are listed.")
    elif faults == []:
        paragraphs.append("No faults.")
    return Section("dut", "DUT", tuple(paragraphs), tuple(tables))


__all__ = ["dut_section"]
