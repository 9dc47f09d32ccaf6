// The reference for the email sender's renderer: Handlebars.js 4 renders each case read from stdin.
// Input: a JSON array of {template, data, mode}. Every mode compiles with {strict: true}; "html" and "text"
// send every mustache, {{{x}}} and {{& x}} included, through Handlebars' escapeExpression:
// - "html": the real escapeExpression, as our renderer's HTML parts escape everything by default;
// - "text": escapeExpression swapped for plain string conversion (what noEscape appends), for subject and text;
// - "html-raw": Handlebars as it is, {{{x}}} and {{& x}} unescaped: what the sender's HTML part gives when
//   sanitizing leaves every fragment as it was.
// Why not {noEscape: true} itself: its generated code joins adjacent values with JavaScript's `+`, so
// `{{a}}{{b}}` with 1 and 2 renders "3". That is an artefact of the code generator, not of the template
// language; SES documents nothing like it, and our renderer concatenates strings ("12").
// A block helper's value (`{{#lookup obj key}}...{{/lookup}}`, the one built-in that returns data to a block)
// goes through escapeExpression too, in every mode: Handlebars.js appends it unescaped, our HTML parts escape
// it as a value (the sender sanitizes only {{{x}}} and {{& x}}).
// Output: a JSON array, per case {ok: true, output} or {ok: false, error, phase}. One process for the whole
// corpus. The phase says when Handlebars.js threw: "compile" (parsing and compiling, which compile() defers
// to the first render; it is forced here first) or "render" (running the template with the data).
"use strict";
const Handlebars = require("handlebars");

// The `log` helper and Handlebars' warnings must not write to stdout, which carries the results.
for (const method of ["log", "info", "warn", "debug", "error"]) console[method] = () => {};

const utils = require("handlebars/dist/cjs/handlebars/utils");
const htmlEscape = utils.escapeExpression;

function plainString(value) {
  if (value == null) return "";
  return typeof value === "string" ? value : String(value);
}

function escapeEverything(node) {
  if (Array.isArray(node)) {
    node.forEach(escapeEverything);
  } else if (node && typeof node === "object") {
    if (node.type === "MustacheStatement") node.escaped = true;
    Object.values(node).forEach(escapeEverything);
  }
}

function escapeBlockValues(env) {
  const lookup = env.helpers.lookup;
  env.registerHelper("lookup", function (...args) {
    const options = args[args.length - 1];
    const value = lookup.apply(this, args);
    return options && options.fn ? utils.escapeExpression(value) : value;
  });
}

function render(testCase, stage) {
  if (!["text", "html", "html-raw"].includes(testCase.mode)) throw new Error(`unknown mode ${testCase.mode}`);
  const env = Handlebars.create();
  escapeBlockValues(env);
  const ast = env.parse(testCase.template);
  if (testCase.mode !== "html-raw") escapeEverything(ast);
  utils.escapeExpression = testCase.mode === "text" ? plainString : htmlEscape;
  try {
    const template = env.compile(ast, { strict: true });
    template._setup({});
    stage.phase = "render";
    return String(template(testCase.data));
  } finally {
    utils.escapeExpression = htmlEscape;
  }
}

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const results = cases.map((testCase) => {
    const stage = { phase: "compile" };
    try {
      return { ok: true, output: render(testCase, stage) };
    } catch (error) {
      return { ok: false, error: String((error && error.message) || error), phase: stage.phase };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
