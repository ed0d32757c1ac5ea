"""The ``.letta`` DataFrame accessor: turns, tool calls, in-context rows, transcript."""

from __future__ import annotations

import pandas as pd

from letta_widgets._messages import SCHEMA


@pd.api.extensions.register_dataframe_accessor("letta")
class LettaAccessor:
    """Views derived from a history frame: ``df.letta.turns()``, ``.tool_calls()``, …

    Works on any frame of the history schema (``messages_frame``, ``agent_history``,
    ``read_history``, ``turn.frame()``), also after filtering rows.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = {"id", "message_type", "date", "conversation_id"} - set(frame.columns)
        if missing:
            raise AttributeError(
                f"not a letta history frame (missing {sorted(missing)}): build it with "
                "lw.messages_frame / lw.agent_history"
            )
        self._df = frame

    def _chron(self) -> pd.DataFrame:
        df = self._df
        if "seq" in df.columns:
            return df.sort_values(["conversation_id", "seq"], kind="stable")
        return df.sort_values(["conversation_id", "date"], kind="stable")

    def turns(self) -> pd.DataFrame:
        """One row per run (a user turn and everything the agent did for it).

        Columns: ``conversation_id``, ``run_id``, ``user_text``, ``assistant_text``,
        ``start``, ``end``, ``latency`` (end - start, a Timedelta), ``steps`` (distinct
        step ids), ``tool_calls``, ``reasoning`` (reasoning messages), ``messages``,
        ``error`` (an error flag, a failed tool or a denied approval). Rows without a
        ``run_id`` (system messages, summaries) are not part of any turn.
        """
        df = self._chron()
        df = df[df["run_id"].notna()]
        cols = [
            "conversation_id",
            "run_id",
            "user_text",
            "assistant_text",
            "start",
            "end",
            "latency",
            "steps",
            "tool_calls",
            "reasoning",
            "messages",
            "error",
        ]
        if df.empty:
            return pd.DataFrame(
                {
                    c: pd.Series([], dtype=t)
                    for c, t in {
                        "conversation_id": "string",
                        "run_id": "string",
                        "user_text": "string",
                        "assistant_text": "string",
                        "start": SCHEMA["date"],
                        "end": SCHEMA["date"],
                        "latency": "timedelta64[us]",
                        "steps": "int64",
                        "tool_calls": "int64",
                        "reasoning": "int64",
                        "messages": "int64",
                        "error": "bool",
                    }.items()
                }
            )
        mt = df["message_type"].astype("object")
        one = df.drop_duplicates(
            ["id", "message_type", "seq"] if "seq" in df else ["id", "message_type"]
        )
        keys = ["conversation_id", "run_id"]
        g = df.groupby(keys, sort=False, observed=True)
        first_seen = g["date"].min()

        def joined(kind: str) -> pd.Series:
            part = df[mt == kind]
            if part.empty:
                return pd.Series(dtype="object")
            return part.groupby(keys, sort=False, observed=True)["text"].agg(
                lambda s: "\n".join(t for t in s.dropna())
            )

        failed = df["is_err"].fillna(False).astype(bool) | df["tool_status"].isin(
            ["error", "denied"]
        ).fillna(False).astype(bool)
        out = pd.DataFrame(
            {
                "start": first_seen,
                "end": g["date"].max(),
                "steps": g["step_id"].nunique(),
                "tool_calls": df[mt.isin(["tool_call_message", "approval_request_message"])]
                .drop_duplicates(["conversation_id", "run_id", "tool_call_id"])
                .groupby(keys, observed=True)
                .size(),
                "reasoning": df[mt.isin(["reasoning_message", "hidden_reasoning_message"])]
                .groupby(keys, observed=True)
                .size(),
                "messages": one.groupby(keys, sort=False, observed=True).size(),
                "error": failed.groupby([df["conversation_id"], df["run_id"]], sort=False).any(),
            }
        )
        out["user_text"] = joined("user_message")
        out["assistant_text"] = joined("assistant_message")
        for c in ("tool_calls", "reasoning", "messages"):
            out[c] = out[c].fillna(0).astype("int64")
        out["error"] = out["error"].fillna(False).astype(bool)
        out["latency"] = out["end"] - out["start"]
        out = out.reset_index().sort_values(["start", "conversation_id"], kind="stable")
        out["user_text"] = out["user_text"].astype("string")
        out["assistant_text"] = out["assistant_text"].astype("string")
        return out[cols].reset_index(drop=True)

    def tool_calls(self) -> pd.DataFrame:
        """Each tool call joined with its return (and approval, if it needed one).

        Columns: ``conversation_id``, ``run_id``, ``step_id``, ``tool_call_id``,
        ``tool_name``, ``tool_args`` (dict), ``status`` (``success`` / ``error``, ``denied``
        for a denied approval, ``pending`` when no return arrived yet), ``return_text``,
        ``called_at``, ``returned_at``, ``duration`` (Timedelta), ``approval``
        (``approved`` / ``denied`` / ``pending`` / ``<NA>`` when none was required).
        """
        df = self._chron()
        mt = df["message_type"].astype("object")
        calls = df[
            mt.isin(["tool_call_message", "approval_request_message"]) & df["tool_call_id"].notna()
        ]
        requested = set(calls.loc[mt[calls.index] == "approval_request_message", "tool_call_id"])
        calls = calls.drop_duplicates(["conversation_id", "tool_call_id"], keep="first")
        returns = df[(mt == "tool_return_message") & df["tool_call_id"].notna()]
        returns = returns.drop_duplicates(["conversation_id", "tool_call_id"], keep="last")
        approvals = df[(mt == "approval_response_message") & df["tool_call_id"].notna()]
        approvals = approvals.drop_duplicates(["conversation_id", "tool_call_id"], keep="last")
        out = calls[
            [
                "conversation_id",
                "run_id",
                "step_id",
                "tool_call_id",
                "tool_name",
                "tool_args",
                "date",
            ]
        ].rename(columns={"date": "called_at"})
        out = out.merge(
            returns[["conversation_id", "tool_call_id", "tool_status", "text", "date"]].rename(
                columns={"tool_status": "status", "text": "return_text", "date": "returned_at"}
            ),
            on=["conversation_id", "tool_call_id"],
            how="left",
        )
        out = out.merge(
            approvals[["conversation_id", "tool_call_id", "tool_status"]].rename(
                columns={"tool_status": "approval"}
            ),
            on=["conversation_id", "tool_call_id"],
            how="left",
        )
        needs = out["tool_call_id"].isin(requested)
        out["approval"] = out["approval"].astype("string")
        out.loc[needs & out["approval"].isna(), "approval"] = "pending"
        out["status"] = out["status"].astype("string")
        denied = out["approval"] == "denied"
        out.loc[denied.fillna(False) & out["status"].isna(), "status"] = "denied"
        out.loc[out["status"].isna(), "status"] = "pending"
        out["duration"] = out["returned_at"] - out["called_at"]
        cols = [
            "conversation_id",
            "run_id",
            "step_id",
            "tool_call_id",
            "tool_name",
            "tool_args",
            "status",
            "return_text",
            "called_at",
            "returned_at",
            "duration",
            "approval",
        ]
        return out[cols].reset_index(drop=True)

    def in_context(self) -> pd.DataFrame:
        """The rows still in the context window (``in_context`` is True)."""
        return self._df[self._df["in_context"].astype(bool)]

    def transcript(
        self,
        *,
        reasoning: bool = True,
        tools: bool = True,
        system: bool = False,
        width: int | None = 2000,
    ) -> str:
        """The conversation(s) as readable text, one block per message, oldest first.

        ``reasoning``, ``tools`` and ``system`` include those messages; ``width`` cuts
        each message's text (``None``: never).
        """
        df = self._chron().drop_duplicates(
            ["conversation_id", "id", "message_type", "tool_call_id"]
        )
        labels = {
            "user_message": "user",
            "assistant_message": "assistant",
            "reasoning_message": "reasoning",
            "hidden_reasoning_message": "reasoning",
            "tool_call_message": "tool call",
            "tool_return_message": "tool return",
            "approval_request_message": "approval request",
            "approval_response_message": "approval",
            "system_message": "system",
            "summary_message": "summary",
            "event_message": "event",
        }
        skip = set()
        if not reasoning:
            skip |= {"reasoning_message", "hidden_reasoning_message"}
        if not tools:
            skip |= {
                "tool_call_message",
                "tool_return_message",
                "approval_request_message",
                "approval_response_message",
            }
        if not system:
            skip |= {"system_message"}
        lines: list[str] = []
        current = None
        for row in df.itertuples(index=False):
            mtype = str(row.message_type)
            if mtype in skip:
                continue
            if row.conversation_id != current:
                current = row.conversation_id
                if lines:
                    lines.append("")
                lines.append(f"=== {current} ===")
            text = "" if row.text is None or row.text is pd.NA else str(row.text)
            if width is not None and len(text) > width:
                text = text[: width - 1] + "…"
            stamp = row.date.strftime("%Y-%m-%d %H:%M:%S") if not pd.isna(row.date) else "?"
            label = labels.get(mtype, mtype)
            if (
                mtype == "tool_return_message"
                and row.tool_status is not pd.NA
                and row.tool_status is not None
            ):
                label = f"{label} [{row.tool_status}]"
            lines.append(f"[{stamp}] {label}: {text}")
        return "\n".join(lines)
