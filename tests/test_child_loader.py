"""The child-side loading library (grader/sandbox/child: loader, definitions, magics, describe,
figures).

``definitions_only`` and ``neutralise`` only parse, so they are tested in this process.  Every
test that runs code (the loaders, ``describe`` of a loaded namespace) runs it in a subprocess,
as the sandbox's worker would: the child folder alone on ``sys.path``, the modules imported as
top-level modules, stdin from /dev/null, ``MPLBACKEND=Agg``; the subprocess prints JSON of
``report.to_dict()`` and ``describe(...)`` and the tests assert on that.  Several loads share
one subprocess (each with a fresh namespace, as the worker's), which also checks that one load
leaves no timer, handler or ``input`` replacement behind for the next.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHILD = ROOT / "grader" / "sandbox" / "child"
SUBMISSIONS = ROOT / "submissions" / "lab1"
CORRECT_PY = SUBMISSIONS / "DLP_LAB1_0856001_Chen.py"
SYNTAX_ERROR_PY = SUBMISSIONS / "DLP_LAB1_0856105_Huang.py"
NOTEBOOK = SUBMISSIONS / "DLP_LAB1_0856017_王小明.ipynb"


def _load_child_module(name: str):
    """Import a child module from its file under a private name (no sys.path change)."""
    spec = importlib.util.spec_from_file_location(f"_child_{name}", CHILD / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


definitions = _load_child_module("definitions")
magics = _load_child_module("magics")


# --- the subprocess runner ----------------------------------------------------------------------

RUNNER = r'''
import builtins, json, os, signal, sys, types
sys.path.insert(0, sys.argv[1])
import loader, describe  # top-level modules, as in the worker

ORIGINAL_INPUT = builtins.input
results = []
for job in json.loads(sys.stdin.read()):
    os.chdir(job["cwd"])
    module = types.ModuleType("__main__")   # the worker's namespace is a real __main__ module
    sys.modules["__main__"] = module
    ns = module.__dict__
    started = []
    if job["op"] == "script":
        report = loader.load_script(job["path"], ns, mode=job["mode"], timeout=job["timeout"])
    else:
        report = loader.load_notebook(job["cells"], ns, mode=job["mode"],
                                      cell_timeout=job["timeout"],
                                      on_cell_start=started.append,
                                      skip_cells=set(job.get("skip", ())))
    values = {}
    for name in job.get("names", ()):
        value = ns.get(name, "<missing>")
        plain = isinstance(value, (int, float, str, type(None)))
        values[name] = value if plain else repr(type(value))
    results.append({
        "report": report.to_dict(include_figures=False),
        "describe": describe.describe(ns, main_file=job.get("path")),
        "values": values,
        "started": started,
        "png_heads": [png[:8].hex() for png in report.figures],
        "timer": list(signal.getitimer(signal.ITIMER_REAL)),
        "handler_default": signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None),
        "input_restored": builtins.input is ORIGINAL_INPUT,
        "own_modules": (sys.modules.get("loader") is loader
                        and sys.modules.get("describe") is describe),
        "to_dict_figures": len(report.to_dict()["figures"]),
        "cwd_restored": os.getcwd() == job["cwd"],
        "matplotlib_imported": "matplotlib" in sys.modules,
        "grader_imported": sorted(m for m in sys.modules
                                  if m.partition(".")[0] in ("grader", "reference")),
    })
sys.__stdout__.write("\n@@RESULTS@@" + json.dumps(results))
'''


def run_jobs(tmp_path: Path, jobs: list[dict], *, timeout: float = 60) -> tuple[list[dict], str]:
    """Run loader jobs in one fresh interpreter; return (results, stderr)."""
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MPL"))}
    env.update({"MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
                "OPENBLAS_NUM_THREADS": "1", "MPLCONFIGDIR": str(tmp_path / "mplconfig")})
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(runner), str(CHILD)],
        input=json.dumps(jobs), capture_output=True, text=True, timeout=timeout, env=env,
        cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    marker = proc.stdout.rfind("@@RESULTS@@")
    assert marker >= 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout[marker + len("@@RESULTS@@"):]), proc.stderr


def folder(tmp_path: Path, name: str, files: dict[str, str | bytes]) -> Path:
    where = tmp_path / name
    where.mkdir()
    for filename, text in files.items():
        data = text if isinstance(text, bytes) else textwrap.dedent(text).encode("utf-8")
        (where / filename).write_bytes(data)
    return where


def script_job(where: Path, path: str, mode: str, timeout: float = 10, names=()) -> dict:
    return {"op": "script", "cwd": str(where), "path": path, "mode": mode, "timeout": timeout,
            "names": list(names)}


def kinds(result: dict) -> list[str]:
    return [e["kind"] for e in result["report"]["errors"]]


def assert_clean(result: dict) -> None:
    """No timer, handler, input() replacement or grader import left behind."""
    assert result["timer"] == [0.0, 0.0]
    assert result["handler_default"]
    assert result["input_restored"]
    assert result["cwd_restored"]
    assert result["grader_imported"] == []
    assert result["own_modules"]


# --- definitions mode: every rule (in-process: only parsing) ----------------------------------

KEPT = [
    ("import numpy as np", "import"),
    ("from __future__ import annotations", "import"),
    ("from os import path as p", "import"),
    ("def f(x):\n    while True:\n        pass\n", "function"),
    ("@decorate(1)\ndef f():\n    pass\n", "function"),
    ("async def f():\n    await g()\n", "function"),
    ("class A(Base, metaclass=M):\n    x = compute()\n", "class"),
    ("x = 1", "assignment"),
    ("x = y = (1, 2)", "assignment"),
    ("a, *b = 1, 2, 3", "assignment"),
    ("x: int = 3", "assignment"),
    ("x: int", "assignment"),
    ("x += 1", "assignment"),
    ("lr = -0.1 * 2 ** -3", "assignment"),
    ("LAYERS = [2, 3, 3, 1]", "assignment"),
    ("cfg = {'lr': 0.1, **other}", "assignment"),
    ("s = {1, 2}", "assignment"),
    ("t = not flag and (a or b)", "assignment"),
    ("v = a < b <= c", "assignment"),
    ("c = a if b else None", "assignment"),
    ("w = np.float64", "assignment"),
    ("item = data[0][1:2, ::-1]", "assignment"),
    ("act = lambda x, k=2: x * k", "assignment"),
    ("name = f'{a!r:>{width}}'", "assignment"),
    ("arr = np.array([[0, 1], [1, 0]], dtype=float)", "assignment"),
    ("z = np.zeros((2, 3))", "assignment"),
    ("o = numpy.ones(3)", "assignment"),
    ("e = np.eye(2)", "assignment"),
    ("r = np.arange(10)", "assignment"),
    ("ls = np.linspace(0, 1, 5)", "assignment"),
    ("d = dict(a=1)", "assignment"),
    ("lst = list()", "assignment"),
    ("tp = tuple([1])", "assignment"),
    ("st = set()", "assignment"),
    ("fl = float('inf')", "assignment"),
    ("i = int('3')", "assignment"),
    ("sv = str(1)", "assignment"),
    ("rg = range(3)", "assignment"),
    ("sentinel = object()", "assignment"),
    ("Point = namedtuple('Point', 'x y')", "assignment"),
    ("T = TypeVar('T')", "assignment"),
    ("try:\n    import torch\nexcept ImportError:\n    torch = None\n", "try"),
    ("if sys.version_info >= (3, 8):\n    from typing import Literal\nelse:\n"
     "    Literal = None\n", "if"),
    ("global x", "global"),
    ("pass", "pass"),
    ('"""A docstring."""', "docstring"),
    ("...", "docstring"),
]

DROPPED = [
    ("for i in range(3):\n    pass\n", "loop"),
    ("while not done:\n    pass\n", "loop"),
    ("plt.show()", "call"),
    ("show_result(X, Y, pred)", "call"),
    ("input()", "call"),
    ("np.random.seed(1)", "call"),
    ("train(nn, X, Y)", "call"),
    ("main()", "call"),
    ("print('loss', loss)", "print"),
    ("exec('x = 1')", "exec"),
    ("eval('1 + 1')", "exec"),
    ("result = eval('1 + 1')", "exec"),
    ("await asyncio.sleep(1)", "await"),
    ("X, Y = generate_XOR_easy()", "assignment"),
    ("nn = NN(dim=[2, 3, 3, 1])", "assignment"),
    ("loss = train(nn, X, Y)", "assignment"),
    ("W = np.random.uniform(-1, 1, (2, 3))", "assignment"),
    ("ys = [f(x) for x in xs]", "assignment"),
    ("cfg['lr'] = 0.1", "assignment"),
    ("nn.lr = 0.1", "assignment"),
    ("if __name__ == '__main__':\n    import os\n", "main-guard"),
    ("if '__main__' == __name__:\n    main()\n", "main-guard"),
    ("if DEBUG:\n    print('debug')\n", "if"),
    ("if check():\n    import os\n", "if"),
    ("try:\n    run()\nexcept Exception:\n    pass\n", "try"),
    ("try:\n    import x\nexcept get_error():\n    pass\n", "try"),
    ("with open('f') as fh:\n    data = fh.read()\n", "with"),
    ("del x", "del"),
    ("assert x > 0", "assert"),
    ("raise SystemExit(1)", "raise"),
    ("x", "expression"),
    ("match x:\n    case 1:\n        pass\n", "match"),
]


@pytest.mark.parametrize("source, kind", KEPT, ids=[s.splitlines()[0] for s, _ in KEPT])
def test_definitions_keeps(source, kind):
    result = definitions.definitions_only(source, "student.py")
    assert result.dropped == []
    assert len(result.module.body) == 1
    assert definitions.classify(result.module.body[0]) == (True, kind)
    compile(result.module, "student.py", "exec")


@pytest.mark.parametrize("source, kind", DROPPED, ids=[s.splitlines()[0] for s, _ in DROPPED])
def test_definitions_drops(source, kind):
    result = definitions.definitions_only(source, "student.py")
    assert result.module.body == []
    [dropped] = result.dropped
    assert (dropped.line, dropped.kind) == (1, kind)
    assert dropped.text == source.splitlines()[0].strip()


def test_definitions_on_a_lab_script_keeps_its_definitions_and_reports_the_rest():
    source = CORRECT_PY.read_text(encoding="utf-8")
    result = definitions.definitions_only(source, str(CORRECT_PY))
    kept = {n.name for n in result.module.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert {"NN", "sigmoid", "mse", "derivative", "generate_linear", "generate_XOR_easy",
            "show_result"} <= kept
    assert {"np", "plt", "NN", "sigmoid"} <= set(result.kept_names)
    assert {"X", "Y", "nn", "loss"} <= set(result.dropped_names)
    by_text = {d.text: d.kind for d in result.dropped}
    assert by_text["np.random.seed(1)"] == "call"
    assert by_text["nn = NN(dim=[2, 3, 3, 1])"] == "assignment"
    assert by_text["while not done:"] == "loop"
    assert by_text["plt.show()"] == "call"
    # NN's parameters named loss/lr shadow the dropped globals: nothing is needed from them
    assert result.needed_dropped_names == []


def test_needed_dropped_names_follow_scopes():
    source = textwrap.dedent("""
        import numpy as np
        lr = get_lr()
        W = np.zeros(3)
        loss = compute()
        nn = make()
        HIDDEN = pick()
        DEFAULT = choose()
        register = make_registry()

        def step(x, loss):          # loss: a parameter, not the dropped global
            return x - lr * loss + W

        def local_only():
            nn = 3                  # a local
            return [nn for _ in range(2)]

        class Net:
            size = HIDDEN
            def forward(self, a=DEFAULT):
                return len(a)

        @register
        def hooked():
            pass

        def uses_builtin():
            return len(range(3))
    """)
    result = definitions.definitions_only(source, "student.py")
    assert result.needed_dropped_names == ["DEFAULT", "HIDDEN", "lr", "register"]
    assert {"lr", "loss", "nn", "HIDDEN", "DEFAULT", "register"} <= set(result.dropped_names)
    assert "W" in result.kept_names and "W" not in result.needed_dropped_names
    assert "len" not in result.global_reads


def test_a_kept_value_built_from_a_dropped_name_is_dropped_too():
    source = ("X, Y = generate_XOR_easy()\nn = X.shape[0]\nlr = 0.1\nlr += 1\n"
              "def f():\n    return n * lr\n")
    result = definitions.definitions_only(source, "student.py")
    assert [(d.line, d.kind, d.reason) for d in result.dropped] == [
        (1, "assignment", None), (2, "assignment", "uses X, which only dropped code defines")]
    assert result.needed_dropped_names == ["n"]
    assert "lr" in result.kept_names


def test_global_statement_in_a_kept_function_defines_the_name():
    source = "def init():\n    global W\n    W = 1\n\ndef use():\n    return W\n\nW = load()\n"
    result = definitions.definitions_only(source, "student.py")
    assert "W" in result.kept_names
    assert result.needed_dropped_names == []


def test_definitions_only_raises_syntax_errors_like_ast_parse():
    with pytest.raises(SyntaxError) as info:
        definitions.definitions_only(SYNTAX_ERROR_PY.read_text(encoding="utf-8"), "x.py")
    assert info.value.lineno == 80


# --- magics (in-process: text only) -------------------------------------------------------------

@pytest.mark.parametrize("cell, code, note", [
    ("%matplotlib inline\nimport numpy as np", "pass\nimport numpy as np",
     "line 1: removed %matplotlib inline"),
    ("%time x = f()", "x = f()", "line 1: ran the statement after %time once"),
    ("%timeit -n 10 -r 3 y = g(1)", "y = g(1)", "%timeit"),
    ("%timeit", "pass", "removed %timeit"),
    ("for i in range(3):\n    %who\n    x = i", "for i in range(3):\n    pass\n    x = i",
     "line 2: removed %who"),
    ("!pip install numpy\nx = 1", "pass\nx = 1", "line 1: removed shell command !pip"),
    ("if True:\n    !ls -la", "if True:\n    pass", "shell command"),
    ("files = !ls", "files = []", "files = []"),
    ("x = %who_ls", "x = None", "x = None"),
    ("np.sum?", "pass", "help"),
    ("np.sum??", "pass", "help"),
    ("?np.sum", "pass", "help"),
    ("%%time\nx = 1\ny = 2", "\nx = 1\ny = 2", "removed %%time"),
    ("%%timeit -n 3 setup = 1\nrun(setup)", "setup = 1\nrun(setup)", "%%timeit"),
    ("%%capture out\nprint('hi')", "\nprint('hi')", "removed %%capture"),
    ("x = (a\n     % b)\ny = [1,\n!2]", "x = (a\n     % b)\ny = [1,\n!2]", None),
])
def test_neutralise(cell, code, note):
    result = magics.neutralise(cell)
    assert result.code == code
    assert not result.skip
    assert len(result.code.split("\n")) == len(cell.split("\n"))
    if note is None:
        assert result.notes == []
    else:
        assert any(note in n for n in result.notes), result.notes
    if "!2" not in cell:
        ast.parse(result.code)


def test_neutralise_leaves_multiline_strings_alone():
    cell = textwrap.dedent('''\
        def usage():
            """How to run it:
        %run lab1.py
        !python lab1.py
        np.sum?
            """
            return 1
        %matplotlib inline
        text = """
        x = !ls
        """
    ''')
    result = magics.neutralise(cell)
    lines = result.code.split("\n")
    assert lines[2:5] == ["%run lab1.py", "!python lab1.py", "np.sum?"]
    assert lines[7] == "pass" and lines[9] == "x = !ls"
    assert result.notes == ["line 8: removed %matplotlib inline"]
    function = ast.parse(result.code).body[0]
    assert "%run lab1.py\n!python lab1.py" in ast.get_docstring(function)


def test_neutralise_falls_back_to_lines_when_tokenizing_fails():
    result = magics.neutralise('%matplotlib inline\n!echo it\'s\ns = """never closed\n')
    assert result.code.split("\n")[:2] == ["pass", "pass"]


@pytest.mark.parametrize("magic", ["bash", "sh", "html", "javascript", "latex", "markdown",
                                   "script python3", "nonsense"])
def test_non_python_cell_magics_skip_the_cell(magic):
    result = magics.neutralise(f"%%{magic}\necho hi\n")
    assert result.skip and result.code == "" and result.skip_reason
    assert result.writefile is None


def test_writefile_cell():
    result = magics.neutralise("%%writefile helper.py\nVALUE = 42\ndef f():\n    return 1")
    assert result.skip
    assert result.writefile == ("helper.py", "VALUE = 42\ndef f():\n    return 1\n")
    assert not result.writefile_append
    assert magics.neutralise("%%writefile -a log.txt\nmore").writefile_append


def test_ipython_stubs(capsys):
    names = magics.ipython_stub_namespace()
    shell = names["get_ipython"]()
    assert shell.run_line_magic("matplotlib", "inline") is None
    assert shell.run_cell_magic("time", "", "x = 1") is None
    assert shell.system("ls") is None and shell.magic("pylab") is None
    names["display"]([1, 2], "a")
    assert capsys.readouterr().out == "[1, 2]\n'a'\n"


# --- loading scripts (subprocess) -------------------------------------------------------------

ENDLESS = """\
import time

class NN:
    def __init__(self, dim, lr=0.1):
        self.dim = dim
    def predict(self, x):
        return x
    def backprop(self, y):
        pass
    def update(self, lr):
        pass

done = False
while not done:          # the slide's loop, and it never converges
    try:
        time.sleep(0.001)
    except Exception:    # a student's catch-all does not swallow the time limit
        pass
"""

SWALLOWS_ONCE = """\
class Before:
    pass
try:
    while True:
        pass
except:
    pass
while True:
    pass
"""


def test_scripts_load_and_errors_become_data(tmp_path):
    endless = folder(tmp_path, "endless", {
        "lab1.py": ENDLESS, "swallow.py": SWALLOWS_ONCE,
        "deep.py": "def train():\n    while True:\n        pass\n\ntrain()\n"})
    ends = folder(tmp_path, "ends", {
        "exits.py": "import sys\nclass Before:\n    pass\nsys.exit(0)\nclass After:\n    pass\n",
        "ctrl_c.py": "class Before:\n    pass\nraise KeyboardInterrupt\n",
        "asks.py": "class Before:\n    pass\nepochs = int(input('epochs? '))\n",
        "asks_politely.py": "try:\n    n = input()\nexcept EOFError:\n    n = '5'\n",
        "recurse.py": "def f(n):\n    return f(n + 1)\n\nclass Before:\n    pass\nf(0)\n",
        "greedy.py": "class Before:\n    pass\nbig = bytearray(1 << 50)\n",
        "raises.py": "def f(x):\n    return 1 / x\n\nclass Before:\n    pass\nf(0)\n",
        "missing.py": "import not_a_module_anywhere\nclass After:\n    pass\n",
        "big5.py": "# 中文註解: 作業一\nclass NN:\n    pass\n".encode("cp950"),
        "bom.py": b"\xef\xbb\xbfclass NN:\n    pass\n",
        "cwd.py": "import os\nos.chdir('/')\nclass Before:\n    pass\n",
        "warns.py": "x = 1\nif x is 1:\n    pattern = '\\d'\n",
    })
    relative = folder(tmp_path, "relative", {
        "main.py": "from .model import NN\nfrom . import utils\nnet = NN(utils.SIZE)\n",
        "model.py": "class NN:\n    def __init__(self, n):\n        self.n = n\n"
                    "    def predict(self, x):\n        return x\n",
        "utils.py": "SIZE = 3\n",
    })
    clash = folder(tmp_path, "clash", {  # the student's modules share the child's names
        "main.py": "import loader, figures\nfrom describe import X\n"
                   "TOTAL = loader.A + figures.B + X\n",
        "loader.py": "A = 1\n", "figures.py": "B = 2\n", "describe.py": "X = 3\n",
    })
    plain = folder(tmp_path, "plain", {
        "main.py": "import model\nfrom model import NN, helper\nnet = NN(2)\n"
                   "def own(x, *args, scale: float = 1.0, **kw):\n    return helper(x)\n",
        "model.py": "class NN:\n    def __init__(self, n):\n        self.n = n\n"
                    "def helper(x):\n    return x\n",
    })
    syntax = folder(tmp_path, "syntax", {})
    shutil.copy(SYNTAX_ERROR_PY, syntax / SYNTAX_ERROR_PY.name)
    jobs = [
        script_job(endless, "lab1.py", "definitions", timeout=5, names=["done"]),
        script_job(endless, "lab1.py", "execute", timeout=1, names=["done"]),
        script_job(endless, "swallow.py", "execute", timeout=0.5),
        script_job(endless, "deep.py", "execute", timeout=0.3),
        script_job(ends, "exits.py", "execute"),
        script_job(ends, "exits.py", "definitions"),
        script_job(ends, "ctrl_c.py", "execute"),
        script_job(ends, "asks.py", "execute"),
        script_job(ends, "asks_politely.py", "execute", names=["n"]),
        script_job(ends, "recurse.py", "execute"),
        script_job(ends, "greedy.py", "execute"),
        script_job(ends, "raises.py", "execute"),
        script_job(ends, "missing.py", "definitions"),
        script_job(ends, "big5.py", "definitions"),
        script_job(ends, "bom.py", "definitions"),
        script_job(ends, "cwd.py", "execute"),
        script_job(ends, "warns.py", "execute"),
        script_job(relative, "main.py", "definitions"),
        script_job(relative, "main.py", "execute", names=["net"]),
        script_job(plain, "main.py", "execute", names=["net"]),
        script_job(clash, "main.py", "execute", names=["TOTAL"]),
        script_job(syntax, SYNTAX_ERROR_PY.name, "definitions"),
        script_job(syntax, SYNTAX_ERROR_PY.name, "execute"),
    ]
    results, stderr = run_jobs(tmp_path, jobs)
    assert stderr == ""
    (defs, timed_out, swallowed, deep, exits, exits_defs, ctrl_c, asks, polite, recurse, greedy,
     raises, missing, big5, bom, cwd, warns, rel_defs, rel_exec, plain_exec, clash_exec, syn_defs,
     syn_exec) = results
    for result in results:
        assert_clean(result)
        assert not result["matplotlib_imported"]
        json.dumps(result["report"])  # plain JSON

    # definitions mode: the endless loop is dropped, the class loads at once
    assert defs["report"]["ok"] and defs["report"]["mode"] == "definitions"
    assert defs["report"]["seconds"] < 0.5
    assert defs["describe"]["classes"]["NN"]["methods"] == [
        "__init__", "backprop", "predict", "update"]
    assert defs["describe"]["classes"]["NN"]["init_signature"] == "(self, dim, lr=0.1)"
    assert defs["describe"]["classes"]["NN"]["defined_in"] == "lab1.py"
    assert defs["describe"]["classes"]["NN"]["line"] == 3
    assert [(d["line"], d["kind"], d["text"]) for d in defs["report"]["dropped"]] == [
        (14, "loop", "while not done:")]
    assert defs["values"]["done"] is False

    # execute mode: the loop runs out of time, what was defined before it stays
    assert kinds(timed_out) == ["timeout"]
    error = timed_out["report"]["errors"][0]
    assert error["message"] == "did not finish within 1 s"
    assert error["file"] == "lab1.py" and 14 <= error["line"] <= 18
    assert "lab1.py" in error["traceback"] and "loader.py" not in error["traceback"]
    assert 0.9 < timed_out["report"]["seconds"] < 3
    assert "NN" in timed_out["describe"]["classes"] and timed_out["values"]["done"] is False

    # a bare except swallows the first expiry; the timer fires again
    assert kinds(swallowed) == ["timeout"] and swallowed["report"]["seconds"] < 3
    assert swallowed["report"]["errors"][0]["line"] in (8, 9)

    # a timeout names the top-level statement that did not finish, and where it was
    error = deep["report"]["errors"][0]
    assert (error["kind"], error["line"], error["source_line"]) == ("timeout", 5, "train()")
    assert error["origin"] in ("deep.py, line 2", "deep.py, line 3")

    # sys.exit, Ctrl+C, input(), recursion, memory, an ordinary exception
    assert kinds(exits) == ["exit"] and exits["report"]["errors"][0]["line"] == 4
    assert "sys.exit(0)" in exits["report"]["errors"][0]["message"]
    assert set(exits["describe"]["classes"]) == {"Before"}
    assert exits_defs["report"]["ok"] and set(exits_defs["describe"]["classes"]) == {
        "Before", "After"}
    assert kinds(ctrl_c) == ["keyboard_interrupt"] and "Before" in ctrl_c["describe"]["classes"]
    assert kinds(asks) == ["input"]
    assert asks["report"]["errors"][0]["message"] == (
        "your program waits for keyboard input (input()); a grader cannot type")
    assert asks["report"]["errors"][0]["line"] == 3
    assert asks["report"]["errors"][0]["source_line"] == "epochs = int(input('epochs? '))"
    assert polite["report"]["ok"] and polite["values"]["n"] == "5"
    assert polite["report"]["input_calls"] == 1
    assert kinds(recurse) == ["recursion"]
    assert "Previous line repeated" in recurse["report"]["errors"][0]["traceback"]
    assert kinds(greedy) == ["memory"]
    assert greedy["report"]["errors"][0]["message"].startswith("ran out of memory")
    assert kinds(raises) == ["exception"]
    error = raises["report"]["errors"][0]
    assert error["message"] == "ZeroDivisionError: division by zero"
    assert (error["file"], error["line"], error["source_line"]) == ("raises.py", 2,
                                                                    "return 1 / x")
    assert error["traceback"].splitlines()[1:] == [
        '  File "raises.py", line 6, in <module>', "    f(0)",
        '  File "raises.py", line 2, in f', "    return 1 / x",
        "ZeroDivisionError: division by zero"]

    # definitions mode: a failing statement does not stop the next ones
    assert kinds(missing) == ["exception"] and "After" in missing["describe"]["classes"]
    assert "not_a_module_anywhere" in missing["report"]["errors"][0]["message"]

    # encodings
    assert big5["report"]["ok"] and big5["report"]["encoding"] == "cp950"
    assert any("cp950" in note for note in big5["report"]["notes"])
    assert bom["report"]["ok"] and bom["report"]["encoding"] == "utf-8-sig"
    assert "NN" in big5["describe"]["classes"] and "NN" in bom["describe"]["classes"]

    assert cwd["report"]["ok"] and any("working directory" in n for n in cwd["report"]["notes"])
    # compile-time warnings become notes, not stderr output (nor errors under -W error)
    assert warns["report"]["ok"]
    assert any(n.startswith("line 2: SyntaxWarning") for n in warns["report"]["notes"])
    assert any("invalid escape sequence" in n for n in warns["report"]["notes"])

    # two-file submissions: relative and plain imports of a sibling
    assert rel_defs["report"]["ok"], rel_defs["report"]["errors"]
    assert rel_defs["describe"]["classes"]["NN"]["defined_in"] == "model.py"
    assert rel_exec["report"]["ok"], rel_exec["report"]["errors"]
    assert rel_exec["values"]["net"] != "<missing>"
    assert plain_exec["report"]["ok"], plain_exec["report"]["errors"]
    assert plain_exec["describe"]["classes"]["NN"]["init_signature"] == "(self, n)"
    assert plain_exec["describe"]["classes"]["NN"]["defined_in"] == "model.py"
    # functions: only the main file's own (helper is imported from model.py)
    assert plain_exec["describe"]["functions"] == {"own": {
        "signature": "(x, *args, scale: float = 1.0, **kw)", "defined_in": "main.py",
        "line": 4}}

    assert clash_exec["report"]["ok"] and clash_exec["values"]["TOTAL"] == 6

    # a syntax error: file, line, offending text, message; nothing runs
    for result in (syn_defs, syn_exec):
        [error] = result["report"]["errors"]
        assert error["kind"] == "syntax" and error["message"] == "expected ':'"
        assert (error["file"], error["line"]) == (SYNTAX_ERROR_PY.name, 80)
        assert error["source_line"].strip() == "def backprop(self, y_data)"
        assert result["describe"] == {"classes": {}, "functions": {}}


# --- loading notebooks (subprocess) ---------------------------------------------------------

CELLS = [
    "import math\nA = 1\ndef f(x):\n    return x + A\n",
    "def broken():\n    return 1 / 0\n\nbroken()\n",
    "import time\nwhile True:\n    time.sleep(0.001)\n",
    "B = f(1)\nclass After:\n    pass\n",
    "%matplotlib inline\n!pip install numpy\nC = 3\n",
    "%%writefile helper.py\nVALUE = 42\n",
    "import helper\nD = helper.VALUE\n",
    "%%bash\necho hi\n",
    "def uses_broken():\n    return broken()\n\nE = uses_broken()\n",
]


SMALL = [
    "X = make()\n",
    "def f():\n    return X\n",
    "def broken(:\n    pass\n",
    "import asyncio\nawait asyncio.sleep(0)\nAW = 1\n",
    "def make():\n    return 7\n",
]


def notebook_job(where: Path, cells: list[str], mode: str, timeout: float, names=(),
                 skip=()) -> dict:
    return {"op": "notebook", "cwd": str(where), "cells": cells, "mode": mode,
            "timeout": timeout, "names": list(names), "skip": list(skip)}


def test_notebooks_run_cell_by_cell(tmp_path):
    names = ["A", "B", "C", "D", "E", "After"]
    jobs = [
        notebook_job(folder(tmp_path, "execute", {}), CELLS, "execute", 1, names),
        notebook_job(folder(tmp_path, "definitions", {}), CELLS, "definitions", 1, names),
        notebook_job(folder(tmp_path, "retry", {}), CELLS, "execute", 1, names, skip=[2]),
        notebook_job(folder(tmp_path, "small", {}), SMALL, "definitions", 1),
        notebook_job(folder(tmp_path, "small_run", {}), SMALL, "execute", 1, ["AW", "X"]),
    ]
    results, stderr = run_jobs(tmp_path, jobs)
    assert stderr == ""
    executed, defs, retry, small, small_run = results
    for result in results:
        assert_clean(result)
        json.dumps(result["report"])

    report = executed["report"]
    assert [c["status"] for c in report["cells"]] == [
        "ok", "error", "timeout", "ok", "ok", "ok", "ok", "not-python", "error"]
    assert [c["number"] for c in report["cells"]] == list(range(1, 10))
    assert executed["started"] == [0, 1, 2, 3, 4, 6, 8]  # not the %%writefile/%%bash cells
    raised, timed_out, nested = report["errors"]
    assert (raised["kind"], raised["cell"], raised["line"], raised["file"]) == (
        "exception", 2, 2, None)
    assert raised["message"] == "ZeroDivisionError: division by zero"
    assert raised["source_line"] == "return 1 / 0" and raised["origin"] is None
    assert '"<cell 2>", line 2, in broken' in raised["traceback"]
    assert (timed_out["kind"], timed_out["cell"]) == ("timeout", 3)
    assert timed_out["message"] == "did not finish within 1 s"
    assert (nested["cell"], nested["line"], nested["origin"]) == (9, 2, "cell 2, line 2")
    assert nested["source_line"] == "return broken()"
    assert executed["values"] == {"A": 1, "B": 2, "C": 3, "D": 42, "E": "<missing>",
                                  "After": "<class 'type'>"}
    assert "line 1: removed %matplotlib inline" in report["cells"][4]["notes"]
    assert (tmp_path / "execute" / "helper.py").read_text() == "VALUE = 42\n"
    assert executed["describe"]["classes"]["After"]["defined_in"] == "cell 4"
    assert executed["describe"]["functions"]["f"] == {
        "signature": "(x)", "defined_in": "cell 1", "line": 3}
    assert 1 < report["seconds"] < 4

    # definitions mode: the endless loop and the calls are dropped, every definition loads
    report = defs["report"]
    assert report["ok"], report["errors"]
    assert [c["status"] for c in report["cells"]] == ["ok"] * 7 + ["not-python", "ok"]
    assert report["seconds"] < 1
    assert {(d["cell"], d["kind"]) for d in report["dropped"]} >= {
        (2, "call"), (3, "loop"), (4, "assignment"), (9, "assignment")}
    assert defs["values"]["A"] == 1 and defs["values"]["D"] == 42
    assert defs["values"]["B"] == "<missing>" and defs["values"]["After"] == "<class 'type'>"

    # definitions mode says which dropped names the kept code needs; syntax errors; await
    assert small["report"]["needs_execute"] == ["X"]
    [syntax] = small["report"]["errors"]
    assert (syntax["kind"], syntax["cell"], syntax["line"], syntax["file"]) == (
        "syntax", 3, 1, None)
    assert syntax["source_line"] == "def broken(:"
    assert [c["status"] for c in small["report"]["cells"]] == ["ok", "ok", "error", "ok", "ok"]
    assert [e["kind"] for e in small_run["report"]["errors"]] == ["exception", "syntax"]
    assert small_run["report"]["errors"][0]["message"] == (
        "NameError: name 'make' is not defined")
    assert small_run["values"] == {"AW": 1, "X": "<missing>"}

    # the retry the parent makes after a cell defeated the timer: that cell is skipped
    report = retry["report"]
    assert report["cells"][2]["status"] == "skipped"
    assert 2 not in retry["started"]
    assert [e["cell"] for e in report["errors"]] == [2, 9]
    assert retry["values"]["D"] == 42 and report["seconds"] < 1.5


# --- figures and the real samples (subprocess, with NumPy and matplotlib) -------------------

def test_execute_captures_figures_and_describe_reads_the_samples(tmp_path):
    samples = folder(tmp_path, "samples", {
        "plain.py": "x = sum(range(10))\n",
        "plots.py": """\
            import matplotlib.pyplot as plt
            plt.plot([1, 2, 3])
            plt.title('learning curve')
            plt.show()
            plt.figure()
            plt.plot([3, 2, 1])
            plt.show()
            plt.show()
        """,
        "saves.py": """\
            import matplotlib.pyplot as plt
            plt.plot([1, 2, 3])
            plt.savefig('../samples/result/curves/loss.png')
        """,
        "gui.py": """\
            import matplotlib
            matplotlib.use('TkAgg')
            import matplotlib.pyplot as plt
            plt.plot([1])
            plt.figure().show()
            plt.pause(0.01)
        """,
        "safe.py": """\
            class Evil:
                def __repr__(self):
                    open('repr_called', 'w').close()
                    return 'evil'
                @property
                def __class__(self):
                    open('class_called', 'w').close()
                    return int

            EVIL = Evil()

            class Model:
                def __init__(self, x=EVIL, *, act=None, sizes=(2, 3), **options):
                    self.x = x
                @property
                def weights(self):
                    open('property_called', 'w').close()
                    return []

            class Net(Model):
                def predict(self, X):
                    return X
                @staticmethod
                def helper(a: int) -> int:
                    return a

            from dataclasses import dataclass
            from collections import OrderedDict

            @dataclass
            class Config:
                lr: float = 0.5

            @dataclass
            class Trainer:
                epochs: int = 3
                def fit(self):
                    return self.epochs
        """,
    })
    shutil.copy(CORRECT_PY, samples / CORRECT_PY.name)
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
             for c in notebook["cells"] if c["cell_type"] == "code"]
    jobs = [
        script_job(samples, "plain.py", "execute"),
        script_job(samples, CORRECT_PY.name, "definitions"),
        script_job(samples, "plots.py", "execute"),
        script_job(samples, "gui.py", "execute"),
        script_job(samples, "safe.py", "execute"),
        notebook_job(folder(tmp_path, "nb", {}), cells, "definitions", 10),
        script_job(samples, "saves.py", "execute"),
    ]
    results, stderr = run_jobs(tmp_path, jobs)
    assert stderr == ""
    plain, chen, plots, gui, safe, nb, saves = results
    for result in results:
        assert_clean(result)
        assert result["report"]["ok"], result["report"]["errors"]

    # nothing imports matplotlib for a program that does not use it
    assert not plain["matplotlib_imported"] and plain["report"]["figure_count"] == 0

    nn = chen["describe"]["classes"]["NN"]
    assert {"predict", "backprop", "update", "__init__"} <= set(nn["methods"])
    assert nn["init_signature"] == "(self, dim, activation=sigmoid, loss=mse)"
    assert (nn["defined_in"], nn["line"]) == (CORRECT_PY.name, 82)
    assert chen["describe"]["functions"]["mse"]["signature"] == (
        "(y_pred, y_data, derivative=False)")
    assert "np" not in chen["describe"]["functions"]
    assert chen["report"]["needs_execute"] == []

    assert plots["report"]["figure_count"] == 2
    assert plots["png_heads"] == ["89504e470d0a1a0a"] * 2
    assert plots["to_dict_figures"] == 2  # to_dict() carries the PNG bytes by default
    assert gui["report"]["figure_count"] == 2  # both left open, saved at the end
    assert any("matplotlib.use('TkAgg') was ignored" in n for n in gui["report"]["notes"])

    model = safe["describe"]["classes"]["Model"]
    assert model["init_signature"] == "(self, x=<Evil>, *, act=None, sizes=(2, 3), **options)"
    net = safe["describe"]["classes"]["Net"]
    assert net["methods"] == ["__init__", "helper", "predict"]
    assert net["bases"] == ["Model"] and net["init_signature"] == model["init_signature"]
    assert set(safe["describe"]["classes"]) == {"Evil", "Model", "Net", "Config", "Trainer"}
    assert safe["describe"]["classes"]["Config"]["init_signature"].startswith(
        "(self, lr: float = 0.5)")
    assert safe["describe"]["classes"]["Config"]["line"] == 31
    assert "fit" in safe["describe"]["classes"]["Trainer"]["methods"]
    assert not any((samples / marker).exists()
                   for marker in ("repr_called", "class_called", "property_called"))

    nn = nb["describe"]["classes"]["NN"]
    assert {"predict", "backprop", "update", "__init__"} <= set(nn["methods"])
    assert nn["init_signature"] == "(self, dim, activation=sigmoid, loss=mse)"
    assert nn["defined_in"] == "cell 5"
    assert nb["describe"]["functions"]["train"]["signature"] == (
        "(nn, X, Y, lr=0.8, max_epoch=20000)")
    assert nb["report"]["cells"][0]["notes"][0] == "line 1: removed %matplotlib inline"

    # a folder the program saves its figures in, which its repository did not keep, is made
    assert (samples / "result" / "curves" / "loss.png").is_file()
    assert any("made the folder '../samples/result/curves'" in n
               for n in saves["report"]["notes"]), saves["report"]["notes"]


@pytest.mark.parametrize("source, argv", [
    ("import sys\nif sys.argv[1] == 'linear':\n    pass\n", ["linear"]),
    ("import sys\nmode = sys.argv[1]\nif mode in ('xor', 'linear'):\n    pass\n", ["xor"]),
    ("from sys import argv\nif 'xor' == argv[1]:\n    pass\n", ["xor"]),
    ("import sys\nepochs = int(sys.argv[1])\n", None),        # no word to type
    ("import argparse\nargparse.ArgumentParser().parse_args()\n", None),
    ("import sys\nprint(sys.argv[0])\n", None),
])
def test_the_arguments_a_ta_would_type_are_the_words_the_code_compares_them_with(source, argv):
    assert _load_child_module("arguments").guessed_argv(source) == argv


def test_a_program_reading_sys_argv_runs_with_the_word_it_compares_it_with(tmp_path):
    from grader.load import EXECUTE, load_files

    (tmp_path / "lab1.py").write_text(
        "import sys\nif sys.argv[1] == 'xor':\n    print('training on XOR')\n"
        "else:\n    print('training on linear')\n", encoding="utf-8")
    run = load_files(tmp_path, "lab1.py", "script", mode=EXECUTE)
    assert run.errors == [] and "training on XOR" in run.stdout
    assert any("python lab1.py xor" in note for note in run.notes), run.notes


@pytest.mark.parametrize("name, rate", [
    ("lr", True), ("learning_rate", True), ("LearningRate", True), ("learn_rate", True),
    ("l_rate", True), ("_Trainer__lr", True), ("eta", True), ("alpha", True),
    ("beta", False), ("decay_rate", False), ("lr_decay", False), ("momentum", False),
    ("epsilon", False), ("init_lr", False),
])
def test_a_rate_the_network_keeps_is_found_by_its_name(name, rate):
    assert _load_child_module("probes").is_rate_name(name) is rate


def test_a_layer_of_per_neuron_dicts_is_read_and_written_as_a_matrix():
    probes = _load_child_module("probes")

    class Net:
        def __init__(self):
            self.layers = [[{"weights": [0.1, 0.2, 0.3]}, {"weights": [0.4, 0.5, 0.6]}],
                           [{"weights": [1.0, 2.0, 3.0], "output": 0.5}]]
            self.rows = [[0.5, 1.5], [2.5, 3.5]]
            self.losses = [0.3, 0.2, 0.1]  # a list of numbers is no matrix

    net = Net()
    found = {path: array.shape for path, array in probes.find_arrays(net).items()}
    assert found == {"layers[0][:]['weights']": (2, 3), "layers[1][:]['weights']": (1, 3),
                     "layers[1][:]['output']": (1,), "rows": (2, 2)}
    weights = net.layers[0][1]["weights"]
    probes.set_param(net, "layers[0][:]['weights']", [[9, 9, 9], [8, 7, 6]])
    assert net.layers[0][1]["weights"] is weights and weights == [8.0, 7.0, 6.0]
    probes.set_param(net, "rows", [[1, 2], [3, 4]])
    assert net.rows == [[1.0, 2.0], [3.0, 4.0]]
    assert probes.get_param(net, "layers[1][:]['weights']").tolist() == [[1.0, 2.0, 3.0]]


def test_a_program_asking_for_a_choice_runs_with_the_first_option_offered(tmp_path):
    from grader.load import EXECUTE, load_files

    (tmp_path / "lab1.py").write_text(
        "mode = input('Please choose (0: XOR / 1: Linear): ')\nprint('training on', mode)\n"
        "epochs = input('epochs? ')\n", encoding="utf-8")
    run = load_files(tmp_path, "lab1.py", "script", mode=EXECUTE)
    assert "training on 0" in run.stdout
    # a question that offers no option still cannot be answered
    assert len(run.errors) == 1 and "keyboard input" in run.errors[0], run.errors
