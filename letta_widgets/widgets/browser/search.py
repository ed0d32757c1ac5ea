"""Message search across an agent's conversations, for the ConversationBrowser.

Letta Cloud searches every conversation of the agent on the server
(``client.messages.search``, full text). A server without it (letta 0.16.8 answers 400
unless Turbopuffer is configured) gets today's scan instead: the selected conversation's
messages are read and matched here. Every answer says which of the two it did.
"""

from __future__ import annotations

import json
from typing import Any

from letta_widgets.errors import InvalidRequest, NotFound, sdk_errors
from letta_widgets.letta.conversation import DEFAULT
from letta_widgets.render import message_text
from letta_widgets.widgets.browser.messages import MessagePane
from letta_widgets.widgets.browser.session import BrowserSession

__all__ = ["SEARCH_LIMIT", "MessageSearch", "snippet"]

SEARCH_LIMIT = 50
"""Most hits one search returns."""
_SNIPPET = 160


def snippet(text: str, query: str, width: int = _SNIPPET) -> str:
    """``text`` on one line, cut to ``width`` characters around the first match of ``query``."""
    flat = " ".join(str(text or "").split())
    at = flat.lower().find(query.lower()) if query else -1
    if len(flat) <= width:
        return flat
    start = max(0, min(at - width // 3, len(flat) - width)) if at >= 0 else 0
    cut = flat[start : start + width]
    return ("…" if start else "") + cut + ("…" if start + width < len(flat) else "")


def _hit(item: dict[str, Any], query: str) -> dict[str, Any]:
    """One search result as the front-end shows it (plain text only)."""
    text = message_text({**item, "message_type": item.get("message_type")})
    return {
        "conversation_id": item.get("conversation_id") or DEFAULT,
        "message_id": item.get("message_id") or item.get("id"),
        "message_type": item.get("message_type"),
        "date": item.get("created_at") or item.get("date"),
        "snippet": snippet(text, query),
    }


class MessageSearch:
    """Hits from the server's message search, or from a scan of one conversation."""

    def __init__(self, session: BrowserSession, messages: MessagePane) -> None:
        self.s = session
        self.messages = messages

    async def search(self, query: str) -> dict[str, Any]:
        """Hits for ``query``: the server's search, else a scan of the selected conversation."""
        query = " ".join(str(query or "").split())
        agent_id = self.s.require_agent()
        if not query:
            raise InvalidRequest("nothing to search for", "type a word or a phrase")
        try:
            hits = await self.server_search(agent_id, query)
        except (InvalidRequest, NotFound) as err:  # no search there (0.16.8: 400), or no route
            return await self.scan_search(query, err.detail or str(err))
        return {
            "query": query,
            "mode": "server",
            "hits": hits,
            "note": f"{len(hits)} message{'' if len(hits) == 1 else 's'} in all "
            "conversations of the agent (the server's full-text search)",
        }

    async def server_search(self, agent_id: str, query: str) -> list[dict[str, Any]]:
        """The server's full-text search over all of the agent's conversations."""
        with sdk_errors(base_url=self.s.base_url, what=f"the messages of agent {agent_id}"):
            resp = await self.s.aclient.messages.with_raw_response.search(
                query=query, agent_id=agent_id, search_mode="fts", limit=SEARCH_LIMIT
            )
        items = json.loads(resp.http_response.content)
        if isinstance(items, dict):  # a page object on some servers
            items = items.get("items") or items.get("messages") or []
        return [_hit(i, query) for i in items if isinstance(i, dict)]

    async def scan_search(self, query: str, why: str) -> dict[str, Any]:
        """Today's scan: the selected conversation's messages, matched here."""
        cid = self.s.selected
        base = "this server has no message search"
        if not cid:
            return {
                "query": query,
                "mode": "scan",
                "hits": [],
                "note": f"{base} ({_short_reason(why)}): select a conversation to scan it",
            }
        page = await self.messages.page_of(cid, text=query)
        hits = [
            {
                "conversation_id": cid,
                "message_id": item.get("id"),
                "message_type": item.get("mtype"),
                "date": item.get("date"),
                "snippet": snippet(message_text(self.s.cache.raw.get(item["key"]) or {}), query),
            }
            for item in page["items"]
        ]
        more = " (more older ones: scroll the conversation)" if page.get("more") else ""
        return {
            "query": query,
            "mode": "scan",
            "hits": hits[:SEARCH_LIMIT],
            "note": f"{base} ({_short_reason(why)}): scanned {page.get('scanned', 0)} messages "
            f"of the selected conversation, {len(hits)} match{'' if len(hits) == 1 else 'es'}"
            + more,
        }


def _short_reason(why: str) -> str:
    why = " ".join(str(why or "").split())
    return why if len(why) <= 120 else why[:119] + "…"
