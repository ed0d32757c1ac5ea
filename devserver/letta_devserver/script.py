"""The devserver's scripted agent: a deterministic "brain" with no I/O.

Given one conversation's earlier messages, the memory compiled into that conversation's
system message and the new user text, :func:`plan` returns the next step (a thought plus
either an answer or a tool call); after a tool ran, :func:`follow_up` returns the closing
step. The server (``runs.py``) executes the tool calls and streams the steps. The stub LLM of
the real-server tier (``tests/real/stub_llm.py``) imports this module (``letta_devserver.script``)
and uses ``Context``, ``Step``, ``ToolCall``, ``plan``, ``follow_up`` and ``parse_memory``: keep
it standard-library only (with :mod:`.facts`, what it understands people to say) and keep that
API stable. The package README documents the grammar with examples.

Grammar (first match wins; case-insensitive):

``call:<tool> {json}``
    Call ``<tool>`` (if the agent has it) with the JSON object as arguments, as the
    real-letta stub LLM does; the closing answer is ``Done: <result prefix>``.
``update your memory: A is now B``
    ``memory_replace`` of the sentence about A in the block that mentions it
    (``memory_insert`` when no block mentions it).
``remember that X`` / ``please remember X`` / ``update your core memory to note that X`` /
``save to your memory that X``
    ``memory_insert``: into ``human`` (in the third person) when X is about the user ("I …",
    "my …"), else into the first of ``project``, ``notes``, ``facts``, ``world``,
    ``knowledge``, ``persona`` the agent has ("The project deadline is Friday.").
``replace A with B in memory``
    ``memory_replace(label=<block containing A, else human>, old_string=A, new_string=B)``.
``search X`` / ``search for X`` / ``search the conversation for X``
    ``conversation_search(query=X)``; the answer quotes the matches.
``send an email to ADDRESS [about|saying SUBJECT]``
    ``send_email(to, subject, body)``: needs approval; the run stops with
    ``requires_approval`` until the client approves or denies it.
statements (:mod:`.facts`): ``my name is X``, ``I'm X``, ``I love Y``, ``my X is called Y``,
``my X is Y``, ``the X is Y``, ``note that …`` (several per message, joined by "and")
    acknowledged; recalled in this conversation only (a fork carries them: it carries the
    history). British and American spellings are one key.
questions: ``what is my X``, ``what's my name and favorite food``, ``what is my dog called``,
``who am I``, ``where do I live``, ``what is the X``, ``when is the X``, ``what did I say about X``
    answered from this conversation's statements (latest wins), else from the compiled
    memory ("According to my memory, …"), else "I don't know … yet".
``… according to your memory`` / ``… in your memory``
    answered from the compiled memory only (and this conversation's own memory edits); a
    conversation compiled before another one edited the blocks says so until a recompile.
``what do you remember about me?`` / ``what is in your memory?``
    the ``human`` block (with this conversation's own edits), a fact restated here replacing
    what the block says about the same thing.
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
    one of a few helpful replies (chosen by a stable hash of the text), never an echo.

Every step starts with a short reasoning (the server sends it as a
``reasoning_message`` before the tool call or answer).
"""

from __future__ import annotations

import ast
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import facts

__all__ = [
    "APPROVAL_TOOLS",
    "SLOW_REPLY",
    "Context",
    "Step",
    "ToolCall",
    "count_tokens",
    "extract_facts",
    "fact_sentence",
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


def extract_facts(history: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Facts the user stated in these messages (latest statement wins; see :mod:`.facts`)."""
    return facts.facts_in(history)


def fact_sentence(key: str, value: str) -> str:
    """A fact as the user would state it (a compaction summary keeps facts this way)."""
    return facts.sentence(key, value)


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

    m = _MEMORY_REQUEST.match(text)
    if m and "memory_insert" in ctx.tools:
        label, line = _memory_line(ctx, m.group(1))
        where = "about the user" if label == "human" else "not about the user"
        return Step(
            reasoning=f"The user wants me to remember something {where}; I'll add it to my "
            f"{label} memory block.",
            tool_call=ToolCall("memory_insert", {"label": label, "new_string": line}),
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


_MEMORY_REQUEST = re.compile(
    r"\s*(?:(?:please|can you|could you)\s+)?"
    r"(?:update (?:your )?(?:core )?memory (?:to (?:note|say|record|remember)|with)"
    r"|(?:save|add|write|note) (?:it )?(?:to|in|into) (?:your )?(?:core )?memory"
    r"|remember)(?:\s+that)?\s*[:,]?\s+(.+)",
    re.I | re.S,
)
"""A request to write to memory: "remember that …", "please remember …", "update your core
memory to note that …", "save to your memory that …"."""
_ACCORDING = re.compile(
    r"\baccording to (?:your|my) memory\b|\bin your (?:core )?memory\b|\bfrom (?:your )?memory\b"
    r"|\bwhat does your memory say about\b",
    re.I,
)
_WORLD_BLOCKS = ("project", "projects", "notes", "facts", "world", "knowledge", "persona")
"""Where a fact that is not about the user goes: the first of these the agent has."""


def _memory_line(ctx: Context, said: str) -> tuple[str, str]:
    """(block label, the line to insert) for something the user asked me to remember."""
    said = said.strip().rstrip(".!")
    if facts.about_user(said) or not ctx.memory:
        return "human", _third_person(said)
    label = next((b for b in _WORLD_BLOCKS if b in ctx.memory), "human")
    return label, said[:1].upper() + said[1:] + "."


def _own_lines(history: Sequence[tuple[str, str]], label: str = r"[\w/-]+") -> list[str]:
    """Memory lines this conversation's own tool calls wrote (it sees its calls, as on the
    real server: the edits are in its history, not in its compiled system message)."""
    return [
        m.group(1)
        for role, t in history
        if role == "assistant"
        for m in re.finditer(rf"I saved to my {label} memory: (.+)$", t or "", re.M)
    ]


def _own_edits(history: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The facts in :func:`_own_lines`."""
    lines = "\n".join(_own_lines(history))
    return facts.memory_facts({"human": lines, "notes": lines})


def _answer(ctx: Context, text: str, low: str) -> Step:
    said = extract_facts(ctx.history)

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
            text=_what_i_remember(
                "\n".join([ctx.memory.get("human", ""), *_own_lines(ctx.history, "human")]), said
            ),
        )

    asked = facts.asked_keys(text)
    if asked is not None:
        kind, keys = asked
        if kind == "about":
            return _said_about(ctx, keys[0], said)
        if _ACCORDING.search(text):
            return _from_memory(ctx, keys)
        return _fact_answer(ctx, said, keys)

    stated = facts.statement_of(text)
    if stated:
        return _acknowledge(stated)

    if re.search(r"\bwhat (?:can|could) you do\b|\bwhat are you able to do\b|\bhelp me\b", low):
        name = said.get("name") or facts.memory_facts(ctx.memory).get("name")
        hello = f"Hello, {name}! " if name else "Hello! "
        greeted = re.match(r"(?:hi|hello|hey)\b", low) is not None
        return Step(
            reasoning="The user asks what I can do; I'll list my abilities with examples.",
            text=(hello if greeted else "") + _CAPABILITIES,
        )

    if re.match(r"(?:hi|hello|hey|good (?:morning|afternoon|evening))\b", low):
        name = said.get("name") or facts.memory_facts(ctx.memory).get("name")
        greet = f"Hello, {name}!" if name else "Hello!"
        return Step(
            reasoning="The user greeted me; I'll greet them back.",
            text=f"{greet} How can I help you today?",
        )

    reasoning, reply = _OPEN_REPLIES[zlib.crc32(low.encode()) % len(_OPEN_REPLIES)]
    return Step(reasoning=reasoning, text=reply)


_OPEN_REPLIES = (
    (
        "Nothing here to remember or look up; I'll say what I can do.",
        'I can keep facts you tell me ("my name is …", "the deadline is …"), answer questions '
        'about them, update my memory ("remember that …") and search our conversation.',
    ),
    (
        "The user shared something without a fact or a question I can answer; I'll ask.",
        "Tell me more. If it's something I should keep, say \"remember that …\" and I'll save "
        "it to my memory.",
    ),
    (
        "No question or fact I recognise; I'll offer what I can help with.",
        "I see. Would you like me to remember something, look something up in our "
        "conversation, or update my memory?",
    ),
    (
        "This doesn't ask me anything I can look up; I'll answer briefly and offer help.",
        'Understood. Ask me "what can you do?" for examples of what I can help with.',
    ),
)
"""Replies to text the grammar does not cover (picked by a stable hash of the text)."""


def _acknowledge(stated: Mapping[str, str]) -> Step:
    replies = []
    for key, value in stated.items():
        if key == "favourite food" and "likes" in stated:
            continue
        replies.append(
            {
                "name": f"Nice to meet you, {value}!",
                "home": f"{value} — lovely, I'll keep that in mind.",
                "workplace": f"Working at {value} sounds interesting!",
                "job": f"Being {value} sounds interesting!",
                "age": f"Got it, you are {value}.",
                "likes": f"Good to know that you love {value}.",
            }.get(key, f"Noted: {facts.phrase(key, value)}.")
        )
    told = " and ".join(_word(k) for k in stated if k != "favourite food" or "likes" not in stated)
    return Step(
        reasoning=f"The user told me {told}; I'll acknowledge it.",
        text=" ".join(replies),
    )


def _word(key: str) -> str:
    """How reasoning names a fact's key (``their name``, ``the project deadline``)."""
    words = {"home": "their home town", "self": "what they are", "likes": "what they love"}
    if key in words:
        return words[key]
    if key.startswith("the "):
        return key
    if key.endswith(" name"):
        return f"their {key[: -len(' name')]}'s name"
    return f"their {key}"


def _join(clauses: Sequence[str]) -> str:
    text = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    return text[:1].upper() + text[1:] + "."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _fact_answer(ctx: Context, said: Mapping[str, str], keys: Sequence[str]) -> Step:
    """Answer from this conversation's statements, else from the compiled memory."""
    memory = facts.memory_facts(ctx.memory)
    here, remembered, unknown = [], [], []
    for key in keys:
        value = facts.lookup(key, said)
        if value is not None:
            here.append(facts.phrase(key if key in said else f"{key} name", value))
            continue
        value = facts.lookup(key, memory)
        if value is not None:
            remembered.append(facts.phrase(key if key in memory else f"{key} name", value))
        else:
            unknown.append(key)
    parts = []
    if here:
        parts.append(_join(here))
    if remembered:
        parts.append("According to my memory, " + _lower_first(_join(remembered)))
    if unknown:
        parts.append(_unknown(unknown))
    sources = []
    if here:
        sources.append("they told me in this conversation")
    if remembered:
        sources.append("my memory has")
    reasoning = (
        f"The user asks about {', '.join(_word(k) for k in keys)}: "
        + ("; ".join(sources) if sources else "I don't know it")
        + "."
    )
    return Step(reasoning=reasoning, text=" ".join(parts))


def _unknown(keys: Sequence[str]) -> str:
    what = " or ".join(
        k
        if k.startswith("the ")
        else f"your {k[: -len(' name')]}'s name"
        if k.endswith(" name")
        else f"your {_word(k).removeprefix('their ')}"
        for k in keys
    )
    return f"I don't know {what} yet — you haven't told me."


def _from_memory(ctx: Context, keys: Sequence[str]) -> Step:
    """Answer from the memory compiled into this conversation (and its own edits) only."""
    memory = {**facts.memory_facts(ctx.memory), **_own_edits(ctx.history)}
    found = [(k, facts.lookup(k, memory)) for k in keys]
    known = [facts.phrase(k if k in memory else f"{k} name", v) for k, v in found if v]
    missing = [k for k, v in found if not v]
    parts = []
    if known:
        parts.append("According to my memory, " + _lower_first(_join(known)))
    if missing:
        what = ", ".join(k if k.startswith("the ") else f"your {k}" for k in missing)
        parts.append(
            f"My memory has nothing about {what}. (If it was saved in another conversation, "
            "this one sees it after a recompile.)"
        )
    return Step(
        reasoning="The user asks what my memory says, so I'll answer from my memory blocks "
        "only, not from this conversation.",
        text=" ".join(parts),
    )


def _said_about(ctx: Context, topic: str, said: Mapping[str, str]) -> Step:
    found = facts.about(topic, ctx.history, said)
    if not found:
        return Step(
            reasoning=f"The user asks what they said about {topic}; nothing here mentions it.",
            text=f"You haven't said anything about {topic} in this conversation.",
        )
    return Step(
        reasoning=f"The user asks what they said about {topic}; I'll quote it.",
        text=f"About {topic}, you told me: " + "; ".join(found) + ".",
    )


def _what_i_remember(human: str, said: Mapping[str, str]) -> str:
    """The memory block and this conversation's facts as one account: a fact the user
    stated here replaces what the (older) memory says about the same thing."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", human or "") if s.strip()]
    memory = facts.memory_facts({"human": human})
    corrected: list[str] = []
    for key, value in said.items():
        old = memory.get(key)
        if old and old.lower() != value.lower():
            corrected.append(f"{facts.phrase(key, value)} (my memory said {old})")
            sentences = [s for s in sentences if old not in s]
    new = [
        facts.phrase(k, v)
        for k, v in said.items()
        if k not in memory and not (k == "favourite food" and said.get("likes") == v)
    ]
    parts = [f"My memory about you says: {' '.join(sentences)}"] if sentences else []
    if not parts and not said:
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
