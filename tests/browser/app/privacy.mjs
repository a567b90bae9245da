// privacy.mjs: the privacy requests screen.  The owner looks up a seeded
// contact whose name is an injection payload (shown as text), exports it
// (the download's JSON is the subject's, checked field by field), and
// erases a contact of its own behind the dialog: Cancel first (nothing
// erased, the API still has it), then confirm (the page shows the
// counts, the API has no contact any more).  The viewer may look up and
// export but sees no erase button, and a forged DELETE is 403.
import fs from "node:fs";
import { api, forged, writeControls } from "./lib.mjs";

const ERASE = "erase-me@app.test";
const SEEDED = "xss1@app.test";

// keys: by the keyboard alone (type, then Enter submits the form).
async function lookUp(t, email, keys) {
	const field = t.page.locator("#view").getByLabel("Email address");
	if (keys) {
		await field.focus();
		await field.press("Control+A");
		await t.page.keyboard.type(email);
		await t.page.keyboard.press("Enter");
	} else {
		await field.fill(email);
		await t.page.getByRole("button", { name: "Look up" }).click();
	}
	await t.page.getByRole("heading", { name: email }).waitFor();
}

async function exportOf(t, email) {
	const [dl] = await Promise.all([
		t.page.waitForEvent("download"),
		t.page.getByRole("button", { name: "Export as JSON" }).click(),
	]);
	const file = await dl.path();
	// FF.download's link lives a second after its click.
	await t.page.locator("a[download]").waitFor({ state: "detached" });
	return { name: dl.suggestedFilename(), js: JSON.parse(
	    fs.readFileSync(file, "utf8")) };
}

export async function owner(t) {
	const { page, check } = t;

	const c = await api(t, "POST", "/v1/contacts", { email: ERASE,
	    first_name: "Erin", last_name: "Erasable" });
	check(c.status === 200, "owner privacy: a contact to erase is made",
	    c);
	await t.go("privacy");

	// Look-up and export of a seeded contact: its name is a payload.
	await lookUp(t, SEEDED);
	const text = await page.textContent("#view");
	check(text.includes(t.xss[1]), "owner privacy: the seeded contact's " +
	    "name (an injection payload) is shown as text", text.slice(0, 400));
	const ex = await exportOf(t, SEEDED);
	const want = await api(t, "GET", "/v1/subjects/" +
	    encodeURIComponent(SEEDED));
	check(ex.name.endsWith(".json") && ex.js.email === want.js.email &&
	    ex.js.contact && ex.js.contact.email === SEEDED &&
	    ex.js.contact.first_name === t.xss[1] &&
	    JSON.stringify(ex.js.lists) === JSON.stringify(want.js.lists) &&
	    Array.isArray(ex.js.events) && "opted_out" in ex.js,
	    "owner privacy: the export downloads the subject's JSON (GET " +
	    "/v1/subjects/EMAIL)", { name: ex.name, got: ex.js });

	// Erasure: the dialog names the address; Cancel erases nothing.
	await lookUp(t, ERASE);
	await page.getByRole("button", { name: "Erase everything" }).click();
	let dlg = page.locator("dialog[open]");
	await dlg.waitFor();
	check((await dlg.textContent()).includes(ERASE), "owner privacy: the " +
	    "erasure dialog names the address", await dlg.textContent());
	await dlg.getByRole("button", { name: "Cancel" }).click();
	await page.waitForTimeout(300);
	let s = await api(t, "GET", "/v1/subjects/" + encodeURIComponent(ERASE));
	check(s.status === 200 && s.js.contact && s.js.contact.email === ERASE,
	    "owner privacy: Cancel erases nothing (the contact is there)", s);
	// By the keyboard: the button, then Tab from Cancel to the dialog's
	// erase button, and Enter.
	await page.getByRole("button", { name: "Erase everything" }).focus();
	await page.keyboard.press("Enter");
	dlg = page.locator("dialog[open]");
	await dlg.waitFor();
	await dlg.getByRole("button", { name: "Cancel" }).focus();
	await page.keyboard.press("Tab");
	check(await dlg.getByRole("button", { name: "Erase " + ERASE })
	    .evaluate((b) => b === document.activeElement), "owner privacy: " +
	    "the dialog's erase button is reached by Tab");
	await page.keyboard.press("Enter");
	const done = page.getByRole("status").filter({ hasText: "Erased" });
	await done.waitFor();
	const shown = await done.textContent();
	s = await api(t, "GET", "/v1/subjects/" + encodeURIComponent(ERASE));
	check(s.status === 200 && s.js.contact === null && /contacts\s*1/
	    .test(shown), "owner privacy: confirming erases (the API has no " +
	    "contact) and the page shows what was erased", [shown, s.js]);
	await t.screen("privacy");
}

export async function viewer(t) {
	const { page, check } = t;

	await t.go("privacy");
	await lookUp(t, SEEDED, true);
	const w = await writeControls(t, "^(Look up|Export as JSON)$|Look up");
	check(w.length === 0, "viewer privacy: look-up and export only, no " +
	    "erase button", w);
	const ex = await exportOf(t, SEEDED);
	check(ex.js.contact && ex.js.contact.email === SEEDED, "viewer " +
	    "privacy: the viewer's export downloads the subject", ex.js);
	const r = await forged(t, "DELETE", "/v1/subjects/" +
	    encodeURIComponent(SEEDED), {});
	check(r.status === 403, "viewer privacy: a forged DELETE " +
	    "/v1/subjects/EMAIL with the viewer's session is 403", r);
	await t.screen("privacy");
}
