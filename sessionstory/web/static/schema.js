// Starts Swagger UI on /schema (a file, not an inline script: the page's CSP allows no inline code).
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.getAttribute("data-url"), dom_id: "#swagger-ui", deepLinking: true });
});
