/* Starts Swagger UI on the API docs page with the schema URL its element names. */
(function () {
  "use strict";
  window.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("swagger-ui");
    if (!el || !window.SwaggerUIBundle) return;
    window.ui = window.SwaggerUIBundle({
      url: el.getAttribute("data-schema-url"),
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: false,
      presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
      plugins: [window.SwaggerUIBundle.plugins.DownloadUrl],
      layout: "StandaloneLayout",
    });
  });
})();
