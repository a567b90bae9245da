/* contacts.js: the contacts screen (not written yet). */
"use strict";

(function () {
	FF.screen("contacts", { title: "Contacts", role: "read",
	    render: function (el) {
		el.appendChild(FF.title("Contacts"));
	} });
}());
