// @ts-check
// Connection card for letta_widgets.ConnectionCard (anywidget ESM, no build step).
// Everything shown comes from synced traits; Refresh sends {type: "refresh"} to Python.

const STATUS_TEXT = {
  idle: "not checked",
  checking: "checking…",
  ok: "connected",
  error: "unreachable",
};

function fact(list, key, label) {
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.className = `lw-connection-${key}`;
  list.append(dt, dd);
  return dd;
}

function formatCount(n, capped) {
  if (n === null || n === undefined) return "—";
  return capped ? `${n}+` : String(n);
}

function render({ model, el }) {
  el.classList.add("lw-connection");
  el.setAttribute("role", "region");
  el.setAttribute("aria-label", "Letta server connection");
  const card = document.createElement("div");
  card.className = "lw-connection-card";

  const header = document.createElement("div");
  header.className = "lw-connection-header";
  const dot = document.createElement("span");
  dot.className = "lw-connection-dot";
  dot.setAttribute("aria-hidden", "true");
  const title = document.createElement("span");
  title.className = "lw-connection-title";
  title.textContent = "Letta server";
  const status = document.createElement("span");
  status.className = "lw-connection-status";
  status.setAttribute("role", "status");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "lw-connection-refresh";
  button.textContent = "Refresh";
  button.title = "Check the server again";
  header.append(dot, title, status, button);

  const facts = document.createElement("dl");
  facts.className = "lw-connection-facts";
  const url = fact(facts, "url", "URL");
  const version = fact(facts, "version", "Version");
  const agents = fact(facts, "agents", "Agents");
  const conversations = fact(facts, "conversations", "Conversations");
  const rtt = fact(facts, "rtt", "Round trip");

  const error = document.createElement("div");
  error.className = "lw-connection-error";
  error.setAttribute("role", "alert");

  card.append(header, facts, error);
  el.appendChild(card);

  const update = () => {
    const s = model.get("status");
    const capped = model.get("counts_capped");
    const ms = model.get("rtt_ms");
    card.dataset.status = s;
    status.textContent = STATUS_TEXT[s] ?? s;
    url.textContent = model.get("url") || "—";
    version.textContent = model.get("server_version") || "—";
    agents.textContent = formatCount(model.get("agents"), capped);
    conversations.textContent = formatCount(model.get("conversations"), capped);
    rtt.textContent = ms === null || ms === undefined ? "—" : `${ms.toFixed(1)} ms`;
    error.textContent = model.get("error") || "";
    error.hidden = s !== "error";
    // aria-disabled, not disabled: a Refresh pressed from the keyboard keeps the focus
    if (s === "checking") button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
    card.dataset.checks = String(model.get("checks"));
  };

  const onClick = () => {
    if (button.getAttribute("aria-disabled") === "true") return;
    card.dataset.status = "checking";
    status.textContent = STATUS_TEXT.checking;
    button.setAttribute("aria-disabled", "true");
    model.send({ kind: "refresh" });
  };

  button.addEventListener("click", onClick);
  model.on("change", update);
  update();
  lwStartView(model, el, "connection card");

  return () => {
    button.removeEventListener("click", onClick);
    model.off("change", update);
  };
}

export default { render };
