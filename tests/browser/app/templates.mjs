// templates.mjs: the templates screen (templates/dashboard/templates.js)
// as its users work it.  The owner writes a template in the editor and
// watches the server-rendered preview follow the typing with the sample
// contact's name put in, makes a syntax error and reads its line and
// column, saves (checked through the API), and sends a test that must
// arrive in the SMTP capture's directory (FF_MAIL_DIR) with the rendered
// subject.  The viewer reads, finds no control that writes, and a forged
// PUT with the viewer's own session and CSRF token is refused 403.
import fs from "node:fs";
import path from "node:path";
import { until } from "./lib.mjs";

// A call from inside the page with its session cookie and CSRF token.
export async function pageCall(page, method, url, body) {
	return page.evaluate(async ([method, url, body]) => {
		const s = await (await fetch("/v1/session",
		    { credentials: "same-origin" })).json();
		const r = await fetch(url, { method, credentials: "same-origin",
		    headers: { "Content-Type": "application/json",
		    "X-CSRF-Token": s.csrf_token || "" },
		    body: body === undefined ? undefined :
		    JSON.stringify(body) });
		const text = await r.text();
		let js = null;
		try {
			js = JSON.parse(text);
		} catch (e) {
			js = null;
		}
		return { status: r.status, js, text };
	}, [method, url, body]);
}

// The view's text once its list or form is drawn.
export async function viewText(page) {
	await page.waitForSelector("#view table, #view form, " +
	    "#view .error:not(:empty)", { timeout: 10000 }).catch(() => null);
	return page.locator("#view").innerText();
}
const previewText = (page) => page.locator(".tpl-text").innerText();
// The mail's frame: inside preview.html, the frame the editor shows.
const mailFrame = (page) => page.frameLocator("iframe.preview")
    .frameLocator("iframe");
const frameText = (page) => mailFrame(page).locator("body")
    .innerText({ timeout: 5000 }).catch(() => "");

// Inline styles, as mail has them: the preview must apply them.
const STYLED = "<h1 style=\"color: rgb(200, 0, 0)\">Dear {{first_name}}" +
    "</h1>\n<style>p { font-size: 31px; }</style><p>the html part</p>";

export async function owner(t) {
	const { page, check } = t;

	await t.go("templates");
	const listed = await viewText(page);
	check(listed.includes(t.xss[0]), "owner templates: the seeded " +
	    "template's name shows as text in the list", listed.slice(0, 400));
	check(await page.getByRole("link", { name: "New template" }).count()
	    === 1, "owner templates: a \"New template\" link");
	await t.screen("templates");

	// A new template: the preview follows the typing.
	await page.getByRole("link", { name: "New template" }).click();
	await page.waitForSelector("form[aria-label=template]");
	const name = "Welcome " + Date.now();
	await page.getByLabel("Name", { exact: true }).fill(name);
	await page.getByLabel("Subject", { exact: true })
	    .fill("Hi {{first_name}}, your welcome");
	await page.getByLabel("Text part", { exact: true })
	    .fill("Dear {{first_name}} {{last_name}},\nthis is the text part.");
	await page.getByLabel("HTML part", { exact: true })
	    .fill(STYLED);
	let text = await until(async () => {
		const s = await previewText(page);
		return s.includes("this is the text part") ? s : null;
	});
	check(text && text.includes("Dear Jane Doe,"), "owner templates: " +
	    "the preview shows the text part as typed, the sample contact's " +
	    "name put in", text);
	let subject = await page.locator(".tpl-subject").innerText();
	check(subject === "Hi Jane, your welcome", "owner templates: the " +
	    "preview shows the rendered subject", subject);
	let html = await until(async () => {
		const s = await frameText(page);
		return s.includes("Dear Jane") ? s : null;
	});
	check(html, "owner templates: the HTML part is rendered in the " +
	    "sandboxed frame with the name put in", await frameText(page));
	const sandbox = await page.frameLocator("iframe.preview")
	    .locator("iframe").getAttribute("sandbox");
	check(sandbox === "", "owner templates: the mail's frame is " +
	    "sandboxed with no permission (sandbox=\"\")", sandbox);
	const look = await mailFrame(page).locator("h1").evaluate((e) =>
	    [getComputedStyle(e).color, getComputedStyle(e.ownerDocument
	    .querySelector("p")).fontSize]).catch((e) => String(e));
	check(look[0] === "rgb(200, 0, 0)" && look[1] === "31px",
	    "owner templates: the mail's inline styles (attribute and " +
	    "<style>) apply in the preview", look);
	// The frame's page has its own policy: nothing runs, styles inline.
	const pv = await page.request.get(new URL("preview.html", t.app).href);
	const csp = pv.headers()["content-security-policy"] || "";
	check(pv.status() === 200 && csp.includes("default-src 'none'") &&
	    csp.includes("style-src 'unsafe-inline'") &&
	    !/script-src/.test(csp) && csp.includes("frame-ancestors 'self'")
	    && pv.headers()["x-frame-options"] === "SAMEORIGIN",
	    "owner templates: preview.html is served with its own policy " +
	    "(no script, inline styles, framed by the app only)",
	    [pv.status(), pv.headers()]);

	// Typing again changes the preview: another sample name.
	await page.getByLabel("Sample first name").fill("Ada");
	text = await until(async () => {
		const s = await previewText(page);
		return s.includes("Dear Ada Doe,") ? s : null;
	});
	check(text, "owner templates: changing the sample contact's name " +
	    "re-renders the preview", await previewText(page));
	html = await until(async () => {
		const s = await frameText(page);
		return s.includes("Dear Ada") ? s : null;
	});
	check(html, "owner templates: the HTML frame follows too",
	    await frameText(page));

	// A syntax error: its line and column, as the server gives them.
	const broken = "<p>fine</p>\n<p>Hi {{first_name</p>";
	await page.getByLabel("HTML part", { exact: true }).fill(broken);
	const api = await pageCall(page, "POST", "/v1/templates/preview",
	    { subject: "x", html: broken, text: "x" });
	check(api.status === 422 && api.js.error.code === "template_syntax" &&
	    api.js.error.line === 2, "owner templates: the server answers " +
	    "422 template_syntax, line 2", api);
	const err = api.js && api.js.error ? api.js.error : {};
	const words = await until(async () => {
		const s = await page.locator("form[aria-label=template] " +
		    "p.error[aria-live]").innerText();
		return s.includes("line") ? s : null;
	});
	check(words && words.includes("html") && words.includes("line " +
	    err.line + ", column " + err.column), "owner templates: the " +
	    "editor shows the error in words with its part, line and column",
	    words);
	check(await page.getByLabel("HTML part", { exact: true })
	    .getAttribute("aria-invalid") === "true", "owner templates: the " +
	    "HTML part is marked invalid");
	// The button puts the caret where the engine stopped.
	await page.getByRole("button", { name: "Show the error in the " +
	    "editor" }).click();
	const caret = await page.evaluate(() => [document.activeElement.name,
	    document.activeElement.selectionStart]);
	const want = broken.split("\n").slice(0, err.line - 1)
	    .reduce((n, l) => n + l.length + 1, 0) + err.column - 1;
	check(caret[0] === "html" && caret[1] === want, "owner templates: " +
	    "\"Show the error in the editor\" puts the caret at the line " +
	    "and column", { caret, want });
	await t.shot("templates-syntax");

	// Mended and saved: the API has what was typed.
	const good = STYLED;
	await page.getByLabel("HTML part", { exact: true }).fill(good);
	await until(async () => (await page.locator(
	    "form[aria-label=template] p.error[aria-live]").innerText()) ===
	    "");
	await page.getByRole("button", { name: "Create the template" }).click();
	await page.waitForFunction(() => /^#\/templates\/\d+$/
	    .test(location.hash), null, { timeout: 10000 });
	const id = (await page.evaluate(() => location.hash)).split("/")[2];
	const saved = await page.request.get(new URL("/v1/templates/" + id,
	    t.app).href);
	const js = await saved.json();
	check(saved.status() === 200 && js.name === name && js.subject ===
	    "Hi {{first_name}}, your welcome" && js.html === good &&
	    js.text.startsWith("Dear {{first_name}}"), "owner templates: " +
	    "saving stores the template as typed (GET /v1/templates/{id})",
	    js);
	const said = await page.locator("form[aria-label=template] p.ok")
	    .innerText();
	check(said.startsWith("Created. No link is tracked"), "owner " +
	    "templates: the new template's page says it was created", said);
	// For sequences.mjs (a key of this module's own).
	t.state.tplEditor = { id, name };
	await page.waitForSelector("form[aria-label='send a test']");
	text = await until(async () => {
		const s = await previewText(page);
		return s.includes("Dear Jane") ? s : null;
	});
	check(text, "owner templates: the saved template opens with its " +
	    "preview", await previewText(page));

	// An edit, saved with PUT.
	await page.getByLabel("Subject", { exact: true })
	    .fill("Hi {{first_name}}, welcome aboard");
	await page.getByRole("button", { name: "Save", exact: true }).click();
	const note = await until(async () => {
		const s = await page.locator("form[aria-label=template] p.ok")
		    .innerText();
		return s.startsWith("Saved") ? s : null;
	});
	check(note, "owner templates: \"Save\" says it saved");
	const js2 = await (await page.request.get(new URL("/v1/templates/" +
	    id, t.app).href)).json();
	check(js2.subject === "Hi {{first_name}}, welcome aboard",
	    "owner templates: the edit is stored", js2);

	// A test send: it arrives, rendered for the sample contact.
	await page.getByLabel("Sample first name").fill("Grace");
	const rcpt = "tester" + Date.now() + "@app.test";
	await page.getByLabel("Send a test to").fill(rcpt);
	await page.getByRole("button", { name: "Send the test" }).click();
	const answer = await until(async () => {
		const s = await page.locator("form[aria-label='send a test'] " +
		    ".tpl-answer, form[aria-label='send a test'] .error")
		    .allInnerTexts();
		return s.join(" ").trim() || null;
	});
	check(answer && answer.includes("queued") && answer.includes(rcpt),
	    "owner templates: the test send's answer is shown in words",
	    answer);
	const dir = path.join(t.env.FF_MAIL_DIR, "new");
	const mail = await until(() => {
		let files = [];
		try {
			files = fs.readdirSync(dir).filter((f) =>
			    f.endsWith(".eml") && f.includes(rcpt));
		} catch (e) {
			return null;
		}
		return files.length ? fs.readFileSync(path.join(dir, files[0]),
		    "utf8") : null;
	}, 20000);
	const subj = mail && /^Subject: (.*)$/m.exec(mail);
	check(subj && subj[1].includes("Hi Grace, welcome aboard"),
	    "owner templates: the test mail arrived at " + rcpt + " with the " +
	    "rendered subject", subj ? subj[1] : mail ? mail.slice(0, 600) :
	    "no mail in " + dir);
	await t.screen("templates-editor");
}

export async function viewer(t) {
	const { page, check } = t;

	await t.go("templates");
	const listed = await viewText(page);
	check(listed.includes(t.xss[0]), "viewer templates: the seeded " +
	    "template's name shows as text", listed.slice(0, 400));
	check(await page.getByRole("link", { name: "New template" }).count()
	    === 0, "viewer templates: no \"New template\" link");
	await t.screen("templates");

	const id = t.state.tplEditor && t.state.tplEditor.id;
	if (!check(id, "viewer templates: the owner's template exists"))
		return;
	await t.go("templates/" + id);
	await until(async () => (await page.getByLabel("Name", { exact: true })
	    .inputValue()) !== "");
	check(await page.getByLabel("Name", { exact: true }).inputValue() ===
	    t.state.tplEditor.name, "viewer templates: the template's parts " +
	    "are shown");
	const controls = await page.locator("#view button, #view " +
	    "textarea:not([readonly]), #view input:not([readonly])").count();
	check(controls === 0 && await page.locator("#view form").count() === 0,
	    "viewer templates: no save, preview or test-send control, every " +
	    "field read-only", controls);
	const stored = await until(async () => {
		const s = await frameText(page);
		return s.includes("Dear {{first_name}}") ? s : null;
	});
	check(stored, "viewer templates: the stored HTML is shown in the " +
	    "sandboxed frame, merge tags as written", await frameText(page));
	const put = await pageCall(page, "PUT", "/v1/templates/" + id,
	    { name: "forged", subject: "forged", html: "<p>x</p>", text: "x" });
	check(put.status === 403, "viewer templates: a forged PUT " +
	    "/v1/templates/{id} with the viewer's session and CSRF token is " +
	    "403", put);
	const test = await pageCall(page, "POST", "/v1/templates/" + id +
	    "/test", { email: "viewer-forged@app.test" });
	check(test.status === 403, "viewer templates: a forged test send is " +
	    "403", test);
	await t.screen("templates-view");
}
