/*
 * app.js: the marketer's app's core.  Every screen (contacts.js,
 * campaigns.js, ...) registers itself with FF.screen() and builds its
 * DOM with FF.h(), which only ever sets text, never HTML: a contact
 * named "<script>" is shown as those characters.
 *
 * Login is by email and password (POST /v1/session).  The session is an
 * HttpOnly cookie the script never sees; what it keeps is the user, the
 * role and the CSRF token, in this closure only (no storage).  A reload
 * asks GET /v1/session for them again.  Every non-GET call carries the
 * CSRF token.  A 401 anywhere shows the login form again.
 *
 * The route is the URL's fragment: #/contacts, #/campaigns/7, ...  The
 * first segment names the screen, the rest are its parameters.
 */
"use strict";

(function () {
	var FF = {};
	var screens = {};
	var session = null;	/* {user, tenant, role, email, csrf_token} */
	var timers = [];	/* the current screen's; cleared on leave */
	var seq = 0;		/* unique ids for labels */
	var inflight = 0;	/* FF.api calls not answered yet */

	/* The navigation, in order; a screen not listed has no nav entry. */
	var NAV = ["campaigns", "sequences", "contacts", "lists", "segments",
	    "templates", "suppression", "privacy", "domains", "relay",
	    "webhooks", "users", "account"];
	var ROLES = { viewer: 0, marketer: 1, owner: 2 };

	function $(id) {
		return document.getElementById(id);
	}

	/*
	 * FF.h("button", {class: "quiet", on: {click: fn}}, "Save"): an
	 * element.  attrs: class, text, on (events), hidden, value, checked,
	 * disabled, and any other attribute by name.  Children: nodes,
	 * strings (text nodes), arrays, null (skipped).
	 */
	FF.h = function (tag, attrs, children) {
		var el = document.createElement(tag), k, i, add;

		attrs = attrs || {};
		for (k in attrs) {
			var v = attrs[k];

			if (v === null || v === undefined || v === false)
				continue;
			if (k === "class")
				el.className = v;
			else if (k === "text")
				el.textContent = String(v);
			else if (k === "on")
				Object.keys(v).forEach(function (ev) {
					el.addEventListener(ev, v[ev]);
				});
			else if (k === "hidden" || k === "checked" ||
			    k === "disabled" || k === "value" ||
			    k === "selected")
				el[k] = v;
			else
				el.setAttribute(k, v === true ? "" : String(v));
		}
		add = function (c) {
			if (c === null || c === undefined || c === false)
				return;
			if (Array.isArray(c))
				c.forEach(add);
			else if (typeof c === "string" || typeof c === "number")
				el.appendChild(document.createTextNode(String(c)));
			else
				el.appendChild(c);
		};
		for (i = 2; i < arguments.length; i++)
			add(arguments[i]);
		return el;
	};
	var h = FF.h;

	FF.uid = function (prefix) {
		return (prefix || "ff") + "-" + (++seq);
	};

	/* An API error: status, code and the server's words. */
	function ApiError(status, code, message, detail) {
		this.status = status;
		this.code = code;
		this.message = message;
		this.detail = detail;
	}
	ApiError.prototype.toString = function () {
		return this.message + (this.code ? " (" + this.code + ")" : "");
	};
	FF.ApiError = ApiError;

	/*
	 * FF.api("POST", "/v1/lists", {name: "x"}) -> Promise of the JSON
	 * answer (null for 204).  opts: {raw: true} answers the Response;
	 * {body: string|Blob, type: "text/csv"} sends that body as is.
	 */
	FF.api = function (method, path, body, opts) {
		var init = { method: method, credentials: "same-origin",
		    cache: "no-store", headers: { "Accept": "application/json" } };

		opts = opts || {};
		if (method !== "GET" && method !== "HEAD" && session)
			init.headers["X-CSRF-Token"] = session.csrf_token;
		if (opts.body !== undefined) {
			init.body = opts.body;
			init.headers["Content-Type"] = opts.type ||
			    "application/octet-stream";
		} else if (body !== undefined && body !== null) {
			init.body = JSON.stringify(body);
			init.headers["Content-Type"] = "application/json";
		}
		inflight++;
		return fetch(path, init).finally(function () {
			inflight--;
		}).then(function (res) {
			if (opts.raw && res.ok)
				return res;
			if (res.status === 204)
				return null;
			return res.text().then(function (txt) {
				var js = null;

				try {
					js = txt ? JSON.parse(txt) : null;
				} catch (e) {
					js = null;
				}
				if (res.ok)
					return js;
				if (res.status === 401 && session &&
				    path !== "/v1/session")
					expired();
				throw new ApiError(res.status,
				    js && js.error ? js.error.code : "http_" +
				    res.status, js && js.error ?
				    js.error.message : "the server answered " +
				    res.status + " " + res.statusText,
				    js && js.error ? js.error : null);
			});
		}, function (e) {
			throw new ApiError(0, "network", "the server could not "
			    + "be reached (" + e.message + ")", null);
		});
	};

	FF.enc = encodeURIComponent;

	/* How many API calls are on their way (the browser tests wait for
	 * 0 before they read a screen). */
	FF.busy = function () {
		return inflight;
	};

	/* --------------------------------------------------- session, role */

	FF.session = function () {
		return session;
	};

	/* "read" (everyone), "write" (marketer, owner), "admin" (owner). */
	FF.can = function (what) {
		var r = session ? ROLES[session.role] : -1;

		if (what === "admin")
			return r >= ROLES.owner;
		if (what === "write")
			return r >= ROLES.marketer;
		return r >= 0;
	};

	/* ------------------------------------------------------- helpers */

	/* A time in the user's own time zone (the browser's). */
	FF.time = function (t) {
		var d;

		if (t === null || t === undefined || t === "" || t === 0)
			return "";
		d = typeof t === "number" ? new Date(t < 1e12 ? t * 1000 : t) :
		    new Date(t);
		if (isNaN(d.getTime()))
			return String(t);
		return d.toLocaleString(undefined, { dateStyle: "medium",
		    timeStyle: "short" });
	};
	FF.tz = function () {
		try {
			return Intl.DateTimeFormat().resolvedOptions().timeZone;
		} catch (e) {
			return "local time";
		}
	};

	/* A place for a form's or a card's errors, read by screen readers. */
	FF.errorBox = function () {
		return h("p", { class: "error", role: "alert" });
	};
	FF.showError = function (box, err) {
		if (!err) {
			box.textContent = "";
			return;
		}
		box.textContent = err instanceof ApiError ? err.toString() :
		    String(err && err.message ? err.message : err);
	};
	FF.note = function (box, msg) {
		box.textContent = msg || "";
	};

	/* A labelled control: FF.field("Email", {type: "email", name: "email"}).
	 * tag may be given as attrs.tag ("select", "textarea"). */
	FF.field = function (label, attrs, options) {
		var id = FF.uid("f"), tag = "input", ctl;

		attrs = Object.assign({}, attrs || {});
		if (attrs.tag) {
			tag = attrs.tag;
			delete attrs.tag;
		}
		attrs.id = id;
		ctl = h(tag, attrs, (options || []).map(function (o) {
			return typeof o === "string" ?
			    h("option", { value: o }, o) :
			    h("option", { value: o.value, selected: o.selected },
			    o.label);
		}));
		return h("div", { class: "field" }, h("label", { "for": id },
		    label), ctl);
	};

	/* The values of a form's named controls (checkboxes as booleans). */
	FF.values = function (form) {
		var out = {};

		Array.prototype.forEach.call(form.elements, function (e) {
			if (!e.name)
				return;
			out[e.name] = e.type === "checkbox" ? e.checked :
			    e.value;
		});
		return out;
	};

	/*
	 * A form whose submit runs fn(values) -> Promise; the button is
	 * disabled meanwhile and the error is shown under the form.
	 */
	FF.form = function (attrs, children, submitLabel, fn) {
		var box = FF.errorBox(), btn, form;

		btn = h("button", { type: "submit" }, submitLabel);
		form = h("form", Object.assign({ novalidate: true }, attrs),
		    children, h("div", { class: "actions" }, btn), box);
		form.addEventListener("submit", function (ev) {
			ev.preventDefault();
			FF.showError(box, null);
			btn.disabled = true;
			Promise.resolve().then(function () {
				return fn(FF.values(form), form);
			}).catch(function (e) {
				FF.showError(box, e);
			}).then(function () {
				btn.disabled = false;
			});
		});
		form.errorBox = box;
		return form;
	};

	/* A button running fn() -> Promise, its error shown in box. */
	FF.button = function (label, attrs, box, fn) {
		var b = h("button", Object.assign({ type: "button" }, attrs),
		    label);

		b.addEventListener("click", function () {
			if (box)
				FF.showError(box, null);
			b.disabled = true;
			Promise.resolve().then(fn).catch(function (e) {
				if (box)
					FF.showError(box, e);
			}).then(function () {
				b.disabled = false;
			});
		});
		return b;
	};

	/*
	 * A table: columns [{label, get: item -> string|Node, num: bool}].
	 * A caption names it for screen readers.
	 */
	FF.table = function (caption, columns, items, empty) {
		var t = h("table", { class: "card" },
		    h("caption", { class: "sr-only" }, caption),
		    h("thead", null, h("tr", null, columns.map(function (c) {
			return h("th", { scope: "col", class: c.num ? "num" :
			    null }, c.label);
		    }))),
		    h("tbody", null, items.map(function (it) {
			return h("tr", null, columns.map(function (c) {
				var v = c.get(it);

				return h("td", { class: c.num ? "num" : c.cls ||
				    null }, v === null || v === undefined ? "" :
				    typeof v === "object" ? v : String(v));
			}));
		    })));
		return h("div", { class: "scroll" }, t, items.length === 0 &&
		    empty ? h("p", { class: "hint" }, empty) : null);
	};

	/*
	 * A paged list: fetch(cursor) -> Promise of {items, next_cursor};
	 * render(items) -> Node.  Previous/Next keep a stack of cursors.
	 */
	FF.pager = function (fetchPage, render) {
		var box = FF.errorBox(), body = h("div"), stack = [],
		    cursor = "", next = null, prev, nextBtn, wrap;

		function load() {
			FF.showError(box, null);
			return fetchPage(cursor).then(function (js) {
				next = js.next_cursor || null;
				body.textContent = "";
				body.appendChild(render(js.items || []));
				prev.disabled = stack.length === 0;
				nextBtn.disabled = !next;
			}).catch(function (e) {
				FF.showError(box, e);
			});
		}
		prev = h("button", { type: "button", class: "quiet", on: {
		    click: function () {
			cursor = stack.pop();
			load();
		    } } }, "\u2190 Previous");
		nextBtn = h("button", { type: "button", class: "quiet", on: {
		    click: function () {
			stack.push(cursor);
			cursor = next;
			load();
		    } } }, "Next \u2192");
		wrap = h("div", { class: "pager" }, body, h("nav",
		    { class: "pages", "aria-label": "pages" }, prev, nextBtn),
		    box);
		wrap.reload = function () {
			stack = [];
			cursor = "";
			return load();
		};
		wrap.refresh = load;
		load();
		return wrap;
	};

	/* A timer that stops when the user leaves the screen. */
	FF.every = function (ms, fn) {
		timers.push(setInterval(fn, ms));
	};

	/* Asks before something that cannot be undone; Promise of bool. */
	FF.confirm = function (question, okLabel) {
		return new Promise(function (resolve) {
			var d = h("dialog", { class: "card", "aria-label":
			    "confirm" }, h("p", null, question),
			    h("div", { class: "actions" },
			    h("button", { type: "button", class: "quiet",
			    on: { click: function () {
				d.close();
				resolve(false);
			    } } }, "Cancel"),
			    h("button", { type: "button", class: "danger",
			    on: { click: function () {
				d.close();
				resolve(true);
			    } } }, okLabel || "Yes")));

			d.addEventListener("close", function () {
				d.remove();
				resolve(false);
			});
			document.body.appendChild(d);
			d.showModal();
		});
	};

	/* A JSON download, built in the page (no URL with data in it). */
	FF.download = function (name, data) {
		FF.downloadText(name, JSON.stringify(data, null, 2),
		    "application/json");
	};

	/* A heading and a toolbar, the start of most screens. */
	FF.title = function (text, tools) {
		return h("div", { class: "toolbar" }, h("h2", { id:
		    "screen-title", tabindex: "-1" }, text), tools || null);
	};

	/* ------------------------------------------------------- screens */

	/*
	 * FF.screen("contacts", {title: "Contacts", role: "read",
	 *     render: function (el, params) {...}}): role is what FF.can()
	 * must grant for the screen to be shown at all.
	 */
	FF.screen = function (name, def) {
		screens[name] = def;
	};

	FF.go = function (path) {
		if (location.hash === "#/" + path)
			route();
		else
			location.hash = "#/" + path;
	};

	function leave() {
		timers.forEach(clearInterval);
		timers = [];
	}

	function buildNav() {
		var ul = $("nav-list");

		ul.textContent = "";
		NAV.forEach(function (n) {
			var s = screens[n];

			if (!s || !FF.can(s.role || "read"))
				return;
			ul.appendChild(h("li", null, h("a", { href: "#/" + n,
			    "data-screen": n }, s.title)));
		});
	}

	function route() {
		var parts = location.hash.replace(/^#\/?/, "").split("/")
		    .map(decodeURIComponent), name = parts[0], s, view = $("view");

		leave();
		if (name === "reset") {
			showReset(parts[1] || "");
			return;
		}
		if (!session) {
			showLogin("");
			return;
		}
		if (!screens[name])
			name = "campaigns";
		s = screens[name];
		if (!FF.can(s.role || "read")) {
			view.textContent = "";
			view.appendChild(h("p", { class: "error", role: "alert" },
			    "Your role (" + session.role + ") may not open " +
			    s.title + "."));
			return;
		}
		Array.prototype.forEach.call(document.querySelectorAll(
		    "#nav-list a"), function (a) {
			if (a.getAttribute("data-screen") === name)
				a.setAttribute("aria-current", "page");
			else
				a.removeAttribute("aria-current");
		});
		$("app").hidden = false;
		$("login").hidden = true;
		$("reset").hidden = true;
		view.textContent = "";
		document.title = s.title + " \u2013 Fanfare";
		Promise.resolve().then(function () {
			return s.render(view, parts.slice(1));
		}).catch(function (e) {
			var box = FF.errorBox();

			view.appendChild(box);
			FF.showError(box, e);
		}).then(function () {
			var t = $("screen-title");

			if (t && document.activeElement === document.body)
				t.focus({ preventScroll: true });
		});
	}

	/* -------------------------------------------------- logging in */

	function started(js) {
		session = js;
		$("who").textContent = js.email + " \u00b7 " + js.role +
		    " \u00b7 times in " + FF.tz();
		$("logout").hidden = false;
		$("nav").hidden = false;
		buildNav();
		route();
	}

	function expired() {
		session = null;
		leave();
		showLogin("Your session has ended; please log in again.");
	}

	function showLogin(msg) {
		$("app").hidden = true;
		$("reset").hidden = true;
		$("nav").hidden = true;
		$("logout").hidden = true;
		$("who").textContent = "";
		$("view").textContent = "";
		$("login").hidden = false;
		$("login-error").textContent = msg || "";
		$("totp-field").hidden = true;
		$("login-email").focus();
	}

	function login(ev) {
		var body = { email: $("login-email").value.trim(),
		    password: $("login-password").value };

		ev.preventDefault();
		if (!$("totp-field").hidden)
			body.totp = $("login-totp").value.trim();
		$("login-error").textContent = "";
		FF.api("POST", "/v1/session", body).then(function (js) {
			$("login-password").value = "";
			$("login-totp").value = "";
			return FF.api("GET", "/v1/session").catch(function () {
				return js;
			}).then(function (me) {
				started(Object.assign({ email: body.email },
				    js, me || {}));
			});
		}).catch(function (e) {
			if (e.code === "totp_required") {
				$("totp-field").hidden = false;
				$("login-totp").focus();
			}
			$("login-error").textContent = e.status === 429 ?
			    "Too many attempts; wait a few minutes and try " +
			    "again." : e.status === 401 && e.code ===
			    "invalid_credentials" ? "Wrong email or password." :
			    e.toString();
		});
	}

	function logout() {
		FF.api("DELETE", "/v1/session").catch(function () {
			return null;
		}).then(function () {
			session = null;
			leave();
			history.replaceState(null, "", "#/");
			showLogin("You have logged out.");
		});
	}

	/* "Forgot your password?" and the mailed link's page. */
	function forgot(ev) {
		var email = $("login-email").value.trim();

		ev.preventDefault();
		if (!email) {
			$("login-error").textContent = "Type your email " +
			    "address above first.";
			$("login-email").focus();
			return;
		}
		FF.api("POST", "/v1/password_reset", { email: email })
		    .then(function () {
			$("login-error").textContent = "If " + email + " has "
			    + "an account, a link to set a new password is " +
			    "on its way.";
		}).catch(function (e) {
			$("login-error").textContent = e.toString();
		});
	}

	function showReset(token) {
		$("login").hidden = true;
		$("app").hidden = true;
		$("reset").hidden = false;
		$("reset-error").textContent = "";
		$("reset-form").onsubmit = function (ev) {
			ev.preventDefault();
			if ($("reset-password").value !==
			    $("reset-password2").value) {
				$("reset-error").textContent = "The two " +
				    "passwords differ.";
				return;
			}
			FF.api("POST", "/v1/password_reset/" + FF.enc(token),
			    { password: $("reset-password").value })
			    .then(function () {
				$("reset-password").value = "";
				$("reset-password2").value = "";
				history.replaceState(null, "", "#/");
				showLogin("Your password is set; log in with "
				    + "it.");
			}).catch(function (e) {
				$("reset-error").textContent = e.code ===
				    "invalid_token" ? "This link has expired " +
				    "or was used already; ask for a new one." :
				    e.toString();
			});
		};
		$("reset-password").focus();
	}

	document.addEventListener("DOMContentLoaded", function () {
		$("login-form").addEventListener("submit", login);
		$("forgot").addEventListener("click", forgot);
		$("logout").addEventListener("click", logout);
		window.addEventListener("hashchange", route);
		if (/^#\/reset\//.test(location.hash)) {
			route();
			return;
		}
		FF.api("GET", "/v1/session").then(started, function () {
			showLogin("");
		});
	});

	/* ------------------------------------------- contacts (appcontacts) */

	/* A text file download (a CSV export, FF.download's JSON), built
	 * in the page: no URL with data in it.  The link is hidden, named,
	 * and gone a second later. */
	FF.downloadText = function (name, text, type) {
		var blob = new Blob([text], { type: (type || "text/plain") +
		    ";charset=utf-8" });
		var a = h("a", { href: URL.createObjectURL(blob),
		    download: name, hidden: true }, name);

		document.body.appendChild(a);
		a.click();
		setTimeout(function () {
			URL.revokeObjectURL(a.href);
			a.remove();
		}, 1000);
	};

	/* ------------------------------------- stacked tables (appadmin) */

	/*
	 * FF.stacked(FF.table(...)): the table becomes a card per row on a
	 * phone (style.css, .stacked), each cell labelled with its column's
	 * name (data-label, shown by the style sheet).  Answers its
	 * argument.
	 */
	FF.stacked = function (wrap) {
		var labels = Array.prototype.map.call(wrap.querySelectorAll(
		    "thead th"), function (th) {
			return th.textContent;
		});

		wrap.classList.add("stacked");
		Array.prototype.forEach.call(wrap.querySelectorAll("tbody tr"),
		    function (tr) {
			Array.prototype.forEach.call(tr.children,
			    function (td, i) {
				td.setAttribute("data-label", labels[i]);
			});
		});
		return wrap;
	};

	window.FF = FF;
}());
