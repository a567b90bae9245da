/*
 * app.js: the dashboard.  It reads only the JSON API of the listener
 * that served it: GET /v1/campaigns, /v1/campaigns/ID, .../stats and
 * .../timeseries, each with "Authorization: Bearer KEY".
 *
 * The tenant key lives in one variable of this closure and nowhere else
 * (no cookie, no storage, never in a URL): reloading the page forgets
 * it.  A 401 forgets it too and shows the login form again.
 */
"use strict";

(function () {
	var REFRESH_MS = 5000;
	var key = null;
	var current = null;		/* campaign id shown */
	var timer = null;

	function $(id) {
		return document.getElementById(id);
	}

	function show(which) {
		["login", "campaigns", "campaign"].forEach(function (s) {
			$(s).hidden = s !== which;
		});
		$("logout").hidden = which === "login";
	}

	function say(msg) {
		$("error").textContent = msg || "";
	}

	function Unauthorized() {}

	function api(path) {
		return fetch(path, {
			headers: { "Authorization": "Bearer " + key,
			    "Accept": "application/json" },
			cache: "no-store",
			credentials: "omit"
		}).then(function (res) {
			if (res.status === 401)
				throw new Unauthorized();
			return res.json().then(function (js) {
				if (!res.ok)
					throw new Error(path + ": " + res.status +
					    " " + (js.error ? js.error.message : ""));
				return js;
			});
		});
	}

	function failed(err) {
		if (err instanceof Unauthorized) {
			logout("That key was refused (401).");
			return;
		}
		say(String(err.message || err));
	}

	function stopTimer() {
		if (timer !== null)
			clearInterval(timer);
		timer = null;
	}

	function logout(msg) {
		key = null;
		current = null;
		stopTimer();
		$("tenant-label").textContent = "";
		$("campaign-table").tBodies[0].textContent = "";
		$("sequence-table").tBodies[0].textContent = "";
		$("webhook-table").tBodies[0].textContent = "";
		say("");
		$("login-error").textContent = msg || "";
		show("login");
		$("key").focus();
	}

	function fmtTime(iso) {
		if (!iso)
			return "";
		return new Date(iso).toLocaleString();
	}

	function cell(tr, s, cls) {
		var td = document.createElement("td");

		td.textContent = s;
		if (cls)
			td.className = cls;
		tr.appendChild(td);
		return td;
	}

	/* ----------------------------------------------------- the list */

	function loadList() {
		current = null;
		stopTimer();
		say("");
		return api("/v1/campaigns").then(function (js) {
			var body = $("campaign-table").tBodies[0];

			body.textContent = "";
			js.items.slice().reverse().forEach(function (c) {
				var tr = document.createElement("tr"), b;

				cell(tr, c.id);
				b = document.createElement("button");
				b.type = "button";
				b.className = "link";
				b.textContent = c.name || "(unnamed)";
				b.setAttribute("data-campaign", c.id);
				b.addEventListener("click", function () {
					openCampaign(c.id);
				});
				cell(tr, "").appendChild(b);
				cell(tr, c.status, "status " + c.status);
				cell(tr, String(c.progress.sent), "num");
				cell(tr, String(c.progress.total), "num");
				cell(tr, fmtTime(c.launched_at));
				body.appendChild(tr);
			});
			$("no-campaigns").hidden = js.items.length > 0;
			show("campaigns");
			return loadSequences().then(loadWebhooks);
		}).catch(failed);
	}

	/* A sequence per row; each step's figures link to its campaign
	 * (a sequence step is sent as a hidden campaign of its own). */
	function loadSequences() {
		return api("/v1/sequences").then(function (js) {
			var body = $("sequence-table").tBodies[0];

			body.textContent = "";
			js.items.slice().reverse().forEach(function (q) {
				var tr = document.createElement("tr"), td;

				cell(tr, q.id);
				cell(tr, q.name || "(unnamed)");
				cell(tr, q.status, "status " + q.status);
				cell(tr, String(q.enrolled), "num");
				cell(tr, String(q.active), "num");
				cell(tr, String(q.completed), "num");
				cell(tr, String(q.exited), "num");
				td = cell(tr, "", "steps");
				q.steps.forEach(function (st, i) {
					var b = document.createElement("button");

					b.type = "button";
					b.className = "link";
					b.setAttribute("data-step-campaign", st.campaign_id);
					b.textContent = (i + 1) + ". " + st.sent +
					    " sent, " + st.opens + " opens, " +
					    st.clicks + " clicks" +
					    (i > 0 ? " (" + st["if"] + ", " +
					    st.delay + ")" : "");
					b.addEventListener("click", function () {
						openCampaign(st.campaign_id);
					});
					td.appendChild(b);
					td.appendChild(document.createElement("br"));
				});
				body.appendChild(tr);
			});
			$("no-sequences").hidden = js.items.length > 0;
		});
	}

	/* ------------------------------------------------- webhooks */

	/* "delivered 5 (1 attempt)" for each of an endpoint's last few
	 * attempts, newest first. */
	function deliveriesText(items) {
		return items.map(function (d) {
			return d.status + " " + d.events.length + " (" +
			    d.attempts + (d.attempts === 1 ? " attempt" :
			    " attempts") + (d.last_code ? ", " + d.last_code :
			    "") + ")";
		}).join("; ");
	}

	/* Each endpoint's state and recent deliveries: read-only. */
	function loadWebhooks() {
		return api("/v1/webhooks").then(function (js) {
			var body = $("webhook-table").tBodies[0];

			body.textContent = "";
			$("no-webhooks").hidden = js.items.length > 0;
			return Promise.all(js.items.map(function (w) {
				var tr = document.createElement("tr"), recent;

				cell(tr, w.id);
				cell(tr, w.url, "url");
				cell(tr, w.events.join(", "));
				cell(tr, w.status + (w.disabled_reason ? ": " +
				    w.disabled_reason : ""), "status " + w.status);
				cell(tr, fmtTime(w.last_success));
				cell(tr, w.last_error || "");
				recent = cell(tr, "");
				body.appendChild(tr);
				return api("/v1/webhooks/" +
				    encodeURIComponent(w.id) +
				    "/deliveries?limit=5").then(function (d) {
					recent.textContent =
					    deliveriesText(d.items);
				});
			}));
		});
	}

	/* ------------------------------------------------- one campaign */

	function chooseStep(c) {
		var v = $("step").value;
		var since;

		if (v !== "auto")
			return v;
		since = Date.parse(c.launched_at || "") || Date.now();
		return Date.now() - since > 86400000 ? "hour" : "minute";
	}

	function setText(id, v) {
		$(id).textContent = String(v);
	}

	function pct(x) {
		return (Math.round(x * 1000) / 10) + "%";
	}

	/* The A/B test: per variant, the human figures it is decided on. */
	function renderAB(c) {
		var ab = c.ab, body = $("ab-table").tBodies[0];

		$("ab-card").hidden = !ab;
		if (!ab)
			return;
		body.textContent = "";
		ab.variants.forEach(function (v) {
			var tr = document.createElement("tr");

			[v.variant + (ab.winner === v.variant ? " \u2605" : ""),
			    v.subject, v.sent, v.opens, pct(v.open_rate),
			    v.clicks, pct(v.click_rate)].forEach(function (x) {
				var td = document.createElement("td");
				td.textContent = String(x);
				tr.appendChild(td);
			});
			if (ab.winner === v.variant)
				tr.className = "winner";
			body.appendChild(tr);
		});
		$("ab-note").textContent = "by human unique " + ab.metric +
		    " (machine hits excluded), test share " +
		    pct(ab.test_fraction) + ", wait " + ab.wait + " \u00b7 " +
		    (ab.winner ? "winner: variant " + ab.winner + ", decided " +
		    fmtTime(ab.decided_at) : ab.decide_at ? "decided at " +
		    fmtTime(ab.decide_at) : "starts at launch");
	}

	function renderCampaign(c, s, ts) {
		var p = c.progress, sup = p.suppressed, nsup = 0, k, total;

		for (k in sup)
			nsup += sup[k];
		$("c-name").textContent = c.name || "(unnamed)";
		$("c-status").textContent = c.status;
		$("c-status").className = "badge " + c.status;
		$("c-meta").textContent = "#" + c.id + " \u00b7 from " + c.from +
		    (c.launched_at ? " \u00b7 launched " +
		    fmtTime(c.launched_at) : "") + (c.finished_at ?
		    " \u00b7 finished " + fmtTime(c.finished_at) : "") +
		    (c.send_at ? " \u00b7 send at " + fmtTime(c.send_at) : "") +
		    (c.local_time ? " \u00b7 at " + c.local_time + " local (" +
		    (c.timezone || "UTC") + " unless the contact's)" : "");
		renderAB(c);
		total = Math.max(p.total, 1);
		$("progress-sent").style.width = (p.sent / total * 100) + "%";
		$("progress-failed").style.width = (p.failed / total * 100) + "%";
		$("progress-suppressed").style.width = (nsup / total * 100) + "%";
		$("progress-text").textContent = p.sent + " sent of " + p.total +
		    " \u00b7 " + p.queued + " queued \u00b7 " + p.failed +
		    " failed \u00b7 " + p.deferred + " deferred \u00b7 " + nsup +
		    " suppressed";

		setText("fig-sent", s.sent);
		setText("fig-opens", s.opens.total);
		setText("fig-opens-sub", s.opens.unique + " unique");
		setText("fig-clicks", s.clicks.total);
		setText("fig-clicks-sub", s.clicks.unique + " unique");
		setText("fig-opens-machine", s.opens.machine);
		setText("fig-clicks-machine", s.clicks.machine);
		setText("fig-unsubscribes", s.unsubscribes);
		/* A server without the bounce listener's figures: 0. */
		setText("fig-bounces", s.bounces ? s.bounces.hard : s.bounced);
		setText("fig-bounces-sub", (s.bounces ? s.bounces.soft : 0) +
		    " soft");
		setText("fig-complaints", s.complaints || 0);

		FanfareChart.time($("chart-opens"), ts.points, [
			{ key: "opens", label: "human", cls: "human" },
			{ key: "opens_machine", label: "machine", cls: "machine" }
		]);
		FanfareChart.time($("chart-clicks"), ts.points, [
			{ key: "clicks", label: "human", cls: "human" },
			{ key: "clicks_machine", label: "machine", cls: "machine" }
		]);
		FanfareChart.bars($("chart-links"), s.clicks.by_link.map(
		    function (l) {
			return { label: l.url.replace(/^https?:\/\//, ""),
			    value: l.total,
			    extra: "(" + l.unique + " unique)" };
		}), { empty: "no tracked link" });
		FanfareChart.bars($("chart-countries"), Object.keys(
		    s.by_country).map(function (cc) {
			return { label: cc, value: s.by_country[cc] };
		}), { empty: "no country known (no GeoIP database, or no hit)" });
		FanfareChart.bars($("chart-suppressed"), Object.keys(sup).map(
		    function (r) {
			return { label: r.replace(/_/g, " "), value: sup[r] };
		}).filter(function (i) {
			return i.value > 0;
		}), { empty: "nobody suppressed", cls: "warn" });
		$("updated").textContent = "updated " +
		    new Date().toLocaleTimeString() + " (" + ts.step + "s)";
	}

	function refresh() {
		var id = current, c;

		if (id === null)
			return Promise.resolve();
		return api("/v1/campaigns/" + encodeURIComponent(id)).then(
		    function (js) {
			c = js;
			return Promise.all([
			    api("/v1/campaigns/" + encodeURIComponent(id) +
			    "/stats"),
			    api("/v1/campaigns/" + encodeURIComponent(id) +
			    "/timeseries?step=" + chooseStep(c))]);
		}).then(function (r) {
			if (current !== id)
				return;		/* navigated away meanwhile */
			say("");
			renderCampaign(c, r[0], r[1]);
			show("campaign");
		}).catch(failed);
	}

	function openCampaign(id) {
		stopTimer();
		current = id;
		refresh();
		timer = setInterval(refresh, REFRESH_MS);
	}

	/* ----------------------------------------------------- wiring */

	document.addEventListener("DOMContentLoaded", function () {
		$("login-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			key = $("key").value.trim();
			$("key").value = "";
			$("login-error").textContent = "";
			/* Not even a prefix of the key goes on screen. */
			$("tenant-label").textContent = "logged in";
			loadList();
		});
		$("logout").addEventListener("click", function () {
			logout("");
		});
		$("back").addEventListener("click", loadList);
		$("reload-list").addEventListener("click", loadList);
		$("step").addEventListener("change", refresh);
		show("login");
		$("key").focus();
	});
}());
