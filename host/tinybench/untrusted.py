"""Text that came from a DUT, made safe to keep: printable, bounded, unambiguous.

An external DUT is an untrusted peer: its name, profile lines and error replies end up in
results.json, results.txt, the reports and error messages. Here every such string becomes
printable ASCII (anything else, the backslash included, as a Python-style escape, so nothing
is lost silently and no control character reaches a terminal) and is cut to a bound with a
note of the original length. Escaping for a format (HTML, Markdown) is each renderer's job;
this module only guarantees the text is short and printable. A DUT string is never used as a
path: run directories and file names come from tinybench's own ids.
"""

from __future__ import annotations

NAME_CHARS = 80  # a DUT name: the protocol's command length is the natural bound
MODEL_CHARS = 40
PROFILE_LINE_CHARS = 200
PROFILE_LINES = 8
MESSAGE_CHARS = 500  # a fault or failure message (it quotes the DUT's lines)
CUT_NOTE_CHARS = 40  # what a cut adds: "... [cut: N characters]"


def _escape(char: str, backslash: bool) -> str:
    if char == "\\" and backslash:
        return "\\\\"
    if " " <= char <= "~":
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, limit: int, backslash: bool = True) -> str:
    """Printable ASCII of at most `limit` characters plus a note when it had to be cut.
    backslash=False leaves backslashes alone: for text printable() already made (a report
    reading results.json), so that its escapes are not escaped twice."""
    head = text[: limit + 1]  # a 1 MB line is not escaped as a whole
    escaped = "".join(_escape(c, backslash) for c in head)
    if len(escaped) <= limit and len(text) == len(head):
        return escaped
    return f"{escaped[:limit]}... [cut: {len(text)} characters]"


def is_clean(text: str, limit: int) -> bool:
    """True when printable() leaves the text as it is."""
    return printable(text, limit) == text


def message(error: BaseException | str) -> str:
    """A fault or failure message for results.json, reports and the terminal."""
    return printable(str(error), MESSAGE_CHARS)
