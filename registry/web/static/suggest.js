// Suggest existing organisations and sources while a contributor types, so that they
// pick what exists instead of creating a duplicate. Text is set with textContent only.
(function () {
  "use strict";
  const PARTY_FIELDS = ["kind", "sector", "country", "is_new"];
  const SOURCE_FIELDS = ["url", "publisher", "language", "published_date"];

  function fieldBox(group, name) {
    const input = document.getElementById(group + "-" + name);
    return input ? input.closest(".field") : null;
  }

  // The choice the server offered after a name it could not resolve: stale once the
  // contributor types again or picks a suggestion.
  function dropOfferedChoice(group) {
    const offered = document.getElementById(group + "-choice");
    if (offered) offered.remove();
  }

  function setDetailsVisible(group, names, visible) {
    names.forEach(function (name) {
      const box = fieldBox(group, name);
      if (box) box.hidden = !visible;
    });
  }

  function attach(group, textName, url, describe, detailNames) {
    const input = document.getElementById(group + "-" + textName);
    const hidden = document.getElementById(group + "-id");
    if (!input || !hidden) return;
    const list = document.createElement("ul");
    list.className = "suggestions";
    list.id = group + "-suggestions";
    list.setAttribute("aria-live", "polite");
    input.closest(".field").appendChild(list);
    if (hidden.value) setDetailsVisible(group, detailNames, false);
    let timer = null;
    input.addEventListener("input", function () {
      hidden.value = "";
      dropOfferedChoice(group);
      setDetailsVisible(group, detailNames, true);
      clearTimeout(timer);
      timer = setTimeout(function () { lookup(input.value); }, 200);
    });

    function lookup(text) {
      fetch(url + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(show)
        .catch(function () { list.replaceChildren(); });
    }

    function show(items) {
      list.replaceChildren();
      items.forEach(function (item) {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "suggestion";
        button.dataset.id = item.id;
        button.textContent = describe(item);
        button.addEventListener("click", function () {
          hidden.value = item.id;
          input.value = item.name || item.title;
          list.replaceChildren();
          setDetailsVisible(group, detailNames, false);
        });
        li.appendChild(button);
        list.appendChild(li);
      });
    }
  }

  function describeOrganisation(o) {
    let text = "Use existing: " + o.name;
    if (o.matched && o.matched !== o.name) text += " (also known as " + o.matched + ")";
    const where = [o.sector, o.country_name].filter(Boolean).join(", ");
    return where ? text + " — " + where : text;
  }

  function describeSource(s) {
    return "Use existing: " + s.title + (s.publisher ? " — " + s.publisher : "") +
      (s.published_date ? ", " + s.published_date : "");
  }

  document.addEventListener("DOMContentLoaded", function () {
    // "organisation" and "responder" may be pickers of existing organisations only
    // (OrganisationPickForm): they have no details to hide, the same suggestions.
    ["vendor", "client", "organisation", "responder"].forEach(function (group) {
      attach(group, "name", "/organisations/suggest", describeOrganisation, PARTY_FIELDS);
    });
    attach("source", "title", "/sources/suggest", describeSource, SOURCE_FIELDS);
  });
})();
