// The app menu under the input bar, drawn from what menu/create installed, as WeCom shows it: a tap on a
// click button sends the click event (no chat bubble), a scan button opens the scanner and sends
// scancode_waitmsg with the button's key, a view button opens the page inside the phone.
"use strict";

const MENU = { data: null, scan: null };

async function loadMenu() {
  try { MENU.data = await getJSON("/phone/menu.json"); } catch (error) { MENU.data = null; }
  paintMenu();
}
function closeMenus() { document.querySelectorAll(".menu-pop").forEach((p) => p.classList.add("hidden")); }
function menuEntry(button) {
  const li = document.createElement("li");
  li.textContent = button.name;
  li.dataset.testid = "menu-sub";
  li.addEventListener("click", (e) => { e.stopPropagation(); closeMenus(); menuAction(button); });
  return li;
}
function paintMenu() {
  const bar = $("#menubar");
  bar.innerHTML = "";
  const buttons = (MENU.data && MENU.data.button) || [];
  bar.classList.toggle("hidden", !buttons.length);
  buttons.forEach((button) => {
    const item = document.createElement("div");
    item.className = "menu-item";
    const top = document.createElement("button");
    top.textContent = button.name;
    top.dataset.testid = "menu-button";
    item.appendChild(top);
    if (button.sub_button) {
      const pop = document.createElement("ul");
      pop.className = "menu-pop hidden";
      button.sub_button.forEach((sub) => pop.appendChild(menuEntry(sub)));
      item.appendChild(pop);
      top.addEventListener("click", (e) => {
        e.stopPropagation();
        const opening = pop.classList.contains("hidden");
        closeMenus();
        if (opening) pop.classList.remove("hidden");
      });
    } else {
      top.addEventListener("click", (e) => { e.stopPropagation(); closeMenus(); menuAction(button); });
    }
    bar.appendChild(item);
  });
}
async function menuAction(button) {
  if (!S.me) return;
  if (button.type === "view") { openLink(button.url); return; }
  if (button.type === "scancode_waitmsg" || button.type === "scancode_push") {
    MENU.scan = { key: button.key, event: button.type };
    openScan();
    return;
  }
  try {
    const result = await postJSON("/sandbox/api/menu", { user: S.me.userid, key: button.key });
    if (result.status && result.status !== 200) addNotice("app", `机器人回应异常（HTTP ${result.status}）`, true);
  } catch (error) {
    addNotice("app", `菜单未送达：${error.message}`, true);
  }
}
// The scan that a menu button started carries that button's key and event; any other scan the default.
function takeMenuScan() {
  const scan = MENU.scan;
  MENU.scan = null;
  return scan || {};
}
document.addEventListener("click", closeMenus);
