"""Rendering a request's email from a checked template: the subject and text parts are plain text, and the
HTML part escapes {{x}} and sanitizes the markup of {{{x}}} and {{& x}}."""

from __future__ import annotations

from email_sender.template_store import Template, check_template


def render(subject: str = "s", text: str = "t", html: str = "h", **data: object) -> tuple[str, str, str]:
    rendered = check_template(Template("app", subject, text, html)).render(dict(data))
    return rendered.subject, rendered.text, rendered.html


def test_a_triple_stash_is_plain_text_in_the_subject_and_text_and_sanitized_markup_in_the_html() -> None:
    value = '<b>Ada</b> & "co" <script>alert(1)</script>'
    subject, text, html = render(
        "{{{v}}} {{& v}}", "{{{v}}} {{& v}} {{v}}", "<p>{{{v}}}</p><p>{{& v}}</p><p>{{v}}</p>", v=value
    )
    assert subject == f"{value} {value}"
    assert text == f"{value} {value} {value}"
    escaped = "&lt;b&gt;Ada&lt;/b&gt; &amp; &quot;co&quot; &lt;script&gt;alert(1)&lt;/script&gt;"
    assert html == f'<p><b>Ada</b> &amp; "co" </p><p><b>Ada</b> &amp; "co" </p><p>{escaped}</p>'


def test_table_rows_passed_through_a_triple_stash_arrive_as_rows() -> None:
    rows = '<tr><td style="padding-left: 4px">1</td><td>Ada <img src=x onerror=alert(1)></td></tr>'
    _, _, html = render(html="<table>{{{rows}}}</table>", rows=rows)
    assert html == '<table><tr><td style="padding-left:4px">1</td><td>Ada <img></td></tr></table>'
