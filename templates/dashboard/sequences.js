/* sequences.js: the sequences screen (not written yet). */
"use strict";

(function () {
	FF.screen("sequences", { title: "Sequences", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Sequences"));
	} });
}());
