"""Chat templates built to run a command when rendered by a plain (unsandboxed) Jinja
environment, as llama-cpp-python did before its CVE-2024-34359 fix and as users' own code
still does. Each names `__globals__`, `os` and `popen` without spelling them: assembled at
render time by every trick Jinja offers (`%c` formatting, `~`, set blocks, `|join`,
`|replace`, `|reverse`, slicing, `dict(...)|first`, `lipsum|string`, macros, namespaces...)
and reached through `|attr`, `[...]`, `|map(attribute=)`, `|groupby`, `map('attr')`.

All of them are rendered once, in one child process, each writing its own canary; then each
must be blocked in every container a loader reads templates from: a standalone `.jinja`,
`tokenizer_config.json` (string and list form), an Axolotl YAML config
(`chat_template_jinja`) and GGUF `tokenizer.chat_template`. The real
templates in tests/data/chat_templates/ must stay clean.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from adversarial.live import assert_blocked, assert_clean, run_snippet
from airlock.findings import Severity

BENIGN = Path(__file__).resolve().parents[1] / "data" / "chat_templates"
U = "(lipsum|string)[18]"  # '_' from "<function generate_lorem_ipsum at 0x...>"


def _chars(name: str) -> list[int]:
    return [ord(c) for c in name]


# Spellings of a name that no scanner reading the text sees. Each takes the name and returns a
# Jinja expression that evaluates to it when rendered.
SPELLINGS = {
    "format-c": lambda n: f"('{'%c' * len(n)}'|format({', '.join(map(str, _chars(n)))}))",
    "tilde": lambda n: "(" + " ~ ".join(repr(c) for c in n) + ")",
    "plus": lambda n: "(" + " + ".join(repr(c) for c in n) + ")",
    "join-filter": lambda n: "(" + repr(list(n)) + "|join)",
    "join-method": lambda n: "(''.join(" + repr(list(n)) + "))",
    "replace": lambda n: f"('{n.replace('_', 'X')}'|replace('X', '_'))",
    "replace-method": lambda n: f"('{n.replace('_', 'Q')}'.replace('Q', '_'))",
    "reverse-filter": lambda n: f"('{n[::-1]}'|reverse)",
    "slice": lambda n: f"('{n[::-1]}'[::-1])",
    "lower": lambda n: f"('{n.upper()}'|lower)",
    "string-lower": lambda n: f"(('{n.upper()}'|string)|lower)",
    "upper-method": lambda n: f"('{n.upper()}'.lower())",
    "percent": lambda n: f"('{'%c' * len(n)}' % ({', '.join(map(str, _chars(n)))},))",
    "format-method": lambda n: "('" + "{}" * len(n) + "'.format(" + ", ".join(map(repr, n)) + "))",
    "repeat": lambda n: "(" + " ~ ".join(f"'{c}' * 1" for c in n) + ")",
    "list-reverse-join": lambda n: f"('{n[::-1]}'|list|reverse|join)",
    "dict-first": lambda n: f"(dict({n}=1)|first)",
    "dict-list-last": lambda n: f"(dict(a=1, {n}=2)|list|last)",
    "lipsum-string": lambda n: "(" + " ~ ".join(U if c == "_" else repr(c) for c in n) + ")",
    "split-index": lambda n: f"('{'|'.join(n)}'.split('|')|join)",
}
# The scan evaluates every spelling statically (`lipsum|string` too: Jinja's reprs are known),
# so it sees the very name: critical.

# Ways to reach a member by a name expression: base, name -> expression.
ACCESS = {
    "attr": lambda base, name: f"({base}|attr({name}))",
    "subscript": lambda base, name: f"({base})[{name}]",
    "map-attribute": lambda base, name: f"([{base}]|map(attribute={name})|first)",
    "map-attr": lambda base, name: f"([{base}]|map('attr', {name})|first)",
    "groupby": lambda base, name: f"([{base}]|groupby({name})|first).grouper",
}


def payload(spell: str, access: str, base: str = "lipsum") -> str:
    """`{{ base.__globals__['os'].popen(CMD).read() }}`, every name spelled by `spell` and the
    globals reached by `access`; CMD is filled in per sample."""
    name = SPELLINGS[spell]
    reach = ACCESS[access]
    globals_ = reach(base, name("__globals__"))
    module = f"{globals_}[{name('os')}]"
    return f"{{{{ ({module}|attr({name('popen')}))(CMD).read() }}}}"


CASES: dict[str, tuple[str, Severity]] = {}
for _spell in SPELLINGS:
    CASES[f"{_spell}-attr"] = (payload(_spell, "attr"), Severity.CRITICAL)
for _access in ("subscript", "map-attribute", "map-attr", "groupby"):
    CASES[f"format-c-{_access}"] = (payload("format-c", _access), Severity.CRITICAL)
    CASES[f"lipsum-string-{_access}"] = (payload("lipsum-string", _access), Severity.CRITICAL)
# A name only known while rendering (from the conversation's length): high, not critical.
CASES["render-time-number"] = (
    "{% set u = '%c'|format(messages|length + 94) %}"
    "{{ ((lipsum|attr(u ~ u ~ 'globals' ~ u ~ u))['o' ~ 's']|attr('po' ~ 'pen'))(CMD).read() }}",
    Severity.HIGH,
)
# Other ways in to the globals of a module that imported `os`.
CASES["cycler-init"] = (
    payload("tilde", "attr", "cycler|attr('_' ~ '_init_' ~ '_')"),
    Severity.CRITICAL,
)
CASES["joiner-init"] = (payload("join-filter", "attr", "joiner.__init__"), Severity.CRITICAL)
CASES["namespace-init"] = (
    payload("format-c", "attr", "namespace|attr('%c%cinit%c%c'|format(95,95,95,95))"),
    Severity.CRITICAL,
)
CASES["self-reference"] = (
    "{{ self.__init__.__globals__.__builtins__.__import__('os').popen(CMD).read() }}",
    Severity.CRITICAL,
)
# Names held in template variables of every kind.
CASES["set-block"] = (
    "{% set g %}__glo{{ 'bals' }}__{% endset %}{% set o %}o{{ 's' }}{% endset %}"
    "{{ ((lipsum|attr(g))[o]).popen(CMD).read() }}",
    Severity.CRITICAL,
)
CASES["set-block-filtered"] = (
    "{% set g %}{% filter lower %}__GLOBALS__{% endfilter %}{% endset %}"
    "{% set o %}{% if true %}o{% endif %}s{% endset %}"
    "{{ ((lipsum|attr(g))[o]|attr('p' ~ 'open'))(CMD).read() }}",
    Severity.CRITICAL,
)
CASES["macro-output"] = (
    "{% macro u() %}_{% endmacro %}{% macro w(x) %}{{ x }}{% endmacro %}"
    "{{ ((lipsum|attr(u() ~ u() ~ 'globals' ~ u() ~ u()))[w('o') ~ w('s')]"
    "|attr(w('po') ~ w('pen')))(CMD).read() }}",
    Severity.CRITICAL,
)
CASES["namespace-member"] = (
    "{% set ns = namespace(a='__glo', b='bals__', o='o') %}{% set ns.o = ns.o ~ 's' %}"
    "{{ ((lipsum|attr(ns.a ~ ns.b))[ns.o]|attr('po' ~ 'pen'))(CMD).read() }}",
    Severity.CRITICAL,
)
CASES["loop-variable"] = (
    "{% for u in '_' %}{% for o in ['o'] %}"
    "{{ ((lipsum|attr(u ~ u ~ 'globals' ~ u ~ u))[o ~ 's']|attr('po' ~ 'pen'))(CMD).read() }}"
    "{% endfor %}{% endfor %}",
    Severity.CRITICAL,
)
CASES["with-block"] = (
    "{% with g = '__glo' ~ 'bals__', o = 'o' ~ 's' %}"
    "{{ ((lipsum|attr(g))[o]|attr('po' ~ 'pen'))(CMD).read() }}{% endwith %}",
    Severity.CRITICAL,
)
CASES["tuple-unpack"] = (
    "{% set a, b = '__glo', 'bals__' %}{% set o, s = 'o', 's' %}"
    "{{ ((lipsum|attr(a ~ b))[o ~ s]|attr('po' ~ 'pen'))(CMD).read() }}",
    Severity.CRITICAL,
)
CASES["reassigned"] = (
    "{% set u = '_' %}{% set u = u ~ u %}"
    "{{ ((lipsum|attr(u ~ 'globals' ~ u))['o' ~ 's']|attr('po' ~ 'pen'))(CMD).read() }}",
    Severity.CRITICAL,
)
CASES["dict-literal"] = (
    "{% set d = {'g': '__glo' ~ 'bals__', 'o': 'o' ~ 's'} %}"
    "{{ ((lipsum|attr(d.g))[d['o']]|attr('po' ~ 'pen'))(CMD).read() }}",
    Severity.CRITICAL,
)
CASES["builtins-exec"] = (
    "{{ lipsum|attr('_' ~ '_globals_' ~ '_')|attr('get')('_' ~ '_builtins_' ~ '_')"
    "|attr('get')('ex' ~ 'ec')(CODE) }}",
    Severity.CRITICAL,
)
CASES["subclasses-walk"] = (
    "{% for c in ''|attr('__cla' ~ 'ss__')|attr('__mro__')|last|attr('__subcla' ~ 'sses__')() %}"
    "{% if c.__name__ == '_wrap_close' %}{{ c.__init__.__globals__['popen'](CMD).read() }}"
    "{% endif %}{% endfor %}",
    Severity.CRITICAL,
)
CASES["conversation-dict"] = (
    "{% set m = messages[0] %}{% for c in m|attr('_' ~ '_class_' ~ '_')|attr('_' ~ '_base_' ~ '_')"
    "|attr('_' ~ '_subclasses_' ~ '_')() %}{% if (c|attr('_' ~ '_name_' ~ '_')) == '_wrap_close' %}"
    "{{ (c|attr('_' ~ '_init_' ~ '_')|attr('_' ~ '_globals_' ~ '_'))['po' ~ 'pen'](CMD).read() }}"
    "{% endif %}{% endfor %}",
    Severity.CRITICAL,
)

# Values passed where a reader of the text does not look: macro arguments, `caller(...)` into a
# call block, `loop(...)` of a recursive for, a namespace accumulating a name, a `{% do %}`.
_REACH = "((lipsum|attr(G))[O]|attr(P))(CMD).read()"
CASES["macro-argument"] = (
    "{% macro run(g, o, p) %}{{ "
    + _REACH.replace("G", "g").replace("O", "o").replace("P", "p")
    + " }}{% endmacro %}{% set u = '%c'|format(95) %}"
    "{{ run(u ~ u ~ 'globals' ~ u ~ u, 'o' ~ 's', 'po' ~ 'pen') }}",
    Severity.CRITICAL,
)
CASES["caller-argument"] = (
    "{% macro m() %}{{ caller('_' ~ '_globals_' ~ '_', 'o' ~ 's', 'po' ~ 'pen') }}{% endmacro %}"
    "{% call(g, o, p) m() %}{{ "
    + _REACH.replace("G", "g").replace("O", "o").replace("P", "p")
    + " }}{% endcall %}",
    Severity.CRITICAL,
)
CASES["recursive-loop"] = (
    "{% for g in ['x'] recursive %}{% if loop.depth == 2 %}{{ "
    + _REACH.replace("G", "g").replace("O", "'o' ~ 's'").replace("P", "'po' ~ 'pen'")
    + " }}{% else %}{{ loop(['_' ~ '_globals_' ~ '_']) }}{% endif %}{% endfor %}",
    Severity.CRITICAL,
)
CASES["namespace-accumulated"] = (
    "{% set ns = namespace(u='') %}{% for i in range(2) %}{% set ns.u = ns.u ~ '_' %}"
    "{% endfor %}{{ "
    + _REACH.replace("G", "ns.u ~ 'globals' ~ ns.u")
    .replace("O", "'o' ~ 's'")
    .replace("P", "'po' ~ 'pen'")
    + " }}",
    Severity.CRITICAL,
)
CASES["macro-list-spread"] = (
    "{% macro run(g, o, p) %}{{ "
    + _REACH.replace("G", "g").replace("O", "o").replace("P", "p")
    + " }}{% endmacro %}{% set calls = [] + [run] %}"
    "{% set args = [['_' ~ '_globals_' ~ '_', 'o' ~ 's', 'po' ~ 'pen']] %}"
    "{{ calls[0](*args[0]) }}",
    Severity.CRITICAL,
)

RENDER = """
import json, jinja2
cases = json.load(open(path))
for name, source in cases.items():
    try:
        jinja2.Environment().from_string(source).render(
            messages=[{"role": "user", "content": "hi"}], bos_token="<s>", eos_token="</s>",
            add_generation_prompt=True)
    except Exception as exc:
        print(name, "failed:", repr(exc)[:300])
"""


def _fill(source: str, canary: Path) -> str:
    code = f"open({str(canary)!r}, 'w').write('fired')"
    return source.replace("CMD", repr(f"touch {canary}")).replace("CODE", repr(code))


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Path]]:
    """Every case with its own canary, proved live once under a plain Jinja environment."""
    folder = tmp_path_factory.mktemp("templates")
    built = {}
    for name, (source, _) in CASES.items():
        canary = folder / f"canary-{name}"
        built[name] = (_fill(source, canary), canary)
    if importlib.util.find_spec("jinja2") is not None:
        cases = folder / "cases.json"
        cases.write_text(json.dumps({name: text for name, (text, _) in built.items()}))
        output = run_snippet(RENDER, cases)
        dead = [name for name, (_, canary) in built.items() if not canary.exists()]
        assert not dead, f"samples that did not fire when rendered: {dead}\n{output[-3000:]}"
        for _, canary in built.values():
            canary.unlink()
    return built


def test_enough_variants() -> None:
    assert len(CASES) >= 30


def _containers(folder: Path, name: str, text: str) -> list[Path]:
    from gguf import GGUFWriter

    jinja = folder / f"{name}.jinja"
    jinja.write_text(text)
    config = folder / f"{name}-string" / "tokenizer_config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"chat_template": text, "bos_token": "<s>"}))
    listed = folder / f"{name}-list" / "tokenizer_config.json"
    listed.parent.mkdir()
    templates = [{"name": "default", "template": "{{ messages[0]['content'] }}"},
                 {"name": "tool_use", "template": text}]  # fmt: skip
    listed.write_text(json.dumps({"chat_template": templates}))
    axolotl = folder / f"{name}-axolotl.yaml"
    axolotl.write_text(yaml.safe_dump({"chat_template": "jinja", "chat_template_jinja": text}))
    gguf = folder / f"{name}.gguf"
    writer = GGUFWriter(str(gguf), "llama")
    writer.add_chat_template(text)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return [jinja, config, listed, axolotl, gguf]


@pytest.mark.parametrize("name", sorted(CASES))
def test_blocked_in_every_container(
    name: str, samples: dict[str, tuple[str, Path]], tmp_path: Path
) -> None:
    text, canary = samples[name]
    level = CASES[name][1]
    for path in _containers(tmp_path, name, text):
        assert_blocked(path, canary, at_least=level)


@pytest.mark.parametrize("path", sorted(BENIGN.glob("*.jinja")), ids=lambda p: p.name)
def test_real_templates_stay_clean(path: Path, tmp_path: Path) -> None:
    text = path.read_text("utf-8")
    for container in _containers(tmp_path, path.stem, text):
        findings = assert_clean(container, below=Severity.MEDIUM)
        assert not [f for f in findings if f.rule_id.startswith("AIR50")], findings
