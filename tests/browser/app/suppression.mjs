// suppression.mjs: the suppression screen.  The owner adds two opt-outs
// and re-subscribes one behind the dialog (Cancel first: still opted
// out), blocks a domain and an address and removes the address; each
// step is checked in the page and against the API.  The viewer sees the
// lists, no control that changes them, and a forged POST /v1/optouts
// with the viewer's session and CSRF token is 403.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { api, forged, writeControls, until } from "./lib.mjs";

const HARD = "bounce-hard@app.test";
const ANGRY = "complain@app.test";

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

// ------------------------------------------- a bounce and a complaint

// One SMTP transaction (null sender) with the bounce listener; the last
// reply's code.
function smtp(port, rcpt, body) {
	const steps = ["EHLO mta.test", "MAIL FROM:<>", `RCPT TO:<${rcpt}>`,
	    "DATA", body.replace(/\r?\n/g, "\r\n") + "\r\n.", "QUIT"];
	return new Promise((resolve, reject) => {
		const s = net.connect(port, "127.0.0.1");
		let buf = "", step = -1, last = 0;
		s.setTimeout(20000, () => s.destroy(new Error("timeout")));
		s.on("error", reject);
		s.on("close", () => resolve(last));
		s.on("data", (d) => {
			buf += d.toString("latin1");
			let m;
			// A whole reply: its last line is "NNN text".
			while ((m = /^(\d{3}) .*\r\n/m.exec(buf))) {
				buf = buf.slice(m.index + m[0].length);
				last = Number(m[1]);
				if (last >= 400 || ++step >= steps.length) {
					s.end();
					return;
				}
				s.write(steps[step] + "\r\n");
			}
		});
	});
}

const DSN = (verp, rcpt) => `From: MAILER-DAEMON@mta.test
To: <${verp}>
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.test

Final-Recipient: rfc822; ${rcpt}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 no such user

--b1
Content-Type: text/rfc822-headers

Subject: Hello
From: news@acme.test

--b1--`;

const ARF = (verp, rcpt) => `From: fbl@provider.test
To: <${verp}>
Subject: FW: Hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b2"

--b2
Content-Type: text/plain

This is an email abuse report.

--b2
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <${rcpt}>
Source-IP: 192.0.2.1

--b2
Content-Type: message/rfc822

From: News <news@acme.test>
To: ${rcpt}
Subject: Hello

Hi

--b2--`;

// The envelope senders (VERP) the capture saw for each recipient.
function verps(dir) {
	const out = {};
	let text = "";
	try {
		text = fs.readFileSync(path.join(dir, "log.jsonl"), "utf8");
	} catch (e) {
		return out;
	}
	for (const line of text.split("\n").filter(Boolean)) {
		const e = JSON.parse(line);
		if ("seq" in e)
			for (const r of e.rcpt_tos)
				out[r.toLowerCase()] = e.mail_from;
	}
	return out;
}

// A campaign to two contacts of our own; then a hard bounce of one and
// a complaint of the other reach the bounce listener.  The campaign id.
async function bounceAndComplain(t) {
	const a = (m, p, b) => api(t, m, p, b);
	await a("POST", "/v1/contacts", [{ email: HARD }, { email: ANGRY }]);
	const l = await a("POST", "/v1/lists", { name: "Bounce test" });
	await a("POST", `/v1/lists/${l.js.id}/members`,
	    { emails: [HARD, ANGRY] });
	const tp = await a("POST", "/v1/templates", { name: "Bounce test",
	    subject: "Hello", html: "<p>Hi</p>", text: "Hi\n" });
	const c = await a("POST", "/v1/campaigns", { name: "Bounce test",
	    template_id: tp.js.id, list_id: l.js.id, from: t.env.FF_FROM });
	const go = await a("POST", `/v1/campaigns/${c.js.id}/launch`);
	const v = await until(() => {
		const got = verps(t.env.FF_MAIL_DIR);
		return got[HARD] && got[ANGRY] ? got : null;
	}, 30000);
	t.check(go.status === 202 && v, "owner suppression: a campaign to " +
	    "two contacts went out with VERP senders", [go, v]);
	if (!v)
		return c.js.id;
	const c1 = await smtp(Number(t.env.FF_BOUNCE_PORT), v[HARD],
	    DSN(v[HARD], HARD));
	const c2 = await smtp(Number(t.env.FF_BOUNCE_PORT), v[ANGRY],
	    ARF(v[ANGRY], ANGRY));
	t.check(c1 === 221 && c2 === 221, "owner suppression: the bounce " +
	    "listener took the DSN and the complaint", [c1, c2]);
	return c.js.id;
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

	// Bounces and complaints: a hard bounce and a complaint, each
	// shown with its kind, as GET /v1/bounces has them.
	const cid = await bounceAndComplain(t);
	await until(async () => (await api(t, "GET", "/v1/bounces?limit=25"))
	    .js.items.length >= 2, 10000);
	await t.go("privacy");
	await t.go("suppression");
	const bo = await api(t, "GET", "/v1/bounces?limit=25");
	const region = page.getByRole("region", { name:
	    "Bounces and complaints" });
	const brows = await region.locator("tbody tr").allTextContents();
	const row = (e) => brows.find((r) => r.includes(e)) || "";
	check(bo.status === 200 && bo.js.items.some((i) => i.email ===
	    HARD && i.kind === "hard") && bo.js.items.some((i) =>
	    i.email === ANGRY && i.kind === "complaint") &&
	    brows.length === bo.js.items.length &&
	    /Hard bounce/.test(row(HARD)) && /5\.1\.1/.test(row(HARD)) &&
	    /Complaint/.test(row(ANGRY)) && row(HARD).includes("Campaign " +
	    cid), "owner suppression: the bounce and the complaint are " +
	    "listed with their kind, status and campaign, as GET /v1/bounces " +
	    "has them", { page: brows, api: bo.js });
	// The complaint opted the address out: the opt-outs list says so.
	const oo = page.getByRole("region", { name: "Opt-outs" });
	await oo.getByRole("cell", { name: ANGRY, exact: true }).waitFor();
	o = await optouts(t);
	check(o && o.includes(ANGRY), "owner suppression: the complainer is " +
	    "opted out, in the page and in GET /v1/optouts", o);
	t.state.optout = KEEP;
	await t.screen("suppression");

	// A long list is paged: 30 more opt-outs (through the API); the
	// first page has 25, Next shows the API's next page.
	for (let i = 0; i < 30; i++)
		await api(t, "POST", "/v1/optouts", { email: "page" +
		    String(i).padStart(2, "0") + "@app.test" });
	await t.go("privacy");
	await t.go("suppression");
	const reg = page.getByRole("region", { name: "Opt-outs" });
	const p1 = await api(t, "GET", "/v1/optouts?limit=25");
	const p2 = await api(t, "GET", "/v1/optouts?limit=25&cursor=" +
	    encodeURIComponent(p1.js.next_cursor));
	const firstCells = () => reg.locator("tbody tr td:first-child")
	    .allTextContents();
	const c1 = await firstCells();
	await reg.getByRole("button", { name: "Next" }).click();
	await reg.getByRole("cell", { name: p2.js.items[0].email, exact: true })
	    .waitFor();
	const c2 = await firstCells();
	check(JSON.stringify(c1) === JSON.stringify(p1.js.items.map((i) =>
	    i.email)) && JSON.stringify(c2) === JSON.stringify(p2.js.items.map(
	    (i) => i.email)) && c1.length === 25 && c2.length > 0,
	    "owner suppression: the opt-outs are paged (25, then Next: GET " +
	    "/v1/optouts's next page)", { c1, c2 });
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
