// Renders the generated OpenAPI document with the vendored Swagger UI.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  // validatorUrl: null, or Swagger UI would send this server's address to an outside validator
  window.ui = SwaggerUIBundle({ url: root.dataset.specUrl, domNode: root, deepLinking: true, validatorUrl: null });
})();
