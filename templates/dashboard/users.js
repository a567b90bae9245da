/*
 * users.js: the owner's screen of who may log in (/v1/users: list,
 * create with a role, delete) and the tenant's audit log (GET
 * /v1/audit, newest first, paged by cursor): logins, failed logins,
 * user changes, privacy requests.  Times are the browser's local time.
 * Actors are shown by email where they are users of this tenant.
 */
"use strict";

(function () {
	var h = FF.h;
	var ROLES = [
		{ value: "marketer", label: "marketer (campaigns, contacts, " +
		    "webhooks)" },
		{ value: "viewer", label: "viewer (reads only)" },
		{ value: "owner", label: "owner (everything, users, domains, " +
		    "relay)" }
	];
	var ACTIONS = { login: "logged in", login_failed: "failed to log in",
	    logout: "logged out", access: "looked up or exported a person",
	    erase: "erased a person" };

	function who(byId, actor) {
		var m = /^user:(\d+)$/.exec(actor || "");

		if (m)
			return byId[m[1]] || "user " + m[1];
		return actor ? "API key " + actor : "";
	}

	function details(it) {
		var c;

		if (!it.counts)
			return "";
		try {
			c = JSON.parse(it.counts);
		} catch (e) {
			return it.counts;
		}
		return Object.keys(c).filter(function (k) {
			return c[k] !== 0 && c[k] !== false;
		}).map(function (k) {
			return k.replace(/_/g, " ") + ": " + c[k];
		}).join(", ");
	}

	function audit(byId) {
		return FF.pager(function (c) {
			return FF.api("GET", "/v1/audit?limit=25" + (c ?
			    "&cursor=" + FF.enc(c) : ""));
		}, function (items) {
			return FF.table("Audit log", [
				{ label: "When", get: function (i) {
					return FF.time(i.time);
				} },
				{ label: "Who", get: function (i) {
					return who(byId, i.key_prefix);
				} },
				{ label: "What", get: function (i) {
					return ACTIONS[i.action] ||
					    i.action.replace(/_/g, " ");
				} },
				{ label: "About", get: function (i) {
					return i.user && i.user !== "0" ?
					    who(byId, "user:" + i.user) : "";
				} },
				{ label: "Details", get: details }
			], items, "Nothing recorded yet.");
		});
	}

	FF.screen("users", { title: "Users", role: "admin",
	    render: function (el) {
		var list = h("div"), box = FF.errorBox(), logBox = h("div"),
		    byId = {}, me = FF.session();

		function reload() {
			FF.showError(box, null);
			return FF.api("GET", "/v1/users").then(function (js) {
				var items = js.items || [];

				items.forEach(function (u) {
					byId[u.id] = u.email;
				});
				list.textContent = "";
				list.appendChild(FF.table("Users", [
					{ label: "Email", get: function (u) {
						return h("span", { class:
						    "mono" }, u.email);
					} },
					{ label: "Role", get: function (u) {
						return u.role;
					} },
					{ label: "Second factor", get:
					    function (u) {
						return u.totp ? "on" : "off";
					} },
					{ label: "Added", get: function (u) {
						return FF.time(u.created_at);
					} },
					{ label: "Action", get: function (u) {
						if (me && String(me.user) ===
						    String(u.id))
							return h("span",
							    { class: "hint" },
							    "you");
						return FF.button(["Delete",
						    h("span", { class:
						    "sr-only" }, " " + u.email)],
						    { class: "quiet danger" },
						    box, function () {
							return remove(u);
						    });
					} }
				], items, "No users."));
			}).catch(function (e) {
				FF.showError(box, e);
			});
		}

		function remove(u) {
			return FF.confirm("Delete the user " + u.email + "? " +
			    "Their sessions end at once.", "Delete " + u.email)
			    .then(function (yes) {
				if (!yes)
					return null;
				return FF.api("DELETE", "/v1/users/" +
				    FF.enc(u.id)).then(reload);
			});
		}

		el.appendChild(FF.title("Users"));
		el.appendChild(FF.form({ class: "card", "aria-label": "Add a " +
		    "user" }, [h("h3", null, "Add a user"),
		    h("div", { class: "grid2" },
		    FF.field("Email", { type: "email", name: "email",
		    autocomplete: "off", required: true }),
		    FF.field("Password", { type: "password", name: "password",
		    autocomplete: "new-password", required: true })),
		    FF.field("Role", { tag: "select", name: "role" }, ROLES)],
		    "Add the user", function (v, f) {
			return FF.api("POST", "/v1/users", { email:
			    v.email.trim(), password: v.password, role: v.role })
			    .then(function () {
				f.reset();
				return reload();
			});
		}));
		el.appendChild(box);
		el.appendChild(list);
		el.appendChild(h("section", { class: "stack", "aria-label":
		    "Audit log" }, h("h3", null, "Audit log (times in " +
		    FF.tz() + ")"), logBox));
		return reload().then(function () {
			logBox.appendChild(audit(byId));
		});
	} });
}());
