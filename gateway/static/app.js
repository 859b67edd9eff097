// Behaviour that would otherwise need inline scripts (the CSP forbids them).
document.addEventListener("htmx:responseError", function (event) {
  var target = document.getElementById("messages");
  if (target && event.detail.xhr) {
    target.innerHTML = event.detail.xhr.responseText;
  }
});
