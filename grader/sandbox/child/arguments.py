"""What a TA would type for a program that asks: its command-line arguments, and its
``input()`` answers.


``python lab1.py xor``: a program that indexes ``sys.argv[1]`` and compares it with
``'linear'`` or ``'xor'`` crashes with an ``IndexError`` when run without arguments, as the
grader runs it.  A TA reads the comparison and types one of the words; so does the grader,
taking the first word the code compares each argument with.  A program that uses ``argparse``
gets no arguments (its defaults are what a TA would run first), and neither does one whose
arguments cannot be guessed from its code (``int(sys.argv[2])``).
"""

from __future__ import annotations

import ast
import re

CHOICE = re.compile(r"(?<![\w.])([A-Za-z0-9_]+)\s*(?::|=|\))\s*[A-Za-z]")
"""An option a prompt offers: ``0: XOR``, ``1 : linear``, ``2) momentum``."""
SLASHED = re.compile(r"[\[(]\s*([A-Za-z0-9_]+)\s*/")
"""An option of ``(y/n)``, ``[1/2]``."""


def first_choice(prompt: str) -> str | None:
    """What the program's ``input(prompt)`` gets: the first option the prompt offers, as a TA
    running the program would type one to see it train (``"Please enter ... (0: XOR /
    1: Linear)"`` gets ``"0"``); None, so the call fails as it would, when it offers none."""
    found = CHOICE.search(prompt) or SLASHED.search(prompt)
    return found.group(1) if found else None


def _argv_index(node: ast.AST) -> int | None:
    """``k`` for ``sys.argv[k]`` (or ``argv[k]`` imported from sys), else None."""
    if not isinstance(node, ast.Subscript):
        return None
    value, index = node.value, node.slice
    is_argv = (isinstance(value, ast.Attribute) and value.attr == "argv"
               and isinstance(value.value, ast.Name) and value.value.id == "sys") or \
        (isinstance(value, ast.Name) and value.id == "argv")
    if is_argv and isinstance(index, ast.Constant) and type(index.value) is int \
            and index.value >= 1:
        return index.value
    return None


def _words(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [w for item in node.elts for w in _words(item)]
    return []


def guessed_argv(source: str) -> list[str] | None:
    """The arguments after the program's name, or None when the program indexes no
    ``sys.argv[k]`` or one of them is compared with no word."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    indexes: set[int] = set()
    names: dict[str, int] = {}
    for node in ast.walk(tree):
        k = _argv_index(node)
        if k is not None:
            indexes.add(k)
        if isinstance(node, ast.Assign) and _argv_index(node.value) is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = _argv_index(node.value)  # type: ignore[assignment]
    if not indexes:
        return None
    choices: dict[int, list[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        for side in sides:
            k = _argv_index(side)
            if k is None and isinstance(side, ast.Name):
                k = names.get(side.id)
            if k is None:
                continue
            for other in sides:
                if other is not side:
                    choices.setdefault(k, []).extend(_words(other))
    wanted = range(1, max(indexes) + 1)
    if not all(choices.get(k) for k in wanted):
        return None
    return [choices[k][0] for k in wanted]
