/* templates.js: the templates screen (not written yet). */
"use strict";

(function () {
	FF.screen("templates", { title: "Templates", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Templates"));
	} });
}());
