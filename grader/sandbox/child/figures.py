"""Capture the figures a student's program draws, as PNG bytes.

Runs inside the sandboxed child as the top-level module ``figures`` (standard library only).
matplotlib is never imported by this module: while a capture is active, the Agg backend is
forced (``MPLBACKEND=Agg``) and matplotlib is patched as soon as the *student's* code imports
it (an import hook; at once if it is already imported).  So a program that does not use
matplotlib does not pay for it, the list of modules the program imported stays its own, and
a missing matplotlib simply means no figures.

While capturing:

* ``plt.show()`` saves every open figure as a PNG and closes it (as Jupyter's inline backend
  does at the end of a cell); ``plt.show(block=False)``, ``plt.pause(...)`` and
  ``Figure.show()`` leave figures open;
* ``matplotlib.use(...)`` / ``plt.switch_backend(...)`` asking for a GUI backend are ignored
  (and noted);
* figures still open at the end are saved by :meth:`CapturedFigures.flush`, which the loader
  calls after each step and which ``__exit__`` calls again;
* at most ``max_figures`` PNGs are kept (the rest are counted in a note); a figure is drawn
  at ``dpi`` but never wider or taller than 4000 pixels.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from typing import Any, Callable

MAX_PIXELS_PER_SIDE = 4000
_HOOKED = ("matplotlib", "matplotlib.pyplot")


class CapturedFigures:
    """What a capture collected: ``pngs`` (the bytes of each PNG, in order) and ``notes``."""

    def __init__(self, max_figures: int, dpi: int) -> None:
        self.max_figures = max_figures
        self.dpi = dpi
        self.pngs: list[bytes] = []
        self.notes: list[str] = []
        self.not_kept = 0
        self.failed = 0
        self.available = False
        """True once matplotlib.pyplot was imported and patched."""
        self._plt: Any = None

    def flush(self) -> None:
        """Save every open figure and close it (what ``plt.show()`` does while capturing)."""
        plt = self._plt
        if plt is None:
            return
        try:
            numbers = list(plt.get_fignums())
        except Exception:  # noqa: BLE001 -- a broken pyplot state must not break the loader
            return
        for number in numbers:
            try:
                figure = plt.figure(number)
            except Exception:  # noqa: BLE001
                continue
            self._save(figure)
            try:
                plt.close(figure)
            except Exception:  # noqa: BLE001
                pass

    def discard(self) -> None:
        """Close every open figure without saving it."""
        if self._plt is not None:
            try:
                self._plt.close("all")
            except Exception:  # noqa: BLE001
                pass

    def _save(self, figure: Any) -> None:
        if len(self.pngs) >= self.max_figures:
            self.not_kept += 1
            return
        try:
            width, height = figure.get_size_inches()
            largest = max(float(width), float(height), 1e-3)
            dpi = max(1.0, min(float(self.dpi), MAX_PIXELS_PER_SIDE / largest))
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=dpi)
        except Exception as exc:  # noqa: BLE001 -- a figure that cannot be drawn is noted
            self.failed += 1
            if self.failed <= 3:
                self.notes.append(f"a figure could not be drawn ({type(exc).__name__}: "
                                  f"{str(exc)[:200]})")
            return
        self.pngs.append(buffer.getvalue())

    def summary_notes(self) -> list[str]:
        notes = [n for n in self.notes if not n.endswith("were not kept")]
        if self.not_kept:
            notes.append(f"at most {self.max_figures} figures are kept: {self.not_kept} more "
                         "figures were not kept")
        return notes


def _ignore(*args: Any) -> None:
    return None


class _NotifyingLoader:
    """Wraps a module's loader; calls back once the module has been executed."""

    def __init__(self, loader: Any, callback: Callable[[Any], None]) -> None:
        self._loader = loader
        self._callback = callback

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        self._callback(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _ImportHook:
    """A ``sys.meta_path`` finder that patches matplotlib when it is first imported."""

    def __init__(self, on_loaded: Callable[[str, Any], None]) -> None:
        self.on_loaded = on_loaded
        self.busy: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in _HOOKED or fullname in self.busy:
            return None
        self.busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        except Exception:  # noqa: BLE001 -- let the normal import machinery report it
            return None
        finally:
            self.busy.discard(fullname)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _NotifyingLoader(spec.loader,
                                       lambda module: self.on_loaded(fullname, module))
        return spec


class capture_figures:  # noqa: N801 -- used like a function: ``with capture_figures() as cap``
    """Context manager capturing figures as PNG bytes; a no-op if matplotlib is never used."""

    def __init__(self, max_figures: int = 20, dpi: int = 80) -> None:
        self.captured = CapturedFigures(max_figures, dpi)
        self._restore: list[tuple[Any, str, Any]] = []
        self._hook: _ImportHook | None = None
        self._env_backend: str | None = None
        self._patched: set[str] = set()

    # --- entering and leaving ---------------------------------------------------------------

    def __enter__(self) -> CapturedFigures:
        self._env_backend = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = "Agg"
        if "matplotlib" in sys.modules:
            self._loaded("matplotlib", sys.modules["matplotlib"])
        if "matplotlib.pyplot" in sys.modules:
            self._loaded("matplotlib.pyplot", sys.modules["matplotlib.pyplot"])
        if len(self._patched) < len(_HOOKED):
            self._hook = _ImportHook(self._loaded)
            sys.meta_path.insert(0, self._hook)
        return self.captured

    def __exit__(self, *exc_info: Any) -> None:
        cap = self.captured
        try:
            cap.flush()
        finally:
            if self._hook is not None:
                try:
                    sys.meta_path.remove(self._hook)
                except ValueError:
                    pass
                self._hook.on_loaded = _ignore  # a wrapped loader may outlive the capture
                self._hook = None
            for owner, name, value in reversed(self._restore):
                try:
                    setattr(owner, name, value)
                except Exception:  # noqa: BLE001
                    pass
            self._restore.clear()
            if self._env_backend is None:
                os.environ.pop("MPLBACKEND", None)
            else:
                os.environ["MPLBACKEND"] = self._env_backend
            cap.notes = cap.summary_notes()

    # --- patching ---------------------------------------------------------------------------

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self._restore.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def _loaded(self, name: str, module: Any) -> None:
        if name in self._patched:
            return
        self._patched.add(name)
        try:
            if name == "matplotlib":
                self._patch_matplotlib(module)
            else:
                self._patch_pyplot(module)
        except Exception as exc:  # noqa: BLE001 -- an odd matplotlib: run without capture
            self.captured.notes.append(f"figures cannot be captured ({type(exc).__name__}: "
                                       f"{str(exc)[:200]})")

    def _patch_matplotlib(self, matplotlib: Any) -> None:
        cap = self.captured
        original_use = matplotlib.use
        try:
            original_use("Agg", force=True)
        except Exception:  # noqa: BLE001 -- pyplot may refuse while it switches: it will be Agg
            pass

        def use(backend: Any, *args: Any, **kwargs: Any) -> None:
            if str(backend).lower() == "agg":
                return original_use(backend, *args, **kwargs)
            note = f"matplotlib.use({backend!r}) was ignored: figures are drawn with Agg"
            if note not in cap.notes:
                cap.notes.append(note)
            return None

        self._patch(matplotlib, "use", use)

    def _patch_pyplot(self, plt: Any) -> None:
        import matplotlib.figure  # already imported by pyplot itself

        cap = self.captured
        original_switch = plt.switch_backend
        if str(plt.get_backend()).lower() != "agg":
            original_switch("Agg")

        def show(*args: Any, **kwargs: Any) -> None:
            if kwargs.get("block") is False:
                return None
            cap.flush()
            return None

        def switch_backend(newbackend: Any, *args: Any, **kwargs: Any) -> Any:
            if str(newbackend).lower() == "agg":
                return original_switch(newbackend, *args, **kwargs)
            note = f"plt.switch_backend({newbackend!r}) was ignored: figures are drawn with Agg"
            if note not in cap.notes:
                cap.notes.append(note)
            return None

        def figure_show(self: Any, *args: Any, **kwargs: Any) -> None:
            return None  # stays open: saved by the next plt.show() or at the end

        original_savefig = matplotlib.figure.Figure.savefig

        def savefig(self: Any, fname: Any, *args: Any, **kwargs: Any) -> Any:
            # a folder the program saves into that its repository did not keep (an empty
            # `result/`, which git does not track) is made, as a TA running it would
            if isinstance(fname, (str, os.PathLike)):
                folder = os.path.dirname(os.fspath(fname))
                if folder and not os.path.isdir(folder):
                    try:
                        os.makedirs(folder, exist_ok=True)
                        note = f"made the folder {folder!r} your program saves figures in"
                        if note not in cap.notes:
                            cap.notes.append(note)
                    except OSError:
                        pass  # outside what the program may write: its own error follows
            return original_savefig(self, fname, *args, **kwargs)

        self._patch(matplotlib.figure.Figure, "savefig", savefig)
        self._patch(plt, "show", show)
        self._patch(plt, "switch_backend", switch_backend)
        self._patch(matplotlib.figure.Figure, "show", figure_show)
        cap._plt = plt
        cap.available = True
