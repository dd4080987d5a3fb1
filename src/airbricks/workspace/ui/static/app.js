// airbricks local workspace UI: the few things a server-rendered page cannot do alone.
// 1. Databricks links carry the page in the URL fragment (/?o=1#job/2/run/3), which never reaches the
//    server: the home page maps the fragment to a server path and goes there.
// 2. The sign-in form keeps the full URL (fragment included), so a link still lands after signing in.
// 3. Buttons call the real API through /ui/api/... with the page's CSRF token (never the API token).
// 4. Pages of something still moving (data-refresh) re-fetch themselves until it stops.
"use strict";

function routeFor(hash) {
  const h = decodeURIComponent((hash || "").replace(/^#/, ""));
  let m;
  if ((m = h.match(/^job\/(\d+)\/run\/(\d+)/))) return "/ui/runs/" + m[2];
  if ((m = h.match(/^job\/(\d+)/))) return "/ui/jobs/" + m[1];
  if (/^(jobs|joblist|job)\/?$/.test(h) || /^jobs\/runs/.test(h)) return "/ui/runs";
  if ((m = h.match(/^setting\/clusters\/([^/]+)/))) return "/ui/clusters/" + encodeURIComponent(m[1]);
  if (/^(setting\/clusters|clusters|compute)\/?$/.test(h)) return "/ui/clusters";
  if ((m = h.match(/^sql\/warehouses\/([^/]+)/))) return "/ui/warehouses/" + encodeURIComponent(m[1]);
  if ((m = h.match(/^workspace(\/.*)?$/))) return "/ui/workspace" + encodeURI(m[1] || "");
  if ((m = h.match(/^(?:dbfs|files)(?::)?(\/.*)?$/))) return "/ui/dbfs" + encodeURI(m[1] || "");
  if ((m = h.match(/^(?:table|explore\/data)(\/[^?]*)?$/))) return "/ui/catalog" + encodeURI(m[1] || "");
  if ((m = h.match(/^(\/Volumes\/.*)$/))) return "/ui/volumes" + encodeURI(m[1].slice(8));
  return null;
}

function notice(text, isError) {
  const box = document.getElementById("notice");
  if (!box) return;
  box.textContent = text;
  box.className = "notice" + (isError ? " error" : "");
  box.hidden = false;
}

function routeHome() {
  if (location.pathname !== "/" || !location.hash || document.getElementById("signin")) return;
  const target = routeFor(location.hash);
  if (target) {
    location.replace(target);
  } else {
    notice("No page here for the link " + location.hash + ": the local workspace has run, job, cluster, "
           + "warehouse, catalog, workspace and file pages.", true);
  }
}

function keepSignInTarget() {
  const next = document.getElementById("signin-next");
  if (!next) return;
  if (location.pathname !== "/login") {
    next.value = location.pathname + location.search + location.hash;
    // A SameSite=Strict cookie is not sent on a navigation from another site (e.g. Airflow on localhost
    // opening 127.0.0.1): one reload from this page is same-site and carries it.
    const key = "airbricks-reloaded:" + location.href;
    if (!sessionStorage.getItem(key)) {
      sessionStorage.setItem(key, "1");
      location.reload();
    }
  } else if (location.hash && next.value.indexOf("#") < 0) {
    next.value = next.value + location.hash;
  }
}

async function callApi(button) {
  const question = button.dataset.confirm;
  if (question && !window.confirm(question)) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  button.disabled = true;
  try {
    const answer = await fetch("/ui/api/" + button.dataset.endpoint, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: button.dataset.body || "{}",
    });
    const text = await answer.text();
    let body = {};
    try { body = JSON.parse(text || "{}"); } catch (e) { body = {message: text}; }
    if (answer.ok) {
      notice(button.textContent.trim() + ": done.", false);
      setTimeout(refresh, 300);
    } else {
      notice(button.textContent.trim() + " failed: " + (body.error_code || answer.status) + ": "
             + (body.message || text), true);
    }
  } catch (err) {
    notice(button.textContent.trim() + " failed: " + err, true);
  } finally {
    button.disabled = false;
  }
}

let refreshTimer = null;

async function refresh() {
  clearTimeout(refreshTimer);
  const answer = await fetch(location.href, {credentials: "same-origin", headers: {"X-Refresh": "1"}});
  if (!answer.ok && answer.status !== 404) return;
  const doc = new DOMParser().parseFromString(await answer.text(), "text/html");
  const fresh = doc.getElementById("main");
  const main = document.getElementById("main");
  if (!fresh || !main) return;
  main.innerHTML = fresh.innerHTML;
  if (fresh.dataset.refresh) main.dataset.refresh = fresh.dataset.refresh; else delete main.dataset.refresh;
  schedule();
}

function schedule() {
  const main = document.getElementById("main");
  if (main && main.dataset.refresh) refreshTimer = setTimeout(refresh, parseInt(main.dataset.refresh, 10));
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.action");
  if (button) { event.preventDefault(); callApi(button); }
});

routeHome();
window.addEventListener("hashchange", routeHome);  // a link that differs only in its fragment
keepSignInTarget();
schedule();
