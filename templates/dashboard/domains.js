/* domains.js: the domains screen (not written yet). */
"use strict";

(function () {
	FF.screen("domains", { title: "Domains", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Domains"));
	} });
}());
