// domains.mjs: the sending domains and relay screens (owner only).
//
// Domains: the owner adds a domain and sees its DNS records, each with a
// copy button (the clipboard then holds that record's value); a DNS
// server of this module's own (node:dgram on dns_resolver's loopback
// port, FF_DNS_PORT) publishes the DKIM and SPF records but not DMARC,
// and Verify shows each record's result as the API has it (match, not
// found); Rotate adds the new selectors' records; a second domain is
// deleted behind the dialog.  Relay: set without credentials, a refused
// PUT's error in words, then with a username and password (the page
// says "password set" and never holds the password), then deleted.  The
// viewer has neither screen.
import dgram from "node:dgram";
import { api, navScreens } from "./lib.mjs";

const DOMAIN = "mail.appadmin.test";
const OTHER = "old.appadmin.test";

// ------------------------------------------------ a DNS server on loopback

function qname(buf, off) {
	const labels = [];
	while (buf[off] !== 0) {
		labels.push(buf.subarray(off + 1, off + 1 + buf[off])
		    .toString("latin1"));
		off += buf[off] + 1;
	}
	return [labels.join(".").toLowerCase(), off + 1];
}

function encName(name) {
	const parts = name.replace(/\.$/, "").split(".").map((l) =>
	    Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
	return Buffer.concat([...parts, Buffer.from([0])]);
}

function rdata(type, value) {
	if (type === 5)
		return encName(value);
	const chunks = [];
	for (let i = 0; i < value.length || i === 0; i += 255) {
		const s = Buffer.from(value.slice(i, i + 255));
		chunks.push(Buffer.from([s.length]), s);
	}
	return Buffer.concat(chunks);
}

// records: Map "TYPE name" -> [value]; answers TXT (16) and CNAME (5).
function dnsServer(port, records) {
	const sock = dgram.createSocket("udp4");
	sock.on("message", (msg, rinfo) => {
		if (msg.length < 17)
			return;
		const [name, end] = qname(msg, 12);
		const qtype = msg.readUInt16BE(end);
		const tname = qtype === 16 ? "TXT" : qtype === 5 ? "CNAME" : "?";
		const known = [...records.keys()].some((k) =>
		    k.endsWith(" " + name));
		const vals = records.get(tname + " " + name) || [];
		const head = Buffer.alloc(12);
		msg.copy(head, 0, 0, 2);
		head.writeUInt16BE(0x8180 | (known ? 0 : 3), 2);
		head.writeUInt16BE(1, 4);
		head.writeUInt16BE(vals.length, 6);
		const answers = vals.map((v) => {
			const rd = rdata(qtype, v);
			const rr = Buffer.alloc(12);
			rr.writeUInt16BE(0xc00c, 0);
			rr.writeUInt16BE(qtype, 2);
			rr.writeUInt16BE(1, 4);
			rr.writeUInt32BE(60, 6);
			rr.writeUInt16BE(rd.length, 10);
			return Buffer.concat([rr, rd]);
		});
		sock.send(Buffer.concat([head, msg.subarray(12, end + 4),
		    ...answers]), rinfo.port, rinfo.address);
	});
	return new Promise((res, rej) => {
		sock.once("error", rej);
		sock.bind(port, "127.0.0.1", () => res(sock));
	});
}

// ------------------------------------------------------------- domains

async function domainsPart(t) {
	const { page, check } = t;
	const origin = new URL(t.app).origin;

	await t.context.grantPermissions(["clipboard-read",
	    "clipboard-write"], { origin });
	await t.go("domains");
	for (const d of [DOMAIN, OTHER]) {
		await page.locator("#view").getByLabel("Domain", { exact: true }).fill(d);
		await page.getByRole("button", { name: "Add the domain" })
		    .click();
		await page.getByRole("heading", { name: d }).waitFor();
	}
	let got = await api(t, "GET", "/v1/domains/" + DOMAIN);
	check(got.status === 200 && got.js.dns.length >= 4, "owner domains: " +
	    "the domain added in the page is in GET /v1/domains", got);
	const card = page.getByRole("region", { name: DOMAIN });
	const rows = card.locator("tbody tr");
	const copies = card.getByRole("button", { name: /^Copy/ });
	check(await rows.count() === got.js.dns.length &&
	    await copies.count() === got.js.dns.length,
	    "owner domains: every DNS record is listed, each with a copy " +
	    "button", [await rows.count(), await copies.count(),
	    got.js.dns.length]);
	const shown = await card.locator("tbody").textContent();
	check(got.js.dns.every((r) => shown.includes(r.value) &&
	    shown.includes(r.name)), "owner domains: each record's name and " +
	    "value is shown as the API has it");

	// Copy: the DKIM record's value lands on the clipboard.
	const dkim = got.js.dns.find((r) => r.purpose === "dkim");
	await card.getByRole("button", { name: "Copy the dkim TXT value of " +
	    dkim.name }).click();
	await card.getByText("Copied the dkim").waitFor();
	const clip = await page.evaluate(() => navigator.clipboard.readText());
	check(clip === dkim.value, "owner domains: a record's copy button " +
	    "puts its value on the clipboard", clip.slice(0, 80));

	// Verify against our DNS: DKIM and SPF published, DMARC not.
	const records = new Map();
	for (const r of got.js.dns)
		if (r.purpose === "dkim" || r.purpose === "spf")
			records.set(r.type + " " + r.name.toLowerCase(),
			    [r.value]);
	const dns = await dnsServer(Number(t.env.FF_DNS_PORT), records);
	try {
		await card.getByRole("button", { name: "Verify " + DOMAIN })
		    .click();
		await page.getByText("Checked every record").waitFor();
	} finally {
		dns.close();
	}
	got = await api(t, "GET", "/v1/domains/" + DOMAIN);
	const res = Object.fromEntries(got.js.dns.map((r) => [r.purpose +
	    " " + r.name, r.check && r.check.result]));
	const card2 = page.getByRole("region", { name: DOMAIN });
	const cells = await card2.locator("td:last-child").allTextContents();
	const dmarcRow = got.js.dns.findIndex((r) => r.purpose === "dmarc");
	const dkimRow = got.js.dns.findIndex((r) => r.purpose === "dkim");
	check(res["dkim " + dkim.name] === "match" &&
	    res["dmarc _dmarc." + DOMAIN] === "missing" &&
	    /found, matches/.test(cells[dkimRow]) &&
	    /not found/.test(cells[dmarcRow]), "owner domains: Verify shows " +
	    "each record's result (DKIM found and matching, DMARC not found)",
	    { api: res, page: cells });
	const badge = await card2.locator(".badge").textContent();
	check(badge === got.js.status, "owner domains: the status shown is " +
	    "the API's", [badge, got.js.status]);

	// Rotate: two new DKIM records to publish.
	await card2.getByRole("button", { name: "Rotate keys of " + DOMAIN })
	    .click();
	await page.getByText("New DKIM selectors").waitFor();
	got = await api(t, "GET", "/v1/domains/" + DOMAIN);
	const ndkim = got.js.dns.filter((r) => r.purpose === "dkim").length;
	const nrows = await page.getByRole("region", { name: DOMAIN })
	    .locator("tbody tr").count();
	check(ndkim === 4 && nrows === got.js.dns.length, "owner domains: " +
	    "Rotate lists the new selectors' records beside the old", [ndkim,
	    nrows]);

	// Delete the other domain, behind the dialog.
	await page.getByRole("button", { name: "Delete " + OTHER }).click();
	await page.locator("dialog[open]").getByRole("button",
	    { name: "Delete " + OTHER }).click();
	await page.getByRole("heading", { name: OTHER }).waitFor({ state:
	    "detached" });
	const gone = await api(t, "GET", "/v1/domains/" + OTHER);
	check(gone.status === 404, "owner domains: Delete removes the domain " +
	    "(GET answers 404)", gone);
	await t.screen("domains");
}

// --------------------------------------------------------------- relay

async function relayPart(t) {
	const { page, check } = t;
	const PW = "relay secret password 1";
	const port = String(t.env.FF_RELAY_PORT);

	await t.go("relay");
	await page.getByText("No relay of its own").waitFor();
	await page.locator("#view").getByLabel("Host").fill("127.0.0.1");
	await page.locator("#view").getByLabel("Port").fill(port);
	await page.locator("#view").getByLabel("STARTTLS").selectOption("off");
	await page.getByRole("button", { name: "Save the relay" }).click();
	await page.getByText("The relay is saved.").waitFor();
	let r = await api(t, "GET", "/v1/relay");
	check(r.status === 200 && r.js.host === "127.0.0.1" &&
	    String(r.js.port) === port && r.js.starttls === "off" &&
	    r.js.password_set === false, "owner relay: the form's relay is " +
	    "GET /v1/relay's", r);

	// Credentials without STARTTLS: the API's refusal, in words.
	await page.locator("#view").getByLabel("Username").fill("relayuser");
	await page.locator("#view").getByLabel("Password").fill(PW);
	await page.getByRole("button", { name: "Save the relay" }).click();
	const err = page.locator("form[aria-label='Set the relay'] .error");
	await err.getByText("credentials_need_tls").waitFor();
	check(/STARTTLS|starttls/.test(await err.textContent()), "owner " +
	    "relay: a refused PUT shows the API's error in words next to " +
	    "the form", await err.textContent());
	await page.locator("#view").getByLabel("STARTTLS").selectOption("required");
	await page.locator("#view").getByLabel("Password").fill(PW);
	await page.getByRole("button", { name: "Save the relay" }).click();
	await page.getByText("password set", { exact: true }).waitFor();
	r = await api(t, "GET", "/v1/relay");
	const html = await page.content();
	const pwValue = await page.locator("#view").getByLabel("Password").inputValue();
	check(r.js.username === "relayuser" && r.js.password_set === true &&
	    r.js.starttls === "required" && !html.includes(PW) &&
	    pwValue === "", "owner relay: with a password the page says " +
	    "\"password set\" and holds the password nowhere", r);
	await t.screen("relay");

	// Back to the node's relay (the other screens' mail goes there).
	await page.getByRole("button", { name: "Use the node's relay again" })
	    .click();
	await page.locator("dialog[open]").getByRole("button",
	    { name: "Forget the relay" }).click();
	await page.getByText("The relay is deleted.").waitFor();
	r = await api(t, "GET", "/v1/relay");
	check(r.status === 404, "owner relay: deleting it goes back to the " +
	    "node's relay (GET /v1/relay 404)", r);
}

export async function owner(t) {
	await domainsPart(t);
	await relayPart(t);
}

export async function viewer(t) {
	const { page, check } = t;
	const nav = await navScreens(page);
	check(!nav.includes("domains") && !nav.includes("relay"),
	    "viewer domains: no Domains or Relay in the nav", nav);
	for (const s of ["domains", "relay"]) {
		await page.goto(t.app + "#/" + s);
		const msg = page.getByRole("alert").filter({ hasText:
		    "may not open" });
		await msg.waitFor();
		check(await page.locator("#view form").count() === 0,
		    `viewer ${s}: opening the ${s} screen says the role may ` +
		    "not, and shows no form");
	}
	const r = await api(t, "POST", "/v1/domains", { domain:
	    "viewer.appadmin.test" });
	check(r.status === 403, "viewer domains: POST /v1/domains with the " +
	    "viewer's session is 403", r);
}
