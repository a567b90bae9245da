/* lists.js: the lists screen (not written yet). */
"use strict";

(function () {
	FF.screen("lists", { title: "Lists", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Lists"));
	} });
}());
