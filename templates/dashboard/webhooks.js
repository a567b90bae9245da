/*
 * webhooks.js: the tenant's webhook endpoints (/v1/webhooks).
 *
 * #/webhooks lists them and creates one (URL and the events it takes);
 * the signing secret the server answers is shown once, there, with a
 * copy button, and is not kept anywhere.  #/webhooks/ID is one endpoint:
 * its state (active or disabled and why, the last error), its events and
 * on/off switch (PATCH), "send a test event" (POST .../test), a new
 * secret (POST .../rotate, shown once too), delete, and its delivery
 * log (GET .../deliveries, paged, refreshed while the screen is open).
 */
"use strict";

(function () {
	var h = FF.h;
	var EVENTS = ["sent", "bounced", "complained", "opened", "clicked",
	    "unsubscribed", "subscribed"];

	/* The event checkboxes of a form, in a fieldset. */
	function eventBoxes(checked) {
		return h("fieldset", { class: "events" }, h("legend", null,
		    "Events to send"), EVENTS.map(function (e) {
			var id = FF.uid("ev");

			return h("div", { class: "field inline" }, h("input",
			    { type: "checkbox", id: id, name: "ev_" + e,
			    checked: checked.indexOf(e) !== -1 }),
			    h("label", { "for": id }, e));
		}));
	}

	function chosen(v) {
		return EVENTS.filter(function (e) {
			return v["ev_" + e];
		});
	}

	/* A secret shown once: the text and a button copying it. */
	function secretPanel(secret, what) {
		var status = h("span", { class: "hint", role: "status" });

		return h("div", { class: "card secret", role: "region",
		    "aria-label": "The new signing secret" },
		    h("p", null, h("strong", null, what), " It is shown only " +
		    "this once: store it where your receiver can read it. " +
		    "It signs every delivery (Fanfare-Signature)."),
		    h("p", null, h("code", { class: "secret-value" }, secret)),
		    h("div", { class: "actions" }, h("button", { type: "button",
		    class: "quiet", on: { click: function () {
			navigator.clipboard.writeText(secret).then(function () {
				FF.note(status, "Copied.");
			}, function (e) {
				FF.note(status, "Could not copy (" + e.message +
				    "): select it and copy it by hand.");
			});
		    } } }, "Copy the secret"), status));
	}

	function stateText(w) {
		return w.status === "active" ? "active" : "disabled" +
		    (w.disabled_reason ? ": " + w.disabled_reason : "");
	}

	/* ------------------------------------------------------ the list */

	function listScreen(el) {
		var list = h("div"), box = FF.errorBox(), fresh = h("div");

		function reload() {
			FF.showError(box, null);
			return FF.api("GET", "/v1/webhooks").then(function (js) {
				list.textContent = "";
				list.appendChild(FF.table("Webhook endpoints", [
					{ label: "URL", get: function (w) {
						return h("a", { href:
						    "#/webhooks/" + FF.enc(w.id),
						    class: "mono" }, w.url);
					} },
					{ label: "Events", get: function (w) {
						return (w.events || []).join(
						    ", ");
					} },
					{ label: "State", get: function (w) {
						return h("span", { class:
						    "badge " + w.status },
						    stateText(w));
					} },
					{ label: "Last success", get:
					    function (w) {
						return FF.time(w.last_success);
					} }
				], js.items || [], "No endpoint yet."));
			}).catch(function (e) {
				FF.showError(box, e);
			});
		}
		el.appendChild(FF.title("Webhooks"));
		el.appendChild(h("p", { class: "hint" }, "Fanfare POSTs " +
		    "signed batches of events to your endpoints; open one " +
		    "to see its delivery log."));
		if (FF.can("write"))
			el.appendChild(FF.form({ class: "card", "aria-label":
			    "Add an endpoint" }, [h("h3", null, "Add an " +
			    "endpoint"), FF.field("Endpoint URL", { type: "url",
			    name: "url", required: true, autocomplete: "off",
			    placeholder: "https://example.com/fanfare" }),
			    eventBoxes(EVENTS)], "Add the endpoint",
			    function (v, f) {
				return FF.api("POST", "/v1/webhooks", { url:
				    v.url.trim(), events: chosen(v) })
				    .then(function (js) {
					f.reset();
					fresh.textContent = "";
					fresh.appendChild(secretPanel(js.secret,
					    "Endpoint " + js.id + " is added."));
					fresh.appendChild(h("p", null, h("a",
					    { href: "#/webhooks/" +
					    FF.enc(js.id) }, "Open the endpoint " +
					    "and its delivery log")));
					return reload();
				});
			}));
		el.appendChild(fresh);
		el.appendChild(box);
		el.appendChild(list);
		return reload();
	}

	/* ------------------------------------------------- one endpoint */

	function deliveries(id) {
		return FF.pager(function (c) {
			return FF.api("GET", "/v1/webhooks/" + FF.enc(id) +
			    "/deliveries?limit=20" + (c ? "&cursor=" +
			    FF.enc(c) : ""));
		}, function (items) {
			return FF.stacked(FF.table("Delivery log", [
				{ label: "When", get: function (d) {
					return FF.time(d.time);
				} },
				{ label: "Delivery", get: function (d) {
					return h("code", null, d.id);
				} },
				{ label: "Events", num: true, get: function (d) {
					return String((d.events || []).length);
				} },
				{ label: "Attempts", num: true, get: function (d) {
					return String(d.attempts);
				} },
				{ label: "Status", get: function (d) {
					return h("span", { class: "badge " +
					    d.status }, d.status);
				} },
				{ label: "HTTP", num: true, get: function (d) {
					return d.last_code ? String(d.last_code) :
					    "";
				} },
				{ label: "Next try", get: function (d) {
					return FF.time(d.next_at);
				} },
				{ label: "Error", get: function (d) {
					return d.error || "";
				} }
			], items, "Nothing delivered yet."));
		});
	}

	function stateFacts(w) {
		var rows = [
			["URL", w.url], ["State", stateText(w)],
			["Events", (w.events || []).join(", ")],
			["Created", FF.time(w.created_at)],
			["Last success", FF.time(w.last_success) || "never"]
		];

		if (w.last_code)
			rows.push(["Last HTTP status", String(w.last_code)]);
		if (w.last_error)
			rows.push(["Last error", w.last_error]);
		if (w.failing_since)
			rows.push(["Failing since", FF.time(w.failing_since)]);
		if (w.next_attempt_at)
			rows.push(["Next attempt", FF.time(w.next_attempt_at)]);
		if (w.old_secret_until)
			rows.push(["Old secret signs until",
			    FF.time(w.old_secret_until)]);
		return h("dl", { class: "facts" }, rows.map(function (r) {
			return [h("dt", null, r[0]), h("dd", null, r[1])];
		}));
	}

	function oneScreen(el, id) {
		var top = h("div", { class: "stack" }), log, note = h("p",
		    { class: "done-note", role: "status" }), secret = h("div");

		function draw(w) {
			var box = FF.errorBox();

			top.textContent = "";
			top.appendChild(h("section", { class: "card",
			    "aria-label": "State" }, stateFacts(w)));
			if (!FF.can("write"))
				return;
			top.appendChild(FF.form({ class: "card", "aria-label":
			    "Change the endpoint" }, [h("h3", null, "Change"),
			    eventBoxes(w.events || []),
			    h("div", { class: "field inline" }, h("input",
			    { type: "checkbox", id: "wh-enabled", name:
			    "enabled", checked: w.disabled_reason !==
			    "disabled by PATCH" }), h("label", { "for":
			    "wh-enabled" }, "Enabled (deliveries go out)"))],
			    "Save the changes", function (v) {
				return FF.api("PATCH", "/v1/webhooks/" +
				    FF.enc(id), { events: chosen(v), status:
				    v.enabled ? "active" : "disabled" })
				    .then(function (nw) {
					draw(nw);
					FF.note(note, "Saved.");
				});
			}));
			top.appendChild(h("div", { class: "actions" },
			    FF.button("Send a test event", null, box,
			    function () {
				return FF.api("POST", "/v1/webhooks/" +
				    FF.enc(id) + "/test").then(function (js) {
					FF.note(note, "Test event " +
					    (js && js.event_id ? js.event_id +
					    " " : "") + "queued; its delivery " +
					    "shows in the log below.");
					setTimeout(log.refresh, 1500);
				});
			    }),
			    FF.button("New secret", { class: "quiet" }, box,
			    function () {
				return FF.confirm("Make a new signing secret? " +
				    "The old one also signs for 24 hours, " +
				    "so your receiver can switch.", "Make a " +
				    "new secret").then(function (yes) {
					if (!yes)
						return null;
					return FF.api("POST", "/v1/webhooks/" +
					    FF.enc(id) + "/rotate").then(
					    function (js) {
						secret.textContent = "";
						secret.appendChild(secretPanel(
						    js.secret, "A new secret " +
						    "is made."));
					    });
				});
			    }),
			    FF.button("Delete the endpoint", { class: "quiet " +
			    "danger" }, box, function () {
				return FF.confirm("Delete the endpoint " +
				    w.url + "? Nothing more is sent to it.",
				    "Delete").then(function (yes) {
					if (!yes)
						return null;
					return FF.api("DELETE", "/v1/webhooks/" +
					    FF.enc(id)).then(function () {
						FF.go("webhooks");
					});
				});
			    })));
			top.appendChild(box);
		}
		el.appendChild(FF.title("Webhook endpoint", h("a", { href:
		    "#/webhooks" }, "All endpoints")));
		el.appendChild(top);
		el.appendChild(note);
		el.appendChild(secret);
		return FF.api("GET", "/v1/webhooks/" + FF.enc(id)).then(
		    function (w) {
			draw(w);
			log = deliveries(id);
			el.appendChild(h("section", { class: "stack",
			    "aria-label": "Delivery log" }, h("h3", null,
			    "Delivery log"), log));
			FF.every(5000, function () {
				log.refresh();
			});
		});
	}

	FF.screen("webhooks", { title: "Webhooks", role: "read",
	    render: function (el, params) {
		if (params[0])
			return oneScreen(el, params[0]);
		return listScreen(el);
	} });
}());
