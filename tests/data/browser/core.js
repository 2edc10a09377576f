/*
 * A stand-in for Pinterest's https://s.pinimg.com/ct/core.js: it takes
 * over window.pintrk like the real one (replaying the base code's queue)
 * but only records the calls, in window.__pintrk_calls, for the test.
 */
(function () {
	var q = (window.pintrk && window.pintrk.queue) || [];
	var calls = window.__pintrk_calls = [];

	window.pintrk = function () {
		calls.push(Array.prototype.slice.call(arguments));
	};
	window.pintrk.version = '3.0';
	window.pintrk.queue = [];
	for (var i = 0; i < q.length; i++)
		window.pintrk.apply(null, q[i]);
	window.__pintrk_loaded = true;
})();
