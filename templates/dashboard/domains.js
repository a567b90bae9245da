/*
 * domains.js: two owner-only screens about how mail leaves.
 *
 * "domains": the tenant's sending domains (/v1/domains): add one, see
 * the DNS records to publish (each with a button that copies its value),
 * verify them (each record's last check is shown), rotate the DKIM keys,
 * delete.  Private keys never reach the page: the API has none to give.
 *
 * "relay": the tenant's own SMTP relay (/v1/relay): show it, set it
 * (PUT), or go back to the node's relay (DELETE).  The password is
 * write-only: the page only ever learns "password set".
 */
"use strict";

(function () {
	var h = FF.h;

	/* --------------------------------------------------------- domains */

	var RESULTS = { match: "found, matches", mismatch: "found, does not " +
	    "match", missing: "not found", error: "lookup failed" };

	/* A button copying text, its outcome said in status. */
	function copyButton(text, what, status) {
		return h("button", { type: "button", class: "quiet copy", on: {
		    click: function () {
			var p = navigator.clipboard && navigator.clipboard
			    .writeText ? navigator.clipboard.writeText(text) :
			    Promise.reject(new Error("this browser gives no " +
			    "clipboard to the page"));

			p.then(function () {
				FF.note(status, "Copied the " + what + ".");
			}, function (e) {
				FF.note(status, "Could not copy the " + what +
				    " (" + e.message + "): select it and " +
				    "copy it by hand.");
			});
		    } } }, "Copy", h("span", { class: "sr-only" }, " the " +
		    what));
	}

	function checkText(c) {
		if (!c)
			return "not checked yet";
		return (RESULTS[c.result] || c.result) + (c.checked_at ?
		    ", " + FF.time(c.checked_at) : "") + (c.error ? " (" +
		    c.error + ")" : "");
	}

	function records(d, status) {
		return FF.stacked(FF.table("DNS records of " + d.domain, [
			{ label: "Purpose", get: function (r) {
				return r.purpose.toUpperCase() + (r.selector &&
				    d.dns.some(function (o) {
					return o.generation &&
					    o.generation !== r.generation;
				    }) ? " (generation " + r.generation + ")" :
				    "");
			} },
			{ label: "Type", get: function (r) {
				return r.type;
			} },
			{ label: "Name", get: function (r) {
				return h("code", null, r.name);
			} },
			{ label: "Value", cls: "dns-value", get: function (r) {
				return h("code", null, r.value);
			} },
			{ label: "Copy", get: function (r) {
				return copyButton(r.value, r.purpose + " " +
				    r.type + " value of " + r.name, status);
			} },
			{ label: "Last check", get: function (r) {
				return h("span", { class: "check " +
				    (r.check ? r.check.result : "none") },
				    checkText(r.check));
			} }
		], d.dns || [], "No records."));
	}

	/* One domain's card; redraw(d) replaces it after verify/rotate. */
	function domainCard(d, reload) {
		var box = FF.errorBox(), status = h("p", { class: "hint",
		    role: "status" }), card, id = FF.uid("dom");

		function redraw(nd, msg) {
			var n = domainCard(nd, reload);

			card.replaceWith(n);
			if (msg)
				FF.note(n.status, msg);
		}
		card = h("section", { class: "card stack domain",
		    "aria-labelledby": id },
		    h("div", { class: "title" }, h("h3", { id: id, class:
		    "domain-name" }, d.domain), h("span", { class: "badge " +
		    d.status }, d.status)),
		    h("p", { class: "hint" }, [
			d.created_at ? "Added " + FF.time(d.created_at) + ". " :
			    "",
			d.checked_at ? "Last verified " + FF.time(d.checked_at)
			    + ". " : "",
			d.status !== "verified" ? "Publish these records at " +
			    "your DNS host, then verify." : ""
		    ]),
		    records(d, status), status,
		    h("div", { class: "actions" },
		    FF.button(["Verify", h("span", { class: "sr-only" }, " " +
		    d.domain)], null, box, function () {
			return FF.api("POST", "/v1/domains/" + FF.enc(d.domain) +
			    "/verify").then(function (nd) {
				redraw(nd, "Checked every record: " + d.domain +
				    " is " + nd.status + ".");
			});
		    }),
		    FF.button(["Rotate keys", h("span", { class: "sr-only" },
		    " of " + d.domain)], { class: "quiet" }, box, function () {
			return FF.api("POST", "/v1/domains/" + FF.enc(d.domain) +
			    "/rotate").then(function (nd) {
				redraw(nd, "New DKIM selectors " +
				    (nd.new_selectors || []).join(" and ") +
				    ": publish their records; the old keys " +
				    "sign until these verify.");
			});
		    }),
		    FF.button(["Delete", h("span", { class: "sr-only" }, " " +
		    d.domain)], { class: "quiet danger" }, box, function () {
			return FF.confirm("Delete the sending domain " +
			    d.domain + "? Its keys are destroyed and mail " +
			    "from it is refused.", "Delete " + d.domain)
			    .then(function (yes) {
				if (!yes)
					return null;
				return FF.api("DELETE", "/v1/domains/" +
				    FF.enc(d.domain)).then(reload);
			});
		    })), box);
		card.status = status;
		return card;
	}

	FF.screen("domains", { title: "Sending domains", role: "admin",
	    render: function (el) {
		var list = h("div", { class: "stack" }), box = FF.errorBox();

		function reload() {
			FF.showError(box, null);
			return FF.api("GET", "/v1/domains").then(function (js) {
				var items = js.items || [];

				list.textContent = "";
				if (items.length === 0)
					list.appendChild(h("p", { class: "hint" },
					    "No sending domain yet."));
				items.forEach(function (d) {
					list.appendChild(domainCard(d, reload));
				});
			}).catch(function (e) {
				FF.showError(box, e);
			});
		}
		el.appendChild(FF.title("Sending domains"));
		el.appendChild(h("p", { class: "hint" }, "Mail is sent only " +
		    "from verified domains, DKIM-signed with their own keys."));
		el.appendChild(FF.form({ class: "card", "aria-label": "Add a " +
		    "sending domain" }, FF.field("Domain", { name: "domain",
		    autocomplete: "off", required: true, placeholder:
		    "news.example.com" }), "Add the domain", function (v, f) {
			return FF.api("POST", "/v1/domains", { domain:
			    v.domain.trim() }).then(function () {
				f.reset();
				return reload();
			});
		}));
		el.appendChild(box);
		el.appendChild(list);
		return reload();
	} });

	/* ----------------------------------------------------------- relay */

	function relayFacts(r) {
		var rows = r ? [
			["Host", r.host], ["Port", String(r.port)],
			["STARTTLS", r.starttls],
			["Username", r.username || "none"],
			["Password", r.password_set ? "password set" : "none"],
			["Changed", FF.time(r.updated_at)]
		] : [];

		if (!r)
			return h("p", { class: "relay-state" }, "No relay of " +
			    "its own: this tenant's mail goes through the " +
			    "node's relay.");
		return h("dl", { class: "facts relay-state" }, rows.map(
		    function (x) {
			return [h("dt", null, x[0]), h("dd", null, x[1])];
		}));
	}

	function relayForm(r, done) {
		var tls = r ? r.starttls : "required";

		return FF.form({ class: "card", "aria-label": "Set the relay" },
		    [h("h3", null, r ? "Change the relay" : "Use a relay of " +
		    "your own"),
		    h("div", { class: "grid2" },
		    FF.field("Host", { name: "host", required: true,
		    autocomplete: "off", value: r ? r.host : "" }),
		    FF.field("Port", { name: "port", type: "number", min: 1,
		    max: 65535, required: true, value: r ? String(r.port) :
		    "587" })),
		    FF.field("STARTTLS", { tag: "select", name: "starttls" },
		    ["required", "optional", "off"].map(function (o) {
			return { value: o, label: o, selected: o === tls };
		    })),
		    h("div", { class: "grid2" },
		    FF.field("Username", { name: "username", autocomplete:
		    "off", value: r && r.username ? r.username : "" }),
		    FF.field("Password", { name: "password", type: "password",
		    autocomplete: "new-password", "aria-describedby":
		    "relay-pw-hint" })),
		    h("p", { class: "hint", id: "relay-pw-hint" }, r &&
		    r.password_set ? "A password is set; it is never shown. " +
		    "Leave this empty to keep it (same username)." :
		    "The password is stored encrypted and never shown " +
		    "again.")], "Save the relay", function (v, f) {
			var body = { host: v.host.trim(), port: parseInt(v.port,
			    10), starttls: v.starttls };

			if (v.username.trim())
				body.username = v.username.trim();
			if (v.password)
				body.password = v.password;
			return FF.api("PUT", "/v1/relay", body).then(
			    function (nr) {
				f.elements.password.value = "";
				done(nr, "The relay is saved.");
			});
		});
	}

	FF.screen("relay", { title: "Relay", role: "admin",
	    render: function (el) {
		var body = h("div", { class: "stack" });

		function draw(r, msg) {
			var box = FF.errorBox();

			body.textContent = "";
			body.appendChild(h("section", { class: "card stack",
			    "aria-label": "The relay now" }, h("h3", null,
			    "Now"), relayFacts(r), msg ? h("p", { class: "done-note",
			    role: "status" }, msg) : null, r ? h("div",
			    { class: "actions" }, FF.button("Use the node's " +
			    "relay again", { class: "danger" }, box,
			    function () {
				return FF.confirm("Forget " + r.host + " and " +
				    "send through the node's relay again?",
				    "Forget the relay").then(function (yes) {
					if (!yes)
						return null;
					return FF.api("DELETE", "/v1/relay")
					    .then(function () {
						draw(null, "The relay is " +
						    "deleted.");
					    });
				});
			    })) : null, box));
			body.appendChild(relayForm(r, draw));
		}
		el.appendChild(FF.title("Relay"));
		el.appendChild(h("p", { class: "hint" }, "Send this tenant's " +
		    "mail through your own SMTP server instead of the node's."));
		el.appendChild(body);
		return FF.api("GET", "/v1/relay").then(function (r) {
			draw(r);
		}, function (e) {
			if (e.status === 404 && e.code === "not_found")
				draw(null);
			else
				throw e;
		});
	} });
}());
