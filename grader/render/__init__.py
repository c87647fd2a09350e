"""The render stage: what people read, made from the results (``result.json``) alone.

Nothing here runs student code or decides a score: every number comes from the results the
score stage wrote.  The HTML report per student and the class overview are Jinja2 templates
fed with view models (:mod:`grader.render.views`); the exports (Gradescope, JUnit XML, a
Markdown summary) are written for the tools courses already use.
"""
