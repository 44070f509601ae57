/* botkit simulator: play the phones that text your bot.
 *
 * Talks only to the sandbox's own API:
 *   GET  /sandbox/phones                      {phones: [{address, channel, name}]}
 *   POST /sandbox/phones                      {address, name} (a handset), or {identity, name}
 *                                             (a chat identity: an agent's chat client)
 *   GET  /sandbox/numbers                     {numbers: [{number, sms_url}]}
 *   GET  /sandbox/phones/{address}/messages   {messages: [SandboxMessage]}
 *   POST /sandbox/phones/{address}/messages   {to, body, media_urls, button_text, button_payload,
 *                                              list_id, list_title, replied_to_sid, latitude,
 *                                              longitude, label, address}
 *   GET  /sandbox/events (SSE)                "message": SandboxMessage, "phone": {address, channel}
 *
 * A chat identity's thread is every message of the conversations it is in (with
 * conversation_sid, conversation_name and author); it sends {to: CH..., body} into one.
 *
 * A SandboxMessage is Twilio's Message JSON plus what only a handset sees: media [{url,
 * content_type}], actions [{type, title, id, url, phone}] (Content template buttons), and, for
 * messages that come from a Conversation, optional conversation_sid and author, shown the way a
 * group chat shows who wrote what.
 */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const svg = (markup) => {
    const wrap = document.createElement("span");
    wrap.innerHTML = markup;
    return wrap.firstElementChild;
  };

  const ICONS = {
    clock:
      '<svg viewBox="0 0 16 16" class="tick-icon"><circle cx="8" cy="8" r="6.2" fill="none" stroke="currentColor" stroke-width="1.4"/><path d="M8 4.6V8l2.3 1.5" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round"/></svg>',
    single:
      '<svg viewBox="0 0 16 16" class="tick-icon"><path d="M2.5 8.6l3.2 3.1L13.4 4" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/></svg>',
    double:
      '<svg viewBox="0 0 20 16" class="tick-icon double"><path d="M1.5 8.6l3.2 3.1L12.4 4" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/><path d="M8.6 11.3l.5.4L16.8 4" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/></svg>',
    failed:
      '<svg viewBox="0 0 16 16" class="tick-icon"><circle cx="8" cy="8" r="6.5" fill="currentColor"/><path d="M8 4.5v4.2M8 10.9v.4" stroke="#fff" stroke-width="1.7" stroke-linecap="round"/></svg>',
    file:
      '<svg viewBox="0 0 24 24"><path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M14 3v5h5" fill="none" stroke="currentColor" stroke-width="1.6"/></svg>',
    reply:
      '<svg viewBox="0 0 24 24" class="action-icon"><path d="M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11z" fill="currentColor"/></svg>',
    link:
      '<svg viewBox="0 0 24 24" class="action-icon"><path d="M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/></svg>',
    call:
      '<svg viewBox="0 0 24 24" class="action-icon"><path d="M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z" fill="currentColor"/></svg>',
    list:
      '<svg viewBox="0 0 24 24" class="action-icon"><path d="M4 6h2M9 6h11M4 12h2M9 12h11M4 18h2M9 18h11" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>',
    pin:
      '<svg viewBox="0 0 24 24"><path d="M12 22s-7-6-7-12a7 7 0 0 1 14 0c0 6-7 12-7 12z"/><circle cx="12" cy="10" r="2.6" fill="#fff"/></svg>',
    person:
      '<svg viewBox="0 0 24 24"><circle cx="12" cy="8.5" r="4" fill="currentColor"/><path d="M4 20.5c.8-4 4-6 8-6s7.2 2 8 6z" fill="currentColor"/></svg>',
  };

  const PENDING = new Set(["accepted", "scheduled", "queued", "sending"]);
  const FAILED = new Set(["failed", "undelivered", "canceled"]);
  const TYPING_TIMEOUT_MS = 8000;

  const state = {
    phones: new Map(), // address -> {address, channel, name}
    numbers: [], // [{number, sms_url}]
    messages: new Map(), // sid -> SandboxMessage (with _seq)
    current: null, // selected phone address
    unread: new Map(), // address -> count
    typing: null, // {address, timer}
    tapped: new Map(), // sid of a message with buttons -> payload of the button tapped
    openLists: new Set(), // sids of messages whose list picker is open
    nodes: new Map(), // sid -> {sig, status, node} of the current thread, reused when unchanged
    seq: 0,
    animate: false, // only messages that arrive while a thread is open animate in
    connectedOnce: false,
    drawerOpen: false, // the phone list, on a screen too narrow for it beside the thread
  };

  const dom = {
    app: $("app"),
    sidebar: $("sidebar"),
    scrim: $("scrim"),
    phonesToggle: $("phones-toggle"),
    phonesUnread: $("phones-unread"),
    chat: $("chat"),
    welcome: $("welcome"),
    header: $("chat-header"),
    avatar: $("chat-avatar"),
    name: $("chat-name"),
    sub: $("chat-sub"),
    target: $("target"),
    threadWrap: $("thread-wrap"),
    thread: $("thread"),
    emptyThread: $("empty-thread"),
    emptyText: $("empty-text"),
    composer: $("composer"),
    message: $("message"),
    send: $("send"),
    attach: $("attach"),
    attachRow: $("attach-row"),
    locate: $("location"),
    locationRow: $("location-row"),
    mediaUrl: $("media-url"),
    phoneList: $("phone-list"),
    phoneListEmpty: $("phone-list-empty"),
    live: $("live"),
    dialog: $("phone-dialog"),
    phoneForm: $("phone-form"),
    phoneName: $("phone-name"),
    phoneNumber: $("phone-number"),
    phoneIdentity: $("phone-identity"),
    numberField: $("number-field"),
    identityField: $("identity-field"),
    phoneError: $("phone-error"),
    toast: $("toast"),
  };

  // --- helpers -----------------------------------------------------------------------------

  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const text = await response.text();
    let data = {};
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { message: text };
    }
    if (!response.ok) {
      const code = data.code ? ` (${data.code})` : "";
      throw new Error((data.message || `HTTP ${response.status}`) + code);
    }
    return data;
  }

  const bare = (address) => (address || "").replace(/^whatsapp:/, "");
  const CHANNEL_NAMES = { sms: "SMS", whatsapp: "WhatsApp", chat: "Agent chat" };
  const channelName = (channel) => CHANNEL_NAMES[channel] || "SMS";
  const isChat = (address) => (state.phones.get(address) || {}).channel === "chat";
  const isWhatsApp = (address) => (address || "").startsWith("whatsapp:");
  const phonePath = (address) => `/sandbox/phones/${encodeURIComponent(address)}/messages`;

  function formatNumber(address) {
    const number = bare(address);
    const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(number);
    return nanp ? `+1 (${nanp[1]}) ${nanp[2]}-${nanp[3]}` : number;
  }

  function displayName(phone) {
    return phone.name || formatNumber(phone.address);
  }

  /** A conversation author: a simulated phone's name, a number, or a chat identity. */
  function authorName(author) {
    const phone = state.phones.get(author);
    if (phone) return displayName(phone);
    return /^(whatsapp:)?\+\d+$/.test(author) ? formatNumber(author) : author;
  }

  function initials(name) {
    const words = name.replace(/[^\p{L}\p{N} ]/gu, "").trim().split(/\s+/).filter(Boolean);
    if (!words.length) return "";
    return (words[0][0] + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
  }

  function hue(text) {
    let hash = 0;
    for (const char of text) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
    return hash % 360;
  }

  function avatar(node, phone) {
    node.replaceChildren();
    node.style.setProperty("--hue", hue(phone.address));
    const letters = phone.name ? initials(phone.name) : "";
    if (letters) node.textContent = letters;
    else node.append(svg(ICONS.person));
  }

  function messageTime(message) {
    const parsed = Date.parse(message.date_created || "");
    return Number.isNaN(parsed) ? new Date() : new Date(parsed);
  }

  const clock = (date) => date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });

  function dayLabel(date) {
    const today = new Date();
    const yesterday = new Date(today);
    yesterday.setDate(today.getDate() - 1);
    if (date.toDateString() === today.toDateString()) return "Today";
    if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
    return date.toLocaleDateString([], { weekday: "short", month: "short", day: "numeric" });
  }

  let toastTimer = null;
  function toast(text) {
    dom.toast.textContent = text;
    dom.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      dom.toast.hidden = true;
    }, 4500);
  }

  // --- messages ----------------------------------------------------------------------------

  /** Two agents in one conversation each have their copy of its messages. */
  const keyOf = (message) =>
    message.chat_identity ? `${message.sid}@${message.chat_identity}` : message.sid;

  function remember(message) {
    const known = state.messages.get(keyOf(message));
    message._seq = known ? known._seq : ++state.seq;
    state.messages.set(keyOf(message), message);
    return !known;
  }

  const order = (a, b) => messageTime(a) - messageTime(b) || a._seq - b._seq;

  /** Whether a message is in address's thread: a chat identity's copy of a conversation
   * message is in that identity's thread only (the customer's handset has its own copy). */
  function belongsTo(message, address) {
    if (message.chat_identity) return message.chat_identity === address;
    return message.to === address || message.from === address;
  }

  function messagesOf(address) {
    return [...state.messages.values()].filter((m) => belongsTo(m, address)).sort(order);
  }

  function counterpart(message, address) {
    return message.from === address ? message.to : message.from;
  }

  /** Text with links and (on WhatsApp) *bold* _italic_ ~strike~ `mono`, built as DOM nodes. */
  function formatted(text, whatsapp) {
    const fragment = document.createDocumentFragment();
    const pattern = whatsapp
      ? /(https?:\/\/[^\s]+)|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~|```([^`]+)```/g
      : /(https?:\/\/[^\s]+)/g;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      fragment.append(text.slice(last, match.index));
      if (match[1]) {
        const link = el("a", "", match[1]);
        link.href = match[1];
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        fragment.append(link);
      } else if (match[2]) fragment.append(el("strong", "", match[2]));
      else if (match[3]) fragment.append(el("em", "", match[3]));
      else if (match[4]) fragment.append(el("s", "", match[4]));
      else if (match[5]) fragment.append(el("code", "", match[5]));
      last = match.index + match[0].length;
    }
    fragment.append(text.slice(last));
    return fragment;
  }

  /** Media types by file extension. */
  const EXTENSION_TYPES = new Map(
    Object.entries({
      jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif",
      webp: "image/webp", svg: "image/svg+xml", bmp: "image/bmp", heic: "image/heic",
      mp4: "video/mp4", "3gp": "video/3gpp", mov: "video/quicktime", webm: "video/webm",
      mp3: "audio/mpeg", m4a: "audio/mp4", ogg: "audio/ogg", opus: "audio/opus",
      amr: "audio/amr", wav: "audio/wav",
      pdf: "application/pdf", txt: "text/plain", csv: "text/csv", css: "text/css",
      htm: "text/html", html: "text/html", js: "text/javascript", json: "application/json",
      xml: "application/xml", vcf: "text/vcard", ics: "text/calendar", zip: "application/zip",
      doc: "application/msword",
      docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      xls: "application/vnd.ms-excel",
      xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      ppt: "application/vnd.ms-powerpoint",
      pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    })
  );

  /** The type a URL's file extension says, or "" when it has none this page knows. */
  function extensionType(url) {
    let path = url || "";
    try {
      path = new URL(path, location.href).pathname;
    } catch {
      path = path.split(/[?#]/)[0];
    }
    const name = path.split("/").pop() || "";
    const dot = name.lastIndexOf(".");
    return dot > 0 ? EXTENSION_TYPES.get(name.slice(dot + 1).toLowerCase()) || "" : "";
  }

  /** The type to show media as: the one the sandbox gives, except that the sandbox says
   * image/jpeg of any URL whose extension it does not know, so there a known extension that
   * says otherwise (style.css: text/css) is the better word. */
  function mediaType(item) {
    const given = (item.content_type || "").toLowerCase();
    const guessed = extensionType(item.url);
    return guessed && (!given || given === "image/jpeg") ? guessed : given;
  }

  function fileChip(url, contentType) {
    const chip = el("a", "file-chip");
    chip.href = url;
    chip.target = "_blank";
    chip.rel = "noopener noreferrer";
    chip.append(svg(ICONS.file));
    const label = el("span", "file-name", decodeURIComponent(url.split("?")[0].split("/").pop() || url));
    const kind = el("span", "file-type", contentType || "file");
    const text = el("span", "file-text");
    text.append(label, kind);
    chip.append(text);
    return chip;
  }

  function mediaNode(item) {
    const type = mediaType(item);
    if (type.startsWith("image/")) {
      const link = el("a", "thumb");
      link.href = item.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      const image = el("img");
      image.loading = "lazy";
      image.alt = "image";
      image.src = item.url;
      image.addEventListener("error", () => link.replaceWith(fileChip(item.url, type)));
      link.append(image);
      return link;
    }
    if (type.startsWith("video/")) {
      const video = el("video", "thumb");
      video.src = item.url;
      video.controls = true;
      video.preload = "metadata";
      return video;
    }
    return fileChip(item.url, type);
  }

  function ticks(message) {
    const status = message.status || "";
    let icon = ICONS.double;
    if (PENDING.has(status)) icon = ICONS.clock;
    else if (status === "sent") icon = ICONS.single;
    else if (FAILED.has(status)) icon = ICONS.failed;
    const node = el("span", "ticks");
    node.dataset.status = status;
    node.title = status;
    node.append(svg(icon));
    return node;
  }

  function statusLine(message) {
    if (!FAILED.has(message.status)) return null;
    const reason = message.error_code
      ? `${message.error_code}${message.error_message ? ` · ${message.error_message}` : ""}`
      : message.status;
    return el("div", "msg-error", `Not delivered: ${reason}`);
  }

  function actionNode(message, action, whatsapp) {
    const type = (action.type || "QUICK_REPLY").toUpperCase();
    if (type === "URL" && action.url) {
      const link = el("a", "action");
      link.href = action.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.append(svg(ICONS.link), el("span", "", action.title));
      return link;
    }
    if (type === "PHONE_NUMBER" && action.phone) {
      const link = el("a", "action");
      link.href = `tel:${action.phone}`;
      link.append(svg(ICONS.call), el("span", "", action.title));
      return link;
    }
    const button = el("button", "action");
    button.type = "button";
    button.dataset.payload = action.id || action.title;
    button.append(svg(ICONS.reply), el("span", "", action.title));
    button.disabled = !whatsapp;
    if (state.tapped.get(message.sid) === button.dataset.payload) button.classList.add("tapped");
    button.addEventListener("click", () => tap(message, action, button));
    return button;
  }

  /** A shared location: a pin with its label or address, and the coordinates. */
  function locationNode(location) {
    const card = el("a", "location-card");
    card.href = `https://www.openstreetmap.org/?mlat=${location.latitude}&mlon=${location.longitude}`;
    card.target = "_blank";
    card.rel = "noopener noreferrer";
    const words = el("span", "location-words");
    const place = location.label || location.address || "Location";
    words.append(el("span", "location-label", place));
    if (location.label && location.address) words.append(el("span", "location-coords", location.address));
    words.append(el("span", "location-coords", `${location.latitude}, ${location.longitude}`));
    card.append(svg(ICONS.pin), words);
    return card;
  }

  /** A list picker: its button, and the items it opens; tapping one answers with ListId and
   * ListTitle, as WhatsApp does. */
  function listPicker(message, items, whatsapp) {
    const open = el("button", "action list-open");
    open.type = "button";
    open.disabled = !whatsapp;
    open.append(svg(ICONS.list), el("span", "", items[0].button || "Choose"));
    const panel = el("div", "list-items");
    panel.hidden = !state.openLists.has(message.sid);
    open.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      if (panel.hidden) state.openLists.delete(message.sid);
      else state.openLists.add(message.sid);
    });
    for (const item of items) {
      const choice = el("button", "list-item");
      choice.type = "button";
      choice.disabled = !whatsapp;
      choice.dataset.payload = item.id;
      choice.append(el("span", "list-title", item.title));
      if (item.description) choice.append(el("span", "list-description", item.description));
      if (state.tapped.get(message.sid) === item.id) choice.classList.add("tapped");
      choice.addEventListener("click", () => pick(message, item, choice));
      panel.append(choice);
    }
    return [open, panel];
  }

  function bubble(message, address) {
    const mine = message.from === address;
    const whatsapp = isWhatsApp(address);
    const row = el("div", `msg ${mine ? "mine" : "theirs"}`);
    row.dataset.sid = message.sid;
    row.dataset.status = message.status || "";
    if (FAILED.has(message.status)) row.classList.add("failed");

    if (message.author && !mine) {
      const author = el("div", "author", authorName(message.author));
      author.style.setProperty("--hue", hue(message.author));
      row.append(author);
    }
    const box = el("div", "bubble");
    const media = message.media || [];
    if (media.length) {
      box.classList.add("has-media");
      const gallery = el("div", `media count-${Math.min(media.length, 4)}`);
      for (const item of media) gallery.append(mediaNode(item));
      box.append(gallery);
    }
    const body = message.body || "";
    const text = el("div", "text");
    if (message.location) box.append(locationNode(message.location));
    if (body) text.append(formatted(body, whatsapp));
    else if (!media.length && !message.location) {
      text.classList.add("redacted");
      text.textContent = "Message redacted";
    }
    const meta = el("span", "meta");
    const time = el("time", "", clock(messageTime(message)));
    time.dateTime = messageTime(message).toISOString();
    meta.append(time, ticks(message));
    text.append(meta);
    box.append(text);
    box.title = `${message.sid}\n${message.status}${message.num_segments ? ` · ${message.num_segments} segment(s)` : ""}`;
    row.append(box);

    const actions = (message.actions || []).filter((a) => a.type !== "LIST_ITEM");
    const items = (message.actions || []).filter((a) => a.type === "LIST_ITEM");
    if (actions.length || items.length) {
      row.classList.add("has-actions");
      const list = el("div", "actions");
      for (const action of actions) list.append(actionNode(message, action, whatsapp));
      if (items.length) list.append(...listPicker(message, items, whatsapp));
      row.append(list);
    }
    const error = statusLine(message);
    if (error) row.append(error);
    return row;
  }

  function daySeparator(date) {
    const node = el("div", "day");
    node.dataset.day = date.toDateString();
    node.append(el("span", "", dayLabel(date)));
    return node;
  }

  function typingNode() {
    const node = el("div", "msg theirs typing");
    const box = el("div", "bubble");
    box.append(el("i"), el("i"), el("i"));
    node.append(box);
    return node;
  }

  function nearBottom() {
    const wrap = dom.threadWrap;
    return wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight < 120;
  }

  function scrollToBottom() {
    dom.threadWrap.scrollTop = dom.threadWrap.scrollHeight;
  }

  /** A message's node, reused while it is unchanged so images do not reload and only new
   * messages and changed ticks animate. */
  function threadNode(message, address) {
    const sig = JSON.stringify([
      message.status, message.body, message.error_code, message.media, message.actions,
      message.location, state.tapped.get(message.sid),
    ]);
    const known = state.nodes.get(message.sid);
    if (known && known.sig === sig) return known.node;
    const node = bubble(message, address);
    if (state.animate && !known) {
      // Re-inserting a node restarts its CSS animation: play it once, then drop the class.
      node.classList.add("enter");
      node.addEventListener("animationend", () => node.classList.remove("enter"), { once: true });
    }
    if (state.animate && known && known.status !== message.status) {
      const ticksNode = node.querySelector(".ticks");
      ticksNode.classList.add("changed");
      ticksNode.addEventListener("animationend", () => ticksNode.classList.remove("changed"), {
        once: true,
      });
    }
    state.nodes.set(message.sid, { sig, status: message.status, node });
    return node;
  }

  /** Make parent's children be nodes without moving the ones that stay (moving a node restarts
   * its CSS animations, which would make every update flicker). */
  function patch(parent, nodes) {
    const keep = new Set(nodes);
    for (const child of [...parent.children]) if (!keep.has(child)) child.remove();
    nodes.forEach((node, index) => {
      if (parent.children[index] !== node) parent.insertBefore(node, parent.children[index] || null);
    });
  }

  function cached(key, make) {
    if (!state.nodes.has(key)) state.nodes.set(key, { node: make() });
    return state.nodes.get(key).node;
  }

  function renderThread() {
    const address = state.current;
    if (!address) return;
    const stick = nearBottom();
    const list = messagesOf(address);
    const nodes = [];
    let day = null;
    const conversations = new Set();
    for (const message of list) {
      const date = messageTime(message);
      if (date.toDateString() !== day) {
        day = date.toDateString();
        nodes.push(cached(`day:${day}`, () => daySeparator(date)));
      }
      const conversation = message.conversation_sid;
      if (conversation && !conversations.has(conversation)) {
        conversations.add(conversation);
        const mark = () => el("div", "conversation-mark", "Group conversation");
        nodes.push(cached(`conversation:${conversation}`, mark));
      }
      nodes.push(threadNode(message, address));
    }
    if (state.typing && state.typing.address === address) nodes.push(cached("typing", typingNode));
    patch(dom.thread, nodes);
    dom.emptyThread.hidden = list.length > 0;
    if (stick) scrollToBottom();
  }

  // --- phones and numbers ------------------------------------------------------------------

  function lastMessage(address) {
    const list = messagesOf(address);
    return list[list.length - 1] || null;
  }

  /** A message as one line of plain text, for the phone list. */
  function plain(message) {
    const body = (message.body || "").replace(/[*_~`]+([^*_~`\n]+)[*_~`]+/g, "$1").replace(/\s+/g, " ");
    if (body) return body;
    if (message.location) return "Location";
    return message.media && message.media.length ? "Photo" : "";
  }

  function renderPhones() {
    const phones = [...state.phones.values()].sort((a, b) => {
      const la = lastMessage(a.address);
      const lb = lastMessage(b.address);
      return (lb ? messageTime(lb) : 0) - (la ? messageTime(la) : 0) || displayName(a).localeCompare(displayName(b));
    });
    const items = phones.map((phone) => {
      const item = el("li");
      const button = el("button", "phone-item");
      button.type = "button";
      button.dataset.address = phone.address;
      if (phone.address === state.current) button.classList.add("active");
      const face = el("span", "avatar small");
      avatar(face, phone);
      const badge = el("span", `channel-dot ${phone.channel}`);
      badge.title = channelName(phone.channel);
      face.append(badge);
      const lines = el("span", "phone-lines");
      const top = el("span", "phone-top");
      top.append(el("span", "phone-name", displayName(phone)));
      const last = lastMessage(phone.address);
      if (last) top.append(el("span", "phone-time", clock(messageTime(last))));
      const bottom = el("span", "phone-bottom");
      const snippet = last
        ? `${last.from === phone.address ? "You: " : ""}${plain(last)}`
        : phone.name
          ? formatNumber(phone.address)
          : channelName(phone.channel);
      bottom.append(el("span", "phone-snippet", snippet));
      const unread = state.unread.get(phone.address) || 0;
      if (unread) bottom.append(el("span", "unread", String(unread)));
      lines.append(top, bottom);
      button.append(face, lines);
      button.addEventListener("click", () => select(phone.address));
      item.append(button);
      return item;
    });
    dom.phoneList.replaceChildren(...items);
    dom.phoneListEmpty.hidden = phones.length > 0;
    const total = [...state.unread.values()].reduce((sum, n) => sum + n, 0);
    document.title = total ? `(${total}) botkit simulator` : "botkit simulator";
    dom.phonesUnread.textContent = total > 99 ? "99+" : String(total);
    dom.phonesUnread.hidden = !total;
    renderDrawer();
  }

  /** On a narrow screen the phone list is a drawer (style.css; a wide screen ignores
   * data-drawer): open when asked for, and pinned open while there are phones but none is open,
   * as there is no thread to show then. */
  function renderDrawer() {
    const pinned = !state.current && state.phones.size > 0;
    const open = pinned || state.drawerOpen;
    dom.app.dataset.drawer = pinned ? "pinned" : open ? "open" : "closed";
    dom.phonesToggle.setAttribute("aria-expanded", String(open));
  }

  function setDrawer(open) {
    state.drawerOpen = open;
    renderDrawer();
    if (open) {
      const list = dom.phoneList;
      const item = list.querySelector(".phone-item.active") || list.querySelector(".phone-item");
      (item || $("new-phone")).focus();
    }
  }

  const targetKey = (address) => `botkit.simulator.target.${address}`;

  /** Where the current phone can write: bot numbers (a handset), or the conversations it is
   * in, newest first (a chat identity), with their labels. */
  function targetsOf(address) {
    const labels = new Map();
    if (isChat(address)) {
      for (const message of messagesOf(address).reverse()) {
        const sid = message.conversation_sid;
        if (sid && !labels.has(sid)) labels.set(sid, message.conversation_name || sid);
      }
      return labels;
    }
    for (const n of state.numbers) labels.set(n.number, formatNumber(n.number));
    for (const message of messagesOf(address)) {
      const other = bare(counterpart(message, address));
      if (other && !labels.has(other)) labels.set(other, formatNumber(other));
    }
    return labels;
  }

  function renderTargets() {
    const address = state.current;
    if (!address) return;
    const saved = localStorage.getItem(targetKey(address));
    const labels = targetsOf(address);
    const options = [...labels.keys()];
    const chosen = options.includes(saved) ? saved : options[0] || "";
    const key = `${address}|${options.join(",")}`;
    if (dom.target.dataset.options !== key) {
      // Rebuilt only when the choice changes, so an open dropdown is not yanked away.
      dom.target.dataset.options = key;
      dom.target.replaceChildren(
        ...(options.length
          ? options.map((number) => {
              const option = el("option", "", labels.get(number));
              option.value = number;
              return option;
            })
          : [el("option", "", isChat(address) ? "no conversation" : "no bot number")])
      );
    }
    dom.target.value = chosen;
    dom.target.disabled = !options.length;
    const ready = Boolean(chosen);
    dom.message.disabled = !ready;
    dom.send.disabled = !ready;
    const chat = isChat(address);
    dom.message.placeholder = ready
      ? "Message"
      : chat ? "Not in a conversation yet" : "No bot number to text yet";
    dom.emptyText.textContent = chat
      ? `No conversation yet: when a customer asks for a human, the bot hands them to ${address} and the conversation appears here.`
      : ready
        ? `Say hi to ${formatNumber(chosen)}.`
        : "No bot number yet: start your bot with `botkit run`, or register one with PUT /sandbox/numbers/{number}.";
    document.getElementById("chips").hidden = !ready || chat;
  }

  function renderHeader() {
    const phone = state.phones.get(state.current);
    if (!phone) return;
    avatar(dom.avatar, phone);
    dom.name.textContent = displayName(phone);
    dom.sub.textContent = `${channelName(phone.channel)} · ${formatNumber(phone.address)}`;
  }

  function select(address) {
    state.current = address;
    state.drawerOpen = false;
    state.unread.delete(address);
    const phone = state.phones.get(address);
    dom.chat.dataset.channel = phone ? phone.channel : "none";
    dom.locate.hidden = !phone || phone.channel !== "whatsapp";
    dom.locationRow.hidden = true;
    dom.welcome.hidden = true;
    dom.header.hidden = false;
    dom.threadWrap.hidden = false;
    dom.composer.hidden = false;
    localStorage.setItem("botkit.simulator.current", address);
    renderHeader();
    renderTargets();
    renderPhones();
    state.nodes.clear();
    state.animate = false;
    renderThread();
    state.animate = true;
    scrollToBottom();
    if (!dom.message.disabled) dom.message.focus();
  }

  async function loadPhones() {
    const data = await api("GET", "/sandbox/phones");
    for (const phone of data.phones) state.phones.set(phone.address, phone);
  }

  async function loadNumbers() {
    try {
      const data = await api("GET", "/sandbox/numbers");
      const before = JSON.stringify(state.numbers);
      state.numbers = data.numbers || [];
      if (before !== JSON.stringify(state.numbers)) renderTargets();
    } catch {
      /* the next poll tries again */
    }
  }

  async function loadTranscript(address) {
    const data = await api("GET", phonePath(address));
    for (const message of data.messages) remember(message);
  }

  async function loadAll() {
    await Promise.all([loadPhones(), loadNumbers()]);
    await Promise.all([...state.phones.keys()].map(loadTranscript));
    renderPhones();
    if (state.current) {
      renderTargets();
      renderThread();
    }
  }

  // --- sending -----------------------------------------------------------------------------

  function startTyping(address) {
    if (state.typing) clearTimeout(state.typing.timer);
    state.typing = {
      address,
      timer: setTimeout(() => {
        state.typing = null;
        if (state.current === address) renderThread();
      }, TYPING_TIMEOUT_MS),
    };
  }

  function stopTyping(address) {
    if (state.typing && state.typing.address === address) {
      clearTimeout(state.typing.timer);
      state.typing = null;
    }
  }

  async function post(address, payload) {
    startTyping(address);
    try {
      const message = await api("POST", phonePath(address), payload);
      if (!state.messages.has(keyOf(message))) {
        // The event stream usually wins the race; if not, show the message now.
        // As the sandbox records it: the type the phone gave, or its default.
        const types = payload.media_types || [];
        message.media = (payload.media_urls || []).map((url, index) => ({
          url,
          content_type: types[index] || "image/jpeg",
        }));
        remember(message);
        renderThread();
        renderPhones();
      }
      scrollToBottom();
      return true;
    } catch (error) {
      stopTyping(address);
      renderThread();
      toast(`Could not send: ${error.message}`);
      return false;
    }
  }

  async function sendComposed() {
    const address = state.current;
    const to = dom.target.value;
    const body = dom.message.value.trim();
    const media = dom.attachRow.hidden ? "" : dom.mediaUrl.value.trim();
    if (!address || !to || (!body && !media)) return;
    dom.message.value = "";
    autosize();
    const payload = { to, body };
    if (media) {
      payload.media_urls = [media];
      // A handset knows the type of the file it sends; without one the sandbox (and so the
      // bot's webhook, MediaContentType0) would say image/jpeg whatever the file.
      const type = extensionType(media);
      if (type) payload.media_types = [type];
    }
    closeAttach();
    const sent = await post(address, payload);
    if (!sent) dom.message.value = body;
  }

  async function tap(message, action, button) {
    const address = state.current;
    if (!address) return;
    state.tapped.set(message.sid, button.dataset.payload);
    button.classList.add("tapped");
    await post(address, {
      to: message.from || dom.target.value,
      body: action.title,
      button_text: action.title,
      button_payload: action.id || action.title,
      replied_to_sid: message.sid,
    });
  }

  async function pick(message, item, node) {
    const address = state.current;
    if (!address) return;
    state.tapped.set(message.sid, item.id);
    state.openLists.delete(message.sid);
    node.classList.add("tapped");
    await post(address, {
      to: message.from || dom.target.value,
      body: item.title,
      list_id: item.id,
      list_title: item.title,
      replied_to_sid: message.sid,
    });
  }

  async function shareLocation() {
    const address = state.current;
    const to = dom.target.value;
    if (!address || !to) return;
    const value = (id) => $(id).value.trim();
    const payload = { to, body: "", latitude: value("location-lat"), longitude: value("location-lng") };
    if (value("location-label")) payload.label = value("location-label");
    if (value("location-address")) payload.address = value("location-address");
    dom.locationRow.hidden = true;
    await post(address, payload);
  }

  function autosize() {
    dom.message.style.height = "auto";
    dom.message.style.height = `${Math.min(dom.message.scrollHeight, 140)}px`;
  }

  function closeAttach() {
    dom.attachRow.hidden = true;
    dom.mediaUrl.value = "";
    dom.attach.classList.remove("on");
  }

  // --- new phone dialog --------------------------------------------------------------------

  function randomNumber() {
    for (;;) {
      const number = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
      if (!state.phones.has(number) && !state.phones.has(`whatsapp:${number}`)) return number;
    }
  }

  function openDialog() {
    dom.phoneForm.reset();
    dom.phoneNumber.value = randomNumber();
    dom.phoneError.hidden = true;
    syncDialog();
    dom.dialog.showModal();
    dom.phoneName.focus();
  }

  /** A chat identity has an identity where a handset has a number. */
  function syncDialog() {
    const chat = new FormData(dom.phoneForm).get("channel") === "chat";
    dom.numberField.hidden = chat;
    dom.phoneNumber.required = !chat;
    dom.identityField.hidden = !chat;
    dom.phoneIdentity.required = chat;
  }

  async function createPhone(event) {
    event.preventDefault();
    if (!dom.phoneForm.reportValidity()) return;
    const channel = new FormData(dom.phoneForm).get("channel");
    const number = dom.phoneNumber.value.trim();
    const name = dom.phoneName.value.trim();
    const request =
      channel === "chat"
        ? { identity: dom.phoneIdentity.value.trim(), name: name || undefined }
        : { address: channel === "whatsapp" ? `whatsapp:${number}` : number, name: name || undefined };
    try {
      const phone = await api("POST", "/sandbox/phones", request);
      state.phones.set(phone.address, phone);
      dom.dialog.close();
      select(phone.address);
    } catch (error) {
      dom.phoneError.textContent = error.message;
      dom.phoneError.hidden = false;
    }
  }

  // --- live events -------------------------------------------------------------------------

  function setLive(mode, label) {
    dom.live.dataset.state = mode;
    dom.live.querySelector("span").textContent = label;
  }

  function onMessage(message) {
    const fresh = remember(message);
    for (const address of [message.to, message.from]) {
      if (!address || !state.phones.has(address) || !belongsTo(message, address)) continue;
      const fromBot = message.to === address;
      if (fresh && fromBot) {
        stopTyping(address);
        if (address !== state.current || document.hidden) {
          state.unread.set(address, (state.unread.get(address) || 0) + 1);
        }
      }
      if (address === state.current) {
        renderThread();
        if (fresh) renderTargets();
      }
    }
    if (fresh) renderPhones();
  }

  async function onPhone(data) {
    if (!state.phones.has(data.address)) {
      state.phones.set(data.address, { address: data.address, channel: data.channel, name: null });
    }
    try {
      await loadPhones(); // names are set after the event is published
      await loadTranscript(data.address); // an agent added to a conversation already in use
    } catch {
      /* keep what the event said */
    }
    renderPhones();
    if (state.current === data.address) renderHeader();
  }

  function connect() {
    const events = new EventSource("/sandbox/events");
    events.addEventListener("open", () => {
      setLive("live", "Live");
      if (state.connectedOnce) loadAll().catch(() => {});
      state.connectedOnce = true;
    });
    events.addEventListener("error", () => setLive("down", "Reconnecting…"));
    events.addEventListener("message", (event) => onMessage(JSON.parse(event.data)));
    events.addEventListener("phone", (event) => onPhone(JSON.parse(event.data)));
  }

  // --- wiring ------------------------------------------------------------------------------

  $("new-phone").addEventListener("click", openDialog);
  $("welcome-new").addEventListener("click", openDialog);
  $("phone-cancel").addEventListener("click", () => dom.dialog.close());
  dom.phoneForm.addEventListener("submit", createPhone);
  dom.phoneForm.addEventListener("change", syncDialog);
  dom.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendComposed();
  });
  dom.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendComposed();
    }
  });
  dom.message.addEventListener("input", autosize);
  dom.attach.addEventListener("click", () => {
    if (dom.attachRow.hidden) {
      dom.attachRow.hidden = false;
      dom.attach.classList.add("on");
      dom.mediaUrl.focus();
    } else closeAttach();
  });
  $("attach-clear").addEventListener("click", closeAttach);
  dom.locate.addEventListener("click", () => {
    dom.locationRow.hidden = !dom.locationRow.hidden;
    if (!dom.locationRow.hidden) $("location-lat").focus();
  });
  $("location-share").addEventListener("click", shareLocation);
  $("location-cancel").addEventListener("click", () => {
    dom.locationRow.hidden = true;
  });
  dom.phonesToggle.addEventListener("click", () => setDrawer(!state.drawerOpen));
  dom.scrim.addEventListener("click", () => setDrawer(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.drawerOpen && !dom.dialog.open) {
      setDrawer(false);
      dom.phonesToggle.focus();
    }
  });
  // Widening the window puts the list back beside the thread: forget that it was open.
  window.matchMedia("(max-width: 760px)").addEventListener("change", () => setDrawer(false));
  dom.target.addEventListener("change", () => {
    if (state.current) localStorage.setItem(targetKey(state.current), dom.target.value);
    renderTargets();
  });
  dom.target.addEventListener("focus", loadNumbers);
  document.querySelectorAll("#chips .chip").forEach((chip) =>
    chip.addEventListener("click", () => {
      dom.message.value = chip.textContent;
      sendComposed();
    })
  );
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.current) {
      state.unread.delete(state.current);
      renderPhones();
    }
  });
  dom.threadWrap.hidden = true;
  setInterval(() => {
    if (!document.hidden) loadNumbers();
  }, 5000);

  connect();
  loadAll()
    .then(() => {
      const saved = localStorage.getItem("botkit.simulator.current");
      if (saved && state.phones.has(saved)) select(saved);
    })
    .catch((error) => toast(`Sandbox unreachable: ${error.message}`));
})();
