/* privacy.js: the privacy screen (not written yet). */
"use strict";

(function () {
	FF.screen("privacy", { title: "Privacy", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Privacy"));
	} });
}());
