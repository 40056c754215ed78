/* The WeCom JS-SDK as the sandbox's phone emulates it inside its H5 view (the iframe). A page loads this instead
   of jweixin.js in the demo; the calls behave as WeCom's do for a page: wx.config / wx.agentConfig then
   wx.ready, chooseImage (the picture comes from a file the person picks), uploadImage (the picture becomes
   WeCom media; serverId is its media id, which the bot fetches with media/get) and scanQRCode (the phone's
   label list; needResult=1 returns the text). Work that needs the phone (upload, scan) is asked of the parent
   page (jssdk-host.js) by postMessage. */
(function () {
  "use strict";
  var readyCallbacks = [], errorCallbacks = [], configured = false, calls = 0, pending = {}, files = {};
  var REQUIRED = ["timestamp", "nonceStr", "signature"];

  function fail(options, message) {
    if (options && options.fail) options.fail({ errMsg: message });
    if (options && options.complete) options.complete({ errMsg: message });
  }
  function ok(options, result) {
    if (options && options.success) options.success(result);
    if (options && options.complete) options.complete(result);
  }
  function ask(kind, payload) {
    return new Promise(function (resolve, reject) {
      var id = "wx" + (++calls);
      pending[id] = { resolve: resolve, reject: reject };
      window.parent.postMessage({ wxjs: kind, id: id, payload: payload }, "*");
    });
  }
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.source !== window.parent || !data.wxjsReply || !pending[data.wxjsReply]) return;
    var waiter = pending[data.wxjsReply];
    delete pending[data.wxjsReply];
    if (data.error) waiter.reject(data.error); else waiter.resolve(data.result);
  });
  function checkConfig(options, name) {
    var missing = REQUIRED.filter(function (key) { return !options || !options[key]; });
    if (missing.length) {
      var message = name + ":fail invalid signature (" + missing.join(", ") + " missing)";
      errorCallbacks.forEach(function (cb) { cb({ errMsg: message }); });
      fail(options, message);
      return false;
    }
    return true;
  }
  function standalone() { return window.parent === window; }

  window.wx = {
    emulated: true,
    config: function (options) {
      if (!checkConfig(options, "config")) return;
      configured = true;
      setTimeout(function () { readyCallbacks.splice(0).forEach(function (cb) { cb(); }); }, 0);
    },
    agentConfig: function (options) {
      if (checkConfig(options, "agentConfig")) ok(options, { errMsg: "agentConfig:ok" });
    },
    ready: function (cb) { if (configured) setTimeout(cb, 0); else readyCallbacks.push(cb); },
    error: function (cb) { errorCallbacks.push(cb); },
    checkJsApi: function (options) {
      var result = {};
      (options.jsApiList || []).forEach(function (name) { result[name] = name in window.wx; });
      ok(options, { checkResult: result, errMsg: "checkJsApi:ok" });
    },
    chooseImage: function (options) {
      var input = document.createElement("input");
      input.type = "file";
      input.accept = "image/*";
      input.style.display = "none";
      input.setAttribute("data-testid", "wx-choose-image");
      input.addEventListener("change", function () {
        var file = input.files && input.files[0];
        input.remove();
        if (!file) { fail(options, "chooseImage:cancel"); return; }
        var localId = URL.createObjectURL(file);
        files[localId] = file;
        ok(options, { localIds: [localId], errMsg: "chooseImage:ok" });
      });
      document.body.appendChild(input);
      input.click();
    },
    uploadImage: function (options) {
      var file = files[options && options.localId];
      if (!file) { fail(options, "uploadImage:fail invalid localId"); return; }
      if (standalone()) { fail(options, "uploadImage:fail not inside WeCom"); return; }
      var reader = new FileReader();
      reader.onload = function () {
        ask("uploadImage", { data: reader.result, content_type: file.type || "image/jpeg", filename: file.name })
          .then(function (result) { ok(options, { serverId: result.serverId, errMsg: "uploadImage:ok" }); },
                function (error) { fail(options, "uploadImage:fail " + error); });
      };
      reader.readAsDataURL(file);
    },
    scanQRCode: function (options) {
      if (standalone()) { fail(options, "scanQRCode:fail not inside WeCom"); return; }
      ask("scanQRCode", {}).then(function (result) {
        if (options && options.needResult === 1) ok(options, { resultStr: result.text, errMsg: "scanQRCode:ok" });
        else { window.location.href = result.text; ok(options, { errMsg: "scanQRCode:ok" }); }
      }, function (error) { fail(options, "scanQRCode:" + error); });
    },
    previewImage: function (options) { window.open(options.current, "_blank"); }
  };
})();
