// app.mjs: the marketer's app in Debian's headless Chromium, driven by
// playwright-core.  Run by tests/integration/test_app.py, which starts
// fanfared, creates the users and seeds names that try to inject script,
// and reads what this prints: one JSON object a line, {"ok", "name",
// "diag"?} per check and {"screenshot": "/path.png"} per picture.
//
// An owner logs in with a password, then every screen's module in
// tests/browser/app/ runs in the order of SCREENS: its owner(t) part
// first, all of them; then a viewer logs in and each module's viewer(t)
// part runs.  A module exports either or both; t is described below.
//
// Environment: FF_APP (URL of /dashboard/), FF_OWNER and FF_VIEWER
// ("email:password"), FF_KEY (the tenant's API key: it must appear
// nowhere in the page), FF_OUT (screenshots), FF_CHROMIUM, and whatever
// the modules read (FF_MAIL_DIR, FF_TRACK, ...: see test_app.py).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const SCREENS = ["contacts", "lists", "templates", "campaigns", "sequences",
    "suppression", "privacy", "domains", "webhooks", "users", "account"];

const env = (name, dflt) => {
	const v = process.env[name] ?? dflt;
	if (v === undefined)
		throw new Error(`${name} is not set`);
	return v;
};
const APP = env("FF_APP");
const OUT = env("FF_OUT");
const CHROMIUM = env("FF_CHROMIUM", "/usr/bin/chromium");
const KEY = env("FF_KEY");
const ONLY = env("FF_SCREENS", "").split(",").filter(Boolean);
// The seeded names: shown as text, never run (window.__xss stays unset).
const XSS = JSON.parse(env("FF_XSS", "[]"));
const AXE = fs.readFileSync(createRequire(import.meta.url)
    .resolve("axe-core/axe.min.js"), "utf8");
// A person's browser, not a link scanner (see dashboard.mjs).
const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " +
    "(KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

let failures = 0;
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const check = (cond, name, diag) => {
	if (!cond)
		failures++;
	say(diag === undefined || cond ? { ok: !!cond, name } :
	    { ok: !!cond, name, diag: typeof diag === "string" ? diag :
	    JSON.stringify(diag) });
	return !!cond;
};

// The problems a page reports: script errors and CSP violations.
const problems = [];
const watch = (page, who) => {
	page.on("pageerror", (e) => problems.push(who + " pageerror: " +
	    e.message));
	page.on("console", (m) => {
		if (m.type() === "error" && !/status of 4\d\d/.test(m.text()))
			problems.push(who + " console: " + m.text());
	});
};

async function login(context, who, cred) {
	const [email, password] = cred.split(/:(.*)/s);
	const page = await context.newPage();

	watch(page, who);
	await page.goto(APP);
	await page.waitForSelector("#login-form", { state: "visible" });
	await page.fill("#login-email", email);
	await page.fill("#login-password", password);
	await page.click("#login-form button[type=submit]");
	await page.waitForSelector("#nav-list a", { timeout: 15000 });
	return page;
}

function makeT(page, context, role) {
	const t = {
		page, context, role, app: APP, env: process.env, check,
		xss: XSS, state: t_state,
		// Opens a screen (#/name/params) and waits for its title.
		async go(hash) {
			// In the app already: its own router (a hash equal to the
			// current one is rendered afresh); else a page load.
			if (page.url().startsWith(APP) && await page.evaluate(() =>
			    !!(window.FF && FF.session())))
				await page.evaluate((x) => FF.go(x), hash);
			else
				await page.goto(APP + "#/" + hash);
			await page.waitForSelector("#screen-title",
			    { timeout: 15000 });
			await t.settled();
		},
		// No API call of the page on its way, twice 100 ms apart (a
		// screen's answers start the next calls).  Not "networkidle":
		// a mail's preview frame or a poll can keep that from firing.
		async settled() {
			for (let quiet = 0; quiet < 2;) {
				await page.waitForFunction(() => window.FF &&
				    FF.busy() === 0, null, { timeout: 30000 });
				await page.waitForTimeout(100);
				quiet = await page.evaluate(() => FF.busy()) === 0 ?
				    quiet + 1 : 0;
			}
		},
		// A screenshot at 1280 px and one at a phone's width; at the
		// phone's the page must not scroll sideways.
		async shot(name) {
			const base = path.join(OUT, role + "-" + name);
			await page.screenshot({ path: base + ".png",
			    fullPage: true });
			say({ screenshot: base + ".png" });
			await page.setViewportSize(PHONE);
			await page.waitForTimeout(100);
			const over = await page.evaluate(() =>
			    document.documentElement.scrollWidth -
			    window.innerWidth);
			await page.screenshot({ path: base + "-phone.png",
			    fullPage: true });
			say({ screenshot: base + "-phone.png" });
			await page.setViewportSize(DESKTOP);
			check(over <= 1, `${role} ${name}: the page fits a ` +
			    `${PHONE.width} px screen (no sideways scroll)`,
			    `${over} px too wide`);
		},
		// axe-core over the whole page: no serious or critical
		// violation.  Evaluated through the DevTools protocol, which
		// the page's CSP does not govern.
		async axe(name) {
			const res = await page.evaluate(AXE + `
			    ;axe.run(document, { resultTypes: ["violations"] })
			    .then((r) => r.violations.filter((v) =>
			    v.impact === "serious" || v.impact === "critical")
			    .map((v) => v.id + " (" + v.impact + "): " +
			    v.nodes.slice(0, 3).map((n) => n.target.join(" "))
			    .join(", ")))`);
			check(res.length === 0, `${role} ${name}: axe-core ` +
			    "finds no serious or critical violation",
			    res.join("\n"));
		},
		// The seeded names did not run: no marker, no injected node.
		async noXss(name) {
			const r = await page.evaluate(() => ({
				ran: window.__xss !== undefined,
				nodes: document.querySelectorAll(
				    "img[src='x'], script:not([src]), " +
				    "[onerror], [onload]").length,
			}));
			check(!r.ran && r.nodes === 0, `${role} ${name}: no ` +
			    "injected script ran and no injected element exists",
			    r);
		},
		// The same checks on another page (another user's browser).
		withPage(p, who) {
			return makeT(p, p.context(), who);
		},
		// shot + axe + noXss: what every screen gets.
		async screen(name) {
			await t.noXss(name);
			await t.axe(name);
			await t.shot(name);
		},
	};
	return t;
}
const t_state = {};	// what one module leaves the next (ids, names)

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ff-chromium-"));
let browser;
try {
	browser = await chromium.launch({ executablePath: CHROMIUM,
	    headless: true, args: ["--no-sandbox", "--disable-gpu",
	    "--disable-quic", "--no-first-run",
	    "--disable-background-networking", "--disable-component-update",
	    "--disable-sync"] });
	const mods = [];
	for (const s of SCREENS) {
		const f = path.join(path.dirname(new URL(import.meta.url)
		    .pathname), "app", s + ".mjs");
		if ((ONLY.length === 0 || ONLY.includes(s)) &&
		    fs.existsSync(f))
			mods.push([s, await import(f)]);
	}

	// The owner: a password login, and no key anywhere.
	const oc = await browser.newContext({ viewport: DESKTOP,
	    userAgent: UA });
	// The login form itself: axe, both widths.
	const lp = await oc.newPage();
	watch(lp, "login");
	await lp.goto(APP);
	await lp.waitForSelector("#login-form", { state: "visible" });
	const lt = makeT(lp, oc, "anonymous");
	await lt.axe("login");
	await lt.shot("login");
	await lp.close();
	const op = await login(oc, "owner", env("FF_OWNER"));
	const stored = await op.evaluate(() => [document.cookie,
	    localStorage.length, sessionStorage.length]);
	check(stored[0] === "" && stored[1] === 0 && stored[2] === 0,
	    "after the login the page sees no cookie (HttpOnly) and stores " +
	    "nothing", stored);
	const cookies = await oc.cookies();
	const sc = cookies.find((c) => c.name === "fanfare_session");
	check(sc && sc.httpOnly && sc.sameSite === "Strict" && sc.path === "/",
	    "the session cookie is HttpOnly, SameSite=Strict, Path=/", cookies);
	const ot = makeT(op, oc, "owner");
	for (const [s, m] of mods)
		if (m.owner) {
			try {
				await m.owner(ot);
			} catch (e) {
				check(false, `owner ${s}: the screen's steps ran`
				    + " to their end", e.stack || e);
				await op.screenshot({ path: path.join(OUT,
				    "owner-" + s + "-failed.png") });
			}
		}
	const html = await op.content();
	check(!html.includes(KEY) && !html.includes(KEY.slice(0, 16)),
	    "the tenant's API key is nowhere in the page");

	// The viewer: reads, cannot act.
	const vc = await browser.newContext({ viewport: DESKTOP,
	    userAgent: UA });
	const vp = await login(vc, "viewer", env("FF_VIEWER"));
	const vt = makeT(vp, vc, "viewer");
	for (const [s, m] of mods)
		if (m.viewer) {
			try {
				await m.viewer(vt);
			} catch (e) {
				check(false, `viewer ${s}: the screen's steps ` +
				    "ran to their end", e.stack || e);
				await vp.screenshot({ path: path.join(OUT,
				    "viewer-" + s + "-failed.png") });
			}
		}

	// Logging out ends the session: its cookie no longer works.
	const before = (await oc.cookies()).find((c) =>
	    c.name === "fanfare_session");
	await op.click("#logout");
	await op.waitForSelector("#login-form", { state: "visible" });
	const stolen = await fetch(new URL("/v1/campaigns", APP), {
	    headers: { Cookie: "fanfare_session=" + before.value } });
	check(stolen.status === 401, "after logging out the old session " +
	    "cookie gets 401", stolen.status);
	check(problems.length === 0, "no script error and no CSP violation " +
	    "in any page's console", problems.join("\n"));
} catch (e) {
	check(false, "the browser session ran to its end", e.stack || e);
} finally {
	if (browser)
		await browser.close();
	fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
