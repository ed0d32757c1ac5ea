"""The scripted agent's grammar, form by form (pure: Context in, Step out)."""

from __future__ import annotations

import pytest

from letta_devserver import facts
from letta_devserver.script import Context, follow_up, plan

MEMORY = {"human": "The human's name is Ada.", "persona": "I am a helpful assistant."}


def converse(*turns: str, memory: dict[str, str] | None = None) -> list[str]:
    """Each turn's final text, as the run engine would produce it (a tool call succeeds)."""
    history: list[tuple[str, str]] = []
    answers = []
    for text in turns:
        ctx = Context(history=tuple(history), memory=memory if memory is not None else MEMORY)
        step = plan(ctx, text)
        if step.tool_call is not None:
            step = follow_up(ctx, text, step.tool_call, "ok", "success")
        history += [("user", text), ("assistant", step.text or "")]
        answers.append(step.text or "")
    return answers


@pytest.mark.parametrize(
    ("statement", "key", "value"),
    [
        ("My name is Alice.", "name", "Alice"),
        ("Call me Al.", "name", "Al"),
        ("I'm Grace.", "name", "Grace"),
        ("I am Linus", "name", "Linus"),
        ("I'm 34 years old.", "age", "34"),
        ("I am a data scientist.", "self", "a data scientist"),
        ("I live in Paris.", "home", "Paris"),
        ("I'm from Lisbon", "home", "Lisbon"),
        ("I work at Acme.", "workplace", "Acme"),
        ("I work as a nurse.", "job", "nurse"),
        ("I love hiking.", "likes", "hiking"),
        ("I like pizza and pasta.", "favourite food", "pizza and pasta"),
        ("My dog is called Rex.", "dog name", "Rex"),
        ("My cat's name is Tom.", "cat name", "Tom"),
        ("My favorite color is blue.", "favourite colour", "blue"),
        ("My favourite colour is blue.", "favourite colour", "blue"),
        ("The project deadline is Friday.", "the project deadline", "Friday"),
        ("Our launch date is March 3.", "the launch date", "March 3"),
        ("Note that the budget is 5000 euros.", "the budget", "5000 euros"),
        ("Remember that my sister is Ana.", "sister", "Ana"),
    ],
)
def test_statement_forms(statement: str, key: str, value: str) -> None:
    assert facts.statement_of(statement)[key] == value


def test_moods_are_not_names() -> None:
    for text in ("I'm tired.", "I am fine", "I'm sorry", "I'm not sure"):
        assert "name" not in facts.statement_of(text), text


def test_several_facts_in_one_message_and_one_question() -> None:
    said = facts.statement_of("My name is Alice and I love pizza.")
    assert said["name"] == "Alice" and said["likes"] == "pizza"
    answers = converse("My name is Alice and I love pizza.", "What's my name and favorite food?")
    assert answers[1] == "Your name is Alice and your favourite food is pizza."


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What is my name?", "Your name is Alice."),
        ("Who am I?", "Your name is Alice."),
        ("what's my dog called?", "Your dog is called Rex."),
        ("What is my dog's name?", "Your dog is called Rex."),
        ("Where do I live?", "You live in Paris."),
        ("What do I love?", "You love pizza."),
        ("What is the project deadline?", "The project deadline is Friday."),
        ("When is the project deadline?", "The project deadline is Friday."),
        ("What is my favourite color?", "Your favourite colour is green."),
    ],
)
def test_question_forms(question: str, answer: str) -> None:
    told = (
        "My name is Alice. I live in Paris and I love pizza.",
        "My dog is called Rex. My favorite colour is green.",
        "The project deadline is Friday.",
    )
    assert converse(*told, question)[-1] == answer


def test_what_did_i_say_about() -> None:
    answers = converse("I love pizza.", "I went to Rome last summer.", "What did I say about Rome?")
    assert "Rome" in answers[-1] and answers[-1].startswith("About Rome, you told me")
    assert "haven't said anything" in converse("hi", "What did I say about cats?")[-1]


def test_an_unknown_fact_is_said_plainly() -> None:
    assert (
        converse("What is my dog called?")[0]
        == "I don't know your dog's name yet — you haven't told me."
    )
    assert "the project deadline" in converse("What is the project deadline?")[0]


def test_facts_stay_in_their_conversation() -> None:
    assert converse("My dog is called Rex.")[0]
    other = converse("What is my dog called?")  # a new conversation: empty history
    assert "Rex" not in other[0]


def test_memory_falls_back_when_the_conversation_does_not_say() -> None:
    assert converse("What is my name?")[0] == "According to my memory, your name is Ada."


def test_update_requests_write_the_right_block() -> None:
    ctx = Context(memory=MEMORY)
    about_me = plan(ctx, "Please remember that I love hiking")
    assert about_me.tool_call is not None and about_me.tool_call.arguments == {
        "label": "human",
        "new_string": "The human loves hiking.",
    }
    world = plan(ctx, "Please update your core memory to note that the project deadline is Friday.")
    assert world.tool_call is not None and world.tool_call.name == "memory_insert"
    assert world.tool_call.arguments == {
        "label": "persona",
        "new_string": "The project deadline is Friday.",
    }
    with_project = Context(memory={**MEMORY, "project": "Launch in May."})
    step = plan(with_project, "Save to your memory that the budget is 5000 euros")
    assert step.tool_call is not None and step.tool_call.arguments["label"] == "project"


def test_according_to_memory_reads_only_the_compiled_memory() -> None:
    ask = "What is the project deadline according to your memory?"
    compiled = {**MEMORY, "persona": "I am helpful.\nThe project deadline is Friday."}
    assert converse(ask, memory=compiled)[0] == (
        "According to my memory, the project deadline is Friday."
    )
    # said in this conversation but not in memory: memory questions do not read the talk
    stale = converse("The project deadline is Friday.", ask)[-1]
    assert stale.startswith("My memory has nothing about the project deadline")
    assert "recompile" in stale
    # the conversation that wrote the block sees its own edit
    wrote = converse(
        "Please update your core memory to note that the project deadline is Friday.", ask
    )
    assert wrote[-1] == "According to my memory, the project deadline is Friday."


def test_memory_facts_read_third_person_blocks() -> None:
    found = facts.memory_facts(
        {
            "human": "The human's name is Ada. She lives in Berlin and loves sushi. "
            "The human's dog is called Rex. The human's favorite color is red.",
            "persona": "The project deadline is Friday.",
        }
    )
    assert (found["name"], found["home"], found["likes"]) == ("Ada", "Berlin", "sushi")
    assert found["dog name"] == "Rex" and found["favourite colour"] == "red"
    assert found["the project deadline"] == "Friday" and found["favourite food"]


def test_sentences_parse_back_to_their_facts() -> None:
    for key, value in [
        ("name", "Alice"),
        ("likes", "tea"),
        ("dog name", "Rex"),
        ("the project deadline", "Friday"),
        ("favourite colour", "blue"),
        ("home", "Paris"),
    ]:
        assert facts.statement_of(facts.sentence(key, value))[key] == value
