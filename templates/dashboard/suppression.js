/* suppression.js: the suppression screen (not written yet). */
"use strict";

(function () {
	FF.screen("suppression", { title: "Suppression", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Suppression"));
	} });
}());
