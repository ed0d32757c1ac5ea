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
        ("I work as a nurse.", "job", "a nurse"),
        ("I love hiking.", "loves", "hiking"),
        ("I like hiking.", "likes", "hiking"),
        ("I live in Rome now.", "home", "Rome"),
        ("I have a dog named Rex.", "dog name", "Rex"),
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
    for text in ("I'm tired.", "I am fine", "I'm sorry", "I'm not sure", "I'm British"):
        assert "name" not in facts.statement_of(text), text


def test_several_facts_in_one_message_and_one_question() -> None:
    said = facts.statement_of("My name is Alice and I love pizza.")
    assert said["name"] == "Alice" and said["loves"] == "pizza"
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
    assert (found["name"], found["home"], found["loves"]) == ("Ada", "Berlin", "sushi")
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


def test_several_questions_in_one_message() -> None:
    told = ("My name is Alice and I live in Paris.", "I'm 34 and I am a data scientist.")
    assert converse(*told, "What is my name and where do I live?")[-1] == (
        "Your name is Alice and you live in Paris."
    )
    assert converse(*told, "What's my name, age and job?")[-1] == (
        "Your name is Alice, you are 34 years old and you are a data scientist."
    )
    mixed = converse("My name is Alice.", "What is my name and what is the project deadline?")
    assert mixed[-1] == (
        "Your name is Alice. I don't know the project deadline yet — you haven't told me."
    )


def test_what_they_are_answers_what_they_do_and_who_they_are() -> None:
    told = ("I'm Grace.", "I am a data scientist.")
    assert converse(*told, "What do I do?")[-1] == "You are a data scientist."
    assert converse(*told, "Who am I?")[-1] == "Your name is Grace and you are a data scientist."
    # the name from memory comes first all the same
    assert converse("I am a nurse.", "Who am I?")[-1] == (
        "According to my memory, your name is Ada. You are a nurse."
    )


def test_a_general_fact_is_found_by_part_of_its_subject() -> None:
    assert converse("The project deadline is Friday.", "What's the deadline?")[-1] == (
        "The project deadline is Friday."
    )
    compiled = {**MEMORY, "persona": "I am helpful.\nThe project deadline is Friday."}
    assert converse("When is the deadline?", memory=compiled)[0] == (
        "According to my memory, the project deadline is Friday."
    )


def test_unknown_facts_name_what_is_missing() -> None:
    assert converse("Where do I live?", memory={"human": ""})[0] == (
        "I don't know where you live yet — you haven't told me."
    )
    assert converse("My name is Alice.", "What's my name and favorite food?")[-1] == (
        "Your name is Alice. I don't know your favourite food yet — you haven't told me."
    )


def test_acknowledgements_follow_the_order_of_the_message() -> None:
    assert converse("I live in Berlin and my next trip is to Lisbon in May.")[0] == (
        "Berlin — lovely, I'll keep that in mind. Noted: your next trip is to Lisbon in May."
    )
    assert converse("I like jazz.")[0] == "Good to know that you like jazz."
    noted = converse("Note that the budget is 5000 euros.")[0]
    assert noted.startswith("Noted: the budget is 5000 euros.") and "remember that" in noted


def test_remembering_a_fact_the_block_has_replaces_its_sentence() -> None:
    ctx = Context(memory=MEMORY)
    step = plan(ctx, "Remember that my name is Grace.")
    assert step.tool_call is not None and step.tool_call.name == "memory_replace"
    assert step.tool_call.arguments == {
        "label": "human",
        "old_string": "The human's name is Ada.",
        "new_string": "The human's name is Grace.",
    }
    same = plan(ctx, "Please remember that my name is Ada.")
    assert same.tool_call is None and same.text == (
        "My human memory already says: The human's name is Ada."
    )
    assert same.reasoning
    # so what it remembers never holds two names
    told = converse("Remember that my name is Grace.", "What do you remember about me?")
    assert told[-1] == "My memory about you says: The human's name is Grace."


def test_the_writing_conversation_sees_its_own_corrections() -> None:
    answers = converse("Update your memory: my name is now Grace", "What's my name?")
    assert answers[-1] == "According to my memory, your name is Grace."
    answers = converse("Update your memory: my dog is called Rex", "What is my dog called?")
    assert answers[-1] == "According to my memory, your dog is called Rex."  # an edit, not talk


def test_a_block_named_after_the_subject_gets_the_fact() -> None:
    memory = {**MEMORY, "policies": "Refunds within 30 days."}
    step = plan(Context(memory=memory), "Remember that the refund policy is 60 days now.")
    assert step.tool_call is not None and step.tool_call.arguments["label"] == "policies"
    assert "policies block" in step.reasoning
    only_human = plan(Context(memory={"human": "x"}), "Remember that the launch is in May.")
    assert only_human.tool_call is not None
    assert only_human.tool_call.arguments == {
        "label": "human",
        "new_string": "The launch is in May.",
    }


def test_what_does_your_memory_say_reads_memory_only() -> None:
    compiled = {**MEMORY, "persona": "I am helpful.\nThe project deadline is Friday."}
    ask = "What does your memory say about the project deadline?"
    assert converse(ask, memory=compiled)[0] == (
        "According to my memory, the project deadline is Friday."
    )
    told = converse("The launch is in May.", "When is the launch according to your memory?")
    assert told[-1].startswith("My memory has nothing about the launch.")
    assert 'You did tell me here that the launch is in May; say "remember that' in told[-1]
    assert converse("What is my name according to your memory?", memory={"human": ""})[0] == (
        "My memory has nothing about your name. (If it was saved in another conversation, "
        "this one sees it after a recompile.)"
    )


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("Thanks, that's all!", "You're welcome!"),
        ("bye", "Goodbye! I'll be here when you need me."),
        ("Hey, how are you?", "I'm well, thank you! How can I help?"),
        ("ok", "Great! Anything else I can do for you?"),
        ("Are you still there?", "Yes, I'm here. How can I help?"),
        ("I'm tired.", "Sorry to hear you're tired. Is there anything I can do to help?"),
    ],
)
def test_small_talk(text: str, reply: str) -> None:
    step = plan(Context(memory=MEMORY), text)
    assert step.text == reply and step.reasoning and step.tool_call is None


def test_unknown_input_names_its_topic_and_never_echoes() -> None:
    texts = [
        "Tell me a long story about the sea, please.",
        "Can you explain recursion briefly?",
        "Give me a Python example of a list comprehension.",
        "Run the data check and tell me what you found.",
        "zebra crossing",
        "blah blah",
    ]
    steps = [plan(Context(memory=MEMORY), t) for t in texts]
    for text, step in zip(texts, steps, strict=True):
        assert step.reasoning and step.text and step.tool_call is None
        assert text.lower().rstrip(".?!") not in step.text.lower()  # never the text itself
        assert step == plan(Context(memory=MEMORY), text)  # deterministic
    assert "the sea" in (steps[0].text or "") and "recursion" in (steps[1].text or "")
    assert "list comprehension" in (steps[2].text or "") and "data check" in (steps[3].text or "")
    assert len({s.text.split()[0] for s in steps if s.text}) >= 3  # varied
    monad = plan(Context(memory=MEMORY), "What is a monad?").text or ""
    assert monad.startswith("I don't have anything about a monad in this conversation")


def test_what_can_you_do_shows_the_grammar() -> None:
    text = plan(Context(memory=MEMORY), "What can you do?").text or ""
    assert text.startswith("I can remember facts")
    for example in ("my name is Alice and I love pizza", "according to your memory"):
        assert example in text


def test_likes_add_up_and_keep_their_verb() -> None:
    assert converse("I love pizza.", "I like jazz.", "I love sushi.", "What do I like?")[-1] == (
        "You love pizza and sushi and like jazz."
    )
    assert converse("I like jazz.", "What do I like?")[-1] == "You like jazz."
    assert facts.statement_of(facts.sentence("likes", "tea"))["likes"] == "tea"
    assert facts.statement_of(facts.sentence("loves", "tea"))["loves"] == "tea"


def test_i_have_a_dog_named_rex() -> None:
    assert converse("I have a dog named Rex.", "What is my dog called?")[-1] == (
        "Your dog is called Rex."
    )
    remembered = {"human": "The human has a dog named Rex."}
    assert converse("What's my dog's name?", memory=remembered)[0] == (
        "According to my memory, your dog is called Rex."
    )
