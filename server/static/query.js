/* The query page: the YASGUI editor with every named query as a ready example. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("query-config").textContent);
  var examples = {};
  config.examples.forEach(function (example) {
    examples[example.name] = example;
  });
  var select = document.getElementById("example");
  var title = document.getElementById("example-title");
  var description = document.getElementById("example-description");
  var apiLink = document.getElementById("example-api");

  // Only completers that ask no other host: LOV's class and property look-ups stay off.
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "prefixes"];
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: new URL(config.endpoint, window.location.href).href, method: "POST" },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    populateFromUrl: false,
    autofocus: false,
    yasr: { prefixes: config.prefixes },
  });

  function show(name) {
    var example = examples[name];
    if (!example) {
      return false;
    }
    var tab = yasgui.getTab();
    tab.setName(example.title);
    tab.setQuery(example.query);
    select.value = name;
    title.textContent = example.title;
    description.textContent = example.description;
    apiLink.href = example.api;
    document.body.dataset.example = name;
    if (window.location.hash !== "#example=" + name) {
      window.history.replaceState(null, "", "#example=" + name);
    }
    return true;
  }

  function fromHash() {
    var match = /^#example=([a-z0-9-]+)$/.exec(window.location.hash);
    return match !== null && show(match[1]);
  }

  select.addEventListener("change", function () {
    show(select.value);
  });
  document.querySelectorAll("a[data-example]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      show(link.dataset.example);
      yasgui.getTab().getYasqe().focus();
    });
  });
  window.addEventListener("hashchange", fromHash);
  if (!fromHash() && select.value) {
    show(select.value);
  }
  document.body.dataset.ready = "true";
})();
