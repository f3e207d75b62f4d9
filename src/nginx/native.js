// tower-secure-link: nginx verifies native links (HMAC-SHA256, version 1) itself, with its
// JavaScript module (njs 0.7.9 or later). The crate's SPEC.md is the format; this file ports
// the crate's verifier (src/verify/, src/token/) and its path rules (src/path.rs), and each
// function names the Rust it follows.
//
// `nginx::NativeConfig` writes this file and `secure_link_native_conf.js` (keys and settings,
// mode 0600) next to it. nginx's master process reads both when it loads its configuration,
// before the workers drop their privileges, so the keys are neither in nginx's configuration
// text nor in a file the workers could read.
//
// nginx asks `verdict` for a request under the private location (a js_set variable, computed
// once per request). The answer is a status for nginx to return ("400", "403", "410"),
// "defer" for what nginx cannot decide alone (one-time use, upload limits, versions, revocation
// groups, session cookies, opaque links), "public" for a path the layer would pass on as
// public, or the path below the alias of the file to serve. `guard` answers for requests nginx
// maps elsewhere but whose raw path the crate refuses.
//
// Request bytes are held in "byte strings": one character per byte (codes 0 to 255), so escapes,
// lengths and comparisons work on bytes, as the Rust does.

import conf from 'secure_link_native_conf.js';

var crypto = require('crypto');

// njs runs this top level again for every request (it clones the VM), so it holds literals
// only: a table built here in a loop costs more than all the checks below.
var PREFIX = conf.prefix; // canonical, no trailing '/'; '' is the root
var PREFIX_LOWER = conf.prefixLower;
var PREFIX_DECODED_LEN = conf.prefixDecodedLength;
var OPAQUE = conf.opaque; // as a raw path starts with it ('/s/'), or ''
var PARAMS = conf.params;
var MARKER = PARAMS + 't~';
var LEEWAY = conf.leeway;
var MAX_LIFETIME = conf.maxLifetime;
// A list, not an object: key ids such as `__proto__` or `constructor` must name no property.
var KEYS = conf.keys;

var FIELDS = ['kid', 'method', 'nbf', 'exp', 'nonce', 'max', 'ver', 'grp', 'ip', 'cd', 'ct', 'uses', 'confirm',
    'dlg', 'prefix', 'sig'];
var SIG = 15;
var HEX = '0123456789ABCDEF';
var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

var PUBLIC = 1;
var PRIVATE = 2;
var CASE_VARIANT = 3;
var AMBIGUOUS = 'ambiguous';
var MALFORMED = 'malformed';

// path.rs PLAIN_BYTES: what a canonical segment holds as it is (A-Z a-z 0-9 and
// -._~!$&'()*+,=:@), by ASCII code; no other byte.
var PLAIN = '00000000000000000000000000000000010010111111111011111111111001001111111111111111111111111110000101111111111111111111111111100010';

function isPlain(c) {
    return c < 128 && PLAIN.charCodeAt(c) === 49;
}

function asciiLower(s) {
    var out = '';
    for (var i = 0; i < s.length; i++) {
        var c = s.charCodeAt(i);
        out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
    }
    return out;
}

function byteString(buffer) {
    var out = '';
    // In slices: a call takes only so many arguments.
    for (var at = 0; at < buffer.length; at += 1024) {
        out += String.fromCharCode.apply(null, buffer.slice(at, at + 1024));
    }
    return out;
}

function hexValue(c) {
    if (c >= 48 && c <= 57) return c - 48;
    if (c >= 65 && c <= 70) return c - 55;
    if (c >= 97 && c <= 102) return c - 87;
    return -1;
}

// path.rs decode_segment_bytes: one round of percent-decoding, and whether a '%' had no two hex
// digits after it (such a '%' stays as it is).
function decode(s) {
    if (s.indexOf('%') < 0) return [s, false];
    var out = '';
    var bad = false;
    for (var i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) === 37) {
            var high = hexValue(s.charCodeAt(i + 1));
            var low = hexValue(s.charCodeAt(i + 2));
            if (high >= 0 && low >= 0) {
                out += String.fromCharCode(high * 16 + low);
                i += 2;
                continue;
            }
            bad = true;
        }
        out += s[i];
    }
    return [out, bad];
}

// What Rust's str::from_utf8 accepts.
function validUtf8(s) {
    for (var i = 0; i < s.length;) {
        var c = s.charCodeAt(i);
        if (c < 0x80) {
            i++;
            continue;
        }
        var more = c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 0;
        if (more === 0) return false;
        var point = c & (0x3F >> more);
        for (var k = 1; k <= more; k++) {
            var next = s.charCodeAt(i + k);
            if (!(next >= 0x80 && next <= 0xBF)) return false;
            point = point * 64 + (next & 0x3F);
        }
        if ((more === 2 && point < 0x800) || (more === 3 && point < 0x10000) || point > 0x10FFFF
            || (point >= 0xD800 && point <= 0xDFFF)) {
            return false;
        }
        i += more + 1;
    }
    return true;
}

function encodeSegment(s) {
    var out = '';
    for (var i = 0; i < s.length; i++) {
        var c = s.charCodeAt(i);
        out += isPlain(c) ? s[i] : '%' + HEX[c >> 4] + HEX[c & 15];
    }
    return out;
}

function encodePath(segments, trailingSlash) {
    var out = '';
    for (var i = 0; i < segments.length; i++) out += '/' + encodeSegment(segments[i]);
    return out === '' || trailingSlash ? out + '/' : out;
}

// path.rs push_segment: true when '..' climbed above the root.
function pushSegment(segments, decoded) {
    if (decoded === '' || decoded === '.') return false;
    if (decoded === '..') return segments.pop() === undefined;
    segments.push(decoded);
    return false;
}

// path.rs has_other_readings.
function hasOtherReadings(d) {
    var last = d.charCodeAt(d.length - 1);
    if ((last === 46 || last === 32) && d !== '.' && d !== '..') return true;
    for (var i = 0; i < d.length; i++) {
        var c = d.charCodeAt(i);
        if (c === 47 || c === 92 || c === 59) return true;
        if (c === 37 && hexValue(d.charCodeAt(i + 1)) >= 0 && hexValue(d.charCodeAt(i + 2)) >= 0) return true;
    }
    return false;
}

// path.rs is_already_canonical: plain bytes only, no empty segment, no name ending in '.'.
// A regular expression, because njs runs one far faster than a loop over the characters.
var CANONICAL = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,=:@]*[A-Za-z0-9\-_~!$&'()*+,=:@]\/)*(?:[A-Za-z0-9\-._~!$&'()*+,=:@]*[A-Za-z0-9\-_~!$&'()*+,=:@])?$/;

function isAlreadyCanonical(raw) {
    return CANONICAL.test(raw);
}

// path.rs segment_prefix_len: `path` starts with the private prefix on a segment boundary.
function underPrefix(path, ignoreCase) {
    var n = PREFIX.length;
    if (path.length < n || (path.length > n && path.charCodeAt(n) !== 47)) return false;
    var head = path.substring(0, n);
    return ignoreCase ? asciiLower(head) === PREFIX_LOWER : head === PREFIX;
}

function classify(path) {
    if (underPrefix(path, false)) return PRIVATE;
    return underPrefix(path, true) ? CASE_VARIANT : PUBLIC;
}

// path.rs Reading::strict: the reading of ServeDir and nginx, and what the others need.
function strictReading(raw) {
    var parts = raw.substring(1).split('/');
    var last = decode(parts[parts.length - 1])[0];
    var reading = {
        segments: [],
        trailingSlash: last === '' || last === '.' || last === '..',
        malformed: false,
        liberal: false,
        restructured: false,
    };
    for (var i = 0; i < parts.length; i++) {
        var decoded = decode(parts[i]);
        var d = decoded[0];
        var semicolon = d.indexOf(';');
        var unparameterised = semicolon < 0 ? d : d.substring(0, semicolon);
        if (unparameterised === '.' || unparameterised === '..' || (d === '' && i + 1 < parts.length)) {
            reading.restructured = true;
        }
        if (decoded[1] || d.indexOf('\0') >= 0 || !validUtf8(d)) reading.malformed = true;
        if (hasOtherReadings(d)) reading.liberal = true;
        if (pushSegment(reading.segments, d)) reading.malformed = true;
    }
    reading.canonical = encodePath(reading.segments, reading.trailingSlash);
    return reading;
}

function splitAny(s, separators) {
    var pieces = [];
    var start = 0;
    for (var i = 0; i < s.length; i++) {
        if (separators.indexOf(s[i]) >= 0) {
            pieces.push(s.substring(start, i));
            start = i + 1;
        }
    }
    pieces.push(s.substring(start));
    return pieces;
}

// The `split` closure of path.rs liberal_readings: `trim` drops trailing dots and spaces from
// names (Windows), `strip` cuts path parameters at ';' (Tomcat).
function splitReading(segments, separators, trim, strip) {
    var out = [];
    for (var i = 0; i < segments.length; i++) {
        var pieces = splitAny(segments[i], separators);
        for (var j = 0; j < pieces.length; j++) {
            var piece = pieces[j];
            var semicolon = strip ? piece.indexOf(';') : -1;
            if (semicolon >= 0) piece = piece.substring(0, semicolon);
            if (trim && piece !== '.' && piece !== '..') {
                var keep = piece.length;
                while (keep > 0 && (piece[keep - 1] === '.' || piece[keep - 1] === ' ')) keep--;
                piece = piece.substring(0, keep);
            }
            pushSegment(out, piece);
        }
    }
    return out;
}

function sameList(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
}

function containsByte(segments, byte) {
    return segments.some(function (segment) {
        return segment.indexOf(byte) >= 0;
    });
}

// path.rs liberal_readings: [canonical path, must it equal the strict reading].
function liberalReadings(st) {
    var both = '/\\';
    var once = splitReading(st.segments, both, true, false);
    var readings = [[encodePath(once, st.trailingSlash), true]];
    var variants = [[both, true], ['/', containsByte(st.segments, '\\')], ['\\', containsByte(st.segments, '/')]];
    variants.forEach(function (variant) {
        [false, true].forEach(function (trim) {
            if (!variant[1] || (variant[0] === both && trim)) return;
            var reading = encodePath(splitReading(st.segments, variant[0], trim, false), st.trailingSlash);
            if (!readings.some(function (known) { return known[0] === reading; })) readings.push([reading, true]);
        });
    });
    var twice = once.map(function (segment) { return decode(segment)[0]; });
    if (!sameList(twice, once)) {
        readings.push([encodePath(splitReading(twice, both, true, false), st.trailingSlash), true]);
    }
    if (containsByte(st.segments, ';')) {
        readings.push([encodePath(splitReading(st.segments, both, true, true), st.trailingSlash), false]);
    }
    return readings;
}

// path.rs Prefixes::route for the one private prefix: {cls, path} or AMBIGUOUS or MALFORMED.
function route(raw) {
    if (isAlreadyCanonical(raw)) {
        var cls = classify(raw);
        return cls === CASE_VARIANT ? AMBIGUOUS : {cls: cls, path: raw};
    }
    if (raw.charCodeAt(0) !== 47) return PREFIX === '' ? MALFORMED : {cls: PUBLIC, path: raw};
    var st = strictReading(raw);
    var strictClass = classify(st.canonical);
    var touches = underPrefix(st.canonical, true) || underPrefix(raw, true);
    var agree = !st.restructured && classify(raw) === strictClass;
    if (st.liberal) {
        liberalReadings(st).forEach(function (reading) {
            touches = touches || underPrefix(reading[0], true);
            if (reading[1] ? reading[0] !== st.canonical : classify(reading[0]) !== strictClass) agree = false;
        });
    }
    if (touches) {
        if (st.malformed) return MALFORMED;
        if (!agree || strictClass === CASE_VARIANT) return AMBIGUOUS;
    }
    return {cls: strictClass === PRIVATE ? PRIVATE : PUBLIC, path: st.canonical};
}

// The request target as the crate's server (hyper, http::Uri) reads it: bytes a URI cannot
// hold and invalid UTF-8 are a 400, and a fragment is cut off. {path, query} or '400'.
function requestTarget(r) {
    // The usual target is visible ASCII without '#', '<', '>', '"' or '`': then its text is
    // its bytes, and only the split is left. (Not `r.variables`: njs gives a byte string there,
    // to which a character over 127 is appended as two UTF-8 bytes.)
    var raw = r.rawVariables.request_uri.toString();
    if (!/[^\x21-\x7e]|[#<>"`]/.test(raw)) {
        var at = raw.indexOf('?');
        return at < 0 ? {path: raw, query: ''} : {path: raw.substring(0, at), query: raw.substring(at + 1)};
    }
    raw = byteString(r.rawVariables.request_uri);
    var end = raw.length;
    var query = -1;
    var high = false;
    for (var i = 0; i < raw.length; i++) {
        var c = raw.charCodeAt(i);
        if (c === 35) {
            end = i;
            break;
        }
        if (c === 63 && query < 0) {
            query = i;
        } else if (c >= 128) {
            high = true;
        } else if (c <= 32 || c === 60 || c === 62 || c === 127 || (query < 0 ? c === 96 : c === 34)) {
            return '400';
        }
    }
    raw = raw.substring(0, end);
    if (high && !validUtf8(raw)) return '400';
    return query < 0 ? {path: raw, query: ''} : {path: raw.substring(0, query), query: raw.substring(query + 1)};
}

// host.rs split_port and port: [host, port or null for none, false for no number].
function splitPort(authority, defaultPort) {
    var hostEnd = authority[0] === '[' ? authority.indexOf(']') + 1 || authority.length : authority.indexOf(':');
    if (hostEnd < 0) hostEnd = authority.length;
    if (authority[hostEnd] !== ':') return [authority, defaultPort];
    var digits = authority.substring(hostEnd + 1);
    if (digits === '') return [authority.substring(0, hostEnd), defaultPort];
    var port = /^[0-9]+$/.test(digits) ? Number(digits) : -1;
    return [authority.substring(0, hostEnd), port >= 0 && port <= 65535 ? port : false];
}

// host.rs request_host: an absolute-form target whose authority names another host than the
// `Host` field is refused (nginx itself refuses two `Host` fields).
function hostsAgree(r) {
    var line = r.variables.request;
    var target = line.substring(line.indexOf(' ') + 1);
    if (target[0] === '/') return true;
    var parts = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\/?# ]*)/.exec(target);
    var field = r.headersIn.host;
    if (!parts || field === undefined) return true;
    var authority = parts[2].substring(parts[2].lastIndexOf('@') + 1);
    if (asciiLower(authority) === asciiLower(field)) return true;
    var scheme = asciiLower(parts[1]);
    var defaultPort = scheme === 'http' ? 80 : scheme === 'https' ? 443 : null;
    var a = splitPort(authority, defaultPort);
    var b = splitPort(field, defaultPort);
    return a[1] !== false && b[1] !== false && a[1] === b[1] && asciiLower(a[0]) === asciiLower(b[0]);
}

// token/syntax.rs: one spelling for every value.
function parseSeconds(text) {
    if (!/^(0|[1-9][0-9]{0,18})$/.test(text)) return -1;
    if (text.length === 19 && text > '9223372036854775807') return -1;
    return Number(text);
}

function isKeyId(id) {
    return /^[A-Za-z0-9._-]{1,32}$/.test(id);
}

function isBase64url(text) {
    for (var i = 0; i < text.length; i++) if (B64.indexOf(text[i]) < 0) return false;
    return true;
}

function isNonce(nonce) {
    return nonce.length === 22 && isBase64url(nonce) && (B64.indexOf(nonce[21]) & 15) === 0;
}

// Canonical base64url without padding: no lone sextet, unused bits zero.
function isVersion(version) {
    var n = version.length;
    if (n < 1 || n > 256 || n % 4 === 1 || !isBase64url(version)) return false;
    var last = B64.indexOf(version[n - 1]);
    return n % 4 === 2 ? (last & 15) === 0 : n % 4 === 3 ? (last & 3) === 0 : true;
}

// A 43-character HMAC tag, or an 86-character Ed25519 signature (which no HMAC key verifies).
function isSignatureLen(n) {
    return n === 43 || n === 86;
}

// token/names.rs is_reserved: the parameter prefix in any case or escaping.
function startsReserved(name) {
    if (name.length < PARAMS.length) return false;
    return asciiLower(name.substring(0, PARAMS.length)) === PARAMS;
}

function isReserved(name) {
    return startsReserved(name) || (name.indexOf('%') >= 0 && startsReserved(decode(name)[0]));
}

function pairName(pair) {
    var end = pair.indexOf('=');
    return end < 0 ? pair : pair.substring(0, end);
}

// token/query.rs SignedQuery::parse: the signing parameters, or 'missing_token' or
// 'malformed_token'.
function parseQuery(q) {
    var values = [];
    var first = -1;
    var interleaved = false;
    var start = 0;
    var n = q.length;
    while (start <= n) {
        var amp = q.indexOf('&', start);
        if (amp < 0) amp = n;
        var nameEnd = q.indexOf('=', start);
        if (nameEnd < 0 || nameEnd > amp) nameEnd = amp;
        var name = q.substring(start, nameEnd);
        var field = name.substring(0, PARAMS.length) === PARAMS ? FIELDS.indexOf(name.substring(PARAMS.length)) : -1;
        if (field < 0) {
            if (isReserved(name)) return 'malformed_token';
            if (first >= 0) interleaved = true;
            start = amp + 1;
            continue;
        }
        if (first < 0) first = start;
        if (q[nameEnd] !== '=') return 'malformed_token';
        var valueStart = nameEnd + 1;
        var signatureEnd = valueStart + 43;
        var valueEnd;
        if (field === SIG && signatureEnd <= n && (signatureEnd === n || q[signatureEnd] === '&')) {
            valueEnd = signatureEnd;
        } else {
            valueEnd = amp;
        }
        if (values[field] !== undefined) return 'malformed_token';
        values[field] = q.substring(valueStart, valueEnd);
        start = valueEnd + 1;
    }
    if (first < 0) return 'missing_token';
    var app = interleaved
        ? q.split('&').filter(function (pair) { return !isReserved(pairName(pair)); }).join('&')
        : q.substring(0, first > 0 ? first - 1 : 0);
    return checked(values, app);
}

// token/query.rs SignedQuery::checked.
function checked(v, app) {
    var s = {kid: v[0], method: v[1], nbf: v[2], exp: v[3], nonce: v[4], max: v[5], ver: v[6], grp: v[7],
        ip: v[8], cd: v[9], ct: v[10], uses: v[11], confirm: v[12], dlg: v[13], prefix: v[14], sig: v[15],
        app: app};
    if (s.kid === undefined || s.exp === undefined || s.sig === undefined) return 'malformed_token';
    if (s.method === undefined) {
        s.method = 'GET';
    } else if (!/^[A-Z]{1,16}$/.test(s.method) || s.method === 'GET') {
        return 'malformed_token';
    }
    if ((s.nonce !== undefined && !isNonce(s.nonce))
        || (s.ver !== undefined && (!isVersion(s.ver) || s.method !== 'GET'))
        || (s.grp !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(s.grp))
        || !isKeyId(s.kid) || !isSignatureLen(s.sig.length)) {
        return 'malformed_token';
    }
    // A confirmation (`1`) belongs to a one-time GET link.
    if (s.confirm !== undefined && (s.confirm !== '1' || s.nonce === undefined || s.method !== 'GET')) {
        return 'malformed_token';
    }
    // A count of uses (2 to 100) belongs to a one-time link.
    if (s.uses !== undefined && (s.nonce === undefined || !/^(?:[2-9]|[1-9][0-9]|100)$/.test(s.uses))) {
        return 'malformed_token';
    }
    s.expires = parseSeconds(s.exp);
    s.notBefore = s.nbf === undefined ? undefined : parseSeconds(s.nbf);
    if (s.expires < 0 || s.notBefore < 0 || (s.max !== undefined && parseSeconds(s.max) < 0)) return 'malformed_token';
    return s;
}

// token/message.rs write_message: `tsl-v1`, then each field as a 4-byte big-endian length and
// its bytes; past the ninth, 10 and 11 when any later field is there, then 12 (session),
// 13 (client networks), 14 (download name), 15 (content type), 16 (uses), 17 (confirm), 18
// (delegation) up to the last one present.
// The message as a byte string; `tag` hands it to the MAC.
function message(c) {
    var fields = [c.kid, c.method, c.scope, c.path, c.query, opt(c.nbf), c.exp, opt(c.nonce), opt(c.max)];
    var later = [c.session, c.ip, c.cd, c.ct, c.uses, c.confirm, c.dlg];
    var count = 0;
    for (var at = 0; at < later.length; at++) if (later[at] !== undefined) count = at + 1;
    if (c.ver !== undefined || c.grp !== undefined || count > 0) fields.push(opt(c.ver), opt(c.grp));
    for (var j = 0; j < count; j++) fields.push(opt(later[j]));
    var out = 'tsl-v1';
    for (var i = 0; i < fields.length; i++) {
        var n = fields[i].length;
        out += String.fromCharCode((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255) + fields[i];
    }
    return out;
}

// HMAC-SHA256 in base64url without padding. njs would encode a string as UTF-8, which leaves
// ASCII as it is; any other byte goes in a Buffer.
function tag(hexKey, bytes) {
    var mac = crypto.createHmac('sha256', Buffer.from(hexKey, 'hex'));
    if (!/[^\x00-\x7f]/.test(bytes)) return mac.update(bytes).digest('base64url');
    var buffer = Buffer.alloc(bytes.length);
    for (var i = 0; i < bytes.length; i++) buffer[i] = bytes.charCodeAt(i);
    return mac.update(buffer).digest('base64url');
}

function opt(text) {
    return text === undefined ? '' : text;
}

function sameText(a, b) {
    if (a.length !== b.length) return false;
    var difference = 0;
    for (var i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
    return difference === 0;
}

// verify/steps.rs verify and validate: the named key, the signature, the times, the method.
// 'own' (the link's own method), 'head' (HEAD on a GET link) or a rejection kind.
function verify(c, signature, expires, notBefore, method) {
    var key = null;
    for (var i = 0; i < KEYS.length; i++) if (KEYS[i][0] === c.kid) key = KEYS[i][1];
    if (key === null) return 'unknown_key';
    // key/delegation.rs: a child key's secret is the root's HMAC of the label and the scope.
    if (c.dlg !== undefined) {
        if (!/^[A-Za-z0-9_-]+$/.test(c.dlg)) return 'malformed_token';
        key = crypto.createHmac('sha256', Buffer.from(key, 'hex')).update('tsl-delegation-v1')
            .update(Buffer.from(c.dlg, 'base64url')).digest('hex');
    }
    if (!sameText(tag(key, message(c)), signature)) return 'bad_signature';
    var now = Math.floor(Date.now() / 1000);
    if (now > expires + LEEWAY) return 'expired';
    if (notBefore !== undefined && notBefore > now + LEEWAY) return 'not_yet_valid';
    if (expires > now + MAX_LIFETIME + LEEWAY) return 'lifetime_too_long';
    if (method === c.method) return 'own';
    return c.method === 'GET' && method === 'HEAD' ? 'head' : 'method_not_allowed';
}

function passed(outcome) {
    return outcome === 'own' || outcome === 'head';
}

function decodeCanonical(canonical) {
    return decode(canonical)[0];
}

// verify/native.rs admit: a link for this very path.
function admitPath(path, s, method) {
    var c = {kid: s.kid, method: s.method, scope: 'path', path: decodeCanonical(path), query: s.app, nbf: s.nbf,
        exp: s.exp, nonce: s.nonce, max: s.max, ver: s.ver, grp: s.grp, ip: s.ip, cd: s.cd, ct: s.ct,
        uses: s.uses, confirm: s.confirm, dlg: s.dlg};
    // A confirm link's POST (from its page) counts as its GET.
    var counted = s.confirm !== undefined && method === 'POST' ? 'GET' : method;
    var outcome = verify(c, s.sig, s.expires, s.notBefore, counted);
    if (!passed(outcome)) return outcome;
    // What the store, the client's address or the response settles; HEAD on a one-time GET
    // link uses nothing up.
    var consumes = s.nonce !== undefined && outcome === 'own';
    var deferred = s.max !== undefined || s.ver !== undefined || s.grp !== undefined || s.ip !== undefined
        || s.cd !== undefined || s.ct !== undefined || s.confirm !== undefined
        // The delegation's folder, methods and deadline are the application's to check.
        || s.dlg !== undefined;
    if (consumes || deferred) return 'defer';
    return {serve: path};
}

// verify/folder.rs admit_query_token: `sl_prefix` names the folder.
function admitQueryFolder(path, s, method) {
    var folder = decode(s.prefix)[0];
    if (!validUtf8(folder) || folder[0] !== '/' || folder[folder.length - 1] !== '/') return 'malformed_token';
    // A GET link with an expiry and nothing else: the layer refuses every other field.
    if (s.nbf !== undefined || s.nonce !== undefined || s.max !== undefined || s.ver !== undefined
        || s.grp !== undefined || s.ip !== undefined || s.cd !== undefined || s.ct !== undefined
        || s.uses !== undefined || s.confirm !== undefined || s.dlg !== undefined || s.method !== 'GET') {
        return 'malformed_token';
    }
    var c = {kid: s.kid, method: 'GET', scope: 'prefix', path: folder, query: '', exp: s.exp};
    var outcome = verify(c, s.sig, s.expires, undefined, method);
    if (!passed(outcome)) return outcome;
    if (decodeCanonical(path).substring(0, folder.length) !== folder) return 'outside_scope';
    return {serve: path};
}

// token/path_token.rs path_token_position: the first segment starting with `sl_t~`.
function pathTokenAt(path) {
    if (path.indexOf('~') < 0) return null;
    for (var at = path.indexOf(MARKER); at >= 0; at = path.indexOf(MARKER, at + 1)) {
        if (at > 0 && path[at - 1] === '/') {
            var end = path.indexOf('/', at);
            return [at, end < 0 ? path.length : end];
        }
    }
    return null;
}

// verify/folder.rs admit_path_token: `/folder/sl_t~<key id>~<expiry>[~<session>]~<sig>/rest`
// admits `/folder/rest`, which is what is served.
function admitPathToken(path, query, at, method) {
    var parts = path.substring(at[0] + MARKER.length, at[1]).split('~');
    var session;
    if (parts.length === 4) {
        if (parseSeconds(parts[2]) <= 0) return 'malformed_token';
        session = parts.splice(2, 1)[0];
    } else if (parts.length !== 3) {
        return 'malformed_token';
    }
    var expires = parseSeconds(parts[1]);
    if (!isKeyId(parts[0]) || !isSignatureLen(parts[2].length) || expires < 0) return 'malformed_token';
    // A token stands alone: signing parameters beside it, or a second token, are refused.
    var rest = path.substring(0, at[0]) + path.substring(at[1]).replace(/^\/+/, '');
    if (pathTokenAt(rest) !== null || (query !== '' && query.split('&').some(function (pair) {
        return isReserved(pairName(pair));
    }))) return 'malformed_token';
    var c = {kid: parts[0], method: 'GET', scope: 'prefix', path: decodeCanonical(path.substring(0, at[0])),
        query: '', exp: parts[1], session: session};
    var outcome = verify(c, parts[2], expires, undefined, method);
    if (!passed(outcome)) return outcome;
    var inner = route(rest);
    if (inner === AMBIGUOUS || inner === MALFORMED) return 'malformed_path';
    // A session link's answer must carry the cookie it is exchanged for: the application's.
    if (session !== undefined) return 'defer';
    return inner.cls === PRIVATE ? {serve: inner.path} : 'outside_scope';
}

// verify/mod.rs admit_link.
function admitLink(path, query, method, tokenAt) {
    if (tokenAt !== null) return admitPathToken(path, query, tokenAt, method);
    var signed = parseQuery(query);
    if (typeof signed === 'string') return signed;
    return signed.prefix !== undefined ? admitQueryFolder(path, signed, method) : admitPath(path, signed, method);
}

// verify/cookie.rs session_values: a `sl_session` cookie among the request's.
function hasSessionCookie(header) {
    return header.split(';').some(function (pair) {
        var at = pair.indexOf('=');
        return at >= 0 && pair.substring(0, at).trim() === PARAMS + 'session';
    });
}

// The file below the alias: the decoded path after the prefix, as nginx takes a variable's
// text (UTF-8). A folder is served by its index.html, as ServeDir does.
function fileBelowAlias(canonical) {
    var rest = decodeCanonical(canonical).substring(PREFIX_DECODED_LEN);
    if (rest === '' || rest[rest.length - 1] === '/') rest += rest === '' ? '/' : 'index.html';
    if (!/[\u0080-\u00ff]/.test(rest)) return rest;
    var bytes = [];
    for (var i = 0; i < rest.length; i++) bytes.push(rest.charCodeAt(i));
    return Buffer.from(bytes).toString();
}

var STATUS = {
    expired: '410',
    not_yet_valid: '410',
    malformed_path: '400',
};

// verify/mod.rs decide, for a request nginx routed to the private location.
function verdict(r) {
    var target = requestTarget(r);
    if (typeof target === 'string') return target;
    if (!hostsAgree(r)) return '400';
    if (OPAQUE !== '' && target.path.substring(0, OPAQUE.length) === OPAQUE) return 'defer';
    var routed = route(target.path);
    if (routed === AMBIGUOUS || routed === MALFORMED) return '400';
    // Public to the crate: nginx serves it as it would without the script (from the private
    // alias it serves nothing of the sort).
    if (routed.cls !== PRIVATE) return 'public';
    var method = r.method;
    var tokenAt = pathTokenAt(routed.path);
    var outcome = admitLink(routed.path, target.query, method, tokenAt);
    if (typeof outcome !== 'string') return fileBelowAlias(outcome.serve);
    if (outcome === 'defer') return outcome;
    // verify/mod.rs admit: a session cookie stands in for no link, or for an expired folder
    // token; only the application can grant and check those.
    var cookies = r.headersIn.cookie;
    if (cookies !== undefined && (method === 'GET' || method === 'HEAD')
        && outcome === (tokenAt !== null ? 'expired' : 'missing_token') && hasSessionCookie(cookies)) {
        return 'defer';
    }
    return STATUS[outcome] || '403';
}

// For a request nginx maps outside the private (and opaque) location: '400' when the crate's
// path rule refuses its raw path, '403' for a raw opaque path that resolves elsewhere, else ''.
function guard(r) {
    var uri = byteString(r.rawVariables.uri);
    if (underPrefix(uri, false) || (OPAQUE !== '' && uri.substring(0, OPAQUE.length) === OPAQUE)) return '';
    var target = requestTarget(r);
    if (typeof target === 'string') return '';
    if (OPAQUE !== '' && target.path.substring(0, OPAQUE.length) === OPAQUE) return '403';
    var routed = route(target.path);
    return routed === AMBIGUOUS || routed === MALFORMED ? '400' : '';
}

export default {verdict, guard};
