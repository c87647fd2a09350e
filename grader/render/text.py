"""Text from students, made fit for every format the grader writes.

Student code prints colour codes (``\\x1b[31m``), NUL bytes and other control characters,
and a file name that is not UTF-8 reaches us as lone surrogates.  XML 1.0 allows none of them,
not even escaped as ``&#27;`` (one such character and a whole JUnit file fails to parse), and
HTML treats them as parse errors.  Every renderer cleans its text with :func:`xml_safe`.
"""

from __future__ import annotations

import re
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def xml_safe(value: Any) -> str:
    """``value`` as text that XML 1.0 and HTML can hold and UTF-8 can encode: colour codes
    dropped whole, every other forbidden character replaced by U+FFFD (the reader sees that
    something was there), line ends as ``\\n``."""
    text = "" if value is None else str(value)
    text = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_XML.sub("\ufffd", text)
