// Small enhancements only: every page works without this file.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // Open collapsed details before printing, so the paper copy has everything.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) {
      d.setAttribute("open", "");
      d.setAttribute("data-print-opened", "");
    });
  });
  window.addEventListener("afterprint", function () {
    document.querySelectorAll("details[data-print-opened]").forEach(function (d) {
      d.removeAttribute("open");
      d.removeAttribute("data-print-opened");
    });
  });

  // The conversation on /ask. Without this, every question, answer and change reloads the page (a plain GET
  // form). With it, the same page is fetched and only what changed is put in: new turns are added, the old
  // ones stay; then focus moves to what arrived (the address's fragment names it) and the status line says so.
  var main = document.getElementById("main_content");
  if (main && document.getElementById("ask-form")) {
    conversation(main);
  }

  function conversation(main) {
    var busy = false;

    function go(url, push) {
      busy = true;
      main.setAttribute("aria-busy", "true");
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.text();
        })
        .then(function (text) {
          var page = new DOMParser().parseFromString(text, "text/html");
          var fresh = page.getElementById("main_content");
          if (!fresh) { throw new Error("no main content"); }
          update(main, fresh);
          document.title = page.title;
          if (push) { history.pushState(null, "", url); }
          arrive(main, new URL(url, location.href).hash.slice(1));
        })
        .catch(function () { window.location.href = url; })  // the page itself says what went wrong
        .finally(function () {
          busy = false;
          main.removeAttribute("aria-busy");
        });
    }

    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches("form[data-thread]")) { return; }
      event.preventDefault();
      if (busy) { return; }
      var url = new URL(form.getAttribute("action"), location.href);
      url.search = new URLSearchParams(new FormData(form)).toString();
      go(url.toString(), true);
    });
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-thread]");
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) { return; }
      event.preventDefault();
      if (!busy) { go(link.href, true); }
    });
    window.addEventListener("popstate", function () { go(location.href, false); });
  }

  // Put the fetched page's main content in place: the status line is kept (so it is announced), the thread's
  // turns are compared one by one (so the turns already read stay as they are), the rest is replaced.
  function update(main, fresh) {
    var thread = main.querySelector("#thread");
    var nodes = Array.prototype.slice.call(fresh.children).map(function (node) {
      var here = node.id ? document.getElementById(node.id) : null;
      if (here && node.hasAttribute("data-keep")) { return here; }
      if (here && node.id === "thread" && here === thread) {
        turns(thread, node);
        return thread;
      }
      return document.adoptNode(node);
    });
    main.replaceChildren.apply(main, nodes);
  }

  function turns(list, fresh) {
    var current = Array.prototype.slice.call(list.children);
    var next = Array.prototype.slice.call(fresh.children);
    next.forEach(function (turn, i) {
      var here = current[i];
      if (!here) {
        list.appendChild(document.adoptNode(turn));
      } else if (here.outerHTML !== turn.outerHTML) {
        list.replaceChild(document.adoptNode(turn), here);
      }
    });
    current.slice(next.length).forEach(function (turn) { turn.remove(); });
  }

  // Focus what arrived (a turn's answer heading, the next guided question or its result, a turn's law) and
  // say it in the status line.
  function arrive(main, id) {
    var target = (id && document.getElementById(id)) || main.querySelector(".turn--newest") || main;
    var focus = target.hasAttribute("data-focus") ? target : (target.querySelector("[data-focus]") || target);
    if (!focus.hasAttribute("tabindex")) { focus.setAttribute("tabindex", "-1"); }
    focus.focus();
    var status = document.getElementById("ask-status");
    if (!status) { return; }
    var turn = focus.closest(".turn");
    var urgent = turn && turn.querySelector(".emergency-panel") ? "If a child is in immediate danger, call 999 now. " : "";
    status.textContent = "";
    window.setTimeout(function () { status.textContent = urgent + focus.textContent.trim(); }, 50);
  }
})();
