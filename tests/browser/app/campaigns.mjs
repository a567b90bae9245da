// app/campaigns.mjs: the campaigns screen (templates/dashboard/campaigns.js),
// run by tests/browser/app.mjs (see it for t).
//
// The owner creates a campaign in the form (its template and list, made
// here through the API so the module runs alone, chosen in the selects),
// launches it, watches the live progress reach done, opens one captured
// mail (FF_MAIL_DIR) in a new page of the same browser: its pixel loads,
// its first link (to the app itself: nothing leaves the machine) is
// clicked; the campaign's figures and charts show the open and the
// click.  Then a campaign scheduled at a time typed in another time zone
// (the page's zone set to Asia/Kolkata), paused, resumed and cancelled;
// one at a local time of day; an A/B test, first refused in words, then
// created.  The viewer sees the campaigns and a draft's figures with no
// button that acts, and a launch forged with its session is refused 403.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { mailFor, mailPart } from "./lib.mjs";

// FF.api in the page: the session cookie and the CSRF token go along.
async function api(t, method, p, body) {
	return t.page.evaluate(([m, p, b]) => FF.api(m, p, b === null ?
	    undefined : b).then((js) => ({ ok: true, js }), (e) => ({
	    ok: false, status: e.status, code: e.code, message: e.message })),
	    [method, p, body ?? null]);
}

async function must(t, method, p, body) {
	const r = await api(t, method, p, body);
	if (!r.ok)
		throw new Error(`${method} ${p}: ${r.status} ${r.code} ` +
		    r.message);
	return r.js;
}

// The figures and the charts' own totals (their data-* attributes).
const readFigures = (page) => page.evaluate(() => {
	const num = (id) => Number(document.getElementById(id).textContent);
	const data = (id, k) => Number(document.querySelector(`#${id} svg`)
	    ?.getAttribute("data-" + k) ?? NaN);
	return {
		sent: num("fig-sent"), opens: num("fig-opens"),
		clicks: num("fig-clicks"),
		opens_machine: num("fig-opens-machine"),
		clicks_machine: num("fig-clicks-machine"),
		chart_opens: data("chart-opens", "opens"),
		chart_clicks: data("chart-clicks", "clicks"),
		chart_links: data("chart-links", "total"),
		status: document.getElementById("c-status").textContent,
	};
});

async function status(page, want, ms = 30000) {
	await page.waitForFunction((w) => document.getElementById("c-status")
	    ?.textContent === w, want, { timeout: ms });
}

async function campaignId(page) {
	// The page drawn from its data (the status's text), not only built.
	await page.waitForFunction(() => /^#\/campaigns\/\d+$/.test(
	    location.hash) && document.getElementById("c-status")
	    ?.textContent, null, { timeout: 15000 });
	return page.evaluate(() => location.hash.split("/")[2]);
}

// The form's common part: name, template, list, sender.
async function fillBasics(t, name, o, go = true) {
	const { page } = t;
	if (go)
		await t.go("campaigns/new");
	await page.waitForSelector("#campaign-form");
	await page.getByLabel("Name", { exact: true }).fill(name);
	await page.getByLabel("Template", { exact: true }).selectOption(o.tpl);
	await page.getByLabel("List", { exact: true }).selectOption(o.list);
	if (o.segment)
		await page.getByLabel("Segment", { exact: true })
		    .selectOption(o.segment);
	await page.getByLabel("From", { exact: true }).fill(o.from);
}

// Whether the list shows text (a name, exactly) on some page: Next
// until it is there or there is no next page.
async function onSomePage(page, text) {
	const next = page.getByRole("button", { name: /Next/ });
	for (let i = 0; i < 20; i++) {
		if (await page.locator("#campaign-list tbody").getByText(text,
		    { exact: true }).count() > 0)
			return true;
		if (await next.isDisabled())
			return false;
		const first = await page.locator("#campaign-list tbody td")
		    .first().textContent();
		await next.click();
		await page.waitForFunction((f) => document.querySelector(
		    "#campaign-list tbody td")?.textContent !== f, first);
	}
	return false;
}

async function confirmDialog(page, label) {
	const d = page.locator("dialog[open]");
	await d.waitFor({ timeout: 5000 });
	await d.getByRole("button", { name: label, exact: true }).click();
}

export async function owner(t) {
	const { page, check } = t;
	const tag = Date.now().toString(36);
	const from = t.env.FF_FROM || "Acme News <news@acme.test>";
	const people = ["ann", "bob"].map((n) => `camp-${n}-${tag}@app.test`);

	// What the campaign needs, through the API: two contacts, a list,
	// a template whose link leads back to the app.
	await must(t, "POST", "/v1/contacts", people.map((email, i) => ({
	    email, first_name: i ? "Bob" : "Ann" })));
	const list = await must(t, "POST", "/v1/lists",
	    { name: "Campaign readers " + tag });
	await must(t, "POST", `/v1/lists/${list.id}/members`,
	    { emails: people });
	const tpl = await must(t, "POST", "/v1/templates", {
	    name: "Campaign news " + tag, subject: "News for {{first_name}}",
	    html: "<html><body><h1>Hello {{first_name}}</h1><p>Our news." +
	    `</p><p><a href="${t.app}">Read it on the site</a></p>` +
	    "</body></html>", text: "Hello {{first_name}}\n" });
	const o = { tpl: tpl.id, list: list.id, from };
	// Another wording with the same link, for an A/B variant.
	const tpl2 = await must(t, "POST", "/v1/templates", {
	    name: "Campaign news B " + tag, subject: "News",
	    html: "<html><body><p>Our news, told otherwise.</p>" +
	    `<p><a href="${t.app}">See it</a></p></body></html>`,
	    text: "News\n" });

	// 1. The list: the seeded payload name as text.
	await t.go("campaigns");
	await page.waitForSelector("#campaign-list [data-campaign]");
	check(await onSomePage(page, t.xss[1]),
	    "owner campaigns: the seeded campaign's injected name is listed " +
	    "as text");
	check(await page.getByRole("link", { name: "New campaign" })
	    .count() === 1, "owner campaigns: a New campaign link");
	await t.screen("campaigns");

	// 2. The form: the template and the list chosen in selects.
	await page.getByRole("link", { name: "New campaign" }).click();
	await page.waitForSelector("#campaign-form");
	const opts = await page.getByLabel("Template", { exact: true })
	    .locator("option").allTextContents();
	check(opts.includes(t.xss[0]) && opts.includes("Campaign news " + tag),
	    "owner campaigns: the template select lists the templates " +
	    "(the injected name as text)", opts);
	await fillBasics(t, "Spring news " + tag, o, false);
	await t.screen("campaigns-new");
	await page.getByRole("button", { name: "Create campaign" }).click();
	const cid = await campaignId(page);
	let c = await must(t, "GET", `/v1/campaigns/${cid}`);
	check(c.status === "draft" && c.template_id === tpl.id &&
	    c.list_id === list.id && c.from === from && c.name ===
	    "Spring news " + tag, "owner campaigns: the form creates the " +
	    "draft with the chosen template, list and sender", c);
	check(await page.textContent("#c-name") === "Spring news " + tag &&
	    await page.textContent("#c-status") === "draft",
	    "owner campaigns: its page shows its name and draft status");

	// 3. Launch (behind a confirmation), live progress to done.
	await page.getByRole("button", { name: "Launch", exact: true })
	    .click();
	await confirmDialog(page, "Launch");
	await status(page, "done");
	c = await must(t, "GET", `/v1/campaigns/${cid}`);
	const ptext = await page.textContent("#progress-text");
	check(c.status === "done" && c.progress.sent === 2 &&
	    ptext.startsWith("2 sent of 2"), "owner campaigns: the page, " +
	    "polling by itself, shows the launch go to done: " + ptext, c);
	check(await page.locator("#campaign-actions button").count() === 0,
	    "owner campaigns: a done campaign offers no action");
	const before = await readFigures(page);

	// 4. A reader opens the mail: its pixel, then its first link.
	const raw = await mailFor(t.env.FF_MAIL_DIR, people[0], page);
	const html = raw && mailPart(raw, "text/html");
	check(html && html.includes("/o/") && html.includes("/c/"),
	    "owner campaigns: the captured mail has an HTML part with the " +
	    "pixel and a tracked link", raw && raw.slice(0, 2000));
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ff-mail-"));
	const file = path.join(tmp, "mail.html");
	fs.writeFileSync(file, html || "");
	const mail = await t.context.newPage();
	try {
		await mail.goto("file://" + file, { waitUntil: "load" });
		const pixel = await mail.evaluate(() => {
			const img = [...document.images].find((i) =>
			    i.src.includes("/o/"));
			return img ? [img.complete, img.naturalWidth,
			    img.naturalHeight] : null;
		});
		check(pixel && pixel[0] && pixel[1] === 1 && pixel[2] === 1,
		    "owner campaigns: the mail's pixel loads (1x1)", pixel);
		const link = mail.locator('a[href*="/c/"]').first();
		await Promise.all([mail.waitForURL((u) =>
		    !u.href.includes("/c/"), { timeout: 10000 }),
		    link.click()]);
		check(mail.url().startsWith(t.app), "owner campaigns: its " +
		    "link redirects to the app: " + mail.url());
	} finally {
		await mail.close();
		fs.rmSync(tmp, { recursive: true, force: true });
	}

	// 5. The open and the click on the figures and the charts.
	await page.bringToFront();
	let after = before;
	const want = (f) => f.opens === before.opens + 1 &&
	    f.clicks === before.clicks + 1 && f.chart_opens ===
	    before.chart_opens + 1 && f.chart_clicks === before.chart_clicks
	    + 1 && f.chart_links === before.chart_links + 1;
	for (let i = 0; i < 60 && !want(after); i++) {
		await page.waitForTimeout(500);
		after = await readFigures(page);
	}
	check(want(after) && after.opens_machine === before.opens_machine &&
	    after.clicks_machine === before.clicks_machine,
	    "owner campaigns: the figures, the charts over time and the " +
	    "per-link chart show the open and the click (human)",
	    { before, after });
	const st = await must(t, "GET", `/v1/campaigns/${cid}/stats`);
	check(st.opens.total === after.opens && st.clicks.total ===
	    after.clicks && st.clicks.by_link[0]?.total === after.chart_links,
	    "owner campaigns: the stats API agrees with the page", st);
	await t.screen("campaign-detail");

	// 6. A schedule typed in the user's zone (Asia/Kolkata, +05:30 all
	// year) is sent as UTC; the page shows it back in local time.
	const cdp = await t.context.newCDPSession(page);
	await cdp.send("Emulation.setTimezoneOverride",
	    { timezoneId: "Asia/Kolkata" });
	try {
		await fillBasics(t, "Scheduled " + tag, o);
		await page.getByLabel("At a date and time").check();
		await page.getByLabel(/^Send at/).fill("2031-03-01T09:30");
		await page.getByRole("button", { name: "Create campaign" })
		    .click();
		const sid = await campaignId(page);
		c = await must(t, "GET", `/v1/campaigns/${sid}`);
		check(Date.parse(c.send_at) === Date.parse(
		    "2031-03-01T04:00:00Z"), "owner campaigns: 09:30 typed " +
		    "in Asia/Kolkata is sent as send_at 04:00 UTC", c);
		await page.getByRole("button", { name: "Launch",
		    exact: true }).click();
		await confirmDialog(page, "Launch");
		await status(page, "scheduled", 10000);
		const when = await page.textContent("#c-when");
		c = await must(t, "GET", `/v1/campaigns/${sid}`);
		check(c.status === "scheduled" && /9:30/.test(when) &&
		    when.includes("2031"), "owner campaigns: launched, it " +
		    "shows as scheduled at its local time: " + when, c);
		await page.getByRole("button", { name: "Pause" }).click();
		await status(page, "paused", 10000);
		await page.getByRole("button", { name: "Resume" }).click();
		await status(page, "scheduled", 10000);
		await page.getByRole("button", { name: "Cancel the campaign" })
		    .click();
		await confirmDialog(page, "Yes, cancel it");
		await status(page, "cancelled", 10000);
		c = await must(t, "GET", `/v1/campaigns/${sid}`);
		check(c.status === "cancelled", "owner campaigns: pause, " +
		    "resume and cancel (confirmed) move it through paused " +
		    "and scheduled to cancelled", c);
	} finally {
		await cdp.send("Emulation.setTimezoneOverride",
		    { timezoneId: "" }).catch(() => null);
		await cdp.detach().catch(() => null);
	}

	// 7. At a time of day in each recipient's zone.
	await fillBasics(t, "Morning " + tag, o);
	await page.getByLabel(/^At a time of day/).check();
	await page.getByLabel("Local time of each recipient").fill("07:45");
	await page.getByLabel(/^Time zone of contacts/)
	    .selectOption("America/New_York");
	await page.getByRole("button", { name: "Create campaign" }).click();
	const lid = await campaignId(page);
	c = await must(t, "GET", `/v1/campaigns/${lid}`);
	// The page fills #c-when once its own GET answers (slower under
	// the sanitizers): wait for it, then read.
	await page.waitForFunction(() => /07:45/.test(document
	    .getElementById("c-when")?.textContent ?? ""), null,
	    { timeout: 15000 }).catch(() => null);
	const lwhen = await page.textContent("#c-when");
	check(c.local_time === "07:45" && c.timezone === "America/New_York" &&
	    lwhen.includes("07:45") && lwhen.includes("America/New_York"),
	    "owner campaigns: a local time of day and a zone reach the API " +
	    "and show: " + lwhen, c);

	// 8. An A/B test: a missing subject refused in words, then made.
	await fillBasics(t, "Subjects " + tag, o);
	await page.getByLabel("A/B test the subject line").check();
	await page.getByLabel("Subject of variant A").fill("Spring A");
	await page.getByRole("button", { name: "Create campaign" }).click();
	const err = page.locator("#campaign-form p.error");
	await page.waitForFunction(() => document.querySelector(
	    "#campaign-form p.error")?.textContent !== "", null,
	    { timeout: 10000 });
	const etext = await err.textContent();
	check(/A\/B test is not valid/.test(etext) && etext.includes(
	    "invalid_ab"), "owner campaigns: an A/B test with an empty " +
	    "subject: the API's 422 in words under the form: " + etext);
	await t.screen("campaigns-new-ab");
	await page.getByLabel("Subject of variant B").fill("Spring B");
	await page.getByLabel("Template of variant B").selectOption(tpl2.id);
	await page.getByLabel("Test share (% of recipients)").fill("50");
	await page.getByLabel("Wait before choosing").fill("2");
	await page.getByLabel("Winner by").selectOption("clicks");
	await page.getByRole("button", { name: "Create campaign" }).click();
	const aid = await campaignId(page);
	c = await must(t, "GET", `/v1/campaigns/${aid}`);
	check(c.ab && c.ab.variants.map((v) => v.subject).join("|") ===
	    "Spring A|Spring B" && !c.ab.variants[0].template_id &&
	    c.ab.variants[1].template_id === tpl2.id &&
	    c.ab.test_fraction === 0.5 &&
	    c.ab.wait === "2h" && c.ab.metric === "clicks",
	    "owner campaigns: the A/B form's variants (subjects, one's own " +
	    "template), share, wait and metric reach the API", c);
	await page.waitForSelector("#ab-card:not([hidden])");
	const abText = await page.textContent("#ab-card");
	check(abText.includes("Spring A") && abText.includes("Spring B") &&
	    abText.includes("clicks"), "owner campaigns: the A/B card " +
	    "shows the variants", abText);
	t.state.campaigns = { done: cid, draft: aid };

	// 9. A launch the API refuses: the words beside the Launch button.
	// An A/B test cannot go to a segment (its size is known only at
	// the end of its snapshot): 422 invalid_ab at launch.
	const seg = await must(t, "POST", "/v1/segments", { name:
	    "Campaign readers " + tag, match: "all", rules: [{ field: "list",
	    value: list.id }] });
	await fillBasics(t, "Segment test " + tag, { tpl: tpl.id, list: "",
	    segment: seg.id, from });
	await page.getByLabel("A/B test the subject line").check();
	await page.getByLabel("Subject of variant A").fill("Seg A");
	await page.getByLabel("Subject of variant B").fill("Seg B");
	await page.getByRole("button", { name: "Create campaign" }).click();
	const gid = await campaignId(page);
	await page.getByRole("button", { name: "Launch", exact: true })
	    .click();
	await confirmDialog(page, "Launch");
	const near = page.locator("#campaign-actions + p.error");
	await page.waitForFunction(() => document.querySelector(
	    "#campaign-actions + p.error")?.textContent !== "", null,
	    { timeout: 10000 });
	const ltext = await near.textContent();
	c = await must(t, "GET", `/v1/campaigns/${gid}`);
	check(ltext.includes("invalid_ab") && /segment/.test(ltext) &&
	    c.status === "draft", "owner campaigns: a launch refused (422 " +
	    "invalid_ab, A/B to a segment) is told in words beside the " +
	    "Launch button, the campaign stays a draft: " + ltext, c);

	// 10. A long list is paged: 25 a page, newest first.
	let n = (await must(t, "GET", "/v1/campaigns")).items.length;
	for (; n < 27; n++)
		await must(t, "POST", "/v1/campaigns", { name: "Filler " + n,
		    template_id: tpl.id, list_id: list.id, from });
	await t.go("campaigns");
	const rows = () => page.locator("#campaign-list tbody tr")
	    .evaluateAll((trs) => trs.map((tr) => Number(tr.cells[0]
	    .textContent)));
	const p1 = await rows();
	const next = page.getByRole("button", { name: /Next/ });
	await next.click();
	await page.waitForFunction((first) => Number(document.querySelector(
	    "#campaign-list tbody td")?.textContent) !== first, p1[0]);
	const p2 = await rows();
	check(p1.length === 25 && p2.length === n - 25 && p1[0] > p1[24] &&
	    p1[24] > p2[0] && await next.isDisabled(), "owner campaigns: " +
	    `${n} campaigns are paged, 25 then ${n - 25}, newest first`,
	    { p1, p2 });
}

export async function viewer(t) {
	const { page, check } = t;

	await t.go("campaigns");
	await page.waitForSelector("#campaign-list [data-campaign]");
	check(await onSomePage(page, t.xss[1]),
	    "viewer campaigns: the seeded campaign's injected name is listed " +
	    "as text");
	check(await page.getByRole("link", { name: "New campaign" })
	    .count() === 0, "viewer campaigns: no New campaign link");
	await t.screen("campaigns");

	// The seeded draft, whose name is a payload: shown, not actionable.
	const all = await must(t, "GET", "/v1/campaigns");
	const draft = all.items.find((x) => x.name === t.xss[1] &&
	    x.status === "draft") ?? all.items.find((x) => x.status ===
	    "draft");
	await t.go("campaigns/" + draft.id);
	await page.waitForSelector("#chart-opens svg");
	check(await page.textContent("#c-name") === draft.name &&
	    await page.textContent("#c-status") === "draft",
	    "viewer campaigns: a draft's page shows its name as text and " +
	    "its status");
	const btns = await page.locator("#view button").allTextContents();
	check(!btns.some((b) => /launch|pause|resume|cancel/i.test(b)) &&
	    await page.locator("#campaign-actions button").count() === 0,
	    "viewer campaigns: no launch, pause, resume or cancel button",
	    btns);
	await t.screen("campaign-detail");

	// A launch forged with the viewer's own session and CSRF token.
	const forged = await page.evaluate(async (id) => {
		const s = await fetch("/v1/session", { credentials:
		    "same-origin" }).then((r) => r.ok ? r.json() : null)
		    .catch(() => null);
		const csrf = s?.csrf_token ?? FF.session().csrf_token;
		const r = await fetch(`/v1/campaigns/${id}/launch`, {
		    method: "POST", credentials: "same-origin",
		    headers: { "X-CSRF-Token": csrf } });
		return r.status;
	}, draft.id);
	const now = await must(t, "GET", `/v1/campaigns/${draft.id}`);
	check(forged === 403 && now.status === "draft", "viewer campaigns: " +
	    "a launch forged with the viewer's session and CSRF token gets " +
	    "403 and the campaign stays a draft", { forged, now: now.status });

	await t.go("campaigns/new");
	check(await page.locator("#campaign-form").count() === 0,
	    "viewer campaigns: the new-campaign page shows no form");
}
