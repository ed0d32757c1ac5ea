"""The devserver's scripted agent: a deterministic "brain" with no I/O.

Given one conversation's earlier messages, the memory compiled into that
conversation's system message and the new user text, :func:`plan` returns the
next step (a thought plus either an answer or a tool call); after a tool ran,
:func:`follow_up` returns the closing step. The server (``runs.py``) executes the
tool calls and streams the steps. The project's stub LLM for the real server
(``tests/real/stub_llm.py``) loads this file BY PATH and uses ``Context``, ``Step``,
``ToolCall``, ``plan``, ``follow_up`` and ``parse_memory``: keep it standard-library only,
with no imports from the package, and keep that API stable.

Grammar (first match wins; case-insensitive):

``call:<tool> {json}``
    Call ``<tool>`` (if the agent has it) with the JSON object as arguments, as the
    real-letta stub LLM does; the closing answer is ``Done: <result prefix>``.
``remember that X`` / ``please remember X`` / ``remember: X``
    ``memory_insert(label="human", new_string=<X in the third person>)``.
``update your memory: A is now B``
    ``memory_replace`` of the sentence about A in the block that mentions it
    (``memory_insert`` when no block mentions it).
``replace A with B in memory``
    ``memory_replace(label=<block containing A, else human>, old_string=A, new_string=B)``.
``search X`` / ``search for X`` / ``search the conversation for X``
    ``conversation_search(query=X)``; the answer quotes the matches.
``send an email to ADDRESS [about|saying SUBJECT]``
    ``send_email(to, subject, body)``: needs approval; the run stops with
    ``requires_approval`` until the client approves or denies it.
facts: ``my name is X``, ``call me X``, ``I live in X``, ``I work at|for X``,
``I work as a X``, ``I am N years old``, ``my favourite colour is X``, ``my X is Y``
    acknowledged; remembered from this conversation's own messages only (a fact stated in
    ``remember that …`` counts too: the agent sees its own conversation). British and
    American spellings are the same key (favourite colour = favorite color).
questions: ``what is my name?``, ``who am I?``, ``where do I live?``,
``where do I work?``, ``how old am I?``, ``what is my favourite colour?``, ``what is my X?``
    answered from this conversation's earlier user messages, else from the
    compiled memory (``The human's name is Ada.``), else "you haven't told me".
``what do you remember about me?`` / ``what do you know about me?`` / ``what is in your memory?``
    the ``human`` block as compiled into this conversation's system message, with the
    facts stated in this conversation replacing what the block says about the same thing.
``what can you do?`` (also after a greeting)
    what the agent can do, with an example prompt for each.
``hi`` / ``hello`` / ``hey``
    a greeting (using the name, when known).
text containing ``fail:llm``
    the LLM call fails: stop_reason ``llm_api_error`` + an ``error_message`` event
    (HTTP 500 with ``streaming=false``); nothing is stored.
text containing ``slow``
    a 20-token answer the server streams with a delay per token (cancel/resume tests).
text containing ``pause:N``
    the LLM call takes N more seconds (at most 120) before the step's first token
    (keepalive pings); the rest of the text is answered as usual.
anything else
    ``You said: "<text>". ...`` (the text verbatim).

Every step starts with a short reasoning (the server sends it as a
``reasoning_message`` before the tool call or answer).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "APPROVAL_TOOLS",
    "SLOW_REPLY",
    "Context",
    "Step",
    "ToolCall",
    "count_tokens",
    "extract_facts",
    "follow_up",
    "format_search_results",
    "is_llm_failure",
    "is_slow",
    "memory_insert",
    "memory_replace",
    "parse_memory",
    "parse_search_results",
    "pause_of",
    "plan",
    "tokenize",
]

APPROVAL_TOOLS = frozenset({"send_email"})
"""Tools whose calls wait for the client's approval."""

SLOW_REPLY = (
    "This is a deliberately slow reply, streamed in small pieces so you can "
    "try cancel and resume while it arrives."
)
"""The answer to a text containing ``fail:llm``
    the LLM call fails: stop_reason ``llm_api_error`` + an ``error_message`` event
    (HTTP 500 with ``streaming=false``); nothing is stored.
text containing ``slow`` (20 tokens)."""


@dataclass(frozen=True)
class ToolCall:
    """A tool call the agent wants to make."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One agent step: a thought, then an answer or a tool call."""

    reasoning: str
    text: str | None = None
    tool_call: ToolCall | None = None
    slow: bool = False
    pause: float = 0.0
    """Seconds the LLM call takes before its first token (``pause:N`` in the user text)."""


@dataclass(frozen=True)
class Context:
    """What the agent sees: its conversation and the memory compiled into it."""

    history: Sequence[tuple[str, str]] = ()
    """Earlier ``(role, text)`` pairs of THIS conversation (roles: user, assistant)."""
    memory: Mapping[str, str] = field(default_factory=dict)
    """Block label -> value, as compiled into this conversation's system message."""
    tools: Sequence[str] = ("conversation_search", "memory_insert", "memory_replace", "send_email")
    """Names of the tools the agent has."""
    required_args: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Tool name -> required argument names (filled with ``"stub"`` when missing)."""
    approval_tools: frozenset[str] = APPROVAL_TOOLS
    """Tools whose calls wait for the client's approval."""


_TOKEN_RE = re.compile(r"\S+\s*|\s+")


def tokenize(text: str) -> list[str]:
    """Split text into word-ish tokens (a word and its trailing spaces); joins back to text."""
    return _TOKEN_RE.findall(text or "")


def count_tokens(text: str) -> int:
    """Token count used for usage statistics (same split as :func:`tokenize`)."""
    return len(tokenize(text))


def is_llm_failure(text: str) -> bool:
    """True when the text asks the (stub) LLM to fail: ``fail:llm``."""
    return "fail:llm" in (text or "").lower()


def pause_of(text: str) -> float:
    """The ``pause:N`` the text asks for, in seconds (0 when none; at most 120)."""
    m = re.search(r"\bpause:(\d+(?:\.\d+)?)", text or "", re.I)
    return min(120.0, float(m.group(1))) if m else 0.0


def is_slow(text: str) -> bool:
    """True when the text asks for a slow, paced answer."""
    return "slow" in (text or "").lower()


# --------------------------------------------------------------------------- memory


def parse_memory(system_text: str) -> dict[str, str]:
    """Block label -> value from a compiled system message (``<label>...<value>X</value>``)."""
    out: dict[str, str] = {}
    section = re.search(r"<memory_blocks>(.*)</memory_blocks>", system_text or "", re.S)
    if not section:
        return out
    for m in re.finditer(
        r"<([A-Za-z0-9_/-]+)>\s*<description>.*?<value>\n?(.*?)\n?</value>\s*</\1>",
        section.group(1),
        re.S,
    ):
        out[m.group(1)] = m.group(2)
    return out


def memory_insert(value: str, new_string: str, insert_line: int = -1) -> str:
    """The block value after inserting ``new_string`` as line(s) (``-1``: at the end)."""
    lines = value.split("\n") if value else []
    if insert_line == -1:
        insert_line = len(lines)
    if insert_line < 0 or insert_line > len(lines):
        raise ValueError(
            f"Invalid `insert_line` parameter: {insert_line}. It should be within the range "
            f"of lines of the memory block: {[0, len(lines)]}, or -1 to append to the end "
            "of the memory block."
        )
    return "\n".join(lines[:insert_line] + new_string.split("\n") + lines[insert_line:])


def memory_replace(value: str, old_string: str, new_string: str, label: str = "human") -> str:
    """The block value with ``old_string`` (which must occur exactly once) replaced."""
    n = value.count(old_string)
    if n == 0:
        raise ValueError(
            f"No replacement was performed, old_string `{old_string}` did not appear verbatim "
            f"in memory block with label `{label}`."
        )
    if n > 1:
        lines = [i + 1 for i, line in enumerate(value.split("\n")) if old_string in line]
        raise ValueError(
            f"No replacement was performed. Multiple occurrences of old_string `{old_string}` "
            f"in lines {lines}. Please ensure it is unique."
        )
    return value.replace(old_string, new_string)


def format_search_results(matches: Sequence[tuple[str, str, str, str]]) -> str:
    """The conversation_search tool's result, a Python-repr dict as the real server returns.

    ``matches`` are ``(timestamp, time_ago, role, text)``.
    """
    if not matches:
        return str({"message": "No results found.", "results": []})
    results = [
        {
            "timestamp": d,
            "time_ago": ago,
            "role": r,
            "relevance": {"search_mode": "sql"},
            "content": t,
        }
        for d, ago, r, t in matches
    ]
    return str({"message": f"Showing {len(results)} results:", "results": results})


def parse_search_results(result: str) -> list[dict[str, Any]]:
    """The ``results`` of a conversation_search return (repr or JSON)."""
    try:
        data = ast.literal_eval(result)
    except (ValueError, SyntaxError):
        try:
            data = json.loads(result)
        except ValueError:
            return []
    return list(data.get("results", [])) if isinstance(data, dict) else []


# --------------------------------------------------------------------------- facts

_VALUE = r"([^.,!?;\n]+?)(?=\s+(?:and|but|so|because|which)\b|[.,!?;\n]|$)"
"""A fact's value: up to punctuation or a conjunction."""

_FACT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("name", re.compile(r"\bmy name is ([A-Za-z][\w'-]*(?-i: [A-Z][\w'-]*)?)", re.I)),
    ("name", re.compile(r"\bcall me ([A-Za-z][\w'-]*)", re.I)),
    ("home", re.compile(r"\bI live in " + _VALUE, re.I)),
    ("workplace", re.compile(r"\bI work (?:at|for) " + _VALUE, re.I)),
    ("job", re.compile(r"\bI work as (?:an? )?" + _VALUE, re.I)),
    ("age", re.compile(r"\bI(?: am|'m) (\d{1,3}) years? old", re.I)),
]
_MY_X_IS_Y = re.compile(r"\bmy ((?:favou?rite )?[a-z][a-z ]{1,30}?) is (?!now\b)" + _VALUE, re.I)


def _norm_key(key: str) -> str:
    key = key.lower().strip()
    key = re.sub(r"\bfavorite\b", "favourite", key)
    key = re.sub(r"\bcolor\b", "colour", key)
    return key


def extract_facts(history: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Facts the user stated in these messages (latest statement wins)."""
    facts: dict[str, str] = {}
    for role, text in history:
        if role != "user" or not text or text.lstrip().lower().startswith("call:"):
            continue
        if re.match(r"\s*(?:please\s+)?(?:update your memory|replace)\b", text, re.I):
            continue  # edits of memory, not statements ("remember that my X is Y" is one)
        for m in _MY_X_IS_Y.finditer(text):
            key = _norm_key(m.group(1))
            if key != "name":
                facts[key] = m.group(2).strip()
        for key, pat in _FACT_PATTERNS:
            m = pat.search(text)
            if m:
                facts[key] = m.group(1).strip()
    return facts


def _memory_fact(memory: Mapping[str, str], key: str) -> str | None:
    human = memory.get("human", "")
    probes = {
        "name": r"name is ([A-Z][\w'-]*(?: [A-Z][\w'-]*)?)",
        "home": r"lives? in ([^.,\n]+)",
        "workplace": r"works? (?:at|for) ([^.,\n]+)",
        "job": r"works? as (?:an? )?([^.,\n]+)",
        "age": r"(\d{1,3}) years? old",
    }
    pat = probes.get(key) or rf"{_spellings(key)} is ([^.,\n]+)"
    m = re.search(pat, human, re.I)
    return m.group(1).strip() if m else None


def _spellings(key: str) -> str:
    """A pattern for ``key`` in British or American spelling (favourite colour / favorite color)."""
    pattern = re.escape(key)
    pattern = re.sub(r"favourite", "favou?rite", pattern)
    return re.sub(r"colour", "colou?r", pattern)


_QUESTIONS: list[tuple[str, re.Pattern[str], str]] = [
    (
        "name",
        re.compile(r"\b(?:what(?:'s| is) my name|who am i|do you know my name)\b", re.I),
        "Your name is {v}.",
    ),
    ("home", re.compile(r"\bwhere do i live\b", re.I), "You live in {v}."),
    ("workplace", re.compile(r"\bwhere do i work\b", re.I), "You work at {v}."),
    (
        "job",
        re.compile(r"\bwhat(?:'s| is) my job\b|\bwhat do i do for a living\b", re.I),
        "You work as {v}.",
    ),
    ("age", re.compile(r"\bhow old am i\b", re.I), "You are {v} years old."),
]
_WHAT_IS_MY = re.compile(r"\bwhat(?:'s| is| are) my ([a-z][a-z ]{1,30}?)\s*\??$", re.I)
_KEY_WORDS = {
    "name": "name",
    "home": "home town",
    "workplace": "workplace",
    "job": "job",
    "age": "age",
}


# --------------------------------------------------------------------------- helpers


def _third_person(text: str) -> str:
    """'I love tea and my cat' -> 'The human loves tea and their cat'."""
    t = text.strip().rstrip(".!")
    irregular = {"am": "is", "have": "has", "do": "does", "go": "goes", "'m": " is"}

    def verb(m: re.Match[str]) -> str:
        v = m.group(1)
        low = v.lower()
        if low in irregular:
            return "The human " + irregular[low]
        if re.search(r"(s|sh|ch|x|z|o)$", low):
            return f"The human {v}es"
        if re.search(r"[^aeiou]y$", low):
            return f"The human {v[:-1]}ies"
        return f"The human {v}s"

    t = re.sub(r"^I'm\b", "The human is", t)
    t = re.sub(r"^I (\w+)", verb, t)
    t = re.sub(r"^[Mm]y\b", "The human's", t)
    t = re.sub(r"\bmy\b", "their", t)
    t = re.sub(r"\bme\b", "them", t)
    t = re.sub(r"\bI\b", "they", t)
    return t[:1].upper() + t[1:] + "."


def _second_person(text: str) -> str:
    t = text.strip().rstrip(".!")
    t = re.sub(r"^I'm\b", "you're", t)
    t = re.sub(r"\bI am\b", "you are", t)
    t = re.sub(r"\bI\b", "you", t)
    t = re.sub(r"\bmy\b", "your", t, flags=re.I)
    t = re.sub(r"\bme\b", "you", t)
    return t


def _fill(ctx: Context, name: str, args: dict[str, Any]) -> dict[str, Any]:
    out = {k: "stub" for k in ctx.required_args.get(name, ())}
    out.update(args)
    return out


def _block_with(memory: Mapping[str, str], needle: str) -> str | None:
    for label, value in memory.items():
        if needle and needle in value:
            return label
    return None


# --------------------------------------------------------------------------- planning


def plan(ctx: Context, user_text: str) -> Step:
    """The first step of the agent's answer to ``user_text``."""
    step = _plan(ctx, user_text)
    pause = pause_of(user_text)
    return replace(step, pause=pause) if pause else step


def _plan(ctx: Context, user_text: str) -> Step:
    text = (user_text or "").strip()
    low = text.lower()

    m = re.search(r"call:([A-Za-z0-9_]+)\s*(\{.*\})?", text, re.S)
    if m and m.group(1) in ctx.tools:
        try:
            overrides = json.loads(m.group(2)) if m.group(2) else {}
        except ValueError:
            overrides = {}
        if not isinstance(overrides, dict):
            overrides = {}
        name = m.group(1)
        return Step(
            reasoning=f"The user asked me to call {name} directly; doing that.",
            tool_call=ToolCall(name, _fill(ctx, name, overrides)),
        )

    m = re.match(
        r"(?:please\s+|can you\s+|could you\s+)?remember(?:\s+that)?\s*[:,]?\s+(.+)",
        text,
        re.I | re.S,
    )
    if m and "memory_insert" in ctx.tools:
        fact = _third_person(m.group(1))
        return Step(
            reasoning="The user wants me to remember something; I'll add it to my memory.",
            tool_call=ToolCall("memory_insert", {"label": "human", "new_string": fact}),
        )

    m = re.search(r"update your memory\s*[:,]?\s*(.+?)\s+(?:is|are) now\s+(.+?)[.!]?$", text, re.I)
    if m and "memory_replace" in ctx.tools:
        subject, new_value = m.group(1).strip(), m.group(2).strip()
        new_sentence = _third_person(f"{subject} is {new_value}")
        words = [w for w in re.findall(r"[a-z]+", subject.lower()) if w not in {"my", "the", "i"}]
        for label, value in ctx.memory.items():
            for sentence in re.findall(r"[^.\n]*[.\n]?", value):
                s = sentence.strip()
                if s and words and all(w in s.lower() for w in words) and value.count(s) == 1:
                    return Step(
                        reasoning=f"The user says {_second_person(subject)} changed; "
                        f"I'll replace the old fact in my {label} block.",
                        tool_call=ToolCall(
                            "memory_replace",
                            {"label": label, "old_string": s, "new_string": new_sentence},
                        ),
                    )
        return Step(
            reasoning="My memory has nothing about that yet; I'll insert it as a new fact.",
            tool_call=ToolCall("memory_insert", {"label": "human", "new_string": new_sentence}),
        )

    m = re.search(
        r"replace\s+[\"']?(.+?)[\"']?\s+with\s+[\"']?(.+?)[\"']?\s+in\s+(?:your\s+)?memory",
        text,
        re.I,
    )
    if m and "memory_replace" in ctx.tools:
        old, new = m.group(1), m.group(2)
        label = _block_with(ctx.memory, old) or "human"
        return Step(
            reasoning=f"The user wants '{old}' replaced with '{new}' in my {label} memory block.",
            tool_call=ToolCall(
                "memory_replace", {"label": label, "old_string": old, "new_string": new}
            ),
        )

    m = re.match(
        r"(?:please\s+)?search(?:\s+(?:the|our)\s+conversation)?(?:\s+for)?(?:\s+messages\s+about)?"
        r"\s*[:,]?\s+(.+?)[.?!]?$",
        text,
        re.I,
    )
    if m and "conversation_search" in ctx.tools:
        query = m.group(1).strip().strip("\"'")
        return Step(
            reasoning=f"I'll search this conversation's history for '{query}'.",
            tool_call=ToolCall("conversation_search", {"query": query}),
        )

    m = re.search(
        r"send (?:an? )?(?:e-?mail|message) to\s+([^\s,]+)"
        r"(?:\s+(?:about|saying|that|with subject)\s+(.+?))?[.!]?$",
        text,
        re.I,
    )
    if m and "send_email" in ctx.tools:
        to = m.group(1).rstrip(".")
        subject = (m.group(2) or "Hello").strip()
        body = f"Hi,\n\n{subject[:1].upper() + subject[1:]}.\n\nBest regards"
        return Step(
            reasoning=f"The user wants an email sent to {to}. Sending email needs their approval.",
            tool_call=ToolCall("send_email", {"to": to, "subject": subject, "body": body}),
        )

    return _answer(ctx, text, low)


def _answer(ctx: Context, text: str, low: str) -> Step:
    facts = extract_facts(ctx.history)

    if is_slow(text):
        return Step(
            reasoning="The user wants a slow answer; I'll take my time.", text=SLOW_REPLY, slow=True
        )

    if re.search(
        r"\bwhat do you (?:remember|know) about me\b|\bwhat(?:'s| is) in your memory\b", low
    ):
        return Step(
            reasoning="The user asks what I remember; I'll read my human memory block and "
            "what they told me here (what they said here wins).",
            text=_what_i_remember(ctx.memory.get("human", ""), facts),
        )

    for key, pat, template in _QUESTIONS:
        if pat.search(text):
            return _fact_answer(ctx, facts, key, template)
    m = _WHAT_IS_MY.search(text)
    if m:
        key = _norm_key(m.group(1))
        return _fact_answer(ctx, facts, key, "Your " + key + " is {v}.")

    stated = extract_facts([("user", text)])
    if stated:
        replies = []
        for key, value in stated.items():
            replies.append(
                {
                    "name": f"Nice to meet you, {value}!",
                    "home": f"{value} — lovely, I'll keep that in mind.",
                    "workplace": f"Working at {value} sounds interesting!",
                    "job": f"Being {value} sounds interesting!",
                    "age": f"Got it, you are {value}.",
                }.get(key, f"Noted: your {key} is {value}.")
            )
        words = " and ".join(_KEY_WORDS.get(k, k) for k in stated)
        return Step(
            reasoning=f"The user told me their {words}; I'll acknowledge it.",
            text=" ".join(replies),
        )

    if re.search(r"\bwhat (?:can|could) you do\b|\bwhat are you able to do\b|\bhelp me\b", low):
        name = facts.get("name") or _memory_fact(ctx.memory, "name")
        hello = f"Hello, {name}! " if name else "Hello! "
        greeted = re.match(r"(?:hi|hello|hey)\b", low) is not None
        return Step(
            reasoning="The user asks what I can do; I'll list my abilities with examples.",
            text=(hello if greeted else "") + _CAPABILITIES,
        )

    if re.match(r"(?:hi|hello|hey|good (?:morning|afternoon|evening))\b", low):
        name = facts.get("name") or _memory_fact(ctx.memory, "name")
        greet = f"Hello, {name}!" if name else "Hello!"
        return Step(
            reasoning="The user greeted me; I'll greet them back.",
            text=f"{greet} How can I help you today?",
        )

    return Step(
        reasoning="Nothing to look up or remember here; I'll reply directly.",
        text=f'You said: "{text}". I can remember facts you tell me, search this conversation, '
        "or update my memory.",
    )


def _what_i_remember(human: str, facts: Mapping[str, str]) -> str:
    """The memory block and this conversation's facts as one account: a fact the user
    stated here replaces what the (older) memory says about the same thing."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", human or "") if s.strip()]
    corrected: list[str] = []
    for key, value in facts.items():
        old = _memory_fact({"human": human}, key)
        if old and old.lower() != value.lower():
            corrected.append(f"your {_KEY_WORDS.get(key, key)} is {value} (my memory said {old})")
            sentences = [s for s in sentences if old not in s]
    new = [
        f"your {_KEY_WORDS.get(k, k)} is {v}"
        for k, v in facts.items()
        if not _memory_fact({"human": human}, k)
    ]
    parts = [f"My memory about you says: {' '.join(sentences)}"] if sentences else []
    if not parts and not facts:
        return "My memory about you is empty."
    told = corrected + new
    if told:
        parts.append(f"In this conversation you told me: {'; '.join(told)}.")
    return " ".join(parts)


_CAPABILITIES = (
    'I can remember facts about you ("remember that I like tea"), answer from my memory and '
    'this conversation ("what is my name?"), update my memory ("update your memory: my '
    'city is now Rome"), search our conversation ("search for tea"), and draft an email '
    'for you to approve ("send an email to bob@example.com about the report").'
)


def _fact_answer(ctx: Context, facts: Mapping[str, str], key: str, template: str) -> Step:
    word = _KEY_WORDS.get(key, key)
    if key in facts:
        return Step(
            reasoning=f"The user told me their {word} earlier in this conversation.",
            text=template.format(v=facts[key]),
        )
    from_memory = _memory_fact(ctx.memory, key)
    if from_memory:
        return Step(
            reasoning=f"This conversation doesn't mention their {word}, but my memory does.",
            text="According to my memory, "
            + template.format(v=from_memory)[0].lower()
            + template.format(v=from_memory)[1:],
        )
    return Step(
        reasoning=f"I don't know the user's {word}; I should say so.",
        text=f"I don't know your {word} yet — you haven't told me in this conversation.",
    )


def follow_up(ctx: Context, user_text: str, call: ToolCall, result: str, status: str) -> Step:
    """The closing step after ``call`` returned ``result`` with ``status`` (success|error)."""
    if re.search(r"call:[A-Za-z0-9_]+", user_text or ""):
        prefix = result[:80].replace("\n", " ")
        return Step(reasoning="The tool returned; I'll report the result.", text=f"Done: {prefix}")
    args = call.arguments
    if status != "success":
        if call.name == "send_email":
            return Step(
                reasoning="The user denied the email; I must not send it.",
                text=f"Understood — I did not send the email to {args.get('to')}. {result}",
            )
        return Step(
            reasoning="The tool failed; I'll explain what went wrong.",
            text=f"I couldn't do that: {result}",
        )
    if call.name == "memory_insert":
        return Step(
            reasoning="The memory update succeeded; I'll confirm.",
            text=f"Got it — I'll remember that. I saved to my {args.get('label')} memory: "
            f"{args.get('new_string')}",
        )
    if call.name == "memory_replace":
        return Step(
            reasoning="The memory update succeeded; I'll confirm.",
            text=f"Done — I updated my {args.get('label')} memory: "
            f'"{args.get("old_string")}" is now "{args.get("new_string")}".',
        )
    if call.name == "conversation_search":
        found = parse_search_results(result)
        if not found:
            return Step(
                reasoning="The search found nothing.",
                text=f'I found no earlier messages about "{args.get("query")}".',
            )
        quotes = "; ".join(f'{r.get("role")}: "{str(r.get("content"))[:80]}"' for r in found[:3])
        return Step(
            reasoning="The search found matches; I'll quote the most relevant ones.",
            text=f'I found {len(found)} earlier message(s) about "{args.get("query")}": {quotes}',
        )
    if call.name == "send_email":
        return Step(
            reasoning="The email went out; I'll confirm.",
            text=f"The email to {args.get('to')} has been sent.",
        )
    return Step(reasoning="The tool returned; I'll report the result.", text=f"Done: {result[:80]}")
