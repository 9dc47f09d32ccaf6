"""Every relative link in the README and docs/ resolves: its file exists, its anchor names a heading there.

The README is a map: it links every page of docs/, and the decisions' index links every decision.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
PAGES = sorted([REPO_ROOT / "README.md", *DOCS.rglob("*.md")])

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, with their numbers."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, line in _prose_lines(page.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """The page's link and image targets outside code, with their line numbers."""
    found = []
    for number, line in _prose_lines(page.read_text(encoding="utf-8")):
        prose = _CODE_SPAN.sub("", line)
        found += [(number, target) for target in _INLINE_LINK.findall(prose)]
        reference = _REFERENCE.match(prose)
        if reference:
            found.append((number, reference.group(1)))
    return found


def broken(page: Path, target: str) -> str | None:
    """Why a relative link does not resolve, or None when it does (links with a scheme are not checked)."""
    if _SCHEME.match(target) or target.startswith("//"):
        return None
    path, _, anchor = target.partition("#")
    destination = (page.parent / path).resolve() if path else page
    if not destination.exists():
        return f"no such file: {path}"
    if REPO_ROOT not in destination.parents and destination != REPO_ROOT:
        return f"outside the repository: {path}"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
        return f"no heading #{anchor} in {destination.relative_to(REPO_ROOT)}"
    if anchor and destination.is_dir():
        return f"an anchor on a folder: {target}"
    return None


def _name(page: Path) -> str:
    return str(page.relative_to(REPO_ROOT))


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_relative_link_resolves(page: Path) -> None:
    failures = [
        f"{_name(page)}:{number}: ({target}) {reason}"
        for number, target in links(page)
        if (reason := broken(page, target)) is not None
    ]
    assert not failures, "\n".join(failures)


def _linked_files(page: Path) -> set[Path]:
    return {(page.parent / target.partition("#")[0]).resolve() for _, target in links(page)}


def test_the_readme_links_every_page_of_docs() -> None:
    linked = _linked_files(REPO_ROOT / "README.md")
    pages = {page.resolve() for page in DOCS.glob("*.md")} | {(DOCS / "decisions" / "README.md").resolve()}

    assert not sorted(_name(page) for page in pages - linked)


def test_the_decisions_index_links_every_decision() -> None:
    index = DOCS / "decisions" / "README.md"
    decisions = {page.resolve() for page in index.parent.glob("[0-9][0-9][0-9]-*.md")}

    assert decisions, "no decision pages"
    assert not sorted(_name(page) for page in decisions - _linked_files(index))


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Measured (bench.org_sweep)", "measured-benchorg_sweep"),
        ("The rehearsal: `make rehearse`", "the-rehearsal-make-rehearse"),
        ("Remediation (`REMEDIATION=fix`; default `off`)", "remediation-remediationfix-default-off"),
        ("Lifecycle: idle → marked → released", "lifecycle-idle--marked--released"),
        ("See [the CLI](cli.md)", "see-the-cli"),
    ],
)
def test_anchors_are_made_as_github_makes_them(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_a_broken_link_and_a_missing_anchor_are_found(tmp_path: Path) -> None:
    page = DOCS / "operations.md"

    assert broken(page, "no-such-page.md") == "no such file: no-such-page.md"
    assert broken(page, "deploy.md#no-such-heading") == "no heading #no-such-heading in docs/deploy.md"
    assert broken(page, "#no-such-heading") == "no heading #no-such-heading in docs/operations.md"
    assert broken(page, "deploy.md#gradual-deploys") is None
    assert broken(page, "https://example.com/missing") is None
    fenced = tmp_path / "fenced.md"
    fenced.write_text("```\n[not a link](missing.md)\n```\n`[code](missing.md)` and [real](gone.md)\n")
    assert links(fenced) == [(4, "gone.md")]
