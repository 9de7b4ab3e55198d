// Starts the API documentation viewer on /admin/api/docs (no inline script: the page's policy forbids it).
(() => {
  const root = document.getElementById('api-docs');
  if (!root || typeof window.SwaggerUIBundle !== 'function') return;
  window.SwaggerUIBundle({
    url: root.dataset.openapi,
    domNode: root,
    deepLinking: true,
    // Never send the document to an outside validator.
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
})();
