// Behaviour that would otherwise need inline scripts (the CSP forbids them).
document.addEventListener("htmx:responseError", function (event) {
  var target = document.getElementById("messages");
  if (target && event.detail.xhr) {
    target.innerHTML = event.detail.xhr.responseText;
  }
});

// Upload progress: HTMX reports the bytes sent; the form's <progress> shows them.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target;
  var bar = form && form.querySelector ? form.querySelector("progress") : null;
  if (bar && event.detail.lengthComputable) {
    bar.hidden = false;
    bar.value = Math.round((100 * event.detail.loaded) / event.detail.total);
  }
});

// Drag and drop onto an upload area fills its file input.
document.addEventListener("dragover", function (event) {
  var zone = event.target.closest ? event.target.closest("[data-dropzone]") : null;
  if (zone) {
    event.preventDefault();
    zone.classList.add("dropzone-active");
  }
});
document.addEventListener("dragleave", function (event) {
  var zone = event.target.closest ? event.target.closest("[data-dropzone]") : null;
  if (zone) {
    zone.classList.remove("dropzone-active");
  }
});
document.addEventListener("drop", function (event) {
  var zone = event.target.closest ? event.target.closest("[data-dropzone]") : null;
  if (!zone || !event.dataTransfer || !event.dataTransfer.files.length) {
    return;
  }
  event.preventDefault();
  zone.classList.remove("dropzone-active");
  var input = document.getElementById(zone.getAttribute("data-dropzone"));
  if (input) {
    input.files = event.dataTransfer.files;
  }
});

// A refused form (4xx answers are swapped in like others, see base.html's htmx-config): the
// message also goes beside the field it names (data-field of the error fragment), the field is
// marked invalid and takes the focus, so keyboard and screen-reader users land where the fix is
// (WCAG 3.3.1). A successful answer clears the marks.
document.addEventListener("htmx:afterRequest", function (event) {
  var origin = event.detail.elt;
  var form = origin && origin.closest ? origin.closest("form") : null;
  if (!form || !event.detail.xhr) {
    return;
  }
  // The upload is over, answered either way: its progress bar goes away.
  form.querySelectorAll("progress").forEach(function (bar) { bar.hidden = true; bar.value = 0; });
  form.querySelectorAll(".field-error").forEach(function (old) { old.remove(); });
  form.querySelectorAll("[aria-invalid='true']").forEach(function (old) { old.removeAttribute("aria-invalid"); });
  // The field's own description (its help text), which the message had been put before, alone again.
  form.querySelectorAll("[data-described-before]").forEach(function (old) {
    var before = old.getAttribute("data-described-before");
    if (before) {
      old.setAttribute("aria-describedby", before);
    } else {
      old.removeAttribute("aria-describedby");
    }
    old.removeAttribute("data-described-before");
  });
  if (event.detail.xhr.status < 400) {
    return;
  }
  // The page's confirmation of the action before (data-until-next-action, e.g. «Esito registrato
  // per …» atop the next card) no longer stands beside this refusal.
  document.querySelectorAll("[data-until-next-action]").forEach(function (done) { done.remove(); });
  var holder = document.createElement("div");
  holder.innerHTML = event.detail.xhr.responseText;
  // Several fields refused at once come as a list (li[data-field]), one as the alert itself.
  var refusals = holder.querySelectorAll("li[data-field]");
  if (!refusals.length) {
    refusals = [holder.querySelector("[data-field]")].filter(Boolean);
  }
  var first = null;
  Array.prototype.forEach.call(refusals, function (alert) {
    var input = markField(form, alert.getAttribute("data-field"), alert.textContent);
    first = first || input;
  });
  if (first) {
    first.focus();
  }
});

// The message beside the field `name` of `form`, the field marked invalid and described by it;
// the field, or null when the form has no such field.
function markField(form, name, text) {
  var input = name ? form.querySelector("[name='" + CSS.escape(name) + "']:not([type='hidden'])") : null;
  if (!input) {
    return null;
  }
  var note = document.createElement("div");
  note.className = "field-error invalid-feedback d-block";
  note.id = (input.id || name) + "-errore";
  note.textContent = text;
  input.setAttribute("aria-invalid", "true");
  // The message first, then the field's help text (a hint on the range allowed), both read out.
  // (only descriptions still on the page: the field's previous message is gone already)
  var before = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
    return id && id !== note.id && document.getElementById(id);
  }).join(" ");
  input.setAttribute("data-described-before", before);
  input.setAttribute("aria-describedby", before ? note.id + " " + before : note.id);
  // A checkbox keeps its label right after it (Bootstrap Italia draws the box from the label).
  var anchor = input;
  if ((input.type === "checkbox" || input.type === "radio") && input.nextElementSibling && input.nextElementSibling.tagName === "LABEL") {
    anchor = input.nextElementSibling;
  }
  anchor.insertAdjacentElement("afterend", note);
  return input;
}

// After a swap that replaced a whole form or section, the focus would fall back to the page:
// it goes to the first field marked invalid in what came in, else to an element that asks for it
// (data-focus-after-swap, e.g. a section's heading). A refresh nobody asked for (requested by an
// element marked data-background-refresh) leaves the focus where the user put it.
function isBackground(event) {
  var config = event.detail && event.detail.requestConfig;
  var elt = (config && config.elt) || (event.detail && event.detail.elt);
  return !!(elt && elt.hasAttribute && elt.hasAttribute("data-background-refresh"));
}

function focusables(root) {
  return Array.prototype.slice.call(root.querySelectorAll("a[href], button, input, select, textarea, [tabindex]"));
}

// A background refresh replaces what holds the focus: the element in the same place of the new
// content (by id, else by its rank among the focusable ones) takes it back, so the keyboard user
// stays where they were (WCAG 2.4.3).
// The confirmation of what the user just did (data-keep-on-refresh) is not part of what the
// server sends on a refresh: it is carried over, at the top, until the user's next action, and
// keeps the focus if it had it.
var heldFocus = null;
var heldMessages = [];
document.addEventListener("htmx:beforeSwap", function (event) {
  var target = event.detail.target;
  var active = document.activeElement;
  heldFocus = null;
  heldValues = isBackground(event) && target ? changedFields(target) : [];
  heldMessages = isBackground(event) && target ? Array.prototype.slice.call(target.querySelectorAll("[data-keep-on-refresh]")) : [];
  if (isBackground(event) && target && active && active !== document.body && target.contains(active)) {
    heldFocus = { id: active.id, rank: focusables(target).indexOf(active), message: heldMessages.indexOf(active) >= 0 ? active : null };
  }
});

function restoreMessages(target, messages) {
  messages.slice().reverse().forEach(function (message) {
    var testid = message.getAttribute("data-testid");
    if (!testid || !target.querySelector("[data-testid='" + CSS.escape(testid) + "']")) {
      target.insertBefore(message, target.firstChild);
    }
  });
}

// Nor does it undo what the user chose or typed there and has not sent yet (a supervisor picking
// whom to hand a callback to): every field they changed (marked on its change) gets its value back
// in the new content, by id, when it can still take it (a select still offering that option).
var heldValues = [];
document.addEventListener("change", markChanged);
document.addEventListener("input", markChanged);
function markChanged(event) {
  var field = event.target;
  if (field && field.id && field.setAttribute && field.closest && field.closest("[data-background-refresh]")) {
    field.setAttribute("data-changed", "");
  }
}

function changedFields(root) {
  return Array.prototype.map.call(root.querySelectorAll("[data-changed][id]"), function (field) {
    return { id: field.id, value: field.value, checked: field.checked };
  });
}

function restoreFields(held) {
  held.forEach(function (h) {
    var field = document.getElementById(h.id);
    if (!field) {
      return;
    }
    if (field.type === "checkbox" || field.type === "radio") {
      field.checked = h.checked;
    } else if (field.tagName === "SELECT") {
      var offered = Array.prototype.some.call(field.options, function (o) { return o.value === h.value; });
      if (!offered) {
        return;
      }
      field.value = h.value;
    } else {
      field.value = h.value;
    }
    field.setAttribute("data-changed", "");
  });
}

// «Sospendi l'aggiornamento» (data-pause-refresh="<id>"): while pressed, the background refreshes
// of that element are not sent (WCAG 2.2.2).
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-pause-refresh]") : null;
  if (!button) {
    return;
  }
  var paused = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", paused ? "true" : "false");
  button.textContent = paused ? button.getAttribute("data-resume-label") : button.getAttribute("data-pause-label");
  // The sentence that says whether the element refreshes itself (data-refresh-note="<id>").
  var id = button.getAttribute("data-pause-refresh");
  var note = document.querySelector("[data-refresh-note='" + CSS.escape(id) + "']");
  if (note) {
    note.textContent = paused ? note.getAttribute("data-paused") : note.getAttribute("data-running");
  }
});
document.addEventListener("htmx:beforeRequest", function (event) {
  var elt = event.detail.elt;
  if (!elt || !elt.id || !isBackground(event)) {
    return;
  }
  var pause = document.querySelector("[data-pause-refresh='" + CSS.escape(elt.id) + "'][aria-pressed='true']");
  if (pause) {
    event.preventDefault();
  }
});

document.addEventListener("htmx:afterSettle", function (event) {
  var target = event.target;  // the element settled (after an outerHTML swap, the new one)
  if (isBackground(event)) {
    restoreFields(heldValues);
    heldValues = [];
    if (target && target.querySelectorAll) {
      restoreMessages(target, heldMessages);
    }
    heldMessages = [];
    var held = heldFocus;
    heldFocus = null;
    if (held && target && target.querySelectorAll) {
      var again = held.message || (held.id && document.getElementById(held.id)) || focusables(target)[held.rank];
      if (again) {
        again.focus({ preventScroll: true });
      }
    }
    return;
  }
  if (!target || !target.querySelector || (document.activeElement && target.contains(document.activeElement))) {
    return;
  }
  // Else a message the swap brought (data-announce: «Regole salvate», a report generated), so the
  // keyboard and the screen reader go on from what the action answered, not from the top.
  var next = target.querySelector("[aria-invalid='true']") || target.querySelector("[data-focus-after-swap]") ||
    target.querySelector("[data-announce][tabindex]");
  if (!next && target.matches && target.matches("[data-focus-after-swap], [data-announce][tabindex]")) {
    next = target;
  }
  if (next) {
    next.focus();
  }
});

// A job's progress fragment (job.html) that comes back finished, done or failed, fires
// "job-finished" on the body once, so what shows the job's effects refreshes then (the review
// queue of the reconciliation page: hx-trigger="job-finished from:body") with no polling while
// nothing runs.
document.addEventListener("htmx:afterSettle", function (event) {
  var target = event.target;
  var finished = "[data-testid='job'][data-status='done'], [data-testid='job'][data-status='failed']";
  if (!target || !target.matches) {
    return;
  }
  var job = target.matches(finished) ? target : target.querySelector(finished);
  if (job) {
    document.body.dispatchEvent(new CustomEvent("job-finished", { bubbles: true, detail: { job: job.id } }));
  }
});

// A message shown once (an outcome recorded, a receipt attached): the page drops the words of its
// address that asked for it, so a reload does not say it again.
document.addEventListener("DOMContentLoaded", function () {
  if (document.querySelector("[data-shown-once]") && window.location.search) {
    window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  }
  // The page a form led to opens on its message (a status present at load is not announced): a
  // screen reader reads it, and the keyboard goes on from there instead of from the top.
  var message = document.querySelector("[data-announce]");
  if (message && !document.querySelector("[autofocus]")) {
    message.focus();
  }
});

// A plain form that undoes something (data-confirm: the question) asks first; HTMX forms use
// hx-confirm.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);

// The menu's «Regole e impostazioni» (a <details>): Escape closes it and gives the focus back to
// it; a click or the focus elsewhere closes it.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") {
    return;
  }
  var open = document.querySelector("details.nav-menu[open]");
  if (open) {
    open.open = false;
    open.querySelector("summary").focus();
  }
});
function closeMenusOutside(event) {
  document.querySelectorAll("details.nav-menu[open]").forEach(function (menu) {
    if (!menu.contains(event.target)) {
      menu.open = false;
    }
  });
}
document.addEventListener("click", closeMenusOutside);
// Tabbing past its last link closes it too, as a menu does.
document.addEventListener("focusin", closeMenusOutside);

// A form whose answer is a preview to confirm (data-clears="<selector>": the case answer's «Cosa
// cambia»): changing any field takes the preview away, so what is confirmed is what the form says.
function clearPreview(event) {
  var form = event.target && event.target.closest ? event.target.closest("form[data-clears]") : null;
  var shown = form ? document.querySelector(form.getAttribute("data-clears")) : null;
  if (shown && shown.firstChild) {
    shown.innerHTML = "";
  }
}
document.addEventListener("input", clearPreview);
document.addEventListener("change", clearPreview);
