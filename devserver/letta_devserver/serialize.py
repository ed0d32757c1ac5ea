"""JSON shapes: stored messages -> Letta messages, agents, blocks, conversations, usage.

Field sets and order follow what the real server sends (recorded in
``tests/fixtures/letta-shapes`` of this repository).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from .ids import ACTOR_ID, fmt_message_date, fmt_timestamp, otid_for
from .storage import StoredMessage

__all__ = [
    "ACTOR_ID",
    "BASE_SYSTEM",
    "DEFAULT_TOOLS",
    "agent_json",
    "block_json",
    "compaction_event",
    "compile_system",
    "conversation_json",
    "embedding_config",
    "letta_messages",
    "llm_config",
    "stop_reason_json",
    "summary_alert",
    "summary_letta",
    "tool_json",
    "usage_json",
]


BASE_SYSTEM = (
    "<base_instructions>\n"
    "You are a helpful self-improving agent with advanced memory capabilities.\n"
    "<memory>\n"
    "Your memory consists of memory blocks and external memory:\n"
    "- Memory Blocks: each has a label, a description and a value; they are embedded within "
    "your system instructions and remain constantly available in-context.\n"
    "- External memory: earlier messages you can search with tools.\n"
    "</memory>\n"
    "Continue executing and calling tools until the current task is complete or you need user "
    "input. To yield control: end your response without calling a tool.\n"
    "Base instructions complete.\n"
    "</base_instructions>"
)

BLOCK_DESCRIPTIONS = {
    "human": "The human block: Stores key details about the person you are conversing with, "
    "allowing for more personalized and friend-like conversation.",
    "persona": "The persona block: Stores details about your current persona, guiding how you "
    "behave and respond. This helps you to maintain consistency and personality in your "
    "interactions.",
}

_STR = {"type": "string"}
DEFAULT_TOOLS: dict[str, dict[str, Any]] = {
    "conversation_search": {
        "description": "Search prior conversation history (text matching).",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {**_STR, "description": "String to search for."},
                "roles": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["assistant", "user", "tool"]},
                    "description": "Optional list of message roles to filter by.",
                },
                "limit": {"type": "integer", "description": "Maximum number of results to return."},
                "start_date": {**_STR, "description": "ISO 8601 start date (inclusive)."},
                "end_date": {**_STR, "description": "ISO 8601 end date (inclusive)."},
            },
            "required": [],
        },
        "tool_type": "letta_core",
        "parallel": True,
        "approval": None,
    },
    "memory_insert": {
        "description": "Insert text at a specific line of a memory block.",
        "parameters": {
            "type": "object",
            "properties": {
                "label": {**_STR, "description": "Section of the memory to be edited."},
                "new_string": {**_STR, "description": "The text to insert."},
                "insert_line": {
                    "type": "integer",
                    "description": "Line after which to insert (-1: at the end).",
                },
            },
            "required": ["label", "new_string"],
        },
        "tool_type": "letta_sleeptime_core",
        "parallel": False,
        "approval": None,
    },
    "memory_replace": {
        "description": "Replace a specific string in a memory block with a new string.",
        "parameters": {
            "type": "object",
            "properties": {
                "label": {**_STR, "description": "Section of the memory to be edited."},
                "old_string": {**_STR, "description": "The text to replace (exact match)."},
                "new_string": {**_STR, "description": "The new text."},
            },
            "required": ["label", "old_string", "new_string"],
        },
        "tool_type": "letta_sleeptime_core",
        "parallel": False,
        "approval": None,
    },
    "send_email": {
        "description": "Send an email on the user's behalf (requires the user's approval).",
        "parameters": {
            "type": "object",
            "properties": {
                "to": {**_STR, "description": "Recipient address."},
                "subject": {**_STR, "description": "Subject line."},
                "body": {**_STR, "description": "Plain-text body."},
            },
            "required": ["to", "subject", "body"],
        },
        "tool_type": "custom",
        "parallel": False,
        "approval": True,
    },
}


def _base(
    m: StoredMessage,
    index: int,
    message_type: str,
    seq_id: int | None = None,
    otid: str | None = "derive",
) -> dict[str, Any]:
    return {
        "id": m.id,
        "date": fmt_message_date(m.date),
        "name": None,
        "message_type": message_type,
        "otid": otid_for(m.id, index) if otid == "derive" else otid,
        "sender_id": m.body.get("sender_id"),
        "step_id": m.step_id,
        "is_err": m.body.get("is_err"),
        "seq_id": seq_id,
        "run_id": m.run_id,
    }


def summary_alert(summary: str, when: float, stats: dict[str, Any] | None = None) -> str:
    """The system alert letta 0.16.8 stores for a compaction summary (sliding window mode,
    ``package_summarize_message_no_counts``): with ``stats`` (an automatic compaction) it
    counts the hidden messages and carries them; a manual one has none."""
    stamp = datetime.fromtimestamp(when, tz=timezone.utc).strftime("%Y-%m-%d %I:%M:%S %p UTC+0000")
    if stats:
        hidden = stats["messages_count_before"] - stats["messages_count_after"]
        note = (
            f"Note: {hidden} messages from the beginning of the conversation have been hidden "
            "from view due to memory constraints."
        )
    else:
        note = (
            "Note: prior messages from the beginning of the conversation have been hidden from "
            "view due to conversation memory constraints."
        )
    alert: dict[str, Any] = {
        "type": "system_alert",
        "message": f"{note}\nThe following is a summary of the previous messages:\n {summary}",
        "time": stamp,
    }
    if stats:
        alert["compaction_stats"] = stats
    return json.dumps(alert, indent=2)


def compaction_event(m: StoredMessage) -> dict[str, Any]:
    """The ``event_message`` 0.16.8 streams before it compacts (``include_compaction_messages``):
    a fresh bare uuid as id, no otid, the step and run of the summary ``m``, ``event_data``
    ``{trigger, context_token_estimate, context_window}``."""
    stats = m.body["compaction_stats"]
    d = _base(m, 0, "event_message", otid=None)
    d["id"] = str(uuid.uuid4())
    d.update(
        event_type="compaction",
        event_data={
            "trigger": stats["trigger"],
            "context_token_estimate": stats["context_tokens_before"],
            "context_window": stats["context_window"],
        },
    )
    return d


def summary_letta(m: StoredMessage, as_summary: bool, otid: str | None = None) -> dict[str, Any]:
    """A stored compaction summary as a Letta message: a ``summary_message`` (Letta Cloud's
    lists, and streams with ``include_compaction_messages``) or, as letta 0.16.8 lists it, a
    ``user_message`` holding the system alert. Manual compactions are not system alerts with
    stats on 0.16.8 (they have no trigger)."""
    stats = m.body.get("compaction_stats")
    if as_summary:
        d = _base(m, 0, "summary_message", otid=otid)
        d.update(summary=m.body.get("summary", ""), compaction_stats=stats)
        return d
    d = _base(m, 0, "user_message", otid=otid)
    automatic = stats if stats and stats.get("trigger") != "manual" else None
    d["content"] = summary_alert(m.body.get("summary", ""), m.date, automatic)
    return d


def _tool_calls(calls: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    full = [
        {"name": c["name"], "arguments": c["arguments"], "tool_call_id": c["tool_call_id"]}
        for c in calls
    ]
    return dict(full[0]), full


def letta_messages(m: StoredMessage, summary_messages: bool = False) -> list[dict[str, Any]]:
    """The Letta messages one stored message becomes, in natural order (shared ``id``).

    ``summary_messages``: a compaction summary lists as a ``summary_message`` (Letta Cloud)
    instead of 0.16.8's system-alert ``user_message``."""
    b = m.body
    role = m.role
    out: list[dict[str, Any]] = []
    if role == "system":
        d = _base(m, 0, "system_message", otid=None)
        d["content"] = b.get("content", "")
        out.append(d)
    elif role == "user":
        d = _base(m, 0, "user_message", otid=m.otid)
        d["content"] = b.get("content", "")
        out.append(d)
    elif role in ("assistant", "approval_request"):
        i = 0
        if b.get("reasoning"):
            d = _base(m, i, "reasoning_message")
            # letta_v1_agent streams reasoning only from reasoner models
            d.update(source="reasoner_model", reasoning=b["reasoning"], signature=None)
            out.append(d)
            i += 1
        if b.get("hidden_reasoning") is not None:
            d = _base(m, i, "hidden_reasoning_message")
            d.update(state="omitted", hidden_reasoning=b["hidden_reasoning"] or None)
            out.append(d)
            i += 1
        if b.get("tool_calls"):
            one, full = _tool_calls(b["tool_calls"])
            if role == "approval_request":  # the real server's otid: the message id itself
                d = _base(m, i, "approval_request_message", otid=m.id)
            else:
                d = _base(m, i, "tool_call_message")
            d.update(tool_call=one, tool_calls=full)
            out.append(d)
            i += 1
        if b.get("content") is not None and role == "assistant":
            d = _base(m, i, "assistant_message")
            d["content"] = b["content"]
            out.append(d)
    elif role == "tool":
        d = _base(m, 0, "tool_return_message")
        d.update(
            tool_return=b.get("tool_return", ""),
            status=b.get("status", "success"),
            tool_call_id=b.get("tool_call_id"),
            stdout=b.get("stdout"),
            stderr=b.get("stderr"),
            tool_returns=[
                {
                    "type": "tool",
                    "tool_return": b.get("tool_return", ""),
                    "status": b.get("status", "success"),
                    "tool_call_id": b.get("tool_call_id"),
                    "stdout": b.get("stdout"),
                    "stderr": b.get("stderr"),
                }
            ],
        )
        d["name"] = b.get("name")
        out.append(d)
    elif role == "approval_response":
        d = _base(m, 0, "approval_response_message", otid=m.otid)
        d["step_id"] = None  # stored outside any step, as on the real server
        d.update(
            approvals=b.get("approvals"),
            approve=b.get("approve"),
            approval_request_id=b.get("approval_request_id"),
            reason=b.get("reason"),
        )
        out.append(d)
    elif role == "summary":
        out.append(summary_letta(m, summary_messages, otid=m.otid))
    elif role == "summary_message":
        d = _base(m, 0, "summary_message")
        d.update(summary=b.get("summary", ""), compaction_stats=b.get("compaction_stats"))
        out.append(d)
    elif role == "event":
        d = _base(m, 0, "event_message")
        d.update(event_type=b.get("event_type", "compaction"), event_data=b.get("event_data", {}))
        out.append(d)
    return out


_ENC = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def render_letta(m: StoredMessage, summary_messages: bool = False) -> str:
    """A stored message's Letta messages as JSON objects joined by commas (for fast lists)."""
    return ",".join(_ENC.encode(d) for d in letta_messages(m, summary_messages))


def letta_messages_from(
    messages: Iterable[StoredMessage],
    types: Sequence[str] | None = None,
    summary_messages: bool = False,
) -> list[dict[str, Any]]:
    """Letta messages of several stored messages, optionally filtered by message type."""
    out = [d for m in messages for d in letta_messages(m, summary_messages)]
    if types:
        wanted = set(types)
        out = [d for d in out if d["message_type"] in wanted]
    return out


# --------------------------------------------------------------------------- memory


def compile_system(
    system: str,
    blocks: Sequence[dict[str, Any]],
    agent_id: str,
    conv_id: str | None,
    when: float,
    previous: int = 0,
) -> str:
    """The system message: base instructions + memory blocks as compiled at ``when``."""
    parts = [
        system.rstrip(),
        "",
        "<memory_blocks>",
        "The following memory blocks are currently engaged in your core memory unit:",
        "",
    ]
    for b in blocks:
        value = b.get("value", "")
        parts += [
            f"<{b['label']}>",
            "<description>",
            b.get("description") or BLOCK_DESCRIPTIONS.get(b["label"], ""),
            "</description>",
            "<metadata>",
            f"- chars_current={len(value)}",
            f"- chars_limit={b.get('limit', 100000)}",
            "</metadata>",
            "<value>",
            value,
            "</value>",
            f"</{b['label']}>",
            "",
        ]
    stamp = datetime.fromtimestamp(when, tz=timezone.utc).strftime("%Y-%m-%d %I:%M:%S %p UTC+0000")
    parts += ["</memory_blocks>", "", "<memory_metadata>", f"- AGENT_ID: {agent_id}"]
    if conv_id:
        parts.append(f"- CONVERSATION_ID: {conv_id}")
    parts += [
        f"- System prompt last recompiled: {stamp}",
        f"- {previous} previous messages between you and the user are stored in recall memory",
        "</memory_metadata>",
    ]
    return "\n".join(parts)


# --------------------------------------------------------------------------- objects


def block_json(b: dict[str, Any]) -> dict[str, Any]:
    """A memory block as the blocks API returns it."""
    return {
        "id": b["id"],
        "value": b.get("value", ""),
        "base_template_id": None,
        "created_by_id": None,
        "deployment_id": None,
        "description": b.get("description") or BLOCK_DESCRIPTIONS.get(b["label"]),
        "entity_id": None,
        "hidden": None,
        "is_template": False,
        "label": b["label"],
        "last_updated_by_id": None,
        "limit": b.get("limit", 100000),
        "metadata": b.get("metadata") or {},
        "preserve_on_migration": False,
        "project_id": None,
        "read_only": bool(b.get("read_only", False)),
        "tags": b.get("tags") or [],
        "template_id": None,
        "template_name": None,
    }


def tool_json(name: str, tool_id: str, approval: bool | None = None) -> dict[str, Any]:
    """A tool object (as embedded in an agent)."""
    spec = DEFAULT_TOOLS[name]
    return {
        "id": tool_id,
        "args_json_schema": None,
        "created_by_id": ACTOR_ID,
        "default_requires_approval": spec["approval"] if approval is None else approval,
        "description": spec["description"],
        "enable_parallel_execution": spec["parallel"],
        "json_schema": {
            "name": name,
            "description": spec["description"],
            "parameters": spec["parameters"],
        },
        "last_updated_by_id": ACTOR_ID,
        "metadata_": {},
        "name": name,
        "npm_requirements": None,
        "pip_requirements": None,
        "project_id": None,
        "return_char_limit": 50000,
        "source_code": None,
        "source_type": "python",
        "tags": [spec["tool_type"]],
        "tool_type": spec["tool_type"],
    }


def llm_config(handle: str, context_window: int = 30000) -> dict[str, Any]:
    """An llm_config for a model handle (``provider/model``)."""
    provider, _, model = handle.partition("/")
    return {
        "context_window": context_window,
        "model": model or handle,
        "model_endpoint_type": "openai" if provider.startswith("openai") else provider,
        "compatibility_type": None,
        "display_name": None,
        "effort": None,
        "enable_reasoner": False,
        "frequency_penalty": None,
        "handle": handle,
        "max_reasoning_tokens": 0,
        "max_tokens": 16384,
        "model_endpoint": "http://127.0.0.1/devserver/v1",
        "model_wrapper": None,
        "parallel_tool_calls": False,
        "provider_category": "base",
        "provider_name": provider.replace("-proxy", "") or "openai",
        "put_inner_thoughts_in_kwargs": False,
        "reasoning_effort": None,
        "response_format": None,
        "return_logprobs": False,
        "return_token_ids": False,
        "strict": False,
        "temperature": 1.0,
        "tier": None,
        "tool_call_parser": None,
        "top_logprobs": None,
        "verbosity": None,
    }


def embedding_config(handle: str) -> dict[str, Any]:
    """An embedding_config for an embedding handle."""
    provider, _, model = handle.partition("/")
    return {
        "embedding_dim": 1536,
        "embedding_endpoint_type": provider or "openai",
        "embedding_model": model or handle,
        "azure_deployment": None,
        "azure_endpoint": None,
        "azure_version": None,
        "batch_size": 32,
        "embedding_chunk_size": 300,
        "embedding_endpoint": "http://127.0.0.1/devserver/v1",
        "handle": handle,
    }


def agent_json(
    a: dict[str, Any], blocks: Sequence[dict[str, Any]], message_ids: Sequence[str] = ()
) -> dict[str, Any]:
    """An agent (AgentState) with its blocks and tools."""
    bl = [block_json(b) for b in blocks]
    model = a.get("model") or "openai/gpt-4o-mini"
    embedding = a.get("embedding") or "openai/text-embedding-3-small"
    overrides = a.get("approval_overrides") or {}
    tools = [tool_json(n, tid, overrides.get(n)) for n, tid in a.get("tools", [])]
    return {
        "id": a["id"],
        "agent_type": a.get("agent_type", "letta_v1_agent"),
        "blocks": bl,
        "llm_config": llm_config(model, a.get("context_window", 30000)),
        "memory": {
            "blocks": bl,
            "agent_type": a.get("agent_type", "letta_v1_agent"),
            "file_blocks": [],
            "git_enabled": False,
            "prompt_template": "",
        },
        "name": a["name"],
        "sources": [],
        "system": a.get("system", BASE_SYSTEM),
        "tags": a.get("tags") or [],
        "tools": tools,
        "base_template_id": None,
        "compaction_settings": {
            "clip_chars": 50000,
            "mode": "sliding_window",
            "model": model,
            "model_settings": None,
            "prompt": "Summarize the messages being evicted from the beginning of the context "
            "window.",
            "prompt_acknowledgement": False,
            "sliding_window_percentage": 0.3,
        },
        "created_at": fmt_timestamp(a["created_at"]),
        "created_by_id": ACTOR_ID,
        "deployment_id": None,
        "description": a.get("description"),
        "embedding": embedding,
        "embedding_config": embedding_config(embedding),
        "enable_sleeptime": None,
        "entity_id": None,
        "hidden": None,
        "identities": [],
        "identity_ids": [],
        "last_run_completion": fmt_timestamp(a.get("last_run_completion")),
        "last_run_duration_ms": a.get("last_run_duration_ms"),
        "last_stop_reason": a.get("last_stop_reason"),
        "last_updated_by_id": ACTOR_ID,
        "managed_group": None,
        "max_files_open": 5,
        "message_buffer_autoclear": False,
        "message_ids": list(message_ids),
        "metadata": a.get("metadata"),
        "model": model,
        "model_settings": {
            "max_output_tokens": 16384,
            "parallel_tool_calls": True,
            "provider_type": "openai",
            "temperature": 1.0,
            "reasoning": {"reasoning_effort": "minimal"},
            "response_format": None,
            "strict": False,
        },
        "multi_agent_group": None,
        "pending_approval": None,
        "per_file_view_window_char_limit": 15000,
        "project_id": None,
        "response_format": None,
        "secrets": [],
        "template_id": None,
        "timezone": "UTC",
        "tool_exec_environment_variables": [],
        "tool_rules": [
            {"tool_name": n, "type": "requires_approval", "prompt_template": None}
            for n, flag in overrides.items()
            if flag
        ],
        "updated_at": fmt_timestamp(a["updated_at"]),
    }


def conversation_json(
    c: dict[str, Any], in_context_ids: Sequence[str] | None, fields: Sequence[str]
) -> dict[str, Any]:
    """A conversation object with the profile's ``fields`` (``in_context_ids`` None: null)."""
    data = c.get("data") or {}
    archived = bool(c.get("archived"))
    full = {
        "id": c["id"],
        "agent_id": c["agent_id"],
        "created_at": fmt_timestamp(c["created_at"]),
        "created_by_id": ACTOR_ID,
        "in_context_message_ids": None if in_context_ids is None else list(in_context_ids),
        "last_message_at": fmt_timestamp(c.get("last_message_at")),
        "last_updated_by_id": ACTOR_ID,
        "model": c.get("model"),
        "model_settings": data.get("model_settings"),
        "summary": c.get("summary"),
        "updated_at": fmt_timestamp(c["updated_at"]),
        "isolated_block_ids": [],
        "archived": archived,
        "archived_at": fmt_timestamp(data.get("archived_at")) if archived else None,
        "context_window_limit": data.get("context_window_limit"),
        "description": data.get("description"),
    }
    return {k: full[k] for k in fields}


def stop_reason_json(reason: str) -> dict[str, Any]:
    """A stop_reason chunk."""
    return {"message_type": "stop_reason", "stop_reason": reason}


def usage_json(
    prompt: int,
    completion: int,
    steps: int,
    run_ids: list[str] | None = None,
    cached: int | None = 0,
) -> dict[str, Any]:
    """A usage_statistics chunk."""
    return {
        "message_type": "usage_statistics",
        "completion_tokens": completion,
        "prompt_tokens": prompt,
        "total_tokens": prompt + completion,
        "step_count": steps,
        "run_ids": run_ids,
        "cached_input_tokens": cached,
        "cache_write_tokens": cached,
        "reasoning_tokens": cached,
        "context_tokens": prompt + completion,
    }
