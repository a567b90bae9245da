// dashboard.mjs: a person at the dashboard, in Debian's headless
// Chromium driven by playwright-core (the library only: no browser
// download, the machine's /usr/bin/chromium).  Run by
// tests/integration/test_browser.py, which starts fanfared, sends the
// campaign and checks what this prints: one JSON object a line,
// {"ok": bool, "name": "...", "diag"?: "..."} per check and
// {"screenshot": "/path.png"} per picture.
//
// Environment: FF_DASHBOARD (URL of /dashboard/), FF_EMAIL and
// FF_PASSWORD (an owner's login), FF_KEY (the tenant's API key: it must
// appear nowhere in the page), FF_CAMPAIGN (id), FF_MAIL (path of a
// captured mail's HTML part),
// FF_OUT (directory for screenshots), FF_CHROMIUM (default
// /usr/bin/chromium), FF_READER_ADDR (the reader's address, sent as
// X-Forwarded-For from the mail's tab: fanfared trusts 127.0.0.1 and
// has a GeoIP database that knows the address).
//
// It logs in with the password, opens the campaign from the campaigns
// screen (templates/dashboard/campaigns.js), reads its figures and
// charts, then
// opens the mail in another tab (which loads the pixel) and clicks its
// first link, and waits for the dashboard, refreshing by itself, to show
// one more open and one more click.
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
const DASHBOARD = env("FF_DASHBOARD");
const EMAIL = env("FF_EMAIL");
const PASSWORD = env("FF_PASSWORD");
const KEY = env("FF_KEY");
const CAMPAIGN = env("FF_CAMPAIGN");
const MAIL = env("FF_MAIL");
const OUT = env("FF_OUT");
const CHROMIUM = env("FF_CHROMIUM", "/usr/bin/chromium");
const READER_ADDR = env("FF_READER_ADDR", "");

// Headless Chromium calls itself HeadlessChrome, which fanfared rightly
// counts as a link scanner.  This test plays a person reading the mail,
// so it presents desktop Chromium's own User-Agent.
const READER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " +
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

// What the campaign page shows: the figures and the charts' own totals.
const readFigures = (page) => page.evaluate(() => {
	const num = (id) => Number(document.getElementById(id).textContent);
	const svg = (id) => document.querySelector(`#${id} svg`);
	const data = (id, k) => Number(svg(id)?.getAttribute("data-" + k) ??
	    NaN);
	return {
		sent: num("fig-sent"),
		opens: num("fig-opens"),
		clicks: num("fig-clicks"),
		opens_machine: num("fig-opens-machine"),
		clicks_machine: num("fig-clicks-machine"),
		chart_opens: data("chart-opens", "opens"),
		chart_opens_machine: data("chart-opens", "opens_machine"),
		chart_clicks: data("chart-clicks", "clicks"),
		chart_clicks_machine: data("chart-clicks", "clicks_machine"),
		chart_links: data("chart-links", "total"),
		chart_countries: data("chart-countries", "total"),
		chart_suppressed: data("chart-suppressed", "total"),
		status: document.getElementById("c-status").textContent,
	};
});

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
		viewport: { width: 1280, height: 900 },
		userAgent: READER_UA,
	});
	const page = context.pages()[0] ?? await context.newPage();
	const problems = [];
	page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
	page.on("console", (m) => {
		/* A refused call (GET /v1/session before the login) is the
		 * browser's own 4xx line, not a script's error. */
		if (m.type() === "error" && !/status of 4\d\d/.test(m.text()))
			problems.push("console: " + m.text());
	});

	// 1. The login form, then the list.
	await page.goto(DASHBOARD);
	check(await page.isVisible("#login-form"), "the dashboard loads and "
	    + "shows the login form");
	await shot(page, "1-login");
	await page.fill("#login-email", EMAIL);
	await page.fill("#login-password", PASSWORD);
	await page.click("#login-form button[type=submit]");
	const row = `#campaign-list a[data-campaign="${CAMPAIGN}"]`;
	await page.waitForSelector(row, { timeout: 10000 });
	check(await page.isVisible("#campaign-list") && (await page
	    .textContent(row)) === "Spring news", "logging in lists the "
	    + "campaigns, campaign " + CAMPAIGN + " among them");
	const stored = await page.evaluate(() => [document.cookie,
	    localStorage.length, sessionStorage.length]);
	check(stored[0] === "" && stored[1] === 0 && stored[2] === 0,
	    "the page sees no cookie (the session's is HttpOnly) and stores "
	    + "nothing", stored);
	check(!(await page.content()).includes(KEY.slice(0, 16)),
	    "the tenant's API key is nowhere in the page");
	await shot(page, "2-campaigns");

	// 2. The campaign as sent, before anyone reads the mail.
	await page.click(row);
	await page.waitForFunction(() => document.getElementById("c-status")
	    ?.textContent === "done" && document.querySelector(
	    "#chart-opens svg") !== null, null, { timeout: 15000 });
	const before = await readFigures(page);
	check(before.sent > 0 && before.status === "done", "the campaign "
	    + "shows as done, " + before.sent + " sent", JSON.stringify(before));
	check(before.chart_suppressed === Number(process.env.FF_SUPPRESSED ??
	    before.chart_suppressed), "the suppression chart shows " +
	    before.chart_suppressed + " recipient(s) skipped",
	    JSON.stringify(before));
	check(before.chart_opens === before.opens &&
	    before.chart_clicks === before.clicks, "the charts over time add "
	    + "up to the figures", JSON.stringify(before));
	await shot(page, "3-campaign-before");

	// 3. A reader opens the mail (the pixel loads) and clicks a link.
	const mail = await context.newPage();
	if (READER_ADDR)
		await mail.setExtraHTTPHeaders({ "X-Forwarded-For":
		    READER_ADDR });
	await mail.goto("file://" + MAIL, { waitUntil: "load" });
	const pixel = await mail.evaluate(() => {
		const img = [...document.images].find((i) =>
		    i.src.includes("/o/"));
		return img ? [img.complete, img.naturalWidth,
		    img.naturalHeight] : null;
	});
	check(pixel && pixel[0] && pixel[1] === 1 && pixel[2] === 1,
	    "the mail's open pixel loads: a 1x1 image", JSON.stringify(pixel));
	await shot(mail, "4-mail");
	const link = mail.locator('a[href*="/c/"]').first();
	const target = await link.getAttribute("href");
	await Promise.all([mail.waitForNavigation({ timeout: 10000 }),
	    link.click()]);
	check(!mail.url().includes("/c/"), "clicking its link " + target +
	    " redirects to " + mail.url());
	await mail.close();

	// 4. The dashboard, refreshing itself, shows one more of each.
	await page.bringToFront();
	let after = before;
	const want = (f) => f.opens === before.opens + 1 &&
	    f.clicks === before.clicks + 1 &&
	    f.chart_opens === before.chart_opens + 1 &&
	    f.chart_clicks === before.chart_clicks + 1;
	for (let i = 0; i < 60 && !want(after); i++) {
		await page.waitForTimeout(500);
		after = await readFigures(page);
	}
	check(after.opens === before.opens + 1, "Opens: " + before.opens +
	    " -> " + after.opens, JSON.stringify(after));
	check(after.clicks === before.clicks + 1, "Clicks: " + before.clicks +
	    " -> " + after.clicks, JSON.stringify(after));
	check(after.chart_opens === before.chart_opens + 1 &&
	    after.chart_clicks === before.chart_clicks + 1,
	    "the opens and clicks charts over time show one more human hit "
	    + "each", JSON.stringify(after));
	check(after.chart_links === before.chart_links + 1,
	    "the clicks-per-link chart shows one more click",
	    JSON.stringify(after));
	if (READER_ADDR)
		check(after.chart_countries === before.chart_countries + 2,
		    "the countries chart shows the reader's open and click",
		    JSON.stringify(after));
	check(after.opens_machine === before.opens_machine &&
	    after.clicks_machine === before.clicks_machine,
	    "nothing more counted as machine", JSON.stringify(after));
	await shot(page, "5-campaign-after");

	// 5. Log out: the session is gone, the data too.
	await page.click("#logout");
	await page.waitForSelector("#login-form", { state: "visible" });
	check((await page.textContent("#view")) === "" &&
	    !(await page.isVisible("#app")), "logging out shows the form "
	    + "and drops the data");
	check(problems.length === 0, "no script error and no CSP violation "
	    + "in the console", problems.join("\n"));
} catch (e) {
	check(false, "the browser session ran to its end", e.stack || e);
} finally {
	if (context)
		await context.close();
	fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
