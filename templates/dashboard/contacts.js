/*
 * contacts.js: the contacts screen.
 *
 *   #/contacts          search (GET /v1/contacts?q=, paged), add one,
 *                       export every contact as a CSV file
 *   #/contacts/import   a CSV file sent in chunks of rows, with a
 *                       progress bar moved by the server's answers
 *   #/contacts/ID       one contact: fields, attributes, the lists it
 *                       is on; edit (PATCH) and delete
 *
 * The import cuts the file in the page, not on the server: each chunk
 * is the header row and the next N rows, POSTed to /v1/contacts/import
 * as its own small CSV.  So the bar moves by what the server has
 * really stored (its "rows" per answer), a chunk that fails says which
 * rows it held, and sending the file again is harmless (upsert by
 * address).  Cutting respects quoted cells: a newline inside quotes
 * is part of the row.
 */
"use strict";

(function () {
	var h = FF.h;

	/* The fields a contact has besides its attributes, in the order
	 * they are shown, exported and edited. */
	var FIELDS = [
		{ name: "email", label: "Email", type: "email" },
		{ name: "first_name", label: "First name" },
		{ name: "last_name", label: "Last name" },
		{ name: "date_of_birth", label: "Date of birth", type: "date" },
		{ name: "gender", label: "Gender" },
		{ name: "timezone", label: "Time zone" },
	];
	var STATUS = { active: "active", opted_out: "opted out",
	    quarantined: "quarantined (never mailed until changed)" };
	/* What a rejected row's code means, in words. */
	var REASONS = {
		invalid_email: "not a valid email address",
		invalid_contact: "not a contact",
		invalid_row: "the wrong number of cells",
		invalid_encoding: "not UTF-8 text",
		special_category_attribute: "a special-category attribute " +
		    "(GDPR Art. 9): dropped, the rest kept",
	};
	var PAGE = 50;		/* contacts a page shows */
	var SEARCH_CALLS = 10;	/* calls one page may take (short pages) */
	var lastMore = false;	/* the last page fetched has a next one */

	function reason(code) {
		return REASONS[code] ? code + ": " + REASONS[code] : code;
	}

	function fullName(c) {
		return [c.first_name, c.last_name].filter(function (x) {
			return x;
		}).join(" ");
	}

	function card(heading, children) {
		var id = FF.uid("h");

		return h("section", { class: "card", "aria-labelledby": id },
		    h("h3", { id: id }, heading), children);
	}

	/*
	 * One page of a search.  The server looks at a bounded number of
	 * contacts per call and may answer a short or empty page with a
	 * cursor to go on from; a few calls fill a page.
	 */
	function searchPage(q, cursor) {
		var items = [], calls = 0;

		function more(cur) {
			var path = "/v1/contacts?limit=" + PAGE + (q ? "&q=" +
			    FF.enc(q) : "") + (cur ? "&cursor=" + FF.enc(cur) :
			    "");

			calls++;
			return FF.api("GET", path).then(function (js) {
				items = items.concat(js.items || []);
				if (js.next_cursor && items.length < PAGE &&
				    calls < SEARCH_CALLS)
					return more(js.next_cursor);
				lastMore = !!js.next_cursor;
				return { items: items, next_cursor:
				    js.next_cursor || null };
			});
		}
		return more(cursor);
	}

	function contactTable(items) {
		return FF.table("Contacts", [
			{ label: "Email", get: function (c) {
				return h("a", { href: "#/contacts/" +
				    FF.enc(c.id) }, c.email || "(erased)");
			} },
			{ label: "Name", get: fullName },
			{ label: "Status", get: function (c) {
				return STATUS[c.status] ? c.status.replace("_",
				    " ") : c.status;
			} },
			{ label: "Added", get: function (c) {
				return FF.time(c.created_at);
			} },
		], items, lastMore ? "No match among the contacts looked at " +
		    "so far; Next looks further." : "No contact matches.");
	}

	/* ---------------------------------------------------------- export */

	function csvCell(v) {
		var s;

		if (v === null || v === undefined)
			return "";
		s = typeof v === "object" ? JSON.stringify(v) : String(v);
		return /[",\r\n]|^\s|\s$/.test(s) ? "\"" + s.replace(/"/g,
		    "\"\"") + "\"" : s;
	}

	/* Every contact, page by page, as a CSV file the import reads back
	 * (attributes as attributes.NAME columns). */
	function exportAll(status) {
		var all = [];

		function page(cursor) {
			return FF.api("GET", "/v1/contacts?limit=500" + (cursor ?
			    "&cursor=" + FF.enc(cursor) : "")).then(function (js) {
				all = all.concat(js.items || []);
				FF.note(status, all.length + " contacts read\u2026");
				return js.next_cursor ? page(js.next_cursor) :
				    null;
			});
		}
		return page("").then(function () {
			var attrs = {}, names, lines;

			all.forEach(function (c) {
				Object.keys(c.attributes || {}).forEach(
				    function (k) {
					attrs[k] = true;
				});
			});
			names = Object.keys(attrs).sort();
			lines = [FIELDS.map(function (f) {
				return f.name;
			}).concat(names.map(function (n) {
				return "attributes." + n;
			})).map(csvCell).join(",")];
			all.forEach(function (c) {
				lines.push(FIELDS.map(function (f) {
					return csvCell(c[f.name]);
				}).concat(names.map(function (n) {
					return csvCell((c.attributes || {})[n]);
				})).join(","));
			});
			FF.downloadText("contacts.csv", lines.join("\r\n") +
			    "\r\n", "text/csv");
			FF.note(status, all.length + " contacts exported to " +
			    "contacts.csv.");
		});
	}

	/* ------------------------------------------------------------ list */

	function addForm(box) {
		var form = FF.form({ "aria-label": "add a contact" }, [
			FF.field("Email", { type: "email", name: "email",
			    required: true, autocomplete: "off" }),
			h("div", { class: "grid2" },
			    FF.field("First name", { name: "first_name" }),
			    FF.field("Last name", { name: "last_name" })),
		], "Add the contact", function (v) {
			var c = { email: v.email.trim() };

			if (v.first_name.trim())
				c.first_name = v.first_name.trim();
			if (v.last_name.trim())
				c.last_name = v.last_name.trim();
			return FF.api("POST", "/v1/contacts", c).then(
			    function (js) {
				var bad = (js.rejected || []).filter(function (r) {
					return r.error !==
					    "special_category_attribute";
				});

				if (bad.length)
					throw new Error("Not added: " +
					    reason(bad[0].error) + ".");
				return FF.api("GET", "/v1/contacts/" +
				    FF.enc(c.email));
			}).then(function (js) {
				FF.go("contacts/" + js.id);
			});
		});

		return card("Add a contact", [form, box]);
	}

	function listView(el) {
		var status = h("p", { class: "hint", role: "status" }),
		    exportBox = FF.errorBox(), q = "", pager, holder, search;

		el.appendChild(FF.title("Contacts", h("div", { class:
		    "actions" },
		    FF.can("write") ? h("a", { href: "#/contacts/import",
		    class: "button" }, "Import a CSV file") : null,
		    FF.button("Export as CSV", { class: "quiet" }, exportBox,
		    function () {
			return exportAll(status);
		}))));
		el.appendChild(status);
		el.appendChild(exportBox);

		search = FF.form({ role: "search", class: "search" }, [
			FF.field("Search by email or name", { type: "search",
			    name: "q", placeholder: "e.g. ann@ or Smith" }),
		], "Search", function (v) {
			q = v.q.trim();
			holder.textContent = "";
			pager = FF.pager(function (cursor) {
				return searchPage(q, cursor);
			}, contactTable);
			holder.appendChild(pager);
		});
		el.appendChild(search);
		holder = h("div");
		pager = FF.pager(function (cursor) {
			return searchPage(q, cursor);
		}, contactTable);
		holder.appendChild(pager);
		el.appendChild(holder);
		if (FF.can("write"))
			el.appendChild(h("div", { class: "stack spaced" },
			    addForm(FF.errorBox())));
	}

	/* ---------------------------------------------------------- import */

	/*
	 * The rows of a CSV text: [header, row, row...], each without its
	 * line end.  A newline inside a quoted cell belongs to the row;
	 * lines with nothing on them are skipped.
	 */
	function csvRows(text) {
		var rows = [], start = 0, quoted = false, i, ch, row;

		if (text.charCodeAt(0) === 0xfeff)
			text = text.slice(1);
		for (i = 0; i <= text.length; i++) {
			ch = i < text.length ? text.charAt(i) : "\n";
			if (ch === "\"") {
				quoted = !quoted;
			} else if (ch === "\n" && (!quoted ||
			    i === text.length)) {
				row = text.slice(start, i).replace(/\r$/, "");
				if (row !== "")
					rows.push(row);
				start = i + 1;
			}
		}
		return rows;
	}

	function importView(el) {
		var file, size, go, stop, box = FF.errorBox(), progressId =
		    FF.uid("progress"), bar, count, totals, rejectedBox,
		    stopped = false, running = false, form;

		el.appendChild(FF.title("Import contacts", h("a", {
		    href: "#/contacts" }, "\u2190 Contacts")));
		file = FF.field("CSV file", { type: "file", name: "file",
		    accept: ".csv,text/csv" });
		size = FF.field("Rows per request", { type: "number",
		    name: "chunk", min: 1, max: 10000, value: "500" });
		bar = h("progress", { id: progressId, max: 1, value: 0 });
		count = h("p", { class: "hint", "aria-live": "polite" },
		    "No file sent yet.");
		totals = h("div", { "aria-live": "polite" });
		rejectedBox = h("div");
		stop = h("button", { type: "button", class: "quiet", disabled:
		    true, on: { click: function () {
			stopped = true;
			stop.disabled = true;
		    } } }, "Stop after this request");
		go = h("button", { type: "submit" }, "Import");
		form = h("form", { novalidate: true, "aria-label":
		    "import contacts" },
		    h("p", { class: "hint" }, "The first row names the " +
		    "columns: email (required), first_name, last_name, " +
		    "date_of_birth, gender, timezone; any other column, or " +
		    "attributes.NAME, is the attribute NAME. A contact " +
		    "already there (same address) is updated. Stay on " +
		    "this page until it is done: leaving it stops the " +
		    "import after the request under way (what was sent " +
		    "stays imported)."),
		    file, size, h("div", { class: "actions" }, go, stop), box);
		el.appendChild(card("The file", form));
		el.appendChild(card("Progress", [
			h("label", { "for": progressId }, "Rows imported"),
			bar, count, totals, rejectedBox]));

		form.addEventListener("submit", function (ev) {
			var f = file.querySelector("input").files[0],
			    n = parseInt(size.querySelector("input").value, 10);

			ev.preventDefault();
			FF.showError(box, null);
			if (running)
				return;
			if (!f) {
				FF.showError(box, "Choose a CSV file first.");
				return;
			}
			if (!(n >= 1 && n <= 10000)) {
				FF.showError(box, "Rows per request: a number " +
				    "from 1 to 10000.");
				return;
			}
			running = true;
			stopped = false;
			go.disabled = true;
			stop.disabled = false;
			f.text().then(function (text) {
				return run(csvRows(text), n);
			}).catch(function (e) {
				FF.showError(box, e);
			}).then(function () {
				running = false;
				go.disabled = false;
				stop.disabled = true;
			});
		});

		function run(rows, n) {
			var header = rows.shift(), total = rows.length,
			    done = 0, sum = { created: 0, updated: 0,
			    rejected: 0 }, rejected = [], dropped = {},
			    start = 0;

			if (header === undefined || total === 0)
				throw new Error("The file has no rows under its " +
				    "header.");
			bar.max = total;
			bar.value = 0;
			rejectedBox.textContent = "";
			show();

			function show() {
				count.textContent = done + " of " + total +
				    " rows";
				totals.textContent = "";
				totals.appendChild(h("p", null, "Created " +
				    sum.created + ", updated " + sum.updated +
				    ", rejected " + sum.rejected + "." +
				    (Object.keys(dropped).length ?
				    " Columns dropped (special category): " +
				    Object.keys(dropped).join(", ") + "." : "")));
			}

			function next() {
				var chunk, body, first = start;

				/* Leaving the screen stops it too: an import
				 * nobody sees is one nobody can stop. */
				if (!form.isConnected)
					stopped = true;
				if (start >= total || stopped) {
					finish();
					return null;
				}
				chunk = rows.slice(start, start + n);
				start += chunk.length;
				body = header + "\r\n" + chunk.join("\r\n") +
				    "\r\n";
				return FF.api("POST", "/v1/contacts/import", null,
				    { body: body, type: "text/csv" })
				    .then(function (js) {
					sum.created += js.created || 0;
					sum.updated += js.updated || 0;
					sum.rejected += js.rejected_count !==
					    undefined ? js.rejected_count :
					    (js.rejected || []).length;
					(js.rejected || []).forEach(function (r) {
						rejected.push({ row: first +
						    r.index + 1, email: r.email,
						    error: r.error });
					});
					(js.dropped_columns || []).forEach(
					    function (d) {
						dropped[d.column || d.name ||
						    d.attribute || String(d)] =
						    true;
					});
					done += js.rows !== undefined ? js.rows :
					    chunk.length;
					bar.value = done;
					show();
					return next();
				}, function (e) {
					finish();
					throw new Error("Rows " + (first + 1) +
					    " to " + (first + chunk.length) +
					    " were not imported (" + e.toString() +
					    "); the " + done + " rows before " +
					    "them were. Sending the file again " +
					    "is harmless.");
				});
			}

			function finish() {
				count.textContent = done + " of " + total +
				    " rows" + (done === total ? ": done." :
				    stopped ? ": stopped." : ".");
				if (rejected.length)
					rejectedBox.appendChild(h("h4", { class: "sub" },
					    "Rejected rows" + (rejected.length <
					    sum.rejected ? " (the first " +
					    rejected.length + " of " +
					    sum.rejected + ")" : "")));
				if (rejected.length)
					rejectedBox.appendChild(FF.table(
					    "Rejected rows", [
						{ label: "Row", num: true,
						    get: function (r) {
							return r.row;
						} },
						{ label: "Email", get: function (r) {
							return r.email || "";
						} },
						{ label: "Error", get: function (r) {
							return reason(r.error);
						} },
					    ], rejected));
			}
			return next();
		}
	}

	/* ---------------------------------------------------------- detail */

	/* Drawn into a box of its own: if the user has gone on to another
	 * screen before the answers came, the box is no longer in the page
	 * and drawing into it changes nothing there. */
	function detailView(el, id) {
		var root = h("div");

		el.appendChild(root);
		return Promise.all([FF.api("GET", "/v1/contacts/" + FF.enc(id)),
		    FF.api("GET", "/v1/lists").catch(function () {
			return { items: [] };
		})]).then(function (res) {
			var c = res[0], names = {};

			(res[1].items || []).forEach(function (l) {
				names[l.id] = l.name;
			});
			drawDetail(root, c, names);
		});
	}

	function drawDetail(el, c, names) {
		var attrs = c.attributes || {}, keys = Object.keys(attrs).sort(),
		    delBox = FF.errorBox();

		el.textContent = "";
		el.appendChild(FF.title(c.email || "Contact " + c.id, h("div",
		    { class: "actions" }, h("a", { href: "#/contacts" },
		    "\u2190 Contacts"), FF.can("write") ?
		    FF.button("Delete the contact", { class: "danger" }, delBox,
		    function () {
			return FF.confirm("Delete " + (c.email || c.id) + "? " +
			    "The contact and its list memberships are " +
			    "removed; this cannot be undone.", "Delete")
			    .then(function (yes) {
				if (!yes)
					return null;
				return FF.api("DELETE", "/v1/contacts/" +
				    FF.enc(c.id)).then(function () {
					FF.go("contacts");
				});
			});
		}) : null)));
		el.appendChild(delBox);
		if (c.status === "quarantined")
			el.appendChild(h("p", { class: "card warn", role:
			    "note" }, "This contact is quarantined: a name, " +
			    "the gender or an attribute holds a term of a " +
			    "special category of personal data (GDPR Art. 9). " +
			    "It is never mailed until an edit removes the term."));
		el.appendChild(h("div", { class: "grid2" },
		    card("Details", h("dl", { class: "facts" },
		    FIELDS.map(function (f) {
			return [h("dt", null, f.label), h("dd", null,
			    c[f.name] === null || c[f.name] === undefined ?
			    "\u2014" : String(c[f.name]))];
		    }), h("dt", null, "Status"), h("dd", null, STATUS[c.status]
		    || c.status), h("dt", null, "Added"), h("dd", null,
		    FF.time(c.created_at)), h("dt", null, "Changed"),
		    h("dd", null, FF.time(c.updated_at)))),
		    h("div", { class: "stack" },
		    card("Attributes", FF.table("Attributes", [
			{ label: "Name", get: function (k) {
				return k;
			} },
			{ label: "Value", get: function (k) {
				return typeof attrs[k] === "object" ?
				    JSON.stringify(attrs[k]) : String(attrs[k]);
			} },
		    ], keys, "No attributes.")),
		    card("Lists", (c.lists || []).length ? h("ul", null,
		    c.lists.map(function (l) {
			return h("li", null, h("a", { href: "#/lists/" +
			    FF.enc(l) }, names[l] !== undefined ? names[l] :
			    "List " + l));
		    })) : h("p", { class: "hint" }, c.lists ? "On no list." :
		    "The server does not say.")))));
		if (FF.can("write"))
			el.appendChild(editForm(el, c, names));
	}

	/* PATCH what changed: fields (emptied: removed), attributes
	 * (changed, removed with null, one new). */
	function editForm(el, c, names) {
		var attrs = c.attributes || {}, keys = Object.keys(attrs).sort(),
		    note = h("p", { class: "ok", role: "status" }), form;

		form = FF.form({ "aria-label": "edit the contact" }, [
			h("div", { class: "grid2" }, FIELDS.map(function (f) {
				return FF.field(f.label, { type: f.type ||
				    "text", name: "f." + f.name, value:
				    c[f.name] === null || c[f.name] ===
				    undefined ? "" : String(c[f.name]) });
			})),
			keys.length ? h("fieldset", null, h("legend", null,
			    "Attributes"), keys.map(function (k) {
				return h("div", { class: "attr-row" },
				    FF.field(k, { name: "a." + k, value:
				    typeof attrs[k] === "object" ?
				    JSON.stringify(attrs[k]) :
				    String(attrs[k]) }),
				    FF.field("Remove " + k, { type: "checkbox",
				    name: "r." + k }));
			})) : null,
			h("fieldset", null, h("legend", null,
			    "A new attribute"), h("div", { class: "grid2" },
			    FF.field("Attribute name", { name: "new_name",
			    placeholder: "e.g. plan" }),
			    FF.field("Attribute value", { name: "new_value",
			    placeholder: "e.g. pro" }))),
			note,
		], "Save the changes", function (v) {
			var body = {}, a = {}, any = false;

			FIELDS.forEach(function (f) {
				var now = v["f." + f.name].trim(), was =
				    c[f.name] === null || c[f.name] ===
				    undefined ? "" : String(c[f.name]);

				if (now !== was)
					body[f.name] = now === "" ? null : now;
			});
			keys.forEach(function (k) {
				var now = v["a." + k];

				if (v["r." + k]) {
					a[k] = null;
					any = true;
				} else if (now !== String(attrs[k])) {
					a[k] = typeof attrs[k] === "number" &&
					    now.trim() !== "" && !isNaN(+now) ?
					    +now : typeof attrs[k] === "boolean"
					    && /^(true|false)$/.test(now) ?
					    now === "true" : now;
					any = true;
				}
			});
			if (v.new_name.trim()) {
				a[v.new_name.trim()] = v.new_value;
				any = true;
			}
			if (any)
				body.attributes = a;
			if (Object.keys(body).length === 0) {
				FF.note(note, "Nothing changed.");
				return null;
			}
			return FF.api("PATCH", "/v1/contacts/" + FF.enc(c.id),
			    body).then(function (js) {
				var msg = "Saved.";

				if (js.rejected && js.rejected.length)
					msg += " Not kept: " + js.rejected.map(
					    function (r) {
						return (r.attribute || "") + " (" +
						    reason(r.error) + ")";
					    }).join(", ") + ".";
				return FF.api("GET", "/v1/contacts/" +
				    FF.enc(c.id)).then(function (fresh) {
					drawDetail(el, fresh, names);
					FF.note(el.querySelector(
					    "form[aria-label='edit the contact'] " +
					    "p.ok"), msg);
				});
			});
		});
		return card("Edit", form);
	}

	FF.screen("contacts", { title: "Contacts", role: "read",
	    render: function (el, params) {
		if (params[0] === "import") {
			if (!FF.can("write")) {
				el.appendChild(FF.title("Import contacts"));
				el.appendChild(h("p", { class: "error",
				    role: "alert" }, "Your role may not import " +
				    "contacts."));
				return null;
			}
			return importView(el);
		}
		if (params[0])
			return detailView(el, params[0]);
		return listView(el);
	} });
}());
