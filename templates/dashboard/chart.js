/*
 * chart.js: the dashboard's own small SVG charts (no library: the page
 * must load from fanfared alone, with a script-src 'self' policy).
 *
 * FanfareChart.time(el, points, series, title?): stacked columns over
 *   time, one per point {t: ISO time, ...}; series [{key, label, cls}]
 *   bottom up.
 * FanfareChart.bars(el, items, opts): horizontal bars, items
 *   [{label, value, extra?}], largest first; opts {empty, cls, title}.
 *
 * Each <svg role="img"> gets a <title> first, its name for a screen
 * reader: what it shows and its totals (axe-core's svg-img-alt).
 *
 * Everything is built with DOM calls and textContent, never markup from
 * data: campaign names and link URLs are the tenant's input.  Each chart
 * sets data-* totals on its <svg> so a test can read what it draws.
 */
"use strict";

var FanfareChart = (function () {
	var NS = "http://www.w3.org/2000/svg";

	function svgEl(name, attrs, parent) {
		var e = document.createElementNS(NS, name), k;

		for (k in attrs)
			e.setAttribute(k, attrs[k]);
		if (parent)
			parent.appendChild(e);
		return e;
	}

	function text(parent, x, y, s, cls, anchor) {
		var t = svgEl("text", { x: x, y: y, "class": cls || "axis" },
		    parent);

		if (anchor)
			t.setAttribute("text-anchor", anchor);
		t.textContent = s;
		return t;
	}

	/* A round step for about n ticks up to max. */
	function niceStep(max, n) {
		var raw = Math.max(max, 1) / n;
		var mag = Math.pow(10, Math.floor(Math.log10(raw)));
		var f = raw / mag;

		return Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) *
		    mag);
	}

	function clear(el) {
		while (el.firstChild)
			el.removeChild(el.firstChild);
	}

	function pad2(n) {
		return (n < 10 ? "0" : "") + n;
	}

	/* Times in the viewer's zone; the API's are UTC. */
	function timeLabel(d, withDate) {
		var hm = pad2(d.getHours()) + ":" + pad2(d.getMinutes());

		return withDate ? (d.getMonth() + 1) + "/" + d.getDate() + " " +
		    hm : hm;
	}

	function legend(el, series, totals) {
		var box = document.createElement("div"), i, item, sw;

		box.className = "legend";
		for (i = 0; i < series.length; i++) {
			item = document.createElement("span");
			sw = document.createElement("span");
			sw.className = "swatch " + series[i].cls;
			item.appendChild(sw);
			item.appendChild(document.createTextNode(series[i].label +
			    ": " + totals[i]));
			box.appendChild(item);
		}
		el.appendChild(box);
	}

	function time(el, points, series, title) {
		var W = 640, H = 220, L = 40, R = 10, T = 10, B = 28;
		var SLOTS = 30;		/* a new campaign's few buckets stay bars */
		var pw = W - L - R, ph = H - T - B;
		var totals = series.map(function () { return 0; });
		var max = 0, i, k, v, y, step, svg, g, bw, x, d, span, every;

		clear(el);
		for (i = 0; i < points.length; i++) {
			v = 0;
			for (k = 0; k < series.length; k++) {
				v += points[i][series[k].key];
				totals[k] += points[i][series[k].key];
			}
			max = Math.max(max, v);
		}
		step = niceStep(max, 4);
		max = Math.max(step, Math.ceil(max / step) * step);
		svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H,
		    "class": "chart-svg", role: "img" }, el);
		for (k = 0; k < series.length; k++)
			svg.setAttribute("data-" + series[k].key, totals[k]);
		svg.setAttribute("data-points", points.length);
		svgEl("title", {}, svg).textContent = (title ? title + ": " :
		    "") + series.map(function (s, j) {
			return s.label + " " + totals[j];
		}).join(", ");
		for (v = 0; v <= max; v += step) {
			y = T + ph - v / max * ph;
			svgEl("line", { x1: L, x2: W - R, y1: y, y2: y,
			    "class": "grid" }, svg);
			text(svg, L - 6, y + 4, String(v), "axis", "end");
		}
		if (points.length === 0) {
			text(svg, L + pw / 2, T + ph / 2, "no data yet", "empty",
			    "middle");
			legend(el, series, totals);
			return;
		}
		bw = pw / Math.max(points.length, SLOTS);
		g = svgEl("g", {}, svg);
		for (i = 0; i < points.length; i++) {
			x = L + i * bw;
			y = T + ph;
			for (k = 0; k < series.length; k++) {
				v = points[i][series[k].key];
				if (v <= 0)
					continue;
				var h = v / max * ph;
				var r = svgEl("rect", { x: x + bw * 0.1,
				    y: y - h, width: Math.max(bw * 0.8, 0.5),
				    height: h, "class": "bar " + series[k].cls },
				    g);
				svgEl("title", {}, r).textContent =
				    timeLabel(new Date(points[i].t), true) + " " +
				    series[k].label + ": " + v;
				y -= h;
			}
		}
		/* About six time labels, dated when the range spans days. */
		span = new Date(points[points.length - 1].t) -
		    new Date(points[0].t);
		every = Math.max(1, Math.ceil(Math.max(points.length, SLOTS) / 6));
		for (i = 0; i < points.length; i += every) {
			d = new Date(points[i].t);
			text(svg, L + (i + 0.5) * bw, H - 8,
			    timeLabel(d, span > 86400000), "axis", "middle");
		}
		legend(el, series, totals);
	}

	function bars(el, items, opts) {
		var W = 640, row = 26, L = 230, R = 110;
		var H = Math.max(1, items.length) * row + 8;
		var max = 1, i, y, w, svg, label, sum = 0;

		opts = opts || {};
		clear(el);
		items = items.slice().sort(function (a, b) {
			return b.value - a.value;
		});
		for (i = 0; i < items.length; i++) {
			max = Math.max(max, items[i].value);
			sum += items[i].value;
		}
		svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H,
		    "class": "chart-svg", role: "img" }, el);
		svg.setAttribute("data-total", sum);
		svg.setAttribute("data-items", items.length);
		svgEl("title", {}, svg).textContent = (opts.title ? opts.title +
		    ": " : "") + (items.length === 0 ? opts.empty || "none" :
		    items.slice(0, 10).map(function (it) {
			return it.label + " " + it.value;
		}).join(", ") + (items.length > 10 ? ", \u2026" : ""));
		if (items.length === 0) {
			text(svg, W / 2, 20, opts.empty || "none", "empty",
			    "middle");
			return;
		}
		for (i = 0; i < items.length; i++) {
			y = 4 + i * row;
			label = items[i].label;
			if (label.length > 30)
				label = label.slice(0, 29) + "\u2026";
			text(svg, L - 8, y + 17, label, "label", "end");
			svgEl("title", {}, svg.lastChild).textContent =
			    items[i].label;
			w = items[i].value / max * (W - L - R);
			svgEl("rect", { x: L, y: y + 4, width: Math.max(w, 1),
			    height: row - 8, rx: 3, "class": "hbar " +
			    (opts.cls || "human") }, svg);
			text(svg, L + Math.max(w, 1) + 6, y + 17,
			    String(items[i].value) + (items[i].extra ?
			    " " + items[i].extra : ""), "value");
		}
	}

	return { time: time, bars: bars };
}());
