"""ConversationBrowser: the widget (:mod:`.widget`) and its panes, each a plain class.

- :mod:`.session`: what every pane shares (the client, the agent, the one cache);
- :mod:`.cache`: :class:`~.cache.BrowserCache`, the only place that forgets anything;
- :mod:`.conversations`: the agent picker, the conversation list and its row statistics;
- :mod:`.messages`: the message pane (pages, in-context marks, details, fork points);
- :mod:`.search`: message search (the server's, or a scan of one conversation);
- :mod:`.memory`: compiled memory against the current blocks.

Forks are recorded in :mod:`letta_widgets.lineage` (the server keeps no parent link).
"""

from letta_widgets.widgets.browser.conversations import CONVERSATION_PAGE
from letta_widgets.widgets.browser.messages import PAGE_LIMIT
from letta_widgets.widgets.browser.widget import ConversationBrowser

__all__ = ["CONVERSATION_PAGE", "PAGE_LIMIT", "ConversationBrowser"]
