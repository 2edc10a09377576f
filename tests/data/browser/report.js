/*
 * Shared by the test pages: once tag.js (and core.js, unless the page says
 * it is blocked) has loaded, waits a little for the beacons to leave, then
 * writes what the page saw into <pre id="result"> for --dump-dom.
 */
function pbReport(extra, needPintrk) {
	var start = Date.now();

	function ready() {
		return window.pinbridge && window.pinbridge.loaded &&
		    (!needPintrk || window.__pintrk_loaded);
	}
	(function poll() {
		if (!ready() && Date.now() - start < 8000)
			return setTimeout(poll, 50);
		if (extra)
			extra();
		setTimeout(function () {
			var pre = document.createElement('pre');

			pre.id = 'result';
			pre.textContent = JSON.stringify({
				loaded: !!ready(),
				pintrk_calls: window.__pintrk_calls || null,
				pintrk_queue: window.pintrk && window.pintrk.queue ?
				    window.pintrk.queue : null,
				cookie: document.cookie,
				ua: navigator.userAgent,
				ids: window.__ids || {}
			});
			document.body.appendChild(pre);
		}, 1000);
	})();
}
