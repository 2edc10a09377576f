/*! pinbridge tag.js: the browser leg beside Pinterest's tag (pintrk).
 *
 *   pinbridge('init', {key: 'pk_...', endpoint: 'https://gw.example.com'});
 *   pinbridge('track', 'checkout', {order_id: '1001', value: 42, currency: 'USD'});
 *   pinbridge('consent', true);   // only with consent_required: true
 *
 * Every tracked event goes to Pinterest through pintrk and to the gateway
 * (navigator.sendBeacon) with the same event_id, so Pinterest counts the
 * pair once and the gateway can merge it with the server's own report.
 * The id rule and the name table are the gateway's (src/event/event.c,
 * src/event/names.c): a test runs both over one table and compares.
 * Nothing here may throw into the page. docs/browser.md has the snippets.
 */
(function (root) {
	'use strict';

	if (!root || (root.pinbridge && root.pinbridge.loaded))
		return;

	/* Sorted like names.c: key = lower case, '_', '-' and ' ' removed. */
	var NAMES = {
		addpaymentinfo: 'add_payment_info', addtocart: 'add_to_cart',
		addtowishlist: 'add_to_wishlist', appinstall: 'app_install',
		appopen: 'app_open', begincheckout: 'initiate_checkout',
		checkout: 'checkout', checkoutstarted: 'initiate_checkout',
		completeregistration: 'signup', contact: 'contact',
		custom: 'custom', customizeproduct: 'customize_product',
		findlocation: 'find_location', generatelead: 'lead',
		initiatecheckout: 'initiate_checkout', lead: 'lead',
		ordercompleted: 'checkout', pageview: 'page_visit',
		pagevisit: 'page_visit', productadded: 'add_to_cart',
		purchase: 'checkout', schedule: 'schedule', search: 'search',
		signup: 'signup', starttrial: 'start_trial',
		submitapplication: 'submit_application', subscribe: 'subscribe',
		viewcategory: 'view_category', viewcontent: 'view_content',
		viewitem: 'view_content', viewitemlist: 'view_category',
		watchvideo: 'watch_video'
	};
	/* The white space norm_trim() removes (normalize.c is_space_cp). */
	var WS = '[\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200b\\u2028' +
	    '\\u2029\\u202f\\u205f\\u3000\\ufeff]';
	var TRIM = new RegExp('^' + WS + '+|' + WS + '+$', 'g');
	var YEAR_S = 31536000;

	var cfg = null;
	var granted = null;	/* consent: null unknown, true, false */
	var held = [];		/* events waiting for consent */
	var epik = null;
	var script = root.document && root.document.currentScript;

	function debug(msg, e) {
		try {
			if (cfg && cfg.debug && root.console)
				root.console.warn('pinbridge: ' + msg, e || '');
		} catch (ignored) { /* a console may be missing */ }
	}

	/* event_name_to_capi(): the Conversions API name, or null. */
	function capiName(name) {
		if (typeof name !== 'string')
			return null;
		var key = name.replace(/[_\- ]/g, '');
		if (!/^[A-Za-z]{0,31}$/.test(key))
			return null;
		key = key.toLowerCase();
		return Object.prototype.hasOwnProperty.call(NAMES, key) ?
		    NAMES[key] : null;
	}

	/*
	 * read_string(): a trimmed non-empty string; an integral number as
	 * "%.0f" prints it (BigInt: exact above 2^53, as the gateway's
	 * int64); anything else is no value.
	 */
	function text(v) {
		if (typeof v === 'string') {
			v = v.replace(TRIM, '');
			return v.length ? v : null;
		}
		if (typeof v === 'number' && isFinite(v) && Math.floor(v) === v &&
		    Math.abs(v) < 1e18) {
			if (v === 0 && 1 / v < 0)
				return '-0';
			return typeof BigInt === 'function' ? BigInt(v).toString() :
			    String(v);
		}
		return null;
	}

	function uuid4() {
		var c = root.crypto, b, h = [], i;

		if (c && typeof c.randomUUID === 'function')
			return c.randomUUID();
		b = new Uint8Array(16);
		if (c && typeof c.getRandomValues === 'function')
			c.getRandomValues(b);
		else
			for (i = 0; i < 16; i++)
				b[i] = Math.floor(Math.random() * 256);
		b[6] = (b[6] & 0x0f) | 0x40;
		b[8] = (b[8] & 0x3f) | 0x80;
		for (i = 0; i < 16; i++)
			h.push((b[i] + 0x100).toString(16).slice(1));
		return h.slice(0, 4).join('') + '-' + h.slice(4, 6).join('') + '-' +
		    h.slice(6, 8).join('') + '-' + h.slice(8, 10).join('') + '-' +
		    h.slice(10).join('');
	}

	/* The id both legs use: given, else "<capi name>:<order_id>", else random. */
	function eventId(name, data) {
		var given, capi, order;

		data = data || {};
		given = text(data.event_id);
		if (given)
			return given;
		capi = capiName(name);
		order = text(data.order_id);
		if (order === null && data.custom_data)
			order = text(data.custom_data.order_id);
		return capi && order !== null ? capi + ':' + order : uuid4();
	}

	/* ---- the _epik click id -------------------------------------- */

	function decode(v) {
		try {
			return decodeURIComponent(v);
		} catch (e) {
			return v;
		}
	}

	/* epik_from_url(): the first epik parameter, if it is a sane value. */
	function urlEpik() {
		var m = /[?&]epik=([^&#]*)/.exec(root.location ? root.location.search : '');
		var v = m && m[1] ? decode(m[1]) : '';

		return v && v.length <= 512 && !/[\x00-\x1f\x7f]/.test(v) ? v : null;
	}

	function readCookie(name) {
		var all = root.document ? String(root.document.cookie || '') : '';
		var parts = all.split(/;\s*/), i, eq;

		for (i = 0; i < parts.length; i++) {
			eq = parts[i].indexOf('=');
			if (eq > 0 && parts[i].slice(0, eq) === name)
				return decode(parts[i].slice(eq + 1)) || null;
		}
		return null;
	}

	/* Only what a cookie value may not hold is escaped (RFC 6265 cookie-octet). */
	function cookieValue(v) {
		return v.replace(/[\x00-\x20",;\\%\x7f-\uffff]/g, function (ch) {
			return encodeURIComponent(ch);
		});
	}

	function writeEpik(v) {
		var https = root.location && root.location.protocol === 'https:';
		var c = '_epik=' + cookieValue(v) + '; Max-Age=' + YEAR_S +
		    '; Path=/; SameSite=Lax';

		if (cfg && cfg.cookie_domain)
			c += '; Domain=' + cfg.cookie_domain;
		if (https)
			c += '; Secure';
		root.document.cookie = c;
	}

	function allowed() {
		return cfg && granted !== false &&
		    (!cfg.consent_required || granted === true);
	}

	/* The landing URL's epik beats an older cookie: it is the latest click. */
	function captureEpik() {
		var fromUrl = urlEpik();

		epik = fromUrl || readCookie('_epik') || epik;
		if (fromUrl && allowed() && readCookie('_epik') !== fromUrl)
			writeEpik(fromUrl);
	}

	/* ---- the two legs -------------------------------------------- */

	function send(ev) {
		var url = cfg.endpoint + '/v1/events?key=' +
		    encodeURIComponent(cfg.key);
		var body = JSON.stringify(ev);
		var nav = root.navigator;

		/* A string body goes as text/plain: a simple request, no preflight. */
		if (nav && typeof nav.sendBeacon === 'function') {
			try {
				if (nav.sendBeacon(url, body))
					return;
			} catch (e) {
				debug('sendBeacon failed', e);
			}
		}
		if (typeof root.fetch === 'function')
			root.fetch(url, {
				method: 'POST', body: body, keepalive: true,
				mode: 'cors', credentials: 'include',
				headers: { 'Content-Type': 'text/plain' }
			})['catch'](function (e) { debug('fetch failed', e); });
	}

	function fire(item) {
		var name = item[0], tagData = item[1], ev = item[2];

		if (cfg.pintrk !== false && typeof root.pintrk === 'function') {
			try {
				root.pintrk('track', name, tagData);
			} catch (e) {
				debug('pintrk threw', e);
			}
		}
		/* The gateway refuses names Pinterest's API does not know. */
		if (!capiName(name)) {
			debug('"' + name + '" is not a Conversions API event; ' +
			    'sent to pintrk only');
			return;
		}
		if (!cfg.key)
			return;
		if (!ev.click_id && epik)
			ev.click_id = epik;
		try {
			send(ev);
		} catch (e) {
			debug('send failed', e);
		}
	}

	function track(name, data) {
		var id, tagData = {}, ev = {}, k;

		if (!cfg) {
			debug('track before init: call pinbridge("init", {...}) first');
			return null;
		}
		if (data !== null && typeof data === 'object')
			for (k in data)
				if (Object.prototype.hasOwnProperty.call(data, k)) {
					tagData[k] = data[k];
					ev[k] = data[k];
				}
		id = eventId(name, tagData);
		tagData.event_id = id;
		ev.event_name = name;
		ev.event_id = id;
		ev.event_time = Math.floor(new Date().getTime() / 1000);
		ev.action_source = 'web';
		if (root.location && !ev.event_source_url)
			ev.event_source_url = String(root.location.href);
		if (granted === false || (cfg.consent_required && granted !== true)) {
			if (granted === null)
				held.push([name, tagData, ev]);
			return id;
		}
		fire([name, tagData, ev]);
		return id;
	}

	function scriptOrigin() {
		var s = script, all, i, m;

		if (!s && root.document) {
			all = root.document.getElementsByTagName('script');
			for (i = 0; i < all.length && !s; i++)
				if (/\/v1\/tag\.js(\?|#|$)/.test(all[i].src || ''))
					s = all[i];
		}
		m = s && /^(https?:\/\/[^\/?#]+)/.exec(s.src || '');
		return m ? m[1] : '';
	}

	function init(opts) {
		opts = opts || {};
		cfg = {
			key: String(opts.key || ''),
			endpoint: String(opts.endpoint || scriptOrigin()).replace(/\/+$/, ''),
			consent_required: !!opts.consent_required,
			cookie_domain: opts.cookie_domain || null,
			pintrk: opts.pintrk,
			debug: !!opts.debug
		};
		if (!cfg.key)
			debug('init without a key: events go to pintrk only');
		captureEpik();
	}

	function consent(yes) {
		var q = held;

		granted = !!yes;
		held = [];
		if (!cfg || !granted)
			return;
		captureEpik();
		for (var i = 0; i < q.length; i++)
			fire(q[i]);
	}

	function dispatch(args) {
		var cmd = args[0];

		if (cmd === 'init')
			init(args[1]);
		else if (cmd === 'track')
			return track(args[1], args[2]);
		else if (cmd === 'consent')
			consent(args[1]);
		else
			debug('unknown command ' + cmd);
		return null;
	}

	var api = function () {
		try {
			return dispatch(arguments);
		} catch (e) {
			debug('internal error', e);
			return null;
		}
	};
	var prev = root.pinbridge;
	var queue = prev && prev.q ? prev.q : [];

	api.loaded = true;
	api.version = '1';
	api.eventId = function (name, data) {
		try {
			return eventId(name, data);
		} catch (e) {
			return null;
		}
	};
	api.capiName = function (name) {
		try {
			return capiName(name);
		} catch (e) {
			return null;
		}
	};
	root.pinbridge = api;
	for (var i = 0; i < queue.length; i++)
		api.apply(null, queue[i]);
}(typeof window !== 'undefined' ? window : this));
