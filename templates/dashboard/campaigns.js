/*
 * campaigns.js: the campaigns screen.
 *
 *   #/campaigns        the list, newest first, paged in the page (GET
 *                      /v1/campaigns answers every campaign at once);
 *   #/campaigns/new    the form that creates one: template, list or
 *                      segment, sender, rate, tracking, a schedule
 *                      (send_at, or local_time + timezone) and an A/B
 *                      test of subject lines (write role);
 *   #/campaigns/ID     one campaign: status, live progress, figures, the
 *                      A/B card, the charts (chart.js), and for the
 *                      write role launch, pause, resume and cancel.
 *
 * The detail page is built once and then only its texts change on each
 * refresh (FF.every), so focus and the open dialog survive a refresh.
 * The element ids (c-status, fig-opens, chart-opens, ...) are what
 * tests/browser/dashboard.mjs and app/campaigns.mjs read.  Every name
 * shown is tenant input: FF.h sets it as text, never as markup.
 */
"use strict";

(function () {
	var h = FF.h;
	var PAGE = 25;			/* campaigns per page of the list */
	var REFRESH_MS = 2500;		/* live progress and figures */
	var QUIET_TICKS = 4;		/* a campaign not moving: 1 in 4 */
	var SUPPRESSED = ["opted_out", "blocklisted", "special_category",
	    "bounced", "erased", "complained"];
	/* What a refused call means, in words, beside the server's own. */
	var HINTS = {
		unverified_domain: "The From address is not on a verified " +
		    "sending domain of yours: verify its domain under " +
		    "Domains first, or use an address on a verified one.",
		invalid_ab: "The A/B test is not valid.",
		invalid_send_at: "The send time is not valid.",
		invalid_local_time: "The local time is not valid.",
		invalid_timezone: "That time zone is unknown to the server.",
		invalid_reference: "Choose a template and a list or a " +
		    "segment that exist.",
		invalid_from: "The From address is not valid.",
		invalid_reply_to: "The Reply-To address is not valid.",
		invalid_rate: "The rate must be a whole number of mails " +
		    "per second.",
		invalid_campaign: "The campaign cannot be sent as it is.",
		invalid_state: "The campaign's status does not allow that " +
		    "(it may have changed meanwhile).",
		forbidden_role: "Your role may not do this.",
		tenant_inactive: "This account is being deleted: nothing " +
		    "is sent any more."
	};

	/* The server's error with what it means put first. */
	function words(e) {
		if (e instanceof FF.ApiError && HINTS[e.code])
			return new FF.ApiError(e.status, e.code, HINTS[e.code] +
			    " " + e.message, e.detail);
		return e;
	}

	function path(id, rest) {
		return "/v1/campaigns/" + FF.enc(id) + (rest || "");
	}

	function pct(x) {
		return (Math.round(x * 1000) / 10) + "%";
	}

	function badge(status, id) {
		return h("span", { class: "badge " + status, id: id || null },
		    status);
	}

	/* ----------------------------------------------------- the list */

	function byNewest(a, b) {
		return Number(b.id) - Number(a.id);
	}

	function renderList(el) {
		var all = null, pager, tools = [];

		tools.push(h("button", { type: "button", class: "quiet", on: {
		    click: function () {
			pager.reload();
		    } } }, "Refresh"));
		if (FF.can("write"))
			tools.push(h("a", { href: "#/campaigns/new", class:
			    "button", id: "new-campaign" }, "New campaign"));
		el.appendChild(FF.title("Campaigns", h("div", { class:
		    "tools" }, tools)));
		/* The cursor is an offset into the list read at the first
		 * page: Previous and Next page through one reading of it. */
		pager = FF.pager(function (cursor) {
			var from = cursor === "" ? 0 : Number(cursor);
			var got = cursor === "" || all === null ?
			    FF.api("GET", "/v1/campaigns").then(function (js) {
				all = (js.items || []).slice().sort(byNewest);
				return all;
			    }) : Promise.resolve(all);

			return got.then(function (items) {
				return { items: items.slice(from, from + PAGE),
				    next_cursor: from + PAGE < items.length ?
				    String(from + PAGE) : null };
			});
		}, function (items) {
			return FF.table("Campaigns", [
				{ label: "#", get: function (c) {
					return c.id;
				} },
				{ label: "Name", get: function (c) {
					return h("a", { href: "#/campaigns/" +
					    FF.enc(c.id), "data-campaign": c.id },
					    c.name || "(unnamed)");
				} },
				{ label: "Status", get: function (c) {
					return badge(c.status);
				} },
				{ label: "Sent", num: true, get: function (c) {
					return c.progress.sent;
				} },
				{ label: "Total", num: true, get: function (c) {
					return c.progress.total;
				} },
				{ label: "Launched", get: function (c) {
					return FF.time(c.launched_at);
				} }
			], items, FF.can("write") ? "No campaign yet: " +
			    "create one with New campaign." : "No campaign yet.");
		});
		pager.id = "campaign-list";
		el.appendChild(pager);
	}

	/* ------------------------------------------------- the form */

	/* A radio button with its label after it. */
	function radio(label, name, value, checked) {
		var id = FF.uid("r");

		return h("div", { class: "field inline" }, h("input", {
		    type: "radio", id: id, name: name, value: value,
		    checked: checked }), h("label", { "for": id }, label));
	}

	function checkbox(label, name, checked) {
		var id = FF.uid("c");

		return h("div", { class: "field inline" }, h("input", {
		    type: "checkbox", id: id, name: name, checked: checked }),
		    h("label", { "for": id }, label));
	}

	function zones() {
		var all = [], here = FF.tz();

		try {
			all = Intl.supportedValuesOf("timeZone");
		} catch (e) {
			all = [];
		}
		if (all.indexOf(here) === -1)
			all = [here].concat(all);
		if (all.indexOf("UTC") === -1)
			all.push("UTC");
		return all.map(function (z) {
			return { value: z, label: z, selected: z === here };
		});
	}

	/* "2026-12-03T09:30" typed in the user's zone -> RFC 3339 in UTC.
	 * A date-time without an offset is local time to Date(). */
	function localToRfc3339(v) {
		var d = new Date(v);

		if (!v || isNaN(d.getTime()))
			return null;
		return d.toISOString().replace(/\.\d{3}Z$/, "Z");
	}

	function options(items, none) {
		return [{ value: "", label: none }].concat(items.map(
		    function (o) {
			return { value: o.id, label: (o.name || "(unnamed)") +
			    (o.members !== undefined ? " (" + o.members +
			    " members)" : "") };
		}));
	}

	/*
	 * The A/B part: 2 to 5 variants, each a subject line and, if
	 * chosen, a template of its own (it must track the same links as
	 * the campaign's: the server says so otherwise); the test share,
	 * the wait, the metric.
	 */
	function abPart(tpls) {
		var list = h("div", { id: "ab-variants" }), addBtn, delBtn;
		var letters = "ABCDE", box;

		function count() {
			return list.children.length;
		}
		function add() {
			var n = count();

			list.appendChild(h("div", { class: "grid2 variant" },
			    FF.field("Subject of variant " + letters[n],
			    { name: "ab_subject", maxlength: 998 }),
			    FF.field("Template of variant " + letters[n],
			    { tag: "select", name: "ab_template" },
			    options(tpls, "the campaign's template"))));
			sync();
		}
		function sync() {
			addBtn.disabled = count() >= 5;
			delBtn.disabled = count() <= 2;
		}
		addBtn = h("button", { type: "button", class: "quiet", on: {
		    click: add } }, "Add a variant");
		delBtn = h("button", { type: "button", class: "quiet", on: {
		    click: function () {
			list.removeChild(list.lastChild);
			sync();
		    } } }, "Remove the last variant");
		box = h("fieldset", { id: "ab-fields", hidden: true },
		    h("legend", null, "A/B test of the subject line"),
		    h("p", { class: "hint" }, "The test share is split among " +
		    "the variants; after the wait the variant with the best " +
		    "rate of unique human opens or clicks (machine hits " +
		    "excluded) goes to everyone else."),
		    list, h("div", { class: "actions" }, addBtn, delBtn),
		    h("div", { class: "grid3" },
		    FF.field("Test share (% of recipients)", { type: "number",
		    name: "ab_share", min: 1, max: 100, step: 1, value: "20" }),
		    FF.field("Wait before choosing", { type: "number",
		    name: "ab_wait", min: 1, step: 1, value: "4" }),
		    FF.field("Unit of the wait", { tag: "select",
		    name: "ab_unit" }, [{ value: "m", label: "minutes" },
		    { value: "h", label: "hours", selected: true },
		    { value: "d", label: "days" }]),
		    FF.field("Winner by", { tag: "select", name: "ab_metric" },
		    [{ value: "opens", label: "unique human opens" },
		    { value: "clicks", label: "unique human clicks" }])));
		add();
		add();
		return box;
	}

	function abBody(form, v) {
		var variants = Array.prototype.map.call(form.querySelectorAll(
		    "#ab-variants .variant"), function (d) {
			var o = { subject: d.querySelector(
			    "input[name=ab_subject]").value }, t =
			    d.querySelector("select[name=ab_template]").value;

			if (t)
				o.template_id = t;
			return o;
		});

		return { variants: variants, test_fraction:
		    Number(v.ab_share) / 100, metric: v.ab_metric,
		    wait: String(v.ab_wait).trim() + v.ab_unit };
	}

	function campaignBody(form, v) {
		var when = form.querySelector("input[name=when]:checked").value;
		var body = { name: v.name.trim(), template_id: v.template_id,
		    from: v.from.trim(), track_opens: v.track_opens,
		    track_clicks: v.track_clicks }, at;

		if (v.list_id)
			body.list_id = v.list_id;
		if (v.segment_id)
			body.segment_id = v.segment_id;
		if (v.reply_to.trim())
			body.reply_to = v.reply_to.trim();
		if (String(v.rate).trim())
			body.rate_per_second = Number(v.rate);
		if (when === "at") {
			if ((at = localToRfc3339(v.send_at)) === null)
				throw new Error("Choose the date and time to " +
				    "send at.");
			body.send_at = at;
		} else if (when === "local") {
			body.local_time = v.local_time;
			body.timezone = v.timezone;
		}
		if (v.ab)
			body.ab = abBody(form, v);
		return body;
	}

	function renderNew(el) {
		var box = FF.errorBox(), lists = [], tpls = [], segs = [];

		el.appendChild(FF.title("New campaign", h("a", { href:
		    "#/campaigns", class: "back" }, "\u2190 All campaigns")));
		if (!FF.can("write")) {
			el.appendChild(h("p", { class: "error", role: "alert" },
			    "Your role (" + FF.session().role + ") may not " +
			    "create campaigns."));
			return;
		}
		el.appendChild(box);
		/* Each listing on its own: one failing leaves the others. */
		function get(p, into) {
			return FF.api("GET", p).then(function (js) {
				(js.items || []).forEach(function (i) {
					into.push(i);
				});
			}).catch(function (e) {
				box.appendChild(h("span", { class: "line" },
				    p + ": " + e.toString() + ". "));
			});
		}
		return Promise.all([get("/v1/templates", tpls),
		    get("/v1/lists", lists), get("/v1/segments", segs)])
		    .then(function () {
			el.appendChild(newForm(tpls, lists, segs));
		});
	}

	function newForm(tpls, lists, segs) {
		var form, at, local, ab;

		at = h("div", { id: "when-at", hidden: true },
		    FF.field("Send at (your time zone, " + FF.tz() + ")",
		    { type: "datetime-local", name: "send_at" }));
		local = h("div", { id: "when-local", class: "grid2",
		    hidden: true },
		    FF.field("Local time of each recipient", { type: "time",
		    name: "local_time", value: "09:00" }),
		    FF.field("Time zone of contacts without their own",
		    { tag: "select", name: "timezone" }, zones()));
		ab = abPart(tpls);
		form = FF.form({ id: "campaign-form", class: "card stack",
		    "aria-label": "new campaign" }, [
			FF.field("Name", { name: "name", required: true,
			    maxlength: 200, autocomplete: "off" }),
			FF.field("Template", { tag: "select", name:
			    "template_id", required: true }, options(tpls,
			    "\u2014 choose a template \u2014")),
			h("div", { class: "grid2" },
			FF.field("List", { tag: "select", name: "list_id" },
			    options(lists, "\u2014 no list \u2014")),
			FF.field("Segment", { tag: "select", name:
			    "segment_id" }, options(segs,
			    "\u2014 no segment \u2014"))),
			h("p", { class: "hint" }, "Choose a list, a segment or "
			    + "both (a segment given a list is taken within "
			    + "it)."),
			h("div", { class: "grid2" },
			FF.field("From", { name: "from", required: true,
			    placeholder: "News <news@example.com>",
			    autocomplete: "off" }),
			FF.field("Reply-To (optional)", { name: "reply_to",
			    autocomplete: "off" })),
			FF.field("Rate (mails per second, empty: no limit)",
			    { type: "number", name: "rate", min: 1, step: 1 }),
			h("fieldset", null, h("legend", null, "Tracking"),
			    checkbox("Track opens (an invisible pixel)",
			    "track_opens", true),
			    checkbox("Track clicks (links go through this " +
			    "server)", "track_clicks", true)),
			h("fieldset", { id: "when" }, h("legend", null,
			    "When"),
			    radio("When I launch it", "when", "now", true),
			    radio("At a date and time", "when", "at", false),
			    radio("At a time of day in each recipient's own " +
			    "time zone", "when", "local", false), at, local,
			    h("p", { class: "hint" }, "A scheduled campaign " +
			    "still has to be launched: it then waits, " +
			    "\u201cscheduled\u201d, until its time.")),
			checkbox("A/B test the subject line", "ab", false),
			ab
		], "Create campaign", function (v, f) {
			return FF.api("POST", "/v1/campaigns",
			    campaignBody(f, v)).then(function (js) {
				FF.go("campaigns/" + js.id);
			}).catch(function (e) {
				throw words(e);
			});
		});
		form.addEventListener("change", function (ev) {
			var t = ev.target;

			if (t.name === "when") {
				at.hidden = t.value !== "at";
				local.hidden = t.value !== "local";
			} else if (t.name === "ab")
				ab.hidden = !t.checked;
		});
		return form;
	}

	/* ---------------------------------------------- one campaign */

	function figure(label, id, sub) {
		return h("div", { class: "figure" }, h("span", { class:
		    "label" }, label), h("span", { class: "value", id: id },
		    "0"), sub ? h("span", { class: "sub", id: sub }) : null);
	}

	function chartCard(title, id) {
		return h("section", { class: "card chart", "aria-label":
		    title }, h("h3", null, title), h("div", { id: id }));
	}

	function chooseStep(v, c) {
		var since;

		if (v !== "auto")
			return v;
		since = Date.parse(c.launched_at || "") || Date.now();
		return Date.now() - since > 86400000 ? "hour" : "minute";
	}

	function meta(c, names) {
		var parts = ["#" + c.id, "from " + (c.from || "")];

		if (names.template)
			parts.push("template \u201c" + names.template + "\u201d");
		if (names.list)
			parts.push("list \u201c" + names.list + "\u201d");
		if (c.segment_id)
			parts.push("segment #" + c.segment_id);
		if (c.rate_per_second)
			parts.push(c.rate_per_second + " a second at most");
		if (c.track_opens === false)
			parts.push("opens not tracked");
		if (c.track_clicks === false)
			parts.push("clicks not tracked");
		if (c.launched_at)
			parts.push("launched " + FF.time(c.launched_at));
		if (c.finished_at)
			parts.push("finished " + FF.time(c.finished_at));
		return parts.join(" \u00b7 ");
	}

	/* When it goes, in the user's zone (send_at) or the recipients'. */
	function whenText(c) {
		if (c.local_time)
			return "Each recipient at " + c.local_time + " in their " +
			    "own time zone (" + (c.timezone || "UTC") + " for " +
			    "contacts without one)" + (c.send_at ? ", from " +
			    FF.time(c.send_at) : "") + ".";
		if (c.send_at)
			return (c.status === "scheduled" || c.status ===
			    "draft" || c.status === "paused" && !c.launched_at ?
			    "Sends at " : "Was due at ") + FF.time(c.send_at) +
			    " (" + FF.tz() + ").";
		return "";
	}

	function renderAB(card, c) {
		var ab = c.ab, tbl;

		card.hidden = !ab;
		if (!ab)
			return;
		card.textContent = "";
		tbl = FF.table("A/B test variants", [
			{ label: "Variant", get: function (v) {
				return v.variant + (ab.winner === v.variant ?
				    " \u2605 winner" : "");
			} },
			{ label: "Subject", get: function (v) {
				return v.subject;
			} },
			{ label: "Sent", num: true, get: function (v) {
				return v.sent;
			} },
			{ label: "Human opens", num: true, get: function (v) {
				return v.opens;
			} },
			{ label: "Open rate", num: true, get: function (v) {
				return pct(v.open_rate);
			} },
			{ label: "Human clicks", num: true, get: function (v) {
				return v.clicks;
			} },
			{ label: "Click rate", num: true, get: function (v) {
				return pct(v.click_rate);
			} }
		], ab.variants);
		tbl.querySelector("table").id = "ab-table";
		tbl.querySelector("table").className = "ab";
		Array.prototype.forEach.call(tbl.querySelectorAll("tbody tr"),
		    function (tr, i) {
			if (ab.winner === ab.variants[i].variant)
				tr.className = "winner";
		});
		card.appendChild(h("h3", null, "A/B test"));
		card.appendChild(tbl);
		card.appendChild(h("p", { class: "hint", id: "ab-note" },
		    "Winner by unique human " + ab.metric + " (machine hits " +
		    "excluded), test share " + pct(ab.test_fraction) +
		    ", wait " + ab.wait + " \u00b7 " + (ab.winner ?
		    "winner: variant " + ab.winner + ", chosen " +
		    FF.time(ab.decided_at) : ab.decide_at ? "chosen at " +
		    FF.time(ab.decide_at) : "the wait starts at the launch")));
	}

	function renderDetail(el, id) {
		var names = {}, c = null, busy = false, again = false;
		var shown = null, e = {}, actions, actBox = FF.errorBox();
		var stepField, stepSel, view, ticks = 0;

		function $(k) {
			return e[k];
		}

		/* The buttons the status allows; rebuilt when it changes. */
		function buttons() {
			var s = c.status, out = [];

			actions.textContent = "";
			if (!FF.can("write"))
				return;
			if (s === "draft")
				out.push(FF.button("Launch", { id: "launch" },
				    actBox, launch));
			if (s === "sending" || s === "scheduled")
				out.push(FF.button("Pause", { id: "pause",
				    class: "quiet" }, actBox, function () {
					return act("pause");
				}));
			if (s === "paused")
				out.push(FF.button("Resume", { id: "resume" },
				    actBox, function () {
					return act("resume");
				}));
			if (s === "draft" || s === "sending" || s === "paused" ||
			    s === "scheduled")
				out.push(FF.button("Cancel the campaign", {
				    id: "cancel", class: "quiet danger" }, actBox,
				    cancel));
			out.forEach(function (b) {
				actions.appendChild(b);
			});
		}

		function act(verb) {
			return FF.api("POST", path(id, "/" + verb)).then(refresh,
			    function (err) {
				throw words(err);
			});
		}

		function launch() {
			var who = names.members !== undefined ? " It goes to " +
			    "the list's " + names.members + " member" +
			    (names.members === 1 ? "" : "s") : " It goes to " +
			    "its audience", when = c.send_at &&
			    Date.parse(c.send_at) > Date.now() ? " at " +
			    FF.time(c.send_at) : " now";

			return FF.confirm("Launch \u201c" + (c.name || "") +
			    "\u201d?" + who + when + " (opted-out, blocklisted " +
			    "and bounced addresses are skipped).", "Launch")
			    .then(function (yes) {
				return yes ? act("launch") : null;
			});
		}

		function cancel() {
			return FF.confirm("Cancel \u201c" + (c.name || "") +
			    "\u201d for good? Nothing more is sent; a " +
			    "cancelled campaign cannot be resumed.",
			    "Yes, cancel it").then(function (yes) {
				return yes ? act("cancel") : null;
			});
		}

		function show(st, ts) {
			var p = c.progress, sup = p.suppressed, nsup = 0, total,
			    bar = $("progress");

			SUPPRESSED.forEach(function (k) {
				nsup += sup[k] || 0;
			});
			$("name").textContent = c.name || "(unnamed)";
			$("status").textContent = c.status;
			$("status").className = "badge " + c.status;
			$("meta").textContent = meta(c, names);
			$("when").textContent = whenText(c);
			total = Math.max(p.total, 1);
			$("sent").style.width = (p.sent / total * 100) + "%";
			$("failed").style.width = (p.failed / total * 100) + "%";
			$("suppressed").style.width = (nsup / total * 100) + "%";
			bar.setAttribute("aria-valuemax", String(p.total));
			bar.setAttribute("aria-valuenow", String(p.sent));
			bar.setAttribute("aria-valuetext", p.sent + " of " +
			    p.total + " sent");
			$("ptext").textContent = p.sent + " sent of " + p.total +
			    " \u00b7 " + p.queued + " queued \u00b7 " + p.failed +
			    " failed \u00b7 " + p.deferred + " deferred \u00b7 " +
			    nsup + " suppressed";
			if (shown !== c.status) {
				shown = c.status;
				buttons();
			}
			renderAB($("ab"), c);
			figures(st);
			charts(st, ts, sup);
			$("updated").textContent = "updated " +
			    new Date().toLocaleTimeString() + " (by " +
			    ts.step + ")";
		}

		function figures(s) {
			var set = function (k, v) {
				document.getElementById(k).textContent =
				    String(v);
			};

			set("fig-sent", s.sent);
			set("fig-opens", s.opens.total);
			set("fig-opens-sub", s.opens.unique + " unique");
			set("fig-clicks", s.clicks.total);
			set("fig-clicks-sub", s.clicks.unique + " unique");
			set("fig-opens-machine", s.opens.machine);
			set("fig-clicks-machine", s.clicks.machine);
			set("fig-unsubscribes", s.unsubscribes);
			set("fig-bounces", s.bounces ? s.bounces.hard :
			    s.bounced);
			set("fig-bounces-sub", (s.bounces ? s.bounces.soft : 0) +
			    " soft");
			set("fig-complaints", s.complaints || 0);
		}

		function charts(s, ts, sup) {
			var g = function (k) {
				return document.getElementById(k);
			};

			FanfareChart.time(g("chart-opens"), ts.points, [
				{ key: "opens", label: "human", cls: "human" },
				{ key: "opens_machine", label: "machine",
				    cls: "machine" }
			], "Opens over time");
			FanfareChart.time(g("chart-clicks"), ts.points, [
				{ key: "clicks", label: "human", cls: "human" },
				{ key: "clicks_machine", label: "machine",
				    cls: "machine" }
			], "Clicks over time");
			FanfareChart.bars(g("chart-links"), s.clicks.by_link.map(
			    function (l) {
				return { label: l.url.replace(/^https?:\/\//,
				    ""), value: l.total, extra: "(" + l.unique +
				    " unique)" };
			}), { empty: "no tracked link", title:
			    "Clicks per link" });
			FanfareChart.bars(g("chart-countries"), Object.keys(
			    s.by_country).map(function (cc) {
				return { label: cc, value: s.by_country[cc] };
			}), { empty: "no country known (no GeoIP database, " +
			    "or no hit)", title: "Opens and clicks by country" });
			FanfareChart.bars(g("chart-suppressed"), Object.keys(sup)
			    .map(function (r) {
				return { label: r.replace(/_/g, " "),
				    value: sup[r] };
			}).filter(function (i) {
				return i.value > 0;
			}), { empty: "nobody suppressed", cls: "warn", title:
			    "Suppressed, by reason" });
		}

		/* The campaign, then its figures; one refresh at a time (one
		 * asked for meanwhile, after an action, runs when it ends). */
		function refresh() {
			if (busy) {
				again = true;
				return Promise.resolve();
			}
			busy = true;
			again = false;
			return FF.api("GET", path(id)).then(function (js) {
				c = js;
				return Promise.all([FF.api("GET", path(id,
				    "/stats")), FF.api("GET", path(id,
				    "/timeseries?step=" + chooseStep(stepSel
				    .value, c)))]);
			}).then(function (r) {
				if (!view.isConnected)
					return;		/* left meanwhile */
				FF.showError(e.loadBox, null);
				show(r[0], r[1]);
			}).catch(function (err) {
				FF.showError(e.loadBox, err);
			}).then(function () {
				busy = false;
				if (again)
					return refresh();
			});
		}

		/* The names of its template and list, once: text only. */
		function lookNames() {
			return Promise.all([c.template_id ? FF.api("GET",
			    "/v1/templates/" + FF.enc(c.template_id)).then(
			    function (t) {
				names.template = t.name;
			}) : null, c.list_id ? FF.api("GET", "/v1/lists/" +
			    FF.enc(c.list_id)).then(function (l) {
				names.list = l.name;
				names.members = l.members;
			}) : null]).catch(function () {
				return null;	/* the ids are shown instead */
			});
		}

		return FF.api("GET", path(id)).then(function (js) {
			c = js;
			return lookNames();
		}).then(function () {
			stepField = FF.field("Chart step", { tag: "select" },
			    [{ value: "auto", label: "auto" },
			    { value: "minute", label: "a minute" },
			    { value: "hour", label: "an hour" }]);
			e.name = h("span", { id: "c-name" }, c.name ||
			    "(unnamed)");
			e.status = badge(c.status, "c-status");
			e.meta = h("p", { class: "hint", id: "c-meta" });
			e.when = h("p", { id: "c-when" });
			e.sent = h("div", { class: "fill sent",
			    id: "progress-sent" });
			e.failed = h("div", { class: "fill failed",
			    id: "progress-failed" });
			e.suppressed = h("div", { class: "fill suppressed",
			    id: "progress-suppressed" });
			e.progress = h("div", { class: "progress", id:
			    "progress", role: "progressbar", "aria-label":
			    "sent", "aria-valuemin": "0" }, e.sent, e.failed,
			    e.suppressed);
			e.ptext = h("p", { id: "progress-text" });
			e.ab = h("section", { class: "card", id: "ab-card",
			    "aria-label": "A/B test", hidden: true });
			e.updated = h("span", { class: "hint", id: "updated" });
			e.loadBox = FF.errorBox();
			actions = h("div", { class: "actions", id:
			    "campaign-actions" });
			view = h("div", { class: "campaign" },
			    FF.title(e.name, h("a", { href: "#/campaigns",
			    class: "back" }, "\u2190 All campaigns")),
			    h("section", { class: "card", "aria-label":
			    "status and progress" },
			    h("div", { class: "title" }, e.status, e.meta),
			    e.when, e.progress, e.ptext, actions, actBox),
			    e.loadBox,
			    h("div", { class: "figures", id: "figures" },
			    figure("Sent", "fig-sent"),
			    figure("Opens", "fig-opens", "fig-opens-sub"),
			    figure("Clicks", "fig-clicks", "fig-clicks-sub"),
			    figure("Machine opens", "fig-opens-machine"),
			    figure("Machine clicks", "fig-clicks-machine"),
			    figure("Unsubscribes", "fig-unsubscribes"),
			    figure("Bounces", "fig-bounces", "fig-bounces-sub"),
			    figure("Complaints", "fig-complaints")),
			    e.ab,
			    h("div", { class: "toolbar chart-tools" }, stepField,
			    e.updated),
			    h("div", { class: "charts" },
			    chartCard("Opens over time", "chart-opens"),
			    chartCard("Clicks over time", "chart-clicks"),
			    chartCard("Clicks per link", "chart-links"),
			    chartCard("Countries", "chart-countries"),
			    chartCard("Suppressed, by reason",
			    "chart-suppressed")));
			stepSel = stepField.querySelector("select");
			stepSel.addEventListener("change", refresh);
			el.appendChild(view);
			buttons();
			shown = c.status;
			/* Sending, scheduled or paused: every tick; else (a
			 * draft, or done with its opens and clicks still
			 * coming) every QUIET_TICKS-th. */
			FF.every(REFRESH_MS, function () {
				var live = c.status === "sending" || c.status ===
				    "scheduled" || c.status === "paused";

				if (live || ++ticks % QUIET_TICKS === 0)
					refresh();
			});
			return refresh();
		});
	}

	FF.screen("campaigns", { title: "Campaigns", role: "read",
	    render: function (el, params) {
		if (params[0] === "new")
			return renderNew(el);
		if (params[0])
			return renderDetail(el, params[0]);
		return renderList(el);
	} });
}());
