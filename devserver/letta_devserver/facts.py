"""What the scripted agent understands people to say: facts in statements, facts in memory,
and the facts a question asks about. Pure and standard-library only (the real-server tier's
stub LLM imports it through :mod:`.script`).

A fact is a ``key`` and a ``value``: ``name`` → ``Alice``, ``favourite food`` → ``pizza``,
``likes`` → ``pizza``, ``dog name`` → ``Rex``, ``the project deadline`` → ``Friday``. British
and American spellings are one key (favourite colour = favorite color).

Statements (in the user's words, or after "remember that" / "note that"):

======================================  ====================================
``my name is Alice``, ``call me Alice``  ``name``
``I'm Alice``, ``I am Alice``            ``name`` (one capitalised word)
``I'm 34``, ``I am 34 years old``        ``age``
``I'm a data scientist``                 ``self`` (what you are)
``I live in Paris``, ``I'm from Paris``  ``home``
``I work at|for Acme``                   ``workplace``
``I work as a nurse``                    ``job`` (``a nurse``)
``I like|enjoy pizza``                   ``likes`` (and ``favourite food`` for a food)
``I love|adore pizza``                   ``loves`` (the same)
``my dog is called Rex``                 ``dog name`` (also ``is named``, ``my dog's name is``,
                                         ``I have a dog called Rex``)
``my favourite colour is blue``          ``favourite colour`` (any ``my X is Y``)
``the project deadline is Friday``       ``the project deadline`` (``the|our X is Y``)
======================================  ====================================

Several facts in one message join with "and" or commas: "My name is Alice and I love pizza."
Likes add up over a conversation ("I love pizza", later "I love sushi": ``pizza and sushi``);
any other key takes its latest statement. A value drops a trailing "now", "too", "as well"
("I live in Rome now": ``Rome``). "I'm Alice" is a name; "I'm tired", "I'm British" are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "FOODS",
    "about",
    "about_user",
    "asked_keys",
    "facts_in",
    "lookup",
    "memory_facts",
    "norm_key",
    "phrase",
    "say",
    "sentence",
    "statement_of",
]

FOODS = frozenset(
    [
        "pizza",
        "pasta",
        "sushi",
        "ramen",
        "tacos",
        "burgers",
        "burger",
        "curry",
        "salad",
        "soup",
        "noodles",
        "chocolate",
        "cake",
        "ice",
        "cream",
        "cheese",
        "bread",
        "rice",
        "dumplings",
        "pho",
        "paella",
        "falafel",
        "hummus",
        "steak",
        "chicken",
        "fish",
        "pancakes",
        "waffles",
        "croissants",
        "tea",
        "coffee",
    ]
)
"""Words that make a like a ``favourite food`` too ("I love pizza")."""

_END = r"(?=\s*(?:[.!?;\n]|$)|\s*,|\s+(?:and|but|so|because)\s+(?:i|i'm|my|the|our|we)\b)"
_VALUE = r"(.+?)" + _END
"""A fact's value: up to punctuation, or a conjunction that starts another clause."""

_STATEMENTS: list[tuple[str, re.Pattern[str]]] = [
    ("name", re.compile(r"\bmy name is ([A-Za-z][\w'-]*(?-i: [A-Z][\w'-]*)?)", re.I)),
    ("name", re.compile(r"\bcall me ([A-Za-z][\w'-]*)", re.I)),
    ("age", re.compile(r"\bI(?: am|'m) (\d{1,3})(?: years? old)?\b", re.I)),
    ("home", re.compile(r"\bI live in " + _VALUE, re.I)),
    ("home", re.compile(r"\bI(?: am|'m) from " + _VALUE, re.I)),
    ("workplace", re.compile(r"\bI work (?:at|for) " + _VALUE, re.I)),
    ("job", re.compile(r"\bI work as " + _VALUE, re.I)),
    ("self", re.compile(r"\bI(?: am|'m) (an? " + _VALUE[1:], re.I)),
    ("likes", re.compile(r"\bI (?:really )?(?:like|enjoy) " + _VALUE, re.I)),
    ("loves", re.compile(r"\bI (?:really )?(?:love|adore) " + _VALUE, re.I)),
]
_HAVE_CALLED = re.compile(r"\bI have an? ([a-z]+) (?:called|named) ([A-Z][\w'-]*)", re.I)
"""``I have a dog called Rex``: the dog's name."""
_NAME_IS = re.compile(r"\bI(?: am|'m) ((?-i:[A-Z])[a-z'-]+)(?=\s*(?:[.!,;]|$|\s+and\b))", re.I)
_CALLED = re.compile(
    r"\bmy ([a-z][a-z ]{0,30}?)(?:'s name is| is called| is named) ([A-Z][\w'-]*)", re.I
)
_MY_X_IS_Y = re.compile(
    r"\bmy ((?:favou?rite )?[a-z][a-z ]{0,30}?) (?:is|are) (?!now\b)" + _VALUE, re.I
)
_THE_X_IS_Y = re.compile(
    r"(?:^|[.!?]\s+|\bthat\s+|\band\s+)((?:the|our) [a-z][a-z ]{1,40}?) (?:is|are|will be) "
    r"(?!now\b)" + _VALUE,
    re.I,
)
_NOT_NAMES = frozenset(
    [
        "fine",
        "good",
        "ok",
        "okay",
        "tired",
        "sorry",
        "sure",
        "here",
        "back",
        "ready",
        "happy",
        "sad",
        "busy",
        "hungry",
        "done",
        "glad",
        "new",
        "not",
        "sick",
        "well",
        "great",
        "excited",
        "curious",
        "confused",
        "lost",
        "bored",
        "home",
        "vegan",
        "vegetarian",
        "american",
        "australian",
        "austrian",
        "belgian",
        "brazilian",
        "british",
        "canadian",
        "chinese",
        "danish",
        "dutch",
        "english",
        "finnish",
        "french",
        "german",
        "greek",
        "indian",
        "irish",
        "italian",
        "japanese",
        "korean",
        "mexican",
        "norwegian",
        "polish",
        "portuguese",
        "russian",
        "scottish",
        "spanish",
        "swedish",
        "swiss",
        "turkish",
        "welsh",
    ]
)
"""Capitalised words after "I'm" that are no name (moods, nationalities, diets)."""
_LIKES = ("likes", "loves")
"""Keys that add up over a conversation instead of replacing each other."""


def norm_key(key: str) -> str:
    """One spelling and shape per key (``favorite color`` → ``favourite colour``)."""
    key = re.sub(r"\s+", " ", key.lower().strip())
    key = re.sub(r"\bfavorite\b", "favourite", key)
    key = re.sub(r"\bcolor\b", "colour", key)
    key = re.sub(r"^(?:our|the) ", "the ", key)
    return re.sub(r"'s name$", " name", key)


def _clean(value: str) -> str:
    value = value.strip().strip("\"'").strip()
    return re.sub(
        r"(?:\s+(?:now|too|as well|also|these days|nowadays|anymore))+$",
        "",
        value,
        flags=re.I,
    )


def statement_of(text: str) -> dict[str, str]:
    """The facts one message states (key → value)."""
    if not text or text.lstrip().lower().startswith("call:"):
        return {}
    out: dict[str, str] = {}
    for m in _THE_X_IS_Y.finditer(text):
        out[norm_key(m.group(1))] = _clean(m.group(2))
    for m in _MY_X_IS_Y.finditer(text):
        key = norm_key(m.group(1))
        if key not in ("name",) and not key.endswith(" name"):
            out[key] = _clean(m.group(2))
    for m in _CALLED.finditer(text):
        out[norm_key(m.group(1)) + " name"] = _clean(m.group(2))
        out.pop(norm_key(m.group(1)), None)  # "my dog is called Rex" is not "my dog is called"
    for m in _HAVE_CALLED.finditer(text):
        out[norm_key(m.group(1)) + " name"] = _clean(m.group(2))
    for key, pattern in _STATEMENTS:
        m = pattern.search(text)
        if m:
            out[key] = _clean(m.group(1))
    m = _NAME_IS.search(text)
    if m and m.group(1).lower() not in _NOT_NAMES and "name" not in out:
        out["name"] = m.group(1)
    likes = out.get("loves") or out.get("likes") or ""
    food = next((w for w in re.findall(r"[a-z]+(?: cream)?", likes.lower()) if w in FOODS), None)
    if food and "favourite food" not in out:
        out["favourite food"] = likes
    return out


def facts_in(history: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Facts the user stated in these messages (the latest statement of a key wins)."""
    facts: dict[str, str] = {}
    for role, text in history:
        if role != "user":
            continue
        if re.match(r"\s*(?:please\s+)?(?:update your memory\s*:|replace\b)", text or "", re.I):
            continue  # edits of memory ("A is now B"), not statements
        for key, value in statement_of(text or "").items():
            old = facts.get(key)
            if key in _LIKES and old and value.lower() not in old.lower():
                value = f"{old} and {value}"  # likes add up
            facts[key] = value
    return facts


def phrase(key: str, value: str) -> str:
    """The fact said back to the user: ``your name is Alice``, ``you love pizza``."""
    fixed = {
        "name": "your name is {v}",
        "home": "you live in {v}",
        "workplace": "you work at {v}",
        "job": "you work as {v}",
        "age": "you are {v} years old",
        "likes": "you like {v}",
        "loves": "you love {v}",
        "self": "you are {v}",
    }
    return say(
        key, fixed, value, the="{k} is {v}", named="your {x} is called {v}", other="your {k} is {v}"
    )


def sentence(key: str, value: str) -> str:
    """The fact as the user would state it (parses back to the same key by
    :func:`statement_of`): ``my name is Alice.``, ``I love pizza.``."""
    first = {
        "name": "my name is {v}.",
        "home": "I live in {v}.",
        "workplace": "I work at {v}.",
        "job": "I work as {v}.",
        "age": "I am {v} years old.",
        "likes": "I like {v}.",
        "loves": "I love {v}.",
        "self": "I am {v}.",
    }
    return say(
        key, first, value, the="{K} is {v}.", named="my {x} is called {v}.", other="my {k} is {v}."
    )


def say(
    key: str, fixed: Mapping[str, str], value: str = "", *, the: str, named: str, other: str
) -> str:
    """One wording of a fact: ``fixed[key]`` for the known keys, else by the key's shape:
    ``the`` for "the X" keys, ``named`` for "X name" keys, ``other`` for the rest. The forms
    take ``{v}`` (the value), ``{k}`` (the key), ``{K}`` (capitalised) and ``{x}`` (the key
    without " name")."""
    if key in fixed:
        return fixed[key].format(v=value)
    form = the if key.startswith("the ") else named if key.endswith(" name") else other
    bare = key[: -len(" name")] if key.endswith(" name") else key
    return form.format(v=value, k=key, K=key[:1].upper() + key[1:], x=bare)


# --------------------------------------------------------------------------- memory

_MEMORY_END = r"(?=\s+and\s+(?:she|he|they|the human|[a-z]+s)\b|[.,;\n]|$)"
"""Where a value in a third-person block ends: punctuation, or "and" + another verb."""
_MEMORY_USER: list[tuple[str, re.Pattern[str]]] = [
    ("name", re.compile(r"\bname is ([A-Z][\w'-]*(?: [A-Z][\w'-]*)?)")),
    ("home", re.compile(r"\blives? in ([^.,;\n]+?)" + _MEMORY_END, re.I)),
    ("workplace", re.compile(r"\bworks? (?:at|for) ([^.,;\n]+?)" + _MEMORY_END, re.I)),
    ("job", re.compile(r"\bworks? as ([^.,;\n]+?)" + _MEMORY_END, re.I)),
    ("age", re.compile(r"\b(\d{1,3}) years? old", re.I)),
    ("likes", re.compile(r"\b(?:likes|enjoys) ([^.;\n]+?)" + _MEMORY_END, re.I)),
    ("loves", re.compile(r"\b(?:loves|adores) ([^.;\n]+?)" + _MEMORY_END, re.I)),
]
_MEMORY_CALLED = re.compile(
    r"\b(?:human's|their|his|her) ([a-z][a-z ]{0,30}?)(?:'s name is| is called| is named) "
    r"([A-Z][\w'-]*)",
    re.I,
)
_MEMORY_MY = re.compile(
    r"\b(?:human's|their|his|her) ((?:favou?rite )?[a-z][a-z ]{0,30}?) (?:is|are) ([^.;\n]+)",
    re.I,
)
_MEMORY_THE = re.compile(
    r"(?:^|[.!?\n]\s*)((?:The|Our) (?!human\b)[a-z][a-z ]{1,40}?) (?:is|are|will be) ([^.;\n]+)",
    re.I,
)


def memory_facts(memory: Mapping[str, str]) -> dict[str, str]:
    """Facts in the memory blocks (third person, as the memory tools write them).

    User facts come from the ``human`` block; general facts ("The project deadline is
    Friday.") from any block.
    """
    human = memory.get("human", "") or ""
    out: dict[str, str] = {}
    for value in memory.values():
        for m in _MEMORY_THE.finditer(value or ""):
            out[norm_key(m.group(1))] = _clean(m.group(2))
    for m in _MEMORY_MY.finditer(human):
        key = norm_key(m.group(1))
        if key != "name" and not key.endswith(" name"):
            out[key] = _clean(m.group(2))
    for m in _MEMORY_CALLED.finditer(human):
        out[norm_key(m.group(1)) + " name"] = _clean(m.group(2))
        out.pop(norm_key(m.group(1)), None)
    for m in re.finditer(r"\bhas an? ([a-z]+) (?:called|named) ([A-Z][\w'-]*)", human, re.I):
        out[norm_key(m.group(1)) + " name"] = _clean(m.group(2))
    for key, pattern in _MEMORY_USER:
        m = pattern.search(human)
        if m:
            out[key] = _clean(m.group(1))
    liked = out.get("loves") or out.get("likes") or ""
    if "favourite food" not in out and any(
        w in FOODS for w in re.findall(r"[a-z]+", liked.lower())
    ):
        out["favourite food"] = liked
    return out


def about_user(text: str) -> bool:
    """True when a fact to save is about the user (``I …``, ``my …``), not the world."""
    return re.search(r"\b(?:I|I'm|my|me|mine)\b", text, re.I) is not None


# --------------------------------------------------------------------------- questions

_SUBJECT = r"([a-z][a-z' ]{0,60}?)"
_TAIL = r"(?=\s*(?:\?|$|\baccording\b|\bin your\b))"
"""Where a question's subject ends: its end, or "according to your memory"."""
_QUESTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bwho am i\b|\bdo you know (?:my name|who i am)\b", re.I), "name"),
    (re.compile(r"\bwhere do i live\b|\bwhere am i from\b", re.I), "home"),
    (re.compile(r"\bwhere do i work\b", re.I), "workplace"),
    (re.compile(r"\bwhat do i do(?: for a living| for work)?\b", re.I), "job"),
    (re.compile(r"\bhow old am i\b", re.I), "age"),
    (re.compile(r"\bwhat do i (?:love|like|enjoy)\b", re.I), "likes"),
    (re.compile(r"\bwhat(?:'s| is) my " + _SUBJECT + r" called\b", re.I), "called"),
    (re.compile(r"\bwhat(?:'s| is| are) (?:my|your) " + _SUBJECT + _TAIL, re.I), "my"),
    (
        re.compile(
            r"\b(?:what|when|where|who)(?:'s| is| are| will be) ((?:the|our) [a-z][a-z' ]{0,60}?)"
            + _TAIL,
            re.I,
        ),
        "the",
    ),
    (
        re.compile(
            r"\bwhat did i (?:say|tell you) about (?:my |the )?" + _SUBJECT + r"\s*\??$",
            re.I,
        ),
        "about",
    ),
]


def _split(subjects: str) -> list[str]:
    parts = re.split(r"\s*(?:,|\band\b)\s*(?:my\s+|your\s+)?", subjects)
    return [p.strip() for p in parts if p.strip()]


def asked_keys(question: str) -> tuple[str, list[str]] | None:
    """What a question asks about: ``("facts", [keys])`` or ``("about", [topic])``; None if it
    asks about no fact."""
    q = question.strip()
    for pattern, kind in _QUESTIONS:
        m = pattern.search(q)
        if not m:
            continue
        if kind == "called":
            return "facts", [norm_key(m.group(1)) + " name"]
        if kind == "my":
            return "facts", [_key_for(s) for s in _split(m.group(1))]
        if kind == "the":
            return "facts", [norm_key(m.group(1))]
        if kind == "about":
            return "about", [m.group(1).strip()]
        return "facts", [kind]
    return None


def _key_for(subject: str) -> str:
    key = norm_key(subject)
    aliases = {
        "home town": "home", "hometown": "home", "city": "home", "address": "home",
        "job title": "job", "occupation": "job", "work": "job", "employer": "workplace",
        "company": "workplace", "favourite foods": "favourite food", "likes": "likes",
    }  # fmt: skip
    key = aliases.get(key, key)
    return re.sub(r"'s name$", " name", key)


def lookup(key: str, *sources: Mapping[str, str]) -> str | None:
    """The value of ``key`` in the first source that has it (a ``dog`` asked: its name too)."""
    for facts in sources:
        if key in facts:
            return facts[key]
        if f"{key} name" in facts:
            return facts[f"{key} name"]
    return None


def about(topic: str, history: Sequence[tuple[str, str]], facts: Mapping[str, str]) -> list[str]:
    """What the user said about ``topic``: matching facts, else their messages mentioning it."""
    words = [w for w in re.findall(r"[a-z]+", topic.lower()) if len(w) > 2]
    found = [phrase(k, v) for k, v in facts.items() if any(w in k or w in v.lower() for w in words)]
    if found:
        return found
    said = [t for r, t in history if r == "user" and any(w in t.lower() for w in words)]
    return [f'"{t.strip()}"' for t in said[-3:]]
