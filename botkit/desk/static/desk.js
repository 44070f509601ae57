// The agent desk: sign in with a token, then follow the live feed (/desk/api/events) and act
// through the JSON API. Everything the server sends is shown with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "botkit-desk-token";

const desk = {
  token: "",
  state: null,
  clockOffset: 0, // server seconds minus browser seconds
  selected: null,
  entries: new Map(), // conversation SID -> Map(index -> entry)
  stream: null,
};

// Talking to the server -----------------------------------------------------------------------

async function api(method, path, body) {
  const response = await fetch(`/desk/api/${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${desk.token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function connect() {
  if (desk.stream) desk.stream.close();
  const stream = new EventSource(`/desk/api/events?token=${encodeURIComponent(desk.token)}`);
  stream.addEventListener("state", (event) => showState(JSON.parse(event.data)));
  stream.addEventListener("entries", (event) => addEntries(JSON.parse(event.data)));
  stream.addEventListener("notice", (event) => notify(JSON.parse(event.data).text));
  desk.stream = stream;
}

// Signing in and out --------------------------------------------------------------------------

async function signIn(token) {
  desk.token = token;
  try {
    showState(await api("GET", "state"));
  } catch (error) {
    desk.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(error.status === 401 ? "That token is not an agent's." : error.message);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("signin").hidden = true;
  $("desk").hidden = false;
  connect();
}

function showSignIn(problem) {
  $("desk").hidden = true;
  $("signin").hidden = false;
  $("signin-error").hidden = !problem;
  $("signin-error").textContent = problem || "";
  $("token").focus();
}

function signOut() {
  if (desk.stream) desk.stream.close();
  desk.stream = null;
  desk.token = "";
  desk.state = null;
  desk.selected = null;
  desk.entries.clear();
  sessionStorage.removeItem(TOKEN_KEY);
  showSignIn("");
}

// Showing the state ---------------------------------------------------------------------------

function showState(state) {
  desk.state = state;
  desk.clockOffset = state.now - Date.now() / 1000;
  const me = state.me;
  $("me-name").textContent = me.agent;
  $("me-avatar").textContent = me.agent.replace(/^[^a-z0-9]+/i, "").slice(0, 1).toUpperCase();
  $("me-load").textContent = `${me.load}/${me.capacity}`;
  $("desk").dataset.presence = me.presence;
  for (const button of $("presence").querySelectorAll("button")) {
    button.setAttribute("aria-checked", String(button.dataset.presence === me.presence));
  }
  const mine = state.mine.map((c) => c.conversation_sid);
  if (desk.selected && !mine.includes(desk.selected)) desk.selected = null;
  if (!desk.selected && mine.length) desk.selected = mine[0];
  for (const sid of [...desk.entries.keys()]) if (!mine.includes(sid)) desk.entries.delete(sid);
  showQueues(state.queues);
  showMine(state.mine);
  showTeam(state.team);
  showConversation();
  tick();
}

function showQueues(queues) {
  const root = $("queues");
  root.replaceChildren();
  let waiting = 0;
  for (const queue of queues) {
    waiting += queue.length;
    const group = el("div", "skill");
    const head = el("div", "skill-head");
    head.append(el("span", "", queue.skill), el("span", "", `${queue.length} waiting`));
    group.append(head);
    const list = el("ul", "list");
    for (const conversation of queue.waiting) list.append(item(conversation, "queued_at"));
    group.append(list);
    const more = queue.length - queue.waiting.length;
    if (more > 0) group.append(el("p", "empty", `and ${more} more`));
    root.append(group);
  }
  if (!queues.length) root.append(el("p", "empty", "No skills yet."));
  $("take-next").disabled = waiting === 0;
  $("tab-queue").textContent = waiting ? String(waiting) : "";
}

function showMine(mine) {
  const list = $("mine");
  list.replaceChildren();
  for (const conversation of mine) {
    const row = item(conversation, "queued_at");
    row.classList.add("selectable");
    row.classList.toggle("selected", conversation.conversation_sid === desk.selected);
    row.addEventListener("click", () => {
      desk.selected = conversation.conversation_sid;
      setTab("conversation");
      showMine(desk.state.mine);
      showConversation();
    });
    list.append(row);
  }
  $("mine-empty").hidden = mine.length > 0;
  $("tab-chats").textContent = mine.length ? String(mine.length) : "";
}

function showTeam(team) {
  const list = $("team");
  list.replaceChildren();
  for (const agent of team) {
    const row = el("li");
    row.dataset.presence = agent.presence;
    row.append(el("span", "dot"), el("span", "", agent.agent));
    row.append(el("span", "cap", `${agent.presence} · ${agent.load}/${agent.capacity}`));
    list.append(row);
  }
  const select = $("transfer-to");
  select.replaceChildren();
  const me = desk.state.me.agent;
  for (const agent of team) {
    if (agent.agent !== me) select.append(option(agent.agent, `${agent.agent} (${agent.presence})`));
  }
  const skills = [...new Set(team.flatMap((agent) => agent.skills))].sort();
  for (const skill of skills) select.append(option(`@${skill}`, `@${skill} queue`));
}

function item(conversation, since) {
  const row = el("li", "item");
  row.dataset.sid = conversation.conversation_sid;
  const who = el("span", "who", conversation.customer || conversation.conversation_sid);
  if (conversation.priority > 0) who.append(el("span", "badge", `P${conversation.priority}`));
  const wait = el("span", "wait");
  wait.dataset.since = String(conversation[since]);
  row.append(who, wait);
  const why = [conversation.skill, conversation.reason].filter(Boolean).join(" · ");
  row.append(el("span", "why", why));
  return row;
}

function tick() {
  const now = Date.now() / 1000 + desk.clockOffset;
  for (const wait of document.querySelectorAll(".wait[data-since]")) {
    wait.textContent = duration(now - Number(wait.dataset.since));
  }
}

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

// The conversation ----------------------------------------------------------------------------

function addEntries({ conversation_sid: sid, entries }) {
  const known = desk.entries.get(sid) || new Map();
  for (const entry of entries) known.set(entry.index, entry);
  desk.entries.set(sid, known);
  if (sid === desk.selected) showConversation();
}

function showConversation() {
  const sid = desk.selected;
  const conversation = desk.state && desk.state.mine.find((c) => c.conversation_sid === sid);
  $("no-conversation").hidden = Boolean(conversation);
  $("conversation-view").hidden = !conversation;
  if (!conversation) return;
  $("conv-customer").textContent = conversation.customer || sid;
  $("conv-meta").textContent = [conversation.skill, conversation.reason, sid]
    .filter(Boolean)
    .join(" · ");
  const entries = [...(desk.entries.get(sid) || new Map()).values()].sort((a, b) => a.index - b.index);
  const turns = entries.filter((e) => e.kind === "turn");
  const handoff = entries.filter((e) => e.kind === "handoff").pop();
  $("handover").hidden = !turns.length && !handoff;
  $("handover-reason").textContent = handoff && handoff.text ? `Reason: ${handoff.text}` : "";
  const summary = $("handover-summary");
  summary.replaceChildren();
  for (const [key, value] of Object.entries((handoff && handoff.data.summary) || {})) {
    summary.append(el("dt", "", key), el("dd", "", value));
  }
  const list = $("handover-turns");
  list.replaceChildren();
  for (const turn of turns) {
    const row = el("li");
    row.append(el("span", "role", turn.role === "bot" ? "Bot" : "Customer"), turn.text);
    list.append(row);
  }
  const wrap = $("thread-wrap");
  const atBottom = wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight < 40;
  const thread = $("thread");
  thread.replaceChildren();
  const me = desk.state.me.agent;
  for (const entry of entries) {
    if (entry.kind !== "message" && entry.kind !== "note") continue;
    const mine = entry.author === me;
    const kind = entry.kind === "note" ? "note" : entry.role;
    const bubble = el("li", `msg ${kind}${entry.role === "agent" && !mine ? " other" : ""}`);
    bubble.dataset.index = String(entry.index);
    if (entry.kind === "note") bubble.append(el("span", "by", `Note · ${entry.author || ""}`));
    else if (entry.role === "agent" && !mine) bubble.append(el("span", "by", entry.author || ""));
    bubble.append(entry.text);
    thread.append(bubble);
  }
  if (atBottom) wrap.scrollTop = wrap.scrollHeight;
}

// Acting --------------------------------------------------------------------------------------

async function act(work) {
  try {
    await work();
  } catch (error) {
    notify(error.message);
  }
}

function setTab(tab) {
  $("desk").dataset.tab = tab;
}

function notify(text) {
  const notice = el("div", "notice", text);
  $("notices").append(notice);
  while ($("notices").children.length > 3) $("notices").firstChild.remove();
  setTimeout(() => notice.remove(), 7000);
}

function el(tag, className = "", text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function option(value, label) {
  const node = el("option", "", label);
  node.value = value;
  return node;
}

function wire() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("token").value.trim());
  });
  $("signout").addEventListener("click", signOut);
  for (const button of $("presence").querySelectorAll("button")) {
    button.addEventListener("click", () =>
      act(() => api("POST", "presence", { presence: button.dataset.presence })),
    );
  }
  for (const button of $("tabs").querySelectorAll("button")) {
    button.addEventListener("click", () => setTab(button.dataset.tab));
  }
  $("take-next").addEventListener("click", () =>
    act(async () => {
      const taken = await api("POST", "next");
      if (!taken.conversation_sid) notify("No one is waiting for you (or you have no room).");
      else {
        desk.selected = taken.conversation_sid;
        setTab("conversation");
      }
    }),
  );
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text || !desk.selected) return;
    const id = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    $("text").value = "";
    act(() => api("POST", `conversations/${desk.selected}/messages`, { text, id }));
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("transfer-open").addEventListener("click", () => {
    $("transfer-form").hidden = !$("transfer-form").hidden;
  });
  $("transfer-cancel").addEventListener("click", () => {
    $("transfer-form").hidden = true;
  });
  $("transfer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { to: $("transfer-to").value, note: $("transfer-note").value };
    act(async () => {
      const result = await api("POST", `conversations/${desk.selected}/transfer`, body);
      notify(result.told);
      $("transfer-form").hidden = true;
      $("transfer-note").value = "";
    });
  });
  $("close").addEventListener("click", () =>
    act(() => api("POST", `conversations/${desk.selected}/close`)),
  );
  setInterval(tick, 1000);
}

wire();
const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromLink) history.replaceState(null, "", location.pathname);
const saved = fromLink || sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
else showSignIn("");
