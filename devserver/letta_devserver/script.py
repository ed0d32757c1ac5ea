"""The devserver's scripted agent: a deterministic "brain" with no I/O.

Given one conversation's earlier messages, the memory compiled into that conversation's
system message and the new user text, :func:`plan` returns the next step (a thought plus
either an answer or a tool call); after a tool ran, :func:`follow_up` returns the closing
step. The server (``runs.py``) executes the tool calls and streams the steps. The stub LLM of
the real-server tier (``tests/real/stub_llm.py``) imports this module (``letta_devserver.script``)
and uses ``Context``, ``Step``, ``ToolCall``, ``plan``, ``follow_up`` and ``parse_memory``: keep
it standard-library only (with :mod:`.facts`, what it understands people to say) and keep that
API stable. The package README documents the grammar with examples.

Grammar (first match wins; case-insensitive; the judge's rule comes first). "Memory" below
is the memory as this conversation knows it: the blocks compiled into its system message,
with the edits its own tool calls made applied (the real server does not recompile the
writing conversation; its history holds the calls). Other conversations see an edit when
created after it, or after ``conversations.recompile``.

a judge's question: text holding ``<answer_a>…</answer_a>`` and ``<answer_b>…</answer_b>``
    the answer with more words wins (equal counts: a tie), answered as two lines,
    ``WINNER: A|B|tie`` and ``RATIONALE: Answer A has N words, answer B has M …`` (the
    format letta-widgets' ``LettaJudge`` asks for). The rule sees only the answers, never
    their order, so it is never position-biased.
``call:<tool> {json}``
    Call ``<tool>`` (if the agent has it) with the JSON object as arguments, as the
    real-letta stub LLM does; the closing answer is ``Done: <result prefix>``.
``update your memory: A is now B``
    ``memory_replace`` of the sentence about A in the block that mentions it
    (``memory_insert`` when no block mentions it).
``remember that X`` / ``please remember X`` / ``update your core memory to note that X`` /
``update your memory: X`` / ``save|add|note|store … (to|in) your memory (that) X``
    a write, to one block: about the user (X has "I", "my", "me"): ``human``, in the third
    person ("The human loves hiking."); otherwise a block named after a word of X ("the
    refund policy …" → ``policies``), else the first of ``project``, ``projects``, ``notes``,
    ``facts``, ``world``, ``knowledge``, ``persona`` the agent has ("The project deadline is
    Friday."). When X states one fact the block already has a sentence about ("The human's
    name is Ada." and "remember that my name is Grace"), ``memory_replace`` of that sentence;
    when the block already says exactly X, no call; else ``memory_insert``.
``replace A with B in memory``
    ``memory_replace(label=<block containing A, else human>, old_string=A, new_string=B)``.
``search X`` / ``search for X`` / ``search the conversation for X``
    ``conversation_search(query=X)``; the answer quotes the matches.
``send an email to ADDRESS [about|saying SUBJECT]``
    ``send_email(to, subject, body)``: needs approval; the run stops with
    ``requires_approval`` until the client approves or denies it.
``what do you remember about me?`` / ``what is in your memory?``
    the ``human`` block, with the facts stated in this conversation replacing what the block
    says about the same thing ("your name is Alice (my memory said Ada)").
questions (several per message: ``what is my name and where do I live?``,
``what's my name, age and job?``, ``what's my name and favorite food?``)
    ``what is|what's my X`` · ``what is my dog called`` · ``what is my dog's name`` ·
    ``who am I`` (name, and what they are) · ``where do I live|work`` · ``where am I from`` ·
    ``how old am I`` · ``what do I do`` · ``what do I like|love`` · ``what|when is the X``
    (``the deadline`` finds ``the project deadline``) · ``what did I say about X``:
    answered from this conversation's statements (latest wins; a fork carries them), else
    from memory ("According to my memory, your name is Ada."), else "I don't know your
    dog's name yet — you haven't told me."
``… according to your memory`` / ``… in your memory`` / ``what does your memory say about X``
    answered from memory only, never from what was said: "According to my memory, the
    project deadline is Friday.", or "My memory has nothing about the project deadline. (If
    it was saved in another conversation, this one sees it after a recompile.)"
statements (:mod:`.facts`; several per message, joined by "and" or commas)
    ``my name is X`` · ``call me X`` · ``I'm Alice`` (a capitalised name; not "I'm tired")
    · ``I'm 34`` · ``I'm a data scientist`` · ``I live in X`` · ``I'm from X`` ·
    ``I work at|for X`` · ``I work as X`` · ``I love|like|enjoy X`` (a food is also the
    ``favourite food``) · ``my X is called Y`` · ``my X is Y`` · ``the|our X is Y`` ·
    ``note that …``: acknowledged ("Nice to meet you, Alice! Good to know that you love
    pizza."); known in this conversation only. British and American spellings are one key
    (favourite colour = favorite color).
``what can you do?`` (also after a greeting)
    what the agent can do, with an example prompt for each.
``hi`` / ``hello`` / ``hey``
    a greeting (using the name, when known).
``thanks`` · ``bye`` · ``how are you`` · ``ok`` · ``are you still there?`` · ``I'm tired``
    a short polite reply.
text containing ``fail:llm``
    the LLM call fails: stop_reason ``llm_api_error`` + an ``error_message`` event
    (HTTP 500 with ``streaming=false``); nothing is stored.
text containing ``slow``
    a 20-token answer the server streams with a delay per token (cancel/resume tests).
text containing ``pause:N``
    the LLM call takes N more seconds (at most 120) before the step's first token
    (keepalive pings); the rest of the text is answered as usual.
images attached (``plan(…, images=…)``: :func:`letta_devserver.images.seen` of the message)
    acknowledged first: "I see 1 image (PNG, 640×480)." (the kind from the bytes; the size
    of a PNG or GIF), then the text is answered as usual; with no text, or a question about
    the image ("what is this?", "describe it", "what do you see?"), the agent says it reads
    only an image's format and size, not what it shows.
``what is X`` (X unknown: ``what is a monad?``)
    "I don't have anything about a monad in this conversation or in my memory — …".
anything else
    one of four replies, picked by a stable hash of the text (no randomness), naming its
    topic when there is one ("Tell me more about the sea? …") and saying what the agent can
    do; never the text itself.

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
from .images import Seen

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
    "seen_images",
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


def plan(ctx: Context, user_text: str, images: Sequence[Seen] = ()) -> Step:
    """The first step of the agent's answer to ``user_text`` and the ``images`` attached."""
    if images and _ABOUT_IMAGES.fullmatch(user_text.strip()):
        step = Step(
            reasoning="The user attached images; I can read their format and size only.",
            text=f"{seen_images(images)} I'm a scripted agent: I can tell an image's format and "
            "size, not what it shows.",
        )
    else:
        step = _plan(ctx, user_text)
        if images and step.text is not None:
            step = replace(step, text=f"{seen_images(images)} {step.text}")
        elif images:
            step = replace(step, reasoning=f"{seen_images(images)} {step.reasoning}")
    pause = pause_of(user_text)
    return replace(step, pause=pause) if pause else step


_ABOUT_IMAGES = re.compile(
    r"""(?:(?:please\s+)?(?:
        what(?:'s|\s+is|\s+are)\s+(?:this|that|these|it|in\s+(?:this|the|these)\s+
            (?:image|picture|photo|screenshot)s?)
      | describe\s+(?:this|it|these|them|the\s+(?:image|picture|photo)s?)
      | what\s+do\s+you\s+see | look(?:\s+at\s+(?:this|these|it))? | see\s+(?:this|these)
      | (?:an?\s+)?(?:image|picture|photo)s?
    )\s*[?.!]*)?""",
    re.I | re.X,
)
"""A message that is only about its attached images (or empty)."""


def seen_images(images: Sequence[Seen]) -> str:
    """What the agent says it sees: "I see 2 images (PNG, 640×480; JPEG)."."""
    shown = []
    for image in images:
        if image.kind is None:
            shown.append("one I cannot read")
        elif image.width is not None:
            shown.append(f"{image.kind}, {image.width}×{image.height}")
        else:
            shown.append(image.kind)
    count = len(images)
    return f"I see {count} image{'' if count == 1 else 's'} ({'; '.join(shown)})."


def _plan(ctx: Context, user_text: str) -> Step:
    text = (user_text or "").strip()
    low = text.lower()

    judged = _judge_verdict(text)
    if judged is not None:
        return Step(reasoning="A judge's question: I compare the two answers.", text=judged)

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
        for label, value in _memory_now(ctx).items():
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
        return _memory_write(ctx, m.group(1))

    m = re.search(
        r"replace\s+[\"']?(.+?)[\"']?\s+with\s+[\"']?(.+?)[\"']?\s+in\s+(?:your\s+)?memory",
        text,
        re.I,
    )
    if m and "memory_replace" in ctx.tools:
        old, new = m.group(1), m.group(2)
        label = _block_with(_memory_now(ctx), old) or "human"
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


_ANSWER = re.compile(r"<answer_([ab])>\s*(.*?)\s*</answer_\1>", re.I | re.S)


def _judge_verdict(text: str) -> str | None:
    """The scripted judge's reply to a question holding two tagged answers (else ``None``)."""
    answers = {m.group(1).lower(): m.group(2) for m in _ANSWER.finditer(text)}
    if set(answers) != {"a", "b"}:
        return None
    na, nb = (len(re.findall(r"\w+", answers[k])) for k in ("a", "b"))
    winner = "A" if na > nb else "B" if nb > na else "tie"
    why = "the longer answer wins" if winner != "tie" else "equal lengths are a tie"
    return f"WINNER: {winner}\nRATIONALE: Answer A has {na} words, answer B has {nb}: {why}."


_MEMORY_REQUEST = re.compile(
    r"\s*(?:(?:please|can you|could you|would you)\s+)?(?:please\s+)?"
    r"(?:update (?:your )?(?:core )?memory(?:\s+(?:to (?:note|say|record|remember|reflect)|with))?"
    r"|(?:save|add|write|note|store|put|keep) (?:this |that |it )?(?:to|in|into) (?:your )?"
    r"(?:core )?memory"
    r"|remember)(?:\s+that)?\s*[:,]?\s+(.+)",
    re.I | re.S,
)
"""A request to write to memory: "remember that …", "please remember …", "update your core
memory to note that …", "update your memory: …", "save to your memory that …"."""
_ACCORDING = re.compile(
    r"\b(?:according to|based on) (?:your|my) (?:core )?memory\b|\bin your (?:core )?memory\b"
    r"|\bfrom (?:your )?memory\b|\bwhat does your memory say about\b",
    re.I,
)
"""A question to answer from the compiled memory only."""
_MEMORY_TOPIC = re.compile(
    r"\b(?:what does your memory say|what do you have in (?:your )?memory"
    r"|what(?:'s| is) in your memory) about (.+?)\s*\??$",
    re.I,
)
_WORLD_BLOCKS = ("project", "projects", "notes", "facts", "world", "knowledge", "persona")
"""Where a fact that is not about the user goes, when no block is named after its subject:
the first of these the agent has."""


def _memory_now(ctx: Context) -> dict[str, str]:
    """The memory as this conversation knows it: the blocks compiled into its system message,
    with the edits its own tool calls made applied (the real server does not recompile the
    writing conversation, but its history holds the calls and their results)."""
    memory = dict(ctx.memory)
    for role, t in ctx.history:
        if role != "assistant" or not t:
            continue
        m = re.search(r"I saved to my ([\w/-]+) memory: (.+)$", t, re.S)
        if m:
            memory[m.group(1)] = memory_insert(memory.get(m.group(1), ""), m.group(2).strip())
            continue
        m = re.search(r'I updated my ([\w/-]+) memory: "(.+?)" is now "(.+)"\.$', t, re.S)
        if m:
            label, old, new = m.groups()
            value = memory.get(label, "")
            edited = value.replace(old, new, 1) if old in value else memory_insert(value, new)
            memory[label] = edited
    return memory


def _memory_line(ctx: Context, said: str) -> tuple[str, str]:
    """(block label, the line to write) for something the user asked me to remember.

    About the user ("I …", "my …"): ``human``, in the third person. Otherwise a block named
    after a word of it ("the refund policy …" → ``policies``), else the first of
    :data:`_WORLD_BLOCKS` the agent has, else ``human``."""
    said = said.strip().rstrip(".!")
    if facts.about_user(said) or not ctx.memory:
        return "human", _third_person(said)
    words = set(re.findall(r"[a-z]+", said.lower()))
    named = [
        b
        for b in ctx.memory
        if b not in ("human", "persona")
        and ({b.lower(), re.sub(r"ies$", "y", b.lower()), b.lower().rstrip("s")} & words)
    ]
    label = (named or [b for b in _WORLD_BLOCKS if b in ctx.memory] or ["human"])[0]
    return label, said[:1].upper() + said[1:] + "."


def _why_block(label: str, ctx: Context) -> str:
    if label == "human":
        return "it is about the user, so it goes into my human block"
    if label == "persona":
        return (
            "it is not about the user and I have no project or notes block, so it goes into "
            "my persona block"
        )
    return f"it is not about the user, so it goes into my {label} block"


def _sentences_of(value: str) -> list[str]:
    return [s.strip() for s in re.findall(r"[^.!?\n]+[.!?]?", value or "") if s.strip()]


def _memory_write(ctx: Context, said: str) -> Step:
    """``remember that …``: insert the line, or replace the block's sentence about the same
    fact (so the block never holds two names), or nothing when it already says so."""
    label, line = _memory_line(ctx, said)
    why = _why_block(label, ctx)
    stated = {k: v for k, v in facts.statement_of(said).items() if k not in _ADDITIVE}
    memory = _memory_now(ctx)
    value = memory.get(label, "")
    if len(stated) == 1:
        (key,) = stated
        probe = "human" if label == "human" else "notes"
        for sentence in _sentences_of(value):
            if key not in facts.memory_facts({probe: sentence}):
                continue
            if sentence == line:
                return Step(
                    reasoning=f"My {label} memory already says this; nothing to change.",
                    text=f"My {label} memory already says: {line}",
                )
            if value.count(sentence) == 1 and "memory_replace" in ctx.tools:
                return Step(
                    reasoning=f"The user wants this remembered; {why}. The block already has a "
                    "sentence about it, so I'll replace that sentence.",
                    tool_call=ToolCall(
                        "memory_replace",
                        {"label": label, "old_string": sentence, "new_string": line},
                    ),
                )
    return Step(
        reasoning=f"The user wants this remembered; {why}.",
        tool_call=ToolCall("memory_insert", {"label": label, "new_string": line}),
    )


_ADDITIVE = ("likes", "loves", "enjoys", "favourite food", "liked")
"""Keys that add up (several likes) rather than replace each other."""


def _answer(ctx: Context, text: str, low: str) -> Step:
    said = extract_facts(ctx.history)
    memory = _memory_now(ctx)

    if is_slow(text):
        return Step(
            reasoning="The user wants a slow answer; I'll take my time.", text=SLOW_REPLY, slow=True
        )

    if re.search(
        r"\bwhat do you (?:remember|know) about me\b|\bwhat(?:'s| is) in your memory\s*\??$"
        r"|\bwhat does your memory say about me\b",
        low,
    ):
        return Step(
            reasoning="The user asks what I remember; I'll read my human memory block and "
            "what they told me here (what they said here wins).",
            text=_what_i_remember(memory.get("human", ""), said),
        )

    asked = _asked(text)
    if asked is not None:
        kind, keys = asked
        if kind == "about":
            return _said_about(ctx, keys[0], said)
        if _ACCORDING.search(text):
            return _from_memory(ctx, keys, said)
        return _fact_answer(ctx, said, keys, who=re.search(r"\bwho am i\b", low) is not None)

    stated = facts.statement_of(text)
    if stated:
        return _acknowledge(stated, text)

    if re.search(r"\bwhat (?:can|could) you do\b|\bwhat are you able to do\b|\bhelp me\b", low):
        name = said.get("name") or facts.memory_facts(memory).get("name")
        hello = f"Hello, {name}! " if name else "Hello! "
        greeted = re.match(r"(?:hi|hello|hey)\b", low) is not None
        return Step(
            reasoning="The user asks what I can do; I'll list my abilities with examples.",
            text=(hello if greeted else "") + _CAPABILITIES,
        )

    chat = _small_talk(low)
    if chat:
        return chat

    if re.match(r"(?:hi|hello|hey|good (?:morning|afternoon|evening))\b", low):
        name = said.get("name") or facts.memory_facts(memory).get("name")
        greet = f"Hello, {name}!" if name else "Hello!"
        return Step(
            reasoning="The user greeted me; I'll greet them back.",
            text=f"{greet} How can I help you today?",
        )

    return _open_reply(text, low)


def _asked(text: str) -> tuple[str, list[str]] | None:
    """What a question asks: ``("facts", keys)`` or ``("about", [topic])``. Several questions
    in one ("what is my name and where do I live?") and lists ("my name, age and job") ask
    for several facts."""
    m = _MEMORY_TOPIC.search(text)
    if m:
        text = "what is " + m.group(1)
    segments = re.split(
        r"\s*(?:,\s*(?:and\s+)?|\s+and\s+)(?=(?:what|what's|where|who|when|how)\b)",
        text,
        flags=re.I,
    )
    keys: list[str] = []
    for segment in segments:
        got = facts.asked_keys(re.sub(r"\s*,\s*(?:and\s+)?", " and ", segment))
        if got is None:
            continue
        if got[0] == "about":
            if not keys:
                return got
            continue
        keys += [k for k in got[1] if k not in keys]
    return ("facts", keys) if keys else None


_ALIASES = {"job": ("self",), "self": ("job",)}
_LIKED = {"loves": "love", "likes": "like", "enjoys": "enjoy"}
"""What the user likes, by verb (one key per verb, or ``likes`` for all)."""
"""Keys that answer each other ("what do I do?" after "I am a data scientist")."""


def _resolve(key: str, source: Mapping[str, str]) -> tuple[str, str] | None:
    """``(key found, value)`` for an asked key: the key itself, ``<key> name`` (a dog asked,
    its name given), an alias, or for ``the X`` a fact whose subject has X's words (``the
    deadline`` → ``the project deadline``)."""
    if key in _LIKED:
        liked = [(k, source[k]) for k in _LIKED if k in source]
        if len(liked) > 1:  # "you love pizza and like jazz"
            return "liked", " and ".join(f"{_LIKED[k]} {v}" for k, v in liked)
        if liked:
            return liked[0]
    for k in (key, f"{key} name", *_ALIASES.get(key, ())):
        if k in source:
            return k, source[k]
    if key.startswith("the "):
        words = set(key.split()[1:])
        for k, v in source.items():
            if k.startswith("the ") and words <= set(k.split()[1:]):
                return k, v
    return None


def _acknowledge(stated: Mapping[str, str], text: str) -> Step:
    low = text.lower()
    keys = [k for k in stated if not (k == "favourite food" and set(_LIKED) & set(stated))]
    keys.sort(key=lambda k: low.find(stated[k].lower()) % (len(low) + 1))  # as said
    replies = [
        {
            "name": f"Nice to meet you, {stated[k]}!",
            "home": f"{stated[k]} — lovely, I'll keep that in mind.",
            "workplace": f"Working at {stated[k]} sounds interesting!",
            "job": f"Being {stated[k]} sounds interesting!",
            "age": f"Got it, you are {stated[k]}.",
            "likes": f"Good to know that you {_like_verb(text)} {stated[k]}.",
            "loves": f"Good to know that you love {stated[k]}.",
        }.get(k, f"Noted: {facts.phrase(k, stated[k])}.")
        for k in keys
    ]
    if re.match(r"\s*(?:please\s+)?(?:note|make a note|take note)\b", text, re.I):
        replies.append('(That stays in this conversation; say "remember that …" to save it.)')
    return Step(
        reasoning=f"The user told me {_and(_word(k) for k in keys)}; I'll acknowledge it.",
        text=" ".join(replies),
    )


def _like_verb(text: str) -> str:
    m = re.search(r"\bI (?:really )?(love|like|enjoy|adore)\b", text, re.I)
    return m.group(1).lower() if m else "love"


def _word(key: str) -> str:
    """How reasoning names a fact's key (``their name``, ``the project deadline``)."""
    words = {
        "home": "their home town",
        "self": "what they are",
        "likes": "what they like",
        "loves": "what they love",
    }
    return facts.say(key, words, the="{k}", named="their {x}'s name", other="their {k}")


def _and(items: Sequence[str] | Any) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _join(clauses: Sequence[str]) -> str:
    text = _and(clauses)
    return text[:1].upper() + text[1:] + "."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _phrase(key: str, value: str) -> str:
    return f"you {value}" if key == "liked" else facts.phrase(key, value)


def _fact_answer(
    ctx: Context, said: Mapping[str, str], keys: Sequence[str], who: bool = False
) -> Step:
    """Answer from this conversation's statements, else from the memory it knows."""
    memory = facts.memory_facts(_memory_now(ctx))
    if who and "name" in keys:  # "who am I?": the name, and what they are when known
        keys = [*keys, *(k for k in ("self", "job") if _resolve(k, said) and k not in keys)][:2]
    groups: list[tuple[str, list[str]]] = []  # (source, phrases), in the order asked
    here, remembered, unknown = [], [], []
    for key in keys:
        found = _resolve(key, said)
        source = "here"
        if not found:
            found, source = _resolve(key, memory), "memory"
        if not found:
            unknown.append(key)
            continue
        (here if source == "here" else remembered).append(key)
        if groups and groups[-1][0] == source:
            groups[-1][1].append(_phrase(*found))
        else:
            groups.append((source, [_phrase(*found)]))
    parts = [
        _join(phrases)
        if source == "here"
        else "According to my memory, " + _lower_first(_join(phrases))
        for source, phrases in groups
    ]
    if unknown:
        parts.append(_unknown(unknown))
    if here and remembered:
        source = "they told me some of it here and my memory has the rest"
    elif here:
        source = "they told me in this conversation"
    elif remembered:
        source = "this conversation doesn't say, but my memory does"
    else:
        source = "neither this conversation nor my memory says"
    if unknown and (here or remembered):
        source += f"; I don't know {_and(_word(k) for k in unknown)}"
    return Step(
        reasoning=f"The user asks about {_and(_word(k) for k in keys)}: {source}.",
        text=" ".join(parts),
    )


def _name_of(key: str) -> str:
    """The thing a key names, as said to the user (``your dog's name``, ``the deadline``)."""
    fixed = {
        "home": "where you live",
        "workplace": "where you work",
        "job": "what you do",
        "self": "what you do",
        "likes": "what you like",
    }
    return facts.say(key, fixed, the="{k}", named="your {x}'s name", other="your {k}")


def _unknown(keys: Sequence[str]) -> str:
    return f"I don't know {' or '.join(_name_of(k) for k in keys)} yet — you haven't told me."


def _from_memory(ctx: Context, keys: Sequence[str], said: Mapping[str, str]) -> Step:
    """Answer from the memory compiled into this conversation (and its own edits) only."""
    memory = facts.memory_facts(_memory_now(ctx))
    found = [(k, _resolve(k, memory)) for k in keys]
    known = [_phrase(*f) for _, f in found if f]
    missing = [k for k, f in found if not f]
    parts = []
    if known:
        parts.append("According to my memory, " + _lower_first(_join(known)))
    if missing:
        parts.append(
            f"My memory has nothing about {_and(_name_of(k) for k in missing)}. (If it was "
            "saved in another conversation, this one sees it after a recompile.)"
        )
        told = [_phrase(*f) for f in (_resolve(k, said) for k in missing) if f]
        if told:
            parts.append(
                f'You did tell me here that {_and(told)}; say "remember that …" to save it.'
            )
    return Step(
        reasoning="The user asks what my memory says, so I'll answer from my memory blocks "
        "only, not from what was said in this conversation.",
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
    sentences = _sentences_of(human)
    memory = facts.memory_facts({"human": human})
    corrected: list[str] = []
    for key, value in said.items():
        old = memory.get(key)
        if old and old.lower() != value.lower() and key not in _ADDITIVE:
            corrected.append(f"{_phrase(key, value)} (my memory said {old})")
            sentences = [s for s in sentences if facts.memory_facts({"human": s}).get(key) != old]
    new = [
        _phrase(k, v)
        for k, v in said.items()
        if (k not in memory or (k in _ADDITIVE and memory[k].lower() != v.lower()))
        and not (
            k == "favourite food"
            and v.lower() in f"{said.get('likes', '')} {said.get('loves', '')}".lower()
        )
    ]
    parts = [f"My memory about you says: {' '.join(sentences)}"] if sentences else []
    if not parts and not said:
        return "My memory about you is empty."
    told = corrected + new
    if told:
        parts.append(f"In this conversation you told me: {'; '.join(told)}.")
    return " ".join(parts)


def _small_talk(low: str) -> Step | None:
    """Thanks, goodbyes, "how are you", "ok", "are you there", "I'm tired"."""
    low = low.strip()
    forms = [
        (r"(?:thanks|thank you|thx|cheers|ty)\b", "The user thanks me.", "You're welcome!"),
        (
            r"(?:bye|goodbye|see you|good night)\b",
            "The user says goodbye.",
            "Goodbye! I'll be here when you need me.",
        ),
        (
            r".*\bhow are you\b",
            "The user asks how I am.",
            "I'm well, thank you! How can I help?",
        ),
        (
            r".*\b(?:are you (?:still )?there|still there|you there)\b",
            "The user checks I'm still here.",
            "Yes, I'm here. How can I help?",
        ),
        (
            r"(?:ok|okay|cool|great|nice|alright|got it|sure|perfect)\b[.!\s]*$",
            "The user acknowledged my answer.",
            "Great! Anything else I can do for you?",
        ),
    ]
    for pattern, reasoning, text in forms:
        if re.match(pattern, low):
            return Step(reasoning=f"{reasoning} I'll answer briefly.", text=text)
    m = re.match(
        r"i(?:'m| am) (?:so |very |really |a bit |quite |feeling )?"
        r"(tired|sad|stressed|sick|bored|exhausted|worried|happy|excited|great|good|fine)\b",
        low,
    )
    if m:
        mood = m.group(1)
        if mood in ("happy", "excited", "great", "good", "fine"):
            return Step(
                reasoning=f"The user says they are {mood}; I'll be glad with them.",
                text=f"Glad to hear you're {mood}! How can I help?",
            )
        return Step(
            reasoning=f"The user says they are {mood}; I'll be kind and offer help.",
            text=f"Sorry to hear you're {mood}. Is there anything I can do to help?",
        )
    return None


_STOP_WORDS = (
    "a an the and or but of to in on at for with from by about is are was were be been am "
    "i me my you your we our it its this that these those there here what who where when "
    "why how which can could would should will do does did done please tell give show "
    "explain describe write make let run help think know want need like just really very "
    "some any something anything more one again still then now ok okay hmm so well yes no "
    "not briefly quick quickly thanks thank"
)
_STOP = frozenset(_STOP_WORDS.split())
"""Words that are no topic ("tell me about …", "can you explain …")."""


def _topic(text: str) -> str | None:
    """What an unrecognised message is about, in a word or three (never the whole message):
    the words after "about", else the longest run of content words."""
    m = re.search(r"\babout\s+(.+?)(?:[,.!?]|\s+please\b|$)", text, re.I)
    if m and len(m.group(1).split()) <= 5:
        return m.group(1).strip()
    words = re.findall(r"[A-Za-z][\w'-]*", text)
    runs: list[list[str]] = [[]]
    for w in words:
        if w.lower() in _STOP or len(w) < 3:
            runs.append([])
        else:
            runs[-1].append(w)
    runs = [r[-3:] for r in runs if r]
    if not runs:
        return None
    best = max(runs, key=lambda r: (len(r), len(" ".join(r))))
    return " ".join(best) if len(best) < len(words) else None


def _open_reply(text: str, low: str) -> Step:
    """A reply to text the grammar does not cover: one of a few (a stable hash of the text
    picks it), naming its topic when there is one; never the text itself."""
    m = re.match(
        r"(?:what|who)(?:'s| is| are) (?!my\b|the\b|our\b|it\b|this\b|that\b|up\b|new\b)"
        r"(.+?)\s*\??$",
        text,
        re.I,
    )
    if m:
        thing = m.group(1)
        return Step(
            reasoning=f"The user asks about {thing}; nobody told me about it and I have no "
            "language model to know it.",
            text=f"I don't have anything about {thing} in this conversation or in my memory — "
            "I'm a scripted agent, so I only know what you tell me.",
        )
    topic = _topic(text)
    n = zlib.crc32(low.encode())
    reasoning, with_topic, without = _OPEN_REPLIES[n % len(_OPEN_REPLIES)]
    about = f" (it is about {topic})" if topic else ""
    return Step(
        reasoning=reasoning.format(about=about),
        text=with_topic.format(topic=topic) if topic else without,
    )


_OPEN_REPLIES = (
    (
        "There is no fact, question or request here that I know{about}; I'll say what I can do.",
        "I can't say much about {topic}: I'm a scripted agent, not a language model. I can keep "
        'facts you tell me ("my name is …", "the deadline is …"), answer questions about '
        'them, update my memory ("remember that …") and search our conversation.',
        "I'm a scripted agent, not a language model, so I can't answer that. I can keep facts "
        'you tell me ("my name is …", "the deadline is …"), answer questions about them, '
        'update my memory ("remember that …") and search our conversation.',
    ),
    (
        "The user shared something without a fact or a question I can answer{about}; I'll ask.",
        'Tell me more about {topic}? If it\'s something I should keep, say "remember that …" '
        "and I'll save it to my memory.",
        "Tell me more. If it's something I should keep, say \"remember that …\" and I'll save "
        "it to my memory.",
    ),
    (
        "No question or fact I recognise{about}; I'll offer what I can help with.",
        "I have nothing on {topic} in this conversation or in my memory. Would you like me to "
        "remember something, search our conversation, or update my memory?",
        "I see. Would you like me to remember something, look something up in our "
        "conversation, or update my memory?",
    ),
    (
        "This doesn't ask me anything I can look up{about}; I'll answer briefly and offer help.",
        'Noted — but {topic} is beyond the little I understand. Ask me "what can you do?" for '
        "examples.",
        'Understood. Ask me "what can you do?" for examples of what I can help with.',
    ),
)
"""(reasoning, reply naming the topic, reply without one) for text the grammar does not
cover."""


_CAPABILITIES = (
    'I can remember facts you tell me ("my name is Alice and I love pizza") and answer '
    'questions about them ("what\'s my name and favorite food?"), save things to my memory '
    '("remember that the project deadline is Friday"), answer from my memory ("what is the '
    'deadline according to your memory?"), update my memory ("update your memory: my city '
    'is now Rome"), search our conversation ("search for tea"), and draft an email for you to '
    'approve ("send an email to bob@example.com about the report").'
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
