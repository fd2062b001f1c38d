/* global window */
// The API reference page (GET /_local/reference): Swagger UI renders /openapi.json, the description
// `npm run openapi` generates. A file of its own, not an inline script: the page's CSP allows
// scripts from this origin only. "Try it out" calls this local stack; Authorize takes a dev token
// (`npm run token`, or the demo page's).
window.addEventListener('DOMContentLoaded', () => {
  window.SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#reference',
    deepLinking: true,
    // Nothing leaves this machine: no validator badge from swagger.io.
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});
