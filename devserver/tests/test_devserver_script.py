"""The scripted agent's grammar (pure: no server)."""

from __future__ import annotations

import json

import pytest

from letta_devserver import script
from letta_devserver.script import Context, plan


def ctx(*history: tuple[str, str], memory: dict[str, str] | None = None, **kw: object) -> Context:
    return Context(history=history, memory=memory or {"human": "The human's name is Ada."}, **kw)


def test_tokenize_round_trips_and_counts() -> None:
    text = "Echo: raw  tokens\nnext"
    toks = script.tokenize(text)
    assert "".join(toks) == text
    assert toks[0] == "Echo: "
    assert script.count_tokens(text) == len(toks)
    assert script.count_tokens(script.SLOW_REPLY) == 20


def test_every_step_has_reasoning() -> None:
    for text in ["hi", "what is my name?", "remember that I like tea", "search tea", "xyz"]:
        assert plan(ctx(), text).reasoning


def test_facts_come_from_this_conversation_only() -> None:
    mine = ctx(("user", "My name is Grace and I live in Paris."), ("assistant", "Hi Grace"))
    assert plan(mine, "What is my name?").text == "Your name is Grace."
    assert plan(mine, "where do I live?").text == "You live in Paris."
    other = ctx()  # another conversation: only the shared memory is known
    answer = plan(other, "What is my name?").text or ""
    assert "Grace" not in answer and "Ada" in answer
    nothing = ctx(memory={"human": ""})
    assert "don't know" in (plan(nothing, "what is my name?").text or "")


def test_favourite_colour_and_generic_facts() -> None:
    c = ctx(("user", "My favorite color is green."), ("user", "my dog is Rex"))
    assert plan(c, "What is my favourite colour?").text == "Your favourite colour is green."
    assert plan(c, "what's my dog?").text == "Your dog is Rex."


def test_latest_statement_wins() -> None:
    c = ctx(("user", "I live in Paris"), ("user", "I live in Rome now"))
    assert "Rome" in (plan(c, "where do I live?").text or "")


def test_remember_calls_memory_insert_in_third_person() -> None:
    step = plan(ctx(), "Please remember that I love hiking")
    assert step.tool_call is not None
    assert step.tool_call.name == "memory_insert"
    assert step.tool_call.arguments == {"label": "human", "new_string": "The human loves hiking."}


def test_update_memory_replaces_the_matching_sentence() -> None:
    step = plan(ctx(), "Update your memory: my name is now Grace")
    assert step.tool_call is not None and step.tool_call.name == "memory_replace"
    args = step.tool_call.arguments
    assert args["old_string"] == "The human's name is Ada."
    assert args["new_string"] == "The human's name is Grace."
    step = plan(ctx(), "replace Ada with Linus in memory")
    assert step.tool_call is not None
    assert step.tool_call.arguments == {
        "label": "human",
        "old_string": "Ada",
        "new_string": "Linus",
    }


def test_memory_questions_read_the_compiled_memory() -> None:
    c = ctx(("user", "I work at Acme"), memory={"human": "The human's name is Ada."})
    text = plan(c, "What do you remember about me?").text or ""
    assert "The human's name is Ada." in text and "Acme" in text


def test_call_grammar_matches_the_stub_llm() -> None:
    c = ctx(required_args={"memory_replace": ["label", "old_string", "new_string"]})
    step = plan(c, 'call:memory_replace {"label": "human", "old_string": "Ada"}')
    assert step.tool_call is not None
    assert step.tool_call.arguments == {"label": "human", "old_string": "Ada", "new_string": "stub"}
    done = script.follow_up(c, "call:memory_replace {}", step.tool_call, "The human's x", "success")
    assert done.text == "Done: The human's x"
    # an unknown tool is just text
    assert plan(c, "call:nope {}").tool_call is None


def test_search_and_email() -> None:
    step = plan(ctx(), "search for walnut")
    assert step.tool_call is not None
    assert step.tool_call == script.ToolCall("conversation_search", {"query": "walnut"})
    step = plan(ctx(), "Send an email to bob@example.com about the meeting")
    assert step.tool_call is not None and step.tool_call.name == "send_email"
    assert step.tool_call.arguments["to"] == "bob@example.com"
    assert "send_email" in script.APPROVAL_TOOLS


def test_slow_and_fallback() -> None:
    step = plan(ctx(), "slow please")
    assert step.slow and step.text == script.SLOW_REPLY
    unknown = [plan(ctx(), t) for t in ("zebra crossing", "xyz", "blah blah", "hmm, ok then")]
    assert all(s.reasoning and s.text for s in unknown)
    assert not any("zebra" in (s.text or "") for s in unknown)  # never an echo
    assert len({s.text for s in unknown}) >= 2  # varied, yet deterministic:
    assert plan(ctx(), "xyz") == plan(ctx(), "xyz")


def test_memory_tools_are_exact() -> None:
    assert script.memory_insert("a\nb", "c") == "a\nb\nc"
    assert script.memory_insert("a\nb", "c", 0) == "c\na\nb"
    assert script.memory_replace("x y", "y", "z") == "x z"
    with pytest.raises(ValueError, match="did not appear verbatim"):
        script.memory_replace("x", "q", "z")
    with pytest.raises(ValueError, match="Multiple occurrences"):
        script.memory_replace("a a", "a", "b")
    with pytest.raises(ValueError):
        script.memory_insert("a", "b", 5)


def test_parse_memory_and_search_results() -> None:
    from letta_devserver.serialize import compile_system

    blocks = [
        {"label": "human", "value": "Name: Ada\nLikes tea"},
        {"label": "persona", "value": "Bot"},
    ]
    text = compile_system(
        "<base_instructions>x</base_instructions>", blocks, "agent-1", "conv-1", 0.0
    )
    assert script.parse_memory(text) == {"human": "Name: Ada\nLikes tea", "persona": "Bot"}
    out = script.format_search_results([("2026-01-01T00:00:00+00:00", "1m ago", "user", "tea")])
    assert out.startswith("{'message': 'Showing 1 results:'")
    assert script.parse_search_results(out)[0]["content"] == "tea"
    assert script.format_search_results([]) == "{'message': 'No results found.', 'results': []}"
    assert script.parse_search_results(json.dumps({"results": [1]})) == [1]


def test_a_fact_given_to_remember_is_known_in_its_own_conversation() -> None:
    """The conversation that wrote the memory sees it through its own messages (the real
    server does not recompile its system prompt on a memory edit)."""
    told = ctx(("user", "Remember that my favorite color is blue."), ("assistant", "Got it"))
    assert plan(told, "Remember that my favorite color is blue.").tool_call is not None
    for question in ("What is my favorite color?", "What is my favourite colour?"):
        assert "blue" in (plan(told, question).text or "")
    us_memory = ctx(memory={"human": "The human's favorite color is red."})
    assert "red" in (plan(us_memory, "what is my favourite colour?").text or "")


def test_what_i_remember_does_not_contradict_itself() -> None:
    memory = {"human": "The human's name is Grace. She works on compilers."}
    c = ctx(("user", "My name is Alice."), ("assistant", "Hi Alice"), memory=memory)
    text = plan(c, "What do you remember about me?").text or ""
    assert "Alice" in text and "name is Grace" not in text
    assert "my memory said Grace" in text and "compilers" in text


def test_what_can_you_do_lists_abilities_with_examples() -> None:
    text = plan(ctx(), "Hello! What can you do?").text or ""
    assert text.startswith("Hello, Ada!")
    for example in ("remember that", "search for", "send an email"):
        assert example in text
