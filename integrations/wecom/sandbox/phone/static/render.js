// How WeCom draws messages, for the phone simulator: text, markdown, text cards, news, template cards.
// Pure functions from a payload to HTML; every text goes through esc() first.
"use strict";

const COLORS = ["#5b8ff9", "#5ad8a6", "#f6903d", "#e8684a", "#6dc8ec", "#9270ca", "#ff9d4d", "#269a99", "#ff99c3"];
const QR_SVG = '<svg class="qr-icon" viewBox="0 0 24 24"><path d="M3 3h7v7H3zM14 3h7v7h-7zM3 14h7v7H3zM5 5v3h3V5zM16 5v3h3V5zM5 16v3h3v-3zM14 14h3v3h-3zM18 18h3v3h-3zM18 14h3v2h-3zM14 18h2v3h-2z"/></svg>';
const SCAN_SVG = '<svg viewBox="0 0 24 24"><path d="M4 9V5a1 1 0 0 1 1-1h4M15 4h4a1 1 0 0 1 1 1v4M20 15v4a1 1 0 0 1-1 1h-4M9 20H5a1 1 0 0 1-1-1v-4M4 12h16"/></svg>';

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function attr(text) { return esc(text); }
function hashColor(text) {
  let h = 0;
  for (const ch of String(text)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return COLORS[h % COLORS.length];
}
function avatarHtml(name, userid) {
  const label = (name || userid || "?").slice(-2);
  return `<div class="avatar" style="background:${hashColor(userid || name)}">${esc(label)}</div>`;
}
function hhmm(seconds) {
  const d = new Date(seconds * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// ---------- rich text as WeCom shows it
function linkify(html) {
  return html.replace(/(^|[\s>])(https?:\/\/[^\s<]+)/g, (m, pre, url) => `${pre}<a href="${url}" data-link="${url}">${url}</a>`);
}
function renderText(content) {
  let html = esc(content);
  const anchor = /&lt;a href=(?:&quot;|&#39;)(.*?)(?:&quot;|&#39;)&gt;(.*?)&lt;\/a&gt;/g;
  html = anchor.test(html) ? html.replace(anchor, (m, url, label) => `<a href="${url}" data-link="${url}">${label}</a>`) : linkify(html);
  return html.replace(/\n/g, "<br>");
}
function renderInline(line) {
  return line
    .replace(/&lt;font color=(?:&quot;|&#39;)(info|comment|warning)(?:&quot;|&#39;)&gt;(.*?)&lt;\/font&gt;/g, '<span class="md-font-$1">$2</span>')
    .replace(/\*\*(.+?)\*\*/g, "<b>$1</b>")
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, (m, label, url) => `<a href="${url}" data-link="${url}">${label}</a>`);
}
function renderMarkdown(content) {
  return esc(content).split("\n").map((line) => {
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    if (heading) return `<div class="md-h">${renderInline(heading[2])}</div>`;
    const quote = line.match(/^&gt;\s?(.*)$/);
    if (quote) return `<div class="md-quote">${renderInline(quote[1])}</div>`;
    return line.trim() ? `<div>${renderInline(line)}</div>` : "<div>&nbsp;</div>";
  }).join("");
}
function renderCardDesc(description) {
  return esc(description)
    .replace(/&lt;div class=(?:&quot;|&#39;)(gray|normal|highlight)(?:&quot;|&#39;)&gt;/g, '<div class="$1">')
    .replace(/&lt;\/div&gt;/g, "</div>").replace(/\n/g, "<br>");
}

function bubble(msgtype, payload) {
  switch (msgtype) {
    case "text": return `<div class="bubble" data-testid="bot-text">${renderText(payload.content)}</div>`;
    case "markdown": return `<div class="bubble md" data-testid="bot-markdown">${renderMarkdown(payload.content)}</div>`;
    case "image": {
      const src = payload.media_id ? `/sandbox/media/${encodeURIComponent(payload.media_id)}` : esc(payload.url || "");
      // The chat shows a thumbnail; a tap opens the picture full size (openImage below), as WeCom does.
      return `<div class="bubble image" data-testid="bot-image"><img class="pic" alt="图片" src="${src}" data-full="${src}"></div>`;
    }
    case "video": {  // WeCom plays a video message inline, with its title and description below
      const src = `/sandbox/media/${encodeURIComponent(payload.media_id)}`;
      return `<div class="bubble video" data-testid="bot-video"><video controls playsinline preload="metadata"
        style="max-width:100%;border-radius:6px" src="${src}"></video>
        ${payload.title ? `<div class="tc-title">${esc(payload.title)}</div>` : ""}
        ${payload.description ? `<div class="tc-desc">${esc(payload.description)}</div>` : ""}</div>`;
    }
    case "file": case "voice":
      return `<div class="bubble"><a href="/sandbox/media/${encodeURIComponent(payload.media_id)}" target="_blank">📎 ${msgtype === "file" ? "文件" : "语音"}</a></div>`;
    case "textcard":
      return `<div class="card link" data-link="${attr(payload.url)}" data-testid="textcard"><div class="card-pad">
        <div class="tc-title">${esc(payload.title)}</div><div class="tc-desc">${renderCardDesc(payload.description)}</div></div>
        <div class="card-foot">${esc(payload.btntxt || "详情")}</div></div>`;
    case "news": {
      const [first, ...rest] = (payload.articles || []);
      if (!first) return '<div class="bubble">[图文]</div>';
      const cover = first.picurl ? ` style="background-image:url('${attr(first.picurl)}')"` : "";
      return `<div class="card link" data-testid="news"><div class="news-cover" data-link="${attr(first.url)}"${cover}>
        <div class="news-title">${esc(first.title)}</div></div>
        ${rest.length ? "" : `<div class="news-desc" data-link="${attr(first.url)}">${esc(first.description || "")}</div>`}
        ${rest.map((a) => `<div class="news-item" data-link="${attr(a.url)}"><span style="flex:1">${esc(a.title)}</span>
          <div class="thumb"${a.picurl ? ` style="background-image:url('${attr(a.picurl)}')"` : ""}></div></div>`).join("")}</div>`;
    }
    case "template_card": return null;  // drawn by drawCard
    default: return `<div class="bubble">[${esc(msgtype)}] ${esc(JSON.stringify(payload).slice(0, 200))}</div>`;
  }
}

// ---------- template cards
function cardBody(card, replaced) {
  const parts = [];
  if (card.source && (card.source.desc || card.source.icon_url)) {
    parts.push(`<div class="tpl-source">${card.source.icon_url ? `<img src="${attr(card.source.icon_url)}" alt="">` : ""}${esc(card.source.desc || "")}</div>`);
  }
  const main = card.main_title || {};
  if (main.title) parts.push(`<div class="tpl-title">${esc(main.title)}</div>`);
  if (main.desc) parts.push(`<div class="tpl-desc">${esc(main.desc)}</div>`);
  if (card.emphasis_content) parts.push(`<div class="tpl-emph"><b>${esc(card.emphasis_content.title || "")}</b><div>${esc(card.emphasis_content.desc || "")}</div></div>`);
  if (card.quote_area && (card.quote_area.title || card.quote_area.quote_text)) {
    parts.push(`<div class="tpl-quote">${card.quote_area.title ? `<b>${esc(card.quote_area.title)}</b><br>` : ""}${esc(card.quote_area.quote_text || "")}</div>`);
  }
  const image = (card.card_image && card.card_image.url) || (card.image_text_area && card.image_text_area.image_url);
  if (image) parts.push(`<div class="tpl-img" style="background-image:url('${attr(image)}')"></div>`);
  if (card.sub_title_text) parts.push(`<div class="tpl-sub">${esc(card.sub_title_text)}</div>`);
  const vertical = card.vertical_content_list || [];
  vertical.forEach((v) => parts.push(`<div class="tpl-sub"><b>${esc(v.title)}</b><br>${esc(v.desc || "")}</div>`));
  const rows = card.horizontal_content_list || [];
  if (rows.length) {
    parts.push(`<div class="tpl-kv">${rows.map((r) => `<div><span class="k">${esc(r.keyname)}</span><span class="v">${
      r.type === 1 && r.url ? `<a data-link="${attr(r.url)}" href="${attr(r.url)}">${esc(r.value)}</a>` : esc(r.value || "")}</span></div>`).join("")}</div>`);
  }
  const jumps = card.jump_list || [];
  if (jumps.length) parts.push(`<div class="tpl-jump">${jumps.map((j) => `<a data-link="${attr(j.url || "")}" href="${attr(j.url || "")}">${esc(j.title)} ›</a>`).join("")}</div>`);
  if (card.button_selection) parts.push(selectHtml(card.button_selection, replaced));
  (card.select_list || []).forEach((sel) => parts.push(selectHtml(sel, replaced)));
  if (card.checkbox) {
    const box = card.checkbox;
    const type = box.mode === 1 ? "checkbox" : "radio";
    parts.push(`<div class="tpl-field" data-question="${attr(box.question_key)}" data-kind="checkbox">${
      (box.option_list || []).map((o) => `<label class="tpl-option"><input type="${type}" name="${attr(box.question_key)}" value="${attr(o.id)}"${o.is_checked ? " checked" : ""}${replaced || box.disable ? " disabled" : ""}>${esc(o.text)}</label>`).join("")}</div>`);
  }
  parts.push(actionsHtml(card, replaced));
  const action = card.card_action && (card.card_action.url || card.card_action.type === 1);
  return `<div class="card-pad">${parts.join("")}</div>${action && card.card_type.endsWith("_notice") ? `<div class="card-foot" data-link="${attr(card.card_action.url || "")}">查看详情</div>` : ""}`;
}
function selectHtml(sel, replaced) {
  const options = (sel.option_list || []).map((o) => `<option value="${attr(o.id)}"${o.id === sel.selected_id ? " selected" : ""}>${esc(o.text)}</option>`).join("");
  return `<div class="tpl-field" data-question="${attr(sel.question_key)}" data-kind="select"><label>${esc(sel.title || "请选择")}</label>
    <select${replaced || sel.disable ? " disabled" : ""}>${options}</select></div>`;
}
function actionsHtml(card, replaced) {
  if (replaced) return `<div class="tpl-actions"><div class="tpl-done" data-testid="card-done">${esc(replaced)}</div></div>`;
  const buttons = (card.button_list || []).map((b) => `<button class="tpl-btn s${b.style || 1}" data-key="${attr(b.key)}" data-testid="card-button">${esc(b.text)}</button>`);
  if (card.submit_button) buttons.push(`<button class="tpl-btn s1" data-key="${attr(card.submit_button.key)}" data-testid="card-button">${esc(card.submit_button.text || "提交")}</button>`);
  return buttons.length ? `<div class="tpl-actions">${buttons.join("")}</div>` : "";
}

// ---------- a tapped picture opens full size over the chat, as WeCom's viewer does; a tap closes it
function openImage(src, from) {
  const viewer = document.createElement("div");
  viewer.className = "image-viewer";
  viewer.dataset.testid = "image-viewer";
  viewer.style.cssText = "position:absolute;inset:0;z-index:40;background:#000;display:flex;align-items:center;" +
    "justify-content:center;overflow:auto;touch-action:pinch-zoom;cursor:zoom-out";
  viewer.innerHTML = `<img alt="图片（原图）" src="${esc(src)}" data-testid="image-full" style="display:block;max-width:100%;max-height:100%;object-fit:contain">`;
  viewer.addEventListener("click", () => viewer.remove());
  (from.closest(".device") || document.body).appendChild(viewer);
}
document.addEventListener("click", (e) => {
  const pic = e.target instanceof Element ? e.target.closest("img.pic[data-full]") : null;
  if (pic) openImage(pic.dataset.full, pic);
});
