// app/lib.mjs: what several screens' modules need (not a screen itself:
// app.mjs imports only the names in its SCREENS).
import fs from "node:fs";
import path from "node:path";

// FF.api in the page (the session cookie and the CSRF token go along):
// {ok, js} or {ok: false, status, code, message}.
export function pageApi(page, method, p, body) {
	return page.evaluate(([m, p, b]) => FF.api(m, p, b === null ?
	    undefined : b).then((js) => ({ ok: true, js }), (e) => ({
	    ok: false, status: e.status, code: e.code, message: e.message })),
	    [method, p, body ?? null]);
}

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
