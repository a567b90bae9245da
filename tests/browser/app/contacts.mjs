// contacts.mjs: the contacts screen (templates/dashboard/contacts.js) as
// the owner and as the viewer; driven by tests/browser/app.mjs.
//
// The owner imports a CSV file of 2,000 generated rows (5 of them bad)
// through the page, in requests of 100 rows, and the progress bar is
// watched: every value it takes is recorded (a MutationObserver on its
// value, and samples taken while it runs), it must pass through values
// between 0 and its max and end at max, and the totals shown must be
// what the API holds.  Then a search, a contact's page (fields,
// attributes, the seeded list named after a payload), an edit checked
// through the API, an added contact, a deletion behind the dialog, and
// an export whose rows are the API's contacts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { apiGet, viewText } from "./lib.mjs";

const ROWS = 2000;		// data rows in the file
const BAD = [17, 404, 999, 1500, 1998];	// rows with a bad address
const CHUNK = 100;		// rows per request, typed in the page

// Every contact the API has, through the page's session (GETs need no
// CSRF token).
async function allContacts(t, q) {
	const out = [];
	let cursor = "";
	for (let i = 0; i < 200; i++) {
		const u = new URL("/v1/contacts", t.app);
		u.searchParams.set("limit", "500");
		if (q)
			u.searchParams.set("q", q);
		if (cursor)
			u.searchParams.set("cursor", cursor);
		const res = await t.page.request.get(u.href);
		if (!res.ok())
			throw new Error("GET /v1/contacts: " + res.status());
		const js = await res.json();
		out.push(...js.items);
		if (!js.next_cursor)
			return out;
		cursor = js.next_cursor;
	}
	throw new Error("GET /v1/contacts: no end after 200 pages");
}

// The generated file: plan "pro" on every 7th good row, a quoted cell
// with a comma and quotes every 50th (the page must not cut inside it).
function makeCsv() {
	const lines = ["email,first_name,last_name,plan"];
	const pro = [];
	let good = 0;
	for (let i = 0; i < ROWS; i++) {
		if (BAD.includes(i)) {
			lines.push(`not-an-address-${i},Bad,Row,basic`);
			continue;
		}
		const email = `imp${i}@app.test`;
		const plan = i % 7 === 0 ? "pro" : "basic";
		if (plan === "pro")
			pro.push(email);
		const last = i % 50 === 0 ? `"O""Neil, ${i}"` : `Last${i}`;
		lines.push(`${email},First${i},${last},${plan}`);
		good++;
	}
	return { text: lines.join("\r\n") + "\r\n", pro, good };
}

export async function owner(t) {
	const { page, check } = t;

	// The list: the seeded contacts' names, as text.
	await t.go("contacts");
	await page.waitForSelector("#view table");
	let text = await viewText(page);
	check(t.xss.every((x) => text.includes(x)), "owner contacts: the " +
	    "seeded first and last names show as text", text.slice(0, 800));
	check(await page.getByRole("link", { name: "Import a CSV file" })
	    .count() === 1, "owner contacts: an import link");
	await t.screen("contacts");

	// The import, watched.
	const csv = makeCsv();
	const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(),
	    "ff-import-")), "contacts.csv");
	fs.writeFileSync(file, csv.text);
	const before = (await allContacts(t)).length;
	await t.go("contacts/import");
	await page.getByLabel("CSV file").setInputFiles(file);
	await page.getByLabel("Rows per request").fill(String(CHUNK));
	await page.evaluate(() => {
		window.__ffSeen = [];
		new MutationObserver((ms) => ms.forEach((m) => {
			if (m.target.tagName === "PROGRESS")
				window.__ffSeen.push([m.target.value,
				    m.target.max]);
		})).observe(document.getElementById("view"), {
		    attributes: true, subtree: true,
		    attributeFilter: ["value", "max"] });
	});
	const bar = page.getByRole("progressbar", { name: "Rows imported" });
	const samples = [];
	const t0 = Date.now();
	await page.getByRole("button", { name: "Import", exact: true })
	    .click();
	let last = null;
	while (Date.now() - t0 < 120000) {
		last = await bar.evaluate((b) => [b.value, b.max]);
		samples.push(last);
		if (last[1] === ROWS && last[0] === ROWS)
			break;
		await page.waitForTimeout(15);
	}
	await page.getByText(`${ROWS} of ${ROWS} rows: done.`).waitFor();
	const seen = (await page.evaluate(() => window.__ffSeen))
	    .concat(samples).filter((s) => s[1] === ROWS).map((s) => s[0]);
	const between = [...new Set(seen.filter((v) => v > 0 && v < ROWS))];
	check(between.length >= 3 && between.every((v) => v % CHUNK === 0),
	    "owner import: the progress bar took values between 0 and " +
	    `${ROWS}, a request's rows at a time`, { between, samples:
	    samples.length });
	check(samples.filter((s) => s[1] === ROWS && s[0] > 0 &&
	    s[0] < ROWS).length >= 1, "owner import: sampled while it ran, " +
	    "the bar was part way at least once", samples.slice(0, 40));
	check(last && last[0] === ROWS && last[1] === ROWS,
	    "owner import: the bar ends at its max", last);
	const after = await allContacts(t);
	const imported = after.filter((c) => /^imp\d+@app\.test$/.test(
	    c.email));
	check(imported.length === csv.good && after.length - before ===
	    csv.good, "owner import: the API holds every good row",
	    { imported: imported.length, good: csv.good,
	    added: after.length - before });
	text = await viewText(page);
	check(text.includes(`Created ${imported.length}, updated 0, ` +
	    `rejected ${BAD.length}.`), "owner import: the totals shown are " +
	    "the API's (created = contacts added, rejected = bad rows)",
	    text.slice(0, 1500));
	const rej = await page.locator("table", { has: page.locator(
	    "caption", { hasText: "Rejected rows" }) }).locator("tbody tr")
	    .allInnerTexts();
	check(rej.length === BAD.length && BAD.every((i, k) =>
	    rej[k].includes(String(i + 1)) && rej[k].includes(
	    "invalid_email")), "owner import: the rejected rows are listed " +
	    "with their row numbers and error code", rej);
	const oneil = imported.find((c) => c.email === "imp50@app.test");
	check(oneil && oneil.last_name === "O\"Neil, 50" && oneil.attributes
	    .plan === "basic", "owner import: a quoted cell with a comma " +
	    "was not cut", oneil);
	await t.screen("contacts-import");
	t.state.pro = csv.pro;
	t.state.basic = imported.map((c) => c.email).filter((e) =>
	    !csv.pro.includes(e));

	// Paged: the next page holds other contacts, Previous goes back.
	await t.go("contacts");
	await page.waitForSelector("#view table");
	const firstPage = await page.locator("#view table tbody tr")
	    .allInnerTexts();
	await page.getByRole("button", { name: "Next \u2192" }).click();
	await page.waitForFunction((f) => {
		const r = document.querySelector("#view table tbody tr");
		return r && r.innerText !== f;
	}, firstPage[0]);
	const second = await page.locator("#view table tbody tr")
	    .allInnerTexts();
	check(firstPage.length === 50 && second.length === 50 &&
	    !second.some((r) => firstPage.includes(r)), "owner contacts: " +
	    "50 a page, Next shows the next 50", [firstPage.length,
	    second.length]);

	// A search that finds nobody says so.
	await t.go("contacts");
	await page.getByLabel("Search by email or name").fill("zz-nobody");
	await page.getByRole("button", { name: "Search", exact: true })
	    .click();
	await page.getByText("No contact matches.").waitFor();
	check(await page.locator("#view table tbody tr").count() === 0,
	    "owner contacts: a search that finds nobody shows no row and " +
	    "says so");

	// A search, then the contact's page.
	await t.go("contacts");
	await page.getByLabel("Search by email or name").fill("imp1234@");
	await page.getByRole("button", { name: "Search", exact: true })
	    .click();
	await page.getByRole("link", { name: "imp1234@app.test" }).waitFor();
	const rows = await page.locator("#view table tbody tr").count();
	check(rows === 1, "owner contacts: a search finds the one contact",
	    rows);
	await page.getByRole("link", { name: "imp1234@app.test" }).click();
	await page.waitForSelector("form[aria-label='edit the contact']");
	text = await viewText(page);
	check(text.includes("First1234") && text.includes("Last1234") &&
	    /plan\s+basic/.test(text), "owner contact: its fields and " +
	    "attributes show", text.slice(0, 800));

	// An edit, checked through the API.
	const form = page.locator("form[aria-label='edit the contact']");
	await form.getByLabel("First name").fill("Edited");
	await form.getByLabel("Attribute name").fill("tier");
	await form.getByLabel("Attribute value").fill("gold");
	await form.getByRole("button", { name: "Save the changes" }).click();
	await page.getByText("Saved.").waitFor();
	let c = (await apiGet(t, "/v1/contacts/imp1234@app.test")).body;
	check(c && c.first_name === "Edited" && c.last_name === "Last1234" &&
	    c.attributes.tier === "gold" && c.attributes.plan === "basic",
	    "owner contact: the edit is what the API holds (the rest kept)",
	    c);
	text = await viewText(page);
	check(/First name\s+Edited/.test(text) && /tier\s+gold/.test(text),
	    "owner contact: the page shows the saved values", text.slice(0,
	    800));

	// The seeded contact: payload names, and the seeded list by name.
	const x0 = (await apiGet(t, "/v1/contacts/xss0@app.test")).body;
	await t.go("contacts/" + x0.id);
	await page.waitForSelector("form[aria-label='edit the contact']");
	text = await viewText(page);
	check(text.includes(t.xss[0]) && text.includes(t.xss[1]),
	    "owner contact: the seeded name and its list's name show as text",
	    text.slice(0, 800));
	check(await page.getByRole("link", { name: t.xss[1] }).count() === 1,
	    "owner contact: the list it is on links to the list");
	await t.screen("contact-detail");

	// Add one.
	await t.go("contacts");
	const add = page.locator("form[aria-label='add a contact']");
	await add.getByLabel("Email").fill("added@app.test");
	await add.getByLabel("First name").fill("Addie");
	await add.getByRole("button", { name: "Add the contact" }).click();
	await page.waitForURL(/#\/contacts\/\d+$/);
	c = (await apiGet(t, "/v1/contacts/added@app.test")).body;
	check(c && c.first_name === "Addie" && page.url().endsWith(
	    "/contacts/" + c.id), "owner contacts: an added contact is " +
	    "stored and its page opens", [c, page.url()]);
	const bad = page.locator("form[aria-label='add a contact']");
	await t.go("contacts");
	await bad.getByLabel("Email").fill("not an address");
	await bad.getByRole("button", { name: "Add the contact" }).click();
	await bad.locator(".error").filter({ hasText: /invalid_email/ })
	    .waitFor();
	check(true, "owner contacts: a bad address is refused in words next " +
	    "to the form");

	// Delete, behind the dialog: Cancel keeps it, Delete removes it.
	const victim = (await apiGet(t, "/v1/contacts/imp5@app.test")).body;
	await t.go("contacts/" + victim.id);
	await page.getByRole("button", { name: "Delete the contact" })
	    .click();
	await page.getByRole("dialog").getByRole("button", { name:
	    "Cancel" }).click();
	check((await apiGet(t, "/v1/contacts/" + victim.id)).status === 200,
	    "owner contact: Cancel in the dialog deletes nothing");
	await page.getByRole("button", { name: "Delete the contact" })
	    .click();
	await page.getByRole("dialog").getByRole("button", { name: "Delete",
	    exact: true }).click();
	await page.waitForURL(/#\/contacts$/);
	check((await apiGet(t, "/v1/contacts/" + victim.id)).status === 404,
	    "owner contact: Delete in the dialog deletes it");
	t.state.pro = t.state.pro.filter((e) => e !== "imp5@app.test");
	t.state.basic = t.state.basic.filter((e) => e !== "imp5@app.test");

	// Export: every contact the API has, one row each.
	await t.go("contacts");
	const [dl] = await Promise.all([page.waitForEvent("download"),
	    page.getByRole("button", { name: "Export as CSV" }).click()]);
	const csvOut = fs.readFileSync(await dl.path(), "utf8");
	const lines = csvOut.split("\r\n").filter((l) => l !== "");
	const now = await allContacts(t);
	check(dl.suggestedFilename() === "contacts.csv" &&
	    lines[0].startsWith("email,first_name,last_name") &&
	    lines[0].includes("attributes.plan") &&
	    lines.length - 1 === now.length && now.every((x) =>
	    csvOut.includes(x.email)), "owner contacts: the export has a " +
	    "header and one row per contact the API has",
	    { header: lines[0], rows: lines.length - 1, api: now.length });
	const row50 = lines.find((l) => l.startsWith("imp50@")) || "";
	check(row50.startsWith("imp50@app.test,First50,\"O\"\"Neil, 50\",") &&
	    row50.split(",").includes("basic"), "owner contacts: the export " +
	    "quotes a cell with a comma and quotes", row50);
}

export async function viewer(t) {
	const { page, check } = t;

	// The seeded contacts are the oldest: past the first page since
	// the owner's import, so the viewer searches for them.
	await t.go("contacts");
	await page.waitForSelector("#view table");
	await page.getByLabel("Search by email or name").fill("xss");
	await page.getByRole("button", { name: "Search", exact: true })
	    .click();
	await page.getByRole("link", { name: "xss2@app.test" }).waitFor();
	const text = await viewText(page);
	check(t.xss.every((x) => text.includes(x)), "viewer contacts: a " +
	    "search finds the seeded contacts, their names shown as text",
	    text.slice(0, 800));
	const ctl = await page.evaluate(() => [...document.querySelectorAll(
	    "#view button, #view a, #view input[type=file]")].map((e) =>
	    e.textContent || e.type));
	check(!ctl.some((s) => /Import|Add the contact|Delete|Save/.test(s)),
	    "viewer contacts: no import, add, edit or delete control", ctl);
	await t.screen("contacts");

	const x0 = (await apiGet(t, "/v1/contacts/xss0@app.test")).body;
	await t.go("contacts/" + x0.id);
	await page.getByRole("link", { name: t.xss[1] }).waitFor();
	check(await page.locator("#view form, #view button").count() === 0,
	    "viewer contact: the page has no form and no button");
	await t.screen("contact-detail");

	await t.go("contacts/import");
	check(await page.locator("#view input[type=file]").count() === 0 &&
	    await page.getByRole("alert").filter({ hasText:
	    "may not import" }).count() === 1,
	    "viewer contacts: the import page says the role may not import");

	const st = await page.evaluate(async () => {
		const s = await (await fetch("/v1/session")).json();
		const post = (method, p, body) => fetch(p, { method,
		    headers: { "Content-Type": "application/json",
		    "X-CSRF-Token": s.csrf_token }, body: JSON.stringify(body) })
		    .then((r) => r.status);
		return [await post("POST", "/v1/contacts",
		    { email: "forged@app.test" }),
		    await post("PATCH", "/v1/contacts/xss0@app.test",
		    { first_name: "forged" }),
		    await fetch("/v1/contacts/import", { method: "POST",
		    headers: { "Content-Type": "text/csv", "X-CSRF-Token":
		    s.csrf_token }, body: "email\nforged2@app.test\n" })
		    .then((r) => r.status),
		    await post("DELETE", "/v1/contacts/xss0@app.test")];
	});
	check(st.every((s) => s === 403), "viewer contacts: forged add, " +
	    "edit, import and delete with the viewer's session and CSRF " +
	    "token get 403", st);
}
