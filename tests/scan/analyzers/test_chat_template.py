"""Chat templates: real-world benign templates stay below medium, escapes (direct, obfuscated,
string-built) are critical or high, and tokenizer_config.json / .jinja files are analysed the
same way. Templates are only parsed; nothing here renders one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlock.artifact import ArtifactFile
from airlock.findings import Finding, Severity
from airlock.scan.analyzers.chat_template import analyze
from airlock.scan.scanner import Scanner

SAMPLES = (
    Path(__file__).resolve().parents[4]
    / "shared/corpora/peer-samples/modelaudit/tests/assets/samples/jinja2"
)

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}"
    "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
    "{% endif %}{% endfor %}"
)
LLAMA31_TOOLS = """{{- bos_token }}
{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}
{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}{%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}{%- set date_string = "26 Jul 2024" %}{%- endif %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}
{%- else %}{%- set system_message = "" %}{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") }}
{%- endif %}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- for t in tools %}{{- t | tojson(indent=4) }}{{- "\\n\\n" }}{%- endfor %}
{{- system_message }}{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'
            + message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '{"name": "' + tool_call.name + '", "parameters": ' }}
        {{- tool_call.arguments | tojson }}{{- "}" }}{{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""
QWEN_TOOLS = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- endif %}
    {{- "\\n\\n# Tools\\n\\n<tools>" }}
    {%- for tool in tools %}{{- "\\n" }}{{- tool | tojson }}{%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and not
        (message.content.startswith('<tool_response>')) %}
        {%- set ns.multi_step_tool = false %}{%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.role == "assistant" and message.tool_calls %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '<tool_call>\\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}
            {%- if tool_call.arguments is string %}{{- tool_call.arguments }}
            {%- else %}{{- tool_call.arguments | tojson }}{%- endif %}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}{%- endif %}
        {{- '\\n<tool_response>\\n' }}{{- message.content }}{{- '\\n</tool_response>' }}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
"""
GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'assistant') %}"
    "{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)
MISTRAL = (
    "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}"
    "{%- endif %}{{- bos_token }}{%- for message in loop_messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('After the optional system message, conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{%- endif %}{%- if message['role'] == 'user' %}"
    "{%- if loop.first and system_message is defined %}"
    "{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}"
    "{%- else %}{{- ' [INST] ' + message['content'] + ' [/INST]' }}{%- endif %}"
    "{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token}}"
    "{%- else %}{{- raise_exception('Only user and assistant roles are supported!') }}"
    "{%- endif %}{%- endfor %}"
)
# transformers' extras: {% generation %} blocks, loop controls, macros, range, dict literals.
EXTRAS = (
    "{% macro render(m) %}{{ m.content }}{% endmacro %}"
    "{% for message in messages %}{% if loop.index > 50 %}{% break %}{% endif %}"
    "{% if message.role == 'assistant' %}{% generation %}{{ render(message) }}"
    "{% endgeneration %}{% else %}{{ render(message) }}{% endif %}{% endfor %}"
    "{% for i in range(3) %}{{ {'a': i}['a'] }}{% endfor %}{{ messages | map(attribute='role')"
    " | join(',') }}{{ message | attr('role') }}{{ ('tool_' ~ name) }}"
)
BENIGN = {
    "chatml": CHATML,
    "llama2": LLAMA2,
    "llama31-tools": LLAMA31_TOOLS,
    "qwen-tools": QWEN_TOOLS,
    "gemma": GEMMA,
    "mistral": MISTRAL,
    "extras": EXTRAS,
}

ESCAPES = {
    "cve-2024-34359": "{{ self.__init__.__globals__.__builtins__.__import__('os')"
    ".system('touch /tmp/airlock-canary') }}",
    "attr-filter": "{{ ''|attr('__class__')|attr('__mro__') }}",
    "concat": "{{ x['__cla' + 'ss__'] }}",
    "tilde": "{{ x|attr('__cla' ~ 'ss__') }}",
    "join": "{{ x|attr(['_', '_', 'class', '_', '_']|join) }}",
    "method-join": "{{ x[''.join(['__', 'globals', '__'])] }}",
    "reverse": "{{ x|attr('__ssalc__'|reverse) }}",
    "replace": "{{ x|attr('XXclassXX'|replace('XX', '__')) }}",
    "format": "{{ x|attr('%sclass%s'|format('__', '__')) }}",
    "set-variable": "{% set a = '__cla' %}{% set b = a ~ 'ss__' %}{{ x[b] }}",
    "hex-escape": "{{ x['\\x5f\\x5fclass\\x5f\\x5f'] }}",
    "chr": "{{ x[chr(95) ~ chr(95) ~ 'class' ~ chr(95) ~ chr(95)] }}",
    "namespace-gadget": "{{ namespace.__init__.__globals__ }}",
    # Names that reach the OS or code execution are critical by any spelling.
    "popen": "{{ x.popen('id') }}",
    "system": "{{ x.system('id') }}",
    "eval": "{{ eval('1') }}",
    "os-built": "{{ x[('o' ~ 's')] }}",
    "range-gadget": "{{ range.__init__.__globals__ }}",
}
SUSPICIOUS = {
    "include": "{% include 'other.j2' %}",
    "import": "{% import 'macros.j2' as m %}",
    "extends": "{% extends 'base.j2' %}",
    "from-import": "{% from 'x.j2' import y %}",
    "private": "{{ c()._module }}",
    "computed-attr": "{{ x|attr(name) }}",
    "getattr": "{{ getattr(x, y) }}",
    "environ": "{{ x.environ }}",
}


def worst(source: str) -> Severity | None:
    return max((issue.severity for issue in analyze(source)), default=None)


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_templates_are_clean(name: str) -> None:
    assert analyze(BENIGN[name]) == []


def test_namespace_alone_is_fine() -> None:
    assert analyze("{% set ns = namespace(found=false) %}{{ ns.found }}") == []


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_escapes_are_critical(name: str) -> None:
    issues = analyze(ESCAPES[name])
    assert worst(ESCAPES[name]) == Severity.CRITICAL, issues
    assert any(issue.rule_id in ("AIR501", "AIR507") for issue in issues)


@pytest.mark.parametrize("name", sorted(SUSPICIOUS))
def test_suspicious_constructs_are_high(name: str) -> None:
    assert worst(SUSPICIOUS[name]) == Severity.HIGH, analyze(SUSPICIOUS[name])


@pytest.mark.parametrize("source", ["{{ cycler }}", "{{ lipsum() }}", "{{ joiner() }}"])
def test_gadget_globals_are_high(source: str) -> None:
    # Jinja's own globals that no chat template needs: the classic way to `__globals__`.
    assert worst(source) == Severity.HIGH


def test_oversized_range_is_medium() -> None:
    assert worst("{{ range(1000000000) }}") == Severity.MEDIUM


def test_bound_names_are_not_gadgets() -> None:
    assert analyze("{% for config in configs %}{{ config.name }}{% endfor %}") == []


def test_unparseable_template_is_searched_as_text(tmp_path: Path) -> None:
    broken = {"chat_template": "{% for m in messages %}{{ m.__class__ }}"}
    findings = scan_json(tmp_path, broken)
    assert {(f.rule_id, f.severity) for f in findings} == {
        ("AIR503", Severity.MEDIUM),
        ("AIR501", Severity.CRITICAL),
    }
    assert [f.rule_id for f in scan_json(tmp_path, {"chat_template": "{{ x"})] == ["AIR503"]


def test_deep_nesting_does_not_crash() -> None:
    issues = analyze("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}")
    assert [issue.rule_id for issue in issues] == ["AIR503"]
    assert analyze("{{ " + " ~ ".join(["'a'"] * 3000) + " }}") == []


def test_self_referencing_set_terminates() -> None:
    # `a` is built while rendering (from itself), so looking a member up by it is high.
    source = "{% set a = a ~ a %}" * 200 + "{{ x[a] }}"
    assert worst(source) == Severity.HIGH


def scan_json(
    tmp_path: Path, document: object, name: str = "tokenizer_config.json"
) -> list[Finding]:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return list(Scanner().scan_file(ArtifactFile(path, name)).findings)


def test_tokenizer_config_templates(tmp_path: Path) -> None:
    assert scan_json(tmp_path, {"chat_template": LLAMA31_TOOLS, "bos_token": "<s>"}) == []
    named = [{"name": "default", "template": CHATML}, {"name": "rag", "template": ESCAPES["join"]}]
    findings = scan_json(tmp_path, {"chat_template": named})
    assert [f.rule_id for f in findings] == ["AIR501"]
    assert "`rag`" in findings[0].message
    assert scan_json(tmp_path, {"model_type": "llama"}) == []


def test_oversized_template_is_skipped(tmp_path: Path) -> None:
    findings = scan_json(tmp_path, {"chat_template": "a" * 1_000_001})
    assert [f.rule_id for f in findings] == ["AIR003"]


def test_standalone_jinja_file(tmp_path: Path) -> None:
    path = tmp_path / "chat_template.jinja"
    path.write_text(ESCAPES["cve-2024-34359"])
    result = Scanner().scan_file(ArtifactFile(path, path.name))
    assert result.kind == "template"
    assert max(f.severity for f in result.findings) == Severity.CRITICAL


def _corpus_files(prefix: str) -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    files = [p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix != ".yaml"]
    return sorted(p for p in files if p.relative_to(SAMPLES).as_posix().startswith(prefix))


def _corpus_worst(path: Path) -> Severity | None:
    findings = Scanner().scan_file(ArtifactFile(path, path.name)).findings
    return max((f.severity for f in findings), default=None)


@pytest.mark.parametrize(
    "path",
    [*_corpus_files("malicious"), *_corpus_files("obfuscated"), *_corpus_files("standalone/mal")],
    ids=lambda p: p.name,
)
def test_corpus_malicious_is_high(path: Path) -> None:
    worst_found = _corpus_worst(path)
    assert worst_found is not None and worst_found >= Severity.HIGH


@pytest.mark.parametrize(
    "path",
    [
        *_corpus_files("benign"),
        *_corpus_files("standalone/benign"),
        *_corpus_files("standalone/suspicious_benign"),
        *_corpus_files("edge_cases/empty"),
        *_corpus_files("edge_cases/no_template"),
        *_corpus_files("edge_cases/oversized"),
    ],
    ids=lambda p: p.name,
)
def test_corpus_benign_is_clean(path: Path) -> None:
    worst_found = _corpus_worst(path)
    assert worst_found is None or worst_found < Severity.MEDIUM


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="peer-samples corpus not present")
def test_corpus_edge_cases() -> None:
    assert _corpus_worst(SAMPLES / "edge_cases/malformed_template.json") == Severity.MEDIUM
    # A second, non-standard template key carrying an escape is still found.
    assert _corpus_worst(SAMPLES / "edge_cases/multiple_templates.json") == Severity.CRITICAL
    assert _corpus_worst(SAMPLES / "tokenizer_config.json") == Severity.CRITICAL


# Names that reach a lookup along paths a text search does not follow.
HIDDEN_PATHS = {
    "call-block": "{% macro m() %}{{ caller('__glo' ~ 'bals__') }}{% endmacro %}"
    "{% call(n) m() %}{{ messages[0][n] }}{% endcall %}",
    "recursive-loop": "{% for x in ['a'] recursive %}{{ messages[x] }}"
    "{{ loop(['__cl' ~ 'ass__']) }}{% endfor %}",
    "set-block-filters": "{% set x | lower | trim %} __GLO{{ 'BALS' }}__ {% endset %}"
    "{{ messages[x] }}",
    "macro-argument": "{% macro g(k) %}{{ messages[0][k] }}{% endmacro %}"
    "{% set u = '%c'|format(95) %}{{ g(u ~ u ~ 'class' ~ u ~ u) }}",
    "macro-from-list": "{% macro g(k) %}{{ messages[0][k] }}{% endmacro %}{% set fs = [g] %}"
    "{{ fs[0]('_' ~ '_class__') }}",
    "kwargs": "{% macro g() %}{{ messages[0][kwargs.k] }}{% endmacro %}{{ g(k='__cla' ~ 'ss__') }}",
    "format-method": "{{ messages['{}{}class{}{}'.format('_', '_', '_', '_')] }}",
    "dict-items": "{% for k, v in {'__cla': 'ss__'}|items %}{{ messages[0][k ~ v] }}{% endfor %}",
    "conditional": "{{ messages[0]['__cla' ~ 'ss__' if true else 'x'] }}",
    "default": "{{ messages[0][nothing|default('__cla' ~ 'ss__')] }}",
    "loop-cycle": "{% for m in messages %}{{ m[loop.cycle('__cla' ~ 'ss__')] }}{% endfor %}",
    "namespace-accumulated": "{% set ns = namespace(s='') %}{% for m in messages %}"
    "{% set ns.s = ns.s ~ '_' %}{% endfor %}{{ messages[0][ns.s ~ 'class' ~ ns.s] }}",
    "counter-char": "{% set ns = namespace(n=90) %}{% for m in range(5) %}"
    "{% set ns.n = ns.n + 1 %}{% endfor %}{{ messages[0][('%c' % ns.n) * 2 ~ 'class__'] }}",
    "long-chain": "{% set ns = namespace(a0='x') %}{% for i in range(30) %}"
    "{{ messages[0][ns.a29] }}"
    + "".join(f"{{% set ns.a{i + 1} = ns.a{i} %}}" for i in reversed(range(29)))
    + "{% set ns.a0 = 'c' ~ 'lass' %}{% endfor %}",
    "tojson-char": "{{ messages[('_'|tojson)[1] * 2 ~ 'class__'] }}",
    "batch-join": "{% set u = '_' %}{{ messages[0][[u, u, 'c', 'l', 'a', 's', 's', u, u]"
    "|batch(9)|first|join] }}",
    "map-format": "{% set p = ['%c%c']|map('format', 95, 95)|join %}"
    "{{ messages[0][p ~ 'class' ~ p] }}",
    "loop-nextitem": "{% for x in ['a', 'o' ~ 's'] %}{{ messages[0][loop.nextitem or 'x'] }}"
    "{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(HIDDEN_PATHS))
def test_hidden_paths_are_followed(name: str) -> None:
    found = worst(HIDDEN_PATHS[name])
    assert found is not None and found >= Severity.HIGH, analyze(HIDDEN_PATHS[name])


@pytest.mark.parametrize(
    "source",
    [
        "{% set a = 'x' * 9000 %}{{ m[a.replace('x', 'y' * 9000)] }}",
        "{% set a = 'x' * 9999 %}{% set l = [" + ",".join(["a"] * 3000) + "] %}{{ m[l|join] }}",
        "{{ m['{:>{}}'.format('x', 999999999)] }}",
        "{{ m['%*s' % (999999999, 'x')] }}",
    ],
)
def test_folding_does_not_build_huge_strings(source: str) -> None:
    # Not computed (it could take gigabytes), so the name is unknown: high, and quick.
    assert worst(source) == Severity.HIGH


def test_real_template_idioms_are_clean() -> None:
    idioms = (
        "{% set ns = namespace(system=false) %}{% set ns.system = messages[0].content %}"
        "{{ ns.system }}",  # a namespace member called `system` is the template's own
        "{% macro a(x) %}{{ x }}{% endmacro %}{% set calls = [] + [a] %}"
        "{% set params = [[messages]] %}{% for i in range(calls|length) %}"
        "{{ calls[i](*params[i]) }}{% endfor %}",  # AI21 Jamba calls macros from a list
        "{% for k, v in tool.parameters.properties|items %}{{ k }}: "
        "{{ tool.parameters.properties[k].type }}{% endfor %}",
        "{% set ns = namespace(value=0) %}{% for d in documents %}"
        "{% set ns.value = ns.value + 1 %}{{ ns.value }}{% endfor %}",
    )
    for source in idioms:
        assert analyze(source) == [], source


def test_os_names_are_critical_by_any_spelling() -> None:
    issues = analyze("{{ x[('o' ~ 's')].popen('id') }}")
    assert {issue.rule_id for issue in issues} == {"AIR507"}
    assert all(issue.severity == Severity.CRITICAL for issue in issues)
