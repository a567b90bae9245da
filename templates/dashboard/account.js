/*
 * account.js: the user's own account (#/account), for every role: who
 * is logged in, the two-step login (TOTP, POST /v1/users/ME/totp: the
 * secret shown once, then confirmed with a first code), and a new
 * password by a mailed link (POST /v1/password_reset), the only way a
 * password changes.
 */
"use strict";

(function () {
	var h = FF.h;

	function totpCard(me) {
		var box = FF.errorBox(), out = h("div", { "aria-live":
		    "polite" }), card;

		function confirmForm(secret, uri) {
			var copy = FF.errorBox();

			out.textContent = "";
			out.appendChild(h("div", { class: "stack" },
			    h("p", null, "Add this secret to your "
			    + "authenticator app (or open the link on the "
			    + "phone that has it), then type the code it "
			    + "shows. The secret is shown this once."),
			    h("p", null, h("code", { id: "totp-secret" },
			    secret), " ", FF.button("Copy the secret",
			    { class: "quiet" }, copy, function () {
				return navigator.clipboard.writeText(secret)
				    .then(function () {
					FF.note(copy, "Copied.");
				});
			    })), copy,
			    h("p", { class: "hint" }, h("code", null, uri)),
			    FF.form({ "aria-label": "confirm two-step login" },
			    FF.field("Code from your app", { name: "code",
			    inputmode: "numeric", autocomplete: "one-time-code",
			    required: true }), "Turn it on", function (v) {
				return FF.api("POST", "/v1/users/" +
				    FF.enc(me.user) + "/totp",
				    { code: v.code.trim() }).then(function () {
					out.textContent = "";
					out.appendChild(h("p", { class: "ok" },
					    "Two-step login is on: from now on "
					    + "a login asks for a code."));
				});
			    })));
		}
		card = h("section", { class: "card stack", "aria-labelledby":
		    "totp-title" }, h("h3", { id: "totp-title" },
		    "Two-step login"), h("p", null, "With it on, a login "
		    + "also asks for the 6-digit code of an authenticator app "
		    + "(TOTP)."), FF.button("Turn on two-step login", null, box,
		    function () {
			return FF.api("POST", "/v1/users/" + FF.enc(me.user) +
			    "/totp").then(function (js) {
				confirmForm(js.secret, js.otpauth_uri);
			}, function (e) {
				if (e.code !== "totp_enabled")
					throw e;
				out.textContent = "";
				out.appendChild(h("p", { class: "ok" },
				    "Two-step login is on already."));
			});
		    }), box, out);
		return card;
	}

	function passwordCard(me) {
		var box = FF.errorBox();

		return h("section", { class: "card stack", "aria-labelledby":
		    "pw-title" }, h("h3", { id: "pw-title" }, "Password"),
		    h("p", null, "A new password is set through a link mailed "
		    + "to " + me.email + ", valid for a short time."),
		    FF.button("Mail me a link", null, box, function () {
			return FF.api("POST", "/v1/password_reset",
			    { email: me.email }).then(function () {
				FF.note(box, "The link is on its way to " +
				    me.email + ".");
			});
		    }), box);
	}

	FF.screen("account", { title: "Account", role: "read",
	    render: function (el) {
		var me = FF.session();

		el.appendChild(FF.title("Your account"));
		el.appendChild(h("div", { class: "stack" },
		    h("section", { class: "card", "aria-label": "who" },
		    h("dl", { class: "facts" }, h("dt", null, "Email"),
		    h("dd", null, me.email), h("dt", null, "Role"),
		    h("dd", null, me.role), h("dt", null, "Tenant"),
		    h("dd", null, me.tenant), h("dt", null, "Times shown in"),
		    h("dd", null, FF.tz()))), totpCard(me), passwordCard(me)));
	} });
}());
