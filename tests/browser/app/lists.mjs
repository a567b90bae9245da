// lists.mjs: the lists and segments screens (templates/dashboard/
// lists.js) as the owner and as the viewer; driven by
// tests/browser/app.mjs after contacts.mjs, whose import leaves
// t.state.pro and t.state.basic (the addresses with plan pro and basic).
//
// The owner creates a list, adds members by address (one unknown),
// removes some behind the dialog, then builds a segment in the rule
// builder (attributes.plan eq pro, and on that list): its live count
// must be the number this test knows, and change when match becomes
// "any"; a rule on a special-category attribute is refused in words
// next to the rule.  The viewer reads, has no control that writes, and
// a forged POST /v1/lists with its session and CSRF token gets 403.

import { apiGet, viewText } from "./lib.mjs";

const ON_PRO = 30;	// pro contacts added to the list
const ON_BASIC = 20;	// basic ones
const OFF = 5;		// pro ones removed again

// Waits until the live count reads n; false after 20 s.
async function liveCount(page, n) {
	const want = new RegExp("^" + (n === 1 ? "1 contact matches" :
	    `${n} contacts match`) + "\\.$");
	try {
		await page.locator(".live-count").filter({ hasText: want })
		    .waitFor({ timeout: 20000 });
		return true;
	} catch (e) {
		return false;
	}
}

export async function owner(t) {
	const { page, check } = t;
	const pro = t.state.pro || [], basic = t.state.basic || [];

	if (!check(pro.length > ON_PRO && basic.length > ON_BASIC,
	    "owner lists: the contacts module left pro and basic contacts",
	    [pro.length, basic.length]))
		return;

	// The lists: the seeded one by its payload name.
	await t.go("lists");
	await page.waitForSelector("#view table");
	let text = await viewText(page);
	check(text.includes(t.xss[1]), "owner lists: the seeded list's name " +
	    "shows as text", text.slice(0, 600));
	check(await page.getByRole("link", { name: t.xss[1] }).count() === 1,
	    "owner lists: the seeded list links to its page");

	// Create one.
	await page.getByLabel("List name").fill("Pro customers");
	await page.getByRole("button", { name: "Create the list" }).click();
	await page.waitForURL(/#\/lists\/\d+$/);
	const lid = page.url().match(/#\/lists\/(\d+)$/)[1];
	let l = (await apiGet(t, "/v1/lists/" + lid)).body;
	check(l && l.name === "Pro customers" && l.members === 0,
	    "owner lists: the list is created and its page opens", l);
	await page.getByText("0 members").waitFor();

	// Add members: pro and basic ones, and an address that is nobody.
	const add = pro.slice(0, ON_PRO).concat(basic.slice(0, ON_BASIC));
	await page.getByLabel("Email addresses to add").fill(
	    add.join("\n") + "\nnobody@app.test");
	await page.getByRole("button", { name: "Add to the list" }).click();
	await page.getByText(`Added ${add.length} contacts.`).waitFor();
	await page.getByText(`${add.length} members`, { exact: true })
	    .waitFor({ timeout: 10000 }).catch(() => null);
	text = await viewText(page);
	check(text.includes("nobody@app.test") && text.includes(
	    `${add.length} members`), "owner list: the added count, the " +
	    "unknown address and the new member count show", text.slice(0,
	    800));
	l = (await apiGet(t, "/v1/lists/" + lid)).body;
	check(l.members === add.length, "owner list: the API has the members",
	    l);

	// Remove some, behind the dialog.
	const off = pro.slice(0, OFF);
	await page.getByLabel("Email addresses to remove").fill(off.join(", "));
	await page.getByRole("button", { name: "Remove from the list" })
	    .click();
	await page.getByRole("dialog").getByRole("button", { name: "Remove",
	    exact: true }).click();
	await page.getByText(`Removed ${OFF} contacts.`).waitFor();
	await page.getByText(`${add.length - OFF} members`, { exact: true })
	    .waitFor({ timeout: 10000 }).catch(() => null);
	l = (await apiGet(t, "/v1/lists/" + lid)).body;
	check(l.members === add.length - OFF && (await viewText(page))
	    .includes(`${add.length - OFF} members`), "owner list: removed " +
	    "members are gone (API and page)", l);
	const c = (await apiGet(t, "/v1/contacts/" + off[0])).body;
	check(c && !c.lists.includes(lid) && (await apiGet(t,
	    "/v1/contacts/" + pro[OFF])).body.lists.includes(lid),
	    "owner list: the contacts' own lists agree", c);
	await t.screen("list-detail");
	await t.go("lists");
	await page.getByRole("link", { name: "Pro customers" }).waitFor();
	await t.screen("lists");

	// Segments: the seeded one, named after a payload, its rule naming
	// the seeded list by its payload name too.
	await t.go("segments");
	await page.waitForSelector("#view table");
	text = await viewText(page);
	check(text.includes(t.xss[2]) && text.includes(t.xss[1]),
	    "owner segments: the seeded segment's name and its list's name " +
	    "show as text", text.slice(0, 600));
	await page.getByRole("button", { name: "Count " + t.xss[2] }).click();
	await page.locator("#view table tbody tr").filter({ hasText:
	    t.xss[2] }).getByText(/^1\s*$/).waitFor();
	check(true, "owner segments: Count shows the seeded segment's count " +
	    "(1)");
	await t.screen("segments");

	// The builder: plan is pro, and on the new list.
	await page.getByRole("link", { name: "New segment" }).click();
	await page.getByLabel("Segment name").waitFor();
	await page.getByLabel("Segment name").fill("Pro on the list");
	await page.getByLabel("Field of rule 1").selectOption("attributes");
	await page.getByLabel("Attribute name of rule 1").fill("plan");
	await page.getByLabel("Condition of rule 1").selectOption("eq");
	await page.getByLabel("Value of rule 1").fill("pro");
	await page.getByRole("button", { name: "Add a rule" }).click();
	await page.getByLabel("Field of rule 2").selectOption("list");
	await page.getByLabel("Condition of rule 2").selectOption("eq");
	await page.getByLabel("List of rule 2").selectOption(lid);
	await page.getByRole("button", { name: "Create the segment" }).click();
	await page.waitForURL(/#\/segments\/\d+$/);
	const sid = page.url().match(/#\/segments\/(\d+)$/)[1];
	const all = ON_PRO - OFF;
	check(await liveCount(page, all), "owner segment: the live count is " +
	    `the pro contacts on the list (${all})`, await viewText(page));
	let s = (await apiGet(t, "/v1/segments/" + sid)).body;
	check(s && s.name === "Pro on the list" && s.match === "all" &&
	    JSON.stringify(s.rules) === JSON.stringify([{ field:
	    "attributes.plan", op: "eq", value: "pro" }, { field: "list",
	    op: "eq", value: lid }]), "owner segment: the API has the rules " +
	    "built", s);

	// An engagement rule: nobody has opened the seeded campaign (never
	// launched), so nobody matches all three; its name, a payload, is
	// an option's text.  Then a date rule instead: everyone was added
	// after 2000.
	const camps = (await apiGet(t, "/v1/campaigns")).body.items;
	const cid = camps.find((x) => x.name === t.xss[1]).id;
	await page.getByRole("button", { name: "Add a rule" }).click();
	await page.getByLabel("Field of rule 3").selectOption("opened");
	const opts = await page.getByLabel("Campaign of rule 3")
	    .locator("option").allInnerTexts();
	check(opts.some((o) => o.includes(t.xss[1])), "owner segment: the " +
	    "campaign picker shows the seeded campaign's name as text", opts);
	await page.getByLabel("Campaign of rule 3").selectOption(cid);
	check(await liveCount(page, 0), "owner segment: with \"opened the " +
	    "campaign\" the live count is 0", await viewText(page));
	await page.getByLabel("Field of rule 3").selectOption("created_at");
	await page.getByLabel("Condition of rule 3").selectOption("after");
	await page.getByLabel("Value of rule 3").fill("2000-01-01");
	check(await liveCount(page, all), "owner segment: with \"added " +
	    `after 2000-01-01\" instead the count is back (${all})`,
	    await viewText(page));
	s = (await apiGet(t, "/v1/segments/" + sid)).body;
	check(JSON.stringify(s.rules[2]) === JSON.stringify({ field:
	    "created_at", op: "after", value: "2000-01-01" }), "owner " +
	    "segment: the date rule is saved as built", s.rules);
	await page.getByRole("button", { name: "Remove this rule" }).nth(2)
	    .click();
	await page.getByLabel("Field of rule 3").waitFor({ state: "detached" });
	check(await liveCount(page, all), "owner segment: the rule removed, " +
	    "the count stays", await viewText(page));

	// Live: match any, saved and counted again with no button.
	await page.getByLabel("Contacts who match").selectOption("any");
	const any = pro.length + ON_BASIC;
	check(await liveCount(page, any), "owner segment: with match any the " +
	    `live count follows (every pro contact and the basic ones on the ` +
	    `list: ${any})`, await viewText(page));
	s = (await apiGet(t, "/v1/segments/" + sid)).body;
	check(s.match === "any", "owner segment: the change is saved", s);

	// A rule on a special category: refused, in words, by the rule.
	await page.getByLabel("Attribute name of rule 1").fill("health");
	const alert = page.locator("fieldset.rule").first()
	    .getByRole("alert");
	await alert.filter({ hasText: "special_category_reference" })
	    .waitFor({ timeout: 20000 });
	text = await alert.innerText();
	check(/special category/i.test(text) && /Rule 1/.test(text),
	    "owner segment: special_category_reference is shown in words " +
	    "next to the rule", text);
	s = (await apiGet(t, "/v1/segments/" + sid)).body;
	check(s.rules[0].field === "attributes.plan", "owner segment: the " +
	    "refused rules were not saved", s);
	text = await page.locator(".live-count").innerText();
	check(text === `${any} contacts match. (the last saved rules)`,
	    "owner segment: the count shown is the last saved rules'", text);
	await t.screen("segment-builder");
	await page.getByLabel("Attribute name of rule 1").fill("plan");
	check(await liveCount(page, any) && await alert.innerText() === "",
	    "owner segment: fixed, the error goes and the count is back",
	    await viewText(page));

	// Remove the list rule: every pro contact.
	await page.getByRole("button", { name: "Remove this rule" }).nth(1)
	    .click();
	check(await liveCount(page, pro.length), "owner segment: without " +
	    `the list rule, every pro contact (${pro.length})`,
	    await viewText(page));

	// Delete it, behind the dialog.
	await page.getByRole("button", { name: "Delete the segment" }).click();
	await page.getByRole("dialog").getByRole("button", { name: "Delete",
	    exact: true }).click();
	await page.waitForURL(/#\/segments$/);
	check((await apiGet(t, "/v1/segments/" + sid)).status === 404,
	    "owner segment: Delete in the dialog deletes it");
}

export async function viewer(t) {
	const { page, check } = t;
	const writes = () => page.evaluate(() => [...document.querySelectorAll(
	    "#view button, #view a, #view input, #view select, #view textarea")]
	    .map((e) => (e.textContent || e.getAttribute("aria-label") ||
	    e.tagName).trim()).filter((s) => /Create|Add|Remove|Delete|New|Save/
	    .test(s) || /^(INPUT|SELECT|TEXTAREA)$/.test(s)));

	await t.go("lists");
	await page.waitForSelector("#view table");
	let text = await viewText(page);
	check(text.includes(t.xss[1]), "viewer lists: the seeded list's name " +
	    "shows as text");
	let w = await writes();
	check(w.length === 0, "viewer lists: no create control", w);
	await t.screen("lists");

	await page.getByRole("link", { name: t.xss[1] }).click();
	await page.getByText("1 member", { exact: true }).waitFor();
	w = await writes();
	check(w.length === 0, "viewer list: the member count, no add or " +
	    "remove control", w);
	await t.screen("list-detail");

	await t.go("segments");
	await page.waitForSelector("#view table");
	text = await viewText(page);
	check(text.includes(t.xss[2]), "viewer segments: the seeded " +
	    "segment's name shows as text");
	w = await writes();
	check(w.length === 0, "viewer segments: no new segment control", w);
	await t.screen("segments");

	await page.getByRole("link", { name: t.xss[2] }).click();
	check(await liveCount(page, 1), "viewer segment: the rules in words " +
	    "and the count (1)", await viewText(page));
	text = await viewText(page);
	check(text.includes(t.xss[1]), "viewer segment: its rule names the " +
	    "list by its name, as text", text);
	w = await writes();
	check(w.length === 0, "viewer segment: no builder control", w);
	await t.screen("segment");

	const st = await page.evaluate(async () => {
		const s = await (await fetch("/v1/session")).json();
		const send = (method, p, body) => fetch(p, { method,
		    headers: { "Content-Type": "application/json",
		    "X-CSRF-Token": s.csrf_token }, body: JSON.stringify(body) })
		    .then((r) => r.status);
		const lists = await (await fetch("/v1/lists")).json();
		const segs = await (await fetch("/v1/segments")).json();
		const lid = lists.items[0].id, sid = segs.items[0].id;
		return [await send("POST", "/v1/lists", { name: "forged" }),
		    await send("POST", "/v1/lists/" + lid + "/members",
		    { emails: ["xss1@app.test"] }),
		    await send("DELETE", "/v1/lists/" + lid + "/members",
		    { emails: ["xss0@app.test"] }),
		    await send("POST", "/v1/segments", { name: "forged",
		    match: "all", rules: [] }),
		    await send("PATCH", "/v1/segments/" + sid, { match: "any" }),
		    await send("DELETE", "/v1/segments/" + sid)];
	});
	check(st.every((x) => x === 403), "viewer lists: forged POST " +
	    "/v1/lists, member changes and segment writes with the viewer's " +
	    "session and CSRF token get 403", st);
}
