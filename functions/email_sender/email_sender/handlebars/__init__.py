"""Renders SES (Handlebars 4) templates locally, as Handlebars.js does in strict mode, escaped per part.

Why a renderer of our own: SES accepts a send whose data cannot render and then drops the email silently, and
it never escapes data in the HTML part. Rendering here makes both visible: a render that fails is refused with
its reason before anything is sent, and the HTML part escapes data by construction ({{{x}}} goes through the
caller's `raw` hook: the sender sanitizes it; see docs/email-sender.md).

The behaviour is Handlebars.js 4.7's, `compile(source, {strict: true})`, checked case by case against it
(tests/oracle): its lexer rules, grammar, standalone-line and `~` whitespace rules, strict lookups (a missing
mustache variable fails; a helper argument such as `{{#if missing}}` does not), truthiness, JavaScript's
number and array formatting and UTF-16 string indexes, `../` depths, `@data`, block parameters, raw blocks,
inline partials, partial blocks and `@partial-block`. Its helpers: `if`, `unless`, `each`, `with`, `lookup`,
`log`. What Handlebars.js fails when it runs (a helper that does not exist, a partial not defined) is a
TemplateRenderError when the render reaches it; decorators other than `*inline` are a TemplateSyntaxError.

A template is compiled once per distinct source text (`compile_template` is cached) and rendered per request.
A compile takes time and memory in proportion to the template, and stops at a deadline when given one
(CompileTimeUp); blocks and sub-expressions nest at most 100 deep (parser.MAX_NESTING), `{{else if}}`
chains are as long as they like. Stdlib only: it runs in Lambda on every send.

The package follows a template through its stages: `lexer` (tokens), `parser` (the AST of `nodes`),
`whitespace` (standalone lines and `~`), `compiler` (closures over `runtime`), `template` (the entry point),
all on `js_values`, JavaScript's value semantics; `deadline` bounds the first four. Callers import from the
package only.
"""

from email_sender.handlebars.errors import (
    CompileTimeUp,
    MissingVariableError,
    TemplateRenderError,
    TemplateSyntaxError,
)
from email_sender.handlebars.js_values import escape_html, js_number, utf8_safe
from email_sender.handlebars.runtime import Escaping
from email_sender.handlebars.template import Template, compile_template

__all__ = [
    "CompileTimeUp",
    "Escaping",
    "MissingVariableError",
    "Template",
    "TemplateRenderError",
    "TemplateSyntaxError",
    "compile_template",
    "escape_html",
    "js_number",
    "utf8_safe",
]
