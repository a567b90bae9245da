/* users.js: the users screen (not written yet). */
"use strict";

(function () {
	FF.screen("users", { title: "Users", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Users"));
	} });
}());
