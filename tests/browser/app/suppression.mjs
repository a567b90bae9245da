// suppression.mjs: the suppression screen.  The owner adds two opt-outs
// and re-subscribes one behind the dialog (Cancel first: still opted
// out), blocks a domain and an address and removes the address; each
// step is checked in the page and against the API.  The viewer sees the
// lists, no control that changes them, and a forged POST /v1/optouts
// with the viewer's session and CSRF token is 403.
import { api, forged, writeControls, until } from "./admin-lib.mjs";

const KEEP = "optout-keep@app.test";
const GONE = "optout-resub@app.test";
const DOMAIN = "@blocked-ui.test";
const ADDR = "spam-ui@blocked-ui2.test";

// A table cell holding exactly this text.
function cell(page, text) {
	return page.getByRole("cell", { name: text, exact: true });
}

async function optouts(t) {
	const r = await api(t, "GET", "/v1/optouts?limit=1000");
	return r.status === 200 ? r.js.items.map((i) => i.email) : null;
}

async function blocked(t) {
	const r = await api(t, "GET", "/v1/blocklist?limit=1000");
	return r.status === 200 ? r.js.items.map((i) => i.pattern) : null;
}

export async function owner(t) {
	const { page, check } = t;

	await t.go("suppression");
	for (const e of [KEEP, GONE]) {
		await page.locator("#view").getByLabel("Email address to opt out").fill(e);
		await page.getByRole("button", { name: "Add the opt-out" })
		    .click();
		await cell(page, e).waitFor();
	}
	let o = await optouts(t);
	check(o && o.includes(KEEP) && o.includes(GONE), "owner suppression: " +
	    "the two opt-outs added in the page are in GET /v1/optouts", o);

	// Re-subscribe: the dialog names the address; Cancel keeps it.
	const resub = page.getByRole("button", { name: "Re-subscribe " + GONE });
	await resub.click();
	const dlg = page.locator("dialog[open]");
	await dlg.waitFor();
	check((await dlg.textContent()).includes(GONE), "owner suppression: " +
	    "the re-subscribe dialog names the address");
	await dlg.getByRole("button", { name: "Cancel" }).click();
	await page.waitForTimeout(300);
	o = await optouts(t);
	check(o && o.includes(GONE), "owner suppression: Cancel in the " +
	    "dialog leaves the opt-out", o);
	await resub.click();
	await page.locator("dialog[open]").getByRole("button",
	    { name: "Re-subscribe" }).click();
	await cell(page, GONE).waitFor({ state: "detached" });
	o = await optouts(t);
	check(o && !o.includes(GONE) && o.includes(KEEP), "owner " +
	    "suppression: confirming re-subscribes (DELETE /v1/optouts), " +
	    "the other opt-out stays", o);

	// A bad address: the API's error in words, beside the form.
	await page.locator("#view").getByLabel("Email address to opt out").fill("not an address");
	await page.getByRole("button", { name: "Add the opt-out" }).click();
	const err = page.locator("form[aria-label='Add an opt-out'] .error");
	await until(async () => (await err.textContent()).length > 0, 5000);
	check(/invalid_email/.test(await err.textContent()), "owner " +
	    "suppression: a refused opt-out shows the API's error next to " +
	    "its form", await err.textContent());
	await page.locator("#view").getByLabel("Email address to opt out").fill("");

	// The blocklist: a domain and an address; the address removed.
	for (const p of [DOMAIN, ADDR]) {
		await page.locator("#view").getByLabel("Address or @domain to block").fill(p);
		await page.getByRole("button", { name: "Block it" }).click();
		await cell(page, p).waitFor();
	}
	let b = await blocked(t);
	check(b && b.includes(DOMAIN) && b.includes(ADDR), "owner " +
	    "suppression: the blocked domain and address are in GET " +
	    "/v1/blocklist", b);
	await page.getByRole("button", { name: "Remove " + ADDR }).click();
	await cell(page, ADDR).waitFor({ state: "detached" });
	b = await blocked(t);
	check(b && !b.includes(ADDR) && b.includes(DOMAIN), "owner " +
	    "suppression: Remove takes the address off the blocklist, the " +
	    "domain stays", b);

	// Bounces and complaints: the API's page, shown (none here: this
	// test has no bounce listener).
	const bo = await api(t, "GET", "/v1/bounces?limit=25");
	const region = page.getByRole("region", { name:
	    "Bounces and complaints" });
	check(bo.status === 200 && await region.count() === 1 &&
	    (bo.js.items.length > 0 || (await region.textContent())
	    .includes("No bounce or complaint so far")), "owner suppression: " +
	    "the bounces and complaints list shows GET /v1/bounces",
	    [bo.status, bo.js]);
	t.state.optout = KEEP;
	await t.screen("suppression");
}

export async function viewer(t) {
	const { page, check } = t;

	await t.go("suppression");
	await cell(page, t.state.optout || KEEP).waitFor();
	const w = await writeControls(t);
	check(w.length === 0, "viewer suppression: no control that changes " +
	    "anything (lists only)", w);
	const r = await forged(t, "POST", "/v1/optouts",
	    { email: "forged@app.test" });
	check(r.status === 403 && r.token, "viewer suppression: a forged " +
	    "POST /v1/optouts with the viewer's session and CSRF token is 403",
	    r);
	const o = await optouts(t);
	check(o && !o.includes("forged@app.test"), "viewer suppression: the " +
	    "forged opt-out is not stored", o);
	await t.screen("suppression");
}
