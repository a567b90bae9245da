// users.mjs: the users screen (owner only) and the marketer's nav.
// The marketer logs in in a browser context of its own: its nav has no
// Users, Domains or Relay, and #/users says the role may not.  The owner
// adds a user (listed by the page and by GET /v1/users), sees the audit
// log show the logins (the owner's and the marketer's, by email, in
// local time) and deletes the user behind the dialog.  The viewer has no
// Users in its nav and GET /v1/users is 403 for it.
import { api, loginAs, navScreens } from "./lib.mjs";

const NEW = "new-user@app.test";

export async function owner(t) {
	const { page, check } = t;
	const marketer = t.env.FF_MARKETER.split(":")[0];
	const ownerEmail = t.env.FF_OWNER.split(":")[0];

	// Records enough for two pages of the audit log: 12 users made
	// and deleted (the API's work, not the page's).
	for (let i = 0; i < 12; i++) {
		const c = await api(t, "POST", "/v1/users", { email:
		    `bulk${i}@app.test`, password: "bulk user password " + i,
		    role: "viewer" });
		if (c.status === 201)
			await api(t, "DELETE", "/v1/users/" + c.js.id);
	}

	// The marketer: a login of its own, in a fresh context.
	const m = await loginAs(t, t.env.FF_MARKETER);
	try {
		const nav = await navScreens(m.page);
		check(!nav.includes("users") && !nav.includes("domains") &&
		    !nav.includes("relay") && nav.includes("suppression") &&
		    nav.includes("webhooks"), "marketer: the nav has no " +
		    "Users, Domains or Relay (and has Suppression and Webhooks)",
		    nav);
		await m.page.goto(t.app + "#/users");
		await m.page.getByRole("alert").filter({ hasText:
		    "may not open" }).waitFor();
		check(await m.page.locator("#view form").count() === 0,
		    "marketer: the users screen says the role may not open it");
	} finally {
		await m.context.close();
	}

	await t.go("users");
	await page.locator("#view").getByLabel("Email", { exact: true }).fill(NEW);
	await page.locator("#view").getByLabel("Password", { exact: true })
	    .fill("new user password 1");
	await page.locator("#view").getByLabel("Role").selectOption("viewer");
	await page.getByRole("button", { name: "Add the user" }).click();
	const table = page.getByRole("table", { name: "Users" });
	await table.getByRole("cell", { name: NEW, exact: true }).waitFor();
	let u = await api(t, "GET", "/v1/users");
	const made = u.js.items.find((x) => x.email === NEW);
	check(made && made.role === "viewer", "owner users: the user added in " +
	    "the page is in GET /v1/users with its role", u.js);
	const rowText = await table.locator("tr", { hasText: NEW })
	    .textContent();
	check(rowText.includes("viewer"), "owner users: the list shows the " +
	    "new user's role", rowText);

	// The audit log: the logins, by email, in local time (the screen
	// opened again: the user's creation is a record too).
	await t.page.evaluate(() => FF.go("users"));
	await t.settled();
	const log = page.getByRole("table", { name: "Audit log" });
	await log.waitFor();
	const a = await api(t, "GET", "/v1/audit?limit=25");
	const rows = await log.locator("tbody tr").allTextContents();
	const local = await page.evaluate((xs) => xs.map((x) => FF.time(x)),
	    a.js.items.map((x) => x.time));
	check(rows.length === 25 && rows.every((r, i) =>
	    r.startsWith(local[i])) && !/\d{4}-\d\d-\d\dT/.test(rows.join(" ")),
	    "owner users: the audit log's first page is GET /v1/audit's, " +
	    "newest first, in local time", { rows: rows.slice(0, 4),
	    api: a.js.items.slice(0, 4) });

	// Paged: Next shows the API's next page (next_cursor).
	const logRegion = page.getByRole("region", { name: "Audit log" });
	const p2 = await api(t, "GET", "/v1/audit?limit=25&cursor=" +
	    encodeURIComponent(a.js.next_cursor || ""));
	await logRegion.getByRole("button", { name: "Next" }).click();
	const want = await page.evaluate((xs) => xs.map((x) => FF.time(x)),
	    p2.js.items.map((x) => x.time));
	await page.waitForFunction((n) => !document.querySelector(
	    "[aria-label='Audit log'] nav.pages button").disabled, null);
	const rows2 = await log.locator("tbody tr").allTextContents();
	check(a.js.next_cursor && rows2.length === p2.js.items.length &&
	    rows2.every((r, i) => r.startsWith(want[i])) && rows2[0] !==
	    rows[0], "owner users: the audit log's Next shows the next page " +
	    "(next_cursor)", { rows2: rows2.slice(0, 3), want });
	// The logins, older than the other modules' privacy actions, may be
	// some pages further: Next until both are seen (at most 40 pages).
	let seen = rows.concat(rows2), pages = 2;
	const found = () => {
		const l = seen.filter((r) => r.includes("logged in"));
		return l.some((r) => r.includes(ownerEmail)) &&
		    l.some((r) => r.includes(marketer));
	};
	const next = logRegion.getByRole("button", { name: "Next" });
	while (!found() && pages < 40 && await next.isEnabled()) {
		const before = await log.locator("tbody tr").first()
		    .textContent();
		await next.click();
		await page.waitForFunction(([b]) => document.querySelector(
		    "[aria-label='Audit log'] tbody tr")?.textContent !== b,
		    [before]);
		seen = seen.concat(await log.locator("tbody tr")
		    .allTextContents());
		pages++;
	}
	check(found(), "owner users: the audit log shows the owner's and " +
	    "the marketer's logins, by email (within " + pages + " pages)",
	    seen.filter((r) => r.includes("logged in")));
	await t.go("users");		/* back to the first page */
	await log.waitFor();
	await page.waitForFunction(() => document.querySelector(
	    "[aria-label='Audit log'] nav.pages button").disabled, null);
	const heading = await page.getByRole("region", { name: "Audit log" })
	    .locator("h3").textContent();
	check(/times in /.test(heading), "owner users: the audit log says " +
	    "its time zone", heading);
	await t.screen("users");

	// Delete, behind the dialog.
	await table.getByRole("button", { name: "Delete " + NEW }).click();
	await page.locator("dialog[open]").getByRole("button",
	    { name: "Delete " + NEW }).click();
	await table.getByRole("cell", { name: NEW, exact: true })
	    .waitFor({ state: "detached" });
	u = await api(t, "GET", "/v1/users");
	check(!u.js.items.some((x) => x.email === NEW), "owner users: Delete " +
	    "removes the user (GET /v1/users)", u.js);
}

export async function viewer(t) {
	const { page, check } = t;
	const nav = await navScreens(page);
	check(!nav.includes("users"), "viewer users: no Users in the nav", nav);
	await page.goto(t.app + "#/users");
	await page.getByRole("alert").filter({ hasText: "may not open" })
	    .waitFor();
	const r = await api(t, "GET", "/v1/users");
	check(r.status === 403, "viewer users: GET /v1/users with the " +
	    "viewer's session is 403", r);
}
