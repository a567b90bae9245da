/* webhooks.js: the webhooks screen (not written yet). */
"use strict";

(function () {
	FF.screen("webhooks", { title: "Webhooks", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Webhooks"));
	} });
}());
