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
