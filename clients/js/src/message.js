// The signed message of SPEC.md: a tag, then length-prefixed fields.
const encoder = new TextEncoder();
const TAG = encoder.encode('tsl-v1');

/**
 * Fields are texts, `null` where absent. Fields 10 and 11 appear only when a version, a group
 * or a session is present, and 12 only with a session, so older links keep their exact bytes.
 */
export function nativeMessage(f) {
  const fields = [
    f.keyId,
    f.method,
    f.scope,
    f.path,
    f.query,
    f.notBefore ?? '',
    f.expires,
    f.nonce ?? '',
    f.maxBody ?? '',
  ];
  if (f.version != null || f.group != null || f.session != null) fields.push(f.version ?? '', f.group ?? '');
  if (f.session != null) fields.push(f.session);
  const encoded = fields.map((field) => encoder.encode(String(field)));
  const out = new Uint8Array(TAG.length + encoded.reduce((n, b) => n + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  out.set(TAG, 0);
  let at = TAG.length;
  for (const bytes of encoded) {
    view.setUint32(at, bytes.length);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
  }
  return out;
}
