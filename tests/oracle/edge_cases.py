# ruff: noqa: E501  (a table of templates reads best one per line)
"""Hand-written edge cases for the differential test: each construct, its corner, and its error."""

from __future__ import annotations

from typing import Any

from tests.oracle.handlebars_oracle import OracleCase

# fmt: off
TEMPLATES = [
 "{{a}}", "{{a.b}}", "{{a.[0]}}", "{{[foo bar]}}", "{{this}}", "{{.}}", "{{a.length}}", "{{s.length}}",
 "{{#each list}}{{@index}}:{{this}}{{#if @first}}F{{/if}}{{#if @last}}L{{/if}},{{/each}}",
 "{{#each obj}}{{@key}}={{this}};{{/each}}", "{{#each obj}}{{@key}}{{else}}none{{/each}}",
 "{{@root.a}}", "{{#each list}}{{../a}}{{/each}}", "{{#if a}}A{{else if b}}B{{else}}C{{/if}}",
 "{{#if a}}A{{^}}N{{/if}}", "{{#unless a}}U{{else}}E{{/unless}}", "{{#with obj}}{{x}}{{else}}W{{/with}}",
 "{{lookup obj k}}", "{{lookup list 1}}", "{{#*inline \"p\"}}<{{a}}>{{/inline}}{{> p}}",
 "{{! c }}x{{!-- {{a}} --}}y", "  {{~a~}}  ", "\\{{a}} {{a}}", "\\\\{{a}}", "{{{h}}}{{& h}}{{h}}",
 "{{#if zero}}Z{{/if}}{{#if zero includeZero=true}}Z2{{/if}}", "{{#if empty}}E{{else}}e{{/if}}",
 "{{missing}}", "{{a.missing}}", "{{#if missing}}x{{/if}}", "{{#if a.missing.deep}}x{{/if}}",
 "{{#if missing.deep}}x{{/if}}", "{{#each missing}}x{{/each}}", "{{#with missing}}x{{/with}}",
 "{{#each list}}{{missing}}{{/each}}", "{{#if t}}{{missing}}{{/if}}", "{{#if f}}{{missing}}{{/if}}",
 "{{n}} {{f}} {{big}} {{tiny}} {{neg}} {{t}} {{fa}} {{nul}} {{list}} {{obj}} {{nested}}",
 "{{#list}}[{{this}}]{{/list}}", "{{#obj}}{{x}}{{/obj}}", "{{#t}}T{{/t}}{{#fa}}F{{else}}nf{{/fa}}",
 "{{^fa}}not{{/fa}}", "{{^missing}}x{{/missing}}", "{{#each list}}{{#each ../list}}{{../this}}{{this}} {{/each}}{{/each}}",
 "{{#each list as |item i|}}{{i}}={{item}} {{/each}}", "{{#with obj as |o|}}{{o.x}}{{o.nope}}{{/with}}",
 "{{#each nested}}{{@index}}{{#each this}}{{@../index}}{{@index}}{{/each}}{{/each}}",
 "{{lookup (lookup obj 'inner') 'y'}}", "{{lookup s 0}}", "{{lookup missing 'x'}}", "{{lookup obj}}",
 "{{if a}}", "{{each}}", "{{lookup}}", "{{log a}}", "{{helperMissing}}", "{{#each a b}}x{{/each}}",
 "{{#if}}x{{/if}}", "{{#if a b}}x{{/if}}", "{{foo bar}}", "{{#foo bar}}x{{/foo}}", "{{> nope}}",
 "{{#if a}}\n  line\n{{/if}}\nafter", "<ul>\n  {{#each list}}\n  <li>{{this}}</li>\n  {{/each}}\n</ul>\n",
 "{{#if a}}\n{{else}}\n  e\n{{/if}}\n", "x\n  {{! comment }}\ny", "  {{> p}}\n", "{{#*inline \"p\"}}\nA{{a}}\nB\n{{/inline}}\n  {{> p}}\n",
 "{{#each list}}{{> item}}{{/each}}{{#*inline \"item\"}}<{{this}}>{{/inline}}", "{{> p obj}}{{#*inline 'p'}}{{x}}{{/inline}}",
 "{{#if a}}{{#*inline 'p'}}in{{/inline}}{{> p}}{{/if}}{{> p}}", "{{a}", "{{#if a}}", "{{/if}}", "{{#if a}}x{{/unless}}",
 "{{else}}", "{{a b=}}", "{{{a}}", "{{a.[b.c]}}", "{{a/b}}", "{{this/a}}", "{{../a}}", "{{a.this}}", "{{[this]}}",
 "{{#each list}}{{@key}}{{/each}}", "{{@index}}", "{{@root}}", "{{@foo}}", "{{#if @foo}}x{{/if}}",
 "{{\"a\"}}", "{{'a b'}}", "{{1}}", "{{true}}", "{{null}}", "{{undefined}}", "{{#if true}}T{{/if}}{{#if 0}}Z{{/if}}",
 "{{#each obj2}}{{@key}},{{/each}}", "{{#if a}}a{{else if b}}b{{else if c}}c{{/if}}",
 "{{#if a}}\n  a\n{{else if b}}\n  b\n{{else}}\n  c\n{{/if}}\n",
 "{{~#if a~}}  x  {{~else~}}  y  {{~/if~}}", "a {{~! c ~}} b", "{{#each list~}}\n  {{this}}\n{{~/each}}",
 "{{constructor}}", "{{obj.constructor}}", "{{obj.toString}}", "{{list.map}}", "{{obj.__proto__}}",
 "{{#each s}}x{{else}}not iterable{{/each}}", "{{#with zero}}{{this}}{{/with}}", "{{#with empty}}x{{else}}e{{/with}}",
 "{{#unless zero}}U{{/unless}}", "{{#each list}}{{#if @last}}{{else}},{{/if}}{{/each}}",
 "{{#each objlist}}{{name}}: {{#if active}}on{{else}}off{{/if}}\n{{/each}}",
 "{{#each objlist}}{{name}} {{date}}\n{{/each}}", "{{#nul}}x{{else}}n{{/nul}}", "{{#s}}[{{this}}]{{/s}}",
 "{{#zero}}[{{this}}]{{/zero}}", "{{#estr}}[{{this}}]{{/estr}}", "{{#empty}}x{{else}}e{{/empty}}",
 "{{h.length}}", "{{list.[1]}}", "{{list.[5]}}", "{{list.1}}", "{{obj.inner.y}}", "{{obj.inner.z}}",
 "{{#each list}}{{this.length}}{{/each}}", "{{#each objlist}}{{this.name}}{{/each}}",
 "{{a}}\r\n{{#if a}}\r\n x\r\n{{/if}}\r\n", "{{#if a}}{{else}}{{/if}}", "{{#if a}}{{/if}}",
 "{{!}}", "{{!-- --}}", "{{^}}", "{{#each list}}{{^}}{{/each}}", "{{#if a as |x|}}{{x}}{{/if}}",
 "{{#each list as |x|}}{{x.length}}{{x.nope}}{{/each}}", "{{#each list as |x|}}{{#each ../list as |y|}}{{x}}{{y}}{{/each}}{{/each}}",
 "{{#with obj}}{{../a}}{{@root.a}}{{/with}}", "{{#with obj}}{{#with inner}}{{../../a}}{{../x}}{{/with}}{{/with}}",
 "{{#if a}}{{../a}}{{/if}}", "{{#each list}}{{#if true}}{{../a}}{{/if}}{{/each}}", "{{..}}", "{{../../a}}",
 "{{@../index}}", "{{#each nested}}{{#each this}}{{@../key}}{{/each}}{{/each}}",
 "{{#each objlist}}{{> row}}{{/each}}{{#*inline \"row\"}}{{name}}-{{@index}}-{{../a}}{{/inline}}",
 "{{#*inline \"a\"}}1{{/inline}}{{#*inline \"a\"}}2{{/inline}}{{> a}}", "{{> \"p\"}}{{#*inline \"p\"}}q{{/inline}}",
 "{{#*inline \"p\"}}{{> q}}{{/inline}}{{#*inline \"q\"}}Q{{a}}{{/inline}}{{> p}}",
 "{{ a }}", "{{  #if a  }}x{{/if}}", "{{# if a}}x{{/ if}}", "{{#if a }}x{{/if }}", "{{else if}}",
 "{{#each list}}{{@first}}{{@last}}{{@index}}{{@key}}{{/each}}", "{{#each obj}}{{@first}}{{@last}}{{/each}}",
 "{{lookup list '1'}}", "{{lookup list 'length'}}", "{{lookup obj 'nope'}}", "{{lookup zero 'x'}}", "{{lookup estr 'x'}}",
 "{{#each (lookup obj 'inner')}}{{@key}}{{/each}}", "{{#if (lookup obj 'x')}}yes{{/if}}",
 "{{tab}}", "{{#if a}}\t\n{{/if}}", "{{nbsp}}", "x{{#if a}}\u00a0\n{{/if}}y",
]
DATA: dict[str, Any] = {"a": "A<&>", "b": "B", "c": "", "s": "str", "h": "<b>\"x\"'`=</b>", "n": 5, "f": 1.5, "big": 1e21, "tiny": 1e-7,
 "neg": -0.0, "t": True, "fa": False, "nul": None, "zero": 0, "empty": [], "estr": "",
 "list": ["x", "y", 3], "obj": {"x": "X", "inner": {"y": "Y"}, "2": "two", "1": "one"}, "obj2": {"b": 1, "10": 2, "a": 3, "2": 4},
 "nested": [[1, 2], [3]], "k": "x", "objlist": [{"name": "n1", "active": True, "date": "d1"}, {"name": "n2", "active": False, "date": "d2"}],
 "tab": "\t", "nbsp": "\u00a0"}
# fmt: on

OTHER_DATA: list[Any] = [
    {"list": []},
    {"a": 0, "b": None, "list": [None, {}, [], ""], "obj": []},
]


# Long and deep: Handlebars.js nests an {{else if}} chain one program per link, and the renderer loops over
# the links; blocks nested to the parser's limit (MAX_NESTING, 100), with standalone lines and `~`.
_LINKS = [
    "else if c",
    "else unless t",
    "else with empty",
    "else each empty",
    "else if zero",
    "else fa",
    "else nul",
    "else if missing",
    "else with missing",
]
CHAIN = (
    "{{#if missing}}m"
    + "".join(f"{{{{{_LINKS[i % len(_LINKS)]}}}}}{i}" for i in range(998))
    + "{{else if a}}{{a}}{{else}}none{{/if}}"
)
STANDALONE_CHAIN = (
    "{{#if c}}\n  c\n"
    + "".join(f"  {{{{else if fa}}}}\n  {i}\n" for i in range(300))
    + "{{~else if a~}}\n  [{{a}}]\n{{else}}\n  none\n{{/if}}\n"
)
DEEP = (
    "{{#if t}}\n" * 50
    + "{{#each list}}{{#unless fa~}}\n"
    + "{{#with this}}" * 48
    + "{{this}}{{@root.a}}{{@index}}"
    + "{{/with}}" * 48
    + "\n{{~/unless}}{{/each}}\n"
    + "{{/if}}\n" * 50
)
TEMPLATES += [
    CHAIN,
    STANDALONE_CHAIN,
    DEEP,
    "{{lookup " + "(lookup " * 100 + "obj" + " 'k')" * 100 + " 'k'}}",
]


def edge_cases() -> list[OracleCase]:
    cases: list[OracleCase] = []
    for template in TEMPLATES:
        cases += [{"template": template, "data": DATA, "mode": mode} for mode in ("text", "html")]
        cases += [{"template": template, "data": data, "mode": "text"} for data in OTHER_DATA]
    return cases
