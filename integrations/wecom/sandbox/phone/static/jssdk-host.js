/* The phone's half of the JS-SDK emulation (jssdk.js runs in the H5 view): uploads a picked picture as WeCom
   media and lets the member pick a label for scanQRCode. Only the H5 view's own frame is answered. */
(function () {
  "use strict";
  function frame() { return document.getElementById("webview-frame"); }
  function reply(id, result, error) {
    frame().contentWindow.postMessage({ wxjsReply: id, result: result, error: error }, "*");
  }
  async function upload(payload) {
    const response = await fetch("/sandbox/api/upload_image", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
    if (!response.ok) throw new Error(`upload ${response.status}`);
    return response.json();
  }
  async function labels() {
    const response = await fetch(`${S.cfg.bot_url}/demo/api/labels`);
    return response.ok ? response.json() : [];
  }
  function pickLabel(list) {
    return new Promise((resolve, reject) => {
      const sheet = document.createElement("div");
      sheet.className = "sheet";
      sheet.setAttribute("data-testid", "wx-scan-sheet");
      sheet.style.cssText = "position:absolute;inset:0;background:rgba(0,0,0,.5);z-index:50;display:flex;align-items:flex-end";
      const panel = document.createElement("div");
      panel.style.cssText = "background:#fff;width:100%;max-height:70%;overflow:auto;padding:8px";
      panel.innerHTML = '<div style="padding:8px;font-weight:600">扫一扫（选择要扫描的标签）</div>';
      list.forEach((label) => {
        const row = document.createElement("div");
        row.setAttribute("data-testid", "wx-scan-item");
        row.style.cssText = "padding:10px;border-top:1px solid #eee;cursor:pointer";
        row.textContent = `${label.title} ${label.lines.join(" · ")}`;
        row.addEventListener("click", () => { sheet.remove(); resolve({ text: label.url }); });
        panel.appendChild(row);
      });
      const cancel = document.createElement("div");
      cancel.textContent = "取消";
      cancel.style.cssText = "padding:10px;text-align:center;color:#888;cursor:pointer";
      cancel.addEventListener("click", () => { sheet.remove(); reject("cancel"); });
      panel.appendChild(cancel);
      sheet.appendChild(panel);
      (document.getElementById("device") || document.body).appendChild(sheet);
    });
  }
  window.addEventListener("message", async (event) => {
    const data = event.data || {};
    if (!frame() || event.source !== frame().contentWindow || !data.wxjs) return;
    try {
      if (data.wxjs === "uploadImage") reply(data.id, await upload(data.payload));
      else if (data.wxjs === "scanQRCode") reply(data.id, await pickLabel(await labels()));
      else reply(data.id, null, "unsupported");
    } catch (error) {
      reply(data.id, null, String(error && error.message || error));
    }
  });
})();
