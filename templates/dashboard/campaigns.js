/* campaigns.js: the campaigns screen (not written yet). */
"use strict";

(function () {
	FF.screen("campaigns", { title: "Campaigns", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Campaigns"));
	} });
}());
