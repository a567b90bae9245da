// app/account.mjs: "Forgot your password?" and the mailed link's page
// (templates/dashboard/app.js, api_reset.c), run last of the owner's
// modules by tests/browser/app.mjs: it changes the marketer's password.
//
// In a browser of its own the marketer asks for a reset on the login
// form, the mail arrives at the SMTP capture (FF_MAIL_DIR), its link
// opens the app's reset page, two different passwords are refused in
// words, then the new one is set; the old password no longer logs in,
// the new one does, and the link, used, is refused in words.  Then, on
// the Account screen, the marketer turns on two-step login with the
// secret the page shows once (codes computed here, RFC 6238), and the
// next login asks for a code and takes one.
import crypto from "node:crypto";
import { mailFor, mailPart } from "./lib.mjs";

// RFC 6238 (SHA-1, 6 digits, 30 s) of a base32 secret, at step n.
function totp(b32, n) {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	let bits = "";
	for (const c of b32.replace(/=+$/, ""))
		bits += alpha.indexOf(c).toString(2).padStart(5, "0");
	const key = Buffer.from(bits.match(/.{8}/g).map((b) =>
	    parseInt(b, 2)));
	const msg = Buffer.alloc(8);
	msg.writeBigUInt64BE(BigInt(n));
	const mac = crypto.createHmac("sha1", key).update(msg).digest();
	const off = mac[mac.length - 1] & 15;
	return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000)
	    .padStart(6, "0");
}

export async function owner(t) {
	const { check } = t;
	const [email, old] = t.env.FF_MARKETER.split(/:(.*)/s);
	const fresh = "a new marketer password 2";
	const ctx = await t.context.browser().newContext({
	    viewport: { width: 1280, height: 900 } });
	const page = await ctx.newPage();
	const me = t.withPage(page, "marketer");

	await page.goto(t.app);
	await page.waitForSelector("#login-form", { state: "visible" });
	await page.getByLabel("Email").fill(email);
	await page.getByRole("button", { name: "Forgot your password?" })
	    .click();
	await page.waitForFunction(() => /on its way/.test(document
	    .getElementById("login-error").textContent));
	check(true, "account: asking for a reset says a link is on its way");

	const raw = await mailFor(t.env.FF_MAIL_DIR, email, page,
	    /reset/i, 30000);
	const text = raw && mailPart(raw, "text/plain");
	const m = text && /(https?:\/\/\S+\/dashboard\/#\/reset\/[0-9]+\.[0-9a-f]{64})/
	    .exec(text);
	check(m !== null && m !== undefined, "account: the reset mail " +
	    "arrives with a link to the app's reset page", (text ||
	    raw || "no mail").slice(0, 800));
	if (!m)
		return ctx.close();
	const link = m[1];
	await page.goto(link);
	await page.waitForSelector("#reset-form", { state: "visible" });
	await me.noXss("reset");
	await me.axe("reset");
	await me.shot("reset");
	await page.getByLabel("New password", { exact: true }).fill(fresh);
	await page.getByLabel("The same again").fill(fresh + "x");
	await page.getByRole("button", { name: "Set the password" }).click();
	await page.waitForFunction(() => /differ/.test(document
	    .getElementById("reset-error").textContent));
	check(true, "account: two different passwords are refused in words");
	await page.getByLabel("The same again").fill(fresh);
	await page.getByRole("button", { name: "Set the password" }).click();
	await page.waitForSelector("#login-form", { state: "visible" });
	const said = await page.textContent("#login-error");
	check(/password is set/.test(said), "account: the new password is " +
	    "set, and the login form says so", said);

	await page.getByLabel("Email").fill(email);
	await page.getByLabel("Password", { exact: true }).fill(old);
	await page.getByRole("button", { name: "Log in" }).click();
	await page.waitForFunction(() => /Wrong email or password/.test(
	    document.getElementById("login-error").textContent));
	check(true, "account: the old password no longer logs in");
	await page.getByLabel("Password", { exact: true }).fill(fresh);
	await page.getByRole("button", { name: "Log in" }).click();
	await page.waitForSelector("#nav-list a", { timeout: 15000 });
	check(await page.isVisible("#nav"), "account: the new password " +
	    "logs in");

	await page.goto(link);
	await page.waitForSelector("#reset-form", { state: "visible" });
	await page.getByLabel("New password", { exact: true }).fill(fresh + "3");
	await page.getByLabel("The same again").fill(fresh + "3");
	await page.getByRole("button", { name: "Set the password" }).click();
	await page.waitForFunction(() => /expired or was used/.test(document
	    .getElementById("reset-error").textContent));
	check(true, "account: the used link is refused in words");

	// Two-step login, on the Account screen.
	await page.goto(t.app + "#/account");
	await page.waitForSelector("#screen-title");
	await page.getByRole("button", { name: "Turn on two-step login" })
	    .click();
	const secret = (await page.locator("#totp-secret").textContent())
	    .trim();
	check(/^[A-Z2-7]{16,}=*$/.test(secret), "account: turning on " +
	    "two-step login shows a base32 secret once", secret);
	const step = Math.floor(Date.now() / 30000);
	await page.getByLabel("Code from your app").fill(totp(secret, step));
	await page.getByRole("button", { name: "Turn it on" }).click();
	await page.getByText("Two-step login is on").waitFor();
	check(true, "account: the first code from the secret turns it on");
	await me.noXss("account");
	await me.axe("account");
	await me.shot("account");
	await page.click("#logout");
	await page.waitForSelector("#login-form", { state: "visible" });
	await page.getByLabel("Email").fill(email);
	await page.getByLabel("Password", { exact: true }).fill(fresh);
	await page.getByRole("button", { name: "Log in" }).click();
	await page.waitForSelector("#totp-field", { state: "visible" });
	check(true, "account: the next login asks for the one-time code");
	// The step after the one used (a code is good once; the server takes
	// one step early).
	await page.getByLabel("One-time code").fill(totp(secret, step + 1));
	await page.getByRole("button", { name: "Log in" }).click();
	await page.waitForSelector("#nav-list a", { timeout: 15000 });
	check(true, "account: with the code the login succeeds");
	await ctx.close();
}
