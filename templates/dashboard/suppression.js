/*
 * suppression.js: who is never mailed, and why.  Three parts, each a
 * paged list: the opt-outs (GET/POST /v1/optouts; removing one is a
 * re-subscribe, asked first since the caller vouches for the person's
 * consent), the blocklist (addresses and @domains, GET/POST/DELETE
 * /v1/blocklist) and the bounces and complaints the bounce listener read
 * (GET /v1/bounces, newest first).  A viewer sees the lists only.
 */
"use strict";

(function () {
	var h = FF.h;
	var PAGE = 25;

	/* "?limit=N&cursor=C" for a paged GET. */
	function paged(path, cursor) {
		return FF.api("GET", path + "?limit=" + PAGE + (cursor ?
		    "&cursor=" + FF.enc(cursor) : ""));
	}

	/* A titled card: h3 names the region for screen readers. */
	function section(title, hint) {
		var id = FF.uid("sup"), s;

		s = h("section", { class: "card stack", "aria-labelledby": id },
		    h("h3", { id: id }, title), hint ? h("p", { class: "hint" },
		    hint) : null);
		return s;
	}

	function optouts() {
		var s = section("Opt-outs", "People who asked to get no more " +
		    "mail. They stay suppressed until they ask to be " +
		    "re-subscribed."), box = FF.errorBox(), pager;

		pager = FF.pager(function (c) {
			return paged("/v1/optouts", c);
		}, function (items) {
			var cols = [
				{ label: "Email", get: function (i) {
					return h("span", { class: "mono" },
					    i.email);
				} },
				{ label: "Opted out", get: function (i) {
					return FF.time(i.email_at);
				} }
			];

			if (FF.can("write"))
				cols.push({ label: "Action", get: function (i) {
					return FF.button(["Re-subscribe",
					    h("span", { class: "sr-only" }, " " +
					    i.email)], { class: "quiet" }, box,
					    function () {
						return resubscribe(i.email,
						    pager);
					    });
				} });
			return FF.table("Opt-outs", cols, items,
			    "Nobody has opted out.");
		});
		if (FF.can("write"))
			s.appendChild(FF.form({ class: "inline-form",
			    "aria-label": "Add an opt-out" }, FF.field(
			    "Email address to opt out", { type: "email",
			    name: "email", autocomplete: "off", required: true }),
			    "Add the opt-out", function (v, form) {
				return FF.api("POST", "/v1/optouts", { email:
				    v.email.trim() }).then(function () {
					form.reset();
					return pager.reload();
				});
			}));
		s.appendChild(pager);
		s.appendChild(box);
		return s;
	}

	function resubscribe(email, pager) {
		return FF.confirm("Re-subscribe " + email + "? Only do this " +
		    "if the person asked to get your mail again: you vouch " +
		    "for their consent.", "Re-subscribe").then(function (yes) {
			if (!yes)
				return null;
			return FF.api("DELETE", "/v1/optouts/" + FF.enc(email))
			    .then(function () {
				return pager.refresh();
			});
		});
	}

	function blocklist() {
		var s = section("Blocklist", "Addresses (user@example.com) " +
		    "and whole domains (@example.com) that are never mailed."),
		    box = FF.errorBox(), pager;

		pager = FF.pager(function (c) {
			return paged("/v1/blocklist", c);
		}, function (items) {
			var cols = [
				{ label: "Pattern", get: function (i) {
					return h("span", { class: "mono" },
					    i.pattern);
				} },
				{ label: "Added", get: function (i) {
					return FF.time(i.pattern_at);
				} }
			];

			if (FF.can("write"))
				cols.push({ label: "Action", get: function (i) {
					return FF.button(["Remove", h("span",
					    { class: "sr-only" }, " " +
					    i.pattern)], { class: "quiet danger" },
					    box, function () {
						return FF.api("DELETE",
						    "/v1/blocklist/" +
						    FF.enc(i.pattern)).then(
						    function () {
							return pager.refresh();
						    });
					    });
				} });
			return FF.table("Blocklist", cols, items,
			    "The blocklist is empty.");
		});
		if (FF.can("write"))
			s.appendChild(FF.form({ class: "inline-form",
			    "aria-label": "Add to the blocklist" }, FF.field(
			    "Address or @domain to block", { name: "pattern",
			    autocomplete: "off", required: true,
			    placeholder: "@example.com" }), "Block it",
			    function (v, form) {
				return FF.api("POST", "/v1/blocklist", { pattern:
				    v.pattern.trim() }).then(function () {
					form.reset();
					return pager.reload();
				});
			}));
		s.appendChild(pager);
		s.appendChild(box);
		return s;
	}

	var KINDS = { hard: "Hard bounce", soft: "Soft bounce",
	    complaint: "Complaint" };

	function bounces() {
		var s = section("Bounces and complaints", "What came back " +
		    "after the relay accepted a message, newest first. A hard " +
		    "bounce suppresses the address; a complaint opts it out.");

		s.appendChild(FF.pager(function (c) {
			return paged("/v1/bounces", c);
		}, function (items) {
			return FF.stacked(FF.table("Bounces and complaints", [
				{ label: "When", get: function (i) {
					return FF.time(i.at);
				} },
				{ label: "Email", get: function (i) {
					return i.email === null ||
					    i.email === undefined ? h("em",
					    null, "erased") : h("span",
					    { class: "mono" }, i.email);
				} },
				{ label: "Kind", get: function (i) {
					return h("span", { class: "badge " +
					    "kind-" + i.kind }, KINDS[i.kind] ||
					    i.kind);
				} },
				{ label: "Status", get: function (i) {
					return i.status;
				} },
				{ label: "Diagnostic", get: function (i) {
					return i.diagnostic;
				} },
				{ label: "Campaign", get: function (i) {
					return i.campaign && i.campaign !==
					    "0" ? h("a", { href: "#/campaigns/" +
					    FF.enc(i.campaign) }, "Campaign " +
					    i.campaign) : "";
				} }
			], items, "No bounce or complaint so far."));
		}));
		return s;
	}

	FF.screen("suppression", { title: "Suppression", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Suppression"));
		el.appendChild(h("div", { class: "stack" }, optouts(),
		    blocklist(), bounces()));
	} });
}());
