"""SES templates: the bundled ones shipped with the function, publishing them, a per-container cache of
compiled templates, and rendering a request's email from one (subject folded to one line, text as is, HTML
escaped, and its producers' fragments sanitized)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from email_sender.errors import (
    ALREADY_EXISTS,
    DEADLINE_NEAR,
    INVALID_TEMPLATE,
    MISSING_RENDERING_ATTRIBUTE,
    TEMPLATE_DOES_NOT_EXIST,
)
from email_sender.handlebars import (
    CompileTimeUp,
    Escaping,
    MissingVariableError,
    TemplateRenderError,
    TemplateSyntaxError,
    compile_template,
)
from email_sender.handlebars import Template as CompiledPart
from email_sender.html_fragments import Fragments
from groundskeeper.errors import PermanentError, TransientError, error_code
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient
    from mypy_boto3_ses.type_defs import TemplateTypeDef

# functions/email_sender/templates/<name>/{subject.txt,text.txt,html.html}; SAM packages the whole folder.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


# The parts, named as in this module's Template, and how each treats data: as plain text, or escaped as HTML.
PARTS = (("subject", Escaping.NONE), ("text", Escaping.NONE), ("html", Escaping.HTML))

# A rendered subject is one header line. Line breaks and tabs (with the spaces around them) fold to one
# space: data such as "Ada\r\nBcc: x@example.com" cannot start a header of its own. Other C0 and C1 controls,
# DEL and the bidirectional embeddings, overrides and isolates (which make a subject read backwards, as
# in "invoice\u202egnp.exe") are dropped. Marks such as U+200F, which right-to-left text needs, stay.
_SUBJECT_BREAKS = "\t\n\v\f\r\x85\u2028\u2029"
_SUBJECT_FOLD = re.compile(f"[ {_SUBJECT_BREAKS}]*[{_SUBJECT_BREAKS}][ {_SUBJECT_BREAKS}]*")
_SUBJECT_DROP = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")


def one_line_subject(subject: str) -> tuple[str, list[str]]:
    """`subject` as one safe header line, and the code points folded or dropped ("U+000A", ...), sorted."""
    if subject.isprintable():  # the usual subject: nothing to fold or drop (a space is printable)
        return subject, []
    removed = {char for char in subject if char in _SUBJECT_BREAKS or _SUBJECT_DROP.match(char)}
    line = _SUBJECT_FOLD.sub(" ", _SUBJECT_DROP.sub("", subject))
    return line, sorted(f"U+{ord(char):04X}" for char in removed)


@dataclass(frozen=True)
class CheckedTemplate:
    """A template compiled for sending, or why it cannot be (then every send with it is refused)."""

    template: Template
    parts: tuple[CompiledPart, ...] = ()  # subject, text, html
    syntax_error: str | None = None

    def render(self, data: dict[str, Any]) -> RenderedEmail:
        """The email for `data`: its subject one line, every {{x}} escaped in the HTML part, and each
        {{{x}}} or {{& x}} there sanitized where it stands in element content, escaped anywhere else.

        Raises PermanentError where SES would accept the send and then drop the email silently:
        InvalidTemplate (the template does not compile, or fails to render whatever the data), or
        MissingRenderingAttribute (the data lacks a value that the render reaches).
        """
        name = self.template.name
        if self.syntax_error:
            raise PermanentError(INVALID_TEMPLATE, f"{name}: {self.syntax_error}")
        fragments = Fragments()
        rendered = []
        for compiled, (part, escaping) in zip(self.parts, PARTS, strict=True):
            try:
                rendered.append(compiled.render(data, escaping, fragments))
            except MissingVariableError as exc:
                reason = f"template {name}, {part} part: {exc}"
                raise PermanentError(MISSING_RENDERING_ATTRIBUTE, reason) from None
            except TemplateRenderError as exc:
                raise PermanentError(INVALID_TEMPLATE, f"template {name}, {part} part: {exc}") from None
        subject, removed = one_line_subject(rendered[0])
        if removed:
            # The code points only: the subject itself may hold personal data.
            logger.warning("subject folded to one line", extra={"template": name, "removed": removed})
        return RenderedEmail(subject, rendered[1], fragments.place(rendered[2]))


@dataclass(frozen=True)
class CompileTime:
    """How long compiling a template may take, in seconds: `budget` is the most that any invocation gives
    it (a template that needs more never compiles), `time_left()` what this invocation can still spare."""

    budget: float
    time_left: Callable[[], float]
    clock: Callable[[], float] = time.monotonic


def check_template(template: Template, compile_time: CompileTime | None = None) -> CheckedTemplate:
    """Compile the three parts (each distinct source once per container); a syntax error names its part.

    With `compile_time`, the compile stops at its budget or at this invocation's deadline, whichever comes
    first. Stopped by the budget, the template is too large for the function: refused for good, as a syntax
    error is. Stopped by the deadline before that, it may be fine: TransientError DeadlineNear.
    """
    clock = _CompileClock(compile_time) if compile_time is not None else None
    parts = []
    for part, _ in PARTS:
        try:
            parts.append(compile_template(getattr(template, part), clock.time_left if clock else None))
        except TemplateSyntaxError as exc:
            return CheckedTemplate(template, syntax_error=f"{part}: {exc}")
        except CompileTimeUp:
            if clock is None or not clock.budget_spent():
                reason = f"too little time left in this invocation to compile template {template.name}"
                raise TransientError(DEADLINE_NEAR, reason) from None
            reason = f"{part}: too large to compile within {clock.budget:g} s, the most any invocation allows"
            return CheckedTemplate(template, syntax_error=reason)
    return CheckedTemplate(template, tuple(parts))


class _CompileClock:
    """One check's compile time: the budget counts from its start."""

    def __init__(self, compile_time: CompileTime) -> None:
        self.budget = compile_time.budget
        self._invocation_left = compile_time.time_left
        self._clock = compile_time.clock
        self._started = self._clock()

    def budget_spent(self) -> bool:
        return self._clock() - self._started >= self.budget

    def time_left(self) -> float:
        return min(self.budget - (self._clock() - self._started), self._invocation_left())


def template_problems(template: Template) -> list[str]:
    """Why `template` must not be published as a bundled template (empty when it may be).

    Besides syntax, the rule for our own templates: the HTML part never asks for raw data ({{{x}}}, {{& x}}
    or a block's value, {{#lookup}}). Their producers (the auditor, the janitor) send plain text, so raw
    output there is a mistake to catch; an application's template may use a triple-stash for its producer's
    markup, which is sanitized. So is a helper that does not exist: every send that reaches it would fail.
    """
    checked = check_template(template)
    if checked.syntax_error:
        problems = [f"syntax: {checked.syntax_error}"]
    else:
        problems = [
            f"html: {where} would put data into markup unescaped: write {{{{x}}}}"
            for where in checked.parts[2].raw_outputs
        ]
        problems += [
            f"{part}: there is no helper {name!r}: a send that reaches it would fail"
            for (part, _), compiled in zip(PARTS, checked.parts, strict=True)
            for name in compiled.unknown_helpers
        ]
    if not template.subject.strip() or "\n" in template.subject:
        problems.append("subject: must be one non-empty line")
    return problems


# A bundled template's parts, in the order of Template's fields.
_BUNDLED_FILES = ("subject.txt", "text.txt", "html.html")


def bundled_template_names() -> list[str]:
    return sorted(path.name for path in TEMPLATES_DIR.iterdir() if (path / "subject.txt").is_file())


def load_bundled_template(name: str) -> Template | None:
    """The bundled template called `name`, or None if the function ships none by that name."""
    folder = TEMPLATES_DIR / name
    if name not in bundled_template_names():  # also keeps "../x" out of the path
        return None
    # UTF-8 whatever the locale, and as shipped.
    subject, text, html = ((folder / part).read_bytes().decode("utf-8") for part in _BUNDLED_FILES)
    return Template(name=name, subject=subject.strip(), text=text, html=html)


def publish_template(ses: SESClient, template: Template, *, update_existing: bool) -> str:
    """Create `template` in SES (or update it) once it validates; returns "created", "updated" or "exists"."""
    problems = template_problems(template)
    if problems:
        raise PermanentError(INVALID_TEMPLATE, f"{template.name}: {'; '.join(problems)}")
    parts: TemplateTypeDef = {
        "TemplateName": template.name,
        "SubjectPart": template.subject,
        "TextPart": template.text,
        "HtmlPart": template.html,
    }
    try:
        ses.create_template(Template=parts)
    except ClientError as exc:
        if error_code(exc) != ALREADY_EXISTS:
            raise
        if not update_existing:
            return "exists"  # another sender published it first: fine
        ses.update_template(Template=parts)
        return "updated"
    return "created"


class TemplateStore:
    """Fetched templates, trusted for `ttl_seconds` per container; publishes a missing bundled one.

    Safe to share between the threads that deliver one batch: the first uses of one name at the same time
    fetch (and if need be publish) it once, the others wait for that; other names don't wait.
    """

    def __init__(self, ttl_seconds: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, CheckedTemplate]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def get(self, ses: SESClient, name: str, compile_time: CompileTime | None = None) -> CheckedTemplate:
        """The template called `name`; PermanentError TemplateDoesNotExist if neither SES nor we have it.

        A template not compiled yet is compiled within `compile_time` (see check_template).
        """
        cached = self._fresh(name)
        if cached is not None:
            return cached
        if self.ttl_seconds <= 0:
            return self._fetch(ses, name, compile_time)  # nothing is cached, so there is nothing to share
        with self._lock_for(name):
            # Another thread may have fetched it while this one waited for the lock.
            cached = self._fresh(name)
            if cached is not None:
                return cached
            return self._fetch(ses, name, compile_time)

    def _fresh(self, name: str) -> CheckedTemplate | None:
        cached = self._cache.get(name)
        if cached and cached[0] > self._clock():
            return cached[1]
        return None

    def _lock_for(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def _fetch(self, ses: SESClient, name: str, compile_time: CompileTime | None) -> CheckedTemplate:
        now = self._clock()
        try:
            found = ses.get_template(TemplateName=name)["Template"]
            template = Template(
                name=name,
                subject=found.get("SubjectPart", ""),
                text=found.get("TextPart", ""),
                html=found.get("HtmlPart", ""),
            )
        except ClientError as exc:
            if error_code(exc) != TEMPLATE_DOES_NOT_EXIST:
                raise
            bundled = load_bundled_template(name)
            if bundled is None:
                reason = f"no SES or bundled template named {name}"
                raise PermanentError(TEMPLATE_DOES_NOT_EXIST, reason) from None
            publish_template(ses, bundled, update_existing=False)
            template = bundled
        checked = check_template(template, compile_time)
        if self.ttl_seconds > 0:
            self._cache[name] = (now + self.ttl_seconds, checked)
        return checked
