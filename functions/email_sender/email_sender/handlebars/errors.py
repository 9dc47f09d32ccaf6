"""Why a template is refused: it cannot be compiled, or it cannot be rendered with this data."""

from __future__ import annotations


class TemplateSyntaxError(ValueError):
    """The template cannot be compiled: bad syntax, or a construct outside the supported subset."""


class CompileTimeUp(Exception):
    """The compile reached its deadline before it ended: the template may well be fine."""


class TemplateRenderError(ValueError):
    """The template cannot be rendered with this data (Handlebars.js in strict mode throws too)."""


class MissingVariableError(TemplateRenderError):
    """A variable that the render reaches is not in the data (or a path walks through a missing value)."""
