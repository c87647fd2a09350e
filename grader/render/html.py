"""HTML pages from view models: the Jinja2 environment, the shared style, and the policy that
keeps a page self-contained.

Templates live in the package (``grader/render/templates``) and are rendered with
autoescaping on: a student's name, code or output is text wherever it appears.  Each page
carries a Content-Security-Policy that lets nothing load from outside the page and runs no
script but the page's own, named by its hash; a report is one file that opens anywhere.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2

from grader import __version__
from grader.render.text import xml_safe


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.render", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True)


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The pages' CSS, with the source highlighting's, inlined in every page."""
    from grader.render.source import pygments_css

    css = resources.files("grader.render").joinpath("templates/report.css").read_text("utf-8")
    return css + "\n" + pygments_css()


def asset(name: str) -> str:
    return resources.files("grader.render").joinpath(f"templates/{name}").read_text("utf-8")


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def render_page(template: str, **values: Any) -> str:
    """``template`` rendered with the shared style; ``script`` (optional) is the page's only
    script, allowed by its hash."""
    script = values.pop("script", None)
    page = environment().get_template(template).render(
        css=stylesheet(), grader_version=__version__, script=script,
        script_hashes=script_hash(script) if script else "'none'", **values)
    # a student's output or code may hold colour codes and control characters, which HTML
    # cannot show; the page's own markup has none
    return xml_safe(page)
