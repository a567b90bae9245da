/*
 * sequences.js: the sequences (automation) screen.  #/sequences lists
 * them with their figures and each step's (GET /v1/sequences: sent,
 * opens, clicks of the step's campaign); #/sequences/new is the form
 * that makes one (name, From, trigger list, steps of template, delay
 * and condition); #/sequences/ID shows one with its steps' figures,
 * activates or pauses it and enrolls addresses.  Shapes are
 * src/api_sequence.c's and src/sequence.c's.  A viewer reads only.
 */
"use strict";

(function () {
	var h = FF.h;
	var PAGE = 25;
	var STEPS_MAX = 20;		/* SEQUENCE_STEPS_MAX */
	var ENROLL_MAX = 10000;		/* SEQUENCE_ENROLL_MAX */
	var CONDITIONS = [
		{ value: "always", label: "always" },
		{ value: "opened", label: "if the previous step was opened" },
		{ value: "not_opened", label: "if the previous step was not " +
		    "opened" },
		{ value: "clicked", label: "if the previous step was clicked" },
		{ value: "not_clicked", label: "if the previous step was not " +
		    "clicked" },
	];
	var UNITS = [
		{ value: "m", label: "minutes" },
		{ value: "h", label: "hours" },
		{ value: "d", label: "days" },
		{ value: "s", label: "seconds" },
	];

	function pageOf(items, cursor) {
		var at = parseInt(cursor || "0", 10) || 0;

		return { items: items.slice(at, at + PAGE), next_cursor:
		    at + PAGE < items.length ? String(at + PAGE) : null };
	}

	/* "3d" -> "3 days", "0s" -> "at once" */
	function delayWords(d) {
		var m = /^(\d+)([smhd])$/.exec(d || ""), n, u;

		if (!m || m[1] === "0")
			return "at once";
		n = parseInt(m[1], 10);
		u = { s: "second", m: "minute", h: "hour", d: "day" }[m[2]];
		return "after " + n + " " + u + (n === 1 ? "" : "s");
	}

	function conditionWords(c) {
		var hit = CONDITIONS.filter(function (x) {
			return x.value === c;
		})[0];

		return hit ? hit.label : c || "always";
	}

	/* A table column of a number: FF.table's {label, num, get}. */
	function count(label, key) {
		return { label: label, num: true, get: function (o) {
			return o[key];
		} };
	}

	/* "after 2 days, if the previous step was not opened" */
	function when(st) {
		return delayWords(st.delay) + (st["if"] && st["if"] !==
		    "always" ? ", " + conditionWords(st["if"]) : "");
	}

	function badge(status) {
		return h("span", { class: "badge " + status }, status);
	}

	/* The names of the tenant's templates and lists, by id; an error
	 * leaves the map empty (ids are shown instead). */
	function names(path) {
		return FF.api("GET", path).then(function (js) {
			var m = {};

			((js && js.items) || []).forEach(function (o) {
				m[o.id] = o;
			});
			return { map: m, items: (js && js.items) || [],
			    error: null };
		}, function (e) {
			return { map: {}, items: [], error: e };
		});
	}

	/* One step's line: "1. Welcome, at once: 3 sent, 1 open, 0 clicks" */
	function stepLine(st, tpls) {
		var t = tpls[st.template_id];

		return h("li", null, h("a", { href: "#/campaigns/" +
		    FF.enc(st.campaign_id), title: "the step's campaign" },
		    (t ? t.name : "template " + st.template_id)),
		    " \u00b7 " + when(st) + ": " + st.sent + " sent, " +
		    st.opens + " opened, " + st.clicks + " clicked");
	}

	/* ------------------------------------------------------------ list */

	function list(el) {
		var all = null, tpls = {};

		el.appendChild(FF.title("Sequences", FF.can("write") ?
		    h("a", { href: "#/sequences/new", class: "button" },
		    "New sequence") : null));
		el.appendChild(h("p", { class: "hint" }, "A sequence mails " +
		    "its steps to each contact enrolled, one after the " +
		    "other, each after its delay and if its condition holds. " +
		    "Figures are people: opened and clicked count each " +
		    "contact once, by people (not machines)."));
		el.appendChild(FF.pager(function (cursor) {
			if (all !== null && cursor)
				return Promise.resolve(pageOf(all, cursor));
			return Promise.all([FF.api("GET", "/v1/sequences"),
			    names("/v1/templates")]).then(function (r) {
				all = ((r[0] && r[0].items) || []).slice()
				    .reverse();
				tpls = r[1].map;
				return pageOf(all, cursor);
			});
		}, function (items) {
			return FF.table("Sequences", [
				{ label: "Name", get: function (q) {
					return h("a", { href: "#/sequences/" +
					    FF.enc(q.id) }, q.name ||
					    "(unnamed)");
				} },
				{ label: "Status", get: function (q) {
					return badge(q.status);
				} },
				count("Enrolled", "enrolled"),
				count("Active", "active"),
				count("Completed", "completed"),
				count("Exited", "exited"),
				{ label: "Steps", get: function (q) {
					return h("ol", { class: "seq-steps" },
					    (q.steps || []).map(function (st) {
						return stepLine(st, tpls);
					    }));
				} },
			], items, "No sequence yet." + (FF.can("write") ?
			    " Make one with \u201cNew sequence\u201d." : ""));
		}));
	}

	/* ------------------------------------------------------------ one */

	function figure(label, value) {
		return h("div", { class: "figure" }, h("span", { class:
		    "label" }, label), h("span", { class: "value" },
		    String(value)));
	}

	function show(el, id) {
		var title = FF.title("Sequence", h("a", { href: "#/sequences" },
		    "\u2190 All sequences")), body = h("div", { class:
		    "stack" }), box = FF.errorBox(), refocus = false;

		el.appendChild(title);
		el.appendChild(box);
		el.appendChild(body);

		function load() {
			return Promise.all([FF.api("GET", "/v1/sequences/" +
			    FF.enc(id)), names("/v1/templates"),
			    names("/v1/lists")]).then(function (r) {
				draw(r[0], r[1].map, r[2].map);
			});
		}

		/* activate or pause; the button that replaces the one
		 * pressed gets the focus. */
		function state(to) {
			return FF.api("POST", "/v1/sequences/" + FF.enc(id) +
			    "/" + to).then(function () {
				refocus = true;
				return load();
			});
		}

		function draw(q, tpls, lists) {
			var trig = q.trigger && q.trigger.list_id, stateBox =
			    FF.errorBox(), tools;

			FF.showError(box, null);
			title.querySelector("h2").textContent = "Sequence: " +
			    (q.name || "(unnamed)");
			body.textContent = "";
			tools = FF.can("write") ? h("div", { class: "actions" },
			    q.status !== "active" ? FF.button("Activate", null,
			    stateBox, function () {
				return state("activate");
			    }) : FF.button("Pause", { class: "quiet" },
			    stateBox, function () {
				return state("pause");
			    })) : null;
			body.appendChild(h("section", { class: "card",
			    "aria-label": "state" },
			    h("p", { class: "seq-status" }, "Status: ",
			    badge(q.status)),
			    h("dl", { class: "seq-facts" },
			    h("dt", null, "From"), h("dd", null, q.from),
			    h("dt", null, "Trigger"), h("dd", null, trig ?
			    "joining the list " + (lists[trig] ?
			    lists[trig].name : trig) : "none: contacts are " +
			    "enrolled by hand or by the API"),
			    h("dt", null, "Created"), h("dd", null,
			    FF.time(q.created_at))),
			    tools, stateBox));
			body.appendChild(h("div", { class: "figures" },
			    figure("Enrolled", q.enrolled),
			    figure("Active", q.active),
			    figure("Completed", q.completed),
			    figure("Exited", q.exited)));
			body.appendChild(FF.table("Steps", [
				{ label: "#", num: true, get: function (st) {
					return q.steps.indexOf(st) + 1;
				} },
				{ label: "Template", get: function (st) {
					var t = tpls[st.template_id];

					return h("a", { href: "#/templates/" +
					    FF.enc(st.template_id) }, t ?
					    t.name : "template " +
					    st.template_id);
				} },
				{ label: "When", get: function (st) {
					return when(st);
				} },
				count("Queued", "queued"),
				count("Sent", "sent"),
				count("Failed", "failed"),
				count("Skipped", "skipped"),
				count("Opened", "opens"),
				count("Clicked", "clicks"),
				count("Bounced", "bounced"),
				{ label: "Campaign", get: function (st) {
					return h("a", { href: "#/campaigns/" +
					    FF.enc(st.campaign_id) }, "step " +
					    (q.steps.indexOf(st) + 1) +
					    " campaign");
				} },
			], q.steps || [], "No steps."));
			if (refocus && tools)
				tools.querySelector("button").focus();
			refocus = false;
		}

		/* The figures move while it runs: redrawn every 10 s,
		 * unless the user is on one of its controls. */
		FF.every(10000, function () {
			if (!body.contains(document.activeElement))
				load().catch(function (e) {
					FF.showError(box, e);
				});
		});

		return load().then(function () {
			/* Outside body: a reload keeps what was typed and the
			 * answer. */
			if (FF.can("write"))
				el.appendChild(enrollForm(id, load));
		}, function (e) {
			FF.showError(box, e);
		});
	}

	/* Addresses typed or pasted, one a line or separated by commas. */
	function enrollForm(id, reload) {
		var answer = h("p", { class: "ok seq-answer", role: "status" });

		return FF.form({ class: "card seq-enroll", "aria-label":
		    "enroll" }, [
		    h("h3", null, "Enroll contacts"),
		    FF.field("Addresses to enroll (one a line)", { tag:
		    "textarea", name: "emails", rows: 4, autocomplete: "off",
		    spellcheck: "false" }),
		    h("p", { class: "hint" }, "Each must be a contact " +
		    "already; one enrolled already, opted out or " +
		    "suppressed is skipped, with the reason."), answer],
		    "Enroll", function (v) {
			var emails = v.emails.split(/[\s,;]+/).filter(Boolean);

			FF.note(answer, "");
			if (emails.length === 0)
				throw new Error("Type at least one address.");
			if (emails.length > ENROLL_MAX)
				throw new Error("At most " + ENROLL_MAX +
				    " addresses at once.");
			return FF.api("POST", "/v1/sequences/" + FF.enc(id) +
			    "/enroll", { emails: emails }).then(function (js) {
				var sk = (js.skipped || []).map(function (s) {
					return s.email + " (" + String(s.reason)
					    .replace(/_/g, " ") + ")";
				});

				FF.note(answer, js.enrolled + " enrolled." +
				    (sk.length ? " Skipped: " + sk.join(", ") +
				    "." : ""));
				return reload();
			});
		});
	}

	/* ------------------------------------------------------------ new */

	function create(el) {
		var steps = h("ol", { class: "seq-step-list" }), tpls, lists,
		    addBtn, listBox = FF.errorBox(), form;

		el.appendChild(FF.title("New sequence", h("a", { href:
		    "#/sequences" }, "\u2190 All sequences")));

		function renumber() {
			Array.prototype.forEach.call(steps.children,
			    function (li, i) {
				li.querySelector("h4").textContent = "Step " +
				    (i + 1);
				/* The first step has no previous step. */
				li.querySelector("select[name=if]").disabled =
				    i === 0;
				if (i === 0)
					li.querySelector("select[name=if]")
					    .value = "always";
				li.querySelector(".seq-remove").hidden =
				    steps.children.length === 1;
			});
			addBtn.disabled = steps.children.length >= STEPS_MAX;
		}

		function addStep() {
			var li = h("li", { class: "seq-step card" }, h("h4"),
			    FF.field("Template", { tag: "select", name:
			    "template_id" }, tpls.items.map(function (t) {
				return { value: t.id, label: t.name ||
				    "(unnamed) " + t.id };
			    })),
			    h("div", { class: "seq-delay" },
			    FF.field("Wait", { type: "number", name: "delay_n",
			    min: 0, value: steps.children.length ? "1" : "0",
			    inputmode: "numeric" }),
			    FF.field("Unit", { tag: "select", name: "delay_u" },
			    UNITS.map(function (u) {
				return { value: u.value, label: u.label,
				    selected: u.value === "d" };
			    }))),
			    FF.field("Send", { tag: "select", name: "if" },
			    CONDITIONS),
			    h("button", { type: "button", class:
			    "quiet danger seq-remove", on: { click:
			    function () {
				li.remove();
				renumber();
			    } } }, "Remove this step"));

			steps.appendChild(li);
			renumber();
			return li;
		}

		function collect(v) {
			var body = { name: v.name.trim(), from: v.from.trim(),
			    steps: [] };

			Array.prototype.forEach.call(steps.children,
			    function (li, i) {
				var n = li.querySelector("[name=delay_n]").value
				    .trim() || "0", st;

				if (!/^\d+$/.test(n))
					throw new Error("Step " + (i + 1) +
					    ": the wait is a whole number.");
				st = { template_id: li.querySelector(
				    "[name=template_id]").value, delay: n +
				    li.querySelector("[name=delay_u]").value };
				if (i > 0)
					st["if"] = li.querySelector("[name=if]")
					    .value;
				if (!st.template_id)
					throw new Error("Step " + (i + 1) +
					    ": choose a template (write one " +
					    "on the Templates screen first).");
				body.steps.push(st);
			    });
			if (v.trigger)
				body.trigger = { list_id: v.trigger };
			return body;
		}

		return Promise.all([names("/v1/templates"), names("/v1/lists")])
		    .then(function (r) {
			tpls = r[0];
			lists = r[1];
			if (lists.error)
				FF.showError(listBox, "The lists could not " +
				    "be read (" + lists.error + "); a " +
				    "sequence without a trigger can still " +
				    "be made.");
			addBtn = h("button", { type: "button", class: "quiet",
			    on: { click: function () {
				addStep().querySelector("select").focus();
			    } } }, "Add a step");
			form = FF.form({ class: "card", "aria-label":
			    "new sequence" }, [
			    FF.field("Name", { name: "name", autocomplete:
			    "off", required: true }),
			    FF.field("From", { name: "from", autocomplete:
			    "off", required: true, placeholder:
			    "Acme News <news@acme.example>" }),
			    h("p", { class: "hint" }, "\u201cName " +
			    "<address>\u201d or an address on one of your " +
			    "verified sending domains."),
			    FF.field("Trigger: enroll whoever joins the list",
			    { tag: "select", name: "trigger" }, [{ value: "",
			    label: "no trigger (enroll by hand)" }].concat(
			    lists.items.map(function (l) {
				return { value: l.id, label: l.name };
			    }))), listBox,
			    h("h3", null, "Steps"), steps,
			    h("div", { class: "actions" }, addBtn),
			    tpls.error ? h("p", { class: "error", role:
			    "alert" }, "The templates could not be read: " +
			    tpls.error) : null,
			    h("p", { class: "hint" }, "Each step waits its " +
			    "time after the step before (the first, after " +
			    "the enrollment). A new sequence is a draft: " +
			    "activate it to start sending.")],
			    "Create the sequence", function (v) {
				return FF.api("POST", "/v1/sequences",
				    collect(v)).then(function (js) {
					FF.go("sequences/" + js.id);
				});
			    });
			el.appendChild(form);
			addStep();
		});
	}

	FF.screen("sequences", { title: "Sequences", role: "read",
	    render: function (el, params) {
		if (params[0] === "new") {
			if (!FF.can("write")) {
				el.appendChild(FF.title("New sequence"));
				el.appendChild(h("p", { class: "error", role:
				    "alert" }, "Your role may not create " +
				    "sequences."));
				return null;
			}
			return create(el);
		}
		if (params[0])
			return show(el, params[0]);
		list(el);
		return null;
	} });
}());
