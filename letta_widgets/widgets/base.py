"""What every letta-widgets widget shares: static assets, strict kwargs, RPC, errors.

- ``_esm`` / ``_css`` are plain files in ``letta_widgets/static/``; a widget's ESM is
  ``common.js`` (the one front-end renderer of message cards) followed by its own file.
- Unknown keyword arguments raise ``TypeError`` (traitlets would swallow typos).
- Front-end messages are dispatched to ``_on_<kind>`` methods (a message's binary
  buffers, if any, as ``content["buffers"]``); an exception in a handler is shown in the
  widget (``error`` trait), never swallowed.
- The context of the last front-end message is kept, so a job started from a cell
  publishes like a reply to it (see ``letta_widgets._loop``).
- Nothing secret is ever a synced trait: the client lives in ``self._client``.
- Each output also carries a ``text/html`` fallback (``_saved_html``; see
  :mod:`letta_widgets.widgets.saved`), kept current until a front-end renders a view.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets as t

from letta_widgets._loop import Job, WorkerLoop
from letta_widgets.errors import InvalidRequest, LettaWidgetsError, translate
from letta_widgets.letta.images import rules_json
from letta_widgets.letta.messages import types_json
from letta_widgets.widgets.saved import fallback_html

__all__ = ["STATIC", "LettaWidget", "RpcMethod", "bundle"]

RpcMethod = Callable[[dict[str, Any]], Awaitable[Any]]
"""A front-end request's handler: its params in, a JSON-able result out (or it raises)."""

STATIC = Path(__file__).resolve().parent.parent / "static"
"""The folder of the front-end ES modules and CSS that ship in the wheel."""

log = logging.getLogger("letta_widgets")


@cache
def bundle(*names: str) -> str:
    """Concatenate static files into one ES module or stylesheet (no build step).

    A module starts with ``LW_MESSAGE_TYPES``, the message-type table of
    :mod:`letta_widgets.letta.messages` as JSON, so no .js file lists message types, and
    ``LW_IMAGE_RULES`` (:data:`letta_widgets.letta.images.RULES`: the images accepted and
    how a refusal is worded, so the browser says what Python says).
    """
    body = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in names)
    if names and all(name.endswith(".js") for name in names):
        return (
            f"const LW_MESSAGE_TYPES = {types_json()};\n"
            f"const LW_IMAGE_RULES = {rules_json()};\n{body}"
        )
    return body


class LettaWidget(anywidget.AnyWidget):
    """Base class of the toolkit's widgets."""

    error = t.Unicode("", help="The last error, as a sentence that says what to do.").tag(sync=True)

    _saved_traits: tuple[str, ...] = ()
    """The traits whose change rewrites the outputs' fallback (while no view has rendered)."""

    def __init__(self, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(self.trait_names()))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s): {', '.join(unknown)}"
            )
        super().__init__(**kwargs)
        self._last_msg_context: contextvars.Context | None = None
        self._requests: dict[str, Job] = {}  # RPC id -> the job answering it
        self._display_id: str | None = None  # this widget's outputs (one id for them all)
        self._viewed = False  # a front-end has rendered a view: outputs stay as they are
        self.on_msg(self._dispatch)
        if self._saved_traits:
            self.observe(lambda _change: self._refresh_saved(), names=list(self._saved_traits))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} model_id={self.model_id!r}>"

    # ------------------------------------------------------- outputs and their fallback

    def _saved_html(self) -> str | None:
        """The ``text/html`` fallback of this widget's outputs (``None``: none)."""
        return None

    def _fallback(self, title: str, facts: list[str], body: str, left_out: int = 0) -> str:
        """:func:`~letta_widgets.widgets.saved.fallback_html` with the toolkit's note."""
        return fallback_html(
            title,
            facts,
            body,
            left_out=left_out,
            note=f"A saved {type(self).__name__} (letta-widgets): run the notebook in "
            "Jupyter to use it.",
        )

    def _view_bundle(self, **kwargs: Any) -> Any:
        """The widget-view bundle without the fallback (anywidget's)."""
        return super()._repr_mimebundle_(**kwargs)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self._view_bundle(**kwargs)
        if bundle is None:
            return None
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        try:
            fallback = self._saved_html()
        except Exception as exc:  # a fallback never stops the widget from showing
            log.warning("%s: no text/html fallback: %s", type(self).__name__, exc)
            fallback = None
        if fallback:
            data = {**data, "text/html": fallback}
        return data, meta

    def _ipython_display_(self) -> None:
        """Display with a display id, so a headless run can rewrite the fallback."""
        from IPython.display import display

        if self._display_id is None:
            self._display_id = f"lw-{self.model_id}"
        bundle = self._repr_mimebundle_()
        if bundle is None:
            return
        data, meta = bundle
        display(data, metadata=meta, raw=True, display_id=self._display_id)

    def _refresh_saved(self) -> None:
        """Rewrite the outputs' fallback with the widget's current state, if no view has
        rendered (module docstring of :mod:`letta_widgets.widgets.saved`)."""
        if self._display_id is None or self._viewed:
            return
        bundle = self._repr_mimebundle_()
        if bundle is None:
            return
        from IPython.display import update_display

        data, meta = bundle
        try:
            update_display(data, metadata=meta, raw=True, display_id=self._display_id)
        except Exception as exc:  # no IPython display here: nothing to rewrite
            log.debug("%s: fallback not rewritten: %s", type(self).__name__, exc)

    def _resync(self) -> None:
        """Send the synced state again (not the ESM/CSS) and rewrite the fallback, in the
        caller's context: a notebook run headless (nbclient) records only what a cell's own
        messages carry, and a job started by an earlier cell publishes as that cell."""
        self.send_state(key=[k for k in self.keys if not k.startswith("_")])
        self._refresh_saved()

    def _on_viewed(self, _content: dict[str, Any]) -> None:
        """``{"kind": "viewed"}``: a front-end rendered a view; outputs are left alone now."""
        self._viewed = True

    def _dispatch(self, _widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        # the message's binary parts (files), as bytes; never a "buffers" key of its JSON
        content = {**content, "buffers": [bytes(b) for b in buffers or ()]}
        self._last_msg_context = contextvars.copy_context()
        kind = str(content.get("kind", ""))
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            self.show_error(f"unknown front-end message {kind!r}")
            return
        try:
            handler(content)
        except Exception as exc:
            self.show_error(exc)

    # ----------------------------------------------------------------- RPC

    def _rpc_methods(self) -> Mapping[str, RpcMethod]:
        """The requests the front-end may make (``lwRpc(model).call(name, params)``)."""
        return {}

    def _on_rpc(self, content: dict[str, Any]) -> None:
        """``{"kind": "rpc", "id", "method", "params"}``: a job on the worker loop that always
        answers ``{"kind": "reply", "id", "result"}`` or ``{…, "error", "cancelled"?}``."""
        rid = str(content.get("id", ""))
        method = str(content.get("method", ""))
        params = content.get("params")
        handler = self._rpc_methods().get(method)

        async def answer() -> None:
            try:
                if handler is None:
                    raise InvalidRequest(f"unknown request {method!r}", "reload the widget")
                result = await handler(params if isinstance(params, dict) else {})
                self.send_custom({"kind": "reply", "id": rid, "result": result})
            except asyncio.CancelledError:
                self.send_custom(
                    {"kind": "reply", "id": rid, "error": "cancelled", "cancelled": True}
                )
                raise
            except Exception as exc:  # always answer, with a sentence for people
                err = translate(exc, base_url=getattr(self, "_base_url", None))
                self.send_custom({"kind": "reply", "id": rid, "error": str(err)})

        job = WorkerLoop.get().submit(answer(), context=self._last_msg_context)
        self._requests[rid] = job
        # forgotten when it ends: a callback added to a finished future runs at once, so a
        # request that ends before it is recorded is not kept either
        job.future.add_done_callback(lambda _f: self._requests.pop(rid, None))

    def _on_abort(self, content: dict[str, Any]) -> None:
        """``{"kind": "abort", "id"}``: cancel the request's job (its reply says cancelled)."""
        job = self._requests.get(str(content.get("id", "")))
        if job is not None:
            job.cancel()

    def send_custom(self, content: dict[str, Any]) -> None:
        """Send a custom message to the front-end views.

        Widgets whose public API has its own ``send`` (ChatCell, CompareView) use
        this, never ``self.send``, for comm messages.
        """
        ipywidgets.Widget.send(self, content)

    def show_error(self, error: BaseException | str) -> None:
        """Show an error in the widget (and log it); the widget stays usable."""
        if isinstance(error, BaseException) and not isinstance(error, LettaWidgetsError):
            try:
                error = translate(error)
            except Exception:  # pragma: no cover - translate never raises in practice
                error = repr(error)
        text = str(error)
        log.warning("%s: %s", type(self).__name__, text)
        self.error = text

    def clear_error(self) -> None:
        """Remove the error banner."""
        self.error = ""
