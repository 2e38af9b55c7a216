"""`tinybench boards` says for each board how CI verifies it: under QEMU, or only built."""

from __future__ import annotations

from click.testing import CliRunner

from tinybench.cli import cli


def _entries(output: str) -> dict[str, str]:
    """Board id -> its block of lines in the listing."""
    blocks: dict[str, str] = {}
    current = ""
    for line in output.splitlines():
        if line and not line.startswith(" "):
            current = line.split()[0]
            blocks[current] = ""
        elif current:
            blocks[current] += line + "\n"
    return blocks


def test_each_board_says_whether_it_runs_under_qemu_or_is_only_built() -> None:
    result = CliRunner().invoke(cli, ["boards"])
    assert result.exit_code == 0, result.output
    blocks = _entries(result.output)
    for board in ("nucleo-g071rb", "nucleo-h7a3zi", "nucleo-u575zi"):
        assert "  verified: build-only\n" in blocks[board]
        assert "(present)" in blocks[board]
    assert (
        "verified: build-only (its legacy-UART driver and the nrf5 port also run under QEMU as "
        "qemu-nrf51)" in blocks["nrf52840dk"]
    )
    for board in ("qemu-nrf51", "qemu-m4", "qemu-m33"):
        assert "  verified: qemu\n" in blocks[board]
    assert "  verified: host\n" in blocks["host"]
    assert "cortex-m0plus at 64 MHz, firmware port stm32g0" in blocks["nucleo-g071rb"]
