// admin-lib.mjs: what the owner screens' modules (suppression, privacy,
// domains, webhooks, users) share: API calls made from inside the page
// (its session cookie and CSRF token), a fresh browser context logged in
// as another user, the checks that a viewer has no write control and is
// refused a forged write, and small waits.

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

// The text of the view.
export async function viewText(t) {
	return t.page.textContent("#view");
}
