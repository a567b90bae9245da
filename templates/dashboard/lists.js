/*
 * lists.js: two screens, lists and segments.
 *
 *   #/lists             every list (GET /v1/lists), create one
 *   #/lists/ID          its members count; add or remove members by
 *                       email (POST/DELETE /v1/lists/ID/members)
 *   #/segments          every saved segment, its count on demand
 *   #/segments/new      the rule builder for a new segment
 *   #/segments/ID       the rule builder with a live count: each change
 *                       is saved (PATCH, debounced) and counted again
 *                       (GET /v1/segments/ID/count)
 *
 * The server is the judge of a rule: the builder offers what API.md's
 * segments allow (contact fields, attributes.NAME, list membership,
 * opened/not_opened/clicked/not_clicked a campaign, dates before and
 * after) and shows the server's refusal (special_category_reference,
 * invalid_rule with the rule's number) in words next to the rule.
 * A count walks the tenant's contacts, so the list of segments counts
 * one only when asked.
 */
"use strict";

(function () {
	var h = FF.h;
	var DEBOUNCE = 600;	/* ms of quiet before a change is saved */
	var EMAILS_MAX = 1000;	/* addresses per members request */

	function card(heading, children) {
		var id = FF.uid("h");

		return h("section", { class: "card", "aria-labelledby": id },
		    h("h3", { id: id }, heading), children);
	}

	/* "a@x, b@y\nc@z" -> ["a@x", "b@y", "c@z"] */
	function emails(text) {
		return text.split(/[\s,;]+/).filter(function (e) {
			return e !== "";
		});
	}

	function plural(n, one, many) {
		return n + " " + (n === 1 ? one : many);
	}

	/* ----------------------------------------------------------- lists */

	function listsView(el) {
		var holder = h("div");

		el.appendChild(FF.title("Lists"));
		el.appendChild(holder);
		if (FF.can("write"))
			el.appendChild(card("Create a list", FF.form(
			    { "aria-label": "create a list" },
			    [FF.field("List name", { name: "name", required:
			    true, maxlength: 200 })], "Create the list",
			    function (v) {
				return FF.api("POST", "/v1/lists", { name:
				    v.name.trim() }).then(function (js) {
					FF.go("lists/" + js.id);
				});
			})));
		return FF.api("GET", "/v1/lists").then(function (js) {
			holder.appendChild(FF.table("Lists", [
				{ label: "Name", get: function (l) {
					return h("a", { href: "#/lists/" +
					    FF.enc(l.id) }, l.name);
				} },
				{ label: "Members", num: true, get: function (l) {
					return l.members;
				} },
				{ label: "Id", num: true, get: function (l) {
					return l.id;
				} },
			], js.items || [], "No list yet."));
		});
	}

	/* POST or DELETE members in requests of EMAILS_MAX addresses;
	 * Promise of the summed answers. */
	function members(method, id, list) {
		var sum = { added: 0, removed: 0, missing: [] }, i = 0;

		function next() {
			var part = list.slice(i, i + EMAILS_MAX);

			if (part.length === 0)
				return sum;
			i += part.length;
			return FF.api(method, "/v1/lists/" + FF.enc(id) +
			    "/members", { emails: part }).then(function (js) {
				sum.added += js.added || 0;
				sum.removed += js.removed || 0;
				sum.missing = sum.missing.concat(js.missing ||
				    []);
				return next();
			});
		}
		return next();
	}

	/* Each page that draws after an answer draws into a box of its own:
	 * if the user has gone on meanwhile, the box is out of the page. */
	function listView(parent, id) {
		var el = h("div");

		parent.appendChild(el);
		return FF.api("GET", "/v1/lists/" + FF.enc(id)).then(
		    function (l) {
			var count = h("p", { class: "figure-value",
			    "aria-live": "polite" }, plural(l.members, "member",
			    "members")), addNote = h("p", { role: "status" }),
			    delNote = h("p", { role: "status" });

			function refresh() {
				return FF.api("GET", "/v1/lists/" + FF.enc(id))
				    .then(function (js) {
					count.textContent = plural(js.members,
					    "member", "members");
				});
			}

			el.appendChild(FF.title(l.name, h("a", { href:
			    "#/lists" }, "\u2190 Lists")));
			el.appendChild(card("Members", [count, h("p",
			    { class: "hint" }, "List " + l.id + ". Campaigns, " +
			    "sequences and segments name it by this id.")]));
			if (!FF.can("write"))
				return;
			el.appendChild(h("div", { class: "grid2 spaced" },
			    card("Add members", FF.form({ "aria-label":
			    "add members" }, [FF.field("Email addresses to add",
			    { tag: "textarea", name: "emails", rows: 4,
			    placeholder: "one a line, or separated by commas" }),
			    h("p", { class: "hint" }, "Only contacts that " +
			    "exist are added; add new people on the Contacts " +
			    "screen first."), addNote], "Add to the list",
			    function (v, form) {
				var list = emails(v.emails);

				FF.note(addNote, "");
				if (list.length === 0)
					throw new Error("Type at least one " +
					    "address.");
				return members("POST", id, list).then(
				    function (s) {
					FF.note(addNote, "Added " + plural(
					    s.added, "contact", "contacts") + "." +
					    (s.missing.length ? " Not " +
					    "contacts (so not added): " +
					    s.missing.join(", ") + "." : ""));
					form.elements.emails.value = "";
					return refresh();
				});
			})),
			    card("Remove members", FF.form({ "aria-label":
			    "remove members" }, [FF.field("Email addresses to " +
			    "remove", { tag: "textarea", name: "emails", rows: 4,
			    placeholder: "one a line, or separated by commas" }),
			    delNote], "Remove from the list",
			    function (v, form) {
				var list = emails(v.emails);

				FF.note(delNote, "");
				if (list.length === 0)
					throw new Error("Type at least one " +
					    "address.");
				return FF.confirm("Remove " + plural(list.length,
				    "address", "addresses") + " from " + l.name +
				    "? The contacts stay; only their " +
				    "membership goes.", "Remove").then(
				    function (yes) {
					if (!yes)
						return null;
					return members("DELETE", id, list).then(
					    function (s) {
						FF.note(delNote, "Removed " +
						    plural(s.removed, "contact",
						    "contacts") + ".");
						form.elements.emails.value = "";
						return refresh();
					});
				});
			}))));
		});
	}

	FF.screen("lists", { title: "Lists", role: "read",
	    render: function (el, params) {
		return params[0] ? listView(el, params[0]) : listsView(el);
	} });

	/* -------------------------------------------------------- segments */

	var TEXT_OPS = [["eq", "is"], ["neq", "is not"],
	    ["contains", "contains"], ["exists", "is set / not set"]];
	var TIME_OPS = [["after", "is after"], ["before", "is before"],
	    ["exists", "is set / not set"]];
	var ATTR_OPS = [["eq", "is"], ["neq", "is not"],
	    ["contains", "contains"], ["gt", "is more than"],
	    ["lt", "is less than"], ["after", "is after (date)"],
	    ["before", "is before (date)"], ["exists", "is set / not set"]];
	var LIST_OPS = [["eq", "is on the list"], ["neq", "is not on the list"]];
	/* The fields a rule names: [value, label, ops or the kind]. */
	var FIELDS = [
		["email", "Email", TEXT_OPS],
		["first_name", "First name", TEXT_OPS],
		["last_name", "Last name", TEXT_OPS],
		["gender", "Gender", TEXT_OPS],
		["date_of_birth", "Date of birth", [["eq", "is"],
		    ["neq", "is not"]].concat(TIME_OPS)],
		["created_at", "Added (created_at)", TIME_OPS],
		["updated_at", "Changed (updated_at)", TIME_OPS],
		["attributes", "An attribute", ATTR_OPS],
		["list", "List membership", LIST_OPS],
		["opened", "Opened a campaign", "campaign"],
		["not_opened", "Did not open a campaign (mailed)", "campaign"],
		["clicked", "Clicked in a campaign", "campaign"],
		["not_clicked", "Did not click in a campaign (mailed)",
		    "campaign"],
	];
	var FIELD = {};
	FIELDS.forEach(function (f) {
		FIELD[f[0]] = f;
	});
	var DATE_FIELDS = { created_at: 1, updated_at: 1, date_of_birth: 1 };

	function opLabel(field, op) {
		var f = FIELD[field], found = null;

		if (f && Array.isArray(f[2]))
			f[2].forEach(function (o) {
				if (o[0] === op)
					found = o[1];
			});
		return found || op;
	}

	/* A stored rule in words, for the list and the viewer. */
	function describe(r, names) {
		var field = r.field || "", attr = /^attributes\./.test(field);
		var base = attr ? "attribute " + field.slice(11) :
		    FIELD[field] ? FIELD[field][1] : field;

		if (field === "list")
			return (r.op === "neq" ? "not on " : "on ") + "list " +
			    (names.lists[r.value] !== undefined ? "\u201c" +
			    names.lists[r.value] + "\u201d" : r.value);
		if (r.campaign !== undefined)
			return base + " \u201c" + (names.campaigns[r.campaign]
			    !== undefined ? names.campaigns[r.campaign] :
			    r.campaign) + "\u201d";
		if (r.op === "exists")
			return base + (r.value === false ? " is not set" :
			    " is set");
		return base + " " + opLabel(attr ? "attributes" : field, r.op) +
		    " \u201c" + String(r.value) + "\u201d";
	}

	function describeAll(s, names) {
		var rules = s.rules || [];

		if (rules.length === 0)
			return "every contact";
		return (rules.length > 1 ? (s.match === "any" ? "any of: " :
		    "all of: ") : "") + rules.map(function (r) {
			return describe(r, names);
		}).join("; ");
	}

	/* The lists' and campaigns' names, for pickers and words. */
	function loadNames() {
		var names = { lists: {}, campaigns: {}, listItems: [],
		    campaignItems: [] };

		return Promise.all([
			FF.api("GET", "/v1/lists").catch(function () {
				return { items: [] };
			}),
			FF.api("GET", "/v1/campaigns").catch(function () {
				return { items: [] };
			}),
		]).then(function (res) {
			names.listItems = res[0].items || [];
			names.campaignItems = res[1].items || [];
			names.listItems.forEach(function (l) {
				names.lists[l.id] = l.name;
			});
			names.campaignItems.forEach(function (c) {
				names.campaigns[c.id] = c.name;
			});
			return names;
		});
	}

	function countText(n) {
		return plural(n, "contact matches", "contacts match") + ".";
	}

	function segmentsView(el) {
		var holder = h("div");

		el.appendChild(FF.title("Segments", FF.can("write") ?
		    h("a", { href: "#/segments/new", class: "button" },
		    "New segment") : null));
		el.appendChild(holder);
		return Promise.all([FF.api("GET", "/v1/segments"), loadNames()])
		    .then(function (res) {
			var names = res[1];

			holder.appendChild(FF.table("Segments", [
				{ label: "Name", get: function (s) {
					return h("a", { href: "#/segments/" +
					    FF.enc(s.id) }, s.name);
				} },
				{ label: "Rules", get: function (s) {
					return describeAll(s, names);
				} },
				{ label: "Changed", get: function (s) {
					return FF.time(s.updated_at);
				} },
				{ label: "Contacts", get: function (s) {
					var out = h("span", { "aria-live":
					    "polite" }), box = FF.errorBox();

					return h("div", null, out,
					    FF.button("Count", { class: "quiet",
					    "aria-label": "Count " + s.name },
					    box, function () {
						FF.note(out, "counting\u2026");
						return FF.api("GET",
						    "/v1/segments/" +
						    FF.enc(s.id) + "/count")
						    .then(function (js) {
							FF.note(out, String(
							    js.count) + " ");
						}, function (e) {
							FF.note(out, "");
							throw e;
						});
					}), box);
				} },
			], res[0].items || [], "No segment yet."));
		});
	}

	/* ------------------------------------------------- the rule builder */

	/*
	 * One rule's controls; row.get() answers the rule as the API takes
	 * it, row.el is its fieldset.  onChange runs on every edit.
	 */
	function ruleRow(n, rule, names, onChange, onRemove) {
		var fieldset = h("fieldset", { class: "rule" }),
		    legend = h("legend", null), fieldSel, attrName, opSel,
		    valueHolder = h("div", { class: "rule-value" }), valueCtl,
		    err = h("p", { class: "error", role: "alert" }), row,
		    num = n, init = rule || { field: "attributes.", op: "eq",
		    value: "" }, startField = /^attributes\./.test(init.field)
		    ? "attributes" : init.field;

		row = { el: fieldset, err: err };
		fieldSel = FF.field("Field", { tag: "select", on: { change:
		    function () {
			fill(null);
			onChange();
		    } } }, FIELDS.map(function (f) {
			return { value: f[0], label: f[1], selected: f[0] ===
			    startField };
		}));
		attrName = FF.field("Attribute name", { value: startField ===
		    "attributes" ? init.field.slice(11) : "", placeholder:
		    "e.g. plan", on: { input: onChange } });
		opSel = FF.field("Condition", { tag: "select", on: { change:
		    function () {
			value(null);
			onChange();
		    } } });

		function ctl(wrap) {
			return wrap.querySelector("input, select");
		}

		/* The op choices for the field, keeping rule's op. */
		function fill(r) {
			var f = FIELD[ctl(fieldSel).value], sel = ctl(opSel);

			sel.textContent = "";
			attrName.hidden = f[0] !== "attributes";
			opSel.hidden = !Array.isArray(f[2]);
			if (Array.isArray(f[2]))
				f[2].forEach(function (o) {
					sel.appendChild(h("option", { value: o[0],
					    selected: r && (r.op || "eq") ===
					    o[0] }, o[1]));
				});
			value(r);
		}

		/* The value control the field and op call for. */
		function value(r) {
			var field = ctl(fieldSel).value, op = ctl(opSel).value,
			    v = r ? r.value : undefined, opts;

			valueHolder.textContent = "";
			if (FIELD[field][2] === "campaign") {
				opts = names.campaignItems.map(function (c) {
					return { value: c.id, label: c.name +
					    " (" + c.id + ")", selected: r &&
					    String(r.campaign) === c.id };
				});
				valueCtl = FF.field("Campaign", { tag: "select",
				    on: { change: onChange } }, [{ value: "",
				    label: "\u2014 choose \u2014" }].concat(opts));
			} else if (field === "list") {
				opts = names.listItems.map(function (l) {
					return { value: l.id, label: l.name +
					    " (" + l.id + ")", selected: r &&
					    String(r.value) === l.id };
				});
				valueCtl = FF.field("List", { tag: "select",
				    on: { change: onChange } }, [{ value: "",
				    label: "\u2014 choose \u2014" }].concat(opts));
			} else if (op === "exists") {
				valueCtl = FF.field("Set?", { tag: "select",
				    on: { change: onChange } }, [
					{ value: "true", label: "is set" },
					{ value: "false", label: "is not set",
					    selected: v === false },
				]);
			} else {
				valueCtl = FF.field("Value", { type:
				    (op === "before" || op === "after" ||
				    DATE_FIELDS[field]) && field !==
				    "attributes" ? "date" : "text",
				    value: v === undefined || v === null ? "" :
				    String(v).slice(0, DATE_FIELDS[field] &&
				    /^\d{4}-\d\d-\d\dT/.test(String(v)) ? 10 :
				    undefined), on: { input: onChange } });
			}
			relabel(valueCtl);
			valueHolder.appendChild(valueCtl);
		}

		row.get = function () {
			var field = ctl(fieldSel).value, f = FIELD[field],
			    op = ctl(opSel).value, v = ctl(valueCtl).value,
			    out;

			if (f[2] === "campaign")
				return { field: field, campaign: v };
			if (field === "list")
				return { field: "list", op: op, value: v };
			out = { field: field === "attributes" ? "attributes." +
			    ctl(attrName).value.trim() : field, op: op };
			if (op === "exists")
				out.value = v === "true";
			else if ((op === "gt" || op === "lt") && v.trim() !==
			    "" && !isNaN(+v))
				out.value = +v;
			else
				out.value = v;
			return out;
		};
		/* Each control's label names its rule: "Value of rule 2". */
		function relabel(w) {
			var l = w.querySelector("label");

			l.textContent = l.textContent.replace(/ of rule \d+$/,
			    "") + " of rule " + (num + 1);
		}
		row.number = function (i) {
			num = i;
			legend.textContent = "Rule " + (i + 1);
			[fieldSel, attrName, opSel, valueCtl].forEach(relabel);
		};
		row.fail = function (msg) {
			err.textContent = msg || "";
			fieldset.classList.toggle("invalid", !!msg);
		};

		fieldset.appendChild(legend);
		fieldset.appendChild(h("div", { class: "rule-controls" },
		    fieldSel, attrName, opSel, valueHolder,
		    h("button", { type: "button", class: "quiet danger",
		    on: { click: function () {
			onRemove(row);
		    } } }, "Remove this rule")));
		fieldset.appendChild(err);
		fill(rule ? Object.assign({}, rule, { op: rule.op ||
		    (rule.field === "list" ? "eq" : rule.op) }) : init);
		row.number(n);
		return row;
	}

	function builder(el, seg, names) {
		var rows = [], isNew = !seg.id, timer = null, gen = 0,
		    last = null,
		    rulesBox = h("div", { class: "rules" }),
		    box = h("p", { class: "error", role: "alert" }),
		    live = h("p", { class: "live-count", "aria-live": "polite",
		    role: "status" }, isNew ? "Save the segment to count it." :
		    "counting\u2026"),
		    nameF = FF.field("Segment name", { value: seg.name || "",
		    required: true, maxlength: 200, on: { input: changed } }),
		    matchF = FF.field("Contacts who match", { tag: "select",
		    on: { change: changed } }, [
			{ value: "all", label: "all of the rules",
			    selected: seg.match !== "any" },
			{ value: "any", label: "any of the rules",
			    selected: seg.match === "any" },
		    ]), form, delBox = FF.errorBox(), saveBtn;

		function definition() {
			return { name: nameF.querySelector("input").value.trim(),
			    match: matchF.querySelector("select").value,
			    rules: rows.map(function (r) {
				return r.get();
			    }) };
		}

		function addRow(rule) {
			var row = ruleRow(rows.length, rule, names, changed,
			    function (r) {
				rows.splice(rows.indexOf(r), 1);
				r.el.remove();
				rows.forEach(function (x, i) {
					x.number(i);
				});
				changed();
			});

			rows.push(row);
			rulesBox.appendChild(row.el);
			return row;
		}

		/* The server's refusal in words, beside the rule it names. */
		function showFailure(e) {
			var rule = e.detail && typeof e.detail.rule === "number" ?
			    e.detail.rule : -1, words = e.code ===
			    "special_category_reference" ? "This would select " +
			    "people by a special category of personal data " +
			    "(GDPR Art. 9: health, religion, ethnicity, " +
			    "politics, sex life...), which is not allowed. " :
			    "";

			var said = (e.toString ? e.toString() : String(e))
			    .replace(/^rules\[\d+\]: /, "");

			rows.forEach(function (r) {
				r.fail(null);
			});
			if (rule >= 0 && rows[rule]) {
				rows[rule].fail("Rule " + (rule + 1) + ": " +
				    words + said);
				FF.showError(box, "Not saved: rule " + (rule + 1) +
				    " is refused (see above).");
			} else {
				FF.showError(box, (isNew ? "" : "Not saved: ") +
				    words + said);
			}
			if (!isNew && last !== null)
				FF.note(live, countText(last) + " (the last " +
				    "saved rules)");
		}

		function clearFailure() {
			FF.showError(box, null);
			rows.forEach(function (r) {
				r.fail(null);
			});
		}

		function count(id, mine) {
			return FF.api("GET", "/v1/segments/" + FF.enc(id) +
			    "/count").then(function (js) {
				last = js.count;
				if (mine === gen)
					FF.note(live, countText(js.count));
			}, function (e) {
				if (mine === gen)
					FF.note(live, "Not counted: " +
					    e.toString());
			});
		}

		/* An edit of a saved segment: saved and counted after a
		 * moment of quiet; only the latest edit's answer is shown. */
		function changed() {
			if (isNew || !FF.can("write"))
				return;
			FF.note(live, "counting\u2026");
			clearTimeout(timer);
			timer = setTimeout(function () {
				var mine = ++gen;

				if (!form.isConnected)
					return;
				FF.api("PATCH", "/v1/segments/" + FF.enc(seg.id),
				    definition()).then(function (js) {
					var title = document.getElementById(
					    "screen-title");

					if (mine !== gen)
						return null;
					if (title && js && js.name)
						title.textContent = js.name;
					seg.name = js && js.name || seg.name;
					clearFailure();
					return count(seg.id, mine);
				}, function (e) {
					if (mine !== gen)
						return;
					showFailure(e);
				});
			}, DEBOUNCE);
		}

		(seg.rules || []).forEach(addRow);
		if (isNew && rows.length === 0)
			addRow(null);
		saveBtn = isNew ? h("button", { type: "submit" },
		    "Create the segment") : null;
		form = h("form", { novalidate: true, "aria-label":
		    "segment rules" }, nameF, matchF, rulesBox,
		    h("div", { class: "actions" }, h("button", { type: "button",
		    class: "quiet", on: { click: function () {
			addRow(null).el.querySelector("select").focus();
			changed();
		    } } }, "Add a rule"), saveBtn), box);
		form.addEventListener("submit", function (ev) {
			ev.preventDefault();
			if (!isNew) {
				changed();
				return;
			}
			clearFailure();
			saveBtn.disabled = true;
			FF.api("POST", "/v1/segments", definition()).then(
			    function (js) {
				FF.go("segments/" + js.id);
			}, function (e) {
				showFailure(e);
			}).then(function () {
				saveBtn.disabled = false;
			});
		});

		el.appendChild(FF.title(isNew ? "New segment" : seg.name,
		    h("div", { class: "actions" }, h("a", { href: "#/segments" },
		    "\u2190 Segments"), !isNew ? FF.button("Delete the segment",
		    { class: "danger" }, delBox, function () {
			return FF.confirm("Delete the segment " + seg.name +
			    "? Campaigns already launched to it keep their " +
			    "recipients.", "Delete").then(function (yes) {
				if (!yes)
					return null;
				return FF.api("DELETE", "/v1/segments/" +
				    FF.enc(seg.id)).then(function () {
					FF.go("segments");
				});
			});
		}) : null)));
		el.appendChild(delBox);
		el.appendChild(card("Live count", [live, h("p", { class:
		    "hint" }, isNew ? "Once created, each change is saved " +
		    "and counted as you edit." : "Each change is saved and " +
		    "counted as you edit.")]));
		el.appendChild(card("Rules", form));
		if (!isNew)
			count(seg.id, gen);
	}

	/* The viewer's page: the rules in words and the count. */
	function segmentReadView(el, seg, names) {
		var live = h("p", { class: "live-count", role: "status" },
		    "counting\u2026");

		el.appendChild(FF.title(seg.name, h("a", { href: "#/segments" },
		    "\u2190 Segments")));
		el.appendChild(card("Live count", live));
		el.appendChild(card("Rules", [h("p", null, "Contacts who " +
		    "match " + (seg.match === "any" ? "any" : "all") +
		    " of these rules:"), h("ul", null, (seg.rules || []).map(
		    function (r) {
			return h("li", null, describe(r, names));
		    }))]));
		return FF.api("GET", "/v1/segments/" + FF.enc(seg.id) + "/count")
		    .then(function (js) {
			FF.note(live, countText(js.count));
		}, function (e) {
			FF.note(live, "Not counted: " + e.toString());
		});
	}

	function segmentView(parent, id) {
		var el = h("div");

		parent.appendChild(el);
		if (id === "new") {
			if (!FF.can("write")) {
				el.appendChild(FF.title("New segment"));
				el.appendChild(h("p", { class: "error", role:
				    "alert" }, "Your role may not create " +
				    "segments."));
				return null;
			}
			return loadNames().then(function (names) {
				builder(el, { match: "all", rules: [] }, names);
			});
		}
		return Promise.all([FF.api("GET", "/v1/segments/" + FF.enc(id)),
		    loadNames()]).then(function (res) {
			if (FF.can("write"))
				builder(el, res[0], res[1]);
			else
				return segmentReadView(el, res[0], res[1]);
			return null;
		});
	}

	FF.screen("segments", { title: "Segments", role: "read",
	    render: function (el, params) {
		return params[0] ? segmentView(el, params[0]) :
		    segmentsView(el);
	} });
}());
