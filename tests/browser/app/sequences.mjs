// sequences.mjs: the sequences screen (templates/dashboard/sequences.js).
// The owner sees the seeded sequence listed by name, makes a two-step
// sequence in the form (checked through the API), activates it and sees
// its status, enrolls addresses and reads the answer.  The viewer reads
// the list and a sequence, finds no control that writes, and a forged
// activate with the viewer's session and CSRF token is refused 403.
import { apiGet, until } from "./lib.mjs";
import { pageCall, viewText } from "./templates.mjs";

export async function owner(t) {
	const { page, check } = t;

	await t.go("sequences");
	let shown = await viewText(page);
	check(shown.includes(t.xss[0]), "owner sequences: the seeded " +
	    "sequence's name shows as text in the list", shown.slice(0, 400));
	check(/sent/.test(shown) && /opened/.test(shown), "owner sequences: " +
	    "the list has each step's figures", shown.slice(0, 600));
	await t.screen("sequences");

	// The form: two steps, the second two days later if not opened.
	await page.getByRole("link", { name: "New sequence" }).click();
	await page.waitForSelector("form[aria-label='new sequence']");
	const name = "Onboarding " + Date.now();
	await page.getByLabel("Name", { exact: true }).fill(name);
	await page.getByLabel("From", { exact: true }).fill(t.env.FF_FROM);
	// The trigger: the seeded list, offered by its name.
	await page.getByLabel("Trigger: enroll whoever joins the list")
	    .selectOption({ label: t.xss[1] });
	const tpl = t.state.tplEditor && t.state.tplEditor.id;
	const steps = page.locator("li.seq-step");
	if (tpl)
		await steps.nth(0).getByLabel("Template").selectOption(tpl);
	await page.getByRole("button", { name: "Add a step" }).click();
	check(await steps.count() === 2, "owner sequences: \"Add a step\" " +
	    "adds a step");
	await steps.nth(1).getByLabel("Wait").fill("2");
	await steps.nth(1).getByLabel("Unit").selectOption("d");
	await steps.nth(1).getByLabel("Send").selectOption("not_opened");
	check(await steps.nth(0).getByLabel("Send").isDisabled(),
	    "owner sequences: the first step has no condition to choose");
	await t.shot("sequences-new");
	await page.getByRole("button", { name: "Create the sequence" }).click();
	await page.waitForFunction(() => /^#\/sequences\/\d+$/
	    .test(location.hash), null, { timeout: 10000 }).catch(() => null);
	const id = (await page.evaluate(() => location.hash)).split("/")[2];
	if (!check(/^\d+$/.test(id || ""), "owner sequences: creating opens " +
	    "the new sequence", await viewText(page)))
		return;
	t.state.seqForm = { id };
	let got = await apiGet(t, "/v1/sequences/" + id);
	check(got.status === 200 && got.body.name === name && got.body.from ===
	    t.env.FF_FROM && got.body.status === "draft" &&
	    got.body.steps.length === 2 && got.body.steps[1].delay === "2d" &&
	    got.body.steps[1]["if"] === "not_opened" && got.body.steps[0].delay ===
	    "0s" && (!tpl || got.body.steps[0].template_id === tpl) &&
	    got.body.trigger && /^\d+$/.test(got.body.trigger.list_id),
	    "owner sequences: the API has the sequence as the form gave it",
	    got.body);
	await page.waitForSelector(".seq-status");
	const facts = await page.locator(".seq-facts").innerText();
	check(facts.includes("joining the list " + t.xss[1]), "owner " +
	    "sequences: the trigger list shows by its name, as text", facts);
	check((await page.locator(".seq-status").textContent())
	    .includes("draft"),
	    "owner sequences: a new sequence shows as a draft");

	// Activate: the status shows it, and the API agrees.
	await page.getByRole("button", { name: "Activate" }).click();
	const active = await until(async () => (await page.locator(
	    ".seq-status").textContent().catch(() => "")).includes("active"));
	got = await apiGet(t, "/v1/sequences/" + id);
	check(active && got.body.status === "active", "owner sequences: " +
	    "\"Activate\" makes it active, shown on the page", got.body);
	check(await page.getByRole("button", { name: "Pause" }).count() === 1,
	    "owner sequences: an active sequence offers \"Pause\"");
	const focused = await page.evaluate(() =>
	    document.activeElement.textContent);
	check(focused === "Pause", "owner sequences: the focus goes to the " +
	    "button that replaced \"Activate\"", focused);

	// Enroll a contact of this test's own and an unknown address.
	const who = "enrolled" + Date.now() + "@app.test";
	const made = await pageCall(page, "POST", "/v1/contacts",
	    { email: who, first_name: "Enid" });
	check(made.status === 200 && made.js.created === 1, "owner " +
	    "sequences: a contact to enroll", made);
	await page.getByLabel("Addresses to enroll (one a line)")
	    .fill(who + "\nnobody-here@app.test");
	await page.getByRole("button", { name: "Enroll", exact: true }).click();
	const answer = await until(async () => {
		const s = await page.locator("form[aria-label=enroll] p.ok")
		    .innerText();
		return s.includes("enrolled") ? s : null;
	});
	check(answer && answer.startsWith("1 enrolled") &&
	    answer.includes("nobody-here@app.test"), "owner sequences: the " +
	    "enroll answer says who was enrolled and who was skipped, why",
	    answer);
	got = await apiGet(t, "/v1/sequences/" + id);
	check(got.body.enrolled === 1, "owner sequences: the API counts the " +
	    "enrollment", got.body);
	const figures = await until(async () => {
		const s = await page.locator(".figures").innerText();
		return /Enrolled\s+1/i.test(s) ? s : null;
	});
	check(figures, "owner sequences: the figures show the enrollment",
	    await page.locator(".figures").innerText());
	await t.screen("sequences-detail");

	await t.go("sequences");
	shown = await viewText(page);
	check(shown.includes(name), "owner sequences: the new sequence is " +
	    "listed", shown.slice(0, 400));
}

export async function viewer(t) {
	const { page, check } = t;

	await t.go("sequences");
	const shown = await viewText(page);
	check(shown.includes(t.xss[0]), "viewer sequences: the seeded " +
	    "sequence's name shows as text", shown.slice(0, 400));
	check(await page.getByRole("link", { name: "New sequence" }).count()
	    === 0, "viewer sequences: no \"New sequence\" link");
	await t.screen("sequences");

	const id = t.state.seqForm && t.state.seqForm.id;
	if (!check(id, "viewer sequences: the owner's sequence exists"))
		return;
	await t.go("sequences/" + id);
	await page.waitForSelector(".seq-status");
	const writes = await page.locator("#view form, #view button").count();
	check(writes === 0, "viewer sequences: no activate, pause or enroll " +
	    "control", writes);
	const r = await pageCall(page, "POST", "/v1/sequences/" + id +
	    "/pause");
	check(r.status === 403, "viewer sequences: a forged pause with the " +
	    "viewer's session and CSRF token is 403", r);
	const e = await pageCall(page, "POST", "/v1/sequences/" + id +
	    "/enroll", { emails: ["xss1@app.test"] });
	check(e.status === 403, "viewer sequences: a forged enroll is 403", e);
	await t.screen("sequences-detail");
}
