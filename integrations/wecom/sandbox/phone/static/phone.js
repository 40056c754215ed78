// The phone simulator: acts as one WeCom member against the sandbox's control API and renders what the
// bot sends the way WeCom does. Plain browser JavaScript, no build step.
"use strict";

const $ = (sel) => document.querySelector(sel);
const S = {
  cfg: { corp_id: "", agent_id: 0, bot_url: "" },
  users: [],          // [{userid, name, roles_text, line, is_seed}]
  me: null,           // the acting user
  seen: new Set(),    // sandbox message ids already drawn
  cards: {},          // task_id -> {el, payload, replaced}
  lastAt: { app: 0, group: 0 },
  stream: null,
  pane: "app",
  unreadGroup: 0,
  labels: null,
};
function toast(text, ms = 2200) {
  const el = $("#toast");
  el.textContent = text;
  el.classList.remove("hidden");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.add("hidden"), ms);
}
async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${response.status} ${url}`);
  return response.json();
}
async function postJSON(url, body) {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  let data = {};
  try { data = await response.json(); } catch (e) { /* empty body */ }
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

// ---------- message rows
function paneEl(pane) { return pane === "group" ? $("#pane-group") : $("#pane-app"); }
function addTime(pane, at) {
  if (at - S.lastAt[pane] > 300) paneEl(pane).insertAdjacentHTML("beforeend", `<div class="time">${hhmm(at)}</div>`);
  S.lastAt[pane] = Math.max(S.lastAt[pane], at);
}
function addRow(pane, who, inner, at, extraClass = "") {
  addTime(pane, at);
  const row = document.createElement("div");
  row.className = `row ${who === "me" ? "me" : "bot"} ${extraClass}`;
  let avatar;
  if (who === "me") avatar = avatarHtml(S.me.name, S.me.userid);
  else if (who === "robot") avatar = '<div class="avatar robot">群bot</div>';
  else avatar = '<div class="avatar bot">ops</div>';
  const sender = who === "robot" ? '<div class="sender">群机器人</div>' : "";
  row.innerHTML = `${avatar}<div class="body">${sender}${inner}</div>`;
  paneEl(pane).appendChild(row);
  scrollDown(pane);
  return row;
}
function addNotice(pane, text, error = false) {
  paneEl(pane).insertAdjacentHTML("beforeend", `<div class="notice${error ? " error" : ""}"><span>${esc(text)}</span></div>`);
  scrollDown(pane);
}
function scrollDown(pane) {
  const el = paneEl(pane);
  requestAnimationFrame(() => { el.scrollTop = el.scrollHeight; });
}

function drawCard(card, at) {
  const el = document.createElement("div");
  el.className = "card";
  el.dataset.testid = "template-card";
  el.dataset.taskId = card.task_id || "";
  addRow("app", "bot", "", at).querySelector(".body").appendChild(el);
  const entry = { el, payload: card, replaced: null };
  if (card.task_id) S.cards[card.task_id] = entry;
  paintCard(entry);
}
function paintCard(entry) {
  entry.el.innerHTML = cardBody(entry.payload, entry.replaced);
  entry.el.querySelectorAll("[data-key]").forEach((btn) => btn.addEventListener("click", () => tapCard(entry, btn)));
}
function updateCard(taskId, change) {
  const entry = S.cards[taskId];
  if (!entry) return;
  Object.assign(entry, change);
  paintCard(entry);
  entry.el.classList.remove("updated");
  void entry.el.offsetWidth;
  entry.el.classList.add("updated");
}
function selectedOf(entry) {
  const selected = {};
  entry.el.querySelectorAll("[data-question]").forEach((field) => {
    const key = field.dataset.question;
    if (field.dataset.kind === "select") selected[key] = [field.querySelector("select").value];
    else selected[key] = [...field.querySelectorAll("input:checked")].map((i) => i.value);
  });
  return selected;
}
function keepSelection(card, selected) {
  // A repainted card (after update_button) keeps what the member chose, as WeCom does.
  [card.button_selection, ...(card.select_list || [])].filter(Boolean).forEach((sel) => {
    if (selected[sel.question_key]) sel.selected_id = selected[sel.question_key][0];
  });
  if (card.checkbox && selected[card.checkbox.question_key]) {
    (card.checkbox.option_list || []).forEach((o) => { o.is_checked = selected[card.checkbox.question_key].includes(o.id); });
  }
}
async function tapCard(entry, button) {
  const buttons = entry.el.querySelectorAll("[data-key]");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const selected = selectedOf(entry);
    keepSelection(entry.payload, selected);
    await postJSON("/sandbox/api/tap", { user: S.me.userid, task_id: entry.payload.task_id, key: button.dataset.key,
      selected: Object.keys(selected).length ? selected : null });
  } catch (error) {
    toast(`操作失败：${error.message}`);
  } finally {
    if (!entry.replaced) buttons.forEach((b) => { b.disabled = false; });
  }
}

// ---------- what the sandbox delivered
async function show(message) {
  if (S.seen.has(message.id)) return;
  S.seen.add(message.id);
  const { api, msgtype, payload } = message;
  if (api === "webhook/send" || api === "appchat/send") {
    const html = bubble(msgtype, payload);
    addRow("group", "robot", html ?? `<div class="bubble">[${esc(msgtype)}]</div>`, message.at);
    if (S.pane !== "group") { S.unreadGroup += 1; paintBadge(); }
    return;
  }
  if (api === "passive_reply" && msgtype === "update_button") {
    updateCard(payload.task_id, { replaced: payload.replace_name });
    return;
  }
  if (api === "update_template_card") {
    if (msgtype === "template_card") { updateCard(payload.task_id, { payload, replaced: null }); return; }
    try {
      const { task_id: taskId } = await getJSON(`/phone/api/task?response_code=${encodeURIComponent(message.response_code)}`);
      updateCard(taskId, { replaced: payload.replace_name });
    } catch (error) { /* the card is not on this phone */ }
    return;
  }
  if (msgtype === "template_card") { drawCard(payload, message.at); return; }
  addRow("app", "bot", bubble(msgtype, payload), message.at);
}
function paintBadge() {
  const badge = $("#group-badge");
  badge.textContent = String(S.unreadGroup);
  badge.classList.toggle("hidden", S.unreadGroup === 0);
}

// ---------- the user's own actions (the sandbox keeps no record of them, so this phone does)
function logKey() { return `opsbot-phone-log:${S.me.userid}`; }
function readLog() { try { return JSON.parse(localStorage.getItem(logKey()) || "[]"); } catch (e) { return []; } }
function remember(entry) {
  const log = readLog();
  log.push(entry);
  localStorage.setItem(logKey(), JSON.stringify(log.slice(-300)));
}
function drawMine(entry) {
  if (entry.kind === "text") addRow("app", "me", `<div class="bubble" data-testid="my-text">${esc(entry.text)}</div>`, entry.at);
  else if (entry.kind === "photo") addRow("app", "me", `<div class="bubble" data-testid="my-photo">[照片] ${esc(entry.text)}</div>`, entry.at);
  else addRow("app", "me", `<div class="bubble"><span class="scan-chip">${SCAN_SVG}扫码：${esc(entry.text)}</span></div>`, entry.at);
}
async function act(entry, call) {
  entry.at = Date.now() / 1000;
  remember(entry);
  drawMine(entry);
  try {
    const result = await call();
    if (result.status && result.status !== 200) addNotice("app", `机器人回应异常（HTTP ${result.status}）`, true);
  } catch (error) {
    addNotice("app", `消息未送达：${error.message}`, true);
  }
}
// ---------- photos: the picked file goes to the bot as an image message (WeCom keeps it as media for 3 days)
function sendPhoto(event) {
  const file = event.target.files && event.target.files[0];
  event.target.value = "";
  if (!file || !S.me) return;
  const reader = new FileReader();
  reader.onload = () => act({ kind: "photo", text: file.name }, () => postJSON("/sandbox/api/send_image",
    { user: S.me.userid, data: reader.result, content_type: file.type || "application/octet-stream", filename: file.name }));
  reader.readAsDataURL(file);
}
function sendText(text) {
  text = text.trim();
  if (!text || !S.me) return;
  act({ kind: "text", text }, () => postJSON("/sandbox/api/send_text", { user: S.me.userid, content: text }));
}
function scan(text, caption) {
  closeScan();
  const origin = takeMenuScan();
  act({ kind: "scan", text: caption || text }, () => postJSON("/sandbox/api/scan", { user: S.me.userid, text, ...origin }));
}

// ---------- links: H5 pages open inside the phone, as this member, through the sandbox's OAuth
function openLink(url) {
  if (!url) return;
  let target = url;
  const bot = S.cfg.bot_url;
  if (bot && url.startsWith(bot)) {
    // The bot starts the OAuth login itself (its state is bound to this browser); the authorize page
    // learns the acting member from the sandbox_user cookie, and /h5/login makes the login fresh.
    const path = url.slice(bot.length) || "/";
    document.cookie = `sandbox_user=${encodeURIComponent(S.me.userid)}; path=/; SameSite=Lax`;
    target = `${bot}/h5/login?next=${encodeURIComponent(path)}`;
  }
  $("#webview-frame").src = target;
  let host = url;
  try { host = new URL(url).host; } catch (e) { /* relative */ }
  $("#webview-host").textContent = host;
  $("#webview").classList.remove("hidden");
}
function closeWebview() {
  $("#webview").classList.add("hidden");
  $("#webview-frame").src = "about:blank";
}

// ---------- scanning
async function openScan() {
  $("#scan-sheet").classList.remove("hidden");
  if (S.labels) return;
  const list = $("#label-list");
  try {
    S.labels = await getJSON(`${S.cfg.bot_url}/demo/api/labels`);
  } catch (error) {
    list.innerHTML = '<li class="muted">无法从机器人读取标签，请粘贴二维码内容。</li>';
    return;
  }
  list.innerHTML = S.labels.length ? "" : '<li class="muted">暂无标签</li>';
  S.labels.forEach((label) => {
    const li = document.createElement("li");
    li.dataset.testid = "label-item";
    li.innerHTML = `${QR_SVG}<div><div class="t">${esc(label.title)}</div><div class="l">${esc(label.lines.join(" · "))}</div></div>`;
    li.addEventListener("click", () => scan(label.url, label.title));
    list.appendChild(li);
  });
}
function closeScan() { $("#scan-sheet").classList.add("hidden"); }
function cancelScan() { MENU.scan = null; closeScan(); }
// The browser's own BarcodeDetector where there is one (not in Chromium on Linux), else jsQR (vendor/).
async function readQr(bitmap) {
  if ("BarcodeDetector" in window) {
    const codes = await new window.BarcodeDetector({ formats: ["qr_code"] }).detect(bitmap);
    return codes.length ? codes[0].rawValue : null;
  }
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const code = window.jsQR(pixels.data, pixels.width, pixels.height);
  return code ? code.data : null;
}
async function decodeImage(file) {
  try {
    const text = await readQr(await createImageBitmap(file));
    if (!text) { toast("图片中没有找到二维码"); return; }
    scan(text);
  } catch (error) {
    toast(`无法识别：${error.message}`);
  }
}

// ---------- screens
function userMeta(user) {
  return [user.roles_text, user.line, user.userid].filter(Boolean).join(" · ");
}
function paintPicker() {
  const filter = $("#user-search").value.trim().toLowerCase();
  const list = $("#user-list");
  list.innerHTML = "";
  S.users.filter((u) => !filter || `${u.name} ${u.userid} ${u.roles_text || ""}`.toLowerCase().includes(filter)).forEach((user) => {
    const li = document.createElement("li");
    li.className = "user-item";
    li.dataset.testid = `user-${user.userid}`;
    li.innerHTML = `${avatarHtml(user.name, user.userid)}<div class="user-main"><div class="user-name">${esc(user.name || user.userid)}${
      user.is_seed ? '<span class="chip seed">种子用户</span>' : ""}</div><div class="user-meta">${esc(userMeta(user))}</div></div>`;
    li.addEventListener("click", () => openChat(user.userid));
    list.appendChild(li);
  });
}
async function loadUsers() {
  const users = await getJSON("/sandbox/api/users");
  let directory = [];
  try {
    directory = S.cfg.bot_url ? await getJSON(`${S.cfg.bot_url}/demo/api/directory`) : [];
  } catch (error) { directory = []; }
  $("#roles-note").classList.toggle("hidden", directory.length > 0);
  const byId = Object.fromEntries(directory.map((d) => [d.userid, d]));
  S.users = users.map((u) => ({ ...u, ...(byId[u.userid] || {}), name: (byId[u.userid] || {}).name || u.name }));
}
function showPicker() {
  if (S.stream) { S.stream.close(); S.stream = null; }
  S.me = null;
  localStorage.removeItem("opsbot-phone-user");
  history.replaceState(null, "", "/phone");
  $("#chat").classList.add("hidden");
  $("#picker").classList.remove("hidden");
  paintPicker();
}
function switchPane(pane) {
  S.pane = pane;
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.pane === pane));
  $("#pane-app").classList.toggle("hidden", pane !== "app");
  $("#pane-group").classList.toggle("hidden", pane !== "group");
  $("#quick").classList.toggle("hidden", pane !== "app");
  if (pane === "group") { S.unreadGroup = 0; paintBadge(); }
  scrollDown(pane);
}
async function catchUp() {
  const messages = await getJSON(`/sandbox/api/messages?user=${encodeURIComponent(S.me.userid)}`);
  for (const message of messages) await show(message);
  return messages;
}
async function openChat(userid) {
  const user = S.users.find((u) => u.userid === userid);
  if (!user) { showPicker(); return; }
  S.me = user;
  S.seen = new Set(); S.cards = {}; S.lastAt = { app: 0, group: 0 }; S.unreadGroup = 0;
  localStorage.setItem("opsbot-phone-user", userid);
  history.replaceState(null, "", `/phone?user=${encodeURIComponent(userid)}`);
  $("#who").textContent = [user.name, user.roles_text].filter(Boolean).join(" · ");
  $("#pane-app").innerHTML = "";
  $("#pane-group").innerHTML = '<div class="notice"><span>群机器人推送到「生产群」的消息显示在这里</span></div>';
  $("#picker").classList.add("hidden");
  $("#chat").classList.remove("hidden");
  switchPane("app");
  paintBadge();
  loadMenu();
  const messages = await getJSON(`/sandbox/api/messages?user=${encodeURIComponent(userid)}`);
  const mine = readLog().map((entry) => ({ mine: true, at: entry.at, entry }));
  const timeline = [...messages.map((m) => ({ at: m.at, message: m })), ...mine].sort((a, b) => a.at - b.at);
  for (const item of timeline) {
    if (item.mine) drawMine(item.entry); else await show(item.message);
  }
  S.unreadGroup = 0; paintBadge();
  connect(userid);
  if (!timeline.length) postJSON("/sandbox/api/enter", { user: userid }).catch(() => {});
}
function connect(userid) {
  if (S.stream) S.stream.close();
  const stream = new EventSource(`/sandbox/api/stream?user=${encodeURIComponent(userid)}`);
  stream.addEventListener("message", (event) => { if (S.me && S.me.userid === userid) show(JSON.parse(event.data)); });
  stream.addEventListener("open", () => { if (S.me && S.me.userid === userid) catchUp().catch(() => {}); });
  S.stream = stream;
  document.body.dataset.live = "1";
}

function tickClock() {
  const now = new Date();
  $("#clock").textContent = `${now.getHours()}:${String(now.getMinutes()).padStart(2, "0")}`;
}
function wire() {
  $("#user-search").addEventListener("input", paintPicker);
  $("#back-btn").addEventListener("click", showPicker);
  document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => switchPane(t.dataset.pane)));
  const input = $("#text-input");
  $("#send-btn").addEventListener("click", () => { sendText(input.value); input.value = ""; input.focus(); });
  input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.isComposing) { sendText(input.value); input.value = ""; } });
  document.querySelectorAll("[data-say]").forEach((b) => b.addEventListener("click", () => sendText(b.dataset.say)));
  $("#scan-btn").addEventListener("click", openScan);
  $("#quick-scan").addEventListener("click", openScan);
  $("#quick-photo").addEventListener("click", () => $("#photo-input").click());
  $("#photo-input").addEventListener("change", sendPhoto);
  $("#scan-close").addEventListener("click", cancelScan);
  $("#scan-sheet").addEventListener("click", (e) => { if (e.target.id === "scan-sheet") cancelScan(); });
  $("#paste-btn").addEventListener("click", () => { const v = $("#paste-input").value.trim(); if (v) { $("#paste-input").value = ""; scan(v); } });
  $("#upload-input").addEventListener("change", (e) => { if (e.target.files[0]) decodeImage(e.target.files[0]); e.target.value = ""; });
  $("#webview-close").addEventListener("click", closeWebview);
  document.addEventListener("click", (e) => {
    const link = e.target.closest("[data-link]");
    if (link && link.dataset.link) { e.preventDefault(); openLink(link.dataset.link); }
  });
}
async function boot() {
  wire();
  tickClock();
  setInterval(tickClock, 15000);
  try { S.cfg = await getJSON("/phone/config.json"); } catch (error) { /* keep defaults */ }
  await loadUsers();
  const wanted = new URLSearchParams(location.search).get("user") || localStorage.getItem("opsbot-phone-user");
  if (wanted && S.users.some((u) => u.userid === wanted)) await openChat(wanted);
  else showPicker();
  document.body.dataset.ready = "1";
}
boot().catch((error) => toast(`模拟器启动失败：${error.message}`, 8000));
