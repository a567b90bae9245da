// signup.mjs: a person signs up on a form's hosted page in Debian's
// headless Chromium (driven by playwright-core), as
// tests/integration/test_forms.py asks: the page loads from the tracking
// listener, the fields are filled and the form submitted, the answer is
// the "check your inbox" page.  One JSON line per check or screenshot on
// stdout, for the Python side to report as TAP.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const env = (name, dflt) => {
	const v = process.env[name] ?? dflt;
	if (v === undefined)
		throw new Error(`${name} is not set`);
	return v;
};
const FORM = env("FF_FORM_URL");
const EMAIL = env("FF_EMAIL");
const FIRST = env("FF_FIRST_NAME");
const OUT = env("FF_OUT");
const CHROMIUM = env("FF_CHROMIUM", "/usr/bin/chromium");
const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " +
    "(KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

let failures = 0;
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const check = (cond, name, diag) => {
	if (!cond)
		failures++;
	say(diag === undefined || cond ? { ok: !!cond, name } :
	    { ok: !!cond, name, diag: String(diag) });
	return !!cond;
};
const shot = async (page, name) => {
	const file = path.join(OUT, name + ".png");
	await page.screenshot({ path: file, fullPage: true });
	say({ screenshot: file });
};

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ff-chromium-"));
let context;
try {
	context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		args: ["--headless", "--no-sandbox", "--disable-gpu",
		    "--disable-quic", "--no-first-run",
		    "--disable-background-networking",
		    "--disable-component-update", "--disable-sync"],
		viewport: { width: 800, height: 700 },
		userAgent: UA,
	});
	const page = context.pages()[0] ?? await context.newPage();
	const problems = [];
	page.on("pageerror", (e) => problems.push("pageerror: " + e.message));

	const res = await page.goto(FORM);
	check(res.status() === 200, "the hosted page answers 200",
	    res.status());
	check(await page.isVisible("form.fanfare-signup input[name=email]"),
	    "the page shows the form with its email field");
	check(await page.isVisible(".fanfare-consent"), "the page shows the "
	    + "consent text");
	check(!(await page.isVisible("input[name=website]")) ||
	    (await page.evaluate(() => document.querySelector(
	    "input[name=website]").getBoundingClientRect().right < 0)),
	    "the honeypot field is out of sight");
	await shot(page, "1-signup-form");
	await page.fill("input[name=email]", EMAIL);
	await page.fill("input[name=first_name]", FIRST);
	await shot(page, "2-signup-filled");
	const [answer] = await Promise.all([
		page.waitForNavigation(),
		page.click("form.fanfare-signup button[type=submit]"),
	]);
	check(answer.status() === 200, "the post answers 200",
	    answer.status());
	const h1 = await page.textContent("h1");
	check(h1 === "Check your inbox", "the answer is the check-your-inbox "
	    + "page", h1);
	await shot(page, "3-signup-answer");
	check(problems.length === 0, "no page errors", problems.join("\n"));
} catch (e) {
	check(false, "the browser run", e.stack ?? e);
} finally {
	if (context)
		await context.close();
	fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
