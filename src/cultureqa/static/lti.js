/* LTI pages of cultureqa, which allow no inline script:
   - submit the forms marked data-autosubmit (the deep-linking response posted back);
   - LTI Client Side postMessages (platform storage), for browsers that keep no cookie in the
     LMS's iframe: at login, store the state's binding in the platform's frame
     (lti.put_data) and go on to the platform; at launch, read it back (lti.get_data) and post
     the launch again with it. */
(function () {
  "use strict";
  var WAIT_MS = 3000;

  function platformFrame(name) {
    if (name === "_parent") return window.parent;
    try { return window.parent.frames[name] || window.parent; } catch (e) { return window.parent; }
  }

  function ask(box, message, then) {
    var id = "cqa-" + Math.random().toString(36).slice(2);
    var done = false;
    function finish(value) {
      if (done) return;
      done = true;
      window.removeEventListener("message", listen);
      then(value);
    }
    function listen(event) {
      var data = event.data || {};
      if (event.origin !== box.dataset.origin || data.message_id !== id) return;
      if (data.subject !== message.subject + ".response") return;
      finish(data.error ? null : data.value);
    }
    window.addEventListener("message", listen);
    message.message_id = id;
    platformFrame(box.dataset.target).postMessage(message, box.dataset.origin);
    setTimeout(function () { finish(null); }, WAIT_MS);
  }

  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) { form.submit(); });

  var put = document.getElementById("lti-storage-put");
  if (put) {
    ask(put, { subject: "lti.put_data", key: put.dataset.key, value: put.dataset.value }, function () {
      window.location.replace(put.dataset.next);
    });
  }
  var get = document.getElementById("lti-storage-get");
  if (get) {
    ask(get, { subject: "lti.get_data", key: get.dataset.key }, function (value) {
      var form = document.getElementById("lti-storage-launch");
      form.elements.lti_storage_binding.value = typeof value === "string" ? value : "";
      form.submit();
    });
  }
})();
