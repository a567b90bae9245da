// app/lib.mjs: what the screens' modules share (not a screen itself:
// app.mjs imports only the names in its SCREENS): API calls made from
// inside the page (its session cookie and CSRF token) or beside it, a
// fresh browser context logged in as another user, the checks that a
// viewer has no write control and is refused a forged write, small
// waits, and the SMTP capture's mail.
import fs from "node:fs";
import path from "node:path";

// The newest captured message to rcpt whose text matches re (smtp-
// capture.py writes DIR/new/SEQ-RCPT.eml), waiting up to ms; or null.
export async function mailFor(dir, rcpt, page, re = /./, ms = 20000) {
	const d = path.join(dir, "new");

	for (const end = Date.now() + ms; Date.now() < end;) {
		const files = fs.existsSync(d) ? fs.readdirSync(d).filter((n) =>
		    n.endsWith("-" + rcpt + ".eml")).sort().reverse() : [];
		for (const f of files) {
			const raw = fs.readFileSync(path.join(d, f), "latin1");
			if (re.test(raw))
				return raw;
		}
		await page.waitForTimeout(250);
	}
	return null;
}

// A message's part of that type ("text/html", "text/plain"), decoded
// (fanfared writes 7bit, 8bit, quoted-printable or base64 parts).
export function mailPart(raw, type) {
	const bounds = [...raw.matchAll(/boundary="?([^";\r\n]+)"?/gi)]
	    .map((m) => m[1].replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
	const parts = bounds.length ? raw.split(new RegExp("--(?:" +
	    bounds.join("|") + ")")) : [raw];
	const want = new RegExp("^content-type:\\s*" + type.replace("/",
	    "\\/"), "im");

	for (const p of parts) {
		const i = p.search(/\r?\n\r?\n/);
		if (i < 0)
			continue;
		const head = p.slice(0, i);
		let body = p.slice(i).replace(/^\r?\n\r?\n/, "");
		if (!want.test(head))
			continue;
		if (/^content-transfer-encoding:\s*quoted-printable/im.test(head))
			body = Buffer.from(body.replace(/=\r?\n/g, "").replace(
			    /=([0-9A-Fa-f]{2})/g, (_, x) =>
			    String.fromCharCode(parseInt(x, 16))), "latin1")
			    .toString("utf8");
		else if (/^content-transfer-encoding:\s*base64/im.test(head))
			body = Buffer.from(body, "base64").toString("utf8");
		else
			body = Buffer.from(body, "latin1").toString("utf8");
		return body;
	}
	return null;
}

// fetch from the page: the session cookie goes along, and the CSRF token
// is the one the app holds.  {status, js}.
export async function api(t, method, path, body) {
	return t.page.evaluate(async ([m, p, b]) => {
		const s = window.FF && FF.session();
		const init = { method: m, credentials: "same-origin",
		    headers: { "Accept": "application/json" } };
		if (m !== "GET" && s)
			init.headers["X-CSRF-Token"] = s.csrf_token;
		if (b !== null) {
			init.body = JSON.stringify(b);
			init.headers["Content-Type"] = "application/json";
		}
		const r = await fetch(p, init);
		const text = await r.text();
		let js = null;
		try {
			js = text ? JSON.parse(text) : null;
		} catch (e) {
			js = text;
		}
		return { status: r.status, js };
	}, [method, path, body === undefined ? null : body]);
}

// A write made by hand with the page's session and its CSRF token (from
// GET /v1/session, else the app's own copy): the server must refuse it.
export async function forged(t, method, path, body) {
	return t.page.evaluate(async ([m, p, b]) => {
		let tok = null;
		const s = await fetch("/v1/session", { credentials:
		    "same-origin" });
		if (s.ok)
			tok = (await s.json()).csrf_token;
		if (!tok && window.FF && FF.session())
			tok = FF.session().csrf_token;
		const r = await fetch(p, { method: m, credentials:
		    "same-origin", headers: { "Content-Type":
		    "application/json", "X-CSRF-Token": tok || "" },
		    body: JSON.stringify(b) });
		return { status: r.status, token: !!tok,
		    body: (await r.text()).slice(0, 300) };
	}, [method, path, body]);
}

// The view's controls that change something: buttons other than the
// pager's and those allowed, and forms other than the allowed ones.
export async function writeControls(t, allowed) {
	return t.page.evaluate((allow) => {
		const re = new RegExp(allow || "^$");
		const out = [];
		document.querySelectorAll("#view button, #view form, " +
		    "#view input, #view select, #view textarea").forEach((e) => {
			const name = (e.textContent || e.getAttribute(
			    "aria-label") || e.name || "").trim();
			if (e.closest("nav.pages"))
				return;
			if (e.tagName === "BUTTON" && re.test(name))
				return;
			if (e.tagName === "FORM" && re.test(e.getAttribute(
			    "aria-label") || ""))
				return;
			if (e.tagName !== "BUTTON" && e.tagName !== "FORM" &&
			    e.closest("form") && re.test(e.closest("form")
			    .getAttribute("aria-label") || ""))
				return;
			out.push(e.tagName.toLowerCase() + " " + name);
		});
		return out;
	}, allowed || null);
}

// Another user in a browser context of their own; {context, page}.
export async function loginAs(t, cred) {
	const [email, password] = cred.split(/:(.*)/s);
	const context = await t.context.browser().newContext({
	    viewport: { width: 1280, height: 900 } });
	const page = await context.newPage();
	await page.goto(t.app);
	await page.waitForSelector("#login-form", { state: "visible" });
	await page.fill("#login-email", email);
	await page.fill("#login-password", password);
	await page.click("#login-form button[type=submit]");
	await page.waitForSelector("#nav-list a", { timeout: 15000 });
	return { context, page };
}

// The nav's screen names.
export async function navScreens(page) {
	return page.$$eval("#nav-list a", (as) => as.map((a) =>
	    a.getAttribute("data-screen")));
}

// Polls fn() until it answers something truthy or ms pass.
export async function until(fn, ms = 15000, step = 250) {
	const end = Date.now() + ms;
	let v;
	while (!(v = await fn()) && Date.now() < end)
		await new Promise((r) => setTimeout(r, step));
	return v;
}

// The text of the view (as rendered: innerText).
export async function viewText(page) {
	return page.locator("#view").innerText();
}

// GET beside the page with its cookie (Playwright's request context):
// {status, body} (body null unless 2xx).
export async function apiGet(t, p) {
	const res = await t.page.request.get(new URL(p, t.app).href);
	return { status: res.status(), body: res.ok() ? await res.json() :
	    null };
}
