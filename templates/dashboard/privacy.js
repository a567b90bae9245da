/*
 * privacy.js: a data subject's requests (GDPR Art. 15 and 17, CCPA).
 * Look a person up by address (GET /v1/subjects/EMAIL: what the tenant
 * holds, summed up), download it all as a JSON file (the same GET; the
 * file is built in the page), or erase it (DELETE /v1/subjects/EMAIL)
 * after a confirmation that names the address, then show what went.
 * Every look-up and export is in the tenant's audit log (the server
 * writes it).  A viewer may look up and export, not erase.
 */
"use strict";

(function () {
	var h = FF.h;

	function count(v) {
		return Array.isArray(v) ? v.length : 0;
	}

	/* "alice@x.test" -> "subject-alice-at-x.test.json". */
	function fileName(email) {
		return "subject-" + email.replace(/@/g, "-at-")
		    .replace(/[^A-Za-z0-9._-]/g, "_") + ".json";
	}

	function summary(js) {
		var c = js.contact, rows = [
			["Contact", c ? (c.first_name || c.last_name ?
			    [c.first_name, c.last_name].filter(Boolean)
			    .join(" ") + " \u00b7 " : "") + "status " +
			    (c.status || "active") : "none stored"],
			["Lists", String(count(js.lists))],
			["Messages sent", String(count(js.messages))],
			["Opens, clicks, unsubscribes", String(count(js.events))],
			["Bounces", String(count(js.bounces))],
			["Consent records", String(count(js.consents))],
			["Opted out", js.opted_out ? "yes" +
			    (js.opted_out_at ? ", " + FF.time(js.opted_out_at) :
			    "") : "no"],
			["Blocklisted", js.blocklisted ? "yes" : "no"]
		];

		return h("dl", { class: "facts" }, rows.map(function (r) {
			return [h("dt", null, r[0]), h("dd", null, r[1])];
		}));
	}

	function erased(email, js) {
		var counts = js && js.erased ? js.erased : {};

		return h("div", { class: "card stack", role: "status" },
		    h("h3", null, "Erased"),
		    h("p", null, "Everything held on " + email + " is gone; " +
		    "only a keyed hash of the address stays in the " +
		    "suppression set, so a later import cannot mail it again."),
		    FF.table("What was erased", [
			{ label: "Data", get: function (k) {
				return k.replace(/_/g, " ");
			} },
			{ label: "Erased", num: true, get: function (k) {
				return String(counts[k]);
			} }
		    ], Object.keys(counts), "Nothing was held."));
	}

	function subject(out, email) {
		var box = FF.errorBox(), tools, note = h("p", { class: "hint",
		    role: "status" });

		out.textContent = "";
		return FF.api("GET", "/v1/subjects/" + FF.enc(email))
		    .then(function (js) {
			tools = h("div", { class: "actions" },
			    FF.button("Export as JSON", null, box, function () {
				return FF.api("GET", "/v1/subjects/" +
				    FF.enc(email)).then(function (full) {
					FF.download(fileName(email), full);
					FF.note(note, "The export of " + email +
					    " is downloading.");
				});
			    }),
			    FF.can("write") ? FF.button("Erase everything\u2026",
			    { class: "danger" }, box, function () {
				return erase(out, email);
			    }) : null);
			out.appendChild(h("section", { class: "card stack",
			    "aria-label": "What is held on " + email },
			    h("h3", null, email), summary(js), tools, note,
			    box));
		});
	}

	function erase(out, email) {
		return FF.confirm("Erase everything held on " + email + "? " +
		    "The contact, its list memberships, messages and events " +
		    "are deleted for good; the address stays suppressed.",
		    "Erase " + email).then(function (yes) {
			if (!yes)
				return null;
			return FF.api("DELETE", "/v1/subjects/" +
			    FF.enc(email)).then(function (js) {
				out.textContent = "";
				out.appendChild(erased(email, js));
			});
		});
	}

	FF.screen("privacy", { title: "Privacy requests", role: "read",
	    render: function (el, params) {
		var out = h("div", { class: "stack" }), form;

		el.appendChild(FF.title("Privacy requests"));
		el.appendChild(h("p", { class: "hint" }, "A person may ask " +
		    "what you hold on them (export) or that you delete it " +
		    "(erasure). Look them up by email address."));
		form = FF.form({ class: "card", "aria-label": "Look up a " +
		    "person" }, FF.field("Email address", { type: "email",
		    name: "email", autocomplete: "off", required: true,
		    value: params[0] || "" }), "Look up", function (v) {
			var email = v.email.trim();

			if (!email)
				throw new Error("Type the person's email " +
				    "address first.");
			return subject(out, email);
		});
		el.appendChild(h("div", { class: "stack" }, form, out));
	} });
}());
