/*
 * templates.js: the templates screen.  #/templates lists them (GET
 * /v1/templates, paged here: the API answers them all); #/templates/new
 * and #/templates/ID open the editor: name, subject, HTML and text, a
 * live preview rendered by the server's own engine (POST
 * /v1/templates/preview, asked again a moment after each keystroke), the
 * engine's syntax errors in words with their line and column beside the
 * part they are in, and a test send (POST /v1/templates/{id}/test).
 *
 * The HTML part is shown in an <iframe sandbox="" srcdoc>: no script of
 * the mail runs, and the frame has no origin, so it cannot reach the
 * app.  A srcdoc frame keeps the policy of the page it is in, and the
 * app's (style-src 'self') would drop the mail's inline styles: so the
 * sandboxed frame is put inside preview.html, an empty page of the app's
 * origin whose own policy (api_dashboard.c) lets inline styles and https
 * images in and nothing run.
 * A viewer sees a template's parts as they are stored, without the
 * preview (a POST, which the role may not make) and without controls.
 */
"use strict";

(function () {
	var h = FF.h;
	var PAGE = 50;		/* rows of the list a page */
	var DEBOUNCE_MS = 300;	/* the preview waits for a pause in typing */
	var PARTS = ["subject", "html", "text"];
	var created = null;	/* the id just created: its page says so */

	/* A client-side page of a list the API answers whole: the cursor
	 * is the offset of the page, as a string. */
	function pageOf(items, cursor) {
		var at = parseInt(cursor || "0", 10) || 0;

		return { items: items.slice(at, at + PAGE), next_cursor:
		    at + PAGE < items.length ? String(at + PAGE) : null };
	}

	/* ------------------------------------------------------------ list */

	function list(el) {
		var all = null;

		el.appendChild(FF.title("Templates", FF.can("write") ?
		    h("a", { href: "#/templates/new", class: "button" },
		    "New template") : null));
		el.appendChild(h("p", { class: "hint" }, "The mails " +
		    "campaigns and sequences send. Open one to edit it, " +
		    "preview it for a sample contact and send yourself a " +
		    "test."));
		el.appendChild(FF.pager(function (cursor) {
			if (all !== null && cursor)
				return Promise.resolve(pageOf(all, cursor));
			return FF.api("GET", "/v1/templates").then(
			    function (js) {
				all = (js && js.items) || [];
				return pageOf(all, cursor);
			    });
		}, function (items) {
			return FF.table("Templates", [
				{ label: "Name", get: function (t) {
					return h("a", { href: "#/templates/" +
					    FF.enc(t.id) }, t.name ||
					    "(unnamed)");
				} },
				{ label: "Subject", get: function (t) {
					return t.subject;
				} },
				{ label: "ID", num: true, get: function (t) {
					return t.id;
				} },
			], items, "No template yet." + (FF.can("write") ?
			    " Write the first with \u201cNew template\u201d." :
			    ""));
		}));
	}

	/* ------------------------------------------------------ the editor */

	/* "the html part, line 3, column 7: unclosed tag" */
	/* What a save answered about the links: {links, untracked}. */
	function linkWords(js) {
		var n = (js.links || []).length, untracked = (js.untracked ||
		    []).map(function (u) {
			return u.url + " (" + String(u.reason).replace(/_/g,
			    " ") + ")";
		    });

		return (n === 0 ? "No link is tracked" : n === 1 ? "1 link " +
		    "is tracked" : n + " links are tracked") +
		    (untracked.length ? "; not tracked: " +
		    untracked.join(", ") : "") + ".";
	}

	function syntaxWords(e) {
		var d = e.detail || {};

		if (e.code !== "template_syntax")
			return e.toString();
		return "The " + (d.part || "template") + " part has an error " +
		    "at line " + d.line + ", column " + d.column + ": " +
		    e.message;
	}

	/* The character offset of a 1-based line and column in text: the
	 * engine counts the column in bytes of UTF-8. */
	function offsetOf(text, line, column) {
		var lines = text.split("\n"), at = 0, bytes = 0, i, c, s;

		for (i = 0; i < line - 1 && i < lines.length - 1; i++)
			at += lines[i].length + 1;
		s = lines[i] || "";
		for (i = 0; i < s.length && bytes < column - 1; i++) {
			c = s.codePointAt(i);
			bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ?
			    3 : 4;
			if (c >= 0x10000)
				i++;	/* the pair's second half */
		}
		return at + i;
	}

	function editor(el, id) {
		var creating = id === "new", write = FF.can("write"), ctl = {},
		    savedBox = h("p", { class: "ok tpl-answer", role:
		    "status" }),
		    syntaxBox = h("div", { class: "tpl-syntax" },
		    h("p", { class: "error", id: FF.uid("syntax"),
		    "aria-live": "polite" }), h("button", { type: "button",
		    class: "quiet", hidden: true }, "Show the error in " +
		    "the editor")),
		    title = FF.title(creating ? "New template" : "Template",
		    h("a", { href: "#/templates" }, "\u2190 All templates")),
		    form, preview, loaded, look = null;

		el.appendChild(title);
		/* The four labelled parts; a viewer's are read-only. */
		[["name", "Name", "input"], ["subject", "Subject", "input"],
		    ["html", "HTML part", "textarea"],
		    ["text", "Text part", "textarea"]].forEach(function (p) {
			var f = FF.field(p[1], { tag: p[2], name: p[0],
			    rows: p[2] === "textarea" ? 12 : null,
			    readonly: !write, spellcheck: p[0] === "html" ?
			    "false" : null, autocomplete: "off" });

			ctl[p[0]] = f;
		});
		if (!write) {
			/* No preview (a POST): the HTML as stored, its
			 * merge tags as written. */
			look = mailFrame();
			el.appendChild(h("div", { class: "card stack" },
			    ctl.name, ctl.subject, ctl.html, ctl.text,
			    h("h3", null, "The HTML part as stored"), look,
			    h("p", { class: "hint" }, "Merge tags are shown " +
			    "as written. Your role may read templates; an " +
			    "owner or a marketer edits, previews and tests " +
			    "them.")));
		} else {
			form = FF.form({ class: "card tpl-form", "aria-label":
			    "template" }, [ctl.name, ctl.subject, ctl.html,
			    ctl.text, syntaxBox, h("p", { class: "hint" },
			    "Merge tags: {{first_name}}, {{last_name}}, " +
			    "{{email}}, {{attributes.NAME}}, " +
			    "{{unsubscribe_url}}, {{preferences_url}}; " +
			    "a default: {{first_name | default \"there\"}}."),
			    savedBox],
			    creating ? "Create the template" : "Save",
			    function (v) {
				return save(v);
			    });
			preview = previewPanel(form, syntaxBox);
			el.appendChild(h("div", { class: "tpl-editor" }, form,
			    preview.node));
			if (!creating)
				el.appendChild(testPanel(id, form));
		}

		function control(name) {
			return ctl[name].querySelector("input, textarea");
		}

		function save(v) {
			var body = { name: v.name, subject: v.subject, html:
			    v.html, text: v.text };

			FF.note(savedBox, "");
			return FF.api(creating ? "POST" : "PUT", creating ?
			    "/v1/templates" : "/v1/templates/" + FF.enc(id),
			    body).then(function (js) {
				preview.clearSyntax();
				form.dirty = false;
				if (creating) {
					created = { id: js.id, words:
					    "Created. " + linkWords(js) };
					FF.go("templates/" + js.id);
					return;
				}
				FF.note(savedBox, "Saved. " + linkWords(js));
			}).catch(function (e) {
				if (e.code === "template_syntax") {
					preview.showSyntax(e);
					throw new Error("Not saved: " +
					    syntaxWords(e));
				}
				throw e;
			});
		}

		if (creating) {
			control("subject").value = "Hello {{first_name}}";
			control("text").value = "Hello {{first_name}},\n\n";
			control("html").value =
			    "<p>Hello {{first_name}},</p>\n";
			preview.refresh();
			return null;
		}
		if (created && created.id === id)
			FF.note(savedBox, created.words);
		created = null;
		loaded = FF.api("GET", "/v1/templates/" + FF.enc(id)).then(
		    function (t) {
			title.querySelector("h2").textContent = "Template: " +
			    (t.name || "(unnamed)");
			["name"].concat(PARTS).forEach(function (p) {
				control(p).value = t[p] || "";
			});
			if (preview)
				preview.refresh();
			if (look)
				look.show(t.html || "");
		});
		return loaded;
	}

	/*
	 * The HTML part's frame: preview.html holding, once it has loaded,
	 * an <iframe sandbox=""> whose srcdoc is the rendered mail (see the
	 * top of this file).  show(html) before the load keeps the last
	 * html until then.
	 */
	function mailFrame() {
		var outer, inner = null, pending = null, ready;

		outer = h("iframe", { class: "preview", src: "preview.html",
		    title: "HTML part, rendered" });
		ready = new Promise(function (resolve) {
			outer.addEventListener("load", function loaded() {
				var d = outer.contentDocument;

				/* Not the initial about:blank: the page. */
				if (d && /\/preview\.html$/.test(d.location
				    .pathname)) {
					outer.removeEventListener("load",
					    loaded);
					resolve(d);
				}
			});
		});
		outer.show = function (html) {
			pending = html;
			ready.then(function (d) {
				if (pending === null)
					return;
				if (inner === null) {
					inner = d.createElement("iframe");
					inner.setAttribute("sandbox", "");
					inner.setAttribute("title", "the mail");
					inner.style.display = "block";
					inner.style.width = "100%";
					inner.style.height = "100vh";
					inner.style.border = "0";
					d.body.style.margin = "0";
					d.body.appendChild(inner);
				}
				inner.srcdoc = pending;
				pending = null;
			});
		};
		return outer;
	}

	/*
	 * The live preview beside the form: every input event re-asks the
	 * server after DEBOUNCE_MS of quiet; an answer older than the last
	 * question asked is dropped, so a slow answer never overwrites a
	 * newer one.
	 */
	function previewPanel(form, syntaxBox) {
		var words = syntaxBox.querySelector("p"),
		    go = syntaxBox.querySelector("button"), where = null,
		    asked = 0, timer = null, first, last,
		    subject = h("p", { class: "tpl-subject" }),
		    text = h("pre", { class: "tpl-text", tabindex: "0",
		    "aria-label": "text part, rendered" }),
		    frame = mailFrame(),
		    status = h("p", { class: "hint", role: "status" }),
		    box = FF.errorBox(), api;

		first = FF.field("Sample first name", { name: "sample_first",
		    value: "Jane", autocomplete: "off" });
		last = FF.field("Sample last name", { name: "sample_last",
		    value: "Doe", autocomplete: "off" });

		function sample() {
			return { first_name: first.querySelector("input").value,
			    last_name: last.querySelector("input").value };
		}

		function part(name) {
			return form.elements[name].value;
		}

		function markInvalid(name) {
			PARTS.forEach(function (p) {
				var c = form.elements[p];

				if (p === name) {
					c.setAttribute("aria-invalid", "true");
					c.setAttribute("aria-describedby",
					    words.id);
				} else {
					c.removeAttribute("aria-invalid");
					c.removeAttribute("aria-describedby");
				}
			});
		}

		function ask() {
			var n = ++asked;

			timer = null;
			FF.note(status, "Rendering\u2026");
			return FF.api("POST", "/v1/templates/preview", {
			    subject: part("subject"), html: part("html"),
			    text: part("text"), contact: Object.assign({
			    email: "jane@example.com" }, sample()) }).then(
			    function (js) {
				if (n !== asked)
					return;
				api.clearSyntax();
				FF.showError(box, null);
				subject.textContent = js.subject;
				text.textContent = js.text;
				frame.show(js.html);
				FF.note(status, "Preview up to date.");
			}).catch(function (e) {
				if (n !== asked)
					return;
				FF.note(status, "");
				if (e.code === "template_syntax")
					api.showSyntax(e);
				else
					FF.showError(box, e);
			});
		}

		function later() {
			if (timer !== null)
				clearTimeout(timer);
			timer = setTimeout(ask, DEBOUNCE_MS);
		}

		/* The caret to where the engine stopped. */
		go.addEventListener("click", function () {
			var c = where && form.elements[where.part], at;

			if (!c)
				return;
			at = offsetOf(c.value, where.line, where.column);
			c.focus();
			c.setSelectionRange(at, Math.min(at + 1,
			    c.value.length));
		});
		form.addEventListener("input", function () {
			form.dirty = true;	/* the test panel warns */
			later();
		});
		first.addEventListener("input", later);
		last.addEventListener("input", later);
		api = {
			node: h("section", { class: "card tpl-preview",
			    "aria-labelledby": "tpl-preview-title" },
			    h("h3", { id: "tpl-preview-title" }, "Preview"),
			    h("div", { class: "tpl-sample" }, first, last),
			    status, box,
			    h("h4", null, "Subject"), subject,
			    h("h4", null, "Text part"), text,
			    h("h4", null, "HTML part"), frame,
			    h("p", { class: "hint" }, "Rendered by the " +
			    "server as a recipient gets it, for the sample " +
			    "contact above; links are not tracked here and " +
			    "the unsubscribe link goes nowhere. The HTML is " +
			    "shown with its own styles in a sealed frame " +
			    "where no script runs; its images load from " +
			    "https addresses only.")),
			refresh: ask,
			sample: sample,
			showSyntax: function (e) {
				words.textContent = syntaxWords(e);
				where = e.detail && e.detail.line ? e.detail :
				    null;
				go.hidden = where === null ||
				    !form.elements[where.part];
				markInvalid(e.detail && e.detail.part);
			},
			clearSyntax: function () {
				words.textContent = "";
				where = null;
				go.hidden = true;
				markInvalid(null);
			},
		};
		form.preview = api;
		return api;
	}

	/* "Send a test": the saved template to one address, rendered for
	 * the preview's sample contact. */
	function testPanel(id, form) {
		var answer = h("p", { class: "ok tpl-answer", role:
		    "status" }), f;

		f = FF.form({ class: "card tpl-test", "aria-label":
		    "send a test" }, [h("h3", null, "Send a test"),
		    FF.field("Send a test to", { type: "email", name: "email",
		    autocomplete: "email", required: true }),
		    h("p", { class: "hint" }, "Sends the saved version (save " +
		    "your changes first), rendered for the sample contact, " +
		    "its subject starting \u201c[Test]\u201d."), answer],
		    "Send the test", function (v) {
			FF.note(answer, "");
			if (!v.email.trim())
				throw new Error("Type the address to send " +
				    "the test to.");
			return FF.api("POST", "/v1/templates/" + FF.enc(id) +
			    "/test", { email: v.email.trim(), contact:
			    form.preview.sample() }).then(function (js) {
				FF.note(answer, "A test copy to " + ((js &&
				    js.email) || v.email.trim()) + " is " +
				    "queued; it leaves within seconds." +
				    (form.dirty ? " It is the saved " +
				    "version: your unsaved changes are not " +
				    "in it." : ""));
			});
		});
		return f;
	}

	FF.screen("templates", { title: "Templates", role: "read",
	    render: function (el, params) {
		if (params[0] === "new" && !FF.can("write")) {
			el.appendChild(FF.title("New template"));
			el.appendChild(h("p", { class: "error", role: "alert" },
			    "Your role may not create templates."));
			return null;
		}
		if (params[0])
			return editor(el, params[0]);
		list(el);
		return null;
	} });
}());
